"""The weighted sequence loss, its masks and normalisations: the book's chapter "Sequence Loss" (chapter 3).

The chain of definitions follows the chapter, on top of the softmax and the
cross-entropy of one symbol (:mod:`seqlib.loss.softmax_ce`, chapter "Cross-Entropy Loss"):

* a sequence's probability factorises over time steps
  (eq. ``seq_prob``, eq. ``seq_prob_assumption``), so its cross-entropy is a
  sum of per-token terms (eq. ``ce_loss_seq``, :func:`token_cross_entropy`);
* :func:`sequence_loss` weights those per-token terms (padding gets weight 0)
  and normalises them exactly as TensorFlow Addons'
  ``tfa.seq2seq.sequence_loss`` does (eq. ``seq_loss_weighted``);
  :func:`sequence_loss_backward` is its vector-Jacobian product
  (eq. ``seq_loss_grad``), :func:`sequence_loss_and_grad` both from one
  softmax, as a training step wants them;
* :func:`loss_denominator` and :func:`sequence_loss_normalized` put the
  normalisation conventions side by side.

>>> import numpy as np
>>> logits = np.zeros((2, 3, 4))                  # uniform over V = 4 symbols
>>> targets = np.array([[0, 1, 2], [3, 0, 0]])
>>> weights = np.array([[1., 1., 1.], [1., 0., 0.]])  # second sequence has length 1
>>> bool(np.isclose(sequence_loss(logits, targets, weights), np.log(4)))
True
>>> sequence_loss(logits, targets, weights, average_across_batch=False).shape
(2,)
>>> sequence_loss_backward(logits, targets, weights).shape
(2, 3, 4)
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np

from .._layout import rows, unrows
from .._validate import _describe, as_float_array, as_int_array, check_choice, check_shape
from .softmax_ce import _check_targets, _nll, _pick, _softmax
from ..workspace import Workspace, check_workspace, empty

__all__ = [
    "token_cross_entropy",
    "sequence_loss",
    "sequence_loss_backward",
    "sequence_loss_and_grad",
    "LOSS_CONVENTIONS",
    "loss_denominator",
    "sequence_loss_normalized",
]

Array = np.ndarray
SoftmaxLossFn = Callable[..., Any]

#: The normalisations understood by :func:`loss_denominator` and
#: :func:`sequence_loss_normalized`.
LOSS_CONVENTIONS = ("tfa", "nonzero", "batch", "torch")


# ---------------------------------------------------------------------------
# the sequence loss (tfa.seq2seq.sequence_loss)
# ---------------------------------------------------------------------------


_FLAG_NAMES = ("average_across_timesteps", "average_across_batch", "sum_over_timesteps", "sum_over_batch")


def _check_flags(avg_t: Any, avg_b: Any, sum_t: Any, sum_b: Any) -> None:
    for name, val in zip(_FLAG_NAMES, (avg_t, avg_b, sum_t, sum_b)):
        if not isinstance(val, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {_describe(val)}")
    # Same checks, same order and same wording as tfa.seq2seq.sequence_loss.
    if avg_t and sum_t:
        raise ValueError("average_across_timesteps and sum_over_timesteps cannot be set to True at same time.")
    if avg_b and sum_b:
        raise ValueError("average_across_batch and sum_over_batch cannot be set to True at same time.")
    if avg_b and sum_t:
        raise ValueError(
            "average_across_batch and sum_over_timesteps cannot be set to True at same time "
            "because of ambiguous order."
        )
    if sum_b and avg_t:
        raise ValueError(
            "sum_over_batch and average_across_timesteps cannot be set to True at same time "
            "because of ambiguous order."
        )


def _seq_inputs(logits: Any, targets: Any, weights: Any) -> tuple[Array, Array, Array]:
    z, y, w = _seq_inputs_opt(logits, targets, weights)
    assert w is not None
    return z, y, w


def _seq_inputs_opt(logits: Any, targets: Any, weights: Any | None) -> tuple[Array, Array, Array | None]:
    """Validated ``(logits (B,T,V), targets (B,T) in [0,V), weights (B,T) or None)``."""
    z = as_float_array(logits, "logits")
    dims: dict[str, int] = {}
    check_shape(z, "logits", ("B", "T", "V"), dims)
    if dims["V"] == 0:
        raise ValueError(f"logits must have at least one class (V >= 1), got shape {z.shape}")
    y = as_int_array(targets, "targets")
    check_shape(y, "targets", ("B", "T"), dims)
    w = None
    if weights is not None:
        w = as_float_array(weights, "weights")
        check_shape(w, "weights", ("B", "T"), dims)
    return z, _check_targets(y, dims["V"]), w


def _divide_no_nan(x: Array, y: Array) -> Array:
    """``x / y`` where ``y != 0``, else 0 (``tf.math.divide_no_nan``)."""
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    dtype = np.result_type(x, y, np.float32)
    out = np.zeros(x.shape, dtype=dtype)
    np.divide(x, y, out=out, where=y != 0)
    return out


def _reduction(w: Array, avg_t: bool, avg_b: bool, sum_t: bool, sum_b: bool) -> tuple[tuple[int, ...], Array | None]:
    """Which axes :func:`sequence_loss` sums and what it divides by.

    Returns ``(axes, denominator)``; ``denominator`` is ``None`` for the
    unreduced ``(B, T)`` output.  Mirrors the ``if/elif`` of tfa's code.
    """
    if avg_t and avg_b:
        return (0, 1), np.sum(w)
    if sum_t and sum_b:
        return (0, 1), np.asarray(np.count_nonzero(w), dtype=w.dtype)
    if avg_t or avg_b:
        ax = 0 if avg_b else 1
        return (ax,), np.sum(w, axis=ax)
    if sum_t or sum_b:
        ax = 0 if sum_b else 1
        return (ax,), np.count_nonzero(w, axis=ax).astype(w.dtype)
    return (), None


def _per_token(z: Array, y: Array, softmax_loss_function: SoftmaxLossFn | None) -> Array:
    B, T, V = z.shape
    if softmax_loss_function is None:
        return _nll(z, y)
    if not callable(softmax_loss_function):
        raise TypeError(f"softmax_loss_function must be callable or None, got {_describe(softmax_loss_function)}")
    out = softmax_loss_function(labels=y.reshape(-1), logits=z.reshape(-1, V))
    name = "softmax_loss_function(labels, logits)"
    out = as_float_array(out, name)
    if out.shape != (B * T,):
        raise ValueError(f"{name} must return shape (B*T,) = ({B * T},), got {out.shape}")
    return out.reshape(B, T)


def token_cross_entropy(logits: Array, targets: Array) -> Array:
    """Unweighted per-token cross-entropy ``-log p(y_bt | z_bt)`` (eq. ``ce_loss_seq_element``).

    Parameters
    ----------
    logits : array_like, shape (B, T, V), float
    targets : array_like, shape (B, T), int in ``[0, V)``

    Returns
    -------
    ndarray, shape (B, T)
        The loss of every token, padding included (no weights applied).
        Summing a row gives the sequence's cross-entropy (eq. ``ce_loss_seq``).

    Raises
    ------
    TypeError, ValueError
        On bad shapes, dtypes, NaN/inf logits or out-of-range targets; the
        message names the argument.
    """
    z, y, _ = _seq_inputs_opt(logits, targets, None)
    return _nll(z, y)


def sequence_loss(
    logits: Array,
    targets: Array,
    weights: Array,
    *,
    average_across_timesteps: bool = True,
    average_across_batch: bool = True,
    sum_over_timesteps: bool = False,
    sum_over_batch: bool = False,
    softmax_loss_function: SoftmaxLossFn | None = None,
) -> Array:
    r"""Weighted cross-entropy of a batch of sequences (eq. ``seq_loss_weighted``).

    A numpy port of TensorFlow Addons' ``tfa.seq2seq.sequence_loss``
    (``tensorflow_addons/seq2seq/loss.py``): the same flags and defaults, the
    same reductions and the same flag errors as tfa >= 0.5.  Unlike tfa, the
    flags are keyword-only, there is no ``name``, and targets are indices
    only (no one-hot targets).  With per-token losses ``l_bt`` (eq. ``ce_loss_seq_element``) and
    weights ``w_bt`` (1 for real tokens, 0 for padding, e.g. from
    :func:`seqlib.loss.masking.sequence_mask`), every output is a weighted sum
    ``sum w_bt l_bt`` over the reduced axes divided by a denominator that
    depends on the weights only:

    ======================  ============  ======  ==========================================
    flags set               reduces over  shape   value
    ======================  ============  ======  ==========================================
    avg_time + avg_batch    b, t          ()      ``sum_bt w l / sum_bt w``  (default)
    sum_time + sum_batch    b, t          ()      ``sum_bt w l / #{bt: w != 0}``
    avg_time                t             (B,)    ``sum_t w l / sum_t w``
    avg_batch               b             (T,)    ``sum_b w l / sum_b w``
    sum_time                t             (B,)    ``sum_t w l / #{t: w_bt != 0}``
    sum_batch               b             (T,)    ``sum_b w l / #{b: w_bt != 0}``
    none                    --            (B, T)  ``w l``
    ======================  ============  ======  ==========================================

    Every division is ``divide_no_nan``: a zero denominator gives 0 (so
    all-zero weights give a loss of 0 and a gradient of 0, never NaN).

    Note two things tfa's docstring gets wrong and its code (reproduced here)
    gets right: ``average_across_batch`` divides by the *sum of the weights*
    over the batch axis, not by the batch size ``B``; and the ``sum_over_*``
    flags do not return a sum but the mean over the nonzero-weight tokens
    (``count_nonzero`` of the weights).  For 0/1 masks ``avg`` and ``sum_over``
    agree; they differ for fractional weights.

    Parameters
    ----------
    logits : array_like, shape (B, T, V), float
        Finite scores for each of the ``V`` symbols at each step.
    targets : array_like, shape (B, T), int
        The true symbol at each step, in ``[0, V)``; integral floats are
        accepted.  Padding positions need a valid index too (any, e.g. 0).
    weights : array_like, shape (B, T), float
        Finite weight of each token; 0 masks a token out entirely (no loss,
        no gradient, and -- for ``sum_over_*`` -- not counted).
    average_across_timesteps, average_across_batch : bool, keyword-only
        Divide the sum over that axis by the sum of the weights over it (for
        both: by the sum of all weights).  Both ``True`` by default.
    sum_over_timesteps, sum_over_batch : bool, keyword-only
        Divide the sum over that axis by the number of nonzero weights over it.
    softmax_loss_function : callable, optional
        ``f(labels=(B*T,) ints, logits=(B*T, V) floats) -> (B*T,)`` per-token
        losses used instead of the softmax cross-entropy, called with keyword
        arguments as in tfa.  Its output must be finite.

    Returns
    -------
    ndarray
        Shape ``()``, ``(B,)``, ``(T,)`` or ``(B, T)`` as in the table, dtype of
        ``logits`` and ``weights`` promoted (float64 for float64 input).

    Raises
    ------
    TypeError
        If a flag is not a bool, ``targets`` holds non-integers, an array is
        not numeric, or ``softmax_loss_function`` is not callable.
    ValueError
        If the ranks or ``B``/``T`` disagree, a target is outside ``[0, V)``,
        ``logits`` or ``weights`` hold NaN/inf, or the flags conflict: tfa
        rejects ``average_across_timesteps + sum_over_timesteps``,
        ``average_across_batch + sum_over_batch`` and, "because of ambiguous
        order", ``average_across_batch + sum_over_timesteps`` and
        ``sum_over_batch + average_across_timesteps``.

    Notes
    -----
    **Versus PyTorch.** ``torch.nn.CrossEntropyLoss(ignore_index=pad,
    reduction="mean")`` on the flattened tokens computes
    ``sum_{i not ignored} c_{y_i} l_i / sum_{i not ignored} c_{y_i}`` with
    class weights ``c`` (all 1 by default, giving the mean over non-ignored
    targets).  For a 0/1 mask ``w = (y != pad)`` and no class weights this
    equals the default here, with one exception: when every target is
    ignored PyTorch computes 0/0 and returns ``nan``, whereas ``divide_no_nan``
    returns 0.  PyTorch has no per-token weights; its class weights change the
    denominator as well, ours do not depend on the target symbol.  See
    :func:`loss_denominator` with ``convention="torch"``.

    **Versus per-batch normalisation.** Some course code divides the summed
    token loss by the batch size, ``sum_bt w l / B``: a per-sequence *sum*
    averaged over sequences.  That is ``(sum w / B)`` times the default
    here -- the average sequence length times larger -- so long sequences
    dominate the batch and the gradient, and with it the effective learning
    rate, grows with ``T``.  The default here is a per-token mean, whose scale
    does not depend on the lengths.  See :func:`sequence_loss_normalized`.

    **Versus tfa itself.** The defaults here are those of the function
    ``tfa.seq2seq.sequence_loss`` (``average_across_* = True``); tfa's Keras
    class ``SequenceLoss`` defaults to ``sum_over_timesteps=sum_over_batch=True``
    instead.  Recent tfa versions also accept one-hot ``(B, T, V)`` targets;
    here targets are always ``(B, T)`` indices (use ``argmax`` first).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros((1, 2, 3)); y = np.array([[0, 2]]); w = np.array([[1.0, 0.0]])
    >>> bool(np.isclose(sequence_loss(z, y, w), np.log(3)))
    True
    >>> sequence_loss(z, y, w, average_across_timesteps=False, average_across_batch=False).round(4)
    array([[1.0986, 0.    ]])
    """
    flags = (average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
    _check_flags(*flags)
    z, y, w = _seq_inputs(logits, targets, weights)
    return _sequence_loss_core(z, y, w, flags, softmax_loss_function)


def _sequence_loss_core(
    z: Array, y: Array, w: Array, flags: tuple[bool, bool, bool, bool] = (True, True, False, False),
    softmax_loss_function: SoftmaxLossFn | None = None,
) -> Array:
    """:func:`sequence_loss` without its checks, for model functions that checked their own arguments.

    Trusts finite float logits ``z`` (B, T, V), int targets ``y`` (B, T) in
    ``[0, V)``, finite float weights ``w`` (B, T) and a combination of the
    four flags (in the order of :data:`_FLAG_NAMES`) that tfa accepts.
    """
    crossent = _per_token(z, y, softmax_loss_function) * w
    axes, denom = _reduction(w, *flags)
    if denom is None:
        return crossent
    return _divide_no_nan(np.sum(crossent, axis=axes), denom)


def _token_coef(z: Array, w: Array, flags: tuple[bool, bool, bool, bool], upstream: Any = None) -> Array:
    """``(u / D)_bt * w_bt``, shape (B, T): the factor of token (b, t)'s gradient (see :func:`sequence_loss_backward`)."""
    B, T = w.shape
    axes, denom = _reduction(w, *flags)
    out_shape = tuple(n for i, n in enumerate((B, T)) if i not in axes)
    if upstream is None:
        u = np.ones(out_shape, dtype=np.result_type(z, w))
    else:
        u = as_float_array(upstream, "upstream")
        if u.shape != out_shape:
            raise ValueError(
                f"upstream must have the shape of sequence_loss's output {out_shape} for these flags, got {u.shape}"
            )
    scale = u if denom is None else _divide_no_nan(u, denom)
    scale = np.expand_dims(scale, axes) if axes else scale  # back to (B, T)-broadcastable
    return scale * w


def sequence_loss_backward(
    logits: Array,
    targets: Array,
    weights: Array,
    upstream: Array | float | None = None,
    *,
    average_across_timesteps: bool = True,
    average_across_batch: bool = True,
    sum_over_timesteps: bool = False,
    sum_over_batch: bool = False,
    softmax_loss_function: SoftmaxLossFn | None = None,
    softmax_loss_gradient: SoftmaxLossFn | None = None,
) -> Array:
    r"""Vector-Jacobian product of :func:`sequence_loss` w.r.t. the logits (eq. ``seq_loss_grad``).

    With the reduction written as ``out = sum_{reduced} w_bt l_bt / D`` and an
    upstream gradient ``u`` of the output's shape, the gradient is

    ``dL/dz_bt = (u / D)_bt * w_bt * (softmax(z_bt) - onehot(y_bt))``

    (eq. ``ce_grad_logits``), where ``(u / D)_bt`` is ``divide_no_nan(u, D)``
    broadcast back over the reduced axes.  The denominators ``D`` (sums or
    nonzero counts of the weights) depend on the weights only, so they are
    constants here; where ``D = 0`` the forward output is the constant 0 and
    its gradient is 0.

    Parameters
    ----------
    logits, targets, weights : array_like
        As :func:`sequence_loss`: shapes (B, T, V), (B, T), (B, T).
    upstream : array_like or float, optional
        ``dL/d(output)``, with the output's shape: ``()``, ``(B,)``, ``(T,)``
        or ``(B, T)`` depending on the flags.  Default ones (the gradient of
        the plain sum of the output).
    average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch : bool
        As :func:`sequence_loss`; the same combinations are rejected.
    softmax_loss_function : callable, optional
        Only accepted together with ``softmax_loss_gradient``: an arbitrary
        callable cannot be differentiated here, so passing it alone raises a
        ``ValueError``.
    softmax_loss_gradient : callable, optional
        ``g(labels=(B*T,) ints, logits=(B*T, V)) -> (B*T, V)``: the gradient of
        each per-token loss w.r.t. its own logits, replacing
        ``softmax - onehot``.  Must match the ``softmax_loss_function`` used in
        the forward pass (not checked).

    Returns
    -------
    ndarray, shape (B, T, V)
        Zero for every token whose weight is 0 and everywhere if all weights
        are 0.  Same dtype as the forward output.

    Raises
    ------
    TypeError, ValueError
        As :func:`sequence_loss`; also if ``upstream`` has the wrong shape or
        holds NaN/inf (the message names ``upstream``), or if
        ``softmax_loss_function`` is given without ``softmax_loss_gradient``.
    """
    _check_flags(average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
    z, y, w = _seq_inputs(logits, targets, weights)
    B, T, V = z.shape
    if softmax_loss_function is not None and softmax_loss_gradient is None:
        raise ValueError(
            "sequence_loss_backward cannot differentiate an arbitrary softmax_loss_function; "
            "pass its per-token gradient as softmax_loss_gradient(labels=(B*T,), logits=(B*T, V)) -> (B*T, V), "
            "or use softmax_loss_function=None (softmax cross-entropy)"
        )
    flags = (average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
    coef = _token_coef(z, w, flags, upstream)

    if softmax_loss_gradient is None:
        g = _softmax(z, -1)  # a fresh array: scaled in place below
        np.put_along_axis(g, y[..., None], _pick(g, y)[..., None] - 1.0, axis=-1)
        if np.result_type(coef, g) == g.dtype:
            g *= coef[..., None]
            return g
    else:
        if not callable(softmax_loss_gradient):
            raise TypeError(f"softmax_loss_gradient must be callable or None, got {_describe(softmax_loss_gradient)}")
        name = "softmax_loss_gradient(labels, logits)"
        g = as_float_array(softmax_loss_gradient(labels=y.reshape(-1), logits=z.reshape(-1, V)), name)
        if g.shape != (B * T, V):
            raise ValueError(f"{name} must return shape (B*T, V) = ({B * T}, {V}), got {g.shape}")
        g = g.reshape(B, T, V)
    return (coef[..., None] * g).astype(np.result_type(coef, z), copy=False)


def sequence_loss_and_grad(
    logits: Array,
    targets: Array,
    weights: Array,
    *,
    average_across_timesteps: bool = True,
    average_across_batch: bool = True,
    sum_over_timesteps: bool = False,
    sum_over_batch: bool = False,
    workspace: Workspace | None = None,
) -> tuple[Array, Array]:
    """:func:`sequence_loss` and its gradient w.r.t. the logits, sharing one softmax.

    The loss needs ``log sum_v exp(z_v - m)`` (eq. ``log_softmax``) and the
    gradient needs ``exp(z_v - m) / sum_v exp(z_v - m)`` (eq. ``ce_grad_logits``):
    the same exponentials.  Computed once, they serve both, and the array that
    holds them becomes the gradient in place.  The work goes block by block
    over the rows, so that each block of logits is read from memory once and
    the passes in between run in the cache.  This is what a training step
    calls; the separate functions are what the book explains.

    Parameters
    ----------
    logits, targets, weights : array_like
        As :func:`sequence_loss`: shapes (B, T, V), (B, T), (B, T).
    average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch : bool
        As :func:`sequence_loss` (same defaults, same rejected combinations).
    workspace : Workspace, optional, keyword-only
        Compute the gradient into this :class:`seqlib.workspace.Workspace`'s
        array, valid until the next call with the same workspace.

    Returns
    -------
    loss : ndarray
        :func:`sequence_loss` with the same flags, up to rounding (the sum
        of the exponentials is a BLAS product here).
    dlogits : ndarray, shape (B, T, V)
        :func:`sequence_loss_backward` with ``upstream=None``, i.e. the
        gradient of the sum of the entries of ``loss`` (of ``loss`` itself for
        the scalar default), up to rounding.  In the memory layout of
        ``logits`` when some order of their leading axes makes them
        contiguous (C order, or time-major as :func:`seqlib.cells.readout.linear_forward`
        returns them), otherwise C-ordered.

    Raises
    ------
    TypeError, ValueError
        As :func:`sequence_loss`; ``TypeError`` also if ``workspace`` is not a
        :class:`~seqlib.workspace.Workspace`.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[[0.0, 1.0], [2.0, 0.0]]]); y = np.array([[1, 0]]); w = np.ones((1, 2))
    >>> loss, dz = sequence_loss_and_grad(z, y, w)
    >>> bool(np.isclose(loss, sequence_loss(z, y, w)))
    True
    >>> bool(np.allclose(dz, sequence_loss_backward(z, y, w)))
    True
    """
    flags = (average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
    _check_flags(*flags)
    workspace = check_workspace(workspace)
    z, y, w = _seq_inputs(logits, targets, weights)
    return _sequence_loss_and_grad_core(z, y, w, flags, workspace)


def _sequence_loss_and_grad_core(
    z: Array, y: Array, w: Array, flags: tuple[bool, bool, bool, bool] = (True, True, False, False),
    workspace: Workspace | None = None,
) -> tuple[Array, Array]:
    """:func:`sequence_loss_and_grad` without its checks: trusts its inputs as
    :func:`_sequence_loss_core` does (the logits' finiteness most of all: the
    maximum below is ``fmax``, which does not look for NaN)."""
    B, T, V = z.shape
    coef = _token_coef(z, w, flags)  # (B, T): each token's factor, from the weights alone
    dtype = np.result_type(coef, z)
    # Everything below works on (N, V) rows in z's memory order (a view for
    # time-major logits), block by block: each block of z is read from memory
    # once and each block of g written once, and every pass in between runs
    # on data that is still in the cache.
    z2, order = rows(z)
    g2 = empty(workspace, "loss.dlogits", z2.shape, dtype)
    y2 = np.ascontiguousarray(y.transpose(order)).reshape(-1)
    c2 = np.ascontiguousarray(coef.transpose(order)).reshape(-1)
    N = z2.shape[0]
    shifted_y, s = np.empty(N, dtype), np.empty(N, dtype)
    ones = np.ones(V, dtype)
    step = max(1, (1 << 19) // (V * g2.itemsize))  # 512 KiB of g per block
    pick = np.arange(min(step, N))
    for i in range(0, N, step):
        j = min(i + step, N)
        zb, gb, yb, r = z2[i:j], g2[i:j], y2[i:j], pick[: j - i]
        # The loss, as _nll: log sum exp(z - m) - (z_y - m).  z is finite (checked),
        # so fmax, which skips the NaN test of max, gives the same maximum faster.
        np.subtract(zb, np.fmax.reduce(zb, axis=1, keepdims=True), out=gb)  # max entry 0: exp never overflows
        shifted_y[i:j] = gb[r, yb]
        np.exp(gb, out=gb)
        np.dot(gb, ones, out=s[i:j])  # the row sums (>= 1) as a BLAS product
        # The gradient, in place: coef * (softmax - onehot), softmax = exp(z - m) / s.
        gb *= (c2[i:j] / s[i:j])[:, None]
        gb[r, yb] -= c2[i:j]
    crossent = unrows(np.log(s) - shifted_y, (B, T), order) * w
    axes, denom = _reduction(w, *flags)
    loss = crossent if denom is None else _divide_no_nan(np.sum(crossent, axis=axes), denom)
    return loss, unrows(g2, (B, T), order)


# ---------------------------------------------------------------------------
# normalisation conventions, side by side
# ---------------------------------------------------------------------------


def loss_denominator(weights: Array, convention: Literal["tfa", "nonzero", "batch", "torch"]) -> float:
    """What the summed weighted token loss ``sum_bt w_bt l_bt`` is divided by.

    Parameters
    ----------
    weights : array_like, shape (B, T), float
        Token weights (a 0/1 padding mask in the usual case).
    convention : {"tfa", "nonzero", "batch", "torch"}
        * ``"tfa"``: ``sum_bt w_bt`` -- :func:`sequence_loss` with its default
          ``average_across_timesteps=average_across_batch=True``.
        * ``"nonzero"``: ``#{bt: w_bt != 0}`` -- tfa's
          ``sum_over_timesteps=sum_over_batch=True``, the mean over
          nonzero-weight tokens.
        * ``"batch"``: ``B`` -- per-sequence sums averaged over the batch;
          the gradient grows with the sequence lengths.
        * ``"torch"``: the number of non-ignored targets of
          ``CrossEntropyLoss(ignore_index=pad, reduction="mean")`` when the
          tokens with ``w_bt == 0`` are the ignored ones (without class
          weights; with class weights ``c`` PyTorch divides by
          ``sum c_{y_i}`` over non-ignored targets instead).  This can be 0:
          PyTorch then returns ``0 / 0 = nan``; the three other conventions
          never divide by 0 (``divide_no_nan`` gives 0, and ``B >= 1``).

    Returns
    -------
    float
        The denominator, possibly 0.0 (not for ``"batch"`` with ``B >= 1``).

    Raises
    ------
    ValueError
        If ``weights`` is not 2-D or not finite, or ``convention`` is unknown.
    """
    w = as_float_array(weights, "weights", ndim=2)
    check_choice(convention, "convention", LOSS_CONVENTIONS)
    if convention == "tfa":
        return float(np.sum(w))
    if convention == "batch":
        return float(w.shape[0])
    return float(np.count_nonzero(w))  # "nonzero" and "torch"


def sequence_loss_normalized(
    logits: Array,
    targets: Array,
    weights: Array,
    convention: Literal["tfa", "nonzero", "batch", "torch"] = "tfa",
) -> float:
    """The scalar loss ``sum_bt w_bt l_bt / D`` under one normalisation convention.

    ``D`` is :func:`loss_denominator`; the gradient w.r.t. the logits is
    ``w_bt (softmax - onehot) / D``, so switching convention rescales every
    gradient -- the effective learning rate -- by the ratio of denominators.

    * ``"tfa"`` equals ``sequence_loss(logits, targets, weights)``;
    * ``"nonzero"`` equals ``sequence_loss(..., average_across_timesteps=False,
      average_across_batch=False, sum_over_timesteps=True, sum_over_batch=True)``;
    * ``"batch"`` is ``sum w l / B``: ``(sum w) / B`` (the mean length, for a
      mask) times ``"tfa"``;
    * ``"torch"`` is PyTorch's ``ignore_index`` mean, numerator
      ``sum_{w != 0} w l`` (for a 0/1 mask: the sum over non-ignored
      targets) over the count of nonzero weights.  PyTorch returns ``nan``
      when every target is ignored; this function never returns NaN for
      finite input and raises a ``ValueError`` in that case instead (use
      :func:`loss_denominator` to show the 0 denominator).

    Parameters
    ----------
    logits : array_like, shape (B, T, V), float
    targets : array_like, shape (B, T), int in ``[0, V)``
    weights : array_like, shape (B, T), float
    convention : {"tfa", "nonzero", "batch", "torch"}, default "tfa"

    Returns
    -------
    float
        The normalised loss; 0.0 for all-zero weights except under ``"torch"``.

    Raises
    ------
    TypeError, ValueError
        As :func:`sequence_loss`; ``ValueError`` for an unknown ``convention``
        and for ``"torch"`` with all-zero weights.
    """
    check_choice(convention, "convention", LOSS_CONVENTIONS)
    z, y, w = _seq_inputs(logits, targets, weights)
    num = float(np.sum(w * _nll(z, y)))
    den = loss_denominator(w, convention)
    if den == 0.0:
        if convention == "torch":
            raise ValueError(
                "convention='torch' is undefined when every weight is 0: PyTorch's "
                "CrossEntropyLoss(ignore_index=..., reduction='mean') returns nan (0/0) when every "
                "target is ignored; loss_denominator(weights, 'torch') gives the 0 denominator"
            )
        return 0.0
    return num / den
