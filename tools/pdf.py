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
3. makes the page a printed book (``PREPARE_JS``): a heading for each part
   of ``_toc.yml`` before its first chapter; the headings' outline levels
   (``aria-level``: part 1, chapter 2, section 3, ...); the solutions of the
   exercises moved to a "Solutions to the exercises" section at the end of
   the book, under their chapters' titles; and a contents list (parts, chapters, sections)
   after the title;
4. prints it with Playwright's ``page.pdf`` (A4, the print style sheet
   ``book_assets/assets/print.css``, page numbers in the footer, a tagged PDF
   with an outline, i.e. bookmarks, from the headings), reads on which page
   each heading landed from that outline (pypdfium2), writes those numbers
   into the contents list and prints again, until the numbers are the pages
   the outline points to;
5. writes the PDF, and a copy next to the HTML book's ``intro.html``
   (``_build/html/sequence-modeling.pdf``, linked from the intro and from
   every page's download menu) when that build exists.

Fails (exit 1) on a MathJax error, an equation left untypeset, a widget that
did not render, a page error or a request outside the served folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import chromium  # noqa: E402  (tools/chromium.py)
from localserver import serve  # noqa: E402  (tools/localserver.py)

WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
CONTENTS_DEPTH = 3  # parts, chapters and sections in the contents list

PREPARE_JS = r"""
({parts, depth}) => {
  const HEADINGS = 'h1, h2, h3, h4, h5, h6';
  const headingLevel = (h) => Number(h.tagName.slice(1));
  // the theme's print-only list of chapters (no page numbers): replaced by ours
  const themeToc = document.getElementById('jb-print-docs-body');
  if (themeToc) themeToc.remove();
  const article = document.querySelector('article.bd-article') || document.body;
  const chapters = parts.flatMap((p) => p.chapters);
  // the page in document order: headings, and the marker span that opens each document
  const order = Array.from(article.querySelectorAll(HEADINGS + ', span[id^="document-"]'));
  const startOf = (doc) => {
    const i = order.findIndex((el) => el.id === 'document-' + doc);
    if (i < 0) throw new Error('pdf: no document ' + doc + ' in the single-page build');
    return i;
  };
  const starts = chapters.map(startOf);
  // the headings of each chapter: from its marker to the next chapter's
  const chapterHeadings = chapters.map((doc, k) => {
    const end = k + 1 < starts.length ? starts[k + 1] : order.length;
    return order.slice(starts[k] + 1, end).filter((el) => el.tagName !== 'SPAN');
  });
  // 1. outline levels: the book's title 1; a chapter 2, its sections 3, ...
  for (const h of article.querySelectorAll(HEADINGS)) h.setAttribute('aria-level', String(headingLevel(h)));
  chapterHeadings.forEach((hs) => {
    if (!hs.length) return;
    const base = headingLevel(hs[0]);
    for (const h of hs) h.setAttribute('aria-level', String(Math.min(6, headingLevel(h) - base + 2)));
  });
  const clean = (h) => h.textContent.replace(/#$/, '').trim();
  const heading = (tag, text, level) => {
    const h = document.createElement(tag);
    h.textContent = text;
    h.setAttribute('aria-level', String(level));
    return h;
  };
  // 2. the solutions of the exercises, by chapter (found before anything moves)
  const solutions = Array.from(article.querySelectorAll('div.solution')).map((sol) => {
    let k = -1;
    starts.forEach((s, j) => {
      if (order[s].compareDocumentPosition(sol) & Node.DOCUMENT_POSITION_FOLLOWING) k = j;
    });
    return {sol, chapter: k};
  });
  // 3. a heading for each part, before its first chapter
  parts.forEach((part, i) => {
    const first = order[startOf(part.chapters[0])];
    const h = heading('h1', part.title, 1);
    h.className = 'seq-part';
    h.id = 'seq-part-' + (i + 1);
    first.parentNode.insertBefore(h, first);
  });
  // 4. the solutions collected at the end of the book, under their chapters' titles
  if (solutions.length) {
    const box = document.createElement('section');
    box.id = 'seq-solutions';
    box.appendChild(heading('h1', 'Solutions to the exercises', 1));
    const groups = new Map();  // chapter -> its part of the box, under the chapter's title
    for (const {sol, chapter} of solutions) {
      if (!groups.has(chapter)) {
        const g = document.createElement('section');
        if (chapter >= 0 && chapterHeadings[chapter].length) {
          g.appendChild(heading('h2', clean(chapterHeadings[chapter][0]), 2));
        }
        groups.set(chapter, g);
        box.appendChild(g);
      }
      groups.get(chapter).appendChild(sol);
    }
    // at the end of the book, after the bibliography
    article.appendChild(box);
  }
  // 5. the contents list, after the book's title
  const bookTitle = article.querySelector('h1');
  bookTitle.classList.add('seq-title');
  const entries = Array.from(article.querySelectorAll(HEADINGS)).filter(
    (h) => Number(h.getAttribute('aria-level')) <= depth && h !== bookTitle && !box_of_solutions(h));
  function box_of_solutions(h) { const b = h.closest('#seq-solutions'); return b && h.tagName !== 'H1'; }
  const nav = document.createElement('nav');
  nav.id = 'seq-contents';
  nav.appendChild(heading('h1', 'Contents', 1));
  const list = document.createElement('ol');
  entries.forEach((h, i) => {
    if (!h.id) h.id = 'seq-heading-' + i;
    const li = document.createElement('li');
    li.className = 'seq-toc-' + h.getAttribute('aria-level');
    const a = document.createElement('a');
    a.href = '#' + h.id;
    a.textContent = clean(h);
    const n = document.createElement('span');
    n.className = 'seq-toc-page';
    n.textContent = '000';
    li.appendChild(a);
    li.appendChild(n);
    list.appendChild(li);
  });
  nav.appendChild(list);
  bookTitle.parentNode.insertBefore(nav, bookTitle.nextSibling);
  return entries.map((h) => ({level: Number(h.getAttribute('aria-level')), title: clean(h)}));
}
"""


def undouble(title: str) -> str:
    """A bookmark title without Chromium's doubling: a heading that a page break moved
    (``break-after: avoid``) can come out of the tagged PDF as its text twice."""
    half = len(title) // 2
    return title[:half] if len(title) % 2 == 0 and title[:half] == title[half:] else title


def _norm(title: str) -> str:
    return "".join(undouble(title).replace("#", "").split()).lower()


def outline(path: Path) -> list[tuple[int, str, int]]:
    """(level from 1, title, page number from 1) of each bookmark of a PDF."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return [(item.level + 1, item.get_title(), item.get_dest().get_index() + 1)
                for item in doc.get_toc()]
    finally:
        doc.close()


def contents_pages(entries: list[dict], marks: list[tuple[int, str, int]]) -> list[int]:
    """The page of each contents entry: the bookmarks of the same level and title, in order."""
    pages, j = [], 0
    for e in entries:
        while j < len(marks) and not (marks[j][0] == e["level"] and _norm(marks[j][1]) == _norm(e["title"])):
            j += 1
        if j == len(marks):
            raise SystemExit(f"pdf: the outline has no bookmark for the contents entry {e['title']!r} "
                             f"(level {e['level']})")
        pages.append(marks[j][2])
        j += 1
    return pages
FOOTER = (
    '<div style="font-size:8pt;width:100%;text-align:center;color:#555;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def book_parts(toc: Path = ROOT / "_toc.yml") -> list[dict]:
    """The parts of the book: {"title", "chapters": [docname, ...]} from ``_toc.yml``."""
    import yaml

    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    return [{"title": part["caption"], "chapters": [c["file"] for c in part["chapters"]]}
            for part in data["parts"]]


def print_pdf(html_dir: Path, out: Path, page_name: str = "intro.html") -> dict:
    from playwright.sync_api import sync_playwright

    parts = book_parts()

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
            t0 = time.perf_counter()
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
            entries = page.evaluate(PREPARE_JS, {"parts": parts, "depth": CONTENTS_DEPTH})
            seconds = {"load": time.perf_counter() - t0, "printings": []}
            page.emulate_media(media="print")
            out.parent.mkdir(parents=True, exist_ok=True)
            numbers: list[int] = []
            for attempt in range(4):
                t0 = time.perf_counter()
                page.pdf(path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                         margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                         display_header_footer=True, header_template="<span></span>", footer_template=FOOTER)
                found_pages = contents_pages(entries, outline(out))
                seconds["printings"].append(time.perf_counter() - t0)
                if found_pages == numbers:
                    break
                numbers = found_pages
                page.evaluate("(ns) => document.querySelectorAll('#seq-contents .seq-toc-page')"
                              ".forEach((el, i) => { el.textContent = String(ns[i]); })", numbers)
            else:
                problems.append("the contents' page numbers did not settle after 4 printings")
        finally:
            browser.close()
    if problems:
        raise SystemExit("pdf: the PDF is not right:\n  " + "\n  ".join(problems))
    return {"chromium": str(found), "widgets": n_widgets, "contents": len(entries), "printings": attempt + 1,
            "seconds": seconds, **math}


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
          f"equations typeset, {info['widgets']} widgets, {info['contents']} contents entries with their pages after "
          f"{info['printings']} printings; Chromium: {info['chromium']})")
    took = info["seconds"]
    print(f"pdf: {took['load']:.0f} s to load, typeset and prepare the page; printings "
          + ", ".join(f"{t:.0f} s" for t in took["printings"]))
    if (args.copy_to / "intro.html").is_file():
        shutil.copy2(args.out, args.copy_to / args.out.name)
        print(f"pdf: copied to {args.copy_to / args.out.name} (linked from the intro)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
