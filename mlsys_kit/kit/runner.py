"""Execute notebooks with papermill and collect their verified claims.

``mlsys-kit run`` and ``mlsys-kit refresh`` are thin layers over this module.

* :func:`run` executes notebooks into a run folder, one output notebook per
  input, each in its own process when ``jobs > 1``. Every result is appended to
  ``results.jsonl`` in the run folder as soon as it is known, so a crash or an
  interrupt never loses the notebooks that already finished.
* :func:`refresh` re-executes committed notebooks with their default parameters
  and writes them back only when they succeed, stripped of volatile metadata
  (papermill's timestamps and durations), so diffs stay reviewable.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from mlsys_kit.claims import Claim, claims_from_outputs
from mlsys_kit.kit.catalog import Notebook
from mlsys_kit.notebook import RUN_DIR_ENV

__all__ = ["RunResult", "run", "run_one", "refresh", "strip_volatile_metadata", "new_run_dir"]


@dataclass
class RunResult:
    """What one notebook run produced."""

    notebook_id: str
    name: str
    output: Path
    seconds: float
    claims: list[Claim] = field(default_factory=list)
    error: str | None = None

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
            "output": str(self.output),
            "seconds": round(self.seconds, 2),
            "status": self.status,
            "error": self.error,
            "claims": [c.to_dict() for c in self.claims],
        }


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


def run_one(
    notebook_path: Path,
    output_path: Path,
    parameters: dict[str, Any] | None = None,
    *,
    notebook_id: str = "",
    name: str = "",
    kernel_name: str | None = None,
) -> RunResult:
    """Execute one notebook with papermill and read back its claims.

    Parameters
    ----------
    notebook_path : Path
        The notebook to run.
    output_path : Path
        Where the executed notebook is written (also on failure: papermill saves
        it after every cell). Files the notebook writes through
        :func:`mlsys_kit.output_dir` go to a folder beside it.
    parameters : dict, optional
        Values injected after the ``parameters`` cell.
    notebook_id, name : str
        Labels for the result.
    kernel_name : str, optional
        Jupyter kernel; by default the notebook's own (``python3``), which runs in
        the current Python environment.

    Returns
    -------
    RunResult
        Never raises for a failing notebook: the error is in ``result.error``.
    """
    import papermill

    output_path.parent.mkdir(parents=True, exist_ok=True)
    artifacts = output_path.with_suffix("")
    artifacts.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(artifacts.resolve())
    start = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(notebook_path),
            str(output_path),
            parameters=parameters or {},
            kernel_name=kernel_name,
            cwd=str(artifacts),
            progress_bar=False,
            # ipykernel warns on every start that local TCP is unencrypted; keep runs quiet.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except Exception as exc:  # a failing notebook is a result, not a crash
        error = _error_summary(exc)
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous
    seconds = time.perf_counter() - start
    if not any(artifacts.iterdir()):
        artifacts.rmdir()
    claims = _read_claims(output_path)
    return RunResult(notebook_id, name, output_path, seconds, claims, error)


def _read_claims(path: Path) -> list[Claim]:
    try:
        with path.open(encoding="utf-8") as handle:
            return claims_from_outputs(json.load(handle).get("cells", []))
    except (OSError, ValueError):
        return []


def _run_job(job: tuple[Path, Path, dict[str, Any], str, str]) -> RunResult:
    source, output, parameters, notebook_id, name = job
    try:
        return run_one(source, output, parameters, notebook_id=notebook_id, name=name)
    except Exception:  # pragma: no cover - keep other notebooks' results
        return RunResult(notebook_id, name, output, 0.0, error=traceback.format_exc(limit=3))


def run(
    notebooks: Iterable[Notebook],
    out_dir: Path,
    parameters: dict[str, dict[str, Any]] | None = None,
    *,
    jobs: int = 1,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Execute notebooks into ``out_dir/<chapter>/<notebook>.ipynb``.

    Parameters
    ----------
    notebooks : iterable of Notebook
        What to run.
    out_dir : Path
        The run folder (see :func:`new_run_dir`).
    parameters : dict, optional
        Per-notebook parameter values, keyed by notebook id ``"NN/MM"``.
    jobs : int, default 1
        Notebooks executed at once, each in its own process.
    on_result : callable, optional
        Called with each result as soon as it is known (for progress bars).

    Returns
    -------
    list of RunResult
        In the order of ``notebooks``. Each result is also appended to
        ``out_dir/results.jsonl`` as soon as it is known.
    """
    notebooks = list(notebooks)
    parameters = parameters or {}
    _warm_caches()
    jobs_list = [
        (
            nb.path,
            out_dir / nb.chapter_slug / nb.path.name,
            parameters.get(nb.id, {}),
            nb.id,
            nb.name,
        )
        for nb in notebooks
    ]
    results: dict[str, RunResult] = {}
    log = out_dir / "results.jsonl"

    def record(result: RunResult) -> None:
        results[result.notebook_id] = result
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        if on_result:
            on_result(result)

    if jobs <= 1:
        for job in jobs_list:
            record(_run_job(job))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_run_job, job) for job in jobs_list]
            for future in as_completed(futures):
                record(future.result())
    return [results[nb.id] for nb in notebooks]


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
