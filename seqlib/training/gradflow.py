"""Gradient-flow diagnostics for the BPTT chapter: how far back do gradients reach?

All functions run the very same backward step as :func:`seqlib.cells.rnn.rnn_backward`
(:func:`seqlib.cells.rnn._backprop_windows` / ``_bptt_step``), only seeded differently.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive_int
from ..cells.rnn import RNNCache, _backprop_windows, _bptt_step, _check_backward_args, _chunk_windows

__all__ = [
    "loss_to_state_norms",
    "state_gradient_norms",
    "jacobian_product_norms",
    "spectral_norm",
    "spectral_radius",
]

Array = np.ndarray


def _per_loss_deltas(dh: Array, fprime: Array, W_hhT: Array, truncate: int | None, t: int) -> Array:
    """dℓ_t/dh_k for k = 1..T as rows of a (B, T, H) array; t is 1-based.

    Runs the backward recursion seeded with ℓ_t's direct gradient ``dh[:, t-1]``
    only, down to the start of t's chunk (step 1 without truncation); entries
    for k > t or before the chunk are zero.
    """
    k = truncate or dh.shape[1]
    deltas = np.zeros_like(dh)
    _backprop_windows(dh, fprime, W_hhT, [((t - 1) // k * k, t - 1, t)], deltas)
    return deltas


def loss_to_state_norms(dh: Array, cache: RNNCache, truncate: int | None = None) -> Array:
    """How strongly each loss term reaches each earlier state (eq. ``grad_flow_G``).

    Parameters
    ----------
    dh : array_like (B, T, H)
        ``dh[:, t-1]`` is the direct gradient ∂ℓ_t/∂h_t of the loss at step t.
    cache : RNNCache
        From :func:`seqlib.cells.rnn.rnn_forward`.
    truncate : int >= 1 or None
        Chunked truncation as in :func:`seqlib.cells.rnn.rnn_backward`.

    Returns
    -------
    G : ndarray (T, T), float64
        ``G[t-1, k-1] = ||dℓ_t/dh_k||`` (Frobenius norm over batch and hidden)
        for k <= t; 0 above the diagonal and where truncation cuts the path.
        Summing the vectors dℓ_t/dh_k over t gives δ_k (see
        :func:`state_gradient_norms`).
    """
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = _check_backward_args(dh, cache)
    T = dh.shape[1]
    fprime = cache.fprime()
    W_hhT = np.ascontiguousarray(cache.W_hh.T)
    G = np.zeros((T, T))
    for t in range(1, T + 1):
        deltas = _per_loss_deltas(dh, fprime, W_hhT, truncate, t).astype(np.float64, copy=False)
        G[t - 1] = np.sqrt(np.einsum("btH,btH->t", deltas, deltas))
    return G


def state_gradient_norms(dh: Array, cache: RNNCache, truncate: int | None = None) -> Array:
    """Norm of the total derivative δ_k = dL/dh_k for every step (eq. ``bptt_delta``).

    Parameters
    ----------
    dh : array_like (B, T, H)
        Direct gradients ∂ℓ_t/∂h_t.
    cache : RNNCache
        From :func:`seqlib.cells.rnn.rnn_forward`.
    truncate : int >= 1 or None
        Chunked truncation as in :func:`seqlib.cells.rnn.rnn_backward`.

    Returns
    -------
    ndarray (T,), float64
        ``||δ_k||`` (Frobenius over batch and hidden), k = 1..T.
    """
    truncate = check_positive_int(truncate, "truncate", allow_none=True)
    dh = _check_backward_args(dh, cache)
    deltas = np.zeros_like(dh)
    W_hhT = np.ascontiguousarray(cache.W_hh.T)
    _backprop_windows(dh, cache.fprime(), W_hhT, _chunk_windows(dh.shape[1], truncate), deltas)
    return np.sqrt(np.sum(deltas.astype(np.float64) ** 2, axis=(0, 2)))


def jacobian_product_norms(cache: RNNCache, batch_index: int = 0) -> Array:
    """Spectral norms of the state-to-state Jacobians dh_t/dh_k (eqs. ``bptt_jacobian``, ``bptt_jacobian_product``).

    dh_t/dh_k = diag(f'(a_t)) W_hh^T ··· diag(f'(a_{k+1})) W_hh^T for one
    sequence of the batch, computed by back-propagating the H identity rows
    as a batch through the backward step of :func:`seqlib.cells.rnn.rnn_backward`.

    Parameters
    ----------
    cache : RNNCache
        From :func:`seqlib.cells.rnn.rnn_forward`, states h_1..h_T (B, T, H).
    batch_index : int
        Which sequence of the batch, ``0 <= batch_index < B``.

    Returns
    -------
    P : ndarray (T+1, T+1), float64
        ``P[t, k] = ||dh_t/dh_k||_2`` for 0 <= k <= t <= T (h_0 is the initial
        state), ``P[t, t] = 1``, zeros above the diagonal.
    """
    if not isinstance(cache, RNNCache):
        raise TypeError(f"cache must be the RNNCache returned by rnn_forward, got {type(cache).__name__}")
    B, T, _, H = cache.shape
    if isinstance(batch_index, bool) or not isinstance(batch_index, (int, np.integer)):
        raise TypeError(f"batch_index must be an int, got {type(batch_index).__name__} {batch_index!r}")
    if not 0 <= batch_index < B:
        raise ValueError(f"batch_index must be in [0, B) = [0, {B}), got {batch_index}")
    fprime = cache.fprime()[batch_index]  # (T, H)
    W_hhT = np.ascontiguousarray(cache.W_hh.T)
    P = np.eye(T + 1)
    g = np.empty((H, H), cache.h.dtype)
    for t in range(1, T + 1):
        M = np.eye(H, dtype=cache.h.dtype)  # rows of ∂h_t/∂h_t
        prods = np.empty((t, H, H), cache.h.dtype)
        for k in range(t - 1, -1, -1):  # M <- dh_t/dh_k = M diag(f'(a_{k+1})) W_hh^T
            M = _bptt_step(M, fprime[k], W_hhT, g, prods[k])
        P[t, :t] = np.linalg.svd(prods.astype(np.float64), compute_uv=False)[:, 0]
    return P


def _as_matrix(W: Array, name: str, square: bool) -> Array:
    W = as_float_array(W, name, ndim=2)
    if square and W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {W.shape}")
    if W.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {W.shape}")
    return W


def spectral_norm(W: Array) -> float:
    """Largest singular value ``||W||_2`` of a 2-D array ``W`` (m, n)."""
    return float(np.linalg.norm(_as_matrix(W, "W", square=False).astype(np.float64), 2))


def spectral_radius(W: Array) -> float:
    """Largest eigenvalue magnitude ``max |λ_i(W)|`` of a square ``W`` (n, n)."""
    return float(np.max(np.abs(np.linalg.eigvals(_as_matrix(W, "W", square=True).astype(np.float64)))))
