"""Configuration of the marketplace simulator: :class:`Drift` and :class:`MarketplaceConfig`.

Both are frozen dataclasses that validate themselves on construction, so a bad value fails
loudly -- :class:`~mlsys_kit.params.ParameterError`, a ``ValueError``, naming the field, the
value and what is allowed -- before any data is drawn.
See :mod:`mlsys_kit.sim` for how the simulator uses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from typing import Any, Literal, get_args

import pandas as pd

from mlsys_kit.params import ParameterError

__all__ = ["DRIFT_KINDS", "Drift", "DriftKind", "MarketplaceConfig"]

DriftKind = Literal["covariate", "label", "concept"]
#: Allowed values of :attr:`Drift.kind`, in the order phases are named ("covariate+concept").
DRIFT_KINDS: tuple[str, ...] = get_args(DriftKind)

#: Highest fraud rate the simulator accepts, before or after a label drift.
MAX_FRAUD_RATE = 0.5


def _check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ParameterError(f"{owner}.{name} must be an int >= {minimum}; got {value!r}")
    if value < minimum:
        raise ParameterError(f"{owner}.{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _check_real(owner: str, name: str, value: Any, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ParameterError(f"{owner}.{name} must be a finite number {allowed}; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Drift:
    """A distribution shift injected into the simulation from ``start_day`` on.

    Parameters
    ----------
    kind : {"covariate", "label", "concept"}
        What changes (book chapter 8, "Types of Data Distribution Shifts"):

        - ``"covariate"``: P(x) changes -- amounts grow by ``exp(0.4 * magnitude)``, night
          traffic by ``exp(0.8 * magnitude)``, the odds of a new device by ``exp(0.9 * magnitude)``
          and the weight of wallet payments by ``exp(0.7 * magnitude)``. P(fraud | x) is unchanged
          (same coefficients and intercept), so the fraud rate moves only as a consequence.
        - ``"label"`` (prior shift): P(fraud) becomes ``fraud_rate * (1 + magnitude)`` while
          P(x | fraud) and P(x | legit) stay exactly what they would have been.
        - ``"concept"``: P(fraud | x) changes -- every coefficient moves ``magnitude`` of the way
          from its baseline value to its "fraudsters adapted" value (see
          :data:`mlsys_kit.sim.CONCEPT_COEFFICIENTS`) and the intercept is re-solved so that the
          fraud rate under the baseline P(x) stays ``fraud_rate``. P(x) is unchanged.
    start_day : float
        Days since the simulation start; the drift applies to transactions at or after it
        (rounded to the whole second). Must be ``>= 0`` and, in a config, ``< days``.
    magnitude : float, default 1.0
        Strength of the drift (any finite number; ``0`` means "back to baseline"). For
        ``"label"`` it must be ``> -1`` so that the new fraud rate stays positive.

    Notes
    -----
    When several drifts of the same kind are given, the one that started last is in force:
    magnitudes are always relative to the baseline, never compounded. A later drift with
    ``magnitude=0`` therefore reverts an earlier one. Drifts of different kinds combine.

    Examples
    --------
    >>> Drift("concept", start_day=60)
    Drift(kind='concept', start_day=60.0, magnitude=1.0)
    >>> Drift("seasonal", 10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: Drift.kind must be one of 'covariate', ...; got 'seasonal'
    """

    kind: DriftKind
    start_day: float
    magnitude: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in DRIFT_KINDS:
            allowed = ", ".join(repr(k) for k in DRIFT_KINDS)
            raise ParameterError(f"Drift.kind must be one of {allowed}; got {self.kind!r}")
        start = _check_real("Drift", "start_day", self.start_day, ">= 0 (days since start)")
        if start < 0:
            raise ParameterError(f"Drift.start_day must be >= 0 (days since start); got {start!r}")
        magnitude = _check_real("Drift", "magnitude", self.magnitude, "")
        if self.kind == "label" and magnitude <= -1:
            raise ParameterError(
                f"Drift.magnitude must be > -1 for a 'label' drift (the fraud rate becomes "
                f"fraud_rate * (1 + magnitude)); got {magnitude!r}"
            )
        object.__setattr__(self, "start_day", start)
        object.__setattr__(self, "magnitude", magnitude)


@dataclass(frozen=True)
class MarketplaceConfig:
    """Everything that determines a simulated marketplace; equal configs give equal data.

    Parameters
    ----------
    n_users : int, default 5_000
        Number of users (>= 1).
    n_transactions : int, default 50_000
        Number of distinct transactions (>= 1). Re-delivered duplicates come on top.
    days : int, default 90
        Length of the simulated period in days (>= 1).
    start : str, default "2024-01-01"
        First day of the simulation: anything :class:`pandas.Timestamp` parses to a timezone-naive
        midnight. Stored normalised as ``"YYYY-MM-DD"``.
    fraud_rate : float, default 0.02
        Base fraud rate before any drift, ``0 < fraud_rate < 0.5``. The intercept of the fraud
        model is solved numerically so the realised rate matches it.
    label_delay_days : float, default 7.0
        Mean delay until a fraud label (a chargeback) arrives, ``0 < label_delay_days <
        chargeback_window_days``. Delays are lognormal, truncated to the chargeback window.
    chargeback_window_days : float, default 30.0
        A legitimate transaction's label is confirmed when this window closes without a
        chargeback (> 0).
    duplicate_rate : float, default 0.0
        Probability that an event is delivered a second time (same ``transaction_id`` and
        content, later ``ingested_at``), ``0 <= duplicate_rate <= 1``.
    drifts : tuple of Drift, default ()
        Distribution shifts to inject; a list is accepted and converted to a tuple. Every
        ``start_day`` must be ``< days``; a label drift must keep ``fraud_rate * (1 + magnitude)``
        below 0.5.
    seed : int, default 0
        Seed for :func:`numpy.random.default_rng` (>= 0).

    Raises
    ------
    mlsys_kit.params.ParameterError
        A ``ValueError``: a field has a bad value; the message names the field, the value and
        what is allowed.

    Examples
    --------
    >>> cfg = MarketplaceConfig(n_transactions=10_000, drifts=[Drift("label", 45, 1.0)])
    >>> cfg.drifts
    (Drift(kind='label', start_day=45.0, magnitude=1.0),)
    >>> MarketplaceConfig(fraud_rate=0.7)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: MarketplaceConfig.fraud_rate must be ... in (0, 0.5); got 0.7
    """

    n_users: int = 5_000
    n_transactions: int = 50_000
    days: int = 90
    start: str = "2024-01-01"
    fraud_rate: float = 0.02
    label_delay_days: float = 7.0
    chargeback_window_days: float = 30.0
    duplicate_rate: float = 0.0
    drifts: tuple[Drift, ...] = field(default=())
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "MarketplaceConfig"
        set_ = object.__setattr__
        set_(self, "n_users", _check_int(owner, "n_users", self.n_users, 1))
        set_(self, "n_transactions", _check_int(owner, "n_transactions", self.n_transactions, 1))
        set_(self, "days", _check_int(owner, "days", self.days, 1))
        set_(self, "seed", _check_int(owner, "seed", self.seed, 0))
        set_(self, "start", _check_start(self.start))

        rate = _check_real(owner, "fraud_rate", self.fraud_rate, "in (0, 0.5)")
        if not 0 < rate < MAX_FRAUD_RATE:
            raise ParameterError(
                f"{owner}.fraud_rate must be a finite number in (0, 0.5); got {rate!r}"
            )
        set_(self, "fraud_rate", rate)

        window = _check_real(owner, "chargeback_window_days", self.chargeback_window_days, "> 0")
        if window <= 0:
            raise ParameterError(f"{owner}.chargeback_window_days must be > 0; got {window!r}")
        set_(self, "chargeback_window_days", window)
        delay = _check_real(
            owner, "label_delay_days", self.label_delay_days, f"in (0, {window:g}) days"
        )
        if not 0 < delay < window:
            raise ParameterError(
                f"{owner}.label_delay_days must be in (0, chargeback_window_days={window:g}); "
                f"got {delay!r}"
            )
        set_(self, "label_delay_days", delay)

        dup = _check_real(owner, "duplicate_rate", self.duplicate_rate, "in [0, 1]")
        if not 0 <= dup <= 1:
            raise ParameterError(f"{owner}.duplicate_rate must be in [0, 1]; got {dup!r}")
        set_(self, "duplicate_rate", dup)

        set_(self, "drifts", self._check_drifts(self.drifts, rate))

    def _check_drifts(self, drifts: Any, rate: float) -> tuple[Drift, ...]:
        if isinstance(drifts, Drift):
            drifts = (drifts,)
        if isinstance(drifts, str | bytes) or not hasattr(drifts, "__iter__"):
            raise ParameterError(
                f"MarketplaceConfig.drifts must be a tuple or list of Drift; got {drifts!r}"
            )
        drifts = tuple(drifts)
        for d in drifts:
            if not isinstance(d, Drift):
                raise ParameterError(
                    f"MarketplaceConfig.drifts must contain only Drift objects; got {d!r}"
                )
            if d.start_day >= self.days:
                raise ParameterError(
                    f"MarketplaceConfig.drifts: start_day must be < days={self.days} "
                    f"(a later drift would never apply); got {d!r}"
                )
            if d.kind == "label" and not rate * (1 + d.magnitude) < MAX_FRAUD_RATE:
                raise ParameterError(
                    f"MarketplaceConfig.drifts: a label drift must keep "
                    f"fraud_rate * (1 + magnitude) < {MAX_FRAUD_RATE}; got {d!r}, which gives "
                    f"{rate * (1 + d.magnitude):g}"
                )
        return drifts

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the config fields, in order (what :func:`simulate` accepts as overrides)."""
        return tuple(f.name for f in fields(cls))


def _check_start(value: Any) -> str:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"MarketplaceConfig.start must be a date such as '2024-01-01'; got {value!r}"
        ) from exc
    if ts is pd.NaT or ts.tz is not None or ts != ts.normalize():
        raise ParameterError(
            f"MarketplaceConfig.start must be a timezone-naive date at midnight such as "
            f"'2024-01-01'; got {value!r}"
        )
    return ts.strftime("%Y-%m-%d")
