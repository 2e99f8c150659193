"""The book: every executed notebook as a static site that reads offline.

``mlsys-kit book --out site/`` renders the committed notebooks (or the executed notebooks of
a ``mlsys-kit run`` folder, ``--run``) into HTML with nbconvert's ``lab`` template:

* ``index.html``: the chapter map, chapter → notebooks → lessons with their verdicts;
* one page per notebook, ``<chapter>/<notebook>[--<label>].html``: the book section it serves,
  its parameters table, its lessons with verdict, evidence and margin in this run and, where
  the claims reliability report (``reports/claims-reliability.md``) has the notebook, how often
  each held on unseen seeds and its worst margin; then the rendered notebook with its
  figures (embedded as data URIs); prev/next links walk the notebooks in the kit's order and a
  link leads back to the notebook's chapter on the home page;
* ``assets/``: the notebook CSS of nbconvert's template and the book's own, written once.

Nothing is fetched: the pages carry no script, and math in Markdown cells (``$...$``,
``$$...$$``) becomes MathML, which browsers render natively, through docutils' LaTeX to
MathML converter (docutils is installed with otter-grader and Sphinx). nbconvert's own pages
pull MathJax and require.js from a CDN instead.

The site is written to a temporary folder beside ``out`` and moved into place only when every
page rendered, so a failed build never leaves half a site; an existing ``out`` is replaced only
when it is a book built before (it holds the marker file ``.mlsys-kit-book``).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from mlsys_kit.claims import Claim, claims_from_outputs
from mlsys_kit.kit.catalog import CHAPTERS, Notebook, discover, notebooks_dir
from mlsys_kit.params import ParameterError, check_int, check_type

__all__ = [
    "BookPage",
    "Book",
    "ReliabilityRow",
    "build_book",
    "book_pages",
    "read_reliability_report",
    "tex_to_mathml",
    "BOOK_MARKER",
]

#: The file that marks a folder as a book this module built (and so may replace).
BOOK_MARKER = ".mlsys-kit-book"

_ASSETS = "assets"


@dataclass(frozen=True)
class ReliabilityRow:
    """One claim's line of the claims reliability report.

    Attributes
    ----------
    kind : {"lesson", "check"}
    statement : str
        The claim as the report words it.
    held : str
        Seeds on which it held, e.g. ``"20/20"``.
    median_margin, worst_margin : str
        As the report shows them.
    """

    kind: str
    statement: str
    held: str
    median_margin: str
    worst_margin: str


@dataclass(frozen=True)
class BookPage:
    """One page of the book: an executed notebook and what the page shows about it.

    Attributes
    ----------
    notebook : Notebook
        The kit's notebook (parameters, declarations and title come from it).
    source : Path
        The executed notebook rendered on the page.
    href : str
        The page's path inside the site, e.g. ``"01-overview/02-code-and-data.html"``.
    label : str
        The run's label in its run folder (empty for the committed notebook or an unlabelled run).
    claims : tuple of Claim
        The claims stored in ``source``'s outputs, lessons and checks.
    values : dict
        The parameter values of the run (those it set; the others kept their defaults).
    status : str
        ``"committed"`` for a committed notebook; else the run's status (``"ok"``,
        ``"claim failed"``, ``"error"``) when its run folder recorded it, or ``"run"``.
    """

    notebook: Notebook
    source: Path
    href: str
    label: str = ""
    claims: tuple[Claim, ...] = ()
    values: Any = None
    status: str = "committed"

    @property
    def lessons(self) -> list[Claim]:
        """The claims that are lessons."""
        return [c for c in self.claims if c.kind == "lesson"]

    @property
    def checks(self) -> list[Claim]:
        """The claims that are checks."""
        return [c for c in self.claims if c.kind == "check"]

    @property
    def heading_html(self) -> str:
        """:attr:`heading` as HTML, its Markdown emphasis (``*and*``) as ``<em>``."""
        return _EMPHASIS.sub(r"<em>\1</em>", html.escape(self.heading))

    @property
    def heading(self) -> str:
        """``"NN/MM Title"``, with the run's label in brackets when there is one."""
        label = f" [{self.label}]" if self.label else ""
        return f"{self.notebook.id} {self.notebook.title}{label}"


_EMPHASIS = re.compile(r"(?<![\w*])[*_](\S(?:.*?\S)?)[*_](?![\w*])")


@dataclass(frozen=True)
class Book:
    """A built site: where it is, its pages in order, and how long the build took."""

    out: Path
    pages: tuple[BookPage, ...]
    seconds: float

    @property
    def index(self) -> Path:
        """The home page, ``out/index.html``."""
        return self.out / "index.html"


# ---------------------------------------------------------------- math


def tex_to_mathml(tex: str, *, block: bool = False) -> str:
    """TeX math as a MathML element, or the TeX in a ``<code>`` element when it cannot convert.

    Sizing commands without a side (``\\Big(`` ... ``\\Big)``) are read as their left and
    right forms, which docutils' converter knows.

    Parameters
    ----------
    tex : str
        The math, without its ``$`` delimiters.
    block : bool, default False
        Display math (a block of its own) rather than inline.

    Returns
    -------
    str
        HTML: ``<math ...>...</math>``, or ``<code class="tex">...</code>``.

    Examples
    --------
    >>> print(tex_to_mathml("x^2"))  # doctest: +NORMALIZE_WHITESPACE
    <math xmlns="http://www.w3.org/1998/Math/MathML"> <msup> <mi>x</mi> <mn>2</mn> </msup> </math>
    >>> tex_to_mathml(r"\\unknowncommand x")
    '<code class="tex">\\\\unknowncommand x</code>'
    """
    tex = check_type("tex", tex, str, owner="tex_to_mathml")
    from docutils.utils.math import MathError
    from docutils.utils.math.latex2mathml import tex2mathml

    tex = _SIDELESS_OPEN.sub(r"\\\1l\2", tex)
    tex = _SIDELESS_CLOSE.sub(r"\\\1r\2", tex)
    try:
        return tex2mathml(tex.strip(), as_block=block)
    except (MathError, ValueError, KeyError, IndexError):
        return f'<code class="tex">{html.escape(tex)}</code>'


_SIZES = r"(big|Big|bigg|Bigg)"
_SIDELESS_OPEN = re.compile(r"\\" + _SIZES + r"(\(|\[|\\\{|\\langle|\\lvert|\\lVert)")
_SIDELESS_CLOSE = re.compile(r"\\" + _SIZES + r"(\)|\]|\\\}|\\rangle|\\rvert|\\rVert)")


# ---------------------------------------------------------------- rendering (worker side)

_EXPORTER: Any = None
_MAIN = re.compile(r"<main>(.*)</main>", re.S)
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)


def _exporter() -> Any:
    """nbconvert's HTML exporter: no CDN scripts, Markdown math as MathML (one per process)."""
    global _EXPORTER
    if _EXPORTER is None:
        from jinja2 import pass_context
        from nbconvert import HTMLExporter, TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        class MathMLRenderer(IPythonRenderer):
            def inline_math(self, body: str) -> str:
                return tex_to_mathml(body)

            def block_math(self, body: str) -> str:
                return tex_to_mathml(body, block=True)

            def latex_environment(self, name: str, body: str) -> str:
                return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", block=True)

        class BookExporter(HTMLExporter):
            @pass_context
            def markdown2html(self, context: dict[str, Any], source: str) -> str:
                cell = context.get("cell", {})
                renderer = MathMLRenderer(
                    escape=False,
                    attachments=cell.get("attachments", {}),
                    embed_images=self.embed_images,
                    path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                    anchor_link_text=self.anchor_link_text,
                    exclude_anchor_links=self.exclude_anchor_links,
                    **self.lexer_options,
                )
                return MarkdownWithMath(renderer=renderer).render(source)

            def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
                # HTMLExporter's own, less its final BeautifulSoup pass over the whole page
                # (alt texts, tab stops): a third of the time; _render adds the alt texts.
                language = nb.metadata.get("language_info", {})
                lexer = language.get("pygments_lexer", language.get("name"))
                resources = self._init_resources(resources)
                self.register_filter(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                )
                widgets = WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                )
                self.register_filter("filter_data_type", widgets)
                return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        # bleach's clean_html on every highlighted code cell is half of the time; the sources
        # are the kit's (or the reader's own run of them) and pygments escapes code itself.
        _EXPORTER = BookExporter(
            template_name="lab",
            mathjax_url="",
            require_js_url="",
            filters={"clean_html": _unchanged},
        )
    return _EXPORTER


def _unchanged(text: str) -> str:
    return text


def _render(path: str) -> tuple[str, list[str]]:
    """One executed notebook as the inner HTML of its ``<main>``, and the template's CSS."""
    page, _ = _exporter().from_filename(path)
    match = _MAIN.search(page)
    if match is None:  # pragma: no cover - nbconvert's lab template always has <main>
        raise RuntimeError(f"{path}: nbconvert's page has no <main> element")
    head = page[: match.start()]
    body = _IMG_WITHOUT_ALT.sub('<img alt="A figure of the notebook"', match.group(1))
    return body, _STYLE.findall(head)


# ---------------------------------------------------------------- pages


def book_pages(run_dir: Path | str | None = None, *, root: Path | None = None) -> list[BookPage]:
    """The pages of the book, in the kit's order: committed notebooks, or a run folder's.

    Parameters
    ----------
    run_dir : path, optional
        A ``mlsys-kit run`` folder: its executed notebooks ``<chapter>/<notebook>[--<label>].ipynb``
        (with the parameters and status of each run from its ``results.jsonl``). Default: the
        committed notebooks.
    root : Path, optional
        The folder of the kit's notebooks (default :func:`~mlsys_kit.kit.catalog.notebooks_dir`).

    Returns
    -------
    list of BookPage

    Raises
    ------
    ParameterError
        When ``run_dir`` is not a folder, or holds no executed kit notebook.
    """
    catalog = discover(root)
    if run_dir is None:
        return [
            BookPage(nb, nb.path, f"{nb.chapter_slug}/{nb.path.stem}.html", "", tuple(nb.claims))
            for nb in catalog
        ]
    check_type("run_dir", run_dir, (str, os.PathLike), owner="book_pages")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ParameterError(f"book_pages: run_dir={str(run_dir)!r} is not a folder")
    by_place = {(nb.chapter_slug, nb.path.stem): nb for nb in catalog}
    records = _run_records(run_dir)
    pages = []
    for path in sorted(run_dir.glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb")):
        stem, _, label = path.stem.partition("--")
        notebook = by_place.get((path.parent.name, stem))
        if notebook is None or ".ipynb_checkpoints" in path.parts:
            continue
        record = records.get((path.parent.name, path.name))
        pages.append(
            BookPage(
                notebook,
                path,
                f"{path.parent.name}/{path.stem}.html",
                label,
                tuple(_stored_claims(path)),
                dict(record.parameters) if record else {},
                record.status if record else "run",
            )
        )
    if not pages:
        raise ParameterError(
            f"book_pages: {run_dir} holds no executed kit notebook "
            "(<chapter>/<notebook>.ipynb, as 'mlsys-kit run' writes them)"
        )
    order = {nb.path: index for index, nb in enumerate(catalog)}
    return sorted(pages, key=lambda page: (order[page.notebook.path], page.label))


def _run_records(run_dir: Path) -> dict[tuple[str, str], Any]:
    from mlsys_kit.kit.runner import load_results

    records = {}
    for result in load_results(run_dir):
        output = Path(result.output)
        records[(output.parent.name, output.name)] = result  # the latest run of a file wins
    return records


def _stored_claims(path: Path) -> list[Claim]:
    import json

    with path.open(encoding="utf-8") as handle:
        return claims_from_outputs(json.load(handle).get("cells", []))


# ---------------------------------------------------------------- reliability report


def read_reliability_report(path: Path | str) -> dict[str, list[ReliabilityRow]]:
    """The claims reliability report's tables, by notebook id.

    Parameters
    ----------
    path : path
        ``reports/claims-reliability.md``, as ``mlsys-kit reliability`` writes it.

    Returns
    -------
    dict of str to list of ReliabilityRow
        Keyed ``"NN/MM"``; empty when the file does not exist.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> report = pathlib.Path(tempfile.mkdtemp()) / "r.md"
    >>> _ = report.write_text(
    ...     "## 01/02 Title\\n\\n| | kind | claim | held | median margin | worst margin |\\n"
    ...     "|---|---|---|---|---|---|\\n| ✔ | lesson | A \\\\| B | 19/20 | 0.5 | -0.1 |\\n"
    ... )
    >>> read_reliability_report(report)["01/02"][0].statement
    'A | B'
    """
    check_type("path", path, (str, os.PathLike), owner="read_reliability_report")
    path = Path(path)
    if not path.is_file():
        return {}
    tables: dict[str, list[ReliabilityRow]] = {}
    current: list[ReliabilityRow] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if heading := _REPORT_HEADING.match(line):
            current = tables.setdefault(heading[1], [])
            continue
        if current is None or not line.startswith("|"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in _UNESCAPED_PIPE.split(line.strip())[1:-1]]
        if len(cells) >= 6 and cells[1] in ("lesson", "check"):
            current.append(ReliabilityRow(cells[1], cells[2], cells[3], cells[4], cells[5]))
    return tables


_REPORT_HEADING = re.compile(r"^## (\d{2}/\d{2})\b")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _default_report() -> Path:
    return notebooks_dir().parent / "reports" / "claims-reliability.md"


# ---------------------------------------------------------------- the build


def build_book(
    out: Path | str,
    *,
    run_dir: Path | str | None = None,
    report: Path | str | None = None,
    jobs: int | None = None,
    root: Path | None = None,
) -> Book:
    """Render every executed notebook into a static site at ``out`` that reads offline.

    Parameters
    ----------
    out : path
        The site's folder. Built beside it, then moved into place; an existing folder is
        replaced only when it is a book built before (it holds ``.mlsys-kit-book``).
    run_dir : path, optional
        A ``mlsys-kit run`` folder to render instead of the committed notebooks.
    report : path, optional
        The claims reliability report (default: the clone's ``reports/claims-reliability.md``;
        no reliability columns when it does not exist).
    jobs : int, optional
        Notebooks rendered at once (default: the machine's cores, at most 4).
    root : Path, optional
        The folder of the kit's notebooks (default :func:`~mlsys_kit.kit.catalog.notebooks_dir`).

    Returns
    -------
    Book

    Raises
    ------
    ParameterError
        For a bad argument, a run folder with no executed kit notebook, or an ``out`` that
        exists and is not a book (so nothing of the reader's is ever deleted).
    """
    started = time.perf_counter()
    check_type("out", out, (str, os.PathLike), owner="build_book")
    out = Path(out).resolve()
    if jobs is None:
        jobs = max(1, min(4, os.cpu_count() or 1))
    jobs = check_int("jobs", jobs, min=1, owner="build_book")
    is_book = (out / BOOK_MARKER).is_file()
    if out.exists() and not is_book and (not out.is_dir() or any(out.iterdir())):
        raise ParameterError(
            f"build_book: out={str(out)!r} exists and is not a book built by mlsys-kit; "
            "choose a new folder or remove it"
        )
    pages = book_pages(run_dir, root=root)
    report = _default_report() if report is None else report
    reliability = read_reliability_report(report)
    rendered = _render_all([str(page.source) for page in pages], jobs)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    staging.chmod(0o755)  # a site to publish, not mkdtemp's private folder
    try:
        _write_site(staging, pages, rendered, reliability, run_dir)
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Book(out, tuple(pages), time.perf_counter() - started)


def _render_all(paths: Sequence[str], jobs: int) -> list[tuple[str, list[str]]]:
    if jobs == 1 or len(paths) < 4:
        return [_render(path) for path in paths]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_render, paths, chunksize=max(1, len(paths) // (4 * jobs))))


def _replace(staging: Path, out: Path) -> None:
    """Move the built site into place: ``out`` is the old book or the new one, never half."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_site(
    site: Path,
    pages: list[BookPage],
    rendered: list[tuple[str, list[str]]],
    reliability: dict[str, list[ReliabilityRow]],
    run_dir: Path | str | None,
) -> None:
    assets = site / _ASSETS
    assets.mkdir()
    styles: dict[str, None] = {}
    for _, css in rendered:
        styles.update(dict.fromkeys(css))
    (assets / "notebook.css").write_text("\n".join(styles), encoding="utf-8")
    (assets / "book.css").write_text(_BOOK_CSS, encoding="utf-8")
    source = f"the run folder {Path(run_dir).name}" if run_dir else "the committed notebooks"
    (site / "index.html").write_text(_home(pages, reliability, source), encoding="utf-8")
    for index, (page, (body, _)) in enumerate(zip(pages, rendered, strict=True)):
        previous = pages[index - 1] if index > 0 else None
        following = pages[index + 1] if index + 1 < len(pages) else None
        target = site / page.href
        target.parent.mkdir(exist_ok=True)
        text = _page(page, body, reliability.get(page.notebook.id, []), previous, following)
        target.write_text(text, encoding="utf-8")
    (site / BOOK_MARKER).write_text("built by mlsys-kit book\n", encoding="utf-8")


# ---------------------------------------------------------------- HTML

_e = html.escape


def _document(title: str, body: str, *, depth: int, notebook_css: bool = False) -> str:
    up = "../" * depth
    links = f'<link rel="stylesheet" href="{up}{_ASSETS}/book.css">'
    if notebook_css:
        links = f'<link rel="stylesheet" href="{up}{_ASSETS}/notebook.css">\n' + links
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'  # no favicon.ico request: nothing fetched
        f"<title>{_e(title)}</title>\n{links}\n</head>\n{body}\n</html>\n"
    )


def _chapter_anchor(chapter: int) -> str:
    return f"chapter-{chapter:02d}"


def _mark(claim: Claim) -> str:
    if claim.passed:
        return '<span class="pass" title="held">✔</span>'
    return '<span class="fail" title="failed">✘</span>'


def _home(pages: list[BookPage], reliability: dict[str, list[ReliabilityRow]], source: str) -> str:
    parts = [
        '<body class="book-home">\n<header class="book-header">',
        "<h1>mlsys-kit: the book of the notebooks</h1>",
        "<p>Runnable, checked experiments for <cite>Designing Machine Learning Systems</cite> "
        f"(Chip Huyen, 2022): {len(pages)} executed notebooks, rendered from {_e(source)}. "
        "Each lesson is computed by its notebook's run; ✔ held, ✘ failed.</p>",
        '<nav class="toc"><ul>',
    ]
    chapters = sorted({page.notebook.chapter for page in pages})
    for chapter in chapters:
        title = CHAPTERS.get(chapter, "")
        parts.append(f'<li><a href="#{_chapter_anchor(chapter)}">{chapter}. {_e(title)}</a></li>')
    parts.append("</ul></nav>\n</header>\n<main>")
    for chapter in chapters:
        title = CHAPTERS.get(chapter, "")
        parts.append(
            f'<section class="chapter" id="{_chapter_anchor(chapter)}">\n'
            f'<h2>Chapter {chapter}. {_e(title)}</h2>\n<ul class="notebooks">'
        )
        for page in (p for p in pages if p.notebook.chapter == chapter):
            lessons = (
                "".join(f"<li>{_mark(c)} {_e(c.statement)}</li>" for c in page.lessons)
                or "<li>no lessons</li>"
            )
            checks = len(page.checks)
            more = (
                f'<p class="checks">and {checks} check{"s" * (checks != 1)}</p>' if checks else ""
            )
            held = _held_summary(reliability.get(page.notebook.id, []))
            parts.append(
                f'<li class="notebook"><a href="{_e(page.href)}">{page.heading_html}</a>'
                f'{_status(page)}\n<ul class="lessons">{lessons}</ul>{more}{held}</li>'
            )
        parts.append("</ul>\n</section>")
    parts.append("</main>\n</body>")
    return _document("mlsys-kit: the book of the notebooks", "\n".join(parts), depth=0)


def _held_summary(rows: list[ReliabilityRow]) -> str:
    lessons = [row for row in rows if row.kind == "lesson"]
    if not lessons:
        return ""
    reliable = sum(_held_share(row.held) >= 0.95 for row in lessons)
    return (
        f'<p class="reliability">reliability report: {reliable} of {len(lessons)} '
        "lessons hold on at least 95% of unseen seeds</p>"
    )


def _held_share(held: str) -> float:
    """``"19/20"`` as 0.95 (0 when it is not a fraction)."""
    count, _, total = held.partition("/")
    try:
        return int(count) / int(total)
    except (ValueError, ZeroDivisionError):
        return 0.0


def _status(page: BookPage) -> str:
    if page.status in ("committed", "ok", "run"):
        return ""
    return f' <span class="status fail">({_e(page.status)})</span>'


def _book_section(notebook: Notebook) -> str:
    """The title cell's ``*Book: ...*`` line, without its asterisks."""
    for cell in notebook.source.get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = "".join(cell.get("source", ""))
            match = re.search(r"\*Book:\s*(.+?)\*(?:\s|$)", text, re.S)
            return " ".join(match[1].split()) if match else ""
    return ""


def _nav(page: BookPage, previous: BookPage | None, following: BookPage | None) -> str:
    back = (
        f'<a class="chapter-link" href="../index.html#{_chapter_anchor(page.notebook.chapter)}">'
        f"↑ Chapter {page.notebook.chapter}. {_e(CHAPTERS.get(page.notebook.chapter, ''))}</a>"
    )
    prev = (
        f'<a rel="prev" href="../{_e(previous.href)}">← {previous.heading_html}</a>'
        if previous
        else '<span class="none">first notebook</span>'
    )
    nxt = (
        f'<a rel="next" href="../{_e(following.href)}">{following.heading_html} →</a>'
        if following
        else '<span class="none">last notebook</span>'
    )
    return f'<nav class="pager">{prev}{back}{nxt}</nav>'


def _parameters_table(page: BookPage) -> str:
    params = page.notebook.parameters
    if not params:
        return "<p>This notebook has no parameters.</p>"
    values = page.values or {}
    run_column = bool(page.values is not None and page.status != "committed")
    head = "<th>parameter</th><th>default</th>"
    head += "<th>this run</th>" if run_column else ""
    head += "<th>allowed</th><th>description</th>"
    rows = []
    for name, param in params.items():
        cells = f"<td><code>{_e(name)}</code></td><td><code>{_e(repr(param.default))}</code></td>"
        if run_column:
            shown = repr(values[name]) if name in values else "default"
            cells += f"<td><code>{_e(shown)}</code></td>"
        cells += f"<td>{_e(param.describe())}</td><td>{_e(param.help)}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="parameters"><tr>{head}</tr>\n' + "\n".join(rows) + "</table>"


def _claims_table(claims: list[Claim], reliability: list[ReliabilityRow], kind: str) -> str:
    if not claims:
        return f"<p>No {kind}s in this run.</p>"
    by_statement = {_normalise(row.statement): row for row in reliability}
    with_report = bool(reliability)
    head = "<th></th><th>" + kind + "</th><th>this run</th><th>margin</th>"
    if with_report:
        head += "<th>held on unseen seeds</th><th>worst margin</th>"
    rows = []
    for claim in claims:
        cells = (
            f"<td>{_mark(claim)}</td><td>{_e(claim.statement)}</td>"
            f"<td>{_e(claim.evidence)}</td><td>{_format_margin(claim)}</td>"
        )
        if with_report:
            row = _reliability_row(claim, by_statement)
            held, worst = (row.held, row.worst_margin) if row else ("—", "—")
            cells += f"<td>{_e(held)}</td><td>{_e(worst)}</td>"
        rows.append(f'<tr class="{"pass" if claim.passed else "fail"}">{cells}</tr>')
    return f'<table class="claims {kind}s"><tr>{head}</tr>\n' + "\n".join(rows) + "</table>"


def _reliability_row(claim: Claim, rows: dict[str, ReliabilityRow]) -> ReliabilityRow | None:
    """The report's line of ``claim``: same words, or nearly (a number in it may differ)."""
    import difflib

    key = _normalise(claim.statement)
    if key in rows:
        return rows[key]
    same_kind = [text for text, row in rows.items() if row.kind == claim.kind]
    close = difflib.get_close_matches(key, same_kind, n=1, cutoff=0.85)
    return rows[close[0]] if close else None


def _normalise(statement: str) -> str:
    return " ".join(statement.replace("\\", "").split())


def _format_margin(claim: Claim) -> str:
    margin = claim.margin
    if margin != margin:  # NaN: the value was not a number
        return "—"
    relative = claim.relative_margin
    shown = f"{margin:+.3g}"
    if relative == relative:
        shown += f" ({relative:+.0%})"
    return _e(shown)


def _page(
    page: BookPage,
    body: str,
    reliability: list[ReliabilityRow],
    previous: BookPage | None,
    following: BookPage | None,
) -> str:
    nb = page.notebook
    nav = _nav(page, previous, following)
    section = _book_section(nb)
    report_note = (
        "<p>Held on unseen seeds: from the claims reliability report "
        "(<code>reports/claims-reliability.md</code>, test sizes, unseen seeds).</p>"
        if reliability
        else "<p>The claims reliability report does not cover this notebook.</p>"
    )
    summary = [
        f'<body class="book-page">\n<header class="book-header">{nav}',
        f"<h1>{page.heading_html}</h1>",
        f'<p class="where"><code>{_e(nb.name)}.ipynb</code>{_status(page)}</p>',
        f'<p class="section"><strong>Book:</strong> {_e(section)}</p>' if section else "",
        '<details class="facts" open>\n<summary>Parameters, lessons and checks</summary>',
        "<h2>Parameters</h2>",
        _parameters_table(page),
        "<h2>Lessons</h2>",
        _claims_table(page.lessons, reliability, "lesson"),
        report_note,
    ]
    if page.checks:
        summary += ["<h2>Checks</h2>", _claims_table(page.checks, reliability, "check")]
    summary += [
        "</details>\n</header>",
        f'<main class="notebook jp-Notebook" data-jp-theme-light="true">{body}</main>',
        f'<footer class="book-footer">{nav}</footer>\n</body>',
    ]
    return _document(
        _EMPHASIS.sub(r"\1", page.heading),
        "\n".join(s for s in summary if s),
        depth=1,
        notebook_css=True,
    )


_BOOK_CSS = """\
body.book-home, body.book-page {
  margin: 0 auto; max-width: 1100px; padding: 0 1.5rem 3rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5;
  color: #1f2328; background: #fff;
}
.book-header h1 { font-size: 1.7rem; margin: 1rem 0 0.5rem; }
.book-header h2 { font-size: 1.15rem; margin: 1.2rem 0 0.4rem; }
.toc ul { columns: 2; padding-left: 1.5rem; }
section.chapter { border-top: 1px solid #d0d7de; margin-top: 1.5rem; }
ul.notebooks { list-style: none; padding-left: 0; }
li.notebook { margin: 0.8rem 0; }
li.notebook > a { font-weight: 600; }
ul.lessons { margin: 0.2rem 0; font-size: 0.93rem; }
p.checks, p.reliability { margin: 0.1rem 0 0 2.5rem; font-size: 0.85rem; color: #57606a; }
.pass { color: #1a7f37; } .fail { color: #cf222e; }
nav.pager { display: flex; justify-content: space-between; gap: 1rem; padding: 0.8rem 0;
  border-bottom: 1px solid #d0d7de; font-size: 0.9rem; }
footer nav.pager { border-top: 1px solid #d0d7de; border-bottom: 0; margin-top: 2rem; }
nav.pager a { text-decoration: none; } nav.pager .none { color: #8c959f; }
table.parameters, table.claims { border-collapse: collapse; font-size: 0.88rem; margin: 0.4rem 0; }
table.parameters td, table.parameters th, table.claims td, table.claims th {
  border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
table.claims tr.fail td { background: #ffebe9; }
details.facts { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
  padding: 0.4rem 1rem; margin: 1rem 0; }
details.facts summary { cursor: pointer; font-weight: 600; }
main.notebook { padding: 0; }
main.notebook img { max-width: 100%; height: auto; }
math[display="block"] { margin: 0.8em 0; }
code.tex { background: #f6f8fa; }
"""
