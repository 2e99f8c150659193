"""The claims reliability report: how often each lesson holds on seeds nobody tuned.

A lesson is only as good as the share of runs in which it holds. ``mlsys-kit
reliability`` runs every notebook at its test sizes (the first parameter set of
``tests/notebook_parameters.toml``, whose seed is replaced) on seeds far from the
ones the notebooks and tests use (``1000, 1001, …``), through the same sweep
engine as ``mlsys-kit sweep`` (resumable, local processes or a Dask cluster), and
writes a Markdown report: for every claim, its pass rate over the seeds and its
margin (value minus threshold on the passing side, in the claim's units and
relative to the threshold) as median and worst case.

Claims are matched across runs by notebook, kind and position (the third lesson
of a notebook is the same lesson in every run, whatever numbers its statement
quotes). A run that stopped before a claim counts as a run in which it did not
hold. The kit's standard (``CONTRIBUTING.md``) asks every lesson to hold in at
least :data:`TARGET` of the seeds.

Edges are measured the same way (``mlsys-kit reliability --edges``): every parameter
set marked ``edge = "<lesson>"`` runs on the unseen seeds, and the report says how often
that lesson *failed*, as the notebook's "Try it" says it does past its edge. An edge
that holds on some seeds is a "Try it" that misleads the reader; the standard asks it
to fail in at least :data:`TARGET` of the seeds too. Where chance decides at the edge
(a lesson's interval over few repeats, a null effect) and "Try it" says so, the set is
marked ``by_chance = true`` and must fail on more than :data:`CHANCE_TARGET` of them.
"""

from __future__ import annotations

import os
import platform
import subprocess
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsys_kit.kit.catalog import Notebook
from mlsys_kit.kit.runner import RunSpec
from mlsys_kit.kit.sweep import grid_specs
from mlsys_kit.params import ParameterError, check_int

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "TARGET",
    "CHANCE_TARGET",
    "FIRST_UNSEEN_SEED",
    "load_test_sizes",
    "reliability_specs",
    "claim_pass_rates",
    "plot_reliability",
    "write_report",
    "load_edge_sets",
    "edge_specs",
    "edge_fail_rates",
    "write_edge_report",
]

#: The share of unseen seeds on which every lesson must hold.
TARGET = 0.95

#: The share of unseen seeds on which an edge marked ``by_chance`` must fail its lesson: most.
CHANCE_TARGET = 0.5

#: Keys of an edge set that are not parameters: the lesson, and whether chance decides there.
EDGE_KEYS = ("edge", "by_chance")

#: Reliability seeds start here, far from the seeds notebooks and tests use.
FIRST_UNSEEN_SEED = 1000


def load_test_sizes(path: Path) -> dict[str, dict[str, Any]]:
    """Each notebook's test sizes: the first parameter set of a TOML file, seed removed.

    Sets marked ``edge = "..."`` (runs past a lesson's edge, expected to fail it) are
    skipped.

    Parameters
    ----------
    path : Path
        A file like ``tests/notebook_parameters.toml``: notebook id → list of
        parameter sets.

    Returns
    -------
    dict
        Notebook id → parameter values (without ``seed``).

    Raises
    ------
    ParameterError
        When the file is missing or is not such a TOML file.
    """
    path = Path(path)
    try:
        sets = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"reliability: cannot read the test sizes in {path}: {exc}") from exc
    sizes = {}
    for key, value in sets.items():
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ParameterError(f"reliability: {path}: {key} must be a list of parameter tables")
        inside = [v for v in value if "edge" not in v]  # sets past a lesson's edge are not sizes
        if inside:
            sizes[key] = {name: v for name, v in inside[0].items() if name != "seed"}
    return sizes


def reliability_specs(
    notebooks: Sequence[Notebook],
    sizes: Mapping[str, Mapping[str, Any]],
    *,
    n_seeds: int = 20,
    first_seed: int = FIRST_UNSEEN_SEED,
) -> list[RunSpec]:
    """Every notebook at its test sizes on ``n_seeds`` unseen seeds.

    Parameters
    ----------
    notebooks : sequence of Notebook
    sizes : mapping
        Notebook id → fixed parameter values (from :func:`load_test_sizes`); a notebook
        without an entry runs at its defaults.
    n_seeds : int, default 20
    first_seed : int, default 1000

    Returns
    -------
    list of RunSpec
        Labelled ``seed=<s>``, seeds in the outer loop so that a partial report
        covers every notebook.
    """
    n_seeds = check_int("n_seeds", n_seeds, min=1, owner="reliability")
    first_seed = check_int("first_seed", first_seed, min=0, owner="reliability")
    seeds = range(first_seed, first_seed + n_seeds)
    per_notebook = [grid_specs(nb, {}, seeds=seeds, fixed=sizes.get(nb.id, {})) for nb in notebooks]
    return [spec for round_ in zip(*per_notebook, strict=True) for spec in round_]


def claim_pass_rates(tidy: pd.DataFrame) -> pd.DataFrame:
    """Pass rate and margins of every claim over the runs of a reliability sweep.

    Parameters
    ----------
    tidy : DataFrame
        From :func:`mlsys_kit.kit.sweep.tidy_table`.

    Returns
    -------
    DataFrame
        One row per notebook, kind and position: the statement (as the most runs
        showed it), ``runs`` (of the notebook), ``held`` (runs in which it held),
        ``pass_rate`` (held / runs: a run that stopped before the claim counts as
        not held), and ``margin_median``, ``margin_worst``, ``relative_median``,
        ``relative_worst`` over the runs that evaluated it.
    """
    import pandas as pd

    runs = tidy.groupby("notebook")["label"].nunique().rename("runs")
    claims = tidy[tidy["kind"].isin(["lesson", "check"])]
    grouped = claims.groupby(["notebook", "kind", "position"], sort=True)
    table = pd.DataFrame(
        {
            "statement": grouped["name"].agg(lambda s: s.mode().iloc[0]),
            "held": grouped["passed"].sum().astype(int),
            "evaluated": grouped["passed"].size(),
            "margin_median": grouped["margin"].median(),
            "margin_worst": grouped["margin"].min(),
            "relative_median": grouped["relative_margin"].median(),
            "relative_worst": grouped["relative_margin"].min(),
        }
    ).reset_index()
    table = table.merge(runs, left_on="notebook", right_index=True)
    table.attrs["run_seconds"] = float(tidy.drop_duplicates(["notebook", "label"])["seconds"].sum())
    table["pass_rate"] = table["held"] / table["runs"]
    order = ["notebook", "kind", "position", "statement", "runs", "evaluated", "held", "pass_rate"]
    return table[order + [c for c in table.columns if c not in order]]


def plot_reliability(table: pd.DataFrame) -> Figure:
    """Pass rate of every claim, lessons and checks apart, with the target drawn."""
    import matplotlib.pyplot as plt

    from mlsys_kit.notebook import COLORS

    table = table.sort_values(["notebook", "kind", "position"], ascending=False)
    labels = [f"{r.notebook} {r.kind[0].upper()}{r.position + 1}" for r in table.itertuples()]
    height = max(3.0, 0.16 * len(table) + 1)
    fig, ax = plt.subplots(figsize=(7, height), layout="constrained")
    colours = [
        COLORS["vermillion"] if rate < TARGET else COLORS["blue" if kind == "lesson" else "grey"]
        for rate, kind in zip(table["pass_rate"], table["kind"], strict=True)
    ]
    ax.barh(range(len(table)), 100 * table["pass_rate"], color=colours)
    ax.axvline(100 * TARGET, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(table)), labels, fontsize=6)
    # matplotlib's default 5% margins are 5% of the rows: over 20 empty rows at each end of the
    # kit's ~450 claims; half a row is enough
    ax.set_ylim(-0.5, len(table) - 0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("runs in which the claim held (%)")
    ax.set_title("Claims on unseen seeds: lessons (L, blue), checks (C, grey), below target (red)")
    return fig


def _commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def write_report(
    table: pd.DataFrame,
    path: Path,
    *,
    command: str,
    seeds: Sequence[int],
    sizes_file: str,
    wall_seconds: float | None = None,
    workers: str = "",
    titles: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> Path:
    """Write the Markdown report and its figure (``<path>.png``); return the report's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = path.with_suffix(".png")
    fig = plot_reliability(table)
    fig.savefig(figure, dpi=110)
    titles = titles or {}
    lessons = table[table["kind"] == "lesson"]
    checks = table[table["kind"] == "check"]
    below = lessons[lessons["pass_rate"] < TARGET]
    run_minutes = table.attrs.get("run_seconds", 0) / 60
    lines = [
        "# Claims reliability report",
        "",
        "How often each claim of the kit holds on seeds that no notebook was tuned on, at the",
        "notebooks' test sizes. Generated by `mlsys-kit reliability`; do not edit by hand.",
        "",
        *_provenance(
            command,
            root,
            f"{seeds[0]}–{seeds[-1]} ({len(seeds)} per notebook); sizes: first set of "
            f"`{sizes_file}` per notebook",
            f"the runs took {run_minutes:.0f} min of run time in all; ",
            wall_seconds,
            workers,
        ),
        "",
        f"**{len(lessons) - len(below)} of {len(lessons)} lessons hold on at least "
        f"{TARGET:.0%} of the seeds**; {len(checks)} checks "
        f"({int((checks['pass_rate'] >= TARGET).sum())} at target).",
        "Margin: how far the value lies on the passing side of the threshold (negative: the",
        "claim failed), in the claim's units; relative: as a share of the threshold.",
        "",
        f"![Pass rate of every claim]({figure.name})",
        "",
    ]
    if len(below):
        lines += ["## Below target", ""]
        lines += [f"- {r.notebook} — {r.statement} ({r.pass_rate:.0%})" for r in below.itertuples()]
        lines.append("")
    for notebook, rows in table.groupby("notebook", sort=True):
        title = titles.get(notebook, "")
        lines += [f"## {notebook} {title}".rstrip(), ""]
        lines += [
            "| | kind | claim | held | median margin | worst margin | median rel. | worst rel. |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows.itertuples():
            flag = "✔" if r.pass_rate >= TARGET else "⚠"
            statement = str(r.statement).replace("|", "\\|")
            lines.append(
                f"| {flag} | {r.kind} | {statement} | {r.held}/{r.runs} | "
                f"{_fmt(r.margin_median)} | {_fmt(r.margin_worst)} | "
                f"{_pct(r.relative_median)} | {_pct(r.relative_worst)} |"
            )
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Edges: sets past a lesson's edge must fail that lesson on unseen seeds too
# --------------------------------------------------------------------------------------------


def load_edge_sets(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Each notebook's edge sets: the parameter sets marked ``edge = "..."``, seed removed.

    Parameters
    ----------
    path : Path
        A file like ``tests/notebook_parameters.toml``.

    Returns
    -------
    dict
        Notebook id → its edge sets in file order, each the parameter values (without
        ``seed``), ``edge``, the start of the lesson that must fail, and ``by_chance``
        where the file marks it.

    Raises
    ------
    ParameterError
        When the file is missing or is not such a TOML file.
    """
    load_test_sizes(path)  # the same file, read and checked the same way
    sets = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    edges = {}
    for key, value in sets.items():
        marked = [{k: v for k, v in s.items() if k != "seed"} for s in value if "edge" in s]
        if marked:
            edges[key] = marked
    return edges


def edge_specs(
    notebooks: Sequence[Notebook],
    edges: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    n_seeds: int = 20,
    first_seed: int = FIRST_UNSEEN_SEED,
) -> list[RunSpec]:
    """Every edge set of the notebooks on ``n_seeds`` unseen seeds.

    Parameters
    ----------
    notebooks : sequence of Notebook
    edges : mapping
        Notebook id → edge sets (from :func:`load_edge_sets`); notebooks without
        one are left out.
    n_seeds : int, default 20
    first_seed : int, default 1000

    Returns
    -------
    list of RunSpec
        Labelled ``edge<k>-seed=<s>`` (``k`` counts a notebook's edge sets from 1),
        seeds in the outer loop.
    """
    n_seeds = check_int("n_seeds", n_seeds, min=1, owner="reliability")
    first_seed = check_int("first_seed", first_seed, min=0, owner="reliability")
    seeds = range(first_seed, first_seed + n_seeds)
    specs = []
    for seed in seeds:
        for nb in notebooks:
            for k, edge in enumerate(edges.get(nb.id, []), start=1):
                values = {name: v for name, v in edge.items() if name not in EDGE_KEYS}
                specs.append(RunSpec(nb, {**values, "seed": seed}, label=f"edge{k}-seed={seed}"))
    return specs


def edge_fail_rates(
    results: Sequence[Any], edges: Mapping[str, Sequence[Mapping[str, Any]]]
) -> pd.DataFrame:
    """How often each edge set failed its lesson, over the runs of :func:`edge_specs`.

    Parameters
    ----------
    results : sequence of RunResult
    edges : mapping
        Notebook id → edge sets, as given to :func:`edge_specs`.

    Returns
    -------
    DataFrame
        One row per edge set: ``notebook``, ``edge`` (its number), ``lesson`` (the
        start of the lesson's statement), ``parameters`` (the set, as ``name=value``),
        ``by_chance``, ``target`` (:data:`TARGET`, or :data:`CHANCE_TARGET` for an edge
        marked ``by_chance``), ``runs``, ``failed`` (runs that showed the lesson failed),
        ``held`` (runs that showed it held), ``fail_rate`` (failed / runs: a run that
        stopped before the lesson counts as not failed), ``meets`` (fail_rate at least
        ``TARGET``, or above ``CHANCE_TARGET``) and ``worst`` (the evidence of the run in
        which it held most clearly, or else of the run closest to holding).
    """
    import pandas as pd

    rows, seconds = [], 0.0
    for notebook, sets in sorted(edges.items()):
        for k, edge in enumerate(sets, start=1):
            prefix = f"edge{k}-seed="
            runs = [r for r in results if r.notebook_id == notebook and r.label.startswith(prefix)]
            seconds += sum(r.seconds for r in runs)
            shown = [
                c
                for r in runs
                for c in r.claims
                if c.kind == "lesson" and c.statement.startswith(edge["edge"])
            ]
            held = [c for c in shown if c.passed]
            closest = sorted(held or shown, key=lambda c: -c.margin)
            values = ", ".join(f"{n}={v}" for n, v in edge.items() if n not in EDGE_KEYS)
            by_chance = bool(edge.get("by_chance", False))
            fail_rate = (len(shown) - len(held)) / len(runs) if runs else float("nan")
            rows.append(
                {
                    "notebook": notebook,
                    "edge": k,
                    "lesson": edge["edge"],
                    "parameters": values,
                    "by_chance": by_chance,
                    "target": CHANCE_TARGET if by_chance else TARGET,
                    "runs": len(runs),
                    "failed": len(shown) - len(held),
                    "held": len(held),
                    "fail_rate": fail_rate,
                    "meets": fail_rate > CHANCE_TARGET if by_chance else fail_rate >= TARGET,
                    "worst": closest[0].evidence if closest else "",
                }
            )
    table = pd.DataFrame(rows)
    table.attrs["run_seconds"] = seconds
    return table


def write_edge_report(
    table: pd.DataFrame,
    path: Path,
    *,
    command: str,
    seeds: Sequence[int],
    sizes_file: str,
    wall_seconds: float | None = None,
    workers: str = "",
    root: Path | None = None,
) -> Path:
    """Write the Markdown report of :func:`edge_fail_rates`; return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Edges reliability report",
        "",
        "How often each parameter set past a lesson's edge (a notebook's \"Try it\") fails that",
        "lesson on seeds that no notebook was tuned on. Generated by `mlsys-kit reliability",
        "--edges`; do not edit by hand.",
        "",
        *_provenance(
            command,
            root,
            f"{seeds[0]}–{seeds[-1]} ({len(seeds)} per edge); sets: those marked `edge` in "
            f"`{sizes_file}`",
            f"the runs took {table.attrs.get('run_seconds', 0) / 60:.0f} min of run time in all; ",
            wall_seconds,
            workers,
        ),
        "",
        f"**{int(table['meets'].sum())} of {len(table)} edges fail their lesson as often as "
        f"they must**: on at least {TARGET:.0%} of the seeds, or, where the test's set is marked "
        f'`by_chance` (chance decides there, and "Try it" says so), on more than '
        f"{CHANCE_TARGET:.0%}. A run that stopped before the lesson counts as not failed.",
        "",
        "| | notebook | lesson that must fail | parameters | failed | must | closest to holding |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        flag = "✔" if r.meets else "⚠"
        lesson = str(r.lesson).replace("|", "\\|")
        evidence = str(r.worst).replace("|", "\\|") or "—"
        must = f"> {r.target:.0%} (chance)" if r.by_chance else f"≥ {r.target:.0%}"
        lines.append(
            f"| {flag} | {r.notebook} | {lesson} | `{r.parameters}` | {r.failed}/{r.runs} | "
            f"{must} | {evidence} |"
        )
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _provenance(
    command: str,
    root: Path | None,
    seeds: str,
    run_time: str,
    wall_seconds: float | None,
    workers: str,
) -> list[str]:
    """A report's lines on how it was made: command, date and commit, seeds, machine, time."""
    took = f"{wall_seconds / 60:.0f} min" if wall_seconds is not None else "not timed"
    return [
        f"- Command: `{command}`",
        f"- Date: {date.today().isoformat()}; commit {_commit(root or Path.cwd())}",
        f"- Seeds: {seeds}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {run_time}the last invocation's wall time "
        f"{took}{f' with {workers}' if workers else ''}",
    ]


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "—"
    return f"{value:.3g}"


def _pct(value: float) -> str:
    if value != value:
        return "—"
    return f"{100 * value:+.0f}%"
