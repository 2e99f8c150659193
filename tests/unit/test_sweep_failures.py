"""Sweeps that fail, hang or are stopped: errors recorded, timeouts, SIGKILL and SIGTERM.

Apart from tests/unit/test_sweep.py so that pytest-xdist (``--dist=loadfile``) runs these
slow, process-heavy tests beside the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlsys_kit.kit.runner import load_results
from mlsys_kit.kit.sweep import grid_specs, sweep


def test_a_crashing_and_a_hanging_run_are_recorded_and_never_stop_the_others(swept) -> None:
    out = Path("sw")
    specs = grid_specs(swept, {"mode": ["crash", "slow", "fast"]})
    start = time.perf_counter()
    results = sweep(specs, out, timeout=8)
    assert time.perf_counter() - start < 50, "the hanging run was stopped"
    crash, slow, fast = results
    assert crash.status == "error" and "RuntimeError" in crash.error and "crashes" in crash.error
    assert slow.status == "error" and slow.error.startswith("Timeout: the run took longer than 8")
    assert fast.ok
    rerun = []
    # Only which runs start again is checked here, so the hanging one may be stopped sooner.
    sweep(specs, out, retry_errors=True, on_start=lambda todo, done: rerun.append(todo), timeout=2)
    assert rerun == [2], "--retry-errors re-runs the errors, not the finished run"


def test_a_killed_sweep_resumes_and_loses_nothing_finished(swept, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "mlsys_kit.kit.cli",
        "sweep",
        "03/01",
        "--grid",
        "n=3,4,5,6",
        "--out",
        str(out),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    log = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while not (log.exists() and log.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {json.loads(line)["label"] for line in log.read_text().splitlines()}
    assert 1 <= len(finished) < 4, "killed after the first run finished, before the last"
    specs = grid_specs(swept, {"n": [3, 4, 5, 6]})
    todo = []
    results = sweep(specs, out, on_start=lambda t, d: todo.append(t))
    assert todo == [4 - len(finished)]
    assert all(r.ok for r in results)
    labels = [r.label for r in load_results(out)]
    assert sorted(labels) == sorted(s.label for s in specs), "each run recorded exactly once"


def test_a_terminated_sweep_stops_its_runs_in_flight_and_keeps_what_finished(
    swept, tmp_path: Path
) -> None:
    import psutil

    out = tmp_path / "terminated"
    command = [sys.executable, "-m", "mlsys_kit.kit.cli", "sweep", "03/01"]
    command += ["--grid", "n=3,4,5,6,7,8", "--jobs", "2", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while not (log.exists() and log.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.2)
    children = psutil.Process(process.pid).children(recursive=True)
    process.terminate()
    assert process.wait(timeout=60) == 130, "SIGTERM stops a sweep as Ctrl-C does"
    gone, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"runs still going after the sweep stopped: {alive}"
    finished = [json.loads(line) for line in log.read_text().splitlines()]
    assert 1 <= len(finished) < 6
