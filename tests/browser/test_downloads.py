"""Every chapter page offers its chapter as the executed notebook of the build.

For each page of ``_build/html`` built from a notebook (its source in
``_sources/`` has a ``kernelspec``; found from the build, not listed):

* the page's download menu has exactly one ``.ipynb`` entry
  (``_ext/notebook_download.py`` fills in sphinx-book-theme's menu), and it is
  served (200) from the book's own folder;
* it is a valid notebook (nbformat 4) holding, after its stand-alone install
  cell (``_ext/standalone_notebook.py``; tests/standalone runs it), the
  chapter's code cells (minus the ``myst_nb`` import), each executed in
  order, with no error output;
* it holds the outputs of this build: an ``image/png`` output for each figure
  of the page, and the same widget state the page embeds (so the widgets show
  in Jupyter without re-running).

One browser test opens a chapter in Chromium (network cut off), opens the
download menu and downloads the notebook through the menu entry.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import jupytext
import nbformat
import pytest

import bookcheck
from conftest import BOOK_HTML

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LINK_RE = re.compile(r'<a href="([^"]+\.ipynb)"[^>]*?class="[^"]*\bbtn-download-notebook-button\b', re.S)


def _source_of(html_dir: Path, rel: str) -> Path:
    return html_dir / "_sources" / (rel.removesuffix(".html") + ".md")


def _is_notebook_source(path: Path) -> bool:
    if not path.is_file():
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


def _notebook_pages() -> list[str]:
    if not (BOOK_HTML / "index.html").is_file():
        return ["<no build: run `make book`>"]
    return [rel for rel in bookcheck.book_pages(BOOK_HTML) if _is_notebook_source(_source_of(BOOK_HTML, rel))]


def test_chapters_are_notebook_pages(book_html):
    pages = _notebook_pages()
    assert any(p.startswith("chapters/") for p in pages), f"no chapter built from a notebook in {book_html}: {pages}"


@pytest.mark.parametrize("rel", _notebook_pages())
def test_page_offers_executed_notebook(rel, book_html, book_origin, audit_log):
    html = (book_html / rel).read_text(encoding="utf-8")
    links = LINK_RE.findall(html)
    assert len(links) == 1, f"{rel}: expected one .ipynb entry in the download menu, found {links}"
    url = urljoin(f"{book_origin}/{rel}", links[0])
    assert url.startswith(book_origin + "/"), url
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - the local test server
        assert r.status == 200, f"{url}: {r.status}"
        body = r.read()
    nb = nbformat.reads(body.decode("utf-8"), as_version=4)
    nbformat.validate(nb)
    assert "source_map" not in nb.metadata, "myst-nb's private source_map should be dropped"

    # The chapter's code cells, in order, each executed, none failed; first the
    # stand-alone notebook's install cell (not executed by the build).
    source = jupytext.read(_source_of(book_html, rel))
    strip = re.compile(r"^\s*from myst_nb import glue\s*$\n?", re.M)
    want = [strip.sub("", c.source).strip() for c in source.cells if c.cell_type == "code"]
    want = [w for w in want if w]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and "%pip install" in code[0].source, f"{rel}: no install cell first"
    code = code[1:]
    assert [c.source.strip() for c in code] == want, f"{rel}: the notebook's code cells differ from the chapter's"
    counts = [c.execution_count for c in code]
    assert all(counts), f"{rel}: unexecuted code cells at {[i for i, n in enumerate(counts) if not n]}"
    assert counts == sorted(counts), f"{rel}: cells not executed in order: {counts}"
    errors = [o for c in code for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert not errors, f"{rel}: error outputs {errors}"

    # The build's outputs: figures and widget state.
    n_outputs = sum(len(c.outputs) for c in code)
    if code:
        assert n_outputs > 0, f"{rel}: {len(code)} code cells but no output"
    pngs = sum(1 for c in code for o in c.outputs if "image/png" in o.get("data", {}))
    page_images = len(set(re.findall(r'src="[^"]*_images/([^"]+\.png)"', html)))
    assert pngs >= page_images, f"{rel}: {page_images} figures on the page, {pngs} PNG outputs in the notebook"
    page_state = bookcheck.widget_state(book_html / rel)
    nb_state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    assert set(nb_state) == set(page_state), f"{rel}: widget models in the page and the notebook differ"
    if page_state:
        views = sum(1 for c in code for o in c.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
        assert views > 0, f"{rel}: widget state but no widget view output"

    audit_log(
        f"{rel}: {links[0].rsplit('/', 1)[-1]} {len(body) / 1e6:.2f} MB, {len(code)} code cells executed, "
        f"{n_outputs} outputs, {pngs} PNG, {len(nb_state)} widget models"
    )


def test_download_menu_downloads_notebook(book_html, book_origin, browser, tmp_path):
    """In Chromium: the download menu of a chapter with a widget offers the .ipynb, and it downloads."""
    pages = [p for p in _notebook_pages() if bookcheck.widget_state(book_html / p)]
    if not pages:
        pytest.skip("no notebook page with a widget in the build")
    rel = pages[0]
    with bookcheck.open_page(browser, book_origin, rel, settle=False) as (page, audit):
        page.locator(".dropdown-download-buttons button.dropdown-toggle").click()
        item = page.locator(".dropdown-download-buttons a.btn-download-notebook-button")
        item.wait_for(state="visible")
        assert item.inner_text().strip() == ".ipynb"
        with page.context.expect_event("page") as new_tab, page.expect_download() as dl_info:
            item.click()
        dl = dl_info.value
        target = tmp_path / dl.suggested_filename
        dl.save_as(target)
        new_tab.value.close()
        assert not audit.blocked, audit.blocked
        assert not audit.page_errors, audit.page_errors
    nb = nbformat.read(target, as_version=4)
    assert nb.metadata["widgets"][WIDGET_STATE]["state"], "the downloaded notebook has no widget state"
    assert json.loads(target.read_text(encoding="utf-8"))["nbformat"] == 4
