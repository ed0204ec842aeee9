"""The LSTM layer (with forget gate): forward pass and back-propagation through time.

Batch-major arrays and row vectors, as :mod:`seqlib.cells.rnn`.  The four gate
blocks along the last axis of ``W_x`` (D, 4H), ``W_h`` (H, 4H) and ``b`` (4H,)
are in PyTorch's order i, f, g, o::

    z_t = x_t @ W_x + h_{t-1} @ W_h + b                   (eq. ``lstm_preact``)
    i_t, f_t, o_t = σ(z_t^i), σ(z_t^f), σ(z_t^o);  g_t = tanh(z_t^g)
                                                          (eq. ``lstm_gates``)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                       (eq. ``lstm_cell``)
    h_t = o_t ⊙ tanh(c_t)                                  (eq. ``lstm_hidden``)

The backward pass carries two total derivatives back in time,
δ^h_t = dL/dh_t and δ^c_t = dL/dc_t (eqs. ``lstm_delta_c``, ``lstm_delta_h``),
stores the gradient with respect to every pre-activation z_t (eq.
``lstm_grad_z``), and gets every parameter gradient from one matmul over the
stacked steps (eq. ``lstm_grad_W``).

Memory layout: as in :mod:`seqlib.cells.rnn`, the arrays behind the results are
time-major, (T, B, ...): ``hs`` and ``cs`` are (T+1, B, H) buffers whose
first slab is h0 (c0), and ``h``, ``c`` are views of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import as_float_array, check_direct_gradient, check_positive_int, check_shape
from .init import _as_dtype, _as_rng, glorot_uniform, orthogonal
from ..workspace import Workspace, check_workspace, empty

__all__ = ["LSTMCache", "lstm_forward", "lstm_backward", "init_lstm_params", "lstm_param_count", "sigmoid_inplace"]

Array = np.ndarray


def sigmoid_inplace(a: Array) -> Array:
    """Overwrite ``a`` with σ(a) = (1 + tanh(a/2)) / 2 (stable for any ``a``, no exp overflow); return ``a``."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


@dataclass(frozen=True)
class LSTMCache:
    """What :func:`lstm_forward` keeps for the backward pass.

    Attributes
    ----------
    x : ndarray (B, T, D)
    W_x : ndarray (D, 4H)
    W_h : ndarray (H, 4H)
    b : ndarray (4H,)
    gates : ndarray (T, B, 4H)
        Time-major gate values ``[i_t, f_t, g_t, o_t]`` after their
        nonlinearities (eq. ``lstm_gates``).
    hs, cs : ndarray (T+1, B, H)
        Time-major states: ``hs[0]`` is h0, ``hs[t]`` is h_t; the same for c.
    tanh_c : ndarray (T, B, H)
        ``tanh(c_t)``, time-major.
    x_rows : ndarray (T*B, D+1)
        Time-major input rows with a 1 appended (the bias is the weight of
        that input, as in :class:`seqlib.cells.rnn.RNNCache`).
    workspace : Workspace or None
        The forward pass's workspace; :func:`lstm_backward` keeps its
        (T, B, 4H) scratch array there too.
    """

    x: Array
    W_x: Array
    W_h: Array
    b: Array
    gates: Array = field(repr=False)
    hs: Array = field(repr=False)
    cs: Array = field(repr=False)
    tanh_c: Array = field(repr=False)
    x_rows: Array = field(repr=False)
    workspace: Workspace | None = field(default=None, repr=False, compare=False)

    @property
    def h0(self) -> Array:
        """Initial hidden state (B, H)."""
        return self.hs[0]

    @property
    def c0(self) -> Array:
        """Initial cell state (B, H)."""
        return self.cs[0]

    @property
    def h(self) -> Array:
        """Hidden states h_1..h_T (B, T, H) (eq. ``lstm_hidden``), a view of ``hs``."""
        return self.hs[1:].transpose(1, 0, 2)

    @property
    def c(self) -> Array:
        """Cell states c_1..c_T (B, T, H) (eq. ``lstm_cell``), a view of ``cs``."""
        return self.cs[1:].transpose(1, 0, 2)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(B, T, D, H)``."""
        B, T, D = self.x.shape
        return B, T, D, self.W_h.shape[0]

    def gate(self, name: str) -> Array:
        """One gate's values over time, (B, T, H): ``name`` in ``"i", "f", "g", "o"``."""
        if name not in _GATES:
            raise ValueError(f"name must be one of {list(_GATES)}, got {name!r}")
        H = self.W_h.shape[0]
        j = _GATES.index(name)
        return self.gates[:, :, j * H:(j + 1) * H].transpose(1, 0, 2)


_GATES = ("i", "f", "g", "o")

#: The cell's parameters and their shapes, the one that defines H first (for model functions' checks).
_PARAM_SHAPES = {"W_h": ("H", "4H"), "W_x": ("D", "4H"), "b": ("4H",)}


def _check_weights(x, W_x, W_h, b, n_gates: int, names: tuple[str, str, str]) -> dict[str, int]:
    """Check x (B, T, D), W_x (D, nH), W_h (H, nH), b (nH,); return the sizes."""
    dims: dict[str, int] = {}
    check_shape(x, "x", ("B", "T", "D"), dims)
    if W_h.ndim == 2:  # W_h defines H
        dims["H"] = W_h.shape[0]
        dims[f"{n_gates}H"] = n_gates * W_h.shape[0]
    check_shape(W_h, names[1], ("H", f"{n_gates}H"), dims)
    check_shape(W_x, names[0], ("D", f"{n_gates}H"), dims)
    for bn, bv in zip(names[2:], b):
        check_shape(bv, bn, (f"{n_gates}H",), dims)
    if min(dims["B"], dims["T"], dims["D"], dims["H"]) < 1:
        raise ValueError(
            f"x and the weights must have B, T, D, H >= 1, got (B, T, D, H) = "
            f"{(dims['B'], dims['T'], dims['D'], dims['H'])}"
        )
    return dims


def _check_state(s, name: str, dims: dict[str, int]) -> Array | None:
    if s is None:
        return None
    s = as_float_array(s, name)
    check_shape(s, name, ("B", "H"), dims)
    return s


def lstm_forward(
    x: Array,
    h0: Array | None,
    c0: Array | None,
    W_x: Array,
    W_h: Array,
    b: Array,
    *,
    workspace: Workspace | None = None,
) -> tuple[Array, LSTMCache]:
    """Run the LSTM over a batch of sequences (eqs. ``lstm_preact`` to ``lstm_hidden``).

    Parameters
    ----------
    x : array_like (B, T, D)
        Input sequences.
    h0, c0 : array_like (B, H) or None
        Initial hidden and cell states; ``None`` means zeros.
    W_x : array_like (D, 4H)
        Input weights, gate blocks in the order i, f, g, o.
    W_h : array_like (H, 4H)
        Recurrent weights, same block order.
    b : array_like (4H,)
        Bias, same block order.
    workspace : Workspace, optional, keyword-only
        Keep the large arrays in this :class:`seqlib.workspace.Workspace`;
        ``h`` and the cache are then valid until the next ``lstm_forward``
        with the same workspace.

    Returns
    -------
    h : ndarray (B, T, H)
        Hidden states h_1..h_T, ``h[:, t-1] = h_t``.
    cache : LSTMCache
        Everything :func:`lstm_backward` needs; ``cache.c`` (B, T, H) holds
        the cell states.

    Notes
    -----
    Computes in the common float dtype of the inputs (float32 stays float32).
    All T input projections and the bias are one matmul; the loop does one
    (B, H) @ (H, 4H) matmul and the elementwise gate arithmetic per step.
    """
    workspace = check_workspace(workspace)
    x = as_float_array(x, "x")
    W_x = as_float_array(W_x, "W_x")
    W_h = as_float_array(W_h, "W_h")
    b = as_float_array(b, "b")
    dims = _check_weights(x, W_x, W_h, (b,), 4, ("W_x", "W_h", "b"))
    h0 = _check_state(h0, "h0", dims)
    c0 = _check_state(c0, "c0", dims)
    return _lstm_forward_core(x, h0, c0, W_x, W_h, b, workspace)


def _lstm_forward_core(
    x: Array, h0: Array | None, c0: Array | None, W_x: Array, W_h: Array, b: Array,
    workspace: Workspace | None = None,
) -> tuple[Array, LSTMCache]:
    """:func:`lstm_forward` without its checks, for model functions that checked their own arguments.

    Trusts its inputs: finite float arrays x (B, T, D), h0 and c0 (B, H) or
    None, W_x (D, 4H), W_h (H, 4H), b (4H,), with B, T, D, H >= 1.
    """
    B, T, D = x.shape
    H = W_h.shape[0]
    dtype = np.result_type(x, W_x, W_h, b, *[s for s in (h0, c0) if s is not None])
    x, W_x, W_h, b = (np.asarray(v, dtype=dtype) for v in (x, W_x, W_h, b))

    x_rows = empty(workspace, "lstm.x_rows", (T * B, D + 1), dtype)
    np.copyto(x_rows[:, :D].reshape(T, B, D), x.transpose(1, 0, 2))
    x_rows[:, D] = 1.0
    # σ(z) = (1 + tanh(z/2)) / 2: with the i, f, o columns of the weights halved
    # (exact: a power of two), one tanh over all 4H pre-activations gives every
    # gate; the loop then does 12 small operations per step.
    half = np.ones(4 * H, dtype)
    half[:2 * H] = half[3 * H:] = 0.5
    gates = empty(workspace, "lstm.gates", (T, B, 4 * H), dtype)
    np.matmul(x_rows, np.concatenate((W_x, b[None, :])) * half, out=gates.reshape(T * B, 4 * H))  # x_t W_x + b
    W_h_half = W_h * half
    hs = empty(workspace, "lstm.hs", (T + 1, B, H), dtype)
    cs = empty(workspace, "lstm.cs", (T + 1, B, H), dtype)
    tanh_c = empty(workspace, "lstm.tanh_c", (T, B, H), dtype)
    hs[0] = 0.0 if h0 is None else h0
    cs[0] = 0.0 if c0 is None else c0
    rec = np.empty((B, 4 * H), dtype)
    ig = np.empty((B, H), dtype)
    for t in range(T):
        z = gates[t]
        np.dot(hs[t], W_h_half, out=rec)
        z += rec  # (eq. lstm_preact), i, f, o halved
        np.tanh(z, out=z)  # (eq. lstm_gates): g, and 2σ - 1 for i, f, o
        for blk in (z[:, :2 * H], z[:, 3 * H:]):
            blk *= 0.5
            blk += 0.5
        i, f, g, o = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, g, out=ig)
        cs[t + 1] += ig  # (eq. lstm_cell)
        np.tanh(cs[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=hs[t + 1])  # (eq. lstm_hidden)
    cache = LSTMCache(x, W_x, W_h, b, gates, hs, cs, tanh_c, x_rows, workspace)
    return cache.h, cache


def _lstm_step_back(
    dh_t: Array, dc_t: Array, gates_t: Array, c_prev: Array, tanh_c_t: Array, W_hT: Array, dz_out: Array
) -> tuple[Array, Array]:
    """One step back through the cell (eqs. ``lstm_delta_c``, ``lstm_grad_z``, ``lstm_delta_h``).

    Parameters
    ----------
    dh_t, dc_t : ndarray (..., H)
        Total derivatives δ^h_t and the part of δ^c_t that arrives from step t+1
        (``dc_t`` is updated in place to the full δ^c_t).
    gates_t : ndarray (..., 4H)
        ``[i_t, f_t, g_t, o_t]``; broadcasts against the rows of ``dh_t``.
    c_prev, tanh_c_t : ndarray (..., H)
        c_{t-1} and tanh(c_t).
    W_hT : ndarray (4H, H)
        ``W_h.T``.
    dz_out : ndarray (..., 4H)
        Receives dL/dz_t (eq. ``lstm_grad_z``).

    Returns
    -------
    dh_prev, dc_prev : ndarray (..., H)
        ∂L/∂h_{t-1} and ∂L/∂c_{t-1} through this step: ``dz_t @ W_h.T`` and
        ``δ^c_t ⊙ f_t`` (the latter written over ``dc_t``).
    """
    H = W_hT.shape[1]
    i, f, g, o = gates_t[..., :H], gates_t[..., H:2 * H], gates_t[..., 2 * H:3 * H], gates_t[..., 3 * H:]
    dzi, dzf, dzg, dzo = dz_out[..., :H], dz_out[..., H:2 * H], dz_out[..., 2 * H:3 * H], dz_out[..., 3 * H:]
    # dL/do = δh ⊙ tanh c; through σ: ⊙ o (1 - o)
    np.multiply(dh_t, tanh_c_t, out=dzo)
    dzo *= o
    dzo *= 1.0 - o
    # δc_t = δh ⊙ o ⊙ (1 - tanh² c_t) + (δc_{t+1} ⊙ f_{t+1})   (eq. lstm_delta_c)
    tmp = dh_t * o
    tmp *= 1.0 - tanh_c_t * tanh_c_t
    dc_t += tmp
    # gate pre-activations (eq. lstm_grad_z)
    np.multiply(dc_t, g, out=dzi)
    dzi *= i
    dzi *= 1.0 - i
    np.multiply(dc_t, c_prev, out=dzf)
    dzf *= f
    dzf *= 1.0 - f
    np.multiply(dc_t, i, out=dzg)
    dzg *= 1.0 - g * g
    dh_prev = np.matmul(dz_out, W_hT)  # (eq. lstm_delta_h)
    dc_t *= f  # now ∂L/∂c_{t-1} through this step
    return dh_prev, dc_t


def lstm_backward(dh: Array, cache: LSTMCache, truncate: int | None = None) -> dict[str, Array]:
    """Back-propagation through time for :func:`lstm_forward`.

    Implements eqs. ``lstm_delta_h``, ``lstm_delta_c``, ``lstm_grad_z`` and
    ``lstm_grad_W``.

    Parameters
    ----------
    dh : array_like (B, T, H)
        ∂L/∂h_t arriving from outside the recurrence (e.g. from a readout).
    cache : LSTMCache
        From :func:`lstm_forward`.
    truncate : int >= 1 or None
        ``None``: full BPTT.  ``κ``: chunked truncation exactly as in
        :func:`seqlib.cells.rnn.rnn_backward`: no gradient crosses the edges
        (h_κ, c_κ) -> (h_{κ+1}, c_{κ+1}), (h_{2κ}, c_{2κ}) -> ..., on both
        states, as if both were detached every κ steps.  The first chunk
        still reaches h0 and c0.

    Returns
    -------
    dict
        ``"x"`` (B, T, D), ``"h0"`` (B, H), ``"c0"`` (B, H), ``"W_x"`` (D, 4H),
        ``"W_h"`` (H, 4H), ``"b"`` (4H,), in the dtype of the cache.
    """
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = check_direct_gradient(dh, cache, LSTMCache, "lstm_forward")
    return _lstm_backward_core(dh, cache, truncate)


def _lstm_backward_core(dh: Array, cache: LSTMCache, truncate: int | None = None) -> dict[str, Array]:
    """:func:`lstm_backward` without its checks: trusts that ``dh`` is a finite (B, T, H) float
    array for this ``cache`` and ``truncate`` an int >= 1 or None."""
    dh = np.asarray(dh, dtype=cache.hs.dtype)
    B, T, D, H = cache.shape
    k = T if truncate is None else truncate
    dh_tm = np.swapaxes(dh, 0, 1)
    W_hT = np.ascontiguousarray(cache.W_h.T)
    gates, tc, f = cache.gates, cache.tanh_c, cache.gates[..., H:2 * H]
    ws, dtype = cache.workspace, dh.dtype
    # Everything in eqs. lstm_delta_c and lstm_grad_z that does not depend on
    # the gradient, for all steps at once and in place (no recursion in it):
    # dz_t = [δc_t, δc_t, δc_t, δh_t] ⊙ a_t, and δc_t = δh_t ⊙ a^c_t + δc_{t+1} ⊙ f_{t+1}.
    a = empty(ws, "lstm.a", (T, B, 4 * H), dtype)
    np.subtract(1.0, gates, out=a)
    a *= gates  # σ' = σ (1 - σ) for i, f, o
    a_i, a_f, a_g, a_o = (a[..., n * H:(n + 1) * H] for n in range(4))
    np.square(gates[..., 2 * H:3 * H], out=a_g)
    np.subtract(1.0, a_g, out=a_g)  # tanh' = 1 - g²
    a_i *= gates[..., 2 * H:3 * H]  # ⊙ g
    a_f *= cache.cs[:-1]  # ⊙ c_{t-1}
    a_g *= gates[..., :H]  # ⊙ i
    a_o *= tc  # ⊙ tanh c
    a_c = empty(ws, "lstm.a_c", (T, B, H), dtype)
    np.square(tc, out=a_c)
    np.subtract(1.0, a_c, out=a_c)
    a_c *= gates[..., 3 * H:]  # o ⊙ (1 - tanh² c)
    a_ifg = a[..., :3 * H].reshape(T, B, 3, H)
    dz = empty(ws, "lstm.dz", (T, B, 4 * H), dtype)
    dz_ifg = dz[..., :3 * H].reshape(T, B, 3, H)
    d_h = np.empty((B, H), dtype)
    d_c = np.empty((B, H), dtype)
    tmp = np.empty((B, H), dtype)
    dh0 = dc0 = None
    for start in range(0, T, k):
        end = min(start + k, T)
        d_h[...] = dh_tm[end - 1]
        d_c[...] = 0.0
        for t in range(end - 1, start - 1, -1):
            np.multiply(d_h, a_o[t], out=dz[t, :, 3 * H:])
            np.multiply(d_h, a_c[t], out=tmp)
            d_c += tmp  # (eq. lstm_delta_c)
            np.multiply(d_c[:, None, :], a_ifg[t], out=dz_ifg[t])  # (eq. lstm_grad_z)
            d_c *= f[t]  # what reaches c_{t-1}
            np.dot(dz[t], W_hT, out=d_h)  # what reaches h_{t-1}  (eq. lstm_delta_h)
            if t > start:
                d_h += dh_tm[t - 1]
        if start == 0:
            dh0, dc0 = d_h.copy(), d_c.copy()
    dz2 = dz.reshape(T * B, 4 * H)
    dW_xb = np.matmul(cache.x_rows.T, dz2)  # (eq. lstm_grad_W)
    return {
        "x": np.matmul(dz2, cache.W_x.T).reshape(T, B, D).transpose(1, 0, 2),
        "h0": dh0,
        "c0": dc0,
        "W_x": dW_xb[:D],
        "W_h": np.matmul(cache.hs[:-1].reshape(T * B, H).T, dz2),
        "b": dW_xb[D],
    }


# ----------------------------------------------------------------------------- initialisation and size


def init_lstm_params(
    D: int,
    H: int,
    *,
    rng: np.random.Generator | int,
    forget_bias: float = 1.0,
    dtype: object = np.float64,
) -> dict[str, np.ndarray]:
    """Initial LSTM weights: Glorot-uniform ``W_x``, orthogonal ``W_h`` blocks, forget-gate bias.

    ``W_x`` is Glorot-uniform per gate block (fan-in D, fan-out H), each of
    the four H x H blocks of ``W_h`` is an independent random orthogonal
    matrix, and the bias is zero except for the forget-gate block, set to
    ``forget_bias``.  A positive forget bias starts the cell with
    f_t = σ(forget_bias) near 1 (0.73 for a bias of 1), so that the cell
    state is kept rather than erased while the gates learn.  The forget gate
    itself is from Gers et al. (2000); Jozefowicz et al. (2015) report that
    adding a bias of 1 to it closes the gap between the LSTM and the GRU.

    Parameters
    ----------
    D, H : int
        Input and hidden sizes.
    rng : numpy.random.Generator or int
    forget_bias : float
        Initial value of the forget-gate bias ``b[H:2H]``.
    dtype : float32 or float64

    Returns
    -------
    dict
        ``"W_x"`` (D, 4H), ``"W_h"`` (H, 4H), ``"b"`` (4H,).
    """
    D = check_positive_int(D, "D")
    H = check_positive_int(H, "H")
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float, np.integer, np.floating)) \
            or not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias must be a finite real number, got {forget_bias!r}")
    dt = _as_dtype(dtype)
    rng = _as_rng(rng)
    W_x = np.concatenate([glorot_uniform(D, H, rng=rng) for _ in range(4)], axis=1)
    W_h = np.concatenate([orthogonal(H, rng=rng) for _ in range(4)], axis=1)
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    return {"W_x": W_x.astype(dt), "W_h": W_h.astype(dt), "b": b.astype(dt)}


def lstm_param_count(D: int, H: int) -> int:
    """Number of LSTM parameters: ``4 (D H + H H + H)`` (``W_x``, ``W_h``, ``b``)."""
    D = check_positive_int(D, "D")
    H = check_positive_int(H, "H")
    return 4 * (D * H + H * H + H)
