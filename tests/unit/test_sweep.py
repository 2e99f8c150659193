"""Sweeps and the reliability report: grids, resumption, failures, timeouts, a real Dask cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlsys_kit.claims import Claim, Metric, evaluate_claim
from mlsys_kit.kit import catalog
from mlsys_kit.kit.cli import main
from mlsys_kit.kit.reliability import (
    claim_pass_rates,
    edge_fail_rates,
    edge_specs,
    load_edge_sets,
    load_test_sizes,
    reliability_specs,
    write_edge_report,
    write_report,
)
from mlsys_kit.kit.runner import RunResult, load_results
from mlsys_kit.kit.sweep import (
    TABLE_COLUMNS,
    grid_specs,
    parse_grid,
    plot_sweep,
    run_label,
    save_table,
    sweep,
    tidy_table,
)
from mlsys_kit.params import ParameterError


def _fake_result(label: str, n: int, seed: int, *, error: str | None = None) -> RunResult:
    claims = (
        []
        if error
        else [
            evaluate_claim(f"n ({n}) is above 2", n, ">", 2),
            evaluate_claim("seed is a count", seed, ">=", 0, kind="check"),
        ]
    )
    metrics = [] if error else [Metric("n_plus_seed", n + seed)]
    return RunResult(
        "03/01", "x", Path("o.ipynb"), 1.0, claims, error, {"n": n, "seed": seed}, label, metrics
    )


# --- grids and labels ------------------------------------------------------------------------


def test_parse_grid_reads_typed_values_in_order(notebook_tree: Path) -> None:
    tiny = catalog.find("01/01")
    assert parse_grid(tiny, ["n=1,10", "mode=slow,fast"]) == {
        "n": [1, 10],
        "mode": ["slow", "fast"],
    }


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["n"], r"--grid 'n' must read NAME=V1,V2"),
        (["n="], r"--grid n= has no values"),
        (["n=1", "n=2"], r"names 'n' twice"),
        (["n=0,1"], r"n=0 is out of range"),
        (["colour=red"], r"no parameter"),
        (["n=ten"], r"n"),
    ],
)
def test_parse_grid_refuses_what_a_run_would_refuse(
    notebook_tree: Path, items: list[str], message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        parse_grid(catalog.find("01/01"), items)


def test_grid_specs_cover_every_combination_with_seeds_last(notebook_tree: Path) -> None:
    specs = grid_specs(catalog.find("01/01"), {"n": [1, 2], "mode": ["fast", "slow"]}, seeds=[7, 8])
    assert len(specs) == 8
    assert specs[0].label == "n=1,mode=fast,seed=7"
    assert specs[0].parameters == {"n": 1, "mode": "fast", "seed": 7}
    assert len({s.label for s in specs}) == 8


def test_grid_specs_keep_fixed_values_out_of_labels(notebook_tree: Path) -> None:
    (spec,) = grid_specs(catalog.find("01/01"), {}, seeds=[3], fixed={"n": 9})
    assert spec.label == "seed=3" and spec.parameters == {"n": 9, "seed": 3}
    with pytest.raises(ParameterError, match="not both"):
        grid_specs(catalog.find("01/01"), {"seed": [1]}, seeds=[2])
    with pytest.raises(ParameterError, match="both fixed and swept"):
        grid_specs(catalog.find("01/01"), {"n": [1]}, fixed={"n": 2})


def test_unsafe_labels_become_stable_hashes() -> None:
    assert run_label({"path": "a/b"}) == run_label({"path": "a/b"})
    assert run_label({"path": "a/b"}) != run_label({"path": "a/c"})
    assert run_label({"path": "a/b"}).startswith("run-")


# --- the tidy table and its figure -----------------------------------------------------------


def test_tidy_table_has_one_row_per_run_and_claim_or_metric() -> None:
    results = [_fake_result("n=1,seed=0", 1, 0), _fake_result("n=5,seed=0", 5, 0)]
    results.append(_fake_result("n=9,seed=0", 9, 0, error="RuntimeError: boom"))
    table = tidy_table(results)
    assert list(table.columns) == [*TABLE_COLUMNS, "n", "seed"]
    assert len(table) == 3 + 3 + 1
    lesson = table[(table["kind"] == "lesson") & (table["n"] == 1)].iloc[0]
    assert lesson["passed"] == False  # noqa: E712 - a numpy bool
    assert lesson["margin"] == pytest.approx(-1) and lesson["relative_margin"] == pytest.approx(
        -0.5
    )
    metric = table[(table["kind"] == "metric") & (table["n"] == 5)].iloc[0]
    assert metric["value"] == 5 and pd.isna(metric["threshold"])
    failed = table[table["status"] == "error"].iloc[0]
    assert pd.isna(failed["kind"]) and failed["error"] == "RuntimeError: boom"


def test_a_parameter_named_like_a_column_keeps_a_prefix() -> None:
    result = _fake_result("x", 1, 0)
    result.parameters["value"] = 3
    assert "param:value" in tidy_table([result]).columns


def test_write_table_round_trips_through_parquet_and_csv(tmp_path: Path) -> None:
    table = tidy_table([_fake_result("n=1,seed=0", 1, 0), _fake_result("n=3,seed=0", 3, 0)])
    parquet, csv = save_table(table, tmp_path)
    back = pd.read_parquet(parquet)
    assert back.shape == table.shape
    assert pd.read_csv(csv).shape == table.shape


def test_plot_sweep_draws_metrics_by_default_and_lessons_by_position() -> None:
    results = [_fake_result(f"n={n},seed={s}", n, s) for n in (1, 3, 5) for s in (0, 1)]
    table = tidy_table(results)
    fig = plot_sweep(table)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["n_plus_seed"]
    assert fig.axes[0].get_xlabel() == "n"
    # statements quote n, yet all runs' lesson lands in one panel
    fig = plot_sweep(table, y=["n (3) is above 2"])
    (ax,) = [ax for ax in fig.axes if ax.get_visible()]
    assert len(ax.collections) == 2  # held and failed runs
    with pytest.raises(ParameterError, match="nothing named 'speed'"):
        plot_sweep(table, y=["speed"])
    with pytest.raises(ParameterError, match="x='colour' is not a column"):
        plot_sweep(table, x="colour")


# --- running sweeps --------------------------------------------------------------------------


def test_a_sweep_runs_every_combination_then_resumes_without_rerunning(swept) -> None:
    out = Path("sw")
    specs = grid_specs(swept, {"n": [1, 4]}, seeds=[0, 1])
    results = sweep(specs, out)
    assert [r.status for r in results] == ["claim failed", "claim failed", "ok", "ok"]
    assert results[2].metrics == [Metric("n_plus_seed", 4.0)]
    assert [c.kind for c in results[2].claims] == ["lesson", "check"]
    seen = []
    again = sweep(specs, out, on_start=lambda todo, done: seen.append((todo, done)))
    assert seen == [(0, 4)]
    assert [r.label for r in again] == [s.label for s in specs]
    assert len(load_results(out)) == 4, "nothing ran twice"


def test_a_sweep_reruns_a_label_recorded_with_other_fixed_values(swept) -> None:
    out = Path("sw")
    sweep(grid_specs(swept, {}, seeds=[0], fixed={"n": 3}), out)
    todo = []
    (result,) = sweep(
        grid_specs(swept, {}, seeds=[0], fixed={"n": 4}), out, on_start=lambda t, d: todo.append(t)
    )
    assert todo == [1] and result.parameters == {"n": 4, "seed": 0}


def test_a_sweep_reruns_what_an_older_version_of_the_notebook_ran(swept, write_swept) -> None:
    out = Path("sw")
    sweep(grid_specs(swept, {"n": [3]}), out)
    write_swept(swept.path, claim_words="exceeds 2")
    edited = catalog.find("03/01")
    assert edited.code_hash != swept.code_hash
    todo = []
    (result,) = sweep(grid_specs(edited, {"n": [3]}), out, on_start=lambda t, d: todo.append(t))
    assert todo == [1] and result.claims[0].statement == "n (3) exceeds 2"


def test_the_sweep_command_writes_table_and_figure(swept, capsys) -> None:
    status = main(["sweep", "03/01", "--grid", "n=1,4", "--seeds", "2", "--out", "cli"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "4 runs (0 errors); lessons held in 2/4 run×lesson pairs." in out
    table = pd.read_parquet("cli/sweep.parquet")
    assert set(table["kind"]) == {"lesson", "check", "metric"}
    assert Path("cli/sweep.png").stat().st_size > 0
    assert main(["sweep", "03/01", "--grid", "n=1,4", "--seeds", "2", "--out", "cli"]) == 0
    assert "0 to run" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "n=0"], "n=0 is out of range"),
        ([], "give at least one --grid"),
        (
            ["--grid", "n=1", "--timeout", "0"],
            "--timeout=0.0 is out of range: allowed --timeout > 0",
        ),
        (["--grid", "n=1", "--jobs", "0"], "--jobs=0 is out of range: allowed --jobs ≥ 1"),
    ],
)
def test_the_sweep_command_refuses_bad_requests_before_running(
    swept, no_kernels, capsys, argv: list[str], message: str
) -> None:
    assert main(["sweep", "03/01", *argv]) == 2
    assert message in capsys.readouterr().err
    assert no_kernels == []


# --- the reliability report ------------------------------------------------------------------


def test_load_test_sizes_takes_the_first_set_without_its_seed(tmp_path: Path) -> None:
    toml = tmp_path / "sets.toml"
    toml.write_text('"01/01" = [{ seed = 1, n = 5 }, { seed = 2 }]\n')
    assert load_test_sizes(toml) == {"01/01": {"n": 5}}
    with pytest.raises(ParameterError, match="cannot read the test sizes"):
        load_test_sizes(tmp_path / "missing.toml")
    toml.write_text('"01/01" = 3\n')
    with pytest.raises(ParameterError, match="must be a list of parameter tables"):
        load_test_sizes(toml)


def test_reliability_specs_interleave_notebooks_on_unseen_seeds(notebook_tree: Path) -> None:
    notebooks = catalog.discover()
    specs = reliability_specs(notebooks, {"01/01": {"n": 7}}, n_seeds=3)
    assert [(s.notebook.id, s.label) for s in specs[:2]] == [
        ("01/01", "seed=1000"),
        ("02/01", "seed=1000"),
    ]
    assert specs[0].parameters == {"n": 7, "seed": 1000} and len(specs) == 6


def test_reliability_table_counts_a_run_that_stopped_early_as_not_held(tmp_path: Path) -> None:
    results = [_fake_result(f"seed={s}", 3 if s < 18 else 1, s) for s in range(19)]
    results.append(_fake_result("seed=19", 3, 19, error="RuntimeError: boom"))
    table = claim_pass_rates(tidy_table(results))
    lesson = table[table["kind"] == "lesson"].iloc[0]
    assert lesson["statement"] == "n (3) is above 2", "the statement most runs showed"
    assert (lesson["runs"], lesson["evaluated"], lesson["held"]) == (20, 19, 18)
    assert lesson["pass_rate"] == pytest.approx(0.9)
    assert lesson["margin_worst"] == pytest.approx(-1) and lesson["margin_median"] == 1
    report = write_report(
        table,
        tmp_path / "r.md",
        command="mlsys-kit reliability",
        seeds=list(range(20)),
        sizes_file="sets.toml",
    )
    text = report.read_text()
    assert "**0 of 1 lessons hold on at least 95% of the seeds**" in text
    assert "| ⚠ | lesson | n (3) is above 2 | 18/20 |" in text
    assert (tmp_path / "r.png").stat().st_size > 0


def test_the_reliability_figure_has_one_row_per_claim_and_no_empty_band() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlsys_kit.kit.reliability import plot_reliability

    table = pd.DataFrame(
        {
            "notebook": ["01/01"] * 300,
            "kind": ["lesson"] * 300,
            "position": range(300),
            "pass_rate": [1.0] * 300,
        }
    )
    fig = plot_reliability(table)
    ax = fig.axes[0]
    assert len(ax.patches) == 300
    assert ax.get_ylim() == (-0.5, 299.5), "half a row of margin, not 5% of 300 rows"
    plt.close(fig)


def test_load_edge_sets_keeps_the_marked_sets_and_their_lesson(tmp_path: Path) -> None:
    toml = tmp_path / "sets.toml"
    toml.write_text(
        '"01/01" = [{ seed = 1, n = 5 }, { seed = 3, n = 2, edge = "n is" }]\n'
        '"02/01" = [{ seed = 1 }]\n'
    )
    assert load_edge_sets(toml) == {"01/01": [{"n": 2, "edge": "n is"}]}
    toml.write_text('"01/01" = [{ seed = 3, n = 2, edge = "n is", by_chance = true }]\n')
    assert load_edge_sets(toml) == {"01/01": [{"n": 2, "edge": "n is", "by_chance": True}]}
    with pytest.raises(ParameterError, match="cannot read the test sizes"):
        load_edge_sets(tmp_path / "missing.toml")


def test_edge_specs_label_each_edge_and_seed(notebook_tree: Path) -> None:
    notebooks = catalog.discover()
    edges = {"01/01": [{"n": 2, "edge": "n is"}, {"n": 3, "edge": "other", "by_chance": True}]}
    specs = edge_specs(notebooks, edges, n_seeds=2, first_seed=7)
    assert [(s.notebook.id, s.label) for s in specs] == [
        ("01/01", "edge1-seed=7"),
        ("01/01", "edge2-seed=7"),
        ("01/01", "edge1-seed=8"),
        ("01/01", "edge2-seed=8"),
    ]
    assert specs[0].parameters == {"n": 2, "seed": 7}
    with pytest.raises(ParameterError, match="n_seeds=0 is out of range"):
        edge_specs(notebooks, edges, n_seeds=0)


def test_edge_fail_rates_count_runs_that_held_or_stopped_as_not_failed(tmp_path: Path) -> None:
    def edge_run(seed: int, n: int, *, error: str | None = None) -> RunResult:
        return _fake_result(f"edge1-seed={seed}", n, seed, error=error)

    results = [edge_run(s, 1) for s in range(17)] + [edge_run(17, 3), edge_run(18, 4)]
    results.append(edge_run(19, 1, error="RuntimeError: boom"))
    results.append(_fake_result("seed=5", 3, 5))  # a reliability run: not an edge run
    edges = {"03/01": [{"n": 1, "edge": "n ("}]}
    table = edge_fail_rates(results, edges)
    row = table.iloc[0]
    assert (row["runs"], row["failed"], row["held"]) == (20, 17, 2)
    assert row["fail_rate"] == pytest.approx(0.85)
    assert row["worst"] == "observed 4.00 > 2.00", "the run in which it held most clearly"
    assert row["parameters"] == "n=1"
    report = write_edge_report(
        table,
        tmp_path / "e.md",
        command="mlsys-kit reliability --edges",
        seeds=[0, 19],
        sizes_file="sets.toml",
    )
    text = report.read_text()
    assert "**0 of 1 edges fail their lesson as often as they must**" in text
    assert "| ⚠ | 03/01 | n ( | `n=1` | 17/20 | ≥ 95% | observed 4.00 > 2.00 |" in text
    by_chance = edge_fail_rates(results, {"03/01": [{"n": 1, "edge": "n (", "by_chance": True}]})
    assert by_chance.iloc[0]["meets"] and by_chance.iloc[0]["parameters"] == "n=1"
    assert not edge_fail_rates(results[17:19], edges).iloc[0]["meets"], "held on both runs"


def test_reliability_edges_runs_every_edge_set_on_unseen_seeds(
    notebook_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = notebook_tree.parent / "sets.toml"
    toml.write_text(
        '"01/01" = [{ seed = 1, n = 5 }, { seed = 3, n = 5, edge = "n is positive" }]\n'
        '"02/01" = [{ seed = 1, n = 5, edge = "n is huge", by_chance = true }]\n'
    )
    out = notebook_tree.parent / "edges"
    code = main(
        [
            "reliability",
            "--edges",
            "--seeds",
            "2",
            "--jobs",
            "2",
            "--sizes",
            str(toml),
            "--out",
            str(out),
            "01/01",
            "02/01",
        ]
    )
    assert code == 0
    text = (out / "edges-reliability.md").read_text()
    assert "**1 of 2 edges fail their lesson as often as they must**" in text
    assert "| ⚠ | 01/01 | n is positive | `n=5` | 0/2 | ≥ 95% |" in text
    assert "| ✔ | 02/01 | n is huge | `n=5` | 2/2 | > 50% (chance) |" in text
    assert "(2 edges, 1 failing too rarely)" in capsys.readouterr().out


def test_reliability_runs_the_first_set_on_unseen_seeds_and_writes_its_report(
    notebook_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = notebook_tree.parent / "sets.toml"
    toml.write_text('"01/01" = [{ seed = 1, n = 5 }, { seed = 3, n = 6, edge = "n is" }]\n')
    out = notebook_tree.parent / "claims"
    report = notebook_tree.parent / "report.md"
    argv = ["reliability", "--seeds", "2", "--first-seed", "7", "--sizes", str(toml)]
    assert main([*argv, "--out", str(out), "--report", str(report), "01/01"]) == 0
    runs = load_results(out)
    assert sorted(r.label for r in runs) == ["seed=7", "seed=8"]
    assert all(r.parameters["n"] == 5 for r in runs), "the first set, not the edge"
    text = report.read_text()
    assert "`mlsys-kit reliability 01/01 --seeds 2 --jobs 1 --first-seed 7`" in text
    assert "| ✔ | lesson | n is positive | 2/2 |" in text
    assert "(1 lessons, 0 below 95%)" in capsys.readouterr().out


def test_claims_round_trip_through_results_jsonl() -> None:
    result = _fake_result("seed=1", 3, 1)
    back = RunResult.from_dict(json.loads(json.dumps(result.to_dict(), default=repr)))
    assert back.claims == result.claims and back.metrics == result.metrics
    assert isinstance(back.claims[0], Claim)
