"""Train a vanilla RNN, an LSTM or a GRU on a regression from the last state (the adding problem).

One model for the three cells: the recurrent layer runs over x (B, T, D),
a linear readout maps the last state h_T to a prediction ŷ = h_T W_y + b_y,
and the loss is the mean squared error.  The gradient enters the recurrence
only at step T, so everything the first steps learn has to come back through
T - 1 steps of the backward pass: the setting of the gated-units chapter.
Optimiser and clipping are :class:`seqlib.training.optim.Adam` and
:func:`seqlib.training.clip.clip_by_global_norm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .._validate import (
    _describe, all_finite, check_array, check_choice, check_param_dict, check_positive_int, check_real,
)
from ..cells.activations import ACTIVATIONS
from .clip import _clip_by_global_norm_core
from ..cells.gru import _PARAM_SHAPES as _GRU_SHAPES, _gru_backward_core, _gru_forward_core, init_gru_params
from ..cells.init import _as_rng, glorot_uniform, init_rnn_params
from ..cells.lstm import _PARAM_SHAPES as _LSTM_SHAPES, _lstm_backward_core, _lstm_forward_core, init_lstm_params
from .optim import Adam
from ..cells.rnn import _PARAM_SHAPES as _RNN_SHAPES, _rnn_backward_core, _rnn_forward_core

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

    The cell's are those of :func:`seqlib.cells.init.init_rnn_params` (orthogonal
    ``W_hh``), :func:`seqlib.cells.lstm.init_lstm_params` (with ``forget_bias``) or
    :func:`seqlib.cells.gru.init_gru_params`.
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


#: Every parameter's shape, by cell: the cell's own (the recurrent matrix first: it defines H), then the readout.
_SPECS = {arch: {**shapes, "W_y": ("H", 1), "b_y": (1,)}
          for arch, shapes in (("rnn", _RNN_SHAPES), ("lstm", _LSTM_SHAPES), ("gru", _GRU_SHAPES))}


def _arch_of(params: Any) -> str:
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict name -> array (see init_last_state_model), got {_describe(params)}")
    for arch, keys in _CELL_KEYS.items():
        if set(params) == set(keys) | {"W_y", "b_y"}:
            return arch
    raise ValueError(f"params must hold the keys of one cell plus W_y, b_y: one of "
                     f"{ {a: list(k) for a, k in _CELL_KEYS.items()} }, got {sorted(params)}")


def _check_params(params: Any, inplace: str | None = None) -> tuple[str, dict[str, Array], dict[str, int]]:
    """The cell, every array of ``params`` checked in full (dtype, shape, finiteness), and (D, H)."""
    arch = _arch_of(params)
    dims: dict[str, int] = {}
    p = check_param_dict(params, _SPECS[arch], dims, see=" (see init_last_state_model)", inplace=inplace)
    if min(dims["D"], dims["H"]) < 1:
        raise ValueError(f"params must have D, H >= 1, got (D, H) = {(dims['D'], dims['H'])}")
    return arch, p, dims


def _check_xy(dims: dict[str, int], x: Any, y: Any, names: tuple[str, str] = ("x", "y")) -> tuple[Array, Array | None]:
    """``x`` (B, T, D) for the model's D and, unless None, ``y`` (B, 1), finite."""
    d = {"D": dims["D"]}
    x = check_array(x, names[0], ("B", "T", "D"), d)
    if min(d["B"], d["T"]) < 1:
        raise ValueError(f"{names[0]} must have B, T >= 1, got shape {x.shape}")
    return x, None if y is None else check_array(y, names[1], ("B", 1), d)


def _forward_core(arch: str, p: Mapping[str, Array], x: Array) -> tuple[Array, Any]:
    cell = [p[k] for k in _CELL_KEYS[arch]]
    if arch == "rnn":
        h, cache = _rnn_forward_core(x, None, *cell, ACTIVATIONS["tanh"])
    elif arch == "lstm":
        h, cache = _lstm_forward_core(x, None, None, *cell)
    else:
        h, cache = _gru_forward_core(x, None, *cell)
    return h[:, -1] @ p["W_y"] + p["b_y"], cache


def _loss_and_grads_core(arch: str, p: Mapping[str, Array], x: Array, y: Array) -> tuple[float, dict[str, Array]]:
    yhat, cache = _forward_core(arch, p, x)
    err = yhat - y
    B = err.shape[0]
    loss = float(np.mean(err ** 2))
    dy = 2.0 * err / B  # (B, 1)
    h_T = cache.h[:, -1]
    dh = np.zeros(cache.h.shape, cache.h.dtype)
    dh[:, -1] = dy @ p["W_y"].T
    back = {"rnn": _rnn_backward_core, "lstm": _lstm_backward_core, "gru": _gru_backward_core}[arch]
    g = back(dh, cache)
    grads = {k: g[k] for k in _CELL_KEYS[arch]}
    grads["W_y"] = h_T.T @ dy
    grads["b_y"] = dy.sum(axis=0)
    return loss, grads


def last_state_forward(params: dict[str, Array], x: Array) -> tuple[Array, Any]:
    """Prediction ŷ (B, 1) from the last state, and the cell's cache.

    ``params`` (every array, in full) and ``x`` (B, T, D) are checked here;
    the messages name them as ``params['W_h']`` and ``x``.
    """
    arch, p, dims = _check_params(params)
    x, _ = _check_xy(dims, x, None)
    return _forward_core(arch, p, x)


def last_state_loss_and_grads(params: dict[str, Array], x: Array, y: Array) -> tuple[float, dict[str, Array]]:
    """MSE ``mean((ŷ - y)^2)`` and its gradient with respect to every parameter.

    Parameters
    ----------
    params : dict
        From :func:`init_last_state_model`; every array is checked in full.
    x : array_like (B, T, D)
    y : array_like (B, 1)
    """
    arch, p, dims = _check_params(params)
    x, y = _check_xy(dims, x, y)
    return _loss_and_grads_core(arch, p, x, y)


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

    Raises
    ------
    TypeError, ValueError
        ``params`` (in full: every array a writeable float32 or float64
        ndarray of its shape, finite), ``eval_set`` and the settings are
        checked once, before the first step; each batch as it arrives,
        named ``batch(rng)[0] (x)`` and ``batch(rng)[1] (y)``.
    FloatingPointError
        If an update leaves a parameter NaN or inf (training diverged).
    """
    arch, _, dims = _check_params(params, inplace="train_last_state")
    n_steps = check_positive_int(n_steps, "n_steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    lr = check_real(lr, "lr")
    clip_norm = check_real(clip_norm, "clip_norm")
    if stop_below is not None:
        stop_below = check_real(stop_below, "stop_below", low=-np.inf)
    if not callable(batch):
        raise TypeError(f"batch must be a callable rng -> (x, y), got {_describe(batch)}")
    if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
        raise TypeError(f"eval_set must be a pair (x, y), got {_describe(eval_set)}")
    x_ev, y_ev = _check_xy(dims, *eval_set, names=("eval_set[0] (x)", "eval_set[1] (y)"))
    rng = _as_rng(rng)
    opt = Adam(lr=lr)
    keys = tuple(_SPECS[arch])
    steps, mses = [], []

    def evaluate(step):
        yhat, _ = _forward_core(arch, params, x_ev)
        steps.append(step)
        mses.append(float(np.mean((yhat - y_ev) ** 2)))
        return mses[-1]

    # Checked once above: params (in full), eval_set, the settings.  Each step
    # checks the new batch and that the update left params finite; the cells
    # run unchecked (their cores).
    evaluate(0)
    for step in range(1, n_steps + 1):
        xy = batch(rng)
        if not isinstance(xy, (tuple, list)) or len(xy) != 2:
            raise TypeError(f"batch(rng) must return a pair (x, y), got {_describe(xy)}")
        x, y = _check_xy(dims, *xy, names=("batch(rng)[0] (x)", "batch(rng)[1] (y)"))
        _, grads = _loss_and_grads_core(arch, params, x, y)
        grads, _ = _clip_by_global_norm_core(grads, clip_norm)
        opt.step(params, grads)
        bad = [k for k in keys if not all_finite(params[k])]
        if bad:
            raise FloatingPointError(f"training diverged at step {step}: params[{bad[0]!r}] is no longer finite "
                                     f"(try a smaller lr={lr:g} or clip_norm={clip_norm:g})")
        if step % eval_every == 0 or step == n_steps:
            if evaluate(step) < (stop_below if stop_below is not None else -np.inf):
                break
    return TrainResult(params, np.array(steps), np.array(mses))
