"""Print the single-page HTML build of the book to one PDF with headless Chromium.

    python tools/pdf.py [--html _build/singlehtml] [--out _build/pdf/sequence-modeling.pdf]

``make pdf`` first runs ``jupyter-book build --builder singlehtml`` (the whole
book as one page, executed from the same cache as the HTML book; see
``_ext/singlehtml_support.py``), then this script:

1. serves that folder on 127.0.0.1 (a random free port; every request that
   leaves it is aborted, so the PDF is built offline like the book);
2. opens the page in the Chromium ``tools/chromium.py`` provisions, waits for
   MathJax's ``startup.promise`` (every equation typeset, ``\\bsf`` included)
   and for every embedded widget to draw its default picture (SVG) and typeset its labels;
3. prints it with Playwright's ``page.pdf`` (A4, the print style sheet
   ``book_assets/assets/print.css``, page numbers in the footer);
4. writes the PDF, and a copy next to the HTML book's ``intro.html``
   (``_build/html/sequence-modeling.pdf``, linked from the intro) when that
   build exists.

Fails (exit 1) on a MathJax error, an equation left untypeset, a widget that
did not render, a page error or a request outside the served folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import chromium  # noqa: E402  (tools/chromium.py)
from localserver import serve  # noqa: E402  (tools/localserver.py)

WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
FOOTER = (
    '<div style="font-size:8pt;width:100%;text-align:center;color:#555;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def print_pdf(html_dir: Path, out: Path, page_name: str = "intro.html") -> dict:
    from playwright.sync_api import sync_playwright

    found = chromium.provision()
    problems: list[str] = []
    with serve(html_dir) as origin, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=found.executable, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run"])
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 1400})
            page = context.new_page()

            def route(r) -> None:
                if r.request.url.startswith(origin + "/") or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    problems.append(f"blocked request {r.request.url}")
                    r.abort()

            page.route("**/*", route)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(f"{origin}/{page_name}", wait_until="load", timeout=120_000)
            page.wait_for_function("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)",
                                   timeout=60_000)
            page.evaluate("() => MathJax.startup.promise")
            n_widgets = page.locator(WIDGET_VIEW).count()
            if n_widgets:
                page.wait_for_function(
                    """(sel) => Array.from(document.querySelectorAll(sel)).every((s) => {
                         const area = s.previousElementSibling;
                         return area && area.classList.contains('widget-subarea')
                                && (area.querySelector('.sb-widget[data-ready]')
                                    || (area.querySelector('.jupyter-widgets') && !area.querySelector('.sb-widget')));
                       })""",
                    arg=WIDGET_VIEW, timeout=120_000,
                )
                # Every widget's labels typeset (MathJax) before printing.
                page.evaluate("() => Promise.all(Array.from(document.querySelectorAll('.sb-widget'))"
                              ".map((el) => el.seqbook.typeset()))")
            math = page.evaluate(
                """() => ({
                    display: document.querySelectorAll('div.math').length,
                    untypeset: Array.from(document.querySelectorAll('div.math, span.math'))
                        .filter((el) => !el.querySelector('mjx-container')).length,
                    errors: document.querySelectorAll('mjx-merror, merror').length,
                })"""
            )
            if math["untypeset"] or math["errors"]:
                problems.append(f"MathJax: {math['untypeset']} equations untypeset, {math['errors']} errors")
            page.emulate_media(media="print")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                     display_header_footer=True, header_template="<span></span>", footer_template=FOOTER)
        finally:
            browser.close()
    if problems:
        raise SystemExit("pdf: the PDF is not right:\n  " + "\n  ".join(problems))
    return {"chromium": str(found), "widgets": n_widgets, **math}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "singlehtml")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "sequence-modeling.pdf")
    ap.add_argument("--copy-to", type=Path, default=ROOT / "_build" / "html",
                    help="also copy the PDF into this HTML build (if it exists), where the intro links it")
    args = ap.parse_args(argv)
    if not (args.html / "intro.html").is_file():
        print(f"pdf: no single-page build at {args.html}: run `make pdf`", file=sys.stderr)
        return 1
    try:
        info = print_pdf(args.html, args.out)
    except chromium.NoChromium as exc:
        print(f"pdf: ERROR: {exc}", file=sys.stderr)
        return 1
    print(f"pdf: wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB; {info['display']} display "
          f"equations typeset, {info['widgets']} widgets; Chromium: {info['chromium']})")
    if (args.copy_to / "intro.html").is_file():
        shutil.copy2(args.out, args.copy_to / args.out.name)
        print(f"pdf: copied to {args.copy_to / args.out.name} (linked from the intro)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
