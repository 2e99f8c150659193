"""Tests of ``training_data.sampling``: uniform reservoirs, correct samples and estimates."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

from mlsys_kit.params import ParameterError
from mlsys_kit.stats import effective_sample_size
from mlsys_kit.training_data.sampling import (
    SAMPLING_METHODS,
    EmptyStreamError,
    importance_estimate,
    importance_variance,
    importance_weights,
    probabilities,
    reservoir_sample,
    reservoir_sample_per_item,
    sample_indices,
)

SAMPLERS = [reservoir_sample, reservoir_sample_per_item]


# ----------------------------------------------------------------------------------------------
# Reservoir sampling
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize(("n", "k", "runs"), [(20, 3, 2_000), (200, 10, 600), (100, 1, 3_000)])
def test_each_item_is_kept_with_probability_k_over_n(sampler, n, k, runs):
    """Chi-square on how often each item is kept over many runs (fixed seeds: deterministic)."""
    counts = np.zeros(n)
    for run in range(runs):
        sample = sampler(iter(range(n)), k, seed=run)
        assert len(sample) == k
        assert len(set(sample)) == k  # k distinct items
        counts[sample] += 1
    assert counts.sum() == runs * k
    # Each run keeps exactly k items, so the counts are slightly less spread than multinomial:
    # the test is a little conservative, never anti-conservative.
    assert chisquare(counts).pvalue > 0.001
    np.testing.assert_allclose(counts.mean() / runs, k / n)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_inclusion_is_uniform_for_a_long_stream(sampler):
    """Positions early, middle and late in a long stream are kept equally often."""
    n, k, runs = 10_000, 20, 200
    bins = np.zeros(10)
    for run in range(runs):
        bins += np.bincount(np.array(sampler(range(n), k, seed=run)) * 10 // n, minlength=10)
    assert chisquare(bins).pvalue > 0.001


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_pairs_are_kept_together_as_often_as_in_simple_random_sampling(sampler):
    """Not only single items: the joint inclusion of two items is k(k-1) / (n(n-1)) too."""
    n, k, runs = 6, 2, 6_000
    pairs = {pair: 0 for pair in itertools.combinations(range(n), 2)}
    for run in range(runs):
        pairs[tuple(sorted(sampler(range(n), k, seed=run)))] += 1
    assert chisquare(list(pairs.values())).pvalue > 0.001


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_a_stream_shorter_than_k_is_returned_whole_in_order(sampler):
    assert sampler(iter("abc"), 5, seed=0) == ["a", "b", "c"]
    assert sampler(range(4), 4, seed=0) == [0, 1, 2, 3]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_any_iterable_and_any_item(sampler):
    def generator():
        yield from ({"id": i} for i in range(100))

    sample = sampler(generator(), 7, seed=1)
    assert len(sample) == 7 and all(isinstance(item, dict) for item in sample)
    assert len(sampler({1, 2, 3, 4}, 2, seed=1)) == 2
    assert len(sampler(np.arange(50), 5, seed=1)) == 5


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_seeds_make_it_reproducible(sampler):
    assert sampler(range(10_000), 10, seed=3) == sampler(range(10_000), 10, seed=3)
    assert sampler(range(10_000), 10, seed=3) != sampler(range(10_000), 10, seed=4)
    one, two = np.random.default_rng(5), np.random.default_rng(5)
    assert sampler(range(10_000), 10, seed=one) == sampler(range(10_000), 10, seed=two)


def test_the_stream_is_consumed_once_and_completely():
    consumed = []

    def stream():
        for i in range(1_000):
            consumed.append(i)
            yield i

    reservoir_sample(stream(), 10, seed=0)
    assert consumed == list(range(1_000))


def test_memory_is_proportional_to_k_not_to_the_stream():
    """A stream far too long to hold in memory as a list: only k items are ever kept."""
    sample = reservoir_sample(itertools.islice(itertools.count(), 5_000_000), 3, seed=0)
    assert len(sample) == 3 and all(0 <= x < 5_000_000 for x in sample)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("k", [0, -1])
def test_k_must_be_positive(sampler, k):
    with pytest.raises(
        ParameterError, match=rf"{sampler.__name__}: k={k} is out of range: allowed k ≥ 1"
    ):
        sampler(range(10), k)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("k", [2.0, "3", True, None])
def test_k_must_be_an_integer(sampler, k):
    with pytest.raises(ParameterError, match=rf"{sampler.__name__}: k must be an integer; got"):
        sampler(range(10), k)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_an_empty_stream_is_an_error(sampler):
    with pytest.raises(EmptyStreamError, match="the stream is empty"):
        sampler([], 3)
    exhausted = iter(range(5))
    list(exhausted)
    with pytest.raises(ValueError, match="already consumed"):  # EmptyStreamError is a ValueError
        sampler(exhausted, 3)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_a_non_iterable_stream_is_an_error(sampler):
    with pytest.raises(ParameterError, match="stream must be an iterable.*got int"):
        sampler(42, 3)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("seed", ["zero", None, -1, [0, 1]])
def test_a_bad_seed_is_an_error(sampler, seed):
    with pytest.raises(ParameterError, match=f"{sampler.__name__}: seed"):
        sampler(range(10), 3, seed=seed)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_the_default_seed_is_reproducible(sampler):
    assert sampler(range(10_000), 10) == sampler(range(10_000), 10, seed=0)


# ----------------------------------------------------------------------------------------------
# sample_indices
# ----------------------------------------------------------------------------------------------


def test_convenience_takes_the_latest_rows_every_time():
    assert sample_indices(10, 3, "convenience", seed=0).tolist() == [7, 8, 9]
    assert sample_indices(10, 3, "convenience", seed=1).tolist() == [7, 8, 9]


def test_convenience_samples_uniformly_from_the_rows_at_hand_only():
    counts = np.zeros(100)
    for seed in range(1_000):
        rows = sample_indices(100, 5, "convenience", at_hand=20, seed=seed)
        assert len(np.unique(rows)) == 5
        counts[rows] += 1
    assert counts[:80].sum() == 0
    assert chisquare(counts[80:]).pvalue > 0.001


@pytest.mark.parametrize("at_hand", [2, 101, 2.5])
def test_convenience_rejects_a_bad_at_hand(at_hand):
    with pytest.raises(ValueError, match="at_hand"):
        sample_indices(100, 5, "convenience", at_hand=at_hand)


@pytest.mark.parametrize("method", ["simple_random", "reservoir"])
def test_uniform_methods_draw_distinct_rows_uniformly(method):
    n, size, runs = 50, 5, 2_000
    counts = np.zeros(n)
    for run in range(runs):
        rows = sample_indices(n, size, method, seed=run)
        assert len(np.unique(rows)) == size and rows.dtype == np.int64
        assert np.all(np.diff(rows) > 0)  # sorted
        counts[rows] += 1
    assert chisquare(counts).pvalue > 0.001


def test_stratified_gives_each_stratum_its_exact_share():
    labels = np.array([1] * 30 + [0] * 270 + [2] * 700)
    for seed in range(20):
        rows = sample_indices(1_000, 100, "stratified", strata=labels, seed=seed)
        assert len(rows) == 100 and len(np.unique(rows)) == 100
        assert np.bincount(labels[rows]).tolist() == [27, 3, 70]


def test_stratified_rounds_to_the_exact_size():
    labels = np.array(["a"] * 5 + ["b"] * 5 + ["c"] * 5)  # 7 rows: 2.33 each
    rows = sample_indices(15, 7, "stratified", strata=labels, seed=0)
    assert len(rows) == 7
    assert sorted(np.unique(labels[rows], return_counts=True)[1]) == [2, 2, 3]


def test_stratified_is_uniform_within_a_stratum():
    labels = np.array([0, 1] * 20)
    counts = np.zeros(40)
    for seed in range(2_000):
        counts[sample_indices(40, 4, "stratified", strata=labels, seed=seed)] += 1
    assert chisquare(counts[labels == 0]).pvalue > 0.001
    assert chisquare(counts[labels == 1]).pvalue > 0.001


def test_weighted_draws_rows_in_proportion_to_their_weights():
    weights = np.array([1.0, 2.0, 0.0, 7.0])
    rows = sample_indices(4, 20_000, "weighted", weights=weights, seed=0)
    counts = np.bincount(rows, minlength=4)
    assert counts[2] == 0
    assert chisquare(counts[[0, 1, 3]], 20_000 * np.array([0.1, 0.2, 0.7])).pvalue > 0.001


@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_every_method_is_reproducible(method):
    labels, weights = np.arange(100) % 3, np.arange(1, 101)
    one = sample_indices(100, 10, method, seed=7, strata=labels, weights=weights)
    two = sample_indices(100, 10, method, seed=7, strata=labels, weights=weights)
    np.testing.assert_array_equal(one, two)


def test_sample_indices_rejects_bad_input():
    with pytest.raises(
        ParameterError, match="sample_indices: method='cluster' is not allowed: choose one of"
    ):
        sample_indices(10, 3, "cluster")
    with pytest.raises(ParameterError, match="size=0 is out of range: allowed size ≥ 1"):
        sample_indices(10, 0, "simple_random")
    with pytest.raises(ParameterError, match="n_population must be an integer; got 2.5"):
        sample_indices(2.5, 1, "simple_random")
    with pytest.raises(ParameterError, match=r"size=11 is larger than the population \(10 rows\)"):
        sample_indices(10, 11, "simple_random")
    with pytest.raises(ParameterError, match="'stratified' needs strata"):
        sample_indices(10, 3, "stratified")
    with pytest.raises(ParameterError, match="'weighted' needs weights"):
        sample_indices(10, 3, "weighted")
    with pytest.raises(ParameterError, match=r"strata must have one value per row \(10\)"):
        sample_indices(10, 3, "stratified", strata=[0, 1])
    with pytest.raises(ParameterError, match="weights must sum to something positive"):
        sample_indices(3, 2, "weighted", weights=[0, 0, 0])
    with pytest.raises(ParameterError, match="sample_indices: seed must be an integer"):
        sample_indices(10, 3, "simple_random", seed=[0, 1])  # a Generator instead


def test_a_generator_seed_is_used_as_it_is():
    """seed=Generator draws from that stream: the same as seeding it the same way."""
    one = sample_indices(1_000, 5, "simple_random", seed=np.random.default_rng([3, 1]))
    rows = np.sort(np.random.default_rng([3, 1]).choice(1_000, size=5, replace=False))
    np.testing.assert_array_equal(one, rows)
    assert (
        sample_indices(100, 5, "simple_random").tolist()
        == sample_indices(100, 5, "simple_random", seed=0).tolist()
    )


# ----------------------------------------------------------------------------------------------
# Weights and importance sampling
# ----------------------------------------------------------------------------------------------


def test_probabilities_normalise():
    np.testing.assert_allclose(probabilities([2, 6]), [0.25, 0.75])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([0, 0], "must sum to something positive; they sum to 0.0"),
        ([1, -1], "must be ≥ 0; 1 are negative"),
        ([1, np.nan], "must be finite numbers; 1 are not"),
        ([1, np.inf], "must be finite numbers"),
        ([], r"must have at least 1 row\(s\); got 0"),
        ([[1, 2]], r"must have 1 dimension\(s\); got shape"),
    ],
)
def test_probabilities_reject_bad_weights(weights, message):
    with pytest.raises(ParameterError, match="probabilities: weights " + message):
        probabilities(weights)


def test_importance_weights_are_p_over_q():
    np.testing.assert_allclose(importance_weights([1, 1], [1, 3]), [2.0, 2 / 3])
    np.testing.assert_allclose(importance_weights([0, 1], [1, 1]), [0.0, 2.0])


def test_importance_weights_reject_a_proposal_that_misses_the_target():
    with pytest.raises(ValueError, match="the proposal is 0 on 1 items where the target is not"):
        importance_weights([1, 1, 1], [1, 1, 0])
    with pytest.raises(ValueError, match="differ in length: 2 and 3"):
        importance_weights([1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="proposal must sum to something positive"):
        importance_weights([1, 1], [0, 0])


def test_importance_sampling_is_unbiased_and_its_variance_exact():
    """Repeated weighted samples: their mean is the target mean, their variance the formula's."""
    rng = np.random.default_rng(0)
    f = (rng.random(500) < 0.05).astype(float)
    proposal = np.where(f == 1, 5.0, 1.0) * rng.uniform(0.5, 1.5, 500)
    w = importance_weights(np.ones(500), proposal)
    q = probabilities(proposal)
    estimates = [
        importance_estimate(f[rows], w[rows]).mean
        for rows in (rng.choice(500, 200, p=q) for _ in range(4_000))
    ]
    exact_var = importance_variance(f, proposal, size=200)
    assert abs(np.mean(estimates) - f.mean()) < 4 * np.sqrt(exact_var / 4_000)
    assert np.var(estimates, ddof=1) / exact_var == pytest.approx(1, abs=0.1)
    assert exact_var < importance_variance(f, np.ones(500), size=200)  # the tilt helps here


def test_importance_variance_of_a_uniform_proposal_is_that_of_simple_random_sampling():
    f = np.array([1.0, 0, 0, 0, 3])
    assert importance_variance(f, np.ones(5), size=4) == pytest.approx(f.var() / 4)
    target = np.array([1.0, 1, 1, 1, 4])
    p = target / target.sum()
    mean = (p * f).sum()
    expected = ((p * (f - mean) ** 2).sum()) / 2
    assert importance_variance(f, target, target=target, size=2) == pytest.approx(expected)


def test_importance_estimate_reports_standard_error_and_effective_size():
    est = importance_estimate([1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    assert est.mean == 0.5
    assert est.effective_sample_size == 4
    assert est.standard_error == pytest.approx(np.std([1, 0, 1, 0], ddof=1) / 2)
    assert np.isnan(importance_estimate([1.0], [2.0]).standard_error)  # one draw: unknown


def test_importance_functions_reject_bad_input():
    with pytest.raises(ValueError, match="one length; got shapes"):
        importance_estimate([1, 0], [1])
    with pytest.raises(ValueError, match="weights must be ≥ 0"):
        importance_estimate([1, 0], [1, -1])
    with pytest.raises(ValueError, match="must be finite"):
        importance_estimate([1, np.nan], [1, 1])
    with pytest.raises(ParameterError, match="importance_variance: size=0 is out of range"):
        importance_variance([1, 0], [1, 1], size=0)
    with pytest.raises(ValueError, match="must have one length"):
        importance_variance([1, 0, 1], [1, 1])


def test_the_effective_sample_size_is_kish_s():
    """The estimate's effective size is mlsys_kit.stats' Kish ESS, on random weights."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = rng.lognormal(0, 1.5, rng.integers(2, 300))
        f = rng.random(len(w))
        expected = w.sum() ** 2 / np.square(w).sum()
        ess = importance_estimate(f, w).effective_sample_size
        assert ess == pytest.approx(effective_sample_size(w))
        assert ess == pytest.approx(expected)
    assert importance_estimate([1.0, 0.0], [0.0, 0.0]).effective_sample_size == 0.0


def test_importance_estimate_matches_numpy_s_weighted_statistics():
    """mean(w f) and its standard error, against numpy's own mean and std on random draws."""
    rng = np.random.default_rng(1)
    f, w = rng.random(50), rng.lognormal(size=50)
    est = importance_estimate(f, w)
    assert est.mean == pytest.approx(np.mean(w * f))
    assert est.standard_error == pytest.approx(np.std(w * f, ddof=1) / np.sqrt(50))


def test_empty_stream_error_is_a_parameter_error():
    assert issubclass(EmptyStreamError, ParameterError)


def test_stratified_equal_allocation_covers_a_rare_stratum():
    labels = np.array([0] * 950 + [1] * 40 + [2] * 10)  # stratum 2 smaller than its share
    rows = sample_indices(1_000, 90, "stratified", strata=labels, allocation="equal", seed=3)
    counts = np.bincount(labels[rows], minlength=3)
    assert len(rows) == 90 and len(set(rows.tolist())) == 90
    assert counts.tolist() == [40, 40, 10]  # the small stratum gives all, the rest share


def test_stratified_equal_allocation_reweighted_is_unbiased():
    labels = np.array([0] * 900 + [1] * 100)
    values = np.r_[np.zeros(900), np.ones(100)] * (np.arange(1_000) % 2)  # truth 0.05
    estimates = []
    for seed in range(200):
        rows = sample_indices(1_000, 40, "stratified", strata=labels, allocation="equal", seed=seed)
        drawn = np.bincount(labels[rows], minlength=2)
        proposal = (drawn / np.bincount(labels))[labels]  # each row's chance of being drawn
        w = importance_weights(np.ones(1_000), proposal)
        estimates.append(np.mean(w[rows] * values[rows]))
    assert abs(np.mean(estimates) - 0.05) < 0.005


def test_stratified_refuses_an_unknown_allocation():
    with pytest.raises(ParameterError, match="allocation='neyman' is not allowed"):
        sample_indices(10, 3, "stratified", strata=[0, 1] * 5, allocation="neyman")
