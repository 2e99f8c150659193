"""The runner: run specs, sweeps in one run folder, parallel runs, results.jsonl."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlsys_kit.kit import catalog
from mlsys_kit.kit.runner import RunSpec, run
from mlsys_kit.params import ParameterError


def _results(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / "results.jsonl").read_text().splitlines()]


def test_output_path_holds_the_label(notebook_tree: Path) -> None:
    tiny = catalog.find("01/01")
    out = Path("runs/x")
    assert RunSpec(tiny).output_path(out) == out / "01-overview" / "01-tiny.ipynb"
    labelled = RunSpec(tiny, {"seed": 3}, label="seed=3")
    assert labelled.output_path(out) == out / "01-overview" / "01-tiny--seed=3.ipynb"


@pytest.mark.parametrize("label", ["a/b", "../up", "-flag", "two words", "é"])
def test_a_label_must_be_usable_in_a_file_name(notebook_tree: Path, label: str) -> None:
    with pytest.raises(ParameterError, match=f"RunSpec: label={label!r} cannot name a file"):
        RunSpec(catalog.find("01/01"), label=label)


def test_a_spec_keeps_its_own_copy_of_the_parameters(notebook_tree: Path) -> None:
    values = {"n": 5}
    spec = RunSpec(catalog.find("01/01"), values)
    values["n"] = 6
    assert spec.parameters == {"n": 5}


def test_run_refuses_two_specs_with_the_same_output_before_anything_runs(
    notebook_tree: Path, no_kernels: list[str]
) -> None:
    tiny = catalog.find("01/01")
    out_dir = notebook_tree.parent / "run"
    specs = [RunSpec(tiny, {"n": 5}), RunSpec(tiny, {"n": 7})]
    with pytest.raises(ParameterError, match="two runs of 01/01 would write .*its own label"):
        run(specs, out_dir)
    assert no_kernels == [] and not out_dir.exists()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"alpha": 7}, r"01/01: alpha=7.0 is out of range: allowed 0.02 ≤ alpha ≤ 0.1"),
        ({"mode": "medium"}, r"01/01: mode='medium' is not allowed"),
        ({"colour": "red"}, r"01/01 01-overview/01-tiny has no parameter\(s\) \['colour'\]"),
    ],
)
def test_run_checks_every_spec_before_the_first_runs(
    notebook_tree: Path, no_kernels: list[str], parameters: dict, message: str
) -> None:
    tiny = catalog.find("01/01")
    out_dir = notebook_tree.parent / "run"
    specs = [RunSpec(tiny, {"n": 5}, label="good"), RunSpec(tiny, parameters, label="bad")]
    with pytest.raises(ParameterError, match=message):
        run(specs, out_dir)
    assert no_kernels == [], "a sweep with one bad spec starts nothing"
    assert not out_dir.exists()


def test_run_refuses_zero_jobs(notebook_tree: Path, no_kernels: list[str]) -> None:
    with pytest.raises(ParameterError, match="run: jobs=0 is out of range"):
        run([catalog.find("01/01")], notebook_tree.parent / "run", jobs=0)


@pytest.mark.slow
def test_a_sweep_runs_in_parallel_into_one_folder_and_records_every_run(
    notebook_tree: Path,
) -> None:
    tiny = catalog.find("01/01")
    out_dir = notebook_tree.parent / "sweep"
    specs = [RunSpec(tiny, {"n": n}, label=f"n={n}") for n in (5, 7)]
    seen = []
    results = run(specs, out_dir, jobs=2, on_result=seen.append)

    assert [r.label for r in results] == ["n=5", "n=7"], "results in the order of the specs"
    assert [r.parameters for r in results] == [{"n": 5}, {"n": 7}]
    assert {r.name for r in results} == {tiny.name}, "the notebook's name, not an env variable's"
    assert [r.claims[0].value for r in results] == [5, 7], "each run got its own values"
    assert all(r.ok for r in results) and len(seen) == 2
    for n in (5, 7):
        assert (out_dir / "01-overview" / f"01-tiny--n={n}.ipynb").is_file()
    logged = sorted(_results(out_dir), key=lambda r: r["label"])
    assert [(r["notebook"], r["label"], r["parameters"], r["status"]) for r in logged] == [
        ("01/01", "n=5", {"n": 5}, "ok"),
        ("01/01", "n=7", {"n": 7}, "ok"),
    ]


def _papermill_failing_first(monkeypatch: pytest.MonkeyPatch, *failures: Exception) -> list[str]:
    """papermill raises the given failures on its first calls, then runs for real."""
    import papermill

    real = papermill.execute_notebook
    calls: list[str] = []

    def flaky(source, *args, **kwargs):
        calls.append(str(source))
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return real(source, *args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    return calls


def test_a_kernel_that_dies_while_starting_is_replaced_once(
    notebook_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlsys_kit.kit.runner import run_one

    died = RuntimeError("Kernel died before replying to kernel_info")
    calls = _papermill_failing_first(monkeypatch, died)
    tiny = catalog.find("01/01")
    result = run_one(tiny.path, notebook_tree.parent / "out" / "tiny.ipynb", {"n": 3})
    assert len(calls) == 2 and result.error is None and result.ok


def test_a_kernel_that_dies_twice_while_starting_is_reported(
    notebook_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlsys_kit.kit.runner import run_one

    died = RuntimeError("Kernel died before replying to kernel_info")
    calls = _papermill_failing_first(monkeypatch, died, died)
    tiny = catalog.find("01/01")
    result = run_one(tiny.path, notebook_tree.parent / "out" / "tiny.ipynb", {"n": 3})
    assert len(calls) == 2
    assert result.error == "RuntimeError: Kernel died before replying to kernel_info"


def test_other_failures_are_not_retried(
    notebook_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlsys_kit.kit.runner import run_one

    calls = _papermill_failing_first(monkeypatch, RuntimeError("No such kernel named nope"))
    tiny = catalog.find("01/01")
    result = run_one(tiny.path, notebook_tree.parent / "out" / "tiny.ipynb", {"n": 3})
    assert len(calls) == 1 and result.error == "RuntimeError: No such kernel named nope"


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_fork_kernels_starts_local_runs_from_a_warm_process_and_only_then(
    notebook_tree: Path, make_notebook, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    from mlsys_kit.kit import kernels

    if not kernels.fork_kernels_enabled():
        pytest.skip("kernels are forked on Linux only")
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    # undo the suite's own choice (conftest.py), in the environment and in jupyter_client
    monkeypatch.delenv(kernels.PROVISIONER_ENV, raising=False)
    factory = KernelProvisionerFactory.instance()
    monkeypatch.setattr(factory, "default_provisioner_name", "local-provisioner")
    make_notebook(
        notebook_tree / "03-x" / "01-which-kernel.ipynb",
        "import sys\nfrom mlsys_kit import record\n"
        'record("preloaded", int("sklearn" in sys.modules))',  # the warm process imported it
    )
    which = catalog.find("03/01")
    out_dir = notebook_tree.parent / "runs"

    def preloaded(folder: str, **options) -> list[float]:
        specs = [RunSpec(which, {"n": n}, label=f"n={n}") for n in (5, 7)]
        results = run(specs, out_dir / folder, jobs=jobs, **options)
        assert all(r.ok for r in results), [r.error for r in results]
        return [r.metrics[0].value for r in results]

    assert preloaded("forked", fork_kernels=True) == [1, 1]
    assert preloaded("anew") == [0, 0], "mlsys-kit run starts every kernel anew"
    assert kernels.PROVISIONER_ENV not in os.environ, "the choice ends with the run"
    assert factory.default_provisioner_name == "local-provisioner"
