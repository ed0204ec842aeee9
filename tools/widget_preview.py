"""Preview widgets in a static page as the book shows them, without building the book.

    python tools/widget_preview.py gradient_flow [gated_flow ...] [--out DIR] [--code "python"]

Builds a one-page throwaway book (the book's _config.yml and offline assets;
``make book`` must have run once for _vendor/) holding one hide-input cell per
widget kind (``from seqlib.widgets import <kind>_widget`` as the chapters do,
or ``--code``), serves it on 127.0.0.1, opens it in headless Chromium with
every other request blocked, and writes screenshots of each widget at 1280 and
390 px to DIR (default /tmp/widget-preview/).  Prints console errors, page
errors, blocked requests, each widget's size and a check of its hooks
(``el.seqbook``).  A developer's tool: the tests do the same with asserts.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import bookcheck  # noqa: E402

def _factory_names() -> dict[str, str]:
    """kind -> the factory's name in seqlib.widgets (e.g. "gradient_flow" -> "gradient_flow_widget")."""
    from seqlib.widgets import _factories

    return {kind: f.__name__ for kind, f in _factories().items()}


FACTORIES = _factory_names()


def page_text(kinds: list[str], code: str | None) -> str:
    import jupytext
    import nbformat.v4 as nbf

    cells = [nbf.new_markdown_cell("# Widget preview\n\nSome text before, with math $\\bsf{h}_t$.")]
    if code:
        cells.append(nbf.new_code_cell(code, metadata={"tags": ["hide-input"]}))
    for kind in kinds:
        f = FACTORIES[kind]
        cells += [nbf.new_markdown_cell(f"## {kind}"),
                  nbf.new_code_cell(f"from seqlib.widgets import {f}\n\n{f}()", metadata={"tags": ["hide-input"]})]
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return jupytext.writes(nbf.new_notebook(cells=cells, metadata={"kernelspec": kernel}), fmt="md:myst")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kinds", nargs="*", help=f"any of {sorted(FACTORIES)}")
    ap.add_argument("--out", default="/tmp/widget-preview")
    ap.add_argument("--code", default=None, help="a cell of your own instead of / before the factories")
    ap.add_argument("--reuse", action="store_true", help="reuse DIR's last build (only look again)")
    args = ap.parse_args()
    bad = [k for k in args.kinds if k not in FACTORIES]
    if bad:
        ap.error(f"kinds must be among {sorted(FACTORIES)}, got {bad}")
    out = Path(args.out)
    book = out / "book"
    html = book / "_build" / "html"
    if not (args.reuse and (html / "preview.html").is_file()):
        shutil.rmtree(book, ignore_errors=True)
        book.mkdir(parents=True)

        import pytest  # build_probe_book reports failure through pytest.fail

        try:
            html = bookcheck.build_probe_book(book, {"preview.md": page_text(args.kinds, args.code)}, root="preview")
        except pytest.fail.Exception as exc:  # type: ignore[attr-defined]
            print(exc)
            sys.exit(1)
    size = (html / "preview.html").stat().st_size
    print(f"preview.html: {size / 1e3:.0f} kB")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, bookcheck.serve(html) as origin:
        browser = p.chromium.launch(executable_path=bookcheck.find_chromium(), headless=True,
                                    args=bookcheck.LAUNCH_ARGS)
        for width, height in ((1280, 800), (390, 844)):
            with bookcheck.open_page(browser, origin, "preview.html", viewport={"width": width, "height": height},
                                    settle=False) as (page, audit):
                bookcheck.wait_for_mathjax(page)
                try:
                    page.wait_for_function("() => document.querySelectorAll('.sb-widget[data-ready]').length > 0",
                                           timeout=20_000)
                except Exception as exc:  # report what the page said
                    print("no widget became ready:", str(exc).splitlines()[0])
                page.wait_for_timeout(500)
                ws = page.locator(".sb-widget")
                n = ws.count()
                for i in range(n):
                    w = ws.nth(i)
                    w.scroll_into_view_if_needed()
                    box = w.bounding_box()
                    info = w.evaluate("(el) => ({kind: el.seqbook && el.seqbook.kind, live: el.seqbook && el.seqbook.live,"
                                      " scroll: el.scrollWidth - el.clientWidth, status: el.querySelector('.sb-status').textContent})")
                    shot = out / f"{info['kind']}-{width}.png" if n == 1 else out / f"{i}-{info['kind']}-{width}.png"
                    w.screenshot(path=str(shot))
                    print(f"{width}px widget {i}: {info} box={box and (round(box['width']), round(box['height']))} -> {shot}")
                doc_scroll = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
                print(f"{width}px: {n} widgets; page scrolls sideways by {doc_scroll} px")
                for e in audit.console_errors:
                    print("  console error:", e[:300])
                for e in getattr(audit, "page_errors", []):
                    print("  page error:", str(e)[:300])
                for u in audit.blocked:
                    print("  blocked request:", u)
        browser.close()


if __name__ == "__main__":
    main()
