"""The GRU layer, both variants of the candidate state: forward pass and BPTT.

Batch-major arrays and row vectors, as :mod:`seqlib.cells.rnn`.  The three gate
blocks along the last axis of ``W_x`` (D, 3H), ``W_h`` (H, 3H), ``b_x`` and
``b_h`` (3H,) are in PyTorch's order r, z, n::

    r_t = σ(x_t W_xr + b_xr + h_{t-1} W_hr + b_hr)
    z_t = σ(x_t W_xz + b_xz + h_{t-1} W_hz + b_hz)          (eq. ``gru_gates``)
    reset="after":  n_t = tanh(x_t W_xn + b_xn + r_t ⊙ (h_{t-1} W_hn + b_hn))
                                                              (eq. ``gru_after``)
    reset="before": n_t = tanh(x_t W_xn + b_xn + (r_t ⊙ h_{t-1}) W_hn + b_hn)
                                                              (eq. ``gru_before``)
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}                    (eq. ``gru_state``)

``"after"`` is the form of PyTorch, cuDNN and Keras ``reset_after=True``;
``"before"`` is the form of the third arXiv version of Cho et al. (2014) (their
first version had the reset after the product).  The backward pass carries
δ_t = dL/dh_t back in time (eq. ``gru_delta``) and stores the gradients with
respect to the input-side and the recurrent-side pre-activations, from which
every parameter gradient is one matmul (eq. ``gru_grad_W``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import as_float_array, check_direct_gradient, check_positive_int
from .init import _as_dtype, _as_rng, glorot_uniform, orthogonal
from .lstm import _check_state, _check_weights, sigmoid_inplace
from ..workspace import Workspace, check_workspace, empty

__all__ = ["GRUCache", "gru_forward", "gru_backward", "init_gru_params", "gru_param_count", "RESETS"]

Array = np.ndarray

#: The two places of the reset gate.
RESETS = ("after", "before")

#: The cell's parameters and their shapes, the one that defines H first (for model functions' checks).
_PARAM_SHAPES = {"W_h": ("H", "3H"), "W_x": ("D", "3H"), "b_x": ("3H",), "b_h": ("3H",)}


def _check_reset(reset: object) -> str:
    if not isinstance(reset, str) or reset not in RESETS:
        raise ValueError(
            f"reset must be 'after' (PyTorch, cuDNN: r ⊙ (h W_hn + b_hn)) or 'before' "
            f"(Cho et al. 2014, arXiv v3: (r ⊙ h) W_hn + b_hn), got {reset!r}"
        )
    return reset


@dataclass(frozen=True)
class GRUCache:
    """What :func:`gru_forward` keeps for the backward pass.

    Attributes
    ----------
    x : ndarray (B, T, D)
    W_x : ndarray (D, 3H)
    W_h : ndarray (H, 3H)
    b_x, b_h : ndarray (3H,)
    reset : {"after", "before"}
    gates : ndarray (T, B, 3H)
        Time-major ``[r_t, z_t, n_t]`` (eqs. ``gru_gates``, ``gru_after`` / ``gru_before``).
    hn : ndarray (T, B, H)
        The recurrent term of the candidate: ``h_{t-1} W_hn + b_hn`` for
        ``"after"``, ``r_t ⊙ h_{t-1}`` for ``"before"``.
    hs : ndarray (T+1, B, H)
        Time-major states, ``hs[0]`` is h0.
    x_rows : ndarray (T*B, D+1)
        Time-major input rows with a 1 appended (``b_x`` is its weight).
    """

    x: Array
    W_x: Array
    W_h: Array
    b_x: Array
    b_h: Array
    reset: str
    gates: Array = field(repr=False)
    hn: Array = field(repr=False)
    hs: Array = field(repr=False)
    x_rows: Array = field(repr=False)

    @property
    def h0(self) -> Array:
        """Initial state (B, H)."""
        return self.hs[0]

    @property
    def h(self) -> Array:
        """States h_1..h_T (B, T, H) (eq. ``gru_state``), a view of ``hs``."""
        return self.hs[1:].transpose(1, 0, 2)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(B, T, D, H)``."""
        B, T, D = self.x.shape
        return B, T, D, self.W_h.shape[0]

    def gate(self, name: str) -> Array:
        """One gate's values over time, (B, T, H): ``name`` in ``"r", "z", "n"``."""
        if name not in ("r", "z", "n"):
            raise ValueError(f"name must be one of ['r', 'z', 'n'], got {name!r}")
        H = self.W_h.shape[0]
        j = "rzn".index(name)
        return self.gates[:, :, j * H:(j + 1) * H].transpose(1, 0, 2)


def gru_forward(
    x: Array,
    h0: Array | None,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
    *,
    reset: str = "after",
    workspace: Workspace | None = None,
) -> tuple[Array, GRUCache]:
    """Run the GRU over a batch of sequences (eqs. ``gru_gates`` to ``gru_state``).

    Parameters
    ----------
    x : array_like (B, T, D)
    h0 : array_like (B, H) or None
        Initial state; ``None`` means zeros.
    W_x : array_like (D, 3H)
        Input weights, gate blocks r, z, n.
    W_h : array_like (H, 3H)
        Recurrent weights, same block order.
    b_x, b_h : array_like (3H,)
        Input-side and recurrent-side biases (two, as in PyTorch; only
        ``b_hn`` is not redundant, and only for ``reset="after"``).
    reset : {"after", "before"}, keyword-only
        Where the reset gate acts: on ``h_{t-1} W_hn + b_hn`` (eq.
        ``gru_after``) or on ``h_{t-1}`` before the product (eq. ``gru_before``).
    workspace : Workspace, optional, keyword-only
        Keep the large arrays in this workspace (valid until the next call).

    Returns
    -------
    h : ndarray (B, T, H)
    cache : GRUCache
    """
    reset = _check_reset(reset)
    workspace = check_workspace(workspace)
    x = as_float_array(x, "x")
    W_x = as_float_array(W_x, "W_x")
    W_h = as_float_array(W_h, "W_h")
    b_x = as_float_array(b_x, "b_x")
    b_h = as_float_array(b_h, "b_h")
    dims = _check_weights(x, W_x, W_h, (b_x, b_h), 3, ("W_x", "W_h", "b_x", "b_h"))
    h0 = _check_state(h0, "h0", dims)
    return _gru_forward_core(x, h0, W_x, W_h, b_x, b_h, reset, workspace)


def _gru_forward_core(
    x: Array, h0: Array | None, W_x: Array, W_h: Array, b_x: Array, b_h: Array, reset: str = "after",
    workspace: Workspace | None = None,
) -> tuple[Array, GRUCache]:
    """:func:`gru_forward` without its checks, for model functions that checked their own arguments.

    Trusts its inputs: finite float arrays x (B, T, D), h0 (B, H) or None,
    W_x (D, 3H), W_h (H, 3H), b_x and b_h (3H,), with B, T, D, H >= 1;
    ``reset`` one of :data:`RESETS`.
    """
    B, T, D = x.shape
    H = W_h.shape[0]
    dtype = np.result_type(x, W_x, W_h, b_x, b_h, *([] if h0 is None else [h0]))
    x, W_x, W_h, b_x, b_h = (np.asarray(v, dtype=dtype) for v in (x, W_x, W_h, b_x, b_h))

    x_rows = empty(workspace, "gru.x_rows", (T * B, D + 1), dtype)
    np.copyto(x_rows[:, :D].reshape(T, B, D), x.transpose(1, 0, 2))
    x_rows[:, D] = 1.0
    gates = empty(workspace, "gru.gates", (T, B, 3 * H), dtype)
    np.matmul(x_rows, np.concatenate((W_x, b_x[None, :])), out=gates.reshape(T * B, 3 * H))  # x_t W_x + b_x
    hs = empty(workspace, "gru.hs", (T + 1, B, H), dtype)
    hn = empty(workspace, "gru.hn", (T, B, H), dtype)
    hs[0] = 0.0 if h0 is None else h0
    after = reset == "after"
    W_hrz, b_hrz = np.ascontiguousarray(W_h[:, :2 * H]), b_h[:2 * H]
    W_hn, b_hn = np.ascontiguousarray(W_h[:, 2 * H:]), b_h[2 * H:]
    rec = np.empty((B, 3 * H if after else 2 * H), dtype)
    tmp = np.empty((B, H), dtype)
    for t in range(T):
        a, h_prev = gates[t], hs[t]
        np.dot(h_prev, W_h if after else W_hrz, out=rec)
        rec += b_h if after else b_hrz
        a[:, :2 * H] += rec[:, :2 * H]
        sigmoid_inplace(a[:, :2 * H])  # r, z   (eq. gru_gates)
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        if after:
            hn[t] = rec[:, 2 * H:]  # h_{t-1} W_hn + b_hn
            np.multiply(r, hn[t], out=tmp)  # (eq. gru_after)
        else:
            np.multiply(r, h_prev, out=hn[t])  # r ⊙ h_{t-1}
            np.dot(hn[t], W_hn, out=tmp)  # (eq. gru_before)
            tmp += b_hn
        n += tmp
        np.tanh(n, out=n)
        # h_t = n + z ⊙ (h_{t-1} - n)   (eq. gru_state)
        np.subtract(h_prev, n, out=tmp)
        tmp *= z
        np.add(n, tmp, out=hs[t + 1])
    cache = GRUCache(x, W_x, W_h, b_x, b_h, reset, gates, hn, hs, x_rows)
    return cache.h, cache


def _gru_step_back(
    dh_t: Array, gates_t: Array, h_prev: Array, hn_t: Array, W_h: Array, reset: str, dax_out: Array, dah_out: Array
) -> Array:
    """One step back through the GRU cell (eqs. ``gru_grad_a``, ``gru_delta``).

    Parameters
    ----------
    dh_t : ndarray (..., H)
        δ_t = dL/dh_t.
    gates_t : ndarray (..., 3H)
        ``[r_t, z_t, n_t]``.
    h_prev, hn_t : ndarray (..., H)
        h_{t-1}, and the cache's ``hn`` at step t.
    W_h : ndarray (H, 3H)
    reset : {"after", "before"}
    dax_out : ndarray (..., 3H)
        Receives dL/d(x_t W_x + b_x).
    dah_out : ndarray (..., 3H)
        Receives dL/d(h_{t-1} W_h + b_h) for ``"after"``; for ``"before"``
        its r, z blocks get that and its n block dL/d(r_t ⊙ h_{t-1} W_hn + b_hn).

    Returns
    -------
    ndarray (..., H)
        ∂L/∂h_{t-1} through this step (not yet the total δ_{t-1}).
    """
    H = W_h.shape[0]
    r, z, n = gates_t[..., :H], gates_t[..., H:2 * H], gates_t[..., 2 * H:]
    dar, daz, dan = dax_out[..., :H], dax_out[..., H:2 * H], dax_out[..., 2 * H:]
    # through h_t = (1 - z) n + z h_{t-1}
    np.multiply(dh_t, 1.0 - z, out=dan)
    dan *= 1.0 - n * n  # dL/d(pre-activation of n)
    np.subtract(h_prev, n, out=daz)
    daz *= dh_t
    daz *= z
    daz *= 1.0 - z
    if reset == "after":
        np.multiply(dan, hn_t, out=dar)  # dL/dr = dan ⊙ (h W_hn + b_hn)
        dar *= r
        dar *= 1.0 - r
        dah_out[..., :2 * H] = dax_out[..., :2 * H]
        np.multiply(dan, r, out=dah_out[..., 2 * H:])
        dh_prev = np.matmul(dah_out, W_h.T)
    else:
        dah_out[..., 2 * H:] = dan
        drh = np.matmul(dan, W_h[:, 2 * H:].T)  # dL/d(r ⊙ h_{t-1})
        np.multiply(drh, h_prev, out=dar)
        dar *= r
        dar *= 1.0 - r
        dah_out[..., :2 * H] = dax_out[..., :2 * H]
        dh_prev = np.matmul(dax_out[..., :2 * H], W_h[:, :2 * H].T)
        dh_prev += drh * r
    dh_prev += dh_t * z  # (eq. gru_delta)
    return dh_prev


def gru_backward(dh: Array, cache: GRUCache, truncate: int | None = None) -> dict[str, Array]:
    """Back-propagation through time for :func:`gru_forward`, either variant.

    Implements eqs. ``gru_delta``, ``gru_grad_a`` and ``gru_grad_W``.

    Parameters
    ----------
    dh : array_like (B, T, H)
        ∂L/∂h_t arriving from outside the recurrence.
    cache : GRUCache
        From :func:`gru_forward`.
    truncate : int >= 1 or None
        Chunked truncation exactly as in :func:`seqlib.cells.rnn.rnn_backward`
        (the first chunk still reaches h0).

    Returns
    -------
    dict
        ``"x"`` (B, T, D), ``"h0"`` (B, H), ``"W_x"`` (D, 3H), ``"W_h"`` (H, 3H),
        ``"b_x"`` (3H,), ``"b_h"`` (3H,), in the dtype of the cache.
    """
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = check_direct_gradient(dh, cache, GRUCache, "gru_forward")
    return _gru_backward_core(dh, cache, truncate)


def _gru_backward_core(dh: Array, cache: GRUCache, truncate: int | None = None) -> dict[str, Array]:
    """:func:`gru_backward` without its checks: trusts that ``dh`` is a finite (B, T, H) float
    array for this ``cache`` and ``truncate`` an int >= 1 or None."""
    dh = np.asarray(dh, dtype=cache.hs.dtype)
    B, T, D, H = cache.shape
    k = T if truncate is None else truncate
    dh_tm = np.swapaxes(dh, 0, 1)
    dax = np.empty((T, B, 3 * H), dh.dtype)
    dah = np.empty((T, B, 3 * H), dh.dtype)
    dh0 = None
    for start in range(0, T, k):
        end = min(start + k, T)
        carry = np.zeros((B, H), dh.dtype)
        for t in range(end - 1, start - 1, -1):
            dh_t = carry + dh_tm[t]  # (eq. gru_delta)
            carry = _gru_step_back(dh_t, cache.gates[t], cache.hs[t], cache.hn[t], cache.W_h, cache.reset,
                                   dax[t], dah[t])
        if start == 0:
            dh0 = carry
    dax2, dah2 = dax.reshape(T * B, 3 * H), dah.reshape(T * B, 3 * H)
    dW_xb = np.matmul(cache.x_rows.T, dax2)  # (eq. gru_grad_W)
    hprev = cache.hs[:-1].reshape(T * B, H)
    if cache.reset == "after":
        dW_h = np.matmul(hprev.T, dah2)
    else:
        dW_h = np.concatenate(
            (np.matmul(hprev.T, dah2[:, :2 * H]), np.matmul(cache.hn.reshape(T * B, H).T, dah2[:, 2 * H:])), axis=1
        )
    return {
        "x": np.matmul(dax2, cache.W_x.T).reshape(T, B, D).transpose(1, 0, 2),
        "h0": dh0,
        "W_x": dW_xb[:D],
        "W_h": dW_h,
        "b_x": dW_xb[D],
        "b_h": dah2.sum(axis=0),
    }


def init_gru_params(D: int, H: int, *, rng: np.random.Generator | int, dtype: object = np.float64) -> dict[str, Array]:
    """Initial GRU weights: Glorot-uniform ``W_x`` blocks, orthogonal ``W_h`` blocks, zero biases.

    Returns
    -------
    dict
        ``"W_x"`` (D, 3H), ``"W_h"`` (H, 3H), ``"b_x"`` (3H,), ``"b_h"`` (3H,).
    """
    D = check_positive_int(D, "D")
    H = check_positive_int(H, "H")
    dt = _as_dtype(dtype)
    rng = _as_rng(rng)
    W_x = np.concatenate([glorot_uniform(D, H, rng=rng) for _ in range(3)], axis=1)
    W_h = np.concatenate([orthogonal(H, rng=rng) for _ in range(3)], axis=1)
    return {"W_x": W_x.astype(dt), "W_h": W_h.astype(dt), "b_x": np.zeros(3 * H, dt), "b_h": np.zeros(3 * H, dt)}


def gru_param_count(D: int, H: int, *, two_biases: bool = True) -> int:
    """Number of GRU parameters: ``3 (D H + H H + 2 H)`` with PyTorch's two biases, ``3 (D H + H H + H)`` with one."""
    D = check_positive_int(D, "D")
    H = check_positive_int(H, "H")
    return 3 * (D * H + H * H + (2 if two_biases else 1) * H)
