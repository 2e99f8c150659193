"""Cloud or edge: which models fit a device's budget, and what serving them costs where.

Serves Chapter 7 of *Designing Machine Learning Systems* (Chip Huyen, 2022), "ML on the Cloud
and on the Edge": a model served in the cloud answers over the network and the company pays for
every request; a model on the edge answers on the user's device, offline and without a round
trip, but must fit the device (its memory, its slower core, its latency target), and every
update has to be shipped to every device.

* :class:`DeviceBudget` states a device's limits: bytes the model may take, the one-row latency
  it must meet, and how much slower the device's core is than the machine that measured the
  candidates. :meth:`DeviceBudget.assess` marks which candidates fit.
* :func:`best_within` picks the best candidate that fits.
* :class:`ServingCosts` is a cost model with its assumptions as fields (prices, utilisation,
  update cadence): the monthly bill of serving from the cloud against shipping the model to
  the devices, and the request rate where they break even.

The candidates themselves (sizes as ONNX files, latencies in onnxruntime) come from
:mod:`mlsys_kit.deployment.compression`. Hand-written: the budget and the cost model are a few
comparisons and products (the lesson is in their assumptions; no library models them).

Examples
--------
>>> import pandas as pd
>>> candidates = pd.DataFrame(
...     {"model": ["big", "small"], "n_bytes": [40_000, 2_000],
...      "latency_s": [2e-5, 5e-6], "auc": [0.83, 0.80]}
... )
>>> budget = DeviceBudget(max_bytes=10_000, max_latency_s=1e-3, slowdown=10)
>>> best_within(candidates, budget)["model"]
'small'
>>> costs = ServingCosts(n_devices=1_000, cpu_seconds_per_request=0.002, model_bytes=20_000)
>>> round(costs.break_even(), 1)  # requests per device per day
5.4
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import ParameterError, check_array, check_float, check_int, check_type

__all__ = ["DeviceBudget", "best_within", "ServingCosts", "DAYS_PER_MONTH"]

#: Days in the cost model's month.
DAYS_PER_MONTH = 30

_CANDIDATE_COLUMNS = ("n_bytes", "latency_s")


@dataclass(frozen=True)
class DeviceBudget:
    """What a device allows a model: its size, and its one-row latency on the device's core.

    Parameters
    ----------
    max_bytes : int
        The largest model file the device may hold (its memory cap, or the app's size budget).
    max_latency_s : float
        The one-row latency target on the device, in seconds.
    slowdown : float, default 1.0
        How many times slower one core of the device is than the core that measured the
        candidates' latencies (a phone's efficiency core against a laptop's: 5 to 20).

    Raises
    ------
    ParameterError
        When a limit is not positive or ``slowdown < 1``.
    """

    max_bytes: int
    max_latency_s: float
    slowdown: float = 1.0

    def __post_init__(self) -> None:
        owner = "DeviceBudget"
        check_int("max_bytes", self.max_bytes, min=1, owner=owner)
        check_float("max_latency_s", self.max_latency_s, min=0, open_min=True, owner=owner)
        check_float("slowdown", self.slowdown, min=1, owner=owner)

    def assess(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """The candidates with their latency on the device and whether each fits.

        Parameters
        ----------
        candidates : DataFrame
            One row per model, with ``n_bytes`` (its size) and ``latency_s`` (one row, one
            thread, on the measuring machine).

        Returns
        -------
        DataFrame
            A copy with ``device_latency_s`` (``latency_s × slowdown``), ``fits_memory``,
            ``fits_latency`` and ``fits`` (both).

        Raises
        ------
        ParameterError
            When a column is missing, or a size or latency is negative or not finite.

        Examples
        --------
        >>> frame = pd.DataFrame({"n_bytes": [500, 5_000], "latency_s": [1e-4, 1e-4]})
        >>> DeviceBudget(1_000, 1e-3, slowdown=5).assess(frame)["fits"].tolist()
        [True, False]
        """
        frame = _candidate_frame(candidates, "DeviceBudget.assess")
        frame["device_latency_s"] = frame["latency_s"] * self.slowdown
        frame["fits_memory"] = frame["n_bytes"] <= self.max_bytes
        frame["fits_latency"] = frame["device_latency_s"] <= self.max_latency_s
        frame["fits"] = frame["fits_memory"] & frame["fits_latency"]
        return frame


def best_within(candidates: pd.DataFrame, budget: DeviceBudget, *, by: str = "auc") -> pd.Series:
    """The candidate with the highest ``by`` among those that fit the budget.

    Parameters
    ----------
    candidates : DataFrame
        As for :meth:`DeviceBudget.assess`, plus the quality column ``by``.
    budget : DeviceBudget
    by : str, default "auc"
        The column to maximise.

    Returns
    -------
    Series
        The chosen row (with the columns :meth:`DeviceBudget.assess` adds).

    Raises
    ------
    ParameterError
        When ``by`` is not a column, or no candidate fits: the message names the smallest
        and the fastest candidate, so the reader sees which limit to move.

    Examples
    --------
    >>> frame = pd.DataFrame({"n_bytes": [500, 900], "latency_s": [1e-4, 1e-4], "auc": [0.7, 0.8]})
    >>> int(best_within(frame, DeviceBudget(1_000, 1e-3))["n_bytes"])
    900
    """
    owner = "best_within"
    check_type("budget", budget, DeviceBudget, owner=owner)
    if by not in candidates.columns:
        raise ParameterError(f"{owner}: by={by!r} is not a column; got {list(candidates.columns)}")
    assessed = budget.assess(candidates)
    fitting = assessed[assessed["fits"]]
    if fitting.empty:
        raise ParameterError(
            f"{owner}: no candidate fits {budget}: the smallest takes "
            f"{int(assessed['n_bytes'].min()):,} bytes, the fastest "
            f"{assessed['device_latency_s'].min():.2g} s on the device"
        )
    return fitting.loc[fitting[by].idxmax()]


@dataclass(frozen=True)
class ServingCosts:
    """A month of serving one model to ``n_devices`` users, from the cloud or on their devices.

    The cloud pays for compute per request: ``cpu_seconds_per_request`` (the web stack and the
    model, as measured) at ``price_per_cpu_hour``, on servers busy ``utilisation`` of the time
    on average (they are sized for the peak). The edge pays nothing per request but ships the
    model file to every device at each update (egress at ``price_per_gb``). Everything else
    (engineering, the devices' own batteries, availability) is left out: it is what the
    reader must weigh beside this bill.

    Parameters
    ----------
    n_devices : int
        Devices (users) served.
    cpu_seconds_per_request : float
        Server CPU seconds per request.
    model_bytes : int
        The model file shipped to each device.
    price_per_cpu_hour : float, default 0.04
        An on-demand vCPU-hour, in dollars.
    utilisation : float, default 0.5
        Average share of the paid CPU time that does work, in (0, 1].
    updates_per_month : float, default 4.0
        Model updates shipped to every device each month.
    price_per_gb : float, default 0.09
        Dollars per GB sent to devices.

    Raises
    ------
    ParameterError
        When a value is out of range.
    """

    n_devices: int
    cpu_seconds_per_request: float
    model_bytes: int
    price_per_cpu_hour: float = 0.04
    utilisation: float = 0.5
    updates_per_month: float = 4.0
    price_per_gb: float = 0.09

    def __post_init__(self) -> None:
        owner = "ServingCosts"
        check_int("n_devices", self.n_devices, min=1, owner=owner)
        check_float("cpu_seconds_per_request", self.cpu_seconds_per_request, min=0, owner=owner)
        check_int("model_bytes", self.model_bytes, min=1, owner=owner)
        check_float("price_per_cpu_hour", self.price_per_cpu_hour, min=0, owner=owner)
        check_float("utilisation", self.utilisation, min=0, max=1, open_min=True, owner=owner)
        check_float("updates_per_month", self.updates_per_month, min=0, owner=owner)
        check_float("price_per_gb", self.price_per_gb, min=0, owner=owner)

    def cloud_per_month(self, requests_per_device_per_day: Any) -> Any:
        """Dollars a month of cloud compute at this request rate (a number or an array).

        Examples
        --------
        >>> costs = ServingCosts(n_devices=100, cpu_seconds_per_request=3.6, model_bytes=1,
        ...                      price_per_cpu_hour=1.0, utilisation=1.0)
        >>> float(costs.cloud_per_month(1.0))  # 100 × 30 requests of 1/1000 CPU-hour
        3.0
        """
        rate = np.asarray(requests_per_device_per_day, dtype=float)
        if not np.all(np.isfinite(rate)) or np.any(rate < 0):
            raise ParameterError(
                "ServingCosts.cloud_per_month: requests_per_device_per_day must be finite "
                f"and ≥ 0; got {requests_per_device_per_day!r}"
            )
        requests = self.n_devices * rate * DAYS_PER_MONTH
        cpu_hours = requests * self.cpu_seconds_per_request / 3600 / self.utilisation
        cost = cpu_hours * self.price_per_cpu_hour
        return float(cost) if cost.ndim == 0 else cost

    def edge_per_month(self) -> float:
        """Dollars a month of shipping model updates to every device.

        Examples
        --------
        >>> ServingCosts(n_devices=1_000_000, cpu_seconds_per_request=0.001,
        ...              model_bytes=1_000_000, price_per_gb=0.1,
        ...              updates_per_month=1).edge_per_month()
        100.0
        """
        gigabytes = self.n_devices * self.model_bytes * self.updates_per_month / 1e9
        return gigabytes * self.price_per_gb

    def break_even(self) -> float:
        """Requests per device per day above which the cloud costs more than the edge.

        Infinite when a request costs the cloud nothing.
        """
        per_request = self.cloud_per_month(1.0)
        return self.edge_per_month() / per_request if per_request > 0 else float("inf")


def _candidate_frame(candidates: Any, owner: str) -> pd.DataFrame:
    """A copy of ``candidates`` once its sizes and latencies are finite and non-negative."""
    check_type("candidates", candidates, pd.DataFrame, owner=owner)
    missing = [c for c in _CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise ParameterError(
            f"{owner}: candidates lack the columns {missing}; they need {list(_CANDIDATE_COLUMNS)}"
        )
    for column in _CANDIDATE_COLUMNS:
        values = check_array(
            column, candidates[column], ndim=1, dtype=float, finite=True, owner=owner
        )
        if np.any(values < 0):
            raise ParameterError(f"{owner}: {column} must be ≥ 0 in every row")
    return candidates.copy()
