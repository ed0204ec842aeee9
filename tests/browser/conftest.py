"""Fixtures for the browser tests: Chromium, a local server for a built book.

The tests run against ``_build/html`` (``make book`` first; ``make test`` runs
them after the strict build).  Chromium is provisioned by ``tools/chromium.py``
(``bookcheck.find_chromium``): ``$CHROMIUM``, else a system Chromium, else
Playwright's own if installed, else it installs one (``python -m playwright
install chromium``, else ``apt-get install chromium`` as root); when none can
be had the run fails with one message saying what to run.  Never skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import bookcheck

REPO = Path(__file__).resolve().parents[2]
BOOK_HTML = REPO / "_build" / "html"

# One line per page audited, printed at the end of the run.
AUDIT_LINES: list[str] = []


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def pytest_sessionfinish(session) -> None:
    # Under pytest-xdist (pytest -n 2 tests/browser) each worker audits some of
    # the pages: it hands its lines to the controller, which prints them all.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["audit_lines"] = list(AUDIT_LINES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    AUDIT_LINES.extend(getattr(node, "workeroutput", {}).get("audit_lines", []))


def pytest_terminal_summary(terminalreporter) -> None:
    if AUDIT_LINES and not hasattr(terminalreporter.config, "workeroutput"):
        AUDIT_LINES.sort()
        terminalreporter.section("pages audited in headless Chromium")
        for line in AUDIT_LINES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def book_html() -> Path:
    if not (BOOK_HTML / "index.html").is_file():
        pytest.fail(f"No built book at {BOOK_HTML}: run `make book` first.", pytrace=False)
    return BOOK_HTML


@pytest.fixture(scope="session")
def book_origin(book_html: Path):
    """http://127.0.0.1:PORT serving _build/html (threaded, random free port)."""
    with bookcheck.serve(book_html) as origin:
        yield origin


@pytest.fixture(scope="session")
def probe_html(tmp_path_factory) -> Path:
    """The probe book (tests/browser/probe_pages.py): the widget tests' pages, built once as one book
    with the book's configuration."""
    from probe_pages import probe_pages

    return bookcheck.build_probe_book(tmp_path_factory.mktemp("probe-book"), probe_pages(), root="probe",
                                      timeout_s=900)


@pytest.fixture(scope="session")
def probe_origin(probe_html: Path):
    with bookcheck.serve(probe_html) as origin:
        yield origin


@pytest.fixture(scope="session")
def browser():
    executable = bookcheck.find_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=bookcheck.LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def audit_log():
    """Append a one-line summary of a page audit to the end-of-run report."""
    return AUDIT_LINES.append
