"""Stateless retraining against stateful training, in one continual-learning loop with a gate.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 9,
"Continual Learning": "Stateless Retraining Versus Stateful Training", "Four Stages of
Continual Learning" (stage 2, automated retraining, against stage 3, automated stateful
training) and "Continual Learning Challenges" (the evaluation challenge: test an update before
deploying it). An automated update is one loop of four steps: scheduling, data, training and
evaluation.

:func:`run_continual_loop` replays a simulated marketplace (:func:`mlsys_kit.sim.simulate`) as
a production team would live it, one update every ``period_days`` days:

1. **scheduling**: an update runs at ``first_day``, ``first_day + period_days``, ... while the
   simulation lasts;
2. **data**: it reads the labels that have *arrived* by then (a fraud's chargeback after about
   a week, a legitimate purchase's once the 30-day chargeback window closes), never the event's
   true label; a share ``holdout_share`` of the rows is kept out of every training set, for
   evaluation;
3. **training**: **stateless** retraining fits a new model from scratch on the labels that
   arrived in the last ``window_days``; **stateful** training fine-tunes the deployed model on
   the labels that arrived since the last update only. Both are the same learner,
   scikit-learn's :class:`~sklearn.linear_model.SGDClassifier` (logistic loss, a constant
   learning rate) trained by ``partial_fit`` for ``epochs`` passes over its rows: the only
   difference is whether it starts from scratch or from its previous state;
4. **evaluation**: a gate scores the candidate and the deployed model on fresh labelled
   holdout rows (those whose labels arrived in the last ``gate_days``), never trained on, and
   refuses a candidate whose AUC there is below the deployed model's by more than
   ``gate_tolerance``, or that it cannot judge (no fraud, or no legitimate purchase, in that
   sample). A refused candidate is discarded; a stateful learner fine-tunes the deployed model
   next time. The tolerance is a point rule on purpose: a few dozen frauds measure an AUC only
   to a few hundredths, so a gate also refuses some healthy candidates, and the notebook
   counts them.

The model then serves the next ``period_days`` days, and its quality there is measured in
hindsight, once every label has arrived: the AUC of its scores on all of that period's
purchases. The compute each update spends is counted as rows processed (rows times passes).
``corrupted_update`` inverts the labels of one update's training rows (a bug in the training
job's label join), to show what the gate is for.

The learner and its training are scikit-learn's; the loop is hand-written because it *is* the
lesson: what each strategy reads, what it keeps, and what reaches production. The loop's AUCs
(about a hundred per replay) are :func:`mlsys_kit.stats.rank_auc`, the rank-sum formula:
:func:`sklearn.metrics.roc_auc_score`'s input checks would cost more than the replay's training.

Examples
--------
>>> from mlsys_kit.sim import simulate
>>> market = simulate(n_transactions=8_000, seed=0)
>>> run = run_continual_loop(market, strategy="stateful", seed=0)
>>> run.day[:3].tolist()
[35.0, 42.0, 49.0]
>>> bool(run.to_frame()["served AUC"].mean() > 0.7)
True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    check_type,
    make_rng,
)
from mlsys_kit.results import Report
from mlsys_kit.stats import rank_auc

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from sklearn.linear_model import SGDClassifier

    from mlsys_kit.sim import Marketplace

__all__ = [
    "RETRAINING_STRATEGIES",
    "RetrainingRun",
    "run_continual_loop",
    "sgd_learner",
    "train_passes",
]

#: The two ways to update a model: a new one from scratch, or the deployed one fine-tuned.
RETRAINING_STRATEGIES = ("stateless", "stateful")


@dataclass(frozen=True)
class RetrainingRun(Report):
    """One replay of the continual-learning loop: what each update did and how it served.

    Attributes
    ----------
    strategy : str
        ``"stateless"`` or ``"stateful"``.
    gated : bool
        Whether the evaluation gate could refuse a candidate.
    day : numpy.ndarray
        Day of each update (days since the simulation start); the model it leaves in
        production serves until the next update.
    rows_processed : numpy.ndarray
        Training rows times passes spent by each update (int).
    deployed : numpy.ndarray
        Whether each update's candidate went to production (bool).
    gate_gap : numpy.ndarray
        The candidate's AUC minus the deployed model's on the gate's fresh holdout rows;
        NaN when no gate ran (the first update, an ungated loop, or a sample without both
        classes).
    served_auc : numpy.ndarray
        AUC of the model in production over the period after each update, on all of that
        period's purchases, with every label known in hindsight; NaN when no model served or
        the period holds one class only.
    corrupted : numpy.ndarray
        Whether the update trained on inverted labels (bool).
    """

    strategy: str
    gated: bool
    day: np.ndarray
    rows_processed: np.ndarray
    deployed: np.ndarray
    gate_gap: np.ndarray
    served_auc: np.ndarray
    corrupted: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per update: its day, rows processed, the gate's decision, the quality served."""
        return pd.DataFrame(
            {
                "day": self.day,
                "rows processed": self.rows_processed,
                "corrupted": self.corrupted,
                "gate gap": self.gate_gap,
                "deployed": self.deployed,
                "served AUC": self.served_auc,
            }
        )


def sgd_learner(*, learning_rate: float = 0.03, seed: Seed = 0) -> SGDClassifier:
    """A fresh logistic-regression learner trained by stochastic gradient descent.

    scikit-learn's :class:`~sklearn.linear_model.SGDClassifier` with the logistic loss, a
    small L2 penalty (``alpha=1e-4``) and a *constant* learning rate: with scikit-learn's
    default ("optimal", decaying with every row ever seen) a model fine-tuned for months
    would learn almost nothing from new data.

    Parameters
    ----------
    learning_rate : float, default 0.03
        The step size ``eta0``, > 0.
    seed : int or numpy.random.Generator, default 0
        Seeds the learner's ``random_state``.

    Returns
    -------
    sklearn.linear_model.SGDClassifier
        Unfitted; train it with :func:`train_passes`.

    Raises
    ------
    mlsys_kit.params.ParameterError
        ``learning_rate`` not > 0.

    Examples
    --------
    >>> sgd_learner(learning_rate=0.05).eta0
    0.05
    """
    from sklearn.linear_model import SGDClassifier

    owner = "sgd_learner"
    rate = check_float("learning_rate", learning_rate, min=0, open_min=True, owner=owner)
    state = int(make_rng(seed, owner=owner).integers(2**31 - 1))
    return SGDClassifier(
        loss="log_loss", alpha=1e-4, learning_rate="constant", eta0=rate, random_state=state
    )


def train_passes(model: SGDClassifier, X: Any, y: Any, *, epochs: int = 5) -> SGDClassifier:
    """Train ``model`` in place by ``epochs`` passes of ``partial_fit`` over the rows.

    A fresh model (:func:`sgd_learner`) is trained from scratch; a fitted one is fine-tuned,
    starting from its current weights. Either way the compute is ``epochs * len(y)`` rows.
    The passes are one ``partial_fit`` call on the rows repeated ``epochs`` times, which the
    learner shuffles (its ``random_state``): the same gradient steps as ``epochs`` calls,
    without paying scikit-learn's input checks at every pass.

    Parameters
    ----------
    model : sklearn.linear_model.SGDClassifier
        The learner, fresh or fitted (its classes must be 0 and 1).
    X : array-like of shape (n_rows, n_features)
        Features, finite.
    y : array-like of 0/1, shape (n_rows,)
        Labels; one class only is allowed (a batch may hold no fraud).
    epochs : int, default 5
        Passes over the rows (≥ 1).

    Returns
    -------
    sklearn.linear_model.SGDClassifier
        ``model``, trained.

    Raises
    ------
    mlsys_kit.params.ParameterError
        ``model`` not an ``SGDClassifier``, ``X`` not a finite matrix, no rows, lengths that
        differ, labels other than 0/1, or ``epochs < 1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> y = (X[:, 0] + rng.normal(0, 0.5, 500) > 0).astype(int)
    >>> model = train_passes(sgd_learner(), X, y, epochs=3)
    >>> bool(model.coef_[0, 0] > abs(model.coef_[0, 1]))
    True
    """
    from sklearn.linear_model import SGDClassifier

    owner = "train_passes"
    check_type("model", model, SGDClassifier, owner=owner)
    epochs = check_int("epochs", epochs, min=1, owner=owner)
    features = check_array("X", X, ndim=2, min_length=1, dtype=float, finite=True, owner=owner)
    labels = check_array("y", y, ndim=1, owner=owner)
    check_same_length(X=features, y=labels, owner=owner)
    if not np.isin(labels, (0, 1)).all():
        raise ParameterError(f"{owner}: y must hold 0/1 labels only; got {np.unique(labels)!r}")
    repeated = np.tile(features, (epochs, 1))
    model.partial_fit(repeated, np.tile(labels.astype(np.int64), epochs), classes=np.array([0, 1]))
    return model


@dataclass(frozen=True)
class _LabelStream:
    """The data stage: features, labels, and when each label arrives, in days."""

    X: np.ndarray
    y: np.ndarray
    event_day: np.ndarray
    label_day: np.ndarray
    holdout: np.ndarray

    def arrived(self, start: float, end: float, *, holdout: bool) -> np.ndarray:
        """Rows (of the holdout, or of the training share) whose label arrived in [start, end)."""
        share = self.holdout if holdout else ~self.holdout
        return share & (self.label_day >= start) & (self.label_day < end)


def _label_stream(market: Marketplace, holdout_share: float, rng: np.random.Generator) -> Any:
    from mlsys_kit.sim import risk_features

    tx = market.transactions
    return _LabelStream(
        X=risk_features(tx).to_numpy(),
        y=tx["is_fraud"].to_numpy().astype(np.int64),
        event_day=market.day(tx["timestamp"]).to_numpy(),
        label_day=market.day(tx["label_available_at"]).to_numpy(),
        holdout=rng.random(len(tx)) < holdout_share,
    )


def _scores(model: Any, X: np.ndarray) -> np.ndarray:
    """The linear model's decision function, without scikit-learn's per-call input checks."""
    return X @ model.coef_[0] + model.intercept_[0]


def run_continual_loop(
    market: Marketplace,
    *,
    strategy: str = "stateful",
    period_days: float = 7.0,
    window_days: float = 28.0,
    first_day: float = 35.0,
    epochs: int = 5,
    learning_rate: float = 0.03,
    holdout_share: float = 0.25,
    gate: bool = True,
    gate_days: float = 14.0,
    gate_tolerance: float = 0.02,
    corrupted_update: int | None = None,
    n_updates: int | None = None,
    seed: Seed = 0,
) -> RetrainingRun:
    """Replay a marketplace through the update loop (schedule, data, train, evaluate).

    Parameters
    ----------
    market : mlsys_kit.sim.Marketplace
        The simulated marketplace, e.g. ``simulate(drifts=[Drift("concept", 63)])``.
    strategy : {"stateful", "stateless"}, default "stateful"
        Fine-tune the deployed model on the labels that arrived since the last update, or
        train a new one from scratch on those of the last ``window_days``.
    period_days : float, default 7.0
        Days between two updates (> 0): the schedule.
    window_days : float, default 28.0
        Stateless retraining's window of label arrivals (> 0); unused by stateful training.
        ``window_days == period_days`` gives a stateless update the rows of a stateful one.
    first_day : float, default 35.0
        Day of the first update (> 0), which trains both strategies from scratch on every
        label arrived by then. Legitimate purchases are labelled when their 30-day chargeback
        window closes, so an earlier start trains on fraud alone.
    epochs : int, default 5
        Passes over the training rows per update (≥ 1), for both strategies.
    learning_rate : float, default 0.03
        Constant SGD step size (> 0), see :func:`sgd_learner`.
    holdout_share : float, default 0.25
        Share of the rows never trained on and used by the gate, in ``[0, 1)``; 0 leaves the
        gate nothing to judge with, so it refuses every candidate after the first.
    gate : bool, default True
        Whether the evaluation gate may refuse a candidate; without it every candidate ships.
    gate_days : float, default 14.0
        The gate judges on the holdout rows whose labels arrived in the last ``gate_days``
        (> 0).
    gate_tolerance : float, default 0.02
        The gate refuses a candidate whose AUC on those rows is below the deployed model's by
        more than this, in ``[0, 1]``; 1 refuses only what it cannot judge.
    corrupted_update : int or None, default None
        Index (0-based) of the update whose training labels are inverted, if any.
    n_updates : int or None, default None
        Stop after this many updates (≥ 1); ``None`` runs until the simulation ends.
    seed : int or numpy.random.Generator, default 0
        The holdout draw and the learners' random states (their shuffles).

    Returns
    -------
    RetrainingRun
        One entry per update: its day, rows processed, the gate's gap and decision, and the
        AUC the production model reached on the period it served.

    Raises
    ------
    mlsys_kit.params.ParameterError
        ``market`` not a simulated marketplace, an unknown ``strategy``, a period, window or
        first day not > 0, a first day not before the simulation's end, ``epochs < 1``, a
        learning rate not > 0, a holdout share out of ``[0, 1)``, a negative
        ``corrupted_update``, or ``n_updates < 1``.

    Examples
    --------
    A training job that inverts one update's labels: the gate refuses its candidate.

    >>> from mlsys_kit.sim import simulate
    >>> market = simulate(n_transactions=15_000, seed=1)
    >>> run = run_continual_loop(market, strategy="stateless", corrupted_update=2, seed=1)
    >>> bool(run.deployed[2]), bool(run.deployed[1])
    (False, True)
    """
    from mlsys_kit.sim import Marketplace

    owner = "run_continual_loop"
    check_type("market", market, Marketplace, owner=owner)
    strategy = check_choice("strategy", strategy, RETRAINING_STRATEGIES, owner=owner)
    period = check_float("period_days", period_days, min=0, open_min=True, owner=owner)
    window = check_float("window_days", window_days, min=0, open_min=True, owner=owner)
    days = market.config.days
    first = check_float(
        "first_day", first_day, min=0, max=days, open_min=True, open_max=True, owner=owner
    )
    epochs = check_int("epochs", epochs, min=1, owner=owner)
    rate = check_float("learning_rate", learning_rate, min=0, open_min=True, owner=owner)
    share = check_float("holdout_share", holdout_share, min=0, max=1, open_max=True, owner=owner)
    gate = check_bool("gate", gate, owner=owner)
    gate_window = check_float("gate_days", gate_days, min=0, open_min=True, owner=owner)
    tolerance = check_float("gate_tolerance", gate_tolerance, min=0, max=1, owner=owner)
    if corrupted_update is not None:
        corrupted_update = check_int("corrupted_update", corrupted_update, min=0, owner=owner)
    if n_updates is not None:
        n_updates = check_int("n_updates", n_updates, min=1, owner=owner)
    rng = make_rng(seed, owner=owner)
    stream = _label_stream(market, share, rng)

    schedule = np.arange(first, days, period)[:n_updates]  # 1. scheduling: one per period
    rows_processed = np.zeros(len(schedule), dtype=np.int64)
    deployed_flags = np.zeros(len(schedule), dtype=bool)
    gate_gap = np.full(len(schedule), np.nan)
    served_auc = np.full(len(schedule), np.nan)
    deployed: Any = None
    for k, day in enumerate(schedule):
        # 2. data: the labels that arrived (from scratch: in the window; fine-tune: since last)
        start = (
            -np.inf if deployed is None else day - (window if strategy == "stateless" else period)
        )
        rows = stream.arrived(start, day, holdout=False)
        X, y = stream.X[rows], stream.y[rows]
        if k == corrupted_update:
            y = 1 - y  # the training job's label join inverts fraud and legitimate
        # 3. training: a new model from scratch, or the deployed one fine-tuned
        candidate = None
        if len(y):
            fresh = strategy == "stateless" or deployed is None
            base = sgd_learner(learning_rate=rate, seed=rng) if fresh else copy.deepcopy(deployed)
            candidate = train_passes(base, X, y, epochs=epochs)
            rows_processed[k] = epochs * len(y)
        # 4. evaluation: test the candidate against production on the freshest holdout labels
        ship = candidate is not None
        if ship and deployed is not None and gate:
            fresh = stream.arrived(day - gate_window, day, holdout=True)
            X_fresh, y_fresh = stream.X[fresh], stream.y[fresh]
            gap = rank_auc(y_fresh, _scores(candidate, X_fresh)) - rank_auc(
                y_fresh, _scores(deployed, X_fresh)
            )
            gate_gap[k] = gap
            ship = bool(gap >= -tolerance)  # refused when worse, or when it cannot be judged
        if ship:
            deployed = candidate
        deployed_flags[k] = ship
        # production: the deployed model serves until the next update (judged in hindsight)
        if deployed is not None:
            served = (stream.event_day >= day) & (stream.event_day < day + period)
            served_auc[k] = rank_auc(stream.y[served], _scores(deployed, stream.X[served]))
    corrupted = np.arange(len(schedule)) == (-1 if corrupted_update is None else corrupted_update)
    return RetrainingRun(
        strategy=strategy,
        gated=gate,
        day=schedule,
        rows_processed=rows_processed,
        deployed=deployed_flags,
        gate_gap=gate_gap,
        served_auc=served_auc,
        corrupted=corrupted,
    )
