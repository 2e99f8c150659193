"""Load a prediction service over HTTP: N clients, per-request latencies, errors, throughput.

Serves Chapter 7 of *Designing Machine Learning Systems* (Chip Huyen, 2022), "Batch Prediction
Versus Online Prediction" (and Chapter 1's "Computational priorities"): an online service is
judged by the latency of each request, as a distribution (p50, p95, p99), and by its
throughput, under the load of many clients at once; batch prediction trades that latency for
throughput. :func:`run_load` measures both the way a client sees them, over real HTTP.

**What it does.** Each of ``n_clients`` threads opens its own keep-alive connection (an
`httpx <https://www.python-httpx.org>`_ client, which, like most HTTP clients, disables
Nagle's algorithm), sends ``warmup`` untimed requests, waits for the others, and then POSTs
JSON payloads and records each request's wall time, HTTP status and rows. Two modes:

- **equal work** (``duration=None``): every payload is sent exactly once, the clients taking
  them in turn. Comparing single-row requests with micro-batches of the same rows then
  compares the same work;
- **bounded time** (``duration`` in seconds): each client sends payloads drawn at random
  (``seed``) until the time is up, so a test of N concurrent clients ends on time whatever
  the service does.

A request that gets no answer (refused, reset, timed out) or a status other than 2xx is an
error, kept with its message; the service is never mocked.

:func:`echo_server` is the smallest HTTP server of the standard library, answering every POST
with a small JSON body, with or without Nagle's algorithm: it shows what one socket option
costs a small request (Nagle's algorithm holds back the answer's body until the client
acknowledges its headers, and the client delays that acknowledgement, about 40 ms on Linux).

**Why hand-written.** Load generators exist (Locust, k6, wrk, vegeta), but they are separate
programs with their own reports; the lesson needs every request's latency in the notebook, a
seed, and an exact count of rows, in a few lines that show what is measured. The percentiles
come from :class:`mlsys_kit.design.latency.LatencyStats`.

Examples
--------
>>> import tempfile, pathlib
>>> from sklearn.linear_model import LogisticRegression
>>> from mlsys_kit.deployment.artifacts import save_artifact
>>> from mlsys_kit.deployment.service import serve
>>> model = LogisticRegression().fit([[0.0], [1.0], [0.2], [0.9]], [0, 1, 0, 1])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
>>> _ = save_artifact(model, path, features={"amount": "float"})
>>> single = [{"amount": x / 10} for x in range(10)]
>>> batches = [{"rows": single[:5]}, {"rows": single[5:]}]
>>> with serve(path) as service:
...     one_by_one = run_load(service.url, single)
...     batched = run_load(service.url, batches)
...     load = run_load(service.url, single, n_clients=3, duration=0.5, seed=0)
>>> one_by_one.n_requests, one_by_one.n_rows, batched.n_requests, batched.n_rows
(10, 10, 2, 10)
>>> load.n_clients, load.n_errors, load.n_requests >= 1  # how many: as many as fit in 0.5 s
(3, 0, True)
>>> list(load.to_frame().columns)  # doctest: +NORMALIZE_WHITESPACE
['clients', 'requests', 'rows', 'errors', 'p50 (ms)', 'p95 (ms)', 'p99 (ms)', 'max (ms)',
 'requests/s', 'rows/s']
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.deployment.artifacts import BATCH_KEY
from mlsys_kit.design.latency import LatencyStats
from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_bool,
    check_float,
    check_int,
    check_type,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = ["LOAD_PERCENTILES", "LoadResult", "run_load", "pool_results", "echo_server"]

#: Percentiles of the latency that :meth:`LoadResult.to_frame` reports: the median and the tail.
LOAD_PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0)

_MESSAGE_LENGTH = 200


@dataclass(frozen=True, eq=False)
class LoadResult(Report):
    """Every request of a load run: its wall time, HTTP status and rows.

    Attributes
    ----------
    seconds : numpy.ndarray
        Wall time of each request, from sending it to reading its whole answer (or failing).
    status : numpy.ndarray
        HTTP status of each request; 0 when no answer came (refused, reset, timed out).
    rows : numpy.ndarray
        Rows each request carried (1 for a single row, B for ``{"rows": [B rows]}``).
    wall_seconds : float
        From the start of the first timed request to the end of the last one.
    n_clients : int
        Clients that sent requests at the same time.
    errors : tuple of str
        One message per failed request (no answer, or a status other than 2xx).

    Examples
    --------
    >>> result = LoadResult(
    ...     seconds=np.array([0.002, 0.004, 0.003]), status=np.array([200, 200, 422]),
    ...     rows=np.array([1, 1, 1]), wall_seconds=0.01, n_clients=1,
    ...     errors=("422: invalid request",))
    >>> result.n_requests, result.n_errors, result.n_rows, result.rows_per_second
    (3, 1, 2, 200.0)
    >>> round(result.typical_rows_per_second)  # 1 ÷ the median of 2 ms and 4 ms
    333
    >>> round(result.latency.p50 * 1e3, 1)  # answered requests only
    3.0
    """

    seconds: np.ndarray
    status: np.ndarray
    rows: np.ndarray
    wall_seconds: float
    n_clients: int
    errors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owner = "LoadResult"
        for name in ("seconds", "status", "rows"):
            value = np.asarray(getattr(self, name))
            if value.ndim != 1:
                raise ParameterError(f"{owner}: {name} must be 1-D; got shape {value.shape}")
            value = value.copy()
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        if not self.seconds.size == self.status.size == self.rows.size:
            raise ParameterError(
                f"{owner}: seconds, status and rows need one entry per request; got "
                f"{self.seconds.size}, {self.status.size} and {self.rows.size}"
            )
        check_float("wall_seconds", self.wall_seconds, min=0, owner=owner)
        check_int("n_clients", self.n_clients, min=1, owner=owner)

    @property
    def ok(self) -> np.ndarray:
        """Which requests succeeded (a 2xx answer), as a boolean array."""
        return (self.status >= 200) & (self.status < 300)

    @property
    def n_requests(self) -> int:
        """Requests sent (timed ones; warm-up requests are not counted)."""
        return int(self.status.size)

    @property
    def n_errors(self) -> int:
        """Requests that got no answer or a status other than 2xx."""
        return int(self.n_requests - self.ok.sum())

    @property
    def n_answered(self) -> int:
        """Requests that got an HTTP answer, of any status."""
        return int(np.sum(self.status > 0))

    @property
    def n_rows(self) -> int:
        """Rows scored: the rows of the requests that succeeded."""
        return int(self.rows[self.ok].sum())

    @property
    def requests_per_second(self) -> float:
        """Successful requests per second of wall time."""
        return float(self.ok.sum() / self.wall_seconds) if self.wall_seconds > 0 else float("nan")

    @property
    def rows_per_second(self) -> float:
        """Rows scored per second of wall time: the throughput."""
        return self.n_rows / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    @property
    def typical_rows_per_second(self) -> float:
        """Throughput from the median request: ``n_clients`` ÷ the median seconds per row.

        A client that sends its next request as soon as it has an answer gets its rows at
        the rate rows ÷ request time, and ``n_clients`` such clients at ``n_clients`` times
        that (Little's law: requests in flight = throughput × time per request). The median
        in place of the mean keeps the few requests that another program on the machine
        delayed from deciding the number; ``rows_per_second`` is the plain wall-time rate.
        """
        if not self.ok.any():
            return float("nan")
        return self.n_clients / float(np.median(self.seconds[self.ok] / self.rows[self.ok]))

    @property
    def latency(self) -> LatencyStats:
        """The latencies of the successful requests (p50, p99, ...); needs at least one."""
        if not self.ok.any():
            raise ParameterError("LoadResult.latency: no request succeeded")
        return LatencyStats(self.seconds[self.ok])

    def to_frame(self) -> pd.DataFrame:
        """One row: clients, requests, rows, errors, latency percentiles (ms) and throughput."""
        summary: dict[str, Any] = {
            "clients": self.n_clients,
            "requests": self.n_requests,
            "rows": self.n_rows,
            "errors": self.n_errors,
        }
        for q in LOAD_PERCENTILES:
            summary[f"p{q:g} (ms)"] = (
                self.latency.percentile(q) * 1e3 if self.ok.any() else float("nan")
            )
        summary["max (ms)"] = self.latency.max * 1e3 if self.ok.any() else float("nan")
        summary["requests/s"] = self.requests_per_second
        summary["rows/s"] = self.rows_per_second
        return pd.DataFrame([summary])


def run_load(
    url: str,
    payloads: Sequence[Mapping[str, Any]],
    *,
    n_clients: int = 1,
    duration: float | None = None,
    path: str = "/predict",
    timeout: float = 10.0,
    warmup: int = 1,
    seed: Seed = 0,
) -> LoadResult:
    """POST JSON payloads to a service from ``n_clients`` concurrent clients and time each one.

    Parameters
    ----------
    url : str
        The service's base URL, e.g. ``service.url`` of
        :func:`~mlsys_kit.deployment.service.serve`.
    payloads : sequence of dict
        Request bodies (encoded to JSON once, before timing): single rows
        ``{"amount": 12.5, ...}`` or batches ``{"rows": [{...}, ...]}``.
    n_clients : int, default 1
        Clients (threads, each with its own keep-alive connection) sending at the same time.
    duration : float, optional
        ``None`` (equal work): each payload is sent exactly once, the clients taking them in
        turn. A number of seconds (bounded time): each client sends payloads drawn at random
        until the time is up (a request under way then finishes).
    path : str, default "/predict"
        The endpoint, appended to ``url``.
    timeout : float, default 10
        Seconds a request may take before it counts as an error.
    warmup : int, default 1
        Untimed requests each client sends first (opening its connection); they are scored
        by the service but not counted.
    seed : int or numpy.random.Generator, default 0
        Draws the payloads in bounded-time mode (each client its own stream).

    Returns
    -------
    LoadResult
        Each timed request's wall time, status and rows, and the run's wall time.

    Raises
    ------
    ParameterError
        When an argument is out of range, or a payload is not a JSON object.

    Examples
    --------
    Against a URL where nothing listens, every request is an error, and none hangs:

    >>> refused = run_load("http://127.0.0.1:9", [{"amount": 1.0}] * 3, warmup=0)
    >>> refused.n_requests, refused.n_errors, refused.n_answered
    (3, 3, 0)
    >>> refused.errors[0]
    'ConnectError: ...'
    """
    owner = "run_load"
    check_type("url", url, str, owner=owner)
    check_type("path", path, str, owner=owner)
    check_type("payloads", payloads, (list, tuple), owner=owner)
    if not payloads:
        raise ParameterError(f"{owner}: payloads is empty: give at least one request body")
    n_clients = check_int("n_clients", n_clients, min=1, owner=owner)
    if duration is not None:
        duration = check_float("duration", duration, min=0, open_min=True, owner=owner)
    timeout = check_float("timeout", timeout, min=0, open_min=True, owner=owner)
    warmup = check_int("warmup", warmup, min=0, owner=owner)
    bodies, rows = _encode(payloads, owner)
    tls = _shared_tls_context(url)
    streams = make_rng(seed, owner=owner).spawn(n_clients)
    next_index = itertools.count().__next__  # shared by the clients (atomic under the GIL)
    start: list[float] = []
    ready = threading.Barrier(n_clients, action=lambda: start.append(time.perf_counter()))
    records: list[list[tuple[float, float, int, int, str]]] = [[] for _ in range(n_clients)]
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            send(number)
        except BaseException as exc:  # re-raised below, after every client has stopped
            failures.append(exc)
            ready.abort()  # release the others from the barrier

    def send(number: int) -> None:
        import httpx

        rng = streams[number]
        sent = records[number]
        headers = {"content-type": "application/json"}
        with httpx.Client(base_url=url, timeout=timeout, headers=headers, verify=tls) as session:
            for i in range(warmup):
                _post(session, path, bodies[i % len(bodies)])
            ready.wait()
            deadline = start[0] + duration if duration is not None else None
            while True:
                if deadline is None:
                    index = next_index()
                    if index >= len(bodies):
                        break
                else:
                    if time.perf_counter() >= deadline:
                        break
                    index = int(rng.integers(len(bodies)))
                began = time.perf_counter()
                status, message = _post(session, path, bodies[index])
                sent.append((began, time.perf_counter(), status, rows[index], message))

    threads = [
        threading.Thread(target=client, args=(i,), name=f"load client {i}", daemon=True)
        for i in range(n_clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [exc for exc in failures if not isinstance(exc, threading.BrokenBarrierError)]
    if failed:
        raise failed[0]
    done = sorted(itertools.chain.from_iterable(records))
    if not done:
        return LoadResult(np.zeros(0), np.zeros(0, int), np.zeros(0, int), 0.0, n_clients)
    began, ended, status, counts, messages = zip(*done, strict=True)
    return LoadResult(
        seconds=np.subtract(ended, began),
        status=np.array(status, dtype=int),
        rows=np.array(counts, dtype=int),
        wall_seconds=max(ended) - min(began),
        n_clients=n_clients,
        errors=tuple(message for message in messages if message),
    )


def _shared_tls_context(url: str) -> Any:
    """One TLS context for every client of an ``https`` URL (building one loads the CA
    certificates: about 25 ms of CPU a client); none for plain ``http``, which has no TLS."""
    if not url.lower().startswith("https:"):
        return False
    import httpx

    return httpx.create_ssl_context()


def _encode(payloads: Sequence[Mapping[str, Any]], owner: str) -> tuple[list[bytes], list[int]]:
    """Each payload as JSON bytes, and the rows it carries."""
    bodies, rows = [], []
    for i, payload in enumerate(payloads):
        if not isinstance(payload, Mapping):
            raise ParameterError(
                f"{owner}: payloads[{i}] must be a JSON object (a dict); "
                f"got {type(payload).__name__}"
            )
        batch = payload.get(BATCH_KEY)
        rows.append(len(batch) if isinstance(batch, list) else 1)
        bodies.append(json.dumps(payload).encode())
    return bodies, rows


def _post(session: Any, path: str, body: bytes) -> tuple[int, str]:
    """POST one body: its HTTP status (0 without an answer) and an error message ('' if ok)."""
    import httpx

    try:
        reply = session.post(path, content=body)
    except httpx.HTTPError as exc:
        return 0, f"{type(exc).__name__}: {exc}"[:_MESSAGE_LENGTH]
    if 200 <= reply.status_code < 300:
        return reply.status_code, ""
    return reply.status_code, f"{reply.status_code}: {reply.text}"[:_MESSAGE_LENGTH]


def pool_results(results: Sequence[LoadResult]) -> LoadResult:
    """The requests of several load runs of the same clients as one result.

    Interleaving rounds (a few requests of one way, then of another, and again) is how to
    compare ways fairly on a machine whose load changes: a busy moment then hits every way
    alike. Pooling gives each way its requests from every round; the wall times add up.

    Parameters
    ----------
    results : sequence of LoadResult
        At least one, all with the same ``n_clients``.

    Returns
    -------
    LoadResult

    Raises
    ------
    ParameterError
        When ``results`` is empty or the runs had different numbers of clients.

    Examples
    --------
    >>> first = LoadResult(np.array([0.002]), np.array([200]), np.array([1]), 0.002, 1)
    >>> second = LoadResult(np.array([0.004, 0.003]), np.array([200, 200]), np.array([1, 1]),
    ...                     0.007, 1)
    >>> pooled = pool_results([first, second])
    >>> pooled.n_requests, round(pooled.wall_seconds, 3), round(pooled.latency.p50 * 1e3, 1)
    (3, 0.009, 3.0)
    """
    owner = "pool_results"
    check_type("results", results, (list, tuple), owner=owner)
    if not results:
        raise ParameterError(f"{owner}: results is empty: give at least one LoadResult")
    for result in results:
        check_type("each result", result, LoadResult, owner=owner)
    clients = sorted({result.n_clients for result in results})
    if len(clients) > 1:
        raise ParameterError(f"{owner}: the runs had different numbers of clients: {clients}")
    return LoadResult(
        seconds=np.concatenate([result.seconds for result in results]),
        status=np.concatenate([result.status for result in results]),
        rows=np.concatenate([result.rows for result in results]),
        wall_seconds=sum(result.wall_seconds for result in results),
        n_clients=clients[0],
        errors=tuple(itertools.chain.from_iterable(result.errors for result in results)),
    )


@contextmanager
def echo_server(*, nodelay: bool = True) -> Iterator[str]:
    """A minimal HTTP server on a free loopback port that answers every POST with ``{"ok": true}``.

    The standard library's :class:`http.server.ThreadingHTTPServer`, keep-alive (HTTP/1.1),
    writing each answer in two parts, headers then body, as many servers do. With
    ``nodelay=False`` its sockets keep **Nagle's algorithm** (small writes wait until the
    previous one is acknowledged); the client acknowledges the headers late (a *delayed
    ACK*, about 40 ms on Linux), so every small request waits for that timer. Servers set
    ``TCP_NODELAY`` (``nodelay=True``, the standard library's ``disable_nagle_algorithm``;
    uvicorn does it too) to avoid it.

    Parameters
    ----------
    nodelay : bool, default True
        Disable Nagle's algorithm on the server's connections.

    Yields
    ------
    str
        The server's base URL, ``http://127.0.0.1:<port>``; POST to any path. On leaving the
        block the server stops and its port is free again.

    Examples
    --------
    >>> with echo_server(nodelay=True) as url:
    ...     quick = run_load(url, [{"x": 1.0}] * 5, path="/")
    >>> quick.n_requests, quick.n_errors
    (5, 0)
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    nodelay = check_bool("nodelay", nodelay, owner="echo_server")
    body = b'{"ok": true}'

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = nodelay

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()  # the first write: the status line and headers
            self.wfile.write(body)  # the second: the body

        def log_message(self, *args: Any) -> None:  # quiet: no line per request on stderr
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    # shutdown() waits for the serving loop to look up; it looks every poll_interval (0.5 s
    # by default, most of a short probe's time)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        name="echo server",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
