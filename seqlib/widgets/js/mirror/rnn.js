// mirror/rnn.js: the vanilla RNN and its gradient flow, in JavaScript, for the static page.
//
// Mirrors (seqlib is the reference; tests/browser/test_widget_engine.py compares the two
// on random settings to 1e-9 relative, float64):
//   seqlib.cells.activations.ACTIVATIONS  f and f' (f' read off h for tanh and sigmoid, off a for relu)
//   seqlib.cells.rnn.rnn_forward         a_t = x_t W_xh + b_h + h_{t-1} W_hh, h_t = f(a_t)   (eqs. rnn_preact, rnn_state)
//   seqlib.cells.rnn._backprop_windows   the δ recursion over chunked windows          (eqs. bptt_delta, bptt_jacobian)
//   seqlib.training.gradflow.loss_to_state_norms  G[t, k] = ||dℓ_t/dh_k||                        (eq. grad_flow_G)
//   seqlib.training.gradflow.state_gradient_norms ||δ_k|| = ||dL/dh_k||
//
// Arrays are flat Float64Arrays in row-major order; the comment of each function gives the shape.
// Batch rows are row vectors, as in the book: x_t W_xh, and δ W_hh^T for the step back.

const RNN = (() => {
  "use strict";

  // h = f(a) and f'(a), elementwise (seqlib.cells.activations).
  const ACT = {
    tanh: { f: Math.tanh, df: (a, h) => 1.0 - h * h },
    relu: { f: (a) => (a > 0 ? a : 0), df: (a, h) => (a > 0 ? 1.0 : 0.0) },
    sigmoid: {
      // the stable form of seqlib.cells.activations.sigmoid
      f: (a) => { const e = Math.exp(-Math.abs(a)); return (a >= 0 ? 1.0 : e) / (1.0 + e); },
      df: (a, h) => h * (1.0 - h),
    },
    linear: { f: (a) => a, df: () => 1.0 },
  };

  // out (n, m) = A (n, k) @ M (k, m)
  function matmul(A, M, n, k, m, out) {
    out = out || new Float64Array(n * m);
    out.fill(0);
    for (let i = 0; i < n; i++) {
      const oi = i * m;
      for (let p = 0; p < k; p++) {
        const a = A[i * k + p];
        if (a === 0) continue;
        const mp = p * m;
        for (let j = 0; j < m; j++) out[oi + j] += a * M[mp + j];
      }
    }
    return out;
  }

  // The forward pass from h_0 = 0.
  //   x (B, T, D), W_xh (D, H), W_hh (H, H), b_h (H)
  // Returns {a (B, T, H), h (B, T, H) = h_1..h_T, fprime (B, T, H)}.
  function forward(x, W_xh, W_hh, b_h, activation, B, T, D, H) {
    const act = ACT[activation];
    if (!act) throw new Error(`activation must be one of ${Object.keys(ACT)}, got ${activation}`);
    const a = new Float64Array(B * T * H), h = new Float64Array(B * T * H), fp = new Float64Array(B * T * H);
    const xt = new Float64Array(B * D), hprev = new Float64Array(B * H), rec = new Float64Array(B * H);
    const proj = new Float64Array(B * H);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) xt[b * D + d] = x[(b * T + t) * D + d];
      matmul(xt, W_xh, B, D, H, proj);
      matmul(hprev, W_hh, B, H, H, rec);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) {
          const i = (b * T + t) * H + j;
          const av = (proj[b * H + j] + b_h[j]) + rec[b * H + j];
          const hv = act.f(av);
          a[i] = av; h[i] = hv; fp[i] = act.df(av, hv);
          hprev[b * H + j] = hv;
        }
      }
    }
    return { a, h, fprime: fp };
  }

  // Windows of chunked truncation (seqlib.cells.rnn._chunk_windows): [start, seedStart, end), 0-based.
  function chunkWindows(T, truncate) {
    const k = truncate === null || truncate === undefined ? T : truncate;
    const out = [];
    for (let c = 0; c < T; c += k) out.push([c, c, Math.min(c + k, T)]);
    return out;
  }

  // The δ recursion over windows, adding each δ_t into `deltas` (B, T, H)
  // (seqlib.cells.rnn._backprop_windows): δ_{t-1} = (δ_t ⊙ f'(a_t)) W_hh^T + ∂ℓ_{t-1}/∂h_{t-1}.
  //   dh (B, T, H) direct gradients, fprime (B, T, H), W_hh (H, H).
  function backpropWindows(dh, fprime, W_hh, windows, B, T, H, deltas) {
    const delta = new Float64Array(B * H), g = new Float64Array(B * H);
    for (const [start, seedStart, end] of windows) {
      for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) delta[b * H + j] = dh[(b * T + end - 1) * H + j];
      for (let t = end - 1; t >= start; t--) {
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < H; j++) {
            const i = (b * T + t) * H + j;
            deltas[i] += delta[b * H + j];
            g[b * H + j] = delta[b * H + j] * fprime[i];
          }
        }
        if (t > start) {
          // delta = g @ W_hh^T: delta[b, i] = Σ_j g[b, j] W_hh[i, j]   (eq. bptt_jacobian)
          stepBack(g, W_hh, B, H, delta);
          if (t - 1 >= seedStart) {
            for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) delta[b * H + j] += dh[(b * T + t - 1) * H + j];
          }
        }
      }
    }
    return deltas;
  }

  // out (B, H) = g (B, H) @ W^T, i.e. out[b, i] = Σ_j g[b, j] W[i, j], summed in j order.
  // Four rows of g at a time share each row of W (the same sums, fewer loads).
  function stepBack(g, W, B, H, out) {
    let b = 0;
    for (; b + 3 < B; b += 4) {
      const g0 = b * H, g1 = g0 + H, g2 = g1 + H, g3 = g2 + H;
      for (let i = 0; i < H; i++) {
        const wi = i * H;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let j = 0; j < H; j++) {
          const w = W[wi + j];
          a0 += g[g0 + j] * w; a1 += g[g1 + j] * w; a2 += g[g2 + j] * w; a3 += g[g3 + j] * w;
        }
        out[g0 + i] = a0; out[g1 + i] = a1; out[g2 + i] = a2; out[g3 + i] = a3;
      }
    }
    for (; b < B; b++) {
      const gb = b * H;
      for (let i = 0; i < H; i++) {
        const wi = i * H;
        let acc = 0;
        for (let j = 0; j < H; j++) acc += g[gb + j] * W[wi + j];
        out[gb + i] = acc;
      }
    }
    return out;
  }

  // Squared Frobenius norm over batch and hidden of each step of a (B, T, H) array -> (T)
  function stepNorms(v, B, T, H) {
    const out = new Float64Array(T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      let acc = 0;
      const o = (b * T + t) * H;
      for (let j = 0; j < H; j++) acc += v[o + j] * v[o + j];
      out[t] += acc;
    }
    return out.map(Math.sqrt);
  }

  // G[t-1, k-1] = ||dℓ_t/dh_k|| (T, T): for each loss t, the recursion seeded with its
  // direct gradient only, down to the start of t's chunk (seqlib.training.gradflow.loss_to_state_norms).
  function lossToStateNorms(dh, fprime, W_hh, truncate, B, T, H) {
    const k = truncate === null || truncate === undefined ? T : truncate;
    const G = new Float64Array(T * T);
    const delta = new Float64Array(B * H), g = new Float64Array(B * H);
    for (let t = 1; t <= T; t++) {
      const start = Math.floor((t - 1) / k) * k;
      // the window [start, t-1, t] of backpropWindows, seeded with dℓ_t/dh_t only:
      // δ_s = (δ_{s+1} ⊙ f'(a_{s+1})) W_hh^T down to s = start, each δ_s's norm kept
      for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) delta[b * H + j] = dh[(b * T + t - 1) * H + j];
      for (let s = t - 1; s >= start; s--) {
        let acc = 0;
        for (let b = 0; b < B; b++) {
          let sq = 0;
          const o = (b * T + s) * H;
          for (let j = 0; j < H; j++) {
            const d = delta[b * H + j];
            sq += d * d;
            g[b * H + j] = d * fprime[o + j];
          }
          acc += sq;
        }
        G[(t - 1) * T + s] = Math.sqrt(acc);
        if (s > start) stepBack(g, W_hh, B, H, delta);
      }
    }
    return G;
  }

  // ||δ_k|| (T) for L = Σ_t ℓ_t (seqlib.training.gradflow.state_gradient_norms).
  function stateGradientNorms(dh, fprime, W_hh, truncate, B, T, H) {
    const deltas = new Float64Array(B * T * H);
    backpropWindows(dh, fprime, W_hh, chunkWindows(T, truncate), B, T, H, deltas);
    return stepNorms(deltas, B, T, H);
  }

  return { ACT, matmul, forward, chunkWindows, backpropWindows, stepBack, stepNorms, lossToStateNorms, stateGradientNorms };
})();
