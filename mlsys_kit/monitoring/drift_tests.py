"""Multivariate shift tests: did the *joint* distribution of the features change?

Serves Chapter 8, "Data Distribution Shifts and Monitoring", section "Detecting Data
Distribution Shifts" (Chip Huyen, *Designing Machine Learning Systems*, 2022). Per-feature
tests (:func:`mlsys_kit.monitoring.drift.detect_drift`) compare one marginal distribution at a time;
a change in how features *combine* (a correlation that appears, a cluster that moves while
every marginal stays put) is invisible to them. Two multivariate tests see it:

* :func:`mmd_test`: the maximum mean discrepancy between the two samples with a Gaussian
  kernel (Gretton et al., 2012), and its permutation p-value. The permutations come from
  :func:`scipy.stats.permutation_test` and the kernel from scikit-learn; the statistic itself
  is written here because neither library has it and the maintained detectors that do
  (alibi-detect, torch-two-sample) pull in a deep-learning framework. With the kernel matrix
  computed once, each batch of permutations costs one matrix product.
* :func:`domain_classifier_test`: train a classifier to tell reference rows from current rows
  (scikit-learn's histogram gradient boosting, which handles missing values and categories).
  On held-out rows its AUC is 0.5 when the samples come from one distribution; the
  Mann–Whitney U test (scipy) on its held-out scores gives the p-value (AUC = U / (n·m)).
  This is the "domain classifier" of Rabanser et al., *Failing Loudly* (2019), which the
  book cites.

**Libraries ruled out for MMD.** hyppo (``hyppo.ksample.MMD``) computes the same statistic
without a deep-learning framework, but at import it prints scipy deprecation warnings on the
kit's pinned scipy, which nbval would read as changed outputs; it is not installed, and the
claim was not re-checked here.

Both tests return a :class:`ShiftTestResult`, a :class:`mlsys_kit.results.Report`: its
``to_frame()`` is one row (method, statistic, p-value, sizes).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=(300, 2))
>>> cur = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=300)
>>> mmd_test(ref, cur, n_permutations=99, seed=0).p_value
0.01
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import ParameterError, Seed, check_float, check_int, check_type, make_rng
from mlsys_kit.results import Report

__all__ = ["ShiftTestResult", "mmd_test", "domain_classifier_test", "MAX_MMD_ROWS"]

#: The MMD test holds an (n + m)² kernel matrix: 5,000 rows in total is 200 MB.
MAX_MMD_ROWS = 5_000


@dataclass(frozen=True)
class ShiftTestResult(Report):
    """A multivariate two-sample test's outcome.

    Attributes
    ----------
    method : str
        ``"mmd"`` or ``"domain_classifier"``.
    statistic : float
        MMD² (biased estimate), or the classifier's held-out AUC.
    p_value : float
        Probability of a statistic at least this large without a shift.
    n_reference, n_current : int
        Rows of each sample used (for the classifier: held-out rows scored).
    """

    method: str
    statistic: float
    p_value: float
    n_reference: int
    n_current: int

    def drifted(self, alpha: float = 0.05) -> bool:
        """Whether the test rejects "no shift" at level ``alpha``."""
        return bool(self.p_value <= alpha)

    def to_frame(self) -> pd.DataFrame:
        """The result as a one-row table: method, statistic, p_value, n_reference, n_current.

        Examples
        --------
        >>> ShiftTestResult("mmd", 0.02, 0.01, 300, 300).to_frame()
          method  statistic  p_value  n_reference  n_current
        0    mmd       0.02     0.01          300        300
        """
        return pd.DataFrame(
            {
                "method": [self.method],
                "statistic": [self.statistic],
                "p_value": [self.p_value],
                "n_reference": [self.n_reference],
                "n_current": [self.n_current],
            }
        )


def _numeric_matrix(data: Any, name: str) -> np.ndarray:
    if isinstance(data, pd.DataFrame):
        wrong = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        if wrong:
            raise ParameterError(
                f"mmd_test: {name} must be numeric for the MMD test; columns {wrong} are not"
            )
        data = data.to_numpy(dtype=float)
    values = np.asarray(data, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or len(values) < 2:
        raise ParameterError(
            f"mmd_test: {name} must be a 2-D array with at least 2 rows; got {values.shape}"
        )
    if not np.isfinite(values).all():
        raise ParameterError(
            f"mmd_test: {name} has missing or infinite values: drop or impute them first"
        )
    return values


def mmd_test(
    reference: Any,
    current: Any,
    *,
    n_permutations: int = 199,
    bandwidth: float | None = None,
    seed: Seed = 0,
) -> ShiftTestResult:
    """Maximum mean discrepancy with a Gaussian kernel, and its permutation p-value.

    Features are standardised with the reference's mean and standard deviation, so that
    no feature dominates by its unit. The kernel is ``exp(−‖x − y‖² / (2·bandwidth²))``.

    Parameters
    ----------
    reference, current : array-like or DataFrame of numbers, shape (n, d) and (m, d)
        The two samples, without missing values; n + m ≤ :data:`MAX_MMD_ROWS`.
    n_permutations : int, default 199
        Random relabellings of the pooled rows; the p-value is at least
        ``1 / (n_permutations + 1)``.
    bandwidth : float, optional
        The kernel's length scale in standardised units; by default the median distance
        between pooled rows (the "median heuristic").
    seed : int or numpy.random.Generator, default 0
        Seeds the permutations.

    Returns
    -------
    ShiftTestResult
        ``statistic`` is the biased estimate of MMD².

    Raises
    ------
    ParameterError
        On samples of different widths, missing values, too many rows, or a bad parameter.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> same = mmd_test(rng.normal(size=(200, 3)), rng.normal(size=(200, 3)), seed=1)
    >>> same.p_value > 0.05
    True
    """
    from scipy import stats
    from sklearn.metrics.pairwise import rbf_kernel

    x = _numeric_matrix(reference, "reference")
    y = _numeric_matrix(current, "current")
    if x.shape[1] != y.shape[1]:
        raise ParameterError(
            f"mmd_test: reference has {x.shape[1]} features but current has {y.shape[1]}"
        )
    n, m = len(x), len(y)
    if n + m > MAX_MMD_ROWS:
        raise ParameterError(
            f"mmd_test: the MMD test holds an (n+m)² kernel matrix: n + m = {n + m:,} rows is "
            f"more than {MAX_MMD_ROWS:,}; test a random subsample of each window"
        )
    n_permutations = check_int("n_permutations", n_permutations, min=19, owner="mmd_test")
    if bandwidth is not None:
        bandwidth = check_float("bandwidth", bandwidth, min=0, open_min=True, owner="mmd_test")
    rng = make_rng(seed, owner="mmd_test")
    # An integer seed starts the bandwidth's subsample and the permutations from the same
    # state (as before ``seed`` took a Generator); a Generator is drawn from in turn.
    permutation_rng = make_rng(seed)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    pooled = (np.vstack([x, y]) - x.mean(axis=0)) / scale
    if bandwidth is None:
        bandwidth = _median_distance(pooled, rng)
    kernel = rbf_kernel(pooled, gamma=1.0 / (2.0 * bandwidth**2))

    def statistic(x_idx: np.ndarray, y_idx: np.ndarray, axis: int = -1) -> np.ndarray:
        x_idx, y_idx = np.atleast_2d(x_idx).astype(int), np.atleast_2d(y_idx).astype(int)
        weights = np.zeros((len(x_idx), n + m))
        rows = np.arange(len(x_idx))[:, None]
        weights[rows, x_idx] = 1.0 / n
        weights[rows, y_idx] = -1.0 / m
        mmd2 = np.einsum("bi,bi->b", weights @ kernel, weights)
        return mmd2 if mmd2.shape[0] > 1 else mmd2[0]

    result = stats.permutation_test(
        (np.arange(n), np.arange(n, n + m)),
        statistic,
        permutation_type="independent",
        vectorized=True,
        n_resamples=n_permutations,
        alternative="greater",
        batch=50,
        rng=permutation_rng,
    )
    return ShiftTestResult("mmd", float(result.statistic), float(result.pvalue), n, m)


def _median_distance(pooled: np.ndarray, rng: np.random.Generator) -> float:
    from scipy.spatial.distance import pdist

    sample = pooled[rng.choice(len(pooled), size=min(len(pooled), 1000), replace=False)]
    distance = float(np.median(pdist(sample)))
    return distance if distance > 0 else 1.0


def domain_classifier_test(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    model: Any = None,
    test_size: float = 0.5,
    seed: int = 0,
) -> ShiftTestResult:
    """Can a classifier tell current rows from reference rows? Its held-out AUC and p-value.

    Rows are labelled 0 (reference) and 1 (current), split in a stratified way, and the
    model is trained on one part and scores the other. Without a shift no model can do
    better than chance on held-out rows: AUC 0.5. The one-sided Mann–Whitney U test of the
    held-out scores of current rows against those of reference rows gives the p-value; it
    is valid because held-out rows played no part in training.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        The same columns; numeric, boolean or categorical (strings become categories),
        missing values allowed.
    model : scikit-learn classifier, optional
        Default: ``HistGradientBoostingClassifier(max_iter=100, random_state=seed)`` with
        categories taken from the dtypes.
    test_size : float, default 0.5
        Share of rows held out for scoring, in [0.1, 0.9].
    seed : int, default 0
        Seeds the split and the default model.

    Returns
    -------
    ShiftTestResult
        ``statistic`` is the held-out AUC (0.5: indistinguishable; 1: fully separable).

    Raises
    ------
    ParameterError
        On frames with different columns, too few rows, or a bad ``test_size``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    >>> cur = pd.DataFrame({"a": rng.normal(1, 1, size=400), "b": rng.normal(size=400)})
    >>> from sklearn.linear_model import LogisticRegression
    >>> result = domain_classifier_test(ref, cur, model=LogisticRegression())
    >>> result.statistic > 0.7, result.p_value < 0.001
    (True, True)
    """
    from scipy import stats
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    owner = "domain_classifier_test"
    for side, frame in (("reference", reference), ("current", current)):
        check_type(side, frame, pd.DataFrame, owner=owner)
        if len(frame) < 20:
            raise ParameterError(
                f"{owner}: {side} has {len(frame)} rows: the classifier needs at least 20"
            )
    if list(reference.columns) != list(current.columns):
        raise ParameterError(
            f"{owner}: reference and current must have the same columns; got "
            f"{list(reference.columns)} and {list(current.columns)}"
        )
    test_size = check_float("test_size", test_size, min=0.1, max=0.9, owner=owner)
    seed = check_int("seed", seed, min=0, owner=owner)
    X = _encode(pd.concat([reference, current], ignore_index=True))
    y = np.r_[np.zeros(len(reference), dtype=int), np.ones(len(current), dtype=int)]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed
    )
    if model is None:
        model = HistGradientBoostingClassifier(
            max_iter=100, categorical_features="from_dtype", random_state=seed
        )
    scores = model.fit(X_train, y_train).predict_proba(X_test)[:, 1]
    auc = float(roc_auc_score(y_test, scores))
    test = stats.mannwhitneyu(scores[y_test == 1], scores[y_test == 0], alternative="greater")
    p_value = float(test.pvalue) if math.isfinite(test.pvalue) else 1.0
    n_ref, n_cur = int((y_test == 0).sum()), int((y_test == 1).sum())
    return ShiftTestResult("domain_classifier", auc, p_value, n_ref, n_cur)


def _encode(frame: pd.DataFrame) -> pd.DataFrame:
    """Booleans to 0/1, text and other objects to categories; numbers unchanged."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_bool_dtype(column.dtype):
            out[name] = column.astype(float)
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            out[name] = column.astype("int64").astype(float).where(column.notna())
        elif not pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(
            column.dtype, pd.CategoricalDtype
        ):
            out[name] = column.astype("category")
    return out
