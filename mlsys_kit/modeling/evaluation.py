"""Offline evaluation: learning curves, calibration, confidence and slices.

Serves Chapter 2, "Mind Versus Data", and Chapter 6, "Model Development and Offline
Evaluation" (Chip Huyen, *Designing Machine Learning Systems*, 2022).

**Learning curves** (Chapter 2, and Chapter 6's "is more data worth it?"). Does
progress come from better priors built into models (mind) or from more data? A
learning curve answers it for one data set: train each model on random subsets of
growing size and score it on one fixed test set. Models with strong built-in
assumptions learn fast and flatten early; flexible models need more data and keep
improving longer. :func:`learning_curves` runs the experiment and returns one row
per fit. Unlike :func:`sklearn.model_selection.learning_curve`, which scores on
cross-validation folds of the training data, it scores every fit on the same
held-out test set, so the curves of different models are directly comparable.

**Calibration** (Chapter 6, "Model Calibration"). :func:`reliability_table` and
:func:`expected_calibration_error` measure how far predicted probabilities are from
observed frequencies, for binary problems. scikit-learn draws reliability curves
(:func:`sklearn.calibration.calibration_curve`) and calibrates models
(:class:`sklearn.calibration.CalibratedClassifierCV`: Platt, isotonic, temperature
scaling) but has no ECE metric, and its curve drops the bin sizes that ECE weighs
by; :func:`reliability_table` bins exactly as ``calibration_curve`` does (the tests
check it) and keeps the sizes.

**Comparing two models** (Chapter 6). :func:`auc_difference_interval`: a paired bootstrap
interval of the AUC difference of two models on one test set, so that a claim like "the fix
costs no ranking quality" rests on an interval, not on one draw.

**Confidence measurement** (Chapter 6). :func:`accuracy_coverage`: abstain when the
model's confidence is below a threshold, and trade the share of inputs answered
(coverage) against the accuracy on those answered.

**Slice-based evaluation** (Chapter 6). :func:`slice_accuracy` scores every slice of
one or two columns against the rest of the data; :func:`find_underperforming_slices`
keeps those significantly worse than the rest. The search over slices is hand-written
on purpose: no maintained library does it for tabular data (Slice Finder, the method the
book cites, is a research prototype; Fairlearn's ``MetricFrame`` scores given groups but
neither enumerates slices nor tests them), and it is short enough to read. The statistics
are statsmodels': :func:`statsmodels.stats.proportion.proportions_ztest` and
:func:`statsmodels.stats.multitest.multipletests` (Bonferroni).

Examples
--------
>>> from sklearn.datasets import load_breast_cancer
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> X, y = load_breast_cancer(return_X_y=True)
>>> models = {"logistic": make_pipeline(StandardScaler(), LogisticRegression())}
>>> curves = learning_curves(models, X[:400], y[:400], X[400:], y[400:], sizes=[20, 400])
>>> curves.groupby("size")["score"].count().to_dict()  # 3 repeats, 1 fit on all 400 rows
{20: 3, 400: 1}
>>> bool(curves["score"].between(0.5, 1).all())
True
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    check_type,
    make_rng,
)
from mlsys_kit.stats import MeanInterval, rank_auc

__all__ = [
    "accuracy_coverage",
    "auc_difference_interval",
    "expected_calibration_error",
    "find_underperforming_slices",
    "learning_curves",
    "reliability_table",
    "slice_accuracy",
]

COLUMNS = ["model", "size", "repeat", "score", "fit_seconds"]


def learning_curves(
    models: Mapping[str, Any],
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
    sizes: Sequence[int],
    *,
    repeats: int = 3,
    seed: Seed = 0,
    scoring: str = "roc_auc",
    stratify: bool = True,
) -> pd.DataFrame:
    """Score each model on a fixed test set after training on random subsets of growing size.

    For each size and repeat, one random subset of ``size`` training rows is
    drawn (the same subset for every model, so the models are compared on
    equal data); each model is cloned, fitted on it and scored on
    ``(X_test, y_test)``. The spread over repeats shows how much the score
    depends on *which* rows were drawn. At ``size == len(X)`` there is only one
    possible subset, so each model is fitted there once.

    Parameters
    ----------
    models : mapping of str to estimator
        Unfitted scikit-learn estimators (pipelines included), by name. Each
        fit uses a fresh :func:`sklearn.base.clone`; set ``random_state`` on
        them for reproducible fits.
    X, y : array_like or pandas objects
        The training pool: features (rows indexable by ``.iloc`` for pandas
        objects, by position otherwise) and target.
    X_test, y_test : array_like or pandas objects
        The fixed held-out set every fit is scored on.
    sizes : sequence of int
        Training-set sizes, each in ``[2, len(X)]``, increasing (duplicates are
        not allowed).
    repeats : int, default 3
        Random subsets per size (below the full size), at least 1.
    seed : int or numpy.random.Generator, default 0
        Seeds the subset draws; the same seed gives the same subsets.
    scoring : str, default "roc_auc"
        A scikit-learn scorer name (:func:`sklearn.metrics.get_scorer`), higher
        is better: ``"roc_auc"``, ``"accuracy"``, ``"neg_log_loss"``, ``"r2"``...
    stratify : bool, default True
        Draw subsets that keep the class proportions of ``y`` (classification
        targets), so that even the smallest subsets contain every class. Set to
        ``False`` for regression targets.

    Returns
    -------
    pandas.DataFrame
        One row per fit, with columns ``model``, ``size``, ``repeat``,
        ``score`` (on the test set) and ``fit_seconds`` (wall time of the fit;
        noisy, print it only through :func:`mlsys_kit.timing.format_measured`).

    Raises
    ------
    ParameterError
        If ``models`` is empty, the training or test features and targets differ
        in length, ``sizes`` is empty, not increasing or out of ``[2, len(X)]``,
        ``repeats`` is not a positive integer, or ``scoring`` is unknown.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> tree = {"tree": DecisionTreeClassifier(random_state=0)}
    >>> curves = learning_curves(tree, X[::2], y[::2], X[1::2], y[1::2], sizes=[10, 75],
    ...                          repeats=2, scoring="accuracy")
    >>> curves[["model", "size", "repeat"]].to_dict("records")
    [{'model': 'tree', 'size': 10, 'repeat': 0}, {'model': 'tree', 'size': 10, 'repeat': 1}, \
{'model': 'tree', 'size': 75, 'repeat': 0}]
    >>> learning_curves(tree, X, y, X, y, sizes=[1000])
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: learning_curves: sizes must lie in [2, 150] (the training \
rows); got [1000]
    """
    owner = "learning_curves"
    if not models:
        raise ParameterError(f"{owner}: models must name at least one estimator")
    for name, values in (("X", X), ("y", y), ("X_test", X_test), ("y_test", y_test)):
        if not hasattr(values, "__len__"):
            raise ParameterError(
                f"{owner}: {name} must be array-like with rows; got {type(values).__name__}"
            )
    n = check_same_length(X=X, y=y, owner=owner)
    check_same_length(X_test=X_test, y_test=y_test, owner=owner)
    sizes = _increasing_sizes(sizes, n, owner)
    repeats = check_int("repeats", repeats, min=1, owner=owner)
    stratify = check_bool("stratify", stratify, owner=owner)
    try:
        scorer = get_scorer(scoring)
    except ValueError:
        raise ParameterError(
            f"{owner}: scoring={scoring!r} is not a scikit-learn scorer name "
            "(see sklearn.metrics.get_scorer_names())"
        ) from None

    if isinstance(X_test, np.ndarray) and X_test.ndim == 2:
        # every fit is scored on X_test: column-major, tree ensembles (HistGradientBoosting)
        # predict it up to several times faster; the values, and so the scores, are the same
        X_test = np.asfortranarray(X_test)
    rng = make_rng(seed, owner=owner)
    labels = np.asarray(y)
    rows = []
    for size in sizes:
        for repeat in range(repeats if size < n else 1):
            rows_drawn = _draw(n, size, labels if stratify else None, rng)
            X_sub, y_sub = _take(X, rows_drawn), _take(y, rows_drawn)
            for name, model in models.items():
                fitted = clone(model)
                start = time.perf_counter()
                fitted.fit(X_sub, y_sub)
                fit_seconds = time.perf_counter() - start
                score = float(scorer(fitted, X_test, y_test))
                rows.append((name, size, repeat, score, fit_seconds))
    return pd.DataFrame(rows, columns=COLUMNS)


def _increasing_sizes(sizes: Sequence[int], n: int, owner: str) -> list[int]:
    """``sizes`` as a list of ints, strictly increasing within ``[2, n]``, else ParameterError."""
    values = list(sizes) if not isinstance(sizes, str | bytes) else None
    if not values:
        raise ParameterError(
            f"{owner}: sizes must be a non-empty sequence of integers; got {sizes!r}"
        )
    values = [check_int("sizes (each)", s, owner=owner) for s in values]
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ParameterError(f"{owner}: sizes must be strictly increasing; got {values}")
    if values[0] < 2 or values[-1] > n:
        raise ParameterError(
            f"{owner}: sizes must lie in [2, {n}] (the training rows); got {values}"
        )
    return values


def _draw(n: int, size: int, labels: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``size`` rows out of ``n``, in random order (stratified on ``labels``)."""
    if size == n:
        return rng.permutation(n)
    state = int(rng.integers(2**32))
    positions = np.arange(n)
    if labels is None:
        chosen, _ = train_test_split(positions, train_size=size, random_state=state)
        return chosen
    classes, counts = np.unique(labels, return_counts=True)
    if size < len(classes):
        raise ParameterError(
            f"learning_curves: sizes must be at least the number of classes ({len(classes)}) "
            f"with stratify=True; got {size}"
        )
    # train_test_split needs ≥ 2 rows per class to stratify; fall back to a plain draw otherwise.
    strata = labels if counts.min() >= 2 else None
    chosen, _ = train_test_split(positions, train_size=size, random_state=state, stratify=strata)
    return chosen


def _take(values: Any, rows: np.ndarray) -> Any:
    return values.iloc[rows] if hasattr(values, "iloc") else np.asarray(values)[rows]


# --- Calibration --------------------------------------------------------------------------------

RELIABILITY_COLUMNS = ["lower", "upper", "count", "confidence", "accuracy", "gap"]


def reliability_table(y_true: Any, y_prob: Any, *, n_bins: int = 10) -> pd.DataFrame:
    """Per-bin predicted probability against observed frequency, for a binary problem.

    The convention of :func:`sklearn.calibration.calibration_curve` (``strategy="uniform"``),
    followed exactly: ``y_prob`` is the predicted probability of class 1; the bins split
    ``[0, 1]`` at ``numpy.linspace(0, 1, n_bins + 1)``, each bin ``(lower, upper]`` (the
    first one also holds 0.0), as ``numpy.searchsorted(edges[1:-1], p)`` assigns them: a
    probability on an inner edge goes to the bin on its *left*. In each bin,
    *confidence* is the mean predicted probability and *accuracy* the observed rate
    of class 1: ``calibration_curve``'s ``prob_pred`` and ``prob_true`` for the
    non-empty bins. A calibrated model has accuracy ≈ confidence in every bin.

    Parameters
    ----------
    y_true : array_like of {0, 1} or bool
        True binary labels.
    y_prob : array_like of float
        Predicted probabilities of class 1, in ``[0, 1]``.
    n_bins : int, default 10
        Number of equal-width bins, at least 1.

    Returns
    -------
    pandas.DataFrame
        One row per bin (empty bins included, with count 0 and NaN means), indexed
        by bin number, with columns ``lower``, ``upper``, ``count``, ``confidence``
        (mean ``y_prob``), ``accuracy`` (mean ``y_true``) and ``gap``
        (``accuracy - confidence``).

    Raises
    ------
    ParameterError
        If the inputs are empty or differ in length, ``y_true`` is not binary,
        ``y_prob`` is outside ``[0, 1]`` or not finite, or ``n_bins`` is not an
        integer ≥ 1.

    Examples
    --------
    >>> table = reliability_table([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.6], n_bins=2)
    >>> table[["count", "confidence", "accuracy"]].to_dict("list")
    {'count': [2, 2], 'confidence': [0.125, 0.7], 'accuracy': [0.0, 1.0]}
    >>> reliability_table([0, 1], [0.5, 0.5], n_bins=2)["count"].tolist()  # 0.5 is in (0, 0.5]
    [2, 0]
    """
    labels, probs = _labels_and_probabilities(y_true, y_prob, "reliability_table")
    n_bins = check_int("n_bins", n_bins, min=1, owner="reliability_table")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], probs)  # as sklearn.calibration.calibration_curve
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(bins, weights=probs, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=labels, minlength=n_bins) / count
    table = pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": count,
            "confidence": confidence,
            "accuracy": accuracy,
            "gap": accuracy - confidence,
        },
    )
    table.index.name = "bin"
    return table


def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 10) -> float:
    """Expected calibration error (ECE) of binary probabilities, with equal-width bins.

    ``ECE = Σ_b (n_b / n) · |accuracy_b − confidence_b|`` over the bins of
    :func:`reliability_table`: ``confidence_b`` is the mean predicted probability of
    class 1 in bin ``b``, ``accuracy_b`` the observed rate of class 1 there, ``n_b``
    the number of samples in it. 0 for a perfectly calibrated model (on these bins);
    at most 1.

    Parameters
    ----------
    y_true : array_like of {0, 1} or bool
        True binary labels.
    y_prob : array_like of float
        Predicted probabilities of class 1, in ``[0, 1]``.
    n_bins : int, default 10
        Number of equal-width bins over ``[0, 1]``, at least 1.

    Returns
    -------
    float
        The ECE, in ``[0, 1]``.

    Raises
    ------
    ParameterError
        As :func:`reliability_table`.

    Examples
    --------
    Bin [0, 0.5]: confidence 0.125, observed 0 → gap 0.125; bin (0.5, 1]: confidence
    0.7, observed 1 → gap 0.3. Each bin holds half the samples:

    >>> expected_calibration_error([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.6], n_bins=2)
    0.2125
    """
    table = reliability_table(y_true, y_prob, n_bins=n_bins)
    filled = table[table["count"] > 0]
    weights = filled["count"] / filled["count"].sum()
    return float(round((weights * filled["gap"].abs()).sum(), 12))


def _labels_and_probabilities(
    y_true: Any, y_prob: Any, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and probabilities of class 1 as floats, validated with mlsys_kit.params."""
    labels = check_array("y_true", y_true, ndim=1, min_length=1, owner=owner)
    probs = check_array("y_prob", y_prob, ndim=1, min_length=1, owner=owner)
    check_same_length(y_true=labels, y_prob=probs, owner=owner)
    try:
        labels = labels.astype(float)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{owner}: y_true must hold 0/1 or bool labels; got dtype {labels.dtype}"
        ) from None
    if not np.isin(labels, (0.0, 1.0)).all():
        found = sorted(set(np.unique(labels[~np.isin(labels, (0.0, 1.0))]).tolist()))[:5]
        raise ParameterError(f"{owner}: y_true must hold only 0/1 (or bool) labels; found {found}")
    probs = check_array("y_prob", probs, dtype=float, owner=owner)
    if not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
        raise ParameterError(f"{owner}: y_prob must hold probabilities in [0, 1] (finite, no NaN)")
    return labels, probs


# --- Paired comparison of two models --------------------------------------------------------------


def auc_difference_interval(
    y_true: Any,
    score_new: Any,
    score_old: Any,
    *,
    n_boot: int = 200,
    level: float = 0.9,
    seed: Seed = 0,
) -> MeanInterval:
    """Paired bootstrap interval of ``AUC(new) − AUC(old)`` over the rows of one test set.

    Each of ``n_boot`` resamples draws ``len(y_true)`` rows with replacement
    (``rng.integers(0, n, n)``, one draw after another) and scores both models on the
    *same* rows, so that what the rows have in common cancels out. Each AUC is the
    Mann–Whitney statistic on average ranks, which is what
    :func:`sklearn.metrics.roc_auc_score` computes (ties included; the tests check it), about
    ten times faster on a few thousand rows: the bootstrap loop spends its time in AUCs.

    Parameters
    ----------
    y_true : array_like of {0, 1} or bool
        True binary labels of the test rows.
    score_new, score_old : array_like of float
        The two models' scores (probabilities of class 1, or any increasing function of them)
        on the same rows.
    n_boot : int, default 200
        Bootstrap resamples, at least 1.
    level : float, default 0.9
        Coverage of the interval, in (0, 1): its ends are the ``(1 − level) / 2`` and
        ``(1 + level) / 2`` quantiles of the resampled differences.
    seed : int or numpy.random.Generator, default 0
        Seeds the resamples.

    Returns
    -------
    mlsys_kit.stats.MeanInterval
        ``mean`` (of the resampled differences), ``low`` and ``high``.

    Raises
    ------
    ParameterError
        If the arrays are not 1-D of one length, ``y_true`` is not binary with both classes,
        a score is not finite, ``n_boot < 1``, ``level`` is outside (0, 1), or a resample
        holds one class only (too few rows of one class to bootstrap an AUC).

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
    >>> same = auc_difference_interval(y, [.1, .4, .35, .8, .2, .7, .3, .9],
    ...                                [.1, .4, .35, .8, .2, .7, .3, .9], n_boot=20)
    >>> (same.low, same.high)
    (0.0, 0.0)
    """
    owner = "auc_difference_interval"
    labels = check_array("y_true", y_true, ndim=1, min_length=2, owner=owner)
    new = check_array("score_new", score_new, ndim=1, dtype=float, finite=True, owner=owner)
    old = check_array("score_old", score_old, ndim=1, dtype=float, finite=True, owner=owner)
    check_same_length(y_true=labels, score_new=new, score_old=old, owner=owner)
    if not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) != 2:
        raise ParameterError(f"{owner}: y_true must hold both classes, as 0/1 or bool labels")
    n_boot = check_int("n_boot", n_boot, min=1, owner=owner)
    level = check_float("level", level, min=0, max=1, open_min=True, open_max=True, owner=owner)
    rng = make_rng(seed, owner=owner)
    positive = labels.astype(bool)
    n = len(positive)
    diffs = np.empty(n_boot)
    for b in range(n_boot):
        rows = rng.integers(0, n, n)
        diffs[b] = _rank_auc(positive[rows], new[rows], owner) - _rank_auc(
            positive[rows], old[rows], owner
        )
    low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return MeanInterval(float(diffs.mean()), float(low), float(high))


def _rank_auc(positive: np.ndarray, score: np.ndarray, owner: str) -> float:
    """ROC AUC of one resample (:func:`mlsys_kit.stats.rank_auc`); an error with one class."""
    auc = rank_auc(positive, score)
    if np.isnan(auc):
        raise ParameterError(
            f"{owner}: a bootstrap resample holds one class only: too few rows of one class"
        )
    return auc


# --- Confidence measurement ---------------------------------------------------------------------

COVERAGE_COLUMNS = ["threshold", "answered", "coverage", "confidence", "accuracy"]


def accuracy_coverage(
    y_true: Any, y_prob: Any, *, thresholds: Sequence[float] | None = None
) -> pd.DataFrame:
    """Accuracy against coverage when a binary classifier abstains below a confidence threshold.

    The model predicts class 1 when ``y_prob ≥ 0.5``; its *confidence* in that
    prediction is ``max(y_prob, 1 − y_prob)``, in ``[0.5, 1]``. For each threshold
    ``t``, the model answers only the inputs with confidence ``≥ t`` and abstains on
    the others (a human, a fallback rule, or "no recommendation" handles them).
    Raising ``t`` lowers the *coverage* (share of inputs answered) and, for a model
    whose confidence means something, raises the accuracy on those answered.

    Parameters
    ----------
    y_true : array_like of {0, 1} or bool
        True binary labels.
    y_prob : array_like of float
        Predicted probabilities of class 1, in ``[0, 1]``.
    thresholds : sequence of float, optional
        Confidence thresholds, each in ``[0.5, 1]``. Default: 0.50, 0.51, ..., 1.00.

    Returns
    -------
    pandas.DataFrame
        One row per threshold, with columns ``threshold``, ``answered`` (count),
        ``coverage`` (share answered), ``confidence`` (mean confidence of the
        answered inputs) and ``accuracy`` (on the answered inputs). The last two are
        NaN when no input is answered. For a calibrated model, accuracy ≈ confidence.

    Raises
    ------
    ParameterError
        As :func:`reliability_table`, or if a threshold is outside ``[0.5, 1]``.

    Examples
    --------
    >>> table = accuracy_coverage([1, 0, 1, 0], [0.95, 0.2, 0.55, 0.6], thresholds=[0.5, 0.7])
    >>> table[["threshold", "answered", "coverage", "accuracy"]].to_dict("list")
    {'threshold': [0.5, 0.7], 'answered': [4, 2], 'coverage': [1.0, 0.5], 'accuracy': [0.75, 1.0]}
    >>> table["confidence"].round(3).tolist()
    [0.725, 0.875]
    """
    owner = "accuracy_coverage"
    labels, probs = _labels_and_probabilities(y_true, y_prob, owner)
    if thresholds is None:
        grid = np.round(np.linspace(0.5, 1.0, 51), 2)
    else:
        if isinstance(thresholds, str | bytes):
            raise ParameterError(
                f"{owner}: thresholds must be a sequence of numbers; got {thresholds!r}"
            )
        grid = check_array(
            "thresholds",
            list(thresholds),
            ndim=1,
            min_length=1,
            dtype=float,
            finite=True,
            owner=owner,
        )
        if grid.min() < 0.5 or grid.max() > 1:
            raise ParameterError(
                f"{owner}: thresholds must lie in [0.5, 1] (the confidence max(p, 1 - p) of a "
                f"binary prediction); got {grid.tolist()}"
            )
    confidence = np.maximum(probs, 1 - probs)
    correct = (probs >= 0.5) == (labels == 1)
    rows = []
    for t in grid:
        answered = confidence >= t
        n = int(answered.sum())
        mean_confidence = confidence[answered].mean() if n else np.nan
        accuracy = correct[answered].mean() if n else np.nan
        rows.append((float(t), n, n / len(labels), mean_confidence, accuracy))
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


# --- Slice-based evaluation ---------------------------------------------------------------------

SLICE_COLUMNS = ["slice", "size", "accuracy", "rest_accuracy", "gap", "p_value"]


def slice_accuracy(
    data: pd.DataFrame,
    y_true: Any,
    y_pred: Any,
    *,
    columns: Sequence[str] | None = None,
    min_size: int = 100,
    n_quantiles: int = 4,
    max_depth: int = 1,
) -> pd.DataFrame:
    """Accuracy of every slice of the data, compared with the rest of the data.

    A *slice* is a subset defined by one column (``max_depth=1``) or two columns
    (``max_depth=2``): ``sex = Female``, ``age in (37.0, 48.0]``, or both at once.
    Text, categorical and boolean columns, and numeric columns with at most
    ``n_quantiles`` distinct values, give one slice per value (missing values form
    their own slice, ``column is missing``); other numeric columns are cut into
    ``n_quantiles`` quantile bins. Slices smaller than ``min_size`` are skipped:
    their accuracy is too noisy to act on.

    For each slice, ``gap`` is its accuracy minus the overall accuracy, and
    ``p_value`` comes from a one-sided two-proportion z-test of "the slice is less
    accurate than the rest of the data" (pooled variance,
    :func:`statsmodels.stats.proportion.proportions_ztest`), Bonferroni-corrected for
    the number of slices tested (:func:`statsmodels.stats.multitest.multipletests`:
    multiplied by it, capped at 1): test enough slices and some look bad by chance.
    A slice that is the whole data, or data on which every prediction is right (or
    wrong), has nothing to be compared with: its p-value is 1.

    Parameters
    ----------
    data : pandas.DataFrame
        The evaluation rows, with the columns to slice on.
    y_true, y_pred : array_like
        True and predicted labels, one per row of ``data`` (any label type).
    columns : sequence of str, optional
        Columns to slice on. Default: all columns of ``data``.
    min_size : int, default 100
        Smallest slice size reported, at least 1.
    n_quantiles : int, default 4
        Quantile bins for numeric columns, at least 2.
    max_depth : {1, 2}, default 1
        Slices of one column, or of one and two columns.

    Returns
    -------
    pandas.DataFrame
        One row per slice, worst ``gap`` first, with columns ``slice`` (e.g.
        ``"sex = Female"``, ``"age in (37.0, 48.0] & sex = Female"``), ``size``,
        ``accuracy``, ``rest_accuracy`` (of all other rows), ``gap`` and
        ``p_value``.

    Raises
    ------
    ParameterError
        If ``data`` is not a DataFrame, the lengths differ, a column is unknown,
        or ``min_size``, ``n_quantiles`` or ``max_depth`` is out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"group": ["a"] * 6 + ["b"] * 4})
    >>> y_true = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    >>> y_pred = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    >>> slice_accuracy(data, y_true, y_pred, min_size=2)[["slice", "size", "accuracy", "gap"]]
           slice  size  accuracy  gap
    0  group = b     4       0.5 -0.3
    1  group = a     6       1.0  0.2
    """
    owner = "slice_accuracy"
    correct, columns = _correct_and_columns(data, y_true, y_pred, columns, owner)
    min_size = check_int("min_size", min_size, min=1, owner=owner)
    n_quantiles = check_int("n_quantiles", n_quantiles, min=2, owner=owner)
    max_depth = check_int("max_depth", max_depth, min=1, max=2, owner=owner)

    groups = {c: _slice_labels(data[c], c, n_quantiles) for c in columns}
    candidates: list[tuple[str, np.ndarray]] = []
    for c in columns:
        candidates += _slices_of(groups[c])
    if max_depth == 2:
        for i, a in enumerate(columns):
            for b in columns[i + 1 :]:
                candidates += _slices_of(groups[a] + " & " + groups[b])
    n, total_correct = len(correct), int(correct.sum())
    overall = total_correct / n
    rows, hits_of = [], []
    for name, mask in candidates:
        size = int(mask.sum())
        if size < min_size:
            continue
        hits = int(correct[mask].sum())
        rest = n - size
        rest_accuracy = (total_correct - hits) / rest if rest else np.nan
        rows.append((name, size, hits / size, rest_accuracy))
        hits_of.append(hits)
    table = pd.DataFrame(rows, columns=SLICE_COLUMNS[:4])
    table["gap"] = table["accuracy"] - overall
    p_values = _one_sided_p(np.asarray(hits_of), table["size"].to_numpy(), n, total_correct)
    table["p_value"] = _bonferroni(p_values)
    return table.sort_values(["gap", "slice"], kind="stable").reset_index(drop=True)


def find_underperforming_slices(
    data: pd.DataFrame,
    y_true: Any,
    y_pred: Any,
    *,
    columns: Sequence[str] | None = None,
    min_size: int = 100,
    n_quantiles: int = 4,
    max_depth: int = 1,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Slices whose accuracy is significantly below that of the rest of the data.

    Runs :func:`slice_accuracy` and keeps the slices with a negative ``gap`` and a
    (Bonferroni-corrected) ``p_value`` below ``alpha``, worst first. An empty
    result means no slice of at least ``min_size`` rows is detectably worse.

    Parameters
    ----------
    data, y_true, y_pred, columns, min_size, n_quantiles, max_depth
        As :func:`slice_accuracy`.
    alpha : float, default 0.05
        Significance level, in ``(0, 1)``.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`slice_accuracy` that qualify, worst first.

    Raises
    ------
    ParameterError
        As :func:`slice_accuracy`, or if ``alpha`` is not in ``(0, 1)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame({"city": rng.choice(["Oslo", "Rome", "Lima"], 3000)})
    >>> y_true = rng.integers(0, 2, 3000)
    >>> wrong = rng.random(3000) < np.where(data["city"] == "Lima", 0.3, 0.1)
    >>> y_pred = np.where(wrong, 1 - y_true, y_true)
    >>> find_underperforming_slices(data, y_true, y_pred)["slice"].tolist()
    ['city = Lima']
    """
    check_float(
        "alpha",
        alpha,
        min=0,
        max=1,
        open_min=True,
        open_max=True,
        owner="find_underperforming_slices",
    )
    table = slice_accuracy(
        data,
        y_true,
        y_pred,
        columns=columns,
        min_size=min_size,
        n_quantiles=n_quantiles,
        max_depth=max_depth,
    )
    keep = (table["gap"] < 0) & (table["p_value"] < alpha)
    return table[keep].reset_index(drop=True)


def _correct_and_columns(
    data: Any, y_true: Any, y_pred: Any, columns: Sequence[str] | None, owner: str
) -> tuple[np.ndarray, list[str]]:
    """Whether each prediction is right, and the columns to slice on (validated)."""
    check_type("data", data, pd.DataFrame, owner=owner)
    truth = check_array("y_true", y_true, ndim=1, owner=owner)
    pred = check_array("y_pred", y_pred, ndim=1, owner=owner)
    check_same_length(data=data, y_true=truth, y_pred=pred, owner=owner)
    if len(data) == 0:
        raise ParameterError(f"{owner}: data must not be empty")
    if columns is None:
        columns = list(data.columns)
    elif isinstance(columns, str):
        raise ParameterError(
            f"{owner}: columns must be a sequence of column names; got the string {columns!r}"
        )
    columns = list(columns)
    if not columns:
        raise ParameterError(f"{owner}: columns must name at least one column of data")
    for column in columns:
        check_choice("column", column, list(data.columns), owner=owner)
    return (truth == pred).astype(float), columns


def _slice_labels(values: pd.Series, name: str, n_quantiles: int) -> pd.Series:
    """A text label per row: ``"name = value"``, ``"name in (a, b]"`` or ``"name is missing"``."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > n_quantiles:
        bins = pd.qcut(values, n_quantiles, duplicates="drop")
        labels = bins.astype(object).map(lambda b: f"{name} in {b}", na_action="ignore")
    else:
        labels = values.astype(object).map(lambda v: f"{name} = {v}", na_action="ignore")
    labels = labels.where(values.notna(), f"{name} is missing")
    return pd.Series(labels.to_numpy(dtype=object), index=values.index, dtype=object)


def _slices_of(labels: pd.Series) -> list[tuple[str, np.ndarray]]:
    codes, names = pd.factorize(labels, sort=True)
    return [(str(name), codes == k) for k, name in enumerate(names)]


def _one_sided_p(hits: np.ndarray, sizes: np.ndarray, n: int, total_correct: int) -> np.ndarray:
    """P-values of 'slice accuracy < rest accuracy': statsmodels' pooled two-proportion z-test.

    1 where the test is undefined: a slice that is all the rows (no rest to compare with),
    or data on which every prediction is right, or every one wrong (no variance).
    """
    from statsmodels.stats.proportion import proportions_ztest

    p_values = np.ones(len(sizes))
    if total_correct in (0, n):
        return p_values
    for i, (hit, size) in enumerate(zip(hits, sizes, strict=True)):
        if size < n:
            _, p_values[i] = proportions_ztest(
                [hit, total_correct - hit], [size, n - size], alternative="smaller"
            )
    return p_values


def _bonferroni(p_values: np.ndarray) -> np.ndarray:
    """Bonferroni-adjusted p-values (statsmodels' ``multipletests``), for every slice tested."""
    from statsmodels.stats.multitest import multipletests

    if len(p_values) == 0:
        return p_values
    return multipletests(p_values, method="bonferroni")[1]
