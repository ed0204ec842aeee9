// mirror/unrolled.js: the tiny RNN of the unrolled-graph stepper (seqlib/widgets/unrolled.py), forward
// and backward, for the static page.  Needs mirror/rnn.js (RNN.forward, RNN.backpropWindows).
//
// Mirrors (seqlib is the reference; tests/test_widget_unrolled.py compares the two on random settings
// to 1e-9 relative, float64):
//   seqlib.cells.readout.linear_forward    o_t = h_t W_hy + b_y                               (eq. rnn_readout)
//   seqlib.loss.seq_loss.token_cross_entropy  ℓ_t = log Σ_v exp(o_tv − m) − (o_{t,y_t} − m), m = max_v o_tv
//   seqlib.loss.softmax_ce.cross_entropy_backward  dℓ_t/do_t = softmax(o_t) − onehot(y_t)
//   seqlib.cells.readout.linear_backward ["h"]   ∂ℓ_t/∂h_t = (dℓ_t/do_t) W_hy^T
//   seqlib.cells.rnn._backprop_windows     δ_t = ∂ℓ_t/∂h_t + (δ_{t+1} ⊙ f'(a_{t+1})) W_hh^T   (eq. bptt_delta), via RNN
//   seqlib.cells.rnn.rnn_backward ["W_hh"]       dW_hh = Σ_t h_{t−1}^T (δ_t ⊙ f'(a_t)), as a running sum from t = T down
//                                          (eq. bptt_grad_Whh; seqlib.widgets.unrolled.unrolled_pass)
//
// One sequence (B = 1).  Arrays are flat Float64Arrays in row-major order; each function's comment gives
// the shapes.  Rows are row vectors, as in the book.

const UNROLLED = (() => {
  "use strict";

  // Nested JSON lists -> flat Float64Array (row-major).
  function flat(nested) {
    const out = [];
    const walk = (v) => { if (Array.isArray(v)) v.forEach(walk); else out.push(v); };
    walk(nested);
    return Float64Array.from(out);
  }

  // o (T, V) = h (T, H) W_hy (H, V) + b_y (V)
  function readout(h, W_hy, b_y, T, H, V) {
    const o = RNN.matmul(h, W_hy, T, H, V);
    for (let t = 0; t < T; t++) for (let v = 0; v < V; v++) o[t * V + v] += b_y[v];
    return o;
  }

  // ℓ (T): -log softmax(o_t)[y_t], as seqlib.loss.softmax_ce._nll computes it.
  function nll(o, y, T, V) {
    const out = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, o[t * V + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(o[t * V + v] - m);
      out[t] = Math.log(sum) - (o[t * V + y[t]] - m);
    }
    return out;
  }

  // dℓ_t/do_t (T, V) = softmax(o_t) − onehot(y_t), as seqlib.loss.softmax_ce.cross_entropy_backward.
  function ceBackward(o, y, T, V) {
    const g = new Float64Array(T * V);
    for (let t = 0; t < T; t++) {
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, o[t * V + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) { g[t * V + v] = Math.exp(o[t * V + v] - m); sum += g[t * V + v]; }
      for (let v = 0; v < V; v++) g[t * V + v] /= sum;
      g[t * V + y[t]] -= 1.0;
    }
    return g;
  }

  // ∂ℓ_t/∂h_t (T, H) = dout (T, V) W_hy^T: dh[t, i] = Σ_v dout[t, v] W_hy[i, v]
  function readoutBackwardH(dout, W_hy, T, H, V) {
    const dh = new Float64Array(T * H);
    for (let t = 0; t < T; t++) for (let i = 0; i < H; i++) {
      let acc = 0;
      for (let v = 0; v < V; v++) acc += dout[t * V + v] * W_hy[i * V + v];
      dh[t * H + i] = acc;
    }
    return dh;
  }

  // The whole pass for W_hh = spectralNorm · W_hh_unit.
  //   base: {x (T, D), y (T), W_xh (D, H), W_hh_unit (H, H), b_h (H), W_hy (H, V), b_y (V)} as JSON lists
  // Returns flat arrays: h (T+1, H) = h_0..h_T, a, xin = x_t W_xh + b_h, rec = h_{t-1} W_hh, fprime,
  // losses (T), dh = ∂ℓ_t/∂h_t, carried = δ_{t+1} diag(f'(a_{t+1})) W_hh^T (0 at t = T), deltas (T, H),
  // dW_hh (T, H, H): [t-1] = Σ_{s >= t} h_{s-1}^T (δ_s ⊙ f'(a_s)), and the norms h_norms (T+1),
  // delta_norms (T), dW_norms (T) (Frobenius).
  function pass(base, activation, spectralNorm) {
    const T = base.y.length, D = base.x[0].length, H = base.W_hh_unit.length, V = base.b_y.length;
    const x = flat(base.x), W_xh = flat(base.W_xh), b_h = flat(base.b_h), W_hy = flat(base.W_hy), b_y = flat(base.b_y);
    const y = Int32Array.from(base.y);
    const W_hh = flat(base.W_hh_unit).map((w) => w * spectralNorm);
    const fw = RNN.forward(x, W_xh, W_hh, b_h, activation, 1, T, D, H);
    const h = new Float64Array((T + 1) * H);
    h.set(fw.h, H);
    const xin = RNN.matmul(x, W_xh, T, D, H);
    for (let t = 0; t < T; t++) for (let j = 0; j < H; j++) xin[t * H + j] += b_h[j];
    const rec = RNN.matmul(h.subarray(0, T * H), W_hh, T, H, H);
    const o = readout(fw.h, W_hy, b_y, T, H, V);
    const losses = nll(o, y, T, V);
    const dh = readoutBackwardH(ceBackward(o, y, T, V), W_hy, T, H, V);
    const deltas = RNN.backpropWindows(dh, fw.fprime, W_hh, [[0, 0, T]], 1, T, H, new Float64Array(T * H));
    const g = deltas.map((d, i) => d * fw.fprime[i]);  // δ_t ⊙ f'(a_t)
    const carried = new Float64Array(T * H);
    for (let t = 0; t + 1 < T; t++) {
      // carried[t, i] = Σ_j g[t+1, j] W_hh[i, j]   (eq. bptt_jacobian)
      for (let i = 0; i < H; i++) {
        let acc = 0;
        for (let j = 0; j < H; j++) acc += g[(t + 1) * H + j] * W_hh[i * H + j];
        carried[t * H + i] = acc;
      }
    }
    // dW[k] for 0-based k = t - 1: the running sum over steps s = t..T of h_{s-1}^T g_s (row k of h is h_{t-1})
    const dW = new Float64Array(T * H * H);
    for (let k = T - 1; k >= 0; k--) {
      for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) {
        const term = h[k * H + i] * g[k * H + j];
        const at = (k * H + i) * H + j;
        dW[at] = k === T - 1 ? term : dW[at + H * H] + term;
      }
    }
    const norms = (v, n, m) => {
      const out = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        let acc = 0;
        for (let c = 0; c < m; c++) acc += v[r * m + c] * v[r * m + c];
        out[r] = Math.sqrt(acc);
      }
      return out;
    };
    return {
      T, H, h, a: fw.a, xin, rec, fprime: fw.fprime, losses, dh, carried, deltas, dW_hh: dW,
      h_norms: norms(h, T + 1, H), delta_norms: norms(deltas, T, H), dW_norms: norms(dW, T, H * H),
    };
  }

  return { flat, readout, nll, ceBackward, readoutBackwardH, pass };
})();
