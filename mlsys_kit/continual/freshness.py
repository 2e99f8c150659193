"""The value of data freshness: train on data of different ages, evaluate on the same future.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 9,
"How Often to Update Your Models": "Value of data freshness" and "Model iteration versus data
iteration".

The book's experiment: train copies of one model on data that end at different points in the
past, evaluate them all on the same future window, and read how fast quality decays with the
age of the data; that decay says how often retraining pays. Three functions run it on any
stream with event times and label arrival times (the kit's marketplace simulator has both):

* :func:`gradual_concept_drift`: a concept drift that grows a little every day (the
  simulator's drifts are steps; a staircase of them is a world that keeps moving).
* :func:`auc_by_data_age`: for each deployment day and each data age, fit a fresh model on the
  ``window_days`` of rows that end ``age`` days before deployment, using only the rows whose
  label had arrived by then, and score it on the ``test_days`` after deployment (ROC AUC,
  scikit-learn's :func:`~sklearn.metrics.roc_auc_score`).
* :func:`retrain_on_cadence`: retrain every ``d`` days over a horizon, each model serving until
  the next one, and count what it cost (fits, rows processed) against the quality served
  (AUC per evaluation window).

The models are whatever scikit-learn estimator the caller makes; the windows, the label-arrival
rule and the bookkeeping of cost are hand-written because they *are* the lesson: which rows a
team could have trained on at a given moment, and what each retraining bought.

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> from mlsys_kit.sim import risk_features, simulate
>>> market = simulate(n_transactions=30_000, days=100, seed=0,
...                   drifts=gradual_concept_drift(100, per_week=0.1, step_days=7))
>>> tx = market.transactions
>>> table = auc_by_data_age(
...     risk_features(tx), tx["is_fraud"], market.day(tx["timestamp"]),
...     market.day(tx["label_available_at"]), deploy_days=[86, 93], ages=[30, 58],
...     window_days=28, make_model=lambda: LogisticRegression(solver="newton-cholesky"))
>>> table.auc.shape
(2, 2)
>>> bool((table.gain(30, 58) > 0).all())  # the fresher data win on both test weeks
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from mlsys_kit.sim import Drift

__all__ = [
    "CadenceRuns",
    "DataAgeAUC",
    "auc_by_data_age",
    "gradual_concept_drift",
    "retrain_on_cadence",
]


def gradual_concept_drift(
    days: int, per_week: float, *, start_day: float = 0.0, step_days: float = 1.0
) -> tuple[Drift, ...]:
    """A concept drift that grows by ``per_week`` every week, in steps of ``step_days``.

    The simulator's :class:`~mlsys_kit.sim.Drift` is a step, and the last one in force wins
    (magnitudes are never compounded). A staircase of concept drifts whose magnitude rises
    linearly with time is a world that keeps moving: fraudsters adapting a little every day.

    Parameters
    ----------
    days : int
        Length of the simulation (≥ 1); steps start before it.
    per_week : float
        Growth of the concept magnitude per week (any finite number; ``0`` gives no drift).
    start_day : float, default 0.0
        Day the drift starts growing, ``0 ≤ start_day < days``.
    step_days : float, default 1.0
        Days between two steps (> 0).

    Returns
    -------
    tuple of Drift
        Concept drifts at ``start_day + step_days, start_day + 2 * step_days, ...`` (before
        ``days``), each of magnitude ``per_week * (day - start_day) / 7``; empty when
        ``per_week`` is 0.

    Raises
    ------
    mlsys_kit.params.ParameterError
        ``days`` below 1, ``per_week`` not finite, ``start_day`` out of ``[0, days)`` or
        ``step_days`` not positive.

    Examples
    --------
    >>> [(d.start_day, d.magnitude) for d in gradual_concept_drift(3, per_week=7)]
    [(1.0, 1.0), (2.0, 2.0)]
    >>> len(gradual_concept_drift(90, per_week=0.1)), gradual_concept_drift(90, per_week=0)
    (89, ())
    """
    owner = "gradual_concept_drift"
    days = check_int("days", days, min=1, owner=owner)
    per_week = check_float("per_week", per_week, owner=owner)
    start_day = check_float("start_day", start_day, min=0, max=days, open_max=True, owner=owner)
    step_days = check_float("step_days", step_days, min=0, open_min=True, owner=owner)
    if per_week == 0:
        return ()
    steps = np.arange(start_day + step_days, days, step_days)
    return tuple(Drift("concept", float(s), per_week * float(s - start_day) / 7) for s in steps)


@dataclass(frozen=True)
class DataAgeAUC(Report):
    """AUC on the same future windows of models trained on data of different ages.

    Attributes
    ----------
    deploy_days : tuple of float
        The deployment days; model ``(i, j)`` is scored on ``[deploy_days[i],
        deploy_days[i] + test_days)``.
    ages : tuple of float
        Data ages, in days: the training rows end ``age`` days before deployment.
    auc : numpy.ndarray
        Shape ``(len(deploy_days), len(ages))``: ROC AUC of each model on its test window
        (NaN when the test window holds one class only).
    rows : numpy.ndarray
        Same shape: the rows each model was trained on.
    unlabelled : numpy.ndarray
        Same shape: the rows of each training window left out because their label had not
        arrived by deployment.
    """

    deploy_days: tuple[float, ...]
    ages: tuple[float, ...]
    auc: np.ndarray
    rows: np.ndarray
    unlabelled: np.ndarray

    def gain(self, fresh_age: float, stale_age: float) -> np.ndarray:
        """Per deployment day, the AUC of the ``fresh_age`` model minus the ``stale_age`` one.

        Raises
        ------
        mlsys_kit.params.ParameterError
            An age that is not one of :attr:`ages`.
        """
        return self.auc[:, self._column(fresh_age)] - self.auc[:, self._column(stale_age)]

    def _column(self, age: float) -> int:
        return self.ages.index(check_choice("age", age, self.ages, owner="DataAgeAUC.gain"))

    def to_frame(self) -> pd.DataFrame:
        """Per data age: mean, lowest and highest AUC over the deployment days, mean rows."""
        with np.errstate(invalid="ignore"):
            return pd.DataFrame(
                {
                    "mean AUC": np.nanmean(self.auc, axis=0),
                    "lowest": np.nanmin(self.auc, axis=0),
                    "highest": np.nanmax(self.auc, axis=0),
                    "rows trained on": self.rows.mean(axis=0),
                    "rows unlabelled": self.unlabelled.mean(axis=0),
                },
                index=pd.Index(self.ages, name="data age (days)"),
            )


@dataclass(frozen=True)
class CadenceRuns(Report):
    """Retraining every ``d`` days over a horizon: what it cost and the quality it served.

    Attributes
    ----------
    cadences : tuple of float
        Days between two retrainings, one per row of the arrays.
    window_starts : tuple of float
        Start day of each evaluation window (one column of :attr:`auc` each).
    auc : numpy.ndarray
        Shape ``(len(cadences), len(window_starts))``: the AUC of the scores served in each
        window (each row scored by the model in service at its time).
    fits : numpy.ndarray
        Retrainings over the horizon, per cadence.
    rows_processed : numpy.ndarray
        Training rows summed over those fits (rows × fits): the compute spent.
    scores : numpy.ndarray
        Shape ``(n_rows, len(cadences))``: the score each cadence's model in service gave
        each row of the evaluation windows.
    labels : numpy.ndarray
        Those rows' labels (0/1).
    window : numpy.ndarray
        Those rows' evaluation window (an index into :attr:`window_starts`).
    """

    cadences: tuple[float, ...]
    window_starts: tuple[float, ...]
    auc: np.ndarray
    fits: np.ndarray
    rows_processed: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    window: np.ndarray

    def bootstrap_mean_auc(self, *, n_boot: int = 1000, seed: Seed = 0) -> np.ndarray:
        """The mean AUC over the windows, per cadence, on paired, stratified bootstrap resamples.

        Each window's positives and negatives are resampled separately (a stratified
        bootstrap: every resample keeps the window's class counts, so no resample of a window
        with few frauds loses its AUC to a missing class), every cadence scored on the same
        resample; a resample's value is the mean of its windows' AUCs. The spread of a
        difference between two columns is the test-set noise of that difference on this
        horizon: the models are fixed, and the stream is the one given.

        Parameters
        ----------
        n_boot : int, default 1000
            Resamples (≥ 1).
        seed : int or numpy.random.Generator, default 0
            Draws the resamples.

        Returns
        -------
        numpy.ndarray of shape (n_boot, len(cadences))

        Raises
        ------
        mlsys_kit.params.ParameterError
            When ``n_boot < 1``, or no evaluation window holds both classes.
        """
        owner = "CadenceRuns.bootstrap_mean_auc"
        n_boot = check_int("n_boot", n_boot, min=1, owner=owner)
        rng = make_rng(seed, owner=owner)
        per_window = []
        for w in range(len(self.window_starts)):
            rows = self.window == w
            positive = self.labels[rows].astype(bool)
            if positive.any() and not positive.all():
                scores = self.scores[rows]
                per_window.append(
                    _stratified_bootstrap_auc(
                        scores[positive], scores[~positive], n_boot=n_boot, rng=rng
                    )
                )
        if not per_window:
            raise ParameterError(f"{owner}: no evaluation window holds both classes")
        return np.mean(np.stack(per_window), axis=0)

    def gain(self, often: float, rarely: float) -> np.ndarray:
        """Per evaluation window, the AUC served at cadence ``often`` minus at ``rarely``.

        Raises
        ------
        mlsys_kit.params.ParameterError
            A cadence that is not one of :attr:`cadences`.
        """
        return self.auc[self._row(often)] - self.auc[self._row(rarely)]

    def best_within(self, max_rows: float) -> float | None:
        """The cadence with the highest mean AUC among those processing at most ``max_rows``.

        Returns ``None`` when no cadence fits the budget.
        """
        max_rows = check_float("max_rows", max_rows, min=0, owner="CadenceRuns.best_within")
        mean = np.nanmean(self.auc, axis=1)
        affordable = np.flatnonzero(self.rows_processed <= max_rows)
        if not len(affordable):
            return None
        return self.cadences[int(affordable[np.argmax(mean[affordable])])]

    def _row(self, cadence: float) -> int:
        return self.cadences.index(
            check_choice("cadence", cadence, self.cadences, owner="CadenceRuns.gain")
        )

    def to_frame(self) -> pd.DataFrame:
        """Per cadence: fits, rows processed, and the mean AUC served over the windows."""
        return pd.DataFrame(
            {
                "fits": self.fits,
                "rows processed": self.rows_processed,
                "mean AUC": np.nanmean(self.auc, axis=1),
            },
            index=pd.Index(self.cadences, name="retrain every (days)"),
        )


def auc_by_data_age(
    features: Any,
    labels: Any,
    event_day: Any,
    label_day: Any,
    *,
    deploy_days: Sequence[float],
    ages: Sequence[float],
    window_days: float,
    make_model: Callable[[], Any],
    test_days: float = 7.0,
) -> DataAgeAUC:
    """Train one model per deployment day and data age; score all on the same test windows.

    Model ``(i, j)`` is deployed on day ``D = deploy_days[i]``. It is trained on the rows whose
    event day is in ``[D - ages[j] - window_days, D - ages[j])`` **and whose label had arrived
    by** ``D`` (``label_day <= D``): what a team could have trained on that day. It is scored on
    the rows of ``[D, D + test_days)``. To see what the label delay costs, pass
    ``label_day=event_day`` (every label known at once: an oracle no team has).

    Parameters
    ----------
    features : array-like of shape (n_rows, n_features)
        Model inputs (a DataFrame is read as its values).
    labels : array-like of 0/1 or bool, shape (n_rows,)
    event_day, label_day : array-like of float, shape (n_rows,)
        When each row happened and when its label arrived, in days (e.g.
        ``market.day(tx["timestamp"])`` and ``market.day(tx["label_available_at"])``).
    deploy_days : sequence of float
        Deployment days, at least one.
    ages : sequence of float
        Data ages in days (≥ 0), at least one, distinct.
    window_days : float
        Length of every training window, in days (> 0).
    make_model : callable
        Returns a fresh scikit-learn classifier (``fit``, then ``decision_function`` or
        ``predict_proba``).
    test_days : float, default 7.0
        Length of the test window after each deployment day (> 0).

    Returns
    -------
    DataAgeAUC
        AUC, training rows and left-out unlabelled rows per deployment day and age.

    Raises
    ------
    mlsys_kit.params.ParameterError
        Mismatched lengths, non-binary labels, an empty or repeated ``ages``, a negative age,
        no deployment day, a non-positive window, ``make_model`` not callable, or a training
        window that holds one class only (too few rows, or labels not yet arrived).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> day = np.sort(rng.uniform(0, 60, 6000))
    >>> x = rng.normal(size=(6000, 1))
    >>> y = rng.random(6000) < 1 / (1 + np.exp(-x[:, 0] * np.where(day < 30, 2, -2)))
    >>> table = auc_by_data_age(x, y, day, day, deploy_days=[50], ages=[0, 30],
    ...                         window_days=20, make_model=LogisticRegression)
    >>> bool(table.gain(0, 30)[0] > 0.5)  # the rule flipped on day 30
    True
    """
    owner = "auc_by_data_age"
    x, y, event, arrived = _stream(features, labels, event_day, label_day, owner=owner)
    deploys = check_array(
        "deploy_days", deploy_days, ndim=1, min_length=1, dtype=float, owner=owner
    )
    age = check_array("ages", ages, ndim=1, min_length=1, dtype=float, finite=True, owner=owner)
    if (age < 0).any() or len(np.unique(age)) != len(age):
        raise ParameterError(f"{owner}: ages must be distinct and ≥ 0; got {age.tolist()!r}")
    window_days = check_float("window_days", window_days, min=0, open_min=True, owner=owner)
    test_days = check_float("test_days", test_days, min=0, open_min=True, owner=owner)
    make_model = _factory(make_model, owner)

    shape = (len(deploys), len(age))
    auc, rows, unlabelled = np.full(shape, np.nan), np.zeros(shape, int), np.zeros(shape, int)
    for i, deploy in enumerate(deploys):
        test = (event >= deploy) & (event < deploy + test_days)
        for j, a in enumerate(age):
            window = (event >= deploy - a - window_days) & (event < deploy - a)
            train = window & (arrived <= deploy)
            model = _fit(
                make_model,
                x[train],
                y[train],
                f"[{deploy - a - window_days:g}, {deploy - a:g}) for deployment on day {deploy:g}",
                owner,
            )
            auc[i, j] = _auc(y[test], _score(model, x[test]))
            rows[i, j], unlabelled[i, j] = train.sum(), (window & ~train).sum()
    return DataAgeAUC(
        deploy_days=tuple(float(d) for d in deploys),
        ages=tuple(float(a) for a in age),
        auc=auc,
        rows=rows,
        unlabelled=unlabelled,
    )


def retrain_on_cadence(
    features: Any,
    labels: Any,
    event_day: Any,
    label_day: Any,
    *,
    cadences: Sequence[float],
    start_day: float,
    end_day: float,
    lag_days: float,
    window_days: float,
    make_model: Callable[[], Any],
    eval_days: float = 7.0,
) -> CadenceRuns:
    """Retrain every ``d`` days from ``start_day`` to ``end_day``; score what each model served.

    For each cadence ``d``, a model is trained on days ``t = start_day, start_day + d, ...``
    (before ``end_day``) on the rows whose event day is in ``[t - lag_days - window_days,
    t - lag_days)`` and whose label had arrived by ``t``, and it serves (scores) the rows of
    ``[t, t + d)``. The served scores are evaluated per window of ``eval_days`` from
    ``start_day`` on, the same windows for every cadence. Every fit processes one window of
    rows, so the compute of a cadence is its fits times those rows (:attr:`CadenceRuns.
    rows_processed`).

    Parameters
    ----------
    features, labels, event_day, label_day
        As in :func:`auc_by_data_age`.
    cadences : sequence of float
        Days between retrainings, each > 0, at least one.
    start_day, end_day : float
        The horizon ``[start_day, end_day)``; ``end_day > start_day``.
    lag_days : float
        Days between the end of the training rows and the retraining (≥ 0): the chargeback
        window when only matured labels may be used.
    window_days : float
        Days of rows each fit trains on (> 0).
    make_model : callable
        Returns a fresh scikit-learn classifier.
    eval_days : float, default 7.0
        Length of the evaluation windows (> 0); a last, shorter window is dropped.

    Returns
    -------
    CadenceRuns
        Fits, rows processed and AUC per evaluation window, per cadence.

    Raises
    ------
    mlsys_kit.params.ParameterError
        Bad stream arrays (as in :func:`auc_by_data_age`), no or a non-positive cadence, an
        empty horizon, a negative lag, a horizon shorter than one evaluation window, or a
        training window with one class only.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(1)
    >>> day = np.sort(rng.uniform(0, 80, 8000))
    >>> x = rng.normal(size=(8000, 1))
    >>> slope = np.where(day < 50, 2.0, -2.0)  # the rule flips on day 50
    >>> y = rng.random(8000) < 1 / (1 + np.exp(-x[:, 0] * slope))
    >>> runs = retrain_on_cadence(x, y, day, day, cadences=[2, 28], start_day=50, end_day=78,
    ...                           lag_days=0, window_days=4, make_model=LogisticRegression)
    >>> runs.fits.tolist()
    [14, 1]
    >>> bool(runs.gain(2, 28).mean() > 0.3)
    True
    """
    owner = "retrain_on_cadence"
    x, y, event, arrived = _stream(features, labels, event_day, label_day, owner=owner)
    cadence = check_array("cadences", cadences, ndim=1, min_length=1, dtype=float, owner=owner)
    if not (np.isfinite(cadence).all() and (cadence > 0).all()):
        raise ParameterError(f"{owner}: every cadence must be > 0 days; got {cadence.tolist()!r}")
    start_day = check_float("start_day", start_day, owner=owner)
    end_day = check_float("end_day", end_day, min=start_day, open_min=True, owner=owner)
    lag_days = check_float("lag_days", lag_days, min=0, owner=owner)
    window_days = check_float("window_days", window_days, min=0, open_min=True, owner=owner)
    eval_days = check_float(
        "eval_days", eval_days, min=0, max=end_day - start_day, open_min=True, owner=owner
    )
    make_model = _factory(make_model, owner)

    n_windows = int((end_day - start_day) // eval_days)
    starts = start_day + eval_days * np.arange(n_windows)
    in_horizon = (event >= start_day) & (event < starts[-1] + eval_days)
    window_of = np.floor((event - start_day) / eval_days).astype(int)
    auc = np.full((len(cadence), n_windows), np.nan)
    fits, processed = np.zeros(len(cadence), int), np.zeros(len(cadence), int)
    scores = np.full((int(in_horizon.sum()), len(cadence)), np.nan)
    for k, d in enumerate(cadence):
        served = np.full(len(y), np.nan)
        for t in np.arange(start_day, end_day, d):
            train = (event >= t - lag_days - window_days) & (event < t - lag_days) & (arrived <= t)
            model = _fit(make_model, x[train], y[train], f"retraining on day {t:g}", owner)
            serve = (event >= t) & (event < min(t + d, end_day))
            if serve.any():
                served[serve] = _score(model, x[serve])
            fits[k] += 1
            processed[k] += train.sum()
        for w in range(n_windows):
            rows = in_horizon & (window_of == w)
            auc[k, w] = _auc(y[rows], served[rows])
        scores[:, k] = served[in_horizon]
    return CadenceRuns(
        cadences=tuple(float(c) for c in cadence),
        window_starts=tuple(float(s) for s in starts),
        auc=auc,
        fits=fits,
        rows_processed=processed,
        scores=scores,
        labels=y[in_horizon],
        window=window_of[in_horizon],
    )


def _stream(
    features: Any, labels: Any, event_day: Any, label_day: Any, *, owner: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The stream's arrays, checked: features 2-D, binary labels, finite days, same lengths."""
    x = check_array("features", features, ndim=2, min_length=1, dtype=float, owner=owner)
    y = check_array("labels", labels, ndim=1, owner=owner)
    if not np.isin(y, (0, 1)).all():
        raise ParameterError(f"{owner}: labels must be bool or 0/1")
    event = check_array("event_day", event_day, ndim=1, dtype=float, finite=True, owner=owner)
    arrived = check_array("label_day", label_day, ndim=1, dtype=float, finite=True, owner=owner)
    check_same_length(features=x, labels=y, event_day=event, label_day=arrived, owner=owner)
    if (arrived < event).any():
        raise ParameterError(
            f"{owner}: a label cannot arrive before its event; some label_day < event_day"
        )
    return x, y.astype(int), event, arrived


def _factory(make_model: Any, owner: str) -> Callable[[], Any]:
    if not callable(make_model):
        raise ParameterError(
            f"{owner}: make_model must be a callable that returns a fresh classifier (e.g."
            f" LogisticRegression); got {type(make_model).__name__}"
        )
    return make_model


def _fit(
    make_model: Callable[[], Any], x: np.ndarray, y: np.ndarray, where: str, owner: str
) -> Any:
    if len(np.unique(y)) < 2:
        raise ParameterError(
            f"{owner}: the training rows of {where} hold {len(y)} labelled row(s) of one class"
            " only; use more rows per day, a longer window or an older data age"
        )
    return make_model().fit(x, y)


def _score(model: Any, x: np.ndarray) -> np.ndarray:
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(x), dtype=float)
    return np.asarray(model.predict_proba(x), dtype=float)[:, 1]


_RESAMPLES_PER_BLOCK = 250  # keeps a block's count matrices small (resamples × rows)


def _stratified_bootstrap_auc(
    positives: np.ndarray, negatives: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """AUC of each model (column) on resamples drawing positives and negatives separately.

    ``positives`` and ``negatives`` are the scores, shape ``(n, n_models)``; both kinds are
    resampled with replacement at their own count, once per resample for every model (paired).
    """
    out = np.empty((n_boot, positives.shape[1]))
    for start in range(0, n_boot, _RESAMPLES_PER_BLOCK):
        size = min(_RESAMPLES_PER_BLOCK, n_boot - start)
        weights_pos = _resample_counts(len(positives), size, rng)
        weights_neg = _resample_counts(len(negatives), size, rng)
        out[start : start + size] = _weighted_auc(positives, negatives, weights_pos, weights_neg)
    return out


def _resample_counts(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Shape ``(size, n)``: how often each of ``n`` rows is drawn, in ``size`` resamples of n."""
    draws = rng.integers(0, n, size=(size, n), dtype=np.int64) + (np.arange(size) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(np.int32)


def _weighted_auc(
    positives: np.ndarray, negatives: np.ndarray, weights_pos: np.ndarray, weights_neg: np.ndarray
) -> np.ndarray:
    """ROC AUC of each model with integer row weights (one row per resample), ties one half.

    ``positives`` ``(n_pos, n_models)`` and ``negatives`` ``(n_neg, n_models)`` are the scores;
    the weights are counts, ``(n_resamples, n_pos)`` and ``(n_resamples, n_neg)``. Per model,
    the negatives' weights are summed cumulatively in score order, and each positive reads how
    much weight lies below and level with it. Integer arithmetic throughout, so the result is
    exact whatever the platform. Returns ``(n_resamples, n_models)``.
    """
    n_neg, n_models = negatives.shape
    order = np.argsort(negatives, axis=0, kind="stable")  # (n_neg, n_models)
    by_score = weights_neg[:, order.T.ravel()].reshape(len(weights_neg), n_models, n_neg)
    cumulative = np.zeros((len(weights_neg), n_models, n_neg + 1), dtype=np.int32)
    np.cumsum(by_score, axis=2, dtype=np.int32, out=cumulative[:, :, 1:])
    out = np.empty((len(weights_neg), n_models))
    pairs = weights_pos.sum(axis=1, dtype=np.int64) * weights_neg.sum(axis=1, dtype=np.int64)
    for j in range(n_models):
        sorted_neg = negatives[order[:, j], j]
        below = np.searchsorted(sorted_neg, positives[:, j], side="left")
        upto = np.searchsorted(sorted_neg, positives[:, j], side="right")
        halves = cumulative[:, j, below] + cumulative[:, j, upto]  # 2·below + tied
        out[:, j] = (weights_pos * halves).sum(axis=1, dtype=np.int64) / (2 * pairs)
    return out


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC, NaN when the rows hold one class only (or none)."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, score))
