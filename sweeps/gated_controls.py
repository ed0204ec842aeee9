"""Controls for the gated-units chapter's adding-problem result (issue 18).

``sweeps/gated.py`` finds that at T = 100, H = 32 and 1,500 Adam steps the
vanilla RNN solves the adding problem in none of 6 seeds and the LSTM and the
GRU in all of them.  Before the difference is credited to "the gates" or to
vanishing gradients, this script runs, with the very same task, optimiser,
clipping, batches, held-out set, threshold and seeds (the constants are
imported from ``sweeps/gated.py``):

* ``rnn``, ``lstm``, ``gru``: the three baselines again (H = 32, LSTM
  forget-gate bias 1), to measure their gradient reach after training for
  every seed; their curves reproduce ``results/gated.json`` (the largest
  difference is recorded in ``baseline_check``: 0 for the RNN and the GRU,
  at most 1.1e-11 for the LSTM, with the kernel set below);
* ``rnn_matched``: a vanilla RNN whose hidden size gives the parameter count
  nearest the H = 32 LSTM's (both counted from the actual parameter dicts,
  readout included), same 1,500-step budget;
* ``lstm_fb0``: the LSTM with forget-gate bias 0 instead of 1, H = 32
  (same weights otherwise: the bias is not drawn);
* ``rnn_3x``: the vanilla RNN at H = 32 with three times the step budget
  (its first 1,500 steps are the ``rnn`` run's).

For every run, at initialisation and after training (where the run stopped),
the gradient reach on held-out inputs: G[T, k] / G[T, T] with
G[T, k] = ||dℓ_T/ds_k||, the gradient that a direct gradient at the last
step only sends back to the state s_k (for the LSTM the whole state
(h_k, c_k), as ``hypot`` of :func:`seqlib.training.gradflow_gated.lstm_state_gradient_norms`;
for the RNN :func:`seqlib.training.gradflow.state_gradient_norms`, for the GRU
:func:`seqlib.training.gradflow_gated.gru_state_gradient_norms`).  This is the last
row of the G[t, k] that ``sweeps/gated.py`` saves and the chapter's
"reach", G[T, 1] / G[T, T], on the same 8 held-out sequences
(``adding_problem(8, 100, rng=4242)``) with the same random direct gradient
(the last step of ``standard_normal((8, T, H), rng=4243) / sqrt(8 H)``).
Also recorded, the same ratio with the direct gradient along the readout
``W_y`` (the direction the MSE's gradient actually enters h_T), and both
at the lags L = T - k in ``LAGS``.

Run from the repository root (36 runs, 320 s for the committed JSON on one
core of the shared machine)::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/gated_controls.py --save sweeps/results/gated_controls.json

``--seeds N`` runs seeds 0..N-1; ``--steps-scale F`` multiplies every step
budget by F (a quick check of the script, not for results: it is recorded
in the JSON).  Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one BLAS thread per process
# The kernel that results/gated.json was computed with: with it the baselines reproduce that file (the
# RNN and GRU bit for bit, the LSTM to 1.1e-11); with another kernel the last digits of every product
# differ and the non-solving RNN runs end elsewhere (seed 0: held-out MSE 0.241 instead of 0.185, reach 1.6e-14 instead of 1.8e-5).
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sweeps"))

import seqlib as sl  # noqa: E402
from seqlib.training import gradflow_gated as gfg  # noqa: E402
from seqlib.training.gated_train import init_last_state_model, last_state_forward, train_last_state  # noqa: E402

from gated import BATCH, CLIP, EVAL_EVERY, FLOW_B, FORGET_BIAS, H, LR, N_EVAL, SEEDS, SOLVED, STEPS, T  # noqa: E402

D = 2                          # adding-problem input: (value, marker)
LAGS = (1, 10, 25, 50, 75, 99)  # L = T - k of G[T, k] / G[T, T]; L = T - 1 is the chapter's reach
BUDGET_FACTOR = 3              # the rnn_3x variant's budget, in units of STEPS


def n_params(params: dict) -> int:
    return int(sum(v.size for v in params.values()))


def matched_rnn_H(target: int) -> int:
    """Hidden size of the vanilla RNN (with readout) whose parameter count is nearest ``target``."""
    counts = {h: n_params(init_last_state_model("rnn", D, h, rng=0)) for h in range(1, 4 * H)}
    return min(counts, key=lambda h: (abs(counts[h] - target), h))


def variants() -> list[dict]:
    lstm_count = n_params(init_last_state_model("lstm", D, H, rng=0))
    H_m = matched_rnn_H(lstm_count)
    return [
        {"name": "rnn", "arch": "rnn", "H": H, "forget_bias": None, "budget": STEPS},
        {"name": "lstm", "arch": "lstm", "H": H, "forget_bias": FORGET_BIAS, "budget": STEPS},
        {"name": "gru", "arch": "gru", "H": H, "forget_bias": None, "budget": STEPS},
        {"name": "rnn_matched", "arch": "rnn", "H": H_m, "forget_bias": None, "budget": STEPS},
        {"name": "lstm_fb0", "arch": "lstm", "H": H, "forget_bias": 0.0, "budget": STEPS},
        {"name": "rnn_3x", "arch": "rnn", "H": H, "forget_bias": None, "budget": BUDGET_FACTOR * STEPS},
    ]


def reach_inputs(Hv: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out inputs and the random direct gradient at step T of ``gated.flow`` (for hidden size Hv)."""
    x, _ = sl.adding_problem(FLOW_B, T, rng=4242)
    dh = np.random.default_rng(4243).standard_normal((FLOW_B, T, Hv)) / np.sqrt(FLOW_B * Hv)
    only_last = np.zeros_like(dh)
    only_last[:, -1] = dh[:, -1]
    return x, only_last


def state_norms(arch: str, params: dict, x: np.ndarray, dh: np.ndarray) -> np.ndarray:
    """||dℓ_T/ds_k|| for k = 1..T, (T,), for the direct gradient ``dh`` (zero but at step T)."""
    _, cache = last_state_forward(params, x)
    if arch == "rnn":
        return sl.state_gradient_norms(dh, cache)
    if arch == "lstm":
        return np.hypot(*gfg.lstm_state_gradient_norms(dh, cache))
    return gfg.gru_state_gradient_norms(dh, cache)


def reach(arch: str, params: dict) -> dict:
    """G[T, T-L] / G[T, T] for the random direct gradient and for the readout direction."""
    Hv = params["W_y"].shape[0]
    x, dh = reach_inputs(Hv)
    g = state_norms(arch, params, x, dh)
    dh_y = np.zeros_like(dh)
    dh_y[:, -1] = params["W_y"][:, 0]
    g_y = state_norms(arch, params, x, dh_y)
    return {"reach": float(g[0] / g[-1]), "reach_readout": float(g_y[0] / g_y[-1]),
            "by_lag": {str(L): float(g[T - 1 - L] / g[-1]) for L in LAGS},
            "by_lag_readout": {str(L): float(g_y[T - 1 - L] / g_y[-1]) for L in LAGS}}


def run(v: dict, seed: int, ev, budget: int) -> dict:
    kw = {} if v["forget_bias"] is None else {"forget_bias": v["forget_bias"]}
    params = init_last_state_model(v["arch"], D, v["H"], rng=seed, **kw)
    r0 = reach(v["arch"], params)
    t0 = time.perf_counter()
    res = train_last_state(params, lambda rng: sl.adding_problem(BATCH, T, rng=rng), budget, ev,
                           rng=1000 + seed, lr=LR, clip_norm=CLIP, eval_every=EVAL_EVERY, stop_below=SOLVED)
    secs = time.perf_counter() - t0
    r1 = reach(v["arch"], res.params)
    solved = bool(res.eval_mse[-1] < SOLVED)
    return {"variant": v["name"], "arch": v["arch"], "H": v["H"], "n_params": n_params(params),
            "forget_bias": v["forget_bias"], "budget": budget, "seed": seed, "solved": solved,
            "steps_to_solve": int(res.steps[-1]) if solved else None, "final_mse": float(res.eval_mse[-1]),
            "steps": res.steps.tolist(), "eval_mse": [float(m) for m in res.eval_mse],
            "reach_init": r0["reach"], "reach_trained": r1["reach"],
            "reach_readout_init": r0["reach_readout"], "reach_readout_trained": r1["reach_readout"],
            "reach_by_lag_init": r0["by_lag"], "reach_by_lag_trained": r1["by_lag"],
            "reach_readout_by_lag_init": r0["by_lag_readout"], "reach_readout_by_lag_trained": r1["by_lag_readout"],
            "seconds": round(secs, 1)}


def _med(xs):
    return float(np.median(xs)) if xs else None


def summarise(runs: list[dict], names: list[str]) -> dict:
    summary = {}
    for name in names:
        rs = [r for r in runs if r["variant"] == name]
        if not rs:
            continue
        steps = [r["steps_to_solve"] for r in rs if r["solved"]]
        s = {"arch": rs[0]["arch"], "H": rs[0]["H"], "n_params": rs[0]["n_params"],
             "forget_bias": rs[0]["forget_bias"], "budget": rs[0]["budget"],
             "solved": sum(r["solved"] for r in rs), "seeds": len(rs),
             "steps_to_solve_median": _med(steps), "steps_to_solve_max": max(steps) if steps else None,
             "final_mse_min": min(r["final_mse"] for r in rs), "final_mse_max": max(r["final_mse"] for r in rs),
             "final_mse_median": _med([r["final_mse"] for r in rs])}
        for key in ("reach_init", "reach_trained", "reach_readout_init", "reach_readout_trained"):
            vals = [r[key] for r in rs]
            s[key + "_median"], s[key + "_min"], s[key + "_max"] = _med(vals), min(vals), max(vals)
        summary[name] = s
    return summary


def baseline_check(runs: list[dict]) -> dict | None:
    """Largest |difference| between the baselines' held-out MSE curves here and in results/gated.json."""
    path = ROOT / "sweeps" / "results" / "gated.json"
    if not path.exists():
        return None
    ref = {(r["arch"], r["seed"]): r for r in json.loads(path.read_text())["runs"]}
    out = {}
    for r in runs:
        q = ref.get((r["variant"], r["seed"]))
        if q is None or r["variant"] not in ("rnn", "lstm", "gru"):
            continue
        same_steps = q["steps"] == r["steps"]
        diff = float(np.max(np.abs(np.subtract(q["eval_mse"], r["eval_mse"])))) if same_steps else None
        out[f"{r['variant']}/{r['seed']}"] = {"same_steps": same_steps, "max_abs_mse_diff": diff}
    return out


def print_table(summary: dict) -> None:
    print(f"\n{'variant':12s} {'H':>3s} {'params':>6s} {'fb':>4s} {'budget':>6s} {'solved':>7s} {'med steps':>9s} "
          f"{'med final MSE':>13s} {'reach init (med, min-max)':>28s} {'reach trained (med, min-max)':>31s}")
    for name, s in summary.items():
        fb = "-" if s["forget_bias"] is None else f"{s['forget_bias']:g}"
        med = "-" if s["steps_to_solve_median"] is None else f"{s['steps_to_solve_median']:.0f}"
        ri = f"{s['reach_init_median']:.1e} ({s['reach_init_min']:.0e}-{s['reach_init_max']:.0e})"
        rt = f"{s['reach_trained_median']:.1e} ({s['reach_trained_min']:.0e}-{s['reach_trained_max']:.0e})"
        print(f"{name:12s} {s['H']:3d} {s['n_params']:6d} {fb:>4s} {s['budget']:6d} "
              f"{s['solved']:3d} / {s['seeds']:d} {med:>9s} {s['final_mse_median']:13.4f} {ri:>28s} {rt:>31s}")


def main() -> None:
    ap = argparse.ArgumentParser(description="controls for the adding problem at T = 100 (issue 18)")
    ap.add_argument("--save", metavar="PATH", help="write the JSON here")
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="run seeds 0..N-1")
    ap.add_argument("--steps-scale", type=float, default=1.0,
                    help="multiply every step budget by this (a quick check of the script; default 1)")
    args = ap.parse_args()
    seeds = tuple(range(args.seeds))
    vs = variants()
    ev = sl.adding_problem(N_EVAL, T, rng=999)
    runs = []
    t_all = time.perf_counter()
    for seed in seeds:  # seeds outermost: the first seed's time estimates the whole run
        t_seed = time.perf_counter()
        for v in vs:
            budget = max(EVAL_EVERY, int(round(v["budget"] * args.steps_scale)))
            r = run(v, seed, ev, budget)
            runs.append(r)
            print(f"{v['name']:12s} seed {seed}: final MSE {r['final_mse']:.4f}  solved {r['solved']!s:5s} "
                  f"steps {r['steps'][-1]:5d}  reach {r['reach_init']:.1e} -> {r['reach_trained']:.1e}  "
                  f"{r['seconds']:.1f} s", flush=True)
        print(f"seed {seed}: {time.perf_counter() - t_seed:.0f} s", flush=True)
    summary = summarise(runs, [v["name"] for v in vs])
    print_table(summary)
    counts = {a: n_params(init_last_state_model(a, D, H, rng=0)) for a in ("rnn", "lstm", "gru")}
    out = {
        "task": {"name": "adding problem (uniform)", "T": T, "baseline_mse": 1 / 6},
        "settings": {"H": H, "batch": BATCH, "steps": STEPS, "lr": LR, "clip_norm": CLIP,
                     "eval_every": EVAL_EVERY, "n_eval": N_EVAL, "solved_below": SOLVED, "seeds": list(seeds),
                     "forget_bias": FORGET_BIAS, "optimizer": "Adam", "budget_factor": BUDGET_FACTOR,
                     "steps_scale": args.steps_scale, "reach_batch": FLOW_B, "reach_lags": list(LAGS),
                     "settings_from": "sweeps/gated.py",
                     "param_counts_H32": counts, "matched_rnn_H": vs[3]["H"],
                     "matched_rnn_params": n_params(init_last_state_model("rnn", D, vs[3]["H"], rng=0))},
        "variants": vs,
        "summary": summary,
        "baseline_check": baseline_check(runs),
        "runs": runs,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                    "total_seconds": round(time.perf_counter() - t_all, 1)},
        "command": "python sweeps/gated_controls.py " + " ".join(sys.argv[1:]),
    }
    bc = out["baseline_check"]
    if bc:
        diffs = [d["max_abs_mse_diff"] for d in bc.values() if d["max_abs_mse_diff"] is not None]
        print(f"\nbaselines vs results/gated.json: {sum(d['same_steps'] for d in bc.values())} of {len(bc)} "
              f"with the same evaluation steps, largest MSE difference {max(diffs) if diffs else float('nan'):.1e}")
    print(f"\n{out['machine']['total_seconds']:.0f} s")
    if args.save:
        path = Path(args.save)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
