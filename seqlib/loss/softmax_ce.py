"""Softmax and cross-entropy, with their gradients: the book's chapter "Cross-Entropy Loss" (chapter 1).

The chain of definitions follows the chapter:

* the softmax turns a vector of logits into class probabilities
  (eq. ``softmax``, eq. ``class_prob``); its log is computed directly and
  stably with the log-sum-exp trick (eq. ``log_softmax``);
* the cross-entropy of one symbol is ``-log softmax(z)[y]``
  (eq. ``ce_loss_none_seq``, eq. ``ce_loss_seq_element``); its gradient with
  respect to the logits is ``softmax(z) - onehot(y)`` (eq. ``ce_grad_logits``);
* the cross-entropy of an input with many labels splits into the entropy of
  its labels and a KL divergence (:func:`entropy_kl_split`).

The sequence loss built on them (chapter "Sequence Loss") is
:mod:`seqlib.loss.seq_loss`; :mod:`seqlib.loss` re-exports both (and the
masks of :mod:`seqlib.loss.masking`).

>>> import numpy as np
>>> p = softmax(np.array([0.0, np.log(3.0)]))
>>> p.round(2)
array([0.25, 0.75])
>>> bool(np.isclose(cross_entropy(np.array([0.0, np.log(3.0)]), 1), -np.log(0.75)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import _describe, as_float_array, as_int_array, check_index_range, check_shape

__all__ = ["softmax", "log_softmax", "cross_entropy", "cross_entropy_backward", "entropy_kl_split"]

Array = np.ndarray


# ---------------------------------------------------------------------------
# softmax and log-softmax
# ---------------------------------------------------------------------------


def _check_axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {_describe(axis)}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis must be in [{-ndim}, {ndim}) for logits with {ndim} axes, got {axis}")
    return int(axis) % ndim


def _as_logits(logits: Any, axis: int = -1) -> tuple[Array, int]:
    z = as_float_array(logits, "logits")
    if z.ndim == 0:
        raise ValueError(f"logits must have at least 1 axis (the classes), got 0-D shape {z.shape}")
    ax = _check_axis(axis, z.ndim)
    if z.shape[ax] == 0:
        raise ValueError(f"logits must have at least one class along axis {axis}, got shape {z.shape}")
    return z, ax


def _log_softmax(z: Array, axis: int) -> Array:
    # Unchecked kernel: z finite, at least one class along ``axis``.
    shifted = z - np.max(z, axis=axis, keepdims=True)  # max entry becomes 0: exp never overflows
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))  # the sum is >= 1


def _softmax(z: Array, axis: int) -> Array:
    # One temporary of z's shape, shifted, exponentiated and normalised in place.
    e = np.subtract(z, np.max(z, axis=axis, keepdims=True))
    np.exp(e, out=e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _nll(z: Array, y: Array) -> Array:
    """``-log softmax(z)[..., y]`` on the last axis, i.e. ``-_pick(_log_softmax(z, -1), y)``.

    Computed as ``log sum exp(z - m) - (z_y - m)`` with one temporary of z's
    shape (the same floating-point operations, so the same bits up to the sign of 0).
    """
    e = np.subtract(z, np.max(z, axis=-1, keepdims=True))
    shifted_y = _pick(e, y)
    np.exp(e, out=e)
    return np.log(np.sum(e, axis=-1)) - shifted_y


def softmax(logits: Array, axis: int = -1) -> Array:
    """Softmax ``exp(z_i) / sum_j exp(z_j)`` along ``axis`` (eq. ``softmax``, eq. ``class_prob``).

    Computed as ``exp(z - max z) / sum exp(z - max z)``: the largest shifted
    logit is 0, so nothing overflows and the denominator is at least 1.
    Logits of +-1e4 give exact 0s and 1s instead of ``nan``.

    Parameters
    ----------
    logits : array_like, shape (..., V, ...), float
        Finite scores; ``V >= 1`` classes along ``axis``.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray, same shape as ``logits``
        Non-negative probabilities summing to 1 along ``axis``.  Float32 input
        stays float32; integer input becomes float64.

    Raises
    ------
    TypeError
        If ``logits`` is not numeric or ``axis`` is not an int.
    ValueError
        If ``logits`` holds NaN/inf, is 0-D, has no class along ``axis``, or
        ``axis`` is out of range.
    """
    z, ax = _as_logits(logits, axis)
    return _softmax(z, ax)


def log_softmax(logits: Array, axis: int = -1) -> Array:
    """Log of the softmax, ``z_i - logsumexp(z)``, along ``axis`` (eq. ``log_softmax``).

    Computed directly with the log-sum-exp trick,
    ``(z - m) - log(sum exp(z - m))`` with ``m = max z``, never as
    ``log(softmax(z))``: the latter gives ``-inf`` once a probability
    underflows to 0, whereas this stays finite (e.g. ``-2e4`` for a logit
    ``2e4`` below the largest).

    Parameters
    ----------
    logits : array_like, shape (..., V, ...), float
        Finite scores; ``V >= 1`` classes along ``axis``.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray, same shape as ``logits``
        Log-probabilities, all ``<= 0``, with ``logsumexp == 0`` along ``axis``.

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax`.
    """
    z, ax = _as_logits(logits, axis)
    return _log_softmax(z, ax)


# ---------------------------------------------------------------------------
# per-example cross-entropy
# ---------------------------------------------------------------------------


def _check_targets(targets: Any, V: int) -> Array:
    """``targets`` as an int array with every entry in ``[0, V)``."""
    y = as_int_array(targets, "targets")
    check_index_range(y, "targets", V, f"class indices in [0, V) = [0, {V}) for logits with V={V} classes")
    return y


def _pick(a: Array, y: Array) -> Array:
    """``a[..., y]`` entry by entry: ``out[i] = a[i, y[i]]``."""
    return np.take_along_axis(a, y[..., None], axis=-1)[..., 0]


def _ce_and_grad_inputs(logits: Any, targets: Any) -> tuple[Array, Array]:
    z, _ = _as_logits(logits, -1)
    dims: dict[str, int] = {}
    lead = tuple(f"d{i}" for i in range(z.ndim - 1))
    check_shape(z, "logits", lead + ("V",), dims)
    y = as_int_array(targets, "targets")
    check_shape(y, "targets", lead, dims)
    return z, _check_targets(y, z.shape[-1])


def cross_entropy(logits: Array, targets: Array) -> Array:
    """Per-example cross-entropy ``-log softmax(z)[y]`` (eq. ``ce_loss_none_seq``).

    Parameters
    ----------
    logits : array_like, shape (..., V), float
        Finite scores, classes on the last axis.
    targets : array_like, shape (...), int
        The true class of each example, in ``[0, V)``.  Integral floats are
        accepted.

    Returns
    -------
    ndarray, shape (...)
        ``-log p(y | z) >= 0`` for each example, finite for finite logits
        (computed from :func:`log_softmax`).

    Raises
    ------
    TypeError
        If ``targets`` holds non-integers or ``logits`` is not numeric.
    ValueError
        If the shapes disagree, ``logits`` holds NaN/inf, or a target is
        outside ``[0, V)`` (the message gives the value and ``V``).

    Examples
    --------
    >>> import numpy as np
    >>> float(cross_entropy(np.zeros(4), 2)) == float(np.log(4))
    True
    """
    z, y = _ce_and_grad_inputs(logits, targets)
    return _nll(z, y)


def cross_entropy_backward(logits: Array, targets: Array, upstream: Array | None = None) -> Array:
    """Gradient of :func:`cross_entropy` w.r.t. the logits: ``softmax(z) - onehot(y)`` (eq. ``ce_grad_logits``).

    Parameters
    ----------
    logits : array_like, shape (..., V), float
    targets : array_like, shape (...), int in ``[0, V)``
    upstream : array_like, shape (...), optional
        ``dL/dloss`` for each example; default ones.  The result is
        ``upstream[..., None] * (softmax(z) - onehot(y))``.

    Returns
    -------
    ndarray, shape (..., V)
        Each row sums to 0 (times ``upstream``) and lies in ``[-1, 1]``.

    Raises
    ------
    TypeError, ValueError
        As :func:`cross_entropy`; also if ``upstream`` has the wrong shape or
        holds NaN/inf.
    """
    z, y = _ce_and_grad_inputs(logits, targets)
    g = _softmax(z, -1)
    np.put_along_axis(g, y[..., None], _pick(g, y)[..., None] - 1.0, axis=-1)
    if upstream is not None:
        u = as_float_array(upstream, "upstream")
        if u.shape != y.shape:
            raise ValueError(f"upstream must have the shape of targets {y.shape}, got {u.shape}")
        g = g * u[..., None]
    return g


def entropy_kl_split(logits: Array, counts: Array) -> tuple[Array, Array]:
    """Split the cross-entropy of each input into the entropy of its labels and a KL divergence.

    Input ``n`` occurs ``counts[n].sum()`` times in a data set, with label
    ``v`` ``counts[n, v]`` times; its label distribution is
    ``q_n = counts[n] / counts[n].sum()`` and the model's prediction is
    ``p_n = softmax(logits[n])``.  The mean loss of its examples is the
    cross-entropy ``H(q_n, p_n) = H(q_n) + KL(q_n || p_n)``: the first term
    belongs to the data, only the second depends on the model.

    Parameters
    ----------
    logits : array_like, shape (N, V), float
        Finite logits, one row per distinct input.
    counts : array_like, shape (N, V)
        Non-negative label counts; every row must have a positive sum.

    Returns
    -------
    H : ndarray, shape (N,)
        The entropy ``-sum_v q_v log q_v`` of each input's labels, in nats,
        with ``0 log 0 = 0``.
    KL : ndarray, shape (N,)
        ``sum_v q_v (log q_v - log p_v) >= 0``, in nats.

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        If the shapes differ or are not 2-D, an entry is NaN or inf, a count
        is negative, or a row of counts sums to 0.

    Examples
    --------
    >>> import numpy as np
    >>> H, KL = entropy_kl_split(np.zeros((1, 2)), [[5, 5]])   # a coin flip
    >>> bool(np.isclose(H[0], np.log(2))), float(KL[0])
    (True, 0.0)
    """
    z = as_float_array(logits, "logits", ndim=2)
    n = as_float_array(counts, "counts", ndim=2)
    dims: dict[str, int] = {}
    check_shape(z, "logits", ("N", "V"), dims)
    check_shape(n, "counts", ("N", "V"), dims)
    if z.shape[1] == 0:
        raise ValueError(f"logits must have at least one class, got shape {z.shape}")
    if (n < 0).any():
        raise ValueError(f"counts must be non-negative, got a minimum of {n.min()!r}")
    totals = n.sum(axis=1, keepdims=True)
    if (totals <= 0).any():
        raise ValueError(f"every row of counts must have a positive sum, got row sums {totals[:, 0]}")
    q = n / totals
    seen = q > 0
    log_q = np.log(np.where(seen, q, 1.0))               # 0 log 0 = 0
    q_log_q = np.where(seen, q * log_q, 0.0)
    H = -q_log_q.sum(axis=1)
    KL = (q_log_q - q * _log_softmax(z, 1)).sum(axis=1)
    return H, KL
