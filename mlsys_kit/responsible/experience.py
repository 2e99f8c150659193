"""User experience of a model's predictions: consistency, candidates when unsure, smooth failing.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 11, "User
Experience": "Ensuring User Experience Consistency", "Combatting 'Mostly Correct' Predictions"
and "Smooth Failing".

* :func:`hysteresis_decisions`: a consistency rule for a model retrained between a user's
  sessions. A user's decision changes only when the new score crosses the threshold by a
  ``margin`` (hysteresis, as a thermostat does), so that near-tie scores stop flipping.
  :func:`session_consistency` measures flips per user and accuracy per session for several
  policies at once, on the same users.
* :func:`rank_of_true_class` and :func:`show_candidates`: when the model's top score is below
  ``min_confidence``, show the ``k`` best candidates and let the user choose; measure how often
  the right answer is shown (top-k coverage, the quantity scikit-learn's
  :func:`sklearn.metrics.top_k_accuracy_score` computes; the tests check both agree) and how
  often users must choose.
* :func:`lognormal_latencies` and :func:`serve_with_fallback`: a model whose latency has a heavy
  tail, served with a timeout after which a fast heuristic answers instead. The latencies are
  simulated (seeded draws, no sleeping), so the tail is exactly reproducible; the combined
  system's latency is returned as :class:`mlsys_kit.design.latency.LatencyStats` (p50, p99...).

These are a few lines each and hand-written because each *is* the lesson: the rule that trades
consistency for accuracy, the policy that trades the user's effort for coverage, the timeout
that trades quality for latency. The models (scikit-learn) and the statistics
(:func:`mlsys_kit.stats.mean_interval`, statsmodels' proportion intervals) are the libraries'.

Examples
--------
>>> import numpy as np
>>> scores = np.array([[0.52, 0.40], [0.48, 0.41], [0.53, 0.70]])  # 3 sessions, 2 users
>>> hysteresis_decisions(scores, margin=0.05).astype(int).tolist()
[[1, 0], [1, 0], [1, 1]]
>>> (scores >= 0.5).astype(int).tolist()  # no rule: user 0 flips twice
[[1, 0], [0, 0], [1, 1]]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.design.latency import LatencyStats
from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = [
    "hysteresis_decisions",
    "SessionConsistency",
    "session_consistency",
    "rank_of_true_class",
    "CandidateOutcome",
    "show_candidates",
    "lognormal_latencies",
    "FallbackOutcome",
    "serve_with_fallback",
]


# --- Consistency --------------------------------------------------------------------------------


def hysteresis_decisions(scores: Any, *, threshold: float = 0.5, margin: float = 0.1) -> np.ndarray:
    """Yes/no decisions per session that change only when the score crosses a margin.

    In the first session a user's decision is ``score >= threshold``. In each later session,
    a "no" becomes "yes" only if the new score is ``>= threshold + margin``, and a "yes"
    becomes "no" only if it is ``< threshold - margin``; otherwise the previous decision is
    kept. ``margin = 0`` is the plain threshold (no consistency rule); a margin of 1 or more
    never changes the first decision.

    Parameters
    ----------
    scores : array-like of float, shape (n_sessions, n_users)
        Each session's score of each user (e.g. a retrained model's probability).
    threshold : float, default 0.5
        The decision threshold, in ``[0, 1]``.
    margin : float, default 0.1
        How far past the threshold a score must go to change a decision (``>= 0``).

    Returns
    -------
    numpy.ndarray of bool, shape (n_sessions, n_users)
        The decisions shown to each user in each session.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``scores`` is not 2-D with at least one session, or holds values that are not
        finite; if ``threshold`` is outside ``[0, 1]`` or ``margin < 0``.

    Examples
    --------
    >>> hysteresis_decisions([[0.6], [0.45], [0.35]], margin=0.1).ravel().tolist()
    [True, True, False]
    >>> hysteresis_decisions([0.6, 0.4])
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: hysteresis_decisions: scores must be 2-D \
(sessions × users); got shape (2,)
    """
    owner = "hysteresis_decisions"
    values = check_array("scores", scores, dtype=float, finite=True, owner=owner)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ParameterError(
            f"{owner}: scores must be 2-D (sessions × users); got shape {values.shape}"
        )
    threshold = check_float("threshold", threshold, min=0, max=1, owner=owner)
    margin = check_float("margin", margin, min=0, owner=owner)
    decisions = np.empty(values.shape, dtype=bool)
    decisions[0] = values[0] >= threshold
    for s in range(1, values.shape[0]):
        decisions[s] = np.where(
            decisions[s - 1], values[s] >= threshold - margin, values[s] >= threshold + margin
        )
    return decisions


@dataclass(frozen=True)
class SessionConsistency(Report):
    """Flips and accuracy of several decision policies for the same users over sessions.

    Attributes
    ----------
    policies : tuple of str
        The policies' names, in the order of the arrays' first axis.
    flips : numpy.ndarray of int, shape (n_policies, n_users)
        How many times each user's decision changed between consecutive sessions.
    correct : numpy.ndarray of float, shape (n_policies, n_users)
        Each user's share of sessions with the right decision.
    n_sessions : int
        Sessions per user.
    """

    policies: tuple[str, ...]
    flips: np.ndarray
    correct: np.ndarray
    n_sessions: int

    def _row(self, policy: str) -> int:
        policy = check_choice("policy", policy, self.policies, owner="SessionConsistency")
        return self.policies.index(policy)

    def user_flips(self, policy: str) -> np.ndarray:
        """Flips per user of one policy, shape ``(n_users,)``."""
        return self.flips[self._row(policy)]

    def user_accuracy(self, policy: str) -> np.ndarray:
        """Each user's share of correct sessions under one policy, shape ``(n_users,)``."""
        return self.correct[self._row(policy)]

    def to_frame(self) -> pd.DataFrame:
        """One row per policy: mean flips per user, share of users who saw a flip, accuracy."""
        return pd.DataFrame(
            {
                "flips per user": self.flips.mean(axis=1),
                "users who saw a flip": (self.flips > 0).mean(axis=1),
                "accuracy": self.correct.mean(axis=1),
            },
            index=pd.Index(self.policies, name="policy"),
        )


def session_consistency(y_true: Any, decisions: Mapping[str, Any]) -> SessionConsistency:
    """Count each user's flips and correct sessions under several decision policies.

    Parameters
    ----------
    y_true : array-like of bool or {0, 1}, shape (n_users,)
        Each user's true outcome (the same in every session).
    decisions : mapping of str to array-like of bool, each shape (n_sessions, n_users)
        Each policy's decisions, e.g. from :func:`hysteresis_decisions`.

    Returns
    -------
    SessionConsistency
        Per-user flips and accuracy of each policy.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``decisions`` is empty, a policy's array is not 2-D, or the policies' shapes
        differ, or their number of users differs from ``y_true``'s.

    Examples
    --------
    >>> result = session_consistency([1, 0], {"raw": [[1, 0], [0, 0], [1, 0]]})
    >>> result.user_flips("raw").tolist(), result.user_accuracy("raw").round(2).tolist()
    ([2, 0], [0.67, 1.0])
    """
    owner = "session_consistency"
    labels = check_array("y_true", y_true, ndim=1, min_length=1, owner=owner).astype(bool)
    if not isinstance(decisions, Mapping) or not decisions:
        raise ParameterError(f"{owner}: decisions must be a non-empty mapping of policy to array")
    arrays = {}
    for name, values in decisions.items():
        array = check_array(f"decisions[{name!r}]", values, ndim=2, owner=owner).astype(bool)
        if array.shape[1] != labels.size or array.shape[0] == 0:
            raise ParameterError(
                f"{owner}: decisions[{name!r}] must have shape (n_sessions ≥ 1, "
                f"{labels.size} users); got {array.shape}"
            )
        arrays[str(name)] = array
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) > 1:
        raise ParameterError(f"{owner}: every policy needs the same shape; got {sorted(shapes)}")
    flips = np.array([(a[1:] != a[:-1]).sum(axis=0) for a in arrays.values()])
    correct = np.array([(a == labels).mean(axis=0) for a in arrays.values()])
    n_sessions = next(iter(shapes))[0]
    return SessionConsistency(tuple(arrays), flips, correct, n_sessions)


# --- "Mostly correct" predictions ---------------------------------------------------------------


def rank_of_true_class(y_true: Any, proba: Any, classes: Any) -> np.ndarray:
    """Where the true class stands in each row's ranking of the classes (0 = the top guess).

    Parameters
    ----------
    y_true : array-like, shape (n_rows,)
        True classes, each one of ``classes``.
    proba : array-like of float, shape (n_rows, n_classes)
        Predicted probabilities, columns in the order of ``classes`` (scikit-learn's
        ``predict_proba`` with ``classes_``).
    classes : array-like, shape (n_classes,)
        The classes of ``proba``'s columns.

    Returns
    -------
    numpy.ndarray of int, shape (n_rows,)
        The true class is among the top ``k`` candidates where ``rank < k``. Ties are
        broken by column order, as :func:`numpy.argsort` (stable) does.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If the shapes do not match or a true class is not one of ``classes``.

    Examples
    --------
    >>> rank_of_true_class(["b", "a"], [[0.2, 0.5, 0.3], [0.1, 0.3, 0.6]], ["a", "b", "c"])
    array([0, 2])
    """
    owner = "rank_of_true_class"
    labels = check_array("y_true", y_true, ndim=1, min_length=1, owner=owner)
    probs = check_array("proba", proba, ndim=2, dtype=float, finite=True, owner=owner)
    names = list(check_array("classes", classes, ndim=1, min_length=2, owner=owner))
    check_same_length(y_true=labels, proba=probs, owner=owner)
    if probs.shape[1] != len(names):
        raise ParameterError(
            f"{owner}: proba has {probs.shape[1]} columns but classes has {len(names)}"
        )
    position = {name: i for i, name in enumerate(names)}
    unknown = sorted({str(y) for y in labels if y not in position})
    if unknown:
        raise ParameterError(f"{owner}: y_true holds classes not in classes: {unknown}")
    truth = np.array([position[y] for y in labels])
    order = np.argsort(-probs, axis=1, kind="stable")
    return np.argmax(order == truth[:, None], axis=1)


@dataclass(frozen=True)
class CandidateOutcome(Report):
    """What users saw when the model showed ``k`` candidates below a confidence threshold.

    Attributes
    ----------
    rank : numpy.ndarray of int
        Rank of the true class in each row's ranking (0 = the model's top guess).
    confidence : numpy.ndarray of float
        Each row's top probability.
    asked : numpy.ndarray of bool
        Rows where the top probability was below ``min_confidence``: the user was shown
        ``k`` candidates and had to choose.
    k : int
        Candidates shown when unsure.
    min_confidence : float
        The confidence below which candidates are shown.
    """

    rank: np.ndarray
    confidence: np.ndarray
    asked: np.ndarray
    k: int
    min_confidence: float

    @property
    def top1_correct(self) -> np.ndarray:
        """Rows where the model's single best guess is right."""
        return self.rank == 0

    @property
    def covered(self) -> np.ndarray:
        """Rows where the right answer was shown (the top guess, or among ``k`` when asked)."""
        return np.where(self.asked, self.rank < self.k, self.rank == 0)

    def top_k_coverage(self, k: int) -> float:
        """Share of rows whose true class is among the top ``k`` candidates (``k >= 1``)."""
        k = check_int("k", k, min=1, owner="CandidateOutcome.top_k_coverage")
        return float(np.mean(self.rank < k))

    def to_frame(self) -> pd.DataFrame:
        """Three policies side by side: top-1 only, candidates when unsure, always ``k``."""
        return pd.DataFrame(
            {
                "right answer shown": [
                    self.top1_correct.mean(),
                    self.covered.mean(),
                    self.top_k_coverage(self.k),
                ],
                "users asked to choose": [0.0, self.asked.mean(), 1.0],
            },
            index=pd.Index(
                [
                    "top-1 only",
                    f"top-{self.k} when confidence < {self.min_confidence:g}",
                    f"always top-{self.k}",
                ],
                name="policy",
            ),
        )


def show_candidates(
    y_true: Any, proba: Any, classes: Any, *, k: int = 2, min_confidence: float = 0.7
) -> CandidateOutcome:
    """Show one answer when the model is confident, ``k`` candidates when it is not.

    Parameters
    ----------
    y_true, proba, classes
        As :func:`rank_of_true_class`.
    k : int, default 2
        Candidates shown when unsure (``>= 1``; ``k = 1`` never helps).
    min_confidence : float, default 0.7
        Below this top probability the user is shown ``k`` candidates, in ``[0, 1]``
        (0: never ask; above 1 is refused, 1: ask unless the model is certain).

    Returns
    -------
    CandidateOutcome
        Per-row rank, confidence and whether the user was asked.

    Raises
    ------
    mlsys_kit.params.ParameterError
        As :func:`rank_of_true_class`, or ``k < 1``, or ``min_confidence`` outside ``[0, 1]``.

    Examples
    --------
    >>> out = show_candidates(["a", "b"], [[0.9, 0.1], [0.55, 0.45]], ["a", "b"], k=2)
    >>> out.asked.tolist(), out.covered.tolist(), out.top1_correct.tolist()
    ([False, True], [True, True], [True, False])
    """
    owner = "show_candidates"
    k = check_int("k", k, min=1, owner=owner)
    min_confidence = check_float("min_confidence", min_confidence, min=0, max=1, owner=owner)
    rank = rank_of_true_class(y_true, proba, classes)
    confidence = np.asarray(proba, dtype=float).max(axis=1)
    return CandidateOutcome(rank, confidence, confidence < min_confidence, k, min_confidence)


# --- Smooth failing -----------------------------------------------------------------------------


def lognormal_latencies(n: int, *, median_ms: float, sigma: float, seed: Seed = 0) -> np.ndarray:
    """Simulated service times in milliseconds: lognormal, a typical heavy-tailed latency.

    Parameters
    ----------
    n : int
        Number of requests (``>= 1``).
    median_ms : float
        Median latency in milliseconds (``> 0``).
    sigma : float
        Spread of the log latency (``>= 0``): the p99 is ``median · exp(2.33 · sigma)``,
        about 4× the median at ``sigma = 0.6``.
    seed : int or numpy.random.Generator, default 0
        Seed of the draws.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        Latencies in milliseconds.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If ``n < 1``, ``median_ms <= 0`` or ``sigma < 0``.

    Examples
    --------
    >>> ms = lognormal_latencies(20_000, median_ms=40, sigma=0.6, seed=0)
    >>> round(float(np.median(ms))), bool(np.percentile(ms, 99) > 3 * np.median(ms))
    (40, True)
    """
    owner = "lognormal_latencies"
    n = check_int("n", n, min=1, owner=owner)
    median_ms = check_float("median_ms", median_ms, min=0, open_min=True, owner=owner)
    sigma = check_float("sigma", sigma, min=0, owner=owner)
    return make_rng(seed, owner=owner).lognormal(np.log(median_ms), sigma, size=n)


@dataclass(frozen=True)
class FallbackOutcome(Report):
    """Latency and correctness of each request served with a timeout and a fallback.

    Attributes
    ----------
    latency : LatencyStats
        Each request's latency, in seconds (p50, p99 via its properties).
    correct : numpy.ndarray of bool
        Whether each request's answer was right.
    fell_back : numpy.ndarray of bool
        Requests the fallback answered (the model missed the timeout).
    timeout_ms : float
        The timeout, in milliseconds.
    """

    latency: LatencyStats
    correct: np.ndarray
    fell_back: np.ndarray
    timeout_ms: float

    @property
    def accuracy(self) -> float:
        """Share of requests answered right."""
        return float(self.correct.mean())

    @property
    def fallback_share(self) -> float:
        """Share of requests the fallback answered."""
        return float(self.fell_back.mean())

    def to_frame(self) -> pd.DataFrame:
        """One row: p50 and p99 latency (ms), accuracy and the share that fell back."""
        return pd.DataFrame(
            {
                "p50 (ms)": [self.latency.p50 * 1e3],
                "p99 (ms)": [self.latency.p99 * 1e3],
                "accuracy": [self.accuracy],
                "fell back": [self.fallback_share],
            },
            index=pd.Index([f"timeout {self.timeout_ms:g} ms"], name="system"),
        )


def serve_with_fallback(
    model_ms: Any,
    fallback_ms: Any,
    model_correct: Any,
    fallback_correct: Any,
    *,
    timeout_ms: float,
) -> FallbackOutcome:
    """Serve each request with the model, or with the fallback once the model times out.

    A request waits for the model up to ``timeout_ms``; a model that answers in time is used.
    Otherwise the request is handed to the fast fallback, which then takes its own time: the
    latency is ``model_ms`` if ``model_ms <= timeout_ms``, else ``timeout_ms + fallback_ms``.
    A timeout above every model time is the model alone.

    Parameters
    ----------
    model_ms, fallback_ms : array-like of float, shape (n_requests,)
        Each request's service time by the model and by the fallback, in milliseconds
        (finite, ``>= 0``).
    model_correct, fallback_correct : array-like of bool, shape (n_requests,)
        Whether each one's answer to the request is right.
    timeout_ms : float
        How long to wait for the model, in milliseconds (finite, ``>= 0``).

    Returns
    -------
    FallbackOutcome
        Latency, correctness and which requests fell back.

    Raises
    ------
    mlsys_kit.params.ParameterError
        If the arrays differ in length or are empty, a time is negative or not finite, or
        ``timeout_ms < 0``.

    Examples
    --------
    >>> out = serve_with_fallback([10, 200], [2, 2], [True, True], [False, False],
    ...                           timeout_ms=100)
    >>> (out.latency.seconds * 1e3).round(1).tolist(), out.fell_back.tolist(), out.accuracy
    ([10.0, 102.0], [False, True], 0.5)
    """
    owner = "serve_with_fallback"
    times = {}
    for name, values in (("model_ms", model_ms), ("fallback_ms", fallback_ms)):
        array = check_array(
            name, values, ndim=1, min_length=1, dtype=float, finite=True, owner=owner
        )
        if np.any(array < 0):
            raise ParameterError(f"{owner}: {name} must hold times >= 0")
        times[name] = array
    model_ok = check_array("model_correct", model_correct, ndim=1, owner=owner).astype(bool)
    fallback_ok = check_array("fallback_correct", fallback_correct, ndim=1, owner=owner)
    check_same_length(
        model_ms=times["model_ms"],
        fallback_ms=times["fallback_ms"],
        model_correct=model_ok,
        fallback_correct=fallback_ok,
        owner=owner,
    )
    timeout_ms = check_float("timeout_ms", timeout_ms, min=0, owner=owner)
    fell_back = times["model_ms"] > timeout_ms
    latency_ms = np.where(fell_back, timeout_ms + times["fallback_ms"], times["model_ms"])
    correct = np.where(fell_back, fallback_ok.astype(bool), model_ok)
    return FallbackOutcome(LatencyStats(latency_ms / 1e3), correct, fell_back, timeout_ms)
