"""Widgets in static HTML: a plain ipywidgets slider jslinked to a Stack of PNG frames.

The offline widget set-up alone, independent of any chapter (the chapters'
own widgets are anywidgets, tested in test_widget_engine.py): the probe book (``probe_html`` in
conftest.py: a throwaway book in a temporary folder, holding
``tests/browser/probe/probe.md``, with the book's own ``_config.yml``,
``_vendor/``, ``book_assets/`` and ``_ext/``), and
checks in headless Chromium (network cut off) that

* the probe page is as clean as any book page (no request out, no error,
  equations typeset, including ``\\bsf`` and math in a widget description),
* the widget renders, and ArrowRight on the focused slider handle switches the
  displayed ``<img>`` to the next frame, with no kernel.

The helpers used here live in ``bookcheck.py`` for the chapters' own widgets.
"""

from __future__ import annotations

import pytest

import bookcheck
from test_offline import audit_page

def test_probe_page_is_offline_and_clean(probe_html, probe_origin, browser, audit_log):
    display, inline = bookcheck.source_math_counts(probe_html / "probe.html")
    assert display == 2 and inline == 1, "the probe page should hold 2 display and 1 inline equation"
    problems = audit_page(browser, probe_origin, probe_html, "probe.html", audit_log)
    assert not problems, "probe.html:\n  " + "\n  ".join(problems)


def test_slider_switches_stack_frame(probe_html, probe_origin, browser, audit_log):
    frames = bookcheck.stack_frames(probe_html / "probe.html")
    assert len(frames) == 4 and len(set(frames)) == 4, "the probe stacks 4 distinct PNG frames"

    with bookcheck.open_page(browser, probe_origin, "probe.html") as (page, audit):
        assert bookcheck.wait_for_widgets(page) == 1
        widget = bookcheck.find_widget(page)
        assert widget.locator(".noUi-handle").count() == 1, "slider did not render"
        # The description \(t\) is typeset by MathJax 3 through the Hub.Queue stand-in.
        assert widget.locator(".widget-label mjx-container").count() == 1

        assert bookcheck.slider_readout(widget) == "0"
        assert bookcheck.displayed_images(widget).count() == 1
        src0 = bookcheck.displayed_images(widget).first.get_attribute("src")
        assert bookcheck.displayed_image_bytes(page, widget) == frames[0]

        bookcheck.press_slider(widget, "ArrowRight")
        assert bookcheck.wait_for_image_bytes(page, widget, frames[1]) == frames[1]
        assert bookcheck.slider_readout(widget) == "1"
        assert bookcheck.displayed_images(widget).first.get_attribute("src") != src0

        # Switch time: reported, never asserted on (no timed asserts in this project).
        ms = bookcheck.switch_time_ms(page, widget, "ArrowRight")
        assert bookcheck.slider_readout(widget) == "2"
        assert bookcheck.displayed_image_bytes(page, widget) == frames[2]

        bookcheck.press_slider(widget, "ArrowLeft", times=2)
        assert bookcheck.wait_for_image_bytes(page, widget, frames[0]) == frames[0]
        assert bookcheck.slider_readout(widget) == "0"

    audit_log(f"probe.html widget: slider 0->1->2->0 switched frames; switch time {ms:.1f} ms")
    assert not audit.blocked and not audit.page_errors and not audit.console_errors, audit
