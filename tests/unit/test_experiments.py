"""Tests of ``continual.experiments``: A/B tests, peeking, team-draft interleaving."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mlsys_kit.continual.experiments import (
    STOPPING_RULES,
    ABTestRuns,
    RankerTestRuns,
    TeamDraft,
    ab_sample_size,
    obrien_fleming_bounds,
    simulate_ab_tests,
    simulate_ranker_tests,
    team_draft,
)
from mlsys_kit.params import ParameterError

# -- sample size and boundaries ---------------------------------------------------------------


def test_sample_size_matches_the_textbook_formula():
    from scipy.stats import norm

    h = 2 * np.arcsin(np.sqrt(0.12)) - 2 * np.arcsin(np.sqrt(0.10))
    expected = 2 * ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2  # var of 2 asin√p̂ is 1/n
    assert ab_sample_size(0.10, 0.12) == int(np.ceil(expected))
    assert ab_sample_size(0.12, 0.10) == ab_sample_size(0.10, 0.12)  # two-sided
    assert ab_sample_size(0.10, 0.12, power=0.9) > ab_sample_size(0.10, 0.12)


def test_obrien_fleming_matches_the_multivariate_normal_probability():
    from scipy.stats import multivariate_normal

    k = np.arange(1, 6)
    bounds = obrien_fleming_bounds(5, alpha=0.05)
    cov = np.sqrt(np.minimum.outer(k, k) / np.maximum.outer(k, k))
    inside = multivariate_normal(np.zeros(5), cov, seed=0).cdf(bounds, lower_limit=-bounds)
    assert abs((1 - inside) - 0.05) < 1e-3
    np.testing.assert_allclose(bounds * np.sqrt(k), bounds[-1] * np.sqrt(5))  # constant on sums
    # Jennison and Turnbull's table of O'Brien-Fleming constants
    assert obrien_fleming_bounds(10)[-1] == pytest.approx(2.087, abs=2e-3)
    assert obrien_fleming_bounds(1, alpha=0.1)[0] == pytest.approx(1.645, abs=1e-3)


# -- simulated A/B tests ----------------------------------------------------------------------


def test_ab_runs_shapes_and_rules():
    runs = simulate_ab_tests(0.1, 0.1, users_per_group=1000, n_looks=10, n_experiments=300)
    assert isinstance(runs, ABTestRuns)
    assert runs.statistic.shape == runs.pvalue.shape == (300, 10)
    assert runs.users[-1] == 1000 and (np.diff(runs.users) > 0).all()
    for rule in STOPPING_RULES:
        look = runs.stop_look(rule)
        assert ((look >= -1) & (look < 10)).all()
        assert (runs.users_spent(rule) <= 1000).all()
        assert runs.rejected_by_look(rule)[-1] == pytest.approx(runs.rejected(rule).mean())
    # peeking rejects whenever any stricter rule does
    assert (runs.rejected("peeking") >= runs.rejected("bonferroni")).all()
    assert (runs.rejected("peeking") >= runs.rejected("fixed horizon")).all()
    assert list(runs.to_frame().index) == list(STOPPING_RULES)


def test_one_look_makes_every_rule_the_fixed_horizon():
    runs = simulate_ab_tests(0.1, 0.12, users_per_group=2000, n_experiments=500, seed=3)
    decisions = {rule: runs.rejected(rule) for rule in STOPPING_RULES}
    for rule in STOPPING_RULES:
        np.testing.assert_array_equal(decisions[rule], decisions["fixed horizon"])


def test_peeking_inflates_false_positives_and_corrections_restore_them():
    runs = simulate_ab_tests(0.2, 0.2, users_per_group=3000, n_looks=20, n_experiments=3000)
    assert runs.rejected("peeking").mean() > 0.15
    for rule in ("fixed horizon", "bonferroni", "o'brien-fleming"):
        assert runs.rejected(rule).mean() < 0.065


def test_simulated_power_matches_the_power_analysis():
    n = ab_sample_size(0.1, 0.12, power=0.8)
    runs = simulate_ab_tests(0.1, 0.12, users_per_group=n, n_experiments=4000, seed=1)
    assert abs(runs.rejected("fixed horizon").mean() - 0.8) < 0.025
    assert (runs.statistic[runs.rejected("fixed horizon")] > 0).mean() > 0.99  # B ahead


def test_same_seed_same_experiments():
    a = simulate_ab_tests(0.1, 0.11, users_per_group=500, n_looks=5, n_experiments=50, seed=4)
    b = simulate_ab_tests(
        0.1, 0.11, users_per_group=500, n_looks=5, n_experiments=50, seed=np.random.default_rng(4)
    )
    np.testing.assert_array_equal(a.statistic, b.statistic)


# -- team-draft interleaving ------------------------------------------------------------------


def _check_invariants(draft: TeamDraft, a: list, b: list) -> None:
    assert len(set(draft.items)) == len(draft.items)  # no result twice
    assert set(draft.items) <= set(a) | set(b)
    for n in range(1, len(draft.items) + 1):  # teams never differ by more than one pick
        prefix = draft.teams[:n]
        assert abs(prefix.count("a") - prefix.count("b")) <= 1
        if n % 2 == 0:
            assert prefix.count("a") == prefix.count("b")
    for team, ranking in (("a", a), ("b", b)):
        picked = [i for i, t in zip(draft.items, draft.teams, strict=True) if t == team]
        positions = [ranking.index(i) for i in picked]
        assert positions == sorted(positions)  # each team in its ranker's order
        for k, (item, t) in enumerate(zip(draft.items, draft.teams, strict=True)):
            if t == team:  # the ranker's best result not already shown
                best = next(r for r in ranking if r not in draft.items[:k])
                assert item == best


@pytest.mark.parametrize("seed", range(20))
def test_team_draft_invariants(seed):
    rng = np.random.default_rng(seed)
    a = rng.permutation(12).tolist()
    b = rng.permutation(12).tolist()
    draft = team_draft(a, b, length=8, seed=seed)
    assert len(draft.items) == 8
    _check_invariants(draft, a, b)


def test_team_draft_of_equal_rankings_is_the_ranking_and_coins_are_fair():
    ranking = list("abcdefgh")
    firsts = []
    for seed in range(400):
        draft = team_draft(ranking, ranking, seed=seed)
        assert list(draft.items) == ranking
        firsts.append(draft.teams[0])
    assert 0.4 < firsts.count("a") / len(firsts) < 0.6


def test_team_draft_stops_when_a_ranker_runs_out_and_credits_clicks():
    draft = team_draft([1, 2], [3, 4, 5, 6], seed=0)
    assert draft.teams.count("a") == 2 and len(draft.items) in (3, 4)  # A ran out
    clicks = [team == "b" for team in draft.teams]
    assert draft.credit(clicks) == (0, draft.teams.count("b"))
    with pytest.raises(ParameterError, match="one value per shown result"):
        draft.credit([True])


# -- ranker tests -----------------------------------------------------------------------------


def _world(seed=0, n_queries=8, n_items=12):
    rng = np.random.default_rng(seed)
    z = rng.normal(-2, 1.5, (n_queries, n_items))
    noise = rng.normal(size=z.shape)
    attract = 1 / (1 + np.exp(-z))
    order_a = np.argsort(-(z + 1.0 * noise), axis=1)
    order_b = np.argsort(-(z + 0.5 * noise), axis=1)
    return attract, order_a, order_b


def _users_one_by_one(attract, order_a, order_b, length, patience, n_users, seed):
    """Users simulated one at a time, click by click, with team_draft itself."""
    rng = np.random.default_rng(seed)
    any_a = any_b = credit_a = credit_b = rr_a = rr_b = 0.0
    for _ in range(n_users):
        q = rng.integers(attract.shape[0])

        def first_click(items, q=q):
            for k, item in enumerate(items):
                if rng.random() < attract[q, item]:
                    return k
                if rng.random() >= patience:
                    return None
            return None

        k_a, k_b = first_click(order_a[q, :length]), first_click(order_b[q, :length])
        any_a, any_b = any_a + (k_a is not None), any_b + (k_b is not None)
        rr_a += 0 if k_a is None else 1 / (k_a + 1)
        rr_b += 0 if k_b is None else 1 / (k_b + 1)
        draft = team_draft(order_a[q].tolist(), order_b[q].tolist(), length=length, seed=rng)
        k = first_click(draft.items)
        if k is not None:
            clicks = np.zeros(length, dtype=bool)
            clicks[k] = True
            got_a, got_b = draft.credit(clicks)
            credit_a, credit_b = credit_a + got_a, credit_b + got_b
    return np.array([any_a, any_b, credit_a, credit_b, rr_a, rr_b]) / n_users


def test_exact_probabilities_agree_with_users_simulated_one_by_one():
    attract, order_a, order_b = _world()
    runs = simulate_ranker_tests(attract, order_a, order_b, users=[10], length=6, n_experiments=1)
    exact = np.array(
        [
            *(runs.click_rate_a, runs.click_rate_b, runs.credit_a, runs.credit_b),
            *(runs.reciprocal_rank_a, runs.reciprocal_rank_b),
        ]
    )
    n = 20_000
    sampled = _users_one_by_one(attract, order_a, order_b, 6, 0.9, n, seed=1)
    assert np.all(np.abs(sampled - exact) < 4 * np.sqrt(0.25 / n))


def test_interleaving_detects_a_better_ranker_with_fewer_users():
    attract, order_a, order_b = _world(n_queries=30)
    users = np.unique(np.geomspace(50, 50_000, 16).astype(int))
    runs = simulate_ranker_tests(attract, order_a, order_b, users=users, n_experiments=300)
    assert isinstance(runs, RankerTestRuns)
    assert runs.click_rate_b > runs.click_rate_a and runs.credit_b > runs.credit_a
    assert runs.reciprocal_rank_b > runs.reciprocal_rank_a
    needed_ab = runs.users_needed("a/b any click")
    needed_rr = runs.users_needed("a/b reciprocal rank")
    needed_il = runs.users_needed("interleaving")
    assert needed_il < needed_rr < needed_ab  # reciprocal rank also sees where users click
    frame = runs.to_frame()
    assert list(frame.columns) == [
        "a/b any click power",
        "a/b reciprocal rank power",
        "interleaving power",
    ]
    assert (np.diff(frame["interleaving power"].to_numpy()) > -0.1).all()  # grows with users


def test_equal_rankers_are_rarely_called_different():
    attract, order_a, _ = _world(n_queries=10)
    runs = simulate_ranker_tests(attract, order_a, order_a, users=[500, 5000], n_experiments=2000)
    assert runs.credit_a == pytest.approx(runs.credit_b)
    assert runs.reciprocal_rank_a == pytest.approx(runs.reciprocal_rank_b)
    for test in ("a/b any click", "a/b reciprocal rank", "interleaving"):
        assert (runs.power(test) < 0.045).all()  # one side of a two-sided 5% test
    assert np.isnan(runs.users_needed("interleaving"))


# -- bad inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ab_sample_size(0.1, 0.1), "must differ"),
        (lambda: ab_sample_size(1.2, 0.1), "rate_a"),
        (lambda: ab_sample_size(0.1, 0.2, power=1.0), "power"),
        (lambda: obrien_fleming_bounds(0), "n_looks"),
        (lambda: obrien_fleming_bounds(3, alpha=0), "alpha"),
        (lambda: simulate_ab_tests(0.1, 0.1, users_per_group=5, n_looks=10), "users_per_group"),
        (lambda: simulate_ab_tests(0.1, -0.1, users_per_group=50), "rate_b"),
        (lambda: simulate_ab_tests(0.1, 0.1, users_per_group=50, n_experiments=0), "n_experiment"),
        (lambda: team_draft([], [1]), "ranking_a"),
        (lambda: team_draft([1, 1], [1]), "must not repeat"),
        (lambda: team_draft([1], [1], length=0), "length"),
    ],
)
def test_bad_inputs_name_the_problem(call, message):
    with pytest.raises(ParameterError) as error:
        call()
    assert message in str(error.value)


def test_ranking_rule_names_are_checked():
    runs = simulate_ab_tests(0.1, 0.1, users_per_group=50, n_experiments=5)
    with pytest.raises(ParameterError, match="choose one of"):
        runs.stop_look("peek")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attractiveness": np.full((2, 4), 1.5)}, "[0, 1]"),
        ({"ranking_a": np.zeros((2, 4), dtype=int)}, "permutation"),
        ({"ranking_b": np.tile(np.arange(3), (2, 1))}, "shape (2, 4)"),
        ({"users": [10, 5]}, "increasing"),
        ({"users": [1]}, "≥ 2"),
        ({"length": 5}, "length"),
        ({"patience": 1.5}, "patience"),
        ({"n_experiments": 0}, "n_experiments"),
        ({"alpha": 1.0}, "alpha"),
    ],
)
def test_ranker_tests_bad_inputs(kwargs, message):
    arguments = {
        "attractiveness": np.full((2, 4), 0.3),
        "ranking_a": np.tile(np.arange(4), (2, 1)),
        "ranking_b": np.tile(np.arange(4)[::-1], (2, 1)),
        "users": [10, 20],
        "length": 3,
    }
    arguments.update(kwargs)
    with pytest.raises(ParameterError, match="simulate_ranker_tests") as error:
        simulate_ranker_tests(
            arguments.pop("attractiveness"),
            arguments.pop("ranking_a"),
            arguments.pop("ranking_b"),
            **arguments,
        )
    assert message in str(error.value)


def test_every_coin_sequence_gives_a_valid_draft():
    from mlsys_kit.continual.experiments import _draft

    a, b = [3, 1, 4, 0, 2, 5], [5, 4, 3, 2, 1, 0]
    seen = set()
    for coins in itertools.product((True, False), repeat=3):
        draft = _draft(a, b, 6, iter(coins))
        _check_invariants(draft, a, b)
        seen.add(draft.items)
    assert len(seen) > 1
