"""Tests of ``responsible.experience``: consistency rule, candidates when unsure, fallback."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import top_k_accuracy_score

from mlsys_kit.design.latency import LatencyStats
from mlsys_kit.params import ParameterError
from mlsys_kit.responsible.experience import (
    CandidateOutcome,
    FallbackOutcome,
    SessionConsistency,
    hysteresis_decisions,
    lognormal_latencies,
    rank_of_true_class,
    serve_with_fallback,
    session_consistency,
    show_candidates,
)

# --- consistency --------------------------------------------------------------------------------


def test_margin_zero_is_the_plain_threshold():
    scores = np.random.default_rng(0).random((6, 50))
    np.testing.assert_array_equal(hysteresis_decisions(scores, margin=0), scores >= 0.5)


def test_a_decision_changes_only_past_the_margin():
    scores = [[0.55], [0.45], [0.41], [0.39], [0.55], [0.61]]
    assert hysteresis_decisions(scores, margin=0.1).ravel().tolist() == [
        True,
        True,
        True,
        False,
        False,
        True,
    ]


def test_a_wide_margin_keeps_the_first_decision():
    scores = np.random.default_rng(1).random((5, 40))
    decisions = hysteresis_decisions(scores, margin=1.0)
    np.testing.assert_array_equal(decisions, np.broadcast_to(scores[0] >= 0.5, scores.shape))


def test_a_margin_never_adds_flips():
    scores = 0.5 + 0.1 * np.random.default_rng(2).standard_normal((10, 500))
    y = np.random.default_rng(3).random(500) < 0.5
    result = session_consistency(
        y, {str(m): hysteresis_decisions(scores, margin=m) for m in (0, 0.05, 0.2)}
    )
    flips = result.to_frame()["flips per user"]
    assert flips["0"] >= flips["0.05"] >= flips["0.2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores": [0.4, 0.6]}, "must be 2-D"),
        ({"scores": [[0.4, np.nan]]}, "finite"),
        ({"scores": [[0.4]], "margin": -0.1}, "margin=-0.1 is out of range"),
        ({"scores": [[0.4]], "threshold": 1.5}, "threshold=1.5 is out of range"),
    ],
)
def test_hysteresis_refuses_bad_input(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        hysteresis_decisions(**kwargs)


def test_session_consistency_counts_flips_and_accuracy():
    result = session_consistency(
        [True, False], {"a": [[1, 0], [0, 1], [1, 1]], "b": [[1, 0], [1, 0], [1, 0]]}
    )
    assert isinstance(result, SessionConsistency)
    assert result.policies == ("a", "b")
    assert result.n_sessions == 3
    assert result.user_flips("a").tolist() == [2, 1]
    assert result.user_flips("b").tolist() == [0, 0]
    np.testing.assert_allclose(result.user_accuracy("a"), [2 / 3, 1 / 3])
    frame = result.to_frame()
    assert list(frame.columns) == ["flips per user", "users who saw a flip", "accuracy"]
    assert frame.loc["b", "accuracy"] == 1.0
    with pytest.raises(ParameterError, match="policy='c' is not allowed: choose one of 'a', 'b'"):
        result.user_flips("c")


@pytest.mark.parametrize(
    ("decisions", "message"),
    [
        ({}, "non-empty mapping"),
        ({"a": [1, 0]}, "decisions\\['a'\\]"),
        ({"a": [[1, 0, 1]]}, "2 users"),
        ({"a": [[1, 0]], "b": [[1, 0], [0, 0]]}, "same shape"),
    ],
)
def test_session_consistency_refuses_bad_input(decisions, message):
    with pytest.raises(ParameterError, match=message):
        session_consistency([1, 0], decisions)


# --- candidates ---------------------------------------------------------------------------------


def _toy_proba(n=300, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), size=n)
    classes = np.array(list("abcd"[:n_classes]))
    y = classes[rng.integers(0, n_classes, n)]
    return y, proba, classes


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_coverage_is_scikit_learns(k):
    y, proba, classes = _toy_proba()
    outcome = show_candidates(y, proba, classes, k=2)
    expected = top_k_accuracy_score(y, proba, k=k, labels=classes)
    assert outcome.top_k_coverage(k) == pytest.approx(expected)


def test_rank_of_true_class():
    ranks = rank_of_true_class(["c", "a"], [[0.1, 0.2, 0.7], [0.2, 0.5, 0.3]], ["a", "b", "c"])
    assert ranks.tolist() == [0, 2]


def test_candidates_policy_between_top1_and_always_k():
    y, proba, classes = _toy_proba(seed=4)
    outcome = show_candidates(y, proba, classes, k=2, min_confidence=0.6)
    assert isinstance(outcome, CandidateOutcome)
    frame = outcome.to_frame()
    shown = frame["right answer shown"].to_numpy()
    assert shown[0] <= shown[1] <= shown[2]
    assert frame["users asked to choose"].iloc[1] == pytest.approx(outcome.asked.mean())
    never = show_candidates(y, proba, classes, k=2, min_confidence=0)
    assert not never.asked.any()
    np.testing.assert_array_equal(never.covered, never.top1_correct)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((["a"], [[0.5, 0.5]], ["a", "b", "c"]), {}, "2 columns but classes has 3"),
        ((["z"], [[0.5, 0.5]], ["a", "b"]), {}, "classes not in classes: \\['z'\\]"),
        ((["a", "b"], [[0.5, 0.5]], ["a", "b"]), {}, "y_true"),
        ((["a"], [[0.5, 0.5]], ["a", "b"]), {"k": 0}, "k=0 is out of range"),
        ((["a"], [[0.5, 0.5]], ["a", "b"]), {"min_confidence": 1.5}, "min_confidence=1.5"),
    ],
)
def test_show_candidates_refuses_bad_input(args, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        show_candidates(*args, **kwargs)


# --- smooth failing -----------------------------------------------------------------------------


def test_lognormal_latencies_are_seeded_and_heavy_tailed():
    first = lognormal_latencies(5000, median_ms=40, sigma=0.6, seed=7)
    np.testing.assert_array_equal(first, lognormal_latencies(5000, median_ms=40, sigma=0.6, seed=7))
    assert np.median(first) == pytest.approx(40, rel=0.05)
    assert np.percentile(first, 99) > 3 * np.median(first)
    np.testing.assert_allclose(lognormal_latencies(3, median_ms=5, sigma=0), 5.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0, "median_ms": 1, "sigma": 0.5}, "n=0 is out of range"),
        (
            {"n": 5, "median_ms": 0, "sigma": 0.5},
            "median_ms=0.0 is out of range: allowed median_ms > 0",
        ),
        ({"n": 5, "median_ms": 1, "sigma": -1}, "sigma=-1.0 is out of range: allowed sigma ≥ 0"),
    ],
)
def test_lognormal_latencies_refuses_bad_input(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        lognormal_latencies(**kwargs)


def test_serve_with_fallback_takes_the_fallback_after_the_timeout():
    out = serve_with_fallback(
        [10.0, 150.0, 90.0],
        [2.0, 3.0, 4.0],
        [True, True, False],
        [False, False, True],
        timeout_ms=90,
    )
    assert isinstance(out, FallbackOutcome)
    assert isinstance(out.latency, LatencyStats)
    np.testing.assert_allclose(out.latency.seconds * 1e3, [10.0, 93.0, 90.0])
    assert out.fell_back.tolist() == [False, True, False]
    assert out.correct.tolist() == [True, False, False]
    assert out.fallback_share == pytest.approx(1 / 3)
    frame = out.to_frame()
    assert list(frame.columns) == ["p50 (ms)", "p99 (ms)", "accuracy", "fell back"]


def test_a_timeout_above_every_model_time_is_the_model_alone():
    model_ms = lognormal_latencies(1000, median_ms=40, sigma=0.6, seed=0)
    right = np.random.default_rng(0).random(1000) < 0.8
    out = serve_with_fallback(
        model_ms, np.full(1000, 2.0), right, ~right, timeout_ms=float(model_ms.max())
    )
    assert not out.fell_back.any()
    assert out.accuracy == pytest.approx(right.mean())
    np.testing.assert_allclose(out.latency.seconds * 1e3, model_ms)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_ms": [1.0, 2.0]}, "same length|length"),
        ({"model_ms": [-1.0]}, "model_ms must hold times >= 0"),
        ({"fallback_ms": [np.inf]}, "fallback_ms"),
        ({"timeout_ms": -5}, "timeout_ms=-5.0 is out of range: allowed timeout_ms ≥ 0"),
        ({"timeout_ms": np.inf}, "timeout_ms must be a finite number"),
    ],
)
def test_serve_with_fallback_refuses_bad_input(kwargs, message):
    args = {
        "model_ms": [1.0],
        "fallback_ms": [1.0],
        "model_correct": [True],
        "fallback_correct": [False],
        "timeout_ms": 10,
    } | kwargs
    with pytest.raises(ParameterError, match=message):
        serve_with_fallback(**args)
