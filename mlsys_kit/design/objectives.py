"""Several objectives, one ranking: combine scores and compare trade-offs on a Pareto front.

Serves Chapter 2, "Decoupling objectives" (Chip Huyen, *Designing Machine Learning
Systems*, 2022). A newsfeed ranks posts for engagement but must also keep spam and
misinformation out, i.e. rank for quality. One option trains a single model on the
combined loss ``α·quality_loss + (1 − α)·engagement_loss``, so every new ``α`` means a
new training. The other trains one model per objective and mixes their scores at
ranking time, ``α·quality_score + (1 − α)·engagement_score``: ``α`` changes without
retraining, and each model is maintained on its own schedule.

This module holds the machinery to compare the two:

* :func:`combine_scores` mixes two scores (or two targets) with weight ``α``;
* :func:`top_k_outcomes` measures what the top of a ranking delivers on each objective;
* :func:`pareto_front` marks the points no other point beats on every objective;
* :func:`hypervolume_2d` sums up a whole front as the area it dominates, one number
  to compare two fronts with.

Every function maximises: larger outcomes are better.

Examples
--------
>>> import numpy as np
>>> quality, engagement = np.array([1.0, 0.0, 0.5]), np.array([0.0, 1.0, 0.5])
>>> combine_scores(quality, engagement, alpha=0.25)
array([0.25, 0.75, 0.5 ])
>>> points = np.array([[2.0, 0.5], [0.5, 2.0], [1.0, 1.0], [0.8, 0.8]])  # (x, y) pairs
>>> pareto_front(points)  # (0.8, 0.8) is beaten by (1, 1) on both
array([ True,  True,  True, False])
>>> hypervolume_2d(points, reference=(0.0, 0.0))
2.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["combine_scores", "top_k_outcomes", "pareto_front", "hypervolume_2d"]


def combine_scores(first: ArrayLike, second: ArrayLike, alpha: float) -> np.ndarray:
    """Mix two scores with weight ``alpha``: ``alpha * first + (1 - alpha) * second``.

    The book's ranking score is ``combine_scores(quality_score, engagement_score, α)``.
    The same mix applied to two *targets* gives the target of the combined model:
    for squared-error losses, ``α·(f − q)² + (1 − α)·(f − e)²`` equals
    ``(f − (α·q + (1 − α)·e))²`` plus a constant that does not depend on the model ``f``.

    Both scores should be on comparable scales (e.g. standardised): ``alpha`` only
    means "the share of weight on ``first``" when one unit of each score is worth
    the same.

    Parameters
    ----------
    first, second : array_like of float
        Scores (or targets) of the same items, same shape, finite.
    alpha : float
        Weight of ``first``, in ``[0, 1]``. ``0`` ranks by ``second`` only,
        ``1`` by ``first`` only.

    Returns
    -------
    numpy.ndarray
        The mixed scores, same shape as the inputs.

    Raises
    ------
    ValueError
        If ``alpha`` is not a number in ``[0, 1]``, the shapes differ, or a score
        is not finite.

    Examples
    --------
    >>> combine_scores([2.0, 0.0], [0.0, 2.0], alpha=0.75)
    array([1.5, 0.5])
    >>> combine_scores([2.0, 0.0], [0.0, 2.0], alpha=1.5)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a number in [0, 1]; got 1.5
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.number):
        raise ValueError(f"alpha must be a number in [0, 1]; got {alpha!r}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1]; got {alpha!r}")
    a = _finite_array("first", first)
    b = _finite_array("second", second)
    if a.shape != b.shape:
        raise ValueError(f"first and second must have the same shape; got {a.shape} and {b.shape}")
    return float(alpha) * a + (1.0 - float(alpha)) * b


def top_k_outcomes(scores: ArrayLike, outcomes: pd.DataFrame, k: int) -> pd.Series:
    """Mean of each outcome over the ``k`` items a ranking puts on top.

    This is what the top of a feed delivers: rank the items by ``scores``
    (highest first), keep the first ``k``, and average each outcome column
    (typically the *true* quality and engagement of held-out posts).

    Parameters
    ----------
    scores : array_like of float, shape (n,)
        The ranking score of each item; higher ranks first. Ties keep the
        items' order.
    outcomes : pandas.DataFrame, n rows
        One numeric column per objective, rows aligned with ``scores``.
    k : int
        How many top items to average, ``1 ≤ k ≤ n``.

    Returns
    -------
    pandas.Series
        One value per column of ``outcomes``: its mean over the top ``k`` items.

    Raises
    ------
    ValueError
        If ``scores`` is not a finite 1-D array, its length differs from the
        number of rows of ``outcomes``, or ``k`` is not an integer in ``[1, n]``.

    Examples
    --------
    >>> outcomes = pd.DataFrame({"quality": [3, 1, 2], "engagement": [0, 5, 1]})
    >>> top_k_outcomes([0.9, 0.1, 0.5], outcomes, k=2)
    quality       2.5
    engagement    0.5
    dtype: float64
    """
    s = _finite_array("scores", scores)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D; got shape {s.shape}")
    if not isinstance(outcomes, pd.DataFrame):
        raise ValueError(f"outcomes must be a pandas DataFrame; got {type(outcomes).__name__}")
    if len(outcomes) != len(s):
        raise ValueError(
            f"scores and outcomes must have the same length; got {len(s)} and {len(outcomes)}"
        )
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(s):
        raise ValueError(f"k must be an integer in [1, {len(s)}]; got {k!r}")
    top = np.argsort(-s, kind="stable")[: int(k)]
    return outcomes.iloc[top].mean().astype(float)


def pareto_front(points: ArrayLike) -> np.ndarray:
    """Mark the points that no other point dominates (all objectives maximised).

    Point ``p`` dominates ``q`` when ``p`` is at least as good as ``q`` on every
    objective and strictly better on one. The non-dominated points form the
    Pareto front: the trade-offs worth considering, since every other point is
    beaten by one of them on all objectives at once. Duplicate points do not
    dominate each other.

    Parameters
    ----------
    points : array_like of float, shape (n, d)
        One row per point (e.g. one ranking), one column per objective.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
        ``True`` for the points on the front.

    Raises
    ------
    ValueError
        If ``points`` is not a non-empty 2-D array of finite numbers.

    Examples
    --------
    >>> pareto_front([[1, 3], [2, 2], [1, 1], [3, 1], [2, 2]])
    array([ True,  True, False,  True,  True])
    """
    p = _points("points", points)
    at_least = (p[:, None, :] >= p[None, :, :]).all(axis=2)  # [i, j]: i ≥ j everywhere
    better = (p[:, None, :] > p[None, :, :]).any(axis=2)  # [i, j]: i > j somewhere
    dominated = (at_least & better).any(axis=0)  # j is dominated by some i
    return ~dominated


def hypervolume_2d(points: ArrayLike, reference: Sequence[float]) -> float:
    """Area dominated by a set of 2-D points and bounded below by ``reference``.

    The hypervolume (here an area) measures a whole Pareto front with one
    number: the region of the objective plane that is at least as good as the
    ``reference`` point and beaten by some point of the set. A front that is
    better everywhere has a larger area, so the ratio of two fronts' areas
    compares them. Points that do not beat the reference on both objectives add
    nothing. Both objectives are maximised.

    Parameters
    ----------
    points : array_like of float, shape (n, 2)
        One row per point, e.g. (engagement, quality) of a ranking's top items.
        Dominated points may be included; they add no area.
    reference : sequence of two floats
        The worst acceptable point, e.g. what a random ranking achieves.

    Returns
    -------
    float
        The dominated area (``0.0`` when no point beats the reference).

    Raises
    ------
    ValueError
        If ``points`` is not a non-empty ``(n, 2)`` array of finite numbers or
        ``reference`` is not two finite numbers.

    Examples
    --------
    >>> hypervolume_2d([[2, 1], [1, 2]], reference=(0, 0))
    3.0
    >>> hypervolume_2d([[2, 1], [1, 2], [1, 1]], reference=(0, 0))  # (1, 1) is dominated
    3.0
    >>> hypervolume_2d([[2, 1]], reference=(3, 0))  # does not beat the reference
    0.0
    """
    p = _points("points", points)
    if p.shape[1] != 2:
        raise ValueError(f"points must have 2 columns (two objectives); got shape {p.shape}")
    ref = np.asarray(reference, dtype=float)
    if ref.shape != (2,) or not np.isfinite(ref).all():
        raise ValueError(f"reference must be two finite numbers; got {reference!r}")
    p = p[(p > ref).all(axis=1)]
    if len(p) == 0:
        return 0.0
    p = p[pareto_front(p)]
    p = p[np.lexsort((-p[:, 1], -p[:, 0]))]  # best first objective first
    area, covered_y = 0.0, ref[1]
    for x, y in p:
        if y > covered_y:
            area += (x - ref[0]) * (y - covered_y)
            covered_y = y
    return float(area)


def _finite_array(name: str, values: ArrayLike) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric; got {type(values).__name__}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; it contains NaN or infinite values")
    return array


def _points(name: str, points: ArrayLike) -> np.ndarray:
    p = _finite_array(name, points)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n points × d objectives)")
    return p
