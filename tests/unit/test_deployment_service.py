"""The prediction service, against a real uvicorn server on a loopback port (no mocks).

One server serves the whole module (``service``): starting one takes about a second.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlsys_kit.deployment.artifacts import ArtifactError, load_artifact, save_artifact
from mlsys_kit.deployment.service import Service, create_app, serve
from mlsys_kit.params import ParameterError

FEATURES = {"amount": "float", "n_items": "int", "is_new": "bool", "device": "str"}
MAX_ROWS = 50
MAX_BODY_BYTES = 20_000
ROW = {"amount": 42.5, "n_items": 2, "is_new": True, "device": "ios"}


def orders(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 30.0, n).round(2),
            "n_items": rng.integers(1, 6, n),
            "is_new": rng.random(n) < 0.3,
            "device": rng.choice(["web", "ios", "android"], n),
        }
    )


@pytest.fixture(scope="module")
def model():
    frame = orders(300)
    risk = 0.02 * frame["amount"] + frame["is_new"] * 1.5 - 2.5
    labels = (np.random.default_rng(1).random(len(frame)) < 1 / (1 + np.exp(-risk))).astype(int)
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["device"]), remainder=StandardScaler()
    )
    return make_pipeline(encode, LogisticRegression()).fit(frame, labels)


@pytest.fixture(scope="module")
def artifact_path(model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("service") / "fraud.skops"
    save_artifact(model, path, features=FEATURES)
    return path


@pytest.fixture(scope="module")
def service(artifact_path: Path) -> Iterator[Service]:
    with serve(
        artifact_path, max_rows=MAX_ROWS, max_body_bytes=MAX_BODY_BYTES, body_timeout=0.5
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=10) as session:
        yield session


def expected(model, rows: list[dict]) -> np.ndarray:
    return model.predict_proba(pd.DataFrame(rows, columns=list(FEATURES)))


# -- answers ------------------------------------------------------------------------------------


def test_health_names_the_model_it_serves(client: httpx.Client, service: Service) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    health = answer.json()
    assert health["status"] == "ok"
    assert health["model"] == "sklearn.pipeline.Pipeline"
    assert health["sha256"] == service.artifact.sha256
    assert health["features"] == FEATURES
    assert health["classes"] == [0, 1]
    assert (health["max_rows"], health["max_body_bytes"]) == (MAX_ROWS, MAX_BODY_BYTES)
    assert service.url == f"http://127.0.0.1:{service.port}"


def test_the_api_docs_show_the_request_schema(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    row, batch = body["schema"]["oneOf"]
    assert list(row["properties"]) == list(FEATURES)
    assert row["additionalProperties"] is False
    assert batch["properties"]["rows"]["maxItems"] == MAX_ROWS


def test_one_row_gets_the_models_own_probabilities(client: httpx.Client, model) -> None:
    answer = client.post("/predict", json=ROW)
    assert answer.status_code == 200
    body = answer.json()
    assert body["classes"] == [0, 1]
    np.testing.assert_allclose(body["probabilities"], expected(model, [ROW])[0], rtol=1e-12)


def test_a_batch_gets_one_row_of_probabilities_per_row(client: httpx.Client, model) -> None:
    rows = orders(MAX_ROWS, seed=2).to_dict(orient="records")
    rows = [{**row, "n_items": int(row["n_items"]), "is_new": bool(row["is_new"])} for row in rows]
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 200
    probabilities = np.array(answer.json()["probabilities"])
    assert probabilities.shape == (MAX_ROWS, 2)
    np.testing.assert_allclose(probabilities, expected(model, rows), rtol=1e-12)


def test_an_integer_is_a_valid_float(client: httpx.Client, model) -> None:
    answer = client.post("/predict", json={**ROW, "amount": 40})
    assert answer.status_code == 200
    np.testing.assert_allclose(
        answer.json()["probabilities"], expected(model, [{**ROW, "amount": 40.0}])[0]
    )


# -- refusals -----------------------------------------------------------------------------------


def _body(value) -> bytes:
    return json.dumps(value).encode()


def _row(**changes) -> dict:
    row = {**ROW, **changes}
    return {name: value for name, value in row.items() if value is not ...}


BAD_REQUESTS = [
    # (case, body bytes, status, a phrase the error must contain)
    ("malformed JSON", b'{"amount": 42.5,', 400, "malformed JSON: Expecting property name"),
    ("empty body", b"", 400, "malformed JSON: Expecting value"),
    ("not UTF-8", b'{"amount": "\xff"}', 400, "malformed JSON"),
    ("nested too deeply", b"[" * 9_000 + b"]" * 9_000, 400, "malformed JSON: nested too deeply"),
    ("an array, not an object", _body([ROW]), 422, "the body must be a JSON object"),
    ("a string, not an object", _body("amount=1"), 422, "got a JSON str"),
    ("missing field", _body(_row(n_items=...)), 422, "n_items: Field required"),
    ("extra field", _body(_row(colour="red")), 422, "colour: Extra inputs are not permitted"),
    ("string for float", _body(_row(amount="42")), 422, "amount: Input should be a valid number"),
    ("bool for float", _body(_row(amount=True)), 422, "amount: Input should be a valid number"),
    ("float for int", _body(_row(n_items=2.5)), 422, "n_items: Input should be a valid integer"),
    ("int over int64", _body(_row(n_items=2**63)), 422, "n_items: Input should be less than"),
    ("string for bool", _body(_row(is_new="yes")), 422, "is_new: Input should be a valid boolean"),
    ("number for str", _body(_row(device=3)), 422, "device: Input should be a valid string"),
    ("null", _body(_row(amount=None)), 422, "amount: Input should be a valid number (got None)"),
    ("NaN", _body(_row(amount=...))[:-1] + b', "amount": NaN}', 422, "finite number (got nan)"),
    ("Infinity", _body(_row(amount=...))[:-1] + b', "amount": -Infinity}', 422, "finite number"),
    ("overflow to inf", _body(_row(amount=...))[:-1] + b', "amount": 1e999}', 422, "finite"),
    ("long string", _body(_row(device="x" * 1_001)), 422, "at most 1000 characters"),
    ("rows not a list", _body({"rows": ROW}), 422, '"rows" must be an array of rows'),
    ("empty batch", _body({"rows": []}), 422, '"rows" is empty: send at least one row'),
    ("batch with more", _body({"rows": [ROW], "model": "v2"}), 422, "unexpected: ['model']"),
    ("a row not an object", _body({"rows": [ROW, 3]}), 422, "rows[1]: Input should be"),
    ("one bad row", _body({"rows": [ROW, _row(amount="x")]}), 422, "rows[1].amount: Input"),
    ("batch over the limit", _body({"rows": [ROW] * 51}), 413, "has 51 rows; the limit is 50"),
    ("body over the limit", _body({"rows": [ROW] * 400}), 413, "; the limit is 20,000"),
]


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_every_bad_request_gets_a_4xx_naming_the_problem(
    client: httpx.Client, body: bytes, status: int, phrase: str
) -> None:
    answer = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert phrase in answer.json()["error"]


def test_a_body_over_the_limit_without_a_length_is_cut_off(client: httpx.Client) -> None:
    """A chunked body (no Content-Length) is read up to the limit only."""

    def endless() -> Iterator[bytes]:
        yield b'{"rows": ['
        for _ in range(10_000):  # 500 kB if it were all read
            yield _body(ROW) + b","

    answer = client.post("/predict", content=endless())
    assert answer.status_code == 413
    assert answer.json()["error"] == "the body is over the limit of 20,000 bytes"


def test_a_body_that_does_not_arrive_gets_a_408(service: Service) -> None:
    with socket.create_connection((service.host, service.port), timeout=10) as conn:
        conn.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        reply = http.client.HTTPResponse(conn)
        reply.begin()
        status, body = reply.status, json.loads(reply.read())
    assert (status, body) == (408, {"error": "the body did not arrive within 0.5 s"})


def test_validation_errors_name_every_row_and_field(client: httpx.Client) -> None:
    rows = [_row(amount="x")] * 7
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"].endswith("(and 2 more)")
    assert [item["where"] for item in body["detail"]] == [f"rows[{i}].amount" for i in range(7)]
    assert {item["type"] for item in body["detail"]} == {"float_type"}


def test_a_value_the_model_refuses_gets_a_422(tmp_path: Path) -> None:
    """Valid by the schema, outside the model's domain: a category its encoder never saw."""
    frame = pd.DataFrame({"device": ["web", "ios", "web", "ios"]})
    strict = make_pipeline(OneHotEncoder(handle_unknown="error"), LogisticRegression())
    path = tmp_path / "strict.skops"
    save_artifact(strict.fit(frame, [0, 1, 0, 1]), path, features={"device": "str"})
    with serve(path) as running:
        answer = httpx.post(f"{running.url}/predict", json={"device": "fridge"})
        assert httpx.post(f"{running.url}/predict", json={"device": "ios"}).status_code == 200
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("the model cannot score this input: Found unknown")


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/predict", 405), ("POST", "/nowhere", 404)]
)
def test_wrong_methods_and_paths_get_a_4xx(client: httpx.Client, method, path, status) -> None:
    assert client.request(method, path, json=ROW).status_code == status


def test_the_service_is_healthy_after_every_refusal(client: httpx.Client) -> None:
    for case in BAD_REQUESTS:
        client.post("/predict", content=case[1])
    assert client.get("/health").json()["status"] == "ok"
    assert client.post("/predict", json=ROW).status_code == 200


# -- load ---------------------------------------------------------------------------------------


def test_concurrent_clients_all_get_answers(service: Service, model) -> None:
    """8 clients × 25 requests (single rows and batches of 5): every one answered, zero errors."""
    rows = orders(8 * 25 * 5, seed=3).astype({"n_items": int, "is_new": bool})
    records = rows.to_dict(orient="records")
    truth = expected(model, records)

    def client_session(worker: int) -> list[tuple[int, int, list]]:
        answers = []
        with httpx.Client(base_url=service.url, timeout=30) as session:
            for i in range(25):
                start = (worker * 25 + i) * 5
                batch = records[start : start + (5 if i % 2 else 1)]
                reply = session.post("/predict", json={"rows": batch} if i % 2 else batch[0])
                probabilities = reply.json()["probabilities"] if reply.status_code == 200 else []
                answers.append((start, reply.status_code, probabilities))
        return answers

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [answer for worker in pool.map(client_session, range(8)) for answer in worker]
    assert len(results) == 200
    assert [status for _, status, _ in results] == [200] * 200
    for start, _, probabilities in results:
        got = np.atleast_2d(probabilities)
        np.testing.assert_allclose(got, truth[start : start + len(got)], rtol=1e-12)


# -- start and stop -----------------------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _service_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mlsys-kit service")]


def test_serve_starts_and_stops_cleanly(service: Service) -> None:
    """Also on an exception inside the block: the thread ends and the port is free again."""
    artifact = service.artifact  # already loaded: no second skops load
    before = _service_threads()
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="inside the block"), serve(artifact) as other:
        port = other.port
        assert port != service.port
        assert not _port_is_free(port)
        assert httpx.get(f"{other.url}/health").json()["status"] == "ok"
        raise RuntimeError("inside the block")
    assert time.perf_counter() - start < 10
    assert _port_is_free(port)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health")
    assert _service_threads() == before


def test_serve_lets_a_stalled_upload_get_its_408_before_stopping(
    service: Service, capfd: pytest.CaptureFixture[str]
) -> None:
    """A request in flight when the block ends is answered, not cancelled with a traceback."""
    start = time.perf_counter()
    with serve(service.artifact, body_timeout=0.3) as other:
        conn = socket.create_connection((other.host, other.port), timeout=10)
        conn.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.1)  # the server is reading the body when the block ends
    reply = http.client.HTTPResponse(conn)
    reply.begin()
    conn.close()
    assert reply.status == 408
    assert time.perf_counter() - start < 10
    assert "ERROR" not in capfd.readouterr().err


def test_serve_on_a_taken_port_is_refused(service: Service) -> None:
    taken = rf"serve: cannot listen on 127.0.0.1:{service.port}"
    with pytest.raises(ParameterError, match=taken), serve(service.artifact, port=service.port):
        pass


def test_serve_refuses_a_tampered_artifact_before_starting(
    artifact_path: Path, tmp_path: Path
) -> None:
    copy = tmp_path / artifact_path.name
    copy.write_bytes(artifact_path.read_bytes() + b"\0")
    (tmp_path / f"{artifact_path.name}.json").write_bytes(
        Path(f"{artifact_path}.json").read_bytes()
    )
    before = _service_threads()
    with pytest.raises(ArtifactError, match="changed after it was saved"), serve(copy):
        pass
    assert _service_threads() == before


def test_serve_refuses_an_untrusted_artifact_unless_trusted(tmp_path: Path) -> None:
    path = tmp_path / "tree.skops"
    save_artifact(DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1]), path)
    with pytest.raises(ArtifactError, match="not trusted: 'sklearn.tree._tree.Tree'"), serve(path):
        pass
    artifact = load_artifact(path, trusted=["sklearn.tree._tree.Tree"])
    app = create_app(artifact)  # what serve(path, trusted=[...]) runs
    assert {route.path for route in app.routes} >= {"/health", "/predict"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_rows": 0}, "create_app: max_rows=0 is out of range: allowed max_rows ≥ 1"),
        ({"max_body_bytes": 2.5}, "max_body_bytes must be an integer"),
        ({"body_timeout": 0}, "body_timeout=0.0 is out of range"),
        ({"port": 70_000}, "serve: port=70000 is out of range: allowed 0 ≤ port ≤ 65,535"),
    ],
)
def test_serve_refuses_bad_arguments(service: Service, arguments, message) -> None:
    with pytest.raises(ParameterError, match=message), serve(service.artifact, **arguments):
        pass
