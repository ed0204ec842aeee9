"""seqlib.book.diagrams: the box-and-arrow primitives of the RNN chapter's drawings."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from seqlib.book.diagrams import BOX_H, BOX_W, COLORS, HALF, _edge, arrow, box, chain, frame  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _boxes(ax):
    return [p for p in ax.patches if isinstance(p, FancyBboxPatch)]


def _arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_box_is_centred_coloured_and_labelled(ax):
    assert box(ax, (2, 1), "h", "h") == (2.0, 1.0)
    (b,) = _boxes(ax)
    assert np.isclose(b.get_x() + BOX_W / 2, 2) and np.isclose(b.get_y() + BOX_H / 2, 1)
    assert matplotlib.colors.same_color(b.get_facecolor(), COLORS["h"])
    assert [t.get_text() for t in ax.texts] == ["h"]


def test_edge_points_lie_on_the_box_border():
    assert np.allclose(_edge((0, 0), (5, 0), HALF), (HALF[0], 0.0))
    assert np.allclose(_edge((0, 0), (0, -3), HALF), (0.0, -HALF[1]))
    x, y = _edge((0, 0), (1, 1), HALF)
    assert np.isclose(max(abs(x) / HALF[0], abs(y) / HALF[1]), 1.0)


def test_arrow_runs_from_edge_to_edge_with_its_label(ax):
    arrow(ax, (0, 0), (0, 1), "W", side="left")
    (a,) = _arrows(ax)
    (start, end) = a._posA_posB
    assert np.allclose(start, (0, HALF[1])) and np.allclose(end, (0, 1 - HALF[1]))
    assert [t.get_text() for t in ax.texts] == ["W"]


def test_chain_draws_states_inputs_outputs_and_skips_the_ellipsis(ax):
    centres = chain(ax, 0.0, ["1", "2", "...", "T"], outputs=[3])
    # h0 at x = 0, then steps 1, 2, ellipsis, T at dx = 1.15 apart
    assert np.allclose([c[0] for c in centres], [1.15, 2.3, 4.6])
    assert all(c[1] == 1.0 for c in centres)
    # boxes: h0 + 3 states + 3 inputs + 1 output; arrows: 4 along the chain + 3 up + 1 out
    assert len(_boxes(ax)) == 8 and len(_arrows(ax)) == 8


def test_chain_without_initial_state_or_weights(ax):
    centres = chain(ax, 1.0, ["1", "2"], inputs=[0], outputs=[], h0=None, weights=None, dx=0.9)
    assert np.allclose([c[0] for c in centres], [1.0, 1.9])
    assert len(_boxes(ax)) == 3 and len(_arrows(ax)) == 2
    assert ax.texts and not any("W" in t.get_text() for t in ax.texts)


def test_frame_sets_limits_and_equal_aspect(ax):
    frame(ax, 5.0)
    assert ax.get_xlim() == (-0.45, 5.0) and ax.get_ylim() == (-0.35, 2.35)
    assert ax.get_aspect() == 1.0 and not ax.axison


@pytest.mark.parametrize("call, err, match", [
    (lambda ax: box(ax, (0, 0), "h", "z"), ValueError, "kind must be one of"),
    (lambda ax: box(ax, (0, 0, 0), "h", "h"), TypeError, "xy must be a pair"),
    (lambda ax: box(ax, (np.nan, 0), "h", "h"), ValueError, "finite"),
    (lambda ax: arrow(ax, (0, 0), (0, 0)), ValueError, "two different points"),
    (lambda ax: arrow(ax, (0, 0), (1, 0), side="right"), ValueError, "side must be one of"),
    (lambda ax: arrow(ax, (0, 0), (1, 0), half_q=(0, 1)), ValueError, "positive half-sizes"),
    (lambda ax: chain(ax, 0, []), ValueError, "steps must be a non-empty"),
    (lambda ax: chain(ax, 0, ["1"], inputs=[1]), ValueError, r"inputs must hold step indices in \[0, 1\)"),
    (lambda ax: chain(ax, 0, ["1"], dx=0), ValueError, "dx must be finite"),
    (lambda ax: chain(ax, 0, ["1"], weights=("a", "b")), ValueError, "weights must be three"),
    (lambda ax: frame(ax, -1.0), ValueError, "xmax must be finite"),
])
def test_bad_arguments_are_named(ax, call, err, match):
    with pytest.raises(err, match=match):
        call(ax)
