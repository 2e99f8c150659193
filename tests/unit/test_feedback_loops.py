"""Tests of ``monitoring.feedback_loops``: the recommender feedback-loop simulation."""

from __future__ import annotations

import numpy as np
import pytest

from mlsys_kit.monitoring.feedback_loops import (
    examination_curve,
    fit_position_based_model,
    gini,
    simulate_feedback_loop,
    top_share,
)
from mlsys_kit.params import ParameterError

SMALL = dict(n_items=60, n_rounds=8, n_requests=300, n_candidates=30)

# --- concentration metrics ---------------------------------------------------------------------


def test_gini_bounds_and_known_values() -> None:
    assert gini([3, 3, 3]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 0, 1]) == pytest.approx(0.8)
    assert 0 < gini([1, 2, 3, 4]) < 1


def test_top_share_known_values() -> None:
    assert top_share(np.ones(20)) == pytest.approx(0.1)
    assert top_share([0] * 19 + [5]) == pytest.approx(1.0)
    assert top_share([1, 1, 1, 1], share=0.5) == pytest.approx(0.5)
    assert top_share([5, 1, 1, 1], share=0.01) == pytest.approx(5 / 8)  # at least one item
    assert top_share([1, 1, 2], share=1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [[], [[1, 2]], [1, -1], [0, 0], [1, np.nan]])
def test_concentration_metrics_refuse_bad_counts(bad) -> None:
    with pytest.raises(ValueError, match="counts"):
        gini(bad)
    with pytest.raises(ValueError, match="counts"):
        top_share(bad)


def test_top_share_refuses_bad_share() -> None:
    with pytest.raises(ParameterError, match="share"):
        top_share([1, 2, 3], share=1.5)


# --- examination curve and the position-based click model --------------------------------------


def test_examination_curve() -> None:
    np.testing.assert_allclose(examination_curve(3, 0.0), [1, 1, 1])
    np.testing.assert_allclose(examination_curve(3, 2.0), [1, 1 / 4, 1 / 9])
    with pytest.raises(ParameterError, match="position_bias"):
        examination_curve(3, -1.0)
    with pytest.raises(ParameterError, match="slate_size"):
        examination_curve(0, 1.0)


def test_position_based_model_recovers_known_factors() -> None:
    rng = np.random.default_rng(0)
    appeal = rng.uniform(0.05, 0.5, 40)
    exam = examination_curve(4, 1.0)
    impressions = rng.integers(2_000, 4_000, (40, 4)).astype(float)
    clicks = impressions * appeal[:, None] * exam[None, :]  # expected counts: an exact fit
    est_appeal, est_exam = fit_position_based_model(impressions, clicks)
    np.testing.assert_allclose(est_exam, exam, rtol=1e-6)
    np.testing.assert_allclose(est_appeal, appeal, rtol=1e-6)


def test_position_based_model_ranks_like_logistic_regression_with_a_slot_feature() -> None:
    """The book's positional feature in scikit-learn ranks items as the closed-form fit does."""
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression

    run = simulate_feedback_loop(**SMALL, epsilon=0.3, position_aware=True, seed=3)
    imps, clicks = run.impressions, run.clicks
    n_items, n_slots = imps.shape
    item, slot = np.nonzero(imps)
    X = np.zeros((len(item), n_items + n_slots - 1))
    X[np.arange(len(item)), item] = 1.0
    for s in range(1, n_slots):
        X[slot == s, n_items + s - 1] = 1.0  # slot 1 is the reference: set it at inference
    y = np.r_[np.ones(len(item)), np.zeros(len(item))]
    weight = np.r_[clicks[item, slot], imps[item, slot] - clicks[item, slot]]
    keep = weight > 0
    model = LogisticRegression(C=100.0, max_iter=2_000)
    model.fit(np.vstack([X, X])[keep], y[keep], sample_weight=weight[keep])
    shown = imps.sum(axis=1) > 0
    logit_item = model.coef_[0][:n_items]
    appeal, _ = fit_position_based_model(imps, clicks)
    clicked = clicks.sum(axis=1) > 0  # never-clicked items are all ties at 0 in closed form
    rho = spearmanr(logit_item[shown & clicked], appeal[shown & clicked]).statistic
    assert rho > 0.95
    assert (model.coef_[0][n_items:] < 0).all()  # lower slots: fewer clicks, as simulated


def test_position_based_model_refuses_bad_counts() -> None:
    with pytest.raises(ValueError, match="same shape"):
        fit_position_based_model(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="clicks ≤ impressions"):
        fit_position_based_model(np.ones((2, 2)), np.full((2, 2), 2.0))
    with pytest.raises(ValueError, match="first slot"):
        fit_position_based_model(np.ones((2, 2)), np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ParameterError, match="n_iter"):
        fit_position_based_model(np.ones((2, 2)), np.ones((2, 2)), n_iter=0)


# --- the simulation -----------------------------------------------------------------------------


def test_run_shapes_and_columns() -> None:
    run = simulate_feedback_loop(**SMALL, seed=1)
    assert list(run.rounds.columns) == [
        "aggregate_diversity",
        "top10_share",
        "gini",
        "clicks_per_request",
        "ranking_spearman",
        "ranking_value",
    ]
    assert run.rounds.index.name == "round" and len(run.rounds) == SMALL["n_rounds"]
    assert run.impressions.shape == run.clicks.shape == (SMALL["n_items"], 5)
    assert run.impressions.sum() == SMALL["n_rounds"] * SMALL["n_requests"] * 5
    assert (run.clicks <= run.impressions).all()
    assert run.rounds.drop(columns="clicks_per_request").le(1 + 1e-9).all().all()


def test_same_seed_same_run_and_policies_share_the_world() -> None:
    a = simulate_feedback_loop(**SMALL, seed=2)
    b = simulate_feedback_loop(**SMALL, seed=2)
    c = simulate_feedback_loop(**SMALL, seed=2, epsilon=0.2, position_aware=True)
    d = simulate_feedback_loop(**SMALL, seed=3)
    np.testing.assert_array_equal(a.impressions, b.impressions)
    assert a.rounds.equals(b.rounds)
    np.testing.assert_array_equal(a.appeal, c.appeal)  # same items whatever the policy
    assert not np.array_equal(a.appeal, d.appeal)


def test_greedy_loop_narrows_exposure_and_exploration_widens_it() -> None:
    greedy = simulate_feedback_loop(**SMALL, seed=0)
    explore = simulate_feedback_loop(**SMALL, seed=0, epsilon=0.3)
    assert greedy.rounds["aggregate_diversity"].iloc[0] == 1.0  # day 0 is shown at random
    assert greedy.rounds["aggregate_diversity"].iloc[-1] < 0.6
    assert greedy.rounds["top10_share"].iloc[-1] > 0.5
    assert (
        explore.rounds["aggregate_diversity"].iloc[-1]
        > greedy.rounds["aggregate_diversity"].iloc[-1]
    )


def test_naive_model_assumes_no_position_bias_and_positional_model_estimates_it() -> None:
    naive = simulate_feedback_loop(**SMALL, seed=0, epsilon=0.3)
    aware = simulate_feedback_loop(**SMALL, seed=0, epsilon=0.3, position_aware=True)
    np.testing.assert_array_equal(naive.estimated_examination, np.ones(5))
    assert aware.estimated_examination[0] == 1.0
    np.testing.assert_allclose(aware.estimated_examination, aware.examination, atol=0.1)


def test_whole_catalogue_and_no_prior() -> None:
    run = simulate_feedback_loop(
        n_items=20, n_rounds=3, n_requests=50, n_candidates=20, prior_strength=0.0, seed=0
    )
    assert np.isfinite(run.scores).all()
    assert run.rounds["aggregate_diversity"].iloc[-1] <= 5 / 20  # one shelf, five slots


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_items": 5}, "n_items"),
        ({"n_rounds": 0}, "n_rounds"),
        ({"n_requests": 1}, "n_requests"),
        ({"n_candidates": 3}, "n_candidates"),  # fewer than the slate
        ({"n_candidates": 500}, "n_candidates"),  # more than the catalogue
        ({"slate_size": 0}, "slate_size"),
        ({"epsilon": 1.5}, "epsilon"),
        ({"position_aware": "yes"}, "position_aware"),
        ({"position_bias": -0.5}, "position_bias"),
        ({"appeal_spread": 0.0}, "appeal_spread"),
        ({"prior_strength": -1.0}, "prior_strength"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name) -> None:
    args = {**SMALL, **kwargs}
    with pytest.raises(ParameterError, match=name):
        simulate_feedback_loop(**args)


@pytest.mark.parametrize("seed", range(5))
def test_rank_correlation_is_scipys_spearman(seed):
    from scipy.stats import spearmanr

    from mlsys_kit.monitoring.feedback_loops import _spearman

    rng = np.random.default_rng(seed)
    a = rng.integers(0, 20, 50).astype(float)  # ties, as click counts have
    b = a + rng.normal(0, 5, 50)
    assert _spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, rel=1e-12)
    assert _spearman(np.ones(5), b[:5]) == 0.0


def test_top_k_is_the_head_of_a_full_sort() -> None:
    from mlsys_kit.monitoring.feedback_loops import _top_k

    keys = np.random.default_rng(0).random((200, 40))
    for k in (1, 5, 40):
        np.testing.assert_array_equal(_top_k(keys, k), np.argsort(-keys, axis=1)[:, :k])


def test_rank_value_breaks_ties_by_item_and_is_one_for_the_truth() -> None:
    from mlsys_kit.monitoring.feedback_loops import _rank_value

    appeal = np.array([0.1, 0.3, 0.2, 0.4])
    cands = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    exam = np.array([1.0, 0.5])
    best = _rank_value(appeal, appeal, cands, exam)
    assert best == pytest.approx(0.4 + 0.5 * 0.3)
    # All scores equal: the lower item index wins, whatever the candidate order.
    assert _rank_value(np.zeros(4), appeal, cands, exam) == pytest.approx(0.1 + 0.5 * 0.3)


@pytest.mark.parametrize("n_candidates", [2, 5, 30, 60])
def test_rank_value_is_the_value_of_each_requests_sorted_candidates(n_candidates) -> None:
    from mlsys_kit.monitoring.feedback_loops import _candidates, _rank_value

    rng = np.random.default_rng(n_candidates)
    appeal, exam = rng.random(60), np.array([1.0, 0.5, 0.33, 0.25, 0.2])[: min(5, n_candidates)]
    cands = _candidates(rng, 300, 60, n_candidates)
    scores = np.round(rng.random(60), 1)  # many ties: broken towards the lower item
    rank = np.lexsort((np.arange(60), -scores))  # the catalogue, best first
    position = np.argsort(rank)
    slates = [sorted(row, key=lambda item: position[item])[: len(exam)] for row in cands]
    expected = np.mean([(appeal[slate] * exam).sum() for slate in slates])
    assert _rank_value(scores, appeal, cands, exam) == pytest.approx(expected, rel=1e-12)
