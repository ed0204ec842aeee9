"""The student edition (``make book-student``) holds every exercise and no solution.

Probes: runs of plain words (no markup) taken from the text of every
``{solution}`` / ``{solution-start}`` ... ``{solution-end}`` block of the
chapters, and the code lines of the solutions.  Each probe that the full book
(``_build/html``) shows is looked for in every text file of the student
edition (HTML, the search index, any .ipynb/.md/.txt): none may be there.
Every exercise must be there (its label is the id of its admonition), and no
``_sources/`` copy of the chapters.

Run after ``make book`` and ``make book-student``; ``STUDENT_HTML`` /
``BOOK_HTML`` point at other builds.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STUDENT_HTML = Path(os.environ.get("STUDENT_HTML", REPO / "_build" / "student" / "_build" / "html"))
BOOK_HTML = Path(os.environ.get("BOOK_HTML", REPO / "_build" / "html"))
CHAPTERS = sorted((REPO / "chapters").glob("*.md"))
TEXT_SUFFIXES = {".html", ".js", ".txt", ".md", ".ipynb", ".json"}

FENCE = re.compile(r"^(?P<f>`{3,}|:{3,})\{(?P<kind>solution|solution-start|exercise|exercise-start)\}[ \t]*(?P<rest>.*)$", re.M)


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(kind, label, body) of every exercise and solution block of a chapter."""
    out = []
    for m in FENCE.finditer(text):
        kind, fence = m.group("kind"), m.group("f")
        label = m.group("rest").split()[0] if m.group("rest").split() else ""  # a solution names its exercise
        rest = text[m.end():]
        if kind.endswith("-start"):
            end = re.search(r"^" + re.escape(fence[0]) + r"{3,}\{" + kind.replace("-start", "-end") + r"\}", rest, re.M)
        else:
            end = re.search(r"^" + re.escape(fence) + r"\s*$", rest, re.M)
        body = rest[: end.start()] if end else rest
        options = re.search(r"^:label:\s*(\S+)", body, re.M)
        out.append((kind.replace("-start", ""), options.group(1) if options else label, body))
    return out


def probes(body: str) -> list[str]:
    """Runs of >= 7 plain words from the prose, and code lines of >= 30 characters, of a solution."""
    found = []
    for line in body.splitlines():
        s = line.strip()
        if not s or s.startswith((":", "```", "+++", "#")):
            continue
        if re.match(r"^[A-Za-z_][\w.]* ?=|^(for|def|return|print|import|from|assert|if) ", s) and len(s) >= 30:
            found.append(s)
            continue
        for run in re.findall(r"(?:[A-Za-z][A-Za-z'-]*[,;]? ){6,}[A-Za-z][A-Za-z'-]*", s):
            found.append(run)
    return found


def page_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = re.sub(r"<script[^>]*>.*?</script>", " ", text, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text))


def all_text(root: Path) -> str:
    return "\n".join(page_text(p) for p in sorted(root.rglob("*"))
                     if p.is_file() and p.suffix in TEXT_SUFFIXES and "vendor" not in p.parts)


@pytest.fixture(scope="module")
def student_text() -> str:
    if not (STUDENT_HTML / "index.html").is_file():
        pytest.fail(f"No student edition at {STUDENT_HTML}: run `make book-student` first.", pytrace=False)
    return all_text(STUDENT_HTML)


@pytest.fixture(scope="module")
def book_text() -> str:
    if not (BOOK_HTML / "index.html").is_file():
        pytest.fail(f"No book at {BOOK_HTML}: run `make book` first.", pytrace=False)
    return all_text(BOOK_HTML)


def test_no_solution_text_in_the_student_edition(student_text, book_text):
    checked, leaked = 0, []
    for path in CHAPTERS:
        for kind, label, body in blocks(path.read_text(encoding="utf-8")):
            if kind != "solution":
                continue
            for probe in probes(body):
                p = re.sub(r"\s+", " ", probe)
                if p not in book_text:  # markup inside the run: the page shows it otherwise
                    continue
                checked += 1
                if p in student_text:
                    leaked.append(f"{path.name} {label}: {p[:70]!r}")
    print(f"\n{checked} solution probes shown by the full book checked in the student edition")
    assert checked >= 20, f"only {checked} usable solution probes: the probe extraction is broken"
    assert not leaked, f"{len(leaked)} solution texts in the student edition:\n  " + "\n  ".join(leaked[:30])


def test_every_exercise_is_in_the_student_edition():
    if not (STUDENT_HTML / "index.html").is_file():
        pytest.fail(f"No student edition at {STUDENT_HTML}: run `make book-student` first.", pytrace=False)
    missing, count = [], 0
    for path in CHAPTERS:
        exercises = [label for kind, label, _ in blocks(path.read_text(encoding="utf-8")) if kind == "exercise"]
        page = STUDENT_HTML / "chapters" / f"{path.stem}.html"
        if not exercises:
            continue
        text = page.read_text(encoding="utf-8") if page.is_file() else ""
        for label in exercises:
            count += 1
            if f'id="{label}"' not in text:
                missing.append(f"{path.name}: exercise {label}")
            if re.search(r'class="[^"]*\bsolution\b', text):
                missing.append(f"{path.name}: a solution admonition is in the page")
    print(f"\n{count} exercises found in the student edition")
    assert count >= 10 and not missing, "\n".join(sorted(set(missing))) or f"only {count} exercises"


def test_no_chapter_sources_in_the_student_edition():
    if not (STUDENT_HTML / "index.html").is_file():
        pytest.fail(f"No student edition at {STUDENT_HTML}: run `make book-student` first.", pytrace=False)
    sources = [p for p in STUDENT_HTML.rglob("*") if p.suffix in (".md", ".ipynb") and "chapters" in p.parts]
    assert not sources, f"chapter sources (with solutions) in the student edition: {sources[:5]}"


def test_probes_find_solution_text_in_a_made_up_chapter():
    text = "```{exercise} A\n:label: ex-a\nDo it.\n```\n\n````{solution-start} ex-a\n:class: dropdown\n````\n" \
           "The answer follows from the chain rule applied twice over the sequence.\n\n" \
           "```{code-cell} ipython3\nresult = np.einsum('ij,jk->ik', A, B).sum()\n```\n\n````{solution-end}\n````\n"
    b = blocks(text)
    assert [(k, lab) for k, lab, _ in b] == [("exercise", "ex-a"), ("solution", "ex-a")]
    ps = probes(b[1][2])
    assert any("chain rule applied twice" in p for p in ps) and any(p.startswith("result = np.einsum") for p in ps)
