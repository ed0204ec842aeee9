"""Interactive figures of the book that also work in static HTML (no kernel).

Each factory returns a :class:`FrameWidget` (an ``ipywidgets.VBox``):

========================================  =========================================  ==========================
factory                                   shows                                      CSS marker
========================================  =========================================  ==========================
:func:`gradient_flow_widget`              G[t, k] and ||δ_k|| vs ||W_hh||, f, T, k   ``seqlib-gradient-flow``
:func:`gated_flow_widget`                 the same for RNN / LSTM / GRU, ||W||,      ``seqlib-gated-flow``
                                          forget-gate bias, truncation
:func:`unrolled_graph_widget`             forward pass, then BPTT, step by step      ``seqlib-unrolled``
:func:`sequence_loss_widget`              weights, loss and gradient scale of a      ``seqlib-sequence-loss``
                                          padded batch under 4 normalisations
:func:`decoding_widget`                   beam search step by step: next-word        ``seqlib-decoding``
                                          distribution, beam, loss terms
========================================  =========================================  ==========================

In static HTML, every control is jslinked to a Stack of pre-computed PNG
frames.  In a live kernel, moving a control recomputes the frame with seqlib
(the status line says so) and ``w.show(...)`` renders settings off the grid.
For tests: ``w.frame_bytes(**setting)``, ``w.expected_frame(**setting)``,
``w.expected_hashes()``, ``w.view_bytes()``, ``w.links``.
"""

from typing import Any

from . import gradient_flow as _gf
from . import masks as _masks
from . import unrolled as _unrolled
from . import decoding as _decoding
from ._frames import STATIC_STATUS, Axis, FrameWidget
from .gradient_flow import gated_flow_widget, gradient_flow_widget
from .masks import sequence_loss_widget
from .unrolled import unrolled_graph_widget
from .decoding import decoding_widget

__all__ = ["gradient_flow_widget", "gated_flow_widget", "unrolled_graph_widget", "sequence_loss_widget", "decoding_widget", "FrameWidget", "Axis",
           "STATIC_STATUS", "WIDGETS", "default_axes", "expected_frame"]

#: kind -> CSS marker class of the factory's widget
WIDGETS: dict[str, str] = {
    "gradient_flow": "seqlib-gradient-flow",
    "gated_flow": "seqlib-gated-flow",
    "unrolled": "seqlib-unrolled",
    "sequence_loss": "seqlib-sequence-loss",
    "decoding": "seqlib-decoding",
}


def _check_kind(kind: str) -> None:
    if kind not in WIDGETS:
        raise ValueError(f"kind must be one of {sorted(WIDGETS)}, got {kind!r}")


def default_axes(kind: str) -> list[Axis]:
    """The controls (labels and grid values) of a factory called with its defaults."""
    _check_kind(kind)
    if kind == "gradient_flow":
        return _gf.gradient_flow_axes()
    if kind == "gated_flow":
        return _gf.gated_flow_axes()
    if kind == "unrolled":
        return _unrolled.unrolled_axes()
    if kind == "decoding":
        return _decoding.default_axes()
    return _masks.sequence_loss_axes()


def expected_frame(kind: str, **setting: Any) -> bytes:
    """The PNG seqlib computes for ``setting`` of a widget built with its factory's defaults.

    Every setting of :func:`default_axes` must be given, e.g.
    ``expected_frame("gradient_flow", spectral_norm=1.0, activation="tanh", T=60, truncate=None)``.
    Needs no widget (no grid is rendered): what the browser tests compare the
    displayed ``<img>`` with.
    """
    names = [a.name for a in default_axes(kind)]
    if sorted(setting) != sorted(names):
        raise TypeError(f"setting must give exactly {names} for kind={kind!r}, got {sorted(setting)}")
    if kind == "gradient_flow":
        return _gf._Renderer()(setting)
    if kind == "gated_flow":
        return _gf._Renderer(gated=True)(setting)
    if kind == "unrolled":
        return _unrolled._Renderer(_unrolled.unrolled_data())(setting)
    if kind == "decoding":
        return _decoding.default_renderer()(setting)
    return _masks._Renderer()(setting)
