"""Tests of ``design.framing``: the app-store simulation and top-k evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.design.framing import (
    CATEGORIES,
    STYLE_DIMS,
    hit_rate_at_k,
    hits_at_k,
    pair_features,
    sample_negatives,
    simulate_app_installs,
    top_k,
)
from mlsys_kit.params import ParameterError


@pytest.fixture(scope="module")
def store():
    return simulate_app_installs(n_users=300, n_apps=12, n_new_apps=6, seed=7)


# --- simulate_app_installs -------------------------------------------------------------------


def test_shapes_and_columns(store) -> None:
    assert store.users.shape == (300, len(CATEGORIES) + STYLE_DIMS + 1)
    assert store.apps.shape[0] == 18
    assert store.utility.shape == (300, 18)
    assert store.hidden_appeal.shape == (18,)
    assert list(store.installs.columns) == ["week", "user_id", "app_id"]
    assert len(store.installs) == 300 * store.n_weeks
    assert store.user_features == list(store.users.columns)
    assert store.apps["category"].isin(CATEGORIES).all()


def test_launch_schedule(store) -> None:
    apps = store.apps
    assert (apps.loc[:11, "launch_week"] == 0).all()
    assert not apps.loc[:11, "is_new"].any() and apps.loc[12:, "is_new"].all()
    new_weeks = apps.loc[12:, "launch_week"]
    assert new_weeks.min() == store.first_launch_week and new_weeks.max() == store.n_weeks - 1
    assert new_weeks.is_monotonic_increasing
    assert store.available(store.first_launch_week - 1).sum() == 12
    assert store.available(store.n_weeks - 1).all()


def test_installs_only_of_launched_apps_and_sorted(store) -> None:
    installs = store.installs
    launch = store.apps["launch_week"].to_numpy()[installs["app_id"]]
    assert (launch <= installs["week"].to_numpy()).all()
    assert installs["week"].is_monotonic_increasing
    # New apps do get downloaded once launched.
    assert store.apps["is_new"].to_numpy()[installs["app_id"]].any()


def test_same_seed_same_store_and_different_seed_differs() -> None:
    a = simulate_app_installs(n_users=50, n_apps=5, n_new_apps=2, seed=3)
    b = simulate_app_installs(n_users=50, n_apps=5, n_new_apps=2, seed=3)
    c = simulate_app_installs(n_users=50, n_apps=5, n_new_apps=2, seed=4)
    pd.testing.assert_frame_equal(a.installs, b.installs)
    pd.testing.assert_frame_equal(a.apps, b.apps)
    assert not a.installs.equals(c.installs)


def test_hidden_appeal_only_changes_the_hidden_part() -> None:
    plain = simulate_app_installs(n_users=50, n_apps=5, n_new_apps=2, hidden_appeal=0, seed=1)
    hidden = simulate_app_installs(n_users=50, n_apps=5, n_new_apps=2, hidden_appeal=2, seed=1)
    assert (plain.hidden_appeal == 0).all() and hidden.hidden_appeal.std() > 0
    pd.testing.assert_frame_equal(plain.apps, hidden.apps)
    np.testing.assert_allclose(
        hidden.utility - plain.utility, np.tile(hidden.hidden_appeal, (50, 1))
    )


def test_choices_follow_the_true_utility() -> None:
    """With one app far more attractive to everyone, nearly all downloads go to it."""
    store = simulate_app_installs(n_users=400, n_apps=10, n_new_apps=0, hidden_appeal=0, seed=0)
    best_for_user = store.utility.argmax(axis=1)
    installs = store.installs
    share_best = (installs["app_id"].to_numpy() == best_for_user[installs["user_id"]]).mean()
    assert share_best > 2 / 10  # far more often than a uniform choice among 10 apps


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_users": 5}, "n_users"),
        ({"n_users": 100.0}, "n_users"),
        ({"n_apps": 1}, "n_apps"),
        ({"n_new_apps": -1}, "n_new_apps"),
        ({"first_launch_week": 0}, "first_launch_week"),
        ({"first_launch_week": 4, "n_weeks": 4}, "n_weeks"),
        ({"installs_per_user": 0}, "installs_per_user"),
        ({"installs_per_user": float("nan")}, "installs_per_user"),
        ({"hidden_appeal": -0.1}, "hidden_appeal"),
        ({"hidden_appeal": True}, "hidden_appeal"),
        ({"seed": -1}, "seed"),
    ],
)
def test_simulate_rejects_bad_arguments(kwargs, name) -> None:
    with pytest.raises(ParameterError, match=name):
        simulate_app_installs(**kwargs)


# --- pair_features and sample_negatives ------------------------------------------------------


def test_pair_features_crosses(store) -> None:
    users, apps = store.users.loc[[0, 1]], store.apps.loc[[2, 3]]
    X = pair_features(users, apps)
    assert X.shape == (2, len(CATEGORIES) + STYLE_DIMS + 3)
    for row, (u, a) in enumerate([(0, 2), (1, 3)]):
        category = store.apps.loc[a, "category"]
        crosses = X.loc[row, [f"interest×{c}" for c in CATEGORIES]]
        assert crosses[f"interest×{category}"] == store.users.loc[u, f"interest_{category}"]
        assert (crosses.drop(f"interest×{category}") == 0).all()
        expected = store.users.loc[u, "taste_1"] * store.apps.loc[a, "style_1"]
        assert X.loc[row, "taste×style_1"] == pytest.approx(expected)
        assert X.loc[row, "log_price"] == pytest.approx(np.log1p(store.apps.loc[a, "price"]))


def test_pair_features_rejects_mismatched_or_wrong_inputs(store) -> None:
    with pytest.raises(
        ParameterError, match="pair_features: users and apps must have the same length"
    ):
        pair_features(store.users.loc[[0, 1]], store.apps.loc[[0]])
    with pytest.raises(ParameterError, match="apps lacks"):
        pair_features(store.users.loc[[0]], store.apps.loc[[0]].drop(columns="price"))
    with pytest.raises(ParameterError, match="pair_features: users must be a DataFrame"):
        pair_features(store.users.loc[[0]].to_numpy(), store.apps.loc[[0]])


def test_sample_negatives(store) -> None:
    installs = store.installs
    pairs = sample_negatives(installs, store.apps, n_negatives=3, seed=0)
    assert len(pairs) == 4 * len(installs)
    assert pairs["installed"].sum() == len(installs)
    negatives = pairs[pairs["installed"] == 0]
    launch = store.apps["launch_week"].to_numpy()[negatives["app_id"]]
    assert (launch <= negatives["week"].to_numpy()).all()  # only apps available that week
    positive_app = np.repeat(installs["app_id"].to_numpy(), 3)
    assert (negatives["app_id"].to_numpy() != positive_app).all()  # never the installed app
    assert negatives["app_id"].nunique() == store.apps.shape[0]  # every app can be drawn
    again = sample_negatives(installs, store.apps, n_negatives=3, seed=0)
    pd.testing.assert_frame_equal(pairs, again)


def test_sample_negatives_rejects_bad_arguments(store) -> None:
    with pytest.raises(ParameterError, match="n_negatives"):
        sample_negatives(store.installs, store.apps, n_negatives=0)
    with pytest.raises(ParameterError, match="installs lacks"):
        sample_negatives(store.installs.drop(columns="week"), store.apps)
    with pytest.raises(ParameterError, match="fewer than two apps"):
        sample_negatives(store.installs, store.apps.head(1))


# --- top_k, hits_at_k, hit_rate_at_k ---------------------------------------------------------


def test_top_k_orders_skips_nan_and_pads() -> None:
    scores = np.array([[0.2, 0.9, 0.5, np.nan], [1.0, 1.0, np.nan, np.nan]])
    np.testing.assert_array_equal(top_k(scores, 3), [[1, 2, 0], [0, 1, -1]])
    np.testing.assert_array_equal(top_k(scores, 6)[0], [1, 2, 0, -1, -1, -1])


def test_hits_and_hit_rate() -> None:
    scores = np.array([[0.2, 0.9, 0.5], [0.3, 0.1, np.nan], [0.1, 0.2, 0.3]])
    true_apps = np.array([2, 2, 0])
    np.testing.assert_array_equal(hits_at_k(scores, true_apps, 2), [True, False, False])
    assert hit_rate_at_k(scores, true_apps, 3) == pytest.approx(2 / 3)


def test_random_scores_hit_at_rate_k_over_m() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((20_000, 20))
    assert hit_rate_at_k(scores, rng.integers(0, 20, 20_000), 5) == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: top_k(np.zeros((2, 3)), 0), "k"),
        (lambda: top_k(np.zeros(3), 1), "scores"),
        (lambda: hits_at_k(np.zeros((2, 3)), np.array([0]), 1), "true_apps"),
        (lambda: hits_at_k(np.zeros((2, 3)), np.array([0, 3]), 1), "true_apps"),
        (lambda: hit_rate_at_k(np.zeros((0, 3)), np.array([], dtype=int), 1), "scores"),
    ],
)
def test_evaluation_rejects_bad_arguments(call, name) -> None:
    with pytest.raises(ParameterError, match=name):
        call()


@pytest.mark.parametrize("seed", range(3))
def test_hit_rate_matches_scikit_learn_top_k_accuracy(seed: int) -> None:
    from sklearn.metrics import top_k_accuracy_score

    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(300, 12))
    true_apps = rng.integers(0, 12, 300)
    for k in (1, 3, 5):
        expected = top_k_accuracy_score(true_apps, scores, k=k, labels=np.arange(12))
        assert hit_rate_at_k(scores, true_apps, k) == pytest.approx(expected)
