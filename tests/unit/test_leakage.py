"""Tests for features.leakage: the leakage checker and the offline-vs-future estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_kit.features import leakage
from mlsys_kit.features.leakage import (
    LEAKAGE_CHECKS,
    Estimate,
    LeakageReport,
    LeakEffects,
    LeakRuns,
    check_leakage,
    offline_and_future_auc,
    predictive_power,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.results import Report
from mlsys_kit.stats import quantile_bins, quantile_edges


def make_data(n: int = 4_000, seed: int = 0) -> pd.DataFrame:
    """Rows over 100 days with two honest features, noise, a leak, users and a binary label."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.2
    return pd.DataFrame(
        {
            "time": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.uniform(0, 100, n)), "D"),
            "user": rng.integers(0, 400, n),
            "signal": y + rng.normal(0, 1.5, n),
            "signal2": y + rng.normal(0, 1.5, n),
            "weaker": y + rng.normal(0, 2.5, n),
            "noise": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "leak": y + rng.normal(0, 0.2, n),
            "y": y.astype(int),
        }
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return make_data()


def flagged(report: LeakageReport) -> set[tuple[str, str]]:
    return {(f.check, f.subject) for f in report.flagged}


# --- the checks --------------------------------------------------------------------------------


def test_clean_time_and_group_split_is_not_flagged():
    clean = make_data(n=20_000, seed=1).drop(columns="leak")
    first_half = clean["user"] < 200
    train = clean[(clean["time"] < "2024-03-01") & first_half]
    test = clean[(clean["time"] >= "2024-03-01") & ~first_half]
    report = check_leakage(train, test, target="y", time_col="time", group_col="user")
    assert report.flagged == ()
    assert report.suspect_features == []
    assert not report.split_flagged
    assert {f.check for f in report.findings} == {
        "time_order",
        "row_overlap",
        "group_overlap",
        "dominant_feature",
    }


def test_random_split_with_duplicates_and_a_leak_is_flagged(data):
    with_copies = pd.concat([data, data.sample(frac=0.3, random_state=0)], ignore_index=True)
    train = with_copies.sample(frac=0.8, random_state=1)
    test = with_copies.drop(train.index)
    report = check_leakage(
        train,
        test,
        target="y",
        time_col="time",
        group_col="user",
        feature_times={"leak": pd.Timedelta(days=7)},
    )
    assert flagged(report) == {
        ("time_order", "split"),
        ("row_overlap", "split"),
        ("group_overlap", "split"),
        ("feature_timing", "leak"),
        ("dominant_feature", "leak"),
    }
    assert report.suspect_features == ["leak"]
    assert report.split_flagged


def test_dominant_feature_flags_only_the_leak(data):
    train, test = data.iloc[:3_000], data.iloc[3_000:]
    features = ["signal", "signal2", "weaker", "noise", "colour", "leak"]
    report = check_leakage(train, test, target="y", features=features)
    assert report.suspect_features == ["leak"]
    without = check_leakage(train, test, target="y", features=features[:-1])
    assert without.suspect_features == []


def test_two_equal_leaks_mask_each_other_in_dominant_feature(data):
    twin = data.assign(leak2=data["leak"] + 0.01)
    train, test = twin.iloc[:3_000], twin.iloc[3_000:]
    report = check_leakage(train, test, target="y", features=["signal", "leak", "leak2"])
    ratios = {f.subject: f.statistic for f in report.findings if f.check == "dominant_feature"}
    # documented limitation: each leak is compared with the other, so neither stands out
    assert ratios["leak"] == pytest.approx(1, abs=0.05)
    assert ratios["leak2"] == pytest.approx(1, abs=0.05)


def test_feature_timing_from_a_column(data):
    frame = data.assign(
        recorded=data["time"] + pd.to_timedelta(np.where(data.index % 2, 1, 0), "h")
    )
    train, test = frame.iloc[:3_000], frame.iloc[3_000:]
    report = check_leakage(
        train,
        test,
        target="y",
        features=["signal", "noise"],
        time_col="time",
        feature_times={"noise": "recorded", "signal": pd.Timedelta(0)},
    )
    timing = {f.subject: f for f in report.findings if f.check == "feature_timing"}
    assert timing["noise"].flagged and timing["noise"].statistic == pytest.approx(0.5)
    assert not timing["signal"].flagged
    assert "recorded in 'recorded'" in timing["noise"].explanation


def test_default_features_exclude_target_time_and_group(data):
    train, test = data.iloc[:3_000], data.iloc[3_000:]
    report = check_leakage(train, test, target="y", time_col="time", group_col="user")
    subjects = {f.subject for f in report.findings if f.check == "dominant_feature"}
    assert subjects == {"signal", "signal2", "weaker", "noise", "colour", "leak"}


def test_skipped_checks_are_listed(data):
    report = check_leakage(data.iloc[:3_000], data.iloc[3_000:], target="y")
    assert [s.split()[0] for s in report.skipped] == [
        "time_order",
        "group_overlap",
        "feature_timing",
    ]


def test_report_frame_and_repr(data):
    train = data.sample(frac=0.8, random_state=0)
    report = check_leakage(train, data.drop(train.index), target="y", time_col="time")
    frame = report.to_frame()
    assert list(frame.columns) == [
        "check",
        "subject",
        "statistic",
        "threshold",
        "flagged",
        "explanation",
    ]
    assert len(frame) == len(report.findings)
    assert set(frame["check"]) <= set(LEAKAGE_CHECKS)
    text = repr(report)
    assert text.startswith("LeakageReport: ")
    assert "✘ time_order (split)" in text and "skipped group_overlap" in text


def test_thresholds_are_respected(data):
    train = data.sample(frac=0.8, random_state=0)
    test = data.drop(train.index)
    lenient = check_leakage(train, test, target="y", time_col="time", max_time_overlap=1.0)
    assert ("time_order", "split") not in flagged(lenient)


def test_row_overlap_counts_exact_copies_only(data):
    train, test = data.iloc[:3_000], data.iloc[3_000:].copy()
    test.iloc[:100] = train.iloc[:100].to_numpy()
    finding = check_leakage(train, test, target="y").findings[0]
    assert finding.check == "row_overlap"
    assert finding.statistic == pytest.approx(100 / len(test))


def test_dominant_feature_is_skipped_when_a_class_is_missing(data):
    report = check_leakage(data[data["y"] == 0], data[data["y"] == 0], target="y")
    assert any(s.startswith("dominant_feature") for s in report.skipped)


# --- predictive_power ---------------------------------------------------------------------------


def test_predictive_power_ranks_features(data):
    power = predictive_power(data, target="y", features=["signal", "weaker", "noise", "leak"])
    assert list(power.columns) == ["auc_alone", "auc_others", "ratio"]
    alone = power["auc_alone"]
    assert alone["leak"] > alone["signal"] > alone["weaker"] > alone["noise"] - 0.02
    assert abs(alone["noise"] - 0.5) < 0.05
    assert power["ratio"].idxmax() == "leak" and power.loc["leak", "ratio"] > 1


def test_predictive_power_is_deterministic(data):
    a = predictive_power(data, target="y", features=["signal", "colour"], random_state=3)
    b = predictive_power(data, target="y", features=["signal", "colour"], random_state=3)
    pd.testing.assert_frame_equal(a, b)


def test_predictive_power_handles_missing_values_and_categories(data):
    holes = data.assign(signal=data["signal"].mask(data.index % 3 == 0))
    power = predictive_power(holes, target="y", features=["signal", "colour"])
    assert power["auc_alone"].notna().all()


def test_predictive_power_sees_a_zero_inflated_leak(data):
    # most rows share one value (no support contact yet): the quantile edges collapse onto it,
    # and a continuous leak that is 0 for every negative and positive for every positive must
    # still score as the perfect leak it is, not as one bin of all rows (AUC 0.5)
    rng = np.random.default_rng(1)
    y = data["y"].to_numpy()
    zero_inflated = np.where(y == 1, rng.exponential(size=len(data)) + 0.01, 0.0)
    power = predictive_power(
        data.assign(contacts=zero_inflated), target="y", features=["signal", "contacts"]
    )
    assert power.loc["contacts", "auc_alone"] > 0.99
    assert power["ratio"].idxmax() == "contacts"


# --- offline_and_future_auc --------------------------------------------------------------------


def test_offline_and_future_auc(data):
    est = offline_and_future_auc(
        LogisticRegression(),
        data.iloc[:2_000],
        data.iloc[2_000:3_000],
        data.iloc[3_000:],
        features=["signal", "weaker"],
        target="y",
    )
    assert isinstance(est, Estimate)
    assert 0.6 < est.offline < 0.9 and 0.6 < est.future < 0.9
    assert est.gap == pytest.approx(est.offline - est.future)


# --- LeakRuns and LeakEffects ------------------------------------------------------------------


def leak_runs(data: pd.DataFrame, n_worlds: int = 3) -> LeakRuns:
    """A leaky pipeline (the leak column in) and a correct one, on n_worlds bootstrap worlds."""
    runs = LeakRuns(features=["signal", "weaker"], target="y")
    for world in range(n_worlds):
        rows = data.sample(frac=1.0, replace=True, random_state=world).sort_values("time")
        train, valid, future = rows.iloc[:2_000], rows.iloc[2_000:3_000], rows.iloc[3_000:]
        at_serving = future.assign(leak=0.0)  # the leak is not known when the model decides
        model = LogisticRegression()
        runs.record(world, "leak", "leaky", model, train, valid, at_serving, ["signal", "leak"])
        runs.record(world, "leak", "correct", model, train, valid, future)
        runs.record(world, "nothing", "leaky", model, train, valid, future)
        runs.record(world, "nothing", "correct", model, train, valid, future)
    return runs


def test_leak_runs_keep_one_row_per_world_cause_and_pipeline(data):
    runs = leak_runs(data)
    frame = runs.to_frame()
    assert list(frame.columns) == ["world", "cause", "pipeline", "offline", "future", "optimism"]
    assert len(frame) == 12
    assert frame["optimism"].to_numpy() == pytest.approx(frame["offline"] - frame["future"])
    direct = offline_and_future_auc(
        LogisticRegression(),
        *[
            data.sample(frac=1.0, replace=True, random_state=0).sort_values("time").iloc[s]
            for s in (slice(0, 2_000), slice(2_000, 3_000), slice(3_000, None))
        ],
        features=["signal", "weaker"],
        target="y",
    )
    assert frame.iloc[1]["offline"] == pytest.approx(direct.offline)


def test_leak_effects_are_leaky_minus_correct_per_world_with_an_interval(data):
    runs = leak_runs(data)
    effects = runs.effects(level=0.9)
    assert isinstance(effects, LeakEffects) and isinstance(effects, Report)
    assert list(effects.summary.index) == ["leak", "nothing"]  # the order they were recorded
    frame = runs.to_frame().set_index(["cause", "world", "pipeline"])["optimism"]
    for world in range(3):
        expected = frame["leak", world, "leaky"] - frame["leak", world, "correct"]
        assert effects.per_world["leak", world] == pytest.approx(expected)
    assert effects.low("leak") > 0.05  # a leak above its noise
    assert effects.summary.loc["nothing"].tolist() == [0.0, 0.0, 0.0]  # the same pipeline twice
    assert effects.to_frame() is effects.summary
    assert effects.describe("leak").startswith("leak: extra optimism between +")
    assert "(90% interval)" in effects.describe("leak")
    assert "<table" in effects._repr_html_()


def test_leak_effects_plot_one_row_per_cause(data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    leak_runs(data).effects().plot(ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["leak", "nothing"]
    plt.close(fig)


def test_leak_runs_refuse_bad_input(data):
    runs = LeakRuns(features=["signal"], target="y")
    model, parts = (
        LogisticRegression(),
        (data.iloc[:2_000], data.iloc[2_000:3_000], data.iloc[3_000:]),
    )
    with pytest.raises(ParameterError, match="LeakRuns.record: pipeline='clean' is not allowed"):
        runs.record(0, "leak", "clean", model, *parts)
    runs.record(0, "leak", "leaky", model, *parts)
    with pytest.raises(ParameterError, match="leaky pipeline of 'leak' in world 0 is recorded"):
        runs.record(0, "leak", "leaky", model, *parts)  # pivoting would average it silently
    with pytest.raises(ParameterError, match="LeakRuns.record: world must be"):
        runs.record("first", "leak", "leaky", model, *parts)
    runs.record(1, "leak", "leaky", model, *parts)
    with pytest.raises(ParameterError, match="a leaky and a correct run in every world"):
        runs.effects()
    runs.record(0, "leak", "correct", model, *parts)
    with pytest.raises(ParameterError, match="a leaky and a correct run in every world"):
        runs.effects()
    one = LeakRuns(features=["signal"], target="y")
    one.record(0, "leak", "leaky", model, *parts)
    one.record(0, "leak", "correct", model, *parts)
    with pytest.raises(ParameterError, match="LeakRuns.effects: 'leak' worlds"):
        one.effects()
    with pytest.raises(ParameterError, match="LeakEffects.low: cause='ghost' is not allowed"):
        leak_runs(data).effects().low("ghost")
    with pytest.raises(ParameterError, match="LeakRuns: target must be"):
        LeakRuns(features=["signal"], target=3)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"target": "nope"},
            ValueError,
            "check_leakage: train column='nope' is not allowed: choose one of 'time'",
        ),
        ({"target": "y", "time_col": "when"}, ValueError, "train column='when' is not allowed"),
        ({"target": "y", "features": ["signal", "ghost"]}, ValueError, "'ghost'"),
        ({"target": "y", "features": "signal"}, TypeError, "sequence of column names"),
        ({"target": "y", "features": []}, ValueError, "no features to check"),
        ({"target": "signal"}, ValueError, "must be binary"),
        ({"target": "colour"}, ValueError, "must be binary"),
        (
            {"target": "y", "feature_times": {"leak": pd.Timedelta(days=1)}},
            ValueError,
            "feature_times needs time_col",
        ),
        (
            {"target": "y", "time_col": "time", "feature_times": {"ghost": pd.Timedelta(0)}},
            ValueError,
            "feature_times key='ghost' is not allowed: choose one of 'user'",
        ),
        (
            {"target": "y", "time_col": "time", "feature_times": ["leak"]},
            TypeError,
            "feature_times must be a Mapping; got list",
        ),
        (
            {"target": "y", "time_col": "time", "feature_times": {"leak": "7 days"}},
            ValueError,
            "train column='7 days' is not allowed",
        ),
        (
            {"target": "y", "time_col": "time", "feature_times": {"leak": [1]}},
            TypeError,
            "must be a Timedelta",
        ),
        (
            {"target": "y", "max_row_overlap": 1.5},
            ValueError,
            r"max_row_overlap=1.5 is out of range: allowed 0 ≤ max_row_overlap ≤ 1",
        ),
        ({"target": "y", "max_time_overlap": -0.1}, ValueError, "max_time_overlap"),
        ({"target": "y", "dominance": float("nan")}, ValueError, "dominance must be a finite"),
        (
            {"target": "y", "min_auc": 0.3},
            ValueError,
            r"min_auc=0.3 is out of range: allowed 0.5 ≤ min_auc ≤ 1",
        ),
        ({"target": "y", "n_bins": 1}, ValueError, "n_bins=1 is out of range: allowed n_bins ≥ 2"),
        ({"target": "y", "n_bins": True}, ValueError, "n_bins"),
    ],
)
def test_bad_arguments(data, kwargs, error, match):
    with pytest.raises(ParameterError, match=match):
        check_leakage(data.iloc[:3_000], data.iloc[3_000:], **kwargs)
    with pytest.raises(error, match=match):  # ParameterError is both ValueError and TypeError
        check_leakage(data.iloc[:3_000], data.iloc[3_000:], **kwargs)


def test_bad_frames(data):
    with pytest.raises(TypeError, match="check_leakage: train must be a DataFrame; got ndarray"):
        check_leakage(data.to_numpy(), data, target="y")
    with pytest.raises(ValueError, match="test is empty"):
        check_leakage(data, data.iloc[:0], target="y")
    with pytest.raises(ValueError, match="test column='noise' is not allowed"):
        check_leakage(data, data.drop(columns="noise"), target="y", features=["noise", "signal"])


def test_bad_targets(data):
    train, test = data.iloc[:3_000], data.iloc[3_000:]
    with pytest.raises(ValueError, match="has missing values"):
        check_leakage(
            train.assign(y=train["y"].astype(float).mask(train.index == 0)), test, target="y"
        )
    with pytest.raises(ValueError, match="coded 0/1"):
        check_leakage(train.assign(y=train["y"] + 1), test.assign(y=test["y"] + 1), target="y")


def test_bad_input_to_helpers(data):
    with pytest.raises(ValueError, match="at least two features"):
        predictive_power(data, target="y", features=["signal"])
    with pytest.raises(ValueError, match="both classes"):
        predictive_power(data[data["y"] == 1], target="y", features=["signal", "noise"])
    with pytest.raises(ValueError, match="future must contain both classes"):
        offline_and_future_auc(
            LogisticRegression(),
            data,
            data,
            data[data["y"] == 0],
            features=["signal"],
            target="y",
        )
    with pytest.raises(
        TypeError, match="offline_and_future_auc: valid must be a DataFrame; got NoneType"
    ):
        offline_and_future_auc(
            LogisticRegression(), data, None, data, features=["signal"], target="y"
        )


# --- the libraries behind dominant_feature --------------------------------------------------------


def test_report_is_a_results_report(data):
    report = check_leakage(data.iloc[:3_000], data.iloc[3_000:], target="y")
    assert isinstance(report, Report)
    assert report._repr_html_() == report.to_frame()._repr_html_()


@pytest.mark.parametrize("seed", range(5))
def test_bin_codes_are_the_kits_quantile_bins(seed):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=500).round(rng.integers(0, 3))
    x[rng.random(500) < 0.1] = np.nan
    codes = leakage._bin_codes(pd.Series(x), 10)
    # the kit's quantile bins, each value that sits on an edge split off into a bin of its own
    edges = quantile_edges(x, 10)
    on_edge = np.isin(x, edges)
    expected = np.where(np.isnan(x), -1, 2 * quantile_bins(x, edges) + on_edge)
    np.testing.assert_array_equal(codes, expected)
    # the hand-written binning this replaced: nanquantile edges, searchsorted on the right;
    # the codes refine its bins (one bin each) and split them only at an edge's value
    edges_by_hand = np.unique(np.nanquantile(x, np.linspace(0, 1, 11)[1:-1]))
    by_hand = np.where(np.isnan(x), -1, np.searchsorted(edges_by_hand, x, side="right"))
    assert pd.Series(by_hand).groupby(codes).nunique().eq(1).all()
    assert (by_hand[~on_edge] == codes[~on_edge] // 2).all()
    colours = pd.Series(rng.choice(["red", "blue", None], 200))
    np.testing.assert_array_equal(leakage._bin_codes(colours, 10) == -1, colours.isna())


@pytest.mark.parametrize("seed", range(4))
def test_predictive_power_matches_a_hand_computed_cross_fitted_naive_bayes(seed):
    """TargetEncoder + the rank AUC give what the hand-written encoding and rank AUC gave."""
    from scipy.special import logit
    from scipy.stats import mannwhitneyu
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    n = 1_500
    y = (rng.random(n) < 0.3).astype(int)
    frame = pd.DataFrame(
        {
            "a": y + rng.normal(0, 1.0, n),
            "b": rng.choice(["u", "v", "w"], n),
            "c": np.where(rng.random(n) < 0.2, np.nan, y + rng.normal(0, 3.0, n)),
            "y": y,
        }
    )
    features = ["a", "b", "c"]
    power = predictive_power(frame, target="y", features=features, random_state=seed)
    codes = np.column_stack([leakage._bin_codes(frame[f], 10) for f in features])
    logodds = np.zeros(codes.shape)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for fit, apply in folds.split(codes, y):
        prior = y[fit].mean()
        for j in range(len(features)):
            table = pd.DataFrame({"code": codes[fit, j], "y": y[fit]}).groupby("code")["y"]
            rate = (table.sum() + 50 * prior) / (table.size() + 50)
            rates = pd.Series(codes[apply, j]).map(rate).fillna(prior).to_numpy()
            logodds[apply, j] = logit(rates) - logit(y.mean())

    def rank_auc(score):
        return mannwhitneyu(score[y == 1], score[y == 0]).statistic / (y.sum() * (n - y.sum()))

    alone = [rank_auc(logodds[:, j]) for j in range(3)]
    np.testing.assert_allclose(power["auc_alone"], alone, atol=1e-12)
    total = logodds.sum(axis=1)
    others = [
        max(
            rank_auc(np.round(total - logodds[:, j], 10)),
            max(a for i, a in enumerate(alone) if i != j),
        )
        for j in range(3)
    ]
    np.testing.assert_allclose(power["auc_others"], others, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_rank_auc_equals_scikit_learns_roc_auc_score_ties_included(seed):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    y = rng.random(500) < 0.2
    score = np.round(rng.normal(y * 0.5, 1.0), 1)  # rounded: many ties
    assert leakage._roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
