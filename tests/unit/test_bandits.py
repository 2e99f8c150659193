"""Tests of ``continual.bandits``: the vectorized policies against river's, regret accounting."""

from __future__ import annotations

import numpy as np
import pytest
from river import bandit, proba

from mlsys_kit.continual.bandits import BANDIT_POLICIES, _choose, simulate_bandits
from mlsys_kit.params import ParameterError


def _river_state(policy, arms: int) -> tuple[np.ndarray, np.ndarray]:
    """River's per-arm counts and reward sums, as one run's (1, arms) arrays."""
    counts = np.array([[policy._counts[a] for a in range(arms)]], dtype=float)
    means = np.array([[policy._rewards[a].get() for a in range(arms)]], dtype=float)
    return counts, means * counts


@pytest.mark.parametrize("name", ["ucb1", "epsilon-greedy"])
def test_vectorized_rule_picks_what_river_picks_from_the_same_history(name):
    rates, arms = [0.2, 0.5, 0.35], 3
    river_policy = (
        bandit.UCB(delta=1, burn_in=1, seed=1)
        if name == "ucb1"
        else bandit.EpsilonGreedy(epsilon=0.0, seed=1)  # its exploit step; exploration below
    )
    env = np.random.default_rng(0)
    for step in range(300):
        counts, sums = _river_state(river_policy, arms)
        arm = river_policy.pull(list(range(arms)))
        mine = _choose(name, counts, sums, step, np.random.default_rng(step), 0.0)[0]
        if name == "ucb1" and step >= arms:  # river breaks ties at random: any tied arm is fine
            bound = sums / counts + np.sqrt(2 * np.log(step) / counts)
            assert bound[0, arm] == bound[0].max()
        else:
            assert arm == mine
        river_policy.update(arm, float(env.random() < rates[arm]))


def test_epsilon_greedy_explores_uniformly_a_share_epsilon():
    counts, sums = np.full((20_000, 3), 10.0), np.array([[1.0, 5.0, 2.0]] * 20_000)
    arms = _choose("epsilon-greedy", counts, sums, 50, np.random.default_rng(0), 0.3)
    share = np.bincount(arms, minlength=3) / len(arms)
    assert share == pytest.approx([0.1, 0.8, 0.1], abs=0.015)  # 0.3 / 3 each, + 0.7 on arm 1


def test_thompson_draws_like_rivers_beta_posteriors():
    policy = bandit.ThompsonSampling(reward_obj=proba.Beta(), seed=3)
    for arm, reward in [(0, 1), (0, 0), (1, 1), (1, 1), (1, 0), (2, 0)] * 3:
        policy.update(arm, reward)
    river_share = np.bincount([policy.pull([0, 1, 2]) for _ in range(3000)], minlength=3) / 3000
    counts = np.array([[policy._counts[a] for a in range(3)]], dtype=float)
    sums = np.array([[policy._rewards[a].alpha - 1 for a in range(3)]], dtype=float)
    mine = _choose("thompson", np.repeat(counts, 3000, 0), np.repeat(sums, 3000, 0), 18,
                   np.random.default_rng(0), 0.0)  # fmt: skip
    assert np.bincount(mine, minlength=3) / 3000 == pytest.approx(river_share, abs=0.04)


def test_linucb_bound_is_rivers_with_one_hot_segments():
    policy = bandit.LinUCBDisjoint(seed=0)
    env = np.random.default_rng(1)
    rates = np.array([[0.1, 0.6], [0.7, 0.2]])
    counts, sums = np.zeros((2, 2)), np.zeros((2, 2))
    for _ in range(200):
        seg = int(env.integers(2))
        context = {f"segment_{seg}": 1.0}
        arm = policy.pull([0, 1], context=context)
        bound = sums[seg] / (1 + counts[seg]) + np.sqrt(1 + 1 / (1 + counts[seg]))
        assert bound[arm] == pytest.approx(bound.max())
        for a in (0, 1):  # river's prediction: the mean and sd of its Bayesian regression
            dist = policy._bayes_lin_regs[a].predict_one(context, with_dist=True)
            assert dist.mu + dist.sigma == pytest.approx(bound[a])
        reward = float(env.random() < rates[seg, arm])
        policy.update(arm, context, reward)
        counts[seg, arm] += 1
        sums[seg, arm] += reward


def test_regret_is_cumulative_expected_loss_and_paired_across_policies():
    runs = simulate_bandits([0.3, 0.5], n_steps=200, n_runs=5, seed=2)
    assert runs.regret.shape == (len(BANDIT_POLICIES), 5, 200)
    steps = np.diff(runs.regret, axis=2, prepend=0)
    assert np.isin(np.round(steps, 12), [0.0, 0.2]).all()  # each user costs 0 or the gap
    assert runs.best_share == pytest.approx(1 - runs.regret[:, :, -1] / 0.2 / 200)
    first, second = runs.halves("thompson")
    assert first + second == pytest.approx(runs.final("thompson"))
    again = simulate_bandits([0.3, 0.5], n_steps=200, n_runs=5, seed=2)
    assert np.array_equal(runs.regret, again.regret)
    assert list(runs.to_frame().index) == list(BANDIT_POLICIES)


def test_bandits_beat_the_ab_split_and_linucb_uses_the_segment():
    flat = simulate_bandits([0.2, 0.4], n_steps=400, n_runs=30, seed=0)
    assert flat.final("thompson").mean() < flat.final("a/b split").mean() / 3
    segmented = simulate_bandits([[0.2, 0.4], [0.4, 0.2]], n_steps=400, n_runs=30, seed=0)
    assert segmented.final("linucb").mean() < segmented.final("thompson").mean() / 2


def test_equal_rates_cost_nothing():
    runs = simulate_bandits([0.3, 0.3, 0.3], n_steps=50, n_runs=4)
    assert (runs.regret == 0).all() and (runs.best_share == 1).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rates": [0.5]}, "at least 2 arms"),
        ({"rates": [[[0.1, 0.2]]]}, "at least 2 arms"),
        ({"rates": [0.1, 1.2]}, "must lie in [0, 1]"),
        ({"rates": [0.1, 0.2], "policies": ("thompson", "thompson")}, "distinct"),
        ({"rates": [0.1, 0.2], "policies": ("ucb",)}, "choose one of"),
        ({"rates": [0.1, 0.2], "n_steps": 0}, "n_steps"),
        ({"rates": [0.1, 0.2], "n_runs": 1.5}, "n_runs must be an integer"),
        ({"rates": [0.1, 0.2], "epsilon": 2.0}, "epsilon"),
    ],
)
def test_bad_inputs_name_what_is_wrong_and_what_is_allowed(kwargs, message):
    with pytest.raises(ParameterError, match="simulate_bandits") as error:
        simulate_bandits(**kwargs)
    assert message in str(error.value)


def test_unknown_policy_in_results_is_refused():
    runs = simulate_bandits([0.1, 0.2], policies="ucb1", n_steps=10, n_runs=2)
    with pytest.raises(ParameterError, match="choose one of 'ucb1'"):
        runs.final("thompson")


def test_served_and_converted_count_every_user_and_picks_name_the_best():
    runs = simulate_bandits([0.1, 0.6], n_steps=300, n_runs=20, seed=3)
    assert runs.served.shape == runs.converted.shape == (len(BANDIT_POLICIES), 20, 2)
    assert (runs.served.sum(axis=2) == 300).all()
    assert ((runs.converted >= 0) & (runs.converted <= runs.served)).all()
    thompson = runs.policies.index("thompson")
    assert runs.served[thompson, :, 1] / 300 == pytest.approx(runs.best_share[thompson])
    assert runs.picked_best("thompson").all()  # a gap of 0.5: found in every run
    assert runs.picked_best("a/b split", by="best rate").all()
    tied = simulate_bandits([0.4, 0.4], policies="ucb1", n_steps=20, n_runs=3)
    assert tied.picked_best("ucb1").all()  # every model is a best one


def test_picked_best_refuses_segments_and_unknown_rules():
    segmented = simulate_bandits([[0.1, 0.2], [0.2, 0.1]], policies="thompson", n_steps=10,
                                 n_runs=2)  # fmt: skip
    with pytest.raises(ParameterError, match="one segment"):
        segmented.picked_best("thompson")
    with pytest.raises(ParameterError, match="choose one of 'most served', 'best rate'"):
        segmented.picked_best("thompson", by="votes")
