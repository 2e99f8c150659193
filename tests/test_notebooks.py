"""Every notebook follows the kit's anatomy and has enough parameter sets.

The notebooks' own regression tests (nbval against stored outputs, and papermill
runs with the parameter sets of ``tests/notebook_parameters.toml``) are collected
from the notebook files by ``conftest.py``. Here: the static checks.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import mlsys_kit
from mlsys_kit.kit.catalog import Notebook, chapter_map, discover
from mlsys_kit.params import ParameterError, check_parameters

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "chapter-notebook.ipynb"
PARAMETER_SETS: dict[str, list[dict[str, Any]]] = tomllib.loads(
    (ROOT / "tests" / "notebook_parameters.toml").read_text(encoding="utf-8")
)
NOTEBOOKS = discover(ROOT / "notebooks")
BY_ID = {nb.id: nb for nb in NOTEBOOKS}


def _template() -> Notebook:
    """The template as a catalog entry (it lives outside notebooks/, so has no id of its own)."""
    nb = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    return Notebook(TEMPLATE, 0, "templates", 0, "chapter-notebook", nb)


#: Every notebook and the template, with the key of their parameter sets.
DECLARING = [pytest.param(nb, nb.id, id=nb.id) for nb in NOTEBOOKS] + [
    pytest.param(_template(), "template", id="template")
]


def test_parameter_sets_name_existing_notebooks() -> None:
    unknown = sorted(set(PARAMETER_SETS) - set(BY_ID) - {"template"})
    assert not unknown, f"notebook_parameters.toml names no such notebooks: {unknown}"


def _masked(statement: str) -> str:
    """The statement with every number (``2,000``, ``0.25``) replaced by ``#``."""
    return re.sub(r"\d[\d,.]*", "#", statement)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.id)
def test_notebook_has_enough_parameter_sets(notebook: Notebook) -> None:
    sets = PARAMETER_SETS.get(notebook.id, [])
    inside = [s for s in sets if "edge" not in s]
    assert len(inside) >= 2, f"{notebook.id}: give at least two parameter sets in the TOML file"
    assert any("seed" in s and s["seed"] != notebook.parameters["seed"].default for s in inside), (
        f"{notebook.id}: one parameter set must change the seed"
    )
    edges = [s["edge"] for s in sets if "edge" in s]
    assert edges, f'{notebook.id}: give an edge set (edge = "<lesson>"), where a lesson breaks'
    lessons = [c.statement for c in notebook.lessons]
    for edge in edges:  # statements quote the run's numbers: compare them with numbers masked
        assert any(_masked(lesson).startswith(_masked(edge)) for lesson in lessons), (
            f"{notebook.id}: edge = {edge!r} starts none of its lessons: {lessons}"
        )
    for params in sets:
        unknown = set(params) - set(notebook.parameters) - {"edge", "by_chance"}
        assert not unknown, f"{notebook.id}: {sorted(unknown)} are not parameters of the notebook"
        if "by_chance" in params:
            assert "edge" in params and params["by_chance"] is True, (
                f"{notebook.id}: by_chance = true marks an edge set where chance decides"
            )


def _cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


ANATOMY_TARGETS = [pytest.param(nb.path, id=nb.id) for nb in NOTEBOOKS] + [
    pytest.param(TEMPLATE, id="template")
]


def _calls(node: ast.AST, name: str) -> list[ast.Call]:
    return [
        call
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == name
    ]


def _setup_cell_problems(cells: list[dict[str, Any]]) -> list[str]:
    """What the setup cell lacks: PARAMETERS, then check_parameters, then setup_notebook."""
    setup = [c for c in cells if c["cell_type"] == "code" and "setup_notebook(" in _text(c)]
    if len(setup) != 1:
        return ["call mlsys_kit.setup_notebook(seed) once, in the setup cell"]
    body = ast.parse(_text(setup[0])).body
    declared = [
        i
        for i, node in enumerate(body)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PARAMETERS" for t in node.targets)
        and isinstance(node.value, ast.Dict)
    ]
    checked = [
        i
        for i, node in enumerate(body)
        if any(
            ast.unparse(call) == "check_parameters(PARAMETERS, globals())"
            for call in _calls(node, "check_parameters")
        )
    ]
    set_up = [i for i, node in enumerate(body) if _calls(node, "setup_notebook")]
    if not declared:
        return ["declare the parameters at the top level of the setup cell: PARAMETERS = {...}"]
    if not checked:
        return ["check them right after: check_parameters(PARAMETERS, globals())"]
    if not declared[0] < checked[0] < set_up[0]:
        return ["in the setup cell: PARAMETERS, then check_parameters, then setup_notebook"]
    return []


@pytest.mark.parametrize("path", ANATOMY_TARGETS)
def test_notebook_anatomy(path: Path) -> None:
    cells = _cells(path)
    first = _text(cells[0])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), "open with a title"
    assert "Chapter" in first, "name the book chapter and section in the first cell"
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one code cell tagged 'parameters'"
    assert "seed = " in _text(tagged[0]), "the parameters cell declares `seed`"
    assert not _setup_cell_problems(cells), _setup_cell_problems(cells)[0]
    code = "\n".join(_text(c) for c in cells if c["cell_type"] == "code")
    assert "claim(" in code, "state the lesson with mlsys_kit.claim"
    last_code = [_text(c) for c in cells if c["cell_type"] == "code"][-1]
    assert last_code.strip() == "verdict()", (
        "end the code with a cell `verdict()`: it fails the run once every claim is shown"
    )
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


#: Subpackages that README and CONTRIBUTING describe as one whole, not module by module:
#: the command's machinery (never imported by notebooks) and the one simulator.
DESCRIBED_WHOLE = {"kit", "sim"}


def _package_modules() -> list[tuple[str, bool]]:
    """Every module of the package below ``mlsys_kit``, dotted, with whether it is a package."""
    path = Path(mlsys_kit.__file__).parent
    return [
        (info.name.removeprefix("mlsys_kit."), info.ispkg)
        for info in pkgutil.walk_packages([str(path)], prefix="mlsys_kit.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]


def _documented_modules() -> list[str]:
    """The modules README's module table must name: the top level, and each part's modules."""
    return [
        name
        for name, _ in _package_modules()
        if "." not in name or name.split(".")[0] not in DESCRIBED_WHOLE
    ]


def test_readme_lists_every_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    modules = _documented_modules()
    assert "design.latency" in modules and "kit" in modules, "the walk found the package"
    missing = [m for m in modules if f"`mlsys_kit.{m}`" not in readme]
    assert not missing, f"README's module table misses {['mlsys_kit.' + m for m in missing]}"


def test_readme_lists_no_module_that_does_not_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    known = {name for name, _ in _package_modules()}
    named = set(re.findall(r"`mlsys_kit\.([a-z_][\w.]*[a-z_])`", readme))
    stale = sorted(name for name in named if name not in known)
    assert not stale, f"README names modules that do not exist: {stale}"


def test_contributing_says_where_every_part_of_the_package_lives() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    core = {name for name, is_package in _package_modules() if "." not in name and not is_package}
    listed = re.search(r"`mlsys_kit/\{([\w,]+)\}\.py`", contributing)
    assert listed, "CONTRIBUTING's 'Where things live' lists the core: mlsys_kit/{a,b}.py"
    missing = sorted(core - set(listed[1].split(",")))
    assert not missing, f"CONTRIBUTING's core modules miss {missing}"
    packages = [name for name, is_package in _package_modules() if is_package and "." not in name]
    missing = [
        p for p in packages if f"`{p}/`" not in contributing and f"/{p}/`" not in contributing
    ]
    assert not missing, f"CONTRIBUTING's 'Where things live' misses the subpackages {missing}"


@pytest.mark.parametrize(("notebook", "key"), DECLARING)
def test_notebook_declares_every_parameter_and_nothing_else(notebook: Notebook, key: str) -> None:
    declared, cell = set(notebook.declarations), set(notebook.parameters)
    undeclared, extra = sorted(cell - declared), sorted(declared - cell)
    assert not undeclared, f"{key}: declare {undeclared} in the setup cell's PARAMETERS"
    assert not extra, f"{key}: PARAMETERS declares {extra}, which the parameters cell lacks"


@pytest.mark.parametrize(("notebook", "key"), DECLARING)
def test_defaults_and_parameter_sets_are_allowed_by_the_declaration(
    notebook: Notebook, key: str
) -> None:
    declarations = notebook.declarations
    defaults = {name: param.default for name, param in notebook.parameters.items()}
    for label, values in [("defaults", {})] + [
        (f"test set {i}", params) for i, params in enumerate(PARAMETER_SETS.get(key, []), 1)
    ]:
        try:
            check_parameters(declarations, defaults | values, owner=f"{key} {label}")
        except ParameterError as exc:
            pytest.fail(str(exc))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.id)
def test_papermill_reads_every_parameter(notebook: Notebook) -> None:
    # papermill silently skips a line it cannot parse (e.g. a comment holding "0 = none"),
    # and the parameter then cannot be set from the command line.
    cell = next(c for c in _cells(notebook.path) if "parameters" in c["metadata"].get("tags", []))
    assigned = re.findall(r"^(\w+)\s*(?::[^=]+)?=", _text(cell), flags=re.M)
    missed = sorted(set(assigned) - set(notebook.parameters))
    assert not missed, f"papermill cannot parse the lines of {missed}: one '=' per line"
