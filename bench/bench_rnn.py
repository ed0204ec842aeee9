"""How fast is seqlib?  Forward + backward timings next to the machine's matmul bound.

Run with ``make bench`` (or ``python bench/bench_rnn.py --quick``).  Prints

1. the machine's measured matmul throughput (GFLOP/s) in float32 and float64;
2. for each size, the fwd+bwd time of the RNN alone (``rnn_forward`` +
   ``rnn_backward``) and of the whole model (RNN + linear readout +
   ``sequence_loss`` and their backward passes), for seqlib and for a plain
   per-step numpy implementation, with the FLOP count, the achieved GFLOP/s
   and the fraction of the matmul bound.

Timings are the median of several repeats after a warm-up.  This is a
benchmark: it prints figures and asserts nothing about time.  It does check
that the plain implementation and seqlib agree, so the comparison is fair.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Callable

import numpy as np

import seqlib

SIZES_RNN = [(1, 25, 65, 100), (32, 50, 64, 128), (32, 100, 128, 256)]
SIZES_MODEL = [(1, 25, 65, 100, 65), (32, 50, 64, 128, 64), (32, 100, 128, 256, 128), (64, 200, 256, 512, 256)]


def median_time(fn: Callable[[], object], repeats: int, min_time: float = 0.2) -> float:
    fn()  # warm-up
    times = []
    t_end = time.perf_counter() + min_time
    while len(times) < repeats or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 50:
            break
    return float(np.median(times))


def matmul_gflops(dtype: type, n: int = 2048, repeats: int = 5) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    t = median_time(lambda: np.matmul(a, b, out=out), repeats)
    return 2 * n**3 / t / 1e9


# ---------------------------------------------------------------------------
# A plain per-step implementation: what one writes first, straight from the
# equations, one time step at a time in both directions.
# ---------------------------------------------------------------------------
def plain_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh):
    B, T, D = x.shape
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(x[:, t] @ W_xh + hs[-1] @ W_hh + b_h))
    grads = {k: np.zeros_like(v) for k, v in (("W_xh", W_xh), ("W_hh", W_hh), ("b_h", b_h))}
    dx = np.zeros_like(x)
    dnext = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dh[:, t] + dnext) * (1 - hs[t + 1] ** 2)
        grads["W_xh"] += x[:, t].T @ da
        grads["W_hh"] += hs[t].T @ da
        grads["b_h"] += da.sum(0)
        dx[:, t] = da @ W_xh.T
        dnext = da @ W_hh.T
    grads["x"], grads["h0"] = dx, dnext
    return np.stack(hs[1:], 1), grads


def plain_model_fwd_bwd(x, targets, weights, p):
    B, T, D = x.shape
    h0 = np.zeros((B, p["W_hh"].shape[0]), x.dtype)
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(x[:, t] @ p["W_xh"] + hs[-1] @ p["W_hh"] + p["b_h"]))
    total_w = weights.sum()
    dhs, loss = [], 0.0
    g = {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(T):
        z = hs[t + 1] @ p["W_hy"] + p["b_y"]
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        loss -= (weights[:, t] * logp[np.arange(B), targets[:, t]]).sum() / total_w
        dz = np.exp(logp)
        dz[np.arange(B), targets[:, t]] -= 1
        dz *= (weights[:, t] / total_w)[:, None]
        g["W_hy"] += hs[t + 1].T @ dz
        g["b_y"] += dz.sum(0)
        dhs.append(dz @ p["W_hy"].T)
    dnext = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dhs[t] + dnext) * (1 - hs[t + 1] ** 2)
        g["W_xh"] += x[:, t].T @ da
        g["W_hh"] += hs[t].T @ da
        g["b_h"] += da.sum(0)
        dnext = da @ p["W_hh"].T
    return loss, g


def seqlib_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh):
    h, cache = seqlib.rnn_forward(x, h0, W_xh, W_hh, b_h)
    return h, seqlib.rnn_backward(dh, cache)


def seqlib_model_fwd_bwd(x, targets, weights, p):
    h, rcache = seqlib.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"])
    logits, lcache = seqlib.linear_forward(h, p["W_hy"], p["b_y"])
    loss = seqlib.sequence_loss(logits, targets, weights)
    dlogits = seqlib.sequence_loss_backward(logits, targets, weights)
    gl = seqlib.linear_backward(dlogits, lcache)
    gr = seqlib.rnn_backward(gl["h"], rcache)
    return loss, {"W_xh": gr["W_xh"], "W_hh": gr["W_hh"], "b_h": gr["b_h"], "W_hy": gl["W"], "b_y": gl["b"]}


def rnn_flops(B: int, T: int, D: int, H: int) -> float:
    """Matmul FLOPs of fwd+bwd: forward x W_xh and h W_hh; backward the delta
    recursion, dW_hh, dW_xh and dx (2 FLOPs per multiply-add)."""
    return 2 * B * T * (3 * D * H + 3 * H * H)


def model_flops(B: int, T: int, D: int, H: int, V: int) -> float:
    # dx is not needed for the model (x is data): the RNN part has no dx matmul.
    return 2 * B * T * (2 * D * H + 3 * H * H + 3 * H * V)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and skip the largest size")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    repeats = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, python {platform.python_version()}")
    peak = {np.float32: matmul_gflops(np.float32), np.float64: matmul_gflops(np.float64)}
    print(f"matmul throughput (2048x2048): float32 {peak[np.float32]:.1f} GFLOP/s, float64 {peak[np.float64]:.1f} GFLOP/s\n")

    print("RNN alone: rnn_forward + rnn_backward (tanh)")
    hdr = f"{'(B,T,D,H)':<20}{'dtype':<9}{'GFLOP':>7}{'plain ms':>10}{'seqlib ms':>11}{'speed-up':>9}{'GFLOP/s':>9}{'% bound':>9}"
    print(hdr)
    print("-" * len(hdr))
    for (B, T, D, H) in SIZES_RNN:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((B, T, D)).astype(dtype)
            h0 = np.zeros((B, H), dtype)
            W_xh = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype)
            W_hh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
            b_h = np.zeros(H, dtype)
            dh = rng.standard_normal((B, T, H)).astype(dtype)
            _, g_plain = plain_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh)
            _, g_seq = seqlib_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh)
            err = max(seqlib.relative_error(g_plain[k], g_seq[k]) for k in g_seq)
            tol = 1e-4 if dtype == np.float32 else 1e-10
            assert err < tol, f"plain and seqlib disagree: {err:.2e}"
            t_plain = median_time(lambda: plain_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh), repeats)
            t_seq = median_time(lambda: seqlib_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh), repeats)
            fl = rnn_flops(B, T, D, H)
            gf = fl / t_seq / 1e9
            print(f"{str((B, T, D, H)):<20}{np.dtype(dtype).name:<9}{fl / 1e9:>7.3f}{t_plain * 1e3:>10.2f}{t_seq * 1e3:>11.2f}"
                  f"{t_plain / t_seq:>8.2f}x{gf:>9.1f}{100 * gf / peak[dtype]:>8.1f}%")

    print("\nWhole model: RNN + linear readout + sequence_loss, forward and backward (tanh)")
    hdr = f"{'(B,T,D,H,V)':<25}{'dtype':<9}{'GFLOP':>7}{'plain ms':>10}{'seqlib ms':>11}{'speed-up':>9}{'GFLOP/s':>9}{'% bound':>9}"
    print(hdr)
    print("-" * len(hdr))
    for (B, T, D, H, V) in SIZES_MODEL[:-1] if args.quick else SIZES_MODEL:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((B, T, D)).astype(dtype)
            targets = rng.integers(0, V, (B, T))
            weights = np.ones((B, T), dtype)
            p = seqlib.init_rnn_params(D, H, V, rng=np.random.default_rng(1), dtype=dtype)
            l_plain, g_plain = plain_model_fwd_bwd(x, targets, weights, p)
            l_seq, g_seq = seqlib_model_fwd_bwd(x, targets, weights, p)
            err = max(seqlib.relative_error(g_plain[k], g_seq[k]) for k in g_seq)
            tol = 1e-3 if dtype == np.float32 else 1e-9
            assert err < tol, f"plain and seqlib disagree: {err:.2e}"
            t_plain = median_time(lambda: plain_model_fwd_bwd(x, targets, weights, p), repeats)
            t_seq = median_time(lambda: seqlib_model_fwd_bwd(x, targets, weights, p), repeats)
            fl = model_flops(B, T, D, H, V)
            gf = fl / t_seq / 1e9
            print(f"{str((B, T, D, H, V)):<25}{np.dtype(dtype).name:<9}{fl / 1e9:>7.3f}{t_plain * 1e3:>10.2f}{t_seq * 1e3:>11.2f}"
                  f"{t_plain / t_seq:>8.2f}x{gf:>9.1f}{100 * gf / peak[dtype]:>8.1f}%")


if __name__ == "__main__":
    main()
