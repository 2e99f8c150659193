"""Notebook kernels forked from a warm process, for the test suite and for sweeps.

The suite executes every notebook four times (nbval at the defaults, three papermill sets),
each in a new kernel. A new kernel is a new Python process that imports IPython, numpy, pandas,
SciPy, scikit-learn and matplotlib before the notebook's first line: about 1.5 s of CPU, the
same 1.5 s every time, nearly half of a small notebook's test time.

A *fork server* pays for those imports once. Each kernel is then a ``fork()`` of it: a new
process with the modules already in memory (shared copy-on-write), which sets the environment,
working directory and arguments it was launched with and starts ``ipykernel`` as
``python -m ipykernel_launcher`` would. Each execution still has a process of its own, killed or
left to exit as before; only the import work is shared.

It plugs into jupyter_client's documented extension point, the *kernel provisioner*
(:class:`ForkProvisioner`, registered as the ``mlsys-kit-fork`` entry point), so papermill and
nbval use it unchanged. ``conftest.py`` selects it for the test suite
(``JUPYTER_DEFAULT_PROVISIONER_NAME``); set ``MLSYS_KIT_FORK_KERNELS=0`` to start every kernel
the usual way. Sweeps and the reliability reports ask for it too, for their local jobs
(:func:`mlsys_kit.kit.runner.run`'s ``fork_kernels``). Readers' kernels (JupyterLab,
``mlsys-kit run``) are never forked, nor are the kernels a kernel starts (10/04 times a notebook
run through papermill: it must pay a real kernel start).

Why hand-written: ipykernel's fork feature (ipykernel#410, #1261) was never merged, and no
maintained package forks kernels for jupyter_client. Linux only: forking a process that has
loaded threaded native libraries is unsafe on macOS. A kernel is forked only when it is the
same Python running ``ipykernel_launcher`` with the same import-time settings (``MPLBACKEND``,
thread counts, ``PYTHONPATH``...) as the server; anything else, or a server that fails to
start, gets the usual new process.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

__all__ = [
    "use_forked_kernels",
    "fork_kernels_enabled",
    "ForkProvisioner",
    "ForkedProcess",
    "PRELOAD",
    "SERVER_ENV",
    "ENABLE_ENV",
]

#: The entry point's name, for ``JUPYTER_DEFAULT_PROVISIONER_NAME``.
PROVISIONER_NAME = "mlsys-kit-fork"
#: jupyter_client's setting for the provisioner of kernel specs that name none.
PROVISIONER_ENV = "JUPYTER_DEFAULT_PROVISIONER_NAME"
#: Set to ``0`` to start every kernel as a new process.
ENABLE_ENV = "MLSYS_KIT_FORK_KERNELS"
#: The server's socket path, inherited by the test process's subprocesses (not by kernels).
SERVER_ENV = "MLSYS_KIT_FORK_SERVER"
#: What the server imports once: the kernel itself, and what at least three notebooks import
#: (libraries that start no thread and set no warning filter when imported). The heavier real
#: components that one or two notebooks import (MLflow, dagster, papermill, shap) are left out on
#: purpose: preloading them saved 3 to 9 s of those notebooks' test time, but every kernel forked
#: from the bigger process then timed 10/04's "setup included, buying pays off" ratio lower: a
#: median of 1.4 over 6 runs (1.6 over 7 with the server's objects frozen by ``gc.freeze``)
#: against 1.9 (threshold 1.3). Kernels that time code must time it as a reader's would.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "numpy",
    "pandas",
    "scipy.stats",
    "matplotlib.pyplot",
    "sklearn.base",
    "sklearn.compose",
    "sklearn.dummy",
    "sklearn.ensemble",
    "sklearn.frozen",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.neighbors",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.tree",
    "mlsys_kit",
    "mlsys_kit.sim",
    "mlsys_kit.stats",
    "mlsys_kit.timing",
)
#: Environment variables read when the preloaded modules are imported: a kernel launched with
#: other values than the server's would not be the kernel it asked for, so it is not forked.
IMPORT_TIME_ENV = (
    "MPLBACKEND",
    "MPLCONFIGDIR",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "PYTHONWARNINGS",
    "PYTHONDONTWRITEBYTECODE",
)
_START_SECONDS = 60.0  # the server imports for about 2 s; allow a loaded machine
_server: subprocess.Popen[bytes] | None = None


def use_forked_kernels() -> bool:
    """Start this process's new kernels (and their children's) as forks; False where they can't be.

    The test suite calls it once (``conftest.py``). It selects :class:`ForkProvisioner` through
    ``JUPYTER_DEFAULT_PROVISIONER_NAME`` unless that is set already, so every kernel manager
    created afterwards (papermill's, nbval's, otter's) uses it.

    Returns
    -------
    bool
        Whether kernels will be forked: on Linux, unless ``MLSYS_KIT_FORK_KERNELS=0``, and
        with the ``mlsys-kit-fork`` entry point installed (``pip install -e .`` registers it).
    """
    from importlib.metadata import entry_points

    group = "jupyter_client.kernel_provisioners"
    if not fork_kernels_enabled() or not entry_points(group=group, name=PROVISIONER_NAME):
        return False
    os.environ.setdefault(PROVISIONER_ENV, PROVISIONER_NAME)
    return os.environ[PROVISIONER_ENV] == PROVISIONER_NAME


def fork_kernels_enabled() -> bool:
    """Whether kernels may be forked here: Linux, ``os.pidfd_open``, and not switched off."""
    return (
        sys.platform == "linux"
        and hasattr(os, "pidfd_open")
        and os.environ.get(ENABLE_ENV, "1") != "0"
    )


class ForkedProcess:
    """A forked kernel, seen through the part of :class:`subprocess.Popen` that jupyter_client uses.

    The server, not this process, is the kernel's parent: its end is watched through a pidfd,
    and its exit status is not known (``returncode`` is 0 once it has ended).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # it has already ended
            self._pidfd, self.returncode = None, 0

    def poll(self) -> int | None:
        if self.returncode is None and self._pidfd is not None:
            readable, _, _ = select.select([self._pidfd], [], [], 0)
            if readable:
                self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and self._pidfd is not None:
            readable, _, _ = select.select([self._pidfd], [], [], timeout)
            if not readable:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            self._ended()
        return 0 if self.returncode is None else self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self) -> None:
        if getattr(self, "_pidfd", None) is not None:
            os.close(self._pidfd)

    def _ended(self) -> None:
        self.returncode = 0
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, launching ``ipykernel`` kernels by fork when it can."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        # The kernel's own kernels (a notebook that runs a notebook, as 10/04 does) start as a
        # reader's would, as new processes: the kernel does not inherit the selection.
        kwargs["env"] = env = _without_selection(kwargs.get("env") or os.environ)
        address = _server_address() if _forkable(cmd) else None
        cwd = str(kwargs.get("cwd") or Path.cwd())
        launch_env = {**env, "JPY_PARENT_PID": str(os.getpid())}  # as launch_kernel sets it
        pid = _request_fork(address, cmd, launch_env, cwd) if address else None
        if pid is None:  # not this kind of kernel, or not the server's settings: a new process
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = self.process.pid  # the kernel leads a session of its own
        self.cwd = cwd
        return self.connection_info


def _without_selection(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without this module's selection of the provisioner and of the server."""
    selected = env.get(PROVISIONER_ENV) == PROVISIONER_NAME
    drop = {SERVER_ENV, PROVISIONER_ENV} if selected else {SERVER_ENV}
    return {name: value for name, value in env.items() if name not in drop}


def _forkable(cmd: list[str]) -> bool:
    """Whether ``cmd`` starts ``ipykernel_launcher``, where kernels may be forked."""
    return fork_kernels_enabled() and cmd[1:3] == ["-m", "ipykernel_launcher"]


def _refusal(request: dict[str, Any], server_environment: dict[str, str]) -> str | None:
    """Why the server will not fork the kernel ``request`` asks for, or None if it will.

    A fork is the server's interpreter with the server's imports: it is the kernel asked for
    only if that kernel runs the same Python with the same import-time settings
    (:data:`IMPORT_TIME_ENV`).
    """
    if os.path.realpath(request["python"]) != os.path.realpath(sys.executable):
        return f"another interpreter: {request['python']}"
    for name in IMPORT_TIME_ENV:
        if request["env"].get(name) != server_environment.get(name):
            theirs, mine = request["env"].get(name), server_environment.get(name)
            return f"{name}={theirs!r}; the server imported with {mine!r}"
    return None


def _server_address() -> str | None:
    """This process's fork server (started on first use), or the one it inherited."""
    global _server
    inherited = os.environ.get(SERVER_ENV)
    if inherited:
        return inherited if os.path.exists(inherited) else None
    if _server is None:
        folder = tempfile.mkdtemp(prefix="mlsys-kit-fork-")
        address = os.path.join(folder, "server.sock")
        _server = subprocess.Popen(
            [sys.executable, "-m", __name__, address],
            # ipykernel reads JPY_PARENT_PID when it is imported, so the server sets it as
            # jupyter_client's launch_kernel does for a new kernel: the process asking for it.
            env={**os.environ, "JPY_PARENT_PID": str(os.getpid())},
            stdin=subprocess.PIPE,  # the server ends when this process does (EOF)
            start_new_session=True,  # Ctrl-C in a terminal stops the tests, not the server
        )
        atexit.register(_stop_server, _server, folder)
        if not _wait_for(address, _server):
            return None
        os.environ[SERVER_ENV] = address
    return os.environ.get(SERVER_ENV)


def _wait_for(address: str, server: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        if os.path.exists(address):
            return True
        time.sleep(0.02)
    return False


def _stop_server(server: subprocess.Popen[bytes], folder: str) -> None:
    with contextlib.suppress(OSError):
        server.stdin.close()  # type: ignore[union-attr]
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=5)
    with contextlib.suppress(OSError):
        Path(folder, "server.sock").unlink(missing_ok=True)
        os.rmdir(folder)


def _request_fork(address: str, cmd: list[str], env: dict[str, str], cwd: str) -> int | None:
    """The pid of the kernel the server forked, or None if it refused or is gone."""
    request = {"python": cmd[0], "argv": cmd[2:], "env": env, "cwd": cwd}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(address)
            connection.sendall(json.dumps(request).encode() + b"\n")
            reply = connection.makefile("rb").readline()
        return json.loads(reply)["pid"]
    except (OSError, ValueError, KeyError):  # the server is gone: start the kernel as usual
        return None


# --------------------------------------------------------------------------------------------
# The server: `python -m mlsys_kit.kit.kernels SOCKET_PATH`
# --------------------------------------------------------------------------------------------


def serve(address: str) -> None:
    """Import :data:`PRELOAD`, then fork a kernel for every request until stdin closes."""
    import importlib

    if sys.path and Path(sys.path[0]) == Path.cwd():  # as ipykernel_launcher does
        del sys.path[0]
    environment = dict(os.environ)
    for module in PRELOAD:
        importlib.import_module(module)
    # What the imports set (scikit-learn sets KMP_* variables if unset): a kernel importing them
    # would have it too, so every fork gets it unless the environment it is launched with has it.
    set_on_import = {k: v for k, v in os.environ.items() if environment.get(k) != v}
    if threading.active_count() > 1:  # missing in every fork, perhaps holding a lock: no forks
        sys.exit(f"{__name__}: importing {PRELOAD} started a thread; kernels will not be forked")
    children: set[int] = set()
    signal.signal(signal.SIGCHLD, lambda *_: _reap(children))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    partial = address + ".partial"
    listener.bind(partial)
    listener.listen(16)
    os.rename(partial, address)  # the address appears only once the server is ready
    while True:
        try:
            ready, _, _ = select.select([listener, sys.stdin.fileno()], [], [])
        except InterruptedError:  # pragma: no cover - select retries itself since PEP 475
            continue
        if sys.stdin.fileno() in ready and not os.read(sys.stdin.fileno(), 1024):
            break  # the process that started the server has ended
        if listener in ready:
            connection, _ = listener.accept()
            with connection:
                request = json.loads(connection.makefile("rb").readline())
                if _refusal(request, environment) is not None:
                    connection.sendall(b'{"pid": null}\n')
                    continue
                pid = os.fork()
                if pid == 0:
                    connection.close()
                    _become_kernel(request, set_on_import, listener)  # never returns
                children.add(pid)
                connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    for pid in list(children):  # kernels left running when the tests ended
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _reap(children: set[int]) -> None:
    while children:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)


def _become_kernel(
    request: dict[str, Any], set_on_import: dict[str, str], listener: socket.socket
) -> None:
    """In the forked child: become ``python -m ipykernel_launcher ARGS`` as launched."""
    code = 1
    try:
        listener.close()
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.environ.clear()
        os.environ.update(request["env"])
        for name, value in set_on_import.items():
            os.environ.setdefault(name, value)  # as the importing module does it
        os.chdir(request["cwd"])
        _fresh_random_state()
        from importlib.util import find_spec

        from ipykernel import kernelapp

        sys.argv = [find_spec("ipykernel_launcher").origin, *request["argv"][1:]]

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 0
    except BaseException:  # pragma: no cover - shown on the kernel's stderr, as usual
        import traceback

        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()  # the kernel's own clean-up (temporary folders), then exit
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _fresh_random_state() -> None:
    """Unseeded generators start from new entropy in every kernel, as in a new process."""
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()  # the legacy global generator, from new entropy


if __name__ == "__main__":
    serve(sys.argv[1])
