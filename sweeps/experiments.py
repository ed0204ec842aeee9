"""Multi-seed sweeps behind the claims of the Experiments chapter.

The chapter's pages train one seed of each experiment live; every
conclusion they draw ("worse", "fails", "rescues", "handles") is checked here
across several seeds.  Four pages read the results from
``sweeps/results/experiments.json``, quote the rates and ranges, and assert
their claims against them:

* chapters/experiments.md: the chapter's overview figure and summary;
* chapters/experiments_reber.md: the full-BPTT language model;
* chapters/experiments_truncation.md: truncation, on the language model and
  on the adding problem;
* chapters/experiments_clipping.md: clipping.

Three sweeps, with the pages' settings:

* ``reber``: the character-level language model of the embedded Reber
  grammar with full BPTT, chunked truncation (kappa = 4 and 2) and
  TBPTT(4, 12): held-out perplexity, the probability of the correct repeated
  letter by lag, and, for every trained network, sigma_max(W_hh), the
  spectral radius, the mean tanh derivative on the held-out states and the
  norm of the state Jacobian d h_{3+L} / d h_3 (how fast the trace of the
  first letter fades);
* ``adding``: the adding problem at T = 8, 16, 32, full BPTT and chunked
  kappa = 4, held-out MSE during training;
* ``clipping``: plain SGD at a large learning rate on the Reber model,
  without clipping, with norm clipping from the first step, and with norm
  clipping only from step 30 on.

Seed s initializes the weights with ``rng=s``; the batches are drawn with
``rng=s + 4`` (Reber, clipping) or ``rng=s + 10`` (adding), as on the pages.

    OPENBLAS_NUM_THREADS=1 python sweeps/experiments.py            # print the tables
    OPENBLAS_NUM_THREADS=1 python sweeps/experiments.py --save sweeps/results/experiments.json

Prints tables, asserts nothing (the pages assert their claims).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: small matrices, 2 shared cores

import argparse
import datetime
import json
import platform
import sys
import time

import numpy as np

import seqlib as sl

SEEDS = tuple(range(1, 9))

# Reber language model (experiments_reber.md, "A Language Model of the
# Embedded Reber Grammar", and experiments_truncation.md, "Long-Range
# Dependencies and Truncation")
V = len(sl.REBER_VOCAB)
H_LM, STEPS_LM, LR_LM, B_LM, EVAL_EVERY_LM = 32, 800, 0.01, 32, 50
N_EVAL_LM, EVAL_SEED_LM = 1000, 123
SCHEMES = {"full": None, "chunked4": 4, "chunked2": 2, "tbptt4_12": (4, 12)}
LAG_BINS = ((5, 6), (7, 9), (10, 12), (13, 15), (16, 60))
FIRST_A_STEP = 3  # <bos>, B, a: the first a is the input at step 3
JAC_LAGS = tuple(range(1, 13))

# Adding problem (experiments_truncation.md, section "The adding problem")
LENGTHS, STEPS_ADD, B_ADD, N_EVAL_ADD, LR_ADD, H_ADD = (8, 16, 32), 700, 64, 1000, 0.003, 32
EVAL_SEED_ADD, EVAL_EVERY_ADD = 99, 100
ADD_SCHEMES = {"full": None, "chunked4": 4}

# Clipping (experiments_clipping.md, "Clipping at a Large Learning Rate")
H_CLIP, LR_CLIP, STEPS_CLIP, CLIP, CLIP_FROM, LAST = 24, 2.5, 400, 1.0, 30, 100
FAIL_LOSS = float(np.log(V))  # a run "fails" if its last-LAST-step loss is worse than guessing


def reber_batches(rng, B=B_LM):
    return sl.lm_batch(sl.embedded_reber_strings(B, rng))


def train_lm(truncate, seed, eval_lm):
    params = sl.init_rnn_params(V, H_LM, V, rng=seed)
    hist = sl.train_rnn(params, reber_batches, STEPS_LM, optimizer=sl.Adam(lr=LR_LM),
                        rng=seed + 4, truncate=truncate, eval_data=eval_lm,
                        eval_every=EVAL_EVERY_LM)
    return params, hist


def prob_of_repeat(params, eval_lm, lengths):
    """P(second a | history) for every held-out string, and the lag it spans."""
    x, y, _ = eval_lm
    h, _ = sl.rnn_forward(x, None, params["W_xh"], params["W_hh"], params["b_h"])
    probs = sl.softmax(h @ params["W_hy"] + params["b_y"])
    rows, col = np.arange(len(lengths)), lengths - 2  # target index of s[-2]
    return probs[rows, col, y[rows, col]], lengths - 4


def by_lag(p, lag):
    return [float(p[(lag >= a) & (lag <= b)].mean()) for a, b in LAG_BINS]


def fading(params, eval_lm, lengths):
    """sigma_max, rho, mean f' on held-out states, median ||d h_{3+L} / d h_3||_2 by lag L."""
    x, _, w = eval_lm
    W = params["W_hh"]
    h, _ = sl.rnn_forward(x, None, params["W_xh"], W, params["b_h"])
    fprime = 1.0 - h**2  # tanh'(a_t) = 1 - h_t^2, shape (N, T, H)
    real = w > 0
    # row vectors: d h_t = d h_{t-1} W_hh diag(f'(a_t)); multiply the step Jacobians from step 4 on
    s0 = FIRST_A_STEP - 1  # index of h_3
    P = np.broadcast_to(np.eye(W.shape[0]), (len(lengths), *W.shape)).copy()
    med = []
    for L in JAC_LAGS:
        P = (P @ W) * fprime[:, s0 + L][:, None, :]
        ok = lengths >= FIRST_A_STEP + L  # step 3 + L still reads a letter of the string
        norms = np.linalg.svd(P[ok], compute_uv=False)[:, 0]
        med.append(float(np.median(norms)))
    return {
        "sigma_max": float(sl.spectral_norm(W)),
        "rho": float(sl.spectral_radius(W)),
        "mean_fprime": float(fprime[real].mean()),
        "frac_saturated": float((np.abs(h[real]) > 0.9).mean()),
        "jac_median": med,
    }


def sweep_reber(seeds):
    eval_strings = sl.embedded_reber_strings(N_EVAL_LM, rng=EVAL_SEED_LM)
    eval_lm = sl.lm_batch(eval_strings)
    lengths = np.array([len(s) for s in eval_strings])
    out = {name: [] for name in SCHEMES}
    for seed in seeds:
        for name, trunc in SCHEMES.items():
            params, hist = train_lm(trunc, seed, eval_lm)
            p, lag = prob_of_repeat(params, eval_lm, lengths)
            rec = {"seed": seed, "eval_ppl": float(hist.eval_perplexity[-1]),
                   "eval_loss": float(hist.eval_loss[-1]), "p_repeat": by_lag(p, lag),
                   "diverged_at": hist.diverged_at}
            rec.update(fading(params, eval_lm, lengths))
            out[name].append(rec)
    counts = [int(((lengths - 4 >= a) & (lengths - 4 <= b)).sum()) for a, b in LAG_BINS]
    return {"lag_bins": [list(b) for b in LAG_BINS], "strings_per_bin": counts,
            "jac_lags": list(JAC_LAGS), "runs": out}


def sweep_adding(seeds):
    out = {}
    for T in LENGTHS:
        eval_add = sl.adding_problem(N_EVAL_ADD, T, rng=EVAL_SEED_ADD)
        out[str(T)] = {name: [] for name in ADD_SCHEMES}
        for seed in seeds:
            for name, trunc in ADD_SCHEMES.items():
                params = sl.init_rnn_params(2, H_ADD, 1, rng=seed)
                hist = sl.train_rnn(
                    params, lambda rng, T=T: sl.adding_problem(B_ADD, T, rng=rng), STEPS_ADD,
                    optimizer=sl.Adam(lr=LR_ADD), rng=seed + 10, loss="mse", truncate=trunc,
                    eval_data=eval_add, eval_every=EVAL_EVERY_ADD)
                out[str(T)][name].append({"seed": seed, "eval_step": hist.eval_step.tolist(),
                                          "eval_loss": hist.eval_loss.tolist(),
                                          "diverged_at": hist.diverged_at})
    return out


def sgd_run(seed, clip=None, clip_from=0):
    """Plain SGD on the Reber model; norm clipping at ``clip`` from step ``clip_from`` on."""
    params = sl.init_rnn_params(V, H_CLIP, V, rng=seed)
    batch_rng = np.random.default_rng(seed + 4)  # one stream of batches across both parts
    parts = []
    for steps, c in ((clip_from, None), (STEPS_CLIP - clip_from, clip)):
        if steps:
            parts.append(sl.train_rnn(params, reber_batches, steps, optimizer=sl.SGD(lr=LR_CLIP),
                                      rng=batch_rng, clip_norm=c))
            if parts[-1].diverged_at is not None:
                break
    return {k: np.concatenate([getattr(h, k) for h in parts]) for k in ("loss", "grad_norm", "clipped")}


def sweep_clipping(seeds):
    variants = {"none": (None, 0), "clip": (CLIP, 0), "clip_from": (CLIP, CLIP_FROM)}
    out = []
    for seed in seeds:
        rec = {"seed": seed}
        for name, (clip, start) in variants.items():
            r = sgd_run(seed, clip, start)
            last = float(np.mean(r["loss"][-LAST:])) if len(r["loss"]) == STEPS_CLIP else float("inf")
            finite = bool(np.all(np.isfinite(r["loss"]))) and len(r["loss"]) == STEPS_CLIP
            rec[name] = {"last_loss": last if np.isfinite(last) else None,
                         "failed": (not finite) or last > FAIL_LOSS,
                         "clipped_steps": np.nonzero(r["clipped"])[0].tolist(),
                         "max_grad_norm": float(np.nanmax(r["grad_norm"]))}
        out.append(rec)
    return {"fail_loss": FAIL_LOSS, "runs": out}


def _rng(vals, fmt="{:.2f}"):
    return f"{fmt.format(min(vals))}-{fmt.format(max(vals))}"


def print_tables(res):
    n = len(res["seeds"])
    if "reber" in res:
        _print_reber(res["reber"], n)
    if "adding" in res:
        _print_adding(res["adding"], n)
    if "clipping" in res:
        _print_clipping(res["clipping"], n)


def _print_reber(rb, n):
    print(f"\nReber LM, {n} seeds: held-out perplexity and P(correct repeated a) by lag "
          f"(min-max over seeds)")
    bins = [f"{a}-{b}" if b < 60 else f">={a}" for a, b in rb["lag_bins"]]
    print(f"{'scheme':10s} {'ppl':>13s} " + " ".join(f"{b:>9s}" for b in bins)
          + f" {'sig_max':>9s} {'rho':>9s} {'mean fp':>9s}")
    for name, runs in rb["runs"].items():
        cols = [_rng([r["p_repeat"][i] for r in runs]) for i in range(len(bins))]
        print(f"{name:10s} {_rng([r['eval_ppl'] for r in runs], '{:.4f}'):>13s} "
              + " ".join(f"{c:>9s}" for c in cols)
              + f" {_rng([r['sigma_max'] for r in runs], '{:.1f}'):>9s}"
              + f" {_rng([r['rho'] for r in runs], '{:.1f}'):>9s}"
              + f" {_rng([r['mean_fprime'] for r in runs]):>9s}")


def _print_adding(adding, n):
    print(f"\nAdding problem, {n} seeds: final held-out MSE per seed (constant predictor 1/6 = 0.167)")
    for T, d in adding.items():
        for name, runs in d.items():
            print(f"T = {T:>2s} {name:9s} " + " ".join(f"{r['eval_loss'][-1]:.4f}" for r in runs))
        worse = sum(k["eval_loss"][-1] > f["eval_loss"][-1] for k, f in zip(d["chunked4"], d["full"]))
        print(f"          chunked4 worse than full in {worse} of {n} seeds")


def _print_clipping(cl, n):
    print(f"\nClipping, {n} seeds: mean loss over the last {LAST} steps "
          f"(failed: above log V = {cl['fail_loss']:.3f}, or not finite)")
    print(f"{'seed':>4s} {'none':>9s} {'clip':>9s} {'clip from ' + str(CLIP_FROM):>14s}")
    for r in cl["runs"]:
        cells = ["inf" if r[v]["last_loss"] is None else f"{r[v]['last_loss']:.3f}"
                 for v in ("none", "clip", "clip_from")]
        print(f"{r['seed']:>4d} {cells[0]:>9s} {cells[1]:>9s} {cells[2]:>14s}")
    fails = {v: sum(r[v]["failed"] for r in cl["runs"]) for v in ("none", "clip", "clip_from")}
    print("failed: " + ", ".join(f"{v} {k} of {n}" for v, k in fails.items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="number of seeds (1, 2, ...)")
    ap.add_argument("--only", choices=("reber", "adding", "clipping"), action="append",
                    help="run only this sweep (repeatable); --save needs all three")
    ap.add_argument("--save", metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    if args.save and args.only:
        ap.error("--save writes the file the chapter reads: run all three sweeps")
    seeds = tuple(range(1, args.seeds + 1))
    which = args.only or ["reber", "adding", "clipping"]
    res = {"seeds": list(seeds)}
    timing = {}
    for name, fn in (("reber", sweep_reber), ("adding", sweep_adding), ("clipping", sweep_clipping)):
        if name in which:
            t0 = time.perf_counter()
            res[name] = fn(seeds)
            timing[name] = round(time.perf_counter() - t0, 1)
            print(f"{name}: {timing[name]} s", file=sys.stderr)
    res["settings"] = {
        "reber": {"H": H_LM, "steps": STEPS_LM, "lr": LR_LM, "batch": B_LM, "n_eval": N_EVAL_LM,
                  "eval_seed": EVAL_SEED_LM, "optimizer": "Adam",
                  "schemes": {k: v for k, v in SCHEMES.items()}},
        "adding": {"H": H_ADD, "steps": STEPS_ADD, "lr": LR_ADD, "batch": B_ADD,
                   "n_eval": N_EVAL_ADD, "eval_seed": EVAL_SEED_ADD, "lengths": list(LENGTHS),
                   "optimizer": "Adam"},
        "clipping": {"H": H_CLIP, "lr": LR_CLIP, "steps": STEPS_CLIP, "clip_norm": CLIP,
                     "clip_from": CLIP_FROM, "last": LAST, "optimizer": "SGD"},
    }
    res["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "python": platform.python_version(), "numpy": np.__version__,
        # OpenBLAS picks its kernels by CPU unless told; another kernel changes
        # the last digits, which training amplifies (the pages allow for it)
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
