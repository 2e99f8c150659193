"""Tests of ``continual.retraining``: stateless vs stateful updates in a gated loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import SGDClassifier

from mlsys_kit.continual.retraining import (
    RETRAINING_STRATEGIES,
    RetrainingRun,
    run_continual_loop,
    sgd_learner,
    train_passes,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.sim import Drift, simulate


@pytest.fixture(scope="module")
def market():
    return simulate(n_transactions=12_000, seed=2, drifts=[Drift("concept", 63)])


def test_learner_is_a_constant_rate_logistic_sgd():
    model = sgd_learner(learning_rate=0.05, seed=3)
    assert isinstance(model, SGDClassifier)
    assert (model.loss, model.learning_rate, model.eta0) == ("log_loss", "constant", 0.05)
    assert model.random_state == sgd_learner(learning_rate=0.05, seed=3).random_state


def test_train_passes_fits_and_fine_tunes_from_the_current_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    model = train_passes(sgd_learner(), X, y, epochs=2)
    before = model.coef_.copy()
    train_passes(model, X, 1 - y, epochs=1)  # fine-tuning starts from the weights, moves them
    assert model.coef_[0, 0] < before[0, 0]
    one_class = train_passes(sgd_learner(), X, np.zeros(400, dtype=int))
    assert list(one_class.classes_) == [0, 1]


def test_loop_shapes_schedule_and_report(market):
    run = run_continual_loop(market, strategy="stateless", seed=0)
    assert isinstance(run, RetrainingRun)
    np.testing.assert_array_equal(run.day, np.arange(35.0, 90.0, 7.0))
    frame = run.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "day",
        "rows processed",
        "corrupted",
        "gate gap",
        "deployed",
        "served AUC",
    ]
    assert np.isnan(run.gate_gap[0]) and run.deployed[0]
    assert not run.corrupted.any()
    assert (run.served_auc[:4] > 0.7).all()  # before the drift at day 63


def test_stateful_processes_fewer_rows_and_both_start_alike(market):
    stateless = run_continual_loop(market, strategy="stateless", gate=False, seed=0)
    stateful = run_continual_loop(market, strategy="stateful", gate=False, seed=0)
    assert stateless.rows_processed[0] == stateful.rows_processed[0]
    assert stateless.served_auc[0] == stateful.served_auc[0]  # the same first model
    assert (stateless.rows_processed[3:] > 2.5 * stateful.rows_processed[3:]).all()
    same_window = run_continual_loop(
        market, strategy="stateless", window_days=7, gate=False, seed=0
    )
    np.testing.assert_array_equal(same_window.rows_processed, stateful.rows_processed)


def test_the_gate_refuses_a_corrupted_candidate_and_no_gate_ships_it(market):
    gated = run_continual_loop(market, strategy="stateless", corrupted_update=2, seed=0)
    ungated = run_continual_loop(
        market, strategy="stateless", corrupted_update=2, gate=False, seed=0
    )
    assert gated.corrupted[2] and gated.corrupted.sum() == 1
    assert not gated.deployed[2] and gated.gate_gap[2] < -0.2
    assert ungated.deployed.all() and np.isnan(ungated.gate_gap).all()
    assert ungated.served_auc[2] < 0.5 < gated.served_auc[2]


def test_a_gate_without_holdout_refuses_every_update_after_the_first(market):
    run = run_continual_loop(market, holdout_share=0.0, seed=0)
    assert run.deployed[0] and not run.deployed[1:].any()
    assert np.isnan(run.gate_gap[1:]).all()


def test_n_updates_stops_the_loop_early_with_the_same_updates(market):
    full = run_continual_loop(market, seed=5)
    short = run_continual_loop(market, n_updates=3, seed=5)
    assert len(short.day) == 3
    np.testing.assert_array_equal(short.served_auc, full.served_auc[:3])


def test_same_seed_same_run(market):
    a = run_continual_loop(market, seed=4)
    b = run_continual_loop(market, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(a.served_auc, b.served_auc)
    np.testing.assert_array_equal(a.deployed, b.deployed)
    assert RETRAINING_STRATEGIES == ("stateless", "stateful")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "online"}, "strategy='online' is not allowed"),
        ({"period_days": 0}, "period_days=0.0 is out of range"),
        ({"window_days": -1}, "window_days=-1.0 is out of range"),
        ({"first_day": 90}, "first_day=90.0 is out of range"),
        ({"epochs": 0}, "epochs=0 is out of range"),
        ({"learning_rate": 0}, "learning_rate=0.0 is out of range"),
        ({"holdout_share": 1.0}, "holdout_share=1.0 is out of range"),
        ({"gate": "yes"}, "gate"),
        ({"gate_days": 0}, "gate_days=0.0 is out of range"),
        ({"gate_tolerance": -0.1}, "gate_tolerance=-0.1 is out of range"),
        ({"corrupted_update": -1}, "corrupted_update=-1 is out of range"),
        ({"n_updates": 0}, "n_updates=0 is out of range"),
    ],
)
def test_bad_arguments_are_refused_with_what_is_allowed(market, kwargs, message):
    with pytest.raises(ParameterError, match=message) as info:
        run_continual_loop(market, **kwargs)
    assert "run_continual_loop" in str(info.value)


def test_bad_market_and_bad_training_inputs_are_refused():
    with pytest.raises(ParameterError, match="market"):
        run_continual_loop(pd.DataFrame())
    with pytest.raises(ParameterError, match="learning_rate"):
        sgd_learner(learning_rate=-1)
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ParameterError, match="model"):
        train_passes("sgd", X, y)
    with pytest.raises(ParameterError, match="0/1"):
        train_passes(sgd_learner(), X, np.array([0, 2, 0, 1]))
    with pytest.raises(ParameterError, match="epochs"):
        train_passes(sgd_learner(), X, y, epochs=0)
    with pytest.raises(ParameterError, match="length"):
        train_passes(sgd_learner(), X, y[:3])
