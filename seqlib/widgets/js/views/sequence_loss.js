// views/sequence_loss.js: which tokens count in the loss of a padded batch, and how much
// (seqlib/widgets/masks.py: SequenceLossWidget).
//
// Controls: the length L_b of each of the B = 4 sequences, the weighting scheme and the
// normalisation convention (their button labels come from the options: masks.py's WEIGHT_SCHEMES and
// CONVENTIONS; PyTorch's mean has no per-token weights, so it takes the mask only: its button is off
// under other weights, and theirs under it).  Headline, three lines: the loss Σ w ℓ / Z with its
// numerator and denominator (per-sequence mean: one term per sequence, over its own Z_b), Z (or the
// Z_b) in words, and μ = Σ w/Z_b, the sum of the token coefficients (the effective learning rate is
// ημ); under it a note on what to see.  Two grids (rows b, columns l): the weights w_bl, and each
// token's gradient scale w_bl/Z_b (the factor of its ŷ − y in eq. seq_loss_grad).  Right of each grid
// (below it on a narrow screen), a bar per sequence on a fixed axis: its total weight Σ_l w_bl, and
// its total gradient weight Σ_l w_bl/Z_b.  Point at or tap a cell or a bar for its numbers (the
// in-cell numbers are dropped when the cells are too narrow for them).

const VIEW = (() => {
  "use strict";

  const LKEYS = ["L0", "L1", "L2", "L3"];
  // A button's label from options.labels (masks.py): its text, then its TeX if it has one.
  const buttonLabel = (c) => (c.tex ? [{ text: c.button.trimEnd() + " " }, c.tex] : { text: c.button });
  const FONT = 12;           // px, the smallest text drawn
  const CELL_H = 30;
  const WIDE = 520;          // px: from this width on, the bars stand right of the grids

  const isNum = (x) => x !== null && x !== undefined && Number.isFinite(x);
  const num = (x, d = 4) => (isNum(x) ? fmt(x, d) : "NaN");

  // ------------------------------------------------------------------ controls

  function controls(o) {
    const out = LKEYS.map((k, b) => ({
      name: k, type: "slider", label: `L_${b}`, ariaLabel: `length of sequence ${b}`,
      values: range(0, o.T), format: (v) => String(v),
    }));
    out.push({ name: "scheme", type: "toggle", label: { text: "weights" },
      options: o.schemes.map((s) => ({ value: s, label: buttonLabel(o.labels.schemes[s]) })) });
    out.push({ name: "convention", type: "toggle", label: { text: "normalise" },
      options: o.conventions.map((c) => ({ value: c, label: buttonLabel(o.labels.conventions[c]) })) });
    return out;
  }

  // PyTorch's mean has no per-token weights: under it only the mask applies, and under other weights its
  // button is off.  A toggle's setEnabled (runtime.js) switches all its buttons; it is wrapped here so that
  // it also switches off the buttons that do not apply to the current setting (refresh runs before it).
  const TORCH_OFF = "PyTorch's mean has no per-token weights";
  function refresh(controls, st, o) {
    const off = {
      scheme: (v) => (st.convention === "torch" && !o.torch_schemes.includes(v)
        ? `${TORCH_OFF}: choose another normalisation for these weights` : ""),
      convention: (v) => (v === "torch" && !o.torch_schemes.includes(st.scheme)
        ? `${TORCH_OFF}: choose the mask to use it` : ""),
    };
    for (const [name, why] of Object.entries(off)) {
      const ctl = controls[name];
      if (!ctl.slWhole) ctl.slWhole = ctl.setEnabled;
      ctl.setEnabled = (on) => {
        ctl.slWhole(on);
        for (const b of ctl.row.querySelectorAll("button")) {
          const reason = why(JSON.parse(b.getAttribute("data-value")));
          b.disabled = !on || !!reason;
          b.style.opacity = reason ? "0.45" : "";
          if (reason) b.title = reason; else b.removeAttribute("title");
        }
      };
    }
  }

  // ------------------------------------------------------------------ numbers (the page's own)

  let cache = null;  // the flattened draws of `base`
  let uid = 0;       // widgets laid out so far (their SVG ids)

  function nest(a, B, T) {
    const out = [];
    for (let b = 0; b < B; b++) out.push(Array.from(a.subarray(b * T, (b + 1) * T)));
    return out;
  }

  function compute(st, base, o) {
    const { B, T, V } = o;
    if (!cache || cache.base !== base) {
      cache = { base, z: Float64Array.from(base.logits.flat(2)), y: Int32Array.from(base.targets.flat()) };
    }
    const { z, y } = cache;
    const lengths = LKEYS.map((k) => st[k]);
    const conv = st.convention;
    const w = LOSS.makeWeights(lengths, st.scheme, T, o.last_weight);
    let flags, upstream = null;
    if (conv === "tfa") flags = {};
    else if (conv === "nonzero" || conv === "torch") flags = { avgT: false, avgB: false, sumT: true, sumB: true };
    else if (conv === "batch") { flags = { avgT: false, avgB: false }; upstream = new Float64Array(B * T).fill(1.0 / B); }
    else if (conv === "per_sequence") { flags = { avgB: false }; upstream = new Float64Array(B).fill(1.0 / B); }
    else throw new Error(`convention must be one of ${o.conventions}, got ${conv}`);

    const tok = LOSS.tokenCrossEntropy(z, y, B, T, V);
    const out = LOSS.sequenceLoss(tok, w, B, T, flags);
    let value;
    if (conv === "batch" || conv === "per_sequence") { let s = 0; for (const v of out) s += v; value = s / B; }
    else value = out[0];
    const grad = LOSS.sequenceLossBackward(z, y, w, B, T, V, flags, upstream);
    const unit = LOSS.softmaxMinusOnehot(z, y, B * T, V);
    const gn = LOSS.rowNorms(grad, B * T, V), un = LOSS.rowNorms(unit, B * T, V);
    const scale = new Float64Array(B * T);
    for (let i = 0; i < B * T; i++) scale[i] = gn[i] / un[i];

    const rowWeight = new Float64Array(B), rowNum = new Float64Array(B), rowGrad = new Float64Array(B);
    let numerator = 0, mu = 0, N = 0, n = 0;
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < T; l++) {
        const i = b * T + l;
        rowWeight[b] += w[i]; rowNum[b] += w[i] * tok[i]; rowGrad[b] += scale[i];
        numerator += w[i] * tok[i]; mu += scale[i]; N += w[i]; if (w[i] !== 0) n++;
      }
    }
    let den, rowDen;
    if (conv === "per_sequence") { den = NaN; rowDen = Array.from(rowWeight, (x) => B * x); }
    else { den = LOSS.lossDenominator(w, B, T, conv); rowDen = new Array(B).fill(den); }
    if (conv === "torch" && den === 0) value = NaN;  // PyTorch's mean over no target: 0 / 0
    return {
      lengths, weights: nest(w, B, T), token_loss: nest(tok, B, T), grad_scale: nest(scale, B, T),
      row_weight: Array.from(rowWeight), row_numerator: Array.from(rowNum), row_grad: Array.from(rowGrad),
      row_denominator: rowDen, numerator, denominator: den, loss: value, mu, N, n,
    };
  }

  // ------------------------------------------------------------------ layout (built once; typeset once)

  // A line of the headline: a mix of typeset TeX (strings), plain text ({text}) and number slots ({slot}).
  function line(view, parts, slots) {
    const el = view.h("div", { class: "seqlib-sl-line" });
    for (const p of parts) {
      if (typeof p === "string") el.append(view.tex(p));
      else if (p.slot) { const sp = view.h("span", { class: "seqlib-sl-num" }); slots[p.slot] = sp; el.append(sp); }
      else el.append(p.text);
    }
    return el;
  }

  function layout(view) {
    const { h } = view;
    view.panels.style.flexDirection = "column";
    view.panels.style.alignItems = "stretch";

    // headline: one block per convention (only the current one shown), numbers in plain spans
    const L = "\\mathbb{L}_{\\text{batch}}";
    const heads = {};
    const mk = (conv, lines) => {
      const slots = {};
      const box = h("div", { class: "seqlib-sl-head", style: { display: "none" } });
      for (const ln of lines) box.append(line(view, ln, slots));
      heads[conv] = { box, slots };
      view.headline.append(box);
    };
    const lossLine = [L, { text: " = " }, "\\sum_{b,l} w_{b,l}\\,\\ell_{b,l} \\,/\\, Z", { text: " = " }, { slot: "num" },
      { text: " / " }, { slot: "den" }, { text: " = " }, { slot: "loss" }];
    const muText = { text: ", the sum of the gradient-scale bars; effective learning rate " };
    const muLine = ["\\mu = \\sum_{b,l} w_{b,l}/Z", { text: " = " }, { slot: "mu" }, muText, "\\eta\\mu"];
    mk("tfa", [lossLine, ["Z = N = \\sum_{b,l} w_{b,l}", { text: " = " }, { slot: "Z" },
      { text: ": the token mean (tfa's default, average_across_* flags)" }], muLine]);
    mk("nonzero", [lossLine, ["Z = n = \\#\\{(b,l) : w_{b,l} \\ne 0\\}", { text: " = " }, { slot: "Z" },
      { text: ": the nonzero-token mean (tfa's sum_over_* flags)" }], muLine]);
    mk("torch", [lossLine, ["Z = n", { text: " = " }, { slot: "Z" },
      { text: " non-ignored targets (those with " }, "w_{b,l} \\ne 0",
      { text: "): PyTorch's ignore_index mean (no per-token weights: the mask only)" }], muLine]);
    mk("batch", [lossLine, ["Z = B", { text: " = " }, { slot: "Z" },
      { text: ": per batch, each sequence's sum averaged over the sequences" }], muLine]);
    mk("per_sequence", [
      [L, { text: " = " }, "\\sum_b \\bigl(\\sum_l w_{b,l}\\,\\ell_{b,l}\\bigr) \\,/\\, Z_b", { text: " = " },
        { slot: "terms" },
        { text: " = " }, { slot: "loss" }],
      ["Z_b = B \\sum_l w_{b,l}", { text: " = " }, { slot: "Z" },
        { text: ": the per-sequence mean, each sequence's mean averaged over the sequences" }],
      ["\\mu = \\sum_{b,l} w_{b,l}/Z_b", { text: " = " }, { slot: "mu" }, muText, "\\eta\\mu"]]);
    // what to notice, one sentence per case (typeset once; only the numbers change)
    const notes = {};
    const noteBox = h("div", { class: "seqlib-sl-note", style: { color: "var(--sb-muted)", fontSize: "14px" } });
    const note = (key, parts) => {
      const slots = {};
      const el = line(view, parts, slots);
      el.style.display = "none";
      noteBox.append(el);
      notes[key] = { el, slots };
    };
    note("default", [{ text: "Every real token gets " }, "w_{b,l}/Z", { text: " and padding gets 0: a sequence's share of " },
      "\\mu", { text: " is its share of the total weight " }, "N", { text: "." }]);
    note("batch", [{ text: "Every token gets " }, "w_{b,l}/B", { text: ", so " }, "\\mu = N/B", { text: " = " }, { slot: "mu" },
      { text: ", the mean of the sequences' total weights: longer sequences, larger steps." }]);
    note("per_sequence", [{ text: "Each sequence's tokens add up to " }, "1/B",
      { text: " (its share of " }, "\\mu = 1", { text: "), however long it is, so a short sequence's tokens weigh more." }]);
    note("per_sequence_empty", [{ text: "Each non-empty sequence's tokens add up to " }, "1/B",
      { text: ", however long it is; an empty one adds 0, so " }, "\\mu",
      { text: " = (non-empty sequences)/" }, "B", { text: " = " }, { slot: "mu" }, { text: " < 1." }]);
    note("frac", [{ text: "Weights other than 0 and 1: " }, "N = \\sum_{b,l} w_{b,l}", { text: " = " }, { slot: "N" },
      { text: " differs from " }, "n", { text: " = " }, { slot: "n" }, { text: ", so " }, "\\mu = N/n", { text: " = " },
      { slot: "mu" }, { text: "." }]);
    note("empty_torch", [{ text: "Every target is ignored: PyTorch computes 0/0 and returns NaN (seqlib's " +
      "divide-no-nan would give 0). The gradients are zero." }]);
    note("empty_batch", [{ text: "No real token: the loss and every gradient are 0." }]);
    note("empty", [{ text: "No real token: 0/0, which divide-no-nan turns into a loss of 0 and zero gradients " +
      "(PyTorch's mean returns NaN)." }]);
    view.headline.append(noteBox);
    uid += 1;  // numbers this widget's SVG ids: unique in the page, fixed across draws
    view.sl = { heads, notes, zs: [], uid };
    // "Z" under a single denominator, "Z_b" under the per-sequence mean (headline() shows one of the two)
    const zz = (texZ, texZb) => {
      const a = view.tex(texZ), b = view.tex(texZb);
      view.sl.zs.push([a, b]);
      return h("span", {}, a, b);
    };

    // the two grids
    const grid = (title, kind) => {
      const p = view.panel(title);
      p.host.style.position = "relative";
      const svgBox = h("div");
      const corner = h("div", { class: "seqlib-sl-corner", style: { position: "absolute", fontSize: "13px" } },
        view.tex("b \\,\\backslash\\, l"));
      const right = h("div", { class: "seqlib-sl-righthead", style: { position: "absolute", fontSize: "13px",
        whiteSpace: "nowrap" } }, kind === "w" ? view.tex("\\sum_l w_{b,l}") : zz("\\sum_l w_{b,l}/Z", "\\sum_l w_{b,l}/Z_b"));
      p.host.append(svgBox, corner, right);
      return { p, svgBox, corner, right };
    };
    view.sl.gw = grid([{ text: "weights " }, "w_{b,l}", { text: " (rows: sequences, columns: positions)" }], "w");
    view.sl.gg = grid([{ text: "gradient scale of each token" }], "g");
    view.sl.gg.p.cap.replaceChildren(h("span", {}, "gradient scale "), zz("w_{b,l}/Z", "w_{b,l}/Z_b"),
      h("span", {}, " of each token, the factor of its "), view.tex("\\hat{\\bsf{y}}_{b,l} - \\bsf{y}_{b,l}"));

    // the readout of the cell or bar under the pointer (or last tapped).  It sits in a slot under the
    // gradient grid; in a narrow column (bars below the grids) there is a slot under each grid, of
    // fixed height, and the readout goes to the one under the grid last tapped (nothing moves).
    const slot = (fig) => {
      const el = h("div", { class: "seqlib-sl-slot", style: { fontSize: "14px", marginTop: "0.2rem" } });
      const hint = h("div", { style: { color: "var(--sb-muted)" } }, "Point at or tap a cell or a bar to read its numbers.");
      el.append(hint);
      fig.append(el);
      return { el, hint };
    };
    const slots = { w: slot(view.sl.gw.p.fig), g: slot(view.sl.gg.p.fig) };
    const ro = h("div", { class: "seqlib-sl-readout", "aria-live": "polite" });
    const cellSlots = {}, rowSlots = {};
    const cellLine = line(view, [{ text: "sequence " }, "b", { text: " = " }, { slot: "b" }, { text: ", position " }, "l",
      { text: " = " }, { slot: "l" }, { slot: "pad" }, { text: ":  " }, "w_{b,l}", { text: " = " }, { slot: "w" }, { text: ",  " },
      "\\ell_{b,l}", { text: " = " }, { slot: "ell" }, { text: ",  " }, "w_{b,l}\\ell_{b,l}", { text: " = " }, { slot: "wl" },
      { text: ",  " }, { slot: "zZ" }, { text: " = " }, { slot: "Z" }, { text: ",  " }, { slot: "zg" }, { text: " = " },
      { slot: "g" }], cellSlots);
    cellSlots.zZ.append(zz("Z", "Z_b"));
    cellSlots.zg.append(zz("w_{b,l}/Z", "w_{b,l}/Z_b"));
    const rowLine = line(view, [{ text: "sequence " }, "b", { text: " = " }, { slot: "b" }, { text: " (length " }, { slot: "L" },
      { text: "):  " }, "\\sum_l w_{b,l}", { text: " = " }, { slot: "w" }, { text: ",  " }, "\\sum_l w_{b,l}\\ell_{b,l}",
      { text: " = " }, { slot: "wl" }, { text: ",  " }, { slot: "zg" }, { text: " = " }, { slot: "g" },
      { text: ", " }, { slot: "share" }, { text: " of " }, "\\mu"], rowSlots);
    rowSlots.zg.append(zz("\\sum_l w_{b,l}/Z", "\\sum_l w_{b,l}/Z_b"));
    ro.append(cellLine, rowLine);
    slots.g.el.append(ro);
    view.sl.ro = { el: ro, slots, at: "g", cellLine, rowLine, cellSlots, rowSlots };
    view.sl.sel = null;     // {b, l} (l null: the whole sequence); set by pointer
    view.sl.pinned = false;
  }

  // ------------------------------------------------------------------ drawing

  // width of a text at FONT px in the widget's font (a canvas measures it; an estimate without one)
  let measurer = null;
  function textWidth(t, family) {
    if (measurer === null) {
      const c = typeof document !== "undefined" ? document.createElement("canvas") : null;
      measurer = (c && c.getContext && c.getContext("2d")) || false;
    }
    if (!measurer) return 7.2 * t.length;
    measurer.font = `${FONT}px ${family}`;
    return measurer.measureText(t).width;
  }

  function colour(kind, v, o) {
    if (kind === "w") return viridis((v - o.scales.weight[0]) / (o.scales.weight[1] - o.scales.weight[0]));
    const [lo, hi] = o.scales.grad;
    return viridis((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
  }
  function uOf(kind, v, o) {
    if (kind === "w") return (v - o.scales.weight[0]) / (o.scales.weight[1] - o.scales.weight[0]);
    const [lo, hi] = o.scales.grad;
    return (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  }

  // Where things go.  Wide: the bars right of the grid, one per row.  Narrow (a phone): the bars below
  // the grid, so that the cells keep room for their numbers.
  function geometry(W, o) {
    const { B, T } = o;
    const wide = W >= WIDE;
    const labW = 40, headH = 24, cbH = 40;          // row numbers and corner label; column numbers; colour bar
    const R = wide ? Math.min(240, Math.round(0.3 * W)) : 0;
    const gap = wide ? 16 : 0;
    const cw = Math.max(16, (W - labW - gap - R - (wide ? 0 : 4)) / T);
    const ch = CELL_H;
    const gridBottom = headH + B * ch;
    const G = { W, wide, labW, cw, ch, headH, gridBottom, x0: labW, cbY: gridBottom + 8 };
    if (wide) {
      Object.assign(G, { barX0: labW + T * cw + gap, barW: R - 46, rowY: (b) => headH + b * ch, rowH: ch,
        barPad: 6, axisY: gridBottom + 12, headX: labW + T * cw + gap, headY: headH - 24, H: gridBottom + cbH });
    } else {
      const top = gridBottom + cbH + 28, pitch = 24;
      Object.assign(G, { barX0: labW, barW: W - labW - 50, rowY: (b) => top + b * pitch, rowH: pitch, barPad: 4,
        axisY: top + B * pitch + 4, headX: labW, headY: top - 26, H: top + B * pitch + 28 });
    }
    return G;
  }

  function text(x, y, str, attrs = {}) {
    const t = s("text", Object.assign({ x, y, dy: "0.35em", class: "sb-tick", "pointer-events": "none" }, attrs));
    t.textContent = str;
    return t;
  }

  function drawGrid(view, g, kind, data, setting, W, family) {
    const o = view.options;
    const { B, T } = o;
    const G = geometry(W, o);
    const vals = kind === "w" ? data.weights : data.grad_scale;
    const rows = kind === "w" ? data.row_weight : data.row_grad;
    const rmax = kind === "w" ? o.scales.row_weight[1] : o.scales.row_grad[1];
    const svg = s("svg", { class: "sb-plot", width: W, height: G.H, viewBox: `0 0 ${W} ${G.H}`, role: "img",
      "aria-label": kind === "w" ? "grid of the weights and bars of each sequence's total weight"
        : "grid of the gradient scales and bars of each sequence's total gradient weight" });
    const digits = kind === "w" ? 3 : 2;
    // in-cell numbers only where every real cell's number fits, with 4 px to spare on each side
    const room = G.cw - 2 - 8;
    let fits = true;
    for (let b = 0; b < B; b++) for (let l = 0; l < T; l++) {
      const v = vals[b][l];
      if (v !== 0 && textWidth(fmt(v, digits), family) > room) fits = false;
    }
    const padText = kind === "w" ? "pad" : "0";
    const padFits = textWidth(padText, family) <= room;
    const sel = view.sl.sel;
    const cells = s("g");
    for (let b = 0; b < B; b++) {
      const y = G.headH + b * G.ch;
      for (let l = 0; l < T; l++) {
        const x = G.x0 + l * G.cw;
        const v = vals[b][l];
        const real = data.weights[b][l] !== 0;
        cells.append(s("rect", { x: x + 1, y: y + 1, width: G.cw - 2, height: G.ch - 2, rx: 2,
          fill: real ? colour(kind, Math.max(v, kind === "w" ? 0 : o.scales.grad[0]), o) : "var(--sb-surface)",
          stroke: real ? "none" : "var(--sb-line)", "stroke-dasharray": real ? null : "3 2",
          "data-b": b, "data-l": l, style: "cursor: pointer" }));
        const label = real ? (fits ? fmt(v, digits) : null) : (padFits ? padText : null);
        if (label) {
          const dark = real && uOf(kind, v, o) < 0.6;
          cells.append(text(x + G.cw / 2, y + G.ch / 2, label, { "text-anchor": "middle",
            style: `font-size:${FONT}px; fill:${real ? (dark ? "#ffffff" : "#111111") : "var(--sb-muted)"}` }));
        }
      }
      cells.append(text(G.labW - 12, y + G.ch / 2, String(b), { "text-anchor": "end" }));
    }
    for (let l = 0; l < T; l++) cells.append(text(G.x0 + (l + 0.5) * G.cw, G.headH - 12, String(l), { "text-anchor": "middle" }));
    if (sel && sel.l !== null) {
      const a = { x: G.x0 + sel.l * G.cw, y: G.headH + sel.b * G.ch, width: G.cw, height: G.ch, rx: 3, fill: "none",
        "pointer-events": "none" };
      cells.append(s("rect", Object.assign({}, a, { stroke: "var(--sb-fg)", "stroke-width": 3 })));
      cells.append(s("rect", Object.assign({}, a, { x: a.x + 2, y: a.y + 2, width: a.width - 4, height: a.height - 4,
        stroke: "var(--sb-bg)", "stroke-width": 1.5 })));
    }
    svg.append(cells);

    // colour bar under the cells
    // the gradient's id: unique per widget (set once in layout) and the same on every draw
    const gid = `seqlib-sl-${view.sl.uid}-${kind}`;
    const lg = s("linearGradient", { id: gid, x1: 0, x2: 1, y1: 0, y2: 0 });
    for (let i = 0; i <= 10; i++) lg.append(s("stop", { offset: `${i * 10}%`, "stop-color": viridis(i / 10) }));
    svg.append(s("defs", {}, lg));
    const cbW = T * G.cw - 2;
    svg.append(s("rect", { x: G.x0 + 1, y: G.cbY, width: cbW, height: 8, fill: `url(#${gid})` }));
    const ticks = kind === "w" ? [[0, "0"], [1, "1"], [2, "2"], [3, "3"]] : [[0.01, "0.01"], [0.1, "0.1"], [1, "1"]];
    for (const [v, txt] of ticks) {
      const x = G.x0 + 1 + uOf(kind, v, o) * cbW;
      svg.append(s("line", { x1: x, x2: x, y1: G.cbY + 8, y2: G.cbY + 12, class: "sb-tickmark" }));
      svg.append(text(x, G.cbY + 20, txt, { "text-anchor": x > G.x0 + cbW - 4 ? "end" : "middle" }));
    }

    // one bar per sequence, on a fixed axis [0, rmax]
    const sx = (v) => G.barX0 + Math.min(1, v / rmax) * G.barW;
    for (let b = 0; b < B; b++) {
      const y = G.rowY(b);
      if (!G.wide) svg.append(text(G.labW - 12, y + G.rowH / 2, String(b), { "text-anchor": "end" }));
      const bw = sx(rows[b]) - G.barX0;
      svg.append(s("rect", { x: G.barX0, y: y + G.barPad, width: rows[b] > 0 ? Math.max(bw, 1) : 0,
        height: G.rowH - 2 * G.barPad, fill: kind === "w" ? "var(--sb-blue)" : "var(--sb-orange)" }));
      svg.append(text(G.barX0 + bw + 4, y + G.rowH / 2, fmt(rows[b], 3)));
      if (sel && sel.b === b && sel.l === null) {
        svg.append(s("rect", { x: G.barX0 - 4, y: y + 1, width: G.barW + 48, height: G.rowH - 2, rx: 3, fill: "none",
          stroke: "var(--sb-fg)", "stroke-width": 1.5, "pointer-events": "none" }));
      }
      svg.append(s("rect", { x: G.barX0 - 4, y, width: G.barW + 48, height: G.rowH, fill: "transparent",
        "data-b": b, "data-l": "", style: "cursor: pointer" }));
    }
    const yTop = G.rowY(0), yBot = G.rowY(B - 1) + G.rowH;
    svg.append(s("line", { x1: G.barX0, x2: G.barX0, y1: yTop, y2: yBot, class: "sb-tickmark" }));
    svg.append(s("line", { x1: G.barX0, x2: G.barX0 + G.barW, y1: G.axisY, y2: G.axisY, class: "sb-tickmark" }));
    for (const v of kind === "w" ? [0, 5, 10] : [0, 1, 2, 3]) {
      const x = sx(v);
      svg.append(s("line", { x1: x, x2: x, y1: G.axisY, y2: G.axisY + 4, class: "sb-tickmark" }));
      svg.append(text(x, G.axisY + 14, String(v), { "text-anchor": "middle" }));
    }

    // pointer: hover shows, a tap/click pins (a second tap on the same cell unpins)
    const pick = (e) => {
      const t = e.target;
      if (!t || !t.hasAttribute || !t.hasAttribute("data-b")) return null;
      const lb = t.getAttribute("data-l");
      return { b: Number(t.getAttribute("data-b")), l: lb === "" ? null : Number(lb) };
    };
    svg.addEventListener("pointermove", (e) => {
      if (view.sl.pinned || e.pointerType !== "mouse") return;
      const p = pick(e);
      if (p && !(view.sl.sel && view.sl.sel.b === p.b && view.sl.sel.l === p.l)) select(view, p, false);
    });
    svg.addEventListener("pointerleave", (e) => {
      if (!view.sl.pinned && e.pointerType === "mouse" && view.sl.sel) select(view, null, false);
    });
    svg.addEventListener("click", (e) => {
      const p = pick(e);
      if (!p) return;
      const same = view.sl.sel && view.sl.sel.b === p.b && view.sl.sel.l === p.l && view.sl.pinned;
      if (!G.wide) view.sl.ro.at = kind;  // the readout goes under the grid that was tapped
      select(view, same ? null : p, !same);
    });

    g.svgBox.replaceChildren(svg);
    // the typeset labels, placed over the SVG
    Object.assign(g.corner.style, { left: "0px", top: `${G.headH - 26}px`, width: `${G.labW}px` });
    Object.assign(g.right.style, { left: `${G.headX}px`, top: `${G.headY}px` });
  }

  function select(view, p, pinned) {
    view.sl.sel = p;
    view.sl.pinned = !!(p && pinned);
    if (view.sl.last) redraw(view, view.sl.last.data, view.sl.last.setting);
  }

  function readout(view, d, st, wide) {
    const R = view.sl.ro;
    const sel = view.sl.sel;
    if (wide) R.at = "g";
    R.slots.w.el.style.display = wide ? "none" : "";
    for (const [k, sl] of Object.entries(R.slots)) {
      sl.el.style.minHeight = wide ? "2.8em" : "4.3em";
      sl.hint.style.display = sel && k === R.at ? "none" : "";
    }
    if (R.el.parentNode !== R.slots[R.at].el) R.slots[R.at].el.append(R.el);
    R.cellLine.style.display = sel && sel.l !== null ? "" : "none";
    R.rowLine.style.display = sel && sel.l === null ? "" : "none";
    if (!sel) return;
    const b = sel.b;
    if (sel.l !== null) {
      const l = sel.l, S = R.cellSlots, w = d.weights[b][l], ell = d.token_loss[b][l];
      S.b.textContent = String(b); S.l.textContent = String(l);
      S.pad.textContent = w === 0 ? " (padding)" : "";
      S.w.textContent = num(w); S.ell.textContent = num(ell); S.wl.textContent = num(w * ell);
      S.Z.textContent = num(d.row_denominator[b]); S.g.textContent = num(d.grad_scale[b][l]);
    } else {
      const S = R.rowSlots;
      S.b.textContent = String(b); S.L.textContent = String(d.lengths[b]);
      S.w.textContent = num(d.row_weight[b]); S.wl.textContent = num(d.row_numerator[b]);
      S.g.textContent = num(d.row_grad[b]);
      S.share.textContent = d.mu > 0 ? `${(100 * d.row_grad[b] / d.mu).toFixed(1)}%` : "0%";
    }
  }

  function headline(view, d, st) {
    const conv = st.convention;
    for (const [c, hd] of Object.entries(view.sl.heads)) hd.box.style.display = c === conv ? "" : "none";
    const { slots } = view.sl.heads[conv];
    for (const [a, b] of view.sl.zs) {
      a.style.display = conv === "per_sequence" ? "none" : "";
      b.style.display = conv === "per_sequence" ? "" : "none";
    }
    if (conv === "per_sequence") {
      // an empty sequence (Z_b = 0) adds 0: divide-no-nan, not 0/0
      slots.terms.textContent = d.row_numerator.map((x, b) => (d.row_denominator[b] === 0 ? "0 (empty)"
        : `${fmt(x, 3)}/${fmt(d.row_denominator[b], 3)}`)).join(" + ");
      slots.Z.textContent = d.row_denominator.map((x) => fmt(x, 3)).join(", ");
    } else {
      slots.num.textContent = num(d.numerator);
      slots.den.textContent = num(d.denominator);
      slots.Z.textContent = num(d.denominator);
    }
    slots.loss.textContent = num(d.loss);
    slots.mu.textContent = num(d.mu);
    // what to notice
    let key;
    const empty = d.n === 0;
    if (empty) key = conv === "torch" ? "empty_torch" : conv === "batch" ? "empty_batch" : "empty";
    else if (conv === "batch") key = "batch";
    else if (conv === "per_sequence") key = d.lengths.some((x) => x === 0) ? "per_sequence_empty" : "per_sequence";
    else if (conv === "nonzero" && Math.abs(d.N - d.n) > 1e-12) key = "frac";
    else key = "default";
    for (const [k, nt] of Object.entries(view.sl.notes)) nt.el.style.display = k === key ? "" : "none";
    const ns = view.sl.notes[key].slots;
    if (ns.mu) ns.mu.textContent = fmt(d.mu, 4);
    if (ns.N) ns.N.textContent = fmt(d.N, 4);
    if (ns.n) ns.n.textContent = String(d.n);
  }

  // Layout is read first (width, font), then the DOM written: one layout pass per draw, not one per grid.
  function measure(view) {
    const host = view.sl.gw.p.host;
    return { W: Math.max(280, Math.floor(host.clientWidth || 320)),
      family: getComputedStyle(host).fontFamily || "sans-serif" };
  }

  function redraw(view, d, st, m) {
    m = m || measure(view);
    drawGrid(view, view.sl.gw, "w", d, st, m.W, m.family);
    drawGrid(view, view.sl.gg, "g", d, st, m.W, m.family);
    readout(view, d, st, m.W >= WIDE);
  }

  function draw(view, d, st) {
    const m = measure(view);
    view.sl.last = { data: d, setting: st };
    headline(view, d, st);
    redraw(view, d, st, m);
  }

  function describe(d, st, o) {
    const real = [];
    d.grad_scale.forEach((row, b) => row.forEach((g, l) => { if (d.weights[b][l] !== 0) real.push(g); }));
    const perSeq = st.convention === "per_sequence";
    const den = perSeq ? `Z_b = ${d.row_denominator.map((x) => fmt(x, 3)).join(", ")}` : `Z = ${num(d.denominator)}`;
    const wz = perSeq ? "w/Z_b" : "w/Z";
    let grads;
    if (!real.length) grads = "there is no real token, so every gradient scale is 0";
    else {
      const lo = Math.min(...real), hi = Math.max(...real);
      grads = (fmt(lo, 3) === fmt(hi, 3) ? `every real token's gradient scale ${wz} is ${fmt(lo, 3)}`
        : `the real tokens' gradient scales ${wz} range from ${fmt(lo, 3)} to ${fmt(hi, 3)}`) + ", padding gets 0";
    }
    return `A padded batch of ${o.B} sequences of lengths ${d.lengths.join(", ")} over ${o.T} positions, weights `
      + `"${o.labels.schemes[st.scheme].words}", normalisation ${o.labels.conventions[st.convention].words}, ${den}, `
      + `loss = ${num(d.loss)}; `
      + `${grads}; the sequences' total gradient weights are ${d.row_grad.map((x) => fmt(x, 3)).join(", ")} `
      + `(sum μ = ${fmt(d.mu, 3)}).`;
  }

  return { controls, refresh, compute, layout, draw, describe };
})();
