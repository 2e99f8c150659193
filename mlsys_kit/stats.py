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

from mlsys_kit.params import ParameterError, check_array, check_float, check_int

__all__ = [
    "quantile_edges",
    "quantile_bins",
    "effective_sample_size",
    "MeanInterval",
    "mean_interval",
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
