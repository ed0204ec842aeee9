"""Multi-seed sweep behind the attention chapter's numbers experiment (issue 20).

The sequence-to-sequence chapter's task and protocol, unchanged
(``sweeps/seq2seq.py``: numbers to English words, ``number_splits(seed=0)``,
``STEPS`` Adam steps at ``LR``, batches of ``BATCH`` drawn with replacement,
clipping at ``CLIP``, weights ``rng=seed``, batches ``rng=seed + 100``,
per-token loss), with the attention encoder-decoder of
:mod:`seqlib.attention.model` (bidirectional encoder, additive score) in
two variants, each for every seed in ``SEEDS``:

* ``attention``: the vanilla tanh RNN as the cell of both encoder
  directions and of the decoder, as the last chapter's ``forward`` and
  ``context`` variants;
* ``attention_lstm``: the LSTM instead, as the last chapter's ``lstm``.

A control (``*_w5``): the same training with 5-digit numbers in the
training split (``number_splits(train_digits=(1, 2, 3, 4, 5),
long_digits=(6,))``: train, validation and test then hold 1- to 5-digit
numbers, pairwise disjoint, and the unseen length is 6 digits), for the two
attention variants and for the last chapter's ``context`` and ``lstm``
encoder-decoders (:mod:`seqlib.seq2seq`, D and H of ``sweeps/seq2seq.py``):
``attention_w5``, ``attention_lstm_w5``, ``context_w5``, ``lstm_w5``.
Whether a model decodes 5-digit numbers when it has seen some separates "the
model cannot" from "training never showed it".

Recorded per run, as ``sweeps/seq2seq.py`` records: the training loss in
windows of ``WINDOW`` steps, every ``EVAL_EVERY`` steps the validation loss
and greedy exact match, at the end exact match of greedy decoding and beam
search (width ``BEAM``) on the test and the 5-digit numbers; the parameter
count; and the weights of seed 0 of each variant (``attention_weights.npz``,
its digest in the JSON), for the chapter's alignment figures.

Alignment (``align_*``, attention variants): on the longest test numbers
(4 digits; 5 in the control) and on the long set, every output word of greedy
decoding's right prefix (up to its first wrong word) that names one digit's
value ("four", "thirty", ...; not "hundred"/"thousand", not a teen, which
names two) has a known source digit; ``align_hit`` counts the words whose
largest attention weight falls on that digit, ``align_n`` all such words.

Also kept: greedy decoding's tokens for every test and long number
(``*_greedy_tokens``), and exact match by digit count (``*_acc_by_digits``).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/attention.py --save sweeps/results/attention.json

``--seeds N`` runs seeds 0..N-1; ``--procs`` the processes (default 1).
Prints a table.  Asserts nothing.
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
from seqlib.attention import model as am  # noqa: E402
from seqlib.seq2seq import data as nd  # noqa: E402

SEEDS = tuple(range(6))
VARIANTS = ("attention", "attention_lstm", "attention_w5", "attention_lstm_w5", "context_w5", "lstm_w5")
D, H_ENC, H, A = 16, 32, 64, 32
S2S_H = 64  # the last chapter's H (sweeps/seq2seq.py)
STEPS = 2000
BATCH = 32
LR = 1e-2
CLIP = 5.0
WINDOW = 20
EVAL_EVERY = 200
BEAM = 4
MAX_LEN = 12
SPLIT_SEED = 0
SAVE_WEIGHTS = (("attention", 0), ("attention_lstm", 0))


def config(variant: str) -> am.AttentionConfig | s2.Seq2SeqConfig:
    if not variant.startswith("attention"):
        return s2.Seq2SeqConfig(V_x=len(nd.SRC_VOCAB), V_y=len(nd.TGT_VOCAB), eos=nd.EOS, bos=nd.BOS, D=D,
                                H=S2S_H, context=variant.startswith("context"),
                                cell="lstm" if variant.startswith("lstm") else "rnn")
    return am.AttentionConfig(V_x=len(nd.SRC_VOCAB), V_y=len(nd.TGT_VOCAB), eos=nd.EOS, bos=nd.BOS, D=D,
                              H_enc=H_ENC, H=H, A=A, score="additive",
                              cell="lstm" if variant.startswith("attention_lstm") else "rnn")


def splits_of(variant: str) -> nd.NumberSplits:
    if variant.endswith("_w5"):
        return nd.number_splits(train_digits=(1, 2, 3, 4, 5), long_digits=(6,), seed=SPLIT_SEED)
    return nd.number_splits(seed=SPLIT_SEED)


class Model:
    """The functions of one model kind: the attention model's or the plain encoder-decoder's."""

    def __init__(self, cfg) -> None:
        self.cfg, self.att = cfg, isinstance(cfg, am.AttentionConfig)

    def init(self, seed: int) -> dict:
        return am.init_attention_seq2seq(self.cfg, rng=seed) if self.att else s2.init_seq2seq_params(self.cfg, rng=seed)

    def loss(self, params, batch) -> float:
        return (am.attention_seq2seq_loss if self.att else s2.seq2seq_loss)(params, batch, self.cfg)

    def greedy(self, params, src):
        return (am.attention_greedy_decode if self.att else sl.greedy_decode)(params, src, self.cfg, MAX_LEN)

    def beam(self, params, s):
        return (am.attention_beam_search if self.att else sl.beam_search)(params, s, self.cfg, BEAM, MAX_LEN)[0]


def exact(hyps, targets) -> np.ndarray:
    return np.array([list(h.tokens) == list(t) for h, t in zip(hyps, targets)])


_DIGIT_WORDS = {w: i for i, w in enumerate(nd.TGT_VOCAB)}


def digit_alignment(number: int) -> list[int | None]:
    """For each target word of ``number`` (EOS excluded), the source position of the digit it names, or None."""
    digits = str(number)
    words = nd.number_to_words(number)
    out: list[int | None] = []
    n = len(digits)
    # walk the number's groups as the words do: thousands group then the last three digits
    pos_of_group = []
    if n > 3:
        pos_of_group.append((0, n - 3))  # digits[0 : n-3] are the thousands
    pos_of_group.append((max(0, n - 3), n))
    wi = 0
    for lo, hi in pos_of_group:
        g = digits[lo:hi].rjust(3, "0")
        off = hi - 3  # source position of g[0]
        h, t, u = g
        if h != "0":
            out += [off, None]  # "<digit> hundred"
            wi += 2
        if t == "1":
            out.append(None)  # a teen names two digits
            wi += 1
        else:
            if t != "0":
                out.append(off + 1)
                wi += 1
            if u != "0":
                out.append(off + 2)
                wi += 1
        if lo == 0 and n > 3:
            out.append(None)  # "thousand"
            wi += 1
    if number == 0:
        out = [0]
    if len(out) != len(words):
        raise AssertionError(f"alignment of {number}: {out} for {words}")
    return out


def alignment(hyps, numbers, targets) -> tuple[int, int]:
    hit = n = 0
    for h, num, tgt in zip(hyps, numbers, targets):
        for l, pos in enumerate(digit_alignment(int(num))):
            if l >= len(h.tokens) or h.tokens[l] != tgt[l]:
                break  # only the output's right prefix: up to the first wrong word
            if pos is None:
                continue
            n += 1
            hit += int(np.argmax(h.weights[l]) == pos)
    return hit, n


def run(args: tuple[str, int]) -> dict:
    variant, seed = args
    t0 = time.perf_counter()
    splits = splits_of(variant)
    cfg = config(variant)
    model = Model(cfg)
    params = model.init(seed)
    valid_src = splits.sources["valid"]
    valid_batch = s2.make_batch(valid_src, splits.targets["valid"], cfg)
    rng = np.random.default_rng(seed + 100)
    opt = sl.Adam(lr=LR)
    losses, ev_step, ev_loss, ev_acc = [], [], [], []
    diverged = None
    for start in range(0, STEPS + 1, EVAL_EVERY):
        ev_step.append(start)
        ev_loss.append(model.loss(params, valid_batch))
        ev_acc.append(float(exact(model.greedy(params, valid_src), splits.targets["valid"]).mean()))
        if start == STEPS:
            break
        try:
            losses += sl.train_seq2seq(params, splits.sources["train"], splits.targets["train"], cfg,
                                       EVAL_EVERY, rng=rng, batch_size=BATCH, clip_norm=CLIP,
                                       optimizer=opt).tolist()
        except FloatingPointError as e:
            diverged = {"step": start, "message": str(e)}
            break
    out = {"variant": variant, "seed": seed, "n_params": int(sum(v.size for v in params.values())),
           "diverged": diverged, "eval_step": ev_step, "valid_loss": ev_loss, "valid_greedy_acc": ev_acc}
    if diverged is None:
        out["train_loss"] = np.asarray(losses).reshape(-1, WINDOW).mean(axis=1).tolist()
        for name in ("test", "long"):
            src, tgt = splits.sources[name], splits.targets[name]
            greedy = model.greedy(params, src)
            beam = [model.beam(params, s) for s in src]
            ok_g, ok_b = exact(greedy, tgt), exact(beam, tgt)
            out[f"{name}_greedy_acc"] = float(ok_g.mean())
            out[f"{name}_beam_acc"] = float(ok_b.mean())
            out[f"{name}_n"] = len(tgt)
            out[f"{name}_teacher_forced_loss"] = model.loss(params, s2.make_batch(src, tgt, cfg))
            out[f"{name}_greedy_tokens"] = [list(h.tokens) for h in greedy]
            lens = np.array([len(s) for s in src])
            out[f"{name}_greedy_acc_by_digits"] = {int(d): float(ok_g[lens == d].mean()) for d in np.unique(lens)}
            out[f"{name}_beam_acc_by_digits"] = {int(d): float(ok_b[lens == d].mean()) for d in np.unique(lens)}
            if model.att:
                nums = splits.numbers[name]
                # alignment on the longest test numbers (4 digits, or 5 in the control) and on the long set
                keep = [i for i, s in enumerate(src) if len(s) == lens.max()]
                g, nm, tg = [greedy[i] for i in keep], [nums[i] for i in keep], [tgt[i] for i in keep]
                out[f"{name}_align_digits"] = int(lens.max())
                out[f"{name}_align_hit"], out[f"{name}_align_n"] = alignment(g, nm, tg)
        if (variant, seed) in SAVE_WEIGHTS:
            out["params"] = {k: v for k, v in params.items()}
    out["seconds"] = time.perf_counter() - t0
    print(f"{variant:>15} {seed:>2}  test {out.get('test_greedy_acc', float('nan')):.3f}  "
          f"5-digit {out.get('long_greedy_acc', float('nan')):.3f} / beam {out.get('long_beam_acc', float('nan')):.3f}"
          f"  {out['seconds']:.0f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save", type=Path, help="write the results JSON here (and the weights next to it)")
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="run seeds 0..N-1")
    ap.add_argument("--procs", type=int, default=1)
    args = ap.parse_args()
    seeds = tuple(range(args.seeds))
    jobs = [(v, s) for v in VARIANTS for s in seeds]
    t0 = time.perf_counter()
    if args.procs > 1:
        with Pool(args.procs) as pool:
            runs = pool.map(run, jobs, chunksize=1)
    else:
        runs = [run(j) for j in jobs]
    total = time.perf_counter() - t0
    result = {
        "settings": {"seeds": list(seeds), "variants": list(VARIANTS), "D": D, "H_enc": H_ENC, "H": H, "A": A,
                     "steps": STEPS, "batch": BATCH, "lr": LR, "clip": CLIP, "window": WINDOW,
                     "eval_every": EVAL_EVERY, "beam": BEAM, "max_len": MAX_LEN, "split_seed": SPLIT_SEED},
        "runs": runs,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "seconds_total": total},
    }
    weights = {f"{r['variant']}_{r['seed']}.{k}": v for r in runs for k, v in r.pop("params", {}).items()}
    if args.save is None:
        return
    wpath = args.save.parent / "attention_weights.npz"
    np.savez_compressed(wpath, **weights)
    result["weights"] = {"file": wpath.name, "keys": sorted(weights),
                         "sha256": hashlib.sha256(b"".join(
                             np.ascontiguousarray(weights[k]).tobytes() for k in sorted(weights))).hexdigest()}
    args.save.write_text(json.dumps(result, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {args.save} ({args.save.stat().st_size / 1e3:.0f} kB) in {total:.0f} s")


if __name__ == "__main__":
    main()
