"""The attention-decoding widget in a static page: it shows seqlib's numbers, its buttons do what they show.

The page computes nothing new (it shows the decodings seqlib saved in the
widget's ``base``), so there is no JavaScript mirror to test.  This uses the
throwaway probe book (``bookcheck.build_probe_book``, as test_widgets.py
does: the book's ``_config.yml`` and offline assets, no kernel at view time)
whose one cell shows the widget for a small seeded model (``MODEL_CODE``, run
here too for seqlib's numbers), and checks in headless Chromium with the
network cut off:

* **numbers**: for several words, both decoders and several steps, reached by
  the reader's controls (the word menu, the decoder toggle, the step buttons),
  the printed text is seqlib's to its printed precision: the weights of step l
  over the letters (2 decimals), every heat-map cell's shading (its
  ``fill-opacity``, 4 decimals), the phonemes emitted so far, step l's
  phoneme and its p̂ (3 decimals), the output and its log-probability (3
  decimals); and the page's ``compute`` equals seqlib's numbers bit for bit;
* **controls**: next / previous / play / pause, the slider, the arrow keys
  and Home / End on the picture, a row label, the decoder toggle, the word menu
  and typed words (a listed one in lower case switches; another one is
  refused with a message, since no kernel can decode it) each do what they
  show; pointing at and tapping a cell writes its weight;
* **a phone** (390 x 844, touch): no sideways scroll of the page or the
  widget for every word (the longest has 22 letters), letters >= 11 px and
  every text >= 12 px, the letters and the printed weights do not overlap.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

import numpy as np
import pytest

import bookcheck
from probe_pages import MODEL_CODE

PAGE = "attention_probe.html"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SEL = "div.seqlib-attention-decoding"


@lru_cache(maxsize=None)
def _w():
    from seqlib.widgets import headless

    ns: dict = {}
    with headless():
        exec(MODEL_CODE, ns)
    return ns["w"]


def _root(page):
    root = page.locator(SEL).first
    root.wait_for(state="visible")
    root.scroll_into_view_if_needed()
    return root


def _clean(audit) -> list[str]:
    return ([f"blocked: {u}" for u in audit.blocked] + [f"page error: {e}" for e in audit.page_errors]
            + [f"console error: {e}" for e in audit.console_errors] + [f"non-200: {r}" for r in audit.bad_responses])


_SHOWN_JS = """(el) => {
  const t = (q) => { const e = el.querySelector(q); return e ? e.textContent.trim() : null; };
  const all = (q) => [...el.querySelectorAll(q)];
  return {
    word: el.querySelector('select.sb-at-word').value, hlWord: t('.sb-at-hl-word'), output: t('.sb-at-output'),
    score: t('.sb-at-score'), p: t('.sb-at-p'), l: t('.sb-at-l'), current: t('.sb-at-current'), tokp: t('.sb-at-tokp'),
    readout: t('.sb-control[data-name=step] output'), slider: el.querySelector('.sb-control[data-name=step] input').value,
    sliderMax: el.querySelector('.sb-control[data-name=step] input').max,
    emitted: all('.sb-at-ph').map((e) => e.textContent.trim()), todo: all('.sb-at-todo').length,
    weights: all('.sb-at-w').sort((a, b) => a.dataset.j - b.dataset.j).map((e) => e.textContent.trim()),
    letters: all('.sb-at-letter').map((e) => e.textContent.trim()),
    cells: all('.sb-at-cell').map((e) => [Number(e.dataset.l), Number(e.dataset.j), e.getAttribute('fill-opacity')]),
    rowLabel: (el.querySelector('.sb-at-rowlabel text:last-child[style*="font-weight:700"]') || {}).textContent,
    beamPressed: el.querySelector('.sb-control[data-name=decoder] button[data-value=\\'"beam"\\']')
      .getAttribute('aria-pressed'),
    hlDec: el.querySelector('.sb-headline').textContent,
  };
}"""


def _minus(s: str) -> str:
    return s.replace("-", "−")


def assert_shows(root, word: str, decoder: str, step: int) -> dict:
    """The page shows seqlib's numbers for (word, decoder, step), to their printed precision."""
    d = _w().expected(word=word, decoder=decoder, step=step)
    got = root.evaluate(_SHOWN_JS)
    l, L = d["step"], d["n_steps"]
    where = f"{word} {decoder} step {step}"
    out = d["phonemes"][:-1] if d["finished"] else d["phonemes"]
    assert (got["word"], got["hlWord"], got["output"]) == (word, word, " ".join(out)), where
    assert got["score"] == _minus(f"{d['score']:.3f}"), where
    assert got["p"] == f"{math.exp(d['score']):.3f}", where
    assert (got["l"], got["readout"], got["slider"], got["sliderMax"]) == (str(l), str(l), str(l), str(L - 1)), where
    assert got["current"] == d["phonemes"][l] == got["rowLabel"], where
    assert got["tokp"] == f"{math.exp(d['token_logp'][l]):.3f}", where
    assert got["emitted"] == d["phonemes"][:l + 1] and got["todo"] == L - l - 1, where
    assert got["letters"] == d["letters"], where
    assert got["weights"] == [f"{v:.2f}" for v in d["weights"][l]], where
    cells = {(a, b): op for a, b, op in got["cells"]}
    assert len(cells) == L * len(d["letters"]), where
    for r, row in enumerate(d["weights"]):
        for j, v in enumerate(row):
            assert cells[(r, j)] == f"{v:.4f}", f"{where}: cell ({r}, {j})"
    assert ("(beam search, k = 3)" in got["hlDec"]) == (decoder == "beam"), where
    assert got["beamPressed"] == ("true" if decoder == "beam" else "false"), where
    return d


def _wait_step(page, root, l: int) -> None:
    try:
        page.wait_for_function("([el, l]) => el.querySelector('.sb-at-l').textContent === String(l)",
                               arg=[root.element_handle(), l], timeout=10_000)
    except Exception:
        shown = root.evaluate("(el) => [el.querySelector('.sb-at-l').textContent, JSON.stringify(el.seqbook.setting)]")
        raise AssertionError(f"step {l} not shown; the page shows step {shown[0]}, setting {shown[1]}") from None


def _choose(page, root, word: str, decoder: str) -> None:
    root.locator("select.sb-at-word").select_option(word)
    page.wait_for_function("([el, w]) => el.querySelector('.sb-at-hl-word').textContent === w",
                           arg=[root.element_handle(), word], timeout=10_000)
    b = root.locator(f".sb-control[data-name=decoder] button[data-value='{json.dumps(decoder)}']")
    if b.get_attribute("aria-pressed") != "true":
        b.click()
    assert b.get_attribute("aria-pressed") == "true"


def test_page_shows_seqlibs_phonemes_and_weights(probe_origin, browser, audit_log):
    w = _w()
    with bookcheck.open_page(browser, probe_origin, PAGE, viewport=DESKTOP) as (page, audit):
        root = _root(page)
        assert root.evaluate("(el) => el.seqbook.live") is False
        assert root.evaluate("(el) => el.seqbook.data.source") == "seqlib"  # the saved first picture
        assert root.locator("img, canvas").count() == 0
        assert root.locator(".sb-status").inner_text().startswith("seqlib decoded the listed words")
        assert_shows(root, "CAT", "greedy", 0)
        checked = 0
        nxt = root.locator(".sb-control[data-name=step] button.sb-next")
        prev = root.locator(".sb-control[data-name=step] button.sb-prev")
        for word in ["XYLOPHONE", "DON'T", "SUPERCALIFRAGILISTICEX", "A"]:
            for decoder in ["beam", "greedy"]:
                shown = int(root.locator(".sb-at-l").inner_text())
                new_word = root.locator(".sb-at-hl-word").inner_text() != word
                _choose(page, root, word, decoder)
                L = w.expected(word=word, decoder=decoder, step=0)["n_steps"]
                # a new word starts at step 0; the decoder toggle keeps the step (clamped to the output)
                l = 0 if new_word else min(shown, L - 1)
                _wait_step(page, root, l)
                assert_shows(root, word, decoder, l)
                # the previous button down to step 0, then the next button up to the last step
                for to in [*range(l - 1, -1, -1), *range(1, L)]:
                    (prev if to < l else nxt).click()
                    _wait_step(page, root, to)
                    assert_shows(root, word, decoder, to)
                    l = to
                    checked += 1
                nxt.click()  # at the end: stays
                page.wait_for_timeout(100)
                assert_shows(root, word, decoder, L - 1)
        assert root.locator(".sb-status").inner_text().startswith("seqlib decoded the listed words")  # no mirror
        # the page's numbers: seqlib's, bit for bit, for every listed word and both decoders
        settings = [{"word": x, "decoder": dec, "step": s} for x in w.words for dec in ("greedy", "beam")
                    for s in (0, 3, 11)]
        got = root.evaluate("(el, ss) => ss.map((s) => JSON.stringify(el.seqbook.compute(s)))", settings)
        for s, text in zip(settings, got):
            assert json.loads(text) == w.expected(**s), s
        problems = _clean(audit)
    line = f"attention_decoding: {checked} (word, decoder, step) pictures = seqlib's to printed precision; " \
           f"page compute = seqlib's for {len(settings)} settings"
    print(line)
    audit_log(f"{PAGE} {line}")
    assert not problems, "\n  ".join(problems)


def test_controls_do_what_they_show(probe_origin, browser, audit_log):
    w = _w()
    with bookcheck.open_page(browser, probe_origin, PAGE, viewport=DESKTOP) as (page, audit):
        root = _root(page)
        _choose(page, root, "XYLOPHONE", "greedy")
        L = w.expected(word="XYLOPHONE", decoder="greedy", step=0)["n_steps"]
        assert L >= 4
        step = root.locator(".sb-control[data-name=step]")
        nxt, prev, play = step.locator("button.sb-next"), step.locator("button.sb-prev"), step.locator("button.sb-play")
        for button, to in [(nxt, 1), (nxt, 2), (prev, 1)]:
            button.click()
            _wait_step(page, root, to)
        assert_shows(root, "XYLOPHONE", "greedy", 1)
        # the slider, by its arrow keys
        rng = step.locator("input[type=range]")
        rng.focus()
        page.keyboard.press("ArrowRight")
        _wait_step(page, root, 2)
        # the arrow keys and Home / End on the picture
        fig = root.locator("figure.sb-panel")
        fig.focus()
        for key, to in [("ArrowRight", 3), ("ArrowLeft", 2), ("End", L - 1), ("ArrowRight", L - 1), ("Home", 0)]:
            page.keyboard.press(key)
            page.wait_for_timeout(50)
            _wait_step(page, root, to)
        assert_shows(root, "XYLOPHONE", "greedy", 0)
        # a row label goes to its step
        root.locator(".sb-at-rowlabel[data-l='2']").click()
        _wait_step(page, root, 2)
        assert_shows(root, "XYLOPHONE", "greedy", 2)
        # play runs to the end on its own; pause stops it
        play.click()
        page.wait_for_function("(el) => Number(el.querySelector('.sb-at-l').textContent) >= 3",
                               arg=root.element_handle(), timeout=10_000)
        assert play.get_attribute("aria-label") == "pause"
        play.click()
        l_paused = int(root.locator(".sb-at-l").inner_text())
        page.wait_for_timeout(1300)
        assert int(root.locator(".sb-at-l").inner_text()) == l_paused
        assert_shows(root, "XYLOPHONE", "greedy", l_paused)
        # the decoder toggle keeps the step, clamped to the new output's length (this model's beam search
        # ends XYLOPHONE at once, an output of <eos> alone)
        root.locator(".sb-control[data-name=decoder] button[data-value='\"beam\"']").click()
        Lb = w.expected(word="XYLOPHONE", decoder="beam", step=0)["n_steps"]
        assert Lb < l_paused + 1
        assert_shows(root, "XYLOPHONE", "beam", min(l_paused, Lb - 1))
        # hovering a cell, then tapping one, writes its weight (3 decimals)
        d = w.expected(word="XYLOPHONE", decoder="beam", step=0)
        for r, j, how in [(0, 2, "hover"), (Lb - 1, 8, "click")]:
            cell = root.locator(f".sb-at-cell[data-l='{r}'][data-j='{j}']")
            cell.hover() if how == "hover" else cell.click()
            page.wait_for_timeout(50)
            assert root.locator(".sb-at-probe-w").inner_text() == f"{d['weights'][r][j]:.3f}", (r, j, how)
            assert f"step {r} ({d['phonemes'][r]}), letter {'XYLOPHONE'[j]} (j = {j})" in \
                root.locator(".sb-at-probe").inner_text()
        # typed words: a listed one (lower case) switches and starts at step 0; another is refused
        field, go = root.locator("input.sb-at-field"), root.locator("button.sb-at-go")
        field.fill("knight")
        field.press("Enter")
        page.wait_for_function("(el) => el.querySelector('.sb-at-hl-word').textContent === 'KNIGHT'",
                               arg=root.element_handle(), timeout=10_000)
        assert_shows(root, "KNIGHT", "beam", 0)
        field.fill("zebra")
        go.click()
        assert "listed words only" in root.locator(".sb-at-msg").inner_text()
        field.fill("no way")
        go.click()
        assert "1 to 24 letters" in root.locator(".sb-at-msg").inner_text()
        assert_shows(root, "KNIGHT", "beam", 0)  # nothing moved
        problems = _clean(audit)
    audit_log(f"{PAGE} attention_decoding: next/prev/play/pause, slider, keys, row label, toggle, word menu, "
              f"typed words and cell probe do what they show")
    assert not problems, "\n  ".join(problems)


_PHONE_JS = """(el) => {
  const small = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    let e = n.parentElement;
    if (e.closest('.sb-print-note') || e.closest('mjx-assistive-mml') || e.closest('option')) continue;
    const m = e.closest('mjx-container');
    if (m) e = m;
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const px = parseFloat(getComputedStyle(e).fontSize);
    if (px < 12) small.push(`${px}px: ${n.textContent.trim().slice(0, 30)}`);
  }
  const boxes = (q) => [...el.querySelectorAll(q)].map((e) => e.getBoundingClientRect());
  const overlaps = (bs) => bs.slice(1).filter((b, i) => b.left < bs[i].right - 0.5).length;
  // a weight printed sideways (narrow columns) takes its line's height across: its box is an em and a bit
  // wide while its digits' ink is under one em, so adjacent ones need their centres one font size apart
  const crowded = (es) => es.slice(1).filter((e, i) => {
    const a = es[i].getBoundingClientRect(), b = e.getBoundingClientRect();
    return (b.left + b.right) / 2 - (a.left + a.right) / 2 < parseFloat(getComputedStyle(e).fontSize);
  }).length;
  const ws = [...el.querySelectorAll('.sb-at-w')].sort((a, b) => a.dataset.j - b.dataset.j);
  const letters = [...el.querySelectorAll('.sb-at-letter')];
  const svg = el.querySelector('svg.sb-at-plot').getBoundingClientRect();
  const panel = el.querySelector('.sb-panel').getBoundingClientRect();
  return {small, letterPx: Math.min(...letters.map((e) => parseFloat(getComputedStyle(e).fontSize))),
          letterOverlaps: overlaps(boxes('.sb-at-letter')), weightOverlaps: ws[0].getAttribute('transform') ? crowded(ws) : overlaps(ws.map((e) => e.getBoundingClientRect())),
          svgOut: svg.right - panel.right, widget: el.scrollWidth - el.clientWidth,
          doc: document.documentElement.scrollWidth - document.documentElement.clientWidth, width: svg.width};
}"""


def test_phone_fits_without_sideways_scroll(probe_origin, browser, audit_log):
    w = _w()
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    context.set_default_timeout(bookcheck.LOAD_TIMEOUT_MS)
    page = context.new_page()
    audit = bookcheck.PageAudit(url=f"{probe_origin}/{PAGE}", origin=probe_origin)
    audit.attach(context, page)
    lines = []
    try:
        page.goto(audit.url, wait_until="load")
        bookcheck.wait_for_mathjax(page)
        bookcheck.wait_for_widgets(page)
        root = _root(page)
        for word in w.words:
            _choose(page, root, word, "greedy")
            info = root.evaluate(_PHONE_JS)
            assert info["doc"] <= 0, f"{word}: the page scrolls sideways by {info['doc']} px at 390 px"
            assert info["widget"] <= 0 and info["svgOut"] <= 1, f"{word}: wider than its column: {info}"
            assert info["letterPx"] >= 11 and not info["small"], f"{word}: text too small: {info}"
            assert info["letterOverlaps"] == 0 and info["weightOverlaps"] == 0, f"{word}: overlapping text: {info}"
            lines.append(f"{word} ({len(word)} letters): svg {info['width']:.0f} px, letters {info['letterPx']} px")
        # a tap on the next button and on a cell
        root.locator(".sb-control[data-name=step] button.sb-next").tap()
        _wait_step(page, root, 1)
        root.locator(".sb-at-cell[data-l='0'][data-j='3']").tap()
        d = w.expected(word=w.words[-1], decoder="greedy", step=1)
        assert root.locator(".sb-at-probe-w").inner_text() == f"{d['weights'][0][3]:.3f}"
        problems = _clean(audit)
    finally:
        context.close()
    audit_log(f"{PAGE} attention_decoding at 390 px, no sideways scroll: " + "; ".join(lines))
    print("\n".join(lines))
    assert not problems, "\n  ".join(problems)
