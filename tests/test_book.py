"""The book (``mlsys-kit book``): unit checks, then the whole site in headless Chromium.

The unit checks render a two-notebook kit and need no browser. The browser tests build the
book of the whole kit once (a module fixture), serve it with ``http.server`` on a free
loopback port, visit every page once (recording what each showed) and then check: no console
error and no failed request on any page (served, and ``index.html`` from disk too), every figure
decoded, every internal link resolves (its page and its ``#anchor``), and prev/next walk every
notebook in the kit's order. They are ``slow`` and skip, saying how to install it, without
Debian's chromium.
"""

from __future__ import annotations

import json
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
from browser import launch_chromium

from mlsys_kit.kit import book as book_module
from mlsys_kit.kit.book import (
    BOOK_MARKER,
    book_pages,
    build_book,
    read_reliability_report,
    tex_to_mathml,
)
from mlsys_kit.kit.catalog import discover, notebooks_dir
from mlsys_kit.kit.cli import main
from mlsys_kit.params import ParameterError

SHORT = ("01-overview/01-research-vs-production.ipynb", "01-overview/02-ml-vs-software.ipynb")


# ---------------------------------------------------------------- unit checks (no browser)


@pytest.fixture(scope="module")
def small_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A notebooks folder with two committed notebooks of chapter 1."""
    root = tmp_path_factory.mktemp("kit")
    for name in SHORT:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebooks_dir() / name, target)
    return root


@pytest.fixture(scope="module")
def small_book(small_kit: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_book(tmp_path_factory.mktemp("small") / "site", root=small_kit, jobs=1).out


def test_tex_becomes_mathml_and_unknown_tex_stays_readable():
    assert tex_to_mathml("x^2").startswith("<math")
    block = tex_to_mathml(r"\frac{1}{n}\Big(\sum_x a\Big)", block=True)
    assert 'display="block"' in block and "<mfrac>" in block
    assert tex_to_mathml(r"\nosuchcommand{x} <b>") == (
        '<code class="tex">\\nosuchcommand{x} &lt;b&gt;</code>'
    )
    with pytest.raises(ParameterError, match="tex_to_mathml: tex must be a str"):
        tex_to_mathml(3)


def test_reliability_report_is_read_by_notebook():
    report = notebooks_dir().parent / "reports" / "claims-reliability.md"
    tables = read_reliability_report(report)
    assert "01/01" in tables
    rows = tables["01/01"]
    assert {row.kind for row in rows} <= {"lesson", "check"}
    assert all("/" in row.held for row in rows)
    assert read_reliability_report(report.with_name("no-such-report.md")) == {}


def test_small_book_has_home_pages_assets_and_math(small_book: Path):
    index = (small_book / "index.html").read_text(encoding="utf-8")
    assert 'id="chapter-01"' in index
    assert 'href="01-overview/02-ml-vs-software.html"' in index
    assert "<em>and</em>" in index  # the title's Markdown emphasis
    assert (small_book / BOOK_MARKER).is_file()
    assert {p.name for p in (small_book / "assets").iterdir()} == {"book.css", "notebook.css"}
    page = (small_book / "01-overview/01-research-vs-production.html").read_text(encoding="utf-8")
    for expected in (
        '<table class="parameters">',
        '<table class="claims lessons">',
        'rel="next" href="../01-overview/02-ml-vs-software.html"',
        'href="../index.html#chapter-01"',
        "<strong>Book:</strong> Chapter 1",
        'src="data:image/png;base64,',
        "held on unseen seeds",
    ):
        assert expected in page, expected
    assert "<script" not in page and "<script" not in index  # nothing to fetch, nothing to run
    assert "https://" not in page.split("<main", 1)[0]


def test_math_is_rendered_as_mathml(tmp_path: Path):
    root = tmp_path / "kit"
    name = "04-training-data/01-sampling.ipynb"
    (root / name).parent.mkdir(parents=True)
    shutil.copy(notebooks_dir() / name, root / name)
    site = build_book(tmp_path / "site", root=root, jobs=1).out
    page = (site / name).with_suffix(".html").read_text(encoding="utf-8")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in page
    assert "$$" not in page


def test_run_folder_pages_carry_labels_parameters_and_status(small_kit: Path, tmp_path: Path):
    run = tmp_path / "run"
    executed = run / "01-overview" / "02-ml-vs-software--seed=3.ipynb"
    executed.parent.mkdir(parents=True)
    shutil.copy(small_kit / SHORT[1], executed)
    (run / "notes.txt").write_text("not a notebook")
    record = {
        "notebook": "01/02",
        "name": "01-overview/02-ml-vs-software",
        "label": "seed=3",
        "parameters": {"seed": 3},
        "output": str(executed),
        "seconds": 1.0,
        "status": "ok",
        "error": None,
        "claims": [],
    }
    (run / "results.jsonl").write_text(json.dumps(record) + "\n")
    pages = book_pages(run, root=small_kit)
    assert [(p.notebook.id, p.label, p.values, p.status) for p in pages] == [
        ("01/02", "seed=3", {"seed": 3}, "ok")
    ]
    assert pages[0].href == "01-overview/02-ml-vs-software--seed=3.html"
    assert pages[0].lessons  # read from the executed notebook's outputs
    site = build_book(tmp_path / "site", run_dir=run, root=small_kit, jobs=1).out
    page = (site / pages[0].href).read_text(encoding="utf-8")
    assert "<th>this run</th>" in page and "<code>3</code>" in page
    assert "the run folder run" in (site / "index.html").read_text(encoding="utf-8")


def test_bad_run_folders_are_refused(small_kit: Path, tmp_path: Path):
    with pytest.raises(ParameterError, match="is not a folder"):
        book_pages(tmp_path / "missing", root=small_kit)
    with pytest.raises(ParameterError, match="holds no executed kit notebook"):
        book_pages(tmp_path, root=small_kit)


def test_output_is_replaced_whole_or_not_at_all(small_kit: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "site"
    build_book(out, root=small_kit, jobs=1)
    stamp = out / "01-overview" / "01-research-vs-production.html"
    stamp.write_text("the old book")

    def broken(path: str) -> tuple[str, list[str]]:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(book_module, "_render", broken)
    with pytest.raises(RuntimeError, match="rendering failed"):
        build_book(out, root=small_kit, jobs=1)
    assert stamp.read_text() == "the old book"  # the old book, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging folder left
    monkeypatch.undo()
    build_book(out, root=small_kit, jobs=1)
    assert stamp.read_text() != "the old book"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_folder_that_is_not_a_book_is_never_replaced(small_kit: Path, tmp_path: Path):
    (tmp_path / "mine.txt").write_text("a reader's file")
    with pytest.raises(ParameterError, match="is not a book built by mlsys-kit"):
        build_book(tmp_path, root=small_kit, jobs=1)
    assert (tmp_path / "mine.txt").read_text() == "a reader's file"


def test_cli_book_refuses_a_missing_run_folder(tmp_path: Path, capsys):
    assert main(["book", "--out", str(tmp_path / "site"), "--run", str(tmp_path / "no")]) == 2
    assert "--run" in capsys.readouterr().err


# ---------------------------------------------------------------- the whole book in Chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book of the whole kit, built once for this module through the command line."""
    out = tmp_path_factory.mktemp("book") / "site"
    assert main(["book", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def server(site: Path):
    """``site`` served by http.server on a free loopback port; yields its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


_FACTS = """() => ({
    ids: Array.from(document.querySelectorAll("[id]"), e => e.id),
    links: Array.from(document.querySelectorAll("a[href]"), a => a.href),
    images: Array.from(document.images, i => ({src: i.src.slice(0, 40),
                                                ok: i.complete && i.naturalWidth > 0})),
    next: document.querySelector("a[rel=next]")?.href ?? null,
    prev: document.querySelector("a[rel=prev]")?.href ?? null,
})"""


def _visit(page, url: str) -> dict:
    """Load ``url``; what it logged, failed to fetch or fetched from elsewhere, and shows."""
    errors: list[str] = []
    failed: list[str] = []
    requested: list[str] = []
    listeners = {
        "console": lambda m: errors.append(m.text) if m.type == "error" else None,
        "pageerror": lambda exc: errors.append(str(exc)),
        "requestfailed": lambda r: failed.append(f"{r.url[:80]} {r.failure}"),
        "response": lambda r: failed.append(f"{r.url} {r.status}") if r.status >= 400 else None,
        "request": lambda r: requested.append(r.url),
    }
    for event, listener in listeners.items():
        page.on(event, listener)
    try:
        page.goto(url, wait_until="load", timeout=120_000)
        page.wait_for_function(
            "Array.from(document.images).every(i => i.complete)", timeout=120_000
        )
        facts = page.evaluate(_FACTS)
    finally:
        for event, listener in listeners.items():
            page.remove_listener(event, listener)
    origin = url.split("/", 3)[:3] if url.startswith("http") else ["file:"]
    outside = [r[:80] for r in requested if not r.startswith(("data:", "/".join(origin)))]
    return facts | {"errors": errors, "failed": failed + [f"outside: {r}" for r in outside]}


@pytest.fixture(scope="module")
def visited(site: Path, server: str, browser) -> dict[str, dict]:
    """Every page of the served book, visited once: URL → what it showed."""
    context = browser.new_context()
    page = context.new_page()
    urls = [server + "index.html"] + [
        server + path.relative_to(site).as_posix() for path in sorted(site.glob("*/*.html"))
    ]
    try:
        return {url: _visit(page, url) for url in urls}
    finally:
        context.close()


@pytest.mark.slow
def test_every_notebook_has_a_page(visited: dict, server: str):
    expected = {f"{server}{nb.chapter_slug}/{nb.path.stem}.html" for nb in discover()}
    assert expected <= set(visited)
    assert len(visited) == len(expected) + 1  # and the home page


@pytest.mark.slow
def test_every_page_loads_without_console_errors_or_failed_requests(visited: dict):
    problems = {url: v["errors"] + v["failed"] for url, v in visited.items()}
    assert not {url: p for url, p in problems.items() if p}


@pytest.mark.slow
def test_index_opened_from_disk_loads_cleanly(site: Path, browser):
    page = browser.new_page()
    try:
        facts = _visit(page, (site / "index.html").as_uri())
        assert facts["errors"] == [] and facts["failed"] == []
        first = next(link for link in facts["links"] if link.endswith(".html"))
        facts = _visit(page, first)
        assert first.startswith("file://") and facts["errors"] == [] and facts["failed"] == []
    finally:
        page.close()


@pytest.mark.slow
def test_every_figure_is_a_decoded_image(visited: dict):
    broken = {url: [i["src"] for i in v["images"] if not i["ok"]] for url, v in visited.items()}
    assert not {url: b for url, b in broken.items() if b}
    pages_with_figures = sum(bool(v["images"]) for v in visited.values())
    assert pages_with_figures >= len(visited) - 1  # every notebook shows a figure


@pytest.mark.slow
def test_every_internal_link_resolves(visited: dict, server: str):
    unresolved = []
    for url, facts in visited.items():
        for link in facts["links"]:
            if not link.startswith(server):
                assert urlparse(link).scheme in ("http", "https", "mailto"), link
                continue  # a link out (the book's publisher, a library's docs): not fetched
            target, fragment = urldefrag(link)
            if target not in visited:
                unresolved.append(f"{url} → {link}")
            elif fragment and not {fragment, unquote(fragment)} & set(visited[target]["ids"]):
                # a browser finds the anchor by the fragment as written, then decoded
                unresolved.append(f"{url} → {link} (no such anchor)")
    assert not unresolved, "\n".join(unresolved[:20])


@pytest.mark.slow
def test_next_and_prev_walk_every_notebook_in_order(visited: dict, server: str, browser):
    order = [f"{server}{p.href}" for p in book_pages()]
    page = browser.new_page()
    try:
        page.goto(server + "index.html", timeout=120_000)
        with page.expect_navigation(timeout=120_000):
            page.locator("li.notebook > a").first.click()
        walked = [page.url]
        while page.locator("header a[rel=next]").count():
            with page.expect_navigation(timeout=120_000):
                page.locator("header a[rel=next]").click()
            walked.append(page.url)
            assert len(walked) <= len(order), "next links loop"
        assert walked == order
        back = [walked[-1]]  # prev, from each page's link as the visit recorded it
        while visited[back[-1]]["prev"] and len(back) <= len(order):
            back.append(visited[back[-1]]["prev"])
        assert back == order[::-1]
        page.goto(order[0], timeout=120_000)
        with page.expect_navigation(timeout=120_000):
            page.locator("header a.chapter-link").click()
        assert page.url == f"{server}index.html#chapter-01"
    finally:
        page.close()
