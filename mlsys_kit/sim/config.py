"""Configuration of the marketplace simulator: :class:`Drift` and :class:`MarketplaceConfig`.

Both are frozen dataclasses that validate themselves on construction with
:mod:`mlsys_kit.params`, so a bad value fails loudly -- :class:`~mlsys_kit.params.ParameterError`
(a ``ValueError`` and a ``TypeError``), naming the class, the field, the value and what is
allowed -- before any data is drawn.
See :mod:`mlsys_kit.sim` for how the simulator uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

import pandas as pd

from mlsys_kit.params import ParameterError, check_choice, check_float, check_int, check_type

__all__ = ["DRIFT_KINDS", "Drift", "DriftKind", "MarketplaceConfig"]

DriftKind = Literal["covariate", "label", "concept"]
#: Allowed values of :attr:`Drift.kind`, in the order phases are named ("covariate+concept").
DRIFT_KINDS: tuple[str, ...] = get_args(DriftKind)

#: Highest fraud rate the simulator accepts, before or after a label drift.
MAX_FRAUD_RATE = 0.5


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
    mlsys_kit.params.ParameterError: Drift: kind='seasonal' is not allowed: ...'covariate', ...
    """

    kind: DriftKind
    start_day: float
    magnitude: float = 1.0

    def __post_init__(self) -> None:
        owner = "Drift"
        check_choice("kind", self.kind, DRIFT_KINDS, owner=owner)
        start = check_float("start_day", self.start_day, min=0, owner=owner)
        if self.kind == "label":
            # The fraud rate becomes fraud_rate * (1 + magnitude): it must stay positive.
            magnitude = check_float("magnitude", self.magnitude, min=-1, open_min=True, owner=owner)
        else:
            magnitude = check_float("magnitude", self.magnitude, owner=owner)
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
    mlsys_kit.params.ParameterError: MarketplaceConfig: fraud_rate=0.7 is out of range: ...
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
        set_(self, "n_users", check_int("n_users", self.n_users, min=1, owner=owner))
        set_(
            self,
            "n_transactions",
            check_int("n_transactions", self.n_transactions, min=1, owner=owner),
        )
        set_(self, "days", check_int("days", self.days, min=1, owner=owner))
        set_(self, "seed", check_int("seed", self.seed, min=0, owner=owner))
        set_(self, "start", _normalised_start(self.start))
        rate = check_float(
            "fraud_rate",
            self.fraud_rate,
            min=0,
            max=MAX_FRAUD_RATE,
            open_min=True,
            open_max=True,
            owner=owner,
        )
        set_(self, "fraud_rate", rate)
        window = check_float(
            "chargeback_window_days",
            self.chargeback_window_days,
            min=0,
            open_min=True,
            owner=owner,
        )
        set_(self, "chargeback_window_days", window)
        delay = check_float(
            "label_delay_days", self.label_delay_days, min=0, open_min=True, owner=owner
        )
        if delay >= window:  # bounded by another field: a check of its own
            raise ParameterError(
                f"{owner}: label_delay_days={delay!r} is out of range: allowed "
                f"0 < label_delay_days < chargeback_window_days={window:g} (the mean delay "
                "of a chargeback that must arrive within the window)"
            )
        set_(self, "label_delay_days", delay)
        dup = check_float("duplicate_rate", self.duplicate_rate, min=0, max=1, owner=owner)
        set_(self, "duplicate_rate", dup)
        set_(self, "drifts", self._drifts_in_force(self.drifts, rate))

    def _drifts_in_force(self, drifts: Any, rate: float) -> tuple[Drift, ...]:
        owner = "MarketplaceConfig"
        if isinstance(drifts, Drift):
            drifts = (drifts,)
        check_type("drifts", drifts, (tuple, list), owner=owner)
        drifts = tuple(drifts)
        for d in drifts:
            check_type("every item of drifts", d, Drift, owner=owner)
            if d.start_day >= self.days:
                raise ParameterError(
                    f"{owner}: drifts: start_day must be < days={self.days} "
                    f"(a later drift would never apply); got {d!r}"
                )
            if d.kind == "label" and not rate * (1 + d.magnitude) < MAX_FRAUD_RATE:
                raise ParameterError(
                    f"{owner}: drifts: a label drift must keep "
                    f"fraud_rate * (1 + magnitude) < {MAX_FRAUD_RATE}; got {d!r}, which gives "
                    f"{rate * (1 + d.magnitude):g}"
                )
        return drifts

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the config fields, in order (what :func:`simulate` accepts as overrides)."""
        return tuple(f.name for f in fields(cls))


def _normalised_start(value: Any) -> str:
    """``value`` as ``"YYYY-MM-DD"`` if it is a timezone-naive midnight, else ParameterError."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"MarketplaceConfig: start must be a date such as '2024-01-01'; got {value!r}"
        ) from exc
    if ts is pd.NaT or ts.tz is not None or ts != ts.normalize():
        raise ParameterError(
            f"MarketplaceConfig: start must be a timezone-naive date at midnight such as "
            f"'2024-01-01'; got {value!r}"
        )
    return ts.strftime("%Y-%m-%d")
