"""Planted bugs, the cheap tests that catch them, and the gain of each phase of development.

Serves Chapter 6, "Model Development and Offline Evaluation" (Chip Huyen, *Designing Machine
Learning Systems*, 2022): "Debugging ML Models" (start simple and gradually add components,
overfit a single batch, set a random seed), the model-selection tips of "Evaluating ML
Models" (start simple, compare with baselines) and "Four Phases of ML Model Development".

* :func:`plant_bug` prepares a :class:`DebugCase`: the rows and settings of a training
  pipeline with one bug a practitioner meets (labels shuffled against the features, a leaky
  feature, a scaler fitted before the split, a learning rate far too high, training rows from
  another distribution than the test rows), or none (the control).
* The pipeline under test is scikit-learn's :class:`~sklearn.preprocessing.StandardScaler` and
  :class:`~sklearn.neural_network.MLPClassifier` (SGD with Nesterov momentum 0.9, scikit-learn's
  default): :func:`fit_debug_case`.
* The cheap tests, each a measured number and a threshold: :func:`overfit_one_batch` (can the
  pipeline memorise a small balanced batch?), :func:`build_up_aucs` (start with a heuristic,
  add one component at a time: a jump or a drop of one step is suspicious),
  :func:`adversarial_auc` (can a classifier tell the training rows from the test rows?), the
  comparison with the phase-1 heuristic and the spread between two seeds. :func:`debug_matrix`
  runs every test on every case: which test catches which bug, and which fires on the clean
  pipeline (a false alarm).
* :func:`phase_gains`: the ROC AUC of each phase of development and its gain over the phase
  before, with a paired bootstrap interval (:func:`mlsys_kit.stats.bootstrap_auc`);
  :func:`parameter_count` counts what a fitted model learned (coefficients, tree nodes).

The models, scalers and metrics are scikit-learn's; the bug planting and the test matrix are
hand-written because they *are* the lesson: no library plants bugs to see which test fires.

Examples
--------
>>> import numpy as np
>>> import pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
>>> y = (X["a"] + rng.normal(0, 0.5, 400) > 0).to_numpy()
>>> case = plant_bug(X[:300], y[:300], X[300:], y[300:], "shuffled labels", seed=0)
>>> case.bug, bool((case.y_train != y[:300]).any())
('shuffled labels', True)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = [
    "DEBUG_BUGS",
    "DEBUG_TESTS",
    "DebugCase",
    "DebugMatrix",
    "PhaseGains",
    "adversarial_auc",
    "build_up_aucs",
    "debug_matrix",
    "fit_debug_case",
    "overfit_one_batch",
    "parameter_count",
    "phase_gains",
    "plant_bug",
]

#: The planted bugs, the control ("none") first.
DEBUG_BUGS: tuple[str, ...] = (
    "none",
    "shuffled labels",
    "leaky feature",
    "scaler fit before the split",
    "learning rate too high",
    "train/test shift",
)
#: The cheap tests of :func:`debug_matrix`, in its column order.
DEBUG_TESTS: tuple[str, ...] = (
    "overfit one batch",
    "add one component at a time",
    "beat the heuristic",
    "seed spread < gain",
    "adversarial train/test",
)


@dataclass(frozen=True)
class DebugCase:
    """A training pipeline's inputs and settings, with one planted bug or none.

    Attributes
    ----------
    bug : str
        One of :data:`DEBUG_BUGS`.
    X_train, X_test : pandas.DataFrame
        Feature rows as the pipeline prepared them (the leaky column only with that bug).
    y_train, y_test : numpy.ndarray
        Binary labels (``y_train`` shuffled with that bug).
    learning_rate : float
        The SGD learning rate of the pipeline's network.
    scale_on_all : bool
        Whether the scaler is fitted on the training *and* test rows (the wrong order).
    """

    bug: str
    X_train: pd.DataFrame = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_test: pd.DataFrame = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    learning_rate: float = 0.1
    scale_on_all: bool = False


def plant_bug(
    X_train: pd.DataFrame,
    y_train: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    bug: str,
    *,
    leaky_column: str | None = None,
    shifted_rows: Any = None,
    learning_rate: float = 0.1,
    high_learning_rate: float = 30.0,
    seed: Seed = 0,
) -> DebugCase:
    """Prepare a pipeline's rows and settings with one planted ``bug`` (or ``"none"``).

    Parameters
    ----------
    X_train, X_test : pandas.DataFrame
        The correct feature rows. When ``leaky_column`` is given, both hold it, and every case
        but ``"leaky feature"`` drops it.
    y_train, y_test : array-like of bool or 0/1
        The correct labels.
    bug : str
        One of :data:`DEBUG_BUGS`: ``"none"`` (the control); ``"shuffled labels"`` (the
        training labels permuted against the rows, as a bad join or sort does);
        ``"leaky feature"`` (``leaky_column`` kept: a feature known only after the label);
        ``"scaler fit before the split"`` (the scaler sees the test rows);
        ``"learning rate too high"`` (``high_learning_rate`` instead of ``learning_rate``);
        ``"train/test shift"`` (only the training rows where ``shifted_rows`` is true: the
        training data come from another distribution than the test data).
    leaky_column : str, optional
        The leaky column of ``X_train`` and ``X_test``; required for ``"leaky feature"``.
    shifted_rows : array-like of bool, optional
        One per training row, the rows a shifted training set keeps; required for
        ``"train/test shift"``.
    learning_rate, high_learning_rate : float, default 0.1 and 30.0
        The network's SGD learning rate, and the one of the bug (both > 0).
    seed : int or numpy.random.Generator, default 0
        Draws the permutation of ``"shuffled labels"``.

    Returns
    -------
    DebugCase

    Raises
    ------
    ParameterError
        An unknown ``bug``, a missing ``leaky_column`` or ``shifted_rows`` for the bug that
        needs it, mismatched lengths, or a learning rate that is not positive.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0.0, 1, 2, 3], "leak": [0.0, 1, 0, 1]})
    >>> y = np.array([0, 1, 0, 1])
    >>> plant_bug(X, y, X, y, "none", leaky_column="leak").X_train.columns.tolist()
    ['a']
    >>> plant_bug(X, y, X, y, "leaky feature").X_train.columns.tolist()
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: plant_bug: bug='leaky feature' needs leaky_column, the \
name of the leaky column
    """
    owner = "plant_bug"
    bug = check_choice("bug", bug, DEBUG_BUGS, owner=owner)
    learning_rate = check_float("learning_rate", learning_rate, min=0, open_min=True, owner=owner)
    high = check_float("high_learning_rate", high_learning_rate, min=0, open_min=True, owner=owner)
    for name, frame in (("X_train", X_train), ("X_test", X_test)):
        if not isinstance(frame, pd.DataFrame):
            raise ParameterError(
                f"{owner}: {name} must be a pandas DataFrame; got {type(frame).__name__}"
            )
    y_tr = check_array("y_train", y_train, ndim=1, owner=owner)
    y_te = check_array("y_test", y_test, ndim=1, owner=owner)
    check_same_length(X_train=X_train, y_train=y_tr, owner=owner)
    check_same_length(X_test=X_test, y_test=y_te, owner=owner)
    if leaky_column is not None and (
        leaky_column not in X_train.columns or leaky_column not in X_test.columns
    ):
        raise ParameterError(
            f"{owner}: leaky_column={leaky_column!r} must be a column of X_train and X_test; "
            f"columns: {list(X_train.columns)}"
        )
    if bug == "leaky feature" and leaky_column is None:
        raise ParameterError(
            f"{owner}: bug={bug!r} needs leaky_column, the name of the leaky column"
        )
    if bug == "train/test shift" and shifted_rows is None:
        raise ParameterError(
            f"{owner}: bug={bug!r} needs shifted_rows, a bool per training row to keep"
        )
    if leaky_column is not None and bug != "leaky feature":
        X_train, X_test = X_train.drop(columns=leaky_column), X_test.drop(columns=leaky_column)
    case = {"X_train": X_train, "y_train": y_tr, "X_test": X_test, "y_test": y_te}
    if bug == "shuffled labels":
        case["y_train"] = make_rng(seed, owner=owner).permutation(y_tr)
    elif bug == "train/test shift":
        keep = check_array("shifted_rows", shifted_rows, ndim=1, dtype=bool, owner=owner)
        check_same_length(X_train=X_train, shifted_rows=keep, owner=owner)
        if keep.sum() < 2:
            raise ParameterError(f"{owner}: shifted_rows must keep at least two training rows")
        case["X_train"], case["y_train"] = X_train[keep], y_tr[keep]
    return DebugCase(
        bug=bug,
        learning_rate=high if bug == "learning rate too high" else learning_rate,
        scale_on_all=bug == "scaler fit before the split",
        **case,
    )


def _network(learning_rate: float, *, max_iter: int, batch_size: int, seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(32,),
        solver="sgd",
        learning_rate_init=learning_rate,
        max_iter=max_iter,
        batch_size=batch_size,
        random_state=seed,
    )


def _fit_quietly(model: Any, X: np.ndarray, y: np.ndarray) -> Any | None:
    """Fit ``model``; ``None`` when SGD diverged (non-finite weights): training failed."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs, on purpose
        try:
            return model.fit(X, y)
        except ValueError as error:
            if "non-finite" in str(error):
                return None
            raise


def _scores(model: Any | None, X: np.ndarray) -> np.ndarray:
    if model is None:
        return np.full(len(X), 0.5)
    with np.errstate(all="ignore"):
        return np.nan_to_num(model.predict_proba(X)[:, 1], nan=0.5)


def _scaled(case: DebugCase) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.preprocessing import StandardScaler

    train, test = case.X_train.to_numpy(float), case.X_test.to_numpy(float)
    scaler = StandardScaler().fit(np.vstack([train, test]) if case.scale_on_all else train)
    return scaler.transform(train), scaler.transform(test)


def fit_debug_case(case: DebugCase, *, epochs: int = 10, seed: int = 0) -> np.ndarray:
    """Train the case's pipeline (scaler, then a small network) and score its test rows.

    The pipeline: :class:`~sklearn.preprocessing.StandardScaler` fitted on the training rows
    (on all rows with the wrong order), then :class:`~sklearn.neural_network.MLPClassifier`
    (32 hidden units, SGD with Nesterov momentum 0.9, batches of 512 rows) at the case's
    learning rate.

    Parameters
    ----------
    case : DebugCase
        From :func:`plant_bug`.
    epochs : int, default 10
        Passes over the training rows (≥ 1).
    seed : int, default 0
        The network's ``random_state`` (initial weights, batch order).

    Returns
    -------
    numpy.ndarray
        The predicted probability of the positive class of each test row; 0.5 everywhere when
        SGD diverged (training failed).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=600)})
    >>> y = (X["a"] + rng.normal(0, 0.5, 600) > 0).to_numpy()
    >>> case = plant_bug(X[:400], y[:400], X[400:], y[400:], "none")
    >>> scores = fit_debug_case(case)
    >>> bool(np.corrcoef(scores, X["a"][400:])[0, 1] > 0.9)
    True
    """
    owner = "fit_debug_case"
    if not isinstance(case, DebugCase):
        raise ParameterError(f"{owner}: case must be a DebugCase; got {type(case).__name__}")
    epochs = check_int("epochs", epochs, min=1, owner=owner)
    seed = check_int("seed", seed, min=0, owner=owner)
    train, test = _scaled(case)
    batch = min(512, len(train))
    network = _network(case.learning_rate, max_iter=epochs, batch_size=batch, seed=seed)
    return _scores(_fit_quietly(network, train, case.y_train), test)


def overfit_one_batch(
    case: DebugCase, *, batch_size: int = 32, epochs: int = 400, seed: Seed = 0
) -> float:
    """Training accuracy of the case's pipeline on one small balanced batch, trained to death.

    The book's "overfit a single batch": if the pipeline cannot memorise a handful of rows, its
    training code is broken (a learning rate far too high, a loss that does not fall). Half
    the batch is drawn from each class of the (possibly buggy) training labels; the network
    trains on it for ``epochs`` passes (one step each) at the case's learning rate.

    Parameters
    ----------
    case : DebugCase
        From :func:`plant_bug`.
    batch_size : int, default 32
        Rows in the batch, even and ≥ 2; each class must have half as many training rows.
    epochs : int, default 400
        Steps on the batch (≥ 1).
    seed : int or numpy.random.Generator, default 0
        Draws the batch and seeds the network.

    Returns
    -------
    float
        The share of the batch the trained network predicts right; exactly 0.5 when SGD
        diverged (a failed fit scores every row 0.5, predicted positive, and the batch is
        balanced).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    >>> y = rng.random(300) < 0.5  # no signal at all: the batch can still be memorised
    >>> overfit_one_batch(plant_bug(X, y, X, y, "none"), batch_size=16)
    1.0
    >>> overfit_one_batch(plant_bug(X, y, X, y, "learning rate too high"), batch_size=16)
    0.5
    """
    owner = "overfit_one_batch"
    batch_size = check_int("batch_size", batch_size, min=2, owner=owner)
    epochs = check_int("epochs", epochs, min=1, owner=owner)
    if batch_size % 2:
        raise ParameterError(f"{owner}: batch_size must be even (half per class); got {batch_size}")
    rng = make_rng(seed, owner=owner)
    train, _ = _scaled(case)
    labels = np.asarray(case.y_train).astype(bool)
    half = batch_size // 2
    rows = []
    for members in (np.flatnonzero(labels), np.flatnonzero(~labels)):
        if len(members) < half:
            raise ParameterError(
                f"{owner}: each class needs {half} training rows for a batch of {batch_size}; "
                f"one has {len(members)}"
            )
        rows.append(rng.choice(members, half, replace=False))
    batch = np.concatenate(rows)
    network = _network(
        case.learning_rate, max_iter=epochs, batch_size=batch_size, seed=int(rng.integers(2**31))
    )
    network.set_params(tol=0.0, n_iter_no_change=epochs + 1)
    model = _fit_quietly(network, train[batch], labels[batch])
    predicted = _scores(model, train[batch]) >= 0.5
    return float(np.mean(predicted == labels[batch]))


def build_up_aucs(
    case: DebugCase,
    steps: Sequence[Sequence[str]],
    *,
    heuristic_auc: float,
    network_scores: Any,
) -> pd.Series:
    """Test AUC as the pipeline is built one component at a time, from a heuristic up.

    The book's "start simple and gradually add components": first the phase-1 heuristic's
    AUC (given); then a logistic regression (scaled as the case scales) on the columns of the
    first step, then with each next step's columns added; last, the case's network on all
    columns (``network_scores``). A step that jumps far up (a leak?) or falls (a bug in what
    was just added?) is the one to look at.

    Parameters
    ----------
    case : DebugCase
        From :func:`plant_bug`.
    steps : sequence of sequences of str
        Columns added at each step; columns of ``case.X_train`` missing from every step are
        added as one last step (the leaky column, when the case has it).
    heuristic_auc : float
        The heuristic's test AUC: the starting point.
    network_scores : array-like of float
        The network's test scores (:func:`fit_debug_case`): the last component.

    Returns
    -------
    pandas.Series
        Test AUC after each component, indexed ``"heuristic"``, ``"+ a, b"``...,
        ``"network"``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=800), "b": rng.normal(size=800)})
    >>> y = (X["a"] + X["b"] + rng.normal(0, 1, 800) > 0).to_numpy()
    >>> case = plant_bug(X[:500], y[:500], X[500:], y[500:], "none")
    >>> aucs = build_up_aucs(case, [["a"]], heuristic_auc=0.5, network_scores=X["a"][500:])
    >>> aucs.index.tolist()
    ['heuristic', '+ a', '+ b', 'network']
    >>> bool(aucs["+ b"] > aucs["+ a"])
    True
    """
    from sklearn.linear_model import LogisticRegression

    from mlsys_kit.stats import rank_auc

    owner = "build_up_aucs"
    heuristic_auc = check_float("heuristic_auc", heuristic_auc, min=0, max=1, owner=owner)
    scores = check_array("network_scores", network_scores, ndim=1, dtype=float, owner=owner)
    check_same_length(X_test=case.X_test, network_scores=scores, owner=owner)
    columns = list(case.X_train.columns)
    plan = [[c for c in step if c in columns] for step in steps]
    plan = [step for step in plan if step]
    rest = [c for c in columns if not any(c in step for step in plan)]
    if rest:
        plan.append(rest)
    if not plan:
        raise ParameterError(f"{owner}: steps must name columns of the case; got {list(steps)}")
    train, test = _scaled(case)
    aucs = {"heuristic": heuristic_auc}
    used: list[int] = []
    for step in plan:
        used += [columns.index(c) for c in step]
        model = LogisticRegression(solver="newton-cholesky").fit(train[:, used], case.y_train)
        aucs["+ " + ", ".join(step)] = rank_auc(case.y_test, model.decision_function(test[:, used]))
    aucs["network"] = rank_auc(case.y_test, scores)
    return pd.Series(aucs, name="test AUC")


def adversarial_auc(X_train: Any, X_test: Any, *, folds: int = 3, seed: Seed = 0) -> float:
    """How well a classifier tells training rows from test rows: ~0.5 when they match.

    The adversarial validation check: label the training rows 0 and the test rows 1, and
    score a cross-validated logistic regression (scikit-learn's
    :func:`~sklearn.model_selection.cross_val_predict`, stratified shuffled folds) on that
    task. An AUC well above 0.5 means the two sets come from different distributions.

    Parameters
    ----------
    X_train, X_test : array-like or pandas.DataFrame
        The two sets of feature rows, same columns (at least ``folds`` rows each).
    folds : int, default 3
        Cross-validation folds (≥ 2).
    seed : int or numpy.random.Generator, default 0
        Shuffles the folds.

    Returns
    -------
    float
        The out-of-fold ROC AUC.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> same = adversarial_auc(rng.normal(size=(500, 2)), rng.normal(size=(500, 2)))
    >>> shifted = adversarial_auc(rng.normal(size=(500, 2)), rng.normal(1, 1, size=(500, 2)))
    >>> round(same, 1), bool(shifted > 0.7)
    (0.5, True)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlsys_kit.stats import rank_auc

    owner = "adversarial_auc"
    folds = check_int("folds", folds, min=2, owner=owner)
    train = check_array("X_train", X_train, ndim=2, min_length=folds, dtype=float, owner=owner)
    test = check_array("X_test", X_test, ndim=2, min_length=folds, dtype=float, owner=owner)
    if train.shape[1] != test.shape[1]:
        raise ParameterError(
            f"{owner}: X_train and X_test must have the same columns; "
            f"got {train.shape[1]} and {test.shape[1]}"
        )
    rng = make_rng(seed, owner=owner)
    rows = np.vstack([train, test])
    is_test = np.r_[np.zeros(len(train)), np.ones(len(test))]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=int(rng.integers(2**31)))
    model = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky"))
    scores = cross_val_predict(model, rows, is_test, cv=splitter, method="decision_function")
    return rank_auc(is_test, scores)


@dataclass(frozen=True)
class DebugMatrix(Report):
    """Every cheap test on every case: the measured value, its threshold, and whether it fired.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (bug, test): ``bug``, ``test``, ``value``, ``fires_when`` (the rule, as
        text), ``fires`` (bool) and ``room``: how far the value stands from firing, in the
        test's own units (positive: it did not fire; the smallest room of the control is its
        margin against a false alarm).
    test_auc : pandas.Series
        The network's test AUC per bug (seed 0 of the two): what the evaluation would report.
    build_up : pandas.DataFrame
        The AUC after each component (:func:`build_up_aucs`), one column per bug.
    """

    table: pd.DataFrame
    test_auc: pd.Series
    build_up: pd.DataFrame

    @property
    def fires(self) -> pd.DataFrame:
        """Whether each test fired, bugs as rows and tests as columns."""
        wide = self.table.pivot(index="bug", columns="test", values="fires")
        return wide.loc[list(dict.fromkeys(self.table["bug"])), list(DEBUG_TESTS)]

    @property
    def values(self) -> pd.DataFrame:
        """The measured value of each test, bugs as rows and tests as columns."""
        wide = self.table.pivot(index="bug", columns="test", values="value")
        return wide.loc[list(dict.fromkeys(self.table["bug"])), list(DEBUG_TESTS)]

    def to_frame(self) -> pd.DataFrame:
        """The long table: one row per bug and test."""
        return self.table


def debug_matrix(
    cases: Mapping[str, DebugCase],
    *,
    heuristic_test_scores: Any,
    steps: Sequence[Sequence[str]],
    min_batch_accuracy: float = 0.9,
    max_step_gain: float = 0.05,
    max_step_loss: float = 0.05,
    max_adversarial_auc: float = 0.53,
    batch_size: int = 32,
    epochs: int = 10,
    n_boot: int = 200,
    seed: Seed = 0,
) -> DebugMatrix:
    """Run the five cheap tests of :data:`DEBUG_TESTS` on every case.

    * **overfit one batch** fires when :func:`overfit_one_batch` memorises less than
      ``min_batch_accuracy`` of the batch.
    * **add one component at a time** fires when one step of :func:`build_up_aucs` loses more
      than ``max_step_loss`` of test AUC, or a step after the first model (whose gain over the
      heuristic is the next test's business) gains more than ``max_step_gain``. A leak among
      the first step's columns is therefore exempt: the test catches a leaky column only when
      it is added after the first model (as :func:`build_up_aucs` adds columns no step names,
      last).
    * **beat the heuristic** fires when the network's AUC gain over the heuristic has a 90%
      paired-bootstrap interval (:func:`mlsys_kit.stats.bootstrap_auc`) whose low end is not
      above 0.
    * **seed spread < gain** fires when the AUCs of two trainings with different seeds differ
      by as much as the network's gain over the heuristic. With a negative gain it fires
      whatever the spread: on such a case it says what "beat the heuristic" says.
    * **adversarial train/test** fires when :func:`adversarial_auc` exceeds
      ``max_adversarial_auc``.

    Parameters
    ----------
    cases : mapping of str to DebugCase
        Bug name (the table's row) to its case; include ``"none"``, the control.
    heuristic_test_scores : array-like of float
        The phase-1 heuristic's scores of the test rows (the same test rows in every case).
    steps : sequence of sequences of str
        The columns added one step at a time (see :func:`build_up_aucs`).
    min_batch_accuracy, max_step_gain, max_step_loss, max_adversarial_auc : float
        The tests' thresholds. The adversarial AUC of two samples of one distribution is 0.5
        only on average: on a few hundred rows it varies by a few hundredths, so a threshold
        must stand above that noise.
    batch_size : int, default 32
        Rows of the batch of "overfit one batch" (even, ≥ 2); a network memorises random
        labels easily only while it has about as many hidden units (32) as the batch has rows.
    epochs : int, default 10
        Passes of each network training over its rows.
    n_boot : int, default 200
        Bootstrap resamples for "beat the heuristic".
    seed : int or numpy.random.Generator, default 0
        Seeds the batches, the bootstrap and the folds; the two trainings use network seeds 0
        and 1.

    Returns
    -------
    DebugMatrix

    Raises
    ------
    ParameterError
        No case, a case that is not a :class:`DebugCase`, or thresholds out of [0, 1].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(1200, 3)), columns=["a", "b", "c"])
    >>> y = (X["a"] + X["b"] + rng.normal(0, 1, 1200) > 1).to_numpy()
    >>> cases = {
    ...     bug: plant_bug(X[:800], y[:800], X[800:], y[800:], bug)
    ...     for bug in ("none", "learning rate too high")
    ... }
    >>> matrix = debug_matrix(
    ...     cases, heuristic_test_scores=X["a"][800:], steps=[["a", "b"]], max_adversarial_auc=0.6
    ... )
    >>> matrix.fires["overfit one batch"].tolist()
    [False, True]
    >>> bool(matrix.fires.loc["none"].any())  # the control: no false alarm
    False
    """
    from mlsys_kit.stats import bootstrap_auc, rank_auc

    owner = "debug_matrix"
    if not cases:
        raise ParameterError(f"{owner}: cases must hold at least one DebugCase")
    for name, case in cases.items():
        if not isinstance(case, DebugCase):
            raise ParameterError(
                f"{owner}: cases[{name!r}] must be a DebugCase; got {type(case).__name__}"
            )
    limits = {
        "min_batch_accuracy": min_batch_accuracy,
        "max_step_gain": max_step_gain,
        "max_step_loss": max_step_loss,
        "max_adversarial_auc": max_adversarial_auc,
    }
    limits = {k: check_float(k, v, min=0, max=1, owner=owner) for k, v in limits.items()}
    heuristic = check_array(
        "heuristic_test_scores", heuristic_test_scores, ndim=1, dtype=float, owner=owner
    )
    rng = make_rng(seed, owner=owner)
    rows, test_auc, build_up = [], {}, {}
    for name, case in cases.items():
        check_same_length(X_test=case.X_test, heuristic_test_scores=heuristic, owner=owner)
        first = fit_debug_case(case, epochs=epochs, seed=0)
        second = fit_debug_case(case, epochs=epochs, seed=1)
        heuristic_auc = rank_auc(case.y_test, heuristic)
        gain_boot = bootstrap_auc(
            case.y_test, np.column_stack([first, heuristic]), n_boot=n_boot, seed=rng
        )
        gain_low = float(np.quantile(gain_boot[:, 0] - gain_boot[:, 1], 0.05))
        auc_first, auc_second = rank_auc(case.y_test, first), rank_auc(case.y_test, second)
        gain = (auc_first + auc_second) / 2 - heuristic_auc
        spread = abs(auc_first - auc_second)
        aucs = build_up_aucs(case, steps, heuristic_auc=heuristic_auc, network_scores=first)
        changes = np.diff(aucs.to_numpy())
        batch = overfit_one_batch(case, batch_size=batch_size, seed=rng)
        adversarial = adversarial_auc(case.X_train, case.X_test, seed=rng)
        # the most suspicious step: the one furthest past its limit (a gain of the first
        # model step over the heuristic is "beat the heuristic"'s business, not a jump)
        excess = np.maximum(-changes - limits["max_step_loss"], changes - limits["max_step_gain"])
        excess[0] = -changes[0] - limits["max_step_loss"]
        step_value = float(changes[np.argmax(excess)])
        found = [
            (
                batch,
                f"< {limits['min_batch_accuracy']:g}",
                batch < limits["min_batch_accuracy"],
                batch - limits["min_batch_accuracy"],
            ),
            (
                step_value,
                f"> +{limits['max_step_gain']:g} or < -{limits['max_step_loss']:g}",
                bool(excess.max() > 0),
                -float(excess.max()),
            ),
            (gain_low, "90% low end ≤ 0", gain_low <= 0, gain_low),
            (spread - gain, "spread − gain ≥ 0", spread >= gain, gain - spread),
            (
                adversarial,
                f"> {limits['max_adversarial_auc']:g}",
                adversarial > limits["max_adversarial_auc"],
                limits["max_adversarial_auc"] - adversarial,
            ),
        ]
        for test, (value, rule, fires, room) in zip(DEBUG_TESTS, found, strict=True):
            rows.append(
                {
                    "bug": name,
                    "test": test,
                    "value": value,
                    "fires_when": rule,
                    "fires": fires,
                    "room": room,
                }
            )
        test_auc[name] = auc_first
        build_up[name] = aucs
    return DebugMatrix(
        table=pd.DataFrame(rows),
        test_auc=pd.Series(test_auc, name="test AUC"),
        build_up=_build_up_frame(build_up),
    )


def _build_up_frame(build_up: Mapping[str, pd.Series]) -> pd.DataFrame:
    """The cases' build-ups side by side, steps in order and the network last."""
    frame = pd.concat(build_up, axis=1, sort=False)
    order = [step for step in frame.index if step != "network"] + ["network"]
    return frame.loc[order]


@dataclass(frozen=True)
class PhaseGains(Report):
    """Test AUC of each phase of development and its gain over the phase before.

    Attributes
    ----------
    auc : pandas.Series
        Test AUC per phase, in order.
    gain, low, high : pandas.Series
        Gain in AUC over the phase before (the first phase: none, NaN), and the ends of its
        paired-bootstrap interval.
    level : float
        The interval's confidence level.
    resamples : pandas.DataFrame
        The AUC of every phase (columns) on every bootstrap resample (rows): for intervals of
        other statistics of the phases (a ratio of gains, a share of the final AUC).
    """

    auc: pd.Series
    gain: pd.Series
    low: pd.Series
    high: pd.Series
    level: float
    resamples: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per phase: ``AUC``, ``gain``, ``gain low``, ``gain high``."""
        return pd.DataFrame(
            {"AUC": self.auc, "gain": self.gain, "gain low": self.low, "gain high": self.high}
        )


def phase_gains(
    y_true: Any,
    scores: Mapping[str, Any],
    *,
    n_boot: int = 400,
    level: float = 0.9,
    seed: Seed = 0,
) -> PhaseGains:
    """Test ROC AUC of each phase and its gain over the phase before, with an interval.

    All phases are scored on the same test rows; each bootstrap resample scores every phase
    (a paired bootstrap, :func:`mlsys_kit.stats.bootstrap_auc`), so the interval of a gain is
    that of the difference on test sets like this one.

    Parameters
    ----------
    y_true : array-like of bool or 0/1
        The test labels (both classes).
    scores : mapping of str to array-like of float
        Phase name to its scores of the test rows, in the order of the phases (at least two).
    n_boot : int, default 400
        Bootstrap resamples (≥ 1).
    level : float, default 0.9
        Confidence level of the intervals, in (0, 1).
    seed : int or numpy.random.Generator, default 0
        Draws the resamples.

    Returns
    -------
    PhaseGains

    Raises
    ------
    ParameterError
        Fewer than two phases, scores of another length than ``y_true``, or ``level`` out of
        (0, 1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(2000) < 0.3
    >>> signal = y + rng.normal(0, 1, 2000)
    >>> phases = {"rule": signal + rng.normal(0, 2, 2000), "model": signal}
    >>> gains = phase_gains(y, phases, seed=0)
    >>> bool(gains.low["model"] > 0), bool(np.isnan(gains.gain["rule"]))
    (True, True)
    """
    from mlsys_kit.stats import bootstrap_auc, rank_auc

    owner = "phase_gains"
    level = check_float("level", level, min=0, max=1, open_min=True, open_max=True, owner=owner)
    if not isinstance(scores, Mapping) or len(scores) < 2:
        raise ParameterError(f"{owner}: scores must map at least two phases to their scores")
    names = list(scores)
    matrix = np.column_stack(
        [check_array(f"scores[{n!r}]", scores[n], ndim=1, dtype=float, owner=owner) for n in names]
    )
    boot = bootstrap_auc(y_true, matrix, n_boot=n_boot, seed=seed)
    diffs = np.diff(boot, axis=1)
    tail = (1 - level) / 2
    nan = [np.nan]
    auc = [rank_auc(y_true, matrix[:, j]) for j in range(len(names))]
    return PhaseGains(
        auc=pd.Series(auc, index=names, name="AUC"),
        gain=pd.Series(nan + list(np.diff(auc)), index=names, name="gain"),
        low=pd.Series(nan + list(np.quantile(diffs, tail, axis=0)), index=names, name="low"),
        high=pd.Series(nan + list(np.quantile(diffs, 1 - tail, axis=0)), index=names, name="high"),
        level=level,
        resamples=pd.DataFrame(boot, columns=names),
    )


def parameter_count(model: Any) -> int:
    """Numbers a fitted model learned: coefficients and intercepts, or tree nodes.

    Linear models count ``coef_`` and ``intercept_``; networks their ``coefs_`` and
    ``intercepts_``; tree ensembles (gradient boosting, forests) and trees their nodes (each a
    threshold or a leaf value); a pipeline or a search sums its steps or its best estimator. A
    rule (:class:`~mlsys_kit.modeling.baselines.RuleClassifier`) learned nothing: 0; nor are
    the statistics of transformers (a scaler's means) counted: 0.

    Raises
    ------
    ParameterError
        For a model whose kind is not known.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> parameter_count(LogisticRegression().fit([[0, 1], [1, 0], [1, 1]], [0, 1, 1]))
    3
    """
    if hasattr(model, "best_estimator_"):
        return parameter_count(model.best_estimator_)
    if hasattr(model, "steps"):
        return sum(parameter_count(step) for _, step in model.steps if step != "passthrough")
    if hasattr(model, "coefs_"):
        return int(sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_))
    if hasattr(model, "coef_"):
        return int(np.size(model.coef_) + np.size(getattr(model, "intercept_", 0)))
    if hasattr(model, "_predictors"):  # HistGradientBoosting*
        return int(sum(p.nodes.shape[0] for trees in model._predictors for p in trees))
    if hasattr(model, "tree_"):
        return int(model.tree_.node_count)
    if hasattr(model, "estimators_"):
        return int(sum(parameter_count(e) for e in np.ravel(model.estimators_)))
    if hasattr(model, "rule") or not hasattr(model, "predict"):  # rules, transformers
        return 0
    raise ParameterError(
        f"parameter_count: cannot count the parameters of a {type(model).__name__}"
    )
