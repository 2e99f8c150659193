"""Sampling: which rows make it into the training and evaluation data, and with what bias.

Serves Chapter 4, "Sampling" (Chip Huyen, *Designing Machine Learning Systems*, O'Reilly
2022): nonprobability (convenience) sampling, simple random, stratified and weighted sampling,
reservoir sampling over a stream, and importance sampling.

What is in here, and why some of it is written by hand:

- :func:`sample_indices` draws the row indices of one sample by a named method. It calls the
  libraries practitioners use: numpy's ``Generator.choice`` for simple random and weighted
  sampling, and within each stratum for stratified sampling. (pandas' ``groupby().sample`` and
  scikit-learn's ``train_test_split(stratify=...)`` stratify too, but cost 10-50 ms a call, and
  the notebook draws hundreds of samples; the allocation itself is three lines.)
- :func:`reservoir_sample` is hand-written: neither the standard library, numpy nor pandas
  samples from an iterator of unknown length in memory proportional to ``k``, and how it does
  so is the lesson. It is Li's *Algorithm L* (1994): instead of one random number per item
  (Vitter's *Algorithm R*, :func:`reservoir_sample_per_item`, kept as the baseline the notebook
  and the benchmark compare with), it draws how many items to *skip* before the next one enters
  the reservoir, and skips them with :func:`itertools.islice`, which consumes them in C. Only
  about ``k * (1 + ln(n / k))`` items are touched by Python code.
- :func:`importance_weights`, :func:`importance_estimate` and :func:`importance_variance`
  are the three formulas of importance sampling (a weight, a weighted mean, the exact variance
  of that mean), written out because they are short and they are the lesson.

Examples
--------
>>> sample = reservoir_sample(range(1_000_000), 5, seed=0)
>>> len(sample), all(0 <= x < 1_000_000 for x in sample)
(5, True)
>>> sample_indices(10, 3, "convenience")
array([7, 8, 9])
"""

from __future__ import annotations

import math
import numbers
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal, TypeVar

import numpy as np

__all__ = [
    "METHODS",
    "EmptyStreamError",
    "ImportanceEstimate",
    "importance_estimate",
    "importance_variance",
    "importance_weights",
    "probabilities",
    "reservoir_sample",
    "reservoir_sample_per_item",
    "sample_indices",
]

T = TypeVar("T")
Method = Literal["convenience", "simple_random", "stratified", "weighted", "reservoir"]
#: The sampling methods :func:`sample_indices` knows, in the order the book presents them.
METHODS: tuple[str, ...] = ("convenience", "simple_random", "stratified", "weighted", "reservoir")
_END = object()  # sentinel: the stream ended


class EmptyStreamError(ValueError):
    """The stream given to a reservoir sampler yielded no item at all."""


# ----------------------------------------------------------------------------------------------
# Reservoir sampling
# ----------------------------------------------------------------------------------------------


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k (the sample size) must be an integer ≥ 1; got {k!r}")
    if k <= 0:
        raise ValueError(f"k (the sample size) must be ≥ 1; got {k}")
    return int(k)


def _python_rng(seed: int | np.random.Generator | None) -> random.Random:
    if isinstance(seed, np.random.Generator):
        return random.Random(int(seed.integers(2**63)))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an int, a numpy Generator or None; got {seed!r}")
    return random.Random(seed)


def _start(stream: Iterable[T], k: int) -> tuple[Any, list[T]]:
    try:
        iterator = iter(stream)
    except TypeError:
        raise TypeError(
            f"stream must be an iterable (a list, a generator, a file...); "
            f"got {type(stream).__name__}"
        ) from None
    reservoir = list(islice(iterator, k))
    if not reservoir:
        raise EmptyStreamError(
            "the stream is empty: there is nothing to sample. (An iterator that was already "
            "consumed, e.g. passed twice, or a filter that dropped every item?)"
        )
    return iterator, reservoir


def reservoir_sample(
    stream: Iterable[T], k: int, *, seed: int | np.random.Generator | None = None
) -> list[T]:
    """Draw ``k`` items uniformly at random from a stream of unknown length, in one pass.

    Every item of a stream of ``n`` items ends up in the sample with probability ``k / n``,
    although ``n`` is known only when the stream ends, and the memory used is that of ``k``
    items. Skip-based (Li's Algorithm L): Python code runs for about ``k * (1 + ln(n / k))``
    items; the others are skipped by :func:`itertools.islice` in C.

    Parameters
    ----------
    stream : iterable
        Any iterable: a list, a generator, a file's lines. It is consumed once.
    k : int
        The sample size, ``k ≥ 1``.
    seed : int, numpy Generator or None, default None
        Seed of the sampler's random numbers (a Generator is used to draw a seed).

    Returns
    -------
    list
        ``k`` items, or all the stream's items (in stream order) when it has fewer than ``k``.
        The order of a full sample is not meaningful.

    Raises
    ------
    TypeError
        When ``k`` is not an integer or ``stream`` is not iterable.
    ValueError
        When ``k ≤ 0``.
    EmptyStreamError
        When the stream yields nothing (a ``ValueError``). A stream shorter than ``k`` is fine,
        but an empty one is almost always a bug upstream (an iterator consumed twice, a filter
        that dropped everything), so it fails loudly rather than returning ``[]``.

    Examples
    --------
    >>> squares = (x * x for x in range(10**6))  # a generator: its length is unknown
    >>> sorted(reservoir_sample(squares, 3, seed=1))
    [172089736569, 483425402944, 965176564356]
    >>> reservoir_sample("abc", 5)  # shorter than k: everything
    ['a', 'b', 'c']
    """
    k = _check_k(k)
    rng = _python_rng(seed)
    iterator, reservoir = _start(stream, k)
    if len(reservoir) < k:
        return reservoir
    random_, log, floor, expm1 = rng.random, math.log, math.floor, math.expm1
    log_w = 0.0  # log of W, the largest of k uniform keys of the items in the reservoir
    while True:
        log_w += log(1.0 - random_()) / k  # 1 - U lies in (0, 1]: never log(0)
        log_1_minus_w = log(-expm1(log_w)) if log_w < 0 else -math.inf
        # Items until the next one whose key beats W: geometric with success probability 1 - W.
        skip = floor(log(1.0 - random_()) / log_1_minus_w) if log_1_minus_w < 0 else 0
        skip = min(skip, sys.maxsize - 1)
        item = next(islice(iterator, skip, None), _END)  # skips `skip` items in C
        if item is _END:
            return reservoir
        reservoir[int(random_() * k)] = item


def reservoir_sample_per_item(
    stream: Iterable[T], k: int, *, seed: int | np.random.Generator | None = None
) -> list[T]:
    """Reservoir sampling with one random number per item (Vitter's Algorithm R).

    The textbook algorithm, as the book describes it: the ``i``-th item (counting from 1)
    replaces a random reservoir slot with probability ``k / i``. Correct, but Python code runs
    for every item, which makes it several times slower than :func:`reservoir_sample`; kept as
    the baseline for comparisons. Same parameters, result distribution and errors.

    Examples
    --------
    >>> sorted(reservoir_sample_per_item(range(100), 3, seed=0))
    [6, 28, 43]
    """
    k = _check_k(k)
    rng = _python_rng(seed)
    iterator, reservoir = _start(stream, k)
    random_ = rng.random
    for i, item in enumerate(iterator, start=k + 1):  # i: this item's position, from 1
        slot = int(random_() * i)
        if slot < k:
            reservoir[slot] = item
    return reservoir


# ----------------------------------------------------------------------------------------------
# Drawing one sample of a table's rows
# ----------------------------------------------------------------------------------------------


def probabilities(weights: Any, *, name: str = "weights") -> np.ndarray:
    """Turn non-negative weights into probabilities that sum to 1.

    Parameters
    ----------
    weights : array-like of float
        One weight per item: finite, ``≥ 0``, with a positive sum.
    name : str, default "weights"
        What to call them in an error message.

    Returns
    -------
    numpy.ndarray
        ``weights / weights.sum()`` as float64.

    Raises
    ------
    ValueError
        When the weights are empty, not one-dimensional, not finite, negative somewhere, or do
        not sum to something positive.

    Examples
    --------
    >>> probabilities([1, 3])
    array([0.25, 0.75])
    >>> probabilities([0, 0])
    Traceback (most recent call last):
    ...
    ValueError: weights must sum to something positive; they sum to 0.0 (2 weights, all zero)
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} must be finite numbers; {int((~np.isfinite(w)).sum())} are not")
    if (w < 0).any():
        raise ValueError(f"{name} must be ≥ 0; {int((w < 0).sum())} are negative (min {w.min()})")
    total = float(w.sum())
    if not total > 0:
        raise ValueError(
            f"{name} must sum to something positive; they sum to {total} "
            f"({w.size} weights, all zero)"
        )
    return w / total


def sample_indices(
    n_population: int,
    size: int,
    method: Method,
    *,
    seed: int | np.random.Generator | None = None,
    strata: Any = None,
    weights: Any = None,
    at_hand: int | None = None,
) -> np.ndarray:
    """Positions (0 … ``n_population - 1``) of the rows of one sample drawn by ``method``.

    The population's rows are assumed to be in time order, as a log is.

    Parameters
    ----------
    n_population : int
        Number of rows to sample from (``≥ 1``).
    size : int
        Sample size, ``1 ≤ size ≤ n_population`` (any ``size ≥ 1`` for "weighted", which draws
        with replacement).
    method : {"convenience", "simple_random", "stratified", "weighted", "reservoir"}
        - ``"convenience"`` (nonprobability): only the rows at hand, the ``at_hand`` most recent
          ones (a log that keeps the last week, say), sampled uniformly; by default exactly the
          ``size`` most recent rows, the same every time.
        - ``"simple_random"``: every subset of ``size`` rows equally likely (numpy, without
          replacement).
        - ``"stratified"``: the same share of every stratum (proportional allocation, remainders
          to the largest fractions so the size is exact), so a rare stratum gets its share
          exactly rather than on average. Needs ``strata``.
        - ``"weighted"``: ``size`` independent draws, with replacement, row ``i`` with probability
          proportional to ``weights[i]`` (numpy). Needs ``weights``. Estimates from it are biased
          unless reweighted: see :func:`importance_weights`.
        - ``"reservoir"``: :func:`reservoir_sample` over the rows as a stream; the same
          distribution as simple random sampling, in one pass and ``O(size)`` memory.
    seed : int, numpy Generator or None
        Seed of the random draws.
    strata : array-like, optional
        One stratum label per row (for "stratified").
    weights : array-like of float, optional
        One non-negative weight per row with a positive sum (for "weighted").
    at_hand : int, optional
        For "convenience": how many of the most recent rows are at hand,
        ``size ≤ at_hand ≤ n_population``; default ``size``.

    Returns
    -------
    numpy.ndarray of int64
        Row positions, sorted (with repeats for "weighted").

    Raises
    ------
    ValueError
        Unknown ``method``, a size or ``at_hand`` out of range, or missing or mis-sized
        ``strata``/``weights``.

    Examples
    --------
    >>> sample_indices(1_000, 5, "simple_random", seed=0)
    array([269, 307, 510, 635, 847])
    >>> labels = [1] * 100 + [0] * 900
    >>> rows = sample_indices(1_000, 50, "stratified", strata=labels, seed=0)
    >>> len(rows), int((rows < 100).sum())  # exactly 10% from the rare stratum
    (50, 5)
    """
    if method not in METHODS:
        allowed = ", ".join(map(repr, METHODS))
        raise ValueError(f"method={method!r} is not known: choose one of {allowed}")
    for name, value in (("n_population", n_population), ("size", size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1; got {value!r}")
    if size > n_population and method != "weighted":
        raise ValueError(f"size={size} is larger than the population ({n_population} rows)")
    rng = np.random.default_rng(seed)
    if method == "convenience":
        at_hand = size if at_hand is None else at_hand
        if isinstance(at_hand, bool) or not isinstance(at_hand, numbers.Integral):
            raise ValueError(f"at_hand must be an integer; got {at_hand!r}")
        if not size <= at_hand <= n_population:
            raise ValueError(
                f"at_hand={at_hand} is out of range: allowed size ≤ at_hand ≤ n_population "
                f"({size} ≤ at_hand ≤ {n_population})"
            )
        start = n_population - at_hand
        rows = start + rng.choice(at_hand, size=size, replace=False)
    elif method == "simple_random":
        rows = rng.choice(n_population, size=size, replace=False)
    elif method == "reservoir":
        rows = np.array(reservoir_sample(range(n_population), size, seed=rng))
    elif method == "stratified":
        labels = _per_row(strata, "strata", "stratified", n_population)
        rows = _stratified(labels, size, rng)
    else:  # weighted
        p = probabilities(_per_row(weights, "weights", "weighted", n_population))
        rows = rng.choice(n_population, size=size, replace=True, p=p)
    return np.sort(rows).astype(np.int64)


def _stratified(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Proportional allocation: stratum h gets size * N_h / N rows, rounded so they sum to size."""
    order = np.argsort(labels, kind="stable")  # row positions grouped by stratum
    grouped = labels[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    counts = np.diff(np.r_[starts, labels.size])
    exact = counts * size / labels.size
    quota = np.floor(exact).astype(np.int64)
    # Largest remainders first; ties broken by stratum order, so the allocation is deterministic.
    short = size - int(quota.sum())
    quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    picks = [
        order[start + rng.choice(count, size=q, replace=False)]
        for start, count, q in zip(starts, counts, quota, strict=True)
    ]
    return np.concatenate(picks)


def _per_row(values: Any, name: str, method: str, n: int) -> np.ndarray:
    if values is None:
        raise ValueError(f"method={method!r} needs {name}: one value per row")
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{name} must have one value per row ({n}); got shape {array.shape}")
    return array


# ----------------------------------------------------------------------------------------------
# Importance sampling
# ----------------------------------------------------------------------------------------------


def importance_weights(target: Any, proposal: Any) -> np.ndarray:
    """Importance weights ``p(x) / q(x)``: how much a draw from ``q`` counts towards ``p``.

    A quantity's mean under a *target* distribution ``p`` can be estimated from draws made
    under another, the *proposal* ``q`` (where sampling was possible or cheaper), by weighting
    each draw ``x`` by ``p(x) / q(x)``. Both are given over the same items, as probabilities
    or any non-negative weights (they are normalised here).

    Parameters
    ----------
    target, proposal : array-like of float
        One non-negative weight per item, each with a positive sum. The proposal must be
        positive wherever the target is (else those items can never be drawn).

    Returns
    -------
    numpy.ndarray
        ``p / q`` per item (0 where both are 0).

    Raises
    ------
    ValueError
        Bad weights (see :func:`probabilities`), different lengths, or a proposal that is zero
        where the target is not.

    Examples
    --------
    >>> importance_weights([1, 1, 1, 1], [1, 1, 1, 5])  # uniform target, item 3 drawn 5x as often
    array([2. , 2. , 2. , 0.4])
    """
    p = probabilities(target, name="target")
    q = probabilities(proposal, name="proposal")
    if p.shape != q.shape:
        raise ValueError(f"target and proposal differ in length: {p.size} and {q.size}")
    uncovered = (q == 0) & (p > 0)
    if uncovered.any():
        raise ValueError(
            f"the proposal is 0 on {int(uncovered.sum())} items where the target is not: "
            "they can never be drawn, so no weighting can estimate the target's mean"
        )
    return np.divide(p, q, out=np.zeros_like(p), where=q > 0)


@dataclass(frozen=True)
class ImportanceEstimate:
    """An importance-sampling estimate of a mean, with its uncertainty.

    Attributes
    ----------
    mean : float
        The estimate of the mean under the target.
    standard_error : float
        Its estimated standard error, from the sample.
    effective_sample_size : float
        ``(Σw)² / Σw²``: how many draws from the target the weighted sample is worth for an
        average; far below the sample size when a few draws carry huge weights.
    """

    mean: float
    standard_error: float
    effective_sample_size: float


def importance_estimate(values: Any, weights: Any) -> ImportanceEstimate:
    """Estimate a mean under the target from draws under the proposal: ``mean(w · f)``.

    Parameters
    ----------
    values : array-like of float
        ``f(x)`` for each draw (e.g. 1 for fraud, 0 otherwise: the mean is then a rate).
    weights : array-like of float
        The importance weight ``p(x) / q(x)`` of each draw (see :func:`importance_weights`).

    Returns
    -------
    ImportanceEstimate
        The unbiased estimate ``mean(w · f)``, its standard error ``std(w · f) / sqrt(n)``
        and the effective sample size.

    Raises
    ------
    ValueError
        Empty input, different lengths, non-finite values, or negative weights.

    Examples
    --------
    >>> est = importance_estimate([1, 0, 0, 1], [0.5, 2.0, 2.0, 0.5])
    >>> est.mean, round(est.effective_sample_size, 2)
    (0.25, 2.94)
    """
    f = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if f.ndim != 1 or f.size == 0 or f.shape != w.shape:
        raise ValueError(
            f"values and weights must be non-empty 1-D arrays of one length; "
            f"got shapes {f.shape} and {w.shape}"
        )
    if not (np.isfinite(f).all() and np.isfinite(w).all()):
        raise ValueError("values and weights must be finite numbers")
    if (w < 0).any():
        raise ValueError(f"weights must be ≥ 0; {int((w < 0).sum())} are negative")
    terms = w * f
    se = float(terms.std(ddof=1) / math.sqrt(f.size)) if f.size > 1 else math.nan
    ess = float(w.sum() ** 2 / (w**2).sum()) if w.any() else 0.0
    return ImportanceEstimate(float(terms.mean()), se, ess)


def importance_variance(values: Any, proposal: Any, *, target: Any = None, size: int = 1) -> float:
    """Exact variance of the importance-sampling estimate of a mean over a finite population.

    For ``size`` independent draws from the proposal ``q`` over the items, and the estimate
    ``mean(w · f)`` with ``w = p / q``, the variance is
    ``(Σ p² f² / q − μ²) / size`` where ``μ = Σ p f`` is the target mean. With ``q = p`` it is
    the ordinary ``Var_p(f) / size`` of simple random sampling (with replacement).

    Parameters
    ----------
    values : array-like of float
        ``f`` for every item of the population.
    proposal : array-like of float
        The proposal's weights over the items (normalised here).
    target : array-like of float, optional
        The target's weights; default uniform over the items (the population itself).
    size : int, default 1
        Number of draws.

    Returns
    -------
    float

    Examples
    --------
    >>> f = [1, 0, 0, 0]
    >>> importance_variance(f, [1, 1, 1, 1])  # simple random: 0.25 * 0.75
    0.1875
    >>> round(importance_variance(f, [1, 0.1, 0.1, 0.1]), 4)  # favours the item that counts
    0.0187
    """
    f = np.asarray(values, dtype=np.float64)
    q = probabilities(proposal, name="proposal")
    p = probabilities(np.ones_like(q) if target is None else target, name="target")
    if not (f.shape == q.shape == p.shape):
        raise ValueError(
            f"values, proposal and target must have one length; got {f.size}, {q.size}, {p.size}"
        )
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be an integer ≥ 1; got {size!r}")
    w = importance_weights(p, q)
    mu = float((p * f).sum())
    second = float((q * (w * f) ** 2).sum())
    return max(second - mu * mu, 0.0) / size
