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
by; the few lines here say exactly which convention is used.

**Confidence measurement** (Chapter 6). :func:`accuracy_coverage`: abstain when the
model's confidence is below a threshold, and trade the share of inputs answered
(coverage) against the accuracy on those answered.

**Slice-based evaluation** (Chapter 6). :func:`slice_accuracy` scores every slice of
one or two columns against the rest of the data; :func:`find_underperforming_slices`
keeps those significantly worse than the rest. It is hand-written on purpose: no
maintained library does it for tabular data (Slice Finder, the method the book cites,
is a research prototype), and the method is short enough to read.

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

__all__ = [
    "accuracy_coverage",
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
    seed: int = 0,
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
    seed : int, default 0
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
    ValueError
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
    ValueError: sizes must lie in [2, 150] (the training rows); got [1000]
    """
    if not models:
        raise ValueError("models must name at least one estimator")
    n = _length("X", X)
    if _length("y", y) != n:
        raise ValueError(f"X and y must have the same number of rows; got {n} and {len(y)}")
    if _length("X_test", X_test) != _length("y_test", y_test):
        raise ValueError(
            f"X_test and y_test must have the same number of rows; "
            f"got {len(X_test)} and {len(y_test)}"
        )
    sizes = _check_sizes(sizes, n)
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ValueError(f"repeats must be an integer ≥ 1; got {repeats!r}")
    try:
        scorer = get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"scoring={scoring!r} is not a scikit-learn scorer name "
            "(see sklearn.metrics.get_scorer_names())"
        ) from None

    rng = np.random.default_rng(seed)
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


def _length(name: str, values: Any) -> int:
    try:
        return len(values)
    except TypeError:
        raise ValueError(
            f"{name} must be array-like with rows; got {type(values).__name__}"
        ) from None


def _check_sizes(sizes: Sequence[int], n: int) -> list[int]:
    values = list(sizes) if not isinstance(sizes, str | bytes) else None
    if not values or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) for s in values
    ):
        raise ValueError(f"sizes must be a non-empty sequence of integers; got {sizes!r}")
    values = [int(s) for s in values]
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError(f"sizes must be strictly increasing; got {values}")
    if values[0] < 2 or values[-1] > n:
        raise ValueError(f"sizes must lie in [2, {n}] (the training rows); got {values}")
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
        raise ValueError(
            f"sizes must be at least the number of classes ({len(classes)}) with stratify=True; "
            f"got {size}"
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

    The convention (the one of reliability diagrams for binary classifiers, and of
    :func:`sklearn.calibration.calibration_curve`): ``y_prob`` is the predicted
    probability of class 1; the bins split ``[0, 1]`` into ``n_bins`` equal-width
    intervals, a probability ``p`` falling into bin ``min(floor(p · n_bins), n_bins - 1)``
    (so each bin is ``[lower, upper)`` and the last one also holds 1.0). In each bin,
    *confidence* is the mean predicted probability and *accuracy* the observed rate
    of class 1. A calibrated model has accuracy ≈ confidence in every bin.

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
    ValueError
        If the inputs are empty or differ in length, ``y_true`` is not binary,
        ``y_prob`` is outside ``[0, 1]`` or not finite, or ``n_bins`` is not an
        integer ≥ 1.

    Examples
    --------
    >>> table = reliability_table([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.6], n_bins=2)
    >>> table[["count", "confidence", "accuracy"]].to_dict("list")
    {'count': [2, 2], 'confidence': [0.125, 0.7], 'accuracy': [0.0, 1.0]}
    """
    labels, probs = _check_binary(y_true, y_prob)
    n_bins = _check_n_bins(n_bins)
    bins = np.minimum(np.floor(probs * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(bins, weights=probs, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=labels, minlength=n_bins) / count
    edges = np.arange(n_bins + 1) / n_bins
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
    ValueError
        As :func:`reliability_table`.

    Examples
    --------
    Bin [0, 0.5): confidence 0.125, observed 0 → gap 0.125; bin [0.5, 1]: confidence
    0.7, observed 1 → gap 0.3. Each bin holds half the samples:

    >>> expected_calibration_error([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.6], n_bins=2)
    0.2125
    """
    table = reliability_table(y_true, y_prob, n_bins=n_bins)
    filled = table[table["count"] > 0]
    weights = filled["count"] / filled["count"].sum()
    return float(round((weights * filled["gap"].abs()).sum(), 12))


def _check_binary(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(y_true)
    probs = np.asarray(y_prob)
    if labels.ndim != 1 or probs.ndim != 1:
        raise ValueError(
            "y_true and y_prob must be one-dimensional (for y_prob: the probability of class 1, "
            f"e.g. predict_proba(X)[:, 1]); got shapes {labels.shape} and {probs.shape}"
        )
    if len(labels) == 0:
        raise ValueError("y_true and y_prob must not be empty")
    if len(labels) != len(probs):
        raise ValueError(
            f"y_true and y_prob must have the same length; got {len(labels)} and {len(probs)}"
        )
    if labels.dtype == bool:
        labels = labels.astype(float)
    try:
        labels = labels.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"y_true must hold 0/1 or bool labels; got dtype {labels.dtype}") from None
    if not np.isin(labels, (0.0, 1.0)).all():
        found = sorted(set(np.unique(labels[~np.isin(labels, (0.0, 1.0))]).tolist()))[:5]
        raise ValueError(f"y_true must hold only 0/1 (or bool) labels; found {found}")
    try:
        probs = probs.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"y_prob must hold numbers; got dtype {probs.dtype}") from None
    if not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
        raise ValueError("y_prob must hold probabilities in [0, 1] (finite, no NaN)")
    return labels, probs


def _check_n_bins(n_bins: Any) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer ≥ 1; got {n_bins!r}")
    return int(n_bins)


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
    ValueError
        As :func:`reliability_table`, or if a threshold is outside ``[0.5, 1]``.

    Examples
    --------
    >>> table = accuracy_coverage([1, 0, 1, 0], [0.95, 0.2, 0.55, 0.6], thresholds=[0.5, 0.7])
    >>> table[["threshold", "answered", "coverage", "accuracy"]].to_dict("list")
    {'threshold': [0.5, 0.7], 'answered': [4, 2], 'coverage': [1.0, 0.5], 'accuracy': [0.75, 1.0]}
    >>> table["confidence"].round(3).tolist()
    [0.725, 0.875]
    """
    labels, probs = _check_binary(y_true, y_prob)
    if thresholds is None:
        grid = np.round(np.linspace(0.5, 1.0, 51), 2)
    else:
        if isinstance(thresholds, str | bytes):
            raise ValueError(f"thresholds must be a sequence of numbers; got {thresholds!r}")
        try:
            grid = np.asarray(list(thresholds), dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"thresholds must be a sequence of numbers; got {thresholds!r}"
            ) from None
        if grid.ndim != 1 or len(grid) == 0:
            raise ValueError(
                f"thresholds must be a non-empty sequence of numbers; got {thresholds!r}"
            )
        if not np.isfinite(grid).all() or grid.min() < 0.5 or grid.max() > 1:
            raise ValueError(
                "thresholds must lie in [0.5, 1] (the confidence max(p, 1 - p) of a binary "
                f"prediction); got {grid.tolist()}"
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
    accurate than the rest of the data", Bonferroni-corrected for the number of
    slices tested (multiplied by it, capped at 1): test enough slices and some
    look bad by chance.

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
    ValueError
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
    correct, columns = _check_slicing(data, y_true, y_pred, columns)
    if isinstance(min_size, bool) or not isinstance(min_size, int | np.integer) or min_size < 1:
        raise ValueError(f"min_size must be an integer ≥ 1; got {min_size!r}")
    if (
        isinstance(n_quantiles, bool)
        or not isinstance(n_quantiles, int | np.integer)
        or n_quantiles < 2
    ):
        raise ValueError(f"n_quantiles must be an integer ≥ 2; got {n_quantiles!r}")
    if max_depth not in (1, 2) or isinstance(max_depth, bool):
        raise ValueError(f"max_depth must be 1 or 2; got {max_depth!r}")

    groups = {c: _slice_labels(data[c], c, n_quantiles) for c in columns}
    candidates: list[tuple[str, np.ndarray]] = []
    for c in columns:
        candidates += _slices_of(groups[c])
    if max_depth == 2:
        for i, a in enumerate(columns):
            for b in columns[i + 1 :]:
                candidates += _slices_of(groups[a] + " & " + groups[b])
    n, total_correct = len(correct), correct.sum()
    overall = total_correct / n
    rows = []
    for name, mask in candidates:
        size = int(mask.sum())
        if size < min_size:
            continue
        hits = correct[mask].sum()
        rest = n - size
        rest_accuracy = (total_correct - hits) / rest if rest else np.nan
        rows.append((name, size, hits / size, rest_accuracy))
    table = pd.DataFrame(rows, columns=SLICE_COLUMNS[:4])
    table["gap"] = table["accuracy"] - overall
    table["p_value"] = _one_sided_p(table, n, overall) * max(len(table), 1)
    table["p_value"] = table["p_value"].clip(upper=1.0)
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
    ValueError
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
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}")
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


def _check_slicing(
    data: Any, y_true: Any, y_pred: Any, columns: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    if truth.ndim != 1 or pred.ndim != 1:
        raise ValueError("y_true and y_pred must be one-dimensional (labels, not probabilities)")
    if not len(data) == len(truth) == len(pred):
        raise ValueError(
            "data, y_true and y_pred must have the same number of rows; "
            f"got {len(data)}, {len(truth)} and {len(pred)}"
        )
    if len(data) == 0:
        raise ValueError("data must not be empty")
    if columns is None:
        columns = list(data.columns)
    elif isinstance(columns, str):
        raise ValueError(f"columns must be a sequence of column names; got the string {columns!r}")
    columns = list(columns)
    unknown = [c for c in columns if c not in data.columns]
    if unknown or not columns:
        raise ValueError(
            f"columns must name columns of data; unknown: {unknown}; "
            f"available: {list(data.columns)}"
        )
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


def _one_sided_p(table: pd.DataFrame, n: int, overall: float) -> np.ndarray:
    """P-values of 'slice accuracy < rest accuracy', two-proportion z-test (pooled)."""
    from scipy.stats import norm

    size = table["size"].to_numpy(dtype=float)
    rest = n - size
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(overall * (1 - overall) * (1 / size + 1 / rest))
        z = (table["accuracy"].to_numpy() - table["rest_accuracy"].to_numpy()) / se
    p = norm.cdf(z)
    return np.where(np.isfinite(p), p, 1.0)
