// mirror/gated.js: gradient flow through time in the LSTM and the GRU, in JavaScript, for the static page.
//
// Mirrors (seqlib is the reference; tests/test_mirror_gated.py compares the two on random settings to
// 1e-9 relative, float64, against seqlib.widgets.gated_base.gated_flow_numbers):
//   seqlib.cells.lstm.sigmoid_inplace             σ(a) = (1 + tanh(a/2)) / 2, the form the LSTM and the GRU use
//                                                 (stable for any a, as seqlib.cells.activations.sigmoid, and the same
//                                                 numbers as seqlib's cells to the last bits)
//   seqlib.cells.lstm.lstm_forward                z_t = x_t W_x + h_{t-1} W_h + b                  (eq. lstm_preact)
//                                                 i, f, o = σ(z^i, z^f, z^o), g = tanh(z^g)        (eq. lstm_gates)
//                                                 c_t = f ⊙ c_{t-1} + i ⊙ g                        (eq. lstm_cell)
//                                                 h_t = o ⊙ tanh(c_t)                              (eq. lstm_hidden)
//   seqlib.cells.lstm._lstm_step_back             δc_t = δh_t ⊙ o ⊙ (1 - tanh² c_t) + δc_{t+1} ⊙ f_{t+1}   (eq. lstm_delta_c)
//                                                 dz_t = [δc ⊙ g ⊙ σ'(i), δc ⊙ c_{t-1} ⊙ σ'(f), δc ⊙ i ⊙ (1 - g²),
//                                                         δh ⊙ tanh c_t ⊙ σ'(o)]                   (eq. lstm_grad_z)
//                                                 ∂/∂h_{t-1} = dz_t W_h^T                          (eq. lstm_delta_h)
//   seqlib.cells.gru.gru_forward (reset="after", the default; biases b_x = b_h = 0 as gated_flow_data)
//                                                 r, z = σ(x_t W_x{r,z} + h_{t-1} W_h{r,z})         (eq. gru_gates)
//                                                 n_t = tanh(x_t W_xn + r ⊙ (h_{t-1} W_hn))        (eq. gru_after)
//                                                 h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}                  (eq. gru_state)
//   seqlib.cells.gru._gru_step_back (reset="after")  δ_{t-1} = da_h W_h^T + δ_t ⊙ z_t                 (eqs. gru_grad_a, gru_delta)
//   seqlib.training.gradflow_gated.lstm_loss_to_state_norms  G_h[t, k] = ||dℓ_t/dh_k||, G_c[t, k] = ||dℓ_t/dc_k|| (eq. gated_G)
//   seqlib.training.gradflow_gated.lstm_state_gradient_norms  ||dL/dh_k||, ||dL/dc_k|| for L = Σ_t ℓ_t
//   seqlib.training.gradflow_gated.gru_loss_to_state_norms  G[t, k] = ||dℓ_t/dh_k||                       (eq. gated_G)
//   seqlib.training.gradflow_gated.gru_state_gradient_norms  ||dL/dh_k||
//   (both through seqlib.training.gradflow_gated._lstm_flow / _gru_flow: every loss back-propagated at once, one row
//    per loss, chunked truncation: nothing crosses from step s+1 into step s when s is a multiple of κ)
//   seqlib.widgets.gated_base.gated_flow_numbers     the setting -> {G, delta_norms, gate_mean}:
//                                                 LSTM: G = hypot(G_h, G_c), the norm of dℓ_t/d(h_k, c_k); delta_norms
//                                                 the hypot of the two state gradient norms; gate_mean the mean f_t.
//                                                 GRU: G and delta_norms of h_k; gate_mean the mean z_t.
//
// The base is seqlib.widgets.gated_base.gated_flow_base (nested lists or flat arrays): x (B, T_max, D),
// dh (B, T_max, H), W_x_lstm (D, 4H), W_h_lstm_unit (H, 4H), W_x_gru (D, 3H), W_h_gru_unit (H, 3H); a setting
// uses the first T steps and the recurrent blocks spectral_norm * W_h_unit.
//
// Arrays are flat Float64Arrays in row-major order; the comment of each function gives the shape.
// Batch rows are row vectors, as in the book: x_t W_x, and δ W_h^T for the step back.  The forward
// pass follows seqlib's operations one for one (the i, f, o columns halved, one tanh).  The step back
// forms, per step and sequence, the matrix that takes (δc_t, δh_t) to ∂/∂h_{t-1}, e.g. for the LSTM
// Mc[p, q] = Σ_{gate ∈ i,f,g} a_gate[p] W_h[q, gate p] (same numbers as dz_t W_h^T up to rounding):
// each of the T(T+1)/2 (loss, step) pairs then costs 2H^2 (LSTM) or H^2 (GRU) multiply-adds per sequence
// instead of 4H^2 or 3H^2.  Rows of losses that have not started, or whose chunk has ended, are exactly
// zero in seqlib and skipped here.

const GATED = (() => {
  "use strict";

  // ------------------------------------------------------------------------------------------ the base
  const prepared = new WeakMap();

  // A nested list (or a flat array) as one flat Float64Array, row-major.
  function flat(v) {
    if (v instanceof Float64Array) return v;
    if (ArrayBuffer.isView(v)) return Float64Array.from(v);
    return Float64Array.from(v.flat(Infinity));
  }

  // The base's arrays, flattened once per base object.
  function prepare(base) {
    let p = prepared.get(base);
    if (p) return p;
    const B = base.B, D = base.D, H = base.H, T_max = base.T_max;
    p = {
      B, D, H, T_max,
      x: flat(base.x), dh: flat(base.dh),
      W_x_lstm: flat(base.W_x_lstm), W_h_lstm_unit: flat(base.W_h_lstm_unit),
      W_x_gru: flat(base.W_x_gru), W_h_gru_unit: flat(base.W_h_gru_unit),
    };
    const want = { x: B * T_max * D, dh: B * T_max * H, W_x_lstm: D * 4 * H, W_h_lstm_unit: H * 4 * H,
                   W_x_gru: D * 3 * H, W_h_gru_unit: H * 3 * H };
    for (const k in want) {
      if (p[k].length !== want[k]) throw new Error(`base.${k} has ${p[k].length} numbers, expected ${want[k]}`);
    }
    if (typeof base === "object" && base !== null) prepared.set(base, p);
    return p;
  }

  function checkSetting(p, spectral_norm, T, truncate) {
    if (!(Number.isFinite(spectral_norm) && spectral_norm > 0)) {
      throw new Error(`spectral_norm must be a positive finite number, got ${spectral_norm}`);
    }
    if (!Number.isInteger(T) || T < 2 || T > p.T_max) throw new Error(`T must be an int in [2, ${p.T_max}], got ${T}`);
    if (truncate !== null && truncate !== undefined && !(Number.isInteger(truncate) && truncate >= 1)) {
      throw new Error(`truncate must be null or an int >= 1, got ${truncate}`);
    }
    return truncate === null || truncate === undefined ? T : truncate;
  }

  // out (B, n) = x_t (B, D) W_x (D, n) + bias (n), for step t of x (B, T_max, D); scale (n) multiplies W_x and bias.
  function inputProjection(p, W_x, bias, scale, n, t, out) {
    const { B, D, T_max, x } = p;
    for (let b = 0; b < B; b++) {
      const o = b * n, xo = (b * T_max + t) * D;
      for (let j = 0; j < n; j++) out[o + j] = 0;
      for (let d = 0; d < D; d++) {
        const xv = x[xo + d], wo = d * n;
        for (let j = 0; j < n; j++) out[o + j] += xv * (W_x[wo + j] * scale[j]);
      }
      for (let j = 0; j < n; j++) out[o + j] += bias[j] * scale[j];
    }
    return out;
  }

  // out (B, n) = hprev (B, H) W (H, n)
  function recurrent(hprev, W, B, H, n, out) {
    out.fill(0);
    for (let b = 0; b < B; b++) {
      const o = b * n, ho = b * H;
      for (let q = 0; q < H; q++) {
        const hv = hprev[ho + q];
        if (hv === 0) continue;
        const wo = q * n;
        for (let j = 0; j < n; j++) out[o + j] += hv * W[wo + j];
      }
    }
    return out;
  }

  // Squared norm over batch and hidden of row r of a (rows, B, H) array.
  function rowSq(v, r, BH) {
    let acc = 0;
    const o = r * BH;
    for (let i = 0; i < BH; i++) acc += v[o + i] * v[o + i];
    return acc;
  }

  // out (n, m) = V (n, K) @ M^T for M (m, K) stored at offset mo of MT: out[i, q] = Σ_k V[i, k] M[q, k].
  // Blocks of 4 rows x 2 columns keep eight sums in registers (about 2.5 times the speed of one dot
  // product at a time in V8); the order of the additions within a sum is k = 0, 1, ..., K-1.
  function matmulT(V, MT, mo, out, n, K, m) {
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const v0 = i * K, v1 = v0 + K, v2 = v1 + K, v3 = v2 + K;
      let q = 0;
      for (; q + 1 < m; q += 2) {
        const m0 = mo + q * K, m1 = m0 + K;
        let a00 = 0, a01 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a30 = 0, a31 = 0;
        for (let k = 0; k < K; k++) {
          const y0 = MT[m0 + k], y1 = MT[m1 + k];
          let x = V[v0 + k]; a00 += x * y0; a01 += x * y1;
          x = V[v1 + k]; a10 += x * y0; a11 += x * y1;
          x = V[v2 + k]; a20 += x * y0; a21 += x * y1;
          x = V[v3 + k]; a30 += x * y0; a31 += x * y1;
        }
        const o = i * m + q;
        out[o] = a00; out[o + 1] = a01; out[o + m] = a10; out[o + m + 1] = a11;
        out[o + 2 * m] = a20; out[o + 2 * m + 1] = a21; out[o + 3 * m] = a30; out[o + 3 * m + 1] = a31;
      }
      for (; q < m; q++) {
        const m0 = mo + q * K;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let k = 0; k < K; k++) {
          const y = MT[m0 + k];
          a0 += V[v0 + k] * y; a1 += V[v1 + k] * y; a2 += V[v2 + k] * y; a3 += V[v3 + k] * y;
        }
        out[i * m + q] = a0; out[(i + 1) * m + q] = a1; out[(i + 2) * m + q] = a2; out[(i + 3) * m + q] = a3;
      }
    }
    for (; i < n; i++) {
      const v0 = i * K;
      for (let q = 0; q < m; q++) {
        const m0 = mo + q * K;
        let a = 0;
        for (let k = 0; k < K; k++) a += V[v0 + k] * MT[m0 + k];
        out[i * m + q] = a;
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------ LSTM

  // seqlib.cells.lstm.lstm_forward from h0 = c0 = 0 over the first T steps, W_h = spectral_norm * W_h_lstm_unit,
  // b = [0, forget_bias, 0, 0] (blocks of H).
  // Returns time-major {gates (T, B, 4H) = [i, f, g, o], cs (T+1, B, H) with cs[0] = c0, tanh_c (T, B, H),
  // W_h (H, 4H), fMean}.
  function lstmForward(p, spectral_norm, forget_bias, T) {
    const { B, H } = p, H4 = 4 * H;
    const W_h = new Float64Array(H * H4), half = new Float64Array(H4), bias = new Float64Array(H4);
    for (let j = 0; j < H4; j++) half[j] = j < 2 * H || j >= 3 * H ? 0.5 : 1.0;
    for (let j = H; j < 2 * H; j++) bias[j] = forget_bias;
    for (let i = 0; i < H * H4; i++) W_h[i] = spectral_norm * p.W_h_lstm_unit[i];
    const W_h_half = new Float64Array(H * H4);
    for (let q = 0; q < H; q++) for (let j = 0; j < H4; j++) W_h_half[q * H4 + j] = W_h[q * H4 + j] * half[j];
    const gates = new Float64Array(T * B * H4), cs = new Float64Array((T + 1) * B * H);
    const tanh_c = new Float64Array(T * B * H), h = new Float64Array(B * H);
    const pre = new Float64Array(B * H4), rec = new Float64Array(B * H4);
    let fSum = 0;
    for (let t = 0; t < T; t++) {
      inputProjection(p, p.W_x_lstm, bias, half, H4, t, pre); // x_t W_x + b, i, f, o halved
      recurrent(h, W_h_half, B, H, H4, rec);
      for (let b = 0; b < B; b++) {
        const zo = (t * B + b) * H4, ro = b * H4;
        for (let j = 0; j < H4; j++) {
          const th = Math.tanh(pre[ro + j] + rec[ro + j]); // (eq. lstm_preact), then (eq. lstm_gates)
          gates[zo + j] = half[j] === 0.5 ? th * 0.5 + 0.5 : th;
        }
        const cp = (t * B + b) * H, cn = ((t + 1) * B + b) * H;
        for (let q = 0; q < H; q++) {
          const i = gates[zo + q], f = gates[zo + H + q], g = gates[zo + 2 * H + q], o = gates[zo + 3 * H + q];
          const c = f * cs[cp + q] + i * g; // (eq. lstm_cell)
          const tc = Math.tanh(c);
          cs[cn + q] = c;
          tanh_c[cp + q] = tc;
          h[b * H + q] = o * tc; // (eq. lstm_hidden)
          fSum += f;
        }
      }
    }
    return { gates, cs, tanh_c, W_h, fMean: fSum / (T * B * H) };
  }

  // The step back through step s (0-based) of every sequence, as matrices (seqlib.cells.lstm._lstm_step_back):
  // for sequence b, MT (H, 2H) with  ∂/∂h_{s-1}[q] = Σ_p δc[p] MT[q, p] + Σ_p δh[p] MT[q, H + p],
  // where δc = δc_in + (δh ⊙ o) ⊙ (1 - tanh² c) (eq. lstm_delta_c); also o, 1 - tanh² c and f of the step.
  // Returns {MT (B, H, 2H), o (B, H), dtc (B, H), f (B, H)}.
  function lstmStepMatrices(fw, s, B, H, out) {
    const H4 = 4 * H, H2 = 2 * H, W = fw.W_h;
    const { MT, o: oo, dtc, f: ff } = out;
    for (let b = 0; b < B; b++) {
      const go = (s * B + b) * H4, co = (s * B + b) * H, mo = b * H * H2;
      for (let pp = 0; pp < H; pp++) {
        const i = fw.gates[go + pp], f = fw.gates[go + H + pp], g = fw.gates[go + 2 * H + pp];
        const o = fw.gates[go + 3 * H + pp], tc = fw.tanh_c[co + pp], cprev = fw.cs[co + pp];
        const ai = g * i * (1.0 - i), af = cprev * f * (1.0 - f), ag = i * (1.0 - g * g); // (eq. lstm_grad_z)
        const ao = tc * o * (1.0 - o);
        for (let q = 0; q < H; q++) {
          const wq = q * H4;
          MT[mo + q * H2 + pp] = ai * W[wq + pp] + af * W[wq + H + pp] + ag * W[wq + 2 * H + pp]; // (eq. lstm_delta_h)
          MT[mo + q * H2 + H + pp] = ao * W[wq + 3 * H + pp];
        }
        oo[b * H + pp] = o;
        dtc[b * H + pp] = 1.0 - tc * tc;
        ff[b * H + pp] = f;
      }
    }
  }

  // Rows lo..hi-1 and row `extra` of d_h, d_c (rows, B, H) one step back through step s, in place.
  // V (n, 2H) and out (n, H) are scratch of at least hi - lo + 1 rows.
  function lstmBackRows(m, d_h, d_c, lo, hi, extra, B, H, V, out) {
    const H2 = 2 * H, BH = B * H, n = hi - lo + 1;
    for (let b = 0; b < B; b++) {
      const sb = b * H;
      for (let i = 0; i < n; i++) {
        const ro = (i < n - 1 ? lo + i : extra) * BH + sb, vo = i * H2;
        for (let q = 0; q < H; q++) {
          const dh = d_h[ro + q];
          const dc = d_c[ro + q] + dh * m.o[sb + q] * m.dtc[sb + q]; // δc_t  (eq. lstm_delta_c)
          V[vo + q] = dc;
          V[vo + H + q] = dh;
          d_c[ro + q] = dc * m.f[sb + q]; // what reaches c_{t-1}: δc_t ⊙ f_t
        }
      }
      matmulT(V, m.MT, b * H * H2, out, n, H2, H); // dz_t W_h^T  (eq. lstm_delta_h)
      for (let i = 0; i < n; i++) {
        const ro = (i < n - 1 ? lo + i : extra) * BH + sb, oo = i * H;
        for (let q = 0; q < H; q++) d_h[ro + q] = out[oo + q];
      }
    }
  }

  // {G (T*T), delta_norms (T), gate_mean} of the LSTM (seqlib.widgets.gated_base.gated_flow_numbers, arch "lstm").
  //   base: gated_flow_base; spectral_norm > 0; forget_bias; 2 <= T <= T_max; truncate null or int >= 1.
  function lstmFlow(base, spectral_norm, forget_bias, T, truncate) {
    const p = prepare(base);
    const k = checkSetting(p, spectral_norm, T, truncate);
    if (!Number.isFinite(forget_bias)) throw new Error(`forget_bias must be a finite number, got ${forget_bias}`);
    const { B, H, T_max } = p, BH = B * H;
    const fw = lstmForward(p, spectral_norm, forget_bias, T);
    const m = { MT: new Float64Array(B * H * 2 * H), o: new Float64Array(BH), dtc: new Float64Array(BH),
                f: new Float64Array(BH) };
    const V = new Float64Array((T + 1) * 2 * H), out = new Float64Array((T + 1) * H);
    // per loss: row t-1 holds dℓ_t/dh_{s+1}, dℓ_t/dc_{s+1}; the last row (T) the total for L = Σ ℓ_t
    const d_h = new Float64Array((T + 1) * BH), d_c = new Float64Array((T + 1) * BH);
    const G = new Float64Array(T * T), total = new Float64Array(T);
    for (let s = T - 1; s >= 0; s--) {
      const hi = Math.min(T, (Math.floor(s / k) + 1) * k); // losses of s's chunk that have started: rows s..hi-1
      for (let b = 0; b < B; b++) {
        for (let q = 0; q < H; q++) {
          const g = p.dh[(b * T_max + s) * H + q];
          d_h[s * BH + b * H + q] += g; // the loss at step s+1 starts here
          d_h[T * BH + b * H + q] += g;
        }
      }
      for (let r = s; r < hi; r++) G[r * T + s] = Math.hypot(Math.sqrt(rowSq(d_h, r, BH)), Math.sqrt(rowSq(d_c, r, BH)));
      total[s] = Math.hypot(Math.sqrt(rowSq(d_h, T, BH)), Math.sqrt(rowSq(d_c, T, BH)));
      if (s % k === 0) {
        // a chunk starts at step s+1: nothing crosses into step s (rows s..hi-1 are done, the total restarts)
        d_h.fill(0, T * BH);
        d_c.fill(0, T * BH);
        continue;
      }
      lstmStepMatrices(fw, s, B, H, m);
      lstmBackRows(m, d_h, d_c, s, hi, T, B, H, V, out);
    }
    return { G, delta_norms: total, gate_mean: fw.fMean };
  }

  // ------------------------------------------------------------------------------------------------- GRU

  // seqlib.cells.gru.gru_forward (reset="after", b_x = b_h = 0) from h0 = 0 over the first T steps,
  // W_h = spectral_norm * W_h_gru_unit.  Returns time-major {gates (T, B, 3H) = [r, z, n],
  // hn (T, B, H) = h_{t-1} W_hn, hs (T+1, B, H) with hs[0] = h0, W_h (H, 3H), zMean}.
  function gruForward(p, spectral_norm, T) {
    const { B, H } = p, H3 = 3 * H;
    const W_h = new Float64Array(H * H3), ones = new Float64Array(H3).fill(1.0), zero = new Float64Array(H3);
    for (let i = 0; i < H * H3; i++) W_h[i] = spectral_norm * p.W_h_gru_unit[i];
    const gates = new Float64Array(T * B * H3), hn = new Float64Array(T * B * H), hs = new Float64Array((T + 1) * B * H);
    const pre = new Float64Array(B * H3), rec = new Float64Array(B * H3), hprev = new Float64Array(B * H);
    let zSum = 0;
    for (let t = 0; t < T; t++) {
      inputProjection(p, p.W_x_gru, zero, ones, H3, t, pre); // x_t W_x + b_x
      for (let i = 0; i < B * H; i++) hprev[i] = hs[t * B * H + i];
      recurrent(hprev, W_h, B, H, H3, rec); // h_{t-1} W_h + b_h
      for (let b = 0; b < B; b++) {
        const ao = (t * B + b) * H3, ro = b * H3, ho = (t * B + b) * H, hp = t * B * H + b * H;
        for (let j = 0; j < 2 * H; j++) gates[ao + j] = Math.tanh((pre[ro + j] + rec[ro + j]) * 0.5) * 0.5 + 0.5; // (eq. gru_gates)
        for (let q = 0; q < H; q++) {
          const r = gates[ao + q], z = gates[ao + H + q];
          const hnv = rec[ro + 2 * H + q];
          hn[ho + q] = hnv;
          const n = Math.tanh(pre[ro + 2 * H + q] + r * hnv); // (eq. gru_after)
          gates[ao + 2 * H + q] = n;
          hs[hp + B * H + q] = n + z * (hs[hp + q] - n); // (eq. gru_state)
          zSum += z;
        }
      }
    }
    return { gates, hn, hs, W_h, zMean: zSum / (T * B * H) };
  }

  // The step back through step s (0-based) of every sequence (seqlib.cells.gru._gru_step_back, reset="after"):
  // for sequence b, MT (H, H) with ∂/∂h_{s-1}[q] = Σ_p δ[p] MT[q, p] + δ[q] z[q].  Returns {MT (B, H, H), z (B, H)}.
  function gruStepMatrices(fw, s, B, H, out) {
    const H3 = 3 * H, W = fw.W_h, { MT, z: zz } = out;
    for (let b = 0; b < B; b++) {
      const go = (s * B + b) * H3, so = (s * B + b) * H, mo = b * H * H;
      for (let pp = 0; pp < H; pp++) {
        const r = fw.gates[go + pp], z = fw.gates[go + H + pp], n = fw.gates[go + 2 * H + pp];
        const hprev = fw.hs[so + pp], hnv = fw.hn[so + pp];
        const cn = (1.0 - z) * (1.0 - n * n); // dL/d(pre-activation of n) per unit of δ  (eq. gru_grad_a)
        const cr = cn * hnv * r * (1.0 - r), cz = (hprev - n) * z * (1.0 - z), cnr = cn * r;
        for (let q = 0; q < H; q++) {
          const wq = q * H3;
          MT[mo + q * H + pp] = cr * W[wq + pp] + cz * W[wq + H + pp] + cnr * W[wq + 2 * H + pp];
        }
        zz[b * H + pp] = z;
      }
    }
  }

  // Rows lo..hi-1 and row `extra` of d_h (rows, B, H) one step back through step s, in place (eq. gru_delta).
  // V and out (n, H) are scratch of at least hi - lo + 1 rows.
  function gruBackRows(m, d_h, lo, hi, extra, B, H, V, out) {
    const BH = B * H, n = hi - lo + 1;
    for (let b = 0; b < B; b++) {
      const sb = b * H;
      for (let i = 0; i < n; i++) {
        const ro = (i < n - 1 ? lo + i : extra) * BH + sb;
        for (let q = 0; q < H; q++) V[i * H + q] = d_h[ro + q];
      }
      matmulT(V, m.MT, b * H * H, out, n, H, H); // da_h W_h^T
      for (let i = 0; i < n; i++) {
        const ro = (i < n - 1 ? lo + i : extra) * BH + sb, oo = i * H;
        for (let q = 0; q < H; q++) d_h[ro + q] = out[oo + q] + V[oo + q] * m.z[sb + q]; // + δ_t ⊙ z_t
      }
    }
  }

  // {G (T*T), delta_norms (T), gate_mean} of the GRU (seqlib.widgets.gated_base.gated_flow_numbers, arch "gru").
  function gruFlow(base, spectral_norm, T, truncate) {
    const p = prepare(base);
    const k = checkSetting(p, spectral_norm, T, truncate);
    const { B, H, T_max } = p, BH = B * H;
    const fw = gruForward(p, spectral_norm, T);
    const m = { MT: new Float64Array(B * H * H), z: new Float64Array(BH) };
    const V = new Float64Array((T + 1) * H), out = new Float64Array((T + 1) * H);
    const d_h = new Float64Array((T + 1) * BH);
    const G = new Float64Array(T * T), total = new Float64Array(T);
    for (let s = T - 1; s >= 0; s--) {
      const hi = Math.min(T, (Math.floor(s / k) + 1) * k);
      for (let b = 0; b < B; b++) {
        for (let q = 0; q < H; q++) {
          const g = p.dh[(b * T_max + s) * H + q];
          d_h[s * BH + b * H + q] += g;
          d_h[T * BH + b * H + q] += g;
        }
      }
      for (let r = s; r < hi; r++) G[r * T + s] = Math.sqrt(rowSq(d_h, r, BH));
      total[s] = Math.sqrt(rowSq(d_h, T, BH));
      if (s % k === 0) {
        d_h.fill(0, T * BH);
        continue;
      }
      gruStepMatrices(fw, s, B, H, m);
      gruBackRows(m, d_h, s, hi, T, B, H, V, out);
    }
    return { G, delta_norms: total, gate_mean: fw.zMean };
  }

  return { lstmFlow, gruFlow, lstmForward, gruForward, prepare };
})();
