"""Tests for seqlib.training.bptt: truncation masks and TBPTT(k1, k2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib.cells.activations import ACTIVATIONS
from seqlib.training.bptt import chunked_mask, rnn_backward_tbptt, truncation_mask
from seqlib.book.gradcheck import gradcheck
from seqlib.training.gradflow import _per_loss_deltas
from seqlib.cells.rnn import rnn_backward, rnn_forward

ACTS = sorted(ACTIVATIONS)
NAMES = ("x", "h0", "W_xh", "W_hh", "b_h")
TOL = 1e-7
EPS = 1e-5  # central-difference step: truncation error ~EPS**2, round-off ~1e-16 |L| / EPS
WORST: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_worst():
    yield
    if WORST:
        print("\nworst gradcheck errors (test_bptt):", {k: f"{v:.2e}" for k, v in WORST.items()})


def make_params(B, T, D, H, activation="tanh", seed=0, rho=0.9, margin=1e-4):
    """Random float64 parameters with ||W_hh||_2 = rho; for relu, no pre-activation within margin of 0."""
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        W_hh = rng.normal(size=(H, H))
        p = {
            "x": rng.normal(size=(B, T, D)),
            "h0": rng.normal(size=(B, H)) * 0.5,
            "W_xh": rng.normal(size=(D, H)) / np.sqrt(D),
            "W_hh": W_hh * rho / np.linalg.norm(W_hh, 2),
            "b_h": rng.normal(size=H) * 0.5,
        }
        if activation != "relu" or np.min(np.abs(rnn_forward(**p, activation="relu")[1].a)) > margin:
            return p
    raise AssertionError("no kink-free relu parameters found")


def tbptt_blocks(T, k1, k2):
    """TBPTT(k1, k2) straight from its definition, 1-based: (window_first, block_first, block_last)."""
    out = []
    for e in list(range(k1, T + 1, k1)) + ([T] if T % k1 else []):
        out.append((max(e - k2 + 1, 1), e - (e - 1) % k1, e))
    return out


def brute_force_mask(T, k1, k2):
    """Mark, for every back-propagation TBPTT performs, which states each loss flows into."""
    m = np.zeros((T, T), bool)
    for first, b, e in tbptt_blocks(T, k1, k2):
        for s in range(b, e + 1):  # loss ℓ_s of the block ...
            for k in range(first, s + 1):  # ... reaches h_s, h_{s-1}, ..., down to the window's first state
                m[s - 1, k - 1] = True
    return m


def tbptt_objective(p, activation, R, k1, k2):
    """The objective TBPTT(k1, k2) differentiates, for honest finite differences.

    Each back-propagation window is re-run from its starting state, which is
    frozen to its value at the unperturbed parameters (a constant, like a
    detached tensor); only the first window's start, h0, is a live parameter.
    Its losses are the block's.  At the unperturbed point every term equals
    the ordinary forward, so the value is sum(h * R).
    """
    h_frozen = rnn_forward(**p, activation=activation)[0].copy()
    T = R.shape[1]

    def loss():
        total = 0.0
        for first, b, e in tbptt_blocks(T, k1, k2):
            start = p["h0"] if first == 1 else h_frozen[:, first - 2]
            h, _ = rnn_forward(p["x"][:, first - 1:e], start, p["W_xh"], p["W_hh"], p["b_h"], activation)
            total += float(np.sum(h[:, b - first:] * R[:, b - 1:e]))
        return total

    return loss


# ----------------------------------------------------------------------------- masks


@settings(max_examples=150, deadline=None)
@given(T=st.integers(1, 14), k1=st.integers(1, 16), extra=st.integers(0, 16))
def test_truncation_mask_matches_brute_force(T, k1, extra):
    k2 = k1 + extra
    m = truncation_mask(T, k1, k2)
    assert m.shape == (T, T) and m.dtype == bool
    np.testing.assert_array_equal(m, brute_force_mask(T, k1, k2))
    assert not np.any(np.triu(m, 1))
    assert np.all(np.diag(m))  # every loss reaches its own state


def test_truncation_mask_example():
    # T=7, every 3 steps back 4 steps: blocks {1,2,3}, {4,5,6}, {7} ending at 3, 6, 7.
    m = truncation_mask(7, 3, 4).astype(int)
    assert m[5].tolist() == [0, 0, 1, 1, 1, 1, 0]  # ℓ_6: block end 6, window h_3..h_6
    assert m[3].tolist() == [0, 0, 1, 1, 0, 0, 0]  # ℓ_4: same window, reaches h_3, h_4
    assert m[6].tolist() == [0, 0, 0, 1, 1, 1, 1]  # ℓ_7: final partial block ends at T=7, window h_4..h_7
    assert m[2].tolist() == [1, 1, 1, 0, 0, 0, 0]


@settings(max_examples=100, deadline=None)
@given(T=st.integers(1, 14), k=st.integers(1, 16))
def test_chunked_mask_matches_brute_force(T, k):
    want = np.array([[(s - 1) // k == (j - 1) // k and j <= s for j in range(1, T + 1)] for s in range(1, T + 1)])
    np.testing.assert_array_equal(chunked_mask(T, k), want)
    if T % k == 0:  # TBPTT(k, k) is chunked truncation when k divides T ...
        np.testing.assert_array_equal(truncation_mask(T, k, k), want)
    else:  # ... otherwise only the final partial block's window reaches back into the previous chunk
        diff = truncation_mask(T, k, k) != want
        rows = np.nonzero(diff.any(axis=1))[0] + 1
        assert np.all(rows > T - T % k)
        assert np.all(truncation_mask(T, k, k)[~diff.any(axis=1)] == want[~diff.any(axis=1)])


def test_chunked_mask_none_is_full():
    np.testing.assert_array_equal(chunked_mask(5, None), np.tril(np.ones((5, 5), bool)))


@pytest.mark.parametrize("k1,k2", [(1, 1), (2, 3), (3, 3), (2, 9), (4, 6)])
@pytest.mark.parametrize("activation", ["tanh", "linear"])
def test_tbptt_gradient_reaches_exactly_the_masked_states(k1, k2, activation):
    """Seed one loss at a time: x_k gets gradient iff ℓ_s reaches h_k (g_k = δ_k ⊙ f'(a_k) != 0)."""
    T = 8
    p = make_params(1, T, 2, 3, activation=activation, seed=1)
    _, cache = rnn_forward(**p, activation=activation)
    mask = truncation_mask(T, k1, k2)
    for s in range(1, T + 1):
        dh = np.zeros((1, T, 3))
        dh[0, s - 1] = [1.0, -2.0, 0.5]
        gx = rnn_backward_tbptt(dh, cache, k1, k2)["x"]
        reached = np.abs(gx[0]).sum(axis=1) > 0
        np.testing.assert_array_equal(reached, mask[s - 1], err_msg=f"loss {s}")
        h0_reached = np.abs(rnn_backward_tbptt(dh, cache, k1, k2)["h0"]).sum() > 0
        assert h0_reached == mask[s - 1, 0]


# ----------------------------------------------------------------------------- TBPTT versus other schemes


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("T,k", [(6, 1), (6, 2), (6, 3), (6, 6), (8, 4), (1, 1)])
def test_tbptt_k_k_equals_truncate_k(activation, T, k):
    p = make_params(2, T, 3, 4, activation=activation, seed=7)
    R = np.random.default_rng(3).normal(size=(2, T, 4))
    _, cache = rnn_forward(**p, activation=activation)
    a = rnn_backward_tbptt(R, cache, k, k)
    b = rnn_backward(R, cache, truncate=k)
    for n in NAMES:
        np.testing.assert_array_equal(a[n], b[n])


def test_tbptt_k_k_differs_from_truncate_on_final_partial_block():
    """Documented corner: with T % k != 0 TBPTT's last window goes k steps back from T."""
    T, k = 5, 2
    p = make_params(1, T, 2, 3, seed=2)
    _, cache = rnn_forward(**p)
    dh = np.zeros((1, T, 3))
    dh[0, :4] = 1.0  # losses in full blocks only: identical
    a, b = rnn_backward_tbptt(dh, cache, k, k), rnn_backward(dh, cache, truncate=k)
    for n in NAMES:
        np.testing.assert_array_equal(a[n], b[n])
    b_before = rnn_backward(dh, cache, truncate=k)["x"][0, 3]
    dh[0, 4] = 1.0  # ℓ_5 reaches h_4 under TBPTT(2, 2) but not under truncate=2
    a, b = rnn_backward_tbptt(dh, cache, k, k), rnn_backward(dh, cache, truncate=k)
    np.testing.assert_array_equal(b["x"][0, 3], b_before)
    assert np.all(a["x"][0, 3] != b["x"][0, 3])
    np.testing.assert_array_equal(a["x"][0, 4], b["x"][0, 4])


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("k1,k2", [(1, 7), (2, 7), (3, 10), (7, 7), (4, 100)])
def test_tbptt_with_k2_ge_T_is_full_bptt(activation, k1, k2):
    T = 7
    p = make_params(2, T, 3, 4, activation=activation, seed=5)
    R = np.random.default_rng(8).normal(size=(2, T, 4))
    _, cache = rnn_forward(**p, activation=activation)
    a, b = rnn_backward_tbptt(R, cache, k1, k2), rnn_backward(R, cache)
    for n in NAMES:
        np.testing.assert_allclose(a[n], b[n], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("k1,k2", [(1, 1), (1, 3), (2, 3), (3, 4), (2, 6), (3, 9)])
def test_tbptt_is_full_bptt_restricted_by_mask(activation, k1, k2):
    """Sum over (s, k) with mask[s, k] of the full-BPTT path ℓ_s -> h_k, assembled by hand."""
    B, T, D, H = 2, 8, 3, 4
    p = make_params(B, T, D, H, activation=activation, seed=9)
    R = np.random.default_rng(12).normal(size=(B, T, H))
    _, cache = rnn_forward(**p, activation=activation)
    fp, W_hhT = cache.fprime(), np.ascontiguousarray(p["W_hh"].T)
    mask = truncation_mask(T, k1, k2)
    delta = sum(_per_loss_deltas(R, fp, W_hhT, None, s) * mask[s - 1][None, :, None] for s in range(1, T + 1))
    g = delta * fp
    h_prev = np.concatenate([p["h0"][:, None], cache.h[:, :-1]], axis=1)
    want = {
        "x": g @ p["W_xh"].T,
        "h0": g[:, 0] @ p["W_hh"].T,
        "W_xh": np.einsum("btd,bth->dh", p["x"], g),
        "W_hh": np.einsum("btj,bth->jh", h_prev, g),
        "b_h": g.sum(axis=(0, 1)),
    }
    got = rnn_backward_tbptt(R, cache, k1, k2)
    for n in NAMES:
        np.testing.assert_allclose(got[n], want[n], rtol=1e-11, atol=1e-12)


# ----------------------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("shape", [(2, 7, 3, 4), (1, 5, 1, 1), (1, 1, 1, 1), (3, 4, 2, 2)])
@pytest.mark.parametrize("k1,k2", [(1, 1), (1, 3), (2, 2), (2, 3), (2, 5), (3, 4), (3, 12), ("T", "T"), (4, 4)])
@pytest.mark.parametrize("rho", [0.9, 3.0])
def test_tbptt_gradcheck(activation, shape, k1, k2, rho):
    T = shape[1]
    k1, k2 = (T, T) if k1 == "T" else (k1, k2)
    p = make_params(*shape, activation=activation, seed=13, rho=rho)
    R = np.random.default_rng(14).normal(size=shape[:2] + (shape[3],))
    _, cache = rnn_forward(**p, activation=activation)
    grads = rnn_backward_tbptt(R, cache, k1, k2)
    loss = tbptt_objective(p, activation, R, k1, k2)
    assert loss() == pytest.approx(float(np.sum(cache.h * R)), rel=1e-12)  # each ℓ_s counted once
    errs = gradcheck(loss, p, grads, eps=EPS)
    assert max(errs.values()) < TOL, errs
    WORST["tbptt"] = max(WORST.get("tbptt", 0.0), max(errs.values()))


@pytest.mark.parametrize("activation", ACTS)
def test_tbptt_float32(activation):
    p = make_params(3, 9, 2, 5, activation=activation, seed=15, margin=1e-3)
    R = np.random.default_rng(16).normal(size=(3, 9, 5))
    _, c64 = rnn_forward(**p, activation=activation)
    _, c32 = rnn_forward(**{k: v.astype(np.float32) for k, v in p.items()}, activation=activation)
    g64 = rnn_backward_tbptt(R, c64, 2, 5)
    g32 = rnn_backward_tbptt(R.astype(np.float32), c32, 2, 5)
    for n in NAMES:
        assert g32[n].dtype == np.float32
        assert np.max(np.abs(g32[n] - g64[n])) / np.max(np.abs(g64[n])) < 1e-5, n


# ----------------------------------------------------------------------------- validation


def test_k2_smaller_than_k1_is_explained():
    with pytest.raises(ValueError, match=r"k2 must be >= k1.*no gradient"):
        truncation_mask(6, 3, 2)
    _, cache = rnn_forward(np.zeros((1, 4, 2)), None, np.zeros((2, 3)), np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="k2"):
        rnn_backward_tbptt(np.zeros((1, 4, 3)), cache, 3, 2)


@pytest.mark.parametrize("kw,err", [
    ({"k1": 0}, ValueError), ({"k1": 2.0}, TypeError), ({"k1": True}, TypeError),
    ({"k2": -1}, ValueError), ({"k2": None}, TypeError), ({"T": 0}, ValueError),
])
def test_mask_argument_errors_name_argument(kw, err):
    args = {"T": 5, "k1": 2, "k2": 3, **kw}
    with pytest.raises(err, match=next(iter(kw))):
        truncation_mask(**args)


def test_chunked_mask_bad_k():
    with pytest.raises(ValueError, match="k must"):
        chunked_mask(4, 0)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=0, max_size=4).map(tuple).filter(lambda s: s != (2, 3, 4)))
def test_tbptt_wrong_dh_shape_names_dh(shape):
    _, cache = rnn_forward(np.zeros((2, 3, 2)), None, np.zeros((2, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="dh"):
        rnn_backward_tbptt(np.zeros(shape), cache, 1, 2)
