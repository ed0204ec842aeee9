"""The unrolled-graph stepper (seqlib.widgets.unrolled, kind "unrolled"): settings, seqlib's numbers,
the JavaScript mirror against seqlib, and the point its default makes (chapters/bptt_delta.md).

The state size is printed (``-s``), not asserted, except the 1.2 MB budget.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import seqlib
from seqlib import loss
from seqlib.training import gradflow
from seqlib.cells import readout, rnn
from seqlib.widgets import unrolled_graph_widget
from seqlib.widgets._mirror_check import compare, node_compute, run_in_node
from seqlib.widgets.unrolled import (
    ACTIVATION_ORDER,
    NORM_STOPS,
    UnrolledWidget,
    step_label,
    unrolled_alt,
    unrolled_base,
    unrolled_data,
)

BUDGET = 1_200_000  # bytes of widget state


@pytest.fixture(scope="module")
def w() -> UnrolledWidget:
    return unrolled_graph_widget()


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("key, value, exc, words", [
    ("step", -1, ValueError, "[0, 10]"),
    ("step", 11, ValueError, "[0, 10]"),
    ("step", 2.0, TypeError, "int"),
    ("step", True, TypeError, "int"),
    ("spectral_norm", 0.0, ValueError, "(0, 10.0]"),
    ("spectral_norm", -1, ValueError, "(0, 10.0]"),
    ("spectral_norm", float("inf"), ValueError, "(0, 10.0]"),
    ("spectral_norm", 11.0, ValueError, "(0, 10.0]"),
    ("spectral_norm", "1", TypeError, "float"),
    ("spectral_norm", True, TypeError, "float"),
    ("activation", "softplus", ValueError, "tanh"),
    ("activation", None, ValueError, "tanh"),
])
def test_bad_settings_name_key_value_and_expectation(w, key, value, exc, words):
    with pytest.raises(exc) as info:
        w.check_setting({key: value})
    msg = str(info.value)
    assert key in msg and repr(value) in msg and words in msg, msg


def test_unknown_keys_and_bad_factory_arguments():
    w = unrolled_graph_widget(T=2)
    with pytest.raises(ValueError, match="foo"):
        w.check_setting({"foo": 1})
    with pytest.raises(TypeError, match="foo"):
        w.show(foo=1)
    with pytest.raises(ValueError, match=r"step .*\[0, 4\]"):
        w.show(step=5)
    for kwargs, key in [({"T": 0}, "T"), ({"T": 10}, "T"), ({"T": 2.5}, "T"), ({"interval_ms": 10}, "interval_ms"),
                        ({"activation": "elu"}, "activation"), ({"spectral_norm": 0}, "spectral_norm"),
                        ({"step": 3, "T": 1}, "step"), ({"seed": -1}, "seed")]:
        with pytest.raises((ValueError, TypeError), match=key):
            unrolled_graph_widget(**kwargs)


def test_show_recomputes_and_keeps_the_controls_values(w):
    v = unrolled_graph_widget(step=4)
    v.show(spectral_norm=1.3, activation="relu")
    assert v.setting == {"step": 4, "spectral_norm": 1.3, "activation": "relu"}
    assert v.data["setting"] == v.setting and v.data["source"] == "seqlib"
    d = unrolled_data(activation="relu", spectral_norm=1.3)
    np.testing.assert_allclose(v.data["deltas"], d.deltas, rtol=0, atol=0)


# --------------------------------------------------------------------------- seqlib's numbers


def reference(activation: str, s: float, T: int = 5, seed: int = 0):
    """The pass, written out from seqlib's public functions with init_rnn_params(W_hh_spectral_norm=s)."""
    rng = np.random.default_rng(seed)
    p = seqlib.init_rnn_params(2, 3, 3, rng=rng, W_hh_spectral_norm=s)
    x, y = rng.standard_normal((1, T, 2)), rng.integers(0, 3, size=(1, T))
    h, cache = rnn.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"], activation)
    o, oc = readout.linear_forward(h, p["W_hy"], p["b_y"])
    dh = readout.linear_backward(loss.cross_entropy_backward(o, y), oc)["h"]

    def L() -> float:
        hh, _ = rnn.rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"], activation)
        return float(loss.token_cross_entropy(readout.linear_forward(hh, p["W_hy"], p["b_y"])[0], y).sum())

    return p, x, y, h, cache, dh, L


@pytest.mark.parametrize("activation", ACTIVATION_ORDER)
@pytest.mark.parametrize("s", [0.5, 0.9, 2.0])
def test_compute_is_seqlibs_bptt(w, activation, s):
    d = w.expected(activation=activation, spectral_norm=s)
    p, x, y, h, cache, dh, L = reference(activation, s)
    tol = dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d["h"], np.concatenate([np.zeros((1, 3)), h[0]]), **tol)
    np.testing.assert_allclose(d["a"], cache.a[0], **tol)
    np.testing.assert_allclose(d["fprime"], cache.fprime()[0], **tol)
    np.testing.assert_allclose(d["xin"], np.asarray(d["a"]) - np.asarray(d["rec"]), rtol=1e-12, atol=1e-13)
    o = readout.linear_forward(h, p["W_hy"], p["b_y"])[0]
    np.testing.assert_allclose(d["losses"], loss.token_cross_entropy(o, y)[0], **tol)
    np.testing.assert_allclose(d["dh"], dh[0], **tol)
    # δ_t = dh_t + carried_t, carried_t = (δ_{t+1} ⊙ f'(a_{t+1})) W_hhᵀ (eq. bptt_delta), carried_T = 0
    deltas, carried, fp = (np.asarray(d[k]) for k in ("deltas", "carried", "fprime"))
    np.testing.assert_allclose(deltas, np.asarray(d["dh"]) + carried, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(carried[:-1], (deltas[1:] * fp[1:]) @ p["W_hh"].T, rtol=1e-10, atol=1e-14)
    assert not carried[-1].any()
    np.testing.assert_allclose(d["delta_norms"], gradflow.state_gradient_norms(dh, cache), rtol=1e-12)
    # the running dW_hh ends at rnn_backward's, which matches finite differences of L
    dW = rnn.rnn_backward(dh, cache)["W_hh"]
    np.testing.assert_allclose(d["dW_hh"][0], dW, rtol=1e-12, atol=1e-14)
    assert seqlib.relative_error(dW, seqlib.numerical_gradient(L, p["W_hh"])) < 1e-6
    np.testing.assert_allclose(d["dW_norms"], np.linalg.norm(np.asarray(d["dW_hh"]), axis=(1, 2)), rtol=1e-12)
    # h_0 = 0: backward 1 adds nothing to dW_hh
    np.testing.assert_array_equal(d["dW_hh"][0], d["dW_hh"][1])


def test_unrolled_data_keeps_the_old_fields_and_the_chapters_sizes():
    d = unrolled_data()
    assert d.T == 5 and d.h.shape == (6, 3) and d.deltas.shape == (5, 3) and d.dW_hh_partial.shape == (5, 3, 3)
    np.testing.assert_allclose(d.dW_hh_partial[0], d.dW_hh, rtol=1e-12, atol=1e-15)
    b = unrolled_base()
    np.testing.assert_allclose(np.linalg.svd(b["W_hh_unit"], compute_uv=False), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------- the JavaScript mirror


def test_node_mirror_matches_seqlib(w, tmp_path):
    settings = w.random_settings(np.random.default_rng(1), 24)
    assert {s["activation"] for s in settings} == set(ACTIVATION_ORDER)
    assert min(s["spectral_norm"] for s in settings) == 0.5 and max(s["spectral_norm"] for s in settings) == 2.0
    assert {s["step"] for s in settings} >= {0, 10} or len({s["step"] for s in settings}) >= 6
    page = node_compute(w, settings, tmp_path)
    worst = 0.0
    for s, p in zip(settings, page):
        err, where = compare(p, w.expected(**s))
        worst = max(worst, err)
        assert err <= 1e-9, f"{s}: relative error {err:.2e} at {where}"
    print(f"unrolled mirror: {len(settings)} settings, worst relative error {worst:.2e}")


NODE_VIEW = r"""
const job = J;
const ctl = VIEW.controls(job.options, job.setting);
const stepper = ctl.find((c) => c.name === "step");
const labels = stepper.values.map((v) => stepper.format(v));
const d = VIEW.compute(job.setting, job.base, job.options);
const describe = [0, 3, 8].map((step) => VIEW.describe(d, Object.assign({}, job.setting, {step}), job.options));
process.stdout.write(JSON.stringify({labels, controls: ctl.map((c) => ({type: c.type, name: c.name,
  n: c.values ? c.values.length : c.options.length, first: c.values ? c.format(c.values[0]) : null,
  last: c.values ? c.format(c.values[c.values.length - 1]) : null})), describe}));
"""


def test_view_counts_as_step_label_and_describes_the_numbers(w, tmp_path):
    out = json.loads(run_in_node(w, NODE_VIEW, {"setting": w.setting, "base": w.base, "options": w.options},
                                 tmp_path))
    T = 5
    # the page names the steps with the labels Python sends (no copy of step_label in the view)
    assert w.options["step_labels"] == [step_label(k, T) for k in range(2 * T + 1)]
    assert out["labels"] == w.options["step_labels"]
    assert "stepLabel(step, T)" not in w._esm and "`forward ${" not in w._esm
    assert (out["labels"][0], out["labels"][T + 1], out["labels"][-1]) == ("forward 0", "backward 5", "backward 1")
    ctl = {c["name"]: c for c in out["controls"]}
    assert ctl["step"]["type"] == "stepper" and ctl["step"]["n"] == 2 * T + 1
    assert ctl["step"]["first"] == "forward 0" and ctl["step"]["last"] == "backward 1"
    assert ctl["spectral_norm"]["type"] == "slider" and ctl["spectral_norm"]["n"] >= 16
    assert (ctl["spectral_norm"]["first"], ctl["spectral_norm"]["last"]) == ("0.50", "2.00")
    # ||W_hh|| as the book writes the spectral norm (rnn_recurrence.md), without a subscript 2
    assert "rVert_2" not in w._esm and "||W_hh||_2" not in w._esm
    # ||dW_hh|| is a Frobenius norm: written with the subscript F; the forward sum is the loss so far
    assert "\\\\lVert\\\\mathrm{d}\\\\bsf{W}_{hh}\\\\rVert_F" in w._esm
    assert 'tex("L = ' not in w._esm and "the loss so far" in w._esm
    assert ctl["activation"]["type"] == "toggle" and ctl["activation"]["n"] == 4
    d = unrolled_data()
    assert "forward 0" in out["describe"][0] and "h0 = 0" in out["describe"][0]
    assert f"loss l3 = {d.losses[2]:.2f}" in out["describe"][1]
    assert "backward 3" in out["describe"][2] and f"norm {np.linalg.norm(d.deltas[2]):.3g}" in out["describe"][2]
    assert f"Frobenius norm of dW_hh is {np.linalg.norm(d.dW_hh_partial[2]):.3f}" in out["describe"][2]


# --------------------------------------------------------------------------- the point of the default


def gains(d) -> np.ndarray:
    """‖carried_t‖ / ‖δ_{t+1}‖ for t = 1..T-1: how much one step back scales the gradient from the future."""
    return np.linalg.norm(np.asarray(d["carried"])[:-1], axis=1) / np.asarray(d["delta_norms"])[1:]


def test_default_setting_makes_the_chapters_point(w):
    """H = 3, T = 5, first frame "forward 0"; stepping back, each step scales the gradient from the future
    by at most ||W_hh|| max f' (W_hh is a scaled orthogonal matrix, so linear gives exactly ||W_hh||)."""
    assert w.setting == {"step": 0, "spectral_norm": 0.9, "activation": "tanh"}
    assert (w.options["T"], w.options["H"]) == (5, 3)
    assert 0.9 in NORM_STOPS and 1.0 in NORM_STOPS and (NORM_STOPS[0], NORM_STOPS[-1]) == (0.5, 2.0)
    assert len(NORM_STOPS) >= 16 and list(NORM_STOPS) == sorted(set(NORM_STOPS))
    d = w.data
    g = gains(d)
    fmax = np.asarray(d["fprime"])[1:].max(axis=1)
    assert np.all(g <= 0.9 * fmax + 1e-12) and np.all(g < 0.9), g
    print("default (tanh, 0.9): gains per step back t=1..4:", np.round(g, 3),
          "||delta_t||:", np.round(d["delta_norms"], 3), "||dW_hh||:", round(d["dW_norms"][0], 3))
    lin2, lin05 = w.expected(activation="linear", spectral_norm=2.0), w.expected(activation="linear", spectral_norm=0.5)
    np.testing.assert_allclose(gains(lin2), 2.0, rtol=1e-12)
    np.testing.assert_allclose(gains(lin05), 0.5, rtol=1e-12)
    dn2 = np.asarray(lin2["delta_norms"])
    assert np.all(np.diff(dn2) < 0) and dn2[0] > 10 * dn2[-1], dn2  # δ grows as it steps back
    sig = w.expected(activation="sigmoid", spectral_norm=2.0)
    assert np.all(gains(sig) <= 0.5 + 1e-12)  # f' <= 1/4
    print("linear 2.0: ||delta_t||", np.round(dn2, 2), " sigmoid 2.0 gains", np.round(gains(sig), 3))


def test_alt_text_and_state_size(w):
    d = unrolled_data()
    assert "forward pass at step 3 of 5" in unrolled_alt(d, 3)
    assert "backward pass at step 3" in unrolled_alt(d, 8)
    assert f"{np.linalg.norm(d.deltas[2]):.3f}" in unrolled_alt(d, 8)
    assert f"Frobenius norm of dW_hh is {np.linalg.norm(d.dW_hh_partial[2]):.3f}" in unrolled_alt(d, 8)
    size = w.state_bytes()
    esm = len(w._esm)
    data = len(json.dumps(w.data))
    print(f"unrolled widget state: {size / 1e3:.0f} kB (ESM {esm / 1e3:.0f} kB, data {data / 1e3:.1f} kB)")
    assert size < BUDGET
    from seqlib.widgets import WIDGETS

    assert w.kind == UnrolledWidget.VIEW == "unrolled" and WIDGETS["unrolled"] == "seqlib-unrolled"
