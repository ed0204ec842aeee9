"""The whole-book PDF (`make pdf`: _build/pdf/sequence-modeling.pdf).

Its text (extracted with pypdfium2, the same text ``pdftotext`` gives) must
hold every chapter title with its number, every equation number and every
figure caption of the single-page build it was printed from, and none of the
screen-only chrome ("Show code cell source", "Click to show").  A few pages are
rendered to PNG in ``_build/pdf/pages/`` (to look at) and must not be blank.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PDF = REPO / "_build" / "pdf" / "sequence-modeling.pdf"
SINGLE = REPO / "_build" / "singlehtml" / "intro.html"
PAGES = REPO / "_build" / "pdf" / "pages"

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 is in requirements.txt: run `make setup`")


def _squash(text: str) -> str:
    """Whitespace, soft hyphens and line-break hyphenation removed, for matching across lines."""
    text = text.replace("\u00ad", "").replace("\ufffe", "").replace("\u2010", "-")
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdf():
    if not PDF.is_file() or not SINGLE.is_file():
        pytest.fail(f"No PDF at {PDF}: run `make pdf` first (make test does).", pytrace=False)
    doc = pdfium.PdfDocument(str(PDF))
    yield doc
    doc.close()


@pytest.fixture(scope="module")
def pages_text(pdf) -> list[str]:
    out = []
    for i in range(len(pdf)):
        tp = pdf[i].get_textpage()
        out.append(tp.get_text_range())
        tp.close()
    return out


@pytest.fixture(scope="module")
def single_html() -> str:
    return SINGLE.read_text(encoding="utf-8")


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _chapter_titles() -> list[tuple[str, str]]:
    """(number, title) of every numbered chapter, from _toc.yml and the chapters' first heading."""
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    titles, n = [], 0
    for part in toc["parts"]:
        for ch in part["chapters"]:
            if not part.get("numbered"):
                continue
            n += 1
            src = REPO / f"{ch['file']}.md"
            heading = next(line for line in src.read_text(encoding="utf-8").splitlines() if line.startswith("# "))
            titles.append((str(n), heading[2:].strip()))
    return titles


def test_page_count_is_reported(pdf):
    n = len(pdf)
    print(f"\n{PDF.relative_to(REPO)}: {n} pages")
    assert n > 20


def test_chapter_titles_with_their_numbers(pages_text):
    text = _squash("\n".join(pages_text))
    titles = _chapter_titles()
    assert len(titles) >= 5
    for number, title in titles:
        assert _squash(f"{number}. {title}") in text, f"chapter {number} '{title}' is not in the PDF"


def test_every_chapter_starts_a_page(pages_text):
    tops = [_squash(t[:200]) for t in pages_text]
    for number, title in _chapter_titles():
        want = _squash(f"{number}. {title}")
        assert any(top.startswith(want) for top in tops), f"no page begins with chapter {number} '{title}'"


def test_every_equation_number(pages_text, single_html):
    eqnos = [_plain(m) for m in re.findall(r'<span class="eqno">(.*?)<a class="headerlink"', single_html)]
    assert len(eqnos) > 30, "the single-page build has suspiciously few numbered equations"
    assert len(set(eqnos)) == len(eqnos), "an equation number is used twice"
    text = _squash("\n".join(pages_text))
    missing = [e for e in eqnos if _squash(e) not in text]
    assert not missing, f"equation numbers missing from the PDF: {missing}"
    # numbered per chapter, from 1, with no gap: (1.1), (1.2), ..., (2.1), ...
    by_chapter: dict[str, list[int]] = {}
    for e in eqnos:
        chapter, _, k = e.strip("()").rpartition(".")  # appendices: (1), (2), ...
        by_chapter.setdefault(chapter, []).append(int(k))
    for chapter, ks in by_chapter.items():
        assert sorted(ks) == list(range(1, len(ks) + 1)), f"chapter {chapter}: equation numbers {ks}"


def test_every_figure_caption(pages_text, single_html):
    caps = re.findall(r'<span class="caption-number">(Fig\. [\d.]+)\s*</span>\s*<span class="caption-text">(.*?)</p>',
                      single_html, flags=re.S)
    assert len(caps) >= 10, "the single-page build has suspiciously few figure captions"
    text = _squash("\n".join(pages_text))
    for number, caption in caps:
        words = _plain(caption)
        # the caption's first words (before any math, which MathJax sets as glyphs)
        lead = re.split(r"[\\$(]", words, maxsplit=1)[0][:40]
        needle = _squash(_plain(number) + lead)
        assert needle in text, f"caption {_plain(number)!r} ('{lead}...') is not in the PDF"


def test_no_screen_chrome_in_print(pages_text):
    text = "\n".join(pages_text)
    # a widget's status line (seqlib/widgets/js/runtime.js) is screen-only
    for status in ("computed by seqlib when the book was built", "Computed in this page", "Computed in the kernel"):
        assert status not in text, f"a widget's status line is printed: {status!r}"
    for chrome in ("Show code cell source", "Hide code cell source", "Click to show", "Click to hide",
                   "Skip to main content"):
        assert chrome not in text, f"'{chrome}' is printed"


def test_widgets_print_as_vector_with_a_note(pages_text):
    """Each widget prints its default picture as SVG (its text is text in the PDF) and one sentence
    saying the controls are in the HTML book, instead of its controls."""
    from seqlib.widgets import WIDGETS

    text = _squash("\n".join(pages_text))
    note = _squash("Interactive in the HTML book")
    assert text.count(note) == len(WIDGETS), f"{text.count(note)} widget notes printed, {len(WIDGETS)} widgets"
    # SVG text of the gradient-flow widget's panels, printed as text (a raster frame has none)
    for words in ("gradient reaching each state", "state k", "loss t"):
        assert _squash(words) in text, f"{words!r} (a widget's SVG text) is not text in the PDF"


def test_math_is_typeset_not_raw_tex(pages_text):
    found = []
    for page, text in enumerate(pages_text, start=1):
        for raw in ("\\bsf", "\\frac", "\\begin{", "$$"):
            at = text.find(raw)
            if at >= 0:
                found.append(f"page {page}: {raw!r} in ...{text[max(0, at - 60):at + 60]!r}...")
    assert not found, "raw TeX in the PDF (math MathJax did not typeset):\n" + "\n".join(found[:10])


def test_render_pages_to_png(pdf, pages_text):
    """Render the title page, the first page of each of two chapters and the last page; none blank."""
    PAGES.mkdir(parents=True, exist_ok=True)
    titles = _chapter_titles()
    picks = {0, len(pdf) - 1}
    for number, title in (titles[0], titles[3]):
        want = _squash(f"{number}. {title}")
        picks.add(next(i for i, t in enumerate(pages_text) if _squash(t[:200]).startswith(want)))
    for i in sorted(picks):
        image = pdf[i].render(scale=1.0).to_pil().convert("L")
        path = PAGES / f"page-{i + 1:03d}.png"
        image.save(path)
        hist = image.histogram()
        dark = sum(hist[:128]) / (image.width * image.height)
        assert 0.002 < dark < 0.5, f"page {i + 1} looks blank or black ({dark:.4f} dark)"
        print(f"rendered {path.relative_to(REPO)} ({dark:.1%} dark pixels)")


def _undouble(title: str) -> str:
    """Chromium writes a heading that a page break moved as its text twice (tools/pdf.py undouble)."""
    half = len(title) // 2
    return title[:half] if len(title) % 2 == 0 and title[:half] == title[half:] else title


def _outline(pdf) -> list[tuple[int, str, int]]:
    """(level from 1, title, page from 1) of each bookmark."""
    return [(item.level + 1, _undouble(item.get_title()), item.get_dest().get_index() + 1)
            for item in pdf.get_toc()]


def _parts() -> list[tuple[str, list[str]]]:
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    return [(p["caption"], [c["file"] for c in p["chapters"]]) for p in toc["parts"]]


def _heading(docname: str) -> str:
    src = REPO / f"{docname}.md"
    return next(ln for ln in src.read_text(encoding="utf-8").splitlines() if ln.startswith("# "))[2:].strip()


def test_outline_has_parts_chapters_and_sections(pdf):
    """The PDF's bookmarks: each part of _toc.yml at level 1 with its chapters under it at level 2
    (in order), and the sections of a chapter at level 3; each bookmark leads to a page whose text
    begins with (or holds) its title."""
    marks = _outline(pdf)
    assert marks, "the PDF has no outline (bookmarks)"
    print(f"\n{len(marks)} bookmarks; levels: " + ", ".join(
        f"{lvl}: {sum(1 for m in marks if m[0] == lvl)}" for lvl in sorted({m[0] for m in marks})))
    level1 = [m[1] for m in marks if m[0] == 1]
    for caption, chapters in _parts():
        assert caption in level1, f"part {caption!r} is not a top-level bookmark: {level1}"
        i = next(k for k, m in enumerate(marks) if m[0] == 1 and m[1] == caption)
        end = next((k for k in range(i + 1, len(marks)) if marks[k][0] == 1), len(marks))
        under = [_squash(m[1]) for m in marks[i + 1:end] if m[0] == 2]
        for doc in chapters:
            title = _squash(_heading(doc))
            assert any(title in u for u in under), f"chapter {doc!r} is not a bookmark under part {caption!r}"
    assert sum(1 for m in marks if m[0] == 3) >= 30, "too few section bookmarks (level 3)"
    assert "Solutions to the exercises" in level1


def test_bookmarks_lead_to_their_pages(pdf, pages_text):
    for level, title, page in _outline(pdf):
        if level > 3:
            continue
        lead = _squash(re.split(r"[\\$(]", title, maxsplit=1)[0])[:30]
        assert lead in _squash(pages_text[page - 1]), f"bookmark {title!r} -> page {page}, which does not hold it"


def _contents(pages_text) -> list[tuple[str, int]]:
    """(title, page) of each line of the contents list: from the page that begins with "Contents"
    up to the page before the one its first entry points to."""
    start = next(i for i, t in enumerate(pages_text) if t.lstrip().startswith("Contents"))
    entries: list[tuple[str, int]] = []
    end = len(pages_text)
    i = start
    while i < end:
        for line in pages_text[i].splitlines():
            if re.fullmatch(r"\d+ / \d+", line.strip()):  # the page's footer
                continue
            m = re.match(r"^(.*?\S)\s+(\d+)\s*$", line.strip())
            if m:
                entries.append((m.group(1), int(m.group(2))))
                if len(entries) == 1:
                    end = int(m.group(2)) - 1  # the contents end before the first entry's page
        i += 1
    return entries


def test_contents_list_gives_the_right_page_numbers(pdf, pages_text):
    """A contents list after the title: parts, chapters and sections with the page each begins on;
    every number is the page the outline (and the text) puts that heading on."""
    entries = _contents(pages_text)
    assert len(entries) >= 40, f"the contents list has {len(entries)} entries with page numbers"
    marks: dict[str, int] = {}
    for level, title, page in _outline(pdf):  # a chapter's title also heads its solutions: the first
        if level <= 3:
            marks.setdefault(_squash(title), page)
    checked = 0
    for title, page in entries:
        key = _squash(title)
        if key in marks:
            assert marks[key] == page, f"contents: {title!r} on page {page}, the outline says {marks[key]}"
            checked += 1
        lead = _squash(re.split(r"[\\$(]", title, maxsplit=1)[0])[:25]
        assert lead in _squash(pages_text[page - 1]), f"contents: {title!r} -> page {page}, which does not hold it"
    print(f"\ncontents: {len(entries)} entries, {checked} matched to bookmarks")
    assert checked >= 0.8 * len(entries)


def test_solutions_are_collected_at_the_end(pages_text, single_html):
    n_solutions = single_html.count('class="solution dropdown admonition"')
    assert n_solutions >= 10
    start = next(i for i, t in enumerate(pages_text) if t.lstrip().startswith("Solutions to the exercises"))
    before = _squash("\n".join(pages_text[:start]))
    after = _squash("\n".join(pages_text[start:]))
    assert before.count(_squash("Solution to")) == 0, "a solution is printed before the solutions section"
    assert after.count(_squash("Solution to")) == n_solutions
