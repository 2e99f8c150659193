"""Execute notebooks with papermill and collect their verified claims.

``mlsys-kit run`` and ``mlsys-kit refresh`` are thin layers over this module.

* A run is a :class:`RunSpec`: a notebook, the parameter values to inject, and a
  label. The same notebook can run many times in one run folder (a sweep), each
  run with its own label: its output is ``<chapter>/<notebook>--<label>.ipynb``.
* :func:`run` executes run specs into a run folder, after checking every spec's
  parameters against the notebook's declarations (nothing starts when one is
  refused). Runs go one at a time, to a local pool of ``jobs`` processes, or to a
  Dask cluster (``scheduler="tcp://HOST:PORT"``): the same jobs, the same results.
  Every result, with its parameters and label, is appended to ``results.jsonl`` in
  the run folder as soon as it is known, so a crash or an interrupt never loses the
  runs that finished; :func:`load_results` reads them back (sweeps resume from it).
* A run that exceeds its ``timeout`` has its kernel killed and is recorded with
  the error; it never stops the other runs.
* With ``fork_kernels=True`` (sweeps and the reliability reports), local runs start their
  kernels as forks of one warm process per worker, as the test suite does
  (:mod:`mlsys_kit.kit.kernels`): about 1.5 s less per run. ``mlsys-kit run`` starts every
  kernel anew, as JupyterLab does.
* :func:`refresh` re-executes committed notebooks with their default parameters
  and writes them back only when they succeed, stripped of volatile metadata
  (papermill's timestamps and durations), so diffs stay reviewable.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from mlsys_kit.claims import Claim, Metric, claims_from_outputs, metrics_from_outputs
from mlsys_kit.kit.catalog import Notebook
from mlsys_kit.notebook import FIGURES_ENV, RUN_DIR_ENV
from mlsys_kit.params import (
    ParameterError,
    check_bool,
    check_float,
    check_int,
    check_parameters,
    check_type,
)

__all__ = [
    "RunSpec",
    "RunResult",
    "run",
    "run_one",
    "load_results",
    "refresh",
    "strip_volatile_metadata",
    "new_run_dir",
]

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=,+-]*$")


@dataclass(frozen=True)
class RunSpec:
    """One run: a notebook, the parameter values to inject, and a label.

    Parameters
    ----------
    notebook : Notebook
        The notebook to execute.
    parameters : mapping, optional
        Values injected after its ``parameters`` cell; the others keep their defaults.
    label : str, optional
        Names the run in its run folder and in ``results.jsonl``; runs of one
        notebook in one folder need distinct labels. Letters, digits and
        ``. _ = , + -`` (it becomes part of a file name).

    Examples
    --------
    A sweep over seeds, every run kept side by side::

        specs = [RunSpec(nb, {"seed": s}, label=f"seed={s}") for s in range(5)]
        run(specs, new_run_dir())
    """

    notebook: Notebook
    parameters: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        check_type("notebook", self.notebook, Notebook, owner="RunSpec")
        check_type("parameters", self.parameters, Mapping, owner="RunSpec")
        check_type("label", self.label, str, owner="RunSpec")
        if self.label and not _LABEL.match(self.label):
            raise ParameterError(
                f"RunSpec: label={self.label!r} cannot name a file: use letters, digits "
                "and . _ = , + - (starting with a letter or a digit)"
            )
        object.__setattr__(self, "parameters", dict(self.parameters))

    def output_path(self, out_dir: Path) -> Path:
        """Where the executed notebook goes: ``out_dir/<chapter>/<notebook>[--<label>].ipynb``."""
        stem = self.notebook.path.stem + (f"--{self.label}" if self.label else "")
        return Path(out_dir) / self.notebook.chapter_slug / f"{stem}.ipynb"

    def checked_parameters(self) -> dict[str, Any]:
        """The parameters, checked against the notebook's parameters cell and declarations.

        Raises
        ------
        ParameterError
            For a name the notebook does not have, or a value its ``PARAMETERS``
            declaration refuses.
        """
        known = self.notebook.parameters
        unknown = sorted(set(self.parameters) - set(known))
        if unknown:
            raise ParameterError(
                f"{self.notebook.id} {self.notebook.name} has no parameter(s) {unknown}; "
                f"its parameters: {', '.join(known) or 'none'}"
            )
        declared = {n: p.declaration for n, p in known.items() if p.declaration is not None}
        values = {name: param.default for name, param in known.items()} | self.parameters
        check_parameters(declared, values, owner=self.notebook.id)
        return dict(self.parameters)


@dataclass
class RunResult:
    """What one notebook run produced."""

    notebook_id: str
    name: str
    output: Path
    seconds: float
    claims: list[Claim] = field(default_factory=list)
    error: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    metrics: list[Metric] = field(default_factory=list)
    code_hash: str = ""

    @property
    def ok(self) -> bool:
        """True when the notebook ran to the end and every claim held."""
        return self.error is None and all(c.passed for c in self.claims)

    @property
    def status(self) -> str:
        """``"ok"``, ``"claim failed"`` or ``"error"``."""
        if self.ok:
            return "ok"
        return "claim failed" if any(not c.passed for c in self.claims) else "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook_id,
            "name": self.name,
            "label": self.label,
            "parameters": self.parameters,
            "output": str(self.output),
            "seconds": round(self.seconds, 2),
            "status": self.status,
            "error": self.error,
            "claims": [c.to_dict() for c in self.claims],
            "metrics": [m.to_dict() for m in self.metrics],
            "code_hash": self.code_hash,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RunResult:
        """The result back from a line of ``results.jsonl`` (see :meth:`to_dict`)."""
        return cls(
            notebook_id=record["notebook"],
            name=record.get("name", ""),
            output=Path(record.get("output", "")),
            seconds=float(record.get("seconds", 0.0)),
            claims=[Claim.from_dict(c) for c in record.get("claims", [])],
            error=record.get("error"),
            parameters=dict(record.get("parameters", {})),
            label=record.get("label", ""),
            metrics=[
                Metric(m["name"], m["value"], unit=m.get("unit", ""))
                for m in record.get("metrics", [])
            ],
            code_hash=record.get("code_hash", ""),
        )


def new_run_dir(base: Path | str = "runs") -> Path:
    """A fresh, empty run folder ``base/YYYY-MM-DD_HH-MM-SS`` (suffixed if taken)."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    base = Path(base)
    for attempt in range(1000):
        folder = base / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run folder under {base}")


def _error_summary(exc: BaseException) -> str:
    """One readable line for a failed notebook (papermill wraps the cell's error)."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "exec_count", None)
    where = f" in cell [{cell}]" if cell is not None else ""
    return f"{ename}{where}: {evalue}".strip()


#: Times a run starts a new kernel when its kernel died before running any cell. Kernels started
#: side by side (``--jobs``, sweeps) now and then die while starting, most often by racing for a
#: local port; the same failure twice in a row is reported.
KERNEL_START_RETRIES = 1

_KERNEL_START_FAILURES = ("Kernel died before replying to kernel_info",)


def _kernel_did_not_start(exc: BaseException, watchdog: _Watchdog) -> bool:
    """Whether the run failed because its kernel died while starting (no cell ran)."""
    message = str(exc)
    return not watchdog.fired and any(failure in message for failure in _KERNEL_START_FAILURES)


def run_one(
    notebook: Path | Mapping[str, Any],
    output_path: Path,
    parameters: dict[str, Any] | None = None,
    *,
    notebook_id: str = "",
    name: str = "",
    label: str = "",
    kernel_name: str | None = None,
    timeout: float | None = None,
    draw_figures: bool = True,
    kill_kernel: bool = False,
) -> RunResult:
    """Execute one notebook with papermill and read back its claims and metrics.

    Parameters
    ----------
    notebook : Path or notebook node
        The notebook to run: a file, or its content (what remote workers receive).
    output_path : Path
        Where the executed notebook is written (also on failure: papermill saves
        it after every cell). Files the notebook writes through
        :func:`mlsys_kit.output_dir` go to a folder beside it.
    parameters : dict, optional
        Values injected after the ``parameters`` cell.
    notebook_id, name, label : str
        Recorded in the result.
    kernel_name : str, optional
        Jupyter kernel; by default the notebook's own (``python3``), which runs in
        the current Python environment.
    timeout : float, optional
        Seconds the whole run may take; past them its kernel is killed and the run
        is recorded as an error. No limit by default.
    draw_figures : bool, default True
        False shows each figure by its text only, never drawn into an image (the
        kernel runs with ``MLSYS_KIT_FIGURES=text``): for runs whose images nobody
        looks at, such as the test suite's parameter sets; it saves about a second
        per multi-panel figure. True leaves the environment as it is.
    kill_kernel : bool, default False
        True kills the kernel once its last cell has run, as nbval does, instead of
        asking it to shut down and waiting while its interpreter tears down (about half
        a second with the kit's imports): for runs whose kernel holds nothing anyone
        needs afterwards, such as the test suite's parameter sets. The executed notebook
        and the files its cells wrote are complete either way.

    Returns
    -------
    RunResult
        Never raises for a failing notebook: the error is in ``result.error``. A kernel
        that dies while starting, before any cell ran, is replaced once
        (:data:`KERNEL_START_RETRIES`).
    """
    import papermill

    if not isinstance(notebook, Path | str):
        import nbformat

        notebook = nbformat.from_dict(notebook)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    artifacts = output_path.with_suffix("")
    artifacts.mkdir(parents=True, exist_ok=True)
    environment = {RUN_DIR_ENV: str(artifacts.resolve())}
    if not draw_figures:
        environment[FIGURES_ENV] = "text"
    previous = {variable: os.environ.get(variable) for variable in environment}
    os.environ.update(environment)
    watchdog = _Watchdog(timeout)
    start = time.perf_counter()
    error = None
    try:
        for attempt in range(1 + KERNEL_START_RETRIES):
            try:
                papermill.execute_notebook(
                    notebook if not isinstance(notebook, Path) else str(notebook),
                    str(output_path),
                    parameters=parameters or {},
                    kernel_name=kernel_name,
                    cwd=str(artifacts),
                    progress_bar=False,
                    kernel_manager_class=watchdog.kernel_manager_class,
                    shutdown_kernel="immediate" if kill_kernel else "graceful",
                    # ipykernel warns on every start that local TCP is unencrypted; keep
                    # runs quiet.
                    extra_arguments=["--IPKernelApp.log_level=ERROR"],
                )
                break
            except Exception as exc:  # a failing notebook is a result, not a crash
                if attempt < KERNEL_START_RETRIES and _kernel_did_not_start(exc, watchdog):
                    continue  # no cell ran: start a new kernel
                error = _error_summary(exc)
                break
    finally:
        watchdog.cancel()
        for variable, value in previous.items():  # not `name`: the notebook's name is returned
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
    seconds = time.perf_counter() - start
    if watchdog.fired:
        error = f"Timeout: the run took longer than {timeout:g} s and was stopped"
    if not any(artifacts.iterdir()):
        artifacts.rmdir()
    claims, metrics = _read_outputs(output_path)
    values = dict(parameters or {})
    return RunResult(notebook_id, name, output_path, seconds, claims, error, values, label, metrics)


class _Watchdog:
    """Kills the kernel of one run when the run exceeds its time limit.

    papermill builds the kernel manager from a class; each run gets its own
    subclass that reports its kernel here, so that only this run's kernel is
    killed, even when several runs share a process (a Dask worker's threads).
    """

    def __init__(self, timeout: float | None) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self.fired = False
        self._managers: list[Any] = []
        self._timer = None
        watchdog = self

        class _Tracked(AsyncKernelManager):
            async def _async_post_start_kernel(self, **kwargs: Any) -> None:
                await super()._async_post_start_kernel(**kwargs)
                watchdog._managers.append(self)

        self.kernel_manager_class = _Tracked
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._kill)
            self._timer.daemon = True
            self._timer.start()

    def _kill(self) -> None:
        for manager in self._managers:
            pid = getattr(manager.provisioner, "pid", None)
            if pid:
                self.fired = True
                with contextlib.suppress(ProcessLookupError):  # it may have just ended
                    os.kill(pid, signal.SIGKILL)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _read_outputs(path: Path) -> tuple[list[Claim], list[Metric]]:
    try:
        with path.open(encoding="utf-8") as handle:
            cells = json.load(handle).get("cells", [])
    except (OSError, ValueError):
        return [], []
    return claims_from_outputs(cells), metrics_from_outputs(cells)


def load_results(out_dir: Path) -> list[RunResult]:
    """The results recorded in ``out_dir/results.jsonl``, oldest first.

    A run recorded twice (re-run after a failure) appears twice; the last record
    is the current one. A line cut short by a crash is skipped.
    """
    log = Path(out_dir) / "results.jsonl"
    if not log.exists():
        return []
    results = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            results.append(RunResult.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return results


@dataclass(frozen=True)
class _Job:
    """What a worker needs for one run: plain values, pickled to a process or a Dask worker."""

    source: dict[str, Any]
    output: Path
    parameters: dict[str, Any]
    notebook_id: str
    name: str
    label: str
    timeout: float | None
    remote: bool


def _run_job(job: _Job) -> tuple[RunResult, str | None]:
    """Run one job; a remote job runs in a scratch folder and sends the notebook back."""
    scratch = Path(tempfile.mkdtemp(prefix="mlsys-kit-job-")) if job.remote else None
    output = scratch / job.output.name if scratch else job.output
    try:
        result = run_one(
            job.source,
            output,
            job.parameters,
            notebook_id=job.notebook_id,
            name=job.name,
            label=job.label,
            timeout=job.timeout,
        )
        text = output.read_text(encoding="utf-8") if scratch and output.exists() else None
    except Exception:  # pragma: no cover - keep other runs' results
        error = traceback.format_exc(limit=3)
        result = RunResult(job.notebook_id, job.name, output, 0.0, [], error, job.parameters)
        result.label, text = job.label, None
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    result.output = job.output
    return result, text


def _executor(jobs: int, scheduler: str | None, fork_kernels: bool = False) -> Executor | None:
    """A local process pool, a Dask cluster's executor, or None to run in this process."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - distributed is a dependency
            raise ParameterError("run: scheduler= needs dask.distributed installed") from exc
        try:
            client = Client(scheduler, timeout="5s")
        except OSError as exc:
            raise ParameterError(
                f"run: no Dask scheduler answers at {scheduler!r} ({exc}); start one with "
                "`dask scheduler` and give its address, e.g. tcp://127.0.0.1:8786"
            ) from exc
        return client.get_executor(pure=False)
    if jobs == 1:
        return None
    from mlsys_kit.kit.kernels import use_forked_kernels

    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=get_context("spawn"),
        initializer=use_forked_kernels if fork_kernels else None,
    )


@contextlib.contextmanager
def _kernels_forked_here(wanted: bool):
    """Within the block, this process's new kernels are forks of its warm process (if wanted).

    jupyter_client reads the default provisioner once per process, into a singleton factory:
    the block sets it there, and puts back what was there before.
    """
    if not wanted:
        yield
        return
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    from mlsys_kit.kit.kernels import PROVISIONER_ENV, PROVISIONER_NAME, use_forked_kernels

    factory = KernelProvisionerFactory.instance()
    before = os.environ.get(PROVISIONER_ENV), factory.default_provisioner_name
    if use_forked_kernels():
        factory.default_provisioner_name = PROVISIONER_NAME
    try:
        yield
    finally:
        if before[0] is None:
            os.environ.pop(PROVISIONER_ENV, None)
        else:
            os.environ[PROVISIONER_ENV] = before[0]
        factory.default_provisioner_name = before[1]


def run(
    specs: Iterable[RunSpec | Notebook],
    out_dir: Path,
    parameters: dict[str, dict[str, Any]] | None = None,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    timeout: float | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    fork_kernels: bool = False,
) -> list[RunResult]:
    """Execute run specs into ``out_dir/<chapter>/<notebook>[--<label>].ipynb``.

    Every spec's parameters are checked (names and declarations) before the first
    notebook starts, and no two specs may write the same output.

    Parameters
    ----------
    specs : iterable of RunSpec or Notebook
        What to run; a bare :class:`Notebook` is ``RunSpec(notebook, parameters[id])``.
    out_dir : Path
        The run folder (see :func:`new_run_dir`).
    parameters : dict, optional
        Parameter values of the bare notebooks in ``specs``, keyed by notebook id
        ``"NN/MM"``.
    jobs : int, default 1
        Runs executed at once on this machine, each in its own process.
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://HOST:PORT"``): the runs go to its
        workers instead (``jobs`` is then ignored). Workers need the kit installed,
        nothing else: each receives the notebook and sends the executed one back.
        Files a notebook writes with :func:`mlsys_kit.output_dir` stay on the worker.
    timeout : float, optional
        Seconds one run may take before its kernel is killed and it is recorded
        as an error. No limit by default.
    on_result : callable, optional
        Called with each result as soon as it is known (for progress bars).
    fork_kernels : bool, default False
        Start each local run's kernel as a fork of one process per worker that has already
        imported IPython, numpy, pandas, SciPy, scikit-learn and matplotlib
        (:mod:`mlsys_kit.kit.kernels`, as the test suite does): about 1.5 s less per run, each
        run still in a process of its own. Linux only, and not with ``scheduler``; elsewhere,
        or with ``MLSYS_KIT_FORK_KERNELS=0``, kernels start as usual. The process's warm server
        lives as long as the process.

    Returns
    -------
    list of RunResult
        In the order of ``specs``. Each result is also appended to
        ``out_dir/results.jsonl`` as soon as it is known, with its parameters and label.

    Raises
    ------
    ParameterError
        Before anything runs: for an unknown parameter, a value its declaration
        refuses, two specs with the same output (give them distinct labels), or a
        scheduler that does not answer.
    """
    jobs = check_int("jobs", jobs, min=1, owner="run")
    fork_kernels = check_bool("fork_kernels", fork_kernels, owner="run") and scheduler is None
    if timeout is not None:
        timeout = check_float("timeout", timeout, min=0, open_min=True, owner="run")
    if scheduler is not None:
        scheduler = check_type("scheduler", scheduler, str, owner="run")
    parameters = parameters or {}
    specs = [
        spec if isinstance(spec, RunSpec) else RunSpec(spec, parameters.get(spec.id, {}))
        for spec in specs
    ]
    out_dir = Path(out_dir)
    jobs_list: list[_Job] = []
    outputs: set[Path] = set()
    for spec in specs:
        output = spec.output_path(out_dir)
        if output in outputs:
            raise ParameterError(
                f"run: two runs of {spec.notebook.id} would write {output}; "
                "give each run of a notebook its own label"
            )
        outputs.add(output)
        values = spec.checked_parameters()
        nb = spec.notebook
        remote = scheduler is not None
        job = _Job(nb.source, output, values, nb.id, nb.name, spec.label, timeout, remote)
        jobs_list.append(job)
    _warm_caches()
    out_dir.mkdir(parents=True, exist_ok=True)
    executor = _executor(jobs, scheduler, fork_kernels) if jobs_list else None
    results: dict[int, RunResult] = {}
    log = out_dir / "results.jsonl"

    def record(index: int, outcome: tuple[RunResult, str | None]) -> None:
        result, text = outcome
        result.code_hash = specs[index].notebook.code_hash
        if text is not None:
            result.output.parent.mkdir(parents=True, exist_ok=True)
            result.output.write_text(text, encoding="utf-8")
        results[index] = result
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result.to_dict(), ensure_ascii=False, default=repr) + "\n")
        if on_result:
            on_result(result)

    if executor is None:
        with _kernels_forked_here(fork_kernels):
            for index, job in enumerate(jobs_list):
                record(index, _run_job(job))
    else:
        try:
            futures = {executor.submit(_run_job, job): i for i, job in enumerate(jobs_list)}
            for future in as_completed(futures):
                record(futures[future], future.result())
        except BaseException:  # an interrupt: stop the runs in flight, keep what finished
            for process in getattr(executor, "_processes", {}).values():
                process.terminate()  # its kernel notices its parent is gone and exits
            raise
        finally:
            client = getattr(executor, "_client", None)  # a Dask cluster's executor
            if client is not None:
                client.close()  # cancels what has not run
            else:
                executor.shutdown(wait=False, cancel_futures=True)
    return [results[index] for index in range(len(jobs_list))]


def _warm_caches() -> None:
    """Build matplotlib's font cache once, before kernels start.

    On a fresh machine the first ``import matplotlib`` builds a font cache and says
    so on stderr; doing it here keeps that message out of every notebook.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.font_manager


VOLATILE_NOTEBOOK_KEYS = ("papermill",)
VOLATILE_CELL_KEYS = ("papermill", "execution")


def strip_volatile_metadata(nb: dict[str, Any]) -> dict[str, Any]:
    """Remove what changes on every execution but carries no content.

    Drops papermill's notebook and per-cell metadata (timestamps, durations,
    exceptions), nbclient's per-cell execution timestamps, the empty tag lists
    papermill adds, and the Python patch version in ``language_info``. Outputs,
    execution counts and real tags are kept.
    """
    metadata = nb.get("metadata", {})
    for key in VOLATILE_NOTEBOOK_KEYS:
        metadata.pop(key, None)
    metadata.get("language_info", {}).pop("version", None)
    for cell in nb.get("cells", []):
        cell_metadata = cell.get("metadata", {})
        for key in VOLATILE_CELL_KEYS:
            cell_metadata.pop(key, None)
        if cell_metadata.get("tags") == []:
            del cell_metadata["tags"]
    return nb


def refresh(path: Path, *, notebook_id: str = "", name: str = "") -> RunResult:
    """Re-execute a committed notebook in place with its default parameters.

    The notebook runs into a temporary file first; only when it succeeds and all
    its claims hold is it written back (stripped of volatile metadata). On
    failure the committed notebook is left untouched, and the failed output is
    kept for inspection at ``result.output``.
    """
    scratch = Path(tempfile.mkdtemp(prefix="mlsys-kit-refresh-"))
    result = run_one(path, scratch / path.name, notebook_id=notebook_id, name=name)
    if not result.ok:
        return result
    with result.output.open(encoding="utf-8") as handle:
        nb = strip_volatile_metadata(json.load(handle))
    _write_notebook(nb, path)
    shutil.rmtree(scratch, ignore_errors=True)
    result.output = path
    return result


def _write_notebook(nb: dict[str, Any], path: Path) -> None:
    """Write atomically, formatted as Jupyter itself writes notebooks."""
    import nbformat

    node = nbformat.from_dict(nb)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(node, str(tmp))
    tmp.replace(path)
