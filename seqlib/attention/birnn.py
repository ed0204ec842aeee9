"""A bidirectional recurrent encoder built from the cells' own forward and backward passes.

Bahdanau et al. (2015, §3.2) annotate each source position with the states of
two RNNs, one reading the source left to right and one right to left::

    →h_j = cell_f(x_j, →h_{j-1}),   →h_{-1} = 0       j = 0..M_b-1   (eq. ``birnn_forward_state``)
    ←h_j = cell_b(x_j, ←h_{j+1}),   ←h_{M_b} = 0                     (eq. ``birnn_backward_state``)
    h_j  = [→h_j, ←h_j]                                               (eq. ``birnn_annotation``)

"In this way, the annotation h_j contains the summaries of both the preceding
words and the following words" (their §3.2; eq. (7) of their App. A.2.1).
Both directions share the input x (in the encoder-decoder, the embedding
matrix, as in their App. A.2.1) but not their weights.

Padding: sources of different lengths M_b are right-padded to M.  The
forward RNN runs over the padded array as it is (its states at padded
positions are never used); the backward RNN must start at each source's
*last real* position, so each row is reversed within its own length
(:func:`reverse_padded`), run forward, and its states reversed back.  The
annotations at padded positions are set to 0.

Nothing here is a second implementation of a cell: each direction is the
cell's forward function (:data:`seqlib.seq2seq.model.CELLS`: the RNN, the
LSTM, the GRU) and the backward pass calls the cell's backward function on
each direction, adding the two gradients that reach the shared input.

:func:`birnn_forward` checks its arguments once, both directions'
parameters in full (``params_f['W_h']``), then runs the cells' unchecked
cores; the attention model calls :func:`_birnn_forward_core` after checking
its own parameters (``params['enc_b_W_h']``).

The encoder lives with the attention chapter that introduces it, not in
:mod:`seqlib.cells`: it is built on the encoder-decoder's :class:`Cell`
(:mod:`seqlib.seq2seq.model`), a later part of the book than the cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .._validate import _describe, as_float_array, as_int_array, check_param_dict, check_shape
from ..seq2seq.model import _BUILTIN, _CELL_SHAPES, CELLS, Cell

__all__ = ["reverse_padded", "BiRNNCache", "birnn_forward", "birnn_backward"]

Array = np.ndarray


def _as_cell(cell: str | Cell) -> Cell:
    if isinstance(cell, Cell):
        return cell
    if not isinstance(cell, str) or cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)} or a seqlib.seq2seq.Cell, got {cell!r}")
    return CELLS[cell]


def _check_direction(params: Any, name: str, c: Cell, dims: dict[str, int]) -> dict[str, Array]:
    """One direction's parameters, in full: for a cell of :data:`CELLS` every array's dtype, shape
    (against D and, once the first direction bound it, H) and finiteness; for another :class:`Cell`,
    every array it names, finite."""
    if not isinstance(params, Mapping) or any(k not in params for k in c.param_names):
        raise ValueError(f"{name} must hold the {c.name} parameters {list(c.param_names)}, got "
                         f"{sorted(params) if isinstance(params, Mapping) else _describe(params)}")
    if _BUILTIN.get(c.name) is not c:  # a cell a reader made: its own forward checks the shapes
        return {k: as_float_array(params[k], f"{name}[{k!r}]") for k in c.param_names}
    return check_param_dict(params, _CELL_SHAPES[c.name], dims, name=name)


def _check_lengths(lengths: Any, B: int, M: int) -> Array:
    n = as_int_array(lengths, "lengths", ndim=1)
    if n.shape != (B,):
        raise ValueError(f"lengths must have shape (B,) = ({B},), got {n.shape}")
    bad = (n < 1) | (n > M)
    if np.any(bad):
        b = int(np.argmax(bad))
        raise ValueError(f"lengths must lie in [1, M] = [1, {M}], got {int(n[b])} at index {b}")
    return n


def _reverse_index(lengths: Array, M: int) -> Array:
    """idx (B, M): ``idx[b, t] = M_b - 1 - t`` for t < M_b, else t (an involution)."""
    t = np.arange(M)[None, :]
    n = lengths[:, None]
    return np.where(t < n, n - 1 - t, t)


def reverse_padded(x: Array, lengths: Array) -> Array:
    """Reverse each row of ``x`` (B, M, ...) within its length; the padding stays at the end.

    ``reverse_padded(reverse_padded(x, n), n)`` is ``x``.

    >>> import numpy as np
    >>> reverse_padded(np.array([[1, 2, 3], [4, 5, 0]]), [3, 2]).tolist()
    [[3, 2, 1], [5, 4, 0]]
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (B, M, ...), got {x.ndim}-D shape {x.shape}")
    n = _check_lengths(lengths, x.shape[0], x.shape[1])
    return np.take_along_axis(x, _reverse_index(n, x.shape[1]).reshape(*x.shape[:2], *([1] * (x.ndim - 2))), axis=1)


@dataclass(frozen=True)
class BiRNNCache:
    """What :func:`birnn_forward` keeps: the two cells' caches, the lengths and the reversal."""

    cell: Cell = field(repr=False)
    lengths: Array
    index: Array = field(repr=False)
    fwd: Any = field(repr=False)
    bwd: Any = field(repr=False)
    mask: Array = field(repr=False)
    H: int


def birnn_forward(x: Array, lengths: Array, params_f: Mapping[str, Array], params_b: Mapping[str, Array],
                  cell: str | Cell = "lstm") -> tuple[Array, BiRNNCache]:
    """Annotate each source position with a forward and a backward state (eqs. ``birnn_forward_state``
    to ``birnn_annotation``).

    Parameters
    ----------
    x : array_like (B, M, D)
        Inputs (embedded sources), right-padded.
    lengths : array_like (B,) int
        Real lengths M_b, in ``[1, M]``.
    params_f, params_b : dict
        The two directions' parameters, each as the cell's ``init`` makes them.
    cell : {"rnn", "lstm", "gru"} or Cell

    Returns
    -------
    annotations : ndarray (B, M, 2H)
        ``[→h_j, ←h_j]``, 0 at padded positions.  ``annotations[:, 0, H:]``
        is ←h_0, the backward RNN's state after reading the whole source.
    cache : BiRNNCache
    """
    c = _as_cell(cell)
    x = as_float_array(x, "x")
    dims: dict[str, int] = {}
    check_shape(x, "x", ("B", "M", "D"), dims)
    if min(dims.values()) < 1:
        raise ValueError(f"x must have B, M, D >= 1, got shape {x.shape}")
    n = _check_lengths(lengths, dims["B"], dims["M"])
    sizes = {"D": dims["D"]}  # both directions read x and are H wide
    pf = _check_direction(params_f, "params_f", c, sizes)
    pb = _check_direction(params_b, "params_b", c, sizes)
    return _birnn_forward_core(x, n, pf, pb, c)


def _birnn_forward_core(x: Array, n: Array, params_f: Mapping[str, Array], params_b: Mapping[str, Array],
                        c: Cell) -> tuple[Array, BiRNNCache]:
    """:func:`birnn_forward` without its checks: trusts finite x (B, M, D), lengths in [1, M] and
    both directions' parameters, checked by the caller."""
    B, M = x.shape[:2]
    idx = _reverse_index(n, M)
    h_f, cache_f = c.forward(x, None, params_f)
    h_b_rev, cache_b = c.forward(np.take_along_axis(x, idx[..., None], axis=1), None, params_b)
    H = h_f.shape[2]
    mask = np.arange(M)[None, :] < n[:, None]
    ann = np.empty((B, M, 2 * H), h_f.dtype)
    ann[..., :H] = h_f
    ann[..., H:] = np.take_along_axis(h_b_rev, idx[..., None], axis=1)
    ann[~mask] = 0.0
    return ann, BiRNNCache(c, n, idx, cache_f, cache_b, mask, H)


def birnn_backward(dannotations: Array, cache: BiRNNCache) -> dict[str, Any]:
    """Gradients through :func:`birnn_forward`, by each direction's own backward pass.

    The gradient at a padded position is dropped (its annotation is the
    constant 0); the backward direction's gradient is reversed within each
    length like its states; the two gradients that reach x are added.

    Returns
    -------
    dict
        ``"x"`` (B, M, D), ``"fwd"`` and ``"bwd"``: the cell's gradients of
        each direction (keys as ``params_f``, plus ``"x"`` and ``"h0"``).
    """
    if not isinstance(cache, BiRNNCache):
        raise TypeError(f"cache must be the BiRNNCache returned by birnn_forward, got {type(cache).__name__}")
    B, M = cache.mask.shape
    H = cache.H
    d = as_float_array(dannotations, "dannotations")
    check_shape(d, "dannotations", ("B", "M", "2H"), {"B": B, "M": M, "2H": 2 * H})
    return _birnn_backward_core(d, cache)


def _birnn_backward_core(d: Array, cache: BiRNNCache) -> dict[str, Any]:
    """:func:`birnn_backward` without its checks: trusts a finite ``d`` (B, M, 2H)."""
    H = cache.H
    d = np.where(cache.mask[..., None], d, 0.0)
    g_f = cache.cell.backward(d[..., :H], cache.fwd)
    g_b = cache.cell.backward(np.take_along_axis(d[..., H:], cache.index[..., None], axis=1), cache.bwd)
    dx = g_f["x"] + np.take_along_axis(g_b["x"], cache.index[..., None], axis=1)
    return {"x": dx, "fwd": g_f, "bwd": g_b}
