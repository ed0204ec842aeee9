"""Pages a reader can read: checked in the chapter sources (no kernel, no build).

* **Numbers serve the sentence**: no paragraph (or list item) of prose holds
  more than :data:`MAX_NUMBERS` glued values (``{glue:text}``, ``{glue}``);
  the rest go into a small table (table rows are not paragraphs) or into the
  figure.
* **Code cells teach**: a cell whose code the page shows (not tagged
  ``hide-input``, ``remove-input`` or ``remove-cell``) has at most
  :data:`MAX_SHOWN_LINES` lines.
* **Short captions**: a figure caption has at most :data:`MAX_CAPTION` characters
  of source text (math counted as written), about three lines of the 1280-px
  column; the detail belongs in the text.  tests/browser/test_pages.py measures
  the rendered lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "chapters").glob("*.md"))
MAX_NUMBERS = 4
MAX_SHOWN_LINES = 15
MAX_CAPTION = 260
HIDDEN = {"hide-input", "remove-input", "remove-cell"}
GLUE = re.compile(r"\{glue(?::text)?\}`")


def paragraphs(markdown: str) -> list[str]:
    """The prose paragraphs and list items of a markdown cell (tables, fences and math left out)."""
    out: list[str] = []
    block: list[str] = []
    fence = None
    for line in markdown.splitlines():
        s = line.strip()
        m = re.match(r"^(`{3,}|:{3,}|~{3,})", s)
        if fence is None and m and not re.match(r"^(`{3,}|:{3,})\{(note|tip|important|warning|admonition|exercise|solution|hint|seealso|caution|attention|dropdown|prf:\w+)\}", s):
            fence = m.group(1)[0] * len(m.group(1))
            if block:
                out.append("\n".join(block)); block = []
            continue
        if fence is not None:
            if s.startswith(fence) and s.strip(fence[0]) == "":
                fence = None
            continue
        if not s or s.startswith("|") or re.match(r"^(`{3,}|:{3,})", s):
            if block:
                out.append("\n".join(block)); block = []
            continue
        if re.match(r"^([-*+]|\d+[.)])\s", s) and block:
            out.append("\n".join(block)); block = []
        block.append(s)
    if block:
        out.append("\n".join(block))
    return out


def cells(path: Path):
    return jupytext.read(path).cells


def test_paragraph_splitter() -> None:
    md = ("a {glue:text}`x` b\n\n- one {glue:text}`y`\n- two\n\n"
          "| {glue:text}`t` |\n|---|\n\n```{math}\n{glue}`z`\n```\n")
    got = [len(GLUE.findall(p)) for p in paragraphs(md)]
    assert got == [1, 1, 0]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_at_most_four_numbers_per_paragraph(path: Path) -> None:
    crowded = []
    for i, cell in enumerate(cells(path)):
        if cell.cell_type != "markdown":
            continue
        for p in paragraphs(cell.source):
            n = len(GLUE.findall(p))
            if n > MAX_NUMBERS:
                crowded.append(f"cell {i}: {n} numbers in «{p[:70]}…»")
    assert not crowded, f"{path.name}: paragraphs with more than {MAX_NUMBERS} glued numbers:\n" + "\n".join(crowded)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_shown_code_cells_are_short(path: Path) -> None:
    long = []
    for i, cell in enumerate(cells(path)):
        if cell.cell_type != "code" or set(cell.metadata.get("tags", [])) & HIDDEN:
            continue
        n = len(cell.source.rstrip("\n").splitlines())
        if n > MAX_SHOWN_LINES:
            long.append(f"cell {i}: {n} lines, starting «{cell.source.splitlines()[0][:60]}»")
    assert not long, f"{path.name}: shown code cells longer than {MAX_SHOWN_LINES} lines:\n" + "\n".join(long)


def captions(path: Path) -> list[str]:
    out = []
    for cell in cells(path):
        fig = cell.metadata.get("mystnb", {}).get("figure", {})
        if cell.cell_type == "code" and "caption" in fig:
            out.append(fig["caption"])
    text = path.read_text(encoding="utf-8")
    # {figure} / {glue:figure} directives: the caption is the body after the options
    for m in re.finditer(r"^(`{3,}|:{3,})\{(?:glue:)?figure\}[^\n]*\n(.*?)^\1\s*$", text, re.M | re.S):
        body = [ln for ln in m.group(2).splitlines() if not ln.startswith(":")]
        out.append(" ".join(body).strip())
    return out


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_captions_are_short(path: Path) -> None:
    long = [c for c in captions(path) if len(" ".join(c.split())) > MAX_CAPTION]
    assert not long, (f"{path.name}: captions over {MAX_CAPTION} characters:\n"
                      + "\n".join(f"{len(' '.join(c.split()))}: «{' '.join(c.split())[:90]}…»" for c in long))
