"""Data leakage: measure what a leak does to an offline estimate, and check splits for leaks.

Serves Chapter 5, "Data Leakage" (Chip Huyen, *Designing Machine Learning Systems*, 2022):
its common causes (a random split of time-correlated data, scaling or filling before
splitting, duplicates before splitting, group leakage, leakage from the data-generation
process) and its section "Detecting Data Leakage".

**Offline estimate against the future.** :func:`offline_and_future_auc` fits a copy of a
model on a training split and scores it twice: on the validation split (what the team sees
offline) and on a truly later holdout (what the model will really do). A leak is the gap
between the two.

**Leaky against correct, over several worlds.** :class:`LeakRuns` collects such estimates
for a leaky and a correct pipeline of each cause, repeated on independent simulated worlds;
:meth:`LeakRuns.effects` turns them into each cause's *extra optimism* (the leaky pipeline's
``offline - future`` minus the correct one's, per world, so that most of the world-to-world
noise cancels) with its Student-t interval over the worlds (:func:`mlsys_kit.stats.mean_interval`),
a :class:`LeakEffects` that draws itself.

**The leakage checker.** :func:`check_leakage` looks at a train/test pair the way a reviewer
would, and returns a :class:`LeakageReport` (one :class:`Finding` per check and subject):

===================  ===========================================================================
``time_order``       test rows that happened before the latest training row (a random split of
                     data that should be split by time); needs ``time_col``
``row_overlap``      test rows identical, on the features, to a training row (duplicates)
``group_overlap``    test rows whose group (user, patient) also appears in training; needs
                     ``group_col``
``feature_timing``   values recorded after the prediction time (a post-event feature); needs
                     ``time_col`` and ``feature_times``
``dominant_feature`` one feature more predictive on its own than all the others together
===================  ===========================================================================

The checks are hand-written on purpose: they are the lesson, and each is a few lines of
pandas. Maintained tools cover parts of it (Deepchecks' tabular train-test validation suite
checks samples mixed between the splits, overlapping dates and feature-label correlation), but
they are heavy dependencies whose statistics are harder to read than the few lines here. The
statistics under ``dominant_feature`` are the libraries': quantile bins from
:func:`mlsys_kit.stats.quantile_edges`, cross-fitted target encoding from
:class:`sklearn.preprocessing.TargetEncoder`, and the ROC AUC as the Mann-Whitney statistic
(:func:`mlsys_kit.stats.rank_auc`, ranks from :func:`scipy.stats.rankdata`: the same number as
:func:`sklearn.metrics.roc_auc_score` at a fraction of its input checks, which dominate on the
checker's many short calls).
The checker sees data, not code: leaks that live in a pipeline (a scaler or an imputer fitted
before splitting) leave no trace in the split, so it cannot see them. Fit preprocessing
inside a :class:`sklearn.pipeline.Pipeline` on the training split to avoid those.

Examples
--------
>>> import pandas as pd
>>> train = pd.DataFrame({"x": [1, 2, 3, 4], "leak": [0, 0, 1, 1], "y": [0, 0, 1, 1]})
>>> test = pd.DataFrame({"x": [4, 1, 2, 3], "leak": [1, 0, 0, 1], "y": [1, 0, 0, 1]})
>>> report = check_leakage(train, test, target="y")
>>> [f.check for f in report.flagged]
['row_overlap']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mlsys_kit.params import (
    ParameterError,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_type,
)
from mlsys_kit.results import Report
from mlsys_kit.stats import mean_interval, quantile_bins, quantile_edges, rank_auc

__all__ = [
    "LEAKAGE_CHECKS",
    "Estimate",
    "Finding",
    "LeakEffects",
    "LeakRuns",
    "LeakageReport",
    "check_leakage",
    "offline_and_future_auc",
    "predictive_power",
]

#: The checks :func:`check_leakage` runs, in report order.
LEAKAGE_CHECKS: tuple[str, ...] = (
    "time_order",
    "row_overlap",
    "group_overlap",
    "feature_timing",
    "dominant_feature",
)
_SPLIT = "split"


# --------------------------------------------------------------------------------------------
# Offline estimate against the future
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A model's AUC offline (on the validation split) and on a truly later holdout.

    Attributes
    ----------
    offline : float
        ROC AUC on the validation split: the estimate the team reports.
    future : float
        ROC AUC of the same fitted model on the later holdout: the truth.
    """

    offline: float
    future: float

    @property
    def gap(self) -> float:
        """``offline - future``: how much the offline estimate overstates the future."""
        return self.offline - self.future


def offline_and_future_auc(
    model: Any,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    future: pd.DataFrame,
    *,
    features: Sequence[str],
    target: str,
) -> Estimate:
    """Fit a copy of ``model`` on ``train``; its AUC on ``valid`` and on ``future``.

    When ``valid`` and ``future`` have the same column types, both are scored in one
    prediction call (a scikit-learn model scores each row on its own, so the scores are the
    same, and the call's fixed cost is paid once).

    Parameters
    ----------
    model : scikit-learn classifier or pipeline
        Cloned before fitting, so the same object can serve several pipelines.
    train, valid, future : pandas.DataFrame
        The training split, the validation split, and the later holdout.
    features : sequence of str
        Input columns, present in all three frames.
    target : str
        Binary label column, with both classes in ``valid`` and ``future``.

    Returns
    -------
    Estimate
        ``offline`` and ``future`` AUC, and their ``gap``.

    Raises
    ------
    ParameterError
        A frame is not a DataFrame, a column is missing, or a split lacks one of the two
        classes.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> df = pd.DataFrame({"x": [0, 1, 2, 3, 4, 5, 6, 7], "y": [0, 0, 0, 1, 0, 1, 1, 1]})
    >>> est = offline_and_future_auc(
    ...     LogisticRegression(), df[:4], df[2:6], df[4:], features=["x"], target="y"
    ... )
    >>> est.offline, est.future
    (0.75, 1.0)
    """
    owner = "offline_and_future_auc"
    frames = {"train": train, "valid": valid, "future": future}
    features = list(features)
    for name, frame in frames.items():
        _columns_of(name, frame, [*features, target], owner)
    for name in ("valid", "future"):
        if frames[name][target].nunique() != 2:
            raise ParameterError(
                f"{owner}: {name} must contain both classes of {target!r} to compute an AUC"
            )
    fitted = clone(model).fit(train[features], train[target])
    x_valid, x_future = valid[features], future[features]
    if x_valid.dtypes.equals(x_future.dtypes):  # one prediction call for both: a model
        # scores each row on its own, and a call's fixed cost (every tree of a boosted
        # model, each step of a pipeline) is then paid once
        both = fitted.predict_proba(pd.concat([x_valid, x_future], ignore_index=True))[:, 1]
        scores = both[: len(valid)], both[len(valid) :]
    else:
        scores = fitted.predict_proba(x_valid)[:, 1], fitted.predict_proba(x_future)[:, 1]
    positive = [f[target].to_numpy() == fitted.classes_[1] for f in (valid, future)]
    return Estimate(
        offline=_roc_auc(positive[0], scores[0]), future=_roc_auc(positive[1], scores[1])
    )


_PIPELINES = ("leaky", "correct")


class LeakRuns:
    """The offline estimates and future AUCs of leaky and correct pipelines, world by world.

    Each :meth:`record` fits one pipeline's model (:func:`offline_and_future_auc`) and keeps
    one row: the world, the cause, the pipeline (``"leaky"`` or ``"correct"``), the offline
    AUC, the future AUC and the optimism (their difference).

    Parameters
    ----------
    features : sequence of str
        The model's input columns, unless :meth:`record` is given others.
    target : str
        The binary label column.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> df = pd.DataFrame({"x": [0, 1, 2, 3, 4, 5, 6, 7], "y": [0, 0, 0, 1, 0, 1, 1, 1]})
    >>> runs = LeakRuns(features=["x"], target="y")
    >>> runs.record(1, "peek", "leaky", LogisticRegression(), df[:6], df[2:6], df[4:]).offline
    0.75
    >>> runs.to_frame()[["cause", "pipeline", "optimism"]]
      cause pipeline  optimism
    0  peek    leaky     -0.25
    """

    def __init__(self, *, features: Sequence[str], target: str) -> None:
        owner = "LeakRuns"
        self.features = [check_type("features", f, str, owner=owner) for f in features]
        self.target = check_type("target", target, str, owner=owner)
        self._rows: list[tuple[int, str, str, float, float, float]] = []

    def record(
        self,
        world: int,
        cause: str,
        pipeline: str,
        model: Any,
        train: pd.DataFrame,
        valid: pd.DataFrame,
        future: pd.DataFrame,
        features: Sequence[str] | None = None,
    ) -> Estimate:
        """Fit ``model`` on ``train``; keep its AUC on ``valid`` and on ``future``.

        Parameters
        ----------
        world : int
            The world's seed (a pipeline pair is compared within a world).
        cause : str
            The leak's name, e.g. ``"duplicates before splitting"``.
        pipeline : {"leaky", "correct"}
            Which of the pair this is.
        model, train, valid, future
            As in :func:`offline_and_future_auc`.
        features : sequence of str, optional
            Input columns for this pipeline (default: the ones given at construction).

        Returns
        -------
        Estimate
            The pipeline's offline and future AUC.

        Raises
        ------
        ParameterError
            ``world`` is not an integer, ``pipeline`` is neither ``"leaky"`` nor
            ``"correct"``, this world's pipeline of this cause is recorded already, or the
            frames are unfit for :func:`offline_and_future_auc`.
        """
        owner = "LeakRuns.record"
        world = check_int("world", world, owner=owner)
        check_type("cause", cause, str, owner=owner)
        check_choice("pipeline", pipeline, _PIPELINES, owner=owner)
        if any(row[:3] == (world, cause, pipeline) for row in self._rows):
            raise ParameterError(
                f"{owner}: the {pipeline} pipeline of {cause!r} in world {world} is recorded "
                "already; each world, cause and pipeline is recorded once"
            )
        estimate = offline_and_future_auc(
            model,
            train,
            valid,
            future,
            features=self.features if features is None else features,
            target=self.target,
        )
        self._rows.append((world, cause, pipeline, estimate.offline, estimate.future, estimate.gap))
        return estimate

    def to_frame(self) -> pd.DataFrame:
        """One row per world, cause and pipeline, in the order they were recorded."""
        return pd.DataFrame(
            self._rows, columns=["world", "cause", "pipeline", "offline", "future", "optimism"]
        )

    def effects(self, *, level: float = 0.9) -> LeakEffects:
        """Each cause's extra optimism per world, and its mean and interval over the worlds.

        Parameters
        ----------
        level : float, default 0.9
            Confidence level of the Student-t interval, in ``(0, 1)``.

        Returns
        -------
        LeakEffects

        Raises
        ------
        ParameterError
            A cause lacks its leaky or its correct pipeline in some world, or was run on
            fewer than two worlds.
        """
        owner = "LeakRuns.effects"
        runs = self.to_frame()
        causes = list(dict.fromkeys(runs["cause"]))
        table = runs.pivot_table(index=["cause", "world"], columns="pipeline", values="optimism")
        if set(table.columns) != set(_PIPELINES) or table.isna().any().any():
            raise ParameterError(
                f"{owner}: every cause needs a leaky and a correct run in every world"
            )
        extra = (table["leaky"] - table["correct"]).rename("extra optimism")
        summary = {}
        for cause in causes:
            values = check_array(f"{cause!r} worlds", extra[cause], min_length=2, owner=owner)
            summary[cause] = mean_interval(values, level=level)._asdict()
        frame = pd.DataFrame.from_dict(summary, orient="index")
        frame.index.name = "cause"
        return LeakEffects(per_world=extra.loc[causes], summary=frame, level=level)


@dataclass(frozen=True)
class LeakEffects(Report):
    """Each cause's extra optimism (leaky minus correct), per world and over the worlds.

    Attributes
    ----------
    per_world : pandas.Series
        Extra optimism, indexed by cause and world.
    summary : pandas.DataFrame
        One row per cause (in the order they were recorded): ``mean``, ``low`` and ``high``,
        the mean and its Student-t interval over the worlds.
    level : float
        The interval's confidence level.
    """

    per_world: pd.Series
    summary: pd.DataFrame
    level: float

    def to_frame(self) -> pd.DataFrame:
        """The summary: mean and interval of the extra optimism, one row per cause."""
        return self.summary

    def low(self, cause: str) -> float:
        """The low end of ``cause``'s interval: above zero, the leak is above the noise."""
        check_choice("cause", cause, list(self.summary.index), owner="LeakEffects.low")
        return float(self.summary.loc[cause, "low"])

    def describe(self, cause: str) -> str:
        """One line: the cause and its interval."""
        check_choice("cause", cause, list(self.summary.index), owner="LeakEffects.describe")
        low, high = self.summary.loc[cause, ["low", "high"]]
        share = f"{self.level:.0%}"
        return f"{cause}: extra optimism between {low:+.3f} and {high:+.3f} ({share} interval)"

    def plot(self, ax: Any) -> None:
        """Each world's extra optimism per cause (grey dots), the interval and the mean.

        Parameters
        ----------
        ax : matplotlib.axes.Axes
            Where to draw; one row per cause, the first at the top.
        """
        from mlsys_kit.notebook import COLORS

        causes = list(self.summary.index)
        for i, cause in enumerate(causes):
            values = self.per_world[cause]
            ax.plot(values, np.full(len(values), i), "o", color=COLORS["grey"], ms=5)
            low, high, mean = self.summary.loc[cause, ["low", "high", "mean"]]
            ax.plot([low, high], [i, i], color=COLORS["vermillion"], lw=3)
            ax.plot(mean, i, "|", color=COLORS["black"], ms=14, mew=2)
        ax.axvline(0, color=COLORS["black"], lw=0.8)
        ax.set_yticks(range(len(causes)), causes)
        ax.invert_yaxis()
        ax.set_xlabel("extra optimism: leaky minus correct (offline estimate − future AUC)")


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` for boolean labels ``y`` (both classes present), ties counting half.

    The Mann-Whitney U of the positives over the negatives, divided by the number of pairs
    (:func:`mlsys_kit.stats.rank_auc`): equal to :func:`sklearn.metrics.roc_auc_score`, without
    its input validation.
    """
    return rank_auc(y, score)


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """The result of one check on one subject (the split, or one feature).

    Attributes
    ----------
    check : str
        One of :data:`LEAKAGE_CHECKS`.
    subject : str
        ``"split"`` for the split checks, else the feature's name.
    statistic : float
        What was measured (a share of rows, or a ratio of predictive power).
    threshold : float
        The finding is flagged when ``statistic > threshold``.
    flagged : bool
        Whether this looks like a leak.
    explanation : str
        The measurement in words, for a reader.
    """

    check: str
    subject: str
    statistic: float
    threshold: float
    flagged: bool
    explanation: str


@dataclass(frozen=True)
class LeakageReport(Report):
    """What :func:`check_leakage` found: one :class:`Finding` per check and subject.

    A :class:`mlsys_kit.results.Report`: :meth:`to_frame` is the table of findings, which
    notebooks show; its text form lists the flagged findings.

    Attributes
    ----------
    findings : tuple of Finding
        In the order of :data:`LEAKAGE_CHECKS`; checks that could not run (no ``time_col``...) are
        absent, and listed in ``skipped``.
    skipped : tuple of str
        Checks not run, each with the argument it needs.
    """

    findings: tuple[Finding, ...]
    skipped: tuple[str, ...] = ()

    @property
    def flagged(self) -> tuple[Finding, ...]:
        """The findings that look like leaks."""
        return tuple(f for f in self.findings if f.flagged)

    @property
    def suspect_features(self) -> list[str]:
        """Features flagged by at least one check, in report order."""
        return list(dict.fromkeys(f.subject for f in self.flagged if f.subject != _SPLIT))

    @property
    def split_flagged(self) -> bool:
        """Whether any check on the split itself (not a feature) flagged it."""
        return any(f.subject == _SPLIT for f in self.flagged)

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: check, subject, statistic, threshold, flagged, explanation."""
        columns = ["check", "subject", "statistic", "threshold", "flagged", "explanation"]
        rows = [[getattr(f, c) for c in columns] for f in self.findings]
        return pd.DataFrame(rows, columns=columns)

    def __repr__(self) -> str:
        lines = [f"LeakageReport: {len(self.flagged)} of {len(self.findings)} findings flagged"]
        for f in self.flagged:
            lines.append(f"  ✘ {f.check} ({f.subject}): {f.explanation}")
        n_ok = len(self.findings) - len(self.flagged)
        checks_ok = sorted(
            {f.check for f in self.findings if not f.flagged}, key=LEAKAGE_CHECKS.index
        )
        if n_ok:
            lines.append(f"  ✔ {n_ok} clean: {', '.join(checks_ok)}")
        for reason in self.skipped:
            lines.append(f"  · skipped {reason}")
        return "\n".join(lines)


def check_leakage(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    target: str,
    features: Sequence[str] | None = None,
    time_col: str | None = None,
    group_col: str | None = None,
    feature_times: Mapping[str, str | pd.Timedelta] | None = None,
    max_time_overlap: float = 0.01,
    max_row_overlap: float = 0.001,
    max_group_overlap: float = 0.0,
    max_late_share: float = 0.0,
    dominance: float = 1.0,
    min_auc: float = 0.6,
    n_bins: int = 10,
    random_state: int = 0,
) -> LeakageReport:
    """Check a train/test split and its features for the symptoms of data leakage.

    Parameters
    ----------
    train, test : pandas.DataFrame
        The two splits, with the same columns.
    target : str
        The binary label column.
    features : sequence of str, optional
        The model's input columns. Default: every column except ``target``, ``time_col``,
        ``group_col`` and the time columns named in ``feature_times``.
    time_col : str, optional
        The prediction time of each row (datetime or number). Enables ``time_order`` and,
        with ``feature_times``, ``feature_timing``.
    group_col : str, optional
        Rows of one group (a user, a patient) must not be on both sides. Enables
        ``group_overlap``.
    feature_times : mapping, optional
        When each feature's value is known: a :class:`pandas.Timedelta` after ``time_col``
        (e.g. ``pd.Timedelta(days=7)`` for "contacts in the 7 days after"), or the name of a
        column holding the time each value was recorded. Features not listed are taken to be
        known at prediction time.
    max_time_overlap : float, default 0.01
        ``time_order`` flags when more than this share of test rows is earlier than the latest
        training row.
    max_row_overlap : float, default 0.001
        ``row_overlap`` flags when more than this share of test rows equals a training row on
        all features. On a few coarse features, rows coincide by chance: raise it.
    max_group_overlap : float, default 0.0
        ``group_overlap`` flags when more than this share of test rows belongs to a group seen
        in training.
    max_late_share : float, default 0.0
        ``feature_timing`` flags a feature when more than this share of rows (train and test)
        was recorded after the prediction time.
    dominance : float, default 1.0
        ``dominant_feature`` flags a feature when its predictive power alone (AUC - 0.5) is
        more than ``dominance`` times that of all the other features together (see
        :func:`predictive_power`; train and test rows pooled): with the default, a feature
        that alone beats everything else combined...
    min_auc : float, default 0.6
        ...and whose own AUC is at least ``min_auc`` (when no feature predicts anything,
        ratios of tiny lifts mean nothing).
    n_bins : int, default 10
        Quantile bins for the one-feature models of ``dominant_feature``.
    random_state : int, default 0
        Seed of the cross-fitting folds of ``dominant_feature`` (passed to scikit-learn).

    Returns
    -------
    LeakageReport
        Findings of every check that could run; ``report.to_frame()`` for a table.

    Raises
    ------
    ParameterError
        ``train`` or ``test`` is not a DataFrame or is empty, ``feature_times`` is not a
        mapping, a named column is missing, the target is not binary, a threshold is out of
        range, or ``feature_times`` is given without ``time_col``. The message says what was
        wrong and what is allowed.

    Notes
    -----
    ``dominant_feature`` compares each feature with all the others, so two equally strong
    leaks mask each other (each ratio is close to 1, at the threshold);
    ``feature_timing`` still catches them when their recording times are known. It flags a
    suspect to look at, not a proof: a legitimate feature can dominate when the others are
    weak.

    Examples
    --------
    >>> train = pd.DataFrame({"t": [1, 2, 3, 4], "x": [0.1, 0.4, 0.3, 0.9], "y": [0, 1, 0, 1]})
    >>> test = pd.DataFrame({"t": [2.5, 5, 6, 7], "x": [0.2, 0.8, 0.5, 0.7], "y": [0, 1, 0, 1]})
    >>> report = check_leakage(train, test, target="y", time_col="t")
    >>> first = report.findings[0]
    >>> first.check, first.statistic, first.flagged
    ('time_order', 0.25, True)
    >>> report.suspect_features, report.split_flagged
    ([], True)
    """
    owner = "check_leakage"
    for name, frame in (("train", train), ("test", test)):
        check_type(name, frame, pd.DataFrame, owner=owner)
        if len(frame) == 0:
            raise ParameterError(f"{owner}: {name} is empty: rows are needed in both splits")
    if feature_times is not None:
        check_type("feature_times", feature_times, Mapping, owner=owner)
    feature_times = dict(feature_times or {})
    if feature_times and time_col is None:
        raise ParameterError(
            f"{owner}: feature_times needs time_col: the prediction time to compare with"
        )
    for name, value in [
        ("max_time_overlap", max_time_overlap),
        ("max_row_overlap", max_row_overlap),
        ("max_group_overlap", max_group_overlap),
        ("max_late_share", max_late_share),
    ]:
        check_float(name, value, min=0, max=1, owner=owner)
    check_float("dominance", dominance, min=0, owner=owner)
    check_float("min_auc", min_auc, min=0.5, max=1, owner=owner)
    check_int("n_bins", n_bins, min=2, owner=owner)

    time_columns = [v for v in feature_times.values() if isinstance(v, str)]
    special = [c for c in (target, time_col, group_col) if c is not None]
    for name, frame in (("train", train), ("test", test)):
        _columns_of(name, frame, [*special, *time_columns], owner)
    if features is None:
        excluded = {*special, *time_columns}
        features = [c for c in train.columns if c not in excluded]
    else:
        if isinstance(features, str):
            raise ParameterError(
                f"{owner}: features must be a sequence of column names; got {features!r}"
            )
        features = list(features)
        for name, frame in (("train", train), ("test", test)):
            _columns_of(name, frame, features, owner)
    if not features:
        raise ParameterError(f"{owner}: no features to check: pass features=[...] or add columns")
    for feature in feature_times:
        check_choice("feature_times key", feature, features, owner=owner)
    for name, frame in (("train", train), ("test", test)):
        classes = frame[target].dropna().unique()
        if len(classes) > 2:
            raise ParameterError(
                f"{owner}: target {target!r} must be binary; {name} has {len(classes)} "
                "distinct values"
            )
    y_train = _binary(train[target], owner)
    y_test = _binary(test[target], owner)

    findings: list[Finding] = []
    skipped: list[str] = []
    if time_col is not None:
        findings.append(_time_order(train[time_col], test[time_col], max_time_overlap))
    else:
        skipped.append("time_order (pass time_col)")
    findings.append(_row_overlap(train[features], test[features], max_row_overlap))
    if group_col is not None:
        findings.append(_group_overlap(train[group_col], test[group_col], max_group_overlap))
    else:
        skipped.append("group_overlap (pass group_col)")
    if feature_times:
        both = pd.concat([train, test], ignore_index=True)
        for feature, when in feature_times.items():
            findings.append(_feature_timing(both, feature, when, time_col, max_late_share))
    else:
        skipped.append("feature_timing (pass time_col and feature_times)")
    both_y = np.concatenate([y_train, y_test])
    if len(features) >= 2 and min(both_y.sum(), len(both_y) - both_y.sum()) >= 2:
        pooled = pd.concat([train[features], test[features]], ignore_index=True)
        pooled[target] = both_y
        power = predictive_power(
            pooled, target=target, features=features, n_bins=n_bins, random_state=random_state
        )
        findings.extend(_dominant(power, dominance, min_auc))
    else:
        skipped.append("dominant_feature (needs two features and two rows of each class)")
    return LeakageReport(tuple(findings), tuple(skipped))


def predictive_power(
    frame: pd.DataFrame,
    *,
    target: str,
    features: Sequence[str],
    n_bins: int = 10,
    random_state: int = 0,
) -> pd.DataFrame:
    """How predictive each feature is alone, and all the other features together.

    Each feature gets a one-feature model: the label's rate in each bin of the feature
    (quantile bins of a numeric feature with more than ``n_bins`` values, from
    :func:`mlsys_kit.stats.quantile_edges`, a value on an edge in a bin of its own, so that a
    zero-inflated column keeps its zeros apart; else one bin per value; missing values are a bin
    of their own), shrunk toward the overall rate for small bins: a target encoding,
    :class:`sklearn.preprocessing.TargetEncoder` with ``smooth=50``, cross-fitted on five
    stratified folds (each row is encoded by the folds that did not see it), so that a feature
    that only memorises (an id) does not look predictive. Each rate is turned into log-odds
    relative to the overall rate; summing them over features is a naive Bayes model. AUCs
    are the Mann-Whitney statistic over the number of pairs (:func:`mlsys_kit.stats.rank_auc`),
    the same number as :func:`sklearn.metrics.roc_auc_score`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the features and the target.
    target : str
        Binary label column (0/1 or False/True), both classes present.
    features : sequence of str
        The columns to compare; at least two.
    n_bins : int, default 10
        Quantile bins for a numeric feature.
    random_state : int, default 0
        Seed of the cross-fitting folds (passed to
        :class:`sklearn.model_selection.StratifiedKFold`).

    Returns
    -------
    pandas.DataFrame
        Indexed by feature: ``auc_alone`` (its one-feature model), ``auc_others`` (naive Bayes
        on every other feature, or the best other feature alone when that scores higher) and
        ``ratio``, ``(auc_alone - 0.5) / (auc_others - 0.5)``: above 1, the feature alone
        predicts better than all the others together.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(2_000) < 0.3
    >>> df = pd.DataFrame({"weak": y + rng.normal(0, 2, 2_000),
    ...                    "noise": rng.normal(size=2_000), "leak": y + rng.normal(0, 0.1, 2_000),
    ...                    "y": y})
    >>> power = predictive_power(df, target="y", features=["weak", "noise", "leak"])
    >>> power["ratio"].idxmax(), bool(power.loc["leak", "auc_alone"] > 0.9)
    ('leak', True)
    """
    from scipy.special import logit
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    owner = "predictive_power"
    features = list(features)
    if len(features) < 2:
        raise ParameterError(f"{owner}: needs at least two features; got {features}")
    _columns_of("frame", frame, [*features, target], owner)
    n_bins = check_int("n_bins", n_bins, min=2, owner=owner)
    y = _binary(frame[target], owner)
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < 2:
        raise ParameterError(
            f"{owner}: target {target!r} must contain both classes, each at least twice "
            f"(to cross-fit); the rarer class has {minority} row(s)"
        )
    codes = np.column_stack([_bin_codes(frame[feature], n_bins) for feature in features])
    n_folds = min(5, minority)  # five folds, fewer only for a tiny sample
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    encoder = TargetEncoder(target_type="binary", smooth=50.0, cv=folds)
    rates = encoder.fit_transform(codes, y)
    logodds = logit(np.clip(rates, 1e-6, 1 - 1e-6)) - logit(encoder.target_mean_)
    total = logodds.sum(axis=1)
    positive = y.astype(bool)
    alone = [_roc_auc(positive, logodds[:, j]) for j in range(len(features))]
    # "All the others together": naive Bayes on them, or the best of them alone if better
    # (with few rows, the log-odds of useless features add noise to the naive Bayes sum).
    # Rounded, so that rows with the same bins tie exactly instead of by rounding noise.
    others = [
        max(
            _roc_auc(positive, np.round(total - logodds[:, j], 10)),
            max(a for i, a in enumerate(alone) if i != j),
        )
        for j in range(len(features))
    ]
    out = pd.DataFrame({"auc_alone": alone, "auc_others": others}, index=features)
    lift_others = (out["auc_others"] - 0.5).clip(lower=1e-3)
    out["ratio"] = (out["auc_alone"] - 0.5).clip(lower=0) / lift_others
    out.index.name = "feature"
    return out


def _bin_codes(values: pd.Series, n_bins: int) -> np.ndarray:
    """Integer bin codes (missing -> -1): quantile bins of a numeric feature, else its values.

    The bins are the kit's one quantile binning (:func:`mlsys_kit.stats.quantile_edges`),
    learned on all rows: unsupervised, so no label leaks into the cross-fitted encoding. A
    value equal to an edge gets a bin of its own: where one value holds many quantiles (a
    zero-inflated column: no support contacts for most rows), the edges collapse onto it, and
    it must not share its bin with the values above it (that bin would hold every row, and a
    perfect leak would score an AUC of 0.5).
    """
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > n_bins:
        x = values.to_numpy(dtype=float)
        edges = quantile_edges(x, n_bins)
        at_edge = np.isin(x, edges)
        # bin k (between two edges) -> 2k; a value on an edge -> an odd code; missing -> -1
        return np.where(np.isnan(x), -1, 2 * quantile_bins(x, edges) + at_edge)
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes


def _time_order(t_train: pd.Series, t_test: pd.Series, threshold: float) -> Finding:
    latest = t_train.max()
    share = float((t_test < latest).mean())
    return Finding(
        "time_order",
        _SPLIT,
        share,
        threshold,
        share > threshold,
        f"{share:.1%} of test rows are earlier than the latest training row",
    )


def _row_overlap(x_train: pd.DataFrame, x_test: pd.DataFrame, threshold: float) -> Finding:
    seen = set(pd.util.hash_pandas_object(x_train, index=False).to_numpy())
    hashes = pd.util.hash_pandas_object(x_test, index=False).to_numpy()
    share = float(np.isin(hashes, list(seen)).mean()) if seen else 0.0
    return Finding(
        "row_overlap",
        _SPLIT,
        share,
        threshold,
        share > threshold,
        f"{share:.1%} of test rows equal a training row on all {x_train.shape[1]} features",
    )


def _group_overlap(g_train: pd.Series, g_test: pd.Series, threshold: float) -> Finding:
    shared = g_test.isin(set(g_train.dropna().unique()))
    share = float(shared.mean())
    n_groups = g_test[shared].nunique()
    return Finding(
        "group_overlap",
        _SPLIT,
        share,
        threshold,
        share > threshold,
        f"{share:.1%} of test rows belong to one of {n_groups:,} groups also in training",
    )


def _feature_timing(
    both: pd.DataFrame, feature: str, when: Any, time_col: str | None, threshold: float
) -> Finding:
    prediction_time = both[time_col]
    if isinstance(when, str):
        recorded = both[when]
        how = f"recorded in {when!r}"
    elif isinstance(when, pd.Timedelta | np.timedelta64) or _is_number(when):
        lag = pd.Timedelta(when) if not _is_number(when) else when
        recorded = prediction_time + lag
        how = f"known {_format_lag(lag)} after {time_col!r}"
    else:
        raise ParameterError(
            f"check_leakage: feature_times[{feature!r}] must be a Timedelta (or a number, for "
            f"a numeric time_col) or a column name; got {when!r}"
        )
    late = (recorded > prediction_time).to_numpy(dtype=bool)
    share = float(late.mean())
    return Finding(
        "feature_timing",
        feature,
        share,
        threshold,
        share > threshold,
        f"{share:.1%} of values were {how}: after the prediction time",
    )


def _dominant(power: pd.DataFrame, dominance: float, min_auc: float) -> list[Finding]:
    out = []
    for feature, row in power.iterrows():
        ratio = float(row["ratio"])
        flagged = ratio > dominance and row["auc_alone"] >= min_auc
        out.append(
            Finding(
                "dominant_feature",
                str(feature),
                ratio,
                dominance,
                bool(flagged),
                f"AUC {row['auc_alone']:.3f} alone against {row['auc_others']:.3f} for all "
                f"other features together: {ratio:.2f}× the lift (AUC - 0.5)",
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _columns_of(name: str, frame: Any, columns: Sequence[str], owner: str) -> pd.DataFrame:
    """``frame`` (a DataFrame, else ParameterError) once each of ``columns`` is one of its own."""
    check_type(name, frame, pd.DataFrame, owner=owner)
    for column in dict.fromkeys(columns):
        check_choice(f"{name} column", column, list(frame.columns), owner=owner)
    return frame


def _binary(values: pd.Series, owner: str) -> np.ndarray:
    if values.isna().any():
        raise ParameterError(
            f"{owner}: target {values.name!r} has missing values; drop or label them first"
        )
    classes = np.sort(values.unique())
    if len(classes) == 2 and not set(classes) <= {0, 1}:
        raise ParameterError(
            f"{owner}: target {values.name!r} must be coded 0/1 or False/True; got {list(classes)}"
        )
    return values.to_numpy().astype(np.int64)


def _format_lag(lag: Any) -> str:
    if isinstance(lag, pd.Timedelta) and lag == lag.floor("D"):
        return f"{lag.days} day{'s' if abs(lag.days) != 1 else ''}"
    return str(lag)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
