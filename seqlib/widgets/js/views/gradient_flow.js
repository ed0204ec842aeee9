// views/gradient_flow.js: G[t, k] and ||δ_k|| as the reader changes the recurrence
// (seqlib/widgets/gradient_flow.py: GradientFlowWidget, and GatedFlowWidget with options.gated).
//
// The heat map of G[t, k] = ||dℓ_t/dh_k|| (eq. grad_flow_G), on a fixed logarithmic colour
// scale so that settings compare (values beyond it take the end colours; cells a truncation cuts are
// hatched).  The line plot: ||δ_k|| = ||dL/dh_k||, the last loss's row G[T, k] and,
// for the vanilla RNN, the bound G[T, T] (γ ||W_hh||)^(T-k) of eq. bptt_bound.  With a truncation
// length κ both panels show what truncated BPTT delivers (eq. bptt_truncated): the contributions that
// cross a chunk boundary are dropped, so the heat map's title and the legend say "truncated" and a note
// says so.  The headline gives G[T, 1]/G[T, T], the number the chapters quote.
// The sliders' stops are options.norm_stops and options.forget_bias_stops, computed by seqlib
// (gradient_flow.norm_stops, forget_bias_stops), so that the values the chapters name are stops.

const VIEW = (() => {
  "use strict";

  const ACTS = ["tanh", "relu", "linear", "sigmoid"];

  function controls(o, st) {
    const out = [];
    const normLabel = o.gated ? "\\lVert\\bsf{W}\\rVert" : "\\lVert\\bsf{W}_{hh}\\rVert";
    if (o.gated) {
      out.push({ name: "arch", type: "toggle", label: { text: "cell" },
        options: ["rnn", "lstm", "gru"].map((a) => ({ value: a, label: { text: o.arch_labels[a] } })) });
    }
    out.push({ name: "spectral_norm", type: "slider", label: normLabel, ariaLabel: "spectral norm",
      values: normStops(o), format: (v) => fmt(v, 3) });
    if (!o.gated) {
      out.push({ name: "activation", type: "toggle", label: { text: "activation" },
        options: ACTS.map((a) => ({ value: a, label: { text: a } })) });
    } else {
      out.push({ name: "forget_bias", type: "slider", label: "\\text{LSTM } b_f", ariaLabel: "LSTM forget-gate bias",
        values: o.forget_bias_stops.slice(), format: (v) => fmt(v, 3) });
    }
    out.push({ name: "T", type: "slider", label: "T", ariaLabel: "sequence length T", values: range(2, o.T_max),
      format: (v) => String(v) });
    out.push({ name: "truncate", type: "slider", label: "\\kappa", ariaLabel: "truncation length kappa",
      values: truncValues(st.T), format: (v) => (v === null ? "none" : String(v)) });
    return out;
  }

  function truncValues(T) { return range(1, T).concat([null]); }

  // the spectral-norm stops: seqlib's list (gradient_flow.norm_stops), so the prose's values are stops
  function normStops(o) { return o.norm_stops.slice(); }

  function normalize(st, o) {
    if (st.truncate !== null && st.truncate > st.T) st = Object.assign({}, st, { truncate: st.T });
    // the gated widget's vanilla RNN stops at rnn_norm_max (its forward pass is chaotic beyond)
    if (o.gated && st.arch === "rnn" && st.spectral_norm > o.rnn_norm_max) {
      st = Object.assign({}, st, { spectral_norm: o.rnn_norm_max });
    }
    return st;
  }

  function refresh(ctl, st, o) {
    const vals = ctl.truncate.values();
    if (vals.length !== st.T + 1) ctl.truncate.setValues(truncValues(st.T));
    if (o.gated) {
      const all = normStops(o);
      const want = st.arch === "rnn" ? all.filter((v) => v <= o.rnn_norm_max) : all;
      if (ctl.spectral_norm.values().length !== want.length) ctl.spectral_norm.setValues(want);
    }
  }

  function enabled(st, o) {
    return o.gated ? { forget_bias: st.arch === "lstm" } : {};
  }

  // ------------------------------------------------------------------ numbers (the page's own)

  function rows(G, T) {
    const out = [];
    for (let t = 0; t < T; t++) out.push(Array.from(G.subarray(t * T, (t + 1) * T)));
    return out;
  }

  function compute(st, base, o) {
    const T = st.T;
    const arch = o.gated ? st.arch : "rnn";
    if (arch !== "rnn") {
      const r = arch === "lstm" ? GATED.lstmFlow(base, st.spectral_norm, st.forget_bias, T, st.truncate)
        : GATED.gruFlow(base, st.spectral_norm, T, st.truncate);
      return { G: rows(r.G, T), delta_norms: Array.from(r.delta_norms), gate_mean: r.gate_mean };
    }
    const { B, D, H } = base;
    const act = o.gated ? "tanh" : st.activation;
    const f = flatBase(base);
    const x = sliceTime(f.x, B, f.Tmax, D, T);
    const dh = sliceTime(f.dh, B, f.Tmax, H, T);
    const W_hh = f.W_hh_unit.map((v) => st.spectral_norm * v);
    const W_xh = f.W_xh;
    const fw = RNN.forward(x, W_xh, W_hh, new Float64Array(H), act, B, T, D, H);
    const G = RNN.lossToStateNorms(dh, fw.fprime, W_hh, st.truncate, B, T, H);
    const dn = RNN.stateGradientNorms(dh, fw.fprime, W_hh, st.truncate, B, T, H);
    return { G: rows(G, T), delta_norms: Array.from(dn) };
  }

  // the base's nested lists as flat Float64Arrays, once per base object
  const FLAT = new WeakMap();
  function flatBase(base) {
    let f = FLAT.get(base);
    if (!f) {
      f = { x: unpackF64(base.x), dh: unpackF64(base.dh), W_xh: unpackF64(base.W_xh),
        W_hh_unit: unpackF64(base.W_hh_unit), Tmax: base.x[0].length };
      FLAT.set(base, f);
    }
    return f;
  }

  // the first T steps of a flat (B, Tmax, n) array, flat (B, T, n)
  function sliceTime(a, B, Tmax, n, T) {
    const out = new Float64Array(B * T * n);
    for (let b = 0; b < B; b++) out.set(a.subarray(b * Tmax * n, (b * Tmax + T) * n), b * T * n);
    return out;
  }

  // ------------------------------------------------------------------ picture

  const NBINS = 64;

  function layout(view) {
    const o = view.options;
    const st = o.gated ? "\\bsf{s}" : "\\bsf{h}";
    view.heatTitle = {
      full: `G[t,k] = \\lVert \\mathrm{d}\\ell_t / \\mathrm{d}${st}_k \\rVert`,
      cut: [`G[t,k]`, { text: ", truncated BPTT" }],
    };
    view.heat = view.panel(view.heatTitle.full);
    view.heatTruncated = false;
    view.heatProbe = h("div", { class: "sb-probe", "aria-live": "polite" });
    view.colorbar = h("div", { class: "sb-colorbar-host" });
    view.heat.fig.append(view.colorbar, view.heatProbe);
    view.line = view.panel({ text: "gradient reaching each state" });
    const legend = h("div", { class: "sb-legend" });
    const item = (color, dashed, texSrc, extra) => h("span", { class: "sb-legend-item", style: { color } },
      h("span", { class: "sb-swatch" + (dashed ? " sb-dashed" : "") }),
      h("span", { style: { color: "var(--sb-fg)" } }, label(texSrc), extra || null));
    view.legendBound = item("var(--sb-red)", true, o.gated ? "G[T,T]\\,(\\gamma\\lVert\\bsf{W}\\rVert)^{T-k}"
      : "G[T,T]\\,(\\gamma\\lVert\\bsf{W}_{hh}\\rVert)^{T-k}",
      o.gated ? h("span", {}, " (vanilla RNN)") : null);
    // the blue line: the total derivative, or under truncation the truncated one (the TeX fallback has no \tilde)
    view.legendTotal = item("var(--sb-blue)", false, o.gated ? `\\lVert\\mathrm{d}L/\\mathrm{d}${st}_k\\rVert`
      : "\\lVert\\boldsymbol{\\delta}_k\\rVert = \\lVert\\mathrm{d}L/\\mathrm{d}\\bsf{h}_k\\rVert");
    view.legendTrunc = item("var(--sb-blue)", false, o.gated ? `\\lVert\\mathrm{d}L/\\mathrm{d}${st}_k\\rVert`
      : "\\lVert\\boldsymbol{\\delta}_k\\rVert", h("span", {}, " as truncated BPTT computes it"));
    legend.append(view.legendTotal, view.legendTrunc, item("var(--sb-green)", false, `G[T,k]`), view.legendBound);
    view.truncNote = h("p", { class: "sb-trunc-note", style: { fontSize: "13px", textAlign: "center",
      color: "var(--sb-muted)", margin: "0.3rem 0 0" } });
    view.line.fig.append(legend, view.truncNote);
    // headline: typeset once, numbers as text
    const num = () => h("span", { class: "sb-num" });
    if (o.gated) {
      view.hl = { gate: num(), gateName: h("span", {}), rate: num(), rnnPart: h("span", {}), gatePart: h("span", {}),
        ratio: num() };
      view.hl.rnnPart.append(label("\\gamma\\lVert\\bsf{W}\\rVert = "), view.hl.rate,
        h("span", {}, " for the tanh RNN (γ = 1)"));
      view.hl.gatePart.append(view.hl.gateName, view.hl.gate);
      view.headline.append(view.hl.rnnPart, view.hl.gatePart, h("span", {}, "; "), label("G[T,1]/G[T,T] = "),
        view.hl.ratio);
    } else {
      view.hl = { gamma: num(), crit: num(), rate: num(), verdict: h("span", { class: "sb-verdict" }), ratio: num() };
      view.headline.append(label("\\gamma = \\sup|f'| = "), view.hl.gamma, h("span", {}, "so "),
        label("\\gamma\\lVert\\bsf{W}_{hh}\\rVert = "), view.hl.rate, h("span", {}, ": "), view.hl.verdict,
        h("span", {}, "; "), label("G[T,1]/G[T,T] = "), view.hl.ratio);
    }
  }

  // "M x,y h w v h h -w z" of every cell k <= t of a T x T map, row by row (cached per geometry)
  let cellCache = { key: "", cells: [] };
  function cellPaths(T, x0, y0, cw, ch) {
    const key = [T, x0, y0, cw, ch].join(",");
    if (cellCache.key !== key) {
      const r2 = (v) => Math.round(v * 100) / 100;
      const cells = [];
      const w = r2(cw + 0.3), hh = r2(ch + 0.3);
      for (let t = 0; t < T; t++) {
        for (let k = 0; k <= t; k++) cells.push(`M${r2(x0 + k * cw)},${r2(y0 + t * ch)}h${w}v${hh}h${-w}z`);
      }
      cellCache = { key, cells };
    }
    return cellCache.cells;
  }

  function colorOf(v, dec) {
    // log10 value in [-dec, dec] -> viridis
    const u = (Math.log10(v) + dec) / (2 * dec);
    return Math.min(NBINS - 1, Math.max(0, Math.floor(u * NBINS)));
  }

  function drawHeat(view, G, T) {
    const o = view.options;
    const dec = o.color_decades;
    const hostW = view.heat.host.clientWidth || 320;
    const size = Math.min(hostW, 420);
    const p = plot(view.heat.host, {
      height: size, width: size, margin: { l: 40, r: 8, t: 6, b: 36 },
      x: { type: "lin", domain: [0.5, T + 0.5], integer: true, nTicks: 5 },
      y: { type: "lin", domain: [0.5, T + 0.5], integer: true, flip: true, nTicks: 5 },
      ariaLabel: "heat map of G[t, k]",
    });
    // one path per colour bin, plus one for the cells the truncation cuts (G = 0)
    const cw = p.inner.w / T, ch = p.inner.h / T;
    const x0 = p.margin.l, y0 = p.margin.t;
    const cells = cellPaths(T, x0, y0, cw, ch);
    const bins = Array.from({ length: NBINS }, () => []);
    const cutCells = [];
    for (let t = 0, n = 0; t < T; t++) {
      const row = G[t];
      for (let k = 0; k <= t; k++, n++) {
        const v = row[k];
        if (v === null || !(v > 0)) cutCells.push(cells[n]);
        else bins[colorOf(v, dec)].push(cells[n]);
      }
    }
    const paths = bins.map((b) => b.join(""));
    const cut = cutCells.join("");
    const g = s("g", { class: "sb-heat", "shape-rendering": "crispEdges" });
    if (cut) {
      // hatched (visible in the light and the dark theme): a pattern of this plot's own
      const pid = "sbhatch" + Math.random().toString(36).slice(2);
      p.area.append(s("defs", {}, s("pattern", { id: pid, width: 6, height: 6, patternUnits: "userSpaceOnUse",
        patternTransform: "rotate(45)" }, s("rect", { width: 6, height: 6, fill: "var(--sb-surface)" }),
        s("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "var(--sb-muted)", "stroke-width": 1.5 }))));
      g.append(s("path", { d: cut, fill: `url(#${pid})`, class: "sb-cut", "shape-rendering": "auto" }));
    }
    paths.forEach((d, i) => { if (d) g.append(s("path", { d, fill: viridis((i + 0.5) / NBINS) })); });
    p.area.append(g);
    // axis titles as text
    const xt = s("text", { x: x0 + p.inner.w / 2, y: p.height - 4, "text-anchor": "middle" }, "state ",
      s("tspan", { "font-style": "italic" }, "k"));
    const yt = s("text", { x: 12, y: y0 + p.inner.h / 2, "text-anchor": "middle",
      transform: `rotate(-90 12 ${y0 + p.inner.h / 2})` }, "loss ", s("tspan", { "font-style": "italic" }, "t"));
    p.axes.append(xt, yt);
    // hover / tap probe
    const probe = (ev) => {
      const rect = p.svg.getBoundingClientRect();
      const k = Math.floor((ev.clientX - rect.left - x0) / cw), t = Math.floor((ev.clientY - rect.top - y0) / ch);
      if (k < 0 || t < 0 || k >= T || t >= T || k > t) { view.heatProbe.textContent = ""; return; }
      const v = G[t][k];
      view.heatProbe.replaceChildren(h("i", {}, "t"), ` = ${t + 1}, `, h("i", {}, "k"), ` = ${k + 1}: `,
        h("i", {}, "G"), ` = ${v > 0 ? fmt(v, 3) : "0 (path cut)"}`);
    };
    p.svg.addEventListener("pointermove", probe);
    p.svg.addEventListener("pointerdown", probe);
    p.svg.style.touchAction = "pan-y";
    drawColorbar(view, size);
  }

  function drawColorbar(view, width) {
    const dec = view.options.color_decades;
    const host = view.colorbar;
    if (host.dataset.width === String(width)) return;  // the scale is fixed: redraw only at a new width
    host.dataset.width = String(width);
    const w = Math.max(200, width), hgt = 42, l = 40, r = 14;
    const svg = s("svg", { class: "sb-plot sb-colorbar", width: w, height: hgt, role: "img",
      "aria-label": `colour scale from 10^-${dec} to 10^${dec}` });
    const iw = w - l - r;
    for (let i = 0; i < NBINS; i++) {
      svg.append(s("rect", { x: (l + (i * iw) / NBINS).toFixed(2), y: 4, width: (iw / NBINS + 0.4).toFixed(2), height: 12,
        fill: viridis((i + 0.5) / NBINS) }));
    }
    // arrows: values beyond the scale take the end colours
    svg.append(s("path", { d: `M${l - 1},4 l-8,6 l8,6z`, fill: viridis(0) }));
    svg.append(s("path", { d: `M${l + iw + 1},4 l8,6 l-8,6z`, fill: viridis(1) }));
    for (let e = -dec; e <= dec; e += 4) {
      const x = l + ((e + dec) / (2 * dec)) * iw;
      svg.append(s("line", { x1: x, x2: x, y1: 16, y2: 20, class: "sb-tickmark" }));
      const t = s("text", { x, y: 33, "text-anchor": "middle", class: "sb-tick" });
      t.textContent = pow10Label(e);
      svg.append(t);
    }
    host.replaceChildren(svg);
  }

  function drawLines(view, data, st, T) {
    const o = view.options;
    const dec = o.color_decades;
    const lo = 10 ** -dec, hi = 10 ** dec;
    const p = plot(view.line.host, {
      aspect: 0.72, margin: { l: 46, r: 10, t: 8, b: 36 },
      x: { type: "lin", domain: [0.5, T + 0.5], integer: true },
      y: { type: "log", domain: [lo, hi], grid: true, maxTicks: 5 },
      ariaLabel: "gradient norms against the state index k",
    });
    const ks = range(1, T);
    const clip = (v) => (v === null ? null : Math.min(hi * 10, Math.max(lo / 10, v)));
    const area = p.area;
    const clipId = "sbclip" + Math.random().toString(36).slice(2);
    area.append(s("clipPath", { id: clipId }, s("rect", { x: p.margin.l, y: p.margin.t, width: p.inner.w, height: p.inner.h })));
    const g = s("g", { "clip-path": `url(#${clipId})` });
    area.append(g);
    if (st.truncate !== null) {
      for (let c = st.truncate; c < T; c += st.truncate) {
        const x = p.sx(c + 0.5);
        g.append(s("line", { x1: x, x2: x, y1: p.margin.t, y2: p.margin.t + p.inner.h, stroke: "var(--sb-muted)",
          "stroke-dasharray": "2 3", "stroke-width": 1 }));
      }
    }
    const arch = o.gated ? st.arch : "rnn";
    if (arch === "rnn") {
      const gamma = o.gamma[o.gated ? "tanh" : st.activation];
      const rate = gamma * st.spectral_norm;
      const gTT = data.G[T - 1][T - 1];
      const bound = ks.map((k) => clip(gTT * rate ** (T - k)));
      g.append(s("path", { d: pathData(ks, bound, p.sx, p.sy, true), fill: "none", stroke: "var(--sb-red)",
        "stroke-width": 1.6, "stroke-dasharray": "6 4" }));
    }
    const last = data.G[T - 1].map((v) => (v > 0 ? clip(v) : null));
    g.append(s("path", { d: pathData(ks, last, p.sx, p.sy, true), fill: "none", stroke: "var(--sb-green)", "stroke-width": 1.6 }));
    g.append(s("path", { d: pathData(ks, data.delta_norms.map(clip), p.sx, p.sy, true), fill: "none",
      stroke: "var(--sb-blue)", "stroke-width": 2.2 }));
    const xt = s("text", { x: p.margin.l + p.inner.w / 2, y: p.height - 4, "text-anchor": "middle" }, "state ",
      s("tspan", { "font-style": "italic" }, "k"));
    p.axes.append(xt);
    view.legendBound.style.display = arch === "rnn" ? "" : "none";
    const cut = st.truncate !== null;
    view.legendTotal.style.display = cut ? "none" : "";
    view.legendTrunc.style.display = cut ? "" : "none";
    view.truncNote.style.display = cut ? "" : "none";
    view.truncNote.textContent = cut ? `Truncation κ = ${st.truncate}: both panels show what truncated BPTT ` +
      "delivers. Contributions across a chunk boundary (dotted) are dropped: G = 0, hatched in the heat map." : "";
    if (cut !== view.heatTruncated) {
      view.heatTruncated = cut;
      view.heat.setTitle(cut ? view.heatTitle.cut : view.heatTitle.full);
    }
  }

  function drawHeadline(view, data, st) {
    const o = view.options;
    const T = data.G.length;
    view.hl.ratio.textContent = fmt(data.G[T - 1][0] / data.G[T - 1][T - 1], 3);
    if (o.gated) {
      const arch = st.arch;
      view.hl.rnnPart.style.display = arch === "rnn" ? "" : "none";
      view.hl.gatePart.style.display = arch === "rnn" ? "none" : "";
      view.hl.rate.textContent = fmt(st.spectral_norm, 3);
      if (arch !== "rnn") {
        view.hl.gateName.textContent = arch === "lstm" ? "mean forget gate over the run: " : "mean update gate over the run: ";
        view.hl.gate.textContent = fmt(data.gate_mean, 3);
      }
      return;
    }
    const gamma = o.gamma[st.activation];
    const rate = gamma * st.spectral_norm;
    view.hl.gamma.textContent = gamma === 0.25 ? "1/4" : fmt(gamma);
    view.hl.rate.textContent = fmt(rate, 3);
    const v = view.hl.verdict;
    if (rate < 1) {
      v.textContent = "below 1, so long-range contributions are guaranteed to vanish"; v.style.color = "var(--sb-blue)";
    } else if (rate === 1) { v.textContent = "exactly 1: the boundary"; v.style.color = "var(--sb-fg)"; }
    else { v.textContent = "above 1, so it may explode (not guaranteed)"; v.style.color = "var(--sb-red)"; }
  }

  function draw(view, data, st) {
    const T = data.G.length;
    drawHeadline(view, data, st);
    drawHeat(view, data.G, T);
    drawLines(view, data, st, T);
  }

  function describe(data, st, o) {
    const T = data.G.length;
    const r = data.G[T - 1][0] / data.G[T - 1][T - 1];
    const cell = o.gated ? o.arch_labels[st.arch] : `${st.activation} RNN`;
    return `${cell}, spectral norm ${fmt(st.spectral_norm)}, T = ${T}, ` +
      `${st.truncate === null ? "full BPTT" : "truncation every " + st.truncate + " steps"}: ` +
      `G[T, 1] / G[T, T] = ${fmt(r)}.`;
  }

  // every cell's code compiled once, while the page is idle (the gated widget computes three cells)
  function warmup(st, base, o) {
    if (!o.gated) { compute(st, base, o); return; }
    for (const arch of ["rnn", "lstm", "gru"]) compute(normalize(Object.assign({}, st, { arch }), o), base, o);
  }

  return { controls, normalize, refresh, enabled, compute, layout, draw, describe, warmup };
})();
