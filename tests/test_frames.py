"""seqlib.widgets._frames: 2x frames, alt text, the smallest font, the status line.

The browser test (tests/browser/test_pages.py) measures what a reader sees;
these check the values the frames carry for it, with no browser.
"""

from __future__ import annotations

import re

import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from seqlib.widgets import WIDGETS
from seqlib.widgets._frames import (
    FRAME_FORMAT,
    FRAME_SCALE,
    STATIC_STATUS,
    Axis,
    FrameWidget,
    encode_frame,
    frame_from_html,
    frame_html,
    frame_info,
    min_font_px,
    new_figure,
)

#: 9 pt in CSS pixels (1 pt = 4/3 px): the smallest text a reader should see.
MIN_CSS_PX = 12.0


def _fig(fontsizes=(10.0,), w=200, h=100) -> Figure:
    fig = new_figure(w, h)
    ax = fig.add_axes((0.2, 0.2, 0.7, 0.7))
    ax.set_xticks([0, 1], ["a", "b"], fontsize=max(fontsizes))
    ax.set_yticks([])
    for i, s in enumerate(fontsizes):
        fig.text(0.1, 0.1 + 0.1 * i, f"t{i}", fontsize=s)
    fig.text(0.5, 0.5, "", fontsize=1)  # empty: not drawn, not counted
    fig.text(0.5, 0.5, "hidden", fontsize=2).set_visible(False)
    return fig


def test_frames_are_drawn_at_twice_the_design_size():
    assert FRAME_SCALE == 2
    fig = _fig(w=300, h=120)
    fmt, w, h = frame_info(encode_frame(fig))
    assert (fmt, w, h) == (FRAME_FORMAT, 600, 240)


def test_encoding_is_deterministic_and_both_formats_read_back():
    for fmt in ("webp", "png"):
        a, b = encode_frame(_fig(), fmt=fmt), encode_frame(_fig(), fmt=fmt)
        assert a == b
        assert frame_info(a)[0] == fmt
    with pytest.raises(ValueError, match="fmt must be one of"):
        encode_frame(_fig(), fmt="gif")
    with pytest.raises(ValueError, match="not a PNG or WebP"):
        frame_info(b"GIF89a....")


def test_min_font_px_is_the_smallest_drawn_text_in_image_pixels():
    fig = _fig(fontsizes=(11.0, 7.2, 9.0))
    # 7.2 pt at 100 dpi x FRAME_SCALE: 7.2 * 200 / 72 = 20 image pixels; empty and hidden texts do not count
    assert min_font_px(fig) == pytest.approx(7.2 * 100 * FRAME_SCALE / 72)
    assert min_font_px(new_figure(50, 50)) == float("inf")


def test_frame_html_carries_alt_design_size_and_font():
    data = encode_frame(_fig(w=300, h=120))
    s = frame_html(data, 'loss "per token" <b>', font_px=20.0)
    assert frame_from_html(s) == data
    assert 'alt="loss &quot;per token&quot; &lt;b&gt;"' in s
    assert 'width="300" height="120"' in s and 'min-width:300px' in s
    assert 'data-min-font-px="20.00"' in s and f'data-scale="{FRAME_SCALE}"' in s
    assert s.startswith('<div class="seqlib-frame-scroll"><img class="seqlib-frame" ')
    for bad in ("", "   ", None):
        with pytest.raises(ValueError, match="alt must be a non-empty str"):
            frame_html(data, bad)


class _Render:
    def __init__(self) -> None:
        self.fig = new_figure(120, 60)
        self.txt = self.fig.text(0.1, 0.5, "", fontsize=9)

    def __call__(self, setting) -> bytes:
        self.txt.set_text(f"{setting['a']} {setting['noise_level']}")
        return encode_frame(self.fig)


def _axes():
    return [Axis("a", "a", ("one", "two"), (1, 2)), Axis("noise_level", "noise", ("low", "high"), (0.1, 0.9), "dropdown")]


def test_default_alt_names_the_widget_and_every_setting():
    w = FrameWidget(_axes(), _Render, css_class="seqlib-toy-plot")
    assert w.title == "toy plot"
    assert w.alt_text({"a": 2, "noise_level": 0.1}) == "toy plot: a two, noise level low"
    leaves = _leaves(w.frames_view)
    assert len(leaves) == 4
    alts = [re.search(r'alt="([^"]*)"', leaf.value).group(1) for leaf in leaves]
    assert len(set(alts)) == 4 and all(a.startswith("toy plot: ") for a in alts)
    assert all(not re.search(r"\.(png|webp|jpe?g)\b|/", a) for a in alts), alts


def _leaves(node):
    if isinstance(node, widgets.Stack):
        return [x for c in node.children for x in _leaves(c)]
    return [node]


class _Render2(_Render):
    def __call__(self, setting) -> bytes:
        self.txt.set_text(f"{setting['a']} {setting['noise_level']}")
        return encode_frame(self.fig)


def test_alt_callable_and_fixed_and_bad():
    w = FrameWidget(_axes(), _Render2, css_class="seqlib-toy", title="toy",
                    alt=lambda s: f"a bar of height {s['a']} in noise {s['noise_level']}")
    assert w.alt_text({"a": 1, "noise_level": 0.9}) == "a bar of height 1 in noise 0.9"
    assert 'alt="a bar of height 1 in noise 0.1"' in w.view_html()
    fixed = FrameWidget(_axes(), _Render2, css_class="seqlib-toy", alt="a toy")
    assert all('alt="a toy"' in leaf.value for leaf in _leaves(fixed.frames_view))
    with pytest.raises(TypeError, match="alt must be a non-empty str or a callable"):
        FrameWidget(_axes(), _Render2, css_class="seqlib-toy", alt="")
    with pytest.raises(ValueError, match="must return a non-empty str"):
        FrameWidget(_axes(), _Render2, css_class="seqlib-toy", alt=lambda s: "")


def test_live_frame_is_an_img_with_alt_and_the_live_class():
    w = FrameWidget(_axes(), _Render2, css_class="seqlib-toy")
    data = w.show(a=3, noise_level=0.5)
    s = w.view_html()
    assert frame_from_html(s) == data == w.view_bytes()
    assert 'class="seqlib-frame seqlib-live-frame"' in s and 'alt="toy: a 3, noise level 0.5"' in s


def test_status_line_is_plain_words():
    assert "pre-computed" not in STATIC_STATUS and "frame" not in STATIC_STATUS
    assert "computed when the book was built" in STATIC_STATUS


@pytest.mark.parametrize("kind", sorted(WIDGETS))
def test_book_widgets_text_is_at_least_9pt_at_the_design_size(kind):
    """Every frame's smallest font, at the design width (the narrowest a frame is shown), >= 9 pt = 12 CSS px.

    The stylesheet never shows a frame narrower than its design width (it
    scrolls on phones), and wider on a desktop column, so this is the worst case.
    """
    import seqlib.widgets as sw

    wdg = getattr(sw, "unrolled_graph_widget" if kind == "unrolled" else f"{kind}_widget")()
    fmt, w, h = frame_info(next(iter(wdg.frames.values())))
    worst = min(wdg.font_px, key=wdg.font_px.get)
    smallest = wdg.font_px[worst] / FRAME_SCALE
    print(f"\n{kind}: frames {w}x{h} px ({fmt}), smallest text {smallest:.1f} px at the design size")
    assert smallest >= MIN_CSS_PX - 1e-9, (
        f"{kind} {wdg._setting_of(worst)}: the smallest text is {smallest:.1f} px at the design size "
        f"(< 12 px = 9 pt), i.e. {smallest * 72 / 100:.1f} pt at 100 dpi; make every font >= 8.7 pt in the renderer")
