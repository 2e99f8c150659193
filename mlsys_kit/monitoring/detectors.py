"""A harness that scores drift detectors on streams whose drift points are known.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 8, "Detecting
Data Distribution Shifts": statistical methods and two-sample tests, time-scale windows, and the
cost of false alarms. A drift detector reads a stream one value at a time (a feature, a
prediction, or a model's errors) and raises an alarm when it believes the distribution changed.
Two numbers describe it: how many **false alarms** it raises where nothing changed, and how long
it takes to notice a change that did happen (its **detection delay**). Every parameter of every
detector trades one against the other, and the only way to choose is to measure both on streams
where the truth is known. No established library ships such a harness (river ships detectors and
a few synthetic streams, not their scoring), so this module is hand-written; the detectors
themselves are the libraries' own:

* **Streams** with known drift points: :func:`make_stream` (Gaussian values whose mean or
  spread changes, ``"abrupt"``, ``"gradual"`` or ``"none"``), :func:`make_error_stream` (a
  model's 0/1 errors whose rate rises, the input DDM expects) and
  :func:`marketplace_error_stream` (the errors of a fraud model on the kit's simulated
  marketplace, with a covariate, label or concept shift). All return a :class:`Stream`.
* **Detectors** fit one small protocol, :class:`Detector`: ``update(x) -> bool`` (True when this
  value raises an alarm). :func:`river_detector` adapts river's ``ADWIN``, ``PageHinkley``,
  ``KSWIN`` and ``DDM`` (``update(x)`` then ``drift_detected``); :class:`WindowTestDetector` is
  the window-based two-sample test a monitoring job runs (a reference window against the latest
  window, with :func:`scipy.stats.ks_2samp`, every ``step`` values). Its few lines are
  hand-written because river has no such batch-style test (KSWIN tests at every value), and the
  libraries that have one (alibi-detect, Evidently) are heavy dependencies for a dozen lines
  around scipy's test.
* **Scoring**: :func:`score_alarms` matches alarms to drift points, :func:`evaluate` runs
  detectors over streams into a tidy table (one row per detector and stream),
  :func:`summarize` aggregates it per detector (with the detection rate luck alone would give),
  and :func:`plot_alarms` draws a stream with every detector's alarms.

When an alarm counts as a detection
-----------------------------------
Each drift point ``d`` owns the **tolerance window** ``[d, d + tolerance)`` (cut at the end of
the stream). The first alarm inside it *detects* the drift, with delay ``alarm - d`` (0 when the
alarm is raised at the first drifted value); a drift with no alarm in its window is **missed**.
Later alarms inside the same window are *repeat* alarms, counted apart: the detector re-fires
while it adapts to the new distribution, which is a nuisance but not a false alarm. Every alarm
outside all tolerance windows is a **false alarm**, and the false-alarm rate is per 10,000 values
*outside* the tolerance windows (the values where an alarm can only be false). Tolerance windows
must not overlap: ``tolerance`` must not exceed the gap between two drift points. For a gradual
drift the delay counts from the *start* of the transition.

Examples
--------
>>> stream = make_stream("abrupt", n_points=4_000, n_drifts=1, shift=1.0, seed=0)
>>> stream.drift_points
(2000,)
>>> results = evaluate({"ADWIN": river_detector("ADWIN")}, [stream], tolerance=1_000)
>>> results[["detector", "detected", "missed", "false_alarms", "mean_delay"]]
  detector  detected  missed  false_alarms  mean_delay
0    ADWIN         1       0             0        47.0
"""

from __future__ import annotations

import importlib
import inspect
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_choice,
    check_float,
    check_int,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = [
    "CHANGES",
    "STREAM_KINDS",
    "RIVER_DETECTORS",
    "Detector",
    "DetectionScore",
    "Stream",
    "WindowTestDetector",
    "detect",
    "evaluate",
    "make_error_stream",
    "make_stream",
    "marketplace_error_stream",
    "plot_alarms",
    "river_detector",
    "score_alarms",
    "summarize",
]

#: The kinds of stream :func:`make_stream` and :func:`make_error_stream` generate.
STREAM_KINDS: tuple[str, ...] = ("abrupt", "gradual", "none")

#: What changes at a drift point of :func:`make_stream`.
CHANGES: tuple[str, ...] = ("mean", "spread")

#: river detectors :func:`river_detector` adapts: name -> (module, class, binary input only).
RIVER_DETECTORS: dict[str, tuple[str, str, bool]] = {
    "ADWIN": ("river.drift", "ADWIN", False),
    "PageHinkley": ("river.drift", "PageHinkley", False),
    "KSWIN": ("river.drift", "KSWIN", False),
    "DDM": ("river.drift.binary", "DDM", True),
}


@runtime_checkable
class Detector(Protocol):
    """What the harness needs of a drift detector: one value in, alarm or not out.

    ``update(x)`` reads the next value of the stream and returns ``True`` when the detector
    raises an alarm at this value. A detector restarts by itself after an alarm, if it wants to.
    ``binary`` says whether it accepts only 0/1 values (a model's errors).
    """

    binary: bool

    def update(self, x: float) -> bool: ...


DetectorFactory = Callable[[], Detector]


# --------------------------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """A stream of values with known drift points.

    Attributes
    ----------
    values : numpy.ndarray
        The stream, in order (float; 0.0/1.0 for an error stream).
    drift_points : tuple of int
        Index of the first value of each new distribution (of each transition, for a gradual
        drift), increasing.
    kind : {"abrupt", "gradual", "none"}
        How the distribution changes at each drift point.
    name : str
        A label for tables, e.g. ``"abrupt/seed 3"``.
    binary : bool
        Whether every value is 0 or 1 (an error stream).
    concept : numpy.ndarray
        The true mean of each value (its standard deviation for a change of spread, the error
        rate for an error stream): what changed. For plots.
    auc : tuple of float
        For a model's error stream (:func:`marketplace_error_stream`): the model's ROC AUC
        over each period, before and after the drift point (its ranking quality, which the
        error rate at one threshold may not show); empty otherwise.
    """

    values: np.ndarray
    drift_points: tuple[int, ...]
    kind: str
    name: str
    binary: bool = False
    concept: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    auc: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.values)

    def head(self, n: int) -> Stream:
        """The first ``n`` values, with the drift points among them (for slow detectors).

        Examples
        --------
        >>> make_stream("abrupt", n_points=1_000, n_drifts=3).head(600).drift_points
        (250, 500)
        """
        n = check_int("n", n, min=1, owner="Stream.head")
        kept = tuple(d for d in self.drift_points if d < n)
        return Stream(
            self.values[:n], kept, self.kind, self.name, self.binary, self.concept[:n], self.auc
        )


def _layout(kind: str, n_points: int, n_drifts: int, width: int, owner: str) -> tuple[int, ...]:
    """Evenly spaced drift points; checks that a gradual transition fits between them."""
    n_points = check_int("n_points", n_points, min=100, owner=owner)
    n_drifts = check_int("n_drifts", n_drifts, min=0, owner=owner)
    width = check_int("width", width, min=1, owner=owner)
    if kind == "none" or n_drifts == 0:
        return ()
    gap = n_points // (n_drifts + 1)
    needed = 2 * width if kind == "gradual" else 10
    if gap < needed:
        what = f"gradual transitions of width={width:,}" if kind == "gradual" else "a stream"
        raise ParameterError(
            f"{owner}: n_drifts={n_drifts} drift points in n_points={n_points:,} values are "
            f"{gap:,} apart, "
            f"too close for {what} (at least {needed:,} needed): use fewer drifts, a longer "
            "stream or a narrower transition"
        )
    return tuple(gap * (k + 1) for k in range(n_drifts))


def _seed_label(seed: Seed) -> str:
    """How a stream's name shows its seed: ``"seed 3"``, or ``"a generator"``."""
    return f"seed {seed}" if isinstance(seed, int | np.integer) else "a generator"


def _concept_index(
    kind: str, n_points: int, drift_points: tuple[int, ...], width: int, rng: np.random.Generator
) -> np.ndarray:
    """Which concept (0, 1, 2, ...) each value is drawn from."""
    index = np.zeros(n_points, dtype=np.int64)
    for d in drift_points:
        if kind == "abrupt":
            index[d:] += 1
        else:  # gradual: the new concept's share rises linearly over `width` values
            share = np.clip((np.arange(n_points - d) + 1) / width, 0, 1)
            index[d:] += rng.random(n_points - d) < share
    return index


def make_stream(
    kind: str,
    *,
    n_points: int = 10_000,
    n_drifts: int = 4,
    shift: float = 0.5,
    change: str = "mean",
    width: int = 500,
    seed: Seed = 0,
) -> Stream:
    """A stream of Gaussian values whose distribution changes at known, evenly spaced points.

    Before the first drift point the values are standard normal. At each drift point the
    distribution changes, alternately there and back (the way a feature moves when, say, a
    marketing campaign starts and ends): with ``change="mean"`` the mean moves by ``shift``
    standard deviations (0, shift, 0, shift...); with ``change="spread"`` the mean stays 0 and
    the standard deviation becomes ``1 + shift`` (1, 1 + shift, 1...), a change that detectors
    watching the mean cannot see.

    Parameters
    ----------
    kind : {"abrupt", "gradual", "none"}
        ``"abrupt"``: the new mean applies from the drift point on. ``"gradual"``: over the
        ``width`` values from the drift point, each value comes from the new distribution with a
        probability rising linearly from 0 to 1 (two populations mixing). ``"none"``: no drift,
        every value from the first distribution (``n_drifts`` is ignored).
    n_points : int, default 10_000
        Length of the stream (≥ 100).
    n_drifts : int, default 4
        Number of drift points, evenly spaced: ``n_points // (n_drifts + 1)`` apart.
    shift : float, default 0.5
        Size of each change, in standard deviations (0 < shift ≤ 10).
    change : {"mean", "spread"}, default "mean"
        What changes at a drift point: the mean, or the spread (standard deviation).
    width : int, default 500
        Length of a gradual transition (≥ 1; ignored unless ``kind="gradual"``); at most half
        the gap between drift points.
    seed : int or numpy.random.Generator, default 0
        Seed of the random generator (≥ 0).

    Returns
    -------
    Stream

    Raises
    ------
    mlsys_kit.params.ParameterError
        A ``ValueError`` naming the bad argument and what is allowed.

    Examples
    --------
    >>> s = make_stream("abrupt", n_points=1_000, n_drifts=1, shift=3.0, seed=1)
    >>> s.drift_points, len(s)
    ((500,), 1000)
    >>> round(float(s.values[:500].mean())), round(float(s.values[500:].mean()))
    (0, 3)
    """
    owner = "make_stream"
    kind = check_choice("kind", kind, STREAM_KINDS, owner=owner)
    shift = check_float("shift", shift, min=0, max=10, open_min=True, owner=owner)
    check_choice("change", change, CHANGES, owner=owner)
    rng = make_rng(seed, owner=owner)
    drift_points = _layout(kind, n_points, n_drifts, width, owner)
    moved = (_concept_index(kind, n_points, drift_points, width, rng) % 2).astype(float)
    noise = rng.standard_normal(n_points)
    if change == "mean":
        concept = shift * moved
        values = concept + noise
    else:
        concept = 1 + shift * moved
        values = concept * noise
    name = (
        f"{kind}/{_seed_label(seed)}" if change == "mean" else f"{kind} spread/{_seed_label(seed)}"
    )
    return Stream(values, drift_points, kind, name, False, concept)


def make_error_stream(
    kind: str,
    *,
    n_points: int = 10_000,
    n_drifts: int = 4,
    base_rate: float = 0.1,
    shift: float = 0.05,
    width: int = 500,
    seed: Seed = 0,
) -> Stream:
    """A model's errors (1 = wrong, 0 = right) whose rate rises at known drift points.

    The model starts with error rate ``base_rate``; at each drift point the rate rises by
    ``shift`` and stays there, the way a model decays in steps as the world moves away from its
    training data. This is the input of error-rate detectors such as DDM.

    Parameters
    ----------
    kind : {"abrupt", "gradual", "none"}
        As in :func:`make_stream`: how the rate changes at each drift point.
    n_points : int, default 10_000
        Length of the stream (≥ 100).
    n_drifts : int, default 4
        Number of drift points, evenly spaced.
    base_rate : float, default 0.1
        Error rate before the first drift, in (0, 1).
    shift : float, default 0.05
        Rise of the error rate at each drift point, > 0; the last rate
        ``base_rate + n_drifts * shift`` must stay below 1.
    width : int, default 500
        Length of a gradual transition.
    seed : int or numpy.random.Generator, default 0
        Seed of the random generator (≥ 0).

    Returns
    -------
    Stream
        With ``binary=True`` and ``concept`` the true error rate of each value.

    Raises
    ------
    mlsys_kit.params.ParameterError
        A ``ValueError`` naming the bad argument and what is allowed.

    Examples
    --------
    >>> s = make_error_stream("abrupt", n_points=20_000, n_drifts=1, base_rate=0.1, shift=0.1)
    >>> float(s.concept[0]), float(s.concept[-1])
    (0.1, 0.2)
    >>> sorted(set(s.values.tolist()))
    [0.0, 1.0]
    """
    owner = "make_error_stream"
    kind = check_choice("kind", kind, STREAM_KINDS, owner=owner)
    base_rate = check_float(
        "base_rate", base_rate, min=0, max=1, open_min=True, open_max=True, owner=owner
    )
    shift = check_float("shift", shift, min=0, max=1, open_min=True, owner=owner)
    rng = make_rng(seed, owner=owner)
    drift_points = _layout(kind, n_points, n_drifts, width, owner)
    last = base_rate + len(drift_points) * shift
    if last >= 1:
        raise ParameterError(
            f"{owner}: the error rate would reach base_rate + n_drifts * shift = {last:g}: it "
            "must stay below 1; use a smaller shift or fewer drifts"
        )
    rate = base_rate + shift * _concept_index(kind, n_points, drift_points, width, rng)
    values = (rng.random(n_points) < rate).astype(float)
    return Stream(values, drift_points, kind, f"{kind} errors/{_seed_label(seed)}", True, rate)


#: The marketplace stream's timeline, in days: training period, stream, and drift start.
MARKETPLACE_DAYS = {"train": (0, 10), "stream": (10, 40), "drift": 25}


def marketplace_error_stream(
    n_points: int = 10_000,
    *,
    drift: str = "covariate",
    magnitude: float = 1.0,
    flag_share: float = 0.05,
    seed: int = 0,
) -> Stream:
    """The errors of a fraud model on the simulated marketplace, with one drift at day 25.

    Simulates 40 days of the kit's marketplace (:func:`mlsys_kit.sim.simulate`) with one
    ``drift`` starting on day 25, trains a logistic regression on the true risk features of the
    first 10 days, flags the transactions that score above the training scores' top
    ``flag_share``, and returns whether each later transaction (days 10 to 40, in event order)
    was misclassified. Labels are taken as known at once: in production they arrive days later
    (Chapter 4's label delay), and every delay measured here comes on top of it.

    Parameters
    ----------
    n_points : int, default 10_000
        About how many values the stream has (≥ 1,000): three quarters of the simulated
        transactions.
    drift : {"covariate", "label", "concept"}
        The kind of shift (see :class:`mlsys_kit.sim.Drift`).
    magnitude : float, default 1.0
        Its strength (``Drift.magnitude``), > 0.
    flag_share : float, default 0.05
        Share of training transactions the model would flag, in (0, 0.5).
    seed : int, default 0
        Seed of the simulation (≥ 0).

    Returns
    -------
    Stream
        Binary, ``kind="abrupt"``, one drift point: the first transaction of day 25.
        ``concept`` is the error rate of the model over each period (before and after),
        ``auc`` its ROC AUC over each period (:func:`sklearn.metrics.roc_auc_score`).

    Raises
    ------
    mlsys_kit.params.ParameterError
        A ``ValueError`` naming the bad argument and what is allowed.

    Examples
    --------
    >>> s = marketplace_error_stream(4_000, seed=1)
    >>> s.name, s.binary, len(s.drift_points)
    ('marketplace covariate/seed 1', True, 1)
    >>> bool(s.concept[-1] > s.concept[0])  # the shift costs the model accuracy
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from mlsys_kit.sim import Drift, risk_features, simulate

    owner = "marketplace_error_stream"
    n_points = check_int("n_points", n_points, min=1_000, owner=owner)
    magnitude = check_float("magnitude", magnitude, min=0, max=10, open_min=True, owner=owner)
    flag_share = check_float(
        "flag_share", flag_share, min=0, max=0.5, open_min=True, open_max=True, owner=owner
    )
    seed = check_int("seed", seed, min=0, owner=owner)
    train_end, (start, end), drift_day = (
        MARKETPLACE_DAYS["train"][1],
        MARKETPLACE_DAYS["stream"],
        MARKETPLACE_DAYS["drift"],
    )
    market = simulate(
        n_transactions=round(n_points * end / (end - start)),
        n_users=max(n_points // 10, 100),
        days=end,
        seed=seed,
        drifts=[Drift(drift, start_day=drift_day, magnitude=magnitude)],
    )
    tx = market.transactions
    day = market.day(tx["timestamp"]).to_numpy()
    features = risk_features(tx).to_numpy()
    fraud = tx["is_fraud"].to_numpy(dtype=bool)
    train = day < train_end
    model = LogisticRegression(max_iter=1_000).fit(features[train], fraud[train])
    scores = model.predict_proba(features)[:, 1]
    threshold = np.quantile(scores[train], 1 - flag_share)
    later = day >= start
    errors = ((scores >= threshold) != fraud)[later].astype(float)
    drift_point = int(np.searchsorted(day[later], drift_day))
    concept = np.empty(len(errors))
    concept[:drift_point] = errors[:drift_point].mean()
    concept[drift_point:] = errors[drift_point:].mean()
    y, p = fraud[later], scores[later]
    auc = tuple(
        float(roc_auc_score(y[part], p[part])) if 0 < y[part].mean() < 1 else math.nan
        for part in (slice(None, drift_point), slice(drift_point, None))
    )
    name = f"marketplace {drift}/seed {seed}"
    return Stream(errors, (drift_point,), "abrupt", name, True, concept, auc)


# --------------------------------------------------------------------------------------------
# Detectors
# --------------------------------------------------------------------------------------------


class _RiverAdapter:
    """A river drift detector behind the :class:`Detector` protocol."""

    def __init__(self, detector: Any, binary: bool) -> None:
        self.detector = detector
        self.binary = binary

    def update(self, x: float) -> bool:
        self.detector.update(x)
        return self.detector.drift_detected

    def __repr__(self) -> str:
        return f"river {self.detector!r}"


def river_detector(name: str, **params: Any) -> DetectorFactory:
    """A factory of fresh river drift detectors, adapted to the :class:`Detector` protocol.

    river (``river.drift``) implements the classic streaming detectors; each reads one value
    with ``update(x)`` and sets ``drift_detected``. The adapter returns that flag from
    ``update``.

    Parameters
    ----------
    name : {"ADWIN", "PageHinkley", "KSWIN", "DDM"}
        ``ADWIN`` (adaptive windowing: cuts its window where two sub-windows' means differ more
        than a bound set by ``delta``), ``PageHinkley`` (a CUSUM of deviations from the running
        mean, alarm above ``threshold``), ``KSWIN`` (a Kolmogorov–Smirnov test of the latest
        ``stat_size`` values against a sample of the window, at every value, level ``alpha``)
        and ``DDM`` (the error rate's rise over its minimum, in standard deviations; 0/1 input).
    **params
        Parameters of the river class, e.g. ``delta=0.002`` for ADWIN. KSWIN draws a random
        sample at every test: it gets ``seed=0`` unless you pass another seed, so runs repeat.

    Returns
    -------
    callable
        Called without arguments, returns a new detector (each stream needs a fresh one).

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown detector name or a parameter the river class does not take.

    Examples
    --------
    >>> make = river_detector("PageHinkley", threshold=20.0)
    >>> ph = make()
    >>> [ph.update(x) for x in [0.0] * 40 + [5.0] * 5].index(True)  # the 5th value of 5.0
    44
    """
    if name not in RIVER_DETECTORS:
        check_choice("name", name, RIVER_DETECTORS, owner="river_detector")
    module, cls_name, binary = RIVER_DETECTORS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ParameterError(
            f"{name} has no parameter {', '.join(map(repr, unknown))}: "
            f"its parameters are {', '.join(accepted)}"
        )
    if name == "KSWIN":
        params = {"seed": 0, **params}
    cls(**params)  # fail now, not in the middle of a run, when river refuses a value

    def make() -> Detector:
        return _RiverAdapter(cls(**params), binary)

    make.__name__ = name
    make.__qualname__ = f"river_detector({name!r})"
    return make


class WindowTestDetector:
    """A window-based two-sample test: the reference window against the latest window.

    This is what a monitoring job does in batches (and what ``alibi-detect``'s or Evidently's
    drift reports compute): keep a **reference** sample from a period believed stable, and every
    ``step`` values compare the latest ``window`` values with it by a two-sample
    Kolmogorov–Smirnov test (:func:`scipy.stats.ks_2samp`). An alarm when the p-value is below
    ``alpha``. After an alarm the detector starts over: the next ``window`` values become the
    new reference, so the new distribution is the one to compare against.

    Parameters
    ----------
    window : int, default 500
        Size of the reference window and of the latest window (≥ 10). Larger windows see
        smaller shifts, but a shift must fill a good part of the latest window before the test
        notices: delay grows with the window.
    step : int, default 100
        Test every ``step`` values (≥ 1): the cost per value is one test every ``step`` values,
        and the delay is rounded up to a multiple of it.
    alpha : float, default 0.001
        Significance level of each test, in (0, 1): the chance of a false alarm at each test on
        a stable stream (the tests overlap, so they are not independent).
    binary : bool, default False
        Declared input type; the KS test suits continuous values.

    Examples
    --------
    >>> det = WindowTestDetector(window=50, step=10, alpha=0.01)
    >>> alarms = [i for i, x in enumerate([0.0, 1.0] * 100 + [5.0, 6.0] * 100) if det.update(x)]
    >>> alarms[0]
    219
    """

    def __init__(
        self, window: int = 500, step: int = 100, alpha: float = 0.001, binary: bool = False
    ) -> None:
        self.window = check_int("window", window, min=10, owner="WindowTestDetector")
        self.step = check_int("step", step, min=1, owner="WindowTestDetector")
        self.alpha = check_float(
            "alpha", alpha, min=0, max=1, open_min=True, open_max=True, owner="WindowTestDetector"
        )
        self.binary = bool(binary)
        self.reference: list[float] = []
        self.latest: deque[float] = deque(maxlen=self.window)
        self._since_test = 0
        self.p_value = math.nan

    def update(self, x: float) -> bool:
        if len(self.reference) < self.window:
            self.reference.append(x)
            return False
        self.latest.append(x)
        self._since_test += 1
        if len(self.latest) < self.window or self._since_test < self.step:
            return False
        self._since_test = 0
        from scipy.stats import ks_2samp

        self.p_value = float(ks_2samp(self.reference, np.fromiter(self.latest, float)).pvalue)
        if self.p_value < self.alpha:
            self.reference = []
            self.latest.clear()
            return True
        return False

    def __repr__(self) -> str:
        return f"WindowTestDetector(window={self.window}, step={self.step}, alpha={self.alpha:g})"


def detect(detector: Detector, values: Iterable[float]) -> np.ndarray:
    """Feed ``values`` to ``detector`` one at a time; return the indices where it alarms.

    Parameters
    ----------
    detector : Detector
        A fresh detector (its state carries over from earlier calls).
    values : iterable of float
        The stream, in order.

    Returns
    -------
    numpy.ndarray of int
        Indices of the values at which the detector raised an alarm, increasing.

    Examples
    --------
    >>> detect(river_detector("PageHinkley", threshold=20.0)(), [0.0] * 50 + [5.0] * 20)
    array([54])
    """
    if not isinstance(detector, Detector):
        raise TypeError(
            f"detector must have update(x) -> bool and a binary attribute; got {detector!r}"
        )
    update = detector.update
    if isinstance(values, np.ndarray):
        values = values.tolist()  # python floats: river's per-value arithmetic is faster on them
    return np.array([i for i, x in enumerate(values) if update(x)], dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectionScore(Report):
    """How a detector's alarms on one stream match its drift points (see the module docstring).

    Attributes
    ----------
    n_points, n_drifts : int
        Length of the stream and number of its drift points.
    detected, missed : int
        Drift points with (without) an alarm in their tolerance window.
    delays : tuple of int
        Delay of each detected drift: first alarm in its window minus the drift point.
    false_alarms : int
        Alarms outside every tolerance window.
    repeat_alarms : int
        Alarms in a tolerance window after the first.
    clean_points : int
        Values outside every tolerance window: the denominator of the false-alarm rate.
    """

    n_points: int
    n_drifts: int
    detected: int
    missed: int
    delays: tuple[int, ...]
    false_alarms: int
    repeat_alarms: int
    clean_points: int

    @property
    def false_alarms_per_10k(self) -> float:
        """False alarms per 10,000 values outside the tolerance windows (NaN if none)."""
        return 1e4 * self.false_alarms / self.clean_points if self.clean_points else math.nan

    @property
    def mean_delay(self) -> float:
        """Mean delay of the detected drifts (NaN when none was detected)."""
        return float(np.mean(self.delays)) if self.delays else math.nan

    def to_frame(self) -> pd.DataFrame:
        """The score as a one-row table (the columns of :func:`evaluate`'s rows).

        Examples
        --------
        >>> score_alarms([1030], [1000], 2000, tolerance=500).to_frame()[["detected", "mean_delay"]]
           detected  mean_delay
        0         1        30.0
        """
        return pd.DataFrame(
            {
                "drifts": [self.n_drifts],
                "detected": [self.detected],
                "missed": [self.missed],
                "false_alarms": [self.false_alarms],
                "repeat_alarms": [self.repeat_alarms],
                "false_alarms_per_10k": [self.false_alarms_per_10k],
                "mean_delay": [self.mean_delay],
                "n_points": [self.n_points],
                "clean_points": [self.clean_points],
            }
        )


def score_alarms(
    alarms: Sequence[int] | np.ndarray,
    drift_points: Sequence[int],
    n_points: int,
    tolerance: int,
) -> DetectionScore:
    """Match alarms to known drift points: detections, delays, misses and false alarms.

    Parameters
    ----------
    alarms : sequence of int
        Indices at which a detector alarmed (any order; each in ``[0, n_points)``).
    drift_points : sequence of int
        Indices of the drift points, increasing.
    n_points : int
        Length of the stream.
    tolerance : int
        An alarm detects drift ``d`` when it falls in ``[d, d + tolerance)``. Must be ≥ 1 and
        at most the gap between consecutive drift points (windows must not overlap).

    Returns
    -------
    DetectionScore

    Raises
    ------
    mlsys_kit.params.ParameterError
        For a tolerance that is not positive or larger than a gap between drift points, drift
        points that do not increase, or an alarm outside the stream.

    Examples
    --------
    >>> s = score_alarms([150, 1030, 1100, 1700, 2600], [1000, 2000], 3000, tolerance=500)
    >>> s.detected, s.missed, s.delays, s.false_alarms, s.repeat_alarms, s.clean_points
    (1, 1, (30,), 3, 1, 2000)
    >>> round(s.false_alarms_per_10k, 1)
    15.0
    """
    n_points = check_int("n_points", n_points, min=1, owner="score_alarms")
    tolerance = check_int("tolerance", tolerance, min=1, owner="score_alarms")
    drifts = [int(d) for d in drift_points]
    if any(not 0 <= d < n_points for d in drifts) or (np.diff(drifts) <= 0).any():
        raise ParameterError(f"drift_points must increase within [0, {n_points}); got {drifts}")
    gaps = np.diff(drifts)
    if len(gaps) and tolerance > gaps.min():
        raise ParameterError(
            f"tolerance={tolerance:,} is larger than the smallest gap between drift points "
            f"({int(gaps.min()):,}): tolerance windows would overlap"
        )
    alarms_arr = np.sort(np.asarray(alarms, dtype=np.int64).ravel())
    if len(alarms_arr) and (alarms_arr[0] < 0 or alarms_arr[-1] >= n_points):
        raise ParameterError(f"alarms must lie in [0, {n_points}); got {alarms_arr.tolist()}")
    in_window = np.zeros(len(alarms_arr), dtype=bool)
    delays, covered = [], 0
    for d in drifts:
        end = min(d + tolerance, n_points)
        covered += end - d
        inside = (alarms_arr >= d) & (alarms_arr < end)
        in_window |= inside
        if inside.any():
            delays.append(int(alarms_arr[inside][0]) - d)
    return DetectionScore(
        n_points=n_points,
        n_drifts=len(drifts),
        detected=len(delays),
        missed=len(drifts) - len(delays),
        delays=tuple(delays),
        false_alarms=int((~in_window).sum()),
        repeat_alarms=int(in_window.sum()) - len(delays),
        clean_points=n_points - covered,
    )


def evaluate(
    detectors: Mapping[str, DetectorFactory],
    streams: Iterable[Stream],
    *,
    tolerance: int,
) -> pd.DataFrame:
    """Run every detector on every stream and score its alarms: one row per detector and stream.

    Parameters
    ----------
    detectors : mapping of str to callable
        Label -> factory returning a fresh :class:`Detector` (e.g. :func:`river_detector`, or
        ``lambda: WindowTestDetector(window=300)``). Each stream gets a new detector.
    streams : iterable of Stream
        The streams, e.g. from :func:`make_stream`.
    tolerance : int
        See :func:`score_alarms`.

    Returns
    -------
    pandas.DataFrame
        Columns ``detector``, ``stream``, ``kind``, ``n_points``, ``drifts``, ``detected``,
        ``missed``, ``false_alarms``, ``repeat_alarms``, ``clean_points``,
        ``false_alarms_per_10k``, ``mean_delay`` (NaN when nothing was detected),
        ``delay_sum`` (for pooling), ``tolerance``, ``alarms`` (the alarm indices, an array per
        row, for plots) and ``seconds`` (wall time of the run: a measurement, never to be shown
        raw).

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a detector that accepts only 0/1 values (DDM) is given a stream of other values,
        or for a bad tolerance (see :func:`score_alarms`).

    Examples
    --------
    >>> streams = [make_stream("none", n_points=2_000, seed=s) for s in range(2)]
    >>> table = evaluate({"ADWIN": river_detector("ADWIN")}, streams, tolerance=100)
    >>> table[["detector", "stream", "drifts", "false_alarms"]]
      detector       stream  drifts  false_alarms
    0    ADWIN  none/seed 0       0             0
    1    ADWIN  none/seed 1       0             0
    """
    rows = []
    streams = list(streams)
    for label, make in detectors.items():
        for stream in streams:
            detector = make()
            if detector.binary and not stream.binary:
                raise ParameterError(
                    f"detector {label!r} reads a model's errors (0/1 values); stream "
                    f"{stream.name!r} has other values: use make_error_stream"
                )
            start = time.perf_counter()
            alarms = detect(detector, stream.values)
            seconds = time.perf_counter() - start
            s = score_alarms(alarms, stream.drift_points, len(stream), tolerance)
            rows.append(
                {
                    "detector": label,
                    "stream": stream.name,
                    "kind": stream.kind,
                    "n_points": s.n_points,
                    "drifts": s.n_drifts,
                    "detected": s.detected,
                    "missed": s.missed,
                    "false_alarms": s.false_alarms,
                    "repeat_alarms": s.repeat_alarms,
                    "clean_points": s.clean_points,
                    "false_alarms_per_10k": s.false_alarms_per_10k,
                    "mean_delay": s.mean_delay,
                    "delay_sum": sum(s.delays),
                    "tolerance": tolerance,
                    "alarms": alarms,
                    "seconds": seconds,
                }
            )
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame, by: str | Sequence[str] = "detector") -> pd.DataFrame:
    """Aggregate :func:`evaluate`'s table: rates and delays pooled over streams.

    Pooling counts (not averaging per-stream rates) weighs every value and every drift the
    same, whatever the length of its stream.

    Parameters
    ----------
    results : pandas.DataFrame
        The output of :func:`evaluate` (or several, concatenated).
    by : str or sequence of str, default "detector"
        Columns to group by, e.g. ``["detector", "kind"]``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by``, in first-seen order, with ``drifts``, ``detected``, ``missed``,
        ``detection_rate`` (detected / drifts, NaN without drifts), ``false_alarms``,
        ``false_alarms_per_10k`` (over values outside the tolerance windows), ``mean_delay``
        (over detected drifts), ``chance_detection_rate`` (see below) and ``us_per_point``
        (microseconds per value: a measurement).

    Notes
    -----
    A detector that alarms often enough "detects" every drift by chance. If false alarms
    fell at random at the rate ``r`` per value, a tolerance window of ``tolerance`` values would
    catch at least one with probability ``1 - exp(-r * tolerance)``: that is
    ``chance_detection_rate``. A detection rate near it means the detections may be luck.

    Examples
    --------
    >>> streams = [make_stream("abrupt", n_points=3_000, n_drifts=2, shift=2.0, seed=0)]
    >>> table = evaluate({"ADWIN": river_detector("ADWIN")}, streams, tolerance=500)
    >>> summarize(table)[["drifts", "detected", "false_alarms"]]
              drifts  detected  false_alarms
    detector
    ADWIN          2         2             0
    """
    by = [by] if isinstance(by, str) else list(by)
    missing = sorted(set(by) - set(results.columns))
    if missing:
        raise ParameterError(
            f"cannot group by {missing}: the table's columns are {', '.join(results.columns)}"
        )
    grouped = results.groupby(by, sort=False)
    counts = ["drifts", "detected", "missed", "false_alarms", "clean_points", "delay_sum"]
    sums = grouped[[*counts, "n_points"]].sum()
    sums["seconds"] = grouped["seconds"].sum()
    out = pd.DataFrame(index=sums.index)
    out["drifts"] = sums["drifts"]
    out["detected"] = sums["detected"]
    out["missed"] = sums["missed"]
    out["detection_rate"] = sums["detected"] / sums["drifts"].where(sums["drifts"] > 0)
    out["false_alarms"] = sums["false_alarms"]
    out["false_alarms_per_10k"] = (
        1e4 * sums["false_alarms"] / sums["clean_points"].where(sums["clean_points"] > 0)
    )
    out["mean_delay"] = sums["delay_sum"] / sums["detected"].where(sums["detected"] > 0)
    per_value = sums["false_alarms"] / sums["clean_points"].where(sums["clean_points"] > 0)
    out["chance_detection_rate"] = 1 - np.exp(-per_value * grouped["tolerance"].mean())
    out["us_per_point"] = 1e6 * sums["seconds"] / sums["n_points"]
    return out


def plot_alarms(
    ax: Any,
    stream: Stream,
    alarms: Mapping[str, Sequence[int] | np.ndarray],
    *,
    tolerance: int,
    every: int = 5,
) -> None:
    """Draw a stream, its drift points and tolerance windows, and each detector's alarms.

    The values (every ``every``-th, grey dots) and the true ``concept`` (black line) fill the
    top of the axes; below them, one row per detector marks its alarms: a detection (the first
    alarm in a tolerance window) in green, a repeat alarm in a window in grey, a false alarm in
    red. Drift points are dashed lines; tolerance windows are shaded.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    stream : Stream
        The stream the detectors read.
    alarms : mapping of str to sequence of int
        Detector label -> alarm indices (e.g. a row's ``alarms`` in :func:`evaluate`'s table).
        A detector that read only the head of the stream is drawn up to its last value read
        only if you pass the head; alarms past the stream's end are an error.
    tolerance : int
        The tolerance used for scoring (for the shaded windows and the colours).
    every : int, default 5
        Plot one value in ``every`` (a stream of 10,000 dots is a grey wall).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> s = make_stream("abrupt", n_points=2_000, n_drifts=1, shift=2.0)
    >>> plot_alarms(ax, s, {"ADWIN": detect(river_detector("ADWIN")(), s.values)}, tolerance=500)
    >>> plt.close(fig)
    """
    n = len(stream)
    values = stream.values
    lo, hi = np.quantile(values, [0.005, 0.995])
    span = hi - lo
    row_height = 0.18 * span
    ax.plot(np.arange(0, n, every), values[::every], ".", ms=1.5, color="#BBBBBB", zorder=1)
    if len(stream.concept):
        ax.plot(np.arange(n), stream.concept, color="black", lw=1.5, zorder=2, label="true")
    for d in stream.drift_points:
        ax.axvspan(d, min(d + tolerance, n), color="#009E73", alpha=0.10, lw=0, zorder=0)
        ax.axvline(d, color="#009E73", ls="--", lw=1, zorder=2)
    labels = list(alarms)
    for row, label in enumerate(labels):
        y = lo - (row + 1) * row_height
        found = np.asarray(alarms[label], dtype=np.int64)
        if len(found) and (found.min() < 0 or found.max() >= n):
            raise ValueError(f"alarms of {label!r} fall outside the stream's {n:,} values")
        first = set()
        for d in stream.drift_points:
            inside = found[(found >= d) & (found < d + tolerance)]
            if len(inside):
                first.add(int(inside[0]))
        in_window = np.zeros(len(found), dtype=bool)
        for d in stream.drift_points:
            in_window |= (found >= d) & (found < d + tolerance)
        colour = [
            "#009E73" if int(a) in first else "#999999" if w else "#D55E00"
            for a, w in zip(found, in_window, strict=True)
        ]
        ax.axhline(y, color="#DDDDDD", lw=0.8, zorder=0)
        ax.scatter(found, np.full(len(found), y), marker="|", s=120, c=colour, lw=2, zorder=3)
    ax.set_yticks(
        [lo - (row + 1) * row_height for row in range(len(labels))] + [0],
        [*labels, "value"],
    )
    ax.set_ylim(lo - (len(labels) + 0.8) * row_height, hi)
    ax.set_xlim(0, n)
