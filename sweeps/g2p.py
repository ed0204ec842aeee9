"""Grapheme-to-phoneme on CMUdict: the attention model and the plain encoder-decoder, several seeds (issue 20).

The attention chapter's real-data section reads what this script writes.
Each *run* is one model trained from one seed:

* ``attention-s<seed>``: :func:`seqlib.attention.g2p.g2p_config` with
  ``ATTENTION`` (bidirectional LSTM encoder, additive score, LSTM decoder,
  float32);
* ``plain-s<seed>``: :func:`seqlib.attention.g2p.g2p_plain_config` with
  ``PLAIN``: the sequence-to-sequence chapter's encoder-decoder (LSTM, the
  encoder's last state fed to every decoder step), no attention, float64
  (seqlib's plain model computes in float64 only), its hidden size chosen
  so that its parameter count is close to the attention model's.

Both train with the same loop (:func:`seqlib.attention.g2p.train_g2p`): every
pronunciation of a training word is a pair, batches of ``BATCH`` pairs of
similar lengths, token-normalised cross-entropy, gradients clipped to global
norm ``CLIP``, Adam at ``LR`` for ``EPOCHS_FLAT`` epochs and then halved after
every epoch up to ``EPOCHS``.  The validation words (``N_VALID`` training words
held out by :func:`seqlib.attention.data.load_cmudict` with ``SPLIT_SEED``,
the same for every run) are scored after every epoch by batched greedy
decoding; the epoch with the lowest validation WER (then PER) is the run's model.  The
test words are decoded once, by that model only, word by word: greedy and
beam search of width ``BEAM``.

Writes, per run (the stem ``<run>`` the same in every file):

* ``sweeps/results/g2p-runs/<run>.json``: settings, per-epoch history
  (training loss, validation WER/PER, learning rate, CPU and wall seconds),
  the training loss in windows of ``WINDOW`` steps, the test scores of both
  decoders, timings;
* ``sweeps/results/g2p-models/<run>.npz``: the selected model
  (:func:`seqlib.attention.g2p.save_checkpoint`);
* ``sweeps/results/g2p-predictions/<run>.tsv``: beam search's output for every
  test word, ``WORD<TAB>PH PH ...``, 12,000 lines; ``g2p-predictions/greedy/<run>.tsv``
  the same for greedy decoding.

and ``collect`` gathers the runs into ``sweeps/results/g2p.json``.  A run is
resumable: after every epoch its full state (parameters, Adam's moments, the
batch generator's state, history) goes to ``sweeps/.g2p-state/<run>.npz``
(not committed); ``run`` continues from there, and skips a finished run.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python sweeps/g2p.py run attention-s0 plain-s1 ...
    .venv/bin/python sweeps/g2p.py collect

One process per run and one BLAS thread each: two runs at a time on two
cores.  Asserts nothing; the chapter asserts its claims against the JSON.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: small matrices, 2 shared cores

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import seqlib as sl
from seqlib.attention import g2p
from seqlib.attention.data import g2p_score, lexicon_pairs, load_cmudict, write_g2p_predictions
from seqlib.training.optim import Adam

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sweeps" / "results"
STATE = ROOT / "sweeps" / ".g2p-state"

ATTENTION = dict(D=64, H_enc=128, H=128, A=128, cell="lstm", score="additive")
PLAIN = dict(D=64, H=160, cell="lstm", context=True)
SEEDS = (0, 1, 2, 3, 4)
N_VALID, SPLIT_SEED = 5000, 0
BATCH, LR, CLIP, POOL = 64, 1e-3, 5.0, 32
EPOCHS_FLAT, EPOCHS = 12, 18
BEAM, MAX_LEN = 5, 32
WINDOW = 100  # steps per point of the training-loss curve


def run_names() -> list[str]:
    return [f"{m}-s{s}" for m in ("attention", "plain") for s in SEEDS]


def settings(run: str) -> dict[str, Any]:
    model, seed = run.rsplit("-s", 1)
    if model not in ("attention", "plain") or not seed.isdigit():
        raise SystemExit(f"run must be attention-s<seed> or plain-s<seed>, got {run!r}")
    return {"model": model, "seed": int(seed), "sizes": ATTENTION if model == "attention" else PLAIN,
            "dtype": "float32" if model == "attention" else "float64", "batch_size": BATCH, "lr": LR,
            "clip_norm": CLIP, "pool": POOL, "epochs_flat": EPOCHS_FLAT, "epochs": EPOCHS, "beam_width": BEAM,
            "max_len": MAX_LEN, "n_valid": N_VALID, "split_seed": SPLIT_SEED, "window": WINDOW}


def config_of(s: dict[str, Any]) -> Any:
    return (g2p.g2p_config if s["model"] == "attention" else g2p.g2p_plain_config)(**s["sizes"])


def lr_at(epoch: int) -> float:
    """Adam's step size in epoch ``epoch`` (0-based): LR, then halved after every epoch past EPOCHS_FLAT."""
    return LR * 0.5 ** max(0, epoch - EPOCHS_FLAT + 1)


# ----------------------------------------------------------------------------- state


def save_state(run: str, params: dict, best: dict, opt: Adam, rng: np.random.Generator, hist: dict) -> None:
    arrays = {f"p.{k}": v for k, v in params.items()}
    arrays.update({f"best.{k}": v for k, v in best.items()})
    arrays.update({f"m.{k}": v for k, v in opt.m.items()})
    arrays.update({f"v.{k}": v for k, v in opt.v.items()})
    arrays["adam_t"] = np.array(json.dumps(opt.t))
    arrays["rng"] = np.array(json.dumps(rng.bit_generator.state))
    arrays["hist"] = np.array(json.dumps(hist))
    STATE.mkdir(parents=True, exist_ok=True)
    tmp = STATE / f"{run}.tmp.npz"
    np.savez(tmp, **arrays)
    tmp.replace(STATE / f"{run}.npz")


def load_state(run: str, opt: Adam, rng: np.random.Generator):
    with np.load(STATE / f"{run}.npz", allow_pickle=False) as z:
        get = lambda pre: {k[len(pre):]: z[k].copy() for k in z.files if k.startswith(pre)}  # noqa: E731
        params, best = get("p."), get("best.")
        opt.m, opt.v = get("m."), get("v.")
        opt.t = json.loads(str(z["adam_t"]))
        rng.bit_generator.state = json.loads(str(z["rng"]))
        hist = json.loads(str(z["hist"]))
    return params, best, hist


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count(), "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "date": time.strftime("%Y-%m-%d")}


# ----------------------------------------------------------------------------- one run


def run(name: str) -> None:
    s = settings(name)
    out_json = OUT / "g2p-runs" / f"{name}.json"
    if out_json.exists():
        print(f"{name}: done already ({out_json})", flush=True)
        return
    config = config_of(s)
    data = load_cmudict(N_VALID, seed=SPLIT_SEED)
    sources, targets = g2p.encode_pairs(lexicon_pairs(data.train))
    valid_words = list(data.valid)
    opt, rng = Adam(lr=LR), np.random.default_rng(s["seed"])
    if (STATE / f"{name}.npz").exists():
        params, best, hist = load_state(name, opt, rng)
        print(f"{name}: resuming after epoch {len(hist['epochs'])}", flush=True)
    else:
        params = g2p.init_g2p(config, rng=s["seed"], dtype=np.dtype(s["dtype"]))
        best = {k: v.copy() for k, v in params.items()}
        hist = {"epochs": [], "loss_windows": [], "best_epoch": None}
    n_params = int(sum(v.size for v in params.values()))
    while len(hist["epochs"]) < EPOCHS:
        epoch = len(hist["epochs"])
        opt.lr = lr_at(epoch)
        c0, w0 = time.process_time(), time.perf_counter()
        h = g2p.train_g2p(params, sources, targets, config, epochs=1, rng=rng, batch_size=BATCH,
                          clip_norm=CLIP, pool=POOL, optimizer=opt)
        c1, w1 = time.process_time(), time.perf_counter()
        hyps = g2p.predict(params, config, valid_words, max_len=MAX_LEN, batch_size=256)
        score = g2p_score(hyps, data.valid)
        c2, w2 = time.process_time(), time.perf_counter()
        loss = h["loss"]
        n_win = loss.size // WINDOW
        hist["loss_windows"] += [float(v) for v in loss[:n_win * WINDOW].reshape(n_win, WINDOW).mean(axis=1)]
        rec = {"epoch": epoch + 1, "lr": opt.lr, "steps": int(loss.size), "train_loss": float(loss.mean()),
               "grad_norm_median": float(np.median(h["grad_norm"])),
               "clipped": int(np.sum(h["grad_norm"] > CLIP)),
               "valid_wer": score.wer, "valid_per": score.per,
               "train_cpu_s": c1 - c0, "train_wall_s": w1 - w0, "step_wall_median_s": float(np.median(h["seconds"])),
               "valid_cpu_s": c2 - c1, "valid_wall_s": w2 - w1}
        hist["epochs"].append(rec)
        prev = None if hist["best_epoch"] is None else hist["epochs"][hist["best_epoch"] - 1]
        if prev is None or (score.wer, score.per) < (prev["valid_wer"], prev["valid_per"]):
            hist["best_epoch"] = epoch + 1
            best = {k: v.copy() for k, v in params.items()}
        save_state(name, params, best, opt, rng, hist)
        print(f"{name} epoch {epoch + 1:2d} lr {opt.lr:.2e} loss {rec['train_loss']:.4f} "
              f"valid WER {100 * score.wer:5.2f} PER {100 * score.per:5.2f} "
              f"({w1 - w0:.0f} s train, {w2 - w1:.0f} s valid)", flush=True)
    # the selected model on the test words, word by word
    test_words = list(data.test)
    tests = {}
    for label, k in (("greedy", 1), ("beam", BEAM)):
        c0, w0 = time.process_time(), time.perf_counter()
        hyps = g2p.predict(best, config, test_words, beam_width=k, max_len=MAX_LEN)
        c1, w1 = time.process_time(), time.perf_counter()
        sc = g2p_score(hyps, data.test)
        tests[label] = {"beam_width": k, "wer": sc.wer, "per": sc.per, "cpu_s": c1 - c0, "wall_s": w1 - w0}
        path = OUT / "g2p-predictions" / ("" if label == "beam" else "greedy") / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_g2p_predictions(path, hyps)
        print(f"{name} test {label}: WER {100 * sc.wer:.2f} PER {100 * sc.per:.2f} ({w1 - w0:.0f} s)", flush=True)
    ckpt = OUT / "g2p-models" / f"{name}.npz"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    g2p.save_checkpoint(ckpt, best, config, run=name, epoch=hist["best_epoch"],
                        valid_wer=hist["epochs"][hist["best_epoch"] - 1]["valid_wer"])
    result = {"run": name, "settings": s, "config": g2p._config_dict(config), "n_params": n_params,
              "n_train_pairs": len(sources), "n_train_words": len(data.train), "n_valid_words": len(valid_words),
              "n_test_words": len(test_words), **hist, "test": tests, "machine": machine(),
              "seqlib": sl.__version__ if hasattr(sl, "__version__") else None}
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{name}: wrote {out_json}", flush=True)


def step_flops(config: Any, src_len: float, tgt_len: float, batch: int) -> float:
    """Multiply-add FLOPs (2 per multiply-add) of the matrix products of one training step.

    Forward: per source position the encoder's gate products (both
    directions for the attention model) and, for attention, the key
    projection; per target position the decoder's gate products, the
    readout and, for attention, the query projection, one score and one
    context row per source position, and the attentional state.  Backward
    computes two products per forward one (the input's and the weights'
    gradients), so a step is 3 times the forward count.  Elementwise work
    (gates, tanh, softmax) and Adam are not counted.
    """
    D, V = config.D, config.V_y
    if isinstance(config, g2p.AttentionConfig):
        He, H, A = config.H_enc, config.H, config.A
        per_src = 2 * 2 * (D + He) * 4 * He + 2 * 2 * He * A
        per_tgt = (2 * (D + H) * 4 * H + 2 * H * V + 2 * H * A + src_len * (2 * A + 2 * 2 * He)
                   + 2 * (2 * He + H) * H)
    else:
        H = config.H
        per_src = 2 * (D + H) * 4 * H
        per_tgt = 2 * (D + H * (2 if config.context else 1)) * 4 * H + 2 * H * V
    return 3.0 * batch * (src_len * per_src + tgt_len * per_tgt)


def gemm_rate(dtype: str, m: int, k: int, n: int, repeats: int = 30) -> dict[str, float]:
    """GFLOP/s of one BLAS thread on an (m, k) @ (k, n) product: best and median of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        ts.append(time.perf_counter() - t0)
    f = 2.0 * m * k * n / 1e9
    return {"best_gflops": f / min(ts), "median_gflops": f / float(np.median(ts)), "shape": [m, k, n]}


def throughput(runs: dict[str, Any]) -> dict[str, Any]:
    """FLOPs per step from the data's mean lengths, and measured GEMM rates (one BLAS thread).

    ``gemm_peak``: a 512 x 512 x 512 product, what one thread sustains on a
    large product (the bound the training throughput is compared with);
    ``gemm_recurrent``: the encoder's per-time-step recurrent product, a
    batch of states times the hidden-to-gates matrix, (B, H) @ (H, 4 H);
    ``gemm_input``: its input product over all positions of a batch at the
    mean source length, (B M, D) @ (D, 4 H).  The LSTM computes these two
    separately (:mod:`seqlib.cells.lstm`), never one product of [x, h].
    ``load_1min`` is the machine's load average when they were measured.
    """
    data = load_cmudict(N_VALID, seed=SPLIT_SEED)
    sources, targets = g2p.encode_pairs(lexicon_pairs(data.train))
    src_len = float(np.mean([len(x) for x in sources]))
    tgt_len = float(np.mean([len(y) for y in targets]))
    out: dict[str, Any] = {"mean_src_len": src_len, "mean_tgt_len": tgt_len}
    for model in ("attention", "plain"):
        s = settings(f"{model}-s0")
        cfg = config_of(s)
        H = cfg.H_enc if model == "attention" else cfg.H
        rate = gemm_rate(s["dtype"], 512, 512, 512)
        recurrent = gemm_rate(s["dtype"], BATCH, H, 4 * H)
        inputs = gemm_rate(s["dtype"], int(round(BATCH * src_len)), cfg.D, 4 * H)
        flops = step_flops(cfg, src_len, tgt_len, BATCH)
        steps = [e["step_wall_median_s"] for r in runs.values() if r["settings"]["model"] == model
                 for e in r["epochs"]]
        rec = {"step_flops": flops, "gemm_peak": rate, "gemm_recurrent": recurrent, "gemm_input": inputs,
               "dtype": s["dtype"], "load_1min": os.getloadavg()[0]}
        if steps:
            med = float(np.median(steps))
            rec.update({"step_median_s": med, "achieved_gflops": flops / med / 1e9,
                        "fraction_of_gemm_peak": flops / med / 1e9 / rate["best_gflops"]})
        out[model] = rec
    return out


def collect(save: Path) -> None:
    runs = {}
    for name in run_names():
        p = OUT / "g2p-runs" / f"{name}.json"
        if p.exists():
            runs[name] = json.loads(p.read_text())
    missing = sorted(set(run_names()) - set(runs))
    out = {"runs": runs, "missing": missing, "throughput": throughput(runs),
           "settings": {"attention": ATTENTION, "plain": PLAIN, "seeds": list(SEEDS), "epochs": EPOCHS,
                        "epochs_flat": EPOCHS_FLAT, "lr": LR, "batch_size": BATCH, "clip_norm": CLIP,
                        "beam_width": BEAM, "n_valid": N_VALID, "split_seed": SPLIT_SEED}}
    save.write_text(json.dumps(out, indent=1) + "\n")
    for name, r in runs.items():
        t = r["test"]
        print(f"{name:14s} best epoch {r['best_epoch']:2d}  test greedy WER {100 * t['greedy']['wer']:5.2f} "
              f"PER {100 * t['greedy']['per']:5.2f}  beam WER {100 * t['beam']['wer']:5.2f} "
              f"PER {100 * t['beam']['per']:5.2f}")
    if missing:
        print("missing:", ", ".join(missing))


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("runs", nargs="+", help="e.g. attention-s0 plain-s1")
    c = sub.add_parser("collect")
    c.add_argument("--save", type=Path, default=OUT / "g2p.json")
    a = ap.parse_args(argv)
    if a.cmd == "run":
        for name in a.runs:
            run(name)
    else:
        collect(a.save)


if __name__ == "__main__":
    main(sys.argv[1:])
