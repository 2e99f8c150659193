"""Per-feature drift detection: did the distribution of each feature change?

Serves Chapter 8, "Data Distribution Shifts and Monitoring", section "Detecting Data
Distribution Shifts" (Chip Huyen, *Designing Machine Learning Systems*, 2022): compare the
data a model sees in production (the *current* window) with the data it was trained or
validated on (the *reference* window), one feature at a time, with a two-sample test or a
distance. :func:`detect_drift` returns a :class:`DriftReport` with one row per feature.

Methods (``method=``):

============  ==========================  ===================================  =================
method        columns                     statistic                            verdict
============  ==========================  ===================================  =================
``"auto"``    any                         KS (numeric) or χ² (categories),     p-value *and*
              (the default)               and the effect in reference SDs      effect > 0.15
``"ks"``      numeric                     Kolmogorov–Smirnov D                 p-value (scipy)
``"chi2"``    any (numeric: decile bins)  Pearson χ² of the 2×k count table     p-value (scipy)
``"psi"``     any (numeric: decile bins)  population stability index           PSI > 0.1
``"js"``      any (numeric: decile bins)  Jensen–Shannon distance, base 2      JS > 0.13
``"wasserstein"`` numeric                 earth mover's distance ÷ reference   W > 0.32
                                          standard deviation
============  ==========================  ===================================  =================

The statistics come from scipy (:func:`scipy.stats.ks_2samp`,
:func:`scipy.stats.chi2_contingency`, :func:`scipy.stats.wasserstein_distance`,
:func:`scipy.spatial.distance.jensenshannon`), the bins from :mod:`mlsys_kit.stats` (the kit's
one quantile binning); PSI (a two-line formula neither library ships, :func:`psi_from_counts`),
the report and Holm's step-down thresholds are written here. **Why Holm is not statsmodels'.**
:func:`statsmodels.stats.multitest.multipletests` gives the same verdicts (the tests check it on
random p-values, for Holm and Bonferroni), but statsmodels 0.15 runs a full ``gc.collect()`` on
every Holm call: about 50 ms in a process with pandas and scikit-learn loaded, against 50 µs
for the ten lines below, and monitoring code calls it in loops (Chapter 8's notebook repeats a
20-feature check dozens of times; the family-wise test here, thousands of times). It also returns
verdicts and adjusted p-values, not the per-feature significance level the report shows.

**Default thresholds of the distances.** A distance has no p-value, so it needs a threshold.
PSI > 0.1 is the credit-risk industry's conventional "investigate" level. The other two are
set to the *same* effect: for a normal feature whose mean moves by δ standard deviations, the
PSI on reference deciles reaches 0.1 at δ ≈ 0.32; there, the Jensen–Shannon distance on the
same bins is 0.13 and the normalised Wasserstein distance is δ itself, 0.32. All three
defaults therefore flag "a shift of about a third of a standard deviation, or its equivalent".
Pass ``threshold=`` to choose another effect size.

**What ``method="auto"`` does, and why.** A test alone answers "is there any difference?":
with large samples its p-value becomes tiny for shifts far too small to matter (Chapter 8's
notebook 08/03 measures it). A distance alone answers "how large is it?", but with small
samples it is mostly noise, and a threshold on it has no false-alarm guarantee. ``"auto"``
asks both questions and flags a feature only when both answers are yes:

1. *Is the change real?* KS for numeric columns, χ² for categorical ones and for numeric
   columns with at most 10 distinct values; Holm's correction across all features
   (``correction=``), so the family-wise false-alarm rate of the report is at most ``alpha``,
   for any distributions and any sample size: ``"auto"`` can only say "no" more often than
   its test.
2. *Is it large enough to matter?* The **effect**, in standard deviations of the reference:
   the Wasserstein-1 distance between the two samples divided by the reference's standard
   deviation (the average distance that values moved, in SDs; a pure location shift by δ SDs
   gives exactly δ, for any shape). For a categorical column, the mean shift of a normal
   feature whose decile PSI equals the column's PSI (a PSI of 0.1 is an effect of about 0.32).
   The feature is flagged when the effect exceeds ``threshold`` (:data:`DEFAULT_MIN_SHIFT`,
   0.15 SD, by default).

KS and the effect compare at most :data:`AUTO_SAMPLE` (20,000) evenly spaced values of each
side (a million rows stay fast; the power at that size is already complete). The default
``min_effect`` was chosen by power against false alarms: for a normal feature whose mean moves
by δ SDs, one of 20 features in a report at α = 0.05 (Holm's first step, α/20; a lower bound
of its power) and a single feature at α = 0.05, the share of checks that flag it (1,000
simulated checks per cell; standard error ≤ 0.016):

=======  ===========  ===========  ===========  ===========  ===========  ===========
rows     δ = 0.1      δ = 0.15     δ = 0.2      δ = 0.25     δ = 0.3      δ = 0.5
=======  ===========  ===========  ===========  ===========  ===========  ===========
100      0.00 / 0.07  0.01 / 0.11  0.03 / 0.18  0.06 / 0.28  0.11 / 0.38  0.43 / 0.84
300      0.02 / 0.14  0.08 / 0.30  0.18 / 0.55  0.33 / 0.74  0.50 / 0.87  0.99 / 1.00
1,000    0.10 / 0.15  0.37 / 0.50  0.77 / 0.89  0.96 / 0.99  1.00 / 1.00  1.00 / 1.00
3,000    0.03 / 0.03  0.51 / 0.51  0.98 / 0.98  1.00 / 1.00  1.00 / 1.00  1.00 / 1.00
10,000   0.00 / 0.00  0.51 / 0.51  1.00 / 1.00  1.00 / 1.00  1.00 / 1.00  1.00 / 1.00
=======  ===========  ===========  ===========  ===========  ===========  ===========

(20 features / 1 feature.) A mean shift of 0.25 SD or more is flagged in ≥ 95% of checks from
1,000 rows per window, with 20 features and the family-wise rate at α; the tiny 0.1 SD shift,
which KS alone flags in every check at 10,000 rows, is left alone from a few thousand rows on
(a shift at the threshold, 0.15 SD, is flagged about half the time). With 20 unshifted
features, the measured family-wise false-alarm rate (1,000 checks) was 0.044, 0.053, 0.008
and 0.000 at 100, 300, 1,000 and 3,000 rows: α within the measurement's noise (two standard
errors: ± 0.014), as Holm guarantees, and lower where the effect gate refuses a significant
but small difference. Below about 1,000 rows, moderate shifts are
missed: the test has too little data, and no threshold fixes that without false alarms.
A larger ``threshold`` asks for larger shifts (fewer pages, later detection); a smaller one
moves ``"auto"`` towards the test alone.

**False alarms across features.** Testing 20 features at α = 0.05 alarms on at least one
feature in 1 − 0.95²⁰ ≈ 64% of checks with no shift at all. By default (``correction="holm"``)
the p-value verdicts control the *family-wise* error rate, the chance of any false alarm in one
check, at ``alpha``: Holm's step-down procedure does so under any dependence between features,
like Bonferroni, and never flags fewer features than Bonferroni (so it is the better default).
A family-wise guarantee, rather than a false-discovery rate, fits monitoring: every false
alarm pages someone. ``correction="none"`` tests each feature at ``alpha``.

**Binning.** chi2, PSI and JS compare numeric columns in ten bins cut at the reference's
deciles by :func:`mlsys_kit.stats.quantile_edges` (a value equal to an edge goes to the bin on
its right, as :func:`mlsys_kit.stats.quantile_bins` puts it). The deciles are estimated from
at most 20,000 evenly spaced reference values (each bin must hold about a tenth of the
reference, not exactly a tenth), which keeps one million rows fast;
:func:`mlsys_kit.monitoring.shifts.psi` bins the same way, so the same data give the same PSI
through either entry point. Numeric columns with at most 10 distinct values are compared
value by value, as categories.

**Missing values** are excluded from the comparison, and the missing-value rate of each side
is reported in its own columns. A feature with values on one side only is reported as drifted
(it broke), with a NaN statistic.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
>>> cur = pd.DataFrame({"x": rng.normal(1, 1, size=500), "c": rng.choice(["a", "b"], 500)})
>>> report = detect_drift(ref, cur)
>>> report.drifted
['x']
>>> report.to_frame()[["feature", "method", "effect", "drifted"]].round(2)
  feature method  effect  drifted
0       x     ks    0.95     True
1       c   chi2    0.06    False
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    check_array,
    check_choice,
    check_float,
    check_same_length,
    check_type,
)
from mlsys_kit.results import Report
from mlsys_kit.stats import quantile_edges

__all__ = [
    "METHODS",
    "CORRECTIONS",
    "DEFAULT_THRESHOLDS",
    "DEFAULT_MIN_SHIFT",
    "COLUMNS",
    "DriftReport",
    "detect_drift",
    "correction_thresholds",
    "psi_from_counts",
    "ks_test",
]

Method = Literal["auto", "ks", "chi2", "psi", "wasserstein", "js"]
Correction = Literal["holm", "bonferroni", "none"]

#: The named methods, in the order of the module's table.
METHODS: tuple[str, ...] = ("ks", "chi2", "psi", "js", "wasserstein")
#: Methods with a p-value; the others compare a distance with a threshold.
TEST_METHODS: tuple[str, ...] = ("ks", "chi2")
#: Methods that need ordered (numeric) values.
NUMERIC_ONLY: tuple[str, ...] = ("ks", "wasserstein")
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "none")
#: Distances' default thresholds, all equivalent to a mean shift of ~0.32 standard deviations
#: of a normal feature (see the module docstring).
DEFAULT_THRESHOLDS: dict[str, float] = {"psi": 0.1, "js": 0.13, "wasserstein": 0.32}
#: ``method="auto"``'s default smallest shift worth an alarm, in reference standard deviations
#: (see the module docstring, "What ``method="auto"`` does").
DEFAULT_MIN_SHIFT = 0.15
#: Under ``method="auto"``, KS and the Wasserstein distance compare at most this many evenly
#: spaced values of each side (sorted once each; a million rows stay fast).
AUTO_SAMPLE = 20_000
#: scipy's ``ks_2samp`` computes exact p-values up to this many values a side.
_SCIPY_EXACT_KS = 10_000
#: Numeric columns with at most this many distinct values are compared as categories.
MAX_DISCRETE_VALUES = 10
#: Numeric columns are binned on the reference's deciles for chi2, PSI and JS.
N_BINS = 10
#: Bin edges are estimated from at most this many evenly spaced reference values.
_EDGE_SAMPLE = 20_000
#: The columns of :meth:`DriftReport.to_frame`.
COLUMNS: tuple[str, ...] = (
    "feature",
    "method",
    "statistic",
    "p_value",
    "threshold",
    "effect",
    "min_effect",
    "drifted",
    "n_reference",
    "n_current",
    "missing_reference",
    "missing_current",
)


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class DriftReport(Report):
    """The result of :func:`detect_drift`: one row per feature.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per feature with the columns of :data:`COLUMNS`; use :meth:`to_frame`.
    alpha : float
        The false-alarm budget of the check.
    correction : {"holm", "bonferroni", "none"}
        How p-value verdicts were corrected across features.
    """

    table: pd.DataFrame
    alpha: float
    correction: str

    def to_frame(self) -> pd.DataFrame:
        """A copy of the report as a DataFrame, one row per feature.

        Columns: ``feature, method, statistic, p_value`` (NaN for distances),
        ``threshold`` (the corrected significance level for tests, the distance threshold
        otherwise), ``effect, min_effect`` (under ``method="auto"``: the effect in reference
        standard deviations and the smallest one that alarms; NaN otherwise), ``drifted``,
        ``n_reference, n_current`` (non-missing values compared), ``missing_reference,
        missing_current`` (share of missing values on each side).
        """
        return self.table.copy()

    @property
    def drifted(self) -> list[str]:
        """Names of the features whose verdict is "drifted", in column order."""
        return self.table.loc[self.table["drifted"], "feature"].tolist()

    @property
    def drift_detected(self) -> bool:
        """Whether any feature drifted."""
        return bool(self.table["drifted"].any())

    def __len__(self) -> int:
        return len(self.table)

    def _summary(self) -> str:
        how = {
            "holm": "Holm-corrected across features",
            "bonferroni": "Bonferroni-corrected across features",
            "none": "no correction across features",
        }[self.correction]
        names = ", ".join(self.drifted) if self.drifted else "none"
        return (
            f"DriftReport: {len(self.drifted)} of {len(self)} features drifted "
            f"(alpha {self.alpha:g}, {how}): {names}"
        )

    def _display_frame(self) -> pd.DataFrame:
        shown = self.table.copy()
        shown["statistic"] = shown["statistic"].map(_format_number)
        shown["p_value"] = shown["p_value"].map(_format_p)
        shown["threshold"] = shown["threshold"].map(lambda t: f"{t:.3g}")
        shown["effect"] = shown["effect"].map(lambda e: "—" if math.isnan(e) else f"{e:.2f}")
        shown["min_effect"] = shown["min_effect"].map(lambda e: "—" if math.isnan(e) else f"{e:g}")
        for side in ("missing_reference", "missing_current"):
            shown[side] = shown[side].map(lambda r: f"{r:.1%}")
        return shown.set_index("feature")

    def __repr__(self) -> str:
        return f"{self._summary()}\n{self._display_frame().to_string()}"


def _format_number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3f}" if abs(value) < 1e4 else f"{value:.3g}"


def _format_p(p: float) -> str:
    if math.isnan(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    method: Method = "auto",
    alpha: float = 0.05,
    correction: Correction = "holm",
    threshold: float | None = None,
    columns: Sequence[str] | None = None,
) -> DriftReport:
    """Compare each feature's distribution in ``current`` with ``reference``.

    Parameters
    ----------
    reference : pandas.DataFrame
        The data the model was trained or validated on (the reference window).
    current : pandas.DataFrame
        The data to check (the current window). It must have the compared columns.
    method : {"auto", "ks", "chi2", "psi", "js", "wasserstein"}, default "auto"
        ``"auto"`` flags a feature when a test (KS for numbers, χ² for categories) is
        significant *and* its effect, in reference standard deviations, exceeds
        ``threshold`` (see the module docstring for why, and its measured power); a named
        method is used alone for every column. ``"ks"`` and ``"wasserstein"`` need numeric
        columns.
    alpha : float, default 0.05
        False-alarm budget, in (0, 0.5]: the family-wise error rate of the whole check with
        a correction, the per-feature rate with ``correction="none"``.
    correction : {"holm", "bonferroni", "none"}, default "holm"
        How p-value verdicts are corrected for testing many features.
    threshold : float, optional
        Under ``"auto"``, the smallest effect worth an alarm, in reference standard
        deviations (:data:`DEFAULT_MIN_SHIFT`, 0.15, when omitted). For ``"psi"``, ``"js"``
        and ``"wasserstein"``, the distance threshold (:data:`DEFAULT_THRESHOLDS` when
        omitted). Ignored by ``"ks"`` and ``"chi2"``.
    columns : sequence of str, optional
        The features to compare; by default every column of ``reference``.

    Returns
    -------
    DriftReport
        ``.to_frame()`` has one row per feature; ``.drifted`` lists drifted features.
        Under ``"auto"``, its ``effect`` and ``min_effect`` columns show the effect gate.

    Raises
    ------
    ParameterError
        If ``reference`` or ``current`` is not a DataFrame, on an unknown method or
        correction (the allowed values are listed), an ``alpha`` or ``threshold`` out of
        range, an empty frame, columns missing from either frame, or a method that cannot
        apply to a column's type (or a column with another type on each side).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> ref = pd.DataFrame({"amount": rng.lognormal(3, 1, 2000)})
    >>> cur = pd.DataFrame({"amount": rng.lognormal(3.5, 1, 2000)})
    >>> detect_drift(ref, cur, method="ks").drifted
    ['amount']
    >>> detect_drift(ref, cur, method="magic")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: detect_drift: method='magic' is not allowed: choose one of ...
    """
    owner = "detect_drift"
    check_type("reference", reference, pd.DataFrame, owner=owner)
    check_type("current", current, pd.DataFrame, owner=owner)
    check_choice("method", method, ("auto", *METHODS), owner=owner)
    check_choice("correction", correction, CORRECTIONS, owner=owner)
    alpha = check_float("alpha", alpha, min=0, max=0.5, open_min=True, owner=owner)
    if threshold is not None:
        threshold = check_float("threshold", threshold, min=0, open_min=True, owner=owner)
    names = list(reference.columns) if columns is None else list(columns)
    if not names:
        raise ParameterError(
            f"{owner}: no columns to compare: reference has no columns and none were given"
        )
    if len(set(names)) < len(names):
        raise ParameterError(f"{owner}: columns must be unique; got {names}")
    for side, frame in (("reference", reference), ("current", current)):
        if len(frame) == 0:
            raise ParameterError(f"{owner}: {side} is empty: there are no rows to compare")
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise ParameterError(
                f"{owner}: column(s) {missing} are not in {side}; its columns are "
                f"{list(frame.columns)}"
            )
    if method in NUMERIC_ONLY:
        wrong = [n for n in names if _kind(reference[n]) != "numeric"]
        if wrong:
            raise ParameterError(
                f"{owner}: method={method!r} needs numeric columns, but {wrong} are not "
                "numeric: use 'chi2', 'psi' or 'js' for them, or method='auto'"
            )
    auto = method == "auto"
    rows = [_compare_column(reference[n], current[n], n, method, auto) for n in names]
    table = _decide(rows, method, alpha, correction, threshold)
    return DriftReport(table=table, alpha=float(alpha), correction=correction)


# --------------------------------------------------------------------------------------------
# One column
# --------------------------------------------------------------------------------------------


def _kind(values: pd.Series) -> str:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "numeric"
    return "categorical"


def _as_float(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        seconds = values.astype("int64").to_numpy(dtype=float) / 1e9
        seconds[values.isna().to_numpy()] = np.nan
        return seconds
    if values.dtype == np.float64:
        return values.to_numpy()
    return values.to_numpy(dtype=float, na_value=np.nan)


def _drop_nan(values: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    return values[~missing] if missing.any() else values


def _compare_column(
    ref: pd.Series, cur: pd.Series, name: str, method: str, auto: bool
) -> dict[str, Any]:
    ref_kind, cur_kind = _kind(ref), _kind(cur)
    if ref_kind != cur_kind:
        raise ParameterError(
            f"detect_drift: column {name!r} is {ref_kind} in reference ({ref.dtype}) but "
            f"{cur_kind} in current ({cur.dtype}): give both the same type"
        )
    if ref_kind == "numeric":
        a, b = _as_float(ref), _as_float(cur)
        n_ref, n_cur = len(a), len(b)
        a, b = _drop_nan(a), _drop_nan(b)
        row = _row(name, n_ref, n_cur, len(a), len(b))
        if len(a) and len(b):
            _numeric_statistic(row, a, b, method, auto)
    else:
        ref_counts = ref.value_counts(dropna=True)
        cur_counts = cur.value_counts(dropna=True)
        row = _row(name, len(ref), len(cur), int(ref_counts.sum()), int(cur_counts.sum()))
        if row["n_reference"] and row["n_current"]:
            counts = pd.concat([ref_counts, cur_counts], axis=1, sort=False).fillna(0)
            counts = counts[counts.sum(axis=1) > 0].to_numpy(dtype=float).T
            _counts_statistic(row, counts, "chi2" if auto else method)
            if auto:
                row["effect"] = _shift_equivalent(_psi(counts[0], counts[1]))
    return row


def _row(name: str, n_ref: int, n_cur: int, ok_ref: int, ok_cur: int) -> dict[str, Any]:
    return {
        "feature": name,
        "method": "",
        "statistic": math.nan,
        "p_value": math.nan,
        "effect": math.nan,
        "n_reference": ok_ref,
        "n_current": ok_cur,
        "missing_reference": 1 - ok_ref / n_ref,
        "missing_current": 1 - ok_cur / n_cur,
    }


def _n_distinct(values: np.ndarray) -> int:
    """The number of distinct values, or a number above :data:`MAX_DISCRETE_VALUES` that may
    be smaller than it (all the callers compare it with that limit)."""
    few = len(pd.unique(values[:: max(1, len(values) // 100)]))
    if few > MAX_DISCRETE_VALUES:  # a hundred values already tell a continuous column
        return few
    step = max(1, len(values) // 10_000)
    sample = values[::step]
    distinct = len(pd.unique(sample))
    return distinct if distinct > MAX_DISCRETE_VALUES else len(pd.unique(values))


def _numeric_statistic(
    row: dict[str, Any], a: np.ndarray, b: np.ndarray, method: str, auto: bool
) -> None:
    from scipy import stats

    discrete = _n_distinct(a) <= MAX_DISCRETE_VALUES
    if auto and discrete:
        counts = _discrete_counts(a, b)
        _counts_statistic(row, counts, "chi2")
        row["effect"] = _shift_equivalent(_psi(counts[0], counts[1]))
    elif auto:
        a, b = _evenly_spaced(a, AUTO_SAMPLE), _evenly_spaced(b, AUTO_SAMPLE)
        d, p_value, effect = _ks_and_wasserstein(a, b)
        row.update(method="ks", statistic=d, p_value=p_value, effect=effect)
    elif method == "ks":
        d, p_value = ks_test(a, b)
        row.update(method="ks", statistic=d, p_value=p_value)
    elif method == "wasserstein":
        distance = float(stats.wasserstein_distance(a, b))
        row.update(method="wasserstein", statistic=_normalise(distance, a))
    else:
        counts = _discrete_counts(a, b) if discrete else _binned_counts(a, b)
        _counts_statistic(row, counts, method)


def _evenly_spaced(values: np.ndarray, at_most: int) -> np.ndarray:
    """``values`` itself, or ``at_most`` of them evenly spaced (first and last included)."""
    if len(values) <= at_most:
        return values
    return values[np.linspace(0, len(values) - 1, at_most).round().astype(np.int64)]


def _ks_and_wasserstein(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """KS statistic and p-value, and the normalised Wasserstein distance, from one sort.

    Both compare the empirical distribution functions ``F_a`` and ``F_b`` at the pooled
    values: KS takes their largest gap, ``max |F_a − F_b|``, and Wasserstein-1 the area
    between them, ``∫ |F_a − F_b| dx``, divided here by the reference's standard deviation
    (so that a pure location shift by δ standard deviations gives exactly δ, whatever the
    distribution's shape). The statistic, the p-value and the distance are
    :func:`scipy.stats.ks_2samp`'s and :func:`scipy.stats.wasserstein_distance`'s (the tests
    compare them): the p-value is scipy's own (exact) up to 10,000 values a side, and beyond
    it scipy's asymptotic formula, ``kstwo.sf(D, round(n·m/(n+m)))``, as ``ks_2samp`` does.
    """
    a, b = np.sort(a), np.sort(b)
    pooled, gaps = _ecdf_gaps(a, b)
    d = _largest_gap(pooled, gaps)
    if max(len(a), len(b)) <= _SCIPY_EXACT_KS:
        p_value = _exact_ks_p_value(a, b, d)[1]
    else:
        p_value = _asymptotic_ks_p_value(len(a), len(b), d)
    distance = float(np.sum(gaps[:-1] * np.diff(pooled)))
    return d, p_value, _normalise(distance, a)


def ks_test(a: Any, b: Any) -> tuple[float, float]:
    """The two-sided two-sample Kolmogorov–Smirnov statistic and p-value of
    :func:`scipy.stats.ks_2samp` (its default ``method="auto"``), for samples without NaN.

    The same numbers as scipy's, faster when called many times: scipy's exact p-value
    (up to 10,000 values a side) depends only on the two sample sizes and on the statistic
    as a whole number of steps of the two empirical distribution functions, so it is
    computed once per such triple and remembered (monitoring code tests thousands of
    columns or windows of the same sizes, whose statistics take a few dozen values). The
    statistic is the largest gap between the two empirical distribution functions, rounded
    to that step as scipy rounds it.

    Parameters
    ----------
    a, b : array-like of float
        The two samples, each non-empty, without NaN.

    Returns
    -------
    tuple of float
        ``(statistic, p_value)``.

    Examples
    --------
    >>> from scipy import stats
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=300), rng.normal(0.3, 1, size=200)
    >>> ks_test(a, b) == tuple(map(float, stats.ks_2samp(a, b)))
    True
    """
    a, b = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    d = _largest_gap(*_ecdf_gaps(a, b))
    if max(len(a), len(b)) <= _SCIPY_EXACT_KS:
        return _exact_ks_p_value(a, b, d)
    return d, _asymptotic_ks_p_value(len(a), len(b), d)


def _ecdf_gaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pooled values of two *sorted* samples, in order, and ``|F_a − F_b|`` at each.

    The two sorted runs are merged by a stable sort, and each empirical distribution
    function counted along the merge (no binary search). In a run of equal pooled values,
    only the last position holds ``F`` at that value (as ``searchsorted(side="right")``
    gives it): :func:`_largest_gap` looks there only, and the area between the functions
    weights every other position by a zero step.
    """
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="stable")  # merges the two sorted runs
    from_a = np.cumsum(order < len(a))
    from_b = np.arange(1, len(both) + 1) - from_a
    return both[order], np.abs(from_a / len(a) - from_b / len(b))


def _largest_gap(pooled: np.ndarray, gaps: np.ndarray) -> float:
    """The KS statistic from :func:`_ecdf_gaps`: the largest gap at the end of a run of
    equal values (the last position, where both functions reach 1, has no gap)."""
    ends = pooled[1:] != pooled[:-1]
    return float(gaps[:-1][ends].max()) if ends.any() else 0.0


#: scipy's exact KS p-values already computed, by (n, m, statistic in steps of 1/lcm(n, m)).
_EXACT_KS_P_VALUES: dict[tuple[int, int, int], tuple[float, float]] = {}
_EXACT_KS_CACHE_SIZE = 100_000


def _exact_ks_p_value(a: np.ndarray, b: np.ndarray, d: float) -> tuple[float, float]:
    """scipy's exact two-sided statistic and p-value for samples of these sizes and this
    largest gap ``d``, remembered by ``(n, m, h)``: scipy rounds ``d`` to ``h / lcm(n, m)``
    and its p-value is a function of ``n``, ``m`` and ``h`` alone."""
    from scipy import stats

    n, m = len(a), len(b)
    lcm = (n // math.gcd(n, m)) * m
    h = int(np.round(d * lcm))
    key = (n, m, h)
    known = _EXACT_KS_P_VALUES.get(key)
    if known is None:
        p_value = _ks_p_equal_sizes(n, h) if n == m else math.nan
        if 0 <= p_value <= 1:
            known = (h * 1.0 / lcm, p_value)
        else:  # unequal sizes, or scipy's own fallback
            result = stats.ks_2samp(a, b)
            known = (float(result.statistic), float(result.pvalue))
        if len(_EXACT_KS_P_VALUES) >= _EXACT_KS_CACHE_SIZE:
            _EXACT_KS_P_VALUES.clear()
        _EXACT_KS_P_VALUES[key] = known
    return known


def _ks_p_equal_sizes(n: int, h: int) -> float:
    """scipy's exact two-sided KS p-value for two samples of ``n`` values and a statistic of
    ``h / n``: ``_compute_prob_outside_square`` of :mod:`scipy.stats` (Hodges' alternating
    sum, in Horner form), with each term's ``h`` factors multiplied in one NumPy product
    instead of a Python loop (~40 times faster at 10,000 values; the tests compare it with
    ``ks_2samp`` to a relative 1e-12; ~1e-15 is measured). NaN where scipy would leave its
    exact method (a floating-point error), so that the caller asks scipy."""
    if h == 0:
        return 1.0
    k = np.arange(n // h, -1, -1)[:, None]
    j = np.arange(h)
    with np.errstate(invalid="raise", over="raise"):  # as scipy
        try:
            terms = np.prod((n - k * h - j) / (n + k * h + j + 1.0), axis=1)
        except FloatingPointError:
            return math.nan
    p_value = 0.0
    for term in terms.tolist():
        p_value = term * (1.0 - p_value)
    return 2 * p_value


def _asymptotic_ks_p_value(n: int, m: int, d: float) -> float:
    """scipy's asymptotic two-sided p-value (``ks_2samp`` beyond 10,000 values a side)."""
    from scipy import stats

    n_eff = n * m / (n + m)
    return float(np.clip(stats.kstwo.sf(d, np.round(n_eff)), 0, 1))


def _normalise(distance: float, reference: np.ndarray) -> float:
    scale = float(np.std(reference))
    if scale > 0:
        return distance / scale
    return 0.0 if distance == 0 else math.inf


@functools.cache
def _normal_deciles() -> np.ndarray:
    """The inner edges of a standard normal's deciles (computed once: root-finding calls
    :func:`_psi_of_mean_shift` about twenty times per column)."""
    from scipy import stats

    return stats.norm.ppf(np.linspace(0, 1, N_BINS + 1)[1:-1])


def _psi_of_mean_shift(delta: float) -> float:
    """PSI of a normal feature whose mean moves by ``delta`` standard deviations, on the
    reference's deciles (exact shares, no smoothing)."""
    from scipy.special import ndtr  # the normal CDF, without scipy.stats' per-call checks

    base = np.full(N_BINS, 1 / N_BINS)
    moved = np.diff(np.r_[0.0, ndtr(_normal_deciles() - delta), 1.0])
    return float(np.sum((moved - base) * np.log(moved / base)))


#: The largest shift :func:`_shift_equivalent` reports (a PSI beyond it is "at least this").
_MAX_EQUIVALENT_SHIFT = 5.0


def _shift_equivalent(psi: float) -> float:
    """The mean shift, in standard deviations, of a normal feature with this PSI on deciles.

    Puts a categorical column's change in the unit of the numeric ones (``"auto"``'s effect
    column): a PSI of 0.1 is a shift of about 0.32 standard deviations.
    """
    from scipy.optimize import brentq

    if not psi > 0:
        return 0.0
    if psi >= _psi_of_mean_shift(_MAX_EQUIVALENT_SHIFT):
        return _MAX_EQUIVALENT_SHIFT
    return float(brentq(lambda d: _psi_of_mean_shift(d) - psi, 0.0, _MAX_EQUIVALENT_SHIFT))


def _discrete_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    values = np.union1d(pd.unique(a), pd.unique(b))
    if len(values) > 2 * MAX_DISCRETE_VALUES:  # current took many new values: count by search
        return np.vstack(
            [np.bincount(np.searchsorted(values, x), minlength=len(values)) for x in (a, b)]
        ).astype(float)
    return np.vstack([_count_le(a, values), _count_le(b, values)])


def _reference_edges(reference: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Inner edges of ``n_bins`` quantile bins of the reference (no NaN), for speed estimated
    on at most :data:`_EDGE_SAMPLE` evenly spaced values: :func:`mlsys_kit.stats.quantile_edges`
    of ``reference[::step]``. Every binned statistic of this subpackage cuts its bins here."""
    step = max(1, len(reference) // _EDGE_SAMPLE)
    return quantile_edges(reference[::step], n_bins)


def _binned_counts(a: np.ndarray, b: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Counts of both samples in bins cut at the reference's quantiles (a 2×k array).

    The bins are :func:`mlsys_kit.stats.quantile_bins`' (a value equal to an edge goes to
    the bin on its right), counted by comparison: for a handful of edges, several times
    faster than binning each value (the tests check both give the same counts). Bins empty
    in both samples are dropped.
    """
    edges = _reference_edges(a, n_bins)
    counts = np.vstack([_count_below(a, edges), _count_below(b, edges)])
    # With ties, a quantile can equal the minimum: the bin below it is empty on both sides
    # (no data, no bin), which the χ² test refuses and PSI would count as a bin.
    return counts[:, counts.sum(axis=0) > 0]


def _count_le(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    # Counts of each of the sorted distinct ``values`` in ``x``, by cumulative comparison.
    below = np.array([np.count_nonzero(x <= v) for v in values[:-1]] + [len(x)])
    return np.diff(below, prepend=0).astype(float)


def _count_below(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    below = np.array([np.count_nonzero(x < e) for e in edges] + [len(x)])
    return np.diff(below, prepend=0).astype(float)


def _counts_statistic(row: dict[str, Any], counts: np.ndarray, method: str) -> None:
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    if method == "chi2":
        if counts.shape[1] < 2:
            row.update(method="chi2", statistic=0.0, p_value=1.0)
        else:
            result = stats.chi2_contingency(counts, correction=False)
            row.update(method="chi2", statistic=float(result.statistic), p_value=result.pvalue)
    elif method == "psi":
        row.update(method="psi", statistic=_psi(counts[0], counts[1]))
    elif method == "js":
        p, q = counts[0] / counts[0].sum(), counts[1] / counts[1].sum()
        row.update(method="js", statistic=float(jensenshannon(p, q, base=2)))
    else:  # pragma: no cover - validated earlier
        raise ValueError(f"unknown method {method!r}")


def psi_from_counts(reference_counts: Any, current_counts: Any) -> float:
    """Population stability index of two count vectors over the same bins.

    ``PSI = Σ (q_i − p_i) · ln(q_i / p_i)`` over bins, with ``p`` and ``q`` the reference's
    and the current's shares: the symmetrised Kullback–Leibler divergence,
    ``KL(q‖p) + KL(p‖q)`` (:func:`scipy.stats.entropy` of each direction). Shares are
    smoothed with half a count per bin (Jeffreys' prior) so that an empty bin does not make
    the index infinite. :func:`mlsys_kit.monitoring.shifts.psi` takes raw values and bins
    them first.

    Parameters
    ----------
    reference_counts, current_counts : array-like of float
        Non-negative counts per bin, same length, each with a positive total.

    Returns
    -------
    float
        ≥ 0; 0 when the shares are equal.

    Raises
    ------
    ParameterError
        On counts of different lengths, negative counts or a zero total.

    Examples
    --------
    >>> round(psi_from_counts([50, 50], [50, 50]), 6)
    0.0
    >>> round(psi_from_counts([500, 500], [600, 400]), 3)
    0.04
    """
    owner = "psi_from_counts"
    p = check_array(
        "reference_counts",
        reference_counts,
        ndim=1,
        min_length=1,
        dtype=float,
        finite=True,
        owner=owner,
    )
    q = check_array(
        "current_counts",
        current_counts,
        ndim=1,
        min_length=1,
        dtype=float,
        finite=True,
        owner=owner,
    )
    check_same_length(reference_counts=p, current_counts=q, owner=owner)
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise ParameterError(
            f"{owner}: counts must be non-negative with a positive total on each side"
        )
    return _psi(p, q)


def _psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """:func:`psi_from_counts` of valid counts, unchecked: ``Σ (q − p) · ln(q / p)`` of the
    smoothed shares, which is ``scipy.stats.entropy(q, p) + scipy.stats.entropy(p, q)`` (the
    tests compare them) at a tenth of its cost, for the loops over thousands of columns."""
    p, q = reference_counts + 0.5, current_counts + 0.5
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------


def _decide(
    rows: list[dict[str, Any]],
    method: str,
    alpha: float,
    correction: str,
    threshold: float | None,
) -> pd.DataFrame:
    """The report's table: fill ``threshold`` and ``drifted`` (in NumPy: one pass, fast)."""
    n_ref = np.array([r["n_reference"] for r in rows])
    n_cur = np.array([r["n_current"] for r in rows])
    methods = np.array([r["method"] or "none" for r in rows], dtype=object)
    statistic = np.array([r["statistic"] for r in rows], dtype=float)
    p_value = np.array([r["p_value"] for r in rows], dtype=float)
    effect = np.array([r["effect"] for r in rows], dtype=float)
    comparable = (n_ref > 0) & (n_cur > 0)
    thresholds = np.full(len(rows), math.nan)
    min_effect = np.full(len(rows), math.nan)
    drifted = np.zeros(len(rows), dtype=bool)
    tested = np.isin(methods, TEST_METHODS) & comparable
    if tested.any():
        thresholds[tested] = correction_thresholds(p_value[tested], alpha, correction)
        drifted[tested] = p_value[tested] <= thresholds[tested]
    if method == "auto":  # significant *and* at least the smallest shift worth an alarm
        min_effect[comparable] = DEFAULT_MIN_SHIFT if threshold is None else float(threshold)
        drifted[comparable] &= effect[comparable] > min_effect[comparable]
    for name in DEFAULT_THRESHOLDS:
        chosen = (methods == name) & comparable
        thresholds[chosen] = DEFAULT_THRESHOLDS[name] if threshold is None else float(threshold)
        drifted[chosen] = statistic[chosen] > thresholds[chosen]
    # A feature with values on one side only broke: that is an alarm. Both empty: no change.
    drifted[(n_ref > 0) ^ (n_cur > 0)] = True
    return pd.DataFrame(
        {
            "feature": [r["feature"] for r in rows],
            "method": pd.array(methods.astype(str), dtype="str"),
            "statistic": statistic,
            "p_value": p_value,
            "threshold": thresholds,
            "effect": effect,
            "min_effect": min_effect,
            "drifted": drifted,
            "n_reference": n_ref.astype("int64"),
            "n_current": n_cur.astype("int64"),
            "missing_reference": [r["missing_reference"] for r in rows],
            "missing_current": [r["missing_current"] for r in rows],
        },
        columns=list(COLUMNS),
    )


def correction_thresholds(
    p_values: Any, alpha: float = 0.05, correction: Correction = "holm"
) -> np.ndarray:
    """Per-feature significance levels that control false alarms across features.

    A feature is flagged when its p-value is at most its threshold. With ``"holm"`` the
    thresholds follow Holm's step-down procedure: the smallest p-value is compared with
    ``alpha/m``, the next with ``alpha/(m−1)``, ...; once one fails, every larger p-value
    gets the failing threshold, so that ``p ≤ threshold`` is exactly Holm's verdict.
    ``"bonferroni"`` gives ``alpha/m`` to all, ``"none"`` gives ``alpha`` to all. Both
    corrections keep the chance of any false alarm among the ``m`` features at most ``alpha``,
    whatever their dependence; Holm flags at least as many features as Bonferroni.

    Holm is written here rather than taken from
    ``statsmodels.stats.multitest.multipletests(method="holm")``, which gives the same
    verdicts (a test compares them on random p-values) for two reasons: it returns verdicts
    and adjusted p-values, not the per-feature threshold the drift report shows; and
    statsmodels 0.15 runs a full ``gc.collect()`` on every Holm call, about 50 ms in a process
    with pandas and scikit-learn loaded (this function takes microseconds), too slow inside
    the notebooks' loops of repeated checks.

    Parameters
    ----------
    p_values : array-like of float
        One p-value per feature, in [0, 1].
    alpha : float, default 0.05
        The family-wise false-alarm budget, in (0, 1).
    correction : {"holm", "bonferroni", "none"}, default "holm"

    Returns
    -------
    numpy.ndarray
        One threshold per p-value, in the input order.

    Examples
    --------
    >>> p = [0.001, 0.04, 0.03]
    >>> correction_thresholds(p, alpha=0.05).round(4).tolist()  # 0.03 > 0.025: Holm stops
    [0.0167, 0.025, 0.025]
    >>> correction_thresholds(p, alpha=0.05, correction="bonferroni").round(4).tolist()
    [0.0167, 0.0167, 0.0167]
    """
    owner = "correction_thresholds"
    p = check_array("p_values", p_values, ndim=1, dtype=float, owner=owner)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ParameterError(f"{owner}: p_values must be numbers in [0, 1], without NaN")
    alpha = check_float("alpha", alpha, min=0, max=1, open_min=True, open_max=True, owner=owner)
    check_choice("correction", correction, CORRECTIONS, owner=owner)
    m = len(p)
    if correction == "none" or m == 0:
        return np.full(m, alpha)
    if correction == "bonferroni":
        return np.full(m, alpha / m)
    order = np.argsort(p, kind="stable")
    steps = alpha / (m - np.arange(m))  # alpha/m, alpha/(m-1), ..., alpha
    failed = p[order] > steps
    thresholds = steps.copy()
    if failed.any():
        first = int(np.argmax(failed))
        thresholds[first:] = steps[first]
    out = np.empty(m)
    out[order] = thresholds
    return out
