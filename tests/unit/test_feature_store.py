"""Tests of mlsys_kit.infrastructure.feature_store: offline/online values, joins, skew."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.deployment.batch_online import features_as_of
from mlsys_kit.infrastructure.feature_store import (
    FEATURE_TIME,
    FeatureSkewError,
    FeatureView,
    OnlineStore,
    compare_feature_values,
    latest_value_join,
    materialize_offline,
    point_in_time_join,
    serve_online,
)
from mlsys_kit.params import ParameterError

START = pd.Timestamp("2024-01-01")


@pytest.fixture
def events() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame(
        {
            "user": rng.integers(0, 20, n),
            "time": START + pd.to_timedelta(np.sort(rng.integers(0, 3 * 86_400, n)), unit="s"),
            "cents": rng.integers(100, 10_000, n),
        }
    )


@pytest.fixture
def view() -> FeatureView:
    return FeatureView("spend_6h", key="user", time="time", value="cents", window="6h")


@pytest.fixture
def queries(events: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "user": rng.integers(0, 25, 300),  # some users without events
            "time": START + pd.to_timedelta(rng.integers(0, 4 * 86_400, 300), unit="s"),
        },
        index=np.arange(300)[::-1],
    )


def test_offline_table_is_the_definition_at_the_last_run(events, view, queries) -> None:
    table = materialize_offline(
        view, events, every="30min", start=START, end=START + pd.Timedelta(days=4)
    )
    joined = point_in_time_join(queries, table, key="user", time="time")
    runs = queries.assign(
        time=START + ((queries["time"] - START) // pd.Timedelta("30min")) * pd.Timedelta("30min")
    )
    direct = view.compute(events, runs)
    pd.testing.assert_frame_equal(joined, direct)


def test_duckdb_and_pandas_agree(events, view, queries) -> None:
    table = materialize_offline(
        view, events, every="1h", start=START, end=START + pd.Timedelta(days=4)
    )
    duck = point_in_time_join(queries, table, key="user", time="time", engine="duckdb")
    panda = point_in_time_join(queries, table, key="user", time="time", engine="pandas")
    pd.testing.assert_frame_equal(duck, panda)
    both = point_in_time_join(queries, table, key="user", time="time", threads=2)
    pd.testing.assert_frame_equal(both, duck)
    assert duck.index.equals(queries.index)


def test_view_compute_is_features_as_of(events, view, queries) -> None:
    found = view.compute(events, queries)
    expected = features_as_of(events, queries, key="user", time="time", value="cents", window="6h")
    assert found.to_numpy().tolist() == expected.to_numpy().tolist()
    assert list(found.columns) == ["spend_6h_count", "spend_6h_total"]


def test_table_drops_unchanged_rows(events, view) -> None:
    table = materialize_offline(
        view, events, every="1h", start=START, end=START + pd.Timedelta(days=4)
    )
    for _, rows in table.groupby("user"):
        values = rows[list(view.columns)].to_numpy()
        assert (np.abs(np.diff(values, axis=0)).sum(axis=1) > 0).all()
        assert rows[FEATURE_TIME].is_monotonic_increasing


def test_latest_value_join_sees_the_future(events, view) -> None:
    table = materialize_offline(
        view, events, every="1h", start=START, end=START + pd.Timedelta(days=4)
    )
    rows = events.iloc[:50]  # the first hours
    as_of = START + pd.Timedelta(hours=60)
    naive = latest_value_join(rows, table, key="user", as_of=as_of)
    later = point_in_time_join(rows.assign(time=as_of), table, key="user", time="time")
    pd.testing.assert_frame_equal(naive, later)  # every row sees its user's value at as_of
    honest = point_in_time_join(rows, table, key="user", time="time")
    assert not naive.equals(honest)
    early = latest_value_join(rows, table, key="user", as_of=START)
    assert (early.to_numpy() == 0).all()


def test_online_store_serves_the_point_in_time_values(events, view) -> None:
    end = START + pd.Timedelta(days=3)
    table = materialize_offline(view, events, every="1h", start=START, end=end)
    requests = events[events["time"] >= START + pd.Timedelta(days=2)]
    store = OnlineStore()
    online = serve_online(
        store, {view: table}, requests, time="time", every="1h", start=START + pd.Timedelta(days=2)
    )
    offline = point_in_time_join(requests, table, key="user", time="time")
    report = compare_feature_values(online.astype(offline.dtypes.to_dict()), offline)
    assert report.n_skewed == 0
    report.raise_if_skewed()
    assert "spend_6h" in repr(store)
    store.close()


def test_skew_is_caught(events, view) -> None:
    table = materialize_offline(
        view, events, every="1h", start=START, end=START + pd.Timedelta(days=3)
    )
    requests = events[events["time"] >= START + pd.Timedelta(days=2)]
    offline = point_in_time_join(requests, table, key="user", time="time")
    dollars = table.assign(spend_6h_total=table["spend_6h_total"] / 100)
    online = serve_online(
        OnlineStore(),
        {view: dollars},
        requests,
        time="time",
        every="1h",
        start=START + pd.Timedelta(days=2),
    )
    report = compare_feature_values(online, offline)
    assert report.n_skewed > 0
    frame = report.to_frame()
    assert frame.loc["spend_6h_count", "skewed"] == 0
    assert frame.loc["spend_6h_total", "skewed"] > 0
    with pytest.raises(FeatureSkewError, match="spend_6h_total: .* rows differ"):
        report.raise_if_skewed()


def test_stale_materialization_is_caught(events, view) -> None:
    table = materialize_offline(
        view, events, every="1h", start=START, end=START + pd.Timedelta(days=3)
    )
    requests = events[events["time"] >= START + pd.Timedelta(days=2)]
    store = OnlineStore()
    store.materialize(view, table, end=START + pd.Timedelta(days=2))
    online = store.read(view, requests["user"]).set_axis(requests.index)
    offline = point_in_time_join(requests, table, key="user", time="time")
    assert compare_feature_values(online, offline).n_skewed > 0


def test_serve_online_with_no_requests(view, events) -> None:
    table = materialize_offline(view, events, every="1h", start=START, end=START)
    out = serve_online(
        OnlineStore(), {view: table}, events.iloc[:0], time="time", every="1h", start=START
    )
    assert list(out.columns) == list(view.columns) and len(out) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "a b"}, "name must be letters"),
        ({"name": 3}, "name must be a str"),
        ({"window": "0h"}, "window must be a duration > 0"),
        ({"window": "soon"}, "window must be a duration such as"),
        ({"key": None}, "key must be a str"),
    ],
)
def test_feature_view_refuses(kwargs, message) -> None:
    args = {"name": "v", "key": "user", "time": "time", "value": "cents", "window": "1h"} | kwargs
    with pytest.raises(ParameterError, match=message):
        FeatureView(**args)


def test_materialize_offline_refuses(events, view) -> None:
    with pytest.raises(ParameterError, match="view must be a FeatureView"):
        materialize_offline("v", events, every="1h", start=START, end=START)
    with pytest.raises(ParameterError, match="every must be a duration > 0"):
        materialize_offline(view, events, every="-1h", start=START, end=START)
    with pytest.raises(ParameterError, match="end must not be before start"):
        materialize_offline(view, events, every="1h", start=START, end=START - pd.Timedelta("1h"))
    with pytest.raises(ParameterError, match=r"no column\(s\) \['cents'\]"):
        materialize_offline(view, events.drop(columns="cents"), every="1h", start=START, end=START)
    with pytest.raises(ParameterError, match="must be datetime64"):
        materialize_offline(view, events.assign(time=1), every="1h", start=START, end=START)


def test_joins_refuse(events, view) -> None:
    table = materialize_offline(
        view, events, every="1h", start=START, end=START + pd.Timedelta(days=1)
    )
    with pytest.raises(ParameterError, match="engine='spark' is not allowed"):
        point_in_time_join(events, table, key="user", time="time", engine="spark")
    with pytest.raises(ParameterError, match="threads=0 is out of range"):
        point_in_time_join(events, table, key="user", time="time", threads=0)
    with pytest.raises(ParameterError, match=r"table has no column\(s\) \['feature_time'\]"):
        point_in_time_join(events, table.drop(columns=FEATURE_TIME), key="user", time="time")
    with pytest.raises(ParameterError, match=r"rows has no column\(s\) \['who'\]"):
        latest_value_join(events, table, key="who", as_of=START)


def test_serve_online_refuses(events, view) -> None:
    table = materialize_offline(
        view, events, every="1h", start=START, end=START + pd.Timedelta(days=1)
    )
    with pytest.raises(ParameterError, match="before start"):
        serve_online(
            OnlineStore(),
            {view: table},
            events,
            time="time",
            every="1h",
            start=START + pd.Timedelta(days=1),
        )
    with pytest.raises(ParameterError, match="store must be a OnlineStore"):
        serve_online({}, {view: table}, events, time="time", every="1h", start=START)


def test_compare_feature_values_refuses() -> None:
    a = pd.DataFrame({"x": [1, 2]})
    with pytest.raises(ParameterError, match="same columns"):
        compare_feature_values(a, a.rename(columns={"x": "y"}))
    with pytest.raises(ParameterError, match="same index"):
        compare_feature_values(a, a.set_axis([5, 6]))
    with pytest.raises(ParameterError, match="must be numeric"):
        compare_feature_values(a.astype(str), a.astype(str))
    with pytest.raises(ParameterError, match="tolerance=-1"):
        compare_feature_values(a, a, tolerance=-1)
    assert compare_feature_values(a, a + 0.5, tolerance=0.5).n_skewed == 0


def test_online_store_reads_many_keys(view) -> None:
    keys = np.arange(1_200)
    table = pd.DataFrame(
        {
            "user": keys,
            FEATURE_TIME: START,
            "spend_6h_count": keys % 7,
            "spend_6h_total": keys * 10,
        }
    )
    store = OnlineStore()
    assert store.materialize(view, table, end=START) == len(keys)
    wanted = np.r_[keys[::-1], 5_000]  # reversed, and a key never materialized
    found = store.read(view, wanted)
    assert found["spend_6h_total"].tolist() == [*(keys[::-1] * 10).tolist(), 0]
    assert store.materialize(view, table, start=START, end=START) == 0  # nothing new


def test_nothing_is_written_outside_the_given_path(events, view, tmp_path, monkeypatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    end = START + pd.Timedelta(days=3)
    table = materialize_offline(view, events, every="1h", start=START, end=end)
    point_in_time_join(events, table, key="user", time="time", engine="duckdb")
    requests = events[events["time"] >= START + pd.Timedelta(days=2)]
    start = START + pd.Timedelta(days=2)
    serve_online(OnlineStore(), {view: table}, requests, time="time", every="1h", start=start)
    assert not list(work.iterdir())  # DuckDB and SQLite in memory: no file at all
    store = OnlineStore(tmp_path / "online.db")
    store.materialize(view, table, end=end)
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "online.db"]
    assert not list(work.iterdir())
