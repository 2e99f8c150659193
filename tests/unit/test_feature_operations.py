"""Tests of ``features.operations``: missingness by mechanism, hashing collisions, cycles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.features import operations
from mlsys_kit.features.operations import (
    MECHANISMS,
    auc_against_truth,
    collision_rate,
    cyclical_encoder,
    cyclical_features,
    expected_collision_rate,
    hash_buckets,
    make_missing,
    missing_mask,
    shared_bucket_rate,
    simulate_survey,
)
from mlsys_kit.params import ParameterError


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return simulate_survey(20_000, seed=3)


# --- simulate_survey -------------------------------------------------------------------------


def test_survey_columns_types_and_ranges(survey) -> None:
    assert list(survey.columns) == ["age", "income", "subscribed"]
    assert survey["age"].dtype == np.int64 and survey["subscribed"].dtype == bool
    assert survey["age"].between(18, 90).all() and (survey["income"] >= 1).all()
    assert not survey.isna().any().any()


def test_survey_follows_its_generative_story(survey) -> None:
    assert 0.5 < survey["age"].corr(survey["income"]) < 0.7
    assert 48 < survey["income"].mean() < 52
    rich = survey["income"] > survey["income"].median()
    assert survey.loc[rich, "subscribed"].mean() > survey.loc[~rich, "subscribed"].mean() + 0.15


def test_survey_is_reproducible_and_seeded() -> None:
    pd.testing.assert_frame_equal(simulate_survey(500, seed=1), simulate_survey(500, seed=1))
    assert not simulate_survey(500, seed=1).equals(simulate_survey(500, seed=2))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"n_respondents": 5},
            "simulate_survey: n_respondents=5 is out of range: allowed n_respondents ≥ 10",
        ),
        ({"n_respondents": 100.0}, "n_respondents must be an integer"),
        ({"seed": -1}, "simulate_survey: seed=-1 is out of range: allowed seed ≥ 0"),
        ({"seed": True}, "seed must be an integer"),
    ],
)
def test_survey_bad_input(kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        simulate_survey(**{"n_respondents": 100, **kwargs})


# --- missing_mask ----------------------------------------------------------------------------


def test_mcar_mask_rate_and_independence() -> None:
    mask = missing_mask(0.2, n=50_000, seed=0)
    assert mask.dtype == bool and mask.shape == (50_000,)
    assert abs(mask.mean() - 0.2) < 0.01


@pytest.mark.parametrize("strength", [-2.0, 1.0, 3.0])
def test_driven_mask_hits_the_rate_and_follows_the_driver(strength) -> None:
    driver = np.random.default_rng(0).standard_normal(50_000)
    mask = missing_mask(0.3, driver=driver, strength=strength, seed=1)
    assert abs(mask.mean() - 0.3) < 0.01
    gap = driver[mask].mean() - driver[~mask].mean()
    assert np.sign(gap) == np.sign(strength) and abs(gap) > 0.3


def test_mask_accepts_a_generator_and_is_reproducible() -> None:
    a = missing_mask(0.5, n=100, seed=np.random.default_rng(4))
    b = missing_mask(0.5, n=100, seed=4)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0.0,), {"n": 10}, "missing_mask: rate=0.0 is out of range: allowed 0 < rate < 1"),
        ((1.0,), {"n": 10}, "missing_mask: rate=1.0 is out of range: allowed 0 < rate < 1"),
        ((float("nan"),), {"n": 10}, "rate must be a finite number"),
        (("0.3",), {"n": 10}, "rate must be a number"),
        ((0.3,), {}, "needs n"),
        ((0.3,), {"n": 0}, "n=0 is out of range: allowed n ≥ 1"),
        ((0.3,), {"driver": [1.0, 1.0, 1.0]}, "driver is constant"),
        ((0.3,), {"driver": [1.0, np.nan, 2.0]}, "driver must hold finite values"),
        ((0.3,), {"driver": [[1.0, 2.0]]}, "driver must have 1 dimension"),
        ((0.3,), {"driver": [1.0, 2.0], "n": 3}, "does not match len"),
        ((0.3,), {"driver": [1.0, 2.0], "strength": float("inf")}, "strength must be"),
        ((0.3,), {"n": 10, "seed": -1}, "missing_mask: seed=-1 is out of range"),
    ],
)
def test_mask_bad_input(args, kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        missing_mask(*args, **kwargs)


# --- make_missing ----------------------------------------------------------------------------


def _bisection_reference(slope, rate):
    """The hand-written solver that scipy.optimize.brentq replaced: 100 bisection steps."""
    from scipy.special import expit

    low, high = -60.0, 60.0
    for _ in range(100):
        middle = (low + high) / 2
        if expit(middle + slope).mean() < rate:
            low = middle
        else:
            high = middle
    return expit((low + high) / 2 + slope)


@pytest.mark.parametrize("case", range(20))
def test_brentq_intercept_matches_the_bisection_it_replaced(case) -> None:
    rng = np.random.default_rng(case)
    slope = rng.normal(0, rng.uniform(0.1, 4), rng.integers(2, 5_000))
    rate = float(rng.uniform(0.01, 0.99))
    solved = operations._probabilities_with_mean(slope, rate)
    assert solved.mean() == pytest.approx(rate, abs=1e-12)
    np.testing.assert_allclose(solved, _bisection_reference(slope, rate), rtol=0, atol=1e-12)


def test_missing_mask_draws_the_same_rows_as_before_the_solver_change() -> None:
    driver = np.random.default_rng(7).lognormal(size=20_000)
    slope = 2.0 * (driver - driver.mean()) / driver.std()
    before = np.random.default_rng(3).random(driver.size) < _bisection_reference(slope, 0.3)
    np.testing.assert_array_equal(missing_mask(0.3, driver=driver, strength=2.0, seed=3), before)


def test_make_missing_copies_and_only_touches_the_column(survey) -> None:
    before = survey.copy()
    out = make_missing(survey, "income", "MCAR", rate=0.3, seed=0)
    pd.testing.assert_frame_equal(survey, before)  # the truth is not modified
    assert out["income"].isna().any() and not out[["age", "subscribed"]].isna().any().any()
    kept = out["income"].notna()
    pd.testing.assert_series_equal(out.loc[kept, "income"], survey.loc[kept, "income"])


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_make_missing_rate(survey, mechanism) -> None:
    cause = {"MCAR": None, "MAR": "age", "MNAR": None}[mechanism]
    out = make_missing(survey, "income", mechanism, rate=0.25, cause=cause, seed=0)
    assert abs(out["income"].isna().mean() - 0.25) < 0.015


def test_mechanisms_leave_the_biases_the_book_describes(survey) -> None:
    true_mean, sd = survey["income"].mean(), survey["income"].std()

    def deletion_bias(mechanism, cause, strength):
        out = make_missing(
            survey, "income", mechanism, rate=0.3, cause=cause, strength=strength, seed=5
        )
        return (out["income"].mean() - true_mean) / sd

    assert abs(deletion_bias("MCAR", None, 2.0)) < 0.03
    assert deletion_bias("MAR", "age", -2.0) > 0.1  # the young (lower earners) go missing
    assert deletion_bias("MNAR", "income", 2.0) < -0.2  # the rich go missing


def test_mnar_accepts_its_own_column_as_cause(survey) -> None:
    a = make_missing(survey, "income", "MNAR", rate=0.3, seed=2)
    b = make_missing(survey, "income", "MNAR", rate=0.3, cause="income", seed=2)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (
            ("income", "MNR"),
            {},
            ValueError,
            "make_missing: mechanism='MNR' is not allowed",
        ),
        (("salary", "MCAR"), {}, ValueError, "column='salary' is not allowed: choose one of 'age'"),
        (("income", "MCAR"), {"cause": "age"}, ValueError, "MCAR' depends on nothing"),
        (("income", "MAR"), {}, ValueError, "'MAR' needs cause"),
        (("income", "MAR"), {"cause": "income"}, ValueError, "that is 'MNAR'"),
        (("income", "MAR"), {"cause": "height"}, ValueError, "cause='height' is not allowed"),
        (("income", "MNAR"), {"cause": "age"}, ValueError, "depends on the missing value itself"),
        (("income", "MCAR"), {"rate": 1.5}, ValueError, "allowed 0 < rate < 1"),
    ],
)
def test_make_missing_bad_input(survey, args, kwargs, error, match) -> None:
    with pytest.raises(ParameterError, match=match):
        make_missing(survey, *args, **{"rate": 0.3, **kwargs})


def test_make_missing_needs_a_dataframe() -> None:
    with pytest.raises(ParameterError, match="make_missing: frame must be a DataFrame; got dict"):
        make_missing({"income": [1.0]}, "income", "MCAR", rate=0.3)


# --- hashing ---------------------------------------------------------------------------------


def test_hash_buckets_are_stable_in_range_and_match_feature_hasher() -> None:
    from sklearn.feature_extraction import FeatureHasher

    categories = [f"user {i}" for i in range(500)]
    buckets = hash_buckets(categories, 64)
    assert buckets.shape == (500,) and buckets.min() >= 0 and buckets.max() < 64
    np.testing.assert_array_equal(buckets, hash_buckets(categories, 64))
    hashed = FeatureHasher(n_features=64, input_type="string", alternate_sign=False).transform(
        [[c] for c in categories]
    )
    np.testing.assert_array_equal(buckets, np.asarray(hashed.argmax(axis=1)).ravel())
    assert hash_buckets([], 8).shape == (0,)


def test_hash_buckets_bad_input() -> None:
    with pytest.raises(ParameterError, match="hash_buckets: n_buckets=0 is out of range"):
        hash_buckets(["a"], 0)
    with pytest.raises(ParameterError, match=r"categories \(each\) must be a str; got int"):
        hash_buckets(["a", 3], 8)


def test_collision_rate_counts_categories_sharing_a_bucket() -> None:
    assert collision_rate([0, 1, 2]) == 0.0
    assert collision_rate([5, 5, 5]) == 1.0
    assert collision_rate([0, 1, 1, 2]) == 0.5
    with pytest.raises(ParameterError, match="buckets must have at least 1 row"):
        collision_rate([])


def test_expected_collision_rate_formula_and_edges() -> None:
    assert expected_collision_rate(1, 10) == 0.0  # a lone category never collides
    assert expected_collision_rate(5, 1) == 1.0  # one bucket: everybody collides
    assert expected_collision_rate(1, 1) == 0.0
    assert expected_collision_rate(100, 1_000) == pytest.approx(1 - (1 - 1 / 1_000) ** 99)
    assert expected_collision_rate(10_000, 10**9) == pytest.approx(1e-5, rel=1e-3)  # no cancel
    with pytest.raises(ParameterError, match="n_categories=0 is out of range"):
        expected_collision_rate(0, 10)
    with pytest.raises(ParameterError, match="n_buckets must be an integer"):
        expected_collision_rate(10, 2.5)


@pytest.mark.parametrize("n_buckets", [256, 2_048, 16_384])
def test_murmurhash_collisions_match_uniform_theory(n_buckets) -> None:
    categories = [f"brand-{i}" for i in range(3_000)]
    measured = collision_rate(hash_buckets(categories, n_buckets))
    assert abs(measured - expected_collision_rate(3_000, n_buckets)) < 0.03


def test_shared_bucket_rate() -> None:
    assert shared_bucket_rate([0, 1, 2], [2, 5]) == 0.5
    assert shared_bucket_rate([], [1]) == 0.0
    with pytest.raises(ParameterError, match="new must have at least 1 row"):
        shared_bucket_rate([1], [])


# --- AUC against the truth ---------------------------------------------------------------------


def _pairwise_auc(p, s):
    """The definition, pair by pair: weight p_i (1 - p_j) over distinct rows, ties count half."""
    above = pairs = 0.0
    for i in range(len(p)):
        for j in range(len(p)):
            if i != j:
                weight = p[i] * (1 - p[j])
                pairs += weight
                above += weight * ((s[i] > s[j]) + 0.5 * (s[i] == s[j]))
    return above / pairs


def test_auc_against_truth_matches_its_definition_with_ties() -> None:
    rng = np.random.default_rng(0)
    p, s = rng.random(60), rng.integers(0, 6, 60).astype(float)
    assert auc_against_truth(p, s) == pytest.approx(_pairwise_auc(p, s), abs=1e-12)


def test_auc_against_truth_is_the_usual_auc_for_01_truth() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y, s = (rng.random(300) < 0.2).astype(float), rng.normal(size=300)
    s[:50] = np.round(s[:50])  # some ties
    assert auc_against_truth(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auc_against_truth_is_the_mean_auc_over_label_draws() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    p = rng.beta(1, 8, 4_000)
    s = np.log(p) + rng.normal(0, 1.0, p.size)  # a noisy but informative score
    draws = [roc_auc_score(rng.random(p.size) < p, s) for _ in range(200)]
    assert auc_against_truth(p, s) == pytest.approx(np.mean(draws), abs=0.003)


def test_auc_against_truth_counts_bootstrap_copies_as_rows() -> None:
    rng = np.random.default_rng(3)
    p, s = rng.random(40), rng.integers(0, 4, 40).astype(float)
    counts = rng.multinomial(40, np.full(40, 1 / 40), size=3)
    by_draw = auc_against_truth(p, s, weights=counts)
    repeated = [auc_against_truth(np.repeat(p, c), np.repeat(s, c)) for c in counts]
    assert by_draw.shape == (3,)
    np.testing.assert_allclose(by_draw, repeated, atol=1e-12)
    assert auc_against_truth(p, s, weights=counts[0]) == pytest.approx(repeated[0], abs=1e-12)


def test_auc_against_truth_is_invariant_to_increasing_maps() -> None:
    rng = np.random.default_rng(4)
    p, s = rng.random(100), rng.random(100)
    assert auc_against_truth(p, np.exp(3 * s)) == pytest.approx(auc_against_truth(p, s))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([0.2, 1.5], [1, 2]), {}, r"probability must be in \[0, 1\]"),
        (([0.2, 0.5], [1, 2, 3]), {}, "one value per row: 2 probabilities, 3 scores"),
        (([0.2, np.nan], [1, 2]), {}, "probability"),
        (([0.2, 0.5], [1, 2]), {"weights": [1, 2, 3]}, r"weights must have shape \(2,\)"),
        (([0.2, 0.5], [1, 2]), {"weights": [1, -1]}, "non-negative"),
        (([0.0, 0.0], [1, 2]), {}, "no pair of a possible positive"),
        (([0.5], [1]), {}, "probability must have at least 2"),
    ],
)
def test_auc_against_truth_bad_input(args, kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        auc_against_truth(*args, **kwargs)


# --- cyclical encoding -----------------------------------------------------------------------


def test_cyclical_features_put_period_ends_next_to_each_other() -> None:
    xy = cyclical_features(np.arange(24), period=24)
    assert xy.shape == (24, 2)
    np.testing.assert_allclose((xy**2).sum(axis=1), 1.0)
    steps = np.linalg.norm(np.diff(np.vstack([xy, xy[:1]]), axis=0), axis=1)
    np.testing.assert_allclose(steps, steps[0])  # 23 -> 0 is one ordinary step
    np.testing.assert_allclose(cyclical_features([1, 25], period=24)[0], xy[1])
    np.testing.assert_allclose(cyclical_features(np.array([[6.0]]), 24), [[1.0, 0.0]], atol=1e-12)


@pytest.mark.parametrize(
    ("values", "period", "match"),
    [
        ([1, 2], 0, "period=0.0 is out of range: allowed period > 0"),
        ([1, 2], -24, "allowed period > 0"),
        ([1, 2], "24", "period must be a number"),
        ([1, np.nan], 24, "values must hold finite values"),
        (np.zeros((2, 2)), 24, "values must have 1 dimension"),
    ],
)
def test_cyclical_features_bad_input(values, period, match) -> None:
    with pytest.raises(ParameterError, match=match):
        cyclical_features(values, period)


def test_cyclical_encoder_in_a_pipeline() -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    hours = pd.DataFrame({"hour": np.tile(np.arange(24), 5)})
    target = 10 + 3 * np.cos(2 * np.pi * (hours["hour"] - 2) / 24)
    model = make_pipeline(cyclical_encoder(24), LinearRegression()).fit(hours, target)
    np.testing.assert_allclose(model.predict(hours), target, atol=1e-9)
    assert cyclical_encoder(24).fit(hours).get_feature_names_out().tolist() == ["sin", "cos"]
    with pytest.raises(ParameterError, match="cyclical_encoder: period=0.0 is out of range"):
        cyclical_encoder(0)
