"""The widgets in the static book: page weight, and how long a control change takes to repaint.

    python bench/bench_widgets.py                  # print the tables
    python bench/bench_widgets.py --save            # and write bench/results-widgets.json

Page weight: for each chapter page that holds a widget (``_build/html``, so
``make book`` first), the HTML plus the page's own images, without the
vendored JavaScript every widget page shares (``vendor/``: the widget
manager, RequireJS, anywidget, MathJax) and the theme's files.

Repaint: a one-page book built here holds the gradient-flow and gated-flow
widgets with H = 32 (the book's have H = 16) and every other widget as the
chapters build it.  In headless Chromium, with no kernel, each widget is
moved to ``--changes`` random settings (T = 100 for the flow widgets) through
``el.seqbook.set``; for each change the script reads the page's compute time
and draw time (``el.seqbook.repaint``) and the time until the frame that
shows it has been painted (a task queued from the next animation-frame
callback: the browser's style, layout and paint included, and the wait for
the display's next frame).  It prints
the median and the largest; nothing is asserted (timings never go into
tests).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import bookcheck  # noqa: E402

WIDGET_PAGES = {
    "gradient_flow": "chapters/bptt_flow.html",
    "unrolled": "chapters/bptt_delta.html",
    "gated_flow": "chapters/gated.html",
    "sequence_loss": "chapters/sequence_loss.html",
    "decoding": "chapters/seq2seq.html",
}
CELLS = {
    "gradient_flow": "from seqlib.widgets import gradient_flow_widget\n\ngradient_flow_widget(T=100, H=32)",
    "gated_flow": "from seqlib.widgets import gated_flow_widget\n\ngated_flow_widget(T=100, H=32)",
    "unrolled": "from seqlib.widgets import unrolled_graph_widget\n\nunrolled_graph_widget()",
    "sequence_loss": "from seqlib.widgets import sequence_loss_widget\n\nsequence_loss_widget()",
    "decoding": "from seqlib.widgets import decoding_widget\n\ndecoding_widget()",
}
FACTORY_ARGS = {"gradient_flow": {"T": 100, "H": 32}, "gated_flow": {"T": 100, "H": 32}}


REPAINT_JS = """async ([sel, settings]) => {
  const el = document.querySelector(sel);
  const out = [];
  for (const s of settings) {
    const t0 = performance.now();
    await el.seqbook.set(s);
    const t1 = performance.now();
    // the next frame's rendering runs after its animation-frame callbacks: a task queued from
    // one runs once that frame has been painted
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    out.push({compute: el.seqbook.repaint.computeMs, draw: el.seqbook.repaint.drawMs, set: t1 - t0,
              frame: performance.now() - t0});
  }
  return out;
}"""


def repaint_times(changes: int, seed: int) -> dict[str, dict[str, float]]:
    import jupytext
    import nbformat.v4 as nbf
    from playwright.sync_api import sync_playwright

    from seqlib.widgets import WIDGETS, _factories

    cells = [nbf.new_markdown_cell("# Widget benchmark")]
    cells += [nbf.new_code_cell(code, metadata={"tags": ["hide-input"]}) for code in CELLS.values()]
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    text = jupytext.writes(nbf.new_notebook(cells=cells, metadata={"kernelspec": kernel}), fmt="md:myst")
    import pytest  # build_probe_book reports a failed build through pytest.fail

    with tempfile.TemporaryDirectory() as tmp:
        try:
            html = bookcheck.build_probe_book(Path(tmp), {"bench.md": text}, root="bench")
        except pytest.fail.Exception as exc:  # type: ignore[attr-defined]
            raise SystemExit(str(exc))
        results = {}
        with sync_playwright() as p, bookcheck.serve(html) as origin:
            browser = p.chromium.launch(executable_path=bookcheck.find_chromium(), headless=True,
                                        args=bookcheck.LAUNCH_ARGS)
            with bookcheck.open_page(browser, origin, "bench.html", viewport={"width": 1280, "height": 800}) as (page, _):
                for kind in CELLS:
                    w = _factories()[kind](**FACTORY_ARGS.get(kind, {}))
                    settings = w.random_settings(np.random.default_rng(seed), changes)
                    if kind in FACTORY_ARGS:
                        settings = [{**s, "T": 100} for s in settings]
                    sel = f"div.{WIDGETS[kind]}"
                    page.locator(sel).first.scroll_into_view_if_needed()
                    rows = page.evaluate(REPAINT_JS, [sel, settings])
                    results[kind] = {
                        "changes": len(rows),
                        **{f"{k}_median_ms": statistics.median(r[k] for r in rows) for k in ("compute", "draw", "frame")},
                        **{f"{k}_max_ms": max(r[k] for r in rows) for k in ("compute", "draw", "frame")},
                        "H": FACTORY_ARGS.get(kind, {}).get("H"),
                    }
            browser.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=20, help="random settings per widget")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", action="store_true", help="write bench/results-widgets.json")
    args = ap.parse_args()
    html_dir = REPO / "_build" / "html"
    if not (html_dir / "index.html").is_file():
        raise SystemExit("no built book: run `make book` first")
    weights = {kind: bookcheck.page_weight(html_dir, rel) for kind, rel in WIDGET_PAGES.items()}
    print("page weight (HTML + its images; shared vendored JS excluded)")
    for kind, rel in WIDGET_PAGES.items():
        w = weights[kind]
        print(f"  {rel:32s} {kind:14s} HTML {w['html'] / 1e6:5.2f} MB + images {w['images'] / 1e6:5.2f} MB"
              f" = {w['total'] / 1e6:5.2f} MB")
    t0 = time.perf_counter()
    times = repaint_times(args.changes, args.seed)
    print(f"\nrepaint after a control change, static page, {args.changes} random settings each "
          f"(flow widgets at T = 100, H = 32); ms, median / largest")
    print(f"  {'widget':14s} {'compute':>15s} {'draw':>15s} {'to next frame':>15s}")
    for kind, r in times.items():
        print(f"  {kind:14s} " + " ".join(f"{r[k + '_median_ms']:6.1f} / {r[k + '_max_ms']:6.1f}"
                                          for k in ("compute", "draw", "frame")))
    print(f"(benchmark {time.perf_counter() - t0:.0f} s)")
    if args.save:
        out = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                           "processor": platform.processor() or platform.machine()},
               "page_weight": {k: {**v, "page": WIDGET_PAGES[k]} for k, v in weights.items()},
               "repaint": times, "changes": args.changes}
        path = REPO / "bench" / "results-widgets.json"
        path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
