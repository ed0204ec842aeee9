"""Controls for the sequence-to-sequence chapter (issue 18).

``sweeps/seq2seq.py`` finds that the ``context`` variant (the encoder's last
state c also fed to every decoder step) decodes every test number exactly
in every seed, and the ``forward`` variant does not.  The context variant
also has more parameters (its decoder's input weights read [E_y[y], c]:
17,216 against 13,120 at H = 64).  This script reruns, with the very same
task, splits, optimiser, clipping, batches, evaluation and seeds (imported
from ``sweeps/seq2seq.py``), four variants for every seed in ``SEEDS``:

* ``forward``, ``context``: the two baselines at H = 64 again; their
  results reproduce ``results/seq2seq.json`` (the largest difference of
  every shared number is in ``baseline_check``; it is 0 with the kernel set
  below);
* ``forward_matched``: the forward variant with the hidden size whose
  parameter count (counted from :func:`seqlib.seq2seq.init_seq2seq_params`)
  is nearest the H = 64 context model's;
* ``context_matched``: the context variant with the hidden size whose count
  is nearest the H = 64 forward model's.

Recorded per run, as the main sweep does: the training loss in windows,
every ``EVAL_EVERY`` steps the validation loss and greedy exact match, and
at the end exact match of greedy decoding and beam search on the test and
5-digit numbers and the teacher-forced losses.

Exposure measurements (``exposure``): at every checkpoint (steps 0,
``EVAL_EVERY``, ..., ``STEPS``), on the test numbers (``test``) and on
their 4-digit subset (``test4``), and at the end on the 5-digit numbers
(``long``), counts that compare teacher forcing (the decoder reads the true
previous word; its output at a position is the argmax) with free running
(greedy decoding).  Per set: ``n_seq``, ``n_tok`` (target tokens, <eos>
included), ``exact`` (greedy exact matches), ``tf_right`` / ``free_right``
(positions right, position by position), ``tf_lcs`` / ``free_lcs`` (summed
length of the longest common subsequence of the output and the target;
the teacher-forced output is the argmax sequence, as long as the target),
``pos_n`` / ``tf_pos_right`` / ``free_pos_right`` (the same by target
position).  For the sequences that greedy decoding gets wrong
(``n_err_seq``), the first wrong position k is the same in both regimes
(up to it both read the true prefix); ``first_tf_wrong`` counts the
sequences whose teacher-forced argmax is wrong at k (all of them, a check);
``n_before`` counts the positions read with a correct prefix (all
positions of the exact sequences, and positions 0..k of the others), so
``n_err_seq / n_before`` is the error rate of a position whose prefix is
right; after k, ``n_after`` positions, of which ``tf_wrong_after`` are
wrong with teacher forcing and ``free_wrong_after`` running free (position
by position), and ``tf_lcs_after`` / ``free_lcs_after`` are the summed LCS
of the outputs' and the target's parts after k.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/seq2seq_controls.py --save sweeps/results/seq2seq_controls.json

Runs on two processes; ``--seeds N`` runs seeds 0..N-1.  Asserts nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: small matrices, 2 shared cores
# The kernel that results/seq2seq.json was computed with: with it the baselines reproduce that file bit
# for bit; with this machine's own (AMD EPYC) the training losses differ from the first hundred steps on.
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import argparse
import dataclasses
import json
import platform
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sweeps"))

import seqlib as sl  # noqa: E402
from seqlib import seq2seq as s2  # noqa: E402
from seqlib.seq2seq import data as nd  # noqa: E402

from seq2seq import (BATCH, BEAM, CLIP, EVAL_EVERY, LR, MAX_LEN, SEEDS, SPLIT_SEED, STEPS,  # noqa: E402
                     WINDOW, H, config, exact, sources)

BASE = ("forward", "context")


def n_params(variant: str, h: int) -> int:
    cfg = dataclasses.replace(config(variant), H=h)
    return int(sum(a.size for a in s2.init_seq2seq_params(cfg, rng=0).values()))


def nearest_h(variant: str, target: int) -> int:
    """The hidden size whose parameter count for ``variant`` is nearest ``target``."""
    return min(range(8, 4 * H), key=lambda h: (abs(n_params(variant, h) - target), h))


def specs() -> dict[str, tuple[str, int]]:
    """name -> (the main sweep's variant, hidden size)."""
    return {"forward": ("forward", H), "context": ("context", H),
            "forward_matched": ("forward", nearest_h("forward", n_params("context", H))),
            "context_matched": ("context", nearest_h("context", n_params("forward", H)))}


def lcs_len(a, b) -> int:
    """Length of the longest common subsequence of two token lists."""
    T = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            T[i + 1, j + 1] = T[i, j] + 1 if x == y else max(T[i, j + 1], T[i + 1, j])
    return int(T[-1, -1])


def exposure(params, cfg, src, tgt, masks: dict[str, np.ndarray]) -> dict[str, dict]:
    """Teacher forcing against free running on (src, tgt), summed over each mask's sequences."""
    b = s2.make_batch(src, tgt, cfg)
    logits, _ = s2.seq2seq_forward(params, b, cfg)
    tf_out = logits.argmax(-1)
    free = [list(h.tokens) for h in sl.greedy_decode(params, src, cfg, MAX_LEN)]
    L = b.tgt.shape[1]
    rows = []
    for i, t in enumerate(tgt):
        t = list(t)
        tf = [int(v) for v in tf_out[i, :len(t)]]
        fr = free[i]
        tf_ok = np.array([a == y for a, y in zip(tf, t)])
        fr_ok = np.array([l < len(fr) and fr[l] == y for l, y in enumerate(t)])
        r = {"tok": len(t), "exact": fr == t, "tf_right": int(tf_ok.sum()), "free_right": int(fr_ok.sum()),
             "tf_lcs": lcs_len(tf, t), "free_lcs": lcs_len(fr, t),
             "pos_n": np.arange(L) < len(t), "tf_pos": np.pad(tf_ok, (0, L - len(t))),
             "free_pos": np.pad(fr_ok, (0, L - len(t)))}
        if fr == t:
            r.update(err=0, first_tf_wrong=0, before=len(t), after=0, tf_wrong_after=0, free_wrong_after=0,
                     tf_lcs_after=0, free_lcs_after=0)
        else:
            k = int(np.argmin(fr_ok))  # the first wrong position (fr != t, so one exists)
            r.update(err=1, first_tf_wrong=int(not tf_ok[k]), before=k + 1, after=len(t) - 1 - k,
                     tf_wrong_after=int((~tf_ok[k + 1:]).sum()), free_wrong_after=int((~fr_ok[k + 1:]).sum()),
                     tf_lcs_after=lcs_len(tf[k + 1:], t[k + 1:]), free_lcs_after=lcs_len(fr[k + 1:], t[k + 1:]))
        rows.append(r)
    out = {}
    for name, m in masks.items():
        sel = [r for r, keep in zip(rows, m) if keep]
        s = lambda key: int(sum(int(r[key]) for r in sel))  # noqa: E731
        out[name] = {"n_seq": len(sel), "n_tok": s("tok"), "exact": s("exact"),
                     "tf_right": s("tf_right"), "free_right": s("free_right"),
                     "tf_lcs": s("tf_lcs"), "free_lcs": s("free_lcs"),
                     "pos_n": np.sum([r["pos_n"] for r in sel], axis=0).astype(int).tolist(),
                     "tf_pos_right": np.sum([r["tf_pos"] for r in sel], axis=0).astype(int).tolist(),
                     "free_pos_right": np.sum([r["free_pos"] for r in sel], axis=0).astype(int).tolist(),
                     "n_err_seq": s("err"), "first_tf_wrong": s("first_tf_wrong"), "n_before": s("before"),
                     "n_after": s("after"), "tf_wrong_after": s("tf_wrong_after"),
                     "free_wrong_after": s("free_wrong_after"), "tf_lcs_after": s("tf_lcs_after"),
                     "free_lcs_after": s("free_lcs_after")}
    return out


def run(args: tuple[str, str, int, int]) -> dict:
    name, variant, h, seed = args
    t0 = time.perf_counter()
    splits = nd.number_splits(seed=SPLIT_SEED)
    cfg = dataclasses.replace(config(variant), H=h)
    params = s2.init_seq2seq_params(cfg, rng=seed)
    valid_src = sources(splits, "valid", variant)
    valid_batch = s2.make_batch(valid_src, splits.targets["valid"], cfg)
    test_src, test_tgt = sources(splits, "test", variant), splits.targets["test"]
    test_masks = {"test": np.ones(len(test_tgt), bool),
                  "test4": np.array([len(s) == 4 for s in splits.sources["test"]])}
    rng = np.random.default_rng(seed + 100)  # as sweeps/seq2seq.py: the same batches
    opt = sl.Adam(lr=LR)
    losses, ev_step, ev_loss, ev_acc, expo = [], [], [], [], []
    for start in range(0, STEPS + 1, EVAL_EVERY):
        ev_step.append(start)
        ev_loss.append(s2.seq2seq_loss(params, valid_batch, cfg))
        ev_acc.append(float(exact(sl.greedy_decode(params, valid_src, cfg, MAX_LEN), splits.targets["valid"]).mean()))
        expo.append(exposure(params, cfg, test_src, test_tgt, test_masks))
        if start == STEPS:
            break
        losses += sl.train_seq2seq(params, sources(splits, "train", variant), splits.targets["train"], cfg,
                                   EVAL_EVERY, rng=rng, batch_size=BATCH, clip_norm=CLIP,
                                   optimizer=opt).tolist()
    out = {"name": name, "variant": variant, "H": h, "n_params": int(sum(a.size for a in params.values())),
           "seed": seed, "train_loss": np.asarray(losses).reshape(-1, WINDOW).mean(axis=1).tolist(),
           "eval_step": ev_step, "valid_loss": ev_loss, "valid_greedy_acc": ev_acc,
           "exposure": {k: [e[k] for e in expo] for k in test_masks}}
    long_src, long_tgt = sources(splits, "long", variant), splits.targets["long"]
    out["exposure"]["long"] = exposure(params, cfg, long_src, long_tgt, {"long": np.ones(len(long_tgt), bool)})["long"]
    for set_name in ("test", "long"):
        src, tgt = sources(splits, set_name, variant), splits.targets[set_name]
        greedy = sl.greedy_decode(params, src, cfg, MAX_LEN)
        beam = [sl.beam_search(params, s, cfg, BEAM, MAX_LEN)[0] for s in src]
        out[f"{set_name}_greedy_acc"] = float(exact(greedy, tgt).mean())
        out[f"{set_name}_beam_acc"] = float(exact(beam, tgt).mean())
        out[f"{set_name}_n"] = len(tgt)
        out[f"{set_name}_teacher_forced_loss"] = s2.seq2seq_loss(params, s2.make_batch(src, tgt, cfg), cfg)
    out["seconds"] = time.perf_counter() - t0
    return out


CHECKED = ("train_loss", "valid_loss", "valid_greedy_acc", "test_greedy_acc", "test_beam_acc",
           "test_teacher_forced_loss", "long_greedy_acc", "long_beam_acc", "long_teacher_forced_loss")


def baseline_check(runs: list[dict]) -> dict | None:
    """Largest |difference| between each baseline's numbers and results/seq2seq.json's, per variant."""
    path = ROOT / "sweeps" / "results" / "seq2seq.json"
    if not path.is_file():
        return None
    ref = {(r["variant"], r["seed"]): r for r in json.loads(path.read_text())["runs"]}
    out = {}
    for v in BASE:
        mine = [r for r in runs if r["name"] == v and (v, r["seed"]) in ref]
        out[v] = {"seeds": [r["seed"] for r in mine],
                  "max_abs_diff": max((float(np.max(np.abs(np.subtract(r[k], ref[(v, r["seed"])][k]))))
                                       for r in mine for k in CHECKED), default=None)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save", type=Path, help="write the results JSON here")
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="run seeds 0..N-1")
    args = ap.parse_args()
    seeds = tuple(range(args.seeds))
    sp = specs()
    jobs = [(name, v, h, s) for name, (v, h) in sp.items() for s in seeds]
    t0 = time.perf_counter()
    with Pool(2) as pool:
        runs = pool.map(run, jobs, chunksize=1)
    total = time.perf_counter() - t0
    print(f"{'name':>16} {'H':>3} {'params':>6} {'seed':>4} {'test greedy':>11} {'test beam':>9} "
          f"{'long greedy':>11} {'test TF loss':>12} {'s':>5}")
    for r in runs:
        print(f"{r['name']:>16} {r['H']:>3} {r['n_params']:>6} {r['seed']:>4} {r['test_greedy_acc']:>11.3f} "
              f"{r['test_beam_acc']:>9.3f} {r['long_greedy_acc']:>11.3f} {r['test_teacher_forced_loss']:>12.5f} "
              f"{r['seconds']:>5.1f}")
    result = {
        "settings": {"seeds": list(seeds), "specs": {k: {"variant": v, "H": h, "n_params": n_params(v, h)}
                                                     for k, (v, h) in sp.items()},
                     "steps": STEPS, "batch": BATCH, "lr": LR, "clip": CLIP, "window": WINDOW,
                     "eval_every": EVAL_EVERY, "beam": BEAM, "max_len": MAX_LEN, "split_seed": SPLIT_SEED},
        "baseline_check": baseline_check(runs),
        "runs": runs,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "seconds_total": total,
                    "command": " ".join(sys.argv),
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")},
    }
    print("baseline_check:", result["baseline_check"])
    print(f"{total:.0f} s")
    if args.save is None:
        return
    args.save.write_text(json.dumps(result, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {args.save} ({args.save.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
