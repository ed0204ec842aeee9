"""What a reader does with the page chrome, done as a reader does it (headless Chromium).

* **The header's menu buttons work**: at 390 x 844 and 1280 x 800 the
  *visible* chapter-list button (☰) and, where shown, the page-contents
  button are clicked; the chapter list must then show (a dialog with the
  book's chapters on a phone) or fold away (the sidebar on a desktop), and the
  contents dialog must list the page's sections.
* **Light only**: the colour-scheme switch is not shown, and a page opened
  with a dark mode saved by an earlier visit, or asked for by the system,
  renders light.
* **Search shows rendered text**: the result snippets hold typeset formulas
  and no TeX source, no MathJax error, and each result link is listed once.
* **The download menu's .pdf** leads to the whole-book PDF (it no longer
  prints the page).
* **Pictures early, pages shorter**: every chapter shows a picture of its idea
  within its first 3 desktop screens; no chapter or section page is longer
  than 20.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import bookcheck

REPO = Path(__file__).resolve().parents[2]
PAGE = "chapters/rnn_recurrence.html"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}

VISIBLE_JS = """(cls) => Array.from(document.querySelectorAll('button.' + cls)).map((b, i) => {
  const r = b.getBoundingClientRect(), cs = getComputedStyle(b);
  return {i, shown: r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'};
}).filter((b) => b.shown).map((b) => b.i)"""

STATE_JS = """() => {
  const side = document.querySelector('#pst-primary-sidebar');
  const dlg = document.querySelector('dialog[open]');
  const cs = side ? getComputedStyle(side) : null;
  const r = dlg ? dlg.getBoundingClientRect() : null;
  return {
    sidebar_shown: !!side && cs.visibility !== 'hidden' && cs.display !== 'none' && side.getBoundingClientRect().width > 0
                   && side.getBoundingClientRect().right > 0,
    dialog: dlg ? dlg.id : null,
    dialog_shown: !!r && r.width > 100 && r.height > 100,
    dialog_links: dlg ? Array.from(dlg.querySelectorAll('a')).map((a) => a.textContent.trim()) : [],
  };
}"""


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_chapter_list_button_opens_the_chapters(device, book_html, book_origin, browser):
    with bookcheck.open_page(browser, book_origin, PAGE, viewport=VIEWPORTS[device]) as (page, audit):
        visible = page.evaluate(VISIBLE_JS, "primary-toggle")
        assert visible, f"no visible chapter-list button at {device}"
        before = page.evaluate(STATE_JS)
        page.locator("button.primary-toggle").nth(visible[0]).click()
        page.wait_for_timeout(400)
        after = page.evaluate(STATE_JS)
        if device == "phone":
            assert not before["sidebar_shown"], "on a phone the chapter list is hidden until asked for"
            assert after["dialog"] == "pst-primary-sidebar-modal" and after["dialog_shown"], after
            assert any("Recurrent Neural Networks" in t for t in after["dialog_links"]), after["dialog_links"]
            assert any("Back-Propagation Through Time" in t for t in after["dialog_links"]), after["dialog_links"]
            page.keyboard.press("Escape")
            page.wait_for_timeout(300)
            assert page.evaluate(STATE_JS)["dialog"] is None, "Escape closes the chapter list"
        else:
            assert before["sidebar_shown"] and not after["sidebar_shown"], (before, after)
            page.locator("button.primary-toggle").nth(visible[0]).click()
            page.wait_for_timeout(400)
            assert page.evaluate(STATE_JS)["sidebar_shown"], "a second click brings the chapter list back"
        assert not audit.page_errors, audit.page_errors


def test_contents_button_opens_the_page_contents(book_html, book_origin, browser):
    with bookcheck.open_page(browser, book_origin, PAGE, viewport=VIEWPORTS["phone"]) as (page, audit):
        visible = page.evaluate(VISIBLE_JS, "secondary-toggle")
        assert visible, "no visible contents button on a phone"
        page.locator("button.secondary-toggle").nth(visible[0]).click()
        page.wait_for_timeout(400)
        after = page.evaluate(STATE_JS)
        assert after["dialog"] == "pst-secondary-sidebar-modal" and after["dialog_shown"], after
        headings = page.evaluate("() => Array.from(document.querySelectorAll('article h2')).map((h) => h.textContent.replace('#', '').trim())")
        assert headings and all(any(h[:20] in t for t in after["dialog_links"]) for h in headings), (headings, after["dialog_links"])


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_light_only(device, book_html, book_origin, browser):
    context = browser.new_context(viewport=VIEWPORTS[device], color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(f"{book_origin}/{PAGE}")
        page.evaluate("() => { localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark'); }")
        page.reload(wait_until="load")
        page.wait_for_timeout(300)
        state = page.evaluate("""() => ({theme: document.documentElement.dataset.theme,
            bg: getComputedStyle(document.body).backgroundColor,
            switches: Array.from(document.querySelectorAll('.theme-switch-button'))
                .filter((b) => b.getBoundingClientRect().width > 0).length})""")
        assert state["theme"] == "light", state
        assert state["bg"] in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), state
        assert state["switches"] == 0, state
    finally:
        context.close()


SEARCH_DONE = ("() => { const s = document.querySelector('#search-results p.search-summary');"
               " return s && /finished/.test(s.textContent); }")


@pytest.mark.parametrize("query", ["truncation", "hidden state"])
def test_search_results_render_math_and_list_each_result_once(query, book_html, book_origin, browser):
    rel = f"search.html?q={query.replace(' ', '+')}"
    with bookcheck.open_page(browser, book_origin, rel, settle=False) as (page, audit):
        page.wait_for_function(SEARCH_DONE, timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        res = page.evaluate("""() => {
          const items = Array.from(document.querySelectorAll('#search-results ul li'));
          const shown = (el) => { const c = el.cloneNode(true); c.querySelectorAll('mjx-container').forEach((m) => m.remove()); return c.textContent; };
          return {hrefs: items.map((li) => li.querySelector('a').getAttribute('href')),
                  text: items.map(shown).join('\\n'),
                  typeset: document.querySelectorAll('#search-results mjx-container').length,
                  errors: document.querySelectorAll('#search-results mjx-merror').length};
        }""")
    assert len(res["hrefs"]) >= 3, res["hrefs"]
    assert len(res["hrefs"]) == len(set(res["hrefs"])), f"a result listed twice: {res['hrefs']}"
    for tex in ("\\(", "\\)", "\\bsf", "\\mathrm"):
        assert tex not in res["text"], f"TeX source {tex!r} in the results: {res['text'][:400]}"
    assert res["typeset"] > 0 and res["errors"] == 0, res
    assert not audit.blocked and not audit.page_errors, (audit.blocked, audit.page_errors)


# ---------------------------------------------------------------- pictures early, pages shorter

SCREEN = 800          # a desktop screen's height at 1280 x 800
FIRST_PICTURE = 3     # a chapter shows a picture of its idea within its first 3 screens
MAX_SCREENS = 20      # a page longer than this is split into sections
APPENDICES = {"chapters/libraries.html", "chapters/performance.html"}


def _chapters() -> list[str]:
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{c['file']}.html" for p in toc["parts"] if p.get("numbered") for c in p["chapters"]]


def _chapter_pages() -> list[str]:
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    out = []
    for part in toc["parts"]:
        for c in part["chapters"]:
            out += [f"{c['file']}.html"] + [f"{s['file']}.html" for s in c.get("sections", [])]
    return [p for p in out if p.startswith("chapters/")]


PICTURE_JS = """() => {
  const art = document.querySelector('article.bd-article');
  const pics = Array.from(art.querySelectorAll('figure img, div.cell_output img, .sb-widget svg'))
    .filter((el) => el.getBoundingClientRect().height > 40);
  const first = pics.length ? pics[0].getBoundingClientRect().top + window.scrollY : null;
  return {first, height: document.documentElement.scrollHeight};
}"""


@bookcheck.probe("pictures", widths=(1280,))
def _pictures(page, audit, rel: str, width: int) -> dict:
    return page.evaluate(PICTURE_JS)


@pytest.mark.parametrize("rel", _chapters())
def test_a_chapter_shows_its_idea_early(rel, book_html, book_origin, browser):
    got = bookcheck.visit(browser, book_origin, rel, 1280).result("pictures")
    assert got["first"] is not None, f"{rel}: no figure"
    screens = got["first"] / SCREEN
    print(f"\n{rel}: first picture at screen {screens:.1f}")
    assert screens < FIRST_PICTURE, f"{rel}: the first figure starts at screen {screens:.1f} (>= {FIRST_PICTURE})"


@pytest.mark.parametrize("rel", [p for p in _chapter_pages() if p not in APPENDICES])
def test_a_page_is_at_most_twenty_screens(rel, book_html, book_origin, browser):
    got = bookcheck.visit(browser, book_origin, rel, 1280).result("pictures")
    screens = got["height"] / SCREEN
    print(f"\n{rel}: {screens:.1f} screens")
    assert screens <= MAX_SCREENS, f"{rel}: {screens:.1f} desktop screens long (> {MAX_SCREENS}): split it"


@pytest.mark.parametrize("rel", [PAGE, "chapters/bptt_delta.html"])
def test_download_menu_pdf_is_the_whole_book(rel, book_html, book_origin, browser):
    with bookcheck.open_page(browser, book_origin, rel, settle=False) as (page, _):
        got = page.evaluate("""() => ({
          printers: document.querySelectorAll('button.btn-download-pdf-button').length,
          links: Array.from(document.querySelectorAll('.dropdown-download-buttons a.btn-download-book-pdf'))
                   .map((a) => a.href)})""")
    assert got["printers"] == 0, "the theme's print-this-page item is still in the menu"
    assert got["links"] == [f"{book_origin}/sequence-modeling.pdf"], got
