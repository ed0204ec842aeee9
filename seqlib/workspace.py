"""Scratch arrays that one training step hands to the next.

A forward and backward pass of the largest model in the benchmark creates
about 200 MB of fresh arrays: states, pre-activations, logits, their
gradients.  Fresh memory is not free.  The allocator returns large blocks to
the operating system when they are freed, so every new block arrives as
untouched pages that the kernel must map and zero on first write; at that
size this costs as much as a fifth of the whole step (see the appendix "How
fast is seqlib?").

A :class:`Workspace` keeps those arrays between calls.  Pass the same one to
:func:`seqlib.cells.rnn.rnn_forward`, :func:`seqlib.cells.readout.linear_forward`,
:func:`seqlib.loss.seq_loss.sequence_loss_and_grad`, :func:`seqlib.cells.readout.linear_backward`
and :func:`seqlib.cells.rnn.rnn_backward` in a loop, and after the first step they
allocate nothing large::

    ws = Workspace()
    for x, y, w in batches:
        h, cache = rnn_forward(x, None, W_xh, W_hh, b_h, workspace=ws)
        ...

The contract is numpy's ``out=``: an array that a function returns from a
workspace (and the cache it returns) is valid until the next call of the same
function with the same workspace, which overwrites it.  Copy what you want to
keep; use one workspace per layer.  Parameter gradients, losses and other
small results are always fresh arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Named scratch arrays, reused while their shape and dtype stay the same.

    Examples
    --------
    >>> ws = Workspace()
    >>> a = ws.empty("rnn.hs", (3, 2), np.float64)
    >>> b = ws.empty("rnn.hs", (3, 2), np.float64)
    >>> a is b, ws.nbytes
    (True, 48)
    >>> ws.empty("rnn.hs", (4, 2), np.float64).shape  # a new shape replaces the array
    (4, 2)
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def empty(self, key: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """The array stored under ``key``, (re)allocated if its shape or dtype differ; contents undefined."""
        arr = self._arrays.get(key)
        shape = tuple(int(n) for n in shape)
        if arr is None or arr.shape != shape or arr.dtype != np.dtype(dtype):
            arr = self._arrays[key] = np.empty(shape, dtype)
        return arr

    def __len__(self) -> int:
        return len(self._arrays)

    @property
    def shapes(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``{key: (shape, dtype)}`` of every array held, in the order they were first made."""
        return {k: (a.shape, a.dtype) for k, a in self._arrays.items()}

    @property
    def nbytes(self) -> int:
        """Bytes held by all arrays."""
        return sum(a.nbytes for a in self._arrays.values())

    def clear(self) -> None:
        """Drop every array (their memory goes back to the allocator)."""
        self._arrays.clear()

    def __repr__(self) -> str:
        return f"Workspace({len(self._arrays)} arrays, {self.nbytes / 2**20:.1f} MiB)"


def check_workspace(workspace: object) -> Workspace | None:
    """``workspace`` if it is a :class:`Workspace` or None, else a TypeError naming the argument."""
    if workspace is not None and not isinstance(workspace, Workspace):
        raise TypeError(f"workspace must be a seqlib.Workspace or None, got {type(workspace).__name__}")
    return workspace


def empty(workspace: Workspace | None, key: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """``np.empty(shape, dtype)``, or the workspace's array under ``key``."""
    return np.empty(shape, dtype) if workspace is None else workspace.empty(key, shape, dtype)

