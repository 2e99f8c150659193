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
* **Cyclical encoding.** :func:`cyclical_features` maps a periodic value (an hour of the day)
  to a point on a circle, ``(sin, cos)``, so that 23:00 and 00:00 are neighbours;
  :func:`cyclical_encoder` wraps it in a ``FunctionTransformer`` for pipelines.

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
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum:,}; got {value!r}")
    return int(value)


def _check_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(_check_int("rng", rng, 0))


def simulate_survey(n_respondents: int = 10_000, *, seed: int = 0) -> pd.DataFrame:
    """Generate a complete income survey: the ground truth before any value goes missing.

    Parameters
    ----------
    n_respondents : int, default 10_000
        Rows to generate (at least 10).
    seed : int, default 0
        Seed of the random generator.

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
    n = _check_int("n_respondents", n_respondents, 10)
    rng = np.random.default_rng(_check_int("seed", seed, 0))
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
    rng: np.random.Generator | int = 0,
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
    rng : numpy.random.Generator or int, default 0
        The generator to draw from, or a seed.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the value goes missing.

    Examples
    --------
    >>> mask = missing_mask(0.3, n=10_000, rng=0)
    >>> round(float(mask.mean()), 2)
    0.3
    >>> income = np.arange(10_000.0)
    >>> rich_hide = missing_mask(0.3, driver=income, strength=2.0, rng=0)
    >>> bool(income[rich_hide].mean() > income[~rich_hide].mean())
    True
    """
    rate = _check_real("rate", rate)
    if not 0 < rate < 1:
        raise ValueError(f"rate must be strictly between 0 and 1; got {rate!r}")
    strength = _check_real("strength", strength)
    generator = _rng(rng)
    if driver is None:
        if n is None:
            raise ValueError("missing_mask needs n (the number of rows) when driver is None")
        return generator.random(_check_int("n", n, 1)) < rate
    values = np.asarray(driver, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(
            f"driver must be a 1-D array of at least 2 values; got shape {values.shape}"
        )
    if n is not None and _check_int("n", n, 1) != values.size:
        raise ValueError(f"n={n} does not match len(driver)={values.size}")
    if not np.isfinite(values).all():
        raise ValueError("driver must be finite: it is observed in full (no NaN or inf)")
    sd = values.std()
    if sd == 0:
        raise ValueError("driver is constant: missingness cannot depend on it")
    slope = strength * (values - values.mean()) / sd
    probability = _probabilities_with_mean(slope, rate)
    return generator.random(values.size) < probability


def _probabilities_with_mean(slope: np.ndarray, rate: float) -> np.ndarray:
    """``sigmoid(a + slope)`` with the intercept ``a`` solved by bisection so the mean is rate."""
    from scipy.special import expit

    low, high = -60.0, 60.0
    for _ in range(100):
        middle = (low + high) / 2
        if expit(middle + slope).mean() < rate:
            low = middle
        else:
            high = middle
    return expit((low + high) / 2 + slope)


def make_missing(
    frame: pd.DataFrame,
    column: str,
    mechanism: str,
    *,
    rate: float,
    cause: str | None = None,
    strength: float = 2.0,
    rng: np.random.Generator | int = 0,
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
    rng : numpy.random.Generator or int, default 0
        The generator to draw from, or a seed.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with NaN in ``column`` where the value went missing.

    Examples
    --------
    >>> survey = simulate_survey(5_000, seed=0)
    >>> rich_hide = make_missing(survey, "income", "MNAR", rate=0.3, rng=0)
    >>> round(float(rich_hide["income"].isna().mean()), 1)
    0.3
    >>> bool(rich_hide["income"].mean() < survey["income"].mean())  # deletion is biased
    True
    >>> make_missing(survey, "income", "MAR", rate=0.3)
    Traceback (most recent call last):
    ...
    ValueError: mechanism 'MAR' needs cause: the fully observed column the missingness depends on
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame; got {type(frame).__name__}")
    if column not in frame.columns:
        raise ValueError(f"column {column!r} is not in the frame; columns: {list(frame.columns)}")
    if mechanism not in MECHANISMS:
        allowed = ", ".join(map(repr, MECHANISMS))
        raise ValueError(f"mechanism={mechanism!r} is not allowed: choose one of {allowed}")
    if mechanism == "MCAR":
        if cause is not None:
            raise ValueError(f"mechanism 'MCAR' depends on nothing: pass cause=None, not {cause!r}")
        mask = missing_mask(rate, n=len(frame), rng=rng)
    else:
        if mechanism == "MAR":
            if cause is None:
                raise ValueError(
                    "mechanism 'MAR' needs cause: the fully observed column the missingness "
                    "depends on"
                )
            if cause == column:
                raise ValueError(
                    f"mechanism 'MAR' depends on another column, not {column!r} itself: "
                    "that is 'MNAR'"
                )
        elif cause not in (None, column):
            raise ValueError(
                f"mechanism 'MNAR' depends on the missing value itself: pass cause=None or "
                f"{column!r}, not {cause!r}"
            )
        source = cause if mechanism == "MAR" else column
        if source not in frame.columns:
            raise ValueError(
                f"cause {source!r} is not in the frame; columns: {list(frame.columns)}"
            )
        mask = missing_mask(rate, driver=frame[source].to_numpy(), strength=strength, rng=rng)
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

    m = _check_int("n_buckets", n_buckets, 1)
    tokens = list(categories)
    if not all(isinstance(token, str) for token in tokens):
        bad = next(token for token in tokens if not isinstance(token, str))
        raise TypeError(f"categories must be strings; got {bad!r} ({type(bad).__name__})")
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
    values = np.asarray(buckets)
    if values.size == 0:
        raise ValueError("buckets is empty: there is no collision rate of zero categories")
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
    k = _check_int("n_categories", n_categories, 1)
    m = _check_int("n_buckets", n_buckets, 1)
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
    new_values = np.asarray(new)
    if new_values.size == 0:
        raise ValueError("new is empty: there are no new categories to check")
    return float(np.isin(new_values, np.asarray(known)).mean())


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
    period = _check_real("period", period)
    if period <= 0:
        raise ValueError(f"period must be positive; got {period!r}")
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"values must be one column; got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("values must be finite (no NaN or inf)")
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

    period = _check_real("period", period)
    if period <= 0:
        raise ValueError(f"period must be positive; got {period!r}")
    return FunctionTransformer(
        cyclical_features,
        kw_args={"period": period},
        feature_names_out=lambda transformer, names: np.array(["sin", "cos"], dtype=object),
    )
