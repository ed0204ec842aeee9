"""Turn a chapter's executed notebook into one that runs on its own in plain Jupyter.

Used by ``notebook_download`` for the ``.ipynb`` in each chapter's download
menu.  The chapters are MyST notebooks: their markdown uses roles and
directives that only the book's Sphinx build understands, they import
``seqlib`` from the repository, and ``\\bsf`` comes from ``_config.yml``.  The
downloaded notebook instead

* starts with a markdown cell that says what the notebook is and defines the
  book's MathJax macros (``$\\newcommand{...}$``: invisible, and defined for
  every later cell), then a code cell that ``%pip install``\\ s seqlib at the
  book's version (from the wheel published with the book: next to the
  notebook if it was downloaded there, else ``$SEQLIB_WHEEL``, else the book's
  web address) with seqlib's dependencies at the book's pinned versions;
* has its MyST converted to plain Markdown: ``{glue:text}``/``{glue:md}``
  values inlined (formatted as the page shows them), ``{eq}``, ``{numref}``,
  ``{ref}`` and ``{doc}`` as the text the page shows ("(1.2)", "Fig. 2.1",
  section and chapter titles), ``{cite}``/``{cite:t}`` as author-year text with
  a reference list at the end, ``{math}`` blocks as ``$$ ... \\tag{1.2} $$``,
  ``{exercise}``/``{solution}`` as headed sections, admonitions as block
  quotes, label targets ``(name)=`` and ``%`` comments removed, and each
  figure's caption as a markdown cell after the figure;
* has no ``myst_nb`` import: ``glue(...)`` is defined in the install cell as a
  function that does what it does in a kernel (shows the value if asked to);
* keeps hidden cells (the book's checks) runnable but collapsed
  (``jupyter.source_hidden``); hidden markdown cells (the front matter that
  defines ``\\bsf`` for jupyterlab-myst) are dropped.

The conversion is pure: ``convert(nb, refs)`` with a ``Refs`` that answers
the cross-reference questions (built from the Sphinx environment by
``notebook_download``; a plain fake in the tests).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Callable

ROLE = re.compile(r"\{(?P<role>[a-z][a-z0-9:_-]*)\}`(?P<body>[^`]*)`")
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[a-zA-Z][\w:-]*)\}[ \t]*(?P<arg>.*)$")
TARGET = re.compile(r"^\s*\([\w:.-]+\)=\s*$")
COMMENT = re.compile(r"^\s*%")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)

ADMONITIONS = {"note", "tip", "warning", "important", "caution", "attention", "danger", "error", "hint",
               "seealso", "admonition", "margin", "sidebar", "topic"}


@dataclass
class Refs:
    """Answers to what the page would show for each cross-reference of one document."""

    docname: str
    glue: dict[str, dict]                              # key -> mime bundle (from <page>.glue.json)
    equation: Callable[[str], str | None]              # label -> "(1.2)"
    numref: Callable[[str, str | None], str | None]    # label, explicit text -> "Fig. 2.1"
    ref: Callable[[str], str | None]                   # label -> section title
    doc: Callable[[str], str | None]                   # docname -> title
    exercise: Callable[[str], str | None]              # exercise label -> "1.2"
    cite: Callable[[str], tuple[str, str] | None]      # bib key -> ("Elman", "1990")
    reference_entry: Callable[[str], str | None]       # bib key -> one markdown line for the list
    figure_caption: Callable[[str], str | None]        # figure name -> "Fig. 2.1"
    macros: dict[str, str | list] = field(default_factory=dict)  # MathJax tex.macros
    problems: list[str] = field(default_factory=list)  # what could not be resolved
    cited: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- roles


def _glue_text(refs: Refs, body: str, markdown: bool = False) -> str:
    from myst_nb.core.variables import format_plain_text

    key, fmt = (body.rsplit(":", 1) + ["s"])[:2] if ":" in body and not markdown else (body, "s")
    bundle = refs.glue.get(key)
    if bundle is None:
        refs.problems.append(f"glue value {key!r} not found")
        return body
    data = bundle.get("data", bundle)
    if markdown and "text/markdown" in data:
        return "".join(data["text/markdown"]) if isinstance(data["text/markdown"], list) else data["text/markdown"]
    text = data.get("text/plain")
    if text is None:
        refs.problems.append(f"glue value {key!r} has no text/plain")
        return body
    text = "".join(text) if isinstance(text, list) else text
    return format_plain_text(text, fmt)


def _split_explicit(body: str) -> tuple[str | None, str]:
    m = EXPLICIT.match(body.strip())
    if m and m.group("text"):
        return m.group("text"), m.group("target").strip()
    return None, body.strip()


def _cite(refs: Refs, body: str, textual: bool) -> str:
    parts = []
    for key in [k.strip() for k in body.split(",") if k.strip()]:
        found = refs.cite(key)
        if found is None:
            refs.problems.append(f"citation {key!r} not in the bibliography")
            parts.append(key)
            continue
        if key not in refs.cited:
            refs.cited.append(key)
        who, year = found
        parts.append(f"{who} [{year}]" if textual else f"{who}, {year}")
    return ", ".join(parts) if textual else "[" + "; ".join(parts) + "]"


def convert_roles(text: str, refs: Refs) -> str:
    def sub(m: re.Match) -> str:
        role, body = m.group("role"), m.group("body")
        if role in ("glue:text", "glue", "glue:"):
            return _glue_text(refs, body)
        if role == "glue:md":
            return _glue_text(refs, body, markdown=True)
        if role == "eq":
            explicit, label = _split_explicit(body)
            got = refs.equation(label)
            if got is None:
                refs.problems.append(f"equation {label!r} not found")
            return explicit or got or label
        if role == "numref":
            explicit, label = _split_explicit(body)
            got = refs.numref(label, explicit)
            if got is None:
                refs.problems.append(f"numref {label!r} not found")
            return got or explicit or label
        if role == "ref":
            explicit, label = _split_explicit(body)
            got = explicit or refs.ref(label)
            if got is None:
                refs.problems.append(f"ref {label!r} not found")
            return got or label
        if role == "doc":
            explicit, target = _split_explicit(body)
            got = explicit or refs.doc(target)
            if got is None:
                refs.problems.append(f"doc {target!r} not found")
            return f"*{got or target}*"
        if role in ("cite", "cite:p", "cite:ps"):
            return _cite(refs, body, textual=False)
        if role in ("cite:t", "cite:ts"):
            return _cite(refs, body, textual=True)
        if role == "math":
            return f"${body}$"
        if role in ("sub", "sup"):
            return f"<{role}>{body}</{role}>"
        if role in ("abbr", "term", "dfn", "command", "file", "samp", "kbd", "program", "code"):
            return f"`{_split_explicit(body)[0] or body}`" if role in ("command", "file", "samp", "kbd", "code") \
                else (_split_explicit(body)[0] or body)
        refs.problems.append(f"role {{{role}}} is not converted")
        return m.group(0)

    return ROLE.sub(sub, text)


# ----------------------------------------------------------------------------- directives


def _parse_directive(lines: list[str], i: int) -> tuple[dict, int]:
    """Parse the directive opening at lines[i]; return its parts and the index after its closing fence."""
    m = FENCE_OPEN.match(lines[i])
    fence = m.group("fence")
    close = re.compile(rf"^[ \t]*{re.escape(fence)}[ \t]*$")
    j, depth, body = i + 1, 0, []
    while j < len(lines):
        inner = FENCE_OPEN.match(lines[j])
        if inner and inner.group("fence") == fence:
            depth += 1
        elif close.match(lines[j]):
            if depth == 0:
                break
            depth -= 1
        body.append(lines[j])
        j += 1
    options: dict[str, str] = {}
    k = 0
    if body and body[0].strip() == "---":  # YAML-style options block
        end = next((n for n in range(1, len(body)) if body[n].strip() == "---"), None)
        if end is not None:
            for line in body[1:end]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    options[key.strip()] = value.strip()
            k = end + 1
    while k < len(body) and re.match(r"^\s*:[\w-]+:", body[k]):
        key, _, value = body[k].strip()[1:].partition(":")
        options[key] = value.strip()
        k += 1
    return {"name": m.group("name"), "arg": m.group("arg").strip(), "options": options,
            "body": body[k:], "indent": m.group("indent")}, j + 1


def _math_block(body: str, number: str | None) -> str:
    tex = body.strip()
    if "\\\\" in tex and "\\begin{" not in tex:
        tex = "\\begin{split}" + tex + "\\end{split}"  # as Sphinx does for multi-line math
    own_numbering = re.search(r"\\begin\{(align|equation|gather|multline|eqnarray)\}", tex)
    if number and not own_numbering:
        tex += f" \\tag{{{number.strip('()')}}}"
    return f"$$\n{tex}\n$$"


def _quote(title: str, body: str) -> str:
    lines = [f"> **{title}**" if title else ">", ">"] + [f"> {ln}" if ln.strip() else ">" for ln in body.splitlines()]
    return "\n".join(lines)


def convert_markdown(text: str, refs: Refs, state: dict) -> str:
    """MyST markdown -> plain (Jupyter) markdown.  ``state`` carries the open solution across cells."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if TARGET.match(line) or COMMENT.match(line):
            i += 1
            continue
        m = FENCE_OPEN.match(line)
        if not m:
            out.append(line)
            i += 1
            continue
        d, i = _parse_directive(lines, i)
        name, body = d["name"], "\n".join(d["body"]).strip("\n")
        if name == "math":
            label = d["options"].get("label")
            number = refs.equation(label) if label else None
            if label and number is None:
                refs.problems.append(f"equation {label!r} has no number")
            out.append(_math_block(body, number))
        elif name == "exercise":
            label = d["options"].get("label")
            number = refs.exercise(label) if label else None
            title = d["arg"]
            head = f"Exercise {number}" if number else "Exercise"
            out.append(f"#### {head}" + (f" ({convert_roles(title, refs)})" if title else ""))
            out.append("")
            out.append(convert_markdown(body, refs, state))
        elif name in ("solution", "solution-start"):
            target = d["arg"]
            number = refs.exercise(target)
            out.append(f"#### Solution to Exercise {number}" if number else "#### Solution")
            if body.strip():
                out.append("")
                out.append(convert_markdown(body, refs, state))
        elif name == "solution-end":
            pass
        elif name in ADMONITIONS:
            title = d["arg"] if name in ("admonition", "topic", "sidebar") else \
                ("" if name == "margin" else name.capitalize())
            if name == "admonition" and not title:
                title = "Note"
            out.append(_quote(convert_roles(title, refs), convert_markdown(body, refs, state)))
        elif name == "rubric":
            # an unnumbered heading (e.g. a landing page's Summary)
            out.append(f"#### {convert_roles(d['arg'], refs)}")
        elif name == "container":
            # e.g. {container} seq-screen-only: a class for the book's pages, plain text here
            out.append(convert_markdown(body, refs, state))
        elif name in ("code-block", "code", "sourcecode"):
            out.append(f"```{d['arg']}\n{body}\n```")
        else:
            refs.problems.append(f"directive {{{name}}} is not converted")
            out.append(convert_markdown(body, refs, state))
    return convert_roles("\n".join(out), refs)


# ----------------------------------------------------------------------------- notebook


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _macro_line(macros: dict) -> str:
    defs = []
    for name, value in macros.items():
        if isinstance(value, (list, tuple)):
            body, nargs = value[0], value[1] if len(value) > 1 else 0
            defs.append(f"\\newcommand{{\\{name}}}[{nargs}]{{{body}}}" if nargs else f"\\newcommand{{\\{name}}}{{{body}}}")
        else:
            defs.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    return "$" + " ".join(defs) + "$" if defs else ""


GLUE_STANDIN = '''# In the book, glue(...) hands a value to the page's text.  Here it shows the
# value when asked to (display=True), as it does in a kernel, and nothing else.
def glue(name, variable, display=True):
    if display:
        from IPython.display import display as _show
        _show(variable)'''


def install_cell(version: str, wheel: str, wheel_url: str, pins: list[str]) -> dict:
    deps = ", ".join(p.split("==")[0] for p in pins)
    src = f'''# Installs seqlib {version}, the book's numpy package, with what it needs at
# the versions the book was built with: {deps}.
# The wheel is taken from this notebook's folder if you downloaded it there,
# else from the SEQLIB_WHEEL environment variable (a path or URL), else from
# the book's site.
import os, pathlib
_wheel = pathlib.Path("{wheel}")
SEQLIB_WHEEL = (str(_wheel.resolve()) if _wheel.is_file()
                else os.environ.get("SEQLIB_WHEEL", "{wheel_url}"))
%pip install --quiet "{{SEQLIB_WHEEL}}" {" ".join(pins)}

{GLUE_STANDIN}'''
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["install"]},
            "outputs": [], "source": src}


def intro_cell(title: str, version: str, wheel: str, wheel_url: str, macros: dict, book_url: str) -> dict:
    macro = _macro_line(macros)
    text = (f"{macro}\n\n" if macro else "") + (
        f"> This notebook is the chapter “{title}” of the book **Sequence Modeling**"
        + (f" (<{book_url}>)" if book_url else "") + ", with the outputs of the book's build.\n"
        f"> It runs on its own: the first code cell installs `seqlib` {version} from the wheel `{wheel}`,\n"
        "> taken from this notebook's folder if it is there, else from the path or URL in the environment\n"
        f"> variable `SEQLIB_WHEEL`, else from <{wheel_url}>.\n"
        "> Equation, figure and exercise numbers are the book's; collapsed cells hold the book's checks."
    )
    return _markdown_cell(text)


STRIP_CODE = re.compile(r"^\s*from myst_nb import glue\s*$\n?", re.M)


def convert(nb: dict, refs: Refs, *, title: str, version: str, wheel: str, wheel_url: str,
            pins: list[str], book_url: str = "") -> dict:
    """A copy of ``nb`` (nbformat 4 dict) that runs and reads on its own; see the module docstring."""
    nb = copy.deepcopy(nb)
    state: dict = {}
    cells = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "markdown":
            if "remove-cell" in tags:
                continue
            cell["source"] = convert_markdown(_source(cell), refs, state)
            if not cell["source"].strip():
                continue
        elif cell["cell_type"] == "code":
            src = STRIP_CODE.sub("", _source(cell))
            if not src.strip() and not cell.get("outputs"):
                continue  # held only the myst_nb import
            cell["source"] = src
            if "remove-cell" in tags or "remove-input" in tags or "hide-input" in tags:
                cell.setdefault("metadata", {}).setdefault("jupyter", {})["source_hidden"] = True
        cells.append(cell)
        fig = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}) if cell["cell_type"] == "code" else {}
        if fig.get("caption"):
            number = refs.figure_caption(fig["name"]) if fig.get("name") else None
            caption = convert_markdown(str(fig["caption"]).strip(), refs, state)
            cells.append(_markdown_cell(f"**{number}** {caption}" if number else caption))
    if refs.cited:
        entries = [refs.reference_entry(k) for k in refs.cited]
        cells.append(_markdown_cell("## References\n\n" + "\n".join(f"- {e}" for e in entries if e)))
    # nbformat 4.5 wants an id on every cell
    for n, cell in enumerate(cells):
        cell.setdefault("id", f"standalone-{n}")
    nb["cells"] = [intro_cell(title, version, wheel, wheel_url, refs.macros, book_url),
                   install_cell(version, wheel, wheel_url, pins)] + cells
    nb["cells"][0]["id"], nb["cells"][1]["id"] = "book-intro", "install-seqlib"
    nb.setdefault("metadata", {}).pop("jupytext", None)
    return nb
