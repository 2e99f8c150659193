"""Headless Chromium for the browser tests: Debian's chromium, driven by playwright.

Playwright's own browser download cannot work offline, so the tests launch the system's
chromium (``apt-get install -y --no-install-recommends chromium``) by its path. When it is
missing, the browser tests are skipped with a reason that says how to install it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = "install chromium: apt-get install -y --no-install-recommends chromium"


def chromium_path() -> str | None:
    """``/usr/bin/chromium``, else ``chromium`` on the PATH, else None."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def launch_chromium() -> Iterator[object]:
    """A headless Chromium browser (a generator for a fixture); skips when there is none."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(INSTALL_HINT)
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="install playwright: pip install -c constraints.txt -e '.[test]'",
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()
