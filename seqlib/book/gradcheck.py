"""Numerical gradient checks with central differences."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

__all__ = ["numerical_gradient", "relative_error", "gradcheck"]


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored:
    ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``.  Error is O(eps^2).

    Parameters
    ----------
    f : callable
        Takes no arguments and returns a float; it must read ``x``.
    x : ndarray, float64
        The array to differentiate with respect to (modified and restored).
    eps : float
        Half the step.
    """
    if x.dtype != np.float64:
        raise TypeError(f"x must be float64 for a gradient check, got {x.dtype}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = float(f())
        x[i] = old - eps
        fm = float(f())
        x[i] = old
        grad[i] = (fp - fm) / (2.0 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-300) -> float:
    """Scale-aware max relative error ``max_i |a_i - b_i| / (max_i |a_i| + max_i |b_i|)``.

    An entry-by-entry ratio ``|a_i - b_i| / (|a_i| + |b_i|)`` blows up on
    entries that are zero up to round-off, so the discrepancy is measured
    against the scale of the whole gradient instead.  Two all-zero arrays give 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = float(np.max(np.abs(a)) + np.max(np.abs(b)))
    diff = float(np.max(np.abs(a - b)))
    return 0.0 if diff == 0.0 else diff / max(scale, floor)


def gradcheck(
    f: Callable[[], float],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, float]:
    """Compare analytic ``grads`` with central differences of ``f``.

    Parameters
    ----------
    f : callable
        Returns the scalar loss, reading the arrays in ``params``.
    params : mapping name -> float64 ndarray
        Arrays perturbed in place (and restored).
    grads : mapping name -> ndarray
        Analytic gradients, same keys and shapes as ``params``.

    Returns
    -------
    dict name -> float
        Max relative error per parameter (see :func:`relative_error`).
    """
    missing = set(params) - set(grads)
    if missing:
        raise ValueError(f"grads is missing keys {sorted(missing)}; params has {sorted(params)}")
    out = {}
    for name, x in params.items():
        g = np.asarray(grads[name])
        if g.shape != x.shape:
            raise ValueError(f"grads[{name!r}] must have shape {x.shape} like params[{name!r}], got {g.shape}")
        out[name] = relative_error(g, numerical_gradient(f, x, eps))
    return out
