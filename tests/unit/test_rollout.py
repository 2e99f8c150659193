"""Tests of ``continual.rollout``: simulated canary releases with a sequential guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.continual.rollout import CanaryRuns, simulate_canaries
from mlsys_kit.params import ParameterError

COMMON = {"requests_per_interval": 1000, "n_intervals": 24, "n_canaries": 200}


def test_shapes_and_accounting():
    runs = simulate_canaries(0.02, 0.05, shares=[0.05, 0.2], **COMMON, seed=0)
    assert isinstance(runs, CanaryRuns)
    assert runs.shares == (0.05, 0.2)
    for array in (runs.rollback_interval, runs.canary_requests, runs.canary_bad):
        assert array.shape == (2, 200)
    assert (runs.canary_bad <= runs.canary_requests).all()
    assert (runs.canary_requests <= 24 * 1000).all()
    interval = runs.rollback_interval[runs.rolled_back]
    assert ((interval >= 1) & (interval <= 24) & (interval == np.round(interval))).all()
    np.testing.assert_allclose(runs.excess_bad, runs.canary_bad - 0.02 * runs.canary_requests)


def test_a_rolled_back_canary_serves_no_more_than_until_its_rollback():
    runs = simulate_canaries(0.02, 0.2, shares=[0.1], **COMMON, seed=1)
    assert runs.rolled_back.all()
    # rolled back early: far fewer requests than the horizon's share
    assert runs.canary_requests.mean() < 0.5 * 0.1 * 24 * 1000


def test_bigger_share_detects_sooner_and_good_canary_is_rarely_rolled_back():
    bad = simulate_canaries(0.02, 0.04, shares=[0.02, 0.2], **COMMON, seed=2).to_frame()
    assert bad.loc[0.2, "hours live"] < bad.loc[0.02, "hours live"]
    good = simulate_canaries(0.02, 0.02, shares=[0.1], **COMMON, seed=3)
    assert good.rolled_back.mean() <= 0.05


def test_same_seed_same_runs_and_frame_columns():
    a = simulate_canaries(0.03, 0.04, shares=[0.1], **COMMON, seed=5)
    b = simulate_canaries(0.03, 0.04, shares=[0.1], **COMMON, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.canary_bad, b.canary_bad)
    frame = a.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "rolled back",
        "hours live",
        "canary requests",
        "bad served",
        "excess bad served",
    ]


def test_never_rolled_back_gives_nan_interval_and_lives_the_whole_horizon():
    runs = simulate_canaries(
        0.02, 0.02, shares=[0.01], requests_per_interval=10, n_intervals=3, n_canaries=20, seed=0
    )
    assert not runs.rolled_back.any()
    assert np.isnan(runs.rollback_interval).all()
    assert runs.to_frame().loc[0.01, "hours live"] == 3


def test_the_guard_waits_for_enough_expected_bad_predictions():
    # a tiny share: a handful of canary requests an hour; the score test would alarm on noise
    tiny = {"requests_per_interval": 2000, "n_intervals": 48, "n_canaries": 2000, "seed": 4}
    eager = simulate_canaries(0.03, 0.03, shares=[0.01], min_expected_bad=0, **tiny)
    patient = simulate_canaries(0.03, 0.03, shares=[0.01], **tiny)
    assert patient.rolled_back.mean() < eager.rolled_back.mean()
    assert patient.rolled_back.mean() <= 0.05


def test_traffic_per_interval_array():
    runs = simulate_canaries(
        0.02,
        0.03,
        shares=[0.5],
        requests_per_interval=[0, 100, 200],
        n_intervals=3,
        n_canaries=10,
        seed=0,
    )
    assert (runs.canary_requests <= 300).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"champion_rate": 1.5}, "champion_rate"),
        ({"canary_rate": -0.1}, "canary_rate"),
        ({"shares": [0.0]}, "(0, 1)"),
        ({"shares": [1.0]}, "(0, 1)"),
        ({"shares": []}, "shares"),
        ({"n_intervals": 0}, "n_intervals"),
        ({"n_canaries": 0}, "n_canaries"),
        ({"alpha": 1.0}, "alpha"),
        ({"min_expected_bad": -1}, "min_expected_bad"),
        ({"requests_per_interval": -5}, "requests_per_interval"),
        ({"requests_per_interval": [10, 20]}, "requests_per_interval"),
        ({"requests_per_interval": 2.5}, "whole number"),
    ],
)
def test_bad_inputs_name_the_problem(kwargs, message):
    arguments = {"champion_rate": 0.02, "canary_rate": 0.03, "shares": [0.1], **COMMON}
    arguments.update(kwargs)
    rates = {k: arguments.pop(k) for k in ("champion_rate", "canary_rate")}
    with pytest.raises(ParameterError, match="simulate_canaries") as error:
        simulate_canaries(rates["champion_rate"], rates["canary_rate"], **arguments)
    assert message in str(error.value)
