"""Sweeps on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes.

Apart from tests/unit/test_sweep.py so that pytest-xdist (``--dist=loadfile``) runs the cluster
beside the other tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlsys_kit.kit.sweep import grid_specs, sweep
from mlsys_kit.params import ParameterError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path: Path):
    """A real ``dask scheduler`` and two ``dask worker`` processes on loopback."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    logs = (tmp_path / "dask.log").open("w")
    scheduler = subprocess.Popen(
        [
            bin_dir / "dask",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        stdout=logs,
        stderr=logs,
        cwd=tmp_path,
        start_new_session=True,
    )
    workers = subprocess.Popen(
        [
            bin_dir / "dask",
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
        ],
        stdout=logs,
        stderr=logs,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=30)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in (workers, scheduler):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (workers, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        logs.close()


def test_a_sweep_runs_unchanged_on_a_dask_cluster(swept, dask_cluster: str) -> None:
    out = Path("on-dask")
    specs = grid_specs(swept, {"n": [1, 4]}, seeds=[0, 1])
    results = sweep(specs, out, scheduler=dask_cluster)
    assert [r.status for r in results] == ["claim failed", "claim failed", "ok", "ok"]
    for result in results:
        assert result.output.exists(), "the worker sent the executed notebook back"
    local = sweep(specs, Path("local"))
    assert [r.claims for r in results] == [r.claims for r in local], "same results as locally"
    todo = []
    sweep(specs, out, scheduler=dask_cluster, on_start=lambda t, d: todo.append(t))
    assert todo == [0], "a Dask sweep resumes like a local one"


def test_an_unreachable_scheduler_is_a_clear_error(swept) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ParameterError, match="no Dask scheduler answers at"):
        sweep(grid_specs(swept, {"n": [3]}), Path("x"), scheduler=address)
