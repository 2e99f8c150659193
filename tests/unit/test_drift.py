"""Tests of ``monitoring.drift`` (per-feature drift) and ``mlsys_kit.monitoring.drift_tests``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import brentq
from scipy.spatial.distance import jensenshannon

from mlsys_kit.monitoring.drift import (
    COLUMNS,
    CORRECTIONS,
    DEFAULT_MIN_SHIFT,
    DEFAULT_THRESHOLDS,
    METHODS,
    DriftReport,
    correction_thresholds,
    detect_drift,
    ks_test,
    psi_from_counts,
)
from mlsys_kit.monitoring.drift_tests import MAX_MMD_ROWS, domain_classifier_test, mmd_test


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _numeric(rng, n, shift=0.0, columns=("a", "b")) -> pd.DataFrame:
    return pd.DataFrame({c: rng.normal(shift, 1, n) for c in columns})


def _row(report: DriftReport, feature: str) -> pd.Series:
    return report.to_frame().set_index("feature").loc[feature]


# ----------------------------------------------------------------------------- agreement with scipy


def test_ks_agrees_with_scipy(rng) -> None:
    ref, cur = _numeric(rng, 400), _numeric(rng, 300, shift=0.2)
    row = _row(detect_drift(ref, cur, method="ks"), "a")
    expected = stats.ks_2samp(ref["a"], cur["a"])
    assert row["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_agrees_with_scipy_on_categories(rng) -> None:
    ref = pd.DataFrame({"c": rng.choice(["x", "y", "z"], 500, p=[0.5, 0.3, 0.2])})
    cur = pd.DataFrame({"c": rng.choice(["x", "y", "z"], 400, p=[0.4, 0.3, 0.3])})
    row = _row(detect_drift(ref, cur, method="chi2"), "c")
    table = np.array([[ref["c"].eq(v).sum(), cur["c"].eq(v).sum()] for v in "xyz"]).T
    expected = stats.chi2_contingency(table, correction=False)
    assert row["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_on_numbers_uses_reference_deciles(rng) -> None:
    ref, cur = _numeric(rng, 1000), _numeric(rng, 800, shift=0.1)
    row = _row(detect_drift(ref, cur, method="chi2"), "a")
    edges = np.quantile(ref["a"], np.linspace(0, 1, 11)[1:-1])
    table = np.vstack(
        [np.bincount(np.searchsorted(edges, x["a"].to_numpy()), minlength=10) for x in (ref, cur)]
    )
    expected = stats.chi2_contingency(table, correction=False)
    assert row["statistic"] == pytest.approx(expected.statistic, rel=1e-9)


def test_wasserstein_agrees_with_scipy_after_normalising(rng) -> None:
    ref, cur = _numeric(rng, 300) * 5, _numeric(rng, 200, shift=0.3) * 5
    row = _row(detect_drift(ref, cur, method="wasserstein"), "a")
    expected = stats.wasserstein_distance(ref["a"], cur["a"]) / np.std(ref["a"])
    assert row["statistic"] == pytest.approx(expected, rel=1e-12)
    assert row["threshold"] == DEFAULT_THRESHOLDS["wasserstein"]
    assert math.isnan(row["p_value"])


def test_js_agrees_with_scipy(rng) -> None:
    ref = pd.DataFrame({"c": rng.choice(list("pqrs"), 600)})
    cur = pd.DataFrame({"c": rng.choice(list("pqr"), 600)})  # "s" vanished
    row = _row(detect_drift(ref, cur, method="js"), "c")
    p = ref["c"].value_counts(normalize=True).reindex(list("pqrs"), fill_value=0)
    q = cur["c"].value_counts(normalize=True).reindex(list("pqrs"), fill_value=0)
    assert row["statistic"] == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert bool(row["drifted"])  # a quarter of the mass moved


def test_psi_formula_symmetry_and_empty_bins() -> None:
    p, q = np.array([30.0, 50.0, 20.0]), np.array([20.0, 40.0, 40.0])
    sp, sq = (p + 0.5) / (p.sum() + 1.5), (q + 0.5) / (q.sum() + 1.5)
    assert psi_from_counts(p, q) == pytest.approx(np.sum((sq - sp) * np.log(sq / sp)))
    assert psi_from_counts(p, q) == pytest.approx(psi_from_counts(q, p))
    assert psi_from_counts(p, p) == 0
    assert math.isfinite(psi_from_counts([10, 0], [0, 10]))


@pytest.mark.parametrize(
    ("ref", "cur"), [([1, 2], [1, 2, 3]), ([-1, 2], [1, 2]), ([0, 0], [1, 1]), ([], [])]
)
def test_psi_rejects_bad_counts(ref, cur) -> None:
    with pytest.raises(ValueError, match="counts"):
        psi_from_counts(ref, cur)


def test_default_thresholds_flag_the_same_effect() -> None:
    # Each threshold is reached by one mean shift of a normal feature (documented: ~0.32 SD).
    edges = stats.norm.ppf(np.linspace(0, 1, 11)[1:-1])

    def shares(delta):
        return np.diff(np.r_[0, stats.norm.cdf(edges - delta), 1])

    base = shares(0)
    delta = brentq(lambda d: np.sum((shares(d) - base) * np.log(shares(d) / base)) - 0.1, 0, 2)
    assert delta == pytest.approx(DEFAULT_THRESHOLDS["wasserstein"], abs=0.01)
    assert jensenshannon(base, shares(delta), base=2) == pytest.approx(
        DEFAULT_THRESHOLDS["js"], abs=0.005
    )


# ----------------------------------------------------------------------------- multiple testing


def _holm_reference(p: np.ndarray, alpha: float) -> np.ndarray:
    rejected = np.zeros(len(p), dtype=bool)
    for rank, i in enumerate(np.argsort(p)):
        if p[i] > alpha / (len(p) - rank):
            break
        rejected[i] = True
    return rejected


def test_holm_thresholds_give_holms_verdicts(rng) -> None:
    for _ in range(200):
        p = rng.uniform(0, 0.1, size=rng.integers(1, 12))
        thresholds = correction_thresholds(p, 0.05, "holm")
        np.testing.assert_array_equal(p <= thresholds, _holm_reference(p, 0.05))


def test_bonferroni_and_none() -> None:
    p = [0.01, 0.02, 0.5, 0.9]
    assert correction_thresholds(p, 0.1, "bonferroni").tolist() == [0.025] * 4
    assert correction_thresholds(p, 0.1, "none").tolist() == [0.1] * 4


def test_holm_controls_family_wise_false_alarms(rng) -> None:
    p = rng.uniform(size=(4000, 20))  # p-values of 20 features with no shift
    any_alarm = np.mean([(row <= correction_thresholds(row, 0.05)).any() for row in p])
    assert any_alarm == pytest.approx(1 - (1 - 0.05 / 20) ** 20, abs=0.012)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_values": [0.1, float("nan")]}, "without NaN"),
        ({"p_values": [1.5]}, r"\[0, 1\]"),
        ({"p_values": [0.1], "alpha": 0}, "alpha"),
        ({"p_values": [0.1], "correction": "fdr"}, "'holm', 'bonferroni', 'none'"),
    ],
)
def test_correction_thresholds_rejects_bad_input(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        correction_thresholds(**kwargs)


def test_holm_is_the_default_and_can_be_turned_off(rng) -> None:
    ref = _numeric(rng, 300, columns=[f"x{i}" for i in range(10)])
    cur = _numeric(rng, 300, columns=[f"x{i}" for i in range(10)])
    cur["x0"] += 0.25  # a modest shift in one feature
    holm = detect_drift(ref, cur, method="ks").to_frame()
    none = detect_drift(ref, cur, method="ks", correction="none").to_frame()
    assert holm["threshold"].max() <= 0.05 and holm["threshold"].min() == pytest.approx(0.005)
    assert (none["threshold"] == 0.05).all()
    assert none["drifted"].sum() >= holm["drifted"].sum()
    assert detect_drift(ref, cur, method="ks").correction == "holm"


# ----------------------------------------------------------------------------- auto


def test_auto_tests_and_measures_every_column(rng) -> None:
    def mixed(n):
        return pd.DataFrame(
            {
                "amount": rng.lognormal(3, 1, n),
                "items": rng.integers(1, 5, n),  # 4 distinct values: compared as categories
                "country": rng.choice(["US", "DE", "FR", "BR", "IN", "JP"], n),
            }
        )

    for n in (60, 5000):
        table = detect_drift(mixed(n), mixed(n)).to_frame().set_index("feature")
        assert table["method"].to_dict() == {"amount": "ks", "items": "chi2", "country": "chi2"}
        assert (table["min_effect"] == DEFAULT_MIN_SHIFT).all()
        assert table["effect"].between(0, 1).all() and not table["drifted"].any()
    named = detect_drift(mixed(100), mixed(100), method="chi2").to_frame()
    assert named["effect"].isna().all() and named["min_effect"].isna().all()


def test_ks_and_wasserstein_agree_with_scipy(rng) -> None:
    from mlsys_kit.monitoring.drift import _ks_and_wasserstein

    for n, m in ((40, 70), (3000, 2000), (20_000, 15_000)):
        a, b = rng.normal(size=n) * 3, rng.normal(0.2, 1, m) * 3
        b[: m // 4] = np.round(b[: m // 4])  # ties
        d, p, effect = _ks_and_wasserstein(a, b)
        expected = stats.ks_2samp(a, b)
        assert d == pytest.approx(expected.statistic, rel=1e-12)
        assert p == pytest.approx(expected.pvalue, rel=1e-9)
        distance = stats.wasserstein_distance(a, b)
        assert effect == pytest.approx(distance / np.std(a), rel=1e-9)


SIZES = [(1, 1), (5, 5), (40, 70), (500, 500), (3000, 2000), (10_000, 10_000), (12_000, 9_000)]


@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ks_test_is_scipys_ks_2samp(rng, n, m) -> None:
    for shift in (0.0, 0.05, 0.3, 2.0):
        a, b = rng.normal(size=n), rng.normal(shift, 1, m)
        b[: m // 4] = np.round(b[: m // 4], 1)  # ties
        d, p = ks_test(a, b)
        expected = stats.ks_2samp(a, b)
        assert d == pytest.approx(expected.statistic, rel=1e-12, abs=1e-300)
        assert p == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300)


def test_ks_test_remembers_exact_p_values_by_sizes_and_steps(rng) -> None:
    from mlsys_kit.monitoring import drift

    a, b = rng.normal(size=300), rng.normal(0.2, 1, 200)
    first = ks_test(a, b)
    key = (300, 200, round(first[0] * 600))
    assert drift._EXACT_KS_P_VALUES[key] == first
    again = ks_test(a[::-1], b[::-1])  # other samples, same sizes and statistic: remembered
    assert again == first == tuple(map(float, stats.ks_2samp(a, b)))


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
def test_ks_p_value_of_equal_sizes_is_scipys_exact_one() -> None:
    from mlsys_kit.monitoring.drift import _ks_p_equal_sizes

    for n in (1, 2, 10, 37, 100, 500, 1000, 3000, 10_000):
        for h in sorted({int(h) for h in np.linspace(0, n, 40)}):
            # n values against the same n values moved up by h − 1/2: a statistic of h / n
            expected = stats.ks_2samp(np.arange(n), np.arange(n) + max(h - 0.5, 0))
            assert expected.statistic == pytest.approx(h / n)
            assert _ks_p_equal_sizes(n, h) == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300)


def test_auto_effect_of_a_location_shift_is_the_shift_in_sd(rng) -> None:
    # A pure location shift by delta SD gives W/SD = delta, whatever the shape.
    for draw in (rng.normal, rng.exponential):
        ref = pd.DataFrame({"a": draw(size=20_000)})
        cur = pd.DataFrame({"a": draw(size=20_000)})
        cur["a"] += 0.3 * ref["a"].std(ddof=0)
        assert _row(detect_drift(ref, cur), "a")["effect"] == pytest.approx(0.3, abs=0.03)


def test_auto_ignores_a_significant_but_small_shift(rng) -> None:
    # 100,000 rows: KS calls a 0.05 SD shift significant; "auto" reports it, and waits.
    ref, cur = _numeric(rng, 100_000), _numeric(rng, 100_000, shift=0.05)
    row = _row(detect_drift(ref, cur), "a")
    assert row["p_value"] < row["threshold"] and row["effect"] < DEFAULT_MIN_SHIFT
    assert not row["drifted"]
    assert detect_drift(ref, cur, method="ks").drifted == ["a", "b"]


def test_auto_gates_categories_in_the_same_unit(rng) -> None:
    n = 100_000
    ref = pd.DataFrame({"new": rng.random(n) < 0.20})
    small = pd.DataFrame({"new": rng.random(n) < 0.22})  # significant, small
    large = pd.DataFrame({"new": rng.random(n) < 0.35})
    row = _row(detect_drift(ref, small), "new")
    assert row["p_value"] < 0.001 and row["effect"] < DEFAULT_MIN_SHIFT and not row["drifted"]
    assert detect_drift(ref, large).drifted == ["new"]


def test_shift_equivalent_inverts_the_psi_of_a_mean_shift() -> None:
    from mlsys_kit.monitoring.drift import _psi_of_mean_shift, _shift_equivalent

    for delta in (0.05, 0.15, 0.32, 1.0, 3.0):
        assert _shift_equivalent(_psi_of_mean_shift(delta)) == pytest.approx(delta, rel=1e-6)
    # The documented equivalence: PSI 0.1 is a shift of about a third of an SD.
    assert _shift_equivalent(0.1) == pytest.approx(DEFAULT_THRESHOLDS["wasserstein"], abs=0.01)
    assert _shift_equivalent(0.0) == 0.0 and _shift_equivalent(1e6) == 5.0


def test_auto_false_alarms_stay_within_alpha(rng) -> None:
    # Verdicts need the test *and* the effect: never more alarms than the test alone.
    columns = [f"r{i}" for i in range(400)]
    for n in (100, 1000):
        ref, cur = _numeric(rng, n, columns=columns), _numeric(rng, n, columns=columns)
        table = detect_drift(ref, cur, correction="none").to_frame()
        assert table["drifted"].mean() <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)
        assert (table["drifted"] <= (table["p_value"] <= 0.05)).all()


def test_auto_flags_a_quarter_sd_from_1000_rows(rng) -> None:
    # The documented power: 0.25 SD in one of 20 features, 1,000 rows, Holm: >= 90%.
    columns = [f"x{i}" for i in range(20)]
    hits = []
    for _ in range(30):
        ref, cur = _numeric(rng, 1000, columns=columns), _numeric(rng, 1000, columns=columns)
        cur["x0"] += 0.25
        hits.append(detect_drift(ref, cur).drifted == ["x0"])
    assert np.mean(hits) >= 0.8  # measured ~0.97; 0.8 fails by chance < 1 in 1,000


def test_auto_detects_a_large_shift_at_every_size(rng) -> None:
    for n in (50, 500, 50_000):
        report = detect_drift(_numeric(rng, n), _numeric(rng, n, shift=1.0))
        assert report.drifted == ["a", "b"]


def test_threshold_override(rng) -> None:
    ref, cur = _numeric(rng, 20_000), _numeric(rng, 20_000, shift=0.1)
    assert detect_drift(ref, cur).drifted == []  # significant, under 0.15 SD
    assert detect_drift(ref, cur, threshold=0.05).drifted == ["a", "b"]
    assert (detect_drift(ref, cur, threshold=0.05).to_frame()["min_effect"] == 0.05).all()
    psi = detect_drift(ref, cur, method="psi", threshold=0.005).to_frame()
    assert (psi["threshold"] == 0.005).all() and psi["drifted"].all()


# ----------------------------------------------------------------------------- messy data


def test_mixed_types_and_missing_values_do_not_crash(rng) -> None:
    n = 400

    def frame(shift):
        df = pd.DataFrame(
            {
                "float": rng.normal(shift, 1, n),
                "int": rng.integers(0, 100, n),
                "bool": rng.random(n) < 0.3,
                "category": pd.Categorical(rng.choice(["a", "b", "c"], n)),
                "text": pd.array(rng.choice(["u", "v"], n), dtype="str"),
                "object": pd.Series(rng.choice([1, "two", 3.0], n), dtype=object),
                "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 99, n), "D"),
                "constant": np.ones(n),
            }
        )
        df.loc[rng.random(n) < 0.1, ["float", "category", "text", "when"]] = None
        return df

    for method in ("auto", "chi2", "psi", "js"):
        table = detect_drift(frame(0), frame(0.5), method=method).to_frame()
        assert list(table.columns) == list(COLUMNS) and len(table) == 8
        assert table["missing_reference"].between(0, 1).all()
    table = detect_drift(frame(0), frame(0.5)).to_frame().set_index("feature")
    assert table.loc["float", "missing_current"] == pytest.approx(0.1, abs=0.05)
    assert table.loc["float", "n_current"] == round(n * (1 - table.loc["float", "missing_current"]))
    assert table.loc["constant", "statistic"] == pytest.approx(0, abs=1e-9)


def test_missing_values_are_reported_not_compared(rng) -> None:
    ref, cur = _numeric(rng, 2000), _numeric(rng, 2000)
    cur.loc[: len(cur) // 2, "a"] = np.nan  # half the values lost, the rest unchanged
    row = _row(detect_drift(ref, cur), "a")
    assert row["missing_reference"] == 0 and row["missing_current"] == pytest.approx(0.5, 0.01)
    assert not row["drifted"]


def test_a_feature_missing_on_one_side_is_an_alarm(rng) -> None:
    ref, cur = _numeric(rng, 100), _numeric(rng, 100)
    cur["a"] = np.nan
    ref["b"] = np.nan
    cur["b"] = np.nan
    table = detect_drift(ref, cur).to_frame().set_index("feature")
    assert bool(table.loc["a", "drifted"]) and math.isnan(table.loc["a", "statistic"])
    assert table.loc["a", "method"] == "none" and table.loc["a", "missing_current"] == 1
    assert not table.loc["b", "drifted"]


def test_categories_new_in_current(rng) -> None:
    ref = pd.DataFrame({"c": rng.choice(["a", "b"], 3000)})
    cur = pd.DataFrame({"c": rng.choice(["a", "b", "new"], 3000)})
    for method in ("auto", "chi2", "psi", "js"):
        assert detect_drift(ref, cur, method=method).drifted == ["c"]


# ----------------------------------------------------------------------------- the report


def test_report_api(rng) -> None:
    ref, cur = _numeric(rng, 300), _numeric(rng, 300)
    cur["b"] += 1
    report = detect_drift(ref, cur)
    assert report.drifted == ["b"] and report.drift_detected and len(report) == 2
    frame = report.to_frame()
    assert list(frame.columns) == list(COLUMNS)
    frame.loc[0, "drifted"] = True  # a copy: the report does not change
    assert report.drifted == ["b"]
    text = repr(report)
    assert text.startswith("DriftReport: 1 of 2 features drifted (alpha 0.05, Holm")
    assert "<0.001" in text and "b" in text
    assert report._repr_html_() == report.to_frame()._repr_html_()  # HTML from to_frame


def test_columns_argument_selects_features(rng) -> None:
    ref, cur = _numeric(rng, 100), _numeric(rng, 100)
    assert detect_drift(ref, cur, columns=["b"]).to_frame()["feature"].tolist() == ["b"]


def test_one_million_rows_runs(rng) -> None:
    ref = pd.DataFrame({"a": rng.normal(size=1_000_000)})
    cur = pd.DataFrame({"a": rng.normal(0.5, 1, size=1_000_000)})
    assert detect_drift(ref, cur).drifted == ["a"]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "kss"}, ValueError, "'auto', 'ks', 'chi2', 'psi', 'js', 'wasserstein'"),
        ({"correction": "fdr"}, ValueError, "'holm', 'bonferroni', 'none'"),
        (
            {"alpha": 0},
            ValueError,
            r"detect_drift: alpha=0.0 is out of range: allowed 0 < alpha ≤ 0.5",
        ),
        ({"alpha": 0.9}, ValueError, "alpha"),
        ({"alpha": True}, ValueError, "alpha"),
        ({"threshold": -1}, ValueError, "threshold=-1.0 is out of range: allowed threshold > 0"),
        ({"columns": ["a", "zz"]}, ValueError, r"\['zz'\] are not in reference"),
        ({"columns": ["a", "a"]}, ValueError, "unique"),
        ({"columns": []}, ValueError, "no columns"),
    ],
)
def test_bad_options_are_named(rng, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        detect_drift(_numeric(rng, 10), _numeric(rng, 10), **kwargs)


def test_bad_frames_are_named(rng) -> None:
    ref = _numeric(rng, 10)
    with pytest.raises(TypeError, match="current must be a DataFrame; got ndarray"):
        detect_drift(ref, ref.to_numpy())
    with pytest.raises(ValueError, match="current is empty"):
        detect_drift(ref, ref.iloc[:0])
    with pytest.raises(ValueError, match=r"\['b'\] are not in current"):
        detect_drift(ref, ref[["a"]])
    text = ref.assign(a=ref["a"].astype(str))
    with pytest.raises(ValueError, match="'a' is numeric in reference .* categorical in current"):
        detect_drift(ref, text)


@pytest.mark.parametrize("method", ["ks", "wasserstein"])
def test_numeric_methods_refuse_categories_by_name(rng, method) -> None:
    ref = pd.DataFrame({"x": rng.normal(size=20), "country": ["US"] * 20})
    with pytest.raises(ValueError, match=r"needs numeric columns, but \['country'\]"):
        detect_drift(ref, ref, method=method)


def test_constants_are_consistent() -> None:
    assert set(DEFAULT_THRESHOLDS) | {"ks", "chi2"} == set(METHODS)
    assert CORRECTIONS[0] == "holm"


# ----------------------------------------------------------------------------- multivariate tests


def _correlated(rng, n, rho):
    return rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)


def test_mmd_sees_a_correlation_shift_and_not_noise(rng) -> None:
    ref = rng.normal(size=(300, 2))
    shifted = mmd_test(ref, _correlated(rng, 300, 0.8), n_permutations=99, seed=1)
    assert shifted.p_value == pytest.approx(0.01) and shifted.drifted(0.05)
    same = mmd_test(ref, rng.normal(size=(300, 2)), n_permutations=99, seed=1)
    assert shifted.statistic > same.statistic > 0


def test_mmd_false_alarm_rate_is_alpha(rng) -> None:
    # A permutation test is exact: without shift, p <= 0.05 in 5% of draws (60 draws: 3 SE).
    p = [
        mmd_test(rng.normal(size=(60, 2)), rng.normal(size=(60, 2)), n_permutations=39, seed=i)
        for i in range(60)
    ]
    rate = np.mean([r.drifted(0.05) for r in p])
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 60)


def test_mmd_statistic_is_the_biased_estimate(rng) -> None:
    x, y = rng.normal(size=(30, 2)), rng.normal(0.5, 1, size=(20, 2))
    result = mmd_test(x, y, n_permutations=19, bandwidth=1.3)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    xs, ys = (x - mu) / sd, (y - mu) / sd

    def k(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * 1.3**2))

    expected = k(xs, xs).mean() + k(ys, ys).mean() - 2 * k(xs, ys).mean()
    assert result.statistic == pytest.approx(expected, rel=1e-9)


def test_mmd_bad_input(rng) -> None:
    x = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="reference has 2 features but current has 3"):
        mmd_test(x, rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="missing or infinite"):
        mmd_test(np.where(x > 1, np.nan, x), x)
    with pytest.raises(ValueError, match=f"more than {MAX_MMD_ROWS:,}"):
        mmd_test(np.zeros((MAX_MMD_ROWS, 1)), np.zeros((10, 1)))
    with pytest.raises(
        ValueError, match="n_permutations=5 is out of range: allowed n_permutations ≥ 19"
    ):
        mmd_test(x, x, n_permutations=5)
    with pytest.raises(ValueError, match="must be numeric"):
        mmd_test(pd.DataFrame({"c": list("abcdefghij")}), x[:, :1])


@pytest.fixture
def one_thread():
    # OpenMP's spinning threads crawl on a loaded machine; the data here are tiny. The limit
    # applies to libraries already loaded, so load scikit-learn's OpenMP runtime first.
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_domain_classifier_auc(rng, one_thread) -> None:
    ref = pd.DataFrame({"a": rng.normal(size=400), "c": rng.choice(["x", "y"], 400)})
    cur = pd.DataFrame({"a": rng.normal(1, 1, size=400), "c": rng.choice(["x", "y"], 400)})
    cur.loc[:40, "a"] = np.nan
    shifted = domain_classifier_test(ref, cur, seed=0)
    assert shifted.statistic > 0.7 and shifted.p_value < 1e-6
    assert shifted.n_reference == shifted.n_current == 200
    again = pd.DataFrame({"a": rng.normal(size=400), "c": rng.choice(["x", "y"], 400)})
    same = domain_classifier_test(ref, again, seed=0)
    assert 0.4 < same.statistic < 0.6 and same.p_value > 0.01


def test_domain_classifier_bad_input(rng) -> None:
    ref = pd.DataFrame({"a": rng.normal(size=50)})
    with pytest.raises(ValueError, match="same columns"):
        domain_classifier_test(ref, ref.rename(columns={"a": "b"}))
    with pytest.raises(ValueError, match="at least 20"):
        domain_classifier_test(ref, ref.head(5))
    with pytest.raises(ValueError, match="test_size"):
        domain_classifier_test(ref, ref, test_size=0.99)
    with pytest.raises(TypeError, match="DataFrame"):
        domain_classifier_test(ref.to_numpy(), ref)


# ------------------------------------------------------------------ against the libraries


@pytest.mark.parametrize("seed", range(5))
def test_correction_thresholds_match_statsmodels(seed) -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 40))
    p = rng.uniform(0, 0.1, m) ** rng.uniform(0.5, 3)
    p[rng.random(m) < 0.2] = p[0]  # ties
    for correction in ("holm", "bonferroni"):
        for alpha in (0.01, 0.05, 0.2):
            thresholds = correction_thresholds(p, alpha, correction)
            reject = multipletests(p, alpha=alpha, method=correction)[0]
            np.testing.assert_array_equal(p <= thresholds, reject)
    np.testing.assert_allclose(correction_thresholds(p, 0.05, "bonferroni"), 0.05 / m)


def test_correction_thresholds_are_holms_step_down_levels() -> None:
    # 0.001 ≤ 0.05/3 passes, 0.03 > 0.05/2 fails: Holm stops there.
    np.testing.assert_allclose(
        correction_thresholds([0.001, 0.04, 0.03], 0.05), [0.05 / 3, 0.025, 0.025]
    )
    np.testing.assert_allclose(
        correction_thresholds([0.001, 0.02, 0.03], 0.05), [0.05 / 3, 0.025, 0.05]
    )


@pytest.mark.parametrize("seed", range(5))
def test_psi_from_counts_is_the_symmetrised_kl_of_scipy(seed) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 20))
    p, q = rng.integers(0, 500, k), rng.integers(0, 500, k)
    p[0], q[0] = p[0] + 1, q[0] + 1
    sp, sq = (p + 0.5) / (p + 0.5).sum(), (q + 0.5) / (q + 0.5).sum()
    expected = stats.entropy(sp, sq) + stats.entropy(sq, sp)
    assert psi_from_counts(p, q) == pytest.approx(expected, rel=1e-12)
    assert psi_from_counts(p, q) == pytest.approx(np.sum((sq - sp) * np.log(sq / sp)), rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_binned_counts_are_the_kits_quantile_bins(seed) -> None:
    from mlsys_kit.monitoring.drift import _binned_counts
    from mlsys_kit.stats import quantile_bins, quantile_edges

    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=5_000).round(1), rng.normal(0.3, 1, 4_000).round(1)
    edges = quantile_edges(a, 10)
    expected = [np.bincount(quantile_bins(x, edges), minlength=len(edges) + 1) for x in (a, b)]
    np.testing.assert_array_equal(_binned_counts(a, b), np.vstack(expected))
    # a quantile at the minimum leaves the bin below it empty on both sides: dropped
    ties = np.repeat([1.0, 2.0, 3.0], [500, 300, 200])
    assert _binned_counts(ties, ties).tolist() == [[500, 300, 200], [500, 300, 200]]


def test_shift_test_result_is_a_one_row_report(rng) -> None:
    result = mmd_test(rng.normal(size=(100, 2)), rng.normal(size=(100, 2)), seed=0)
    frame = result.to_frame()
    assert list(frame.columns) == ["method", "statistic", "p_value", "n_reference", "n_current"]
    assert frame.iloc[0]["p_value"] == result.p_value and len(frame) == 1
    assert result._repr_html_() == frame._repr_html_()
    again = mmd_test(
        rng.normal(size=(100, 2)), rng.normal(size=(100, 2)), seed=np.random.default_rng(0)
    )
    assert 0 < again.p_value <= 1
