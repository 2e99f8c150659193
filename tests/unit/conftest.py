"""Fixtures shared by the unit tests: small notebook trees, a scripted clock."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlsys_kit.kit import catalog

#: The parameters cell of the fixture notebooks: names, defaults and descriptions.
PARAMETERS_CELL = (
    "seed = 0  # random seed\n"
    "n = 3  # how many things\n"
    'mode = "fast"  # "fast" or "slow"\n'
    "alpha = 0.05  # false-alarm budget"
)

#: A setup cell declaring every parameter of PARAMETERS_CELL, as a chapter notebook does.
DECLARED_SETUP = (
    "from mlsys_kit import Choice, Float, Int, check_parameters\n"
    "\n"
    "PARAMETERS = {\n"
    '    "seed": Int(min=0),\n'
    '    "n": Int(min=1, max=1_000),\n'
    '    "mode": Choice("fast", "slow"),\n'
    '    "alpha": Float(min=0.02, max=0.1),\n'
    "}\n"
    "check_parameters(PARAMETERS, globals())"
)


def write_notebook(
    path: Path,
    *cells: str,
    title: str = "# A tiny notebook",
    parameters: str = PARAMETERS_CELL,
) -> Path:
    """Write a notebook: a title, a ``parameters`` cell, then one code cell per string."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(title), params, *(new_code_cell(code) for code in cells)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def make_notebook():
    """:func:`write_notebook`: ``make_notebook(path, *code_cells, title=..., parameters=...)``."""
    return write_notebook


@pytest.fixture
def declared_setup() -> str:
    """A setup cell declaring every parameter of the fixture notebooks' parameters cell."""
    return DECLARED_SETUP


@pytest.fixture
def notebook_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kit of two notebooks in ``tmp_path/notebooks``, found by the catalog.

    * 01/01 ``tiny``: declares its parameters; its claim holds.
    * 02/01 ``fails``: declares nothing (types only); its claim fails.
    """
    root = tmp_path / "notebooks"
    write_notebook(
        root / "01-overview" / "01-tiny.ipynb",
        DECLARED_SETUP,
        'from mlsys_kit import claim\nclaim("n is positive", n, ">", 0, digits=0)',
        "from mlsys_kit import verdict\nverdict()",
    )
    write_notebook(
        root / "02-design" / "01-fails.ipynb",
        'from mlsys_kit import claim\nclaim("n is huge", n, ">", 100, digits=0)',
        "from mlsys_kit import verdict\nverdict()",
        title="# A notebook whose claim fails",
    )
    monkeypatch.setenv(catalog.NOTEBOOKS_ENV, str(root))
    monkeypatch.chdir(tmp_path)
    return root


@pytest.fixture
def no_kernels(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make papermill refuse to run: a test proves that nothing started.

    Returns the list of notebooks papermill was asked to run (empty if all went well).
    """
    import papermill

    asked: list[str] = []

    def refuse(source: str, *args: object, **kwargs: object) -> None:
        asked.append(source)
        raise AssertionError(f"papermill was called for {source}")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    return asked


class ScriptedClock:
    """A fake ``time.perf_counter``: each timed round lasts the next scripted duration.

    Calls alternate between a round's start and its end; rounds are one hour apart so
    that a duration can never be confused with a gap between rounds.
    """

    def __init__(self, durations: Iterable[float]) -> None:
        self.durations = list(durations)
        self.calls = 0
        self._round = 0
        self._start = 0.0

    def __call__(self) -> float:
        self.calls += 1
        if self.calls % 2:  # a round starts
            self._start = 3600.0 * self._round
            return self._start
        duration = self.durations[self._round]
        self._round += 1
        return self._start + duration


@pytest.fixture
def scripted_clock() -> type[ScriptedClock]:
    """The :class:`ScriptedClock` class: ``scripted_clock([0.3, 0.1, 0.2])``."""
    return ScriptedClock


#: A notebook for sweeps: a lesson on n, a check, a metric, and knobs to fail or hang.
SWEPT_CELLS = (
    "from mlsys_kit import Choice, Int, check_parameters\n"
    "PARAMETERS = {'seed': Int(min=0), 'n': Int(min=1), 'mode': Choice('fast', 'slow', 'crash')}\n"
    "check_parameters(PARAMETERS, globals())",
    "import time\n"
    "if mode == 'crash':\n"
    "    raise RuntimeError('this run crashes')\n"
    "time.sleep(60 if mode == 'slow' else 0)",
    "from mlsys_kit import check, claim, record, verdict\n"
    "record('n_plus_seed', n + seed)\n"
    "claim(f'n ({n}) is above 2', n, '>', 2, digits=0)\n"
    "check('seed is a count', seed, '>=', 0, digits=0)\n"
    "verdict()",
)
SWEPT_PARAMETERS = "seed = 0\nn = 3\nmode = 'fast'"


def write_swept_notebook(path: Path, *, claim_words: str = "is above 2") -> Path:
    """Write the sweeps' notebook (:data:`SWEPT_CELLS`), its lesson worded ``claim_words``."""
    cells = [*SWEPT_CELLS[:-1], SWEPT_CELLS[-1].replace("is above 2", claim_words)]
    return write_notebook(path, *cells, parameters=SWEPT_PARAMETERS)


@pytest.fixture
def write_swept():
    """:func:`write_swept_notebook`: rewrite the sweeps' notebook, e.g. as a newer version."""
    return write_swept_notebook


@pytest.fixture
def swept(notebook_tree: Path) -> catalog.Notebook:
    """The sweeps' notebook, as 03/01 of a fixture tree."""
    write_swept_notebook(notebook_tree / "03-sweeps" / "01-swept.ipynb")
    return catalog.find("03/01")
