"""Tests of ``modeling.baselines``: rule baselines, footprints and ensemble diversity."""

from __future__ import annotations

import pickle
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlsys_kit.modeling.baselines import (
    FOOTPRINT_COLUMNS,
    EnsembleDiversity,
    RuleClassifier,
    ensemble_diversity,
    ensemble_vote,
    error_correlation,
    independent_vote_accuracy,
    member_predictions,
    model_footprint,
    model_size_bytes,
)
from mlsys_kit.params import ParameterError


def first_column_positive(X):
    return np.asarray(X)[:, 0] > 0


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = X[:, 0] + 0.8 * X[:, 1] + rng.normal(scale=0.8, size=600) > 0.3
    return X[:400], y[:400], X[400:], y[400:]


# --- RuleClassifier ---------------------------------------------------------------------------


def test_rule_predicts_the_labels_seen_in_fit() -> None:
    X = np.array([[-1.0], [2.0], [0.5], [-3.0]])
    rule = RuleClassifier(first_column_positive).fit(X, ["low", "high", "high", "low"])
    assert rule.classes_.tolist() == ["high", "low"]  # sorted: "low" is the positive class
    # a score >= threshold predicts classes_[1], here "low"
    assert rule.predict(X).tolist() == ["high", "low", "low", "high"]
    scores = rule.predict_proba(X)
    assert scores.shape == (4, 2)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)


def test_rule_threshold_and_proba_ranking() -> None:
    X = np.array([[1.0], [5.0], [7.0], [9.0]])
    rule = RuleClassifier(lambda X: X[:, 0], threshold=6).fit(X, [0, 0, 1, 1])
    assert rule.predict(X).tolist() == [0, 0, 1, 1]
    positive = rule.predict_proba(X)[:, 1]
    assert np.all(np.diff(positive) > 0), "probabilities keep the ranking of the scores"
    assert positive[2] > 0.5 > positive[1]
    assert RuleClassifier(lambda X: X[:, 0], threshold=np.int64(6)).fit(X, [0, 0, 1, 1])


def test_rule_proba_of_extreme_scores_does_not_overflow() -> None:
    X = np.array([[-1e6], [1e6]])
    with np.errstate(all="raise"):
        proba = RuleClassifier(lambda X: X[:, 0]).fit(X, [0, 1]).predict_proba(X)
    np.testing.assert_allclose(proba, [[1, 0], [0, 1]])


def test_rule_is_a_scikit_learn_classifier_and_pickles(data) -> None:
    X, y, X_test, y_test = data
    rule = RuleClassifier(first_column_positive).fit(X, y)
    assert 0.6 < rule.score(X_test, y_test) < 1.0  # ClassifierMixin.score: accuracy
    restored = pickle.loads(pickle.dumps(rule))
    np.testing.assert_array_equal(restored.predict(X_test), rule.predict(X_test))


def test_rule_bad_input() -> None:
    X = np.zeros((3, 1))
    with pytest.raises(ParameterError, match="RuleClassifier: rule must be a callable"):
        RuleClassifier("x > 0").fit(X, [0, 1, 0])
    with pytest.raises(ParameterError, match="RuleClassifier: threshold must be a number"):
        RuleClassifier(first_column_positive, threshold="6").fit(X, [0, 1, 0])
    with pytest.raises(ParameterError, match="binary target"):
        RuleClassifier(first_column_positive).fit(X, [0, 1, 2])
    with pytest.raises(AttributeError, match="not fitted"):
        RuleClassifier(first_column_positive).predict(X)
    rule = RuleClassifier(lambda X: [1.0, 2.0]).fit(X, [0, 1, 0])
    with pytest.raises(ParameterError, match=r"one score per row \(3\)"):
        rule.predict(X)


# --- size and footprint -----------------------------------------------------------------------


def test_model_size_grows_with_the_model(data) -> None:
    X, y, _, _ = data
    small = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    large = DecisionTreeClassifier(random_state=0).fit(X, y)
    assert 0 < model_size_bytes(small) < model_size_bytes(large)


def test_model_size_of_unpicklable_model() -> None:
    with pytest.raises(ParameterError, match="model_size_bytes: model must be picklable"):
        model_size_bytes(lambda x: x)


def test_footprint_columns_and_values(data) -> None:
    X, y, X_test, y_test = data
    models = {
        "zero rule": DummyClassifier(strategy="most_frequent").fit(X, y),
        "logistic": LogisticRegression().fit(X, y),
    }
    table = model_footprint(models, X_test, y_test, n_requests=5, seed=1)
    assert list(table.columns) == FOOTPRINT_COLUMNS
    assert list(table.index) == ["zero rule", "logistic"]
    assert table.loc["zero rule", "roc_auc"] == 0.5
    assert table.loc["logistic", "accuracy"] > table.loc["zero rule", "accuracy"]
    assert (table["latency_p50_seconds"] > 0).all()
    assert table["size_bytes"].dtype.kind == "i"


def test_footprint_scores_do_not_depend_on_memory_layout(data) -> None:
    X, y, X_test, y_test = data
    models = {
        "logistic": LogisticRegression().fit(X, y),
        "tree": DecisionTreeClassifier().fit(X, y),
    }
    table = model_footprint(models, np.ascontiguousarray(X_test), y_test, n_requests=0)
    again = model_footprint(models, np.asfortranarray(X_test), y_test, n_requests=0)
    pd.testing.assert_frame_equal(table, again)


def test_footprint_without_timing(data) -> None:
    X, y, X_test, y_test = data
    table = model_footprint({"m": LogisticRegression().fit(X, y)}, X_test, y_test, n_requests=0)
    assert table["latency_p50_seconds"].isna().all()


def test_footprint_bad_input(data) -> None:
    X, y, X_test, y_test = data
    model = {"m": LogisticRegression().fit(X, y)}
    with pytest.raises(ParameterError, match="model_footprint: models must name at least one"):
        model_footprint({}, X_test, y_test)
    with pytest.raises(ParameterError, match="same number of rows"):
        model_footprint(model, X_test, y_test[:-1])
    with pytest.raises(ParameterError, match="two classes"):
        model_footprint(model, X_test, np.zeros(len(X_test)))
    with pytest.raises(
        ParameterError, match="n_requests=-1 is out of range: allowed n_requests ≥ 0"
    ):
        model_footprint(model, X_test, y_test, n_requests=-1)


# --- members and votes ------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [np.array(["no", "yes"]), np.array([False, True])])
def test_member_predictions_of_bagging_map_back_to_labels(data, labels) -> None:
    X, y, X_test, _ = data
    y_labels = labels[y.astype(int)]
    bag = BaggingClassifier(
        DecisionTreeClassifier(), n_estimators=5, max_features=0.5, random_state=0
    ).fit(X, y_labels)
    members = member_predictions(bag, X_test)
    assert list(members) == [f"member {i}" for i in range(5)]
    for predicted in members.values():
        assert predicted.dtype == labels.dtype
        assert set(predicted.tolist()) <= set(labels.tolist())
    # the members' soft vote is the bagging ensemble's own prediction on unanimous rows
    matrix = np.stack(list(members.values()))
    unanimous = (matrix == matrix[0]).all(axis=0)
    np.testing.assert_array_equal(bag.predict(X_test)[unanimous], matrix[0][unanimous])


def test_member_predictions_of_forest_and_voting(data) -> None:
    X, y, X_test, _ = data
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    assert len(member_predictions(forest, X_test)) == 3
    vote = VotingClassifier(
        [("logistic", LogisticRegression()), ("tree", DecisionTreeClassifier(max_depth=2))]
    ).fit(X, y)
    members = member_predictions(vote, X_test)
    assert list(members) == ["logistic", "tree"]
    assert members["logistic"].dtype == bool


def test_member_predictions_bad_input(data) -> None:
    X, y, X_test, _ = data
    with pytest.raises(ParameterError, match="member_predictions: ensemble must be a fitted"):
        member_predictions(LogisticRegression().fit(X, y), X_test)
    with pytest.raises(ParameterError, match="member_predictions: ensemble must be a fitted"):
        member_predictions(BaggingClassifier(), X_test)  # not fitted


def test_ensemble_vote_and_ties() -> None:
    assert ensemble_vote(np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0]])).tolist() == [1, 1, 0]
    assert ensemble_vote({"a": ["x", "y"], "b": ["y", "x"]}).tolist() == ["x", "x"]  # ties
    with pytest.raises(ParameterError, match="2-D array"):
        ensemble_vote(np.array([1, 0, 1]))
    with pytest.raises(ParameterError, match="same number of rows"):
        ensemble_vote({"a": [1, 0], "b": [1]})
    with pytest.raises(ParameterError, match="at least one member"):
        ensemble_vote({})


# --- error correlation and diversity ----------------------------------------------------------


def test_error_correlation_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=200)
    predictions = {name: np.where(rng.random(200) < 0.3, 1 - y, y) for name in "abc"}
    corr = error_correlation(predictions, y)
    errors = np.stack([predictions[name] != y for name in "abc"]).astype(float)
    np.testing.assert_allclose(corr.to_numpy(), np.corrcoef(errors))
    assert list(corr.index) == list(corr.columns) == ["a", "b", "c"]


def test_error_correlation_of_a_perfect_member_is_nan() -> None:
    y = np.array([0, 1, 1, 0])
    corr = error_correlation({"perfect": y, "other": np.array([1, 1, 1, 0])}, y)
    assert np.isnan(corr.loc["perfect", "other"])
    assert corr.loc["perfect", "perfect"] == 1.0


def test_error_correlation_bad_input() -> None:
    y = [0, 1, 1]
    with pytest.raises(ParameterError, match="at least two members"):
        error_correlation({"a": [0, 1, 1]}, y)
    with pytest.raises(ParameterError, match="one label per predicted row"):
        error_correlation({"a": [0, 1, 1], "b": [0, 1, 0]}, [0, 1])
    with pytest.raises(ParameterError, match="mapping of member name"):
        error_correlation([[0, 1, 1], [0, 1, 0]], y)


def test_diversity_independent_members_gain_correlated_members_do_not() -> None:
    rng = np.random.default_rng(2)
    n, k, accuracy = 20_000, 7, 0.7
    y = rng.integers(0, 2, size=n)
    independent = {f"m{i}": np.where(rng.random(n) < accuracy, y, 1 - y) for i in range(k)}
    shared = np.where(rng.random(n) < accuracy, y, 1 - y)
    same = {f"m{i}": shared for i in range(k)}
    free = ensemble_diversity(independent, y)
    tied = ensemble_diversity(same, y)
    assert abs(free.mean_error_correlation) < 0.03
    ideal = independent_vote_accuracy(accuracy, k)
    assert free.vote_accuracy == pytest.approx(ideal, abs=0.01)
    assert free.gain_over_mean > 0.1
    assert tied.mean_error_correlation == pytest.approx(1.0)
    assert tied.disagreement == 0.0
    assert tied.gain_over_mean == pytest.approx(0.0, abs=1e-12)
    assert set(asdict(free)) == {
        "n_members",
        "mean_error_correlation",
        "disagreement",
        "mean_member_accuracy",
        "best_member_accuracy",
        "vote_accuracy",
        "gain_over_mean",
        "gain_over_best",
    }


def test_diversity_accepts_pandas_labels() -> None:
    y = pd.Series([True, False, True, True])
    members = {"a": [True, False, False, True], "b": [True, True, True, True], "c": y.to_numpy()}
    summary = ensemble_diversity(members, y)
    assert summary.vote_accuracy == 1.0
    assert summary.n_members == 3


def test_independent_vote_accuracy() -> None:
    assert independent_vote_accuracy(0.7, 1) == pytest.approx(0.7)
    assert independent_vote_accuracy(0.7, 3) == pytest.approx(0.784)
    assert independent_vote_accuracy(0.5, 11) == pytest.approx(0.5)
    assert independent_vote_accuracy(0.4, 11) < 0.4  # weak members: the vote makes it worse
    with pytest.raises(ParameterError, match="n_members must be odd"):
        independent_vote_accuracy(0.7, 2)
    with pytest.raises(ParameterError, match="member_accuracy=1.5 is out of range: allowed 0 ≤"):
        independent_vote_accuracy(1.5, 3)
    with pytest.raises(ParameterError, match="n_members=0 is out of range"):
        independent_vote_accuracy(0.7, 0)
    with pytest.raises(ParameterError, match="member_accuracy must be a number"):
        independent_vote_accuracy("0.7", 3)


def _counted_vote(matrix):
    """The hand-written vote ensemble_vote replaced: count each label, ties to the smallest."""
    classes, codes = np.unique(matrix, return_inverse=True)
    codes = codes.reshape(matrix.shape)
    counts = np.stack([(codes == k).sum(axis=0) for k in range(len(classes))])
    return classes[counts.argmax(axis=0)]


@pytest.mark.parametrize("seed", range(5))
def test_ensemble_vote_is_scipys_mode(seed) -> None:
    from scipy.stats import mode

    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, 4, size=(int(rng.integers(2, 9)), 300))
    np.testing.assert_array_equal(ensemble_vote(matrix), mode(matrix, axis=0).mode)
    np.testing.assert_array_equal(ensemble_vote(matrix), _counted_vote(matrix))
    labels = np.array(["d", "c", "b", "a"])[matrix]  # strings, ordered the other way
    np.testing.assert_array_equal(ensemble_vote(labels), _counted_vote(labels))


@pytest.mark.parametrize("seed", range(5))
def test_error_correlation_matches_numpy_on_random_members(seed) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=150)
    predictions = {
        f"m{i}": np.where(rng.random(150) < rng.uniform(0.1, 0.6), (y + 1) % 3, y) for i in range(5)
    }
    errors = np.stack([p != y for p in predictions.values()]).astype(float)
    corr = error_correlation(predictions, y).to_numpy()
    np.testing.assert_allclose(corr, np.corrcoef(errors), atol=1e-12)


def test_ensemble_diversity_is_a_named_result() -> None:
    summary = ensemble_diversity({"a": [0, 1], "b": [0, 0], "c": [1, 1]}, [0, 1])
    assert isinstance(summary, EnsembleDiversity)
    assert summary.n_members == 3
    with pytest.raises(AttributeError):
        summary.n_members = 4
