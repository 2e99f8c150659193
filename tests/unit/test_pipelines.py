"""The training pipeline as dagster assets, its cron script, faults, staleness and backfills."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from mlsys_kit.infrastructure.pipelines import (
    FEATURE_SETS,
    PIPELINE_STEPS,
    DailyIngest,
    PipelineRun,
    StepFaults,
    TrainingPipeline,
    transient_success,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.sim import simulate

SMALL = {"n_users": 300, "n_transactions": 1_500, "days": 10, "test_days": 3, "train_rounds": 3}


@pytest.fixture
def pipeline(tmp_path: Path) -> TrainingPipeline:
    return TrainingPipeline(tmp_path / "pipeline", **SMALL)


def _executions(run: PipelineRun) -> dict[str, int]:
    return run.to_frame()["executions"].to_dict()


def test_a_run_executes_every_step_once_and_records_it(pipeline: TrainingPipeline) -> None:
    run = pipeline.run()
    assert run.success
    assert run.executed == PIPELINE_STEPS
    assert _executions(run) == dict.fromkeys(PIPELINE_STEPS, 1)
    frame = run.to_frame()
    assert list(frame.index) == list(PIPELINE_STEPS)
    assert (frame["status"] == "succeeded").all() and (frame["seconds"] >= 0).all()
    registry = (pipeline.folder / "registry.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(registry) == 1 and '"features": "1"' in registry[0]


def test_a_broken_step_is_retried_then_stops_the_run_and_resume_reruns_only_the_rest(
    pipeline: TrainingPipeline,
) -> None:
    pipeline.retries = 2
    pipeline.faults = StepFaults(broken=("train",))
    failed = pipeline.run()
    assert not failed.success and failed.failed == ("train",)
    assert _executions(failed) == {
        "ingest": 1,
        "features": 1,
        "train": 3,
        "evaluate": 0,
        "register": 0,
    }
    assert failed.to_frame().loc["evaluate", "status"] == "not run"
    pipeline.faults = StepFaults()
    resumed = pipeline.resume(failed)
    assert resumed.success
    assert resumed.executed == ("train", "evaluate", "register")
    assert resumed.to_frame().loc["ingest", "status"] == "not selected"


def test_the_cron_script_recomputes_everything_and_stops_at_the_first_failure(
    pipeline: TrainingPipeline,
) -> None:
    pipeline.faults = StepFaults(broken=("evaluate",))
    failed = pipeline.run_cron_script()
    assert not failed.success and failed.run_id == "cron"
    assert failed.executed == ("ingest", "features", "train", "evaluate")
    assert failed.to_frame().loc["register", "status"] == "not run"
    pipeline.faults = StepFaults()
    again = pipeline.run_cron_script()
    assert again.success and again.executions == len(PIPELINE_STEPS)


def test_retries_ride_out_the_transient_failures_cron_meets(pipeline: TrainingPipeline) -> None:
    faults = StepFaults(transient_rate=0.5, seed=3)
    key = next(
        k
        for k in range(100)
        if faults.fails("ingest", key=k, attempt=0) and not faults.fails("ingest", key=k, attempt=1)
    )
    pipeline.faults = StepFaults(transient_rate=0.5, seed=3)
    pipeline.retries = 10
    run = pipeline.run(["ingest"], key=key)
    assert run.success and _executions(run)["ingest"] == 2
    assert not pipeline.run_cron_script(key=key).success


def test_changing_a_steps_code_makes_it_and_its_downstream_stale(
    pipeline: TrainingPipeline,
) -> None:
    before = pipeline.stale_steps()
    assert before.stale == PIPELINE_STEPS  # never run: nothing recorded
    pipeline.run()
    assert pipeline.stale_steps().stale == ()
    pipeline.change_code("features", "2")
    stale = pipeline.stale_steps()
    assert stale.stale == ("features", "train", "evaluate", "register")
    frame = stale.to_frame()
    assert frame.loc["features", "why"] == "code changed"
    assert frame.loc["train", "why"] == "upstream changed"
    assert not frame.loc["ingest", "stale"]
    rerun = pipeline.run(stale.stale)
    assert rerun.executed == stale.stale
    assert pipeline.stale_steps().stale == ()
    pipeline.change_code("register", "7")
    assert pipeline.stale_steps().stale == ("register",)


def test_the_features_code_version_selects_its_columns(pipeline: TrainingPipeline) -> None:
    transactions = pipeline._ingest()
    for version, columns in FEATURE_SETS.items():
        pipeline.change_code("features", version)
        features = pipeline._features(transactions)
        assert features.columns == columns
        assert features.train_X.shape[1] == len(columns)
        assert len(features.train_y) + len(features.test_y) == len(transactions)


def test_faults_are_drawn_per_key_step_and_attempt() -> None:
    faults = StepFaults(transient_rate=0.3, seed=5)
    draws = [
        faults.fails(s, key=k, attempt=a) for s in PIPELINE_STEPS for k in range(40) for a in (0, 1)
    ]
    assert draws == [
        StepFaults(transient_rate=0.3, seed=5).fails(s, key=k, attempt=a)
        for s in PIPELINE_STEPS
        for k in range(40)
        for a in (0, 1)
    ]
    assert 0.15 < sum(draws) / len(draws) < 0.45
    assert not any(StepFaults().fails(s, key=0, attempt=0) for s in PIPELINE_STEPS)


def test_transient_success_is_the_arithmetic_of_independent_failures() -> None:
    assert transient_success(0.0, retries=0) == 1.0
    assert transient_success(1.0, retries=5) == 0.0
    assert transient_success(0.5, retries=1, n_steps=2) == pytest.approx(0.75**2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: StepFaults(transient_rate=1.5), "transient_rate=1.5 is out of range"),
        (lambda: StepFaults(broken=("deploy",)), "broken='deploy' is not allowed"),
        (lambda: StepFaults(seed=-1), "seed=-1 is out of range"),
        (lambda: transient_success(-0.1, retries=1), "transient_rate=-0.1 is out of range"),
        (lambda: transient_success(0.1, retries=-1), "retries=-1 is out of range"),
    ],
)
def test_bad_faults_are_refused(call, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        call()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_transactions": 0}, "n_transactions=0 is out of range"),
        ({"days": 5, "test_days": 5}, "test_days=5 is out of range"),
        ({"retries": -1}, "retries=-1 is out of range"),
        ({"faults": "none"}, "faults"),
        ({"persistent": "yes"}, "persistent"),
    ],
)
def test_bad_pipeline_parameters_are_refused(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        TrainingPipeline(tmp_path, **{**SMALL, **overrides})


def test_bad_selections_and_code_changes_are_refused(pipeline: TrainingPipeline) -> None:
    with pytest.raises(ParameterError, match="selection='deploy' is not allowed"):
        pipeline.run(["deploy"])
    with pytest.raises(ParameterError, match="step='deploy' is not allowed"):
        pipeline.change_code("deploy", "2")
    with pytest.raises(ParameterError, match="version='9' is not allowed"):
        pipeline.change_code("features", "9")
    with pytest.raises(ParameterError, match="key=-1 is out of range"):
        pipeline.run_cron_script(key=-1)
    with pytest.raises(ParameterError, match="failed"):
        pipeline.resume("run-1")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return simulate(n_users=200, n_transactions=700, days=7, seed=0).transactions


def test_a_backfill_materializes_the_past_days_cron_only_runs_now(
    tmp_path: Path, transactions: pd.DataFrame
) -> None:
    job = DailyIngest(tmp_path, transactions, start="2024-01-01")
    days = [f"2024-01-0{d}" for d in range(1, 8)]
    job.cron_run("2024-01-01")
    job.cron_run("2024-01-07")
    job.backfill("2024-01-02", "2024-01-07")
    report = job.report(days)
    assert report.cron == {"2024-01-01", "2024-01-07"}
    assert report.dagster == set(days[1:])
    frame = report.to_frame()
    assert frame["transactions"].sum() == len(transactions)
    written = sorted(p.name for p in (tmp_path / "dagster").glob("*.parquet"))
    assert written == [f"{d}.parquet" for d in days[1:]]
    assert (
        len(pd.read_parquet(tmp_path / "dagster" / "2024-01-03.parquet"))
        == frame.loc["2024-01-03", "transactions"]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda job: job.cron_run("yesterday"), "now='yesterday' is not a day"),
        (lambda job: job.backfill("2024-01-05", "2024-01-02"), "need start ≤ first ≤ last"),
        (lambda job: job.backfill("2023-12-30", "2024-01-02"), "need start ≤ first ≤ last"),
        (lambda job: job.report([20240101]), "days"),
    ],
)
def test_bad_days_are_refused(tmp_path: Path, transactions: pd.DataFrame, call, message) -> None:
    job = DailyIngest(tmp_path, transactions, start="2024-01-01")
    with pytest.raises(ParameterError, match=message):
        call(job)


def test_a_daily_ingest_needs_timestamps(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="'timestamp' column"):
        DailyIngest(tmp_path, pd.DataFrame({"amount": [1.0]}), start="2024-01-01")


def test_nothing_is_written_outside_the_folder_in_a_fresh_process(tmp_path: Path) -> None:
    """A fresh interpreter with its own home, config, temporary and working directories: after
    a failed run, a resume, a code change, a cron run and a backfill, with dagster's runs in
    memory and in SQLite files, all stay empty (no ``~/.dagster``, no ``~/.config``), and
    dagster printed nothing."""
    home, cwd, tmp, run = (tmp_path / name for name in ("home", "cwd", "tmp", "run"))
    for folder in (home, cwd, tmp):
        folder.mkdir()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from mlsys_kit.infrastructure.pipelines import DailyIngest, StepFaults, TrainingPipeline

        for persistent in (False, True):
            folder = Path({str(run)!r}) / str(persistent)
            pipeline = TrainingPipeline(folder / "pipeline", n_users=100, n_transactions=600,
                                        days=6, test_days=2, train_rounds=2,
                                        persistent=persistent)
            pipeline.faults = StepFaults(broken=("evaluate",))
            failed = pipeline.run()
            pipeline.faults = StepFaults()
            assert pipeline.resume(failed).success
            pipeline.change_code("features", "2")
            assert pipeline.run(pipeline.stale_steps().stale).success
            assert pipeline.run_cron_script().success
            job = DailyIngest(folder / "daily", pipeline._ingest(), start="2024-01-01",
                              persistent=persistent)
            job.backfill("2024-01-01", "2024-01-06")
            assert len(job.report(["2024-01-01", "2024-01-06"]).dagster) == 2
        """
    )
    script_file = tmp_path / "script.py"
    script_file.write_text(script, encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DAGSTER_", "XDG_")) and k != "DO_NOT_TRACK"
    }
    env.update({"HOME": str(home), "TMPDIR": str(tmp), "XDG_CONFIG_HOME": str(home / ".config")})
    result = subprocess.run(
        [sys.executable, str(script_file)], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    for folder in (home, cwd, tmp):
        assert [str(p) for p in folder.rglob("*")] == [], f"{folder.name} was written to"
    for persistent in ("False", "True"):
        pipeline = run / persistent / "pipeline"
        assert sorted(p.name for p in pipeline.iterdir()) == [
            "dagster",
            "outputs",
            "registry.jsonl",
        ]
    assert list((run / "True" / "pipeline" / "dagster").rglob("*.db"))  # SQLite, in the folder
