"""The teacher's workflow: release the exercises, grade a folder of submissions.

Every chapter has a master notebook, ``exercises/NN-chapter-slug/NN-exercises.ipynb``, in
otter-grader's format (``# ASSIGNMENT CONFIG``, ``# BEGIN QUESTION``, ``# BEGIN SOLUTION``,
``# BEGIN TESTS``); its checks use :mod:`mlsys_kit.exercises`.

* :func:`release` runs otter's assign on masters: the student notebook (solutions replaced
  by ``...``, tests kept in its metadata so ``grader.check`` works offline) and the autograder
  (the solution notebook and a zip). With ``students``, each student gets their own copy whose
  ``seed`` (:func:`student_seed`, a stable hash of exercise and name) draws their own data.
* :func:`grade_folder` grades every submission with ``otter run`` against the autograder,
  each in its own process group with a time limit, several at once. A submission that is not
  a notebook, is empty, kills its kernel or never finishes gets a row of zeros and the reason;
  it never stops the others. :class:`Gradebook` is the class's table (one row per student,
  one column per question, a total) and a summary per question.

otter-grader does the assigning and the scoring; what is written here is what it leaves to
the course: finding the masters, one call for the whole release, and grading many
submissions robustly into one table.
"""

from __future__ import annotations

import ast
import collections
import contextlib
import doctest
import io
import json
import linecache
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pandas as pd
from threadpoolctl import threadpool_limits

from mlsys_kit.kit.catalog import repository_folder
from mlsys_kit.params import ParameterError, check_file_names, check_float, check_int
from mlsys_kit.results import Report

__all__ = [
    "Exercise",
    "ExerciseNotFound",
    "Released",
    "Submission",
    "Gradebook",
    "exercises_dir",
    "discover_exercises",
    "find_exercise",
    "student_seed",
    "release",
    "grade_submission",
    "exercise_of",
    "grade_folder",
    "CaseResult",
    "MasterCheck",
    "check_master",
]

EXERCISES_ENV = "MLSYS_KIT_EXERCISES"
_MASTER = re.compile(r"^(\d\d)-exercises\.ipynb$")
_OTTERS_CELL = re.compile(r"\s*(# Initialize Otter|grader\.check)")
_FAILED_CASE = re.compile(r"(q\w+) - (\d+) result:\n\s*❌")
_FEEDBACK = re.compile(r"ExerciseFeedback: \S+ is not right yet:\n\s*- (.*)")


class ExerciseNotFound(LookupError):
    """No exercise matches a name; the message lists the ones there are."""


@dataclass(frozen=True)
class Exercise:
    """One chapter's master notebook.

    Attributes
    ----------
    path : Path
        ``exercises/NN-chapter-slug/NN-exercises.ipynb``.
    chapter : int
    chapter_slug : str
    """

    path: Path
    chapter: int
    chapter_slug: str

    @property
    def id(self) -> str:
        """``"NN"``, the chapter number."""
        return f"{self.chapter:02d}"

    @property
    def assignment_name(self) -> str:
        """The name in its ``ASSIGNMENT CONFIG``: otter refuses a submission of another one."""
        return f"mlsys-kit-{self.id}"

    @property
    def points(self) -> dict[str, float]:
        """Points per question, in order (``q1``, ``q2``, …), from the ``BEGIN QUESTION`` cells."""
        points = {}
        for cell in nbformat.read(self.path, as_version=4).cells:
            if cell.cell_type == "raw" and cell.source.lstrip().startswith("# BEGIN QUESTION"):
                name = re.search(r"^name:\s*(\S+)", cell.source, re.MULTILINE)
                value = re.search(r"^points:\s*([\d.]+)", cell.source, re.MULTILINE)
                if name:
                    points[name[1]] = float(value[1]) if value else 1.0
        return points


def exercises_dir() -> Path:
    """The folder that holds the exercise folders.

    ``MLSYS_KIT_EXERCISES`` if set; else the repository's ``exercises/`` (beside the
    installed package, for an editable install or a clone); else ``./exercises``.
    """
    return repository_folder("exercises", EXERCISES_ENV)


def discover_exercises(root: Path | None = None) -> list[Exercise]:
    """Every master notebook under ``root`` (default :func:`exercises_dir`), by chapter."""
    root = root or exercises_dir()
    found = []
    for path in sorted(root.glob("[0-9][0-9]-*/[0-9][0-9]-exercises.ipynb")):
        match = _MASTER.match(path.name)
        if match and path.parent.name.startswith(match[1]):
            found.append(Exercise(path=path, chapter=int(match[1]), chapter_slug=path.parent.name))
    return found


def find_exercise(ref: str, exercises: list[Exercise] | None = None) -> Exercise:
    """The exercise named by ``ref``: a chapter number (``"4"``, ``"04"``), a folder name
    (``"04-training-data"``), an assignment name (``"mlsys-kit-04"``) or a path.

    Raises
    ------
    ExerciseNotFound
        Naming the exercises there are.
    """
    exercises = discover_exercises() if exercises is None else exercises
    path = Path(ref)
    for exercise in exercises:
        if path.suffix == ".ipynb" and path.exists() and path.resolve() == exercise.path.resolve():
            return exercise
        names = {
            exercise.id,
            exercise.chapter_slug,
            exercise.assignment_name,
            str(exercise.chapter),
        }
        if ref.strip().lower() in names:
            return exercise
    known = ", ".join(f"{e.id} ({e.chapter_slug})" for e in exercises) or "none"
    raise ExerciseNotFound(f"no exercise {ref!r}; there are: {known}")


def student_seed(exercise: Exercise, student: str) -> int:
    """The ``seed`` of ``student``'s copy of ``exercise``: stable across machines and runs.

    Examples
    --------
    >>> ex = Exercise(Path("exercises/04-training-data/04-exercises.ipynb"), 4, "04-training-data")
    >>> student_seed(ex, "ada") == student_seed(ex, "ada") != student_seed(ex, "alan")
    True
    """
    return zlib.crc32(f"{exercise.assignment_name}:{student}".encode()) % 1_000_000


@dataclass(frozen=True)
class Released:
    """What :func:`release` wrote for one exercise.

    Attributes
    ----------
    exercise : Exercise
    student : tuple of Path
        The student notebooks: one, or one per student.
    autograder : Path
        The zip that ``otter run -a`` and :func:`grade_folder` grade against.
    solution : Path
        The solution notebook (keep it from the students).
    """

    exercise: Exercise
    student: tuple[Path, ...]
    autograder: Path
    solution: Path


#: ``python -m otter``, after :func:`~mlsys_kit.notebook.skip_iri_grammars`: otter's start-up
#: imports nbformat, and with it jsonschema's IRI grammars (seconds per graded submission).
_OTTER_MAIN = (
    "from mlsys_kit.notebook import skip_iri_grammars; skip_iri_grammars(); "
    "from otter.cli import cli; cli(prog_name='otter')"
)


def _otter(
    *args: str | Path, timeout: float | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run otter's command line in this interpreter, in its own process group.

    On ``timeout`` the whole group (otter and the kernel it started) is killed and
    :class:`subprocess.TimeoutExpired` raised.
    """
    command = [sys.executable, "-c", _OTTER_MAIN, *map(str, args)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _assign(exercise: Exercise, out: Path) -> tuple[Path, Path, Path]:
    """``otter assign`` into ``out``: (student notebook, solution notebook, autograder zip).

    Run in this process, through otter's Python API: assigning takes a few hundredths of a
    second, while otter's command line starts an interpreter and imports otter (about 4 s)
    for each exercise. otter changes the working folder while it assigns (and restores it),
    so call this from one thread at a time.
    """
    with warnings.catch_warnings():  # otter imports ipylab, which passes traitlets types
        warnings.filterwarnings("ignore", "Traits should be given as instances", DeprecationWarning)
        from otter.assign import main as otter_assign

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            otter_assign(str(exercise.path), str(out))
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}\n{printed.getvalue()[-2000:]}".rstrip()
        raise RuntimeError(f"otter assign failed on {exercise.path}:\n{why}") from exc
    name = exercise.path.name
    zips = sorted((out / "autograder").glob("*.zip"))
    autograder = out / "autograder" / f"{exercise.path.stem}-autograder.zip"
    zips[-1].rename(autograder)  # otter stamps the name with the time; keep it stable
    return out / "student" / name, out / "autograder" / name, autograder


def _with_seed(notebook: Path, seed: int, out: Path) -> Path:
    """A copy of ``notebook`` with ``seed`` injected after its parameters cell (papermill)."""
    import papermill

    out.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook),
        str(out),
        parameters={"seed": seed},
        prepare_only=True,
        progress_bar=False,
        language="python",
    )
    return out


def release(
    exercises: list[Exercise], out: Path, *, students: list[str] | None = None
) -> list[Released]:
    """Write each exercise's student version and autograder into ``out/NN-chapter-slug/``.

    Parameters
    ----------
    exercises : list of Exercise
        From :func:`discover_exercises` or :func:`find_exercise`.
    out : Path
        The release folder; an exercise's folder in it is replaced only once its new
        version is complete.
    students : list of str, optional
        Names (file-name safe); each gets ``student/<name>/NN-exercises.ipynb`` with
        their own ``seed`` (:func:`student_seed`). Without, one notebook with ``seed = 0``.

    Returns
    -------
    list of Released
    """
    names = check_file_names("students", students or [], owner="release")
    out.mkdir(parents=True, exist_ok=True)
    return [_release_one(exercise, out, names) for exercise in exercises]


def _release_one(exercise: Exercise, out: Path, students: list[str]) -> Released:
    """Assign into a hidden staging folder, then move it into place."""
    final = out / exercise.chapter_slug
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{exercise.id}-") as tmp:
        staging = Path(tmp) / "release"
        student, solution, autograder = _assign(exercise, staging)
        copies = [
            _with_seed(student, student_seed(exercise, name), student.parent / name / student.name)
            for name in students
        ]
        if copies:
            student.unlink()
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    return Released(
        exercise=exercise,
        student=tuple(final / path.relative_to(staging) for path in copies or [student]),
        autograder=final / autograder.relative_to(staging),
        solution=final / solution.relative_to(staging),
    )


@dataclass(frozen=True)
class Submission:
    """One graded submission.

    Attributes
    ----------
    student : str
        The file's stem, or its folder's name when the file keeps the exercise's name.
    path : Path
    scores : dict of str to float
        Points per question (zeros when it could not be graded).
    possible : dict of str to float
        Points each question is worth.
    seed : int or None
        The ``seed`` the submission ran with, if it could be read.
    reason : str
        Empty when graded; else why it got zeros.
    failed_checks : tuple of str
        Each failed test case, as ``"q2 case 1: <first problem>"``.
    """

    student: str
    path: Path
    scores: dict[str, float]
    possible: dict[str, float]
    seed: int | None
    reason: str = ""
    failed_checks: tuple[str, ...] = field(default=())

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))


def _student_name(path: Path, exercise: Exercise) -> str:
    return path.parent.name if path.name == exercise.path.name else path.stem


def _read_seed(notebook: nbformat.NotebookNode) -> int | None:
    """The last ``seed = <int>`` of the parameters and injected-parameters cells."""
    seed = None
    for cell in notebook.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type != "code" or not tags & {"parameters", "injected-parameters"}:
            continue
        try:
            statements = ast.parse(cell.source).body
        except SyntaxError:
            continue
        for node in statements:
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["seed"]
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, int)
            ):
                seed = node.value.value
    return seed


def _last_error(stderr: str) -> str:
    """The last ``SomeError: message`` line of a traceback."""
    lines = [line.strip() for line in stderr.splitlines()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b.*", line)]
    return errors[-1] if errors else (lines[-1] if lines else "")


def _read_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook, or ``None`` and why it cannot be graded."""
    if path.stat().st_size == 0:
        return None, "empty file"
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # any unreadable file: reported, never raised
        return None, f"not a notebook: {type(error).__name__}: {str(error)[:120]}"
    if not any(cell.cell_type == "code" and cell.source.strip() for cell in notebook.cells):
        return None, "empty notebook: no code"
    return notebook, ""


def grade_submission(
    path: Path, exercise: Exercise, autograder: Path, *, timeout: float = 300
) -> Submission:
    """Grade one submitted notebook with ``otter run``; never raises for a bad submission.

    Parameters
    ----------
    path : Path
        The submitted notebook.
    exercise : Exercise
        What it is a submission of (its questions name the columns).
    autograder : Path
        The zip from :func:`release`.
    timeout : float, default 300
        Seconds before the run (otter and its kernel) is killed and scored zero.

    Returns
    -------
    Submission
    """
    timeout = check_float("timeout", timeout, min=0, open_min=True, owner="grade_submission")
    possible = exercise.points
    zeros = dict.fromkeys(possible, 0.0)
    student = _student_name(path, exercise)
    notebook, reason = _read_submission(path)
    if notebook is None:
        return Submission(student, path, zeros, possible, None, reason)
    seed = _read_seed(notebook)
    with tempfile.TemporaryDirectory(prefix="mlsys-kit-grade-") as tmp:
        try:
            result = _otter(
                "run", "-a", autograder, "-o", tmp, path.resolve(), timeout=timeout, cwd=Path(tmp)
            )
        except subprocess.TimeoutExpired:
            return Submission(
                student, path, zeros, possible, seed, f"did not finish within {timeout:g} s"
            )
        results = Path(tmp) / "results.json"
        if result.returncode or not results.exists():
            reason = f"grading failed: {_last_error(result.stderr) or 'no results'}"
            return Submission(student, path, zeros, possible, seed, reason)
        tests = json.loads(results.read_text(encoding="utf-8"))["tests"]
    scores = dict(zeros)
    failed = []
    for test in tests:
        if test["name"] in scores:
            scores[test["name"]] = float(test.get("score") or 0)
            failed.extend(_failed_checks(test.get("output", "")))
    return Submission(student, path, scores, possible, seed, "", tuple(failed))


def _failed_checks(output: str) -> list[str]:
    """``"q2 case 1: <first problem>"`` for each failed test case in otter's output."""
    failed = []
    pieces = re.split(r"(?=\n\s*q\w+ - \d+ result:)", output)
    for piece in pieces:
        case = _FAILED_CASE.search(piece)
        if case:
            problem = _FEEDBACK.search(piece)
            detail = problem[1].strip() if problem else "failed without feedback"
            failed.append(f"{case[1]} case {case[2]}: {detail}")
    return failed


@dataclass(frozen=True)
class Gradebook(Report):
    """The grades of a class on one exercise.

    Attributes
    ----------
    exercise : Exercise
    submissions : tuple of Submission
        Sorted by student.
    """

    exercise: Exercise
    submissions: tuple[Submission, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per student: a column per question, then ``total``, ``possible``, ``seed``
        and ``reason`` (empty when graded)."""
        points = self.exercise.points
        questions, possible = list(points), sum(points.values())
        rows = [
            {
                "student": s.student,
                **{q: s.scores.get(q, 0.0) for q in questions},
                "total": s.total,
                "possible": possible,
                "seed": s.seed,
                "reason": s.reason,
            }
            for s in self.submissions
        ]
        columns = ["student", *questions, "total", "possible", "seed", "reason"]
        return pd.DataFrame(rows, columns=columns).astype({"seed": "Int64"})

    def summary(self) -> pd.DataFrame:
        """Per question: points, mean score, share with full marks, the most common failed check."""
        rows = []
        for question, points in self.exercise.points.items():
            scores = [s.scores.get(question, 0.0) for s in self.submissions]
            fails = collections.Counter(
                check.split(": ", 1)[0] + ": " + _without_numbers(check.split(": ", 1)[1])
                for s in self.submissions
                for check in s.failed_checks
                if check.startswith(f"{question} case ")
            )
            common = fails.most_common(1)
            rows.append(
                {
                    "question": question,
                    "points": points,
                    "mean": sum(scores) / len(scores) if scores else 0.0,
                    "full marks": sum(score >= points for score in scores),
                    "most common failed check": f"{common[0][0]} ({common[0][1]}×)"
                    if common
                    else "",
                }
            )
        return pd.DataFrame(rows)


def _without_numbers(text: str) -> str:
    """A failed check's message with its numbers replaced, so that students' messages group."""
    return re.sub(r"-?\d[\d.,]*", "…", text)


def exercise_of(submissions: Path, exercises: list[Exercise] | None = None) -> Exercise:
    """The exercise the notebooks under ``submissions`` answer, from otter's metadata.

    Raises
    ------
    ExerciseNotFound
        When no readable notebook names one, or they name several.
    """
    exercises = discover_exercises() if exercises is None else exercises
    names = set()
    for path in sorted(submissions.rglob("*.ipynb")):
        notebook, _ = _read_submission(path)
        if notebook is not None:
            name = notebook.metadata.get("otter", {}).get("assignment_name")
            names.update([name] if name else [])
    if len(names) != 1:
        found = ", ".join(sorted(names)) or "none"
        raise ExerciseNotFound(
            f"cannot tell which exercise {submissions} holds (assignment names found: {found}); "
            "name it with --exercise"
        )
    return find_exercise(names.pop(), exercises)


def grade_folder(
    submissions: Path,
    exercise: Exercise,
    autograder: Path,
    *,
    jobs: int = 2,
    timeout: float = 300,
) -> Gradebook:
    """Grade every ``*.ipynb`` under ``submissions`` (checkpoints skipped), ``jobs`` at once.

    Returns
    -------
    Gradebook
        One row per submission, sorted by student.
    """
    jobs = check_int("jobs", jobs, min=1, owner="grade_folder")
    timeout = check_float("timeout", timeout, min=0, open_min=True, owner="grade_folder")
    paths = sorted(
        path for path in submissions.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
    )
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        graded = list(
            pool.map(lambda p: grade_submission(p, exercise, autograder, timeout=timeout), paths)
        )
    return Gradebook(exercise, tuple(sorted(graded, key=lambda s: s.student)))


@dataclass(frozen=True)
class CaseResult:
    """One test case of a master, run on one version of its notebook.

    Attributes
    ----------
    version : str
        ``"solution seed=N"`` or ``"blank"``.
    question : str
    case : int
        1-based, as otter numbers them.
    passed : bool
    message : str
        The feedback (or other error) when it failed.
    """

    version: str
    question: str
    case: int
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class MasterCheck(Report):
    """What :func:`check_master` found: every case on every version.

    Attributes
    ----------
    exercise : Exercise
    cases : tuple of CaseResult
    """

    exercise: Exercise
    cases: tuple[CaseResult, ...]

    @property
    def problems(self) -> list[str]:
        """Solutions' failed cases, and blank cases that passed or failed without a hint."""
        problems = []
        for case in self.cases:
            where = f"{self.exercise.id} {case.version}: {case.question} case {case.case}"
            if case.version != "blank" and not case.passed:
                problems.append(f"{where} fails: {case.message}")
            elif case.version == "blank" and (case.passed or "Hint: " not in case.message):
                problems.append(f"{where} {'passes' if case.passed else 'fails without a hint'}")
        return problems

    def to_frame(self) -> pd.DataFrame:
        """One row per case and version."""
        return pd.DataFrame([vars(case) for case in self.cases])


def check_master(exercise: Exercise, *, seeds: tuple[int, ...] = (0, 1, 2)) -> MasterCheck:
    """Check a master the way its students will meet it, quickly and in this process.

    ``otter assign`` must succeed; then (with one native thread, as the notebooks' setup
    does) the solution notebook's code runs once per seed
    and must pass every test case, and the blank student notebook's code (cells that
    raise are skipped, as otter's grading does) must fail every case with a hint. The
    cases run as otter runs them (as doctests that must print nothing), without a kernel.

    Parameters
    ----------
    exercise : Exercise
    seeds : tuple of int, default (0, 1, 2)
        The solution must pass on each.

    Returns
    -------
    MasterCheck
        Its ``problems`` are empty when the master is right.
    """
    if not seeds or not all(isinstance(seed, int) for seed in seeds):
        raise ParameterError(f"check_master: seeds must be integers, got {seeds!r}")
    with tempfile.TemporaryDirectory(prefix="mlsys-kit-check-") as tmp:
        student, solution, _ = _assign(exercise, Path(tmp))
        student_nb = nbformat.read(student, as_version=4)
        solution_nb = nbformat.read(solution, as_version=4)
    tests = student_nb.metadata["otter"]["tests"]
    cases = []
    with threadpool_limits(limits=1):  # as a notebook's setup does: fast and stable beside others
        for seed in seeds:
            namespace = _run_code(solution_nb, seed, allow_errors=False)
            cases += _run_cases(tests, namespace, f"solution seed={seed}")
        cases += _run_cases(tests, _run_code(student_nb, seeds[0], allow_errors=True), "blank")
    return MasterCheck(exercise, tuple(cases))


def _run_code(notebook: nbformat.NotebookNode, seed: int, *, allow_errors: bool) -> dict:
    """Run a notebook's code cells in a fresh namespace, with ``seed`` for the parameters
    cell, printing nothing; otter's own cells (``import otter``, ``grader.check``) are left
    out. Each cell's source is registered with :mod:`linecache`, as IPython does, so that
    code which reads a function's source (``inspect.getsource``) works as in a kernel."""
    namespace: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or _OTTERS_CELL.match(cell.source):
                continue
            tags = cell.metadata.get("tags", [])
            source = f"seed = {seed}" if "parameters" in tags else cell.source
            filename = f"<exercise cell {index} seed {seed}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            try:
                exec(compile(source, filename, "exec"), namespace)
            except Exception:
                if not allow_errors:
                    raise
    return namespace


def _run_cases(tests: dict, namespace: dict, version: str) -> list[CaseResult]:
    results = []
    for question, test in tests.items():
        for number, case in enumerate(test["suites"][0]["cases"], start=1):
            parsed = doctest.DocTestParser().get_doctest(case["code"], namespace, question, None, 0)
            runner = _QuietRunner(verbose=False)
            runner.run(parsed, clear_globs=False)
            passed = runner.failures == 0
            results.append(CaseResult(version, question, number, passed, runner.message))
    return results


class _QuietRunner(doctest.DocTestRunner):
    """A doctest runner that keeps the failure's message instead of printing a report."""

    message = ""

    def report_failure(self, out, test, example, got):  # type: ignore[no-untyped-def]
        self.message = f"printed {got!r} (a test cell must print nothing)"

    def report_unexpected_exception(self, out, test, example, exc_info):  # type: ignore[no-untyped-def]
        self.message = f"{exc_info[0].__name__}: {exc_info[1]}"
