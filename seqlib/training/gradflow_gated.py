"""Gradient-flow diagnostics for the gated cells: G[t, k] for the LSTM and the GRU, and the LSTM's state Jacobians.

The LSTM's state at step k is the pair s_k = (h_k, c_k).  The total
derivatives dℓ_t/dh_k and dℓ_t/dc_k treat h_k and c_k as the two independent
halves of s_k: perturb one, hold the other, and run the network forward from
step k.  So dℓ_t/dc_k here is what reaches c_k from step k+1 on,
δ^c_{k+1} ⊙ f_{k+1}, without the path c_k -> h_k (h_k is held), and
dℓ_t/dc_t = 0: the row vector (dℓ_t/dh_k, dℓ_t/dc_k) is
(∂ℓ_t/∂h_t, 0) ds_t/ds_k, with the state Jacobians of
:func:`lstm_state_jacobian`.  Both are computed with the very backward step
of :func:`seqlib.cells.lstm.lstm_backward` (``_lstm_step_back``), seeded with the
loss at step t only.  All losses are back-propagated at once:
the loss index is one more batch axis.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_direct_gradient, check_positive_int
from ..cells.gru import GRUCache, _gru_step_back
from ..cells.lstm import LSTMCache, _lstm_step_back

__all__ = ["lstm_loss_to_state_norms", "gru_loss_to_state_norms", "lstm_state_gradient_norms",
           "gru_state_gradient_norms", "lstm_state_jacobian",
           "lstm_jacobian_products", "lstm_cell_path_products"]

Array = np.ndarray


def _norms(v: Array) -> Array:
    """Frobenius norm over all axes but the first, in float64."""
    v = v.astype(np.float64, copy=False).reshape(v.shape[0], -1)
    return np.sqrt(np.einsum("tj,tj->t", v, v))


def lstm_loss_to_state_norms(dh: Array, cache: LSTMCache, truncate: int | None = None) -> tuple[Array, Array]:
    """How strongly each loss reaches each earlier hidden and cell state (eq. ``gated_G``).

    Parameters
    ----------
    dh : array_like (B, T, H)
        ``dh[:, t-1]`` is the direct gradient ∂ℓ_t/∂h_t of the loss at step t.
    cache : LSTMCache
        From :func:`seqlib.cells.lstm.lstm_forward`.
    truncate : int >= 1 or None
        Chunked truncation as in :func:`seqlib.cells.lstm.lstm_backward`.

    Returns
    -------
    G_h, G_c : ndarray (T, T), float64
        ``G_h[t-1, k-1] = ||dℓ_t/dh_k||`` and ``G_c[t-1, k-1] = ||dℓ_t/dc_k||``
        (Frobenius over batch and hidden; h_k and c_k the two halves of the
        state, see the module docstring) for k <= t; ``G_c`` is zero on the
        diagonal; both are zero above the diagonal
        and where truncation cuts the path.  The norm of the gradient with
        respect to the whole state s_k = (h_k, c_k) is ``hypot(G_h, G_c)``.
    """
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = check_direct_gradient(dh, cache, LSTMCache, "lstm_forward")
    return _lstm_flow(dh, cache, truncate, per_loss=True)


def lstm_state_gradient_norms(dh: Array, cache: LSTMCache, truncate: int | None = None) -> tuple[Array, Array]:
    """``||dL/dh_k||`` and ``||dL/dc_k||`` for L = Σ_t ℓ_t, each (T,) float64 (h_k, c_k held as in the module docstring)."""
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = check_direct_gradient(dh, cache, LSTMCache, "lstm_forward")
    G_h, G_c = _lstm_flow(dh, cache, truncate, per_loss=False)
    return G_h[0], G_c[0]


def _lstm_flow(dh: Array, cache: LSTMCache, truncate: int | None, per_loss: bool) -> tuple[Array, Array]:
    B, T, _, H = cache.shape
    k = truncate or T
    n = T if per_loss else 1
    W_hT = np.ascontiguousarray(cache.W_h.T)
    d_h = np.zeros((n, B, H), dh.dtype)  # row t: dℓ_{t+1}/dh_{k+1} (per_loss), or dL/dh_{k+1}
    d_c = np.zeros((n, B, H), dh.dtype)
    dz = np.empty((n, B, 4 * H), dh.dtype)
    G_h, G_c = np.zeros((n, T)), np.zeros((n, T))
    for s in range(T - 1, -1, -1):
        d_h[s if per_loss else 0] += dh[:, s]  # the loss at step s+1 starts here
        G_h[:, s] = _norms(d_h)
        G_c[:, s] = _norms(d_c)  # h_{s+1} held: only what arrives from step s+2 on
        d_h, d_c = _lstm_step_back(d_h, d_c, cache.gates[s], cache.cs[s], cache.tanh_c[s], W_hT, dz)
        if s % k == 0:  # a chunk starts at step s+1: nothing crosses into step s
            d_h[...] = 0.0
            d_c[...] = 0.0
    return G_h, G_c


def gru_loss_to_state_norms(dh: Array, cache: GRUCache, truncate: int | None = None) -> Array:
    """``G[t-1, k-1] = ||dℓ_t/dh_k||`` for the GRU, (T, T) float64 (see :func:`lstm_loss_to_state_norms`)."""
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = check_direct_gradient(dh, cache, GRUCache, "gru_forward")
    return _gru_flow(dh, cache, truncate, per_loss=True)


def gru_state_gradient_norms(dh: Array, cache: GRUCache, truncate: int | None = None) -> Array:
    """``||dL/dh_k||`` for L = Σ_t ℓ_t, (T,) float64."""
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = check_direct_gradient(dh, cache, GRUCache, "gru_forward")
    return _gru_flow(dh, cache, truncate, per_loss=False)[0]


def _gru_flow(dh: Array, cache: GRUCache, truncate: int | None, per_loss: bool) -> Array:
    B, T, _, H = cache.shape
    k = truncate or T
    n = T if per_loss else 1
    d_h = np.zeros((n, B, H), dh.dtype)
    dax = np.empty((n, B, 3 * H), dh.dtype)
    dah = np.empty((n, B, 3 * H), dh.dtype)
    G = np.zeros((n, T))
    for s in range(T - 1, -1, -1):
        d_h[s if per_loss else 0] += dh[:, s]
        G[:, s] = _norms(d_h)
        d_h = _gru_step_back(d_h, cache.gates[s], cache.hs[s], cache.hn[s], cache.W_h, cache.reset, dax, dah)
        if s % k == 0:
            d_h[...] = 0.0
    return G


def _batch_index(cache: LSTMCache, batch_index: int) -> int:
    if not isinstance(cache, LSTMCache):
        raise TypeError(f"cache must be the LSTMCache returned by lstm_forward, got {type(cache).__name__}")
    B = cache.shape[0]
    if isinstance(batch_index, bool) or not isinstance(batch_index, (int, np.integer)):
        raise TypeError(f"batch_index must be an int, got {type(batch_index).__name__} {batch_index!r}")
    if not 0 <= batch_index < B:
        raise ValueError(f"batch_index must be in [0, B) = [0, {B}), got {batch_index}")
    return int(batch_index)


def _step_rows(M: Array, cache: LSTMCache, s: int, b: int, W_hT: Array) -> Array:
    """Rows of ∂(·)/∂s_{s+1} (n, 2H) -> rows of ∂(·)/∂s_s, through step s+1 of sequence b."""
    H = cache.shape[3]
    dz = np.empty((M.shape[0], 4 * H), M.dtype)
    dh_prev, dc_prev = _lstm_step_back(M[:, :H].copy(), M[:, H:].copy(), cache.gates[s, b], cache.cs[s, b],
                                       cache.tanh_c[s, b], W_hT, dz)
    return np.concatenate((dh_prev, dc_prev), axis=1)


def lstm_state_jacobian(cache: LSTMCache, t: int, batch_index: int = 0) -> Array:
    """The Jacobian of one LSTM step, d(h_t, c_t)/d(h_{t-1}, c_{t-1}), (2H, 2H) (eq. ``lstm_jacobian``).

    Entry ``[i, j]`` is ∂s_{t,i}/∂s_{t-1,j} with s = (h, c) concatenated:
    the blocks are ``[[∂h_t/∂h_{t-1}, ∂h_t/∂c_{t-1}], [∂c_t/∂h_{t-1}, ∂c_t/∂c_{t-1}]]``,
    and ``∂c_t/∂c_{t-1} = diag(f_t)``.  Computed by back-propagating the 2H
    identity rows through one step of :func:`seqlib.cells.lstm.lstm_backward`.

    Parameters
    ----------
    cache : LSTMCache
    t : int
        Step, ``1 <= t <= T``.
    batch_index : int
        Which sequence of the batch.
    """
    b = _batch_index(cache, batch_index)
    T, H = cache.shape[1], cache.shape[3]
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= T:
        raise ValueError(f"t must be an int in [1, T] = [1, {T}], got {t!r}")
    W_hT = np.ascontiguousarray(cache.W_h.T)
    return _step_rows(np.eye(2 * H, dtype=cache.hs.dtype), cache, int(t) - 1, b, W_hT)


def lstm_jacobian_products(cache: LSTMCache, batch_index: int = 0) -> Array:
    """ds_T/ds_k for k = 0..T, (T+1, 2H, 2H): the products of the step Jacobians back from the last step.

    ``J[k]`` is the Jacobian of s_T = (h_T, c_T) with respect to s_k; ``J[T]``
    is the identity.  Its lower-right block ``J[k][H:, H:]`` is the full
    dc_T/dc_k, through every path, not just the cell's own.
    """
    b = _batch_index(cache, batch_index)
    T, H = cache.shape[1], cache.shape[3]
    W_hT = np.ascontiguousarray(cache.W_h.T)
    J = np.empty((T + 1, 2 * H, 2 * H), cache.hs.dtype)
    J[T] = np.eye(2 * H)
    for s in range(T - 1, -1, -1):
        J[s] = _step_rows(J[s + 1], cache, s, b, W_hT)
    return J


def lstm_cell_path_products(cache: LSTMCache, batch_index: int = 0) -> Array:
    """The cell path alone: diag(f_T ⊙ ... ⊙ f_{k+1}) as a (T+1, H) array of its diagonals.

    Row k is ∏_{j=k+1}^{T} f_j (row T is ones): dc_T/dc_k if every path but
    c_{j-1} -> c_j were left out (eq. ``lstm_cec``).
    """
    b = _batch_index(cache, batch_index)
    T, H = cache.shape[1], cache.shape[3]
    f = cache.gates[:, b, H:2 * H].astype(np.float64)
    P = np.ones((T + 1, H))
    for s in range(T - 1, -1, -1):
        P[s] = P[s + 1] * f[s]
    return P
