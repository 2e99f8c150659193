"""Batch prediction versus online prediction, replayed on a log of requests.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 7, "Batch
Prediction Versus Online Prediction" and "Unifying Batch Pipeline and Streaming Pipeline".

A **batch** system runs the model every few hours for every user it knows, from the features
as of that run, stores the predictions and serves the stored one when a request comes. An
**online** system runs the model when the request comes, from the features as of the request:
computed on request from the event log, or kept up to date per event by a stream processor
(*streaming features*). :func:`replay_batch_and_online` replays a log of requests against
both and returns, per request, the features and the prediction each path would have served
and how old the batch's features were (their *staleness*), and, per batch, how many of its
predictions nobody requested (wasted compute).

Both paths compute the feature with one piece of code, chapter 3's
:func:`~mlsys_kit.data_engineering.streaming.batch_window_features` (the count and the sum of
a key's events in a sliding window), through :func:`features_as_of`: the batch table is the
feature as of each batch time, the online feature is the feature as of each request. The
stream processor of chapter 3,
:class:`~mlsys_kit.data_engineering.streaming.SlidingWindowAggregator`, must give the same
value for the same event; the notebook checks it. This is the book's "unifying batch and
streaming pipelines": one definition of the feature, so that training, batch serving and
online serving cannot disagree.

:func:`add_account_takeovers` adds to a transaction log the one behaviour that makes a user's
features go stale within a day. The kit's simulator draws every transaction of a user
independently (its docstring: "no fraud rings or compromised accounts"), so nothing a user
did in the last hour says more about their next purchase than what they did yesterday. An
account takeover does: a fraudster buys several times with the account within a few hours.
It is hand-written because its three knobs (how often, for how long, how many purchases)
*are* the experiment: with none, stale features cost nothing.

Examples
--------
>>> import pandas as pd
>>> events = pd.DataFrame({
...     "user": [1, 1, 2],
...     "time": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 13:30", "2024-01-01 14:00"]),
...     "cents": [500, 700, 900],
... })
>>> queries = pd.DataFrame({"user": [1, 1, 2],
...                         "time": pd.to_datetime(["2024-01-01 12:00", "2024-01-01 14:00",
...                                                 "2024-01-01 14:00"])})
>>> features_as_of(events, queries, key="user", time="time", value="cents", window="1h")
   count  total
0      0      0
1      1    700
2      0      0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.data_engineering.streaming import batch_window_features
from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_float,
    check_type,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = [
    "PredictionReplay",
    "add_account_takeovers",
    "features_as_of",
    "replay_batch_and_online",
]

_HOUR = pd.Timedelta(hours=1)


def _columns(frame: pd.DataFrame, names: Sequence[str], what: str, owner: str) -> None:
    """ParameterError naming the missing columns of ``frame``, if any."""
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"{owner}: {what} has no column(s) {missing}; columns: {list(frame.columns)}"
        )


def features_as_of(
    events: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    key: str,
    time: str,
    value: str,
    window: Any,
) -> pd.DataFrame:
    """Window features of each query's key as of the query's time, from the event log.

    A point-in-time lookup: for a query ``(key, t)``, the count and the sum of ``value`` over
    that key's events in ``[t - window, t)``, the events that had happened *before* ``t``.
    The batch job asks it for every user at the batch time; an online service asks it for one
    user at the request time. It runs chapter 3's
    :func:`~mlsys_kit.data_engineering.streaming.batch_window_features` (``closed="left"``)
    over the events and the queries together, a query being an event of weight 0: the same
    feature code for every path.

    Parameters
    ----------
    events : pandas.DataFrame
        The event log, one row per event, in any order.
    queries : pandas.DataFrame
        One row per lookup, with the columns ``key`` and ``time``.
    key, time, value : str
        Columns: the entity (in both frames), the time (datetime64, in both frames) and the
        value summed (numeric, in ``events``).
    window : pandas.Timedelta or str
        Window length, e.g. ``"1h"``; must be > 0.

    Returns
    -------
    pandas.DataFrame
        ``count`` (int64) and ``total`` (int64 for an integer ``value``, else float64), with
        the index of ``queries``. An event at exactly a query's time does not count (it has
        not happened *before* it), as in the streaming aggregator's ``closed="left"``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a frame is not a DataFrame or lacks a column, ``value`` is not numeric or has
        missing values, or (from
        :func:`~mlsys_kit.data_engineering.streaming.batch_window_features`) a time column
        is not datetime64, a key or time is missing, or ``window`` is not > 0.

    Examples
    --------
    >>> events = pd.DataFrame({"user": ["a", "a"],
    ...                        "time": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:30"]),
    ...                        "cents": [100, 250]})
    >>> queries = pd.DataFrame({"user": ["a", "a"],
    ...                         "time": pd.to_datetime(["2024-01-01 10:30", "2024-01-01 11:15"])})
    >>> features_as_of(events, queries, key="user", time="time", value="cents", window="1h")
       count  total
    0      1    100
    1      1    250
    """
    owner = "features_as_of"
    check_type("events", events, pd.DataFrame, owner=owner)
    check_type("queries", queries, pd.DataFrame, owner=owner)
    _columns(events, [key, time, value], "events", owner)
    _columns(queries, [key, time], "queries", owner)
    if not pd.api.types.is_numeric_dtype(events[value]) or pd.api.types.is_bool_dtype(
        events[value]
    ):
        raise ParameterError(
            f"{owner}: column {value!r} must be numeric; got {events[value].dtype}"
        )
    if events[value].isna().any():
        raise ParameterError(f"{owner}: column {value!r} has missing values")
    # A query is a row whose value is missing: rolling windows count and sum only the values
    # present, so queries change no feature, and each gets the feature of the events before it.
    n_events = len(events)
    log = pd.DataFrame(
        {
            key: np.concatenate([events[key].to_numpy(), queries[key].to_numpy()]),
            time: pd.concat([events[time], queries[time]], ignore_index=True),
            "_value": np.r_[events[value].to_numpy(float), np.full(len(queries), np.nan)],
        }
    )
    found = batch_window_features(log, key=key, time=time, value="_value", window=window)
    total = found["total"].to_numpy()[n_events:]
    if pd.api.types.is_integer_dtype(events[value]):
        if np.abs(total).max(initial=0) >= 2**53:
            raise ParameterError(
                f"{owner}: sums of {value!r} exceed 2**53: float64 window sums lose digits"
            )
        total = total.astype(np.int64)  # exact below 2**53
    return pd.DataFrame(
        {"count": found["count"].to_numpy()[n_events:], "total": total}, index=queries.index
    )


@dataclass(frozen=True)
class PredictionReplay(Report):
    """What batch and online prediction serve on the same requests, for each batch period.

    Attributes
    ----------
    requests : pandas.DataFrame
        One row per request and batch period (long format; ``request`` is the request's
        label in the event log): ``every_hours`` (the period), the key and time columns,
        ``batch_time`` (the run that served it), ``staleness_hours`` (the age of that run's
        features at request time), ``in_table`` (the key was known at that run, so the run
        had a prediction for it), ``batch_count``, ``batch_total``, ``batch_score`` (the
        features and the prediction the batch path serves) and ``online_count``,
        ``online_total``, ``online_score`` (those the online path computes on request: the
        same for every period).
    batches : pandas.DataFrame
        One row per batch period and run: ``every_hours``, ``batch_time``, ``predicted``
        (keys known at that time: the predictions made), ``requested`` (distinct keys that
        requested one of them before the next run), ``requests`` and ``wasted_share`` (the
        share of its predictions nobody requested).
    """

    requests: pd.DataFrame
    batches: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row per batch period: what the batch path and the online path spent and served.

        Columns: ``batch_made`` (the batch job's predictions), ``batch_used`` (those requested
        at least once), ``wasted_share`` (the rest's share), ``online_made`` (one prediction
        per request) and ``staleness_h``, the mean age in hours of the batch path's features
        at request time (the online path's are as of the request).
        """
        made = self.batches.groupby("every_hours")["predicted"].sum()
        used = self.batches.groupby("every_hours")["requested"].sum()
        per = self.requests.groupby("every_hours")
        frame = pd.DataFrame(
            {
                "batch_made": made,
                "batch_used": used,
                "wasted_share": (1 - used / made.where(made > 0)).round(3),
                "online_made": per.size(),
                "staleness_h": per["staleness_hours"].mean().round(1),
            }
        )
        frame.index.name = "every_hours"
        return frame


def replay_batch_and_online(
    events: pd.DataFrame,
    *,
    key: str,
    time: str,
    value: str,
    window: Any,
    every_hours: Sequence[float],
    predict: Callable[[pd.DataFrame], Any],
    keys: Sequence[Any],
    start: Any,
    end: Any,
    known_since: Sequence[Any] | None = None,
) -> PredictionReplay:
    """Replay the requests of ``[start, end)`` against batch tables and an online model.

    Every event of the log in ``[start, end)`` is a request for a prediction about its key,
    made just before the event is recorded (a checkout asks for a fraud score). For each
    period ``every`` of ``every_hours``, the batch path runs at ``start + k * every``: for
    every key of ``keys`` known by then, the window features as of that time and ``predict``
    on them; a request is served the prediction of the last run at or before it. The online
    path computes the features as of the request and runs ``predict`` on them. Both compute
    the features with :func:`features_as_of` (in one pass for all periods). Events before
    ``start`` are history: they count in features.

    Parameters
    ----------
    events : pandas.DataFrame
        The event log: ``key``, ``time`` (datetime64) and ``value`` (numeric) columns, with a
        unique index (a request is named by its label).
    key, time, value : str
        Column names, as in :func:`features_as_of`.
    window : pandas.Timedelta or str
        The features' window, e.g. ``"1h"``.
    every_hours : sequence of float
        Batch periods in hours, each > 0, at least one.
    predict : callable
        Maps a DataFrame with columns ``count`` and ``total`` to one finite score per row
        (e.g. ``lambda f: model.predict_proba(f)[:, 1]``).
    keys : sequence
        Every key the batch job predicts for (users who never request included).
    start, end : datetime-like
        The replayed period; the first run of every period is at ``start``. ``end`` must be
        later.
    known_since : sequence of datetime-like, optional
        When each key of ``keys`` becomes known (a signup time): a run predicts only for keys
        known at its time. A request of a key the run did not know is served the prediction
        for its features as of that run and counts as not ``in_table``. Default: every key
        is known from ``start``.

    Returns
    -------
    PredictionReplay
        Per request and period, the two paths' features and predictions and the batch's
        staleness; per run, the predictions made and requested; ``to_frame()`` sums them up.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a frame lacks a column or has a duplicated index label, a period is not > 0,
        ``end`` is not after ``start``, ``predict`` is not callable or does not return one
        finite score per row, ``known_since`` is not as long as ``keys``, or a feature
        argument is invalid (see :func:`features_as_of`).

    Examples
    --------
    >>> events = pd.DataFrame({
    ...     "user": [1, 1, 1],
    ...     "time": pd.to_datetime(["2024-01-01 23:00", "2024-01-02 09:00", "2024-01-02 09:30"]),
    ...     "cents": [100, 200, 300],
    ... })
    >>> replay = replay_batch_and_online(
    ...     events, key="user", time="time", value="cents", window="1h", every_hours=[24],
    ...     predict=lambda f: f["count"], keys=[1, 2, 3], start="2024-01-02", end="2024-01-03")
    >>> replay.requests[["request", "staleness_hours", "batch_count", "online_count"]]
       request  staleness_hours  batch_count  online_count
    0        1              9.0            1             0
    1        2              9.5            1             1
    >>> replay.to_frame()
                 batch_made  batch_used  wasted_share  online_made  staleness_h
    every_hours
    24.0                  3           1         0.667            2          9.2
    """
    owner = "replay_batch_and_online"
    check_type("events", events, pd.DataFrame, owner=owner)
    _columns(events, [key, time, value], "events", owner)
    if not events.index.is_unique:
        raise ParameterError(f"{owner}: events must have a unique index: requests are named by it")
    periods = check_array(
        "every_hours", every_hours, ndim=1, min_length=1, dtype=float, finite=True, owner=owner
    )
    if (periods <= 0).any():
        raise ParameterError(f"{owner}: every_hours must all be > 0; got {periods.tolist()}")
    if not callable(predict):
        raise ParameterError(f"{owner}: predict must be callable; got {type(predict).__name__}")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if not end > start:
        raise ParameterError(f"{owner}: end must be after start; got start={start}, end={end}")
    key_list = list(keys)
    if known_since is None:
        known = pd.Series(pd.DatetimeIndex([start] * len(key_list)))
    else:
        known = pd.Series(pd.to_datetime(list(known_since)))
        if len(known) != len(key_list):
            raise ParameterError(
                f"{owner}: known_since must have one time per key; got {len(known)} times "
                f"for {len(key_list)} keys"
            )
    known_at = np.sort(known.to_numpy())
    since_of = dict(zip(key_list, known.to_numpy(), strict=True))

    requests = events.loc[(events[time] >= start) & (events[time] < end), [key, time]]
    served, runs = [], []
    for hours in periods:
        every = pd.Timedelta(hours=float(hours))
        run = ((requests[time] - start) // every).to_numpy(np.int64)
        at = pd.DatetimeIndex(
            [start + k * every for k in range(int(np.ceil((end - start) / every)))]
        )
        served.append(
            pd.DataFrame(
                {
                    "every_hours": float(hours),
                    "request": requests.index,
                    key: requests[key].to_numpy(),
                    time: requests[time].to_numpy(),
                    "run": run,
                    "batch_time": at[run] if len(run) else at[:0],
                }
            )
        )
        runs.append(
            pd.DataFrame(
                {
                    "every_hours": float(hours),
                    "run": np.arange(len(at)),
                    "batch_time": at,
                    "predicted": np.searchsorted(known_at, at.to_numpy(), side="right"),
                }
            )
        )
    out = pd.concat(served, ignore_index=True)
    batches = pd.concat(runs, ignore_index=True)

    # The batch tables hold a row per known key and run; only the rows a request reads are
    # looked up (the others cost the same and change nothing but the count of predictions).
    lookups = pd.concat(
        [requests.reset_index(drop=True), out[[key, "batch_time"]].set_axis([key, time], axis=1)],
        ignore_index=True,
    )
    features = features_as_of(events, lookups, key=key, time=time, value=value, window=window)
    online = features.iloc[: len(requests)]
    batch = features.iloc[len(requests) :]
    online_scores = _scores(predict, online.reset_index(drop=True), owner)
    repeat = np.tile(np.arange(len(requests)), len(periods))
    out["staleness_hours"] = (out[time] - out["batch_time"]) / _HOUR
    since = out[key].map(since_of)
    out["in_table"] = (since.notna() & (since <= out["batch_time"])).to_numpy()
    out["batch_count"] = batch["count"].to_numpy()
    out["batch_total"] = batch["total"].to_numpy()
    out["batch_score"] = _scores(predict, batch.reset_index(drop=True), owner)
    out["online_count"] = online["count"].to_numpy()[repeat]
    out["online_total"] = online["total"].to_numpy()[repeat]
    out["online_score"] = online_scores[repeat]

    used = out[out["in_table"]].drop_duplicates(["every_hours", "run", key])
    per_run = ["every_hours", "run"]
    batches["requested"] = _count_by(used, batches, per_run)
    batches["requests"] = _count_by(out, batches, per_run)
    made = batches["predicted"].where(batches["predicted"] > 0)
    batches["wasted_share"] = 1 - batches["requested"] / made
    return PredictionReplay(requests=out.drop(columns="run"), batches=batches.drop(columns="run"))


def _count_by(rows: pd.DataFrame, table: pd.DataFrame, on: list[str]) -> np.ndarray:
    """How many of ``rows`` fall on each row of ``table`` (matching the columns ``on``)."""
    counts = rows.groupby(on).size()
    index = pd.MultiIndex.from_frame(table[on])
    return counts.reindex(index, fill_value=0).to_numpy(np.int64)


def _scores(predict: Callable[[pd.DataFrame], Any], features: pd.DataFrame, owner: str) -> Any:
    """``predict(features)`` as a float array with one finite score per row."""
    if len(features) == 0:
        return np.empty(0)
    scores = check_array(
        "predict's output", predict(features), ndim=1, dtype=float, finite=True, owner=owner
    )
    if len(scores) != len(features):
        raise ParameterError(
            f"{owner}: predict must return one score per row; got {len(scores)} for "
            f"{len(features)} rows"
        )
    return scores


def add_account_takeovers(
    transactions: pd.DataFrame,
    *,
    per_day: float,
    hours: float,
    purchases: float,
    seed: Seed = 0,
    key: str = "user_id",
    time: str = "timestamp",
    amount: str = "amount",
) -> pd.DataFrame:
    """Add account takeovers to a transaction log: bursts of fraud on an account, in hours.

    Takeovers start at uniformly random times over the log's span (from its first to its
    last transaction), about ``per_day`` a day (a Poisson number), each on an account drawn
    uniformly from the log's keys. A takeover lasts ``hours``; the fraudster makes ``1 +
    Poisson(purchases - 1)`` purchases at uniformly random times within it (to the second,
    cut at the log's end), each with an amount drawn from the log's amounts, so that only
    their timing (a burst on one account) sets them apart.

    Parameters
    ----------
    transactions : pandas.DataFrame
        The log: ``key``, ``time`` (datetime64) and ``amount`` columns, and a boolean
        ``is_fraud`` column if the log has labels of its own.
    per_day : float
        Expected takeovers a day, ≥ 0 (0 returns the log unchanged but for the new column).
    hours : float
        How long a takeover lasts, > 0.
    purchases : float
        Mean number of purchases per takeover, ≥ 1.
    seed : int or numpy.random.Generator, default 0
        Randomness of the takeovers.
    key, time, amount : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``time``, ``amount``, ``is_fraud`` (the log's own label, or False;
        True on takeover purchases) and ``takeover`` (True on takeover purchases), sorted by
        time (stable: the log's rows first at equal times), with a fresh ``RangeIndex``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``transactions`` is not a DataFrame, lacks a column or is empty, ``time`` is
        not datetime64, or a knob is out of range.

    Examples
    --------
    >>> log = pd.DataFrame({
    ...     "user_id": [1, 2, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 30.0],
    ... })
    >>> out = add_account_takeovers(log, per_day=2, hours=3, purchases=4, seed=1)
    >>> int(out["takeover"].sum()), bool(out["is_fraud"].equals(out["takeover"]))
    (19, True)
    """
    owner = "add_account_takeovers"
    check_type("transactions", transactions, pd.DataFrame, owner=owner)
    _columns(transactions, [key, time, amount], "transactions", owner)
    per_day = check_float("per_day", per_day, min=0, owner=owner)
    hours = check_float("hours", hours, min=0, open_min=True, owner=owner)
    purchases = check_float("purchases", purchases, min=1, owner=owner)
    if len(transactions) == 0:
        raise ParameterError(f"{owner}: transactions is empty: no span to add takeovers to")
    if not pd.api.types.is_datetime64_any_dtype(transactions[time]):
        raise ParameterError(
            f"{owner}: column {time!r} must be datetime64; got {transactions[time].dtype}"
        )
    rng = make_rng(seed, owner=owner)
    labels = (
        transactions["is_fraud"].to_numpy(bool)
        if "is_fraud" in transactions.columns
        else np.zeros(len(transactions), bool)
    )
    log = pd.DataFrame(
        {
            key: transactions[key].to_numpy(),
            time: transactions[time].to_numpy(),
            amount: transactions[amount].to_numpy(),
            "is_fraud": labels,
            "takeover": False,
        }
    )
    first, last = log[time].min(), log[time].max()
    span_s = (last - first) / pd.Timedelta(seconds=1)
    n = int(rng.poisson(per_day * span_s / 86_400))
    accounts = rng.choice(pd.unique(log[key]), n)
    begins = rng.uniform(0, span_s, n)
    bursts = 1 + rng.poisson(purchases - 1, n)
    which = np.repeat(np.arange(n), bursts)
    at_s = np.floor(begins[which] + rng.uniform(0, hours * 3600, len(which)))
    keep = at_s <= span_s
    which, at_s = which[keep], at_s[keep]
    fraud = pd.DataFrame(
        {
            key: accounts[which],
            time: first + pd.to_timedelta(at_s, unit="s"),
            amount: rng.choice(log[amount].to_numpy(), len(which)),
            "is_fraud": True,
            "takeover": True,
        }
    ).astype({time: log[time].dtype})
    both = pd.concat([log, fraud], ignore_index=True) if len(fraud) else log
    return both.sort_values(time, kind="stable", ignore_index=True)
