"""Decoding an encoder-decoder of :mod:`seqlib.seq2seq`: greedy and beam search.

At test time no target is given: the decoder feeds back its own previous
output, one token at a time (free running), and stops at EOS or a length
limit.  Each step is one step of the same cell and readout as training
(:func:`seqlib.seq2seq.decoder_inputs`, the cell's forward on a sequence of
length 1, :func:`seqlib.cells.readout.linear_forward`) followed by a stable
:func:`seqlib.loss.softmax_ce.log_softmax`.  Each public function checks its
arguments once, at the start (every parameter array in full, each source
named ``sources[b]``); the steps then run the layers' unchecked cores.  A hypothesis' score is the sum of the
log-probabilities of its tokens, log p̂(y | x) by the chain rule
(eq. ``seq_prob_chain``); :func:`seqlib.seq2seq.sequence_log_prob`
computes the same number by teacher forcing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .._validate import _describe, as_int_array, check_array, check_index_range, check_positive_int
from ..cells.readout import _linear_forward_core
from .model import CELLS, Seq2SeqConfig, _check_params, _check_seqs, _decoder_inputs, _encode, _pad, _sub
from ..loss.softmax_ce import _log_softmax

__all__ = ["Hypothesis", "BeamStep", "decoder_step", "greedy_decode", "beam_search"]

Array = np.ndarray


@dataclass(frozen=True)
class Hypothesis:
    """One output of a search: its tokens (EOS included if it ended with EOS) and log p̂(tokens | x)."""

    tokens: tuple[int, ...]
    score: float
    finished: bool


@dataclass(frozen=True)
class BeamStep:
    """What beam search did at one step (for the chapter's widget).

    Attributes
    ----------
    prefixes : list of tuple
        The live hypotheses entering the step.
    prefix_scores : ndarray (K,)
    logp : ndarray (K, V_y)
        log p̂(next token | prefix, x) for each live prefix.
    kept : list of (tuple, float)
        The expansions kept (top ``beam_width``), best first.
    """

    prefixes: list[tuple[int, ...]]
    prefix_scores: Array
    logp: Array
    kept: list[tuple[tuple[int, ...], float]] = field(default_factory=list)


def _check_source(source: Sequence[int], config: Seq2SeqConfig, name: str = "source") -> Array:
    s = as_int_array(source, name, ndim=1)
    if s.size == 0:
        raise ValueError(f"{name} must hold at least one token, got an empty sequence")
    check_index_range(s, name, config.V_x, f"source ids in [0, V_x) = [0, {config.V_x})")
    return s


def _decoder_step(p: Mapping[str, Array], tokens: Array, state: tuple, c: Array,
                  config: Seq2SeqConfig) -> tuple[Array, tuple]:
    """:func:`decoder_step` without its checks."""
    x = _decoder_inputs(p, tokens[:, None], c, config)
    h, state_new = CELLS[config.cell].decode_step(x, state, _sub(p, "dec_", config))
    logits, _ = _linear_forward_core(h, p["W_hy"], p["b_y"])
    return _log_softmax(logits, -1), tuple(np.array(s) for s in state_new)


def decoder_step(params: Mapping[str, Array], tokens: Array, state: tuple, c: Array,
                 config: Seq2SeqConfig) -> tuple[Array, tuple]:
    """One free-running decoder step for K hypotheses.

    Parameters
    ----------
    tokens : ndarray (K,) int
        The previous output token of each hypothesis (``bos`` at the start).
    state : tuple of ndarray (K, H)
        The decoder state before the step (``(h,)``, or ``(h, c)`` for the
        LSTM); ``Cell.initial_state(c)`` at the start.
    c : ndarray (K, H)
        The encoder's last state (the context).

    Returns
    -------
    logp : ndarray (K, V_y)
        log p̂(next token | prefix, x).
    state_new : tuple of ndarray (K, H)
    """
    p = _check_params(params, config)
    d: dict[str, int] = {"H": config.H}
    tokens = check_array(tokens, "tokens", ("K",), d, integer=True)
    check_index_range(tokens, "tokens", config.V_y, f"target ids in [0, V_y) = [0, {config.V_y})")
    n = CELLS[config.cell].n_state
    if not isinstance(state, tuple) or len(state) != n:
        raise TypeError(f"state must be a tuple of {n} (K, H) array(s) for the {config.cell} cell "
                        f"(Cell.initial_state(c) at the start), got {_describe(state)}")
    state = tuple(check_array(v, f"state[{i}]", ("K", "H"), d) for i, v in enumerate(state))
    c = check_array(c, "c", ("K", "H"), d)
    return _decoder_step(p, tokens, state, c, config)


def _check_max_len(max_len: int) -> int:
    m = check_positive_int(max_len, "max_len")
    assert m is not None
    return m


def greedy_decode(params: Mapping[str, Array], sources: Sequence[Sequence[int]], config: Seq2SeqConfig,
                  max_len: int) -> list[Hypothesis]:
    """The most probable next token at every step, for a batch of sources at once.

    Stops a sequence at its first EOS or after ``max_len`` tokens.  Checks
    ``params`` in full, each of ``sources`` (named ``sources[b]``) and
    ``max_len`` once, before the first step.
    """
    p = _check_params(params, config)
    max_len = _check_max_len(max_len)
    srcs = _check_seqs(sources, "sources")
    for b, s in enumerate(srcs):
        check_index_range(s, f"sources[{b}]", config.V_x, f"source ids in [0, V_x) = [0, {config.V_x})")
    return _greedy_core(p, srcs, config, max_len)


def _greedy_core(p: Mapping[str, Array], srcs: Sequence[Array], config: Seq2SeqConfig,
                 max_len: int) -> list[Hypothesis]:
    """:func:`greedy_decode` without its checks."""
    S, lens = _pad(srcs, 0)
    B = len(srcs)
    _, c, _ = _encode(p, S, lens, config)
    h, tok = CELLS[config.cell].initial_state(c), np.full(B, config.bos)
    out = np.zeros((B, max_len), dtype=np.int64)
    score, done, length = np.zeros(B), np.zeros(B, bool), np.zeros(B, np.int64)
    for t in range(max_len):
        logp, h = _decoder_step(p, tok, h, c, config)
        tok = np.argmax(logp, axis=1)
        live = ~done
        out[:, t] = tok
        score[live] += logp[live, tok[live]]
        length[live] += 1
        done |= tok == config.eos
        if done.all():
            break
    return [Hypothesis(tuple(int(v) for v in out[b, :length[b]]), float(score[b]),
                       bool(out[b, length[b] - 1] == config.eos)) for b in range(B)]


def beam_search(params: Mapping[str, Array], source: Sequence[int], config: Seq2SeqConfig, beam_width: int,
                max_len: int, *, trace: list[BeamStep] | None = None) -> list[Hypothesis]:
    """Beam search of width k for one source.

    At each step every live hypothesis is extended by every token; the
    ``beam_width`` best extensions (by total log-probability) are kept;
    those ending in EOS are finished and leave the beam.  The search stops
    when no hypothesis is live, after ``max_len`` tokens, or when the best
    finished score is at least the best live score (log-probabilities only
    fall as tokens are added, so no live hypothesis can overtake it).

    With ``beam_width = 1`` this is :func:`greedy_decode`.  With a beam as
    wide as the search space (``beam_width >= V_y ** max_len``) nothing is
    ever pruned and the result is the exact most probable output among all
    sequences that end with EOS within ``max_len`` tokens or reach
    ``max_len`` without it.

    Parameters
    ----------
    trace : list, optional
        If given, a :class:`BeamStep` per step is appended to it.

    Returns
    -------
    list of Hypothesis
        Finished hypotheses and those cut at ``max_len``, best first, at most
        ``beam_width`` of them.
    """
    p = _check_params(params, config)
    k = check_positive_int(beam_width, "beam_width")
    assert k is not None
    max_len = _check_max_len(max_len)
    s = _check_source(source, config)
    if trace is not None and not isinstance(trace, list):
        raise TypeError(f"trace must be a list (BeamSteps are appended to it) or None, got {_describe(trace)}")
    return _beam_core(p, s, config, k, max_len, trace)


def _beam_core(p: Mapping[str, Array], s: Array, config: Seq2SeqConfig, k: int, max_len: int,
               trace: list[BeamStep] | None = None) -> list[Hypothesis]:
    """:func:`beam_search` without its checks."""
    _, c1, _ = _encode(p, s[None, :], np.array([s.size]), config)
    V = config.V_y
    prefixes: list[tuple[int, ...]] = [()]
    scores = np.zeros(1)
    h = CELLS[config.cell].initial_state(c1)
    finished: list[Hypothesis] = []
    for t in range(max_len):
        K = len(prefixes)
        last = np.array([p[-1] if p else config.bos for p in prefixes])
        logp, h_new = _decoder_step(p, last, h, np.repeat(c1, K, axis=0), config)
        total = (scores[:, None] + logp).ravel()
        order = np.argsort(-total, kind="stable")[:k]
        step = BeamStep(list(prefixes), scores.copy(), logp) if trace is not None else None
        new_p, new_s, rows = [], [], []
        for i in order:
            r, v = divmod(int(i), V)
            seq = prefixes[r] + (v,)
            if step is not None:
                step.kept.append((seq, float(total[i])))
            if v == config.eos:
                finished.append(Hypothesis(seq, float(total[i]), True))
            else:
                new_p.append(seq)
                new_s.append(float(total[i]))
                rows.append(r)
        if step is not None:
            trace.append(step)
        prefixes, scores, h = new_p, np.array(new_s), tuple(v[rows] for v in h_new)
        if not prefixes:
            break
        if finished and max(f.score for f in finished) >= scores.max():
            break
    else:  # the length limit: live hypotheses end there
        finished += [Hypothesis(p, float(v), False) for p, v in zip(prefixes, scores)]
    finished.sort(key=lambda hyp: -hyp.score)
    return finished[:k]
