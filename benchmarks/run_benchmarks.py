"""Time the kit against its budgets and write a table.

Budgets (on a 2-core laptop-class machine; see the foundation issue):

* each notebook end to end, kernel start included: ≤ 30 s at its default
  parameters, ≤ 15 s at each of its test parameter sets, and ≤ 20 s for all of its test
  executions together (nbval's run at the defaults plus every set), so that the suite stays
  within 10 minutes on 2 cores at about 45 notebooks. The defaults run as a reader runs
  them, in a new kernel; the test executions run as the suite makes them: in kernels forked
  from a warm process (``mlsys_kit.kit.kernels``), the defaults with figures drawn, the sets
  with figures as text and the kernel killed after the last cell;
* ``import mlsys_kit``: ≤ 0.5 s over a bare interpreter;
* the marketplace simulator: 1,000,000 transactions in ≤ 2 s;
* ``detect_drift``: a reference and a current window of 1,000,000 rows × 20 numeric
  columns each in ≤ 2 s;
* ``reservoir_sample``: ≥ 5 million items/s from a plain Python iterator with ``k = 1,000``
  (reported as seconds per 5,000,000 items, so the budget is ≤ 1 s), next to the per-item
  Algorithm R for comparison;
* the whole test suite (``--suite``): ≤ 10 minutes;
* ``mlsys-kit run --all --jobs 2`` (``--run-all``): ≤ 4 minutes;
* sweeps on Dask (``--dask``): a 16-run sweep on two worker processes takes ≤ 0.6× the time
  it takes on one (a real ``dask scheduler`` and ``dask worker`` on loopback).

Timings are wall-clock and best-of-N where repeating is cheap. Usage::

    python benchmarks/run_benchmarks.py                 # everything but the suite
    python benchmarks/run_benchmarks.py --only 01/01    # some notebooks
    python benchmarks/run_benchmarks.py --suite         # also time `pytest`
    python benchmarks/run_benchmarks.py --no-notebooks --suite-log ci.log   # read a CI run
    python benchmarks/run_benchmarks.py --no-notebooks --run-all --dask   # the engines

Prints the table; a run of every notebook (no ``--only``) also writes it to
``benchmarks/results/benchmarks.md``, the committed results, and ``--out FILE`` writes it
anywhere (a run on some notebooks never overwrites the committed results by itself). Exits 1
when a budget is exceeded. Timed tests would be flaky; this script is where budgets are checked.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "benchmarks.md"
NOTEBOOK_DEFAULT_BUDGET = 30.0
NOTEBOOK_TEST_BUDGET = 15.0
NOTEBOOK_ALL_TESTS_BUDGET = 20.0  # defaults (nbval) + every test set, per notebook
IMPORT_BUDGET = 0.5
SIMULATOR_BUDGET = 2.0
DETECT_DRIFT_BUDGET = 2.0
RESERVOIR_ITEMS = 5_000_000
RESERVOIR_BUDGET = 1.0  # seconds for RESERVOIR_ITEMS items: at least 5 million items/s
SUITE_BUDGET = 600.0
RUN_ALL_BUDGET = 240.0
DASK_SCALING_BUDGET = 0.6  # two workers' time over one worker's, for a 16-run sweep
DASK_SWEEP = ("03/03", 16)  # a notebook of a few seconds at its first test set, and runs


@dataclass
class Row:
    what: str
    seconds: float
    budget: float | None  # None: shown for context, no budget

    @property
    def ok(self) -> bool:
        return self.budget is None or self.seconds <= self.budget

    def markdown(self) -> str:
        if self.budget is None:
            return f"| {self.what} | {self.seconds:.2f} | — | |"
        mark = "✔" if self.ok else "✘ over budget"
        return f"| {self.what} | {self.seconds:.2f} | {self.budget:.1f} | {mark} |"


def _best_wall(cmd: list[str], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return best


def bench_import() -> Row:
    bare = _best_wall([sys.executable, "-c", "pass"])
    kit = _best_wall([sys.executable, "-c", "import mlsys_kit"])
    return Row("import mlsys_kit (over a bare interpreter)", kit - bare, IMPORT_BUDGET)


def bench_simulator() -> Row:
    code = (
        "import time\nfrom mlsys_kit.sim import simulate\n"
        "simulate(n_transactions=10_000)\nbest = float('inf')\n"
        "for _ in range(3):\n    t = time.perf_counter()\n"
        "    simulate(n_transactions=1_000_000, n_users=50_000)\n"
        "    best = min(best, time.perf_counter() - t)\nprint(best)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return Row("sim: 1,000,000 transactions", float(out.stdout.strip()), SIMULATOR_BUDGET)


def bench_detect_drift() -> Row:
    code = (
        "import time\nimport numpy as np, pandas as pd\n"
        "from mlsys_kit.monitoring.drift import detect_drift\n"
        "rng = np.random.default_rng(0)\ncols = [f'x{i}' for i in range(20)]\n"
        "ref = pd.DataFrame(rng.normal(size=(1_000_000, 20)), columns=cols)\n"
        "cur = pd.DataFrame(rng.normal(0.05, 1, size=(1_000_000, 20)), columns=cols)\n"
        "detect_drift(ref.head(1_000), cur.head(1_000))\nbest = float('inf')\n"
        "for _ in range(3):\n    t = time.perf_counter()\n    detect_drift(ref, cur)\n"
        "    best = min(best, time.perf_counter() - t)\nprint(best)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    seconds = float(out.stdout.strip())
    return Row("detect_drift: 1,000,000 rows × 20 columns", seconds, DETECT_DRIFT_BUDGET)


def bench_reservoir() -> list[Row]:
    code = (
        "import time\n"
        "from mlsys_kit.training_data.sampling import reservoir_sample, reservoir_sample_per_item\n"
        f"n = {RESERVOIR_ITEMS}\n"
        "for sampler in (reservoir_sample, reservoir_sample_per_item):\n"
        "    best = float('inf')\n"
        "    for seed in range(3):\n"
        "        items = iter(range(n))\n        t = time.perf_counter()\n"
        "        sampler(items, 1_000, seed=seed)\n"
        "        best = min(best, time.perf_counter() - t)\n"
        "    print(best)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    skip, per_item = (float(line) for line in out.stdout.split())
    what = f"reservoir_sample: {RESERVOIR_ITEMS:,} items, k = 1,000"
    return [
        Row(f"{what} ({RESERVOIR_ITEMS / skip / 1e6:.0f} M items/s)", skip, RESERVOIR_BUDGET),
        Row(
            f"for comparison, per-item Algorithm R ({RESERVOIR_ITEMS / per_item / 1e6:.1f} M "
            "items/s)",
            per_item,
            None,
        ),
    ]


def bench_notebooks(only: list[str]) -> list[Row]:
    """Each notebook as a reader runs it (defaults, a new kernel), then as the suite runs it.

    The suite's executions (nbval's at the defaults, then every test set) run in kernels forked
    from a warm process, as in ``pytest`` (``conftest.py``, :mod:`mlsys_kit.kit.kernels`); their
    sum is the notebook's test time.
    """
    from mlsys_kit.kit.catalog import discover
    from mlsys_kit.kit.kernels import use_forked_kernels

    forked = use_forked_kernels()
    sets = tomllib.loads((ROOT / "tests" / "notebook_parameters.toml").read_text("utf-8"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for nb in discover(ROOT / "notebooks"):
            if only and nb.id not in only:
                continue
            rows.append(_timed(nb, "defaults", {}, NOTEBOOK_DEFAULT_BUDGET, Path(tmp), fork=False))
            suite = [("defaults as nbval runs them", {}, None)] + [
                (
                    f"test set {i}{' (edge)' if 'edge' in params else ''}",
                    params,
                    NOTEBOOK_TEST_BUDGET,
                )
                for i, params in enumerate(sets.get(nb.id, []), start=1)
            ]
            total = 0.0
            for label, params, budget in suite:
                row = _timed(nb, label, params, budget, Path(tmp), fork=forked)
                total += row.seconds
                if budget is not None:
                    rows.append(row)
            kernels = "forked kernels" if forked else "new kernels"
            label = f"{nb.id}, all test executions ({kernels})"
            rows.append(Row(label, total, NOTEBOOK_ALL_TESTS_BUDGET))
            print(rows[-1].markdown(), flush=True)
    return rows


def _timed(
    nb: Any, label: str, params: dict, budget: float | None, tmp: Path, *, fork: bool
) -> Row:
    """One run of ``nb``, in a forked kernel or a new one."""
    from mlsys_kit.kit.kernels import ENABLE_ENV
    from mlsys_kit.kit.runner import run_one

    out = tmp / f"{nb.path.stem}-{time.monotonic_ns()}.ipynb"
    previous = os.environ.get(ENABLE_ENV)
    os.environ[ENABLE_ENV] = "1" if fork else "0"
    try:
        result = run_one(nb.path, out, **_as_the_suite_runs(params), notebook_id=nb.id)
    finally:
        if previous is None:
            os.environ.pop(ENABLE_ENV)
        else:
            os.environ[ENABLE_ENV] = previous
    if not result.ok and "edge" not in label:
        print(f"{nb.id} {label} failed: {result.error}", file=sys.stderr)
    row = Row(f"{nb.id} {nb.path.stem}, {label}", result.seconds, budget or float("inf"))
    if budget is not None:
        print(row.markdown(), flush=True)
    return row


def _as_the_suite_runs(params: dict) -> dict:
    """``run_one``'s arguments for one run, as the test suite makes it (``conftest.py``).

    The defaults run as nbval runs them, figures drawn. A test set runs as its papermill item
    does: its markers (``edge``, ``by_chance``) are not parameters, figures are shown as text
    and the kernel is killed after the last cell.
    """
    from mlsys_kit.kit.reliability import EDGE_KEYS

    if not params:
        return {"parameters": {}}
    values = {name: value for name, value in params.items() if name not in EDGE_KEYS}
    return {"parameters": values, "draw_figures": False, "kill_kernel": True}


def bench_suite(log: Path | None = None) -> list[Row]:
    """The whole suite's wall time, and each notebook's test time within it.

    pytest's ``--durations=0`` gives every item's time (nbval's cells and the papermill
    sets); summed per notebook, they are its share of the suite, measured where the
    suite really runs them (two workers side by side). With ``log``, read the output of
    a run made elsewhere (e.g. CI's, with ``PYTEST_ADDOPTS=--durations=0``) instead.
    """
    if log is None:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "--durations=0"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        seconds, output = time.perf_counter() - start, done.stdout
        what = "whole test suite (pytest)"
    else:
        output = log.read_text(encoding="utf-8", errors="replace")
        finished = re.findall(r" in ([0-9.]+)s(?: \(|\b)", output)
        seconds = float(finished[-1]) if finished else float("nan")
        what = f"whole test suite (pytest, as reported in {log.name})"
    print(output[-2000:], file=sys.stderr)
    per_file = _seconds_per_file(output)
    rows = [Row(what, seconds, SUITE_BUDGET)]
    for path, total in sorted(per_file.items()):
        if path.startswith(("notebooks/", "templates/")):
            rows.append(
                Row(f"{path}: all its tests, in the suite", total, NOTEBOOK_ALL_TESTS_BUDGET)
            )
    unit = sum(t for p, t in per_file.items() if not p.startswith(("notebooks/", "templates/")))
    rows.append(Row("everything else (unit tests, doctests, hygiene), summed", unit, None))
    return rows


def _seconds_per_file(durations: str) -> dict[str, float]:
    """Sum ``--durations=0`` lines (``1.23s call path::item``) by the file they test."""
    totals: dict[str, float] = {}
    for line in durations.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0].endswith("s") and parts[1] in ("setup", "call", "teardown"):
            try:
                seconds = float(parts[0][:-1])
            except ValueError:
                continue
            path = parts[2].split("::", 1)[0]
            totals[path] = totals.get(path, 0.0) + seconds
    return totals


def bench_run_all() -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "mlsys_kit.kit.cli", "run", "--all", "--jobs", "2"]
        subprocess.run([*cmd, "--out", f"{tmp}/run"], check=False, cwd=ROOT)
        seconds = time.perf_counter() - start
    return Row("mlsys-kit run --all --jobs 2", seconds, RUN_ALL_BUDGET)


def _dask_sweep_seconds(n_workers: int, tmp: Path) -> float:
    """Wall time of a 16-run sweep on a real local cluster of ``n_workers`` worker processes."""
    import socket

    from distributed import Client

    from mlsys_kit.kit.catalog import find
    from mlsys_kit.kit.reliability import load_test_sizes
    from mlsys_kit.kit.sweep import grid_specs, sweep

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = Path(sys.executable).parent / "dask"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    workers = subprocess.Popen(
        [dask, "worker", address, "--nworkers", str(n_workers), "--nthreads", "1"]
        + ["--no-dashboard"],
        **quiet,
    )
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(n_workers, timeout=60)
        notebook_id, n_runs = DASK_SWEEP
        nb = find(notebook_id)
        sizes = load_test_sizes(ROOT / "tests" / "notebook_parameters.toml").get(notebook_id, {})
        specs = grid_specs(nb, {}, seeds=range(n_runs), fixed=sizes)
        start = time.perf_counter()
        sweep(specs, tmp / f"sweep-{n_workers}", scheduler=address)
        return time.perf_counter() - start
    finally:
        for process in (workers, scheduler):
            process.terminate()
            process.wait(timeout=30)


def bench_dask_scaling() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        one = _dask_sweep_seconds(1, Path(tmp))
        two = _dask_sweep_seconds(2, Path(tmp))
    n_runs = DASK_SWEEP[1]
    return [
        Row(f"dask: {n_runs}-run sweep of {DASK_SWEEP[0]}, 1 worker", one, None),
        Row(
            f"dask: the same sweep, 2 workers ({two / one:.2f}× the time of 1; budget 0.6×)",
            two,
            DASK_SCALING_BUDGET * one,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], metavar="NN/MM", help="notebooks")
    parser.add_argument("--suite", action="store_true", help="also time the whole test suite")
    parser.add_argument(
        "--suite-log",
        type=Path,
        metavar="FILE",
        help="read a pytest --durations=0 output instead of running the suite",
    )
    parser.add_argument("--no-notebooks", action="store_true", help="skip the notebooks")
    parser.add_argument("--run-all", action="store_true", help="time mlsys-kit run --all --jobs 2")
    parser.add_argument("--dask", action="store_true", help="time a sweep on 1 and 2 Dask workers")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the table here (default: benchmarks/results/benchmarks.md, unless --only)",
    )
    args = parser.parse_args()

    rows = [bench_import(), bench_simulator(), bench_detect_drift(), *bench_reservoir()]
    if not args.no_notebooks:
        rows += bench_notebooks(args.only)
    if args.run_all:
        rows.append(bench_run_all())
    if args.dask:
        rows += bench_dask_scaling()
    if args.suite or args.suite_log:
        rows += bench_suite(args.suite_log)
    table = "\n".join(
        [
            "# Benchmarks",
            "",
            f"Machine: {_machine()}. Wall-clock seconds; budgets from the foundation issue.",
            "",
            "| what | seconds | budget | |",
            "|---|---:|---:|---|",
            *(row.markdown() for row in rows),
            "",
        ]
    )
    print("\n" + table)
    out = args.out or (None if args.only else RESULTS)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table, encoding="utf-8")
    over = [row for row in rows if not row.ok]
    where = f"table written to {out}" if out is not None else "table not written (--out FILE)"
    print(f"{len(over)} over budget; {where}")
    return 1 if over else 0


def _machine() -> str:
    import os
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


if __name__ == "__main__":
    sys.exit(main())
