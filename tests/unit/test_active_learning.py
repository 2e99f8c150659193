"""Unit tests for training_data.active_learning: uncertainty, the pool-based loop, budget curves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelSpreading

from mlsys_kit.params import ParameterError
from mlsys_kit.training_data.active_learning import (
    active_learning_curve,
    budget_curve,
    budget_scores,
    uncertainty,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    return X[:900], y[:900], X[900:1400], y[900:1400]


def test_uncertainty_kinds():
    p = np.array([[1.0, 0.0], [0.5, 0.5], [0.7, 0.3]])
    assert uncertainty(p, "least_confident").round(2).tolist() == [0.0, 0.5, 0.3]
    assert uncertainty(p, "margin").round(2).tolist() == [0.0, 1.0, 0.6]
    entropy = uncertainty(p, "entropy")
    assert entropy[0] == 0 and entropy[1] == pytest.approx(np.log(2))
    assert uncertainty(np.array([[1.0]]), "margin").tolist() == [0.0]


def test_uncertainty_bad_input():
    with pytest.raises(ParameterError, match="uncertainty: kind='random' is not allowed"):
        uncertainty(np.array([[0.5, 0.5]]), "random")
    with pytest.raises(ParameterError, match=r"uncertainty: proba must have 2 dimension\(s\)"):
        uncertainty(np.array([0.5, 0.5]))


def test_uncertainties_against_scipy_and_numpy_on_random_distributions():
    rng = np.random.default_rng(0)
    for n_classes in (2, 3, 10):
        p = rng.dirichlet(np.full(n_classes, 0.5), size=200)
        np.testing.assert_allclose(uncertainty(p, "entropy"), stats.entropy(p, axis=1))
        top = np.sort(p, axis=1)
        np.testing.assert_allclose(uncertainty(p, "least_confident"), 1 - top[:, -1])
        np.testing.assert_allclose(uncertainty(p, "margin"), 1 - (top[:, -1] - top[:, -2]))


def test_active_learning_curve_measures_every_budget(digits):
    curve = active_learning_curve(
        LogisticRegression(max_iter=200),
        *digits,
        budgets=[10, 25, 40],
        strategy="margin",
        batch_size=10,
        seed=0,
    )
    assert curve.index.tolist() == [10, 25, 40]
    assert curve.between(0, 1).all()


def test_uncertainty_sampling_beats_random_on_digits(digits):
    def mean_curve(strategy):
        runs = [
            active_learning_curve(
                LogisticRegression(max_iter=200),
                *digits,
                budgets=[20, 60],
                strategy=strategy,
                seed=seed,
            )
            for seed in range(3)
        ]
        return np.mean([run[60] for run in runs])

    assert mean_curve("margin") > mean_curve("random")


def test_active_learning_curve_bad_input(digits):
    model = LogisticRegression()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="strategy='best' is not allowed"):
        active_learning_curve(model, *digits, budgets=[10], strategy="best", seed=rng)
    with pytest.raises(ValueError, match="strictly increasing"):
        active_learning_curve(model, *digits, budgets=[20, 10], seed=rng)
    with pytest.raises(ParameterError, match=r"budgets\[0\]=0 is out of range"):
        active_learning_curve(model, *digits, budgets=[0, 10], seed=rng)
    with pytest.raises(ValueError, match="exceeds the pool"):
        active_learning_curve(model, *digits, budgets=[10, 5000], seed=rng)
    with pytest.raises(ValueError, match="batch_size"):
        active_learning_curve(model, *digits, budgets=[10], batch_size=0, seed=rng)
    X, y, X_test, y_test = digits
    with pytest.raises(ParameterError, match="X_pool and y_pool must have the same length"):
        active_learning_curve(model, X, y[:-1], X_test, y_test, budgets=[10], seed=rng)


def test_budget_curve_pairs_draws_and_supports_semi_supervised(digits):
    def curve(model, **kwargs):
        return budget_curve(model, *digits, budgets=[10, 50], n_repeats=2, seed=1, **kwargs)

    supervised = curve(LogisticRegression(max_iter=200))
    assert supervised.equals(curve(LogisticRegression(max_iter=200)))  # same draws, same result
    with np.errstate(invalid="ignore"):  # digits linked to no labelled one: 0 / 0 in sklearn
        spreading = curve(LabelSpreading(kernel="knn", n_neighbors=7), semi_supervised=True)
    assert spreading[50] > supervised[50]


def test_budget_curve_roc_auc_and_single_class_draws():
    X = np.arange(40, dtype=float).reshape(-1, 1)
    y = (X[:, 0] >= 38).astype(int)  # two positives only: a 1-row draw has one class
    curve = budget_curve(
        LogisticRegression(),
        X,
        y,
        X,
        y,
        budgets=[1],
        n_repeats=3,
        seed=0,
        metric="roc_auc",
    )
    assert curve.tolist() == [0.5]


def test_budget_curve_bad_input(digits):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="metric='f1' is not allowed"):
        budget_curve(LogisticRegression(), *digits, budgets=[10], seed=rng, metric="f1")
    with pytest.raises(ValueError, match="n_repeats"):
        budget_curve(LogisticRegression(), *digits, budgets=[10], seed=rng, n_repeats=0)


def test_seeds_are_reproducible_and_none_is_refused(digits):
    model = LogisticRegression(max_iter=200)
    one = budget_curve(model, *digits, budgets=[10, 30], n_repeats=2)
    assert one.equals(budget_curve(model, *digits, budgets=[10, 30], n_repeats=2, seed=0))
    with pytest.raises(ParameterError, match="budget_curve: seed"):
        budget_curve(model, *digits, budgets=[10], seed=None)
    with pytest.raises(ParameterError, match="active_learning_curve: seed"):
        active_learning_curve(model, *digits, budgets=[10], seed=-1)


def test_budget_scores_keeps_each_draw_and_averages_to_the_curve(digits):
    model = LogisticRegression(max_iter=200)
    scores = budget_scores(model, *digits, budgets=[10, 50], n_repeats=3, seed=2)
    assert scores.shape == (2, 3)
    assert scores.columns.name == "draw" and scores.index.name == "labels"
    curve = budget_curve(model, *digits, budgets=[10, 50], n_repeats=3, seed=2)
    np.testing.assert_allclose(scores.mean(axis=1).to_numpy(), curve.to_numpy())
