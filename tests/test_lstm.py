"""Tests for seqlib.cells.lstm: forward against a textbook loop, hand-derived BPTT against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib.book.gradcheck import gradcheck
from seqlib.cells.lstm import LSTMCache, init_lstm_params, lstm_backward, lstm_forward, lstm_param_count
from seqlib.workspace import Workspace

NAMES = ("x", "h0", "c0", "W_x", "W_h", "b")
TOL = 1e-7
EPS = 1e-5
WORST: dict[str, float] = {}


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_forward(x, h0, c0, W_x, W_h, b):
    """One sequence and one step at a time, the equations as written."""
    B, T, _ = x.shape
    H = W_h.shape[0]
    h, c = np.zeros((B, T, H)), np.zeros((B, T, H))
    for n in range(B):
        hp, cp = h0[n], c0[n]
        for t in range(T):
            z = x[n, t] @ W_x + hp @ W_h + b
            i, f, g, o = sig(z[:H]), sig(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), sig(z[3 * H:])
            cp = f * cp + i * g
            hp = o * np.tanh(cp)
            h[n, t], c[n, t] = hp, cp
    return h, c


def make_params(B, T, D, H, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(B, T, D)),
        "h0": rng.normal(size=(B, H)) * 0.5,
        "c0": rng.normal(size=(B, H)) * 0.5,
        "W_x": rng.normal(size=(D, 4 * H)) * scale,
        "W_h": rng.normal(size=(H, 4 * H)) * scale,
        "b": rng.normal(size=4 * H) * scale,
    }


@pytest.fixture(scope="module", autouse=True)
def _report_worst():
    yield
    if WORST:
        print("\nworst gradcheck errors (test_lstm):", {k: f"{v:.2e}" for k, v in WORST.items()})


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 2, 4), (2, 7, 3, 1)])
def test_forward_matches_reference(shape):
    p = make_params(*shape)
    h, cache = lstm_forward(**p)
    h_ref, c_ref = reference_forward(**p)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cache.c, c_ref, rtol=1e-12, atol=1e-13)
    assert isinstance(cache, LSTMCache) and cache.shape == shape
    np.testing.assert_array_equal(cache.h, h)
    H = shape[3]
    np.testing.assert_allclose(cache.gate("f"), sig(np.einsum("btd,dh->bth", p["x"], p["W_x"][:, H:2 * H])
                                                    + np.concatenate([p["h0"][:, None], h[:, :-1]], 1)
                                                    @ p["W_h"][:, H:2 * H] + p["b"][H:2 * H]), rtol=1e-12)


def test_none_states_are_zeros_and_inputs_untouched():
    p = make_params(2, 4, 3, 5)
    before = {k: v.copy() for k, v in p.items()}
    h1, cache = lstm_forward(p["x"], None, None, p["W_x"], p["W_h"], p["b"])
    h2, _ = lstm_forward(p["x"], np.zeros((2, 5)), np.zeros((2, 5)), p["W_x"], p["W_h"], p["b"])
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(cache.c0, 0)
    for k in p:
        np.testing.assert_array_equal(p[k], before[k])


@pytest.mark.parametrize("scale", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 5, 3, 4), (1, 6, 1, 3), (3, 1, 2, 2)])
def test_full_bptt_gradcheck(shape, scale):
    p = make_params(*shape, scale=scale)
    R = np.random.default_rng(1).normal(size=shape[:2] + (shape[3],))
    _, cache = lstm_forward(**p)
    grads = lstm_backward(R, cache)
    assert set(grads) == set(NAMES)
    for k in NAMES:
        assert grads[k].shape == p[k].shape and grads[k].dtype == np.float64

    def loss():
        return float(np.sum(lstm_forward(**p)[0] * R))

    errs = gradcheck(loss, p, grads, eps=EPS)
    WORST["full"] = max(WORST.get("full", 0.0), max(errs.values()))
    assert max(errs.values()) < TOL, errs


def test_loss_on_cell_state_only_reaches_through_c():
    """A loss on the last h only: the gradient check covers the path through c_T (o ⊙ tanh' ⊙ ...)."""
    p = make_params(2, 6, 2, 3, seed=3)
    R = np.zeros((2, 6, 3))
    R[:, -1] = np.random.default_rng(2).normal(size=(2, 3))
    _, cache = lstm_forward(**p)
    errs = gradcheck(lambda: float(np.sum(lstm_forward(**p)[0] * R)), p, lstm_backward(R, cache), eps=EPS)
    assert max(errs.values()) < TOL, errs


def detached_reference(p, R, k):
    """Chunked truncation by hand: run each chunk on its own from the previous chunk's
    final states, passed in as constants, and back-propagate fully inside it."""
    T = p["x"].shape[1]
    h0, c0 = p["h0"], p["c0"]
    total = {n: np.zeros_like(p[n]) for n in ("W_x", "W_h", "b")}
    dx = []
    first = None
    for s in range(0, T, k):
        e = min(s + k, T)
        h, cache = lstm_forward(p["x"][:, s:e], h0, c0, p["W_x"], p["W_h"], p["b"])
        g = lstm_backward(R[:, s:e], cache)
        for n in total:
            total[n] += g[n]
        dx.append(g["x"])
        if first is None:
            first = g
        h0, c0 = h[:, -1].copy(), cache.c[:, -1].copy()
    return {"x": np.concatenate(dx, axis=1), "h0": first["h0"], "c0": first["c0"], **total}


@pytest.mark.parametrize("T,k", [(7, 1), (7, 2), (7, 3), (6, 3), (5, 5), (5, 9)])
def test_truncation_matches_detached_reference(T, k):
    p = make_params(2, T, 3, 4, seed=T + k)
    R = np.random.default_rng(k).normal(size=(2, T, 4))
    _, cache = lstm_forward(**p)
    got = lstm_backward(R, cache, truncate=k)
    ref = detached_reference(p, R, k)
    for n in NAMES:
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-12, atol=1e-14, err_msg=n)
    if k < T:  # truncation changes the gradient
        full = lstm_backward(R, cache)
        assert not np.allclose(full["W_h"], got["W_h"])


def test_truncation_cuts_both_states():
    """With k = 1 no gradient reaches c_{t-1} from step t except at the first step."""
    p = make_params(1, 4, 2, 3)
    R = np.zeros((1, 4, 3))
    R[:, -1] = 1.0
    _, cache = lstm_forward(**p)
    g = lstm_backward(R, cache, truncate=1)
    # only the last step's dz is nonzero, so dW_h = h_3^T dz_4, and dx is zero before step 4
    np.testing.assert_array_equal(g["x"][:, :-1], 0.0)
    np.testing.assert_array_equal(g["h0"], 0.0)
    np.testing.assert_array_equal(g["c0"], 0.0)
    assert np.abs(g["x"][:, -1]).max() > 0


def test_float32_stays_float32_and_workspace_gives_same_results():
    p = {k: v.astype(np.float32) for k, v in make_params(3, 6, 2, 4).items()}
    ws = Workspace()
    h, cache = lstm_forward(**p)
    assert h.dtype == np.float32 and cache.c.dtype == np.float32
    R = np.ones((3, 6, 4), np.float32)
    grads = lstm_backward(R, cache)
    assert all(v.dtype == np.float32 for v in grads.values())
    h64, c64 = lstm_forward(**{k: v.astype(np.float64) for k, v in p.items()})
    np.testing.assert_allclose(h, h64, rtol=1e-5, atol=1e-6)
    for _ in range(2):
        hw, cw = lstm_forward(**p, workspace=ws)
        np.testing.assert_array_equal(hw, h)
        gw = lstm_backward(R, cw)
        for k in grads:
            np.testing.assert_array_equal(gw[k], grads[k])
    assert len(ws) > 0


def test_init_and_param_count():
    p = init_lstm_params(3, 5, rng=0)
    assert p["W_x"].shape == (3, 20) and p["W_h"].shape == (5, 20) and p["b"].shape == (20,)
    np.testing.assert_array_equal(p["b"][5:10], 1.0)
    np.testing.assert_array_equal(np.delete(p["b"], np.s_[5:10]), 0.0)
    np.testing.assert_allclose(p["W_h"][:, :5].T @ p["W_h"][:, :5], np.eye(5), atol=1e-12)
    assert sum(v.size for v in p.values()) == lstm_param_count(3, 5) == 4 * (15 + 25 + 5)
    q = init_lstm_params(3, 5, rng=0, forget_bias=0.0, dtype=np.float32)
    assert q["b"].dtype == np.float32 and not q["b"].any()
    np.testing.assert_array_equal(init_lstm_params(3, 5, rng=7)["W_h"], init_lstm_params(3, 5, rng=7)["W_h"])
    with pytest.raises(ValueError, match="forget_bias"):
        init_lstm_params(3, 5, rng=0, forget_bias=np.nan)


# ----------------------------------------------------------------------------- bad input


def test_bad_shapes_name_the_argument():
    p = make_params(2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"W_h must have shape \(H, 4H\)"):
        lstm_forward(p["x"], None, None, p["W_x"], p["W_h"][:, :-1], p["b"])
    with pytest.raises(ValueError, match=r"W_x must have shape \(D, 4H\)"):
        lstm_forward(p["x"], None, None, p["W_x"][:-1], p["W_h"], p["b"])
    with pytest.raises(ValueError, match=r"b must have shape \(4H,\)"):
        lstm_forward(p["x"], None, None, p["W_x"], p["W_h"], p["b"][:-1])
    with pytest.raises(ValueError, match=r"c0 must have shape \(B, H\)"):
        lstm_forward(p["x"], None, np.zeros((3, 5)), p["W_x"], p["W_h"], p["b"])
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, D\)"):
        lstm_forward(p["x"][0], None, None, p["W_x"], p["W_h"], p["b"])
    with pytest.raises(TypeError, match="x must be a numeric array"):
        lstm_forward("abc", None, None, p["W_x"], p["W_h"], p["b"])
    with pytest.raises(ValueError, match="h0 must be finite"):
        lstm_forward(p["x"], np.full((2, 5), np.nan), None, p["W_x"], p["W_h"], p["b"])
    _, cache = lstm_forward(**p)
    with pytest.raises(ValueError, match=r"dh must have shape \(B, T, H\)"):
        lstm_backward(np.zeros((2, 3, 4)), cache)
    with pytest.raises(TypeError, match="cache must be the LSTMCache"):
        lstm_backward(np.zeros((2, 3, 5)), {"x": 1})
    with pytest.raises(ValueError, match="truncate must be >= 1"):
        lstm_backward(np.zeros((2, 3, 5)), cache, truncate=0)
    with pytest.raises(TypeError, match="truncate"):
        lstm_backward(np.zeros((2, 3, 5)), cache, truncate=1.5)
    with pytest.raises(TypeError, match="workspace"):
        lstm_forward(**p, workspace={})


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 6), D=st.integers(1, 3), H=st.integers(1, 4),
       k=st.one_of(st.none(), st.integers(1, 7)), seed=st.integers(0, 2**16))
def test_fuzz_shapes_match_reference_and_detached_truncation(B, T, D, H, k, seed):
    p = make_params(B, T, D, H, seed=seed)
    h, cache = lstm_forward(**p)
    h_ref, c_ref = reference_forward(**p)
    np.testing.assert_allclose(h, h_ref, rtol=1e-11, atol=1e-12)
    R = np.random.default_rng(seed + 1).normal(size=(B, T, H))
    got = lstm_backward(R, cache, truncate=k)
    ref = detached_reference(p, R, T if k is None else k)
    for n in NAMES:
        assert got[n].shape == p[n].shape
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-11, atol=1e-12, err_msg=n)


@settings(max_examples=30, deadline=None)
@given(which=st.sampled_from(["x", "h0", "c0", "W_x", "W_h", "b"]), cut=st.integers(0, 2), extra=st.booleans())
def test_fuzz_bad_shapes_raise_valueerror_naming_the_argument(which, cut, extra):
    p = make_params(2, 3, 2, 3)
    a = p[which]
    bad = a[..., 1:] if not extra else np.concatenate([a, a[..., :1]], axis=-1)
    if cut == 1:
        bad = bad[None]
    elif cut == 2 and bad.ndim > 1:
        bad = bad.reshape(-1)
    with pytest.raises(ValueError, match=which):
        lstm_forward(**{**p, which: bad})
