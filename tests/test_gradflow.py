"""Tests for seqlib.training.gradflow: gradient-flow diagnostics."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib.cells.activations import ACTIVATIONS
from seqlib.training.bptt import chunked_mask
from seqlib.training.gradflow import (
    _per_loss_deltas,
    jacobian_product_norms,
    loss_to_state_norms,
    spectral_norm,
    spectral_radius,
    state_gradient_norms,
)
from seqlib.cells.rnn import _backprop_windows, _chunk_windows, rnn_backward, rnn_forward

ACTS = sorted(ACTIVATIONS)


def setup(B=2, T=6, D=3, H=3, activation="tanh", rho=1.2, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    W_hh = rng.normal(size=(H, H))
    W_hh *= rho / np.linalg.norm(W_hh, 2)
    x = rng.normal(size=(B, T, D))
    h, cache = rnn_forward(x.astype(dtype), (rng.normal(size=(B, H)) * 0.5).astype(dtype),
                           (rng.normal(size=(D, H)) / np.sqrt(D)).astype(dtype), W_hh.astype(dtype),
                           (rng.normal(size=H) * 0.3).astype(dtype), activation)
    dh = rng.normal(size=(B, T, H)).astype(dtype)
    return dh, cache


def explicit_jacobian(cache, b, t, k):
    """∂h_t/∂h_k (1-based, h_0 the initial state) = diag(f'(a_t)) W_hh^T ... diag(f'(a_{k+1})) W_hh^T."""
    fp = cache.fprime()[b]
    M = np.eye(cache.W_hh.shape[0])
    for j in range(t, k, -1):
        M = M @ np.diag(fp[j - 1]) @ cache.W_hh.T
    return M


# ----------------------------------------------------------------------------- loss_to_state_norms


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("rho", [0.5, 1.0, 2.5])
def test_G_matches_explicit_jacobian_products(activation, rho):
    dh, cache = setup(activation=activation, rho=rho)
    B, T, H = dh.shape
    G = loss_to_state_norms(dh, cache)
    want = np.zeros((T, T))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            rows = [dh[b, t - 1] @ explicit_jacobian(cache, b, t, k) for b in range(B)]  # ∂ℓ_t/∂h_k
            want[t - 1, k - 1] = np.linalg.norm(rows)
    np.testing.assert_allclose(G, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.diag(G), np.linalg.norm(dh, axis=(0, 2)), rtol=1e-14)


@pytest.mark.parametrize("truncate", [None, 1, 2, 4, 9])
def test_per_loss_deltas_sum_to_total_delta(truncate):
    """δ_k = Σ_t ∂ℓ_t/∂h_k as vectors (the identity behind grad_flow_G), with and without truncation."""
    dh, cache = setup(B=3, T=8, H=4, seed=1)
    fp, W_hhT = cache.fprime(), np.ascontiguousarray(cache.W_hh.T)
    per_loss = np.stack([_per_loss_deltas(dh, fp, W_hhT, truncate, t) for t in range(1, 9)])  # (t, B, k, H)
    delta = np.zeros_like(dh)
    _backprop_windows(dh, fp, W_hhT, _chunk_windows(8, truncate), delta)
    np.testing.assert_allclose(per_loss.sum(axis=0), delta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state_gradient_norms(dh, cache, truncate), np.linalg.norm(delta, axis=(0, 2)))
    G = loss_to_state_norms(dh, cache, truncate)
    np.testing.assert_allclose(G, np.linalg.norm(per_loss, axis=(1, 3)), rtol=1e-12)
    # the triangle inequality ties G's columns to the state gradients
    assert np.all(state_gradient_norms(dh, cache, truncate) <= G.sum(axis=0) * (1 + 1e-12))


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_truncated_G_is_full_G_masked(k):
    dh, cache = setup(T=7, seed=2)
    full = loss_to_state_norms(dh, cache)
    trunc = loss_to_state_norms(dh, cache, truncate=k)
    mask = chunked_mask(7, k)
    np.testing.assert_allclose(trunc, np.where(mask, full, 0.0), rtol=1e-13)
    assert np.all(np.triu(trunc, 1) == 0)


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.7])
def test_linear_scaled_identity_gives_powers_of_rho(rho):
    T, H = 9, 3
    x = np.random.default_rng(3).normal(size=(1, T, 2))
    _, cache = rnn_forward(x, None, np.ones((2, H)), rho * np.eye(H), np.zeros(H), "linear")
    t, k = np.indices((T + 1, T + 1))
    P = jacobian_product_norms(cache)
    np.testing.assert_allclose(P, np.where(k <= t, rho ** (t - k).astype(float), 0.0), rtol=1e-13)
    dh = np.zeros((1, T, H))
    dh[0, :, 0] = 1.0  # ||dh_t|| = 1
    G = loss_to_state_norms(dh, cache)
    np.testing.assert_allclose(G, np.where(k[1:, 1:] <= t[1:, 1:], rho ** (t - k)[1:, 1:].astype(float), 0.0),
                               rtol=1e-13)


def test_state_gradient_norms_agree_with_rnn_backward():
    """Linear activation and W_xh = I: dx_t = δ_t, so rnn_backward exposes the state gradients."""
    rng = np.random.default_rng(4)
    B, T, H = 2, 7, 3
    W_hh = rng.normal(size=(H, H)) / 2
    _, cache = rnn_forward(rng.normal(size=(B, T, H)), None, np.eye(H), W_hh, np.zeros(H), "linear")
    dh = rng.normal(size=(B, T, H))
    for truncate in (None, 1, 3):
        dx = rnn_backward(dh, cache, truncate)["x"]
        np.testing.assert_allclose(state_gradient_norms(dh, cache, truncate), np.linalg.norm(dx, axis=(0, 2)))


def test_loss_to_state_norms_is_fast():
    dh, cache = setup(B=1, T=60, D=8, H=32, rho=1.0, seed=5)
    loss_to_state_norms(dh, cache)
    t0 = time.perf_counter()
    G = loss_to_state_norms(dh, cache)
    assert time.perf_counter() - t0 < 0.05
    assert G.shape == (60, 60) and np.all(np.isfinite(G))


def test_float32_diagnostics():
    dh64, c64 = setup(T=8, seed=6)
    dh32, c32 = setup(T=8, seed=6, dtype=np.float32)
    G64, G32 = loss_to_state_norms(dh64, c64), loss_to_state_norms(dh32, c32)
    assert G32.dtype == np.float64
    np.testing.assert_allclose(G32, G64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jacobian_product_norms(c32), jacobian_product_norms(c64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state_gradient_norms(dh32, c32), state_gradient_norms(dh64, c64), rtol=1e-5)


# ----------------------------------------------------------------------------- jacobian_product_norms


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("b", [0, 1])
def test_jacobian_product_norms_match_explicit(activation, b):
    _, cache = setup(T=5, H=3, activation=activation, rho=1.5, seed=7)
    P = jacobian_product_norms(cache, batch_index=b)
    assert P.shape == (6, 6)
    for t in range(6):
        for k in range(6):
            want = np.linalg.norm(explicit_jacobian(cache, b, t, k), 2) if k <= t else 0.0
            assert P[t, k] == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("bad,err", [(2, ValueError), (-1, ValueError), (0.0, TypeError), (True, TypeError)])
def test_jacobian_product_norms_bad_batch_index(bad, err):
    _, cache = setup(B=2)
    with pytest.raises(err, match="batch_index"):
        jacobian_product_norms(cache, batch_index=bad)


# ----------------------------------------------------------------------------- spectral norm and radius


def test_spectral_norm_and_radius_known_matrices():
    c, s = np.cos(0.3), np.sin(0.3)
    rotation = 2 * np.array([[c, -s], [s, c]])
    assert spectral_norm(rotation) == pytest.approx(2) and spectral_radius(rotation) == pytest.approx(2)
    nilpotent = np.array([[0.0, 5.0], [0.0, 0.0]])  # norm 5, radius 0: norm bounds the radius, not equal
    assert spectral_norm(nilpotent) == pytest.approx(5) and spectral_radius(nilpotent) == 0
    assert spectral_norm(np.diag([1.0, -3.0, 2.0])) == pytest.approx(3)
    assert spectral_norm(np.ones((2, 3))) == pytest.approx(np.sqrt(6))  # rectangular is fine
    assert isinstance(spectral_norm(np.eye(2)), float) and isinstance(spectral_radius(np.eye(2)), float)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_spectral_radius_at_most_spectral_norm(n, seed):
    W = np.random.default_rng(seed).normal(size=(n, n))
    assert spectral_radius(W) <= spectral_norm(W) * (1 + 1e-12)
    assert spectral_norm(W) == pytest.approx(np.linalg.svd(W, compute_uv=False)[0])


@pytest.mark.parametrize("fn", [spectral_norm, spectral_radius])
def test_spectral_bad_input(fn):
    with pytest.raises(ValueError, match="W must be a 2-D"):
        fn(np.ones(3))
    with pytest.raises(ValueError, match="W must be finite"):
        fn(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="W"):
        fn("eye")


def test_spectral_radius_needs_square():
    with pytest.raises(ValueError, match="W must be a square"):
        spectral_radius(np.ones((2, 3)))


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("fn", [loss_to_state_norms, state_gradient_norms])
def test_diagnostics_validate_arguments(fn):
    dh, cache = setup()
    with pytest.raises(ValueError, match="dh"):
        fn(dh[:, :-1], cache)
    with pytest.raises(ValueError, match="truncate"):
        fn(dh, cache, truncate=0)
    with pytest.raises(TypeError, match="cache"):
        fn(dh, None)
