"""General shifts (a unit change, a new label class) and retraining to address a shift.

Serves Chapter 8, "Data Distribution Shifts and Monitoring", sections "General Data
Distribution Shifts" (feature change, label schema change) and "Addressing Data Distribution
Shifts" (train on recent data, on all data, or on importance-weighted data) of Chip Huyen,
*Designing Machine Learning Systems* (2022).

Two kinds of helper:

* **What catches a general shift, and when.** :func:`roll_out_unit_change` changes the unit of a
  feature upstream (seconds to milliseconds) for a share of the rows that grows from a start
  day, the way a new client version or service release reaches traffic; :func:`recall_as_known`
  is the accuracy a dashboard can show each day (recall on the frauds whose labels arrived in
  the last days); :func:`detection_delays` turns the daily alarms of several detectors into
  one table: days from each change to its first alarm, and false alarms in a quiet period.
  The detectors themselves are the kit's own: :func:`mlsys_kit.monitoring.expectations.validate`
  (pandera), :func:`mlsys_kit.monitoring.drift.detect_drift` (scipy's tests) and
  :class:`mlsys_kit.monitoring.dashboards.AlertRule`.
* **Retraining after a shift.** :func:`compare_retraining` fits one model three ways on the
  *same number of rows* (an equal training budget): the most recent labelled rows, a uniform
  sample of all labelled rows, and the same sample importance-weighted towards the new inputs
  (:func:`mlsys_kit.monitoring.shifts.covariate_shift_weights`, a domain classifier). It scores
  each against the *true* probabilities of the new data, which a simulator knows: the excess log
  loss, ``mean KL(p || q)``, is 0 for a model that predicts the true probability of every row.
  :func:`compare_retraining_models` does the same for several models on one sample and one set
  of weights.

What is hand-written, and why: the fits and the domain classifier are scikit-learn's; the rollout
of a unit change, the as-known recall and the detection table are the lesson (a few lines of
numpy and pandas that no monitoring library exposes on their own: Evidently or whylogs compute
the statistics per batch, not the days each check took to notice a change); the excess log loss
against known probabilities is a two-line formula that needs the simulator's ground truth, which
no library has.

Examples
--------
>>> import numpy as np
>>> seconds = np.full(6, 60.0)
>>> roll_out_unit_change(seconds, np.arange(6.0), start_day=2, rollout_days=0).tolist()
[60.0, 60.0, 60000.0, 60000.0, 60000.0, 60000.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.monitoring.dashboards import first_alarm_delay
from mlsys_kit.monitoring.shifts import covariate_shift_weights
from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_float,
    check_same_length,
    check_type,
    make_rng,
)
from mlsys_kit.results import Report
from mlsys_kit.stats import effective_sample_size

__all__ = [
    "RETRAIN_ON",
    "DetectionReport",
    "RetrainingComparison",
    "compare_retraining",
    "compare_retraining_models",
    "detection_delays",
    "excess_log_loss",
    "recall_as_known",
    "roll_out_unit_change",
]

#: The training sets :func:`compare_retraining` compares, in its table's order.
RETRAIN_ON: tuple[str, ...] = ("recent", "all", "all, weighted")


# --------------------------------------------------------------------------------------------
# A feature change: the unit of a feature changes upstream
# --------------------------------------------------------------------------------------------


def roll_out_unit_change(
    values: Any,
    days: Any,
    *,
    start_day: float,
    rollout_days: float,
    factor: float = 1000.0,
    seed: Seed = 0,
) -> np.ndarray:
    """Values of a feature after an upstream unit change reaches a growing share of rows.

    From ``start_day`` a row is sent in the new unit (multiplied by ``factor``, 1,000 for seconds
    to milliseconds) with a probability that grows linearly from 0 to 1 over ``rollout_days``
    (a staged release); ``rollout_days=0`` changes every row at once.

    Parameters
    ----------
    values : array-like of float
        The feature in its original unit.
    days : array-like of float
        When each row happened, in days (e.g. :meth:`mlsys_kit.sim.Marketplace.day`).
    start_day : float
        The first day of the new unit.
    rollout_days : float
        Days until every row is in the new unit (>= 0).
    factor : float, default 1000.0
        New unit per old unit (> 0, not 1).
    seed : int or numpy.random.Generator, default 0
        Seeds which rows are in the new unit during the rollout.

    Returns
    -------
    numpy.ndarray
        A float copy of ``values``, the changed rows multiplied by ``factor``.

    Raises
    ------
    ParameterError
        If the arrays differ in length, ``rollout_days < 0``, or ``factor`` is not positive or
        is 1 (no change).

    Examples
    --------
    >>> days = np.repeat([0.5, 10.5, 20.5], 1_000)
    >>> changed = roll_out_unit_change(np.ones(3_000), days, start_day=0, rollout_days=21)
    >>> [float((changed[days == d] > 1).mean().round(1)) for d in (0.5, 10.5, 20.5)]
    [0.0, 0.5, 1.0]
    """
    owner = "roll_out_unit_change"
    x = check_array("values", values, ndim=1, dtype=float, owner=owner).copy()
    t = check_array("days", days, ndim=1, dtype=float, owner=owner)
    check_same_length(values=x, days=t, owner=owner)
    start_day = check_float("start_day", start_day, owner=owner)
    rollout_days = check_float("rollout_days", rollout_days, min=0, owner=owner)
    factor = check_float("factor", factor, min=0, open_min=True, owner=owner)
    if factor == 1:
        raise ParameterError(f"{owner}: factor=1 changes nothing: give the new unit per old unit")
    rng = make_rng(seed, owner=owner)
    if rollout_days == 0:
        share = (t >= start_day).astype(float)
    else:
        share = np.clip((t - start_day) / rollout_days, 0.0, 1.0)
    changed = rng.random(len(x)) < share
    x[changed] *= factor
    return x


# --------------------------------------------------------------------------------------------
# What each detector sees, and when
# --------------------------------------------------------------------------------------------


def recall_as_known(
    label_days: Any, is_fraud: Any, flagged: Any, *, window_days: int = 7
) -> pd.Series:
    """Each day's recall on the frauds whose labels arrived in the last ``window_days`` days.

    The accuracy a dashboard can show on day ``d``: among the frauds whose label (a chargeback)
    arrived in ``[d - window_days, d)``, the share the model had flagged. It is known on day
    ``d`` and rests on transactions of earlier days, so it sees a change only once that
    change's frauds have been charged back.

    Parameters
    ----------
    label_days : array-like of float
        When each row's label arrives, in days.
    is_fraud : array-like of bool
        The label of each row.
    flagged : array-like of bool
        Whether the model flagged the row.
    window_days : int, default 7
        Days of arrived labels each value rests on (>= 1).

    Returns
    -------
    pandas.Series
        Indexed by whole day, from the first label's day plus ``window_days`` to the last
        label's day; NaN on a day without any fraud label in its window. Named ``recall_known``.

    Raises
    ------
    ParameterError
        If the arrays differ in length or ``window_days < 1``.

    Examples
    --------
    >>> label_days = np.array([0.5, 1.5, 2.5, 3.5])
    >>> fraud = np.array([True, True, False, True])
    >>> recall_as_known(label_days, fraud, [True, False, True, True], window_days=2).tolist()
    [0.5, 0.0]
    """
    owner = "recall_as_known"
    t = check_array("label_days", label_days, ndim=1, dtype=float, owner=owner)
    y = check_array("is_fraud", is_fraud, ndim=1, owner=owner).astype(bool)
    f = check_array("flagged", flagged, ndim=1, owner=owner).astype(bool)
    check_same_length(label_days=t, is_fraud=y, flagged=f, owner=owner)
    window_days = int(check_float("window_days", window_days, min=1, owner=owner))
    day = np.floor(t[y]).astype(np.int64)
    if len(day) == 0:
        return pd.Series([], dtype=float, name="recall_known")
    first, last = int(day.min()), int(day.max())
    frauds = np.bincount(day - first, minlength=last - first + 1).astype(float)
    caught = np.bincount(day - first, weights=f[y], minlength=last - first + 1)
    kernel = np.ones(window_days)
    n = np.convolve(frauds, kernel)[: len(frauds)]  # frauds arrived on days (d - w, d]
    k = np.convolve(caught, kernel)[: len(caught)]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(n > 0, k / n, np.nan)
    # the value known on day d uses days d - w .. d - 1
    index = np.arange(first + 1, last + 2)
    series = pd.Series(recall, index=index, name="recall_known", dtype=float)
    return series.loc[first + window_days : last]


@dataclass(frozen=True, repr=False)
class DetectionReport(Report):
    """The result of :func:`detection_delays`: which detector saw which change, and when.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per detector and change: ``detector``, ``change``, ``change_day``,
        ``first_alarm`` (the day, NaN if never), ``days_to_detect`` (NaN if never) and
        ``false_alarms`` (alarms in the quiet days, before any change).
    """

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table."""
        return self.table.copy()

    def delays(self) -> pd.DataFrame:
        """Days to detection, one row per detector and one column per change (NaN: never)."""
        wide = self.table.pivot(index="detector", columns="change", values="days_to_detect")
        order = list(dict.fromkeys(self.table["detector"]))
        return wide.loc[order, list(dict.fromkeys(self.table["change"]))]

    def delay(self, detector: str, change: str) -> float:
        """Days from ``change`` to ``detector``'s first alarm (NaN if never)."""
        rows = self.table[(self.table["detector"] == detector) & (self.table["change"] == change)]
        if rows.empty:
            raise KeyError(f"no row for detector {detector!r} and change {change!r}")
        return float(rows["days_to_detect"].iloc[0])

    def __repr__(self) -> str:
        return f"DetectionReport\n{self.table.to_string(index=False)}"


def detection_delays(
    alarms: Mapping[tuple[str, str], pd.Series],
    change_days: Mapping[str, float],
    *,
    quiet_days: tuple[float, float],
) -> DetectionReport:
    """Days from each change to each detector's first alarm, and its false alarms before.

    Parameters
    ----------
    alarms : mapping of (detector, change) to pandas.Series of bool
        For each detector and each change it could reveal, whether it alarms on each day
        (the Series' index: whole days). Pass the alarms that point at that change (a range
        violation of the changed column, not of any column) when the detector says where.
    change_days : mapping of str to float
        The day each change started.
    quiet_days : (float, float)
        ``[first, last)`` days before any change: every alarm there is false.

    Returns
    -------
    DetectionReport

    Raises
    ------
    ParameterError
        If a change of ``alarms`` is not in ``change_days``, a value is not a Series, or
        ``quiet_days`` is not ``(first, last)`` with ``first < last``.

    Examples
    --------
    >>> days = pd.RangeIndex(0, 6)
    >>> alarms = {("range check", "unit"): pd.Series([0, 0, 0, 1, 1, 1], index=days, dtype=bool),
    ...           ("drift test", "unit"): pd.Series([0, 1, 0, 0, 1, 1], index=days, dtype=bool)}
    >>> report = detection_delays(alarms, {"unit": 3}, quiet_days=(0, 3))
    >>> report.to_frame()[["detector", "days_to_detect", "false_alarms"]]
          detector  days_to_detect  false_alarms
    0  range check             0.0             0
    1   drift test             1.0             1
    """
    owner = "detection_delays"
    check_type("alarms", alarms, Mapping, owner=owner)
    check_type("change_days", change_days, Mapping, owner=owner)
    lo, hi = quiet_days
    if not lo < hi:
        raise ParameterError(
            f"{owner}: quiet_days must be (first, last) with first < last; got {quiet_days}"
        )
    rows = []
    for key, fired in alarms.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ParameterError(f"{owner}: alarms keys must be (detector, change); got {key!r}")
        detector, change = key
        if change not in change_days:
            raise ParameterError(
                f"{owner}: change {change!r} is not in change_days; known: {list(change_days)}"
            )
        check_type(f"alarms[{key!r}]", fired, pd.Series, owner=owner)
        fired = fired.astype(bool)
        day = check_float(f"change_days[{change!r}]", change_days[change], owner=owner)
        index = fired.index.to_numpy(dtype=float)
        delay = first_alarm_delay(fired, day)
        quiet = fired[(index >= lo) & (index < hi)]
        rows.append(
            {
                "detector": str(detector),
                "change": str(change),
                "change_day": day,
                "first_alarm": day + delay if not math.isnan(delay) else math.nan,
                "days_to_detect": delay,
                "false_alarms": int(quiet.sum()),
            }
        )
    return DetectionReport(table=pd.DataFrame(rows))


# --------------------------------------------------------------------------------------------
# Retraining after a shift: recent, all, or importance-weighted data, on an equal budget
# --------------------------------------------------------------------------------------------


def excess_log_loss(true_p: Any, predicted: Any) -> float:
    """Mean KL divergence ``KL(p || q)`` of Bernoulli outcomes, in nats: the log loss a model
    pays beyond that of the true probabilities.

    Parameters
    ----------
    true_p : array-like of float
        The true probability of each row (a simulator knows it), in [0, 1].
    predicted : array-like of float
        The model's probability for each row, in [0, 1] (clipped to [1e-9, 1 - 1e-9]).

    Returns
    -------
    float
        >= 0; 0 when the model predicts the true probability of every row.

    Raises
    ------
    ParameterError
        If the arrays differ in length or a value is outside [0, 1].

    Examples
    --------
    >>> excess_log_loss([0.1, 0.5], [0.1, 0.5])
    0.0
    >>> round(excess_log_loss([0.1], [0.2]), 4)
    0.0367
    """
    owner = "excess_log_loss"
    p = check_array("true_p", true_p, ndim=1, dtype=float, owner=owner)
    q = check_array("predicted", predicted, ndim=1, dtype=float, owner=owner)
    check_same_length(true_p=p, predicted=q, owner=owner)
    for name, values in (("true_p", p), ("predicted", q)):
        if not ((values >= 0) & (values <= 1)).all():
            raise ParameterError(f"{owner}: {name} must be probabilities in [0, 1]")
    q = np.clip(q, 1e-9, 1 - 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        yes = np.where(p > 0, p * np.log(p / q), 0.0)
        no = np.where(p < 1, (1 - p) * np.log((1 - p) / (1 - q)), 0.0)
    return float(max(0.0, np.mean(yes + no)))


@dataclass(frozen=True, repr=False)
class RetrainingComparison(Report):
    """The result of :func:`compare_retraining`: one row per training set.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by ``trained_on`` (:data:`RETRAIN_ON`), with ``rows`` (the training budget,
        equal for all), ``effective_rows`` (Kish's effective sample size of the weights; the
        rows themselves when unweighted), ``days`` (the span of days the rows come from),
        ``excess_log_loss`` (nats, on the evaluation rows) and ``predicted_rate`` beside
        ``true_rate`` (mean predicted and mean true probability there).
    domain_auc : float
        Out-of-fold AUC of the domain classifier behind the weights: 0.5 when the inputs did
        not move, near 1 when the new inputs barely overlap the old.
    """

    table: pd.DataFrame
    domain_auc: float

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table."""
        return self.table.copy()

    def loss(self, trained_on: str) -> float:
        """The excess log loss of the model trained on ``trained_on``."""
        return float(self.table.loc[trained_on, "excess_log_loss"])

    def __repr__(self) -> str:
        return f"RetrainingComparison(domain AUC {self.domain_auc:.3f})\n{self.table.to_string()}"


def compare_retraining(
    X_history: pd.DataFrame,
    y_history: Any,
    history_days: Any,
    *,
    target_X: pd.DataFrame,
    eval_X: pd.DataFrame,
    eval_p: Any,
    recent_days: float,
    model: Any = None,
    domain_classifier: Any = None,
    clip: float | None = 20.0,
    seed: Seed = 0,
) -> RetrainingComparison:
    """Retrain on recent rows, on all rows, or on importance-weighted rows, on an equal budget.

    The *recent* set is every labelled row of the last ``recent_days`` days of the history;
    its size ``n`` is the budget. The *all* set is a uniform sample of ``n`` rows of the whole
    history (so each fit sees as many rows, from different periods). The *all, weighted* set is
    the same sample with importance weights towards ``target_X``, the new, unlabelled inputs
    (:func:`mlsys_kit.monitoring.shifts.covariate_shift_weights`). Each model is scored on the
    evaluation rows against their true probabilities (:func:`excess_log_loss`).

    Parameters
    ----------
    X_history : pandas.DataFrame
        Numeric inputs of the labelled history (numbers or booleans).
    y_history : array-like of bool
        Labels of the history rows.
    history_days : array-like of float
        When each history row happened, in days.
    target_X : pandas.DataFrame
        Inputs of the new data, known without labels (same columns): the weights' target.
    eval_X : pandas.DataFrame
        Inputs of the evaluation rows (same columns).
    eval_p : array-like of float
        True probability of each evaluation row.
    recent_days : float
        Days of the most recent history that make the *recent* set (> 0).
    model : scikit-learn classifier, optional
        Fitted with ``sample_weight`` routed to its last step when weighted. Default:
        standardisation then logistic regression.
    domain_classifier : scikit-learn classifier, optional
        The domain classifier of the weights (see ``covariate_shift_weights``).
    clip : float or None, default 20.0
        Largest weight, in multiples of the mean weight.
    seed : int or numpy.random.Generator, default 0
        Seeds the uniform sample and the weights' folds.

    Returns
    -------
    RetrainingComparison

    Raises
    ------
    ParameterError
        If inputs are not DataFrames with the same columns, lengths differ, ``recent_days``
        is not positive, or the recent window holds fewer than 20 rows or a single class.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> days = np.sort(rng.uniform(0, 100, 4_000))
    >>> X = pd.DataFrame({"x": rng.normal(size=4_000)})
    >>> slope = np.where(days < 50, 2.0, -2.0)  # the concept flips on day 50
    >>> y = rng.random(4_000) < 1 / (1 + np.exp(-slope * X["x"]))
    >>> new = pd.DataFrame({"x": rng.normal(size=2_000)})
    >>> p_new = 1 / (1 + np.exp(2.0 * new["x"]))
    >>> result = compare_retraining(X, y, days, target_X=new, eval_X=new, eval_p=p_new,
    ...                             recent_days=30, seed=0)
    >>> result.loss("recent") < result.loss("all")
    True
    """
    compared = _compare_retraining(
        {"model": model},
        X_history,
        y_history,
        history_days,
        target_X=target_X,
        eval_X=eval_X,
        eval_p=eval_p,
        recent_days=recent_days,
        domain_classifier=domain_classifier,
        clip=clip,
        seed=seed,
        owner="compare_retraining",
    )
    return compared["model"]


def compare_retraining_models(
    X_history: pd.DataFrame,
    y_history: Any,
    history_days: Any,
    *,
    models: Mapping[str, Any],
    target_X: pd.DataFrame,
    eval_X: pd.DataFrame,
    eval_p: Any,
    recent_days: float,
    domain_classifier: Any = None,
    clip: float | None = 20.0,
    seed: Seed = 0,
) -> dict[str, RetrainingComparison]:
    """:func:`compare_retraining` for several models, on one sample and one set of weights.

    Each model is retrained on the same three training sets: the uniform sample is drawn and
    the importance weights are fitted once, not once per model. The result for each model is
    the one :func:`compare_retraining` gives it with the same ``seed``; the domain classifier,
    the costliest fit when the models are small, runs once.

    Parameters
    ----------
    models : mapping of str to scikit-learn classifier
        The models, by name (at least one); ``None`` stands for the default model.
    X_history, y_history, history_days, target_X, eval_X, eval_p, recent_days, \
domain_classifier, clip, seed
        As in :func:`compare_retraining`.

    Returns
    -------
    dict of str to RetrainingComparison
        By model name, in the order of ``models``.

    Raises
    ------
    ParameterError
        If ``models`` is not a non-empty mapping, or as :func:`compare_retraining` does.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> days = np.sort(rng.uniform(0, 100, 4_000))
    >>> X = pd.DataFrame({"x": rng.normal(size=4_000)})
    >>> y = rng.random(4_000) < 1 / (1 + np.exp(-2.0 * X["x"]))
    >>> new = pd.DataFrame({"x": rng.normal(1.0, 1.0, size=2_000)})
    >>> p_new = 1 / (1 + np.exp(-2.0 * new["x"]))
    >>> compared = compare_retraining_models(
    ...     X, y, days, models={"logistic": None, "stump": DecisionTreeClassifier(max_depth=1)},
    ...     target_X=new, eval_X=new, eval_p=p_new, recent_days=30, seed=0)
    >>> list(compared)
    ['logistic', 'stump']
    >>> compared["logistic"].domain_auc == compared["stump"].domain_auc
    True
    """
    owner = "compare_retraining_models"
    check_type("models", models, Mapping, owner=owner)
    if not models:
        raise ParameterError(f"{owner}: models must name at least one model; got an empty mapping")
    return _compare_retraining(
        dict(models),
        X_history,
        y_history,
        history_days,
        target_X=target_X,
        eval_X=eval_X,
        eval_p=eval_p,
        recent_days=recent_days,
        domain_classifier=domain_classifier,
        clip=clip,
        seed=seed,
        owner=owner,
    )


def _compare_retraining(
    models: dict[str, Any],
    X_history: pd.DataFrame,
    y_history: Any,
    history_days: Any,
    *,
    target_X: pd.DataFrame,
    eval_X: pd.DataFrame,
    eval_p: Any,
    recent_days: float,
    domain_classifier: Any,
    clip: float | None,
    seed: Seed,
    owner: str,
) -> dict[str, RetrainingComparison]:
    """The three training sets, drawn once; each model fitted on each and scored."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for name, frame in (("X_history", X_history), ("target_X", target_X), ("eval_X", eval_X)):
        check_type(name, frame, pd.DataFrame, owner=owner)
        if list(frame.columns) != list(X_history.columns):
            raise ParameterError(
                f"{owner}: {name} must have the columns of X_history "
                f"{list(X_history.columns)}; got {list(frame.columns)}"
            )
    y = check_array("y_history", y_history, ndim=1, owner=owner).astype(bool)
    t = check_array("history_days", history_days, ndim=1, dtype=float, owner=owner)
    check_same_length(X_history=X_history, y_history=y, history_days=t, owner=owner)
    p = check_array("eval_p", eval_p, ndim=1, dtype=float, owner=owner)
    check_same_length(eval_X=eval_X, eval_p=p, owner=owner)
    recent_days = check_float("recent_days", recent_days, min=0, open_min=True, owner=owner)
    rng = make_rng(seed, owner=owner)
    fold_seed = int(seed) if isinstance(seed, int) else int(rng.integers(2**31))

    recent = np.flatnonzero(t >= t.max() - recent_days)
    n = len(recent)
    if n < 20 or y[recent].all() or not y[recent].any():
        raise ParameterError(
            f"{owner}: the last recent_days={recent_days:g} days hold {n} rows with "
            f"{int(y[recent].sum())} positive(s): need at least 20 rows and both classes"
        )
    sample = np.sort(rng.choice(len(t), size=n, replace=False))
    iw = covariate_shift_weights(
        X_history.iloc[sample], target_X, classifier=domain_classifier, clip=clip, seed=fold_seed
    )
    sets = {
        "recent": (recent, None),
        "all": (sample, None),
        "all, weighted": (sample, iw.weights),
    }
    compared = {}
    for name, model in models.items():
        if model is None:
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        rows = []
        for trained_on, (rows_of, weights) in sets.items():
            q = _fit_and_predict(model, X_history.iloc[rows_of], y[rows_of], weights, eval_X)
            rows.append(
                {
                    "trained_on": trained_on,
                    "rows": n,
                    "effective_rows": n if weights is None else effective_sample_size(weights),
                    "days": f"{t[rows_of].min():.0f}–{t[rows_of].max():.0f}",
                    "excess_log_loss": excess_log_loss(p, q),
                    "predicted_rate": float(q.mean()),
                    "true_rate": float(p.mean()),
                }
            )
        table = pd.DataFrame(rows).set_index("trained_on")
        compared[name] = RetrainingComparison(table=table, domain_auc=iw.domain_auc)
    return compared


def _fit_and_predict(
    model: Any, X: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None, eval_X: pd.DataFrame
) -> np.ndarray:
    """Fit a copy of the model (weighted: through its last step); its probabilities on eval_X."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    fit = clone(model)
    fit_params = {}
    if weights is not None:
        step = fit.steps[-1][0] if isinstance(fit, Pipeline) else None
        fit_params = {f"{step}__sample_weight" if step else "sample_weight": weights}
    fit.fit(X, y, **fit_params)
    return fit.predict_proba(eval_X)[:, 1]
