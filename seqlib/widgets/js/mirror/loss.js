// mirror/loss.js: the weighted sequence loss and its gradient, in JavaScript, for the static page.
//
// Mirrors (seqlib is the reference; the tests compare the two on random settings to 1e-9 relative, float64):
//   seqlib.loss.softmax_ce._nll / token_cross_entropy   ℓ = log Σ_v exp(z_v − m) − (z_y − m), m = max_v z_v  (eq. log_softmax)
//   seqlib.loss.softmax_ce.log_softmax             (z − m) − log Σ exp(z − m)
//   seqlib.loss.softmax_ce.cross_entropy_backward  softmax(z) − onehot(y)                      (eq. ce_grad_logits)
//   seqlib.loss.seq_loss._reduction                which axes the four tfa flags reduce and the denominator D
//   seqlib.loss.seq_loss.sequence_loss             Σ_reduced w ℓ / D, divide-no-nan            (eq. seq_loss_weighted)
//   seqlib.loss.seq_loss.sequence_loss_backward    (u / D)_bl w_bl (softmax − onehot)          (eq. seq_loss_grad)
//   seqlib.loss.seq_loss.loss_denominator          Z of the conventions "tfa", "nonzero", "batch", "torch"
//   seqlib.loss.masking.sequence_mask              m_bl = [l < L_b]
//   seqlib.widgets.masks.make_weights              the widget's weighting schemes "mask", "ramp", "last3"
//
// Arrays are flat Float64Arrays in row-major order: logits (B, T, V), targets and weights (B, T).
// Flags are {avgT, avgB, sumT, sumB} (average_across_timesteps, average_across_batch, sum_over_*).

const LOSS = (() => {
  "use strict";

  // ℓ_bl = −log softmax(z_bl)[y_bl]  (B, T), as seqlib.loss.softmax_ce._nll: one shift by the row's maximum.
  function tokenCrossEntropy(z, y, B, T, V) {
    const out = new Float64Array(B * T);
    for (let i = 0; i < B * T; i++) {
      const o = i * V;
      let m = z[o];
      for (let v = 1; v < V; v++) if (z[o + v] > m) m = z[o + v];
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(z[o + v] - m);
      out[i] = Math.log(s) - (z[o + y[i]] - m);
    }
    return out;
  }

  // log softmax of each row (N, V): (z − m) − log Σ exp(z − m)
  function logSoftmax(z, N, V) {
    const out = new Float64Array(N * V);
    for (let i = 0; i < N; i++) {
      const o = i * V;
      let m = z[o];
      for (let v = 1; v < V; v++) if (z[o + v] > m) m = z[o + v];
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(z[o + v] - m);
      const ls = Math.log(s);
      for (let v = 0; v < V; v++) out[o + v] = (z[o + v] - m) - ls;
    }
    return out;
  }

  // softmax(z) − onehot(y), rows (N, V)  (seqlib.loss.softmax_ce.cross_entropy_backward without upstream)
  function softmaxMinusOnehot(z, y, N, V) {
    const g = new Float64Array(N * V);
    for (let i = 0; i < N; i++) {
      const o = i * V;
      let m = z[o];
      for (let v = 1; v < V; v++) if (z[o + v] > m) m = z[o + v];
      let s = 0;
      for (let v = 0; v < V; v++) { g[o + v] = Math.exp(z[o + v] - m); s += g[o + v]; }
      for (let v = 0; v < V; v++) g[o + v] /= s;
      g[o + y[i]] -= 1.0;
    }
    return g;
  }

  // m_bl = 1 if l < L_b else 0  (B, T)
  function sequenceMask(lengths, T) {
    const B = lengths.length, m = new Float64Array(B * T);
    for (let b = 0; b < B; b++) for (let l = 0; l < T; l++) m[b * T + l] = l < lengths[b] ? 1.0 : 0.0;
    return m;
  }

  // The widget's weights (B, T) (seqlib.widgets.masks.make_weights); lastWeight: masks.LAST_WEIGHT.
  function makeWeights(lengths, scheme, T, lastWeight = 3.0) {
    const B = lengths.length, w = sequenceMask(lengths, T);
    if (scheme === "mask") return w;
    if (scheme === "ramp") {
      for (let b = 0; b < B; b++) {
        const L = Math.max(lengths[b], 1);
        for (let l = 0; l < T; l++) w[b * T + l] = (w[b * T + l] * (l + 1)) / L;
      }
      return w;
    }
    if (scheme === "last3") {
      for (let b = 0; b < B; b++) if (lengths[b] > 0) w[b * T + lengths[b] - 1] = lastWeight;
      return w;
    }
    throw new Error(`scheme must be one of mask, ramp, last3, got ${scheme}`);
  }

  function checkFlags(f) {
    if (f.avgT && f.sumT) throw new Error("average_across_timesteps and sum_over_timesteps cannot be set to True at same time.");
    if (f.avgB && f.sumB) throw new Error("average_across_batch and sum_over_batch cannot be set to True at same time.");
    if (f.avgB && f.sumT) throw new Error("average_across_batch and sum_over_timesteps cannot be set to True at same time because of ambiguous order.");
    if (f.sumB && f.avgT) throw new Error("sum_over_batch and average_across_timesteps cannot be set to True at same time because of ambiguous order.");
  }

  // seqlib.loss.seq_loss._reduction: {axes: "bt" | "b" | "t" | "", shape, denom (Float64Array of the output's shape) | null}.
  // axes names the reduced axes: "bt" -> scalar, "t" -> (B,), "b" -> (T,), "" -> (B, T) unreduced.
  function reduction(w, B, T, f) {
    const flags = Object.assign({ avgT: true, avgB: true, sumT: false, sumB: false }, f || {});
    checkFlags(flags);
    const val = (x) => x, nz = (x) => (x !== 0 ? 1 : 0);
    const sumAll = (g) => {
      let s = 0;
      for (let i = 0; i < B * T; i++) s += g(w[i]);
      return s;
    };
    const perB = (g) => {  // over l, for each b: (B,)
      const o = new Float64Array(B);
      for (let b = 0; b < B; b++) for (let l = 0; l < T; l++) o[b] += g(w[b * T + l]);
      return o;
    };
    const perT = (g) => {  // over b, for each l: (T,)
      const o = new Float64Array(T);
      for (let l = 0; l < T; l++) for (let b = 0; b < B; b++) o[l] += g(w[b * T + l]);
      return o;
    };
    if (flags.avgT && flags.avgB) return { axes: "bt", denom: Float64Array.of(sumAll(val)) };
    if (flags.sumT && flags.sumB) return { axes: "bt", denom: Float64Array.of(sumAll(nz)) };
    if (flags.avgT) return { axes: "t", denom: perB(val) };
    if (flags.avgB) return { axes: "b", denom: perT(val) };
    if (flags.sumT) return { axes: "t", denom: perB(nz) };
    if (flags.sumB) return { axes: "b", denom: perT(nz) };
    return { axes: "", denom: null };
  }

  const divNoNan = (x, y) => (y !== 0 ? x / y : 0.0);

  // seqlib.loss.seq_loss.sequence_loss with precomputed token losses ℓ (B, T): the output as a Float64Array of
  // shape () (length 1), (B,), (T,) or (B, T) depending on the flags.
  function sequenceLoss(tok, w, B, T, flags) {
    const r = reduction(w, B, T, flags);
    const ce = new Float64Array(B * T);
    for (let i = 0; i < B * T; i++) ce[i] = tok[i] * w[i];
    if (r.axes === "") return ce;
    if (r.axes === "bt") { let s = 0; for (let i = 0; i < B * T; i++) s += ce[i]; return Float64Array.of(divNoNan(s, r.denom[0])); }
    if (r.axes === "t") {
      const o = new Float64Array(B);
      for (let b = 0; b < B; b++) { let s = 0; for (let l = 0; l < T; l++) s += ce[b * T + l]; o[b] = divNoNan(s, r.denom[b]); }
      return o;
    }
    const o = new Float64Array(T);
    for (let l = 0; l < T; l++) { let s = 0; for (let b = 0; b < B; b++) s += ce[b * T + l]; o[l] = divNoNan(s, r.denom[l]); }
    return o;
  }

  // Each token's factor (u / D)_bl w_bl  (B, T)  (seqlib.loss.seq_loss._token_coef); upstream u of the output's shape or null (ones).
  function tokenCoef(w, B, T, flags, upstream) {
    const r = reduction(w, B, T, flags);
    const coef = new Float64Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < T; l++) {
        const i = b * T + l;
        let k; // index into the output
        if (r.axes === "bt") k = 0; else if (r.axes === "t") k = b; else if (r.axes === "b") k = l; else k = i;
        const u = upstream ? upstream[k] : 1.0;
        const scale = r.denom ? divNoNan(u, r.denom[k]) : u;
        coef[i] = scale * w[i];
      }
    }
    return coef;
  }

  // seqlib.loss.seq_loss.sequence_loss_backward: dL/dz (B, T, V) = coef_bl (softmax(z_bl) − onehot(y_bl)).
  function sequenceLossBackward(z, y, w, B, T, V, flags, upstream) {
    const coef = tokenCoef(w, B, T, flags, upstream);
    const g = softmaxMinusOnehot(z, y, B * T, V);
    for (let i = 0; i < B * T; i++) for (let v = 0; v < V; v++) g[i * V + v] *= coef[i];
    return g;
  }

  // seqlib.loss.seq_loss.loss_denominator for a (B, T) weight array.
  function lossDenominator(w, B, T, convention) {
    if (convention === "tfa") { let s = 0; for (let i = 0; i < B * T; i++) s += w[i]; return s; }
    if (convention === "batch") return B;
    if (convention === "nonzero" || convention === "torch") { let c = 0; for (let i = 0; i < B * T; i++) if (w[i] !== 0) c++; return c; }
    throw new Error(`convention must be one of tfa, nonzero, batch, torch, got ${convention}`);
  }

  // Euclidean norm of each row (N, V)  (np.linalg.norm(..., axis=-1))
  function rowNorms(a, N, V) {
    const out = new Float64Array(N);
    for (let i = 0; i < N; i++) { let s = 0; for (let v = 0; v < V; v++) s += a[i * V + v] * a[i * V + v]; out[i] = Math.sqrt(s); }
    return out;
  }

  return { tokenCrossEntropy, logSoftmax, softmaxMinusOnehot, sequenceMask, makeWeights, reduction, sequenceLoss,
    tokenCoef, sequenceLossBackward, lossDenominator, rowNorms };
})();
