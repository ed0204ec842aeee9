"""The running example of the back-propagation-through-time chapter.

Every page of that chapter runs on its own, and most of them start from the
same small problem: a tanh RNN with a linear readout and the sequence loss
(eqs. ``rnn_preact``, ``rnn_state``, ``rnn_readout``, ``seq_loss_weighted``).
These helpers build it, so that a page does not have to copy its setup:

* :func:`make_problem` draws the parameters (with a nonzero ``h0``), inputs,
  targets and unit weights;
* :func:`forward` runs the RNN, the readout and the loss;
* :func:`direct_gradients` back-propagates the loss and the readout, which
  gives the *direct* terms ``dh[:, t-1]`` = dℓ_t/dh_t and the readout's
  gradients (no gradient has crossed a time step yet);
* :func:`all_gradients` adds :func:`seqlib.cells.rnn.rnn_backward`: every gradient;
* :func:`flow_setup` is the gradient-flow setup of the chapter: an orthogonal
  ``W_hh`` scaled to a spectral norm, small inputs, ``h0 = 0``.

The first page of the chapter (``chapters/bptt_delta.md``) writes
:func:`forward` and :func:`direct_gradients` out in its own cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_choice, check_positive_int, check_real
from ..cells.activations import ACTIVATIONS
from ..cells.init import init_rnn_params
from ..loss import sequence_loss, sequence_loss_backward
from ..cells.readout import ReadoutCache, linear_backward, linear_forward
from ..cells.rnn import RNNCache, rnn_backward, rnn_forward

__all__ = ["make_problem", "forward", "direct_gradients", "all_gradients", "flow_setup"]

Array = np.ndarray
#: What :func:`forward` returns next to the loss: the RNN's cache, the logits, the readout's cache.
State = tuple[RNNCache, Array, ReadoutCache]

_PARAM_KEYS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y", "h0")


def make_problem(
    B: int = 3,
    T: int = 6,
    D: int = 4,
    H: int = 5,
    V: int = 7,
    seed: int = 0,
    W_hh_norm: float | None = None,
    x_scale: float = 1.0,
) -> tuple[dict[str, Array], Array, Array, Array]:
    """Random parameters (a nonzero ``h0``), inputs, targets and unit weights.

    Parameters
    ----------
    B, T, D, H, V : int
        Batch size, sequence length, input size, hidden size, vocabulary size.
    seed : int
        Seed of the one generator all draws come from, in the order: the
        parameters of :func:`seqlib.cells.init.init_rnn_params`, ``h0``, ``x``, the
        targets.
    W_hh_norm : float, optional
        Spectral norm of the (orthogonal) ``W_hh``; ``None`` keeps it at 1.
    x_scale : float
        Standard deviation of the inputs.

    Returns
    -------
    params : dict
        ``W_xh (D, H)``, ``W_hh (H, H)``, ``b_h (H,)``, ``W_hy (H, V)``,
        ``b_y (V,)`` and ``h0 (B, H)`` with standard deviation 0.5.
    x : ndarray, shape (B, T, D)
    targets : ndarray of int, shape (B, T)
        Uniform over ``0 .. V-1``.
    weights : ndarray, shape (B, T)
        All ones.
    """
    B, T, D, H, V = (check_positive_int(v, n) for v, n in zip((B, T, D, H, V), "BTDHV"))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if W_hh_norm is not None:
        W_hh_norm = check_real(W_hh_norm, "W_hh_norm")
    x_scale = check_real(x_scale, "x_scale")
    rng = np.random.default_rng(seed)
    params = init_rnn_params(D, H, V, rng=rng, W_hh_spectral_norm=W_hh_norm)
    params["h0"] = 0.5 * rng.standard_normal((B, H))
    x = x_scale * rng.standard_normal((B, T, D))
    targets = rng.integers(0, V, size=(B, T))
    weights = np.ones((B, T))
    return params, x, targets, weights


def _check_params(params: Any) -> None:
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict like make_problem's, got {type(params).__name__}")
    missing = [k for k in _PARAM_KEYS if k not in params]
    if missing:
        raise ValueError(f"params lacks {missing}: it must hold {list(_PARAM_KEYS)}")


def forward(
    params: dict[str, Array], x: Array, targets: Array, weights: Array, activation: str = "tanh"
) -> tuple[float, State]:
    """The loss L and everything the backward pass needs.

    Parameters
    ----------
    params : dict
        As :func:`make_problem` returns them.
    x : ndarray, shape (B, T, D)
    targets : ndarray of int, shape (B, T)
    weights : ndarray, shape (B, T)
    activation : {"tanh", "relu", "sigmoid", "linear"}

    Returns
    -------
    loss : float
        The sequence loss of :func:`seqlib.loss.seq_loss.sequence_loss`.
    state : tuple
        ``(cache, logits, ro_cache)``: the RNN's cache, the logits (B, T, V)
        and the readout's cache, for :func:`direct_gradients`.
    """
    _check_params(params)
    check_choice(activation, "activation", ACTIVATIONS)
    h, cache = rnn_forward(x, params["h0"], params["W_xh"], params["W_hh"], params["b_h"], activation=activation)
    logits, ro_cache = linear_forward(h, params["W_hy"], params["b_y"])
    loss = float(sequence_loss(logits, targets, weights))
    return loss, (cache, logits, ro_cache)


def direct_gradients(state: State, targets: Array, weights: Array) -> tuple[Array, dict[str, Array]]:
    """Readout gradients, and ``dh[:, t-1]`` = the direct term dℓ_t/dh_t.

    Parameters
    ----------
    state : tuple
        The second result of :func:`forward`.
    targets, weights : ndarray, shape (B, T)
        The ones given to :func:`forward`.

    Returns
    -------
    dh : ndarray, shape (B, T, H)
        The gradient of the loss at step t with respect to h_t, through the
        readout only: nothing that crosses a time step.
    grads : dict
        ``W_hy`` and ``b_y``.
    """
    if not (isinstance(state, tuple) and len(state) == 3 and isinstance(state[0], RNNCache)):
        raise TypeError("state must be the (cache, logits, ro_cache) that forward returns")
    _, logits, ro_cache = state
    dlogits = sequence_loss_backward(logits, targets, weights)
    g_out = linear_backward(dlogits, ro_cache)
    return g_out["h"], {"W_hy": g_out["W"], "b_y": g_out["b"]}


def all_gradients(
    params: dict[str, Array], x: Array, targets: Array, weights: Array, activation: str = "tanh"
) -> dict[str, Array]:
    """Every gradient of the loss: the readout's, the RNN's, ``h0``'s and ``x``'s.

    Parameters
    ----------
    params, x, targets, weights, activation
        As for :func:`forward`.

    Returns
    -------
    dict
        ``W_hy``, ``b_y`` (from :func:`direct_gradients`) and ``W_xh``,
        ``W_hh``, ``b_h``, ``h0``, ``x`` (full BPTT, :func:`seqlib.cells.rnn.rnn_backward`).
    """
    _, state = forward(params, x, targets, weights, activation)
    dh, grads = direct_gradients(state, targets, weights)
    g_rnn = rnn_backward(dh, state[0])
    for k in ("W_xh", "W_hh", "b_h", "h0", "x"):
        grads[k] = g_rnn[k]
    return grads


def flow_setup(
    sigma: float,
    T: int = 40,
    H: int = 32,
    B: int = 4,
    D: int = 8,
    V: int = 10,
    x_scale: float = 0.1,
    seed: int = 1,
) -> tuple[Array, RNNCache, dict[str, Array]]:
    """A tanh RNN with ``||W_hh|| = sigma``, and the direct terms dℓ_t/dh_t.

    The problem of :func:`make_problem` with an orthogonal ``W_hh`` scaled to
    spectral norm ``sigma``, inputs of standard deviation ``x_scale`` and
    ``h0 = 0``.

    Parameters
    ----------
    sigma : float
        Spectral norm of ``W_hh`` (all its singular values), > 0.
    T, H, B, D, V : int
        Sequence length, hidden size, batch size, input size, vocabulary size.
    x_scale : float
        Standard deviation of the inputs.
    seed : int
        Seed of :func:`make_problem`.

    Returns
    -------
    dh : ndarray, shape (B, T, H)
        The direct terms, as :func:`direct_gradients` returns them.
    cache : RNNCache
        The forward pass.
    params : dict
        The parameters, ``h0`` zero.
    """
    sigma = check_real(sigma, "sigma")
    p, xs, ys, ws = make_problem(B, T, D, H, V, seed=seed, W_hh_norm=sigma, x_scale=x_scale)
    p["h0"] = np.zeros((B, H))
    _, state = forward(p, xs, ys, ws)
    dh, _ = direct_gradients(state, ys, ws)
    return dh, state[0], p
