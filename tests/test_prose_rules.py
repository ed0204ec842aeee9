"""Pages a reader can read: checked in the chapter sources (no kernel, no build).

* **Numbers serve the sentence**: no paragraph (or tight list) of prose holds
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


PROSE_DIRECTIVE = re.compile(
    r"^(`{3,}|:{3,})\{(note|tip|important|warning|admonition|exercise|solution|solution-start|"
    r"solution-end|hint|seealso|caution|attention|dropdown|container|prf:\w+)\}")


def paragraphs(markdown: str) -> list[str]:
    """The prose blocks of a markdown cell: runs of lines between blank lines (tables, code, math
    left out).  The items of a tight list form one block; a list whose items each make a
    point of their own is written loose (a blank line between items).

    Prose directives ({exercise}, {solution}, {note}, {container}, ...) are
    entered: their text counts; other fenced blocks ({math}, code) are skipped.
    """
    out: list[str] = []
    block: list[str] = []
    prose: list[str] = []  # the closing fences of the prose directives we are in
    skip = None  # the closing fence of a skipped block

    def flush() -> None:
        if block:
            out.append("\n".join(block))
            block.clear()

    for line in markdown.splitlines():
        s = line.strip()
        if skip is not None:
            if s == skip:
                skip = None
            continue
        m = re.match(r"^(`{3,}|:{3,}|~{3,})", s)
        if m:
            flush()
            fence = m.group(1)
            if prose and s == prose[-1]:
                prose.pop()
            elif PROSE_DIRECTIVE.match(s):
                prose.append(fence)
            else:
                skip = fence
            continue
        if not s or s.startswith("|") or (prose and re.match(r"^:[\w-]+:", s)):
            flush()  # a blank line, a table row, or a directive's option line
            continue
        block.append(s)
    flush()
    return out


def cells(path: Path):
    return jupytext.read(path).cells


def test_paragraph_splitter() -> None:
    md = ("a {glue:text}`x` b\n\n- one {glue:text}`y`\n- two\n\n"
          "| {glue:text}`t` |\n|---|\n\n```{math}\n{glue}`z`\n```\n\n"
          "::::{solution} ex\n:class: dropdown\n\nin {glue:text}`s` a solution\n\n"
          "```python\ncode {glue}`c`\n```\n::::\n\nafter {glue}`a` {glue}`b`\n")
    got = [len(GLUE.findall(p)) for p in paragraphs(md)]
    assert got == [1, 1, 1, 2]


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


CONTROL_WORDS = re.compile(r"\b(sliders?|steppers?|toggles?|play button|buttons?|drag|tap|point at|switch to)\b", re.I)


def control_prose(markdown: str) -> list[str]:
    """Prose lines that speak of a widget's controls outside a ``{container} seq-screen-only``."""
    found, screen_only, fence = [], None, None
    for line in markdown.splitlines():
        s = line.strip()
        if fence is not None:  # inside a code or math block
            if s == fence:
                fence = None
            continue
        m = re.match(r"^(`{3,}|:{3,})(\{[\w:-]+\})?\s*(.*)$", s)
        if m:
            if screen_only is not None and s == screen_only:
                screen_only = None
            elif m.group(2) == "{container}" and "seq-screen-only" in m.group(3):
                screen_only = m.group(1)
            elif m.group(2) in ("{math}", None) and m.group(1).startswith("`"):
                fence = m.group(1)
            continue
        if screen_only is None and CONTROL_WORDS.search(re.sub(r"`[^`]*`", "", s)):
            found.append(s[:90])
    return found


def test_control_prose_finder() -> None:
    md = ("A slider sets x.\n\n:::{container} seq-screen-only\nA stepper plays.\n:::\n\n"
          "```python\nbutton = 1\n```\nThe `toggle` code.\n")
    assert control_prose(md) == ["A slider sets x."]


# The performance appendix measures the HTML book's widgets (a control change's
# repaint time): its sliders are the subject of a measurement, not an instruction.
CONTROLS_MEASURED = {"performance"}


@pytest.mark.parametrize("path", [p for p in PAGES if p.stem not in CONTROLS_MEASURED], ids=lambda p: p.stem)
def test_prose_about_controls_is_screen_only(path: Path) -> None:
    """Paper has no sliders: a sentence about a widget's controls is in a seq-screen-only container
    (print.css hides it; the printed widget says in one sentence that its controls are in the HTML book)."""
    found = []
    for i, cell in enumerate(cells(path)):
        if cell.cell_type == "markdown":
            found += [f"cell {i}: «{line}»" for line in control_prose(cell.source)]
    assert not found, f"{path.name}: prose about controls outside seq-screen-only:\n" + "\n".join(found)


# The student edition (tests/student) leaves the solutions out; a solution that
# repeats a run of its book's prose would leak that run into the edition, and
# tests/student finds it only at the end of `make test`.  The same probes,
# checked here against the chapter sources with the solution bodies cut out.
def _student_probes():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "student_edition", REPO / "tests" / "student" / "test_student_edition.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.blocks, mod.probes


CODE_CELL = re.compile(r"^```\{code-cell\}.*?^```\s*$", re.M | re.S)
WORD_RUN = re.compile(r"(?:[A-Za-z][A-Za-z'-]*[,;]? ){6,}[A-Za-z][A-Za-z'-]*")


def _without_solutions(text: str, blocks) -> str:
    """A chapter's prose: the solution bodies and the code cells cut out (a hidden
    cell's code is not in either edition; a shown one is checked by tests/student)."""
    for kind, _, body in blocks(text):
        if kind == "solution" and body.strip():
            text = text.replace(body, " ")
    return re.sub(r"\s+", " ", CODE_CELL.sub(" ", text))


def test_no_solution_repeats_prose_of_the_book() -> None:
    """No 7-word run (or 30-character code line) of a solution is in any chapter's text outside
    the solutions, so the student edition cannot show it (tests/student checks the built edition)."""
    blocks, probes = _student_probes()
    texts = {p: p.read_text(encoding="utf-8") for p in PAGES}
    rest = " ".join(_without_solutions(t, blocks) for t in texts.values())
    n_probes, found = 0, []
    for path, text in texts.items():
        for kind, label, body in blocks(text):
            if kind != "solution":
                continue
            for probe in probes(body):
                if not WORD_RUN.fullmatch(probe):
                    continue  # a code line
                n_probes += 1
                p = re.sub(r"\s+", " ", probe)
                if p in rest:
                    found.append(f"{path.name} {label}: {p[:70]!r}")
    assert n_probes >= 100, f"only {n_probes} probes: the solution finder is broken"
    assert not found, "solution text repeated outside the solutions:\n  " + "\n  ".join(found)


def test_solution_repeat_finder_finds_a_planted_repeat() -> None:
    blocks, probes = _student_probes()
    page = ("Here the loss falls as the learning rate grows past its best value.\n\n"
            "```{solution} ex-x\n:label: sol-x\n"
            "Yes: the loss falls as the learning rate grows past its best value.\n```\n")
    rest = _without_solutions(page, blocks)
    (body,) = [b for k, _, b in blocks(page) if k == "solution"]
    assert any(re.sub(r"\s+", " ", p) in rest for p in probes(body))
    assert "Yes:" not in rest
