"""The ``mlsys-kit`` command: list, run, sweep and refresh the kit's notebooks.

Examples
--------
::

    mlsys-kit list                         # chapters, notebooks, parameters, claims
    mlsys-kit run --all                    # every notebook, defaults, fresh run folder
    mlsys-kit run 01/01 -p seed 3          # one notebook with another seed
    mlsys-kit run 02 --jobs 2              # a whole chapter, two notebooks at a time
    mlsys-kit refresh notebooks/01-overview/01-research-vs-production.ipynb
    mlsys-kit sweep 08/03 --grid shift_sd=0,0.25,0.5 --grid window=500,2000 --seeds 3
    mlsys-kit sweep 08/03 --grid shift_sd=0,0.5 --seeds 3 --scheduler tcp://127.0.0.1:8786
    mlsys-kit reliability --seeds 20 --jobs 2     # every claim on unseen seeds
    mlsys-kit reliability --edges --seeds 8       # every "Try it" edge on unseen seeds
    mlsys-kit serve model.skops --port 8000       # a prediction service; Ctrl-C stops it
    mlsys-kit book --out site/                    # the executed notebooks as an offline site

Everything a run needs is checked before any kernel starts: the notebooks exist,
each ``-p`` names a parameter of the notebook, and its value is one the notebook's
``PARAMETERS`` declaration allows (``mlsys-kit list`` shows what each allows; an
undeclared parameter only needs the type of its default).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlsys_kit import __version__
from mlsys_kit.kit.catalog import (
    CHAPTERS,
    InvalidDeclaration,
    Notebook,
    NotebookNotFound,
    chapter_map,
    coerce_parameters,
    discover,
    find,
)
from mlsys_kit.params import ParameterError, check_float, check_int

__all__ = ["main"]


class UsageError(Exception):
    """A command-line mistake, reported as one line with exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlsys-kit",
        description="Runnable, checked experiments for Designing Machine Learning Systems.",
    )
    parser.add_argument("--version", action="version", version=f"mlsys-kit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="chapters, notebooks, parameters and claims")
    listing.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="limit to these")
    listing.add_argument(
        "--markdown", action="store_true", help="print the README's chapter map as a Markdown table"
    )

    run = commands.add_parser("run", help="execute notebooks into a fresh run folder")
    run.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="a path, an id like 01/02, a slug, or a chapter number like 01",
    )
    run.add_argument("--all", action="store_true", help="run every notebook")
    _add_parameter_option(
        run, "set a parameter (repeatable); applies to each chosen notebook that declares it"
    )
    run.add_argument("--out", type=Path, help="run folder (default: runs/<date_time>)")
    run.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default 1)")

    sweep = commands.add_parser(
        "sweep", help="run one notebook on every combination of a parameter grid"
    )
    sweep.add_argument("notebook", metavar="NOTEBOOK", help="a path, an id like 08/03, or a slug")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,…",
        help="values of one parameter to sweep (repeatable; every combination runs)",
    )
    _add_engine_options(sweep, default_out="runs/sweep-<id>")
    _add_parameter_option(sweep, "fix a parameter for every run (repeatable)")
    sweep.add_argument("--x", help="parameter on the figure's horizontal axis")
    sweep.add_argument(
        "--y", action="append", help="metric or claim to draw (repeatable; default: metrics)"
    )

    reliability = commands.add_parser(
        "reliability", help="every claim's pass rate on unseen seeds, as a Markdown report"
    )
    reliability.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="default: all")
    _add_engine_options(reliability, default_out="runs/reliability", seeds=20, first_seed=1000)
    reliability.add_argument(
        "--sizes",
        type=Path,
        help="TOML of parameter sets; the first set per notebook, seed replaced "
        "(default: tests/notebook_parameters.toml of the clone)",
    )
    reliability.add_argument(
        "--report",
        type=Path,
        help="where the Markdown report goes (default: the clone's reports/claims-reliability.md "
        "for all notebooks, the run folder's for some)",
    )
    reliability.add_argument(
        "--edges",
        action="store_true",
        help="run the sets marked edge instead, and report how often each fails its lesson "
        "(default run folder runs/reliability-edges, report reports/edges-reliability.md)",
    )

    refresh = commands.add_parser(
        "refresh", help="re-execute notebooks in place with default parameters"
    )
    refresh.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
    refresh.add_argument("--all", action="store_true", help="refresh every notebook")

    serve = commands.add_parser(
        "serve", help="serve a model artifact over HTTP (POST /predict, GET /health)"
    )
    serve.add_argument("artifact", metavar="ARTIFACT", help="a .skops file saved by save_artifact")
    serve.add_argument("--port", type=int, default=8000, help="0 for a free port (default 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="TYPE",
        help="a type you reviewed and trust beyond skops's defaults (repeatable), "
        "e.g. sklearn.tree._tree.Tree",
    )
    serve.add_argument("--sha256", help="refuse the artifact unless its SHA-256 is this")
    serve.add_argument("--max-rows", type=int, default=1_000, help="rows per batch (1,000)")
    serve.add_argument(
        "--max-body-bytes", type=int, default=1_000_000, help="bytes per request (1,000,000)"
    )
    _add_exercises_parser(commands)

    book = commands.add_parser(
        "book", help="render the executed notebooks into a static site that reads offline"
    )
    book.add_argument("--out", type=Path, required=True, help="the site's folder, e.g. site/")
    book.add_argument(
        "--run",
        type=Path,
        metavar="RUN_FOLDER",
        help="render a 'mlsys-kit run' folder (default: the committed notebooks)",
    )
    book.add_argument(
        "--report",
        type=Path,
        help="claims reliability report (default: the clone's reports/claims-reliability.md)",
    )
    book.add_argument("--jobs", type=int, help="notebooks rendered at once (default: the cores)")
    return parser


def _add_exercises_parser(commands: Any) -> None:
    exercises = commands.add_parser(
        "exercises", help="classroom exercises: list, release to students, grade submissions"
    )
    actions = exercises.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the exercise of every chapter, its questions and points")
    release = actions.add_parser(
        "release", help="student versions and autograders, ready to hand out (otter assign)"
    )
    release.add_argument(
        "chapters", nargs="*", metavar="CHAPTER", help="e.g. 04 or 04-training-data (default: all)"
    )
    release.add_argument("--out", type=Path, required=True, help="the release folder")
    release.add_argument(
        "--students",
        type=Path,
        metavar="FILE",
        help="one student name per line: each gets a copy with their own seed",
    )
    check = actions.add_parser(
        "check",
        help="for authors: solutions pass on several seeds, blank answers fail with hints",
    )
    check.add_argument("chapters", nargs="*", metavar="CHAPTER", help="default: all")
    check.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)"
    )
    grade = actions.add_parser(
        "grade", help="grade a folder of submitted notebooks into one CSV (otter run)"
    )
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    grade.add_argument("--out", type=Path, required=True, help="the grades CSV to write")
    grade.add_argument(
        "--exercise", metavar="CHAPTER", help="which exercise (default: read from the notebooks)"
    )
    grade.add_argument(
        "--autograder", type=Path, help="the zip from 'release' (default: built from the master)"
    )
    grade.add_argument("--jobs", type=int, default=2, help="submissions graded at once (2)")
    grade.add_argument(
        "--timeout", type=float, default=300, help="seconds per submission before it scores 0 (300)"
    )


def _add_parameter_option(parser: argparse.ArgumentParser, help_: str) -> None:
    """``-p NAME VALUE``, repeatable."""
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help=help_,
    )


def _add_engine_options(
    parser: argparse.ArgumentParser, default_out: str, seeds: int = 0, first_seed: int = 0
) -> None:
    """Options of the commands that run many notebooks on the sweep engine."""
    parser.add_argument(
        "--seeds",
        type=int,
        default=seeds,
        metavar="N",
        help=f"repeat every combination on N seeds (default {seeds or 'none'})",
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=first_seed,
        metavar="S",
        help=f"the seeds are S, S+1, … (default {first_seed})",
    )
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument("--jobs", type=int, default=1, help="runs at once on this machine")
    engine.add_argument(
        "--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://127.0.0.1:8786"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="stop a run that takes longer"
    )
    parser.add_argument(
        "--retry-errors", action="store_true", help="re-run recorded runs that ended in an error"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=f"the sweep folder (default {default_out}); re-running resumes in it",
    )


def _select(refs: Sequence[str], all_: bool) -> list[Notebook]:
    notebooks = discover()
    if all_:
        if refs:
            raise UsageError("give notebook names or --all, not both")
        if not notebooks:
            raise UsageError("no notebooks found; run from a clone of the mlsys-kit repository")
        return notebooks
    if not refs:
        raise UsageError("name at least one notebook (see 'mlsys-kit list'), or pass --all")
    chosen: list[Notebook] = []
    for ref in refs:
        chapter = [nb for nb in notebooks if ref.isdigit() and nb.chapter == int(ref)]
        for nb in chapter or [find(ref, notebooks)]:
            if nb not in chosen:
                chosen.append(nb)
    return chosen


def _parameters_for(notebooks: list[Notebook], pairs: list[list[str]]) -> dict[str, dict[str, Any]]:
    raw: dict[str, str] = dict((name, value) for name, value in pairs)
    per_notebook: dict[str, dict[str, Any]] = {}
    for name in raw:
        if not any(name in nb.parameters for nb in notebooks):
            if len(notebooks) == 1:
                coerce_parameters(notebooks[0], {name: raw[name]})  # raises with a hint
            raise ParameterError(
                f"no chosen notebook has a parameter {name!r}; see 'mlsys-kit list'"
            )
    for nb in notebooks:
        mine = {name: value for name, value in raw.items() if name in nb.parameters}
        per_notebook[nb.id] = coerce_parameters(nb, mine)
    return per_notebook


def _format_default(value: Any) -> str:
    return repr(value)


def cmd_list(args: argparse.Namespace) -> int:
    notebooks = _select(args.notebooks, all_=not args.notebooks)
    if args.markdown:
        print(chapter_map(notebooks))
        return 0
    chapter = None
    for nb in notebooks:
        if nb.chapter != chapter:
            chapter = nb.chapter
            title = CHAPTERS.get(chapter, nb.chapter_slug)
            print(f"\nChapter {chapter}: {title}  ({nb.chapter_slug}/)")
        print(f"  {nb.id}  {nb.path.stem}  —  {nb.title}")
        options = [
            (f"-p {param.name} {_format_default(param.default)}", param.describe(), param.help)
            for param in nb.parameters.values()
        ]
        width = max((len(option) for option, _, _ in options), default=0)
        allowed = max((len(describe) for _, describe, _ in options), default=0)
        for option, describe, help_ in options:
            print(f"        {option:<{width}}  {describe:<{allowed}}  {help_}".rstrip())
        for claim in nb.claims:
            text = textwrap.shorten(claim.statement, 88, placeholder="…")
            print(f"        ✔ {'check: ' if claim.kind == 'check' else ''}{text}")
    print(f"\n{len(notebooks)} notebooks. Run one: mlsys-kit run NN/MM [-p NAME VALUE]…")
    return 0


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mlsys_kit.kit.runner import run

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1; got {args.jobs}")
    notebooks = _select(args.notebooks, args.all)
    parameters = _parameters_for(notebooks, args.parameter)
    out_dir = _prepare_out_dir(args.out)
    print(f"Running {len(notebooks)} notebook(s) into {out_dir}/")
    with tqdm(total=len(notebooks), unit="notebook", file=sys.stderr) as bar:

        def progress(result: Any) -> None:
            bar.set_postfix_str(f"{result.notebook_id} {result.status}")
            bar.update()

        results = run(notebooks, out_dir, parameters, jobs=args.jobs, on_result=progress)
    _report(results, out_dir)
    return 0 if all(result.ok for result in results) else 1


def _prepare_out_dir(out: Path | None) -> Path:
    from mlsys_kit.kit.runner import new_run_dir

    if out is None:
        return new_run_dir()
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: the folder is not empty; a run needs a fresh folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _report(results: list[Any], out_dir: Path) -> None:
    rows = [
        [
            r.notebook_id,
            r.name,
            f"{r.seconds:.1f} s",
            r.status,
            _held(r.claims, "lesson"),
            _held(r.claims, "check"),
        ]
        for r in results
    ]
    print()
    print(_table(rows, ["id", "notebook", "time", "status", "lessons", "checks"]))
    print("\nLessons and checks of this run:")
    for r in results:
        for c in r.claims:
            print(f"  {r.notebook_id}  {c.line}")
        if r.error:
            print(f"  {r.notebook_id}  ✘ {r.error.splitlines()[0]}")
            print(f"         see {r.output}")
    failed = [r for r in results if not r.ok]
    claims = [c for r in results for c in r.claims]
    print(
        f"\n{len(results) - len(failed)}/{len(results)} notebooks ok; lessons held: "
        f"{_held(claims, 'lesson')}, checks held: {_held(claims, 'check')}. "
        f"Outputs: {out_dir}/ (results.jsonl)"
    )


def _held(claims: list[Any], kind: str) -> str:
    """``"held/total"`` for the claims of one kind."""
    mine = [c for c in claims if c.kind == kind]
    return f"{sum(c.passed for c in mine)}/{len(mine)}"


def _engine_options(args: argparse.Namespace) -> None:
    """Refuse engine options no run could use (before anything starts)."""
    check_int("--jobs", args.jobs, min=1)
    check_int("--seeds", args.seeds, min=0)
    check_int("--first-seed", args.first_seed, min=0)
    if args.timeout is not None:
        check_float("--timeout", args.timeout, min=0, open_min=True)


def _run_sweep(specs: list[Any], args: argparse.Namespace, out_dir: Path) -> list[Any]:
    """Run the specs on the sweep engine with a progress bar; return every spec's result."""
    from tqdm import tqdm

    from mlsys_kit.kit.sweep import sweep

    bar = tqdm(total=len(specs), unit="run", file=sys.stderr)

    def started(todo: int, done: int) -> None:
        where = f"on {args.scheduler}" if args.scheduler else f"with {args.jobs} job(s)"
        print(f"{len(specs)} runs: {done} already done in {out_dir}/, {todo} to run {where}")
        bar.update(done)

    def progress(result: Any) -> None:
        bar.set_postfix_str(f"{result.notebook_id} {result.label} {result.status}")
        bar.update()

    try:
        return sweep(
            specs,
            out_dir,
            jobs=args.jobs,
            scheduler=args.scheduler,
            timeout=args.timeout,
            retry_errors=args.retry_errors,
            on_result=progress,
            on_start=started,
        )
    finally:
        bar.close()


def cmd_sweep(args: argparse.Namespace) -> int:
    from mlsys_kit.kit.sweep import grid_specs, parse_grid, plot_sweep, save_table, tidy_table

    _engine_options(args)
    notebook = find(args.notebook)
    grid = parse_grid(notebook, args.grid)
    if not grid and not args.seeds:
        raise UsageError("give at least one --grid NAME=V1,V2,… or --seeds N")
    fixed = _parameters_for([notebook], args.parameter)[notebook.id]
    seeds = range(args.first_seed, args.first_seed + args.seeds) if args.seeds else ()
    specs = grid_specs(notebook, grid, seeds=seeds, fixed=fixed)
    out_dir = args.out or Path("runs") / f"sweep-{notebook.chapter:02d}-{notebook.number:02d}"
    results = _run_sweep(specs, args, out_dir)
    table = tidy_table(results)
    paths = save_table(table, out_dir)
    figure = None
    try:
        fig = plot_sweep(table, x=args.x, y=args.y)
    except ParameterError as exc:
        print(f"no figure: {exc}")
    else:
        figure = out_dir / "sweep.png"
        fig.savefig(figure, dpi=110)
    failed = [r for r in results if r.status == "error"]
    held = table.loc[table["kind"] == "lesson", "passed"]
    print(
        f"\n{len(results)} runs ({len(failed)} errors); lessons held in "
        f"{int(held.sum())}/{len(held)} run×lesson pairs."
    )
    for result in failed[:5]:
        print(f"  ✘ {result.label}: {(result.error or '').splitlines()[0]}")
    print("Table: " + ", ".join(str(p) for p in paths) + (f"; figure: {figure}" if figure else ""))
    return 0 if not failed else 1


def cmd_reliability(args: argparse.Namespace) -> int:
    from mlsys_kit.kit.catalog import notebooks_dir
    from mlsys_kit.kit.reliability import (
        claim_pass_rates,
        load_test_sizes,
        reliability_specs,
        write_report,
    )
    from mlsys_kit.kit.sweep import save_table, tidy_table

    _engine_options(args)
    if args.seeds < 1:
        raise UsageError("--seeds must be at least 1 for a reliability report")
    notebooks = _select(args.notebooks, all_=not args.notebooks)
    sizes_file = args.sizes or notebooks_dir().parent / "tests" / "notebook_parameters.toml"
    if args.edges:
        return _edges_reliability(args, notebooks, sizes_file)
    sizes = load_test_sizes(sizes_file)
    specs = reliability_specs(notebooks, sizes, n_seeds=args.seeds, first_seed=args.first_seed)
    out_dir = args.out or Path("runs/reliability")
    results, wall = _run_for_claims(specs, args, out_dir)
    tidy = tidy_table(results)
    save_table(tidy, out_dir, stem="reliability-runs")
    table = claim_pass_rates(tidy)
    save_table(table, out_dir, stem="reliability")
    report = write_report(
        table,
        _report_path(args, out_dir, "claims-reliability.md"),
        sizes_file=_relative(sizes_file),
        wall_seconds=wall,
        titles={nb.id: nb.title for nb in notebooks},
        **_provenance(args, "mlsys-kit reliability"),
    )
    lessons = table[table["kind"] == "lesson"]
    below = int((lessons["pass_rate"] < 0.95).sum())
    print(f"\nReport: {report} ({len(lessons)} lessons, {below} below 95%); runs: {out_dir}/")
    return 0


def _edges_reliability(args: argparse.Namespace, notebooks: list[Any], sizes_file: Path) -> int:
    """``mlsys-kit reliability --edges``: every edge set on unseen seeds, and how often it fails."""
    from mlsys_kit.kit.reliability import (
        edge_fail_rates,
        edge_specs,
        load_edge_sets,
        write_edge_report,
    )

    edges = load_edge_sets(sizes_file)
    specs = edge_specs(notebooks, edges, n_seeds=args.seeds, first_seed=args.first_seed)
    if not specs:
        raise UsageError(f"no edge sets for {', '.join(nb.id for nb in notebooks)} in {sizes_file}")
    out_dir = args.out or Path("runs/reliability-edges")
    results, wall = _run_for_claims(specs, args, out_dir)
    table = edge_fail_rates(results, {nb.id: edges[nb.id] for nb in notebooks if nb.id in edges})
    report = write_edge_report(
        table,
        _report_path(args, out_dir, "edges-reliability.md"),
        sizes_file=_relative(sizes_file),
        wall_seconds=wall,
        **_provenance(args, "mlsys-kit reliability --edges"),
    )
    weak = int((~table["meets"]).sum())
    print(f"\nReport: {report} ({len(table)} edges, {weak} failing too rarely); runs: {out_dir}/")
    return 0


def _run_for_claims(
    specs: list[Any], args: argparse.Namespace, out_dir: Path
) -> tuple[list[Any], float]:
    """Run the specs like a sweep, for their claims only; the results and the wall seconds."""
    import time

    from mlsys_kit.notebook import FIGURES_ENV

    start = time.perf_counter()
    # Only the claims are read: the kernels show figures as text and never draw them
    # (local runs inherit the variable; a Dask cluster's workers have their own environment).
    os.environ[FIGURES_ENV] = "text"
    try:
        results = _run_sweep(specs, args, out_dir)
    finally:
        os.environ.pop(FIGURES_ENV, None)
    return results, time.perf_counter() - start


def _provenance(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The report's command line, seeds, workers and clone, as ``write_report`` takes them."""
    from mlsys_kit.kit.catalog import notebooks_dir

    engine = f"--scheduler {args.scheduler}" if args.scheduler else f"--jobs {args.jobs}"
    words = [command, *args.notebooks, f"--seeds {args.seeds}", engine]
    if args.first_seed != 1000:
        words.append(f"--first-seed {args.first_seed}")
    return {
        "command": " ".join(words),
        "seeds": list(range(args.first_seed, args.first_seed + args.seeds)),
        "workers": f"scheduler {args.scheduler}" if args.scheduler else f"{args.jobs} local job(s)",
        "root": notebooks_dir().parent,
    }


def _report_path(args: argparse.Namespace, out_dir: Path, name: str) -> Path:
    """``--report``; else the run folder's for some notebooks, the clone's reports/ for all."""
    from mlsys_kit.kit.catalog import notebooks_dir

    if args.report is not None:
        return args.report
    if args.notebooks:
        return out_dir / name
    return notebooks_dir().parent / "reports" / name


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def cmd_refresh(args: argparse.Namespace) -> int:
    from mlsys_kit.kit.runner import refresh

    targets = _refresh_targets(args.notebooks, args.all)
    failures = 0
    for path, label in targets:
        print(f"refreshing {label} ...", end=" ", flush=True)
        result = refresh(path, notebook_id=label)
        if result.ok:
            print(f"ok ({result.seconds:.1f} s, {len(result.claims)} claims)")
        else:
            failures += 1
            print(f"FAILED: {result.error or 'a claim failed'}; left unchanged.")
            print(f"    executed copy: {result.output}")
    return 1 if failures else 0


def _refresh_targets(refs: Sequence[str], all_: bool) -> list[tuple[Path, str]]:
    """Kit notebooks by name, or any notebook file by path (the template, say)."""
    targets = []
    other = []
    for ref in refs:
        path = Path(ref)
        if path.suffix == ".ipynb" and path.is_file() and not _is_kit_notebook(path):
            targets.append((path, str(path)))
        else:
            other.append(ref)
    if other or all_ or not refs:
        targets += [(nb.path, f"{nb.id} {nb.name}") for nb in _select(other, all_)]
    return targets


def _is_kit_notebook(path: Path) -> bool:
    try:
        find(str(path))
    except NotebookNotFound:
        return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    from contextlib import suppress

    from mlsys_kit.deployment.service import run_service

    # Ctrl-C: uvicorn shuts down gracefully, then re-raises the signal as KeyboardInterrupt.
    with suppress(KeyboardInterrupt):
        run_service(
            args.artifact,
            host=args.host,
            port=args.port,
            trusted=args.trust,
            sha256=args.sha256,
            max_rows=args.max_rows,
            max_body_bytes=args.max_body_bytes,
            announce=lambda text: print(text, flush=True),
        )
    print("mlsys-kit serve: stopped", file=sys.stderr)
    return 0


def cmd_exercises(args: argparse.Namespace) -> int:
    from mlsys_kit.kit import classroom

    exercises = classroom.discover_exercises()
    if not exercises:
        raise UsageError("no exercises found; run from a clone of the mlsys-kit repository")
    if args.action == "list":
        for exercise in exercises:
            points = exercise.points
            title = CHAPTERS.get(exercise.chapter, exercise.chapter_slug)
            print(
                f"{exercise.id}  {title}  ({exercise.path.relative_to(exercise.path.parents[2])})"
            )
            print(f"      {len(points)} questions, {sum(points.values()):g} points")
        return 0
    try:
        if args.action == "release":
            return _exercises_release(classroom, exercises, args)
        if args.action == "check":
            return _exercises_check(classroom, exercises, args)
        return _exercises_grade(classroom, exercises, args)
    except classroom.ExerciseNotFound as exc:
        raise UsageError(str(exc).strip("'\"")) from exc


def _exercises_release(classroom: Any, exercises: list[Any], args: argparse.Namespace) -> int:
    chosen = [classroom.find_exercise(ref, exercises) for ref in args.chapters] or exercises
    students = None
    if args.students:
        try:
            students = args.students.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"--students {args.students}: {exc.strerror or exc}") from exc
    for released in classroom.release(chosen, args.out, students=students):
        print(f"{released.exercise.id}  {released.exercise.chapter_slug}")
        where = released.student[0].parents[0 if len(released.student) == 1 else 1]
        print(f"      students:   {len(released.student)} notebook(s) under {where}")
        print(f"      autograder: {released.autograder}")
        print(f"      solution:   {released.solution}  (keep it from the students)")
    return 0


def _exercises_check(classroom: Any, exercises: list[Any], args: argparse.Namespace) -> int:
    chosen = [classroom.find_exercise(ref, exercises) for ref in args.chapters] or exercises
    failed = 0
    for exercise in chosen:
        report = classroom.check_master(exercise, seeds=tuple(args.seeds))
        cases = len(report.cases)
        print(f"{exercise.id}  {cases} case runs: {len(report.problems) or 'no'} problems")
        for problem in report.problems:
            print(f"      {problem}")
        failed += bool(report.problems)
    return 1 if failed else 0


def _exercises_grade(classroom: Any, exercises: list[Any], args: argparse.Namespace) -> int:
    if not args.submissions.is_dir():
        raise UsageError(f"{args.submissions}: not a folder of submitted notebooks")
    if args.exercise:
        exercise = classroom.find_exercise(args.exercise, exercises)
    else:
        exercise = classroom.exercise_of(args.submissions, exercises)
    with tempfile.TemporaryDirectory(prefix="mlsys-kit-autograder-") as tmp:
        autograder = args.autograder
        if autograder is None:
            autograder = classroom.release([exercise], Path(tmp))[0].autograder
        elif not autograder.is_file():
            raise UsageError(f"--autograder {autograder}: no such file")
        book = classroom.grade_folder(
            args.submissions, exercise, autograder, jobs=args.jobs, timeout=args.timeout
        )
    if not book.submissions:
        raise UsageError(f"{args.submissions}: no .ipynb files in it")
    _write_csv(book.to_frame(), args.out)
    summary = args.out.with_name(f"{args.out.stem}-summary.csv")
    _write_csv(book.summary(), summary)
    print(book.summary().to_string(index=False))
    for submission in book.submissions:
        if submission.reason:
            print(f"{submission.student}: 0 points: {submission.reason}")
    print(f"\n{len(book.submissions)} submissions graded: {args.out}, per question: {summary}")
    return 0


def _write_csv(frame: Any, path: Path) -> None:
    """Write ``frame`` to ``path`` whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False)
    partial.replace(path)


def cmd_book(args: argparse.Namespace) -> int:
    from mlsys_kit.kit.book import build_book

    if args.run is not None and not args.run.is_dir():
        raise UsageError(f"--run {args.run}: not a run folder")
    book = build_book(args.out, run_dir=args.run, report=args.report, jobs=args.jobs)
    count = len(book.pages)
    print(f"{count} notebook{'s' * (count != 1)} rendered in {book.seconds:.1f} s: {book.index}")
    return 0


COMMANDS = {
    "list": cmd_list,
    "run": cmd_run,
    "sweep": cmd_sweep,
    "reliability": cmd_reliability,
    "refresh": cmd_refresh,
    "serve": cmd_serve,
    "exercises": cmd_exercises,
    "book": cmd_book,
}


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mlsys-kit`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops a run as Ctrl-C does
    try:
        return COMMANDS[args.command](args)
    except (UsageError, NotebookNotFound, ParameterError, InvalidDeclaration) as exc:
        print(f"mlsys-kit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the output was piped into a reader that stopped (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(
            "\ninterrupted; finished runs are kept in the run folder "
            "(re-run a sweep's command to resume)",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
