"""Gradient flow through time: G[t, k] = ||dℓ_t/dh_k|| and ||δ_k|| (eq. ``grad_flow_G``).

One fixed, seeded RNN (an orthogonal W_hh direction rescaled to a spectral
norm, Glorot W_xh, random inputs x_t and random direct gradients ∂ℓ_t/∂h_t),
seen through :func:`seqlib.training.gradflow.loss_to_state_norms` and
:func:`seqlib.training.gradflow.state_gradient_norms` while the reader changes the
spectral norm of W_hh, the activation, the length T and the truncation.
Inputs are drawn time-major from their own streams, so a shorter T is exactly
the first T steps of a longer one.

:func:`gated_flow_widget` (gated-units chapter) adds the cell as a control:
the same picture for a vanilla RNN, an LSTM and a GRU with the same inputs
and direct gradients, every recurrent block rescaled to one spectral norm,
and, for the LSTM, the forget-gate bias.  For the LSTM the plotted gradient is
the one with respect to the whole state (h_k, c_k)
(:func:`seqlib.training.gradflow_gated.lstm_loss_to_state_norms`).

The widgets' pictures are drawn by ``js/views/gradient_flow.js``; in a static
page their numbers come from ``js/mirror/rnn.js`` and ``js/mirror/gated.js``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..cells import gru, init, lstm, rnn
from ..cells.activations import ACTIVATIONS
from ..training import gradflow, gradflow_gated
from ._engine import BookWidget

__all__ = ["gradient_flow_widget", "gradient_flow_data", "gradient_flow_base", "GAMMA", "GradientFlow",
           "GradientFlowWidget", "gated_flow_widget", "gated_flow_data", "GatedFlowWidget", "ARCH_LABELS",
           "NORM_RANGE", "GATED_NORM_RANGE", "RNN_NORM_MAX", "NORM_KEEP", "GATED_NORM_KEEP", "norm_stops",
           "forget_bias_stops", "T_MAX", "FORGET_BIAS_RANGE", "FORGET_BIAS_STEP", "DEFAULT_FORGET_BIASES",
           "COLOR_DECADES"]

#: γ = sup |f'| of each activation; ||W_hh|| < 1/γ guarantees that every contribution G[t, k] shrinks
#: geometrically in t - k (eq. ``bptt_bound``).
GAMMA: dict[str, float] = {"tanh": 1.0, "relu": 1.0, "linear": 1.0, "sigmoid": 0.25}

#: The spectral-norm slider: from 0.5 to 2, log-spaced (:func:`norm_stops`).
NORM_RANGE: tuple[float, float] = (0.5, 2.0)
#: The gated widget's slider reaches 3: with zero biases the GRU's G[T, 1]/G[T, T] (T = 60) turns from
#: vanishing to growing between 2 and 2.1, the LSTM's at b_f = 0 near 2.2 and at b_f = -1 near 3 (at
#: b_f = -2, -3 only near 3.6, 3.9: beyond the slider).  It stops at 3 because further up the cells'
#: forward passes drift apart in the two summation orders: at 4 (GRU, T = 100) the page's mirror differs
#: from seqlib by 2e-9 relative, above the 1e-9 the tests allow; up to 3 (every stop, every b_f, T = 100)
#: the worst measured is 8e-11.
GATED_NORM_RANGE: tuple[float, float] = (0.5, 3.0)
#: ... but there the vanilla RNN stops at 1.5 (its boundary, 1, is well inside; the BPTT widget goes
#: to 2): near 2 its tanh forward pass turns chaotic, and two summation orders (numpy's BLAS and the
#: page's loops) drift apart by up to 1e-9 relative within T = 100 steps (measured; building.md, Widgets).
RNN_NORM_MAX = 1.5
#: How many log-spaced stops each norm slider has (:func:`norm_stops`).
_NORM_N, _GATED_NORM_N = 33, 37
#: Values the chapters name, made stops of the sliders: the BPTT widget's default 0.8, the boundary 1
#: and 1.5; the gated widget's default 1, the vanilla RNN's end RNN_NORM_MAX and 2.
NORM_KEEP: tuple[float, ...] = (0.8, 1.0, 1.5)
GATED_NORM_KEEP: tuple[float, ...] = (1.0, RNN_NORM_MAX, 2.0)
#: The longest sequence the widgets offer (the base draws are this long).
T_MAX = 100
#: The LSTM forget-gate bias slider, in steps of FORGET_BIAS_STEP (:func:`forget_bias_stops`).
FORGET_BIAS_RANGE: tuple[float, float] = (-3.0, 5.0)
FORGET_BIAS_STEP = 0.25
#: The biases the gated chapter compares (the ends of the slider's most telling part).
DEFAULT_FORGET_BIASES: tuple[float, ...] = (-2.0, 0.0, 1.0, 3.0)
#: The colour scale of G and the y range of the line panel: 10^-8 .. 10^8 (fixed, so settings compare).
COLOR_DECADES = 8
#: Display names of the cells.
ARCH_LABELS: dict[str, str] = {"rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU"}


def norm_stops(gated: bool = False) -> tuple[float, ...]:
    """The stops of a widget's spectral-norm slider, exactly the values the page offers.

    Log-spaced from ``NORM_RANGE`` (``GATED_NORM_RANGE`` if ``gated``) in 33 (37) stops, each
    rounded to 3 significant digits; then every value of ``NORM_KEEP`` (``GATED_NORM_KEEP``)
    replaces the stop nearest to it (on a log scale), so that the values the chapters name are
    stops.  The page reads this list from the widget's ``options["norm_stops"]``.

    >>> norm_stops()[:3], 0.8 in norm_stops(), 1.5 in norm_stops(), norm_stops()[-1]
    ((0.5, 0.522, 0.545), True, True, 2.0)
    """
    lo, hi = GATED_NORM_RANGE if gated else NORM_RANGE
    n = _GATED_NORM_N if gated else _NORM_N
    stops = [float(f"{lo * (hi / lo) ** (i / (n - 1)):.3g}") for i in range(n)]
    for v in GATED_NORM_KEEP if gated else NORM_KEEP:
        i = min(range(n), key=lambda j: abs(np.log(stops[j] / v)))
        stops[i] = float(v)
    if sorted(set(stops)) != stops:
        raise AssertionError(f"the norm stops are not strictly increasing: {stops}")
    return tuple(stops)


def forget_bias_stops() -> tuple[float, ...]:
    """The stops of the gated widget's b_f slider: FORGET_BIAS_RANGE in steps of FORGET_BIAS_STEP (exact).

    >>> forget_bias_stops()[:3], forget_bias_stops()[-1], len(forget_bias_stops())
    ((-3.0, -2.75, -2.5), 5.0, 33)
    """
    lo, hi = FORGET_BIAS_RANGE
    n = round((hi - lo) / FORGET_BIAS_STEP)
    return tuple(lo + i * FORGET_BIAS_STEP for i in range(n + 1))


@dataclass(frozen=True)
class GradientFlow:
    """What one picture shows.

    Attributes
    ----------
    G : ndarray (T, T)
        ``G[t-1, k-1] = ||dℓ_t/dh_k||`` from :func:`seqlib.training.gradflow.loss_to_state_norms`.
    delta_norms : ndarray (T,)
        ``||δ_k|| = ||dL/dh_k||`` from :func:`seqlib.training.gradflow.state_gradient_norms`.
    spectral_norm, activation, T, truncate
        The setting.
    arch : {"rnn", "lstm", "gru"}
        The cell; for "lstm" and "gru" the activation is not a setting.
    forget_bias : float or None
        The LSTM's forget-gate bias (None for the other cells).
    gate_mean : float or None
        Mean forget gate f_t (LSTM) or update gate z_t (GRU) over the run.
    """

    G: np.ndarray
    delta_norms: np.ndarray
    spectral_norm: float
    activation: str
    T: int
    truncate: int | None
    arch: str = "rnn"
    forget_bias: float | None = None
    gate_mean: float | None = None


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_setting(spectral_norm: Any, activation: Any, T: Any, truncate: Any) -> tuple[float, str, int, int | None]:
    if not _is_real(spectral_norm):
        raise TypeError(f"spectral_norm must be a positive number, got {type(spectral_norm).__name__} {spectral_norm!r}")
    if not (np.isfinite(spectral_norm) and spectral_norm > 0):
        raise ValueError(f"spectral_norm must be positive and finite, got {spectral_norm!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if not _is_int(T) or T < 2:
        raise ValueError(f"T must be an int >= 2, got {T!r}")
    if truncate is not None and (not _is_int(truncate) or truncate < 1):
        raise ValueError(f"truncate must be None or an int >= 1, got {truncate!r}")
    return float(spectral_norm), str(activation), int(T), None if truncate is None else int(truncate)


def _draws(T: int, seed: int, B: int, D: int, H: int, input_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Inputs x (B, T, D) and direct gradients dh (B, T, H), time-major from their own streams."""
    x = input_scale * np.random.default_rng([seed, 1]).standard_normal((T, B, D)).transpose(1, 0, 2)
    dh = np.random.default_rng([seed, 2]).standard_normal((T, B, H)).transpose(1, 0, 2) / np.sqrt(B * H)
    return np.ascontiguousarray(x), np.ascontiguousarray(dh)


def gradient_flow_base(T: int = T_MAX, *, seed: int = 0, B: int = 4, D: int = 8, H: int = 16,
                       input_scale: float = 0.05) -> dict[str, Any]:
    """The seeded draws behind every setting of the gradient-flow widget.

    Returns
    -------
    dict
        ``W_xh`` (D, H) Glorot uniform; ``W_hh_unit`` (H, H) an orthogonal
        matrix scaled to spectral norm 1 (:func:`seqlib.cells.init.scale_to_spectral_norm`);
        ``x`` (B, T, D); ``dh`` (B, T, H) = ∂ℓ_t/∂h_t; and ``B, D, H, T``.
        A setting's W_hh is ``spectral_norm * W_hh_unit``.
    """
    for name, v in (("T", T), ("B", B), ("D", D), ("H", H)):
        if not _is_int(v) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    rng = np.random.default_rng(seed)
    W_xh = init.glorot_uniform(D, H, rng=rng)
    W_hh_unit = init.scale_to_spectral_norm(init.orthogonal(H, rng=rng), 1.0)
    x, dh = _draws(T, seed, B, D, H, input_scale)
    return {"W_xh": W_xh, "W_hh_unit": W_hh_unit, "x": x, "dh": dh, "B": B, "D": D, "H": H, "T": T}


def _rnn_flow(base: Mapping[str, Any], spectral_norm: float, activation: str, T: int,
              truncate: int | None) -> GradientFlow:
    x = np.asarray(base["x"], float)[:, :T]
    dh = np.asarray(base["dh"], float)[:, :T]
    W_hh = spectral_norm * np.asarray(base["W_hh_unit"], float)
    H = W_hh.shape[0]
    _, cache = rnn.rnn_forward(x, None, np.asarray(base["W_xh"], float), W_hh, np.zeros(H), activation)
    G = gradflow.loss_to_state_norms(dh, cache, truncate=truncate)
    norms = gradflow.state_gradient_norms(dh, cache, truncate=truncate)
    return GradientFlow(G, norms, spectral_norm, activation, T, truncate)


def gradient_flow_data(
    spectral_norm: float,
    activation: str = "tanh",
    T: int = 30,
    truncate: int | None = None,
    *,
    seed: int = 0,
    B: int = 4,
    D: int = 8,
    H: int = 16,
    input_scale: float = 0.05,
) -> GradientFlow:
    """Run the seeded RNN and compute G[t, k] and ||δ_k|| with seqlib.

    Parameters
    ----------
    spectral_norm : float > 0
        ``||W_hh||_2``: the seeded orthogonal direction of :func:`gradient_flow_base` times this.
    activation : {"tanh", "relu", "linear", "sigmoid"}
    T : int >= 2
        Sequence length.
    truncate : int >= 1 or None
        Chunked truncation of :func:`seqlib.cells.rnn.rnn_backward`.
    seed : int
        Seeds every draw (``np.random.default_rng``).
    B, D, H : int
        Batch, input and hidden sizes.
    input_scale : float
        Standard deviation of the inputs x_t.

    Returns
    -------
    GradientFlow
    """
    spectral_norm, activation, T, truncate = _check_setting(spectral_norm, activation, T, truncate)
    base = gradient_flow_base(T, seed=seed, B=B, D=D, H=H, input_scale=input_scale)
    return _rnn_flow(base, spectral_norm, activation, T, truncate)


def _check_forget_bias(forget_bias: Any) -> float:
    if not _is_real(forget_bias) or not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias must be a finite real number, got {forget_bias!r}")
    return float(forget_bias)


def gated_flow_data(
    arch: str,
    spectral_norm: float,
    forget_bias: float = 1.0,
    truncate: int | None = None,
    *,
    T: int = 60,
    seed: int = 0,
    B: int = 4,
    D: int = 8,
    H: int = 16,
    input_scale: float = 0.05,
) -> GradientFlow:
    """G[t, k] and the total state gradient for a seeded RNN, LSTM or GRU.

    The vanilla RNN is exactly :func:`gradient_flow_data` (tanh).  The gated
    cells get Glorot-uniform input blocks and seeded orthogonal recurrent
    blocks, each H x H block rescaled to spectral norm ``spectral_norm``;
    biases are zero but the LSTM's forget-gate bias.  Inputs and direct
    gradients are the same draws as for the RNN.  For the LSTM,
    ``G = hypot(G_h, G_c)``, the norm of dℓ_t/d(h_k, c_k).
    """
    if arch not in ARCH_LABELS:
        raise ValueError(f"arch must be one of {sorted(ARCH_LABELS)}, got {arch!r}")
    forget_bias = _check_forget_bias(forget_bias)
    if arch == "rnn":
        return gradient_flow_data(spectral_norm, "tanh", T, truncate, seed=seed, B=B, D=D, H=H,
                                  input_scale=input_scale)
    spectral_norm, _, T, truncate = _check_setting(spectral_norm, "tanh", T, truncate)
    n = 4 if arch == "lstm" else 3
    rng = np.random.default_rng([seed, 3, n])
    W_x = np.concatenate([init.glorot_uniform(D, H, rng=rng) for _ in range(n)], axis=1)
    W_h = np.concatenate([init.scale_to_spectral_norm(init.orthogonal(H, rng=rng), spectral_norm)
                          for _ in range(n)], axis=1)
    x, dh = _draws(T, seed, B, D, H, input_scale)
    if arch == "lstm":
        b = np.zeros(4 * H)
        b[H:2 * H] = forget_bias
        _, cache = lstm.lstm_forward(x, None, None, W_x, W_h, b)
        G_h, G_c = gradflow_gated.lstm_loss_to_state_norms(dh, cache, truncate)
        G = np.hypot(G_h, G_c)
        gate, fb = float(cache.gate("f").mean()), float(forget_bias)
        total = np.hypot(*gradflow_gated.lstm_state_gradient_norms(dh, cache, truncate))
    else:
        _, cache = gru.gru_forward(x, None, W_x, W_h, np.zeros(3 * H), np.zeros(3 * H))
        G = gradflow_gated.gru_loss_to_state_norms(dh, cache, truncate)
        gate, fb = float(cache.gate("z").mean()), None
        total = gradflow_gated.gru_state_gradient_norms(dh, cache, truncate)
    return GradientFlow(G, total, spectral_norm, "tanh", T, truncate, arch, fb, gate)


# ------------------------------------------------------------------------------------------------ widgets


def _check_truncate_T(setting: dict[str, Any]) -> None:
    if setting["T"] > T_MAX:
        raise ValueError(f"T must be at most {T_MAX} (the length of the widget's draws), got {setting['T']}")
    if setting["truncate"] is not None and setting["truncate"] > setting["T"]:
        raise ValueError(f"truncate must be None or an int in [1, T] = [1, {setting['T']}], got {setting['truncate']}")


def _check_keys(setting: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    if set(setting) != set(keys):
        raise ValueError(f"setting must have exactly the keys {list(keys)}, got {sorted(setting)}")


def _random_truncate(rng: np.random.Generator, T: int) -> int | None:
    return None if rng.random() < 0.3 else int(rng.integers(1, T + 1))


def _flow_numbers(d: GradientFlow) -> dict[str, Any]:
    out: dict[str, Any] = {"G": d.G, "delta_norms": d.delta_norms}
    if d.arch != "rnn":
        out["gate_mean"] = d.gate_mean
    return out


def _options(gated: bool) -> dict[str, Any]:
    return {"gated": gated, "norm_range": list(GATED_NORM_RANGE if gated else NORM_RANGE),
            "norm_stops": list(norm_stops(gated)), "T_max": T_MAX,
            "forget_bias_range": list(FORGET_BIAS_RANGE), "forget_bias_stops": list(forget_bias_stops()),
            "rnn_norm_max": RNN_NORM_MAX, "color_decades": COLOR_DECADES, "gamma": GAMMA,
            "arch_labels": ARCH_LABELS}


class GradientFlowWidget(BookWidget):
    """G[t, k] and ||δ_k|| of the seeded RNN; controls ||W_hh||, f, T and κ (see :func:`gradient_flow_widget`)."""

    VIEW = "gradient_flow"
    MIRRORS = ("rnn",)
    KEYS = ("spectral_norm", "activation", "T", "truncate")

    def check_setting(self, setting: dict[str, Any]) -> dict[str, Any]:
        _check_keys(setting, self.KEYS)
        s, a, T, k = _check_setting(setting["spectral_norm"], setting["activation"], setting["T"], setting["truncate"])
        out = {"spectral_norm": s, "activation": a, "T": T, "truncate": k}
        _check_truncate_T(out)
        return out

    def compute(self, setting: Mapping[str, Any]) -> dict[str, Any]:
        d = _rnn_flow(self.base_arrays, setting["spectral_norm"], setting["activation"], setting["T"],
                      setting["truncate"])
        return _flow_numbers(d)

    def random_settings(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            T = int(rng.integers(2, T_MAX + 1)) if i else T_MAX
            out.append({"spectral_norm": float(np.exp(rng.uniform(*np.log(NORM_RANGE)))),
                        "activation": str(rng.choice(sorted(GAMMA))), "T": T, "truncate": _random_truncate(rng, T)})
        return out


class GatedFlowWidget(BookWidget):
    """The same picture for a vanilla RNN, an LSTM or a GRU (see :func:`gated_flow_widget`)."""

    VIEW = "gradient_flow"
    KIND = "gated_flow"
    MIRRORS = ("rnn", "gated")
    KEYS = ("arch", "spectral_norm", "forget_bias", "T", "truncate")

    def check_setting(self, setting: dict[str, Any]) -> dict[str, Any]:
        _check_keys(setting, self.KEYS)
        if setting["arch"] not in ARCH_LABELS:
            raise ValueError(f"arch must be one of {sorted(ARCH_LABELS)}, got {setting['arch']!r}")
        s, _, T, k = _check_setting(setting["spectral_norm"], "tanh", setting["T"], setting["truncate"])
        if setting["arch"] == "rnn" and s > RNN_NORM_MAX:
            raise ValueError(f"spectral_norm must be at most {RNN_NORM_MAX:g} for arch='rnn' in this widget, got {s!r}")
        out = {"arch": setting["arch"], "spectral_norm": s, "forget_bias": _check_forget_bias(setting["forget_bias"]),
               "T": T, "truncate": k}
        _check_truncate_T(out)
        return out

    def compute(self, setting: Mapping[str, Any]) -> dict[str, Any]:
        from .gated_base import gated_flow_numbers

        if setting["arch"] == "rnn":
            return _flow_numbers(_rnn_flow(self.base_arrays, setting["spectral_norm"], "tanh", setting["T"],
                                           setting["truncate"]))
        return gated_flow_numbers(self.base_arrays, setting["arch"], setting["spectral_norm"],
                                  setting["forget_bias"], setting["T"], setting["truncate"])

    def random_settings(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            T = int(rng.integers(2, T_MAX + 1)) if i else T_MAX
            arch = ("rnn", "lstm", "gru")[i % 3]
            hi = RNN_NORM_MAX if arch == "rnn" else GATED_NORM_RANGE[1]
            out.append({"arch": arch, "spectral_norm": float(np.exp(rng.uniform(np.log(GATED_NORM_RANGE[0]), np.log(hi)))),
                        "forget_bias": float(rng.uniform(*FORGET_BIAS_RANGE)), "T": T,
                        "truncate": _random_truncate(rng, T)})
        return out


def gradient_flow_widget(
    spectral_norm: float = 0.8,
    activation: str = "tanh",
    T: int = 60,
    truncate: int | None = None,
    *,
    seed: int = 0,
    B: int = 4,
    D: int = 8,
    H: int = 16,
) -> GradientFlowWidget:
    """Watch gradients vanish or explode through time (BPTT chapter).

    Controls: the spectral norm of W_hh (a slider, log-spaced from 0.5 to 2: :func:`norm_stops`),
    the activation (toggle buttons), the length T (a slider, 2 to 100) and the
    truncation length κ (a slider, any integer from 1 to T, or none).  The
    picture: the heat map of G[t, k] on a fixed logarithmic colour scale
    (10^-8 to 10^8) and ||δ_k||, G[T, k] and the bound of eq. ``bptt_bound``
    against k.

    Parameters
    ----------
    spectral_norm, activation, T, truncate
        The initial setting (default: tanh with ||W_hh|| = 0.8, T = 60, full
        BPTT: the gradient vanishes, and the exploding side is one slide away).
    seed : int
        Seeds the RNN, the inputs and the direct gradients.
    B, D, H : int
        Batch, input and hidden sizes.

    Returns
    -------
    GradientFlowWidget
        CSS class ``seqlib-gradient-flow``; ``w.show(spectral_norm=1.07)`` moves it, also between
        the slider's stops.
    """
    base = gradient_flow_base(T_MAX, seed=seed, B=B, D=D, H=H)
    setting = {"spectral_norm": spectral_norm, "activation": activation, "T": T, "truncate": truncate}
    return GradientFlowWidget(setting, base=base, options=_options(False))


def gated_flow_widget(
    arch: str = "lstm",
    spectral_norm: float = 1.0,
    forget_bias: float = 1.0,
    T: int = 60,
    truncate: int | None = None,
    *,
    seed: int = 0,
    B: int = 4,
    D: int = 8,
    H: int = 16,
) -> GatedFlowWidget:
    """Gradient flow through a vanilla RNN, an LSTM or a GRU (gated-units chapter).

    Controls: the cell (toggle buttons), the spectral norm of each recurrent
    block (a slider, log-spaced from 0.5 to 3, to 1.5 for the vanilla RNN: :func:`norm_stops`), the
    LSTM's forget-gate bias (a slider, -3 to 5 in steps of 0.25; disabled for the other cells), T (2 to
    100) and κ.  The picture is that
    of :func:`gradient_flow_widget`, from :func:`gated_flow_data`'s draws.

    Returns
    -------
    GatedFlowWidget
        CSS class ``seqlib-gated-flow``.
    """
    from .gated_base import gated_flow_base

    base = gated_flow_base(T_MAX, seed=seed, B=B, D=D, H=H)
    rnn_base = gradient_flow_base(T_MAX, seed=seed, B=B, D=D, H=H)
    base.update({"W_xh": rnn_base["W_xh"], "W_hh_unit": rnn_base["W_hh_unit"]})
    setting = {"arch": arch, "spectral_norm": spectral_norm, "forget_bias": forget_bias, "T": T, "truncate": truncate}
    return GatedFlowWidget(setting, base=base, options=_options(True))
