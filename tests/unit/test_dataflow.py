"""Tests of ``data_engineering.dataflow``: the broker, the loopback service, the table hand-off."""

from __future__ import annotations

import json
import random
import threading
import time

import numpy as np
import pytest
from scipy.special import expit

from mlsys_kit.data_engineering.dataflow import (
    MODES,
    Broker,
    BrokerError,
    LoopbackService,
    ServiceError,
    TableReader,
    TableWriter,
    fraud_score,
    measure_delivery,
    post_json,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.sim import BASELINE_COEFFICIENTS, RISK_FEATURES, risk_features, simulate

# --- Broker ---------------------------------------------------------------------------------


def test_publish_returns_consecutive_offsets_per_topic() -> None:
    broker = Broker()
    assert [broker.publish("a", b"x") for _ in range(3)] == [0, 1, 2]
    assert broker.publish("b", b"y") == 0
    assert broker.end_offset("a") == 3 and broker.end_offset("b") == 1
    assert broker.end_offset("never-used") == 0


def test_every_group_reads_every_message_in_order() -> None:
    broker = Broker()
    for i in range(5):
        broker.publish("t", str(i).encode())
    one, two = broker.subscribe("t", "one"), broker.subscribe("t", "two")
    assert [r.value for r in one.poll()] == [b"0", b"1", b"2", b"3", b"4"]
    assert [r.offset for r in two.poll(max_records=2)] == [0, 1]
    assert [r.offset for r in two.poll(max_records=2)] == [2, 3]
    assert one.poll() == []
    assert all(r.topic == "t" for r in two.poll())


def test_restart_resumes_from_the_committed_offset() -> None:
    broker = Broker()
    for i in range(3):
        broker.publish("t", bytes([i]))
    consumer = broker.subscribe("t", "g")
    consumer.poll(max_records=2)
    consumer.close()  # commits position 2
    assert broker.committed("t", "g") == 2
    broker.publish("t", b"\x03")  # while nobody consumes
    assert broker.lag("t", "g") == 2
    with broker.subscribe("t", "g") as again:
        assert [r.offset for r in again.poll()] == [2, 3]
        again.commit()
    assert broker.lag("t", "g") == 0


def test_a_crash_before_commit_redelivers_at_least_once() -> None:
    broker = Broker()
    for i in range(4):
        broker.publish("t", bytes([i]))
    consumer = broker.subscribe("t", "g")
    consumer.poll(max_records=1)
    consumer.commit()
    consumer.poll()  # offsets 1..3 received, never committed
    consumer.close(commit=False)
    with broker.subscribe("t", "g") as again:
        assert [r.offset for r in again.poll()] == [1, 2, 3]


def test_random_outages_lose_and_reorder_nothing() -> None:
    rng = random.Random(0)
    for _ in range(50):
        broker = Broker()
        consumer = broker.subscribe("t", "g")
        received: list[int] = []
        n = rng.randint(1, 60)
        for i in range(n):
            broker.publish("t", i.to_bytes(2, "big"))
            action = rng.random()
            if consumer is None and action < 0.3:
                consumer = broker.subscribe("t", "g")
            elif consumer is not None and action < 0.2:
                consumer.close()
                consumer = None
            elif consumer is not None:
                received += [int.from_bytes(r.value, "big") for r in consumer.poll()]
                consumer.commit()
        consumer = consumer or broker.subscribe("t", "g")
        received += [int.from_bytes(r.value, "big") for r in consumer.poll()]
        assert received == list(range(n))


def test_long_poll_returns_as_soon_as_a_message_is_published() -> None:
    broker = Broker()
    consumer = broker.subscribe("t", "g")
    timer = threading.Timer(0.05, broker.publish, args=("t", b"late"))
    timer.start()
    start = time.perf_counter()
    records = consumer.poll(timeout=5.0)
    waited = time.perf_counter() - start
    timer.join()
    assert [r.value for r in records] == [b"late"]
    assert waited < 2.0
    start = time.perf_counter()
    assert consumer.poll(timeout=0.05) == []  # nothing comes: returns after the timeout
    assert time.perf_counter() - start >= 0.04


def test_broker_bad_input() -> None:
    broker = Broker()
    with pytest.raises(ParameterError, match="publish: value must be bytes; got str: serialise"):
        broker.publish("t", "not bytes")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="publish: topic must be a non-empty string"):
        broker.publish("", b"x")
    with pytest.raises(ParameterError, match="subscribe: group must be a non-empty string"):
        broker.subscribe("t", "")
    consumer = broker.subscribe("t", "g")
    with pytest.raises(BrokerError, match="already has an open consumer"):
        broker.subscribe("t", "g")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParameterError, match="poll: max_records"):
            consumer.poll(max_records=bad)  # type: ignore[arg-type]
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match="poll: timeout"):
            consumer.poll(timeout=bad)
    consumer.close()
    with pytest.raises(BrokerError, match="is closed"):
        consumer.poll()
    with pytest.raises(BrokerError, match="is closed"):
        consumer.commit()
    consumer.close()  # closing twice is harmless
    broker.subscribe("t", "g").close()  # the group is free again


# --- LoopbackService and post_json ------------------------------------------------------------


def test_service_round_trip_refusal_and_restart_on_the_same_port() -> None:
    seen: list[int] = []

    def handler(body):
        seen.append(body["x"])
        return {"y": body["x"] + 1}

    service = LoopbackService(handler)
    try:
        service.start()
        port = service.port
        assert port > 0 and service.running and service.url.startswith("http://127.0.0.1:")
        assert post_json(port, {"x": 1}) == {"y": 2}
        service.stop()
        assert not service.running
        with pytest.raises(ConnectionRefusedError):
            post_json(port, {"x": 2})
        service.start()
        assert service.port == port
        assert post_json(port, {"x": 3}) == {"y": 4}
    finally:
        service.stop()
    assert seen == [1, 3] and service.requests_served == 2
    service.stop()  # stopping twice is harmless


def test_service_reports_bad_requests_and_handler_errors() -> None:
    def handler(body):
        raise KeyError("amount")

    with LoopbackService(handler) as service:
        with pytest.raises(ServiceError, match="HTTP 500: .*KeyError"):
            post_json(service.port, {"x": 1})
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=2)
        connection.request("POST", "/", b"[1, 2]", {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 400 and b"JSON object" in response.read()
        connection.close()
    assert service.errors == ["KeyError: 'amount'"]


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.1", "0.0.0.0", "example.com", "8.8.8.8"])
def test_only_loopback_addresses_are_allowed(host: str) -> None:
    with pytest.raises(ParameterError, match="LoopbackService: host must be a loopback"):
        LoopbackService(lambda body: body, host=host)
    with pytest.raises(ParameterError, match="post_json: host must be a loopback"):
        post_json(80, {"x": 1}, host=host)


def test_service_bad_arguments() -> None:
    with pytest.raises(ParameterError, match="LoopbackService: handler must be callable"):
        LoopbackService("not a function")  # type: ignore[arg-type]
    for port in (-1, 70000, 1.5, True):
        with pytest.raises(ParameterError, match="LoopbackService: port"):
            LoopbackService(lambda body: body, port=port)  # type: ignore[arg-type]
    assert LoopbackService(lambda body: body, host="localhost").host == "127.0.0.1"


# --- TableWriter and TableReader ---------------------------------------------------------------


def test_table_handoff_reads_only_new_rows(tmp_path) -> None:
    path = tmp_path / "handoff.sqlite"
    with TableWriter(path) as writer, TableReader(path) as reader:
        assert reader.poll() == []
        assert [writer.write(json.dumps({"i": i})) for i in range(3)] == [1, 2, 3]
        assert [row_id for row_id, _ in reader.poll(max_rows=2)] == [1, 2]
        assert reader.poll() == [(3, '{"i": 2}')]
        assert reader.last_id == 3
    with TableReader(path, after=2) as late_reader:
        assert [row_id for row_id, _ in late_reader.poll()] == [3]
    with TableWriter(path, fresh=True) as writer, TableReader(path) as reader:
        assert writer.write("again") == 1
        assert reader.poll() == [(1, "again")]


def test_table_bad_input(tmp_path) -> None:
    path = tmp_path / "t.sqlite"
    with pytest.raises(ParameterError, match="TableWriter: table must be a plain SQL identifier"):
        TableWriter(path, table="x; DROP TABLE y")
    with pytest.raises(ParameterError, match="TableReader: table must be a plain SQL identifier"):
        TableReader(path, table="2x")
    with pytest.raises(ParameterError, match="TableReader: after=-1 is out of range"):
        TableReader(path, after=-1)
    with (
        TableWriter(path) as writer,
        pytest.raises(ParameterError, match="write: payload must be a str"),
    ):
        writer.write(b"bytes")  # type: ignore[arg-type]


# --- fraud_score ----------------------------------------------------------------------------------


def test_fraud_score_matches_the_simulator_mechanism() -> None:
    market = simulate(n_transactions=500, n_users=100, seed=1)
    tx = market.transactions
    intercept = float(market.regimes["intercept"].iloc[0])
    weights = np.array([BASELINE_COEFFICIENTS[name] for name in RISK_FEATURES])
    expected = expit(risk_features(tx).to_numpy() @ weights + intercept)
    columns = ["amount", "hour", "new_device", "account_age_days", "payment_method", "n_items"]
    records = json.loads(tx[columns].to_json(orient="records", double_precision=15))
    scores = np.array([fraud_score(record, intercept) for record in records])
    np.testing.assert_allclose(scores, expected, rtol=1e-9)
    np.testing.assert_allclose(scores, market.truth["fraud_probability"], rtol=1e-6)


# --- measure_delivery -----------------------------------------------------------------------------

MESSAGES = [{"id": i, "amount": 10 + i} for i in range(25)]


@pytest.mark.parametrize("mode", MODES)
def test_measure_delivery_delivers_everything_in_order(mode: str, tmp_path) -> None:
    delivery = measure_delivery(
        mode,
        MESSAGES,
        work=lambda m: 2 * m["amount"],
        folder=tmp_path,
        send_interval=0.0005,
        poll_interval=0.005,
    )
    assert delivery.mode == mode
    assert delivery.order == list(range(25))
    assert delivery.results == {i: 2 * (10 + i) for i in range(25)}
    assert delivery.seconds.shape == (25,) and (delivery.seconds >= 0).all()
    assert delivery.handoff.shape == (25,) and (delivery.handoff >= 0).all()
    assert (delivery.polls == 0) if mode == "service" else (delivery.polls >= 1)


def test_measure_delivery_bad_input(tmp_path) -> None:
    def work(m):
        return m

    with pytest.raises(ParameterError, match="measure_delivery: mode='kafka' is not allowed"):
        measure_delivery("kafka", MESSAGES, work=work, folder=tmp_path)
    with pytest.raises(ParameterError, match="measure_delivery: poll_interval=0.0 is out of range"):
        measure_delivery("database", MESSAGES, work=work, folder=tmp_path, poll_interval=0)
    with pytest.raises(ParameterError, match="measure_delivery: send_interval=-1.0 is out"):
        measure_delivery("broker", MESSAGES, work=work, folder=tmp_path, send_interval=-1)
    with pytest.raises(ParameterError, match="measure_delivery: messages .* unique int 'id'"):
        measure_delivery("broker", [{"id": 1}, {"id": 1}], work=work, folder=tmp_path)
    with pytest.raises(ParameterError, match="measure_delivery: messages .* unique int 'id'"):
        measure_delivery("broker", [], work=work, folder=tmp_path)


@pytest.mark.parametrize("mode", MODES)
def test_measure_delivery_reports_a_failing_consumer(mode: str, tmp_path) -> None:
    def broken(message):
        raise ZeroDivisionError("model crashed")

    with pytest.raises((RuntimeError, ServiceError), match="ZeroDivisionError"):
        measure_delivery(mode, MESSAGES[:3], work=broken, folder=tmp_path, timeout=5)
