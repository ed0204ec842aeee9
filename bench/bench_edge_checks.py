"""What do the repeated argument checks cost?  A step through the public layers against one check at the edge.

Before issue 19, a model function called the public layer functions
(``rnn_forward``, ``linear_forward``, ``sequence_loss_and_grad``,
``linear_backward``, ``rnn_backward``), and each checked its own arguments
again: the same arrays several times per step.  Now a model function checks
its arguments once per call, where the caller enters, and then calls the
layers' unchecked cores.  The public layer functions still check, so the
old path can still be run, with today's code, from public functions alone.
This script times both paths on the same data:

* ``rnn_step``: one training step of the book's RNN language model (RNN,
  linear readout, sequence loss; forward and backward, a reused workspace,
  float32 and float64, at the sizes of ``bench_rnn.py``'s model rows).
  *layers*: the layer functions one by one, ``bench_rnn.py``'s "seqlib"
  column; *edge*: :func:`seqlib.loss_and_grads`, which checks every
  parameter array once per call and then runs the cores.  (``train_rnn``
  makes neither call: it checks the parameters in full once per run and
  each batch as it arrives; after each update it checks only that every
  parameter kept its shape and dtype and is finite (its divergence test).
  Between these it calls the unchecked cores directly.)
* ``s2s_loss_and_grads``: one training step's loss and gradients of the
  book's encoder-decoder (the ``forward_0`` model of ``sweeps/seq2seq.py``,
  a batch of 32 training pairs, the sweep's batch size).  *layers*: the
  model as it was written before issue 19 (``_s2s_loss_and_grads_layers``
  below: the same code, with the public layer functions);
  *edge*: :func:`seqlib.seq2seq.seq2seq_loss_and_grads`.
* ``greedy_decode``: greedy decoding of the test split's sources by the same
  model (at most 12 tokens, the sweep's limit).  *layers*: the decoder as
  it was written before issue 19, a public layer function per step and
  layer (``_greedy_layers``); *edge*: :func:`seqlib.greedy_decode`.

What the edge checks is more than what the old model functions checked
themselves: every parameter array in full (shape, dtype, finite), rows a
batch does not use too.  The *edge* time includes that.

Each call is timed in CPU time of the process (``time.process_time``), with
one BLAS thread (the script sets ``OPENBLAS_NUM_THREADS=1`` unless it is
set).  Every figure is the best and the median of ``--rounds`` rounds of
``--repeats`` calls each (5 x 7 = 35 calls by default); in each round every
variant runs in a block, two warm-up calls and then its timed calls, as in
``bench_step_parts.py``.  The machine may be shared: the JSON records the
load average before and after, and a 2048 x 2048 product's rate each round.
The script asserts that both paths compute the same numbers, and nothing
about time.  ``--save FILE`` writes JSON (``bench/results-edge-checks.json``
is such a run):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        .venv/bin/python bench/bench_edge_checks.py --save bench/results-edge-checks.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
sys.path.insert(0, str(Path(__file__).resolve().parent))

import seqlib as sl  # noqa: E402
import seqlib.seq2seq as s2  # noqa: E402
from bench_rnn import SIZES_MODEL, machine_info, seqlib_model_fwd_bwd  # noqa: E402
from bench_step_parts import _measure, _thp, matmul_rate  # noqa: E402
from seqlib._validate import as_int_array, check_index_range  # noqa: E402  (as the old code checked sources)
from seqlib.seq2seq import data as nd  # noqa: E402
from seqlib.widgets.decoding import book_model  # noqa: E402

Array = np.ndarray
BATCH = 32  # sweeps/seq2seq.py's BATCH
MAX_LEN = 12  # sweeps/seq2seq.py's MAX_LEN


# --------------------------------------------------------------------------- the encoder-decoder before issue 19

def _old_model_checks(params: Mapping[str, Array], config: s2.Seq2SeqConfig) -> None:
    """What seqlib.seq2seq checked itself before issue 19: the config's type, the names, three shapes."""
    if not isinstance(config, s2.Seq2SeqConfig):
        raise TypeError("config must be a Seq2SeqConfig")
    missing = [k for k in s2.param_names(config) if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")
    for k, n in (("E_x", config.V_x), ("E_y", config.V_y)):
        if params[k].shape != (n, config.D):
            raise ValueError(f"params[{k!r}] has the wrong shape")
    if params["W_hy"].shape != (config.H, config.V_y):
        raise ValueError("params['W_hy'] has the wrong shape")


def _dec_in(params: Mapping[str, Array], tokens: Array, c: Array, config: s2.Seq2SeqConfig) -> Array:
    d = params["E_y"][tokens]
    if config.context:
        d = np.concatenate((d, np.broadcast_to(c[:, None, :], (*tokens.shape, c.shape[1]))), axis=2)
    return d


def _s2s_forward_layers(params, batch, config):
    _old_model_checks(params, config)
    if not isinstance(batch, s2.Seq2SeqBatch):
        raise TypeError("batch must be a Seq2SeqBatch")
    h_enc, enc_cache = sl.rnn_forward(params["E_x"][batch.src], None, params["enc_W_xh"], params["enc_W_hh"],
                                      params["enc_b_h"])
    c = h_enc[np.arange(h_enc.shape[0]), batch.src_len - 1]
    h, dec_cache = sl.rnn_forward(_dec_in(params, batch.dec_in, c, config), c, params["dec_W_xh"],
                                  params["dec_W_hh"], params["dec_b_h"])
    logits, ro_cache = sl.linear_forward(h, params["W_hy"], params["b_y"])
    return logits, (enc_cache, dec_cache, ro_cache)


def _s2s_loss_and_grads_layers(params, batch, config):
    """seq2seq_loss_and_grads as seqlib had it before issue 19 (vanilla RNN cell, token normalisation)."""
    assert config.cell == "rnn"
    logits, (enc_cache, dec_cache, ro_cache) = _s2s_forward_layers(params, batch, config)
    B = batch.src.shape[0]
    out, dlogits = sl.sequence_loss_and_grad(logits, batch.tgt, batch.weights)
    g_ro = sl.linear_backward(dlogits, ro_cache)
    g_dec = sl.rnn_backward(g_ro["h"], dec_cache)
    dc = g_dec["h0"].copy()
    D = config.D
    dE_y = np.zeros_like(params["E_y"])
    np.add.at(dE_y, batch.dec_in, g_dec["x"][..., :D])
    if config.context:
        dc += g_dec["x"][..., D:].sum(axis=1)
    dh_enc = np.zeros((B, batch.src.shape[1], config.H))
    dh_enc[np.arange(B), batch.src_len - 1] = dc
    g_enc = sl.rnn_backward(dh_enc, enc_cache)
    dE_x = np.zeros_like(params["E_x"])
    np.add.at(dE_x, batch.src, g_enc["x"])
    grads = {"E_x": dE_x, "E_y": dE_y, "W_hy": g_ro["W"], "b_y": g_ro["b"]}
    for k in ("W_xh", "W_hh", "b_h"):
        grads[f"enc_{k}"], grads[f"dec_{k}"] = g_enc[k], g_dec[k]
    return float(out), grads


def _greedy_layers(params, sources, config, max_len):
    """greedy_decode as seqlib had it before issue 19 (vanilla RNN cell): each step through the public layers."""
    assert config.cell == "rnn"
    _old_model_checks(params, config)
    srcs = []
    for b, s in enumerate(sources):  # the old decode._check_source, with the checks it called
        a = as_int_array(s, f"sources[{b}]", ndim=1)
        if a.size == 0:
            raise ValueError(f"sources[{b}] must hold at least one token, got an empty sequence")
        check_index_range(a, f"sources[{b}]", config.V_x, f"source ids in [0, V_x) = [0, {config.V_x})")
        srcs.append(a)
    S, lens = sl.pad_sequences(srcs)
    B = len(srcs)
    h_enc, _ = sl.rnn_forward(params["E_x"][S], None, params["enc_W_xh"], params["enc_W_hh"], params["enc_b_h"])
    c = h_enc[np.arange(B), lens - 1]
    h, tok = c.copy(), np.full(B, config.bos)
    out = np.zeros((B, max_len), dtype=np.int64)
    score, done, length = np.zeros(B), np.zeros(B, bool), np.zeros(B, np.int64)
    for t in range(max_len):
        x = _dec_in(params, tok[:, None], c, config)
        hs, _ = sl.rnn_forward(x, h, params["dec_W_xh"], params["dec_W_hh"], params["dec_b_h"])
        h = np.array(hs[:, 0])
        logits, _ = sl.linear_forward(h, params["W_hy"], params["b_y"])
        logp = sl.log_softmax(logits)
        tok = np.argmax(logp, axis=1)
        live = ~done
        out[:, t] = tok
        score[live] += logp[live, tok[live]]
        length[live] += 1
        done |= tok == config.eos
        if done.all():
            break
    return [sl.Hypothesis(tuple(int(v) for v in out[b, :length[b]]), float(score[b]),
                          bool(out[b, length[b] - 1] == config.eos)) for b in range(B)]


# --------------------------------------------------------------------------- the cases

def _same(a, b, tol: float) -> bool:
    return sl.relative_error(np.asarray(a, np.float64), np.asarray(b, np.float64)) <= tol


def cases() -> list[dict[str, Any]]:
    """Every case: its name, size, dtype and the two calls, checked to compute the same numbers."""
    out: list[dict[str, Any]] = []
    for size in SIZES_MODEL:
        for dtype in (np.float32, np.float64):
            B, T, D, H, V = size
            rng = np.random.default_rng(0)  # as bench_rnn's model rows: data from rng 0, parameters from rng 1
            x = rng.standard_normal((B, T, D)).astype(dtype)
            targets = rng.integers(0, V, (B, T))
            weights = np.ones((B, T), dtype)
            p = sl.init_rnn_params(D, H, V, rng=np.random.default_rng(1), dtype=dtype)
            ws_l, ws_e = sl.Workspace(), sl.Workspace()
            layers = (lambda x=x, t=targets, w=weights, p=p, ws=ws_l: seqlib_model_fwd_bwd(x, t, w, p, ws))
            edge = (lambda x=x, t=targets, w=weights, p=p, ws=ws_e: sl.loss_and_grads(p, x, t, w, workspace=ws))
            (l1, g1), (l2, g2) = layers(), edge()
            assert l1 == l2 and all(np.array_equal(g1[k], g2[k]) for k in g1), ("rnn_step", size, dtype)
            out.append({"name": "rnn_step", "size": list(size), "dtype": np.dtype(dtype).name,
                        "calls": {"layers": layers, "edge": edge}})

    params, cfg = book_model("forward_0")
    seed = sl.results("seq2seq")["settings"]["split_seed"]
    splits = nd.number_splits(seed=seed)
    pick = np.random.default_rng(0).choice(len(splits.sources["train"]), BATCH, replace=False)
    batch = s2.make_batch([splits.sources["train"][i] for i in pick], [splits.targets["train"][i] for i in pick], cfg)
    l1, g1 = _s2s_loss_and_grads_layers(params, batch, cfg)
    l2, g2 = s2.seq2seq_loss_and_grads(params, batch, cfg)
    assert _same(l1, l2, 1e-12) and all(_same(g1[k], g2[k], 1e-12) for k in g2), "s2s_loss_and_grads"
    out.append({"name": "s2s_loss_and_grads", "size": {"B": BATCH, "D": cfg.D, "H": cfg.H, "V_y": cfg.V_y,
                                                       "M": int(batch.src.shape[1]), "L": int(batch.tgt.shape[1])},
                "dtype": "float64",
                "calls": {"layers": lambda: _s2s_loss_and_grads_layers(params, batch, cfg),
                          "edge": lambda: s2.seq2seq_loss_and_grads(params, batch, cfg)}})

    src = splits.sources["test"]
    h1 = _greedy_layers(params, src, cfg, MAX_LEN)
    h2 = sl.greedy_decode(params, src, cfg, MAX_LEN)
    assert all(a.tokens == b.tokens and a.finished == b.finished and _same(a.score, b.score, 1e-12)
               for a, b in zip(h1, h2)), "greedy_decode"
    out.append({"name": "greedy_decode", "size": {"sources": len(src), "max_len": MAX_LEN, "H": cfg.H,
                                                  "V_y": cfg.V_y},
                "dtype": "float64",
                "calls": {"layers": lambda: _greedy_layers(params, src, cfg, MAX_LEN),
                          "edge": lambda: sl.greedy_decode(params, src, cfg, MAX_LEN)}})
    return out


def _label(case: dict) -> str:
    size = case["size"]
    s = "x".join(str(v) for v in (size if isinstance(size, list) else size.values()))
    return f"{case['name']} {s} {case['dtype']}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--save", metavar="FILE")
    args = ap.parse_args()
    load_before = os.getloadavg()
    info = machine_info()
    print(f"{info['cpu']}, {info['cores']} cores; OpenBLAS kernel {info['blas']['core']}, "
          f"{info['blas'].get('threads')} thread(s); load average {load_before[0]:.2f}")
    cs = cases()
    runs: dict[tuple[int, str], list[float]] = {(i, v): [] for i, c in enumerate(cs) for v in c["calls"]}
    rate: list[float] = []
    for r in range(args.rounds):
        rate.append(matmul_rate(np.float32))
        for i, c in enumerate(cs):
            for v, call in c["calls"].items():  # each variant in a block of calls
                for _ in range(2):
                    _measure(call)  # warm-up
                runs[i, v] += [_measure(call)[0] for _ in range(args.repeats)]
        print(f"round {r + 1}/{args.rounds} done; 2048 x 2048 float32 matmul {rate[-1]:.0f} GFLOP/s", flush=True)
    load_after = os.getloadavg()

    n = args.rounds * args.repeats
    print(f"\nCPU ms per call, best and median of {n}; edge / layers")
    rows = []
    for i, c in enumerate(cs):
        row: dict[str, Any] = {k: c[k] for k in ("name", "size", "dtype")}
        for v in c["calls"]:
            t = np.array(runs[i, v])
            row[v] = {"best_s": float(t.min()), "median_s": float(np.median(t)), "n": len(t),
                      "samples_s": [float(s) for s in t]}
        row["ratio_best"] = row["edge"]["best_s"] / row["layers"]["best_s"]
        row["ratio_median"] = row["edge"]["median_s"] / row["layers"]["median_s"]
        rows.append(row)
        print(f"{_label(c):44s} layers {row['layers']['best_s'] * 1e3:9.3f} {row['layers']['median_s'] * 1e3:9.3f}"
              f"   edge {row['edge']['best_s'] * 1e3:9.3f} {row['edge']['median_s'] * 1e3:9.3f}"
              f"   {row['ratio_best']:.3f} {row['ratio_median']:.3f}")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")
    if args.save:
        out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": info,
               "command": " ".join(["python"] + sys.argv),
               "timing": (f"CPU time of the process (time.process_time, user + system) per call, "
                          f"{info['blas'].get('threads')} BLAS thread(s); best and median of {args.rounds} "
                          f"rounds; in each round every variant runs 2 warm-up calls and then {args.repeats} "
                          f"timed calls in a row"),
               "variants": {"layers": "the public layer functions one by one, each checking its arguments "
                                      "(seqlib's model functions before issue 19)",
                            "edge": "the model function of today: its arguments checked once, then the cores"},
               "load_average_before": list(load_before), "load_average_after": list(load_after),
               "matmul_gflops_rounds": rate, "huge_pages": _thp(),
               "shared_machine": True, "rounds": args.rounds, "repeats": args.repeats, "rows": rows}
        Path(args.save).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
