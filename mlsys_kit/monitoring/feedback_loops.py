"""Degenerate feedback loops: a recommender that retrains on the clicks it caused.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 8,
"Causes of ML System Failures", its "Degenerate feedback loops" part: detecting them
(aggregate diversity, popularity bias) and correcting them (randomization, positional
features).

A system's predictions decide what users see; what users see decides what they click;
the clicks are the next training set. :func:`simulate_feedback_loop` runs that loop:

1. **Items** have a hidden true *appeal*: the probability that a user clicks the item
   when she examines it, ``appeal = sigmoid(-2 + appeal_spread * z)`` with ``z`` standard
   normal (at the default spread: a median of 12%, 5% of items above 34%).
2. **Requests.** Every round ("day") ``n_requests`` users arrive. For each, a retrieval
   stage picks ``n_candidates`` items of the catalogue at random (the items relevant to
   this user); the ranking stage orders them by the system's current scores and shows the
   best ``slate_size`` in slots 1, 2, ...
3. **Position bias.** A user examines slot ``p`` (0-based) with probability
   ``1 / (1 + p) ** position_bias`` and clicks an examined item with its appeal. A click
   therefore says as much about the slot as about the item.
4. **Exploration.** A share ``epsilon`` of requests is served a random order of its
   candidates instead (request-level randomization, as the book's "show random items").
5. **Retraining.** After every round the system refits its click model on *all* its logs so
   far: each item's estimated click-through rate, shrunk towards the average with
   ``prior_strength`` pseudo-impressions, and ranks by it. Before any data (round 0) every
   score is equal and ties are broken at random, so the first day is shown at random.

The click model comes in two kinds, the book's two options:

* **naive** (``position_aware=False``): ``clicks / impressions`` per item, as if the slot
  did not matter. An item shown in slot 5 looks five times worse than the same item in
  slot 1 (at ``position_bias=1``), so whatever is on top stays on top.
* **position-aware** (``position_aware=True``): the *position-based click model*
  ``P(click | item i in slot p) = examination[p] * appeal[i]``, fitted to the logs, and
  scored as if every item were in slot 1: the book's "positional feature", set to the first
  position at inference. (A logistic regression with one-hot item and slot features, the
  form a practitioner would write with scikit-learn, ranks the items the same way; the unit
  tests check that.) It is fitted here in closed form, by alternating the two factors' exact
  updates, because the loop refits it after every round, hundreds of times per notebook,
  and scikit-learn's iterative solver would take most of the notebook's time budget for
  the same ranking.

Metrics, per round (see :class:`FeedbackLoopRun`): *aggregate diversity* (distinct items
shown / catalogue), the *share of impressions* going to the most-shown 10% of items, the
Gini coefficient of all impressions so far, clicks per request, and how well the learned
ranking matches the hidden appeal (Spearman correlation, and the expected clicks of serving
with the learned ranking as a share of serving with the true one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlsys_kit.params import ParameterError, check_array, check_bool, check_float, check_int

__all__ = [
    "FeedbackLoopRun",
    "simulate_feedback_loop",
    "fit_position_based_model",
    "gini",
    "top_share",
    "examination_curve",
]

_BASE_LOGIT = -2.0
_TOP_SHARE = 0.1


def examination_curve(slate_size: int, position_bias: float) -> np.ndarray:
    """Probability that a user examines each slot: ``1 / (1 + p) ** position_bias``.

    Parameters
    ----------
    slate_size : int
        Number of slots (≥ 1).
    position_bias : float
        Exponent (≥ 0). 0 means every slot is examined; 1 means slot 2 gets half the
        attention of slot 1, slot 5 a fifth.

    Returns
    -------
    numpy.ndarray
        Shape ``(slate_size,)``, 1 for the first slot, non-increasing.

    Examples
    --------
    >>> examination_curve(4, 1.0).round(2).tolist()
    [1.0, 0.5, 0.33, 0.25]
    """
    slate_size = check_int("slate_size", slate_size, min=1)
    position_bias = check_float("position_bias", position_bias, min=0.0)
    return 1.0 / (1.0 + np.arange(slate_size)) ** position_bias


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts: 0 when all equal, near 1 when one item has all.

    Parameters
    ----------
    counts : array-like
        Non-negative numbers, e.g. impressions per item (items never shown count as 0).

    Returns
    -------
    float
        In ``[0, 1 - 1/n]``.

    Raises
    ------
    ValueError
        When ``counts`` is empty, not 1-dimensional, negative, or sums to 0.

    Examples
    --------
    >>> gini([5, 5, 5, 5])
    0.0
    >>> gini([0, 0, 0, 10])
    0.75
    """
    x = _counts("gini", counts)
    n = len(x)
    ranked = np.sort(x)
    # Mean absolute difference form: sum_i (2i - n - 1) x_(i) / (n * sum x).
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    return float(weights @ ranked / (n * ranked.sum()))


def top_share(counts: np.ndarray, share: float = _TOP_SHARE) -> float:
    """Share of the total that the top ``share`` of items (at least one) receive.

    Parameters
    ----------
    counts : array-like
        Non-negative numbers, e.g. impressions per item.
    share : float, default 0.1
        Share of the items counted as "top", in (0, 1].

    Returns
    -------
    float
        ``share`` when every item gets the same, up to 1 when the top items get everything.

    Raises
    ------
    ValueError
        As :func:`gini`, and when ``share`` is not in (0, 1].

    Examples
    --------
    >>> top_share([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    0.1
    >>> top_share([0, 0, 0, 0, 0, 0, 0, 0, 1, 9])
    0.9
    """
    x = _counts("top_share", counts)
    share = check_float("share", share, min=1e-9, max=1.0)
    n_top = max(1, int(round(share * len(x))))
    return float(np.sort(x)[::-1][:n_top].sum() / x.sum())


def _counts(name: str, counts: object) -> np.ndarray:
    x = check_array("counts", counts, ndim=1, min_length=1, dtype=float, finite=True, owner=name)
    if (x < 0).any():
        raise ParameterError(f"{name}: counts must hold finite, non-negative numbers")
    if x.sum() == 0:
        raise ParameterError(f"{name}: counts sum to 0: nothing to measure the concentration of")
    return x


def fit_position_based_model(
    impressions: np.ndarray, clicks: np.ndarray, *, n_iter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``P(click | item i, slot p) = examination[p] * appeal[i]`` to logged counts.

    The position-based click model: the book's positional feature, as a model with one
    factor per item and one per slot. Each factor has an exact update given the other
    (clicks divided by expected examinations); alternating them converges to the model's
    fit. The first slot's examination is fixed at 1, so ``appeal`` is the click-through
    rate an item would have in the first slot.

    Parameters
    ----------
    impressions : numpy.ndarray
        Shape ``(n_items, n_slots)``: how often each item was shown in each slot.
    clicks : numpy.ndarray
        Same shape: the clicks those impressions got (≤ impressions).
    n_iter : int, default 50
        Alternating updates (≥ 1).

    Returns
    -------
    appeal : numpy.ndarray
        Shape ``(n_items,)``; 0 for items never shown (they have no estimate).
    examination : numpy.ndarray
        Shape ``(n_slots,)``, ``examination[0] == 1``. Slots never shown keep 1.

    Raises
    ------
    ValueError
        When the shapes differ, counts are negative, clicks exceed impressions, or
        nothing was clicked in the first slot (the scale is then undefined).

    Examples
    --------
    >>> imps = np.array([[100, 100], [100, 100]])
    >>> clicks = np.array([[40, 20], [10, 5]])  # slot 2 is examined half as often
    >>> appeal, exam = fit_position_based_model(imps, clicks)
    >>> appeal.round(2).tolist(), exam.round(2).tolist()
    ([0.4, 0.1], [1.0, 0.5])
    """
    imps = np.asarray(impressions, dtype=float)
    clk = np.asarray(clicks, dtype=float)
    n_iter = check_int("n_iter", n_iter, min=1)
    if imps.ndim != 2 or imps.shape != clk.shape:
        raise ValueError(
            "impressions and clicks must be 2-d arrays (items × slots) of the same shape; "
            f"got {imps.shape} and {clk.shape}"
        )
    if (imps < 0).any() or (clk < 0).any() or (clk > imps).any():
        raise ValueError("counts must be non-negative, with clicks ≤ impressions in every cell")
    if clk[:, 0].sum() == 0:
        raise ValueError("no clicks in the first slot: the model's scale is undefined")
    shown_in = imps.sum(axis=0) > 0
    item_clicks, slot_clicks = clk.sum(axis=1), clk.sum(axis=0)
    exam = np.ones(imps.shape[1])
    appeal = np.zeros(imps.shape[0])
    for _ in range(n_iter):
        expected = imps @ exam
        appeal = np.divide(item_clicks, expected, out=np.zeros_like(expected), where=expected > 0)
        exposure = appeal @ imps
        exam = np.divide(slot_clicks, exposure, out=np.ones_like(exposure), where=shown_in)
        appeal *= exam[0]
        exam /= exam[0]
    return appeal, exam


@dataclass(frozen=True)
class FeedbackLoopRun:
    """The result of :func:`simulate_feedback_loop`: what the system did, and the truth.

    Attributes
    ----------
    rounds : pandas.DataFrame
        One row per round (index ``round``, 0, 1, ...), columns:

        - ``aggregate_diversity``: distinct items shown that round / catalogue size;
        - ``top10_share``: share of the round's impressions that went to its most-shown
          10% of items (0.1 if exposure were even);
        - ``gini``: Gini coefficient of each item's impressions so far (cumulative);
        - ``clicks_per_request``: clicks that round / requests;
        - ``ranking_spearman``: Spearman correlation between the scores the system ranks by
          *after* retraining on that round and the hidden appeal;
        - ``ranking_value``: expected clicks per request when serving everyone with those
          scores, as a share of serving with the hidden appeal itself (1 = perfect).
    appeal : numpy.ndarray
        Hidden truth: each item's click probability when examined.
    scores : numpy.ndarray
        The system's final scores (its estimated appeal).
    impressions : numpy.ndarray
        Shape ``(n_items, slate_size)``: how often each item was shown in each slot.
    clicks : numpy.ndarray
        Same shape: the clicks logged.
    examination : numpy.ndarray
        The true probability of examining each slot.
    estimated_examination : numpy.ndarray
        What the system's click model believes it is (all ones for the naive model).
    """

    rounds: pd.DataFrame
    appeal: np.ndarray
    scores: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    examination: np.ndarray
    estimated_examination: np.ndarray


def _top_k(keys: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` largest ``keys``, largest first.

    The same as ``np.argsort(-keys, axis=1)[:, :k]`` when a row's keys are distinct, in time
    linear in the row's length (a partition, then a sort of ``k`` values): the loop ranks a
    thousand requests every round and two thousand evaluation requests after it.
    """
    if k >= keys.shape[1]:
        return np.argsort(-keys, axis=1, kind="stable")[:, :k]
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    inner = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, inner, axis=1)


def _rank_value(
    scores: np.ndarray, appeal: np.ndarray, cands: np.ndarray, exam: np.ndarray
) -> float:
    """Expected clicks per request of ranking ``cands`` by ``scores`` (ties: lower item)."""
    # Rank the catalogue once (ties to the lower item index); each request then shows its
    # candidates with the k smallest places, in order: a partition of small integers, the
    # items recovered from their places (no index sort; the same slates as _top_k's).
    order = np.argsort(-scores, kind="stable")
    place = np.empty(len(scores), dtype=np.int32)
    place[order] = np.arange(len(scores), dtype=np.int32)
    k = len(exam)
    places = place[cands]
    if k < places.shape[1]:
        places = np.partition(places, k - 1, axis=1)[:, :k]
    shown = order[np.sort(places, axis=1)[:, :k]]
    return float((appeal[shown] * exam).sum(axis=1).mean())


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`scipy.stats.spearmanr`, 0 when either side is constant (scipy: NaN, a warning)."""
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def _candidates(rng: np.random.Generator, n: int, n_items: int, n_candidates: int) -> np.ndarray:
    keys = rng.random((n, n_items))
    if n_candidates == n_items:
        return np.argsort(keys, axis=1)
    return np.argpartition(keys, n_candidates - 1, axis=1)[:, :n_candidates]


def simulate_feedback_loop(
    n_items: int = 200,
    n_rounds: int = 30,
    n_requests: int = 1_000,
    *,
    n_candidates: int = 50,
    slate_size: int = 5,
    position_bias: float = 1.0,
    epsilon: float = 0.0,
    position_aware: bool = False,
    appeal_spread: float = 0.8,
    prior_strength: float = 20.0,
    seed: int = 0,
) -> FeedbackLoopRun:
    """Run a recommender that retrains every round on the clicks its own rankings caused.

    See the module docstring for the generative story. Runs with the same ``seed`` share
    the items, the users' candidate sets, and the evaluation requests, whatever the policy
    (``epsilon``, ``position_aware``): differences between them are the policy's doing.

    Parameters
    ----------
    n_items : int, default 200
        Catalogue size (≥ 10).
    n_rounds : int, default 30
        Rounds of serve → log → retrain (≥ 1).
    n_requests : int, default 1000
        Requests per round (≥ 10).
    n_candidates : int, default 50
        Items retrieved per request, in ``[slate_size, n_items]``. ``n_items`` means everyone
        is ranked over the whole catalogue (one shelf for all).
    slate_size : int, default 5
        Slots shown per request (≥ 1).
    position_bias : float, default 1.0
        Exponent of the examination curve (≥ 0), see :func:`examination_curve`.
    epsilon : float, default 0.0
        Share of requests served a random order of their candidates, in [0, 1].
    position_aware : bool, default False
        Fit the position-based click model (True) or naive click-through rates (False).
    appeal_spread : float, default 0.8
        Standard deviation of the items' appeal on the logit scale (> 0).
    prior_strength : float, default 20.0
        Pseudo-impressions at the average click-through rate added to every item's
        estimate (≥ 0); items never shown score the average.
    seed : int, default 0
        Seed of the simulation.

    Returns
    -------
    FeedbackLoopRun

    Raises
    ------
    mlsys_kit.params.ParameterError
        A ``ValueError`` naming the argument that is out of range.

    Examples
    --------
    >>> run = simulate_feedback_loop(n_items=50, n_rounds=5, n_requests=200, n_candidates=50)
    >>> run.rounds.shape
    (5, 6)
    >>> float(run.rounds["aggregate_diversity"].iloc[0])  # round 0 is shown at random
    1.0
    >>> bool(run.rounds["aggregate_diversity"].iloc[-1] < 0.2)  # then greedy narrows it
    True
    """
    n_items = check_int("n_items", n_items, min=10)
    n_rounds = check_int("n_rounds", n_rounds, min=1)
    n_requests = check_int("n_requests", n_requests, min=10)
    slate_size = check_int("slate_size", slate_size, min=1, max=n_items)
    n_candidates = check_int("n_candidates", n_candidates, min=slate_size, max=n_items)
    epsilon = check_float("epsilon", epsilon, min=0.0, max=1.0)
    position_aware = check_bool("position_aware", position_aware)
    appeal_spread = check_float("appeal_spread", appeal_spread, min=1e-6)
    prior_strength = check_float("prior_strength", prior_strength, min=0.0)
    seed = check_int("seed", seed, min=0)
    exam = examination_curve(slate_size, position_bias)

    # Separate streams, so that policies with the same seed share items and users.
    world, traffic, policy = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    appeal = 1.0 / (1.0 + np.exp(-(_BASE_LOGIT + appeal_spread * world.standard_normal(n_items))))
    eval_cands = _candidates(world, 2_000, n_items, n_candidates)
    best_value = _rank_value(appeal, appeal, eval_cands, exam)

    scores = np.zeros(n_items)
    estimated_exam = np.ones(slate_size)
    impressions = np.zeros((n_items, slate_size))
    clicks = np.zeros((n_items, slate_size))
    rows = []
    for _ in range(n_rounds):
        # Serve: rank each request's candidates by score (random tie-break), or at random.
        cands = _candidates(traffic, n_requests, n_items, n_candidates)
        coins = traffic.random((n_requests, n_candidates))
        click_draws = traffic.random((n_requests, slate_size))
        explore = policy.random(n_requests) < epsilon
        key = scores[cands] + 1e-9 * coins  # ties broken at random
        key[explore] = coins[explore]
        shown = np.take_along_axis(cands, _top_k(key, slate_size), axis=1)
        clicked = click_draws < appeal[shown] * exam
        # Log.
        round_imps = np.zeros(n_items)
        for slot in range(slate_size):
            imp = np.bincount(shown[:, slot], minlength=n_items)
            impressions[:, slot] += imp
            clicks[:, slot] += np.bincount(
                shown[:, slot], weights=clicked[:, slot], minlength=n_items
            )
            round_imps += imp
        # Retrain on everything logged so far.
        if position_aware and clicks[:, 0].sum() > 0:
            _, estimated_exam = fit_position_based_model(impressions, clicks)
        exposure = impressions @ estimated_exam
        average = clicks.sum() / exposure.sum()
        denominator = exposure + prior_strength
        numerator = clicks.sum(axis=1) + prior_strength * average
        scores = np.divide(
            numerator, denominator, out=np.full(n_items, average), where=denominator > 0
        )
        rows.append(
            {
                "aggregate_diversity": float((round_imps > 0).mean()),
                "top10_share": top_share(round_imps),
                "gini": gini(impressions.sum(axis=1)),
                "clicks_per_request": float(clicked.sum() / n_requests),
                "ranking_spearman": _spearman(scores, appeal),
                "ranking_value": _rank_value(scores, appeal, eval_cands, exam) / best_value,
            }
        )
    return FeedbackLoopRun(
        rounds=pd.DataFrame(rows).rename_axis("round"),
        appeal=appeal,
        scores=scores,
        impressions=impressions,
        clicks=clicks,
        examination=exam,
        estimated_examination=estimated_exam,
    )
