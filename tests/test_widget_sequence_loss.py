"""The sequence-loss widget (seqlib.widgets.masks): its checks, seqlib's numbers, the JS mirror, the default's point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seqlib import loss
from seqlib.loss import masking
from seqlib.widgets import sequence_loss_widget
from seqlib.widgets._mirror_check import compare, node_compute, run_in_node
from seqlib.widgets.masks import (CONVENTIONS, LAST_WEIGHT, TORCH_SCHEMES, WEIGHT_SCHEMES, SequenceLossWidget,
                                  make_weights, sequence_loss_data)

B, T, V = 4, 8, 6
#: the (scheme, convention) pairs the widget takes: PyTorch's mean has no per-token weights
PAIRS = [(s, c) for s in WEIGHT_SCHEMES for c in CONVENTIONS if c != "torch" or s in TORCH_SCHEMES]


@pytest.fixture(scope="module")
def w() -> SequenceLossWidget:
    return sequence_loss_widget()


def _zy(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.5, size=(B, T, V)), rng.integers(0, V, size=(B, T))


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize("change, exc, key", [
    ({"L1": 9}, ValueError, "'L1'"),
    ({"L0": -1}, ValueError, "'L0'"),
    ({"L2": "3"}, TypeError, "'L2'"),
    ({"L3": True}, TypeError, "'L3'"),
    ({"L0": 2.5}, TypeError, "'L0'"),
    ({"scheme": "linear"}, ValueError, "'scheme'"),
    ({"convention": "mean"}, ValueError, "'convention'"),
])
def test_bad_settings_name_the_key(w, change, exc, key):
    with pytest.raises(exc, match=key) as info:
        w.check_setting({**w.setting, **change})
    assert repr(next(iter(change.values()))) in str(info.value)  # the message gives the bad value


def test_missing_and_unknown_keys(w):
    s = dict(w.setting)
    del s["L3"]
    with pytest.raises(ValueError, match="L3"):
        w.check_setting(s)
    with pytest.raises(TypeError, match="lengths_x"):
        w.show(lengths_x=1)
    with pytest.raises(ValueError, match="lengths"):
        sequence_loss_widget(lengths=(1, 2, 3))
    with pytest.raises(TypeError, match="seed"):
        sequence_loss_widget(seed="0")


@pytest.mark.parametrize("scheme", [s for s in WEIGHT_SCHEMES if s not in TORCH_SCHEMES])
def test_torch_takes_the_mask_only(w, scheme):
    assert TORCH_SCHEMES == ("mask",)
    with pytest.raises(ValueError, match=f"'torch'.*per-token weights.*{scheme!r}"):
        w.check_setting({**w.setting, "scheme": scheme, "convention": "torch"})
    with pytest.raises(ValueError, match="'torch'"):
        sequence_loss_data((1, 2, 3, 4), scheme, "torch")
    with pytest.raises(ValueError, match="'torch'"):
        sequence_loss_widget(scheme=scheme, convention="torch")


def test_labels_are_one_source(w):
    """The page's button labels and words come from masks.py (options), not from the view."""
    assert w.options["labels"] == {"schemes": WEIGHT_SCHEMES, "conventions": CONVENTIONS}
    assert w.options["torch_schemes"] == list(TORCH_SCHEMES) and w.options["last_weight"] == LAST_WEIGHT
    view = (Path(__file__).resolve().parents[1] / "seqlib/widgets/js/views/sequence_loss.js").read_text("utf-8")
    for c in [*WEIGHT_SCHEMES.values(), *CONVENTIONS.values()]:
        assert f'"{c["button"]}"' not in view, c["button"]  # no second copy of a label in the view


def test_integral_floats_are_accepted(w):
    assert w.check_setting({**w.setting, "L0": 4.0})["L0"] == 4


def test_data_function_errors():
    with pytest.raises(ValueError, match="lengths"):
        sequence_loss_data((0, 0, 0, 0))
    with pytest.raises(ValueError, match="convention"):
        sequence_loss_data((1, 2, 3, 4), "mask", "mean")
    with pytest.raises(ValueError, match="scheme"):
        make_weights((1, 2, 3, 4), "flat")


# --------------------------------------------------------------------------- seqlib's numbers


def test_weights():
    w = make_weights((8, 5, 3, 0), "mask")
    np.testing.assert_array_equal(w, masking.sequence_mask([8, 5, 3, 0], maxlen=T))
    r = make_weights((8, 5, 3, 0), "ramp")
    np.testing.assert_allclose(r[1, :5], np.arange(1, 6) / 5)
    assert r[3].sum() == 0
    l3 = make_weights((8, 5, 3, 0), "last3")
    assert l3[0, 7] == l3[1, 4] == l3[2, 2] == LAST_WEIGHT == 3.0 and l3[3].sum() == 0 and l3[1, 5] == 0


@pytest.mark.parametrize("scheme, conv", PAIRS)
def test_compute_agrees_with_seqlib(w, scheme, conv):
    z, y = _zy()
    lengths = (7, 4, 1, 0)
    d = w.expected(L0=7, L1=4, L2=1, L3=0, scheme=scheme, convention=conv)
    ref = sequence_loss_data(lengths, scheme, conv)
    wts = make_weights(lengths, scheme)
    np.testing.assert_array_equal(d["weights"], wts)
    np.testing.assert_allclose(d["token_loss"], loss.token_cross_entropy(z, y), rtol=1e-14)
    np.testing.assert_allclose(d["grad_scale"], ref.grad_scale, rtol=1e-14)
    assert d["loss"] == pytest.approx(ref.loss, rel=1e-14)
    assert d["numerator"] == pytest.approx(float(np.sum(wts * loss.token_cross_entropy(z, y))), rel=1e-13)
    if conv == "per_sequence":
        per_seq = loss.sequence_loss(z, y, wts, average_across_batch=False)
        assert d["loss"] == pytest.approx(float(per_seq.mean()), rel=1e-14)
        assert d["denominator"] is None  # nan: no single Z
        Zb = B * wts.sum(axis=1)
    else:
        assert d["loss"] == pytest.approx(loss.sequence_loss_normalized(z, y, wts, conv), rel=1e-13)
        assert d["denominator"] == loss.loss_denominator(wts, conv)
        Zb = np.full(B, d["denominator"])
    np.testing.assert_allclose(d["row_denominator"], Zb)
    # eq. seq_loss_grad: the gradient scale is w_bl / Z_b (0 for padding and for an empty sequence)
    expect = np.divide(wts, Zb[:, None], out=np.zeros_like(wts), where=Zb[:, None] != 0)
    np.testing.assert_allclose(d["grad_scale"], expect, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d["row_grad"], np.sum(expect, axis=1), rtol=1e-12)
    assert d["mu"] == pytest.approx(float(expect.sum()), rel=1e-12)
    assert d["N"] == wts.sum() and d["n"] == np.count_nonzero(wts)


def test_all_padding_batch(w):
    torch = w.expected(L0=0, L1=0, L2=0, L3=0, convention="torch")
    assert torch["loss"] is None and torch["denominator"] == 0.0  # PyTorch's 0/0 = nan
    tfa = w.expected(L0=0, L1=0, L2=0, L3=0, convention="tfa")
    assert tfa["loss"] == 0.0 and tfa["mu"] == 0.0  # divide-no-nan
    assert np.all(np.array(tfa["grad_scale"]) == 0)


def test_show_moves_the_widget():
    w = sequence_loss_widget()
    w.show(lengths=(7, 7, 3, 1), scheme="ramp")
    assert [w.setting[k] for k in ("L0", "L1", "L2", "L3")] == [7, 7, 3, 1] and w.setting["scheme"] == "ramp"
    assert w.data["lengths"] == [7, 7, 3, 1] and w.data["setting"]["scheme"] == "ramp"


# --------------------------------------------------------------------------- the default makes the chapter's point


def test_default_shows_the_point(w):
    assert w.setting == {"L0": 8, "L1": 5, "L2": 3, "L3": 2, "scheme": "mask", "convention": "tfa"}
    d = w.data
    g, wts = np.array(d["grad_scale"]), np.array(d["weights"])
    # token mean: every real token gets 1/N = 1/18, padding 0; each sequence's share is L_b / N; mu = 1
    assert d["denominator"] == 18.0
    np.testing.assert_allclose(g[wts > 0], 1 / 18)
    assert np.all(g[wts == 0] == 0)
    np.testing.assert_allclose(d["row_grad"], np.array([8, 5, 3, 2]) / 18)
    assert d["mu"] == pytest.approx(1.0)
    # per batch: every token gets 1/B, so the step grows by the mean length N/B = 4.5; the shares stay L_b / N
    bt = w.expected(convention="batch")
    np.testing.assert_allclose(np.array(bt["grad_scale"])[wts > 0], 1 / 4)
    assert bt["mu"] == pytest.approx(4.5)
    np.testing.assert_allclose(np.array(bt["row_grad"]) / bt["mu"], np.array(d["row_grad"]))
    # per-sequence mean: each sequence gets 1/B of the step; a token of the 2-token sequence weighs 4x one of the 8
    ps = w.expected(convention="per_sequence")
    np.testing.assert_allclose(ps["row_grad"], 0.25)
    assert ps["grad_scale"][3][0] / ps["grad_scale"][0][0] == pytest.approx(4.0)
    # with an empty sequence: each non-empty one's tokens add up to 1/B, the empty one 0, mu = 3/B
    pe = w.expected(L3=0, convention="per_sequence")
    np.testing.assert_allclose(pe["row_grad"], [0.25, 0.25, 0.25, 0.0])
    assert pe["mu"] == pytest.approx(3 / B)


# --------------------------------------------------------------------------- the page's numbers (Node)


def test_node_mirror_agrees_with_seqlib(w, tmp_path):
    settings = w.random_settings(np.random.default_rng(1), 30)
    assert {(s["scheme"], s["convention"]) for s in settings} == set(PAIRS)
    page = node_compute(w, settings, tmp_path)
    worst = 0.0
    for s, p in zip(settings, page):
        err, where = compare(p, w.expected(**s))
        worst = max(worst, err)
        assert err <= 1e-9, (s, where, err)
    print(f"sequence_loss: {len(settings)} settings, worst relative error {worst:.2e}")


def test_mirror_check_is_not_vacuous(w, tmp_path):
    # a wrong page result must be caught
    page = node_compute(w, [{"convention": "batch"}], tmp_path)[0]
    with pytest.raises(AssertionError):
        compare(page, {**w.expected(convention="batch"), "weights": [[1.0] * T] * (B - 1)})
    err, _ = compare(page, w.expected(convention="tfa"))
    assert err > 1e-3


def test_describe_in_node(w, tmp_path):
    """VIEW.describe (the text alternative) runs without a DOM and states the setting's numbers."""
    out = run_in_node(w, "process.stdout.write(VIEW.describe(J.data, J.setting, J.options));",
                      {"data": w.data, "setting": w.setting, "options": w.options}, tmp_path)
    print(out)
    assert "lengths 8, 5, 3, 2" in out and "Z = 18" in out and f"loss = {w.data['loss']:.4g}" in out
    assert "0.444, 0.278, 0.167, 0.111" in out
    assert "every real token's gradient scale w/Z is 0.0556" in out


def test_state_size(w):
    n = w.state_bytes()
    print(f"sequence_loss widget state: {n / 1e3:.1f} kB")
    assert n < 1.2e6
    assert set(w.base) == {"logits", "targets"} and np.array(w.base["logits"]).shape == (B, T, V)


def test_loss_mirror_every_flag_combination(w, tmp_path):
    """mirror/loss.js's sequenceLoss and sequenceLossBackward agree with seqlib for all 7 valid flag sets."""
    rng = np.random.default_rng(5)
    z, y = rng.normal(0, 2.0, size=(3, 5, 4)), rng.integers(0, 4, size=(3, 5))
    wts = rng.uniform(0, 2, size=(3, 5)) * (rng.random((3, 5)) < 0.7)
    wts[2] = 0.0  # an all-zero row: divide-no-nan
    names = ("average_across_timesteps", "average_across_batch", "sum_over_timesteps", "sum_over_batch")
    combos = [dict(zip(names, c)) for c in ((1, 1, 0, 0), (0, 0, 1, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0),
                                            (0, 0, 0, 1), (0, 0, 0, 0))]
    jobs, refs = [], []
    for c in combos:
        flags = {k: bool(v) for k, v in c.items()}
        out = loss.sequence_loss(z, y, wts, **flags)
        u = rng.normal(size=out.shape)
        refs.append({"out": np.atleast_1d(out).ravel().tolist(),
                     "grad": loss.sequence_loss_backward(z, y, wts, u if out.ndim else float(u), **flags).ravel().tolist()})
        jobs.append({"flags": {"avgT": flags[names[0]], "avgB": flags[names[1]], "sumT": flags[names[2]],
                               "sumB": flags[names[3]]}, "u": np.atleast_1d(u).ravel().tolist()})
    body = (
        'const [B, T, V] = [3, 5, 4];\n'
        'const z = Float64Array.from(J.z), y = Int32Array.from(J.y), w = Float64Array.from(J.w);\n'
        'const tok = LOSS.tokenCrossEntropy(z, y, B, T, V);\n'
        'const out = J.jobs.map((j) => ({ out: Array.from(LOSS.sequenceLoss(tok, w, B, T, j.flags)),\n'
        '  grad: Array.from(LOSS.sequenceLossBackward(z, y, w, B, T, V, j.flags, Float64Array.from(j.u))) }));\n'
        'out.push({ out: Array.from(LOSS.logSoftmax(z, B * T, V)), grad: Array.from(tok) });\n'
        'process.stdout.write(JSON.stringify(out));\n')
    res = run_in_node(w, body, {"z": z.ravel().tolist(), "y": y.ravel().tolist(), "w": wts.ravel().tolist(),
                                "jobs": jobs}, tmp_path)
    page = json.loads(res)
    refs.append({"out": loss.log_softmax(z).ravel().tolist(), "grad": loss.token_cross_entropy(z, y).ravel().tolist()})
    combos.append({"log_softmax and token_cross_entropy": True})
    assert len(page) == len(refs)
    for c, p, r in zip(combos, page, refs):
        err, where = compare(p, r)
        assert err <= 1e-12, (c, where, err)


def test_view_source_is_deterministic_and_names_empty_terms():
    """The SVG ids are fixed per widget (a redraw of the same setting gives the same HTML), and the
    per-sequence headline prints an empty sequence's term (Z_b = 0, divide-no-nan) as "0 (empty)", not 0/0."""
    src = (Path(__file__).parent.parent / "seqlib/widgets/js/views/sequence_loss.js").read_text()
    assert "Math.random" not in src
    assert "seqlib-sl-${view.sl.uid}-${kind}" in src
    assert 'd.row_denominator[b] === 0 ? "0 (empty)"' in src
