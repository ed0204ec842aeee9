"""A vanilla (Elman) RNN layer: forward pass and back-propagation through time.

Batch-major arrays and row vectors throughout::

    a_t = x_t @ W_xh + h_{t-1} @ W_hh + b_h        (eq. ``rnn_preact``)
    h_t = f(a_t)                                    (eq. ``rnn_state``)

for t = 1..T, with x of shape (B, T, D) and states of shape (B, H).

The backward pass walks the time steps in reverse and only computes the
recursion for the total derivative δ_t = dL/dh_t (eq. ``bptt_delta``)::

    δ_T = dh_T,    δ_{t-1} = dh_{t-1} + (δ_t ⊙ f'(a_t)) @ W_hh.T

storing the (B, T, H) array of ``δ_t ⊙ f'(a_t)``; all parameter gradients then
come from one matmul each over the stacked time steps.

Memory layout: the arguments and results are batch-major, shape (B, T, ...),
but the arrays behind them are *time-major*, (T, B, ...): the returned ``h``
is the view ``hs[1:].transpose(1, 0, 2)`` of a (T+1, B, H) buffer ``hs`` whose
first slab is h0.  Each step of both loops then reads and writes one
contiguous (B, H) block, and the states h_0..h_{T-1} that dW_hh needs are the
view ``hs[:-1]``, not a copy.  The readout keeps that layout
(:func:`seqlib.cells.readout.linear_forward`), so does the loss, and so the
gradient arrives back time-major too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .._validate import as_float_array, check_direct_gradient, check_positive_int, check_shape
from .activations import Activation, get_activation
from ..workspace import Workspace, check_workspace, empty

__all__ = ["RNNCache", "rnn_forward", "rnn_backward"]

Array = np.ndarray
Window = tuple[int, int, int]  # (start, seed_start, end): 0-based, half-open time indices

#: The cell's parameters and their shapes, the one that defines H first (for model functions' checks).
_PARAM_SHAPES = {"W_hh": ("H", "H"), "W_xh": ("D", "H"), "b_h": ("H",)}


@dataclass(frozen=True)
class RNNCache:
    """What :func:`rnn_forward` keeps for the backward pass.

    Attributes
    ----------
    x : ndarray (B, T, D)
        Inputs.
    W_xh : ndarray (D, H)
    W_hh : ndarray (H, H)
    b_h : ndarray (H,)
    a : ndarray (B, T, H)
        Pre-activations a_1..a_T (eq. ``rnn_preact``).
    activation : str
        Name of the activation (a key of :data:`seqlib.cells.activations.ACTIVATIONS`).
    hs : ndarray (T+1, B, H)
        Time-major storage of the states: ``hs[0]`` is h0 and ``hs[t]`` is h_t.
    x_rows : ndarray (T*B, D+1)
        The inputs as time-major rows with a 1 appended,
        ``x_rows[t*B + b] = [x[b, t], 1]``: the bias b_h is the weight of
        that constant input, so ``x_rows @ [W_xh; b_h]`` gives every
        ``x_t W_xh + b_h`` in one matmul and ``x_rows.T @ g`` gives
        dL/dW_xh and dL/db_h together.

    The properties ``h0`` and ``h`` are views of ``hs``.  All arrays share
    one float dtype.  ``a`` and ``h`` are views of time-major arrays (see the
    module docstring); index them as (B, T, H).
    """

    x: Array
    W_xh: Array
    W_hh: Array
    b_h: Array
    a: Array
    activation: str
    hs: Array = field(repr=False)
    x_rows: Array = field(repr=False)

    @property
    def h0(self) -> Array:
        """Initial state (B, H) (zeros if ``None`` was passed): ``hs[0]``."""
        return self.hs[0]

    @property
    def h(self) -> Array:
        """States h_1..h_T (B, T, H) (eq. ``rnn_state``), the array the forward pass returned: ``hs[1:]`` as (B, T, H)."""
        return self.hs[1:].transpose(1, 0, 2)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(B, T, D, H)``."""
        B, T, D = self.x.shape
        return B, T, D, self.W_hh.shape[0]

    def fprime(self) -> Array:
        """f'(a_t) for every step, shape (B, T, H)."""
        return get_activation(self.activation).df(self.a, self.h)


def rnn_forward(
    x: Array,
    h0: Array | None,
    W_xh: Array,
    W_hh: Array,
    b_h: Array,
    activation: str = "tanh",
    *,
    workspace: Workspace | None = None,
) -> tuple[Array, RNNCache]:
    """Run the RNN over a batch of sequences (eqs. ``rnn_preact``, ``rnn_state``).

    Parameters
    ----------
    x : array_like (B, T, D)
        Input sequences.
    h0 : array_like (B, H) or None
        Initial state; ``None`` means zeros.
    W_xh : array_like (D, H)
        Input-to-hidden weights.
    W_hh : array_like (H, H)
        Hidden-to-hidden (recurrent) weights.
    b_h : array_like (H,)
        Hidden bias.
    activation : {"tanh", "relu", "sigmoid", "linear"}
        The elementwise nonlinearity f.
    workspace : Workspace, optional, keyword-only
        Keep the large arrays (states, pre-activations, time-major inputs) in
        this :class:`seqlib.workspace.Workspace` and reuse them on the next
        call: ``h`` and the cache are then valid until the next
        ``rnn_forward`` with the same workspace.

    Returns
    -------
    h : ndarray (B, T, H)
        States h_1..h_T, ``h[:, t-1] = h_t``.
    cache : RNNCache
        Everything :func:`rnn_backward` needs.

    Notes
    -----
    Computation happens in the common float dtype of the inputs (float32 stays
    float32; integers become float64).  All T input projections are one matmul;
    only the h -> h recurrence is a Python loop.
    """
    act = get_activation(activation)
    workspace = check_workspace(workspace)
    x = as_float_array(x, "x")
    dims: dict[str, int] = {}
    check_shape(x, "x", ("B", "T", "D"), dims)
    W_hh = as_float_array(W_hh, "W_hh")
    check_shape(W_hh, "W_hh", ("H", "H"), dims)  # W_hh defines H
    W_xh = as_float_array(W_xh, "W_xh")
    check_shape(W_xh, "W_xh", ("D", "H"), dims)
    b_h = as_float_array(b_h, "b_h")
    check_shape(b_h, "b_h", ("H",), dims)
    if h0 is not None:
        h0 = as_float_array(h0, "h0")
        check_shape(h0, "h0", ("B", "H"), dims)
    B, T, D, H = dims["B"], dims["T"], dims["D"], dims["H"]
    if min(B, T, D, H) < 1:
        raise ValueError(f"x and the weights must have B, T, D, H >= 1, got (B, T, D, H) = {(B, T, D, H)}")
    return _rnn_forward_core(x, h0, W_xh, W_hh, b_h, act, workspace)


def _rnn_forward_core(
    x: Array, h0: Array | None, W_xh: Array, W_hh: Array, b_h: Array, act: Activation,
    workspace: Workspace | None = None,
) -> tuple[Array, RNNCache]:
    """:func:`rnn_forward` without its checks, for model functions that checked their own arguments.

    Trusts its inputs: float arrays x (B, T, D), h0 (B, H) or None,
    W_xh (D, H), W_hh (H, H), b_h (H,), finite, with B, T, D, H >= 1;
    ``act`` an :class:`~seqlib.cells.activations.Activation`, ``workspace`` a
    Workspace or None.  Anything else fails in numpy's words or not at all.
    """
    B, T, D = x.shape
    H = W_hh.shape[0]
    dtype = np.result_type(x, W_xh, W_hh, b_h, *([] if h0 is None else [h0]))
    x, W_xh, W_hh, b_h = (np.asarray(v, dtype=dtype) for v in (x, W_xh, W_hh, b_h))
    h0 = np.zeros((B, H), dtype) if h0 is None else np.asarray(h0, dtype=dtype)

    # Time-major rows of x with a column of ones appended (one copy): the bias
    # is the weight of an input that is always 1, so all T input projections
    # and the bias are one (T*B, D+1) @ (D+1, H) matmul, written straight into
    # the preallocated pre-activation buffer.  The loop does only what is
    # sequential: one (B, H) @ (H, H) matmul and two elementwise operations per
    # step, in place on contiguous (B, H) blocks.  np.dot makes the same BLAS
    # call as np.matmul with less overhead per call, which adds up over T calls.
    x_rows = empty(workspace, "rnn.x_rows", (T * B, D + 1), dtype)
    np.copyto(x_rows[:, :D].reshape(T, B, D), x.transpose(1, 0, 2))
    x_rows[:, D] = 1.0
    a_tm = empty(workspace, "rnn.a", (T, B, H), dtype)
    np.matmul(x_rows, np.concatenate((W_xh, b_h[None, :])), out=a_tm.reshape(T * B, H))  # x_t W_xh + b_h
    hs = empty(workspace, "rnn.hs", (T + 1, B, H), dtype)
    hs[0] = h0
    rec = np.empty((B, H), dtype)
    for t in range(T):
        a_t = a_tm[t]
        np.dot(hs[t], W_hh, out=rec)
        a_t += rec  # (eq. rnn_preact)
        act.f(a_t, out=hs[t + 1])  # (eq. rnn_state)
    cache = RNNCache(x, W_xh, W_hh, b_h, a_tm.transpose(1, 0, 2), act.name, hs, x_rows)
    return cache.h, cache


# ----------------------------------------------------------------------------- backward core


def _check_backward_args(dh: Array, cache: RNNCache) -> Array:
    """Validate ``dh`` (B, T, H) against ``cache``; return it in the cache's dtype."""
    return check_direct_gradient(dh, cache, RNNCache, "rnn_forward")


def _bptt_step(delta: Array, fprime_t: Array, W_hhT: Array, g_out: Array, prev_out: Array) -> Array:
    """One step back through time (eq. ``bptt_jacobian``).

    Parameters
    ----------
    delta : ndarray (N, H)
        Rows of ∂(something)/∂h_t.
    fprime_t : ndarray (N, H) or (H,)
        f'(a_t).
    W_hhT : ndarray (H, H)
        ``W_hh.T``, contiguous.
    g_out : ndarray (N, H)
        Receives ``delta ⊙ f'(a_t)`` (the gradient w.r.t. a_t).
    prev_out : ndarray (N, H)
        Receives ``g_out @ W_hh.T`` (the gradient w.r.t. h_{t-1}); may alias ``delta``.

    Returns
    -------
    prev_out
    """
    np.multiply(delta, fprime_t, out=g_out)
    return np.matmul(g_out, W_hhT, out=prev_out)


def _backprop_windows(
    dh: Array,
    fprime: Array,
    W_hhT: Array,
    windows: Iterable[Window],
    deltas: Array | None = None,
) -> Array:
    """Back-propagate external gradients through a set of time windows (eq. ``bptt_delta``).

    Each window ``(start, seed_start, end)`` (0-based, half-open, so step t
    computes ``h[:, t]`` from ``h[:, t-1]`` or h0) seeds the losses' direct
    gradients ``dh[:, seed_start:end]`` and runs the δ recursion from step
    ``end - 1`` down to step ``start``; the edge into step ``start`` carries no
    gradient further back, except that at ``start == 0`` it reaches h0 (read
    off the result as ``g[:, 0] @ W_hh.T``).  Contributions of overlapping
    windows add up.  Full BPTT is the single window ``(0, 0, T)``.

    Parameters
    ----------
    dh : ndarray (B, T, H)
        Direct gradients ∂ℓ_t/∂h_t.
    fprime : ndarray (B, T, H)
        f'(a_t) for all steps.
    W_hhT : ndarray (H, H)
        ``W_hh.T`` as a contiguous array.
    windows : iterable of (start, seed_start, end)
        With ``0 <= start <= seed_start < end <= T``.
    deltas : ndarray (B, T, H), optional
        If given, the δ_t of every window are added into it.

    Returns
    -------
    g : ndarray (B, T, H)
        Σ over windows of δ_t ⊙ f'(a_t), the gradient w.r.t. the pre-activations.
    """
    B, T, H = dh.shape
    g = np.zeros_like(dh)
    touched = np.zeros(T, bool)  # overlapping windows (TBPTT) add into g, the others write directly
    delta = np.empty((B, H), dh.dtype)
    buf = np.empty((B, H), dh.dtype)
    for start, seed_start, end in windows:
        delta[...] = dh[:, end - 1]
        for t in range(end - 1, start - 1, -1):
            if deltas is not None:
                deltas[:, t] += delta
            g_t = buf if touched[t] else g[:, t]
            np.multiply(delta, fprime[:, t], out=g_t)
            if touched[t]:
                g[:, t] += g_t
            touched[t] = True
            if t > start:
                np.dot(g_t, W_hhT, out=delta)  # (eq. bptt_jacobian)
                if t - 1 >= seed_start:
                    delta += dh[:, t - 1]  # (eq. bptt_delta)
    return g


def _time_major(a: Array) -> Array:
    """The (T, B, ...) time-major version of a (B, T, ...) array: a view if ``a`` is one, else a copy."""
    return np.ascontiguousarray(np.swapaxes(a, 0, 1))


def _backprop_chunks(
    dh: Array,
    cache: RNNCache,
    W_hhT: Array,
    windows: Iterable[Window],
    workspace: Workspace | None = None,
    overwrite_dh: bool = False,
) -> Array:
    """:func:`_backprop_windows` for windows that do not overlap, the fast path of :func:`rnn_backward`.

    Same result, bit for bit, for chunked windows ``(start, start, end)`` that
    cover each step exactly once (full BPTT and chunked truncation).  Works
    time-major (see the module docstring): ``dh`` and the result are (B, T, H)
    views of (T, B, H) arrays, every step touches contiguous (B, H) blocks, and
    nothing of size (T, B, H) is allocated but the result: f'(a_t) is computed
    step by step into a (B, H) buffer (for tanh from h_t, ``1 - h_t**2``).
    With ``overwrite_dh`` and a time-major ``dh``, g_t is written over dh_t,
    which the recursion has consumed by then: one stream through memory
    fewer per step, and no second (T, B, H) array.
    """
    B, T, H = dh.shape
    act = get_activation(cache.activation)
    dh_tm = _time_major(dh)
    if overwrite_dh and np.may_share_memory(dh_tm, dh):  # a view, not a copy made by _time_major
        g_tm = dh_tm
    else:  # every step is written: the windows cover 0..T-1
        g_tm = empty(workspace, "rnn.g", (T, B, H), dh.dtype)
    delta = np.empty((B, H), dh.dtype)
    fp = np.empty((B, H), dh.dtype)
    tanh = act.name == "tanh"
    a_tm = None if tanh else _time_major(cache.a)
    for start, _, end in windows:
        delta[...] = dh_tm[end - 1]
        for t in range(end - 1, start - 1, -1):
            h_t = cache.hs[t + 1]
            if tanh:  # f'(a_t) = 1 - h_t**2, as ACTIVATIONS["tanh"].df computes it
                np.multiply(h_t, h_t, out=fp)
                np.subtract(1.0, fp, out=fp)
                fp_t = fp
            else:
                fp_t = act.df(a_tm[t], h_t)
            g_t = g_tm[t]
            np.multiply(delta, fp_t, out=g_t)
            if t > start:
                np.dot(g_t, W_hhT, out=delta)  # (eq. bptt_jacobian)
                delta += dh_tm[t - 1]  # (eq. bptt_delta)
    return g_tm.transpose(1, 0, 2)


def _param_grads(
    g: Array, cache: RNNCache, input_grad: bool = True, workspace: Workspace | None = None
) -> dict[str, Array]:
    """Gradients of all inputs from the stacked ``g_t = δ_t ⊙ f'(a_t)``, g of shape (B, T, H).

    One matmul each (eqs. ``bptt_grad_Wxh``, ``bptt_grad_Whh``, ``bptt_grad_bh``,
    ``bptt_grad_h0``), on time-major rows: ``g`` as (T*B, H) rows (a view when
    it is time-major, as :func:`_backprop_chunks` returns it), the inputs as
    ``cache.x_rows`` and the states h_0..h_{T-1} as the view ``cache.hs[:-1]``.
    ``input_grad=False`` leaves out ``"x"``; with a workspace, ``"x"`` lives in it.
    """
    B, T, D, H = cache.shape
    g_tm = _time_major(g)
    g2 = g_tm.reshape(T * B, H)
    # Transposed operands are views: matmul hands BLAS the transpose flag, no copy.
    grads = {}
    if input_grad:
        dx = empty(workspace, "rnn.dx", (T * B, D), g.dtype)
        grads["x"] = np.matmul(g2, cache.W_xh.T, out=dx).reshape(T, B, D).transpose(1, 0, 2)
    grads["h0"] = np.matmul(g_tm[0], cache.W_hh.T)
    dW_xb = np.matmul(cache.x_rows.T, g2)  # (D+1, H): the column of ones in x_rows makes row D the sum of g
    grads["W_xh"], grads["b_h"] = dW_xb[:D], dW_xb[D]
    grads["W_hh"] = np.matmul(cache.hs[:-1].reshape(T * B, H).T, g2)
    return grads


def _chunk_windows(T: int, truncate: int | None) -> list[Window]:
    """Windows of chunked truncated BPTT: chunks of ``truncate`` steps, each its own window."""
    k = T if truncate is None else truncate
    return [(c, c, min(c + k, T)) for c in range(0, T, k)]


def rnn_backward(
    dh: Array,
    cache: RNNCache,
    truncate: int | None = None,
    *,
    input_grad: bool = True,
    workspace: Workspace | None = None,
    overwrite_dh: bool = False,
) -> dict[str, Array]:
    """Back-propagation through time for :func:`rnn_forward`.

    Implements eqs. ``bptt_delta``, ``bptt_grad_Whh``, ``bptt_grad_Wxh``,
    ``bptt_grad_bh``, ``bptt_grad_h0``; with ``truncate`` eq. ``bptt_truncated``.

    Parameters
    ----------
    dh : array_like (B, T, H)
        ∂L/∂h_t arriving from outside the recurrence (e.g. from a readout);
        the recurrent part is added here.
    cache : RNNCache
        From :func:`rnn_forward`.
    truncate : int >= 1 or None
        ``None``: full BPTT.  ``k``: chunked truncated BPTT, the state is carried
        forward unchanged but no gradient crosses the edges h_k -> h_{k+1},
        h_{2k} -> h_{2k+1}, ... (what ``h = h.detach()`` every k steps does).
        The first chunk still reaches h0.  ``k >= T`` is full BPTT.  Which
        losses reach which states: :func:`seqlib.training.bptt.chunked_mask`; for
        TBPTT(k1, k2) see :func:`seqlib.training.bptt.rnn_backward_tbptt`.
    input_grad : bool, keyword-only, default True
        ``False`` skips the gradient w.r.t. the inputs x, a (B*T, H) @ (H, D)
        matmul, when x is data (as in a language model) and nothing upstream
        needs it; the result then has no ``"x"`` key.
    workspace : Workspace, optional, keyword-only
        Keep the (B, T, H) scratch array and ``"x"`` in this workspace (see
        :func:`rnn_forward`); the parameter gradients are always fresh arrays.
    overwrite_dh : bool, keyword-only, default False
        Allow the function to overwrite ``dh`` with the gradient w.r.t. the
        pre-activations (as scipy's ``overwrite_a``), saving a pass through
        memory when ``dh`` is a scratch array, such as the ``"h"`` gradient of
        :func:`seqlib.cells.readout.linear_backward` with a workspace.  Used only
        when ``dh`` is a float array of the cache's dtype laid out time-major.

    Returns
    -------
    dict
        ``"x"`` (B, T, D), ``"h0"`` (B, H), ``"W_xh"`` (D, H), ``"W_hh"`` (H, H),
        ``"b_h"`` (H,), in the dtype of the cache.
    """
    for name, flag in (("input_grad", input_grad), ("overwrite_dh", overwrite_dh)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__} {flag!r}")
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    workspace = check_workspace(workspace)
    dh = _check_backward_args(dh, cache)
    return _rnn_backward_core(dh, cache, truncate, bool(input_grad), workspace, bool(overwrite_dh))


def _rnn_backward_core(
    dh: Array, cache: RNNCache, truncate: int | None = None, input_grad: bool = True,
    workspace: Workspace | None = None, overwrite_dh: bool = False,
) -> dict[str, Array]:
    """:func:`rnn_backward` without its checks: trusts that ``dh`` is a finite (B, T, H) float array
    for this ``cache``, ``truncate`` an int >= 1 or None, the flags bools."""
    dh = np.asarray(dh, dtype=cache.hs.dtype)
    W_hhT = np.ascontiguousarray(cache.W_hh.T)
    g = _backprop_chunks(dh, cache, W_hhT, _chunk_windows(dh.shape[1], truncate), workspace, overwrite_dh)
    return _param_grads(g, cache, input_grad, workspace)
