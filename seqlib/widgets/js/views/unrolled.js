// views/unrolled.js: the unrolled RNN, stepped through the forward pass and the δ recursion
// (seqlib/widgets/unrolled.py, kind "unrolled"; numbers from mirror/unrolled.js and mirror/rnn.js).
//
// Setting: step (0..2T: "forward 0" .. "forward T", then "backward T" .. "backward 1", the labels
// given by Python in options.step_labels), spectral_norm (||W_hh||, the spectral norm),
// activation.  The data hold the whole pass; the step only chooses what is drawn.
// Two panels, one above the other:
//   1. the graph x_t -> h_t -> l_t as SVG (labels: SVG text, bold-sans vectors, <tspan> subscripts),
//      edges of this step highlighted, gradient edges drawn as the backward pass reaches them,
//      the norms ||h_t|| (forward) or ||δ_t|| (backward) as bars under the columns;
//   2. the step's equation, typeset once term by term (MathJax), with each term's entries as bars
//      and numbers beside it in plain text, and the running ||dW_hh||_F (Frobenius norm; the book's
//      ||.|| of a matrix, as on the slider, is the spectral norm).

const VIEW = (() => {
  "use strict";

  const ACTIVATIONS = ["tanh", "relu", "linear", "sigmoid"];

  // The stepper's label of a step: seqlib's step_label, sent by Python (no copy here).
  function stepLabel(step, options) {
    return options.step_labels[step];
  }

  // {forward: bool, t}: "forward t" reaches h_t, "backward t" computes δ_t
  function phase(step, T) {
    return step <= T ? { forward: true, t: step } : { forward: false, t: 2 * T + 1 - step };
  }

  // A number as text: two decimals, three below 0.01, scientific below 0.001; a real minus sign.
  function num(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "n/a";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a < 1e-3) return fmt(v, 2);
    const s = a < 0.01 ? a.toFixed(3) : a < 10 ? a.toFixed(2) : a < 1e4 ? a.toPrecision(3) : fmt(a, 3);
    return (v < 0 ? "−" : "") + s;
  }

  const vecText = (v) => "[" + v.map(num).join(", ") + "]";
  const norm = (v) => Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));

  // Inline math drawn at once as HTML (italic letters, bold-sans vectors, <sub>): for sentences that
  // change with every step.  Fixed formulas go through tex() (MathJax in the book), once.
  // The fallback puts a space on each side of relations and operators, also inside sub- and
  // superscripts (h_{t+1} as "h_t + 1"): there they are closed up, as MathJax sets them; outside,
  // a quarter em on each side, as MathJax's.
  function tight(node) {
    for (const c of Array.from(node.childNodes)) {
      if (c.nodeType === 3) c.textContent = c.textContent.replace(/\s*([=+\u2212<>≥≤])\s*/g, "$1");
      else tight(c);
    }
  }
  function m(src) {
    const span = h("span", { class: "sb-tex-fallback sb-ur-m", html: texFallback(src) });
    span.querySelectorAll("sub, sup").forEach(tight);
    for (const node of Array.from(span.childNodes)) {
      if (node.nodeType !== 3) continue;
      node.textContent = node.textContent.replace(/\s*([=+≥≤])\s*/g, "\u2005$1\u2005").replace(/\s*,\s*/g, ",\u2005");
    }
    return span;
  }

  // A sentence of text and math: ["text", {m: "tex"}, ...]
  function sentence(parts) {
    return parts.map((p) => (typeof p === "string" ? p : m(p.m)));
  }

  // ------------------------------------------------------------------ SVG pieces

  // "h_3" as SVG text: a bold sans-serif letter (the book's \bsf) or an italic one, and a subscript
  // tspan (>= 12 px) shifted down by dy.
  function svgSym(x, y, letter, sub, opts = {}) {
    const size = opts.size || 16;
    const subSize = Math.max(12, Math.round(size * 0.75));
    const t = s("text", { x, y, "text-anchor": opts.anchor || "middle", "dominant-baseline": "central",
      class: "sb-ur-sym", style: `font-size:${size}px` });
    const main = s("tspan", { class: opts.italic ? "sb-ur-it" : "sb-ur-bsf" }, letter);
    t.append(main);
    if (sub !== undefined && sub !== null) {
      t.append(s("tspan", { dy: Math.round(size * 0.32), style: `font-size:${subSize}px` }, String(sub)));
    }
    return t;
  }

  // A straight arrow from (x1, y1) to (x2, y2), shortened by a at the start and b at the end.
  function arrow(g, x1, y1, x2, y2, a, b, style) {
    const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    const sx = x1 + ux * a, sy = y1 + uy * a, ex = x2 - ux * b, ey = y2 - uy * b;
    const head = style.head || 8, half = head * 0.45;
    const bx = ex - ux * head, by = ey - uy * head;
    const col = style.color;
    const opacity = style.opacity === undefined ? 1 : style.opacity;
    g.append(s("line", { x1: sx, y1: sy, x2: bx, y2: by, opacity,
      style: `stroke:${col};stroke-width:${style.width}px;` + (style.dash ? `stroke-dasharray:${style.dash};` : "") }));
    g.append(s("polygon", {
      points: `${ex},${ey} ${bx - uy * half},${by + ux * half} ${bx + uy * half},${by - ux * half}`,
      style: `fill:${col}`, opacity }));
  }

  const C = {
    fg: "var(--sb-fg)", muted: "var(--sb-muted)", line: "var(--sb-line)", bg: "var(--sb-bg)",
    surface: "var(--sb-surface)", fwd: "var(--sb-green)", direct: "var(--sb-orange)",
    carried: "var(--sb-blue)", delta: "var(--sb-red)",
  };

  // ------------------------------------------------------------------ the graph

  function drawGraph(view, d, st) {
    const { T } = view.options;
    const host = view.ur.graphHost;
    const W = Math.max(300, Math.floor(host.clientWidth || 640));
    const colW = (W - 4) / (T + 1);
    const cx = (t) => 2 + colW * (t + 0.5);
    const narrow = colW < 70, tiny = colW < 56;  // T up to 9 at 390 px: columns of 35 px
    const r = tiny ? Math.max(12, colW * 0.3) : Math.max(15.5, Math.min(21, colW * 0.27));
    const rs = r * (narrow ? 0.9 : 0.82);
    const fs = tiny ? 14 : narrow ? 15 : 16;
    const yL = 36, yH = yL + (narrow ? 68 : 72), yX = yH + (narrow ? 64 : 66);
    const stripH = 32, stripBase = yX + rs + 24 + stripH;
    const height = stripBase + 6;
    const svg = s("svg", { class: "sb-plot sb-ur-graph", width: W, height, viewBox: `0 0 ${W} ${height}`,
      role: "img", "aria-label": "the unrolled graph" });
    const gEdges = s("g"), gNodes = s("g"), gText = s("g");
    svg.append(gEdges, gNodes, gText);

    const ph = phase(st.step, T);
    const f = ph.forward ? ph.t : T;  // states computed so far
    const b = ph.forward ? T + 1 : ph.t;  // backward: δ_b .. δ_T computed

    // forward edges: to come (dashed), computed, this step (green); in the backward pass they step aside
    const off = ph.forward ? 0 : 5;
    for (let t = 1; t <= T; t++) {
      const state = t > f ? "todo" : ph.forward && t === f ? "active" : "done";
      const style = state === "todo" ? { color: C.muted, width: 1.2, dash: "4 4", opacity: 0.7 }
        : state === "active" ? { color: C.fwd, width: 2.8, head: 10 }
          : { color: C.fg, width: 1.3, opacity: ph.forward ? 0.85 : 0.4 };
      arrow(gEdges, cx(t), yX, cx(t), yH, rs, r, style);
      arrow(gEdges, cx(t - 1), yH - off, cx(t), yH - off, r, r, style);
      arrow(gEdges, cx(t) - off, yH, cx(t) - off, yL, r, rs, style);
    }
    if (colW > 70) {
      gText.append(svgSym((cx(0) + cx(1)) / 2 - 4, yH - off - 12, "W", "hh", { size: 13 }));
    }

    // gradient edges: l_t -> h_t (orange, the direct term), h_{t+1} -> h_t (blue, carried) with its gain
    if (!ph.forward) {
      for (let t = T; t >= 1; t--) {
        const reached = t >= b, active = t === b;
        const dStyle = reached ? { color: C.direct, width: active ? 3 : 1.7, head: active ? 10 : 8 }
          : { color: C.direct, width: 1.1, dash: "3 4", opacity: 0.45 };
        arrow(gEdges, cx(t) + off, yL, cx(t) + off, yH, rs, r, dStyle);
        if (t < T) {
          const cStyle = reached ? { color: C.carried, width: active ? 3 : 1.7, head: active ? 10 : 8 }
            : { color: C.carried, width: 1.1, dash: "3 4", opacity: 0.45 };
          arrow(gEdges, cx(t + 1), yH + off, cx(t), yH + off, r, r, cStyle);
          if (reached && (active || !tiny)) {  // in columns of < 56 px only the active edge's gain fits
            const dn = d.delta_norms[t];  // ||δ_{t+1}||
            const gain = dn > 0 ? norm(d.carried[t - 1]) / dn : 0;
            const roomy = colW - 2 * r > 46;  // under the arrow, or lower, between the input arrows
            const lab = s("text", { x: (cx(t) + cx(t + 1)) / 2, y: roomy ? yH + off + 17 : yH + r + 14, "text-anchor": "middle",
              class: "sb-ur-gain" + (active ? " sb-ur-strong" : ""), style: `fill:${C.carried}` }, "×" + num(gain));
            gText.append(lab);
          }
        }
      }
    }

    // nodes
    const circle = (x, y, rad, st2) => s("circle", { cx: x, cy: y, r: rad,
      style: `fill:${st2.fill || C.bg};fill-opacity:${st2.fillOpacity === undefined ? 1 : st2.fillOpacity};` +
        `stroke:${st2.stroke};stroke-width:${st2.width || 1.2}px;` + (st2.dash ? `stroke-dasharray:${st2.dash};` : "") });
    const nodeStyle = (kind, t) => {
      if (kind === "x") return ph.forward && t === f ? { stroke: C.fwd, width: 2.4, fill: C.surface } : { stroke: C.fg, fill: C.surface };
      if (ph.forward) {
        if (t > f) return { stroke: C.muted, dash: "3 3", fill: C.bg };
        if (t === f) return { stroke: C.fwd, width: 2.8, fill: C.fwd, fillOpacity: 0.18 };
        return { stroke: C.fg, fill: C.surface };
      }
      if (kind === "l") return t === b ? { stroke: C.direct, width: 2.6, fill: C.surface } : { stroke: C.fg, fill: C.surface };
      if (t === b) return { stroke: C.delta, width: 3, fill: C.delta, fillOpacity: 0.2 };
      if (t > b) return { stroke: C.delta, width: 1.6, fill: C.delta, fillOpacity: 0.1 };
      return { stroke: C.fg, fill: C.surface };
    };
    for (let t = 0; t <= T; t++) {
      const hs = nodeStyle("h", t);
      gNodes.append(circle(cx(t), yH, r, hs));
      gText.append(svgSym(cx(t) - 1, yH - 1, "h", t, { size: fs + 1 }));
      if (t === 0) continue;
      gNodes.append(circle(cx(t), yX, rs, nodeStyle("x", t)));
      gText.append(svgSym(cx(t) - 1, yX - 1, "x", t, { size: fs }));
      gNodes.append(circle(cx(t), yL, rs, nodeStyle("l", t)));
      gText.append(svgSym(cx(t) - 1, yL - 1, "ℓ", t, { size: fs, italic: true }));
      if (t <= f) {
        gText.append(s("text", { x: cx(t), y: yL - rs - 7, "text-anchor": "middle", class: "sb-ur-num" },
          num(d.losses[t - 1])));
      }
    }

    // the norms under the columns: ||h_t|| in the forward pass, ||δ_t|| in the backward pass
    const vals = ph.forward ? d.h_norms : d.delta_norms;
    const first = ph.forward ? 0 : 1;
    const vmax = Math.max(1e-12, ...vals);
    const col = ph.forward ? C.fwd : C.delta;
    gEdges.append(s("line", { x1: cx(0) - colW * 0.4, x2: cx(T) + colW * 0.4, y1: stripBase, y2: stripBase,
      style: `stroke:${C.line};stroke-width:1px` }));
    const lab = s("text", { x: 2, y: stripBase - stripH - 6, "dominant-baseline": "central", class: "sb-ur-sym",
      style: "font-size:15px" });
    lab.append(s("tspan", {}, "‖"), s("tspan", { class: ph.forward ? "sb-ur-bsf" : "sb-ur-bsym" }, ph.forward ? "h" : "δ"),
      s("tspan", { dy: 5, style: "font-size:12px" }, "t"), s("tspan", { dy: -5 }, "‖"));
    gText.append(lab);
    const bw = Math.min(24, colW * 0.42);
    for (let t = first; t <= T; t++) {
      const shown = ph.forward ? t <= f : t >= b;
      if (!shown) continue;
      const v = vals[ph.forward ? t : t - 1];
      const hgt = Math.max(0, (v / vmax) * stripH);
      const isActive = ph.forward ? t === f : t === b;
      gNodes.append(s("rect", { x: cx(t) - bw / 2, y: stripBase - hgt, width: bw, height: hgt,
        style: `fill:${col};fill-opacity:${isActive ? 0.95 : 0.55}` }));
      gText.append(s("text", { x: cx(t), y: stripBase - hgt - 5, "text-anchor": "middle",
        class: "sb-ur-num" + (isActive ? " sb-ur-strong" : "") }, fmt(v, 3)));
    }
    host.replaceChildren(svg);
  }

  // ------------------------------------------------------------------ the equation panel

  // A row of the equation: an operator, the term typeset once, its H entries as bars with values, its norm.
  function makeRow(H, op, texSrc, color, opts = {}) {
    const cells = [];
    const cellsBox = h("div", { class: "sb-ur-cells", style: `--ur-h:${H}` });
    for (let i = 0; i < H; i++) {
      const bar = h("div", { class: "sb-ur-bar", style: { background: color } });
      const val = h("span", { class: "sb-ur-val" });
      cellsBox.append(h("div", { class: "sb-ur-cell" }, h("div", { class: "sb-ur-track" }, bar), val));
      cells.push({ bar, val });
    }
    const normOut = h("span", { class: "sb-ur-norm" });
    const lab = h("span", { class: "sb-ur-lab", style: { borderLeftColor: color } }, tex(texSrc),
      opts.note ? h("span", { class: "sb-ur-note" }, " " + opts.note) : null);
    const row = h("div", { class: "sb-ur-row" + (opts.strong ? " sb-ur-rowstrong" : "") },
      h("span", { class: "sb-ur-op" }, op), lab, normOut, cellsBox);
    const sub = h("div", { class: "sb-ur-sub" });
    const box = h("div", { class: "sb-ur-term" }, row, sub);
    return {
      box, sub,
      set(values, scale, subParts) {
        values.forEach((v, i) => {
          const w = Math.min(50, (Math.abs(v) / scale) * 50);
          cells[i].bar.style.width = w + "%";
          cells[i].bar.style.left = v >= 0 ? "50%" : (50 - w) + "%";
          cells[i].val.textContent = num(v);
        });
        normOut.textContent = opts.noNorm ? "" : fmt(norm(values), 3);
        sub.replaceChildren(...(subParts || []));
        sub.style.display = subParts && subParts.length ? "" : "none";
      },
    };
  }

  function headerRow(H) {
    const cellsBox = h("div", { class: "sb-ur-cells", style: `--ur-h:${H}` });
    for (let i = 0; i < H; i++) cellsBox.append(h("div", { class: "sb-ur-colhead" }, `entry ${i + 1}`));
    return h("div", { class: "sb-ur-row sb-ur-head" }, h("span", { class: "sb-ur-op" }), h("span", { class: "sb-ur-lab" }),
      h("span", { class: "sb-ur-norm" }, "norm"), cellsBox);
  }

  const CSS = `
.seqlib-unrolled .sb-ur-graph .sb-ur-sym { fill: var(--sb-fg); }
.seqlib-unrolled .sb-ur-graph .sb-ur-bsf { font-family: "Helvetica Neue", Arial, sans-serif; font-weight: 700; }
.seqlib-unrolled .sb-ur-graph .sb-ur-bsym { font-family: "Times New Roman", Times, serif; font-weight: 700; font-style: italic; }
.seqlib-unrolled .sb-ur-graph .sb-ur-it { font-family: "Times New Roman", Times, serif; font-style: italic; }
.seqlib-unrolled .sb-ur-graph text.sb-ur-num { font-size: 12px; font-variant-numeric: tabular-nums; fill: var(--sb-muted); }
.seqlib-unrolled .sb-ur-graph text.sb-ur-gain { font-size: 12px; font-variant-numeric: tabular-nums; }
.seqlib-unrolled .sb-ur-graph text.sb-ur-strong { font-weight: 700; fill: var(--sb-fg); }
.seqlib-unrolled .sb-ur-graph text.sb-ur-gain.sb-ur-strong { fill: inherit; }
.seqlib-unrolled .sb-ur-detail { font-size: 14px; }
.seqlib-unrolled .sb-ur-eqhead { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.2rem 0.75rem; margin: 0 0 0.35rem; }
.seqlib-unrolled .sb-ur-chip { font-weight: 600; white-space: nowrap; }
.seqlib-unrolled .sb-ur-row { display: flex; flex-wrap: wrap; align-items: center; gap: 0.1rem 0.5rem; padding: 0.15rem 0; }
.seqlib-unrolled .sb-ur-op { flex: 0 0 1.1em; text-align: center; font-size: 17px; }
.seqlib-unrolled .sb-ur-lab { flex: 0 0 14rem; min-width: 0; border-left: 4px solid transparent; padding-left: 0.4rem; order: 1; }
.seqlib-unrolled .sb-ur-head .sb-ur-lab { border-left: 0; }
.seqlib-unrolled .sb-ur-lab, .seqlib-unrolled .sb-ur-extra { font-size: 15.5px; }
.seqlib-unrolled .sb-ur-op { order: 0; }
.seqlib-unrolled .sb-ur-cells { flex: 1 1 13rem; display: grid; grid-template-columns: repeat(var(--ur-h), minmax(0, 1fr)); gap: 0.6rem; min-width: 12.5rem; order: 2; }
.seqlib-unrolled .sb-ur-cell { display: flex; align-items: center; gap: 0.25rem; min-width: 0; }
.seqlib-unrolled .sb-ur-track { position: relative; flex: 1 1 auto; height: 16px; min-width: 3rem; }
.seqlib-unrolled .sb-ur-track::before { content: ""; position: absolute; left: 50%; top: -3px; bottom: -3px; border-left: 1px solid var(--sb-muted); opacity: 0.6; }
.seqlib-unrolled .sb-ur-bar { position: absolute; top: 2px; bottom: 2px; border-radius: 1px; }
.seqlib-unrolled .sb-ur-val { flex: 0 0 3.3em; text-align: right; font-variant-numeric: tabular-nums; font-size: 13px; }
.seqlib-unrolled .sb-ur-norm { flex: 0 0 3.4em; order: 3; text-align: right; font-variant-numeric: tabular-nums; font-size: 13px; color: var(--sb-muted); white-space: nowrap; }
.seqlib-unrolled .sb-ur-colhead { font-size: 12px; color: var(--sb-muted); text-align: center; }
.seqlib-unrolled .sb-ur-head .sb-ur-norm { font-size: 12px; }
.seqlib-unrolled .sb-ur-rowstrong .sb-ur-val { font-weight: 700; }
.seqlib-unrolled .sb-ur-sub { font-size: 14px; color: var(--sb-muted); margin: 0 0 0.2rem calc(1.1em + 0.5rem + 4px + 0.4rem); }
.seqlib-unrolled .sb-ur-extra { margin-top: 0.45rem; padding-top: 0.4rem; border-top: 1px solid var(--sb-line); display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; align-items: baseline; }
.seqlib-unrolled .sb-ur-extra .sb-ur-val2 { font-variant-numeric: tabular-nums; }
.seqlib-unrolled .sb-ur-note { font-size: 14px; color: var(--sb-muted); }
.seqlib-unrolled .sb-ur-intro { margin-top: 0.5rem; font-size: 15px; }
.seqlib-unrolled .sb-ur-intro p { margin: 0.2rem 0; }
.seqlib-unrolled .sb-ur-display { text-align: center; margin: 0.35rem 0; font-size: 16px; }
.seqlib-unrolled .sb-ur-stack { display: grid; grid-template-columns: minmax(0, 1fr); }
.seqlib-unrolled .sb-ur-stack > .sb-ur-block { grid-area: 1 / 1; min-width: 0; }
.seqlib-unrolled .sb-headline { min-height: 2.8em; }
.seqlib-unrolled .sb-ur-legend { display: flex; flex-wrap: wrap; justify-content: center; gap: 0.1rem 1.1rem; font-size: 13px; color: var(--sb-muted); margin-top: 0.15rem; }
.seqlib-unrolled .sb-ur-legend .sb-ur-sw { display: inline-block; width: 1.5em; border-top: 3px solid currentColor; vertical-align: middle; margin-right: 0.35em; }
.seqlib-unrolled .sb-ur-legend .sb-ur-sw.sb-ur-dash { border-top-style: dashed; border-top-width: 2px; }
.seqlib-unrolled .sb-ur-m { white-space: nowrap; }
.seqlib-unrolled .sb-ur-m sub, .seqlib-unrolled .sb-ur-m sup { font-size: 12px; }
.seqlib-unrolled .sb-ur-m sub sub, .seqlib-unrolled .sb-ur-m sub i { font-size: 12px; }
@container (max-width: 560px) {
  .seqlib-unrolled .sb-ur-lab { flex: 1 1 auto; }
  .seqlib-unrolled .sb-ur-norm { order: 2; }
  .seqlib-unrolled .sb-ur-cells { order: 3; flex: 1 1 100%; min-width: 0; padding-left: calc(1.1em + 0.5rem); }
  .seqlib-unrolled .sb-ur-head .sb-ur-norm { display: none; }
  .seqlib-unrolled .sb-ur-norm:not(:empty)::before { content: "norm "; }
  .seqlib-unrolled .sb-ur-norm { flex-basis: auto; }
  .seqlib-unrolled .sb-ur-sub { margin-left: calc(1.1em + 0.5rem); }
  .seqlib-unrolled .sb-headline { min-height: 4.2em; }
}`;

  function layout(view) {
    const H = view.options.H;
    view.root.prepend(h("style", {}, CSS));
    view.panels.style.flexDirection = "column";
    view.panels.style.alignItems = "stretch";
    view.panels.style.gap = "0.6rem";

    const gp = view.panel(null, "sb-wide");  // the graph says what it is; its legend is below it
    gp.cap.style.display = "none";
    const legend = h("div", { class: "sb-ur-legend" });
    gp.fig.append(legend);

    const dp = view.panel(null, "sb-ur-detail");
    dp.cap.style.display = "none";
    const chip = h("span", { class: "sb-ur-chip" });
    const eqNote = h("span", { class: "sb-ur-note" });

    // forward rows (a_t = x_t W_xh + h_{t-1} W_hh + b_h, h_t = f(a_t)) and h_0 alone
    const fwd = {
      xin: makeRow(H, "", "\\bsf{x}_t\\bsf{W}_{xh} + \\bsf{b}_h", C.muted),
      rec: makeRow(H, "+", "\\bsf{h}_{t-1}\\bsf{W}_{hh}", C.muted),
      a: makeRow(H, "=", "\\bsf{a}_t", C.fg),
      h: makeRow(H, "", "\\bsf{h}_t = f(\\bsf{a}_t)", C.fwd, { strong: true }),
      fp: makeRow(H, "", "f'(\\bsf{a}_t)", C.muted, { noNorm: true, note: "saved for backward" }),
      h0: makeRow(H, "", "\\bsf{h}_0 = \\bsf{0}", C.fwd, { strong: true }),
    };
    const lossLine = h("div", { class: "sb-ur-extra" });
    const lossVals = { l: h("span", { class: "sb-ur-val2" }), L: h("span", { class: "sb-ur-val2" }) };
    lossLine.append(
      h("span", {}, tex("\\ell_t = -\\log\\operatorname{softmax}(\\bsf{o}_t)_{y_t}"), " = ", lossVals.l),
      h("span", {}, tex("\\ell_1 + \\dots + \\ell_t"), " = ", lossVals.L, h("span", { class: "sb-ur-note" }, " (the loss so far)")));
    // at forward 0, what the steps will do (the equation of the backward pass, typeset once)
    const intro = h("div", { class: "sb-ur-intro" },
      h("p", {}, `Forward steps 1 to ${view.options.T} compute the states and the losses, left to right. `,
        "Then the backward steps run the δ recursion from right to left,"),
      h("div", { class: "sb-ur-display" }, tex("\\boldsymbol{\\delta}_t = \\partial\\ell_t/\\partial\\bsf{h}_t + " +
        "\\boldsymbol{\\delta}_{t+1}\\operatorname{diag}(f'(\\bsf{a}_{t+1}))\\,\\bsf{W}_{hh}^\\top ,")),
      h("p", {}, "each adding the gradient of its own loss (orange) to the one carried back from the next state (blue). ",
        "Change ", tex("\\lVert\\bsf{W}_{hh}\\rVert"), " or ", tex("f"), " to see the carried part shrink or grow."));
    const fwdBox = h("div", { class: "sb-ur-block" }, headerRow(H), ...["h0", "xin", "rec", "a", "h", "fp"].map((k) => fwd[k].box),
      lossLine, intro);

    // backward rows: δ_t = ∂l_t/∂h_t + δ_{t+1} diag(f'(a_{t+1})) W_hh^T, written as a column sum
    const bwd = {
      dh: makeRow(H, "", "\\partial\\ell_t/\\partial\\bsf{h}_t", C.direct),
      carried: makeRow(H, "+", "\\boldsymbol{\\delta}_{t+1}\\operatorname{diag}(f'(\\bsf{a}_{t+1}))\\,\\bsf{W}_{hh}^\\top", C.carried),
      delta: makeRow(H, "=", "\\boldsymbol{\\delta}_t", C.delta, { strong: true }),
    };
    const dwLine = h("div", { class: "sb-ur-extra" });
    const dwVal = h("span", { class: "sb-ur-val2" });
    const dwNote = h("span", { class: "sb-ur-note" });
    dwLine.append(h("span", {}, tex("\\mathrm{d}\\bsf{W}_{hh} \\;{+}{=}\\; \\bsf{h}_{t-1}^\\top(\\boldsymbol{\\delta}_t\\odot f'(\\bsf{a}_t))")),
      h("span", {}, tex("\\lVert\\mathrm{d}\\bsf{W}_{hh}\\rVert_F"), " = ", dwVal), dwNote);
    const bwdBox = h("div", { class: "sb-ur-block" }, headerRow(H), bwd.dh.box, bwd.carried.box, bwd.delta.box, dwLine);

    // both blocks in one grid cell, the hidden one invisible: the panel keeps its height from step to step
    dp.host.append(h("div", { class: "sb-ur-eqhead" }, chip, eqNote), h("div", { class: "sb-ur-stack" }, fwdBox, bwdBox));
    view.ur = { graphHost: gp.host, legend, chip, eqNote, fwd, fwdBox, lossVals, lossLine, intro, bwd, bwdBox, dwVal, dwNote, lastLegend: null };
  }

  function setLegend(view, forward) {
    if (view.ur.lastLegend === forward) return;
    view.ur.lastLegend = forward;
    const sw = (color, dashed) => h("span", { class: "sb-ur-sw" + (dashed ? " sb-ur-dash" : ""), style: { color } });
    const item = (...c) => h("span", {}, ...c);
    view.ur.legend.replaceChildren(...(forward ? [
      item(sw(C.fwd), "this step"), item(sw(C.fg), "computed"), item(sw(C.muted, true), "to come"),
    ] : [
      item(sw(C.direct), m("\\partial\\ell_t/\\partial\\bsf{h}_t"), " from the loss"),
      item(sw(C.carried), "carried back from ", m("\\bsf{h}_{t+1}"), " (×: its norm over ‖", m("\\boldsymbol{\\delta}_{t+1}"), "‖)"),
      item(sw(C.delta), m("\\boldsymbol{\\delta}_t"), " computed"),
    ]));
  }

  // ------------------------------------------------------------------ draw

  function draw(view, d, st) {
    const { T } = view.options;
    const ph = phase(st.step, T);
    const t = ph.t;
    const u = view.ur;
    drawGraph(view, d, st);
    setLegend(view, ph.forward);
    const maxAbs = (...arrs) => Math.max(1e-12, ...arrs.flat(2).map(Math.abs));

    const show = (el, on) => { el.style.visibility = on ? "" : "hidden"; };
    show(u.fwdBox, ph.forward);
    show(u.bwdBox, !ph.forward);
    if (ph.forward) {
      u.chip.replaceChildren(`forward, t = ${t}`);
      const scale = maxAbs(d.xin, d.rec, d.a, d.h, d.fprime);
      // at forward 0: h_0 = 0 and what the steps will do, in place of the rows of a step
      for (const el of [u.fwd.xin.box, u.fwd.rec.box, u.fwd.a.box, u.fwd.h.box, u.fwd.fp.box, u.lossLine]) el.style.display = t === 0 ? "none" : "";
      u.fwd.h0.box.style.display = u.intro.style.display = t === 0 ? "" : "none";
      if (t === 0) {
        u.fwd.h0.set(d.h[0], scale);
        u.eqNote.replaceChildren(...sentence(["the initial state; then ",
          { m: "\\bsf{h}_t = f(\\bsf{x}_t\\bsf{W}_{xh} + \\bsf{h}_{t-1}\\bsf{W}_{hh} + \\bsf{b}_h)" }, ` for t = 1, …, ${T}`]));
      } else {
        u.eqNote.replaceChildren(...sentence([`${st.activation}, ‖`, { m: "\\bsf{W}_{hh}" }, `‖ = ${num(st.spectral_norm)}`]));
        u.fwd.xin.set(d.xin[t - 1], scale);
        u.fwd.rec.set(d.rec[t - 1], scale);
        u.fwd.a.set(d.a[t - 1], scale);
        u.fwd.h.set(d.h[t], scale);
        u.fwd.fp.set(d.fprime[t - 1], scale);
        u.lossVals.l.textContent = `${num(d.losses[t - 1])} (target class ${view.base.y[t - 1]})`;
        let L = 0;
        for (let k = 0; k < t; k++) L += d.losses[k];
        u.lossVals.L.textContent = num(L);
      }
    } else {
      u.chip.replaceChildren(`backward, t = ${t}`);
      u.eqNote.replaceChildren(...sentence([`${st.activation}, ‖`, { m: "\\bsf{W}_{hh}" }, `‖ = ${num(st.spectral_norm)}`]));
      const scale = maxAbs(d.dh, d.carried, d.deltas);
      u.bwd.dh.set(d.dh[t - 1], scale);
      if (t === T) {
        u.bwd.carried.set(d.carried[t - 1], scale, sentence(["zero: no step after ", { m: `t = ${T}` }, ", ",
          { m: `\\boldsymbol{\\delta}_{${T + 1}} = \\bsf{0}` }]));
      } else {
        const dn = d.delta_norms[t];
        const gain = dn > 0 ? norm(d.carried[t - 1]) / dn : 0;
        u.bwd.carried.set(d.carried[t - 1], scale, sentence([
          "from ", { m: `\\boldsymbol{\\delta}_{${t + 1}}` }, ` = ${vecText(d.deltas[t])}, `,
          { m: `f'(\\bsf{a}_{${t + 1}})` }, ` = ${vecText(d.fprime[t])}: ×${num(gain)} of its norm`]));
      }
      u.bwd.delta.set(d.deltas[t - 1], scale);
      u.dwVal.textContent = fmt(d.dW_norms[t - 1], 3);
      u.dwNote.replaceChildren(...(t === 1
        ? sentence(["complete (this step adds 0, as ", { m: "\\bsf{h}_0 = \\bsf{0}" }, ")"])
        : sentence([`summed over t = ${T}, …, ${t}`])));
    }
    view.headline.replaceChildren(...headline(d, st, view.options));
  }

  function headline(d, st, options) {
    const T = options.T;
    const ph = phase(st.step, T);
    const t = ph.t;
    const lead = h("b", {}, stepLabel(st.step, options) + ": ");
    if (ph.forward && t === 0) {
      return [lead, ...sentence(["the inputs ", { m: `\\bsf{x}_1, \\dots, \\bsf{x}_${T}` }, " are given and ",
        { m: "\\bsf{h}_0 = \\bsf{0}" }, " is set. Press play, or ▶ to step."])];
    }
    if (ph.forward) {
      return [lead, ...sentence([{ m: `\\bsf{h}_${t}` }, " from ", { m: `\\bsf{x}_${t}` }, " and ", { m: `\\bsf{h}_${t - 1}` },
        ", then the loss ", { m: `\\ell_${t}` }, ` = ${num(d.losses[t - 1])}.`])];
    }
    if (t === T) {
      return [lead, ...sentence([{ m: `\\boldsymbol{\\delta}_${T} = \\partial\\ell_${T}/\\partial\\bsf{h}_${T}` },
        ": the last state feeds only its own loss.", ])];
    }
    const dn = d.delta_norms[t];
    const gain = dn > 0 ? norm(d.carried[t - 1]) / dn : 0;
    const tail = t === 1 ? " The recursion is done." : "";
    return [lead, ...sentence([{ m: `\\boldsymbol{\\delta}_${t}` }, " = the gradient of ", { m: `\\ell_${t}` },
      " (orange) + the gradient carried back from ", { m: `\\bsf{h}_${t + 1}` }, ` (blue), ×${num(gain)} the size of `,
      { m: `\\boldsymbol{\\delta}_${t + 1}` }, "." + tail])];
  }

  function describe(d, st, options) {
    const T = options.T, H = options.H;
    const ph = phase(st.step, T);
    const t = ph.t;
    const intro = `The tiny RNN (H = ${H}, T = ${T}, ${st.activation}, ||W_hh|| = ${num(st.spectral_norm)}) unrolled, at ${stepLabel(st.step, options)}: `;
    if (ph.forward && t === 0) return intro + "the inputs x1 to x" + T + " are given and h0 = 0; no state is computed yet.";
    if (ph.forward) {
      return intro + `h${t} = ${vecText(d.h[t])} (norm ${fmt(d.h_norms[t], 3)}) and loss l${t} = ${num(d.losses[t - 1])}.`;
    }
    const parts = t === T ? `the direct term dl${T}/dh${T} alone (no later step)`
      : `the direct term ${vecText(d.dh[t - 1])} plus ${vecText(d.carried[t - 1])} carried back from step ${t + 1}`;
    return intro + `delta${t} = ${vecText(d.deltas[t - 1])} (norm ${fmt(d.delta_norms[t - 1], 3)}) = ${parts}; ` +
      `the running Frobenius norm of dW_hh is ${fmt(d.dW_norms[t - 1], 3)}.`;
  }

  // ------------------------------------------------------------------ controls and numbers

  function controls(options) {
    const T = options.T;
    return [
      { type: "stepper", name: "step", label: { text: "step" }, values: range(0, 2 * T), interval: options.interval_ms || 900,
        format: (v) => stepLabel(v, options), ariaLabel: "step of the forward and backward pass" },
      { type: "slider", name: "spectral_norm", label: "\\lVert\\bsf{W}_{hh}\\rVert", values: options.spectral_norms,
        format: (v) => v.toFixed(2), ariaLabel: "spectral norm of W_hh" },
      { type: "toggle", name: "activation", label: "f", options: (options.activations || ACTIVATIONS).map((a) => ({ value: a, label: { text: a } })) },
    ];
  }

  function compute(setting, base, options) {
    const r = UNROLLED.pass(base, setting.activation, setting.spectral_norm);
    const { T, H } = r;
    const rows = (v, n, k) => Array.from({ length: n }, (_, i) => Array.from(v.subarray(i * k, (i + 1) * k)));
    return {
      h: rows(r.h, T + 1, H), a: rows(r.a, T, H), xin: rows(r.xin, T, H), rec: rows(r.rec, T, H),
      fprime: rows(r.fprime, T, H), losses: Array.from(r.losses), dh: rows(r.dh, T, H),
      carried: rows(r.carried, T, H), deltas: rows(r.deltas, T, H),
      dW_hh: Array.from({ length: T }, (_, k) => rows(r.dW_hh.subarray(k * H * H, (k + 1) * H * H), H, H)),
      h_norms: Array.from(r.h_norms), delta_norms: Array.from(r.delta_norms), dW_norms: Array.from(r.dW_norms),
    };
  }

  return { controls, layout, draw, compute, describe };
})();
