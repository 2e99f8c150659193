"""Tests for mlsys_kit.stats: the shared statistics against their references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from mlsys_kit.params import ParameterError
from mlsys_kit.stats import bootstrap_auc, mean_interval, rank_auc


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


# -- Bootstrap AUC ---------------------------------------------------------------------------


def test_bootstrap_auc_is_roc_auc_on_each_resample():
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.3
    scores = np.column_stack([np.round(rng.random(300) + 0.4 * y, 1), rng.random(300)])
    aucs = bootstrap_auc(y, scores, n_boot=120, seed=7)  # more than one block of resamples
    draws = np.random.default_rng(7).integers(0, 300, size=(120, 300))
    expected = [[roc_auc_score(y[i], scores[i, j]) for j in range(2)] for i in draws]
    assert np.allclose(aucs, expected, atol=1e-12)


def test_bootstrap_auc_takes_one_model_and_a_generator():
    y = np.array([0, 1, 0, 1, 1, 0])
    score = np.array([0.1, 0.9, 0.3, 0.8, 0.4, 0.2])
    aucs = bootstrap_auc(y, score, n_boot=5, seed=np.random.default_rng(0))
    assert aucs.shape == (5, 1)
    assert np.all((aucs[~np.isnan(aucs)] >= 0) & (aucs[~np.isnan(aucs)] <= 1))


def test_bootstrap_auc_is_reproducible():
    y, scores = np.arange(50) % 2, np.arange(50.0)
    assert np.array_equal(bootstrap_auc(y, scores, seed=4), bootstrap_auc(y, scores, seed=4))


@pytest.mark.parametrize(
    ("y", "scores", "kwargs", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], {}, "same length"),
        ([0, 0, 0], [0.1, 0.2, 0.3], {}, "both classes"),
        ([0, 1, 2], [0.1, 0.2, 0.3], {}, "both classes"),
        ([0, 1, 1], [0.1, np.nan, 0.3], {}, "finite"),
        ([0, 1, 1], np.zeros((3, 2, 2)), {}, "a vector or a matrix"),
        ([0, 1, 1], [0.1, 0.2, 0.3], {"n_boot": 0}, r"n_boot=0 is out of range"),
        ([0, 1, 1], [0.1, 0.2, 0.3], {"seed": -1}, r"seed=-1 is out of range"),
    ],
)
def test_bootstrap_auc_refuses_bad_input(y, scores, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        bootstrap_auc(y, scores, **kwargs)


def test_rank_auc_matches_scikit_learn_with_ties_and_is_nan_for_one_class():
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.1).astype(int)
    score = np.round(rng.normal(size=500) + y, 1)  # ties
    assert rank_auc(y, score) == pytest.approx(roc_auc_score(y, score))
    assert np.isnan(rank_auc(np.zeros(5, dtype=int), np.arange(5.0)))
