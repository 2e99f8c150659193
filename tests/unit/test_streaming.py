"""Tests of ``data_engineering.streaming``: stream and batch features agree."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.data_engineering.streaming import (
    CLOSED,
    LateEventError,
    SlidingWindowAggregator,
    WindowFeatures,
    batch_window_features,
    replay,
)
from mlsys_kit.params import ParameterError

T0 = pd.Timestamp("2024-01-01")


def random_events(rng: np.random.Generator, n: int, *, keys: int = 4, span: int = 100):
    """Events with integer-second times (many ties), a shuffled index, integer values."""
    seconds = np.sort(rng.integers(0, span, n))
    events = pd.DataFrame(
        {
            "key": rng.integers(0, keys, n),
            "time": T0 + pd.to_timedelta(seconds, unit="s"),
            "seconds": seconds,
            "value": rng.integers(-50, 100, n),
        }
    )
    events.index = rng.permutation(n) * 3 + 7
    return events


def in_window(t_j, t, window, closed) -> bool:
    lower = t_j >= t - window if closed in ("left", "both") else t_j > t - window
    upper = t_j <= t if closed in ("right", "both") else t_j < t
    return lower and upper


def brute_force(events: pd.DataFrame, order, window: int, closed: str) -> list[tuple[int, int]]:
    """For each event in arrival order: the earlier-received events of its key in its window."""
    rows = events.loc[list(order)]
    answers, seen = [], []
    for key, t, value in zip(rows["key"], rows["seconds"], rows["value"], strict=True):
        inside = [v for k, tj, v in seen if k == key and in_window(tj, t, window, closed)]
        if closed in ("right", "both"):
            inside.append(value)
        answers.append((len(inside), sum(inside)))
        seen.append((key, t, value))
    return answers


# --- agreement ------------------------------------------------------------------------------


@pytest.mark.parametrize("closed", CLOSED)
def test_stream_and_batch_agree_exactly_on_random_histories(closed: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        events = random_events(rng, int(rng.integers(1, 150)))
        window = int(rng.integers(1, 30))
        batch = batch_window_features(
            events,
            key="key",
            time="time",
            value="value",
            window=pd.Timedelta(seconds=window),
            closed=closed,
        )
        stream = replay(
            SlidingWindowAggregator(pd.Timedelta(seconds=window), closed=closed),
            events,
            key="key",
            time="time",
            value="value",
        )
        numeric = replay(  # the same with plain numbers as timestamps
            SlidingWindowAggregator(window, closed=closed),
            events,
            key="key",
            time="seconds",
            value="value",
        )
        expected = brute_force(events, events.index, window, closed)
        assert list(zip(batch["count"], batch["total"], strict=True)) == expected
        pd.testing.assert_frame_equal(stream[["count", "total"]], numeric[["count", "total"]])
        assert (stream["count"].astype("int64") == batch["count"]).all()
        assert (stream["total"].astype("int64") == batch["total"]).all()


@pytest.mark.parametrize("closed", CLOSED)
def test_late_events_within_allowed_lateness_are_answered_from_what_arrived(closed: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(40):
        events = random_events(rng, int(rng.integers(1, 80)), keys=3, span=60)
        window = int(rng.integers(1, 20))
        arrival = events["seconds"] + rng.integers(0, 15, len(events))
        order = arrival.sort_values(kind="stable").index
        aggregator = SlidingWindowAggregator(window, closed=closed, allowed_lateness=15)
        stream = replay(aggregator, events, key="key", time="seconds", value="value", order=order)
        expected = brute_force(events, order, window, closed)
        got = stream.loc[order, ["count", "total"]].astype("int64")
        assert list(zip(got["count"], got["total"], strict=True)) == expected
        assert aggregator.n_dropped == 0


def test_dropped_events_are_counted_and_never_answered_or_counted_later() -> None:
    rng = np.random.default_rng(2)
    for _ in range(40):
        events = random_events(rng, int(rng.integers(1, 80)), keys=3, span=60)
        arrival = events["seconds"] + rng.integers(0, 15, len(events))
        order = arrival.sort_values(kind="stable").index
        aggregator = SlidingWindowAggregator(10, late_policy="drop", allowed_lateness=2)
        stream = replay(aggregator, events, key="key", time="seconds", value="value", order=order)
        # An event is dropped when it is more than 2 behind its key's latest *accepted* time.
        latest: dict[int, int] = {}
        kept, dropped = [], []
        for label in order:
            key, t = events.at[label, "key"], events.at[label, "seconds"]
            if key in latest and latest[key] - t > 2:
                dropped.append(label)
            else:
                latest[key] = max(latest.get(key, t), t)
                kept.append(label)
        assert aggregator.n_dropped == len(dropped)
        assert stream.loc[dropped, "count"].isna().all()
        expected = brute_force(events.loc[kept], kept, 10, "left")
        got = stream.loc[kept, ["count", "total"]].astype("int64")
        assert list(zip(got["count"], got["total"], strict=True)) == expected


def test_out_of_order_event_raises_by_default_with_a_clear_message() -> None:
    aggregator = SlidingWindowAggregator(pd.Timedelta(hours=1))
    aggregator.update("u1", T0 + pd.Timedelta(minutes=10), 100)
    assert aggregator.update("u2", T0, 5) == WindowFeatures(0, 0)  # other keys are independent
    # A tie is in order (and, with closed="left", outside the window: [t - 1 h, t)).
    assert aggregator.update("u1", T0 + pd.Timedelta(minutes=10), 7) == (0, 0)
    with pytest.raises(LateEventError, match=r"key 'u1' .* 0 days 00:10:00 behind .*late_policy"):
        aggregator.update("u1", T0, 1)


def test_state_is_bounded_by_the_window() -> None:
    aggregator = SlidingWindowAggregator(10)
    for t in range(10_000):
        aggregator.update("k", t, 1)
    assert aggregator.n_held <= 12 and aggregator.n_keys == 1
    assert aggregator.update("k", 10_000, 1) == (10, 10)
    lenient = SlidingWindowAggregator(10, allowed_lateness=5)
    for t in range(1000):
        lenient.update("k", t, 1)
    assert lenient.n_held <= 17


def test_float_values_and_timedelta_windows() -> None:
    aggregator = SlidingWindowAggregator(dt.timedelta(minutes=5))
    start = dt.datetime(2024, 1, 1)
    aggregator.update("k", start, 0.5)
    assert aggregator.update("k", start + dt.timedelta(minutes=1), 0.25) == (1, 0.5)
    assert aggregator.update("k", start + dt.timedelta(minutes=9), 1.0) == (0, 0.0)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window", [0, -1, float("nan"), pd.Timedelta(0), pd.Timedelta(-1, "s"), None, True, "1h"]
)
def test_window_must_be_positive(window) -> None:
    with pytest.raises(ParameterError, match="window"):
        SlidingWindowAggregator(window)


def test_unknown_options_and_negative_lateness_are_refused() -> None:
    with pytest.raises(
        ParameterError, match="SlidingWindowAggregator: closed='inclusive' is not allowed"
    ):
        SlidingWindowAggregator(10, closed="inclusive")  # type: ignore[arg-type]
    with pytest.raises(
        ParameterError, match="SlidingWindowAggregator: late_policy='accept' is not allowed"
    ):
        SlidingWindowAggregator(10, late_policy="accept")  # type: ignore[arg-type]
    with pytest.raises(
        ParameterError, match="SlidingWindowAggregator: allowed_lateness must be ≥ 0"
    ):
        SlidingWindowAggregator(10, allowed_lateness=-1)


@pytest.mark.parametrize("missing", [float("nan"), pd.NaT, np.datetime64("NaT")])
def test_missing_timestamps_are_refused(missing) -> None:
    aggregator = SlidingWindowAggregator(pd.Timedelta(hours=1))
    aggregator.update("k", T0, 1)
    with pytest.raises(ParameterError, match="update: event of key 'k' has a missing timestamp"):
        aggregator.update("k", missing, 1)


def test_batch_bad_input() -> None:
    events = random_events(np.random.default_rng(3), 10)
    kwargs = {"key": "key", "time": "time", "value": "value", "window": "10s"}
    with pytest.raises(
        ParameterError, match=r"batch_window_features: events has no column\(s\) \['amount'\]"
    ):
        batch_window_features(events, **{**kwargs, "value": "amount"})
    with pytest.raises(ParameterError, match="must be datetime64"):
        batch_window_features(events, **{**kwargs, "time": "seconds"})
    with pytest.raises(ParameterError, match="closed='middle' is not allowed"):
        batch_window_features(events, **kwargs, closed="middle")  # type: ignore[arg-type]
    for window in ("0s", "-5s", "soon"):
        with pytest.raises(ParameterError, match="window"):
            batch_window_features(events, **{**kwargs, "window": window})
    with pytest.raises(ParameterError, match="must be numeric"):
        batch_window_features(events.assign(value="x"), **kwargs)
    with pytest.raises(ParameterError, match="missing timestamps"):
        batch_window_features(events.assign(time=pd.NaT), **kwargs)
    with pytest.raises(ParameterError, match="missing keys"):
        batch_window_features(events.assign(key=np.nan), **kwargs)


def test_batch_keeps_index_and_types() -> None:
    events = random_events(np.random.default_rng(4), 30)
    out = batch_window_features(events, key="key", time="time", value="value", window="20s")
    assert out.index.equals(events.index)
    assert out["count"].dtype == np.int64 and out["total"].dtype == np.int64
    floats = batch_window_features(
        events.assign(value=events["value"] / 4),
        key="key",
        time="time",
        value="value",
        window="20s",
    )
    assert floats["total"].dtype == np.float64
    np.testing.assert_allclose(floats["total"], out["total"] / 4)


def test_replay_bad_order_and_timing_column() -> None:
    events = random_events(np.random.default_rng(5), 5)
    aggregator = SlidingWindowAggregator(pd.Timedelta(seconds=10))
    with pytest.raises(ParameterError, match="every row label"):
        replay(aggregator, events, key="key", time="time", value="value", order=events.index[:3])
    with pytest.raises(ParameterError, match="unique index"):
        replay(aggregator, pd.concat([events, events]), key="key", time="time", value="value")
    timed = replay(aggregator, events, key="key", time="time", value="value", timed=True)
    assert (timed["seconds"] >= 0).all() and list(timed["arrival"]) == list(range(5))
