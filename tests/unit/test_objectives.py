"""Tests of ``design.objectives``: mixing scores, top-k outcomes, Pareto fronts."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.design.objectives import combine_scores, hypervolume_2d, pareto_front, top_k_outcomes
from mlsys_kit.params import ParameterError

# --- combine_scores -------------------------------------------------------------------------


def test_combine_scores_endpoints_and_middle() -> None:
    quality, engagement = np.array([1.0, -2.0, 3.0]), np.array([4.0, 0.0, -1.0])
    np.testing.assert_array_equal(combine_scores(quality, engagement, 1.0), quality)
    np.testing.assert_array_equal(combine_scores(quality, engagement, 0), engagement)
    np.testing.assert_allclose(combine_scores(quality, engagement, 0.5), [2.5, -1.0, 1.0])


def test_combine_scores_accepts_lists_and_numpy_scalars() -> None:
    np.testing.assert_allclose(combine_scores([1, 0], [0, 1], np.float64(0.25)), [0.25, 0.75])


def test_combining_targets_equals_the_combined_squared_loss() -> None:
    """α·(f−q)² + (1−α)·(f−e)² is minimised, over constant f, at the mixed target."""
    rng = np.random.default_rng(0)
    q, e = rng.normal(size=50), rng.normal(size=50)
    alpha = 0.3
    grid = np.linspace(-2, 2, 4001)
    loss = [np.mean(alpha * (f - q) ** 2 + (1 - alpha) * (f - e) ** 2) for f in grid]
    best = grid[int(np.argmin(loss))]
    assert best == pytest.approx(combine_scores(q, e, alpha).mean(), abs=1e-3)


@pytest.mark.parametrize("alpha", [-0.1, 1.01, float("nan"), "0.5", None, True])
def test_combine_scores_rejects_bad_alpha(alpha: object) -> None:
    with pytest.raises(ParameterError, match="alpha"):
        combine_scores([1.0], [0.0], alpha)  # type: ignore[arg-type]


def test_combine_scores_rejects_mismatched_shapes() -> None:
    with pytest.raises(ParameterError, match="first and second"):
        combine_scores([1.0, 2.0], [0.0], 0.5)


def test_combine_scores_rejects_non_finite_scores() -> None:
    with pytest.raises(ParameterError, match="second"):
        combine_scores([1.0, 2.0], [0.0, np.inf], 0.5)
    with pytest.raises(ParameterError, match="first"):
        combine_scores(["a", "b"], [0.0, 1.0], 0.5)


# --- top_k_outcomes -------------------------------------------------------------------------


@pytest.fixture
def outcomes() -> pd.DataFrame:
    return pd.DataFrame({"quality": [3.0, 1.0, 2.0, 0.0], "engagement": [0.0, 5.0, 1.0, 2.0]})


def test_top_k_outcomes_averages_the_highest_scored_items(outcomes: pd.DataFrame) -> None:
    result = top_k_outcomes([0.9, 0.1, 0.5, 0.2], outcomes, k=2)
    assert list(result.index) == ["quality", "engagement"]
    assert result["quality"] == 2.5 and result["engagement"] == 0.5


def test_top_k_outcomes_with_k_equal_n_is_the_population_mean(outcomes: pd.DataFrame) -> None:
    result = top_k_outcomes([4, 3, 2, 1], outcomes, k=4)
    pd.testing.assert_series_equal(result, outcomes.mean())


def test_top_k_outcomes_breaks_ties_by_position(outcomes: pd.DataFrame) -> None:
    assert top_k_outcomes([1, 1, 1, 1], outcomes, k=1)["quality"] == 3.0


def test_top_k_outcomes_ignores_the_outcomes_index(outcomes: pd.DataFrame) -> None:
    shuffled_index = outcomes.set_axis([10, 3, 7, 0])
    pd.testing.assert_series_equal(
        top_k_outcomes([0.9, 0.1, 0.5, 0.2], shuffled_index, k=2),
        top_k_outcomes([0.9, 0.1, 0.5, 0.2], outcomes, k=2),
    )


@pytest.mark.parametrize("k", [0, 5, -1, 1.5, True])
def test_top_k_outcomes_rejects_bad_k(outcomes: pd.DataFrame, k: object) -> None:
    with pytest.raises(ParameterError, match=r"top_k_outcomes: k(=| must be an integer)"):
        top_k_outcomes([1, 2, 3, 4], outcomes, k=k)  # type: ignore[arg-type]


def test_top_k_outcomes_rejects_bad_scores_and_outcomes(outcomes: pd.DataFrame) -> None:
    with pytest.raises(
        ParameterError, match="top_k_outcomes: scores and outcomes must have the same length"
    ):
        top_k_outcomes([1, 2, 3], outcomes, k=1)
    with pytest.raises(ParameterError, match="top_k_outcomes: scores must have 1 dimension"):
        top_k_outcomes([[1, 2], [3, 4]], outcomes, k=1)
    with pytest.raises(ParameterError, match="top_k_outcomes: scores must hold finite values"):
        top_k_outcomes([1, np.nan, 3, 4], outcomes, k=1)
    with pytest.raises(ParameterError, match="top_k_outcomes: outcomes must be a DataFrame"):
        top_k_outcomes([1, 2, 3, 4], outcomes.to_numpy(), k=1)  # type: ignore[arg-type]


# --- pareto_front ---------------------------------------------------------------------------


def _brute_force_front(points: np.ndarray) -> np.ndarray:
    keep = []
    for i, p in enumerate(points):
        beaten = any(np.all(q >= p) and np.any(q > p) for j, q in enumerate(points) if j != i)
        keep.append(not beaten)
    return np.array(keep)


def test_pareto_front_small_example() -> None:
    points = [[1, 3], [2, 2], [1, 1], [3, 1], [2, 2], [0, 3]]
    np.testing.assert_array_equal(pareto_front(points), [True, True, False, True, True, False])


@pytest.mark.parametrize("seed", range(5))
def test_pareto_front_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 6, size=(40, 3)).astype(float)  # many ties and duplicates
    np.testing.assert_array_equal(pareto_front(points), _brute_force_front(points))


def test_pareto_front_of_a_single_point() -> None:
    np.testing.assert_array_equal(pareto_front([[0.5, 0.5]]), [True])


@pytest.mark.parametrize("bad", [[], [1.0, 2.0], [[1.0, np.nan]], [[]]])
def test_pareto_front_rejects_bad_points(bad: object) -> None:
    with pytest.raises(ParameterError, match="points"):
        pareto_front(bad)  # type: ignore[arg-type]


# --- hypervolume_2d -------------------------------------------------------------------------


def test_hypervolume_of_one_point_is_its_rectangle() -> None:
    assert hypervolume_2d([[3.0, 2.0]], reference=(1.0, 1.0)) == 2.0


def test_hypervolume_of_a_staircase() -> None:
    # Rectangles from the reference (0, 0): 3×1 + 2×(2−1) + 1×(3−2) = 6.
    assert hypervolume_2d([[1, 3], [3, 1], [2, 2]], reference=(0, 0)) == 6.0


def test_hypervolume_ignores_dominated_and_non_improving_points() -> None:
    base = hypervolume_2d([[1, 3], [3, 1], [2, 2]], reference=(0, 0))
    extra = [[1, 3], [3, 1], [2, 2], [1, 1], [2, 2], [-1, 5], [5, 0]]
    assert hypervolume_2d(extra, reference=(0, 0)) == base
    assert hypervolume_2d([[1, 1]], reference=(2, 0)) == 0.0


def test_hypervolume_matches_a_grid_count() -> None:
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 1, size=(15, 2))
    xs = (np.arange(400) + 0.5) / 400
    grid = np.array(list(itertools.product(xs, xs)))
    covered = (grid[:, None, :] <= points[None, :, :]).all(axis=2).any(axis=1)
    assert hypervolume_2d(points, reference=(0, 0)) == pytest.approx(covered.mean(), abs=5e-3)


def test_a_better_front_has_a_larger_hypervolume() -> None:
    front = np.array([[0.0, 2.0], [1.0, 1.5], [2.0, 0.0]])
    assert hypervolume_2d(front + 0.1, (-1, -1)) > hypervolume_2d(front, (-1, -1))


def test_hypervolume_rejects_bad_input() -> None:
    with pytest.raises(ParameterError, match="2 columns"):
        hypervolume_2d([[1, 2, 3]], reference=(0, 0))
    with pytest.raises(ParameterError, match="reference"):
        hypervolume_2d([[1, 2]], reference=(0, 0, 0))
    with pytest.raises(ParameterError, match="reference"):
        hypervolume_2d([[1, 2]], reference=(0, np.nan))
    with pytest.raises(ParameterError, match="points"):
        hypervolume_2d([], reference=(0, 0))
