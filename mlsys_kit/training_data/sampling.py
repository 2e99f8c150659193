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
  about ``k * (1 + ln(n / k))`` items are touched by Python code. Libraries ruled out: the
  standard library's ``random.sample`` and numpy's ``Generator.choice`` need the population's
  length (a sequence, not an iterator); pandas' ``DataFrame.sample`` needs the whole table in
  memory; the few PyPI packages named for reservoir sampling (``streamsampler``,
  ``weightreservoir``, ``reservoir-sampling-cli``) are small one-offs last released in
  2013–2016, not a dependency worth taking for twenty lines that are the lesson.
  The samplers draw from Python's :class:`random.Random` (one draw from a numpy Generator
  costs about ten times as much as one from ``random.Random``, and they draw one number at a
  time): an integer ``seed`` seeds it directly, a numpy Generator gives it a seed.
- :func:`importance_weights`, :func:`importance_estimate` and :func:`importance_variance`
  are the three formulas of importance sampling (a weight, a weighted mean, the exact variance
  of that mean), written out because they are short and they are the lesson. The effective
  sample size of an estimate is Kish's, from :func:`mlsys_kit.stats.effective_sample_size`.

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
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal, TypeVar

import numpy as np

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_choice,
    check_int,
    make_rng,
)
from mlsys_kit.stats import effective_sample_size

__all__ = [
    "ALLOCATIONS",
    "SAMPLING_METHODS",
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
#: Allocations of a stratified sample among strata (see :func:`sample_indices`).
ALLOCATIONS: tuple[str, ...] = ("proportional", "equal")

Method = Literal["convenience", "simple_random", "stratified", "weighted", "reservoir"]
#: The sampling methods :func:`sample_indices` knows, in the order the book presents them.
SAMPLING_METHODS: tuple[str, ...] = (
    "convenience",
    "simple_random",
    "stratified",
    "weighted",
    "reservoir",
)
_END = object()  # sentinel: the stream ended


class EmptyStreamError(ParameterError):
    """The stream given to a reservoir sampler yielded no item at all (a ``ParameterError``)."""


# ----------------------------------------------------------------------------------------------
# Reservoir sampling
# ----------------------------------------------------------------------------------------------


def _python_random(seed: Seed, owner: str) -> random.Random:
    """Python's generator for the per-item loops: seeded by ``seed`` (an int) or from it."""
    if isinstance(seed, np.random.Generator):
        return random.Random(int(seed.integers(2**63)))
    return random.Random(check_int("seed", seed, min=0, owner=owner))


def _start(stream: Iterable[T], k: int, owner: str) -> tuple[Any, list[T]]:
    try:
        iterator = iter(stream)
    except TypeError:
        raise ParameterError(
            f"{owner}: stream must be an iterable (a list, a generator, a file...); "
            f"got {type(stream).__name__}"
        ) from None
    reservoir = list(islice(iterator, k))
    if not reservoir:
        raise EmptyStreamError(
            f"{owner}: the stream is empty: there is nothing to sample. (An iterator that was "
            "already consumed, e.g. passed twice, or a filter that dropped every item?)"
        )
    return iterator, reservoir


def reservoir_sample(stream: Iterable[T], k: int, *, seed: Seed = 0) -> list[T]:
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
    seed : int or numpy.random.Generator, default 0
        Seed of the sampler's random numbers: an integer seeds Python's
        :class:`random.Random`; a Generator is used to draw its seed.

    Returns
    -------
    list
        ``k`` items, or all the stream's items (in stream order) when it has fewer than ``k``.
        The order of a full sample is not meaningful.

    Raises
    ------
    ParameterError
        When ``k`` is not an integer ``≥ 1``, ``stream`` is not iterable or ``seed`` is
        neither a non-negative integer nor a Generator.
    EmptyStreamError
        When the stream yields nothing (a ``ParameterError``, hence a ``ValueError``). A
        stream shorter than ``k`` is fine, but an empty one is almost always a bug upstream
        (an iterator consumed twice, a filter that dropped everything), so it fails loudly
        rather than returning ``[]``.

    Examples
    --------
    >>> squares = (x * x for x in range(10**6))  # a generator: its length is unknown
    >>> sorted(reservoir_sample(squares, 3, seed=1))
    [172089736569, 483425402944, 965176564356]
    >>> reservoir_sample("abc", 5)  # shorter than k: everything
    ['a', 'b', 'c']
    """
    k = check_int("k", k, min=1, owner="reservoir_sample")
    rng = _python_random(seed, "reservoir_sample")
    iterator, reservoir = _start(stream, k, "reservoir_sample")
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


def reservoir_sample_per_item(stream: Iterable[T], k: int, *, seed: Seed = 0) -> list[T]:
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
    k = check_int("k", k, min=1, owner="reservoir_sample_per_item")
    rng = _python_random(seed, "reservoir_sample_per_item")
    iterator, reservoir = _start(stream, k, "reservoir_sample_per_item")
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
    ParameterError
        When the weights are empty, not one-dimensional, not finite, negative somewhere, or do
        not sum to something positive.

    Examples
    --------
    >>> probabilities([1, 3])
    array([0.25, 0.75])
    >>> probabilities([0, 0])
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: probabilities: weights must sum to something positive; ...
    """
    return _normalised(weights, name, "probabilities")


def _normalised(weights: Any, name: str, owner: str) -> np.ndarray:
    w = check_array(name, weights, ndim=1, min_length=1, dtype=np.float64, owner=owner)
    if not np.isfinite(w).all():
        count = int((~np.isfinite(w)).sum())
        raise ParameterError(f"{owner}: {name} must be finite numbers; {count} are not")
    if (w < 0).any():
        count = int((w < 0).sum())
        raise ParameterError(f"{owner}: {name} must be ≥ 0; {count} are negative (min {w.min()})")
    total = float(w.sum())
    if not total > 0:
        raise ParameterError(
            f"{owner}: {name} must sum to something positive; they sum to {total} "
            f"({w.size} weights, all zero)"
        )
    return w / total


def sample_indices(
    n_population: int,
    size: int,
    method: Method,
    *,
    seed: Seed = 0,
    strata: Any = None,
    weights: Any = None,
    at_hand: int | None = None,
    allocation: str = "proportional",
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
        - ``"stratified"``: rows drawn from every stratum separately, as many as ``allocation``
          says, so a rare stratum gets its quota exactly rather than on average. Needs
          ``strata``.
        - ``"weighted"``: ``size`` independent draws, with replacement, row ``i`` with probability
          proportional to ``weights[i]`` (numpy). Needs ``weights``. Estimates from it are biased
          unless reweighted: see :func:`importance_weights`.
        - ``"reservoir"``: :func:`reservoir_sample` over the rows as a stream; the same
          distribution as simple random sampling, in one pass and ``O(size)`` memory.
    seed : int or numpy.random.Generator, default 0
        Seed of the random draws (resolved by :func:`mlsys_kit.params.make_rng`).
    strata : array-like, optional
        One stratum label per row (for "stratified").
    weights : array-like of float, optional
        One non-negative weight per row with a positive sum (for "weighted").
    at_hand : int, optional
        For "convenience": how many of the most recent rows are at hand,
        ``size ≤ at_hand ≤ n_population``; default ``size``.
    allocation : {"proportional", "equal"}, default "proportional"
        For "stratified": ``"proportional"`` gives every stratum its share of the population
        (remainders to the largest fractions, so the size is exact); ``"equal"`` gives every
        stratum the same number of rows (a stratum smaller than that gives all its rows, and
        the rest goes to the others), so a rare stratum is measured as precisely as a common
        one. Estimates of the whole population from an equal allocation must weight each row
        by its stratum's ``N_h / n_h``: :func:`importance_weights` with the proposal ``n_h /
        N_h`` (each row's chance of being drawn) gives those weights.

    Returns
    -------
    numpy.ndarray of int64
        Row positions, sorted (with repeats for "weighted").

    Raises
    ------
    ParameterError
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
    >>> rows = sample_indices(1_000, 50, "stratified", strata=labels, allocation="equal")
    >>> int((rows < 100).sum())  # half of the sample from the rare stratum
    25
    """
    owner = "sample_indices"
    check_choice("method", method, SAMPLING_METHODS, owner=owner)
    check_choice("allocation", allocation, ALLOCATIONS, owner=owner)
    n_population = check_int("n_population", n_population, min=1, owner=owner)
    size = check_int("size", size, min=1, owner=owner)
    if size > n_population and method != "weighted":
        raise ParameterError(
            f"{owner}: size={size} is larger than the population ({n_population} rows)"
        )
    rng = make_rng(seed, owner=owner)
    if method == "convenience":
        at_hand = size if at_hand is None else at_hand
        at_hand = check_int("at_hand", at_hand, min=size, max=n_population, owner=owner)
        start = n_population - at_hand
        rows = start + rng.choice(at_hand, size=size, replace=False)
    elif method == "simple_random":
        rows = rng.choice(n_population, size=size, replace=False)
    elif method == "reservoir":
        rows = np.array(reservoir_sample(range(n_population), size, seed=rng))
    elif method == "stratified":
        labels = _per_row(strata, "strata", "stratified", n_population)
        rows = _stratified(labels, size, rng, allocation)
    else:  # weighted
        p = _normalised(_per_row(weights, "weights", "weighted", n_population), "weights", owner)
        rows = rng.choice(n_population, size=size, replace=True, p=p)
    return np.sort(rows).astype(np.int64)


def _stratified(
    labels: np.ndarray, size: int, rng: np.random.Generator, allocation: str = "proportional"
) -> np.ndarray:
    """Rows per stratum by ``allocation`` (see :func:`sample_indices`), drawn without replacement.

    Proportional: stratum h gets size * N_h / N rows, rounded so they sum to size. Equal: each
    stratum gets size / H rows, capped by its size, the rest shared among the others.
    """
    import pandas as pd

    # Integer codes in the sorted order of the labels (a hash table, not a sort of the labels:
    # strings sort slowly), then the row positions grouped by stratum.
    codes = pd.factorize(labels, sort=True, use_na_sentinel=False)[0]
    counts = np.bincount(codes)
    if counts.size <= 2**16:  # numpy sorts 16-bit integers by radix sort, in linear time
        codes = codes.astype(np.uint16)
    order = np.argsort(codes, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    if allocation == "equal":
        quota = np.zeros(len(counts), dtype=np.int64)
        while quota.sum() < size:  # hand out rows in rounds to strata with rows left
            open_ = np.flatnonzero(quota < counts)
            share, extra = divmod(size - int(quota.sum()), len(open_))
            give = np.full(len(open_), share) + (np.arange(len(open_)) < extra)
            quota[open_] = np.minimum(quota[open_] + give, counts[open_])
    else:
        exact = counts * size / labels.size
        quota = np.floor(exact).astype(np.int64)
        # Largest remainders first; ties broken by stratum order, so the allocation is
        # deterministic.
        short = size - int(quota.sum())
        quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    picks = [
        order[start + rng.choice(count, size=q, replace=False)]
        for start, count, q in zip(starts, counts, quota, strict=True)
    ]
    return np.concatenate(picks)


def _per_row(values: Any, name: str, method: str, n: int) -> np.ndarray:
    if values is None:
        raise ParameterError(f"sample_indices: method={method!r} needs {name}: one value per row")
    array = np.asarray(values)
    if array.shape != (n,):
        raise ParameterError(
            f"sample_indices: {name} must have one value per row ({n}); got shape {array.shape}"
        )
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
    ParameterError
        Bad weights (see :func:`probabilities`), different lengths, or a proposal that is zero
        where the target is not.

    Examples
    --------
    >>> importance_weights([1, 1, 1, 1], [1, 1, 1, 5])  # uniform target, item 3 drawn 5x as often
    array([2. , 2. , 2. , 0.4])
    """
    owner = "importance_weights"
    p = _normalised(target, "target", owner)
    q = _normalised(proposal, "proposal", owner)
    if p.shape != q.shape:
        raise ParameterError(
            f"{owner}: target and proposal differ in length: {p.size} and {q.size}"
        )
    uncovered = (q == 0) & (p > 0)
    if uncovered.any():
        raise ParameterError(
            f"{owner}: the proposal is 0 on {int(uncovered.sum())} items where the target is "
            "not: they can never be drawn, so no weighting can estimate the target's mean"
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
        Kish's ``(Σw)² / Σw²`` (:func:`mlsys_kit.stats.effective_sample_size`): how many
        draws from the target the weighted sample is worth for an average; far below the
        sample size when a few draws carry huge weights. 0 when every weight is 0.
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
    ParameterError
        Empty input, different lengths, non-finite values, or negative weights.

    Examples
    --------
    >>> est = importance_estimate([1, 0, 0, 1], [0.5, 2.0, 2.0, 0.5])
    >>> est.mean, round(est.effective_sample_size, 2)
    (0.25, 2.94)
    """
    owner = "importance_estimate"
    f = check_array("values", values, ndim=1, min_length=1, dtype=np.float64, owner=owner)
    w = check_array("weights", weights, ndim=1, min_length=1, dtype=np.float64, owner=owner)
    if f.shape != w.shape:
        raise ParameterError(
            f"{owner}: values and weights must be non-empty 1-D arrays of one length; "
            f"got shapes {f.shape} and {w.shape}"
        )
    if not (np.isfinite(f).all() and np.isfinite(w).all()):
        raise ParameterError(f"{owner}: values and weights must be finite numbers")
    if (w < 0).any():
        raise ParameterError(f"{owner}: weights must be ≥ 0; {int((w < 0).sum())} are negative")
    terms = w * f
    se = float(terms.std(ddof=1) / math.sqrt(f.size)) if f.size > 1 else math.nan
    ess = effective_sample_size(w) if w.any() else 0.0
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

    Raises
    ------
    ParameterError
        Bad weights (see :func:`probabilities`), arrays of different lengths, or ``size < 1``.

    Examples
    --------
    >>> f = [1, 0, 0, 0]
    >>> importance_variance(f, [1, 1, 1, 1])  # simple random: 0.25 * 0.75
    0.1875
    >>> round(importance_variance(f, [1, 0.1, 0.1, 0.1]), 4)  # favours the item that counts
    0.0187
    """
    owner = "importance_variance"
    f = check_array("values", values, ndim=1, dtype=np.float64, finite=True, owner=owner)
    q = _normalised(proposal, "proposal", owner)
    p = _normalised(np.ones_like(q) if target is None else target, "target", owner)
    if not (f.shape == q.shape == p.shape):
        raise ParameterError(
            f"{owner}: values, proposal and target must have one length; "
            f"got {f.size}, {q.size}, {p.size}"
        )
    size = check_int("size", size, min=1, owner=owner)
    w = importance_weights(p, q)
    mu = float((p * f).sum())
    second = float((q * (w * f) ** 2).sum())
    return max(second - mu * mu, 0.0) / size
