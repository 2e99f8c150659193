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
  plus false alarms at every threshold. scikit-learn's ``TunedThresholdClassifierCV`` picks a
  threshold by refitting the model in cross-validation; here the models are already fitted, a
  threshold is tuned on a validation set, and the notebook draws the whole cost curve.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(2_000, 2))
>>> y = (X[:, 0] + rng.normal(size=2_000) > 2.5).astype(int)  # about 4% positives
>>> model = FocalLogisticRegression(gamma=2.0, class_weight="balanced").fit(X, y)
>>> model.predict_proba(X).shape
(2000, 2)
>>> cut, cost = best_threshold(y, model.predict_proba(X)[:, 1], missed_cost=20, false_alarm_cost=1)
>>> bool(0 < cut < 1)
True
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

__all__ = [
    "COST_COLUMNS",
    "FocalLogisticRegression",
    "best_threshold",
    "business_cost",
    "class_balanced_weights",
    "correct_prior",
    "cost_curve",
    "focal_loss",
]

#: Columns of :func:`cost_curve`.
COST_COLUMNS = ["threshold", "flagged", "missed", "false_alarms", "cost"]


def _binary_labels(y: Any, name: str = "y") -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {labels.shape}")
    if labels.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isin(labels, [0, 1]).all():
        found = ", ".join(map(repr, np.unique(labels)[:5].tolist()))
        raise ValueError(f"{name} must hold only 0 and 1 (1 = the rare class); found {found}")
    return labels.astype(np.int64)


def _probabilities(p: Any, name: str) -> np.ndarray:
    values = np.asarray(p, dtype=np.float64)
    if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return values


def _rate(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a class rate strictly between 0 and 1; got {value!r}")
    return float(value)


def _cost(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0; got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return float(value)


def focal_loss(
    y: Any, logit: Any, *, gamma: float = 2.0, sample_weight: Any = None
) -> tuple[float, np.ndarray]:
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
    loss : float
        The mean weighted loss.
    gradient : numpy.ndarray of shape (n,)
        The derivative of the mean loss with respect to each logit.

    Examples
    --------
    >>> loss, grad = focal_loss([1, 0], [0.0, 0.0], gamma=0.0)  # log loss at p = 0.5
    >>> round(loss, 4), grad.round(2).tolist()
    (0.6931, [-0.25, 0.25])
    """
    labels = _binary_labels(y)
    z = np.asarray(logit, dtype=np.float64)
    if z.shape != labels.shape:
        raise ValueError(f"logit has shape {z.shape}, y has shape {labels.shape}: they must match")
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not gamma >= 0:
        raise ValueError(f"gamma must be a number >= 0; got {gamma!r}")
    w = np.ones_like(z) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if w.shape != z.shape or (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("sample_weight must hold one finite, non-negative weight per row")
    sign = 2.0 * labels - 1.0  # +1 for class 1, -1 for class 0
    log_q = log_expit(sign * z)  # log P(true class), stable for large |z|
    q = np.exp(log_q)
    one_minus_q = expit(-sign * z)  # 1 - q without cancellation
    focus = one_minus_q**gamma
    loss = -focus * log_q
    # d/dz of -(1-q)^g log q, with dq/dz = sign * q (1-q):
    grad = sign * (gamma * q * focus * log_q - focus * one_minus_q)
    n = len(z)
    return float(np.sum(w * loss) / n), w * grad / n


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
    labels = _binary_labels(y)
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
        raise ValueError(f"beta must be a number in [0, 1); got {beta!r}")
    counts = np.bincount(labels, minlength=2)
    if (counts == 0).any():
        raise ValueError(f"y must contain both classes 0 and 1; counts are {counts.tolist()}")
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
        ``n / (2 * n_class)`` as in scikit-learn; None for 1 and 1.
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
        cw = self.class_weight
        if cw is None:
            return np.ones(len(y))
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be a dict, 'balanced' or None; got {cw!r}")
            counts = np.bincount(y, minlength=2)
            weights = len(y) / (2.0 * counts)
        elif isinstance(cw, Mapping):
            if set(cw) != {0, 1}:
                raise ValueError(f"class_weight must have the keys 0 and 1; got {sorted(cw)}")
            weights = np.array([cw[0], cw[1]], dtype=np.float64)
            if not np.isfinite(weights).all() or (weights <= 0).any():
                raise ValueError(f"class weights must be positive numbers; got {dict(cw)}")
        else:
            raise ValueError(
                f"class_weight must be a dict, 'balanced' or None; got {type(cw).__name__}"
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
        X, y = check_X_y(X, y, dtype=np.float64)
        labels = _binary_labels(y)
        if np.bincount(labels, minlength=2).min() == 0:
            raise ValueError("y must contain both classes 0 and 1")
        for name in ("gamma", "alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0; got {value!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral):
            raise ValueError(f"max_iter must be a positive integer; got {self.max_iter!r}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer; got {self.max_iter!r}")
        weights = self._row_weights(labels)
        if sample_weight is not None:
            extra = np.asarray(sample_weight, dtype=np.float64)
            if extra.shape != labels.shape or (extra < 0).any() or not np.isfinite(extra).all():
                raise ValueError("sample_weight must hold one finite, non-negative weight per row")
            weights = weights * extra

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

    Examples
    --------
    >>> correct_prior([0.5], trained_rate=0.5, true_rate=0.01).round(4).tolist()
    [0.01]
    """
    p = _probabilities(proba, "proba")
    trained = _rate(trained_rate, "trained_rate")
    true = _rate(true_rate, "true_rate")
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
    truth = _binary_labels(y_true, "y_true")
    decided = _binary_labels(y_pred, "y_pred")
    if truth.shape != decided.shape:
        raise ValueError(f"y_true has {len(truth)} rows, y_pred {len(decided)}: they must match")
    missed = int(np.sum((truth == 1) & (decided == 0)))
    false_alarms = int(np.sum((truth == 0) & (decided == 1)))
    return missed * _cost(missed_cost, "missed_cost") + false_alarms * _cost(
        false_alarm_cost, "false_alarm_cost"
    )


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
        first row with threshold ``inf`` (flag nothing).

    Examples
    --------
    >>> cost_curve([0, 1, 1], [0.2, 0.6, 0.9], missed_cost=10, false_alarm_cost=1)
       threshold  flagged  missed  false_alarms  cost
    0        inf        0       2             0  20.0
    1        0.9        1       1             0  10.0
    2        0.6        2       0             0   0.0
    3        0.2        3       0             1   1.0
    """
    truth = _binary_labels(y_true, "y_true")
    s = np.asarray(score, dtype=np.float64)
    if s.shape != truth.shape:
        raise ValueError(f"score has shape {s.shape}, y_true has shape {truth.shape}: must match")
    if not np.isfinite(s).all():
        raise ValueError("score must hold finite numbers")
    c_fn = _cost(missed_cost, "missed_cost")
    c_fp = _cost(false_alarm_cost, "false_alarm_cost")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], truth[order]
    last_of_value = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # ties flagged together
    tp = np.cumsum(y_sorted)[last_of_value]
    fp = np.cumsum(1 - y_sorted)[last_of_value]
    flagged = np.r_[0, tp + fp]
    missed = truth.sum() - np.r_[0, tp]
    false_alarms = np.r_[0, fp]
    return pd.DataFrame(
        {
            "threshold": np.r_[np.inf, s_sorted[last_of_value]],
            "flagged": flagged,
            "missed": missed,
            "false_alarms": false_alarms,
            "cost": missed * c_fn + false_alarms * c_fp,
        }
    )


def best_threshold(
    y_true: Any, score: Any, *, missed_cost: float, false_alarm_cost: float
) -> tuple[float, float]:
    """The threshold that minimises the business cost on these rows, and that cost.

    Tune it on validation rows, then apply it (``score >= threshold``) to test rows. Among
    thresholds of equal cost, the highest (fewest alarms) is returned.

    Parameters
    ----------
    y_true, score, missed_cost, false_alarm_cost
        As in :func:`cost_curve`.

    Returns
    -------
    threshold : float
        ``inf`` if flagging nothing is cheapest.
    cost : float
        The total cost at that threshold.

    Examples
    --------
    >>> best_threshold([0, 1, 1], [0.2, 0.6, 0.9], missed_cost=10, false_alarm_cost=1)
    (0.6, 0.0)
    """
    curve = cost_curve(y_true, score, missed_cost=missed_cost, false_alarm_cost=false_alarm_cost)
    best = int(curve["cost"].to_numpy().argmin())
    return float(curve["threshold"].iat[best]), float(curve["cost"].iat[best])
