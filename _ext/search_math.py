"""MathJax on the search page, so search results show formulas typeset.

Sphinx's search shows, under each result, a snippet of the page's text,
taken from the built HTML, where a formula is still its TeX source
(``\\(\\bsf{h}_k\\)``).  book.js typesets those formulas in the results; this
extension makes Sphinx load MathJax (with the book's ``mathjax3_config``) on
``search.html``, which has no equations of its own, by recording it as a
page that has some, just before ``sphinx.ext.mathjax`` decides.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _mark_search_page(app: Sphinx, pagename: str, templatename: str,
                      context: dict[str, Any], doctree: Any) -> None:
    if pagename == "search":
        app.env.get_domain("math").data["has_equations"]["search"] = True


def setup(app: Sphinx) -> dict:
    # sphinx.ext.mathjax's handler runs at the default priority 500
    app.connect("html-page-context", _mark_search_page, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
