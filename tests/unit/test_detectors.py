"""Tests of ``monitoring.detectors``: streams, the detector protocol, scoring and aggregation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.monitoring.detectors import (
    CHANGES,
    RIVER_DETECTORS,
    STREAM_KINDS,
    DetectionScore,
    Detector,
    Stream,
    WindowTestDetector,
    detect,
    evaluate,
    make_error_stream,
    make_stream,
    marketplace_error_stream,
    plot_alarms,
    river_detector,
    score_alarms,
    summarize,
)
from mlsys_kit.params import ParameterError

# ---------------------------------------------------------------------------------- streams


@pytest.mark.parametrize("kind", STREAM_KINDS)
@pytest.mark.parametrize("change", CHANGES)
def test_make_stream_layout_and_determinism(kind, change):
    a = make_stream(kind, n_points=5_000, n_drifts=4, change=change, seed=7)
    b = make_stream(kind, n_points=5_000, n_drifts=4, change=change, seed=7)
    c = make_stream(kind, n_points=5_000, n_drifts=4, change=change, seed=8)
    assert len(a) == 5_000 and a.values.dtype == float and not a.binary
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.drift_points == (() if kind == "none" else (1_000, 2_000, 3_000, 4_000))
    assert a.kind == kind and len(a.concept) == 5_000


def test_abrupt_mean_shift_moves_there_and_back():
    s = make_stream("abrupt", n_points=40_000, n_drifts=3, shift=2.0, seed=0)
    means = [s.values[a:b].mean() for a, b in [(0, 10_000), (10_000, 20_000), (20_000, 30_000)]]
    assert means == pytest.approx([0.0, 2.0, 0.0], abs=0.05)
    assert set(np.unique(s.concept)) == {0.0, 2.0}
    assert s.concept[9_999] == 0.0 and s.concept[10_000] == 2.0


def test_spread_change_keeps_the_mean():
    s = make_stream("abrupt", n_points=40_000, n_drifts=1, shift=1.0, change="spread", seed=0)
    before, after = s.values[:20_000], s.values[20_000:]
    assert before.mean() == pytest.approx(0, abs=0.05)
    assert after.mean() == pytest.approx(0, abs=0.05)
    assert before.std() == pytest.approx(1, abs=0.05)
    assert after.std() == pytest.approx(2, abs=0.05)


def test_gradual_transition_mixes_over_width():
    s = make_stream("gradual", n_points=20_000, n_drifts=1, shift=1.0, width=4_000, seed=0)
    d = s.drift_points[0]
    assert np.all(s.concept[:d] == 0)
    first, last = s.concept[d : d + 1_000].mean(), s.concept[d + 3_000 : d + 4_000].mean()
    assert first < 0.25 < 0.75 < last
    assert np.all(s.concept[d + 4_000 :] == 1)


def test_error_stream_rates_rise_in_steps():
    s = make_error_stream("abrupt", n_points=50_000, n_drifts=1, base_rate=0.1, shift=0.1)
    assert s.binary and set(np.unique(s.values)) == {0.0, 1.0}
    assert s.values[:25_000].mean() == pytest.approx(0.1, abs=0.01)
    assert s.values[25_000:].mean() == pytest.approx(0.2, abs=0.01)


def test_head_keeps_the_drift_points_inside():
    s = make_stream("abrupt", n_points=10_000, n_drifts=4)
    h = s.head(4_500)
    assert len(h) == 4_500 and h.drift_points == (2_000, 4_000) and len(h.concept) == 4_500
    with pytest.raises(ParameterError, match="n must be an integer"):
        s.head(1.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "sudden"}, "kind='sudden' is not allowed: choose one of 'abrupt'"),
        ({"kind": "abrupt", "change": "variance"}, "change='variance' is not allowed"),
        ({"kind": "abrupt", "n_points": 50}, "n_points=50 is out of range"),
        ({"kind": "abrupt", "n_points": 1e4}, "n_points must be an integer"),
        (
            {"kind": "abrupt", "shift": 0},
            "make_stream: shift=0.0 is out of range: allowed 0 < shift ≤ 10",
        ),
        (
            {"kind": "abrupt", "shift": float("nan")},
            "make_stream: shift must be a finite number; got nan",
        ),
        ({"kind": "abrupt", "shift": "1"}, "shift must be a number"),
        ({"kind": "abrupt", "seed": -1}, "seed=-1 is out of range"),
        ({"kind": "abrupt", "n_drifts": -1}, "n_drifts=-1 is out of range"),
        ({"kind": "gradual", "n_points": 1_000, "width": 300}, "too close for gradual"),
        ({"kind": "abrupt", "n_points": 100, "n_drifts": 20}, "too close for a stream"),
    ],
)
def test_make_stream_rejects_bad_input(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        make_stream(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_rate": 0.0}, "allowed 0 < base_rate < 1"),
        ({"base_rate": 1.5}, "base_rate=1.5 is out of range"),
        ({"shift": 0.0}, "make_error_stream: shift=0.0 is out of range: allowed 0 < shift ≤ 1"),
        ({"base_rate": 0.5, "shift": 0.2, "n_drifts": 4}, "must stay below 1"),
        ({"kind": "steps"}, "kind='steps' is not allowed"),
    ],
)
def test_make_error_stream_rejects_bad_input(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        make_error_stream(**{"kind": "abrupt", **kwargs})


def test_marketplace_error_stream_has_one_drift_that_costs_accuracy():
    s = marketplace_error_stream(2_000, drift="covariate", seed=0)
    again = marketplace_error_stream(2_000, drift="covariate", seed=0)
    np.testing.assert_array_equal(s.values, again.values)
    assert s.binary and s.kind == "abrupt" and len(s.drift_points) == 1
    assert abs(len(s) - 2_000) < 100 and 0.3 < s.drift_points[0] / len(s) < 0.7
    d = s.drift_points[0]
    assert s.values[:d].mean() == pytest.approx(s.concept[0])
    assert s.concept[-1] > s.concept[0] + 0.01
    assert len(s.auc) == 2 and all(0.5 < a < 1 for a in s.auc)
    assert s.head(500).auc == s.auc


def test_marketplace_concept_shift_costs_ranking_quality():
    s = marketplace_error_stream(6_000, drift="concept", seed=0)
    assert s.auc[0] - s.auc[1] > 0.15  # the ranking collapses
    assert abs(s.concept[-1] - s.concept[0]) < 0.05  # the error rate hardly moves


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_points": 500}, "n_points=500 is out of range"),
        ({"drift": "seasonal"}, "kind='seasonal' is not allowed: choose one of"),
        (
            {"magnitude": 0.0},
            "marketplace_error_stream: magnitude=0.0 is out of range: allowed 0 < magnitude",
        ),
        ({"flag_share": 0.5}, "0 < flag_share < 0.5"),
        ({"seed": -2}, "seed=-2 is out of range"),
    ],
)
def test_marketplace_error_stream_rejects_bad_input(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        marketplace_error_stream(**{"n_points": 2_000, **kwargs})


# -------------------------------------------------------------------------------- detectors


@pytest.mark.parametrize("name", list(RIVER_DETECTORS))
def test_river_detectors_fit_the_protocol_and_find_a_big_shift(name):
    make = river_detector(name)
    detector = make()
    assert isinstance(detector, Detector)
    assert detector.binary is (name == "DDM")
    if name == "DDM":
        stream = make_error_stream("abrupt", n_points=6_000, n_drifts=1, base_rate=0.05, shift=0.4)
    else:  # short: KSWIN runs a KS test at every value
        stream = make_stream("abrupt", n_points=1_200, n_drifts=1, shift=3.0, seed=1)
    alarms = detect(detector, stream.values)
    d = stream.drift_points[0]
    assert ((alarms >= d) & (alarms < d + 500)).any()


def test_river_detector_factory_gives_fresh_detectors():
    make = river_detector("ADWIN", delta=0.01)
    a, b = make(), make()
    assert a is not b and a.detector is not b.detector
    assert a.detector.delta == 0.01


def test_kswin_is_seeded_so_runs_repeat():
    s = make_stream("none", n_points=600, seed=3)
    first = detect(river_detector("KSWIN")(), s.values)
    again = detect(river_detector("KSWIN")(), s.values)
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("HDDM", {}, "river_detector: name='HDDM' is not allowed: choose one of 'ADWIN'"),
        ("ADWIN", {"threshold": 3}, "ADWIN has no parameter 'threshold': its parameters are"),
        ("PageHinkley", {"mode": "sideways"}, "Invalid 'mode'"),
        ("KSWIN", {"alpha": 2.0}, "Alpha must be between 0 and 1"),
    ],
)
def test_river_detector_rejects_bad_input(name, params, message):
    with pytest.raises((ParameterError, ValueError), match=message):
        river_detector(name, **params)


def test_window_test_detector_alarms_after_a_shift_and_restarts():
    stream = make_stream("abrupt", n_points=6_000, n_drifts=2, shift=2.0, seed=0)
    alarms = detect(WindowTestDetector(window=200, step=20, alpha=0.001), stream.values)
    score = score_alarms(alarms, stream.drift_points, len(stream), tolerance=1_000)
    assert score.detected == 2 and score.false_alarms == 0
    assert all(0 < delay <= 200 for delay in score.delays)


def test_window_test_detector_tests_every_step_only():
    det = WindowTestDetector(window=10, step=5, alpha=0.5)
    for x in range(19):
        det.update(float(x % 3))
    assert math.isnan(det.p_value)  # reference full at 10, latest full at 20: no test yet
    det.update(0.0)
    assert not math.isnan(det.p_value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 5}, "window=5 is out of range"),
        ({"step": 0}, "step=0 is out of range"),
        ({"alpha": 0.0}, "alpha=0.0 is out of range"),
        ({"alpha": 1.0}, "allowed 0 < alpha < 1"),
    ],
)
def test_window_test_detector_rejects_bad_input(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        WindowTestDetector(**kwargs)


def test_detect_rejects_what_is_not_a_detector():
    with pytest.raises(TypeError, match="update"):
        detect(object(), [1.0, 2.0])


def test_detect_accepts_any_iterable():
    class Threshold:
        binary = False

        def update(self, x: float) -> bool:
            return x > 1

    assert detect(Threshold(), iter([0, 2, 0, 3])).tolist() == [1, 3]
    assert detect(Threshold(), np.array([2.0, 0.0])).tolist() == [0]


# ---------------------------------------------------------------------------------- scoring


def test_score_alarms_definitions():
    s = score_alarms([150, 1030, 1100, 1700, 2600], [1000, 2000], 3000, tolerance=500)
    assert s == DetectionScore(
        n_points=3000,
        n_drifts=2,
        detected=1,
        missed=1,
        delays=(30,),
        false_alarms=3,
        repeat_alarms=1,
        clean_points=2000,
    )
    assert s.false_alarms_per_10k == pytest.approx(15.0)
    assert s.mean_delay == 30


def test_score_alarms_edges_of_the_tolerance_window():
    inside = score_alarms([1000, 1499], [1000], 3000, tolerance=500)
    assert inside.delays == (0,) and inside.repeat_alarms == 1 and inside.false_alarms == 0
    just_after = score_alarms([1500], [1000], 3000, tolerance=500)
    assert just_after.missed == 1 and just_after.false_alarms == 1
    before = score_alarms([999], [1000], 3000, tolerance=500)
    assert before.missed == 1 and before.false_alarms == 1


def test_score_alarms_window_cut_by_the_end_of_the_stream():
    s = score_alarms([2950], [2900], 3000, tolerance=500)
    assert s.detected == 1 and s.clean_points == 2900


def test_score_alarms_without_alarms_or_drifts():
    s = score_alarms([], [], 1000, tolerance=100)
    assert (s.detected, s.missed, s.false_alarms, s.clean_points) == (0, 0, 0, 1000)
    assert math.isnan(s.mean_delay) and s.false_alarms_per_10k == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], [100, 200], 1000, 150), "tolerance=150 is larger than the smallest gap"),
        (([], [200, 100], 1000, 50), "drift_points must increase"),
        (([], [1000], 1000, 50), "drift_points must increase within"),
        (([1000], [100], 1000, 50), "alarms must lie in"),
        (([-1], [100], 1000, 50), "alarms must lie in"),
        (([], [100], 1000, 0), "tolerance=0 is out of range"),
    ],
)
def test_score_alarms_rejects_bad_input(args, message):
    with pytest.raises(ParameterError, match=message):
        score_alarms(*args)


def test_evaluate_and_summarize_pool_counts():
    class Fixed:
        """Alarms at fixed positions, for exact expectations."""

        binary = False

        def __init__(self, at):
            self.at, self.i = set(at), -1

        def update(self, x: float) -> bool:
            self.i += 1
            return self.i in self.at

    s1 = Stream(np.zeros(2_000), (1_000,), "abrupt", "one")
    s2 = Stream(np.zeros(1_000), (), "none", "two")
    table = evaluate({"fixed": lambda: Fixed({10, 1_020, 1_030})}, [s1, s2], tolerance=100)
    assert table["stream"].tolist() == ["one", "two"]
    assert table["detected"].tolist() == [1, 0]
    assert table["false_alarms"].tolist() == [1, 1]
    assert table["clean_points"].tolist() == [1_900, 1_000]
    assert table["mean_delay"].iloc[0] == 20 and math.isnan(table["mean_delay"].iloc[1])
    assert table["alarms"].iloc[0].tolist() == [10, 1_020, 1_030]
    pooled = summarize(table)
    row = pooled.loc["fixed"]
    assert row["false_alarms_per_10k"] == pytest.approx(1e4 * 2 / 2_900)
    assert row["detection_rate"] == 1 and row["mean_delay"] == 20
    by_kind = summarize(table, ["detector", "kind"])
    assert list(by_kind.index) == [("fixed", "abrupt"), ("fixed", "none")]
    assert math.isnan(by_kind.loc[("fixed", "none"), "detection_rate"])


def test_evaluate_refuses_a_binary_detector_on_values():
    stream = make_stream("none", n_points=1_000)
    with pytest.raises(ParameterError, match="reads a model's errors"):
        evaluate({"DDM": river_detector("DDM")}, [stream], tolerance=100)


def test_summarize_rejects_unknown_columns():
    table = evaluate({"PH": river_detector("PageHinkley")}, [make_stream("none")], tolerance=100)
    with pytest.raises(ParameterError, match=r"cannot group by \['kindd'\]"):
        summarize(table, ["detector", "kindd"])


def test_plot_alarms_draws_one_row_per_detector():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = make_stream("abrupt", n_points=3_000, n_drifts=2, shift=2.0)
    fig, ax = plt.subplots()
    plot_alarms(ax, s, {"a": [5, 1_010], "b": []}, tolerance=500)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["a", "b", "value"]
    with pytest.raises(ValueError, match="outside the stream"):
        plot_alarms(ax, s, {"c": [3_000]}, tolerance=500)
    plt.close(fig)


def test_summary_is_a_dataframe_indexed_by_detector():
    table = evaluate(
        {"ADWIN": river_detector("ADWIN")},
        [make_stream("abrupt", n_points=3_000, n_drifts=2, shift=2.0)],
        tolerance=500,
    )
    out = summarize(table)
    assert isinstance(out, pd.DataFrame) and out.index.name == "detector"
    assert {"false_alarms_per_10k", "mean_delay", "us_per_point"} <= set(out.columns)


def test_detection_score_to_frame_is_one_row_of_the_score():
    score = score_alarms([150, 1030, 1100, 1700, 2600], [1000, 2000], 3000, tolerance=500)
    frame = score.to_frame()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["detected"], row["missed"], row["false_alarms"]) == (1, 1, 3)
    assert row["mean_delay"] == score.mean_delay == 30
    assert row["false_alarms_per_10k"] == pytest.approx(15.0)
    assert score._repr_html_() == frame._repr_html_()


def test_streams_take_a_generator_as_seed():
    import numpy as np

    first = make_stream("abrupt", n_points=1_000, n_drifts=1, seed=np.random.default_rng(4))
    again = make_stream("abrupt", n_points=1_000, n_drifts=1, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(first.values, again.values)
    np.testing.assert_array_equal(
        make_stream("abrupt", n_points=1_000, n_drifts=1, seed=4).values, first.values
    )
