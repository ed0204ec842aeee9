"""Fetch the book's offline third-party assets as part of the Sphinx build.

``jupyter-book build .`` (with or without ``-W``) must produce the complete
offline book without ``make``: MathJax, RequireJS and the Jupyter widget
manager are served from ``_vendor/`` (in ``html_extra_path``), which is
gitignored and filled at build time.  This extension runs what
``tools/vendor.py`` does (``ensure``: fetch each package of
``vendor.lock.json`` at its pinned version with npm, check its sha512, extract
the listed files into ``_vendor/vendor/``; a no-op when ``_vendor/.stamp``
matches the lock) on ``config-inited`` at priority 100, i.e. before Sphinx's
own ``validate_html_extra_path`` (priority 800) checks that ``_vendor``
exists.  When the assets cannot be fetched, the build stops with an
``ExtensionError`` that says why and what to do.

A book built from a copy without ``vendor.lock.json`` (the probe books of
``tests/browser``, which copy ``_vendor/`` itself) uses the ``_vendor/`` it
has; with neither, the build stops.

When assets were (re)fetched, the root document is reported as outdated, so
that even an incremental build with no changed page writes its pages and
copies ``html_extra_path`` (Sphinx copies extra files only when it writes).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

_FETCHED = "_vendor_assets_fetched"


def _load_vendor_module(confdir: Path):
    path = confdir / "tools" / "vendor.py"
    spec = importlib.util.spec_from_file_location("_book_vendor", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ExtensionError(f"vendor_assets: {path} is missing; it fetches the book's offline assets")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fetch_assets(app: Sphinx, config: Config) -> None:
    confdir = Path(app.confdir)
    setattr(app, _FETCHED, False)
    if not (confdir / "vendor.lock.json").is_file():
        if (confdir / "_vendor" / ".stamp").is_file():
            logger.info("vendor_assets: no vendor.lock.json here; using the _vendor/ that is present")
            return
        raise ExtensionError(
            f"vendor_assets: neither vendor.lock.json nor a filled _vendor/ in {confdir}: "
            "the book's offline assets (MathJax, RequireJS, the widget manager) cannot be provided"
        )
    vendor = _load_vendor_module(confdir)
    try:
        fetched = vendor.ensure(confdir, log=logger.info)
    except vendor.VendorError as exc:
        raise ExtensionError(
            "vendor_assets: could not provide the book's offline assets (MathJax, RequireJS, the "
            f"Jupyter widget manager) in _vendor/:\n{exc}\n"
            "The build needs the npm registry once (the files are then kept in _vendor/ and "
            "checked against vendor.lock.json); `python tools/vendor.py` retries the fetch alone."
        ) from exc
    if fetched:
        logger.info("vendor_assets: offline assets fetched and sha512-verified into _vendor/")
    else:
        logger.info("vendor_assets: _vendor/ is up to date with vendor.lock.json")
    setattr(app, _FETCHED, fetched)


def outdated_after_fetch(app: Sphinx, env, added, changed, removed) -> list[str]:
    if getattr(app, _FETCHED, False) and app.config.root_doc in env.found_docs:
        return [app.config.root_doc]
    return []


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", fetch_assets, priority=100)
    app.connect("env-get-outdated", outdated_after_fetch)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
