"""Tests of ``deployment.batch_online``: point-in-time features, batch vs online replay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.data_engineering.streaming import SlidingWindowAggregator, replay
from mlsys_kit.deployment.batch_online import (
    PredictionReplay,
    add_account_takeovers,
    features_as_of,
    replay_batch_and_online,
)
from mlsys_kit.params import ParameterError

T0 = pd.Timestamp("2024-01-01")
COLUMNS = {"key": "user", "time": "time", "value": "cents"}


def random_events(seed: int, n: int = 300, *, keys: int = 6, hours: int = 48) -> pd.DataFrame:
    """Events with whole-minute times (ties included), a shuffled index, integer values."""
    rng = np.random.default_rng(seed)
    minutes = np.sort(rng.integers(0, hours * 60, n))
    events = pd.DataFrame(
        {
            "user": rng.integers(0, keys, n),
            "time": T0 + pd.to_timedelta(minutes, unit="min"),
            "cents": rng.integers(1, 1000, n),
        }
    )
    events.index = rng.permutation(n) * 2 + 5
    return events


def brute_force(events: pd.DataFrame, key, at, window: pd.Timedelta) -> tuple[int, int]:
    """Count and sum of ``key``'s events in ``[at - window, at)``."""
    mine = events[(events["user"] == key) & (events["time"] >= at - window)]
    mine = mine[mine["time"] < at]
    return len(mine), int(mine["cents"].sum())


# --- features_as_of -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_features_as_of_matches_brute_force_at_any_time(seed):
    events = random_events(seed)
    rng = np.random.default_rng(seed + 10)
    queries = pd.DataFrame(
        {
            "user": rng.integers(0, 7, 50),  # user 6 has no events
            "time": T0 + pd.to_timedelta(rng.integers(0, 49 * 60, 50), unit="min"),
        },
        index=rng.permutation(50) + 1000,
    )
    window = pd.Timedelta(minutes=90)
    got = features_as_of(events, queries, **COLUMNS, window=window)
    assert got.index.equals(queries.index)
    assert got.dtypes.tolist() == [np.int64, np.int64]
    expected = [
        brute_force(events, k, t, window)
        for k, t in zip(queries["user"], queries["time"], strict=True)
    ]
    assert list(zip(got["count"], got["total"], strict=True)) == expected


def test_features_as_of_at_each_event_is_the_stream_processor():
    """One feature code: as of each event, it gives what the streaming aggregator answers."""
    events = random_events(3).sort_values("time", kind="stable")
    window = pd.Timedelta(hours=2)
    as_of = features_as_of(events, events[["user", "time"]], **COLUMNS, window=window)
    streamed = replay(SlidingWindowAggregator(window), events, **COLUMNS)
    assert (as_of["count"] == streamed["count"]).all()
    assert (as_of["total"] == streamed["total"]).all()


def test_features_as_of_float_values_and_no_queries():
    events = random_events(4).assign(cents=lambda e: e["cents"] / 100)
    queries = events[["user", "time"]].head(5)
    got = features_as_of(events, queries, **COLUMNS, window="1h")
    assert got["total"].dtype == np.float64
    empty = features_as_of(events, queries.iloc[:0], **COLUMNS, window="1h")
    assert len(empty) == 0 and list(empty.columns) == ["count", "total"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda e, q: ([1, 2], q), "events must be a DataFrame"),
        (lambda e, q: (e, "queries"), "queries must be a DataFrame"),
        (lambda e, q: (e.drop(columns="cents"), q), r"events has no column\(s\) \['cents'\]"),
        (lambda e, q: (e, q.drop(columns="time")), r"queries has no column\(s\) \['time'\]"),
        (lambda e, q: (e.assign(cents=e["cents"].astype(str)), q), "'cents' must be numeric"),
        (lambda e, q: (e.assign(cents=e["cents"] > 500), q), "'cents' must be numeric"),
        (lambda e, q: (e, q.assign(time="noon")), "must be datetime64"),
        (lambda e, q: (e.assign(cents=e["cents"].where(e["cents"] > 9)), q), "missing values"),
        (lambda e, q: (e, q.assign(user=None)), "missing keys"),
    ],
)
def test_features_as_of_refuses_bad_input(change, match):
    events = random_events(5)
    events, queries = change(events, events[["user", "time"]])
    with pytest.raises(ParameterError, match=match):
        features_as_of(events, queries, **COLUMNS, window="1h")


@pytest.mark.parametrize("window", ["0h", "-1h", "soon"])
def test_features_as_of_refuses_a_bad_window(window):
    events = random_events(6)
    with pytest.raises(ParameterError, match="window"):
        features_as_of(events, events[["user", "time"]], **COLUMNS, window=window)


def test_features_as_of_refuses_sums_that_lose_digits():
    events = pd.DataFrame(
        {"user": [1, 1], "time": [T0, T0 + pd.Timedelta(minutes=1)], "cents": [2**53, 2**53]}
    )
    queries = pd.DataFrame({"user": [1], "time": [T0 + pd.Timedelta(minutes=2)]})
    with pytest.raises(ParameterError, match="2\\*\\*53"):
        features_as_of(events, queries, **COLUMNS, window="1h")


# --- replay_batch_and_online ----------------------------------------------------------------


def replayed(events=None, **overrides) -> PredictionReplay:
    events = random_events(7) if events is None else events
    arguments = {
        **COLUMNS,
        "window": "1h",
        "every_hours": [1, 6, 24],
        "predict": lambda f: f["count"] + f["total"] / 1e6,
        "keys": range(8),
        "start": T0 + pd.Timedelta(hours=12),
        "end": T0 + pd.Timedelta(hours=48),
    }
    return replay_batch_and_online(events, **{**arguments, **overrides})


def test_replay_serves_the_last_run_and_its_features():
    events = random_events(7)
    result = replayed(events)
    requests = result.requests
    start = T0 + pd.Timedelta(hours=12)
    for hours, rows in requests.groupby("every_hours"):
        assert (
            len(rows)
            == ((events["time"] >= start) & (events["time"] < start + pd.Timedelta(hours=36))).sum()
        )
        run = (rows["time"] - start) // pd.Timedelta(hours=hours)
        assert (rows["batch_time"] == start + run * pd.Timedelta(hours=hours)).all()
        assert rows["staleness_hours"].between(0, hours, inclusive="left").all()
    window = pd.Timedelta(hours=1)
    for row in requests.sample(40, random_state=0).itertuples():
        assert (row.batch_count, row.batch_total) == brute_force(
            events, row.user, row.batch_time, window
        )
        assert (row.online_count, row.online_total) == brute_force(
            events, row.user, row.time, window
        )
        assert row.batch_score == row.batch_count + row.batch_total / 1e6
        assert row.online_score == row.online_count + row.online_total / 1e6
    assert requests["in_table"].all()  # every key known from the start


def test_replay_counts_predictions_made_and_requested():
    events = random_events(8)
    result = replayed(events)
    batches = result.batches
    assert batches.groupby("every_hours").size().to_dict() == {1.0: 36, 6.0: 6, 24.0: 2}
    assert (batches["predicted"] == 8).all()
    requests = result.requests
    for (hours, at), rows in requests.groupby(["every_hours", "batch_time"]):
        run = batches[(batches["every_hours"] == hours) & (batches["batch_time"] == at)].iloc[0]
        assert run["requested"] == rows["user"].nunique()
        assert run["requests"] == len(rows)
        assert run["wasted_share"] == pytest.approx(1 - rows["user"].nunique() / 8)
    summary = result.to_frame()
    assert summary["batch_made"].to_dict() == {1.0: 288, 6.0: 48, 24.0: 16}
    assert (summary["online_made"] == len(requests) / 3).all()
    assert (summary["batch_used"] <= summary["batch_made"]).all()
    assert "<table" in result._repr_html_()


def test_replay_predicts_only_for_known_keys():
    events = random_events(9)
    known = [T0] * 4 + [T0 + pd.Timedelta(hours=30)] * 4  # keys 4 to 7 sign up on day 2
    result = replayed(events, known_since=known, every_hours=[24])
    assert result.batches["predicted"].tolist() == [4, 8]
    requests = result.requests
    late = requests["user"] >= 4
    first_run = requests["batch_time"] == T0 + pd.Timedelta(hours=12)
    assert not requests.loc[late & first_run, "in_table"].any()
    assert requests.loc[~(late & first_run), "in_table"].all()


def test_replay_of_an_empty_period():
    events = random_events(10)
    result = replayed(events, start=T0 + pd.Timedelta(days=30), end=T0 + pd.Timedelta(days=31))
    assert len(result.requests) == 0
    assert (result.batches["requested"] == 0).all()
    assert (result.batches["wasted_share"] == 1).all()


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"every_hours": []}, "every_hours must have at least 1"),
        ({"every_hours": [0, 1]}, "every_hours must all be > 0"),
        ({"every_hours": [-2]}, "every_hours must all be > 0"),
        ({"every_hours": [float("nan")]}, "finite"),
        ({"every_hours": 24}, "dimension"),
        ({"predict": "model"}, "predict must be callable"),
        ({"predict": lambda f: f["count"][:1]}, "one score per row"),
        ({"predict": lambda f: f["count"] / 0}, "finite"),
        ({"end": T0}, "end must be after start"),
        ({"known_since": [T0]}, "one time per key"),
        ({"window": "0h"}, "window"),
    ],
)
def test_replay_refuses_bad_arguments(overrides, match):
    with pytest.raises(ParameterError, match=match):
        replayed(**overrides)


def test_replay_refuses_a_bad_log():
    events = random_events(11)
    with pytest.raises(ParameterError, match="must be a DataFrame"):
        replayed(events.to_numpy())
    with pytest.raises(ParameterError, match=r"no column\(s\) \['cents'\]"):
        replayed(events.drop(columns="cents"))
    with pytest.raises(ParameterError, match="unique index"):
        replayed(pd.concat([events, events.head(1)]))


# --- add_account_takeovers ------------------------------------------------------------------


def transactions(n: int = 500, days: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "user_id": rng.integers(0, 50, n),
            "timestamp": T0 + pd.to_timedelta(np.sort(rng.integers(0, days * 86_400, n)), unit="s"),
            "amount": rng.lognormal(3, 1, n).round(2),
            "is_fraud": rng.random(n) < 0.02,
        }
    )


def test_takeovers_are_bursts_of_fraud_on_one_account():
    log = transactions()
    out = add_account_takeovers(log, per_day=3, hours=2, purchases=5, seed=1)
    mine = out[~out["takeover"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        mine[["user_id", "timestamp", "amount", "is_fraud"]],
        log.sort_values("timestamp", kind="stable", ignore_index=True),
    )
    fraud = out[out["takeover"]]
    assert fraud["is_fraud"].all()
    assert 50 < len(fraud) < 250  # about 3 a day over ~10 days, 5 purchases each
    assert fraud["amount"].isin(log["amount"]).all()
    assert fraud["user_id"].isin(log["user_id"]).all()
    assert fraud["timestamp"].between(log["timestamp"].min(), log["timestamp"].max()).all()
    assert out["timestamp"].is_monotonic_increasing
    assert out.index.equals(pd.RangeIndex(len(out)))


def test_takeovers_last_at_most_their_hours():
    log = transactions().assign(user_id=lambda t: np.arange(len(t)))  # 500 accounts
    out = add_account_takeovers(log, per_day=0.5, hours=0.5, purchases=10, seed=2)
    fraud = out[out["takeover"]]
    bursts = fraud.groupby("user_id")["timestamp"]
    assert bursts.ngroups >= 3 and (bursts.size() >= 2).any()  # a few takeovers, one each here
    assert (bursts.max() - bursts.min() < pd.Timedelta(minutes=30)).all()


def test_takeovers_are_reproducible_and_none_at_zero():
    log = transactions()
    a = add_account_takeovers(log, per_day=2, hours=1, purchases=3, seed=5)
    b = add_account_takeovers(log, per_day=2, hours=1, purchases=3, seed=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a, b)
    none = add_account_takeovers(log, per_day=0, hours=1, purchases=3)
    assert len(none) == len(log) and not none["takeover"].any()
    unlabelled = add_account_takeovers(
        log.drop(columns="is_fraud"), per_day=0, hours=1, purchases=1
    )
    assert not unlabelled["is_fraud"].any()


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"per_day": -1}, r"per_day=-1(\.0)? is out of range: allowed per_day ≥ 0"),
        ({"hours": 0}, r"hours=0(\.0)? is out of range: allowed hours > 0"),
        ({"purchases": 0.5}, "purchases=0.5 is out of range"),
        ({"per_day": "many"}, "per_day must be a number"),
        ({"seed": -1}, "seed"),
    ],
)
def test_takeovers_refuse_bad_knobs(arguments, match):
    knobs = {"per_day": 1, "hours": 1, "purchases": 2, **arguments}
    with pytest.raises(ParameterError, match=match):
        add_account_takeovers(transactions(), **knobs)


def test_takeovers_refuse_a_bad_log():
    log = transactions()
    with pytest.raises(ParameterError, match="must be a DataFrame"):
        add_account_takeovers([1], per_day=1, hours=1, purchases=1)
    with pytest.raises(ParameterError, match=r"no column\(s\) \['amount'\]"):
        add_account_takeovers(log.drop(columns="amount"), per_day=1, hours=1, purchases=1)
    with pytest.raises(ParameterError, match="empty"):
        add_account_takeovers(log.iloc[:0], per_day=1, hours=1, purchases=1)
    with pytest.raises(ParameterError, match="datetime64"):
        add_account_takeovers(log.assign(timestamp=1), per_day=1, hours=1, purchases=1)
