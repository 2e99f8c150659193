"""Model compression: ONNX files, low-rank layers, int8, distillation, pruning."""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from mlsys_kit.deployment.compression import (
    InferenceTimes,
    OnnxModel,
    distill,
    low_rank,
    mlp_to_onnx,
    prune_trees,
    quantize_int8,
    save_onnx,
    sklearn_to_onnx,
    time_inference,
)
from mlsys_kit.params import ParameterError


def rows(n: int = 400, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    logit = X[:, 0] + 0.8 * X[:, 1] - 0.5 * X[:, 2] * X[:, 3]
    return X, rng.random(n) < 1 / (1 + np.exp(-2 * logit))


def fitted(model, X, y):
    """The model fitted to X, y: these small networks must fit, not converge to the last digit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small networks fit in milliseconds on one thread, and crawl on many of a busy machine."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return rows()


@pytest.fixture(scope="module")
def network(data) -> MLPClassifier:
    X, y = data
    return fitted(MLPClassifier((16,), alpha=1.0, solver="lbfgs", random_state=0), X, y)


@pytest.fixture(scope="module")
def boosted(data) -> GradientBoostingClassifier:
    X, y = data
    return GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0).fit(X, y)


# -- ONNX files ------------------------------------------------------------------------------


def test_sklearn_to_onnx_predicts_what_sklearn_predicts(boosted, data, tmp_path: Path):
    X, _ = data
    saved = save_onnx(sklearn_to_onnx(boosted, X), tmp_path / "boosted.onnx")
    assert saved.n_bytes == (tmp_path / "boosted.onnx").stat().st_size
    assert np.abs(saved.predict_proba(X) - boosted.predict_proba(X)).max() < 1e-5


def test_onnx_model_takes_lists_and_float64(boosted, data, tmp_path: Path):
    X, _ = data
    saved = save_onnx(sklearn_to_onnx(boosted, X), tmp_path / "boosted.onnx")
    probabilities = saved.predict_proba(X[:3].astype(np.float64).tolist())
    assert probabilities.shape == (3, 2)
    assert probabilities.dtype == np.float32


def test_onnx_model_refuses_a_vector(boosted, data, tmp_path: Path):
    X, _ = data
    saved = save_onnx(sklearn_to_onnx(boosted, X), tmp_path / "boosted.onnx")
    with pytest.raises(ParameterError, match="X must have 2 dimension"):
        saved.predict_proba(X[0])


def test_sklearn_to_onnx_refuses_what_is_not_a_fitted_classifier(data):
    X, y = data
    with pytest.raises(ParameterError, match="fitted classifier"):
        sklearn_to_onnx(LinearRegression().fit(X, y), X)
    with pytest.raises(ParameterError, match="fitted classifier"):
        sklearn_to_onnx(DecisionTreeClassifier(), X)


def test_sklearn_to_onnx_refuses_a_vector_of_rows(boosted, data):
    X, _ = data
    with pytest.raises(ParameterError, match="X must have 2 dimension"):
        sklearn_to_onnx(boosted, X[0])


def test_save_onnx_refuses_what_is_not_an_onnx_model(tmp_path: Path):
    with pytest.raises(ParameterError, match="model must be a ModelProto"):
        save_onnx(b"not a model", tmp_path / "x.onnx")


# -- Low-rank factorization ------------------------------------------------------------------


def test_low_rank_is_the_truncated_svd():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(20, 8))
    approx = low_rank(W, 3)
    assert approx.left.shape == (20, 3) and approx.right.shape == (3, 8)
    assert approx.rank == 3 and approx.n_params == 3 * (20 + 8)
    s = np.linalg.svd(W, compute_uv=False)
    # Eckart–Young: the error is the dropped singular values, and no better rank-3 exists.
    assert np.linalg.norm(W - approx.product()) == pytest.approx(np.sqrt(np.sum(s[3:] ** 2)))
    assert approx.energy == pytest.approx(np.sum(s[:3] ** 2) / np.sum(s**2))
    assert np.allclose(low_rank(W, 8).product(), W)
    assert low_rank(W, 8).energy == pytest.approx(1.0)


def test_low_rank_of_a_zero_matrix_keeps_all_its_energy():
    assert low_rank(np.zeros((3, 2)), 1).energy == 1.0


@pytest.mark.parametrize(
    ("matrix", "rank", "message"),
    [
        (np.ones((4, 3)), 0, r"rank=0 is out of range: allowed 1 ≤ rank ≤ 3"),
        (np.ones((4, 3)), 4, r"rank=4 is out of range"),
        (np.ones((4, 3)), 1.5, r"rank must be an integer"),
        (np.ones(4), 1, r"matrix must have 2 dimension"),
        (np.array([[1.0, np.nan]]), 1, r"finite"),
    ],
)
def test_low_rank_refuses_bad_input(matrix, rank, message):
    with pytest.raises(ParameterError, match=message):
        low_rank(matrix, rank)


def test_mlp_to_onnx_predicts_what_sklearn_predicts(network, data, tmp_path: Path):
    X, _ = data
    saved = save_onnx(mlp_to_onnx(network), tmp_path / "mlp.onnx")
    assert np.abs(saved.predict_proba(X) - network.predict_proba(X)).max() < 1e-5


@pytest.mark.parametrize("activation", ["tanh", "logistic", "identity"])
def test_mlp_to_onnx_follows_the_activation(activation, data, tmp_path: Path):
    X, y = data
    mlp = MLPClassifier((6, 5), activation=activation, solver="lbfgs", random_state=0)
    mlp = fitted(mlp, X, y)
    saved = save_onnx(mlp_to_onnx(mlp), tmp_path / f"{activation}.onnx")
    assert np.abs(saved.predict_proba(X) - mlp.predict_proba(X)).max() < 1e-5


def test_a_low_rank_layer_is_smaller_and_predicts_as_the_product(network, data, tmp_path: Path):
    X, _ = data
    full = save_onnx(mlp_to_onnx(network), tmp_path / "full.onnx")
    thin = save_onnx(mlp_to_onnx(network, rank=2), tmp_path / "thin.onnx")
    assert thin.n_bytes < full.n_bytes
    replaced = copy.deepcopy(network)
    replaced.coefs_ = [low_rank(network.coefs_[0], 2).product(), *network.coefs_[1:]]
    assert np.abs(thin.predict_proba(X) - replaced.predict_proba(X)).max() < 1e-5


def test_mlp_to_onnx_at_full_rank_is_the_network(network, data, tmp_path: Path):
    X, _ = data
    full_rank = min(network.coefs_[0].shape)
    saved = save_onnx(mlp_to_onnx(network, rank=full_rank), tmp_path / "same.onnx")
    assert np.abs(saved.predict_proba(X) - network.predict_proba(X)).max() < 1e-5


def test_mlp_to_onnx_refuses_bad_input(network, data):
    X, y = data
    with pytest.raises(ParameterError, match="mlp must be a MLPClassifier"):
        mlp_to_onnx(LogisticRegression().fit(X, y))
    with pytest.raises(ParameterError, match="fitted classifier"):
        mlp_to_onnx(MLPClassifier())
    with pytest.raises(ParameterError, match=r"rank=13 is out of range: allowed 1 ≤ rank ≤ 12"):
        mlp_to_onnx(network, rank=13)
    three = np.arange(len(y)) % 3
    mlp = fitted(MLPClassifier((4,), solver="lbfgs", random_state=0), X, three)
    with pytest.raises(ParameterError, match="two classes"):
        mlp_to_onnx(mlp)


# -- Quantization ----------------------------------------------------------------------------


def test_quantize_int8_shrinks_a_network_and_keeps_its_labels(data, tmp_path: Path):
    X, y = rows(d=60)  # 60 x 64 weights: the weights, not the graph, fill the file
    wide = MLPClassifier((64,), alpha=1.0, solver="lbfgs", random_state=0)
    full = save_onnx(mlp_to_onnx(fitted(wide, X, y)), tmp_path / "wide.onnx")
    small = quantize_int8(full, tmp_path / "wide-int8.onnx")
    assert small.n_bytes == (tmp_path / "wide-int8.onnx").stat().st_size
    assert full.n_bytes / small.n_bytes > 2
    agree = (small.predict_proba(X)[:, 1] > 0.5) == (full.predict_proba(X)[:, 1] > 0.5)
    assert agree.mean() > 0.97
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wide-int8.onnx", "wide.onnx"]


def test_quantize_int8_per_channel(network, data, tmp_path: Path):
    X, _ = data
    full = save_onnx(mlp_to_onnx(network), tmp_path / "mlp.onnx")
    small = quantize_int8(full, tmp_path / "mlp-int8.onnx", per_channel=True)
    assert np.abs(small.predict_proba(X) - full.predict_proba(X)).max() < 0.1


def test_quantize_int8_leaves_trees_as_they_are(boosted, data, tmp_path: Path):
    X, _ = data
    trees = save_onnx(sklearn_to_onnx(boosted, X), tmp_path / "trees.onnx")
    quantized = quantize_int8(trees, tmp_path / "trees-int8.onnx")
    assert np.abs(quantized.predict_proba(X) - trees.predict_proba(X)).max() < 1e-6


def test_quantize_int8_refuses_bad_input(network, data, tmp_path: Path):
    X, _ = data
    full = save_onnx(mlp_to_onnx(network), tmp_path / "mlp.onnx")
    with pytest.raises(ParameterError, match="model must be a OnnxModel"):
        quantize_int8(tmp_path / "mlp.onnx", tmp_path / "int8.onnx")
    with pytest.raises(ParameterError, match="path must differ"):
        quantize_int8(full, tmp_path / "mlp.onnx")
    with pytest.raises(ParameterError, match="per_channel must be True or False"):
        quantize_int8(full, tmp_path / "int8.onnx", per_channel="yes")


def test_quantize_int8_writes_nothing_on_stderr(network, data, tmp_path: Path):
    """onnxruntime logs a warning for models that skipped pre-processing; ours do not."""
    X, _ = data
    save_onnx(mlp_to_onnx(network), tmp_path / "mlp.onnx")
    code = (
        "import sys; from pathlib import Path; "
        "from mlsys_kit.deployment.compression import OnnxModel, quantize_int8; "
        f"p = Path({str(tmp_path)!r}); "
        "quantize_int8(OnnxModel(p / 'mlp.onnx', 1), p / 'q.onnx')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""


# -- Distillation ----------------------------------------------------------------------------


def test_distill_fits_the_student_to_the_teachers_probabilities(data):
    X, y = data
    teacher = RandomForestClassifier(50, min_samples_leaf=5, random_state=0).fit(X, y)
    student = distill(teacher, LogisticRegression(C=1e6, max_iter=2000), X)
    assert student.classes_.tolist() == [False, True]
    # A linear student on soft labels: its probabilities track the teacher's closely.
    gap = np.abs(student.predict_proba(X)[:, 1] - teacher.predict_proba(X)[:, 1]).mean()
    on_labels = LogisticRegression(C=1e6, max_iter=2000).fit(X, y)
    assert gap < np.abs(on_labels.predict_proba(X)[:, 1] - teacher.predict_proba(X)[:, 1]).mean()


def test_distill_leaves_the_student_unfitted(boosted, data):
    X, _ = data
    student = DecisionTreeClassifier(max_leaf_nodes=8, random_state=0)
    fitted = distill(boosted, student, X)
    assert fitted is not student and not hasattr(student, "tree_")
    assert fitted.get_n_leaves() == 8


def test_a_distilled_tree_of_a_confident_teacher_is_the_teachers_tree(data):
    """When the teacher's probabilities are 0 or 1, soft labels are the teacher's labels."""
    X, _ = data
    labels = X[:, 0] > 0
    teacher = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, labels)
    student = distill(teacher, DecisionTreeClassifier(max_depth=1, random_state=0), X)
    assert (student.predict(X) == teacher.predict(X)).all()


def test_distill_refuses_bad_input(boosted, data):
    X, y = data
    with pytest.raises(ParameterError, match="teacher must be a fitted classifier"):
        distill(LinearRegression().fit(X, y), DecisionTreeClassifier(), X)
    three = np.arange(len(y)) % 3
    with pytest.raises(ParameterError, match="two classes; got 3"):
        distill(DecisionTreeClassifier().fit(X, three), DecisionTreeClassifier(), X)
    with pytest.raises(ParameterError, match="sample_weight"):
        distill(boosted, object(), X)
    with pytest.raises(ParameterError, match="X must have 2 dimension"):
        distill(boosted, DecisionTreeClassifier(), X[0])


def test_distill_takes_any_student_that_weighs_rows(boosted, data):
    X, _ = data
    assert distill(boosted, LinearSVC(), X).predict(X).shape == (len(X),)


# -- Pruning ---------------------------------------------------------------------------------


def test_prune_trees_is_the_ensemble_after_k_rounds(boosted, data):
    X, _ = data
    staged = list(boosted.staged_predict_proba(X))
    for k in (1, 7, 30):
        assert np.allclose(prune_trees(boosted, k).predict_proba(X), staged[k - 1])
    assert len(boosted.estimators_) == 30  # the original is untouched


def test_a_pruned_ensemble_converts_to_a_smaller_file(boosted, data, tmp_path: Path):
    X, _ = data
    small = save_onnx(sklearn_to_onnx(prune_trees(boosted, 5), X), tmp_path / "small.onnx")
    full = save_onnx(sklearn_to_onnx(boosted, X), tmp_path / "full.onnx")
    assert small.n_bytes < full.n_bytes / 3
    staged = list(boosted.staged_predict_proba(X))[4]
    assert np.abs(small.predict_proba(X) - staged).max() < 1e-5


def test_prune_trees_of_a_forest_keeps_its_first_trees(data):
    X, y = data
    forest = RandomForestClassifier(10, random_state=0).fit(X, y)
    pruned = prune_trees(forest, 3)
    expected = np.mean([tree.predict_proba(X) for tree in forest.estimators_[:3]], axis=0)
    assert np.allclose(pruned.predict_proba(X), expected)


@pytest.mark.parametrize(
    ("n_trees", "message"),
    [
        (0, r"n_trees=0 is out of range: allowed 1 ≤ n_trees ≤ 30"),
        (31, r"n_trees=31"),
        (2.0, "must be an integer"),
    ],
)
def test_prune_trees_refuses_bad_counts(boosted, n_trees, message):
    with pytest.raises(ParameterError, match=message):
        prune_trees(boosted, n_trees)


def test_prune_trees_refuses_what_is_not_a_fitted_ensemble(data):
    X, y = data
    with pytest.raises(ParameterError, match="ensemble must be a GradientBoostingClassifier"):
        prune_trees(DecisionTreeClassifier().fit(X, y), 1)
    with pytest.raises(ParameterError, match="must be fitted"):
        prune_trees(RandomForestClassifier(), 1)


# -- Timing ----------------------------------------------------------------------------------


def test_time_inference_times_one_row_and_a_batch_of_each_model_in_turn():
    calls = []

    def model(name):
        def predict(rows):
            calls.append((name, len(rows)))
            return rows.sum(axis=1)

        return predict

    times = time_inference(
        {"a": model("a"), "b": model("b")},
        np.ones((10, 3)),
        batch_size=4,
        repeat=2,
        one_row_calls=3,
    )
    assert list(times) == ["a", "b"]
    assert all(isinstance(t, InferenceTimes) for t in times.values())
    assert times["a"].batch_size == 4 and times["a"].per_row == times["a"].batch / 4
    # Warm-ups, then two rounds, each timing a's one row and batch, then b's.
    round_ = [("a", 1)] * 3 + [("a", 4)] + [("b", 1)] * 3 + [("b", 4)]
    assert calls == [("a", 1), ("a", 4), ("b", 1), ("b", 4), *round_, *round_]


def test_time_inference_batches_at_most_the_rows_given():
    times = time_inference({"same": lambda rows: rows}, np.ones((3, 2)), batch_size=100)
    assert times["same"].batch_size == 3


@pytest.mark.parametrize(
    ("models", "X", "kwargs", "message"),
    [
        (len, np.ones((2, 2)), {}, "models must be a Mapping"),
        ({}, np.ones((2, 2)), {}, "at least one model"),
        ({"x": "not callable"}, np.ones((2, 2)), {}, r"models\['x'\] must be callable"),
        ({"x": len}, np.ones(2), {}, "X must have 2 dimension"),
        ({"x": len}, np.ones((0, 2)), {}, "at least 1 row"),
        ({"x": len}, np.ones((2, 2)), {"batch_size": 0}, "batch_size=0"),
        ({"x": len}, np.ones((2, 2)), {"repeat": 0}, "repeat=0"),
        ({"x": len}, np.ones((2, 2)), {"one_row_calls": 0}, "one_row_calls=0"),
    ],
)
def test_time_inference_refuses_bad_input(models, X, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        time_inference(models, X, **kwargs)


# -- Imports ---------------------------------------------------------------------------------


def test_importing_the_module_loads_no_onnx_library():
    code = (
        "import sys, mlsys_kit.deployment.compression; "
        "sys.exit(any(m in sys.modules for m in ('onnx', 'onnxruntime', 'skl2onnx')))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_onnx_model_is_a_frozen_record(tmp_path: Path):
    model = OnnxModel(tmp_path / "m.onnx", 10)
    with pytest.raises(AttributeError):
        model.n_bytes = 3
