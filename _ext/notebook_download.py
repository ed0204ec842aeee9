"""Offer every notebook page as the executed ``.ipynb`` of this build.

The chapters are MyST Markdown notebooks.  sphinx-book-theme's download menu
offers the page's source (``.md``) and, only when a launch service (Binder,
JupyterHub, ...) is configured, the executed notebook.  The book has no launch
service, so this extension does that part itself: for each page that is a
notebook (its metadata has a ``kernelspec``) it copies the notebook myst-nb
wrote after executing it (``_build/jupyter_execute/<page>.ipynb``: every output
of the build, images and the widget state included; outputs taken from the
execution cache are merged back in, see ``_with_cached_outputs``) to
``_build/html/_sources/<page>.ipynb`` and sets the theme's ``ipynb_source``,
so the download menu (the arrow icon at the top of the page) gets an
``.ipynb`` entry next to ``.md`` and ``.pdf``.

The file is made to run on its own in plain Jupyter (``standalone_notebook``):
its first cell installs seqlib from the wheel this extension builds once per
seqlib version into ``_build/html/wheels/`` (``pip wheel . --no-deps``,
rebuilt when a file under ``seqlib/`` or ``pyproject.toml`` changes), macros
are defined in the notebook, MyST roles and directives become plain Markdown,
resolved against this build (equation, figure and exercise numbers, titles,
glued values, citations).  Anything it cannot resolve is a build warning.

myst-nb's private ``source_map`` metadata (line numbers in the .md) is dropped.
One repair: with ``nb_merge_streams`` myst-nb merges a cell's stream outputs
for the page by appending to the *first* stream output in place, and the
notebook it saved keeps the later, already merged, stream outputs too, so the
file would print those lines twice.  They are dropped here (the same outputs
the page shows).  Tested by ``tests/browser/test_downloads.py`` and by the
chapter tests run with ``--compare-build`` (``conftest.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

# myst-nb writes executed notebooks to <outdir>/../jupyter_execute (myst_nb.sphinx_ext.OUTPUT_FOLDER).
_MYST_NB_OUTPUT = "jupyter_execute"


def _executed_notebook(app: Sphinx, pagename: str) -> Path:
    config = getattr(app.env, "mystnb_config", None)
    folder = Path(config.output_folder) if config is not None else Path(app.outdir).parent / _MYST_NB_OUTPUT
    return folder / f"{pagename}.ipynb"


def _drop_merged_streams(outputs: list[dict]) -> list[dict]:
    """Undo the duplication left by myst-nb's in-place stream merge (see above).

    A later stream output is dropped only when the first output of that stream
    already ends with its text, i.e. when it was merged into it; otherwise the
    outputs are returned unchanged.
    """
    first: dict[str, dict] = {}
    later: dict[str, list[dict]] = {}
    for o in outputs:
        if o.get("output_type") == "stream":
            name = o.get("name")
            if name in first:
                later[name].append(o)
            else:
                first[name], later[name] = o, []
    drop = set()
    for name, rest in later.items():
        if not rest:
            continue
        text = lambda o: "".join(o["text"]) if isinstance(o["text"], list) else o["text"]  # noqa: E731
        tail = "".join(text(o).rstrip() + "\n" for o in rest if text(o).rstrip())
        if text(first[name]).endswith(tail):
            drop.update(id(o) for o in rest)
    return [o for o in outputs if id(o) not in drop]


def _with_cached_outputs(app: Sphinx, src: Path) -> dict:
    """The executed notebook as a dict, with its outputs.

    When myst-nb takes a page's outputs from the execution cache rather than
    executing it, the notebook it saves to ``jupyter_execute`` is the
    *unexecuted* one (myst-nb 1.4 writes its input notebook, not the merged
    copy).  In that case the outputs are merged in from the same cache here.
    """
    import nbformat

    nb = nbformat.reads(src.read_text(encoding="utf-8"), as_version=4)
    config = getattr(app.env, "mystnb_config", None)
    has_outputs = any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    if not has_outputs and config is not None and config.execution_mode == "cache":
        from jupyter_cache import get_cache

        cache = get_cache(config.execution_cache_path)
        try:
            _, nb = cache.merge_match_into_notebook(nb)
        except KeyError:
            logger.warning(f"{src.name}: no cached outputs match; the .ipynb download has none", location=None)
    return json.loads(nbformat.writes(nb))


# ----------------------------------------------------------------------------- seqlib wheel

WHEEL_DIR = "wheels"


def _project(app: Sphinx) -> dict:
    import tomllib

    return tomllib.loads((Path(app.confdir) / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _wheel_name(app: Sphinx) -> str:
    project = _project(app)
    return f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"


def _pins(app: Sphinx) -> list[str]:
    """seqlib's run-time dependencies at the versions the book was built with (requirements.txt)."""
    import re

    names = [re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0] for d in _project(app)["dependencies"]]
    text = (Path(app.confdir) / "requirements.txt").read_text(encoding="utf-8")
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.M))
    return [f"{n}=={pinned[n]}" if n in pinned else n for n in names]



def _committed_results(root: Path) -> dict[str, str]:
    """seqlib.book.committed's RESULTS paths, read from the source (the book's seqlib): repository
    path -> the path below seqlib/_results/ where the wheel keeps its copy."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_seqlib_committed", root / "seqlib" / "book" / "committed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return {rel: mod.packaged_path(rel) for rel in mod.RESULTS.values()}

def build_wheel(app: Sphinx, exception) -> None:
    """Build seqlib's wheel into <html>/wheels/ once per content of seqlib/, pyproject.toml and the
    committed results (``sweeps/results/``, ``bench/results*.json``), which go into the wheel as
    ``seqlib/_results/`` so that a downloaded notebook reads them with no repository."""
    if exception is not None or app.builder.format != "html" or app.builder.name != "html":
        return
    import hashlib
    import shutil
    import subprocess
    import sys

    root = Path(app.confdir)
    if not (root / "pyproject.toml").is_file() or not (root / "seqlib").is_dir():
        return  # a book without seqlib (the probe books of tests/browser): no wheel
    files = sorted(p for p in (root / "seqlib").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    # the committed results the chapters read (seqlib.book.committed.RESULTS), shipped in the wheel
    results = _committed_results(root)
    files += sorted(root / rel for rel in results)
    digest = hashlib.sha256()
    for p in [root / "pyproject.toml", *files]:
        digest.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    key = digest.hexdigest()[:16]
    cache = Path(app.outdir).parent / ".wheel-cache" / key
    name = _wheel_name(app)
    if not (cache / name).is_file():
        shutil.rmtree(cache.parent, ignore_errors=True)
        cache.mkdir(parents=True)
        with __import__("tempfile").TemporaryDirectory(prefix="seqlib-wheel-") as tmp:
            # a copy, so that pip's build/ and *.egg-info never land in the source tree
            src = Path(tmp) / "src"
            src.mkdir()
            for item in ("pyproject.toml", "README.md"):
                if (root / item).is_file():
                    shutil.copy2(root / item, src / item)
            shutil.copytree(root / "seqlib", src / "seqlib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            for rel, packaged in results.items():
                dest_file = src / "seqlib" / "_results" / packaged
                dest_file.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / rel, dest_file)
            proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(cache), str(src)],
                                  capture_output=True, text=True)
        if proc.returncode != 0 or not (cache / name).is_file():
            logger.warning(f"could not build the seqlib wheel {name}: {proc.stderr.strip()[-2000:]}", location=None)
            return
    dest = Path(app.outdir) / WHEEL_DIR
    dest.mkdir(exist_ok=True)
    shutil.copy2(cache / name, dest / name)
    logger.info(f"seqlib wheel: {WHEEL_DIR}/{name}")


# ----------------------------------------------------------------------------- references


def _bib_entries(app: Sphinx) -> dict:
    from pybtex.database import parse_file

    entries = {}
    for bib in getattr(app.config, "bibtex_bibfiles", []) or []:
        entries.update(parse_file(str(Path(app.confdir) / bib)).entries)
    return entries


def _plain_tex(text: str) -> str:
    import re

    text = re.sub(r"\\[a-zA-Z]+\s*", "", text)
    return text.replace("{", "").replace("}", "").replace("~", " ").replace("--", "–")


def _make_refs(app: Sphinx, pagename: str, glue: dict):
    from docutils.nodes import make_id

    import standalone_notebook as sn

    env = app.env
    config = app.config
    std = env.get_domain("std")
    math = env.get_domain("math")
    formats = {"section": "Section %s", "figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s"}
    formats.update(config.numfig_format or {})

    def fignumber(docname: str, labelid: str):
        for figtype, numbers in env.toc_fignumbers.get(docname, {}).items():
            if labelid in numbers:
                return figtype, ".".join(map(str, numbers[labelid]))
        return None

    def equation(label: str):
        found = math.equations.get(label)
        if not found:
            return None
        docname, _ = found
        numbers = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(make_id(f"equation-{label}"))
        if not numbers:
            return None
        return (config.math_eqref_format or "({number})").format(number=".".join(map(str, numbers)))

    def numref(label: str, explicit):
        if label in std.labels:
            docname, labelid, _ = std.labels[label]
            got = fignumber(docname, labelid)
            if got is None:
                sec = env.toc_secnumbers.get(docname, {}).get("#" + labelid)
                if sec:
                    got = ("section", ".".join(map(str, sec)))
        else:
            got = None
            for docname in env.toc_fignumbers:
                got = fignumber(docname, label) or fignumber(docname, make_id(label))
                if got:
                    break
        if got is None:
            return None
        figtype, number = got
        if explicit:
            return explicit.replace("%s", number).replace("{number}", number)
        return formats.get(figtype, figtype.capitalize() + " %s") % number

    def ref(label: str):
        if label in std.labels:
            return std.labels[label][2] or None
        return None

    def doc(target: str):
        import posixpath

        name = target[1:] if target.startswith("/") else posixpath.normpath(
            posixpath.join(posixpath.dirname(pagename), target))
        title = env.titles.get(name)
        return title.astext() if title is not None else None

    def exercise(label: str):
        for docname in env.toc_fignumbers:
            got = fignumber(docname, label) or fignumber(docname, make_id(label))
            if got and got[0] == "exercise":
                return got[1]
        return None

    bib = _bib_entries(app)

    def names(entry) -> list[str]:
        return [_plain_tex(" ".join(p.last_names)) for p in entry.persons.get("author", entry.persons.get("editor", []))]

    def cite(key: str):
        entry = bib.get(key)
        if entry is None:
            return None
        last = names(entry)
        who = last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2 else f"{last[0]} et al."
        return who, entry.fields.get("year", "n.d.")

    def reference_entry(key: str):
        entry = bib.get(key)
        if entry is None:
            return None
        people = [_plain_tex(" ".join(p.first_names + p.middle_names + p.prelast_names + p.last_names))
                  for p in entry.persons.get("author", [])]
        authors = ", ".join(people[:-1]) + " and " + people[-1] if len(people) > 1 else "".join(people)
        f = entry.fields
        venue = f.get("journal") or f.get("booktitle") or f.get("publisher") or f.get("school") or ""
        parts = [f"{authors} ({f.get('year', 'n.d.')}).", f"{_plain_tex(f.get('title', ''))}."]
        if venue:
            parts.append(f"*{_plain_tex(venue)}*.")
        return " ".join(parts)

    def figure_caption(name: str):
        return numref(name, None)

    macros = (config.mathjax3_config or {}).get("tex", {}).get("macros", {})
    return sn.Refs(docname=pagename, glue=glue, equation=equation, numref=numref, ref=ref, doc=doc,
                   exercise=exercise, cite=cite, reference_entry=reference_entry,
                   figure_caption=figure_caption, macros=dict(macros))


def _standalone(app: Sphinx, pagename: str, nb: dict, src: Path) -> dict:
    import standalone_notebook as sn

    if not (Path(app.confdir) / "pyproject.toml").is_file():
        return nb  # a book without seqlib (the probe books of tests/browser): the executed notebook as is

    glue_file = src.with_name(src.stem + ".glue.json")
    glue = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.is_file() else {}
    refs = _make_refs(app, pagename, glue)
    project = _project(app)
    wheel = _wheel_name(app)
    base = (app.config.html_baseurl or "").rstrip("/")
    wheel_url = f"{base}/{WHEEL_DIR}/{wheel}" if base else f"{WHEEL_DIR}/{wheel}"
    title = app.env.titles[pagename].astext() if pagename in app.env.titles else pagename
    out = sn.convert(nb, refs, title=title, version=project["version"], wheel=wheel, wheel_url=wheel_url,
                     pins=_pins(app), book_url=base)
    for problem in dict.fromkeys(refs.problems):
        logger.warning(f"standalone .ipynb: {problem}", location=pagename)
    return out


def add_notebook_download(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if app.builder.format != "html" or doctree is None:
        return
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return  # not a notebook page (e.g. the bibliography)
    src = _executed_notebook(app, pagename)
    if not src.is_file():
        logger.warning(f"no executed notebook for {pagename} at {src}: no .ipynb download", location=pagename)
        return
    nb = _with_cached_outputs(app, src)
    nb.get("metadata", {}).pop("source_map", None)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = _drop_merged_streams(cell.get("outputs", []))
    # The executed notebook as the build ran it (outputs merged from the cache),
    # before the stand-alone conversion: _build/executed/<page>.ipynb, the
    # reference of the chapter tests run with --compare-build (conftest.py).
    executed = Path(app.outdir).parent / "executed" / f"{pagename}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    executed.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    nb = _standalone(app, pagename, nb, src)
    dst = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    dst.parent.mkdir(parents=True, exist_ok=True)
    # nbformat's own layout (indent 1, sorted keys, trailing newline).
    dst.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    # sphinx-book-theme's add_header_buttons (priority 501) turns this into the
    # ".ipynb" entry of the download menu, linking to _sources/<page>.ipynb.
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", add_notebook_download, priority=499)
    app.connect("build-finished", build_wheel)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
