"""Box-and-arrow drawings of unrolled RNNs, for the figures of the RNN chapter.

The pages of the RNN chapter (``chapters/rnn*.md``) draw the folded and the
unrolled network, the four input/output patterns, and teacher forcing against
free running with the same primitives, so that every page runs on its own
without a copy of them:

* :func:`box` draws one rounded, coloured box with a label (a state, an
  input, an output);
* :func:`arrow` joins two boxes, from edge to edge, with an optional label;
* :func:`chain` draws one unrolled recurrent chain: a row of state boxes
  joined by arrows, with input boxes below and output boxes above;
* :func:`frame` fits the axes around a drawing that is three rows high
  (inputs at ``y = 0``, states at ``y = 1``, outputs at ``y = 2``).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> centres = chain(ax, 0.0, ["1", "2", "...", "T"])
>>> [round(x, 2) for x, _ in centres]
[1.15, 2.3, 4.6]
>>> frame(ax, 5.0)
>>> plt.close(fig)
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .._validate import _describe, check_choice, check_real

__all__ = ["COLORS", "BOX_W", "BOX_H", "HALF", "box", "arrow", "chain", "frame"]

#: Fill colour of a box, by the kind of quantity it holds: input ``x``,
#: state ``h``, output ``o``, initial state ``h0``, decoder state ``s``.
COLORS: dict[str, str] = {"x": "#dbe9f6", "h": "#fde2c4", "o": "#d9f0d3",
                          "h0": "#eeeeee", "s": "#f6d5e5"}
#: Width and height of a box, in data units.
BOX_W: float = 0.62
BOX_H: float = 0.46
#: Half-width and half-height of a box.
HALF: tuple[float, float] = (BOX_W / 2, BOX_H / 2)

Point = tuple[float, float]


def _check_point(p: Any, name: str) -> Point:
    if isinstance(p, (str, bytes)) or np.shape(p) != (2,):
        raise TypeError(f"{name} must be a pair of numbers (x, y), got {_describe(p)}")
    x, y = p
    return (check_real(x, f"{name}[0]", low=-np.inf),
            check_real(y, f"{name}[1]", low=-np.inf))


def _check_half(half: Any, name: str) -> Point:
    w, h = _check_point(half, name)
    if w <= 0 or h <= 0:
        raise ValueError(f"{name} must be a pair of positive half-sizes, got {half!r}")
    return (w, h)


def box(ax: Axes, xy: Point, text: str, kind: str, fs: float = 12) -> Point:
    """Draw a rounded box of colour ``COLORS[kind]`` centred at ``xy``, with a label.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    xy : (float, float)
        The centre of the box, in data units.
    text : str
        The label written in the box (mathtext allowed).
    kind : str
        One of the keys of :data:`COLORS`: ``"x"``, ``"h"``, ``"o"``,
        ``"h0"`` or ``"s"``.
    fs : float
        Font size of the label.

    Returns
    -------
    (float, float)
        The centre ``xy``, so that a call can feed :func:`arrow`.
    """
    x, y = _check_point(xy, "xy")
    check_choice(kind, "kind", COLORS)
    fs = check_real(fs, "fs")
    ax.add_patch(FancyBboxPatch(
        (x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, zorder=2,
        fc=COLORS[kind], ec="0.25", lw=1.0,
        boxstyle="round,pad=0.02,rounding_size=0.08"))
    ax.text(x, y, str(text), ha="center", va="center", fontsize=fs, zorder=3)
    return (x, y)


def _edge(p: Point, q: Point, half: Point) -> Point:
    """Where the ray from ``p`` to ``q`` leaves a box of half-size ``half`` centred at ``p``."""
    u = np.subtract(q, p, dtype=float)
    if not u.any():
        raise ValueError(f"an arrow needs two different points, got {p!r} twice")
    s = min(half[0] / abs(u[0]) if u[0] else np.inf,
            half[1] / abs(u[1]) if u[1] else np.inf)
    a = np.add(p, s * u)
    return (float(a[0]), float(a[1]))


def arrow(ax: Axes, p: Point, q: Point, label: str | None = None, side: str = "left",
          half_p: Point = HALF, half_q: Point = HALF) -> None:
    """Draw an arrow from the box centred at ``p`` to the box centred at ``q``.

    The arrow runs from edge to edge: it starts where the line from ``p`` to
    ``q`` leaves the first box and ends where it enters the second.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    p, q : (float, float)
        The centres of the two boxes; they must differ.
    label : str or None
        A label written beside the middle of the arrow (e.g. a weight
        matrix), or None for none.
    side : {"left", "top"}
        Where the label goes: left of a vertical arrow or above a
        horizontal one.
    half_p, half_q : (float, float)
        The half-width and half-height of the two boxes (default
        :data:`HALF`); a smaller size lets an arrow reach an ellipsis.
    """
    p, q = _check_point(p, "p"), _check_point(q, "q")
    half_p, half_q = _check_half(half_p, "half_p"), _check_half(half_q, "half_q")
    check_choice(side, "side", ("left", "top"))
    a, b = _edge(p, q, half_p), _edge(q, p, half_q)
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=10,
                                 color="0.25", lw=1.1, shrinkA=0,
                                 shrinkB=1, zorder=1))
    if label:
        m = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        dx, dy, ha, va = {"left": (-0.06, 0, "right", "center"),
                          "top": (0, 0.07, "center", "bottom")}[side]
        ax.text(m[0] + dx, m[1] + dy, label, ha=ha, va=va, fontsize=9.5,
                color="0.2")


def _check_indices(idx: Iterable[int] | None, name: str, n: int) -> set[int]:
    if idx is None:
        return set(range(n))
    out = set()
    for i in idx:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
            raise ValueError(f"{name} must hold step indices in [0, {n}), got {i!r}")
        out.add(int(i))
    return out


def chain(ax: Axes, x0: float, steps: Sequence[str], inputs: Iterable[int] | None = None,
          outputs: Iterable[int] | None = None, h0: str | None = r"$\mathsf{h}_0$",
          state: str = "h", kind: str = "h", dx: float = 1.15,
          weights: Sequence[str] | None = ("W_{xh}", "W_{hh}", "W_{hy}"),
          xname: str = "x", oname: str = "o") -> list[Point]:
    """Draw one unrolled recurrent chain starting at horizontal position ``x0``.

    State boxes sit at ``y = 1``, joined left to right; step ``i`` reads an
    input box at ``y = 0`` if ``i`` is in ``inputs`` and emits an output box
    at ``y = 2`` if ``i`` is in ``outputs``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    x0 : float
        Horizontal position of the first box (the initial state, if any).
    steps : sequence of str
        The labels of the time steps, e.g. ``["1", "2", "...", "T"]``; the
        label ``"..."`` draws an ellipsis instead of a step.
    inputs, outputs : iterable of int, or None
        The indices (into ``steps``) of the steps that read an input / emit
        an output; None (the default) means all of them.
    h0 : str or None
        The label of an initial-state box left of the first step, or None
        for no initial state.
    state : str
        The letter of the state (``"h"``, or ``"s"`` for a decoder).
    kind : str
        The colour of the state boxes, a key of :data:`COLORS`.
    dx : float
        The horizontal distance between neighbouring boxes, > 0.
    weights : (str, str, str) or None
        The TeX names of the input, recurrent and readout weights written on
        the arrows, or None for unlabelled arrows.
    xname, oname : str
        The letters of the inputs and of the outputs.

    Returns
    -------
    list of (float, float)
        The centres of the state boxes, one per step that is not an ellipsis.
    """
    x0 = check_real(x0, "x0", low=-np.inf)
    dx = check_real(dx, "dx")
    check_choice(kind, "kind", COLORS)
    if isinstance(steps, str) or not len(steps):
        raise ValueError(f"steps must be a non-empty sequence of labels, got {_describe(steps)}")
    n = len(steps)
    inputs, outputs = _check_indices(inputs, "inputs", n), _check_indices(outputs, "outputs", n)
    if weights:
        if isinstance(weights, str) or len(weights) != 3:
            raise ValueError(f"weights must be three TeX names or None, got {_describe(weights)}")
        wx, wh, wy = (rf"$\mathsf{{{w}}}$" for w in weights)
    else:
        wx = wh = wy = None
    prev: Point | None = None
    prev_half, centres = HALF, []
    if h0 is not None:
        prev = box(ax, (x0, 1.0), h0, "h0")
        x0 += dx
    for i, s in enumerate(steps):
        c = (x0 + i * dx, 1.0)
        if s == "...":
            ax.text(*c, r"$\cdots$", ha="center", va="center", fontsize=12)
            if prev is not None:
                arrow(ax, prev, c, half_p=prev_half, half_q=(0.2, 0.1))
            prev, prev_half = c, (0.2, 0.1)
            continue
        box(ax, c, rf"$\mathsf{{{state}}}_{{{s}}}$", kind)
        if prev is not None:
            arrow(ax, prev, c, wh, side="top", half_p=prev_half)
        if i in inputs:
            x_box = box(ax, (c[0], 0.0), rf"$\mathsf{{{xname}}}_{{{s}}}$", "x")
            arrow(ax, x_box, c, wx)
        if i in outputs:
            o_box = box(ax, (c[0], 2.0), rf"$\mathsf{{{oname}}}_{{{s}}}$", "o")
            arrow(ax, c, o_box, wy)
        prev, prev_half = c, HALF
        centres.append(c)
    return centres


def frame(ax: Axes, xmax: float, xmin: float = -0.45) -> None:
    """Fit the axes around a drawing ``xmin`` to ``xmax`` wide and three rows high.

    Sets the limits (the rows at ``y = 0, 1, 2`` with a margin), an equal
    aspect ratio so that boxes keep their shape, and hides the axes.
    """
    xmin = check_real(xmin, "xmin", low=-np.inf)
    xmax = check_real(xmax, "xmax", low=xmin)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(-0.35, 2.35)
    ax.set_aspect("equal")
    ax.axis("off")
