"""Tests for mlsys_kit.stats: the shared statistics against their references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlsys_kit.params import ParameterError
from mlsys_kit.stats import mean_interval


def test_mean_interval_matches_scipy_and_refuses_bad_input():
    values = [0.02, 0.05, -0.01, 0.03, 0.04]
    result = mean_interval(values, level=0.95)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert result.mean == pytest.approx(np.mean(values))
    assert (result.low, result.high) == (pytest.approx(low), pytest.approx(high))
    assert mean_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)  # no spread: a point
    with pytest.raises(ParameterError, match="values"):
        mean_interval([0.1])
    with pytest.raises(ParameterError, match="finite"):
        mean_interval([0.1, np.nan])
    with pytest.raises(ParameterError, match="level"):
        mean_interval([0.1, 0.2], level=1.0)
