"""A/B tests, the peeking problem, and team-draft interleaving, simulated many times at once.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 9, "Test in
Production": "A/B Testing" and "Interleaving Experiments".

**A/B tests.** Users are split at random between model A (the current one) and model B, and
their conversion rates are compared by a two-proportion test: statsmodels' score test
(:func:`statsmodels.stats.proportion.test_proportions_2indep`), the same test the canary guard
of :mod:`mlsys_kit.continual.rollout` runs. How many users the test needs to detect a given
effect with a given power comes from statsmodels' power analysis
(:class:`statsmodels.stats.power.NormalIndPower` on Cohen's ``h``,
:func:`statsmodels.stats.proportion.proportion_effectsize`): :func:`ab_sample_size`.

**Peeking.** :func:`simulate_ab_tests` runs many experiments at once, as arrays, and tests each
one after every one of ``n_looks`` equally spaced looks. :class:`ABTestRuns` then applies a
stopping rule to the same experiments (:data:`STOPPING_RULES`): the ``"fixed horizon"`` tests
once, at the end; ``"peeking"`` stops at the first look with ``p < alpha`` (the mistake);
``"bonferroni"`` stops at the first look with ``p < alpha / n_looks``; ``"o'brien-fleming"``
stops at the first look whose score statistic crosses O'Brien–Fleming's group-sequential
boundary (:func:`obrien_fleming_bounds`): wide at the first looks, close to the fixed-horizon
one at the last, so that the chance of ever crossing it under no effect is ``alpha``. No
maintained library on the kit's stack computes group-sequential boundaries (statsmodels has
none), so the boundary is calibrated here by the Armitage–McPherson–Rowe recursion (numerical
integration of the random walk of the cumulative statistic), checked in the unit tests against
:func:`scipy.stats.multivariate_normal`'s probability of the same box, which is exact but
takes seconds at twenty looks.

**Interleaving.** Two rankers order the results of a query. An A/B test shows each user one
ranker's list and compares a per-user metric between the two groups of users: the share of
users who click anything (the least sensitive metric under a cascade click model), or the
reciprocal rank of the first click (1 / its position, 0 without a click: it also sees *where*
users click). An
interleaving experiment shows every user one list that mixes both rankers' results and credits
each click to the ranker that contributed the clicked result. :func:`team_draft` is
team-draft interleaving (Radlinski, Kurup and Joachims, 2008): like captains picking teams,
the rankers take turns, a coin deciding who picks first in each round, each picking its
highest-ranked result not yet in the list. It is hand-written because it is the lesson, and
because no maintained library on the kit's stack implements it.
:func:`simulate_ranker_tests` measures the users each test needs to detect a better ranker.
Users follow the *cascade* click model (Craswell et al., 2008): a user reads the list from the
top, clicks a result with its attractiveness and then stops, and after a result not clicked
reads on with probability ``patience``. A user's query is drawn uniformly, and team-draft's
coins are fair, so every user of a test is an independent draw with the same probabilities
(of a first click at each position, under A or under B; of crediting A or B in an
interleaved list): the
function computes those probabilities exactly, over every query and every sequence of coins,
and draws users' outcomes as binomial and multinomial counts (the counts of first clicks per
position give the reciprocal ranks' mean and variance, for Welch's test,
:func:`scipy.stats.ttest_ind_from_stats`). ``tests/unit/test_experiments.py``
checks the probabilities against users simulated one by one, click by click.

Examples
--------
>>> n = ab_sample_size(0.10, 0.12, alpha=0.05, power=0.8)
>>> n
3835
>>> runs = simulate_ab_tests(0.10, 0.12, users_per_group=n, n_experiments=2000, seed=0)
>>> bool(abs(runs.rejected("fixed horizon").mean() - 0.8) < 0.03)
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
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

__all__ = [
    "STOPPING_RULES",
    "ab_sample_size",
    "obrien_fleming_bounds",
    "ABTestRuns",
    "simulate_ab_tests",
    "TeamDraft",
    "team_draft",
    "RankerTestRuns",
    "simulate_ranker_tests",
]

#: How an experimenter may decide, look by look (see :class:`ABTestRuns`).
STOPPING_RULES = ("fixed horizon", "peeking", "bonferroni", "o'brien-fleming")

#: The three ways :func:`simulate_ranker_tests` compares rankers.
RANKER_TESTS = ("a/b any click", "a/b reciprocal rank", "interleaving")


#: Bounds of a rate, in [0, 1], and of a level (alpha, power), in (0, 1), for ``check_float``.
_RATE = {"min": 0, "max": 1}
_LEVEL = {"min": 0, "max": 1, "open_min": True, "open_max": True}


def ab_sample_size(rate_a: float, rate_b: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users per group a two-sided A/B test needs to detect ``rate_b`` against ``rate_a``.

    statsmodels' power analysis for two independent samples of equal size
    (:meth:`statsmodels.stats.power.NormalIndPower.solve_power`) on Cohen's effect size ``h``
    of the two conversion rates (:func:`statsmodels.stats.proportion.proportion_effectsize`),
    rounded up.

    Parameters
    ----------
    rate_a, rate_b : float
        Conversion rates of model A and model B, in ``[0, 1]``, different.
    alpha : float, default 0.05
        The test's false-positive rate, in ``(0, 1)``.
    power : float, default 0.8
        The chance of detecting the difference, in ``(0, 1)``.

    Returns
    -------
    int
        Users in each group.

    Raises
    ------
    mlsys_kit.params.ParameterError
        A rate out of ``[0, 1]``, equal rates (no effect to detect), or ``alpha`` or ``power``
        out of ``(0, 1)``.

    Examples
    --------
    Halving the effect about quadruples the users:

    >>> ab_sample_size(0.10, 0.12), ab_sample_size(0.10, 0.11)
    (3835, 14745)
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    owner = "ab_sample_size"
    rate_a = check_float("rate_a", rate_a, **_RATE, owner=owner)
    rate_b = check_float("rate_b", rate_b, **_RATE, owner=owner)
    alpha = check_float("alpha", alpha, **_LEVEL, owner=owner)
    power = check_float("power", power, **_LEVEL, owner=owner)
    effect = abs(float(proportion_effectsize(rate_b, rate_a)))
    if effect == 0:
        raise ParameterError(
            f"{owner}: rate_a and rate_b must differ (no effect to detect); got {rate_a!r} twice"
        )
    n = NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
    )
    return int(math.ceil(float(n) - 1e-9))


def obrien_fleming_bounds(n_looks: int, *, alpha: float = 0.05) -> np.ndarray:
    """O'Brien–Fleming's two-sided boundaries for ``n_looks`` equally spaced looks.

    At look ``k`` of ``K``, an experiment stops when its standardized statistic ``|z_k|``
    reaches ``c * sqrt(K / k)``; ``c`` is set so that, with no effect, the chance of ever
    stopping is ``alpha``. With equal spacing the boundary of the cumulative sum
    ``z_k * sqrt(k)`` is the constant ``c * sqrt(K)``, so the chance of never stopping is that
    of a Gaussian random walk staying in a band: computed by integrating its density step by
    step on a grid (the Armitage–McPherson–Rowe recursion), and ``c`` found by
    :func:`scipy.optimize.brentq`.

    Parameters
    ----------
    n_looks : int
        Looks, equally spaced in users (≥ 1). One look gives the fixed-horizon bound.
    alpha : float, default 0.05
        The chance of ever stopping when there is no effect, in ``(0, 1)``.

    Returns
    -------
    numpy.ndarray
        The ``n_looks`` bounds on ``|z|``, decreasing.

    Raises
    ------
    mlsys_kit.params.ParameterError
        ``n_looks`` below 1 or ``alpha`` out of ``(0, 1)``.

    Examples
    --------
    >>> obrien_fleming_bounds(1).round(3)
    array([1.96])
    >>> obrien_fleming_bounds(5).round(2)
    array([4.56, 3.23, 2.63, 2.28, 2.04])
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    owner = "obrien_fleming_bounds"
    n_looks = check_int("n_looks", n_looks, min=1, owner=owner)
    alpha = check_float("alpha", alpha, **_LEVEL, owner=owner)
    looks = np.arange(1, n_looks + 1)
    if n_looks == 1:
        return np.array([float(norm.ppf(1 - alpha / 2))])

    def excess(c: float) -> float:
        return 1 - _stay_in_band(c * math.sqrt(n_looks), n_looks) - alpha

    c = brentq(excess, float(norm.ppf(1 - alpha / 2)) / 2, 10.0, xtol=1e-6)
    return c * np.sqrt(n_looks / looks)


def _stay_in_band(half_width: float, n_steps: int, n_points: int = 601) -> float:
    """P(|S_k| < half_width for k = 1..n_steps), S a random walk of N(0, 1) steps."""
    grid = np.linspace(-half_width, half_width, n_points)
    h = grid[1] - grid[0]
    weights = np.full(n_points, h)  # trapezoid rule
    weights[[0, -1]] = h / 2
    kernel = np.exp(-0.5 * (grid[:, None] - grid[None, :]) ** 2) / math.sqrt(2 * math.pi)
    density = np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)  # S_1's density
    for _ in range(n_steps - 1):
        density = kernel @ (density * weights)
    return float(density @ weights)


@dataclass(frozen=True)
class ABTestRuns(Report):
    """Simulated A/B experiments, tested after each of ``n_looks`` equally spaced looks.

    Attributes
    ----------
    rate_a, rate_b : float
        The conversion rates simulated (B is the new model).
    users : numpy.ndarray
        Users per group at each look, shape ``(n_looks,)``; the last is the horizon.
    statistic : numpy.ndarray
        ``(n_experiments, n_looks)``: the score test's statistic on the users so far, B minus
        A (positive when B converts more).
    pvalue : numpy.ndarray
        ``(n_experiments, n_looks)``: its two-sided p-value.
    bounds : numpy.ndarray
        O'Brien–Fleming's bound on ``|statistic|`` at each look.
    alpha : float
        The false-positive rate every rule is meant to keep.
    """

    rate_a: float
    rate_b: float
    users: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    bounds: np.ndarray
    alpha: float

    @property
    def n_looks(self) -> int:
        """Looks per experiment."""
        return len(self.users)

    def stop_look(self, rule: str) -> np.ndarray:
        """The look (0-based) at which ``rule`` declares a difference; -1 when it never does.

        ``rule`` is one of :data:`STOPPING_RULES`.
        """
        rule = check_choice("rule", rule, STOPPING_RULES, owner="ABTestRuns.stop_look")
        if rule == "fixed horizon":
            alarm = np.zeros_like(self.pvalue, dtype=bool)
            alarm[:, -1] = self.pvalue[:, -1] < self.alpha
        elif rule == "peeking":
            alarm = self.pvalue < self.alpha
        elif rule == "bonferroni":
            alarm = self.pvalue < self.alpha / self.n_looks
        else:
            alarm = np.abs(self.statistic) >= self.bounds
        return np.where(alarm.any(axis=1), alarm.argmax(axis=1), -1)

    def rejected(self, rule: str) -> np.ndarray:
        """Whether ``rule`` declares a difference within the horizon, per experiment."""
        return self.stop_look(rule) >= 0

    def users_spent(self, rule: str) -> np.ndarray:
        """Users per group each experiment ran for under ``rule`` (the horizon if never stopped)."""
        look = self.stop_look(rule)
        return self.users[np.where(look >= 0, look, self.n_looks - 1)]

    def rejected_by_look(self, rule: str) -> np.ndarray:
        """Share of the experiments ``rule`` has stopped by each look, shape ``(n_looks,)``."""
        look = self.stop_look(rule)
        counts = np.bincount(look[look >= 0], minlength=self.n_looks)
        return np.cumsum(counts) / len(look)

    def to_frame(self) -> pd.DataFrame:
        """Per stopping rule: the share of experiments that declared a difference, users spent."""
        return pd.DataFrame(
            {
                "declared a difference": [self.rejected(r).mean() for r in STOPPING_RULES],
                "users per group (mean)": [self.users_spent(r).mean() for r in STOPPING_RULES],
            },
            index=pd.Index(STOPPING_RULES, name="rule"),
        )


def simulate_ab_tests(
    rate_a: float,
    rate_b: float,
    *,
    users_per_group: int,
    n_looks: int = 1,
    n_experiments: int = 1000,
    alpha: float = 0.05,
    seed: Seed = 0,
) -> ABTestRuns:
    """Simulate A/B experiments and test each one after every one of ``n_looks`` looks.

    Each experiment gives ``users_per_group`` users to each model; look ``k`` sees the first
    ``round(k * users_per_group / n_looks)`` users of each group. Every user converts with its
    model's rate (drawn as binomial counts per look). At every look statsmodels' two-sided
    score test (:func:`statsmodels.stats.proportion.test_proportions_2indep`) compares B with
    A on the users so far; :class:`ABTestRuns` applies the stopping rules.

    Parameters
    ----------
    rate_a, rate_b : float
        Conversion rates of A and B, in ``[0, 1]``; equal rates simulate A/A tests.
    users_per_group : int
        Users of each model at the horizon (≥ ``n_looks``).
    n_looks : int, default 1
        Equally spaced looks (≥ 1).
    n_experiments : int, default 1000
        Experiments simulated (≥ 1).
    alpha : float, default 0.05
        The false-positive rate the stopping rules are meant to keep, in ``(0, 1)``.
    seed : int or numpy.random.Generator, default 0
        Randomness of the conversions.

    Returns
    -------
    ABTestRuns

    Raises
    ------
    mlsys_kit.params.ParameterError
        A rate out of ``[0, 1]``, ``n_looks`` or ``n_experiments`` below 1,
        ``users_per_group`` below ``n_looks``, or ``alpha`` out of ``(0, 1)``.

    Examples
    --------
    Peeking at A/A tests twenty times finds a "difference" far more often than ``alpha``:

    >>> runs = simulate_ab_tests(0.1, 0.1, users_per_group=4000, n_looks=20,
    ...                          n_experiments=2000, seed=0)
    >>> bool(runs.rejected("peeking").mean() > 0.15)
    True
    >>> bool(runs.rejected("o'brien-fleming").mean() < 0.07)
    True
    """
    from statsmodels.stats.proportion import test_proportions_2indep

    owner = "simulate_ab_tests"
    rate_a = check_float("rate_a", rate_a, **_RATE, owner=owner)
    rate_b = check_float("rate_b", rate_b, **_RATE, owner=owner)
    n_looks = check_int("n_looks", n_looks, min=1, owner=owner)
    users_per_group = check_int("users_per_group", users_per_group, min=n_looks, owner=owner)
    n_experiments = check_int("n_experiments", n_experiments, min=1, owner=owner)
    alpha = check_float("alpha", alpha, **_LEVEL, owner=owner)
    rng = make_rng(seed, owner=owner)

    users = np.round(np.arange(1, n_looks + 1) * users_per_group / n_looks).astype(np.int64)
    new = np.diff(users, prepend=0)
    shape = (n_experiments, n_looks)
    conv_a = rng.binomial(new, rate_a, size=shape).cumsum(axis=1)
    conv_b = rng.binomial(new, rate_b, size=shape).cumsum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        test = test_proportions_2indep(conv_b, users, conv_a, users, method="score")
    return ABTestRuns(
        rate_a=rate_a,
        rate_b=rate_b,
        users=users,
        statistic=np.nan_to_num(np.asarray(test.statistic, dtype=float), nan=0.0),
        pvalue=np.nan_to_num(np.asarray(test.pvalue, dtype=float), nan=1.0),
        bounds=obrien_fleming_bounds(n_looks, alpha=alpha),
        alpha=alpha,
    )


@dataclass(frozen=True)
class TeamDraft:
    """An interleaved list: its results and, for each, the ranker whose team picked it.

    Attributes
    ----------
    items : tuple
        The results shown, top first.
    teams : tuple of str
        ``"a"`` or ``"b"`` for each result: the ranker credited with a click on it.
    """

    items: tuple[Any, ...]
    teams: tuple[str, ...]

    def credit(self, clicked: Any) -> tuple[int, int]:
        """Clicks credited to ranker A and to ranker B, for a bool per shown result."""
        mask = check_array("clicked", clicked, ndim=1, dtype=bool, owner="TeamDraft.credit")
        if len(mask) != len(self.items):
            raise ParameterError(
                f"TeamDraft.credit: clicked must have one value per shown result"
                f" ({len(self.items)}); got {len(mask)}"
            )
        on_b = np.array([team == "b" for team in self.teams], dtype=bool)
        return int((mask & ~on_b).sum()), int((mask & on_b).sum())


def team_draft(
    ranking_a: Sequence[Any],
    ranking_b: Sequence[Any],
    *,
    length: int | None = None,
    seed: Seed = 0,
) -> TeamDraft:
    """Team-draft interleaving of two rankings (Radlinski, Kurup and Joachims, 2008).

    Round after round, a fair coin says which ranker picks first; each ranker then adds its
    highest-ranked result not yet in the list to the list and to its team. The list ends at
    ``length`` results, or when a ranker has no result left to add.

    Parameters
    ----------
    ranking_a, ranking_b : sequence
        Each ranker's results, best first, without repeats (any hashable ids).
    length : int, optional
        Results to show (≥ 1); by default, as many as the rankings allow.
    seed : int or numpy.random.Generator, default 0
        The coins.

    Returns
    -------
    TeamDraft

    Raises
    ------
    mlsys_kit.params.ParameterError
        An empty ranking, a ranking with a repeated result, or ``length`` below 1.

    Examples
    --------
    >>> draft = team_draft(["x", "y", "z"], ["y", "z", "x"], seed=1)
    >>> draft.items, draft.teams
    (('y', 'x', 'z'), ('b', 'a', 'b'))
    >>> draft.credit([False, True, False])  # a click on "x", which A picked
    (1, 0)
    """
    owner = "team_draft"
    a, b = _ranking("ranking_a", ranking_a, owner), _ranking("ranking_b", ranking_b, owner)
    if length is not None:
        length = check_int("length", length, min=1, owner=owner)
    rng = make_rng(seed, owner=owner)
    coins = iter(lambda: bool(rng.random() < 0.5), None)
    return _draft(a, b, length or len(a) + len(b), coins)


def _ranking(name: str, ranking: Sequence[Any], owner: str) -> list[Any]:
    items = list(check_array(name, ranking, ndim=1, min_length=1, dtype=object, owner=owner))
    if len(set(items)) != len(items):
        raise ParameterError(f"{owner}: {name} must not repeat a result; got {items!r}")
    return items


def _draft(a: Sequence[Any], b: Sequence[Any], length: int, coins: Iterator[bool]) -> TeamDraft:
    """Team-draft interleaving with the coins given (True: A picks first in the round)."""
    items: list[Any] = []
    teams: list[str] = []
    shown: set[Any] = set()
    picks = {"a": 0, "b": 0}
    next_of = {"a": 0, "b": 0}
    ranking = {"a": a, "b": b}
    while len(items) < length:
        for team in ("a", "b"):
            while next_of[team] < len(ranking[team]) and ranking[team][next_of[team]] in shown:
                next_of[team] += 1
        if next_of["a"] >= len(a) or next_of["b"] >= len(b):
            break
        if picks["a"] != picks["b"]:
            team = "a" if picks["a"] < picks["b"] else "b"
        else:
            team = "a" if next(coins) else "b"
        item = ranking[team][next_of[team]]
        items.append(item)
        teams.append(team)
        shown.add(item)
        picks[team] += 1
    return TeamDraft(items=tuple(items), teams=tuple(teams))


@dataclass(frozen=True)
class RankerTestRuns(Report):
    """How often an A/B test and an interleaving experiment detect the better ranker B.

    Attributes
    ----------
    users : numpy.ndarray
        Users in the test (both groups of an A/B test together), increasing.
    detected : dict
        For each of :data:`RANKER_TESTS`: ``(n_experiments, len(users))`` bools, whether the
        experiment's test declared B better with that many users.
    click_rate_a, click_rate_b : float
        The share of users who click something in A's list, in B's list (the any-click metric).
    reciprocal_rank_a, reciprocal_rank_b : float
        The mean reciprocal rank of the first click (0 without one) in A's list, in B's.
    credit_a, credit_b : float
        The share of users of an interleaved list whose click is credited to A, to B (a user
        clicks at most once; the rest click nothing, a tie).
    alpha : float
        Each test's false-positive rate (two-sided).
    """

    users: np.ndarray
    detected: dict[str, np.ndarray]
    click_rate_a: float
    click_rate_b: float
    reciprocal_rank_a: float
    reciprocal_rank_b: float
    credit_a: float
    credit_b: float
    alpha: float

    def power(self, test: str) -> np.ndarray:
        """Share of experiments in which ``test`` detected B, at each number of users."""
        test = check_choice("test", test, RANKER_TESTS, owner="RankerTestRuns.power")
        return self.detected[test].mean(axis=0)

    def users_needed(self, test: str, *, power: float = 0.8) -> float:
        """Users at which ``test`` first reaches ``power`` (interpolated on log users).

        NaN when it never does within ``users``.
        """
        owner = "RankerTestRuns.users_needed"
        test = check_choice("test", test, RANKER_TESTS, owner=owner)
        power = check_float("power", power, **_LEVEL, owner=owner)
        curve = self.power(test)
        above = np.flatnonzero(curve >= power)
        if len(above) == 0:
            return float("nan")
        i = int(above[0])
        if i == 0:
            return float(self.users[0])
        x0, x1 = np.log(self.users[i - 1]), np.log(self.users[i])
        y0, y1 = curve[i - 1], curve[i]
        return float(np.exp(x0 + (power - y0) / (y1 - y0) * (x1 - x0)))

    def to_frame(self) -> pd.DataFrame:
        """Power of each test (columns) against the users in the test (index)."""
        return pd.DataFrame(
            {f"{test} power": self.power(test) for test in RANKER_TESTS},
            index=pd.Index(self.users, name="users"),
        )


def simulate_ranker_tests(
    attractiveness: Any,
    ranking_a: Any,
    ranking_b: Any,
    *,
    users: Sequence[int],
    length: int = 10,
    patience: float = 0.9,
    n_experiments: int = 500,
    alpha: float = 0.05,
    seed: Seed = 0,
) -> RankerTestRuns:
    """Simulate A/B tests and team-draft interleaving experiments between two rankers.

    Each user issues a query drawn uniformly and reads a list of ``length`` results under the
    cascade click model: from the top, clicking a result with its attractiveness and then
    stopping, reading on after a result not clicked with probability ``patience``.

    * **A/B test** with ``n`` users: ``n // 2`` see A's list and ``n // 2`` B's. Two per-user
      metrics, each with its own test: ``"a/b any click"``, statsmodels' two-sided score test
      on the shares of users who click
      (:func:`statsmodels.stats.proportion.test_proportions_2indep`); ``"a/b reciprocal
      rank"``, Welch's two-sided t-test (:func:`scipy.stats.ttest_ind_from_stats`) on the
      reciprocal rank of the user's first click (1 / position, 0 without a click), which also
      rewards a ranker for clicks higher in the list. B is detected when ``p < alpha`` with B
      ahead. Both metrics are read on the same users.
    * **Interleaving** with ``n`` users: every user sees a team-draft interleaving of both
      lists (:func:`team_draft`, fresh coins per user), and a click counts for the team that
      picked the result. B is detected when the exact two-sided sign test on the users who
      clicked rejects a 50/50 split (``p < alpha``) with B ahead (statsmodels'
      :func:`~statsmodels.stats.proportion.binom_test`, one-sided at ``alpha / 2``).

    The experiments of one call grow user by user: the users of the smaller sizes are the
    first users of the larger ones.

    Parameters
    ----------
    attractiveness : array-like of float, shape (n_queries, n_items)
        Chance that a user who reads result ``i`` of query ``q`` clicks it, in ``[0, 1]``.
    ranking_a, ranking_b : array-like of int, shape (n_queries, n_items)
        Each ranker's order of the results of each query (item indices, best first; each row
        a permutation of ``0 .. n_items - 1``).
    users : sequence of int
        Numbers of users in a test, increasing, each ≥ 2.
    length : int, default 10
        Results shown per list (1 ≤ length ≤ n_items).
    patience : float, default 0.9
        Chance that a user reads on after a result not clicked, in ``[0, 1]``.
    n_experiments : int, default 500
        Experiments simulated for each test and number of users (≥ 1).
    alpha : float, default 0.05
        Each test's two-sided false-positive rate, in ``(0, 1)``.
    seed : int or numpy.random.Generator, default 0
        Randomness of the users' outcomes.

    Returns
    -------
    RankerTestRuns

    Raises
    ------
    mlsys_kit.params.ParameterError
        Arrays of different shapes, attractiveness out of ``[0, 1]``, a ranking row that is not
        a permutation, ``length`` out of ``[1, n_items]``, ``users`` not increasing or below 2,
        ``patience`` out of ``[0, 1]``, ``n_experiments`` below 1, ``alpha`` out of ``(0, 1)``.

    Examples
    --------
    >>> attract = np.array([[0.6, 0.3, 0.1]])
    >>> best, worst = np.array([[0, 1, 2]]), np.array([[2, 1, 0]])
    >>> runs = simulate_ranker_tests(attract, worst, best, users=[100, 400], length=3,
    ...                              n_experiments=200, seed=0)
    >>> runs.power("interleaving") > runs.power("a/b any click")
    array([ True,  True])
    """
    from scipy.stats import ttest_ind_from_stats
    from statsmodels.stats.proportion import binom_test, test_proportions_2indep

    owner = "simulate_ranker_tests"
    attract = check_array("attractiveness", attractiveness, ndim=2, min_length=1, dtype=float,
                          finite=True, owner=owner)  # fmt: skip
    if not ((attract >= 0) & (attract <= 1)).all():
        raise ParameterError(f"{owner}: attractiveness must be in [0, 1]")
    n_queries, n_items = attract.shape
    rankings = [
        _permutations(name, r, attract.shape, owner)
        for name, r in (("ranking_a", ranking_a), ("ranking_b", ranking_b))
    ]
    length = check_int("length", length, min=1, max=n_items, owner=owner)
    patience = check_float("patience", patience, **_RATE, owner=owner)
    n_experiments = check_int("n_experiments", n_experiments, min=1, owner=owner)
    alpha = check_float("alpha", alpha, **_LEVEL, owner=owner)
    sizes = check_array("users", users, ndim=1, min_length=1, owner=owner)
    if not (
        np.issubdtype(sizes.dtype, np.integer) and (sizes >= 2).all() and (np.diff(sizes) > 0).all()
    ):
        raise ParameterError(
            f"{owner}: users must be increasing whole numbers ≥ 2; got {sizes.tolist()!r}"
        )
    rng = make_rng(seed, owner=owner)

    clicks = [_first_click(np.take_along_axis(attract, r[:, :length], axis=1), patience)
              for r in rankings]  # fmt: skip
    position = [c.mean(axis=0) for c in clicks]  # chance of a first click at each position
    rate_a, rate_b = (float(p.sum()) for p in position)
    rr = 1 / np.arange(1, length + 1)
    rr_a, rr_b = (float(p @ rr) for p in position)
    credit_a, credit_b = _interleaved_credit(attract, *rankings, length, patience)

    shape = (n_experiments, len(sizes))
    half = sizes // 2
    new_half = np.diff(half, prepend=0)
    by_position = []  # per group: first clicks at each position, users so far
    for chances in position:
        chances = np.append(chances, max(0.0, 1 - chances.sum()))  # the last: no click
        drawn = rng.multinomial(new_half[None, :], chances / chances.sum(), size=shape)
        by_position.append(drawn[..., :length].cumsum(axis=1))
    click_a, click_b = (c.sum(axis=-1) for c in by_position)
    with np.errstate(divide="ignore", invalid="ignore"):
        ab = test_proportions_2indep(click_b, half, click_a, half, method="score")
        ab_pvalue = np.nan_to_num(np.asarray(ab.pvalue, dtype=float), nan=1.0)
        ab_detected = (ab_pvalue < alpha) & (click_b > click_a)
        mean_a, mean_b = ((c @ rr) / half for c in by_position)
        sd_a, sd_b = (
            np.sqrt(np.maximum(0.0, ((c @ rr**2) / half - m**2) * half / np.maximum(half - 1, 1)))
            for c, m in zip(by_position, (mean_a, mean_b), strict=True)
        )
        rr_test = ttest_ind_from_stats(mean_b, sd_b, half, mean_a, sd_a, half, equal_var=False)
        rr_pvalue = np.nan_to_num(np.asarray(rr_test.pvalue, dtype=float), nan=1.0)
    rr_detected = (rr_pvalue < alpha) & (mean_b > mean_a)

    new_users = np.diff(sizes, prepend=0)
    outcome = np.array([credit_a, credit_b, max(0.0, 1 - credit_a - credit_b)])
    counts = rng.multinomial(new_users[None, :], outcome / outcome.sum(), size=shape)
    wins_a, wins_b = counts[..., 0].cumsum(axis=1), counts[..., 1].cumsum(axis=1)
    decisive = wins_a + wins_b
    il_pvalue = np.ones(shape)
    some = decisive > 0
    il_pvalue[some] = binom_test(wins_b[some], decisive[some], 0.5, alternative="larger")
    return RankerTestRuns(
        users=sizes.astype(np.int64),
        detected={
            "a/b any click": ab_detected,
            "a/b reciprocal rank": rr_detected,
            "interleaving": il_pvalue < alpha / 2,
        },
        click_rate_a=rate_a,
        click_rate_b=rate_b,
        reciprocal_rank_a=rr_a,
        reciprocal_rank_b=rr_b,
        credit_a=credit_a,
        credit_b=credit_b,
        alpha=alpha,
    )


def _permutations(name: str, ranking: Any, shape: tuple[int, int], owner: str) -> np.ndarray:
    order = check_array(name, ranking, ndim=2, owner=owner)
    if order.shape != shape or not np.issubdtype(order.dtype, np.integer):
        raise ParameterError(
            f"{owner}: {name} must hold item indices of shape {shape} (attractiveness's);"
            f" got {order.dtype} of shape {order.shape}"
        )
    if not (np.sort(order, axis=1) == np.arange(shape[1])).all():
        raise ParameterError(
            f"{owner}: each row of {name} must be a permutation of 0 .. {shape[1] - 1}"
        )
    return order


def _first_click(attract: np.ndarray, patience: float) -> np.ndarray:
    """Chance that the cascade user's one click is on each position (last axis, top first)."""
    skipped = np.ones_like(attract[..., :1])
    reach = np.concatenate([skipped, (1 - attract[..., :-1]) * patience], axis=-1)
    return np.cumprod(reach, axis=-1) * attract


def _interleaved_credit(
    attract: np.ndarray, ranking_a: np.ndarray, ranking_b: np.ndarray, length: int, patience: float
) -> tuple[float, float]:
    """Chance that a user's click on a team-draft list is credited to A, to B.

    Averaged over the queries and over every sequence of coins (equally likely; a round has
    one coin, and a list of ``length`` results at most ``ceil(length / 2)`` rounds).
    """
    sequences = list(itertools.product((True, False), repeat=(length + 1) // 2))
    n_queries = attract.shape[0]
    shown = np.zeros((n_queries, len(sequences), length), dtype=np.int64)
    on_b = np.zeros(shown.shape, dtype=bool)
    for q in range(n_queries):
        a, b = ranking_a[q].tolist(), ranking_b[q].tolist()
        for j, coins in enumerate(sequences):
            draft = _draft(a, b, length, iter(coins))  # rankings of every item: always full
            shown[q, j] = draft.items
            on_b[q, j] = [team == "b" for team in draft.teams]
    seen = np.take_along_axis(attract[:, None, :], shown, axis=2)
    chance = _first_click(seen, patience)
    cells = n_queries * len(sequences)
    return float(chance[~on_b].sum() / cells), float(chance[on_b].sum() / cells)
