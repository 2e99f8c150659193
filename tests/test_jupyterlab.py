"""JupyterLab, for real: open a notebook in headless Chromium and run it through the UI.

The test starts JupyterLab as README's "Read the notebooks in JupyterLab" says
(``jupyter lab --ip=127.0.0.1 notebooks/``), plus what a test needs: no browser of its own, a
token of its own, a free port (``--port 0``, read back from the log, which masks the token),
and as root ``--allow-root``. Its settings, workspaces and runtime files go to a temporary
folder, with the news popup and the update check turned off (they would fetch from the
network). It opens a short chapter notebook (a copy, so that nothing is saved into the
clone), runs every cell from the Run menu, waits until the kernel is idle with every cell
executed, and checks that no cell shows a traceback and that every claim of the notebook
rendered its ✔ line.

``slow``; skipped, saying how to install it, without Debian's chromium.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import launch_chromium

from mlsys_kit.kit.catalog import find

#: README's command, run by the test with the options a test needs after it.
README_COMMAND = ["jupyter", "lab", "--ip=127.0.0.1"]

NOTEBOOK = "01/02"  # short: about ten seconds of cells
_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/")

#: JupyterLab settings that would reach for the network on a first start.
_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _write_settings(folder: Path) -> None:
    for name, values in _SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_for_port(process: subprocess.Popen, log: list[str], timeout: float) -> int:
    """The port JupyterLab announces on its log (stderr), read by a thread."""
    found = threading.Event()
    port: list[int] = []

    def read() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            log.append(line)
            if not port and (match := _URL.search(line)):
                port.append(int(match[1]))
                found.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not found.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("JupyterLab did not start:\n" + "".join(log[-30:]))
    return port[0]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A JupyterLab server on loopback over a copy of one notebook: (base URL, token, notebook)."""
    home = tmp_path_factory.mktemp("jupyterlab")
    notebook = find(NOTEBOOK)
    work = home / "notebooks" / notebook.chapter_slug
    work.mkdir(parents=True)
    shutil.copy(notebook.path, work / notebook.path.name)
    settings = home / "settings"
    _write_settings(settings)
    token = secrets.token_hex(16)
    env = os.environ | {
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "MLSYS_KIT_FORK_KERNELS": "0",  # a reader's kernels are new processes, not forks
    }
    # README_COMMAND through this interpreter: ``python -m jupyterlab`` is ``jupyter lab``.
    command = [sys.executable, "-m", "jupyterlab", *README_COMMAND[2:], str(home / "notebooks")]
    command += ["--no-browser", "--port=0", f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=home,
    )
    log: list[str] = []
    try:
        port = _wait_for_port(process, log, timeout=120)
        yield f"http://127.0.0.1:{port}", token, Path(notebook.chapter_slug) / notebook.path.name
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


def _wait_for_kernel_idle(base: str, token: str, notebook: Path, timeout: float = 120) -> None:
    """Until the server reports the notebook's kernel started and idle (the UI may say idle
    before its kernel is connected, and a Run All then runs nothing)."""
    deadline = time.monotonic() + timeout
    state = "no session"
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"{base}/api/sessions", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            sessions = json.load(response)
        for session in sessions:
            if session.get("path", "").endswith(notebook.name):
                state = (session.get("kernel") or {}).get("execution_state", "no kernel")
                if state == "idle":
                    return
        time.sleep(0.5)
    pytest.fail(f"the kernel of {notebook} did not become idle in {timeout:.0f} s: {state}")


def _menu(page, menu: str, item: str) -> None:
    """Click ``item`` in the menu bar's ``menu``."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(f"^{item}")).first.click()


# textContent, not innerText: JupyterLab skips rendering the cells out of view.
_PROMPTS = """() => Array.from(document.querySelectorAll(".jp-CodeCell .jp-InputPrompt"),
                                p => p.textContent.trim())"""
_OUTPUTS = """() => Array.from(document.querySelectorAll(".jp-OutputArea-output"),
                                o => o.textContent)"""
_STDERR = """() => Array.from(
    document.querySelectorAll(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"),
    o => o.textContent)"""
_CLEARED = """() => document.querySelectorAll(".jp-OutputArea-output").length === 0"""

_ALL_EXECUTED = """() => {
    const status = document.querySelector(".jp-Notebook-ExecutionIndicator")?.dataset.status;
    const prompts = Array.from(document.querySelectorAll(".jp-CodeCell .jp-InputPrompt"),
                               p => p.textContent.trim());
    const failed = document.querySelector(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']");
    const done = prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:?$/.test(p));
    return status === "idle" && !prompts.some(p => p.includes("*")) && (done || failed !== null);
}"""


@pytest.mark.slow
def test_a_notebook_runs_all_its_cells_in_jupyterlab(jupyterlab, browser):
    base, token, notebook = jupyterlab
    claims = find(NOTEBOOK).claims
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{base}/lab/tree/{notebook.as_posix()}?token={token}", timeout=120_000)
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
        _wait_for_kernel_idle(base, token, notebook)
        idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
        page.locator(idle).first.wait_for(state="attached", timeout=120_000)

        # The copy holds the committed outputs: clear them, so that only this run's count.
        _menu(page, "Edit", "Clear Outputs of All Cells")
        page.wait_for_function(_CLEARED, timeout=60_000, polling=200)
        _menu(page, "Run", "Run All Cells")
        page.wait_for_function(_ALL_EXECUTED, timeout=180_000, polling=500)

        shown = page.evaluate(_STDERR)
        assert not [text for text in shown if "Traceback" in text or "Error" in text], shown
        prompts = page.evaluate(_PROMPTS)
        assert all(re.fullmatch(r"\[\d+\]:?", p) for p in prompts), prompts

        outputs = page.evaluate(_OUTPUTS)
        held = [line for text in outputs for line in text.splitlines() if line.startswith("✔")]
        failed = [line for text in outputs for line in text.splitlines() if line.startswith("✘")]
        assert not failed, failed
        for claim in claims:
            assert any(claim.statement in line for line in held), claim.statement
        assert not errors, errors
    finally:
        context.close()


def test_the_readme_shows_the_command_this_test_runs():
    readme = Path(__file__).parents[1] / "README.md"
    assert f".venv/bin/{' '.join(README_COMMAND)} notebooks/" in readme.read_text(encoding="utf-8")
