"""Fairness by group, with intervals: discover a model's biases and trade them against accuracy.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 11,
"Responsible AI": "Discover sources for biases", "Understand the limitations of the
data-driven approach" and "Understand the trade-offs between different desiderata".

* :func:`bootstrap_group_rates`: the rates of a classifier's decisions in each group
  (selection rate, TPR, FPR, FNR, PPV, accuracy, base rate) on the same bootstrap resamples of
  the test rows, for several models at once (a paired bootstrap), with the gaps between groups
  that fairness criteria compare: the demographic parity difference and the equalized odds
  difference as fairlearn defines them (:func:`fairlearn.metrics.demographic_parity_difference`,
  :func:`fairlearn.metrics.equalized_odds_difference`; the tests check both against fairlearn).
  Hand-written for speed only: fairlearn's ``MetricFrame(n_boot=...)`` builds one frame per
  resample, about 15 s for 100 resamples of 4,000 rows; here a resample is a vector of row
  counts and all resamples are one matrix product (the same device as
  :func:`mlsys_kit.stats.bootstrap_auc`).
* :func:`bootstrap_score_balance`: the mean score of the negatives and of the positives in each
  group (Kleinberg, Mullainathan and Raghavan's *balance* for each class: a score's
  generalized false positive and false negative rates), on bootstrap resamples.
* :func:`calibrate_within_groups`: one isotonic regression per group
  (:class:`sklearn.isotonic.IsotonicRegression`), so that a score means the same probability
  in every group: the model of the impossibility result (with different base rates, a model
  calibrated within groups cannot also have equal error rates).
* :func:`fit_threshold_tradeoff`: fairlearn's
  :class:`~fairlearn.postprocessing.ThresholdOptimizer` fitted at several tolerances of its
  constraint (its ``tol``), one point of the fairness–accuracy trade-off each.
* :func:`fit_reduction_tradeoff`: fairlearn's
  :class:`~fairlearn.reductions.ExponentiatedGradient` (in-processing: it retrains the
  estimator on reweighted rows) at several bounds of its constraint (the constraint's
  ``difference_bound``), the same trade-off by another road.
* :func:`sample_skewed_pair`: a representative training sample and one of the same size in
  which one group keeps only a share of its rows (the others' rows fill the gap), sharing
  every other row: skewed sampling as a source of bias, measured on its own.
* :func:`interval_over_repeats`: the interval of a mean over repeated draws (of training
  samples) when each draw was scored on the same bootstrap resamples of the test rows; both
  the resamples and the draws are resampled (a two-level bootstrap), so the interval holds
  the noise of the training draws as well as that of the test rows.

fairlearn is imported inside the functions that use it: ``import mlsys_kit`` stays instant.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> group = np.repeat(["a", "b"], 500)
>>> y = rng.random(1000) < np.where(group == "a", 0.1, 0.4)
>>> rates = bootstrap_group_rates(y, {"label": y}, group, n_boot=100, seed=0)
>>> rates.groups
('a', 'b')
>>> low, high = rates.interval(rates.parity_difference("label"))
>>> bool(low > 0.2)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from mlsys_kit.stats import MeanInterval

__all__ = [
    "GROUP_RATES",
    "GroupRates",
    "bootstrap_group_rates",
    "ScoreBalance",
    "bootstrap_score_balance",
    "GroupCalibrator",
    "calibrate_within_groups",
    "ThresholdTradeoff",
    "TRADEOFF_CONSTRAINTS",
    "fit_threshold_tradeoff",
    "ReductionTradeoff",
    "REDUCTION_CONSTRAINTS",
    "fit_reduction_tradeoff",
    "SkewedPair",
    "sample_skewed_pair",
    "interval_over_repeats",
]

#: The rates :class:`GroupRates` computes per group, from the confusion counts of each group.
GROUP_RATES = ("selection rate", "TPR", "FPR", "FNR", "PPV", "accuracy", "base rate")

#: Resamples drawn and counted together by :func:`bootstrap_group_rates`.
_RESAMPLES_PER_BLOCK = 50


@dataclass(frozen=True)
class GroupRates(Report):
    """Confusion counts of several models by group, on the full test set and on resamples.

    Attributes
    ----------
    models : tuple of str
        The models' names, in the order of the arrays' model axis.
    groups : tuple
        The groups (sorted), in the order of the arrays' group axis.
    counts : numpy.ndarray
        Shape ``(n_models, n_groups, 4)``: true negatives, false positives, false negatives
        and true positives of each model in each group, on the full test set.
    boot_counts : numpy.ndarray
        Shape ``(n_boot, n_models, n_groups, 4)``: the same on each bootstrap resample.
    """

    models: tuple[str, ...]
    groups: tuple[Any, ...]
    counts: np.ndarray
    boot_counts: np.ndarray

    def rate(self, metric: str, model: str, *, boot: bool = True) -> np.ndarray:
        """One rate of one model in every group.

        Parameters
        ----------
        metric : str
            One of :data:`GROUP_RATES`.
        model : str
            One of :attr:`models`.
        boot : bool, default True
            Per resample, shape ``(n_boot, n_groups)``; else on the full test set,
            shape ``(n_groups,)``. A rate with an empty denominator is NaN.
        """
        metric = check_choice("metric", metric, GROUP_RATES, owner="GroupRates.rate")
        cells = self._cells(model, boot)
        tn, fp, fn, tp = (cells[..., k].astype(float) for k in range(4))
        numerator, denominator = {
            "selection rate": (fp + tp, tn + fp + fn + tp),
            "TPR": (tp, tp + fn),
            "FPR": (fp, fp + tn),
            "FNR": (fn, tp + fn),
            "PPV": (tp, tp + fp),
            "accuracy": (tp + tn, tn + fp + fn + tp),
            "base rate": (tp + fn, tn + fp + fn + tp),
        }[metric]
        with np.errstate(invalid="ignore", divide="ignore"):
            return numerator / denominator

    def gap(self, metric: str, model: str, *, boot: bool = True) -> np.ndarray:
        """The largest minus the smallest group's rate (fairlearn's ``between_groups``)."""
        rates = self.rate(metric, model, boot=boot)
        return np.nanmax(rates, axis=-1) - np.nanmin(rates, axis=-1)

    def parity_difference(self, model: str, *, boot: bool = True) -> np.ndarray:
        """Demographic parity difference: the gap in selection rates between groups."""
        return self.gap("selection rate", model, boot=boot)

    def odds_difference(self, model: str, *, boot: bool = True) -> np.ndarray:
        """Equalized odds difference: the larger of the TPR gap and the FPR gap."""
        return np.maximum(self.gap("TPR", model, boot=boot), self.gap("FPR", model, boot=boot))

    def overall_accuracy(self, model: str, *, boot: bool = True) -> np.ndarray:
        """Accuracy over all groups together."""
        cells = self._cells(model, boot).sum(axis=-2)
        return (cells[..., 0] + cells[..., 3]) / cells.sum(axis=-1)

    @staticmethod
    def interval(values: Any, level: float = 0.9) -> tuple[float, float]:
        """The central ``level`` interval of per-resample values (percentile bootstrap)."""
        level = check_float(
            "level", level, min=0, max=1, open_min=True, open_max=True, owner="GroupRates.interval"
        )
        x = np.asarray(values, dtype=float)
        low, high = np.nanquantile(x, [(1 - level) / 2, (1 + level) / 2])
        return float(low), float(high)

    def to_frame(self) -> pd.DataFrame:
        """Each model's rates in each group, on the full test set, with the group's size."""
        rows = []
        for model in self.models:
            sizes = self._cells(model, False).sum(axis=-1)
            for g, group in enumerate(self.groups):
                row: dict[str, Any] = {"model": model, "group": group, "rows": int(sizes[g])}
                row.update({m: float(self.rate(m, model, boot=False)[g]) for m in GROUP_RATES})
                rows.append(row)
        return pd.DataFrame(rows).set_index(["model", "group"])

    def _cells(self, model: str, boot: bool) -> np.ndarray:
        model = check_choice("model", model, self.models, owner="GroupRates")
        m = self.models.index(model)
        return self.boot_counts[:, m] if boot else self.counts[m]


def bootstrap_group_rates(
    y_true: Any,
    predictions: Mapping[str, Any],
    groups: Any,
    *,
    n_boot: int = 200,
    seed: Seed = 0,
) -> GroupRates:
    """Confusion counts of several models' decisions by group, on paired bootstrap resamples.

    Each resample draws ``len(y_true)`` test rows with replacement; every model is counted on
    the same resample, so a difference between two models' rates or gaps has the spread of
    that difference on test sets like this one.

    Parameters
    ----------
    y_true : array-like of bool or 0/1, shape (n_rows,)
        The labels.
    predictions : mapping of str to array-like of bool or 0/1
        Each model's decisions on the same rows; at least one model.
    groups : array-like, shape (n_rows,)
        The sensitive attribute of each row; at least two groups, no missing value.
    n_boot : int, default 200
        Resamples (≥ 1).
    seed : int or numpy.random.Generator, default 0
        Draws the resamples.

    Returns
    -------
    GroupRates
        The counts on the full test set and on each resample, with the rates and gaps.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When the labels or a model's decisions are not binary, the lengths differ, a group is
        missing or only one group occurs, no model is given, or ``n_boot < 1``.

    Examples
    --------
    >>> rates = bootstrap_group_rates([0, 1, 1, 0], {"m": [0, 1, 0, 0]}, ["a", "a", "b", "b"],
    ...                               n_boot=10)
    >>> rates.rate("TPR", "m", boot=False).tolist()
    [1.0, 0.0]
    >>> float(rates.odds_difference("m", boot=False))
    1.0
    """
    owner = "bootstrap_group_rates"
    n_boot = check_int("n_boot", n_boot, min=1, owner=owner)
    labels = _binary("y_true", y_true, owner)
    if not isinstance(predictions, Mapping) or not predictions:
        raise ParameterError(
            f"{owner}: predictions must be a non-empty mapping of name to decisions"
        )
    decisions = {
        str(name): _binary(f"predictions[{name!r}]", p, owner) for name, p in predictions.items()
    }
    names, group = _group_codes(groups, owner)
    check_same_length(y_true=labels, groups=group, owner=owner)
    for name, p in decisions.items():
        check_same_length(y_true=labels, **{f"predictions[{name!r}]": p}, owner=owner)
    n, n_groups = len(labels), len(names)
    # column of each row's cell: group, then (label, decision) as tn, fp, fn, tp
    cells = np.stack([group * 4 + 2 * labels + p for p in decisions.values()])  # (models, n)
    n_cells = n_groups * 4
    counts = np.stack([np.bincount(c, minlength=n_cells) for c in cells]).reshape(-1, n_groups, 4)
    rng = make_rng(seed, owner=owner)
    onehots = []
    for c in cells:
        onehot = np.zeros((n, n_cells))
        onehot[np.arange(n), c] = 1.0
        onehots.append(onehot)
    boot = np.empty((n_boot, len(decisions), n_cells))
    for start in range(0, n_boot, _RESAMPLES_PER_BLOCK):
        size = min(_RESAMPLES_PER_BLOCK, n_boot - start)
        row_counts = _resample_counts(rng, n, size)
        for m, onehot in enumerate(onehots):
            boot[start : start + size, m] = row_counts @ onehot
    return GroupRates(
        models=tuple(decisions),
        groups=tuple(names.tolist()),
        counts=counts,
        boot_counts=boot.reshape(n_boot, len(decisions), n_groups, 4).astype(np.int64),
    )


@dataclass(frozen=True)
class ScoreBalance(Report):
    """Mean score of each class in each group, on the full test set and on resamples.

    Attributes
    ----------
    groups : tuple
        The groups (sorted).
    negatives, positives : numpy.ndarray
        Shape ``(n_groups,)``: the mean score of the negatives (a generalized false positive
        rate) and of the positives (one minus a generalized false negative rate) per group.
    boot_negatives, boot_positives : numpy.ndarray
        Shape ``(n_boot, n_groups)``: the same on each resample (NaN where a resample holds
        no row of that class and group).
    """

    groups: tuple[Any, ...]
    negatives: np.ndarray
    positives: np.ndarray
    boot_negatives: np.ndarray
    boot_positives: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Per group: the generalized FPR (mean score of negatives) and FNR (1 − of positives)."""
        return pd.DataFrame(
            {"generalized FPR": self.negatives, "generalized FNR": 1 - self.positives},
            index=pd.Index(self.groups, name="group"),
        )


def bootstrap_score_balance(
    y_true: Any, scores: Any, groups: Any, *, n_boot: int = 200, seed: Seed = 0
) -> ScoreBalance:
    """Mean score of the negatives and of the positives in each group, with bootstrap resamples.

    A model is *balanced* for a class when that class's mean score is the same in every group
    (Kleinberg, Mullainathan and Raghavan 2016). Their impossibility result: when the groups'
    base rates differ, a model calibrated within groups is balanced for neither class, short
    of perfect prediction.

    Parameters
    ----------
    y_true : array-like of bool or 0/1, shape (n_rows,)
        The labels.
    scores : array-like of float, shape (n_rows,)
        The model's probabilities.
    groups : array-like, shape (n_rows,)
        The sensitive attribute; at least two groups, no missing value.
    n_boot : int, default 200
        Resamples (≥ 1).
    seed : int or numpy.random.Generator, default 0
        Draws the resamples.

    Returns
    -------
    ScoreBalance
        Per group, the mean score of each class on the test set and on each resample.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When the labels are not binary, a score is not finite, the lengths differ, a group is
        missing or only one group occurs, or ``n_boot < 1``.

    Examples
    --------
    >>> balance = bootstrap_score_balance([0, 1, 0, 1], [0.1, 0.5, 0.3, 0.9], list("aabb"))
    >>> balance.to_frame().round(2).values.tolist()
    [[0.1, 0.5], [0.3, 0.1]]
    """
    owner = "bootstrap_score_balance"
    n_boot = check_int("n_boot", n_boot, min=1, owner=owner)
    labels = _binary("y_true", y_true, owner)
    s = check_array("scores", scores, ndim=1, dtype=float, finite=True, owner=owner)
    names, group = _group_codes(groups, owner)
    check_same_length(y_true=labels, scores=s, groups=group, owner=owner)
    n, n_cells = len(labels), 2 * len(names)
    cell = 2 * group + labels  # group, then negatives and positives
    onehot = np.zeros((n, n_cells))
    onehot[np.arange(n), cell] = 1.0
    weighted = np.column_stack([onehot, onehot * s[:, None]])
    totals = np.ones(n) @ weighted
    rng = make_rng(seed, owner=owner)
    boot = np.empty((n_boot, 2 * n_cells))
    for start in range(0, n_boot, _RESAMPLES_PER_BLOCK):
        size = min(_RESAMPLES_PER_BLOCK, n_boot - start)
        boot[start : start + size] = _resample_counts(rng, n, size) @ weighted
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (totals[n_cells:] / totals[:n_cells]).reshape(-1, 2)
        boot_means = (boot[:, n_cells:] / boot[:, :n_cells]).reshape(n_boot, -1, 2)
    return ScoreBalance(
        groups=tuple(names.tolist()),
        negatives=means[:, 0],
        positives=means[:, 1],
        boot_negatives=boot_means[..., 0],
        boot_positives=boot_means[..., 1],
    )


def _group_codes(groups: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """The sorted groups and each row's index into them; refuses missing values, one group."""
    values = pd.Series(np.asarray(groups, dtype=object))
    if values.isna().any():
        raise ParameterError(f"{owner}: groups must not hold missing values")
    names, codes = np.unique(values.to_numpy(), return_inverse=True)
    if len(names) < 2:
        raise ParameterError(
            f"{owner}: groups must hold at least two groups; got {names.tolist()!r}"
        )
    return names, codes


def _resample_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``size`` bootstrap resamples of ``n`` rows, as counts: shape ``(size, n)``."""
    draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(float)


def _binary(name: str, values: Any, owner: str) -> np.ndarray:
    array = check_array(name, values, ndim=1, min_length=1, owner=owner)
    if array.dtype == bool:
        return array.astype(np.int64)
    if not np.isin(array, (0, 1)).all():
        raise ParameterError(f"{owner}: {name} must be binary (bool or 0/1)")
    return array.astype(np.int64)


@dataclass(frozen=True)
class GroupCalibrator:
    """One isotonic map per group from a model's score to the probability of the label.

    Attributes
    ----------
    groups : tuple
        The groups it was fitted on.
    maps : tuple of sklearn.isotonic.IsotonicRegression
        The fitted map of each group, in the order of :attr:`groups`.
    """

    groups: tuple[Any, ...]
    maps: tuple[Any, ...]

    def transform(self, scores: Any, groups: Any) -> np.ndarray:
        """Calibrated probabilities: each row's score through its group's map.

        Raises
        ------
        mlsys_kit.params.ParameterError
            When the lengths differ, a score is not finite or a group was not fitted.
        """
        owner = "GroupCalibrator.transform"
        s = check_array("scores", scores, ndim=1, dtype=float, finite=True, owner=owner)
        g = np.asarray(groups, dtype=object)
        check_same_length(scores=s, groups=g, owner=owner)
        unknown = sorted(set(g.tolist()) - set(self.groups), key=str)
        if unknown:
            raise ParameterError(
                f"{owner}: groups {unknown!r} were not fitted; allowed: {list(self.groups)!r}"
            )
        out = np.empty(len(s))
        for name, isotonic in zip(self.groups, self.maps, strict=True):
            rows = g == name
            if rows.any():
                out[rows] = isotonic.predict(s[rows])
        return out


def calibrate_within_groups(scores: Any, y_true: Any, groups: Any) -> GroupCalibrator:
    """Fit one isotonic regression per group from scores to labels (calibration within groups).

    Fit it on rows the model was not trained on. Then, in every group, among the rows given a
    probability ``p``, about a share ``p`` are positive: the score means the same in every group.

    Parameters
    ----------
    scores : array-like of float, shape (n_rows,)
        The model's scores on the calibration rows.
    y_true : array-like of bool or 0/1, shape (n_rows,)
        Their labels.
    groups : array-like, shape (n_rows,)
        Their groups; every group needs both labels.

    Returns
    -------
    GroupCalibrator
        The fitted maps, with ``transform(scores, groups)``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When the lengths differ, a score is not finite, the labels are not binary, a group is
        missing, or a group lacks one of the labels.

    Examples
    --------
    >>> calibrator = calibrate_within_groups([0.2, 0.4, 0.6, 0.8], [0, 1, 0, 1], list("aabb"))
    >>> calibrator.transform([0.2, 0.8], ["a", "b"]).tolist()
    [0.0, 1.0]
    """
    from sklearn.isotonic import IsotonicRegression

    owner = "calibrate_within_groups"
    s = check_array("scores", scores, ndim=1, min_length=1, dtype=float, finite=True, owner=owner)
    labels = _binary("y_true", y_true, owner)
    g = pd.Series(np.asarray(groups, dtype=object))
    if g.isna().any():
        raise ParameterError(f"{owner}: groups must not hold missing values")
    check_same_length(scores=s, y_true=labels, groups=g, owner=owner)
    names = sorted(set(g.tolist()), key=str)
    maps = []
    for name in names:
        rows = (g == name).to_numpy()
        if len(np.unique(labels[rows])) < 2:
            raise ParameterError(f"{owner}: group {name!r} needs both labels to be calibrated")
        maps.append(IsotonicRegression(out_of_bounds="clip").fit(s[rows], labels[rows]))
    return GroupCalibrator(groups=tuple(names), maps=tuple(maps))


#: The constraints of :func:`fit_threshold_tradeoff`: those ThresholdOptimizer can relax.
TRADEOFF_CONSTRAINTS = (
    "demographic_parity",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
    "false_negative_rate_parity",
)


@dataclass(frozen=True)
class ThresholdTradeoff:
    """Fitted ThresholdOptimizers, one per tolerance of their fairness constraint.

    Attributes
    ----------
    constraints : str
        The constraint, as fairlearn names it.
    tolerances : tuple of float
        The largest gap allowed between groups on the fitting rows, one per optimizer.
    optimizers : tuple of fairlearn.postprocessing.ThresholdOptimizer
        The fitted optimizers.
    """

    constraints: str
    tolerances: tuple[float, ...]
    optimizers: tuple[Any, ...]

    def predict(self, X: Any, sensitive: Any, *, seed: Seed = 0) -> dict[float, np.ndarray]:
        """Each optimizer's decisions on ``X``, by tolerance (they pick thresholds at random)."""
        rng = make_rng(seed, owner="ThresholdTradeoff.predict")
        return {
            tol: np.asarray(
                opt.predict(X, sensitive_features=sensitive, random_state=int(rng.integers(2**31)))
            ).astype(bool)
            for tol, opt in zip(self.tolerances, self.optimizers, strict=True)
        }


def fit_threshold_tradeoff(
    estimator: Any,
    X: Any,
    y: Any,
    sensitive: Any,
    *,
    tolerances: Sequence[float],
    constraints: str = "demographic_parity",
    grid_size: int = 1000,
) -> ThresholdTradeoff:
    """Fit fairlearn's ThresholdOptimizer on a fitted model at several tolerances.

    Each optimizer picks a threshold per group on the model's probability (randomizing between
    two where needed) that maximizes accuracy on ``X`` while the constraint's rate differs
    between groups by at most its tolerance: tolerance 0 is the strict constraint, a large
    one the model's own accuracy-maximizing thresholds. Fit on rows the model was not
    trained on.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba``
        The model to post-process (``prefit=True``).
    X, y, sensitive : array-like
        The fitting rows, their labels and their sensitive attribute.
    tolerances : sequence of float
        Tolerances, each ≥ 0; at least one.
    constraints : str, default "demographic_parity"
        One of :data:`TRADEOFF_CONSTRAINTS` (fairlearn cannot relax ``equalized_odds``).
    grid_size : int, default 1000
        Thresholds fairlearn tries per group (≥ 10).

    Returns
    -------
    ThresholdTradeoff
        The fitted optimizers, with ``predict(X, sensitive, seed=...)``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        No tolerance, a negative one, an unknown constraint or ``grid_size < 10``.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    owner = "fit_threshold_tradeoff"
    constraints = check_choice("constraints", constraints, TRADEOFF_CONSTRAINTS, owner=owner)
    grid_size = check_int("grid_size", grid_size, min=10, owner=owner)
    tols = check_array("tolerances", tolerances, ndim=1, min_length=1, dtype=float, owner=owner)
    if not (np.isfinite(tols).all() and (tols >= 0).all()):
        raise ParameterError(f"{owner}: tolerances must be finite and ≥ 0; got {tols.tolist()!r}")
    optimizers = tuple(
        ThresholdOptimizer(
            estimator=estimator,
            constraints=constraints,
            predict_method="predict_proba",
            prefit=True,
            grid_size=grid_size,
            tol=float(tol),
        ).fit(X, y, sensitive_features=sensitive)
        for tol in tols
    )
    return ThresholdTradeoff(constraints, tuple(float(t) for t in tols), optimizers)


#: The constraints of :func:`fit_reduction_tradeoff`, as fairlearn's reductions name them.
REDUCTION_CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
    "error_rate_parity",
)


@dataclass(frozen=True)
class ReductionTradeoff:
    """Fitted ExponentiatedGradient models, one per bound of their fairness constraint.

    Attributes
    ----------
    constraints : str
        The constraint, one of :data:`REDUCTION_CONSTRAINTS`.
    bounds : tuple of float
        The constraint's ``difference_bound`` of each model: how far each group's rate may
        stray from the overall rate on the fitting rows.
    models : tuple of fairlearn.reductions.ExponentiatedGradient
        The fitted models (each a random mix of estimators trained on reweighted rows).
    """

    constraints: str
    bounds: tuple[float, ...]
    models: tuple[Any, ...]

    def predict(self, X: Any, *, seed: Seed = 0) -> dict[float, np.ndarray]:
        """Each model's decisions on ``X``, by bound (a mix picks its estimator at random).

        Unlike ThresholdOptimizer, no sensitive attribute is needed at prediction time.
        """
        rng = make_rng(seed, owner="ReductionTradeoff.predict")
        dense = _dense(X)
        return {
            bound: np.asarray(model.predict(dense, random_state=int(rng.integers(2**31)))).astype(
                bool
            )
            for bound, model in zip(self.bounds, self.models, strict=True)
        }


def fit_reduction_tradeoff(
    estimator: Any,
    X: Any,
    y: Any,
    sensitive: Any,
    *,
    bounds: Sequence[float],
    constraints: str = "demographic_parity",
    max_iter: int = 50,
) -> ReductionTradeoff:
    """Fit fairlearn's ExponentiatedGradient at several bounds of its fairness constraint.

    The reduction retrains a copy of ``estimator`` on reweighted rows, again and again, and
    returns a random mix of the classifiers it trained that minimizes the error while each
    group's rate stays within ``bound`` of the overall rate (for two groups of shares ``p``
    and ``1 − p``, a gap between groups of at most ``bound / max(p, 1 − p)``). Bound 0 asks
    for strict parity; a large bound gives back the unconstrained model. The sensitive
    attribute is used to fit only, never to predict.

    In fairlearn ≥ 0.5 the bound of the constraint is the constraint's ``difference_bound``;
    ``ExponentiatedGradient(eps=...)`` only bounds the Lagrange multipliers, and is left at
    its default here.

    Parameters
    ----------
    estimator : unfitted classifier whose ``fit`` takes ``sample_weight``
        The base estimator (cloned for every bound), e.g. a logistic regression; a Pipeline
        does not route ``sample_weight``: encode the rows first and pass the last step.
    X : array-like or sparse matrix, shape (n_rows, n_features)
        The fitting rows, encoded (a sparse matrix is made dense: fairlearn needs it so).
    y, sensitive : array-like, shape (n_rows,)
        Their labels (binary) and their sensitive attribute.
    bounds : sequence of float
        Bounds, each ≥ 0; at least one.
    constraints : str, default "demographic_parity"
        One of :data:`REDUCTION_CONSTRAINTS`.
    max_iter : int, default 50
        ExponentiatedGradient's iterations at most (≥ 1).

    Returns
    -------
    ReductionTradeoff
        The fitted models, with ``predict(X, seed=...)``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        No bound, a negative or infinite one, an unknown constraint, ``max_iter < 1``, or
        ``X``, ``y`` and ``sensitive`` of different lengths.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> group = np.repeat(["a", "b"], 200)
    >>> X = rng.normal(size=(400, 2)) + (group == "b")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=400)) > 0.5
    >>> tradeoff = fit_reduction_tradeoff(LogisticRegression(), X, y, group, bounds=[0.0, 0.5])
    >>> decisions = tradeoff.predict(X, seed=0)
    >>> gap = {b: abs(d[:200].mean() - d[200:].mean()) for b, d in decisions.items()}
    >>> bool(gap[0.0] < gap[0.5])
    True
    """
    from fairlearn.reductions import (
        DemographicParity,
        EqualizedOdds,
        ErrorRateParity,
        ExponentiatedGradient,
        FalsePositiveRateParity,
        TruePositiveRateParity,
    )
    from sklearn.base import clone

    owner = "fit_reduction_tradeoff"
    constraints = check_choice("constraints", constraints, REDUCTION_CONSTRAINTS, owner=owner)
    max_iter = check_int("max_iter", max_iter, min=1, owner=owner)
    limits = check_array("bounds", bounds, ndim=1, min_length=1, dtype=float, owner=owner)
    if not (np.isfinite(limits).all() and (limits >= 0).all()):
        raise ParameterError(f"{owner}: bounds must be finite and ≥ 0; got {limits.tolist()!r}")
    dense = _dense(X)
    labels = _binary("y", y, owner)
    attribute = np.asarray(sensitive, dtype=object)
    check_same_length(X=dense, y=labels, sensitive=attribute, owner=owner)
    moment = {
        "demographic_parity": DemographicParity,
        "equalized_odds": EqualizedOdds,
        "true_positive_rate_parity": TruePositiveRateParity,
        "false_positive_rate_parity": FalsePositiveRateParity,
        "error_rate_parity": ErrorRateParity,
    }[constraints]
    models = tuple(
        ExponentiatedGradient(
            clone(estimator), moment(difference_bound=float(bound)), max_iter=max_iter
        ).fit(dense, labels, sensitive_features=attribute)
        for bound in limits
    )
    return ReductionTradeoff(constraints, tuple(float(b) for b in limits), models)


def _dense(X: Any) -> Any:
    """``X`` as fairlearn's reductions accept it: a sparse matrix made dense."""
    return X.toarray() if hasattr(X, "toarray") else X


@dataclass(frozen=True)
class SkewedPair:
    """Two training samples of the same size: representative, and skewed against one group.

    Attributes
    ----------
    representative : pandas.DataFrame
        A random sample of the rows.
    skewed : pandas.DataFrame
        The same rows, except that the group keeps only ``kept`` of its ``in_group`` rows;
        rows of the other groups, not in the representative sample, fill the gap.
    group : object
        The under-represented group.
    in_group, kept : int
        The group's rows in the representative sample, and in the skewed one.
    """

    representative: pd.DataFrame
    skewed: pd.DataFrame
    group: Any
    in_group: int
    kept: int


def sample_skewed_pair(
    rows: pd.DataFrame,
    column: str,
    group: Any,
    *,
    n_rows: int,
    keep: float,
    seed: Seed = 0,
) -> SkewedPair:
    """Draw a representative sample and a skewed one of the same size, sharing most rows.

    The representative sample draws ``n_rows`` rows at random. The skewed one keeps every
    row of the other groups, a random share ``keep`` of the group's rows, and fills the
    rest with other groups' rows from outside the representative sample. The two differ
    only in the group's share, so a model trained on each measures what skewed sampling
    alone does (the rows they share cancel most of the noise of the draw). The shared rows
    keep the representative sample's order, so with ``keep = 1`` the two are identical.

    Parameters
    ----------
    rows : pandas.DataFrame
        The rows to draw from.
    column : str
        The column holding the groups.
    group : object
        The group to under-represent; it must occur in ``column``.
    n_rows : int
        Rows of each sample (≥ 1, at most ``len(rows)``).
    keep : float
        Share of the group's rows the skewed sample keeps, in [0, 1] (1: the same sample).
    seed : int or numpy.random.Generator, default 0
        Draws the samples.

    Returns
    -------
    SkewedPair
        The two samples, with the group's row counts in each.

    Raises
    ------
    mlsys_kit.params.ParameterError
        An unknown column or group, ``n_rows`` out of range, ``keep`` outside [0, 1], or too
        few rows of the other groups outside the representative sample to fill the gap.

    Examples
    --------
    >>> rows = pd.DataFrame({"sex": ["F"] * 300 + ["M"] * 700, "x": range(1000)})
    >>> pair = sample_skewed_pair(rows, "sex", "F", n_rows=200, keep=0.1, seed=0)
    >>> len(pair.representative), len(pair.skewed)
    (200, 200)
    >>> int((pair.skewed["sex"] == "F").sum()) == pair.kept == round(0.1 * pair.in_group)
    True
    """
    owner = "sample_skewed_pair"
    if not isinstance(rows, pd.DataFrame):
        raise ParameterError(f"{owner}: rows must be a pandas DataFrame")
    column = check_choice("column", column, list(rows.columns), owner=owner)
    group = check_choice(
        "group", group, sorted(rows[column].dropna().unique(), key=str), owner=owner
    )
    n_rows = check_int("n_rows", n_rows, min=1, max=len(rows), owner=owner)
    keep = check_float("keep", keep, min=0, max=1, owner=owner)
    rng = make_rng(seed, owner=owner)
    representative = rows.sample(n_rows, random_state=rng)
    members = representative[column] == group
    in_group = int(members.sum())
    kept = round(keep * in_group)
    outside = rows.drop(representative.index)
    fill = outside[outside[column] != group]
    if len(fill) < in_group - kept:
        raise ParameterError(
            f"{owner}: {in_group - kept} rows of other groups are needed to fill the skewed"
            f" sample, and only {len(fill)} lie outside the representative one: lower n_rows"
        )
    kept_rows = representative[members].sample(kept, random_state=rng).index
    # the shared rows stay in the representative's order (keep = 1: the very same sample,
    # so a model fitted on each is the same bit for bit), the fill rows come last
    skewed = pd.concat(
        [
            representative[~members | representative.index.isin(kept_rows)],
            fill.sample(in_group - kept, random_state=rng),
        ]
    )
    return SkewedPair(representative, skewed, group, in_group, kept)


def interval_over_repeats(values: Any, *, level: float = 0.9, seed: Seed = 0) -> MeanInterval:
    """The mean over repeats of per-resample values, with a two-level bootstrap interval.

    ``values[b, r]`` is a statistic of repeat ``r`` (e.g. a model trained on the ``r``-th
    draw of a training sample, minus its paired baseline) on bootstrap resample ``b`` of the
    test rows, every repeat on the same resamples (from :func:`bootstrap_group_rates` or
    :func:`mlsys_kit.stats.bootstrap_auc`). Each resample also redraws the repeats with
    replacement, so the interval holds the spread between training draws as well as the
    noise of the test rows. With few repeats the interval is somewhat too narrow (a
    bootstrap of ``n`` draws has a spread ``√((n − 1)/n)`` of the true one).

    Parameters
    ----------
    values : array-like of float, shape (n_boot, n_repeats)
        At least one resample and two repeats; NaN (an empty rate) is skipped.
    level : float, default 0.9
        The interval's level, in (0, 1).
    seed : int or numpy.random.Generator, default 0
        Redraws the repeats.

    Returns
    -------
    mlsys_kit.stats.MeanInterval
        The mean over resamples and repeats, and the percentile interval's ends.

    Raises
    ------
    mlsys_kit.params.ParameterError
        Not a 2-D array, fewer than two repeats, no finite value, or ``level`` out of (0, 1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> values = rng.normal(0.5, 0.1, size=(200, 8))
    >>> mean, low, high = interval_over_repeats(values, seed=0)
    >>> bool(low < 0.5 < high), bool(high - low < 0.2)
    (True, True)
    """
    owner = "interval_over_repeats"
    level = check_float("level", level, min=0, max=1, open_min=True, open_max=True, owner=owner)
    x = check_array("values", values, ndim=2, min_length=1, dtype=float, owner=owner)
    if x.shape[1] < 2:
        raise ParameterError(
            f"{owner}: values must hold at least two repeats (columns); got {x.shape[1]}"
        )
    if not np.isfinite(x).any():
        raise ParameterError(f"{owner}: values hold no finite value")
    rng = make_rng(seed, owner=owner)
    draws = rng.integers(0, x.shape[1], size=x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample whose draws are all NaN
        means = np.nanmean(np.take_along_axis(x, draws, axis=1), axis=1)
    low, high = np.nanquantile(means, [(1 - level) / 2, (1 + level) / 2])
    return MeanInterval(float(np.nanmean(x)), float(low), float(high))
