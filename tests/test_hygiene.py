"""Notebook hygiene: what breaks a reader's copy or nbval's regression run, found before it does.

Every committed notebook (and the template) must:

* stay under 1.5 MB (smaller figures, fewer rows printed);
* be notebook JSON with the ``python3`` kernel and one code cell tagged ``parameters``;
* be executed: every non-empty code cell has an execution count;
* store no error and nothing on stderr (warnings carry paths and fail nbval);
* show nothing volatile that nbval would compare: absolute paths of a machine, memory
  addresses, date-times (a run's own clock). Cells tagged ``nbval-ignore-output`` or
  marked ``# NBVAL_IGNORE_OUTPUT`` / ``# NBVAL_SKIP`` are not compared, so not checked.

A finding that is reviewed and harmless (a date-time that is part of the seeded data itself)
goes, exactly as reported here, into ``tests/hygiene_allowed.txt`` with a comment saying why.
An entry there that no longer matches any finding fails too: the list stays short and true.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_FILE = ROOT / "tests" / "hygiene_allowed.txt"
MAX_BYTES = 1_500_000

#: What nbval would compare although it changes from run to run or machine to machine.
VOLATILE: dict[str, re.Pattern[str]] = {
    "an absolute path of this machine": re.compile(
        r"(?<![\w.~])/(?:tmp|root|home|Users|private|var/folders)/|\b[A-Za-z]:\\{1,2}\w"
    ),
    "a memory address": re.compile(r"\bat 0x[0-9a-fA-F]{6,}\b"),
    "a date-time": re.compile(r"\b(?:19|20)\d\d-[01]\d-[0-3]\d[ T][0-2]\d:[0-5]\d"),
}

NOT_COMPARED_MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")


def committed_notebooks() -> list[Path]:
    """The chapter notebooks and the template, as committed."""
    found = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
    found.append(ROOT / "templates" / "chapter-notebook.ipynb")
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _shown_text(output: dict[str, Any]) -> str:
    """What nbval compares of an output: stream text and every text-like representation."""
    if output.get("output_type") == "stream":
        return _text(output.get("text", ""))
    data = output.get("data", {})
    return "\n".join(
        _text(value)
        for mime, value in data.items()
        if mime.startswith("text/") and isinstance(value, str | list)
    )


def _compared(cell: dict[str, Any]) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    source = _text(cell.get("source", ""))
    return "nbval-ignore-output" not in tags and not any(m in source for m in NOT_COMPARED_MARKERS)


def findings(path: Path, root: Path = ROOT) -> list[str]:
    """The hygiene problems of one notebook, one line each: ``<path>: <problem>``."""
    name = path.relative_to(root).as_posix()
    problems = []
    size = path.stat().st_size
    if size > MAX_BYTES:
        problems.append(
            f"{name}: {size // 1000} kB; keep notebooks under {MAX_BYTES // 1000} kB "
            "(smaller figures, fewer rows printed)"
        )
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [*problems, f"{name}: not valid notebook JSON ({exc})"]
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"{name}: kernelspec name is {kernel!r}, expected 'python3'")
    code = [cell for cell in nb.get("cells", []) if cell.get("cell_type") == "code"]
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in code):
        problems.append(f"{name}: no code cell tagged 'parameters' (papermill needs one)")
    for index, cell in enumerate(code):
        where = f"{name}: code cell {index}"
        if _text(cell.get("source", "")).strip() and cell.get("execution_count") is None:
            problems.append(
                f"{where} was never executed; commit notebooks executed with default parameters"
            )
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"{where} stores an error ({output.get('ename')})")
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                problems.append(
                    f"{where} stores stderr output (warnings carry volatile paths and fail nbval)"
                )
            if not _compared(cell):
                continue
            shown = _shown_text(output)
            for what, pattern in VOLATILE.items():
                if pattern.search(shown):
                    problems.append(f"{where} output holds {what}; nbval will compare it")
                    break
    return problems


def allowed() -> set[str]:
    """The reviewed findings of ``tests/hygiene_allowed.txt`` (comments and blanks skipped)."""
    lines = ALLOWED_FILE.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


HINT = (
    "\nFix these, or review each and add it, exactly as reported, with a comment saying why, "
    "to tests/hygiene_allowed.txt"
)


@pytest.mark.parametrize(
    "path", committed_notebooks(), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_notebook_hygiene(path: Path) -> None:
    unexpected = [problem for problem in findings(path) if problem not in allowed()]
    assert not unexpected, "\n".join(unexpected) + HINT


def test_every_reviewed_exception_still_applies() -> None:
    current = {problem for path in committed_notebooks() for problem in findings(path)}
    stale = sorted(allowed() - current)
    assert not stale, "tests/hygiene_allowed.txt lists findings that no longer occur:\n" + (
        "\n".join(stale)
    )


# -- the checker itself, on notebooks made for the purpose ----------------------------------


def _notebook(tmp_path: Path, *cells: nbformat.NotebookNode, kernel: str = "python3") -> Path:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    path = tmp_path / "notebooks" / "01-x" / "01-y.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def _cell(source: str, *outputs: nbformat.NotebookNode, count: int | None = 1, tags=()):
    cell = new_code_cell(source, execution_count=count, outputs=list(outputs))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _params() -> nbformat.NotebookNode:
    return _cell("seed = 0", tags=["parameters"])


def test_a_clean_notebook_has_no_findings(tmp_path: Path) -> None:
    shown = new_output("execute_result", {"text/plain": "accuracy 0.83 on 2,000 rows"})
    path = _notebook(tmp_path, _params(), _cell("x", shown, count=2))
    assert findings(path, tmp_path) == []


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("saved to /tmp/mlsys-kit-abc/model.pkl", "an absolute path of this machine"),
        ("reading /home/reader/data.csv", "an absolute path of this machine"),
        ("C:\\Users\\reader\\data.csv", "an absolute path of this machine"),
        ("<object at 0x7f3a2c1b9e50>", "a memory address"),
        ("run started 2026-12-03 10:33:52", "a date-time"),
        ("2026-12-03T10:33", "a date-time"),
    ],
)
def test_volatile_outputs_are_found(tmp_path: Path, text: str, what: str) -> None:
    shown = new_output("stream", name="stdout", text=text)
    path = _notebook(tmp_path, _params(), _cell("x", shown, count=2))
    assert findings(path, tmp_path) == [
        f"notebooks/01-x/01-y.ipynb: code cell 1 output holds {what}; nbval will compare it"
    ]


@pytest.mark.parametrize(
    "text", ["days 0-29", "2026-12-03 (a date alone)", "./tmp/relative", "0x1F", "ratio 10:33"]
)
def test_stable_outputs_are_not_volatile(tmp_path: Path, text: str) -> None:
    shown = new_output("execute_result", {"text/html": f"<td>{text}</td>"})
    path = _notebook(tmp_path, _params(), _cell("x", shown, count=2))
    assert findings(path, tmp_path) == []


def test_outputs_nbval_does_not_compare_are_not_checked(tmp_path: Path) -> None:
    shown = new_output("stream", name="stdout", text="/tmp/x")
    path = _notebook(
        tmp_path,
        _params(),
        _cell("# NBVAL_IGNORE_OUTPUT\nx", shown, count=2),
        _cell("y", shown, count=3, tags=["nbval-ignore-output"]),
    )
    assert findings(path, tmp_path) == []


def test_structural_problems_are_found(tmp_path: Path) -> None:
    error = new_output("error", ename="ValueError", evalue="bad", traceback=[])
    warning = new_output("stream", name="stderr", text="UserWarning: careful")
    path = _notebook(
        tmp_path,
        _cell("seed = 0"),  # not tagged
        _cell("x = 1", count=None),
        _cell("", count=None),  # an empty cell need not run
        _cell("y", error, warning, count=3),
        kernel="python2",
    )
    name = "notebooks/01-x/01-y.ipynb"
    assert findings(path, tmp_path) == [
        f"{name}: kernelspec name is 'python2', expected 'python3'",
        f"{name}: no code cell tagged 'parameters' (papermill needs one)",
        f"{name}: code cell 1 was never executed; commit notebooks executed with default "
        "parameters",
        f"{name}: code cell 3 stores an error (ValueError)",
        f"{name}: code cell 3 stores stderr output (warnings carry volatile paths and fail nbval)",
    ]


def test_size_and_invalid_json_are_found(tmp_path: Path) -> None:
    path = tmp_path / "notebooks" / "01-x" / "01-y.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text("{" + " " * MAX_BYTES, encoding="utf-8")
    problems = findings(path, tmp_path)
    assert problems[0].startswith("notebooks/01-x/01-y.ipynb: 1500 kB; keep notebooks under 1500")
    assert problems[1].startswith("notebooks/01-x/01-y.ipynb: not valid notebook JSON")
