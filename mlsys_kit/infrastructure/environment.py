"""The development environment, notebooks against scripts, and what building costs against buying.

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), Chapter 10,
"Development Environment" (standardize dev environments; from dev to prod: containers) and
"Build Versus Buy".

**A standardized environment** is a list of every package at its tested version (the kit's
``constraints.txt``) and a container recipe that installs exactly that list (the kit's
``Containerfile``). Both drift: a recipe gains a line pinning another version, a laptop misses a
package. Two checks catch it, loudly and by name:

* :func:`check_recipe` parses a recipe (:func:`parse_recipe`) and checks it against
  ``constraints.txt`` and ``pyproject.toml``: the base image pinned to a patch version (or a
  digest), its Python within ``requires-python`` and one of the tested versions (the
  ``Programming Language :: Python :: X.Y`` classifiers), every ``pip install`` run with the
  constraints file (copied into the image), every inline ``pkg==x`` pin equal to the
  constraints' pin;
* :func:`check_environment` checks the *running* environment (:mod:`importlib.metadata`)
  against ``constraints.txt``: each installed package at another version than its pin, and
  each package the kit requires (:func:`project_requirements`) missing. A pinned package that
  nothing requires may be absent: a constraints file constrains versions, it installs nothing
  (the test tools are pinned too, and installed only with the ``test`` extra).

Both return a :class:`~mlsys_kit.results.Report` whose ``raise_if_drifted`` raises
:class:`EnvironmentDriftError` naming every problem. Requirement and version parsing is
:mod:`packaging`'s (pip's own library); the recipe parser is hand-written because no maintained
library in the stack reads Containerfiles, and it only needs instructions, not a shell.

**Notebooks against scripts.** One pipeline step (train and evaluate a fraud model on the
marketplace simulator) in two forms: the step notebook shipped beside this module
(:data:`STEP_NOTEBOOK`, executed by :func:`run_step_notebook` through papermill) and the plain
function :func:`train_evaluate_step`. The two forms hold the same lines of code (the notebook's
cells are the function's body), so a change to one that is not made to the other shows as a
different result; the notebook of chapter 10 checks that they agree and measures what each costs.

**Build against buy.** :func:`asof_join_loop` is a point-in-time join written by hand (a loop
and :func:`bisect.bisect_right`), to compare with the one the kit buys (DuckDB's ``ASOF JOIN``,
:func:`~mlsys_kit.infrastructure.feature_store.point_in_time_join`): it is hand-written because
it *is* the "build" side of the comparison. :func:`code_lines` counts the lines of code each
side had to write, from the source; :func:`cold_start_seconds` times a library's setup (import,
connect) in fresh interpreters.

Examples
--------
>>> constraints = "numpy==2.3.5\\npandas==3.0.1\\n"
>>> recipe = '''
... FROM python:3.11.7-slim
... COPY constraints.txt pyproject.toml ./
... RUN pip install -c constraints.txt -e . && pip install numpy==2.2.0
... '''
>>> pyproject = '[project]\\nrequires-python = ">=3.11"\\nclassifiers = [\\n'
>>> pyproject += '  "Programming Language :: Python :: 3.11",\\n]\\n'
>>> report = check_recipe(recipe, constraints, pyproject)
>>> [(f.check, f.found) for f in report.problems]
[('installs with constraints.txt', 'pip install numpy==2.2.0 (line 4)'), \
('pin matches constraints.txt', '2.2.0')]
>>> check_environment(constraints, installed={"numpy": "2.3.5"}, required=["pandas"]).to_frame()
  package pinned installed   status
0   numpy  2.3.5     2.3.5       ok
1  pandas  3.0.1       NaN  missing
"""

from __future__ import annotations

import ast
import bisect
import inspect
import json
import re
import shlex
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.params import ParameterError, check_choice, check_int, check_type
from mlsys_kit.results import Report

__all__ = [
    "STEP_NOTEBOOK",
    "ContainerRecipe",
    "EnvironmentDriftError",
    "EnvironmentReport",
    "NotebookStepRun",
    "PipInstall",
    "RecipeFinding",
    "RecipeReport",
    "StepResult",
    "asof_join_loop",
    "check_environment",
    "check_recipe",
    "code_lines",
    "cold_start_seconds",
    "installed_versions",
    "parse_constraints",
    "parse_recipe",
    "project_file",
    "project_requirements",
    "run_step_notebook",
    "train_evaluate_step",
]

#: The step notebook: :func:`train_evaluate_step` as a parameterized notebook.
STEP_NOTEBOOK = Path(__file__).with_name("step_notebook.ipynb")

_ROOT = Path(__file__).resolve().parents[2]
_CLOCKS = ("perf_counter", "process_time")  # what cold_start_seconds may read
_PATCH_TAG = re.compile(r"^(\d+\.\d+\.\d+)(?:[-_.].*)?$")
_MINOR_TAG = re.compile(r"^(\d+\.\d+)(?:\.\d+)?")
_TESTED = re.compile(r"Programming Language :: Python :: (\d+\.\d+)$")
_PIP_OPTIONS_WITH_VALUE = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--target",
    "-t",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--only-binary",
    "--no-binary",
}


class EnvironmentDriftError(RuntimeError):
    """An environment or a recipe differs from the standardized one (names every difference)."""


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def parse_constraints(text: str) -> dict[str, str]:
    """The pins of a constraints file: canonical package name to version.

    Parameters
    ----------
    text : str
        The file's text: one ``name==version`` a line; ``#`` comments and blank lines are
        skipped.

    Returns
    -------
    dict of str to str

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a line is not a requirement pinned with ``==`` (the line is named).

    Examples
    --------
    >>> parse_constraints("# pins\\nNumPy==2.3.5\\nscikit_learn==1.8.0")
    {'numpy': '2.3.5', 'scikit-learn': '1.8.0'}
    >>> parse_constraints("numpy>=2")
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: parse_constraints: line 1 'numpy>=2' is not a pin: \
write name==version
    """
    from packaging.requirements import InvalidRequirement, Requirement

    check_type("text", text, str, owner="parse_constraints")
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            requirement = None
        specs = list(requirement.specifier) if requirement else []
        if requirement is None or len(specs) != 1 or specs[0].operator != "==":
            raise ParameterError(
                f"parse_constraints: line {number} {line!r} is not a pin: write name==version"
            )
        pins[_canonical(requirement.name)] = specs[0].version
    return pins


@dataclass(frozen=True)
class PipInstall:
    """One ``pip install`` command of a recipe.

    Attributes
    ----------
    constraints : tuple of str
        The files given with ``-c`` / ``--constraint``.
    requirements : tuple of str
        The requirement arguments (``numpy==2.2.0``, ``-e .[test]`` as ``.[test]``).
    line : int
        The recipe's line where the instruction starts.
    """

    constraints: tuple[str, ...]
    requirements: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class ContainerRecipe:
    """What :func:`check_recipe` reads from a Containerfile (or Dockerfile).

    Attributes
    ----------
    base_image : str
        The last ``FROM`` image (the final stage), e.g. ``python:3.11.7-slim-bookworm``.
    python_version : str or None
        The Python version of a ``python:`` base image's tag (``"3.11.7"``), or None.
    pinned : bool
        True when the image is pinned to a patch version (``3.11.7-slim``) or a digest.
    installs : tuple of PipInstall
        Every ``pip install`` of the ``RUN`` instructions.
    copied : tuple of str
        The sources of every ``COPY`` and ``ADD``.
    """

    base_image: str
    python_version: str | None
    pinned: bool
    installs: tuple[PipInstall, ...]
    copied: tuple[str, ...]


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) of a recipe, continuation lines joined."""
    found: list[tuple[int, str, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        if whole:
            word, _, rest = whole.partition(" ")
            found.append((start, word.upper(), rest.strip()))
    return found


def _words(arguments: str) -> list[str]:
    """The words of an instruction, shell form or exec (JSON array) form."""
    if arguments.startswith("["):
        try:
            return [str(w) for w in json.loads(arguments)]
        except ValueError:
            pass
    return shlex.split(arguments, comments=True)


def _pip_install(words: list[str], line: int) -> PipInstall | None:
    """The ``pip install`` of one simple command's words, or None."""
    for i, word in enumerate(words[:-1]):
        if Path(word).name.startswith("pip") and words[i + 1] == "install":
            args = words[i + 2 :]
            break
    else:
        return None
    constraints: list[str] = []
    requirements: list[str] = []
    k = 0
    while k < len(args):
        arg = args[k]
        if arg in ("-c", "--constraint") and k + 1 < len(args):
            constraints.append(args[k + 1])
            k += 2
        elif arg.startswith("--constraint="):
            constraints.append(arg.split("=", 1)[1])
            k += 1
        elif arg in ("-e", "--editable", "-r", "--requirement") and k + 1 < len(args):
            requirements.append(args[k + 1])
            k += 2
        elif arg in _PIP_OPTIONS_WITH_VALUE:
            k += 2
        elif arg.startswith("-"):
            k += 1
        else:
            requirements.append(arg)
            k += 1
    return PipInstall(tuple(constraints), tuple(requirements), line)


def parse_recipe(text: str) -> ContainerRecipe:
    """Read a Containerfile's base image, ``pip install`` commands and copied files.

    Parameters
    ----------
    text : str
        The recipe. Continuation lines (``\\``) are joined; ``RUN`` commands are split on
        ``&&``, ``||`` and ``;``.

    Returns
    -------
    ContainerRecipe

    Raises
    ------
    mlsys_kit.params.ParameterError
        When the recipe has no ``FROM`` instruction.

    Examples
    --------
    >>> recipe = parse_recipe('''
    ... FROM python:3.11.7-slim AS base
    ... COPY constraints.txt .
    ... RUN pip install --no-cache-dir -c constraints.txt \\\\
    ...     numpy==2.3.5
    ... ''')
    >>> recipe.python_version, recipe.pinned, recipe.copied
    ('3.11.7', True, ('constraints.txt',))
    >>> recipe.installs[0]
    PipInstall(constraints=('constraints.txt',), requirements=('numpy==2.3.5',), line=4)
    >>> parse_recipe("FROM python:3.11-slim").pinned
    False
    """
    check_type("text", text, str, owner="parse_recipe")
    base = None
    installs: list[PipInstall] = []
    copied: list[str] = []
    for line, word, arguments in _instructions(text):
        if word == "FROM":
            images = [w for w in arguments.split() if not w.startswith("--")]
            base = images[0] if images else ""
        elif word == "RUN":
            shell = arguments if not arguments.startswith("[") else " ".join(_words(arguments))
            for command in re.split(r"&&|\|\||;", shell):
                install = _pip_install(_words(command), line)
                if install is not None:
                    installs.append(install)
        elif word in ("COPY", "ADD"):
            words = [w for w in _words(arguments) if not w.startswith("--")]
            copied.extend(words[:-1])
    if base is None:
        raise ParameterError("parse_recipe: the recipe has no FROM instruction")
    image, _, digest = base.partition("@")
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    version = None
    if name.split("/")[-1] == "python" and (found := _MINOR_TAG.match(tag)):
        version = found.group(0)
    pinned = bool(digest) or bool(_PATCH_TAG.match(tag))
    return ContainerRecipe(base, version, pinned, tuple(installs), tuple(copied))


@dataclass(frozen=True)
class RecipeFinding:
    """One check of a recipe against the constraints and the project."""

    check: str
    subject: str
    expected: str
    found: str
    ok: bool


def _drift_message(what: str, problems: list[str]) -> str:
    return f"{what}: {len(problems)} difference(s) from the standardized environment: " + (
        "; ".join(problems)
    )


@dataclass(frozen=True)
class RecipeReport(Report):
    """The findings of :func:`check_recipe`, one row each."""

    findings: tuple[RecipeFinding, ...]

    @property
    def problems(self) -> tuple[RecipeFinding, ...]:
        """The findings that failed."""
        return tuple(f for f in self.findings if not f.ok)

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: check, subject, expected, found, ok."""
        columns = ["check", "subject", "expected", "found", "ok"]
        return pd.DataFrame([f.__dict__ for f in self.findings], columns=columns)

    def raise_if_drifted(self) -> None:
        """Raise :class:`EnvironmentDriftError` naming every failed finding, if any."""
        problems = [
            f"{f.check}: {f.subject} (expected {f.expected}, found {f.found})"
            for f in self.problems
        ]
        if problems:
            raise EnvironmentDriftError(_drift_message("container recipe", problems))


def check_recipe(recipe: str, constraints: str, pyproject: str) -> RecipeReport:
    """Check a container recipe against the constraints file and the project's metadata.

    Parameters
    ----------
    recipe : str
        The Containerfile's text (:func:`parse_recipe`).
    constraints : str
        ``constraints.txt``'s text (:func:`parse_constraints`).
    pyproject : str
        ``pyproject.toml``'s text: its ``requires-python`` and its
        ``Programming Language :: Python :: X.Y`` classifiers (the tested versions).

    Returns
    -------
    RecipeReport
        One finding per check: the base image pinned, its Python within ``requires-python``
        and tested, each ``pip install`` with the constraints file, the constraints file
        copied into the image, and each inline ``pkg==x`` pin equal to the constraints'.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a text cannot be parsed, or the recipe installs nothing with pip.

    Examples
    --------
    >>> pyproject = '[project]\\nrequires-python = ">=3.11"\\n'
    >>> report = check_recipe("FROM python:3.10-slim\\nRUN pip install numpy", "numpy==2.3.5",
    ...                       pyproject)
    >>> report.to_frame()[["check", "found", "ok"]]
                                  check                  found     ok
    0                 base image pinned          python:3.10-slim  False
    1   python within requires-python                     3.10  False
    2     installs with constraints.txt  pip install numpy (line 2)  False
    """
    owner = "check_recipe"
    for name, value in (("recipe", recipe), ("constraints", constraints), ("pyproject", pyproject)):
        check_type(name, value, str, owner=owner)
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    parsed = parse_recipe(recipe)
    pins = parse_constraints(constraints)
    try:
        project = tomllib.loads(pyproject).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{owner}: pyproject is not valid TOML: {exc}") from None
    if not parsed.installs:
        raise ParameterError(f"{owner}: the recipe runs no pip install: nothing to check")
    findings = [
        RecipeFinding(
            "base image pinned",
            parsed.base_image.partition(":")[0],
            "a patch version or a digest",
            parsed.base_image,
            parsed.pinned,
        )
    ]
    version = parsed.python_version or "?"
    requires = str(project.get("requires-python", ""))
    inside = parsed.python_version is not None and Version(version) in SpecifierSet(requires)
    findings.append(
        RecipeFinding(
            "python within requires-python", "python", requires or "(any)", version, inside
        )
    )
    tested = [m.group(1) for c in project.get("classifiers", []) if (m := _TESTED.match(c))]
    if tested:
        minor = ".".join(version.split(".")[:2])
        findings.append(
            RecipeFinding(
                "python is a tested version", "python", ", ".join(tested), version, minor in tested
            )
        )
    for install in parsed.installs:
        command = f"pip install {' '.join(install.requirements)} (line {install.line})"
        findings.append(
            RecipeFinding(
                "installs with constraints.txt",
                "pip install",
                "-c constraints.txt",
                command if not install.constraints else " ".join(install.constraints),
                any(Path(c).name == "constraints.txt" for c in install.constraints),
            )
        )
    used = {c for install in parsed.installs for c in install.constraints}
    for file in sorted(used):
        copied = any(
            source in (".", "./") or Path(source).name == Path(file).name
            for source in parsed.copied
        )
        findings.append(
            RecipeFinding("constraints file copied", file, "COPY " + file, str(copied), copied)
        )
    findings.extend(_pin_findings(parsed, pins))
    return RecipeReport(tuple(findings))


def _pin_findings(parsed: ContainerRecipe, pins: Mapping[str, str]) -> list[RecipeFinding]:
    from packaging.requirements import InvalidRequirement, Requirement

    findings = []
    for install in parsed.installs:
        for argument in install.requirements:
            try:
                requirement = Requirement(argument)
            except InvalidRequirement:
                continue  # a path or a URL: the project itself, constrained by -c
            exact = [s.version for s in requirement.specifier if s.operator == "=="]
            if not exact:
                continue
            name = _canonical(requirement.name)
            pinned = pins.get(name)
            findings.append(
                RecipeFinding(
                    "pin matches constraints.txt",
                    name,
                    pinned or "(not in constraints.txt)",
                    exact[0],
                    pinned == exact[0],
                )
            )
    return findings


def installed_versions() -> dict[str, str]:
    """The distributions of the running environment: canonical name to version.

    Examples
    --------
    >>> installed_versions()["numpy"] == __import__("numpy").__version__
    True
    """
    found = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found[_canonical(name)] = distribution.version
    return found


def project_requirements(distribution: str = "mlsys-kit") -> tuple[str, ...]:
    """The packages an installed distribution requires (no extras): canonical names.

    Parameters
    ----------
    distribution : str, default "mlsys-kit"
        An installed distribution.

    Returns
    -------
    tuple of str
        Empty when the distribution is not installed (the code runs from a plain folder).

    Examples
    --------
    >>> "duckdb" in project_requirements()
    True
    >>> project_requirements("no-such-distribution")
    ()
    """
    from packaging.requirements import Requirement

    check_type("distribution", distribution, str, owner="project_requirements")
    try:
        requirements = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return ()
    names = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(_canonical(requirement.name))
    return tuple(sorted(set(names)))


@dataclass(frozen=True)
class EnvironmentReport(Report):
    """The running environment against the constraints: one row per pinned package.

    Attributes
    ----------
    packages : tuple of (name, pinned, installed or None, status)
        ``status`` is ``"ok"``, ``"differs"`` (installed at another version), ``"missing"``
        (required, not installed) or ``"not installed"`` (pinned, not required: not a
        problem).
    extra : tuple of str
        Installed packages the constraints do not pin (pip, the project itself): listed,
        not failed.
    """

    packages: tuple[tuple[str, str, str | None, str], ...]
    extra: tuple[str, ...]

    @property
    def problems(self) -> pd.DataFrame:
        """The rows whose status is ``"differs"`` or ``"missing"``."""
        frame = self.to_frame()
        return frame[frame["status"].isin(["differs", "missing"])].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per pinned package: package, pinned, installed, status."""
        return pd.DataFrame(self.packages, columns=["package", "pinned", "installed", "status"])

    def raise_if_drifted(self) -> None:
        """Raise :class:`EnvironmentDriftError` naming every missing or different package."""
        problems = [
            f"{name} {'is missing' if status == 'missing' else f'is {installed}'} (pinned {pinned})"
            for name, pinned, installed, status in self.packages
            if status in ("differs", "missing")
        ]
        if problems:
            raise EnvironmentDriftError(_drift_message("running environment", problems))


def check_environment(
    constraints: str,
    *,
    installed: Mapping[str, str] | None = None,
    required: Iterable[str] | None = None,
) -> EnvironmentReport:
    """Check an environment's installed packages against a constraints file.

    Parameters
    ----------
    constraints : str
        ``constraints.txt``'s text (:func:`parse_constraints`).
    installed : mapping of str to str, optional
        Package name to installed version; by default the running environment's
        (:func:`installed_versions`). Names are compared canonicalized.
    required : iterable of str, optional
        Packages that must be installed; by default the kit's own requirements
        (:func:`project_requirements`). A pinned package that is neither installed nor
        required is ``"not installed"``, not a problem.

    Returns
    -------
    EnvironmentReport

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``constraints`` cannot be parsed or ``installed`` is not a mapping.

    Examples
    --------
    >>> report = check_environment("numpy==2.3.5\\nPandas==3.0.1\\nruff==0.15.0",
    ...                            installed={"numpy": "2.2.0", "pip": "25.0"},
    ...                            required=["numpy", "pandas"])
    >>> report.raise_if_drifted()
    Traceback (most recent call last):
    ...
    mlsys_kit.infrastructure.environment.EnvironmentDriftError: running environment: 2 \
difference(s) from the standardized environment: numpy is 2.2.0 (pinned 2.3.5); pandas is \
missing (pinned 3.0.1)
    >>> report.extra, report.packages[2]
    (('pip',), ('ruff', '0.15.0', None, 'not installed'))
    """
    pins = parse_constraints(constraints)
    if installed is None:
        installed = installed_versions()
    check_type("installed", installed, Mapping, owner="check_environment")
    if required is None:
        required = project_requirements()
    check_type("required", required, Iterable, owner="check_environment")
    needed = {_canonical(name) for name in required}
    have = {_canonical(name): str(version) for name, version in installed.items()}
    rows = []
    for name, pinned in pins.items():
        version = have.get(name)
        if version is None:
            status = "missing" if name in needed else "not installed"
        else:
            status = "ok" if version == pinned else "differs"
        rows.append((name, pinned, version, status))
    extra = tuple(sorted(set(have) - set(pins)))
    return EnvironmentReport(tuple(rows), extra)


def project_file(name: str) -> Path:
    """A file of the kit's repository (``constraints.txt``, ``Containerfile``...).

    Parameters
    ----------
    name : str
        A path relative to the repository's root.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        When the package does not run from a checkout of the repository (an installed
        wheel has no ``constraints.txt``) or the file does not exist.

    Examples
    --------
    >>> project_file("constraints.txt").name
    'constraints.txt'
    """
    check_type("name", name, str, owner="project_file")
    path = _ROOT / name
    if not (_ROOT / "pyproject.toml").is_file() or not path.is_file():
        raise FileNotFoundError(
            f"project_file: {name!r} not found in {_ROOT}: the kit's repository files are "
            "there only when mlsys_kit runs from a checkout (pip install -e .)"
        )
    return path


@dataclass(frozen=True)
class StepResult:
    """What the pipeline step produces: its data sizes and the model's test AUC."""

    n_train: int
    n_test: int
    auc: float


def train_evaluate_step(
    *,
    n_users: int = 2_000,
    n_transactions: int = 20_000,
    days: int = 28,
    test_days: int = 7,
    seed: int = 0,
) -> StepResult:
    """The pipeline step as a function: simulate, split by time, train, evaluate.

    The same code as the step notebook's cells (:data:`STEP_NOTEBOOK`): a logistic regression
    on the marketplace's purchases of the first ``days - test_days`` days, scored by ROC AUC
    on the last ``test_days``.

    Parameters
    ----------
    n_users, n_transactions, days : int
        The simulated marketplace (:func:`mlsys_kit.sim.simulate`).
    test_days : int, default 7
        Last days held out for the evaluation, 1 ≤ test_days < days.
    seed : int, default 0
        The simulator's seed (the model is deterministic).

    Returns
    -------
    StepResult

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an invalid size, or a test period with one class only.

    Examples
    --------
    >>> result = train_evaluate_step(n_users=300, n_transactions=3_000, seed=1)
    >>> result.n_train + result.n_test, 0.5 < result.auc < 1.0
    (3000, True)
    """
    owner = "train_evaluate_step"
    check_int("days", days, min=2, owner=owner)
    check_int("test_days", test_days, min=1, max=days - 1, owner=owner)
    check_int("n_transactions", n_transactions, min=1, owner=owner)
    check_int("seed", seed, min=0, owner=owner)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlsys_kit.sim import simulate

    market = simulate(n_users=n_users, n_transactions=n_transactions, days=days, seed=seed)
    purchases = market.transactions
    features = np.column_stack(
        [
            np.log1p(purchases["amount"]),
            purchases["new_device"],
            np.log1p(purchases["account_age_days"]),
            purchases["n_items"],
            np.cos(2 * np.pi * purchases["hour"] / 24),
        ]
    ).astype(float)
    labels = purchases["is_fraud"].to_numpy()
    test = (market.day(purchases["timestamp"]) >= days - test_days).to_numpy()
    if labels[test].min() == labels[test].max():
        raise ParameterError(f"{owner}: the test period holds one class only: simulate more")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(features[~test], labels[~test])
    auc = roc_auc_score(labels[test], model.predict_proba(features[test])[:, 1])
    return StepResult(int((~test).sum()), int(test.sum()), float(auc))


@dataclass(frozen=True)
class NotebookStepRun:
    """One papermill execution of the step notebook.

    Attributes
    ----------
    result : StepResult
        Read back from the executed notebook's ``result`` cell.
    seconds : float
        Wall time of the whole execution: kernel start, cells, papermill's bookkeeping.
    cell_seconds : float
        The cells' own execution time, as papermill recorded it in the notebook.
    figures : int
        Figures stored in the executed notebook (drawn, or shown as their text).
    parameters : dict
        The parameters papermill recorded in the executed notebook's metadata.
    output : pathlib.Path
        The executed notebook.
    """

    result: StepResult
    seconds: float
    cell_seconds: float
    figures: int
    parameters: dict[str, Any]
    output: Path


def _figures(cell: Mapping[str, Any]) -> int:
    count = 0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        text = data.get("text/plain", "")
        text = "".join(text) if isinstance(text, list) else text
        if "image/png" in data or text.startswith("<Figure"):
            count += 1
    return count


def run_step_notebook(output: Path | str, parameters: Mapping[str, Any]) -> NotebookStepRun:
    """Execute the step notebook with papermill, and read its result and record back.

    Parameters
    ----------
    output : path
        Where the executed notebook is written (its folder is the kernel's working
        directory).
    parameters : mapping
        Values injected after the notebook's ``parameters`` cell (those of
        :func:`train_evaluate_step`).

    Returns
    -------
    NotebookStepRun

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a parameter is not one of the step's.
    RuntimeError
        When the notebook fails (papermill's error, with the executed copy's path) or holds
        no result.
    """
    owner = "run_step_notebook"
    check_type("parameters", parameters, Mapping, owner=owner)
    known = set(inspect.signature(train_evaluate_step).parameters)
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ParameterError(
            f"{owner}: unknown parameter(s) {unknown}; the step's: {sorted(known)}"
        )
    from mlsys_kit.notebook import skip_iri_grammars

    skip_iri_grammars()
    import papermill

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(STEP_NOTEBOOK),
            str(output),
            parameters=dict(parameters),
            kernel_name="python3",
            cwd=str(output.parent),
            progress_bar=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except Exception as exc:
        raise RuntimeError(f"{owner}: the step notebook failed ({output}): {exc}") from None
    seconds = time.perf_counter() - start
    notebook = json.loads(output.read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    result = None
    for cell in cells:
        if "result" in cell.get("metadata", {}).get("tags", []):
            text = "".join(
                "".join(o.get("text", "")) for o in cell.get("outputs", []) if "text" in o
            )
            result = StepResult(**json.loads(text))
    if result is None:
        raise RuntimeError(f"{owner}: the executed notebook has no result cell ({output})")
    cell_seconds = sum(
        float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0) for c in cells
    )
    recorded = notebook.get("metadata", {}).get("papermill", {}).get("parameters", {})
    figures = sum(_figures(c) for c in cells)
    return NotebookStepRun(result, seconds, cell_seconds, figures, dict(recorded), output)


def asof_join_loop(
    rows: pd.DataFrame,
    table: pd.DataFrame,
    *,
    key: str,
    time: str,
    feature_time: str = "feature_time",
) -> pd.DataFrame:
    """A point-in-time join written by hand: the build side of build against buy.

    Same result as :func:`~mlsys_kit.infrastructure.feature_store.point_in_time_join`: for a
    row ``(k, t)``, the row of ``table`` of key ``k`` with the latest ``feature_time`` at or
    before ``t``; 0 where there is none.

    Parameters
    ----------
    rows : pandas.DataFrame
        With ``key`` and ``time`` columns.
    table : pandas.DataFrame
        With ``key``, ``feature_time`` and numeric value columns.
    key, time, feature_time : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        The value columns, with the index of ``rows`` and the dtypes of ``table``.

    Raises
    ------
    mlsys_kit.params.ParameterError
        When a frame lacks a column.

    Examples
    --------
    >>> table = pd.DataFrame({"user": [1, 1], "feature_time": pd.to_datetime(
    ...     ["2024-01-01 10:00", "2024-01-01 11:00"]), "spend": [5, 7]})
    >>> rows = pd.DataFrame({"user": [1, 1, 2], "time": pd.to_datetime(
    ...     ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-01 12:00"])})
    >>> asof_join_loop(rows, table, key="user", time="time")
       spend
    0      0
    1      5
    2      0
    """
    owner = "asof_join_loop"
    check_type("rows", rows, pd.DataFrame, owner=owner)
    check_type("table", table, pd.DataFrame, owner=owner)
    for frame, names, what in ((rows, [key, time], "rows"), (table, [key, feature_time], "table")):
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise ParameterError(f"{owner}: {what} has no column(s) {missing}")
    values = [c for c in table.columns if c not in (key, feature_time)]
    # Of rows with one key and time, the last in table order wins (DuckDB picks any of them:
    # give one row per key and time when the engines must agree).
    ordered = table.sort_values(feature_time, kind="stable")
    times: dict[Any, list[Any]] = {}
    found: dict[Any, list[tuple[Any, ...]]] = {}
    for k, t, *v in zip(
        ordered[key].tolist(),
        ordered[feature_time].tolist(),
        *(ordered[c].tolist() for c in values),
        strict=True,
    ):
        times.setdefault(k, []).append(t)
        found.setdefault(k, []).append(tuple(v))
    empty = (0,) * len(values)
    out = []
    for k, t in zip(rows[key].tolist(), rows[time].tolist(), strict=True):
        position = bisect.bisect_right(times.get(k, []), t)
        out.append(found[k][position - 1] if position else empty)
    frame = pd.DataFrame(out, columns=values, index=rows.index)
    return frame.astype(table[values].dtypes.to_dict())


def code_lines(*objects: Callable[..., Any] | type) -> int:
    """Lines of code of functions or classes: no blank lines, comments or docstrings.

    Parameters
    ----------
    *objects : function or class
        Whose source :func:`inspect.getsource` finds.

    Returns
    -------
    int

    Raises
    ------
    mlsys_kit.params.ParameterError
        When no object is given or one has no source.

    Examples
    --------
    >>> def add(a, b):
    ...     '''Add.'''
    ...     # the sum
    ...     return a + b
    >>> code_lines(add)
    2
    """
    if not objects:
        raise ParameterError("code_lines: give at least one function or class")
    total = 0
    for obj in objects:
        try:
            source = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError):
            raise ParameterError(f"code_lines: no source for {obj!r}") from None
        docstrings = set()
        for node in ast.walk(ast.parse(source)):
            body = getattr(node, "body", None)
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                docstrings.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
        total += sum(
            1
            for number, line in enumerate(source.splitlines(), start=1)
            if line.strip() and not line.strip().startswith("#") and number not in docstrings
        )
    return total


def cold_start_seconds(code: str, *, repeat: int = 3, clock: str = "perf_counter") -> float:
    """Seconds a fresh interpreter takes to run ``code`` (a library's setup): best of repeats.

    Each repeat starts a new Python process (this environment's interpreter), so imports are
    cold for the process (the operating system's file cache stays warm). Only ``code`` is
    timed, not the interpreter's own start.

    Parameters
    ----------
    code : str
        Python statements, e.g. ``"import duckdb; duckdb.connect().execute('SELECT 1')"``.
    repeat : int, default 3
        Fresh processes; the fastest is kept.
    clock : {"perf_counter", "process_time"}, default "perf_counter"
        The :mod:`time` function the fresh process reads: wall time, or its CPU time (which
        other processes on a busy machine do not stretch).

    Returns
    -------
    float

    Raises
    ------
    mlsys_kit.params.ParameterError
        When ``repeat`` < 1 or ``clock`` is not one of the two.
    RuntimeError
        When ``code`` fails (its error is shown).

    Examples
    --------
    >>> cold_start_seconds("import json", repeat=1) < 1.0
    True
    >>> cold_start_seconds("import json", repeat=1, clock="process_time") < 1.0
    True
    """
    check_type("code", code, str, owner="cold_start_seconds")
    repeat = check_int("repeat", repeat, min=1, owner="cold_start_seconds")
    check_choice("clock", clock, _CLOCKS, owner="cold_start_seconds")
    program = (
        f"import time\n_start = time.{clock}()\n"
        + code
        + f"\nprint(repr(time.{clock}() - _start))\n"
    )
    best = float("inf")
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"cold_start_seconds: {code!r} failed: {done.stderr.strip()}")
        best = min(best, float(done.stdout.strip().splitlines()[-1]))
    return best
