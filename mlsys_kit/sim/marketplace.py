"""The marketplace simulator: users, transactions, delayed fraud labels, drift and duplicates.

Everything is drawn with vectorised numpy from one ``np.random.default_rng(seed)``; see
:mod:`mlsys_kit.sim` for the overview and the book chapters this serves.

Generative story (in this order):

1. **Users** sign up with exponentially growing volume (mean account age about one year, so
   the account-age mix of active users is stationary), get a country, an age group, a device and
   a lognormal activity weight. ``user_id`` follows signup order.
2. **Event times** follow a daily cycle (busy in the afternoon/evening, quiet at night) and a
   mild weekly cycle (weekends 15% busier), with the same volume every weekday. They are drawn as
   sorted uniforms pushed through the inverse CDF, so the table is born sorted.
3. **Each event picks a user** among those already signed up, proportionally to activity.
4. **Features** (x first): payment method (mix depends on country), amount (lognormal; depends
   on age group and payment method), new device (more likely on young accounts and phones),
   number of items, hour.
5. **Label**: ``is_fraud ~ Bernoulli(sigmoid(w . f(x) + b))`` with the coefficients below and an
   intercept ``b`` solved numerically (:func:`scipy.optimize.brentq`) so the fraud rate is
   ``fraud_rate``.
6. **After the event**: chargeback delay, customer-support contacts, ingestion time, duplicates.

Drift (see :class:`~mlsys_kit.sim.config.Drift`) acts on steps 2, 4 and 5 for events at or after
its start. Because every row gets its own random numbers, a drifted simulation and the drift-free
simulation with the same seed share all rows before the first drift exactly.

Known, deliberate imperfections (they are what real data looks like):

- The user base is finite and activity is skewed, so a few heavy users weigh on every
  statistic and age with the simulation: ``account_age_days`` drifts slightly even without any
  injected drift (a two-sample KS test on 100k+ rows notices). Compare seeds with care: two
  seeds have different user bases.
- A drift starting at a fractional day splits that day, so "before" and "after" contain a
  different mix of hours of that one day.
- Fraud is independent across transactions given the features (no fraud rings or
  compromised accounts); the group attributes have no direct effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtr, ndtri

from mlsys_kit.params import ParameterError, check_bool, check_float, check_type
from mlsys_kit.sim.config import DRIFT_KINDS, Drift, MarketplaceConfig

__all__ = [
    "AGE_GROUPS",
    "BASELINE_COEFFICIENTS",
    "CONCEPT_COEFFICIENTS",
    "COUNTRIES",
    "DEVICES",
    "PAYMENT_METHODS",
    "RISK_FEATURES",
    "Marketplace",
    "fraud_rate_by_day",
    "risk_features",
    "simulate",
]

# --------------------------------------------------------------------------------------------
# World constants. Changing any of them changes every simulation, so they are module constants
# rather than config fields; notebooks may read them to show the ground truth.
# --------------------------------------------------------------------------------------------

#: User countries and their shares of users.
COUNTRIES: tuple[str, ...] = ("US", "IN", "BR", "DE", "NG")
_COUNTRY_SHARES = np.array([0.38, 0.22, 0.17, 0.13, 0.10])
#: User age groups (an ordered categorical) and their shares of users.
AGE_GROUPS: tuple[str, ...] = ("18-24", "25-34", "35-49", "50-64", "65+")
_AGE_SHARES = np.array([0.17, 0.30, 0.28, 0.17, 0.08])
#: User devices; the mix depends on the age group (younger users are more often on mobile).
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
_DEVICE_SHARES_BY_AGE = np.array(
    [
        [0.78, 0.18, 0.04],
        [0.68, 0.26, 0.06],
        [0.58, 0.34, 0.08],
        [0.45, 0.43, 0.12],
        [0.35, 0.49, 0.16],
    ]
)
#: Payment methods; the mix depends on the user's country.
PAYMENT_METHODS: tuple[str, ...] = ("card", "wallet", "bank_transfer")
_PAYMENT_SHARES_BY_COUNTRY = np.array(
    [
        [0.65, 0.25, 0.10],  # US
        [0.30, 0.55, 0.15],  # IN
        [0.45, 0.30, 0.25],  # BR
        [0.35, 0.20, 0.45],  # DE
        [0.40, 0.35, 0.25],  # NG
    ]
)
_MEAN_ACCOUNT_AGE_DAYS = 365.0  # signups grow exponentially -> account age ~ Exponential(365 d)
_ACTIVITY_SIGMA = 1.3  # lognormal activity weights: top 1% of users ~13% of events, top 10% ~half
# Relative transaction volume by hour of day (00:00-01:00 first); about 5% of traffic at night.
_HOURLY_WEIGHTS = np.array(
    [0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.60, 0.85, 1.00, 1.10, 1.20]
    + [1.30, 1.25, 1.20, 1.20, 1.25, 1.35, 1.50, 1.65, 1.70, 1.55, 1.15, 0.70]
)
_WEEKEND_WEIGHT = 1.15
_NIGHT_END_HOUR = 6  # "night" is 00:00-05:59
_LOG_AMOUNT_CENTER = 3.6  # median amount ~ 37 (currency units)
_LOG_AMOUNT_SD = 0.9
_LOG_AMOUNT_BY_AGE = np.array([-0.25, 0.0, 0.10, 0.15, 0.05])
_LOG_AMOUNT_BANK_TRANSFER = 0.4  # bank transfers are used for bigger purchases
_NEW_DEVICE_P_BY_DEVICE = np.array([0.06, 0.03, 0.04])  # mobile, desktop, tablet
_NEW_DEVICE_YOUNG_ACCOUNT_LOGIT = 1.5  # times exp(-account_age_days / 30)
_NEW_ACCOUNT_SCALE_DAYS = 30.0
_ITEMS_GEOMETRIC_P = 0.55  # n_items ~ Geometric(0.55) on 1, 2, ...: mean 1.8
# Covariate drift of magnitude m: log amount + 0.4 m, night weight * e^{0.8 m},
# new-device odds * e^{0.9 m}, wallet weight * e^{0.7 m}.
_COV_LOG_AMOUNT, _COV_NIGHT, _COV_NEW_DEVICE, _COV_WALLET = 0.4, 0.8, 0.9, 0.7
_SUPPORT_CONTACT_RATE = (0.15, 1.8)  # Poisson mean in the 7 days after: legit, fraud
_CHARGEBACK_DELAY_SIGMA = 0.75  # lognormal sigma of the chargeback delay
_INGEST_DELAY_MEAN_S = 30.0  # original delivery: 1 s + Exponential(30 s)
_DUPLICATE_DELAY_MEAN_S = 6 * 3600.0  # re-delivery: 60 s + Exponential(6 h) after the original
_MIN_POOL = 20_000  # smallest candidate pool per label-drift regime
_MAX_INTERCEPT_ROWS = 250_000  # rows used to solve an intercept (a strided subsample beyond)
_RTOL = 4 * np.finfo(float).eps  # brentq's tightest relative tolerance: solve to float precision

#: Names of the model inputs f(x) of the fraud mechanism, computed by :func:`risk_features`.
RISK_FEATURES: tuple[str, ...] = (
    "log_amount",  # ln(amount) - 3.6
    "night",  # hour < 6
    "new_device",
    "new_account",  # exp(-account_age_days / 30): 1 for a brand-new account, 0.37 at 30 days
    "wallet",  # payment_method == "wallet" (card is the reference)
    "bank_transfer",  # payment_method == "bank_transfer"
    "extra_items",  # n_items - 1
    "new_device_x_night",  # interaction: a new device at night
)

#: Coefficients of the fraud mechanism before any concept drift. ``extra_items`` and all user
#: attributes (country, age group, device) carry no direct signal.
BASELINE_COEFFICIENTS: MappingProxyType[str, float] = MappingProxyType(
    {
        "log_amount": 1.0,
        "night": 1.3,
        "new_device": 2.0,
        "new_account": 3.0,
        "wallet": 0.5,
        "bank_transfer": -0.9,
        "extra_items": 0.0,
        "new_device_x_night": 1.0,
    }
)
#: Coefficients after a concept drift of magnitude 1 ("fraudsters adapted"): small card-testing
#: amounts, daytime activity, aged devices, wallets, many-item orders for resale. A drift of
#: magnitude m uses ``baseline + m * (concept - baseline)``.
CONCEPT_COEFFICIENTS: MappingProxyType[str, float] = MappingProxyType(
    {
        "log_amount": -0.6,
        "night": 0.0,
        "new_device": 0.6,
        "new_account": 3.0,
        "wallet": 1.4,
        "bank_transfer": -0.9,
        "extra_items": 0.4,
        "new_device_x_night": 0.0,
    }
)

_W_BASE = np.array([BASELINE_COEFFICIENTS[f] for f in RISK_FEATURES])
_W_CONCEPT = np.array([CONCEPT_COEFFICIENTS[f] for f in RISK_FEATURES])
_S_PER_DAY = 86_400
_US_PER_S = 1_000_000

# Where each transaction column is known (for leakage checks) and what it means.
_FEATURE_INFO: tuple[tuple[str, str, str], ...] = (
    ("transaction_id", "id", "Event id, increasing with time; a duplicate re-uses its id."),
    ("user_id", "id", "Buyer; join to Marketplace.users for the signup time."),
    ("timestamp", "time", "When the transaction happened (event time)."),
    ("amount", "at_event", "Order value, lognormal, rounded to cents."),
    ("payment_method", "at_event", "card / wallet / bank_transfer; mix depends on country."),
    ("n_items", "at_event", "Items in the order (>= 1); no direct fraud signal at baseline."),
    ("account_age_days", "at_event", "Days from the user's signup to this transaction."),
    ("new_device", "at_event", "The order came from a device not seen before for this user."),
    ("hour", "at_event", "Hour of day of the timestamp (0-23)."),
    ("country", "at_event", "User attribute (static); no direct fraud signal."),
    ("age_group", "at_event", "User attribute (static, ordered); no direct fraud signal."),
    ("device", "at_event", "User's usual device type (static); no direct fraud signal."),
    (
        "support_contacts_7d",
        "post_event",
        "LEAKY: customer-support contacts in the 7 days AFTER the transaction.",
    ),
    ("is_fraud", "label", "Ground-truth label (a chargeback arrives for fraud)."),
    (
        "label_available_at",
        "label",
        "When the label becomes known: chargeback time, or window close for legit orders.",
    ),
    ("ingested_at", "time", "When the event reached the warehouse; duplicates arrive later."),
)


# --------------------------------------------------------------------------------------------
# Public helpers
# --------------------------------------------------------------------------------------------


def risk_features(transactions: pd.DataFrame) -> pd.DataFrame:
    """Compute the fraud mechanism's inputs f(x) from transaction columns.

    The true fraud logit of a transaction in regime ``r`` is
    ``risk_features(tx) @ coefficients_r + intercept_r + prior_logit_shift_r`` where the
    coefficients, intercept and shift are the row ``r`` of :attr:`Marketplace.regimes`.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Needs the columns ``amount``, ``hour``, ``new_device``, ``account_age_days``,
        ``payment_method`` and ``n_items``.

    Returns
    -------
    pandas.DataFrame
        One float64 column per name in :data:`RISK_FEATURES`, same index as ``transactions``.

    Examples
    --------
    >>> mkt = simulate(n_transactions=1_000, n_users=200)
    >>> list(risk_features(mkt.transactions).columns) == list(RISK_FEATURES)
    True
    """
    pay = transactions["payment_method"]
    pay_code = (pay == "wallet").to_numpy(dtype=np.int8) + 2 * (pay == "bank_transfer").to_numpy(
        dtype=np.int8
    )
    matrix = _risk_matrix(
        transactions["amount"].to_numpy(dtype=np.float64),
        transactions["hour"].to_numpy(dtype=np.int64),
        transactions["new_device"].to_numpy(dtype=bool),
        transactions["account_age_days"].to_numpy(dtype=np.float64),
        pay_code,
        transactions["n_items"].to_numpy(dtype=np.int64),
    )
    return pd.DataFrame(matrix, index=transactions.index, columns=list(RISK_FEATURES))


def fraud_rate_by_day(transactions: pd.DataFrame) -> pd.DataFrame:
    """Daily transaction counts and fraud rate, by event day.

    Duplicated rows are counted as they are; deduplicate first (e.g.
    ``tx.drop_duplicates("transaction_id")``) for the true rate.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Needs ``timestamp`` and ``is_fraud``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``date`` (midnight timestamps) with columns ``n_transactions``,
        ``n_fraud`` and ``fraud_rate``.

    Examples
    --------
    >>> daily = fraud_rate_by_day(simulate(n_transactions=5_000, days=10).transactions)
    >>> len(daily), list(daily.columns)
    (10, ['n_transactions', 'n_fraud', 'fraud_rate'])
    """
    grouped = transactions.groupby(transactions["timestamp"].dt.floor("D").rename("date"))
    out = grouped["is_fraud"].agg(["size", "sum", "mean"])
    out.columns = ["n_transactions", "n_fraud", "fraud_rate"]
    return out.astype({"n_transactions": np.int64, "n_fraud": np.int64})


# --------------------------------------------------------------------------------------------
# The result object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Marketplace:
    """A simulated marketplace: what the team sees, plus the ground truth it never sees.

    Attributes
    ----------
    config : MarketplaceConfig
        The configuration that produced this data (re-run :func:`simulate` with it to get the
        same data again).
    users : pandas.DataFrame
        One row per user: ``user_id`` (int64, in signup order), ``signup_time``
        (datetime64[us]; signups grow exponentially, so most users -- about 78% with
        ``days=90`` -- joined before the simulation start and the rest during it),
        ``country``, ``age_group`` (ordered) and ``device`` (categoricals).
    transactions : pandas.DataFrame
        One row per delivered event, sorted by ``timestamp`` (a duplicate directly follows its
        original). Columns and where each is known: :attr:`feature_info`.
    truth : pandas.DataFrame
        Aligned row for row with ``transactions`` (same index): ``transaction_id``,
        ``fraud_probability`` (the true P(fraud | x) at that time), ``phase`` (categorical: the
        kinds of drift in force, ``"baseline"``, ``"covariate"``, ``"label+concept"``, ...),
        ``regime`` (int, row of :attr:`regimes`) and ``is_duplicate`` (bool: a re-delivery).
    regimes : pandas.DataFrame
        The ground-truth mechanism, one row per period between drift starts: ``start_day``,
        ``end_day``, ``phase``, ``covariate_magnitude``, ``concept_magnitude``,
        ``label_fraud_rate`` (NaN without label drift), ``prior_logit_shift``, ``intercept``,
        one ``coef_<name>`` column per :data:`RISK_FEATURES` name, ``n_transactions`` (distinct)
        and ``expected_fraud_rate`` (mean true probability there).

    Examples
    --------
    >>> mkt = simulate(n_transactions=2_000, n_users=300, drifts=[Drift("concept", 60)])
    >>> mkt.regimes[["start_day", "end_day", "phase"]]
            start_day  end_day     phase
    regime
    0             0.0     60.0  baseline
    1            60.0     90.0   concept
    """

    config: MarketplaceConfig
    users: pd.DataFrame
    transactions: pd.DataFrame
    truth: pd.DataFrame
    regimes: pd.DataFrame

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Marketplace({len(self.users):,} users, {len(self.transactions):,} rows "
            f"({c.n_transactions:,} distinct transactions), {c.days} days from {c.start}, "
            f"drifts={list(c.drifts)}, seed={c.seed})"
        )

    @property
    def start(self) -> pd.Timestamp:
        """The simulation start (midnight of ``config.start``)."""
        return pd.Timestamp(self.config.start)

    def since_start(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with every date-time column as the time since the simulation start.

        The simulation's calendar (it starts on ``config.start``) is arbitrary; "day 3, 14:05"
        reads more easily than a date, and shows how far into the simulation a row is. Use it to
        display rows; keep the date-time columns for computing.

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows of this simulation, e.g. ``market.transactions.head()``.

        Returns
        -------
        pandas.DataFrame
            Same index and columns; each ``datetime64`` column becomes a ``timedelta64`` column
            (displayed as ``0 days 00:04:44``). Other columns are unchanged.

        Examples
        --------
        >>> from mlsys_kit.sim import simulate
        >>> market = simulate(n_transactions=1_000, n_users=50, days=10, seed=0)
        >>> market.since_start(market.transactions.head(1))["timestamp"].dtype.kind
        'm'
        """
        check_type("frame", frame, pd.DataFrame, owner="since_start")
        times = frame.select_dtypes(include="datetime").columns
        return frame.assign(**{column: frame[column] - self.start for column in times})

    def day(self, times: Any, *, whole: bool = False) -> Any:
        """Days since the simulation start of each date-time in ``times``.

        The one way to turn the simulator's timestamps into "day 12.5" for plots, windows
        and groupings.

        Parameters
        ----------
        times : pandas.Series, pandas.DatetimeIndex or datetime-like
            Date-times of this simulation, e.g. ``market.transactions["timestamp"]``.
        whole : bool, default False
            Return whole days (the day a time falls in, counted from 0) instead of
            fractional days.

        Returns
        -------
        Same kind as ``times`` (a Series keeps its index) or a float / int for a scalar.

        Examples
        --------
        >>> from mlsys_kit.sim import simulate
        >>> market = simulate(n_transactions=1_000, n_users=50, days=10, seed=0)
        >>> float(market.day(market.start + pd.Timedelta(hours=36)))
        1.5
        >>> int(market.day(market.start + pd.Timedelta(hours=36), whole=True))
        1
        """
        whole = check_bool("whole", whole, owner="day")
        elapsed = (pd.to_datetime(times) - self.start) / pd.Timedelta(days=1)
        if not whole:
            return elapsed
        floored = np.floor(elapsed)
        return floored.astype("int64") if hasattr(floored, "astype") else int(floored)

    @property
    def feature_info(self) -> pd.DataFrame:
        """Describe every transaction column and when it becomes known.

        Returns
        -------
        pandas.DataFrame
            Columns ``column``, ``dtype``, ``available`` and ``description``, one row per
            column of :attr:`transactions`, in order. ``available`` is ``"at_event"`` (usable
            as a feature), ``"post_event"`` (recorded after the event: leaks the label),
            ``"label"`` (the target and its arrival time), ``"id"`` or ``"time"``.

        Examples
        --------
        >>> info = simulate(n_transactions=1_000, n_users=100).feature_info
        >>> info.loc[info["available"] == "post_event", "column"].tolist()
        ['support_contacts_7d']
        """
        dtypes = self.transactions.dtypes
        rows = [(col, str(dtypes[col]), avail, desc) for col, avail, desc in _FEATURE_INFO]
        return pd.DataFrame(rows, columns=["column", "dtype", "available", "description"])

    def window(self, start_day: float, end_day: float) -> pd.DataFrame:
        """Transactions whose event time is in ``[start_day, end_day)`` days since the start.

        Parameters
        ----------
        start_day, end_day : float
            Days since the simulation start (fractions allowed).

        Returns
        -------
        pandas.DataFrame
            The matching rows of :attr:`transactions` (original index kept, so ``truth.loc``
            aligns), duplicates included.

        Examples
        --------
        >>> mkt = simulate(n_transactions=3_000, days=30)
        >>> week = mkt.window(7, 14)
        >>> bool(week["timestamp"].min() >= mkt.start + pd.Timedelta(days=7))
        True
        """
        start_day = check_float("start_day", start_day, owner="window")
        end_day = check_float("end_day", end_day, owner="window")
        lo = self.start + pd.Timedelta(days=start_day)
        hi = self.start + pd.Timedelta(days=end_day)
        ts = self.transactions["timestamp"]
        return self.transactions[(ts >= lo) & (ts < hi)]

    def labels_available_at(self, time: Any) -> pd.DataFrame:
        """Labelled transactions a team could train on at ``time``.

        A row qualifies when it has been ingested (``ingested_at <= time``) and its label has
        arrived (``label_available_at <= time``): a chargeback for fraud, the close of the
        chargeback window for a legitimate order. Recent transactions are therefore missing,
        and recent *fraud* is over-represented among the labelled recent rows -- the label
        delay bias of book chapter 4.

        Parameters
        ----------
        time : float or datetime-like
            A number is read as days since the simulation start; anything else is passed to
            :class:`pandas.Timestamp`.

        Returns
        -------
        pandas.DataFrame
            The qualifying rows of :attr:`transactions` (original index kept), duplicates
            included.

        Examples
        --------
        >>> mkt = simulate(n_transactions=5_000)
        >>> train = mkt.labels_available_at(45)
        >>> bool(train["label_available_at"].max() <= mkt.start + pd.Timedelta(days=45))
        True
        """
        cutoff = self._as_time(time)
        tx = self.transactions
        return tx[(tx["label_available_at"] <= cutoff) & (tx["ingested_at"] <= cutoff)]

    def _as_time(self, time: Any) -> pd.Timestamp:
        if isinstance(time, int | float | np.integer | np.floating) and not isinstance(time, bool):
            return self.start + pd.Timedelta(days=float(time))
        return pd.Timestamp(time)


# --------------------------------------------------------------------------------------------
# simulate()
# --------------------------------------------------------------------------------------------


def simulate(config: MarketplaceConfig | None = None, **overrides: Any) -> Marketplace:
    """Simulate the marketplace described by ``config`` (defaults) with ``overrides`` applied.

    Parameters
    ----------
    config : MarketplaceConfig, optional
        Base configuration; the defaults of :class:`MarketplaceConfig` when omitted.
    **overrides
        Any :class:`MarketplaceConfig` field, e.g. ``n_transactions=10_000, seed=3,
        drifts=[Drift("concept", 60)]``.

    Returns
    -------
    Marketplace
        Users, transactions and ground truth. The same config (including ``seed``) always gives
        bitwise-identical data.

    Raises
    ------
    mlsys_kit.params.ParameterError
        The resulting config is invalid (see :class:`MarketplaceConfig`), or an override is
        not a config field.

    Notes
    -----
    Cost is linear in ``n_transactions``: well under a second per million on two cores
    without drift. A covariate drift adds a reference pass; a label drift draws candidate
    pools for its period, about ``(1 + magnitude)`` times that period's size.

    Examples
    --------
    >>> mkt = simulate(n_transactions=10_000, seed=3, drifts=[Drift("concept", 60)])
    >>> len(mkt.transactions), mkt.truth["phase"].cat.categories.tolist()
    (10000, ['baseline', 'concept'])
    """
    base = MarketplaceConfig() if config is None else config
    unknown = sorted(set(overrides) - set(MarketplaceConfig.field_names()))
    if unknown:
        raise ParameterError(
            f"simulate: unknown config field(s) {unknown}; "
            f"valid fields: {', '.join(MarketplaceConfig.field_names())}"
        )
    cfg = replace(base, **overrides) if overrides else base
    return _Simulator(cfg).run()


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


def _risk_matrix(
    amount: np.ndarray,
    hour: np.ndarray,
    new_device: np.ndarray,
    account_age_days: np.ndarray,
    pay_code: np.ndarray,
    n_items: np.ndarray,
) -> np.ndarray:
    """Columns of :data:`RISK_FEATURES` as an (n, 8) float64 array."""
    out = np.empty((len(RISK_FEATURES), amount.shape[0]))  # filled row-wise, returned as .T
    night = hour < _NIGHT_END_HOUR
    np.subtract(np.log(amount), _LOG_AMOUNT_CENTER, out=out[0])
    out[1] = night
    out[2] = new_device
    np.exp(account_age_days / -_NEW_ACCOUNT_SCALE_DAYS, out=out[3])
    out[4] = pay_code == 1
    out[5] = pay_code == 2
    out[6] = n_items - 1
    out[7] = new_device & night
    return out.T


def _affine(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """``x @ w + b`` column by column (no BLAS: its threads thrash on a busy 2-core box)."""
    out = np.full(x.shape[0], b)
    for j, wj in enumerate(w):
        if wj != 0:
            out += wj * x[:, j]
    return out


def _sorted_uniforms(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """``n`` sorted iid uniforms on [lo, hi) in O(n) via normalised exponential spacings."""
    c = np.cumsum(rng.standard_exponential(n + 1))
    return lo + (hi - lo) * (c[:-1] / c[-1])


def _solve_intercept(score: np.ndarray, target: float) -> float:
    """The ``b`` with ``mean(sigmoid(score + b)) == target``, by :func:`scipy.optimize.brentq`.

    ``mean(sigmoid(score + b))`` increases with ``b``; the root lies between
    ``logit(target) - max(score)`` and ``logit(target) - min(score)`` (widened by one).
    """
    lt = math.log(target / (1 - target))
    lo, hi = lt - float(score.max()) - 1.0, lt - float(score.min()) + 1.0
    return float(
        brentq(lambda b: float(expit(score + b).mean()) - target, lo, hi, xtol=1e-14, rtol=_RTOL)
    )


def _guide_table(cum: np.ndarray) -> np.ndarray:
    """Bucket -> first index, for :func:`_search_right` (2 buckets per entry of ``cum``)."""
    n_buckets = 2 * len(cum)
    return np.searchsorted(cum, np.arange(n_buckets) * (cum[-1] / n_buckets), side="right")


def _search_right(cum: np.ndarray, guide: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cum, x, "right")`` for unsorted ``x`` via a guide table.

    Same result, several times faster for random keys: start from the bucket's first
    candidate (one bucket early, to absorb rounding) and step forward, vectorised over rows.
    """
    n_buckets = len(guide)
    bucket = (x * (n_buckets / cum[-1])).astype(np.int64) - 1
    idx = guide[np.clip(bucket, 0, n_buckets - 1)]
    padded = np.append(cum, np.inf)
    todo = np.flatnonzero(padded[idx] <= x)
    while todo.size:
        idx[todo] += 1
        todo = todo[padded[idx[todo]] <= x[todo]]
    return idx


def _truncated_lognormal_mu(mean: float, upper: float, sigma: float) -> float:
    """``mu`` such that a lognormal(mu, sigma) truncated to (0, upper] has the given mean.

    The truncated mean ``exp(mu + sigma**2 / 2) * Phi(a - sigma) / Phi(a)`` with
    ``a = (ln(upper) - mu) / sigma`` increases with ``mu`` (from 0 to ``upper``), so
    :func:`scipy.optimize.brentq` finds the one root in a wide bracket.
    """
    log_upper = math.log(upper)

    def excess(mu: float) -> float:
        a = (log_upper - mu) / sigma
        return math.exp(mu + sigma**2 / 2) * float(ndtr(a - sigma)) / float(ndtr(a)) - mean

    lo, hi = math.log(mean) - 10 * sigma - 10, log_upper + 10 * sigma + 10
    return float(brentq(excess, lo, hi, xtol=1e-14, rtol=_RTOL))


@dataclass
class _Users:
    signup_s: np.ndarray  # int64 seconds since simulation start, ascending (user_id order)
    cum_weight: np.ndarray  # cumulative activity weights, in user_id order
    guide: np.ndarray  # guide table of cum_weight for fast weighted draws
    country: np.ndarray  # int8 codes
    age: np.ndarray
    device: np.ndarray


@dataclass
class _Regimes:
    start_s: np.ndarray  # int64, regime start (seconds since simulation start); [0] == 0
    end_s: np.ndarray
    phase: list[str]
    cov: np.ndarray  # covariate magnitude in force
    concept: np.ndarray  # concept magnitude in force
    label_rate: np.ndarray  # target fraud rate under a label drift, NaN otherwise
    coef_set: np.ndarray  # index into coef_sets
    coef_sets: list[np.ndarray] = field(default_factory=list)


class _Simulator:
    """One run of :func:`simulate`; holds the config, the random streams and the world."""

    def __init__(self, cfg: MarketplaceConfig) -> None:
        self.cfg = cfg
        self.n = cfg.n_transactions
        self.end_s = cfg.days * _S_PER_DAY
        root = np.random.default_rng(cfg.seed)
        # Independent child streams: changing e.g. duplicate_rate leaves every other column alone.
        (self.rng_users, self.rng_time, self.rng_x, self.rng_y, self.rng_pool, self.rng_post) = (
            root.spawn(6)
        )
        self.start = pd.Timestamp(cfg.start)
        self.regimes = self._build_regimes()
        self.users = self._draw_users()
        self._time_cdfs()

    # -- setup --------------------------------------------------------------------------------

    def _build_regimes(self) -> _Regimes:
        cfg = self.cfg
        starts = sorted({round(d.start_day * _S_PER_DAY) for d in cfg.drifts} | {0})
        start_s = np.array(starts, dtype=np.int64)
        end_s = np.append(start_s[1:], self.end_s)
        cov, concept, label_rate, phases = [], [], [], []
        for s in starts:
            in_force: dict[str, Drift] = {}
            for d in sorted(cfg.drifts, key=lambda d: d.start_day):  # latest start wins
                if round(d.start_day * _S_PER_DAY) <= s:
                    in_force[d.kind] = d
            active = [k for k in DRIFT_KINDS if k in in_force and in_force[k].magnitude != 0]
            phases.append("+".join(active) or "baseline")
            cov.append(in_force["covariate"].magnitude if "covariate" in active else 0.0)
            concept.append(in_force["concept"].magnitude if "concept" in active else 0.0)
            label_rate.append(
                cfg.fraud_rate * (1 + in_force["label"].magnitude) if "label" in active else np.nan
            )
        concept_arr = np.array(concept)
        magnitudes = sorted(set(concept) | {0.0}, key=lambda m: (m != 0, m))
        return _Regimes(
            start_s=start_s,
            end_s=end_s,
            phase=phases,
            cov=np.array(cov),
            concept=concept_arr,
            label_rate=np.array(label_rate),
            coef_set=np.array([magnitudes.index(m) for m in concept], dtype=np.int64),
            coef_sets=[(1 - m) * _W_BASE + m * _W_CONCEPT for m in magnitudes],
        )

    def _draw_users(self) -> _Users:
        rng, cfg = self.rng_users, self.cfg
        m = cfg.n_users
        # Exponentially growing signups up to the simulation end: account age at any event time
        # is then ~ Exponential(mean 365 d) whatever the day, i.e. stationary.
        signup_days = cfg.days - rng.exponential(_MEAN_ACCOUNT_AGE_DAYS, m)
        signup_s = np.sort(np.floor(signup_days * _S_PER_DAY).astype(np.int64))
        signup_s[0] = min(signup_s[0], 0)  # someone must exist when the first event happens
        weights = rng.lognormal(0.0, _ACTIVITY_SIGMA, m)
        country = _categorical_draw(rng.random(m), _COUNTRY_SHARES)
        age = _categorical_draw(rng.random(m), _AGE_SHARES)
        device = _categorical_draw(rng.random(m), _DEVICE_SHARES_BY_AGE[age])
        cum_weight = np.cumsum(weights)
        return _Users(signup_s, cum_weight, _guide_table(cum_weight), country, age, device)

    def _time_cdfs(self) -> None:
        """Set up the piecewise-constant event-time density and its CDFs.

        The baseline density lives on hour bins (daily and weekly cycle, equal volume per
        weekday). A covariate drift reshapes the daily cycle (more night traffic) inside each
        (day, regime) segment of a finer grid split at regime starts, but keeps each segment's
        mass, so the drifted CDF agrees with the baseline one at every day and regime boundary.
        """
        reg = self.regimes
        self.edges_h = np.arange(0, self.end_s + 1, 3600, dtype=np.int64).astype(np.float64)
        self.cdf_h = self._cdf_base(self.edges_h)
        self.cov_u0 = math.inf  # uniforms >= cov_u0 map through the drifted CDF
        if not np.any(reg.cov != 0):
            self.edges_c, self.cdf_c = self.edges_h, self.cdf_h
            return
        edges = np.union1d(self.edges_h, reg.start_s.astype(np.float64))
        left = edges[:-1].astype(np.int64)
        hour, day = (left // 3600) % 24, left // _S_PER_DAY
        regime = np.searchsorted(reg.start_s, left, side="right") - 1
        cov = reg.cov[regime]
        base = np.interp(edges, self.edges_h, self.cdf_h)  # same function, finer knots
        mass = np.diff(base) * np.exp(_COV_NIGHT * cov * (hour < _NIGHT_END_HOUR))
        new_seg = np.concatenate([[True], (np.diff(day) != 0) | (np.diff(regime) != 0)])
        first = np.flatnonzero(new_seg)  # first bin of each segment = its left knot
        last = np.append(first[1:], len(left))  # right knot of each segment
        seg = np.cumsum(new_seg) - 1
        cum = np.concatenate([[0.0], np.cumsum(mass)])
        lo, hi = first[seg], last[seg]
        frac = (cum[1:] - cum[lo]) / (cum[hi] - cum[lo])
        cdf = base.copy()
        drifted = cov != 0
        cdf[1:][drifted] = (base[lo] + (base[hi] - base[lo]) * frac)[drifted]
        cdf[last] = base[last]  # pin segment boundaries exactly
        self.edges_c, self.cdf_c = edges, cdf
        self.cov_u0 = float(base[first[np.argmax(cov[first] != 0)]])

    def _cdf_base(self, edges: np.ndarray) -> np.ndarray:
        left = edges[:-1].astype(np.int64)
        hour, day = (left // 3600) % 24, left // _S_PER_DAY
        weekday = (self.start.day_of_week + day) % 7
        mass = np.where(weekday >= 5, _WEEKEND_WEIGHT, 1.0) * _HOURLY_WEIGHTS[hour]
        cdf = np.concatenate([[0.0], np.cumsum(mass * np.diff(edges))])
        return cdf / cdf[-1]

    # -- events -------------------------------------------------------------------------------

    def _times(self, u: np.ndarray, drifted: bool = True) -> np.ndarray:
        """Event times (int seconds since start) for sorted uniforms ``u``."""
        t = np.interp(u, self.cdf_h, self.edges_h)
        if drifted and self.cov_u0 < 1.0:
            late = u >= self.cov_u0
            t[late] = np.interp(u[late], self.cdf_c, self.edges_c)
        return np.minimum(np.floor(t).astype(np.int64), self.end_s - 1)

    def _draw_noise(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        return {
            "u_user": rng.random(n),
            "u_pay": rng.random(n),
            "z_amount": rng.standard_normal(n),
            "u_device": rng.random(n),
            "n_items": rng.geometric(_ITEMS_GEOMETRIC_P, n),
        }

    def _events(
        self, t_s: np.ndarray, noise: dict[str, np.ndarray], covariate: bool = True
    ) -> dict[str, np.ndarray]:
        """Features for events at times ``t_s`` from per-row ``noise`` (x first, no label)."""
        users, reg = self.users, self.regimes
        regime = np.searchsorted(reg.start_s, t_s, side="right") - 1
        cov = reg.cov[regime] if covariate and np.any(reg.cov != 0) else None
        # Pick a user among those signed up by t, proportionally to activity.
        k = np.searchsorted(users.signup_s, t_s, side="right")
        user = _search_right(
            users.cum_weight, users.guide, noise["u_user"] * users.cum_weight[k - 1]
        )
        user = np.minimum(user, k - 1)
        age_days = (t_s - users.signup_s[user]) / _S_PER_DAY
        country, age, device = users.country[user], users.age[user], users.device[user]
        # Payment method: country mix, wallet up-weighted under covariate drift.
        shares = _PAYMENT_SHARES_BY_COUNTRY[country]
        if cov is not None:
            shares = shares * np.exp(np.outer(cov, [0.0, _COV_WALLET, 0.0]))
        cum = np.cumsum(shares, axis=1)
        target = noise["u_pay"] * cum[:, 2]
        pay = (target >= cum[:, 0]).astype(np.int8) + (target >= cum[:, 1])
        # Amount: lognormal, by age group and payment method; larger under covariate drift.
        log_amount = (
            _LOG_AMOUNT_CENTER + _LOG_AMOUNT_BY_AGE[age] + _LOG_AMOUNT_SD * noise["z_amount"]
        )
        log_amount += _LOG_AMOUNT_BANK_TRANSFER * (pay == 2)
        if cov is not None:
            log_amount += _COV_LOG_AMOUNT * cov
        amount = np.maximum(np.round(np.exp(log_amount), 2), 0.01)
        # New device: more likely on young accounts (and phones); more under covariate drift.
        nd_logit = logit(_NEW_DEVICE_P_BY_DEVICE)[
            device
        ] + _NEW_DEVICE_YOUNG_ACCOUNT_LOGIT * np.exp(age_days / -_NEW_ACCOUNT_SCALE_DAYS)
        if cov is not None:
            nd_logit += _COV_NEW_DEVICE * cov
        new_device = noise["u_device"] < expit(nd_logit)
        return {
            "t_s": t_s,
            "regime": regime,
            "user": user,
            "amount": amount,
            "pay": pay,
            "n_items": noise["n_items"],
            "age_days": age_days,
            "new_device": new_device,
        }

    @staticmethod
    def _matrix(ev: dict[str, np.ndarray]) -> np.ndarray:
        hour = (ev["t_s"] // 3600) % 24
        return _risk_matrix(
            ev["amount"], hour, ev["new_device"], ev["age_days"], ev["pay"], ev["n_items"]
        )

    def _logits(self, x: np.ndarray, regime: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
        """Mechanism logits ``x @ w + b`` with each row's regime coefficients."""
        sets = self.regimes.coef_sets
        if len(sets) == 1:
            return _affine(x, sets[0], intercepts[0])
        row_set = self.regimes.coef_set[regime]
        out = np.empty(len(x))
        for i, w in enumerate(sets):
            rows = row_set == i
            out[rows] = _affine(x[rows], w, intercepts[i])
        return out

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Marketplace:
        cfg, reg, n = self.cfg, self.regimes, self.n
        u = _sorted_uniforms(self.rng_time, n, 0.0, 1.0)
        noise = self._draw_noise(self.rng_x, n)
        ev = self._events(self._times(u), noise)
        x = self._matrix(ev)

        # Intercepts are solved on the baseline P(x): the drawn rows themselves, or -- when a
        # covariate drift reshapes P(x) -- the same random numbers pushed through the baseline.
        sub = slice(None, None, max(1, math.ceil(n / _MAX_INTERCEPT_ROWS)))
        if np.any(reg.cov != 0):
            ref_noise = {k: v[sub] for k, v in noise.items()}
            ref = self._matrix(self._events(self._times(u[sub], False), ref_noise, False))
        else:
            ref = x[sub]
        intercepts = np.array(
            [_solve_intercept(_affine(ref, w, 0.0), cfg.fraud_rate) for w in reg.coef_sets]
        )

        ev["logit"] = self._logits(x, ev["regime"], intercepts)
        del x, ref
        ev["is_fraud"] = self.rng_y.random(n) < expit(ev["logit"])
        shift = np.zeros(len(reg.start_s))
        for r in np.flatnonzero(~np.isnan(reg.label_rate)):
            shift[r] = self._apply_label_drift(ev, r, intercepts)
        return self._assemble(ev, intercepts, shift)

    def _apply_label_drift(
        self, ev: dict[str, np.ndarray], r: int, intercepts: np.ndarray
    ) -> float:
        """Replace regime ``r``'s rows by a class-stratified draw from a candidate pool.

        Candidates for the regime's period are drawn with the mechanism in force there (so
        P(x | y) is exactly what it would have been); then ``n_fraud ~ Binomial(N, rate)``
        fraud and ``N - n_fraud`` legit candidates are chosen uniformly at random within each
        class and sorted by time. The result is an iid sample with P(fraud) = ``rate``. Returns
        the prior logit shift ``logit(rate) - logit(pool rate)`` that turns the mechanism's
        P(y | x) into the true one.
        """
        reg, rng = self.regimes, self.rng_pool
        rate = float(reg.label_rate[r])
        t0, t1 = int(reg.start_s[r]), int(reg.end_s[r])
        i0, i1 = np.searchsorted(ev["t_s"], [t0, t1], side="left")
        n_rows = int(i1 - i0)
        n_fraud = int(rng.binomial(n_rows, rate))
        lo, hi = np.interp([t0, t1], self.edges_c, self.cdf_c)
        batch = max(n_rows, _MIN_POOL)
        frauds: list[dict[str, np.ndarray]] = []
        legits: list[dict[str, np.ndarray]] = []
        have_fraud = have_legit = 0
        p_sum, p_count = 0.0, 0
        while have_fraud < n_fraud or have_legit < n_rows - n_fraud or p_count < _MIN_POOL:
            u = _sorted_uniforms(rng, batch, lo, hi)
            cand = self._events(self._times(u), self._draw_noise(rng, batch))
            inside = (cand["t_s"] >= t0) & (cand["t_s"] < t1)  # guard against rounding
            cand = {k: v[inside] for k, v in cand.items()}
            cand["logit"] = self._logits(self._matrix(cand), cand["regime"], intercepts)
            p = expit(cand["logit"])
            cand["is_fraud"] = rng.random(len(p)) < p
            p_sum, p_count = p_sum + float(p.sum()), p_count + len(p)
            if have_fraud < n_fraud:
                frauds.append({k: v[cand["is_fraud"]] for k, v in cand.items()})
                have_fraud += len(frauds[-1]["t_s"])
            if have_legit < n_rows - n_fraud:
                legits.append({k: v[~cand["is_fraud"]] for k, v in cand.items()})
                have_legit += len(legits[-1]["t_s"])
        pool_rate = p_sum / p_count
        if n_rows:
            parts = []
            for pool, have, want in (
                (frauds, have_fraud, n_fraud),
                (legits, have_legit, n_rows - n_fraud),
            ):
                if want:
                    picked = rng.choice(have, want, replace=False)
                    parts.append({k: v[picked] for k, v in _concat(pool).items()})
            chosen = _concat(parts)
            order = np.argsort(chosen["t_s"], kind="stable")
            for k, v in chosen.items():
                ev[k][i0:i1] = v[order]
        return math.log(rate / (1 - rate)) - math.log(pool_rate / (1 - pool_rate))

    def _assemble(
        self, ev: dict[str, np.ndarray], intercepts: np.ndarray, shift: np.ndarray
    ) -> Marketplace:
        cfg, reg, users, n, rng = self.cfg, self.regimes, self.users, self.n, self.rng_post
        is_fraud = ev["is_fraud"]
        prob = expit(ev["logit"] + shift[ev["regime"]]) if np.any(shift) else expit(ev["logit"])

        # After the event (fixed-size draws first, the variable-size Poisson last).
        u_delay = rng.random(n)
        ingest_delay_s = 1.0 + rng.exponential(_INGEST_DELAY_MEAN_S, n)
        is_dup = rng.random(n) < cfg.duplicate_rate
        dup_delay_s = 60.0 + rng.exponential(_DUPLICATE_DELAY_MEAN_S, n)
        support = rng.poisson(
            np.where(is_fraud, _SUPPORT_CONTACT_RATE[1], _SUPPORT_CONTACT_RATE[0])
        )

        # Chargeback delay: lognormal with the configured mean, truncated to the window.
        window_s = round(cfg.chargeback_window_days * _S_PER_DAY)
        label_delay_s = np.full(n, window_s, dtype=np.int64)
        mu = _truncated_lognormal_mu(
            cfg.label_delay_days, cfg.chargeback_window_days, _CHARGEBACK_DELAY_SIGMA
        )
        cap = float(ndtr((math.log(cfg.chargeback_window_days) - mu) / _CHARGEBACK_DELAY_SIGMA))
        delay_days = np.exp(mu + _CHARGEBACK_DELAY_SIGMA * ndtri(u_delay[is_fraud] * cap))
        label_delay_s[is_fraud] = np.clip(np.ceil(delay_days * _S_PER_DAY), 1, window_s)

        start_us = int(np.datetime64(self.cfg.start, "us").astype(np.int64))
        ts_us = start_us + ev["t_s"] * _US_PER_S
        label_us = ts_us + label_delay_s * _US_PER_S
        ingest_us = ts_us + np.round(ingest_delay_s * _US_PER_S).astype(np.int64)

        tx_id = np.arange(n, dtype=np.int64)
        if is_dup.any():
            rows = np.repeat(tx_id, np.where(is_dup, 2, 1))
            duplicate = np.ones(len(rows), dtype=bool)
            duplicate[np.searchsorted(rows, tx_id)] = False  # first copy of each id
            ingest_us = ingest_us[rows] + np.where(
                duplicate, np.round(dup_delay_s[rows] * _US_PER_S).astype(np.int64), 0
            )
        else:
            rows, duplicate = None, np.zeros(n, dtype=bool)

        def take(a: np.ndarray) -> np.ndarray:
            return a if rows is None else a[rows]

        user = ev["user"]
        hour = (ev["t_s"] // 3600) % 24
        tx = pd.DataFrame(
            {
                "transaction_id": take(tx_id),
                "user_id": take(user.astype(np.int64)),
                "timestamp": take(ts_us).view("M8[us]"),
                "amount": take(ev["amount"]),
                "payment_method": _categorical(take(ev["pay"]), PAYMENT_METHODS),
                "n_items": take(ev["n_items"].astype(np.int64)),
                "account_age_days": take(ev["age_days"]),
                "new_device": take(ev["new_device"]),
                "hour": take(hour),
                "country": _categorical(take(users.country[user]), COUNTRIES),
                "age_group": _categorical(take(users.age[user]), AGE_GROUPS, ordered=True),
                "device": _categorical(take(users.device[user]), DEVICES),
                "support_contacts_7d": take(support.astype(np.int64)),
                "is_fraud": take(is_fraud),
                "label_available_at": take(label_us).view("M8[us]"),
                "ingested_at": ingest_us.view("M8[us]"),
            },
            copy=False,
        )
        phase_names = list(dict.fromkeys(reg.phase))
        phase_code = np.array([phase_names.index(p) for p in reg.phase], dtype=np.int8)
        truth = pd.DataFrame(
            {
                "transaction_id": tx["transaction_id"].to_numpy(),
                "fraud_probability": take(prob),
                "phase": _categorical(take(phase_code[ev["regime"]]), tuple(phase_names)),
                "regime": take(ev["regime"].astype(np.int64)),
                "is_duplicate": duplicate,
            },
            copy=False,
        )
        return Marketplace(
            config=cfg,
            users=self._users_frame(),
            transactions=tx,
            truth=truth,
            regimes=self._regimes_frame(ev, prob, intercepts, shift),
        )

    def _users_frame(self) -> pd.DataFrame:
        u = self.users
        start_us = int(np.datetime64(self.cfg.start, "us").astype(np.int64))
        return pd.DataFrame(
            {
                "user_id": np.arange(len(u.signup_s), dtype=np.int64),
                "signup_time": (start_us + u.signup_s * _US_PER_S).view("M8[us]"),
                "country": _categorical(u.country, COUNTRIES),
                "age_group": _categorical(u.age, AGE_GROUPS, ordered=True),
                "device": _categorical(u.device, DEVICES),
            },
            copy=False,
        )

    def _regimes_frame(
        self, ev: dict[str, np.ndarray], prob: np.ndarray, intercepts: np.ndarray, shift: np.ndarray
    ) -> pd.DataFrame:
        reg = self.regimes
        n_regimes = len(reg.start_s)
        counts = np.bincount(ev["regime"], minlength=n_regimes)
        sums = np.bincount(ev["regime"], weights=prob, minlength=n_regimes)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = sums / counts
        coefs = np.array([reg.coef_sets[i] for i in reg.coef_set])
        frame = pd.DataFrame(
            {
                "start_day": reg.start_s / _S_PER_DAY,
                "end_day": reg.end_s / _S_PER_DAY,
                "phase": reg.phase,
                "covariate_magnitude": reg.cov,
                "concept_magnitude": reg.concept,
                "label_fraud_rate": reg.label_rate,
                "prior_logit_shift": shift,
                "intercept": intercepts[reg.coef_set],
                **{f"coef_{name}": coefs[:, j] for j, name in enumerate(RISK_FEATURES)},
                "n_transactions": counts.astype(np.int64),
                "expected_fraud_rate": np.where(counts > 0, expected, np.nan),
            }
        )
        frame.index.name = "regime"
        return frame


def _categorical_draw(u: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of category codes; ``shares`` is (k,) or per-row (n, k)."""
    cum = np.cumsum(shares, axis=-1)
    cum = cum / cum[..., -1:]
    if cum.ndim == 1:
        codes = np.searchsorted(cum, u, side="right")
    else:
        codes = (u[:, None] >= cum[:, :-1]).sum(axis=1)
    return np.minimum(codes, cum.shape[-1] - 1).astype(np.int8)


def _categorical(
    codes: np.ndarray, categories: tuple[str, ...], ordered: bool = False
) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(categories), ordered=ordered)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
