"""Sweep for the gated-units chapter: the adding problem at T = 100, vanilla RNN vs LSTM vs GRU.

For each architecture and each seed: train on fresh batches with Adam and
global-norm clipping (:func:`seqlib.training.gated_train.train_last_state`) for at most
``STEPS`` steps, measure the held-out MSE every ``EVAL_EVERY`` steps, and stop
as soon as it is below ``SOLVED`` (a seed "solves" the task if it gets there
within the budget).  The constant predictor has MSE 1/6; the predictor that
knows only the second marked value, 1/12.

Then, for seed 0 of the vanilla RNN and of the LSTM, the trained networks'
gradient flow: G[t, k] with random direct gradients at every step on
held-out adding-problem inputs (for the LSTM, the norm of the gradient with
respect to the whole state (h_k, c_k)), saved to ``results/gated_flow.npz``.

Run from the repository root (about 3 to 4 minutes on one core)::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/gated.py                  # print the table
    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/gated.py --save sweeps/results/gated.json

``--save PATH`` writes the JSON the chapter reads and, next to it,
``gated_flow.npz`` (its sha256 is in the JSON, so new arrays change the JSON
that the build hashes); ``--seeds N`` runs seeds 0..N-1.  Asserts nothing:
the chapter asserts its claims against the results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one BLAS thread per process

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import seqlib as sl  # noqa: E402
from seqlib.training import gradflow_gated as gfg  # noqa: E402
from seqlib.training.gated_train import init_last_state_model, train_last_state  # noqa: E402

T = 100           # sequence length
H = 32            # hidden size of every cell
BATCH = 32        # sequences per training step
STEPS = 1500      # step budget per run
LR = 1e-2         # Adam learning rate
CLIP = 1.0        # global-norm clip
EVAL_EVERY = 100  # steps between held-out evaluations
N_EVAL = 500      # held-out sequences
SOLVED = 0.01     # held-out MSE that counts as solved
SEEDS = tuple(range(6))
ARCHS = ("rnn", "lstm", "gru")
FORGET_BIAS = 1.0
FLOW_B = 8        # held-out sequences for the gradient-flow picture


def run(arch: str, seed: int, ev) -> dict:
    params = init_last_state_model(arch, 2, H, rng=seed, forget_bias=FORGET_BIAS)
    t0 = time.perf_counter()
    res = train_last_state(params, lambda rng: sl.adding_problem(BATCH, T, rng=rng), STEPS, ev,
                           rng=1000 + seed, lr=LR, clip_norm=CLIP, eval_every=EVAL_EVERY, stop_below=SOLVED)
    secs = time.perf_counter() - t0
    solved = bool(res.eval_mse[-1] < SOLVED)
    return {"arch": arch, "seed": seed, "solved": solved, "final_mse": float(res.eval_mse[-1]),
            "steps_to_solve": int(res.steps[-1]) if solved else None,
            "steps": res.steps.tolist(), "eval_mse": [float(m) for m in res.eval_mse],
            "seconds": round(secs, 1)}, params


def flow(arch: str, params: dict) -> np.ndarray:
    """G[t, k] of a trained network on held-out inputs with random direct gradients."""
    x, _ = sl.adding_problem(FLOW_B, T, rng=4242)
    dh = np.random.default_rng(4243).standard_normal((FLOW_B, T, H)) / np.sqrt(FLOW_B * H)
    if arch == "rnn":
        _, cache = sl.rnn_forward(x, None, params["W_xh"], params["W_hh"], params["b_h"])
        return sl.loss_to_state_norms(dh, cache)
    _, cache = sl.lstm_forward(x, None, None, params["W_x"], params["W_h"], params["b"])
    G_h, G_c = gfg.lstm_loss_to_state_norms(dh, cache)
    return np.hypot(G_h, G_c)


def main() -> None:
    ap = argparse.ArgumentParser(description="adding problem at T = 100: vanilla RNN vs LSTM vs GRU over seeds")
    ap.add_argument("--save", metavar="PATH", help="write the JSON here (and gated_flow.npz next to it)")
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="run seeds 0..N-1")
    args = ap.parse_args()
    seeds = tuple(range(args.seeds))
    ev = sl.adding_problem(N_EVAL, T, rng=999)
    runs, flows = [], {}
    t_all = time.perf_counter()
    for arch in ARCHS:
        for seed in seeds:
            r, params = run(arch, seed, ev)
            runs.append(r)
            print(f"{arch:5s} seed {seed}: final MSE {r['final_mse']:.4f}  solved {r['solved']!s:5s} "
                  f"steps {r['steps'][-1]:5d}  {r['seconds']:.1f} s", flush=True)
            if seed == 0 and arch in ("rnn", "lstm"):
                flows[arch] = flow(arch, params)
    summary = {}
    print(f"\n{'arch':6s} {'solved':>8s} {'median final MSE':>18s} {'median steps to solve':>22s}")
    for arch in ARCHS:
        rs = [r for r in runs if r["arch"] == arch]
        n_ok = sum(r["solved"] for r in rs)
        steps = [r["steps_to_solve"] for r in rs if r["solved"]]
        summary[arch] = {"solved": n_ok, "seeds": len(rs),
                         "final_mse_min": min(r["final_mse"] for r in rs),
                         "final_mse_max": max(r["final_mse"] for r in rs),
                         "final_mse_median": float(np.median([r["final_mse"] for r in rs])),
                         "steps_to_solve_median": float(np.median(steps)) if steps else None,
                         "steps_to_solve_max": max(steps) if steps else None}
        med = summary[arch]["steps_to_solve_median"]
        print(f"{arch:6s} {n_ok:>4d} / {len(rs)} {summary[arch]['final_mse_median']:18.4f} "
              f"{'-' if med is None else f'{med:.0f}':>22s}")
    out = {
        "task": {"name": "adding problem (uniform)", "T": T, "baseline_mse": 1 / 6},
        "settings": {"H": H, "batch": BATCH, "steps": STEPS, "lr": LR, "clip_norm": CLIP,
                     "eval_every": EVAL_EVERY, "n_eval": N_EVAL, "solved_below": SOLVED, "seeds": list(seeds),
                     "forget_bias": FORGET_BIAS, "optimizer": "Adam", "flow_batch": FLOW_B},
        "summary": summary,
        "runs": runs,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "total_seconds": round(time.perf_counter() - t_all, 1)},
        "command": "python sweeps/gated.py " + " ".join(sys.argv[1:]),
    }
    print(f"\n{out['machine']['total_seconds']:.0f} s")
    if args.save:
        path = Path(args.save)
        path.parent.mkdir(parents=True, exist_ok=True)
        npz = path.parent / "gated_flow.npz"
        np.savez_compressed(npz, **{f"G_{k}": v.astype(np.float32) for k, v in flows.items()})
        out["flow_npz_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
        path.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {path} and {npz}")


if __name__ == "__main__":
    main()
