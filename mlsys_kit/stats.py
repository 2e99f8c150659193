"""Small statistics that several chapters share, defined once.

* :func:`quantile_edges` and :func:`quantile_bins`: bin a numeric feature at the quantiles of a
  reference sample (drift distances, feature generalization, the leakage checker). Every
  binned statistic of the kit bins this way, so that the same data give the same PSI or
  Jensen–Shannon distance in every module. The inner edges are the reference's quantiles
  (:func:`numpy.quantile`, its default linear interpolation), duplicates dropped; a value
  equal to an edge goes to the bin on the edge's right (``[lo, hi)`` bins, the outer ones
  open-ended), as with ``numpy.searchsorted(edges, x, side="right")``.
* :func:`effective_sample_size`: Kish's effective sample size of weighted rows (importance
  sampling in Chapter 4, importance weighting in Chapter 8).
* :func:`mean_interval`: the mean of paired differences (one method minus another on the
  same draws) and its Student-t interval, :func:`scipy.stats.t.interval` on the standard
  error. Lessons that compare methods over repeated draws claim on its ``low`` end
  (Chapters 4 and 8).
* :func:`bootstrap_auc`: the ROC AUC of several models on the same bootstrap resamples of a
  test set (a paired bootstrap), for lessons that compare models' AUCs on an interval
  (Chapters 7 and 8). Hand-written because calling :func:`sklearn.metrics.roc_auc_score` once
  per resample and model costs seconds; here each model's scores are sorted once and every
  resample is a vector of row counts (the tests check it against ``roc_auc_score``).
* :func:`rank_auc`: one ROC AUC by the rank-sum (Mann–Whitney) formula, for loops that score
  many small periods (Chapters 6 and 9): :func:`sklearn.metrics.roc_auc_score`'s input checks
  cost milliseconds a call, more than the AUC itself.

Why not ``sklearn.preprocessing.KBinsDiscretizer(strategy="quantile")``: it bins at the same
quantiles but warns and merges bins whose edges coincide, fits one column at a time through
a transformer, and has no "bin the *current* window at the *reference* window's edges" call
without a fit/transform pair per feature; the tests check that both give the same bins on
continuous data.

Examples
--------
>>> import numpy as np
>>> edges = quantile_edges(np.arange(100), n_bins=4)
>>> edges
array([24.75, 49.5 , 74.25])
>>> quantile_bins([0, 24.75, 50, 99], edges)
array([0, 1, 2, 3])
>>> effective_sample_size([1, 1, 1, 1])
4.0
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_float,
    check_int,
    check_same_length,
    make_rng,
)

__all__ = [
    "quantile_edges",
    "quantile_bins",
    "effective_sample_size",
    "MeanInterval",
    "mean_interval",
    "bootstrap_auc",
]


def quantile_edges(reference: Any, n_bins: int = 10) -> np.ndarray:
    """Inner edges of ``n_bins`` quantile bins of ``reference`` (fewer where quantiles tie).

    Parameters
    ----------
    reference : array-like of float
        The sample whose quantiles set the edges; NaN values are ignored.
    n_bins : int, default 10
        Number of bins wanted (at least 2).

    Returns
    -------
    numpy.ndarray
        The ``n_bins - 1`` inner edges, increasing, duplicates removed.

    Raises
    ------
    ParameterError
        When ``reference`` is not one-dimensional, holds no finite value, or
        ``n_bins < 2``.
    """
    n_bins = check_int("n_bins", n_bins, min=2, owner="quantile_edges")
    values = check_array("reference", reference, ndim=1, dtype=float, owner="quantile_edges")
    values = values[~np.isnan(values)]
    check_array("reference (without NaN)", values, min_length=1, owner="quantile_edges")
    return np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1]))


def quantile_bins(values: Any, edges: Any) -> np.ndarray:
    """The bin of each value, ``0`` to ``len(edges)``, for edges from :func:`quantile_edges`.

    A value equal to an edge goes to the bin on its right; NaN goes to ``-1``.

    Examples
    --------
    >>> quantile_bins([0.5, np.nan, 3.0], [1.0, 2.0])
    array([ 0, -1,  2])
    """
    x = check_array("values", values, ndim=1, dtype=float, owner="quantile_bins")
    cuts = check_array("edges", edges, ndim=1, dtype=float, owner="quantile_bins")
    codes = np.searchsorted(cuts, x, side="right")
    return np.where(np.isnan(x), -1, codes)


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size of weighted rows: ``(sum w)^2 / sum w^2``.

    Equal weights give the number of rows; uneven weights fewer, as if that many
    unweighted rows carried the same information.

    Raises
    ------
    ParameterError
        When the weights are not a non-empty vector of finite, non-negative numbers
        with a positive sum.

    Examples
    --------
    >>> effective_sample_size([3.0, 1.0])
    1.6
    """
    w = check_array(
        "weights",
        weights,
        ndim=1,
        min_length=1,
        dtype=float,
        finite=True,
        owner="effective_sample_size",
    )
    if (w < 0).any() or w.sum() <= 0:
        raise ParameterError(
            "effective_sample_size: weights must be non-negative with a positive sum"
        )
    return float(w.sum() ** 2 / np.square(w).sum())


class MeanInterval(NamedTuple):
    """A mean and its confidence interval (see :func:`mean_interval`)."""

    mean: float
    low: float
    high: float


def mean_interval(values: Any, *, level: float = 0.9) -> MeanInterval:
    """The mean of ``values`` and its Student-t confidence interval.

    Meant for paired differences: the score of one method minus another's on the same draws
    (the same labelled rows), one value per draw. A method beats another when ``low > 0``.

    Parameters
    ----------
    values : array-like of float
        At least two finite values, e.g. per-draw score differences.
    level : float, default 0.9
        Confidence level, in ``(0, 1)``.

    Returns
    -------
    MeanInterval
        ``mean``, ``low`` and ``high``. With no spread at all, ``low == high == mean``.

    Raises
    ------
    ParameterError
        Fewer than two values, a value that is not finite, or ``level`` out of ``(0, 1)``.

    Examples
    --------
    >>> mean_interval([0.02, 0.03, 0.01, 0.04]).low > 0
    True
    >>> mean_interval([0.02, -0.03, 0.01, -0.01]).low > 0
    False
    """
    from scipy import stats

    owner = "mean_interval"
    level = check_float("level", level, min=0, max=1, open_min=True, open_max=True, owner=owner)
    x = check_array("values", values, ndim=1, min_length=2, dtype=float, owner=owner)
    if not np.isfinite(x).all():
        raise ParameterError(f"{owner}: values must be finite; got {x.tolist()!r}")
    mean, sem = float(x.mean()), float(stats.sem(x))
    if sem == 0:
        return MeanInterval(mean, mean, mean)
    low, high = stats.t.interval(level, len(x) - 1, loc=mean, scale=sem)
    return MeanInterval(mean, float(low), float(high))


def bootstrap_auc(y_true: Any, scores: Any, *, n_boot: int = 200, seed: Seed = 0) -> np.ndarray:
    """ROC AUC of several models on the same bootstrap resamples of the test rows.

    Each resample draws ``len(y_true)`` rows with replacement; every model is scored on the
    same resample (a *paired* bootstrap), so the difference between two models' columns is
    the spread of their difference on test sets like this one. Ties count one half, as in
    :func:`sklearn.metrics.roc_auc_score`. Each model's scores are sorted once; a resample is
    a vector of row counts, so all resamples cost a few array operations.

    Parameters
    ----------
    y_true : array-like of bool or 0/1, shape (n_rows,)
        The labels; both classes must occur.
    scores : array-like of shape (n_rows,) or (n_rows, n_models)
        Each model's score for the positive class.
    n_boot : int, default 200
        Resamples.
    seed : int or numpy.random.Generator, default 0
        Draws the resamples.

    Returns
    -------
    numpy.ndarray of shape (n_boot, n_models)
        The AUC of each model on each resample.

    Raises
    ------
    ParameterError
        When the labels are not binary with both classes, the lengths differ, a score is not
        finite, or ``n_boot < 1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(300) < 0.3
    >>> sharp, blurred = y + rng.normal(0, 0.5, 300), y + rng.normal(0, 2.0, 300)
    >>> aucs = bootstrap_auc(y, np.column_stack([sharp, blurred]), n_boot=200, seed=0)
    >>> aucs.shape
    (200, 2)
    >>> low, high = np.quantile(aucs[:, 0] - aucs[:, 1], [0.05, 0.95])  # a 90% interval
    >>> bool(low > 0)
    True
    """
    owner = "bootstrap_auc"
    n_boot = check_int("n_boot", n_boot, min=1, owner=owner)
    labels = check_array("y_true", y_true, ndim=1, min_length=2, owner=owner)
    values = check_array("scores", scores, dtype=float, finite=True, owner=owner)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ParameterError(f"{owner}: scores must be a vector or a matrix; got {values.shape}")
    check_same_length(y_true=labels, scores=values, owner=owner)
    if not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) != 2:
        raise ParameterError(f"{owner}: y_true must hold both classes, as bool or 0/1")
    positive = labels.astype(bool)
    n = len(positive)
    rng = make_rng(seed, owner=owner)
    summers = [_tie_groups(positive, values[:, j]) for j in range(values.shape[1])]
    aucs = np.empty((n_boot, values.shape[1]))
    for start in range(0, n_boot, _RESAMPLES_PER_BLOCK):  # blocks keep the arrays small
        size = min(_RESAMPLES_PER_BLOCK, n_boot - start)
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
        counts = np.ascontiguousarray(counts.T, dtype=np.float32)  # row i: its draws per resample
        for j, (summing, n_groups) in enumerate(summers):
            aucs[start : start + size, j] = _auc_of_groups(summing @ counts, n_groups)
    return aucs


def rank_auc(y_true: Any, score: Any) -> float:
    """ROC AUC by the rank-sum (Mann–Whitney U) formula, ties counted one half.

    What :func:`sklearn.metrics.roc_auc_score` computes for binary labels (the tests check
    it), without its input checks, which cost more than the AUC itself in a loop over many
    small periods or resamples.

    Parameters
    ----------
    y_true : array-like of bool or 0/1, shape (n_rows,)
        The labels.
    score : array-like of float, shape (n_rows,)
        The model's score for the positive class (any increasing function of it).

    Returns
    -------
    float
        The AUC, or NaN when the labels hold one class only.

    Examples
    --------
    >>> rank_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> rank_auc([1, 1], [0.2, 0.3])
    nan
    """
    from scipy.stats import rankdata

    positive = np.asarray(y_true).astype(bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum = float(rankdata(np.asarray(score))[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


#: Resamples drawn and scored together by :func:`bootstrap_auc`.
_RESAMPLES_PER_BLOCK = 50


def _tie_groups(positive: np.ndarray, score: np.ndarray) -> tuple[Any, int]:
    """A sparse matrix that sums row counts by class and tied-score group, and the groups' number.

    Row ``g`` of the product with counts sums the positives scored at the ``g``-th lowest
    distinct score; row ``n_groups + g``, the negatives.
    """
    from scipy import sparse

    groups, group = np.unique(score, return_inverse=True)
    n_groups, n = len(groups), len(score)
    row = group + n_groups * ~positive
    ones = np.ones(n, dtype=np.float32)
    return sparse.csr_matrix((ones, (row, np.arange(n))), shape=(2 * n_groups, n)), n_groups


def _auc_of_groups(summed: np.ndarray, n_groups: int) -> np.ndarray:
    """AUC per column of ``summed`` (positives then negatives by score group, low to high)."""
    pos = summed[:n_groups].astype(np.float64)
    neg = summed[n_groups:].astype(np.float64)
    below = np.cumsum(neg, axis=0) - 0.5 * neg  # negatives lower, ties counted one half
    wins = np.einsum("gb,gb->b", pos, below)
    pairs = pos.sum(axis=0) * neg.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return wins / pairs  # NaN for a resample with one class only
