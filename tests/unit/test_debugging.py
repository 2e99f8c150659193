"""Tests of ``modeling.debugging``: planted bugs, the cheap tests, the phases' gains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlsys_kit.modeling.baselines import RuleClassifier
from mlsys_kit.modeling.debugging import (
    DEBUG_BUGS,
    DEBUG_TESTS,
    DebugCase,
    DebugMatrix,
    PhaseGains,
    adversarial_auc,
    build_up_aucs,
    debug_matrix,
    fit_debug_case,
    overfit_one_batch,
    parameter_count,
    phase_gains,
    plant_bug,
)
from mlsys_kit.params import ParameterError


def _data(n: int = 3000, seed: int = 0):
    """Two informative columns, one noise column, and a leak: the label plus a little noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    y = (X["a"] + 0.7 * X["b"] + rng.normal(0, 1, n) > 0.8).to_numpy()
    X["leak"] = y + rng.normal(0, 0.3, n)
    train, test = slice(0, 2 * n // 3), slice(2 * n // 3, n)
    return X[train], y[train], X[test], y[test]


def _cases(seed: int = 0):
    X_train, y_train, X_test, y_test = _data(seed=seed)
    shifted = X_train["a"].to_numpy() > 0  # the training rows of another population
    return {
        bug: plant_bug(
            X_train,
            y_train,
            X_test,
            y_test,
            bug,
            leaky_column="leak",
            shifted_rows=shifted,
            seed=seed,
        )
        for bug in DEBUG_BUGS
    }


def test_plant_bug_changes_only_what_the_bug_names():
    cases = _cases()
    clean = cases["none"]
    assert isinstance(clean, DebugCase)
    assert list(clean.X_train.columns) == ["a", "b", "c"]
    assert list(cases["leaky feature"].X_train.columns) == ["a", "b", "c", "leak"]
    shuffled = cases["shuffled labels"]
    assert (shuffled.y_train != clean.y_train).any()
    assert sorted(shuffled.y_train) == sorted(clean.y_train)  # the same labels, permuted
    np.testing.assert_array_equal(shuffled.y_test, clean.y_test)
    assert cases["scaler fit before the split"].scale_on_all and not clean.scale_on_all
    assert cases["learning rate too high"].learning_rate == 30.0
    assert clean.learning_rate == 0.1
    shifted = cases["train/test shift"]
    assert (shifted.X_train["a"] > 0).all() and len(shifted.X_train) < len(clean.X_train)
    pd.testing.assert_frame_equal(shifted.X_test, clean.X_test)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bug": "typo"}, "bug='typo' is not allowed: choose one of 'none'"),
        ({"bug": "leaky feature", "leaky_column": None}, "needs leaky_column"),
        ({"bug": "train/test shift", "shifted_rows": None}, "needs shifted_rows"),
        ({"bug": "none", "leaky_column": "zzz"}, "leaky_column='zzz' must be a column"),
        ({"bug": "none", "learning_rate": 0}, "learning_rate=0.0 is out of range"),
        ({"bug": "train/test shift", "shifted_rows": [True, False]}, "must have the same length"),
    ],
)
def test_plant_bug_refuses_bad_input(kwargs, message):
    X_train, y_train, X_test, y_test = _data(300)
    arguments = {"leaky_column": "leak", "shifted_rows": X_train["a"] > 0, **kwargs}
    with pytest.raises(ParameterError, match=message):
        plant_bug(X_train, y_train, X_test, y_test, **arguments)


def test_plant_bug_refuses_arrays_and_mismatched_labels():
    X_train, y_train, X_test, y_test = _data(300)
    with pytest.raises(ParameterError, match="X_train must be a pandas DataFrame; got ndarray"):
        plant_bug(X_train.to_numpy(), y_train, X_test, y_test, "none")
    with pytest.raises(ParameterError, match="X_test and y_test must have the same length"):
        plant_bug(X_train, y_train, X_test, y_test[:-1], "none")


def test_the_clean_network_learns_and_the_exploding_one_does_not():
    cases = _cases()
    clean = fit_debug_case(cases["none"])
    assert clean.shape == (len(cases["none"].X_test),)
    from mlsys_kit.stats import rank_auc

    assert rank_auc(cases["none"].y_test, clean) > 0.8
    again = fit_debug_case(cases["none"])
    np.testing.assert_array_equal(clean, again)  # seeded
    assert rank_auc(cases["shuffled labels"].y_test, fit_debug_case(cases["shuffled labels"])) < 0.6
    with pytest.raises(ParameterError, match="case must be a DebugCase"):
        fit_debug_case("none")
    with pytest.raises(ParameterError, match="epochs=0 is out of range"):
        fit_debug_case(cases["none"], epochs=0)


def test_overfit_one_batch_fails_only_with_the_exploding_learning_rate():
    cases = _cases()
    assert overfit_one_batch(cases["none"]) >= 0.9
    assert overfit_one_batch(cases["shuffled labels"]) >= 0.9  # random labels memorised too
    assert overfit_one_batch(cases["learning rate too high"]) < 0.8
    with pytest.raises(ParameterError, match="batch_size must be even"):
        overfit_one_batch(cases["none"], batch_size=5)
    with pytest.raises(ParameterError, match="each class needs 5000 training rows"):
        overfit_one_batch(cases["none"], batch_size=10_000)


def test_build_up_adds_the_leak_last_and_shows_its_jump():
    cases = _cases()
    leaky = cases["leaky feature"]
    aucs = build_up_aucs(
        leaky, [["a"], ["b", "c"]], heuristic_auc=0.6, network_scores=np.zeros(len(leaky.X_test))
    )
    assert aucs.index.tolist() == ["heuristic", "+ a", "+ b, c", "+ leak", "network"]
    assert aucs["heuristic"] == 0.6 and aucs["network"] == 0.5
    assert aucs["+ leak"] - aucs["+ b, c"] > 0.05
    with pytest.raises(ParameterError, match="X_test and network_scores must have the same"):
        build_up_aucs(leaky, [["a"]], heuristic_auc=0.6, network_scores=[0.1])
    with pytest.raises(ParameterError, match="heuristic_auc=2.0 is out of range"):
        build_up_aucs(leaky, [["a"]], heuristic_auc=2.0, network_scores=np.zeros(1000))


def test_adversarial_auc_sees_a_shift_only():
    rng = np.random.default_rng(3)
    same = adversarial_auc(rng.normal(size=(600, 3)), rng.normal(size=(600, 3)), seed=0)
    shifted = adversarial_auc(rng.normal(size=(600, 3)), rng.normal(0.5, 1, (600, 3)), seed=0)
    assert abs(same - 0.5) < 0.05 and shifted > 0.7
    with pytest.raises(ParameterError, match="must have the same columns; got 3 and 2"):
        adversarial_auc(np.zeros((10, 3)), np.zeros((10, 2)))
    with pytest.raises(ParameterError, match="folds=1 is out of range"):
        adversarial_auc(np.zeros((10, 3)), np.zeros((10, 3)), folds=1)


def test_debug_matrix_catches_each_bug_with_its_test_and_spares_the_clean_pipeline():
    cases = _cases()
    heuristic = cases["none"].X_test["a"].to_numpy()  # a one-column rule
    matrix = debug_matrix(cases, heuristic_test_scores=heuristic, steps=[["a", "b"]], seed=0)
    assert isinstance(matrix, DebugMatrix)
    fires = matrix.fires
    assert fires.columns.tolist() == list(DEBUG_TESTS)
    assert fires.index.tolist() == list(DEBUG_BUGS)
    assert not fires.loc["none"].any()  # no false alarm
    assert fires.loc["learning rate too high", "overfit one batch"]
    assert not fires.loc["shuffled labels", "overfit one batch"]
    assert fires.loc["shuffled labels", "beat the heuristic"]
    assert fires.loc["leaky feature", "add one component at a time"]
    assert not fires.loc["leaky feature", "beat the heuristic"]
    assert fires.loc["train/test shift", "adversarial train/test"]
    table = matrix.to_frame()
    assert set(table.columns) == {"bug", "test", "value", "fires_when", "fires", "room"}
    assert ((table["room"] < 0) == table["fires"]).all()  # room is the distance from firing
    assert matrix.values.shape == (len(DEBUG_BUGS), len(DEBUG_TESTS))
    assert matrix.build_up.index[-1] == "network"
    assert "<table" in matrix._repr_html_()


def test_debug_matrix_refuses_bad_input():
    cases = _cases()
    heuristic = cases["none"].X_test["a"].to_numpy()
    with pytest.raises(ParameterError, match="cases must hold at least one DebugCase"):
        debug_matrix({}, heuristic_test_scores=heuristic, steps=[["a"]])
    with pytest.raises(ParameterError, match=r"cases\['x'\] must be a DebugCase; got str"):
        debug_matrix({"x": "none"}, heuristic_test_scores=heuristic, steps=[["a"]])
    with pytest.raises(ParameterError, match="max_step_gain=1.5 is out of range"):
        debug_matrix(
            {"none": cases["none"]},
            heuristic_test_scores=heuristic,
            steps=[["a"]],
            max_step_gain=1.5,
        )


def test_phase_gains_intervals_and_table():
    rng = np.random.default_rng(1)
    y = rng.random(3000) < 0.2
    signal = y + rng.normal(0, 1, 3000)
    scores = {"rule": signal + rng.normal(0, 2, 3000), "model": signal, "same": signal}
    gains = phase_gains(y, scores, n_boot=200, seed=0)
    assert isinstance(gains, PhaseGains)
    assert gains.low["model"] > 0
    assert gains.gain["same"] == 0 and gains.low["same"] == 0 == gains.high["same"]
    assert np.isnan(gains.gain["rule"])
    assert gains.resamples.shape == (200, 3)
    assert gains.to_frame().columns.tolist() == ["AUC", "gain", "gain low", "gain high"]
    with pytest.raises(ParameterError, match="at least two phases"):
        phase_gains(y, {"rule": signal})
    with pytest.raises(ParameterError, match="level=1.0 is out of range"):
        phase_gains(y, scores, level=1.0)
    with pytest.raises(ParameterError, match="same length"):
        phase_gains(y[:10], scores)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_parameter_count_of_each_kind_of_model():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 4)), rng.random(300) < 0.5
    assert parameter_count(LogisticRegression().fit(X, y)) == 5
    assert parameter_count(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)) == 5
    network = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5).fit(X, y)
    assert parameter_count(network) == 4 * 3 + 3 + 3 + 1
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    assert parameter_count(tree) == tree.tree_.node_count
    boosted = HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    assert parameter_count(boosted) > 3
    search = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(X, y)
    assert parameter_count(search) == 5
    assert parameter_count(RuleClassifier(_first_column).fit(X, y)) == 0
    with pytest.raises(ParameterError, match="cannot count the parameters of a _Predictor"):
        parameter_count(_Predictor())


def _first_column(X):
    return X[:, 0]


class _Predictor:
    def predict(self, X):
        return X
