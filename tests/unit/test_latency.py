"""Tests of ``design.latency``: latency per request, throughput per batch size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.design.latency import (
    LatencyStats,
    measure_latency,
    measure_throughput,
    simulate_queue,
)
from mlsys_kit.params import ParameterError

X_ARRAY = np.arange(30.0).reshape(10, 3)
X_FRAME = pd.DataFrame(X_ARRAY, columns=["a", "b", "c"])


def _row_sums(rows):
    return np.asarray(rows).sum(axis=1)


# --- LatencyStats -------------------------------------------------------------------------


def test_latency_stats_percentiles_match_numpy() -> None:
    seconds = np.random.default_rng(0).lognormal(-7, 0.5, size=500)
    stats = LatencyStats(seconds)
    assert len(stats) == 500
    assert stats.p50 == pytest.approx(np.percentile(seconds, 50))
    assert stats.p90 == pytest.approx(np.percentile(seconds, 90))
    assert stats.p99 == pytest.approx(np.percentile(seconds, 99))
    assert stats.percentile(75) == pytest.approx(np.percentile(seconds, 75))
    assert stats.mean == pytest.approx(seconds.mean())
    assert stats.max == seconds.max()


def test_latency_stats_to_series_in_each_unit() -> None:
    stats = LatencyStats(np.array([0.001, 0.002, 0.003, 0.010]))
    ms = stats.to_series()
    assert list(ms.index) == ["p50", "p90", "p99", "mean", "max"]
    assert ms.name == "latency (ms)"
    assert ms["p50"] == pytest.approx(2.5)
    assert stats.to_series("s")["max"] == pytest.approx(0.010)
    assert stats.to_series("µs")["mean"] == pytest.approx(4000.0)
    assert stats.to_series("us")["mean"] == pytest.approx(4000.0)
    with pytest.raises(ParameterError, match="unit"):
        stats.to_series("minutes")


def test_latency_stats_share_within_budget() -> None:
    stats = LatencyStats(np.array([0.001, 0.002, 0.003, 0.010]))
    assert stats.share_within(0.0025) == 0.5
    assert stats.share_within(0.010) == 1.0
    assert stats.share_within(0) == 0.0
    with pytest.raises(ParameterError, match="budget_seconds"):
        stats.share_within(-1)


def test_latency_stats_is_read_only() -> None:
    stats = LatencyStats([0.1, 0.2])
    with pytest.raises(ValueError):
        stats.seconds[0] = 5.0


@pytest.mark.parametrize(
    "seconds", [[], [[0.1, 0.2]], [0.1, -0.2], [0.1, float("nan")], [float("inf")]]
)
def test_latency_stats_rejects_bad_times(seconds) -> None:
    with pytest.raises(ParameterError, match="seconds"):
        LatencyStats(np.array(seconds, dtype=float))


def test_percentile_out_of_range() -> None:
    with pytest.raises(
        ParameterError, match=r"percentile: q=101.0 is out of range: allowed 0 ≤ q ≤ 100"
    ):
        LatencyStats([0.1]).percentile(101)


# --- measure_latency ----------------------------------------------------------------------


def test_measure_latency_times_one_row_per_request_for_arrays() -> None:
    seen = []

    def predict(rows):
        seen.append(rows.shape)
        return _row_sums(rows)

    stats = measure_latency(predict, X_ARRAY, n_requests=25, seed=0, pause=0, warmup=3)
    assert isinstance(stats, LatencyStats)
    assert len(stats) == 25
    assert len(seen) == 25 + 3  # warm-up calls are not timed
    assert set(seen) == {(1, 3)}
    assert np.all(stats.seconds >= 0)


def test_measure_latency_keeps_dataframes_as_one_row_dataframes() -> None:
    seen = []
    measure_latency(
        lambda row: seen.append(row), X_FRAME, n_requests=5, sample=False, pause=0, warmup=0
    )
    assert all(isinstance(row, pd.DataFrame) and row.shape == (1, 3) for row in seen)
    assert [row.index[0] for row in seen] == [0, 1, 2, 3, 4]  # sample=False: rows in order


def test_measure_latency_seed_fixes_the_requests() -> None:
    def rows_sent(seed):
        seen = []
        measure_latency(
            lambda row: seen.append(row.index[0]), X_FRAME, n_requests=40, seed=seed, pause=0
        )
        return seen

    assert rows_sent(3) == rows_sent(3)
    assert rows_sent(3) != rows_sent(4)
    assert set(rows_sent(3)) <= set(X_FRAME.index)


def test_measure_latency_cycles_when_more_requests_than_rows() -> None:
    seen = []
    measure_latency(
        lambda row: seen.append(row.index[0]), X_FRAME, n_requests=23, sample=False, warmup=0
    )
    assert seen == [i % 10 for i in range(23)]


def test_measure_latency_default_seed_is_reproducible_and_takes_a_generator() -> None:
    def rows_sent(**kwargs):
        seen = []
        measure_latency(lambda row: seen.append(row.index[0]), X_FRAME, n_requests=30, **kwargs)
        return seen

    assert rows_sent() == rows_sent(seed=0)
    assert rows_sent(seed=np.random.default_rng(5)) == rows_sent(seed=5)
    with pytest.raises(ParameterError, match="measure_latency: seed"):
        rows_sent(seed=-1)
    with pytest.raises(ParameterError, match="measure_latency: sample must be True or False"):
        rows_sent(sample="no")


def test_measure_latency_pauses_between_requests() -> None:
    import time

    start = time.perf_counter()
    measure_latency(_row_sums, X_ARRAY, n_requests=20, pause=0.005, warmup=0)
    assert time.perf_counter() - start >= 20 * 0.005


def test_measure_latency_limits_thread_pools() -> None:
    from threadpoolctl import threadpool_info

    counts: list[int] = []

    def predict(rows):
        counts.extend(pool["num_threads"] for pool in threadpool_info())
        return rows

    measure_latency(predict, X_ARRAY, n_requests=2, threads=1, pause=0, warmup=0)
    assert counts and set(counts) == {1}


@pytest.mark.parametrize("n_requests", [0, -5, 2.5, True, "10", None])
def test_measure_latency_rejects_bad_n_requests(n_requests) -> None:
    with pytest.raises(ParameterError, match="n_requests"):
        measure_latency(_row_sums, X_ARRAY, n_requests=n_requests)


@pytest.mark.parametrize(
    "X", [np.empty((0, 3)), X_FRAME.iloc[:0], np.arange(5.0), [[]], np.ones((2, 2, 2))]
)
def test_measure_latency_rejects_empty_or_non_2d_X(X) -> None:
    with pytest.raises(ParameterError, match="X must"):
        measure_latency(_row_sums, X, n_requests=5)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"pause": -0.1}, "pause"),
        ({"pause": float("nan")}, "pause"),
        ({"warmup": -1}, "warmup"),
        ({"threads": 0}, "threads"),
    ],
)
def test_measure_latency_rejects_bad_options(kwargs, name) -> None:
    with pytest.raises(ParameterError, match=name):
        measure_latency(_row_sums, X_ARRAY, n_requests=5, **kwargs)


def test_measure_latency_accepts_lists() -> None:
    stats = measure_latency(_row_sums, X_ARRAY.tolist(), n_requests=3, pause=0)
    assert len(stats) == 3


# --- measure_throughput -------------------------------------------------------------------


def test_measure_throughput_table() -> None:
    seen = set()

    def predict(batch):
        seen.add(batch.shape[0])
        return _row_sums(batch)

    table = measure_throughput(predict, X_ARRAY, batch_sizes=[1, 4, 25], repeat=2, min_seconds=1e-3)
    assert list(table.columns) == ["batch_size", "seconds_per_batch", "rows_per_second"]
    assert table["batch_size"].tolist() == [1, 4, 25]
    assert seen == {1, 4, 25}  # 25 > 10 rows: the rows are cycled
    assert (table["seconds_per_batch"] > 0).all()
    expected = table["batch_size"] / table["seconds_per_batch"]
    assert np.allclose(table["rows_per_second"], expected)


def test_measure_throughput_keeps_dataframes() -> None:
    kinds = set()
    measure_throughput(
        lambda batch: kinds.add(type(batch)), X_FRAME, batch_sizes=[2, 20], min_seconds=1e-4
    )
    assert kinds == {pd.DataFrame}


def test_measure_throughput_batches_amortise_a_fixed_cost() -> None:
    import time

    def predict(batch):  # 1 ms per call, whatever the batch size
        time.sleep(0.001)

    table = measure_throughput(predict, X_ARRAY, batch_sizes=[1, 10], repeat=2, min_seconds=0.005)
    rows_per_second = table.set_index("batch_size")["rows_per_second"]
    assert rows_per_second[10] > 3 * rows_per_second[1]


@pytest.mark.parametrize("batch_sizes", [[], [0], [4, -1], [2.5], [True], "16", 8, None])
def test_measure_throughput_rejects_bad_batch_sizes(batch_sizes) -> None:
    with pytest.raises(ParameterError, match="batch_sizes"):
        measure_throughput(_row_sums, X_ARRAY, batch_sizes=batch_sizes)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"repeat": 0}, "repeat"),
        ({"min_seconds": 0}, "min_seconds"),
        ({"min_seconds": -1.0}, "min_seconds"),
        ({"threads": 0}, "threads"),
    ],
)
def test_measure_throughput_rejects_bad_options(kwargs, name) -> None:
    with pytest.raises(ParameterError, match=name):
        measure_throughput(_row_sums, X_ARRAY, batch_sizes=[1], **kwargs)


def test_measure_throughput_rejects_empty_X() -> None:
    with pytest.raises(ParameterError, match="X must have at least one row"):
        measure_throughput(_row_sums, np.empty((0, 2)), batch_sizes=[1])


# --- simulate_queue -----------------------------------------------------------------------


def test_simulate_queue_is_reproducible_by_default() -> None:
    first = simulate_queue([0.001, 0.002], utilisation=0.5, n_requests=500)
    again = simulate_queue([0.001, 0.002], utilisation=0.5, n_requests=500, seed=0)
    np.testing.assert_array_equal(first.seconds, again.seconds)


def test_simulate_queue_mean_wait_matches_pollaczek_khinchine() -> None:
    service = np.array([0.001, 0.003])
    rho = 0.6
    stats = simulate_queue(service, utilisation=rho, n_requests=200_000, seed=1)
    mean_wait = rho / (1 - rho) * np.mean(service**2) / (2 * service.mean())
    assert stats.mean - service.mean() == pytest.approx(mean_wait, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"service_seconds": []}, "service_seconds"),
        ({"service_seconds": [0.0, 0.0]}, "service_seconds"),
        ({"service_seconds": [-0.1]}, "service_seconds"),
        ({"service_seconds": [np.nan]}, "service_seconds"),
        ({"utilisation": 1.0}, "utilisation"),
        ({"utilisation": 0}, "utilisation"),
        ({"n_requests": 0}, "n_requests"),
    ],
)
def test_simulate_queue_rejects_bad_arguments(kwargs, name) -> None:
    arguments = {"service_seconds": [0.001], "utilisation": 0.5, **kwargs}
    with pytest.raises(ParameterError, match=f"simulate_queue: {name}"):
        simulate_queue(**arguments)
