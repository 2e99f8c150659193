"""Tests of mlsys_kit.deployment.edge: a device's budget and the cloud-or-edge cost model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.deployment.edge import DAYS_PER_MONTH, DeviceBudget, ServingCosts, best_within
from mlsys_kit.params import ParameterError


@pytest.fixture
def candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": ["tiny", "small", "large"],
            "n_bytes": [500, 5_000, 50_000],
            "latency_s": [1e-5, 2e-5, 2e-4],
            "auc": [0.70, 0.80, 0.82],
        }
    )


def test_assess_adds_device_latency_and_verdicts(candidates: pd.DataFrame) -> None:
    budget = DeviceBudget(max_bytes=10_000, max_latency_s=1e-3, slowdown=10)
    assessed = budget.assess(candidates)
    np.testing.assert_allclose(assessed["device_latency_s"], candidates["latency_s"] * 10)
    assert assessed["fits_memory"].tolist() == [True, True, False]
    assert assessed["fits_latency"].tolist() == [True, True, False]  # 2 ms > 1 ms
    assert assessed["fits"].tolist() == [True, True, False]
    assert "fits" not in candidates.columns  # the input is not changed


def test_a_slower_device_can_miss_the_latency_target(candidates: pd.DataFrame) -> None:
    budget = DeviceBudget(max_bytes=10**9, max_latency_s=1e-3, slowdown=100)
    assert budget.assess(candidates)["fits_latency"].tolist() == [True, False, False]


def test_best_within_picks_the_best_candidate_that_fits(candidates: pd.DataFrame) -> None:
    budget = DeviceBudget(max_bytes=10_000, max_latency_s=1e-3)
    assert best_within(candidates, budget)["model"] == "small"
    assert best_within(candidates, budget, by="n_bytes")["model"] == "small"
    roomy = DeviceBudget(max_bytes=10**6, max_latency_s=1.0)
    assert best_within(candidates, roomy)["model"] == "large"


def test_best_within_names_the_limits_when_nothing_fits(candidates: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"no candidate fits.*smallest takes 500 bytes"):
        best_within(candidates, DeviceBudget(max_bytes=100, max_latency_s=1.0))


def test_best_within_refuses_an_unknown_column(candidates: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="by='accuracy' is not a column"):
        best_within(candidates, DeviceBudget(1_000, 1.0), by="accuracy")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_bytes": 0, "max_latency_s": 1.0}, "max_bytes=0 is out of range"),
        ({"max_bytes": 10, "max_latency_s": 0.0}, "max_latency_s=0.0 is out of range"),
        ({"max_bytes": 10, "max_latency_s": 1.0, "slowdown": 0.5}, "slowdown=0.5"),
        ({"max_bytes": 1.5, "max_latency_s": 1.0}, "max_bytes must be an integer"),
    ],
)
def test_device_budget_refuses_invalid_limits(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        DeviceBudget(**kwargs)


def test_assess_refuses_missing_columns_and_bad_values(candidates: pd.DataFrame) -> None:
    budget = DeviceBudget(1_000, 1.0)
    with pytest.raises(ParameterError, match=r"lack the columns \['latency_s'\]"):
        budget.assess(candidates.drop(columns="latency_s"))
    with pytest.raises(ParameterError, match="n_bytes must be ≥ 0"):
        budget.assess(candidates.assign(n_bytes=[1.0, -1.0, 2.0]))
    with pytest.raises(ParameterError, match="latency_s"):
        budget.assess(candidates.assign(latency_s=[1.0, float("nan"), 2.0]))
    with pytest.raises(ParameterError, match="candidates must be"):
        budget.assess(candidates.to_dict())


def test_cloud_cost_is_requests_times_cpu_time_at_the_price() -> None:
    costs = ServingCosts(
        n_devices=1_000,
        cpu_seconds_per_request=0.01,
        model_bytes=1,
        price_per_cpu_hour=0.36,
        utilisation=0.5,
    )
    requests = 1_000 * 5 * DAYS_PER_MONTH
    expected = requests * 0.01 / 3600 / 0.5 * 0.36
    assert costs.cloud_per_month(5) == pytest.approx(expected)
    np.testing.assert_allclose(costs.cloud_per_month([0, 5, 10]), [0, expected, 2 * expected])


def test_edge_cost_ships_every_update_to_every_device() -> None:
    costs = ServingCosts(
        n_devices=2_000_000,
        cpu_seconds_per_request=0.001,
        model_bytes=50_000,
        updates_per_month=2,
        price_per_gb=0.05,
    )
    assert costs.edge_per_month() == pytest.approx(2_000_000 * 50_000 * 2 / 1e9 * 0.05)


def test_the_two_bills_are_equal_at_the_break_even_rate() -> None:
    costs = ServingCosts(n_devices=10_000, cpu_seconds_per_request=0.003, model_bytes=20_000)
    even = costs.break_even()
    assert costs.cloud_per_month(even) == pytest.approx(costs.edge_per_month())
    assert costs.cloud_per_month(2 * even) > costs.edge_per_month()


def test_a_free_request_never_breaks_even() -> None:
    costs = ServingCosts(n_devices=10, cpu_seconds_per_request=0.0, model_bytes=1_000)
    assert math.isinf(costs.break_even())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_devices": 0}, "n_devices=0"),
        ({"cpu_seconds_per_request": -1.0}, "cpu_seconds_per_request=-1.0"),
        ({"utilisation": 0.0}, "utilisation=0.0"),
        ({"utilisation": 1.5}, "utilisation=1.5"),
        ({"price_per_gb": float("nan")}, "price_per_gb must be a finite number"),
    ],
)
def test_serving_costs_refuse_invalid_assumptions(kwargs: dict, message: str) -> None:
    base = {"n_devices": 10, "cpu_seconds_per_request": 0.001, "model_bytes": 1_000}
    with pytest.raises(ParameterError, match=message):
        ServingCosts(**{**base, **kwargs})


def test_cloud_cost_refuses_a_negative_rate() -> None:
    costs = ServingCosts(n_devices=10, cpu_seconds_per_request=0.001, model_bytes=1_000)
    with pytest.raises(ParameterError, match="requests_per_device_per_day must be finite"):
        costs.cloud_per_month([1.0, -2.0])
