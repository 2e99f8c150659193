"""The catalog: finding notebooks, reading their declared parameters and the modules they use."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsys_kit.kit import catalog
from mlsys_kit.kit.catalog import InvalidDeclaration, Notebook, read_declarations
from mlsys_kit.params import Bool, Choice, Float, Int, ParameterError


@pytest.fixture
def notebook_of(tmp_path: Path, make_notebook):
    """A kit notebook 08/03 made of these code cells (after its parameters cell)."""

    def make(*cells: str, parameters: str | None = None) -> Notebook:
        kwargs = {} if parameters is None else {"parameters": parameters}
        path = tmp_path / "notebooks" / "08-shifts" / "03-detect.ipynb"
        return catalog.find(str(make_notebook(path, *cells, **kwargs)))

    return make


# -- finding notebooks -----------------------------------------------------------------------


def test_discover_and_find_by_id_slug_and_path(notebook_tree: Path) -> None:
    notebooks = catalog.discover()
    assert [nb.id for nb in notebooks] == ["01/01", "02/01"]
    tiny = notebooks[0]
    for ref in ["01/01", "1/1", "tiny", "01-tiny", "01-overview/01-tiny", str(tiny.path)]:
        assert catalog.find(ref).path == tiny.path, ref
    assert tiny.title == "A tiny notebook"
    assert tiny.parameters["n"].default == 3
    assert tiny.parameters["n"].help == "how many things"


def test_unknown_notebook_suggests_close_names(notebook_tree: Path) -> None:
    with pytest.raises(catalog.NotebookNotFound, match="Did you mean.*tiny"):
        catalog.find("tinny")


# -- declared parameters ---------------------------------------------------------------------


def test_declarations_are_read_from_the_setup_cell(notebook_tree: Path) -> None:
    tiny = catalog.find("01/01")
    assert tiny.declarations == {
        "seed": Int(min=0),
        "n": Int(min=1, max=1000),
        "mode": Choice("fast", "slow"),
        "alpha": Float(min=0.02, max=0.1),
    }
    assert tiny.parameters["n"].declaration == Int(min=1, max=1000)
    assert tiny.parameters["n"].describe() == "integer in [1, 1,000]"
    assert tiny.parameters["mode"].describe() == "one of 'fast', 'slow'"


def test_a_notebook_without_parameters_is_undeclared_not_an_error(notebook_tree: Path) -> None:
    fails = catalog.find("02/01")
    assert fails.declarations == {}
    assert fails.parameters["n"].declaration is None
    assert fails.parameters["n"].describe() == "int", "undeclared: the default's type only"


def test_declarations_accept_literals_of_every_form() -> None:
    declared = read_declarations(
        "{"
        '"shift": Float(min=-2.5, max=+2.5, open_min=True),'
        '"n_rows": Int(min=1_000, max=1e6),'  # 1e6 is a float literal: Int keeps it as given
        '"k": Choice(1, 2, 5),'
        '"verbose": Bool(),'
        '"offset": Int(min=-10),'
        "}"
    )
    assert declared == {
        "shift": Float(min=-2.5, max=2.5, open_min=True),
        "n_rows": Int(min=1000, max=1e6),
        "k": Choice(1, 2, 5),
        "verbose": Bool(),
        "offset": Int(min=-10),
    }


def test_declarations_in_a_cell_with_magics_and_an_annotation(notebook_of) -> None:
    setup = (
        "%matplotlib inline\n"
        "from mlsys_kit import Int, check_parameters\n"
        'PARAMETERS: dict = {"seed": Int(min=0), "n": Int(min=1)}\n'
        "check_parameters(PARAMETERS, globals())"
    )
    nb = notebook_of(setup, parameters="seed = 0\nn = 5")
    assert nb.declarations == {"seed": Int(min=0), "n": Int(min=1)}


def test_a_nested_parameters_assignment_is_not_a_declaration(notebook_of) -> None:
    nb = notebook_of('def f():\n    PARAMETERS = {"seed": Int(min=0)}\n    return PARAMETERS')
    assert nb.declarations == {}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("dict(seed=Int(min=0))", r"must be a literal dictionary"),
        ('{"seed": Int(min=N_MIN)}', r"PARAMETERS\['seed'\]: argument min=N_MIN is not a literal"),
        ('{"seed": Int(min=len("ab"))}', r"argument min=len\('ab'\) is not a literal"),
        ('{"seed": Int(min=(0, 1))}', r"argument min=\(0, 1\) is not a literal"),
        ('{"seed": Range(0, 9)}', r"Range\(\.\.\.\) is not a declaration; use Int, Float"),
        ('{"seed": Int}', r"must be a call of Int, Float, Choice, Bool"),
        ('{"seed": Int(minimum=0)}', r"Int\(minimum=0\) is not valid"),
        ('{"mode": Choice()}', r"Choice\(\) is not valid: Choice needs at least one option"),
        ('{"seed": Int(**limits)}', r"\*\*limits is not allowed"),
        ('{**common, "seed": Int()}', r"keys must be parameter names in quotes; got \*\*common"),
        ("{seed: Int()}", r"keys must be parameter names in quotes; got seed"),
        ('{"seed": Int(), "seed": Int(min=0)}', r"declares 'seed' twice"),
    ],
)
def test_a_declaration_that_is_not_literal_is_a_clear_error(
    notebook_of, source: str, message: str
) -> None:
    nb = notebook_of(f"PARAMETERS = {source}", parameters="seed = 0\nmode = 'a'")
    with pytest.raises(InvalidDeclaration, match=r"^08/03 08-shifts/03-detect: .*" + message):
        nb.declarations  # noqa: B018


def test_parameters_assigned_twice_is_an_error(notebook_of) -> None:
    first = 'PARAMETERS = {"seed": Int(min=0)}'
    nb = notebook_of(first, first, parameters="seed = 0")
    with pytest.raises(InvalidDeclaration, match="08/03 .*assigned twice"):
        nb.declarations  # noqa: B018


def test_a_declaration_is_never_executed(notebook_of, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    nb = notebook_of(
        f'PARAMETERS = {{"seed": Int(min=open({str(marker)!r}, "w").close())}}',
        parameters="seed = 0",
    )
    with pytest.raises(InvalidDeclaration, match="is not a literal"):
        nb.declarations  # noqa: B018
    assert not marker.exists()


# -- command-line values ---------------------------------------------------------------------


def test_coerce_reads_each_declared_type(notebook_tree: Path) -> None:
    tiny = catalog.find("01/01")
    values = catalog.coerce_parameters(
        tiny, {"n": "1_000", "mode": "slow", "alpha": "0.1", "seed": "7"}
    )
    assert values == {"n": 1000, "mode": "slow", "alpha": 0.1, "seed": 7}
    assert type(catalog.coerce_parameters(tiny, {"alpha": "0.05"})["alpha"]) is float


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("alpha", "7", r"01/01: alpha=7.0 is out of range: allowed 0.02 ≤ alpha ≤ 0.1"),
        ("n", "0", r"01/01: n=0 is out of range: allowed 1 ≤ n ≤ 1,000"),
        ("seed", "-1", r"01/01: seed=-1 is out of range: allowed seed ≥ 0"),
        ("mode", "medium", r"01/01: mode='medium' is not allowed: choose one of 'fast', 'slow'"),
        ("n", "five", r"01/01: parameter 'n' takes an integer; got 'five'"),
        ("alpha", "small", r"01/01: parameter 'alpha' takes a number; got 'small'"),
    ],
)
def test_coerce_refuses_what_the_declaration_refuses(
    notebook_tree: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(ParameterError, match=f"^{message}"):
        catalog.coerce_parameters(catalog.find("01/01"), {name: text})


def test_coerce_reads_undeclared_parameters_by_their_default_type(notebook_tree: Path) -> None:
    fails = catalog.find("02/01")
    assert catalog.coerce_parameters(fails, {"n": "5000", "mode": "any"}) == {
        "n": 5000,
        "mode": "any",
    }
    with pytest.raises(ParameterError, match="takes an integer; got 'five'"):
        catalog.coerce_parameters(fails, {"n": "five"})


def test_coerce_refuses_an_unknown_name_with_a_hint(notebook_tree: Path) -> None:
    with pytest.raises(ParameterError, match="no parameter 'nn'.*Did you mean 'n'"):
        catalog.coerce_parameters(catalog.find("01/01"), {"nn": "5"})


def test_coerce_matches_non_string_choices_and_booleans(notebook_of) -> None:
    setup = 'PARAMETERS = {"k": Choice(1, 2, 5), "verbose": Bool()}'
    nb = notebook_of(setup, parameters="k = 2\nverbose = False")
    assert catalog.coerce_parameters(nb, {"k": "5", "verbose": "yes"}) == {"k": 5, "verbose": True}
    with pytest.raises(ParameterError, match=r"k=3 is not allowed: choose one of 1, 2, 5"):
        catalog.coerce_parameters(nb, {"k": "3"})
    with pytest.raises(ParameterError, match="takes true or false"):
        catalog.coerce_parameters(nb, {"verbose": "perhaps"})


# -- modules a notebook uses -----------------------------------------------------------------


def test_modules_are_dotted_paths_from_every_import_form(notebook_of, declared_setup) -> None:
    nb = notebook_of(
        declared_setup,
        "from mlsys_kit.monitoring.drift import detect_drift\n"
        "import mlsys_kit.design.latency as latency\n"
        "from mlsys_kit import claim, datasets, best_of\n"
        "from mlsys_kit.features import leakage\n"
        "import mlsys_kit\n"
        "report = mlsys_kit.training_data.sampling.reservoir_sample(range(9), 3)\n"
        "from mlsys_kit.sim import simulate",
    )
    assert nb.modules == [
        "datasets",
        "design.latency",
        "features.leakage",
        "monitoring.drift",
        "sim",
        "timing",
        "training_data.sampling",
    ], "setup helpers (notebook, params, claims) left out; top-level names by their module"


def test_modules_ignore_text_that_only_looks_like_an_import(notebook_of) -> None:
    nb = notebook_of(
        '# from mlsys_kit.monitoring.drift import detect_drift\nprint("import mlsys_kit.sim")',
    )
    assert nb.modules == []


def test_chapter_map_lists_lessons_and_modules(notebook_tree: Path) -> None:
    table = catalog.chapter_map(catalog.discover())
    assert table.splitlines()[0] == "| chapter | notebook | the lessons it checks | modules |"
    assert "[01/01 A tiny notebook](notebooks/01-overview/01-tiny.ipynb)" in table


def test_notebooks_are_found_beside_the_package_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(catalog.NOTEBOOKS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    repository = Path(catalog.__file__).resolve().parents[2]
    assert catalog.notebooks_dir() == repository / "notebooks"
