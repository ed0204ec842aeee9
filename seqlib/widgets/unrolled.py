"""The unrolled RNN, one step at a time: the forward pass, then back-propagation through time.

A tiny seeded RNN (B = 1, H = 3) run by seqlib: :func:`seqlib.rnn.rnn_forward`,
the readout :func:`seqlib.readout.linear_forward`, the per-step loss
:func:`seqlib.loss.token_cross_entropy` with L = Σ_t ℓ_t; backwards,
:func:`seqlib.loss.cross_entropy_backward`, :func:`seqlib.readout.linear_backward`
and the δ recursion of :func:`seqlib.rnn.rnn_backward` (eq. ``bptt_delta``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch

from .. import init, loss, readout, rnn
from ..activations import ACTIVATIONS
from ._frames import Axis, FrameWidget, new_figure, png_from_figure

__all__ = ["unrolled_graph_widget", "unrolled_data", "Unrolled", "unrolled_axes", "unrolled_alt", "step_label"]

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Unrolled:
    """Everything the frames show, all from seqlib.

    Attributes
    ----------
    h : ndarray (T + 1, H)
        h_0..h_T.
    losses : ndarray (T,)
        ℓ_1..ℓ_T.
    deltas : ndarray (T, H)
        δ_t = dL/dh_t for t = 1..T (eq. ``bptt_delta``).
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
    losses: np.ndarray
    deltas: np.ndarray
    fprime: np.ndarray
    dW_hh_partial: np.ndarray
    dW_hh: np.ndarray
    activation: str

    @property
    def T(self) -> int:
        return self.losses.shape[0]


def unrolled_data(T: int = 5, activation: str = "tanh", spectral_norm: float = 0.9, *, seed: int = 0,
                  H: int = 3, D: int = 2, V: int = 3) -> Unrolled:
    """Forward and backward pass of the tiny RNN with seqlib.

    Parameters
    ----------
    T : int >= 1
        Number of steps.
    activation : {"tanh", "relu", "linear", "sigmoid"}
    spectral_norm : float > 0
        ||W_hh||_2.
    seed : int
    H, D, V : int
        Hidden, input and output sizes.

    Returns
    -------
    Unrolled
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or not 1 <= T <= 9:
        raise ValueError(f"T must be an int in [1, 9], got {T!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    rng = np.random.default_rng(seed)
    p = init.init_rnn_params(D, H, V, rng=rng, W_hh_spectral_norm=spectral_norm)
    x = rng.standard_normal((1, T, D))
    y = rng.integers(0, V, size=(1, T))
    h, cache = rnn.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"], activation)
    o, ocache = readout.linear_forward(h, p["W_hy"], p["b_y"])
    losses = loss.token_cross_entropy(o, y)[0]  # L = Σ_t ℓ_t
    dh = readout.linear_backward(loss.cross_entropy_backward(o, y), ocache)["h"]
    deltas = np.zeros_like(dh)
    fprime = cache.fprime()
    # The recursion of rnn_backward, keeping every δ_t (eq. bptt_delta).
    g = rnn._backprop_windows(dh, fprime, np.ascontiguousarray(p["W_hh"].T), rnn._chunk_windows(T, None), deltas)
    h_all = np.concatenate([cache.h0, h[0]])  # (T+1, H)
    terms = h_all[:-1, :, None] * g[0][:, None, :]  # h_{t-1}ᵀ g_t, (T, H, H)
    partial = np.cumsum(terms[::-1], axis=0)[::-1]
    dW = rnn.rnn_backward(dh, cache)["W_hh"]
    return Unrolled(h_all, losses, deltas[0], fprime[0], partial, dW, activation)


def _vec(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{x:+.2f}" for x in v) + "]"


def step_label(step: int, T: int) -> str:
    """The slider's label for ``step`` in 0..2T, in the time index t of the chapter.

    Steps 0..T are the forward pass, "forward t" computing h_t; steps
    T+1..2T are the backward pass, "backward t" computing δ_t for t = T, ..., 1.
    """
    return f"forward {step}" if step <= T else f"backward {2 * T + 1 - step}"


def unrolled_alt(data: Unrolled, step: int) -> str:
    """A description of the frame for ``step``, for readers who cannot see it (alt text)."""
    T = data.T
    if step <= T:
        t = step
        done = f"States h0 to h{t} are computed" if t else "Only the initial state h0 is set"
        return (f"The RNN unrolled over {T} steps, forward pass at step {t} of {T}. {done}; "
                f"the norm of h{t} is {np.linalg.norm(data.h[t]):.2f}"
                + (f" and the loss l{t} is {data.losses[t - 1]:.2f}" if t else "")
                + f". A bar chart shows the {data.h.shape[1]} entries of h{t}.")
    t = 2 * T + 1 - step
    return (f"The RNN unrolled over {T} steps, backward pass at step {t}: red arrows run from the "
            f"losses l{T} to l{t} down into the states and from h{T} back to h{t}. The norm of "
            f"delta{t} = dL/dh{t} is {np.linalg.norm(data.deltas[t - 1]):.3f}; the running norm of "
            f"dW_hh is {np.linalg.norm(data.dW_hh_partial[t - 1]):.3f}. A bar chart shows the "
            f"{data.h.shape[1]} entries of delta{t}.")


class _Renderer:
    """The graph x_t → h_t → ℓ_t over t = 0..T, highlights and a panel of values."""

    IDLE, DONE, ACTIVE, BACK = "#d5d8dc", "#85c1e9", "#f39c12", "#e74c3c"

    def __init__(self, data: Unrolled, width: int = 680, height: int = 400, colors: int = 64) -> None:
        self.d, self.colors = data, colors
        T = data.T
        fig = self.fig = new_figure(width, height)
        ax = self.ax = fig.add_axes((0.01, 0.33, 0.70, 0.57))
        ax.set_xlim(-0.45, T + 0.85)
        ax.set_ylim(-0.35, 2.6)
        ax.set_axis_off()
        r = 0.24
        self.nodes: dict[tuple[str, int], Circle] = {}
        self.edges: dict[tuple[str, int], FancyArrowPatch] = {}
        for t in range(T + 1):
            self.nodes["h", t] = ax.add_patch(Circle((t, 1), r, fc=self.IDLE, ec="#566573", lw=1))
            ax.text(t, 1, f"h{t}".translate(SUB), ha="center", va="center", fontsize=11)
            if t:
                self.nodes["x", t] = ax.add_patch(Circle((t, 0), r * 0.85, fc="#eaeded", ec="#566573", lw=1))
                ax.text(t, 0, f"x{t}".translate(SUB), ha="center", va="center", fontsize=10)
                self.nodes["l", t] = ax.add_patch(Circle((t, 2), r * 0.85, fc=self.IDLE, ec="#566573", lw=1))
                ax.text(t, 2, f"ℓ{t}".translate(SUB), ha="center", va="center", fontsize=10)
                for kind, a, b in (("xh", (t, 0 + r * 0.85), (t, 1 - r)), ("hl", (t, 1 + r), (t, 2 - r * 0.85)),
                                   ("hh", (t - 1 + r, 1), (t - r, 1))):
                    e = FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=10, color="#aab7b8", lw=1)
                    self.edges[kind, t] = ax.add_patch(e)
                # gradient edges, drawn in the backward pass only: ℓ_t → h_t and h_t → h_{t-1}
                for kind, a, b in (("bhl", (t + 0.1, 2 - r * 0.85), (t + 0.1, 1 + r * 0.95)),
                                   ("bhh", (t - r, 0.9), (t - 1 + r, 0.9))):
                    e = FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=10, color=self.BACK, lw=1.2,
                                        visible=False)
                    self.edges[kind, t] = ax.add_patch(e)
        ax.text(0.5, 1.08, r"$\mathbf{W}_{hh}$", fontsize=10, ha="center", color="#566573")
        # the norms sit to the right of the x → h arrow, clear of it, between the x and h rows
        self.node_text = {t: ax.text(t + 0.08, 0.5, "", ha="left", va="center", fontsize=9)
                          for t in range(T + 1)}
        self.loss_text = {t: ax.text(t + r * 0.9, 2.22, "", ha="left", va="bottom", fontsize=9)
                          for t in range(1, T + 1)}
        self.title = fig.text(0.01, 0.965, "", fontsize=11, weight="bold", va="top")
        self.eq = fig.text(0.01, 0.285, "", fontsize=10, va="top")
        self.eq2 = fig.text(0.01, 0.185, "", fontsize=10, va="top")
        self.vals = fig.text(0.01, 0.085, "", fontsize=9.5, va="top")
        # the vector of the active step, as bars
        self.bax = fig.add_axes((0.79, 0.40, 0.19, 0.40))
        self.bax.tick_params(labelsize=9)
        self.bax.set_xticks(range(data.h.shape[1]), [f"{i + 1}" for i in range(data.h.shape[1])])
        self.bax.axhline(0, color="#566573", lw=0.6)
        self.bars = self.bax.bar(range(data.h.shape[1]), np.zeros(data.h.shape[1]), color=self.DONE)
        self.bax_title = self.bax.set_title("", fontsize=10)
        self.hlim = max(1e-9, float(np.abs(data.h).max())) * 1.15
        self.dlim = max(1e-9, float(np.abs(data.deltas).max())) * 1.15

    def __call__(self, setting: dict[str, Any]) -> bytes:
        step = setting["step"]
        T = self.d.T
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step <= 2 * T:
            raise ValueError(f"step must be an int in [0, 2T] = [0, {2 * T}], got {step!r}")
        return self.draw(int(step))

    def _reset(self) -> None:
        for (kind, t), n in self.nodes.items():
            if kind != "x":
                n.set_facecolor(self.IDLE)
            n.set_linewidth(1)
        for (kind, _), e in self.edges.items():
            e.set_color("#aab7b8" if kind in ("xh", "hh", "hl") else self.BACK)
            e.set_linewidth(1 if kind in ("xh", "hh", "hl") else 1.2)
            e.set_visible(kind in ("xh", "hh", "hl"))
        for t in self.node_text:
            self.node_text[t].set_text("")
        for t in self.loss_text:
            self.loss_text[t].set_text("")
        self.eq2.set_text("")

    def draw(self, step: int) -> bytes:
        d, T = self.d, self.d.T
        self._reset()
        f = d.activation
        forward_t = min(step, T)
        for t in range(forward_t + 1):
            self.nodes["h", t].set_facecolor(self.DONE)
            self.node_text[t].set_text(f"‖h‖={np.linalg.norm(d.h[t]):.2f}")
            if t:
                self.nodes["l", t].set_facecolor(self.DONE)
                self.loss_text[t].set_text(f"{d.losses[t - 1]:.2f}")
                for k in ("xh", "hh", "hl"):
                    self.edges[k, t].set_color("#5d6d7e")
        if step <= T:
            t = step
            self.nodes["h", t].set_facecolor(self.ACTIVE)
            self.nodes["h", t].set_linewidth(2)
            if t == 0:
                self.title.set_text(f"forward step 0 (steps 0 to {T}): the initial state")
                self.eq.set_text(r"$\mathbf{h}_0 = \mathbf{0}$")
                self.vals.set_text(f"h₀ = {_vec(d.h[0])}")
            else:
                self.nodes["l", t].set_facecolor(self.ACTIVE)
                for k in ("xh", "hh", "hl"):
                    self.edges[k, t].set_color(self.ACTIVE)
                    self.edges[k, t].set_linewidth(2.2)
                ts = str(t).translate(SUB)
                self.title.set_text(f"forward step {t} (steps 0 to {T}): compute h{ts}, then o{ts} and ℓ{ts}")
                self.eq.set_text(
                    rf"$\mathbf{{a}}_{t} = \mathbf{{x}}_{t} \mathbf{{W}}_{{xh}} + \mathbf{{h}}_{{{t - 1}}} \mathbf{{W}}_{{hh}} + \mathbf{{b}}_h,"
                    rf"\quad \mathbf{{h}}_{t} = \mathrm{{{f}}}(\mathbf{{a}}_{t}),$"
                )
                self.eq2.set_text(
                    rf"$\mathbf{{o}}_{t} = \mathbf{{h}}_{t} \mathbf{{W}}_{{hy}} + \mathbf{{b}}_y,"
                    rf"\quad \ell_{t} = -\log\,\mathrm{{softmax}}(\mathbf{{o}}_{t})[y_{t}]$"
                )
                self.vals.set_text(f"h{ts} = {_vec(d.h[t])}   ℓ{ts} = {d.losses[t - 1]:.3f}   "
                                   f"L = ℓ₁+…+ℓ{ts} = {d.losses[:t].sum():.3f}")
            self._bars(d.h[t], self.hlim, f"h{str(t).translate(SUB)}", self.DONE)
        else:
            t = 2 * T + 1 - step  # backward reaches h_t: T, T-1, ..., 1
            for s in range(t, T + 1):
                self.nodes["h", s].set_facecolor("#f5b7b1")
                self.node_text[s].set_text(f"‖δ‖={np.linalg.norm(d.deltas[s - 1]):.2f}")
                self.edges["bhl", s].set_visible(True)
                if s > t:
                    self.edges["bhh", s].set_visible(True)
            self.nodes["h", t].set_facecolor(self.BACK)
            self.nodes["h", t].set_linewidth(2)
            self.edges["bhl", t].set_linewidth(2.4)
            ts = str(t).translate(SUB)
            self.title.set_text(f"backward step {t} (steps {T} down to 1): δ{ts} = dL/dh{ts}")
            if t == T:
                self.eq.set_text(rf"$\boldsymbol{{\delta}}_{T} = \partial\ell_{T}/\partial\mathbf{{h}}_{T}$"
                                 r"  (no later step)")
            else:
                self.edges["bhh", t + 1].set_linewidth(2.4)
                self.eq.set_text(
                    rf"$\boldsymbol{{\delta}}_{t} = \partial\ell_{t}/\partial\mathbf{{h}}_{t} + "
                    rf"\boldsymbol{{\delta}}_{{{t + 1}}}\,\mathrm{{diag}}(f'(\mathbf{{a}}_{{{t + 1}}}))\,\mathbf{{W}}_{{hh}}^\top$"
                )
            dW = d.dW_hh_partial[t - 1]
            self.eq2.set_text(rf"$\mathrm{{d}}\mathbf{{W}}_{{hh}} \;{{+}}{{=}}\; \mathbf{{h}}_{{{t - 1}}}^\top"
                              rf"(\boldsymbol{{\delta}}_{t} \odot f'(\mathbf{{a}}_{t}))$")
            self.vals.set_text(f"δ{ts} = {_vec(d.deltas[t - 1])}   ‖δ{ts}‖ = {np.linalg.norm(d.deltas[t - 1]):.3f}   "
                               f"‖dW_hh‖ = {np.linalg.norm(dW):.3f}" + ("  (complete)" if t == 1 else ""))
            self._bars(d.deltas[t - 1], self.dlim, f"δ{ts}", self.BACK)
        return png_from_figure(self.fig, self.colors)

    def _bars(self, v: np.ndarray, lim: float, name: str, color: str) -> None:
        for b, val in zip(self.bars, v):
            b.set_height(val)
            b.set_color(color)
        self.bax.set_ylim(-lim, lim)
        self.bax_title.set_text(f"{name}, entry by entry")


def unrolled_axes(T: int = 5) -> list[Axis]:
    """The control of :func:`unrolled_graph_widget`: the step 0..2T, labelled by time index.

    A ``SelectionSlider`` whose options read "forward 0" … "forward T", then
    "backward T" … "backward 1": the same numbering t as the frame titles.
    """
    n = 2 * T + 1
    return [Axis("step", "step", tuple(step_label(i, T) for i in range(n)), tuple(range(n)), "slider")]


def unrolled_graph_widget(T: int = 5, activation: str = "tanh", spectral_norm: float = 0.9, *, seed: int = 0,
                          play: bool = False, interval_ms: int = 1200, width: int = 680, height: int = 400,
                          colors: int = 64) -> FrameWidget:
    """Step through the forward pass h_0 → … → h_T, then the backward pass δ_T, …, δ_1.

    A slider selects the step, labelled by the time index t of the chapter:
    "forward 0" … "forward T" (computing h_t), then "backward T" … "backward 1"
    (computing δ_t); the grid values are 0..2T.  Each frame highlights the
    active node and edges and shows the vector (h_t or δ_t) computed by
    seqlib, its norm, and dW_hh accumulating.

    ``play=True`` adds a Play button jslinked to the slider.  Keep it off in
    the static book: with the vendored @jupyter-widgets/html-manager 1.0.15,
    the Play view throws ("Cannot set properties of undefined (setting
    'className')") when clicked or when its value changes, and the exception
    stops the slider's jslink to the frames too (measured in headless
    Chromium); its icons also request font files from a wrong path.  In a
    live JupyterLab it works.

    Parameters
    ----------
    T : int in [1, 9]
        Number of time steps drawn.
    activation : {"tanh", "relu", "linear", "sigmoid"}
    spectral_norm : float > 0
        ||W_hh||_2 of the tiny RNN.
    seed : int
    play : bool
        Add a Play button (live notebooks only, see above).
    interval_ms : int
        Play speed, milliseconds per step.
    width, height : int
        Frame size in pixels.
    colors : int
        PNG palette size.

    Returns
    -------
    FrameWidget
        CSS class ``seqlib-unrolled``; ``w.show(step=7)`` recomputes a step in the kernel
        (step 7 of 0..2T is "backward 4" for T = 5).
    """
    data = unrolled_data(T, activation, spectral_norm, seed=seed)
    if isinstance(interval_ms, bool) or not isinstance(interval_ms, int) or interval_ms < 50:
        raise ValueError(f"interval_ms must be an int >= 50, got {interval_ms!r}")
    n = 2 * T + 1
    (axis,) = unrolled_axes(T)
    w = FrameWidget(
        [axis],
        lambda: _Renderer(unrolled_data(T, activation, spectral_norm, seed=seed), width, height, colors),
        css_class="seqlib-unrolled",
        controls_layout="hbox",
        title="the unrolled RNN, step by step",
        alt=lambda setting: unrolled_alt(data, setting["step"]),
    )
    w.play, w.play_link = None, None
    if play:
        # Created after the slider -> Stack link, so its listener runs second.
        w.play = widgets.Play(value=0, min=0, max=n - 1, step=1, interval=interval_ms, description="play")
        w.play_link = widgets.jslink((w.play, "value"), (w.controls["step"], "index"))
        w.children[0].children = (w.play, *w.children[0].children)
    return w
