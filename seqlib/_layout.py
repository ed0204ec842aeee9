"""Memory layout helpers: arrays seen as 2-D rows whatever the order of their leading axes.

The RNN stores its (B, T, ...) arrays time-major, as transposed views of
(T, B, ...) buffers (see :mod:`seqlib.cells.rnn`).  These helpers let the readout
and the loss treat such a view as one (T*B, K) matrix without copying it, so
that their work is one BLAS call over rows that lie next to each other.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """The leading axes of ``a`` (all but the last), slowest-varying first."""
    return tuple(sorted(range(a.ndim - 1), key=lambda i: -a.strides[i]))  # stable: ties keep their order


def rows(a: np.ndarray, order: tuple[int, ...] | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """``a`` (..., K) as a 2-D (N, K) array of rows, and the order of its leading axes in that array.

    The rows follow ``a``'s memory: if some permutation of the leading axes
    makes ``a`` C-contiguous (a C-ordered array, or a transposed view of one
    such as the time-major states of the RNN), the result is a view in that
    order and nothing is copied.  With ``order`` given, the rows follow that
    order (a view if possible, else one copy).
    """
    if order is None:
        order = memory_order(a)
    perm = a.transpose(*order, a.ndim - 1)
    return np.ascontiguousarray(perm).reshape(-1, a.shape[-1]), order


def unrows(r: np.ndarray, lead: tuple[int, ...], order: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`rows`: (N, K) rows, or (N,) values, back to shape ``(*lead, K)`` or ``lead`` (a view)."""
    tail = r.shape[1:]
    out = r.reshape(*(lead[i] for i in order), *tail)
    return out.transpose(*np.argsort(order), *range(len(order), len(order) + len(tail)))

