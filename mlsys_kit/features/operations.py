"""Common feature operations: missing values by mechanism, hashing, cyclical encodings.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 5,
"Common Feature Engineering Operations": handling missing values (MCAR, MAR, MNAR; deletion
and imputation), scaling, discretization, encoding categorical features (the hashing trick),
feature crossing, and discrete and continuous positional embeddings.

This module holds the machinery of notebook ``05-feature-engineering/01-feature-operations``;
the transformers themselves are scikit-learn's (``SimpleImputer``, ``IterativeImputer``,
``StandardScaler``, ``KBinsDiscretizer``, ``OneHotEncoder``, ``FeatureHasher``,
``FunctionTransformer``, ``SplineTransformer``). What is hand-written here is what no library
offers because it *is* the lesson:

* **Missing values with a known truth.** Real datasets never tell you why a value is missing.
  To measure the bias that deletion or imputation leaves, :func:`simulate_survey` generates a
  small income survey whose complete values are known, and :func:`make_missing` removes values
  by a chosen mechanism (missing completely at random, at random given another column, or not at
  random: depending on the value itself) at a chosen rate.
* **The hashing trick's collisions against theory.** :func:`hash_buckets` maps categories to
  buckets with scikit-learn's ``FeatureHasher`` (the same signed 32-bit MurmurHash3 a model
  pipeline would use); :func:`collision_rate` measures how many categories share a bucket and
  :func:`expected_collision_rate` gives the rate a uniformly random hash would have, so the two
  can be compared. :func:`shared_bucket_rate` measures how often a category unseen in training
  lands in a bucket that a training category already uses.
* **AUC against the truth.** On simulated data each row's true probability of being positive
  is known. :func:`auc_against_truth` scores a model against those probabilities instead of one
  draw of 0/1 labels: the AUC over every pair of rows, each pair weighted by how likely the first
  is positive and the second negative. With a rare positive class (a few hundred frauds), the
  AUC of one label draw scatters by more than the differences between preprocessing choices;
  this one does not scatter with the labels at all. scikit-learn's ``roc_auc_score`` with
  ``sample_weight`` on every row duplicated (once positive, once negative) gives the same up to
  the pairs of a row with itself; the function excludes those, accepts a whole matrix of
  bootstrap weights at once, and needs one sort instead of one per bootstrap draw.
* **Cyclical encoding.** :func:`cyclical_features` maps a periodic value (an hour of the day)
  to a point on a circle, ``(sin, cos)``, so that 23:00 and 00:00 are neighbours;
  :func:`cyclical_encoder` wraps it in a ``FunctionTransformer`` for pipelines.

Libraries considered for the hand-written parts: missingness simulators (``pyampute``,
``missingpy``, scikit-learn's test utilities) are unmaintained or draw MAR/MNAR masks without a
target rate; here the logistic model's intercept is solved with :func:`scipy.optimize.brentq`
so that the share of missing values is exactly the one asked for. The collision statistics are
one line of NumPy each and have no library counterpart.

Generative story of :func:`simulate_survey` (one row per respondent, all standard normals
independent)::

    z_age    ~ N(0, 1)                      age    = clip(44 + 12 z_age, 18, 90), whole years
    z_income = 0.6 z_age + 0.8 e            income = clip(50 + 15 z_income, 1, None), k$ a year
    subscribed ~ Bernoulli(sigmoid(-1 + 1.5 z_income - 0.5 z_age))

Older respondents earn more (correlation 0.6); richer ones subscribe more, and at a given
income, older ones subscribe less.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_type,
    make_rng,
)

if TYPE_CHECKING:
    from sklearn.preprocessing import FunctionTransformer

__all__ = [
    "MECHANISMS",
    "simulate_survey",
    "missing_mask",
    "make_missing",
    "hash_buckets",
    "collision_rate",
    "expected_collision_rate",
    "shared_bucket_rate",
    "auc_against_truth",
    "cyclical_features",
    "cyclical_encoder",
]

#: Missingness mechanisms: completely at random, at random (given an observed column), not at
#: random (depending on the missing value itself).
MECHANISMS: tuple[str, ...] = ("MCAR", "MAR", "MNAR")

_AGE_MEAN, _AGE_SD, _AGE_RANGE = 44.0, 12.0, (18, 90)
_INCOME_MEAN, _INCOME_SD, _INCOME_MIN = 50.0, 15.0, 1.0
_AGE_INCOME_CORR = 0.6
_SUBSCRIBE_LOGIT = (-1.0, 1.5, -0.5)  # intercept, z_income, z_age


def simulate_survey(n_respondents: int = 10_000, *, seed: Seed = 0) -> pd.DataFrame:
    """Generate a complete income survey: the ground truth before any value goes missing.

    Parameters
    ----------
    n_respondents : int, default 10_000
        Rows to generate (at least 10).
    seed : int or numpy.random.Generator, default 0
        Seed of the random generator, or the generator to draw from.

    Returns
    -------
    pandas.DataFrame
        Columns ``age`` (int, years), ``income`` (float, k$ a year) and ``subscribed`` (bool,
        the target), following the generative story in the module docstring.

    Examples
    --------
    >>> survey = simulate_survey(2_000, seed=0)
    >>> list(survey.columns)
    ['age', 'income', 'subscribed']
    >>> bool(survey["age"].corr(survey["income"]) > 0.4)
    True
    """
    n = check_int("n_respondents", n_respondents, min=10, owner="simulate_survey")
    rng = make_rng(seed, owner="simulate_survey")
    z_age = rng.standard_normal(n)
    z_income = _AGE_INCOME_CORR * z_age + math.sqrt(1 - _AGE_INCOME_CORR**2) * rng.standard_normal(
        n
    )
    intercept, w_income, w_age = _SUBSCRIBE_LOGIT
    p = 1 / (1 + np.exp(-(intercept + w_income * z_income + w_age * z_age)))
    return pd.DataFrame(
        {
            "age": np.clip(np.round(_AGE_MEAN + _AGE_SD * z_age), *_AGE_RANGE).astype(np.int64),
            "income": np.clip(np.round(_INCOME_MEAN + _INCOME_SD * z_income, 1), _INCOME_MIN, None),
            "subscribed": rng.random(n) < p,
        }
    )


def missing_mask(
    rate: float,
    *,
    driver: Sequence[float] | np.ndarray | pd.Series | None = None,
    strength: float = 2.0,
    n: int | None = None,
    seed: Seed = 0,
) -> np.ndarray:
    """Draw which values go missing: at random, or more often where ``driver`` is high.

    Each row goes missing with probability ``sigmoid(a + strength * z)``, where ``z`` is the
    standardized ``driver`` and the intercept ``a`` is solved so that the probabilities average
    exactly ``rate``. Without a driver every row has probability ``rate`` (MCAR).

    Parameters
    ----------
    rate : float
        Expected share of missing values, in (0, 1).
    driver : array-like of float, optional
        What the missingness depends on (an observed column for MAR, the value itself for MNAR).
        Must be finite and not constant. ``None`` for missingness completely at random.
    strength : float, default 2.0
        Change of the log-odds of missingness per standard deviation of ``driver``; negative
        values make *low* values go missing. Ignored without a driver.
    n : int, optional
        Number of rows; required without a driver, else it must equal ``len(driver)``.
    seed : int or numpy.random.Generator, default 0
        Seed of the random generator, or the generator to draw from.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the value goes missing.

    Examples
    --------
    >>> mask = missing_mask(0.3, n=10_000, seed=0)
    >>> round(float(mask.mean()), 2)
    0.3
    >>> income = np.arange(10_000.0)
    >>> rich_hide = missing_mask(0.3, driver=income, strength=2.0, seed=0)
    >>> bool(income[rich_hide].mean() > income[~rich_hide].mean())
    True
    """
    owner = "missing_mask"
    rate = check_float("rate", rate, min=0, max=1, open_min=True, open_max=True, owner=owner)
    strength = check_float("strength", strength, owner=owner)
    generator = make_rng(seed, owner=owner)
    if driver is None:
        if n is None:
            raise ParameterError(f"{owner}: needs n (the number of rows) when driver is None")
        return generator.random(check_int("n", n, min=1, owner=owner)) < rate
    values = check_array(
        "driver", driver, ndim=1, min_length=2, dtype=np.float64, finite=True, owner=owner
    )
    if n is not None and check_int("n", n, min=1, owner=owner) != values.size:
        raise ParameterError(f"{owner}: n={n} does not match len(driver)={values.size}")
    sd = values.std()
    if sd == 0:
        raise ParameterError(f"{owner}: driver is constant: missingness cannot depend on it")
    slope = strength * (values - values.mean()) / sd
    probability = _probabilities_with_mean(slope, rate)
    return generator.random(values.size) < probability


def _probabilities_with_mean(slope: np.ndarray, rate: float) -> np.ndarray:
    """``sigmoid(a + slope)``, the intercept ``a`` solved so that the mean is ``rate``.

    The root of ``mean(sigmoid(a + slope)) - rate``, increasing in ``a``, is found by
    :func:`scipy.optimize.brentq` on ``[-60, 60]`` (wide enough for any rate a float can
    tell from 0 or 1 once the slope is standardized).

    Examples
    --------
    >>> p = _probabilities_with_mean(np.array([-1.0, 0.0, 1.0]), 0.2)
    >>> round(float(p.mean()), 12)
    0.2
    """
    from scipy.optimize import brentq
    from scipy.special import expit

    intercept = brentq(
        lambda a: expit(a + slope).mean() - rate, -60.0, 60.0, xtol=1e-14, maxiter=200
    )
    return expit(intercept + slope)


def make_missing(
    frame: pd.DataFrame,
    column: str,
    mechanism: str,
    *,
    rate: float,
    cause: str | None = None,
    strength: float = 2.0,
    seed: Seed = 0,
) -> pd.DataFrame:
    """Return a copy of ``frame`` in which some values of ``column`` are missing (NaN).

    Parameters
    ----------
    frame : pandas.DataFrame
        Complete data (the ground truth); it is not modified.
    column : str
        The numeric column that loses values.
    mechanism : {"MCAR", "MAR", "MNAR"}
        ``"MCAR"``: every value equally likely to go missing (``cause`` must be None).
        ``"MAR"``: depends on another, fully observed column ``cause`` (required).
        ``"MNAR"``: depends on the missing value itself (``cause`` is None or ``column``).
    rate : float
        Expected share of missing values, in (0, 1).
    cause : str, optional
        The column the missingness depends on, for ``"MAR"``.
    strength : float, default 2.0
        Log-odds of missingness per standard deviation of the cause; negative makes low
        values go missing (see :func:`missing_mask`).
    seed : int or numpy.random.Generator, default 0
        Seed of the random generator, or the generator to draw from.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with NaN in ``column`` where the value went missing.

    Examples
    --------
    >>> survey = simulate_survey(5_000, seed=0)
    >>> rich_hide = make_missing(survey, "income", "MNAR", rate=0.3, seed=0)
    >>> round(float(rich_hide["income"].isna().mean()), 1)
    0.3
    >>> bool(rich_hide["income"].mean() < survey["income"].mean())  # deletion is biased
    True
    >>> make_missing(survey, "income", "MAR", rate=0.3)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: make_missing: mechanism 'MAR' needs cause: the fully \
observed column the missingness depends on
    """
    owner = "make_missing"
    check_type("frame", frame, pd.DataFrame, owner=owner)
    check_choice("column", column, list(frame.columns), owner=owner)
    check_choice("mechanism", mechanism, MECHANISMS, owner=owner)
    if mechanism == "MCAR":
        if cause is not None:
            raise ParameterError(
                f"{owner}: mechanism 'MCAR' depends on nothing: pass cause=None, not {cause!r}"
            )
        mask = missing_mask(rate, n=len(frame), seed=seed)
    else:
        if mechanism == "MAR":
            if cause is None:
                raise ParameterError(
                    f"{owner}: mechanism 'MAR' needs cause: the fully observed column the "
                    "missingness depends on"
                )
            if cause == column:
                raise ParameterError(
                    f"{owner}: mechanism 'MAR' depends on another column, not {column!r} "
                    "itself: that is 'MNAR'"
                )
            check_choice("cause", cause, list(frame.columns), owner=owner)
        elif cause not in (None, column):
            raise ParameterError(
                f"{owner}: mechanism 'MNAR' depends on the missing value itself: pass "
                f"cause=None or {column!r}, not {cause!r}"
            )
        source = cause if mechanism == "MAR" else column
        mask = missing_mask(rate, driver=frame[source].to_numpy(), strength=strength, seed=seed)
    out = frame.copy()
    out[column] = out[column].astype(np.float64).mask(mask)
    return out


def hash_buckets(categories: Sequence[str], n_buckets: int) -> np.ndarray:
    """The bucket scikit-learn's ``FeatureHasher`` puts each category in.

    Parameters
    ----------
    categories : sequence of str
        Category values (one token each), e.g. user ids as strings.
    n_buckets : int
        Size of the hash space (``n_features`` of the hasher), at least 1.

    Returns
    -------
    numpy.ndarray of int
        One bucket index in ``[0, n_buckets)`` per category, in order.

    Examples
    --------
    >>> b = hash_buckets(["cat", "dog", "cat"], 1024)
    >>> bool(b[0] == b[2])  # the same category always lands in the same bucket
    True
    >>> bool(((0 <= b) & (b < 1024)).all())
    True
    """
    from sklearn.feature_extraction import FeatureHasher

    m = check_int("n_buckets", n_buckets, min=1, owner="hash_buckets")
    tokens = list(categories)
    for token in tokens:
        check_type("categories (each)", token, str, owner="hash_buckets")
    if not tokens:
        return np.zeros(0, dtype=np.int64)
    hasher = FeatureHasher(n_features=m, input_type="string", alternate_sign=False)
    matrix = hasher.transform([[token] for token in tokens]).tocsr()
    return matrix.indices.astype(np.int64)


def collision_rate(buckets: Sequence[int] | np.ndarray) -> float:
    """Share of distinct categories whose bucket holds at least one other category.

    Parameters
    ----------
    buckets : array-like of int
        The bucket of each *distinct* category (as from :func:`hash_buckets`).

    Returns
    -------
    float
        In [0, 1]; 0 when every category has a bucket of its own.

    Examples
    --------
    >>> collision_rate([0, 1, 1, 2])  # categories 2 and 3 share bucket 1
    0.5
    """
    values = check_array("buckets", buckets, ndim=1, min_length=1, owner="collision_rate")
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return float((counts[inverse] > 1).mean())


def expected_collision_rate(n_categories: int, n_buckets: int) -> float:
    """Collision rate of ``n_categories`` hashed uniformly at random into ``n_buckets``.

    A category shares its bucket with none of the other ``k - 1`` categories with probability
    ``(1 - 1/m) ** (k - 1)``, so the expected share that collide is one minus that. The same
    formula with ``k + 1`` categories gives the chance that one *new* category lands in a bucket
    already used by ``k`` known ones.

    Parameters
    ----------
    n_categories : int
        Distinct categories ``k``, at least 1.
    n_buckets : int
        Buckets ``m``, at least 1.

    Returns
    -------
    float
        ``1 - (1 - 1/m) ** (k - 1)``.

    Examples
    --------
    >>> round(expected_collision_rate(1_000, 1_000), 3)  # as many buckets as categories
    0.632
    >>> round(expected_collision_rate(1_000, 100_000), 3)
    0.01
    """
    k = check_int("n_categories", n_categories, min=1, owner="expected_collision_rate")
    m = check_int("n_buckets", n_buckets, min=1, owner="expected_collision_rate")
    return float(-math.expm1((k - 1) * math.log1p(-1 / m))) if m > 1 else float(k > 1)


def shared_bucket_rate(known: Sequence[int] | np.ndarray, new: Sequence[int] | np.ndarray) -> float:
    """Share of new categories hashed into a bucket that a known category already uses.

    Such a new category inherits what the model learned for the known ones in its bucket.

    Parameters
    ----------
    known : array-like of int
        Buckets of the categories seen in training.
    new : array-like of int
        Buckets of the distinct categories seen only later (at least one).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> shared_bucket_rate(known=[0, 1, 2], new=[2, 5])
    0.5
    """
    owner = "shared_bucket_rate"
    new_values = check_array("new", new, ndim=1, min_length=1, owner=owner)
    known_values = check_array("known", known, ndim=1, owner=owner)
    return float(np.isin(new_values, known_values).mean())


def auc_against_truth(
    probability: Sequence[float] | np.ndarray | pd.Series,
    score: Sequence[float] | np.ndarray | pd.Series,
    *,
    weights: Sequence[float] | np.ndarray | None = None,
) -> float | np.ndarray:
    """AUC of ``score`` against rows whose true probability of being positive is known.

    The probability that a random positive row scores above a random negative one (ties count
    one half), when row ``i`` is positive with probability ``probability[i]``: every pair of
    distinct rows ``(i, j)`` counts with weight ``probability[i] * (1 - probability[j])``. It is
    the AUC the score would reach on many label draws for these rows, without the noise of any
    single draw. With 0/1 probabilities it is the ordinary AUC (``roc_auc_score``).

    Parameters
    ----------
    probability : array-like of float
        Each row's true probability of the positive class, in [0, 1] (e.g. a simulator's
        ``fraud_probability``).
    score : array-like of float
        The model's score of each row (any increasing scale: a probability, a logit).
    weights : array-like of float, optional
        Non-negative row weights, one row of ``n`` weights per draw: shape ``(n,)`` or
        ``(n_draws, n)``. Integer counts from a bootstrap count copies of a row as distinct
        rows, as if the rows had been repeated. By default every row counts once.

    Returns
    -------
    float or numpy.ndarray
        In [0, 1]; an array of one AUC per draw when ``weights`` is 2-D.

    Raises
    ------
    ParameterError
        When the inputs are not finite 1-D arrays of the same length, a probability is outside
        [0, 1], a weight is negative or of the wrong shape, or there is no pair of a possible
        positive and a possible negative row.

    Examples
    --------
    >>> auc_against_truth([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # 0/1 truth: the usual AUC
    0.75
    >>> round(auc_against_truth([0.1, 0.5, 0.9], [1, 2, 3]), 3)  # likelier positives score higher
    0.94
    >>> auc_against_truth([0.1, 0.5, 0.9], [1, 2, 3], weights=[[1, 1, 1], [0, 1, 1]]).round(2)
    array([0.94, 0.9 ])
    """
    owner = "auc_against_truth"
    p = check_array("probability", probability, ndim=1, min_length=2, dtype=np.float64,
                    finite=True, owner=owner)  # fmt: skip
    if ((p < 0) | (p > 1)).any():
        raise ParameterError(f"{owner}: probability must be in [0, 1]; got {p.min()}..{p.max()}")
    s = check_array("score", score, ndim=1, dtype=np.float64, finite=True, owner=owner)
    if s.shape != p.shape:
        raise ParameterError(
            f"{owner}: score must have one value per row: {p.size} probabilities, {s.size} scores"
        )
    one_draw = weights is None or np.ndim(weights) == 1
    w = np.ones((1, p.size)) if weights is None else np.atleast_2d(np.asarray(weights, float))
    if w.ndim != 2 or w.shape[1] != p.size:
        raise ParameterError(
            f"{owner}: weights must have shape ({p.size},) or (n_draws, {p.size}); "
            f"got {np.shape(weights)}"
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ParameterError(f"{owner}: weights must be finite and non-negative")
    n_draws = w.shape[0]
    values, group = np.unique(s, return_inverse=True)  # groups of tied scores, ascending
    index = (np.arange(n_draws)[:, None] * values.size + group[None, :]).ravel()
    size = n_draws * values.size

    def per_group(row_weights: np.ndarray) -> np.ndarray:
        sums = np.bincount(index, weights=row_weights.ravel(), minlength=size)
        return sums.reshape(n_draws, values.size)

    positive, negative = per_group(w * p), per_group(w * (1 - p))
    below = np.cumsum(negative, axis=1) - negative  # negative weight with a lower score
    self_pairs = (w * p * (1 - p)).sum(axis=1)  # a row paired with itself: a tie, left out
    above = (positive * (below + 0.5 * negative)).sum(axis=1) - 0.5 * self_pairs
    pairs = positive.sum(axis=1) * negative.sum(axis=1) - self_pairs
    if (pairs <= 0).any():
        raise ParameterError(
            f"{owner}: no pair of a possible positive and a possible negative row: the "
            "probabilities must not all be 0, or all 1"
        )
    auc = np.clip(above / pairs, 0.0, 1.0)
    return float(auc[0]) if one_draw else auc


def cyclical_features(
    values: Sequence[float] | np.ndarray | pd.Series, period: float
) -> np.ndarray:
    """Map periodic values to points on a circle: ``(sin(2πv/period), cos(2πv/period))``.

    Values one period apart get the same point, and the two ends of a period are neighbours:
    with ``period=24``, hour 23 is as close to hour 0 as hour 1 is.

    Parameters
    ----------
    values : array-like of float
        Finite values (hours, days of the week, months...).
    period : float
        Length of a cycle in the same unit (24 for hours), positive.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 2)``: the sine and the cosine columns.

    Examples
    --------
    >>> xy = cyclical_features([0, 6, 23], period=24)
    >>> xy.round(2).tolist()
    [[0.0, 1.0], [1.0, 0.0], [-0.26, 0.97]]
    >>> round(float(np.linalg.norm(xy[2] - xy[0])), 2)  # 23:00 is next to 00:00
    0.26
    """
    owner = "cyclical_features"
    period = check_float("period", period, min=0, open_min=True, owner=owner)
    array = check_array("values", values, dtype=np.float64, finite=True, owner=owner)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    check_array("values", array, ndim=1, owner=owner)
    angle = 2 * np.pi * array / period
    return np.column_stack([np.sin(angle), np.cos(angle)])


def cyclical_encoder(period: float) -> FunctionTransformer:
    """A scikit-learn transformer applying :func:`cyclical_features` to one column.

    Parameters
    ----------
    period : float
        Length of a cycle (24 for hours), positive.

    Returns
    -------
    sklearn.preprocessing.FunctionTransformer
        Stateless; its output columns are named ``sin`` and ``cos``.

    Examples
    --------
    >>> encoder = cyclical_encoder(24)
    >>> encoder.fit_transform(pd.DataFrame({"hour": [0, 12]})).round(2).tolist()
    [[0.0, 1.0], [0.0, -1.0]]
    >>> encoder.get_feature_names_out().tolist()
    ['sin', 'cos']
    """
    from sklearn.preprocessing import FunctionTransformer

    period = check_float("period", period, min=0, open_min=True, owner="cyclical_encoder")
    return FunctionTransformer(
        cyclical_features,
        kw_args={"period": period},
        feature_names_out=lambda transformer, names: np.array(["sin", "cos"], dtype=object),
    )
