"""Offer every notebook page as the executed ``.ipynb`` of this build.

The chapters are MyST Markdown notebooks.  sphinx-book-theme's download menu
offers the page's source (``.md``) and, only when a launch service (Binder,
JupyterHub, ...) is configured, the executed notebook.  The book has no launch
service, so this extension does that part itself: for each page that is a
notebook (its metadata has a ``kernelspec``) it copies the notebook myst-nb
wrote after executing it (``_build/jupyter_execute/<page>.ipynb``: every output
of the build, images and the widget state included) to
``_build/html/_sources/<page>.ipynb`` and sets the theme's ``ipynb_source``,
so the download menu (the arrow icon at the top of the page) gets an
``.ipynb`` entry next to ``.md`` and ``.pdf``.

myst-nb's private ``source_map`` metadata (line numbers in the .md) is dropped;
nothing else changes.  Tested by ``tests/browser/test_downloads.py``.
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


def add_notebook_download(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if app.builder.format != "html" or doctree is None:
        return
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return  # not a notebook page (e.g. the bibliography)
    src = _executed_notebook(app, pagename)
    if not src.is_file():
        logger.warning(f"no executed notebook for {pagename} at {src}: no .ipynb download", location=pagename)
        return
    nb = json.loads(src.read_text(encoding="utf-8"))
    nb.get("metadata", {}).pop("source_map", None)
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
