"""Every page of the built book, in headless Chromium with the network cut off.

For each HTML page found in ``_build/html``:

* no request leaves the served origin (each is blocked and recorded),
* every same-origin request answers 200 (no missing font or MathJax extension),
* no page error (uncaught exception) and no console error,
* MathJax reports no error (``mjx-merror``/``merror``) and typesets every
  display equation (``div.math`` in the HTML source == typeset ones) and every
  inline one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import bookcheck
from conftest import BOOK_HTML


def _pages() -> list[str]:
    if not (BOOK_HTML / "index.html").is_file():
        return ["<no build: run `make book`>"]
    return bookcheck.book_pages(BOOK_HTML)


@bookcheck.probe("offline", widths=(1280,))
def _typesetting(page, audit, rel: str, width: int) -> tuple:
    """What MathJax typeset and how many widgets the loaded page shows (on bookcheck.visit's load)."""
    return bookcheck.typeset_report(page), page.locator(bookcheck.WIDGET_VIEW).count()


def audit_page(browser, origin: str, html_dir: Path, rel: str, audit_log) -> list[str]:
    """Load one page (the load shared with the other per-page checks); return its problems."""
    seen = bookcheck.visit(browser, origin, rel, 1280)
    ts, widgets = seen.result("offline")
    audit = seen.audit
    final = audit.final_url.removeprefix(origin + "/").split("#")[0].split("?")[0] or "index.html"
    # Equations are counted in the HTML source of the page finally shown.
    display_src, inline_src = bookcheck.source_math_counts(html_dir / final)
    shown = rel if final == rel else f"{rel} (-> {final})"
    audit_log(
        f"{shown}: {len(audit.served)} requests served, {len(audit.blocked)} blocked, "
        f"{len(audit.page_errors)} page errors, {len(audit.console_errors)} console errors, "
        f"{len(audit.bad_responses)} non-200, display math {ts.display_typeset}/{display_src}, "
        f"inline math {ts.inline_typeset}/{inline_src}, MathJax errors {len(ts.errors)}, widgets {widgets}"
    )
    problems = []
    problems += [f"request leaving the book (blocked): {u}" for u in audit.blocked]
    problems += [f"same-origin response not 200: {r}" for r in audit.bad_responses]
    problems += [f"page error: {e}" for e in audit.page_errors]
    problems += [f"console error: {e}" for e in audit.console_errors]
    problems += [f"MathJax error: {e}" for e in ts.errors]
    if ts.display_dom != display_src:
        problems.append(f"{display_src} div.math in the HTML source, {ts.display_dom} in the page")
    if ts.display_typeset != display_src or ts.display_containers < display_src:
        problems.append(
            f"display equations: {display_src} in the source, {ts.display_typeset} typeset "
            f"({ts.display_containers} mjx-container[display=true])"
        )
    if ts.inline_typeset != inline_src:
        problems.append(f"inline math: {inline_src} in the source, {ts.inline_typeset} typeset")
    problems += [f"left as raw TeX: {t!r}" for t in ts.untypeset[:10]]
    if len(ts.untypeset) > 10:
        problems.append(f"... and {len(ts.untypeset) - 10} more left as raw TeX")
    return problems


@pytest.mark.parametrize("rel", _pages())
def test_page_is_offline_and_clean(rel, book_html, book_origin, browser, audit_log):
    problems = audit_page(browser, book_origin, book_html, rel, audit_log)
    assert not problems, f"{rel}:\n  " + "\n  ".join(problems)


def test_book_has_pages(book_html):
    pages = bookcheck.book_pages(book_html)
    assert "index.html" in pages and len(pages) >= 2, pages
