"""``mlsys-kit serve``: a refused artifact is one line and exit 2; Ctrl-C stops the server."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlsys_kit.deployment.artifacts import save_artifact
from mlsys_kit.kit.cli import main


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "model.skops"
    model = LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0], [0.1, 0.8]], [0, 1, 0])
    save_artifact(model, path, features={"amount": "float", "age": "float"})
    return path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.skops"], "mlsys-kit serve: error: load_artifact: no artifact file at missing"),
        (["{tree}"], "holds types that are not trusted: 'sklearn.tree._tree.Tree'"),
        (["{tree}"], "pass them in trusted= (mlsys-kit serve: --trust TYPE)"),
        (["{model}", "--sha256", "0" * 64], "is not the artifact you pinned"),
        (["{model}", "--port", "70000"], "port=70000 is out of range: allowed 0 ≤ port ≤ 65,535"),
        (["{model}", "--max-rows", "0"], "max_rows=0 is out of range"),
    ],
)
def test_serve_refuses_with_one_line_and_status_2(
    artifact: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments, message
) -> None:
    tree = tmp_path / "tree.skops"
    save_artifact(DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1]), tree)
    filled = [a.format(model=artifact, tree=tree) for a in arguments]
    assert main(["serve", *filled]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_serve_trusts_the_types_it_is_told_to(tmp_path: Path, capsys) -> None:
    tree = tmp_path / "tree.skops"
    save_artifact(DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1]), tree)
    # trusted, the artifact loads, and the next refusal is the port's (taken: nothing starts)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", str(tree), "--trust", "sklearn.tree._tree.Tree", "--port", port]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_runs_in_the_foreground_until_ctrl_c(artifact: Path) -> None:
    command = [sys.executable, "-m", "mlsys_kit.kit.cli", "serve", str(artifact), "--port", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    ) as process:
        # a thread reads the output: select() on the pipe misses lines already buffered
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(line) for line in iter(process.stdout.readline, "")]
        )
        reader.start()
        try:
            url = _announced_url(lines, process, timeout=60)
            health = httpx.get(f"{url}/health").json()
            assert health["features"] == {"amount": "float", "age": "float"}
            answer = httpx.post(f"{url}/predict", json={"amount": 0.0, "age": 1.0})
            assert answer.status_code == 200
            assert len(answer.json()["probabilities"]) == 2
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(timeout=10)
        err = process.stderr.read()
    assert process.returncode == 0, err
    assert "mlsys-kit serve: stopped" in err
    assert "Traceback" not in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")


def _announced_url(lines: queue.Queue[str], process: subprocess.Popen, timeout: float) -> str:
    """The URL in the ``at http://...`` line the command prints when it is ready."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.match(r"at (http://127\.0\.0\.1:\d+)", line)
        if found:
            _wait_for_health(found.group(1), deadline)
            return found.group(1)
    raise AssertionError(f"mlsys-kit serve did not announce its URL: {''.join(seen)!r}")


def _wait_for_health(url: str, deadline: float) -> None:
    """The announcement comes just before uvicorn starts accepting: wait for it."""
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health")
            return
        except httpx.ConnectError:
            time.sleep(0.05)
