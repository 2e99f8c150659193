"""The test suite's forked kernels: each is a process of its own, launched as asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jupyter_client.manager import KernelManager

from mlsys_kit.kit import kernels

pytestmark = pytest.mark.skipif(
    not kernels.fork_kernels_enabled(), reason="kernels are forked on Linux only"
)

PROBE = (
    "import json, os, sys\n"
    "print(json.dumps({'pid': os.getpid(), 'ppid': os.getppid(), 'cwd': os.getcwd(),"
    " 'probe': os.environ.get('PROBE'), 'preloaded': 'sklearn.ensemble' in sys.modules,"
    " 'kmp': os.environ.get('KMP_INIT_AT_FORK'),"
    " 'selection': [os.environ.get(n) for n in ('JUPYTER_DEFAULT_PROVISIONER_NAME',"
    " 'MLSYS_KIT_FORK_SERVER')]}))"
)


def _run(km: KernelManager, code: str, timeout: float = 30) -> tuple[str, dict]:
    """The stdout of ``code`` in the kernel, and its execute reply."""
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
        out: list[str] = []
        reply = client.execute_interactive(
            code,
            timeout=timeout,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")),
        )
        return "".join(out), reply["content"]
    finally:
        client.stop_channels()


@pytest.fixture
def forked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A kernel started through ForkProvisioner, in ``tmp_path``, with ``PROBE=here``."""
    monkeypatch.setenv(kernels.PROVISIONER_ENV, kernels.PROVISIONER_NAME)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "PROBE": "here"})
    yield km
    km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_a_forked_kernel_is_a_process_of_its_own_launched_as_asked(forked, tmp_path: Path):
    assert isinstance(forked.provisioner, kernels.ForkProvisioner)
    seen = json.loads(_run(forked, PROBE)[0])
    assert seen["pid"] == forked.provisioner.pid != os.getpid()
    assert seen["ppid"] != os.getpid(), "the fork server, not this process, is its parent"
    assert seen["preloaded"], "the server's imports are in the kernel already"
    assert Path(seen["cwd"]) == tmp_path
    assert seen["probe"] == "here"
    assert seen["kmp"] == "FALSE", "what importing scikit-learn sets, as in a new kernel"
    assert seen["selection"] == [None, None], "the kernel's own kernels start as a reader's"


@pytest.mark.slow
def test_a_forked_kernel_can_be_interrupted_and_killed(forked):
    started = time.monotonic()
    client = forked.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        client.execute("import time; time.sleep(60)")
        time.sleep(1)
        forked.interrupt_kernel()
        reply = client.get_shell_msg(timeout=20)
    finally:
        client.stop_channels()
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 30
    forked.shutdown_kernel(now=True)
    assert not forked.is_alive()
    assert not psutil.pid_exists(forked.provisioner.pid or 0) or (
        psutil.Process(forked.provisioner.pid).status() == psutil.STATUS_ZOMBIE
    )


def test_only_the_same_kernel_with_the_same_import_time_settings_is_forked(
    monkeypatch: pytest.MonkeyPatch,
):
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "kernel.json"]
    assert kernels._forkable(cmd)
    assert not kernels._forkable(["/usr/bin/R", "--slave"])
    server = {"PATH": "/bin"}
    asked = {"python": sys.executable, "argv": cmd[2:], "env": {"PATH": "/usr/bin"}, "cwd": "."}
    assert kernels._refusal(asked, server) is None
    refused = kernels._refusal({**asked, "env": {"MPLBACKEND": "Agg"}}, server)
    assert refused == "MPLBACKEND='Agg'; the server imported with None"
    assert kernels._refusal({**asked, "python": "/other/python"}, server)
    monkeypatch.setenv(kernels.ENABLE_ENV, "0")
    assert not kernels._forkable(cmd)


@pytest.mark.slow
def test_a_kernel_asked_with_other_import_time_settings_is_a_new_process(
    forked, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(kernels.PROVISIONER_ENV, kernels.PROVISIONER_NAME)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "MPLBACKEND": "Agg"})
    try:
        seen = json.loads(_run(km, PROBE)[0])
    finally:
        km.shutdown_kernel(now=True)
    assert seen["ppid"] == os.getpid(), "launched by this process, as without the provisioner"
    assert seen["preloaded"] is False


def test_an_ended_process_reads_as_ended():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = kernels.ForkedProcess(child.pid)
    child.wait()
    assert process.wait(timeout=5) == 0
    assert process.poll() == 0
    process.kill()  # nothing to kill: no error


@pytest.mark.slow
def test_the_server_and_its_kernels_end_with_the_process_that_started_it(tmp_path: Path):
    script = (
        "import json, os\n"
        "from mlsys_kit.kit import kernels\n"
        "address = kernels._server_address()\n"
        "print(json.dumps({'server': kernels._server.pid, 'address': address}), flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != kernels.SERVER_ENV}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    server = json.loads(out.stdout)["server"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(server):
        time.sleep(0.1)
    assert not _running(server)
    assert not Path(json.loads(out.stdout)["address"]).exists()


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
