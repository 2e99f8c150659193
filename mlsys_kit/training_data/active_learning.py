"""Active learning: a short pool-based loop, uncertainty sampling against random sampling.

Serves Chapter 4, "Handling the Lack of Labels", section "Active learning" (Chip Huyen,
*Designing Machine Learning Systems*, 2022): instead of labelling rows picked at random, let
the model choose the rows it is least sure about, so that each label teaches it the most.
The book's simplest query strategy is *uncertainty measurement*; :func:`uncertainty` scores
it three common ways (``"least_confident"``, ``"margin"``, ``"entropy"``) and
:func:`active_learning_curve` runs the loop on a labelled pool (the labels are revealed only
when queried, as an annotator would provide them) and records test accuracy at each label
budget. :func:`budget_curve` is the yardstick of the whole chapter section: the test score of
a model given ``b`` labelled rows drawn at random, for each budget ``b``, averaged over
repeated draws (:func:`budget_scores` keeps each draw); with ``semi_supervised=True`` the
model also sees the unlabelled rest of the pool (label ``-1``, scikit-learn's convention for
semi-supervised estimators).
:func:`mlsys_kit.stats.mean_interval` states a comparison of two methods over the same draws
with its uncertainty.

Why hand-written: the loop is the lesson and takes a dozen lines; scikit-activeml and modAL
implement it with many more strategies, but would add a dependency for one notebook. The
entropy of the predicted distribution is :func:`scipy.stats.entropy` (natural log).

Random functions take ``seed`` (an integer or a :class:`numpy.random.Generator`, resolved by
:func:`mlsys_kit.params.make_rng`): pass a Generator to thread one stream through calls.

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklearn.linear_model import LogisticRegression
>>> X, y = load_digits(return_X_y=True)
>>> curve = active_learning_curve(
...     LogisticRegression(max_iter=300), X[:500] / 16, y[:500], X[500:800] / 16, y[500:800],
...     budgets=[20, 40], strategy="margin", seed=0,
... )
>>> list(curve.index), bool(curve.between(0, 1).all())
([20, 40], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import entropy
from sklearn.base import clone

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_same_length,
    make_rng,
)

__all__ = [
    "STRATEGIES",
    "METRICS",
    "uncertainty",
    "active_learning_curve",
    "budget_scores",
    "budget_curve",
]

#: Test metrics of :func:`budget_curve`.
METRICS: tuple[str, ...] = ("accuracy", "roc_auc")
#: Query strategies of :func:`active_learning_curve`: random sampling and three uncertainties.
STRATEGIES: tuple[str, ...] = ("random", "least_confident", "margin", "entropy")


def uncertainty(proba: np.ndarray, kind: str = "margin") -> np.ndarray:
    """How unsure a model is about each row, from its predicted probabilities (higher: less sure).

    Parameters
    ----------
    proba : array of shape (n_rows, n_classes)
        Predicted class probabilities, rows summing to one.
    kind : {"least_confident", "margin", "entropy"}
        ``least_confident``: one minus the top probability. ``margin``: one minus the gap
        between the two top probabilities. ``entropy``: the entropy of the distribution, in
        nats (:func:`scipy.stats.entropy`).

    Returns
    -------
    numpy.ndarray of shape (n_rows,)

    Examples
    --------
    >>> p = np.array([[0.9, 0.1, 0.0], [0.5, 0.4, 0.1]])
    >>> uncertainty(p, "margin").round(2).tolist()
    [0.2, 0.9]
    >>> uncertainty(p, "least_confident").round(2).tolist()
    [0.1, 0.5]
    """
    owner = "uncertainty"
    proba = check_array("proba", proba, ndim=2, dtype=float, owner=owner)
    if proba.shape[1] < 1:
        raise ParameterError(
            f"{owner}: proba must have shape (n_rows, n_classes); got {proba.shape}"
        )
    check_choice("kind", kind, STRATEGIES[1:], owner=owner)
    if kind == "least_confident":
        return 1.0 - proba.max(axis=1)
    if kind == "margin":
        if proba.shape[1] == 1:
            return np.zeros(len(proba))
        top_two = np.sort(proba, axis=1)[:, -2:]
        return 1.0 - (top_two[:, 1] - top_two[:, 0])
    return entropy(proba, axis=1)  # kind == "entropy"


def _budget_list(budgets: Sequence[int], n_pool: int, owner: str) -> list[int]:
    """``budgets`` as strictly increasing label counts within the pool."""
    values = list(budgets)
    if not values:
        raise ParameterError(f"{owner}: budgets must be positive integers; got {budgets!r}")
    values = [check_int(f"budgets[{i}]", b, min=1, owner=owner) for i, b in enumerate(values)]
    if values != sorted(set(values)):
        raise ParameterError(f"{owner}: budgets must be strictly increasing; got {values}")
    if values[-1] > n_pool:
        raise ParameterError(
            f"{owner}: the largest budget ({values[-1]}) exceeds the pool ({n_pool} rows)"
        )
    return values


def active_learning_curve(
    model: Any,
    X_pool: np.ndarray,
    y_pool: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    budgets: Sequence[int],
    strategy: str = "margin",
    batch_size: int = 10,
    seed: Seed = 0,
) -> pd.Series:
    """Test accuracy of a model at each label budget, the labels chosen by ``strategy``.

    The loop: label ``budgets[0]`` rows of the pool at random; then, until the largest
    budget, fit a fresh copy of ``model`` on the labelled rows, score the unlabelled ones
    and label the ``batch_size`` most uncertain (or, for ``"random"``, random ones: its model
    is fitted only at the budgets, where it is measured). Only the queried labels of ``y_pool``
    are ever read, as if an annotator provided them.

    Parameters
    ----------
    model : scikit-learn classifier with ``predict_proba``
        Cloned before every fit.
    X_pool, y_pool : arrays
        The unlabelled pool and its (hidden) labels.
    X_test, y_test : arrays
        A held-out labelled test set.
    budgets : sequence of int
        Strictly increasing label counts at which test accuracy is recorded. The first one
        is the random starting set, shared by all strategies given the same ``seed``.
    strategy : {"random", "least_confident", "margin", "entropy"}, default "margin"
    batch_size : int, default 10
        Labels queried per round (the model is refitted once per round).
    seed : int or numpy.random.Generator, default 0
        Draws the starting set and, for ``"random"``, the queries.

    Returns
    -------
    pandas.Series
        Test accuracy indexed by budget.

    Raises
    ------
    ParameterError
        For an unknown strategy, bad budgets or batch size, or mismatched arrays.
    """
    owner = "active_learning_curve"
    check_choice("strategy", strategy, STRATEGIES, owner=owner)
    check_int("batch_size", batch_size, min=1, owner=owner)
    X_pool, y_pool = np.asarray(X_pool), np.asarray(y_pool)
    check_same_length(X_pool=X_pool, y_pool=y_pool, owner=owner)
    check_same_length(X_test=X_test, y_test=y_test, owner=owner)
    budgets = _budget_list(budgets, len(X_pool), owner)
    rng = make_rng(seed, owner=owner)

    labelled = list(rng.choice(len(X_pool), size=budgets[0], replace=False))
    accuracy = {}
    while True:
        measured = len(labelled) in budgets
        # Random queries do not depend on the model: it is fitted only where it is measured.
        if measured or strategy != "random":
            fitted = clone(model).fit(X_pool[labelled], y_pool[labelled])
        if measured:
            accuracy[len(labelled)] = float(fitted.score(X_test, y_test))
        if len(labelled) >= budgets[-1]:
            break
        unlabelled = np.setdiff1d(np.arange(len(X_pool)), labelled)
        # Never overshoot the next budget, so that every budget is measured exactly.
        next_budget = min(b for b in budgets if b > len(labelled))
        n_query = min(batch_size, next_budget - len(labelled))
        if strategy == "random":
            chosen = rng.choice(unlabelled, size=n_query, replace=False)
        else:
            scores = uncertainty(fitted.predict_proba(X_pool[unlabelled]), strategy)
            chosen = unlabelled[np.argsort(-scores, kind="stable")[:n_query]]
        labelled.extend(int(i) for i in chosen)
    return pd.Series(accuracy, name=f"accuracy ({strategy})").rename_axis("labels")


def _take(data: Any, rows: np.ndarray) -> Any:
    return data.iloc[rows] if isinstance(data, (pd.DataFrame, pd.Series)) else data[rows]


def _score(fitted: Any, X_test: Any, y_test: np.ndarray, metric: str) -> float:
    if metric == "accuracy":
        return float(np.mean(fitted.predict(X_test) == y_test))
    from sklearn.metrics import roc_auc_score

    proba = fitted.predict_proba(X_test)
    if proba.shape[1] < 2:  # a constant model ranks nothing
        return 0.5
    return float(roc_auc_score(y_test, proba[:, 1]))


def budget_scores(
    model: Any,
    X_pool: Any,
    y_pool: Any,
    X_test: Any,
    y_test: Any,
    *,
    budgets: Sequence[int],
    n_repeats: int = 3,
    seed: Seed = 0,
    semi_supervised: bool = False,
    metric: str = "accuracy",
) -> pd.DataFrame:
    """Test score of ``model`` given ``b`` random labelled rows of the pool, per ``b`` and draw.

    Each repeat draws one random order of the pool; budget ``b`` labels its first ``b`` rows,
    so larger budgets extend smaller ones, and two calls with generators in the same state
    label the same rows (a paired comparison of two models).

    Parameters
    ----------
    model : scikit-learn classifier
        Cloned before every fit. When the labelled rows hold a single class, a constant
        model (the most frequent class) stands in for it.
    X_pool, y_pool : arrays or pandas objects
        The pool and its labels; only the labels of the drawn rows are used.
    X_test, y_test : arrays or pandas objects
        A held-out labelled test set.
    budgets : sequence of int
        Strictly increasing numbers of labelled rows.
    n_repeats : int, default 3
        Random draws per budget.
    seed : int or numpy.random.Generator, default 0
        Draws the random orders of the pool.
    semi_supervised : bool, default False
        Fit on the whole pool with the unlabelled rows' label set to ``-1`` (for
        ``LabelSpreading``, ``SelfTrainingClassifier``...) instead of on the labelled rows only.
    metric : {"accuracy", "roc_auc"}, default "accuracy"
        ``roc_auc`` needs a binary task and ``predict_proba``.

    Returns
    -------
    pandas.DataFrame
        The score of each draw (columns ``0 .. n_repeats - 1``, named ``"draw"``), indexed by
        budget. Its row mean is :func:`budget_curve`.

    Raises
    ------
    ParameterError
        Bad budgets, metric, ``n_repeats`` or mismatched lengths.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> scores = budget_scores(KNeighborsClassifier(1), X[:600], y[:600], X[600:900], y[600:900],
    ...                        budgets=[10, 100], n_repeats=2, seed=0)
    >>> scores.shape
    (2, 2)
    """
    from sklearn.dummy import DummyClassifier

    owner = "budget_curve"
    check_choice("metric", metric, METRICS, owner=owner)
    check_int("n_repeats", n_repeats, min=1, owner=owner)
    check_bool("semi_supervised", semi_supervised, owner=owner)
    y_pool, y_test = np.asarray(y_pool), np.asarray(y_test)
    check_same_length(X_pool=X_pool, y_pool=y_pool, owner=owner)
    check_same_length(X_test=X_test, y_test=y_test, owner=owner)
    budgets = _budget_list(budgets, len(y_pool), owner)
    rng = make_rng(seed, owner=owner)
    scores = np.zeros((len(budgets), n_repeats))
    for repeat in range(n_repeats):
        order = rng.permutation(len(y_pool))
        for i, budget in enumerate(budgets):
            labelled = order[:budget]
            if len(np.unique(y_pool[labelled])) < 2:
                fitted = DummyClassifier().fit(_take(X_pool, labelled), y_pool[labelled])
            elif semi_supervised:
                partial = np.full_like(y_pool, -1)
                partial[labelled] = y_pool[labelled]
                fitted = clone(model).fit(X_pool, partial)
            else:
                fitted = clone(model).fit(_take(X_pool, labelled), y_pool[labelled])
            scores[i, repeat] = _score(fitted, X_test, y_test, metric)
    return pd.DataFrame(
        scores,
        index=pd.Index(budgets, name="labels"),
        columns=pd.RangeIndex(n_repeats, name="draw"),
    )


def budget_curve(
    model: Any,
    X_pool: Any,
    y_pool: Any,
    X_test: Any,
    y_test: Any,
    *,
    budgets: Sequence[int],
    n_repeats: int = 3,
    seed: Seed = 0,
    semi_supervised: bool = False,
    metric: str = "accuracy",
) -> pd.Series:
    """Mean test score of ``model`` given ``b`` random labelled rows of the pool, for each ``b``.

    Each repeat draws one random order of the pool; budget ``b`` labels its first ``b`` rows,
    so larger budgets extend smaller ones, and two calls with generators in the same state
    label the same rows (a paired comparison of two models).

    Parameters
    ----------
    model : scikit-learn classifier
        Cloned before every fit. When the labelled rows hold a single class, a constant
        model (the most frequent class) stands in for it.
    X_pool, y_pool : arrays or pandas objects
        The pool and its labels; only the labels of the drawn rows are used.
    X_test, y_test : arrays or pandas objects
        A held-out labelled test set.
    budgets : sequence of int
        Strictly increasing numbers of labelled rows.
    n_repeats : int, default 3
        Random draws averaged per budget.
    seed : int or numpy.random.Generator, default 0
        Draws the random orders of the pool.
    semi_supervised : bool, default False
        Fit on the whole pool with the unlabelled rows' label set to ``-1`` (for
        ``LabelSpreading``, ``SelfTrainingClassifier``...) instead of on the labelled rows only.
    metric : {"accuracy", "roc_auc"}, default "accuracy"
        ``roc_auc`` needs a binary task and ``predict_proba``.

    Returns
    -------
    pandas.Series
        The mean score indexed by budget.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> curve = budget_curve(KNeighborsClassifier(1), X[:600], y[:600], X[600:900], y[600:900],
    ...                      budgets=[10, 100], n_repeats=2, seed=0)
    >>> bool(curve[100] > curve[10])
    True
    """
    return (
        budget_scores(
            model,
            X_pool,
            y_pool,
            X_test,
            y_test,
            budgets=budgets,
            n_repeats=n_repeats,
            seed=seed,
            semi_supervised=semi_supervised,
            metric=metric,
        )
        .mean(axis=1)
        .rename(metric)
    )
