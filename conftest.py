"""Test-session set-up: notebooks are regression tests.

Each notebook under ``notebooks/`` (and the template) is collected twice:

* by nbval (``--nbval`` in pyproject.toml): one item per cell, re-executed with the
  default parameters and compared with the stored outputs;
* by :class:`PapermillNotebook` below: one item per parameter set in
  ``tests/notebook_parameters.toml``, run through papermill; every claim must hold,
  except in an *edge* set (``edge = "<start of a lesson>"``): a run past that lesson's
  edge must show every claim, that lesson failed, and fail at its ``verdict()``.

Both kinds run notebooks in kernels, so both are marked ``slow``: ``pytest -m "not slow"``
runs the unit tests, the doctests and the static notebook checks, in seconds.

Both kinds of item share the notebook's file path, so ``--dist loadfile`` keeps one
notebook's items on one xdist worker (nbval's cells must run in order in one kernel)
while different notebooks run in parallel. (``--dist loadgroup`` would be finer, but
pytest-xdist 3.8 ignores its groups under pytest 9.2: pytest-xdist issue 1386.)
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent
PARAMETER_SETS_FILE = ROOT / "tests" / "notebook_parameters.toml"
TEMPLATE = ROOT / "templates" / "chapter-notebook.ipynb"

#: In a parameter set, names the lesson that the set is past the edge of (not a parameter).
EDGE_KEY = "edge"
#: In an edge set, ``true`` when chance decides there and "Try it" says so (not a parameter): the
#: edges reliability report then asks the lesson to fail on most unseen seeds, not on 95%.
CHANCE_KEY = "by_chance"


def pytest_configure(config: pytest.Config) -> None:
    # Every kernel a test starts is a fork of one warm process (mlsys_kit.kit.kernels): the
    # imports that each new kernel repeats, about 1.5 s of every execution, are paid once.
    from mlsys_kit.kit.kernels import use_forked_kernels

    use_forked_kernels()
    # On a fresh machine matplotlib builds its font cache on first import and says so on
    # stderr; build it here, once, so no notebook kernel prints that message.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.font_manager


@pytest.fixture(autouse=True)
def _environment_restored():
    """A test's changes to ``os.environ`` end with it (doctests included).

    ``setup_notebook``'s doctest, for one, sets the thread-count variables in the test process;
    left there, they would reach every kernel the process starts later, and no such kernel could
    be forked from a server that imported without them. The kernel server's own variables, set on
    first use, are kept.
    """
    import os

    from mlsys_kit.kit.kernels import SERVER_ENV

    before = dict(os.environ)
    yield
    server = os.environ.get(SERVER_ENV)
    os.environ.clear()
    os.environ.update(before)
    if server is not None:
        os.environ[SERVER_ENV] = server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark nbval's cell items ``slow``: each runs in a notebook kernel."""
    for item in items:
        if type(item).__module__.startswith("nbval"):
            item.add_marker(pytest.mark.slow)


def parameter_sets() -> dict[str, list[dict[str, Any]]]:
    """The TOML file's sets, keyed by notebook id ("NN/MM") or "template"."""
    return tomllib.loads(PARAMETER_SETS_FILE.read_text(encoding="utf-8"))


def _notebook_key(path: Path) -> str | None:
    if path.resolve() == TEMPLATE:
        return "template"
    from mlsys_kit.kit.catalog import NotebookNotFound, find

    try:
        return find(str(path)).id
    except NotebookNotFound:
        return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".ipynb" and ".ipynb_checkpoints" not in file_path.parts:
        key = _notebook_key(file_path)
        if key is not None:
            return PapermillNotebook.from_parent(parent, path=file_path, key=key)
    return None


class PapermillNotebook(pytest.File):
    """The papermill runs of one notebook, one item per parameter set."""

    def __init__(self, *, key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key

    def collect(self):
        for index, params in enumerate(parameter_sets().get(self.key, []), start=1):
            label = ",".join(f"{name}={value}" for name, value in params.items())
            yield PapermillRun.from_parent(self, name=f"papermill#{index}[{label}]", params=params)


class PapermillRun(pytest.Item):
    """Run a notebook with one parameter set; fail when it errors or a claim fails."""

    def __init__(self, *, params: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.params = params
        self.add_marker(pytest.mark.slow)

    def runtest(self) -> None:
        from mlsys_kit.kit.runner import run_one

        tmp = self.config._tmp_path_factory.mktemp("papermill")  # type: ignore[attr-defined]
        params = {k: v for k, v in self.params.items() if k not in (EDGE_KEY, CHANCE_KEY)}
        # nbval renders the figures at the defaults; here only claims are read, so figures are
        # shown as text and never drawn (about a second per multi-panel figure), and the kernel
        # is killed after its last cell, as nbval does, not left to tear down (half a second).
        result = run_one(
            self.path,
            tmp / self.path.name,
            params,
            notebook_id=self.parent.key,
            draw_figures=False,
            kill_kernel=True,
        )
        if EDGE_KEY in self.params:
            self._check_edge(result, self.params[EDGE_KEY])
            return
        if result.error is not None:
            raise NotebookRunFailed(f"{result.error}\n(executed copy: {result.output})")
        failed = [c.line for c in result.claims if not c.passed]
        if not result.claims or failed:
            raise NotebookRunFailed(
                "claims failed: " + "; ".join(failed) if failed else "no claims"
            )

    def _check_edge(self, result: Any, lesson: str) -> None:
        """Past a lesson's edge: every claim shown, that lesson failed, the verdict failed."""
        from mlsys_kit.kit.catalog import find

        failed = [c for c in result.claims if not c.passed and c.kind == "lesson"]
        if not any(c.statement.startswith(lesson) for c in failed):
            raise NotebookRunFailed(
                f"edge set: no failed lesson starts with {lesson!r}; failed: "
                f"{[c.statement for c in failed]}; error: {result.error}"
            )
        if not (result.error or "").startswith("ClaimFailed"):
            raise NotebookRunFailed(f"edge set: the run must end at verdict(); got {result.error}")
        if self.parent.key != "template":
            stored = len(find(self.parent.key).claims)
            if len(result.claims) != stored:
                raise NotebookRunFailed(
                    f"edge set: {len(result.claims)} claims shown, the notebook has {stored}: "
                    "every verdict must be shown before the run fails"
                )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, NotebookRunFailed):
            return f"{self.parent.key} with {self.params}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.parent.key} papermill {self.params}"


class NotebookRunFailed(Exception):
    """A papermill run of a notebook errored or broke a claim."""
