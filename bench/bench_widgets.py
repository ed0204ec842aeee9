"""The widgets in the static book: page weight, and how long a control change takes to repaint.

    python bench/bench_widgets.py                  # print the tables
    python bench/bench_widgets.py --save            # and write bench/results-widgets.json

Needs the built book (``make book``) and Chromium (``make browser``).

Page weight: for each chapter page that holds a widget (``_build/html``, so
``make book`` first), the HTML plus the page's own images, without the
vendored scripts every widget page shares (``vendor/``: the widget
manager, RequireJS, anywidget; counted apart, uncompressed) and the theme's
files and MathJax, which every page loads.

Repaint, in headless Chromium (1280 x 800, no GPU, no kernel): each widget
on its chapter page of the built book, and, on a one-page book built here,
the gradient-flow and gated-flow widgets at T = 100 with H = 16 (the
book's) and with H = 32 (same page, T and settings; H = 32 timed second).  Each
widget jumps to ``--changes`` random settings through ``el.seqbook.set``
(every control at once, as a program moves them: no input events; values
over the controls' ranges, some between a slider's stops, the decoding
widget's beam width kept to its slider's), after the page's idle warm-up;
for each jump the script reads the page's compute time and draw time
(``el.seqbook.repaint``), the time until the new picture is laid out
(compute, draw, and the browser's style and layout, forced at once), and
the time until the frame that shows it has been painted (after any MathJax
typesetting of labels the jump redrew; then a task queued from the next
animation-frame callback: the main thread's paint, and the wait for the
next frame).  It prints the median and the largest; nothing is asserted
(timings never go into tests).

The run records the sha256 of each widget's script as saved in the chapter
pages it timed, with their H; ``--save`` refuses a build whose scripts are
not seqlib's current ones (run ``make book`` first).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import bookcheck  # noqa: E402

WIDGET_PAGES = bookcheck.WIDGET_PAGES
#: The benchmark's own page: the flow widgets at T = 100 with the book's H and with twice it (same page,
#: same T and settings; H = 32 timed after H = 16).
RUNS = {"H16": {"T": 100, "H": 16}, "H32": {"T": 100, "H": 32}}
FLOW = ("gradient_flow", "gated_flow")
FACTORY_NAMES = {"gradient_flow": "gradient_flow_widget", "gated_flow": "gated_flow_widget"}
#: per change: the page's compute, its draw, the whole update until the new picture is laid out
#: (compute + draw + the browser's style and layout), and the time until it has been painted
KEYS = ("compute", "draw", "update", "frame")


REPAINT_JS = """async ([sel, index, settings]) => {
  const el = document.querySelectorAll(sel)[index];
  const out = [];
  for (const s of settings) {
    const t0 = performance.now();
    const done = el.seqbook.set(s);   // computes and draws synchronously
    void el.offsetHeight;             // forces the style and layout of the new picture now
    const t1 = performance.now();
    await done;
    // the next frame's rendering runs after its animation-frame callbacks: a task queued from
    // one runs once that frame has been painted
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    out.push({compute: el.seqbook.repaint.computeMs, draw: el.seqbook.repaint.drawMs, update: t1 - t0,
              frame: performance.now() - t0});
  }
  return out;
}"""


def _summary(rows: list[dict[str, float]], H: int | None, T: int | None) -> dict[str, float]:
    """Median and largest of each time; H (the flow widgets' hidden size) and T (None: random) of the run."""
    return {"changes": len(rows), **{f"{k}_median_ms": statistics.median(r[k] for r in rows) for k in KEYS},
            **{f"{k}_max_ms": max(r[k] for r in rows) for k in KEYS}, "H": H, "T": T}


def page_widgets(html_dir: Path, rel: str) -> list[dict]:
    """The seqlib widgets saved in a page's widget state: kind, sha256 of its script, H (flow widgets)."""
    import hashlib

    text = (html_dir / rel).read_text(encoding="utf-8")
    m = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', text, re.S)
    out = []
    for model in (json.loads(m.group(1))["state"].values() if m else []):
        st = model.get("state", {})
        if model.get("model_module") == "anywidget" and st.get("kind"):
            out.append({"kind": st["kind"], "esm_sha256": hashlib.sha256(st["_esm"].encode()).hexdigest(),
                        "H": st.get("base", {}).get("H")})
    return out


def esm_hashes() -> dict[str, str]:
    """sha256 of each widget's script as seqlib makes it now."""
    import hashlib

    from seqlib.widgets import _factories, headless

    out = {}
    for kind, factory in _factories().items():
        with headless():
            out[kind] = hashlib.sha256(type(factory()).esm().encode()).hexdigest()
    return out


def _on_the_page(kind: str, s: dict) -> dict:
    """A random setting kept to what the page's controls offer (the decoding widget's widths stop at 8)."""
    if kind == "decoding":
        from seqlib.widgets.decoding import BEAM_WIDTHS

        s = {**s, "beam_width": min(s["beam_width"], max(BEAM_WIDTHS))}
    return s


def state_bytes(html_dir: Path, rel: str) -> int:
    """Bytes of the page's saved widget state (the <script type=...widget-state+json> element)."""
    text = (html_dir / rel).read_text(encoding="utf-8")
    m = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', text, re.S)
    return len(m.group(1).encode()) if m else 0


def vendored_bytes(html_dir: Path) -> dict[str, int]:
    """Bytes of the vendored scripts a widget page loads (shared by every widget page, cached by the browser)."""
    files = {"widget manager": "vendor/html-manager/embed-amd.js", "RequireJS": "vendor/requirejs/require.js",
             "anywidget": "vendor/anywidget/index.js"}
    return {name: (html_dir / rel).stat().st_size for name, rel in files.items()}


def _measure(page, kind: str, index: int, changes: int, seed: int, factory_args: dict) -> list[dict[str, float]]:
    """Time ``changes`` random settings of the ``index``-th widget of ``kind`` on the page."""
    from seqlib.widgets import WIDGETS, _factories, headless

    with headless():
        w = _factories()[kind](**factory_args)
    settings = [_on_the_page(kind, s) for s in w.random_settings(np.random.default_rng(seed), changes)]
    if "T" in factory_args:
        settings = [{**s, "T": factory_args["T"]} for s in settings]
    sel = f"div.{WIDGETS[kind]}"
    page.locator(sel).nth(index).scroll_into_view_if_needed()
    page.wait_for_timeout(2500)  # the page's idle warm-up (at most 1.5 s after load)
    return page.evaluate(REPAINT_JS, [sel, index, settings])


def repaint_times(changes: int, seed: int, book: Path) -> tuple[dict, dict]:
    """Times on the built book's chapter pages ("book") and on the benchmark's own page ("H16", "H32").

    Also returns each chapter page's saved widgets (:func:`page_widgets`).
    """
    import jupytext
    import nbformat.v4 as nbf
    from playwright.sync_api import sync_playwright

    cells = [nbf.new_markdown_cell("# Widget benchmark")]
    for args in RUNS.values():
        for kind in FLOW:
            name = FACTORY_NAMES[kind]
            code = f"from seqlib.widgets import {name}\n\n{name}(T={args['T']}, H={args['H']})"
            cells.append(nbf.new_code_cell(code, metadata={"tags": ["hide-input"]}))
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    text = jupytext.writes(nbf.new_notebook(cells=cells, metadata={"kernelspec": kernel}), fmt="md:myst")
    import pytest  # build_probe_book reports a failed build through pytest.fail

    results: dict = {"book": {}, **{k: {} for k in RUNS}}
    saved = {kind: page_widgets(book, rel) for kind, rel in WIDGET_PAGES.items()}
    viewport = {"width": 1280, "height": 800}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            html = bookcheck.build_probe_book(Path(tmp), {"bench.md": text}, root="bench")
        except pytest.fail.Exception as exc:  # type: ignore[attr-defined]
            raise SystemExit(str(exc))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=bookcheck.find_chromium(), headless=True,
                                        args=bookcheck.LAUNCH_ARGS)
            results["browser"] = browser.version
            with bookcheck.serve(book) as origin:
                for kind, rel in WIDGET_PAGES.items():
                    mine = [w for w in saved[kind] if w["kind"] == kind]
                    with bookcheck.open_page(browser, origin, rel, viewport=viewport) as (page, _):
                        rows = _measure(page, kind, 0, changes, seed, {})
                    results["book"][kind] = _summary(rows, mine[0]["H"] if kind in FLOW else None, None)
            with bookcheck.serve(html) as origin:
                with bookcheck.open_page(browser, origin, "bench.html", viewport=viewport) as (page, _):
                    for index, (run, args) in enumerate(RUNS.items()):
                        for kind in FLOW:
                            rows = _measure(page, kind, index, changes, seed, args)
                            results[run][kind] = _summary(rows, args["H"], args["T"])
            browser.close()
    return results, saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=20, help="random settings per widget")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", action="store_true", help="write bench/results-widgets.json")
    ap.add_argument("--html", type=Path, default=REPO / "_build" / "html",
                    help="the built book to measure (default _build/html)")
    args = ap.parse_args()
    html_dir = args.html
    if not (html_dir / "index.html").is_file():
        raise SystemExit("no built book: run `make book` first")
    weights = {kind: {**bookcheck.page_weight(html_dir, rel), "widget_state": state_bytes(html_dir, rel)}
               for kind, rel in WIDGET_PAGES.items()}
    vendored = vendored_bytes(html_dir)
    print("page weight (HTML + its images; the shared vendored scripts apart)")
    for kind, rel in WIDGET_PAGES.items():
        w = weights[kind]
        print(f"  {rel:32s} {kind:14s} HTML {w['html'] / 1e6:5.2f} MB (widget state {w['widget_state'] / 1e6:4.2f})"
              f" + images {w['images'] / 1e6:5.2f} MB = {w['total'] / 1e6:5.2f} MB")
    print("  shared by every widget page: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in vendored.items()))
    t0 = time.perf_counter()
    now = esm_hashes()
    times, saved = repaint_times(args.changes, args.seed, html_dir)
    browser = times.pop("browser")
    for key, title in (("book", "each widget on its chapter page"),
                       ("H16", "the flow widgets on the benchmark's page at T = 100, H = 16"),
                       ("H32", "the same page at T = 100, H = 32")):
        print(f"\nrepaint after a control change, static page, {args.changes} random settings each: "
              f"{title}; ms, median / largest")
        print(f"  {'widget':14s} {'compute':>15s} {'draw':>15s} {'laid out':>15s} {'painted':>15s}")
        for kind, r in times[key].items():
            print(f"  {kind:14s} " + " ".join(f"{r[k + '_median_ms']:6.1f} / {r[k + '_max_ms']:6.1f}" for k in KEYS))
    timed = {k: next(w["esm_sha256"] for w in ws if w["kind"] == k) for k, ws in saved.items()}
    stale = sorted(k for k in timed if timed[k] != now[k])
    print(f"(benchmark {time.perf_counter() - t0:.0f} s; Chromium {browser})")
    if stale:
        print(f"the built pages' scripts of {stale} differ from seqlib's now: run `make book` first")
    if args.save:
        if stale:
            raise SystemExit("not saved: the book was built before the widgets' current scripts (make book)")
        out = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                           "processor": platform.processor() or platform.machine(),
                           "cpus_available": len(os.sched_getaffinity(0)),
                           "load_average_1min": os.getloadavg()[0], "chromium": browser},
               "page_weight": {k: {**v, "page": WIDGET_PAGES[k]} for k, v in weights.items()},
               "vendored": vendored, "repaint": times, "changes": args.changes, "esm_sha256": timed}
        path = REPO / "bench" / "results-widgets.json"
        path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
