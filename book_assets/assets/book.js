/* Inline formulas wider than their line (a long formula on a phone) become a
 * small sideways-scrolling box with the scroll shadow of book.css, instead of
 * being clipped by the box around them or making the whole page scroll.
 * MathJax 4 breaks long inline formulas too; what is left is measured after it typesets, and
 * again when the window changes width. */
(function () {
  "use strict";
  /* Light only (book.css "one colour scheme"): pydata-sphinx-theme reads the
   * mode from localStorage ("dark", "light" or "auto", which follows the
   * system) when the page loads. */
  try {
    localStorage.setItem("mode", "light");
    localStorage.setItem("theme", "light");
  } catch (e) { /* storage blocked: the theme's default, light, applies */ }
  document.documentElement.dataset.mode = "light";
  document.documentElement.dataset.theme = "light";
  function mark() {
    document.querySelectorAll("span.math").forEach(function (span) {
      var math = span.querySelector("mjx-container > mjx-math");
      var block = span.closest("p, li, dd, td, th, figcaption, div");
      if (!math || !block) return;
      span.classList.remove("seq-wide-math");
      var room = block.getBoundingClientRect().width;
      if (math.getBoundingClientRect().width > room + 1) span.classList.add("seq-wide-math");
    });
  }
  /* A line must not start with the punctuation that follows a formula: the
   * formula and the characters up to the next space go into one span that
   * does not break (book.css span.seq-nobreak). */
  var PUNCT = /^[,.;:!?)\]\u2019\u201d%]+/;
  function keepPunctuation() {
    document.querySelectorAll("article.bd-article span.math, figcaption span.math").forEach(function (span) {
      var next = span.nextSibling;
      if (!next || next.nodeType !== 3 || span.parentElement.classList.contains("seq-nobreak")) return;
      var m = PUNCT.exec(next.nodeValue);
      if (!m) return;
      var wrap = document.createElement("span");
      wrap.className = "seq-nobreak";
      span.parentNode.insertBefore(wrap, span);
      wrap.appendChild(span);
      wrap.appendChild(document.createTextNode(m[0]));
      next.nodeValue = next.nodeValue.slice(m[0].length);
    });
  }
  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(function () { keepPunctuation(); mark(); });
    } else {
      setTimeout(start, 100);
    }
  }
  /* MathJax 4 breaks long equations to the width at typesetting time; when
   * the window's width changes they are broken again (from the metrics
   * stage, about 0.1 s a page).  Only the math in the page: a hidden hover
   * preview's formula, re-rendered while hidden, would come back unbroken. */
  var lastWidth = window.innerWidth;
  function rebreak() {
    var doc = window.MathJax && MathJax.startup && MathJax.startup.document;
    var core = window.MathJax && MathJax._ && MathJax._.core && MathJax._.core.MathItem;
    if (!doc || !core || !doc.rerenderPromise) return Promise.resolve();
    var all = doc.math;
    var shown = Array.from(all).filter(function (item) {
      return item.typesetRoot && item.typesetRoot.isConnected && !item.typesetRoot.closest(".tippy-box");
    });
    var list = new all.constructor();
    shown.forEach(function (item) { list.push(item); });
    doc.math = list;
    var done = doc.rerenderPromise(core.STATE.METRICS);
    return done.then(function () { doc.math = all; }, function (e) { doc.math = all; throw e; });
  }
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (window.innerWidth === lastWidth) { mark(); return; }
      lastWidth = window.innerWidth;
      rebreak().then(mark, mark);
    }, 200);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  /* Citations preview on hover like equations and figures do (sphinx-tippy
   * makes those): sphinxcontrib-bibtex puts the full reference in the link's
   * title, which becomes a tippy tooltip (offline: tippy.js is vendored). */
  function citationTips() {
    if (!window.tippy) return;
    var links = document.querySelectorAll('article.bd-article a.reference.internal[href*="bibliography.html#"][title]');
    links.forEach(function (a) {
      if (a._tippy) return;
      var text = a.getAttribute("title");
      a.removeAttribute("title");
      window.tippy(a, { content: text, placement: "auto-start", maxWidth: 500, delay: [200, 100] });
    });
  }
  window.addEventListener("load", function () { setTimeout(citationTips, 0); });

  /* The header's menu buttons.  The themes bind the chapter list (.primary-toggle)
   * and the page contents (.secondary-toggle) to the FIRST such button in the
   * page, which is in pydata-sphinx-theme's top navbar, hidden by book.css.  A
   * click on a button the reader sees is passed on to that bound one, which
   * opens the sidebar as a dialog on narrow screens and, for the chapter list,
   * folds the sidebar away on wide ones (tests/browser/test_reader.py clicks
   * the visible buttons). */
  function forwardToggles() {
    ["primary-toggle", "secondary-toggle"].forEach(function (cls) {
      var all = Array.prototype.slice.call(document.querySelectorAll("button." + cls));
      var bound = all[0];
      all.slice(1).forEach(function (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          bound.click();
        });
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", forwardToggles);
  else forwardToggles();

  /* The download menu's ".pdf": the theme's item prints the current page
   * (window.print); in this book it opens the whole book as one PDF
   * (`make pdf` writes it next to the intro, which links it too). */
  function wholeBookPdf() {
    var root = document.documentElement.dataset.content_root || "";
    document.querySelectorAll("button.btn-download-pdf-button").forEach(function (button) {
      var link = document.createElement("a");
      link.className = button.className.replace("btn-download-pdf-button", "btn-download-book-pdf");
      link.href = root + "sequence-modeling.pdf";
      link.title = "The whole book as one PDF";
      link.setAttribute("aria-label", "The whole book as one PDF");
      link.innerHTML = button.innerHTML;
      button.replaceWith(link);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wholeBookPdf);
  else wholeBookPdf();

  /* Search results (search.html).  Sphinx shows under each result a snippet
   * of the page's text, in which a formula is still its TeX source; here the
   * snippet's formulas are typeset by MathJax (loaded on the search page by
   * _ext/search_math.py), a formula the 240-character snippet cut in two is
   * dropped, and a page (or section) found twice is listed once. */
  var TEX = /\\\(([\s\S]*?)\\\)/g;
  function trimTeX(text) {
    var open = text.lastIndexOf("\\("), close = text.lastIndexOf("\\)");
    if (open > close) text = text.slice(0, open);
    var first = text.indexOf("\\)"), firstOpen = text.indexOf("\\(");
    if (first >= 0 && (firstOpen < 0 || first < firstOpen)) text = text.slice(first + 2);
    return text;
  }
  function typesetSummary(p) {
    if (p.dataset.seqTypeset) return;
    p.dataset.seqTypeset = "1";
    var text = trimTeX(p.textContent);
    if (text.indexOf("\\(") < 0 && text === p.textContent) return;
    // the search terms Sphinx highlighted, highlighted again in the new text
    var terms = Array.from(new Set(Array.from(p.querySelectorAll("span.highlighted"))
      .map(function (h) { return h.textContent.toLowerCase(); }).filter(Boolean)));
    var hit = terms.length ? new RegExp("(" + terms.map(function (t) {
      return t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }).join("|") + ")", "gi") : null;
    function plain(str) {
      if (!hit) return p.appendChild(document.createTextNode(str));
      str.split(hit).forEach(function (piece, i) {
        if (i % 2 === 1) {
          var h = p.appendChild(document.createElement("span"));
          h.className = "highlighted";
          h.textContent = piece;
        } else if (piece) p.appendChild(document.createTextNode(piece));
      });
    }
    var mj = window.MathJax;
    p.textContent = "";
    var last = 0, m, jobs = [];
    TEX.lastIndex = 0;
    while ((m = TEX.exec(text)) !== null) {
      plain(text.slice(last, m.index));
      var slot = p.appendChild(document.createElement("span"));
      slot.className = "math notranslate nohighlight";
      slot.textContent = m[1];
      jobs.push([slot, m[1]]);
      last = TEX.lastIndex;
    }
    plain(text.slice(last));
    if (!jobs.length || !mj || !mj.tex2chtmlPromise) return;
    mj.startup.promise.then(function () {
      return Promise.all(jobs.map(function (job) {
        return mj.tex2chtmlPromise(job[1], {display: false}).then(function (node) {
          job[0].textContent = "";
          job[0].appendChild(node);
        });
      }));
    }).then(function () {
      mj.startup.document.clear();
      mj.startup.document.updateDocument();
    });
  }
  function searchResults() {
    var box = document.getElementById("search-results");
    if (!box) return;
    var seen = new Set();
    new MutationObserver(function (mutations) {
      mutations.forEach(function (mutation) {
        mutation.addedNodes.forEach(function (node) {
          if (node.nodeType !== 1) return;
          if (node.tagName === "LI" && node.parentElement && node.parentElement.tagName === "UL") {
            var a = node.querySelector("a");
            var href = a ? a.getAttribute("href") : null;
            if (href && seen.has(href)) { node.remove(); return; }
            if (href) seen.add(href);
          }
          if (node.matches && node.matches("p.context")) typesetSummary(node);
        });
      });
    }).observe(box, {childList: true, subtree: true});
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", searchResults);
  else searchResults();
})();
