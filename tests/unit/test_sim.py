"""Tests for the marketplace simulator (``sim``)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from mlsys_kit.params import ParameterError
from mlsys_kit.sim import (
    BASELINE_COEFFICIENTS,
    CONCEPT_COEFFICIENTS,
    RISK_FEATURES,
    Drift,
    Marketplace,
    MarketplaceConfig,
    fraud_rate_by_day,
    risk_features,
    simulate,
)

N = 200_000
COEF_COLS = [f"coef_{name}" for name in RISK_FEATURES]


def binomial_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def after(mkt: Marketplace, day: float) -> np.ndarray:
    """Boolean mask of transactions at or after ``day`` days since the start."""
    return (mkt.transactions["timestamp"] >= mkt.start + pd.Timedelta(days=day)).to_numpy()


def true_probability(mkt: Marketplace) -> np.ndarray:
    """P(fraud | x) recomputed from the published mechanism (regimes + risk_features)."""
    reg = mkt.regimes.loc[mkt.truth["regime"]]
    x = risk_features(mkt.transactions).to_numpy()
    logit = (x * reg[COEF_COLS].to_numpy()).sum(axis=1)
    return expit(logit + reg["intercept"].to_numpy() + reg["prior_logit_shift"].to_numpy())


@pytest.fixture(scope="module")
def baseline() -> Marketplace:
    return simulate(n_transactions=N, seed=11, duplicate_rate=0.05)


# -- structure --------------------------------------------------------------------------------


def test_columns_and_dtypes(baseline: Marketplace) -> None:
    tx, users = baseline.transactions, baseline.users
    expected = {
        "transaction_id": "int64",
        "user_id": "int64",
        "timestamp": "datetime64[us]",
        "amount": "float64",
        "payment_method": "category",
        "n_items": "int64",
        "account_age_days": "float64",
        "new_device": "bool",
        "hour": "int64",
        "country": "category",
        "age_group": "category",
        "device": "category",
        "support_contacts_7d": "int64",
        "is_fraud": "bool",
        "label_available_at": "datetime64[us]",
        "ingested_at": "datetime64[us]",
    }
    assert {c: str(t) for c, t in tx.dtypes.items()} == expected
    assert list(baseline.feature_info["column"]) == list(tx.columns)
    assert set(baseline.feature_info["available"]) == {
        "id",
        "time",
        "at_event",
        "post_event",
        "label",
    }
    assert list(users.columns) == ["user_id", "signup_time", "country", "age_group", "device"]
    assert users["user_id"].tolist() == list(range(len(users)))
    assert users["age_group"].cat.ordered
    assert list(baseline.truth.columns) == [
        "transaction_id",
        "fraud_probability",
        "phase",
        "regime",
        "is_duplicate",
    ]
    assert baseline.truth.index.equals(tx.index)
    assert (baseline.truth["transaction_id"] == tx["transaction_id"]).all()


def test_value_ranges(baseline: Marketplace) -> None:
    tx, users = baseline.transactions, baseline.users
    assert tx["timestamp"].is_monotonic_increasing
    assert tx["timestamp"].min() >= baseline.start
    assert tx["timestamp"].max() < baseline.start + pd.Timedelta(days=baseline.config.days)
    assert (tx["amount"] > 0).all()
    assert (tx["n_items"] >= 1).all()
    assert (tx["account_age_days"] >= 0).all()
    assert tx["hour"].between(0, 23).all()
    assert (tx["hour"] == tx["timestamp"].dt.hour).all()
    # account age is consistent with the users table
    signup = users.set_index("user_id")["signup_time"].reindex(tx["user_id"]).to_numpy()
    age = (tx["timestamp"].to_numpy() - signup) / np.timedelta64(1, "D")
    np.testing.assert_allclose(age, tx["account_age_days"], atol=1e-9)
    # some users signed up before the start, some during
    assert 0.5 < (users["signup_time"] < baseline.start).mean() < 0.95
    # group attributes have unequal shares
    shares = users["country"].value_counts(normalize=True)
    assert shares.max() > 1.5 * shares.min()


def test_daily_cycle_and_skewed_activity(baseline: Marketplace) -> None:
    tx = baseline.transactions
    by_hour = tx["hour"].value_counts(normalize=True).sort_index()
    assert by_hour.loc[0:5].sum() < 0.1 < by_hour.loc[17:21].sum()
    per_user = tx["user_id"].value_counts()
    top = per_user.iloc[: max(1, len(per_user) // 10)].sum() / per_user.sum()
    assert top > 0.35  # the busiest 10% of users make over a third of the transactions


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_is_bitwise_identical() -> None:
    drifts = [Drift("covariate", 20), Drift("label", 40), Drift("concept", 60)]
    a = simulate(n_transactions=20_000, seed=5, drifts=drifts, duplicate_rate=0.1)
    b = simulate(n_transactions=20_000, seed=5, drifts=tuple(drifts), duplicate_rate=0.1)
    pd.testing.assert_frame_equal(a.transactions, b.transactions, check_exact=True)
    pd.testing.assert_frame_equal(a.truth, b.truth, check_exact=True)
    pd.testing.assert_frame_equal(a.users, b.users, check_exact=True)
    pd.testing.assert_frame_equal(a.regimes, b.regimes, check_exact=True)
    c = simulate(n_transactions=20_000, seed=6, drifts=drifts, duplicate_rate=0.1)
    assert not a.transactions["amount"].equals(c.transactions["amount"])
    assert not a.users["signup_time"].equals(c.users["signup_time"])


def test_overrides_and_config() -> None:
    cfg = MarketplaceConfig(n_transactions=1_000, n_users=100)
    mkt = simulate(cfg, seed=3, drifts=[Drift("concept", 60)])
    assert mkt.config == MarketplaceConfig(
        n_transactions=1_000, n_users=100, seed=3, drifts=(Drift("concept", 60),)
    )
    assert isinstance(mkt.config.drifts, tuple)
    assert len(mkt.transactions) == 1_000
    assert "1,000" in repr(mkt)
    with pytest.raises(ParameterError, match="simulate: unknown config field.*n_transaction"):
        simulate(n_transaction=5)


def test_drift_free_twin_shares_all_pre_drift_rows(baseline: Marketplace) -> None:
    for drift in [Drift("covariate", 45.3), Drift("label", 45), Drift("concept", 45)]:
        drifted = simulate(baseline.config, drifts=[drift])
        pre_base = ~after(baseline, drift.start_day)
        pre_drift = ~after(drifted, drift.start_day)
        pd.testing.assert_frame_equal(
            baseline.transactions[pre_base], drifted.transactions[pre_drift], check_exact=True
        )


# -- the fraud mechanism ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fraud_rate_matches_request(seed: int) -> None:
    rate = 0.03
    mkt = simulate(n_transactions=N, seed=seed, fraud_rate=rate)
    realised = mkt.transactions["is_fraud"].mean()
    assert abs(realised - rate) < 4 * binomial_se(rate, N)
    # the intercept is solved on the drawn features, so the mean true probability is exact
    assert mkt.truth["fraud_probability"].mean() == pytest.approx(rate, rel=1e-6)


def test_truth_is_the_published_mechanism(baseline: Marketplace) -> None:
    np.testing.assert_allclose(true_probability(baseline), baseline.truth["fraud_probability"])
    row = baseline.regimes.loc[0]
    assert row[COEF_COLS].tolist() == [BASELINE_COEFFICIENTS[f] for f in RISK_FEATURES]
    assert (baseline.truth["phase"] == "baseline").all()
    # the signal is real but not trivial, and a no-signal feature stays useless
    tx = baseline.transactions
    auc = roc_auc_score(tx["is_fraud"], baseline.truth["fraud_probability"])
    assert 0.75 < auc < 0.95
    assert abs(roc_auc_score(tx["is_fraud"], tx["n_items"]) - 0.5) < 0.03


def test_leaky_feature_is_post_event_and_strong(baseline: Marketplace) -> None:
    tx = baseline.transactions
    info = baseline.feature_info.set_index("column")
    assert info.loc["support_contacts_7d", "available"] == "post_event"
    assert info.loc["is_fraud", "available"] == "label"
    means = tx.groupby("is_fraud")["support_contacts_7d"].mean()
    assert means[True] > 5 * means[False]
    assert roc_auc_score(tx["is_fraud"], tx["support_contacts_7d"]) > 0.8


# -- labels and time --------------------------------------------------------------------------


def test_label_delay(baseline: Marketplace) -> None:
    tx, cfg = baseline.transactions, baseline.config
    delay = (tx["label_available_at"] - tx["timestamp"]) / pd.Timedelta(days=1)
    assert (delay > 0).all()
    assert (delay[~tx["is_fraud"]] == cfg.chargeback_window_days).all()
    fraud_delay = delay[tx["is_fraud"]]
    assert fraud_delay.max() <= cfg.chargeback_window_days
    tolerance = 4 * fraud_delay.std() / math.sqrt(len(fraud_delay))
    assert abs(fraud_delay.mean() - cfg.label_delay_days) < tolerance


def test_labels_available_at(baseline: Marketplace) -> None:
    cutoff = baseline.start + pd.Timedelta(days=45)
    for when in (45, 45.0, cutoff, "2024-02-15"):
        train = baseline.labels_available_at(when)
        assert (train["label_available_at"] <= cutoff).all()
        assert (train["ingested_at"] <= cutoff).all()
    tx = baseline.transactions
    expected = (tx["label_available_at"] <= cutoff) & (tx["ingested_at"] <= cutoff)
    assert len(train) == expected.sum()
    # the last 30 days before the cutoff are labelled only where fraud was charged back
    recent = train[train["timestamp"] > cutoff - pd.Timedelta(days=30)]
    assert len(recent) > 0 and recent["is_fraud"].all()


def test_window_and_daily_rate(baseline: Marketplace) -> None:
    week = baseline.window(7, 14)
    days = (week["timestamp"] - baseline.start) / pd.Timedelta(days=1)
    assert days.min() >= 7 and days.max() < 14
    assert len(week) == int(((after(baseline, 7)) & ~after(baseline, 14)).sum())
    daily = fraud_rate_by_day(baseline.transactions)
    assert len(daily) == baseline.config.days
    assert daily["n_transactions"].sum() == len(baseline.transactions)


def test_duplicates(baseline: Marketplace) -> None:
    tx, truth = baseline.transactions, baseline.truth
    n, rate = baseline.config.n_transactions, baseline.config.duplicate_rate
    n_dup = len(tx) - n
    assert abs(n_dup / n - rate) < 4 * binomial_se(rate, n)
    assert tx["transaction_id"].nunique() == n
    assert truth["is_duplicate"].sum() == n_dup
    assert tx["transaction_id"].value_counts().max() == 2
    dup = tx[truth["is_duplicate"].to_numpy()]
    orig = (
        tx.drop_duplicates("transaction_id").set_index("transaction_id").loc[dup["transaction_id"]]
    )
    content = [c for c in tx.columns if c not in ("transaction_id", "ingested_at")]
    pd.testing.assert_frame_equal(
        dup[content].reset_index(drop=True), orig[content].reset_index(drop=True)
    )
    assert (dup["ingested_at"].to_numpy() > orig["ingested_at"].to_numpy()).all()
    assert (tx["ingested_at"] > tx["timestamp"]).all()


# -- drift ------------------------------------------------------------------------------------


def test_drift_starts_where_asked() -> None:
    start = 33.25
    mkt = simulate(n_transactions=50_000, drifts=[Drift("concept", start)])
    post = after(mkt, start)
    assert (mkt.truth["phase"][post] == "concept").all()
    assert (mkt.truth["phase"][~post] == "baseline").all()
    assert mkt.regimes["start_day"].tolist() == [0.0, start]
    assert mkt.regimes["end_day"].tolist() == [start, 90.0]


def test_combined_and_reverted_drifts() -> None:
    drifts = [Drift("covariate", 20), Drift("concept", 30), Drift("concept", 60, 0.0)]
    mkt = simulate(n_transactions=30_000, drifts=drifts)
    assert mkt.regimes["phase"].tolist() == [
        "baseline",
        "covariate",
        "covariate+concept",
        "covariate",
    ]
    assert mkt.regimes.loc[3, "intercept"] == mkt.regimes.loc[0, "intercept"]
    np.testing.assert_allclose(true_probability(mkt), mkt.truth["fraud_probability"])


def test_covariate_drift_moves_x_not_the_mechanism() -> None:
    mkt = simulate(n_transactions=N, seed=2, drifts=[Drift("covariate", 45)])
    tx, post = mkt.transactions, after(mkt, 45)
    amount = tx["amount"]
    assert ks_2samp(amount[~post], amount[post]).pvalue < 1e-10
    ratio = amount[post].median() / amount[~post].median()
    assert 1.3 < ratio < 1.7  # amounts grow by about exp(0.4)
    assert tx["new_device"][post].mean() > 1.5 * tx["new_device"][~post].mean()
    assert (tx["hour"][post] < 6).mean() > 1.5 * (tx["hour"][~post] < 6).mean()
    # P(fraud | x): same coefficients and intercept, recomputed from the baseline mechanism
    reg = mkt.regimes
    assert reg.loc[1, COEF_COLS + ["intercept"]].equals(reg.loc[0, COEF_COLS + ["intercept"]])
    x = risk_features(tx).to_numpy()
    w = np.array([BASELINE_COEFFICIENTS[f] for f in RISK_FEATURES])
    np.testing.assert_allclose(
        expit(x @ w + reg.loc[0, "intercept"]), mkt.truth["fraud_probability"]
    )
    # the fraud rate moves only as a consequence, and truth reports it
    pre_rate, post_rate = tx["is_fraud"][~post].mean(), tx["is_fraud"][post].mean()
    assert post_rate > pre_rate + 6 * binomial_se(pre_rate, int(post.sum()))
    assert reg.loc[1, "expected_fraud_rate"] == pytest.approx(post_rate, rel=0.1)


def test_label_drift_changes_prior_not_class_conditionals() -> None:
    rate = 0.02
    mkt = simulate(n_transactions=N, seed=3, fraud_rate=rate, drifts=[Drift("label", 45, 1.0)])
    tx, post = mkt.transactions, after(mkt, 45)
    target = rate * 2
    assert abs(tx["is_fraud"][post].mean() - target) < 4 * binomial_se(target, int(post.sum()))
    assert abs(tx["is_fraud"][~post].mean() - rate) < 4 * binomial_se(rate, int((~post).sum()))
    # P(x | y) unchanged: compare each class before and after
    for label in (True, False):
        cls = (tx["is_fraud"] == label).to_numpy()
        for col in ("amount", "hour", "n_items"):
            p = ks_2samp(tx[col][cls & ~post], tx[col][cls & post]).pvalue
            assert p > 1e-3, (label, col, p)
    # truth: P(y | x) is the baseline one shifted by the prior odds ratio
    assert mkt.regimes.loc[1, "label_fraud_rate"] == pytest.approx(target)
    assert mkt.regimes.loc[1, "prior_logit_shift"] == pytest.approx(
        math.log(target / (1 - target)) - math.log(rate / (1 - rate)), abs=0.05
    )
    np.testing.assert_allclose(true_probability(mkt), mkt.truth["fraud_probability"])
    assert mkt.truth["fraud_probability"][post].mean() == pytest.approx(target, rel=0.05)


def test_concept_drift_changes_y_given_x_only() -> None:
    mkt = simulate(n_transactions=N, seed=4, drifts=[Drift("concept", 45)])
    tx, post = mkt.transactions, after(mkt, 45)
    for col in ("amount", "hour", "n_items", "new_device"):
        assert ks_2samp(tx[col][~post], tx[col][post]).pvalue > 1e-3, col
    assert abs(tx["is_fraud"][post].mean() - 0.02) < 4 * binomial_se(0.02, int(post.sum()))
    reg = mkt.regimes
    assert reg.loc[1, COEF_COLS].tolist() == [CONCEPT_COEFFICIENTS[f] for f in RISK_FEATURES]
    assert reg.loc[1, "intercept"] != reg.loc[0, "intercept"]
    np.testing.assert_allclose(true_probability(mkt), mkt.truth["fraud_probability"])
    # a model trained before the drift stops working after it
    x = risk_features(tx).to_numpy()
    y = tx["is_fraud"].to_numpy()
    model = LogisticRegression(max_iter=500).fit(x[~post], y[~post])
    auc_pre = roc_auc_score(y[~post], model.predict_proba(x[~post])[:, 1])
    auc_post = roc_auc_score(y[post], model.predict_proba(x[post])[:, 1])
    assert auc_pre > 0.8
    assert auc_post < auc_pre - 0.15


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_users": 0}, "n_users"),
        ({"n_transactions": 2.5}, "n_transactions"),
        ({"days": 0}, "days"),
        ({"start": "2024-01-01 12:00"}, "start"),
        ({"start": "not a date"}, "start"),
        ({"fraud_rate": 0.0}, "fraud_rate"),
        ({"fraud_rate": 0.5}, "fraud_rate"),
        ({"label_delay_days": 31.0}, "label_delay_days"),
        ({"chargeback_window_days": -1.0}, "chargeback_window_days"),
        ({"duplicate_rate": 1.5}, "duplicate_rate"),
        ({"drifts": [Drift("concept", 90)]}, "drifts"),
        ({"drifts": [Drift("label", 10, 30.0)]}, "drifts"),
        ({"drifts": ["concept"]}, "drifts"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_config_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ParameterError, match=rf"^MarketplaceConfig: .*\b{field}\b"):
        MarketplaceConfig(**kwargs)
    with pytest.raises(ParameterError, match=rf"^MarketplaceConfig: .*\b{field}\b"):
        simulate(**kwargs)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("seasonal", 10), "kind"),
        (("concept", -1), "start_day"),
        (("concept", float("inf")), "start_day"),
        (("covariate", 10, float("nan")), "magnitude"),
        (("label", 10, -1.0), "magnitude"),
    ],
)
def test_invalid_drift_names_the_field(args: tuple, field: str) -> None:
    with pytest.raises(ParameterError, match=rf"^Drift: .*\b{field}\b"):
        Drift(*args)


def test_since_start_refuses_a_non_frame() -> None:
    mkt = simulate(n_transactions=1_000, n_users=50, days=10)
    with pytest.raises(ParameterError, match="since_start: frame must be a DataFrame"):
        mkt.since_start(mkt.transactions["timestamp"])


# -- the root finders (scipy.optimize.brentq) ---------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_solve_intercept_hits_the_target_rate(seed: int) -> None:
    from mlsys_kit.sim.marketplace import _solve_intercept

    rng = np.random.default_rng(seed)
    score = rng.normal(0, rng.uniform(0.5, 3), 5_000)
    target = float(rng.uniform(0.001, 0.45))
    b = _solve_intercept(score, target)
    assert float(expit(score + b).mean()) == pytest.approx(target, rel=1e-12)


@pytest.mark.parametrize(("mean", "upper"), [(7.0, 30.0), (3.0, 20.0), (29.0, 30.0), (0.5, 90.0)])
def test_truncated_lognormal_mu_gives_the_mean(mean: float, upper: float) -> None:
    from scipy import integrate, stats

    from mlsys_kit.sim.marketplace import _CHARGEBACK_DELAY_SIGMA, _truncated_lognormal_mu

    sigma = _CHARGEBACK_DELAY_SIGMA
    mu = _truncated_lognormal_mu(mean, upper, sigma)
    dist = stats.lognorm(s=sigma, scale=math.exp(mu))
    truncated_mean = integrate.quad(lambda x: x * dist.pdf(x), 0, upper)[0] / dist.cdf(upper)
    assert truncated_mean == pytest.approx(mean, rel=1e-6)


# -- packaging and speed ----------------------------------------------------------------------


def test_importing_mlsys_kit_does_not_import_sim() -> None:
    code = "import sys, mlsys_kit; print('mlsys_kit.sim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# Speed (1M transactions within budget) is checked by benchmarks/run_benchmarks.py, not by a
# timed test: timings on a shared CI machine are not a pass/fail signal.
