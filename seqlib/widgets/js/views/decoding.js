// views/decoding.js: beam search step by step for any input number
// (seqlib/widgets/decoding.py: DecodingWidget; numbers from js/mirror/decode.js in a static page).
//
// Above: the input and its target words, greedy decoding's output and beam search's below it, each
// with log p̂(ŷ | x) and whether it is right.  Panels: the next-word distribution
// p̂(y_l | prefix, x) after the best live prefix at step l (the options.top most probable words,
// bars, probabilities as text); the candidates the beam keeps after step l with log p̂(prefix | x)
// and the stopping rule; the teacher-forced loss term of each target token (<eos> included),
// position l highlighted.

const VIEW = (() => {
  "use strict";

  // options -> base, so that normalize and refresh (which get no base) can run the search
  const BASES = new WeakMap();
  // base -> Map("number|k" -> {search, greedy, tgt, src, terms}): the last searches, reused by compute
  const SEARCHES = new WeakMap();

  function searchOf(base, options, number, k) {
    let cache = SEARCHES.get(base);
    if (!cache) { cache = new Map(); SEARCHES.set(base, cache); }
    const key = number + "|" + k;
    let r = cache.get(key);
    if (!r) {
      const m = DECODE.model(base);
      const { src, tgt } = DECODE.encodeNumber(number);
      r = { src, tgt, search: DECODE.beamSearch(m, src, k, options.max_len),
        greedy: DECODE.greedyDecode(m, src, options.max_len), terms: DECODE.tokenLosses(m, src, tgt) };
      if (cache.size > 32) cache.clear();
      cache.set(key, r);
    }
    return r;
  }

  // the number of steps of the stepper: max(S, L)
  function nSteps(options, st) {
    const base = BASES.get(options);
    if (!base) return options.max_len;
    const r = searchOf(base, options, st.number, st.beam_width);
    return Math.max(r.search.steps.length, r.tgt.length);
  }

  // ------------------------------------------------------------------ controls

  // a whole number with thousands separators, as the chapter writes them (8,161)
  const grouped = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

  function controls(o, st) {
    return [
      { name: "number", type: "toggle", label: { text: "input" },
        options: o.presets.map((n) => ({ value: n, label: { text: grouped(n) } })) },
      { name: "beam_width", type: "slider", label: [{ text: "beam width " }, "k"], ariaLabel: "beam width k",
        values: o.beam_widths, format: (v) => String(v) },
      { name: "step", type: "stepper", label: [{ text: "step " }, "l"], ariaLabel: "decoding step l",
        values: range(0, o.max_len - 1), format: (v) => String(v), interval: 1100 },
    ];
  }

  function normalize(st, o) {
    const n = nSteps(o, st);
    return st.step > n - 1 ? Object.assign({}, st, { step: n - 1 }) : st;
  }

  function refresh(ctl, st, o) {
    const n = nSteps(o, st);
    if (ctl.step.values().length !== n) ctl.step.setValues(range(0, n - 1));
  }

  // ------------------------------------------------------------------ numbers (the page's own)

  const hyp = (tokens, score, finished) => ({ tokens: tokens.slice(), score, finished });

  // mirrors seqlib/widgets/decoding.py: _frame
  function compute(st, base, o) {
    const r = searchOf(base, o, st.number, st.beam_width);
    const steps = r.search.steps, eos = o.eos, top = o.top;
    const S = steps.length, L = r.tgt.length;
    const n_steps = Math.max(S, L);
    const l = Math.min(st.step, n_steps - 1);
    const at = Math.min(l, S - 1);
    let best_finished = null;
    for (const step of steps.slice(0, at + 1)) {
      for (const c of step.kept) {
        if (c.tokens[c.tokens.length - 1] === eos && (best_finished === null || c.score > best_finished.score)) {
          best_finished = { tokens: c.tokens.slice(), score: c.score };
        }
      }
    }
    const live = steps[at].kept.filter((c) => c.tokens[c.tokens.length - 1] !== eos).map((c) => c.score);
    const best_live = live.length ? live[0] : null;
    let stop = null;
    if (l >= S - 1) {
      if (!live.length) stop = "no_live";
      else if (best_finished !== null && best_finished.score >= Math.max(...live)) stop = "rule";
      else stop = "max_len";
    }
    let prefix = null, prefix_score = null, top_words = [], top_p = [], kept = [];
    if (l < S) {
      const step = steps[l];
      const V = o.vocab.length;
      const lp = step.logp.subarray(0, V);
      const order = Array.from({ length: V }, (_, i) => i)
        .sort((a, b) => (lp[a] > lp[b] ? -1 : lp[a] < lp[b] ? 1 : a - b)).slice(0, top);
      prefix = step.prefixes[0].slice();
      prefix_score = step.prefixScores[0];
      top_words = order;
      top_p = order.map((v) => Math.exp(lp[v]));
      kept = step.kept.map((c) => hyp(c.tokens, c.score, c.tokens[c.tokens.length - 1] === eos));
    }
    const g = r.greedy;
    return {
      number: st.number, target: r.tgt.slice(), step: l, n_steps, search_steps: S, prefix, prefix_score,
      top_words, top_p, kept, best_finished, best_live, stop,
      result: r.search.result.map((x) => hyp(x.tokens, x.score, x.finished)),
      greedy: hyp(g.tokens, g.score, g.finished),
      loss_terms: Array.from(r.terms), loss_sum: DECODE.npSum(r.terms, 0, r.terms.length),
    };
  }

  // ------------------------------------------------------------------ picture

  const FS = "14px";
  const words = (o, tokens) => tokens.map((t) => o.vocab[t]);
  // the words of a hypothesis, a final <eos> muted
  function wordSpan(o, tokens) {
    const w = words(o, tokens);
    if (!w.length) return h("span", { style: { color: "var(--sb-muted)" } }, "(empty)");
    const ended = tokens[tokens.length - 1] === o.eos;
    const body = (ended ? w.slice(0, -1) : w).join(" ");
    return h("span", {}, body, ended ? h("span", { style: { color: "var(--sb-muted)" } }, (body ? " " : "") + "<eos>") : null);
  }
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const prob = (p) => (p >= 0.0005 ? p.toFixed(3) : fmt(p, 2));
  const fixed = (x, d = 3) => {
    const t = Math.abs(x) < 0.5 * 10 ** -d ? (0).toFixed(d) : x.toFixed(d);
    return t.replace("-", "−");
  };

  function grid(cols) {
    return h("div", { style: { display: "grid", gridTemplateColumns: cols, columnGap: "0.5rem", rowGap: "0.2rem",
      alignItems: "center", fontSize: FS, fontVariantNumeric: "tabular-nums" } });
  }
  // Horizontal bars as an SVG of the host's width: a label on the left, a bar on a track (the track's
  // full width is `frac` = 1), the value as text on the right; an optional index column first.
  //   rows: [{label, frac, text, color, strong?, labelColor?, index?}]
  function barList(host, rows, aria) {
    const width = Math.max(200, Math.floor(host.clientWidth || 320));
    const rowH = 24, pad = 2;
    const chars = (t) => [...String(t)].length;
    // an index column (right-aligned) before left-aligned labels, or right-aligned labels alone
    const idxW = rows.some((r) => r.index !== undefined) ? 8 + 7.8 * Math.max(...rows.map((r) => chars(r.index ?? ""))) : 0;
    const labW = Math.min(width * 0.42, idxW + 8 + 7.8 * Math.max(1, ...rows.map((r) => chars(r.label))));
    const valW = 8 + 7.6 * Math.max(1, ...rows.map((r) => chars(r.text)));
    const x0 = labW + 8, x1 = Math.max(x0 + 20, width - valW - 6);
    const height = 2 * pad + rows.length * rowH;
    const svg = s("svg", { class: "sb-plot sb-bars", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": aria });
    rows.forEach((r, i) => {
      const y = pad + i * rowH, cy = y + rowH / 2;
      const font = { fontSize: "13px", fontWeight: r.strong ? "600" : "400" };
      if (idxW) {
        svg.append(s("text", { x: idxW - 6, y: cy, dy: "0.35em", "text-anchor": "end",
          style: { fontSize: "13px", fill: "var(--sb-muted)" } }, String(r.index)));
      }
      svg.append(s("text", { x: idxW ? idxW + 2 : labW, y: cy, dy: "0.35em", "text-anchor": idxW ? "start" : "end",
        style: Object.assign({}, font, r.labelColor ? { fill: r.labelColor } : {}) }, r.label));
      svg.append(s("rect", { x: x0, y: y + 5, width: x1 - x0, height: rowH - 10, rx: 2, fill: "var(--sb-surface)" }));
      const w = Math.max(0, Math.min(1, r.frac)) * (x1 - x0);
      if (w > 0) svg.append(s("rect", { x: x0, y: y + 5, width: Math.max(1, w), height: rowH - 10, rx: 2, fill: r.color }));
      svg.append(s("text", { x: width - 2, y: cy, dy: "0.35em", "text-anchor": "end", style: Object.assign({}, font,
        { fontVariantNumeric: "tabular-nums" }) }, r.text));
    });
    return svg;
  }
  const note = (...kids) => h("div", { style: { fontSize: "13px", color: "var(--sb-muted)", margin: "0.35rem 0 0" } }, ...kids);
  const swatch = (color) => h("span", { style: { display: "inline-block", width: "0.8em", height: "0.8em",
    background: color, verticalAlign: "-0.05em", marginRight: "0.3em", borderRadius: "2px" } });

  function layout(view) {
    const o = view.options;
    BASES.set(o, view.base);
    // the number field, in the row of the preset toggles
    const row = view.root.querySelector('.sb-control[data-name="number"]');
    row.style.flexWrap = "wrap";
    row.style.flex = "1 1 100%";
    const field = h("input", { type: "number", min: 0, max: o.max_number, step: 1, inputmode: "numeric",
      class: "sb-number", "aria-label": `any input number from 0 to ${grouped(o.max_number)}`,
      style: { width: "7.5em", font: "inherit", fontSize: FS, padding: "0.15rem 0.35rem", minHeight: "32px",
        color: "var(--sb-fg)", background: "var(--sb-bg)", border: "1px solid var(--sb-line)", borderRadius: "6px" } });
    const msg = h("span", { style: { fontSize: "13px", color: "var(--sb-red)" }, "aria-live": "polite" });
    let timer = null;
    const submit = (now) => {
      clearTimeout(timer);
      const go = () => {
        const txt = field.value.trim();
        const v = Number(txt);
        if (txt === "" || !Number.isInteger(v) || v < 0 || v > o.max_number) {
          if (now) msg.textContent = `a whole number from 0 to ${grouped(o.max_number)}`;
          return;
        }
        msg.textContent = "";
        const sb = view.root.seqbook;
        if (sb && sb.setting.number !== v) sb.set({ number: v });
      };
      if (now) go(); else timer = setTimeout(go, 350);
    };
    field.addEventListener("keydown", (e) => { e.stopPropagation(); if (e.key === "Enter") submit(true); });
    field.addEventListener("input", () => submit(false));
    field.addEventListener("change", () => submit(true));
    row.append(h("label", { style: { display: "inline-flex", alignItems: "center", gap: "0.4rem", fontSize: FS } },
      "or any:", field), msg);

    // headline: the input, its target, greedy's output above beam search's
    const hl = { x: h("span", {}), target: h("span", {}), k: h("span", {}) };
    const out = {};
    const tbl = grid("max-content minmax(0, 1fr) max-content max-content");
    tbl.style.margin = "0.3rem 0 0";
    const head = (t) => h("span", { style: { fontSize: "13px", color: "var(--sb-muted)" } }, t);
    tbl.append(h("span", {}), head("output"), h("span", { style: { fontSize: "13px", color: "var(--sb-muted)" } },
      tex("\\log\\hat{p}(\\hat{\\bsf{y}}\\mid\\bsf{x})")), h("span", {}));
    for (const [key, lab] of [["greedy", h("span", {}, "greedy")],
      ["beam", h("span", {}, "beam, ", tex("k"), " = ", hl.k)]]) {
      out[key] = { words: h("span", { style: { overflowWrap: "anywhere" } }), score: h("span", { style: { textAlign: "right" } }),
        mark: h("span", {}) };
      tbl.append(h("span", { style: { whiteSpace: "nowrap" } }, lab), out[key].words, out[key].score, out[key].mark);
    }
    view.headline.append(h("div", { style: { fontSize: FS } }, "input ", tex("\\bsf{x}"), " = ", hl.x,
      h("span", { style: { color: "var(--sb-muted)" } }, " → target "), hl.target), tbl);

    // panels: distribution and beam side by side, the loss terms below (stacked below 600 px)
    view.panels.style.flexWrap = "wrap";
    view.dist = view.panel("\\hat{p}(\\bsf{y}_l \\mid \\text{prefix}, \\bsf{x})");
    view.dist.fig.style.minWidth = "14rem";
    view.beam = view.panel({ text: "" }, "sb-wide");
    view.beam.cap.replaceChildren(h("span", {}, "the beam after step ", tex("l"), ", with ",
      tex("\\log\\hat{p}(\\text{prefix} \\mid \\bsf{x})")));
    view.beam.fig.style.minWidth = "16rem";
    view.loss = view.panel({ text: "" });
    view.loss.cap.replaceChildren(h("span", {}, "teacher-forced loss term of each target token, ",
      tex("-\\log\\hat{p}(\\bsf{y}_l \\mid \\bsf{y}_{0:l}, \\bsf{x})")));
    view.loss.fig.style.flex = "1 1 100%";
    view.loss.fig.style.marginTop = "0.6rem";
    const sum = h("span", {});
    view.loss.foot = note("sum ", sum, " nats ", tex("= -\\log\\hat{p}(\\bsf{y} \\mid \\bsf{x})"),
      ", the target's log-probability by the chain rule");
    view.loss.scale = note();
    view.loss.fig.append(view.loss.foot, view.loss.scale);
    view.dec = { field, msg, hl, out, sum };
  }

  function drawHeadline(view, d, st) {
    const o = view.options, dec = view.dec;
    dec.hl.x.textContent = grouped(d.number);
    dec.hl.target.textContent = words(o, d.target.slice(0, -1)).join(" ");
    dec.hl.k.textContent = String(st.beam_width);
    if (document.activeElement !== dec.field) { dec.field.value = String(d.number); dec.msg.textContent = ""; }
    const best = d.result[0];
    for (const [key, hy] of [["greedy", d.greedy], ["beam", best]]) {
      const right = hy.finished && same(hy.tokens, d.target);
      const t = dec.out[key];
      t.words.replaceChildren(wordSpan(o, hy.tokens));
      t.score.textContent = fixed(hy.score);
      t.mark.replaceChildren(h("span", { style: { color: right ? "var(--sb-green)" : "var(--sb-red)" } },
        right ? "✓ right" : "✗ wrong"));
    }
  }

  function drawDist(view, d) {
    const o = view.options, host = view.dist.host;
    const kids = [];
    if (d.prefix === null) {
      kids.push(note(`The search ended after ${d.search_steps} steps; the target has ${d.target.length} tokens.`));
      host.replaceChildren(...kids);
      return;
    }
    kids.push(h("div", { style: { fontSize: "13px", margin: "0 0 0.35rem", color: "var(--sb-muted)" } },
      `step ${d.step}, best live prefix: `,
      h("span", { style: { color: "var(--sb-fg)" } }, d.prefix.length ? words(o, d.prefix).join(" ") : "(none yet)"),
      d.prefix.length ? ` (${fixed(d.prefix_score)})` : ""));
    const want = d.step < d.target.length ? d.target[d.step] : -1;
    kids.push(barList(host, d.top_words.map((v, i) => ({ label: o.vocab[v], frac: d.top_p[i], text: prob(d.top_p[i]),
      color: v === want ? "var(--sb-orange)" : "var(--sb-blue)", strong: v === want })),
      `probabilities of the ${d.top_words.length} most probable next words at step ${d.step}`));
    kids.push(want >= 0 ? note(swatch("var(--sb-orange)"), `the target's word at position ${d.step} (${o.vocab[want]})`)
      : note(`The target has no word at position ${d.step}.`));
    host.replaceChildren(...kids);
  }

  function drawBeam(view, d, st) {
    const o = view.options, host = view.beam.host;
    const kids = [];
    const greedy = d.greedy.tokens;
    const tag = (txt, color) => h("span", { style: { fontSize: "12px", color, whiteSpace: "nowrap" } }, txt);
    if (d.kept.length) {
      const g = grid("1.4em minmax(0, 1fr) max-content max-content");
      d.kept.forEach((c, i) => {
        const onGreedy = c.tokens.length <= greedy.length && same(c.tokens, greedy.slice(0, c.tokens.length));
        const tags = h("span", { style: { display: "inline-flex", gap: "0.3rem" } },
          c.finished ? tag("ended", "var(--sb-green)") : null, onGreedy ? tag("greedy's path", "var(--sb-orange)") : null);
        g.append(h("span", { style: { color: "var(--sb-muted)" } }, `${i + 1}.`),
          h("span", { style: { overflowWrap: "anywhere", fontWeight: i === 0 ? "600" : "400" } }, wordSpan(o, c.tokens)),
          h("span", { style: { textAlign: "right" } }, fixed(c.score)), tags);
      });
      kids.push(g);
    } else {
      kids.push(note(`No step ${d.step}: the search ended after ${d.search_steps} steps.`));
    }
    // the stopping rule
    const bf = d.best_finished, bl = d.best_live;
    let rule;
    if (d.stop === null) {
      rule = bf === null ? "Nothing has ended yet: go on."
        : `Best ended output ${fixed(bf.score)} < best live prefix ${fixed(bl)}: go on, a live prefix may still beat it.`;
    } else if (d.stop === "rule") {
      rule = `Best ended output ${fixed(bf.score)} ≥ best live prefix ${fixed(bl)}: stop (scores only fall as words are added).`;
    } else if (d.stop === "no_live") {
      rule = "Every kept candidate has ended: stop.";
    } else {
      rule = `The length limit (${o.max_len} words) is reached: stop.`;
    }
    kids.push(h("div", { style: { fontSize: "13px", margin: "0.45rem 0 0" } }, rule));
    if (d.stop !== null) {
      const g = grid("1.4em minmax(0, 1fr) max-content");
      d.result.forEach((x, i) => g.append(h("span", { style: { color: "var(--sb-muted)" } }, `${i + 1}.`),
        h("span", { style: { overflowWrap: "anywhere" } }, wordSpan(o, x.tokens)),
        h("span", { style: { textAlign: "right" } }, fixed(x.score))));
      kids.push(h("div", { style: { fontSize: "13px", margin: "0.45rem 0 0.15rem", color: "var(--sb-muted)" } },
        "Outputs, best first:"), g);
    }
    host.replaceChildren(...kids);
  }

  function drawLoss(view, d) {
    const o = view.options, host = view.loss.host;
    const top = Math.max(1, ...d.loss_terms);
    host.replaceChildren(barList(host, d.target.map((v, i) => {
      const cur = i === d.step;
      return { index: i, label: o.vocab[v], frac: d.loss_terms[i] / top, text: fmt(d.loss_terms[i], 3),
        color: cur ? "var(--sb-red)" : "var(--sb-blue)", strong: cur, labelColor: cur ? "var(--sb-red)" : null };
    }), `teacher-forced loss term of each of the ${d.target.length} target tokens, in nats`));
    view.dec.sum.textContent = fixed(d.loss_sum);
    view.loss.scale.replaceChildren(`Bars: 0 to ${fmt(top, 3)} nats.`,
      d.step >= d.target.length ? ` Step ${d.step} is past the target's last position.` : "");
  }

  function draw(view, d, st) {
    drawHeadline(view, d, st);
    drawDist(view, d);
    drawBeam(view, d, st);
    drawLoss(view, d);
  }

  function describe(d, st, o) {
    const w = (t) => `"${t.filter((v) => v !== o.eos).map((v) => o.vocab[v]).join(" ")}"`;
    const b = d.result[0];
    let dist = "";
    if (d.top_words.length) {
      dist = `at step ${d.step} the most probable next word after the best prefix is "${o.vocab[d.top_words[0]]}" ` +
        `(p ${fixed(d.top_p[0])}); `;
    }
    return `Input ${grouped(d.number)}, beam width ${st.beam_width}: ${dist}beam search outputs ${w(b.tokens)} ` +
      `(log p ${fixed(b.score)}), greedy decoding ${w(d.greedy.tokens)} (log p ${fixed(d.greedy.score)}); ` +
      `the target's teacher-forced loss terms sum to ${fixed(d.loss_sum)} nats.`;
  }

  return { controls, normalize, refresh, compute, layout, draw, describe };
})();
