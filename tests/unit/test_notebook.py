"""Tests for notebook: the output folder a notebook writes to."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlsys_kit.notebook import RUN_DIR_ENV, output_dir


def test_output_dir_is_the_run_folder_under_mlsys_kit_run(tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    assert output_dir() == tmp_path
    assert output_dir("models") == tmp_path / "models"
    assert (tmp_path / "models").is_dir()


def test_temporary_output_dir_is_removed_when_the_process_exits(monkeypatch):
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    script = (
        "from mlsys_kit.notebook import output_dir\n"
        "folder = output_dir('data')\n"
        "(folder / 'file.bin').write_bytes(b'x' * 1000)\n"
        "assert output_dir('data') == folder\n"
        "print(folder)\n"
    )
    env_free = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    folder = Path(env_free.stdout.strip())
    assert folder.name == "data"
    assert not folder.parent.exists()


def test_setup_notebook_limits_thread_pools_loaded_after_it():
    script = (
        "from mlsys_kit import setup_notebook\n"
        "setup_notebook(0, style=False)\n"
        "import sklearn.ensemble\n"  # loads scikit-learn's OpenMP runtime after the call
        "from threadpoolctl import threadpool_info\n"
        "print(max(pool['num_threads'] for pool in threadpool_info()))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


ROOT = Path(__file__).resolve().parents[2]


def test_setup_notebook_leaves_the_backend_alone_outside_a_kernel():
    script = (
        "import matplotlib\n"
        "from mlsys_kit import setup_notebook\n"
        "setup_notebook(0)\n"
        "print(matplotlib.get_backend())\n"
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip().lower() == "agg"
    assert out.stderr == ""


@pytest.mark.slow
def test_stored_figures_do_not_depend_on_the_readers_mplbackend():
    # A kernel inherits MPLBACKEND; with Agg, plt.show() would show nothing and nbval would
    # fail every figure cell. setup_notebook switches the kernel to inline figures.
    env = {**os.environ, "MPLBACKEND": "Agg"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with=tests/nbval_sanitize.cfg",
        "-k",
        "not papermill",
        "-q",
        "templates/chapter-notebook.ipynb",
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "failed" not in out.stdout


@pytest.mark.slow
def test_a_run_without_drawing_shows_figures_as_text_only(tmp_path, monkeypatch):
    import json

    from mlsys_kit.kit.runner import run_one
    from mlsys_kit.notebook import FIGURES_ENV

    monkeypatch.delenv(FIGURES_ENV, raising=False)
    template = ROOT / "templates" / "chapter-notebook.ipynb"
    result = run_one(template, tmp_path / "run.ipynb", draw_figures=False)
    assert result.error is None and result.claims
    outputs = [
        output
        for cell in json.loads((tmp_path / "run.ipynb").read_text())["cells"]
        for output in cell.get("outputs", [])
    ]
    shown = [o["data"] for o in outputs if o["output_type"] == "display_data"]
    assert any("<Figure size" in "".join(d.get("text/plain", "")) for d in shown)
    assert not [d for d in shown if "image/png" in d], "no figure is drawn into an image"
    assert FIGURES_ENV not in os.environ, "the caller's environment is restored"


def _python(script: str) -> str:
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_the_kits_machinery_skips_the_iri_grammars_and_still_validates_notebooks():
    template = ROOT / "templates" / "chapter-notebook.ipynb"
    script = (
        "import sys\n"
        "import mlsys_kit.kit\n"
        "import nbformat\n"
        f"nbformat.validate(nbformat.read({str(template)!r}, as_version=4))\n"
        "print(sys.modules['rfc3987_syntax'] is None, 'lark' in sys.modules)\n"
    )
    assert _python(script) == "True False"


def test_skip_iri_grammars_leaves_a_process_that_imported_jsonschema_alone():
    script = (
        "import sys, jsonschema\n"
        "from mlsys_kit.notebook import skip_iri_grammars\n"
        "skip_iri_grammars()\n"
        "print(sys.modules.get('rfc3987_syntax') is not None)\n"
    )
    assert _python(script) == "True"
