"""Execute the book's notebooks in parallel before Sphinx reads them, into myst-nb's cache.

With ``execute_notebooks: cache`` myst-nb executes each notebook that has no
match in the jupyter-cache while Sphinx *reads* it, one after the other (a
Sphinx read is serial unless ``-j``, and myst-nb is not safe to run that way).
On a cold build that is the sum of every chapter's run time.  This extension
runs on ``env-before-read-docs`` (after myst-nb has set up its configuration):
for every document about to be read that is a notebook without a cache match,
it executes the notebook exactly as myst-nb would (the notebook read by
myst-nb's own reader, so the cache key is the same; ``single_nb_execution``
in the notebook's folder with the configured timeout) in a pool of worker
processes, and stores each successful result in the cache with its run time,
as myst-nb does.  myst-nb then finds every notebook in the cache.

A notebook that fails here is not cached: myst-nb executes it again during
the read and reports the failure as usual (so a failing build is only slower,
never silently different).  Workers: ``BOOK_EXEC_JOBS`` if set, else the
number of CPUs (at least 2).  Does nothing unless the execution mode is
``cache`` or when at most one notebook needs executing.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _execute(nb_json: str, cwd: str, timeout: int, allow_errors: bool) -> tuple[str, float, str | None]:
    """Worker: execute one notebook; return (executed notebook JSON, seconds, error text or None)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.reads(nb_json, as_version=4)
    result = single_nb_execution(nb, cwd=cwd, allow_errors=allow_errors, timeout=timeout, meta_override=True)
    err = None if result.err is None else f"{result.err.__class__.__name__}: {result.exc_string or ''}"[-3000:]
    return nbformat.writes(nb), result.time, err


def _jobs() -> int:
    env = os.environ.get("BOOK_EXEC_JOBS")
    if env:
        return max(1, int(env))
    return max(2, os.cpu_count() or 1)


def _pending(app: Sphinx, env, docnames: list[str]) -> list[tuple[str, Path, object, str]]:
    """(docname, path, notebook, read format) of every notebook to be read that has no cache match."""
    import fnmatch

    from jupyter_cache import get_cache
    from myst_nb.core.read import create_nb_reader

    nb_config = env.mystnb_config
    md_config = env.myst_config
    cache = get_cache(nb_config.execution_cache_path or ".jupyter_cache")
    out = []
    for docname in sorted(docnames):
        path = Path(env.doc2path(docname))
        if any(fnmatch.fnmatch(str(path), pat) for pat in nb_config.execution_excludepatterns or ()):
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except OSError:
            continue
        reader = create_nb_reader(str(path), md_config, nb_config, content)
        if reader is None:
            continue  # not a notebook
        notebook = reader.read(content)
        if "kernelspec" not in notebook.metadata:
            continue
        override = notebook.metadata.get(nb_config.metadata_key, {}) or {}
        if override.get("execution_mode", "cache") != "cache":
            continue
        try:
            cache.match_cache_notebook(notebook)
            continue  # already cached
        except KeyError:
            pass
        out.append((docname, path, notebook, reader.read_fmt))
    return out


def execute_in_parallel(app: Sphinx, env, docnames: list[str]) -> None:
    if app.builder.format != "html" or getattr(env, "mystnb_config", None) is None:
        return
    nb_config = env.mystnb_config
    if nb_config.execution_mode != "cache":
        return
    pending = _pending(app, env, docnames)
    if len(pending) < 2:
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(nb_config.execution_cache_path or ".jupyter_cache")
    jobs = min(_jobs(), len(pending))
    logger.info(f"parallel_execute: executing {len(pending)} notebooks in {jobs} processes")
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(_execute, nbformat.writes(nb), str(path.parent), nb_config.execution_timeout,
                        nb_config.execution_allow_errors): (docname, path)
            for docname, path, nb, _ in pending
        }
        for future in as_completed(futures):
            docname, path = futures[future]
            try:
                nb_json, seconds, err = future.result()
            except Exception as exc:  # a worker that died: myst-nb will execute it again
                logger.info(f"parallel_execute: {docname}: worker failed ({exc}); myst-nb will execute it")
                continue
            if err is not None:
                logger.info(f"parallel_execute: {docname} failed; myst-nb will execute it and report")
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nbformat.reads(nb_json, as_version=4), str(path),
                              data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True,
            )
            logger.info(f"parallel_execute: {docname} executed in {seconds:.1f} s, cached")
    logger.info(f"parallel_execute: {len(pending)} notebooks in {time.perf_counter() - start:.1f} s")


def setup(app: Sphinx) -> dict:
    app.connect("env-before-read-docs", execute_in_parallel)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
