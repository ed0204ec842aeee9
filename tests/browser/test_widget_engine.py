"""The book's widgets in the static book: every control moves the picture, the page's numbers are seqlib's.

For each widget of :mod:`seqlib.widgets`, on the chapter page that holds it
(``WIDGET_PAGES``), in headless Chromium with the network cut off and no kernel:

* **controls**: every control is moved as a reader moves it (a slider by its
  keyboard arrow keys (one stop), a toggle by clicking another button, a stepper by
  its next button and by play, then pause) and the picture (the SVG and text
  of the panels) changes each time; a control that does not apply is
  disabled (the LSTM's forget-gate bias with another cell);
* **numbers**: for 20 random settings (``w.random_settings``), the page's
  own numbers (``el.seqbook.compute``: the JavaScript mirror of seqlib) equal
  seqlib's (``w.expected``) to 1e-9 relative, float64;
* **a phone**: at 390 x 844 the page does not scroll sideways, the widget fits
  its column, its panels stack, every text in it is >= 12 CSS px, and a
  slider dragged with a finger (touch events) moves and redraws;
* **drawn, not photographed**: no ``<img>`` and no ``<canvas>`` in a widget;
  every panel's plot is an SVG with an aria-label;
* **page weight**: each widget page's HTML and its own assets (excluding the
  vendored JavaScript every widget page shares) are printed and held to 1.2 MB.

Repaint times are measured by ``bench/bench_widgets.py``, not asserted here.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import numpy as np
import pytest

import bookcheck
from conftest import BOOK_HTML

from seqlib.widgets import WIDGETS, _factories
from seqlib.widgets._mirror_check import compare

#: kind -> the chapter page that shows it
WIDGET_PAGES = bookcheck.WIDGET_PAGES
PAGE_BUDGET = 1_200_000
N_RANDOM = 20
TOL = 1e-9
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@lru_cache(maxsize=None)
def _widget(kind: str):
    """The widget as the chapter builds it (the factory's defaults)."""
    return _factories()[kind]()


def _root(page, kind: str):
    root = page.locator(f"div.{WIDGETS[kind]}").first
    root.wait_for(state="visible")
    root.scroll_into_view_if_needed()
    return root


# The picture: the headline's text and the panels' markup, without element ids and references to
# them (a view may name a clip path afresh at each draw; a redraw of the same picture must not count
# as a change).
_PICTURE_JS = """(el) => {
  const p = el.querySelector('.sb-panels'), h = el.querySelector('.sb-headline');
  const html = p.innerHTML.replace(/ id="[^"]*"/g, '').replace(/url\\(#[^)]*\\)/g, 'url()');
  return (h ? h.textContent : '') + '|' + html;
}"""


def _picture(root) -> str:
    return hashlib.sha256(root.evaluate(_PICTURE_JS).encode()).hexdigest()


def _wait_changed(page, root, before: str, what: str) -> None:
    for _ in range(40):
        if _picture(root) != before:
            return
        page.wait_for_timeout(50)
    raise AssertionError(what)


def _page_of(kind: str) -> str:
    rel = WIDGET_PAGES[kind]
    html = (BOOK_HTML / rel).read_text(encoding="utf-8")
    assert f'"kind": "{kind}"' in html or f'"kind":"{kind}"' in html, f"{rel} holds no {kind} widget"
    return rel


def _clean(audit) -> list[str]:
    return ([f"blocked: {u}" for u in audit.blocked] + [f"page error: {e}" for e in audit.page_errors]
            + [f"console error: {e}" for e in audit.console_errors] + [f"non-200: {r}" for r in audit.bad_responses])


def move_every_control(page, root, kind: str, after=None) -> list[str]:
    """Move each control of the widget once; assert the picture changes each time.

    Sliders and steppers first, toggles last, so that every control is moved
    where it applies (e.g. the gated widget's forget-gate bias, which its cell
    toggle would disable); a disabled control fails the test.  A slider moves
    one stop (ArrowRight, or ArrowLeft at its end), as a reader nudges it, so
    that no move leaves the widget where another control has no effect
    (kappa = 1 would hide the activation).  The decoding widget's number
    field gets a number typed in.  ``after(what)``, if given, runs after each
    move (the live test checks the kernel drew it).
    """
    lines = []
    n = root.locator(".sb-control").count()
    assert n >= 1, f"{kind}: no controls"
    rows = [root.locator(".sb-control").nth(i) for i in range(n)]
    rows.sort(key=lambda r: "sb-toggle" in (r.get_attribute("class") or ""))
    for row in rows:
        name = row.get_attribute("data-name")
        assert "sb-disabled" not in (row.get_attribute("class") or ""), \
            f"{kind}: control {name} is disabled in the default setting, so the test cannot move it"
        before = _picture(root)
        if "sb-toggle" in row.get_attribute("class"):
            other = row.locator("button[aria-pressed='false']:not([disabled])").first.element_handle()
            label = other.inner_text()
            other.click()
            assert other.get_attribute("aria-pressed") == "true", f"{kind}: toggle {name} did not press {label!r}"
            what = f"toggle {name} -> {label}"
        elif "sb-stepper" in row.get_attribute("class"):
            rng = row.locator("input[type=range]")
            v0 = rng.input_value()
            nxt = row.locator("button.sb-next")
            if v0 == rng.get_attribute("max"):
                row.locator("button.sb-prev").click()
            else:
                nxt.click()
            assert rng.input_value() != v0, f"{kind}: stepper {name} did not step"
            _wait_changed(page, root, before, f"{kind}: stepping {name} did not change the picture")
            # play runs the stepper forward on its own; pause stops it
            row.locator("button.sb-play").click()
            v1 = rng.input_value()
            page.wait_for_timeout(1800)
            v2 = rng.input_value()
            assert v2 != v1, f"{kind}: play did not advance {name} ({v1} -> {v2})"
            if row.locator("button.sb-play").get_attribute("aria-label") == "pause":
                row.locator("button.sb-play").click()
            v3 = rng.input_value()
            page.wait_for_timeout(1200)
            assert rng.input_value() == v3, f"{kind}: pause did not stop {name}"
            what = f"stepper {name}: next, play ({v1} -> {v2}), pause"
        else:
            rng = row.locator("input[type=range]")
            v0 = rng.input_value()
            key = "ArrowRight" if v0 != rng.get_attribute("max") else "ArrowLeft"
            for _ in range(3):  # JupyterLab may re-render a scrolled output and drop the focus
                rng.scroll_into_view_if_needed()
                rng.focus()
                page.keyboard.press(key)
                if rng.input_value() != v0:
                    break
                page.wait_for_timeout(300)
            assert rng.input_value() != v0, f"{kind}: slider {name} did not move"
            what = f"slider {name}: {v0} -> {rng.input_value()} ({row.locator('output').inner_text()})"
        _wait_changed(page, root, before, f"{kind}: {what} did not change the picture")
        if after:
            after(what)
        lines.append(f"{kind}: {what}: picture changed")
    field = root.locator("input[type=number], input[inputmode=numeric]")
    if field.count():  # a reader types a value (the decoding widget's number)
        before = _picture(root)
        field.first.fill("4146")
        field.first.press("Enter")
        _wait_changed(page, root, before, f"{kind}: typing a number did not change the picture")
        if after:
            after("typed 4146")
        lines.append(f"{kind}: typed 4146 into its field: picture changed")
    return lines


@pytest.mark.parametrize("kind", list(WIDGETS))
def test_every_control_changes_the_picture(kind, book_html, book_origin, browser, audit_log):
    rel = _page_of(kind)
    with bookcheck.open_page(browser, book_origin, rel, viewport=DESKTOP) as (page, audit):
        root = _root(page, kind)
        assert root.evaluate("(el) => el.seqbook.live") is False
        assert root.locator("img, canvas").count() == 0, f"{kind}: raster content in the widget"
        svgs = root.locator(".sb-panels svg.sb-plot")
        assert svgs.count() >= 1, f"{kind}: no SVG plot"
        labels = svgs.evaluate_all("(ss) => ss.map((s) => s.getAttribute('aria-label') || '')")
        assert all(label.strip() for label in labels), f"{kind}: an SVG plot without aria-label: {labels}"
        # its first picture is seqlib's (the data saved when the chapter ran)
        assert root.evaluate("(el) => el.seqbook.data.source") == "seqlib"
        for line in move_every_control(page, root, kind):
            print(line)
            audit_log(f"{rel} {line}")
        assert root.evaluate("(el) => el.seqbook.data.source") == "page"
        if kind == "gated_flow":  # the forget-gate bias applies to the LSTM only
            root.locator(".sb-control[data-name=arch] button", has_text="GRU").click()
            assert root.locator(".sb-control[data-name=forget_bias] input").is_disabled()
            root.locator(".sb-control[data-name=arch] button", has_text="LSTM").click()
            assert not root.locator(".sb-control[data-name=forget_bias] input").is_disabled()
        problems = _clean(audit)
        assert not problems, f"{rel}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("kind", list(WIDGETS))
def test_page_numbers_are_seqlibs(kind, book_html, book_origin, browser, audit_log):
    rel = _page_of(kind)
    w = _widget(kind)
    settings = w.random_settings(np.random.default_rng(20261207), N_RANDOM)
    assert len(settings) >= N_RANDOM
    with bookcheck.open_page(browser, book_origin, rel, viewport=DESKTOP) as (page, audit):
        root = _root(page, kind)
        got = root.evaluate(
            "(el, ss) => ss.map((s) => JSON.stringify(el.seqbook.compute(s),"
            " (k, v) => (typeof v === 'number' && !Number.isFinite(v)) ? null : v))", settings)
    worst = 0.0
    for s, text in zip(settings, got):
        err, where = compare(json.loads(text), w.expected(**s))
        assert err <= TOL, f"{kind} {s}: page vs seqlib relative error {err:.2e} at {where}"
        worst = max(worst, err)
    line = f"{kind}: {len(settings)} random settings, page vs seqlib worst relative error {worst:.1e}"
    print(line)
    audit_log(f"{rel} {line}")


_PHONE_JS = """(el) => {
  const small = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    let e = n.parentElement;
    if (e.closest('.sb-print-note') || e.closest('mjx-assistive-mml')) continue;
    const m = e.closest('mjx-container');
    if (m) e = m;  // MathJax scales sub- and superscripts as the page's math does
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const px = parseFloat(getComputedStyle(e).fontSize);
    if (px < 12) small.push(`${px}px: ${n.textContent.trim().slice(0, 30)}`);
  }
  const panels = [...el.querySelectorAll('.sb-panel')].map((p) => p.getBoundingClientRect())
    .filter((r) => r.width > 0);
  let stacked = true;
  for (let i = 1; i < panels.length; i++) stacked = stacked && panels[i].top >= panels[i - 1].bottom - 1;
  const col = el.parentElement.getBoundingClientRect();
  const r = el.getBoundingClientRect();
  return {small, stacked, n: panels.length, overflow: el.scrollWidth - el.clientWidth,
          right: r.right - col.right, width: r.width,
          doc: document.documentElement.scrollWidth - document.documentElement.clientWidth};
}"""


@pytest.mark.parametrize("kind", list(WIDGETS))
def test_phone_layout_and_touch(kind, book_html, book_origin, browser, audit_log):
    rel = _page_of(kind)
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    audit = bookcheck.PageAudit(url=f"{book_origin}/{rel}", origin=book_origin)
    audit.attach(context, page)
    try:
        page.goto(audit.url, wait_until="load")
        bookcheck.wait_for_mathjax(page)
        bookcheck.wait_for_widgets(page)
        root = _root(page, kind)
        info = root.evaluate(_PHONE_JS)
        assert info["doc"] <= 0, f"{rel} scrolls sideways by {info['doc']} px at 390 px"
        assert info["overflow"] <= 0 and info["right"] <= 1, f"{kind}: widget wider than its column: {info}"
        assert info["stacked"], f"{kind}: panels side by side at 390 px: {info}"
        assert not info["small"], f"{kind}: text under 12 px at 390 px: {info['small'][:8]}"
        # a finger drags the first slider
        rng = root.locator(".sb-control input[type=range]:not([disabled])").first
        rng.scroll_into_view_if_needed()
        box = rng.bounding_box()
        v0 = rng.input_value()
        frac = int(v0) / max(1, int(rng.get_attribute("max")))
        x0 = box["x"] + 8 + frac * (box["width"] - 16)
        x1 = box["x"] + (box["width"] * 0.1 if frac > 0.5 else box["width"] * 0.9)
        y = box["y"] + box["height"] / 2
        before = _picture(root)
        cdp = context.new_cdp_session(page)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y}]})
        for i in range(1, 9):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x0 + (x1 - x0) * i / 8, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        v1 = rng.input_value()
        assert v1 != v0, f"{kind}: a touch drag did not move the slider ({v0})"
        _wait_changed(page, root, before, f"{kind}: a touch drag did not redraw")
        line = (f"{kind} at 390 px: {info['n']} panels stacked, width {info['width']:.0f} px, no text under 12 px; "
                f"touch drag {v0} -> {v1}")
        print(line)
        audit_log(f"{rel} {line}")
        problems = _clean(audit)
        assert not problems, f"{rel}:\n  " + "\n  ".join(problems)
    finally:
        context.close()


def test_page_weight(book_html, audit_log):
    """Each widget page's HTML plus its images, without the shared vendored JS (bench_widgets.py prints it too)."""
    for kind, rel in WIDGET_PAGES.items():
        w = bookcheck.page_weight(BOOK_HTML, rel)
        line = f"{rel} ({kind}): {w['html'] / 1e6:.2f} MB of HTML + {w['images'] / 1e6:.2f} MB of images"
        print(line)
        audit_log(line)
        assert w["total"] <= PAGE_BUDGET, f"{rel} weighs {w['total']} bytes > {PAGE_BUDGET}"
