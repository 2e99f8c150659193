"""Labels: hand labels from several annotators, their aggregation, lineage and natural labels.

Serves Chapter 4, "Training Data", section "Labeling" (Chip Huyen, *Designing Machine
Learning Systems*, 2022): **hand labels** and their **label multiplicity** (annotators of
different expertise disagree, and their labels must be combined into one), **data lineage**
(every label records where it came from) and **natural labels** with their **feedback loop
length** (a fraud label arrives only when a chargeback does; "no chargeback" becomes a label
only when the chargeback window closes).

Every label here is a *record* in a long table, one row per label, with its lineage:

==============  ===============================================================================
``item_id``     what was labelled
``label``       the label given
``annotator``   who gave it (a person, or the system that produced a natural label)
``source``      how it was produced: ``"hand"``, ``"gold"``, ``"chargeback"``...
``day``         when: the working day of the labelling job (hand labels); natural labels keep
                their date-time in ``labeled_at``
==============  ===============================================================================

=================================  ============================================================
:func:`simulate_annotations`       annotators of known accuracy label items: the records
:func:`estimate_accuracies`        each annotator's accuracy on gold items (known labels)
:func:`log_odds_weights`           the vote weight of an annotator of a given accuracy
:func:`majority_vote`              one label per item: the most frequent (ties at random)
:func:`weighted_vote`              one label per item: accuracy-weighted (log-odds) votes
:func:`label_delays`               days from event to label, for natural labels
:func:`time_to_share`              days until a share (50%, 90%) of the labels has arrived
:func:`window_labels`              natural labels with a shorter window: faster, some wrong
=================================  ============================================================

Why hand-written: aggregation by (weighted) vote is a few lines of pandas, and writing it
out is the lesson: with independent annotators whose accuracies ``a`` are known, the vote
that maximises the chance of the right label weighs each one by ``log((K - 1) a / (1 - a))``
for ``K`` classes (Nitzan & Paroush, 1982), so one expert can outvote several guessers.
This module works on label *records* (who labelled what, when), the way a labelling tool
exports them; :mod:`mlsys_kit.training_data.weak_supervision` works on the label matrix of labeling
functions and learns their accuracies without any ground truth (Dawid–Skene).

Two majority votes, on purpose: :func:`majority_vote` here gives *every* item a label (the
labels were paid for, and a training row needs one), so a tie is broken at random, with
``seed``; :func:`mlsys_kit.training_data.weak_supervision.lf_majority_vote` leaves a row
unlabelled (``ABSTAIN``) on a tie, as Snorkel's ``MajorityLabelVoter`` does by default, since
a weak label that is a coin flip is better dropped. Both are a plurality vote (the mode of the
item's labels; the tests check them against :func:`scipy.stats.mode` where there is no tie).
Libraries ruled out for the weighted vote: crowd-kit's ``Wawa`` and ``MajorityVote`` take
skills it estimates itself, not known accuracies, and crowd-kit requires ``transformers``.

Examples
--------
>>> import pandas as pd
>>> truth = pd.Series([0, 1, 1, 0, 1, 0], name="label")
>>> records = simulate_annotations(truth, {"ann": 0.9, "bob": 0.7, "cy": 0.6}, seed=1)
>>> records.columns.tolist()
['item_id', 'label', 'annotator', 'source', 'day']
>>> len(records) == 3 * len(truth)  # every annotator labels every item by default
True
>>> votes = majority_vote(records)
>>> votes.columns.tolist()
['label', 'n_labels', 'agreement', 'annotators', 'source']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_array,
    check_float,
    check_int,
    check_type,
    make_rng,
)

__all__ = [
    "RECORD_COLUMNS",
    "simulate_annotations",
    "estimate_accuracies",
    "log_odds_weights",
    "majority_vote",
    "weighted_vote",
    "label_delays",
    "time_to_share",
    "window_labels",
]

#: Columns of a table of label records, in order (see the module docstring).
RECORD_COLUMNS: tuple[str, ...] = ("item_id", "label", "annotator", "source", "day")

_SECONDS_PER_DAY = 86_400.0
# Accuracies are clipped to [_EPS, 1 - _EPS] before taking log-odds: a perfect annotator gets
# a large, finite weight.
_EPS = 1e-3


# --------------------------------------------------------------------------------------------
# Arguments (checked with mlsys_kit.params; these compose its checks for label tables)
# --------------------------------------------------------------------------------------------


def _accuracy_map(accuracies: object, owner: str) -> dict[str, float]:
    """Annotator name to accuracy in [0, 1], refusing anything else with a ParameterError."""
    if isinstance(accuracies, pd.Series):
        accuracies = accuracies.to_dict()
    if not isinstance(accuracies, Mapping) or not accuracies:
        raise ParameterError(
            f"{owner}: accuracies must be a non-empty mapping {{annotator name: accuracy in "
            f"[0, 1]}}; got {accuracies!r}"
        )
    return {
        str(name): check_float(f"the accuracy of {name!r}", a, min=0, max=1, owner=owner)
        for name, a in accuracies.items()
    }


def _label_records(
    records: object,
    owner: str,
    needed: Iterable[str] = ("item_id", "label", "annotator"),
) -> pd.DataFrame:
    """``records`` if it is a non-empty table of label records without missing labels."""
    check_type("records", records, pd.DataFrame, owner=owner)
    missing = [c for c in needed if c not in records.columns]
    if missing:
        raise ParameterError(
            f"{owner}: records lack the column(s) {missing}; label records need "
            f"{list(RECORD_COLUMNS)}"
        )
    if records.empty:
        raise ParameterError(f"{owner}: records is empty: there is no label to aggregate")
    if records["label"].isna().any():
        raise ParameterError(
            f"{owner}: records has missing labels; drop them or give every record a label"
        )
    return records


def _class_list(
    classes: Sequence[Any] | None, owner: str, seen: Sequence[Any], what: str
) -> list[Any]:
    """The possible labels: ``classes`` (≥ 2 distinct, covering ``seen``) or sorted ``seen``."""
    if classes is None:
        return sorted(pd.unique(pd.Series(seen)).tolist())
    options = list(classes)
    if len(options) < 2 or len(set(options)) != len(options):
        raise ParameterError(
            f"{owner}: classes must list at least two distinct labels; got {options!r}"
        )
    unknown = sorted(set(pd.unique(pd.Series(seen)).tolist()) - set(options), key=str)
    if unknown:
        raise ParameterError(
            f"{owner}: {what} hold label(s) {unknown} that are not in classes {options!r}"
        )
    return options


# --------------------------------------------------------------------------------------------
# Hand labels
# --------------------------------------------------------------------------------------------


def simulate_annotations(
    truth: pd.Series,
    accuracies: Mapping[str, float],
    *,
    labels_per_item: int | None = None,
    classes: Sequence[Any] | None = None,
    labels_per_day: int = 500,
    source: str = "hand",
    seed: Seed = 0,
) -> pd.DataFrame:
    """Simulate annotators of known accuracy labelling items: one record per label.

    Each item is labelled by ``labels_per_item`` different annotators, drawn at random. An
    annotator of accuracy ``a`` gives the true label with probability ``a`` and otherwise one
    of the other classes, uniformly (symmetric noise, independent across annotators and
    items). Each annotator works through their items in order, ``labels_per_day`` a day.

    Parameters
    ----------
    truth : pandas.Series
        The true label of each item; its index gives the ``item_id`` (unique, no missing
        labels).
    accuracies : mapping of str to float
        Annotator name to accuracy in ``[0, 1]``.
    labels_per_item : int, optional
        Annotators per item, between 1 and ``len(accuracies)``; all of them by default.
    classes : sequence, optional
        The possible labels (at least two); the distinct values of ``truth`` by default.
    labels_per_day : int, default 500
        Labels each annotator gives per working day; sets the ``day`` column.
    source : str, default "hand"
        The ``source`` recorded on every label (e.g. ``"gold"`` for gold items).
    seed : int or numpy.random.Generator, default 0
        Seed of the annotator draws and the errors.

    Returns
    -------
    pandas.DataFrame
        The label records (:data:`RECORD_COLUMNS`), sorted by ``item_id`` then annotator.
        ``day`` counts from 0.

    Raises
    ------
    ParameterError
        Bad ``truth``, accuracies, ``labels_per_item``, ``classes`` or ``labels_per_day``;
        the message says what is allowed.

    Examples
    --------
    >>> truth = pd.Series([1, 0] * 500, name="label")
    >>> records = simulate_annotations(truth, {"good": 0.9, "poor": 0.6}, seed=0)
    >>> hit = records["label"].to_numpy() == truth.loc[records["item_id"]].to_numpy()
    >>> bool(abs(hit[records["annotator"] == "good"].mean() - 0.9) < 0.03)
    True
    >>> simulate_annotations(truth, {"good": 0.9}, labels_per_item=2)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: simulate_annotations: labels_per_item must be ... (1); got 2
    """
    owner = "simulate_annotations"
    check_type("truth", truth, pd.Series, owner=owner)
    if truth.empty or truth.isna().any():
        raise ParameterError(f"{owner}: truth must hold at least one label and no missing values")
    if not truth.index.is_unique:
        raise ParameterError(f"{owner}: truth's index gives the item ids: it must be unique")
    acc = _accuracy_map(accuracies, owner)
    names = list(acc)
    k = len(names) if labels_per_item is None else labels_per_item
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(names):
        raise ParameterError(
            f"{owner}: labels_per_item must be between 1 and the number of annotators "
            f"({len(names)}); got {labels_per_item!r}"
        )
    per_day = check_int("labels_per_day", labels_per_day, min=1, owner=owner)
    options = _class_list(classes, owner, truth.to_numpy(), "truth")
    if classes is None and len(options) < 2:
        raise ParameterError(
            f"{owner}: classes must list at least two distinct labels; got {options!r}"
        )
    true_code = pd.Index(options).get_indexer(truth.to_numpy())
    n, n_classes = len(truth), len(options)
    rng = make_rng(seed, owner=owner)

    # Each item picks k distinct annotators: the k smallest of random keys.
    who = np.argsort(rng.random((n, len(names))), axis=1)[:, :k]
    item = np.repeat(np.arange(n), k)
    annotator = who.ravel()
    correct = rng.random(n * k) < np.array([acc[a] for a in names])[annotator]
    # A wrong label is one of the n_classes - 1 other classes, uniformly.
    shift = rng.integers(1, n_classes, n * k)
    code = np.where(correct, true_code[item], (true_code[item] + shift) % n_classes)

    order = np.lexsort((annotator, item))
    item, annotator, code = item[order], annotator[order], code[order]
    position = pd.Series(annotator).groupby(annotator).cumcount().to_numpy()
    return pd.DataFrame(
        {
            "item_id": truth.index.to_numpy()[item],
            "label": pd.Series(options).to_numpy()[code],
            "annotator": np.asarray(names, dtype=object)[annotator].astype(str),
            "source": source,
            "day": (position // per_day).astype(np.int64),
        }
    )


def estimate_accuracies(
    records: pd.DataFrame,
    gold: pd.Series,
    *,
    n_classes: int = 2,
    prior: float = 1.0,
) -> pd.Series:
    """Each annotator's accuracy on gold items (items whose true label is known).

    Smoothed towards chance: ``(correct + prior) / (n_gold_labels + n_classes * prior)``, so
    an annotator with few gold labels gets a weight near zero rather than an infinite one.

    Parameters
    ----------
    records : pandas.DataFrame
        Label records with ``item_id``, ``label`` and ``annotator``; only those of gold items
        are used.
    gold : pandas.Series
        The known labels, indexed by ``item_id``.
    n_classes : int, default 2
        Number of classes (chance accuracy is ``1 / n_classes``).
    prior : float, default 1.0
        Pseudo-labels of smoothing (``>= 0``; 0 gives the raw share correct).

    Returns
    -------
    pandas.Series
        Estimated accuracy by annotator (every annotator of ``records``; one without gold
        labels gets chance), named ``"estimated accuracy"``.

    Raises
    ------
    ParameterError
        If ``records`` lacks columns, no record is of a gold item, or arguments are bad.

    Examples
    --------
    >>> records = pd.DataFrame(
    ...     {"item_id": [0, 1, 2, 0, 1, 2], "label": [1, 0, 1, 1, 1, 0],
    ...      "annotator": ["a"] * 3 + ["b"] * 3}
    ... )
    >>> estimate_accuracies(records, pd.Series([1, 0, 1]), prior=0).to_dict()
    {'a': 1.0, 'b': 0.3333333333333333}
    """
    owner = "estimate_accuracies"
    _label_records(records, owner)
    if not isinstance(gold, pd.Series) or gold.empty:
        raise ParameterError(
            f"{owner}: gold must be a non-empty pandas Series of known labels by item_id"
        )
    k = check_int("n_classes", n_classes, min=2, owner=owner)
    prior = check_float("prior", prior, min=0, owner=owner)
    on_gold = records[records["item_id"].isin(gold.index)]
    if on_gold.empty:
        raise ParameterError(
            f"{owner}: no record labels a gold item: give gold items to the annotators too"
        )
    hit = on_gold["label"].to_numpy() == gold.loc[on_gold["item_id"]].to_numpy()
    stats = pd.DataFrame({"annotator": on_gold["annotator"].to_numpy(), "hit": hit})
    grouped = stats.groupby("annotator", sort=False)["hit"].agg(["sum", "size"])
    grouped = grouped.reindex(pd.unique(records["annotator"]), fill_value=0)
    if prior == 0 and (grouped["size"] == 0).any():
        raise ParameterError(
            f"{owner}: with prior=0 every annotator needs gold labels; use prior > 0"
        )
    estimate = (grouped["sum"] + prior) / (grouped["size"] + k * prior)
    return estimate.astype(float).rename("estimated accuracy").rename_axis("annotator")


def log_odds_weights(accuracies: Mapping[str, float] | pd.Series, *, n_classes: int = 2):
    """The vote weight of each annotator: ``log((n_classes - 1) * a / (1 - a))``.

    The optimal weights for independent annotators with symmetric errors (Nitzan & Paroush,
    1982). Chance-level accuracy gives weight 0; accuracies are clipped to ``[0.001, 0.999]``.

    Parameters
    ----------
    accuracies : mapping or pandas.Series
        Annotator name to accuracy in ``[0, 1]``.
    n_classes : int, default 2
        Number of classes.

    Returns
    -------
    pandas.Series
        Weight by annotator, named ``"weight"``.

    Examples
    --------
    >>> log_odds_weights({"expert": 0.9, "novice": 0.6, "guesser": 0.5}).round(2).to_dict()
    {'expert': 2.2, 'novice': 0.41, 'guesser': 0.0}
    """
    acc = _accuracy_map(accuracies, "log_odds_weights")
    k = check_int("n_classes", n_classes, min=2, owner="log_odds_weights")
    a = np.clip(np.array(list(acc.values())), _EPS, 1 - _EPS)
    weights = np.log((k - 1) * a / (1 - a))
    return pd.Series(weights, index=pd.Index(list(acc), name="annotator"), name="weight")


def _aggregate(
    records: pd.DataFrame,
    weights: pd.Series,
    classes: list[Any],
    method: str,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Winning label per item by summed weights; ties broken at random (uniformly)."""
    w = records["annotator"].map(weights).to_numpy(dtype=float)
    item_codes, items = pd.factorize(records["item_id"], sort=True)
    label_codes = pd.Index(classes).get_indexer(records["label"].to_numpy())
    scores = np.zeros((len(items), len(classes)))
    np.add.at(scores, (item_codes, label_codes), w)
    counts = np.zeros((len(items), len(classes)), dtype=np.int64)
    np.add.at(counts, (item_codes, label_codes), 1)
    best = scores.max(axis=1, keepdims=True)
    tied = np.isclose(scores, best, rtol=0, atol=1e-9)
    winner = np.argmax(tied * (1 + rng.random(scores.shape)), axis=1)
    n_labels = counts.sum(axis=1)
    # Each item's annotators in name order (a stable sort: repeats keep their order), joined.
    ordered = records.sort_values(["item_id", "annotator"], kind="stable")
    by_item: dict[Any, list[str]] = {}
    item_ids, annotators = ordered["item_id"].tolist(), ordered["annotator"].tolist()
    for item, name in zip(item_ids, annotators, strict=True):
        by_item.setdefault(item, []).append(name)
    names = pd.Series({item: ",".join(group) for item, group in by_item.items()}, dtype=object)
    return pd.DataFrame(
        {
            "label": pd.Series(classes).to_numpy()[winner],
            "n_labels": n_labels,
            "agreement": counts[np.arange(len(items)), winner] / n_labels,
            "annotators": names.reindex(items).to_numpy(),
            "source": method,
        },
        index=pd.Index(items, name="item_id"),
    )


def majority_vote(
    records: pd.DataFrame, *, classes: Sequence[Any] | None = None, seed: Seed = 0
) -> pd.DataFrame:
    """One label per item: the label most annotators gave (ties broken at random).

    The plurality vote (the mode of each item's labels). **Ties:** when several labels get
    the most votes, one of them is drawn uniformly at random (reproducibly, from ``seed``),
    so that every labelled item gets a label. (The label matrix of labeling functions has
    its own vote, :func:`mlsys_kit.training_data.weak_supervision.lf_majority_vote`, which
    abstains on a tie instead.)

    Parameters
    ----------
    records : pandas.DataFrame
        Label records with ``item_id``, ``label`` and ``annotator``.
    classes : sequence, optional
        The possible labels; the distinct labels of ``records`` by default.
    seed : int or numpy.random.Generator, default 0
        Seed of the tie breaks.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``item_id`` (sorted): ``label``, ``n_labels``, ``agreement`` (share of the
        item's labels that equal the winner), ``annotators`` (who labelled it: lineage) and
        ``source`` (``"majority vote"``).

    Raises
    ------
    ParameterError
        If ``records`` is not a table of label records.

    Examples
    --------
    >>> records = pd.DataFrame(
    ...     {"item_id": [7, 7, 7, 8], "label": ["cat", "dog", "cat", "dog"],
    ...      "annotator": ["a", "b", "c", "a"]}
    ... )
    >>> votes = majority_vote(records)
    >>> votes["label"].to_dict(), votes["n_labels"].to_dict()
    ({7: 'cat', 8: 'dog'}, {7: 3, 8: 1})
    >>> votes["agreement"].round(3).tolist(), votes["annotators"].tolist()
    ([0.667, 1.0], ['a,b,c', 'a'])
    """
    owner = "majority_vote"
    _label_records(records, owner)
    options = _class_list(classes, owner, records["label"].to_numpy(), "records")
    rng = make_rng(seed, owner=owner)
    weights = pd.Series(1.0, index=pd.unique(records["annotator"]))
    return _aggregate(records, weights, options, "majority vote", rng)


def weighted_vote(
    records: pd.DataFrame,
    accuracies: Mapping[str, float] | pd.Series,
    *,
    classes: Sequence[Any] | None = None,
    seed: Seed = 0,
) -> pd.DataFrame:
    """One label per item: votes weighted by each annotator's log-odds of being right.

    Each label counts :func:`log_odds_weights` of its annotator's accuracy, with as many
    classes as ``classes`` lists. An expert of accuracy 0.9 (weight 2.2) outvotes two
    annotators of accuracy 0.7 (0.85 each), not three.

    Parameters
    ----------
    records : pandas.DataFrame
        Label records with ``item_id``, ``label`` and ``annotator``.
    accuracies : mapping or pandas.Series
        Accuracy of every annotator in ``records`` (known, or from
        :func:`estimate_accuracies`).
    classes : sequence, optional
        The possible labels; the distinct labels of ``records`` by default. Give them when
        ``records`` may not show every class.
    seed : int or numpy.random.Generator, default 0
        Seed of the tie breaks (ties of summed weights are broken at random, as in
        :func:`majority_vote`).

    Returns
    -------
    pandas.DataFrame
        As :func:`majority_vote`, with ``source`` ``"weighted vote"``.

    Raises
    ------
    ParameterError
        If an annotator of ``records`` has no accuracy, or the inputs are bad.

    Examples
    --------
    >>> records = pd.DataFrame(
    ...     {"item_id": [1, 1, 1], "label": [1, 0, 0], "annotator": ["pro", "n1", "n2"]}
    ... )
    >>> weighted_vote(records, {"pro": 0.9, "n1": 0.7, "n2": 0.7})["label"].tolist()
    [1]
    >>> majority_vote(records)["label"].tolist()
    [0]
    """
    owner = "weighted_vote"
    _label_records(records, owner)
    options = _class_list(classes, owner, records["label"].to_numpy(), "records")
    acc = _accuracy_map(accuracies, owner)
    missing = sorted(set(records["annotator"].astype(str)) - set(acc))
    if missing:
        raise ParameterError(f"{owner}: accuracies has no value for annotator(s) {missing}")
    rng = make_rng(seed, owner=owner)
    weights = log_odds_weights(acc, n_classes=len(options))
    return _aggregate(records, weights, options, "weighted vote", rng)


# --------------------------------------------------------------------------------------------
# Natural labels
# --------------------------------------------------------------------------------------------


def _event_times(events: object, columns: Sequence[str], owner: str) -> pd.DataFrame:
    """``events`` if it is a DataFrame whose ``columns`` hold date-times."""
    check_type("events", events, pd.DataFrame, owner=owner)
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise ParameterError(f"{owner}: events lack the column(s) {missing}")
    for column in columns:
        if not pd.api.types.is_datetime64_any_dtype(events[column]):
            raise ParameterError(
                f"{owner}: column {column!r} must hold date-times; got {events[column].dtype}"
            )
    return events


def label_delays(
    events: pd.DataFrame,
    *,
    event_time: str = "timestamp",
    label_time: str = "label_available_at",
) -> pd.Series:
    """Days from each event to the arrival of its label (the feedback loop of one event).

    Parameters
    ----------
    events : pandas.DataFrame
        Events with an event-time and a label-time column (date-times), e.g. the
        marketplace simulator's ``transactions``.
    event_time, label_time : str
        The two columns.

    Returns
    -------
    pandas.Series
        Delay in (fractional) days, same index as ``events``, named ``"label delay (days)"``.

    Raises
    ------
    ParameterError
        If a column is missing or does not hold date-times, or a label precedes its event.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-01", "2024-01-02"])
    >>> events = pd.DataFrame(
    ...     {"timestamp": t, "label_available_at": t + pd.to_timedelta([3, 0.5], unit="D")}
    ... )
    >>> label_delays(events).tolist()
    [3.0, 0.5]
    """
    _event_times(events, (event_time, label_time), "label_delays")
    delay = (events[label_time] - events[event_time]).dt.total_seconds() / _SECONDS_PER_DAY
    if (delay < 0).any():
        raise ParameterError(
            f"label_delays: some {label_time!r} values precede their {event_time!r}"
        )
    return delay.rename("label delay (days)")


def time_to_share(delays: pd.Series | Sequence[float], shares: Sequence[float] = (0.5, 0.9)):
    """Days until each share of the labels has arrived: quantiles of the delays.

    Parameters
    ----------
    delays : pandas.Series or sequence of float
        Label delays in days (e.g. from :func:`label_delays`), non-negative, not empty.
    shares : sequence of float, default (0.5, 0.9)
        Shares of labels, each in ``(0, 1]``.

    Returns
    -------
    pandas.Series
        Days, indexed by share, named ``"days until share arrived"``.

    Examples
    --------
    >>> time_to_share([1, 2, 3, 4, 10], shares=[0.5, 1.0]).to_dict()
    {0.5: 3.0, 1.0: 10.0}
    """
    owner = "time_to_share"
    values = check_array("delays", delays, ndim=1, min_length=1, dtype=float, owner=owner)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ParameterError(
            f"{owner}: delays must be a non-empty 1-D sequence of finite, non-negative days"
        )
    wanted = [
        check_float("share", s, min=0, max=1, open_min=True, owner=owner)
        for s in check_array("shares", shares, ndim=1, min_length=1, owner=owner).tolist()
    ]
    days = np.quantile(values, wanted, method="inverted_cdf")
    return pd.Series(days, index=pd.Index(wanted, name="share"), name="days until share arrived")


def window_labels(
    events: pd.DataFrame,
    window_days: float,
    *,
    positive: str = "is_fraud",
    event_time: str = "timestamp",
    label_time: str = "label_available_at",
) -> pd.DataFrame:
    """Natural labels as a team with a ``window_days`` labelling window would record them.

    A positive label (a chargeback) counts when it arrives within ``window_days`` of the
    event; an event without one by then is labelled negative ("no chargeback within the
    window"). A shorter window gives labels sooner, but a positive whose chargeback comes
    later is recorded as negative: a wrong label that lineage can trace to its source.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with the true outcome ``positive`` (bool; a team learns it only when the label
        arrives) and the date-time columns ``event_time`` and ``label_time``, as in the
        marketplace simulator's ``transactions``.
    window_days : float
        The labelling window in days (> 0).
    positive, event_time, label_time : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Same index as ``events``: ``label`` (bool), ``source`` (``"chargeback"`` or ``"no
        chargeback in <w> d"``), ``labeled_at`` (when the label was recorded) and ``correct``
        (bool: the label equals the true outcome; a team learns it only later).

    Raises
    ------
    ParameterError
        If ``window_days`` is not a positive number or a column is missing or mistyped.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-01"] * 3)
    >>> events = pd.DataFrame({"timestamp": t, "is_fraud": [True, True, False],
    ...     "label_available_at": t + pd.to_timedelta([2, 20, 30], unit="D")})
    >>> window_labels(events, 7)[["label", "source", "correct"]]
       label                source  correct
    0   True            chargeback     True
    1  False  no chargeback in 7 d    False
    2  False  no chargeback in 7 d     True
    """
    owner = "window_labels"
    check_float("window_days", window_days, min=0, open_min=True, owner=owner)
    delay = label_delays(events, event_time=event_time, label_time=label_time)
    if positive not in events.columns or not pd.api.types.is_bool_dtype(events[positive]):
        raise ParameterError(
            f"{owner}: events need a boolean column {positive!r} (the true outcome)"
        )
    truth = events[positive].to_numpy()
    caught = truth & (delay.to_numpy() <= window_days)
    window = pd.Timedelta(days=float(window_days))
    labeled_at = events[event_time] + window
    labeled_at = labeled_at.where(~caught, events[label_time])
    return pd.DataFrame(
        {
            "label": caught,
            "source": np.where(caught, "chargeback", f"no chargeback in {window_days:g} d"),
            "labeled_at": labeled_at,
            "correct": caught == truth,
        },
        index=events.index,
    )
