"""Tests of ``features.importance``: importances, SHAP additivity, feature generalization."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlsys_kit.features.importance import (
    IMPORTANCE_COLUMNS,
    REPORT_COLUMNS,
    add_noise_features,
    additivity_gap,
    compare_importances,
    distribution_shift,
    generalization_report,
    tree_shap,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.stats import quantile_bins, quantile_edges


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    """One strong signal, one weak signal, one high-cardinality noise column."""
    rng = np.random.default_rng(0)
    n = 1200
    X = pd.DataFrame(
        {
            "strong": rng.normal(size=n),
            "weak": rng.normal(size=n),
            "noise_id": rng.integers(0, 5000, n),
        }
    )
    y = (2 * X["strong"] + 0.5 * X["weak"] + rng.normal(size=n) > 0).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def forest(data) -> RandomForestClassifier:
    X, y = data
    return RandomForestClassifier(n_estimators=20, min_samples_leaf=2, random_state=0).fit(
        X[:800], y[:800]
    )


# --- add_noise_features -------------------------------------------------------------------


def test_noise_columns_are_added_after_the_features() -> None:
    X = pd.DataFrame({"a": range(100)}, index=range(100, 200))
    out = add_noise_features(X, 3, seed=np.random.default_rng(1), cardinality=7)
    assert out.columns.tolist() == ["a", "noise_0", "noise_1", "noise_2"]
    assert out.index.equals(X.index)
    assert out["noise_0"].between(0, 6).all()
    assert X.columns.tolist() == ["a"]  # the input is not modified


def test_noise_is_uniform_floats_by_default_and_seeded() -> None:
    X = pd.DataFrame({"a": range(50)})
    one = add_noise_features(X, 1, seed=np.random.default_rng(3), prefix="probe")
    two = add_noise_features(X, 1, seed=np.random.default_rng(3), prefix="probe")
    assert one["probe"].between(0, 1).all() and one["probe"].nunique() == 50
    pd.testing.assert_frame_equal(one, two)
    assert add_noise_features(X, 0, seed=0).equals(X)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1}, "add_noise_features: n=-1 is out of range: allowed n ≥ 0"),
        ({"n": 1.5}, "add_noise_features: n must be an integer; got 1.5"),
        ({"n": 1, "cardinality": 1}, "cardinality=1 is out of range: allowed cardinality ≥ 2"),
        ({"n": 1, "seed": -1}, "seed=-1 is out of range"),
        ({"n": 1, "prefix": "a"}, r"already has column\(s\) \['a'\]"),
    ],
)
def test_add_noise_features_rejects_bad_input(kwargs, message) -> None:
    X = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ParameterError, match=message):
        add_noise_features(X, **kwargs)


def test_add_noise_features_needs_a_dataframe() -> None:
    with pytest.raises(ParameterError, match="add_noise_features: frame must be a DataFrame"):
        add_noise_features(np.zeros((3, 2)), 1)


# --- tree_shap and additivity_gap ---------------------------------------------------------


def test_tree_shap_values_add_up_to_the_probability(forest, data) -> None:
    X, _ = data
    rows = X[800:900]
    explanation = tree_shap(forest, rows)
    assert explanation.values.shape == (100, 3)
    assert list(explanation.feature_names) == ["strong", "weak", "noise_id"]
    assert additivity_gap(explanation, forest.predict_proba(rows)[:, 1]) < 1e-9
    other = tree_shap(forest, rows, output_class=0)
    assert additivity_gap(other, forest.predict_proba(rows)[:, 0]) < 1e-9


def test_additivity_gap_detects_a_wrong_prediction() -> None:
    fake = SimpleNamespace(values=np.array([[0.1, 0.2], [0.0, 0.0]]), base_values=[0.5, 0.5])
    assert additivity_gap(fake, [0.8, 0.5]) == pytest.approx(0.0)
    assert additivity_gap(fake, [0.8, 0.9]) == pytest.approx(0.4)


def test_additivity_gap_rejects_mismatched_shapes() -> None:
    fake = SimpleNamespace(values=np.zeros((3, 2)), base_values=0.0)
    with pytest.raises(ParameterError, match=r"predictions must have shape \(3,\)"):
        additivity_gap(fake, [0.1, 0.2])
    cube = SimpleNamespace(values=np.zeros((3, 2, 2)), base_values=0.0)
    with pytest.raises(ParameterError, match="must be 2-D"):
        additivity_gap(cube, [0.1, 0.2, 0.3])


def test_tree_shap_rejects_bad_input(forest, data) -> None:
    X, y = data
    with pytest.raises(ParameterError, match="must be fitted"):
        tree_shap(RandomForestClassifier(), X[:5])
    with pytest.raises(
        ParameterError,
        match="tree_shap: output_class=2 is out of range: allowed 0 ≤ output_class ≤ 1",
    ):
        tree_shap(forest, X[:5], output_class=2)
    with pytest.raises(ParameterError, match="tree_shap: X must be a DataFrame"):
        tree_shap(forest, X.to_numpy()[:5])
    with pytest.raises(ParameterError, match="X is empty"):
        tree_shap(forest, X[:0])


# --- compare_importances ------------------------------------------------------------------


def test_compare_importances_separates_signal_from_noise(forest, data) -> None:
    X, y = data
    held_out, y_held_out = X[800:], y[800:]
    explanation = tree_shap(forest, held_out[:100])
    table = compare_importances(
        forest, held_out, y_held_out, explanation=explanation, n_repeats=3, random_state=0
    )
    assert table.columns.tolist() == IMPORTANCE_COLUMNS
    assert table.index.tolist() == ["strong", "weak", "noise_id"]
    assert table["impurity"].sum() == pytest.approx(1.0)
    assert table["permutation"].idxmax() == "strong"
    assert table["mean_abs_shap"].idxmax() == "strong"
    # the lesson in miniature: impurity credits the ID-like noise, held-out shuffling does not
    assert table.loc["noise_id", "impurity"] > 0.05
    assert abs(table.loc["noise_id", "permutation"]) < 0.01


def test_compare_importances_without_shap_leaves_the_column_empty(forest, data) -> None:
    X, y = data
    table = compare_importances(forest, X[800:], y[800:], n_repeats=1)
    assert table["mean_abs_shap"].isna().all()


def test_compare_importances_rejects_bad_input(forest, data) -> None:
    X, y = data
    held_out, y_held_out = X[800:], y[800:]
    with pytest.raises(ParameterError, match="has no feature_importances_"):
        compare_importances(LogisticRegression().fit(X, y), held_out, y_held_out)
    with pytest.raises(ParameterError, match="columns the model was fitted on"):
        compare_importances(forest, held_out[["weak", "strong", "noise_id"]], y_held_out)
    with pytest.raises(ParameterError, match="compare_importances: n_repeats=0 is out of range"):
        compare_importances(forest, held_out, y_held_out, n_repeats=0)
    wrong = SimpleNamespace(values=np.zeros((5, 2)), feature_names=["strong", "weak"])
    with pytest.raises(ParameterError, match=r"shape \(rows, 3\)"):
        compare_importances(forest, held_out, y_held_out, explanation=wrong, n_repeats=1)


# --- distribution_shift and generalization_report -----------------------------------------


def test_distribution_shift_is_zero_for_the_same_data_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    base = pd.Series(rng.normal(size=5000))
    assert distribution_shift(base, base) == pytest.approx(0.0, abs=1e-9)
    small = distribution_shift(base, pd.Series(rng.normal(0.2, 1, 5000)))
    large = distribution_shift(base, pd.Series(rng.normal(2.0, 1, 5000)))
    assert 0 < small < large <= 1
    # values beyond the training range land in the open-ended edge bins
    assert distribution_shift(base, pd.Series(np.full(100, 99.0))) > 0.5


def test_distribution_shift_of_categories_counts_unseen_values() -> None:
    train = pd.Series(["a", "b"] * 50)
    assert distribution_shift(train, pd.Series(["c"] * 20)) == pytest.approx(1.0)
    half = distribution_shift(train, pd.Series(["a", "b", "c", "c"] * 10))
    assert 0.3 < half < 1


def test_distribution_shift_rejects_bad_input() -> None:
    with pytest.raises(
        ParameterError,
        match="distribution_shift: n_bins=1 is out of range: allowed n_bins ≥ 2",
    ):
        distribution_shift(pd.Series([1.0, 2.0]), pd.Series([1.0]), n_bins=1)
    with pytest.raises(ParameterError, match="no non-missing value in the later period"):
        distribution_shift(pd.Series([1.0], name="x"), pd.Series([np.nan], name="x"))


def test_generalization_report_measures_coverage_seen_values_and_shift() -> None:
    train = pd.DataFrame(
        {
            "user": [1, 2, 3, 4] * 25,
            "country": ["fr", "de"] * 50,
            "amount": np.linspace(1, 100, 100),
            "gap": [np.nan] * 50 + list(range(50)),
        }
    )
    later = pd.DataFrame(
        {
            "user": [3, 4, 5, 6] * 25,
            "country": ["de", "fr"] * 50,
            "amount": np.linspace(51, 150, 100),
            "gap": list(range(100)),
        }
    )
    report = generalization_report(train, later, categorical=["user"])
    assert report.columns.tolist() == REPORT_COLUMNS
    assert report["kind"].to_dict() == {
        "user": "categorical",
        "country": "categorical",
        "amount": "numeric",
        "gap": "numeric",
    }
    assert report.loc["user", "seen_in_train"] == pytest.approx(0.5)
    assert report.loc["country", "seen_in_train"] == 1.0
    assert report.loc["country", "shift"] == pytest.approx(0.0, abs=1e-9)
    assert report.loc["amount", "seen_in_train"] == pytest.approx(0.5)
    assert report.loc["amount", "shift"] > 0.3
    assert report.loc["gap", "coverage_train"] == 0.5
    assert report.loc["gap", "coverage_later"] == 1.0


def test_generalization_report_handles_a_feature_missing_everywhere_later() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0]})
    later = pd.DataFrame({"x": [np.nan, np.nan]})
    row = generalization_report(train, later).loc["x"]
    assert row["coverage_later"] == 0.0
    assert np.isnan(row["seen_in_train"]) and np.isnan(row["shift"])


def test_generalization_report_rejects_bad_input() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    later = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(ParameterError, match=r"later has no column\(s\) \['y'\]"):
        generalization_report(train, later)
    with pytest.raises(
        ParameterError,
        match="categorical name='z' is not allowed: choose one of 'x'",
    ):
        generalization_report(train, later, ["x"], categorical=["z"])
    with pytest.raises(ParameterError, match="features is empty"):
        generalization_report(train, later, [])
    with pytest.raises(ParameterError, match="later is empty"):
        generalization_report(train, later[:0], ["x"])
    with pytest.raises(ParameterError, match="generalization_report: train must be a DataFrame"):
        generalization_report({"x": [1.0]}, later)


def _old_histogram_shift(a, b, n_bins=10):
    """The hand-written binning distribution_shift used before the kit's quantile bins."""
    from scipy.spatial.distance import jensenshannon

    edges = np.unique(np.quantile(a, np.linspace(0, 1, n_bins + 1)))
    edges = np.concatenate([[-np.inf], edges[1:-1], [np.inf]])
    p, q = np.histogram(a, edges)[0], np.histogram(b, edges)[0]
    return float(jensenshannon(p, q, base=2))


@pytest.mark.parametrize("seed", range(5))
def test_distribution_shift_bins_like_the_kit_and_scipy(seed) -> None:
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(seed)
    a, b = rng.lognormal(size=2_000), rng.lognormal(0.3, 1.2, size=1_500)
    edges = quantile_edges(a, 10)
    p = np.bincount(quantile_bins(a, edges), minlength=len(edges) + 1)
    q = np.bincount(quantile_bins(b, edges), minlength=len(edges) + 1)
    expected = jensenshannon(p, q, base=2)
    assert distribution_shift(pd.Series(a), pd.Series(b)) == pytest.approx(expected, abs=1e-12)
    # on continuous data (no ties) the histogram binning it replaced gave the same distance
    assert expected == pytest.approx(_old_histogram_shift(a, b), abs=1e-12)


def test_distribution_shift_keeps_a_top_value_in_its_own_bin() -> None:
    """The old binning dropped inner edges equal to the training maximum, merging bins."""
    train = pd.Series([0.0] * 85 + [1.0] * 15)  # the 0.9 quantile is the maximum, 1
    later = pd.Series([0.0] * 50 + [1.0] * 50)
    assert _old_histogram_shift(train.to_numpy(), later.to_numpy()) == 0  # one bin for all
    assert distribution_shift(train, later) > 0.2
