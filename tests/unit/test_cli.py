"""The mlsys-kit command, on a small notebook tree made in a temporary folder.

The tree (``notebook_tree`` in conftest.py): 01/01 declares its parameters, 02/01 does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlsys_kit.kit.cli import main
from mlsys_kit.kit.runner import strip_volatile_metadata


def test_list_shows_chapters_parameters_defaults_and_allowed_values(
    notebook_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "Chapter 1: Overview of Machine Learning Systems" in out
    lines = {" ".join(line.split()) for line in out.splitlines()}  # columns aligned
    assert "-p n 3 integer in [1, 1,000] how many things" in lines
    assert "-p mode 'fast' one of 'fast', 'slow' \"fast\" or \"slow\"" in lines
    assert "-p alpha 0.05 number in [0.02, 0.1] false-alarm budget" in lines
    assert "-p n 3 int how many things" in lines, "02/01 is undeclared: its type only"


def test_list_reports_an_unreadable_declaration(
    notebook_tree: Path, make_notebook, capsys: pytest.CaptureFixture[str]
) -> None:
    make_notebook(
        notebook_tree / "03-data" / "01-bad.ipynb", 'PARAMETERS = {"seed": Int(min=SEED_MIN)}'
    )
    assert main(["list", "03/01"]) == 2
    err = capsys.readouterr().err
    assert "03/01 03-data/01-bad: PARAMETERS['seed']: argument min=SEED_MIN is not a literal" in err


def test_run_refuses_bad_requests_before_any_kernel_starts(
    notebook_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "01/01", "-p", "n", "lots"]) == 2
    assert "takes an integer" in capsys.readouterr().err
    assert main(["run", "nope"]) == 2
    assert "no notebook named 'nope'" in capsys.readouterr().err
    assert main(["run", "01/01", "-p", "colour", "red"]) == 2
    assert "no parameter 'colour'" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert not (notebook_tree.parent / "runs").exists(), "nothing may start for a refused request"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "alpha", "7"], "01/01: alpha=7.0 is out of range: allowed 0.02 ≤ alpha ≤ 0.1"),
        (["-p", "n", "0"], "01/01: n=0 is out of range: allowed 1 ≤ n ≤ 1,000"),
        (["-p", "mode", "medium"], "mode='medium' is not allowed: choose one of 'fast', 'slow'"),
    ],
)
def test_run_refuses_a_value_outside_the_declaration_before_any_kernel_starts(
    notebook_tree: Path,
    no_kernels: list[str],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    out_dir = notebook_tree.parent / "refused"
    assert main(["run", "01/01", *args, "--out", str(out_dir)]) == 2
    assert message in capsys.readouterr().err
    assert no_kernels == [], "papermill must not be called"
    assert not out_dir.exists(), "no run folder for a refused request"


def test_run_checks_a_parameter_against_every_chosen_notebook(
    notebook_tree: Path, no_kernels: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # 02/01 is undeclared and would take any integer; 01/01 declares n ≤ 1,000.
    assert main(["run", "--all", "-p", "n", "5000"]) == 2
    assert "01/01: n=5000 is out of range" in capsys.readouterr().err
    assert no_kernels == []


@pytest.mark.slow
def test_run_executes_reports_claims_and_keeps_every_result(
    notebook_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = notebook_tree.parent / "run1"
    status = main(["run", "--all", "-p", "n", "7", "--out", str(out_dir)])
    assert status == 1, "a failed claim makes the run fail"
    out = capsys.readouterr().out
    assert "✔ n is positive  (observed 7 > 0)" in out
    assert "✘ n is huge" in out
    results = [json.loads(line) for line in (out_dir / "results.jsonl").read_text().splitlines()]
    assert {r["notebook"]: r["status"] for r in results} == {"01/01": "ok", "02/01": "claim failed"}
    assert (out_dir / "01-overview" / "01-tiny.ipynb").is_file()
    assert (out_dir / "02-design" / "01-fails.ipynb").is_file(), "failed output kept for reading"


@pytest.mark.slow
def test_refresh_writes_back_only_on_success(notebook_tree: Path) -> None:
    tiny = notebook_tree / "01-overview" / "01-tiny.ipynb"
    fails = notebook_tree / "02-design" / "01-fails.ipynb"
    before = fails.read_bytes()
    assert main(["refresh", "01/01", "02/01"]) == 1
    assert fails.read_bytes() == before, "a failing notebook is left untouched"
    nb = json.loads(tiny.read_text())
    assert nb["cells"][2]["outputs"], "the successful notebook now stores its outputs"
    assert "papermill" not in nb["metadata"]
    assert all("papermill" not in c["metadata"] for c in nb["cells"])


def test_strip_volatile_metadata_keeps_content() -> None:
    nb = {
        "metadata": {"papermill": {"duration": 1}, "language_info": {"version": "3.11.7"}},
        "cells": [
            {"metadata": {"papermill": {}, "execution": {}, "tags": []}, "outputs": [1]},
            {"metadata": {"tags": ["parameters"]}},
        ],
    }
    strip_volatile_metadata(nb)
    assert nb == {
        "metadata": {"language_info": {}},
        "cells": [{"metadata": {}, "outputs": [1]}, {"metadata": {"tags": ["parameters"]}}],
    }
