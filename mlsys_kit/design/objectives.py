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

Why hand-written: the Pareto mask is three lines of NumPy comparisons and the 2-D
hypervolume a sweep over the sorted front; both *are* the lesson, written where a reader
can follow them. moocore (``moocore.is_nondominated``, ``moocore.hypervolume``) and pymoo
compute the same in any dimension, but they minimise by default (every call would need
its objectives negated and its reference point mirrored) and would add a compiled
dependency for two small functions of one notebook. The unit tests check both functions
against a brute-force reference on random points.

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

from mlsys_kit.params import (
    ParameterError,
    check_array,
    check_float,
    check_int,
    check_same_length,
    check_type,
)

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
    mlsys_kit.params.ParameterError
        If ``alpha`` is not a number in ``[0, 1]``, the shapes differ, or a score
        is not finite.

    Examples
    --------
    >>> combine_scores([2.0, 0.0], [0.0, 2.0], alpha=0.75)
    array([1.5, 0.5])
    >>> combine_scores([2.0, 0.0], [0.0, 2.0], alpha=1.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: combine_scores: alpha=1.5 is out of range: allowed ...
    """
    owner = "combine_scores"
    alpha = check_float("alpha", alpha, min=0, max=1, owner=owner)
    a = check_array("first", first, dtype=float, finite=True, owner=owner)
    b = check_array("second", second, dtype=float, finite=True, owner=owner)
    if a.shape != b.shape:
        raise ParameterError(
            f"{owner}: first and second must have the same shape; got {a.shape} and {b.shape}"
        )
    return alpha * a + (1.0 - alpha) * b


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
    mlsys_kit.params.ParameterError
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
    owner = "top_k_outcomes"
    s = check_array("scores", scores, ndim=1, dtype=float, finite=True, owner=owner)
    check_type("outcomes", outcomes, pd.DataFrame, owner=owner)
    check_same_length(scores=s, outcomes=outcomes, owner=owner)
    k = check_int("k", k, min=1, max=len(s), owner=owner)
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
    mlsys_kit.params.ParameterError
        If ``points`` is not a non-empty 2-D array of finite numbers.

    Examples
    --------
    >>> pareto_front([[1, 3], [2, 2], [1, 1], [3, 1], [2, 2]])
    array([ True,  True, False,  True,  True])
    """
    p = check_array(
        "points", points, ndim=2, min_length=1, dtype=float, finite=True, owner="pareto_front"
    )
    if p.shape[1] == 0:
        raise ParameterError("pareto_front: points must have at least one objective (column)")
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
    mlsys_kit.params.ParameterError
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
    owner = "hypervolume_2d"
    p = check_array("points", points, ndim=2, min_length=1, dtype=float, finite=True, owner=owner)
    if p.shape[1] != 2:
        raise ParameterError(
            f"{owner}: points must have 2 columns (two objectives); got shape {p.shape}"
        )
    ref = check_array("reference", reference, ndim=1, dtype=float, finite=True, owner=owner)
    if ref.shape != (2,):
        raise ParameterError(f"{owner}: reference must be two finite numbers; got {reference!r}")
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
