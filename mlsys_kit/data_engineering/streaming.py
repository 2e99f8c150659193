"""Sliding-window features computed two ways: in batch over history, and one event at a time.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 3, "Batch
Processing Versus Stream Processing", and the training/serving skew of Chapter 7: a model is
trained on features a batch job computed over historical data (a *static* feature such as "the
user's transactions in the last hour", recomputed for every past event), and served with the
same feature computed by a stream processor as events arrive. The two must give the same number
for the same event, or the model sees different inputs in production than in training.

* :func:`batch_window_features` is the batch job: pandas' time-based rolling windows, per key,
  over the whole history at once (vectorised, high throughput).
* :class:`SlidingWindowAggregator` is the stream processor: it keeps, per key, only the events
  still inside the window, and answers each event as it arrives (low latency, bounded state).
  It is hand-written because the per-key window *is* the lesson: its few lines show exactly
  which events count, where the window's edges are, and what happens to an event that arrives
  out of order. (Stream engines such as Flink and Spark Structured Streaming, or the Python
  libraries Bytewax and Quix Streams, do the same with more machinery -- watermarks, allowed
  lateness, late-data side outputs -- and with their own window conventions, which would hide
  the very choices the notebook varies: the window's edges and the fate of a late event.)
* :func:`replay` feeds a table of events to an aggregator in a given order, the way a stream
  would deliver them, and collects its answers (and, optionally, each answer's wall time).

Both take the same window definition, ``closed`` as in :meth:`pandas.DataFrame.rolling`:

=============  =======================  ===============================================
``closed``     window of an event at t  in words
=============  =======================  ===============================================
``"left"``     ``[t - window, t)``      earlier events of the last ``window`` (default)
``"neither"``  ``(t - window, t)``      the same, minus an event exactly ``window`` ago
``"right"``    ``(t - window, t]``      pandas' default: counts the event itself
``"both"``     ``[t - window, t]``
=============  =======================  ===============================================

For exact agreement, pass integer values (amounts in cents, not floats in currency units): a
sum of integers does not depend on the order of additions, a sum of floats does.

Examples
--------
>>> import pandas as pd
>>> events = pd.DataFrame({
...     "user": ["a", "a", "b", "a"],
...     "time": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:30", "2024-01-01 10:40",
...                             "2024-01-01 11:00"]),
...     "cents": [1000, 250, 990, 400],
... })
>>> batch = batch_window_features(events, key="user", time="time", value="cents",
...                               window=pd.Timedelta(hours=1))
>>> batch
   count  total
0      0      0
1      1   1000
2      0      0
3      2   1250
>>> agg = SlidingWindowAggregator(pd.Timedelta(hours=1))
>>> [tuple(agg.update(e.user, e.time, e.cents)) for e in events.itertuples()]
[(0, 0), (1, 1000), (0, 0), (2, 1250)]
"""

from __future__ import annotations

import time as _time
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from mlsys_kit.params import ParameterError, check_bool, check_choice, check_type

__all__ = [
    "CLOSED",
    "LATE_POLICIES",
    "LateEventError",
    "SlidingWindowAggregator",
    "WindowFeatures",
    "batch_window_features",
    "replay",
]

Closed = Literal["left", "right", "both", "neither"]
LatePolicy = Literal["raise", "drop"]

#: Allowed values of ``closed`` (as in pandas' ``rolling``).
CLOSED: tuple[str, ...] = ("left", "right", "both", "neither")
#: What to do with an event later than the allowed lateness.
LATE_POLICIES: tuple[str, ...] = ("raise", "drop")

_COMPACT_AT = 64  # drop evicted slots from a key's lists once this many have piled up


class LateEventError(ValueError):
    """An event arrived later than the aggregator's allowed lateness for its key."""


class WindowFeatures(NamedTuple):
    """The window's aggregates for one event: how many events, and the sum of their values."""

    count: int
    total: Any


class _KeyWindow:
    """One key's events still needed, sorted by time: parallel lists with a moving head."""

    __slots__ = ("times", "values", "head", "watermark")

    def __init__(self) -> None:
        self.times: list[Any] = []
        self.values: list[Any] = []
        self.head = 0  # index of the first event still held
        self.watermark: Any = None  # the latest timestamp seen for this key


def _duration(delta: Any, name: str, *, allow_zero: bool, owner: str) -> Any:
    """``delta`` if it is a duration (a Timedelta or a number) > 0 (or ≥ 0), else ParameterError.

    A duration may be a :class:`pandas.Timedelta`, a :class:`datetime.timedelta` or a plain
    number (for numeric timestamps), which no checker of :mod:`mlsys_kit.params` covers.
    """
    if isinstance(delta, bool) or delta is None:
        raise ParameterError(f"{owner}: {name} must be a positive duration; got {delta!r}")
    try:
        zero = delta - delta
        ok = delta >= zero if allow_zero else delta > zero
    except TypeError:
        raise ParameterError(
            f"{owner}: {name} must be a duration or a number; got {delta!r}"
        ) from None
    if not ok:  # also False for NaN and NaT
        bound = "≥ 0" if allow_zero else "> 0"
        raise ParameterError(f"{owner}: {name} must be {bound}; got {delta!r}")
    return delta


class SlidingWindowAggregator:
    """Per-key count and sum over a sliding time window, updated one event at a time.

    This is what a stream processor computing an online feature does: for each incoming event
    of a key (a user), answer with the aggregates of that key's events inside the window, then
    remember the event for the answers to come, and forget events that no later answer needs.

    Parameters
    ----------
    window : duration
        Length of the window: a :class:`pandas.Timedelta` (or :class:`datetime.timedelta`) for
        datetime timestamps, a number for numeric timestamps. Must be > 0.
    closed : {"left", "neither", "right", "both"}, default "left"
        Which edges of the window are inclusive; see the module docstring. With ``"left"`` and
        ``"neither"`` the answer is computed *before* the event is added (it describes the
        user's history up to this event); with ``"right"`` and ``"both"`` it includes the event.
    late_policy : {"raise", "drop"}, default "raise"
        What to do with an event whose timestamp is more than ``allowed_lateness`` before the
        latest timestamp already seen for its key (its *watermark*). Such an event can no longer
        be answered exactly (the events it needs may be forgotten), so it is never answered
        silently: ``"raise"`` raises :class:`LateEventError`; ``"drop"`` skips it (it is not
        answered, and no later answer counts it), counts it in :attr:`n_dropped` and returns
        ``None``.
    allowed_lateness : duration, optional
        How far behind its key's watermark an event may be and still be handled exactly:
        inserted at its place in time, answered from the events received so far. The
        aggregator keeps ``window + allowed_lateness`` of history per key to do so. Default 0:
        every out-of-order event follows ``late_policy``.

    Attributes
    ----------
    n_updates : int
        Events received.
    n_late : int
        Events received out of order but within the allowed lateness (handled exactly).
    n_dropped : int
        Events skipped under ``late_policy="drop"``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``window`` is not > 0, ``allowed_lateness`` is negative, or ``closed`` or
        ``late_policy`` is not one of the allowed values.

    Examples
    --------
    >>> agg = SlidingWindowAggregator(10)  # numeric timestamps, a window of 10
    >>> agg.update("u", 0, 5), agg.update("u", 4, 7), agg.update("u", 12, 1)
    (WindowFeatures(count=0, total=0), WindowFeatures(count=1, total=5), \
WindowFeatures(count=1, total=7))
    >>> agg.update("u", 3, 2)
    Traceback (most recent call last):
    ...
    mlsys_kit.data_engineering.streaming.LateEventError: event of key 'u' at 3 is 9 behind the \
latest event of that key (at 12), more than allowed_lateness=0: raise allowed_lateness to handle \
it, or pass late_policy='drop' to skip such events
    >>> dropping = SlidingWindowAggregator(10, late_policy="drop")
    >>> [dropping.update("u", t, 1) for t in (0, 12, 3)], dropping.n_dropped
    ([WindowFeatures(count=0, total=0), WindowFeatures(count=0, total=0), None], 1)
    """

    def __init__(
        self,
        window: Any,
        *,
        closed: Closed = "left",
        late_policy: LatePolicy = "raise",
        allowed_lateness: Any = None,
    ) -> None:
        owner = "SlidingWindowAggregator"
        self.window = _duration(window, "window", allow_zero=False, owner=owner)
        check_choice("closed", closed, CLOSED, owner=owner)
        check_choice("late_policy", late_policy, LATE_POLICIES, owner=owner)
        if allowed_lateness is None:
            allowed_lateness = window - window
        self.allowed_lateness = _duration(
            allowed_lateness, "allowed_lateness", allow_zero=True, owner=owner
        )
        self.closed: str = closed
        self.late_policy: str = late_policy
        self._includes_self = closed in ("right", "both")
        self._far_edge_inclusive = closed in ("left", "both")
        self._horizon = self.window + self.allowed_lateness
        self._keys: dict[Hashable, _KeyWindow] = {}
        self.n_updates = 0
        self.n_late = 0
        self.n_dropped = 0

    def __repr__(self) -> str:
        return (
            f"SlidingWindowAggregator(window={self.window!r}, closed={self.closed!r}, "
            f"late_policy={self.late_policy!r}, allowed_lateness={self.allowed_lateness!r})"
        )

    @property
    def n_keys(self) -> int:
        """Keys with state."""
        return len(self._keys)

    @property
    def n_held(self) -> int:
        """Events held in memory, over all keys: the stream's state."""
        return sum(len(w.times) - w.head for w in self._keys.values())

    def update(self, key: Hashable, timestamp: Any, value: Any) -> WindowFeatures | None:
        """Receive one event and answer with the aggregates of its key's window.

        Parameters
        ----------
        key : hashable
            The entity the feature is about (a user id).
        timestamp : datetime-like or number
            The event time (when the event happened, not when it arrived).
        value : number
            What the window sums (an amount; integers sum exactly).

        Returns
        -------
        WindowFeatures or None
            ``(count, total)`` of the key's events in this event's window (see ``closed``);
            ``None`` only for an event dropped under ``late_policy="drop"``.

        Raises
        ------
        mlsys_kit.params.ParameterError
            When ``timestamp`` is missing (NaN or NaT).
        LateEventError
            Under ``late_policy="raise"``, for an event more than ``allowed_lateness`` behind
            the latest event of its key.
        """
        if timestamp != timestamp:  # NaN, NaT: a comparison with it would silently be False
            raise ParameterError(
                f"update: event of key {key!r} has a missing timestamp ({timestamp!r})"
            )
        self.n_updates += 1
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyWindow()
        times, values = state.times, state.values
        watermark = state.watermark
        if watermark is None or timestamp >= watermark:
            position = len(times)  # in order: append at the end
            state.watermark = watermark = timestamp
        elif watermark - timestamp <= self.allowed_lateness:
            self.n_late += 1
            position = bisect_right(times, timestamp, state.head)
        else:
            return self._too_late(key, timestamp, watermark)

        head = state.head
        start = timestamp - self.window
        lo = (
            bisect_left(times, start, head)
            if self._far_edge_inclusive
            else bisect_right(times, start, head)
        )
        times.insert(position, timestamp)
        values.insert(position, value)
        # Up to this event (it and earlier-received events at the same time count), or up to
        # the events strictly before it.
        hi = position + 1 if self._includes_self else bisect_left(times, timestamp, lo, position)
        answer = WindowFeatures(hi - lo, sum(values[lo:hi]) if hi > lo else value - value)

        # Forget what no later answer can need: events older than watermark - window - lateness.
        oldest_needed = watermark - self._horizon
        while head < len(times) and times[head] < oldest_needed:
            head += 1
        if head >= _COMPACT_AT and head * 2 >= len(times):
            del times[:head], values[:head]
            head = 0
        state.head = head
        return answer

    def _too_late(self, key: Hashable, timestamp: Any, watermark: Any) -> None:
        if self.late_policy == "drop":
            self.n_dropped += 1
            return None
        raise LateEventError(
            f"event of key {key!r} at {timestamp} is {watermark - timestamp} behind the latest "
            f"event of that key (at {watermark}), more than allowed_lateness="
            f"{self.allowed_lateness}: raise allowed_lateness to handle it, or pass "
            "late_policy='drop' to skip such events"
        )


def batch_window_features(
    events: pd.DataFrame,
    *,
    key: str,
    time: str,
    value: str,
    window: Any,
    closed: Closed = "left",
) -> pd.DataFrame:
    """Count and sum of each key's events in a sliding time window, for every event at once.

    The batch counterpart of :class:`SlidingWindowAggregator` (with events in time order): a
    pandas time-based ``rolling`` per key over the whole history, as a training pipeline would
    compute the feature for every past event.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event, in any order.
    key, time, value : str
        Columns: the entity, the event time (datetime64) and the value summed.
    window : pandas.Timedelta or str
        Window length, e.g. ``pd.Timedelta(hours=1)`` or ``"1h"``; must be > 0.
    closed : {"left", "neither", "right", "both"}, default "left"
        Inclusive edges, as in :meth:`pandas.DataFrame.rolling` (whose own default is
        ``"right"``: it counts the event itself).

    Returns
    -------
    pandas.DataFrame
        Columns ``count`` (int64) and ``total`` (int64 for an integer ``value`` column, else
        float64), with the index of ``events``. Events at the same time as the current one
        count when they come earlier in ``events`` and the window includes its right edge.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a column is missing, ``time`` is not datetime64, ``time`` or ``key`` has missing
        values, ``value`` is not numeric, ``window`` is not > 0, or ``closed`` is not allowed.

    Examples
    --------
    >>> events = pd.DataFrame({"user": [1, 1, 1],
    ...                        "time": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:20",
    ...                                                "2024-01-01 11:00"]),
    ...                        "cents": [100, 200, 300]})
    >>> batch_window_features(events, key="user", time="time", value="cents", window="1h",
    ...                       closed="both")
       count  total
    0      1    100
    1      2    300
    2      3    600
    """
    owner = "batch_window_features"
    check_type("events", events, pd.DataFrame, owner=owner)
    missing = [c for c in (key, time, value) if c not in events.columns]
    if missing:
        raise ParameterError(
            f"{owner}: events has no column(s) {missing}; columns: {list(events.columns)}"
        )
    check_choice("closed", closed, CLOSED, owner=owner)
    if not pd.api.types.is_datetime64_any_dtype(events[time]):
        raise ParameterError(
            f"{owner}: column {time!r} must be datetime64; got {events[time].dtype}"
        )
    if events[time].isna().any():
        raise ParameterError(f"{owner}: column {time!r} has missing timestamps")
    if events[key].isna().any():
        raise ParameterError(f"{owner}: column {key!r} has missing keys")
    if not pd.api.types.is_numeric_dtype(events[value]) or pd.api.types.is_bool_dtype(
        events[value]
    ):
        raise ParameterError(
            f"{owner}: column {value!r} must be numeric; got {events[value].dtype}"
        )
    try:
        window = pd.Timedelta(window)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{owner}: window must be a duration such as '1h'; got {window!r}"
        ) from None
    _duration(window, "window", allow_zero=False, owner=owner)

    integer = pd.api.types.is_integer_dtype(events[value])
    ordered = events[[key, time, value]].sort_values([key, time], kind="stable")
    rolled = (
        ordered.groupby(key, sort=False)
        .rolling(window, on=time, closed=closed, min_periods=0)[value]
        .agg(["count", "sum"])
    )
    # The result comes in the order of `ordered` (contiguous keys, each in time order), indexed
    # by (key, time): put the original labels back by position, then the original row order.
    rolled.index = ordered.index
    rolled = rolled.reindex(events.index)
    total = rolled["sum"].to_numpy()
    if integer:
        if np.abs(total).max(initial=0) >= 2**53:
            raise ParameterError(
                f"{owner}: sums of {value!r} exceed 2**53: float64 rolling sums lose digits"
            )
        total = total.astype(np.int64)
    return pd.DataFrame(
        {"count": rolled["count"].to_numpy().astype(np.int64), "total": total},
        index=events.index,
    )


def replay(
    aggregator: SlidingWindowAggregator,
    events: pd.DataFrame,
    *,
    key: str,
    time: str,
    value: str,
    order: Sequence[Any] | None = None,
    timed: bool = False,
) -> pd.DataFrame:
    """Feed ``events`` to ``aggregator`` one at a time, as a stream would, and collect answers.

    Parameters
    ----------
    aggregator : SlidingWindowAggregator
        Receives the events (its state carries over between calls).
    events : pandas.DataFrame
        One row per event.
    key, time, value : str
        Columns passed as :meth:`SlidingWindowAggregator.update`'s arguments.
    order : sequence of index labels, optional
        The arrival order (e.g. sorted by ingestion time). Default: the row order of ``events``.
    timed : bool, default False
        Also record each update's wall time (``time.perf_counter``), in a ``seconds`` column.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``events`` (rows in their original order): ``count`` and ``total``
        (nullable: ``<NA>`` for an event the aggregator dropped), ``arrival`` (the position in
        which the event was fed, from 0) and, if ``timed``, ``seconds``.

    Raises
    ------
    LateEventError
        Propagated from the aggregator (``late_policy="raise"``); the events before it were fed.
    mlsys_kit.params.ParameterError
        When ``events`` has a duplicated index label or ``order`` does not list every row once.

    Examples
    --------
    >>> events = pd.DataFrame({"k": ["a", "a"], "t": [0, 5], "v": [2, 3]})
    >>> replay(SlidingWindowAggregator(10), events, key="k", time="t", value="v")
       count  total  arrival
    0      0      0        0
    1      1      2        1
    >>> replay(SlidingWindowAggregator(10), events, key="k", time="t", value="v", order=[1, 0])
    Traceback (most recent call last):
    ...
    mlsys_kit.data_engineering.streaming.LateEventError: event of key 'a' at 0 is 5 behind ...
    """
    owner = "replay"
    check_type("aggregator", aggregator, SlidingWindowAggregator, owner=owner)
    check_type("events", events, pd.DataFrame, owner=owner)
    timed = check_bool("timed", timed, owner=owner)
    if not events.index.is_unique:
        raise ParameterError(f"{owner}: events must have a unique index: answers are aligned to it")
    frame = events if order is None else events.loc[list(order)]
    if len(frame) != len(events) or not frame.index.is_unique:
        raise ParameterError(f"{owner}: order must list every row label of events exactly once")
    keys = frame[key].tolist()
    times = frame[time].tolist()
    values = frame[value].tolist()
    n = len(frame)
    counts: list[Any] = [None] * n
    totals: list[Any] = [None] * n
    seconds = np.full(n, np.nan) if timed else None
    update = aggregator.update
    clock = _time.perf_counter
    for i in range(n):
        if seconds is not None:
            start = clock()
            answer = update(keys[i], times[i], values[i])
            seconds[i] = clock() - start
        else:
            answer = update(keys[i], times[i], values[i])
        if answer is not None:
            counts[i], totals[i] = answer
    integer = pd.api.types.is_integer_dtype(events[value])
    out = pd.DataFrame(
        {
            "count": pd.array(counts, dtype="Int64"),
            "total": pd.array(totals, dtype="Int64" if integer else "Float64"),
            "arrival": np.arange(n),
        },
        index=frame.index,
    )
    if seconds is not None:
        out["seconds"] = seconds
    return out.reindex(events.index)
