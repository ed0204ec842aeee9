/* Inline formulas wider than their line (a long formula on a phone) become a
 * small sideways-scrolling box with the scroll shadow of book.css, instead of
 * being clipped by the box around them or making the whole page scroll.
 * MathJax 4 breaks long inline formulas too; what is left is measured after it typesets, and
 * again when the window changes width. */
(function () {
  "use strict";
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
})();
