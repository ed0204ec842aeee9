"""Interactive figures of the book: drawn as SVG, computed by seqlib in a kernel and in the page without one.

Each factory returns a :class:`~seqlib.widgets._engine.BookWidget` (an
``anywidget.AnyWidget``):

========================================  =========================================  ==========================
factory                                   shows                                      CSS marker
========================================  =========================================  ==========================
:func:`gradient_flow_widget`              G[t, k] and ||δ_k|| vs ||W_hh||, f, T, κ   ``seqlib-gradient-flow``
:func:`gated_flow_widget`                 the same for RNN / LSTM / GRU, ||W||,      ``seqlib-gated-flow``
                                          forget-gate bias, T, κ
:func:`unrolled_graph_widget`             forward pass, then BPTT, step by step      ``seqlib-unrolled``
:func:`sequence_loss_widget`              weights, loss and gradient scale of a      ``seqlib-sequence-loss``
                                          padded batch under 5 normalisations
:func:`decoding_widget`                   beam search step by step: next-word        ``seqlib-decoding``
                                          distribution, beam, loss terms
:func:`attention_decoding_widget`         a word's phonemes step by step: attention  ``seqlib-attention-decoding``
                                          weights over its letters, alignment matrix
========================================  =========================================  ==========================

In a live kernel, moving a control sends the setting to the kernel, seqlib
computes the picture's numbers and the page draws them.  In the static HTML
book there is no kernel: the page computes the numbers with the JavaScript
mirror of seqlib in ``js/mirror/`` (checked against seqlib by the browser
tests).  See :mod:`seqlib.widgets._engine`.

For tests: ``w.expected(**setting)`` (seqlib's numbers), ``w.random_settings(rng, n)``,
``default_axes(kind)`` (the control names and defaults), ``expected_frame(kind, **setting)``.
"""

from __future__ import annotations

from typing import Any, Callable

from ._engine import BookWidget, headless

__all__ = ["gradient_flow_widget", "gated_flow_widget", "unrolled_graph_widget", "sequence_loss_widget",
           "decoding_widget", "attention_decoding_widget", "BookWidget", "headless", "WIDGETS", "default_axes", "expected_frame"]

#: kind -> CSS marker class of the factory's widget
WIDGETS: dict[str, str] = {
    "gradient_flow": "seqlib-gradient-flow",
    "gated_flow": "seqlib-gated-flow",
    "unrolled": "seqlib-unrolled",
    "sequence_loss": "seqlib-sequence-loss",
    "decoding": "seqlib-decoding",
    "attention_decoding": "seqlib-attention-decoding",
}


def gradient_flow_widget(*args: Any, **kwargs: Any) -> BookWidget:
    """Watch gradients vanish or explode through time (BPTT chapter); see :mod:`.gradient_flow`."""
    from .gradient_flow import gradient_flow_widget as f
    return f(*args, **kwargs)


def gated_flow_widget(*args: Any, **kwargs: Any) -> BookWidget:
    """Gradient flow through an RNN, an LSTM or a GRU (gated-units chapter); see :mod:`.gradient_flow`."""
    from .gradient_flow import gated_flow_widget as f
    return f(*args, **kwargs)


def unrolled_graph_widget(*args: Any, **kwargs: Any) -> BookWidget:
    """The forward pass, then the δ recursion, one step at a time (BPTT chapter); see :mod:`.unrolled`."""
    from .unrolled import unrolled_graph_widget as f
    return f(*args, **kwargs)


def sequence_loss_widget(*args: Any, **kwargs: Any) -> BookWidget:
    """Which tokens count, and how much (sequence-loss chapter); see :mod:`.masks`."""
    from .masks import sequence_loss_widget as f
    return f(*args, **kwargs)


def decoding_widget(*args: Any, **kwargs: Any) -> BookWidget:
    """Beam search step by step (sequence-to-sequence chapter); see :mod:`.decoding`."""
    from .decoding import decoding_widget as f
    return f(*args, **kwargs)


def attention_decoding_widget(*args: Any, **kwargs: Any) -> BookWidget:
    """Attention weights while decoding a word into phonemes (attention chapter); see :mod:`.attention`."""
    from .attention import attention_decoding_widget as f
    return f(*args, **kwargs)


def _factories() -> dict[str, Callable[..., BookWidget]]:
    return {"gradient_flow": gradient_flow_widget, "gated_flow": gated_flow_widget,
            "unrolled": unrolled_graph_widget, "sequence_loss": sequence_loss_widget,
            "decoding": decoding_widget, "attention_decoding": attention_decoding_widget}


def _check_kind(kind: str) -> None:
    if kind not in WIDGETS:
        raise ValueError(f"kind must be one of {sorted(WIDGETS)}, got {kind!r}")


def default_axes(kind: str) -> dict[str, Any]:
    """The default setting of a factory's widget: control name -> value.

    The widget built to read it opens no comm (:func:`headless`), so a
    notebook that calls this saves no second copy of the widget in its page.
    """
    _check_kind(kind)
    with headless():
        return dict(_factories()[kind]().setting)


def expected_frame(kind: str, **setting: Any) -> dict[str, Any]:
    """seqlib's numbers for ``setting`` (keys as in :func:`default_axes`) of a widget built with defaults."""
    _check_kind(kind)
    with headless():
        return _factories()[kind]().expected(**setting)
