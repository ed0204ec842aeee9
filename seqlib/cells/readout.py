"""The linear readout ``o_t = h_t W_hy + b_y`` (equation ``rnn_readout``).

The readout maps each hidden state to one score (logit) per output symbol.
It acts on the last axis only, so the same two functions serve a whole
sequence of states ``(B, T, H)`` and a single step ``(B, H)``: the leading
axes are flattened and the work is done by one matrix product.

>>> import numpy as np
>>> h = np.ones((2, 3, 4)); W = np.full((4, 5), 0.5); b = np.arange(5.0)
>>> out, cache = linear_forward(h, W, b)
>>> out.shape
(2, 3, 5)
>>> grads = linear_backward(np.ones_like(out), cache)
>>> grads["h"].shape, grads["W"].shape, grads["b"].shape
((2, 3, 4), (4, 5), (5,))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_shape
from .._layout import rows, unrows
from ..workspace import Workspace, check_workspace, empty

__all__ = ["linear_forward", "linear_backward", "ReadoutCache"]


class ReadoutCache(NamedTuple):
    """What :func:`linear_backward` needs from the forward pass.

    Attributes
    ----------
    h2 : ndarray, shape (N, H)
        The input with its leading axes flattened, ``N = prod(h.shape[:-1])``,
        in the order of ``h``'s memory (see ``order``).
    W : ndarray, shape (H, V)
        The weight matrix.
    lead : tuple of int
        The leading axes ``h.shape[:-1]``, e.g. ``(B, T)`` or ``(B,)``.
    order : tuple of int
        The leading axes in memory order: ``h.transpose(*order, -1)`` is
        C-contiguous and its rows are ``h2``.  ``(0, 1)`` for a C-ordered
        ``(B, T, H)`` array, ``(1, 0)`` for the time-major states of
        :func:`seqlib.cells.rnn.rnn_forward`.
    """

    h2: np.ndarray
    W: np.ndarray
    lead: tuple[int, ...]
    order: tuple[int, ...]


def linear_forward(
    h: np.ndarray, W: np.ndarray, b: np.ndarray, *, workspace: Workspace | None = None
) -> tuple[np.ndarray, ReadoutCache]:
    """Affine readout of the last axis, ``out = h @ W + b`` (equation ``rnn_readout``).

    Parameters
    ----------
    h : ndarray, shape (..., H)
        Hidden states, e.g. ``(B, T, H)`` for a sequence or ``(B, H)`` for one step.
    W : ndarray, shape (H, V)
        Readout weights ``W_hy`` (row-vector convention: ``h_t @ W_hy``).
    b : ndarray, shape (V,)
        Readout bias ``b_y``.
    workspace : Workspace, optional, keyword-only
        Compute ``out`` into this :class:`seqlib.workspace.Workspace`'s array,
        valid until the next ``linear_forward`` with the same workspace.

    Returns
    -------
    out : ndarray, shape (..., V)
        The scores ``o = h W + b``, with the leading axes of ``h`` and its
        memory layout: for ``h`` a transposed view (such as the time-major
        states of :func:`seqlib.cells.rnn.rnn_forward`), ``out`` is the same kind of
        view and no copy of ``h`` is made.
    cache : ReadoutCache
        Saved for :func:`linear_backward`.

    Raises
    ------
    ValueError
        If ``h`` is 0-D, or the shapes of ``h``, ``W``, ``b`` disagree
        (the message names the argument and both shapes).
    """
    workspace = check_workspace(workspace)
    h = as_float_array(h, "h")
    W = as_float_array(W, "W", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    if h.ndim == 0:
        raise ValueError(f"h must have shape (..., H) with at least 1 axis, got 0-D shape {h.shape}")
    dims = {"H": h.shape[-1]}
    check_shape(W, "W", ("H", "V"), dims)
    check_shape(b, "b", ("V",), dims)
    return _linear_forward_core(h, W, b, workspace)


def _linear_forward_core(
    h: np.ndarray, W: np.ndarray, b: np.ndarray, workspace: Workspace | None = None
) -> tuple[np.ndarray, ReadoutCache]:
    """:func:`linear_forward` without its checks: trusts finite float arrays h (..., H) with
    at least one axis, W (H, V) and b (V,)."""
    lead = h.shape[:-1]
    h2, order = rows(h)  # no copy, whatever the order of the leading axes in memory
    out = empty(workspace, "linear.out", (h2.shape[0], W.shape[1]), np.result_type(h2, W))
    np.matmul(h2, W, out=out)
    if np.result_type(out, b) == out.dtype:
        out += b  # in place: no second (N, V) array
    else:
        out = out + b
    return unrows(out, lead, order), ReadoutCache(h2, W, lead, order)


def linear_backward(
    dout: np.ndarray, cache: ReadoutCache, *, workspace: Workspace | None = None
) -> dict[str, np.ndarray]:
    """Gradients of a scalar loss through :func:`linear_forward`.

    With ``N`` rows ``h2`` (leading axes flattened) and upstream ``dout2``:
    ``dh = dout2 W^T``, ``dW = h2^T dout2``, ``db = sum_n dout2[n]``.
    The sums over the batch and time axes happen inside the matrix products.
    ``dh`` comes back in the memory layout of ``h`` (time-major for the states
    of :func:`seqlib.cells.rnn.rnn_forward`).

    Parameters
    ----------
    dout : ndarray, shape (..., V)
        Gradient of the loss with respect to ``out``; same shape as ``out``.
    cache : ReadoutCache
        From :func:`linear_forward`.
    workspace : Workspace, optional, keyword-only
        Compute ``"h"`` into this workspace's array, valid until the next
        ``linear_backward`` with the same workspace.

    Returns
    -------
    dict
        ``"h"``: shape (..., H), like ``h``; ``"W"``: shape (H, V);
        ``"b"``: shape (V,).
    """
    if not isinstance(cache, ReadoutCache):
        raise TypeError(f"cache must be the ReadoutCache returned by linear_forward, got {type(cache).__name__}")
    workspace = check_workspace(workspace)
    h2, W, lead, order = cache
    H, V = W.shape
    dout = as_float_array(dout, "dout")
    if dout.shape != (*lead, V):
        raise ValueError(f"dout must have the shape of out, (..., V) = {(*lead, V)}, got {dout.shape}")
    return _linear_backward_core(dout, cache, workspace)


def _linear_backward_core(
    dout: np.ndarray, cache: ReadoutCache, workspace: Workspace | None = None
) -> dict[str, np.ndarray]:
    """:func:`linear_backward` without its checks: trusts a finite float ``dout`` of the shape of ``out``."""
    h2, W, lead, order = cache
    H = W.shape[0]
    d2, _ = rows(dout, order)  # rows in the order of h2 (a view when dout has out's layout)
    dh = empty(workspace, "linear.dh", (d2.shape[0], H), np.result_type(d2, W))
    np.matmul(d2, W.T, out=dh)
    db = np.ones(d2.shape[0], d2.dtype) @ d2  # the sum over rows, as a BLAS matrix-vector product
    return {"h": unrows(dh, lead, order), "W": h2.T @ d2, "b": db}
