"""A training pipeline as a DAG of dagster assets, against the cron script that runs it in order.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 10,
"Infrastructure and Tooling for MLOps", the section "Resource Management": "Cron, Schedulers,
and Orchestrators". Cron runs a script at fixed times; it knows nothing of the steps inside
the script, so a failure means running everything again, a flaky step is not retried, and
the days it did not run are never run. A scheduler knows the steps and their dependencies
(a DAG), retries a failed step, resumes a failed run from the failed step, reruns only the
steps whose code changed and those downstream of them, and backfills past days.

:class:`TrainingPipeline` is the pipeline ingest → features → train → evaluate → register on
the kit's marketplace simulator, as five **dagster** assets run in-process with
:func:`dagster.materialize` (no server, no daemon, offline). Everything dagster writes stays in
the pipeline's folder: its instance (artifacts; runs and events in memory, or in SQLite files
with ``persistent=True``: :meth:`dagster.DagsterInstance.local_temp`), telemetry off, and the
steps' outputs via a :class:`dagster.FilesystemIOManager`. Each asset has a dagster
``code_version`` and a :class:`dagster.RetryPolicy`. What happened in a run (which steps
started, were retried, failed or succeeded) is read back from the run's events in dagster's
event log (:class:`PipelineRun`); which steps are stale is decided from the code versions
dagster recorded with each materialization (:meth:`TrainingPipeline.stale_steps`), and
resuming selects the failed steps and everything downstream of them with dagster's
:class:`~dagster.AssetSelection`. :class:`DailyIngest` backfills daily partitions
(:class:`dagster.DailyPartitionsDefinition`) in one run.

:meth:`TrainingPipeline.run_cron_script` runs the *same* step functions, in order, as the
script a crontab line starts: no retries, no record of finished steps, so each run recomputes
all of them. Faults are injected identically into both (:class:`StepFaults`): a step made
*broken* fails at every attempt; a *transient* failure strikes each attempt with probability
``transient_rate``, drawn from the seed, the run's key, the step and the attempt, so that the
dagster run and the cron run with the same key meet the same first-attempt failures.

Dagster does the orchestration; this module hand-writes the pipeline's steps, the fault
injection and the cron script, because they are the lesson: what an orchestrator saves
against a script, measured on the same failures.

Examples
--------
>>> import tempfile
>>> pipeline = TrainingPipeline(tempfile.mkdtemp(), n_transactions=2_000, train_rounds=5)
>>> pipeline.faults = StepFaults(broken=("evaluate",))
>>> failed = pipeline.run()
>>> failed.success, failed.to_frame()["status"].tolist()
(False, ['succeeded', 'succeeded', 'succeeded', 'failed', 'not run'])
>>> pipeline.faults = StepFaults()
>>> resumed = pipeline.resume(failed)
>>> resumed.success, resumed.executed
(True, ('evaluate', 'register'))
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import (
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_type,
)
from mlsys_kit.results import Report

__all__ = [
    "FEATURE_SETS",
    "PIPELINE_STEPS",
    "BackfillReport",
    "DailyIngest",
    "PipelineRun",
    "StaleReport",
    "StepFaults",
    "StepRecord",
    "TrainingPipeline",
    "transient_success",
]

#: The pipeline's steps, in the order the cron script runs them.
PIPELINE_STEPS = ("ingest", "features", "train", "evaluate", "register")

#: Upstream steps of each step (the DAG's edges).
_UPSTREAM: dict[str, tuple[str, ...]] = {
    "ingest": (),
    "features": ("ingest",),
    "train": ("features",),
    "evaluate": ("features", "train"),
    "register": ("train", "evaluate"),
}

#: The features step's code, by its code version: the columns it computes.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "1": ("log_amount", "new_device", "log_account_age", "n_items"),
    "2": ("log_amount", "new_device", "log_account_age", "n_items", "hour", "support_contacts_7d"),
}

#: Run configuration that silences dagster's console logger (no log lines on stderr).
_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class StepFailure(RuntimeError):
    """Raised by a step that a :class:`StepFaults` makes fail (not public: dagster catches it)."""


@dataclass(frozen=True)
class StepFaults:
    """Faults injected into the pipeline's steps, the same for dagster and the cron script.

    Parameters
    ----------
    transient_rate : float, default 0.0
        Probability that an attempt of a step fails (a flaky network, a preempted machine), in
        ``[0, 1]``; drawn independently for each run key, step and attempt.
    broken : iterable of str, default ()
        Steps that fail at every attempt (a bug), among :data:`PIPELINE_STEPS`.
    seed : int, default 0
        Seeds the transient failures.

    Examples
    --------
    >>> faults = StepFaults(transient_rate=0.5, seed=1)
    >>> [faults.fails("ingest", key=0, attempt=a) for a in range(4)]
    [False, False, True, False]
    >>> StepFaults(broken=["train"]).fails("train", key=0, attempt=7)
    True
    """

    transient_rate: float = 0.0
    broken: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "StepFaults"
        rate = check_float("transient_rate", self.transient_rate, min=0, max=1, owner=owner)
        broken = tuple(
            check_choice("broken", step, PIPELINE_STEPS, owner=owner) for step in self.broken
        )
        seed = check_int("seed", self.seed, min=0, owner=owner)
        object.__setattr__(self, "transient_rate", rate)
        object.__setattr__(self, "broken", broken)
        object.__setattr__(self, "seed", seed)

    def fails(self, step: str, *, key: int, attempt: int) -> bool:
        """Whether ``attempt`` (0 for the first) of ``step`` in the run ``key`` fails."""
        if step in self.broken:
            return True
        if self.transient_rate == 0:
            return False
        draws = np.random.default_rng([self.seed, key, PIPELINE_STEPS.index(step)])
        return bool(draws.random(attempt + 1)[attempt] < self.transient_rate)


@dataclass(frozen=True)
class StepRecord:
    """One step of one run, as the run's events tell it.

    Attributes
    ----------
    step : str
        The step's name.
    status : str
        ``"succeeded"``, ``"failed"``, ``"not run"`` (selected, but an upstream step failed)
        or ``"not selected"``.
    executions : int
        Times the step's code started: 1 + its retries, 0 when it did not run.
    seconds : float
        Wall time from the step's first start to its end (NaN when it did not run).
    """

    step: str
    status: str
    executions: int
    seconds: float


@dataclass(frozen=True)
class PipelineRun(Report):
    """What one run of the pipeline did, step by step (from dagster's event log, or the script).

    Attributes
    ----------
    run_id : str
        Dagster's run id (``"cron"`` for the cron script).
    success : bool
        Whether every selected step succeeded.
    steps : tuple of StepRecord
        One record per step of :data:`PIPELINE_STEPS`, in that order.
    """

    run_id: str
    success: bool
    steps: tuple[StepRecord, ...]

    @property
    def executed(self) -> tuple[str, ...]:
        """The steps whose code ran at least once, in pipeline order."""
        return tuple(record.step for record in self.steps if record.executions > 0)

    @property
    def executions(self) -> int:
        """Step executions of the run, retries included."""
        return sum(record.executions for record in self.steps)

    @property
    def failed(self) -> tuple[str, ...]:
        """The steps that failed (after their retries)."""
        return tuple(record.step for record in self.steps if record.status == "failed")

    def to_frame(self) -> pd.DataFrame:
        """One row per step: status, executions and seconds."""
        frame = pd.DataFrame(
            [(r.step, r.status, r.executions, r.seconds) for r in self.steps],
            columns=["step", "status", "executions", "seconds"],
        )
        return frame.set_index("step")


@dataclass(frozen=True)
class StaleReport(Report):
    """Which steps are stale: their code changed since dagster recorded them, or upstream did.

    Attributes
    ----------
    recorded : dict
        Step → code version recorded with its latest materialization (None: never run).
    current : dict
        Step → code version of the step's code now.
    stale : tuple of str
        Steps to rerun, in pipeline order: the changed ones and all their downstream steps.
    """

    recorded: Mapping[str, str | None]
    current: Mapping[str, str]
    stale: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per step: recorded and current code version, stale or not, and why."""
        rows = []
        for step in PIPELINE_STEPS:
            changed = self.recorded[step] != self.current[step]
            why = "code changed" if changed else ("upstream changed" if step in self.stale else "")
            rows.append((step, self.recorded[step], self.current[step], step in self.stale, why))
        columns = ["step", "recorded code version", "current code version", "stale", "why"]
        return pd.DataFrame(rows, columns=columns).set_index("step")


@dataclass(frozen=True)
class Registered:
    """The register step's output: the model's test AUC and the code versions that made it."""

    auc: float
    code_versions: Mapping[str, str]


@dataclass(frozen=True)
class _Features:
    """The features step's output: train and test matrices (a time split) and column names."""

    columns: tuple[str, ...]
    train_X: np.ndarray
    train_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray


def _dagster() -> Any:
    import dagster

    logging.getLogger("dagster").setLevel(logging.CRITICAL)
    return dagster


def _materialize(dg: Any, assets: list[Any], **kwargs: Any) -> Any:
    """:func:`dagster.materialize`, without the warning it leaves inside a running event loop.

    In a Jupyter kernel (an asyncio loop is running) dagster's cleanup creates a coroutine it
    cannot run, catches the error on purpose, and Python warns that the coroutine was never
    awaited: noise, filtered here and nowhere else.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="coroutine 'BaseEventLoop.shutdown_asyncgens' was never awaited",
            category=RuntimeWarning,
        )
        return dg.materialize(assets, **kwargs)


def _instance(folder: Path, *, persistent: bool) -> Any:
    """A dagster instance keeping its files in ``folder`` (created), telemetry off.

    Persistent: runs and events in SQLite files in ``folder`` (a resume can happen in another
    process). Otherwise runs and events in memory, and only dagster's artifacts in ``folder``.
    """
    dg = _dagster()
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"telemetry": {"enabled": False}}
    if persistent:
        return dg.DagsterInstance.local_temp(tempdir=str(folder), overrides=settings)
    return dg.DagsterInstance.ephemeral(tempdir=str(folder), settings=settings)


class TrainingPipeline:
    """The training pipeline ingest → features → train → evaluate → register, as dagster assets.

    Parameters
    ----------
    folder : str or path-like
        Where dagster keeps its instance (``dagster/``), the steps' outputs (``outputs/``) and
        the register step its records (``registry.jsonl``); created if missing.
    n_users, n_transactions, days : int
        The simulated marketplace the ingest step reads (each ≥ 1; ``days`` ≥ 2).
    test_days : int, default 7
        The last days of the period, held out by the evaluate step (≥ 1, < ``days``).
    train_rounds : int, default 50
        Boosting rounds of the train step's model (≥ 1): how long training takes.
    retries : int, default 2
        Retries of a failed step (dagster's :class:`~dagster.RetryPolicy`, ≥ 0).
    faults : StepFaults, optional
        Faults injected into the steps; none by default. Set the attribute to change them.
    seed : int, default 0
        Seeds the simulated marketplace and the model.
    persistent : bool, default False
        Keep dagster's runs and events in SQLite files in the folder (what a deployment does,
        so that another process can resume a run), rather than in memory. In memory is what
        the notebook uses: on a loaded machine SQLite's writes cost a few tenths of a second
        per step, more than the steps themselves.

    Raises
    ------
    mlsys_kit.params.ParameterError
        A size below its minimum, ``test_days`` not below ``days``, or ``faults`` not a
        :class:`StepFaults`.

    Examples
    --------
    >>> import tempfile
    >>> pipeline = TrainingPipeline(tempfile.mkdtemp(), n_transactions=2_000, train_rounds=5)
    >>> pipeline.run().executed
    ('ingest', 'features', 'train', 'evaluate', 'register')
    >>> pipeline.change_code("features", "2")
    >>> pipeline.stale_steps().stale
    ('features', 'train', 'evaluate', 'register')
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        n_users: int = 2_000,
        n_transactions: int = 50_000,
        days: int = 28,
        test_days: int = 7,
        train_rounds: int = 50,
        retries: int = 2,
        faults: StepFaults | None = None,
        seed: int = 0,
        persistent: bool = False,
    ) -> None:
        owner = "TrainingPipeline"
        self.n_users = check_int("n_users", n_users, min=1, owner=owner)
        self.n_transactions = check_int("n_transactions", n_transactions, min=1, owner=owner)
        self.days = check_int("days", days, min=2, owner=owner)
        self.test_days = check_int("test_days", test_days, min=1, max=self.days - 1, owner=owner)
        self.train_rounds = check_int("train_rounds", train_rounds, min=1, owner=owner)
        self.retries = check_int("retries", retries, min=0, owner=owner)
        self.seed = check_int("seed", seed, min=0, owner=owner)
        self.faults = check_type("faults", faults or StepFaults(), StepFaults, owner=owner)
        self.folder = Path(folder)
        self.code_versions: dict[str, str] = dict.fromkeys(PIPELINE_STEPS, "1")
        persistent = check_bool("persistent", persistent, owner=owner)
        self._instance = _instance(self.folder / "dagster", persistent=persistent)
        self._cron_runs = 0
        self._dagster_runs = 0

    # -- the steps' work, shared by the dagster assets and the cron script -------------------

    def _ingest(self) -> pd.DataFrame:
        from mlsys_kit.sim import simulate

        market = simulate(
            n_users=self.n_users,
            n_transactions=self.n_transactions,
            days=self.days,
            seed=self.seed,
        )
        return market.transactions

    def _features(self, transactions: pd.DataFrame) -> _Features:
        columns = FEATURE_SETS.get(self.code_versions["features"], FEATURE_SETS["1"])
        t = transactions
        all_columns = {
            "log_amount": np.log1p(t["amount"].to_numpy()),
            "new_device": t["new_device"].to_numpy(float),
            "log_account_age": np.log1p(t["account_age_days"].to_numpy()),
            "n_items": t["n_items"].to_numpy(float),
            "hour": t["hour"].to_numpy(float),
            "support_contacts_7d": t["support_contacts_7d"].to_numpy(float),
        }
        X = np.column_stack([all_columns[c] for c in columns])
        y = t["is_fraud"].to_numpy()
        cut = t["timestamp"].min().normalize() + pd.Timedelta(days=self.days - self.test_days)
        test = (t["timestamp"] >= cut).to_numpy()
        return _Features(columns, X[~test], y[~test], X[test], y[test])

    def _train(self, features: _Features) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(
            max_iter=self.train_rounds, early_stopping=False, random_state=self.seed
        )
        return model.fit(features.train_X, features.train_y)

    def _evaluate(self, features: _Features, model: Any) -> float:
        from sklearn.metrics import roc_auc_score

        y = features.test_y
        if y.all() or not y.any():
            return float("nan")
        return float(roc_auc_score(y, model.predict_proba(features.test_X)[:, 1]))

    def _register(self, model: Any, auc: float) -> Registered:
        record = Registered(auc=auc, code_versions=dict(self.code_versions))
        with (self.folder / "registry.jsonl").open("a", encoding="utf-8") as file:
            file.write(json.dumps({"auc": auc, "code_versions": record.code_versions}) + "\n")
        return record

    def _work(self, step: str, inputs: Mapping[str, Any]) -> Any:
        if step == "ingest":
            return self._ingest()
        if step == "features":
            return self._features(inputs["ingest"])
        if step == "train":
            return self._train(inputs["features"])
        if step == "evaluate":
            return self._evaluate(inputs["features"], inputs["train"])
        return self._register(inputs["train"], inputs["evaluate"])

    def _enter(self, step: str, *, key: int, attempt: int) -> None:
        if self.faults.fails(step, key=key, attempt=attempt):
            kind = "broken" if step in self.faults.broken else "transient failure"
            raise StepFailure(f"step {step!r} failed ({kind}, attempt {attempt + 1})")

    # -- dagster ------------------------------------------------------------------------------

    def _assets(self, key: int) -> list[Any]:
        dg = _dagster()
        assets = []
        for step in PIPELINE_STEPS:
            assets.append(self._asset(dg, step, key))
        return assets

    def _asset(self, dg: Any, step: str, key: int) -> Any:
        @dg.asset(
            name=step,
            ins={name: dg.AssetIn() for name in _UPSTREAM[step]},
            code_version=self.code_versions[step],
            retry_policy=dg.RetryPolicy(max_retries=self.retries) if self.retries else None,
        )
        def compute(context, **inputs: Any) -> Any:  # no hint: dagster checks it
            self._enter(step, key=key, attempt=context.retry_number)
            return self._work(step, inputs)

        return compute

    def run(self, selection: Iterable[str] | None = None, *, key: int | None = None) -> PipelineRun:
        """Materialize the pipeline's assets in-process (all, or ``selection``) with dagster.

        Parameters
        ----------
        selection : iterable of str, optional
            Steps to run; the others' outputs are read from the folder. All by default.
        key : int, optional
            The run's key for the transient faults (the cron run with the same key meets the
            same first-attempt failures); by default the number of dagster runs so far.

        Returns
        -------
        PipelineRun
            Per step: status, executions (retries included) and seconds, from the run's events.
        """
        dg = _dagster()
        owner = "TrainingPipeline.run"
        chosen = PIPELINE_STEPS if selection is None else tuple(selection)
        for step in chosen:
            check_choice("selection", step, PIPELINE_STEPS, owner=owner)
        if key is None:
            key = self._dagster_runs
        key = check_int("key", key, min=0, owner=owner)
        self._dagster_runs += 1
        result = _materialize(
            dg,
            self._assets(key),
            selection=list(chosen),
            instance=self._instance,
            resources={"io_manager": dg.FilesystemIOManager(base_dir=str(self.folder / "outputs"))},
            run_config=_QUIET,
            raise_on_error=False,
        )
        return _read_run(self._instance, result.run_id, chosen)

    def resume(self, failed: PipelineRun) -> PipelineRun:
        """Rerun the steps a run did not finish: the failed ones and all their downstream steps.

        Parameters
        ----------
        failed : PipelineRun
            A dagster run of this pipeline (from :meth:`run`).

        Returns
        -------
        PipelineRun
            The new run; the finished steps' outputs are read, not recomputed.
        """
        failed = check_type("failed", failed, PipelineRun, owner="TrainingPipeline.resume")
        return self.run(
            _downstream(self._assets(0), [r.step for r in failed.steps if r.status == "failed"])
        )

    def change_code(self, step: str, version: str) -> None:
        """Give ``step`` new code, of code version ``version``.

        Parameters
        ----------
        step : str
            One of :data:`PIPELINE_STEPS`.
        version : str
            The new code version. The features step's versions are the keys of
            :data:`FEATURE_SETS` (its columns); the other steps' code does the same whatever
            the version (dagster only sees that it changed).

        Raises
        ------
        mlsys_kit.params.ParameterError
            An unknown step, a version that is not a string, or an unknown features version.
        """
        owner = "TrainingPipeline.change_code"
        step = check_choice("step", step, PIPELINE_STEPS, owner=owner)
        version = check_type("version", version, str, owner=owner)
        if step == "features":
            check_choice("version", version, FEATURE_SETS, owner=owner)
        self.code_versions[step] = version

    def stale_steps(self) -> StaleReport:
        """Steps whose code version differs from the one dagster recorded, and their downstream.

        Returns
        -------
        StaleReport
            The recorded and current code versions and the stale steps, in pipeline order.
        """
        dg = _dagster()
        recorded: dict[str, str | None] = {}
        for step in PIPELINE_STEPS:
            event = self._instance.get_latest_materialization_event(dg.AssetKey(step))
            tags = event.asset_materialization.tags if event is not None else {}
            recorded[step] = (tags or {}).get("dagster/code_version")
        changed = [s for s in PIPELINE_STEPS if recorded[s] != self.code_versions[s]]
        return StaleReport(
            recorded, dict(self.code_versions), _downstream(self._assets(0), changed)
        )

    # -- cron -----------------------------------------------------------------------------------

    def run_cron_script(self, *, key: int | None = None) -> PipelineRun:
        """Run every step in order as one script, as a crontab line would: no retries, no resume.

        Parameters
        ----------
        key : int, optional
            The run's key for the transient faults; by default the number of cron runs so far.

        Returns
        -------
        PipelineRun
            Per step: status, executions and seconds; the first failure stops the script.
        """
        if key is None:
            key = self._cron_runs
        key = check_int("key", key, min=0, owner="TrainingPipeline.run_cron_script")
        self._cron_runs += 1
        outputs: dict[str, Any] = {}
        records = []
        failed = False
        for step in PIPELINE_STEPS:
            if failed:
                records.append(StepRecord(step, "not run", 0, float("nan")))
                continue
            start = time.perf_counter()
            try:
                self._enter(step, key=key, attempt=0)
                outputs[step] = self._work(step, outputs)
                status = "succeeded"
            except StepFailure:
                status, failed = "failed", True
            records.append(StepRecord(step, status, 1, time.perf_counter() - start))
        return PipelineRun("cron", not failed, tuple(records))


def _downstream(assets: list[Any], steps: Iterable[str]) -> tuple[str, ...]:
    """``steps`` and every step downstream of them in ``assets``, in pipeline order (dagster's
    asset selection)."""
    steps = list(steps)
    if not steps:
        return ()
    dg = _dagster()
    keys = dg.AssetSelection.assets(*steps).downstream().resolve(assets)
    names = {key.to_user_string() for key in keys}
    return tuple(step for step in PIPELINE_STEPS if step in names)


def _read_run(instance: Any, run_id: str, selection: Iterable[str]) -> PipelineRun:
    """A run's per-step record from the events dagster stored for it."""
    selection = set(selection)
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    executions: dict[str, int] = dict.fromkeys(PIPELINE_STEPS, 0)
    status: dict[str, str] = {}
    success = False
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind, step = event.event_type_value, event.step_key
        if kind in ("RUN_SUCCESS", "PIPELINE_SUCCESS"):
            success = True
        if step not in executions:
            continue
        if kind in ("STEP_START", "STEP_RESTARTED"):
            executions[step] += 1
            starts.setdefault(step, entry.timestamp)
        elif kind == "STEP_SUCCESS":
            status[step], ends[step] = "succeeded", entry.timestamp
        elif kind == "STEP_FAILURE":
            status[step], ends[step] = "failed", entry.timestamp
    records = []
    for step in PIPELINE_STEPS:
        default = "not run" if step in selection else "not selected"
        seconds = ends[step] - starts[step] if step in ends and step in starts else float("nan")
        records.append(StepRecord(step, status.get(step, default), executions[step], seconds))
    return PipelineRun(run_id, success, tuple(records))


@dataclass(frozen=True)
class BackfillReport(Report):
    """Which days of a daily ingest exist, as dagster's partitions and as cron's files.

    Attributes
    ----------
    days : tuple of str
        The days, ``YYYY-MM-DD``.
    dagster : frozenset of str
        Days dagster has materialized (its partitions' status).
    cron : frozenset of str
        Days the cron script has written.
    rows : dict
        Day → transactions ingested that day.
    """

    days: tuple[str, ...]
    dagster: frozenset[str]
    cron: frozenset[str]
    rows: Mapping[str, int] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per day: rows of that day, and whether cron, dagster have it."""
        return pd.DataFrame(
            {
                "transactions": [self.rows.get(d, 0) for d in self.days],
                "cron": [d in self.cron for d in self.days],
                "dagster": [d in self.dagster for d in self.days],
            },
            index=pd.Index(self.days, name="day"),
        )


class DailyIngest:
    """A daily ingest job: one file of transactions per day, by cron or as dagster partitions.

    Parameters
    ----------
    folder : str or path-like
        Where dagster keeps its instance and both jobs their daily files; created if missing.
    transactions : pandas.DataFrame
        The source, with a ``timestamp`` column (e.g. ``simulate(...).transactions``).
    start : str
        The first day of the partitions, ``YYYY-MM-DD``.
    persistent : bool, default False
        Keep dagster's runs and events in SQLite files in the folder (see
        :class:`TrainingPipeline`), rather than in memory.

    Examples
    --------
    >>> import tempfile
    >>> from mlsys_kit.sim import simulate
    >>> market = simulate(n_transactions=500, days=5, seed=0)
    >>> job = DailyIngest(tempfile.mkdtemp(), market.transactions, start="2024-01-01")
    >>> job.cron_run("2024-01-05")
    >>> job.backfill("2024-01-01", "2024-01-05")
    >>> report = job.report(["2024-01-03", "2024-01-04", "2024-01-05"])
    >>> report.to_frame()[["cron", "dagster"]].sum().tolist()
    [1, 3]
    """

    def __init__(
        self,
        folder: str | Path,
        transactions: pd.DataFrame,
        *,
        start: str,
        persistent: bool = False,
    ) -> None:
        owner = "DailyIngest"
        self.folder = Path(folder)
        self.transactions = check_type("transactions", transactions, pd.DataFrame, owner=owner)
        if "timestamp" not in transactions.columns:
            raise ParameterError(f"{owner}: transactions must have a 'timestamp' column")
        self.start = _day(start, "start", owner)
        persistent = check_bool("persistent", persistent, owner=owner)
        self._instance = _instance(self.folder / "dagster", persistent=persistent)
        self._day_of = transactions["timestamp"].dt.strftime("%Y-%m-%d")

    def _write(self, job: str, day: str) -> None:
        folder = self.folder / job
        folder.mkdir(parents=True, exist_ok=True)
        rows = self.transactions[self._day_of == day]
        rows.to_parquet(folder / f"{day}.parquet", index=False)

    def cron_run(self, now: str) -> None:
        """What the cron line runs at ``now``: ingest the current day only.

        Parameters
        ----------
        now : str
            Today, ``YYYY-MM-DD``: its transactions are written to ``cron/<now>.parquet``.

        Raises
        ------
        mlsys_kit.params.ParameterError
            ``now`` is not a day.
        """
        self._write("cron", _day(now, "now", "DailyIngest.cron_run"))

    def backfill(self, first: str, last: str) -> None:
        """Materialize the daily partitions ``first`` … ``last`` with dagster, in one run.

        Parameters
        ----------
        first, last : str
            The range of days, ``YYYY-MM-DD``, both included; each day's transactions are
            written to ``dagster/<day>.parquet`` (a single-run backfill policy).

        Raises
        ------
        mlsys_kit.params.ParameterError
            A value that is not a day, or not ``start ≤ first ≤ last``.
        """
        dg = _dagster()
        owner = "DailyIngest.backfill"
        first, last = _day(first, "first", owner), _day(last, "last", owner)
        if not self.start <= first <= last:
            raise ParameterError(
                f"{owner}: need start ≤ first ≤ last; got {self.start}, {first}, {last}"
            )
        days = dg.DailyPartitionsDefinition(start_date=self.start)

        def write_days(context) -> None:  # no hint: dagster checks it
            for day in context.partition_keys:
                self._write("dagster", day)

        with warnings.catch_warnings():  # a single-run backfill policy is "beta" in dagster 1.13
            warnings.filterwarnings("ignore", category=dg.BetaWarning)
            daily_transactions = dg.asset(
                name="daily_transactions",
                partitions_def=days,
                backfill_policy=dg.BackfillPolicy.single_run(),
            )(write_days)

        _materialize(
            dg,
            [daily_transactions],
            instance=self._instance,
            run_config=_QUIET,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
        )

    def report(self, days: Iterable[str]) -> BackfillReport:
        """Which of ``days`` each job has, and the transactions of each day.

        Parameters
        ----------
        days : iterable of str
            Days, ``YYYY-MM-DD``.

        Returns
        -------
        BackfillReport
            Dagster's materialized partitions (from its instance) and cron's files, among
            ``days``.
        """
        dg = _dagster()
        days = tuple(_day(d, "days", "DailyIngest.report") for d in days)
        done = self._instance.get_materialized_partitions(dg.AssetKey("daily_transactions"))
        cron = {p.stem for p in (self.folder / "cron").glob("*.parquet")}
        counts = self._day_of.value_counts()
        rows = {d: int(counts.get(d, 0)) for d in days}
        return BackfillReport(days, frozenset(done) & set(days), frozenset(cron) & set(days), rows)


def _day(value: Any, name: str, owner: str) -> str:
    """``value`` as a day ``YYYY-MM-DD``, or a ParameterError naming ``name``."""
    try:
        return pd.Timestamp(check_type(name, value, str, owner=owner)).strftime("%Y-%m-%d")
    except ValueError as error:
        if isinstance(error, ParameterError):
            raise
        raise ParameterError(f"{owner}: {name}={value!r} is not a day: use 'YYYY-MM-DD'") from None


def transient_success(
    transient_rate: float, *, retries: int, n_steps: int = len(PIPELINE_STEPS)
) -> float:
    """Probability that a run succeeds when each attempt fails with ``transient_rate``.

    ``(1 - transient_rate ** (retries + 1)) ** n_steps``: each of the ``n_steps`` steps must
    succeed within ``retries + 1`` attempts. Cron's script has ``retries = 0``.

    Parameters
    ----------
    transient_rate : float
        Probability that an attempt fails, in ``[0, 1]``.
    retries : int
        Retries of a failed step (≥ 0).
    n_steps : int, default 5
        Steps of the run (≥ 1).

    Returns
    -------
    float
        The probability that every step succeeds.

    Raises
    ------
    mlsys_kit.params.ParameterError
        A value out of its range.

    Examples
    --------
    >>> round(transient_success(0.2, retries=0), 3), round(transient_success(0.2, retries=2), 3)
    (0.328, 0.961)
    """
    owner = "transient_success"
    rate = check_float("transient_rate", transient_rate, min=0, max=1, owner=owner)
    retries = check_int("retries", retries, min=0, owner=owner)
    n_steps = check_int("n_steps", n_steps, min=1, owner=owner)
    return float((1 - rate ** (retries + 1)) ** n_steps)
