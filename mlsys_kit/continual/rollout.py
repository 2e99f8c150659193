"""Canary releases with an automatic rollback guard, simulated many times at once.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 9, "Test in
Production": "Shadow Deployment" and "Canary Release".

A **canary release** routes a share ``p`` of the traffic to a new model (the canary) and the
rest to the current one (the champion). A **guard** compares a guard metric of the two, here
the rate of bad predictions, after every interval, and rolls the canary back as soon as it is
significantly worse. :func:`simulate_canaries` runs many such releases at once, as arrays, for
several shares ``p``: each request goes to the canary with probability ``p`` (random
routing), each prediction is bad with its model's rate, and the guard runs statsmodels'
one-sided two-proportion score test
(:func:`statsmodels.stats.proportion.test_proportions_2indep`) on the counts so far. Looking
after every interval is looking many times, so each look uses ``alpha / n_intervals``
(Bonferroni): the chance that a canary as good as the champion is ever rolled back stays at
most about ``alpha``. The score test is a normal approximation, too eager on a handful of
requests (one bad prediction in the canary's first twenty looks alarming): the guard waits
until the canary's bad predictions expected at the pooled rate reach ``min_expected_bad``
(5, the textbook rule for the approximation).

The test is statsmodels'; the routing and the sequential loop are hand-written because they
*are* the lesson: how the share ``p`` trades the time to catch a bad canary against the
users it reaches (its bad predictions served) and the false rollbacks of good ones.

Examples
--------
>>> runs = simulate_canaries(0.02, 0.04, shares=[0.05, 0.2], requests_per_interval=2000,
...                          n_intervals=24, n_canaries=200, seed=0)
>>> frame = runs.to_frame()
>>> bool(frame.loc[0.2, "hours live"] < frame.loc[0.05, "hours live"])
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
    check_float,
    check_int,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = ["CanaryRuns", "simulate_canaries"]


@dataclass(frozen=True)
class CanaryRuns(Report):
    """Simulated canary releases, one row per share and one column per canary.

    Attributes
    ----------
    shares : tuple of float
        The canary's share of the traffic, one per row of the arrays.
    rollback_interval : numpy.ndarray
        Shape ``(len(shares), n_canaries)``: the interval (1-based) after which the guard
        rolled the canary back, NaN when it never did within the horizon.
    canary_requests : numpy.ndarray
        Requests the canary served until its rollback (the horizon when never rolled back).
    canary_bad : numpy.ndarray
        Bad predictions the canary served in that time.
    excess_bad : numpy.ndarray
        ``canary_bad`` minus what the champion would have got wrong on the same requests
        (expected): the harm the canary did, negative for a canary better than the champion.
    n_intervals : int
        The horizon, in intervals.
    """

    shares: tuple[float, ...]
    rollback_interval: np.ndarray
    canary_requests: np.ndarray
    canary_bad: np.ndarray
    excess_bad: np.ndarray
    n_intervals: int

    @property
    def intervals_live(self) -> np.ndarray:
        """Intervals each canary served: until its rollback, or the whole horizon."""
        return np.nan_to_num(self.rollback_interval, nan=float(self.n_intervals))

    @property
    def rolled_back(self) -> np.ndarray:
        """Whether each canary was rolled back within the horizon (bool array)."""
        return np.isfinite(self.rollback_interval)

    def to_frame(self) -> pd.DataFrame:
        """Per share: rollback rate, mean intervals lived, requests and harm served.

        ``hours live`` is the mean number of intervals a canary served, the horizon for one
        never rolled back (so a share that rarely catches a bad canary does not look fast).
        """
        return pd.DataFrame(
            {
                "rolled back": self.rolled_back.mean(axis=1),
                "hours live": self.intervals_live.mean(axis=1),
                "canary requests": self.canary_requests.mean(axis=1),
                "bad served": self.canary_bad.mean(axis=1),
                "excess bad served": self.excess_bad.mean(axis=1),
            },
            index=pd.Index(self.shares, name="share"),
        )


def simulate_canaries(
    champion_rate: float,
    canary_rate: float,
    *,
    shares: Sequence[float],
    requests_per_interval: Any,
    n_intervals: int,
    n_canaries: int = 1000,
    alpha: float = 0.05,
    min_expected_bad: float = 5.0,
    seed: Seed = 0,
) -> CanaryRuns:
    """Simulate canary releases guarded by a sequential one-sided two-proportion test.

    For every share ``p`` and every canary, each interval's requests are routed to the canary
    with probability ``p``; each model's predictions are bad with its rate. After each
    interval the guard tests, on the counts so far, whether the canary's bad-prediction rate
    is larger than the champion's (statsmodels' score test, one-sided) at level
    ``alpha / n_intervals``; the first rejection rolls the canary back, and it serves no more.

    Parameters
    ----------
    champion_rate, canary_rate : float
        Probability that a prediction of the champion, of the canary, is bad; in ``[0, 1]``.
    shares : sequence of float
        Canary traffic shares to simulate, each in ``(0, 1)``.
    requests_per_interval : int or array-like of int
        Requests per interval, one number or one per interval (e.g. a daily cycle); ≥ 0.
    n_intervals : int
        Horizon, in intervals (≥ 1); an array ``requests_per_interval`` must have this length.
    n_canaries : int, default 1000
        Simulated releases per share (≥ 1).
    alpha : float, default 0.05
        Family-wise false-rollback level of the guard over the horizon, in ``(0, 1)``.
    min_expected_bad : float, default 5.0
        The guard tests only once the canary's bad predictions expected at the pooled rate
        (both models' bad predictions over both models' requests) reach this number (≥ 0;
        0 tests from the first request on).
    seed : int or numpy.random.Generator, default 0
        Randomness of the routing and of the predictions.

    Returns
    -------
    CanaryRuns
        Per share and canary: when it was rolled back, the requests and bad predictions it
        served until then, and the harm (bad predictions beyond the champion's rate).

    Raises
    ------
    mlsys_kit.params.ParameterError
        A rate out of ``[0, 1]``, a share out of ``(0, 1)`` or no share, a negative request
        count or one of the wrong length, ``n_intervals`` or ``n_canaries`` below 1, or
        ``alpha`` out of ``(0, 1)``.

    Examples
    --------
    A canary as good as the champion is rarely rolled back:

    >>> runs = simulate_canaries(0.03, 0.03, shares=[0.1], requests_per_interval=1000,
    ...                          n_intervals=48, n_canaries=500, seed=1)
    >>> float(runs.rolled_back.mean()) < 0.05
    True
    """
    from statsmodels.stats.proportion import test_proportions_2indep

    owner = "simulate_canaries"
    champion_rate = check_float("champion_rate", champion_rate, min=0, max=1, owner=owner)
    canary_rate = check_float("canary_rate", canary_rate, min=0, max=1, owner=owner)
    n_intervals = check_int("n_intervals", n_intervals, min=1, owner=owner)
    n_canaries = check_int("n_canaries", n_canaries, min=1, owner=owner)
    alpha = check_float("alpha", alpha, min=0, max=1, open_min=True, open_max=True, owner=owner)
    min_expected_bad = check_float("min_expected_bad", min_expected_bad, min=0, owner=owner)
    share = check_array("shares", shares, ndim=1, min_length=1, dtype=float, owner=owner)
    if not ((share > 0) & (share < 1)).all():
        raise ParameterError(f"{owner}: every share must be in (0, 1); got {share.tolist()!r}")
    traffic = np.asarray(requests_per_interval)
    if traffic.ndim == 0:
        traffic = np.full(n_intervals, traffic)
    traffic = check_array("requests_per_interval", traffic, ndim=1, dtype=float, owner=owner)
    if len(traffic) != n_intervals or not (
        np.isfinite(traffic).all() and (traffic >= 0).all() and (traffic == np.round(traffic)).all()
    ):
        raise ParameterError(
            f"{owner}: requests_per_interval must be one whole number ≥ 0 or {n_intervals}"
            f" of them (n_intervals); got {np.asarray(requests_per_interval).tolist()!r}"
        )
    rng = make_rng(seed, owner=owner)

    shape = (len(share), n_canaries, n_intervals)
    to_canary = rng.binomial(traffic.astype(np.int64), share[:, None, None], size=shape)
    to_champion = traffic.astype(np.int64) - to_canary
    bad_canary = rng.binomial(to_canary, canary_rate)
    bad_champion = rng.binomial(to_champion, champion_rate)
    n1, c1 = to_canary.cumsum(axis=2), bad_canary.cumsum(axis=2)
    n2, c2 = to_champion.cumsum(axis=2), bad_champion.cumsum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (c1 + c2) / np.maximum(n1 + n2, 1)
    testable = (n1 > 0) & (n2 > 0) & (n1 * pooled >= min_expected_bad)
    with np.errstate(divide="ignore", invalid="ignore"):
        pvalue = test_proportions_2indep(
            c1, np.maximum(n1, 1), c2, np.maximum(n2, 1), alternative="larger", method="score"
        ).pvalue
    alarm = testable & (np.nan_to_num(pvalue, nan=1.0) < alpha / n_intervals)
    caught = alarm.any(axis=2)
    first = np.where(caught, alarm.argmax(axis=2), n_intervals - 1)
    take = first[..., None]
    served = np.take_along_axis(n1, take, axis=2)[..., 0]
    bad = np.take_along_axis(c1, take, axis=2)[..., 0]
    return CanaryRuns(
        shares=tuple(float(s) for s in share),
        rollback_interval=np.where(caught, first + 1.0, np.nan),
        canary_requests=served,
        canary_bad=bad,
        excess_bad=bad - served * champion_rate,
        n_intervals=n_intervals,
    )
