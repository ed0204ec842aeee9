"""Multi-seed sweep behind the claims of the sequence-to-sequence chapter.

Task: numbers to English words (:mod:`seqlib.seq2seq.data`), splits from
``number_splits(seed=0)``: 1- to 4-digit numbers for training, validation and
test (pairwise disjoint), 5-digit numbers as the length-generalisation set.
Model: the encoder-decoder of :mod:`seqlib.seq2seq`, with the vanilla tanh
RNN as its cell unless the variant names another.

Six variants, each for every seed in ``SEEDS`` (weights ``rng=seed``,
batches ``rng=seed + 100``), ``STEPS`` Adam steps of teacher-forced training:

* ``forward``: source digits in reading order, per-token loss;
* ``reversed``: source digits reversed (Sutskever et al. 2014), per-token loss;
* ``context``: forward source, the encoder's last state also fed to every
  decoder step (Cho et al. 2014);
* ``per_sequence``: forward source, loss divided by the number of sequences
  instead of the number of target tokens;
* ``lstm``, ``gru``: forward source, per-token loss, with the LSTM or the GRU
  as the cell of encoder and decoder (the bridge passes h).

Recorded per run: the training loss (means over windows of ``WINDOW``
steps); every ``EVAL_EVERY`` steps the teacher-forced loss and the greedy
exact-match accuracy on the validation set; at the end, on the test set and
the 5-digit set, exact-match accuracy of greedy decoding and of beam search
(width ``BEAM``) and the log-probabilities of both outputs; and the norm of
the gradient reaching each source position (dL/de_m, 4-digit test numbers)
before and after training.  The weights of seed 0 of ``forward`` and
``reversed`` are saved for the chapter.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/seq2seq.py             # print the table
    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/seq2seq.py --save sweeps/results/seq2seq.json

``--save`` writes the JSON and, next to it, the saved weights
(``seq2seq_weights.npz``, whose digest the JSON holds); ``--seeds N`` runs
seeds 0..N-1.  Prints a table; runs the runs on
two processes (758 s on two cores shared with other work).  Asserts nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: small matrices, 2 shared cores

import argparse
import hashlib
import json
import platform
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import seqlib as sl  # noqa: E402
from seqlib import seq2seq as s2  # noqa: E402
from seqlib.seq2seq import data as nd  # noqa: E402

SEEDS = tuple(range(6))
VARIANTS = ("forward", "reversed", "context", "per_sequence", "lstm", "gru")
D, H = 16, 64
STEPS = 2000
BATCH = 32
LR = 1e-2
CLIP = 5.0
WINDOW = 20
EVAL_EVERY = 200
BEAM = 4
MAX_LEN = 12
SPLIT_SEED = 0
SAVE_WEIGHTS = (("forward", 0), ("reversed", 0))


def config(variant: str) -> s2.Seq2SeqConfig:
    return s2.Seq2SeqConfig(V_x=len(nd.SRC_VOCAB), V_y=len(nd.TGT_VOCAB), eos=nd.EOS, bos=nd.BOS,
                            D=D, H=H, context=variant == "context",
                            cell=variant if variant in ("lstm", "gru") else "rnn")


def sources(splits: nd.NumberSplits, name: str, variant: str) -> list[list[int]]:
    src = splits.sources[name]
    return nd.reverse_sources(src) if variant == "reversed" else src


def exact(hyps, targets) -> np.ndarray:
    return np.array([list(h.tokens) == list(t) for h, t in zip(hyps, targets)])


def source_grad_norms(params, splits, variant, cfg) -> list[float]:
    """Mean over 4-digit test numbers of ||dL/de_m|| at each source position m (reading order)."""
    idx = [i for i, s in enumerate(splits.sources["test"]) if len(s) == 4]
    src = [sources(splits, "test", variant)[i] for i in idx]
    batch = s2.make_batch(src, [splits.targets["test"][i] for i in idx], cfg)
    _, _, g = s2.seq2seq_loss_and_grads(params, batch, cfg, return_source_grads=True)
    norms = np.linalg.norm(g, axis=2).mean(axis=0)  # (M,) in the order the encoder reads
    if variant == "reversed":
        norms = norms[::-1]  # back to the digits' reading order
    return norms.tolist()


def run(args: tuple[str, int]) -> dict:
    variant, seed = args
    t0 = time.perf_counter()
    splits = nd.number_splits(seed=SPLIT_SEED)
    cfg = config(variant)
    params = s2.init_seq2seq_params(cfg, rng=seed)
    normalise = "sequence" if variant == "per_sequence" else "token"
    grad0 = source_grad_norms(params, splits, variant, cfg)
    valid_src = sources(splits, "valid", variant)
    valid_batch = s2.make_batch(valid_src, splits.targets["valid"], cfg)
    rng = np.random.default_rng(seed + 100)
    opt = sl.Adam(lr=LR)
    losses, ev_step, ev_loss, ev_acc = [], [], [], []
    for start in range(0, STEPS + 1, EVAL_EVERY):
        ev_step.append(start)
        ev_loss.append(s2.seq2seq_loss(params, valid_batch, cfg))
        ev_acc.append(float(exact(sl.greedy_decode(params, valid_src, cfg, MAX_LEN), splits.targets["valid"]).mean()))
        if start == STEPS:
            break
        losses += sl.train_seq2seq(params, sources(splits, "train", variant), splits.targets["train"], cfg,
                                   EVAL_EVERY, rng=rng, batch_size=BATCH, clip_norm=CLIP,
                                   normalise=normalise, optimizer=opt).tolist()
    out = {"variant": variant, "seed": seed,
           "train_loss": np.asarray(losses).reshape(-1, WINDOW).mean(axis=1).tolist(),
           "eval_step": ev_step, "valid_loss": ev_loss, "valid_greedy_acc": ev_acc,
           "grad_norm_init": grad0, "grad_norm_trained": source_grad_norms(params, splits, variant, cfg)}
    for name in ("test", "long"):
        src, tgt = sources(splits, name, variant), splits.targets[name]
        greedy = sl.greedy_decode(params, src, cfg, MAX_LEN)
        beam = [sl.beam_search(params, s, cfg, BEAM, MAX_LEN)[0] for s in src]
        out[f"{name}_greedy_acc"] = float(exact(greedy, tgt).mean())
        out[f"{name}_beam_acc"] = float(exact(beam, tgt).mean())
        g_lp, b_lp = np.array([h.score for h in greedy]), np.array([h.score for h in beam])
        g_ok, b_ok = exact(greedy, tgt), exact(beam, tgt)
        out[f"{name}_greedy_logp_mean"] = float(g_lp.mean())
        out[f"{name}_beam_logp_mean"] = float(b_lp.mean())
        out[f"{name}_beam_higher"] = int(np.sum(b_lp > g_lp + 1e-9))
        out[f"{name}_beam_lower"] = int(np.sum(b_lp < g_lp - 1e-9))
        out[f"{name}_beam_fixes"] = int(np.sum(b_ok & ~g_ok))
        out[f"{name}_beam_breaks"] = int(np.sum(g_ok & ~b_ok))
        out[f"{name}_n"] = len(tgt)
        out[f"{name}_teacher_forced_loss"] = s2.seq2seq_loss(params, s2.make_batch(src, tgt, cfg), cfg)
    if (variant, seed) in SAVE_WEIGHTS:
        out["params"] = {k: v for k, v in params.items()}
    out["seconds"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save", type=Path, help="write the results JSON here (and the weights next to it)")
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="run seeds 0..N-1")
    args = ap.parse_args()
    seeds = tuple(range(args.seeds))
    jobs = [(v, s) for v in VARIANTS for s in seeds]
    t0 = time.perf_counter()
    with Pool(2) as pool:
        runs = pool.map(run, jobs, chunksize=1)
    total = time.perf_counter() - t0
    print(f"{'variant':>13} {'seed':>4} {'test greedy':>11} {'test beam':>9} {'long greedy':>11} "
          f"{'valid loss':>10} {'s':>5}")
    for r in runs:
        print(f"{r['variant']:>13} {r['seed']:>4} {r['test_greedy_acc']:>11.3f} {r['test_beam_acc']:>9.3f} "
              f"{r['long_greedy_acc']:>11.3f} {r['valid_loss'][-1]:>10.4f} {r['seconds']:>5.1f}")
    result = {
        "settings": {"seeds": list(seeds), "variants": list(VARIANTS), "D": D, "H": H, "steps": STEPS,
                     "batch": BATCH, "lr": LR, "clip": CLIP, "window": WINDOW, "eval_every": EVAL_EVERY,
                     "beam": BEAM, "max_len": MAX_LEN, "split_seed": SPLIT_SEED},
        "runs": runs,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "seconds_total": total},
    }
    weights = {f"{r['variant']}_{r['seed']}.{k}": v for r in runs for k, v in r.pop("params", {}).items()}
    if args.save is None:
        return
    wpath = args.save.parent / "seq2seq_weights.npz"
    np.savez_compressed(wpath, **weights)
    # The JSON names the weights' digest, so that new weights change the JSON
    # (which the build hashes to decide whether to re-execute the chapter).
    result["weights"] = {"file": wpath.name, "keys": sorted(weights),
                         "sha256": hashlib.sha256(b"".join(
                             np.ascontiguousarray(weights[k]).tobytes() for k in sorted(weights))).hexdigest()}
    path = args.save
    path.write_text(json.dumps(result, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB) in {total:.0f} s")


if __name__ == "__main__":
    main()
