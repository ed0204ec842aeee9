"""How fast is seqlib?  Forward + backward timings next to the machine's matmul bound.

Run with ``make bench`` (or ``python bench/bench_rnn.py --quick``).  Prints

1. the machine, numpy and BLAS (with the OpenBLAS kernel actually running) and
   the measured matmul throughput (GFLOP/s of a 2048 x 2048 matmul) in float32
   and float64: the bound;
2. for each size, the fwd+bwd time of the RNN alone (``rnn_forward`` +
   ``rnn_backward``) and of the whole model (RNN + linear readout +
   ``sequence_loss`` and their backward passes), for a plain per-step numpy
   implementation and for seqlib two ways: "seqlib", the public layer
   functions one by one, each checking its arguments (a reused
   :class:`seqlib.Workspace`, one softmax for the loss and its gradient via
   ``sequence_loss_and_grad``), and "fresh", the functions the chapters
   teach called one by one with every array new.  ``train_rnn`` takes
   neither path: it checks the parameters in full once per run and each
   batch as it arrives; after each update it checks only that every
   parameter kept its shape and dtype and is finite (its divergence test).
   Between these it calls the unchecked cores directly, while
   ``loss_and_grads`` checks every parameter array again on every call
   (``bench_edge_checks.py`` times it against "seqlib").  With the FLOP
   count, the achieved GFLOP/s and the fraction of the matmul bound, plus
   the time of the model's matmuls alone at their actual shapes, in the
   faster of two forms (a shape-aware
   reference: what the model would take if nothing but its products cost
   time), the 2T products of the sequential chain alone, and the separate
   ``sequence_loss`` call that "fresh" makes and "seqlib" does not;
3. a summary table.

``--save FILE`` writes everything as JSON (``bench/results.json`` is such a
run; the book's appendix "How fast is seqlib?" shows it).  ``--torch PYTHON``
also times PyTorch's ``nn.RNN`` + ``nn.Linear`` + ``CrossEntropyLoss`` with
autograd at the same sizes, in the interpreter PYTHON (one that has torch;
``--torch`` alone uses this interpreter).  Torch is never a dependency of the
book.

Timings are the minimum ("best of n", as :mod:`timeit` recommends) over
``--rounds`` full passes (3 by default) of at least ``--repeats`` runs each,
after a warm-up; the JSON also has the median of the round medians.  This is
a benchmark: it prints figures and asserts nothing about time.  It does check
that the plain implementation and seqlib agree, so the comparison is fair.

The environment variables ``OPENBLAS_CORETYPE`` (forces the kernels of a
named CPU type instead of the detected one) and ``OPENBLAS_L2_SIZE``
(overrides the detected L2 cache size, for machines that do not report it
correctly) change which kernel OpenBLAS runs and how it blocks; the report
names the kernel so runs can be compared.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import time
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root
import seqlib  # noqa: E402

SIZES_RNN = [(1, 25, 65, 100), (32, 50, 64, 128), (32, 100, 128, 256)]
SIZES_MODEL = [(1, 25, 65, 100, 65), (32, 50, 64, 128, 64), (32, 100, 128, 256, 128), (64, 200, 256, 512, 256)]
DTYPES = (np.float32, np.float64)


def timings(fn: Callable[[], object], repeats: int, min_time: float = 0.3, max_runs: int = 50) -> tuple[float, float]:
    """(best, median) wall time of ``fn()`` in seconds, after one warm-up call."""
    fn()
    times: list[float] = []
    t_end = time.perf_counter() + min_time
    while len(times) < repeats or (time.perf_counter() < t_end and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.min(times)), float(np.median(times))


def matmul_gflops(dtype: type, n: int = 2048, repeats: int = 7) -> float:
    """GFLOP/s of one n x n @ n x n matmul (best of ``repeats``): the conventional peak."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    best, _ = timings(lambda: np.matmul(a, b, out=out), repeats)
    return 2 * n**3 / best / 1e9


# ---------------------------------------------------------------------------
# machine description
# ---------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_info() -> dict:
    """numpy's BLAS as built, and (for OpenBLAS, best effort) the kernel it runs now."""
    info: dict = {"name": "?", "version": "?", "runtime_config": None, "core": None}
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["name"], info["version"] = cfg.get("name", "?"), cfg.get("version", "?")
    except Exception:  # pragma: no cover - older numpy
        pass
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            try:
                get_core = getattr(lib, f"{prefix}openblas_get_corename{suffix}")
                get_cfg = getattr(lib, f"{prefix}openblas_get_config{suffix}")
                get_threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
            except AttributeError:
                continue
            get_core.restype = get_cfg.restype = ctypes.c_char_p
            info["core"] = get_core().decode()
            info["runtime_config"] = get_cfg().decode().strip()
            info["threads"] = int(get_threads())
            return info
    return info


def machine_info() -> dict:
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": _blas_info(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                               "OMP_NUM_THREADS")},
    }


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


def seqlib_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh, workspace=None):
    h, cache = seqlib.rnn_forward(x, h0, W_xh, W_hh, b_h, workspace=workspace)
    return h, seqlib.rnn_backward(dh, cache, workspace=workspace)


def seqlib_model_fwd_bwd(x, targets, weights, p, workspace=None):
    """One training step's fwd+bwd as the committed ``results.json`` timed it: the public layer
    functions one by one (each checking its own arguments), one softmax for the loss and its gradient,
    the large arrays in a reused workspace, no dx matmul (x is data).

    :func:`seqlib.loss_and_grads` (what ``train_rnn`` calls) runs the same computation but checks its
    arguments once, at its edge, and then calls the layers' unchecked cores; ``bench_edge_checks.py``
    times the two side by side (``results-edge-checks.json``).
    """
    h, rcache = seqlib.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"], workspace=workspace)
    logits, lcache = seqlib.linear_forward(h, p["W_hy"], p["b_y"], workspace=workspace)
    loss, dlogits = seqlib.sequence_loss_and_grad(logits, targets, weights, workspace=workspace)
    gl = seqlib.linear_backward(dlogits, lcache, workspace=workspace)
    gr = seqlib.rnn_backward(gl["h"], rcache, input_grad=False,  # x is data: no dx matmul
                             workspace=workspace, overwrite_dh=True)  # gl["h"] is scratch
    return loss, {"W_xh": gr["W_xh"], "W_hh": gr["W_hh"], "b_h": gr["b_h"], "W_hy": gl["W"], "b_y": gl["b"]}


def seqlib_model_fwd_bwd_separate(x, targets, weights, p):
    """The same step from the functions the chapters teach, one by one: no workspace, and
    ``sequence_loss`` and ``sequence_loss_backward`` each computing their own softmax."""
    h, rcache = seqlib.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"])
    logits, lcache = seqlib.linear_forward(h, p["W_hy"], p["b_y"])
    loss = seqlib.sequence_loss(logits, targets, weights)
    dlogits = seqlib.sequence_loss_backward(logits, targets, weights)
    gl = seqlib.linear_backward(dlogits, lcache)
    gr = seqlib.rnn_backward(gl["h"], rcache, input_grad=False)
    return loss, {"W_xh": gr["W_xh"], "W_hh": gr["W_hh"], "b_h": gr["b_h"], "W_hy": gl["W"], "b_y": gl["b"]}


def model_matmuls(B: int, T: int, D: int, H: int, V: int, dtype: type,
                  layout: str = "time") -> Callable[[], None]:
    """Only the matmuls of the model's fwd+bwd, at their actual shapes, into preallocated outputs.

    ``layout="batch"``: batch-major arrays, every product through ``np.matmul``
    (the per-step operands ``Hs3[:, t]`` are strided slices).  ``layout="time"``:
    time-major arrays, so every per-step operand is one contiguous (B, H) block,
    and the per-step products go through ``np.dot`` (less overhead per call),
    as seqlib's loops call them.  The column *matmuls* is the faster of the two
    in each round: what the model would take if everything else (tanh, softmax,
    adds, copies, Python around the calls) were free, with its products in the
    fastest form measured.
    """
    if layout not in ("batch", "time"):
        raise ValueError(f"layout must be 'batch' or 'time', got {layout!r}")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B * T, D)).astype(dtype)
    Hs = rng.standard_normal((B * T, H)).astype(dtype) * 0.1
    Z = rng.standard_normal((B * T, V)).astype(dtype) * 0.1
    Wxh = rng.standard_normal((D, H)).astype(dtype) * 0.1
    Whh = rng.standard_normal((H, H)).astype(dtype) * 0.1
    Why = rng.standard_normal((H, V)).astype(dtype) * 0.1
    out_step = np.empty((B, H), dtype)
    A, O, dHs = np.empty((B * T, H), dtype), np.empty((B * T, V), dtype), np.empty((B * T, H), dtype)
    WhhT = np.ascontiguousarray(Whh.T)
    if layout == "batch":
        Hs3 = Hs.reshape(B, T, H)
        steps = [Hs3[:, t] for t in range(T)]  # strided (B, H) slices
        step_mm = np.matmul
    else:
        Hs3 = Hs.reshape(T, B, H)  # the rows in time-major order
        steps = [Hs3[t] for t in range(T)]  # contiguous (B, H) blocks
        step_mm = np.dot

    def run() -> None:
        np.matmul(X, Wxh, out=A)  # input projections
        for h_t in steps:  # forward recurrence
            step_mm(h_t, Whh, out=out_step)
        np.matmul(Hs, Why, out=O)  # readout
        np.matmul(Hs.T, Z)  # dW_hy
        np.matmul(Z, Why.T, out=dHs)  # dh from the readout
        for h_t in steps:  # delta recursion
            step_mm(h_t, WhhT, out=out_step)
        np.matmul(X.T, A)  # dW_xh
        np.matmul(Hs.T, A)  # dW_hh (a different matrix than Hs.T @ Hs, so no syrk shortcut)

    return run


def model_chain(B: int, T: int, H: int, dtype: type) -> Callable[[], None]:
    """The 2T per-step products of the forward and backward recurrences alone: the sequential chain.

    Time-major contiguous (B, H) blocks and ``np.dot`` into a preallocated
    output, as in seqlib's loops; no elementwise work between the products.
    """
    rng = np.random.default_rng(0)
    Hs3 = rng.standard_normal((T, B, H)).astype(dtype) * 0.1
    Whh = rng.standard_normal((H, H)).astype(dtype) * 0.1
    WhhT, out_step = np.ascontiguousarray(Whh.T), np.empty((B, H), dtype)
    steps = [Hs3[t] for t in range(T)]

    def run() -> None:
        for h_t in steps:
            np.dot(h_t, Whh, out=out_step)
        for h_t in steps:
            np.dot(h_t, WhhT, out=out_step)

    return run


def rnn_flops(B: int, T: int, D: int, H: int) -> float:
    """Matmul FLOPs of fwd+bwd: forward x W_xh and h W_hh; backward the delta
    recursion, dW_hh, dW_xh and dx (2 FLOPs per multiply-add)."""
    return 2 * B * T * (3 * D * H + 3 * H * H)


def model_flops(B: int, T: int, D: int, H: int, V: int) -> float:
    """Matmul FLOPs of the model's fwd+bwd.  x is data, so there is no dx matmul:
    forward x W_xh, h W_hh, h W_hy; backward dW_hy, dh = dz W_hy^T, the delta
    recursion, dW_hh, dW_xh."""
    return 2 * B * T * (2 * D * H + 3 * H * H + 3 * H * V)


# ---------------------------------------------------------------------------
# PyTorch, for a cross-check only (run in an interpreter that has torch)
# ---------------------------------------------------------------------------
def torch_worker(sizes: list, repeats: int) -> dict:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "times": []}
    for (B, T, D, H, V) in sizes:
        for dtype in DTYPES:
            tdt = torch.float32 if dtype == np.float32 else torch.float64
            torch.manual_seed(0)
            rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).to(tdt)
            lin = torch.nn.Linear(H, V).to(tdt)
            loss_fn = torch.nn.CrossEntropyLoss()
            x = torch.randn(B, T, D, dtype=tdt)
            y = torch.randint(0, V, (B * T,))
            params = list(rnn.parameters()) + list(lin.parameters())

            def step() -> None:
                for q in params:
                    q.grad = None
                out, _ = rnn(x)
                loss = loss_fn(lin(out).reshape(B * T, V), y)
                loss.backward()

            best, med = timings(step, repeats)
            res["times"].append({"size": [B, T, D, H, V], "dtype": np.dtype(dtype).name, "best_s": best, "median_s": med})
    return res


def run_torch(python: str, sizes: list, repeats: int) -> dict | None:
    cmd = [python, os.path.abspath(__file__), "--torch-worker", json.dumps(sizes), "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"torch run failed ({python}): {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------
def _cases(sizes_model: list, rng: np.random.Generator) -> list[dict]:
    """Every measurement: its key, FLOP count and the functions to time (checked for agreement first)."""
    cases = []
    for (B, T, D, H) in SIZES_RNN:
        for dtype in DTYPES:
            x = rng.standard_normal((B, T, D)).astype(dtype)
            h0 = np.zeros((B, H), dtype)
            W_xh = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype)
            W_hh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
            b_h = np.zeros(H, dtype)
            dh = rng.standard_normal((B, T, H)).astype(dtype)
            ws = seqlib.Workspace()
            _, g_plain = plain_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh)
            for w in (None, ws):
                _, g_seq = seqlib_rnn_fwd_bwd(x, h0, W_xh, W_hh, b_h, dh, w)
                err = max(seqlib.relative_error(g_plain[k], g_seq[k]) for k in g_seq)
                assert err < (1e-4 if dtype == np.float32 else 1e-10), f"plain and seqlib disagree: {err:.2e}"
            cases.append({"part": "rnn", "size": [B, T, D, H], "dtype": np.dtype(dtype).name,
                          "gflop": rnn_flops(B, T, D, H) / 1e9, "fns": {
                              "plain": lambda a=(x, h0, W_xh, W_hh, b_h, dh): plain_rnn_fwd_bwd(*a),
                              "fresh": lambda a=(x, h0, W_xh, W_hh, b_h, dh): seqlib_rnn_fwd_bwd(*a),
                              "seqlib": lambda a=(x, h0, W_xh, W_hh, b_h, dh), w=ws: seqlib_rnn_fwd_bwd(*a, w)}})
    for (B, T, D, H, V) in sizes_model:
        for dtype in DTYPES:
            x = rng.standard_normal((B, T, D)).astype(dtype)
            targets = rng.integers(0, V, (B, T))
            weights = np.ones((B, T), dtype)
            p = seqlib.init_rnn_params(D, H, V, rng=np.random.default_rng(1), dtype=dtype)
            ws = seqlib.Workspace()
            _, g_plain = plain_model_fwd_bwd(x, targets, weights, p)
            for _, g_seq in (seqlib_model_fwd_bwd(x, targets, weights, p, ws),
                             seqlib_model_fwd_bwd_separate(x, targets, weights, p)):
                err = max(seqlib.relative_error(g_plain[k], g_seq[k]) for k in g_seq)
                assert err < (1e-3 if dtype == np.float32 else 1e-9), f"plain and seqlib disagree: {err:.2e}"
            cases.append({"part": "model", "size": [B, T, D, H, V], "dtype": np.dtype(dtype).name,
                          "gflop": model_flops(B, T, D, H, V) / 1e9, "fns": {
                              "plain": lambda a=(x, targets, weights, p): plain_model_fwd_bwd(*a),
                              "fresh": lambda a=(x, targets, weights, p): seqlib_model_fwd_bwd_separate(*a),
                              "seqlib": lambda a=(x, targets, weights, p), w=ws: seqlib_model_fwd_bwd(*a, w),
                              "matmuls_batch": model_matmuls(B, T, D, H, V, dtype, "batch"),
                              "matmuls_time": model_matmuls(B, T, D, H, V, dtype, "time"),
                              "chain": model_chain(B, T, H, dtype),
                              # the softmax and loss that "fresh" computes and "seqlib" does not: the
                              # separate sequence_loss call (sequence_loss_backward computes its own)
                              "loss": lambda a=(seqlib.linear_forward(seqlib.rnn_forward(
                                  x, None, p["W_xh"], p["W_hh"], p["b_h"])[0], p["W_hy"], p["b_y"])[0],
                                  targets, weights): seqlib.sequence_loss(*a)}})
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one round, fewer repeats, skip the largest size")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3,
                    help="run every measurement this many times, one full pass after another, and keep the best "
                         "(default 3): robust to other processes on a shared machine")
    ap.add_argument("--save", metavar="FILE", help="write the results as JSON to FILE (e.g. bench/results.json)")
    ap.add_argument("--torch", nargs="?", const=sys.executable, metavar="PYTHON",
                    help="also time PyTorch (nn.RNN + Linear + CrossEntropyLoss, autograd) in interpreter PYTHON")
    ap.add_argument("--torch-worker", metavar="SIZES", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        print(json.dumps(torch_worker(json.loads(args.torch_worker), args.repeats)))
        return
    repeats, rounds = (3, 1) if args.quick else (args.repeats, args.rounds)
    sizes_model = SIZES_MODEL[:-1] if args.quick else SIZES_MODEL
    info = machine_info()
    blas = info["blas"]
    print(f"{info['date']}  {info['cpu']}, {info['cores']} cores, python {info['python']}, numpy {info['numpy']}")
    print(f"BLAS: {blas['name']} {blas['version']}, kernel {blas['core']}, {blas.get('threads', '?')} threads; "
          f"env " + (", ".join(f"{k}={v}" for k, v in info["env"].items() if v is not None) or "(none set)"))
    cases = _cases(sizes_model, np.random.default_rng(0))

    # Every round times everything; each figure is the best over rounds (and the
    # median of the round medians).  The bound is a best case too: its best run.
    peak_runs: dict = {np.dtype(dt).name: [] for dt in DTYPES}
    torch_runs: list[dict] = []
    for r in range(rounds):
        print(f"round {r + 1}/{rounds} ...", flush=True)
        for dt in DTYPES:
            peak_runs[np.dtype(dt).name].append(matmul_gflops(dt))
        for c in cases:
            for name, fn in c["fns"].items():
                c.setdefault("runs", {}).setdefault(name, []).append(timings(fn, repeats))
        if args.torch:  # PyTorch gets the same rounds, so the same chances of a quiet machine
            tr = run_torch(args.torch, [list(s) for s in sizes_model], repeats)
            if tr is not None:
                torch_runs.append(tr)
    peak = {k: max(v) for k, v in peak_runs.items()}
    print(f"matmul throughput (2048x2048, best of {rounds} rounds): float32 {peak['float32']:.1f} GFLOP/s, "
          f"float64 {peak['float64']:.1f} GFLOP/s  (rounds: "
          + "; ".join(f"{k} " + ", ".join(f"{g:.0f}" for g in v) for k, v in peak_runs.items()) + ")")

    results: dict = {"machine": info, "command": " ".join(["python"] + sys.argv),
                     "timing": f"best of {rounds} rounds x >= {repeats} repeats after a warm-up (and median of "
                               f"the round medians)",
                     "peak_gflops": peak, "peak_gflops_rounds": peak_runs, "rnn": [], "model": []}
    for c in cases:
        row = {"size": c["size"], "dtype": c["dtype"], "gflop": c["gflop"]}
        for name, runs in c["runs"].items():
            row[f"{name}_s"] = min(b for b, _ in runs)
            row[f"{name}_median_s"] = float(np.median([m for _, m in runs]))
        if "matmuls_batch" in c["runs"]:  # the matmul-only reference: the faster form, round by round
            both = list(zip(c["runs"]["matmuls_batch"], c["runs"]["matmuls_time"]))
            row["matmuls_s"] = min(min(b1, b2) for (b1, _), (b2, _) in both)
            row["matmuls_median_s"] = float(np.median([min(m1, m2) for (_, m1), (_, m2) in both]))
        results[c["part"]].append(row)

    if torch_runs:
        results["torch"] = {k: torch_runs[0][k] for k in ("torch", "threads")}
        for row in results["model"]:
            ts = [t for tr in torch_runs for t in tr["times"] if (t["size"], t["dtype"]) == (row["size"], row["dtype"])]
            row["torch_s"] = min(t["best_s"] for t in ts)
            row["torch_median_s"] = float(np.median([t["median_s"] for t in ts]))

    def pct(row: dict, key: str = "seqlib_s") -> float:
        return 100 * row["gflop"] / row[key] / peak[row["dtype"]]

    print("\nseqlib = with a Workspace, as train_rnn runs (the model: also sequence_loss_and_grad); "
          "fresh = without, every array new (the model: sequence_loss and sequence_loss_backward)")
    print("\nRNN alone: rnn_forward + rnn_backward (tanh), best times")
    hdr = (f"{'(B,T,D,H)':<26}{'dtype':<9}{'GFLOP':>8}{'plain ms':>10}{'fresh ms':>10}{'seqlib ms':>11}"
           f"{'speed-up':>9}{'GFLOP/s':>9}{'% bound':>9}")
    print(hdr + "\n" + "-" * len(hdr))
    for row in results["rnn"]:
        print(f"{str(tuple(row['size'])):<26}{row['dtype']:<9}{row['gflop']:>8.3f}{row['plain_s'] * 1e3:>10.2f}"
              f"{row['fresh_s'] * 1e3:>10.2f}{row['seqlib_s'] * 1e3:>11.2f}{row['plain_s'] / row['seqlib_s']:>8.2f}x"
              f"{row['gflop'] / row['seqlib_s']:>9.1f}{pct(row):>8.1f}%")

    torch_hdr = f"{'torch ms':>10}" if "torch" in results else ""
    print("\nWhole model: RNN + linear readout + sequence_loss, forward and backward (tanh), best times"
          + (f"; torch {results['torch']['torch']} with autograd" if "torch" in results else ""))
    hdr = (f"{'(B,T,D,H,V)':<26}{'dtype':<9}{'GFLOP':>8}{'plain ms':>10}{'fresh ms':>10}{'seqlib ms':>11}"
           f"{'speed-up':>9}{'GFLOP/s':>9}{'% bound':>9}{'matmuls ms':>12}{torch_hdr}")
    print(hdr + "\n" + "-" * len(hdr))
    for row in results["model"]:
        line = (f"{str(tuple(row['size'])):<26}{row['dtype']:<9}{row['gflop']:>8.3f}{row['plain_s'] * 1e3:>10.2f}"
                f"{row['fresh_s'] * 1e3:>10.2f}{row['seqlib_s'] * 1e3:>11.2f}{row['plain_s'] / row['seqlib_s']:>8.2f}x"
                f"{row['gflop'] / row['seqlib_s']:>9.1f}{pct(row):>8.1f}%{row['matmuls_s'] * 1e3:>12.2f}")
        print(line + (f"{row['torch_s'] * 1e3:>10.2f}" if "torch_s" in row else ""))

    print("\nSummary (whole model, seqlib): % of the matmul bound "
          f"(float32 {peak['float32']:.0f}, float64 {peak['float64']:.0f} GFLOP/s)")
    hdr = (f"{'(B,T,D,H,V)':<26}{'float32':>10}{'float64':>10}{'f32 fresh':>11}{'f32 matmuls':>13}"
           f"{'vs plain f32':>14}") + (f"{'vs torch f32':>14}" if "torch" in results else "")
    print(hdr + "\n" + "-" * len(hdr))
    by = {(tuple(r["size"]), r["dtype"]): r for r in results["model"]}
    for size in sizes_model:
        r32, r64 = by[(tuple(size), "float32")], by[(tuple(size), "float64")]
        line = (f"{str(tuple(size)):<26}{pct(r32):>9.1f}%{pct(r64):>9.1f}%{pct(r32, 'fresh_s'):>10.1f}%"
                f"{pct(r32, 'matmuls_s'):>12.1f}%{r32['plain_s'] / r32['seqlib_s']:>13.2f}x")
        print(line + (f"{r32['torch_s'] / r32['seqlib_s']:>13.2f}x" if "torch_s" in r32 else ""))

    if args.save:
        with open(args.save, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
        print(f"\nwrote {args.save}")


if __name__ == "__main__":
    main()
