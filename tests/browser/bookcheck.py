"""Helpers for driving the built book in headless Chromium (Playwright, sync API).

Reusable by any test in tests/browser/:

* ``find_chromium()``       which Chromium binary to launch (or a plain failure).
* ``serve(directory)``      a threaded http.server on 127.0.0.1, random free port (tools/localserver.py).
* ``book_pages(html_dir)``  every HTML page of a build (discovered, not listed).
* ``open_page(...)``        load a page with every off-origin request blocked and
                            recorded, and page errors / console errors / bad
                            responses collected in a ``PageAudit``.
* ``typeset_report(page)``  wait for MathJax, then count equations and errors.
* ``build_probe_book(dest, pages, root)``  a few pages built as a book with
                            the book's configuration and offline assets.
* widget helpers: ``wait_for_widgets``, ``find_widget``, ``slider_handle``,
  ``press_slider``, ``displayed_image_bytes``, ``stack_frames``,
  ``arm_switch_timer`` / ``switch_ms``, ``switch_time_ms``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Top-level folders of a build that hold assets, not pages.
NON_PAGE_DIRS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static", "vendor", "assets"}


# --------------------------------------------------------------------------- browser


def find_chromium() -> str | None:
    """Path of the Chromium to launch; None means Playwright's own installed browser.

    ``tools/chromium.py`` decides: $CHROMIUM, a system Chromium, Playwright's
    own; if there is none it installs one (Playwright's download, else apt as
    root).  Fails the test run with one plain message when that is impossible.
    """
    chromium = _tools_module("chromium")
    try:
        return chromium.provision().executable
    except chromium.NoChromium as exc:
        pytest.fail(str(exc), pytrace=False)


# --------------------------------------------------------------------------- server


def _tools_module(name: str):
    """Import a module of the repository's ``tools/`` folder."""
    tools = str(Path(__file__).resolve().parents[2] / "tools")
    sys.path.insert(0, tools)
    try:
        return __import__(name)
    finally:
        sys.path.remove(tools)


serve = _tools_module("localserver").serve


#: The chapter page that shows each seqlib widget (tests/browser/test_widget_engine.py, bench/bench_widgets.py).
WIDGET_PAGES: dict[str, str] = {
    "gradient_flow": "chapters/bptt_flow.html",
    "unrolled": "chapters/bptt_delta.html",
    "gated_flow": "chapters/gated_reach.html",
    "sequence_loss": "chapters/sequence_loss_normalisation.html",
    "decoding": "chapters/seq2seq_decoding.html",
    "attention_decoding": "chapters/attention_g2p_errors.html",
}


def page_weight(html_dir: Path, rel: str) -> dict[str, int]:
    """Bytes of a page's HTML and of the images it shows (its own assets; the shared vendored JS,
    theme files and fonts are not counted)."""
    page = html_dir / rel
    text = page.read_text(encoding="utf-8")
    images = 0
    for src in set(re.findall(r'<img[^>]+src="([^"]+)"', text)):
        if src.startswith("data:"):
            continue
        path = (page.parent / src).resolve()
        if path.is_file():
            images += path.stat().st_size
    return {"html": page.stat().st_size, "images": images, "total": page.stat().st_size + images}


def book_pages(html_dir: Path) -> list[str]:
    """Every HTML page of a build, as paths relative to ``html_dir`` (posix)."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if rel.parts[0] in NON_PAGE_DIRS:
            continue
        pages.append(rel.as_posix())
    return pages


# --------------------------------------------------------------------------- HTML source


class _MathCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.display = 0
        self.inline = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if "math" in classes:
            if tag == "div":
                self.display += 1
            elif tag == "span":
                self.inline += 1


def source_math_counts(html_file: Path) -> tuple[int, int]:
    """(display, inline) math blocks in a page's HTML source: div.math, span.math."""
    counter = _MathCounter()
    counter.feed(html_file.read_text(encoding="utf-8"))
    return counter.display, counter.inline


# --------------------------------------------------------------------------- page audit


@dataclass
class PageAudit:
    """What happened while a page loaded."""

    url: str
    origin: str
    served: list[str] = field(default_factory=list)  # same-origin requests let through
    blocked: list[str] = field(default_factory=list)  # requests to anywhere else, aborted
    bad_responses: list[str] = field(default_factory=list)  # same-origin, status != 200, or failed
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    final_url: str = ""  # where the page ended up (differs after a redirect)
    in_flight: int = 0  # requests of the page not yet finished or failed
    last_activity: float = 0.0  # time.monotonic() of the last request event

    def attach(self, context, page) -> None:
        origin = self.origin

        def activity(delta: int) -> Callable[[Any], None]:
            def on_event(_req) -> None:
                self.in_flight += delta
                self.last_activity = time.monotonic()
            return on_event

        page.on("request", activity(+1))
        page.on("requestfinished", activity(-1))
        page.on("requestfailed", activity(-1))

        def route(r) -> None:
            url = r.request.url
            if url == origin or url.startswith(origin + "/"):
                self.served.append(url)
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort("blockedbyclient")

        def on_response(resp) -> None:
            if resp.url.startswith(origin + "/") and resp.status != 200:
                self.bad_responses.append(f"{resp.status} {resp.url}")

        def on_failed(req) -> None:
            if req.url.startswith(origin + "/"):
                self.bad_responses.append(f"failed ({req.failure}) {req.url}")

        context.route("**/*", route)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: self.console_errors.append(f"{msg.text} [{msg.location.get('url', '')}]")
            if msg.type == "error"
            else None,
        )


LOAD_TIMEOUT_MS = 120_000


@contextlib.contextmanager
def open_page(browser, origin: str, rel: str, *, settle: bool = True,
              viewport: dict[str, int] | None = None) -> Iterator[tuple[object, PageAudit]]:
    """Load ``origin/rel`` in a fresh context; yields (page, audit).

    Every request that does not go to ``origin`` is aborted and recorded.  With
    ``settle``, waits for MathJax (if the page has it), embedded widgets (if
    any) and a quiet network (``wait_quiet``), so late font or extension loads are
    seen too.
    ``viewport`` (e.g. ``{"width": 390, "height": 900}``) sets the window size.
    """
    context = browser.new_context(**({"viewport": viewport} if viewport else {}))
    # A long page typesets its equations and fetches MathJax's font chunks as it
    # goes: on a loaded 2-core machine that took more than Playwright's default
    # 30 s before the network was idle (CI, 390 px).  Slowness is not what these
    # tests measure (bench/ does), so a page gets LOAD_TIMEOUT_MS.
    context.set_default_timeout(LOAD_TIMEOUT_MS)
    page = context.new_page()
    audit = PageAudit(url=f"{origin}/{rel}", origin=origin)
    audit.attach(context, page)
    try:
        # A redirect page (the book's index.html: <meta http-equiv="refresh">)
        # navigates on: let it, and audit where it lands (audit.final_url).
        with urllib.request.urlopen(audit.url) as got:
            redirects = re.search(rb"http-equiv=.refresh", got.read(), re.I) is not None
        page.goto(audit.url, wait_until="load")
        if redirects:
            page.wait_for_url(lambda url: url.split("#")[0] != audit.url)
            page.wait_for_load_state("load")
        audit.final_url = page.url
        if settle:
            wait_for_mathjax(page)
            wait_for_widgets(page)
            wait_quiet(page, audit)
        yield page, audit
    finally:
        context.close()


def wait_quiet(page, audit: PageAudit, quiet_ms: float = 250, timeout_ms: float = LOAD_TIMEOUT_MS) -> None:
    """Wait until the page has no request in flight and none started or ended for ``quiet_ms``.

    Playwright's "networkidle" asks for 500 ms without a connection; a page's last
    requests (MathJax's font chunks, a widget's images) are over by the time
    MathJax and the widgets say they are done, so a shorter quiet spell, read from
    the audit's own request events, sees the same requests sooner.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not (audit.in_flight <= 0 and time.monotonic() - audit.last_activity >= quiet_ms / 1000):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{audit.url}: {audit.in_flight} requests still in flight after {timeout_ms} ms")
        page.wait_for_timeout(50)


# --------------------------------------------------------------------------- one visit per page

# Several test modules check every page at a width (test_pages: reading at 1280
# and 390 px; test_offline: requests and typesetting; test_reader: where the
# first picture is and how long the page is).  Loading a page with MathJax and
# its widgets is the slow part, so each page is loaded once per width: every
# module registers a *probe* (a function of the loaded page) at import, and
# visit() runs all probes on one load and keeps their results for the session.
# A probe only reads the page (evaluate); the audit (requests, errors) covers
# the whole visit.
PROBES: dict[str, tuple[Callable[..., Any], tuple[int, ...]]] = {}
VISIT_HEIGHT = 900
_VISITS: dict[tuple[str, str, int], "Visit"] = {}


@dataclass
class Visit:
    audit: PageAudit | None
    results: dict[str, Any]
    error: BaseException | None = None

    def result(self, name: str) -> Any:
        """The probe's result; re-raises what the load or the probe raised."""
        if self.error is not None:
            raise self.error
        got = self.results[name]
        if isinstance(got, BaseException):
            raise got
        return got


def probe(name: str, widths: tuple[int, ...] = (1280, 390)) -> Callable:
    """Register ``fn(page, audit, rel, width)`` to run on every visit at ``widths``."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        PROBES[name] = (fn, widths)
        return fn
    return register


def visit(browser, origin: str, rel: str, width: int) -> Visit:
    """Load ``rel`` at ``width`` x VISIT_HEIGHT once per session and run every probe on it."""
    key = (origin, rel, width)
    if key not in _VISITS:
        results: dict[str, Any] = {}
        try:
            with open_page(browser, origin, rel, viewport={"width": width, "height": VISIT_HEIGHT}) as (page, audit):
                for name, (fn, widths) in PROBES.items():
                    if width in widths:
                        try:
                            results[name] = fn(page, audit, rel, width)
                        except Exception as exc:  # reported by the test that owns the probe
                            results[name] = exc
            _VISITS[key] = Visit(audit, results)
        except Exception as exc:
            _VISITS[key] = Visit(None, results, exc)
    return _VISITS[key]


# --------------------------------------------------------------------------- MathJax


def wait_for_mathjax(page, timeout_ms: float = LOAD_TIMEOUT_MS) -> bool:
    """Wait for ``MathJax.startup.promise`` (initial typesetting); False if no MathJax (4.x, with the v3 API)."""
    has = page.evaluate("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)")
    if not has:
        return False
    page.wait_for_function(
        "() => { if (window.__mjDone) return true;"
        " MathJax.startup.promise.then(() => { window.__mjDone = true; },"
        " (e) => { window.__mjDone = true; console.error('MathJax startup failed: ' + e); });"
        " return false; }",
        timeout=timeout_ms,
        polling=100,
    )
    return True


@dataclass
class Typeset:
    display_dom: int  # div.math in the rendered page
    display_typeset: int  # div.math that contain mjx-container[display="true"]
    display_containers: int  # all mjx-container[display="true"]
    inline_dom: int
    inline_typeset: int
    errors: list[str]  # text of mjx-merror / merror nodes
    untypeset: list[str]  # start of the TeX of each div/span.math left raw


TYPESET_JS = """() => {
  const shown = (sel) => Array.from(document.querySelectorAll(sel));
  const disp = shown('div.math'), inl = shown('span.math');
  const done = (el, display) => !!el.querySelector(display ? 'mjx-container[display="true"]' : 'mjx-container');
  return {
    display_dom: disp.length,
    display_typeset: disp.filter((el) => done(el, true)).length,
    display_containers: shown('mjx-container[display="true"]').length,
    inline_dom: inl.length,
    inline_typeset: inl.filter((el) => done(el, false)).length,
    errors: shown('mjx-merror, merror').map((el) => (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 120)),
    untypeset: disp.concat(inl).filter((el) => !el.querySelector('mjx-container')).map((el) => el.textContent.trim().slice(0, 80)),
  };
}"""


def typeset_report(page) -> Typeset:
    return Typeset(**page.evaluate(TYPESET_JS))


# --------------------------------------------------------------------------- widgets


WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


def wait_for_widgets(page, timeout_ms: float = LOAD_TIMEOUT_MS) -> int:
    """Wait until every embedded widget view is rendered; returns how many there are.

    The html-manager renders each view into a ``div.widget-subarea`` that it
    inserts just before the view's ``<script type=...widget-view+json>`` tag;
    a seqlib widget (anywidget) is rendered once its root ``.sb-widget`` has
    ``data-ready`` (first picture drawn, labels typeset).
    """
    n = page.locator(WIDGET_VIEW).count()
    if n:
        page.wait_for_function(
            """(sel) => Array.from(document.querySelectorAll(sel)).every((s) => {
                 const area = s.previousElementSibling;
                 return area && area.classList.contains('widget-subarea')
                   && (area.querySelector('.jupyter-widgets') || area.querySelector('.sb-widget[data-ready]'));
               })""",
            arg=WIDGET_VIEW,
            timeout=timeout_ms,
        )
    return n


def find_widget(page, index: int = 0):
    """Locator of the ``index``-th rendered widget view (its ``div.widget-subarea``) on the page."""
    return page.locator("div.widget-subarea:has(.jupyter-widgets)").nth(index)


def slider_handle(widget, index: int = 0):
    """The noUiSlider handle of the ``index``-th slider inside ``widget``."""
    return widget.locator(".noUi-handle").nth(index)


def slider_readout(widget, index: int = 0) -> str:
    return widget.locator(".widget-readout").nth(index).inner_text().strip()


def press_slider(widget, key: str = "ArrowRight", index: int = 0, times: int = 1) -> None:
    """Move a slider by keyboard: focus its handle, press ``key``."""
    handle = slider_handle(widget, index)
    handle.focus()
    for _ in range(times):
        handle.press(key)


def displayed_images(widget):
    """Locator of the <img> elements of ``widget`` that are visible now."""
    return widget.locator("img:visible")


def displayed_image_bytes(page, widget, index: int = 0) -> bytes:
    """Bytes of the ``index``-th visible image of ``widget`` (blob:, data: or URL src)."""
    img = displayed_images(widget).nth(index)
    b64 = img.evaluate(
        """async (el) => {
             const buf = await (await fetch(el.src)).arrayBuffer();
             let s = ''; const a = new Uint8Array(buf);
             for (let i = 0; i < a.length; i += 0x8000) s += String.fromCharCode.apply(null, a.subarray(i, i + 0x8000));
             return btoa(s);
           }"""
    )
    return base64.b64decode(b64)


def widget_state(html_file: Path) -> dict:
    """The widget state that myst-nb embedded in a page: {model_id: model}."""
    text = html_file.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', text, re.S)
    if not m:
        return {}
    return json.loads(m.group(1))["state"]


def stack_frames(html_file: Path, stack_index: int = 0) -> list[bytes]:
    """Image bytes of each child of the ``stack_index``-th Stack model, from the page's saved state."""
    state = widget_state(html_file)
    stacks = [m for m in state.values() if m["model_name"] == "StackModel"]
    frames = []
    for ref in stacks[stack_index]["state"]["children"]:
        child = state[ref.removeprefix("IPY_MODEL_")]
        if child["model_name"] == "HTMLModel":  # a frame: <img src="data:image/...;base64,...">
            value = child["state"]["value"]
            start = value.index(";base64,") + len(";base64,")
            frames.append(base64.b64decode(value[start:value.index('"', start)]))
            continue
        buf = next(b for b in child.get("buffers", []) if b["path"] == ["value"])
        frames.append(base64.b64decode(buf["data"]))
    return frames


_SWITCH_TIMER_JS = """([root, event]) => {
  // t0: the event reaching the widget; end: the newly shown <img> has decoded.
  const img = () => Array.from(root.querySelectorAll('img')).find((i) => i.offsetParent !== null);
  const first = img();
  const sw = window.__switch = { before: first || null, src: first ? first.src : null, t0: null, ms: null };
  root.addEventListener(event, () => { sw.t0 = performance.now(); }, { capture: true, once: true });
  const check = () => {
    const now = img();
    const changed = now && (now !== sw.before || now.src !== sw.src);
    if (sw.t0 !== null && changed && now.complete && now.naturalWidth > 0) { sw.ms = performance.now() - sw.t0; }
    else { requestAnimationFrame(check); }
  };
  requestAnimationFrame(check);
}"""


def arm_switch_timer(widget, event: str) -> None:
    """Start timing: from the next ``event`` ("keydown", "change") inside ``widget`` until its visible image changes."""
    widget.evaluate(f"(root) => ({_SWITCH_TIMER_JS})([root, {json.dumps(event)}])")


def switch_ms(page, timeout_ms: float = 10_000) -> float:
    """Wait for the switch armed by :func:`arm_switch_timer`; its milliseconds (performance.now)."""
    page.wait_for_function("() => window.__switch && window.__switch.ms !== null", timeout=timeout_ms)
    return float(page.evaluate("() => window.__switch.ms"))


def switch_time_ms(page, widget, key: str = "ArrowRight", index: int = 0, timeout_ms: float = 10_000) -> float:
    """Milliseconds (performance.now) from a key press on a slider until the visible image changes.

    A measurement to report, never to assert on (see building.md: no timed asserts).
    """
    handle = slider_handle(widget, index)
    handle.focus()
    arm_switch_timer(widget, "keydown")
    handle.press(key)
    return switch_ms(page, timeout_ms)


def build_probe_book(dest: Path, pages: dict[str, str], root: str, timeout_s: float = 900) -> Path:
    """Build ``pages`` (file name -> MyST notebook text) in ``dest`` as a book; return its ``_build/html``.

    ``root`` is the stem of the first page; the others are its chapters.

    The book gets the real book's ``_config.yml``, bibliography, offline assets
    (``_vendor/``, so ``make book`` must have run) and local extensions, and is
    built as strictly as the book (``-W -n --keep-going``).  A failed build
    fails the calling test with the end of its log.
    """
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "_vendor" / ".stamp").is_file():
        pytest.fail("No vendored assets (_vendor/): run `make book` first.", pytrace=False)
    for name in ("_config.yml", "references.bib"):
        shutil.copy2(repo / name, dest / name)
    for name in ("_vendor", "book_assets", "_ext"):  # _ext: local Sphinx extensions in _config.yml
        shutil.copytree(repo / name, dest / name)
    for name, text in pages.items():
        (dest / name).write_text(text, encoding="utf-8")
    others = [Path(name).stem for name in pages if Path(name).stem != root]
    toc = f"format: jb-book\nroot: {root}\n" + ("chapters:\n" + "".join(f"- file: {o}\n" for o in others)
                                                if others else "")
    (dest / "_toc.yml").write_text(toc, encoding="utf-8")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(  # cwd: the execution cache (.jupyter_cache) is relative to it: a fresh one here
        [str(jb), "build", "--all", "-W", "-n", "--keep-going", "."], capture_output=True, text=True,
        timeout=timeout_s, cwd=dest,
    )
    if proc.returncode != 0:
        pytest.fail(f"building the probe book failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", pytrace=False)
    return dest / "_build" / "html"


def wait_for_image_bytes(page, widget, expected: bytes, index: int = 0, timeout_ms: float = 10_000) -> bytes:
    """Poll until the ``index``-th visible image of ``widget`` holds ``expected``; returns what it holds.

    Returns the last bytes seen (not ``expected``) on time-out, so the caller's
    assert shows the mismatch.
    """
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    got = b""
    while True:
        try:
            got = displayed_image_bytes(page, widget, index)
        except Exception:  # the <img> is being replaced right now
            got = b""
        if got == expected or time.monotonic() > deadline:
            return got
        page.wait_for_timeout(25)
