"""Tests of ``continual.freshness``: data age, label arrival and retraining cadences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_kit.continual.freshness import (
    CadenceRuns,
    DataAgeAUC,
    auc_by_data_age,
    gradual_concept_drift,
    retrain_on_cadence,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.sim import Drift


def flipping_stream(n=12_000, days=80, flip_day=50, seed=0):
    """One feature whose effect on the label flips sign on ``flip_day``."""
    rng = np.random.default_rng(seed)
    day = np.sort(rng.uniform(0, days, n))
    x = rng.normal(size=(n, 1))
    slope = np.where(day < flip_day, 2.0, -2.0)
    y = rng.random(n) < 1 / (1 + np.exp(-x[:, 0] * slope))
    return x, y, day


def test_gradual_concept_drift_is_a_staircase():
    drifts = gradual_concept_drift(10, per_week=0.7, start_day=2, step_days=2)
    assert all(isinstance(d, Drift) and d.kind == "concept" for d in drifts)
    assert [d.start_day for d in drifts] == [4.0, 6.0, 8.0]
    np.testing.assert_allclose([d.magnitude for d in drifts], [0.2, 0.4, 0.6])
    assert gradual_concept_drift(10, per_week=0.0) == ()


def test_fresh_data_win_after_the_flip_and_shapes():
    x, y, day = flipping_stream()
    table = auc_by_data_age(
        x,
        y,
        day,
        day,
        deploy_days=[60, 70],
        ages=[0, 30],
        window_days=10,
        make_model=LogisticRegression,
    )
    assert isinstance(table, DataAgeAUC)
    assert table.auc.shape == table.rows.shape == (2, 2)
    assert (table.gain(0, 30) > 0.5).all()
    frame = table.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == [0.0, 30.0]
    assert (table.unlabelled == 0).all()  # labels known at once


def test_only_labels_arrived_by_deployment_are_trained_on():
    x, y, day = flipping_stream()
    late = day + 5.0  # every label arrives 5 days after its event
    table = auc_by_data_age(
        x,
        y,
        day,
        late,
        deploy_days=[60],
        ages=[0, 20],
        window_days=10,
        make_model=LogisticRegression,
    )
    window = (day >= 50) & (day < 60)
    assert table.rows[0, 0] == int((window & (late <= 60)).sum())  # half of [50, 60): day < 55
    assert table.unlabelled[0, 0] == int((window & (late > 60)).sum()) > 0
    assert table.unlabelled[0, 1] == 0  # every label of [30, 40) arrived by day 60


def test_a_window_without_arrived_labels_is_refused_with_advice():
    x, y, day = flipping_stream()
    with pytest.raises(ParameterError, match="one class only; use more rows"):
        auc_by_data_age(
            x,
            y,
            day,
            day + 20,
            deploy_days=[60],
            ages=[0],
            window_days=10,
            make_model=LogisticRegression,
        )


def test_cadence_counts_fits_and_rows_and_frequent_retraining_wins():
    x, y, day = flipping_stream(n=8_000)
    runs = retrain_on_cadence(
        x,
        y,
        day,
        day,
        cadences=[2, 7, 28],
        start_day=50,
        end_day=78,
        lag_days=0,
        window_days=4,
        make_model=LogisticRegression,
    )
    assert isinstance(runs, CadenceRuns)
    assert runs.fits.tolist() == [14, 4, 1]
    assert runs.rows_processed[0] > runs.rows_processed[1] > runs.rows_processed[2]
    assert runs.auc.shape == (3, 4)
    assert runs.gain(2, 28).mean() > 0.3
    assert list(runs.to_frame().columns) == ["fits", "rows processed", "mean AUC"]
    assert runs.best_within(runs.rows_processed[1]) in (7.0, 28.0)
    assert runs.best_within(runs.rows_processed.max()) == 2.0
    assert runs.best_within(0) is None
    assert runs.scores.shape == (len(runs.labels), 3) and np.isfinite(runs.scores).all()
    boot = runs.bootstrap_mean_auc(n_boot=50, seed=0)
    assert boot.shape == (50, 3)
    np.testing.assert_array_equal(boot, runs.bootstrap_mean_auc(n_boot=50, seed=0))
    assert np.quantile(boot[:, 0] - boot[:, 2], 0.05) > 0


def cadence_runs_of(labels, scores, window):
    """A CadenceRuns holding only what ``bootstrap_mean_auc`` reads."""
    scores = np.asarray(scores, dtype=float).reshape(len(labels), -1)
    n_windows = int(np.max(window)) + 1
    return CadenceRuns(
        cadences=tuple(float(c) for c in range(1, scores.shape[1] + 1)),
        window_starts=tuple(float(w) for w in range(n_windows)),
        auc=np.full((scores.shape[1], n_windows), np.nan),
        fits=np.ones(scores.shape[1], dtype=int),
        rows_processed=np.ones(scores.shape[1], dtype=int),
        scores=scores,
        labels=np.asarray(labels, dtype=int),
        window=np.asarray(window),
    )


def test_bootstrap_is_stratified_so_a_window_with_one_fraud_never_drops_out():
    rng = np.random.default_rng(0)
    # window 0: a single positive, ranked above every negative; window 1: a coin flip
    labels = np.r_[1, np.zeros(199), rng.random(400) < 0.5].astype(int)
    scores = np.r_[5.0, rng.normal(size=199), rng.normal(size=400)]
    window = np.r_[np.zeros(200), np.ones(400)].astype(int)
    boot = cadence_runs_of(labels, scores, window).bootstrap_mean_auc(n_boot=300, seed=1)
    assert boot.shape == (300, 1) and np.isfinite(boot).all()
    # window 0 scores 1.0 on every resample (the fraud is always drawn): the mean is 0.5 + half
    # of window 1's AUC, which stays near a coin flip
    assert np.all(boot >= 0.5) and abs(boot.mean() - 0.75) < 0.02


def test_weighted_auc_matches_the_auc_of_the_repeated_rows():
    from sklearn.metrics import roc_auc_score

    from mlsys_kit.continual.freshness import _weighted_auc

    rng = np.random.default_rng(3)
    positives = rng.integers(0, 5, 30).astype(float)  # integer scores: many ties
    negatives = rng.integers(0, 4, 50).astype(float)
    weights_pos = rng.integers(0, 3, (4, 30)).astype(float)
    weights_neg = rng.integers(0, 3, (4, 50)).astype(float)
    got = _weighted_auc(
        np.column_stack([positives, -positives]),  # two models, the second one reversed
        np.column_stack([negatives, -negatives]),
        weights_pos,
        weights_neg,
    )
    assert got.shape == (4, 2)
    for b in range(4):
        scores = np.r_[
            np.repeat(positives, weights_pos[b].astype(int)),
            np.repeat(negatives, weights_neg[b].astype(int)),
        ]
        labels = np.r_[np.ones(int(weights_pos[b].sum())), np.zeros(int(weights_neg[b].sum()))]
        assert got[b, 0] == pytest.approx(roc_auc_score(labels, scores))
        assert got[b, 1] == pytest.approx(roc_auc_score(labels, -scores))


def test_bootstrap_keeps_class_counts_and_pairs_the_cadences():
    rng = np.random.default_rng(2)
    labels = (rng.random(500) < 0.1).astype(int)
    sharp = labels + rng.normal(0, 0.5, 500)
    runs = cadence_runs_of(labels, np.column_stack([sharp, sharp]), np.zeros(500, dtype=int))
    boot = runs.bootstrap_mean_auc(n_boot=100, seed=0)
    np.testing.assert_array_equal(boot[:, 0], boot[:, 1])  # same resample for every cadence
    np.testing.assert_array_equal(boot, runs.bootstrap_mean_auc(n_boot=100, seed=0))
    assert boot.std() > 0
    with pytest.raises(ParameterError, match="no evaluation window holds both classes"):
        cadence_runs_of(
            np.zeros(10, dtype=int), np.arange(10), np.zeros(10, dtype=int)
        ).bootstrap_mean_auc()


def test_lag_keeps_training_rows_before_it():
    x, y, day = flipping_stream()
    runs = retrain_on_cadence(
        x,
        y,
        day,
        day + 10,
        cadences=[7],
        start_day=50,
        end_day=64,
        lag_days=10,
        window_days=7,
        make_model=LogisticRegression,
    )
    assert runs.fits.tolist() == [2]
    assert runs.rows_processed[0] == int(
        ((day >= 33) & (day < 40)).sum() + ((day >= 40) & (day < 47)).sum()
    )


def test_unknown_age_or_cadence_is_refused():
    x, y, day = flipping_stream()
    table = auc_by_data_age(
        x, y, day, day, deploy_days=[60], ages=[0], window_days=10, make_model=LogisticRegression
    )
    with pytest.raises(ParameterError, match="age=7 is not allowed"):
        table.gain(0, 7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ages": []}, "ages must have at least 1"),
        ({"ages": [0, 0]}, "ages must be distinct and ≥ 0"),
        ({"ages": [-1]}, "ages must be distinct and ≥ 0"),
        ({"deploy_days": []}, "deploy_days must have at least 1"),
        ({"window_days": 0}, r"window_days=0(\.0)? is out of range"),
        ({"test_days": -1}, r"test_days=-1(\.0)? is out of range"),
        ({"make_model": "logistic"}, "make_model must be a callable"),
    ],
)
def test_bad_arguments_of_auc_by_data_age(kwargs, message):
    x, y, day = flipping_stream(n=2_000)
    args = {"deploy_days": [60], "ages": [0], "window_days": 10, "make_model": LogisticRegression}
    with pytest.raises(ParameterError, match=message):
        auc_by_data_age(x, y, day, day, **{**args, **kwargs})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": [2] * 10}, "labels must be bool or 0/1"),
        ({"label_day": np.zeros(10)}, "a label cannot arrive before its event"),
        ({"features": np.zeros((9, 1))}, "same length|lengths"),
        ({"features": np.zeros(10)}, "features must have 2 dimension"),
    ],
)
def test_bad_streams_are_refused(change, message):
    stream = {
        "features": np.zeros((10, 1)),
        "labels": [0, 1] * 5,
        "event_day": np.arange(10.0),
        "label_day": np.arange(10.0),
    }
    stream.update(change)
    with pytest.raises(ParameterError, match=message):
        retrain_on_cadence(
            **stream,
            cadences=[1],
            start_day=5,
            end_day=9,
            lag_days=0,
            window_days=2,
            make_model=LogisticRegression,
            eval_days=1,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cadences": [0]}, "every cadence must be > 0 days"),
        ({"cadences": []}, "cadences must have at least 1"),
        ({"end_day": 50}, "end_day=50"),
        ({"lag_days": -1}, r"lag_days=-1(\.0)? is out of range"),
        ({"eval_days": 100}, r"eval_days=100(\.0)? is out of range"),
    ],
)
def test_bad_arguments_of_retrain_on_cadence(kwargs, message):
    x, y, day = flipping_stream(n=2_000)
    args = {
        "cadences": [7],
        "start_day": 50,
        "end_day": 64,
        "lag_days": 0,
        "window_days": 7,
        "make_model": LogisticRegression,
    }
    with pytest.raises(ParameterError, match=message):
        retrain_on_cadence(x, y, day, day, **{**args, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "days=0 is out of range"),
        ({"per_week": float("nan")}, "per_week"),
        ({"start_day": 10}, "start_day=10"),
        ({"step_days": 0}, r"step_days=0(\.0)? is out of range"),
    ],
)
def test_bad_arguments_of_gradual_concept_drift(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        gradual_concept_drift(**{"days": 10, "per_week": 0.1, **kwargs})
