"""Bandits against an A/B split: the conversions lost while testing models in production.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 9, "Test in
Production": "Bandits" and "Contextual bandits as an exploration strategy".

Several models (the *arms*) serve users; each user converts or not (a Bernoulli reward) with a
rate that depends on the model, and, with user *segments*, on the user. An **A/B split** sends
every user to a model at random, whatever has been learnt so far; a **bandit** sends more users
to the models that have converted better so far. The price of testing is the **regret**: the
conversions lost against always serving the best model (per segment: the best model for that
user), summed over users. :func:`simulate_bandits` runs many independent experiments at once and
returns each policy's cumulative (pseudo-)regret, the expected conversions lost, user by user,
and the users each model served: :meth:`BanditRuns.picked_best` says whether a policy's pick at
the end (the model it served most, or the one with the best observed rate, an A/B test's winner)
is the best model.

The policies are river's (:mod:`river.bandit`, version 0.26.1), with their defaults:

* ``"a/b split"``: a uniformly random model for every user (``river.bandit.RandomPolicy``);
* ``"epsilon-greedy"``: the best model so far, or a random one with probability ``epsilon``
  (``river.bandit.EpsilonGreedy(epsilon)``; an untried model's mean counts as 0);
* ``"ucb1"``: the largest upper confidence bound ``mean + sqrt(2 ln n / n_arm)``, after one user
  per model (``river.bandit.UCB(delta=1, burn_in=1)``);
* ``"thompson"``: the largest draw from each model's Beta(1 + conversions, 1 + misses) posterior
  (``river.bandit.ThompsonSampling(reward_obj=river.proba.Beta())``);
* ``"linucb"``: a contextual bandit, river's ``LinUCBDisjoint()`` (a Bayesian linear regression
  per model, ``alpha = beta = 1``, the largest ``mean + sd`` of its prediction) with the user's
  segment one-hot encoded as the context. With one-hot features each model's regression is a
  posterior mean per segment, ``sum / (1 + n)``, and the bound adds
  ``sqrt(1 + 1 / (1 + n))``. The other policies do not see the segment.

Why not river's policies themselves: they pull one arm of one experiment per Python call
(about 10 µs to 100 µs each), and the lessons need hundreds of experiments of thousands of users
for each policy, so this module re-implements their choice rules with numpy, vectorized over the
experiments (one step for all runs at once). ``tests/unit/test_bandits.py`` checks, step by step,
that each vectorized rule picks what river's policy picks from the same history (among tied arms,
river draws at random; here the first tied arm is taken). The regret accounting is the lesson,
hence hand-written.

All policies of one call see the same users (segments) and the same coin flips: user ``t`` of run
``r`` would convert on model ``a`` when ``u[r, t, a] < rate[segment, a]``, whatever policy serves
it, so differences between policies are paired, not noise between draws.

Examples
--------
>>> runs = simulate_bandits([0.2, 0.3], policies=("a/b split", "thompson"), n_steps=500,
...                         n_runs=20, seed=0)
>>> runs.regret.shape
(2, 20, 500)
>>> bool(runs.final("thompson").mean() < runs.final("a/b split").mean())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_choice,
    check_float,
    check_int,
    make_rng,
)
from mlsys_kit.results import Report
from mlsys_kit.stats import mean_interval

__all__ = ["BANDIT_POLICIES", "BanditRuns", "simulate_bandits"]

BANDIT_POLICIES = ("a/b split", "epsilon-greedy", "ucb1", "thompson", "linucb")


@dataclass(frozen=True)
class BanditRuns(Report):
    """Cumulative regret of each policy over many simulated experiments.

    Attributes
    ----------
    policies : tuple of str
        The policies, in the order of ``regret``'s first axis.
    regret : numpy.ndarray
        ``(n_policies, n_runs, n_steps)``: expected conversions lost up to and including each
        user, against serving every user its best model.
    best_share : numpy.ndarray
        ``(n_policies, n_runs)``: the share of users served their best model.
    rates : numpy.ndarray
        ``(n_segments, n_arms)``: the conversion rates simulated.
    served, converted : numpy.ndarray
        ``(n_policies, n_runs, n_arms)``: users each model served by the end, and how many of
        them converted (all segments together).
    """

    policies: tuple[str, ...]
    regret: np.ndarray
    best_share: np.ndarray
    rates: np.ndarray
    served: np.ndarray
    converted: np.ndarray

    def final(self, policy: str) -> np.ndarray:
        """Regret after the last user, one value per run, of ``policy``."""
        policy = check_choice("policy", policy, self.policies, owner="BanditRuns.final")
        return self.regret[self.policies.index(policy), :, -1]

    def halves(self, policy: str) -> tuple[np.ndarray, np.ndarray]:
        """Regret over the first half of the users and over the second half, per run."""
        policy = check_choice("policy", policy, self.policies, owner="BanditRuns.halves")
        curve = self.regret[self.policies.index(policy)]
        middle = curve[:, curve.shape[1] // 2 - 1]
        return middle, curve[:, -1] - middle

    def picked_best(self, policy: str, *, by: str = "most served") -> np.ndarray:
        """Whether ``policy``'s pick at the end is the best model, per run (one segment only).

        ``by="most served"`` picks the model that served the most users (what a bandit has
        shifted its users to); ``by="best rate"`` the model with the highest observed
        conversion rate (how an A/B test names its winner). Ties count as a miss when a tied
        model is not among the best.
        """
        owner = "BanditRuns.picked_best"
        policy = check_choice("policy", policy, self.policies, owner=owner)
        by = check_choice("by", by, ("most served", "best rate"), owner=owner)
        if self.rates.shape[0] != 1:
            raise ParameterError(
                f"{owner}: the best model is defined for one segment; got {self.rates.shape[0]}"
            )
        i = self.policies.index(policy)
        served = self.served[i]
        if by == "most served":
            score = served
        else:
            score = np.divide(self.converted[i], served, out=np.full(served.shape, -1.0),
                              where=served > 0)  # fmt: skip
        best = self.rates[0] == self.rates[0].max()
        top = score == score.max(axis=1, keepdims=True)
        return ~(top & ~best).any(axis=1)

    def to_frame(self) -> pd.DataFrame:
        """Per policy: final regret (mean and 90% interval over runs), the halves, best share."""
        rows = []
        for i, name in enumerate(self.policies):
            final = self.regret[i, :, -1]
            first, second = self.halves(name)
            ci = mean_interval(final) if len(final) >= 2 else None
            rows.append(
                {
                    "policy": name,
                    "regret": final.mean(),
                    "regret, 90% low": ci.low if ci else np.nan,
                    "regret, 90% high": ci.high if ci else np.nan,
                    "first half": first.mean(),
                    "second half": second.mean(),
                    "best model served": self.best_share[i].mean(),
                }
            )
        return pd.DataFrame(rows).set_index("policy")


def _choose(
    policy: str,
    counts: np.ndarray,
    sums: np.ndarray,
    step: int,
    rng: np.random.Generator,
    epsilon: float,
) -> np.ndarray:
    """The arm each run serves next, from its history: ``counts`` and ``sums`` are (runs, arms)."""
    n_runs, n_arms = counts.shape
    if policy == "a/b split":
        return rng.integers(0, n_arms, n_runs)
    if policy == "thompson":
        return np.argmax(rng.beta(1 + sums, 1 + counts - sums), axis=1)
    if policy == "epsilon-greedy":
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        explore = rng.random(n_runs) < epsilon
        return np.where(explore, rng.integers(0, n_arms, n_runs), np.argmax(means, axis=1))
    if policy == "ucb1":
        if step < n_arms:  # burn-in: one user per model, in order
            return np.full(n_runs, step)
        bound = sums / counts + np.sqrt(2 * np.log(step) / counts)
        return np.argmax(bound, axis=1)
    # linucb: counts and sums are those of the user's segment
    return np.argmax(sums / (1 + counts) + np.sqrt(1 + 1 / (1 + counts)), axis=1)


def simulate_bandits(
    rates: Any,
    *,
    policies: Sequence[str] = BANDIT_POLICIES,
    n_steps: int = 2000,
    n_runs: int = 100,
    epsilon: float = 0.1,
    seed: Seed = 0,
) -> BanditRuns:
    """Serve ``n_steps`` users with each policy, in ``n_runs`` independent experiments.

    Parameters
    ----------
    rates : array-like of float
        Conversion rates in ``[0, 1]``: ``(n_arms,)``, or ``(n_segments, n_arms)`` when the best
        model depends on the user's segment (users are drawn from the segments uniformly).
        At least two arms.
    policies : sequence of str, default all of ``BANDIT_POLICIES``
        Among ``"a/b split"``, ``"epsilon-greedy"``, ``"ucb1"``, ``"thompson"``, ``"linucb"``
        (the only one that sees the segment).
    n_steps : int, default 2000
        Users per experiment, served one after another; at least 1.
    n_runs : int, default 100
        Independent experiments, simulated at once; at least 1.
    epsilon : float, default 0.1
        Exploration probability of ``"epsilon-greedy"``, in ``[0, 1]``.
    seed : int or numpy.random.Generator, default 0
        Randomness of the users, their conversions and the policies.

    Returns
    -------
    BanditRuns

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``rates`` is not 1-D or 2-D, has fewer than two arms or a value outside
        ``[0, 1]``, a policy is unknown or repeated, or a number is out of range.

    Examples
    --------
    >>> runs = simulate_bandits([0.5, 0.5], policies=("ucb1",), n_steps=100, n_runs=3)
    >>> float(runs.final("ucb1").max())  # equal rates: nothing to lose
    0.0
    >>> simulate_bandits([0.1, 0.2], policies=("ucb",))
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: simulate_bandits: policy='ucb' is not allowed: choose one of \
'a/b split', 'epsilon-greedy', 'ucb1', 'thompson', 'linucb'
    """
    owner = "simulate_bandits"
    table = check_array("rates", rates, dtype=float, owner=owner)
    if table.ndim == 1:
        table = table[None, :]
    if table.ndim != 2 or table.shape[1] < 2:
        raise ParameterError(
            f"{owner}: rates must be (n_arms,) or (n_segments, n_arms) with at least 2 arms;"
            f" got shape {np.shape(rates)}"
        )
    if not (np.isfinite(table).all() and (table >= 0).all() and (table <= 1).all()):
        raise ParameterError(f"{owner}: rates must lie in [0, 1]; got {table.tolist()!r}")
    if isinstance(policies, str):
        policies = (policies,)
    names = tuple(check_choice("policy", p, BANDIT_POLICIES, owner=owner) for p in policies)
    if not names or len(set(names)) != len(names):
        raise ParameterError(f"{owner}: policies must be distinct and at least one; got {names}")
    n_steps = check_int("n_steps", n_steps, min=1, owner=owner)
    n_runs = check_int("n_runs", n_runs, min=1, owner=owner)
    epsilon = check_float("epsilon", epsilon, min=0, max=1, owner=owner)
    rng = make_rng(seed, owner=owner)

    n_segments, n_arms = table.shape
    segments = rng.integers(0, n_segments, (n_runs, n_steps))
    best = table.max(axis=1)
    runs = np.arange(n_runs)
    regret = np.empty((len(names), n_runs, n_steps))
    best_share = np.empty((len(names), n_runs))
    served_by_arm = np.empty((len(names), n_runs, n_arms))
    converted_by_arm = np.empty((len(names), n_runs, n_arms))
    coin_seed = int(rng.integers(2**63))
    for i, name in enumerate(names):
        coins = np.random.default_rng(coin_seed)  # the same coin flips for every policy
        policy_rng = np.random.default_rng(rng.integers(2**63))
        counts = np.zeros((n_runs, n_segments, n_arms))
        sums = np.zeros((n_runs, n_segments, n_arms))
        lost = np.empty((n_runs, n_steps))
        hits = np.zeros(n_runs)
        for t in range(n_steps):
            seg = segments[:, t]
            if name == "linucb":
                arm = _choose(name, counts[runs, seg], sums[runs, seg], t, policy_rng, epsilon)
            else:
                arm = _choose(name, counts.sum(1), sums.sum(1), t, policy_rng, epsilon)
            rate = table[seg, arm]
            converted = coins.random((n_runs, n_arms))[runs, arm] < rate
            counts[runs, seg, arm] += 1
            sums[runs, seg, arm] += converted
            lost[:, t] = best[seg] - rate
            hits += rate == best[seg]
        regret[i] = np.cumsum(lost, axis=1)
        best_share[i] = hits / n_steps
        served_by_arm[i], converted_by_arm[i] = counts.sum(axis=1), sums.sum(axis=1)
    return BanditRuns(names, regret, best_share, table, served_by_arm, converted_by_arm)
