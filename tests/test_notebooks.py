"""Every notebook follows the kit's anatomy and has enough parameter sets.

The notebooks' own regression tests (nbval against stored outputs, and papermill
runs with the parameter sets of ``tests/notebook_parameters.toml``) are collected
from the notebook files by ``conftest.py``. Here: the static checks.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mlsys_kit.kit.catalog import Notebook, chapter_map, discover

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "chapter-notebook.ipynb"
PARAMETER_SETS: dict[str, list[dict[str, Any]]] = tomllib.loads(
    (ROOT / "tests" / "notebook_parameters.toml").read_text(encoding="utf-8")
)
NOTEBOOKS = discover(ROOT / "notebooks")
BY_ID = {nb.id: nb for nb in NOTEBOOKS}


def test_parameter_sets_name_existing_notebooks() -> None:
    unknown = sorted(set(PARAMETER_SETS) - set(BY_ID) - {"template"})
    assert not unknown, f"notebook_parameters.toml names no such notebooks: {unknown}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.id)
def test_notebook_has_enough_parameter_sets(notebook: Notebook) -> None:
    sets = PARAMETER_SETS.get(notebook.id, [])
    assert len(sets) >= 2, f"{notebook.id}: give at least two parameter sets in the TOML file"
    assert any("seed" in s and s["seed"] != notebook.parameters["seed"].default for s in sets), (
        f"{notebook.id}: one parameter set must change the seed"
    )
    for params in sets:
        unknown = set(params) - set(notebook.parameters)
        assert not unknown, f"{notebook.id}: {sorted(unknown)} are not parameters of the notebook"


def _cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


ANATOMY_TARGETS = [pytest.param(nb.path, id=nb.id) for nb in NOTEBOOKS] + [
    pytest.param(TEMPLATE, id="template")
]


@pytest.mark.parametrize("path", ANATOMY_TARGETS)
def test_notebook_anatomy(path: Path) -> None:
    cells = _cells(path)
    first = _text(cells[0])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), "open with a title"
    assert "Chapter" in first, "name the book chapter and section in the first cell"
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one code cell tagged 'parameters'"
    assert "seed = " in _text(tagged[0]), "the parameters cell declares `seed`"
    code = "\n".join(_text(c) for c in cells if c["cell_type"] == "code")
    assert "setup_notebook(" in code, "call mlsys_kit.setup_notebook(seed) in the setup cell"
    assert "claim(" in code, "state the lesson with mlsys_kit.claim"
    headings = [_text(c) for c in cells if c["cell_type"] == "markdown"]
    assert any(h.lstrip().startswith("## Try it") for h in headings), "end with '## Try it'"


@pytest.mark.parametrize("path", ANATOMY_TARGETS)
def test_committed_notebook_is_executed_and_clean(path: Path) -> None:
    cells = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in cells), "commit notebooks executed in order"
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "execute top to bottom in a fresh kernel"
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"], "no stored errors"
    assert not [o for o in outputs if o.get("name") == "stderr"], "no stored stderr output"
    assert any("image/png" in o.get("data", {}) for o in outputs), "show at least one figure"
    assert any(o.get("metadata", {}).get("mlsys_kit") for o in outputs), "show checked claims"
    for cell in cells:
        assert "papermill" not in cell.get("metadata", {}), "run `mlsys-kit refresh` to commit"


def test_readme_chapter_map_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("-->", readme.index("<!-- chapter-map:start")) + len("-->")
    end = readme.index("<!-- chapter-map:end -->")
    assert readme[start:end].strip() == chapter_map(NOTEBOOKS), (
        "README's chapter map is stale: paste the output of `mlsys-kit list --markdown`"
    )


def test_readme_lists_every_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    package = ROOT / "mlsys_kit"
    internal = {"__init__", "cli", "catalog", "runner"}
    modules = [p.stem for p in package.glob("*.py") if p.stem not in internal]
    modules += [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    missing = [m for m in modules if f"`mlsys_kit.{m}`" not in readme]
    assert not missing, f"README's module table misses {missing}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.id)
def test_papermill_reads_every_parameter(notebook: Notebook) -> None:
    # papermill silently skips a line it cannot parse (e.g. a comment holding "0 = none"),
    # and the parameter then cannot be set from the command line.
    cell = next(c for c in _cells(notebook.path) if "parameters" in c["metadata"].get("tags", []))
    assigned = re.findall(r"^(\w+)\s*(?::[^=]+)?=", _text(cell), flags=re.M)
    missed = sorted(set(assigned) - set(notebook.parameters))
    assert not missed, f"papermill cannot parse the lines of {missed}: one '=' per line"
