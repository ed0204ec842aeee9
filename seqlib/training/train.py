"""Training a vanilla RNN with a linear readout, and sampling from it.

The model is the book's: the Elman recurrence (eqs. ``rnn_preact``,
``rnn_state``) and the linear readout (eq. ``rnn_readout``), with parameters
``W_xh, W_hh, b_h, W_hy, b_y`` as made by :func:`seqlib.cells.init.init_rnn_params`
and the initial state ``h0 = 0``.  Two losses:

* ``loss="ce"``: the weighted sequence cross-entropy
  (:func:`seqlib.loss.seq_loss.sequence_loss`, eq. ``seq_loss_weighted``), for
  next-token prediction with targets ``(B, T)`` and weights ``(B, T)``;
* ``loss="mse"``: a regression read out at the **last step only**,
  ``L = mean_b mean_v (o_{T,bv} - y_{bv})^2`` with targets ``y`` of shape
  ``(B, V)`` (the adding problem).

One training step computes the loss, back-propagates through the readout and
through time (full BPTT, chunked truncation, eq. ``bptt_truncated``, or
TBPTT(k1, k2), eq. ``tbptt_k1k2``, with the block gradients summed at fixed
parameters), optionally clips the gradient (eqs. ``clip_norm``,
``clip_value``) and lets an optimizer of :mod:`seqlib.training.optim` update the
parameters in place.  :func:`train_rnn` repeats this and returns a
:class:`TrainingHistory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .._validate import (
    _describe, all_finite, as_int_array, check_array, check_bool, check_choice, check_index_range,
    check_param_dict, check_param_layout, check_positive_int, check_real, param_layout,
)
from ..cells.activations import Activation, get_activation
from .bptt import _rnn_backward_tbptt_core
from .clip import _clip_by_global_norm_core, _clip_by_value_core, _norm
from ..cells.init import _as_rng
from ..cells.readout import _linear_backward_core, _linear_forward_core
from ..cells.rnn import _PARAM_SHAPES as _RNN_SHAPES, _rnn_backward_core, _rnn_forward_core
from ..loss.seq_loss import _sequence_loss_and_grad_core, _sequence_loss_core
from ..loss.softmax_ce import _softmax
from ..workspace import Workspace, check_workspace

__all__ = ["RNN_PARAM_NAMES", "TrainingHistory", "loss_and_grads", "evaluate_rnn", "train_rnn", "sample"]

Array = np.ndarray
RNN_PARAM_NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
_LOSSES = ("ce", "mse")


@dataclass
class TrainingHistory:
    """What :func:`train_rnn` records, one entry per step (index 0 = before the first update).

    Attributes
    ----------
    loss : ndarray (steps,)
        Training loss of the step's batch, at the parameters *before* the update.
    grad_norm : ndarray (steps,)
        Global norm of the gradient before clipping.
    clipped : ndarray (steps,) of bool
        Whether clipping changed the gradient at that step.
    eval_step : ndarray (n_eval,) of int
        Steps at which the evaluation set was scored (before that step's update;
        the value at ``steps`` is after the last update).
    eval_loss : ndarray (n_eval,)
        Loss on the evaluation set at those steps.
    loss_kind : str
        ``"ce"`` or ``"mse"``.
    diverged_at : int or None
        First step whose loss or gradient was not finite (training stops there;
        the remaining entries are NaN), or ``None``.
    seconds : float
        Wall-clock time of the run.
    """

    loss: Array
    grad_norm: Array
    clipped: Array
    eval_step: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    eval_loss: Array = field(default_factory=lambda: np.zeros(0))
    loss_kind: str = "ce"
    diverged_at: int | None = None
    seconds: float = 0.0

    @property
    def perplexity(self) -> Array:
        """``exp(loss)`` per step (cross-entropy runs only)."""
        self._need_ce("perplexity")
        return np.exp(self.loss)

    @property
    def eval_perplexity(self) -> Array:
        """``exp(eval_loss)`` (cross-entropy runs only)."""
        self._need_ce("eval_perplexity")
        return np.exp(self.eval_loss)

    def _need_ce(self, what: str) -> None:
        if self.loss_kind != "ce":
            raise ValueError(f"{what} is defined for loss='ce' only, this run used loss={self.loss_kind!r}")

    def __len__(self) -> int:
        return len(self.loss)


# ----------------------------------------------------------------------------- checks


#: Every parameter's shape; W_hh first, as it defines H.
_PARAM_SPEC = {**_RNN_SHAPES, "W_hy": ("H", "V"), "b_y": ("V",)}
_TSPEC = {k: _PARAM_SPEC[k] for k in RNN_PARAM_NAMES}  # the same, in the order the docs list them
_FLAGS_MEAN = (True, True, False, False)  # sequence_loss's defaults: the mean over real tokens


def _check_params(params: Any, inplace: str | None = None) -> tuple[dict[str, Array], dict[str, int]]:
    """Every array of ``params`` checked in full (dtype, shape, finiteness); the arrays and (D, H, V)."""
    dims: dict[str, int] = {}
    p = check_param_dict(params, _PARAM_SPEC, dims, see=" (see seqlib.init_rnn_params)", inplace=inplace)
    if min(dims["D"], dims["H"], dims["V"]) < 1:
        raise ValueError(f"params must have D, H, V >= 1, got (D, H, V) = {(dims['D'], dims['H'], dims['V'])} "
                         f"from params['W_xh'] (D, H) and params['W_hy'] (H, V)")
    return p, dims


def _check_data(
    dims: dict[str, int], x: Any, targets: Any, weights: Any, loss: str,
    names: tuple[str, str, str] = ("x", "targets", "weights"),
) -> tuple[Array, Array, Array | None]:
    """``x`` (B, T, D), the ``targets`` of ``loss`` and the optional ``weights``, against the model's
    sizes ``dims``; every message names the argument as ``names`` spell it."""
    nx, ny, nw = names
    d = {"D": dims["D"], "V": dims["V"]}
    x = check_array(x, nx, ("B", "T", "D"), d)
    if min(d["B"], d["T"]) < 1:
        raise ValueError(f"{nx} must have B, T >= 1, got shape {x.shape}")
    if loss == "ce":
        y = check_array(targets, ny, ("B", "T"), d, integer=True)
        check_index_range(y, ny, d["V"], f"token ids in [0, V) = [0, {d['V']}) (V: the columns of params['W_hy'])")
        w = None if weights is None else check_array(weights, nw, ("B", "T"), d)
        return x, y, w
    if weights is not None:
        raise ValueError(f"{nw} must be None for loss='mse' (the loss is read out at the last step only)")
    try:
        y = check_array(targets, ny, ("B", "V"), d)
    except ValueError as e:
        raise ValueError(f"{e} (loss='mse' wants one target per sequence)") from None
    return x, y, None


def _check_truncate(truncate: Any) -> tuple[str, Any]:
    """``("full", None)``, ``("chunked", k)`` or ``("tbptt", (k1, k2))``."""
    if truncate is None:
        return "full", None
    if isinstance(truncate, tuple):
        if len(truncate) != 2:
            raise ValueError(f"truncate must be None, an int k or a pair (k1, k2), got a tuple of length {len(truncate)}")
        k1 = check_positive_int(truncate[0], "truncate[0] (k1)")
        k2 = check_positive_int(truncate[1], "truncate[1] (k2)")
        if k2 < k1:
            raise ValueError(f"truncate=(k1, k2) needs k2 >= k1, got k1={k1}, k2={k2}")
        return "tbptt", (k1, k2)
    if isinstance(truncate, (int, np.integer)) and not isinstance(truncate, bool):
        return "chunked", check_positive_int(truncate, "truncate")
    raise TypeError(f"truncate must be None, a positive int k or a pair (k1, k2), got {type(truncate).__name__} {truncate!r}")


def _check_clip(clip_norm: Any, clip_value: Any) -> None:
    if clip_norm is not None and clip_value is not None:
        raise ValueError(f"give at most one of clip_norm and clip_value, got clip_norm={clip_norm!r} and clip_value={clip_value!r}")
    if clip_norm is not None:
        check_real(clip_norm, "clip_norm")
    if clip_value is not None:
        check_real(clip_value, "clip_value")


# ----------------------------------------------------------------------------- one step


def _forward_core(p: Mapping[str, Array], x: Array, act: Activation, workspace: Workspace | None = None):
    h, cache = _rnn_forward_core(x, None, p["W_xh"], p["W_hh"], p["b_h"], act, workspace)
    out, ro_cache = _linear_forward_core(h, p["W_hy"], p["b_y"], workspace)
    return out, cache, ro_cache


def _loss_and_grads_core(
    p: Mapping[str, Array], x: Array, y: Array, w: Array | None, loss: str, act: Activation,
    mode: str, k: Any, workspace: Workspace | None = None,
) -> tuple[float, dict[str, Array]]:
    """:func:`loss_and_grads` without its checks: trusts everything as its callers checked it
    (``mode, k`` from :func:`_check_truncate`)."""
    out, cache, ro_cache = _forward_core(p, x, act, workspace)
    B, T, V = out.shape
    if loss == "ce":
        if w is None:
            w = np.ones((B, T), dtype=out.dtype)
        ce, dout = _sequence_loss_and_grad_core(out, y, w, _FLAGS_MEAN, workspace)
        value = float(ce)
    else:
        err = out[:, -1] - y
        value = float(np.mean(err * err))
        dout = np.zeros_like(out)
        dout[:, -1] = (2.0 / err.size) * err
    g_ro = _linear_backward_core(dout, ro_cache, workspace)
    if mode == "tbptt":
        g_rnn = _rnn_backward_tbptt_core(g_ro["h"], cache, *k)
    else:  # g_ro["h"] is scratch: the backward pass may overwrite it
        g_rnn = _rnn_backward_core(g_ro["h"], cache, k, False, workspace, True)
    return value, {"W_xh": g_rnn["W_xh"], "W_hh": g_rnn["W_hh"], "b_h": g_rnn["b_h"], "W_hy": g_ro["W"],
                   "b_y": g_ro["b"]}


def _evaluate_core(p: Mapping[str, Array], x: Array, y: Array, w: Array | None, loss: str, act: Activation) -> float:
    """:func:`evaluate_rnn` without its checks."""
    out, _, _ = _forward_core(p, x, act)
    B, T, V = out.shape
    if loss == "ce":
        return float(_sequence_loss_core(out, y, np.ones((B, T), out.dtype) if w is None else w, _FLAGS_MEAN))
    return float(np.mean((out[:, -1] - y) ** 2))


def loss_and_grads(
    params: Mapping[str, Array],
    x: Array,
    targets: Array,
    weights: Array | None = None,
    *,
    loss: str = "ce",
    activation: str = "tanh",
    truncate: int | tuple[int, int] | None = None,
    workspace: Workspace | None = None,
) -> tuple[float, dict[str, Array]]:
    """The loss of one batch and its gradient with respect to every parameter.

    The forward pass is :func:`rnn_forward` then :func:`linear_forward`; for
    ``loss="ce"`` the loss and its gradient come from one softmax
    (:func:`sequence_loss_and_grad`); the backward pass is
    :func:`linear_backward` then :func:`rnn_backward` (or
    :func:`rnn_backward_tbptt`), without the gradient w.r.t. the data ``x``.

    Parameters
    ----------
    params : dict
        ``W_xh (D, H)``, ``W_hh (H, H)``, ``b_h (H,)``, ``W_hy (H, V)``, ``b_y (V,)``.
    x : array_like (B, T, D)
        Inputs.
    targets : array_like
        ``loss="ce"``: token ids ``(B, T)``; ``loss="mse"``: values ``(B, V)``
        for the last step.
    weights : array_like (B, T), optional
        ``loss="ce"`` only: token weights (default all ones).
    loss : {"ce", "mse"}
    activation : str
        The RNN's nonlinearity.
    truncate : None, int or (int, int)
        ``None``: full BPTT; ``k``: chunked truncation,
        ``rnn_backward(..., truncate=k)``; ``(k1, k2)``:
        ``rnn_backward_tbptt(..., k1, k2)``.
    workspace : Workspace, optional
        Reuse the large intermediate arrays of the previous call with the same
        workspace (see :mod:`seqlib.workspace`); the returned gradients are
        always fresh arrays.  :func:`train_rnn` passes one.

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params``.

    Raises
    ------
    TypeError, ValueError
        Checked here, once, and nowhere below: every array of ``params`` in
        full (real dtype, shape, finite), ``x``, ``targets`` (ids in
        ``[0, V)`` or finite values), ``weights`` and the settings.  The
        message names the argument as the caller wrote it, e.g.
        ``params['W_hh'] must be finite``.
    """
    p, dims = _check_params(params)
    check_choice(loss, "loss", _LOSSES)
    act = get_activation(activation)
    mode, k = _check_truncate(truncate)
    workspace = check_workspace(workspace)
    x, y, w = _check_data(dims, x, targets, weights, loss)
    return _loss_and_grads_core(p, x, y, w, loss, act, mode, k, workspace)


def evaluate_rnn(
    params: Mapping[str, Array],
    x: Array,
    targets: Array,
    weights: Array | None = None,
    *,
    loss: str = "ce",
    activation: str = "tanh",
) -> float:
    """The loss of ``params`` on a batch, forward pass only (see :func:`loss_and_grads`)."""
    p, dims = _check_params(params)
    check_choice(loss, "loss", _LOSSES)
    act = get_activation(activation)
    x, y, w = _check_data(dims, x, targets, weights, loss)
    return _evaluate_core(p, x, y, w, loss, act)


# ----------------------------------------------------------------------------- the loop


def train_rnn(
    params: dict[str, Array],
    batches: Callable[[np.random.Generator], tuple],
    steps: int,
    *,
    optimizer: Any,
    rng: np.random.Generator | int,
    loss: str = "ce",
    activation: str = "tanh",
    truncate: int | tuple[int, int] | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    eval_data: tuple | None = None,
    eval_every: int = 0,
    progress: bool = False,
    callback: Callable[[int, dict[str, Array], float], None] | None = None,
) -> TrainingHistory:
    """Train ``params`` in place for ``steps`` steps and return the :class:`TrainingHistory`.

    Each step draws a batch ``batches(rng)``, computes :func:`loss_and_grads`,
    records the loss and the gradient's global norm, clips if asked, and calls
    ``optimizer.step(params, grads)``.  Given the same ``params``, ``batches``,
    optimizer state and seed, two runs are identical.

    Parameters
    ----------
    params : dict
        Modified in place (keys as :func:`seqlib.cells.init.init_rnn_params`).
    batches : callable
        ``batches(rng) -> (x, targets)`` or ``(x, targets, weights)``, drawing
        from the Generator it is given.
    steps : int
        Number of parameter updates.
    optimizer : object with ``step(params, grads)``
        E.g. ``seqlib.Adam(lr=1e-2)``.
    rng : numpy.random.Generator or int
        Passed to ``batches``.
    loss, activation, truncate
        As :func:`loss_and_grads`.
    clip_norm : float, optional
        Clip by global norm (eq. ``clip_norm``); ``clipped`` records norm > clip_norm.
    clip_value : float, optional
        Clip each entry (eq. ``clip_value``); ``clipped`` records any entry beyond it.
        At most one of ``clip_norm`` and ``clip_value``.
    eval_data : tuple, optional
        ``(x, targets)`` or ``(x, targets, weights)``, scored every
        ``eval_every`` steps and after the last one.
    eval_every : int
        0 (default) scores ``eval_data`` only before the first and after the last step.
    progress : bool
        Show a ``tqdm.auto`` progress bar.  Off by default: a terminal bar
        writes to stderr and a notebook bar leaves a widget in saved notebooks.
    callback : callable, optional
        ``callback(step, params, loss)`` after each update.

    Returns
    -------
    TrainingHistory

    Raises
    ------
    TypeError, ValueError
        ``params`` (in full: every array a writeable float32 or float64
        ndarray of the right shape, finite), ``eval_data`` and the settings
        are checked once, before the first step; each batch is checked as it
        arrives, named ``batches(rng)[0] (x)`` and so on.
    """
    import time

    _, dims = _check_params(params, inplace="train_rnn")
    steps = check_positive_int(steps, "steps")
    check_choice(loss, "loss", _LOSSES)
    act = get_activation(activation)
    mode, k = _check_truncate(truncate)
    _check_clip(clip_norm, clip_value)
    if not callable(batches):
        raise TypeError(f"batches must be a callable rng -> (x, targets[, weights]), got {type(batches).__name__}")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method (e.g. seqlib.Adam), got {type(optimizer).__name__}")
    if isinstance(eval_every, bool) or not isinstance(eval_every, (int, np.integer)) or eval_every < 0:
        raise ValueError(f"eval_every must be an int >= 0, got {eval_every!r}")
    if eval_every and eval_data is None:
        raise ValueError(f"eval_every={eval_every} needs eval_data")
    ev = None
    if eval_data is not None:
        if not isinstance(eval_data, tuple) or len(eval_data) not in (2, 3):
            raise TypeError(f"eval_data must be a tuple (x, targets) or (x, targets, weights), got {_describe(eval_data)}")
        ev = _check_data(dims, *eval_data, *([None] * (3 - len(eval_data))), loss,
                         names=("eval_data[0] (x)", "eval_data[1] (targets)", "eval_data[2] (weights)"))
    check_bool(progress, "progress")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a callable (step, params, loss) or None, got {_describe(callback)}")
    rng = _as_rng(rng)
    layout = param_layout(params, RNN_PARAM_NAMES)
    batch_names = ("batches(rng)[0] (x)", "batches(rng)[1] (targets)", "batches(rng)[2] (weights)")

    loss_h = np.full(steps, np.nan)
    norm_h = np.full(steps, np.nan)
    clip_h = np.zeros(steps, dtype=bool)
    ev_step: list[int] = []
    ev_loss: list[float] = []

    def score(step: int) -> None:
        if ev is not None:
            ev_step.append(step)
            ev_loss.append(_evaluate_core(params, *ev, loss, act))

    it = range(steps)
    if progress:
        from tqdm.auto import tqdm  # imported only when asked for

        it = tqdm(it, desc="training", leave=False)
    diverged = None
    workspace = Workspace()  # the step's large arrays, allocated once for the whole run
    t0 = time.perf_counter()
    # Checked once above: params (in full), the settings, eval_data.  Each step
    # checks only what is new, the batch, and that params kept their layout;
    # the model's layers then run unchecked (their cores).
    with np.errstate(over="ignore", invalid="ignore"):
        for step in it:
            if ev is not None and (step == 0 or (eval_every and step % eval_every == 0)):
                score(step)
            batch = batches(rng)
            if not isinstance(batch, tuple) or len(batch) not in (2, 3):
                raise TypeError(f"batches(rng) must return (x, targets) or (x, targets, weights), got {type(batch).__name__}")
            x, y, w = _check_data(dims, *batch, *([None] * (3 - len(batch))), loss, names=batch_names)
            value, grads = _loss_and_grads_core(params, x, y, w, loss, act, mode, k, workspace)
            loss_h[step] = value
            norm = _norm(grads)
            norm_h[step] = norm
            if not (np.isfinite(value) and np.isfinite(norm)):
                diverged = step
                break
            if clip_norm is not None:
                grads, _ = _clip_by_global_norm_core(grads, float(clip_norm), norm)
                clip_h[step] = norm > clip_norm
            elif clip_value is not None:
                clip_h[step] = any(bool(np.any(np.abs(g) > clip_value)) for g in grads.values())
                grads = _clip_by_value_core(grads, float(clip_value))
            optimizer.step(params, grads)
            check_param_layout(params, layout, f"after step {step} (optimizer.step changed it)")
            if not all(all_finite(params[name]) for name in RNN_PARAM_NAMES):
                diverged = step
                break
            if callback is not None:
                callback(step, params, value)
                check_param_layout(params, layout, f"after step {step} (callback changed it)")
    if diverged is None:
        if ev is not None and (not ev_step or ev_step[-1] != steps):
            score(steps)
    if progress:
        it.close()
    return TrainingHistory(
        loss=loss_h,
        grad_norm=norm_h,
        clipped=clip_h,
        eval_step=np.array(ev_step, dtype=np.int64),
        eval_loss=np.array(ev_loss, dtype=np.float64),
        loss_kind=loss,
        diverged_at=diverged,
        seconds=time.perf_counter() - t0,
    )


# ----------------------------------------------------------------------------- sampling


def sample(
    params: Mapping[str, Array],
    n: int,
    *,
    bos: int,
    eos: int | None = None,
    max_len: int = 100,
    temperature: float = 1.0,
    rng: np.random.Generator | int,
    activation: str = "tanh",
) -> list[list[int]]:
    """Draw ``n`` token sequences from a character-level RNN language model.

    Starting from ``h0 = 0`` and the input ``bos`` (one-hot, ``D = V``), each
    step computes ``o_t`` (eq. ``rnn_readout``) and draws the next token from
    ``softmax(o_t / temperature)``; that token is the next input.  A sequence
    stops after ``eos`` (which is not included) or ``max_len`` tokens.
    ``temperature = 0`` takes the most probable token (greedy decoding).

    Returns
    -------
    list of lists of int
        The sampled token ids, ``bos`` and ``eos`` excluded; a sequence
        without ``eos`` was cut at ``max_len``.
    """
    p, dims = _check_params(params)
    n = check_positive_int(n, "n")
    max_len = check_positive_int(max_len, "max_len")
    temperature = check_real(temperature, "temperature", low_open=False)
    act = get_activation(activation)
    V = dims["V"]
    if dims["D"] != V:
        raise ValueError(f"sample needs a language model with one-hot inputs, D = V, got D={dims['D']} "
                         f"(params['W_xh'] rows), V={V} (params['W_hy'] columns)")
    for name, tok in (("bos", bos), ("eos", eos)):
        if tok is not None:
            as_int_array(tok, name)
            if not (isinstance(tok, (int, np.integer)) and 0 <= tok < V):
                raise ValueError(f"{name} must be a token id in [0, {V}), got {tok!r}")
    rng = _as_rng(rng)
    dtype = p["W_xh"].dtype
    h = np.zeros((n, dims["H"]), dtype)
    tok = np.full(n, bos, dtype=np.int64)
    out = np.zeros((n, max_len), dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    lengths = np.full(n, max_len)
    eye = np.eye(V, dtype=dtype)
    for t in range(max_len):
        h, _ = _rnn_forward_core(eye[tok][:, None], h, p["W_xh"], p["W_hh"], p["b_h"], act)
        h = h[:, 0]
        o = h @ p["W_hy"] + p["b_y"]
        if temperature == 0.0:
            tok = np.argmax(o, axis=1)
        else:
            probs = _softmax(o / temperature, -1)
            u = rng.random((n, 1))
            tok = np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), V - 1)
        out[:, t] = tok
        if eos is not None:
            new = (tok == eos) & ~done
            lengths[new] = t
            done |= new
            if done.all():
                break
    return [out[i, : lengths[i]].tolist() for i in range(n)]
