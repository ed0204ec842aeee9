// views/attention_decoding.js: attention weights while decoding a word, one output step at a time
// (seqlib/widgets/attention.py: AttentionDecodingWidget).
//
// It computes nothing new, so it has no mirror: in a kernel seqlib decodes any word; in a static page
// `compute` only reads seqlib's decodings of the listed words, saved in `base` when the notebook ran
// (tokens, weights α (L, M) and log p̂ of each token packed as float64, the score).
//
// Above: the word (a choice among the listed words, or any typed word in a kernel), its output and
// log p̂(ŷ | x).  One panel: step l's phoneme with p̂(ŷ_l | ŷ_{0:l}, x) and the phonemes emitted so far;
// then one SVG whose columns are the letters: the weights α_l of step l as numbers and bars, the
// letters on tiles shaded by α_l, and the whole alignment matrix α (rows: the output tokens, <eos>
// included) as a heat map with row l outlined.  Pointing at or tapping a cell writes its weight below;
// the arrow keys on the picture step l; a row's label is a button to its step.

const VIEW = (() => {
  "use strict";

  const VIEWS = new WeakMap();     // options -> view (its last drawn data: a typed word's decoding)
  const UNPACKED = new WeakMap();  // a record of base -> {tokens, weights (rows), token_logp, score, finished}

  function unpack(r) {
    let u = UNPACKED.get(r);
    if (!u) {
      const flat = unpackF64(r.weights), [L, M] = r.weights.shape;
      const rows = [];
      for (let l = 0; l < L; l++) rows.push(Array.from(flat.subarray(l * M, (l + 1) * M)));
      u = { tokens: r.tokens, weights: rows, token_logp: Array.from(unpackF64(r.token_logp)), score: r.score,
        finished: r.finished };
      UNPACKED.set(r, u);
    }
    return u;
  }

  // seqlib's decoding of st.word by st.decoder: from base (a listed word), else the data last drawn
  // (a typed word decoded in the kernel, or a word moved to by w.show() before the notebook was saved)
  function recordOf(st, base, o) {
    const dec = base && base.decodings ? base.decodings[st.word] : undefined;
    if (dec) {
      const r = dec[st.decoder] === "greedy" ? dec.greedy : dec[st.decoder];
      if (r) return unpack(r);
    }
    const view = VIEWS.get(o);
    for (const d of [view && view.root.seqbook && view.root.seqbook.data, view && view.at.last]) {
      if (d && d.word === st.word && d.decoder === st.decoder && d.tokens) return d;
    }
    return null;
  }

  const nSteps = (o, st, base) => { const r = recordOf(st, base, o); return r ? r.tokens.length : o.max_len; };

  // ------------------------------------------------------------------ controls

  function controls(o) {
    return [
      { name: "decoder", type: "toggle", label: { text: "decoder" },
        options: [{ value: "greedy", label: { text: "greedy" } },
          { value: "beam", label: [{ text: "beam, " }, "k", { text: ` = ${o.beam_width}` }] }] },
      { name: "step", type: "stepper", label: [{ text: "output step " }, "l"], ariaLabel: "output step l",
        values: range(0, o.max_len - 1), format: (v) => String(v), interval: 900 },
    ];
  }

  function enabled(st, o) { return { decoder: o.beam_width > 1 }; }

  function normalize(st, o, base) {
    const n = nSteps(o, st, base);
    return st.step > n - 1 ? Object.assign({}, st, { step: n - 1 }) : st;
  }

  function refresh(ctl, st, o, base) {
    const n = nSteps(o, st, base);
    if (ctl.step.values().length !== n) ctl.step.setValues(range(0, n - 1));
  }

  // ------------------------------------------------------------------ numbers (seqlib's, as saved)

  // the same keys as seqlib/widgets/attention.py: AttentionDecodingWidget.compute
  function compute(st, base, o) {
    const r = recordOf(st, base, o);
    if (!r) throw new Error(`this page holds no decoding of ${JSON.stringify(st.word)} by ${st.decoder}`);
    const L = r.tokens.length;
    return {
      word: st.word, letters: [...st.word], decoder: st.decoder, beam_width: st.decoder === "beam" ? o.beam_width : 1,
      tokens: r.tokens.slice(), phonemes: r.tokens.map((t) => o.vocab[t]), weights: r.weights.map((row) => row.slice()),
      token_logp: r.token_logp.slice(), score: r.score, finished: r.finished, step: Math.min(st.step, L - 1), n_steps: L,
    };
  }

  // ------------------------------------------------------------------ picture

  const FS = "14px";
  const w2 = (x) => x.toFixed(2);                    // a weight as printed on the bars
  const fixed = (x, d = 3) => (Math.abs(x) < 0.5 * 10 ** -d ? (0).toFixed(d) : x.toFixed(d)).replace("-", "−");
  const muted = (...kids) => h("span", { style: { color: "var(--sb-muted)" } }, ...kids);
  const WORD_RE = /^[A-Z']+$/;

  function layout(view) {
    const o = view.options;
    VIEWS.set(o, view);
    view.at = { last: null, sel: null, pinned: false };
    const at = view.at;

    // the word: a choice among the listed words, and a field for any word (decoded by seqlib in a kernel)
    const select = h("select", { class: "sb-at-word", "aria-label": "word",
      style: { font: "inherit", fontSize: FS, minHeight: "32px", padding: "0 0.3rem", color: "var(--sb-fg)",
        background: "var(--sb-bg)", border: "1px solid var(--sb-line)", borderRadius: "6px", maxWidth: "100%" } },
    o.words.map((w) => h("option", { value: w }, w)));
    const field = h("input", { type: "text", class: "sb-at-field", autocomplete: "off", autocapitalize: "characters",
      spellcheck: "false", maxlength: o.max_letters, "aria-label": "any word to decode", placeholder: "any word",
      style: { width: "8.5em", font: "inherit", fontSize: FS, padding: "0.15rem 0.35rem", minHeight: "32px",
        color: "var(--sb-fg)", background: "var(--sb-bg)", border: "1px solid var(--sb-line)", borderRadius: "6px" } });
    const go = h("button", { type: "button", class: "sb-step sb-at-go" }, "decode");
    const msg = h("div", { class: "sb-at-msg", "aria-live": "polite", style: { fontSize: "13px", flex: "1 1 100%" } });
    const setWord = (w) => {
      const sb = view.root.seqbook;
      if (sb && sb.setting.word !== w) sb.set({ word: w, step: 0 });
    };
    select.addEventListener("change", () => { msg.textContent = ""; setWord(select.value); });
    const submit = () => {
      const w = field.value.trim().toUpperCase();
      const live = view.root.classList.contains("sb-live");
      msg.style.color = "var(--sb-red)";
      if (!w) return;
      if (!WORD_RE.test(w) || w.length > o.max_letters) {
        msg.textContent = `A word is 1 to ${o.max_letters} letters A–Z and '.`;
      } else if (!live && !o.words.includes(w)) {
        msg.textContent = "This page holds seqlib's decodings of the listed words only; " +
          "in a running notebook seqlib decodes any word.";
      } else {
        msg.textContent = "";
        setWord(w);
      }
    };
    field.addEventListener("keydown", (e) => { e.stopPropagation(); if (e.key === "Enter") submit(); });
    go.addEventListener("click", submit);
    const row = h("div", { class: "sb-at-word-row", style: { display: "flex", flexWrap: "wrap", alignItems: "center",
      gap: "0.35rem 0.75rem", flex: "1 1 100%", fontSize: FS } },
    h("label", { style: { display: "inline-flex", alignItems: "center", gap: "0.5rem" } },
      h("span", { class: "sb-control-label", style: { minWidth: "0" } }, "word"), select),
    h("span", { style: { display: "inline-flex", alignItems: "center", gap: "0.4rem" } }, "or type one:", field, go), msg);
    const box = view.root.querySelector(".sb-controls");
    box.insertBefore(row, box.firstChild);

    // headline: the word, its output and log p̂(ŷ | x)
    const hl = { word: h("b", { class: "sb-at-hl-word" }), out: h("span", { class: "sb-at-output" }),
      dec: muted(), score: h("span", { class: "sb-at-score" }), p: h("span", { class: "sb-at-p" }), cut: muted() };
    view.headline.append(
      h("div", { style: { fontSize: "15px", overflowWrap: "anywhere" } }, hl.word, muted(" → "), hl.out, " ", hl.dec),
      h("div", { style: { fontSize: FS, fontVariantNumeric: "tabular-nums" } },
        tex("\\log\\hat{p}(\\hat{\\bsf{y}}\\mid\\bsf{x})"), " = ", hl.score, muted(" (", tex("\\hat{p}"), " = ", hl.p, ")"),
        hl.cut));

    // the panel: step l, the phonemes so far, the picture, the readout of a cell
    const p = view.panel({ text: "" }, "sb-wide");
    p.cap.replaceChildren(h("span", {}, "attention weights ", tex("\\alpha_{lj}"), " over the letters ",
      tex("x_j"), ", row ", tex("l"), " while emitting ", tex("\\hat{y}_l")));
    p.fig.tabIndex = 0;
    p.fig.setAttribute("aria-keyshortcuts", "ArrowLeft ArrowRight Home End");
    const stepLine = { l: h("span", { class: "sb-at-l" }), ph: h("b", { class: "sb-at-current" }),
      p: h("span", { class: "sb-at-tokp" }) };
    const info = h("div", { style: { fontSize: FS, fontVariantNumeric: "tabular-nums", margin: "0 0 0.3rem" } },
      "step ", tex("l"), " = ", stepLine.l, ": emits ", stepLine.ph, " with ",
      tex("\\hat{p}(\\hat{y}_l\\mid\\hat{y}_{0:l},\\bsf{x})"), " = ", stepLine.p);
    const chips = h("div", { class: "sb-at-chips", "aria-label": "the phonemes emitted so far",
      style: { display: "flex", flexWrap: "wrap", gap: "0.25rem", alignItems: "center", fontSize: FS,
        margin: "0 0 0.4rem" } });
    const svgHost = h("div", { class: "sb-at-svg" });
    const probe = h("div", { class: "sb-probe sb-at-probe", "aria-live": "polite",
      style: { fontSize: FS, minHeight: "1.4em", marginTop: "0.2rem" } });
    const legend = h("div", { style: { fontSize: "13px", color: "var(--sb-muted)", marginTop: "0.2rem" } },
      "Each row of weights sums to 1 over the letters. Shading: from 0 (none) to 1 (full). ",
      "Point at or tap a cell for its weight; tap a row's label, or use the arrow keys on the picture, to step.");
    p.host.append(info, chips, svgHost, probe, legend);
    Object.assign(at, { select, field, msg, hl, stepLine, chips, svgHost, probe, fig: p.fig });

    // The engine's status line speaks of the page computing with a JavaScript mirror of seqlib; this view has
    // none (it shows seqlib's saved numbers), so it says so instead.
    const status = view.root.querySelector(".sb-status");
    if (status && typeof MutationObserver !== "undefined") {
      const SAVED = "seqlib decoded the listed words when the notebook ran; this page shows its numbers " +
        "(in a running notebook, seqlib decodes any word).";
      const say = () => {
        const t = status.textContent;
        if (/JavaScript mirror|computed in this page/.test(t) && t !== SAVED) status.textContent = SAVED;
      };
      new MutationObserver(say).observe(status, { childList: true, characterData: true, subtree: true });
      say();
    }

    p.fig.addEventListener("keydown", (e) => {
      const sb = view.root.seqbook;
      if (!sb || !at.last) return;
      const n = at.last.n_steps, l = at.last.step;
      const to = { ArrowRight: l + 1, ArrowLeft: l - 1, Home: 0, End: n - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      e.stopPropagation();  // JupyterLab's command mode would take the arrows
      if (to >= 0 && to < n && to !== l) sb.set({ step: to });
    });
  }

  function probeText(view, sel) {
    const d = view.at.last, pr = view.at.probe;
    if (!d) return;
    if (!sel || sel.l >= d.n_steps || sel.j >= d.letters.length) {
      pr.replaceChildren(muted("Point at or tap a cell."));
      return;
    }
    const ph = d.phonemes[sel.l], x = d.letters[sel.j];
    pr.replaceChildren(h("span", {}, tex("\\alpha_{lj}"), ` at step ${sel.l} (${ph}), letter ${x} (j = ${sel.j}): `,
      h("b", { class: "sb-at-probe-w" }, fixed(d.weights[sel.l][sel.j], 3))));
  }

  function drawSvg(view, d) {
    const at = view.at, host = at.svgHost;
    const M = d.letters.length, L = d.n_steps, l = d.step, a = d.weights[l];
    const W = Math.max(260, Math.floor(host.clientWidth || view.panels.clientWidth || 320));
    // the row labels: the step index (dropped when the columns would be narrower than 16 px), the phoneme
    const showIdx = (W - 90) / M >= 16;
    const labW = showIdx ? 84 : 50;
    const colW = Math.min(46, (W - labW - 6) / M);
    const rotated = colW < 34;
    const x0 = Math.floor((W - labW - colW * M) / 2) + labW;
    const cx = (j) => x0 + colW * (j + 0.5);
    const numH = rotated ? 38 : 20, barMax = 60, rowH = 22;
    const yNum = 4, yBarBase = yNum + numH + 4 + barMax, yLet = yBarBase + 3, letH = 28, yHeat = yLet + letH + 10;
    const height = yHeat + L * rowH + 4;
    const svg = s("svg", { class: "sb-plot sb-at-plot", width: W, height, viewBox: `0 0 ${W} ${height}`, role: "img",
      "aria-label": `attention weights of step ${l} as bars over the ${M} letters, and the ${L} by ${M} alignment matrix` });
    const text = (x, y, t, attrs = {}) => s("text", Object.assign({ x, y, dy: "0.35em", "pointer-events": "none" }, attrs), t);
    const big = Math.max(...a);

    // the weights of step l: numbers, bars, letter tiles
    svg.append(text(x0 - 8, yNum + numH / 2, "α", { "text-anchor": "end", style: "font-size:13px;fill:var(--sb-muted)" }));
    svg.append(text(x0 - 8, yBarBase - barMax / 2, `step ${l}`, { "text-anchor": "end", class: "sb-at-steplabel",
      style: "font-size:13px;fill:var(--sb-orange);font-weight:600" }));
    svg.append(s("line", { x1: x0, x2: x0 + colW * M, y1: yBarBase, y2: yBarBase, stroke: "var(--sb-line)" }));
    for (let j = 0; j < M; j++) {
      const v = a[j], bw = Math.max(4, Math.min(26, colW * 0.62)), bh = v * barMax;
      const strong = v === big;
      const num = rotated
        ? text(cx(j), yNum + numH, w2(v), { transform: `rotate(-90 ${cx(j)} ${yNum + numH})`, dy: "0.35em",
          "text-anchor": "start", class: "sb-at-w", "data-j": j })
        : text(cx(j), yNum + numH / 2, w2(v), { "text-anchor": "middle", class: "sb-at-w", "data-j": j });
      num.style.fontSize = "12px";
      num.style.fontVariantNumeric = "tabular-nums";
      if (strong) num.style.fontWeight = "700";
      svg.append(num);
      if (bh > 0) {
        svg.append(s("rect", { x: cx(j) - bw / 2, y: yBarBase - Math.max(1, bh), width: bw, height: Math.max(1, bh),
          fill: "var(--sb-blue)", class: "sb-at-bar", "data-j": j }));
      }
      svg.append(s("rect", { x: x0 + colW * j + 1, y: yLet, width: colW - 2, height: letH, rx: 3,
        fill: "var(--sb-surface)" }));
      svg.append(s("rect", { x: x0 + colW * j + 1, y: yLet, width: colW - 2, height: letH, rx: 3,
        fill: "var(--sb-blue)", "fill-opacity": v.toFixed(4), class: "sb-at-tile" }));
      svg.append(text(cx(j), yLet + letH / 2, d.letters[j], { "text-anchor": "middle", class: "sb-at-letter",
        style: `font-size:${colW < 14 ? 12 : colW < 18 ? 14 : 16}px;font-weight:600;fill:${v > 0.55 ? "#fff" : "var(--sb-fg)"}` }));
    }

    // the alignment matrix: one row per output token, one column per letter
    const cells = s("g", { class: "sb-at-cells" });
    svg.append(cells);
    for (let r = 0; r < L; r++) {
      const y = yHeat + r * rowH, cur = r === l;
      const lab = s("g", { class: "sb-at-rowlabel", "data-l": r, style: "cursor:pointer" });
      lab.append(s("rect", { x: x0 - labW, y, width: labW - 2, height: rowH, fill: "transparent" }));
      if (showIdx) {
        lab.append(s("text", { x: x0 - labW + 20, y: y + rowH / 2, dy: "0.35em", "text-anchor": "end",
          style: `font-size:12px;fill:${cur ? "var(--sb-orange)" : "var(--sb-muted)"}` }, String(r)));
      }
      lab.append(s("text", { x: x0 - 8, y: y + rowH / 2, dy: "0.35em", "text-anchor": "end",
        style: `font-size:13px;font-weight:${cur ? 700 : 400};fill:${cur ? "var(--sb-orange)" : "var(--sb-fg)"}` },
      d.phonemes[r]));
      svg.append(lab);
      for (let j = 0; j < M; j++) {
        const x = x0 + colW * j;
        cells.append(s("rect", { x: x + 0.5, y: y + 0.5, width: colW - 1, height: rowH - 1, fill: "var(--sb-surface)",
          "pointer-events": "none" }));
        cells.append(s("rect", { x: x + 0.5, y: y + 0.5, width: colW - 1, height: rowH - 1, fill: "var(--sb-blue)",
          "fill-opacity": d.weights[r][j].toFixed(4), class: "sb-at-cell", "data-l": r, "data-j": j,
          style: "cursor:crosshair" }));
      }
    }
    svg.append(s("rect", { x: x0 - labW + 2, y: yHeat + l * rowH, width: labW - 2 + colW * M, height: rowH, rx: 2,
      fill: "none", stroke: "var(--sb-orange)", "stroke-width": 2.5, class: "sb-at-current-row", "pointer-events": "none" }));
    const hover = s("rect", { width: colW - 1, height: rowH - 1, fill: "none", stroke: "var(--sb-fg)", "stroke-width": 2,
      "pointer-events": "none", visibility: "hidden" });
    svg.append(hover);
    const mark = (sel) => {
      if (!sel) { hover.setAttribute("visibility", "hidden"); return; }
      hover.setAttribute("x", x0 + colW * sel.j + 0.5);
      hover.setAttribute("y", yHeat + sel.l * rowH + 0.5);
      hover.setAttribute("visibility", "visible");
    };

    // pointer: hovering shows a cell's weight, a tap or click pins it (a second tap on it unpins)
    const pick = (e) => {
      const t = e.target;
      if (!t || !t.getAttribute || t.getAttribute("class") !== "sb-at-cell") return null;
      return { l: Number(t.getAttribute("data-l")), j: Number(t.getAttribute("data-j")) };
    };
    const show = (sel, pinned) => { at.sel = sel; at.pinned = !!(sel && pinned); mark(sel); probeText(view, sel); };
    svg.addEventListener("pointermove", (e) => {
      if (at.pinned || e.pointerType !== "mouse") return;
      const q = pick(e);
      if (q && !(at.sel && at.sel.l === q.l && at.sel.j === q.j)) show(q, false);
    });
    svg.addEventListener("pointerleave", (e) => { if (!at.pinned && e.pointerType === "mouse") show(null, false); });
    svg.addEventListener("click", (e) => {
      const lab = e.target.closest && e.target.closest(".sb-at-rowlabel");
      if (lab) {
        const sb = view.root.seqbook, r = Number(lab.getAttribute("data-l"));
        if (sb && r !== at.last.step) sb.set({ step: r });
        return;
      }
      const q = pick(e);
      if (!q) return;
      const same = at.pinned && at.sel && at.sel.l === q.l && at.sel.j === q.j;
      show(same ? null : q, !same);
    });
    host.replaceChildren(svg);
    if (at.sel && at.sel.l < L && at.sel.j < M) mark(at.sel); else at.sel = null;
  }

  function draw(view, d, st) {
    const o = view.options, at = view.at;
    const newWord = !at.last || at.last.word !== d.word;
    at.last = d;
    if (newWord) { at.sel = null; at.pinned = false; }
    // the word's controls
    const listed = o.words.includes(d.word);
    for (const opt of [...at.select.querySelectorAll("option[data-typed]")]) opt.remove();
    if (!listed) at.select.append(h("option", { value: d.word, "data-typed": "1" }, `${d.word} (typed)`));
    at.select.value = d.word;
    if (document.activeElement !== at.field) at.field.value = "";
    // headline
    const L = d.n_steps, l = d.step;
    const out = d.finished ? d.phonemes.slice(0, -1) : d.phonemes;
    at.hl.word.textContent = d.word;
    at.hl.out.textContent = out.join(" ");
    at.hl.dec.textContent = d.decoder === "beam" ? `(beam search, k = ${d.beam_width})` : "(greedy)";
    at.hl.score.textContent = fixed(d.score);
    at.hl.p.textContent = fixed(Math.exp(d.score));
    at.hl.cut.textContent = d.finished ? "" : ` · cut at ${L} tokens, no <eos>`;
    // step l
    at.stepLine.l.textContent = String(l);
    at.stepLine.ph.textContent = d.phonemes[l];
    at.stepLine.p.textContent = fixed(Math.exp(d.token_logp[l]));
    const chip = (t, cls, style) => h("span", { class: cls, style: Object.assign({ padding: "0.05rem 0.4rem",
      borderRadius: "5px", border: "1px solid var(--sb-line)", minWidth: "1.4em", textAlign: "center" }, style) }, t);
    at.chips.replaceChildren(h("span", { style: { color: "var(--sb-muted)", marginRight: "0.2rem" } }, "emitted so far:"),
      ...d.phonemes.map((ph, i) => (i <= l
        ? chip(ph, "sb-at-ph", i === l ? { border: "2px solid var(--sb-orange)", fontWeight: "700" } : {})
        : chip("·", "sb-at-todo", { color: "var(--sb-muted)", borderStyle: "dashed" }))));
    drawSvg(view, d);
    probeText(view, at.sel);
  }

  function describe(d, st) {
    const out = (d.finished ? d.phonemes.slice(0, -1) : d.phonemes).join(" ");
    const a = d.weights[d.step];
    let j = 0;
    a.forEach((v, i) => { if (v > a[j]) j = i; });
    return `${d.word} decoded ${d.decoder === "beam" ? `by beam search of width ${d.beam_width}` : "greedily"} as ` +
      `${out} (log p ${fixed(d.score)}). At step ${d.step} it emits ${d.phonemes[d.step]}, attending most to ` +
      `letter ${d.letters[j]} (position ${j}, weight ${w2(a[j])}).`;
  }

  return { controls, enabled, normalize, refresh, compute, layout, draw, describe };
})();
