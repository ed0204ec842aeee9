// mirror/decode.js: the numbers-to-words encoder-decoder, decoded in JavaScript, for the static page.
//
// Mirrors (seqlib is the reference; the tests compare the two on random settings to 1e-9
// relative, float64):
//   seqlib.seq2seq.data.number_to_words, encode_number   the digits of n and its words + <eos>
//   seqlib.seq2seq.encode                 e_m = E_x[x_m], s_m = tanh(e_m W_xh + b_h + s_{m-1} W_hh),
//                                          c = s_{M-1}   (eqs. s2s_encoder, s2s_bridge; vanilla RNN cell)
//   seqlib.seq2seq.decoder_inputs         d_l = E_y[y_{l-1}] (with c appended if config.context)
//   seqlib.seq2seq.decode.decoder_step    h_l = tanh(d_l W_xh + b_h + h_{l-1} W_hh), o_l = h_l W_hy + b_y,
//                                          log p̂ = log_softmax(o_l)   (eq. s2s_decoder, rnn_readout)
//   seqlib.loss.softmax_ce.log_softmax    (z - m) - log Σ exp(z - m), m = max z; the sum in numpy's
//                                          order (pairwise: 8 accumulators), so that tiny terms agree
//   seqlib.seq2seq.decode.beam_search     with its trace: stable top-k of score + log p̂ (ties: the
//                                          lower flat index), finished hypotheses leave the beam,
//                                          stop when none is live, when the best finished scores at
//                                          least the best live, or after max_len steps
//   seqlib.seq2seq.decode.greedy_decode   argmax (the first of equal maxima) until <eos> or max_len
//   seqlib.seq2seq.sequence_log_prob      per_token=True, negated: the teacher-forced loss terms
//                                          -log p̂(y_l | y_{0:l}, x) = log Σ exp(o_l - m) - (o_l[y_l] - m)
//
// Arrays are flat Float64Arrays in row-major order; the comment of each function gives the shape.
// Rows are row vectors, as in the book: x W_xh, h W_hh, h W_hy.

const DECODE = (() => {
  "use strict";

  // ---------------------------------------------------------------- the task (seqlib.seq2seq.data)

  const ONES = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
  const TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen"];
  const TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
  const TGT_VOCAB = ["<eos>", "<bos>", "zero", ...ONES, ...TEENS, ...TENS, "hundred", "thousand"];
  const WORD_ID = Object.fromEntries(TGT_VOCAB.map((w, i) => [w, i]));
  const MAX_NUMBER = 999999;

  function below1000(n) {
    const words = [];
    if (n >= 100) { words.push(ONES[Math.floor(n / 100) - 1], "hundred"); n %= 100; }
    if (n >= 20) { words.push(TENS[Math.floor(n / 10) - 2]); n %= 10; }
    if (n >= 10) words.push(TEENS[n - 10]);
    else if (n >= 1) words.push(ONES[n - 1]);
    return words;
  }

  function checkNumber(n) {
    if (!Number.isInteger(n) || n < 0 || n > MAX_NUMBER) {
      throw new Error(`n must be an int in [0, ${MAX_NUMBER}], got ${n}`);
    }
    return n;
  }

  // English words of 0 <= n <= 999999: 407 -> ["four", "hundred", "seven"]
  function numberToWords(n) {
    checkNumber(n);
    if (n === 0) return ["zero"];
    let words = [];
    if (n >= 1000) words = below1000(Math.floor(n / 1000)).concat(["thousand"]);
    return words.concat(below1000(n % 1000));
  }

  // {src: the digits of n (ids), tgt: its word ids followed by <eos> (id 0)}
  function encodeNumber(n) {
    checkNumber(n);
    return { src: String(n).split("").map(Number), tgt: numberToWords(n).map((w) => WORD_ID[w]).concat([0]) };
  }

  // ---------------------------------------------------------------- the model

  const flat = unpackF64;  // js/runtime.js: nested lists or packed float64

  // The model of base = {params: {E_x (V_x, D), E_y (V_y, D), enc_W_xh (D, H), enc_W_hh (H, H), enc_b_h (H),
  // dec_W_xh (D [+H], H), dec_W_hh, dec_b_h, W_hy (H, V_y), b_y (V_y)}, D, H, V_x, V_y, eos, bos, context}
  // as flat arrays (built once per base object).
  const MODELS = new WeakMap();
  function model(base) {
    let m = MODELS.get(base);
    if (m) return m;
    const p = base.params;
    m = {
      D: base.D, H: base.H, V_x: base.V_x, V_y: base.V_y, eos: base.eos, bos: base.bos, context: !!base.context,
      E_x: flat(p.E_x), E_y: flat(p.E_y), W_hy: flat(p.W_hy), b_y: flat(p.b_y),
      enc: { W_xh: flat(p.enc_W_xh), W_hh: flat(p.enc_W_hh), b_h: flat(p.enc_b_h), Din: base.D },
      dec: { W_xh: flat(p.dec_W_xh), W_hh: flat(p.dec_W_hh), b_h: flat(p.dec_b_h),
        Din: base.D + (base.context ? base.H : 0) },
    };
    MODELS.set(base, m);
    return m;
  }

  // One step of the vanilla tanh RNN for K rows (seqlib.cells.rnn.rnn_forward over one time step):
  //   x (K, Din), h (K, H) -> tanh((x W_xh + b_h) + h W_hh) (K, H)
  function rnnStep(x, h, cell, K, H) {
    const { W_xh, W_hh, b_h, Din } = cell;
    const out = new Float64Array(K * H);
    const acc = new Float64Array(H);
    for (let r = 0; r < K; r++) {
      acc.fill(0);
      for (let p = 0; p < Din; p++) {
        const a = x[r * Din + p], row = p * H;
        for (let j = 0; j < H; j++) acc[j] += a * W_xh[row + j];
      }
      for (let j = 0; j < H; j++) acc[j] += b_h[j];
      const rec = new Float64Array(H);
      for (let p = 0; p < H; p++) {
        const a = h[r * H + p], row = p * H;
        for (let j = 0; j < H; j++) rec[j] += a * W_hh[row + j];
      }
      for (let j = 0; j < H; j++) out[r * H + j] = Math.tanh(acc[j] + rec[j]);
    }
    return out;
  }

  // The encoder's last state c (H) for one source of digit ids (seqlib.seq2seq.encode), from s_{-1} = 0.
  function encode(m, src) {
    const { D, H } = m;
    let s = new Float64Array(H);
    for (const tok of src) {
      if (!Number.isInteger(tok) || tok < 0 || tok >= m.V_x) throw new Error(`source ids must be in [0, ${m.V_x}), got ${tok}`);
      s = rnnStep(m.E_x.subarray(tok * D, (tok + 1) * D), s, m.enc, 1, H);
    }
    return s;
  }

  // The decoder inputs d (K, Din) for the previous tokens (K) (seqlib.seq2seq.decoder_inputs).
  function decoderInputs(m, tokens, c) {
    const { D, H } = m, Din = m.dec.Din, K = tokens.length;
    const d = new Float64Array(K * Din);
    for (let r = 0; r < K; r++) {
      d.set(m.E_y.subarray(tokens[r] * D, (tokens[r] + 1) * D), r * Din);
      if (m.context) d.set(c, r * Din + D);
    }
    return d;
  }

  // numpy's sum of n contiguous doubles a[off..off+n) (pairwise_sum for n <= 128, as np.sum along
  // a contiguous axis computes it: 8 running sums, combined in a fixed tree, then the rest), plus 0.
  function npSum(a, off, n) {
    if (n < 8) {
      let res = 0;
      for (let i = 0; i < n; i++) res += a[off + i];
      return 0 + res;
    }
    if (n > 128) {
      let n2 = Math.floor(n / 2);
      n2 -= n2 % 8;
      return npSum(a, off, n2) + npSum(a, off + n2, n - n2);
    }
    const r = [a[off], a[off + 1], a[off + 2], a[off + 3], a[off + 4], a[off + 5], a[off + 6], a[off + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[off + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[off + i];
    return 0 + res;
  }

  // Row-wise log-softmax of z (K, V), stable (seqlib.loss.softmax_ce.log_softmax): (z - m) - log Σ exp(z - m).
  function logSoftmaxRows(z, K, V) {
    const out = new Float64Array(K * V), e = new Float64Array(V);
    for (let r = 0; r < K; r++) {
      let mx = -Infinity;
      for (let v = 0; v < V; v++) if (z[r * V + v] > mx) mx = z[r * V + v];
      for (let v = 0; v < V; v++) e[v] = Math.exp(z[r * V + v] - mx);
      const ls = Math.log(npSum(e, 0, V));
      for (let v = 0; v < V; v++) out[r * V + v] = (z[r * V + v] - mx) - ls;
    }
    return out;
  }

  // The readout o = h W_hy + b_y (K, V) (seqlib.cells.readout.linear_forward).
  function readout(m, h, K) {
    const { H, V_y: V } = m;
    const o = new Float64Array(K * V);
    for (let r = 0; r < K; r++) {
      const acc = new Float64Array(V);
      for (let p = 0; p < H; p++) {
        const a = h[r * H + p], row = p * V;
        for (let v = 0; v < V; v++) acc[v] += a * m.W_hy[row + v];
      }
      for (let v = 0; v < V; v++) o[r * V + v] = acc[v] + m.b_y[v];
    }
    return o;
  }

  // One free-running decoder step for K hypotheses (seqlib.seq2seq.decode.decoder_step):
  //   tokens (K) previous outputs, h (K, H) decoder states, c (H) -> {logp (K, V_y), h (K, H)}
  function decoderStep(m, tokens, h, c) {
    const K = tokens.length;
    const hNew = rnnStep(decoderInputs(m, tokens, c), h, m.dec, K, m.H);
    return { logp: logSoftmaxRows(readout(m, hNew, K), K, m.V_y), h: hNew };
  }

  function checkSearch(k, maxLen) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`beam_width must be >= 1, got ${k}`);
    if (!Number.isInteger(maxLen) || maxLen < 1) throw new Error(`max_len must be a positive int, got ${maxLen}`);
  }

  // Beam search of width k for one source (seqlib.seq2seq.decode.beam_search with a trace).
  // Returns {result: [{tokens, score, finished}] best first (<= k), steps: [{prefixes, prefixScores,
  // logp (K, V), kept: [{tokens, score}]}]}.
  function beamSearch(m, src, k, maxLen) {
    checkSearch(k, maxLen);
    const V = m.V_y, H = m.H;
    const c = encode(m, src);
    let prefixes = [[]], scores = [0];
    let h = Float64Array.from(c);  // Cell.initial_state: h = c
    const finished = [], steps = [];
    let cut = true;  // ran into max_len (the for-else of seqlib)
    for (let t = 0; t < maxLen; t++) {
      const K = prefixes.length;
      const last = prefixes.map((p) => (p.length ? p[p.length - 1] : m.bos));
      const { logp, h: hNew } = decoderStep(m, last, h, c);
      const total = new Float64Array(K * V);
      for (let r = 0; r < K; r++) for (let v = 0; v < V; v++) total[r * V + v] = scores[r] + logp[r * V + v];
      // np.argsort(-total, kind="stable")[:k]: descending total, ties by the lower flat index
      const idx = Array.from({ length: K * V }, (_, i) => i);
      idx.sort((a, b) => (total[a] > total[b] ? -1 : total[a] < total[b] ? 1 : a - b));
      const order = idx.slice(0, k);
      const step = { prefixes: prefixes.map((p) => p.slice()), prefixScores: scores.slice(), logp, kept: [] };
      const newP = [], newS = [], rows = [];
      for (const i of order) {
        const r = Math.floor(i / V), v = i % V;
        const seq = prefixes[r].concat([v]);
        step.kept.push({ tokens: seq, score: total[i] });
        if (v === m.eos) finished.push({ tokens: seq, score: total[i], finished: true });
        else { newP.push(seq); newS.push(total[i]); rows.push(r); }
      }
      steps.push(step);
      const hKeep = new Float64Array(rows.length * H);
      rows.forEach((r, i) => hKeep.set(hNew.subarray(r * H, (r + 1) * H), i * H));
      prefixes = newP; scores = newS; h = hKeep;
      if (!prefixes.length) { cut = false; break; }
      let bestF = -Infinity, bestL = -Infinity;
      for (const f of finished) if (f.score > bestF) bestF = f.score;
      for (const s of scores) if (s > bestL) bestL = s;
      if (finished.length && bestF >= bestL) { cut = false; break; }
    }
    if (cut) prefixes.forEach((p, i) => finished.push({ tokens: p, score: scores[i], finished: false }));
    // finished.sort(key=-score): stable
    const result = finished.map((f, i) => [f, i])
      .sort((a, b) => (a[0].score > b[0].score ? -1 : a[0].score < b[0].score ? 1 : a[1] - b[1]))
      .map((x) => x[0]).slice(0, k);
    return { result, steps };
  }

  // Greedy decoding of one source (seqlib.seq2seq.decode.greedy_decode): {tokens, score, finished}.
  function greedyDecode(m, src, maxLen) {
    checkSearch(1, maxLen);
    const V = m.V_y;
    const c = encode(m, src);
    let h = Float64Array.from(c), tok = m.bos, score = 0;
    const tokens = [];
    for (let t = 0; t < maxLen; t++) {
      const st = decoderStep(m, [tok], h, c);
      h = st.h;
      let best = 0;
      for (let v = 1; v < V; v++) if (st.logp[v] > st.logp[best]) best = v;
      tok = best;
      tokens.push(tok);
      score += st.logp[tok];
      if (tok === m.eos) break;
    }
    return { tokens, score, finished: tokens[tokens.length - 1] === m.eos };
  }

  // The teacher-forced loss terms -log p̂(y_l | y_{0:l}, x) (L) of a target (ids, <eos> last)
  // (-seqlib.seq2seq.sequence_log_prob(..., per_token=True)[0], i.e. seqlib.loss.softmax_ce._nll per position).
  function tokenLosses(m, src, tgt) {
    const V = m.V_y;
    const c = encode(m, src);
    let h = Float64Array.from(c), prev = m.bos;
    const out = new Float64Array(tgt.length), e = new Float64Array(V);
    for (let l = 0; l < tgt.length; l++) {
      h = rnnStep(decoderInputs(m, [prev], c), h, m.dec, 1, m.H);
      const o = readout(m, h, 1);
      let mx = -Infinity;
      for (let v = 0; v < V; v++) if (o[v] > mx) mx = o[v];
      for (let v = 0; v < V; v++) e[v] = Math.exp(o[v] - mx);
      out[l] = Math.log(npSum(e, 0, V)) - (o[tgt[l]] - mx);
      prev = tgt[l];
    }
    return out;
  }

  return { TGT_VOCAB, MAX_NUMBER, numberToWords, encodeNumber, model, rnnStep, encode, decoderInputs, npSum,
    logSoftmaxRows, readout, decoderStep, beamSearch, greedyDecode, tokenLosses };
})();
