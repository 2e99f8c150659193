"""Baselines, model footprints and ensemble diversity: the tools of model selection.

Serves Chapter 6, "Model Development and Offline Evaluation" (Chip Huyen, *Designing
Machine Learning Systems*, 2022):

* "Baselines": a metric means little without a point of comparison. Random and zero-rule
  baselines come from scikit-learn's :class:`~sklearn.dummy.DummyClassifier`
  (``strategy="uniform"`` and ``"most_frequent"``). A *simple heuristic* or an *existing
  solution* (business logic full of if/else) is a hand-written rule; :class:`RuleClassifier`
  wraps such a rule as a scikit-learn classifier, so that rules and models go through the
  same evaluation code. scikit-learn has no such wrapper, and it is a few lines.
* "Model selection" tips: weigh accuracy against latency and memory. :func:`model_footprint`
  measures each fitted model's test accuracy, ROC AUC, pickled size (a stand-in for the
  memory it needs and the artifact you ship) and single-request latency (with
  :func:`mlsys_kit.design.latency.measure_latency`).
* "Ensembles" (bagging, boosting, stacking): a majority vote gains over its members when
  their errors are *uncorrelated*. :func:`member_predictions` reads the members' predictions
  out of a fitted scikit-learn ensemble, :func:`ensemble_vote` takes their hard vote
  (:func:`scipy.stats.mode`), :func:`error_correlation` correlates their error indicators
  (:func:`numpy.corrcoef`) and :func:`ensemble_diversity` summarises one ensemble: mean
  pairwise error correlation against the gain of the vote over its average member. The
  statistics are NumPy's and SciPy's; what is written out here is the bookkeeping no library
  provides (scikit-learn's ``VotingClassifier`` votes but does not report its members'
  agreement, and diversity measures live only in research code), because it *is* the lesson.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 1, 1, 0, 1, 0])
>>> members = {"a": [0, 1, 1, 0, 0, 0], "b": [0, 1, 0, 0, 1, 0], "c": [1, 1, 1, 0, 1, 0]}
>>> summary = ensemble_diversity(members, y)
>>> round(summary.mean_member_accuracy, 3), round(summary.vote_accuracy, 3)
(0.833, 1.0)
>>> round(summary.mean_error_correlation, 2)  # each member errs on a different row
-0.2
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score, roc_auc_score

from mlsys_kit.params import ParameterError, Seed, check_float, check_int

__all__ = [
    "EnsembleDiversity",
    "RuleClassifier",
    "ensemble_diversity",
    "ensemble_vote",
    "error_correlation",
    "independent_vote_accuracy",
    "member_predictions",
    "model_footprint",
    "model_size_bytes",
]

FOOTPRINT_COLUMNS = ["accuracy", "roc_auc", "size_bytes", "latency_p50_seconds"]


class RuleClassifier(ClassifierMixin, BaseEstimator):
    """A hand-written rule (a heuristic, an existing solution) as a scikit-learn classifier.

    ``fit`` learns nothing but the class labels: the rule is fixed in advance, as a
    heuristic or the if/else business logic that a model would replace. ``rule(X)``
    returns one score per row, higher meaning "more likely the positive class"; a row is
    predicted positive when its score is ``>= threshold``. The scores double as
    ``predict_proba`` (after scaling to [0, 1]) so that ranking metrics such as ROC AUC
    apply to rules too.

    Parameters
    ----------
    rule : callable
        ``rule(X) -> array of n_rows numbers`` (booleans allowed). Define it with ``def``
        at module level (not a lambda) if the classifier must be pickled.
    threshold : float, default 0.5
        Rows with ``score >= threshold`` are predicted as the positive class.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The two class labels seen in ``fit``; the second is the positive class.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"age": [25, 47, 52, 33]})
    >>> def older_than_40(X):
    ...     return X["age"] > 40
    >>> rule = RuleClassifier(older_than_40).fit(X, [0, 1, 1, 0])
    >>> rule.predict(X).tolist()
    [0, 1, 1, 0]
    >>> RuleClassifier("age > 40").fit(X, [0, 1, 1, 0])
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: RuleClassifier: rule must be a callable rule(X) -> scores; \
got str
    """

    def __init__(self, rule: Callable[[Any], Any], threshold: float = 0.5) -> None:
        self.rule = rule
        self.threshold = threshold

    def fit(self, X: Any, y: Any) -> RuleClassifier:
        """Check the rule and remember the two class labels of ``y`` (sorted)."""
        owner = "RuleClassifier"
        if not callable(self.rule):
            raise ParameterError(
                f"{owner}: rule must be a callable rule(X) -> scores; "
                f"got {type(self.rule).__name__}"
            )
        check_float("threshold", self.threshold, owner=owner)
        classes = np.unique(np.asarray(y))
        if len(classes) != 2:
            raise ParameterError(
                f"{owner}: needs a binary target (two classes); got {len(classes)}"
            )
        self.classes_ = classes
        return self

    def _scores(self, X: Any) -> np.ndarray:
        if not hasattr(self, "classes_"):
            raise AttributeError("this RuleClassifier is not fitted yet: call fit(X, y) first")
        scores = np.asarray(self.rule(X), dtype=float)
        if scores.shape != (_n_rows(X),):
            raise ParameterError(
                f"RuleClassifier: rule(X) must return one score per row ({_n_rows(X)}); "
                f"got shape {scores.shape}"
            )
        return scores

    def predict(self, X: Any) -> np.ndarray:
        """The positive class where the rule's score is ``>= threshold``, else the negative."""
        return np.where(self._scores(X) >= self.threshold, self.classes_[1], self.classes_[0])

    def predict_proba(self, X: Any) -> np.ndarray:
        """Scores scaled to [0, 1] by a logistic curve centred on ``threshold``.

        The ranking of rows is that of the rule's scores (what ROC AUC needs); the values are
        not calibrated probabilities.
        """
        # the logistic curve written with tanh, which cannot overflow for extreme scores
        positive = 0.5 * (1 + np.tanh((self._scores(X) - self.threshold) / 2))
        return np.column_stack([1 - positive, positive])


def model_size_bytes(model: Any) -> int:
    """Size of ``model`` pickled (protocol 5), in bytes: the artifact a service would load.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> model_size_bytes(DummyClassifier().fit([[0], [1]], [0, 1])) < 2_000
    True
    """
    try:
        return len(pickle.dumps(model, protocol=5))
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ParameterError(
            f"model_size_bytes: model must be picklable to measure its size "
            f"({type(model).__name__}): {error}"
        ) from None


def model_footprint(
    models: Mapping[str, Any],
    X_test: Any,
    y_test: Any,
    *,
    n_requests: int = 200,
    seed: Seed = 0,
) -> pd.DataFrame:
    """Accuracy, ROC AUC, pickled size and single-request latency of fitted classifiers.

    Parameters
    ----------
    models : mapping of str to fitted classifier
        Binary classifiers with ``predict`` and ``predict_proba``, already fitted.
    X_test, y_test : array_like or pandas objects
        The held-out rows and labels every model is scored on.
    n_requests : int, default 200
        Single-row ``predict_proba`` calls timed per model by
        :func:`mlsys_kit.design.latency.measure_latency` (0 skips the timing, which is noisy and
        takes a moment per model).
    seed : int or numpy.random.Generator, default 0
        Seeds the choice of the rows sent as requests (the same rows for every model).

    Returns
    -------
    pandas.DataFrame
        Indexed by model name, with columns ``accuracy``, ``roc_auc``, ``size_bytes`` and
        ``latency_p50_seconds`` (the median single-request wall time; NaN when
        ``n_requests`` is 0). Print latencies only through
        :func:`mlsys_kit.timing.format_measured`.

    Raises
    ------
    ParameterError
        If ``models`` is empty, ``X_test`` and ``y_test`` differ in length, ``y_test`` is
        not binary or ``n_requests`` is negative.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    >>> models = {"zero rule": DummyClassifier(), "tree": tree}
    >>> models = {name: m.fit(X[:400], y[:400]) for name, m in models.items()}
    >>> table = model_footprint(models, X[400:], y[400:], n_requests=0)
    >>> table[["accuracy", "roc_auc"]].round(2).to_dict("index")
    {'zero rule': {'accuracy': 0.77, 'roc_auc': 0.5}, 'tree': {'accuracy': 0.89, 'roc_auc': 0.9}}
    """
    from mlsys_kit.design.latency import measure_latency

    owner = "model_footprint"
    if not models:
        raise ParameterError(f"{owner}: models must name at least one fitted classifier")
    n = _n_rows(X_test)
    labels = np.asarray(y_test)
    if len(labels) != n:
        raise ParameterError(
            f"{owner}: X_test and y_test must have the same number of rows; "
            f"got {n} and {len(labels)}"
        )
    if len(np.unique(labels)) != 2:
        raise ParameterError(
            f"{owner}: y_test must hold two classes: the footprint reports a binary ROC AUC"
        )
    n_requests = check_int("n_requests", n_requests, min=0, owner=owner)
    if n_requests and isinstance(seed, np.random.Generator):
        # every model must be sent the same rows: one integer seed for all of them
        seed = int(seed.integers(2**32))
    # scored in column-major order: tree ensembles predict it several times faster, with the
    # same values; the timed requests are single rows of X_test as given
    X_score = np.asfortranarray(X_test) if isinstance(X_test, np.ndarray) else X_test
    rows = {}
    for name, model in models.items():
        positive = model.predict_proba(X_score)[:, 1]
        latency = float("nan")
        if n_requests:
            latency = measure_latency(
                model.predict_proba, X_test, n_requests=n_requests, seed=seed
            ).p50
        rows[name] = {
            "accuracy": accuracy_score(labels, model.predict(X_score)),
            "roc_auc": roc_auc_score(labels, positive),
            "size_bytes": model_size_bytes(model),
            "latency_p50_seconds": latency,
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=FOOTPRINT_COLUMNS)


def member_predictions(ensemble: Any, X: Any) -> dict[str, np.ndarray]:
    """Each member's predictions on ``X``, from a fitted scikit-learn ensemble.

    Works with :class:`~sklearn.ensemble.BaggingClassifier` (each member sees only its
    drawn features, ``estimators_features_``), :class:`~sklearn.ensemble.RandomForestClassifier`,
    :class:`~sklearn.ensemble.VotingClassifier` and :class:`~sklearn.ensemble.StackingClassifier`
    (members named as in ``named_estimators_``). Members that scikit-learn fitted on encoded
    class indices (0, 1...) rather than on the labels are mapped back to the ensemble's
    ``classes_``.

    Parameters
    ----------
    ensemble : fitted scikit-learn ensemble
        An estimator with a fitted ``estimators_`` list.
    X : array_like or pandas.DataFrame
        Rows to predict.

    Returns
    -------
    dict of str to numpy.ndarray
        Member name (``"member 0"``, ``"member 1"``... for bagging and forests) to its
        predicted labels.

    Raises
    ------
    ParameterError
        If ``ensemble`` has no fitted members (``estimators_``).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.ensemble import BaggingClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> bag = BaggingClassifier(n_estimators=3, max_features=0.5, random_state=0).fit(X, y)
    >>> {name: p.shape for name, p in member_predictions(bag, X[:10]).items()}
    {'member 0': (10,), 'member 1': (10,), 'member 2': (10,)}
    """
    members = getattr(ensemble, "estimators_", None)
    if members is None or not hasattr(members, "__len__") or len(members) == 0:
        raise ParameterError(
            "member_predictions: ensemble must be a fitted scikit-learn ensemble with members "
            f"in estimators_ (BaggingClassifier, VotingClassifier...); "
            f"got {type(ensemble).__name__}"
        )
    classes = np.asarray(ensemble.classes_)
    named = getattr(ensemble, "named_estimators_", None)
    if named is not None:  # voting and stacking: members see X as given
        predictions = {}
        for name, member in named.items():
            if isinstance(member, str):  # a member set to "drop"
                continue
            predicted = np.asarray(member.predict(X))
            if _fitted_on_indices(member, classes):
                predicted = classes[predicted.astype(int)]
            predictions[name] = predicted
        return predictions
    features = getattr(ensemble, "estimators_features_", None)
    values = np.asarray(X)
    predictions = {}
    for i, member in enumerate(members):
        rows = values if features is None else values[:, features[i]]
        predicted = np.asarray(member.predict(rows))
        if _fitted_on_indices(member, classes):
            predicted = classes[predicted.astype(int)]
        predictions[f"member {i}"] = predicted
    return predictions


def _fitted_on_indices(member: Any, classes: np.ndarray) -> bool:
    """Whether ``member`` learned class indices 0..k-1 (bagging, forests) instead of labels."""
    learned = np.asarray(getattr(member, "classes_", classes))
    if learned.dtype == classes.dtype and np.array_equal(learned, classes):
        return False
    return learned.dtype.kind in "iuf" and np.array_equal(learned, np.arange(len(classes)))


def ensemble_vote(predictions: Mapping[str, Any] | Any) -> np.ndarray:
    """The hard vote of an ensemble: the label most members predict, row by row.

    The row-wise mode of the members' predictions (:func:`scipy.stats.mode`, on the labels'
    codes so that any label type works); ties go to the smallest label. Not to be confused
    with :func:`mlsys_kit.training_data.labeling.majority_vote`, which aggregates annotators'
    labels of one item.

    Parameters
    ----------
    predictions : mapping of str to array_like, or 2-D array_like
        One array of predicted labels per member (a mapping, or the rows of a
        ``(n_members, n_rows)`` array).

    Returns
    -------
    numpy.ndarray
        One label per row.

    Examples
    --------
    >>> ensemble_vote({"a": [0, 1, 1], "b": [1, 1, 0], "c": [0, 1, 0]}).tolist()
    [0, 1, 0]
    >>> ensemble_vote([["cat", "dog"], ["dog", "dog"]]).tolist()  # a tie: the smallest label
    ['cat', 'dog']
    """
    from scipy.stats import mode

    matrix = _member_matrix(predictions)
    classes, codes = np.unique(matrix, return_inverse=True)
    return classes[mode(codes.reshape(matrix.shape), axis=0).mode]


def error_correlation(predictions: Mapping[str, Any], y_true: Any) -> pd.DataFrame:
    """Pairwise correlation of the members' errors: do they err on the same rows?

    Each member's *error indicator* is 1 on the rows it gets wrong and 0 elsewhere; the
    table holds the Pearson correlation of every pair of indicators (the phi coefficient).
    1 means two members err on exactly the same rows, so a vote of them cannot fix
    anything; 0 means their errors are unrelated; negative values mean they tend to err on
    different rows.

    Parameters
    ----------
    predictions : mapping of str to array_like
        Member name to its predicted labels (at least two members).
    y_true : array_like
        The true labels, one per row.

    Returns
    -------
    pandas.DataFrame
        Square and symmetric, indexed and columned by member name, with 1 on the diagonal.
        A pair involving a member that errs on every row or on none has no defined
        correlation: NaN.

    Raises
    ------
    ParameterError
        If there are fewer than two members, or the members and ``y_true`` differ in length.

    Examples
    --------
    >>> y = [0, 0, 1, 1]
    >>> error_correlation({"a": [1, 1, 1, 1], "b": [1, 1, 1, 1], "c": [0, 0, 0, 0]}, y)
         a    b    c
    a  1.0  1.0 -1.0
    b  1.0  1.0 -1.0
    c -1.0 -1.0  1.0
    """
    names, errors = _errors(predictions, y_true)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.atleast_2d(np.corrcoef(errors))
    corr[~np.isfinite(corr)] = np.nan
    np.fill_diagonal(corr, 1.0)
    return pd.DataFrame(corr, index=names, columns=names)


@dataclass(frozen=True)
class EnsembleDiversity:
    """How correlated one ensemble's members are, and what their majority vote gains.

    Attributes
    ----------
    n_members : int
        Members compared.
    mean_error_correlation : float
        Mean of the pairwise :func:`error_correlation` over pairs (NaN pairs left out).
    disagreement : float
        Mean share of rows on which two members predict differently.
    mean_member_accuracy, best_member_accuracy : float
        The members' mean and best accuracy.
    vote_accuracy : float
        Accuracy of their :func:`ensemble_vote`.
    gain_over_mean, gain_over_best : float
        Vote accuracy minus the mean and the best member's accuracy.

    ``dataclasses.asdict(result)`` gives a row of a table of ensembles.
    """

    n_members: int
    mean_error_correlation: float
    disagreement: float
    mean_member_accuracy: float
    best_member_accuracy: float
    vote_accuracy: float
    gain_over_mean: float
    gain_over_best: float


def ensemble_diversity(predictions: Mapping[str, Any], y_true: Any) -> EnsembleDiversity:
    """How correlated one ensemble's members are, and what their majority vote gains.

    Parameters
    ----------
    predictions : mapping of str to array_like
        Member name to its predicted labels (at least two members). Use an odd number of
        members for a binary target, so that votes cannot tie.
    y_true : array_like
        The true labels, one per row.

    Returns
    -------
    EnsembleDiversity
        ``n_members``, ``mean_error_correlation``, ``disagreement``,
        ``mean_member_accuracy``, ``best_member_accuracy``, ``vote_accuracy`` (of the
        :func:`ensemble_vote`), ``gain_over_mean`` and ``gain_over_best``.

    Raises
    ------
    ParameterError
        If there are fewer than two members, or the members and ``y_true`` differ in length.

    Examples
    --------
    >>> y = [0, 1, 1, 0, 1]
    >>> same = {"a": [0, 1, 0, 0, 1], "b": [0, 1, 0, 0, 1], "c": [0, 1, 0, 0, 1]}
    >>> summary = ensemble_diversity(same, y)  # identical members: nothing to gain
    >>> round(summary.mean_error_correlation, 3), summary.vote_accuracy
    (1.0, 0.8)
    >>> summary.best_member_accuracy
    0.8
    """
    names, errors = _errors(predictions, y_true)
    matrix = _member_matrix(predictions)
    corr = error_correlation(predictions, y_true).to_numpy()
    pairs = np.triu_indices(len(names), k=1)
    pair_corr = corr[pairs]
    disagree = [np.mean(matrix[i] != matrix[j]) for i, j in zip(*pairs, strict=True)]
    member_accuracy = 1 - errors.mean(axis=1)
    vote_accuracy = float(np.mean(ensemble_vote(matrix) == np.asarray(y_true)))
    mean_corr = float(np.nanmean(pair_corr)) if np.isfinite(pair_corr).any() else float("nan")
    return EnsembleDiversity(
        n_members=len(names),
        mean_error_correlation=mean_corr,
        disagreement=float(np.mean(disagree)),
        mean_member_accuracy=float(member_accuracy.mean()),
        best_member_accuracy=float(member_accuracy.max()),
        vote_accuracy=vote_accuracy,
        gain_over_mean=vote_accuracy - float(member_accuracy.mean()),
        gain_over_best=vote_accuracy - float(member_accuracy.max()),
    )


def independent_vote_accuracy(member_accuracy: float, n_members: int) -> float:
    """Accuracy of a majority vote of members whose errors are *independent*: the ideal.

    With ``n_members`` members each right with probability ``member_accuracy`` on every
    row, independently of one another, the vote is right when more than half of them are:
    a binomial tail (Condorcet's jury theorem). The book's example: three members right
    70% of the time vote right 78.4% of the time. Real members err on the same hard rows,
    so real ensembles stay below this ideal; the gap measures their correlation.

    Parameters
    ----------
    member_accuracy : float
        Each member's probability of being right, in [0, 1].
    n_members : int
        Number of members, odd and ``>= 1`` (an even vote can tie).

    Returns
    -------
    float
        The probability that a strict majority of members is right.

    Raises
    ------
    ParameterError
        If ``member_accuracy`` lies outside [0, 1] or ``n_members`` is not an odd int >= 1.

    Examples
    --------
    >>> round(independent_vote_accuracy(0.7, 3), 3)
    0.784
    >>> independent_vote_accuracy(0.7, 4)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: independent_vote_accuracy: n_members must be odd (an even \
vote can tie); got 4
    """
    from scipy.stats import binom

    owner = "independent_vote_accuracy"
    member_accuracy = check_float("member_accuracy", member_accuracy, min=0, max=1, owner=owner)
    n_members = check_int("n_members", n_members, min=1, owner=owner)
    if n_members % 2 == 0:
        raise ParameterError(
            f"{owner}: n_members must be odd (an even vote can tie); got {n_members!r}"
        )
    return float(binom.sf(n_members // 2, n_members, member_accuracy))


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.shape(X)
    if len(shape) == 0:
        raise ParameterError(f"X must be a table of rows; got a scalar {type(X).__name__}")
    return int(shape[0])


def _member_matrix(predictions: Mapping[str, Any] | Any) -> np.ndarray:
    """Stack members' predictions into an (n_members, n_rows) array, checking the shapes."""
    if isinstance(predictions, Mapping):
        arrays = [np.asarray(p) for p in predictions.values()]
        if any(a.ndim != 1 for a in arrays):
            raise ParameterError("each member's predictions must be a 1-D array of labels")
        lengths = {len(a) for a in arrays}
        if len(lengths) > 1:
            raise ParameterError(
                f"members must predict the same number of rows; got lengths {sorted(lengths)}"
            )
        matrix = np.stack(arrays) if arrays else np.empty((0, 0))
    else:
        matrix = np.asarray(predictions)
        if matrix.ndim != 2:
            raise ParameterError(
                f"predictions must be a mapping of member name to labels, or a 2-D array "
                f"(members × rows); got shape {matrix.shape}"
            )
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ParameterError("predictions must hold at least one member and one row")
    return matrix


def _errors(predictions: Mapping[str, Any], y_true: Any) -> tuple[list[str], np.ndarray]:
    """Member names and their 0/1 error indicators, shape (n_members, n_rows)."""
    if not isinstance(predictions, Mapping):
        raise ParameterError(
            f"predictions must be a mapping of member name to predicted labels; "
            f"got {type(predictions).__name__}"
        )
    if len(predictions) < 2:
        raise ParameterError(
            f"predictions must hold at least two members to compare; got {len(predictions)}"
        )
    matrix = _member_matrix(predictions)
    truth = np.asarray(y_true)
    if truth.shape != (matrix.shape[1],):
        raise ParameterError(
            f"y_true must hold one label per predicted row ({matrix.shape[1]}); "
            f"got shape {truth.shape}"
        )
    return [str(name) for name in predictions], (matrix != truth).astype(float)
