"""Attention over the positions of a source: scores, masked softmax, context, attentional state.

Row vectors and batch-major arrays, as everywhere in :mod:`seqlib`.  A batch
of B sources, padded to M positions, is given by its annotations (keys)
h_j, an array (B, M, K), and a mask m_j (B, M) that is 1 at real positions
and 0 at padding.  Each of L queries s_l, an array (B, L, Q), scores every
position, the scores become weights by a softmax over the real positions,
and the weights average the annotations::

    additive:  e_lj = tanh(s_l W_a + h_j U_a + b_a) v_a          (eq. ``att_score_additive``)
    general:   e_lj = s_l W_a h_j^T                               (eq. ``att_score_general``)
    α_lj = m_j exp(e_lj) / Σ_k m_k exp(e_lk)                     (eq. ``att_weights``)
    c_l  = Σ_j α_lj h_j                                           (eq. ``att_context``)
    h̃_l  = tanh([c_l, s_l] W_c + b_c)                             (eq. ``att_hidden``)

Where the equations come from:

* The weights and the context are eqs. (6) and (5) of Bahdanau, Cho & Bengio
  (2015), with the softmax restricted to real positions: a padded position
  gets weight exactly 0 (its score is never exponentiated).
* The additive score is their alignment model, a one-hidden-layer
  perceptron (App. A.1.2): ``a(s_{i-1}, h_j) = v_a^T tanh(W_a s_{i-1} + U_a h_j)``
  with ``W_a`` n x n, ``U_a`` n x 2n and ``v_a`` of size n (A.2.2 writes n'
  for the perceptron's size, 1000 in their experiments); here in row form
  (W_a and U_a are their matrices transposed), with the size A free and a
  bias b_a (A.2.1 omits every bias "to increase readability").  "Since
  U_a h_j does not depend on i, we can pre-compute it" (A.1.2):
  :func:`project_keys`.  Bahdanau et al. score with the decoder
  state *before* the step, s_{i-1}; which state is the query is the model's
  choice, not this module's (:mod:`seqlib.attention.model` uses the state
  after the step, as Luong et al. do).
* The general score is ``score(h_t, h̄_s) = h_t^T W_a h̄_s`` of Luong, Pham &
  Manning (2015, §3.1), one of their three content-based scores (dot,
  general, concat); W_a is Q x K here, so query and annotations may differ
  in size (an annotation of a bidirectional encoder is twice as wide).
* The attentional hidden state is their eq. (5), ``h̃_t = tanh(W_c [c_t; h_t])``,
  here with a bias; their eq. (6) reads the output distribution off h̃_t.

The backward passes, derived by hand (each function names its equations):

* ``att_grad_hidden``: g_l = dh̃_l ⊙ (1 - h̃_l²); dW_c = Σ_l [c_l, s_l]^T g_l;
  db_c = Σ_l g_l; [dc_l, ds_l] = g_l W_c^T.
* ``att_grad_context``: ∂L/∂α_lj = dc_l · h_j, and dh_j gains Σ_l α_lj dc_l.
* ``att_grad_softmax``: ∂L/∂e_lj = α_lj (∂L/∂α_lj - Σ_k α_lk ∂L/∂α_lk), which
  is 0 wherever α_lj = 0, so padding passes no gradient.
* ``att_grad_additive``: with u_lj = tanh(z_lj), z_lj = s_l W_a + h_j U_a + b_a,
  g_lj = (∂L/∂e_lj) v_a ⊙ (1 - u_lj²); dv_a = Σ_lj (∂L/∂e_lj) u_lj;
  db_a = Σ_lj g_lj; ds_l = (Σ_j g_lj) W_a^T; dW_a = Σ_l s_l^T Σ_j g_lj;
  dh_j gains (Σ_l g_lj) U_a^T; dU_a = Σ_j h_j^T Σ_l g_lj.
* ``att_grad_general``: with P_l = s_l W_a, ds_l = (Σ_j ∂L/∂e_lj h_j) W_a^T;
  dW_a = Σ_l s_l^T Σ_j ∂L/∂e_lj h_j; dh_j gains Σ_l ∂L/∂e_lj P_l.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .._validate import _describe, as_float_array, check_positive_int, check_shape
from ..cells.init import _as_dtype, _as_rng, glorot_uniform

__all__ = [
    "SCORES", "ATTENTION_PARAMS", "init_attention_params", "check_mask", "project_keys", "attention_scores",
    "masked_softmax", "masked_softmax_backward", "AttentionCache", "attention_forward", "attention_backward",
    "HiddenCache", "attentional_hidden_forward", "attentional_hidden_backward",
]

Array = np.ndarray

#: The two score functions: Bahdanau et al.'s additive one and Luong et al.'s "general" one.
SCORES = ("additive", "general")
#: The parameters of each score function.
ATTENTION_PARAMS: dict[str, tuple[str, ...]] = {"additive": ("W_a", "U_a", "b_a", "v_a"), "general": ("W_a",)}


def _check_score(score: object) -> str:
    if not isinstance(score, str) or score not in SCORES:
        raise ValueError(f"score must be 'additive' (Bahdanau et al. 2015) or 'general' "
                         f"(Luong et al. 2015), got {score!r}")
    return score


def init_attention_params(Q: int, K: int, A: int | None = None, *, score: str = "additive",
                          rng: np.random.Generator | int, dtype: object = np.float64) -> dict[str, Array]:
    """Seeded parameters of a score function.

    Parameters
    ----------
    Q, K : int
        Sizes of a query s_l and of an annotation h_j.
    A : int, optional
        Hidden size of the additive score's perceptron (required for ``"additive"``,
        unused for ``"general"``).
    score : {"additive", "general"}, keyword-only
    rng : numpy.random.Generator or int
    dtype : float32 or float64

    Returns
    -------
    dict
        ``"additive"``: ``W_a`` (Q, A) and ``U_a`` (K, A) Glorot-uniform,
        ``b_a`` (A,) zero, ``v_a`` (A,) Glorot-uniform as an (A, 1) matrix.
        ``"general"``: ``W_a`` (Q, K) Glorot-uniform.  (Bahdanau et al., App.
        B.1, start ``v_a`` at 0 and ``W_a``, ``U_a`` at N(0, 0.001²); a zero
        ``v_a`` gives ``W_a`` and ``U_a`` no gradient on the first step, so the
        draws here are the book's usual Glorot ones.)
    """
    score = _check_score(score)
    Q = check_positive_int(Q, "Q")
    K = check_positive_int(K, "K")
    dt = _as_dtype(dtype)
    rng = _as_rng(rng)
    if score == "general":
        return {"W_a": glorot_uniform(Q, K, rng=rng).astype(dt)}
    A = check_positive_int(A, "A")
    return {"W_a": glorot_uniform(Q, A, rng=rng).astype(dt), "U_a": glorot_uniform(K, A, rng=rng).astype(dt),
            "b_a": np.zeros(A, dt), "v_a": glorot_uniform(A, 1, rng=rng)[:, 0].astype(dt)}


def _check_params(params: Mapping[str, Any], score: str, dims: dict[str, int],
                  prefix: str = "params") -> dict[str, Array]:
    """The score's parameters as float arrays, shapes checked against Q and K in ``dims`` (binds A)."""
    if not isinstance(params, Mapping):
        raise TypeError(f"{prefix} must be a dict name -> array, got {_describe(params)}")
    missing = [k for k in ATTENTION_PARAMS[score] if k not in params]
    if missing:
        raise ValueError(f"{prefix} is missing {missing} for score={score!r} (see init_attention_params)")
    p = {k: as_float_array(params[k], f"{prefix}[{k!r}]") for k in ATTENTION_PARAMS[score]}
    if score == "general":
        check_shape(p["W_a"], f"{prefix}['W_a']", ("Q", "K"), dims)
    else:
        check_shape(p["W_a"], f"{prefix}['W_a']", ("Q", "A"), dims)
        check_shape(p["U_a"], f"{prefix}['U_a']", ("K", "A"), dims)
        check_shape(p["b_a"], f"{prefix}['b_a']", ("A",), dims)
        check_shape(p["v_a"], f"{prefix}['v_a']", ("A",), dims)
    return p


def check_mask(mask: Any, shape: tuple[int, int], name: str = "mask") -> Array:
    """``mask`` (B, M) as a bool array, checked: only 0/1 (or booleans) and at least one 1 per row.

    Raises
    ------
    TypeError
        A non-numeric mask.
    ValueError
        A wrong shape, a value other than 0 and 1, or a row with no real
        position (the message names the row: attention over nothing is undefined).
    """
    if isinstance(mask, (str, bytes)) or mask is None:
        raise TypeError(f"{name} must be a (B, M) array of 0/1 or booleans, got {_describe(mask)}")
    m = np.asarray(mask)
    if m.dtype == object or not (m.dtype == np.bool_ or np.issubdtype(m.dtype, np.number)):
        raise TypeError(f"{name} must be a (B, M) array of 0/1 or booleans, got {_describe(mask)}")
    if m.shape != tuple(shape):
        raise ValueError(f"{name} must have shape (B, M) = {tuple(shape)}, got {m.shape}")
    if m.dtype != np.bool_:
        if np.iscomplexobj(m) or not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must hold only 0 and 1 (1 = a real position, 0 = padding), "
                             f"got other values in dtype {m.dtype}")
        m = m != 0
    empty = ~m.any(axis=1)
    if np.any(empty):
        b = int(np.argmax(empty))
        raise ValueError(f"{name}[{b}] must mark at least one real source position, got a row of zeros "
                         f"({int(empty.sum())} such row(s)): attention over no position is undefined")
    return m


def project_keys(keys: Array, params: Mapping[str, Array], score: str = "additive") -> Array:
    """The part of the score that depends on the annotations only, computed once per source.

    ``"additive"``: h_j U_a (B, M, A), Bahdanau et al.'s precomputation (App. A.1.2).
    ``"general"``: h_j W_a^T (B, M, Q), so that e_lj = s_l · (h_j W_a^T).
    """
    score = _check_score(score)
    keys = as_float_array(keys, "keys")
    dims: dict[str, int] = {}
    check_shape(keys, "keys", ("B", "M", "K"), dims)
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict name -> array, got {_describe(params)}")
    name = "W_a" if score == "general" else "U_a"
    if name not in params:
        raise ValueError(f"params is missing [{name!r}] for score={score!r} (see init_attention_params)")
    W = as_float_array(params[name], f"params[{name!r}]")
    check_shape(W, f"params[{name!r}]", ("Q", "K") if score == "general" else ("K", "A"), dims)
    return _project_keys_core(keys, {name: W}, score)


def _project_keys_core(keys: Array, p: Mapping[str, Array], score: str) -> Array:
    """:func:`project_keys` without its checks."""
    return keys @ p["W_a"].T if score == "general" else keys @ p["U_a"]


def attention_scores(query: Array, keys: Array, params: Mapping[str, Array], score: str = "additive", *,
                     keys_proj: Array | None = None) -> Array:
    """The scores e_lj (B, L, M) (eq. ``att_score_additive`` or ``att_score_general``), no mask applied.

    Parameters as :func:`attention_forward`.
    """
    e, _ = _scores(*_check_inputs(query, keys, None, params, score, keys_proj))
    return e


def _check_inputs(query, keys, mask, params, score, keys_proj):
    score = _check_score(score)
    query = as_float_array(query, "query")
    keys = as_float_array(keys, "keys")
    dims: dict[str, int] = {}
    check_shape(query, "query", ("B", "L", "Q"), dims)
    check_shape(keys, "keys", ("B", "M", "K"), dims)
    if min(dims.values()) < 1:
        raise ValueError(f"query and keys must have B, L, M, Q, K >= 1, got query {query.shape} and keys {keys.shape}")
    p = _check_params(params, score, dims)
    m = None if mask is None else check_mask(mask, (dims["B"], dims["M"]))
    if keys_proj is not None:
        keys_proj = as_float_array(keys_proj, "keys_proj")
        check_shape(keys_proj, "keys_proj", ("B", "M", "A" if score == "additive" else "Q"), dims)
    dtype = np.result_type(query, keys, *p.values())
    query, keys = query.astype(dtype, copy=False), keys.astype(dtype, copy=False)
    p = {k: v.astype(dtype, copy=False) for k, v in p.items()}
    if keys_proj is not None:
        keys_proj = keys_proj.astype(dtype, copy=False)
    return query, keys, m, p, score, keys_proj


def _scores(query, keys, m, p, score, keys_proj):
    """Scores (B, L, M) and what the backward pass needs: u (additive) or P = s W_a (general)."""
    if score == "general":
        if keys_proj is None:
            P = query @ p["W_a"]  # (B, L, K)
            return P @ keys.transpose(0, 2, 1), P  # (eq. att_score_general)
        return query @ keys_proj.transpose(0, 2, 1), None
    kU = keys @ p["U_a"] if keys_proj is None else keys_proj  # (B, M, A), once per source
    z = (query @ p["W_a"])[:, :, None, :] + kU[:, None, :, :]  # (B, L, M, A)
    z += p["b_a"]
    np.tanh(z, out=z)
    return z @ p["v_a"], z  # (eq. att_score_additive)


def masked_softmax(scores: Array, mask: Array) -> Array:
    """Softmax over the last axis restricted to real positions (eq. ``att_weights``).

    Parameters
    ----------
    scores : array_like (B, L, M)
        The scores e_lj; values at padded positions are ignored (they may be
        anything finite).
    mask : array_like (B, M)
        1 (or True) at real positions, 0 at padding; every row needs a 1.

    Returns
    -------
    ndarray (B, L, M)
        α_lj: 0 exactly at padded positions, each row summing to 1 over the
        real ones.  The largest real score is subtracted first, so no
        exponential overflows.
    """
    e = as_float_array(scores, "scores")
    dims: dict[str, int] = {}
    check_shape(e, "scores", ("B", "L", "M"), dims)
    m = check_mask(mask, (dims["B"], dims["M"]))
    return _masked_softmax(e, m)


def _masked_softmax(e: Array, m: Array) -> Array:
    real = m[:, None, :]
    shifted = np.where(real, e, -np.inf)
    shifted -= shifted.max(axis=2, keepdims=True)  # every row has a real position: the max is finite
    w = np.exp(shifted)  # exp(-inf) = 0 exactly at padding
    w /= w.sum(axis=2, keepdims=True)
    return w


def masked_softmax_backward(dweights: Array, weights: Array) -> Array:
    """∂L/∂e from ∂L/∂α through :func:`masked_softmax` (eq. ``att_grad_softmax``).

    ``∂L/∂e_lj = α_lj (∂L/∂α_lj - Σ_k α_lk ∂L/∂α_lk)``: zero wherever α_lj is,
    so a padded position passes no gradient to its score.

    Parameters
    ----------
    dweights : array_like (B, L, M)
    weights : array_like (B, L, M)
        The output of :func:`masked_softmax`.
    """
    w = as_float_array(weights, "weights")
    dims: dict[str, int] = {}
    check_shape(w, "weights", ("B", "L", "M"), dims)
    dw = as_float_array(dweights, "dweights")
    check_shape(dw, "dweights", ("B", "L", "M"), dims)
    return _softmax_back(dw, w)


def _softmax_back(dw: Array, w: Array) -> Array:
    return w * (dw - np.sum(w * dw, axis=2, keepdims=True))


@dataclass(frozen=True)
class AttentionCache:
    """What :func:`attention_forward` keeps for :func:`attention_backward`.

    Attributes
    ----------
    score : {"additive", "general"}
    query : ndarray (B, L, Q)
    keys : ndarray (B, M, K)
    mask : ndarray (B, M) bool
    weights : ndarray (B, L, M)
        α_lj (eq. ``att_weights``).
    params : dict
        The score's parameters, in the common dtype.
    hidden : ndarray or None
        ``"additive"``: u_lj = tanh(s_l W_a + h_j U_a + b_a), (B, L, M, A);
        ``"general"``: P_l = s_l W_a, (B, L, K) (None if ``keys_proj`` was given).
    """

    score: str
    query: Array = field(repr=False)
    keys: Array = field(repr=False)
    mask: Array = field(repr=False)
    weights: Array = field(repr=False)
    params: dict = field(repr=False)
    hidden: Array | None = field(repr=False)


def attention_forward(query: Array, keys: Array, mask: Array, params: Mapping[str, Array], *,
                      score: str = "additive", keys_proj: Array | None = None
                      ) -> tuple[Array, Array, AttentionCache]:
    """Scores, masked weights and context vectors of L queries over M source positions.

    Implements eqs. ``att_score_additive`` (or ``att_score_general``),
    ``att_weights`` and ``att_context``.

    Parameters
    ----------
    query : array_like (B, L, Q)
        The queries s_l (one per target position; L = 1 for one decoding step).
    keys : array_like (B, M, K)
        The annotations h_j, which are also averaged (keys = values).
    mask : array_like (B, M)
        1 at real source positions, 0 at padding (see :func:`check_mask`).
    params : dict
        The score's parameters (:func:`init_attention_params`): ``W_a``
        (Q, A), ``U_a`` (K, A), ``b_a`` (A,), ``v_a`` (A,) for ``"additive"``;
        ``W_a`` (Q, K) for ``"general"``.
    score : {"additive", "general"}, keyword-only
    keys_proj : array_like, optional, keyword-only
        :func:`project_keys` of ``keys`` (B, M, A) or (B, M, Q), reused across
        decoding steps; then :func:`attention_backward` is not available.

    Returns
    -------
    context : ndarray (B, L, K)
        c_l = Σ_j α_lj h_j.
    weights : ndarray (B, L, M)
        α_lj, exactly 0 at padded positions.
    cache : AttentionCache

    Raises
    ------
    TypeError, ValueError
        Non-numeric or non-finite inputs, shapes that disagree, a mask that is
        not 0/1 or has a row with no real position (the message names the
        argument, its shape and what was expected).
    """
    return _attention_forward_core(*_check_inputs(query, keys, mask, params, score, keys_proj))


def _attention_forward_core(query: Array, keys: Array, m: Array, p: Mapping[str, Array], score: str,
                            keys_proj: Array | None = None) -> tuple[Array, Array, AttentionCache]:
    """:func:`attention_forward` without its checks: trusts finite float arrays of agreeing shapes, a
    bool mask ``m`` (B, M) with a real position in every row, and the score's parameters ``p``."""
    e, hidden = _scores(query, keys, m, p, score, keys_proj)
    w = _masked_softmax(e, m)
    context = w @ keys  # (eq. att_context)
    return context, w, AttentionCache(score, query, keys, m, w, p, None if keys_proj is not None else hidden)


def attention_backward(dcontext: Array, cache: AttentionCache, dweights: Array | None = None) -> dict[str, Array]:
    """Gradients through :func:`attention_forward`.

    Implements eqs. ``att_grad_context``, ``att_grad_softmax`` and
    ``att_grad_additive`` (or ``att_grad_general``).

    Parameters
    ----------
    dcontext : array_like (B, L, K)
        ∂L/∂c_l.
    cache : AttentionCache
        From :func:`attention_forward` called without ``keys_proj``.
    dweights : array_like (B, L, M), optional
        A gradient that reaches the weights α_lj directly (e.g. from a penalty
        on them), added to the one through the context.

    Returns
    -------
    dict
        ``"query"`` (B, L, Q), ``"keys"`` (B, M, K) (0 at padded positions),
        and one entry per parameter of the score, same shapes as ``params``.
    """
    if not isinstance(cache, AttentionCache):
        raise TypeError(f"cache must be the AttentionCache returned by attention_forward, got {type(cache).__name__}")
    if cache.hidden is None:
        raise ValueError("cache comes from attention_forward with keys_proj: call it without keys_proj to "
                         "differentiate (the projection's own gradient is not kept)")
    B, L, _ = cache.query.shape
    M, K = cache.keys.shape[1:]
    dc = as_float_array(dcontext, "dcontext")
    check_shape(dc, "dcontext", ("B", "L", "K"), {"B": B, "L": L, "K": K})
    extra = None
    if dweights is not None:
        extra = as_float_array(dweights, "dweights")
        check_shape(extra, "dweights", ("B", "L", "M"), {"B": B, "L": L, "M": M})
    return _attention_backward_core(dc, cache, extra)


def _attention_backward_core(dc: Array, cache: AttentionCache, extra: Array | None = None) -> dict[str, Array]:
    """:func:`attention_backward` without its checks: trusts a finite ``dc`` (B, L, K) and a cache
    made without ``keys_proj``."""
    q, k, w, p = cache.query, cache.keys, cache.weights, cache.params
    Q = q.shape[2]
    K = k.shape[2]
    dc = dc.astype(w.dtype, copy=False)
    dk = np.matmul(w.transpose(0, 2, 1), dc)  # Σ_l α_lj dc_l   (eq. att_grad_context)
    dw = dc @ k.transpose(0, 2, 1)  # ∂L/∂α_lj = dc_l · h_j
    if extra is not None:
        dw = dw + extra.astype(w.dtype, copy=False)
    de = _softmax_back(dw, w)  # (eq. att_grad_softmax)
    grads: dict[str, Array] = {}
    if cache.score == "general":  # (eq. att_grad_general)
        P = cache.hidden
        dP = de @ k  # (B, L, K)
        dk += de.transpose(0, 2, 1) @ P
        grads["query"] = dP @ p["W_a"].T
        grads["W_a"] = q.reshape(-1, Q).T @ dP.reshape(-1, K)
    else:  # (eq. att_grad_additive)
        u = cache.hidden  # (B, L, M, A)
        A = u.shape[-1]
        grads["v_a"] = np.einsum("blm,blma->a", de, u)
        g = 1.0 - u * u
        g *= de[..., None]
        g *= p["v_a"]
        g_l = g.sum(axis=2)  # (B, L, A): Σ_j g_lj
        g_j = g.sum(axis=1)  # (B, M, A): Σ_l g_lj
        grads["b_a"] = g_l.sum(axis=(0, 1))
        grads["query"] = g_l @ p["W_a"].T
        grads["W_a"] = q.reshape(-1, Q).T @ g_l.reshape(-1, A)
        dk += g_j @ p["U_a"].T
        grads["U_a"] = k.reshape(-1, K).T @ g_j.reshape(-1, A)
    # No special case for padding: a padded position's weight is exactly 0, so its context term
    # (0 * dc) and its score gradient (eq. att_grad_softmax: alpha_lj * (...)) are exact zeros
    # (up to the sign of zero), and so is every term built from them.
    grads["keys"] = dk
    return grads


# ----------------------------------------------------------------------------- attentional hidden state


@dataclass(frozen=True)
class HiddenCache:
    """What :func:`attentional_hidden_forward` keeps: the input rows ``[c_l, s_l]``, ``W_c`` and h̃."""

    x: Array = field(repr=False)
    W_c: Array = field(repr=False)
    h_tilde: Array = field(repr=False)
    K: int


def attentional_hidden_forward(context: Array, query: Array, W_c: Array, b_c: Array) -> tuple[Array, HiddenCache]:
    """Luong et al.'s attentional hidden state h̃_l = tanh([c_l, s_l] W_c + b_c) (eq. ``att_hidden``).

    Parameters
    ----------
    context : array_like (..., K)
        c_l from :func:`attention_forward`.
    query : array_like (..., Q)
        The decoder state s_l that attended (same leading axes).
    W_c : array_like (K + Q, H)
        Rows 0..K-1 act on the context, rows K.. on the state.
    b_c : array_like (H,)

    Returns
    -------
    h_tilde : ndarray (..., H)
    cache : HiddenCache
    """
    c = as_float_array(context, "context")
    s = as_float_array(query, "query")
    if c.ndim < 1 or s.ndim != c.ndim or c.shape[:-1] != s.shape[:-1]:
        raise ValueError(f"context (..., K) and query (..., Q) must share their leading axes, "
                         f"got {c.shape} and {s.shape}")
    K, Q = c.shape[-1], s.shape[-1]
    W_c = as_float_array(W_c, "W_c")
    b_c = as_float_array(b_c, "b_c")
    dims = {"K+Q": K + Q}
    check_shape(W_c, "W_c", ("K+Q", "H"), dims)
    check_shape(b_c, "b_c", ("H",), dims)
    return _hidden_forward_core(c, s, W_c, b_c)


def _hidden_forward_core(c: Array, s: Array, W_c: Array, b_c: Array) -> tuple[Array, HiddenCache]:
    """:func:`attentional_hidden_forward` without its checks: trusts finite float arrays of agreeing shapes."""
    K = c.shape[-1]
    dtype = np.result_type(c, s, W_c, b_c)
    x = np.concatenate((c, s), axis=-1).astype(dtype, copy=False)
    h = x @ W_c.astype(dtype, copy=False)
    h += b_c
    np.tanh(h, out=h)  # (eq. att_hidden)
    return h, HiddenCache(x, W_c.astype(dtype, copy=False), h, K)


def attentional_hidden_backward(dh_tilde: Array, cache: HiddenCache) -> dict[str, Array]:
    """Gradients through :func:`attentional_hidden_forward` (eq. ``att_grad_hidden``).

    Returns
    -------
    dict
        ``"context"`` (..., K), ``"query"`` (..., Q), ``"W_c"`` (K + Q, H), ``"b_c"`` (H,).
    """
    if not isinstance(cache, HiddenCache):
        raise TypeError(f"cache must be the HiddenCache returned by attentional_hidden_forward, "
                        f"got {type(cache).__name__}")
    d = as_float_array(dh_tilde, "dh_tilde")
    if d.shape != cache.h_tilde.shape:
        raise ValueError(f"dh_tilde must have the shape of h_tilde, {cache.h_tilde.shape}, got {d.shape}")
    return _hidden_backward_core(d, cache)


def _hidden_backward_core(d: Array, cache: HiddenCache) -> dict[str, Array]:
    """:func:`attentional_hidden_backward` without its checks: trusts a finite ``d`` of h̃'s shape."""
    g = d.astype(cache.h_tilde.dtype, copy=False) * (1.0 - cache.h_tilde * cache.h_tilde)
    H = g.shape[-1]
    dx = g @ cache.W_c.T
    return {"context": dx[..., :cache.K], "query": dx[..., cache.K:],
            "W_c": cache.x.reshape(-1, cache.x.shape[-1]).T @ g.reshape(-1, H), "b_c": g.reshape(-1, H).sum(axis=0)}
