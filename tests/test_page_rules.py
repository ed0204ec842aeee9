"""What a reader sees of the chapters' code, checked in the sources (no kernel, no build).

* every code line a reader can see (a cell not tagged ``remove-cell`` or
  ``remove-input``; ``hide-input`` cells open with a click, so they count)
  is at most 80 characters: wider lines are cut off in the 684 px column;
* no build plumbing in shown code: no ``glue(`` call and no ``myst_nb``
  import (they go in ``remove-cell`` cells);
* no internal label name (the ``:label:`` of an equation, the ``name`` of a
  figure, a ``(target)=``) in the comments or strings of shown code: the
  reader sees equation numbers, the code cannot know them, so the code says it
  in words or the prose refers with ``{eq}`label```.

The printed output of the cells is checked in the built pages
(tests/browser/test_pages.py).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import jupytext
import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.md"))
MAX_LINE = 80
HIDDEN = {"remove-cell", "remove-input"}


def shown_code_cells(path: Path) -> list[tuple[int, str]]:
    """(cell number, source) of the code cells whose input the page shows (or shows on a click)."""
    nb = jupytext.read(path)
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        if tags & HIDDEN:
            continue
        out.append((i, cell.source))
    return out


def labels_of(text: str) -> set[str]:
    """The internal names a chapter defines: equation :label:, figure :name: / name:, (target)=."""
    names = set(re.findall(r"^\s*:label:\s*([A-Za-z0-9_:-]+)\s*$", text, re.M))
    names |= set(re.findall(r"^\s*:name:\s*([A-Za-z0-9_:-]+)\s*$", text, re.M))
    names |= set(re.findall(r"^\s*name:\s*([A-Za-z0-9_:-]+)\s*$", text, re.M))
    names |= set(re.findall(r"^\(([A-Za-z0-9_:-]+)\)=\s*$", text, re.M))
    # a name that is also an ordinary word cannot be told apart from prose in a comment
    return {n for n in names if "_" in n or "-" in n}


def all_labels() -> set[str]:
    names: set[str] = set()
    for p in CHAPTERS:
        names |= labels_of(p.read_text(encoding="utf-8"))
    return names


def comments_and_strings(source: str) -> list[tuple[int, str]]:
    """(line in the cell, text) of every comment and string literal of ``source``."""
    # IPython magics and shell escapes are not Python: blank them out, keep the line count.
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if tok.type == tokenize.COMMENT or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                out.append((tok.start[0], tok.string))
            elif tok.type == tokenize.STRING:
                prefix = re.match(r"[A-Za-z]*", tok.string).group(0).lower()
                # the {expressions} of an f-string are code (e.g. a call to log_softmax), not text
                text = re.sub(r"\{[^{}]*\}", "", tok.string) if "f" in prefix else tok.string
                out.append((tok.start[0], text))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = [(n + 1, ln) for n, ln in enumerate(lines)]  # not tokenizable: check every line
    return out


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_shown_code_lines_fit_the_column(path: Path) -> None:
    long = []
    for cell, src in shown_code_cells(path):
        for n, line in enumerate(src.splitlines(), 1):
            if len(line) > MAX_LINE:
                long.append(f"cell {cell} line {n} ({len(line)} chars): {line.strip()[:60]}...")
    assert not long, f"{path.name}: {len(long)} shown code lines over {MAX_LINE} characters:\n  " + "\n  ".join(long)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_glue_or_myst_nb_in_shown_code(path: Path) -> None:
    bad = []
    for cell, src in shown_code_cells(path):
        for n, line in enumerate(src.splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\bglue\s*\(", code) or "myst_nb" in line:
                bad.append(f"cell {cell} line {n}: {line.strip()}")
    assert not bad, f"{path.name}: build plumbing in shown code (move it to a remove-cell cell):\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_internal_label_names_in_shown_code(path: Path) -> None:
    names = all_labels()
    assert names, "no :label: found in any chapter: the label pattern is wrong"
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?![A-Za-z0-9_])")
    bad = []
    for cell, src in shown_code_cells(path):
        for n, text in comments_and_strings(src):
            for m in pattern.finditer(text):
                bad.append(f"cell {cell} line {n}: {m.group(1)!r} in {text.strip()[:70]!r}")
    assert not bad, (f"{path.name}: internal label names in shown code (say it in words, or refer from the prose "
                     "with {eq}`label`):\n  " + "\n  ".join(bad))


def test_the_checks_see_what_they_should() -> None:
    """The helpers find a long line, a glue call and a label in a made-up chapter."""
    text = (
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
        "```{math}\n:label: toy_eq\nx = 1\n```\n\n"
        "```{code-cell} ipython3\n# implements toy_eq\nfrom myst_nb import glue\n" + "x = 1  " + "#" * 80 + "\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\nglue('a', 1)\n```\n"
    )
    nb = jupytext.reads(text, fmt="md:myst")
    cells = [c.source for c in nb.cells if c.cell_type == "code" and not set(c.metadata.get("tags", [])) & HIDDEN]
    assert len(cells) == 1
    assert labels_of(text) == {"toy_eq"}
    assert any("toy_eq" in t for _, t in comments_and_strings(cells[0]))
    assert any(len(ln) > MAX_LINE for ln in cells[0].splitlines())


_BLOCK_START = re.compile(r"^\s*([-+*]|\d+[.)]|>|#{1,6})\s")


def _lines_that_break_inline_math(text: str) -> list[tuple[int, str]]:
    """Lines of Markdown prose that open a list, quote or heading while an inline ``$...$`` is still open.

    Markdown reads such a line as the start of a new block, so the formula is
    cut in two and shows as raw TeX (in the page and in the PDF).
    """
    bad = []
    open_math = False
    in_display = False
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith("$$"):
            in_display = not in_display if stripped.count("$$") == 1 else in_display
            continue
        if in_display:
            continue
        if not stripped:
            open_math = False  # a blank line ends a paragraph, and any formula with it
            continue
        if open_math and _BLOCK_START.match(line):
            bad.append((n, line))
        prose = re.sub(r"`[^`]*`", "", line.replace(r"\$", ""))
        if prose.count("$") % 2:
            open_math = not open_math
    return bad


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_inline_formula_is_split_by_a_line_that_starts_a_block(path):
    nb = jupytext.read(path)
    bad = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        bad += [(i, n, line) for n, line in _lines_that_break_inline_math(cell.source)]
    assert not bad, (
        f"{path.name}: a line inside an inline $...$ starts with a list, quote or heading "
        f"marker, so Markdown splits the formula (move the operator to the end of the "
        f"line before): {bad[:5]}"
    )


def test_the_split_formula_check_can_fail():
    assert _lines_that_break_inline_math("a $x\n+ y$ b") == [(2, "+ y$ b")]
    assert _lines_that_break_inline_math("a $x +\ny$ b\n- item") == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_equation_reference_in_its_own_parentheses(path):
    """``{eq}`` already prints "(4.4)"; "({eq}`x`)" reads "((4.4))"."""
    text = path.read_text(encoding="utf-8")
    bad = re.findall(r"\(\{eq\}`[^`]+`(?:[–,-] ?\{eq\}`[^`]+`)*\)", text)
    assert not bad, f"{path.name}: equation references in their own parentheses print '((n))': {bad[:5]}"


def _code_cell_source_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line inside a ``{code-cell}`` block, its metadata included."""
    out, inside = [], False
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith("```{code-cell}"):
            inside = True
            continue
        if inside and line.startswith("```"):
            inside = False
            continue
        if inside:
            out.append((n, line))
    return out


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_code_line_fits_the_column(path: Path) -> None:
    """Hidden cells too: the downloaded notebook and JupyterLab show every cell, and captions sit in the metadata."""
    long = [(n, len(line)) for n, line in _code_cell_source_lines(path.read_text(encoding="utf-8"))
            if len(line) > MAX_LINE]
    assert not long, f"{path.name}: code-cell lines over {MAX_LINE} characters (line, length): {long}"


def test_the_every_code_line_check_can_fail():
    text = "x\n```{code-cell} ipython3\n:tags: [remove-cell]\n" + "y" * 81 + "\n```\n" + "z" * 90
    assert [n for n, line in _code_cell_source_lines(text) if len(line) > MAX_LINE] == [4]
