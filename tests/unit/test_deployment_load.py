"""The load generator, against a real prediction service on a loopback port (no mocks).

One server serves the whole module (``service``): starting one takes about a second.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_kit.deployment.artifacts import save_artifact
from mlsys_kit.deployment.load import (
    LOAD_PERCENTILES,
    LoadResult,
    echo_server,
    pool_results,
    run_load,
)
from mlsys_kit.deployment.service import Service, serve
from mlsys_kit.params import ParameterError

ROWS = [{"amount": float(x), "n_items": float(x % 3)} for x in range(12)]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    X = np.array([[row["amount"], row["n_items"]] for row in ROWS])
    model = LogisticRegression().fit(X, (X[:, 0] > 5).astype(int))
    path = tmp_path_factory.mktemp("load") / "model.skops"
    save_artifact(model, path, features={"amount": "float", "n_items": "float"})
    with serve(path, max_rows=5) as running:
        yield running


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


# -- equal work -----------------------------------------------------------------------------------


def test_equal_work_sends_every_payload_once(service: Service) -> None:
    single = run_load(service.url, ROWS)
    batches = run_load(service.url, [{"rows": ROWS[i : i + 4]} for i in range(0, 12, 4)])
    assert (single.n_requests, single.n_rows, single.n_errors) == (12, 12, 0)
    assert (batches.n_requests, batches.n_rows, batches.n_errors) == (3, 12, 0)
    assert batches.rows.tolist() == [4, 4, 4]
    assert set(single.status.tolist()) == {200}
    assert single.n_clients == batches.n_clients == 1


def test_equal_work_is_shared_by_the_clients(service: Service) -> None:
    result = run_load(service.url, ROWS * 3, n_clients=4)
    assert (result.n_requests, result.n_rows, result.n_errors, result.n_clients) == (36, 36, 0, 4)


def test_throughput_is_rows_over_wall_time(service: Service) -> None:
    result = run_load(service.url, [{"rows": ROWS[:5]}, {"rows": ROWS[5:10]}])
    assert 0 < result.wall_seconds < 5
    assert result.rows_per_second == pytest.approx(10 / result.wall_seconds)
    assert result.requests_per_second == pytest.approx(2 / result.wall_seconds)
    assert result.wall_seconds >= result.seconds.max()


# -- bounded time ---------------------------------------------------------------------------------


def test_bounded_time_ends_on_time_with_every_request_answered(service: Service) -> None:
    start = time.perf_counter()
    result = run_load(service.url, ROWS, n_clients=4, duration=0.3, seed=1)
    took = time.perf_counter() - start
    assert took < 0.3 + 3  # the clients' warm-up and the requests under way, on a busy machine
    assert result.n_clients == 4
    assert result.n_requests > 4
    assert result.n_errors == 0 and result.n_answered == result.n_requests
    assert result.wall_seconds >= 0.3


def test_bounded_time_draws_the_payloads_with_the_seed(service: Service) -> None:
    payloads = [{"rows": ROWS[:1]}, {"rows": ROWS[:2]}, {"rows": ROWS[:3]}]
    result = run_load(service.url, payloads, duration=0.3, seed=np.random.default_rng(4))
    assert set(result.rows.tolist()) == {1, 2, 3}  # drawn at random, not the first only
    first = run_load(service.url, payloads * 20, duration=0.05, seed=5, warmup=0).rows
    again = run_load(service.url, payloads * 20, duration=0.05, seed=5, warmup=0).rows
    shortest = min(first.size, again.size)
    assert first[:shortest].tolist() == again[:shortest].tolist()


# -- errors ---------------------------------------------------------------------------------------


def test_refused_requests_are_errors_with_their_message(service: Service) -> None:
    bad = [{"amount": "lots", "n_items": 1.0}, {"rows": ROWS[:6]}]  # a wrong type; over max_rows
    result = run_load(service.url, bad + ROWS[:2])
    assert (result.n_requests, result.n_errors, result.n_answered, result.n_rows) == (4, 2, 4, 2)
    assert sorted(result.status.tolist()) == [200, 200, 413, 422]
    assert any(e.startswith("422: ") and "amount" in e for e in result.errors)
    assert any(e.startswith("413: ") and "limit" in e for e in result.errors)
    assert len(result.latency) == 2  # the successful requests only


def test_nothing_listening_gives_errors_not_a_hang() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed
    result = run_load(f"http://127.0.0.1:{port}", ROWS[:3], n_clients=2, warmup=0)
    assert (result.n_requests, result.n_errors, result.n_answered) == (3, 3, 0)
    assert all(e.startswith("ConnectError") for e in result.errors)
    with pytest.raises(ParameterError, match="no request succeeded"):
        _ = result.latency


def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    start = time.perf_counter()
    result = run_load(f"http://127.0.0.1:{silent_port}", ROWS[:2], timeout=0.2, warmup=0)
    assert time.perf_counter() - start < 3
    assert (result.n_requests, result.n_errors) == (2, 2)
    assert all(e.startswith("ReadTimeout") for e in result.errors)


# -- the summary ----------------------------------------------------------------------------------


def test_the_summary_holds_counts_percentiles_and_throughput(service: Service) -> None:
    frame = run_load(service.url, ROWS, n_clients=2).to_frame()
    assert frame.shape[0] == 1
    row = frame.iloc[0]
    assert (row["clients"], row["requests"], row["rows"], row["errors"]) == (2, 12, 12, 0)
    latencies = [row[f"p{q:g} (ms)"] for q in LOAD_PERCENTILES] + [row["max (ms)"]]
    assert latencies == sorted(latencies) and latencies[0] > 0
    assert row["rows/s"] == pytest.approx(row["requests/s"])


def test_load_result_checks_its_arrays() -> None:
    with pytest.raises(ParameterError, match="one entry per request"):
        LoadResult(np.zeros(2), np.zeros(3, int), np.ones(2, int), 1.0, 1)
    with pytest.raises(ParameterError, match="n_clients"):
        LoadResult(np.zeros(1), np.full(1, 200), np.ones(1, int), 1.0, 0)
    result = LoadResult(np.array([0.5]), np.array([200]), np.array([3]), 0.0, 1)
    assert np.isnan(result.rows_per_second)


def test_typical_throughput_follows_the_median_request() -> None:
    result = LoadResult(
        seconds=np.array([0.010, 0.010, 0.020, 1.0]),  # one request delayed by a busy machine
        status=np.array([200, 200, 200, 200]),
        rows=np.array([5, 5, 10, 5]),
        wall_seconds=1.04,
        n_clients=3,
    )
    assert result.typical_rows_per_second == pytest.approx(3 / 0.002)  # 3 clients, 2 ms a row
    assert result.rows_per_second == pytest.approx(25 / 1.04)


def test_pooled_rounds_hold_every_request(service: Service) -> None:
    rounds = [run_load(service.url, ROWS[i : i + 4], n_clients=2) for i in range(0, 12, 4)]
    pooled = pool_results(rounds)
    assert (pooled.n_requests, pooled.n_rows, pooled.n_clients) == (12, 12, 2)
    assert pooled.wall_seconds == pytest.approx(sum(r.wall_seconds for r in rounds))
    with pytest.raises(ParameterError, match="different numbers of clients"):
        pool_results([rounds[0], run_load(service.url, ROWS[:2])])
    with pytest.raises(ParameterError, match="results is empty"):
        pool_results([])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"payloads": []}, "payloads is empty"),
        ({"payloads": [[1.0, 2.0]]}, r"payloads\[0\] must be a JSON object"),
        ({"payloads": "rows"}, "payloads"),
        ({"n_clients": 0}, "n_clients"),
        ({"duration": 0}, "duration"),
        ({"timeout": -1}, "timeout"),
        ({"warmup": -1}, "warmup"),
        ({"seed": -1}, "seed"),
        ({"url": 8000}, "url"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict, message: str) -> None:
    call = {"url": "http://127.0.0.1:9", "payloads": ROWS[:1], **arguments}
    url, payloads = call.pop("url"), call.pop("payloads")
    with pytest.raises(ParameterError, match=message):
        run_load(url, payloads, **call)


# -- Nagle's algorithm ----------------------------------------------------------------------------


def test_nagles_algorithm_delays_every_small_answer() -> None:
    """With Nagle on, the answer's body waits for the client's delayed ACK (40 ms on Linux)."""
    results = {}
    for nodelay in (True, False):
        with echo_server(nodelay=nodelay) as url:
            results[nodelay] = run_load(url, [{"x": 1.0}] * 6, path="/", warmup=2)
    assert results[True].n_errors == results[False].n_errors == 0
    assert results[False].seconds.min() > 0.02
    assert results[False].latency.p50 - results[True].latency.p50 > 0.02


def test_echo_server_stops_and_frees_its_port() -> None:
    with echo_server() as url:
        port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again
    with pytest.raises(ParameterError, match="nodelay"), echo_server(nodelay="yes"):  # type: ignore[arg-type]
        pass


def test_an_unexpected_failure_in_a_client_is_raised_without_a_hang(service: Service) -> None:
    """A failure that is not an HTTP error (here an invalid URL) stops every client, and is
    raised: the other clients are released from their barrier."""
    start = time.perf_counter()
    with pytest.raises(Exception, match="non-printable"):
        run_load(service.url, ROWS[:2], n_clients=3, path="/predict\x00")
    assert time.perf_counter() - start < 3
