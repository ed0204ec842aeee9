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
