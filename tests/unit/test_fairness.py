"""Tests of ``responsible.fairness``: group rates, calibration, mitigations, skewed samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_kit.params import ParameterError
from mlsys_kit.responsible.fairness import (
    GROUP_RATES,
    GroupCalibrator,
    GroupRates,
    ReductionTradeoff,
    ScoreBalance,
    SkewedPair,
    ThresholdTradeoff,
    bootstrap_group_rates,
    bootstrap_score_balance,
    calibrate_within_groups,
    fit_reduction_tradeoff,
    fit_threshold_tradeoff,
    interval_over_repeats,
    sample_skewed_pair,
)
from mlsys_kit.stats import MeanInterval


def _biased(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Labels with base rates 0.15 and 0.4 by group, a noisy score and its decisions."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.4, "f", "m")
    y = rng.random(n) < np.where(group == "f", 0.15, 0.4)
    score = 1 / (1 + np.exp(-(2.5 * y - 1.5 + rng.normal(0, 1, n))))
    return y, score, score >= 0.5, group


def test_point_gaps_are_fairlearns():
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    y, _, pred, group = _biased()
    rates = bootstrap_group_rates(y, {"m": pred}, group, n_boot=20, seed=0)
    assert isinstance(rates, GroupRates)
    assert rates.groups == ("f", "m")
    dp = demographic_parity_difference(y, pred, sensitive_features=group)
    eo = equalized_odds_difference(y, pred, sensitive_features=group)
    assert rates.parity_difference("m", boot=False) == pytest.approx(dp, abs=1e-12)
    assert rates.odds_difference("m", boot=False) == pytest.approx(eo, abs=1e-12)
    frame = MetricFrame(
        metrics={
            "selection rate": selection_rate,
            "TPR": true_positive_rate,
            "FPR": false_positive_rate,
            "FNR": false_negative_rate,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=group,
    ).by_group
    for metric in frame.columns:
        np.testing.assert_allclose(rates.rate(metric, "m", boot=False), frame[metric], atol=1e-12)
    assert rates.overall_accuracy("m", boot=False) == pytest.approx(np.mean(y == pred))


def test_bootstrap_shapes_pairing_and_intervals():
    y, _, pred, group = _biased(seed=1)
    rates = bootstrap_group_rates(y, {"a": pred, "b": pred}, group, n_boot=120, seed=0)
    assert rates.boot_counts.shape == (120, 2, 2, 4)
    assert (rates.boot_counts.sum(axis=(2, 3)) == len(y)).all()  # every resample has n rows
    # the same decisions on the same resamples: the paired difference is exactly zero
    assert (rates.parity_difference("a") == rates.parity_difference("b")).all()
    low, high = rates.interval(rates.parity_difference("a"))
    assert low < rates.parity_difference("a", boot=False) < high
    base = rates.rate("base rate", "a")
    assert base.shape == (120, 2)
    assert (base[:, 0] < base[:, 1]).all()  # base rates 0.15 against 0.4
    frame = rates.to_frame()
    assert list(frame.columns) == ["rows", *GROUP_RATES]
    assert frame.loc[("a", "f"), "rows"] == int(np.sum(group == "f"))


def test_same_seed_same_resamples():
    y, _, pred, group = _biased(seed=2)
    a = bootstrap_group_rates(y, {"m": pred}, group, n_boot=60, seed=3)
    b = bootstrap_group_rates(y, {"m": pred}, group, n_boot=60, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.boot_counts, b.boot_counts)


def test_rates_with_an_empty_denominator_are_nan():
    rates = bootstrap_group_rates([0, 0, 1, 1], {"m": [0, 0, 1, 0]}, ["a", "a", "b", "b"], n_boot=5)
    assert np.isnan(rates.rate("TPR", "m", boot=False)[0])  # group a has no positive
    assert rates.rate("TPR", "m", boot=False)[1] == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [0, 2, 1]}, "y_true must be binary"),
        ({"predictions": {}}, "non-empty mapping"),
        ({"predictions": {"m": [1, 0]}}, "same length"),
        ({"groups": ["a", "a", "a"]}, "at least two groups"),
        ({"groups": ["a", None, "b"]}, "missing"),
        ({"n_boot": 0}, "n_boot"),
    ],
)
def test_bad_inputs_are_refused(kwargs, message):
    args = {"y_true": [0, 1, 1], "predictions": {"m": [0, 1, 0]}, "groups": ["a", "b", "b"]}
    args.update(kwargs)
    n_boot = args.pop("n_boot", 10)
    with pytest.raises(ParameterError, match=message):
        bootstrap_group_rates(args["y_true"], args["predictions"], args["groups"], n_boot=n_boot)


def test_unknown_metric_or_model_is_refused():
    rates = bootstrap_group_rates([0, 1], {"m": [0, 1]}, ["a", "b"], n_boot=5)
    with pytest.raises(ParameterError, match="metric"):
        rates.rate("recall", "m")
    with pytest.raises(ParameterError, match="model"):
        rates.rate("TPR", "other")
    with pytest.raises(ParameterError, match="level"):
        rates.interval([0.1, 0.2], level=1.5)


def test_score_balance_matches_group_means():
    y, score, _, group = _biased(seed=4)
    balance = bootstrap_score_balance(y, score, group, n_boot=50, seed=0)
    assert isinstance(balance, ScoreBalance)
    frame = pd.DataFrame({"y": y, "s": score, "g": group})
    means = frame.groupby(["g", "y"])["s"].mean().unstack()
    np.testing.assert_allclose(balance.negatives, means[False])
    np.testing.assert_allclose(balance.positives, means[True])
    assert balance.boot_negatives.shape == (50, 2)
    assert list(balance.to_frame().columns) == ["generalized FPR", "generalized FNR"]
    with pytest.raises(ParameterError, match="finite"):
        bootstrap_score_balance([0, 1], [0.1, np.nan], ["a", "b"])


def test_calibration_within_groups_is_calibrated_and_refuses_unknown_groups():
    y, score, _, group = _biased(n=6000, seed=5)
    calibrator = calibrate_within_groups(score, y, group)
    assert isinstance(calibrator, GroupCalibrator)
    p = calibrator.transform(score, group)
    for g in ("f", "m"):  # isotonic fits are calibrated in the large on their own rows
        assert p[group == g].mean() == pytest.approx(y[group == g].mean(), abs=1e-9)
    with pytest.raises(ParameterError, match="were not fitted"):
        calibrator.transform([0.5], ["x"])
    with pytest.raises(ParameterError, match="needs both labels"):
        calibrate_within_groups([0.1, 0.2, 0.3], [0, 0, 1], ["a", "a", "b"])
    with pytest.raises(ParameterError, match="same length"):
        calibrate_within_groups([0.1, 0.2], [0, 1, 1], ["a", "b", "b"])


def test_threshold_tradeoff_tightens_parity():
    y, score, _, group = _biased(n=3000, seed=6)
    X = pd.DataFrame({"score": score})
    model = LogisticRegression().fit(X, y)
    tradeoff = fit_threshold_tradeoff(model, X, y, group, tolerances=[0.0, 1.0], grid_size=100)
    assert isinstance(tradeoff, ThresholdTradeoff)
    assert tradeoff.tolerances == (0.0, 1.0)
    decisions = tradeoff.predict(X, group, seed=0)
    rates = bootstrap_group_rates(
        y, {str(t): d for t, d in decisions.items()}, group, n_boot=10, seed=0
    )
    assert rates.parity_difference("0.0", boot=False) < 0.05
    assert rates.parity_difference("1.0", boot=False) > 0.15
    with pytest.raises(ParameterError, match="constraints"):
        fit_threshold_tradeoff(model, X, y, group, tolerances=[0.0], constraints="equalized_odds")
    with pytest.raises(ParameterError, match="tolerances"):
        fit_threshold_tradeoff(model, X, y, group, tolerances=[-0.1])
    with pytest.raises(ParameterError, match="grid_size"):
        fit_threshold_tradeoff(model, X, y, group, tolerances=[0.0], grid_size=2)


# fairlearn's reductions emit pandas deprecation warnings from inside (pandas 3, fairlearn 0.15)
_PANDAS4 = "ignore::pandas.errors.Pandas4Warning"


@pytest.mark.filterwarnings(_PANDAS4)
def test_reduction_tradeoff_tightens_parity_without_the_attribute_at_prediction():
    y, score, _, group = _biased(n=1500, seed=7)
    X = np.column_stack([score, (group == "m").astype(float)])  # the attribute leaks through
    tradeoff = fit_reduction_tradeoff(LogisticRegression(), X, y, group, bounds=[0.0, 1.0])
    assert isinstance(tradeoff, ReductionTradeoff)
    assert tradeoff.bounds == (0.0, 1.0) and tradeoff.constraints == "demographic_parity"
    decisions = tradeoff.predict(X, seed=0)  # no sensitive attribute needed
    rates = bootstrap_group_rates(
        y, {str(b): d for b, d in decisions.items()}, group, n_boot=10, seed=0
    )
    assert rates.parity_difference("0.0", boot=False) < 0.05
    assert rates.parity_difference("1.0", boot=False) > 0.15
    again = tradeoff.predict(X, seed=0)
    assert all((again[b] == decisions[b]).all() for b in decisions)


@pytest.mark.filterwarnings(_PANDAS4)
def test_reduction_tradeoff_takes_sparse_rows_and_other_constraints():
    from scipy import sparse

    y, score, _, group = _biased(n=600, seed=8)
    X = sparse.csr_matrix(np.column_stack([score, np.ones_like(score)]))
    tradeoff = fit_reduction_tradeoff(
        LogisticRegression(), X, y, group, bounds=[0.05], constraints="equalized_odds", max_iter=5
    )
    assert tradeoff.predict(X, seed=1)[0.05].shape == (600,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bounds": []}, "bounds"),
        ({"bounds": [-0.1]}, "finite and ≥ 0"),
        ({"bounds": [np.inf]}, "finite and ≥ 0"),
        ({"constraints": "calibration"}, "constraints"),
        ({"max_iter": 0}, "max_iter"),
        ({"y": [0, 1]}, "same length"),
        ({"y": [0, 2, 1, 0]}, "binary"),
    ],
)
def test_reduction_tradeoff_refuses_bad_inputs(kwargs, message):
    args = {"y": [0, 1, 1, 0], "bounds": [0.0]}
    args.update(kwargs)
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ParameterError, match=message):
        fit_reduction_tradeoff(LogisticRegression(), X, args.pop("y"), list("aabb"), **args)


def _people(n: int = 1000) -> pd.DataFrame:
    return pd.DataFrame({"sex": ["F"] * (n * 3 // 10) + ["M"] * (n - n * 3 // 10), "x": range(n)})


def test_skewed_pair_has_equal_sizes_and_shares_the_other_rows():
    rows = _people()
    pair = sample_skewed_pair(rows, "sex", "F", n_rows=300, keep=0.1, seed=0)
    assert isinstance(pair, SkewedPair)
    assert len(pair.representative) == len(pair.skewed) == 300
    assert pair.in_group == int((pair.representative["sex"] == "F").sum())
    assert pair.kept == round(0.1 * pair.in_group) == int((pair.skewed["sex"] == "F").sum())
    # the skewed sample keeps every other-group row of the representative one...
    others = pair.representative.index[pair.representative["sex"] == "M"]
    assert set(others) <= set(pair.skewed.index)
    # ...and its group's rows are drawn from the representative ones; no row twice
    kept = pair.skewed.index[pair.skewed["sex"] == "F"]
    assert set(kept) <= set(pair.representative.index)
    assert pair.skewed.index.is_unique
    same = sample_skewed_pair(rows, "sex", "F", n_rows=300, keep=0.1, seed=np.random.default_rng(0))
    assert same.skewed.index.equals(pair.skewed.index)


def test_skewed_pair_edges():
    rows = _people()
    whole = sample_skewed_pair(rows, "sex", "F", n_rows=300, keep=1.0, seed=1)
    assert whole.skewed.equals(whole.representative)  # same rows, same order
    none = sample_skewed_pair(rows, "sex", "F", n_rows=300, keep=0.0, seed=1)
    assert none.kept == 0 and (none.skewed["sex"] == "M").all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"column": "age"}, "column"),
        ({"group": "X"}, "group"),
        ({"n_rows": 0}, "n_rows"),
        ({"n_rows": 1001}, "n_rows"),
        ({"keep": 1.5}, "keep"),
        ({"n_rows": 900, "keep": 0.0}, "rows of other groups are needed"),
    ],
)
def test_skewed_pair_refuses_bad_inputs(kwargs, message):
    args = {"column": "sex", "group": "F", "n_rows": 300, "keep": 0.1}
    args.update(kwargs)
    column, group = args.pop("column"), args.pop("group")
    with pytest.raises(ParameterError, match=message):
        sample_skewed_pair(_people(), column, group, **args)
    with pytest.raises(ParameterError, match="DataFrame"):
        sample_skewed_pair([1, 2], "sex", "F", n_rows=1, keep=0.5)


def test_interval_over_repeats_holds_the_spread_between_repeats():
    rng = np.random.default_rng(0)
    # the same test noise for all repeats, and repeats that differ by much more
    tight = rng.normal(0, 0.01, size=(300, 1)) + np.zeros((300, 6))
    spread = tight + np.array([-1.0, -0.5, 0.0, 0.0, 0.5, 1.0])
    narrow, wide = interval_over_repeats(tight, seed=0), interval_over_repeats(spread, seed=0)
    assert isinstance(wide, MeanInterval)
    assert wide.high - wide.low > 20 * (narrow.high - narrow.low)
    assert wide.low < wide.mean < wide.high
    with_nan = spread.copy()
    with_nan[0, 0] = np.nan
    assert np.isfinite(interval_over_repeats(with_nan, seed=0).low)
    assert interval_over_repeats(spread, seed=3) == interval_over_repeats(spread, seed=3)


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([0.1, 0.2], {}, "values"),
        ([[0.1], [0.2]], {}, "at least two repeats"),
        ([[np.nan, np.nan]], {}, "no finite value"),
        ([[0.1, 0.2]], {"level": 1.0}, "level"),
    ],
)
def test_interval_over_repeats_refuses_bad_inputs(values, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        interval_over_repeats(values, **kwargs)
