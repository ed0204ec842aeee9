"""An RNN encoder-decoder trained with teacher forcing and the sequence loss.

The model maps a source sequence x_{0:M} (token ids) to a target sequence
y_{0:L} that ends with an end-of-sequence token (eq. ``seq_prob``)::

    e_m   = E_x[x_m]                                    source embedding
    s_m   = cell(e_m, s_{m-1}),  s_{-1} = 0             encoder, m = 0..M_b-1
    c     = s_{M_b - 1}                                 the bridge: last real state
    d_l   = [E_y[y_{l-1}], c]   (context) or E_y[y_{l-1}]   y_{-1} = BOS
    h_l   = cell(d_l, h_{l-1}),  h_{-1} = c             decoder
    o_l   = h_l W_hy + b_y                              readout (eq. ``rnn_readout``)
    p̂(y_l | y_{0:l}, x) = softmax(o_l)[y_l]

(eqs. ``s2s_encoder``, ``s2s_bridge``, ``s2s_decoder`` of the
sequence-to-sequence chapter), so p̂(y | x) is the chain-rule product of
eq. ``seq_prob_chain`` (``s2s_chain``) and the loss
is the weighted sequence cross-entropy (eqs. ``ce_loss_seq``,
``seq_loss_weighted``) with the padding masked.  Nothing here is a second
implementation: the recurrences are the cell's own forward and backward
passes (:func:`seqlib.cells.rnn.rnn_forward` / :func:`seqlib.cells.rnn.rnn_backward`
for the vanilla RNN, :mod:`seqlib.cells.lstm`, :mod:`seqlib.cells.gru`), the readout is :mod:`seqlib.cells.readout`, the
loss :func:`seqlib.loss.seq_loss.sequence_loss_and_grad`, the masks those of
:mod:`seqlib.loss.masking`.  Only the embeddings (a row lookup, whose gradient
is a scatter-add) and the bridge (a gather at each source's last real step)
are new.

Arguments are checked once, where a caller enters: each public function
checks its own, in full and in the caller's words (``params['dec_W_hh']``,
``sources[3]``, ``candidates[0]``, ``batch.src``); every parameter array is
checked whole, the rows a batch does not use included.  The layers then run
as their private cores (:func:`seqlib.cells.rnn._rnn_forward_core` and the like),
which trust their inputs and check nothing again.

The cell is a parameter (:class:`Cell`): the vanilla RNN, the LSTM or the
GRU, each through its own forward and backward functions.  The state passed
over the bridge is ``h`` (an LSTM decoder's memory cell starts at 0).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .._validate import (
    _describe, as_int_array, check_array, check_bool, check_choice, check_index_range, check_param_dict,
    check_positive_int,
)
from ..cells.activations import ACTIVATIONS
from ..cells.gru import _PARAM_SHAPES as _GRU_SHAPES, _gru_backward_core, _gru_forward_core, init_gru_params
from ..cells.init import _as_rng, glorot_uniform, orthogonal
from ..cells.lstm import _PARAM_SHAPES as _LSTM_SHAPES, _lstm_backward_core, _lstm_forward_core, init_lstm_params
from ..cells.readout import _linear_backward_core, _linear_forward_core
from ..cells.rnn import _PARAM_SHAPES as _RNN_SHAPES, _rnn_backward_core, _rnn_forward_core
from ..loss.seq_loss import _sequence_loss_and_grad_core, _sequence_loss_core

__all__ = [
    "Cell", "CELLS", "Seq2SeqConfig", "Seq2SeqBatch", "make_batch", "init_seq2seq_params",
    "seq2seq_forward", "seq2seq_loss_and_grads", "seq2seq_loss", "sequence_log_prob",
    "NORMALISATIONS", "param_names", "encode", "decoder_inputs", "Seq2SeqCache",
]

Array = np.ndarray
#: How the summed token losses of a batch are divided: by the number of real
#: target tokens (tfa's default, "token") or by the number of sequences ("sequence").
NORMALISATIONS = ("token", "sequence")


@dataclass(frozen=True)
class Cell:
    """A recurrent cell as the encoder-decoder uses it.

    Attributes
    ----------
    name : str
    param_names : tuple of str
        Its parameters, e.g. ``("W_xh", "W_hh", "b_h")``.
    forward : callable
        ``forward(x (B, T, D), h0 (B, H), params) -> (h (B, T, H), cache)``.
        For the three cells of :data:`CELLS` this is the cell's core, which
        checks nothing: the model functions check their arguments once, at
        the edge (call :func:`seqlib.cells.rnn.rnn_forward` and the like to have
        them checked).
    backward : callable
        ``backward(dh (B, T, H), cache) -> dict`` with ``"x"``, ``"h0"`` and
        every name of ``param_names`` (a core too).
    init : callable
        ``init(D, H, rng) -> dict`` of the parameters.
    n_state : int
        How many (K, H) arrays make up the state carried from step to step
        in decoding: 1 (``h``) for the RNN and the GRU, 2 (``h, c``) for the LSTM.
    step : callable, optional
        ``step(x (K, 1, D), state, params) -> (h (K, H), new state)``, one
        decoding step; default: ``forward`` from ``h0 = state[0]``.
    """

    name: str
    param_names: tuple[str, ...]
    forward: Callable[[Array, Array, Mapping[str, Array]], tuple[Array, Any]]
    backward: Callable[[Array, Any], dict[str, Array]]
    init: Callable[[int, int, np.random.Generator], dict[str, Array]]
    n_state: int = 1
    step: Callable[[Array, tuple, Mapping[str, Array]], tuple[Array, tuple]] | None = None

    def decode_step(self, x: Array, state: tuple, params: Mapping[str, Array]) -> tuple[Array, tuple]:
        """One decoding step: ``step`` if given, else ``forward`` over one time step."""
        if self.step is not None:
            return self.step(x, state, params)
        h, _ = self.forward(x, state[0], params)
        return h[:, 0], (h[:, 0],)

    def initial_state(self, c: Array) -> tuple:
        """The decoder's state after the bridge: ``h = c``, any other part (an LSTM's cell) 0."""
        return (c.copy(),) + tuple(np.zeros_like(c) for _ in range(self.n_state - 1))


def _rnn_init(D: int, H: int, rng: np.random.Generator) -> dict[str, Array]:
    return {"W_xh": glorot_uniform(D, H, rng=rng), "W_hh": orthogonal(H, rng=rng), "b_h": np.zeros(H)}


_TANH = ACTIVATIONS["tanh"]
_RNN = Cell(
    "rnn",
    ("W_xh", "W_hh", "b_h"),
    lambda x, h0, p: _rnn_forward_core(x, h0, p["W_xh"], p["W_hh"], p["b_h"], _TANH),
    lambda dh, cache: _rnn_backward_core(dh, cache),
    _rnn_init,
)


def _lstm_step(x: Array, state: tuple, p: Mapping[str, Array]) -> tuple[Array, tuple]:
    h, cache = _lstm_forward_core(x, state[0], state[1], p["W_x"], p["W_h"], p["b"])
    return h[:, 0], (h[:, 0], cache.cs[-1].copy())


_LSTM = Cell(
    "lstm",
    ("W_x", "W_h", "b"),
    lambda x, h0, p: _lstm_forward_core(x, h0, None, p["W_x"], p["W_h"], p["b"]),
    lambda dh, cache: _lstm_backward_core(dh, cache),
    lambda D, H, rng: init_lstm_params(D, H, rng=rng),
    n_state=2,
    step=_lstm_step,
)
_GRU = Cell(
    "gru",
    ("W_x", "W_h", "b_x", "b_h"),
    lambda x, h0, p: _gru_forward_core(x, h0, p["W_x"], p["W_h"], p["b_x"], p["b_h"]),
    lambda dh, cache: _gru_backward_core(dh, cache),
    lambda D, H, rng: init_gru_params(D, H, rng=rng),
)
#: Each cell's parameter shapes, with the input size as "D".
_CELL_SHAPES = {"rnn": _RNN_SHAPES, "lstm": _LSTM_SHAPES, "gru": _GRU_SHAPES}
#: name -> Cell: the vanilla tanh RNN, the LSTM (:mod:`seqlib.cells.lstm`; the bridge
#: passes h, the decoder's memory cell starts at 0) and the GRU (:mod:`seqlib.cells.gru`).
CELLS: dict[str, Cell] = {"rnn": _RNN, "lstm": _LSTM, "gru": _GRU}
_BUILTIN = dict(CELLS)


@dataclass(frozen=True)
class _TokenConfig:
    """The vocabulary fields a batch of pairs needs (:func:`make_batch`): ``V_x``, ``V_y``, ``eos``, ``bos``.

    The base of :class:`Seq2SeqConfig` and of the attention model's
    :class:`seqlib.attention.model.AttentionConfig`, so that one
    :func:`make_batch` pads pairs for both.
    """

    V_x: int
    V_y: int
    eos: int = 0
    bos: int = 1


@dataclass(frozen=True)
class Seq2SeqConfig(_TokenConfig):
    """Sizes and choices of an encoder-decoder.

    Attributes
    ----------
    V_x : int
        Source vocabulary size (ids ``0..V_x-1``).
    V_y : int
        Target vocabulary size, including ``eos`` and ``bos``.
    eos, bos : int
        Target ids of end-of-sequence (every target ends with it) and of the
        begin symbol fed to the decoder at its first step.
    D : int
        Embedding size of both vocabularies.
    H : int
        State size of encoder and decoder (the bridge copies the state).
    context : bool
        Also feed the encoder's last state c to every decoder step (Cho et al. 2014).
    cell : str
        A key of :data:`CELLS`.
    """

    V_x: int
    V_y: int
    eos: int = 0
    bos: int = 1
    D: int = 16
    H: int = 64
    context: bool = False
    cell: str = "rnn"

    def __post_init__(self) -> None:
        for k in ("V_x", "V_y", "D", "H"):
            check_positive_int(getattr(self, k), k)
        check_choice(self.cell, "cell", CELLS)
        for k in ("eos", "bos"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < self.V_y:
                raise ValueError(f"{k} must be a target id in [0, V_y) = [0, {self.V_y}), got {v!r}")
        if self.eos == self.bos:
            raise ValueError(f"eos and bos must differ, got both = {self.eos}")


@dataclass(frozen=True)
class Seq2SeqBatch:
    """A padded batch of (source, target) pairs, as :func:`make_batch` builds it.

    Attributes
    ----------
    src : ndarray (B, M) int
        Sources, right-padded with 0.
    src_len : ndarray (B,) int
        Source lengths M_b >= 1.
    dec_in : ndarray (B, L) int
        Decoder inputs ``[bos, y_0, ..., y_{L_b-2}]``, padded with ``bos``.
    tgt : ndarray (B, L) int
        Targets ``[y_0, ..., y_{L_b-1} = eos]``, padded with ``eos``.
    weights : ndarray (B, L) float
        The mask ``l < L_b`` (:func:`seqlib.loss.masking.sequence_mask`).
    """

    src: Array
    src_len: Array
    dec_in: Array
    tgt: Array
    weights: Array = field(repr=False)

    @property
    def tgt_len(self) -> Array:
        """Target lengths L_b (EOS included)."""
        return self.weights.sum(axis=1).astype(np.int64)


def _check_config(config: Any) -> Seq2SeqConfig:
    if not isinstance(config, Seq2SeqConfig):
        raise TypeError(f"config must be a Seq2SeqConfig, got {_describe(config)}")
    return config


def _check_seqs(seqs: Any, name: str) -> list[Array]:
    """``seqs`` (a list of id sequences, or a 2-D array of equal-length ones) as 1-D int arrays, each
    named ``name[b]`` in its message."""
    if isinstance(seqs, np.ndarray) and seqs.ndim == 2:
        seqs = list(seqs)
    if isinstance(seqs, (str, bytes, np.ndarray)) or not hasattr(seqs, "__len__"):
        raise TypeError(f"{name} must be a list of id sequences, got {_describe(seqs)}")
    out = []
    for b, s in enumerate(seqs):
        a = as_int_array(s, f"{name}[{b}]", ndim=1)
        if a.size == 0:
            raise ValueError(f"{name}[{b}] must hold at least one token, got an empty sequence")
        out.append(a)
    if not out:
        raise ValueError(f"{name} must hold at least one sequence, got none")
    return out


def _check_pairs(sources: Any, targets: Any, config: Seq2SeqConfig, require_eos: bool,
                 names: tuple[str, str] = ("sources", "targets")) -> tuple[list[Array], list[Array]]:
    """Sources and targets as lists of 1-D int arrays, checked against ``config``, named as ``names``."""
    ns, nt = names
    src = _check_seqs(sources, ns)
    tgt = _check_seqs(targets, nt)
    if len(src) != len(tgt):
        raise ValueError(f"{ns} and {nt} must pair up, got {len(src)} {ns} and {len(tgt)} {nt}")
    for b, s in enumerate(src):
        check_index_range(s, f"{ns}[{b}]", config.V_x, f"source ids in [0, V_x) = [0, {config.V_x})")
    for b, t in enumerate(tgt):
        check_index_range(t, f"{nt}[{b}]", config.V_y, f"target ids in [0, V_y) = [0, {config.V_y})")
        if require_eos and t[-1] != config.eos:
            raise ValueError(f"{nt}[{b}] must end with eos={config.eos}, got last token {int(t[-1])}")
        if np.any(t[:-1] == config.eos):
            raise ValueError(f"{nt}[{b}] must hold eos={config.eos} only at its end, found it at "
                             f"position {int(np.argmax(t[:-1] == config.eos))}")
    return src, tgt


def _pad(seqs: Sequence[Array], value: int) -> tuple[Array, Array]:
    """Checked 1-D int arrays right-padded with ``value`` into (B, max length), and their lengths."""
    lengths = np.array([a.size for a in seqs], dtype=np.int64)
    out = np.full((len(seqs), int(lengths.max())), value, dtype=np.int64)
    for b, a in enumerate(seqs):
        out[b, :a.size] = a
    return out, lengths


def _pad_batch(src: Sequence[Array], tgt: Sequence[Array], config: Seq2SeqConfig) -> Seq2SeqBatch:
    """:func:`make_batch` without its checks: trusts pairs that :func:`_check_pairs` passed."""
    S, src_len = _pad(src, 0)
    Y, tgt_len = _pad(tgt, config.eos)
    dec_in = np.full_like(Y, config.bos)
    dec_in[:, 1:] = Y[:, :-1]
    beyond = np.arange(Y.shape[1])[None, :] >= tgt_len[:, None]
    dec_in[beyond] = config.bos
    return Seq2SeqBatch(S, src_len, dec_in, Y, (~beyond).astype(np.float64))  # the mask, as sequence_mask's


def make_batch(sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
               config: Seq2SeqConfig, *, require_eos: bool = True) -> Seq2SeqBatch:
    """Pad sources and targets into a :class:`Seq2SeqBatch`, checking them.

    Parameters
    ----------
    sources : list of B int sequences
        Source ids in ``[0, V_x)``, lengths >= 1 (may differ).
    targets : list of B int sequences
        Target ids in ``[0, V_y)``, each ending with ``config.eos`` and
        holding no other ``eos``.  (``bos`` is an ordinary output token: a
        trained model learns to give it probability near 0.)
    config : Seq2SeqConfig
        Or the attention model's :class:`seqlib.attention.model.AttentionConfig`:
        only the vocabularies (``V_x``, ``V_y``, ``eos``, ``bos``) are read.
    require_eos : bool, keyword-only, default True
        ``False`` also accepts targets without a final EOS (outputs that a
        decoder's length limit cut off), for scoring only.

    Raises
    ------
    TypeError
        ``config`` is neither a :class:`Seq2SeqConfig` nor an ``AttentionConfig``, a sequence is not a
        list of integer ids (the message names ``sources[b]``).
    ValueError
        Different numbers of sources and targets, an empty or ragged
        sequence, an id outside its vocabulary, a target without a final
        EOS, an EOS before the end (the message names ``targets[b]``).
    """
    if not isinstance(config, _TokenConfig):
        raise TypeError(f"config must be a Seq2SeqConfig (or an AttentionConfig), got {_describe(config)}")
    require_eos = check_bool(require_eos, "require_eos")
    return _pad_batch(*_check_pairs(sources, targets, config, require_eos), config)


def param_names(config: Seq2SeqConfig) -> tuple[str, ...]:
    """Parameter names: ``E_x, E_y``, ``enc_*`` and ``dec_*`` of the cell, ``W_hy, b_y``."""
    _check_config(config)
    cell = CELLS[config.cell].param_names
    return ("E_x", "E_y", *(f"enc_{n}" for n in cell), *(f"dec_{n}" for n in cell), "W_hy", "b_y")


def init_seq2seq_params(config: Seq2SeqConfig, *, rng: np.random.Generator | int) -> dict[str, Array]:
    """Seeded parameters: N(0, 1/D) embeddings, the cell's own init, Glorot readout, zero bias."""
    _check_config(config)
    rng = _as_rng(rng)
    cell = CELLS[config.cell]
    D, H = config.D, config.H
    p = {"E_x": rng.normal(0.0, D ** -0.5, (config.V_x, D)), "E_y": rng.normal(0.0, D ** -0.5, (config.V_y, D))}
    p.update({f"enc_{k}": v for k, v in cell.init(D, H, rng).items()})
    p.update({f"dec_{k}": v for k, v in cell.init(D + H * config.context, H, rng).items()})
    p["W_hy"] = glorot_uniform(H, config.V_y, rng=rng)
    p["b_y"] = np.zeros(config.V_y)
    return p


@functools.lru_cache(maxsize=64)
def _init_shapes(cell: Cell, D: int, H: int) -> dict[str, tuple[int, ...]]:
    """The shapes of a cell's parameters as its ``init`` makes them (for a cell added to :data:`CELLS`)."""
    return {k: np.shape(v) for k, v in cell.init(D, H, np.random.default_rng(0)).items()}


def _param_spec(config: Seq2SeqConfig) -> tuple[dict[str, tuple[str | int, ...]], dict[str, int]]:
    """Every parameter's shape, in symbols bound by ``config``: the decoder's input is D+H with context."""
    cell = CELLS[config.cell]
    spec: dict[str, tuple[str | int, ...]] = {"E_x": ("V_x", "D"), "E_y": ("V_y", "D")}
    for side, d_in in (("enc_", "D"), ("dec_", "D+H" if config.context else "D")):
        if cell is _BUILTIN.get(config.cell):
            shapes: dict[str, tuple[str | int, ...]] = {
                k: tuple(d_in if sym == "D" else sym for sym in v) for k, v in _CELL_SHAPES[config.cell].items()}
        else:  # a cell a reader registered: the shapes its init makes
            shapes = dict(_init_shapes(cell, config.D + config.H * (d_in == "D+H"), config.H))
        for k in cell.param_names:
            spec[side + k] = shapes[k]
    spec["W_hy"], spec["b_y"] = ("H", "V_y"), ("V_y",)
    dims = {"V_x": config.V_x, "V_y": config.V_y, "D": config.D, "H": config.H, "D+H": config.D + config.H}
    return spec, dims


def _check_params(params: Any, config: Any, inplace: str | None = None) -> dict[str, Array]:
    """``config`` and every array of ``params``, checked in full (dtype, shape, finiteness); the arrays."""
    _check_config(config)
    spec, dims = _param_spec(config)
    hints = {"E_x": f"(a source vocabulary mismatch? config.V_x = {config.V_x})",
             "E_y": f"(a target vocabulary mismatch? config.V_y = {config.V_y})"}
    return check_param_dict(params, spec, dims, see=" (see init_seq2seq_params)", hints=hints, inplace=inplace)


def _check_batch(batch: Any, config: Seq2SeqConfig) -> Seq2SeqBatch:
    """A :class:`Seq2SeqBatch` whose arrays agree with each other and with ``config`` (ids, lengths)."""
    if not isinstance(batch, Seq2SeqBatch):
        raise TypeError(f"batch must be a Seq2SeqBatch (see make_batch), got {_describe(batch)}")
    d: dict[str, int] = {}
    src = check_array(batch.src, "batch.src", ("B", "M"), d, integer=True)
    src_len = check_array(batch.src_len, "batch.src_len", ("B",), d, integer=True)
    dec_in = check_array(batch.dec_in, "batch.dec_in", ("B", "L"), d, integer=True)
    tgt = check_array(batch.tgt, "batch.tgt", ("B", "L"), d, integer=True)
    weights = check_array(batch.weights, "batch.weights", ("B", "L"), d)
    if min(d["B"], d["M"], d["L"]) < 1:
        raise ValueError(f"batch must hold at least one pair, with M, L >= 1, got (B, M, L) = {(d['B'], d['M'], d['L'])}")
    check_index_range(src, "batch.src", config.V_x, f"source ids in [0, V_x) = [0, {config.V_x})")
    check_index_range(dec_in, "batch.dec_in", config.V_y, f"target ids in [0, V_y) = [0, {config.V_y})")
    check_index_range(tgt, "batch.tgt", config.V_y, f"target ids in [0, V_y) = [0, {config.V_y})")
    bad = (src_len < 1) | (src_len > d["M"])
    if bad.any():
        b = int(np.argmax(bad))
        raise ValueError(f"batch.src_len must be source lengths in [1, M] = [1, {d['M']}], got {int(src_len[b])} "
                         f"at index {b}")
    return Seq2SeqBatch(src, src_len, dec_in, tgt, weights)


def _check_ids(ids: Any, name: str, n: int, what: str, expected: tuple[str, ...], dims: dict[str, int]) -> Array:
    a = check_array(ids, name, expected, dims, integer=True)
    check_index_range(a, name, n, f"{what} ids in [0, {n})")
    return a


def _sub(params: Mapping[str, Array], prefix: str, config: Seq2SeqConfig) -> dict[str, Array]:
    return {k: params[prefix + k] for k in CELLS[config.cell].param_names}


def _encode(p: Mapping[str, Array], src: Array, src_len: Array, config: Seq2SeqConfig) -> tuple[Array, Array, Any]:
    """:func:`encode` without its checks."""
    h, cache = CELLS[config.cell].forward(p["E_x"][src], None, _sub(p, "enc_", config))
    c = h[np.arange(h.shape[0]), src_len - 1]  # the state after each source's last real token
    return h, c, cache


def encode(params: Mapping[str, Array], src: Array, src_len: Array, config: Seq2SeqConfig) -> tuple[Array, Array, Any]:
    """Run the encoder (eq. ``s2s_encoder``).

    ``src`` (B, M) are padded source ids in ``[0, V_x)``, ``src_len`` (B,)
    their lengths in ``[1, M]``.  Returns all states (B, M, H), the bridge
    state c (B, H) (eq. ``s2s_bridge``: the state after each source's last
    real token) and the cell's cache.
    """
    p = _check_params(params, config)
    d: dict[str, int] = {}
    src = _check_ids(src, "src", config.V_x, "source", ("B", "M"), d)
    src_len = check_array(src_len, "src_len", ("B",), d, integer=True)
    if min(d["B"], d["M"]) < 1:
        raise ValueError(f"src must have B, M >= 1, got shape {src.shape}")
    bad = (src_len < 1) | (src_len > d["M"])
    if bad.any():
        b = int(np.argmax(bad))
        raise ValueError(f"src_len must be source lengths in [1, M] = [1, {d['M']}], got {int(src_len[b])} at index {b}")
    return _encode(p, src, src_len, config)


def _decoder_inputs(p: Mapping[str, Array], tokens: Array, c: Array, config: Seq2SeqConfig) -> Array:
    """:func:`decoder_inputs` without its checks."""
    d = p["E_y"][tokens]
    if config.context:
        d = np.concatenate((d, np.broadcast_to(c[:, None, :], (*tokens.shape, c.shape[1]))), axis=2)
    return d


def decoder_inputs(params: Mapping[str, Array], tokens: Array, c: Array, config: Seq2SeqConfig) -> Array:
    """The decoder's inputs d_l (B, L, D [+H]): embedded tokens, with the context c appended if asked.

    ``tokens`` (B, L) are target ids in ``[0, V_y)``, ``c`` (B, H) the
    encoder's last states.
    """
    p = _check_params(params, config)
    d: dict[str, int] = {"H": config.H}
    tokens = _check_ids(tokens, "tokens", config.V_y, "target", ("B", "L"), d)
    c = check_array(c, "c", ("B", "H"), d)
    return _decoder_inputs(p, tokens, c, config)


@dataclass
class Seq2SeqCache:
    """What :func:`seq2seq_loss_and_grads` keeps between the passes."""

    batch: Seq2SeqBatch
    enc_cache: Any
    dec_cache: Any
    ro_cache: Any
    c: Array


def _forward_core(p: Mapping[str, Array], batch: Seq2SeqBatch, config: Seq2SeqConfig) -> tuple[Array, Seq2SeqCache]:
    """:func:`seq2seq_forward` without its checks."""
    _, c, enc_cache = _encode(p, batch.src, batch.src_len, config)
    cell = CELLS[config.cell]
    h, dec_cache = cell.forward(_decoder_inputs(p, batch.dec_in, c, config), c, _sub(p, "dec_", config))
    logits, ro_cache = _linear_forward_core(h, p["W_hy"], p["b_y"])
    return logits, Seq2SeqCache(batch, enc_cache, dec_cache, ro_cache, c)


def seq2seq_forward(params: Mapping[str, Array], batch: Seq2SeqBatch,
                    config: Seq2SeqConfig) -> tuple[Array, Seq2SeqCache]:
    """Teacher-forced forward pass (eqs. ``s2s_encoder`` to ``s2s_decoder``).

    Returns the logits o_l (B, L, V_y) of every target position and the cache.

    The decoder reads the true previous token ``dec_in`` at each step (teacher
    forcing), starting from the encoder's last real state.  ``params`` is
    checked in full against ``config``, ``batch`` against both.
    """
    p = _check_params(params, config)
    return _forward_core(p, _check_batch(batch, config), config)


#: The flags of the sequence loss for each normalisation: the mean over real
#: tokens (tfa's default), or unreduced (B, L) terms, summed and divided by B below.
_NORM_FLAGS = {"token": (True, True, False, False), "sequence": (False, False, False, False)}


def seq2seq_loss(params: Mapping[str, Array], batch: Seq2SeqBatch, config: Seq2SeqConfig,
                 normalise: str = "token") -> float:
    """The teacher-forced loss: :func:`seqlib.loss.seq_loss.sequence_loss` on the padded targets.

    ``normalise="token"``: summed token losses / number of real target tokens;
    ``"sequence"``: summed token losses / number of sequences B.
    """
    p = _check_params(params, config)
    batch = _check_batch(batch, config)
    check_choice(normalise, "normalise", NORMALISATIONS)
    logits, _ = _forward_core(p, batch, config)
    out = _sequence_loss_core(logits, batch.tgt, batch.weights, _NORM_FLAGS[normalise])
    return float(out) if normalise == "token" else float(np.sum(out) / batch.src.shape[0])


def _loss_and_grads_core(p: Mapping[str, Array], batch: Seq2SeqBatch, config: Seq2SeqConfig, normalise: str,
                         return_source_grads: bool = False):
    """:func:`seq2seq_loss_and_grads` without its checks."""
    logits, cache = _forward_core(p, batch, config)
    B = batch.src.shape[0]
    out, dlogits = _sequence_loss_and_grad_core(logits, batch.tgt, batch.weights, _NORM_FLAGS[normalise])
    if normalise == "token":
        loss = float(out)
    else:
        loss, dlogits = float(np.sum(out) / B), dlogits / B
    cell = CELLS[config.cell]
    g_ro = _linear_backward_core(dlogits, cache.ro_cache)
    g_dec = cell.backward(g_ro["h"], cache.dec_cache)
    dc = g_dec["h0"].copy()  # the bridge: h_{-1} of the decoder is c
    D = config.D
    dE_y = np.zeros_like(p["E_y"])
    np.add.at(dE_y, batch.dec_in, g_dec["x"][..., :D])
    if config.context:
        dc += g_dec["x"][..., D:].sum(axis=1)
    dh_enc = np.zeros((B, batch.src.shape[1], config.H))
    dh_enc[np.arange(B), batch.src_len - 1] = dc  # c is the state after the last real token
    g_enc = cell.backward(dh_enc, cache.enc_cache)
    dE_x = np.zeros_like(p["E_x"])
    np.add.at(dE_x, batch.src, g_enc["x"])
    grads = {"E_x": dE_x, "E_y": dE_y, "W_hy": g_ro["W"], "b_y": g_ro["b"]}
    for k in cell.param_names:
        grads[f"enc_{k}"], grads[f"dec_{k}"] = g_enc[k], g_dec[k]
    if return_source_grads:
        return loss, grads, g_enc["x"]
    return loss, grads


def seq2seq_loss_and_grads(params: Mapping[str, Array], batch: Seq2SeqBatch, config: Seq2SeqConfig,
                           normalise: str = "token", *, return_source_grads: bool = False):
    """The loss and its gradient w.r.t. every parameter, by BPTT through decoder, bridge and encoder.

    Backward order: loss -> readout -> decoder (:func:`rnn_backward`) -> the
    decoder's h0 and, with ``context``, the c part of every decoder input ->
    the encoder state at each source's last real step -> encoder
    (:func:`rnn_backward`) -> source embeddings (scatter-add).

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params``.
    source_grads : ndarray (B, M, D), only with ``return_source_grads``
        dL/de_m, the gradient reaching each source embedding (0 on padding).

    Raises
    ------
    TypeError, ValueError
        ``config``, every array of ``params`` in full (``params['dec_W_hh']
        must be finite``), ``batch`` (``batch.src``, ...), ``normalise`` and
        ``return_source_grads``, checked here once; nothing below checks again.
    """
    p = _check_params(params, config)
    batch = _check_batch(batch, config)
    check_choice(normalise, "normalise", NORMALISATIONS)
    return_source_grads = check_bool(return_source_grads, "return_source_grads")
    return _loss_and_grads_core(p, batch, config, normalise, return_source_grads)


def sequence_log_prob(params: Mapping[str, Array], sources: Sequence[Sequence[int]],
                      candidates: Sequence[Sequence[int]], config: Seq2SeqConfig, *,
                      per_token: bool = False, require_eos: bool = True) -> Array:
    """log p̂(y | x) of each candidate y given its source x (eqs. ``seq_prob_chain``, ``s2s_chain``).

    The candidates are scored by one teacher-forced pass and the per-position
    terms are those of the loss: ``-sequence_loss`` unreduced, i.e.
    ``log softmax(o_l)[y_l]`` at every real position, summed over positions.
    A candidate must end with EOS unless ``require_eos=False`` (an output
    that a decoder's length limit cut off).

    Returns
    -------
    ndarray (B,), or (B, L) of per-position log-probabilities with ``per_token``.

    Raises
    ------
    TypeError, ValueError
        As :func:`make_batch`, with the messages naming ``sources[b]`` and
        ``candidates[b]``; every array of ``params`` in full.
    """
    p = _check_params(params, config)
    per_token = check_bool(per_token, "per_token")
    require_eos = check_bool(require_eos, "require_eos")
    batch = _pad_batch(*_check_pairs(sources, candidates, config, require_eos, ("sources", "candidates")), config)
    logits, _ = _forward_core(p, batch, config)
    terms = -_sequence_loss_core(logits, batch.tgt, batch.weights, _NORM_FLAGS["sequence"])
    return terms if per_token else terms.sum(axis=1)
