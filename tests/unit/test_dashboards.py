"""Tests of monitoring.dashboards: metrics as known at a time, alert rules, their trade-off."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.monitoring.dashboards import (
    METRIC_COLUMNS,
    AlertRule,
    alert_tradeoff,
    first_alarm_delay,
    period_metrics,
)
from mlsys_kit.sim import simulate

START = pd.Timestamp("2024-01-01")


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": START + pd.to_timedelta([0.1, 0.5, 1.2, 1.9, 8.0], unit="D"),
            "is_fraud": [True, False, True, True, False],
            "label_available_at": START + pd.to_timedelta([3, 31, 5, 20, 38], unit="D"),
        }
    )


def test_metrics_use_only_what_was_known():
    scores = [0.9, 0.1, 0.8, 0.2, 0.6]
    early = period_metrics(
        frame(), scores=scores, threshold=0.5, as_of=START + pd.Timedelta(days=6), start=START
    )
    assert list(early.columns) == list(METRIC_COLUMNS)
    assert early.index.tolist() == [0, 1]  # day 8 has not happened yet
    assert early.loc[1, "known_frauds"] == 1  # the day-1.9 fraud's label arrives on day 20
    assert early.loc[1, "recall_known"] == 1.0
    late = period_metrics(
        frame(), scores=scores, threshold=0.5, as_of=START + pd.Timedelta(days=40), start=START
    )
    assert late.loc[1, "known_frauds"] == 2
    assert late.loc[1, "recall_known"] == 0.5
    assert late.loc[0, "labelled_share"] == 1.0
    assert late.loc[8, "flagged_share"] == 1.0
    assert math.isnan(late.loc[8, "recall_known"])  # no fraud that day


def test_weekly_periods_and_features():
    m = period_metrics(
        frame(),
        scores=np.zeros(5),
        threshold=0.5,
        as_of=START + pd.Timedelta(days=60),
        start=START,
        period_days=7,
        features={"x": [1.0, 3.0, np.nan, 5.0, 7.0]},
    )
    assert m.index.tolist() == [0, 7]
    assert m.loc[0, "n"] == 4
    assert m.loc[0, "x"] == pytest.approx(3.0)  # missing values left out of the mean
    assert m.loc[0, "recall_known"] == 0.0


def test_metrics_on_the_simulator_match_labels_available_at():
    market = simulate(n_transactions=3_000, days=40, seed=1)
    tx = market.transactions
    as_of = market.start + pd.Timedelta(days=40)
    m = period_metrics(tx, scores=np.ones(len(tx)), threshold=0.5, as_of=as_of, start=market.start)
    known = market.labels_available_at(40)
    assert m["known_frauds"].sum() == known["is_fraud"].sum()
    assert m["n"].sum() == len(tx)


def test_alert_rule_directions():
    rule = AlertRule("m", center=10, spread=1, k=2, direction="both")
    assert rule.fires(pd.Series([7.0, 10.0, 13.0, np.nan])).tolist() == [True, False, True, False]
    assert AlertRule("m", 10, 1, 2, "down").fires(pd.Series([7.0, 13.0])).tolist() == [True, False]
    fitted = AlertRule.from_baseline("m", [1.0, 2.0, 3.0, np.nan], k=1)
    assert fitted.center == 2.0 and fitted.spread == 1.0 and fitted.upper == 3.0


def test_first_alarm_delay():
    alarms = pd.Series([True, False, True], index=[5, 10, 12])
    assert first_alarm_delay(alarms, 6) == 6.0
    assert math.isnan(first_alarm_delay(alarms, 13))


def test_tradeoff_tighter_band_more_false_alarms_earlier_detection():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 400), np.linspace(0, 6, 60)])
    metric = pd.Series(values, name="m")
    table = alert_tradeoff(
        metric, baseline_days=(0, 100), quiet_days=(100, 400), drift_day=400, ks=[1, 2, 4]
    )
    assert table.index.tolist() == [1.0, 2.0, 4.0]
    assert table["false_alarms"].is_monotonic_decreasing
    assert table["delay_days"].is_monotonic_increasing
    assert table.loc[1.0, "false_alarms_per_month"] == pytest.approx(
        table.loc[1.0, "false_alarms"] / 300 * 30
    )
    down = alert_tradeoff(
        -metric,
        baseline_days=(0, 100),
        quiet_days=(100, 400),
        drift_day=400,
        ks=[4],
        direction="down",
    )
    assert down.loc[4.0, "delay_days"] == table.loc[4.0, "delay_days"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"frame": [1]}, TypeError, "period_metrics: frame must be a DataFrame; got list"),
        ({"frame": frame().drop(columns="is_fraud")}, ValueError, "lacks column"),
        ({"scores": [0.1]}, ValueError, "one value per row"),
        ({"threshold": "high"}, ValueError, "threshold must be a number"),
        ({"period_days": 0}, ValueError, "period_days=0 is out of range: allowed period_days ≥ 1"),
        ({"features": {"x": [1.0]}}, ValueError, "feature 'x'"),
    ],
)
def test_period_metrics_bad_input(kwargs, error, message):
    args = {
        "frame": frame(),
        "scores": np.zeros(5),
        "threshold": 0.5,
        "as_of": START,
        "start": START,
        **kwargs,
    }
    data = args.pop("frame")
    with pytest.raises(error, match=message):
        period_metrics(data, **args)


def test_alert_bad_input():
    with pytest.raises(ValueError, match="direction='sideways' is not allowed: choose one of 'up'"):
        AlertRule("m", 0, 1, 2, "sideways")
    with pytest.raises(ValueError, match="spread=0.0 is out of range: allowed spread > 0"):
        AlertRule("m", 0, 0, 2)
    with pytest.raises(ValueError, match="AlertRule: k=0.0 is out of range: allowed k > 0"):
        AlertRule("m", 0, 1, 0)
    with pytest.raises(ValueError, match="AlertRule: center must be a finite number"):
        AlertRule("m", float("inf"), 1, 2)
    with pytest.raises(ValueError, match="needs ≥ 2 finite values"):
        AlertRule.from_baseline("m", [1.0], k=2)
    metric = pd.Series(np.arange(10.0))
    with pytest.raises(TypeError, match="alert_tradeoff: metric must be a Series; got list"):
        alert_tradeoff(list(metric), baseline_days=(0, 3), quiet_days=(3, 6), drift_day=6, ks=[1])
    with pytest.raises(ValueError, match="first < last"):
        alert_tradeoff(metric, baseline_days=(3, 3), quiet_days=(3, 6), drift_day=6, ks=[1])
    with pytest.raises(ValueError, match="no period"):
        alert_tradeoff(metric, baseline_days=(0, 3), quiet_days=(50, 60), drift_day=6, ks=[1])
