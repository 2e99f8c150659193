"""The teacher's workflow, end to end with otter-grader: release, then grade a class.

A small master notebook built here (two questions) stands for a chapter's exercise, so
that these tests say exactly what each submission holds. The chapters' own masters are
checked in tests/test_exercise_masters.py.
"""

import csv
import json
from pathlib import Path

import nbformat
import pytest

from mlsys_kit.kit import classroom
from mlsys_kit.kit.cli import main

pytestmark = pytest.mark.slow

CONFIG = """# ASSIGNMENT CONFIG
name: mlsys-kit-99
init_cell: true
check_all_cell: true
export_cell: false
run_tests: false
generate: true
tests:
  files: false
"""
Q1_TEST = """with question("q1", hint="The mean of `x`: x.mean().") as q:
    q.answered(m=m)
    q.expect(abs(m - x.mean()) < 1e-9, f"`m` is {m:.3f}, not the mean of `x`")"""
Q2_TEST = """with question("q2", hint="A threshold above every value flags nothing.") as q:
    q.answered(threshold=threshold)
    q.expect((x > threshold).sum() <= 5, f"{(x > threshold).sum()} values are above it")"""


def _master() -> nbformat.NotebookNode:
    raw, md, code = (
        nbformat.v4.new_raw_cell,
        nbformat.v4.new_markdown_cell,
        nbformat.v4.new_code_cell,
    )
    cells = [
        raw(CONFIG),
        md("# Chapter 99 exercises"),
        code("seed = 0", metadata={"tags": ["parameters"]}),
        code(
            "import numpy as np\nfrom mlsys_kit.exercises import question\n\n"
            "x = np.random.default_rng(seed).normal(size=200)"
        ),
    ]
    for name, answer, test in [
        ("q1", "m = x.mean()  # SOLUTION", Q1_TEST),
        ("q2", "threshold = np.quantile(x, 0.99)  # SOLUTION", Q2_TEST),
    ]:
        cells += [
            raw(f"# BEGIN QUESTION\nname: {name}\npoints: 2"),
            md(f"Answer {name}."),
            raw("# BEGIN SOLUTION"),
            code(answer),
            raw("# END SOLUTION"),
            raw("# BEGIN TESTS"),
            code(test),
            raw("# END TESTS"),
            raw("# END QUESTION"),
        ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


@pytest.fixture(scope="module")
def exercise(tmp_path_factory):
    root = tmp_path_factory.mktemp("exercises")
    path = root / "99-fixture" / "99-exercises.ipynb"
    path.parent.mkdir()
    nbformat.write(_master(), path)
    return classroom.discover_exercises(root)[0]


@pytest.fixture(scope="module")
def released(exercise, tmp_path_factory):
    return classroom.release([exercise], tmp_path_factory.mktemp("release"))[0]


def _answer_cells(notebook):
    return [c for c in notebook.cells if "otter_answer_cell" in c.metadata.get("tags", [])]


def test_release_writes_a_blank_student_version_and_an_autograder(released):
    student = nbformat.read(released.student[0], as_version=4)
    assert [c.source for c in _answer_cells(student)] == ["m = ...", "threshold = ..."]
    assert released.autograder.name == "99-exercises-autograder.zip"
    solution = nbformat.read(released.solution, as_version=4)
    assert any(c.source.startswith("m = x.mean()") for c in solution.cells)
    assert not list(released.autograder.parent.parent.parent.glob(".99-*"))  # no staging left


def test_each_student_gets_their_own_seed(exercise, tmp_path):
    released = classroom.release([exercise], tmp_path, students=["ada", "alan", ""])[0]
    assert [p.parent.name for p in released.student] == ["ada", "alan"]
    seeds = [classroom._read_seed(nbformat.read(p, as_version=4)) for p in released.student]
    assert seeds == [classroom.student_seed(exercise, name) for name in ("ada", "alan")]
    assert seeds[0] != seeds[1]


@pytest.mark.parametrize("names", [["../evil"], ["ada", "ada"], [".hidden"]])
def test_student_names_that_cannot_be_folders_are_refused(exercise, tmp_path, names):
    with pytest.raises(classroom.ParameterError, match="release: students"):
        classroom.release([exercise], tmp_path, students=names)
    assert not list(tmp_path.iterdir())


def test_a_master_otter_cannot_assign_is_named_with_otters_reason(tmp_path):
    broken = _master()
    broken.cells[0].source = broken.cells[0].source.replace("name:", "no_such_key: 1\nname:")
    path = tmp_path / "99-fixture" / "99-exercises.ipynb"
    path.parent.mkdir()
    nbformat.write(broken, path)
    cwd = Path.cwd()
    with pytest.raises(RuntimeError, match=r"otter assign failed on .*99-exercises.ipynb"):
        classroom.release(classroom.discover_exercises(tmp_path), tmp_path / "out")
    assert Path.cwd() == cwd, "otter's change of working folder is undone"


def test_check_master_passes_a_right_master_and_names_a_wrong_one(exercise, tmp_path):
    assert classroom.check_master(exercise, seeds=(0, 7)).problems == []
    wrong = _master()
    (q2_solution,) = [c for c in wrong.cells if c.source.startswith("threshold =")]
    q2_solution.source = "threshold = np.quantile(x, 0.5)  # SOLUTION"
    path = tmp_path / "99-fixture" / "99-exercises.ipynb"
    path.parent.mkdir()
    nbformat.write(wrong, path)
    problems = classroom.check_master(
        classroom.discover_exercises(tmp_path)[0], seeds=(0,)
    ).problems
    assert len(problems) == 1
    assert problems[0].startswith("99 solution seed=0: q2 case 1 fails")
    assert "values are above it" in problems[0]


def _submissions(released, folder):
    """A class of seven: right, partly right, blank, crashing, endless, corrupt, empty."""
    folder.mkdir()
    blank = nbformat.read(released.student[0], as_version=4)
    nbformat.write(nbformat.read(released.solution, as_version=4), folder / "right.ipynb")
    partial = nbformat.from_dict(json.loads(json.dumps(blank)))
    _answer_cells(partial)[0].source = "m = x.mean()"
    nbformat.write(partial, folder / "partial.ipynb")
    nbformat.write(blank, folder / "blank.ipynb")
    for name, code in [
        ("crashing", "import os\nos._exit(1)"),
        ("endless", "import time\ntime.sleep(3600)"),
    ]:
        broken = nbformat.from_dict(json.loads(json.dumps(partial)))
        broken.cells.insert(4, nbformat.v4.new_code_cell(code))
        nbformat.write(broken, folder / f"{name}.ipynb")
    (folder / "corrupt.ipynb").write_text('{"cells": [ oops', encoding="utf-8")
    (folder / "empty.ipynb").write_bytes(b"")


def test_grade_scores_a_class_and_one_bad_submission_never_stops_the_others(
    released, exercise, tmp_path, monkeypatch, capsys
):
    _submissions(released, tmp_path / "class")
    monkeypatch.setenv(classroom.EXERCISES_ENV, str(exercise.path.parents[1]))
    out = tmp_path / "grades.csv"
    argv = ["exercises", "grade", str(tmp_path / "class"), "--out", str(out)]
    # The endless submission holds the test for the whole limit; each other one takes 6-9 s on
    # an idle machine (otter's start and a kernel), so 30 s leaves them three times that.
    argv += ["--autograder", str(released.autograder), "--jobs", "3", "--timeout", "30"]
    assert main(argv) == 0
    rows = {row["student"]: row for row in csv.DictReader(out.open())}
    total = {name: float(row["total"]) for name, row in rows.items()}
    assert total == {
        "right": 4,
        "partial": 2,
        "blank": 0,
        "crashing": 0,
        "endless": 0,
        "corrupt": 0,
        "empty": 0,
    }
    assert rows["partial"]["q1"] == "2.0" and rows["partial"]["q2"] == "0.0"
    assert rows["right"]["possible"] == "4.0" and rows["right"]["seed"] == "0"
    assert rows["crashing"]["reason"].startswith("grading failed:")
    assert "Kernel died" in rows["crashing"]["reason"]
    assert rows["endless"]["reason"] == "did not finish within 30 s"
    assert rows["corrupt"]["reason"].startswith("not a notebook")
    assert rows["empty"]["reason"] == "empty file"
    assert rows["right"]["reason"] == rows["partial"]["reason"] == ""
    summary = list(csv.DictReader(out.with_name("grades-summary.csv").open()))
    assert [row["question"] for row in summary] == ["q1", "q2"]
    assert summary[1]["full marks"] == "1"
    assert summary[1]["most common failed check"].startswith(
        "q2 case 1: `threshold` is not answered yet"
    )
    printed = capsys.readouterr().out
    assert "endless: 0 points: did not finish within 30 s" in printed


def test_grade_reads_the_exercise_from_the_submissions(released, exercise, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "corrupt.ipynb").write_text("nope", encoding="utf-8")
    with pytest.raises(classroom.ExerciseNotFound, match="--exercise"):
        classroom.exercise_of(folder, [exercise])
    nbformat.write(nbformat.read(released.student[0], as_version=4), folder / "ada.ipynb")
    assert classroom.exercise_of(folder, [exercise]) == exercise


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["exercises", "release", "42", "--out", "x"], "no exercise '42'; there are: 99"),
        (["exercises", "grade", "no-such-dir", "--out", "g.csv"], "not a folder"),
    ],
)
def test_command_line_mistakes_are_named(exercise, monkeypatch, capsys, argv, message):
    monkeypatch.setenv(classroom.EXERCISES_ENV, str(exercise.path.parents[1]))
    assert main(argv) == 2
    assert message in capsys.readouterr().err
