import numpy as np
import pytest

from seqlib.cells.init import (
    glorot_uniform,
    init_rnn_params,
    normal,
    orthogonal,
    scale_to_spectral_norm,
    scale_to_spectral_radius,
)


def _norm(W):
    return np.linalg.norm(W, 2)


def _radius(W):
    return np.max(np.abs(np.linalg.eigvals(W)))


@pytest.mark.parametrize("target", [0.5, 1.0, 1.7, 10.0])
@pytest.mark.parametrize("shape", [(6, 6), (3, 7), (7, 3), (1, 1)])
def test_scale_to_spectral_norm(shape, target):
    W = np.random.default_rng(0).standard_normal(shape)
    W_copy = W.copy()
    out = scale_to_spectral_norm(W, target)
    assert abs(_norm(out) - target) <= 1e-10 * target
    np.testing.assert_array_equal(W, W_copy)  # not mutated
    # same direction: a positive multiple of W
    np.testing.assert_allclose(out, W * (target / _norm(W)), rtol=1e-14)


@pytest.mark.parametrize("target", [0.5, 0.9, 1.0, 1.1, 3.0])
@pytest.mark.parametrize("H", [1, 2, 8, 32])
def test_scale_to_spectral_radius(H, target):
    W = np.random.default_rng(H).standard_normal((H, H))
    out = scale_to_spectral_radius(W, target)
    assert abs(_radius(out) - target) <= 1e-10 * target


def test_norm_and_radius_differ_for_non_normal_matrix():
    W = np.array([[0.5, 10.0], [0.0, 0.5]])
    assert abs(_radius(scale_to_spectral_radius(W, 1.0)) - 1.0) < 1e-12
    assert _norm(scale_to_spectral_radius(W, 1.0)) > 10
    assert abs(_norm(scale_to_spectral_norm(W, 1.0)) - 1.0) < 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaling_keeps_dtype(dtype):
    W = np.random.default_rng(0).standard_normal((5, 5)).astype(dtype)
    for f in (scale_to_spectral_norm, scale_to_spectral_radius):
        out = f(W, 2.0)
        assert out.dtype == dtype
    assert abs(_norm(scale_to_spectral_norm(W, 2.0).astype(np.float64)) - 2.0) < 1e-5


@pytest.mark.parametrize("shape", [(5, 5), (7, 3), (3, 7), (1, 1)])
def test_orthogonal(shape):
    W = orthogonal(*shape, rng=0)
    assert W.shape == shape
    k = min(shape)
    G = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(G, np.eye(k), atol=1e-12)
    W2 = orthogonal(*shape, rng=0, gain=2.0)
    np.testing.assert_allclose(W2, 2.0 * W, rtol=1e-15)


def test_orthogonal_square_has_unit_norm_and_radius():
    W = orthogonal(16, rng=3)
    assert abs(_norm(W) - 1) < 1e-12 and abs(_radius(W) - 1) < 1e-12
    np.testing.assert_allclose(W @ W.T, np.eye(16), atol=1e-12)


def test_glorot_uniform_bounds_and_variance():
    W = glorot_uniform(200, 300, rng=0)
    a = np.sqrt(6 / 500)
    assert W.shape == (200, 300) and np.all(np.abs(W) <= a)
    assert abs(W.var() - 2 / 500) < 0.05 * 2 / 500


def test_normal_default_std():
    W = normal(400, 300, rng=0)
    assert W.shape == (400, 300)
    assert abs(W.std() - 1 / 20) < 0.01 / 20
    assert abs(normal(100, 100, rng=0, std=3.0).std() - 3.0) < 0.1


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: glorot_uniform(3, 4, rng=rng),
        lambda rng: orthogonal(4, 3, rng=rng),
        lambda rng: normal(3, 4, rng=rng),
        lambda rng: init_rnn_params(3, 4, 5, rng=rng, W_hh_spectral_radius=1.2),
    ],
)
def test_deterministic(make):
    a, b, c = make(42), make(np.random.default_rng(42)), make(43)
    flat = lambda x: np.concatenate([v.ravel() for v in x.values()]) if isinstance(x, dict) else x  # noqa: E731
    np.testing.assert_array_equal(flat(a), flat(b))
    assert not np.array_equal(flat(a), flat(c))


def test_generator_is_advanced():
    rng = np.random.default_rng(0)
    assert not np.array_equal(normal(2, 2, rng=rng), normal(2, 2, rng=rng))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_rnn_params(dtype):
    p = init_rnn_params(3, 4, 5, rng=0, dtype=dtype)
    shapes = {"W_xh": (3, 4), "W_hh": (4, 4), "b_h": (4,), "W_hy": (4, 5), "b_y": (5,)}
    assert {k: v.shape for k, v in p.items()} == shapes
    assert all(v.dtype == dtype for v in p.values())
    assert not p["b_h"].any() and not p["b_y"].any()
    assert abs(_norm(p["W_hh"].astype(np.float64)) - 1) < 1e-6
    p64 = init_rnn_params(3, 4, 5, rng=0)
    for k in p:
        np.testing.assert_allclose(p[k], p64[k], rtol=1e-6)


def test_init_rnn_params_spectral_options():
    p = init_rnn_params(3, 8, 5, rng=1, W_hh_spectral_norm=0.7)
    assert abs(_norm(p["W_hh"]) - 0.7) < 1e-10
    p = init_rnn_params(3, 8, 5, rng=1, W_hh_spectral_radius=1.3)
    assert abs(_radius(p["W_hh"]) - 1.3) < 1e-10
    with pytest.raises(ValueError, match="W_hh_spectral_norm.*W_hh_spectral_radius"):
        init_rnn_params(3, 8, 5, rng=1, W_hh_spectral_norm=1.0, W_hh_spectral_radius=1.0)
    with pytest.raises(ValueError, match="W_hh_spectral_norm must be positive"):
        init_rnn_params(3, 8, 5, rng=1, W_hh_spectral_norm=-1.0)


def test_zero_matrix_errors():
    with pytest.raises(ValueError, match="W is the zero matrix"):
        scale_to_spectral_norm(np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="spectral radius 0.*zero matrix"):
        scale_to_spectral_radius(np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="nilpotent"):
        scale_to_spectral_radius(np.array([[0.0, 1.0], [0.0, 0.0]]), 1.0)


def test_argument_errors():
    with pytest.raises(ValueError, match=r"W must be square.*got \(2, 3\)"):
        scale_to_spectral_radius(np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="W must be a 2-D array"):
        scale_to_spectral_norm(np.ones(3), 1.0)
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="target must be positive and finite"):
            scale_to_spectral_norm(np.eye(2), bad)
    with pytest.raises(TypeError, match="target must be a positive real number"):
        scale_to_spectral_norm(np.eye(2), "1")
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or a seed int"):
        orthogonal(3, rng=None)
    with pytest.raises(TypeError, match="rng must be"):
        normal(3, 3, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="n_rows must be >= 1, got 0"):
        orthogonal(0, rng=0)
    with pytest.raises(TypeError, match="fan_in must be a positive int"):
        glorot_uniform(2.5, 3, rng=0)
    with pytest.raises(ValueError, match="dtype must be one of"):
        init_rnn_params(2, 3, 4, rng=0, dtype=np.int32)
    with pytest.raises(ValueError, match="std must be positive"):
        normal(2, 2, rng=0, std=0.0)
