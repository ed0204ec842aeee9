"""Gradient flow through time: G[t, k] = ||dℓ_t/dh_k|| and ||δ_k|| (eq. ``grad_flow_G``).

One fixed, seeded RNN (orthogonal W_hh direction rescaled to a spectral norm,
Glorot W_xh, random inputs x_t and random direct gradients ∂ℓ_t/∂h_t), seen
through :func:`seqlib.gradflow.loss_to_state_norms` and
:func:`seqlib.gradflow.state_gradient_norms` while the reader changes the
spectral norm of W_hh, the activation, the length T and the truncation.
Inputs are drawn time-major, so a shorter T is exactly the first T steps of a
longer one.

:func:`gated_flow_widget` (gated-units chapter) adds the architecture as a
control: the same picture for a vanilla RNN, an LSTM and a GRU with the same
inputs and direct gradients, the recurrent blocks rescaled to one spectral
norm, and, for the LSTM, the forget-gate bias.  For the LSTM the plotted
gradient is the one with respect to the whole state (h_k, c_k)
(:func:`seqlib.gradflow_gated.lstm_loss_to_state_norms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib import colormaps
from matplotlib.ticker import MaxNLocator

from .. import gradflow, gradflow_gated, gru, init, lstm, rnn
from ..activations import ACTIVATIONS
from ._frames import Axis, BlitFigure, FrameWidget, new_figure

__all__ = ["gradient_flow_widget", "gradient_flow_data", "GAMMA", "GradientFlow", "gradient_flow_axes",
           "gated_flow_widget", "gated_flow_axes", "ARCH_LABELS"]

#: γ = sup |f'| of each activation; ||W_hh|| < 1/γ guarantees vanishing gradients (eq. ``bptt_bound``).
GAMMA: dict[str, float] = {"tanh": 1.0, "relu": 1.0, "linear": 1.0, "sigmoid": 0.25}

# The default grid: 3 x 4 x 2 x 2 = 48 frames at 2x with text >= 9 pt, about 0.9 MB of widget state
# (tests/test_widgets.py holds it to 1.2 MB); w.show() renders any other norm.
DEFAULT_NORMS = (0.9, 1.0, 1.1)
DEFAULT_ACTIVATIONS = ("tanh", "relu", "linear", "sigmoid")
DEFAULT_LENGTHS = (20, 60)
DEFAULT_TRUNCATIONS = (None, 8)
VMIN, VMAX = 1e-10, 1e10  # fixed colour and y range of every frame
WIDTH, HEIGHT = 640, 330  # design size of a frame in pixels (drawn at FRAME_SCALE times that)
FONT = 9.0  # every text of a frame, in points: >= 9 pt at the design size
COLORS = 32  # palette size of a frame


@dataclass(frozen=True)
class GradientFlow:
    """What one frame shows.

    Attributes
    ----------
    G : ndarray (T, T)
        ``G[t-1, k-1] = ||dℓ_t/dh_k||`` from :func:`seqlib.gradflow.loss_to_state_norms`.
    delta_norms : ndarray (T,)
        ``||δ_k|| = ||dL/dh_k||`` from :func:`seqlib.gradflow.state_gradient_norms`.
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


def _check_setting(spectral_norm: Any, activation: Any, T: Any, truncate: Any) -> tuple[float, str, int, int | None]:
    if isinstance(spectral_norm, bool) or not isinstance(spectral_norm, (int, float, np.integer, np.floating)):
        raise TypeError(f"spectral_norm must be a positive number, got {spectral_norm!r}")
    if not (np.isfinite(spectral_norm) and spectral_norm > 0):
        raise ValueError(f"spectral_norm must be positive and finite, got {spectral_norm!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 2:
        raise ValueError(f"T must be an int >= 2, got {T!r}")
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, (int, np.integer)) or truncate < 1):
        raise ValueError(f"truncate must be None or an int >= 1, got {truncate!r}")
    return float(spectral_norm), str(activation), int(T), None if truncate is None else int(truncate)


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
        ``||W_hh||_2`` (:func:`seqlib.init.scale_to_spectral_norm` of a seeded orthogonal matrix).
    activation : {"tanh", "relu", "linear", "sigmoid"}
    T : int >= 2
        Sequence length.
    truncate : int >= 1 or None
        Chunked truncation of :func:`seqlib.rnn.rnn_backward`.
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
    rng = np.random.default_rng(seed)
    W_xh = init.glorot_uniform(D, H, rng=rng)
    W_hh = init.scale_to_spectral_norm(init.orthogonal(H, rng=rng), spectral_norm)
    b_h = np.zeros(H)
    # Time-major draws from their own streams: the first T steps do not depend on T.
    x = input_scale * np.random.default_rng([seed, 1]).standard_normal((T, B, D)).transpose(1, 0, 2)
    dh = np.random.default_rng([seed, 2]).standard_normal((T, B, H)).transpose(1, 0, 2) / np.sqrt(B * H)
    _, cache = rnn.rnn_forward(x, None, W_xh, W_hh, b_h, activation)
    G = gradflow.loss_to_state_norms(dh, cache, truncate=truncate)
    norms = gradflow.state_gradient_norms(dh, cache, truncate=truncate)
    return GradientFlow(G, norms, spectral_norm, activation, T, truncate)


def _gamma_text(gamma: float) -> str:
    return "1/4" if gamma == 0.25 else f"{gamma:g}"


#: Display names of the cells.
ARCH_LABELS: dict[str, str] = {"rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU"}
GATED_T = 60  # the length of every frame of the gated widget
DEFAULT_ARCHS = ("rnn", "lstm", "gru")
DEFAULT_GATED_NORMS = (1.0, 1.5)  # 3 cells x 2 x 4 biases x 2 truncations = 48 frames
DEFAULT_FORGET_BIASES = (-2.0, 0.0, 1.0, 3.0)
DEFAULT_GATED_TRUNCATIONS = (None, 8)


def gated_flow_data(
    arch: str,
    spectral_norm: float,
    forget_bias: float = 1.0,
    truncate: int | None = None,
    *,
    T: int = GATED_T,
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
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float, np.integer, np.floating)) \
            or not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias must be a finite real number, got {forget_bias!r}")
    if arch == "rnn":
        return gradient_flow_data(spectral_norm, "tanh", T, truncate, seed=seed, B=B, D=D, H=H,
                                  input_scale=input_scale)
    spectral_norm, _, T, truncate = _check_setting(spectral_norm, "tanh", T, truncate)
    n = 4 if arch == "lstm" else 3
    rng = np.random.default_rng([seed, 3, n])
    W_x = np.concatenate([init.glorot_uniform(D, H, rng=rng) for _ in range(n)], axis=1)
    W_h = np.concatenate([init.scale_to_spectral_norm(init.orthogonal(H, rng=rng), spectral_norm)
                          for _ in range(n)], axis=1)
    x = input_scale * np.random.default_rng([seed, 1]).standard_normal((T, B, D)).transpose(1, 0, 2)
    dh = np.random.default_rng([seed, 2]).standard_normal((T, B, H)).transpose(1, 0, 2) / np.sqrt(B * H)
    if arch == "lstm":
        b = np.zeros(4 * H)
        b[H:2 * H] = forget_bias
        _, cache = lstm.lstm_forward(x, None, None, W_x, W_h, b)
        G_h, G_c = gradflow_gated.lstm_loss_to_state_norms(dh, cache, truncate)
        G = np.hypot(G_h, G_c)
        gate, fb = float(cache.gate("f").mean()), float(forget_bias)
    else:
        _, cache = gru.gru_forward(x, None, W_x, W_h, np.zeros(3 * H), np.zeros(3 * H))
        G = gradflow_gated.gru_loss_to_state_norms(dh, cache, truncate)
        gate, fb = float(cache.gate("z").mean()), None
    # ||dL/ds_k|| of L = sum_t ℓ_t: one backward pass with every direct gradient
    if arch == "lstm":
        total = np.hypot(*gradflow_gated.lstm_state_gradient_norms(dh, cache, truncate))
    else:
        total = gradflow_gated.gru_state_gradient_norms(dh, cache, truncate)
    return GradientFlow(G, total, spectral_norm, "tanh", T, truncate, arch, fb, gate)


class _Renderer:
    """One figure, reused: heat-map of G on the left, ||δ_k|| on the right."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT, colors: int = COLORS, seed: int = 0,
                 gated: bool = False) -> None:
        self.colors, self.seed, self.gated = colors, seed, gated
        self._memo: dict[tuple, bytes] = {}
        fig = self.fig = new_figure(width, height)
        fig.set_facecolor("white")
        self.ax_g = fig.add_axes((0.075, 0.14, 0.28, 0.60))
        self.ax_c = fig.add_axes((0.525, 0.14, 0.46, 0.60))
        cax = fig.add_axes((0.365, 0.14, 0.012, 0.60))
        cmap = colormaps["viridis"].resampled(20).with_extremes(bad="#e8e8e8", under="#440154", over="#fde725")
        self.im = self.ax_g.imshow(np.ones((2, 2)), norm=LogNorm(VMIN, VMAX), cmap=cmap, interpolation="nearest",
                                   origin="upper", aspect="auto")
        cb = fig.colorbar(self.im, cax=cax, extend="both")
        cb.set_ticks([1e-10, 1e-5, 1, 1e5, 1e10])
        cb.ax.tick_params(labelsize=FONT)
        self.ax_g.set_xlabel(r"state $k$", fontsize=FONT, labelpad=1)
        self.ax_g.set_ylabel(r"loss $t$", fontsize=FONT, labelpad=1)
        st = r"\mathbf{s}" if gated else r"\mathbf{h}"  # the gated widget: s_k is the whole state
        self.ax_g.set_title(rf"$G[t,k]=\Vert\mathrm{{d}}\ell_t/\mathrm{{d}}{st}_k\Vert$", fontsize=FONT)
        self.ax_g.tick_params(labelsize=FONT)
        for a in (self.ax_g.xaxis, self.ax_g.yaxis):
            a.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax = self.ax_c
        ax.set_yscale("log")
        ax.set_ylim(VMIN, VMAX)
        ax.set_yticks([1e-10, 1e-5, 1, 1e5, 1e10])
        ax.grid(True, which="major", lw=0.4, alpha=0.5)
        ax.tick_params(labelsize=FONT)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        ax.set_xlabel(r"state $k$", fontsize=FONT, labelpad=1)
        ax.set_title("gradient reaching each state", fontsize=FONT)
        (self.line,) = ax.plot([], [], "-", color="#1f4e9c", lw=1.4,
                               label=(rf"$\Vert\mathrm{{d}}L/\mathrm{{d}}{st}_k\Vert$" if gated else
                                      r"$\Vert\boldsymbol{\delta}_k\Vert=\Vert\mathrm{d}L/\mathrm{d}\mathbf{h}_k\Vert$"))
        (self.last,) = ax.plot([], [], "-", color="#27ae60", lw=1.0,
                               label=rf"$G[T,k]=\Vert\mathrm{{d}}\ell_T/\mathrm{{d}}{st}_k\Vert$")
        (self.bound,) = ax.plot([], [], "--", color="#c0392b", lw=1.0,
                                label=(r"RNN bound " if gated else r"bound ")
                                + r"$G[T,T]\,(\gamma\Vert W_{hh}\Vert)^{T-k}$")
        ax.legend(loc="lower left", fontsize=FONT, frameon=True, framealpha=0.8, handlelength=1.2, borderpad=0.3,
                  labelspacing=0.2)
        self.cuts = ax.vlines([], VMIN, VMAX, colors="#888888", linestyles=":", lw=0.8)
        self.title = fig.text(0.5, 0.945, "", ha="center", fontsize=FONT)
        self.regime = fig.text(0.5, 0.875, "", ha="center", fontsize=FONT)
        self.blit = BlitFigure(fig, [self.im, self.bound, self.last, self.line, self.cuts, self.title, self.regime])

    def __call__(self, setting: dict[str, Any]) -> bytes:
        if self.gated:  # the forget-gate bias changes only the LSTM's frames: draw the others once
            key = (setting["arch"], setting["spectral_norm"],
                   setting["forget_bias"] if setting["arch"] == "lstm" else None, setting["truncate"])
            if key not in self._memo:
                self._memo[key] = self.draw(gated_flow_data(setting["arch"], setting["spectral_norm"],
                                                            setting["forget_bias"], setting["truncate"],
                                                            seed=self.seed))
            return self._memo[key]
        d = gradient_flow_data(setting["spectral_norm"], setting["activation"], setting["T"], setting["truncate"],
                               seed=self.seed)
        return self.draw(d)

    def draw(self, d: GradientFlow) -> bytes:
        T = d.T
        G = np.ma.masked_equal(d.G, 0.0)
        self.im.set_data(G)
        self.im.set_extent((0.5, T + 0.5, T + 0.5, 0.5))
        self.ax_g.set_xlim(0.5, T + 0.5)
        self.ax_g.set_ylim(T + 0.5, 0.5)
        k = np.arange(1, T + 1)
        self.line.set_data(k, np.maximum(d.delta_norms, VMIN * 1e-3))
        last = d.G[T - 1]
        self.last.set_data(k, np.where(last > 0, np.maximum(last, VMIN * 1e-3), np.nan))  # gap where cut
        gamma = GAMMA[d.activation]
        rate = gamma * d.spectral_norm
        with np.errstate(over="ignore", under="ignore"):
            bound = d.G[T - 1, T - 1] * rate ** (T - k).astype(float)
        if d.arch == "rnn":
            self.bound.set_data(k, np.clip(bound, VMIN * 1e-3, VMAX * 1e3))
        else:
            self.bound.set_data([], [])
        self.ax_c.set_xlim(0.5, T + 0.5)
        cuts = [] if d.truncate is None else list(np.arange(d.truncate, T, d.truncate) + 0.5)
        self.cuts.set_segments([[(c, VMIN), (c, VMAX)] for c in cuts])
        trunc = "full BPTT" if d.truncate is None else f"truncated every {d.truncate} steps"
        crit = 1.0 / gamma
        self.title.set_text(f"{d.activation},  ‖Wₕₕ‖ = {d.spectral_norm:g},  T = {T},  {trunc}")
        head = f"γ = sup|f′| = {_gamma_text(gamma)}, critical ‖Wₕₕ‖ = 1/γ = {crit:g}: "
        if d.spectral_norm < crit:
            msg, col = f"vanishing guaranteed (γ‖Wₕₕ‖ = {rate:.3g} < 1)", "#1f4e9c"
        elif d.spectral_norm == crit:
            msg, col = "the boundary (γ‖Wₕₕ‖ = 1)", "#555555"
        else:
            msg, col = f"exploding possible, not guaranteed (γ‖Wₕₕ‖ = {rate:.3g} > 1)", "#c0392b"
        if self.gated:
            self.title.set_text(f"{ARCH_LABELS[d.arch]},  ‖W‖ = {d.spectral_norm:g} per recurrent block,  "
                                f"T = {T},  {trunc}")
            head, col = "", "#1f4e9c"
            if d.arch == "lstm":
                msg = (f"forget-gate bias {d.forget_bias:g}: mean forget gate {d.gate_mean:.2f} "
                       f"(the cell path's factor per step)")
            elif d.arch == "gru":
                msg = f"mean update gate {d.gate_mean:.2f} (the forget-gate bias is the LSTM's)"
            else:
                msg = f"tanh RNN: γ‖W‖ = {rate:.3g} (the forget-gate bias is the LSTM's)"
        self.regime.set_text(head + msg)
        self.regime.set_color(col)
        return self.blit.png(T, self.colors)


def grid_of(axes: Sequence[Axis]) -> list[tuple[str, tuple[Any, ...]]]:
    return [(a.name, a.values) for a in axes]


def _number_axis(name: str, label: str, values: Sequence[float]) -> Axis:
    """A slider over real values, labelled as ``f"{v:g}"``."""
    return Axis(name, label, tuple(f"{v:g}" for v in values), tuple(float(v) for v in values), "slider")


def _truncation_axis(truncations: Sequence[int | None]) -> Axis:
    """The truncation slider: "none" or "κ=8" (the book writes the truncation length κ)."""
    return Axis("truncate", "truncation", tuple("none" if k is None else f"κ={k}" for k in truncations),
                tuple(truncations), "slider")


def gradient_flow_axes(
    spectral_norms: Sequence[float] = DEFAULT_NORMS,
    activations: Sequence[str] = DEFAULT_ACTIVATIONS,
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    truncations: Sequence[int | None] = DEFAULT_TRUNCATIONS,
) -> list[Axis]:
    """The controls of :func:`gradient_flow_widget` (checked), in display order."""
    for name, seq in (("spectral_norms", spectral_norms), ("activations", activations), ("lengths", lengths),
                      ("truncations", truncations)):
        if len(seq) == 0:
            raise ValueError(f"{name} must not be empty")
    for v in spectral_norms:
        _check_setting(v, "tanh", 2, None)
    for a in activations:
        _check_setting(1.0, a, 2, None)
    for T in lengths:
        _check_setting(1.0, "tanh", T, None)
    for k in truncations:
        _check_setting(1.0, "tanh", 2, k)
    return [
        _number_axis("spectral_norm", r"\(\Vert W_{hh}\Vert\)", spectral_norms),
        Axis("activation", "activation", tuple(activations), tuple(activations), "dropdown"),
        Axis("T", r"length \(T\)", tuple(str(T) for T in lengths), tuple(int(T) for T in lengths), "slider"),
        _truncation_axis(truncations),
    ]


def gradient_flow_widget(
    spectral_norms: Sequence[float] = DEFAULT_NORMS,
    activations: Sequence[str] = DEFAULT_ACTIVATIONS,
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    truncations: Sequence[int | None] = DEFAULT_TRUNCATIONS,
    *,
    seed: int = 0,
    initial: dict[str, Any] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    colors: int = COLORS,
) -> FrameWidget:
    """Watch gradients vanish or explode through time (BPTT chapter).

    Controls: spectral norm of W_hh (slider), activation (dropdown), sequence
    length T (slider) and truncation window (slider; ``None`` is full BPTT).
    Each frame shows the heat-map of G[t, k] on a fixed log colour range and
    ||δ_k|| against k on a fixed log scale, with the critical norm 1/γ.

    Parameters
    ----------
    spectral_norms : sequence of float > 0
        Grid of ||W_hh||.
    activations : sequence of {"tanh", "relu", "linear", "sigmoid"}
    lengths : sequence of int >= 2
    truncations : sequence of int >= 1 or None
    seed : int
        Seeds the RNN, the inputs and the direct gradients.
    initial : dict, optional
        Initial grid values by setting name; default ``{"spectral_norm": 1.0, "T": 60}``
        (where on the grid), otherwise the first value of each control.
    width, height : int
        Frame size in pixels.
    colors : int
        PNG palette size.

    Returns
    -------
    FrameWidget
        An ``ipywidgets.VBox`` with CSS class ``seqlib-gradient-flow``; live
        settings: ``w.show(spectral_norm=1.07, activation="tanh", T=45, truncate=None)``.
    """
    axes = gradient_flow_axes(spectral_norms, activations, lengths, truncations)
    if initial is None:
        initial = {k: v for k, v in (("spectral_norm", 1.0), ("T", 60)) if v in dict(grid_of(axes))[k]}
    init_idx = {}
    for a in axes:
        if initial and a.name in initial:
            init_idx[a.name] = next((i for i, v in enumerate(a.values) if v == initial[a.name]), None)
            if init_idx[a.name] is None:
                raise ValueError(f"initial[{a.name!r}]={initial[a.name]!r} is not in the grid {list(a.values)}")
    if initial:
        bad = set(initial) - {a.name for a in axes}
        if bad:
            raise ValueError(f"initial has unknown keys {sorted(bad)}")
    return FrameWidget(
        axes,
        lambda: _Renderer(width, height, colors, seed),
        initial=init_idx,
        css_class="seqlib-gradient-flow",
    )


def gated_flow_axes(
    archs: Sequence[str] = DEFAULT_ARCHS,
    spectral_norms: Sequence[float] = DEFAULT_GATED_NORMS,
    forget_biases: Sequence[float] = DEFAULT_FORGET_BIASES,
    truncations: Sequence[int | None] = DEFAULT_GATED_TRUNCATIONS,
) -> list[Axis]:
    """The controls of :func:`gated_flow_widget` (checked), in display order."""
    for name, seq in (("archs", archs), ("spectral_norms", spectral_norms), ("forget_biases", forget_biases),
                      ("truncations", truncations)):
        if len(seq) == 0:
            raise ValueError(f"{name} must not be empty")
    for a in archs:
        if a not in ARCH_LABELS:
            raise ValueError(f"archs must hold values of {sorted(ARCH_LABELS)}, got {a!r}")
    for v in spectral_norms:
        _check_setting(v, "tanh", 2, None)
    for k in truncations:
        _check_setting(1.0, "tanh", 2, k)
    for fb in forget_biases:
        if isinstance(fb, bool) or not isinstance(fb, (int, float, np.integer, np.floating)) or not np.isfinite(fb):
            raise ValueError(f"forget_biases must be finite real numbers, got {fb!r}")
    return [
        Axis("arch", "cell", tuple(ARCH_LABELS[a] for a in archs), tuple(archs), "dropdown"),
        _number_axis("spectral_norm", r"\(\Vert W\Vert\)", spectral_norms),
        _number_axis("forget_bias", r"LSTM \(b_f\)", forget_biases),
        _truncation_axis(truncations),
    ]


def gated_flow_widget(
    archs: Sequence[str] = DEFAULT_ARCHS,
    spectral_norms: Sequence[float] = DEFAULT_GATED_NORMS,
    forget_biases: Sequence[float] = DEFAULT_FORGET_BIASES,
    truncations: Sequence[int | None] = DEFAULT_GATED_TRUNCATIONS,
    *,
    seed: int = 0,
    initial: dict[str, Any] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    colors: int = COLORS,
) -> FrameWidget:
    """Gradient flow through a vanilla RNN, an LSTM or a GRU (gated-units chapter).

    Controls: the cell (dropdown), the spectral norm of each recurrent block
    (slider), the LSTM's forget-gate bias (slider; the other cells ignore it)
    and the truncation (slider).  T is 60.  Frames as in
    :func:`gradient_flow_widget`, from :func:`gated_flow_data`.

    Returns
    -------
    FrameWidget
        CSS class ``seqlib-gated-flow``; live settings:
        ``w.show(arch="lstm", spectral_norm=1.0, forget_bias=2.0, truncate=None)``.
    """
    axes = gated_flow_axes(archs, spectral_norms, forget_biases, truncations)
    if initial is None:
        initial = {k: v for k, v in (("arch", "lstm"), ("spectral_norm", 1.0), ("forget_bias", 1.0))
                   if v in dict(grid_of(axes))[k]}
    bad = set(initial) - {a.name for a in axes}
    if bad:
        raise ValueError(f"initial has unknown keys {sorted(bad)}")
    init_idx = {}
    for a in axes:
        if a.name in initial:
            matches = [i for i, v in enumerate(a.values) if v == initial[a.name]]
            if not matches:
                raise ValueError(f"initial[{a.name!r}]={initial[a.name]!r} is not in the grid {list(a.values)}")
            init_idx[a.name] = matches[0]
    return FrameWidget(
        axes,
        lambda: _Renderer(width, height, colors, seed, gated=True),
        initial=init_idx,
        css_class="seqlib-gated-flow",
    )
