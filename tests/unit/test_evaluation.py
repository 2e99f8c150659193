"""Tests of ``mlsys_kit.evaluation.learning_curves``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlsys_kit.evaluation import COLUMNS, learning_curves


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Remembers the rows it was fitted on (by the value of feature 0, a row id)."""

    seen: list[np.ndarray] = []  # shared on purpose, across clones

    def fit(self, X, y):
        RecordingClassifier.seen.append(np.asarray(X)[:, 0].copy())
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = np.column_stack([np.arange(300), rng.normal(size=(300, 2))])
    y = (X[:, 1] + 0.5 * rng.normal(size=300) > 0.8).astype(int)  # ~25% positives
    return X[:200], y[:200], X[200:], y[200:]


def test_one_row_per_fit_with_expected_columns(data) -> None:
    X, y, X_test, y_test = data
    models = {"a": LogisticRegression(), "b": DummyClassifier()}
    curves = learning_curves(models, X, y, X_test, y_test, sizes=[20, 50, 200], repeats=4)
    assert list(curves.columns) == COLUMNS
    # 2 sizes × 4 repeats + 1 fit at the full size, for each of 2 models
    assert len(curves) == 2 * (2 * 4 + 1)
    assert curves.groupby(["model", "size"]).size().to_dict()[("a", 200)] == 1
    assert (curves["fit_seconds"] >= 0).all()


def test_scores_are_on_the_test_set(data) -> None:
    X, y, X_test, y_test = data
    curves = learning_curves(
        {"dummy": DummyClassifier()}, X, y, X_test, y_test, sizes=[50], scoring="accuracy"
    )
    assert curves["score"].tolist() == pytest.approx([1 - y_test.mean()] * 3)


def test_more_data_helps_a_real_model(data) -> None:
    X, y, X_test, y_test = data
    curves = learning_curves(
        {"lr": LogisticRegression()}, X[:, 1:], y, X_test[:, 1:], y_test, sizes=[8, 200], repeats=5
    )
    mean = curves.groupby("size")["score"].mean()
    assert mean[200] > mean[8]


def test_same_seed_same_subsets_and_all_models_share_them(data) -> None:
    X, y, X_test, y_test = data
    models = {"first": RecordingClassifier(), "second": RecordingClassifier()}
    RecordingClassifier.seen = []
    learning_curves(models, X, y, X_test, y_test, sizes=[30], repeats=2, seed=5, scoring="accuracy")
    first_run = RecordingClassifier.seen
    RecordingClassifier.seen = []
    learning_curves(models, X, y, X_test, y_test, sizes=[30], repeats=2, seed=5, scoring="accuracy")
    second_run = RecordingClassifier.seen
    assert all(np.array_equal(a, b) for a, b in zip(first_run, second_run, strict=True))
    # fits go: repeat 0 (first, second), repeat 1 (first, second)
    assert np.array_equal(first_run[0], first_run[1])
    assert not np.array_equal(np.sort(first_run[0]), np.sort(first_run[2]))
    assert all(len(np.unique(rows)) == 30 for rows in first_run)


def test_stratified_subsets_keep_the_class_share(data) -> None:
    X, y, X_test, y_test = data
    RecordingClassifier.seen = []
    learning_curves(
        {"r": RecordingClassifier()},
        X,
        y,
        X_test,
        y_test,
        sizes=[40],
        repeats=5,
        scoring="accuracy",
    )
    expected = round(40 * y.mean())
    for rows in RecordingClassifier.seen:
        assert abs(int(y[rows.astype(int)].sum()) - expected) <= 1


def test_pandas_inputs_and_regression_without_stratify() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=120)}, index=rng.permutation(1000)[:120])
    y = pd.Series(2 * X["x"].to_numpy() + rng.normal(scale=0.1, size=120), index=X.index)
    curves = learning_curves(
        {"ols": LinearRegression()},
        X[:100],
        y[:100],
        X[100:],
        y[100:],
        sizes=[10, 100],
        repeats=2,
        scoring="r2",
        stratify=False,
    )
    assert (curves["score"] > 0.9).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": []}, "sizes must be a non-empty"),
        ({"sizes": [50, 20]}, "strictly increasing"),
        ({"sizes": [20, 20]}, "strictly increasing"),
        ({"sizes": [1, 20]}, r"sizes must lie in \[2, 200\]"),
        ({"sizes": [20, 201]}, r"sizes must lie in \[2, 200\]"),
        ({"sizes": [2.5]}, "sizes must be a non-empty sequence of integers"),
        ({"sizes": [20], "repeats": 0}, "repeats must be an integer"),
        ({"sizes": [20], "repeats": 1.0}, "repeats must be an integer"),
        ({"sizes": [20], "scoring": "auc_roc"}, "scoring='auc_roc' is not a scikit-learn scorer"),
    ],
)
def test_bad_arguments_are_named(data, kwargs: dict, message: str) -> None:
    X, y, X_test, y_test = data
    with pytest.raises(ValueError, match=message):
        learning_curves({"lr": LogisticRegression()}, X, y, X_test, y_test, **kwargs)


def test_bad_models_and_lengths_are_named(data) -> None:
    X, y, X_test, y_test = data
    with pytest.raises(ValueError, match="models must name"):
        learning_curves({}, X, y, X_test, y_test, sizes=[20])
    with pytest.raises(ValueError, match="X and y must have the same number of rows"):
        learning_curves({"lr": LogisticRegression()}, X, y[:-1], X_test, y_test, sizes=[20])
    with pytest.raises(ValueError, match="X_test and y_test"):
        learning_curves({"lr": LogisticRegression()}, X, y, X_test, y_test[:-1], sizes=[20])
    with pytest.raises(ValueError, match="X must be array-like"):
        learning_curves({"lr": LogisticRegression()}, 3, y, X_test, y_test, sizes=[20])


def test_size_smaller_than_the_number_of_classes_is_refused(data) -> None:
    X, _, X_test, _ = data
    y = np.arange(200) % 3
    with pytest.raises(ValueError, match="at least the number of classes"):
        learning_curves(
            {"d": DummyClassifier()},
            X,
            y,
            X_test,
            np.arange(100) % 3,
            sizes=[2],
            scoring="accuracy",
        )
