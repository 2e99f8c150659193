"""Tests of ``monitoring.shifts``: PSI, per-period monitoring and importance weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression

from mlsys_kit.monitoring.drift import detect_drift, psi_from_counts
from mlsys_kit.monitoring.shifts import (
    ImportanceWeights,
    covariate_shift_weights,
    feature_shift,
    monitor_periods,
    psi,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.stats import effective_sample_size, quantile_bins, quantile_edges


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ------------------------------------------------------------------------------------------ psi


def test_psi_is_zero_for_identical_samples(rng):
    values = rng.normal(size=2_000)
    assert psi(values, values) == pytest.approx(0.0, abs=1e-12)


def test_psi_matches_the_formula_on_a_flag():
    # shares 0.25/0.75 against 0.5/0.5 (enough rows that the smoothing of empty bins is negligible)
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    reference = [True] * 2_500 + [False] * 7_500
    current = [True] * 5_000 + [False] * 5_000
    assert psi(reference, current) == pytest.approx(expected, rel=1e-3)


def test_psi_grows_with_the_shift(rng):
    reference = rng.normal(size=20_000)
    values = [psi(reference, rng.normal(shift, 1, 20_000)) for shift in (0.0, 0.25, 0.5, 1.0)]
    assert values == sorted(values)
    assert values[0] < 0.01 < values[1]


def test_psi_counts_unseen_categories_in_their_own_bin():
    assert psi(["a", "b"] * 50, ["a", "b", "c", "c"] * 25) > 0.5


def test_psi_uses_quantile_bins_for_many_distinct_values(rng):
    reference = rng.exponential(size=10_000)
    # a monotone transform keeps every row in its decile: the PSI is unchanged
    assert psi(reference, reference[:5_000]) == pytest.approx(
        psi(np.log(reference), np.log(reference[:5_000]))
    )


@pytest.mark.parametrize(
    ("reference", "current", "message"),
    [
        ([], [1.0], r"psi: reference must have at least 1 row\(s\); got 0"),
        ([1.0], [], r"psi: current must have at least 1 row\(s\); got 0"),
        ([[1.0, 2.0]], [1.0], r"reference must have 1 dimension\(s\)"),
        ([1.0, np.nan], [1.0], "psi: reference and current must not contain missing values"),
    ],
)
def test_psi_rejects_bad_input(reference, current, message):
    with pytest.raises(ValueError, match=message):
        psi(reference, current)


@pytest.mark.parametrize("bins", [1, 2.5, True, "10"])
def test_psi_rejects_bad_bins(bins):
    with pytest.raises(ParameterError, match="psi: bins"):
        psi([1.0, 2.0], [1.0, 2.0], bins=bins)


@pytest.mark.parametrize("n", [500, 5_000, 60_000, 250_000])
def test_psi_is_the_same_through_either_entry_point(rng, n):
    """shifts.psi (raw values) and detect_drift(method="psi") bin alike: one PSI."""
    reference = rng.lognormal(3, 1, n).round(1)  # rounded: many values fall on the edges
    current = rng.lognormal(3.1, 1, n // 2).round(1)
    report = detect_drift(
        pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), method="psi"
    )
    assert psi(reference, current) == report.to_frame().loc[0, "statistic"]


def test_psi_bins_as_the_kit_bins(rng):
    """Below 20,000 reference rows, the bins are exactly stats.quantile_edges/quantile_bins."""
    reference, current = rng.normal(size=3_000).round(1), rng.normal(0.2, 1, 2_000).round(1)
    edges = quantile_edges(reference, 10)
    counts = [
        np.bincount(quantile_bins(x, edges), minlength=len(edges) + 1) for x in (reference, current)
    ]
    assert psi(reference, current) == pytest.approx(psi_from_counts(*counts), rel=1e-12)


# -------------------------------------------------------------------------------- feature_shift


def test_feature_shift_names_the_shifted_column(rng):
    reference = pd.DataFrame({"a": rng.normal(size=3_000), "b": rng.random(3_000) < 0.2})
    current = pd.DataFrame({"b": rng.random(3_000) < 0.2, "a": rng.normal(1, 1, 3_000)})
    shift = feature_shift(reference, current)
    assert list(shift.index) == ["a", "b"]
    assert shift.idxmax() == "a"
    assert shift["b"] < 0.01


def test_feature_shift_rejects_non_frames_and_other_columns():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(TypeError, match="feature_shift: current must be a DataFrame; got ndarray"):
        feature_shift(frame, np.array([[1.0], [2.0]]))
    with pytest.raises(ValueError, match="same columns"):
        feature_shift(frame, pd.DataFrame({"b": [1.0, 2.0]}))


def test_feature_shift_names_the_failing_column():
    with pytest.raises(ValueError, match="column 'a': .*missing values"):
        feature_shift(pd.DataFrame({"a": [1.0, np.nan]}), pd.DataFrame({"a": [1.0, 2.0]}))


# ------------------------------------------------------------------------------ monitor_periods


def _served(rng, n=6_000):
    X = pd.DataFrame({"x": rng.normal(size=n)})
    scores = 1 / (1 + np.exp(-X["x"].to_numpy()))
    labels = rng.random(n) < scores
    return X, scores, labels


def test_monitor_periods_computes_each_quantity(rng):
    X, scores, labels = _served(rng)
    X.loc[4_000:, "x"] += 1.0  # the third period's inputs shift
    period = np.repeat([2, 0, 1], 2_000)  # any labels; the result is sorted by period
    known = np.arange(len(X), dtype=float)
    table = monitor_periods(
        X, scores, labels, period, reference_X=X.iloc[:2_000], labels_known=known
    )
    assert list(table.index) == [0, 1, 2]
    assert table["n_rows"].tolist() == [2_000, 2_000, 2_000]
    assert table.loc[2, "feature_psi"] == 0  # the reference itself
    assert table.loc[1, "feature_psi"] > 0.3 > table.loc[0, "feature_psi"]
    assert set(table["most_shifted"]) == {"x"}
    rows = period == 1
    assert table.loc[1, "mean_score"] == pytest.approx(scores[rows].mean())
    assert table.loc[1, "positive_rate"] == pytest.approx(labels[rows].mean())
    assert table.loc[1, "calibration"] == pytest.approx(labels[rows].mean() / scores[rows].mean())
    assert table["auc"].between(0.6, 0.9).all()
    assert table["labels_known"].tolist() == [3_999.0, 5_999.0, 1_999.0]


def test_monitor_periods_gives_nan_auc_for_a_single_class(rng):
    X, scores, _ = _served(rng, 100)
    table = monitor_periods(X, scores, np.zeros(100, dtype=int), np.zeros(100), reference_X=X)
    assert math.isnan(table.loc[0, "auc"])
    assert "labels_known" not in table.columns


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"X": np.zeros((10, 1))}, TypeError, "monitor_periods: X must be a DataFrame"),
        ({"reference_X": [1, 2]}, TypeError, "reference_X must be a DataFrame"),
        (
            {"scores": np.full(9, 0.5)},
            ValueError,
            r"X and scores and labels and periods must have the same length; got 10, 9, 10, 10",
        ),
        ({"periods": np.zeros(11)}, ValueError, "same length; got 10, 10, 10, 11"),
        ({"labels_known": np.zeros((10, 2))}, ValueError, r"labels_known must have 1 dimension"),
        ({"scores": np.full(10, 1.5)}, ValueError, "scores must be probabilities in"),
        ({"labels": np.full(10, 2)}, ValueError, "labels must be binary"),
    ],
)
def test_monitor_periods_rejects_bad_input(change, error, message):
    frame = pd.DataFrame({"x": np.arange(10.0)})
    arguments = {
        "X": frame,
        "scores": np.full(10, 0.5),
        "labels": np.tile([0, 1], 5),
        "periods": np.zeros(10),
        "reference_X": frame,
        "labels_known": None,
    } | change
    with pytest.raises(error, match=message):
        monitor_periods(
            arguments.pop("X"),
            arguments.pop("scores"),
            arguments.pop("labels"),
            arguments.pop("periods"),
            **arguments,
        )


# ------------------------------------------------------------------- covariate_shift_weights


def test_covariate_shift_weights_recover_the_density_ratio(rng):
    source = rng.normal(0, 1, size=(4_000, 2))
    target = rng.normal([0.8, 0], 1, size=(4_000, 2))
    iw = covariate_shift_weights(source, target, seed=0)
    assert isinstance(iw, ImportanceWeights)
    assert iw.weights.shape == (4_000,)
    assert iw.weights.mean() == pytest.approx(1.0)
    true_ratio = np.exp(0.8 * source[:, 0] - 0.32)
    assert np.corrcoef(np.log(iw.weights), np.log(true_ratio))[0, 1] > 0.98
    assert 0.6 < iw.domain_auc < 0.8
    assert iw.effective_sample_size == pytest.approx(effective_sample_size(iw.weights))
    assert "4,000 source rows" in repr(iw)


def test_covariate_shift_weights_are_near_one_without_shift(rng):
    source, target = rng.normal(size=(3_000, 3)), rng.normal(size=(3_000, 3))
    iw = covariate_shift_weights(pd.DataFrame(source), pd.DataFrame(target), seed=1)
    assert abs(iw.domain_auc - 0.5) < 0.05
    assert np.abs(iw.weights - 1).max() < 0.3
    assert iw.n_clipped == 0


def test_covariate_shift_weights_clip_caps_the_largest_weights(rng):
    source = rng.normal(0, 1, size=(3_000, 1))
    target = rng.normal(2, 1, size=(3_000, 1))
    raw = covariate_shift_weights(source, target, clip=None)
    capped = covariate_shift_weights(source, target, clip=5)
    assert raw.weights.max() > 5 and raw.n_clipped == 0
    assert capped.n_clipped == int((raw.weights > 5).sum()) > 0
    assert capped.weights.mean() == pytest.approx(1.0)
    assert capped.effective_sample_size > raw.effective_sample_size


def test_covariate_shift_weights_accept_a_classifier_and_are_deterministic(rng):
    source, target = rng.normal(size=(500, 2)), rng.normal(0.5, 1, size=(500, 2))
    first = covariate_shift_weights(source, target, classifier=DummyClassifier(), seed=3)
    again = covariate_shift_weights(source, target, classifier=DummyClassifier(), seed=3)
    np.testing.assert_array_equal(first.weights, again.weights)
    assert np.allclose(first.weights, 1.0)  # a classifier that sees nothing: no correction


@pytest.mark.parametrize(
    ("source", "target", "options", "error", "message"),
    [
        (np.zeros(50), np.zeros((50, 1)), {}, ValueError, r"source_X must have 2 dimension\(s\)"),
        (np.zeros((50, 2)), np.zeros((50, 1)), {}, ValueError, "same number of features; got 2"),
        (np.full((50, 1), np.nan), np.zeros((50, 1)), {}, ValueError, "missing or infinite"),
        (np.zeros((5, 1)), np.zeros((50, 1)), {}, ValueError, "source_X has 5 rows: need at least"),
        (
            np.zeros((50, 1)),
            np.zeros((50, 1)),
            {"clip": 1},
            ValueError,
            "clip=1.0 is out of range: allowed clip > 1",
        ),
        (
            np.zeros((50, 1)),
            np.zeros((50, 1)),
            {"clip": math.inf},
            ValueError,
            "clip must be a finite number",
        ),
        (
            np.zeros((50, 1)),
            np.zeros((50, 1)),
            {"cv": 1},
            ValueError,
            "cv=1 is out of range: allowed cv ≥ 2",
        ),
        (np.zeros((50, 1)), np.zeros((50, 1)), {"seed": -1}, ValueError, "seed=-1 is out of range"),
        (
            np.zeros((50, 1)),
            np.zeros((50, 1)),
            {"classifier": LinearRegression()},
            TypeError,
            "must have predict_proba",
        ),
    ],
)
def test_covariate_shift_weights_reject_bad_input(source, target, options, error, message):
    with pytest.raises(error, match=message):
        covariate_shift_weights(source, target, **options)


def test_covariate_shift_weights_reject_other_or_text_columns():
    numbers = pd.DataFrame({"a": np.arange(50.0)})
    with pytest.raises(ValueError, match="same columns in the same order"):
        covariate_shift_weights(numbers, numbers.rename(columns={"a": "b"}))
    text = pd.DataFrame({"a": ["x", "y"] * 25})
    with pytest.raises(ValueError, match=r"encode categories first.*\['a'\]"):
        covariate_shift_weights(text, text)
