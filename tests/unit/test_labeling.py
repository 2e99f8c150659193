"""Tests of ``training_data.labeling``: annotators, aggregation, lineage and natural labels."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlsys_kit.params import ParameterError
from mlsys_kit.training_data import labeling
from mlsys_kit.training_data.labeling import (
    RECORD_COLUMNS,
    estimate_accuracies,
    label_delays,
    log_odds_weights,
    majority_vote,
    simulate_annotations,
    time_to_share,
    weighted_vote,
    window_labels,
)

PANEL = {"expert": 0.92, "novice a": 0.62, "novice b": 0.66, "novice c": 0.7}


@pytest.fixture(scope="module")
def truth() -> pd.Series:
    rng = np.random.default_rng(0)
    return pd.Series(rng.random(4000) < 0.3, index=np.arange(4000) * 10 + 5, name="truth")


@pytest.fixture(scope="module")
def records(truth: pd.Series) -> pd.DataFrame:
    return simulate_annotations(truth, PANEL, labels_per_item=3, seed=1)


def _accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels.loc[truth.index] == truth).mean())


# --- simulate_annotations --------------------------------------------------------------------


def test_records_have_lineage_and_multiplicity(records: pd.DataFrame, truth: pd.Series) -> None:
    assert tuple(records.columns) == RECORD_COLUMNS
    assert len(records) == 3 * len(truth)
    per_item = records.groupby("item_id")["annotator"]
    assert (per_item.nunique() == 3).all()  # three *different* annotators per item
    assert set(records["item_id"]) == set(truth.index)
    assert set(records["annotator"]) == set(PANEL)
    assert (records["source"] == "hand").all()
    assert records["label"].dtype == bool
    assert records["day"].min() == 0 and records["day"].dtype == np.int64


def test_annotators_have_their_accuracy(records: pd.DataFrame, truth: pd.Series) -> None:
    right = records["label"].to_numpy() == truth.loc[records["item_id"]].to_numpy()
    measured = pd.Series(right).groupby(records["annotator"].to_numpy()).mean()
    for name, accuracy in PANEL.items():
        assert measured[name] == pytest.approx(accuracy, abs=0.03)


def test_days_follow_the_annotators_pace(truth: pd.Series) -> None:
    rec = simulate_annotations(truth.iloc[:1000], {"a": 0.8}, labels_per_day=300)
    assert rec["day"].tolist() == [i // 300 for i in range(1000)]


def test_same_seed_same_records_other_seed_differs(truth: pd.Series) -> None:
    one = simulate_annotations(truth.iloc[:300], PANEL, labels_per_item=2, seed=4)
    two = simulate_annotations(truth.iloc[:300], PANEL, labels_per_item=2, seed=4)
    other = simulate_annotations(truth.iloc[:300], PANEL, labels_per_item=2, seed=5)
    pd.testing.assert_frame_equal(one, two)
    assert not one.equals(other)


def test_multiclass_errors_go_to_other_classes() -> None:
    truth = pd.Series(["cat", "dog", "owl"] * 600)
    rec = simulate_annotations(truth, {"poor": 0.4}, seed=2)
    assert set(rec["label"]) == {"cat", "dog", "owl"}
    wrong = rec.loc[rec["label"].to_numpy() != truth.to_numpy(), "label"]
    assert len(wrong) / len(rec) == pytest.approx(0.6, abs=0.04)
    # with classes given, a class never seen in truth can be a wrong label
    rec = simulate_annotations(truth, {"poor": 0.0}, classes=["cat", "dog", "owl", "emu"])
    assert "emu" in set(rec["label"]) and (rec["label"].to_numpy() != truth.to_numpy()).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"accuracies": {}}, "non-empty mapping"),
        ({"accuracies": {"a": 1.2}}, "accuracy of 'a'=1.2 is out of range: allowed 0 ≤"),
        ({"accuracies": {"a": float("nan")}}, "accuracy of 'a' must be a finite number"),
        ({"labels_per_item": 3}, "between 1 and the number of annotators \\(2\\); got 3"),
        ({"labels_per_item": 0}, "between 1 and the number of annotators"),
        ({"labels_per_day": 0}, "labels_per_day=0 is out of range: allowed labels_per_day ≥ 1"),
        ({"classes": [True]}, "at least two distinct labels"),
        ({"classes": ["x", "y"]}, "not in classes"),
    ],
)
def test_simulate_annotations_rejects_bad_input(truth, kwargs, message) -> None:
    args = {"accuracies": {"a": 0.8, "b": 0.7}} | kwargs
    with pytest.raises(ParameterError, match="simulate_annotations: .*" + message):
        simulate_annotations(truth.iloc[:10], **args)


def test_simulate_annotations_rejects_bad_truth() -> None:
    with pytest.raises(ParameterError, match="truth must be a Series; got list"):
        simulate_annotations([0, 1], {"a": 0.9})
    with pytest.raises(ValueError, match="no missing values"):
        simulate_annotations(pd.Series([1.0, None]), {"a": 0.9})
    with pytest.raises(ValueError, match="must be unique"):
        simulate_annotations(pd.Series([0, 1], index=[3, 3]), {"a": 0.9})


# --- estimate_accuracies and weights ---------------------------------------------------------


def test_estimate_accuracies_on_gold(truth: pd.Series) -> None:
    gold = truth.iloc[:2000]
    rec = simulate_annotations(gold, PANEL, source="gold", seed=3)
    estimated = estimate_accuracies(rec, gold)
    assert estimated.name == "estimated accuracy"
    for name, accuracy in PANEL.items():
        assert estimated[name] == pytest.approx(accuracy, abs=0.03)


def test_estimate_accuracies_smooths_and_covers_every_annotator() -> None:
    rec = pd.DataFrame({"item_id": [1, 2, 9], "label": [1, 1, 0], "annotator": ["a", "a", "b"]})
    gold = pd.Series({1: 1, 2: 0})
    estimated = estimate_accuracies(rec, gold, prior=1)
    assert estimated["a"] == pytest.approx((1 + 1) / (2 + 2))
    assert estimated["b"] == pytest.approx(0.5)  # no gold labels: chance
    with pytest.raises(ValueError, match="prior=0"):
        estimate_accuracies(rec, gold, prior=0)


@pytest.mark.parametrize(
    ("records", "gold", "kwargs", "message"),
    [
        (pd.DataFrame({"item_id": [1], "label": [1]}), pd.Series({1: 1}), {}, "annotator"),
        (pd.DataFrame(columns=["item_id", "label", "annotator"]), pd.Series({1: 1}), {}, "empty"),
        (
            pd.DataFrame({"item_id": [1], "label": [1], "annotator": ["a"]}),
            pd.Series({2: 1}),
            {},
            "no record labels a gold item",
        ),
        (
            pd.DataFrame({"item_id": [1], "label": [1], "annotator": ["a"]}),
            pd.Series(dtype=int),
            {},
            "gold must be a non-empty",
        ),
        (
            pd.DataFrame({"item_id": [1], "label": [1], "annotator": ["a"]}),
            pd.Series({1: 1}),
            {"prior": -1},
            "prior=-1.0 is out of range: allowed prior ≥ 0",
        ),
        (
            pd.DataFrame({"item_id": [1], "label": [1], "annotator": ["a"]}),
            pd.Series({1: 1}),
            {"n_classes": 1},
            "n_classes=1 is out of range: allowed n_classes ≥ 2",
        ),
    ],
)
def test_estimate_accuracies_rejects_bad_input(records, gold, kwargs, message) -> None:
    with pytest.raises(ParameterError, match="estimate_accuracies: .*" + message):
        estimate_accuracies(records, gold, **kwargs)


def test_log_odds_weights() -> None:
    w = log_odds_weights({"a": 0.9, "b": 0.5, "c": 1.0, "d": 0.2})
    assert w["a"] == pytest.approx(math.log(9))
    assert w["b"] == 0
    assert math.isfinite(w["c"]) and w["c"] > w["a"]
    assert w["d"] < 0  # worse than chance: their vote counts against
    assert log_odds_weights({"a": 1 / 3}, n_classes=3)["a"] == pytest.approx(0)
    with pytest.raises(ValueError, match="accuracy of 'a'"):
        log_odds_weights({"a": -0.1})


# --- majority_vote and weighted_vote ---------------------------------------------------------


def test_votes_have_one_row_per_item_with_lineage(records: pd.DataFrame) -> None:
    for votes in (majority_vote(records), weighted_vote(records, PANEL)):
        assert list(votes.columns) == ["label", "n_labels", "agreement", "annotators", "source"]
        assert votes.index.is_monotonic_increasing and votes.index.is_unique
        assert (votes["n_labels"] == 3).all()
        assert votes["annotators"].str.count(",").eq(2).all()
    # Binary labels, three per item: the majority has at least two; the expert may win alone.
    assert majority_vote(records)["agreement"].between(2 / 3, 1).all()
    assert (weighted_vote(records, PANEL)["agreement"] == 1 / 3).any()
    assert set(majority_vote(records)["source"]) == {"majority vote"}
    assert set(weighted_vote(records, PANEL)["source"]) == {"weighted vote"}


def test_aggregation_beats_one_label_and_weighting_beats_counting(records, truth) -> None:
    one = (
        records.sample(frac=1, random_state=0)
        .drop_duplicates("item_id")
        .set_index("item_id")["label"]
    )
    mv = _accuracy(majority_vote(records)["label"], truth)
    wv = _accuracy(weighted_vote(records, PANEL)["label"], truth)
    assert mv > _accuracy(one, truth) + 0.03
    assert wv > mv + 0.02


def test_weighted_vote_with_equal_weights_is_majority_vote(records) -> None:
    equal = {name: 0.7 for name in PANEL}
    pd.testing.assert_series_equal(
        weighted_vote(records, equal)["label"], majority_vote(records)["label"]
    )


def test_ties_are_broken_at_random_and_seeded() -> None:
    rec = pd.DataFrame(
        {
            "item_id": np.repeat(np.arange(400), 2),
            "label": np.tile([0, 1], 400),
            "annotator": np.tile(["a", "b"], 400),
        }
    )
    votes = majority_vote(rec, seed=0)
    assert 0.4 < votes["label"].mean() < 0.6
    pd.testing.assert_frame_equal(votes, majority_vote(rec, seed=0))
    assert (votes["agreement"] == 0.5).all()


def test_weighted_vote_needs_every_annotator_and_known_classes(records) -> None:
    with pytest.raises(ValueError, match="no value for annotator\\(s\\) \\['novice c'\\]"):
        weighted_vote(records, {k: v for k, v in PANEL.items() if k != "novice c"})
    with pytest.raises(ValueError, match="not in classes"):
        weighted_vote(records, PANEL, classes=[True, "maybe"])
    with pytest.raises(ParameterError, match="majority_vote: records must be a DataFrame"):
        majority_vote([1, 2, 3])
    bad = pd.DataFrame({"item_id": [1, 1], "label": [1, None], "annotator": ["a", "b"]})
    with pytest.raises(ValueError, match="missing labels"):
        majority_vote(bad)


# --- natural labels --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta([0, 1, 2, 3, 4], unit="D")
    delay = pd.to_timedelta([2, 10, 30, 30, 6.5], unit="D")
    return pd.DataFrame(
        {
            "timestamp": t,
            "is_fraud": [True, True, False, False, True],
            "label_available_at": t + delay,
        }
    )


def test_label_delays_and_time_to_share(events: pd.DataFrame) -> None:
    delay = label_delays(events)
    assert delay.tolist() == [2, 10, 30, 30, 6.5]
    arrived = time_to_share(delay[events["is_fraud"]], shares=[0.5, 1.0])
    assert arrived.tolist() == [6.5, 10.0]
    assert arrived.name == "days until share arrived"


def test_window_labels_trades_speed_for_correctness(events: pd.DataFrame) -> None:
    short = window_labels(events, 7)
    assert short["label"].tolist() == [True, False, False, False, True]
    assert short["correct"].tolist() == [True, False, True, True, True]
    assert set(short.loc[~short["correct"], "source"]) == {"no chargeback in 7 d"}
    assert short.loc[1, "labeled_at"] == events.loc[1, "timestamp"] + pd.Timedelta(days=7)
    assert short.loc[0, "labeled_at"] == events.loc[0, "label_available_at"]
    final = window_labels(events, 30)
    assert final["correct"].all()
    assert (final["label"] == events["is_fraud"]).all()


def test_window_labels_on_the_simulator() -> None:
    from mlsys_kit.sim import simulate

    market = simulate(n_transactions=20_000, n_users=500, seed=1)
    tx = market.transactions
    full = window_labels(tx, market.config.chargeback_window_days)
    assert full["correct"].all()
    short = window_labels(tx, 3)
    assert short["label"].sum() < tx["is_fraud"].sum()
    assert (short["labeled_at"] <= tx["label_available_at"]).all()


@pytest.mark.parametrize("window", [0, -1, float("nan"), True, "7"])
def test_window_labels_rejects_bad_window(events, window) -> None:
    with pytest.raises(ParameterError, match="window_labels: window_days"):
        window_labels(events, window)


def test_natural_label_functions_reject_bad_input(events: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="lack the column\\(s\\) \\['label_available_at'\\]"):
        label_delays(events.drop(columns="label_available_at"))
    with pytest.raises(ValueError, match="must hold date-times"):
        label_delays(events.assign(timestamp=1))
    with pytest.raises(ValueError, match="precede"):
        label_delays(events.assign(label_available_at=events["timestamp"] - pd.Timedelta(1, "D")))
    with pytest.raises(ValueError, match="boolean column 'is_fraud'"):
        window_labels(events.assign(is_fraud=1), 7)
    with pytest.raises(ParameterError, match="label_delays: events must be a DataFrame"):
        label_delays([1, 2])
    with pytest.raises(ParameterError, match="share=1.5 is out of range: allowed 0 < share ≤ 1"):
        time_to_share([1.0, 2.0], shares=[0.5, 1.5])
    with pytest.raises(ParameterError, match="time_to_share: delays must have at least 1 row"):
        time_to_share([])
    with pytest.raises(ValueError, match="non-negative"):
        time_to_share([-1.0])


# --- against the libraries, and independent of global state ---------------------------------


def test_majority_vote_is_scipy_s_mode_where_there_is_no_tie() -> None:
    """The plurality label of each item equals scipy.stats.mode of its labels (random records)."""
    rng = np.random.default_rng(0)
    n_items, n_annotators = 300, 5  # an odd number of labels over 2 classes: no tie
    labels = rng.integers(0, 2, size=(n_items, n_annotators))
    rec = pd.DataFrame(
        {
            "item_id": np.repeat(np.arange(n_items), n_annotators),
            "label": labels.ravel(),
            "annotator": np.tile([f"a{j}" for j in range(n_annotators)], n_items),
        }
    )
    votes = majority_vote(rec)
    expected = stats.mode(labels, axis=1)
    np.testing.assert_array_equal(votes["label"].to_numpy(), expected.mode)
    np.testing.assert_allclose(votes["agreement"].to_numpy(), expected.count / n_annotators)


def test_majority_vote_breaks_ties_uniformly_at_random() -> None:
    rec = pd.DataFrame({"item_id": [0, 0], "label": ["x", "y"], "annotator": ["a", "b"]})
    winners = [majority_vote(rec, seed=seed)["label"].iat[0] for seed in range(400)]
    assert stats.binomtest(winners.count("x"), 400).pvalue > 0.001
    rng = np.random.default_rng(5)
    first = majority_vote(rec, seed=np.random.default_rng(5))
    assert first["label"].iat[0] == majority_vote(rec, seed=rng)["label"].iat[0]


def test_votes_refuse_a_bad_seed(records) -> None:
    with pytest.raises(ParameterError, match="majority_vote: seed"):
        majority_vote(records, seed=None)
    with pytest.raises(ParameterError, match="weighted_vote: seed"):
        weighted_vote(records, PANEL, seed=-1)


@pytest.mark.parametrize("precision", [2, 3, 10])
def test_doctests_do_not_depend_on_pandas_display_options(precision) -> None:
    """Another test may change pandas' display precision earlier in the same process."""
    with pd.option_context("display.precision", precision):
        result = doctest.testmod(
            labeling, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        )
    assert result.failed == 0 and result.attempted > 0
