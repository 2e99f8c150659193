"""Tests of mlsys_kit.infrastructure.environment: recipes, environments, the step, build vs buy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys_kit.infrastructure.environment import (
    STEP_NOTEBOOK,
    EnvironmentDriftError,
    asof_join_loop,
    check_environment,
    check_recipe,
    code_lines,
    cold_start_seconds,
    installed_versions,
    parse_constraints,
    parse_recipe,
    project_file,
    project_requirements,
    run_step_notebook,
    train_evaluate_step,
)
from mlsys_kit.infrastructure.feature_store import point_in_time_join
from mlsys_kit.params import ParameterError

CONSTRAINTS = "# pins\nnumpy==2.3.5\npandas==3.0.1\nscikit-learn==1.8.0\n"
PYPROJECT = """
[project]
requires-python = ">=3.11"
classifiers = ["Programming Language :: Python :: 3.11"]
"""
GOOD = """
# a comment
FROM python:3.11.7-slim-bookworm AS kit
WORKDIR /kit
COPY pyproject.toml constraints.txt ./
COPY mlsys_kit/ mlsys_kit/
RUN pip install --no-cache-dir -c constraints.txt \\
        -e ".[test]" \\
    && pip install -c constraints.txt numpy==2.3.5
CMD ["pytest"]
"""


def test_parse_constraints_canonicalizes_and_refuses_non_pins():
    assert parse_constraints(CONSTRAINTS) == {
        "numpy": "2.3.5",
        "pandas": "3.0.1",
        "scikit-learn": "1.8.0",
    }
    with pytest.raises(ParameterError, match="line 2 'pandas' is not a pin"):
        parse_constraints("numpy==1\npandas\n")
    with pytest.raises(ParameterError, match="is not a pin"):
        parse_constraints("not a requirement at all")


def test_the_kits_own_files_parse():
    pins = parse_constraints(project_file("constraints.txt").read_text(encoding="utf-8"))
    assert pins["numpy"] and pins["duckdb"]
    with pytest.raises(FileNotFoundError, match="checkout"):
        project_file("no-such-file.txt")


def test_parse_recipe_reads_image_installs_and_copies():
    recipe = parse_recipe(GOOD)
    assert recipe.base_image == "python:3.11.7-slim-bookworm"
    assert recipe.python_version == "3.11.7" and recipe.pinned
    assert [i.constraints for i in recipe.installs] == [("constraints.txt",)] * 2
    assert recipe.installs[0].requirements == (".[test]",)
    assert recipe.installs[0].line == 7
    assert recipe.installs[1].requirements == ("numpy==2.3.5",)
    assert recipe.copied == ("pyproject.toml", "constraints.txt", "mlsys_kit/")


@pytest.mark.parametrize(
    ("image", "pinned", "version"),
    [
        ("python:3.11-slim", False, "3.11"),
        ("python:3.11.7", True, "3.11.7"),
        ("docker.io/library/python:3.11.7-slim", True, "3.11.7"),
        ("python@sha256:" + "a" * 64, True, None),
        ("python", False, None),
        ("ubuntu:24.04", False, None),
    ],
)
def test_base_image_pinning(image, pinned, version):
    recipe = parse_recipe(f"FROM --platform=linux/amd64 {image}\nRUN pip install x")
    assert recipe.pinned is pinned
    assert recipe.python_version == version


def test_recipe_without_from_is_refused():
    with pytest.raises(ParameterError, match="no FROM"):
        parse_recipe("RUN pip install numpy")


def test_a_conforming_recipe_has_no_problems():
    report = check_recipe(GOOD, CONSTRAINTS, PYPROJECT)
    assert report.problems == ()
    report.raise_if_drifted()
    assert set(report.to_frame()["check"]) == {
        "base image pinned",
        "python within requires-python",
        "python is a tested version",
        "installs with constraints.txt",
        "constraints file copied",
        "pin matches constraints.txt",
    }


def test_planted_drift_is_reported_by_name():
    drifted = (
        GOOD.replace("3.11.7-slim-bookworm", "3.12-slim")
        .replace("numpy==2.3.5", "numpy==2.2.0 torch==2.5.0")
        .replace("pyproject.toml constraints.txt", "pyproject.toml")
    )
    drifted += "RUN pip install pandas==3.0.1\n"
    report = check_recipe(drifted, CONSTRAINTS, PYPROJECT)
    problems = {(f.check, f.subject) for f in report.problems}
    assert problems == {
        ("base image pinned", "python"),
        ("python is a tested version", "python"),
        ("installs with constraints.txt", "pip install"),
        ("constraints file copied", "constraints.txt"),
        ("pin matches constraints.txt", "numpy"),
        ("pin matches constraints.txt", "torch"),
    }
    with pytest.raises(EnvironmentDriftError, match=r"numpy \(expected 2.3.5, found 2.2.0\)"):
        report.raise_if_drifted()


def test_python_outside_requires_python():
    report = check_recipe("FROM python:3.10.4\nRUN pip install -c constraints.txt .", "", PYPROJECT)
    failed = {f.check for f in report.problems}
    assert "python within requires-python" in failed
    assert "constraints file copied" in failed


def test_check_recipe_refuses_bad_inputs():
    with pytest.raises(ParameterError, match="runs no pip install"):
        check_recipe("FROM python:3.11.7", CONSTRAINTS, PYPROJECT)
    with pytest.raises(ParameterError, match="not valid TOML"):
        check_recipe(GOOD, CONSTRAINTS, "[project")
    with pytest.raises(ParameterError, match="recipe"):
        check_recipe(None, CONSTRAINTS, PYPROJECT)


def test_the_shipped_containerfile_matches_the_constraints():
    report = check_recipe(
        project_file("Containerfile").read_text(encoding="utf-8"),
        project_file("constraints.txt").read_text(encoding="utf-8"),
        project_file("pyproject.toml").read_text(encoding="utf-8"),
    )
    assert report.problems == (), report.to_frame()


def test_check_environment_statuses_and_error():
    report = check_environment(
        CONSTRAINTS + "ruff==0.15.0\n",
        installed={"NumPy": "2.3.5", "pandas": "2.2.0", "pip": "25"},
        required=["numpy", "pandas", "Scikit_Learn"],
    )
    assert report.to_frame()["status"].tolist() == ["ok", "differs", "missing", "not installed"]
    assert report.extra == ("pip",)
    assert report.problems["package"].tolist() == ["pandas", "scikit-learn"]
    with pytest.raises(EnvironmentDriftError, match="pandas is 2.2.0.*scikit-learn is missing"):
        report.raise_if_drifted()
    with pytest.raises(ParameterError, match="installed"):
        check_environment(CONSTRAINTS, installed=[("numpy", "2.3.5")])
    with pytest.raises(ParameterError, match="required"):
        check_environment(CONSTRAINTS, installed={}, required=3)


def test_the_kits_requirements_are_read():
    required = project_requirements()
    assert {"duckdb", "numpy", "papermill"} <= set(required)
    assert "pytest" not in required  # the test extra is not required
    assert project_requirements("no-such-distribution") == ()


def test_the_running_environment_is_read():
    versions = installed_versions()
    assert versions["pandas"] == pd.__version__
    report = check_environment(f"numpy=={np.__version__}")
    assert report.problems.empty


def test_the_step_is_deterministic_and_checks_its_arguments():
    first = train_evaluate_step(n_users=300, n_transactions=3_000, seed=2)
    assert first == train_evaluate_step(n_users=300, n_transactions=3_000, seed=2)
    assert first.n_train + first.n_test == 3_000
    with pytest.raises(ParameterError, match="test_days"):
        train_evaluate_step(days=5, test_days=5)
    with pytest.raises(ParameterError, match="one class only"):
        train_evaluate_step(n_users=10, n_transactions=20, seed=0)


@pytest.mark.slow
def test_the_step_notebook_gives_the_functions_result(tmp_path):
    params = {"n_users": 300, "n_transactions": 3_000, "seed": 2}
    run = run_step_notebook(tmp_path / "step.ipynb", params)
    assert run.result == train_evaluate_step(**params)
    assert run.parameters == params
    assert run.figures == 1
    assert 0 < run.cell_seconds < run.seconds
    assert STEP_NOTEBOOK.exists() and not (STEP_NOTEBOOK.parent / "step.ipynb").exists()


def test_run_step_notebook_refuses_unknown_parameters(tmp_path):
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['n_rows'\]"):
        run_step_notebook(tmp_path / "x.ipynb", {"n_rows": 3})


def test_the_loop_join_agrees_with_duckdb():
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-01-01")
    table = pd.DataFrame(
        {
            "user": rng.integers(0, 30, 500),
            "feature_time": start + pd.to_timedelta(rng.integers(0, 86_400, 500), unit="s"),
            "spend": rng.integers(0, 1_000, 500),
            "count": rng.integers(0, 5, 500),
        }
    ).drop_duplicates(["user", "feature_time"])
    rows = pd.DataFrame(
        {
            "user": rng.integers(0, 35, 800),
            "time": start + pd.to_timedelta(rng.integers(0, 90_000, 800), unit="s"),
        },
        index=np.arange(800) * 2,
    )
    loop = asof_join_loop(rows, table, key="user", time="time")
    bought = point_in_time_join(rows, table, key="user", time="time")
    pd.testing.assert_frame_equal(loop, bought)
    with pytest.raises(ParameterError, match=r"rows has no column\(s\) \['time'\]"):
        asof_join_loop(rows.drop(columns="time"), table, key="user", time="time")


def test_code_lines_counts_code_only():
    def documented(a):
        """Docstring
        on two lines."""
        # a comment

        return a

    class Small:
        """A class."""

        size = 1

    assert code_lines(documented) == 2
    assert code_lines(documented, Small) == 4
    with pytest.raises(ParameterError, match="at least one"):
        code_lines()
    with pytest.raises(ParameterError, match="no source"):
        code_lines(len)


def test_cold_start_seconds():
    assert 0 <= cold_start_seconds("pass", repeat=1) < 1.0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        cold_start_seconds("1 / 0", repeat=1)
    with pytest.raises(ParameterError, match="repeat"):
        cold_start_seconds("pass", repeat=0)


def test_cold_start_seconds_reads_cpu_time_when_asked():
    sleep = "import time; time.sleep(0.3)"
    assert cold_start_seconds(sleep, repeat=1) >= 0.3, "wall time counts the sleep"
    assert cold_start_seconds(sleep, repeat=1, clock="process_time") < 0.2, "CPU time does not"
    with pytest.raises(ParameterError, match="clock='monotonic' is not allowed"):
        cold_start_seconds("pass", repeat=1, clock="monotonic")
