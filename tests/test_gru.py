"""Tests for seqlib.cells.gru: both reset variants against a textbook loop and central differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib.book.gradcheck import gradcheck
from seqlib.cells.gru import GRUCache, gru_backward, gru_forward, gru_param_count, init_gru_params
from seqlib.workspace import Workspace

NAMES = ("x", "h0", "W_x", "W_h", "b_x", "b_h")
TOL = 1e-7
EPS = 1e-5
WORST: dict[str, float] = {}
RESETS = ("after", "before")


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_forward(x, h0, W_x, W_h, b_x, b_h, reset):
    B, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((B, T, H))
    for n in range(B):
        hp = h0[n]
        for t in range(T):
            ax = x[n, t] @ W_x + b_x
            r = sig(ax[:H] + hp @ W_h[:, :H] + b_h[:H])
            z = sig(ax[H:2 * H] + hp @ W_h[:, H:2 * H] + b_h[H:2 * H])
            if reset == "after":
                nn = np.tanh(ax[2 * H:] + r * (hp @ W_h[:, 2 * H:] + b_h[2 * H:]))
            else:
                nn = np.tanh(ax[2 * H:] + (r * hp) @ W_h[:, 2 * H:] + b_h[2 * H:])
            hp = (1 - z) * nn + z * hp
            h[n, t] = hp
    return h


def make_params(B, T, D, H, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(B, T, D)),
        "h0": rng.normal(size=(B, H)) * 0.5,
        "W_x": rng.normal(size=(D, 3 * H)) * scale,
        "W_h": rng.normal(size=(H, 3 * H)) * scale,
        "b_x": rng.normal(size=3 * H) * scale,
        "b_h": rng.normal(size=3 * H) * scale,
    }


@pytest.fixture(scope="module", autouse=True)
def _report_worst():
    yield
    if WORST:
        print("\nworst gradcheck errors (test_gru):", {k: f"{v:.2e}" for k, v in WORST.items()})


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 2, 4), (2, 7, 3, 1)])
def test_forward_matches_reference(shape, reset):
    p = make_params(*shape)
    h, cache = gru_forward(**p, reset=reset)
    np.testing.assert_allclose(h, reference_forward(**p, reset=reset), rtol=1e-12, atol=1e-13)
    assert isinstance(cache, GRUCache) and cache.shape == shape and cache.reset == reset
    np.testing.assert_array_equal(cache.h, h)


def test_variants_differ_and_agree_when_reset_is_one():
    """The variants differ in general; they coincide where r_t = 1 (whatever b_hn),
    and, if b_hn = 0, where h_{t-1} = 0."""
    p = make_params(2, 5, 3, 4)
    ha, _ = gru_forward(**p, reset="after")
    hb, _ = gru_forward(**p, reset="before")
    assert np.abs(ha - hb).max() > 1e-3
    q = {**p, "b_x": p["b_x"].copy()}
    q["b_x"][:4] = 50.0  # r = 1 up to 2e-22
    assert np.abs(q["b_h"][8:]).min() > 0.01  # b_hn stays nonzero
    np.testing.assert_allclose(gru_forward(**q, reset="after")[0], gru_forward(**q, reset="before")[0], atol=1e-13)
    # h_{t-1} = 0 (here h0 = 0, step 1) with b_hn = 0: agree at that step, not after
    s = {**p, "h0": np.zeros_like(p["h0"]), "b_h": p["b_h"].copy()}
    s["b_h"][8:] = 0.0
    sa, _ = gru_forward(**s, reset="after")
    sb, _ = gru_forward(**s, reset="before")
    np.testing.assert_allclose(sa[:, 0], sb[:, 0], atol=1e-15)
    assert np.abs(sa - sb).max() > 1e-3
    # with b_hn != 0, h_{t-1} = 0 is not enough
    s0 = {**p, "h0": np.zeros_like(p["h0"])}
    assert np.abs(gru_forward(**s0, reset="after")[0][:, 0] - gru_forward(**s0, reset="before")[0][:, 0]).max() > 1e-3


def test_z_one_is_identity():
    p = make_params(2, 6, 3, 4)
    p["b_x"][4:8] = 60.0  # z = 1 up to round-off
    h, _ = gru_forward(**p)
    np.testing.assert_allclose(h, np.broadcast_to(p["h0"][:, None], h.shape), atol=1e-14)


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("scale", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 5, 3, 4), (1, 6, 1, 3), (3, 1, 2, 2)])
def test_full_bptt_gradcheck(shape, scale, reset):
    p = make_params(*shape, scale=scale)
    R = np.random.default_rng(1).normal(size=shape[:2] + (shape[3],))
    _, cache = gru_forward(**p, reset=reset)
    grads = gru_backward(R, cache)
    assert set(grads) == set(NAMES)
    for k in NAMES:
        assert grads[k].shape == p[k].shape and grads[k].dtype == np.float64

    def loss():
        return float(np.sum(gru_forward(**p, reset=reset)[0] * R))

    errs = gradcheck(loss, p, grads, eps=EPS)
    WORST[reset] = max(WORST.get(reset, 0.0), max(errs.values()))
    assert max(errs.values()) < TOL, errs


def detached_reference(p, R, k, reset):
    T = p["x"].shape[1]
    h0 = p["h0"]
    total = {n: np.zeros_like(p[n]) for n in ("W_x", "W_h", "b_x", "b_h")}
    dx, first = [], None
    for s in range(0, T, k):
        e = min(s + k, T)
        h, cache = gru_forward(p["x"][:, s:e], h0, p["W_x"], p["W_h"], p["b_x"], p["b_h"], reset=reset)
        g = gru_backward(R[:, s:e], cache)
        for n in total:
            total[n] += g[n]
        dx.append(g["x"])
        first = g if first is None else first
        h0 = h[:, -1].copy()
    return {"x": np.concatenate(dx, axis=1), "h0": first["h0"], **total}


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("T,k", [(7, 1), (7, 2), (7, 3), (6, 3), (5, 9)])
def test_truncation_matches_detached_reference(T, k, reset):
    p = make_params(2, T, 3, 4, seed=T + k)
    R = np.random.default_rng(k).normal(size=(2, T, 4))
    _, cache = gru_forward(**p, reset=reset)
    got = gru_backward(R, cache, truncate=k)
    ref = detached_reference(p, R, k, reset)
    for n in NAMES:
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-12, atol=1e-14, err_msg=n)
    if k < T:
        assert not np.allclose(gru_backward(R, cache)["W_h"], got["W_h"])


@pytest.mark.parametrize("reset", RESETS)
def test_float32_and_workspace(reset):
    p = {k: v.astype(np.float32) for k, v in make_params(3, 6, 2, 4).items()}
    h, cache = gru_forward(**p, reset=reset)
    assert h.dtype == np.float32
    R = np.ones((3, 6, 4), np.float32)
    grads = gru_backward(R, cache)
    assert all(v.dtype == np.float32 for v in grads.values())
    h64, _ = gru_forward(**{k: v.astype(np.float64) for k, v in p.items()}, reset=reset)
    np.testing.assert_allclose(h, h64, rtol=1e-5, atol=1e-6)
    ws = Workspace()
    for _ in range(2):
        hw, cw = gru_forward(**p, reset=reset, workspace=ws)
        np.testing.assert_array_equal(hw, h)
        gw = gru_backward(R, cw)
        for k in grads:
            np.testing.assert_array_equal(gw[k], grads[k])


def test_init_and_param_count():
    p = init_gru_params(3, 5, rng=0)
    assert p["W_x"].shape == (3, 15) and p["W_h"].shape == (5, 15)
    assert sum(v.size for v in p.values()) == gru_param_count(3, 5) == 3 * (15 + 25 + 10)
    assert gru_param_count(3, 5, two_biases=False) == 3 * (15 + 25 + 5)
    assert init_gru_params(3, 5, rng=0, dtype=np.float32)["W_h"].dtype == np.float32


@pytest.mark.parametrize("bad", ["Before", "cho", None, 1])
def test_bad_reset_names_both_choices(bad):
    p = make_params(1, 2, 1, 2)
    with pytest.raises(ValueError, match="reset") as exc:
        gru_forward(**p, reset=bad)
    assert "'after'" in str(exc.value) and "'before'" in str(exc.value)


def test_bad_shapes_name_the_argument():
    p = make_params(2, 3, 4, 5)
    for name, bad, pat in [("W_h", p["W_h"][:, :-1], r"W_h must have shape \(H, 3H\)"),
                           ("W_x", p["W_x"][:-1], r"W_x must have shape \(D, 3H\)"),
                           ("b_x", p["b_x"][:-1], r"b_x must have shape \(3H,\)"),
                           ("b_h", p["b_h"][:, None], r"b_h must have shape \(3H,\)"),
                           ("h0", np.zeros((2, 4)), r"h0 must have shape \(B, H\)")]:
        with pytest.raises(ValueError, match=pat):
            gru_forward(**{**p, name: bad})
    _, cache = gru_forward(**p)
    with pytest.raises(ValueError, match=r"dh must have shape"):
        gru_backward(np.zeros((2, 3, 4)), cache)
    with pytest.raises(TypeError, match="cache must be the GRUCache"):
        gru_backward(np.zeros((2, 3, 5)), None)
    with pytest.raises(ValueError, match="truncate"):
        gru_backward(np.zeros((2, 3, 5)), cache, truncate=-2)


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 6), D=st.integers(1, 3), H=st.integers(1, 4),
       k=st.one_of(st.none(), st.integers(1, 7)), reset=st.sampled_from(RESETS), seed=st.integers(0, 2**16))
def test_fuzz_shapes_match_reference_and_detached_truncation(B, T, D, H, k, reset, seed):
    p = make_params(B, T, D, H, seed=seed)
    h, cache = gru_forward(**p, reset=reset)
    np.testing.assert_allclose(h, reference_forward(**p, reset=reset), rtol=1e-11, atol=1e-12)
    R = np.random.default_rng(seed + 1).normal(size=(B, T, H))
    got = gru_backward(R, cache, truncate=k)
    ref = detached_reference(p, R, T if k is None else k, reset)
    for n in NAMES:
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-11, atol=1e-12, err_msg=n)


@settings(max_examples=30, deadline=None)
@given(which=st.sampled_from(list(NAMES)), extra=st.booleans())
def test_fuzz_bad_shapes_raise_valueerror(which, extra):
    p = make_params(2, 3, 2, 3)
    a = p[which]
    bad = a[..., 1:] if not extra else np.concatenate([a, a[..., :1]], axis=-1)
    with pytest.raises(ValueError, match=r"must have shape"):
        gru_forward(**{**p, which: bad})
