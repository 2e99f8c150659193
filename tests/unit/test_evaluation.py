"""Tests of ``modeling.evaluation``: learning curves, calibration, confidence, slices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import roc_auc_score

from mlsys_kit.modeling.evaluation import (
    COLUMNS,
    COVERAGE_COLUMNS,
    RELIABILITY_COLUMNS,
    SLICE_COLUMNS,
    accuracy_coverage,
    auc_difference_interval,
    expected_calibration_error,
    find_underperforming_slices,
    learning_curves,
    reliability_table,
    slice_accuracy,
)
from mlsys_kit.params import ParameterError


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


def test_scores_do_not_depend_on_the_test_arrays_memory_layout(data) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y, X_test, y_test = data
    models = {"lr": LogisticRegression(), "hgb": HistGradientBoostingClassifier(max_iter=5)}
    row_major = learning_curves(models, X, y, X_test, y_test, sizes=[50, 200], seed=3)
    column_major = np.asfortranarray(X_test)
    again = learning_curves(models, X, y, column_major, y_test, sizes=[50, 200], seed=3)
    assert again["score"].tolist() == row_major["score"].tolist()
    assert X_test.flags.c_contiguous  # the caller's array is left as it was


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
        ({"sizes": [2.5]}, r"sizes \(each\) must be an integer; got 2.5"),
        ({"sizes": [20], "repeats": 0}, "repeats=0 is out of range: allowed repeats ≥ 1"),
        ({"sizes": [20], "repeats": 1.0}, "repeats must be an integer"),
        ({"sizes": [20], "scoring": "auc_roc"}, "scoring='auc_roc' is not a scikit-learn scorer"),
    ],
)
def test_bad_arguments_are_named(data, kwargs: dict, message: str) -> None:
    X, y, X_test, y_test = data
    with pytest.raises(ParameterError, match=message):
        learning_curves({"lr": LogisticRegression()}, X, y, X_test, y_test, **kwargs)


def test_bad_models_and_lengths_are_named(data) -> None:
    X, y, X_test, y_test = data
    with pytest.raises(ParameterError, match="models must name"):
        learning_curves({}, X, y, X_test, y_test, sizes=[20])
    with pytest.raises(
        ParameterError, match="learning_curves: X and y must have the same length; got 200, 199"
    ):
        learning_curves({"lr": LogisticRegression()}, X, y[:-1], X_test, y_test, sizes=[20])
    with pytest.raises(ParameterError, match="X_test and y_test"):
        learning_curves({"lr": LogisticRegression()}, X, y, X_test, y_test[:-1], sizes=[20])
    with pytest.raises(ParameterError, match="X must be array-like"):
        learning_curves({"lr": LogisticRegression()}, 3, y, X_test, y_test, sizes=[20])


def test_size_smaller_than_the_number_of_classes_is_refused(data) -> None:
    X, _, X_test, _ = data
    y = np.arange(200) % 3
    with pytest.raises(ParameterError, match="at least the number of classes"):
        learning_curves(
            {"d": DummyClassifier()},
            X,
            y,
            X_test,
            np.arange(100) % 3,
            sizes=[2],
            scoring="accuracy",
        )


# --- calibration, confidence, slices (Chapter 6, offline evaluation) ------------------------------


def test_ece_matches_a_hand_computed_example() -> None:
    # 10 samples, 5 bins of width 0.2, (lo, hi] as in sklearn's calibration_curve:
    # bin 0 [0, .2]:  p .05 .15, y 0 0  -> conf .10, acc 0   -> |gap| .10, weight 2/10
    # bin 1 (.2, .4]: p .25 .35 .35, y 0 1 0 -> conf .95/3, acc 1/3 -> |gap| .05/3, weight 3/10
    # bin 2 (.4, .6]: p .6 (on the edge: the bin on its left), y 0 -> conf .6, acc 0
    #                 -> |gap| .6, weight 1/10
    # bin 3 (.6, .8]: empty
    # bin 4 (.8, 1]:  p .85 .95 1.0 .9, y 1 1 1 0 -> conf .925, acc .75 -> |gap| .175, weight 4/10
    y = [0, 0, 0, 1, 0, 0, 1, 1, 1, 0]
    p = [0.05, 0.15, 0.25, 0.35, 0.35, 0.6, 0.85, 0.95, 1.0, 0.9]
    expected = 0.2 * 0.10 + 0.3 * (0.05 / 3) + 0.1 * 0.6 + 0.4 * 0.175
    assert expected_calibration_error(y, p, n_bins=5) == pytest.approx(expected)
    assert expected == pytest.approx(0.155)
    table = reliability_table(y, p, n_bins=5)
    assert list(table.columns) == RELIABILITY_COLUMNS
    assert table["count"].tolist() == [2, 3, 1, 0, 4]
    assert np.isnan(table.loc[3, "confidence"]) and np.isnan(table.loc[3, "accuracy"])
    assert table["lower"].tolist() == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    assert table.loc[4, "confidence"] == pytest.approx(0.925)
    assert table.loc[4, "gap"] == pytest.approx(-0.175)


def test_ece_extremes_and_bool_labels() -> None:
    assert expected_calibration_error([True, False], [1.0, 0.0]) == 0.0
    assert expected_calibration_error([1, 0], [0.0, 1.0]) == 1.0
    # a model always predicting the base rate is calibrated in that single bin
    y = np.array([1] * 30 + [0] * 70)
    assert expected_calibration_error(y, np.full(100, 0.3)) == pytest.approx(0.0)


def test_ece_of_calibrated_draws_is_small_and_of_shifted_ones_large() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.clip(p + 0.2, 0, 1)) > 0.15


@pytest.mark.parametrize(
    ("y_true", "y_prob", "kwargs", "message"),
    [
        ([], [], {}, r"y_true must have at least 1 row\(s\); got 0"),
        ([0, 1], [0.5], {}, "y_true and y_prob must have the same length; got 2, 1"),
        ([0, 2], [0.5, 0.5], {}, r"only 0/1 \(or bool\) labels; found \[2.0\]"),
        (["a", "b"], [0.5, 0.5], {}, "0/1 or bool labels"),
        ([0, 1], [0.5, 1.2], {}, r"probabilities in \[0, 1\]"),
        ([0, 1], [0.5, np.nan], {}, r"probabilities in \[0, 1\]"),
        ([0, 1], [[0.5, 0.5], [0.2, 0.8]], {}, r"y_prob must have 1 dimension\(s\)"),
        ([0, 1], [0.5, 0.5], {"n_bins": 0}, "n_bins=0 is out of range: allowed n_bins ≥ 1"),
        ([0, 1], [0.5, 0.5], {"n_bins": 2.5}, "n_bins must be an integer"),
        ([0, 1], [0.5, 0.5], {"n_bins": True}, "n_bins must be an integer"),
    ],
)
def test_ece_bad_input_is_named(y_true, y_prob, kwargs, message) -> None:
    with pytest.raises(ParameterError, match=message):
        expected_calibration_error(y_true, y_prob, **kwargs)


def test_accuracy_coverage_counts_and_abstains() -> None:
    y = [1, 1, 0, 0, 1]
    p = [0.9, 0.6, 0.45, 0.05, 0.3]  # confidences .9 .6 .55 .95 .7; correct: T T T T F
    table = accuracy_coverage(y, p, thresholds=[0.5, 0.65, 0.8, 1.0])
    assert table["answered"].tolist() == [5, 3, 2, 0]
    assert table["coverage"].tolist() == pytest.approx([1.0, 0.6, 0.4, 0.0])
    assert table["accuracy"].iloc[:3].tolist() == pytest.approx([0.8, 2 / 3, 1.0])
    assert table["confidence"].iloc[:3].tolist() == pytest.approx([0.74, 0.85, 0.925])
    assert np.isnan(table["accuracy"].iloc[3]) and np.isnan(table["confidence"].iloc[3])
    assert list(table.columns) == COVERAGE_COLUMNS
    default = accuracy_coverage(y, p)
    assert len(default) == 51 and default["threshold"].iloc[0] == 0.5
    assert default["coverage"].is_monotonic_decreasing


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ([0.4], r"thresholds must lie in \[0.5, 1\]"),
        ([0.6, 1.1], r"thresholds must lie in \[0.5, 1\]"),
        ([], r"thresholds must have at least 1 row\(s\)"),
        ("0.7", "sequence of numbers"),
        (["high"], "thresholds cannot be read as an array"),
    ],
)
def test_accuracy_coverage_bad_thresholds(thresholds, message) -> None:
    with pytest.raises(ParameterError, match=message):
        accuracy_coverage([0, 1], [0.2, 0.9], thresholds=thresholds)


@pytest.fixture
def sliced() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 4000
    data = pd.DataFrame(
        {
            "country": rng.choice(["FR", "DE", "IT"], n),
            "age": rng.integers(18, 80, n),
            "new": rng.random(n) < 0.3,
        }
    )
    data.loc[rng.random(n) < 0.05, "country"] = None
    y_true = rng.integers(0, 2, n)
    error_rate = np.where((data["country"] == "IT") & (data["age"] >= 60), 0.5, 0.1)
    wrong = rng.random(n) < error_rate
    return data, y_true, np.where(wrong, 1 - y_true, y_true)


def test_slice_accuracy_covers_values_quantiles_and_missing(sliced) -> None:
    data, y_true, y_pred = sliced
    table = slice_accuracy(data, y_true, y_pred, min_size=1)
    assert list(table.columns) == SLICE_COLUMNS
    names = set(table["slice"])
    assert {"country = FR", "country = IT", "country is missing", "new = True"} <= names
    assert sum(name.startswith("age in ") for name in names) == 4
    overall = (y_true == y_pred).mean()
    row = table.set_index("slice").loc["country = IT"]
    mask = (data["country"] == "IT").to_numpy()
    assert row["size"] == mask.sum()
    assert row["accuracy"] == pytest.approx((y_true == y_pred)[mask].mean())
    assert row["rest_accuracy"] == pytest.approx((y_true == y_pred)[~mask].mean())
    assert row["gap"] == pytest.approx(row["accuracy"] - overall)
    assert table["gap"].is_monotonic_increasing
    assert table["p_value"].between(0, 1).all()


def test_slice_finder_finds_the_planted_slice_and_pairs(sliced) -> None:
    data, y_true, y_pred = sliced
    single = find_underperforming_slices(data, y_true, y_pred)
    assert single["slice"].iloc[0] == "country = IT"
    assert (single["gap"] < 0).all() and (single["p_value"] < 0.05).all()
    pairs = find_underperforming_slices(data, y_true, y_pred, max_depth=2, min_size=50)
    worst = pairs["slice"].iloc[0]
    assert "country = IT" in worst and "age in" in worst and " & " in worst
    assert pairs["accuracy"].iloc[0] < 0.65


def test_no_slice_is_flagged_when_errors_are_uniform() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    data = pd.DataFrame({"g": rng.choice(list("abcdef"), n), "x": rng.normal(size=n)})
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.2, 1 - y_true, y_true)
    assert find_underperforming_slices(data, y_true, y_pred, max_depth=2, min_size=30).empty


def test_min_size_skips_small_slices(sliced) -> None:
    data, y_true, y_pred = sliced
    table = slice_accuracy(data, y_true, y_pred, columns=["country"], min_size=500)
    assert (table["size"] >= 500).all()
    assert "country is missing" not in set(table["slice"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["colour"]}, "column='colour' is not allowed: choose one of 'country'"),
        ({"columns": "country"}, "sequence of column names"),
        ({"columns": []}, "columns must name at least one column"),
        ({"min_size": 0}, "slice_accuracy: min_size=0 is out of range: allowed min_size ≥ 1"),
        ({"n_quantiles": 1}, "n_quantiles=1 is out of range: allowed n_quantiles ≥ 2"),
        ({"max_depth": 3}, "max_depth=3 is out of range: allowed 1 ≤ max_depth ≤ 2"),
        ({"alpha": 0}, "alpha=0.0 is out of range: allowed 0 < alpha < 1"),
        ({"alpha": 1.5}, "find_underperforming_slices: alpha=1.5 is out of range"),
    ],
)
def test_slice_finder_bad_arguments_are_named(sliced, kwargs, message) -> None:
    data, y_true, y_pred = sliced
    with pytest.raises(ParameterError, match=message):
        find_underperforming_slices(data, y_true, y_pred, **kwargs)


def test_slice_finder_bad_data_is_named(sliced) -> None:
    data, y_true, y_pred = sliced
    with pytest.raises(
        ParameterError, match="slice_accuracy: data must be a DataFrame; got ndarray"
    ):
        slice_accuracy(data.to_numpy(), y_true, y_pred)
    with pytest.raises(
        ParameterError, match="data and y_true and y_pred must have the same length"
    ):
        slice_accuracy(data, y_true[:-1], y_pred)
    with pytest.raises(ParameterError, match=r"y_pred must have 1 dimension\(s\)"):
        slice_accuracy(data, y_true, np.column_stack([y_pred, y_pred]))
    with pytest.raises(ParameterError, match="must not be empty"):
        slice_accuracy(data.iloc[:0], y_true[:0], y_pred[:0])


# --- against the libraries ------------------------------------------------------------------------


def _random_probabilities(rng: np.random.Generator, n_bins: int) -> np.ndarray:
    """Uniform draws, plus values exactly on the bin edges (sklearn's and the decimal ones)."""
    p = rng.uniform(size=500)
    on_edges = np.concatenate([np.linspace(0, 1, n_bins + 1), np.arange(n_bins + 1) / n_bins])
    return np.concatenate([p, rng.choice(on_edges, 200), [0.0, 1.0]])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_bins", [1, 3, 5, 10, 17])
def test_reliability_table_bins_as_sklearn_calibration_curve(seed, n_bins) -> None:
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(seed)
    p = _random_probabilities(rng, n_bins)
    y = (rng.uniform(size=p.size) < p).astype(int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins)
    table = reliability_table(y, p, n_bins=n_bins)
    filled = table[table["count"] > 0]
    np.testing.assert_allclose(filled["accuracy"], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(filled["confidence"], prob_pred, rtol=0, atol=1e-12)
    assert table["count"].sum() == p.size
    ids = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p)
    np.testing.assert_array_equal(table["count"], np.bincount(ids, minlength=n_bins))
    weights = filled["count"] / p.size
    ece = float((weights * np.abs(prob_true - prob_pred)).sum())
    assert expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(ece, abs=1e-12)


def test_a_probability_on_an_edge_goes_to_the_bin_on_its_left() -> None:
    table = reliability_table([0, 1, 1], [0.0, 0.5, 1.0], n_bins=2)
    assert table["count"].tolist() == [2, 1]  # 0.5 is in [0, 0.5], as in calibration_curve


@pytest.mark.parametrize("seed", range(5))
def test_slice_p_values_are_statsmodels_z_tests_bonferroni_corrected(seed) -> None:
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(seed)
    n = 1_500
    data = pd.DataFrame({"g": rng.choice(list("abcde"), n), "x": rng.normal(size=n)})
    y_true = rng.integers(0, 2, n)
    error_rate = np.where(data["g"] == "a", rng.uniform(0.1, 0.4), 0.15)
    y_pred = np.where(rng.random(n) < error_rate, 1 - y_true, y_true)
    table = slice_accuracy(data, y_true, y_pred, min_size=20, max_depth=2)
    correct = y_true == y_pred
    raw = []
    for size, accuracy, rest_accuracy in table[["size", "accuracy", "rest_accuracy"]].to_numpy():
        hits, rest = round(accuracy * size), n - size
        counts = [hits, round(rest_accuracy * rest)]
        raw.append(proportions_ztest(counts, [size, rest], alternative="smaller")[1])
    assert sum(round(a * s) for s, a in table[["size", "accuracy"]].to_numpy()[:1]) <= n
    expected = multipletests(raw, method="bonferroni")[1]
    np.testing.assert_allclose(table["p_value"], expected, rtol=1e-12, atol=1e-15)
    # the hand-written pooled z-test it replaced
    from scipy.stats import norm

    overall = correct.mean()
    size = table["size"].to_numpy(float)
    se = np.sqrt(overall * (1 - overall) * (1 / size + 1 / (n - size)))
    z = (table["accuracy"] - table["rest_accuracy"]).to_numpy() / se
    by_hand = np.minimum(norm.cdf(z) * len(table), 1.0)
    np.testing.assert_allclose(table["p_value"], by_hand, rtol=1e-9, atol=1e-12)


def test_slice_p_value_is_one_when_nothing_can_be_compared() -> None:
    data = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "one": ["x"] * 10})
    y = np.array([0, 1] * 5)
    table = slice_accuracy(data, y, y, min_size=1).set_index("slice")
    assert (table["p_value"] == 1.0).all()  # every prediction right: no variance
    y_pred = np.where(np.arange(10) < 3, 1 - y, y)
    whole = slice_accuracy(data, y, y_pred, min_size=1).set_index("slice")
    assert whole.loc["one = x", "p_value"] == 1.0 and np.isnan(
        whole.loc["one = x", "rest_accuracy"]
    )


# --- auc_difference_interval ----------------------------------------------------------------------


def _sklearn_auc_difference(y, new, old, n_boot, level, seed):
    """The same paired bootstrap, written with roc_auc_score."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        diffs.append(roc_auc_score(y[i], new[i]) - roc_auc_score(y[i], old[i]))
    return np.mean(diffs), *np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])


def test_auc_difference_matches_roc_auc_score_ties_included() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.3).astype(int)
    new = np.round(0.5 * y + rng.random(500), 1)  # rounded: many ties
    old = np.round(0.3 * y + rng.random(500), 2)
    got = auc_difference_interval(y, new, old, n_boot=50, level=0.8, seed=7)
    assert tuple(got) == pytest.approx(_sklearn_auc_difference(y, new, old, 50, 0.8, 7), abs=1e-12)
    assert got.low < got.mean < got.high


def test_auc_difference_of_a_model_with_itself_is_zero_and_seeded() -> None:
    rng = np.random.default_rng(2)
    y, score = (rng.random(200) < 0.5), rng.random(200)
    assert tuple(auc_difference_interval(y, score, score, n_boot=10)) == (0.0, 0.0, 0.0)
    better = score + y
    first = auc_difference_interval(y, better, score, n_boot=10, seed=rng)
    assert first.low > 0
    again = auc_difference_interval(y, better, score, n_boot=10, seed=3)
    assert again == auc_difference_interval(y, better, score, n_boot=10, seed=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [0, 1, 2]}, "y_true must hold both classes"),
        ({"y_true": [1, 1, 1]}, "y_true must hold both classes"),
        ({"score_new": [0.1, 0.2]}, "same length"),
        ({"score_old": [0.1, np.nan, 0.3]}, "score_old"),
        ({"n_boot": 0}, "n_boot=0 is out of range"),
        ({"level": 1.0}, "level=1.0 is out of range"),
    ],
)
def test_auc_difference_bad_input(kwargs, message) -> None:
    args = {"y_true": [0, 1, 0], "score_new": [0.1, 0.9, 0.2], "score_old": [0.2, 0.8, 0.3]}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        auc_difference_interval(
            args.pop("y_true"), args.pop("score_new"), args.pop("score_old"), **args
        )


def test_auc_difference_refuses_a_resample_with_one_class() -> None:
    with pytest.raises(ParameterError, match="one class only"):
        auc_difference_interval([0] * 50 + [1], np.arange(51.0), np.arange(51.0), n_boot=200)
