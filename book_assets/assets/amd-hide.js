/* popper.js and tippy.js are UMD bundles: on a page where require.js is loaded
 * (the pages with widgets) they would register as anonymous AMD modules
 * ("Mismatched anonymous define() module") instead of setting window.tippy,
 * which sphinx-tippy's tips need.  This hides require.js's define() while the
 * two load (deferred scripts run in order); amd-restore.js puts it back. */
if (window.define && window.define.amd) {
  window.__seqHiddenDefine = window.define;
  window.define = undefined;
}
