"""Let the ``singlehtml`` builder (the source of the whole-book PDF) render every node the ``html`` builder does.

Sphinx keeps an extension's node visitors per *builder name*
(``app.add_node(Node, html=(visit, depart))`` registers them for the builder
called ``html`` only; ``SphinxComponentRegistry.create_translator`` looks them
up by ``builder.name``).  myst-nb registers its ``HideCodeCellNode`` (the
``hide-input`` / ``hide-output`` cells) that way, so ``jupyter-book build
--builder singlehtml`` stops with "unknown node type: HideCodeCellNode".
On ``builder-inited`` of a ``singlehtml`` build this copies every ``html``
visitor that has no ``singlehtml`` counterpart; both builders write HTML with
the same translator class, so the visitors apply unchanged.

Second, myst-nb adds a notebook's ipywidgets state (a
``<script type="application/vnd.jupyter.widget-state+json">``) and the widget
manager's scripts only to *that notebook's* page, and the single page is the
root document, which has none.  On ``html-page-context`` of the single page
this adds every document's state script (the widget manager renders each
state tag it finds) and the manager's scripts once, in document order, so
the widgets show their current frame in the single page and in the PDF.

A no-op for every other builder.  ``make pdf`` (``tools/pdf.py``) relies on it.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def copy_html_visitors(app: Sphinx) -> None:
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node_name, visitors in handlers.get("html", {}).items():
        single.setdefault(node_name, visitors)


def add_all_widget_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if app.builder.name != "singlehtml" or pagename != app.config.root_doc:
        return
    from myst_nb.sphinx_ import NbMetadataCollector

    data = NbMetadataCollector.get_doc_data(app.env)
    seen: set[str] = set()
    for docname in _toctree_order(app.env):
        if docname == pagename or docname not in data:
            continue
        for path, kwargs in NbMetadataCollector.get_js_files(app.env, docname).values():
            if path is not None:
                if path in seen:
                    continue
                seen.add(path)
            app.add_js_file(path, **kwargs)


def _toctree_order(env) -> list[str]:
    """Every document in the order the single page assembles them."""
    order: list[str] = []

    def walk(doc: str) -> None:
        for child in env.toctree_includes.get(doc, []):
            if child not in order:
                order.append(child)
                walk(child)

    walk(env.config.root_doc)
    return order


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", copy_html_visitors)
    app.connect("html-page-context", add_all_widget_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
