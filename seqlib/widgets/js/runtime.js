// runtime.js: the shared front end of the book's widgets (seqlib/widgets/_engine.py).
//
// Not a module of its own: _engine.esm_source() concatenates this file, the
// mirrors a view needs (js/mirror/*.js), the view (js/views/*.js, which
// defines `const VIEW`) and `export default {render}` into one ESM.  Plain
// DOM and SVG, no dependencies, no network.
//
// A VIEW is an object with
//   controls(options, setting) -> [control spec]      the controls, in order (see makeControl)
//   layout(view)                                        builds its panels once (view.panel(...))
//   draw(view, data, setting)                           draws `data` (same keys as seqlib's compute)
//   compute(setting, base, options) -> data             the page's own numbers (the JS mirror)
//   enabled(setting, options) -> {name: bool}           optional: which controls apply
//   normalize(setting, options, base) -> setting        optional: e.g. clamp κ to T
//   refresh(controls, setting, options, base)           optional: change a control's stops (ctl.setValues)
//   describe(data, setting, options) -> string          optional: the picture's text alternative
//   warmup(setting, base, options)                      optional: compute what the first changes will
//                                                       (run once when the page is idle; default: compute)
//
// Test hooks, on the widget's root element (`.seqlib-widget`): el.seqbook =
//   {kind, live, setting, data, compute(setting), set(partial) -> Promise, repaint: {computeMs, drawMs}}

"use strict";

const SVGNS = "http://www.w3.org/2000/svg";

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "html") el.innerHTML = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

// ------------------------------------------------------------------ arrays from Python

// A flat Float64Array from a nested list of numbers, or from a packed array
// ({__f64__: base64 of little-endian float64, shape}: _engine.packed), bit for bit.
function unpackF64(v) {
  if (v && typeof v === "object" && typeof v.__f64__ === "string") {
    const bin = atob(v.__f64__);
    const view = new DataView(new ArrayBuffer(bin.length));
    for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
    const out = new Float64Array(bin.length / 8);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  }
  return Float64Array.from(Array.isArray(v) ? v.flat(Infinity) : [v]);
}

// ------------------------------------------------------------------ numbers as text

const SUPERSCRIPT = { "-": "\u207b", "0": "\u2070", "1": "\u00b9", "2": "\u00b2", "3": "\u00b3", "4": "\u2074",
  "5": "\u2075", "6": "\u2076", "7": "\u2077", "8": "\u2078", "9": "\u2079" };

// x to `digits` significant digits; scientific as "3.2×10⁻⁵" (real text) outside [1e-3, 1e4).
function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "n/a";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e4) {
    const t = Number(x.toPrecision(digits));
    return String(t).replace("-", "−");
  }
  const e = Math.floor(Math.log10(a));
  let m = Number((x / 10 ** e).toPrecision(digits));
  let ee = e;
  if (Math.abs(m) >= 10) { m /= 10; ee += 1; }
  const exp = String(ee).split("").map((c) => SUPERSCRIPT[c]).join("");
  return (m === 1 ? "" : String(m).replace("-", "−") + "×") + "10" + exp;
}

function pow10Label(e) {
  return "10" + String(e).split("").map((c) => SUPERSCRIPT[c]).join("");
}

// ------------------------------------------------------------------ math in labels

// TeX typeset like the page's math.  In the book, MathJax (which knows the
// book's macros, e.g. \bsf) typesets it; where there is no MathJax on the page
// (JupyterLab's output area), a small TeX-to-HTML fallback draws it.
const TEX_QUEUE = [];
let texFlushing = null;

function tex(src, cls = "") {
  const span = h("span", { class: ("sb-tex " + cls).trim(), "data-tex": src });
  const mj = globalThis.MathJax;
  if (mj && typeof mj.typesetPromise === "function") {
    span.textContent = "\\(" + src + "\\)";
    TEX_QUEUE.push(span);
    scheduleTypeset();
  } else {
    span.innerHTML = texFallback(src);
    span.classList.add("sb-tex-fallback");
  }
  return span;
}

function scheduleTypeset() {
  if (texFlushing) return;
  const mj = globalThis.MathJax;
  const start = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
  texFlushing = start.then(() => new Promise((r) => setTimeout(r, 0))).then(() => {
    const nodes = TEX_QUEUE.splice(0).filter((n) => n.isConnected);
    texFlushing = null;
    if (!nodes.length) return;
    return mj.typesetPromise(nodes).catch((err) => console.error("seqlib widget: MathJax failed", err));
  });
}

function typesetDone() {
  return texFlushing || Promise.resolve();
}

const TEX_SYMBOLS = {
  "\\lVert": "‖", "\\rVert": "‖", "\\Vert": "‖", "\\|": "‖", "\\ell": "ℓ", "\\delta": "δ", "\\kappa": "κ",
  "\\gamma": "γ", "\\sigma": "σ", "\\odot": "⊙", "\\cdot": "·", "\\times": "×", "\\le": "≤", "\\ge": "≥",
  "\\sum": "∑", "\\log": "log", "\\top": "⊤", "\\to": "→", "\\infty": "∞", "\\approx": "≈", "\\,": " ",
  "\\;": " ", "\\quad": "  ", "\\partial": "∂", "\\alpha": "α", "\\rho": "ρ", "\\prime": "′",
  "\\ne": "≠", "\\lt": "<", "\\gt": ">", "\\mid": "|", "\\ldots": "…", "\\dots": "…", "\\lvert": "|",
  "\\rvert": "|", "\\backslash": "\\", "\\left": "", "\\right": "", "\\mathcal{L}": "𝓛", "\\eta": "η", "\\tau": "τ",
};

// A fallback for the labels' small TeX: letters italic, \bsf{x} and \boldsymbol{x} bold,
// _ and ^ as <sub>/<sup>, \mathrm{..} upright, \operatorname{..}, \text{..}.
function texFallback(src, script = false) {  // script: inside a sub- or superscript
  let i = 0;
  const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  function group(inScript = script) {
    // one argument: {..} or a single token
    while (src[i] === " ") i++;
    if (src[i] === "{") {
      i++;
      let depth = 1, j = i;
      while (j < src.length && depth) { if (src[j] === "{") depth++; else if (src[j] === "}") depth--; j++; }
      const inner = src.slice(i, j - 1);
      i = j;
      return texFallback(inner, inScript);
    }
    if (src[i] === "\\") return token();
    const c = src[i++] || "";
    return /[a-zA-Z]/.test(c) ? `<i>${c}</i>` : esc(c);
  }
  function rawGroup() {
    while (src[i] === " ") i++;
    if (src[i] !== "{") return src[i++] || "";
    let depth = 1, j = i + 1;
    while (j < src.length && depth) { if (src[j] === "{") depth++; else if (src[j] === "}") depth--; j++; }
    const inner = src.slice(i + 1, j - 1);
    i = j;
    return inner;
  }
  function token() {
    const m = /^\\([a-zA-Z]+|.)/.exec(src.slice(i));
    i += m[0].length;
    const name = "\\" + m[1];
    if (name === "\\bsf" || name === "\\boldsymbol" || name === "\\mathbf") return `<b class="sb-bsf">${group()}</b>`;
    if (name === "\\mathrm" || name === "\\operatorname" || name === "\\text") return esc(rawGroup());
    if (name === "\\mathbb") {  // double-struck capitals, e.g. 𝕃
      const r = rawGroup();
      const special = { C: "ℂ", H: "ℍ", N: "ℕ", P: "ℙ", Q: "ℚ", R: "ℝ", Z: "ℤ" };
      return [...r].map((c) => special[c] || (/[A-Z]/.test(c) ? String.fromCodePoint(0x1d538 + c.charCodeAt(0) - 65) : c)).join("");
    }
    if (name === "\\frac") { const a = group(); const b = group(); return `${a}/${b}`; }
    if (name === "\\hat") {  // a combining circumflex inside the letter's element: p̂
      const g = group();
      return g.endsWith("</i>") ? g.slice(0, -4) + "\u0302</i>" : g + "\u0302";
    }
    if (name in TEX_SYMBOLS) return TEX_SYMBOLS[name];
    return esc(m[1]);
  }
  let out = "";
  while (i < src.length) {
    const c = src[i];
    if (c === "\\") out += token();
    else if (c === "_") { i++; out += `<sub>${group(true)}</sub>`; }
    else if (c === "^") { i++; out += `<sup>${group(true)}</sup>`; }
    else if (c === "{" ) out += group();
    else if (/[a-zA-Z]/.test(c)) { out += `<i>${c}</i>`; i++; }
    else if (c === "'") { out += "′"; i++; }
    else if (c === " ") i++;  // math mode ignores spaces ...
    else if (!script && ("=+<>".includes(c) || c === "\u2212")) { out += ` ${esc(c)} `; i++; }  // ... and spaces relations
    else { out += esc(c); i++; }
  }
  return out;
}

// A label: a string is TeX; {text} is plain text; an array mixes both.
function label(spec) {
  if (spec === null || spec === undefined) return null;
  if (typeof spec === "string") return tex(spec);
  if (Array.isArray(spec)) return h("span", {}, spec.map(label));
  if (spec.text !== undefined) return h("span", {}, spec.text);
  return null;
}

// ------------------------------------------------------------------ colour

// viridis at 9 stops (matplotlib), interpolated: readable on light and dark pages
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];

function viridis(u) {
  u = Math.min(1, Math.max(0, u));
  const x = u * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  const c = [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k])));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// ------------------------------------------------------------------ scales and plots

function linScale(d0, d1, r0, r1) {
  const k = (r1 - r0) / (d1 - d0 || 1);
  const f = (v) => r0 + (v - d0) * k;
  f.domain = [d0, d1];
  f.type = "lin";
  return f;
}

function logScale(d0, d1, r0, r1) {
  const l0 = Math.log10(d0), l1 = Math.log10(d1);
  const k = (r1 - r0) / (l1 - l0 || 1);
  const f = (v) => r0 + (Math.log10(v) - l0) * k;
  f.domain = [d0, d1];
  f.type = "log";
  return f;
}

function niceTicks(d0, d1, n = 5) {
  const span = d1 - d0;
  if (!(span > 0)) return [d0];
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => span / st <= n) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(d0 / step - 1e-9) * step; v <= d1 + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(d0, d1, maxTicks = 6) {
  const e0 = Math.ceil(Math.log10(d0) - 1e-9), e1 = Math.floor(Math.log10(d1) + 1e-9);
  let every = 1;
  while ((e1 - e0) / every + 1 > maxTicks) every++;
  const out = [];
  for (let e = e0; e <= e1; e++) if ((e - e0) % every === 0) out.push(e);
  return out;
}

// A plot in an SVG of the host's width: axes, ticks and tick labels as SVG text.
//   opts: {height, margin: {l, r, t, b}, x: {type, domain, ticks?, integer?}, y: {...}, ariaLabel}
// Returns {svg, sx, sy, area: <g>, width, height, inner: {w, h}}
function plot(host, opts) {
  const width = Math.max(200, Math.floor(opts.width || host.clientWidth || 320));
  const height = opts.height || Math.round(width * (opts.aspect || 0.62));
  const m = Object.assign({ l: 52, r: 12, t: 10, b: 30 }, opts.margin || {});
  const iw = width - m.l - m.r, ih = height - m.t - m.b;
  const mk = (ax, r0, r1) => (ax.type === "log" ? logScale(ax.domain[0], ax.domain[1], r0, r1)
    : linScale(ax.domain[0], ax.domain[1], r0, r1));
  const sx = mk(opts.x, m.l, m.l + iw);
  const sy = opts.y.flip ? mk(opts.y, m.t, m.t + ih) : mk(opts.y, m.t + ih, m.t);
  const svg = s("svg", { class: "sb-plot", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": opts.ariaLabel || "" });
  const axes = s("g", { class: "sb-axes" });
  const area = s("g", { class: "sb-area" });
  svg.append(area, axes);
  const tickText = (x, y, anchor, text, dy) => {
    const t = s("text", { x, y, "text-anchor": anchor, dy: dy || "0.32em", class: "sb-tick" });
    t.textContent = text;
    return t;
  };
  for (const [ax, sc, horiz] of [[opts.x, sx, true], [opts.y, sy, false]]) {
    if (ax.hide) continue;
    let ticks;
    if (ax.ticks) ticks = ax.ticks.map((v) => [v, ax.tickFormat ? ax.tickFormat(v) : fmt(v)]);
    else if (ax.type === "log") ticks = logTicks(ax.domain[0], ax.domain[1], ax.maxTicks || 6).map((e) => [10 ** e, pow10Label(e)]);
    else {
      const n = ax.nTicks || Math.max(2, Math.min(8, Math.floor((horiz ? iw : ih) / (horiz ? 60 : 36))));
      ticks = niceTicks(ax.domain[0], ax.domain[1], n).filter((v) => !ax.integer || Number.isInteger(v))
        .map((v) => [v, ax.tickFormat ? ax.tickFormat(v) : fmt(v, 4)]);
    }
    for (const [v, text] of ticks) {
      const p = sc(v);
      if (horiz) {
        axes.append(s("line", { x1: p, x2: p, y1: m.t + ih, y2: m.t + ih + 4, class: "sb-tickmark" }));
        axes.append(tickText(p, m.t + ih + 15, "middle", text));
        if (ax.grid) area.append(s("line", { x1: p, x2: p, y1: m.t, y2: m.t + ih, class: "sb-grid" }));
      } else {
        axes.append(s("line", { x1: m.l - 4, x2: m.l, y1: p, y2: p, class: "sb-tickmark" }));
        axes.append(tickText(m.l - 7, p, "end", text));
        if (ax.grid) area.append(s("line", { x1: m.l, x2: m.l + iw, y1: p, y2: p, class: "sb-grid" }));
      }
    }
  }
  axes.append(s("rect", { x: m.l, y: m.t, width: iw, height: ih, class: "sb-frame" }));
  host.replaceChildren(svg);
  return { svg, sx, sy, area, axes, width, height, margin: m, inner: { w: iw, h: ih } };
}

// A polyline through the finite points (gaps where a value is null/NaN or outside a log domain).
function pathData(xs, ys, sx, sy, logY = false) {
  let d = "", pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    const ok = y !== null && Number.isFinite(y) && (!logY || y > 0);
    if (!ok) { pen = false; continue; }
    d += (pen ? "L" : "M") + sx(xs[i]).toFixed(2) + "," + sy(y).toFixed(2);
    pen = true;
  }
  return d;
}

// ------------------------------------------------------------------ controls

// spec.type:
//   "slider":  {name, label, values: [...] (>= 2 stops), format(v) -> text}
//   "toggle":  {name, label, options: [{value, label}]}  (buttons, one pressed)
//   "stepper": {name, label, values: [...], format(v) -> text, interval: ms}  (slider + prev/play/next)
// Every control calls onChange(name, value).
function makeControl(spec, value, onChange) {
  const row = h("div", { class: `sb-control sb-${spec.type}`, "data-name": spec.name });
  const lab = h("span", { class: "sb-control-label" }, label(spec.label));
  row.append(lab);
  const ctl = { spec, row, value, setEnabled: null, setValue: null, setValues: null };
  if (spec.type === "toggle") {
    const group = h("div", { class: "sb-toggle-group", role: "group" });
    const buttons = spec.options.map((o) => {
      const b = h("button", { type: "button", class: "sb-toggle-button", "data-value": JSON.stringify(o.value) },
        label(o.label));
      b.addEventListener("click", () => { if (ctl.value !== o.value) { ctl.setValue(o.value); onChange(spec.name, o.value); } });
      return b;
    });
    group.append(...buttons);
    row.append(group);
    ctl.setValue = (v) => {
      ctl.value = v;
      spec.options.forEach((o, i) => buttons[i].setAttribute("aria-pressed", String(o.value === v)));
    };
    ctl.setEnabled = (on) => { buttons.forEach((b) => { b.disabled = !on; }); row.classList.toggle("sb-disabled", !on); };
  } else {
    let values = spec.values.slice();
    const input = h("input", { type: "range", min: 0, max: values.length - 1, step: 1, class: "sb-range",
      "aria-label": spec.ariaLabel || spec.name });
    const out = h("output", { class: "sb-readout" });
    // JupyterLab's command-mode shortcuts would take the arrow keys of a focused range input
    input.addEventListener("keydown", (e) => e.stopPropagation());
    const indexOf = (v) => {
      let best = 0, bestD = Infinity;
      values.forEach((u, i) => {
        const d = u === v ? -1 : (typeof u === "number" && typeof v === "number" ? Math.abs(u - v) : Infinity);
        if (d < bestD) { bestD = d; best = i; }
      });
      return best;
    };
    const show = () => { out.textContent = spec.format ? spec.format(ctl.value) : fmt(ctl.value); };
    input.addEventListener("input", () => {
      const v = values[Number(input.value)];
      if (v !== ctl.value) { ctl.value = v; show(); onChange(spec.name, v); }
    });
    ctl.setValue = (v) => { ctl.value = v; input.value = String(indexOf(v)); show(); };
    ctl.setValues = (vals) => { values = vals.slice(); input.max = String(values.length - 1); ctl.setValue(values[indexOf(ctl.value)]); };
    ctl.values = () => values;
    ctl.input = input;
    if (spec.type === "stepper") {
      let timer = null;
      const step = (d) => {
        const i = Math.min(values.length - 1, Math.max(0, indexOf(ctl.value) + d));
        if (values[i] !== ctl.value) { ctl.setValue(values[i]); onChange(spec.name, values[i]); }
      };
      const prev = h("button", { type: "button", class: "sb-step sb-prev", "aria-label": "previous step" }, "◀");
      const next = h("button", { type: "button", class: "sb-step sb-next", "aria-label": "next step" }, "▶");
      const play = h("button", { type: "button", class: "sb-step sb-play", "aria-label": "play" }, "▶ play");
      const stop = () => { clearInterval(timer); timer = null; play.textContent = "▶ play"; play.setAttribute("aria-label", "play"); };
      prev.addEventListener("click", () => { stop(); step(-1); });
      next.addEventListener("click", () => { stop(); step(1); });
      play.addEventListener("click", () => {
        if (timer) { stop(); return; }
        if (indexOf(ctl.value) === values.length - 1) { ctl.setValue(values[0]); onChange(spec.name, values[0]); }
        play.textContent = "❚❚ pause";
        play.setAttribute("aria-label", "pause");
        timer = setInterval(() => {
          if (indexOf(ctl.value) >= values.length - 1) { stop(); return; }
          step(1);
        }, spec.interval || 700);
      });
      input.addEventListener("pointerdown", stop);
      row.append(h("div", { class: "sb-stepper-track" }, input, out), h("div", { class: "sb-stepper-buttons" }, prev, play, next));
      ctl.stop = stop;
      ctl.setEnabled = (on) => { [input, prev, next, play].forEach((b) => { b.disabled = !on; }); row.classList.toggle("sb-disabled", !on); };
    } else {
      row.append(input, out);
      ctl.setEnabled = (on) => { input.disabled = !on; row.classList.toggle("sb-disabled", !on); };
    }
  }
  ctl.setValue(value);
  return ctl;
}

// Stops of a continuous slider: n values log-spaced from lo to hi, rounded to `digits` significant digits,
// always including the listed `keep` values (e.g. 1).
function logStops(lo, hi, n, digits = 3, keep = []) {
  const out = new Set(keep);
  for (let i = 0; i < n; i++) out.add(Number((lo * (hi / lo) ** (i / (n - 1))).toPrecision(digits)));
  return [...out].sort((a, b) => a - b);
}

function linStops(lo, hi, n, digits = 4) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(Number((lo + (hi - lo) * i / (n - 1)).toPrecision(digits)));
  return out;
}

function range(a, b) { const out = []; for (let i = a; i <= b; i++) out.push(i); return out; }

// ------------------------------------------------------------------ the widget

function mountWidget({ model, el }, VIEW) {
  const options = model.get("options") || {};
  const base = model.get("base") || {};
  let setting = Object.assign({}, model.get("setting"));
  let data = model.get("data");
  let live = false;
  let inflight = false, pending = false;

  const root = h("div", { class: `sb-widget seqlib-widget seqlib-${model.get("kind").replace(/_/g, "-")}` });
  const controlsBox = h("div", { class: "sb-controls" });
  const headline = h("div", { class: "sb-headline", "aria-live": "polite" });
  const panels = h("div", { class: "sb-panels" });
  const status = h("div", { class: "sb-status seqlib-widget-status" });
  const printNote = h("p", { class: "sb-print-note" },
    "Interactive in the HTML book: its controls change the setting shown here, the default one.");
  root.append(controlsBox, headline, panels, status, printNote);
  el.replaceChildren(root);

  const view = {
    root, panels, headline, options, base,
    panel(title, cls = "") {
      const fig = h("figure", { class: ("sb-panel " + cls).trim() });
      const cap = h("figcaption", { class: "sb-panel-title" }, label(title));
      const host = h("div", { class: "sb-plot-host" });
      fig.append(cap, host);
      panels.append(fig);
      return { fig, cap, host, setTitle: (t) => cap.replaceChildren(label(t)) };
    },
    tex, label, h, s, fmt,
  };

  const controls = {};
  const onChange = (name, value) => {
    setting = Object.assign({}, setting, { [name]: value });
    if (VIEW.normalize) setting = VIEW.normalize(setting, options, base);
    syncControls();
    request();
  };
  for (const spec of VIEW.controls(options, setting)) {
    const c = makeControl(spec, setting[spec.name], onChange);
    controls[spec.name] = c;
    controlsBox.append(c.row);
  }
  function syncControls() {
    if (VIEW.refresh) VIEW.refresh(controls, setting, options, base);
    const en = VIEW.enabled ? VIEW.enabled(setting, options) : {};
    for (const [name, c] of Object.entries(controls)) {
      if (c.value !== setting[name]) c.setValue(setting[name]);
      c.setEnabled(en[name] !== false);
    }
  }

  VIEW.layout(view);
  const repaint = { computeMs: 0, drawMs: 0 };
  let drawn = null;
  function draw(d) {
    const t0 = performance.now();
    VIEW.draw(view, d, d.setting || setting);
    repaint.drawMs = performance.now() - t0;
    drawn = d;
    if (VIEW.describe) panels.setAttribute("aria-label", VIEW.describe(d, d.setting || setting, options));
  }
  function setStatus(text) { status.textContent = text; }

  function computeHere() {
    const t0 = performance.now();
    const d = VIEW.compute(setting, base, options);
    repaint.computeMs = performance.now() - t0;
    d.setting = Object.assign({}, setting);
    d.source = "page";
    draw(d);
    data = d;
    setStatus(`Computed in this page by the JavaScript mirror of seqlib in ${(repaint.computeMs + repaint.drawMs).toFixed(0)} ms.`);
  }
  function request() {
    if (!live) { computeHere(); return; }
    if (inflight) { pending = true; return; }
    inflight = true;
    model.set("setting", Object.assign({}, setting));
    model.save_changes();
    setStatus("Computing in the kernel with seqlib…");
  }
  model.on("change:data", () => {
    const d = model.get("data");
    if (!live || !d) return;
    data = d;
    // w.show(...) in the kernel moves the setting: the controls follow (unless a newer change waits)
    if (d.setting && !pending) {
      setting = Object.assign({}, d.setting);
      syncControls();
    }
    draw(d);
    inflight = false;
    setStatus(`Computed in the kernel by seqlib in ${d.ms} ms.`);
    if (pending) { pending = false; request(); }
  });
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "live") {
      live = true;
      root.classList.add("sb-live");
      setStatus("Live: every change is computed in the kernel by seqlib.");
    }
  });
  try { model.send({ type: "hello" }); } catch (err) { /* a static page has no kernel */ }

  syncControls();
  if (data && data.setting) draw(data); else computeHere();
  setStatus(live ? "Live" : "This picture was computed by seqlib when the book was built; a change is computed in this page.");

  // redraw at the new width when the column changes
  let lastWidth = panels.clientWidth;
  const ro = new ResizeObserver(() => {
    const w = panels.clientWidth;
    if (Math.abs(w - lastWidth) < 2 || !drawn) return;
    lastWidth = w;
    requestAnimationFrame(() => draw(drawn));
  });
  ro.observe(panels);

  root.seqbook = el.seqbook = {
    kind: model.get("kind"),
    get live() { return live; },
    get setting() { return Object.assign({}, setting); },
    get data() { return data; },
    repaint,
    compute: (st) => VIEW.compute(Object.assign({}, setting, st), base, options),
    set(partial) {
      for (const [k, v] of Object.entries(partial)) {
        setting = Object.assign({}, setting, { [k]: v });
      }
      if (VIEW.normalize) setting = VIEW.normalize(setting, options, base);
      syncControls();
      request();
      return typesetDone();
    },
    typeset: typesetDone,
  };
  typesetDone().then(() => { root.dataset.ready = "1"; });
  // Warm up: compute the current setting once when the page is idle (numbers discarded), so
  // that the reader's first change does not also pay for compiling the page's numeric code.
  const idle = globalThis.requestIdleCallback ? (f) => requestIdleCallback(f, { timeout: 1500 })
    : (f) => setTimeout(f, 300);
  idle(() => {
    if (live) return;
    try {
      if (VIEW.warmup) VIEW.warmup(setting, base, options); else VIEW.compute(setting, base, options);
    } catch (err) { console.error(err); }
  });
  return () => { ro.disconnect(); Object.values(controls).forEach((c) => c.stop && c.stop()); };
}
