"""Elementwise activations f and their derivatives f' for the recurrent state.

Each activation is an :class:`Activation` holding the function ``f(a)`` and its
derivative ``df(a, h)``; the derivative receives both the pre-activation ``a``
and the output ``h = f(a)`` so that it can use whichever is cheaper
(``1 - h**2`` for tanh, ``h (1 - h)`` for the sigmoid, ``a > 0`` for relu).

>>> import numpy as np
>>> act = get_activation("tanh")
>>> a = np.array([-1.0, 0.0, 2.0])
>>> h = act.f(a)
>>> np.allclose(act.df(a, h), 1 - np.tanh(a) ** 2)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validate import check_choice

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "sigmoid"]

Array = np.ndarray


def sigmoid(a: Array, out: Array | None = None) -> Array:
    """Numerically stable logistic sigmoid ``1 / (1 + exp(-a))``.

    Uses ``exp(-|a|)``, which never overflows: ``1 / (1 + e)`` for ``a >= 0``
    and ``e / (1 + e)`` for ``a < 0``.

    Parameters
    ----------
    a : ndarray, any shape, float
    out : ndarray, same shape as ``a``, optional
        Where to write the result.

    Returns
    -------
    ndarray, same shape and dtype as ``a``
    """
    e = np.exp(-np.abs(a))
    num = np.where(a >= 0, np.ones_like(e), e)
    return np.divide(num, 1.0 + e, out=out)


def _tanh(a: Array, out: Array | None = None) -> Array:
    return np.tanh(a, out=out)


def _relu(a: Array, out: Array | None = None) -> Array:
    return np.maximum(a, 0, out=out)


def _linear(a: Array, out: Array | None = None) -> Array:
    if out is None:
        return np.array(a, copy=True)
    np.copyto(out, a)
    return out


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity ``h = f(a)`` and its derivative.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"tanh"``.
    f : callable ``(a, out=None) -> h``
        The activation; ``a`` and ``h`` have the same shape (any).
    df : callable ``(a, h) -> f'(a)``
        The derivative evaluated at the pre-activation ``a``, given also the
        output ``h = f(a)`` (same shape), so it can be read off ``h`` when cheaper.
    """

    name: str
    f: Callable[..., Array]
    df: Callable[[Array, Array], Array]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", _tanh, lambda a, h: 1.0 - h * h),
    "relu": Activation("relu", _relu, lambda a, h: (a > 0).astype(h.dtype)),
    "sigmoid": Activation("sigmoid", sigmoid, lambda a, h: h * (1.0 - h)),
    "linear": Activation("linear", _linear, lambda a, h: np.ones_like(h)),
}
"""Registry of the activations by name: ``"tanh"``, ``"relu"``, ``"sigmoid"``, ``"linear"``."""


def get_activation(activation: str | Activation) -> Activation:
    """Look an activation up by name (an :class:`Activation` is returned unchanged).

    Raises
    ------
    TypeError
        If ``activation`` is neither a string nor an :class:`Activation`.
    ValueError
        If the name is unknown; the message lists the allowed names.
    """
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a str, one of {sorted(ACTIVATIONS)}, got {type(activation).__name__} {activation!r}"
        )
    check_choice(activation, "activation", ACTIVATIONS)
    return ACTIVATIONS[activation]
