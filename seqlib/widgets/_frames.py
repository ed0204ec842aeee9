"""Generic machinery of the book's widgets: PNG frames, nested Stacks, live recompute.

A widget shows one picture (a *frame*) per setting of its controls.  For the
static HTML book every frame of a grid of settings is rendered in advance and
stacked: one :class:`ipywidgets.Stack` per control, nested, each jslinked in
the browser to its control's ``index`` (or ``value``), so moving any control
switches the frame with no kernel.  In a live kernel, observers on the same
controls recompute the frame with seqlib and show it in a separate image, and
:meth:`FrameWidget.show` renders settings off the grid.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

__all__ = ["Axis", "BlitFigure", "FrameWidget", "png_from_figure", "new_figure", "STATIC_STATUS"]

#: What the status line says until the kernel recomputes a frame (in static HTML: always).
STATIC_STATUS = "pre-computed frame"


def new_figure(width_px: int, height_px: int, dpi: int = 100) -> Figure:
    """A matplotlib Figure on its own Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_from_figure(fig: Figure, colors: int = 64, *, draw: bool = True) -> bytes:
    """Draw ``fig`` with Agg and return it as a PNG quantised to ``colors`` colours.

    Deterministic: the same figure state gives the same bytes (no metadata,
    octree quantisation without dithering).  ``draw=False`` encodes the
    canvas as it is (after a blit).
    """
    canvas = fig.canvas
    if draw:
        canvas.draw()
    w, h = canvas.get_width_height()
    rgba = PILImage.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    img = rgba.convert("RGB").quantize(colors=colors, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


class BlitFigure:
    """Fast redraws of one figure: a cached background per layout, dynamic artists on top.

    Drawing axes, ticks and labels dominates matplotlib's time; they change only
    with the layout (e.g. the axis limits), so each layout's background is drawn
    once and the artists that change from frame to frame are blitted onto it.
    Every frame, the first one included, goes through the same path, so the
    bytes depend on the setting only, never on what was drawn before.

    Parameters
    ----------
    fig : Figure
        From :func:`new_figure`.
    dynamic : sequence of Artist
        The artists updated per frame (hidden while a background is drawn).
    """

    def __init__(self, fig: Figure, dynamic: Sequence[Any]) -> None:
        self.fig, self.dynamic = fig, list(dynamic)
        self._backgrounds: dict[Any, Any] = {}

    def png(self, layout_key: Any, colors: int = 64) -> bytes:
        """Render the current artists; ``layout_key`` identifies the static layout (set it up first)."""
        canvas = self.fig.canvas
        if layout_key not in self._backgrounds:
            for a in self.dynamic:
                a.set_visible(False)
            canvas.draw()
            self._backgrounds[layout_key] = canvas.copy_from_bbox(self.fig.bbox)
            for a in self.dynamic:
                a.set_visible(True)
        canvas.restore_region(self._backgrounds[layout_key])
        for a in self.dynamic:
            self.fig.draw_artist(a)
        return png_from_figure(self.fig, colors, draw=False)


@dataclass(frozen=True)
class Axis:
    """One control of a :class:`FrameWidget` and the grid of values it steps through.

    Attributes
    ----------
    name : str
        Keyword of the setting, e.g. ``"spectral_norm"``.
    description : str
        The control's label (math as ``\\( .. \\)``).
    labels : tuple of str
        The option shown for each grid value.
    values : tuple
        The grid values, passed to the renderer.
    kind : {"slider", "dropdown", "int"}
        ``SelectionSlider`` / ``Dropdown`` (jslinked by ``index``) or
        ``IntSlider`` (jslinked by ``value``, values ``0..n-1``).
    """

    name: str
    description: str
    labels: tuple[str, ...]
    values: tuple[Any, ...]
    kind: str = "slider"

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.values) or not self.values:
            raise ValueError(f"axis {self.name!r}: labels and values must be non-empty and of equal length")
        if self.kind not in ("slider", "dropdown", "int"):
            raise ValueError(f"axis {self.name!r}: kind must be 'slider', 'dropdown' or 'int', got {self.kind!r}")

    def make_control(self, initial: int) -> tuple[widgets.DOMWidget, str]:
        """The control widget and the name of its trait that carries the grid index."""
        style = {"description_width": "initial"}
        if self.kind == "slider":
            c = widgets.SelectionSlider(options=list(self.labels), index=initial, description=self.description,
                                        continuous_update=True, style=style)
            return c, "index"
        if self.kind == "dropdown":
            c = widgets.Dropdown(options=list(self.labels), index=initial, description=self.description, style=style)
            return c, "index"
        c = widgets.IntSlider(value=initial, min=0, max=len(self.values) - 1, description=self.description,
                              continuous_update=True, style=style)
        return c, "value"


Renderer = Callable[[dict[str, Any]], bytes]


class FrameWidget(widgets.VBox):
    """A VBox of controls, a stack of pre-computed frames and a status line.

    Built by the factory functions of :mod:`seqlib.widgets`; not usually made
    directly.

    Parameters
    ----------
    axes : sequence of Axis
        The controls, in display order.
    make_renderer : callable
        ``make_renderer()`` returns ``render(setting) -> png bytes`` owning a
        fresh figure; ``setting`` maps every axis name to a value.
    initial : dict, optional
        Initial grid index per axis name (default 0).
    css_class : str
        Added to the container: the stable marker the browser tests look for.
    extra_controls : sequence of widgets, optional
        Shown before the axis controls (e.g. a ``Play`` jslinked to a slider).
    """

    def __init__(
        self,
        axes: Sequence[Axis],
        make_renderer: Callable[[], Renderer],
        *,
        initial: dict[str, int] | None = None,
        css_class: str,
        extra_controls: Sequence[widgets.Widget] = (),
        controls_layout: str = "vbox",
    ) -> None:
        self.axes = tuple(axes)
        self._make_renderer = make_renderer
        self._render = make_renderer()
        initial = dict(initial or {})
        unknown = set(initial) - {a.name for a in self.axes}
        if unknown:
            raise ValueError(f"initial has unknown axis names {sorted(unknown)}")

        self.controls: dict[str, widgets.DOMWidget] = {}
        self.control_traits: dict[str, str] = {}
        for ax in self.axes:
            c, trait = ax.make_control(initial.get(ax.name, 0))
            self.controls[ax.name], self.control_traits[ax.name] = c, trait

        # Render every frame of the grid once, in grid order.
        self.frames: dict[tuple[int, ...], bytes] = {}
        t0 = time.perf_counter()
        for idx in itertools.product(*(range(len(a.values)) for a in self.axes)):
            self.frames[idx] = self._render(self._setting_of(idx))
        self.build_seconds = time.perf_counter() - t0

        # Nest the Stacks with the smallest axes outermost: fewest Stacks and links.
        self.nest_order = tuple(sorted(range(len(self.axes)), key=lambda i: (len(self.axes[i].values), i)))
        self._image_layout = widgets.Layout()  # shared by every frame: less widget state per frame
        self.links: list[tuple[widgets.Widget, widgets.Stack, tuple[int, ...]]] = []
        self._link_objects: list[widgets.jslink] = []
        self.frames_view = self._build_stack(0, {})

        self.status = widgets.Label(value=STATIC_STATUS)
        self.status.add_class("seqlib-widget-status")
        self._live_image = widgets.Image(format="png", layout=self._image_layout)
        self._live_image.add_class("seqlib-live-frame")
        self.view = widgets.Stack([self.frames_view, self._live_image], selected_index=0)
        box = widgets.HBox if controls_layout == "hbox" else widgets.VBox
        ctrl_box = box([*extra_controls, *self.controls.values()])
        super().__init__([ctrl_box, self.view, self.status])
        self.add_class("seqlib-frame-widget")
        self.add_class(css_class)
        self.recompute_ms: list[float] = []
        for name, c in self.controls.items():
            c.observe(self._on_control, names=self.control_traits[name])

    # ------------------------------------------------------------------ building

    def _setting_of(self, idx: Sequence[int]) -> dict[str, Any]:
        return {a.name: a.values[i] for a, i in zip(self.axes, idx)}

    def _build_stack(self, level: int, fixed: dict[int, int]) -> widgets.Widget:
        if level == len(self.axes):
            idx = tuple(fixed[i] for i in range(len(self.axes)))
            img = widgets.Image(value=self.frames[idx], format="png", layout=self._image_layout)
            return img
        ax_i = self.nest_order[level]
        ax = self.axes[ax_i]
        children = [self._build_stack(level + 1, {**fixed, ax_i: j}) for j in range(len(ax.values))]
        control = self.controls[ax.name]
        trait = self.control_traits[ax.name]
        stack = widgets.Stack(children, selected_index=getattr(control, trait))
        self._link_objects.append(widgets.jslink((control, trait), (stack, "selected_index")))
        self.links.append((control, stack, tuple(sorted(fixed.items()))))
        return stack

    # ------------------------------------------------------------------ settings

    def grid(self) -> dict[str, tuple[Any, ...]]:
        """The pre-computed values of every axis, by name."""
        return {a.name: a.values for a in self.axes}

    def current_index(self) -> tuple[int, ...]:
        """Grid index of every axis, read from the controls."""
        return tuple(int(getattr(self.controls[a.name], self.control_traits[a.name])) for a in self.axes)

    def current_setting(self) -> dict[str, Any]:
        """The setting the controls select, ``{axis name: value}``."""
        return self._setting_of(self.current_index())

    def _index_of(self, setting: dict[str, Any]) -> tuple[int, ...]:
        self._check_names(setting)
        idx = []
        for a in self.axes:
            v = setting[a.name] if a.name in setting else a.values[int(getattr(self.controls[a.name], self.control_traits[a.name]))]
            matches = [i for i, g in enumerate(a.values) if _same(g, v)]
            if not matches:
                raise ValueError(f"{a.name}={v!r} is not on the pre-computed grid {list(a.values)}")
            idx.append(matches[0])
        return tuple(idx)

    def _check_names(self, setting: dict[str, Any]) -> None:
        names = [a.name for a in self.axes]
        for k in setting:
            if k not in names:
                raise TypeError(f"unknown setting {k!r}; this widget's settings are {names}")

    # ------------------------------------------------------------------ for tests

    def frame_bytes(self, **setting: Any) -> bytes:
        """The pre-computed frame stored in the widget for a grid setting (others: current)."""
        return self.frames[self._index_of(setting)]

    def expected_frame(self, **setting: Any) -> bytes:
        """The frame seqlib computes for ``setting``, rendered afresh on a new figure.

        Settings not given are taken from the controls.  Any value the
        renderer accepts is allowed, on the grid or not.
        """
        self._check_names(setting)
        full = {**self.current_setting(), **setting}
        return self._make_renderer()(full)

    def expected_hashes(self) -> dict[tuple[int, ...], str]:
        """sha256 of every pre-computed frame, by grid index."""
        return {idx: hashlib.sha256(b).hexdigest() for idx, b in self.frames.items()}

    def view_bytes(self) -> bytes:
        """The PNG the view shows now (kernel-side state)."""
        if self.view.selected_index == 1:
            return bytes(self._live_image.value)
        node: widgets.Widget = self.frames_view
        while isinstance(node, widgets.Stack):
            node = node.children[node.selected_index]
        return bytes(node.value)

    def state_bytes(self) -> int:
        """Size in bytes of the widget state a page embeds for this widget.

        The JSON of every model it depends on (frames base64-encoded, layouts,
        the jslinks), with defaults kept, as nbclient records it.
        """
        import json

        from ipywidgets.embed import dependency_state

        return len(json.dumps(dependency_state([self], drop_defaults=False)))

    # ------------------------------------------------------------------ live kernel

    def _on_control(self, change: dict) -> None:
        self.show()

    def show(self, **setting: Any) -> bytes:
        """Recompute and show the frame for ``setting`` in the kernel (live mode only).

        Settings not given are read from the controls; values need not be on
        the pre-computed grid (e.g. ``show(spectral_norm=1.07)``).  Grid values
        given here also move the controls.  Returns the PNG bytes shown.
        In a static HTML page nothing runs: call this in a live notebook, not
        in a cell of the book (the saved page would show the frozen result).
        """
        self._check_names(setting)
        full = {**self.current_setting(), **setting}
        t0 = time.perf_counter()
        png = self._render(full)
        ms = (time.perf_counter() - t0) * 1e3
        self.recompute_ms.append(ms)
        self._live_image.value = png
        self.view.selected_index = 1
        desc = ", ".join(f"{a.name}={_fmt(full[a.name])}" for a in self.axes)
        self.status.value = f"recomputed in the kernel in {ms:.0f} ms ({desc})"
        return png


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (float, np.floating)) and isinstance(b, (int, float, np.integer, np.floating)):
        return not isinstance(b, bool) and bool(np.isclose(a, b, rtol=0, atol=1e-12))
    return type(a) is type(b) and a == b if not isinstance(a, (int, np.integer)) else (
        isinstance(b, (int, np.integer)) and not isinstance(b, bool) and int(a) == int(b))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
