"""Tests of ``training_data.imbalance``: focal loss, class weights, prior correction, costs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix_at_thresholds, log_loss, make_scorer
from sklearn.model_selection import TunedThresholdClassifierCV

from mlsys_kit.params import ParameterError
from mlsys_kit.training_data.imbalance import (
    COST_COLUMNS,
    FocalLogisticRegression,
    FocalLoss,
    TunedThreshold,
    best_threshold,
    business_cost,
    class_balanced_weights,
    correct_prior,
    cost_curve,
    focal_loss,
)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3_000, 3))
    y = (rng.random(3_000) < expit(X @ [1.5, -1.0, 0.0] - 3.5)).astype(int)  # ~7% positives
    return X, y


# --- focal_loss ------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.7])
def test_focal_loss_gradient_matches_finite_differences(gamma: float) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 40)
    w = rng.uniform(0.2, 3.0, 40)
    z0 = rng.normal(scale=3.0, size=40)

    def value(z):
        return focal_loss(y, z, gamma=gamma, sample_weight=w)[0]

    def gradient(z):
        return focal_loss(y, z, gamma=gamma, sample_weight=w)[1]

    assert check_grad(value, gradient, z0) < 1e-6


def test_focal_loss_with_gamma_zero_is_the_log_loss() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 100)
    z = rng.normal(size=100)
    w = rng.uniform(0.5, 2.0, 100)
    loss, _ = focal_loss(y, z, gamma=0.0)
    assert loss == pytest.approx(log_loss(y, expit(z)))
    weighted, _ = focal_loss(y, z, gamma=0.0, sample_weight=w)
    assert weighted == pytest.approx(
        np.sum(w * -np.log(np.where(y == 1, expit(z), expit(-z)))) / 100
    )


def test_focal_loss_down_weights_easy_rows_and_is_stable() -> None:
    easy, _ = focal_loss([1], [4.0], gamma=2.0)
    easy_log, _ = focal_loss([1], [4.0], gamma=0.0)
    hard, _ = focal_loss([1], [-4.0], gamma=2.0)
    hard_log, _ = focal_loss([1], [-4.0], gamma=0.0)
    assert easy / easy_log < 0.001  # (1 - 0.982)^2
    assert hard / hard_log > 0.95
    loss, grad = focal_loss([1, 0], [-800.0, 800.0], gamma=2.0)
    assert np.isfinite(loss) and np.isfinite(grad).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y": [0, 2], "logit": [0.0, 0.0]}, "only 0 and 1"),
        ({"y": [0, 1], "logit": [0.0]}, "must match"),
        ({"y": [0, 1], "logit": [0.0, 0.0], "gamma": -1}, "gamma=-1.0 is out of range"),
        ({"y": [0, 1], "logit": [0.0, 0.0], "sample_weight": [1.0, -1.0]}, "sample_weight"),
        ({"y": [], "logit": []}, "empty"),
    ],
)
def test_focal_loss_rejects_bad_input(kwargs, message) -> None:
    with pytest.raises(ParameterError, match="focal_loss: .*" + message):
        focal_loss(**kwargs)


# --- class_balanced_weights ------------------------------------------------------------------


def test_class_balanced_weights_between_none_and_inverse_frequency() -> None:
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    assert class_balanced_weights(y, beta=0.0) == pytest.approx({0: 1.0, 1: 1.0})
    ratios = [
        class_balanced_weights(y, beta)[1] / class_balanced_weights(y, beta)[0]
        for beta in (0.9, 0.99, 0.999, 0.99999)
    ]
    assert ratios == sorted(ratios)
    assert ratios[0] > 1 and ratios[-1] == pytest.approx(9.0, rel=0.01)  # inverse frequency
    weights = class_balanced_weights(y, 0.999)
    assert (900 * weights[0] + 100 * weights[1]) / 1000 == pytest.approx(1.0)  # mean row weight 1


@pytest.mark.parametrize(
    ("y", "beta", "message"),
    [
        ([0, 0, 0], 0.9, "both classes"),
        ([0, 1], 1.0, r"beta=1.0 is out of range: allowed 0 ≤ beta < 1"),
        ([0, 1], -0.1, "beta"),
        (["a", "b"], 0.9, "only 0 and 1"),
    ],
)
def test_class_balanced_weights_rejects_bad_input(y, beta, message) -> None:
    with pytest.raises(ParameterError, match="class_balanced_weights: .*" + message):
        class_balanced_weights(y, beta)


# --- FocalLogisticRegression -----------------------------------------------------------------


def test_gamma_zero_matches_scikit_learn_logistic_regression(data) -> None:
    X, y = data
    C = 0.5
    ours = FocalLogisticRegression(gamma=0.0, alpha=1 / (C * len(y))).fit(X, y)
    theirs = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-3)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-3)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4)


def test_class_weights_equal_duplicated_rows(data) -> None:
    X, y = data
    weighted = FocalLogisticRegression(gamma=1.0, class_weight={0: 1.0, 1: 3.0}, alpha=0.0)
    weighted.fit(X, y)
    repeats = np.where(y == 1, 3, 1)
    duplicated = FocalLogisticRegression(gamma=1.0, alpha=0.0)
    duplicated.fit(np.repeat(X, repeats, axis=0), np.repeat(y, repeats))
    np.testing.assert_allclose(weighted.coef_, duplicated.coef_, atol=1e-3)
    np.testing.assert_allclose(weighted.intercept_, duplicated.intercept_, atol=1e-3)


def test_balanced_class_weight_and_sample_weight(data) -> None:
    X, y = data
    counts = np.bincount(y)
    explicit = {0: len(y) / (2 * counts[0]), 1: len(y) / (2 * counts[1])}
    a = FocalLogisticRegression(class_weight="balanced").fit(X, y)
    b = FocalLogisticRegression(class_weight=explicit).fit(X, y)
    c = FocalLogisticRegression().fit(
        X, y, sample_weight=np.where(y == 1, explicit[1], explicit[0])
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    np.testing.assert_allclose(a.coef_, c.coef_, atol=1e-6)
    # balanced weights push the mean predicted probability towards 0.5
    assert (
        a.predict_proba(X)[:, 1].mean()
        > 0.3
        > FocalLogisticRegression().fit(X, y).predict_proba(X)[:, 1].mean()
    )


def test_focal_model_is_a_scikit_learn_classifier(data) -> None:
    X, y = data
    model = clone(FocalLogisticRegression(gamma=2.0)).fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.predict(X).tolist() == (proba[:, 1] > 0.5).astype(int).tolist()
    assert model.classes_.tolist() == [0, 1]
    assert model.n_iter_ > 0
    assert model.score(X, y) > 0.9
    assert model.get_params()["gamma"] == 2.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"gamma": -1.0}, "gamma=-1.0 is out of range: allowed gamma ≥ 0"),
        ({"alpha": -0.1}, "alpha=-0.1 is out of range: allowed alpha ≥ 0"),
        ({"class_weight": "equal"}, "class_weight='equal' is not allowed: choose one of"),
        ({"class_weight": {1: 2.0}}, "keys 0 and 1"),
        ({"class_weight": {0: 1.0, 1: 0.0}}, "positive"),
        ({"class_weight": [1, 2]}, "class_weight must be a dict"),
        ({"max_iter": 0}, "max_iter=0 is out of range: allowed max_iter ≥ 1"),
        ({"max_iter": 2.5}, "max_iter must be an integer"),
    ],
)
def test_focal_model_rejects_bad_parameters(data, params, message) -> None:
    X, y = data
    with pytest.raises(ParameterError, match="FocalLogisticRegression: .*" + message):
        FocalLogisticRegression(**params).fit(X, y)


def test_focal_model_rejects_bad_data(data) -> None:
    X, y = data
    with pytest.raises(ValueError, match="both classes"):
        FocalLogisticRegression().fit(X, np.zeros(len(y), int))
    with pytest.raises(ValueError, match="only 0 and 1"):
        FocalLogisticRegression().fit(X, y + 1)
    with pytest.raises(ValueError, match="sample_weight"):
        FocalLogisticRegression().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(NotFittedError):
        FocalLogisticRegression().predict(X)
    model = FocalLogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features; the model was fitted on 3"):
        model.predict(X[:, :2])


# --- correct_prior ---------------------------------------------------------------------------


def test_correct_prior_undoes_a_known_shift_of_the_odds() -> None:
    z = np.linspace(-6, 3, 50)
    true_rate, trained_rate = 0.02, 0.5
    shift = logit(trained_rate) - logit(true_rate)
    np.testing.assert_allclose(
        correct_prior(expit(z + shift), trained_rate=trained_rate, true_rate=true_rate), expit(z)
    )
    p = expit(z)
    back = correct_prior(
        correct_prior(p, trained_rate=0.3, true_rate=0.01), trained_rate=0.01, true_rate=0.3
    )
    np.testing.assert_allclose(back, p)
    assert np.all(np.diff(correct_prior(p, trained_rate=0.5, true_rate=0.01)) > 0)  # monotone
    assert correct_prior([0.0, 1.0], trained_rate=0.5, true_rate=0.1).tolist() == [0.0, 1.0]


def test_correct_prior_recalibrates_an_undersampled_model() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40_000, 2))
    y = (rng.random(40_000) < expit(X @ [1.0, 1.0] - 4.0)).astype(int)
    keep = (y == 1) | (rng.random(len(y)) < y.mean() / (1 - y.mean()))  # about 1:1
    model = LogisticRegression().fit(X[keep], y[keep])
    raw = model.predict_proba(X)[:, 1]
    fixed = correct_prior(raw, trained_rate=y[keep].mean(), true_rate=y.mean())
    assert raw.mean() > 5 * y.mean()
    assert fixed.mean() == pytest.approx(y.mean(), rel=0.15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"proba": [0.5], "trained_rate": 0.0, "true_rate": 0.1}, "allowed 0 < trained_rate < 1"),
        ({"proba": [0.5], "trained_rate": 0.5, "true_rate": 1.0}, "allowed 0 < true_rate < 1"),
        ({"proba": [1.5], "trained_rate": 0.5, "true_rate": 0.1}, "probabilities in"),
        ({"proba": [np.nan], "trained_rate": 0.5, "true_rate": 0.1}, "probabilities in"),
    ],
)
def test_correct_prior_rejects_bad_input(kwargs, message) -> None:
    with pytest.raises(ParameterError, match="correct_prior: .*" + message):
        correct_prior(**kwargs)


# --- business cost ---------------------------------------------------------------------------


def test_cost_curve_matches_brute_force() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.random(200) + 0.3 * y, 1)  # many ties
    curve = cost_curve(y, score, missed_cost=7, false_alarm_cost=2)
    assert list(curve.columns) == COST_COLUMNS
    assert curve["threshold"].iat[0] == np.inf and curve["cost"].iat[0] == 7 * y.sum()
    for row in curve.itertuples():
        flagged = (score >= row.threshold).astype(int)
        assert row.flagged == flagged.sum()
        assert row.cost == business_cost(y, flagged, missed_cost=7, false_alarm_cost=2)
    threshold, cost = best_threshold(y, score, missed_cost=7, false_alarm_cost=2)
    assert cost == curve["cost"].min()
    assert (
        business_cost(y, (score >= threshold).astype(int), missed_cost=7, false_alarm_cost=2)
        == cost
    )


def test_best_threshold_flags_nothing_when_alarms_are_too_expensive() -> None:
    threshold, cost = best_threshold(
        [0, 1, 0, 1], [0.9, 0.8, 0.1, 0.2], missed_cost=1, false_alarm_cost=10
    )
    assert threshold == np.inf and cost == 2.0


def test_business_cost_counts_misses_and_false_alarms() -> None:
    y = [1, 1, 1, 0, 0, 0, 0]
    pred = [1, 0, 0, 1, 1, 1, 0]
    assert business_cost(y, pred, missed_cost=10, false_alarm_cost=1) == 2 * 10 + 3 * 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: business_cost([0, 1], [1], missed_cost=1, false_alarm_cost=1), "must match"),
        (lambda: business_cost([0, 1], [0, 1], missed_cost=-1, false_alarm_cost=1), "missed_cost"),
        (lambda: business_cost([0, 1], [0, 1], missed_cost=1, false_alarm_cost=np.inf), "finite"),
        (lambda: cost_curve([0, 1], [0.1, 0.2], missed_cost=-1, false_alarm_cost=1), "missed_cost"),
        (lambda: business_cost([0, 1], [0, 0.5], missed_cost=1, false_alarm_cost=1), "y_pred"),
        (lambda: cost_curve([0, 1], [0.1, np.nan], missed_cost=1, false_alarm_cost=1), "finite"),
        (lambda: cost_curve([0, 1], [0.1], missed_cost=1, false_alarm_cost=1), "must match"),
        (lambda: best_threshold([0, 3], [0.1, 0.2], missed_cost=1, false_alarm_cost=1), "y_true"),
    ],
)
def test_business_cost_rejects_bad_input(call, message) -> None:
    with pytest.raises(ParameterError, match=message):
        call()


# --- against scikit-learn ----------------------------------------------------------------------


class _Scores(ClassifierMixin, BaseEstimator):
    """A "fitted" classifier whose probability of class 1 is the first column of X."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.n_fits_ = getattr(self, "n_fits_", 0) + 1
        return self

    def predict_proba(self, X):
        score = np.asarray(X)[:, 0]
        return np.column_stack([1 - score, score])


def _random_scores(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    y = rng.integers(0, 2, n)
    score = np.clip(np.round(rng.random(n) * 0.7 + 0.3 * y, int(rng.integers(1, 4))), 0, 1)
    return y, score, float(rng.integers(1, 30)), float(rng.uniform(0.1, 5))


@pytest.mark.parametrize("seed", range(10))
def test_cost_curve_counts_are_scikit_learn_s(seed) -> None:
    y, score, c_fn, c_fp = _random_scores(seed)
    curve = cost_curve(y, score, missed_cost=c_fn, false_alarm_cost=c_fp)
    tns, fps, fns, tps, thresholds = confusion_matrix_at_thresholds(y, score)
    np.testing.assert_array_equal(curve["threshold"].to_numpy()[1:], thresholds)
    np.testing.assert_array_equal(curve["false_alarms"].to_numpy()[1:], fps)
    np.testing.assert_array_equal(curve["missed"].to_numpy()[1:], fns)
    np.testing.assert_array_equal(curve["flagged"].to_numpy()[1:], tps + fps)
    np.testing.assert_allclose(curve["cost"].to_numpy()[1:], c_fn * fns + c_fp * fps)


@pytest.mark.parametrize("seed", range(10))
def test_best_threshold_agrees_with_tuned_threshold_classifier_cv(seed) -> None:
    """TunedThresholdClassifierCV(cv="prefit", refit=False) over the same candidate thresholds
    finds the same minimum cost, and uses the fitted model as it is (no refit)."""
    y, score, c_fn, c_fp = _random_scores(seed)
    costs = {"missed_cost": c_fn, "false_alarm_cost": c_fp}
    fitted = _Scores().fit(score[:2, None], y[:2])
    scorer = make_scorer(lambda t, p: business_cost(t, p, **costs), greater_is_better=False)
    tuned = TunedThresholdClassifierCV(
        fitted, scoring=scorer, cv="prefit", refit=False, thresholds=np.unique(score)
    ).fit(score[:, None], y)
    assert tuned.estimator_ is fitted and fitted.n_fits_ == 1  # not refitted
    ours = best_threshold(y, score, **costs)
    curve = cost_curve(y, score, **costs)
    assert -tuned.best_score_ == pytest.approx(curve["cost"].iloc[1:].min())
    assert ours.cost == pytest.approx(min(-tuned.best_score_, curve["cost"].iat[0]))
    with pytest.raises(ValueError, match="refit cannot be True"):
        TunedThresholdClassifierCV(fitted, scoring=scorer, cv="prefit", refit=True).fit(
            score[:, None], y
        )


def test_named_results_unpack_as_before() -> None:
    result = best_threshold([0, 1, 1], [0.2, 0.6, 0.9], missed_cost=10, false_alarm_cost=1)
    assert isinstance(result, TunedThreshold) and tuple(result) == (0.6, 0.0)
    threshold, cost = result
    assert threshold == result.threshold and cost == result.cost
    loss = focal_loss([1, 0], [0.0, 0.0], gamma=0.0)
    assert isinstance(loss, FocalLoss) and loss.loss == loss[0]
