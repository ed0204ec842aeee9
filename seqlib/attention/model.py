"""An attention encoder-decoder: loss and gradients by teacher forcing, greedy and beam decoding.

The model maps a source x_{0:M} (token ids) to a target y_{0:L} ending with
EOS, as :mod:`seqlib.seq2seq.model` does, but the decoder looks back at every
source position at every step::

    e_m  = E_x[x_m]                                        source embedding
    h_m  = [→h_m, ←h_m] = BiRNN(e)_m                       annotations (:mod:`.birnn`)
    s_-1 = tanh(←h_0 W_s + b_s)                            the bridge   (eq. ``att_bridge``)
    s_l  = cell(E_y[y_{l-1}], s_{l-1}),  y_{-1} = BOS      decoder
    α_l, c_l = attention(s_l; h_0..h_{M_b-1})              (:mod:`.layer`)
    h̃_l  = tanh([c_l, s_l] W_c + b_c)                      attentional state (eq. ``att_hidden``)
    o_l  = h̃_l W_hy + b_y,   p̂(y_l | y_{0:l}, x) = softmax(o_l)[y_l]

What follows which paper:

* The bidirectional encoder and the additive score are Bahdanau et al.'s
  (2015, §3.2, App. A.1.2); so is the bridge, s_0 = tanh(W_s ←h_1) in their
  App. A.2.2 (here with a bias, and with 0-based positions ←h_0): the
  backward RNN's state after reading the whole source.
* The decoder is Luong et al.'s "global" attention (2015, §3, eqs. (5)-(7)):
  the query is the state s_l *after* the step, and the output is read off
  the attentional state h̃_l.  Bahdanau et al. instead score with s_{l-1}
  and feed c_l into the cell; Luong et al. call their path "simpler" (§3.1).
  Neither model's extras are here: no input feeding (Luong §3.3), no maxout
  deep output (Bahdanau A.2.2).
* With the decoder's inputs independent of the attention, teacher forcing
  runs the decoder cell over all L steps in one call of its forward
  function, and attends for all steps at once: one (B, L, M) score array.

Reused, not copied: the cells' forward and backward passes
(:data:`seqlib.seq2seq.model.CELLS`), batches and their padding
(:func:`seqlib.seq2seq.model.make_batch`), the readout
(:mod:`seqlib.cells.readout`), the loss
(:func:`seqlib.loss.seq_loss.sequence_loss_and_grad`), hypotheses
(:class:`seqlib.seq2seq.decode.Hypothesis`).

Arguments are checked once, where a caller enters, as in
:mod:`seqlib.seq2seq.model`: each public function checks ``config``, every
parameter array in full (``params['enc_b_W_h'] must be finite``, the rows
a batch does not read included), and its other arguments in the caller's
words (``sources[2]``, ``candidates[0]``, ``batch.src``, ``memory.keys``);
the layers then run as their private cores (:func:`.layer._attention_forward_core`,
:func:`.birnn._birnn_forward_core`, the cells' cores), which check nothing again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .._validate import (
    _describe, check_array, check_bool, check_choice, check_index_range, check_param_dict, check_positive_int,
)
from ..cells.init import _as_dtype, _as_rng, glorot_uniform
from ..cells.readout import _linear_backward_core, _linear_forward_core
from ..loss.seq_loss import _sequence_loss_and_grad_core, _sequence_loss_core
from ..loss.softmax_ce import _log_softmax
from ..seq2seq.decode import Hypothesis, _check_source
from ..seq2seq.model import (
    _BUILTIN, _CELL_SHAPES, _NORM_FLAGS, CELLS, NORMALISATIONS, Cell, Seq2SeqBatch, _check_batch, _check_pairs,
    _check_seqs, _pad, _pad_batch, _TokenConfig,
)
from .birnn import _birnn_backward_core, _birnn_forward_core
from .layer import (
    ATTENTION_PARAMS, SCORES, _attention_backward_core, _attention_forward_core, _hidden_backward_core,
    _hidden_forward_core, _project_keys_core, init_attention_params,
)

__all__ = [
    "AttentionConfig", "attention_param_names", "init_attention_seq2seq", "AttentionSeq2SeqCache",
    "attention_seq2seq_forward", "attention_seq2seq_loss", "attention_seq2seq_loss_and_grads",
    "attention_sequence_log_prob", "AttentionMemory", "attention_encode", "attention_decoder_step",
    "AttendedHypothesis", "attention_greedy_decode", "attention_beam_search",
]

Array = np.ndarray


@dataclass(frozen=True)
class AttentionConfig(_TokenConfig):
    """Sizes and choices of an attention encoder-decoder.

    Attributes
    ----------
    V_x, V_y : int
        Source and target vocabulary sizes (the target's includes ``eos`` and ``bos``).
    eos, bos : int
        Target ids of end-of-sequence and of the begin symbol, as
        :class:`seqlib.seq2seq.model.Seq2SeqConfig` (so that
        :func:`seqlib.seq2seq.model.make_batch` pads pairs for this model too).
    D : int
        Embedding size of both vocabularies.
    H_enc : int
        State size of each encoder direction (annotations are 2 H_enc wide).
    H : int
        State size of the decoder and of the attentional state h̃.
    A : int
        Hidden size of the additive score (unused by ``"general"``).
    score : {"additive", "general"}
    cell : {"rnn", "lstm", "gru"}
        The cell of both encoder directions and of the decoder.
    """

    V_x: int
    V_y: int
    eos: int = 0
    bos: int = 1
    D: int = 16
    H_enc: int = 64
    H: int = 64
    A: int = 64
    score: str = "additive"
    cell: str = "lstm"

    def __post_init__(self) -> None:
        for k in ("V_x", "V_y", "D", "H_enc", "H", "A"):
            check_positive_int(getattr(self, k), k)
        check_choice(self.cell, "cell", CELLS)
        check_choice(self.score, "score", SCORES)
        for k in ("eos", "bos"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < self.V_y:
                raise ValueError(f"{k} must be a target id in [0, V_y) = [0, {self.V_y}), got {v!r}")
        if self.eos == self.bos:
            raise ValueError(f"eos and bos must differ, got both = {self.eos}")

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain Python values (for a checkpoint)."""
        return {k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in self.__dict__.items()}


def _check_config(config: Any) -> AttentionConfig:
    if not isinstance(config, AttentionConfig):
        raise TypeError(f"config must be an AttentionConfig, got {_describe(config)}")
    return config


def attention_param_names(config: AttentionConfig) -> tuple[str, ...]:
    """``E_x, E_y``, ``enc_f_*``, ``enc_b_*`` (the two directions), ``W_s, b_s`` (bridge), ``dec_*``,
    ``att_*`` (the score), ``W_c, b_c`` (attentional state), ``W_hy, b_y``."""
    _check_config(config)
    cell = CELLS[config.cell].param_names
    return ("E_x", "E_y", *(f"enc_f_{n}" for n in cell), *(f"enc_b_{n}" for n in cell), "W_s", "b_s",
            *(f"dec_{n}" for n in cell), *(f"att_{n}" for n in ATTENTION_PARAMS[config.score]), "W_c", "b_c",
            "W_hy", "b_y")


def init_attention_seq2seq(config: AttentionConfig, *, rng: np.random.Generator | int,
                           dtype: object = np.float64) -> dict[str, Array]:
    """Seeded parameters: N(0, 1/D) embeddings, the cells' own init, Glorot matrices, zero biases.

    Parameters
    ----------
    config : AttentionConfig
    rng : numpy.random.Generator or int, keyword-only
    dtype : float32 or float64, keyword-only
        float32 halves the memory traffic of training; gradient checks need float64.
    """
    _check_config(config)
    rng = _as_rng(rng)
    dt = _as_dtype(dtype)
    cell = CELLS[config.cell]
    D, He, H = config.D, config.H_enc, config.H
    p = {"E_x": rng.normal(0.0, D ** -0.5, (config.V_x, D)), "E_y": rng.normal(0.0, D ** -0.5, (config.V_y, D))}
    p.update({f"enc_f_{k}": v for k, v in cell.init(D, He, rng).items()})
    p.update({f"enc_b_{k}": v for k, v in cell.init(D, He, rng).items()})
    p["W_s"], p["b_s"] = glorot_uniform(He, H, rng=rng), np.zeros(H)
    p.update({f"dec_{k}": v for k, v in cell.init(D, H, rng).items()})
    p.update({f"att_{k}": v for k, v in
              init_attention_params(H, 2 * He, config.A, score=config.score, rng=rng).items()})
    p["W_c"], p["b_c"] = glorot_uniform(2 * He + H, H, rng=rng), np.zeros(H)
    p["W_hy"], p["b_y"] = glorot_uniform(H, config.V_y, rng=rng), np.zeros(config.V_y)
    return {k: np.asarray(v, dtype=dt) for k, v in p.items()}


@functools.lru_cache(maxsize=64)
def _init_shapes(cell: Cell, D: int, H: int) -> dict[str, tuple[int, ...]]:
    """The shapes of a cell's parameters as its ``init`` makes them (for a cell added to :data:`CELLS`)."""
    return {k: np.shape(v) for k, v in cell.init(D, H, np.random.default_rng(0)).items()}


def _cell_spec(config: AttentionConfig, H: str) -> dict[str, tuple[str | int, ...]]:
    """A cell's parameter shapes with its state size named ``H`` (``"H_enc"`` for the encoder)."""
    cell = CELLS[config.cell]
    if cell is _BUILTIN.get(config.cell):
        return {k: tuple(H if sym == "H" else sym.replace("H", H) if sym[0].isdigit() else sym for sym in v)
                for k, v in _CELL_SHAPES[config.cell].items()}
    return dict(_init_shapes(cell, config.D, config.H_enc if H == "H_enc" else config.H))


def _param_spec(config: AttentionConfig) -> tuple[dict[str, tuple[str | int, ...]], dict[str, int]]:
    """Every parameter's shape, in symbols bound by ``config``."""
    names = CELLS[config.cell].param_names
    spec: dict[str, tuple[str | int, ...]] = {"E_x": ("V_x", "D"), "E_y": ("V_y", "D")}
    enc = _cell_spec(config, "H_enc")
    for side in ("enc_f_", "enc_b_"):
        spec.update({side + k: enc[k] for k in names})
    spec["W_s"], spec["b_s"] = ("H_enc", "H"), ("H",)
    dec = _cell_spec(config, "H")
    spec.update({"dec_" + k: dec[k] for k in names})
    if config.score == "additive":
        spec.update({"att_W_a": ("H", "A"), "att_U_a": ("2H_enc", "A"), "att_b_a": ("A",), "att_v_a": ("A",)})
    else:
        spec["att_W_a"] = ("H", "2H_enc")
    spec["W_c"], spec["b_c"] = ("2H_enc+H", "H"), ("H",)
    spec["W_hy"], spec["b_y"] = ("H", "V_y"), ("V_y",)
    He, H = config.H_enc, config.H
    dims = {"V_x": config.V_x, "V_y": config.V_y, "D": config.D, "H_enc": He, "H": H, "A": config.A,
            "2H_enc": 2 * He, "2H_enc+H": 2 * He + H}
    return spec, dims


def _check_params(params: Any, config: Any, inplace: str | None = None) -> dict[str, Array]:
    """``config`` and every array of ``params``, checked in full (dtype, shape, finiteness); the arrays."""
    _check_config(config)
    spec, dims = _param_spec(config)
    hints = {"E_x": f"(a source vocabulary mismatch? config.V_x = {config.V_x})",
             "E_y": f"(a target vocabulary mismatch? config.V_y = {config.V_y})"}
    return check_param_dict(params, spec, dims, see=" (see init_attention_seq2seq)", hints=hints, inplace=inplace)


def _sub(params: Mapping[str, Array], prefix: str, names: Sequence[str]) -> dict[str, Array]:
    return {k: params[prefix + k] for k in names}


def _att(params: Mapping[str, Array], config: AttentionConfig) -> dict[str, Array]:
    return _sub(params, "att_", ATTENTION_PARAMS[config.score])


@dataclass
class AttentionSeq2SeqCache:
    """What :func:`attention_seq2seq_forward` keeps for the backward pass."""

    batch: Seq2SeqBatch
    enc: Any
    s0: Array
    dec: Any
    att: Any
    hid: Any
    ro: Any

    @property
    def weights(self) -> Array:
        """The attention weights α (B, L, M) of every target position."""
        return self.att.weights


def _encode(p: Mapping[str, Array], src: Array, src_len: Array, config: AttentionConfig):
    """Annotations (B, M, 2 H_enc), the bridge s_{-1} (B, H) and the encoder's cache; checks nothing."""
    cell = CELLS[config.cell]
    ann, enc = _birnn_forward_core(p["E_x"][src], src_len, _sub(p, "enc_f_", cell.param_names),
                                   _sub(p, "enc_b_", cell.param_names), cell)
    s0 = np.tanh(ann[:, 0, config.H_enc:] @ p["W_s"] + p["b_s"])  # (eq. att_bridge)
    return ann, s0, enc


def _forward_core(p: Mapping[str, Array], batch: Seq2SeqBatch,
                  config: AttentionConfig) -> tuple[Array, AttentionSeq2SeqCache]:
    """:func:`attention_seq2seq_forward` without its checks."""
    cell = CELLS[config.cell]
    ann, s0, enc = _encode(p, batch.src, batch.src_len, config)
    s, dec = cell.forward(p["E_y"][batch.dec_in], s0, _sub(p, "dec_", cell.param_names))
    ctx, _, att = _attention_forward_core(s, ann, enc.mask, _att(p, config), config.score)
    h_t, hid = _hidden_forward_core(ctx, s, p["W_c"], p["b_c"])
    logits, ro = _linear_forward_core(h_t, p["W_hy"], p["b_y"])
    return logits, AttentionSeq2SeqCache(batch, enc, s0, dec, att, hid, ro)


def attention_seq2seq_forward(params: Mapping[str, Array], batch: Seq2SeqBatch,
                              config: AttentionConfig) -> tuple[Array, AttentionSeq2SeqCache]:
    """Teacher-forced forward pass: the logits o_l (B, L, V_y) of every target position, and the cache.

    ``batch`` is a :class:`seqlib.seq2seq.model.Seq2SeqBatch` (build it with
    :func:`seqlib.seq2seq.model.make_batch`, which accepts an :class:`AttentionConfig`).
    ``params`` is checked in full against ``config``, ``batch`` against both.
    """
    p = _check_params(params, config)
    return _forward_core(p, _check_batch(batch, config), config)


def _loss(logits: Array, batch: Seq2SeqBatch, normalise: str) -> float:
    out = _sequence_loss_core(logits, batch.tgt, batch.weights, _NORM_FLAGS[normalise])
    return float(out) if normalise == "token" else float(np.sum(out) / batch.src.shape[0])


def attention_seq2seq_loss(params: Mapping[str, Array], batch: Seq2SeqBatch, config: AttentionConfig,
                           normalise: str = "token") -> float:
    """The teacher-forced loss, :func:`seqlib.loss.seq_loss.sequence_loss` on the padded targets.

    ``normalise`` as :func:`seqlib.seq2seq.model.seq2seq_loss`: ``"token"`` divides the
    summed token losses by the number of real target tokens, ``"sequence"`` by B.
    """
    p = _check_params(params, config)
    batch = _check_batch(batch, config)
    check_choice(normalise, "normalise", NORMALISATIONS)
    logits, _ = _forward_core(p, batch, config)
    return _loss(logits, batch, normalise)


def _loss_and_grads_core(p: Mapping[str, Array], batch: Seq2SeqBatch, config: AttentionConfig,
                         normalise: str = "token") -> tuple[float, dict[str, Array]]:
    """:func:`attention_seq2seq_loss_and_grads` without its checks."""
    logits, cache = _forward_core(p, batch, config)
    B = batch.src.shape[0]
    out, dlogits = _sequence_loss_and_grad_core(logits, batch.tgt, batch.weights, _NORM_FLAGS[normalise])
    loss = float(out) if normalise == "token" else float(np.sum(out) / B)
    if normalise == "sequence":
        dlogits = dlogits / B
    dlogits = dlogits.astype(logits.dtype, copy=False)  # the float64 mask must not promote a float32 model
    cell = CELLS[config.cell]
    grads: dict[str, Array] = {}
    g_ro = _linear_backward_core(dlogits, cache.ro)
    grads["W_hy"], grads["b_y"] = g_ro["W"], g_ro["b"]
    g_hid = _hidden_backward_core(g_ro["h"], cache.hid)
    grads["W_c"], grads["b_c"] = g_hid["W_c"], g_hid["b_c"]
    g_att = _attention_backward_core(g_hid["context"], cache.att)
    for k in ATTENTION_PARAMS[config.score]:
        grads[f"att_{k}"] = g_att[k]
    ds = g_hid["query"] + g_att["query"]  # s_l feeds both the attention and h̃_l
    g_dec = cell.backward(ds, cache.dec)
    for k in cell.param_names:
        grads[f"dec_{k}"] = g_dec[k]
    dE_y = np.zeros_like(p["E_y"])
    np.add.at(dE_y, batch.dec_in, g_dec["x"])
    grads["E_y"] = dE_y
    da = g_dec["h0"] * (1.0 - cache.s0 * cache.s0)  # through the bridge's tanh   (eq. att_bridge)
    He = config.H_enc
    ann_bwd0 = cache.att.keys[:, 0, He:]
    grads["W_s"], grads["b_s"] = ann_bwd0.T @ da, da.sum(axis=0)
    dann = g_att["keys"].copy()
    dann[:, 0, He:] += da @ p["W_s"].T
    g_enc = _birnn_backward_core(dann, cache.enc)
    for k in cell.param_names:
        grads[f"enc_f_{k}"], grads[f"enc_b_{k}"] = g_enc["fwd"][k], g_enc["bwd"][k]
    dE_x = np.zeros_like(p["E_x"])
    np.add.at(dE_x, batch.src, g_enc["x"])
    grads["E_x"] = dE_x
    return loss, {k: grads[k] for k in attention_param_names(config)}


def attention_seq2seq_loss_and_grads(params: Mapping[str, Array], batch: Seq2SeqBatch, config: AttentionConfig,
                                     normalise: str = "token") -> tuple[float, dict[str, Array]]:
    """The loss and its gradient w.r.t. every parameter.

    Backward order: loss -> readout -> attentional state (eq.
    ``att_grad_hidden``) -> attention (eqs. ``att_grad_context``,
    ``att_grad_softmax``, ``att_grad_additive`` / ``att_grad_general``), whose
    query gradient joins the decoder states' -> decoder cell (its own
    backward) -> its h0, through the bridge's tanh to ←h_0 -> the
    annotations, with the attention's key gradient -> both encoder
    directions (:func:`seqlib.attention.birnn.birnn_backward`) -> the embeddings
    (scatter-adds).

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params``.

    Raises
    ------
    TypeError, ValueError
        ``config``, every array of ``params`` in full (``params['dec_W_h']
        must be finite``), ``batch`` (``batch.src``, ...) and ``normalise``,
        checked here once; nothing below checks again.
    """
    p = _check_params(params, config)
    batch = _check_batch(batch, config)
    check_choice(normalise, "normalise", NORMALISATIONS)
    return _loss_and_grads_core(p, batch, config, normalise)


def attention_sequence_log_prob(params: Mapping[str, Array], sources: Sequence[Sequence[int]],
                                candidates: Sequence[Sequence[int]], config: AttentionConfig, *,
                                require_eos: bool = True) -> Array:
    """log p̂(y | x) of each candidate y given its source x, by one teacher-forced pass (eq. ``seq_prob_chain``).

    Returns
    -------
    ndarray (B,)

    Raises
    ------
    TypeError, ValueError
        As :func:`seqlib.seq2seq.model.make_batch`, with the messages naming
        ``sources[b]`` and ``candidates[b]``; every array of ``params`` in full.
    """
    p = _check_params(params, config)
    require_eos = check_bool(require_eos, "require_eos")
    batch = _pad_batch(*_check_pairs(sources, candidates, config, require_eos, ("sources", "candidates")), config)
    logits, _ = _forward_core(p, batch, config)
    terms = -_sequence_loss_core(logits, batch.tgt, batch.weights, _NORM_FLAGS["sequence"])
    return terms.sum(axis=1)


# ----------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class AttentionMemory:
    """The encoded sources a decoder attends to, computed once (:func:`attention_encode`).

    Attributes
    ----------
    keys : ndarray (K, M, 2 H_enc)
        The annotations (0 at padding).
    keys_proj : ndarray
        :func:`seqlib.attention.layer.project_keys` of ``keys``.
    mask : ndarray (K, M) bool
    s0 : ndarray (K, H)
        The decoder's initial state (the bridge).
    """

    keys: Array = field(repr=False)
    keys_proj: Array = field(repr=False)
    mask: Array = field(repr=False)
    s0: Array = field(repr=False)

    def take(self, rows: Array) -> "AttentionMemory":
        """The memory of the given rows (e.g. one source repeated for a beam)."""
        return AttentionMemory(self.keys[rows], self.keys_proj[rows], self.mask[rows], self.s0[rows])


def _check_sources(sources: Any, config: AttentionConfig) -> list[Array]:
    """Each source a 1-D int array of ids in [0, V_x), named ``sources[b]``."""
    srcs = _check_seqs(sources, "sources")
    for b, s in enumerate(srcs):
        check_index_range(s, f"sources[{b}]", config.V_x, f"source ids in [0, V_x) = [0, {config.V_x})")
    return srcs


def _encode_memory(p: Mapping[str, Array], srcs: Sequence[Array], config: AttentionConfig) -> AttentionMemory:
    """:func:`attention_encode` without its checks."""
    S, lens = _pad(srcs, 0)
    ann, s0, enc = _encode(p, S, lens, config)
    return AttentionMemory(ann, _project_keys_core(ann, _att(p, config), config.score), enc.mask, s0)


def attention_encode(params: Mapping[str, Array], sources: Sequence[Sequence[int]],
                     config: AttentionConfig) -> AttentionMemory:
    """Encode a list of sources (any lengths) for decoding; each source is named ``sources[b]`` in errors."""
    p = _check_params(params, config)
    return _encode_memory(p, _check_sources(sources, config), config)


def _decoder_step(p: Mapping[str, Array], tokens: Array, state: tuple, memory: AttentionMemory,
                  config: AttentionConfig) -> tuple[Array, tuple, Array]:
    """:func:`attention_decoder_step` without its checks."""
    cell = CELLS[config.cell]
    x = p["E_y"][tokens][:, None, :]
    s, state_new = cell.decode_step(x, state, _sub(p, "dec_", cell.param_names))
    ctx, w, _ = _attention_forward_core(s[:, None, :], memory.keys, memory.mask, _att(p, config), config.score,
                                        memory.keys_proj)
    h_t, _ = _hidden_forward_core(ctx[:, 0], s, p["W_c"], p["b_c"])
    logits, _ = _linear_forward_core(h_t, p["W_hy"], p["b_y"])
    return _log_softmax(logits, -1), tuple(np.array(v) for v in state_new), w[:, 0]


def _check_memory(memory: Any, config: AttentionConfig, d: dict[str, int]) -> AttentionMemory:
    """An :class:`AttentionMemory` whose arrays agree with each other and with ``config``."""
    if not isinstance(memory, AttentionMemory):
        raise TypeError(f"memory must be the AttentionMemory returned by attention_encode, got {_describe(memory)}")
    d.update({"2H_enc": 2 * config.H_enc, "P": config.A if config.score == "additive" else config.H})
    keys = check_array(memory.keys, "memory.keys", ("K", "M", "2H_enc"), d)
    proj = check_array(memory.keys_proj, "memory.keys_proj", ("K", "M", "P"), d)
    s0 = check_array(memory.s0, "memory.s0", ("K", "H"), d)
    mask = np.asarray(memory.mask)
    if mask.dtype != np.bool_ or mask.shape != (d["K"], d["M"]) or not mask.any(axis=1).all():
        raise ValueError(f"memory.mask must be a bool array of shape (K, M) = {(d['K'], d['M'])} with a real "
                         f"position in every row, got {_describe(memory.mask)}")
    return AttentionMemory(keys, proj, mask, s0)


def attention_decoder_step(params: Mapping[str, Array], tokens: Array, state: tuple, memory: AttentionMemory,
                           config: AttentionConfig) -> tuple[Array, tuple, Array]:
    """One free-running step for K rows: cell step, attention, attentional state, log-probabilities.

    Parameters
    ----------
    tokens : ndarray (K,) int
        The previous output of each row (``bos`` at the start).
    state : tuple of ndarray (K, H)
        The decoder state before the step: ``Cell.initial_state(memory.s0)`` at the start.
    memory : AttentionMemory
        The rows' encoded sources (K rows).

    Returns
    -------
    logp : ndarray (K, V_y)
        log p̂(next token | prefix, x).
    state : tuple of ndarray (K, H)
    weights : ndarray (K, M)
        This step's attention weights α_l.
    """
    p = _check_params(params, config)
    d: dict[str, int] = {"H": config.H}
    tokens = check_array(tokens, "tokens", ("K",), d, integer=True)
    check_index_range(tokens, "tokens", config.V_y, f"target ids in [0, V_y) = [0, {config.V_y})")
    n = CELLS[config.cell].n_state
    if not isinstance(state, tuple) or len(state) != n:
        raise TypeError(f"state must be a tuple of {n} (K, H) array(s) for the {config.cell} cell "
                        f"(Cell.initial_state(memory.s0) at the start), got {_describe(state)}")
    state = tuple(check_array(v, f"state[{i}]", ("K", "H"), d) for i, v in enumerate(state))
    memory = _check_memory(memory, config, d)
    return _decoder_step(p, tokens, state, memory, config)


@dataclass(frozen=True)
class AttendedHypothesis(Hypothesis):
    """A :class:`seqlib.seq2seq.decode.Hypothesis` with the attention weights of each of its steps.

    Attributes
    ----------
    weights : ndarray (len(tokens), M_b)
        Row l: the weights α_l over the source's M_b real positions when
        token l was chosen.
    """

    weights: Array = field(repr=False, compare=False)


def _search_logp(logp: Array, config: AttentionConfig) -> Array:
    """The log-probabilities a search chooses from: ``bos`` is never an output."""
    out = logp.copy()
    out[:, config.bos] = -np.inf
    return out


def _greedy_core(p: Mapping[str, Array], srcs: Sequence[Array], config: AttentionConfig,
                 max_len: int) -> list[AttendedHypothesis]:
    """:func:`attention_greedy_decode` without its checks."""
    mem = _encode_memory(p, srcs, config)
    B, M = mem.mask.shape
    lens = mem.mask.sum(axis=1)
    state = CELLS[config.cell].initial_state(mem.s0)
    tok = np.full(B, config.bos)
    out = np.zeros((B, max_len), np.int64)
    weights = np.zeros((B, max_len, M))
    score, done, length = np.zeros(B), np.zeros(B, bool), np.zeros(B, np.int64)
    for t in range(max_len):
        logp, state, w = _decoder_step(p, tok, state, mem, config)
        tok = np.argmax(_search_logp(logp, config), axis=1)
        live = ~done
        out[:, t], weights[:, t] = tok, w
        score[live] += logp[live, tok[live]]
        length[live] += 1
        done |= tok == config.eos
        if done.all():
            break
    return [AttendedHypothesis(tuple(int(v) for v in out[b, :length[b]]), float(score[b]),
                               bool(out[b, length[b] - 1] == config.eos), weights[b, :length[b], :lens[b]].copy())
            for b in range(B)]


def attention_greedy_decode(params: Mapping[str, Array], sources: Sequence[Sequence[int]],
                            config: AttentionConfig, max_len: int) -> list[AttendedHypothesis]:
    """The most probable next token at every step, for a batch of sources at once, with the weights.

    Stops a row at its first EOS or after ``max_len`` tokens.  ``bos`` is
    never chosen.  A hypothesis' score is the sum of its tokens'
    log-probabilities, :func:`attention_sequence_log_prob` of its tokens.
    Checks ``params`` in full, each of ``sources`` (named ``sources[b]``)
    and ``max_len`` once, before the first step.
    """
    p = _check_params(params, config)
    max_len = check_positive_int(max_len, "max_len")
    return _greedy_core(p, _check_sources(sources, config), config, max_len)


def _beam_core(p: Mapping[str, Array], source: Array, config: AttentionConfig, k: int,
               max_len: int) -> list[AttendedHypothesis]:
    """:func:`attention_beam_search` without its checks."""
    mem1 = _encode_memory(p, [source], config)
    M = int(mem1.mask.sum())
    V = config.V_y
    prefixes: list[tuple[int, ...]] = [()]
    ws: list[list[Array]] = [[]]
    scores = np.zeros(1)
    state = CELLS[config.cell].initial_state(mem1.s0)
    finished: list[AttendedHypothesis] = []
    for _ in range(max_len):
        K = len(prefixes)
        last = np.array([p_[-1] if p_ else config.bos for p_ in prefixes])
        logp, state_new, w = _decoder_step(p, last, state, mem1.take(np.zeros(K, np.int64)), config)
        total = (scores[:, None] + _search_logp(logp, config)).ravel()
        order = np.argsort(-total, kind="stable")[:k]
        new_p, new_s, new_w, rows = [], [], [], []
        for i in order:
            r, v = divmod(int(i), V)
            seq, wseq = prefixes[r] + (v,), ws[r] + [w[r, :M]]
            if v == config.eos:
                finished.append(AttendedHypothesis(seq, float(total[i]), True, np.array(wseq)))
            else:
                new_p.append(seq)
                new_s.append(float(total[i]))
                new_w.append(wseq)
                rows.append(r)
        prefixes, scores, ws = new_p, np.array(new_s), new_w
        state = tuple(v[rows] for v in state_new)
        if not prefixes:
            break
        if finished and max(f.score for f in finished) >= scores.max():
            break
    else:
        finished += [AttendedHypothesis(p_, float(s), False, np.array(w)) for p_, s, w in zip(prefixes, scores, ws)]
    finished.sort(key=lambda h: -h.score)
    return finished[:k]


def attention_beam_search(params: Mapping[str, Array], source: Sequence[int], config: AttentionConfig,
                          beam_width: int, max_len: int) -> list[AttendedHypothesis]:
    """Beam search of width k for one source, as :func:`seqlib.seq2seq.decode.beam_search`, with the weights.

    Every live hypothesis is extended by every token but ``bos``; the
    ``beam_width`` best extensions by total log-probability are kept; those
    ending in EOS leave the beam, finished.  The search stops when none is
    live, after ``max_len`` tokens, or when the best finished score is at
    least the best live one (scores only fall as tokens are added).  With
    ``beam_width=1`` this is :func:`attention_greedy_decode`.

    Returns
    -------
    list of AttendedHypothesis
        Best first, at most ``beam_width``.
    """
    p = _check_params(params, config)
    k = check_positive_int(beam_width, "beam_width")
    max_len = check_positive_int(max_len, "max_len")
    return _beam_core(p, _check_source(source, config), config, k, max_len)
