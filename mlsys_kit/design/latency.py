"""Measure a model the way a prediction service sees it: latency per request, rows per second.

Serves two parts of the book:

* Chapter 1, "Machine Learning in Research Versus in Production", section "Computational
  priorities": research optimises fast training and high throughput, production needs fast
  inference and low latency, and latency is a *distribution* — report percentiles (p50, p90,
  p99), not the mean, because the slowest requests are the ones users remember.
* Chapter 7, "Batch Prediction Versus Online Prediction": answering one request at a time keeps
  latency low; grouping rows into batches raises throughput at the cost of every row waiting
  for its whole batch.

Two functions do the measuring, and one adds the load a service sees:

* :func:`measure_latency` calls ``predict`` on one row at a time, as an online service receives
  requests, and returns every request's wall time as :class:`LatencyStats`;
* :func:`measure_throughput` calls ``predict`` on batches of growing size and returns rows per
  second for each batch size (the best of a few repeats, the measurement least disturbed by other
  processes);
* :func:`simulate_queue` replays measured service times through one serving worker that receives
  requests at random (Poisson) arrival times: a request that arrives while the worker is busy waits.
  Even a model whose every call takes the same time then has a long latency tail, and the mean
  hides it. It is a few lines of Lindley's recursion for a single FIFO queue, written out because
  the recursion *is* the lesson (a discrete-event library such as SimPy would hide it).

Both limit the BLAS and OpenMP thread pools to one thread by default (``threads=1``): a serving
worker usually answers one request per core, and on a shared machine multi-threaded inference
of a single row mostly measures thread contention. Timings are wall times; print them through
:func:`mlsys_kit.timing.format_measured` so that stored notebook outputs stay stable.

Examples
--------
>>> import numpy as np
>>> X = np.arange(20.0).reshape(10, 2)
>>> stats = measure_latency(lambda rows: rows.sum(axis=1), X, n_requests=50, seed=0)
>>> len(stats), stats.p50 <= stats.p99
(50, True)
>>> table = measure_throughput(lambda rows: rows.sum(axis=1), X, batch_sizes=[1, 8])
>>> table["batch_size"].tolist()
[1, 8]
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_type,
    make_rng,
)

__all__ = ["LatencyStats", "measure_latency", "measure_throughput", "simulate_queue"]

#: Percentiles reported by :meth:`LatencyStats.to_series`, as (label, percentile in [0, 100]).
PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))

_UNIT_SCALE = {"s": 1.0, "ms": 1e3, "µs": 1e6, "us": 1e6}


@dataclass(frozen=True, eq=False)
class LatencyStats:
    """Wall times of single requests, in seconds, in the order they were sent.

    Attributes
    ----------
    seconds : numpy.ndarray
        One wall time per request (1-D, float, all ``>= 0``).

    Examples
    --------
    >>> stats = LatencyStats(np.array([0.001, 0.002, 0.003, 0.010]))
    >>> round(stats.p50 * 1e3, 2), round(stats.mean * 1e3, 2)
    (2.5, 4.0)
    >>> stats.to_series("ms").round(2).to_dict()
    {'p50': 2.5, 'p90': 7.9, 'p99': 9.79, 'mean': 4.0, 'max': 10.0}
    >>> stats.share_within(0.005)
    0.75
    """

    seconds: np.ndarray

    def __post_init__(self) -> None:
        values = check_array(
            "seconds",
            self.seconds,
            ndim=1,
            min_length=1,
            dtype=float,
            finite=True,
            owner="LatencyStats",
        ).copy()
        if np.any(values < 0):
            raise ParameterError("LatencyStats: seconds must hold wall times >= 0")
        values.setflags(write=False)
        object.__setattr__(self, "seconds", values)

    def __len__(self) -> int:
        return int(self.seconds.size)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile of the wall times, in seconds (``0 <= q <= 100``).

        Uses :func:`numpy.percentile` with linear interpolation. p99 means: 99% of requests
        were answered at least this fast, 1% were slower.
        """
        q = check_float("q", q, min=0, max=100, owner="percentile")
        return float(np.percentile(self.seconds, q))

    @property
    def p50(self) -> float:
        """Median latency in seconds: the typical request."""
        return self.percentile(50)

    @property
    def p90(self) -> float:
        """90th-percentile latency in seconds."""
        return self.percentile(90)

    @property
    def p99(self) -> float:
        """99th-percentile latency in seconds: the tail that one request in a hundred hits."""
        return self.percentile(99)

    @property
    def mean(self) -> float:
        """Mean latency in seconds (pulled up by the tail; prefer the percentiles)."""
        return float(self.seconds.mean())

    @property
    def max(self) -> float:
        """Slowest request in seconds."""
        return float(self.seconds.max())

    def share_within(self, budget_seconds: float) -> float:
        """Share of requests answered within ``budget_seconds`` (a number in [0, 1])."""
        budget_seconds = check_float("budget_seconds", budget_seconds, min=0, owner="share_within")
        return float(np.mean(self.seconds <= budget_seconds))

    def to_series(self, unit: str = "ms") -> pd.Series:
        """The summary as a Series: p50, p90, p99, mean and max, in ``unit``.

        Parameters
        ----------
        unit : {"ms", "s", "µs"}, default "ms"
            Unit of the returned numbers (``"us"`` is accepted for ``"µs"``).

        Returns
        -------
        pandas.Series
            Indexed by ``"p50", "p90", "p99", "mean", "max"``, named ``"latency (<unit>)"``.
        """
        check_choice("unit", unit, _UNIT_SCALE, owner="to_series")
        scale = _UNIT_SCALE[unit]
        values = {label: self.percentile(q) * scale for label, q in PERCENTILES}
        values["mean"] = self.mean * scale
        values["max"] = self.max * scale
        return pd.Series(values, name=f"latency ({unit})")


def measure_latency(
    predict: Callable[[Any], Any],
    X: Any,
    *,
    n_requests: int,
    seed: Seed = 0,
    sample: bool = True,
    pause: float = 2e-4,
    warmup: int = 5,
    threads: int | None = 1,
) -> LatencyStats:
    """Time ``predict`` on single rows, one request after another, as an online service would.

    The rows are drawn at random from ``X`` (with replacement) and sliced *before* timing, so
    each measured wall time is the call ``predict(one_row)`` alone: the model's share of a
    request's latency.

    Parameters
    ----------
    predict : callable
        Called with a single-row slice of ``X`` (a 1-row DataFrame, or a 2-D array of shape
        ``(1, n_features)``), e.g. ``model.predict_proba``.
    X : pandas.DataFrame or array-like
        Rows to draw the requests from (2-D; at least one row).
    n_requests : int
        Number of requests to time (``>= 1``). p99 needs a few hundred to be meaningful.
    seed : int or numpy.random.Generator, default 0
        Seed for the random choice of rows.
    sample : bool, default True
        Draw the rows at random; ``False`` sends the first ``n_requests`` rows in order
        (cycling through ``X`` if needed) and ignores ``seed``.
    pause : float, default 0.0002
        Seconds of idle time before each request (``>= 0``): an online service's requests
        arrive spread out, not back to back. The pause also makes the tail percentiles much
        less sensitive to other processes on a busy machine: a process that was sleeping is
        scheduled promptly when it wakes, whereas one that computes without pause gets
        preempted in the middle of some of its calls. ``0`` sends requests back to back.
    warmup : int, default 5
        Untimed calls before measuring (first calls pay for lazy initialisation).
    threads : int or None, default 1
        Limit BLAS/OpenMP thread pools to this many threads while measuring (a serving worker
        answers one request per core). ``None`` leaves the libraries' defaults.

    Returns
    -------
    LatencyStats
        The wall time of every request, in seconds.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``X`` is empty or not 2-D, ``n_requests < 1``, ``pause < 0``, ``warmup < 0``
        or ``threads < 1``.

    Examples
    --------
    >>> X = pd.DataFrame({"a": range(100), "b": range(100)})
    >>> stats = measure_latency(lambda row: row["a"] * 2, X, n_requests=200, seed=1)
    >>> len(stats)
    200
    >>> measure_latency(len, X, n_requests=0)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: measure_latency: n_requests=0 is out of range: allowed \
n_requests ≥ 1
    """
    owner = "measure_latency"
    n_rows = _n_rows(X, owner)
    n_requests = check_int("n_requests", n_requests, min=1, owner=owner)
    pause = check_float("pause", pause, min=0, owner=owner)
    warmup = check_int("warmup", warmup, min=0, owner=owner)
    if threads is not None:
        check_int("threads", threads, min=1, owner=owner)
    if check_bool("sample", sample, owner=owner):
        order = make_rng(seed, owner=owner).integers(0, n_rows, size=n_requests)
    else:
        order = np.arange(n_requests) % n_rows
    requests = [_take(X, slice(i, i + 1)) for i in order]
    seconds = np.empty(n_requests)
    with _thread_limit(threads):
        for i in range(min(warmup, n_requests)):
            predict(requests[i])
        clock, sleep = time.perf_counter, time.sleep
        for i, row in enumerate(requests):
            if pause:
                sleep(pause)
            start = clock()
            predict(row)
            seconds[i] = clock() - start
    return LatencyStats(seconds)


def measure_throughput(
    predict: Callable[[Any], Any],
    X: Any,
    *,
    batch_sizes: Iterable[int],
    repeat: int = 3,
    min_seconds: float = 0.02,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Rows per second of ``predict`` for each batch size: the best of ``repeat`` rounds.

    For each batch size ``b``, the first ``b`` rows of ``X`` (cycled if ``X`` is shorter) are
    predicted in one call. A round calls ``predict`` enough times to last at least
    ``min_seconds`` (so tiny batches are not timed by a single noisy call); the fastest of
    ``repeat`` rounds is kept, as :func:`mlsys_kit.timing.best_of` does.

    Parameters
    ----------
    predict : callable
        Called with a batch: a slice of ``X`` with ``b`` rows.
    X : pandas.DataFrame or array-like
        Rows to predict (2-D; at least one row).
    batch_sizes : iterable of int
        Batch sizes to measure, each ``>= 1`` (e.g. ``[1, 4, 16, 64, 256, 1024]``).
    repeat : int, default 3
        Rounds per batch size; the fastest is kept.
    min_seconds : float, default 0.02
        Minimum duration of a round, in seconds (``> 0``).
    threads : int or None, default 1
        Limit BLAS/OpenMP thread pools to this many threads while measuring. ``None`` leaves
        the libraries' defaults.

    Returns
    -------
    pandas.DataFrame
        One row per batch size, in the order given, with columns ``batch_size``,
        ``seconds_per_batch`` (the time every row of the batch waits for its answer) and
        ``rows_per_second``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``X`` is empty or not 2-D, ``batch_sizes`` is empty or holds a value ``< 1``,
        ``repeat < 1``, ``min_seconds <= 0`` or ``threads < 1``.

    Examples
    --------
    >>> X = np.ones((64, 3))
    >>> table = measure_throughput(lambda b: b @ np.ones(3), X, batch_sizes=[1, 64], repeat=2)
    >>> list(table.columns)
    ['batch_size', 'seconds_per_batch', 'rows_per_second']
    >>> measure_throughput(len, X, batch_sizes=[0, 8])
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: measure_throughput: batch_sizes[0]=0 is out of range: \
allowed batch_sizes[0] ≥ 1
    """
    owner = "measure_throughput"
    n_rows = _n_rows(X, owner)
    check_type("batch_sizes", batch_sizes, (list, tuple, range, np.ndarray), owner=owner)
    sizes = [
        check_int(f"batch_sizes[{i}]", size, min=1, owner=owner)
        for i, size in enumerate(batch_sizes)
    ]
    if not sizes:
        raise ParameterError(f"{owner}: batch_sizes must hold at least one batch size")
    repeat = check_int("repeat", repeat, min=1, owner=owner)
    min_seconds = check_float("min_seconds", min_seconds, min=0, open_min=True, owner=owner)
    if threads is not None:
        check_int("threads", threads, min=1, owner=owner)
    records = []
    clock = time.perf_counter
    with _thread_limit(threads):
        for size in sizes:
            batch = (
                _take(X, slice(0, size)) if size <= n_rows else _take(X, np.arange(size) % n_rows)
            )
            start = clock()
            predict(batch)  # warm-up call, also sizes the rounds
            first = clock() - start
            number = max(1, math.ceil(min_seconds / max(first, 1e-9)))
            best = math.inf
            for _ in range(repeat):
                start = clock()
                for _ in range(number):
                    predict(batch)
                best = min(best, (clock() - start) / number)
            records.append(
                {"batch_size": size, "seconds_per_batch": best, "rows_per_second": size / best}
            )
    return pd.DataFrame.from_records(
        records, columns=["batch_size", "seconds_per_batch", "rows_per_second"]
    )


def simulate_queue(
    service_seconds: Any,
    *,
    utilisation: float,
    n_requests: int = 20_000,
    seed: Seed = 0,
) -> LatencyStats:
    """Latency of requests that queue for one serving worker under a given load.

    Requests arrive at random (a Poisson process) at a rate that keeps the worker busy a share
    ``utilisation`` of the time; each needs a service time drawn at random from
    ``service_seconds`` (e.g. the wall times measured by :func:`measure_latency`); the worker
    answers them one at a time, first come first served. A request's latency is its wait in the
    queue plus its own service time. The waits follow Lindley's recursion::

        wait[i + 1] = max(0, wait[i] + service[i] - gap[i + 1])

    where ``gap`` is the time between two arrivals. Queueing theory (the Pollaczek–Khinchine
    formula) gives the mean wait ``utilisation / (1 - utilisation) * E[S²] / (2 E[S])``: it grows
    without bound as the load approaches the worker's capacity, and its spread grows with it.

    Parameters
    ----------
    service_seconds : array-like of float
        Service times in seconds to draw from (1-D, non-empty, finite, ``>= 0``, not all zero).
    utilisation : float
        Arrival rate times mean service time, strictly between 0 and 1 (at 1 or above the queue
        grows forever).
    n_requests : int, default 20000
        Number of simulated requests (``>= 1``).
    seed : int or numpy.random.Generator, default 0
        Seed for the arrivals and the draws of service times.

    Returns
    -------
    LatencyStats
        Latency (wait plus service) of every request, in arrival order, in seconds.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``service_seconds`` is empty, negative, not finite or all zero, ``utilisation`` is
        not in (0, 1), or ``n_requests < 1``.

    Examples
    --------
    A worker whose every call takes exactly 1 ms, at 70% load: the median request still waits,
    and the slowest one in a hundred takes several times the mean.

    >>> stats = simulate_queue([0.001], utilisation=0.7, seed=0)
    >>> stats.p50 > 0.001, stats.p99 > 3 * stats.mean
    (True, True)
    >>> simulate_queue([0.001], utilisation=1.0)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: simulate_queue: utilisation=1.0 is out of range: allowed \
0 < utilisation < 1
    """
    owner = "simulate_queue"
    service = check_array(
        "service_seconds", service_seconds, dtype=float, finite=True, owner=owner
    ).ravel()
    if service.size == 0 or np.any(service < 0) or not service.any():
        raise ParameterError(
            f"{owner}: service_seconds must be a non-empty array of times >= 0, not all zero"
        )
    utilisation = check_float(
        "utilisation", utilisation, min=0, max=1, open_min=True, open_max=True, owner=owner
    )
    n_requests = check_int("n_requests", n_requests, min=1, owner=owner)
    rng = make_rng(seed, owner=owner)
    drawn = rng.choice(service, size=n_requests)
    gaps = rng.exponential(service.mean() / utilisation, size=n_requests)
    waits = np.empty(n_requests)
    wait = 0.0
    for i in range(n_requests):
        waits[i] = wait
        wait = max(0.0, wait + drawn[i] - gaps[i])
    return LatencyStats(waits + drawn)


def _n_rows(X: Any, owner: str) -> int:
    """Number of rows of a 2-D table ``X``; ParameterError naming ``X`` if empty or not 2-D."""
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.shape(X)
    if len(shape) != 2:
        raise ParameterError(f"{owner}: X must be 2-D (rows × features); got shape {tuple(shape)}")
    if shape[0] == 0:
        raise ParameterError(f"{owner}: X must have at least one row; got 0 rows")
    if shape[1] == 0:
        raise ParameterError(f"{owner}: X must have at least one column (feature); got 0 columns")
    return int(shape[0])


def _take(X: Any, rows: slice | np.ndarray) -> Any:
    """Rows of ``X`` by position, keeping its type (DataFrame stays a DataFrame)."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    if hasattr(X, "shape") and hasattr(X, "__getitem__"):
        return X[rows]  # numpy arrays and scipy sparse matrices
    return np.asarray(X)[rows]


@contextlib.contextmanager
def _thread_limit(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield
