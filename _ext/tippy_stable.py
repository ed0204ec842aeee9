"""Stable file names for sphinx-tippy's per-page tip scripts.

sphinx-tippy 0.4.3 writes each page's tips to ``_static/tippy/<page>.<uuid4>.js``
with a new random uuid on every build: two builds of the same sources differ,
and an incremental build leaves the previous build's files behind in
``_static/tippy/``.  This names them ``<page>.tips.js`` (rewritten by every
build).  Listed after ``sphinx_tippy`` in ``extensions``.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict:
    import sphinx_tippy

    sphinx_tippy.uuid4 = lambda: "tips"
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
