"""Train a vanilla RNN, an LSTM or a GRU on a regression from the last state (the adding problem).

One model for the three cells: the recurrent layer runs over x (B, T, D),
a linear readout maps the last state h_T to a prediction ŷ = h_T W_y + b_y,
and the loss is the mean squared error.  The gradient enters the recurrence
only at step T, so everything the first steps learn has to come back through
T - 1 steps of the backward pass: the setting of the gated-units chapter.
Optimiser and clipping are :class:`seqlib.optim.Adam` and
:func:`seqlib.clip.clip_by_global_norm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._validate import as_float_array, check_choice, check_positive_int, check_real, check_shape
from .clip import clip_by_global_norm
from .gru import gru_backward, gru_forward, init_gru_params
from .init import _as_rng, glorot_uniform, init_rnn_params
from .lstm import init_lstm_params, lstm_backward, lstm_forward
from .optim import Adam
from .rnn import rnn_backward, rnn_forward

__all__ = ["ARCHS", "init_last_state_model", "last_state_forward", "last_state_loss_and_grads", "train_last_state",
           "TrainResult"]

Array = np.ndarray

#: The three cells, by name.
ARCHS = ("rnn", "lstm", "gru")

_CELL_KEYS = {"rnn": ("W_xh", "W_hh", "b_h"), "lstm": ("W_x", "W_h", "b"), "gru": ("W_x", "W_h", "b_x", "b_h")}


def init_last_state_model(
    arch: str, D: int, H: int, *, rng: np.random.Generator | int, forget_bias: float = 1.0
) -> dict[str, Array]:
    """Parameters of a cell plus a readout ``W_y`` (H, 1), ``b_y`` (1,), float64.

    The cell's are those of :func:`seqlib.init.init_rnn_params` (orthogonal
    ``W_hh``), :func:`seqlib.lstm.init_lstm_params` (with ``forget_bias``) or
    :func:`seqlib.gru.init_gru_params`.
    """
    check_choice(arch, "arch", ARCHS)
    rng = _as_rng(rng)
    if arch == "rnn":
        p = init_rnn_params(D, H, 1, rng=rng)
        p.pop("W_hy"), p.pop("b_y")
    elif arch == "lstm":
        p = init_lstm_params(D, H, rng=rng, forget_bias=forget_bias)
    else:
        p = init_gru_params(D, H, rng=rng)
    p["W_y"] = glorot_uniform(H, 1, rng=rng)
    p["b_y"] = np.zeros(1)
    return p


def _arch_of(params: dict[str, Array]) -> str:
    for arch, keys in _CELL_KEYS.items():
        if set(params) == set(keys) | {"W_y", "b_y"}:
            return arch
    raise ValueError(f"params must hold the keys of one cell plus W_y, b_y: one of "
                     f"{ {a: list(k) for a, k in _CELL_KEYS.items()} }, got {sorted(params)}")


def last_state_forward(params: dict[str, Array], x: Array) -> tuple[Array, Any]:
    """Prediction ŷ (B, 1) from the last state, and the cell's cache."""
    arch = _arch_of(params)
    x = as_float_array(x, "x")
    cell = [params[k] for k in _CELL_KEYS[arch]]
    if arch == "rnn":
        h, cache = rnn_forward(x, None, *cell)
    elif arch == "lstm":
        h, cache = lstm_forward(x, None, None, *cell)
    else:
        h, cache = gru_forward(x, None, *cell)
    return h[:, -1] @ params["W_y"] + params["b_y"], cache


def last_state_loss_and_grads(params: dict[str, Array], x: Array, y: Array) -> tuple[float, dict[str, Array]]:
    """MSE ``mean((ŷ - y)^2)`` and its gradient with respect to every parameter.

    Parameters
    ----------
    params : dict
        From :func:`init_last_state_model`.
    x : array_like (B, T, D)
    y : array_like (B, 1)
    """
    arch = _arch_of(params)
    yhat, cache = last_state_forward(params, x)
    y = as_float_array(y, "y")
    check_shape(y, "y", (yhat.shape[0], 1), {})
    err = yhat - y
    B = err.shape[0]
    loss = float(np.mean(err ** 2))
    dy = 2.0 * err / B  # (B, 1)
    h_T = cache.h[:, -1]
    dh = np.zeros(cache.h.shape, cache.h.dtype)
    dh[:, -1] = dy @ params["W_y"].T
    back = {"rnn": rnn_backward, "lstm": lstm_backward, "gru": gru_backward}[arch]
    g = back(dh, cache)
    grads = {k: g[k] for k in _CELL_KEYS[arch]}
    grads["W_y"] = h_T.T @ dy
    grads["b_y"] = dy.sum(axis=0)
    return loss, grads


@dataclass
class TrainResult:
    """What :func:`train_last_state` returns.

    Attributes
    ----------
    params : dict
        The trained parameters.
    steps : ndarray (n,)
        Steps at which the held-out MSE was measured.
    eval_mse : ndarray (n,)
        Held-out MSE at those steps.
    """

    params: dict[str, Array]
    steps: Array
    eval_mse: Array


def train_last_state(
    params: dict[str, Array],
    batch: Callable[[np.random.Generator], tuple[Array, Array]],
    n_steps: int,
    eval_set: tuple[Array, Array],
    *,
    rng: np.random.Generator | int,
    lr: float = 1e-2,
    clip_norm: float = 1.0,
    eval_every: int = 100,
    stop_below: float | None = None,
) -> TrainResult:
    """Adam with global-norm clipping on fresh batches; held-out MSE every ``eval_every`` steps.

    Parameters
    ----------
    params : dict
        Updated in place (and returned in the result).
    batch : callable
        ``batch(rng) -> (x, y)``, a fresh training batch.
    n_steps : int
    eval_set : (x, y)
    rng : Generator or int
        Seeds the batches.
    lr, clip_norm : float
    eval_every : int
    stop_below : float, optional
        Stop early once the held-out MSE is below this.
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    lr = check_real(lr, "lr")
    clip_norm = check_real(clip_norm, "clip_norm")
    rng = _as_rng(rng)
    opt = Adam(lr=lr)
    x_ev, y_ev = eval_set
    steps, mses = [], []

    def evaluate(step):
        yhat, _ = last_state_forward(params, x_ev)
        steps.append(step)
        mses.append(float(np.mean((yhat - y_ev) ** 2)))
        return mses[-1]

    evaluate(0)
    for step in range(1, n_steps + 1):
        x, y = batch(rng)
        _, grads = last_state_loss_and_grads(params, x, y)
        grads, _ = clip_by_global_norm(grads, clip_norm)
        opt.step(params, grads)
        if step % eval_every == 0 or step == n_steps:
            if evaluate(step) < (stop_below if stop_below is not None else -np.inf):
                break
    return TrainResult(params, np.array(steps), np.array(mses))
