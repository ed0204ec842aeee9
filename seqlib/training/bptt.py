"""Truncated back-propagation through time.

Two schemes, both described by a (T, T) boolean *truncation mask* with
``mask[t-1, k-1]`` saying whether the gradient of the loss ℓ_t reaches the
state h_k (1-based t, k; only k <= t can be True):

* chunked truncation ``truncate=k`` of :func:`seqlib.cells.rnn.rnn_backward`
  (eq. ``bptt_truncated``): no gradient crosses h_k -> h_{k+1},
  h_{2k} -> h_{2k+1}, ...; its mask is :func:`chunked_mask`.
* TBPTT(k1, k2) of Williams & Peng (1990) and Sutskever (2013) (eq. ``tbptt_k1k2``):
  every k1 steps (t = k1, 2 k1, ..., and t = T for a final partial block) the
  losses of the block just finished are back-propagated k2 steps back from the
  block's end; its mask is :func:`truncation_mask`.

In both, h0 receives the gradient of exactly those ℓ_t that reach h_1 (the
window then covers step 1, whose input is h0).

TBPTT(k, k) equals ``truncate=k`` whenever k divides T.  If it does not, they
differ on the final partial block only: TBPTT goes k steps back from t = T and
so reaches into the previous chunk, while chunked truncation stops at the
chunk's first step.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_positive_int
from ..cells.rnn import RNNCache, Window, _backprop_windows, _check_backward_args, _param_grads

__all__ = ["truncation_mask", "chunked_mask", "rnn_backward_tbptt"]

Array = np.ndarray


def _check_k1_k2(k1: int, k2: int) -> tuple[int, int]:
    k1 = check_positive_int(k1, "k1")
    k2 = check_positive_int(k2, "k2")
    if k2 < k1:
        raise ValueError(
            f"k2 must be >= k1, got k1={k1}, k2={k2}: the window of k2 steps back from a block's end "
            f"would not even cover the block's own k1 steps, so the losses at its first {k1 - k2} "
            f"step(s) would get no gradient at all"
        )
    return k1, k2


def _tbptt_windows(T: int, k1: int, k2: int) -> list[Window]:
    """TBPTT(k1, k2) as windows ``(start, seed_start, end)`` (0-based, half-open).

    Block ``[seed_start, end)`` ends at a multiple of k1 or at T; its losses are
    back-propagated down to step ``start = max(end - k2, 0)``.
    """
    return [(max(end - k2, 0), b, end) for b in range(0, T, k1) for end in [min(b + k1, T)]]


def truncation_mask(T: int, k1: int, k2: int) -> Array:
    """Which states the losses reach under TBPTT(k1, k2) (eq. ``tbptt_k1k2``).

    ``mask[s-1, k-1]`` is True iff the gradient of ℓ_s reaches h_k, i.e.
    ``e(s) - k2 < k <= s`` with ``e(s) = min(ceil(s / k1) * k1, T)`` the end of
    the block containing s.

    Parameters
    ----------
    T : int >= 1
        Sequence length.
    k1 : int >= 1
        Back-propagate every k1 steps.
    k2 : int >= k1
        Through k2 steps back from the block's end.

    Returns
    -------
    ndarray (T, T) of bool
        Lower triangular.
    """
    T = check_positive_int(T, "T")
    k1, k2 = _check_k1_k2(k1, k2)
    s = np.arange(1, T + 1)[:, None]
    k = np.arange(1, T + 1)[None, :]
    e = np.minimum(-(-s // k1) * k1, T)
    return (e - k2 < k) & (k <= s)


def chunked_mask(T: int, k: int | None) -> Array:
    """Which states the losses reach under chunked truncation ``truncate=k`` (eq. ``bptt_truncated``).

    ``mask[s-1, j-1]`` is True iff h_j lies in the same chunk of k steps as s
    and j <= s; ``k=None`` (full BPTT) gives the whole lower triangle.

    Parameters
    ----------
    T : int >= 1
        Sequence length.
    k : int >= 1 or None
        Chunk length.

    Returns
    -------
    ndarray (T, T) of bool
        Block-diagonal lower triangular.
    """
    T = check_positive_int(T, "T")
    k = check_positive_int(k, "k", allow_none=True) or T
    s = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    return (s // k == j // k) & (j <= s)


def rnn_backward_tbptt(dh: Array, cache: RNNCache, k1: int, k2: int) -> dict[str, Array]:
    """Gradients of the RNN under TBPTT(k1, k2) (eq. ``tbptt_k1k2``).

    Every k1 steps (and at t = T for a final partial block), the direct
    gradients ``dh`` of the block's steps are back-propagated through the last
    k2 steps; see :func:`truncation_mask` for which ℓ_t reach which h_k.
    Costs O(T k2 / k1) recurrent steps, then one matmul per parameter.

    Parameters
    ----------
    dh : array_like (B, T, H)
        ∂ℓ_t/∂h_t from outside the recurrence.
    cache : RNNCache
        From :func:`seqlib.cells.rnn.rnn_forward`.
    k1 : int >= 1
        Block length.
    k2 : int >= k1
        Back-propagation depth measured from each block's end.

    Returns
    -------
    dict
        Keys ``"x"`` (B, T, D), ``"h0"`` (B, H), ``"W_xh"`` (D, H),
        ``"W_hh"`` (H, H), ``"b_h"`` (H,), as :func:`seqlib.cells.rnn.rnn_backward`.
    """
    k1, k2 = _check_k1_k2(k1, k2)
    dh = _check_backward_args(dh, cache)
    return _rnn_backward_tbptt_core(dh, cache, k1, k2)


def _rnn_backward_tbptt_core(dh: Array, cache: RNNCache, k1: int, k2: int) -> dict[str, Array]:
    """:func:`rnn_backward_tbptt` without its checks: trusts a finite (B, T, H) float ``dh`` for
    this ``cache`` and ints ``1 <= k1 <= k2``."""
    dh = np.asarray(dh, dtype=cache.hs.dtype)
    W_hhT = np.ascontiguousarray(cache.W_hh.T)
    g = _backprop_windows(dh, cache.fprime(), W_hhT, _tbptt_windows(dh.shape[1], k1, k2))
    return _param_grads(g, cache)
