"""How fast are seqlib's LSTM and GRU?  Forward + backward of one layer, three ways.

For each cell (LSTM; GRU with ``reset="after"``), each size of the RNN rows
of ``bench/bench_rnn.py`` and float32 / float64, times one forward and one
backward pass of the layer alone (the gradient ``dh`` on every h_t given):

* "plain": the textbook numpy form, one step at a time, every weight
  gradient accumulated per step (``plain_lstm`` / ``plain_gru`` below);
* "seqlib": :func:`seqlib.lstm_forward` (with a reused
  :class:`seqlib.Workspace`) + :func:`seqlib.lstm_backward`, and the same for
  the GRU;
* "torch" (optional, ``--torch PYTHON``): PyTorch CPU ``nn.LSTM`` /
  ``nn.GRU`` forward and ``out.backward(dh)``, in a separate interpreter
  that has torch.  Torch is never a dependency of the book.

For the LSTM, "blas" times the matrix products of seqlib's forward and
backward alone (same calls and layouts, no gate arithmetic): a reference
for this call sequence with numpy's BLAS, not a lower bound on an LSTM step
(another way of calling BLAS, or another BLAS, may be faster).

Before timing, the plain form and seqlib are checked to agree.  Timings are
the best of at least ``--repeats`` runs after a warm-up; with ``--rounds N``
every row (and the torch worker) is timed N times, interleaved, and the JSON
keeps the best over rounds (and the median of the rounds' medians).  Like ``bench/results.json``, the committed run lets OpenBLAS
pick its own kernel (``OPENBLAS_CORETYPE`` unset).  PyTorch gets as many threads as ``OPENBLAS_NUM_THREADS``
allows numpy (all cores if unset).  The machine may be shared: the numbers
are noisy (on a busy machine consider ``OPENBLAS_NUM_THREADS=1``: BLAS
threads that wait for a core can make single runs ten times slower), and
the script asserts nothing about time.  ``--save FILE`` writes JSON
(``bench/results-gated.json`` is such a run, made with
``OPENBLAS_NUM_THREADS`` unset: 2 OpenBLAS threads and 2 torch threads on
the 2-core machine, as the file records):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        .venv/bin/python bench/bench_gated.py --torch /tmp/torchenv/bin/python --rounds 5 \
        --save bench/results-gated.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rnn import timings  # noqa: E402  (best and median wall time, one timer for both benchmarks)

SIZES = [(1, 25, 65, 100), (32, 50, 64, 128), (32, 100, 128, 256)]  # (B, T, D, H), as the RNN rows
DTYPES = ("float32", "float64")
CELLS = ("lstm", "gru")


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def plain_lstm(x, W_x, W_h, b, dh):
    """Textbook LSTM forward and backward, one step at a time; returns the gradients."""
    B, T, _ = x.shape
    H = W_h.shape[0]
    h, c = np.zeros((B, H), x.dtype), np.zeros((B, H), x.dtype)
    store = []
    for t in range(T):
        z = x[:, t] @ W_x + h @ W_h + b
        i, f, g, o = _sig(z[:, :H]), _sig(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), _sig(z[:, 3 * H:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        store.append((h, c, i, f, g, o, tc))
        h, c = o * tc, c_new
    gW_x, gW_h, gb = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)
    dx = np.empty_like(x)
    dh_next, dc_next = np.zeros((B, H), x.dtype), np.zeros((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        h_prev, c_prev, i, f, g, o, tc = store[t]
        d_h = dh[:, t] + dh_next
        d_c = d_h * o * (1 - tc * tc) + dc_next
        dz = np.concatenate([d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f), d_c * i * (1 - g * g),
                             d_h * tc * o * (1 - o)], axis=1)
        gW_x += x[:, t].T @ dz
        gW_h += h_prev.T @ dz
        gb += dz.sum(0)
        dx[:, t] = dz @ W_x.T
        dh_next = dz @ W_h.T
        dc_next = d_c * f
    return {"x": dx, "W_x": gW_x, "W_h": gW_h, "b": gb}


def plain_gru(x, W_x, W_h, b_x, b_h, dh):
    """Textbook GRU (reset after) forward and backward, one step at a time."""
    B, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((B, H), x.dtype)
    store = []
    for t in range(T):
        ax = x[:, t] @ W_x + b_x
        ah = h @ W_h + b_h
        r, z = _sig(ax[:, :H] + ah[:, :H]), _sig(ax[:, H:2 * H] + ah[:, H:2 * H])
        n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
        store.append((h, r, z, n, ah[:, 2 * H:]))
        h = (1 - z) * n + z * h
    gW_x, gW_h, gb_x, gb_h = (np.zeros_like(a) for a in (W_x, W_h, b_x, b_h))
    dx = np.empty_like(x)
    carry = np.zeros((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        h_prev, r, z, n, hn = store[t]
        d = dh[:, t] + carry
        dan = d * (1 - z) * (1 - n * n)
        daz = d * (h_prev - n) * z * (1 - z)
        dar = dan * hn * r * (1 - r)
        dax = np.concatenate([dar, daz, dan], axis=1)
        dah = np.concatenate([dar, daz, dan * r], axis=1)
        gW_x += x[:, t].T @ dax
        gW_h += h_prev.T @ dah
        gb_x += dax.sum(0)
        gb_h += dah.sum(0)
        dx[:, t] = dax @ W_x.T
        carry = dah @ W_h.T + d * z
    return {"x": dx, "W_x": gW_x, "W_h": gW_h, "b_x": gb_x, "b_h": gb_h}


def _params(cell: str, D: int, H: int, dtype: str, rng: np.random.Generator) -> dict:
    import seqlib as sl

    p = sl.init_lstm_params(D, H, rng=rng, dtype=dtype) if cell == "lstm" else sl.init_gru_params(D, H, rng=rng,
                                                                                                    dtype=dtype)
    return p


def seqlib_case(cell: str, x, p, dh, ws):
    import seqlib as sl

    if cell == "lstm":
        def run():
            _, cache = sl.lstm_forward(x, None, None, p["W_x"], p["W_h"], p["b"], workspace=ws)
            return sl.lstm_backward(dh, cache)
    else:
        def run():
            _, cache = sl.gru_forward(x, None, p["W_x"], p["W_h"], p["b_x"], p["b_h"], workspace=ws)
            return sl.gru_backward(dh, cache)
    return run


def lstm_matmuls_only(x, p, dh):
    """The matrix products of one seqlib LSTM forward + backward and nothing else.

    The same calls, shapes and layouts as :func:`seqlib.lstm_forward` /
    :func:`seqlib.lstm_backward` (input projection with the bias row, T
    recurrent products forward and T back, then dW_x with db, dx, dW_h), on
    arrays of the right shapes but without the gate arithmetic: the time
    numpy's BLAS needs for these calls, a reference for seqlib's time (not a
    lower bound on an LSTM step: other calls or another BLAS may be faster).
    """
    B, T, D = x.shape
    H = p["W_h"].shape[0]
    dt = x.dtype
    x_rows = np.ones((T * B, D + 1), dt)
    Wxb = np.concatenate((p["W_x"], p["b"][None, :]))
    gates = np.empty((T * B, 4 * H), dt)
    hs = np.asarray(np.random.default_rng(0).uniform(-1, 1, (T + 1, B, H)), dt)
    dz = np.asarray(np.random.default_rng(1).standard_normal((T, B, 4 * H)), dt)
    W_h, W_hT = p["W_h"], np.ascontiguousarray(p["W_h"].T)
    rec = np.empty((B, 4 * H), dt)
    d_h = np.empty((B, H), dt)

    def run():
        np.matmul(x_rows, Wxb, out=gates)
        for t in range(T):
            np.dot(hs[t], W_h, out=rec)
        for t in range(T - 1, -1, -1):
            np.dot(dz[t], W_hT, out=d_h)
        dz2 = dz.reshape(T * B, 4 * H)
        return (np.matmul(x_rows.T, dz2), np.matmul(dz2, p["W_x"].T),
                np.matmul(hs[:-1].reshape(T * B, H).T, dz2))
    return run


def flops(cell: str, B: int, T: int, D: int, H: int) -> float:
    """Matrix-product FLOPs of forward + backward: 3 products of each weight (fwd, dW, dx or dh)."""
    n = 4 if cell == "lstm" else 3
    return 3 * 2 * B * T * (D + H) * n * H


# ---------------------------------------------------------------------------
def torch_worker(repeats: int) -> dict:
    import torch

    # as many threads as numpy's BLAS is allowed (OPENBLAS_NUM_THREADS), for a like-for-like comparison
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1)))
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "times": []}
    for cell in CELLS:
        for (B, T, D, H) in SIZES:
            for dtype in DTYPES:
                tdt = getattr(torch, dtype)
                torch.manual_seed(0)
                mod = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(D, H, batch_first=True).to(tdt)
                x = torch.randn(B, T, D, dtype=tdt, requires_grad=True)
                dh = torch.randn(B, T, H, dtype=tdt)
                params = list(mod.parameters())

                def step() -> None:
                    for q in params:
                        q.grad = None
                    x.grad = None
                    out, _ = mod(x)
                    out.backward(dh)

                best, med = timings(step, repeats)
                res["times"].append({"cell": cell, "size": [B, T, D, H], "dtype": dtype, "best_s": best,
                                     "median_s": med})
    return res


def run_torch(python: str, repeats: int) -> dict | None:
    cmd = [python, os.path.abspath(__file__), "--torch-worker", "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"torch run failed ({python}): {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--torch", nargs="?", const=sys.executable, metavar="PYTHON",
                    help="also time PyTorch CPU nn.LSTM / nn.GRU in this interpreter")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=1,
                    help="time every row this many times, interleaved; keep the best")
    ap.add_argument("--save", metavar="FILE")
    args = ap.parse_args()
    if args.torch_worker:
        print(json.dumps(torch_worker(args.repeats)))
        return

    import seqlib as sl

    rows: dict[tuple, dict] = {}
    for rnd in range(args.rounds):
        # every round times every row again (seqlib, plain, then torch), so that each method
        # meets the machine's changing load several times; the JSON keeps the best over rounds
        rng = np.random.default_rng(0)
        for cell in CELLS:
            for (B, T, D, H) in SIZES:
                for dtype in DTYPES:
                    p = _params(cell, D, H, dtype, rng)
                    x = rng.standard_normal((B, T, D)).astype(dtype)
                    dh = rng.standard_normal((B, T, H)).astype(dtype)
                    ws = sl.Workspace()
                    fast = seqlib_case(cell, x, p, dh, ws)
                    plain = (lambda: plain_lstm(x, p["W_x"], p["W_h"], p["b"], dh)) if cell == "lstm" else \
                        (lambda: plain_gru(x, p["W_x"], p["W_h"], p["b_x"], p["b_h"], dh))
                    if rnd == 0:
                        g_fast, g_plain = fast(), plain()
                        tol = 1e-3 if dtype == "float32" else 1e-9
                        for k in g_plain:
                            scale = float(np.abs(g_plain[k]).max()) + 1e-30
                            err = float(np.abs(np.asarray(g_fast[k], np.float64) - g_plain[k]).max()) / scale
                            if err > tol:
                                raise AssertionError(
                                    f"{cell} {dtype} {(B, T, D, H)}: seqlib and plain differ in {k}: {err:.1e}")
                    key = (cell, (B, T, D, H), dtype)
                    row = rows.setdefault(key, {"cell": cell, "size": [B, T, D, H], "dtype": dtype,
                                                "flops": flops(cell, B, T, D, H), "_med": {}})
                    cases = {"seqlib": fast, "plain": plain}
                    if cell == "lstm":
                        cases["blas"] = lstm_matmuls_only(x, p, dh)
                    for name, fn in cases.items():
                        best, med = timings(fn, args.repeats)
                        row[f"{name}_s"] = min(best, row.get(f"{name}_s", np.inf))
                        row["_med"].setdefault(name, []).append(med)
                    print(f"round {rnd + 1}: {cell:4s} {str((B, T, D, H)):20s} {dtype}: "
                          f"seqlib {row['seqlib_s'] * 1e3:8.2f} ms  plain {row['plain_s'] * 1e3:8.2f} ms", flush=True)
        torch_res = run_torch(args.torch, args.repeats) if args.torch else None
        if torch_res:
            torch_meta = {k: torch_res[k] for k in ("torch", "threads")}
            for r in torch_res["times"]:
                row = rows[(r["cell"], tuple(r["size"]), r["dtype"])]
                row["torch_s"] = min(r["best_s"], row.get("torch_s", np.inf))
                row["_med"].setdefault("torch", []).append(r["median_s"])
    for row in rows.values():
        for name, meds in row.pop("_med").items():
            row[f"{name}_median_s"] = float(np.median(meds))  # median over rounds of each round's median
    rows = list(rows.values())
    torch_res = torch_meta if args.torch and any("torch_s" in r for r in rows) else None

    print(f"\n{'cell':5s} {'(B, T, D, H)':20s} {'dtype':8s} {'plain ms':>9s} {'seqlib ms':>10s} "
          f"{'BLAS ms':>8s} {'torch ms':>9s} {'seqlib/torch':>13s}")
    for row in rows:
        tms = row.get("torch_s")
        ratio = f"{row['seqlib_s'] / tms:13.2f}" if tms else f"{'-':>13s}"
        blas = f"{row['blas_s'] * 1e3:.2f}" if "blas_s" in row else "-"
        print(f"{row['cell']:5s} {str(tuple(row['size'])):20s} {row['dtype']:8s} {row['plain_s'] * 1e3:9.2f} "
              f"{row['seqlib_s'] * 1e3:10.2f} {blas:>8s} "
              f"{'-' if not tms else f'{tms * 1e3:.2f}':>9s} {ratio}")
    if args.save:
        from bench_rnn import machine_info  # the machine, numpy's BLAS and the kernel it runs, the OPENBLAS_* env

        out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine_info(),
               "torch": torch_res, "repeats": args.repeats, "rounds": args.rounds, "rows": rows}
        Path(args.save).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
