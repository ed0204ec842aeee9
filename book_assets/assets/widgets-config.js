/*
 * Offline set-up for the ipywidgets embedded in the book's pages.
 *
 * Loaded on pages that hold widget state (myst-nb's nb_ipywidgets_js, see
 * _config.yml), in this order: vendor/requirejs/require.js, this file,
 * vendor/html-manager/embed-amd.js.  Served from <book root>/assets/; the
 * vendored files are in <book root>/vendor/ (fetched by tools/vendor.py).
 *
 * 1. Points RequireJS at the local copy of @jupyter-widgets/html-manager.
 *    Each module embed-amd.js defines (html-manager, base, controls, and
 *    their ipywidgets-7 twins) derives its webpack public path (where its
 *    font-awesome .woff2 files are fetched from) from the URL RequireJS gives
 *    it, so every one of those URLs must be in the local folder.  Paths are computed from this script's own URL, so
 *    they work at any page depth and from file:// as well as http(s)://.
 *    anywidget, the front end of the book's own widgets, is vendored too
 *    (vendor/anywidget/index.js, an AMD module that RequireJS alone may load).
 *
 * 2. Gives MathJax 3 a `MathJax.Hub.Queue` stand-in.  @jupyter-widgets/controls
 *    still calls the MathJax 2 API to typeset widget descriptions
 *    (`MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`) whenever
 *    `window.MathJax` is defined; without this it throws a TypeError.
 *    Write math in widget descriptions as \( .. \), not $ .. $.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var here = script && script.src ? script.src : document.baseURI;
  var vendor = new URL("../vendor/", here).href;

  if (typeof window.require === "function" && typeof window.require.config === "function") {
    window.require.config({
      // Every module embed-amd.js defines derives its webpack public path
      // (where its font files are fetched from) from the URL RequireJS gives
      // it, so each named module must resolve into the local folder; the
      // file names themselves are never fetched (the modules are inline).
      paths: {
        "@jupyter-widgets/html-manager/dist": vendor + "html-manager",
        "@jupyter-widgets/html-manager": vendor + "html-manager/html-manager",
        "@jupyter-widgets/base": vendor + "html-manager/base",
        "@jupyter-widgets/base7": vendor + "html-manager/base7",
        "@jupyter-widgets/controls": vendor + "html-manager/controls",
        "@jupyter-widgets/controls7": vendor + "html-manager/controls7",
        // anywidget's front end (the book's widgets, seqlib/widgets/_engine.py): the key is the
        // widgets' _model_module; without it the html-manager would fetch it from a CDN
        "anywidget": vendor + "anywidget/index"
      }
    });
  } else {
    console.error("widgets-config.js: require.js must be loaded before this script");
  }

  function typeset(element) {
    var mj = window.MathJax;
    if (!mj || !mj.startup || !mj.startup.promise || typeof mj.typesetPromise !== "function") {
      return false;
    }
    mj.startup.promise
      .then(function () {
        return mj.typesetPromise(element ? [element] : undefined);
      })
      .catch(function (err) {
        console.error("MathJax could not typeset a widget description:", err);
      });
    return true;
  }

  function queue() {
    for (var i = 0; i < arguments.length; i++) {
      var cmd = arguments[i];
      if (typeof cmd === "function") {
        cmd();
      } else if (Array.isArray(cmd) && cmd[0] === "Typeset") {
        var element = cmd[2];
        if (!typeset(element)) {
          // MathJax 3 has not started yet: try again once the page has loaded.
          window.addEventListener("load", function () { typeset(element); }, { once: true });
        }
      }
    }
  }

  function addHub(mj) {
    // Only the MathJax 3 object itself (it has .version); the plain
    // configuration object Sphinx assigns first is left untouched.
    if (mj && typeof mj === "object" && mj.version && !mj.Hub) {
      mj.Hub = { Queue: queue };
    }
  }

  // MathJax 3 replaces window.MathJax (the configuration) with its own object
  // when its script runs; catch that assignment to add the stand-in.
  var current = window.MathJax;
  addHub(current);
  try {
    Object.defineProperty(window, "MathJax", {
      configurable: true,
      enumerable: true,
      get: function () { return current; },
      set: function (value) { current = value; addHub(value); }
    });
  } catch (err) {
    console.error("widgets-config.js: cannot watch window.MathJax:", err);
  }
})();
