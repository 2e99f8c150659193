"""Types of distribution shift: what a monitor sees for each, and correcting covariate shift.

Serves Chapter 8, "Data Distribution Shifts and Monitoring", sections "Types of Data
Distribution Shifts" (covariate, label and concept shift) and "Addressing Data Distribution
Shifts" (importance weighting), of Chip Huyen, *Designing Machine Learning Systems* (2022).

A deployed model can be watched through three kinds of quantity, available at different times:

* its **inputs** (known at once): how far each feature's distribution moved from the training
  data, here the population stability index, :func:`psi` and :func:`feature_shift`;
* its **predictions** (known at once): the mean predicted probability;
* its **outcomes** (known only once the delayed labels arrive): the observed positive rate, the
  calibration ratio (observed ÷ predicted) and the AUC.

:func:`monitor_periods` computes all of them period by period, and the day each period's labels
are complete. Covariate, label and concept shift each move a different subset of them.

:func:`covariate_shift_weights` corrects a covariate shift (P(x) changes, P(y | x) does not) before
any label of the new data arrives: a *domain classifier* learns to tell source (training) rows
from target (new, unlabelled) rows, and its odds give the density ratio
``w(x) = p_target(x) / p_source(x)`` (Bickel, Brückner and Scheffer, 2007; Sugiyama et al.,
2007, cited by the book). Training on the source rows with these weights fits the model where
the target data lie. (Not to be confused with
:func:`mlsys_kit.training_data.sampling.importance_weights`, the weights of a sample drawn
from a *known* proposal distribution: here the density ratio is *estimated*.) The effective
sample size after weighting is :func:`mlsys_kit.stats.effective_sample_size` (Kish).

What is hand-written, and why: the classifier, the cross-fitting and the weighted fits are
scikit-learn's. The odds-to-weights step and the clipping are three lines of arithmetic that no
maintained library exposes on its own (the libraries that do, such as ``adapt``, wrap them in
their own estimator classes). PSI is a two-line formula that neither scipy nor scikit-learn
ships; numeric features are binned at the reference's quantiles exactly as
:func:`mlsys_kit.monitoring.drift.detect_drift` bins them (:mod:`mlsys_kit.stats`), so that the
same data give the same PSI here and there. :mod:`mlsys_kit.monitoring.drift` has a full
per-feature drift report with tests and corrections, while this module keeps only the one
number per feature and period that the "which quantity moves" comparison needs.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> source = rng.normal(0, 1, size=(2_000, 1))
>>> target = rng.normal(1, 1, size=(2_000, 1))
>>> iw = covariate_shift_weights(source, target, seed=0)
>>> bool(iw.weights[source[:, 0] > 1].mean() > iw.weights[source[:, 0] < 0].mean())
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.monitoring.drift import _binned_counts, psi_from_counts
from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_float,
    check_int,
    check_same_length,
    check_type,
    make_rng,
)
from mlsys_kit.stats import effective_sample_size

__all__ = [
    "ImportanceWeights",
    "covariate_shift_weights",
    "feature_shift",
    "monitor_periods",
    "psi",
]


# --------------------------------------------------------------------------------------------
# Input features: population stability index
# --------------------------------------------------------------------------------------------


def psi(reference: Any, current: Any, *, bins: int = 10) -> float:
    """Population stability index of one feature: how far ``current`` moved from ``reference``.

    ``PSI = sum((c - r) * ln(c / r))`` over bins, with ``r`` and ``c`` the shares of the two
    samples in each bin. Numeric values are binned at the reference's quantiles (``bins`` bins,
    fewer when quantiles coincide); a feature with at most ``bins`` distinct reference values
    (a flag, a category, a small count) is compared value by value, with one extra bin for
    values the reference never had. The quantile bins are those of
    :func:`mlsys_kit.monitoring.drift.detect_drift` (:func:`mlsys_kit.stats.quantile_edges`,
    estimated on at most 20,000 evenly spaced reference values), so both give the same PSI
    on the same data; the index itself is
    :func:`mlsys_kit.monitoring.drift.psi_from_counts` of the bin counts (which smooths
    empty bins). The usual
    reading: below 0.1 stable, 0.1 to 0.25 investigate, above 0.25 a major shift.

    Parameters
    ----------
    reference, current : array-like, one-dimensional
        Values of the feature (numbers, booleans or labels), without missing values.
    bins : int, default 10
        Number of quantile bins for numeric features (>= 2).

    Returns
    -------
    float
        PSI >= 0; 0 when the binned shares are identical.

    Raises
    ------
    ParameterError
        On empty or multi-dimensional input, missing values, or ``bins < 2``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> same = psi(rng.normal(size=5_000), rng.normal(size=5_000))
    >>> moved = psi(rng.normal(size=5_000), rng.normal(0.5, 1, size=5_000))
    >>> bool(same < 0.01), bool(0.2 < moved < 0.35)
    (True, True)
    >>> round(psi([True] * 250 + [False] * 750, [True] * 500 + [False] * 500), 2)
    0.27
    """
    bins = check_int("bins", bins, min=2, owner="psi")
    ref = check_array("reference", reference, ndim=1, min_length=1, owner="psi")
    cur = check_array("current", current, ndim=1, min_length=1, owner="psi")
    if pd.isna(ref).any() or pd.isna(cur).any():
        raise ParameterError("psi: reference and current must not contain missing values")
    numeric = ref.dtype.kind in "iuf" and cur.dtype.kind in "iufb"
    distinct = pd.unique(ref)
    if numeric and len(distinct) > bins:
        ref_counts, cur_counts = _binned_counts(ref.astype(float), cur.astype(float), bins)
    else:
        other = len(distinct)  # one more bin for values the reference never had
        ref_codes = pd.Index(distinct).get_indexer(ref)
        cur_codes = pd.Index(distinct).get_indexer(cur)  # -1: a value the reference never had
        ref_counts = np.bincount(ref_codes, minlength=other + 1)
        cur_counts = np.bincount(np.where(cur_codes < 0, other, cur_codes), minlength=other + 1)
    return psi_from_counts(ref_counts, cur_counts)


def feature_shift(reference: pd.DataFrame, current: pd.DataFrame, *, bins: int = 10) -> pd.Series:
    """PSI of every column of ``current`` against the same column of ``reference``.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        The same columns (in any order); see :func:`psi` for the values allowed.
    bins : int, default 10
        Quantile bins for numeric columns.

    Returns
    -------
    pandas.Series
        PSI per column, named ``"psi"``, in the column order of ``reference``.

    Raises
    ------
    ParameterError
        If either argument is not a DataFrame, the columns differ, or a column fails
        :func:`psi`'s checks.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"a": rng.normal(size=3_000), "b": rng.random(3_000) < 0.1})
    >>> cur = pd.DataFrame({"a": rng.normal(1, 1, size=3_000), "b": rng.random(3_000) < 0.1})
    >>> shift = feature_shift(ref, cur)
    >>> shift.idxmax(), bool(shift["b"] < 0.01)
    ('a', True)
    """
    check_type("reference", reference, pd.DataFrame, owner="feature_shift")
    check_type("current", current, pd.DataFrame, owner="feature_shift")
    if set(reference.columns) != set(current.columns):
        raise ParameterError(
            f"feature_shift: reference and current must have the same columns; got "
            f"{list(reference.columns)} and {list(current.columns)}"
        )
    values = {}
    for column in reference.columns:
        try:
            values[column] = psi(
                reference[column].to_numpy(), current[column].to_numpy(), bins=bins
            )
        except ParameterError as error:
            raise ParameterError(f"feature_shift: column {column!r}: {error}") from None
    return pd.Series(values, name="psi", dtype=float)


# --------------------------------------------------------------------------------------------
# All three kinds of monitored quantity, period by period
# --------------------------------------------------------------------------------------------


def monitor_periods(
    X: pd.DataFrame,
    scores: Any,
    labels: Any,
    periods: Any,
    *,
    reference_X: pd.DataFrame,
    labels_known: Any = None,
    bins: int = 10,
) -> pd.DataFrame:
    """What a monitor sees in each period: inputs, predictions and (later) outcomes.

    Parameters
    ----------
    X : pandas.DataFrame
        The model's inputs for the served rows.
    scores : array-like
        The model's predicted probability of the positive class for each row of ``X``.
    labels : array-like of bool or {0, 1}
        The outcome of each row, as it will eventually be known.
    periods : array-like
        The period of each row (a week number, a date...); the result has one row per distinct
        value, sorted.
    reference_X : pandas.DataFrame
        The inputs the model was trained on (same columns as ``X``): the baseline of the
        feature-shift score.
    labels_known : array-like, optional
        When each row's label becomes known (for example days since the start). The result then
        has a column ``labels_known``: the time the period's last label arrives, the first time
        its outcome columns can be computed.
    bins : int, default 10
        Quantile bins of :func:`psi`.

    Returns
    -------
    pandas.DataFrame
        Indexed by period, with columns ``n_rows``; ``feature_psi`` (the largest PSI of any
        input column against ``reference_X``) and ``most_shifted`` (that column), known at
        once; ``mean_score`` (the mean prediction), known at once; ``positive_rate``,
        ``calibration`` (``positive_rate / mean_score``: 1 for a calibrated model) and ``auc``
        (NaN when a period has a single class), known once the labels are in; and
        ``labels_known`` when given.

    Raises
    ------
    ParameterError
        If ``X`` or ``reference_X`` is not a DataFrame, if the lengths of ``X``,
        ``scores``, ``labels``, ``periods`` (and ``labels_known``)
        differ, if scores are outside [0, 1], or labels are not binary.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=4_000)})
    >>> scores = 1 / (1 + np.exp(-X["x"].to_numpy()))
    >>> labels = rng.random(4_000) < scores
    >>> week = np.repeat([0, 1], 2_000)
    >>> table = monitor_periods(X, scores, labels, week, reference_X=X.iloc[:2_000])
    >>> list(table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['n_rows', 'feature_psi', 'most_shifted', 'mean_score', 'positive_rate', 'calibration',
     'auc']
    >>> table["n_rows"].tolist(), bool((table["auc"] > 0.65).all())
    ([2000, 2000], True)
    """
    from sklearn.metrics import roc_auc_score

    owner = "monitor_periods"
    check_type("X", X, pd.DataFrame, owner=owner)
    check_type("reference_X", reference_X, pd.DataFrame, owner=owner)
    check_int("bins", bins, min=2, owner=owner)
    columns = {"scores": scores, "labels": labels, "periods": periods}
    if labels_known is not None:
        columns["labels_known"] = labels_known
    arrays = {
        name: check_array(name, value, ndim=1, owner=owner) for name, value in columns.items()
    }
    check_same_length(X=X, **arrays, owner=owner)
    score = check_array("scores", arrays["scores"], dtype=float, owner=owner)
    if not np.all((score >= 0) & (score <= 1)):
        raise ParameterError(f"{owner}: scores must be probabilities in [0, 1]")
    label = arrays["labels"]
    if not np.isin(label, [0, 1]).all():
        raise ParameterError(f"{owner}: labels must be binary: booleans or 0/1")
    label = label.astype(bool)

    rows = []
    for period in np.unique(arrays["periods"]):
        mask = arrays["periods"] == period
        shift = feature_shift(reference_X, X.loc[mask], bins=bins)
        y, s = label[mask], score[mask]
        mean_score, rate = float(s.mean()), float(y.mean())
        row = {
            "period": period,
            "n_rows": int(mask.sum()),
            "feature_psi": float(shift.max()),
            "most_shifted": str(shift.idxmax()),
            "mean_score": mean_score,
            "positive_rate": rate,
            "calibration": rate / mean_score if mean_score > 0 else math.nan,
            "auc": float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else math.nan,
        }
        if labels_known is not None:
            row["labels_known"] = arrays["labels_known"][mask].max()
        rows.append(row)
    return pd.DataFrame(rows).set_index("period")


# --------------------------------------------------------------------------------------------
# Correcting covariate shift: importance weights from a domain classifier
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ImportanceWeights:
    """Importance weights of source rows, and what the domain classifier saw.

    Attributes
    ----------
    weights : numpy.ndarray
        One weight per source row, ``p_target(x) / p_source(x)`` estimated, clipped, with mean 1.
        Pass it as ``sample_weight`` when fitting on the source rows.
    domain_auc : float
        Out-of-fold AUC of the domain classifier telling target from source rows: 0.5 when
        the inputs did not shift, near 1 when the two barely overlap (and weighting cannot help).
    effective_sample_size : float
        Kish's effective number of source rows after weighting, ``(sum w)^2 / sum w^2``
        (:func:`mlsys_kit.stats.effective_sample_size`).
    n_clipped : int
        Source rows whose weight was capped at ``clip``.
    """

    weights: np.ndarray
    domain_auc: float
    effective_sample_size: float
    n_clipped: int

    def __repr__(self) -> str:
        return (
            f"ImportanceWeights({len(self.weights):,} source rows, domain AUC "
            f"{self.domain_auc:.3f}, effective sample size {self.effective_sample_size:,.0f}, "
            f"max weight {self.weights.max():.2f}, {self.n_clipped} clipped)"
        )


def _numeric_matrix(data: Any, name: str, owner: str) -> np.ndarray:
    if isinstance(data, pd.DataFrame):
        kinds = {column: data[column].dtype.kind for column in data.columns}
        bad = [column for column, kind in kinds.items() if kind not in "biuf"]
        if bad:
            raise ParameterError(
                f"{owner}: {name} must hold numbers or booleans only (encode categories "
                f"first); non-numeric columns: {bad}"
            )
    if isinstance(data, str):
        raise ParameterError(f"{owner}: {name} must be a 2-D table (rows x features); got str")
    matrix = check_array(name, data, ndim=2, dtype=float, owner=owner)
    if not np.isfinite(matrix).all():
        raise ParameterError(f"{owner}: {name} contains missing or infinite values")
    return matrix


def covariate_shift_weights(
    source_X: Any,
    target_X: Any,
    *,
    classifier: Any = None,
    clip: float | None = 20.0,
    cv: int = 5,
    seed: Seed = 0,
) -> ImportanceWeights:
    """Importance weights ``p_target(x) / p_source(x)`` for the source rows, by a domain classifier.

    A classifier learns to tell target rows (label 1) from source rows (label 0). Its predicted
    probability ``p`` for a source row, out of fold (cross-fitted, so that no row is scored by
    a model that saw it), gives the density ratio through Bayes' rule:
    ``w = p / (1 - p) * n_source / n_target``. The weights are rescaled to mean 1, capped at
    ``clip`` (a few rows with huge weights would otherwise make the weighted fit as noisy as
    a fit on those few rows), and rescaled to mean 1 again.

    Importance weighting corrects *covariate* shift only: it assumes P(y | x) is the same on
    both sides. It helps a model that cannot fit every region of the input space equally well
    (a misspecified model) by making it fit where the target data lie; a model that already
    fits P(y | x) everywhere has nothing to gain and loses some effective sample size.

    Parameters
    ----------
    source_X : array-like or pandas.DataFrame, shape (n_source, n_features)
        Inputs of the training (source) rows; numbers or booleans, no missing values.
    target_X : array-like or pandas.DataFrame, shape (n_target, n_features)
        Inputs of the new (target) rows, unlabelled; the same features.
    classifier : scikit-learn classifier, optional
        Any classifier with ``predict_proba``. It should give calibrated probabilities: the
        weights are its odds. Default: standardisation then logistic regression, whose log
        odds are linear, the right form when the log density ratio is linear in the features
        (use features in which it is, e.g. log amounts).
    clip : float or None, default 20.0
        Largest weight, in multiples of the mean weight (> 1); ``None`` keeps the raw ratios.
    cv : int, default 5
        Folds of the cross-fitting (>= 2).
    seed : int or numpy.random.Generator, default 0
        Seeds the fold assignment (and nothing else: seed your classifier yourself).

    Returns
    -------
    ImportanceWeights
        ``weights`` (one per source row, mean 1), ``domain_auc``, ``effective_sample_size``
        and ``n_clipped``.

    Raises
    ------
    ParameterError
        If an input is not a 2-D table of finite numbers, the two have a different number of
        features (or different column names), a side has fewer than ``2 * cv`` rows,
        ``clip``, ``cv`` or ``seed`` is out of range, or ``classifier`` has no
        ``predict_proba``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> source = rng.normal(0, 1, size=(3_000, 2))
    >>> target = rng.normal([0.5, 0], 1, size=(3_000, 2))
    >>> iw = covariate_shift_weights(source, target, seed=1)
    >>> round(float(iw.weights.mean()), 6), bool(0.55 < iw.domain_auc < 0.7)
    (1.0, True)
    >>> # the true ratio is exp(0.5 x0 - 0.125): rows far right of the source weigh most
    >>> bool(np.corrcoef(iw.weights, np.exp(0.5 * source[:, 0]))[0, 1] > 0.95)
    True
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    owner = "covariate_shift_weights"
    cv = check_int("cv", cv, min=2, owner=owner)
    rng = make_rng(seed, owner=owner)
    # scikit-learn takes an int: an integer seed as it is (reproducible), else one drawn.
    fold_seed = int(seed) if isinstance(seed, int) else int(rng.integers(2**31))
    if clip is not None:
        clip = check_float("clip", clip, min=1, open_min=True, owner=owner)
    both_frames = isinstance(source_X, pd.DataFrame) and isinstance(target_X, pd.DataFrame)
    if both_frames and list(source_X.columns) != list(target_X.columns):
        raise ParameterError(
            f"{owner}: source_X and target_X must have the same columns in the same order; "
            f"got {list(source_X.columns)} and {list(target_X.columns)}"
        )
    source = _numeric_matrix(source_X, "source_X", owner)
    target = _numeric_matrix(target_X, "target_X", owner)
    if source.shape[1] != target.shape[1]:
        raise ParameterError(
            f"{owner}: source_X and target_X must have the same number of features; got "
            f"{source.shape[1]} and {target.shape[1]}"
        )
    for name, matrix in (("source_X", source), ("target_X", target)):
        if len(matrix) < 2 * cv:
            raise ParameterError(
                f"{owner}: {name} has {len(matrix)} rows: need at least {2 * cv} for "
                f"{cv}-fold cross-fitting"
            )
    if classifier is None:
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if not hasattr(classifier, "predict_proba"):
        raise ParameterError(
            f"{owner}: classifier must have predict_proba (its odds are the weights); "
            f"got {type(classifier).__name__}"
        )

    X = np.vstack([source, target])
    domain = np.r_[np.zeros(len(source), dtype=int), np.ones(len(target), dtype=int)]
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=fold_seed)
    p = cross_val_predict(clone(classifier), X, domain, cv=folds, method="predict_proba")[:, 1]
    domain_auc = float(roc_auc_score(domain, p))
    p_source = np.clip(p[: len(source)], 1e-12, 1 - 1e-12)
    weights = p_source / (1 - p_source) * (len(source) / len(target))
    weights = weights / weights.mean()
    n_clipped = 0
    if clip is not None:
        n_clipped = int((weights > clip).sum())
        weights = np.minimum(weights, clip)
        weights = weights / weights.mean()
    return ImportanceWeights(
        weights=weights,
        domain_auc=domain_auc,
        effective_sample_size=effective_sample_size(weights),
        n_clipped=n_clipped,
    )
