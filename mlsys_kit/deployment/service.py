"""An online prediction service: FastAPI and uvicorn in front of a safely loaded model artifact.

Serves Chapter 7 of *Designing Machine Learning Systems* (Chip Huyen, 2022), "Batch Prediction
Versus Online Prediction": online prediction answers each request as it arrives, through a
request-response service (a REST API). This module is such a service, small enough to read and
real enough to measure: the kit's notebooks start it, send it requests and stop it.

**The field's tools.** `FastAPI <https://fastapi.tiangolo.com>`_ on the `uvicorn
<https://www.uvicorn.org>`_ ASGI server is what Python model services are commonly built on,
with `pydantic <https://docs.pydantic.dev>`_ for request schemas; the model comes from a skops
artifact (:mod:`mlsys_kit.deployment.artifacts`), never from a pickle.

**What the kit hand-writes, and why: only the glue.**

- The request schema is a pydantic model built from the artifact's manifest (each feature's
  name and type), strict (``"1.5"`` is not a number, ``1.5`` is not an integer) and closed
  (an unknown field is refused), with finite numbers only (``NaN`` and ``Infinity``, which
  Python's JSON reader accepts, are refused).
- ``POST /predict`` reads the body itself instead of letting FastAPI parse it, to enforce a
  **byte limit while reading** (a huge or endless body is cut off at the limit, not buffered
  whole) and a time limit on the body, and so that every bad request gets a 4xx whose JSON
  message names the problem (FastAPI's own ``max_body_size`` answers a plain-text "Content
  Too Large" that names no limit): 400 malformed JSON, 408 a body that does not arrive, 413 a body
  over ``max_body_bytes`` or a batch over ``max_rows``, 422 a missing, extra, mistyped or
  non-finite field (with the row and field, e.g. ``rows[3].amount``), or a value the model
  itself refuses (a category its encoder never saw, say: the model's ``ValueError``).
- :func:`serve` runs uvicorn in a background thread on a socket it binds first (port 0: a free
  port, known at once) and stops it on exit, also when the ``with`` block raises, so that a
  notebook or a test can start and stop a real server in about a second.

**The API.** ``GET /health`` answers ``{"status": "ok", ...}`` with the model's class, hash,
features and classes. ``POST /predict`` takes one row, ``{"amount": 12.5, "n_items": 2}``, and
answers ``{"classes": [0, 1], "probabilities": [0.93, 0.07]}``; or a batch,
``{"rows": [{...}, {...}]}``, answered with one list of probabilities per row.

Examples
--------
>>> import tempfile, pathlib, httpx
>>> from sklearn.linear_model import LogisticRegression
>>> from mlsys_kit.deployment.artifacts import save_artifact
>>> model = LogisticRegression().fit([[0.0], [1.0], [0.1], [0.9]], [0, 1, 0, 1])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
>>> _ = save_artifact(model, path, features={"amount": "float"})
>>> with serve(path) as service:
...     ok = httpx.get(f"{service.url}/health").json()["status"]
...     answer = httpx.post(f"{service.url}/predict", json={"amount": 0.2}).json()
...     refused = httpx.post(f"{service.url}/predict", json={"amount": "lots"})
>>> ok, answer["classes"], len(answer["probabilities"])
('ok', [0, 1], 2)
>>> print(refused.status_code, refused.json()["error"])
422 invalid request: amount: Input should be a valid number (got 'lots')
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlsys_kit.deployment.artifacts import BATCH_KEY, Artifact, load_artifact
from mlsys_kit.params import ParameterError, check_float, check_int, check_type

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_MAX_BODY_BYTES",
    "Service",
    "create_app",
    "serve",
    "run_service",
]

#: Rows a batched request may hold.
DEFAULT_MAX_ROWS = 1_000
#: Bytes a request body may hold (1 MB).
DEFAULT_MAX_BODY_BYTES = 1_000_000

_PYTHON_TYPES: dict[str, type] = {"float": float, "int": int, "bool": bool, "str": str}
_EXAMPLE_VALUES: dict[str, Any] = {"float": 0.0, "int": 0, "bool": False, "str": ""}
_MAX_STR_LENGTH = 1_000
_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class Service:
    """A running prediction service (what :func:`serve` yields).

    Attributes
    ----------
    url : str
        Its base URL, ``http://127.0.0.1:<port>``.
    host : str
    port : int
    artifact : Artifact
        The model it serves.
    """

    url: str
    host: str
    port: int
    artifact: Artifact


def create_app(
    artifact: Artifact,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = 5.0,
) -> Any:
    """The FastAPI application that serves ``artifact``'s model (not started).

    Parameters
    ----------
    artifact : Artifact
        A model loaded by :func:`~mlsys_kit.deployment.artifacts.load_artifact`.
    max_rows : int, default 1,000
        Rows a batched request may hold; more get a 413.
    max_body_bytes : int, default 1,000,000
        Bytes a request body may hold; more get a 413 (read no further than the limit).
    body_timeout : float, default 5
        Seconds a request body may take to arrive; slower gets a 408. Stopping the server
        waits for requests in flight at most this long (plus a second).

    Returns
    -------
    fastapi.FastAPI
        With ``GET /health`` and ``POST /predict``; run it with uvicorn, or use :func:`serve`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlsys_kit.deployment.artifacts import save_artifact
    >>> model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> artifact = save_artifact(model, pathlib.Path(tempfile.mkdtemp()) / "m.skops")
    >>> sorted(route.path for route in create_app(artifact).routes)
    ['/docs', '/docs/oauth2-redirect', '/health', '/openapi.json', '/predict', '/redoc']
    """
    owner = "create_app"
    check_type("artifact", artifact, Artifact, owner=owner)
    max_rows = check_int("max_rows", max_rows, min=1, owner=owner)
    max_body_bytes = check_int("max_body_bytes", max_body_bytes, min=1, owner=owner)
    body_timeout = check_float("body_timeout", body_timeout, min=0, open_min=True, owner=owner)

    import anyio
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from pydantic import TypeAdapter, ValidationError

    row_model = _row_model(artifact.features)
    rows_adapter = TypeAdapter(list[row_model])
    classes = list(artifact.classes)
    app = FastAPI(
        title="mlsys-kit prediction service",
        description=f"{artifact.model_class}, SHA-256 {artifact.sha256[:16]}…",
    )

    def refuse(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> Any:
        content: dict[str, Any] = {"error": message}
        if detail is not None:
            content["detail"] = detail
        return JSONResponse(content, status_code=status)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": artifact.model_class,
            "sha256": artifact.sha256,
            "features": artifact.features,
            "classes": classes,
            "max_rows": max_rows,
            "max_body_bytes": max_body_bytes,
        }

    body_schema = {
        "oneOf": [
            row_model.model_json_schema(by_alias=True),
            {
                "type": "object",
                "properties": {BATCH_KEY: {"type": "array", "maxItems": max_rows}},
                "required": [BATCH_KEY],
                "additionalProperties": False,
            },
        ]
    }

    async def predict(request):
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return refuse(400, f"Content-Length must be a number of bytes; got {declared!r}")
            if int(declared) > max_body_bytes:
                return refuse(
                    413, f"the body is {int(declared):,} bytes; the limit is {max_body_bytes:,}"
                )
        body = bytearray()
        try:
            with anyio.fail_after(body_timeout):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > max_body_bytes:
                        return refuse(
                            413, f"the body is over the limit of {max_body_bytes:,} bytes"
                        )
        except TimeoutError:
            return refuse(408, f"the body did not arrive within {body_timeout:g} s")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return refuse(400, f"malformed JSON: {exc}")
        except RecursionError:
            return refuse(400, "malformed JSON: nested too deeply")
        rows, batched, problem = _rows_of(payload, max_rows)
        if problem is not None:
            return refuse(*problem)
        try:
            valid = rows_adapter.validate_python(rows)
        except ValidationError as exc:
            detail = _describe(exc, batched)
            shown = "; ".join(item["problem"] for item in detail[:_ERRORS_SHOWN])
            more = (
                f" (and {len(detail) - _ERRORS_SHOWN} more)" if len(detail) > _ERRORS_SHOWN else ""
            )
            return refuse(422, f"invalid request: {shown}{more}", detail)
        try:
            probabilities = artifact.predict_proba([row.model_dump(by_alias=True) for row in valid])
        except ValueError as exc:  # valid by the schema, outside the model's domain
            return refuse(422, f"the model cannot score this input: {exc}")
        listed = probabilities.tolist()
        return {"classes": classes, "probabilities": listed if batched else listed[0]}

    # FastAPI injects the request by its annotation, which must be the class itself (this
    # module's annotations are strings, and fastapi is imported here, not at the top).
    predict.__annotations__ = {"request": Request}
    request_body = {"required": True, "content": {"application/json": {"schema": body_schema}}}
    app.post("/predict", openapi_extra={"requestBody": request_body})(predict)
    return app


@contextmanager
def serve(
    artifact: Artifact | str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    trusted: Sequence[str | type] = (),
    sha256: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = 5.0,
    startup_timeout: float = 30.0,
) -> Iterator[Service]:
    """Run the prediction service in a background thread for the length of a ``with`` block.

    Parameters
    ----------
    artifact : Artifact, str or pathlib.Path
        A loaded artifact, or the path of one (loaded with ``trusted`` and ``sha256``, see
        :func:`~mlsys_kit.deployment.artifacts.load_artifact`).
    host : str, default "127.0.0.1"
        The address to listen on: loopback, so nothing outside the machine can reach it.
    port : int, default 0
        0 for a free port (read it from ``service.port`` or ``service.url``).
    trusted, sha256
        Passed to ``load_artifact`` when ``artifact`` is a path.
    max_rows, max_body_bytes, body_timeout
        Request limits, see :func:`create_app`.
    startup_timeout : float, default 30
        Seconds to wait for the server to accept connections.

    Yields
    ------
    Service
        Its URL, port and artifact. On leaving the block (normally or by an exception) the
        server stops, its thread ends and the port is free again.

    Raises
    ------
    ArtifactError
        When the artifact is refused (see ``load_artifact``).
    ParameterError
        When an argument is out of range, or ``port`` is taken.

    Examples
    --------
    >>> import tempfile, pathlib, httpx
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlsys_kit.deployment.artifacts import save_artifact
    >>> model = LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
    >>> _ = save_artifact(model, path)
    >>> with serve(path) as service:
    ...     rows = {"rows": [{"x0": 0.0, "x1": 1.0}, {"x0": 1.0, "x1": 0.0}]}
    ...     answer = httpx.post(f"{service.url}/predict", json=rows).json()
    >>> [round(p[1], 2) for p in answer["probabilities"]]
    [0.4, 0.6]
    """
    owner = "serve"
    port = check_int("port", port, min=0, max=65_535, owner=owner)
    startup_timeout = check_float(
        "startup_timeout", startup_timeout, min=0, open_min=True, owner=owner
    )
    loaded = _loaded(artifact, trusted, sha256)
    app = create_app(
        loaded, max_rows=max_rows, max_body_bytes=max_body_bytes, body_timeout=body_timeout
    )
    sock = _bind(host, port, owner)
    server = _server(app, log_level="warning", drain_seconds=body_timeout + 1)
    bound_port = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"mlsys-kit service :{bound_port}",
        daemon=True,
    )
    thread.start()
    try:
        _wait_until_started(server, thread, startup_timeout)
        yield Service(_url(host, bound_port), host, bound_port, loaded)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():  # connections that did not close in time
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()


def run_service(
    artifact: Artifact | str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    trusted: Sequence[str | type] = (),
    sha256: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = 5.0,
    announce: Any = print,
) -> None:
    """Run the prediction service in the foreground until Ctrl-C (``mlsys-kit serve``).

    Loads the artifact, binds the port, calls ``announce`` with the URL and example ``curl``
    commands, and serves with uvicorn's request log on. Ctrl-C (or SIGTERM) stops it
    gracefully; the interrupt is then re-raised as ``KeyboardInterrupt``.

    Parameters
    ----------
    artifact, host, trusted, sha256, max_rows, max_body_bytes, body_timeout
        As for :func:`serve`.
    port : int, default 8000
        0 for a free port (the announcement names it).
    announce : callable, default print
        Receives the text to show the reader.

    Examples
    --------
    ::

        run_service("models/fraud.skops", port=8000)   # Ctrl-C stops it
    """
    owner = "run_service"
    port = check_int("port", port, min=0, max=65_535, owner=owner)
    loaded = _loaded(artifact, trusted, sha256)
    app = create_app(
        loaded, max_rows=max_rows, max_body_bytes=max_body_bytes, body_timeout=body_timeout
    )
    sock = _bind(host, port, owner)
    url = _url(host, sock.getsockname()[1])
    example = json.dumps({name: _EXAMPLE_VALUES[kind] for name, kind in loaded.features.items()})
    announce(
        f"Serving {loaded.model_class} from {loaded.path} (SHA-256 {loaded.sha256[:16]}…)\n"
        f"at {url}  (Ctrl-C stops it)\n\n"
        f"  curl {url}/health\n"
        f"  curl -X POST {url}/predict -H 'Content-Type: application/json' -d '{example}'\n"
        f"  API docs: {url}/docs\n"
    )
    try:
        _server(app, log_level="info", drain_seconds=body_timeout + 1).run(sockets=[sock])
    finally:
        sock.close()


# -- glue ---------------------------------------------------------------------------------------


def _row_model(features: Mapping[str, str]) -> Any:
    """A strict, closed pydantic model of one row: each feature required, with its type."""
    from typing import Annotated

    from pydantic import ConfigDict, Field, create_model

    fields: dict[str, Any] = {}
    for i, (name, kind) in enumerate(features.items()):
        constraints: dict[str, Any] = {"alias": name, "strict": True}
        if kind == "float":
            constraints["allow_inf_nan"] = False
        if kind == "int":  # what the model's int64 column holds
            constraints.update(ge=-(2**63), le=2**63 - 1)
        if kind == "str":
            constraints["max_length"] = _MAX_STR_LENGTH
        fields[f"f{i}"] = (Annotated[_PYTHON_TYPES[kind], Field(**constraints)], ...)
    config = ConfigDict(extra="forbid", populate_by_name=False)
    return create_model("Row", __config__=config, **fields)


def _rows_of(payload: Any, max_rows: int) -> tuple[list[Any], bool, tuple[int, str] | None]:
    """The rows of a request body, whether it was a batch, and the problem with it if any."""
    if not isinstance(payload, dict):
        got = type(payload).__name__.replace("dict", "object").replace("list", "array")
        return (
            [],
            False,
            (
                422,
                'the body must be a JSON object: one row {"feature": value, ...} or a batch '
                f'{{"{BATCH_KEY}": [row, ...]}}; got a JSON {got}',
            ),
        )
    if BATCH_KEY not in payload:
        return [payload], False, None
    rows = payload[BATCH_KEY]
    others = sorted(set(payload) - {BATCH_KEY})
    if others:
        return [], True, (422, f'a batch holds only "{BATCH_KEY}"; unexpected: {others}')
    if not isinstance(rows, list):
        return [], True, (422, f'"{BATCH_KEY}" must be an array of rows')
    if not rows:
        return [], True, (422, f'"{BATCH_KEY}" is empty: send at least one row')
    if len(rows) > max_rows:
        return [], True, (413, f"the batch has {len(rows):,} rows; the limit is {max_rows:,}")
    return rows, True, None


def _describe(error: Any, batched: bool) -> list[dict[str, Any]]:
    """Each validation problem with where it is (``rows[3].amount``) and what was sent."""
    detail = []
    for item in error.errors(include_url=False):
        index, *fields = item["loc"]
        where = ".".join(str(f) for f in fields) or "the row"
        if batched:
            where = f"{BATCH_KEY}[{index}]" + (f".{where}" if fields else "")
        problem = f"{where}: {item['msg']}"
        if item["type"] != "missing" and not isinstance(item.get("input"), dict | list):
            problem += f" (got {_short_repr(item.get('input'))})"
        detail.append({"where": where, "problem": problem, "type": item["type"]})
    return detail


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _loaded(
    artifact: Artifact | str | Path, trusted: Sequence[str | type], sha256: str | None
) -> Artifact:
    if isinstance(artifact, Artifact):
        return artifact
    check_type("artifact", artifact, (str, Path, Artifact), owner="serve")
    return load_artifact(artifact, trusted=trusted, sha256=sha256)


def _bind(host: str, port: int, owner: str) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port), so the port is known at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not the default 0: asyncio disables Nagle's algorithm (TCP_NODELAY)
    # only on sockets that say they are TCP. Without it, uvicorn's response (headers, then
    # body: two writes) waits for the client's delayed ACK, ~40 ms a request on Linux.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: SO_REUSEADDR would share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    else:  # POSIX: rebind at once after a restart (connections in TIME_WAIT), as uvicorn does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ParameterError(f"{owner}: cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _server(app: Any, *, log_level: str, drain_seconds: float) -> Any:
    """A uvicorn server for ``app``; on shutdown it lets requests in flight finish for
    ``drain_seconds`` (longer than the body timeout, so that a stalled upload gets its 408
    rather than a cancellation logged as an error)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level == "info",
        lifespan="off",
        timeout_keep_alive=5,
        timeout_graceful_shutdown=drain_seconds,
    )
    return uvicorn.Server(config)


def _wait_until_started(server: Any, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the prediction service stopped while starting (see its log)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the prediction service did not start within {timeout:g} s")
        time.sleep(0.005)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
