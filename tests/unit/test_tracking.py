"""Tests of ``modeling.tracking``: a local MLflow store, reproduction, budgets of searches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import randint
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.tree import DecisionTreeClassifier

from mlsys_kit.design.versioning import fingerprint_code, fingerprint_frame
from mlsys_kit.modeling.tracking import (
    LocalTracker,
    ReproductionError,
    RunRecord,
    budget_spent,
    changed_paths,
    halving_n_candidates,
    reproduce,
    search_trace,
    snapshot,
)
from mlsys_kit.params import ParameterError

# --- the tracking store -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> LocalTracker:
    """One store for the module: creating MLflow's tables takes a few seconds."""
    return LocalTracker(tmp_path_factory.mktemp("store"), experiment="tests")


def _log(tracker: LocalTracker, name: str, **overrides) -> str:
    arguments = {
        "params": {"max_depth": np.int64(4), "criterion": "gini", "min_leaf": None},
        "metrics": {"auc": np.float64(0.8)},
        "data_version": "data0",
        "code_version": "code0",
    }
    arguments.update(overrides)
    return tracker.log_run(name, **arguments)


def test_store_lives_in_its_folder(tracker: LocalTracker) -> None:
    assert tracker.uri == "sqlite:///" + (tracker.folder / "mlflow.db").as_posix()
    assert (tracker.folder / "mlflow.db").is_file()
    experiment = tracker.client.get_experiment(tracker.experiment_id)
    assert experiment.artifact_location.startswith(tracker.folder.as_uri())
    # MLflow's own "Default" experiment too: its default would be ./mlruns in the cwd.
    default = tracker.client.get_experiment("0")
    assert default.artifact_location.startswith(tracker.folder.as_uri())


def test_the_store_skips_disk_syncs_and_no_other_database_does(
    tracker: LocalTracker, tmp_path: Path
) -> None:
    import sqlalchemy

    def synchronous(uri: str) -> int:
        engine = sqlalchemy.create_engine(uri)
        try:
            with engine.connect() as connection:
                return connection.exec_driver_sql("PRAGMA synchronous").scalar()
        finally:
            engine.dispose()

    assert synchronous(tracker.uri) == 0  # OFF
    assert synchronous("sqlite:///" + (tmp_path / "other.db").as_posix()) == 2  # FULL, SQLite's


def test_a_run_is_recorded_with_exact_params_versions_and_artifacts(
    tracker: LocalTracker,
) -> None:
    table = pd.DataFrame({"a": [1, 2]})
    run_id = _log(
        tracker,
        "recorded",
        tags={"strategy": "grid"},
        artifacts={"table.csv": table, "note.txt": "hello"},
    )
    record = tracker.record(run_id)
    assert record.name == "recorded"
    assert record.params == {"max_depth": 4, "criterion": "gini", "min_leaf": None}
    assert type(record.params["max_depth"]) is int  # not the string MLflow keeps as a param
    assert record.metrics == {"auc": 0.8}
    assert (record.data_version, record.code_version) == ("data0", "code0")
    assert record.artifact_dir.is_relative_to(tracker.folder)
    assert sorted(p.name for p in record.artifact_dir.iterdir()) == [
        "note.txt",
        "params.json",
        "table.csv",
    ]
    assert pd.read_csv(record.artifact_dir / "table.csv").equals(table)
    assert json.loads((record.artifact_dir / "params.json").read_text())["max_depth"] == 4
    assert not list(tracker.folder.glob("staging-*")), "staging folders are removed"


def test_runs_table_filters_and_orders(tracker: LocalTracker) -> None:
    _log(tracker, "low", metrics={"auc": 0.6}, tags={"strategy": "ordered"})
    _log(tracker, "high", metrics={"auc": 0.9}, tags={"strategy": "ordered"})
    table = tracker.runs("tags.strategy = 'ordered'", order_by="metrics.auc DESC")
    assert table["run"].tolist() == ["high", "low"]
    assert {"max_depth", "criterion", "auc", "data_version", "code_version"} <= set(table)
    assert not [c for c in table if c.startswith("mlflow.")]
    in_order = tracker.runs("tags.strategy = 'ordered'")
    assert in_order["run"].tolist() == ["low", "high"]  # the order they were logged in


def test_reopening_a_folder_reuses_the_experiment(tracker: LocalTracker) -> None:
    again = LocalTracker(tracker.folder, experiment="tests")
    assert again.experiment_id == tracker.experiment_id


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"name": " "}, ValueError, "name must be a non-empty string"),
        ({"data_version": ""}, ValueError, "data_version must be a non-empty fingerprint"),
        ({"code_version": None}, ValueError, "code_version must be a non-empty fingerprint"),
        ({"metrics": {"auc": float("nan")}}, ValueError, "metric 'auc' must be a finite"),
        ({"params": {"model": object()}}, TypeError, "params must be JSON-serialisable"),
        ({"artifacts": {"../up.txt": "x"}}, ValueError, "plain file names"),
    ],
)
def test_log_run_rejects_bad_input(tracker: LocalTracker, overrides, error, match) -> None:
    name = overrides.pop("name", "bad")
    before = len(tracker.runs())
    with pytest.raises(ParameterError, match=match):
        _log(tracker, name, **overrides)
    assert len(tracker.runs()) == before, "a rejected run is not half-recorded"


def test_experiment_name_must_not_be_empty(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="experiment must be a non-empty name"):
        LocalTracker(tmp_path, experiment="")


def test_nothing_is_written_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    tracker = LocalTracker(tmp_path / "run", experiment="cwd")
    _log(tracker, "one", artifacts={"a.txt": "a"})
    tracker.runs()
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "run"]


def test_nothing_is_written_outside_the_run_folder_in_a_fresh_process(tmp_path: Path) -> None:
    """A fresh interpreter (MLflow imported for the first time), with its own home, config,
    temporary and working directories: after a full use of the tracker, all stay empty."""
    home, cwd, tmp, run = (tmp_path / name for name in ("home", "cwd", "tmp", "run"))
    for folder in (home, cwd, tmp):
        folder.mkdir()
    script = textwrap.dedent(
        f"""
        import pandas as pd
        from mlsys_kit.modeling.tracking import LocalTracker
        tracker = LocalTracker({str(run)!r}, experiment="isolated")
        run_id = tracker.log_run(
            "one", params={{"a": 1}}, metrics={{"m": 0.5}}, data_version="d", code_version="c",
            artifacts={{"t.csv": pd.DataFrame({{"x": [1]}})}},
        )
        assert tracker.record(run_id).params == {{"a": 1}}
        assert len(tracker.runs()) == 1
        """
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "XDG_")) and k != "DO_NOT_TRACK"
    }
    env.update({"HOME": str(home), "TMPDIR": str(tmp), "XDG_CONFIG_HOME": str(home / ".config")})
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "INFO" not in result.stderr, "MLflow's and Alembic's INFO lines are silenced"
    for folder in (home, cwd, tmp):
        assert [str(p) for p in folder.rglob("*")] == [], f"{folder.name} was written to"
    assert sorted(p.name for p in run.iterdir()) == ["artifacts", "mlflow.db"]


# --- reproduce ----------------------------------------------------------------------------


def train(data: pd.DataFrame, scale: int) -> dict[str, float]:
    return {"total": float(data["x"].sum() * scale)}


def train_changed(data: pd.DataFrame, scale: int) -> dict[str, float]:
    return {"total": float(data["x"].sum() * scale + 1)}


def _record(data: pd.DataFrame, code=(train,)) -> RunRecord:
    return RunRecord(
        "id",
        "run",
        {"scale": 3},
        {"total": 18.0},
        fingerprint_frame(data),
        fingerprint_code(*code),
        Path("."),
    )


def test_reproduce_reruns_with_the_recorded_params() -> None:
    data = pd.DataFrame({"x": [1, 2, 3]})
    assert reproduce(_record(data), train, data) == {"total": 18.0}


def test_reproduce_refuses_other_data() -> None:
    data = pd.DataFrame({"x": [1, 2, 3]})
    with pytest.raises(ReproductionError, match="the data differ from the run's: data version"):
        reproduce(_record(data), train, data.assign(x=[1, 2, 4]))


def test_reproduce_refuses_other_code() -> None:
    data = pd.DataFrame({"x": [1, 2, 3]})
    with pytest.raises(ReproductionError, match="the code differs from the run's"):
        reproduce(_record(data), train_changed, data)


def test_reproduce_checks_every_listed_piece_of_code() -> None:
    data = pd.DataFrame({"x": [1, 2, 3]})
    record = _record(data, code=(train, train_changed))
    assert reproduce(record, train, data, code=[train, train_changed]) == {"total": 18.0}
    with pytest.raises(ReproductionError, match="code"):
        reproduce(record, train, data)  # only `train`: not the recorded code version


def test_reproduce_needs_a_dataframe() -> None:
    data = pd.DataFrame({"x": [1, 2, 3]})
    with pytest.raises(ParameterError, match="reproduce: data must be a DataFrame; got list"):
        reproduce(_record(data), train, [1, 2, 3])


# --- snapshot -----------------------------------------------------------------------------


def test_snapshot_sees_new_changed_and_removed_files(tmp_path: Path) -> None:
    (tmp_path / "kept.txt").write_text("a")
    (tmp_path / "changed.txt").write_text("a")
    (tmp_path / "gone.txt").write_text("a")
    before = snapshot(tmp_path, tmp_path / "missing", max_depth=2)
    (tmp_path / "changed.txt").write_text("longer")
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "missing").mkdir()
    (tmp_path / "missing" / "new.txt").write_text("a")
    names = [Path(p).name for p in changed_paths(before, snapshot(tmp_path, max_depth=2))]
    assert sorted(names) == ["changed.txt", "gone.txt", "missing", "new.txt"]


def test_snapshot_respects_max_depth_and_lists_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.txt").write_text("x")
    assert str(tmp_path / "a" / "b" / "deep.txt") not in snapshot(tmp_path, max_depth=2)
    assert str(tmp_path / "a" / "b" / "deep.txt") in snapshot(tmp_path, max_depth=3)
    file = tmp_path / "a" / "b" / "deep.txt"
    assert list(snapshot(file)) == [str(file)]


@pytest.mark.parametrize("depth", [0, 1.5, True])
def test_snapshot_rejects_bad_depth(tmp_path: Path, depth) -> None:
    with pytest.raises(ParameterError, match="snapshot: max_depth"):
        snapshot(tmp_path, max_depth=depth)


# --- searches and their budget ------------------------------------------------------------


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=900) > 0).astype(int)
    return X, y


GRID = {"max_depth": [2, 4, 8], "min_samples_leaf": [1, 20]}
RANGES = {"max_depth": randint(1, 12), "min_samples_leaf": randint(1, 50)}


def test_budget_of_grid_and_random_search(xy) -> None:
    X, y = xy
    tree = DecisionTreeClassifier(random_state=0)
    grid = GridSearchCV(tree, GRID, cv=3, refit=False).fit(X, y)
    assert budget_spent(grid, n_rows=900) == 6 * 3 * 600  # candidates × folds × train rows
    random = RandomizedSearchCV(tree, RANGES, n_iter=6, cv=3, refit=False, random_state=0)
    assert budget_spent(random.fit(X, y), n_rows=900) == budget_spent(grid, n_rows=900)


def test_halving_sized_by_halving_n_candidates_spends_the_grid_budget(xy) -> None:
    X, y = xy
    tree = DecisionTreeClassifier(random_state=0)
    grid = GridSearchCV(tree, GRID, cv=3, refit=False).fit(X, y)
    halving = HalvingRandomSearchCV(
        tree,
        RANGES,
        n_candidates=halving_n_candidates(6, n_rounds=3),
        factor=3,
        min_resources=900 // 9,
        cv=3,
        refit=False,
        random_state=0,
    ).fit(X, y)
    assert halving.n_iterations_ == 3
    assert len(halving.cv_results_["params"]) > 2 * 6
    assert budget_spent(halving) <= budget_spent(grid, n_rows=900)
    assert budget_spent(halving) / budget_spent(grid, n_rows=900) > 0.95


def test_budget_spent_rejects_bad_input(xy) -> None:
    X, y = xy
    with pytest.raises(ParameterError, match="must be a fitted scikit-learn search"):
        budget_spent(GridSearchCV(DecisionTreeClassifier(), GRID))
    grid = GridSearchCV(DecisionTreeClassifier(), GRID, cv=2, refit=False).fit(X, y)
    for bad in (None, 0, 2.5):
        with pytest.raises(ParameterError, match="budget_spent: n_rows"):
            budget_spent(grid, bad)


@pytest.mark.parametrize(
    ("n_full", "n_rounds", "factor", "expected"),
    [(18, 3, 3, 54), (18, 1, 3, 18), (18, 2, 3, 27), (10, 2, 2, 10), (10, 3, 2, 12)],
)
def test_halving_n_candidates(n_full, n_rounds, factor, expected) -> None:
    assert halving_n_candidates(n_full, n_rounds=n_rounds, factor=factor) == expected


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"n_full": 0, "n_rounds": 2}, "n_full=0 is out of range: allowed n_full ≥ 1"),
        ({"n_full": 5, "n_rounds": 0}, "n_rounds=0 is out of range: allowed n_rounds ≥ 1"),
        ({"n_full": 5, "n_rounds": 2, "factor": 1}, "factor=1 is out of range: allowed factor ≥ 2"),
        ({"n_full": 5.0, "n_rounds": 2}, "n_full must be an integer"),
    ],
)
def test_halving_n_candidates_rejects_bad_input(arguments, match) -> None:
    with pytest.raises(ParameterError, match=match):
        halving_n_candidates(**arguments)


def test_search_trace_of_a_grid_follows_the_best_so_far(xy) -> None:
    X, y = xy
    grid = GridSearchCV(DecisionTreeClassifier(random_state=0), GRID, cv=3, refit=False)
    trace = search_trace(grid.fit(X, y), n_rows=900)
    assert trace["budget"].tolist() == [1800 * (i + 1) for i in range(6)]  # 3 fits × 600 rows
    assert trace["incumbent_score"].is_monotonic_increasing
    assert trace["incumbent"].iloc[-1] == grid.best_index_
    scores = grid.cv_results_["mean_test_score"]
    assert trace["incumbent_score"].iloc[2] == scores[:3].max()


def test_search_trace_of_halving_waits_for_complete_rounds(xy) -> None:
    X, y = xy
    halving = HalvingRandomSearchCV(
        DecisionTreeClassifier(random_state=0),
        RANGES,
        n_candidates=18,
        factor=3,
        min_resources=100,
        cv=3,
        refit=False,
        random_state=0,
    ).fit(X, y)
    trace = search_trace(halving)
    first = trace[trace["round"] == 0]
    assert (first["incumbent"].iloc[:-1] == -1).all()  # no pick before round 0 is complete
    assert first["incumbent"].iloc[-1] == first["score"].idxmax()
    last = trace[trace["round"] == trace["round"].max()]
    assert trace["incumbent"].iloc[-1] == last["score"].idxmax() == halving.best_index_
    assert trace["budget"].iloc[-1] == budget_spent(halving)
