"""Generic machinery of the book's widgets: image frames, nested Stacks, live recompute.

A widget shows one picture (a *frame*) per setting of its controls.  For the
static HTML book every frame of a grid of settings is rendered in advance and
stacked: one :class:`ipywidgets.Stack` per control, nested, each jslinked in
the browser to its control's ``index`` (or ``value``), so moving any control
switches the frame with no kernel.  In a live kernel, observers on the same
controls recompute the frame with seqlib and show it in a separate image, and
:meth:`FrameWidget.show` renders settings off the grid.

Frames are drawn at :data:`FRAME_SCALE` times their design size (sharp on
high-DPI screens) and shown at the width of the text column (see
``book_assets/assets/book.css``).  Each frame is an ``<img>`` inside an
``ipywidgets.HTML`` (the ``Image`` widget has no ``alt``): it carries alt text
(:class:`FrameWidget`'s ``alt``), its design width and height, and
``data-min-font-px``, the smallest font of the frame in image pixels, from
which the browser tests compute the text size a reader sees.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image as PILImage

__all__ = ["Axis", "BlitFigure", "FrameWidget", "png_from_figure", "encode_frame", "new_figure", "frame_html",
           "frame_info", "min_font_px", "STATIC_STATUS", "FRAME_SCALE", "FRAME_FORMAT"]

#: What the status line says until the kernel recomputes a frame (in static HTML: always).
STATIC_STATUS = "static page: each setting was computed when the book was built"

#: Image pixels per design pixel: a 560 x 260 frame is drawn as 1120 x 520.
FRAME_SCALE = 2

#: Encoding of the frames: lossless WebP of the quantised image (a third
#: smaller than the same image as PNG, which keeps a page of 2x frames under
#: the 2 MB budget); ``"png"`` is accepted too.
FRAME_FORMAT = "webp"

_SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "webp": b"RIFF"}


def new_figure(width_px: int, height_px: int, dpi: int = 100, *, scale: float = FRAME_SCALE) -> Figure:
    """A matplotlib Figure on its own Agg canvas (no pyplot, no global state).

    ``width_px`` x ``height_px`` is the *design* size (what the layout and
    the font sizes in points refer to, at ``dpi``); the canvas has ``scale``
    times as many pixels each way.
    """
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi * scale)
    FigureCanvasAgg(fig)
    return fig


def encode_frame(fig: Figure, colors: int = 64, *, draw: bool = True, fmt: str = FRAME_FORMAT) -> bytes:
    """Draw ``fig`` with Agg and encode it quantised to ``colors`` colours (``fmt``: "webp" or "png").

    Deterministic: the same figure state gives the same bytes (no metadata,
    octree quantisation without dithering, lossless encoding with fixed
    settings).  ``draw=False`` encodes the canvas as it is (after a blit).
    """
    if fmt not in _SIGNATURES:
        raise ValueError(f"fmt must be one of {sorted(_SIGNATURES)}, got {fmt!r}")
    canvas = fig.canvas
    if draw:
        canvas.draw()
    w, h = canvas.get_width_height(physical=True)
    rgba = PILImage.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    img = rgba.convert("RGB").quantize(colors=colors, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", compress_level=9)
    else:
        img.save(buf, format="WEBP", lossless=True, quality=100, method=1, exact=True)
    return buf.getvalue()


def png_from_figure(fig: Figure, colors: int = 64, *, draw: bool = True) -> bytes:
    """The frame of ``fig`` in the book's frame format (:data:`FRAME_FORMAT`).

    The name is kept for the widgets that import it; it is :func:`encode_frame`
    with the default format.
    """
    return encode_frame(fig, colors, draw=draw)


def frame_info(data: bytes) -> tuple[str, int, int]:
    """(format, width, height in image pixels) of an encoded frame."""
    fmt = next((f for f, sig in _SIGNATURES.items() if data.startswith(sig)), None)
    if fmt is None or (fmt == "webp" and data[8:12] != b"WEBP"):
        raise ValueError(f"data is not a PNG or WebP image (starts with {bytes(data[:12])!r})")
    with PILImage.open(io.BytesIO(data)) as im:
        return fmt, im.width, im.height


def min_font_px(fig: Figure) -> float:
    """The smallest font size of the visible, non-empty texts of ``fig``, in canvas pixels.

    Counts every :class:`matplotlib.text.Text` (titles, labels, tick labels,
    annotations, legend entries) at its nominal size; in mathtext the
    sub- and superscripts are drawn smaller (about 0.7x) than this.
    Returns ``inf`` for a figure without text.
    """
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes) * fig.dpi / 72 if sizes else float("inf")


def frame_html(data: bytes, alt: str, *, css_class: str = "seqlib-frame", font_px: float | None = None) -> str:
    """The ``<img>`` (in its scroll box) that shows one frame in the page.

    ``width``/``height`` are the design size (image pixels / :data:`FRAME_SCALE`);
    the stylesheet shows the frame at the column width, and at least at its
    design width (scrolling sideways on narrower screens).
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt must be a non-empty str describing the frame, got {alt!r}")
    fmt, w, h = frame_info(data)
    dw, dh = round(w / FRAME_SCALE), round(h / FRAME_SCALE)
    b64 = base64.b64encode(bytes(data)).decode("ascii")
    font = "" if font_px is None or font_px == float("inf") else f' data-min-font-px="{font_px:.2f}"'
    return (f'<div class="seqlib-frame-scroll"><img class="{css_class}" src="data:image/{fmt};base64,{b64}" '
            f'alt="{html.escape(alt.strip())}" width="{dw}" height="{dh}" style="min-width:{dw}px" '
            f'data-scale="{FRAME_SCALE}"{font}></div>')


def frame_from_html(value: str) -> bytes:
    """The image bytes inside a :func:`frame_html` string."""
    i = value.index(";base64,") + len(";base64,")
    return base64.b64decode(value[i:value.index('"', i)])


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
        """Render the current artists (a frame in :data:`FRAME_FORMAT`); ``layout_key`` identifies the static layout."""
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
AltText = Callable[[dict[str, Any]], str]


class FrameWidget(widgets.VBox):
    """A VBox of controls, a stack of frames rendered in advance and a status line.

    Built by the factory functions of :mod:`seqlib.widgets`; not usually made
    directly.

    Parameters
    ----------
    axes : sequence of Axis
        The controls, in display order.
    make_renderer : callable
        ``make_renderer()`` returns ``render(setting) -> frame bytes`` owning a
        fresh figure; ``setting`` maps every axis name to a value.
    initial : dict, optional
        Initial grid index per axis name (default 0).
    css_class : str
        Added to the container: the stable marker the browser tests look for.
    extra_controls : sequence of widgets, optional
        Shown before the axis controls (e.g. a ``Play`` jslinked to a slider).
    title : str, optional
        What the widget shows, in a few words (default: from ``css_class``,
        e.g. "sequence loss"); the start of the default alt text.
    alt : str or callable, optional
        Alt text of each frame: ``alt(setting) -> str`` describes the frame of
        ``setting`` (what it shows, the values that matter), or a fixed str.
        Default: the title and every setting by its control label, e.g.
        "gradient flow: spectral norm 1, activation tanh, T 60, truncate none".
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
        title: str | None = None,
        alt: str | AltText | None = None,
    ) -> None:
        self.axes = tuple(axes)
        self.title = title if title is not None else css_class.removeprefix("seqlib-").replace("-", " ")
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError(f"title must be a non-empty str, got {title!r}")
        if alt is not None and not (callable(alt) or (isinstance(alt, str) and alt.strip())):
            raise TypeError(f"alt must be a non-empty str or a callable setting -> str, got {alt!r}")
        self._alt = alt
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

        # Render every frame of the grid once, in grid order; note each one's smallest font.
        self.frames: dict[tuple[int, ...], bytes] = {}
        self.font_px: dict[tuple[int, ...], float] = {}
        t0 = time.perf_counter()
        for idx in itertools.product(*(range(len(a.values)) for a in self.axes)):
            self.frames[idx] = self._render(self._setting_of(idx))
            self.font_px[idx] = self._font_px(self._render)
        self.build_seconds = time.perf_counter() - t0

        # Nest the Stacks with the smallest axes outermost: fewest Stacks and links.
        self.nest_order = tuple(sorted(range(len(self.axes)), key=lambda i: (len(self.axes[i].values), i)))
        self._image_layout = widgets.Layout(width="100%")  # shared by every frame: less widget state per frame
        self.links: list[tuple[widgets.Widget, widgets.Stack, tuple[int, ...]]] = []
        self._link_objects: list[widgets.jslink] = []
        self.frames_view = self._build_stack(0, {})

        self.status = widgets.Label(value=STATIC_STATUS)
        self.status.add_class("seqlib-widget-status")
        self._live_image = widgets.HTML(layout=self._image_layout)
        self._live_image.add_class("seqlib-live-frame-box")
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

    @staticmethod
    def _font_px(render: Renderer) -> float:
        """Smallest font of the renderer's figure (``render.fig``) in image pixels; inf if unknown."""
        fig = getattr(render, "fig", None)
        return min_font_px(fig) if isinstance(fig, Figure) else float("inf")

    def alt_text(self, setting: dict[str, Any]) -> str:
        """The alt text of the frame of ``setting`` (see ``alt``)."""
        if callable(self._alt):
            text = self._alt(setting)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"alt({setting!r}) must return a non-empty str, got {text!r}")
            return text
        if isinstance(self._alt, str):
            return self._alt
        parts = []
        for a in self.axes:
            v = setting[a.name]
            label = next((lab for lab, g in zip(a.labels, a.values) if _same(g, v)), _fmt(v))
            parts.append(f"{a.name.replace('_', ' ')} {label}")
        return f"{self.title}: " + ", ".join(parts)

    def _build_stack(self, level: int, fixed: dict[int, int]) -> widgets.Widget:
        if level == len(self.axes):
            idx = tuple(fixed[i] for i in range(len(self.axes)))
            html_ = frame_html(self.frames[idx], self.alt_text(self._setting_of(idx)), font_px=self.font_px[idx])
            return widgets.HTML(value=html_, layout=self._image_layout)
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
        """The grid values of every axis, by name."""
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
        """The frame stored in the widget for a grid setting (others: current)."""
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
        """sha256 of every stored frame, by grid index."""
        return {idx: hashlib.sha256(b).hexdigest() for idx, b in self.frames.items()}

    def view_bytes(self) -> bytes:
        """The frame (image bytes) the view shows now (kernel-side state)."""
        return frame_from_html(self.view_html())

    def view_html(self) -> str:
        """The ``<img>`` HTML the view shows now (kernel-side state)."""
        if self.view.selected_index == 1:
            return self._live_image.value
        node: widgets.Widget = self.frames_view
        while isinstance(node, widgets.Stack):
            node = node.children[node.selected_index]
        return node.value

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
        the grid (e.g. ``show(spectral_norm=1.07)``).  Grid values given here
        also move the controls.  Returns the frame (image bytes) shown.
        In a static HTML page nothing runs: call this in a live notebook, not
        in a cell of the book (the saved page would show the frozen result).
        """
        self._check_names(setting)
        full = {**self.current_setting(), **setting}
        t0 = time.perf_counter()
        png = self._render(full)
        ms = (time.perf_counter() - t0) * 1e3
        self.recompute_ms.append(ms)
        self._live_image.value = frame_html(png, self.alt_text(full), css_class="seqlib-frame seqlib-live-frame",
                                            font_px=self._font_px(self._render))
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
