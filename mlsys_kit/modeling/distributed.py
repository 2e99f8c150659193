"""Distributed training: data parallelism on real processes, stale gradients, pipeline bubbles.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 6, "Model
Development and Training": "Distributed Training" (data parallelism, synchronous and
asynchronous SGD, stale gradients, batch size and learning rate, model parallelism and
pipeline parallelism).

Four pieces, one per part of the section:

* :class:`GradientWorkers` keeps ``n_workers`` real worker processes alive, each holding the
  training rows; one synchronous data-parallel step sends the parameters to ``k`` of them,
  each computes the gradient of a small MLP (:func:`mlp_gradient`) on its block of the
  global batch, and the driver sums them. :func:`time_data_parallel` times such steps
  against the number of workers and the batch size, and splits each step into the slowest
  worker's compute and the rest (communication and coordination): a
  :class:`DataParallelTiming` report.
* :func:`delayed_sgd` runs mini-batch SGD of a logistic regression where the gradient applied
  at step ``t`` was computed at the parameters of step ``t - delay``: asynchronous SGD with
  ``delay + 1`` workers, simulated deterministically (real asynchronous workers would make
  the delay, and so the lesson, depend on the operating system's scheduling). Many runs at
  once, as arrays. The same function with ``delay=0`` is synchronous SGD, used for large
  batches with and without learning-rate scaling.
* :func:`gpipe_schedule` simulates the GPipe schedule of ``n_stages`` pipeline stages and
  ``n_microbatches`` micro-batches under a stated cost model (every stage takes the same time
  per micro-batch, forward then backward, no communication cost), and
  :func:`gpipe_bubble_fraction` is the closed form ``(p - 1) / (m + p - 1)`` it should match.

What is hand-written is the lesson itself: the split of a step into compute and
communication, the delay of a gradient, the schedule of a pipeline. There is no maintained
library that exposes them (PyTorch's ``DistributedDataParallel`` and Dask hide exactly these
mechanics, and would cost seconds to start); the processes are the standard library's
:mod:`multiprocessing` (forked on Linux with Python 3.11, else started from a fork server),
the per-worker BLAS threads are limited to one with :mod:`threadpoolctl`, and the reference
optimum of the logistic loss is scikit-learn's.

Examples
--------
>>> gpipe_schedule(4, 8).bubble_fraction == gpipe_bubble_fraction(4, 8)
True
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_float,
    check_int,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = [
    "DataParallelTiming",
    "DelayedSGDRuns",
    "WorkerStep",
    "GradientWorkers",
    "PipelineSchedule",
    "delayed_sgd",
    "gpipe_bubble_fraction",
    "gpipe_schedule",
    "init_mlp",
    "logistic_loss",
    "mlp_gradient",
    "time_data_parallel",
]

#: How worker processes start: a fork costs milliseconds and is safe here (the workers only run
#: NumPy on their shard); where Python warns against forking a threaded process (3.12+, e.g. a
#: Jupyter kernel) or cannot fork, a fork server, started once per process (about a second).
_START_METHOD = (
    "fork" if sys.platform.startswith("linux") and sys.version_info < (3, 12) else "forkserver"
)

#: Rows per chunk inside a worker: the working set stays in cache whatever the shard's size,
#: so that a smaller shard is not faster per row (no super-linear speed-up from caches).
_CHUNK_ROWS = 512


# --------------------------------------------------------------------------------------------
# A small MLP: the model whose gradient the workers compute
# --------------------------------------------------------------------------------------------


def _mlp_shapes(n_features: int, hidden_units: int) -> tuple[int, int, int, int]:
    w1 = n_features * hidden_units
    return w1, w1 + hidden_units, w1 + 2 * hidden_units, w1 + 2 * hidden_units + 1


def init_mlp(n_features: int, hidden_units: int, *, seed: Seed = 0) -> np.ndarray:
    """Initial parameters of a one-hidden-layer MLP (tanh units, one logit), as a flat vector.

    Parameters
    ----------
    n_features : int
        Inputs per row (≥ 1).
    hidden_units : int
        Units of the hidden layer (≥ 1).
    seed : int or numpy.random.Generator, default 0
        Draws the weights (scaled by ``1 / sqrt`` of their layer's inputs); biases are zero.

    Returns
    -------
    numpy.ndarray
        ``n_features * hidden_units + 2 * hidden_units + 1`` parameters.

    Raises
    ------
    ParameterError
        A size below one.

    Examples
    --------
    >>> init_mlp(3, 4).shape
    (21,)
    """
    owner = "init_mlp"
    n_features = check_int("n_features", n_features, min=1, owner=owner)
    hidden_units = check_int("hidden_units", hidden_units, min=1, owner=owner)
    rng = make_rng(seed, owner=owner)
    params = np.zeros(_mlp_shapes(n_features, hidden_units)[3])
    w1 = n_features * hidden_units
    params[:w1] = rng.normal(0, 1 / np.sqrt(n_features), w1)
    params[w1 + hidden_units : w1 + 2 * hidden_units] = rng.normal(
        0, 1 / np.sqrt(hidden_units), hidden_units
    )
    return params


def _mlp_chunk(params: np.ndarray, X: np.ndarray, y: np.ndarray, h: int):
    d = X.shape[1]
    a, b, c, _ = _mlp_shapes(d, h)
    W1, b1, w2, b2 = params[:a].reshape(d, h), params[a:b], params[b:c], params[c]
    hidden = np.tanh(X @ W1 + b1)
    z = hidden @ w2 + b2
    loss = float(np.sum(np.logaddexp(0.0, z) - y * z))
    r = 0.5 * (1.0 + np.tanh(0.5 * z)) - y  # sigmoid(z) - y, without overflow
    dh = np.outer(r, w2) * (1.0 - hidden * hidden)
    grad = np.empty_like(params)
    grad[:a] = (X.T @ dh).ravel()
    grad[a:b] = dh.sum(axis=0)
    grad[b:c] = hidden.T @ r
    grad[c] = r.sum()
    return loss, grad


def mlp_gradient(params: Any, X: Any, y: Any, *, hidden_units: int) -> tuple[float, np.ndarray]:
    """Summed logistic loss of a one-hidden-layer MLP on rows, and its gradient (summed).

    Sums, not means, so that the gradients of several shards add up to the gradient of
    their union, whatever their sizes: data parallelism's all-reduce is a sum.

    Parameters
    ----------
    params : array-like of float
        Flat parameters, as :func:`init_mlp` returns them.
    X : array-like of float, shape (n_rows, n_features)
        Inputs.
    y : array-like of float, shape (n_rows,)
        Labels in ``{0, 1}``.
    hidden_units : int
        Units of the hidden layer (must match ``params``).

    Returns
    -------
    tuple of (float, numpy.ndarray)
        The summed loss and the summed gradient (same shape as ``params``).

    Raises
    ------
    ParameterError
        Shapes that do not match each other or ``hidden_units``.

    Examples
    --------
    >>> X, y = np.ones((4, 2)), np.array([0.0, 1.0, 1.0, 0.0])
    >>> loss, grad = mlp_gradient(np.zeros(13), X, y, hidden_units=3)
    >>> round(loss, 4), grad.shape  # all-zero parameters: log(2) per row
    (2.7726, (13,))
    """
    owner = "mlp_gradient"
    hidden_units = check_int("hidden_units", hidden_units, min=1, owner=owner)
    X = check_array("X", X, ndim=2, dtype=float, owner=owner)
    y = check_array("y", y, ndim=1, dtype=float, owner=owner)
    params = check_array("params", params, ndim=1, dtype=float, owner=owner)
    if len(y) != len(X):
        raise ParameterError(f"{owner}: X has {len(X)} rows but y has {len(y)}; give one per row")
    expected = _mlp_shapes(X.shape[1], hidden_units)[3]
    if params.size != expected:
        raise ParameterError(
            f"{owner}: params has {params.size} values; {X.shape[1]} features and"
            f" {hidden_units} hidden units need {expected}"
        )
    return _chunked_gradient(params, X, y, hidden_units)


def _chunked_gradient(params, X, y, h):
    loss, grad = 0.0, np.zeros_like(params)
    for start in range(0, len(X), _CHUNK_ROWS):
        part_loss, part_grad = _mlp_chunk(
            params, X[start : start + _CHUNK_ROWS], y[start : start + _CHUNK_ROWS], h
        )
        loss += part_loss
        grad += part_grad
    return loss, grad


# --------------------------------------------------------------------------------------------
# Real worker processes
# --------------------------------------------------------------------------------------------


def _worker_main(conn: Any, X: np.ndarray, y: np.ndarray, hidden_units: int) -> None:
    """One worker: holds the rows, answers (params, start, stop) with its block's gradient."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        conn.send("ready")
        while True:
            message = conn.recv()
            if message is None:
                break
            params, first, stop = message
            start = time.thread_time()  # CPU time: a worker waiting for a core is not computing
            loss, grad = _chunked_gradient(params, X[first:stop], y[first:stop], hidden_units)
            conn.send((loss, grad, time.thread_time() - start))
    conn.close()


@dataclass(frozen=True)
class WorkerStep:
    """One synchronous data-parallel step, as the driver saw it.

    Attributes
    ----------
    loss : float
        Summed loss over the global batch.
    gradient : numpy.ndarray
        Summed gradient over the global batch (the all-reduce of the workers' gradients).
    compute_seconds : float
        The slowest worker's compute time (its CPU time, so time spent waiting for a core is
        not counted): the step cannot end before it.
    cpu_seconds : float
        The CPU time all the workers spent computing, summed: divided by the step's wall time,
        the number of cores the step kept busy on average.
    """

    loss: float
    gradient: np.ndarray
    compute_seconds: float
    cpu_seconds: float = 0.0


class GradientWorkers:
    """A persistent pool of worker processes for synchronous data-parallel gradients.

    Every worker gets the rows once, when the pool starts (as data-parallel workers read the
    data from shared storage): afterwards only parameters and gradients travel. A step with a
    global batch of ``b`` rows on ``k`` workers gives each of the first ``k`` workers a
    contiguous block of about ``b / k`` of the rows ``0 .. b-1``; the others sleep, so one pool
    serves every number of workers up to its size. Use it as a context manager, or call
    :meth:`close`.

    Parameters
    ----------
    X : array-like of float, shape (n_rows, n_features)
        Training inputs (the largest global batch).
    y : array-like of float, shape (n_rows,)
        Labels in ``{0, 1}``.
    n_workers : int
        Worker processes to start (≥ 1, at most ``n_rows``).
    hidden_units : int, default 64
        Hidden units of the MLP whose gradients the workers compute.

    Raises
    ------
    ParameterError
        A bad size, or ``X`` and ``y`` of different lengths.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(40, 3)); y = (X[:, 0] > 0).astype(float)
    >>> params = init_mlp(3, 4)
    >>> with GradientWorkers(X, y, n_workers=2, hidden_units=4) as workers:
    ...     step = workers.step(params, 40)
    >>> bool(np.allclose(step.gradient, mlp_gradient(params, X, y, hidden_units=4)[1]))
    True
    """

    def __init__(self, X: Any, y: Any, *, n_workers: int, hidden_units: int = 64) -> None:
        owner = "GradientWorkers"
        X = check_array("X", X, ndim=2, min_length=1, dtype=float, finite=True, owner=owner)
        y = check_array("y", y, ndim=1, dtype=float, finite=True, owner=owner)
        if len(y) != len(X):
            raise ParameterError(
                f"{owner}: X has {len(X)} rows but y has {len(y)}; give one label per row"
            )
        self.n_workers = check_int("n_workers", n_workers, min=1, max=len(X), owner=owner)
        self.hidden_units = check_int("hidden_units", hidden_units, min=1, owner=owner)
        self.n_rows = len(X)
        context = multiprocessing.get_context(_START_METHOD)
        if _START_METHOD == "forkserver":
            context.set_forkserver_preload([__name__])
        self._connections = []
        self._processes = []
        try:
            for _ in range(self.n_workers):
                here, there = context.Pipe()
                process = context.Process(
                    target=_worker_main,
                    args=(there, X, y, hidden_units),
                    daemon=True,
                )
                process.start()
                there.close()
                self._connections.append(here)
                self._processes.append(process)
            for connection in self._connections:
                connection.recv()
        except BaseException:
            self.close()
            raise

    def step(self, params: Any, batch_rows: int, *, n_workers: int | None = None) -> WorkerStep:
        """Compute the summed gradient of rows ``0 .. batch_rows-1`` on ``n_workers`` workers.

        Parameters
        ----------
        params : array-like of float
            Flat MLP parameters (:func:`init_mlp`).
        batch_rows : int
            The global batch, ``n_workers ≤ batch_rows ≤ n_rows``.
        n_workers : int, optional
            Workers sharing the batch, from 1 to the pool's size (the default: all).

        Returns
        -------
        WorkerStep
            The summed loss and gradient, the slowest worker's compute time and the
            workers' summed CPU time.

        Raises
        ------
        ParameterError
            A batch out of range.
        """
        owner = "GradientWorkers.step"
        k = self.n_workers if n_workers is None else n_workers
        k = check_int("n_workers", k, min=1, max=self.n_workers, owner=owner)
        batch_rows = check_int("batch_rows", batch_rows, min=k, max=self.n_rows, owner=owner)
        params = np.asarray(params, dtype=float)
        bounds = np.linspace(0, batch_rows, k + 1).round().astype(int)
        active = self._connections[:k]
        for connection, first, stop in zip(active, bounds[:-1], bounds[1:], strict=True):
            connection.send((params, int(first), int(stop)))
        loss, grad, compute, cpu = 0.0, np.zeros_like(params), 0.0, 0.0
        for connection in active:
            part_loss, part_grad, seconds = connection.recv()
            loss += part_loss
            grad += part_grad
            compute = max(compute, seconds)
            cpu += seconds
        return WorkerStep(loss, grad, compute, cpu)

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        for connection in self._connections:
            with contextlib.suppress(BrokenPipeError, OSError):
                connection.send(None)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        for connection in self._connections:
            connection.close()
        self._connections, self._processes = [], []

    def __enter__(self) -> GradientWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class DataParallelTiming(Report):
    """Time per synchronous data-parallel step, by global batch and number of workers.

    Attributes
    ----------
    batch_sizes, worker_counts : tuple of int
        The grid, rows then columns of the arrays.
    step_seconds : numpy.ndarray
        Shape ``(len(batch_sizes), len(worker_counts))``: the fastest step.
    compute_seconds : numpy.ndarray
        The slowest worker's compute (CPU) time in that same fastest step.
    cpu_seconds : numpy.ndarray
        The workers' summed CPU time in that same fastest step.
    """

    batch_sizes: tuple[int, ...]
    worker_counts: tuple[int, ...]
    step_seconds: np.ndarray
    compute_seconds: np.ndarray
    cpu_seconds: np.ndarray

    @property
    def speedup(self) -> np.ndarray:
        """Step time with the first worker count over step time with each (per batch)."""
        return self.step_seconds[:, :1] / self.step_seconds

    @property
    def communication_seconds(self) -> np.ndarray:
        """Step time not spent computing: sending, receiving, waking up, waiting for a core,
        summing (≥ 0)."""
        return np.maximum(self.step_seconds - self.compute_seconds, 1e-9)

    @property
    def compute_ratio(self) -> np.ndarray:
        """Compute over communication per step: above 1, the workers mostly compute."""
        return self.compute_seconds / self.communication_seconds

    @property
    def cores_busy(self) -> np.ndarray:
        """The workers' summed CPU time over the step's wall time: cores kept busy on average.

        ``k`` workers side by side on ``k`` free cores would give almost ``k``; workers that
        waited for each other's core give about 1, whatever ``k``.
        """
        return self.cpu_seconds / self.step_seconds

    def to_frame(self) -> pd.DataFrame:
        """One row per (batch, workers): step, compute and communication time, speed-up."""
        index = pd.MultiIndex.from_product(
            [self.batch_sizes, self.worker_counts], names=["batch", "workers"]
        )
        return pd.DataFrame(
            {
                "step s": self.step_seconds.ravel(),
                "compute s": self.compute_seconds.ravel(),
                "communication s": self.communication_seconds.ravel(),
                "compute / communication": self.compute_ratio.ravel(),
                "cores busy": self.cores_busy.ravel(),
                "speed-up": self.speedup.ravel(),
            },
            index=index,
        )


def time_data_parallel(
    X: Any,
    y: Any,
    *,
    worker_counts: Sequence[int],
    batch_sizes: Sequence[int],
    hidden_units: int = 64,
    repeat: int = 5,
    steps: int = 3,
    seed: Seed = 0,
) -> DataParallelTiming:
    """Time synchronous data-parallel gradient steps on real worker processes.

    One persistent :class:`GradientWorkers` pool of ``max(worker_counts)`` processes, whose
    first ``k`` workers serve a ``k``-worker step; the repeats go round the whole grid in turn
    (so that a burst of load on a shared machine hits every configuration alike), each timing
    ``steps`` single steps, and each configuration keeps its fastest step
    (:func:`mlsys_kit.best_of`'s rule: the least disturbed measurement; on a loaded machine a
    step also waits for the operating system to wake the processes up and give them a core),
    with that same step's compute and CPU time, so that step = compute + communication is
    one draw. Pool start-up is not timed.

    Parameters
    ----------
    X, y : array-like
        Training rows and labels; ``len(X) ≥ max(batch_sizes)``.
    worker_counts : sequence of int
        Numbers of workers, each ≥ 1; the first is the speed-up's reference (usually 1).
    batch_sizes : sequence of int
        Global batches (rows per step), each ≥ ``max(worker_counts)``.
    hidden_units : int, default 64
        Hidden units of the MLP.
    repeat : int, default 5
        Rounds over the grid (≥ 1).
    steps : int, default 3
        Steps timed per configuration and round (≥ 1).
    seed : int or numpy.random.Generator, default 0
        Draws the MLP's initial parameters.

    Returns
    -------
    DataParallelTiming

    Raises
    ------
    ParameterError
        Empty grids, sizes out of range.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 3)); y = (X[:, 0] > 0).astype(float)
    >>> timing = time_data_parallel(X, y, worker_counts=[1, 2], batch_sizes=[8, 64],
    ...                             hidden_units=4, repeat=1, steps=1)
    >>> timing.step_seconds.shape
    (2, 2)
    """
    owner = "time_data_parallel"
    X = check_array("X", X, ndim=2, min_length=1, dtype=float, finite=True, owner=owner)
    counts = check_array("worker_counts", worker_counts, ndim=1, min_length=1, owner=owner)
    batches = check_array("batch_sizes", batch_sizes, ndim=1, min_length=1, owner=owner)
    counts = tuple(check_int("worker_counts", int(k), min=1, owner=owner) for k in counts)
    batches = tuple(
        check_int("batch_sizes", int(b), min=max(counts), max=len(X), owner=owner) for b in batches
    )
    repeat = check_int("repeat", repeat, min=1, owner=owner)
    steps = check_int("steps", steps, min=1, owner=owner)
    params = init_mlp(X.shape[1], hidden_units, seed=seed)
    X, y = X[: max(batches)], np.asarray(y, dtype=float)[: max(batches)]
    best_step = np.full((len(batches), len(counts)), np.inf)
    best_compute = np.zeros((len(batches), len(counts)))
    best_cpu = np.zeros((len(batches), len(counts)))
    with GradientWorkers(X, y, n_workers=max(counts), hidden_units=hidden_units) as pool:
        pool.step(params, min(batches))  # warm up: first messages, first allocations
        for _ in range(repeat):
            for i, batch in enumerate(batches):
                for j, k in enumerate(counts):
                    for _ in range(steps):
                        start = time.perf_counter()
                        step = pool.step(params, batch, n_workers=k)
                        elapsed = time.perf_counter() - start
                        if elapsed < best_step[i, j]:
                            best_step[i, j] = elapsed
                            best_compute[i, j] = min(step.compute_seconds, elapsed)
                            best_cpu[i, j] = step.cpu_seconds
    return DataParallelTiming(batches, counts, best_step, best_compute, best_cpu)


# --------------------------------------------------------------------------------------------
# Synchronous and asynchronous (stale) SGD of a logistic regression, simulated
# --------------------------------------------------------------------------------------------


def logistic_loss(X: Any, y: Any, weights: Any) -> np.ndarray:
    """Mean logistic loss of one or several weight vectors (the last weight is the intercept).

    Parameters
    ----------
    X : array-like of float, shape (n_rows, n_features)
        Inputs, without an intercept column.
    y : array-like of float, shape (n_rows,)
        Labels in ``{0, 1}``.
    weights : array-like of float, shape (n_features + 1,) or (n_runs, n_features + 1)
        Coefficients then intercept.

    Returns
    -------
    numpy.ndarray
        One loss per weight vector (a 0-d array for one vector).

    Raises
    ------
    ParameterError
        Shapes that do not match.

    Examples
    --------
    >>> float(logistic_loss(np.zeros((3, 2)), np.array([0.0, 1.0, 1.0]), np.zeros(3)))
    0.6931471805599453
    """
    owner = "logistic_loss"
    X = check_array("X", X, ndim=2, dtype=float, owner=owner)
    y = check_array("y", y, ndim=1, dtype=float, owner=owner)
    W = np.asarray(weights, dtype=float)
    if W.shape[-1] != X.shape[1] + 1 or W.ndim not in (1, 2) or len(y) != len(X):
        raise ParameterError(
            f"{owner}: X {X.shape}, y {y.shape} and weights {W.shape} do not match; weights need"
            f" {X.shape[1] + 1} values (coefficients then intercept) per vector, y one per row"
        )
    z = X @ W[..., :-1].T + W[..., -1]
    y_col = y if W.ndim == 1 else y[:, None]
    return np.mean(np.logaddexp(0.0, z) - y_col * z, axis=0)


@dataclass(frozen=True)
class DelayedSGDRuns:
    """Runs of mini-batch SGD with delayed gradients, and where they ended.

    Attributes
    ----------
    weights : numpy.ndarray
        Shape ``(n_runs, n_features + 1)``: the final coefficients then intercept of each run.
    loss : numpy.ndarray
        Final mean logistic loss of each run on all the rows.
    learning_rate : float
    delay : int
    batch_size : int
    n_steps : int
    """

    weights: np.ndarray
    loss: np.ndarray
    learning_rate: float
    delay: int
    batch_size: int
    n_steps: int

    @property
    def gradient_evaluations(self) -> int:
        """Rows whose gradient each run computed: ``batch_size * n_steps``."""
        return self.batch_size * self.n_steps


def delayed_sgd(
    X: Any,
    y: Any,
    *,
    learning_rate: float,
    batch_size: int,
    n_steps: int,
    delay: int = 0,
    n_runs: int = 20,
    seed: Seed = 0,
) -> DelayedSGDRuns:
    """Mini-batch SGD of a logistic regression whose gradients arrive ``delay`` steps late.

    Step ``t`` draws a mini-batch (rows with replacement) and applies
    ``w[t+1] = w[t] - learning_rate * g(w[t - delay])``: the gradient was computed at the
    parameters of ``delay`` steps earlier, as in asynchronous SGD where ``delay`` other workers
    update the shared parameters while one computes (the first ``delay`` steps use the
    starting point, zero). ``delay=0`` is synchronous SGD. The ``n_runs`` runs (different
    mini-batches) go at once, as arrays.

    Parameters
    ----------
    X : array-like of float, shape (n_rows, n_features)
        Inputs (standardize them first), without an intercept column.
    y : array-like of float, shape (n_rows,)
        Labels in ``{0, 1}``.
    learning_rate : float
        Step size (> 0).
    batch_size : int
        Rows per gradient (≥ 1).
    n_steps : int
        Updates (≥ 1).
    delay : int, default 0
        Staleness of every gradient, in steps (≥ 0).
    n_runs : int, default 20
        Independent runs (≥ 1).
    seed : int or numpy.random.Generator, default 0
        Draws the mini-batches.

    Returns
    -------
    DelayedSGDRuns

    Raises
    ------
    ParameterError
        A value out of range, or ``X`` and ``y`` of different lengths.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); y = (X[:, 0] + rng.normal(size=500) > 0).astype(float)
    >>> fresh = delayed_sgd(X, y, learning_rate=0.5, batch_size=16, n_steps=200, seed=1)
    >>> bool(fresh.loss.mean() < np.log(2))
    True
    """
    owner = "delayed_sgd"
    X = check_array("X", X, ndim=2, min_length=1, dtype=float, finite=True, owner=owner)
    y = check_array("y", y, ndim=1, dtype=float, finite=True, owner=owner)
    if len(y) != len(X):
        raise ParameterError(f"{owner}: X has {len(X)} rows but y has {len(y)}; give one per row")
    learning_rate = check_float("learning_rate", learning_rate, min=0, open_min=True, owner=owner)
    batch_size = check_int("batch_size", batch_size, min=1, owner=owner)
    n_steps = check_int("n_steps", n_steps, min=1, owner=owner)
    delay = check_int("delay", delay, min=0, owner=owner)
    n_runs = check_int("n_runs", n_runs, min=1, owner=owner)
    rng = make_rng(seed, owner=owner)
    X1 = np.hstack([X, np.ones((len(X), 1))])
    W = np.zeros((n_runs, X1.shape[1]))
    history = [W] * (delay + 1)  # history[0] is the parameters of `delay` steps ago
    for t in range(n_steps):
        rows = rng.integers(0, len(X1), size=(n_runs, batch_size))
        Xb = X1[rows]
        z = np.einsum("rbd,rd->rb", Xb, history[t % (delay + 1)])
        residual = 0.5 * (1.0 + np.tanh(0.5 * z)) - y[rows]
        W = W - learning_rate * np.einsum("rbd,rb->rd", Xb, residual) / batch_size
        history[t % (delay + 1)] = W
    loss = logistic_loss(X, y, W)
    return DelayedSGDRuns(W, np.atleast_1d(loss), learning_rate, delay, batch_size, n_steps)


# --------------------------------------------------------------------------------------------
# Pipeline parallelism: the GPipe schedule, simulated
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineSchedule(Report):
    """A simulated GPipe schedule: when each stage runs each micro-batch's forward and backward.

    Attributes
    ----------
    n_stages, n_microbatches : int
    stage, microbatch : numpy.ndarray
        One entry per task (a stage running one micro-batch's forward or backward pass).
    phase : numpy.ndarray
        ``"forward"`` or ``"backward"``.
    start, end : numpy.ndarray
        Times, in the cost model's units.
    """

    n_stages: int
    n_microbatches: int
    stage: np.ndarray
    microbatch: np.ndarray
    phase: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @property
    def makespan(self) -> float:
        """Time from the first forward to the last backward."""
        return float(self.end.max() - self.start.min())

    @property
    def bubble_fraction(self) -> float:
        """Share of stage-time idle: ``1 - busy / (n_stages * makespan)``."""
        busy = float(np.sum(self.end - self.start))
        return 1.0 - busy / (self.n_stages * self.makespan)

    def to_frame(self) -> pd.DataFrame:
        """One row per task: stage, micro-batch, phase, start, end."""
        return pd.DataFrame(
            {
                "stage": self.stage,
                "micro-batch": self.microbatch,
                "phase": self.phase,
                "start": self.start,
                "end": self.end,
            }
        )


def gpipe_schedule(
    n_stages: int,
    n_microbatches: int,
    *,
    forward_time: float = 1.0,
    backward_time: float = 2.0,
) -> PipelineSchedule:
    """Simulate GPipe: all micro-batches forward through the stages, then all backward.

    Cost model (a simulation, not a measurement): the model is cut into ``n_stages`` stages
    of equal cost, one per device; a stage takes ``forward_time / n_microbatches`` per
    micro-batch forward and ``backward_time / n_microbatches`` backward (the batch's work is
    fixed, micro-batches split it); sending activations between stages is free. A stage
    starts a micro-batch's forward once it has finished the previous micro-batch and the
    previous stage has finished this one; backward passes run in the reverse order of
    stages, after the last forward (a synchronous flush, as in GPipe). With ``n_stages=p``
    and ``n_microbatches=m`` the idle share is ``(p - 1) / (m + p - 1)``
    (:func:`gpipe_bubble_fraction`); ``m = 1`` is naive model parallelism.

    Parameters
    ----------
    n_stages : int
        Pipeline stages (devices), ≥ 1.
    n_microbatches : int
        Micro-batches per batch, ≥ 1.
    forward_time, backward_time : float
        Time of one stage's forward, backward pass over the whole batch (> 0).

    Returns
    -------
    PipelineSchedule

    Raises
    ------
    ParameterError
        A value out of range.

    Examples
    --------
    >>> schedule = gpipe_schedule(2, 2, forward_time=2.0, backward_time=2.0)
    >>> schedule.makespan, round(schedule.bubble_fraction, 4)
    (6.0, 0.3333)
    """
    owner = "gpipe_schedule"
    p = check_int("n_stages", n_stages, min=1, owner=owner)
    m = check_int("n_microbatches", n_microbatches, min=1, owner=owner)
    tf = check_float("forward_time", forward_time, min=0, open_min=True, owner=owner) / m
    tb = check_float("backward_time", backward_time, min=0, open_min=True, owner=owner) / m
    f_end = np.zeros((p, m))
    for s in range(p):
        for i in range(m):
            ready = max(f_end[s, i - 1] if i else 0.0, f_end[s - 1, i] if s else 0.0)
            f_end[s, i] = ready + tf
    flush = f_end[p - 1, m - 1]
    b_end = np.zeros((p, m))
    for s in reversed(range(p)):
        for i in range(m):
            ready = max(
                b_end[s, i - 1] if i else flush if s == p - 1 else 0.0,
                b_end[s + 1, i] if s < p - 1 else flush,
            )
            b_end[s, i] = ready + tb
    stage = np.concatenate([np.repeat(np.arange(p), m)] * 2)
    micro = np.concatenate([np.tile(np.arange(m), p)] * 2)
    phase = np.array(["forward"] * (p * m) + ["backward"] * (p * m))
    end = np.concatenate([f_end.ravel(), b_end.ravel()])
    start = end - np.where(phase == "forward", tf, tb)
    return PipelineSchedule(p, m, stage, micro, phase, start, end)


def gpipe_bubble_fraction(n_stages: Any, n_microbatches: Any) -> Any:
    """The GPipe bubble, the idle share ``(p - 1) / (m + p - 1)`` of ``p`` stages.

    Parameters
    ----------
    n_stages, n_microbatches : int or array-like of int
        Each ≥ 1 (broadcast together).

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ParameterError
        A value below one.

    Examples
    --------
    >>> gpipe_bubble_fraction(4, 1), gpipe_bubble_fraction(4, 29)
    (0.75, 0.09375)
    """
    p = np.asarray(n_stages, dtype=float)
    m = np.asarray(n_microbatches, dtype=float)
    if (p < 1).any() or (m < 1).any():
        raise ParameterError(
            f"gpipe_bubble_fraction: n_stages={n_stages!r}, n_microbatches={n_microbatches!r}:"
            " allowed ≥ 1"
        )
    fraction = (p - 1) / (m + p - 1)
    return float(fraction) if fraction.ndim == 0 else fraction
