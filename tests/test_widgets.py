"""seqlib.widgets: frames, jslinks, page weight, and the live-kernel path.

Static HTML runs no Python, so every control must be jslinked to a Stack of
pre-computed frames, and each frame must be what seqlib computes for its
setting.  In a live kernel the same widget recomputes; that path is checked in
a real kernel through nbclient.  Sizes and times are printed (``-s``), never
asserted on, except the page-weight budget.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import textwrap

import ipywidgets as widgets
import numpy as np
import pytest

import seqlib
from ipywidgets.widgets.widget_link import Link
from seqlib import gradflow, loss, rnn
from seqlib.widgets import STATIC_STATUS, FrameWidget, expected_frame, gradient_flow_widget, sequence_loss_widget
from seqlib.widgets import unrolled_graph_widget
from seqlib.widgets._frames import FRAME_FORMAT, frame_from_html, frame_info
from seqlib.widgets.gradient_flow import gradient_flow_data
from seqlib.widgets.masks import make_weights, sequence_loss_data
from seqlib.widgets.unrolled import unrolled_data

WIDGET_BUDGET = 1_200_000  # bytes of embedded widget state per widget
PAGE_BUDGET = 2_000_000


@pytest.fixture(scope="module")
def built() -> dict[str, FrameWidget]:
    """The three widgets exactly as the chapters build them (factory defaults)."""
    return {
        "gradient_flow": gradient_flow_widget(),
        "unrolled": unrolled_graph_widget(),
        "sequence_loss": sequence_loss_widget(),
    }


# --------------------------------------------------------------------------- frames


def test_frames_deterministic(built):
    for kind, w in built.items():
        idxs = list(w.frames)
        for idx in (idxs[0], idxs[len(idxs) // 2], idxs[-1]):
            setting = w._setting_of(idx)
            a = w.expected_frame(**setting)  # a fresh figure, rendered alone
            b = w.expected_frame(**setting)
            assert a == b, f"{kind} {setting}: two renderings differ"
            # the stored frame was rendered after others on a reused figure: same bytes
            assert w.frames[idx] == a, f"{kind} {setting}: stored frame depends on rendering order"
            assert frame_info(a)[0] == FRAME_FORMAT, f"{kind}: frame is not {FRAME_FORMAT}"
        # frames differ from one another: every control changes the picture
        assert len(set(w.frames.values())) == len(w.frames), f"{kind}: duplicate frames"


def test_grid_sizes_and_page_weight(built):
    total = {}
    for kind, w in built.items():
        sizes = [len(b) for b in w.frames.values()]
        state = w.state_bytes()
        total[kind] = state
        grid = " x ".join(str(len(a.values)) for a in w.axes)
        print(
            f"\n{kind}: grid {grid} = {len(sizes)} frames, {FRAME_FORMAT} {sum(sizes) / 1e3:.0f} kB "
            f"(mean {np.mean(sizes) / 1e3:.1f} kB, max {max(sizes) / 1e3:.1f} kB), "
            f"embedded state {state / 1e3:.0f} kB, built in {w.build_seconds:.2f} s"
        )
        assert state <= WIDGET_BUDGET, f"{kind}: {state} bytes of widget state > {WIDGET_BUDGET}"
    # the BPTT chapter may hold two of them
    both = total["gradient_flow"] + total["unrolled"]
    print(f"gradient_flow + unrolled on one page: {both / 1e3:.0f} kB of widget state")
    assert both <= PAGE_BUDGET - 400_000, "leave >= 400 kB of the 2 MB page budget for the chapter itself"


# --------------------------------------------------------------------------- links


def _walk_links(w: FrameWidget) -> None:
    """Check the nested Stacks against the controls, from the widget tree alone."""
    link_by_target = {}
    for link in w._link_objects:
        assert isinstance(link, Link)
        link_by_target[id(link.target[0])] = link
    for control in w.controls.values():
        assert control in w.children[0].children, "control not displayed"

    def visit(node, level: int, fixed: dict[int, int]) -> None:
        if level == len(w.axes):
            assert isinstance(node, widgets.HTML) and "<img " in node.value
            idx = tuple(fixed[i] for i in range(len(w.axes)))
            assert frame_from_html(node.value) == w.frames[idx]
            return
        assert isinstance(node, widgets.Stack)
        ax_i = w.nest_order[level]
        ax = w.axes[ax_i]
        link = link_by_target[id(node)]
        control, trait = link.source
        assert link.target[1] == "selected_index"
        assert control is w.controls[ax.name], f"stack at level {level} is linked to the wrong control"
        assert trait == ("value" if ax.kind == "int" else "index"), "Dropdown.value cannot be jslinked"
        assert len(node.children) == len(ax.values)
        # the control's index j shows child j: options are in grid order
        opts = list(getattr(control, "options", range(len(ax.values))))
        assert [str(o) for o in opts] == list(ax.labels)
        for j, child in enumerate(node.children):
            visit(child, level + 1, {**fixed, ax_i: j})

    visit(w.frames_view, 0, {})
    sources = {id(link.source[0]) for link in w._link_objects}
    for name, control in w.controls.items():
        assert id(control) in sources, f"control {name} is not jslinked: it would look interactive and do nothing"


def test_every_control_is_jslinked_to_its_stack(built):
    for kind, w in built.items():
        _walk_links(w)
        n_stacks = sum(1 for _ in w._link_objects)
        print(f"\n{kind}: {n_stacks} Stacks/jslinks, nest order {[w.axes[i].name for i in w.nest_order]}")
    assert built["unrolled"].play is None, "Play breaks the static page (see unrolled_graph_widget)"
    u = unrolled_graph_widget(T=2, play=True)
    _walk_links(u)
    assert u.play_link.source == (u.play, "value") and u.play_link.target == (u.controls["step"], "index")
    assert u.play.max == len(u.controls["step"].options) - 1 == 4 and u.play in u.children[0].children
    assert built["gradient_flow"].status.value == STATIC_STATUS


def test_initial_view_is_the_controls_setting(built):
    for kind, w in built.items():
        assert w.view.selected_index == 0
        assert w.view_bytes() == w.frames[w.current_index()]


# --------------------------------------------------------------------------- frames == seqlib


def test_gradient_flow_frame_is_seqlibs(built):
    w = built["gradient_flow"]
    setting = dict(spectral_norm=1.1, activation="relu", T=20, truncate=8)
    d = gradient_flow_data(**setting)
    # recompute independently with the public seqlib API
    rng = np.random.default_rng(0)
    W_xh = seqlib.glorot_uniform(8, 16, rng=rng)
    W_hh = seqlib.scale_to_spectral_norm(seqlib.orthogonal(16, rng=rng), 1.1)
    x = 0.05 * np.random.default_rng([0, 1]).standard_normal((20, 4, 8)).transpose(1, 0, 2)
    dh = np.random.default_rng([0, 2]).standard_normal((20, 4, 16)).transpose(1, 0, 2) / 8.0
    _, cache = rnn.rnn_forward(x, None, W_xh, W_hh, np.zeros(16), "relu")
    np.testing.assert_allclose(d.G, gradflow.loss_to_state_norms(dh, cache, truncate=8))
    np.testing.assert_allclose(d.delta_norms, gradflow.state_gradient_norms(dh, cache, truncate=8))
    assert np.isclose(seqlib.spectral_norm(W_hh), 1.1)
    # a shorter T is the first steps of the longer run (time-major draws)
    d60 = gradient_flow_data(1.1, "relu", 60, 8)
    np.testing.assert_allclose(d.G, d60.G[:20, :20])
    assert w.frame_bytes(**setting) == expected_frame("gradient_flow", **setting)


def test_gradient_flow_regimes():
    """Vanishing below 1/γ, exploding above it for the linear RNN; sigmoid vanishes on the whole grid."""
    r = lambda n, a: (lambda d: d.G[-1, 0] / d.G[-1, -1])(gradient_flow_data(n, a, 60, None))  # noqa: E731
    assert r(0.9, "linear") < 1e-2 < 1e2 < r(1.1, "linear")
    assert np.isclose(r(1.0, "linear"), 1.0, rtol=1e-6)
    assert r(0.9, "tanh") < 1e-2 and r(1.1, "tanh") > 1
    assert r(2.0, "sigmoid") < 1e-10


def test_unrolled_frames_are_seqlibs(built):
    d = unrolled_data()
    x_rng = np.random.default_rng(0)
    p = seqlib.init_rnn_params(2, 3, 3, rng=x_rng, W_hh_spectral_norm=0.9)
    x = x_rng.standard_normal((1, 5, 2))
    y = x_rng.integers(0, 3, size=(1, 5))
    h, cache = rnn.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"], "tanh")
    o, oc = seqlib.linear_forward(h, p["W_hy"], p["b_y"])
    dh = seqlib.linear_backward(loss.cross_entropy_backward(o, y), oc)["h"]
    np.testing.assert_allclose(d.losses, loss.token_cross_entropy(o, y)[0])
    np.testing.assert_allclose(np.linalg.norm(d.deltas, axis=1), gradflow.state_gradient_norms(dh, cache))
    np.testing.assert_allclose(d.dW_hh_partial[0], rnn.rnn_backward(dh, cache)["W_hh"])
    w = built["unrolled"]
    for step in (0, 5, 6, 10):
        assert w.frame_bytes(step=step) == expected_frame("unrolled", step=step)


def test_unrolled_slider_counts_as_the_frames_do(built):
    """The slider reads "forward t" / "backward t" in the chapter's time index t, the numbering
    of the frame titles; the alt text names the same step."""
    from seqlib.widgets.unrolled import step_label, unrolled_alt

    w = built["unrolled"]
    T = unrolled_data().T
    assert list(w.controls["step"].options) == [f"forward {t}" for t in range(T + 1)] + [
        f"backward {t}" for t in range(T, 0, -1)]
    assert [step_label(s, T) for s in range(2 * T + 1)] == list(w.controls["step"].options)
    d = unrolled_data()
    assert "forward pass at step 3 of 5" in unrolled_alt(d, 3)
    assert "backward pass at step 3" in unrolled_alt(d, 8)  # step 8 = "backward 3"
    assert f"{np.linalg.norm(d.deltas[2]):.3f}" in unrolled_alt(d, 8)
    assert w.alt_text({"step": 8}) == unrolled_alt(d, 8)  # each frame's <img> carries it


def test_sequence_loss_frames_are_seqlibs(built):
    w = built["sequence_loss"]
    rng = np.random.default_rng(0)
    z, y = rng.normal(0.0, 1.5, size=(4, 8, 6)), rng.integers(0, 6, size=(4, 8))
    for lengths, scheme, conv in itertools.product(w.axes[0].values, w.axes[1].values, w.axes[2].values):
        d = sequence_loss_data(lengths, scheme, conv)
        wts = make_weights(lengths, scheme)
        np.testing.assert_array_equal(wts > 0, seqlib.masking.sequence_mask(lengths, maxlen=8) > 0)
        assert np.isclose(d.loss, loss.sequence_loss_normalized(z, y, wts, conv))
        np.testing.assert_allclose(d.grad_scale, wts / loss.loss_denominator(wts, conv), atol=1e-12)
    assert np.isclose(sequence_loss_data((8, 5, 3, 2), "mask", "tfa").loss,
                      loss.sequence_loss(z, y, seqlib.masking.sequence_mask([8, 5, 3, 2], maxlen=8)))
    s = dict(lengths=(6, 4, 1, 0), scheme="ramp", convention="batch")
    assert w.frame_bytes(**s) == expected_frame("sequence_loss", **s)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="spectral_norm"):
        gradient_flow_data(-1.0)
    with pytest.raises(ValueError, match="activation"):
        gradient_flow_widget(activations=("tanh", "softplus"))
    with pytest.raises(ValueError, match="truncate"):
        gradient_flow_widget(truncations=(0,))
    with pytest.raises(ValueError, match="lengths"):
        sequence_loss_data((0, 0, 0, 0))
    with pytest.raises(ValueError, match="convention"):
        sequence_loss_data((1, 2, 3, 4), "mask", "mean")
    with pytest.raises(ValueError, match="T must"):
        unrolled_graph_widget(T=0)
    w = unrolled_graph_widget(T=2)
    with pytest.raises(TypeError, match="unknown setting 'spectral_norm'"):
        w.show(spectral_norm=1.0)
    with pytest.raises(ValueError, match="step"):
        w.show(step=99)
    with pytest.raises(ValueError, match="not on the pre-computed grid"):
        w.frame_bytes(step=7)


def test_show_off_grid_in_process():
    w = gradient_flow_widget(spectral_norms=(0.9, 1.1), activations=("tanh",), lengths=(20,), truncations=(None,))
    png = w.show(spectral_norm=1.07, T=33)
    assert w.view.selected_index == 1 and w.view_bytes() == png
    assert png == w.expected_frame(spectral_norm=1.07, T=33)
    assert w.status.value.startswith("recomputed in the kernel in ")


# --------------------------------------------------------------------------- live kernel

LIVE_CELLS = [
    """
    import json, time
    from seqlib.widgets import gradient_flow_widget, unrolled_graph_widget, sequence_loss_widget
    gf = gradient_flow_widget(spectral_norms=(0.9, 1.0, 1.1), activations=("tanh", "linear"), lengths=(20, 60),
                              truncations=(None, 8))
    un = unrolled_graph_widget()
    sl = sequence_loss_widget(presets={"a": (8, 5, 3, 2), "b": (6, 4, 1, 0)})
    display(gf, un, sl)
    """,
    """
    out = {}
    def frontend_sets(w, name, value):
        # what the kernel does with a frontend's update message: Widget.set_state
        c = w.controls[name]
        c.set_state({w.control_traits[name]: value})
        return {"view": w.view_bytes() == w.expected_frame(), "live": w.view.selected_index == 1,
                "status": w.status.value, "ms": w.recompute_ms[-1]}
    out["gf_norm"] = frontend_sets(gf, "spectral_norm", 2)
    out["gf_norm_is_1.1"] = gf.view_bytes() == gf.expected_frame(spectral_norm=1.1, activation="tanh", T=60)
    out["gf_act"] = frontend_sets(gf, "activation", 1)
    out["gf_act_is_linear"] = gf.view_bytes() == gf.expected_frame(spectral_norm=1.1, activation="linear", T=60)
    out["gf_T"] = frontend_sets(gf, "T", 0)
    out["gf_trunc"] = frontend_sets(gf, "truncate", 1)
    png = gf.show(spectral_norm=1.07, T=45)
    out["gf_off_grid"] = {"view": gf.view_bytes() == png == gf.expected_frame(spectral_norm=1.07, T=45),
                          "status": gf.status.value, "ms": gf.recompute_ms[-1]}
    out["un_step"] = frontend_sets(un, "step", 7)
    out["sl_conv"] = frontend_sets(sl, "convention", 2)
    out["sl_lengths"] = frontend_sets(sl, "lengths", 1)
    out["sl_scheme"] = frontend_sets(sl, "scheme", 2)
    times = []
    for i in range(6):
        frontend_sets(gf, "spectral_norm", i % 3)
        times.append(gf.recompute_ms[-1])
    out["gf_times_ms"] = times
    print("RESULT" + json.dumps(out))
    """,
]


def test_live_kernel_recomputes_on_control_change():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in LIVE_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True)
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.get("output_type") == "stream")
    out = json.loads(text.split("RESULT", 1)[1])
    for key, r in out.items():
        if isinstance(r, dict):
            assert r["view"], f"{key}: the view does not show a fresh seqlib rendering"
            assert r["status"].startswith("recomputed in the kernel in "), f"{key}: status {r['status']!r}"
            assert r.get("live", True), f"{key}: view not switched to the recomputed frame"
    assert out["gf_norm_is_1.1"] and out["gf_act_is_linear"]
    print("\nrecompute times in the kernel (ms): " + ", ".join(
        f"{k} {v['ms']:.0f}" for k, v in out.items() if isinstance(v, dict)))
    print("gradient_flow recompute, 6 runs (ms): " + ", ".join(f"{t:.0f}" for t in out["gf_times_ms"]))
    # the kernel's widget state (what a saved notebook holds) has the recomputed frame
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    labels = [m["state"].get("value", "") for m in state.values() if m["model_name"] == "LabelModel"]
    assert any(str(v).startswith("recomputed in the kernel") for v in labels)


def test_expected_hashes_cover_grid(built):
    w = built["sequence_loss"]
    h = w.expected_hashes()
    assert len(h) == len(w.frames) == 48
    idx = w._index_of(dict(lengths=(8, 5, 3, 2), scheme="mask", convention="tfa"))
    assert h[idx] == hashlib.sha256(w.frames[idx]).hexdigest()
