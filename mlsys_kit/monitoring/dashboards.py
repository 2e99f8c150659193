"""Monitoring metrics per period, as known at a given time, and alert rules on them.

Serves Chapter 8, "Monitoring and Observability" (Chip Huyen, *Designing Machine Learning
Systems*, 2022): its "ML-specific metrics" (accuracy-related metrics, predictions, features,
raw inputs), the dashboards that show them over time, and alerts, with the warning that
**alert fatigue** (too many false alarms) makes people ignore them.

Two facts shape a production dashboard, and this module computes both honestly:

* **Labels arrive late.** A fraud label is a chargeback, weeks after the purchase; a legitimate
  purchase is confirmed only when the chargeback window closes. An accuracy metric for day ``d``
  is therefore a moving target: :func:`period_metrics` computes each period's metrics **as of**
  a time ``as_of``, from the labels that had arrived by then (``label_available_at <= as_of``,
  the rule of :meth:`mlsys_kit.sim.Marketplace.labels_available_at`). Predictions and features
  are known at once; accuracy is known late and partially.
* **An alert rule is a threshold on a noisy metric.** :class:`AlertRule` fires when a metric
  leaves its baseline band (mean ± k standard deviations of a reference period, the control
  chart rule). :func:`alert_tradeoff` measures, for several ``k``, the false alarms per month
  over a period without drift and the delay until the first alarm after a real drift: the
  trade-off between fatigue and blindness.

pandas does the aggregation; the alert logic is a few lines written out here because it is the
lesson: Prometheus alerting rules or Evidently's test suites express the same thresholds as
configuration, and measuring what a threshold costs in false alarms is left to their users.
:mod:`mlsys_kit.monitoring.detectors` scores streaming drift detectors the same way, value by value.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-02 09:00"]),
...     "is_fraud": [True, False, True],
...     "label_available_at": pd.to_datetime(["2024-01-05", "2024-01-31", "2024-01-20"]),
... })
>>> m = period_metrics(frame, scores=[0.9, 0.1, 0.2], threshold=0.5, as_of="2024-01-10",
...                    start="2024-01-01")
>>> m[["n", "flagged_share", "labelled_share", "known_frauds", "recall_known"]]
     n  flagged_share  labelled_share  known_frauds  recall_known
day
0    2            0.5             0.5             1           1.0
1    1            0.0             0.0             0           NaN
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_type,
)

__all__ = [
    "DIRECTIONS",
    "METRIC_COLUMNS",
    "AlertRule",
    "alert_tradeoff",
    "first_alarm_delay",
    "period_metrics",
]

Direction = Literal["up", "down", "both"]
#: Which side of the baseline band an :class:`AlertRule` watches.
DIRECTIONS: tuple[str, ...] = ("up", "down", "both")
#: The columns :func:`period_metrics` always returns (features come after them).
METRIC_COLUMNS: tuple[str, ...] = (
    "n",
    "mean_score",
    "flagged_share",
    "labelled_share",
    "known_frauds",
    "recall_known",
)
_DAY = pd.Timedelta(days=1)


def period_metrics(
    frame: pd.DataFrame,
    *,
    scores: Any,
    threshold: float,
    as_of: Any,
    start: Any,
    period_days: int = 1,
    features: Mapping[str, Any] | None = None,
    time_col: str = "timestamp",
    label_col: str = "is_fraud",
    label_time_col: str = "label_available_at",
) -> pd.DataFrame:
    """A model's monitoring metrics per period, from what was known at ``as_of``.

    Only rows that happened before ``as_of`` count, and a label counts only if it had arrived
    by then (``label_time_col <= as_of``).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per prediction, with ``time_col`` (when it happened), ``label_col`` (bool,
        the eventual label) and ``label_time_col`` (when that label arrives).
    scores : array-like of float
        The model's score for each row, aligned with ``frame``.
    threshold : float
        Rows with ``score >= threshold`` are flagged (the model's decision).
    as_of : datetime-like
        "Now": the time the dashboard is looked at.
    start : datetime-like
        Time of period 0; periods are ``period_days`` long.
    period_days : int, default 1
        Length of a period, in days (≥ 1).
    features : mapping of str to array-like, optional
        Feature values aligned with ``frame``, averaged per period (feature monitoring);
        missing values are left out of the mean.
    time_col, label_col, label_time_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day`` (the first day of the period, counted from ``start``), with the
        columns of :data:`METRIC_COLUMNS`: ``n`` predictions, ``mean_score``, ``flagged_share``
        (prediction monitoring, known at once), ``labelled_share`` (share of rows whose label
        had arrived), ``known_frauds`` (positives labelled so far) and ``recall_known`` (the
        share of those the model flagged; NaN without any), then one column per feature.
        Periods without predictions are absent.

    Raises
    ------
    ParameterError
        If ``frame`` is not a DataFrame, on a missing column, misaligned ``scores`` or
        ``features``, or a bad argument.
    """
    owner = "period_metrics"
    check_type("frame", frame, pd.DataFrame, owner=owner)
    absent = [c for c in (time_col, label_col, label_time_col) if c not in frame.columns]
    if absent:
        raise ParameterError(
            f"{owner}: frame lacks column(s) {absent}; it has {list(frame.columns)}"
        )
    score = check_array("scores", scores, ndim=1, dtype=float, owner=owner)
    if score.shape != (len(frame),):
        raise ParameterError(
            f"{owner}: scores must have one value per row ({len(frame)}); got {score.shape}"
        )
    threshold = check_float("threshold", threshold, owner=owner)
    period_days = check_int("period_days", period_days, min=1, owner=owner)
    now, origin = pd.Timestamp(as_of), pd.Timestamp(start)
    times = frame[time_col]
    seen = (times <= now).to_numpy()
    day = ((times - origin) // _DAY).to_numpy()
    period = (day // period_days) * period_days
    label = frame[label_col].to_numpy(dtype=bool)
    labelled = (frame[label_time_col] <= now).to_numpy() & seen
    flagged = score >= threshold
    known_fraud = labelled & label
    data = {
        "day": period[seen],
        "n": np.ones(seen.sum(), dtype="int64"),
        "mean_score": score[seen],
        "flagged_share": flagged[seen].astype(float),
        "labelled_share": labelled[seen].astype(float),
        "known_frauds": known_fraud[seen].astype("int64"),
        "caught": (known_fraud & flagged)[seen].astype("int64"),
    }
    extra = []
    for name, values in (features or {}).items():
        v = check_array(f"feature {name!r}", values, dtype=float, owner=owner)
        if v.shape != (len(frame),):
            raise ParameterError(
                f"{owner}: feature {name!r} must have one value per row; got {v.shape}"
            )
        data[name] = v[seen]
        extra.append(name)
    grouped = pd.DataFrame(data).groupby("day")
    out = grouped.agg(
        n=("n", "sum"),
        mean_score=("mean_score", "mean"),
        flagged_share=("flagged_share", "mean"),
        labelled_share=("labelled_share", "mean"),
        known_frauds=("known_frauds", "sum"),
        caught=("caught", "sum"),
        **{name: (name, "mean") for name in extra},
    )
    out["recall_known"] = out["caught"] / out["known_frauds"].where(out["known_frauds"] > 0)
    out.index = out.index.astype("int64")
    return out[[*METRIC_COLUMNS, *extra]]


@dataclass(frozen=True)
class AlertRule:
    """Alert when a metric leaves its baseline band: ``mean ± k · std`` of a reference period.

    Attributes
    ----------
    metric : str
        The metric's name (a column of :func:`period_metrics`).
    center : float
        The baseline mean.
    spread : float
        The baseline standard deviation (> 0).
    k : float
        The band's half-width in standard deviations (> 0): larger, fewer false alarms.
    direction : {"up", "down", "both"}
        Which departures alert.

    Examples
    --------
    >>> import pandas as pd
    >>> rule = AlertRule.from_baseline("flagged_share", [0.04, 0.05, 0.06], k=3)
    >>> round(rule.upper, 3)
    0.08
    >>> rule.fires(pd.Series([0.05, 0.09])).tolist()
    [False, True]
    """

    metric: str
    center: float
    spread: float
    k: float
    direction: Direction = "up"

    def __post_init__(self) -> None:
        owner = "AlertRule"
        check_choice("direction", self.direction, DIRECTIONS, owner=owner)
        object.__setattr__(self, "center", check_float("center", self.center, owner=owner))
        for name in ("spread", "k"):
            value = check_float(name, getattr(self, name), min=0, open_min=True, owner=owner)
            object.__setattr__(self, name, value)

    @classmethod
    def from_baseline(
        cls, metric: str, baseline: Iterable[float], *, k: float, direction: Direction = "up"
    ) -> AlertRule:
        """A rule whose band is the mean ± ``k`` sample standard deviations of ``baseline``.

        Raises
        ------
        ParameterError
            If ``baseline`` has fewer than two finite values or no spread.
        """
        values = np.asarray(list(baseline), dtype=float)
        values = values[np.isfinite(values)]
        if len(values) < 2:
            raise ParameterError(
                f"AlertRule.from_baseline: baseline of {metric!r} needs ≥ 2 finite values; "
                f"got {len(values)}"
            )
        return cls(metric, float(values.mean()), float(values.std(ddof=1)), k, direction)

    @property
    def upper(self) -> float:
        """The upper edge of the band."""
        return self.center + self.k * self.spread

    @property
    def lower(self) -> float:
        """The lower edge of the band."""
        return self.center - self.k * self.spread

    def fires(self, values: pd.Series) -> pd.Series:
        """Whether each value is an alarm (NaN never is).

        Parameters
        ----------
        values : pandas.Series
            The metric per period.

        Returns
        -------
        pandas.Series of bool
        """
        values = pd.Series(values, dtype=float)
        up = values > self.upper
        down = values < self.lower
        return {"up": up, "down": down, "both": up | down}[self.direction]


def first_alarm_delay(alarms: pd.Series, drift_day: float) -> float:
    """Days from ``drift_day`` to the first alarm at or after it (NaN if none).

    Parameters
    ----------
    alarms : pandas.Series of bool
        Indexed by day.
    drift_day : float
        When the drift started.

    Returns
    -------
    float

    Examples
    --------
    >>> import pandas as pd
    >>> first_alarm_delay(pd.Series([True, False, False, True], index=[1, 2, 3, 4]), 2)
    2.0
    """
    after = alarms[(alarms.index >= drift_day) & alarms.to_numpy(dtype=bool)]
    return float(after.index[0] - drift_day) if len(after) else math.nan


def alert_tradeoff(
    metric: pd.Series,
    *,
    baseline_days: tuple[float, float],
    quiet_days: tuple[float, float],
    drift_day: float,
    ks: Iterable[float],
    direction: Direction = "up",
    days_per_month: float = 30.0,
) -> pd.DataFrame:
    """False alarms per month without drift, and delay on a real drift, for several ``k``.

    The band of each rule is fitted on ``baseline_days``; false alarms are counted in
    ``quiet_days`` (a period known to have no drift, after the baseline); the delay is measured
    from ``drift_day``.

    Parameters
    ----------
    metric : pandas.Series
        The metric per period, indexed by day.
    baseline_days, quiet_days : (float, float)
        ``[first, last)`` day ranges.
    drift_day : float
        The first day of the real drift.
    ks : iterable of float
        Band half-widths to compare.
    direction : {"up", "down", "both"}, default "up"
    days_per_month : float, default 30.0

    Returns
    -------
    pandas.DataFrame
        One row per ``k``: ``threshold`` (the band's edge on the watched side),
        ``false_alarms`` (in the quiet period), ``false_alarms_per_month`` and ``delay_days``
        (NaN when the drift was never detected).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.Series([1.0, 2.0, 1.0, 2.0, 1.5, 2.6, 1.4, 3.0, 5.0])
    >>> table = alert_tradeoff(m, baseline_days=(0, 4), quiet_days=(4, 7), drift_day=7, ks=[0.5, 3])
    >>> table.round(2)
         threshold  false_alarms  false_alarms_per_month  delay_days
    k
    0.5       1.79             1                    10.0         0.0
    3.0       3.23             0                     0.0         1.0
    """
    owner = "alert_tradeoff"
    check_type("metric", metric, pd.Series, owner=owner)
    for name, (lo, hi) in (("baseline_days", baseline_days), ("quiet_days", quiet_days)):
        if not lo < hi:
            raise ParameterError(
                f"{owner}: {name} must be (first, last) with first < last; got {(lo, hi)}"
            )
    day = metric.index.to_numpy(dtype=float)
    baseline = metric[(day >= baseline_days[0]) & (day < baseline_days[1])]
    quiet = (day >= quiet_days[0]) & (day < quiet_days[1])
    n_quiet = int(quiet.sum())
    if n_quiet == 0:
        raise ParameterError(f"{owner}: no period of metric falls in quiet_days={quiet_days}")
    rows = []
    for k in ks:
        rule = AlertRule.from_baseline(str(metric.name), baseline, k=k, direction=direction)
        alarms = rule.fires(metric)
        n_false = int(alarms[quiet].sum())
        rows.append(
            {
                "k": float(k),
                "threshold": round(rule.lower if direction == "down" else rule.upper, 6),
                "false_alarms": n_false,
                "false_alarms_per_month": n_false / n_quiet * days_per_month,
                "delay_days": first_alarm_delay(alarms, drift_day),
            }
        )
    return pd.DataFrame(rows).set_index("k")
