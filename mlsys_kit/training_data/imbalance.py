"""Class imbalance: cost-sensitive losses, the prior correction, and a business cost.

Serves Chapter 4, "Training Data", section "Class Imbalance" (Chip Huyen, *Designing Machine
Learning Systems*, 2022): "Challenges of Class Imbalance" and "Handling Class Imbalance" (the
right evaluation metrics; data-level methods: resampling; algorithm-level methods:
cost-sensitive learning, class-balanced loss, focal loss).

Resampling itself comes from imbalanced-learn (``RandomOverSampler``, ``RandomUnderSampler``,
``SMOTE``, ``TomekLinks``, and its ``Pipeline``, which resamples only while fitting), and the
metrics from scikit-learn. This module holds the few pieces neither library has:

- :class:`FocalLogisticRegression`: a logistic regression trained on the (class-weighted) focal
  loss of Lin et al. (2017), with scipy's L-BFGS and an analytic gradient. scikit-learn's
  ``LogisticRegression`` takes class and sample weights but has no focal loss, and the focal
  loss lives in deep-learning libraries (torchvision's ``sigmoid_focal_loss``) that are far too
  heavy for a linear model. ``gamma=0`` gives the ordinary weighted log loss, so one small,
  tested estimator covers cost-sensitive learning, the class-balanced loss and the focal loss.
- :func:`class_balanced_weights`: the class weights of the class-balanced loss (Cui et al.,
  2019), from each class's "effective number of samples".
- :func:`correct_prior`: the prior correction that maps probabilities learned on resampled (or
  class-weighted) data back to the real class rate (Saerens et al., 2002; Elkan, 2001). The
  recalibration in scikit-learn (``CalibratedClassifierCV``) fits a new mapping on held-out data;
  when the only distortion is a known change of class rate, the correction is exact and needs
  no data, which is the lesson.
- :func:`cost_curve`, :func:`best_threshold`, :func:`business_cost`: the cost of missed fraud
  plus false alarms at every threshold. The counts at every distinct score come from
  scikit-learn's :func:`sklearn.metrics.confusion_matrix_at_thresholds` (scikit-learn ≥ 1.8);
  this module only prices them. scikit-learn's ``TunedThresholdClassifierCV`` tunes a
  threshold too, and with ``cv="prefit", refit=False`` it does *not* refit: it uses the
  fitted model as it is and tunes the threshold on all the data given to ``fit`` (scikit-learn
  1.9 raises if ``refit=True`` is combined with ``cv="prefit"``). It searches a grid of
  ``thresholds`` (100 by default, or the values given) to maximise a scorer, and returns a
  classifier with ``best_threshold_`` and ``best_score_``, not the curve; here the notebook
  needs the cost at every distinct score, and the minimum of that exact curve
  (:func:`best_threshold`; the tests check it against ``TunedThresholdClassifierCV``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(2_000, 2))
>>> y = (X[:, 0] + rng.normal(size=2_000) > 2.5).astype(int)  # about 4% positives
>>> model = FocalLogisticRegression(gamma=2.0, class_weight="balanced").fit(X, y)
>>> model.predict_proba(X).shape
(2000, 2)
>>> best = best_threshold(y, model.predict_proba(X)[:, 1], missed_cost=20, false_alarm_cost=1)
>>> bool(0 < best.threshold < 1)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import confusion_matrix_at_thresholds
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from mlsys_kit.params import ParameterError, check_choice, check_float, check_int

__all__ = [
    "COST_COLUMNS",
    "FocalLoss",
    "FocalLogisticRegression",
    "TunedThreshold",
    "best_threshold",
    "business_cost",
    "class_balanced_weights",
    "correct_prior",
    "cost_curve",
    "focal_loss",
]

#: Columns of :func:`cost_curve`.
COST_COLUMNS = ["threshold", "flagged", "missed", "false_alarms", "cost"]


def _binary_labels(y: Any, name: str, owner: str) -> np.ndarray:
    """``y`` as a non-empty vector of 0/1 labels (1: the rare class), else a ParameterError."""
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ParameterError(f"{owner}: {name} must be one-dimensional; got shape {labels.shape}")
    if labels.size == 0:
        raise ParameterError(f"{owner}: {name} is empty")
    if not np.isin(labels, [0, 1]).all():
        found = ", ".join(map(repr, np.unique(labels)[:5].tolist()))
        raise ParameterError(
            f"{owner}: {name} must hold only 0 and 1 (1 = the rare class); found {found}"
        )
    return labels.astype(np.int64)


def _sample_weights(w: Any, n: int, owner: str) -> np.ndarray:
    weights = np.asarray(w, dtype=np.float64)
    if weights.shape != (n,) or (weights < 0).any() or not np.isfinite(weights).all():
        raise ParameterError(
            f"{owner}: sample_weight must hold one finite, non-negative weight per row"
        )
    return weights


class FocalLoss(NamedTuple):
    """The value of :func:`focal_loss` and its gradient: ``loss, gradient = focal_loss(...)``."""

    loss: float
    gradient: np.ndarray


class TunedThreshold(NamedTuple):
    """The result of :func:`best_threshold`: ``threshold, cost = best_threshold(...)``."""

    threshold: float
    cost: float


def focal_loss(y: Any, logit: Any, *, gamma: float = 2.0, sample_weight: Any = None) -> FocalLoss:
    """Mean (weighted) binary focal loss of logits, and its gradient with respect to them.

    For a row with label ``y`` and predicted probability ``p = sigmoid(logit)``, let ``q`` be
    the probability given to the true class (``p`` if ``y = 1``, else ``1 - p``). The focal loss
    is ``-(1 - q)**gamma * log(q)``: the log loss, scaled down for rows the model already gets
    right with confidence (``q`` near 1), so that training focuses on the hard ones.
    ``gamma = 0`` is the log loss.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels, 0 or 1.
    logit : array-like of shape (n,)
        Predicted log-odds of class 1.
    gamma : float, default 2.0
        Focusing parameter, ``>= 0``.
    sample_weight : array-like of shape (n,), optional
        Non-negative row weights (class weights expanded to rows); the mean is
        ``sum(w * loss) / n``.

    Returns
    -------
    FocalLoss
        ``loss`` (float), the mean weighted loss, and ``gradient`` (array of shape (n,)),
        the derivative of the mean loss with respect to each logit.

    Raises
    ------
    ParameterError
        Labels other than 0 and 1, shapes that differ, ``gamma < 0`` or bad weights.

    Examples
    --------
    >>> loss, grad = focal_loss([1, 0], [0.0, 0.0], gamma=0.0)  # log loss at p = 0.5
    >>> round(loss, 4), grad.round(2).tolist()
    (0.6931, [-0.25, 0.25])
    """
    owner = "focal_loss"
    labels = _binary_labels(y, "y", owner)
    z = np.asarray(logit, dtype=np.float64)
    if z.shape != labels.shape:
        raise ParameterError(
            f"{owner}: logit has shape {z.shape}, y has shape {labels.shape}: they must match"
        )
    gamma = check_float("gamma", gamma, min=0, owner=owner)
    w = np.ones_like(z) if sample_weight is None else _sample_weights(sample_weight, len(z), owner)
    sign = 2.0 * labels - 1.0  # +1 for class 1, -1 for class 0
    log_q = log_expit(sign * z)  # log P(true class), stable for large |z|
    q = np.exp(log_q)
    one_minus_q = expit(-sign * z)  # 1 - q without cancellation
    focus = one_minus_q**gamma
    loss = -focus * log_q
    # d/dz of -(1-q)^g log q, with dq/dz = sign * q (1-q):
    grad = sign * (gamma * q * focus * log_q - focus * one_minus_q)
    n = len(z)
    return FocalLoss(float(np.sum(w * loss) / n), w * grad / n)


def class_balanced_weights(y: Any, beta: float = 0.999) -> dict[int, float]:
    """Class weights of the class-balanced loss: the inverse "effective number" of samples.

    Cui et al. (2019) argue that extra samples of a class bring less and less new information,
    so a class with ``n`` samples counts as ``(1 - beta**n) / (1 - beta)`` "effective" samples.
    Weighting each class by the inverse of that number lies between no weighting
    (``beta = 0``) and inverse class frequency (``beta`` close to 1). The weights are
    normalised so that the average weight of a row is 1.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels, 0 or 1; both classes must occur.
    beta : float, default 0.999
        In ``[0, 1)``.

    Returns
    -------
    dict
        ``{0: weight, 1: weight}``, usable as ``class_weight`` in scikit-learn and here.

    Examples
    --------
    >>> y = [0] * 990 + [1] * 10
    >>> {k: round(v, 2) for k, v in class_balanced_weights(y, beta=0.0).items()}
    {0: 1.0, 1: 1.0}
    >>> {k: round(v, 2) for k, v in class_balanced_weights(y, beta=0.999).items()}
    {0: 0.62, 1: 38.94}
    """
    owner = "class_balanced_weights"
    labels = _binary_labels(y, "y", owner)
    beta = check_float("beta", beta, min=0, max=1, open_max=True, owner=owner)
    counts = np.bincount(labels, minlength=2)
    if (counts == 0).any():
        raise ParameterError(
            f"{owner}: y must contain both classes 0 and 1; counts are {counts.tolist()}"
        )
    effective = (1.0 - beta ** counts.astype(float)) / (1.0 - beta)
    raw = 1.0 / effective
    raw *= len(labels) / np.sum(raw * counts)  # mean row weight 1
    return {0: float(raw[0]), 1: float(raw[1])}


class FocalLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression trained on the class-weighted focal loss, L2-regularised.

    Minimises ``mean_i(w_{y_i} * focal_loss_i) + alpha / 2 * ||coef||**2`` with L-BFGS and the
    analytic gradient of :func:`focal_loss`. With ``gamma=0`` it is a weighted logistic
    regression (cost-sensitive learning); with class weights from
    :func:`class_balanced_weights` it is the class-balanced loss; with ``gamma > 0``, the focal
    loss.

    Parameters
    ----------
    gamma : float, default 2.0
        Focusing parameter of the focal loss, ``>= 0`` (0: the log loss).
    class_weight : dict, "balanced" or None, default None
        Weight of each class's rows: ``{0: w0, 1: w1}``; ``"balanced"`` for
        ``n / (2 * n_class)``, scikit-learn's
        :func:`~sklearn.utils.class_weight.compute_class_weight`; None for 1 and 1.
    alpha : float, default 1e-4
        L2 penalty on the coefficients (not the intercept), ``>= 0``.
    max_iter : int, default 500
        Iterations of L-BFGS.

    Attributes
    ----------
    classes_ : numpy.ndarray
        ``[0, 1]``.
    coef_ : numpy.ndarray of shape (1, n_features)
    intercept_ : numpy.ndarray of shape (1,)
    n_iter_ : int
        Iterations L-BFGS used.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = FocalLogisticRegression(gamma=0.0).fit(X, [0, 0, 1, 1])
    >>> model.predict(X).tolist()
    [0, 0, 1, 1]
    """

    def __init__(
        self,
        gamma: float = 2.0,
        class_weight: Mapping[int, float] | str | None = None,
        alpha: float = 1e-4,
        max_iter: int = 500,
    ) -> None:
        self.gamma = gamma
        self.class_weight = class_weight
        self.alpha = alpha
        self.max_iter = max_iter

    def _row_weights(self, y: np.ndarray) -> np.ndarray:
        owner = "FocalLogisticRegression"
        cw = self.class_weight
        if cw is None:
            return np.ones(len(y))
        if isinstance(cw, str):
            check_choice("class_weight", cw, ["balanced"], owner=owner)
            weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
        elif isinstance(cw, Mapping):
            if set(cw) != {0, 1}:
                raise ParameterError(
                    f"{owner}: class_weight must have the keys 0 and 1; got {sorted(cw)}"
                )
            weights = np.array([cw[0], cw[1]], dtype=np.float64)
            if not np.isfinite(weights).all() or (weights <= 0).any():
                raise ParameterError(
                    f"{owner}: class weights must be positive numbers; got {dict(cw)}"
                )
        else:
            raise ParameterError(
                f"{owner}: class_weight must be a dict, 'balanced' or None; got {type(cw).__name__}"
            )
        return weights[y]

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FocalLogisticRegression:
        """Fit the coefficients and intercept.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            Numeric features (scale them first: the penalty is the same for all).
        y : array-like of shape (n,)
            Labels, 0 or 1; both must occur.
        sample_weight : array-like of shape (n,), optional
            Row weights, multiplied with the class weights.

        Returns
        -------
        FocalLogisticRegression
            The fitted estimator.
        """
        owner = "FocalLogisticRegression"
        X, y = check_X_y(X, y, dtype=np.float64)
        labels = _binary_labels(y, "y", owner)
        if np.bincount(labels, minlength=2).min() == 0:
            raise ParameterError(f"{owner}: y must contain both classes 0 and 1")
        check_float("gamma", self.gamma, min=0, owner=owner)
        check_float("alpha", self.alpha, min=0, owner=owner)
        check_int("max_iter", self.max_iter, min=1, owner=owner)
        weights = self._row_weights(labels)
        if sample_weight is not None:
            weights = weights * _sample_weights(sample_weight, len(labels), owner)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            coef, intercept = theta[:-1], theta[-1]
            loss, dz = focal_loss(
                labels, X @ coef + intercept, gamma=self.gamma, sample_weight=weights
            )
            loss += 0.5 * self.alpha * float(coef @ coef)
            grad = np.append(X.T @ dz + self.alpha * coef, dz.sum())
            return loss, grad

        start = np.zeros(X.shape[1] + 1)
        result = minimize(
            objective, start, jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter}
        )
        self.coef_ = result.x[:-1].reshape(1, -1)
        self.intercept_ = result.x[-1:].copy()
        self.n_iter_ = int(result.nit)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Predicted log-odds of class 1, shape (n,)."""
        check_is_fitted(self, "coef_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features; the model was fitted on {self.n_features_in_}"
            )
        return X @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of classes 0 and 1, shape (n, 2)."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Class 1 where its probability exceeds 0.5, else 0."""
        return (self.decision_function(X) > 0).astype(np.int64)


def correct_prior(proba: Any, *, trained_rate: float, true_rate: float) -> np.ndarray:
    """Map probabilities learned at one rate of the rare class back to the true rate.

    Resampling to a rate ``trained_rate`` of the rare class (or weighting its rows, which a
    loss sees as the same thing) multiplies the odds a well-fitted model predicts by
    ``odds(trained_rate) / odds(true_rate)``, and leaves ``P(x | class)`` unchanged. Dividing
    the odds by that factor undoes it exactly (Bayes' rule). The transformation is monotone:
    rankings, ROC-AUC and PR-AUC do not change; only the probabilities do.

    Parameters
    ----------
    proba : array-like
        Predicted probabilities of the rare class.
    trained_rate : float
        Share of the rare class in the (resampled or weighted) training data, in (0, 1). For
        class weights ``w0, w1`` and a true rate ``r``: ``w1 r / (w1 r + w0 (1 - r))``.
    true_rate : float
        Share of the rare class in the data the model will meet, in (0, 1).

    Returns
    -------
    numpy.ndarray
        Corrected probabilities, same shape as ``proba``.

    Raises
    ------
    ParameterError
        When ``proba`` holds values outside ``[0, 1]`` or a rate is not in ``(0, 1)``.

    Examples
    --------
    >>> correct_prior([0.5], trained_rate=0.5, true_rate=0.01).round(4).tolist()
    [0.01]
    """
    owner = "correct_prior"
    p = np.asarray(proba, dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ParameterError(f"{owner}: proba must hold probabilities in [0, 1]")
    rate = {"min": 0, "max": 1, "open_min": True, "open_max": True, "owner": owner}
    trained = check_float("trained_rate", trained_rate, **rate)
    true = check_float("true_rate", true_rate, **rate)
    shift = logit(true) - logit(trained)  # the log of the odds ratio
    return expit(logit(p) + shift)  # logit(0) = -inf and logit(1) = inf map to 0 and 1


def business_cost(
    y_true: Any, y_pred: Any, *, missed_cost: float, false_alarm_cost: float
) -> float:
    """Total cost of decisions: missed rare cases times their cost, plus false alarms.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True labels and decisions, 0 or 1 (1: flagged as the rare class, e.g. fraud).
    missed_cost : float
        Cost of one false negative (a missed fraud), ``>= 0``.
    false_alarm_cost : float
        Cost of one false positive (a legitimate order blocked or reviewed), ``>= 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> business_cost([1, 1, 0, 0], [1, 0, 1, 0], missed_cost=100, false_alarm_cost=5)
    105.0
    """
    owner = "business_cost"
    truth = _binary_labels(y_true, "y_true", owner)
    decided = _binary_labels(y_pred, "y_pred", owner)
    if truth.shape != decided.shape:
        raise ParameterError(
            f"{owner}: y_true has {len(truth)} rows, y_pred {len(decided)}: they must match"
        )
    c_fn = check_float("missed_cost", missed_cost, min=0, owner=owner)
    c_fp = check_float("false_alarm_cost", false_alarm_cost, min=0, owner=owner)
    missed = int(np.sum((truth == 1) & (decided == 0)))
    false_alarms = int(np.sum((truth == 0) & (decided == 1)))
    return missed * c_fn + false_alarms * c_fp


def cost_curve(
    y_true: Any, score: Any, *, missed_cost: float, false_alarm_cost: float
) -> pd.DataFrame:
    """Business cost of flagging ``score >= threshold``, at every distinct threshold.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels, 0 or 1.
    score : array-like of shape (n,)
        Scores or probabilities of the rare class (higher: more suspicious). Must be finite.
    missed_cost, false_alarm_cost : float
        As in :func:`business_cost`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COST_COLUMNS`, one row per distinct score (descending thresholds) plus a
        first row with threshold ``inf`` (flag nothing). The counts are those of
        :func:`sklearn.metrics.confusion_matrix_at_thresholds`.

    Raises
    ------
    ParameterError
        Labels other than 0 and 1, non-finite scores, shapes that differ or negative costs.

    Examples
    --------
    >>> cost_curve([0, 1, 1], [0.2, 0.6, 0.9], missed_cost=10, false_alarm_cost=1)
       threshold  flagged  missed  false_alarms  cost
    0        inf        0       2             0  20.0
    1        0.9        1       1             0  10.0
    2        0.6        2       0             0   0.0
    3        0.2        3       0             1   1.0
    """
    owner = "cost_curve"
    truth = _binary_labels(y_true, "y_true", owner)
    s = np.asarray(score, dtype=np.float64)
    if s.shape != truth.shape:
        raise ParameterError(
            f"{owner}: score has shape {s.shape}, y_true has shape {truth.shape}: must match"
        )
    if not np.isfinite(s).all():
        raise ParameterError(f"{owner}: score must hold finite numbers")
    c_fn = check_float("missed_cost", missed_cost, min=0, owner=owner)
    c_fp = check_float("false_alarm_cost", false_alarm_cost, min=0, owner=owner)
    # Flagging score >= t at every distinct score t, descending; ties are flagged together.
    _, fps, fns, tps, thresholds = confusion_matrix_at_thresholds(truth, s, pos_label=1)
    flagged = np.r_[0, tps + fps].astype(np.int64)
    missed = np.r_[truth.sum(), fns].astype(np.int64)
    false_alarms = np.r_[0, fps].astype(np.int64)
    return pd.DataFrame(
        {
            "threshold": np.r_[np.inf, thresholds],
            "flagged": flagged,
            "missed": missed,
            "false_alarms": false_alarms,
            "cost": missed * c_fn + false_alarms * c_fp,
        }
    )


def best_threshold(
    y_true: Any, score: Any, *, missed_cost: float, false_alarm_cost: float
) -> TunedThreshold:
    """The threshold that minimises the business cost on these rows, and that cost.

    Tune it on validation rows, then apply it (``score >= threshold``) to test rows. Among
    thresholds of equal cost, the highest (fewest alarms) is returned.

    Parameters
    ----------
    y_true, score, missed_cost, false_alarm_cost
        As in :func:`cost_curve`.

    Returns
    -------
    TunedThreshold
        ``threshold`` (``inf`` if flagging nothing is cheapest) and ``cost``, the total cost
        at that threshold; it unpacks as ``threshold, cost = best_threshold(...)``.

    Examples
    --------
    >>> best_threshold([0, 1, 1], [0.2, 0.6, 0.9], missed_cost=10, false_alarm_cost=1)
    TunedThreshold(threshold=0.6, cost=0.0)
    """
    curve = cost_curve(y_true, score, missed_cost=missed_cost, false_alarm_cost=false_alarm_cost)
    best = int(curve["cost"].to_numpy().argmin())
    return TunedThreshold(float(curve["threshold"].iat[best]), float(curve["cost"].iat[best]))
