"""Every page reads well at 1280 px and 390 px: nothing cut off, images described, frames legible.

For each HTML page of ``_build/html`` (headless Chromium, network cut off),
at a desktop (1280 px) and a phone (390 px) viewport:

* **no horizontal overflow**: the page does not scroll sideways, and no code
  block, display equation, table, inline formula, image or widget is wider
  than the text column, unless it sits in a box that scrolls *and shows that
  it does*: ``overflow-x: auto``/``scroll`` with the scroll shadow of
  ``book_assets/assets/book.css`` (gradients with ``background-attachment:
  local``).  A box with ``overflow: hidden`` that cuts content off fails;
* **alt text**: every ``<img>`` in the article (figures, outputs, widget
  frames) has an alt text of a few words that is not a file name or path;
* **legible widget frames**: each visible frame is drawn at 2x its design
  width, and its smallest text (``data-min-font-px``, in image pixels, from
  the figure's own fonts) is at least 12 CSS px = 9 pt at the size shown;
* **sharp figures**: every matplotlib figure of a cell output is shown at
  >= 2 image pixels per CSS pixel at 1280 px (a 2x PNG, or SVG);
* **figures keep their shape**: every image is shown with the aspect ratio of
  its pixels, within 2 %;
* **captions**: at 1280 px a figure caption takes at most 3 lines, in the
  colour of the body text; no line of a caption or paragraph starts with the
  punctuation that follows a formula;
* **equations on a phone**: no display equation is clipped; at 390 px the
  ones that scroll sideways in their box are counted, and the book-wide total
  is at most :data:`MAX_SCROLLING_EQUATIONS` (``test_equations_on_a_phone``);
* **no plumbing in outputs**: no internal label name (``ce_loss_seq``), no
  ``glue(`` and no "pre-computed frame" in the text the cells print.

And on every page: one search box at 1280 and 1920 px (not a second one over
the sidebar), and a favicon that loads (no 404).  Problems are listed per
page; the weights of the pages are printed.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

import bookcheck
from conftest import BOOK_HTML

REPO = Path(__file__).resolve().parents[2]
WIDTHS = (1280, 390)
MAX_SCROLLING_EQUATIONS = 10
MAX_CAPTION_LINES = 3
# display equations that scroll sideways at 390 px, per page (filled by test_page_reads_well)
SCROLLING_EQUATIONS: dict[str, list[str]] = {}
MIN_CSS_PX = 12.0  # 9 pt
PAGE_BUDGET = 2_000_000


def _pages() -> list[str]:
    if not (BOOK_HTML / "index.html").is_file():
        return ["<no build: run `make book`>"]
    return [p for p in bookcheck.book_pages(BOOK_HTML) if p not in ("genindex.html", "search.html")]


def internal_names() -> set[str]:
    """Equation labels, figure names and (targets)= of the chapters (with _ or -: not plain words)."""
    names: set[str] = set()
    for p in sorted((REPO / "chapters").glob("*.md")):
        text = p.read_text(encoding="utf-8")
        names |= set(re.findall(r"^\s*:label:\s*([A-Za-z0-9_:-]+)\s*$", text, re.M))
        names |= set(re.findall(r"^\s*:?name:\s*([A-Za-z0-9_:-]+)\s*$", text, re.M))
        names |= set(re.findall(r"^\(([A-Za-z0-9_:-]+)\)=\s*$", text, re.M))
    return {n for n in names if "_" in n or "-" in n}


OVERFLOW_JS = r"""() => {
  const art = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const ar = art.getBoundingClientRect();
  const hint = (el) => {
    const cs = getComputedStyle(el);
    return ['auto', 'scroll'].includes(cs.overflowX) && /gradient/.test(cs.backgroundImage)
      && /local/.test(cs.backgroundAttachment);
  };
  const where = (el) => {
    const sec = el.closest('section[id]');
    const text = (el.textContent || el.getAttribute('alt') || '').replace(/\s+/g, ' ').trim().slice(0, 50);
    const cls = (typeof el.className === 'string' ? el.className : '').split(' ')[0];
    return `${el.tagName.toLowerCase()}${cls ? '.' + cls : ''} in #${sec ? sec.id : '?'}: "${text}"`;
  };
  // The horizontal extent of what an element shows: for a box that scrolls its own
  // content (pre), the content (scrollWidth); for math, the typeset formula (mjx-math;
  // MathJax's invisible assistive MathML is not counted); otherwise the element's box.
  const extent = (el) => {
    const r = el.getBoundingClientRect();
    if (el.tagName === 'PRE') return {left: r.left, right: r.left + el.scrollWidth, from: el};
    if (el.classList.contains('math')) {
      const m = el.querySelector('mjx-container > mjx-math');
      if (m) { const q = m.getBoundingClientRect(); return {left: q.left, right: q.right, from: m.parentElement}; }
    }
    return {left: r.left, right: r.right, from: el.parentElement};
  };
  const out = {page_scroll: document.documentElement.scrollWidth - window.innerWidth, problems: [], scrolling: 0};
  const seen = new Set();
  const sel = 'div.highlight pre, div.math, span.math, table, img, div.widget-subarea';
  for (const el of art.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;  // not shown (a closed dropdown, a hidden frame)
    const x = extent(el);
    let node = x.from, verdict = null, box = null;
    while (node && node !== art) {
      const cs = getComputedStyle(node);
      if (cs.overflowX !== 'visible') {
        const b = node.getBoundingClientRect();
        if (x.right > b.right + 1 || x.left < b.left - 1) {
          verdict = hint(node) ? 'scrolls' : (['hidden', 'clip'].includes(cs.overflowX) ? 'clipped' : 'scrolls with no visible hint');
          box = node;
          break;
        }
      }
      node = node.parentElement;
    }
    const key = box || el;
    if (seen.has(key)) continue;
    seen.add(key);
    if (verdict === 'scrolls') { out.scrolling += 1; }
    else if (verdict) {
      out.problems.push(`${verdict} (${Math.round(x.right - x.left)} px shown in ${Math.round(box.getBoundingClientRect().width)} px): ${where(el)}`);
      continue;
    }
    // margin notes (aside) sit beside the column by design
    if (el.closest('aside')) continue;
    // a cell tagged full-width may use the margin too: its column is the main area
    const full = el.closest('.tag_full-width, .full-width');
    const col = full ? (document.querySelector('.bd-main') || art).getBoundingClientRect() : ar;
    const o = box ? box.getBoundingClientRect() : x;
    if (o.right > col.right + 1 || o.left < col.left - 1) {
      out.problems.push(`wider than the text column (${Math.round(o.right - o.left)} px, column ${Math.round(col.width)} px, `
        + `sticks out ${Math.round(Math.max(o.right - col.right, col.left - o.left))} px): ${where(el)}`);
    }
  }
  return out;
}"""

IMAGES_JS = r"""() => {
  const art = document.querySelector('article.bd-article') || document.body;
  return Array.from(art.querySelectorAll('img')).map((i) => {
    const r = i.getBoundingClientRect();
    const fig = i.closest('figure');
    return {
      src: (i.getAttribute('src') || '').slice(0, 60), alt: i.getAttribute('alt'),
      frame: i.classList.contains('seqlib-frame'), shown: r.width > 0 && r.height > 0,
      natural: i.naturalWidth, css: r.width, design: Number(i.getAttribute('width') || 0),
      font: i.dataset.minFontPx ? Number(i.dataset.minFontPx) : null,
      output: !!i.closest('div.cell_output'), svg: /\.svg($|\?)|^data:image\/svg/.test(i.getAttribute('src') || ''),
      caption: fig && fig.querySelector('figcaption') ? fig.querySelector('figcaption').textContent.trim().slice(0, 60) : null,
    };
  });
}"""


SHAPE_JS = r"""() => {
  const art = document.querySelector('article.bd-article') || document.body;
  const out = {images: [], captions: [], punct: [], equations: []};
  for (const i of art.querySelectorAll('img')) {
    const r = i.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0 && i.naturalWidth > 0 && i.naturalHeight > 0)) continue;
    const dist = (r.width / r.height) / (i.naturalWidth / i.naturalHeight) - 1;
    out.images.push({alt: (i.getAttribute('alt') || '').slice(0, 50), dist: dist,
                     css: [Math.round(r.width), Math.round(r.height)], natural: [i.naturalWidth, i.naturalHeight]});
  }
  const body = art.querySelector('p');
  const bodyColor = body ? getComputedStyle(body).color : null;
  for (const c of art.querySelectorAll('figcaption')) {
    const r = c.getBoundingClientRect();
    if (r.height === 0) continue;
    const text = c.querySelector('.caption-text') || c.querySelector('p') || c;
    const para = c.querySelector('p') || c;
    const lh = parseFloat(getComputedStyle(para).lineHeight) || 1.5 * parseFloat(getComputedStyle(para).fontSize);
    // lines: the line boxes of the caption's words (formulas are skipped: their sub- and
    // superscripts sit above and below the line and would count as lines of their own)
    const bottoms = [];
    const walker = document.createTreeWalker(para, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.nodeValue.trim() || n.parentElement.closest('mjx-container')) continue;
      range.selectNodeContents(n);
      for (const q of range.getClientRects()) if (q.width > 0) bottoms.push(q.bottom);
    }
    bottoms.sort((a, b) => a - b);
    let lines = 0, last = -1e9;
    for (const b of bottoms) { if (b - last > 0.6 * lh) { lines += 1; last = b; } }
    out.captions.push({text: c.textContent.trim().slice(0, 60), lines: lines,
                       color: getComputedStyle(text).color, body: bodyColor});
  }
  // a formula followed by punctuation: the punctuation's line is the formula's line
  for (const m of art.querySelectorAll('span.math')) {
    let n = m.nextSibling;
    if (n === null && m.parentElement.classList.contains('seq-nobreak')) n = m.nextSibling;
    const host = m.parentElement.classList.contains('seq-nobreak') ? m.parentElement : null;
    const t = host ? host.lastChild : n;
    if (!t || t.nodeType !== 3 || !/^[,.;:)]/.test(t.nodeValue)) continue;
    const mr = m.getBoundingClientRect();
    if (mr.width === 0) continue;
    const range = document.createRange(); range.setStart(t, 0); range.setEnd(t, 1);
    const pr = range.getBoundingClientRect();
    if (pr.top > mr.bottom - 2) out.punct.push(m.textContent.slice(0, 30) + ' | ' + t.nodeValue.slice(0, 10));
  }
  // shown code (a cell's input, a code block) fits the column: no sideways scrolling
  out.wide_code = Array.from(art.querySelectorAll('div.cell_input div.highlight pre, div.highlight-python pre, div.highlight-ipython3 pre'))
    .filter((p) => p.getBoundingClientRect().width > 0 && p.scrollWidth > p.clientWidth + 1)
    .map((p) => `${p.scrollWidth - p.clientWidth} px over: ${p.textContent.split('\n').reduce((a, b) => b.length > a.length ? b : a, '').slice(0, 60)}`);
  // glued numbers read as part of their sentence
  out.bold_numbers = Array.from(art.querySelectorAll('span.pasted-text'))
    .filter((g) => Number(getComputedStyle(g).fontWeight) > Number(getComputedStyle(g.parentElement).fontWeight))
    .map((g) => g.textContent.slice(0, 20));
  for (const d of art.querySelectorAll('div.math')) {
    const c = d.querySelector('mjx-container[display="true"]');
    if (!c || d.getBoundingClientRect().width === 0) continue;
    if (c.scrollWidth > c.clientWidth + 1) out.equations.push((d.id || '') + ' ' + d.textContent.trim().slice(0, 40));
  }
  return out;
}"""


def alt_problem(img: dict) -> str | None:
    alt = (img["alt"] or "").strip()
    if not alt:
        return "no alt text"
    stem = img["src"].rsplit("/", 1)[-1].split("?")[0]
    pathlike = re.fullmatch(r"\S+", alt) and ("/" in alt or "." in alt)
    if pathlike or re.search(r"\.(png|jpe?g|svg|gif|webp)$", alt, re.I) or (stem and alt == stem):
        return f"alt text is a file name or path: {alt[:60]!r}"
    if len(alt.split()) < 3:
        return f"alt text too short to describe the image: {alt!r}"
    return None


@bookcheck.probe("reads_well", widths=WIDTHS)
def check_page(page, audit, rel: str, width: int) -> tuple[list[str], str]:
    """The page as a reader sees it at ``width`` (run by bookcheck.visit on the shared load)."""
    names_re = _names_re()
    problems: list[str] = []
    ov = page.evaluate(OVERFLOW_JS)
    if ov["page_scroll"] > 1:
        problems.append(f"the page scrolls sideways by {ov['page_scroll']} px")
    problems += ov["problems"]
    imgs = page.evaluate(IMAGES_JS)
    frames = [i for i in imgs if i["frame"] and i["shown"]]
    figures = [i for i in imgs if i["output"] and not i["frame"] and i["shown"] and not i["svg"]]
    for img in imgs:
        p = alt_problem(img)
        if p:
            problems.append(f"image {img['src']!r} (caption {img['caption']!r}): {p}")
    sizes = []
    for f in frames:
        if f["design"] and f["natural"] < 2 * f["design"] - 1:
            problems.append(f"widget frame drawn at {f['natural']} px for a {f['design']} px design: not 2x")
        if f["font"] is None:
            problems.append(f"widget frame {f['alt'][:40]!r} does not record its smallest font (data-min-font-px)")
            continue
        shown_px = f["font"] * f["css"] / f["natural"]
        sizes.append(shown_px)
        if shown_px < MIN_CSS_PX - 0.05:
            problems.append(
                f"widget frame {f['alt'][:50]!r}: smallest text {shown_px:.2f} CSS px = {shown_px * 0.75:.2f} pt "
                f"at {f['css']:.0f} px shown (< 9 pt)")
    if width == 1280:
        for f in figures:
            density = f["natural"] / f["css"] if f["css"] else 0
            if density < 2 - 0.01:
                problems.append(f"figure {f['caption'] or f['alt'] or f['src']!r}: {density:.2f} image px per CSS px "
                                f"({f['natural']} px shown at {f['css']:.0f}): not 2x")
    shape = page.evaluate(SHAPE_JS)
    for img in shape["images"]:
        if abs(img["dist"]) > 0.02:
            problems.append(f"image {img['alt']!r} shown at {img['css'][0]}x{img['css'][1]} CSS px for "
                            f"{img['natural'][0]}x{img['natural'][1]} pixels: its shape is off by {100 * img['dist']:+.1f} %")
    if width == 1280:
        for cap in shape["captions"]:
            if cap["lines"] > MAX_CAPTION_LINES:
                problems.append(f"caption {cap['text']!r} takes {cap['lines']} lines (> {MAX_CAPTION_LINES})")
            if cap["body"] and cap["color"] != cap["body"]:
                problems.append(f"caption {cap['text']!r} in {cap['color']}, not the body text's {cap['body']}")
    problems += [f"a line starts with the punctuation after a formula: {p}" for p in shape["punct"]]
    if width == 1280:
        for block in shape["wide_code"]:
            problems.append(f"shown code scrolls sideways at 1280 px: {block}")
    for w in shape["bold_numbers"][:3]:
        problems.append(f"a glued number is set in bold: {w!r}")
    if width == 390:
        SCROLLING_EQUATIONS[rel] = shape["equations"]
    text = page.evaluate("() => Array.from(document.querySelectorAll('div.cell_output')).map(e => e.innerText).join('\\n')")
    for m in sorted(set(names_re.findall(text))):
        problems.append(f"printed output names the internal label {m!r}")
    if "glue(" in text:
        problems.append("printed output shows a glue( call")
    bar = re.search(r"\d+%\|[^|\n]{0,80}\|", text)
    if bar:
        problems.append(f"a progress bar is frozen in the page: {bar.group(0)[:40]!r}")
    body = page.evaluate("() => document.body.innerText")
    if re.search(r"pre-computed frame", body, re.I):
        problems.append("the page says 'pre-computed frame'")
    summary = (f"{rel} @ {width}px: {len(ov['problems'])} overflow problems, {ov['scrolling']} boxes scroll with a hint, "
               f"{len(imgs)} images ({len(frames)} frames shown"
               + (f", smallest frame text {min(sizes):.1f} px" if sizes else "") + f", {len(figures)} figures)")
    return problems, summary


@functools.cache
def _names_re() -> re.Pattern:
    names = internal_names()
    assert names, "no :label: in the chapters: the pattern is wrong"
    return re.compile(r"(?<![A-Za-z0-9_.])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True))
                      + r")(?![A-Za-z0-9_(])")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("rel", _pages())
def test_page_reads_well(rel, width, book_html, book_origin, browser, audit_log):
    seen = bookcheck.visit(browser, book_origin, rel, width)
    problems, summary = seen.result("reads_well")
    problems = problems + [f"request leaving the book (blocked): {u}" for u in seen.audit.blocked]
    problems += [f"same-origin response not 200: {r}" for r in seen.audit.bad_responses]
    audit_log(summary)
    assert not problems, f"{rel} at {width} px:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("rel", _pages())
def test_page_weight(rel, book_html, audit_log):
    """The HTML of a page (frames and widget state are inside it) plus the images it links, <= 2 MB."""
    html = (book_html / rel).read_text(encoding="utf-8")
    size = len(html.encode())
    imgs = set(re.findall(r'<img[^>]+src="(?!data:)([^"]+)"', html))
    for src in imgs:
        f = (book_html / rel).parent / src.split("?")[0]
        size += f.stat().st_size if f.is_file() else 0
    audit_log(f"{rel}: {size / 1e6:.2f} MB (HTML {len(html.encode()) / 1e6:.2f} MB + {len(imgs)} image files)")
    assert size <= PAGE_BUDGET, f"{rel}: {size / 1e6:.2f} MB > 2 MB"


@pytest.mark.parametrize("width", (1280, 1920))
def test_one_search_box_and_a_favicon(width, book_html, book_origin, browser):
    rel = next(p for p in _pages() if p.startswith("chapters/"))
    viewport = {"width": width, "height": 900}
    with bookcheck.open_page(browser, book_origin, rel, settle=False, viewport=viewport) as (page, audit):
        boxes = page.evaluate("""() => Array.from(document.querySelectorAll('.search-button-field'))
            .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
            .map((e) => { const r = e.getBoundingClientRect(); return [Math.round(r.x), Math.round(r.y), Math.round(r.width)]; })""")
        assert len(boxes) == 1, f"{rel} at {width} px: {len(boxes)} search boxes shown at {boxes}"
        icon = page.evaluate("() => { const l = document.querySelector('link[rel~=\"icon\"]'); return l ? l.href : null; }")
        assert icon, f"{rel}: no <link rel=icon>: the browser asks for /favicon.ico"
        for url in (icon, f"{book_origin}/favicon.ico"):
            resp = page.request.get(url)
            assert resp.status == 200 and resp.body()[:4] in (b"\x00\x00\x01\x00", b"\x89PNG", b"<svg", b"<?xm"), \
                f"{url}: status {resp.status}"
        assert not audit.bad_responses, audit.bad_responses


def _first_page_with(pattern: str) -> tuple[str, str] | None:
    """(page, href) of the first chapter page holding a link whose href matches ``pattern``."""
    for rel in _pages():
        if not rel.startswith("chapters/"):
            continue
        m = re.search(r'<a class="reference internal" href="(' + pattern + r')"', (BOOK_HTML / rel).read_text(encoding="utf-8"))
        if m:
            return rel, m.group(1)
    return None


@pytest.mark.parametrize("kind, pattern", [
    ("equation", r"[^\"]*#equation-[^\"]+"),
    ("citation", r"[^\"]*bibliography\.html#[^\"]+"),
    ("figure", r"[^\"]*#fig-[^\"]+|[^\"]*#figure-[^\"]+"),
])
def test_hover_previews_a_reference_offline(kind, pattern, book_html, book_origin, browser):
    """Hovering a reference shows its target in a tooltip (sphinx-tippy), math typeset, no request leaves the book."""
    found = _first_page_with(pattern)
    if found is None:
        if kind == "figure":
            pytest.skip("no figure reference found in the chapters")
        pytest.fail(f"no {kind} reference in any chapter page: the pattern is wrong")
    rel, href = found
    viewport = {"width": 1280, "height": 900}
    with bookcheck.open_page(browser, book_origin, rel, viewport=viewport) as (page, audit):
        # the first link of this kind that is shown and has a tip (not one in a closed dropdown)
        marked = page.evaluate(
            """(pattern) => {
                 const re = new RegExp('^(' + pattern + ')$');
                 const a = Array.from(document.querySelectorAll('article.bd-article a.reference.internal'))
                   .find((a) => re.test(a.getAttribute('href')) && a._tippy && a.getBoundingClientRect().width > 0);
                 if (a) a.setAttribute('data-hover-test', '1');
                 return a ? a.getAttribute('href') : null;
               }""", pattern)
        assert marked, f"{rel}: no shown {kind} reference with a hover preview (tippy) on the page"
        href = marked
        link = page.locator('a[data-hover-test="1"]')
        link.scroll_into_view_if_needed()
        link.hover()
        box = page.locator(".tippy-box").first
        box.wait_for(state="visible", timeout=10_000)
        page.wait_for_timeout(500)  # MathJax typesets the tip when it shows
        text = box.inner_text().strip()
        assert len(text) > 3, f"{rel}: the {kind} preview of {href} is empty"
        if kind == "equation":
            page.wait_for_function("() => !!document.querySelector('.tippy-box mjx-container')", timeout=10_000)
            assert "\\[" not in text and "\\begin" not in text, f"{rel}: raw TeX in the preview: {text[:80]!r}"
        page.wait_for_load_state("networkidle")
        assert not audit.blocked, f"requests leaving the book: {audit.blocked}"
        assert not audit.bad_responses, audit.bad_responses
        assert not audit.page_errors, audit.page_errors
        print(f"\n{kind}: hovered {href} on {rel}: preview {text[:70]!r}")


def test_equations_on_a_phone(book_html, book_origin, browser):
    """At 390 px at most MAX_SCROLLING_EQUATIONS display equations of the whole book scroll sideways.

    Uses what test_page_reads_well recorded at 390 px; pages it did not visit
    (a run with -k) are measured here.
    """
    for rel in _pages():
        if rel not in SCROLLING_EQUATIONS:
            bookcheck.visit(browser, book_origin, rel, 390).result("reads_well")
    total = sum(len(v) for v in SCROLLING_EQUATIONS.values())
    listing = "\n".join(f"{rel}: {eq}" for rel, eqs in sorted(SCROLLING_EQUATIONS.items()) for eq in eqs)
    print(f"\ndisplay equations scrolling sideways at 390 px: {total}\n{listing}")
    assert total <= MAX_SCROLLING_EQUATIONS, (
        f"{total} display equations scroll sideways at 390 px (at most {MAX_SCROLLING_EQUATIONS}):\n{listing}")
