"""The unrolled RNN, one step at a time: the forward pass, then back-propagation through time.

A tiny seeded RNN (B = 1, H = 3, D = 2 inputs, V = 3 classes) run by seqlib:
:func:`seqlib.cells.rnn.rnn_forward`, the readout :func:`seqlib.cells.readout.linear_forward`,
the per-step loss :func:`seqlib.loss.seq_loss.token_cross_entropy` with L = Σ_t ℓ_t;
backwards, :func:`seqlib.loss.softmax_ce.cross_entropy_backward`,
:func:`seqlib.cells.readout.linear_backward` and the δ recursion of
:func:`seqlib.cells.rnn.rnn_backward` (eq. ``bptt_delta``), keeping every δ_t, the
term carried back from step t+1, and dW_hh as it accumulates.

:func:`unrolled_graph_widget` draws the graph x_t → h_t → ℓ_t as SVG and steps
through "forward 0" … "forward T", then "backward T" … "backward 1"
(:func:`step_label`; the page gets these labels in ``options["step_labels"]``),
with a slider for ||W_hh|| (the spectral norm, as in the book) and a toggle for the
activation.  The page's numbers come from ``js/mirror/unrolled.js`` (with
``js/mirror/rnn.js``); seqlib computes them in a kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .. import loss
from ..cells import init, readout, rnn
from ..cells.activations import ACTIVATIONS
from ._engine import BookWidget

__all__ = ["unrolled_graph_widget", "unrolled_data", "unrolled_base", "unrolled_pass", "Unrolled",
           "UnrolledWidget", "step_label", "unrolled_alt", "ACTIVATION_ORDER", "NORM_STOPS", "T_MAX"]

#: The activation toggle's buttons, in order.
ACTIVATION_ORDER: tuple[str, ...] = ("tanh", "relu", "linear", "sigmoid")

#: Stops of the ||W_hh|| slider: steps of 0.05 below 1 and 0.1 above, roughly even in log scale
#: (each step 5 to 10 % of the value), from 0.5 to 2; 21 stops, 0.9 and 1 among them.
NORM_STOPS: tuple[float, ...] = tuple([round(0.5 + 0.05 * i, 2) for i in range(10)]
                                      + [round(1.0 + 0.1 * i, 1) for i in range(11)])

#: Largest number of steps the graph draws.
T_MAX = 9

#: Largest ||W_hh|| a setting may ask for (the slider stops at 2; ``show`` accepts up to this).
NORM_MAX = 10.0


@dataclass(frozen=True)
class Unrolled:
    """The forward and backward pass of the tiny RNN, all from seqlib.

    Attributes
    ----------
    h : ndarray (T + 1, H)
        h_0..h_T (h_0 = 0).
    a : ndarray (T, H)
        Pre-activations a_1..a_T.
    losses : ndarray (T,)
        ℓ_1..ℓ_T; L = Σ_t ℓ_t.
    dh : ndarray (T, H)
        The direct terms ∂ℓ_t/∂h_t.
    carried : ndarray (T, H)
        ``carried[t-1]`` = δ_{t+1} diag(f'(a_{t+1})) W_hhᵀ, the term of δ_t carried back from
        step t+1 (zero for t = T).
    deltas : ndarray (T, H)
        δ_t = dL/dh_t for t = 1..T (eq. ``bptt_delta``): ``dh + carried``.
    fprime : ndarray (T, H)
        f'(a_t).
    dW_hh_partial : ndarray (T, H, H)
        ``dW_hh_partial[t-1]`` = Σ_{s >= t} h_{s-1}ᵀ (δ_s ⊙ f'(a_s)): dW_hh after
        the backward pass has reached step t; ``[0]`` is the full gradient.
    dW_hh : ndarray (H, H)
        ``rnn_backward(...)["W_hh"]``.
    activation : str
    """

    h: np.ndarray
    a: np.ndarray
    losses: np.ndarray
    dh: np.ndarray
    carried: np.ndarray
    deltas: np.ndarray
    fprime: np.ndarray
    dW_hh_partial: np.ndarray
    dW_hh: np.ndarray
    activation: str

    @property
    def T(self) -> int:
        return self.losses.shape[0]


# ----------------------------------------------------------------------------------------- checks


def _check_T(T: Any) -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or not 1 <= T <= T_MAX:
        raise ValueError(f"T must be an int in [1, {T_MAX}], got {T!r}")
    return int(T)


def _check_activation(activation: Any, key: str = "activation") -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"{key} must be one of {list(ACTIVATION_ORDER)}, got {activation!r}")
    return activation


def _check_norm(value: Any, key: str = "spectral_norm") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{key} must be a float in (0, {NORM_MAX}] (||W_hh||), got {type(value).__name__} {value!r}")
    v = float(value)
    if not (math.isfinite(v) and 0.0 < v <= NORM_MAX):
        raise ValueError(f"{key} must be a float in (0, {NORM_MAX}] (||W_hh||), got {value!r}")
    return v


def _check_size(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 16:
        raise ValueError(f"{key} must be an int in [1, 16], got {value!r}")
    return int(value)


# ----------------------------------------------------------------------------------------- numbers


def unrolled_base(T: int = 5, *, seed: int = 0, H: int = 3, D: int = 2, V: int = 3) -> dict[str, np.ndarray]:
    """The seeded draws of the tiny RNN: weights with ||W_hh|| = 1, inputs and targets.

    Drawn in the order of :func:`seqlib.cells.init.init_rnn_params` (W_xh, W_hh, W_hy), then x, then y,
    from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    T : int in [1, 9]
        Number of steps.
    seed : int
    H, D, V : int in [1, 16]
        Hidden, input and output sizes.

    Returns
    -------
    dict
        ``"x"``: (T, D), ``"y"``: (T,) int in [0, V), ``"W_xh"``: (D, H),
        ``"W_hh_unit"``: (H, H) orthogonal (spectral norm 1), ``"b_h"``: (H,),
        ``"W_hy"``: (H, V), ``"b_y"``: (V,).
    """
    T = _check_T(T)
    H, D, V = (_check_size(v, k) for v, k in ((H, "H"), (D, "D"), (V, "V")))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    rng = np.random.default_rng(seed)
    p = init.init_rnn_params(D, H, V, rng=rng, W_hh_spectral_norm=1.0)
    x = rng.standard_normal((T, D))
    y = rng.integers(0, V, size=T)
    return {"x": x, "y": y, "W_xh": p["W_xh"], "W_hh_unit": p["W_hh"], "b_h": p["b_h"],
            "W_hy": p["W_hy"], "b_y": p["b_y"]}


def unrolled_pass(base: Mapping[str, Any], activation: str = "tanh", spectral_norm: float = 0.9) -> Unrolled:
    """Forward and backward pass of the tiny RNN of ``base`` with seqlib, W_hh = spectral_norm · W_hh_unit.

    Parameters
    ----------
    base : dict
        As :func:`unrolled_base` returns it (arrays or nested lists).
    activation : {"tanh", "relu", "linear", "sigmoid"}
    spectral_norm : float in (0, 10]
        ||W_hh|| (spectral norm).

    Returns
    -------
    Unrolled
    """
    activation = _check_activation(activation)
    s = _check_norm(spectral_norm)
    x = np.asarray(base["x"], np.float64)[None]  # (1, T, D)
    y = np.asarray(base["y"], np.int64)[None]  # (1, T)
    W_xh, b_h = np.asarray(base["W_xh"], np.float64), np.asarray(base["b_h"], np.float64)
    W_hy, b_y = np.asarray(base["W_hy"], np.float64), np.asarray(base["b_y"], np.float64)
    W_hh = np.asarray(base["W_hh_unit"], np.float64) * s
    T = x.shape[1]
    h, cache = rnn.rnn_forward(x, None, W_xh, W_hh, b_h, activation)
    o, ocache = readout.linear_forward(h, W_hy, b_y)
    losses = loss.token_cross_entropy(o, y)[0]  # L = Σ_t ℓ_t
    dh = readout.linear_backward(loss.cross_entropy_backward(o, y), ocache)["h"]  # ∂ℓ_t/∂h_t, (1, T, H)
    fprime = cache.fprime()
    deltas = np.zeros_like(dh)
    # The recursion of rnn_backward, keeping every δ_t (eq. bptt_delta); g_t = δ_t ⊙ f'(a_t).
    g = rnn._backprop_windows(dh, fprime, np.ascontiguousarray(W_hh.T), rnn._chunk_windows(T, None), deltas)[0]
    carried = np.zeros_like(g)
    carried[:-1] = g[1:] @ W_hh.T  # δ_{t+1} diag(f'(a_{t+1})) W_hhᵀ (eq. bptt_jacobian)
    h_all = np.concatenate([cache.h0, h[0]])  # (T+1, H)
    terms = h_all[:-1, :, None] * g[:, None, :]  # h_{t-1}ᵀ g_t, (T, H, H)
    partial = np.cumsum(terms[::-1], axis=0)[::-1]  # running sum from t = T down
    dW = rnn.rnn_backward(dh, cache)["W_hh"]
    return Unrolled(h_all, np.array(cache.a[0]), losses, np.array(dh[0]), carried, deltas[0], fprime[0],
                    partial, dW, activation)


def unrolled_data(T: int = 5, activation: str = "tanh", spectral_norm: float = 0.9, *, seed: int = 0,
                  H: int = 3, D: int = 2, V: int = 3) -> Unrolled:
    """Forward and backward pass of the tiny RNN with seqlib (what the widget shows for this setting).

    Parameters
    ----------
    T : int in [1, 9]
        Number of steps.
    activation : {"tanh", "relu", "linear", "sigmoid"}
    spectral_norm : float in (0, 10]
        ||W_hh|| (spectral norm).
    seed : int
    H, D, V : int
        Hidden, input and output sizes.

    Returns
    -------
    Unrolled
    """
    return unrolled_pass(unrolled_base(T, seed=seed, H=H, D=D, V=V), activation, spectral_norm)


def step_label(step: int, T: int) -> str:
    """The stepper's label for ``step`` in 0..2T, in the time index t of the chapter.

    Steps 0..T are the forward pass, "forward t" reaching h_t (h_0 is set, h_1..h_T
    computed); steps T+1..2T are the backward pass, "backward t" computing δ_t for
    t = T, ..., 1.
    """
    return f"forward {step}" if step <= T else f"backward {2 * T + 1 - step}"


def unrolled_alt(data: Unrolled, step: int) -> str:
    """A description of the picture at ``step``, for readers who cannot see it (text alternative)."""
    T = data.T
    if step <= T:
        t = step
        done = f"States h0 to h{t} are computed" if t else "Only the initial state h0 = 0 is set"
        return (f"The RNN unrolled over {T} steps, forward pass at step {t} of {T}. {done}; "
                f"the norm of h{t} is {np.linalg.norm(data.h[t]):.2f}"
                + (f" and the loss l{t} is {data.losses[t - 1]:.2f}" if t else "") + ".")
    t = 2 * T + 1 - step
    return (f"The RNN unrolled over {T} steps, backward pass at step {t}: gradients have flowed from the "
            f"losses l{T} to l{t} into the states and from h{T} back to h{t}. The norm of "
            f"delta{t} = dL/dh{t} is {np.linalg.norm(data.deltas[t - 1]):.3f}; the running Frobenius norm of "
            f"dW_hh is {np.linalg.norm(data.dW_hh_partial[t - 1]):.3f}.")


# ----------------------------------------------------------------------------------------- widget


class UnrolledWidget(BookWidget):
    """The unrolled graph, stepped through the forward pass and the δ recursion.

    Setting: ``step`` (int in [0, 2T], see :func:`step_label`), ``spectral_norm``
    (||W_hh||, float in (0, 10]; the slider's stops are :data:`NORM_STOPS`),
    ``activation`` (one of :data:`ACTIVATION_ORDER`).  ``compute`` returns the
    whole pass (it does not depend on ``step``, which only chooses what is drawn).
    The page names the steps with ``options["step_labels"]`` (:func:`step_label`
    of 0..2T), so the JavaScript keeps no copy of the labels.

    Parameters
    ----------
    T : int in [1, 9]
    step, spectral_norm, activation
        The initial setting.
    seed : int
    interval_ms : int >= 100
        Milliseconds per step of the play button.
    """

    VIEW = "unrolled"
    MIRRORS = ("rnn", "unrolled")

    def __init__(self, T: int = 5, *, step: int = 0, spectral_norm: float = 0.9, activation: str = "tanh",
                 seed: int = 0, interval_ms: int = 900) -> None:
        self._T = _check_T(T)
        if isinstance(interval_ms, bool) or not isinstance(interval_ms, (int, np.integer)) or interval_ms < 100:
            raise ValueError(f"interval_ms must be an int >= 100, got {interval_ms!r}")
        base = unrolled_base(self._T, seed=seed)
        self._base_np = base
        H = base["W_hh_unit"].shape[0]
        options = {"T": self._T, "H": H, "D": base["x"].shape[1], "V": base["W_hy"].shape[1],
                   "step_labels": [step_label(k, self._T) for k in range(2 * self._T + 1)],
                   "spectral_norms": list(NORM_STOPS), "activations": list(ACTIVATION_ORDER),
                   "interval_ms": int(interval_ms), "seed": int(seed)}
        super().__init__({"step": step, "spectral_norm": spectral_norm, "activation": activation},
                         base=base, options=options)

    def check_setting(self, setting: dict[str, Any]) -> dict[str, Any]:
        """``setting`` checked and completed with the defaults (step 0, ||W_hh|| 0.9, tanh).

        Raises
        ------
        ValueError
            Naming the key: an unknown key, ``step`` outside [0, 2T], ``spectral_norm``
            outside (0, 10], an unknown ``activation``.
        TypeError
            If ``step`` is not an int or ``spectral_norm`` not a number.
        """
        keys = {"step", "spectral_norm", "activation"}
        unknown = sorted(set(setting) - keys)
        if unknown:
            raise ValueError(f"setting has unknown keys {unknown}; the keys are {sorted(keys)}")
        out = {"step": 0, "spectral_norm": 0.9, "activation": "tanh", **setting}
        step, T = out["step"], self._T
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int in [0, 2T] = [0, {2 * T}], got {type(step).__name__} {step!r}")
        if not 0 <= step <= 2 * T:
            raise ValueError(f"step must be an int in [0, 2T] = [0, {2 * T}] "
                             f"(0..T forward, T+1..2T backward), got {step!r}")
        return {"step": int(step), "spectral_norm": _check_norm(out["spectral_norm"]),
                "activation": _check_activation(out["activation"])}

    def compute(self, setting: Mapping[str, Any]) -> dict[str, Any]:
        """seqlib's numbers of the whole pass for ``setting`` (the same keys as the view's ``compute``).

        Returns
        -------
        dict
            ``h`` (T+1, H), ``a``, ``xin`` = x_t W_xh + b_h, ``rec`` = h_{t-1} W_hh, ``fprime``,
            ``dh`` = ∂ℓ_t/∂h_t, ``carried``, ``deltas`` (each (T, H)), ``losses`` (T),
            ``dW_hh`` (T, H, H) running sums, ``h_norms`` (T+1), ``delta_norms`` (T),
            ``dW_norms`` (T) Frobenius norms.
        """
        d = unrolled_pass(self._base_np, setting["activation"], setting["spectral_norm"])
        b = self._base_np
        W_hh = np.asarray(b["W_hh_unit"]) * float(setting["spectral_norm"])
        return {
            "h": d.h, "a": d.a, "xin": b["x"] @ b["W_xh"] + b["b_h"], "rec": d.h[:-1] @ W_hh,
            "fprime": d.fprime, "losses": d.losses, "dh": d.dh, "carried": d.carried, "deltas": d.deltas,
            "dW_hh": d.dW_hh_partial,
            "h_norms": np.linalg.norm(d.h, axis=1), "delta_norms": np.linalg.norm(d.deltas, axis=1),
            "dW_norms": np.linalg.norm(d.dW_hh_partial, axis=(1, 2)),
        }

    def random_settings(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        """``n`` settings over every control's range: any step, ||W_hh|| log-uniform in [0.5, 2], any f.

        The first four take each activation at the ends of the slider (0.5 and 2).
        """
        out = []
        for i in range(n):
            act = ACTIVATION_ORDER[i % len(ACTIVATION_ORDER)] if i < 8 else str(rng.choice(ACTIVATION_ORDER))
            s = (0.5, 2.0)[(i // 4) % 2] if i < 8 else float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
            out.append({"step": int(rng.integers(0, 2 * self._T + 1)), "spectral_norm": s, "activation": act})
        return out


def unrolled_graph_widget(T: int = 5, activation: str = "tanh", spectral_norm: float = 0.9, *, step: int = 0,
                          seed: int = 0, interval_ms: int = 900) -> UnrolledWidget:
    """Step through the forward pass h_0 → … → h_T, then the backward pass δ_T, …, δ_1.

    The stepper (with play/pause) counts in the time index t of the chapter:
    "forward 0" … "forward T" (reaching h_t), then "backward T" … "backward 1"
    (computing δ_t); its values are 0..2T (:func:`step_label`).  Each step
    highlights the edges just used; a backward step shows the equation
    δ_t = ∂ℓ_t/∂h_t + δ_{t+1} diag(f'(a_{t+1})) W_hhᵀ term by term, entry by
    entry, and dW_hh accumulating (its Frobenius norm ||dW_hh||_F).  A slider sets ||W_hh|| (0.5 to 2) and a
    toggle the activation, to watch the carried term shrink or grow.

    Parameters
    ----------
    T : int in [1, 9]
        Number of time steps drawn.
    activation : {"tanh", "relu", "linear", "sigmoid"}
    spectral_norm : float in (0, 10]
        ||W_hh|| of the tiny RNN (H = 3).
    step : int in [0, 2T]
        The step first shown (0: "forward 0").
    seed : int
    interval_ms : int >= 100
        Play speed, milliseconds per step.

    Returns
    -------
    UnrolledWidget
        CSS class ``seqlib-unrolled``; ``w.show(step=7)`` moves it (step 7 of 0..2T is
        "backward 4" for T = 5).
    """
    return UnrolledWidget(T, step=step, spectral_norm=spectral_norm, activation=activation, seed=seed,
                          interval_ms=interval_ms)
