"""What makes "fresh" slower than "seqlib"?  The difference split into measured parts.

``bench/bench_rnn.py`` times a training step of the whole model two ways:
"fresh" (the functions the chapters teach, one by one, every array new) and
"seqlib" (the public layer functions one by one with a workspace, each
checking its arguments).  ``train_rnn`` takes neither path: it checks the
parameters in full once per run and each batch as it arrives; after each
update it checks only that every parameter kept its shape and dtype and is
finite (its divergence test).  Between these it calls the unchecked cores
directly, while ``loss_and_grads`` checks every parameter
array again on every call (``bench/bench_edge_checks.py`` times it against
"seqlib").  "fresh" and "seqlib" differ in three ways at once:

1. the loss: "fresh" calls ``sequence_loss`` and then
   ``sequence_loss_backward``, each with its own softmax; "seqlib" calls
   ``sequence_loss_and_grad`` once, a different, cache-blocked kernel;
2. ``rnn_backward``: "seqlib" passes ``overwrite_dh=True``, so the gradient
   of the pre-activations is written over ``dh`` and no (T, B, H) array is
   written besides it;
3. allocation: "seqlib" takes its large arrays from a reused
   ``seqlib.Workspace``, "fresh" gets new ones every step.

This script times each change alone, at otherwise identical calls, at one
size (the largest of ``bench_rnn.py`` by default):

* the loss functions on the same logits: ``sequence_loss``,
  ``sequence_loss_backward``, ``sequence_loss_and_grad`` with a fresh output
  array and with a workspace;
* ``rnn_backward(..., input_grad=False)`` on the same cache and the same
  ``dh`` (copied in, untimed, before every call, since ``overwrite_dh``
  overwrites it): with a fresh (T, B, H) array for the result, with that
  array in a workspace, and with ``overwrite_dh=True``;
* the whole step, changed one thing at a time from "fresh" to "seqlib":
  ``step_fresh``; ``step_loss_and_grad`` (one ``sequence_loss_and_grad``
  call instead of the two loss calls); ``step_overwrite_dh`` (also
  ``overwrite_dh=True``); ``step_seqlib`` (also a workspace: the step of
  ``bench_rnn.py``).

Each call is timed in CPU time of the process (``time.process_time``: user
plus system, so the kernel's work of mapping fresh pages counts), with one
BLAS thread (the script sets ``OPENBLAS_NUM_THREADS=1`` unless it is set),
and its minor page faults are counted (``getrusage``).  Every figure is the
best and the median over ``--rounds`` rounds of ``--repeats`` calls each
(5 x 7 = 35 calls by default).  In each round every variant runs in a
block: two warm-up calls, then its timed calls one after another, as a
training loop calls the same step again and again.  Blocks, not turns call
by call: what a fresh array costs depends on what the allocator and the
kernel hold from earlier calls, and in a trial where the variants took
turns, the "fresh" step paid much more system time after the other
variants' calls than after its own.  The JSON keeps every call's time.
Each round also times a 2048 x 2048 product in CPU time, to show how fast
the machine ran, and the JSON records the kernel's transparent huge page
settings and whether numpy advises huge pages for large arrays.
The machine may be shared with other jobs: the JSON records the load average
before and after the run, and the script asserts nothing about time.  It
checks that the variants compute the same numbers.  ``--save FILE`` writes
JSON (``bench/results-step-parts.json`` is such a run):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        .venv/bin/python bench/bench_step_parts.py --save bench/results-step-parts.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
sys.path.insert(0, str(Path(__file__).resolve().parent))

import seqlib  # noqa: E402
from bench_rnn import SIZES_MODEL, machine_info, seqlib_model_fwd_bwd, seqlib_model_fwd_bwd_separate  # noqa: E402


def _step(x, targets, weights, p, *, loss_and_grad: bool, overwrite_dh: bool, workspace=None):
    """One training step; the three switches turn "fresh" into "seqlib" one at a time."""
    ws = workspace
    h, rcache = seqlib.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"], workspace=ws)
    logits, lcache = seqlib.linear_forward(h, p["W_hy"], p["b_y"], workspace=ws)
    if loss_and_grad:
        loss, dlogits = seqlib.sequence_loss_and_grad(logits, targets, weights, workspace=ws)
    else:
        loss = seqlib.sequence_loss(logits, targets, weights)
        dlogits = seqlib.sequence_loss_backward(logits, targets, weights)
    gl = seqlib.linear_backward(dlogits, lcache, workspace=ws)
    gr = seqlib.rnn_backward(gl["h"], rcache, input_grad=False, workspace=ws, overwrite_dh=overwrite_dh)
    return loss, {"W_xh": gr["W_xh"], "W_hh": gr["W_hh"], "b_h": gr["b_h"], "W_hy": gl["W"], "b_y": gl["b"]}


def _measure(call, before=None) -> tuple[float, float, int]:
    """CPU seconds, system CPU seconds and minor page faults of one ``call()``.

    ``before()`` runs first, untimed.  The CPU time is ``time.process_time``
    (user + system); the system part comes from ``getrusage``, which the
    kernel may sample at clock ticks, so it is exact only on average.
    """
    if before is not None:
        before()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.process_time()
    call()
    t1 = time.process_time()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return t1 - t0, r1.ru_stime - r0.ru_stime, r1.ru_minflt - r0.ru_minflt


def matmul_rate(dtype: type, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of one n x n product in CPU time, best of ``repeats``: how fast the machine runs now."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    return 2 * n**3 / min(_measure(lambda: np.matmul(a, a, out=out))[0] for _ in range(repeats)) / 1e9


def _thp() -> dict:
    """The kernel's transparent huge page settings and numpy's huge-page advice for large arrays."""
    out = {"numpy_madvise_hugepage": bool(np._core.multiarray._get_madvise_hugepage())}
    for k in ("enabled", "defrag"):
        try:
            out[f"thp_{k}"] = Path(f"/sys/kernel/mm/transparent_hugepage/{k}").read_text().strip()
        except OSError:
            out[f"thp_{k}"] = None
    return out


def cases(size: tuple, dtype: type) -> dict:
    """name -> (call, before) for every variant, all on the same data."""
    B, T, D, H, V = size
    rng = np.random.default_rng(0)  # as bench_rnn's model rows: data from rng 0, parameters from rng 1
    x = rng.standard_normal((B, T, D)).astype(dtype)
    targets = rng.integers(0, V, (B, T))
    weights = np.ones((B, T), dtype)
    p = seqlib.init_rnn_params(D, H, V, rng=np.random.default_rng(1), dtype=dtype)

    # the loss functions on the logits of one forward pass, laid out as in the step (time-major)
    h, rcache = seqlib.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"])
    logits, lcache = seqlib.linear_forward(h, p["W_hy"], p["b_y"])
    ws_loss = seqlib.Workspace()
    # rnn_backward on the same cache and the same dh; dh is the readout's gradient of the step
    _, dlogits = seqlib.sequence_loss_and_grad(logits, targets, weights)
    dh0 = seqlib.linear_backward(dlogits, lcache)["h"]
    dh = np.empty((T, B, H), dtype).transpose(1, 0, 2)  # time-major, as in the step

    def refill():
        np.copyto(dh, dh0)

    ws_rnn = seqlib.Workspace()
    ws_step = seqlib.Workspace()
    args = (x, targets, weights, p)
    c = {
        "loss": (lambda: seqlib.sequence_loss(logits, targets, weights), None),
        "loss_backward": (lambda: seqlib.sequence_loss_backward(logits, targets, weights), None),
        "loss_and_grad_fresh": (lambda: seqlib.sequence_loss_and_grad(logits, targets, weights), None),
        "loss_and_grad_ws": (lambda: seqlib.sequence_loss_and_grad(logits, targets, weights,
                                                                   workspace=ws_loss), None),
        "rnn_backward_fresh": (lambda: seqlib.rnn_backward(dh, rcache, input_grad=False), refill),
        "rnn_backward_ws": (lambda: seqlib.rnn_backward(dh, rcache, input_grad=False, workspace=ws_rnn), refill),
        "rnn_backward_overwrite_dh": (lambda: seqlib.rnn_backward(dh, rcache, input_grad=False,
                                                                  overwrite_dh=True), refill),
        "step_fresh": (lambda: _step(*args, loss_and_grad=False, overwrite_dh=False), None),
        "step_loss_and_grad": (lambda: _step(*args, loss_and_grad=True, overwrite_dh=False), None),
        "step_overwrite_dh": (lambda: _step(*args, loss_and_grad=True, overwrite_dh=True), None),
        "step_seqlib": (lambda: _step(*args, loss_and_grad=True, overwrite_dh=True, workspace=ws_step), None),
    }

    # the variants compute the same numbers (up to rounding), and the ladder's ends are bench_rnn's steps
    tol = 1e-4 if dtype == np.float32 else 1e-10

    def close(a, b):
        return seqlib.relative_error(np.asarray(a, np.float64), np.asarray(b, np.float64)) < tol

    ref_loss = seqlib.sequence_loss(logits, targets, weights)
    ref_g = seqlib.sequence_loss_backward(logits, targets, weights)
    for name in ("loss_and_grad_fresh", "loss_and_grad_ws"):
        l2, g2 = c[name][0]()
        assert close(l2, ref_loss) and close(g2, ref_g), name
    refill()
    ref_r = seqlib.rnn_backward(dh, rcache, input_grad=False)
    for name in ("rnn_backward_ws", "rnn_backward_overwrite_dh"):
        refill()
        r2 = c[name][0]()
        assert all(np.array_equal(r2[k], ref_r[k]) for k in ref_r), name
    ref_l, ref_s = seqlib_model_fwd_bwd_separate(*args)
    for name, ref in (("step_fresh", ref_s), ("step_seqlib", seqlib_model_fwd_bwd(*args, seqlib.Workspace())[1])):
        _, g = c[name][0]()
        assert all(np.array_equal(g[k], ref[k]) for k in g), name
    for name in ("step_loss_and_grad", "step_overwrite_dh"):
        _, g = c[name][0]()
        assert all(close(g[k], ref_s[k]) for k in g), name
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=5, default=list(SIZES_MODEL[-1]), metavar=("B", "T", "D", "H", "V"))
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--save", metavar="FILE")
    args = ap.parse_args()
    size, dtype = tuple(args.size), np.dtype(args.dtype).type
    load_before = os.getloadavg()
    info = machine_info()
    print(f"{info['cpu']}, {info['cores']} cores; OpenBLAS kernel {info['blas']['core']}, "
          f"{info['blas'].get('threads')} thread(s); load average {load_before[0]:.2f}; {_thp()}")
    c = cases(size, dtype)
    runs: dict[str, list[tuple[float, float, int]]] = {k: [] for k in c}
    rate: list[float] = []
    for r in range(args.rounds):
        rate.append(matmul_rate(dtype))
        for name, (call, before) in c.items():  # each variant in a block of calls, as a training loop calls it
            for _ in range(2):
                _measure(call, before)  # warm-up: the first calls after another variant pay for its heap
            runs[name] += [_measure(call, before) for _ in range(args.repeats)]
        print(f"round {r + 1}/{args.rounds} done; 2048 x 2048 matmul {rate[-1]:.0f} GFLOP/s", flush=True)
    load_after = os.getloadavg()

    rows = {}
    print(f"\n{size} {args.dtype}: CPU ms per call, best and median of {args.rounds * args.repeats}; "
          f"system CPU ms per call (mean); minor page faults per call (median)")
    for name, rs in runs.items():
        t, st, f = (np.array(v) for v in zip(*rs))
        rows[name] = {"best_s": float(t.min()), "median_s": float(np.median(t)),
                      "sys_mean_s": float(st.mean()),
                      "minflt_median": float(np.median(f)), "minflt_max": int(f.max()), "n": len(rs),
                      "samples_s": [float(v) for v in t]}
        print(f"{name:28s} {t.min() * 1e3:8.2f} {np.median(t) * 1e3:8.2f}   system {st.mean() * 1e3:6.1f}"
              f"   faults {np.median(f):7.0f}")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")
    if args.save:
        out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": info,
               "command": " ".join(["python"] + sys.argv),
               "size": list(size), "dtype": args.dtype,
               "timing": (f"CPU time of the process (time.process_time, user + system) per call, "
                          f"{info['blas'].get('threads')} BLAS thread(s); best and median of "
                          f"{args.rounds} rounds; in each round every variant runs 2 warm-up calls and then "
                          f"{args.repeats} timed calls in a row; system CPU time and minor page faults per "
                          f"call from getrusage"),
               "load_average_before": list(load_before), "load_average_after": list(load_after),
               "matmul_gflops_rounds": rate, "huge_pages": _thp(),
               "shared_machine": True, "rounds": args.rounds, "repeats": args.repeats, "rows": rows}
        Path(args.save).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
