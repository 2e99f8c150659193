"""Three ways to pass data between processes: a database, a service, real-time transport.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 3, "Modes of
Dataflow": data passing through databases, through services (request-driven: REST, RPC), and
through real-time transport (publish/subscribe logs such as Kafka and Kinesis, message queues
such as RabbitMQ). Every mode here is real enough to measure, and small enough to read:

* **Database** -- :class:`TableWriter` inserts each message as a row of a SQLite table;
  :class:`TableReader` polls for the rows it has not read yet (``SELECT ... WHERE id > ?``).
  The table keeps every row, but the reader only sees a row at its next poll, and the reader
  must remember how far it has read.
* **Service** -- :class:`LoopbackService` is a real HTTP endpoint (the standard library's
  ``ThreadingHTTPServer`` in a background thread) bound to a loopback address only, with a
  port the operating system assigns; :func:`post_json` calls it with ``http.client`` (no
  proxies, no retries). A call succeeds only while the service is up: the caller and the
  callee are coupled.
* **Real-time transport** -- :class:`Broker` is an in-process publish/subscribe log: topics are
  append-only sequences of messages, each message has an *offset*, and every consumer *group*
  has its own committed offset, stored by the broker. A consumer that stops and comes back
  resumes from its group's committed offset, so nothing published meanwhile is lost, and
  messages arrive in the order they were published. This is the model of a Kafka topic with
  one partition.

Why a hand-written broker: a real Kafka (or Redpanda, Kinesis) needs a server that is not
available offline, and in-process publish/subscribe libraries for Python (PyPubSub, blinker,
pyee) call subscribers synchronously: they keep no log, no offsets and no messages for a
consumer that is down, which is the very point of real-time transport. Mocks of Kafka clients
exist for tests, but they hide the offsets this module is written to show. The broker keeps
every message (no retention limit), has one partition per topic and one active consumer per
group, and is thread-safe.

Examples
--------
>>> broker = Broker()
>>> broker.publish("transactions", b"tx-1"), broker.publish("transactions", b"tx-2")
(0, 1)
>>> consumer = broker.subscribe("transactions", group="fraud-scorer")
>>> [record.value for record in consumer.poll()]
[b'tx-1', b'tx-2']
>>> consumer.close()  # commits offset 2 for the group
>>> broker.publish("transactions", b"tx-3")  # published while no consumer is up
2
>>> consumer = broker.subscribe("transactions", group="fraud-scorer")  # back: resumes at 2
>>> [record.value for record in consumer.poll()], broker.lag("transactions", "fraud-scorer")
([b'tx-3'], 1)
>>> consumer.commit(); broker.lag("transactions", "fraud-scorer")
0
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from mlsys_kit.params import ParameterError, check_choice, check_float, check_int, check_type
from mlsys_kit.sim import BASELINE_COEFFICIENTS

__all__ = [
    "Broker",
    "BrokerError",
    "Consumer",
    "Delivery",
    "LoopbackService",
    "MODES",
    "Record",
    "ServiceError",
    "TableReader",
    "TableWriter",
    "fraud_score",
    "measure_delivery",
    "post_json",
]


# --------------------------------------------------------------------------------------------
# Real-time transport: an in-process publish/subscribe log with offsets
# --------------------------------------------------------------------------------------------


class BrokerError(RuntimeError):
    """A broker operation is not allowed (closed consumer, group already consumed...)."""


@dataclass(frozen=True)
class Record:
    """One message as a consumer receives it.

    Attributes
    ----------
    topic : str
        The topic it was published to.
    offset : int
        Its position in the topic: 0 for the first message, then 1, 2...
    value : bytes
        The message, as published.
    """

    topic: str
    offset: int
    value: bytes


class Broker:
    """An in-process publish/subscribe log: topics, offsets and consumer groups.

    Producers :meth:`publish` messages (bytes) to a topic; each message gets the next offset.
    A consumer :meth:`subscribe`-s to a topic as part of a *group*; every group reads every
    message (publish/subscribe), from the group's committed offset on, in publish order.
    Messages stay in the log whether or not anyone is consuming.

    Examples
    --------
    >>> broker = Broker()
    >>> for value in (b"a", b"b", b"c"):
    ...     _ = broker.publish("events", value)
    >>> scorer = broker.subscribe("events", group="scorer")
    >>> auditor = broker.subscribe("events", group="auditor")
    >>> [r.offset for r in scorer.poll(max_records=2)], [r.offset for r in auditor.poll()]
    ([0, 1], [0, 1, 2])
    >>> broker.end_offset("events"), scorer.position
    (3, 2)
    """

    def __init__(self) -> None:
        self._logs: dict[str, list[bytes]] = {}
        self._committed: dict[tuple[str, str], int] = {}
        self._active: set[tuple[str, str]] = set()
        self._changed = threading.Condition()

    def __repr__(self) -> str:
        with self._changed:
            sizes = {topic: len(log) for topic, log in self._logs.items()}
        return f"Broker(topics={sizes})"

    def publish(self, topic: str, value: bytes) -> int:
        """Append ``value`` to ``topic`` (created on first use) and return its offset.

        Raises
        ------
        mlsys_kit.params.ParameterError
            When ``topic`` is not a non-empty string, or ``value`` is not ``bytes`` (serialise
            first, e.g. ``json.dumps(...).encode()``: a real broker only carries bytes).
        """
        check_type("topic", topic, str, owner="publish")
        if not topic:
            raise ParameterError("publish: topic must be a non-empty string; got ''")
        if not isinstance(value, bytes | bytearray):
            raise ParameterError(
                f"publish: value must be bytes; got {type(value).__name__}: serialise it first"
            )
        with self._changed:
            log = self._logs.setdefault(topic, [])
            log.append(bytes(value))
            self._changed.notify_all()
            return len(log) - 1

    def subscribe(self, topic: str, group: str) -> Consumer:
        """Start consuming ``topic`` as ``group``, from the group's committed offset.

        A new group starts at offset 0 (the earliest message still in the log, like Kafka's
        ``auto.offset.reset=earliest``).

        Raises
        ------
        BrokerError
            When the group already has an open consumer on this topic (close it first).
        mlsys_kit.params.ParameterError
            When ``topic`` or ``group`` is not a non-empty string.
        """
        for name, value in (("topic", topic), ("group", group)):
            check_type(name, value, str, owner="subscribe")
            if not value:
                raise ParameterError(f"subscribe: {name} must be a non-empty string; got ''")
        with self._changed:
            if (topic, group) in self._active:
                raise BrokerError(
                    f"group {group!r} already has an open consumer on topic {topic!r}: close it "
                    "first (this broker has one partition per topic, so one consumer per group)"
                )
            self._active.add((topic, group))
            self._logs.setdefault(topic, [])
            start = self._committed.get((topic, group), 0)
        return Consumer(self, topic, group, start)

    def end_offset(self, topic: str) -> int:
        """The offset the next published message will get (the number of messages so far)."""
        with self._changed:
            return len(self._logs.get(topic, ()))

    def committed(self, topic: str, group: str) -> int:
        """The group's committed offset: where its next consumer will start."""
        with self._changed:
            return self._committed.get((topic, group), 0)

    def lag(self, topic: str, group: str) -> int:
        """Messages published but not yet committed by the group: its backlog."""
        with self._changed:
            return len(self._logs.get(topic, ())) - self._committed.get((topic, group), 0)

    # Called by Consumer ----------------------------------------------------------------------

    def _fetch(self, topic: str, start: int, max_records: int, timeout: float) -> list[Record]:
        with self._changed:
            log = self._logs[topic]
            if len(log) <= start and timeout > 0:
                self._changed.wait_for(lambda: len(log) > start, timeout)
            end = min(len(log), start + max_records)
            return [Record(topic, offset, log[offset]) for offset in range(start, end)]

    def _commit(self, topic: str, group: str, offset: int) -> None:
        with self._changed:
            self._committed[(topic, group)] = offset

    def _release(self, topic: str, group: str) -> None:
        with self._changed:
            self._active.discard((topic, group))


class Consumer:
    """A consumer of one topic in one group; get one with :meth:`Broker.subscribe`.

    :meth:`poll` returns the next messages and advances the consumer's :attr:`position`;
    :meth:`commit` stores that position at the broker as the group's offset. Messages polled
    but not committed when a consumer stops are delivered again to the group's next consumer
    (at-least-once delivery). Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, broker: Broker, topic: str, group: str, position: int) -> None:
        self._broker = broker
        self.topic = topic
        self.group = group
        self.position = position
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"position={self.position}"
        return f"Consumer(topic={self.topic!r}, group={self.group!r}, {state})"

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self, max_records: int = 500, timeout: float = 0.0) -> list[Record]:
        """The next messages after :attr:`position` (at most ``max_records``), in order.

        Parameters
        ----------
        max_records : int, default 500
            Upper bound on the number of messages returned (>= 1).
        timeout : float, default 0.0
            Seconds to wait for a message when none is available (a long poll: it returns
            as soon as one is published). 0 returns at once.

        Returns
        -------
        list of Record
            Possibly empty.

        Raises
        ------
        BrokerError
            When the consumer is closed.
        mlsys_kit.params.ParameterError
            When ``max_records`` < 1 or ``timeout`` is negative or not finite.
        """
        if self.closed:
            raise BrokerError(f"{self!r} is closed: subscribe again to resume from the group")
        max_records = check_int("max_records", max_records, min=1, owner="poll")
        timeout = check_float("timeout", timeout, min=0, owner="poll")
        records = self._broker._fetch(self.topic, self.position, max_records, timeout)
        self.position += len(records)
        return records

    def commit(self) -> None:
        """Store :attr:`position` as the group's committed offset."""
        if self.closed:
            raise BrokerError(f"{self!r} is closed: nothing to commit")
        self._broker._commit(self.topic, self.group, self.position)

    def close(self, *, commit: bool = True) -> None:
        """Stop consuming; commit the position first unless ``commit=False`` (a crash)."""
        if self.closed:
            return
        if commit:
            self.commit()
        self.closed = True
        self._broker._release(self.topic, self.group)


# --------------------------------------------------------------------------------------------
# Request-driven: a real HTTP service on the loopback interface
# --------------------------------------------------------------------------------------------


class ServiceError(RuntimeError):
    """The service answered, but not with a success (HTTP status other than 200)."""


def _loopback_address(host: Any, owner: str) -> str:
    """``host`` as a loopback IP address (``"localhost"`` is ``127.0.0.1``); else ParameterError."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ParameterError(
            f"{owner}: host must be a loopback address such as '127.0.0.1'; got {host!r}"
        ) from None
    if not address.is_loopback:
        raise ParameterError(
            f"{owner}: host must be a loopback address (127.0.0.0/8 or ::1); got {host!r}"
        )
    return str(address)


class LoopbackService:
    """A JSON-over-HTTP service on a loopback address, run in a background thread.

    Every ``POST`` with a JSON object as body is answered with ``handler(body)`` as JSON.
    The service listens on ``127.0.0.1`` by default and on a port the operating system
    assigns; :meth:`stop` and :meth:`start` take it down and bring it back on the same port
    (a consumer that crashes and restarts). Use it as a context manager to be sure it stops.

    Parameters
    ----------
    handler : callable
        Called with the request's JSON object (a dict) in a server thread; returns a
        JSON-serialisable object. An exception becomes an HTTP 500 answer and is kept in
        :attr:`errors`.
    host : str, default "127.0.0.1"
        A loopback address; anything else is refused (:class:`~mlsys_kit.params.ParameterError`).
    port : int, default 0
        0 lets the operating system choose a free port.

    Attributes
    ----------
    requests_served : int
        Requests answered with status 200.
    errors : list of str
        Messages of handler exceptions.

    Examples
    --------
    >>> with LoopbackService(lambda body: {"double": 2 * body["x"]}) as service:
    ...     post_json(service.port, {"x": 21})
    {'double': 42}
    >>> service.running
    False
    """

    def __init__(
        self, handler: Callable[[dict[str, Any]], Any], *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        owner = "LoopbackService"
        if not callable(handler):
            raise ParameterError(f"{owner}: handler must be callable; got {type(handler).__name__}")
        self.host = _loopback_address(host, owner)
        port = check_int("port", port, min=0, max=65535, owner=owner)
        self.handler = handler
        self.port = port
        self.requests_served = 0
        self.errors: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LoopbackService({self.url}, {state})"

    @property
    def running(self) -> bool:
        """Whether the service is accepting connections."""
        return self._server is not None

    @property
    def url(self) -> str:
        """``http://host:port/`` (port 0 until first started)."""
        return f"http://{self.host}:{self.port}/"

    def start(self) -> LoopbackService:
        """Bind, listen and serve in a background thread; on a restart, on the same port."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self.host, self.port), self._handler_class())
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"loopback-service-{self.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket: new connections are refused."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> LoopbackService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # seconds a connection may stay silent

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length", 0))
                    body = json.loads(self.rfile.read(length))
                    if not isinstance(body, dict):
                        raise ValueError("the body must be a JSON object")
                except ValueError as error:
                    self._answer(400, {"error": f"bad request: {error}"})
                    return
                try:
                    result = service.handler(body)
                except Exception as error:  # report to the caller, never crash the server
                    with service._lock:
                        service.errors.append(f"{type(error).__name__}: {error}")
                    self._answer(500, {"error": f"{type(error).__name__}: {error}"})
                    return
                with service._lock:
                    service.requests_served += 1
                self._answer(200, result)

            def _answer(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # no access log on stderr

        return Handler


def post_json(
    port: int,
    payload: Mapping[str, Any],
    *,
    path: str = "/",
    host: str = "127.0.0.1",
    timeout: float = 2.0,
) -> Any:
    """POST ``payload`` as JSON to a loopback service and return its JSON answer.

    One connection per call, no proxy, no retry: what happens when the service is down is
    exactly what the caller sees (``ConnectionRefusedError``).

    Parameters
    ----------
    port : int
        The service's port (:attr:`LoopbackService.port`).
    payload : mapping
        JSON-serialisable request body.
    path : str, default "/"
        Request path.
    host : str, default "127.0.0.1"
        A loopback address; anything else is refused.
    timeout : float, default 2.0
        Seconds to wait for the connection and the answer.

    Returns
    -------
    object
        The decoded JSON answer.

    Raises
    ------
    ConnectionRefusedError
        When nothing listens on the port (the service is down).
    ServiceError
        When the service answers with a status other than 200.
    mlsys_kit.params.ParameterError
        When ``host`` is not a loopback address.
    """
    host = _loopback_address(host, "post_json")
    body = json.dumps(dict(payload)).encode()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise ServiceError(f"HTTP {response.status}: {data.decode(errors='replace')}")
    return json.loads(data)


# --------------------------------------------------------------------------------------------
# Through a database: rows written by one process, polled by another
# --------------------------------------------------------------------------------------------

_TABLE_SQL = "CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"


def _connect(path: str | Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=5.0, isolation_level=None)  # autocommit
    connection.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class TableWriter:
    """The producer side of a database hand-off: one committed row per message.

    Parameters
    ----------
    path : str or Path
        The SQLite file (created if needed).
    table : str, default "requests"
        The table (created if needed): ``id INTEGER PRIMARY KEY, payload TEXT``.
    fresh : bool, default False
        Drop the table first, so that ids start again at 1.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "handoff.sqlite"
    >>> with TableWriter(db) as writer, TableReader(db) as reader:
    ...     writer.write('{"tx": 1}'), writer.write('{"tx": 2}')
    ...     reader.poll(), reader.poll(), reader.last_id
    (1, 2)
    ([(1, '{"tx": 1}'), (2, '{"tx": 2}')], [], 2)
    """

    def __init__(self, path: str | Path, table: str = "requests", *, fresh: bool = False) -> None:
        check_type("table", table, str, owner="TableWriter")
        if not table.isidentifier():
            raise ParameterError(
                f"TableWriter: table must be a plain SQL identifier such as 'requests'; "
                f"got {table!r}"
            )
        self.table = table
        self._connection = _connect(path)
        if fresh:
            self._connection.execute(f"DROP TABLE IF EXISTS {self.table}")
        self._connection.execute(_TABLE_SQL.format(table=self.table))

    def write(self, payload: str) -> int:
        """Insert ``payload`` as a new row (committed at once) and return its id."""
        check_type("payload", payload, str, owner="write")
        cursor = self._connection.execute(
            f"INSERT INTO {self.table} (payload) VALUES (?)", (payload,)
        )
        return int(cursor.lastrowid)

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TableReader:
    """The consumer side of a database hand-off: poll for rows not read yet.

    The reader, not the database, remembers how far it has read (:attr:`last_id`); a reader
    that restarts must be given that position back (``after=``), or it reads everything again.

    Parameters
    ----------
    path : str or Path
        The SQLite file.
    table : str, default "requests"
        The table written by :class:`TableWriter` (created if needed).
    after : int, default 0
        Read rows with ``id > after``.
    """

    def __init__(self, path: str | Path, table: str = "requests", *, after: int = 0) -> None:
        check_type("table", table, str, owner="TableReader")
        if not table.isidentifier():
            raise ParameterError(
                f"TableReader: table must be a plain SQL identifier such as 'requests'; "
                f"got {table!r}"
            )
        self.table = table
        self.last_id = check_int("after", after, min=0, owner="TableReader")
        self._connection = _connect(path)
        self._connection.execute(_TABLE_SQL.format(table=self.table))

    def poll(self, max_rows: int = 10_000) -> list[tuple[int, str]]:
        """Rows written since the last poll, as ``(id, payload)`` in id order."""
        rows = self._connection.execute(
            f"SELECT id, payload FROM {self.table} WHERE id > ? ORDER BY id LIMIT ?",
            (self.last_id, max_rows),
        ).fetchall()
        if rows:
            self.last_id = rows[-1][0]
        return rows

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# The consumer's work: score a transaction
# --------------------------------------------------------------------------------------------


def fraud_score(transaction: Mapping[str, Any], intercept: float) -> float:
    """Fraud probability of one transaction under the simulator's baseline fraud mechanism.

    The consumer's work in the dataflow notebook: a stand-in for a trained model, computed
    from the message alone with plain Python (the features of :func:`mlsys_kit.sim.risk_features`
    and :data:`mlsys_kit.sim.BASELINE_COEFFICIENTS`).

    Parameters
    ----------
    transaction : mapping
        Needs ``amount``, ``hour``, ``new_device``, ``account_age_days``, ``payment_method`` and
        ``n_items``, as in :attr:`mlsys_kit.sim.Marketplace.transactions`.
    intercept : float
        The mechanism's intercept (``Marketplace.regimes["intercept"]`` of the baseline regime).

    Returns
    -------
    float
        A probability in (0, 1).

    Examples
    --------
    >>> tx = {"amount": 36.6, "hour": 14, "new_device": False, "account_age_days": 400,
    ...       "payment_method": "card", "n_items": 1}
    >>> round(fraud_score(tx, intercept=-5.0), 4)
    0.0067
    """
    night = transaction["hour"] < 6
    new_device = bool(transaction["new_device"])
    features = {
        "log_amount": math.log(transaction["amount"]) - 3.6,
        "night": float(night),
        "new_device": float(new_device),
        "new_account": math.exp(-transaction["account_age_days"] / 30.0),
        "wallet": float(transaction["payment_method"] == "wallet"),
        "bank_transfer": float(transaction["payment_method"] == "bank_transfer"),
        "extra_items": float(transaction["n_items"] - 1),
        "new_device_x_night": float(new_device and night),
    }
    logit = intercept + sum(BASELINE_COEFFICIENTS[name] * x for name, x in features.items())
    return 1.0 / (1.0 + math.exp(-logit))


# --------------------------------------------------------------------------------------------
# Measuring delivery: the same messages through each mode, one-way latency per message
# --------------------------------------------------------------------------------------------

#: The three modes of dataflow, as :func:`measure_delivery` names them.
MODES: tuple[str, ...] = ("database", "service", "broker")


@dataclass(frozen=True, eq=False)
class Delivery:
    """What the consumer saw when messages were passed through one mode.

    Attributes
    ----------
    mode : str
        ``"database"``, ``"service"`` or ``"broker"``.
    seconds : numpy.ndarray
        One-way delivery latency of each message, in the order they were sent: from the moment
        the producer hands the message off to the moment the consumer holds it, decoded.
    order : list of int
        Message ids in the order the consumer received them.
    results : dict
        The consumer's ``work(message)`` output, by message id.
    handoff : numpy.ndarray
        Seconds the producer spent handing each message off (in send order): a row written, a
        message published, or, through a service, the whole call until the answer came back.
    polls : int
        Times the consumer asked for new messages: the database consumer's queries, the broker
        consumer's fetches; 0 for the service, whose consumer is called.
    """

    mode: str
    seconds: np.ndarray
    order: list[int]
    results: dict[int, Any]
    handoff: np.ndarray
    polls: int


def measure_delivery(
    mode: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    work: Callable[[dict[str, Any]], Any],
    folder: str | Path,
    send_interval: float = 0.002,
    poll_interval: float = 0.02,
    timeout: float = 30.0,
) -> Delivery:
    """Send ``messages`` from a producer to a consumer thread through one mode, and time them.

    The producer (the calling thread) sends one message every ``send_interval`` seconds,
    stamping each with ``sent_at`` (``time.perf_counter()``: producer and consumer share the
    process's clock). The consumer, in its own thread, notes when it holds each message, then
    runs ``work`` on it.

    * ``"database"``: :class:`TableWriter` inserts a row; the consumer's :class:`TableReader`
      polls every ``poll_interval`` seconds.
    * ``"service"``: :func:`post_json` to a :class:`LoopbackService` whose handler is the
      consumer (the producer waits for each answer: a synchronous call).
    * ``"broker"``: :meth:`Broker.publish`; the consumer long-polls (:meth:`Consumer.poll`
      with a timeout returns as soon as a message is published) and commits after each batch.

    Parameters
    ----------
    mode : {"database", "service", "broker"}
        How the messages travel.
    messages : sequence of mapping
        JSON-serialisable messages, each with a unique integer ``"id"``.
    work : callable
        The consumer's work on each decoded message (e.g. scoring it).
    folder : str or Path
        Where the database mode writes its SQLite file (a fresh sub-folder per call).
    send_interval : float, default 0.002
        Seconds the producer pauses after each message (>= 0).
    poll_interval : float, default 0.02
        Seconds between two polls of the database consumer (> 0).
    timeout : float, default 30.0
        Seconds allowed, beyond the sending itself, for the consumer to receive everything.

    Returns
    -------
    Delivery

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown mode, bad intervals, or messages without unique integer ids.
    RuntimeError
        When the consumer has not received every message within the time allowed, or
        failed (its exception is chained).
    ServiceError
        In the ``"service"`` mode, when ``work`` fails: the service answers HTTP 500 and the
        producer's call raises.
    """
    owner = "measure_delivery"
    check_choice("mode", mode, MODES, owner=owner)
    send_interval = check_float("send_interval", send_interval, min=0, owner=owner)
    poll_interval = check_float("poll_interval", poll_interval, min=0, open_min=True, owner=owner)
    timeout = check_float("timeout", timeout, min=0, open_min=True, owner=owner)
    ids = [m.get("id") for m in messages]
    if not ids or not all(isinstance(i, int) for i in ids) or len(set(ids)) != len(ids):
        raise ParameterError(
            f"{owner}: messages must be a non-empty sequence of mappings with unique int 'id's"
        )

    n = len(messages)
    received: dict[int, float] = {}
    order: list[int] = []
    results: dict[int, Any] = {}
    lock = threading.Lock()
    everything = threading.Event()
    stop = threading.Event()
    failure: list[BaseException] = []
    polls = [0]  # the consumer's requests for new messages

    def receive(message: dict[str, Any]) -> Any:
        held = time.perf_counter()
        result = work(message)
        with lock:
            received[message["id"]] = held - message["sent_at"]
            order.append(message["id"])
            results[message["id"]] = result
            if len(received) == n:
                everything.set()
        return result

    def guarded(loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as error:  # re-raised in the producer's thread
                failure.append(error)
                everything.set()

        return run

    def stamped(message: Mapping[str, Any]) -> dict[str, Any]:
        return {**message, "sent_at": time.perf_counter()}

    consumer_thread: threading.Thread | None = None
    if mode == "database":
        path = Path(tempfile.mkdtemp(prefix="dataflow-", dir=folder)) / "handoff.sqlite"
        writer = TableWriter(path, fresh=True)

        def db_loop() -> None:
            with TableReader(path) as reader:
                while not stop.is_set() and not everything.is_set():
                    polls[0] += 1
                    for _, payload in reader.poll():
                        receive(json.loads(payload))
                    if not everything.is_set():
                        stop.wait(poll_interval)

        consumer_thread = threading.Thread(target=guarded(db_loop), daemon=True)

        def send(message: Mapping[str, Any]) -> None:
            writer.write(json.dumps(stamped(message)))

        def finish() -> None:
            writer.close()

    elif mode == "broker":
        broker = Broker()

        def broker_loop() -> None:
            with broker.subscribe("transactions", "consumer") as consumer:
                while not stop.is_set() and not everything.is_set():
                    polls[0] += 1
                    for record in consumer.poll(timeout=0.05):
                        receive(json.loads(record.value))
                    consumer.commit()

        consumer_thread = threading.Thread(target=guarded(broker_loop), daemon=True)

        def send(message: Mapping[str, Any]) -> None:
            broker.publish("transactions", json.dumps(stamped(message)).encode())

        def finish() -> None:
            pass

    else:
        service = LoopbackService(lambda body: {"result": receive(body)}).start()

        def send(message: Mapping[str, Any]) -> None:
            post_json(service.port, stamped(message))

        def finish() -> None:
            service.stop()

    handoff: list[float] = []  # seconds the producer spent on each send
    try:
        if consumer_thread is not None:
            consumer_thread.start()
        for message in messages:
            started = time.perf_counter()
            send(message)
            handoff.append(time.perf_counter() - started)
            if failure:
                break
            if send_interval:
                time.sleep(send_interval)
        everything.wait(timeout)
    finally:
        stop.set()
        if consumer_thread is not None:
            consumer_thread.join(timeout=5)
        finish()
    if failure:
        raise RuntimeError(f"the {mode} consumer failed: {failure[0]!r}") from failure[0]
    if len(received) != n:
        raise RuntimeError(
            f"the {mode} consumer received {len(received)} of {n} messages within {timeout} s"
        )
    seconds = np.array([received[i] for i in ids])
    return Delivery(mode, seconds, order, results, np.array(handoff), polls[0])
