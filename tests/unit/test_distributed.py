"""Tests of ``modeling.distributed``: worker processes, delayed SGD, the GPipe schedule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.modeling.distributed import (
    DataParallelTiming,
    DelayedSGDRuns,
    GradientWorkers,
    PipelineSchedule,
    delayed_sgd,
    gpipe_bubble_fraction,
    gpipe_schedule,
    init_mlp,
    logistic_loss,
    mlp_gradient,
    time_data_parallel,
)
from mlsys_kit.params import ParameterError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 4))
    y = (X @ [1.0, -0.5, 0.2, 0.0] + rng.normal(size=1200) > 0.5).astype(float)
    return X, y


def test_mlp_gradient_matches_finite_differences(data):
    X, y = data[0][:50], data[1][:50]
    params = init_mlp(4, 3, seed=1)
    params[-4:] = [0.3, -0.2, 0.5, 0.1]  # a non-zero output layer
    loss, grad = mlp_gradient(params, X, y, hidden_units=3)
    eps = 1e-6
    numeric = np.array(
        [
            (
                mlp_gradient(params + eps * e, X, y, hidden_units=3)[0]
                - mlp_gradient(params - eps * e, X, y, hidden_units=3)[0]
            )
            / (2 * eps)
            for e in np.eye(params.size)
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)
    assert loss > 0


def test_mlp_gradient_is_additive_over_chunks_and_shards(data):
    X, y = data
    params = init_mlp(4, 5, seed=2)
    _, whole = mlp_gradient(params, X, y, hidden_units=5)
    _, first = mlp_gradient(params, X[:700], y[:700], hidden_units=5)
    _, second = mlp_gradient(params, X[700:], y[700:], hidden_units=5)
    np.testing.assert_allclose(first + second, whole, rtol=1e-12, atol=1e-10)


def test_workers_sum_to_the_single_process_gradient(data):
    X, y = data
    params = init_mlp(4, 6, seed=3)
    with GradientWorkers(X, y, n_workers=3, hidden_units=6) as workers:
        for rows in (3, 100, 1000, 1200):
            step = workers.step(params, rows)
            loss, grad = mlp_gradient(params, X[:rows], y[:rows], hidden_units=6)
            np.testing.assert_allclose(step.gradient, grad, rtol=1e-10, atol=1e-12)
            assert step.loss == pytest.approx(loss)
            assert step.compute_seconds >= 0
            assert step.cpu_seconds >= step.compute_seconds  # the sum of the max
        for k in (1, 2):  # the first k workers share the batch
            step = workers.step(params, 999, n_workers=k)
            _, grad = mlp_gradient(params, X[:999], y[:999], hidden_units=6)
            np.testing.assert_allclose(step.gradient, grad, rtol=1e-10, atol=1e-12)
        with pytest.raises(ParameterError, match="batch_rows"):
            workers.step(params, 2)  # fewer rows than workers
        with pytest.raises(ParameterError, match="n_workers"):
            workers.step(params, 100, n_workers=4)  # more than the pool
    workers.close()  # idempotent


def test_workers_refuse_bad_inputs(data):
    X, y = data
    with pytest.raises(ParameterError, match="one label per row"):
        GradientWorkers(X, y[:-1], n_workers=2)
    with pytest.raises(ParameterError, match="n_workers"):
        GradientWorkers(X, y, n_workers=0)
    with pytest.raises(ParameterError, match="need"):
        mlp_gradient(np.zeros(3), X, y, hidden_units=2)


def test_time_data_parallel_report(data):
    X, y = data
    timing = time_data_parallel(
        X, y, worker_counts=[1, 2], batch_sizes=[4, 1200], hidden_units=8, repeat=1, steps=1
    )
    assert isinstance(timing, DataParallelTiming)
    assert timing.step_seconds.shape == (2, 2)
    assert (timing.compute_seconds <= timing.step_seconds).all()
    np.testing.assert_allclose(timing.speedup[:, 0], 1.0)
    frame = timing.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index.names) == ["batch", "workers"]
    assert "compute / communication" in frame.columns
    assert "cores busy" in frame.columns
    # the compute and CPU time come from the fastest step itself, so they fit inside it
    assert (timing.cpu_seconds >= 0).all()
    assert (timing.cores_busy <= timing.worker_counts[-1] + 1e-9).all()
    with pytest.raises(ParameterError, match="batch_sizes"):
        time_data_parallel(X, y, worker_counts=[1, 4], batch_sizes=[2], repeat=1, steps=1)
    with pytest.raises(ParameterError, match="worker_counts"):
        time_data_parallel(X, y, worker_counts=[0], batch_sizes=[8], repeat=1, steps=1)


def test_logistic_loss_one_and_many(data):
    X, y = data
    w = np.zeros(5)
    assert float(logistic_loss(X, y, w)) == pytest.approx(np.log(2))
    many = logistic_loss(X, y, np.zeros((3, 5)))
    assert many.shape == (3,)
    with pytest.raises(ParameterError, match="do not match"):
        logistic_loss(X, y, np.zeros(4))


def test_delayed_sgd_zero_delay_learns_and_is_reproducible(data):
    X, y = data
    runs = delayed_sgd(X, y, learning_rate=0.5, batch_size=32, n_steps=300, n_runs=5, seed=4)
    assert isinstance(runs, DelayedSGDRuns)
    assert runs.weights.shape == (5, 5)
    assert runs.gradient_evaluations == 32 * 300
    assert (runs.loss < 0.6).all()
    again = delayed_sgd(
        X, y, learning_rate=0.5, batch_size=32, n_steps=300, n_runs=5, seed=np.random.default_rng(4)
    )
    np.testing.assert_array_equal(runs.weights, again.weights)


def test_delayed_sgd_applies_stale_gradients(data):
    X, y = data
    # with delay >= n_steps every gradient is computed at the start (zero): plain sums of them
    stale = delayed_sgd(X, y, learning_rate=0.1, batch_size=8, n_steps=3, delay=5, n_runs=2, seed=0)
    rng = np.random.default_rng(0)
    X1 = np.hstack([X, np.ones((len(X), 1))])
    expected = np.zeros((2, 5))
    for _ in range(3):
        rows = rng.integers(0, len(X), size=(2, 8))
        expected -= 0.1 * np.einsum("rbd,rb->rd", X1[rows], 0.5 - y[rows]) / 8
    np.testing.assert_allclose(stale.weights, expected)


def test_large_delay_at_a_large_step_hurts(data):
    X, y = data
    common = dict(learning_rate=4.0, batch_size=64, n_steps=300, n_runs=10, seed=1)
    fresh = delayed_sgd(X, y, delay=0, **common)
    stale = delayed_sgd(X, y, delay=15, **common)
    assert stale.loss.mean() > fresh.loss.mean()


def test_delayed_sgd_refuses_bad_values(data):
    X, y = data
    with pytest.raises(ParameterError, match="learning_rate"):
        delayed_sgd(X, y, learning_rate=0.0, batch_size=8, n_steps=3)
    with pytest.raises(ParameterError, match="delay"):
        delayed_sgd(X, y, learning_rate=0.1, batch_size=8, n_steps=3, delay=-1)
    with pytest.raises(ParameterError, match="one per row"):
        delayed_sgd(X, y[:5], learning_rate=0.1, batch_size=8, n_steps=3)


@pytest.mark.parametrize("stages, micro", [(1, 1), (1, 7), (2, 1), (4, 8), (5, 3), (8, 32)])
def test_gpipe_schedule_matches_the_bubble_formula(stages, micro):
    schedule = gpipe_schedule(stages, micro)
    assert isinstance(schedule, PipelineSchedule)
    assert schedule.bubble_fraction == pytest.approx(
        gpipe_bubble_fraction(stages, micro), abs=1e-12
    )
    assert schedule.makespan == pytest.approx(3.0 * (micro + stages - 1) / micro)
    frame = schedule.to_frame()
    assert len(frame) == 2 * stages * micro
    # a stage never runs two tasks at once
    for _, tasks in frame.sort_values("start").groupby("stage"):
        assert (tasks["start"].to_numpy()[1:] >= tasks["end"].to_numpy()[:-1] - 1e-12).all()


def test_gpipe_respects_dependencies():
    frame = gpipe_schedule(3, 4).to_frame().set_index(["phase", "stage", "micro-batch"])
    for s in range(1, 3):
        for i in range(4):
            assert frame.loc[("forward", s, i), "start"] >= frame.loc[("forward", s - 1, i), "end"]
            assert (
                frame.loc[("backward", s - 1, i), "start"] >= frame.loc[("backward", s, i), "end"]
            )


def test_bubble_formula_and_bad_values():
    np.testing.assert_allclose(gpipe_bubble_fraction(4, np.array([1, 5])), [0.75, 3 / 8])
    with pytest.raises(ParameterError, match="≥ 1"):
        gpipe_bubble_fraction(0, 4)
    with pytest.raises(ParameterError, match="n_microbatches"):
        gpipe_schedule(2, 0)
    with pytest.raises(ParameterError, match="backward_time"):
        gpipe_schedule(2, 2, backward_time=0.0)
