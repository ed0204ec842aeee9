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

myst-nb's private ``source_map`` metadata (line numbers in the .md) is dropped.
One repair: with ``nb_merge_streams`` myst-nb merges a cell's stream outputs
for the page by appending to the *first* stream output in place, and the
notebook it saved keeps the later, already merged, stream outputs too, so the
file would print those lines twice.  They are dropped here (the same outputs
the page shows).  Tested by ``tests/browser/test_downloads.py`` and
``tests/built/test_reproducible.py``.
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
    dst = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    dst.parent.mkdir(parents=True, exist_ok=True)
    # nbformat's own layout (indent 1, sorted keys, trailing newline).
    dst.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    # sphinx-book-theme's add_header_buttons (priority 501) turns this into the
    # ".ipynb" entry of the download menu, linking to _sources/<page>.ipynb.
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", add_notebook_download, priority=499)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
