"""Learning curves: how a model's test score grows with the amount of training data.

Serves Chapter 2, "Mind Versus Data" (Chip Huyen, *Designing Machine Learning
Systems*, 2022): does progress come from better priors built into models (mind) or
from more data? A learning curve answers it for one data set: train each model on
random subsets of growing size and score it on one fixed test set. Models with
strong built-in assumptions learn fast and flatten early; flexible models need more
data and keep improving longer. Chapter 6 ("Model Development and Offline
Evaluation") uses the same curves to decide whether more data would help a model.

:func:`learning_curves` runs the experiment and returns one row per fit, so a
notebook can summarise it (mean and spread per size) and plot it in plain pandas.
Unlike :func:`sklearn.model_selection.learning_curve`, which scores on
cross-validation folds of the training data, it scores every fit on the same
held-out test set, so the curves of different models are directly comparable.

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

__all__ = ["learning_curves"]

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
