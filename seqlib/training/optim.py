"""First-order optimizers: SGD (with momentum), Adagrad and Adam.

Each optimizer is a small object whose :meth:`step` updates a dict of
parameter arrays *in place* from a dict of gradients with the same keys and
shapes.  Per-parameter state (velocity, squared-gradient sums, moments) is
created lazily on the first step that sees a key, with the parameter's dtype.

>>> import numpy as np
>>> params = {"w": np.array([1.0, -2.0])}
>>> opt = SGD(lr=0.1)
>>> opt.step(params, {"w": np.array([1.0, 1.0])})
>>> params["w"]
array([ 0.9, -2.1])
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .._validate import as_float_array, check_real

__all__ = ["SGD", "Adagrad", "Adam"]


def _check_step(params: Mapping[str, np.ndarray], grads: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Check that ``grads`` matches ``params`` key by key and shape by shape; return the grads as arrays."""
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        raise TypeError(
            f"params and grads must be dicts name -> array, got {type(params).__name__} and {type(grads).__name__}"
        )
    missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
    if missing or extra:
        raise ValueError(
            f"grads must have the same keys as params; missing from grads: {missing}, not in params: {extra}"
        )
    out = {}
    for k, p in params.items():
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"params[{k!r}] must be a float ndarray (it is updated in place), got {type(p).__name__}")
        g = as_float_array(grads[k], f"grads[{k!r}]")
        if g.shape != p.shape:
            raise ValueError(f"grads[{k!r}] has shape {g.shape} but params[{k!r}] has shape {p.shape}")
        out[k] = g
    return out


class SGD:
    """Stochastic gradient descent, optionally with (heavy-ball) momentum.

    ``v <- momentum * v + g``, then ``p <- p - lr * v``; with ``momentum = 0``
    this is plain ``p <- p - lr * g``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    momentum : float
        In ``[0, 1)``.
    """

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        self.lr = check_real(lr, "lr")
        self.momentum = check_real(momentum, "momentum", high=1.0, low_open=False)
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every ``params[k]`` (any shape) in place from ``grads[k]`` (same shape)."""
        for k, g in _check_step(params, grads).items():
            if self.momentum:
                v = self.velocity.setdefault(k, np.zeros_like(params[k]))
                v *= self.momentum
                v += g
                g = v
            params[k] -= self.lr * g

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr!r}, momentum={self.momentum!r})"


class Adagrad:
    """Adagrad (Duchi et al. 2011): per-entry steps shrink with the gradient history.

    ``G <- G + g^2``, then ``p <- p - lr * g / (sqrt(G) + eps)``.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    eps : float
        Added to the denominator, positive and finite.
    """

    def __init__(self, lr: float, eps: float = 1e-8) -> None:
        self.lr = check_real(lr, "lr")
        self.eps = check_real(eps, "eps")
        self.sum_sq: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every ``params[k]`` (any shape) in place from ``grads[k]`` (same shape)."""
        for k, g in _check_step(params, grads).items():
            G = self.sum_sq.setdefault(k, np.zeros_like(params[k]))
            G += g * g
            params[k] -= self.lr * g / (np.sqrt(G) + self.eps)

    def __repr__(self) -> str:
        return f"Adagrad(lr={self.lr!r}, eps={self.eps!r})"


class Adam:
    """Adam (Kingma & Ba 2015): momentum on ``g`` and on ``g^2``, with bias correction.

    At step ``t`` (counted per key, from 1)::

        m <- beta1 m + (1 - beta1) g          v <- beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t)             v_hat = v / (1 - beta2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    On the first step ``m_hat = g`` and ``v_hat = g^2``, so each entry moves
    by about ``lr * sign(g)`` whatever the gradient's scale.

    Parameters
    ----------
    lr : float
        Learning rate, positive and finite.
    beta1, beta2 : float
        Decay rates of the two moment estimates, in ``[0, 1)``.
    eps : float
        Added to the denominator, positive and finite.
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.lr = check_real(lr, "lr")
        self.beta1 = check_real(beta1, "beta1", high=1.0, low_open=False)
        self.beta2 = check_real(beta2, "beta2", high=1.0, low_open=False)
        self.eps = check_real(eps, "eps")
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t: dict[str, int] = {}

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every ``params[k]`` (any shape) in place from ``grads[k]`` (same shape)."""
        b1, b2 = self.beta1, self.beta2
        for k, g in _check_step(params, grads).items():
            m = self.m.setdefault(k, np.zeros_like(params[k]))
            v = self.v.setdefault(k, np.zeros_like(params[k]))
            t = self.t[k] = self.t.get(k, 0) + 1
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            m_hat = m / (1.0 - b1**t)
            v_hat = v / (1.0 - b2**t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr!r}, beta1={self.beta1!r}, beta2={self.beta2!r}, eps={self.eps!r})"
