"""Parameter sweeps: run a notebook on every combination of a grid, and tabulate what it found.

``mlsys-kit sweep`` and ``mlsys-kit reliability`` are thin layers over this module;
both run on :func:`mlsys_kit.kit.runner.run`, so a sweep validates every run before
any kernel starts, runs them one at a time, on a local process pool, or on a Dask
cluster, and appends each result to ``results.jsonl`` as soon as it is known.

* :func:`grid_specs` turns a grid (``{"window": [100, 500], "seed": [0, 1]}``) into
  one :class:`~mlsys_kit.kit.runner.RunSpec` per combination, each labelled by its
  values (``window=100,seed=0``), so its output file and its record say what it ran.
* :func:`sweep` runs the specs that the sweep folder does not hold yet: re-running
  the same command resumes after an interrupt and skips what is done. A run that
  fails or times out is recorded with its error and never stops the others.
* :func:`tidy_table` turns the recorded results into one tidy table: one row per
  run and claim (or metric recorded with :func:`mlsys_kit.claims.record`), with the
  parameters, the value, threshold, margin and verdict, the wall time and any error.
  :func:`sweep` writes it as ``sweep.parquet`` and ``sweep.csv``, and draws
  ``sweep.png`` with :func:`plot_sweep`.

Why hand-written: the grid expansion is ``itertools.product``, and the rest is the
kit's own runner and result records; sweep frameworks (papermill has none; Ray Tune,
Optuna) optimise an objective rather than tabulate claims, and would add a server
or a study database for what is a loop over run specs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsys_kit.kit.catalog import Notebook, coerce_parameters
from mlsys_kit.kit.runner import RunResult, RunSpec, load_results, run
from mlsys_kit.params import ParameterError, check_bool, check_type

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "parse_grid",
    "grid_specs",
    "run_label",
    "sweep",
    "tidy_table",
    "save_table",
    "plot_sweep",
    "TABLE_COLUMNS",
]

#: The columns of a sweep's tidy table, before one column per swept parameter.
TABLE_COLUMNS = [
    "notebook",
    "label",
    "status",
    "seconds",
    "error",
    "kind",
    "position",
    "name",
    "value",
    "op",
    "threshold",
    "margin",
    "relative_margin",
    "passed",
]

_SAFE_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=,+-]*$")


def parse_grid(notebook: Notebook, items: Sequence[str]) -> dict[str, list[Any]]:
    """Read ``NAME=V1,V2,…`` command-line items into a grid of typed values.

    Each value is converted to the type of the parameter's default and checked
    against the notebook's ``PARAMETERS`` declaration, as ``mlsys-kit run`` does.

    Parameters
    ----------
    notebook : Notebook
        The notebook whose parameters the grid names.
    items : sequence of str
        ``"NAME=V1,V2,…"``, one per swept parameter.

    Returns
    -------
    dict
        Parameter name → list of values, in the order given.

    Raises
    ------
    ParameterError
        For an item without ``=``, an empty value list, a name given twice, an unknown
        name, or a value of the wrong type or out of the declared range.

    Examples
    --------
    >>> from mlsys_kit.kit.catalog import find
    >>> parse_grid(find("01/01"), ["utilisation=0.5,0.9", "seed=1,2"])
    {'utilisation': [0.5, 0.9], 'seed': [1, 2]}
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"sweep: --grid {item!r} must read NAME=V1,V2,…")
        if name in grid:
            raise ParameterError(f"sweep: --grid names {name!r} twice; give all its values once")
        texts = [v.strip() for v in values.split(",") if v.strip()]
        if not texts:
            raise ParameterError(f"sweep: --grid {name}= has no values; give V1,V2,…")
        grid[name] = [coerce_parameters(notebook, {name: text})[name] for text in texts]
    return grid


def run_label(parameters: Mapping[str, Any]) -> str:
    """The label of a run: its values as ``name=value,…``, or a short hash when unsafe.

    Examples
    --------
    >>> run_label({"window": 100, "seed": 3})
    'window=100,seed=3'
    >>> run_label({"model": "a b"})[:4]
    'run-'
    """
    text = ",".join(f"{name}={value}" for name, value in parameters.items())
    if _SAFE_LABEL.match(text) and len(text) <= 120:
        return text
    digest = hashlib.sha1(json.dumps(parameters, sort_keys=True, default=repr).encode())
    return f"run-{digest.hexdigest()[:12]}"


def grid_specs(
    notebook: Notebook,
    grid: Mapping[str, Sequence[Any]],
    *,
    seeds: Sequence[int] = (),
    fixed: Mapping[str, Any] | None = None,
) -> list[RunSpec]:
    """One run spec per combination of the grid's values (and of ``seeds``).

    Parameters
    ----------
    notebook : Notebook
    grid : mapping
        Parameter name → values to try.
    seeds : sequence of int, optional
        Seeds to repeat every combination with (the notebook's ``seed`` parameter);
        leave empty when the grid itself names ``seed``.
    fixed : mapping, optional
        Values every run gets (e.g. the test sizes); not part of the labels.

    Returns
    -------
    list of RunSpec
        Labelled by their grid values, seed last.

    Raises
    ------
    ParameterError
        When both ``seeds`` and ``grid["seed"]`` are given, or ``fixed`` repeats a
        swept name.
    """
    grid = {name: list(values) for name, values in grid.items()}
    fixed = dict(fixed or {})
    if seeds:
        if "seed" in grid:
            raise ParameterError("sweep: give seeds with --seeds or with --grid seed=…, not both")
        grid["seed"] = [int(s) for s in seeds]
    clash = sorted(set(fixed) & set(grid))
    if clash:
        raise ParameterError(f"sweep: {clash} are both fixed and swept; sweep them or fix them")
    names = list(grid)
    specs = []
    for values in itertools.product(*(grid[name] for name in names)):
        swept = dict(zip(names, values, strict=True))
        specs.append(RunSpec(notebook, fixed | swept, label=run_label(swept)))
    return specs


def sweep(
    specs: Iterable[RunSpec],
    out_dir: Path,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    timeout: float | None = None,
    retry_errors: bool = False,
    on_result: Callable[[RunResult], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    fork_kernels: bool = True,
) -> list[RunResult]:
    """Run the specs the sweep folder does not hold yet; return the results of all of them.

    Parameters
    ----------
    specs : iterable of RunSpec
        From :func:`grid_specs`; each notebook's runs need distinct labels.
    out_dir : Path
        The sweep folder. Re-running with the same folder skips every run already
        recorded in its ``results.jsonl`` (finished, failed or timed out), so an
        interrupted sweep resumes where it stopped; a run recorded for an older
        version of the notebook's code, or with other parameter values under the
        same label, runs again.
    jobs, scheduler, timeout
        As for :func:`mlsys_kit.kit.runner.run`: local processes, a Dask scheduler's
        address, seconds per run.
    retry_errors : bool, default False
        Also re-run the recorded runs that ended in an error (a timeout, a crash);
        runs whose claims failed are results, and are kept.
    on_result : callable, optional
        Called with each new result as soon as it is known.
    on_start : callable, optional
        Called once with (runs to do, runs already done) before anything runs.
    fork_kernels : bool, default True
        Start local runs' kernels as forks of a warm process, as the test suite does (see
        :func:`mlsys_kit.kit.runner.run`): a sweep runs the same notebooks many times, and
        saves about 1.5 s of imports on each run.

    Returns
    -------
    list of RunResult
        The current result of every spec, in the order of ``specs``.
    """
    retry_errors = check_bool("retry_errors", retry_errors, owner="sweep")
    specs = [check_type("spec", spec, RunSpec, owner="sweep") for spec in specs]
    out_dir = Path(out_dir)
    done = _by_run(load_results(out_dir))
    if retry_errors:
        done = {key: r for key, r in done.items() if r.status != "error"}
    todo = [spec for spec in specs if _run_key(spec) not in done]
    if on_start:
        on_start(len(todo), len(specs) - len(todo))
    results = run(
        todo,
        out_dir,
        jobs=jobs,
        scheduler=scheduler,
        timeout=timeout,
        on_result=on_result,
        fork_kernels=fork_kernels,
    )
    for spec, result in zip(todo, results, strict=True):
        done[_run_key(spec)] = result
    return [done[_run_key(spec)] for spec in specs]


def _run_key(spec_or_result: RunSpec | RunResult) -> tuple[str, str, str, str]:
    """What makes two runs the same: notebook, label, code version and parameter values."""
    if isinstance(spec_or_result, RunSpec):
        nb = spec_or_result.notebook
        notebook_id, code_hash = nb.id, nb.code_hash
    else:
        notebook_id, code_hash = spec_or_result.notebook_id, spec_or_result.code_hash
    values = json.dumps(spec_or_result.parameters, sort_keys=True, default=repr)
    return notebook_id, spec_or_result.label, code_hash, values


def _by_run(results: Iterable[RunResult]) -> dict[tuple[str, str, str, str], RunResult]:
    """The last recorded result of each run (a run recorded again, after an error, wins)."""
    return {_run_key(result): result for result in results}


def tidy_table(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per run and claim or metric: the sweep's findings, ready to group and plot.

    Parameters
    ----------
    results : iterable of RunResult

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`TABLE_COLUMNS` (``kind`` is ``"lesson"``, ``"check"`` or
        ``"metric"``; ``position`` numbers a run's claims of one kind, and its metrics,
        in the order shown; ``margin`` is positive on the passing side of the
        threshold; metrics have no threshold), then one column per parameter the runs
        were given. A run that showed neither claims nor metrics (it failed early) has
        one row with an empty ``kind`` and its ``error``.
    """
    import pandas as pd

    rows = []
    for result in results:
        base = {
            "notebook": result.notebook_id,
            "label": result.label,
            "status": result.status,
            "seconds": round(result.seconds, 2),
            "error": result.error,
        }
        found = []
        positions: dict[str, int] = {}
        for item in result.claims:
            position = positions[item.kind] = positions.get(item.kind, -1) + 1
            found.append(
                {
                    "kind": item.kind,
                    "position": position,
                    "name": item.statement,
                    "value": item.value,
                    "op": item.op,
                    "threshold": item.threshold,
                    "margin": item.margin,
                    "relative_margin": item.relative_margin,
                    "passed": item.passed,
                }
            )
        for position, metric in enumerate(result.metrics):
            found.append(
                {"kind": "metric", "position": position, "name": metric.name, "value": metric.value}
            )
        for entry in found or [{}]:
            rows.append(base | entry | {f"param:{k}": v for k, v in result.parameters.items()})
    table = pd.DataFrame(rows)
    for column in TABLE_COLUMNS:
        if column not in table:
            table[column] = pd.NA
    params = [c for c in table.columns if c.startswith("param:")]
    table = table[TABLE_COLUMNS + params]
    return table.rename(columns={c: c.removeprefix("param:") for c in params if _free(c, table)})


def _free(column: str, table: pd.DataFrame) -> bool:
    """Whether a parameter column can drop its ``param:`` prefix without a clash."""
    return column.removeprefix("param:") not in table.columns


def save_table(table: pd.DataFrame, out_dir: Path, stem: str = "sweep") -> list[Path]:
    """Write the table as ``<stem>.parquet`` and ``<stem>.csv`` in ``out_dir``; return the paths.

    Parameter columns that mix types across notebooks are stored as text in Parquet.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet, csv = out_dir / f"{stem}.parquet", out_dir / f"{stem}.csv"
    frame = table.copy()
    for column in frame.columns:
        kinds = {type(v) for v in frame[column].dropna()}
        if len(kinds) > 1 and not kinds <= {int, float, bool}:
            frame[column] = frame[column].map(lambda v: v if v is None or v != v else str(v))
    frame.to_parquet(parquet, index=False)
    table.to_csv(csv, index=False)
    return [parquet, csv]


def plot_sweep(
    table: pd.DataFrame,
    x: str | None = None,
    y: Sequence[str] | None = None,
    *,
    max_panels: int = 6,
) -> Figure:
    """The default sweep figure: each metric or lesson value against a swept parameter.

    Parameters
    ----------
    table : DataFrame
        From :func:`tidy_table`, for one notebook.
    x : str, optional
        The parameter on the horizontal axis; by default the first swept parameter
        other than ``seed`` that takes several values (else ``seed``).
    y : sequence of str, optional
        Names of metrics or claim statements to draw, one panel each; by default the
        recorded metrics, else the lessons.
    max_panels : int, default 6

    Returns
    -------
    matplotlib.figure.Figure
        One panel per quantity: the mean over seeds (a line), every run (dots:
        filled when its claim held, hollow when it failed), and a claim's threshold
        (dashed). With a second swept parameter, one line per value.
    """
    import matplotlib.pyplot as plt

    from mlsys_kit.notebook import COLORS

    rows = table[table["kind"].notna()]
    swept = _swept_parameters(table)
    if x is None:
        varying = [p for p in swept if p != "seed"] or swept
        if not varying:
            raise ParameterError("plot_sweep: the table has no swept parameter to plot against")
        x = varying[0]
    if x not in table.columns:
        raise ParameterError(f"plot_sweep: x={x!r} is not a column; swept: {swept}")
    hue = next((p for p in swept if p not in (x, "seed")), None)
    panels = _panels(rows, y)[:max_panels]
    if not panels:
        raise ParameterError("plot_sweep: the runs recorded no metric and no lesson to plot")
    columns = min(3, len(panels))
    n_rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        n_rows, columns, figsize=(4.2 * columns, 3.2 * n_rows), squeeze=False, layout="constrained"
    )
    palette = list(COLORS.values())
    for ax, (title, data) in zip(axes.flat, panels, strict=False):
        groups = data.groupby(hue, dropna=False) if hue else [(None, data)]
        for i, (level, group) in enumerate(groups):
            colour = palette[i % len(palette)]
            mean = group.groupby(x)["value"].mean()
            label = None if hue is None else f"{hue}={level}"
            ax.plot(mean.index, mean.to_numpy(), color=colour, label=label)
            held = group["passed"].fillna(True).astype(bool)
            ax.scatter(group.loc[held, x], group.loc[held, "value"], color=colour, s=14)
            ax.scatter(
                group.loc[~held, x],
                group.loc[~held, "value"],
                facecolor="none",
                edgecolor=colour,
                s=24,
            )
        thresholds = data["threshold"].dropna().unique()
        if len(thresholds) == 1:
            ax.axhline(thresholds[0], color="grey", linestyle="--", linewidth=1)
        ax.set_title(_short(title), fontsize=9)
        ax.set_xlabel(x)
        if hue:
            ax.legend(fontsize=7)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    return fig


def _panels(rows: pd.DataFrame, y: Sequence[str] | None) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows) per quantity: metrics by name, lessons by position (a statement may
    quote numbers that change from run to run)."""
    metrics = rows[rows["kind"] == "metric"]
    lessons = rows[rows["kind"] == "lesson"]
    by_position = {position: group for position, group in lessons.groupby("position", sort=True)}
    titles = {position: group["name"].mode().iloc[0] for position, group in by_position.items()}
    if y is None:
        names = metrics["name"].unique().tolist()
        if names:
            return [(name, metrics[metrics["name"] == name]) for name in names]
        return [(titles[p], by_position[p]) for p in by_position]
    panels = []
    for name in y:
        if name in set(metrics["name"]):
            panels.append((name, metrics[metrics["name"] == name]))
            continue
        found = [p for p, group in by_position.items() if name in set(group["name"])]
        if not found:
            known = sorted(set(metrics["name"])) + [titles[p] for p in by_position]
            raise ParameterError(f"plot_sweep: nothing named {name!r}; known: {known}")
        panels.append((titles[found[0]], by_position[found[0]]))
    return panels


def _swept_parameters(table: pd.DataFrame) -> list[str]:
    """Parameter columns that take more than one value in the table."""
    params = [c for c in table.columns[len(TABLE_COLUMNS) :]]
    return [c for c in params if table[c].nunique(dropna=True) > 1]


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
