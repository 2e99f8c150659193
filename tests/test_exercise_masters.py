"""Every chapter's classroom exercise: its master is well formed, ``otter assign`` takes it,
its solution passes every check on several seeds, and its blank version fails every check
with a hint (see mlsys_kit.kit.classroom.check_master; the grading itself is tested in
tests/test_classroom.py)."""

import nbformat
import pytest

from mlsys_kit.kit.catalog import CHAPTERS
from mlsys_kit.kit.classroom import check_master, discover_exercises

EXERCISES = discover_exercises()
SEEDS = (0, 1, 2)


def test_every_chapter_has_an_exercise():
    assert [exercise.chapter for exercise in EXERCISES] == list(CHAPTERS)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_a_master_is_well_formed(exercise):
    notebook = nbformat.read(exercise.path, as_version=4)
    config = notebook.cells[0]
    assert config.cell_type == "raw" and config.source.startswith("# ASSIGNMENT CONFIG")
    assert f"name: {exercise.assignment_name}\n" in config.source
    assert 3 <= len(exercise.points) <= 6, "3 to 6 questions"
    assert list(exercise.points) == [f"q{i}" for i in range(1, len(exercise.points) + 1)]
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and parameters[0].source.lstrip().startswith("seed = 0")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "stored without outputs"


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_solutions_pass_and_blanks_fail_with_hints(exercise):
    report = check_master(exercise, seeds=SEEDS)
    assert report.problems == []
    assert {case.version for case in report.cases} == {f"solution seed={s}" for s in SEEDS} | {
        "blank"
    }
