"""Model compression: smaller, faster models from trained ones, each measured as a file.

Serves Chapter 7 of *Designing Machine Learning Systems* (Chip Huyen, 2022), "Model
Compression", and its four techniques:

* **Low-rank factorization** replaces a weight matrix by the product of two thin ones:
  :func:`low_rank` is the truncated SVD of a matrix (the best rank-``r`` approximation), and
  :func:`mlp_to_onnx` writes a network whose first layer is stored as that product.
* **Knowledge distillation** trains a small model (the student) to reproduce a large one (the
  teacher): :func:`distill` fits the student on the teacher's *soft* predictions (each row
  as a positive with weight ``p`` and a negative with weight ``1 - p``) instead of the labels.
* **Pruning** removes parameters that add little: :func:`prune_trees` keeps the first trees of
  a fitted tree ensemble.
* **Quantization** stores weights with fewer bits: :func:`quantize_int8` turns an ONNX model's
  float32 weights into int8 with onnxruntime's dynamic quantization.

Every model is compared the way it would ship: as an ONNX file (:class:`OnnxModel`: its size
in bytes, its predictions in onnxruntime on one thread, :func:`time_inference` for one-row and
batch latency), and its quality with :func:`mlsys_kit.stats.bootstrap_auc`, a paired
bootstrap of the test rows (every model scored on the same resampled rows, so that small
differences between them are told apart from the noise of the test set).

The real libraries do the work: `skl2onnx <https://onnx.ai/sklearn-onnx/>`_ converts
scikit-learn models (:func:`sklearn_to_onnx`), `onnxruntime <https://onnxruntime.ai>`_ runs and
quantizes them. One thing is hand-written, because it is the lesson: the ONNX graph of a
multilayer perceptron (skl2onnx has no low-rank layer, and building it shows what a factorized
layer stores).
onnx, onnxruntime and skl2onnx are imported inside the functions that use them, so that
``import mlsys_kit`` stays instant.

Examples
--------
>>> import numpy as np
>>> from sklearn.neural_network import MLPClassifier
>>> X = np.random.default_rng(0).normal(size=(200, 6)).astype(np.float32)
>>> y = X[:, 0] + X[:, 1] > 0
>>> mlp = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(X, y)
>>> from mlsys_kit import output_dir
>>> folder = output_dir("compression-doctest")
>>> full = save_onnx(mlp_to_onnx(mlp), folder / "mlp.onnx")
>>> thin = save_onnx(mlp_to_onnx(mlp, rank=2), folder / "mlp-rank2.onnx")
>>> thin.n_bytes < full.n_bytes
True
>>> bool(np.abs(full.predict_proba(X) - mlp.predict_proba(X)).max() < 1e-4)
True
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mlsys_kit.params import (
    ParameterError,
    check_array,
    check_bool,
    check_int,
    check_type,
)
from mlsys_kit.timing import best_of

__all__ = [
    "OnnxModel",
    "save_onnx",
    "sklearn_to_onnx",
    "LowRank",
    "low_rank",
    "mlp_to_onnx",
    "quantize_int8",
    "distill",
    "prune_trees",
    "InferenceTimes",
    "time_inference",
]

#: The ONNX operator sets the kit writes: the default domain and the ``ai.onnx.ml`` one (trees).
OPSETS = {"": 17, "ai.onnx.ml": 3}
_ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid", "identity": "Identity"}


@dataclass(frozen=True)
class OnnxModel:
    """A model saved as an ONNX file: its size, and its predictions in onnxruntime.

    Attributes
    ----------
    path : pathlib.Path
        The ``.onnx`` file.
    n_bytes : int
        Its size on disk: what a deployment ships, and what a device has to hold.

    Notes
    -----
    The onnxruntime session is created on first use, with one thread for the operators (a
    serving worker answers on one core), and kept.
    """

    path: Path
    n_bytes: int

    @functools.cached_property
    def session(self) -> Any:
        """The :class:`onnxruntime.InferenceSession` of the file (one thread)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @functools.cached_property
    def input_name(self) -> str:
        """The name of the model's one input (a float32 matrix)."""
        return self.session.get_inputs()[0].name

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the rows of ``X``, one column per class (float32).

        Reads the output named ``probabilities`` (the name skl2onnx and :func:`mlp_to_onnx`
        give it).
        """
        rows = np.ascontiguousarray(
            check_array("X", X, ndim=2, dtype=np.float32, owner="OnnxModel.predict_proba")
        )
        return self.session.run(["probabilities"], {self.input_name: rows})[0]


def save_onnx(model: Any, path: str | Path) -> OnnxModel:
    """Write an ONNX model (an ``onnx.ModelProto``) to ``path`` and return it as a file.

    Parameters
    ----------
    model : onnx.ModelProto
        From :func:`sklearn_to_onnx` or :func:`mlp_to_onnx`.
    path : str or pathlib.Path
        The file to write; its folder must exist (use :func:`mlsys_kit.output_dir`).

    Returns
    -------
    OnnxModel

    Raises
    ------
    ParameterError
        When ``model`` is not an ONNX model.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlsys_kit import output_dir
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]], dtype=np.float32)
    >>> model = LogisticRegression().fit(X, [0, 1, 0, 1])
    >>> saved = save_onnx(sklearn_to_onnx(model, X), output_dir("doctest") / "logistic.onnx")
    >>> saved.path.name, saved.n_bytes > 0
    ('logistic.onnx', True)
    """
    import onnx

    check_type("model", model, onnx.ModelProto, owner="save_onnx")
    path = Path(path)
    data = model.SerializeToString()
    path.write_bytes(data)
    return OnnxModel(path, len(data))


def sklearn_to_onnx(model: Any, X: Any) -> Any:
    """Convert a fitted scikit-learn classifier to ONNX with skl2onnx (probabilities as a matrix).

    Parameters
    ----------
    model : estimator
        A fitted classifier skl2onnx converts (logistic regression, trees, random forests,
        gradient boosting, MLPs...; not ``HistGradientBoostingClassifier`` on the pinned stack).
    X : array-like of shape (n_rows, n_features)
        Rows like those the model will score (only the first one is used: it sets the input's
        width, as float32).

    Returns
    -------
    onnx.ModelProto
        Outputs ``label`` and ``probabilities`` (an ``n_rows x n_classes`` matrix, no ZipMap).

    Raises
    ------
    ParameterError
        When ``model`` is not a fitted classifier or ``X`` is not a matrix.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    >>> tree = DecisionTreeClassifier(max_depth=1).fit(X, [0, 0, 1, 1])
    >>> [output.name for output in sklearn_to_onnx(tree, X).graph.output]
    ['label', 'probabilities']
    """
    owner = "sklearn_to_onnx"
    if not _is_fitted_classifier(model):
        raise _not_a_fitted_classifier(model, owner)
    rows = check_array("X", X, ndim=2, min_length=1, dtype=np.float32, owner=owner)
    from skl2onnx import to_onnx

    return to_onnx(
        model, rows[:1], options={id(model): {"zipmap": False}}, target_opset=dict(OPSETS)
    )


class LowRank(NamedTuple):
    """A matrix ``W`` factorized as ``left @ right`` (see :func:`low_rank`)."""

    left: np.ndarray
    right: np.ndarray
    energy: float

    @property
    def rank(self) -> int:
        """The inner dimension ``r``."""
        return int(self.left.shape[1])

    @property
    def n_params(self) -> int:
        """Numbers stored: ``(rows + columns) * r`` instead of ``rows * columns``."""
        return int(self.left.size + self.right.size)

    def product(self) -> np.ndarray:
        """The rank-``r`` matrix ``left @ right``."""
        return self.left @ self.right


def low_rank(matrix: Any, rank: int) -> LowRank:
    """The best rank-``rank`` approximation of ``matrix``, as two thin factors (truncated SVD).

    ``W ≈ (U_r * s_r) @ V_r^T`` (Eckart–Young: no rank-``r`` matrix is closer in the
    Frobenius norm). A layer ``x @ W`` becomes ``(x @ left) @ right``: ``(d + h) * r``
    numbers instead of ``d * h``, fewer whenever ``r < d * h / (d + h)``.

    Parameters
    ----------
    matrix : array-like of shape (d, h)
        The weight matrix.
    rank : int
        The inner dimension, from 1 to ``min(d, h)`` (which reproduces the matrix).

    Returns
    -------
    LowRank
        ``left`` (d x r), ``right`` (r x h), and ``energy``: the share of the matrix's squared
        singular values kept (1 at full rank).

    Raises
    ------
    ParameterError
        When ``matrix`` is not a finite matrix or ``rank`` is out of range.

    Examples
    --------
    >>> W = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # singular values 2 and 1
    >>> approx = low_rank(W, 1)
    >>> approx.left.shape, approx.right.shape, round(approx.energy, 2)
    ((3, 1), (1, 2), 0.8)
    >>> bool(np.allclose(low_rank(W, 2).product(), W))
    True
    >>> low_rank(W, 3)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: low_rank: rank=3 is out of range: allowed 1 ≤ rank ≤ 2
    """
    owner = "low_rank"
    W = check_array("matrix", matrix, ndim=2, min_length=1, dtype=float, finite=True, owner=owner)
    rank = check_int("rank", rank, min=1, max=min(W.shape), owner=owner)
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    total = float(np.square(s).sum())
    energy = float(np.square(s[:rank]).sum() / total) if total > 0 else 1.0
    return LowRank(U[:, :rank] * s[:rank], Vt[:rank], energy)


def mlp_to_onnx(mlp: Any, *, rank: int | None = None) -> Any:
    """The ONNX graph of a fitted binary ``MLPClassifier``, its first layer optionally low-rank.

    Each layer is ``MatMul``, ``Add`` and the activation; with ``rank``, the first layer's
    weights are stored as the two factors of :func:`low_rank` (two ``MatMul``), so the file
    holds ``(d + h) * rank`` numbers for that layer instead of ``d * h``. The output is
    ``probabilities``, ``[1 - p, p]`` per row, as scikit-learn's ``predict_proba``.

    Parameters
    ----------
    mlp : sklearn.neural_network.MLPClassifier
        Fitted, on two classes.
    rank : int, optional
        The rank of the first layer, 1 to ``min(d, h)``; default: the full matrix.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ParameterError
        When ``mlp`` is not a fitted binary MLPClassifier, or ``rank`` is out of range.

    Examples
    --------
    >>> from sklearn.neural_network import MLPClassifier
    >>> X = np.random.default_rng(1).normal(size=(100, 5))
    >>> mlp = MLPClassifier((4,), solver="lbfgs", random_state=0).fit(X, X[:, 0] > 0)
    >>> [node.op_type for node in mlp_to_onnx(mlp, rank=2).graph.node][:4]
    ['MatMul', 'MatMul', 'Add', 'Relu']
    >>> mlp_to_onnx(mlp, rank=9)
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: mlp_to_onnx: rank=9 is out of range: allowed 1 ≤ rank ≤ 4
    """
    owner = "mlp_to_onnx"
    from sklearn.neural_network import MLPClassifier

    check_type("mlp", mlp, MLPClassifier, owner=owner)
    if not _is_fitted_classifier(mlp):
        raise _not_a_fitted_classifier(mlp, owner, name="mlp")
    if mlp.out_activation_ != "logistic":
        raise ParameterError(f"{owner}: mlp must be fitted on two classes; got {mlp.classes_!r}")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights, nodes, current = [], [], "input"

    def constant(name: str, value: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    last = len(mlp.coefs_) - 1
    for i, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_, strict=True)):
        if i == 0 and rank is not None:
            factors = low_rank(W, check_int("rank", rank, min=1, max=min(W.shape), owner=owner))
            left, right = constant("W0_left", factors.left), constant("W0_right", factors.right)
            nodes.append(helper.make_node("MatMul", [current, left], ["h0_thin"]))
            nodes.append(helper.make_node("MatMul", ["h0_thin", right], ["h0_linear"]))
        else:
            nodes.append(
                helper.make_node("MatMul", [current, constant(f"W{i}", W)], [f"h{i}_linear"])
            )
        nodes.append(helper.make_node("Add", [f"h{i}_linear", constant(f"b{i}", b)], [f"h{i}_z"]))
        activation = "Sigmoid" if i == last else _ACTIVATIONS[mlp.activation]
        output = "p1" if i == last else f"h{i}"
        nodes.append(helper.make_node(activation, [f"h{i}_z"], [output]))
        current = output
    nodes.append(helper.make_node("Sub", [constant("one", np.ones(1)), "p1"], ["p0"]))
    nodes.append(helper.make_node("Concat", ["p0", "p1"], ["probabilities"], axis=1))
    n_features = mlp.coefs_[0].shape[0]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSETS[""])])
    model.ir_version = 8  # what onnxruntime reads for opset 17
    onnx.checker.check_model(model)
    return model


def quantize_int8(model: OnnxModel, path: str | Path, *, per_channel: bool = False) -> OnnxModel:
    """Quantize an ONNX model's weights to int8 with onnxruntime's dynamic quantization.

    The file is first pre-processed as onnxruntime recommends (ONNX shape inference and graph
    optimisation, ``quant_pre_process``), then ``quantize_dynamic`` stores each ``MatMul``
    weight as int8 with a scale and a zero point, and quantizes activations to 8 bits on the
    fly at inference. Operators it cannot quantize (tree ensembles) stay as they are.

    Parameters
    ----------
    model : OnnxModel
        The float32 model, e.g. from :func:`save_onnx`.
    path : str or pathlib.Path
        Where to write the quantized model (its folder must exist).
    per_channel : bool, default False
        One scale per output column instead of one per matrix.

    Returns
    -------
    OnnxModel

    Raises
    ------
    ParameterError
        When ``model`` is not an :class:`OnnxModel` or ``path`` is the model's own file.

    Examples
    --------
    >>> from sklearn.neural_network import MLPClassifier
    >>> X = np.random.default_rng(1).normal(size=(100, 60)).astype(np.float32)
    >>> mlp = MLPClassifier((64,), solver="lbfgs", random_state=0).fit(X, X[:, 0] > 0)
    >>> from mlsys_kit import output_dir
    >>> folder = output_dir("doctest")
    >>> full = save_onnx(mlp_to_onnx(mlp), folder / "mlp32.onnx")
    >>> small = quantize_int8(full, folder / "mlp32-int8.onnx")
    >>> full.n_bytes / small.n_bytes > 2
    True
    """
    owner = "quantize_int8"
    check_type("model", model, OnnxModel, owner=owner)
    per_channel = check_bool("per_channel", per_channel, owner=owner)
    path = Path(path)
    if path.resolve() == model.path.resolve():
        raise ParameterError(f"{owner}: path must differ from the model's own file {model.path}")
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = path.with_name(path.stem + ".pre.onnx")
    # Symbolic shape inference (for transformers) needs sympy; ONNX's own inference suffices here.
    quant_pre_process(str(model.path), str(prepared), skip_symbolic_shape=True)
    try:
        quantize_dynamic(prepared, path, per_channel=per_channel, weight_type=QuantType.QInt8)
    finally:
        prepared.unlink(missing_ok=True)
    return OnnxModel(path, path.stat().st_size)


def distill(teacher: Any, student: Any, X: Any) -> Any:
    """Fit ``student`` on the soft predictions of ``teacher`` on the rows ``X`` (two classes).

    Each row is given twice, once as the positive class with weight ``p`` (the teacher's
    probability) and once as the negative class with weight ``1 - p``: a classifier that
    takes ``sample_weight`` then minimises its usual loss against the teacher's probabilities
    (for a logistic regression, the cross-entropy against them exactly), and keeps its own
    type and size. No labels are used.

    Parameters
    ----------
    teacher : classifier
        Fitted, on two classes, with ``predict_proba``.
    student : classifier
        An unfitted scikit-learn classifier whose ``fit`` takes ``sample_weight`` (trees,
        linear models); it is cloned, not changed.
    X : array-like of shape (n_rows, n_features)
        The rows to distil on (the teacher's training rows, or unlabelled ones).

    Returns
    -------
    classifier
        The fitted clone of ``student``, with the teacher's ``classes_``.

    Raises
    ------
    ParameterError
        When the teacher is not a fitted binary classifier, the student takes no
        ``sample_weight``, or ``X`` is not a matrix.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.random.default_rng(0).normal(size=(300, 3))
    >>> y = X[:, 0] + X[:, 1] > 0
    >>> forest = RandomForestClassifier(20, random_state=0).fit(X, y)
    >>> student = distill(forest, DecisionTreeClassifier(max_depth=3, random_state=0), X)
    >>> student.get_depth(), student.classes_.tolist()
    (3, [False, True])
    """
    owner = "distill"
    if not _is_fitted_classifier(teacher):
        raise _not_a_fitted_classifier(teacher, owner, name="teacher")
    if len(teacher.classes_) != 2:
        raise ParameterError(
            f"{owner}: teacher must be fitted on two classes; got {len(teacher.classes_)}"
        )
    import inspect

    from sklearn.base import clone

    fit = getattr(student, "fit", None)
    if fit is None or "sample_weight" not in inspect.signature(fit).parameters:
        raise ParameterError(
            f"{owner}: student must be a classifier whose fit takes sample_weight; "
            f"got {type(student).__name__}"
        )
    rows = check_array("X", X, ndim=2, min_length=1, owner=owner)
    p = teacher.predict_proba(rows)[:, 1]
    negative, positive = teacher.classes_
    doubled = np.concatenate([rows, rows])
    labels = np.concatenate([np.full(len(p), positive), np.full(len(p), negative)])
    return clone(student).fit(doubled, labels, sample_weight=np.concatenate([p, 1 - p]))


def prune_trees(ensemble: Any, n_trees: int) -> Any:
    """A copy of a fitted tree ensemble that keeps only its first ``n_trees`` trees.

    For gradient boosting the first trees are the model as it was after ``n_trees`` rounds
    (each later tree corrects the ones before it); for a random forest any trees are an
    equally good smaller forest. The trees themselves are shared, not copied.

    Parameters
    ----------
    ensemble : GradientBoostingClassifier, RandomForestClassifier or ExtraTreesClassifier
        Fitted.
    n_trees : int
        Trees to keep, from 1 to the number the ensemble has.

    Returns
    -------
    estimator
        Of the ensemble's class, predicting with the first ``n_trees`` trees.

    Raises
    ------
    ParameterError
        When ``ensemble`` is not a fitted ensemble of these kinds or ``n_trees`` is out of
        range.

    Examples
    --------
    >>> from sklearn.ensemble import GradientBoostingClassifier
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> boosted = GradientBoostingClassifier(n_estimators=50, random_state=0).fit(X, X[:, 0] > 0)
    >>> small = prune_trees(boosted, 10)
    >>> small.n_estimators_, boosted.n_estimators_
    (10, 50)
    >>> bool(np.allclose(small.predict_proba(X), list(boosted.staged_predict_proba(X))[9]))
    True
    """
    owner = "prune_trees"
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        RandomForestClassifier,
    )

    kinds = (GradientBoostingClassifier, RandomForestClassifier, ExtraTreesClassifier)
    check_type("ensemble", ensemble, kinds, owner=owner)
    if not hasattr(ensemble, "estimators_"):
        raise ParameterError(f"{owner}: ensemble must be fitted; call fit first")
    n_trees = check_int("n_trees", n_trees, min=1, max=len(ensemble.estimators_), owner=owner)
    pruned = copy.copy(ensemble)
    pruned.estimators_ = ensemble.estimators_[:n_trees]
    pruned.n_estimators = n_trees
    if isinstance(ensemble, GradientBoostingClassifier):
        pruned.n_estimators_ = n_trees
        pruned.train_score_ = ensemble.train_score_[:n_trees]
    return pruned


@dataclass(frozen=True)
class InferenceTimes:
    """Seconds a model takes to answer, the best of several rounds (see :func:`time_inference`).

    Attributes
    ----------
    one_row : float
        Seconds for one call on one row: an online request.
    batch : float
        Seconds for one call on ``batch_size`` rows.
    batch_size : int
        Rows in the batch.
    """

    one_row: float
    batch: float
    batch_size: int

    @property
    def per_row(self) -> float:
        """Seconds per row in the batch: what offline scoring pays."""
        return self.batch / self.batch_size


def time_inference(
    models: Mapping[str, Callable[[np.ndarray], Any]],
    X: Any,
    *,
    batch_size: int = 256,
    repeat: int = 15,
    one_row_calls: int = 50,
) -> dict[str, InferenceTimes]:
    """Time each model on one row and on a batch, the best of ``repeat`` interleaved rounds.

    Each round times every model in turn, so the rounds of all models are spread over the
    same stretch of time: when other programs slow the machine down for a while, every model
    is slowed alike, and ratios between models stay fair. The fastest round of each model is
    kept (:func:`mlsys_kit.timing.best_of`), the one least disturbed.

    Parameters
    ----------
    models : mapping of str to callable
        Each model's predict function, called with a float32 matrix (e.g.
        :meth:`OnnxModel.predict_proba`).
    X : array-like of shape (n_rows, n_features)
        Rows to score; the batch is the first ``batch_size`` of them (all, if fewer), the one
        row the first.
    batch_size : int, default 256
        Rows per batch call.
    repeat : int, default 15
        Rounds. Many short rounds: on a busy machine the scheduler interrupts a round now
        and then, and the fastest round is the one that ran undisturbed.
    one_row_calls : int, default 50
        One-row calls per round (a single call is too short to time alone).

    Returns
    -------
    dict of str to InferenceTimes
        In the order of ``models``.

    Raises
    ------
    ParameterError
        When ``models`` is not a non-empty mapping of callables, ``X`` is not a matrix, or a
        count is below 1.

    Examples
    --------
    >>> X = np.ones((10, 3))
    >>> times = time_inference({"sum": lambda r: r.sum(axis=1), "max": lambda r: r.max(axis=1)},
    ...                        X, batch_size=4)
    >>> list(times), times["sum"].batch_size, times["sum"].one_row > 0
    (['sum', 'max'], 4, True)
    """
    owner = "time_inference"
    check_type("models", models, Mapping, owner=owner)
    if not models:
        raise ParameterError(f"{owner}: models must name at least one model")
    for name, predict in models.items():
        if not callable(predict):
            raise ParameterError(
                f"{owner}: models[{name!r}] must be callable; got {type(predict).__name__}"
            )
    rows = np.ascontiguousarray(
        check_array("X", X, ndim=2, min_length=1, dtype=np.float32, owner=owner)
    )
    batch_size = check_int("batch_size", batch_size, min=1, owner=owner)
    repeat = check_int("repeat", repeat, min=1, owner=owner)
    one_row_calls = check_int("one_row_calls", one_row_calls, min=1, owner=owner)
    one, batch = rows[:1], rows[:batch_size]
    for predict in models.values():  # warm up: first calls allocate buffers
        predict(one)
        predict(batch)
    fastest = {name: [math.inf, math.inf] for name in models}  # one row, batch
    for _ in range(repeat):
        for name, predict in models.items():
            on_one = best_of(functools.partial(predict, one), repeat=1, number=one_row_calls)
            on_batch = best_of(functools.partial(predict, batch), repeat=1)
            fastest[name] = [min(fastest[name][0], on_one), min(fastest[name][1], on_batch)]
    return {name: InferenceTimes(*best, len(batch)) for name, best in fastest.items()}


def _not_a_fitted_classifier(model: Any, owner: str, name: str = "model") -> ParameterError:
    """The error for an argument that is not a fitted classifier (the callers raise it)."""
    return ParameterError(
        f"{owner}: {name} must be a fitted classifier with predict_proba and classes_; "
        f"got {type(model).__name__}"
    )


def _is_fitted_classifier(model: Any) -> bool:
    return hasattr(model, "predict_proba") and hasattr(model, "classes_")
