"""Unit tests for training_data.weak_supervision: labeling functions, summaries, label models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError

from mlsys_kit.params import ParameterError
from mlsys_kit.training_data.weak_supervision import (
    ABSTAIN,
    DawidSkene,
    LabelingFunctionError,
    apply_lfs,
    coverage,
    lf_majority_vote,
    lf_summary,
)


@pytest.fixture
def data() -> pd.DataFrame:
    return pd.DataFrame({"amount": [5, 900, 40, 1200], "new_device": [0, 1, 1, 0]})


def large_amount(row):
    return 1 if row.amount > 500 else ABSTAIN


def known_device(row):
    return 0 if row.new_device == 0 else ABSTAIN


def test_apply_lfs_builds_the_label_matrix(data):
    L = apply_lfs([large_amount, known_device], data, n_classes=2)
    assert L.dtype == np.int64
    assert L.tolist() == [[-1, 0], [1, -1], [-1, -1], [1, 0]]


def test_apply_lfs_accepts_numpy_integers(data):
    def numpy_vote(row):
        return np.int64(1) if row.amount > 500 else np.int8(ABSTAIN)

    assert apply_lfs([numpy_vote], data, n_classes=2).ravel().tolist() == [-1, 1, -1, 1]


@pytest.mark.parametrize(
    ("vote", "expected"),
    [
        (2, "returned 2"),
        ("high", "returned 'high'"),
        (None, "forget to return ABSTAIN"),
        (True, "returned True"),
        (0.5, "returned 0.5"),
        (-2, "returned -2"),
    ],
)
def test_apply_lfs_refuses_an_unknown_label(data, vote, expected):
    def bad(row):
        return vote if row.amount > 500 else ABSTAIN

    with pytest.raises(LabelingFunctionError, match=expected) as info:
        apply_lfs([large_amount, bad], data, n_classes=2)
    message = str(info.value)
    assert "'bad'" in message and "row 1" in message and "0..1" in message


def test_apply_lfs_checks_its_arguments(data):
    with pytest.raises(ParameterError, match="apply_lfs: lfs is empty: pass at least one"):
        apply_lfs([], data, n_classes=2)
    with pytest.raises(ParameterError, match="apply_lfs: every labeling function must be callable"):
        apply_lfs([large_amount, 3], data, n_classes=2)
    with pytest.raises(ParameterError, match="apply_lfs: labeling functions need distinct names"):
        apply_lfs([large_amount, large_amount], data, n_classes=2)
    with pytest.raises(ParameterError, match="apply_lfs: n_classes=1 is out of range"):
        apply_lfs([large_amount], data, n_classes=1)
    with pytest.raises(ParameterError, match="apply_lfs: data must be a DataFrame; got ndarray"):
        apply_lfs([large_amount], data.to_numpy(), n_classes=2)
    assert issubclass(LabelingFunctionError, ParameterError)


def test_lf_summary_counts_coverage_overlap_conflict_and_accuracy():
    L = np.array([[0, 0], [1, 0], [1, -1], [-1, -1]])
    table = lf_summary(L, ["a", "b"], y=[0, 1, 1, 0])
    assert table.loc["a"].tolist()[1:] == [0.75, 0.5, 0.25, 1.0]
    assert table.loc["b"].tolist()[1:] == [0.5, 0.5, 0.25, 0.5]
    assert table.loc["a", "votes"] == "0, 1"


def test_lf_summary_of_a_function_that_never_votes():
    table = lf_summary(np.array([[-1, 0], [-1, 1]]), y=[0, 1])
    assert table.loc["lf_0", "votes"] == "—"
    assert table.loc["lf_0", "coverage"] == 0
    assert np.isnan(table.loc["lf_0", "accuracy"])


def test_lf_summary_bad_input():
    with pytest.raises(ParameterError, match=r"lf_summary: L must have 2 dimension\(s\)"):
        lf_summary(np.array([0, 1]))
    with pytest.raises(ParameterError, match="lf_summary: L must be a 2-D label matrix"):
        lf_summary(np.zeros((3, 0), dtype=int))
    with pytest.raises(ParameterError, match="lf_summary: names has 1"):
        lf_summary(np.array([[0, 1]]), ["a"])
    with pytest.raises(ParameterError, match="lf_summary: y must hold one label per row"):
        lf_summary(np.array([[0, 1]]), y=[0, 1])
    with pytest.raises(ParameterError, match="lf_summary: L.* is not a vote"):
        lf_summary(np.array([[0, -3]]))
    with pytest.raises(ParameterError, match="lf_summary: L must hold integer votes"):
        lf_summary(np.array([[0.0, 1.0]]))


def test_coverage():
    assert coverage(np.array([[0, -1], [-1, -1], [1, 1], [-1, 0]])) == 0.75


def test_lf_majority_vote_abstains_on_ties_and_empty_rows():
    L = np.array([[0, 0, 1], [1, -1, 0], [-1, -1, -1], [2, 2, -1]])
    assert lf_majority_vote(L, n_classes=3).tolist() == [0, -1, -1, 2]
    with pytest.raises(ValueError, match=r"L\[3, 0\] = 2 is not a vote"):
        lf_majority_vote(L, n_classes=2)


def simulated_votes(seed: int = 0, n: int = 3000):
    """Three good functions and two that vote at random, independent given the class."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    columns = []
    for accuracy, rate in [(0.9, 0.7), (0.85, 0.6), (0.8, 0.8), (0.5, 0.9), (0.5, 0.9)]:
        vote = np.where(rng.random(n) < accuracy, y, 1 - y)
        columns.append(np.where(rng.random(n) < rate, vote, ABSTAIN))
    return np.column_stack(columns), y


def test_dawid_skene_learns_which_functions_to_trust():
    L, y = simulated_votes()
    model = DawidSkene(n_classes=2).fit(L)
    accuracy = model.lf_accuracy()
    assert np.allclose(accuracy[:3], [0.9, 0.85, 0.8], atol=0.05)
    assert np.allclose(accuracy[3:], 0.5, atol=0.08)
    assert model.class_prior_[1] == pytest.approx(0.3, abs=0.03)
    # It beats majority vote, which counts the two random functions as much as the good ones.
    mv = lf_majority_vote(L, n_classes=2)
    assert (model.predict(L) == y).mean() > (mv == y).mean() + 0.05
    proba = model.predict_proba(L)
    assert proba.shape == (len(L), 2) and np.allclose(proba.sum(axis=1), 1)


def test_dawid_skene_abstains_on_uncovered_rows_unless_asked():
    L, _ = simulated_votes(n=500)
    model = DawidSkene(n_classes=2).fit(L)
    empty = np.full((1, L.shape[1]), ABSTAIN)
    assert model.predict(empty).tolist() == [ABSTAIN]
    assert model.predict(empty, abstain_uncovered=False).tolist()[0] in (0, 1)


def test_dawid_skene_bad_input():
    with pytest.raises(NotFittedError, match="not fitted"):
        DawidSkene(n_classes=2).predict(np.array([[0]]))
    with pytest.raises(ValueError, match="not fitted"):  # NotFittedError is a ValueError
        DawidSkene(n_classes=2).lf_accuracy()
    with pytest.raises(ParameterError, match="DawidSkene: n_classes must be an integer"):
        DawidSkene(n_classes=True)
    with pytest.raises(ParameterError, match="DawidSkene: max_iter=0 is out of range"):
        DawidSkene(n_classes=2, max_iter=0)
    with pytest.raises(ParameterError, match="DawidSkene: smoothing=0.0 is out of range"):
        DawidSkene(n_classes=2, smoothing=0)
    with pytest.raises(ParameterError, match="DawidSkene: tol must be a finite number"):
        DawidSkene(n_classes=2, tol=float("nan"))
    model = DawidSkene(n_classes=2).fit(np.array([[0, 1], [1, 1]]))
    with pytest.raises(ParameterError, match="DawidSkene.predict: L has 3 .* fitted on 2"):
        model.predict(np.array([[0, 1, 1]]))
    with pytest.raises(ParameterError, match="DawidSkene.predict: L\\[0, 1\\] = 2 is not a vote"):
        model.predict(np.array([[0, 2]]))


# --- against the libraries -------------------------------------------------------------------


def test_lf_majority_vote_is_scipy_s_mode_of_the_votes_where_there_is_no_tie():
    """On random label matrices: the mode of each row's votes (abstains omitted), scipy's."""
    rng = np.random.default_rng(0)
    for n_classes in (2, 3, 4):
        L = rng.integers(-1, n_classes, size=(500, 7))
        votes = lf_majority_vote(L, n_classes=n_classes)
        counts = np.stack([(k == L).sum(axis=1) for k in range(n_classes)], axis=1)
        top = counts.max(axis=1)
        clear = (top > 0) & ((counts == top[:, None]).sum(axis=1) == 1)
        assert clear.sum() > 100 and (~clear).sum() > 10
        as_float = np.where(L == ABSTAIN, np.nan, L.astype(float))
        mode = stats.mode(as_float, axis=1, nan_policy="omit")
        np.testing.assert_array_equal(votes[clear], np.asarray(mode.mode)[clear].astype(int))
        assert (votes[~clear] == ABSTAIN).all()


def test_dawid_skene_posterior_is_bayes_rule_on_its_own_parameters():
    """predict_proba and log_likelihood_ (softmax, logsumexp) against a plain product of
    probabilities, row by row, on random votes."""
    rng = np.random.default_rng(1)
    L = rng.integers(-1, 3, size=(200, 4))
    model = DawidSkene(n_classes=3, max_iter=5).fit(L)
    joint = np.tile(model.class_prior_, (len(L), 1))
    for j in range(L.shape[1]):
        joint *= model.confusion_[j][:, L[:, j] + 1].T
    np.testing.assert_allclose(model.predict_proba(L), joint / joint.sum(axis=1, keepdims=True))
    # The log-likelihood is that of the parameters of the last M step: the same evidence.
    assert model.log_likelihood_ == pytest.approx(np.log(joint.sum(axis=1)).mean())
