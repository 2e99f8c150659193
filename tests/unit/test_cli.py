"""The mlsys-kit command, on a small notebook tree made in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlsys_kit.kit import catalog
from mlsys_kit.kit.cli import main
from mlsys_kit.kit.runner import strip_volatile_metadata

PARAMETERS = 'seed = 0  # random seed\nn = 3  # how many things\nmode = "fast"  # "fast" or "slow"'


def _write(path: Path, body: str, title: str = "# A tiny notebook") -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(title), params, new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "notebooks"
    _write(
        root / "01-overview" / "01-tiny.ipynb",
        'from mlsys_kit import claim\nclaim("n is positive", n, ">", 0, digits=0)',
    )
    _write(
        root / "02-design" / "01-fails.ipynb",
        'from mlsys_kit import claim\nclaim("n is huge", n, ">", 100, digits=0)',
        title="# A notebook whose claim fails",
    )
    monkeypatch.setenv(catalog.NOTEBOOKS_ENV, str(root))
    monkeypatch.chdir(tmp_path)
    return root


def test_discover_and_find_by_id_slug_and_path(tree: Path) -> None:
    notebooks = catalog.discover()
    assert [nb.id for nb in notebooks] == ["01/01", "02/01"]
    tiny = notebooks[0]
    for ref in ["01/01", "1/1", "tiny", "01-tiny", "01-overview/01-tiny", str(tiny.path)]:
        assert catalog.find(ref).path == tiny.path, ref
    assert tiny.title == "A tiny notebook"
    assert tiny.parameters["n"].default == 3
    assert tiny.parameters["n"].help == "how many things"


def test_unknown_notebook_suggests_close_names(tree: Path) -> None:
    with pytest.raises(catalog.NotebookNotFound, match="Did you mean.*tiny"):
        catalog.find("tinny")


def test_coerce_parameters_types_and_errors(tree: Path) -> None:
    tiny = catalog.find("01/01")
    assert catalog.coerce_parameters(tiny, {"n": "5", "mode": "slow"}) == {"n": 5, "mode": "slow"}
    with pytest.raises(catalog.ParameterValueError, match="takes an integer; got 'five'"):
        catalog.coerce_parameters(tiny, {"n": "five"})
    with pytest.raises(catalog.ParameterValueError, match="no parameter 'nn'.*Did you mean 'n'"):
        catalog.coerce_parameters(tiny, {"nn": "5"})


def test_list_shows_chapters_parameters_and_defaults(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "Chapter 1: Overview of Machine Learning Systems" in out
    assert "-p n 3" in out and "how many things" in out


def test_run_refuses_bad_requests_before_any_kernel_starts(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "01/01", "-p", "n", "lots"]) == 2
    assert "takes an integer" in capsys.readouterr().err
    assert main(["run", "nope"]) == 2
    assert "no notebook named 'nope'" in capsys.readouterr().err
    assert main(["run", "01/01", "-p", "colour", "red"]) == 2
    assert "no parameter 'colour'" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert not (tree.parent / "runs").exists(), "nothing may start for a refused request"


@pytest.mark.slow
def test_run_executes_reports_claims_and_keeps_every_result(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tree.parent / "run1"
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
def test_refresh_writes_back_only_on_success(tree: Path) -> None:
    tiny = tree / "01-overview" / "01-tiny.ipynb"
    fails = tree / "02-design" / "01-fails.ipynb"
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
