/* Inline formulas wider than their line (a long formula on a phone) become a
 * small sideways-scrolling box with the scroll shadow of book.css, instead of
 * being clipped by the box around them or making the whole page scroll.
 * MathJax 3 does not break lines, so this is measured after it typesets, and
 * again when the window changes width. */
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll("span.math").forEach(function (span) {
      var math = span.querySelector("mjx-container > mjx-math");
      var block = span.parentElement;
      if (!math || !block) return;
      span.classList.remove("seq-wide-math");
      var room = block.getBoundingClientRect().width;
      if (math.getBoundingClientRect().width > room + 1) span.classList.add("seq-wide-math");
    });
  }
  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(mark);
    } else {
      setTimeout(start, 100);
    }
  }
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(mark, 150);
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
})();
