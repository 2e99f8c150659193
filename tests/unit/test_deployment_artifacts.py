"""Model artifacts: saved with skops and a SHA-256 manifest, refused when anything is off."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlsys_kit.deployment.artifacts import (
    ArtifactError,
    load_artifact,
    manifest_path,
    save_artifact,
)
from mlsys_kit.params import ParameterError

FEATURES = {"amount": "float", "n_items": "int", "is_new": "bool", "device": "str"}


def orders(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 30.0, n),
            "n_items": rng.integers(1, 6, n),
            "is_new": rng.random(n) < 0.3,
            "device": rng.choice(["web", "ios", "android"], n),
        }
    )
    risk = 0.02 * frame["amount"] + frame["is_new"] * 1.5 - 2.5
    labels = (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(int)
    return frame, labels


@pytest.fixture(scope="module")
def pipeline():
    frame, labels = orders(300)
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["device"]), remainder=StandardScaler()
    )
    return make_pipeline(encode, LogisticRegression()).fit(frame, labels)


@pytest.fixture
def saved(pipeline, tmp_path: Path) -> Path:
    path = tmp_path / "fraud.skops"
    save_artifact(pipeline, path, features=FEATURES)
    return path


def test_a_saved_artifact_loads_and_predicts_as_the_model_does(pipeline, saved: Path) -> None:
    artifact = load_artifact(saved)
    frame, _ = orders(20, seed=1)
    rows = frame.to_dict(orient="records")
    np.testing.assert_array_equal(artifact.predict_proba(rows), pipeline.predict_proba(frame))
    assert artifact.features == FEATURES
    assert artifact.classes == (0, 1)
    assert artifact.model_class == "sklearn.pipeline.Pipeline"
    assert artifact.trusted == ()


def test_the_manifest_records_hash_schema_and_class(saved: Path) -> None:
    manifest = json.loads(manifest_path(saved).read_text())
    assert manifest["sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert manifest["bytes"] == saved.stat().st_size
    assert manifest["features"][0] == {"name": "amount", "type": "float"}
    assert [f["name"] for f in manifest["features"]] == list(FEATURES)
    assert manifest["model_class"] == "sklearn.pipeline.Pipeline"
    assert manifest["classes"] == [0, 1]
    assert manifest["untrusted_types"] == []
    assert load_artifact(saved, sha256=manifest["sha256"].upper()).sha256 == manifest["sha256"]


def test_a_tampered_artifact_is_refused(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"fraud\.skops changed after it was saved: its SHA"):
        load_artifact(saved)


def test_a_swapped_artifact_is_refused_by_its_pinned_hash(pipeline, saved: Path) -> None:
    pinned = load_artifact(saved).sha256
    other = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        pd.DataFrame({"amount": [1.0, 2.0], "n_items": [1, 2]}), [0, 1]
    )
    save_artifact(other, saved)  # file and manifest rewritten together: they agree
    assert load_artifact(saved).features == {"amount": "float", "n_items": "float"}
    with pytest.raises(ArtifactError, match="is not the artifact you pinned"):
        load_artifact(saved, sha256=pinned)


def test_a_type_nobody_trusted_is_refused_and_named(tmp_path: Path) -> None:
    tree = DecisionTreeClassifier(random_state=0).fit([[0.0], [1.0], [2.0]], [0, 1, 1])
    path = tmp_path / "tree.skops"
    assert save_artifact(tree, path).trusted == ("sklearn.tree._tree.Tree",)
    with pytest.raises(ArtifactError) as refused:
        load_artifact(path)
    message = str(refused.value)
    assert "holds types that are not trusted: 'sklearn.tree._tree.Tree'" in message
    assert "allowed: skops's defaults (scikit-learn estimators, NumPy, SciPy) and trusted=[]" in (
        message
    )
    with pytest.raises(ArtifactError, match="not trusted: 'sklearn.tree._tree.Tree'"):
        load_artifact(path, trusted=["some.other.Type"])
    loaded = load_artifact(path, trusted=["sklearn.tree._tree.Tree"])
    assert loaded.trusted == ("sklearn.tree._tree.Tree",)
    assert loaded.predict_proba([{"x0": 2.0}]).tolist() == [[0.0, 1.0]]


class Shady(LogisticRegression):
    """A subclass from outside scikit-learn: skops does not trust it."""


def test_a_class_from_elsewhere_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shady.skops"
    save_artifact(Shady().fit([[0.0], [1.0]], [0, 1]), path)
    with pytest.raises(ArtifactError, match=r"not trusted: '.*test_deployment_artifacts.Shady'"):
        load_artifact(path)


def test_a_pickle_is_never_unpickled(tmp_path: Path) -> None:
    """A pickle posing as an artifact, with a matching manifest: refused, its code never run."""
    marker = tmp_path / "pwned"
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    manifest = {
        "format": "mlsys-kit model artifact 1",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "model_class": "sklearn.linear_model._logistic.LogisticRegression",
        "features": [{"name": "x0", "type": "float"}],
        "classes": [0, 1],
    }
    manifest_path(path).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"model\.skops is not a skops file"):
        load_artifact(path)
    assert not marker.exists()


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_model_of_another_class_than_recorded_is_refused(saved: Path) -> None:
    where = manifest_path(saved)
    manifest = json.loads(where.read_text())
    manifest["model_class"] = "sklearn.linear_model._logistic.LogisticRegression"
    where.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="holds a sklearn.pipeline.Pipeline; its manifest"):
        load_artifact(saved)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("no file", r"no artifact file at .*fraud\.skops"),
        ("no manifest", r"no manifest fraud\.skops\.json beside .*; save_artifact writes"),
        ("manifest not JSON", r"fraud\.skops\.json is not readable JSON"),
        ("manifest of something else", r"is not an mlsys-kit manifest .*; missing: sha256"),
        ("unknown feature type", r"feature type='double' is not allowed: choose one of 'float'"),
    ],
)
def test_a_missing_or_unreadable_artifact_is_refused(saved: Path, damage, message) -> None:
    where = manifest_path(saved)
    if damage == "no file":
        saved.unlink()
    elif damage == "no manifest":
        where.unlink()
    elif damage == "manifest not JSON":
        where.write_text("{sha256:")
    elif damage == "manifest of something else":
        where.write_text(json.dumps({"format": "mlsys-kit model artifact 1", "model_class": "x"}))
    else:
        manifest = json.loads(where.read_text())
        manifest["features"][0]["type"] = "double"
        where.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError if damage != "unknown feature type" else ParameterError) as e:
        load_artifact(saved)
    assert e.match(message)
    assert isinstance(e.value, ValueError), "callers catching ValueError keep working"


def test_save_infers_features_from_the_model(tmp_path: Path) -> None:
    on_array = LogisticRegression().fit(np.eye(3), [0, 1, 1])
    assert save_artifact(on_array, tmp_path / "a.skops").features == {
        "x0": "float",
        "x1": "float",
        "x2": "float",
    }
    frame = pd.DataFrame({"amount": [1.0, 2.0], "age": [30.0, 40.0]})
    on_frame = LogisticRegression().fit(frame, [0, 1])
    saved = save_artifact(on_frame, tmp_path / "f.skops")
    assert saved.features == {"amount": "float", "age": "float"}


@pytest.mark.parametrize(
    ("model", "features", "message"),
    [
        (
            "regressor",
            None,
            "save_artifact: model must be a fitted classifier with predict_proba and classes_; "
            "got LinearRegression",
        ),
        ("unfitted", None, "must be a fitted classifier"),
        ("array", {"a": "float"}, r"features names 1 feature\(s\); the model takes 2"),
        ("array", {"a": "float", "b": "double"}, r"features\['b'\]='double' is not allowed"),
        ("array", {"a": "float", "b": "str"}, "a model fitted on an array takes numbers only"),
        ("array", {"rows": "float", "b": "float"}, "a feature may not be named 'rows'"),
        ("array", [("a", "float")], "features must be a Mapping; got list"),
        ("frame", {"age": "float", "amount": "float"}, r"are not the model's columns \['amount'"),
    ],
)
def test_save_refuses_what_it_cannot_serve(tmp_path: Path, model, features, message) -> None:
    fitted = {
        "regressor": lambda: LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]),
        "unfitted": lambda: LogisticRegression(),
        "array": lambda: LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0]], [0, 1]),
        "frame": lambda: LogisticRegression().fit(
            pd.DataFrame({"amount": [0.0, 1.0], "age": [1.0, 0.0]}), [0, 1]
        ),
    }[model]()
    with pytest.raises(ParameterError, match=message):
        save_artifact(fitted, tmp_path / "m.skops", features=features)
    assert not (tmp_path / "m.skops").exists(), "nothing is written for a refused model"


def test_load_refuses_a_trusted_list_that_is_not_a_list(saved: Path) -> None:
    with pytest.raises(ParameterError, match="trusted must be a list or tuple; got bool"):
        load_artifact(saved, trusted=True)
    with pytest.raises(ParameterError, match="each trusted type must be a str or type; got int"):
        load_artifact(saved, trusted=[3])


def test_trusted_types_may_be_given_as_classes(tmp_path: Path) -> None:
    from sklearn.tree._tree import Tree

    path = tmp_path / "tree.skops"
    save_artifact(DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1]), path)
    assert load_artifact(path, trusted=[Tree]).trusted == ("sklearn.tree._tree.Tree",)
