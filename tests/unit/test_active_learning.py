"""Unit tests for training_data.active_learning: uncertainty, the pool-based loop, budget curves."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelSpreading

from mlsys_kit.training_data.active_learning import active_learning_curve, budget_curve, uncertainty


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
    with pytest.raises(ValueError, match="choose one of"):
        uncertainty(np.array([[0.5, 0.5]]), "random")
    with pytest.raises(ValueError, match="shape"):
        uncertainty(np.array([0.5, 0.5]))


def test_active_learning_curve_measures_every_budget(digits):
    curve = active_learning_curve(
        LogisticRegression(max_iter=200),
        *digits,
        budgets=[10, 25, 40],
        strategy="margin",
        batch_size=10,
        rng=np.random.default_rng(0),
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
                rng=np.random.default_rng(seed),
            )
            for seed in range(3)
        ]
        return np.mean([run[60] for run in runs])

    assert mean_curve("margin") > mean_curve("random")


def test_active_learning_curve_bad_input(digits):
    model = LogisticRegression()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="strategy='best' is not allowed"):
        active_learning_curve(model, *digits, budgets=[10], strategy="best", rng=rng)
    with pytest.raises(ValueError, match="strictly increasing"):
        active_learning_curve(model, *digits, budgets=[20, 10], rng=rng)
    with pytest.raises(ValueError, match="positive integers"):
        active_learning_curve(model, *digits, budgets=[0, 10], rng=rng)
    with pytest.raises(ValueError, match="exceeds the pool"):
        active_learning_curve(model, *digits, budgets=[10, 5000], rng=rng)
    with pytest.raises(ValueError, match="batch_size"):
        active_learning_curve(model, *digits, budgets=[10], batch_size=0, rng=rng)
    X, y, X_test, y_test = digits
    with pytest.raises(ValueError, match="matching lengths"):
        active_learning_curve(model, X, y[:-1], X_test, y_test, budgets=[10], rng=rng)


def test_budget_curve_pairs_draws_and_supports_semi_supervised(digits):
    def curve(model, **kwargs):
        return budget_curve(
            model, *digits, budgets=[10, 50], n_repeats=2, rng=np.random.default_rng(1), **kwargs
        )

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
        rng=np.random.default_rng(0),
        metric="roc_auc",
    )
    assert curve.tolist() == [0.5]


def test_budget_curve_bad_input(digits):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="metric='f1' is not allowed"):
        budget_curve(LogisticRegression(), *digits, budgets=[10], rng=rng, metric="f1")
    with pytest.raises(ValueError, match="n_repeats"):
        budget_curve(LogisticRegression(), *digits, budgets=[10], rng=rng, n_repeats=0)
