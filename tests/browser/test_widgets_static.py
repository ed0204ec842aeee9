"""The seqlib widgets in static HTML: every control switches to the frame seqlib computes.

For each widget of :mod:`seqlib.widgets` (found by its CSS marker, e.g.
``div.seqlib-gradient-flow``), in headless Chromium with the network cut off
and no kernel:

* it renders, with the status line saying the frame is pre-computed;
* the displayed ``<img>`` holds exactly the PNG seqlib computes for the setting
  the controls show (``seqlib.widgets.expected_frame``);
* moving each control (ArrowRight/ArrowLeft on a slider's focused handle,
  choosing another option of a dropdown) switches to the frame of the new
  setting; frame-switch times (performance.now) are printed, not asserted;
* the unrolled graph has no Play button (html-manager 1.0.15's Play view
  throws in static HTML and breaks the slider's jslink with it).

Two sources: a probe book built here in a temporary folder (one page holding
every widget exactly as the chapters do, with the book's _config.yml),
and the real book in ``_build/html`` (bptt_flow.html holds gradient_flow,
bptt_delta.html unrolled, gated.html gated_flow, sequence_loss.html
sequence_loss, seq2seq.html decoding; each page must weigh at most
2 MB; skipped, with the reason, if no chapter holds a widget).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jupytext
import nbformat.v4 as nbf
import pytest

import bookcheck
from conftest import BOOK_HTML

from seqlib.widgets import STATIC_STATUS, WIDGETS, default_axes, expected_frame

# What a chapter cell holds to show each widget (hide-input in the chapters).
CELLS = {
    "gradient_flow": "from seqlib.widgets import gradient_flow_widget\n\ngradient_flow_widget()",
    "gated_flow": "from seqlib.widgets import gated_flow_widget\n\ngated_flow_widget()",
    "unrolled": "from seqlib.widgets import unrolled_graph_widget\n\nunrolled_graph_widget()",
    "sequence_loss": "from seqlib.widgets import sequence_loss_widget\n\nsequence_loss_widget()",
    "decoding": "from seqlib.widgets import decoding_widget\n\ndecoding_widget()",
}



def widget_probe_notebook() -> str:
    """The probe page: every widget, each in a hide-input cell as the chapters show them."""
    cells = [nbf.new_markdown_cell("# Widget probe\n\nNot part of the book: the seqlib widgets, "
                                   "built as the chapters build them.")]
    for kind, code in CELLS.items():
        cells += [nbf.new_markdown_cell(f"## {kind}"), nbf.new_code_cell(code, metadata={"tags": ["hide-input"]})]
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return jupytext.writes(nbf.new_notebook(cells=cells, metadata={"kernelspec": kernel}), fmt="md:myst")


@pytest.fixture(scope="session")
def widget_probe_html(tmp_path_factory) -> Path:
    pages = {"widgets.md": widget_probe_notebook()}
    html = bookcheck.build_probe_book(tmp_path_factory.mktemp("widget-probe-book"), pages, root="widgets")
    size = (html / "widgets.html").stat().st_size
    print(f"\nwidget probe page ({len(CELLS)} widgets): {size / 1e6:.2f} MB of HTML")
    return html


@pytest.fixture(scope="session")
def widget_probe_origin(widget_probe_html: Path):
    with bookcheck.serve(widget_probe_html) as origin:
        yield origin


@lru_cache(maxsize=None)
def _expected(kind: str, setting: tuple) -> bytes:
    return expected_frame(kind, **dict(setting))


def _setting(widget, kind: str) -> dict:
    """The setting the controls show, read from the DOM (slider readouts, select indices)."""
    out, n_slider, n_select = {}, 0, 0
    for ax in default_axes(kind):
        if ax.kind == "dropdown":
            i = widget.locator("select").nth(n_select).evaluate("(s) => s.selectedIndex")
            n_select += 1
        else:
            label = bookcheck.slider_readout(widget, n_slider)
            assert label in ax.labels, f"{ax.name}: readout {label!r} not in {ax.labels}"
            i = ax.labels.index(label)
            n_slider += 1
        out[ax.name] = ax.values[i]
    return out


def _key(setting: dict) -> tuple:
    return tuple(sorted(setting.items(), key=lambda kv: kv[0]))


def exercise_widget(page, kind: str) -> list[str]:
    """Move every control of the widget; return report lines.  Asserts frames == seqlib's."""
    css = WIDGETS[kind]
    widget = page.locator(f"div.{css}").first
    widget.wait_for(state="visible")
    status = widget.locator(".seqlib-widget-status").inner_text().strip()
    assert status == STATIC_STATUS, f"{kind}: status line {status!r}"
    assert bookcheck.displayed_images(widget).count() == 1, f"{kind}: expected exactly one visible frame"
    setting = _setting(widget, kind)
    got = bookcheck.displayed_image_bytes(page, widget)
    assert got == _expected(kind, _key(setting)), f"{kind}: initial frame is not seqlib's for {setting}"
    lines = [f"{kind}: initial {setting} matches seqlib"]
    n_slider, n_select = 0, 0
    for ax in default_axes(kind):
        n = len(ax.values)
        if ax.kind == "dropdown":
            sel = widget.locator("select").nth(n_select)
            n_select += 1
            j = (sel.evaluate("(s) => s.selectedIndex") + 1) % n
            bookcheck.arm_switch_timer(widget, "change")
            sel.select_option(index=j)
            ms = bookcheck.switch_ms(page)
        else:
            i = ax.labels.index(bookcheck.slider_readout(widget, n_slider))
            key = "ArrowLeft" if i == n - 1 else "ArrowRight"
            j = i - 1 if key == "ArrowLeft" else i + 1
            ms = bookcheck.switch_time_ms(page, widget, key, index=n_slider)
            n_slider += 1
        new = _setting(widget, kind)
        assert new[ax.name] == ax.values[j], f"{kind}: {ax.name} did not move to {ax.values[j]!r}: {new}"
        assert {k: v for k, v in new.items() if k != ax.name} == {k: v for k, v in setting.items() if k != ax.name}
        want = _expected(kind, _key(new))
        got = bookcheck.wait_for_image_bytes(page, widget, want)
        assert got == want, f"{kind}: after moving {ax.name}, the frame is not seqlib's for {new}"
        lines.append(f"{kind}: {ax.name} -> {ax.labels[j]!r}: frame == seqlib's, switched in {ms:.1f} ms")
        setting = new
    return lines


def _check_page(browser, origin: str, rel: str, kinds: list[str], audit_log):
    """Exercise the widgets on a page; returns its PageAudit (requests, errors) for the caller to judge."""
    with bookcheck.open_page(browser, origin, rel) as (page, audit):
        for kind in kinds:
            for line in exercise_widget(page, kind):
                print(line)
                audit_log(f"{rel} {line}")
            if kind == "unrolled":
                widget = page.locator(f"div.{WIDGETS[kind]}").first
                # no Play button in static HTML: html-manager 1.0.15's Play view throws (see the factory)
                assert widget.locator(".widget-play").count() == 0
        assert not audit.blocked, audit.blocked
        assert not audit.page_errors, audit.page_errors
    return audit


@pytest.mark.parametrize("kind", list(WIDGETS))
def test_probe_widget_switches_to_seqlib_frames(kind, widget_probe_html, widget_probe_origin, browser, audit_log):
    assert f"{WIDGETS[kind]}" in (widget_probe_html / "widgets.html").read_text(encoding="utf-8")
    _check_page(browser, widget_probe_origin, "widgets.html", [kind], audit_log)


def test_probe_page_is_clean(widget_probe_html, widget_probe_origin, browser, audit_log):
    """No request out, no page error, no console error on a page holding every widget (Play included)."""
    audit = _check_page(browser, widget_probe_origin, "widgets.html", list(WIDGETS), audit_log)
    problems = [f"blocked: {u}" for u in audit.blocked] + [f"page error: {e}" for e in audit.page_errors]
    problems += [f"console error: {e}" for e in audit.console_errors] + [f"non-200: {r}" for r in audit.bad_responses]
    assert not problems, "widgets.html:\n  " + "\n  ".join(problems)


def _book_pages_with(css: str) -> list[str]:
    if not (BOOK_HTML / "index.html").is_file():
        return []
    return [rel for rel in bookcheck.book_pages(BOOK_HTML) if css in (BOOK_HTML / rel).read_text(encoding="utf-8")]


@pytest.mark.parametrize("kind", list(WIDGETS))
def test_book_widget_switches_to_seqlib_frames(kind, book_html, book_origin, browser, audit_log):
    pages = _book_pages_with(WIDGETS[kind])
    if not pages:
        pytest.skip(f"no page of {BOOK_HTML} holds a {WIDGETS[kind]} widget yet (a chapter cell must call the factory)")
    for rel in pages:
        size = (BOOK_HTML / rel).stat().st_size
        print(f"\n{rel}: {size / 1e6:.2f} MB of HTML")
        assert size <= 2_000_000, f"{rel} weighs {size} bytes > 2 MB"
        audit = _check_page(browser, book_origin, rel, [kind], audit_log)
        assert not audit.console_errors, audit.console_errors
        assert not audit.bad_responses, audit.bad_responses  # e.g. a widget font fetched from a wrong path
