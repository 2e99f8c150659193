"""A small feature store: one feature definition, offline and online, joined point in time.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 10, "Feature
Store" (feature management, feature computation, feature consistency), and Chapter 5's data
leakage through the future ("Data Leakage", "Splitting time-correlated data randomly").

A :class:`FeatureView` names a feature and holds its one definition: chapter 3's sliding window
(the count and the sum of a key's events in ``[t - window, t)``), computed as of any time by
chapter 7's :func:`~mlsys_kit.deployment.batch_online.features_as_of`. Everything else reads
the values that one definition produced:

* :func:`materialize_offline` is the batch job of the *offline store*: a job that runs every
  ``every`` computes the feature of each key whose value changed since its last run, and
  appends a row ``(key, feature_time, values)``. The table is the feature's whole history.
* :func:`point_in_time_join` builds a training set: each labelled row gets the feature row of
  its key with the latest ``feature_time`` at or before the row's time, the value the model
  would have been served then. Two engines, which must agree: DuckDB's ``ASOF JOIN`` and
  :func:`pandas.merge_asof`.
* :func:`latest_value_join` is the naive join a feature store exists to prevent: every row gets
  its key's *latest* value, as of the day the training set is built, so rows of the past see
  their own future.
* :class:`OnlineStore` is the *online store*: SQLite (stdlib :mod:`sqlite3`), one table per
  view holding each key's latest value, upserted by :meth:`OnlineStore.materialize` and read
  by :meth:`OnlineStore.read` at request time. :func:`serve_online` replays the requests of a
  period against it, materializing at every run of the batch job.
* :func:`compare_feature_values` is the training/serving skew check: the values served online
  against the point-in-time values offline, for the same key and time.
  :meth:`FeatureSkewReport.raise_if_skewed` fails loudly with :class:`FeatureSkewError`.

Why not Feast: Feast (the open-source feature store) pins ``pandas < 3``, and the kit runs on
pandas 3; its offline store is a point-in-time join over a table of timestamped feature rows
and its online store a key-value table, which are what DuckDB and SQLite give here in a few
lines each. The join itself is DuckDB's and pandas', not hand-written; what is hand-written is
the lesson's plumbing: which row a training example may see.

Examples
--------
>>> import pandas as pd
>>> events = pd.DataFrame({
...     "user": [1, 1, 2],
...     "time": pd.to_datetime(["2024-01-01 09:10", "2024-01-01 09:40", "2024-01-01 10:20"]),
...     "cents": [500, 700, 900],
... })
>>> view = FeatureView("spend_1h", key="user", time="time", value="cents", window="1h")
>>> table = materialize_offline(view, events, every="1h", start="2024-01-01",
...                             end="2024-01-02")
>>> table
   user        feature_time  spend_1h_count  spend_1h_total
0     1 2024-01-01 10:00:00               2            1200
1     1 2024-01-01 11:00:00               0               0
2     2 2024-01-01 11:00:00               1             900
3     2 2024-01-01 12:00:00               0               0
>>> rows = pd.DataFrame({"user": [1, 2],
...                      "time": pd.to_datetime(["2024-01-01 10:30", "2024-01-01 10:30"])})
>>> point_in_time_join(rows, table, key="user", time="time")
   spend_1h_count  spend_1h_total
0               2            1200
1               0               0
>>> latest_value_join(rows, table, key="user", as_of="2024-01-02")
   spend_1h_count  spend_1h_total
0               0               0
1               0               0
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.deployment.batch_online import features_as_of
from mlsys_kit.params import ParameterError, check_choice, check_float, check_int, check_type
from mlsys_kit.results import Report

__all__ = [
    "FEATURE_TIME",
    "JOIN_ENGINES",
    "FeatureSkewError",
    "FeatureSkewReport",
    "FeatureView",
    "OnlineStore",
    "compare_feature_values",
    "latest_value_join",
    "materialize_offline",
    "point_in_time_join",
    "serve_online",
]

#: The offline table's column of when a feature row became available.
FEATURE_TIME = "feature_time"
#: Engines of :func:`point_in_time_join`.
JOIN_ENGINES: tuple[str, ...] = ("duckdb", "pandas")


def _columns(frame: pd.DataFrame, names: Sequence[str], what: str, owner: str) -> None:
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"{owner}: {what} has no column(s) {missing}; columns: {list(frame.columns)}"
        )


def _timedelta(value: Any, name: str, owner: str) -> pd.Timedelta:
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{owner}: {name} must be a duration such as '1h'; got {value!r}"
        ) from None
    if delta is pd.NaT or not delta > pd.Timedelta(0):
        raise ParameterError(f"{owner}: {name} must be a duration > 0; got {value!r}")
    return delta


@dataclass(frozen=True)
class FeatureView:
    """One feature's definition: a window count and sum of a key's events, and its name.

    Parameters
    ----------
    name : str
        The view's name: a SQL identifier (letters, digits, underscores). Its values are the
        columns ``{name}_count`` and ``{name}_total``.
    key, time, value : str
        Columns of the source events: the entity, the event time (datetime64), the summed
        value (numeric; integers sum exactly).
    window : pandas.Timedelta or str
        The window, e.g. ``"24h"``; > 0.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``name`` is not an identifier or ``window`` is not a duration > 0.

    Examples
    --------
    >>> FeatureView("spend_1h", key="user", time="time", value="cents", window="1h").columns
    ('spend_1h_count', 'spend_1h_total')
    >>> FeatureView("spend 1h", key="user", time="time", value="cents", window="1h")
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: FeatureView: name must be letters, digits and \
underscores (a SQL table name); got 'spend 1h'
    """

    name: str
    key: str
    time: str
    value: str
    window: Any

    def __post_init__(self) -> None:
        owner = "FeatureView"
        check_type("name", self.name, str, owner=owner)
        if not self.name.isidentifier() or not self.name.isascii():
            raise ParameterError(
                f"{owner}: name must be letters, digits and underscores (a SQL table name); "
                f"got {self.name!r}"
            )
        for field in ("key", "time", "value"):
            check_type(field, getattr(self, field), str, owner=owner)
        object.__setattr__(self, "window", _timedelta(self.window, "window", owner))

    @property
    def columns(self) -> tuple[str, str]:
        """The view's value columns: ``{name}_count`` and ``{name}_total``."""
        return (f"{self.name}_count", f"{self.name}_total")

    def compute(self, events: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
        """The feature of each query's key as of the query's time: the one definition.

        Parameters
        ----------
        events : pandas.DataFrame
            The source events, with the view's ``key``, ``time`` and ``value`` columns.
        queries : pandas.DataFrame
            Rows with the view's ``key`` and ``time`` columns.

        Returns
        -------
        pandas.DataFrame
            The view's :attr:`columns`, with the index of ``queries``; events at a query's
            exact time do not count (the window is ``[t - window, t)``).

        Raises
        ------
        mlsys_kit.params.ParameterError
            As :func:`~mlsys_kit.deployment.batch_online.features_as_of`.
        """
        found = features_as_of(
            events, queries, key=self.key, time=self.time, value=self.value, window=self.window
        )
        return found.set_axis(list(self.columns), axis=1)


def materialize_offline(
    view: FeatureView, events: pd.DataFrame, *, every: Any, start: Any, end: Any
) -> pd.DataFrame:
    """The offline store's table of a view: a row per key whenever a batch run saw it change.

    The batch job runs at ``start + k * every`` up to ``end`` (both included). A run computes,
    with :meth:`FeatureView.compute`, the value as of its time of every key whose value changed
    since the previous run: an event entered the window (the first run after the event) or
    left it (the first run after the event's time plus the window). The row's
    ``feature_time`` is the run's time: when the value became available. Between two rows of a
    key its value does not change, so the table holds the view's whole history.

    Parameters
    ----------
    view : FeatureView
        The feature.
    events : pandas.DataFrame
        Its source events.
    every : pandas.Timedelta or str
        The batch job's period, > 0.
    start, end : datetime-like
        The first run and the last possible run; ``end`` ≥ ``start``. Events before ``start``
        count in values but a key's first row is at a run.

    Returns
    -------
    pandas.DataFrame
        Columns ``view.key``, ``feature_time`` and the view's :attr:`~FeatureView.columns`,
        sorted by key and time, a fresh index; rows equal to the key's previous row dropped.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``view`` is not a FeatureView, ``every`` is not > 0, ``end`` is before
        ``start``, or the events are invalid (see :meth:`FeatureView.compute`).

    Examples
    --------
    >>> events = pd.DataFrame({"user": ["a"], "time": pd.to_datetime(["2024-01-01 00:30"]),
    ...                        "n": [1]})
    >>> view = FeatureView("clicks", key="user", time="time", value="n", window="2h")
    >>> materialize_offline(view, events, every="1h", start="2024-01-01", end="2024-01-01 06:00")
      user        feature_time  clicks_count  clicks_total
    0    a 2024-01-01 01:00:00             1             1
    1    a 2024-01-01 03:00:00             0             0
    """
    owner = "materialize_offline"
    check_type("view", view, FeatureView, owner=owner)
    check_type("events", events, pd.DataFrame, owner=owner)
    _columns(events, [view.key, view.time, view.value], "events", owner)
    every = _timedelta(every, "every", owner)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise ParameterError(f"{owner}: end must not be before start; got {start} > {end}")
    if not pd.api.types.is_datetime64_any_dtype(events[view.time]):
        raise ParameterError(
            f"{owner}: column {view.time!r} must be datetime64; got {events[view.time].dtype}"
        )
    times = events[view.time]
    keys = events[view.key].to_numpy()
    # The first run strictly after each change: an event entering, and leaving, the window.
    changes = pd.concat([times, times + view.window], ignore_index=True)
    steps = np.floor((changes - start) / every).to_numpy() + 1
    run = start + pd.to_timedelta(np.maximum(steps, 0) * every.value, unit="ns")
    runs = pd.DataFrame({view.key: np.concatenate([keys, keys]), view.time: run})
    runs = runs[(runs[view.time] <= end).to_numpy()].drop_duplicates()
    runs = runs.astype({view.time: times.dtype}).sort_values(
        [view.key, view.time], ignore_index=True
    )
    values = view.compute(events, runs)
    table = pd.concat([runs.rename(columns={view.time: FEATURE_TIME}), values], axis=1)
    columns = list(view.columns)
    same_key = table[view.key].eq(table[view.key].shift())
    unchanged = same_key & table[columns].eq(table[columns].shift()).all(axis=1)
    first_zero = ~same_key & table[columns].eq(0).all(axis=1)
    return table[~(unchanged | first_zero)].reset_index(drop=True)


def _feature_columns(table: pd.DataFrame, key: str, owner: str) -> list[str]:
    check_type("table", table, pd.DataFrame, owner=owner)
    _columns(table, [key, FEATURE_TIME], "table", owner)
    return [c for c in table.columns if c not in (key, FEATURE_TIME)]


def point_in_time_join(
    rows: pd.DataFrame,
    table: pd.DataFrame,
    *,
    key: str,
    time: str,
    engine: str = "duckdb",
    threads: int = 1,
) -> pd.DataFrame:
    """Each row's feature values as they were at the row's time: a point-in-time join.

    For a row ``(k, t)``: the row of ``table`` of key ``k`` with the latest ``feature_time``
    at or before ``t`` (a value available at ``t``); keys with no such row get 0, the value of
    a window with no events.

    Parameters
    ----------
    rows : pandas.DataFrame
        The rows to join (training examples, requests), with ``key`` and ``time`` columns.
    table : pandas.DataFrame
        A view's offline table (:func:`materialize_offline`): ``key``, ``feature_time`` and
        numeric value columns.
    key, time : str
        Column names in ``rows`` (``key`` also in ``table``).
    engine : {"duckdb", "pandas"}, default "duckdb"
        DuckDB's ``ASOF LEFT JOIN`` or :func:`pandas.merge_asof`.
    threads : int, default 1
        Threads DuckDB may use for the join (merge_asof always uses one): one by default, as
        everywhere in the kit, so that engines compare at equal budgets.

    Returns
    -------
    pandas.DataFrame
        The table's value columns, with the index of ``rows``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a frame lacks a column, ``engine`` is unknown or ``threads < 1``.

    Examples
    --------
    >>> table = pd.DataFrame({"user": [1, 1], "feature_time": pd.to_datetime(
    ...     ["2024-01-01 10:00", "2024-01-01 11:00"]), "spend": [5, 7]})
    >>> rows = pd.DataFrame({"user": [1, 1, 1], "time": pd.to_datetime(
    ...     ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-01 12:00"])})
    >>> point_in_time_join(rows, table, key="user", time="time", engine="pandas")
       spend
    0      0
    1      5
    2      7
    """
    owner = "point_in_time_join"
    check_type("rows", rows, pd.DataFrame, owner=owner)
    _columns(rows, [key, time], "rows", owner)
    values = _feature_columns(table, key, owner)
    check_choice("engine", engine, JOIN_ENGINES, owner=owner)
    threads = check_int("threads", threads, min=1, owner=owner)
    left = pd.DataFrame(
        {"_k": rows[key].to_numpy(), "_t": rows[time].to_numpy(), "_row": np.arange(len(rows))}
    )
    right = table.rename(columns={key: "_k", FEATURE_TIME: "_t"})
    right = right.astype({"_t": left["_t"].dtype})
    if engine == "duckdb":
        import duckdb

        with duckdb.connect(config={"threads": threads}) as con:
            con.register("lhs", left)
            con.register("rhs", right)
            picked = ", ".join(f'r."{c}"' for c in values)
            joined = con.execute(
                f"SELECT l._row, {picked} FROM lhs l ASOF LEFT JOIN rhs r "
                "ON l._k = r._k AND l._t >= r._t ORDER BY l._row"
            ).df()
    else:
        joined = pd.merge_asof(
            left.sort_values("_t", kind="stable"),
            right.sort_values("_t", kind="stable"),
            on="_t",
            by="_k",
            direction="backward",
            allow_exact_matches=True,
        ).sort_values("_row")
    return _filled(joined[values], table[values], rows.index)


def _filled(found: pd.DataFrame, like: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """``found`` with missing values as 0, the dtypes of ``like`` and the given index."""
    out = found.fillna(0).astype(like.dtypes.to_dict())
    return out.set_axis(index, axis=0)


def latest_value_join(
    rows: pd.DataFrame, table: pd.DataFrame, *, key: str, as_of: Any
) -> pd.DataFrame:
    """Each row's key's *latest* feature values as of ``as_of``: the naive, leaky join.

    What a join on the key alone gives when the feature table holds today's values: every row,
    however old, gets the value its key has at ``as_of`` (the day the training set is built),
    which counts events that happened after the row. Keys with no row by ``as_of`` get 0.

    Parameters
    ----------
    rows : pandas.DataFrame
        The rows to join, with a ``key`` column.
    table : pandas.DataFrame
        A view's offline table (:func:`materialize_offline`).
    key : str
        The key column.
    as_of : datetime-like
        When the join runs: the table's rows after it do not exist yet.

    Returns
    -------
    pandas.DataFrame
        The table's value columns, with the index of ``rows``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a frame lacks a column.

    Examples
    --------
    >>> table = pd.DataFrame({"user": [1, 1], "feature_time": pd.to_datetime(
    ...     ["2024-01-01 10:00", "2024-01-01 11:00"]), "spend": [5, 7]})
    >>> rows = pd.DataFrame({"user": [1, 2]})
    >>> latest_value_join(rows, table, key="user", as_of="2024-01-02")
       spend
    0      7
    1      0
    """
    owner = "latest_value_join"
    check_type("rows", rows, pd.DataFrame, owner=owner)
    _columns(rows, [key], "rows", owner)
    values = _feature_columns(table, key, owner)
    known = table[table[FEATURE_TIME] <= pd.Timestamp(as_of)]
    latest = known.sort_values(FEATURE_TIME, kind="stable").groupby(key).tail(1)
    found = rows[[key]].merge(latest, on=key, how="left")
    return _filled(found[values], table[values], rows.index)


class OnlineStore:
    """The online store: each key's latest feature values in SQLite, read at request time.

    One table per :class:`FeatureView`, keyed by the view's key: a materialization upserts the
    latest row of each key, a read looks keys up. The database is in memory by default (pass
    a path under the run folder to keep it).

    Parameters
    ----------
    path : str or path-like, default ":memory:"
        The SQLite database.

    Examples
    --------
    >>> view = FeatureView("spend", key="user", time="time", value="cents", window="1h")
    >>> table = pd.DataFrame({"user": [1, 1, 2], "feature_time": pd.to_datetime(
    ...     ["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 11:00"]),
    ...     "spend_count": [1, 2, 1], "spend_total": [500, 1200, 900]})
    >>> store = OnlineStore()
    >>> store.materialize(view, table, end="2024-01-01 10:30")
    1
    >>> store.read(view, [1, 2, 3])
       spend_count  spend_total
    0            1          500
    1            0            0
    2            0            0
    >>> store.materialize(view, table, end="2024-01-01 11:00")
    2
    >>> store.read(view, [1, 2])
       spend_count  spend_total
    0            2         1200
    1            1          900
    """

    def __init__(self, path: Any = ":memory:") -> None:
        self.connection = sqlite3.connect(path)
        self._ready: set[str] = set()

    def __repr__(self) -> str:
        return f"OnlineStore(views={sorted(self._ready)})"

    def close(self) -> None:
        """Close the database."""
        self.connection.close()

    def _table(self, view: FeatureView) -> None:
        if view.name not in self._ready:
            count, total = view.columns
            self.connection.execute(
                f'CREATE TABLE IF NOT EXISTS "{view.name}" (key PRIMARY KEY, feature_time TEXT, '
                f'"{count}" INTEGER, "{total}" NUMERIC)'
            )
            self._ready.add(view.name)

    def materialize(
        self, view: FeatureView, table: pd.DataFrame, *, end: Any, start: Any = None
    ) -> int:
        """Upsert each key's latest row of ``table`` with ``start < feature_time ≤ end``.

        Parameters
        ----------
        view : FeatureView
            The feature.
        table : pandas.DataFrame
            Its offline table (:func:`materialize_offline`).
        end : datetime-like
            The materialization's time: later rows do not exist yet.
        start : datetime-like, optional
            The previous materialization's time (rows at or before it are already in the
            store); default: since the beginning.

        Returns
        -------
        int
            Keys written.

        Raises
        ------
        mlsys_kit.params.ParameterError
            When ``view`` is not a FeatureView or ``table`` lacks one of its columns.
        """
        owner = "OnlineStore.materialize"
        check_type("view", view, FeatureView, owner=owner)
        check_type("table", table, pd.DataFrame, owner=owner)
        _columns(table, [view.key, FEATURE_TIME, *view.columns], "table", owner)
        self._table(view)
        when = table[FEATURE_TIME]
        new = when <= pd.Timestamp(end)
        if start is not None:
            new &= when > pd.Timestamp(start)
        latest = table[new.to_numpy()].sort_values(FEATURE_TIME, kind="stable")
        latest = latest.drop_duplicates(view.key, keep="last")
        count, total = view.columns
        rows = zip(
            latest[view.key].tolist(),
            np.datetime_as_string(latest[FEATURE_TIME].to_numpy(), unit="s").tolist(),
            latest[count].tolist(),
            latest[total].tolist(),
            strict=True,
        )
        with self.connection:
            self.connection.executemany(
                f'INSERT OR REPLACE INTO "{view.name}" VALUES (?, ?, ?, ?)', rows
            )
        return len(latest)

    def read(self, view: FeatureView, keys: Sequence[Any]) -> pd.DataFrame:
        """The values of ``keys`` now (0 for a key never materialized), one row per key.

        Parameters
        ----------
        view : FeatureView
            The feature.
        keys : sequence
            The keys to look up (repeats allowed), e.g. the requests' users.

        Returns
        -------
        pandas.DataFrame
            The view's :attr:`~FeatureView.columns`, in the order of ``keys``, a fresh index.

        Raises
        ------
        mlsys_kit.params.ParameterError
            When ``view`` is not a FeatureView.
        """
        check_type("view", view, FeatureView, owner="OnlineStore.read")
        self._table(view)
        wanted = pd.unique(np.asarray(keys)).tolist()
        count, total = view.columns
        found: dict[Any, tuple[Any, Any]] = {}
        for i in range(0, len(wanted), 500):  # SQLite caps the parameters of a query
            chunk = wanted[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            query = f'SELECT key, "{count}", "{total}" FROM "{view.name}" WHERE key IN ({marks})'
            found.update((k, (c, t)) for k, c, t in self.connection.execute(query, chunk))
        values = [found.get(k, (0, 0)) for k in np.asarray(keys).tolist()]
        return pd.DataFrame(values, columns=list(view.columns))


def serve_online(
    store: OnlineStore,
    tables: dict[FeatureView, pd.DataFrame],
    requests: pd.DataFrame,
    *,
    time: str,
    every: Any,
    start: Any,
) -> pd.DataFrame:
    """Replay ``requests`` against the online store, materializing every ``every`` from ``start``.

    The materialization job runs at ``start + k * every``; each run upserts the rows of each
    view's table that appeared since the previous run, then the requests until the next run
    read the store. Rows up to ``start`` are materialized before the first request.

    Parameters
    ----------
    store : OnlineStore
        The online store.
    tables : dict
        Each :class:`FeatureView` and the offline table it materializes from.
    requests : pandas.DataFrame
        The requests, at or after ``start``, with every view's key column and ``time``.
    time : str
        The requests' time column.
    every : pandas.Timedelta or str
        The materialization period, > 0.
    start : datetime-like
        The first run.

    Returns
    -------
    pandas.DataFrame
        Every view's columns as read from the store at each request, with the index of
        ``requests``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``store`` is not an OnlineStore, a request is before ``start``, a frame lacks a
        column, or ``every`` is not > 0.
    """
    owner = "serve_online"
    check_type("store", store, OnlineStore, owner=owner)
    check_type("tables", tables, dict, owner=owner)
    check_type("requests", requests, pd.DataFrame, owner=owner)
    every = _timedelta(every, "every", owner)
    start = pd.Timestamp(start)
    for view in tables:
        check_type("a key of tables", view, FeatureView, owner=owner)
        _columns(requests, [view.key, time], "requests", owner)
    if len(requests) and requests[time].min() < start:
        raise ParameterError(
            f"{owner}: requests start at {requests[time].min()}, before start={start}"
        )
    run = np.floor((requests[time] - start) / every).to_numpy(np.int64)
    # Each table's rows, by the run that first sees them (rows up to start: the first run).
    pending = {}
    for view, table in tables.items():
        _columns(table, [view.key, FEATURE_TIME, *view.columns], "a table", owner)
        steps = np.ceil((table[FEATURE_TIME] - start) / every).to_numpy()
        pending[view] = dict(tuple(table.groupby(np.maximum(steps, 0).astype(np.int64))))
    parts = []
    for k in np.unique(run):
        at = start + int(k) * every
        for view in tables:
            ready = [pending[view].pop(step) for step in sorted(pending[view]) if step <= k]
            if ready:
                store.materialize(view, pd.concat(ready), end=at)
        batch = requests[run == k]
        read = [store.read(view, batch[view.key].to_numpy()) for view in tables]
        parts.append(pd.concat(read, axis=1).set_axis(batch.index, axis=0))
    columns = [c for view in tables for c in view.columns]
    if not parts:
        return pd.DataFrame(columns=columns, index=requests.index)
    return pd.concat(parts).loc[requests.index, columns]


class FeatureSkewError(ValueError):
    """Features served online differ from the offline values for the same key and time."""


@dataclass(frozen=True)
class FeatureSkewReport(Report):
    """Online against offline feature values, per feature column.

    Attributes
    ----------
    online, offline : pandas.DataFrame
        The compared values, same index and columns.
    tolerance : float
        The largest absolute difference counted as equal.
    """

    online: pd.DataFrame
    offline: pd.DataFrame
    tolerance: float

    @property
    def differs(self) -> pd.DataFrame:
        """True where a value differs by more than the tolerance."""
        return (self.online - self.offline).abs() > self.tolerance

    @property
    def n_skewed(self) -> int:
        """Rows with at least one differing value."""
        return int(self.differs.any(axis=1).sum())

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: rows compared, rows that differ, their share, largest gap."""
        differs = self.differs
        gap = (self.online - self.offline).abs()
        frame = pd.DataFrame(
            {
                "rows": len(differs),
                "skewed": differs.sum().astype("int64"),
                "skewed_share": differs.mean().round(4) if len(differs) else 0.0,
                "max_abs_diff": gap.max().fillna(0),
            }
        )
        frame.index.name = "feature"
        return frame

    def raise_if_skewed(self) -> None:
        """Raise :class:`FeatureSkewError` naming each skewed feature, if any differs.

        Raises
        ------
        FeatureSkewError
            With, per skewed feature, how many rows differ and the first one's two values.
        """
        differs = self.differs
        if not differs.to_numpy().any():
            return
        lines = []
        for column in differs.columns[differs.any().to_numpy()]:
            first = differs.index[differs[column].to_numpy()][0]
            first = first.item() if isinstance(first, np.generic) else first
            lines.append(
                f"{column}: {int(differs[column].sum())} of {len(differs)} rows differ "
                f"(row {first!r}: online {self.online.at[first, column].item()!r}, offline "
                f"{self.offline.at[first, column].item()!r})"
            )
        raise FeatureSkewError(
            "training/serving skew: online features differ from the offline values for the "
            "same key and time; " + "; ".join(lines)
        )


def compare_feature_values(
    online: pd.DataFrame, offline: pd.DataFrame, *, tolerance: float = 0.0
) -> FeatureSkewReport:
    """Compare features served online with the offline values of the same keys and times.

    Parameters
    ----------
    online, offline : pandas.DataFrame
        The same rows (same index) and columns: what the online store served, and what the
        point-in-time join gives for the same keys at the same times.
    tolerance : float, default 0.0
        The largest absolute difference counted as equal (≥ 0).

    Returns
    -------
    FeatureSkewReport
        Per feature, the rows that differ; :meth:`FeatureSkewReport.raise_if_skewed` raises.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When the frames' indexes or columns differ, or a column is not numeric.

    Examples
    --------
    >>> offline = pd.DataFrame({"spend": [500, 1200]})
    >>> report = compare_feature_values(offline / 100, offline)
    >>> report.to_frame()
             rows  skewed  skewed_share  max_abs_diff
    feature
    spend       2       2           1.0        1188.0
    >>> report.raise_if_skewed()
    Traceback (most recent call last):
    ...
    mlsys_kit.infrastructure.feature_store.FeatureSkewError: training/serving skew: online \
features differ from the offline values for the same key and time; spend: 2 of 2 rows differ \
(row 0: online 5.0, offline 500)
    """
    owner = "compare_feature_values"
    check_type("online", online, pd.DataFrame, owner=owner)
    check_type("offline", offline, pd.DataFrame, owner=owner)
    tolerance = check_float("tolerance", tolerance, min=0, owner=owner)
    if list(online.columns) != list(offline.columns):
        raise ParameterError(
            f"{owner}: online and offline must have the same columns; got "
            f"{list(online.columns)} and {list(offline.columns)}"
        )
    if not online.index.equals(offline.index):
        raise ParameterError(f"{owner}: online and offline must have the same index (rows)")
    for frame in (online, offline):
        for column in frame.columns:
            dtype = frame[column].dtype
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                raise ParameterError(f"{owner}: column {column!r} must be numeric; got {dtype}")
    return FeatureSkewReport(online=online, offline=offline, tolerance=tolerance)
