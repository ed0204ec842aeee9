"""Hostile input to every model-level function: rejected at the edge, in the caller's words.

Each case calls one public model function (the encoder-decoder, its decoding
and training, the attention encoder-decoder, its bidirectional encoder,
decoding, G2P training and transcription, the RNN language model's training
and sampling, the gated last-state model and its training) with one bad argument, and checks the
exception type and that the message *starts* with the argument as the caller
wrote it (``params['dec_W_hh']``, ``sources[3]``, ``candidates[0]``,
``batches(rng)[0] (x)``), followed by what was expected.  A message that
starts with an inner function's argument (``x must be finite``, ``W_h ...``,
``targets[0]`` for a candidate) fails the match.  Parameter arrays are
checked whole: NaN in a row that the batch never reads is rejected too.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pytest

import seqlib.training.gated_train as gt
import seqlib.seq2seq as s2
import seqlib.training.train as tr
from seqlib.training.data import adding_problem
from seqlib.seq2seq.decode import beam_search, decoder_step, greedy_decode
from seqlib.cells.init import init_rnn_params
from seqlib.training.optim import SGD
from seqlib.seq2seq.train import train_seq2seq
import seqlib.attention.g2p as g2p
import seqlib.attention.model as am
from seqlib.attention.birnn import birnn_forward

SRC = [[1, 2, 3], [4], [0, 1], [2, 2]]
TGT = [[2, 3, 4, 0], [5, 0], [0], [3, 0]]
# The decoder reads E_y at bos and at every target token but the last (eos): row 0 of E_y is never
# read by a batch of these pairs, and row 4 not by one without the first pair.
UNUSED_Y = 4
DIMS = {"V_x": 5, "V_y": 6, "D": 3, "H": 4}

# ----------------------------------------------------------------------------- builders


def cfg(cell: str = "rnn", context: bool = False) -> s2.Seq2SeqConfig:
    return s2.Seq2SeqConfig(**DIMS, cell=cell, context=context)


def s2p(cell: str = "rnn", context: bool = False, **edits: Any) -> dict[str, Any]:
    """Seq2seq params with ``edits``: a value, or a callable applied to a copy of the array."""
    p = s2.init_seq2seq_params(cfg(cell, context), rng=0)
    for k, v in edits.items():
        p[k] = v(p[k].copy()) if callable(v) else v
    return p


def nan_at(*idx: int, value: float = np.nan) -> Callable[[np.ndarray], np.ndarray]:
    def put(a: np.ndarray) -> np.ndarray:
        a[idx] = value
        return a
    return put


def batch(c: s2.Seq2SeqConfig | None = None) -> s2.Seq2SeqBatch:
    return s2.make_batch(SRC, TGT, c or cfg())


def acfg(cell: str = "lstm", score: str = "additive") -> am.AttentionConfig:
    return am.AttentionConfig(V_x=5, V_y=6, D=3, H_enc=3, H=4, A=3, cell=cell, score=score)


def ap(cell: str = "lstm", score: str = "additive", **edits: Any) -> dict[str, Any]:
    """Attention-model params with ``edits``, as :func:`s2p`."""
    p = am.init_attention_seq2seq(acfg(cell, score), rng=0)
    for k, v in edits.items():
        p[k] = v(p[k].copy()) if callable(v) else v
    return p


def abatch(c: am.AttentionConfig | None = None) -> s2.Seq2SeqBatch:
    return s2.make_batch(SRC, TGT, c or acfg())


def amemory(c: am.AttentionConfig | None = None) -> am.AttentionMemory:
    return am.attention_encode(ap(), SRC[:2], c or acfg())


def cell_params(cell: str = "lstm", H: int = 3, **edits: Any) -> dict[str, Any]:
    p = s2.CELLS[cell].init(2, H, np.random.default_rng(0))
    for k, v in edits.items():
        p[k] = v(p[k].copy()) if callable(v) else v
    return p


def rnn_params(D: int = 3, H: int = 4, V: int = 5, **edits: Any) -> dict[str, Any]:
    p = init_rnn_params(D, H, V, rng=0)
    for k, v in edits.items():
        p[k] = v(p[k].copy()) if callable(v) else v
    return p


G2P_CFG = g2p.g2p_config(D=3, H_enc=3, H=4, A=3)


def g2p_params(**edits: Any) -> dict[str, Any]:
    p = am.init_attention_seq2seq(G2P_CFG, rng=0)
    for k, v in edits.items():
        p[k] = v(p[k].copy()) if callable(v) else v
    return p


def lm_data(B: int = 2, T: int = 3, D: int = 3, V: int = 5):
    rng = np.random.default_rng(0)
    return rng.standard_normal((B, T, D)), rng.integers(V, size=(B, T)), np.ones((B, T))


def one_hot_lm(V: int = 5):
    """One-hot inputs that never use token V-1: row V-1 of W_xh is never read."""
    x = np.eye(V)[np.array([[0, 1, 2], [1, 2, 0]])]
    return x, np.array([[1, 2, 0], [2, 0, 1]])


def gated(arch: str = "lstm", **edits: Any) -> dict[str, Any]:
    p = gt.init_last_state_model(arch, 2, 4, rng=0)
    for k, v in edits.items():
        p[k] = v(p[k].copy()) if callable(v) else v
    return p


def adding(B: int = 3, T: int = 5):
    return adding_problem(B, T, rng=0)


class NaNOptimizer:
    """An optimizer that breaks the parameter it is told to."""

    def __init__(self, key: str, value: Any = np.nan) -> None:
        self.key, self.value = key, value

    def step(self, params, grads):
        if isinstance(self.value, float):
            params[self.key][...] = self.value
        else:
            params[self.key] = self.value


def readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def lm_batches(x=None, y=None, w=None):
    x0, y0, w0 = lm_data()
    return lambda rng: (x0 if x is None else x, y0 if y is None else y, w0 if w is None else w)


# ----------------------------------------------------------------------------- the cases

# (id, call, exception type, regex matched at the start of the message)
CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    # --- the encoder-decoder: parameters, checked in full and named as the caller's dict entries
    ("loss: NaN in a used row of E_x",
     lambda: s2.seq2seq_loss(s2p(E_x=nan_at(1, 0)), batch(), cfg()),
     ValueError, r"params\['E_x'\] must be finite, got 1 NaN or inf value\(s\) in shape \(5, 3\)"),
    ("loss_and_grads: NaN in dec_W_hh (rnn)",
     lambda: s2.seq2seq_loss_and_grads(s2p(dec_W_hh=nan_at(0, 1)), batch(), cfg()),
     ValueError, r"params\['dec_W_hh'\] must be finite"),
    ("loss_and_grads: NaN in dec_W_h (lstm)",
     lambda: s2.seq2seq_loss_and_grads(s2p("lstm", dec_W_h=nan_at(2, 7)), batch(cfg("lstm")), cfg("lstm")),
     ValueError, r"params\['dec_W_h'\] must be finite"),
    ("loss_and_grads: inf in enc_W_h (gru)",
     lambda: s2.seq2seq_loss_and_grads(s2p("gru", enc_W_h=nan_at(0, 0, value=np.inf)), batch(cfg("gru")),
                                       cfg("gru")),
     ValueError, r"params\['enc_W_h'\] must be finite"),
    ("loss: inf in W_hy",
     lambda: s2.seq2seq_loss(s2p(W_hy=nan_at(3, 5, value=-np.inf)), batch(), cfg()),
     ValueError, r"params\['W_hy'\] must be finite"),
    ("loss: NaN in b_y",
     lambda: s2.seq2seq_loss(s2p(b_y=nan_at(2)), batch(), cfg()),
     ValueError, r"params\['b_y'\] must be finite"),
    ("loss: NaN in enc_b (lstm)",
     lambda: s2.seq2seq_loss(s2p("lstm", enc_b=nan_at(5)), batch(cfg("lstm")), cfg("lstm")),
     ValueError, r"params\['enc_b'\] must be finite"),
    ("loss: NaN in enc_b_h (rnn)",
     lambda: s2.seq2seq_loss(s2p(enc_b_h=nan_at(0)), batch(), cfg()),
     ValueError, r"params\['enc_b_h'\] must be finite"),
    ("loss: NaN in an unused row of E_y",
     lambda: s2.seq2seq_loss(s2p(E_y=nan_at(UNUSED_Y, 2)), s2.make_batch(SRC[1:], TGT[1:], cfg()), cfg()),
     ValueError, rf"params\['E_y'\] must be finite, got 1 NaN .* the first at index \({UNUSED_Y}, 2\)"),
    ("loss_and_grads: NaN in an unused row of E_y",
     lambda: s2.seq2seq_loss_and_grads(s2p(E_y=nan_at(0, 0)), batch(), cfg()),
     ValueError, r"params\['E_y'\] must be finite"),
    ("forward: NaN in an unused row of E_x",
     lambda: s2.seq2seq_forward(s2p(E_x=nan_at(4, 1)), s2.make_batch(SRC[2:], TGT[2:], cfg()), cfg()),
     ValueError, r"params\['E_x'\] must be finite"),
    ("sequence_log_prob: NaN in an unused row of E_y",
     lambda: s2.sequence_log_prob(s2p(E_y=nan_at(0, 1)), SRC, TGT, cfg()),
     ValueError, r"params\['E_y'\] must be finite"),
    ("greedy_decode: NaN in an unused row of E_x",
     lambda: greedy_decode(s2p(E_x=nan_at(3, 0)), [[0, 1]], cfg(), 4),
     ValueError, r"params\['E_x'\] must be finite"),
    ("beam_search: NaN in dec_b_h",
     lambda: beam_search(s2p(dec_b_h=nan_at(1)), [1, 2], cfg(), 2, 4),
     ValueError, r"params\['dec_b_h'\] must be finite"),
    ("train_seq2seq: NaN in an unused row of E_y",
     lambda: train_seq2seq(s2p(E_y=nan_at(0, 2)), SRC, TGT, cfg(), 2, rng=0, batch_size=2),
     ValueError, r"params\['E_y'\] must be finite"),
    ("decoder_step: NaN in W_hy",
     lambda: decoder_step(s2p(W_hy=nan_at(0, 0)), np.array([1]), (np.zeros((1, 4)),), np.zeros((1, 4)), cfg()),
     ValueError, r"params\['W_hy'\] must be finite"),
    ("encode: NaN in enc_W_xh",
     lambda: s2.encode(s2p(enc_W_xh=nan_at(0, 0)), np.array([[1, 2]]), np.array([2]), cfg()),
     ValueError, r"params\['enc_W_xh'\] must be finite"),
    ("decoder_inputs: NaN in an unused row of E_y",
     lambda: s2.decoder_inputs(s2p(E_y=nan_at(5, 0)), np.array([[1, 2]]), np.zeros((1, 4)), cfg()),
     ValueError, r"params\['E_y'\] must be finite"),
    ("loss: dec_W_hh of the wrong shape",
     lambda: s2.seq2seq_loss(s2p(dec_W_hh=np.zeros((4, 5))), batch(), cfg()),
     ValueError, r"params\['dec_W_hh'\] must have shape \(H, H\) with H=4 \(so \(4, 4\)\), got \(4, 5\)"),
    ("loss: a context model's dec_W_xh sized without the context",
     lambda: s2.seq2seq_loss(s2p(context=True, dec_W_xh=np.zeros((3, 4))), batch(cfg(context=True)),
                             cfg(context=True)),
     ValueError, r"params\['dec_W_xh'\] must have shape \(D\+H, H\) with D\+H=7, H=4"),
    ("loss: an LSTM's enc_W_h with three gate blocks",
     lambda: s2.seq2seq_loss(s2p("lstm", enc_W_h=np.zeros((4, 12))), batch(cfg("lstm")), cfg("lstm")),
     ValueError, r"params\['enc_W_h'\] must have shape \(H, 4H\) with H=4, 4H=16 \(so \(4, 16\)\)"),
    ("loss: E_x of another source vocabulary",
     lambda: s2.seq2seq_loss(s2p(E_x=np.zeros((7, 3))), batch(), cfg()),
     ValueError, r"params\['E_x'\] must have shape \(V_x, D\) .*\(a source vocabulary mismatch\?"),
    ("loss: b_y as a column",
     lambda: s2.seq2seq_loss(s2p(b_y=np.zeros((6, 1))), batch(), cfg()),
     ValueError, r"params\['b_y'\] must have shape \(V_y,\)"),
    ("loss_and_grads: a missing parameter",
     lambda: s2.seq2seq_loss_and_grads({k: v for k, v in s2p().items() if k != "b_y"}, batch(), cfg()),
     ValueError, r"params is missing \['b_y'\]; it needs .* \(see init_seq2seq_params\)"),
    ("loss: params as a list",
     lambda: s2.seq2seq_loss(list(s2p().values()), batch(), cfg()),
     TypeError, r"params must be a dict name -> array"),
    ("loss: a parameter as a string",
     lambda: s2.seq2seq_loss(s2p(W_hy="weights"), batch(), cfg()),
     TypeError, r"params\['W_hy'\] must be a numeric array, got str"),
    ("loss: complex embeddings",
     lambda: s2.seq2seq_loss(s2p(E_x=lambda a: a + 0j), batch(), cfg()),
     TypeError, r"params\['E_x'\] must be real, got complex"),
    ("loss: a ragged parameter",
     lambda: s2.seq2seq_loss(s2p(b_y=[0.0, [1.0, 2.0]]), batch(), cfg()),
     ValueError, r"params\['b_y'\] must be a numeric array, got a ragged nested sequence"),
    # --- the encoder-decoder: sources, targets, candidates, batches
    ("make_batch: a ragged source",
     lambda: s2.make_batch([[1, 2], [1, [2, 3]]], TGT[:2], cfg()),
     ValueError, r"sources\[1\] must be an integer array, got a ragged nested sequence"),
    ("beam_search: a ragged source",
     lambda: beam_search(s2p(), [1, [2, 3]], cfg(), 2, 4),
     ValueError, r"source must be an integer array, got a ragged nested sequence"),
    ("greedy_decode: a ragged source",
     lambda: greedy_decode(s2p(), [[1], [[1, 2], [3]]], cfg(), 4),
     ValueError, r"sources\[1\] must be an integer array, got a ragged nested sequence"),
    ("sequence_log_prob: a candidate without EOS",
     lambda: s2.sequence_log_prob(s2p(), SRC[:1], [[2, 3]], cfg()),
     ValueError, r"candidates\[0\] must end with eos=0, got last token 3"),
    ("sequence_log_prob: a candidate with an id outside V_y",
     lambda: s2.sequence_log_prob(s2p(), SRC[:2], [[2, 0], [9, 0]], cfg()),
     ValueError, r"candidates\[1\] must be target ids in \[0, V_y\) = \[0, 6\), got 9"),
    ("sequence_log_prob: sources and candidates that do not pair up",
     lambda: s2.sequence_log_prob(s2p(), SRC[:2], TGT[:1], cfg()),
     ValueError, r"sources and candidates must pair up, got 2 sources and 1 candidates"),
    ("sequence_log_prob: per_token as an int",
     lambda: s2.sequence_log_prob(s2p(), SRC, TGT, cfg(), per_token=1),
     TypeError, r"per_token must be a bool"),
    ("make_batch: sources[3] outside V_x",
     lambda: s2.make_batch(SRC[:3] + [[2, 5]], TGT, cfg()),
     ValueError, r"sources\[3\] must be source ids in \[0, V_x\) = \[0, 5\), got 5"),
    ("make_batch: non-integral source ids",
     lambda: s2.make_batch([[1.5, 2.0]], [[0]], cfg()),
     TypeError, r"sources\[0\] must hold integers"),
    ("make_batch: boolean source ids",
     lambda: s2.make_batch([[True, False]], [[0]], cfg()),
     TypeError, r"sources\[0\] must be an integer array"),
    ("make_batch: sources as a string",
     lambda: s2.make_batch("123", [[0]], cfg()),
     TypeError, r"sources must be a list of id sequences, got str"),
    ("make_batch: no sources at all",
     lambda: s2.make_batch([], [], cfg()),
     ValueError, r"sources must hold at least one sequence"),
    ("make_batch: a dict for config",
     lambda: s2.make_batch(SRC, TGT, dict(DIMS)),
     TypeError, r"config must be a Seq2SeqConfig \(or an AttentionConfig\), got dict"),
    ("make_batch: require_eos as a string",
     lambda: s2.make_batch(SRC, TGT, cfg(), require_eos="no"),
     TypeError, r"require_eos must be a bool"),
    ("loss: a batch of a larger source vocabulary",
     lambda: s2.seq2seq_loss(s2p(), s2.make_batch([[7, 1]], [[0]], s2.Seq2SeqConfig(V_x=9, V_y=6, D=3, H=4)),
                             cfg()),
     ValueError, r"batch\.src must be source ids in \[0, V_x\) = \[0, 5\), got 7"),
    ("loss: a batch that is a tuple",
     lambda: s2.seq2seq_loss(s2p(), tuple(vars(batch()).values()), cfg()),
     TypeError, r"batch must be a Seq2SeqBatch \(see make_batch\)"),
    ("loss_and_grads: a hand-made batch with NaN weights",
     lambda: s2.seq2seq_loss_and_grads(s2p(), s2.Seq2SeqBatch(np.array([[1]]), np.array([1]), np.array([[1]]),
                                                              np.array([[0]]), np.array([[np.nan]])), cfg()),
     ValueError, r"batch\.weights must be finite"),
    ("loss: a hand-made batch with a source length of 0",
     lambda: s2.seq2seq_loss(s2p(), s2.Seq2SeqBatch(np.array([[1, 2]]), np.array([0]), np.array([[1]]),
                                                    np.array([[0]]), np.ones((1, 1))), cfg()),
     ValueError, r"batch\.src_len must be source lengths in \[1, M\] = \[1, 2\], got 0 at index 0"),
    ("loss: an unknown normalisation",
     lambda: s2.seq2seq_loss(s2p(), batch(), cfg(), "mean"),
     ValueError, r"normalise must be one of"),
    ("loss_and_grads: return_source_grads as a string",
     lambda: s2.seq2seq_loss_and_grads(s2p(), batch(), cfg(), return_source_grads="yes"),
     TypeError, r"return_source_grads must be a bool"),
    ("encode: a source length beyond M",
     lambda: s2.encode(s2p(), np.array([[1, 2]]), np.array([3]), cfg()),
     ValueError, r"src_len must be source lengths in \[1, M\] = \[1, 2\], got 3"),
    # --- decoding
    ("beam_search: beam_width 0",
     lambda: beam_search(s2p(), [1, 2], cfg(), 0, 4),
     ValueError, r"beam_width must be >= 1, got 0"),
    ("beam_search: a fractional max_len",
     lambda: beam_search(s2p(), [1, 2], cfg(), 2, 2.5),
     TypeError, r"max_len must be a positive int"),
    ("beam_search: a tuple for trace",
     lambda: beam_search(s2p(), [1, 2], cfg(), 2, 4, trace=()),
     TypeError, r"trace must be a list"),
    ("beam_search: a source id outside V_x",
     lambda: beam_search(s2p(), [1, 5], cfg(), 2, 4),
     ValueError, r"source must be source ids in \[0, V_x\) = \[0, 5\), got 5"),
    ("greedy_decode: an empty source",
     lambda: greedy_decode(s2p(), [[1], []], cfg(), 4),
     ValueError, r"sources\[1\] must hold at least one token"),
    ("decoder_step: an LSTM state without its cell",
     lambda: decoder_step(s2p("lstm"), np.array([1]), (np.zeros((1, 4)),), np.zeros((1, 4)), cfg("lstm")),
     TypeError, r"state must be a tuple of 2 \(K, H\) array\(s\) for the lstm cell"),
    ("decoder_step: NaN in the state",
     lambda: decoder_step(s2p(), np.array([1]), (np.full((1, 4), np.nan),), np.zeros((1, 4)), cfg()),
     ValueError, r"state\[0\] must be finite"),
    ("decoder_step: a token outside V_y",
     lambda: decoder_step(s2p(), np.array([6]), (np.zeros((1, 4)),), np.zeros((1, 4)), cfg()),
     ValueError, r"tokens must be target ids in \[0, V_y\) = \[0, 6\), got 6"),
    ("decoder_step: a context of the wrong width",
     lambda: decoder_step(s2p(), np.array([1]), (np.zeros((1, 4)),), np.zeros((1, 3)), cfg()),
     ValueError, r"c must have shape \(K, H\) with K=1, H=4"),
    # --- training the encoder-decoder
    ("train_seq2seq: parameters as lists",
     lambda: train_seq2seq({k: v.tolist() for k, v in s2p().items()}, SRC, TGT, cfg(), 2, rng=0),
     TypeError, r"params\['E_x'\] must be a float32 or float64 ndarray \(train_seq2seq updates it in place\), "
                r"got list"),
    ("train_seq2seq: a read-only parameter",
     lambda: train_seq2seq(s2p(W_hy=readonly), SRC, TGT, cfg(), 2, rng=0),
     ValueError, r"params\['W_hy'\] must be writeable \(train_seq2seq updates it in place\)"),
    ("train_seq2seq: an integer parameter",
     lambda: train_seq2seq(s2p(b_y=np.zeros(6, dtype=np.int64)), SRC, TGT, cfg(), 2, rng=0),
     TypeError, r"params\['b_y'\] must be a float32 or float64 ndarray"),
    ("train_seq2seq: targets[2] without EOS",
     lambda: train_seq2seq(s2p(), SRC, TGT[:2] + [[3]] + TGT[3:], cfg(), 2, rng=0),
     ValueError, r"targets\[2\] must end with eos=0, got last token 3"),
    ("train_seq2seq: an optimizer that makes W_hy NaN",
     lambda: train_seq2seq(s2p(), SRC, TGT, cfg(), 3, rng=0, optimizer=NaNOptimizer("W_hy")),
     FloatingPointError, r"training diverged at step 0: params\['W_hy'\] is no longer finite"),
    ("train_seq2seq: an optimizer that replaces b_y",
     lambda: train_seq2seq(s2p(), SRC, TGT, cfg(), 3, rng=0, optimizer=NaNOptimizer("b_y", [0.0] * 6)),
     ValueError, r"params\['b_y'\] must stay an ndarray of shape \(6,\) and dtype float64 during training, "
                 r"got list .* after step 0 \(optimizer.step changed it\)"),
    ("train_seq2seq: clip_norm 0",
     lambda: train_seq2seq(s2p(), SRC, TGT, cfg(), 2, rng=0, clip_norm=0.0),
     ValueError, r"clip_norm must be finite and in \(0, inf\)"),
    # --- the attention encoder-decoder: parameters in full, in the caller's words
    ("attention_seq2seq_loss: NaN in a row of E_y that the batch never reads",
     lambda: am.attention_seq2seq_loss(ap(E_y=nan_at(0, 1)), abatch(), acfg()),
     ValueError, r"params\['E_y'\] must be finite, got 1 NaN .* the first at index \(0, 1\)"),
    ("attention_seq2seq_loss_and_grads: NaN in the backward encoder's W_h",
     lambda: am.attention_seq2seq_loss_and_grads(ap(enc_b_W_h=nan_at(2, 5)), abatch(), acfg()),
     ValueError, r"params\['enc_b_W_h'\] must be finite"),
    ("attention_seq2seq_loss_and_grads: an encoder W_h as wide as the decoder's",
     lambda: am.attention_seq2seq_loss_and_grads(ap(enc_f_W_h=np.zeros((4, 16))), abatch(), acfg()),
     ValueError, r"params\['enc_f_W_h'\] must have shape \(H_enc, 4H_enc\) with H_enc=3, 4H_enc=12 "
                 r"\(so \(3, 12\)\), got \(4, 16\)"),
    ("attention_seq2seq_loss_and_grads: U_a that reads one direction only",
     lambda: am.attention_seq2seq_loss_and_grads(ap(att_U_a=np.zeros((3, 3))), abatch(), acfg()),
     ValueError, r"params\['att_U_a'\] must have shape \(2H_enc, A\) with 2H_enc=6, A=3 \(so \(6, 3\)\), "
                 r"got \(3, 3\)"),
    ("attention_seq2seq_forward: W_c without the state's rows",
     lambda: am.attention_seq2seq_forward(ap(W_c=np.zeros((6, 4))), abatch(), acfg()),
     ValueError, r"params\['W_c'\] must have shape \(2H_enc\+H, H\) with 2H_enc\+H=10, H=4"),
    ("attention_seq2seq_forward: a general score's W_a of the wrong width",
     lambda: am.attention_seq2seq_forward(ap("gru", "general", att_W_a=np.zeros((4, 3))),
                                          abatch(acfg("gru", "general")), acfg("gru", "general")),
     ValueError, r"params\['att_W_a'\] must have shape \(H, 2H_enc\) with H=4, 2H_enc=6"),
    ("attention_seq2seq_loss: E_x of another source vocabulary",
     lambda: am.attention_seq2seq_loss(ap(E_x=np.zeros((7, 3))), abatch(), acfg()),
     ValueError, r"params\['E_x'\] must have shape \(V_x, D\) .* \(a source vocabulary mismatch\? config.V_x = 5\)"),
    ("attention_seq2seq_loss: params without the attention's v_a",
     lambda: am.attention_seq2seq_loss({k: v for k, v in ap().items() if k != "att_v_a"}, abatch(), acfg()),
     ValueError, r"params is missing \['att_v_a'\]; it needs .* \(see init_attention_seq2seq\)"),
    ("attention_seq2seq_loss: a Seq2SeqConfig for config",
     lambda: am.attention_seq2seq_loss(ap(), abatch(), cfg()),
     TypeError, r"config must be an AttentionConfig, got Seq2SeqConfig"),
    ("attention_seq2seq_loss: a batch of a larger source vocabulary",
     lambda: am.attention_seq2seq_loss(ap(), s2.make_batch([[7, 1]], [[0]], am.AttentionConfig(V_x=9, V_y=6)),
                                       acfg()),
     ValueError, r"batch.src must be source ids in \[0, V_x\) = \[0, 5\), got 7"),
    ("attention_seq2seq_loss: normalise 'mean'",
     lambda: am.attention_seq2seq_loss(ap(), abatch(), acfg(), "mean"),
     ValueError, r"normalise must be one of"),
    ("attention_sequence_log_prob: candidates[1] without EOS",
     lambda: am.attention_sequence_log_prob(ap(), SRC, [TGT[0], [5], *TGT[2:]], acfg()),
     ValueError, r"candidates\[1\] must end with eos=0"),
    ("attention_sequence_log_prob: inf in W_hy",
     lambda: am.attention_sequence_log_prob(ap(W_hy=nan_at(3, 2, value=np.inf)), SRC, TGT, acfg()),
     ValueError, r"params\['W_hy'\] must be finite"),
    ("attention_encode: sources[1] outside V_x",
     lambda: am.attention_encode(ap(), [[1], [9]], acfg()),
     ValueError, r"sources\[1\] must be source ids in \[0, V_x\) = \[0, 5\), got 9"),
    ("attention_encode: NaN in the bridge's W_s",
     lambda: am.attention_encode(ap(W_s=nan_at(0, 0)), SRC, acfg()),
     ValueError, r"params\['W_s'\] must be finite"),
    ("attention_greedy_decode: NaN in the score's v_a",
     lambda: am.attention_greedy_decode(ap(att_v_a=nan_at(1)), SRC, acfg(), 4),
     ValueError, r"params\['att_v_a'\] must be finite"),
    ("attention_greedy_decode: an empty source",
     lambda: am.attention_greedy_decode(ap(), [[1], []], acfg(), 4),
     ValueError, r"sources\[1\] must hold at least one token"),
    ("attention_greedy_decode: max_len 0",
     lambda: am.attention_greedy_decode(ap(), SRC, acfg(), 0),
     ValueError, r"max_len must be >= 1"),
    ("attention_beam_search: a source id outside V_x",
     lambda: am.attention_beam_search(ap(), [1, 7], acfg(), 2, 4),
     ValueError, r"source must be source ids in \[0, V_x\) = \[0, 5\), got 7"),
    ("attention_beam_search: NaN in the decoder's b",
     lambda: am.attention_beam_search(ap(dec_b=nan_at(3)), [1, 2], acfg(), 2, 4),
     ValueError, r"params\['dec_b'\] must be finite"),
    ("attention_beam_search: a fractional beam width",
     lambda: am.attention_beam_search(ap(), [1, 2], acfg(), 2.5, 4),
     TypeError, r"beam_width must be a positive int"),
    ("attention_decoder_step: a memory that is a tuple",
     lambda: am.attention_decoder_step(ap(), np.array([1, 1]), (np.zeros((2, 4)),) * 2, tuple(vars(amemory()).values()),
                                       acfg()),
     TypeError, r"memory must be the AttentionMemory returned by attention_encode"),
    ("attention_decoder_step: an LSTM state without its cell",
     lambda: am.attention_decoder_step(ap(), np.array([1, 1]), (np.zeros((2, 4)),), amemory(), acfg()),
     TypeError, r"state must be a tuple of 2 \(K, H\) array\(s\) for the lstm cell"),
    ("attention_decoder_step: tokens outside V_y",
     lambda: am.attention_decoder_step(ap(), np.array([1, 6]), (np.zeros((2, 4)),) * 2, amemory(), acfg()),
     ValueError, r"tokens must be target ids in \[0, V_y\) = \[0, 6\), got 6"),
    ("attention_decoder_step: a state of three rows for two sources",
     lambda: am.attention_decoder_step(ap(), np.array([1, 1]), (np.zeros((3, 4)),) * 2, amemory(), acfg()),
     ValueError, r"state\[0\] must have shape \(K, H\) with K=2, H=4"),
    ("birnn_forward: a backward direction of another size",
     lambda: birnn_forward(np.zeros((2, 3, 2)), [3, 1], cell_params(), cell_params(H=4), "lstm"),
     ValueError, r"params_b\['W_h'\] must have shape \(H, 4H\) with H=3, 4H=12 \(so \(3, 12\)\), got \(4, 16\)"),
    ("birnn_forward: NaN in the forward direction's bias",
     lambda: birnn_forward(np.zeros((2, 3, 2)), [3, 1], cell_params(b=nan_at(0)), cell_params(), "lstm"),
     ValueError, r"params_f\['b'\] must be finite"),
    ("birnn_forward: a length beyond M",
     lambda: birnn_forward(np.zeros((2, 3, 2)), [3, 4], cell_params(), cell_params(), "lstm"),
     ValueError, r"lengths must lie in \[1, M\] = \[1, 3\], got 4 at index 1"),
    ("train_g2p: a read-only parameter",
     lambda: g2p.train_g2p(ap(W_c=readonly), SRC, TGT, acfg(), rng=0, batch_size=2),
     ValueError, r"params\['W_c'\] must be writeable \(train_g2p updates it in place\)"),
    ("train_g2p: NaN in an unused row of E_y",
     lambda: g2p.train_g2p(ap(E_y=nan_at(0, 2)), SRC, TGT, acfg(), rng=0, batch_size=2),
     ValueError, r"params\['E_y'\] must be finite"),
    ("train_g2p: targets[2] without EOS",
     lambda: g2p.train_g2p(ap(), SRC, TGT[:2] + [[3]] + TGT[3:], acfg(), rng=0),
     ValueError, r"targets\[2\] must end with eos=0"),
    ("train_g2p: an optimizer that makes W_hy NaN",
     lambda: g2p.train_g2p(ap(), SRC, TGT, acfg(), rng=0, optimizer=NaNOptimizer("W_hy")),
     FloatingPointError, r"training diverged at step 0: params\['W_hy'\] is no longer finite"),
    ("train_g2p: an optimizer that replaces b_y",
     lambda: g2p.train_g2p(ap(), SRC, TGT, acfg(), rng=0, optimizer=NaNOptimizer("b_y", [0.0] * 6)),
     ValueError, r"params\['b_y'\] must stay an ndarray of shape \(6,\) and dtype float64 during training"),
    ("transcribe: NaN in the readout",
     lambda: g2p.transcribe(["cat"], (g2p_params(W_hy=nan_at(0, 0)), G2P_CFG)),
     ValueError, r"params\['W_hy'\] must be finite"),
    ("predict: batched, with NaN in the score's W_a",
     lambda: g2p.predict(g2p_params(att_W_a=nan_at(0, 0)), G2P_CFG, ["cat"], batch_size=2),
     ValueError, r"params\['att_W_a'\] must be finite"),
    ("save_checkpoint: NaN in a parameter",
     lambda: g2p.save_checkpoint("never-written", ap(b_c=nan_at(0)), acfg()),
     ValueError, r"params\['b_c'\] must be finite"),
    # --- the RNN language model: loss_and_grads, evaluate_rnn, train_rnn, sample
    ("loss_and_grads: NaN in W_hh",
     lambda: tr.loss_and_grads(rnn_params(W_hh=nan_at(1, 1)), *lm_data()),
     ValueError, r"params\['W_hh'\] must be finite"),
    ("loss_and_grads: NaN in a row of W_xh that one-hot inputs never read",
     lambda: tr.loss_and_grads(rnn_params(D=5, W_xh=nan_at(4, 0)), *one_hot_lm()),
     ValueError, r"params\['W_xh'\] must be finite, got 1 NaN .* the first at index \(4, 0\)"),
    ("loss_and_grads: inputs of the wrong width",
     lambda: tr.loss_and_grads(rnn_params(), *lm_data(D=2)),
     ValueError, r"x must have shape \(B, T, D\) with B=2, T=3, D=3 \(so \(2, 3, 3\)\), got \(2, 3, 2\)"),
    ("loss_and_grads: a target outside V",
     lambda: tr.loss_and_grads(rnn_params(), lm_data()[0], np.full((2, 3), 5)),
     ValueError, r"targets must be token ids in \[0, V\) = \[0, 5\)"),
    ("loss_and_grads: NaN weights",
     lambda: tr.loss_and_grads(rnn_params(), *lm_data()[:2], np.full((2, 3), np.nan)),
     ValueError, r"weights must be finite"),
    ("loss_and_grads: weights of the wrong length",
     lambda: tr.loss_and_grads(rnn_params(), *lm_data()[:2], np.ones((2, 4))),
     ValueError, r"weights must have shape \(B, T\) with B=2, T=3"),
    ("loss_and_grads: inf in the inputs",
     lambda: tr.loss_and_grads(rnn_params(), np.full((2, 3, 3), np.inf), lm_data()[1]),
     ValueError, r"x must be finite"),
    ("loss_and_grads: non-integral targets",
     lambda: tr.loss_and_grads(rnn_params(), lm_data()[0], np.full((2, 3), 0.5)),
     TypeError, r"targets must hold integers"),
    ("loss_and_grads: mse targets per step instead of per sequence",
     lambda: tr.loss_and_grads(rnn_params(V=1), lm_data()[0], np.zeros((2, 3)), loss="mse"),
     ValueError, r"targets must have shape \(B, V\) with .*\(loss='mse' wants one target per sequence\)"),
    ("evaluate_rnn: NaN in b_y",
     lambda: tr.evaluate_rnn(rnn_params(b_y=nan_at(0)), *lm_data()),
     ValueError, r"params\['b_y'\] must be finite"),
    ("evaluate_rnn: an unknown activation",
     lambda: tr.evaluate_rnn(rnn_params(), *lm_data(), activation="gelu"),
     ValueError, r"activation must be one of"),
    ("loss_and_grads: zero hidden units",
     lambda: tr.loss_and_grads(rnn_params(W_xh=np.zeros((3, 0)), W_hh=np.zeros((0, 0)), b_h=np.zeros(0),
                                          W_hy=np.zeros((0, 5))), *lm_data()),
     ValueError, r"params must have D, H, V >= 1, got \(D, H, V\) = \(3, 0, 5\)"),
    ("train_rnn: a batch of the wrong width",
     lambda: tr.train_rnn(rnn_params(), lm_batches(x=np.zeros((2, 3, 4))), 2, optimizer=SGD(0.1), rng=0),
     ValueError, r"batches\(rng\)\[0\] \(x\) must have shape \(B, T, D\) with B=2, T=3, D=3 .*got \(2, 3, 4\)"),
    ("train_rnn: a batch with NaN weights",
     lambda: tr.train_rnn(rnn_params(), lm_batches(w=np.full((2, 3), np.nan)), 2, optimizer=SGD(0.1), rng=0),
     ValueError, r"batches\(rng\)\[2\] \(weights\) must be finite"),
    ("train_rnn: held-out targets outside V",
     lambda: tr.train_rnn(rnn_params(), lm_batches(), 2, optimizer=SGD(0.1), rng=0,
                          eval_data=(lm_data()[0], np.full((2, 3), 7))),
     ValueError, r"eval_data\[1\] \(targets\) must be token ids in \[0, V\) = \[0, 5\) \(V: the columns of params\['W_hy'\]\), "
                r"got 7"),
    ("train_rnn: held-out data as a list",
     lambda: tr.train_rnn(rnn_params(), lm_batches(), 2, optimizer=SGD(0.1), rng=0, eval_data=list(lm_data())),
     TypeError, r"eval_data must be a tuple \(x, targets\) or \(x, targets, weights\)"),
    ("train_rnn: float16 parameters",
     lambda: tr.train_rnn(rnn_params(W_hh=lambda a: a.astype(np.float16)), lm_batches(), 2, optimizer=SGD(0.1),
                          rng=0),
     TypeError, r"params\['W_hh'\] must be a float32 or float64 ndarray \(train_rnn updates it in place\)"),
    ("train_rnn: a callback that cannot be called",
     lambda: tr.train_rnn(rnn_params(), lm_batches(), 2, optimizer=SGD(0.1), rng=0, callback=5),
     TypeError, r"callback must be a callable"),
    ("train_rnn: an optimizer that swaps W_hh for a matrix of another shape",
     lambda: tr.train_rnn(rnn_params(), lm_batches(), 2, optimizer=NaNOptimizer("W_hh", np.zeros((5, 5))), rng=0),
     ValueError, r"params\['W_hh'\] must stay an ndarray of shape \(4, 4\)"),
    ("sample: inf in W_hy",
     lambda: tr.sample(rnn_params(D=5, W_hy=nan_at(0, 0, value=np.inf)), 2, bos=0, rng=0),
     ValueError, r"params\['W_hy'\] must be finite"),
    # --- the gated last-state model and its training
    ("last_state_loss_and_grads: NaN in an LSTM's W_h",
     lambda: gt.last_state_loss_and_grads(gated(W_h=nan_at(0, 3)), *adding()),
     ValueError, r"params\['W_h'\] must be finite"),
    ("last_state_loss_and_grads: a GRU's W_x with four gate blocks",
     lambda: gt.last_state_loss_and_grads(gated("gru", W_x=np.zeros((2, 16))), *adding()),
     ValueError, r"params\['W_x'\] must have shape \(D, 3H\) with D=2, 3H=12 \(so \(2, 12\)\), got \(2, 16\)"),
    ("last_state_loss_and_grads: NaN in W_y",
     lambda: gt.last_state_loss_and_grads(gated("rnn", W_y=nan_at(1, 0)), *adding()),
     ValueError, r"params\['W_y'\] must be finite"),
    ("last_state_loss_and_grads: inputs of the wrong width",
     lambda: gt.last_state_loss_and_grads(gated(), np.zeros((3, 5, 3)), adding()[1]),
     ValueError, r"x must have shape \(B, T, D\) with B=3, T=5, D=2 .*got \(3, 5, 3\)"),
    ("last_state_loss_and_grads: y without its column",
     lambda: gt.last_state_loss_and_grads(gated(), adding()[0], adding()[1][:, 0]),
     ValueError, r"y must have shape \(B, 1\), got 1-D shape \(3,\)"),
    ("last_state_loss_and_grads: NaN in y",
     lambda: gt.last_state_loss_and_grads(gated(), adding()[0], np.full((3, 1), np.nan)),
     ValueError, r"y must be finite"),
    ("last_state_forward: params as a list",
     lambda: gt.last_state_forward(list(gated().values()), adding()[0]),
     TypeError, r"params must be a dict name -> array"),
    ("last_state_forward: a ragged x",
     lambda: gt.last_state_forward(gated(), [[[0.0, 1.0]], [[0.0]]]),
     ValueError, r"x must be a numeric array, got a ragged nested sequence"),
    ("last_state_forward: keys of no cell",
     lambda: gt.last_state_forward({**gated(), "extra": np.zeros(1)}, adding()[0]),
     ValueError, r"params must hold the keys of one cell plus W_y, b_y"),
    ("train_last_state: a batch of the wrong width",
     lambda: gt.train_last_state(gated(), lambda rng: (np.zeros((3, 5, 1)), np.zeros((3, 1))), 2, adding(), rng=0),
     ValueError, r"batch\(rng\)\[0\] \(x\) must have shape \(B, T, D\) with B=3, T=5, D=2 .*got \(3, 5, 1\)"),
    ("train_last_state: NaN in the held-out targets",
     lambda: gt.train_last_state(gated(), lambda rng: adding(), 2, (adding()[0], np.full((3, 1), np.nan)), rng=0),
     ValueError, r"eval_set\[1\] \(y\) must be finite"),
    ("train_last_state: a held-out set that is one array",
     lambda: gt.train_last_state(gated(), lambda rng: adding(), 2, adding()[0], rng=0),
     TypeError, r"eval_set must be a pair \(x, y\)"),
    ("train_last_state: a batch that is not callable",
     lambda: gt.train_last_state(gated(), adding(), 2, adding(), rng=0),
     TypeError, r"batch must be a callable rng -> \(x, y\)"),
    ("train_last_state: a read-only parameter",
     lambda: gt.train_last_state(gated(b=readonly), lambda rng: adding(), 2, adding(), rng=0),
     ValueError, r"params\['b'\] must be writeable \(train_last_state updates it in place\)"),
    ("train_last_state: NaN in a GRU's b_h",
     lambda: gt.train_last_state(gated("gru", b_h=nan_at(0)), lambda rng: adding(), 2, adding(), rng=0),
     ValueError, r"params\['b_h'\] must be finite"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejected_at_the_edge_in_the_callers_words(call, exc, pattern):
    with pytest.raises(Exception) as info:
        call()
    assert type(info.value) is exc, f"{type(info.value).__name__}: {info.value}"
    assert re.match(pattern, str(info.value)), str(info.value)


def test_the_set_is_broad():
    """At least 40 cases, and every model-level function is among them."""
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)
    called = " ".join(c[0].split(":")[0] for c in CASES)
    for fn in ("make_batch", "loss", "loss_and_grads", "forward", "sequence_log_prob", "greedy_decode",
               "beam_search", "decoder_step", "encode", "decoder_inputs", "train_seq2seq", "evaluate_rnn",
               "train_rnn", "sample", "last_state_loss_and_grads", "last_state_forward", "train_last_state",
               "attention_seq2seq_forward", "attention_seq2seq_loss", "attention_seq2seq_loss_and_grads",
               "attention_sequence_log_prob", "attention_encode", "attention_decoder_step",
               "attention_greedy_decode", "attention_beam_search", "birnn_forward", "train_g2p",
               "transcribe", "predict", "save_checkpoint"):
        assert re.search(rf"(^| ){fn}( |$)", called), fn


def test_the_valid_inputs_of_the_cases_pass():
    """The builders the cases edit are valid as they stand: each rejection is the edit's doing."""
    c = cfg()
    s2.seq2seq_loss_and_grads(s2p(), batch(), c)
    s2.sequence_log_prob(s2p(), SRC, TGT, c)
    greedy_decode(s2p(), SRC, c, 4)
    beam_search(s2p(), [1, 2], c, 2, 4, trace=[])
    decoder_step(s2p("lstm"), np.array([1]), (np.zeros((1, 4)),) * 2, np.zeros((1, 4)), cfg("lstm"))
    s2.encode(s2p(), np.array([[1, 2]]), np.array([2]), c)
    s2.decoder_inputs(s2p(), np.array([[1, 2]]), np.zeros((1, 4)), c)
    train_seq2seq(s2p(), SRC, TGT, c, 2, rng=0, batch_size=2)
    for cell, score in (("lstm", "additive"), ("gru", "general")):
        am.attention_seq2seq_loss_and_grads(ap(cell, score), abatch(acfg(cell, score)), acfg(cell, score))
    am.attention_sequence_log_prob(ap(), SRC, TGT, acfg())
    am.attention_beam_search(ap(), [1, 2], acfg(), 2, 4)
    am.attention_decoder_step(ap(), np.array([1, 1]), (np.zeros((2, 4)),) * 2, amemory(), acfg())
    birnn_forward(np.zeros((2, 3, 2)), [3, 1], cell_params(), cell_params(), "lstm")
    g2p.train_g2p(ap(), SRC, TGT, acfg(), rng=0, batch_size=2)
    g2p.transcribe(["cat"], (g2p_params(), G2P_CFG), max_len=3)
    g2p.predict(g2p_params(), G2P_CFG, ["cat"], batch_size=2, max_len=3)
    assert 0 not in abatch().dec_in
    tr.loss_and_grads(rnn_params(), *lm_data())
    tr.loss_and_grads(rnn_params(D=5), *one_hot_lm())
    tr.train_rnn(rnn_params(), lm_batches(), 2, optimizer=SGD(0.1), rng=0, eval_data=lm_data())
    tr.sample(rnn_params(D=5), 2, bos=0, rng=0)
    for arch in gt.ARCHS:
        gt.last_state_loss_and_grads(gated(arch), *adding())
        gt.train_last_state(gated(arch), lambda rng: adding(), 2, adding(), rng=0)
    # the batches of the unused-row cases really do not read those rows
    assert 0 not in batch().dec_in and UNUSED_Y not in s2.make_batch(SRC[1:], TGT[1:], c).dec_in
    assert 4 not in s2.make_batch(SRC[2:], TGT[2:], c).src
    assert 5 not in np.array([[1, 2]]) and 3 not in np.array([[0, 1]]) and 4 not in one_hot_lm()[0].argmax(-1)


@pytest.fixture
def checked(monkeypatch):
    """Every (check, name) that seqlib's checks see, in order: patched wherever a module bound them."""
    import sys

    import seqlib._validate as V

    log: list[tuple[str, str]] = []
    real = {n: getattr(V, n) for n in ("as_float_array", "as_int_array", "check_shape", "check_finite")}

    def wrap(n):
        def w(x, name, *a, **k):
            log.append((n, name))
            return real[n](x, name, *a, **k)
        return w

    wrappers = {n: wrap(n) for n in real}
    for modname, mod in list(sys.modules.items()):
        if modname == "seqlib" or modname.startswith("seqlib."):
            for n, w in wrappers.items():
                if getattr(mod, n, None) is real[n]:
                    monkeypatch.setattr(mod, n, w)
    return log


def _finite_counts(log: list[tuple[str, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for fn, name in log:
        if fn == "check_finite":
            out[name] = out.get(name, 0) + 1
    return out


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_model_function_checks_each_array_once_in_the_callers_words(checked, cell):
    """No layer inside checks again: every name checked is the caller's, every array is scanned once."""
    c = cfg(cell, context=True)
    p, b = s2p(cell, True), batch(c)
    checked.clear()
    s2.seq2seq_loss_and_grads(p, b, c)
    assert all(re.match(r"params\[|batch\.", name) for _, name in checked), checked
    assert _finite_counts(checked) == {**{f"params[{k!r}]": 1 for k in s2.param_names(c)}, "batch.weights": 1}
    checked.clear()
    greedy_decode(p, SRC, c, 3)
    assert all(re.match(r"params\[|sources\[\d\]$", name) for _, name in checked), checked
    assert _finite_counts(checked) == {f"params[{k!r}]": 1 for k in s2.param_names(c)}
    checked.clear()
    s2.sequence_log_prob(p, SRC, TGT, c)
    assert all(re.match(r"params\[|sources\[\d\]$|candidates\[\d\]$", name) for _, name in checked), checked


def test_training_loops_check_params_once_and_each_batch_once(checked):
    steps = 3
    checked.clear()
    tr.train_rnn(rnn_params(), lm_batches(), steps, optimizer=SGD(0.1), rng=0, eval_data=lm_data(), eval_every=1,
                 truncate=(1, 2))
    counts = _finite_counts(checked)
    # SGD.step checks the gradients it is handed: the optimizer is the caller's object, its step an edge
    assert all(re.match(r"params\[|eval_data\[|batches\(rng\)\[|grads\[", n) for _, n in checked), checked
    assert {n: k for n, k in counts.items() if n.startswith("params[")} == {f"params[{k!r}]": 1
                                                                           for k in tr.RNN_PARAM_NAMES}
    assert counts["eval_data[0] (x)"] == 1 and counts["batches(rng)[0] (x)"] == steps
    for arch in gt.ARCHS:
        checked.clear()
        gt.train_last_state(gated(arch), lambda rng: adding(), steps, adding(), rng=0, eval_every=1)
        counts = _finite_counts(checked)
        assert all(re.match(r"params\[|eval_set\[|batch\(rng\)\[|grads\[", n) for _, n in checked), checked
        assert all(k == 1 for n, k in counts.items() if n.startswith("params[")), counts
        assert counts["batch(rng)[0] (x)"] == steps and counts["eval_set[1] (y)"] == 1
    checked.clear()
    train_seq2seq(s2p(), SRC, TGT, cfg(), steps, rng=0, batch_size=2)
    assert all(re.match(r"params\[|sources\[\d\]$|targets\[\d\]$|grads\[", n) for _, n in checked), checked
    assert all(k == 1 for n, k in _finite_counts(checked).items() if n.startswith("params[")), checked


@pytest.mark.parametrize("cell, score", [("rnn", "additive"), ("lstm", "general"), ("gru", "additive")])
def test_the_attention_model_checks_each_array_once_in_the_callers_words(checked, cell, score):
    """The attention model's layers (the attention, the BiRNN, the cells) check nothing again."""
    c = acfg(cell, score)
    p, b = ap(cell, score), abatch(c)
    names = {f"params[{k!r}]": 1 for k in am.attention_param_names(c)}
    checked.clear()
    am.attention_seq2seq_loss_and_grads(p, b, c)
    assert all(re.match(r"params\[|batch\.", name) for _, name in checked), checked
    assert _finite_counts(checked) == {**names, "batch.weights": 1}
    checked.clear()
    am.attention_greedy_decode(p, SRC, c, 3)
    assert all(re.match(r"params\[|sources\[\d\]$", name) for _, name in checked), checked
    assert _finite_counts(checked) == names
    checked.clear()
    am.attention_beam_search(p, SRC[0], c, 3, 3)
    assert all(re.match(r"params\[|source$", name) for _, name in checked), checked
    assert _finite_counts(checked) == names
    checked.clear()
    g2p.train_g2p(p, SRC, TGT, c, epochs=2, rng=0, batch_size=2)
    # Adam.step checks the gradients it is handed (the optimizer is the caller's object, its step an edge)
    assert all(re.match(r"params\[|sources\[\d\]$|targets\[\d\]$|grads\[", n) for _, n in checked), checked
    assert {n: k for n, k in _finite_counts(checked).items() if n.startswith("params[")} == names
