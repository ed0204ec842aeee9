"""Padding variable-length sequences into a batch, masks and one-hot codes.

A batch of sequences of different lengths is stored as one ``(B, T)`` array,
right-padded to the longest length ``T``; a mask ``mask[b, t] = t < len_b``
marks the real tokens and serves as the ``weights`` of
:func:`seqlib.loss.seq_loss.sequence_loss`, so padding contributes neither loss nor
gradient.

>>> padded, lengths = pad_sequences([[5, 6, 7], [8]])
>>> padded
array([[5, 6, 7],
       [8, 0, 0]])
>>> sequence_mask(lengths)
array([[1., 1., 1.],
       [1., 0., 0.]])
>>> one_hot([2, 0], depth=3)
array([[0., 0., 1.],
       [1., 0., 0.]])
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np
from numpy.typing import DTypeLike

from .._validate import _describe, as_int_array, check_choice, check_index_range, check_positive_int

__all__ = ["sequence_mask", "pad_sequences", "one_hot"]

Array = np.ndarray


def _check_nonneg_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {_describe(value)}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def _as_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} must be a numpy dtype such as float, int or bool, got {_describe(dtype)}") from exc
    if not (np.issubdtype(dt, np.number) or dt == np.bool_):
        raise TypeError(f"{name} must be a numeric or bool dtype, got {dt}")
    return dt


def sequence_mask(lengths: Sequence[int] | Array, maxlen: int | None = None, dtype: DTypeLike = float) -> Array:
    """Mask of the real tokens, ``mask[..., t] = t < lengths[...]`` (as ``tf.sequence_mask``).

    Parameters
    ----------
    lengths : array_like, shape (B,) or any shape (...), int
        Non-negative sequence lengths.  Integral floats are accepted.
    maxlen : int, optional
        Number of time steps ``T`` (non-negative).  Default ``max(lengths)``
        (0 for empty ``lengths``).  As in TensorFlow, a length above
        ``maxlen`` is not an error: its row is all ones.
    dtype : numpy dtype, default float
        Dtype of the mask (``float`` gives 0.0/1.0 weights, ``bool`` a boolean
        mask).

    Returns
    -------
    ndarray, shape (B, T) (``lengths.shape + (T,)`` in general), ``dtype``

    Raises
    ------
    TypeError
        If ``lengths`` holds non-integers, ``maxlen`` is not an int, or
        ``dtype`` is not numeric.
    ValueError
        If a length or ``maxlen`` is negative.

    Examples
    --------
    >>> sequence_mask([1, 3], maxlen=4, dtype=bool)
    array([[ True, False, False, False],
           [ True,  True,  True, False]])
    """
    lens = as_int_array(lengths, "lengths")
    if lens.size and lens.min() < 0:
        raise ValueError(f"lengths must be non-negative, got {int(lens.min())} in {lens.tolist()}"[:200])
    if maxlen is None:
        T = int(lens.max()) if lens.size else 0
    else:
        T = _check_nonneg_int(maxlen, "maxlen")
    dt = _as_dtype(dtype)
    return (np.arange(T) < lens[..., None]).astype(dt)


def pad_sequences(
    seqs: Sequence[Sequence[Any]] | Sequence[Array],
    maxlen: int | None = None,
    value: float = 0,
    dtype: DTypeLike = int,
    truncating: Literal["pre", "post"] | None = None,
) -> tuple[Array, Array]:
    """Right-pad a list of sequences into one ``(B, T)`` array.

    Parameters
    ----------
    seqs : sequence of B array_likes, each of shape (L_b,) or (L_b, *F)
        The sequences, e.g. lists of token ids.  Trailing feature axes ``F``
        must agree across sequences.
    maxlen : int, optional
        Length ``T`` of the padded batch, non-negative.  Default: the longest
        sequence (0 for an empty list).
    value : scalar, default 0
        The padding value, stored as ``dtype``; it must be an integer for an
        integer dtype (NaN is allowed for a float dtype).
    dtype : numpy dtype, default int
        Dtype of ``padded``.  For an integer dtype the sequences (and
        ``value``) must hold integers; non-integral floats raise ``TypeError``
        rather than being silently truncated.
    truncating : {"pre", "post"} or None, default None
        What to do with a sequence longer than ``maxlen``.  ``None`` raises a
        ``ValueError`` (no silent data loss); ``"pre"`` drops its first
        elements (keeps the last ``maxlen``), ``"post"`` drops its last ones,
        as Keras' ``pad_sequences``.

    Returns
    -------
    padded : ndarray, shape (B, T) or (B, T, *F), ``dtype``
        ``padded[b, :lengths[b]]`` is sequence ``b``; the rest is ``value``.
    lengths : ndarray, shape (B,), int64
        The length of each sequence after any truncation; feed it to
        :func:`sequence_mask` for the loss weights.

    Raises
    ------
    TypeError
        If ``seqs`` is not a sequence of sequences, an element is not numeric
        (or not integral for an integer ``dtype``), or ``maxlen``/``value``
        has the wrong type.
    ValueError
        If a sequence is longer than ``maxlen`` and ``truncating`` is None
        (the message names ``seqs[b]``, its length and ``maxlen``), the
        feature shapes disagree, or ``truncating`` is unknown.

    Examples
    --------
    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2, truncating="pre")[0]
    array([[2, 3],
           [4, 0]])
    """
    if isinstance(seqs, (str, bytes, np.ndarray)) and not (isinstance(seqs, np.ndarray) and seqs.ndim >= 1):
        raise TypeError(f"seqs must be a sequence of sequences, got {_describe(seqs)}")
    if not hasattr(seqs, "__len__") or not hasattr(seqs, "__getitem__"):
        raise TypeError(f"seqs must be a sequence of sequences, got {_describe(seqs)}")
    if truncating is not None:
        check_choice(truncating, "truncating", ("pre", "post"))
    dt = _as_dtype(dtype)
    is_int = np.issubdtype(dt, np.integer)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"value must be a number, got {_describe(value)}")
    if (is_int or dt == np.bool_) and (not np.isfinite(value) or value != int(value)):
        raise TypeError(f"value must be an integer for {dt} dtype, got {value!r}")

    arrays = []
    for b, s in enumerate(seqs):
        name = f"seqs[{b}]"
        if isinstance(s, (str, bytes)) or s is None or np.ndim(s) == 0:
            raise TypeError(f"{name} must be a sequence (1-D or more), got {_describe(s)}")
        a = as_int_array(s, name) if is_int else np.asarray(s)
        if not is_int and not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise TypeError(f"{name} must be numeric, got {_describe(s)}")
        if arrays and a.shape[1:] != arrays[0].shape[1:] and a.shape[0] and arrays[0].shape[0]:
            raise ValueError(
                f"{name} must have feature shape {arrays[0].shape[1:]} like seqs[0], got shape {a.shape}"
            )
        arrays.append(a)

    feat = next((a.shape[1:] for a in arrays if a.shape[0]), arrays[0].shape[1:] if arrays else ())
    longest = max((a.shape[0] for a in arrays), default=0)
    T = longest if maxlen is None else _check_nonneg_int(maxlen, "maxlen")
    padded = np.full((len(arrays), T) + feat, value, dtype=dt)
    lengths = np.zeros(len(arrays), dtype=np.int64)
    for b, a in enumerate(arrays):
        if a.shape[0] > T:
            if truncating is None:
                raise ValueError(
                    f"seqs[{b}] has length {a.shape[0]} > maxlen={T}; pass a larger maxlen or "
                    f"truncating='pre' (keep the end) / 'post' (keep the start) to cut it"
                )
            a = a[a.shape[0] - T :] if truncating == "pre" else a[:T]
        L = a.shape[0]
        if L:
            padded[b, :L] = a
        lengths[b] = L
    return padded, lengths


def one_hot(indices: Sequence[int] | Array, depth: int, dtype: DTypeLike = float) -> Array:
    """One-hot codes: ``out[..., k] = 1`` if ``k == indices[...]`` else 0.

    Parameters
    ----------
    indices : array_like, shape (...), int
        Class indices in ``[0, depth)``; integral floats are accepted.
    depth : int
        Number of classes ``V >= 1``.
    dtype : numpy dtype, default float

    Returns
    -------
    ndarray, shape ``indices.shape + (depth,)``, ``dtype``

    Raises
    ------
    TypeError
        If ``indices`` holds non-integers or ``depth`` is not an int.
    ValueError
        If ``depth < 1`` or an index is outside ``[0, depth)`` -- unlike
        ``tf.one_hot``, which silently returns an all-zero row.  The message
        names ``indices``, the offending value and ``depth``.
    """
    idx = as_int_array(indices, "indices")
    V = check_positive_int(depth, "depth")
    assert V is not None
    dt = _as_dtype(dtype)
    check_index_range(idx, "indices", V, f"in [0, depth) = [0, {V})")
    return (idx[..., None] == np.arange(V)).astype(dt)
