"""Tests of ``modeling.behavioral``: perturbation, invariance and directional tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from mlsys_kit.modeling.behavioral import (
    DETAIL_COLUMNS,
    BehavioralResult,
    behavioral_report,
    directional_test,
    invariance_test,
    perturbation_test,
    positive_proba,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.results import Report


@pytest.fixture
def people() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40, 10, n),
            "sex": pd.Categorical(rng.choice(["F", "M"], n), categories=["F", "M"]),
            "city": pd.array(rng.choice(["Oslo", "Rome", "Lima"], n), dtype="str"),
        },
        index=np.arange(1000, 1000 + n),
    )


def by_age(X: pd.DataFrame) -> np.ndarray:
    """Probability rising with age, blind to everything else."""
    return 1 / (1 + np.exp(-(X["age"].to_numpy() - 50) / 5))


def by_age_and_sex(X: pd.DataFrame) -> np.ndarray:
    return np.clip(by_age(X) + 0.2 * (X["sex"] == "M").to_numpy(), 0, 1)


# --- perturbation ---------------------------------------------------------------------------------


def test_perturbation_flips_only_rows_near_the_threshold(people) -> None:
    result = perturbation_test(by_age, people, {"age": 2}, seed=1, max_failure_rate=0.2)
    assert isinstance(result, BehavioralResult)
    assert result.kind == "perturbation" and result.name == "noise in age"
    assert result.n_rows == len(people)
    details = result.details
    assert list(details.columns) == DETAIL_COLUMNS
    assert details.index.equals(people.index)
    assert 0 < result.n_failed == int(details["failed"].sum())
    # a flip needs the age to cross 50: only people close to it can flip
    flipped_ages = people.loc[details["failed"], "age"]
    assert flipped_ages.between(42, 58).all()
    assert result.worst_change == pytest.approx(details["change"].abs().max())
    assert result.passed == (result.failure_rate <= 0.2)


def test_perturbation_keeps_integer_columns_integer_and_is_seeded(people) -> None:
    seen = []

    def spy(X: pd.DataFrame) -> np.ndarray:
        seen.append(X.copy())
        return by_age(X)

    first = perturbation_test(spy, people, {"age": 3, "hours": 1}, seed=5)
    again = perturbation_test(by_age, people, {"age": 3, "hours": 1}, seed=5)
    edited = seen[1]
    assert edited["age"].dtype == people["age"].dtype
    assert not edited["age"].equals(people["age"])
    assert (edited["hours"] != people["hours"]).all()
    assert edited["sex"].equals(people["sex"])
    assert first.details.equals(again.details)
    assert people["age"].iloc[0] == seen[0]["age"].iloc[0]  # the input is not modified


def test_perturbation_with_a_robust_model_passes(people) -> None:
    constant = perturbation_test(lambda X: np.full(len(X), 0.7), people, {"hours": 5})
    assert constant.n_failed == 0 and constant.passed and constant.worst_change == 0


# --- invariance -----------------------------------------------------------------------------------


def test_invariance_swaps_values_and_measures_the_change(people) -> None:
    swap = {"sex": {"F": "M", "M": "F"}}
    blind = invariance_test(by_age, people, swap)
    assert blind.n_rows == len(people) and blind.n_failed == 0 and blind.passed
    biased = invariance_test(by_age_and_sex, people, swap, tolerance=0.01, name="sex swapped")
    assert biased.name == "sex swapped" and biased.kind == "invariance"
    assert not biased.passed
    changed = biased.details["change"].abs()
    assert biased.worst_change == pytest.approx(changed.max())
    assert biased.worst_change <= 0.2 + 1e-12
    assert biased.n_failed == int((changed > 0.01).sum()) > 0


def test_invariance_tests_only_the_changed_rows_and_keeps_dtypes(people) -> None:
    seen = []

    def spy(X: pd.DataFrame) -> np.ndarray:
        seen.append(X.copy())
        return by_age(X)

    result = invariance_test(spy, people, {"city": {"Lima": "Oslo"}})
    lima = people["city"] == "Lima"
    assert result.n_rows == lima.sum()
    assert result.details.index.equals(people.index[lima])
    assert (seen[1]["city"] == "Oslo").all()
    assert seen[1]["city"].dtype == people["city"].dtype
    sex = invariance_test(spy, people, {"sex": {"F": "M", "M": "F"}})
    assert isinstance(seen[-1]["sex"].dtype, pd.CategoricalDtype)
    assert (seen[-1]["sex"].astype(str) != people["sex"].astype(str)).all()
    assert sex.n_rows == len(people)


def test_invariance_with_a_scikit_learn_model() -> None:
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.normal(size=500), "group": rng.integers(0, 2, 500)})
    y = (X["x"] + 2 * X["group"] + rng.normal(scale=0.5, size=500) > 1).astype(int)
    model = LogisticRegression().fit(X, y)
    result = invariance_test(model, X, {"group": {0: 1, 1: 0}}, max_failure_rate=0.1)
    assert result.failure_rate > 0.5 and not result.passed


# --- directional ----------------------------------------------------------------------------------


def test_directional_counts_moves_in_the_wrong_direction(people) -> None:
    up = directional_test(by_age, people, "age", 5)
    assert up.n_failed == 0 and up.passed and up.worst_change == 0
    assert up.name == "age +5: increase"
    down = directional_test(by_age, people, "age", 5, direction="decrease")
    assert down.n_failed > 0 and not down.passed
    assert down.worst_change == pytest.approx(down.details["change"].max())


def test_directional_clips_and_skips_unchanged_rows(people) -> None:
    seen = []

    def spy(X: pd.DataFrame) -> np.ndarray:
        seen.append(X.copy())
        return by_age(X)

    result = directional_test(spy, people, "age", 10, clip=(18, 70))
    # people aged 70 or more cannot move up: untested, and never moved down to 70
    assert result.n_rows == int((people["age"] < 70).sum())
    assert result.n_failed == 0
    edited = seen[1]
    assert (edited["age"] >= people.loc[edited.index, "age"]).all()
    assert (edited["age"] <= 70).all()
    with pytest.raises(ParameterError, match="changes no row"):
        directional_test(by_age, people[people["age"] >= 70], "age", 10, clip=(18, 70))
    with pytest.raises(ParameterError, match="changes no row"):
        directional_test(by_age, people, "age", 0.4)  # rounds back to the same integer


def test_directional_tolerance_and_monotonic_boosting() -> None:
    # small fits: OpenMP threads only slow them down on a busy machine
    with threadpool_limits(1):
        rng = np.random.default_rng(0)
        X = pd.DataFrame({"education": rng.integers(1, 17, 3000), "other": rng.normal(size=3000)})
        bumpy = np.sin(X["education"]) + 0.2 * X["education"]  # rises overall, with dips
        y = (bumpy + rng.normal(scale=0.3, size=3000) > 1.5).astype(int)
        free = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
        mono = HistGradientBoostingClassifier(
            max_iter=30, random_state=0, monotonic_cst={"education": 1}
        ).fit(X, y)
        expectation = {"column": "education", "delta": 1, "clip": (1, 16)}
        assert directional_test(free, X, **expectation).n_failed > 0
        assert directional_test(mono, X, **expectation).n_failed == 0
        loose = directional_test(free, X, **expectation, tolerance=1.0)
        assert loose.n_failed == 0


# --- report and helpers ---------------------------------------------------------------------------


def test_behavioral_report_tabulates_results(people) -> None:
    results = [
        perturbation_test(by_age, people, {"age": 1}),
        invariance_test(by_age_and_sex, people, {"sex": {"F": "M", "M": "F"}}),
    ]
    table = behavioral_report(results)
    assert table.columns.tolist() == [
        "test",
        "kind",
        "rows",
        "failed",
        "failure rate",
        "worst change",
        "passed",
    ]
    assert table["kind"].tolist() == ["perturbation", "invariance"]
    assert table["passed"].tolist() == [r.passed for r in results]
    keyed = behavioral_report({"noise": results[0]})
    assert keyed.index.tolist() == ["noise"]


def test_positive_proba_checks_the_model(people) -> None:
    assert positive_proba(by_age, people).shape == (len(people),)
    with pytest.raises(ParameterError, match="positive_proba: model must be a fitted binary"):
        positive_proba("model", people)
    with pytest.raises(ParameterError, match="one probability per row"):
        positive_proba(lambda X: np.zeros(3), people)

    class ThreeClasses:
        def predict_proba(self, X):
            return np.full((len(X), 3), 1 / 3)

    with pytest.raises(ParameterError, match="two columns"):
        positive_proba(ThreeClasses(), people)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda X: perturbation_test(by_age, X.to_numpy(), {"age": 1}),
            "X must be a DataFrame; got ndarray",
        ),
        (lambda X: perturbation_test(by_age, X.iloc[:0], {"age": 1}), "at least one row"),
        (lambda X: perturbation_test(by_age, X, {}), "noise must map at least one"),
        (
            lambda X: perturbation_test(by_age, X, {"height": 1}),
            "column='height' is not allowed",
        ),
        (lambda X: perturbation_test(by_age, X, {"city": 1}), "'city' must be numeric"),
        (
            lambda X: perturbation_test(by_age, X, {"age": 0}),
            r"noise\['age'\]=0.0 is out of range: allowed noise\['age'\] > 0",
        ),
        (lambda X: perturbation_test(by_age, X, {"age": "1"}), r"noise\['age'\] must be a number"),
        (
            lambda X: perturbation_test(by_age, X, {"age": 1}, threshold=1),
            "threshold=1.0 is out of",
        ),
        (
            lambda X: perturbation_test(by_age, X, {"age": 1}, max_failure_rate=2),
            "max_failure_rate=2.0 is out of range: allowed 0 ≤ max_failure_rate ≤ 1",
        ),
        (lambda X: invariance_test(by_age, X, {}), "changes must map at least one"),
        (lambda X: invariance_test(by_age, X, {"sex": {}}), "non-empty"),
        (lambda X: invariance_test(by_age, X, {"sex": {"F": "X"}}), r"\['X'\] not among"),
        (lambda X: invariance_test(by_age, X, {"city": {"Paris": "Rome"}}), "change no row"),
        (lambda X: invariance_test(by_age, X, {"sex": {"F": "M"}}, tolerance=-1), "tolerance"),
        (lambda X: directional_test(by_age, X, "age", 0), "delta must be non-zero"),
        (lambda X: directional_test(by_age, X, "sex", 1), "'sex' must be numeric"),
        (
            lambda X: directional_test(by_age, X, "age", 1, direction="up"),
            "direction='up' is not allowed",
        ),
        (lambda X: directional_test(by_age, X, "age", 1, clip=(9, 1)), "low ≤ high"),
        (lambda X: directional_test(by_age, X, "age", 1, clip=5), r"\(low, high\) pair"),
        (lambda X: directional_test(by_age, X, "age", float("nan")), "delta must be a finite"),
    ],
)
def test_bad_input_is_named(people, call, message) -> None:
    with pytest.raises(ParameterError, match=message):
        call(people)


def test_behavioral_report_bad_input() -> None:
    with pytest.raises(ParameterError, match="at least one"):
        behavioral_report([])
    with pytest.raises(ParameterError, match=r"results \(each\) must be a BehavioralResult; got"):
        behavioral_report([{"test": "x"}])


def test_result_is_a_report_whose_frame_is_its_report_row() -> None:
    X = pd.DataFrame({"age": [20, 40, 60]})
    result = directional_test(lambda X: X["age"].to_numpy() / 100, X, "age", 10)
    assert isinstance(result, Report)
    pd.testing.assert_frame_equal(result.to_frame(), behavioral_report([result]))
    assert result._repr_html_() == result.to_frame()._repr_html_()
