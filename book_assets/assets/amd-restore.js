/* See amd-hide.js: give require.js its define() back once tippy.js has loaded. */
if (window.__seqHiddenDefine) {
  window.define = window.__seqHiddenDefine;
  delete window.__seqHiddenDefine;
}
