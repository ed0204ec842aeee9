"""Controls for the Experiments chapter's explanations (issue 18).

``sweeps/experiments.py`` finds that plain SGD at learning rate 2.5 on the
Reber model fails in 6 of 8 seeds without clipping and in none with norm
clipping at c = 1 from the first step, and that the adding problem gets
harder with T.  Before the first is credited to "cliffs" and the second to
vanishing gradients, this script runs, with the settings, seeds and batches
of ``sweeps/experiments.py`` (imported from it):

* ``clipping``: the SGD runs of the clipping page for seeds 1-8, in twelve
  variants: the three of ``experiments.py`` again (``none``: no clipping;
  ``clip``: norm clipping at c = 1 from step 0; ``clip_from``: at c = 1 from
  step 30), which reproduce ``results/experiments.json`` (``baseline_check``);
  the unclipped run at the lower learning rates in ``LOWER_LRS``
  (``lr_2`` ...); and norm clipping at the larger thresholds in
  ``LARGER_CS`` from step 0 (``clip_3`` ...) and at c = 3 from step 30
  (``clip_3_from``).  For every run: the mean loss over the last 100 steps,
  whether it failed (that loss above log V, or not finite), the best loss
  (the lowest mean over 10 consecutive steps) and its step (the window's
  last), the batch loss at step 20, whether it diverged early (the mean
  loss of some 10 consecutive steps within the first 30 above 1.5 log V)
  or collapsed after training (failed without diverging early), the largest gradient norm and its step,
  the loss in windows of 10 steps, and every clipped step with its gradient
  norm and its shortening factor 1 - c / ||g||.
* ``adding``: the adding problem with full BPTT at T = 16 (the 700 steps of
  ``experiments.py``) and at T = 32 with three times the steps (2,100; its
  first 700 steps are the run of ``experiments.py``), seeds 1-8.  For every
  run the held-out MSE every 100 steps and, at initialisation, after 700
  steps and (T = 32) after 2,100, the median over the held-out sequences of
  the spectral norm of the state Jacobian d h_T / d h_{T-L} for
  L = 1 .. T-1, sigma_max(W_hh) and the mean tanh derivative.

The script sets ``OPENBLAS_CORETYPE=Haswell`` unless it is set: with the
kernel that ``results/experiments.json`` was computed with, the baselines
reproduce it (``baseline_check`` in the JSON).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/experiments_controls.py \\
        --save sweeps/results/experiments_controls.json

Prints tables, asserts nothing (the pages assert their claims).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: small matrices, 2 shared cores
# The kernel results/experiments.json was computed with: another kernel changes the last digits of every
# product, which SGD at learning rate 2.5 amplifies (seed 6 unclipped ends at 10.1 instead of 6.04).
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sweeps"))

import seqlib as sl  # noqa: E402

import experiments as E  # noqa: E402  (sweeps/experiments.py: settings, batches, seeding)

SEEDS = E.SEEDS
LOWER_LRS = (2.0, 1.75, 1.5, 1.25, 1.0)  # unclipped, below the committed 2.5
LARGER_CS = (1.5, 2.0, 3.0)              # clipping thresholds above the committed c = 1, from step 0
C_FROM = 3.0                             # ... and this one from step CLIP_FROM too
WINDOW = 10                              # "best loss": the lowest mean over WINDOW consecutive steps
EARLY_STEPS, EARLY_FACTOR = 30, 1.5     # "diverged early": the mean loss of some WINDOW steps within
                                         # the first EARLY_STEPS above EARLY_FACTOR * log V
STEP20 = 20

# adding problem
ADD_LENGTHS = (16, 32)
BUDGET_FACTOR = 3                        # T = 32 trains BUDGET_FACTOR * STEPS_ADD steps
LONG_T = 32


def variants():
    v = {"none": (E.LR_CLIP, None, 0), "clip": (E.LR_CLIP, E.CLIP, 0),
         "clip_from": (E.LR_CLIP, E.CLIP, E.CLIP_FROM)}
    v.update({f"lr_{lr:g}": (lr, None, 0) for lr in LOWER_LRS})
    v.update({f"clip_{c:g}": (E.LR_CLIP, c, 0) for c in LARGER_CS})
    v[f"clip_{C_FROM:g}_from"] = (E.LR_CLIP, C_FROM, E.CLIP_FROM)
    return v


def sgd_run(seed, lr, clip=None, clip_from=0):
    """``experiments.sgd_run`` with the learning rate as a parameter (the same code otherwise)."""
    params = sl.init_rnn_params(E.V, E.H_CLIP, E.V, rng=seed)
    batch_rng = np.random.default_rng(seed + 4)  # one stream of batches across both parts
    parts = []
    for steps, c in ((clip_from, None), (E.STEPS_CLIP - clip_from, clip)):
        if steps:
            parts.append(sl.train_rnn(params, E.reber_batches, steps, optimizer=sl.SGD(lr=lr),
                                      rng=batch_rng, clip_norm=c))
            if parts[-1].diverged_at is not None:
                break
    return {k: np.concatenate([getattr(h, k) for h in parts]) for k in ("loss", "grad_norm", "clipped")}


def _finite(x, digits=5):
    return round(float(x), digits) if np.isfinite(x) else None


def describe(r, clip, clip_from):
    loss, norm = r["loss"], r["grad_norm"]
    n = len(loss)
    complete = n == E.STEPS_CLIP and bool(np.all(np.isfinite(loss)))
    last = float(np.mean(loss[-E.LAST:])) if complete else None
    win = np.convolve(loss, np.ones(WINDOW) / WINDOW, mode="valid")
    win = np.where(np.isfinite(win), win, np.inf)
    i_best = int(np.argmin(win))
    early = win[:EARLY_STEPS - WINDOW + 1]          # the windows within the first EARLY_STEPS steps
    early_max = float(np.max(early)) if len(early) else float("inf")
    failed = last is None or last > E.FAIL_LOSS
    diverged_early = early_max > EARLY_FACTOR * E.FAIL_LOSS
    steps = np.nonzero(r["clipped"])[0]
    c_at = [clip if s >= clip_from else None for s in steps]
    finite_norm = np.where(np.isfinite(norm), norm, -np.inf)
    return {
        "last_loss": last, "failed": bool(failed),
        "best_loss": float(win[i_best]), "best_step": i_best + WINDOW - 1,
        "loss_at_20": float(loss[STEP20]) if n > STEP20 else None,
        "early_max_loss": _finite(early_max), "diverged_early": bool(diverged_early),
        "collapsed": bool(failed and not diverged_early),
        "max_grad_norm": float(np.max(finite_norm)), "max_grad_step": int(np.argmax(finite_norm)),
        "diverged_at": None if complete else int(np.argmin(np.isfinite(np.append(loss, np.nan)))),
        "loss_windows": [_finite(np.mean(loss[i:i + WINDOW])) for i in range(0, n, WINDOW)],
        # every clipped step: [step, gradient norm, 1 - c / norm]
        "clipped": [[int(s), float(norm[s]), float(1 - c / norm[s])] for s, c in zip(steps, c_at)],
    }


def sweep_clipping(seeds):
    out = {}
    for name, (lr, clip, start) in variants().items():
        out[name] = []
        for seed in seeds:
            rec = {"seed": seed}
            rec.update(describe(sgd_run(seed, lr, clip, start), clip, start))
            out[name].append(rec)
    return {"variants": {k: {"lr": lr, "clip": c, "clip_from": s} for k, (lr, c, s) in variants().items()},
            "fail_loss": E.FAIL_LOSS, "window": WINDOW, "early_steps": EARLY_STEPS,
            "early_loss": EARLY_FACTOR * E.FAIL_LOSS, "runs": out}


def jacobian_medians(params, x):
    """Median over the sequences of ||d h_T / d h_{T-L}||_2 for L = 1 .. T-1; sigma_max; mean f'."""
    W = params["W_hh"]
    h, _ = sl.rnn_forward(x, None, params["W_xh"], W, params["b_h"])
    fprime = 1.0 - h**2                                # tanh'(a_t), (N, T, H); h[:, t-1] is h_t
    T = x.shape[1]
    # row vectors: d h_t = d h_{t-1} W diag(f'(a_t)), so d h_T / d h_{T-L} is the product of the
    # factors W diag(f'(a_t)) for t = T-L+1 .. T, in that order
    P = W[None] * fprime[:, T - 1][:, None, :]
    med = [float(np.median(np.linalg.svd(P, compute_uv=False)[:, 0]))]
    for L in range(2, T):
        P = (W[None] * fprime[:, T - L][:, None, :]) @ P
        med.append(float(np.median(np.linalg.svd(P, compute_uv=False)[:, 0])))
    return {"jac_median": med, "sigma_max": float(sl.spectral_norm(W)),
            "mean_fprime": float(fprime.mean())}


def sweep_adding(seeds):
    out = {}
    for T in ADD_LENGTHS:
        eval_add = sl.adding_problem(E.N_EVAL_ADD, T, rng=E.EVAL_SEED_ADD)
        steps = E.STEPS_ADD * (BUDGET_FACTOR if T == LONG_T else 1)
        runs = []
        for seed in seeds:
            params = sl.init_rnn_params(2, E.H_ADD, 1, rng=seed)
            rec = {"seed": seed, "init": jacobian_medians(params, eval_add[0])}
            snap = {}

            def keep(step, p, _loss):
                if step + 1 == E.STEPS_ADD:            # after the 700th update: experiments.py's run
                    snap["p"] = {k: v.copy() for k, v in p.items()}

            hist = sl.train_rnn(
                params, lambda rng, T=T: sl.adding_problem(E.B_ADD, T, rng=rng), steps,
                optimizer=sl.Adam(lr=E.LR_ADD), rng=seed + 10, loss="mse", truncate=None,
                eval_data=eval_add, eval_every=E.EVAL_EVERY_ADD, callback=keep)
            rec[f"step{E.STEPS_ADD}"] = jacobian_medians(snap["p"], eval_add[0])
            if steps != E.STEPS_ADD:
                rec[f"step{steps}"] = jacobian_medians(params, eval_add[0])
            rec.update({"steps": steps, "eval_step": hist.eval_step.tolist(),
                        "eval_loss": hist.eval_loss.tolist(), "diverged_at": hist.diverged_at})
            runs.append(rec)
        out[str(T)] = {"steps": steps, "runs": runs}
    return out


def baseline_check(res):
    """Largest differences from results/experiments.json for the runs both files hold."""
    path = ROOT / "sweeps" / "results" / "experiments.json"
    if not path.exists():
        return None
    ref = json.loads(path.read_text())
    out = {}
    if "clipping" in res:
        diffs, same = [], True
        for seed_rec in ref["clipping"]["runs"]:
            seed = seed_rec["seed"]
            for name in ("none", "clip", "clip_from"):
                mine = next((r for r in res["clipping"]["runs"][name] if r["seed"] == seed), None)
                if mine is None:
                    continue
                theirs = seed_rec[name]
                same &= [c[0] for c in mine["clipped"]] == theirs["clipped_steps"]
                same &= mine["failed"] == theirs["failed"]
                a, b = mine["last_loss"], theirs["last_loss"]
                diffs.append(0.0 if a is None and b is None else abs(a - b))
        out["clipping"] = {"runs": len(diffs), "same_clipped_steps_and_failed": bool(same),
                           "max_abs_last_loss_diff": max(diffs) if diffs else None}
    if "adding" in res:
        diffs, n = [], 0
        for T, d in res["adding"].items():
            theirs = {r["seed"]: r for r in ref["adding"][T]["full"]}
            for r in d["runs"]:
                q = theirs.get(r["seed"])
                if q is None:
                    continue
                k = len(q["eval_loss"])
                assert r["eval_step"][:k] == q["eval_step"]
                diffs.append(float(np.max(np.abs(np.subtract(r["eval_loss"][:k], q["eval_loss"])))))
                n += 1
        out["adding"] = {"runs": n, "max_abs_eval_mse_diff": max(diffs) if diffs else None}
    return out


def print_tables(res):
    if "clipping" in res:
        cl = res["clipping"]
        print(f"\nClipping controls: mean loss over the last {E.LAST} steps per seed "
              f"(F: failed, above log V = {E.FAIL_LOSS:.3f}; e: diverged early; c: collapsed)")
        print(f"{'variant':12s} " + " ".join(f"{s:>8d}" for s in res["seeds"]) + "  failed early collapsed")
        for name, runs in cl["runs"].items():
            cells = []
            for r in runs:
                v = "inf" if r["last_loss"] is None else f"{r['last_loss']:.3f}"
                flag = "e" if r["diverged_early"] else ("c" if r["collapsed"] else " ")
                cells.append(f"{v}{'F' if r['failed'] else ' '}{flag}")
            print(f"{name:12s} " + " ".join(f"{c:>8s}" for c in cells)
                  + f"  {sum(r['failed'] for r in runs):6d} {sum(r['diverged_early'] for r in runs):5d}"
                  + f" {sum(r['collapsed'] for r in runs):9d}")
        print("\nunclipped at the committed rate: best loss (step), loss at step 20, largest gradient norm (step)")
        for r in cl["runs"]["none"]:
            print(f"seed {r['seed']}: best {r['best_loss']:.3f} ({r['best_step']}), step 20 {r['loss_at_20']:.2f}, "
                  f"max |g| {r['max_grad_norm']:.1f} ({r['max_grad_step']})")
        print("\nclipping from step 30 at c = 1, seed 6: [step, norm, shortening]")
        rec6 = [r for r in cl["runs"]["clip_from"] if r["seed"] == 6]
        print([[s, round(g, 2), round(f, 3)] for s, g, f in rec6[0]["clipped"]] if rec6 else "-")
    if "adding" in res:
        for T, d in res["adding"].items():
            print(f"\nAdding, T = {T}, full BPTT, {d['steps']} steps: held-out MSE at 700 / end; "
                  "median ||dh_T/dh_(T-L)|| at L = 1, 4, T/2, T-1 (init -> 700)")
            for r in d["runs"]:
                i700 = r["eval_step"].index(E.STEPS_ADD)
                j0, j1 = r["init"]["jac_median"], r[f"step{E.STEPS_ADD}"]["jac_median"]
                lags = sorted({1, 4, int(T) // 2, int(T) - 1})
                print(f"seed {r['seed']}: {r['eval_loss'][i700]:.4f} / {r['eval_loss'][-1]:.4f}   "
                      + "  ".join(f"L={L}: {j0[L - 1]:.2f}->{j1[L - 1]:.2f}" for L in lags))
    if res.get("baseline_check"):
        print("\nbaseline check against results/experiments.json:", res["baseline_check"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="number of seeds (1, 2, ...)")
    ap.add_argument("--only", choices=("clipping", "adding"), action="append",
                    help="run only this sweep (repeatable); --save needs both")
    ap.add_argument("--save", metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    if args.save and args.only:
        ap.error("--save writes the file the chapter reads: run both sweeps")
    seeds = tuple(range(1, args.seeds + 1))
    which = args.only or ["clipping", "adding"]
    res = {"seeds": list(seeds)}
    timing = {}
    for name, fn in (("clipping", sweep_clipping), ("adding", sweep_adding)):
        if name in which:
            t0 = time.perf_counter()
            res[name] = fn(seeds)
            timing[name] = round(time.perf_counter() - t0, 1)
            print(f"{name}: {timing[name]} s", file=sys.stderr, flush=True)
    res["baseline_check"] = baseline_check(res)
    res["settings"] = {
        "settings_from": "sweeps/experiments.py",
        "clipping": {"H": E.H_CLIP, "lr": E.LR_CLIP, "steps": E.STEPS_CLIP, "clip_norm": E.CLIP,
                     "clip_from": E.CLIP_FROM, "last": E.LAST, "optimizer": "SGD",
                     "lower_lrs": list(LOWER_LRS), "larger_cs": list(LARGER_CS), "c_from": C_FROM,
                     "window": WINDOW, "early_steps": EARLY_STEPS,
                     "early_factor": EARLY_FACTOR},
        "adding": {"H": E.H_ADD, "steps": E.STEPS_ADD, "budget_factor": BUDGET_FACTOR,
                   "long_T": LONG_T, "lengths": list(ADD_LENGTHS), "lr": E.LR_ADD, "batch": E.B_ADD,
                   "n_eval": E.N_EVAL_ADD, "eval_seed": E.EVAL_SEED_ADD, "optimizer": "Adam",
                   "truncate": None},
    }
    res["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "python": platform.python_version(), "numpy": np.__version__,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                                               "OPENBLAS_L2_SIZE")},
        "seconds": timing,
    }
    print_tables(res)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print(f"\nwrote {args.save}")


if __name__ == "__main__":
    main()
