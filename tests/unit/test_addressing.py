"""Tests of ``monitoring.addressing``: unit changes, detection delays and retraining sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.monitoring.addressing import (
    RETRAIN_ON,
    DetectionReport,
    RetrainingComparison,
    compare_retraining,
    compare_retraining_models,
    detection_delays,
    excess_log_loss,
    recall_as_known,
    roll_out_unit_change,
)
from mlsys_kit.params import ParameterError


def test_unit_change_before_start_is_untouched_and_after_rollout_is_complete():
    days = np.repeat(np.arange(10.0), 500) + 0.5
    values = np.full(len(days), 2.0)
    changed = roll_out_unit_change(values, days, start_day=3, rollout_days=4, seed=1)
    assert (changed[days < 3] == 2.0).all()
    assert (changed[days >= 7] == 2000.0).all()
    middle = changed[(days > 4) & (days < 5)]
    assert 0.2 < (middle > 2).mean() < 0.55
    assert (values == 2.0).all()  # the input is not modified


def test_unit_change_is_reproducible_and_abrupt_without_rollout():
    days = np.linspace(0, 10, 1_000)
    a = roll_out_unit_change(np.ones(1_000), days, start_day=5, rollout_days=2, seed=3)
    b = roll_out_unit_change(
        np.ones(1_000), days, start_day=5, rollout_days=2, seed=np.random.default_rng(3)
    )
    np.testing.assert_array_equal(a, b)
    abrupt = roll_out_unit_change(np.ones(1_000), days, start_day=5, rollout_days=0, factor=0.001)
    np.testing.assert_array_equal(abrupt < 1, days >= 5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rollout_days": -1}, "rollout_days"),
        ({"factor": 1.0}, "factor=1"),
        ({"factor": 0.0}, "factor"),
    ],
)
def test_unit_change_refuses_bad_arguments(kwargs, message):
    args = {"start_day": 1.0, "rollout_days": 1.0} | kwargs
    with pytest.raises(ParameterError, match=message):
        roll_out_unit_change(np.ones(3), np.arange(3.0), **args)


def test_unit_change_refuses_different_lengths():
    with pytest.raises(ParameterError, match="length"):
        roll_out_unit_change(np.ones(3), np.arange(4.0), start_day=1, rollout_days=1)


def test_recall_as_known_uses_the_labels_arrived_in_the_window():
    rng = np.random.default_rng(0)
    label_days = rng.uniform(0, 30, 3_000)
    fraud = rng.random(3_000) < 0.3
    flagged = np.where(label_days < 15, fraud, False)  # the model stops catching on day 15
    recall = recall_as_known(label_days, fraud, flagged, window_days=5)
    assert recall.name == "recall_known"
    assert recall.index.min() == 5
    assert (recall.loc[5:15] == 1.0).all()
    assert (recall.loc[20:] == 0.0).all()
    assert 0 < recall.loc[17] < 1


def test_recall_as_known_without_frauds_is_empty_and_refuses_bad_window():
    assert recall_as_known([1.0, 2.0], [False, False], [True, False]).empty
    with pytest.raises(ParameterError, match="window_days"):
        recall_as_known([1.0], [True], [True], window_days=0)
    with pytest.raises(ParameterError, match="length"):
        recall_as_known([1.0, 2.0], [True], [True])


def test_detection_delays_table_and_accessors():
    days = pd.RangeIndex(0, 10)
    never = pd.Series(False, index=days)
    late = pd.Series(days >= 8, index=days)
    noisy = pd.Series(np.isin(days, [1, 2, 5]), index=days)
    report = detection_delays(
        {("a", "unit"): late, ("b", "unit"): noisy, ("a", "label"): never},
        {"unit": 5, "label": 6},
        quiet_days=(0, 5),
    )
    assert isinstance(report, DetectionReport)
    assert report.delay("a", "unit") == 3.0
    assert report.delay("b", "unit") == 0.0
    assert np.isnan(report.delay("a", "label"))
    assert report.to_frame()["false_alarms"].tolist() == [0, 2, 0]
    wide = report.delays()
    assert list(wide.index) == ["a", "b"] and list(wide.columns) == ["unit", "label"]
    assert "DetectionReport" in repr(report)
    with pytest.raises(KeyError, match="no row"):
        report.delay("c", "unit")


@pytest.mark.parametrize(
    ("alarms", "changes", "quiet", "message"),
    [
        ({("a", "x"): pd.Series([True])}, {"y": 1}, (0, 1), "not in change_days"),
        ({"a": pd.Series([True])}, {"x": 1}, (0, 1), r"\(detector, change\)"),
        ({("a", "x"): [True]}, {"x": 1}, (0, 1), "Series"),
        ({("a", "x"): pd.Series([True])}, {"x": 1}, (2, 1), "first < last"),
    ],
)
def test_detection_delays_refuses_bad_input(alarms, changes, quiet, message):
    with pytest.raises(ParameterError, match=message):
        detection_delays(alarms, changes, quiet_days=quiet)


def test_excess_log_loss_is_a_kl_divergence():
    p = np.array([0.0, 0.2, 1.0, 0.5])
    assert excess_log_loss(p, p) == pytest.approx(0.0, abs=1e-8)
    assert excess_log_loss(p, np.clip(p + 0.1, 0, 1)) > 0
    expected = 0.3 * np.log(0.3 / 0.6) + 0.7 * np.log(0.7 / 0.4)
    assert excess_log_loss([0.3], [0.6]) == pytest.approx(expected)
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        excess_log_loss([0.3], [1.5])
    with pytest.raises(ParameterError, match="length"):
        excess_log_loss([0.3, 0.2], [0.5])


def _history(shift: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    days = np.sort(rng.uniform(0, 100, 6_000))
    x = rng.normal(size=6_000)
    if shift == "covariate":
        x = x + np.where(days >= 70, 1.5, 0.0)
    slope = np.where((days >= 70) & (shift == "concept"), -2.0, 2.0)
    y = rng.random(6_000) < 1 / (1 + np.exp(-(slope * x + x**2 - 2)))
    new = rng.normal(size=3_000) + (1.5 if shift == "covariate" else 0.0)
    new_slope = -2.0 if shift == "concept" else 2.0
    p_new = 1 / (1 + np.exp(-(new_slope * new + new**2 - 2)))
    frame = pd.DataFrame({"x": x})
    return frame, y, days, pd.DataFrame({"x": new}), p_new


def test_recent_data_win_under_concept_shift_with_equal_budgets():
    X, y, days, new, p_new = _history("concept")
    result = compare_retraining(
        X, y, days, target_X=new, eval_X=new, eval_p=p_new, recent_days=25, seed=0
    )
    assert isinstance(result, RetrainingComparison)
    table = result.to_frame()
    assert list(table.index) == list(RETRAIN_ON)
    assert table["rows"].nunique() == 1  # an equal budget
    assert result.loss("recent") < result.loss("all")
    assert result.domain_auc < 0.6  # the inputs did not move
    assert table.loc["all, weighted", "effective_rows"] > 0.9 * table.loc["all", "rows"]
    assert "domain AUC" in repr(result)


def test_weights_move_a_misspecified_fit_towards_the_new_inputs():
    X, y, days, new, p_new = _history("covariate", seed=1)
    result = compare_retraining(
        X, y, days, target_X=new, eval_X=new, eval_p=p_new, recent_days=25, seed=1
    )
    table = result.to_frame()
    assert result.domain_auc > 0.6
    assert table.loc["all, weighted", "effective_rows"] < table.loc["all", "rows"]
    assert result.loss("all, weighted") < result.loss("all")


def test_several_models_share_one_sample_and_one_domain_classifier(monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    import mlsys_kit.monitoring.addressing as addressing

    X, y, days, new, p_new = _history("covariate", seed=2)
    common = {"target_X": new, "eval_X": new, "eval_p": p_new, "recent_days": 25, "seed": 3}
    models = {"default": None, "tree": DecisionTreeClassifier(max_depth=3, random_state=0)}
    models["plain logistic"] = LogisticRegression()
    one_by_one = {
        name: compare_retraining(X, y, days, model=m, **common) for name, m in models.items()
    }

    weight_fits = []
    real = addressing.covariate_shift_weights
    monkeypatch.setattr(
        addressing,
        "covariate_shift_weights",
        lambda *a, **k: weight_fits.append(1) or real(*a, **k),
    )
    together = compare_retraining_models(X, y, days, models=models, **common)
    assert list(together) == list(models) and weight_fits == [1]
    for name, result in together.items():
        pd.testing.assert_frame_equal(result.table, one_by_one[name].table)
        assert result.domain_auc == one_by_one[name].domain_auc
    with pytest.raises(ParameterError, match="models must name at least one model"):
        compare_retraining_models(X, y, days, models={}, **common)
    with pytest.raises(ParameterError, match="models must be a Mapping"):
        compare_retraining_models(X, y, days, models=[None], **common)


def test_compare_retraining_refuses_bad_input():
    X, y, days, new, p_new = _history("concept")
    common = {"target_X": new, "eval_X": new, "eval_p": p_new}
    with pytest.raises(ParameterError, match="recent_days"):
        compare_retraining(X, y, days, **common, recent_days=0)
    with pytest.raises(ParameterError, match="need at least 20 rows"):
        compare_retraining(X, y, days, **common, recent_days=0.001)
    with pytest.raises(ParameterError, match="columns of X_history"):
        compare_retraining(
            X, y, days, **(common | {"eval_X": new.rename(columns={"x": "z"})}), recent_days=5
        )
    with pytest.raises(ParameterError, match="length"):
        compare_retraining(X, y[:-1], days, **common, recent_days=5)
    with pytest.raises(ParameterError, match="DataFrame"):
        compare_retraining(X.to_numpy(), y, days, **common, recent_days=5)
