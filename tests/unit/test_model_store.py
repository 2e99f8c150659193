"""Tests of ``infrastructure.model_store``: versions, aliases, trusted loading, bad inputs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlsys_kit.deployment.artifacts import ArtifactError, manifest_path
from mlsys_kit.design.versioning import fingerprint_code, fingerprint_frame
from mlsys_kit.infrastructure.model_store import (
    CODE_FILE,
    MODEL_FILE,
    AliasMove,
    ModelStore,
    RegistryTable,
)
from mlsys_kit.params import ParameterError


def featurize(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["amount", "night"]]


def train(X: pd.DataFrame, y: np.ndarray, C: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=C).fit(X, y)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"amount": rng.normal(size=200), "night": rng.random(200).round()})
    return frame.assign(y=(frame["amount"] + rng.normal(size=200) > 0).astype(int))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    """One store for the module: creating MLflow's tables takes a few seconds."""
    return ModelStore(tmp_path_factory.mktemp("store"), name="fraud")


def _register(store: ModelStore, data: pd.DataFrame, C: float = 1.0, **kwargs):
    model = train(featurize(data), data["y"].to_numpy(), C=C)
    return store.register(
        model,
        data=data,
        code=[featurize, train],
        metrics={"auc": 0.8},
        params={"C": C, "window": [0, 30]},
        **kwargs,
    )


def test_a_version_records_what_reproduces_and_serves_it(
    store: ModelStore, data: pd.DataFrame
) -> None:
    record = _register(store, data, tags={"trained_on": "days 0-30"})
    assert record.name == "fraud"
    assert record.features == {"amount": "float", "night": "float"}
    assert record.data_version == fingerprint_frame(data)
    assert record.code_version == fingerprint_code(featurize, train)
    assert record.n_rows == len(data)
    assert record.metrics == {"auc": 0.8}
    assert record.params == {"C": 1.0, "window": [0, 30]}  # exact types, not MLflow's strings
    assert record.tags == {"trained_on": "days 0-30"}
    assert set(record.dependencies) >= {"python", "numpy", "scikit-learn", "skops"}
    assert record.parent is None and record.trusted == ()
    assert record.source.is_relative_to(store.folder)
    file = record.source / MODEL_FILE
    assert hashlib.sha256(file.read_bytes()).hexdigest() == record.sha256
    assert "def featurize" in (record.source / CODE_FILE).read_text(encoding="utf-8")
    child = _register(store, data, C=0.1, parent=record.version)
    assert child.parent == record.version and child.version == record.version + 1


def test_the_table_lists_every_version(store: ModelStore, data: pd.DataFrame) -> None:
    record = _register(store, data)
    table = store.table()
    assert isinstance(table, RegistryTable)
    frame = table.to_frame()
    assert record.version in frame.index
    assert {"aliases", "parent", "data_version", "code_version", "sha256", "auc"} <= set(
        frame.columns
    )
    assert "<table" in table._repr_html_()


def test_promotion_and_rollback_move_an_alias(store: ModelStore, data: pd.DataFrame) -> None:
    old = _register(store, data, C=1.0, alias="prod")
    new = _register(store, data, C=0.01, parent=old.version, alias="candidate")
    X = featurize(data)
    before = store.load("prod").score(X)
    promotion = store.set_alias("prod", new.version)
    assert promotion == AliasMove("prod", old.version, new.version)
    assert store.record("prod").version == new.version
    assert not np.array_equal(store.load("models:/fraud@prod").score(X), before)
    rollback = store.set_alias("prod", promotion.before)
    assert rollback == AliasMove("prod", new.version, old.version)
    assert np.array_equal(store.load("prod").score(X), before)  # exactly the old predictions
    assert store.aliases()["prod"] == old.version
    assert store.record(f"models:/fraud/{old.version}").version == old.version
    assert "prod" in store.record(old.version).aliases


def test_a_changed_artifact_is_refused(store: ModelStore, data: pd.DataFrame) -> None:
    record = _register(store, data)
    file = record.source / MODEL_FILE
    file.write_bytes(file.read_bytes() + b"!")
    with pytest.raises(ArtifactError, match=rf"version {record.version} of 'fraud'.*refused"):
        store.load(record.version)


def test_a_changed_artifact_with_a_matching_manifest_is_refused(
    store: ModelStore, data: pd.DataFrame
) -> None:
    """Whoever rewrites the file and its manifest together still meets the registry's hash."""
    record = _register(store, data)
    other = _register(store, data, C=0.001)
    file, manifest = record.source / MODEL_FILE, manifest_path(record.source / MODEL_FILE)
    file.write_bytes((other.source / MODEL_FILE).read_bytes())
    rewritten = json.loads(manifest.read_text(encoding="utf-8"))
    rewritten["sha256"] = other.sha256
    manifest.write_text(json.dumps(rewritten), encoding="utf-8")
    with pytest.raises(ArtifactError, match="not the artifact you pinned"):
        store.load(record.version)


def test_an_untrusted_type_is_refused_unless_trusted(store: ModelStore, data: pd.DataFrame) -> None:
    tree = DecisionTreeClassifier(max_depth=2).fit(featurize(data), data["y"])
    record = store.register(tree, data=data, code=[featurize], metrics={"auc": 0.7})
    assert record.trusted == ("sklearn.tree._tree.Tree",)
    with pytest.raises(ArtifactError, match="not trusted: 'sklearn.tree._tree.Tree'"):
        store.load(record.version)
    loaded = store.load(record.version, trusted=list(record.trusted))
    assert loaded.score(featurize(data)).shape == (len(data),)


def test_score_takes_the_recorded_features_by_name(store: ModelStore, data: pd.DataFrame) -> None:
    loaded = store.load(_register(store, data).version)
    X = featurize(data)
    assert np.array_equal(loaded.score(X[["night", "amount"]].assign(extra=1)), loaded.score(X))
    with pytest.raises(ParameterError, match=r"missing from the frame: \['night'\]"):
        loaded.score(X.drop(columns="night"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, d: s.record(999), "999 is not a version of 'fraud'; allowed: versions"),
        (lambda s, d: s.record("nobody"), "'nobody' is not a version"),
        (lambda s, d: s.record("models:/other@champion"), "names model 'other'"),
        (lambda s, d: s.record("models:/fraud/x"), "is not a model URI"),
        (lambda s, d: s.record(0), "version=0 is out of range"),
        (lambda s, d: s.set_alias("latest", 1), "alias='latest' is not allowed"),
        (lambda s, d: s.set_alias("v2", 1), "alias='v2' is not allowed"),
        (lambda s, d: s.set_alias("bad alias", 1), "alias='bad alias' is not allowed"),
        (lambda s, d: s.set_alias("ok", 999), "999 is not a version"),
        (lambda s, d: _register(s, d, parent=999), "parent=999 is not a version of 'fraud'"),
        (
            lambda s, d: s.register(object(), data=d, code=[train], metrics={}),
            "must be a fitted classifier",
        ),
        (
            lambda s, d: s.register(
                train(featurize(d), d["y"]), data=d, code=[], metrics={"auc": 0.5}
            ),
            "code must list",
        ),
        (
            lambda s, d: s.register(
                train(featurize(d), d["y"]), data=d.to_numpy(), code=[train], metrics={}
            ),
            "data must be",
        ),
        (
            lambda s, d: s.register(
                train(featurize(d), d["y"]), data=d, code=[train], metrics={"auc": np.nan}
            ),
            "metric 'auc' must be a finite number",
        ),
        (
            lambda s, d: s.register(
                train(featurize(d), d["y"]), data=d, code=[len], metrics={"auc": 0.5}
            ),
            "cannot store the code",
        ),
    ],
)
def test_bad_inputs_name_what_is_wrong(store: ModelStore, data: pd.DataFrame, call, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace("[", r"\[")):
        call(store, data)


def test_a_store_needs_a_name(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="name must be a non-empty string"):
        ModelStore(tmp_path, name=" ")


def test_nothing_is_written_in_the_working_directory(
    store: ModelStore, data: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    record = _register(store, data, alias="cwd")
    store.load("models:/fraud@cwd")
    store.table()
    assert record.source.is_relative_to(store.folder)
    assert list(tmp_path.iterdir()) == []


def test_nothing_is_written_outside_the_store_in_a_fresh_process(tmp_path: Path) -> None:
    """A fresh interpreter with its own home, config, temporary and working directories: after
    registering, aliasing and loading, all stay empty."""
    home, cwd, tmp, run = (tmp_path / name for name in ("home", "cwd", "tmp", "run"))
    for folder in (home, cwd, tmp):
        folder.mkdir()
    script = textwrap.dedent(
        f"""
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        from mlsys_kit.infrastructure.model_store import ModelStore

        def train(X, y):
            return LogisticRegression().fit(X, y)

        X = pd.DataFrame({{"a": [0.0, 1.0, 0.2, 0.9]}})
        store = ModelStore({str(run)!r}, name="isolated")
        store.register(train(X, [0, 1, 0, 1]), data=X, code=[train], metrics={{"m": 0.5}},
                       alias="champion")
        assert store.load("models:/isolated@champion").score(X).shape == (4,)
        """
    )
    script_file = tmp_path / "script.py"
    script_file.write_text(script, encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "XDG_")) and k != "DO_NOT_TRACK"
    }
    env.update({"HOME": str(home), "TMPDIR": str(tmp), "XDG_CONFIG_HOME": str(home / ".config")})
    result = subprocess.run(
        [sys.executable, str(script_file)], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "INFO" not in result.stderr
    for folder in (home, cwd, tmp):
        assert [str(p) for p in folder.rglob("*")] == [], f"{folder.name} was written to"
    assert sorted(p.name for p in run.iterdir()) == ["artifacts", "mlflow.db"]
