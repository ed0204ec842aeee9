import numpy as np
import pytest

from seqlib.book.gradcheck import gradcheck
from seqlib.cells.readout import linear_backward, linear_forward


def _check(shape_h, V, seed=0):
    rng = np.random.default_rng(seed)
    H = shape_h[-1]
    h, W, b = rng.standard_normal(shape_h), rng.standard_normal((H, V)), rng.standard_normal(V)
    weights = rng.standard_normal((*shape_h[:-1], V))  # loss = sum(weights * out)

    def loss():
        return float(np.sum(weights * linear_forward(h, W, b)[0]))

    out, cache = linear_forward(h, W, b)
    assert out.shape == (*shape_h[:-1], V)
    g = linear_backward(weights, cache)
    errs = gradcheck(loss, {"h": h, "W": W, "b": b}, g)
    return errs


@pytest.mark.parametrize(
    "shape_h, V",
    [((2, 3, 4), 5), ((3, 4), 5), ((1, 1, 1), 1), ((1, 3), 2), ((2, 1, 3), 4), ((4, 2, 1), 1), ((3,), 2)],
)
def test_gradcheck(shape_h, V):
    errs = _check(shape_h, V)
    assert max(errs.values()) < 1e-7, errs


def test_matches_per_step_equation():
    rng = np.random.default_rng(1)
    h, W, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, _ = linear_forward(h, W, b)
    for t in range(3):
        np.testing.assert_allclose(out[:, t], h[:, t] @ W + b, rtol=1e-13, atol=1e-13)
    out2, _ = linear_forward(h[:, 0], W, b)
    np.testing.assert_allclose(out2, out[:, 0], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    h, W, b = np.ones((2, 3, 4), dtype), np.ones((4, 5), dtype), np.ones(5, dtype)
    out, cache = linear_forward(h, W, b)
    assert out.dtype == dtype
    g = linear_backward(np.ones_like(out), cache)
    assert all(v.dtype == dtype for v in g.values())


def test_empty_batch():
    out, cache = linear_forward(np.zeros((0, 3, 4)), np.ones((4, 5)), np.ones(5))
    assert out.shape == (0, 3, 5)
    g = linear_backward(np.zeros((0, 3, 5)), cache)
    assert g["h"].shape == (0, 3, 4) and np.all(g["W"] == 0) and np.all(g["b"] == 0)


@pytest.mark.parametrize(
    "h, W, b, match",
    [
        (np.ones((2, 3, 4)), np.ones((3, 5)), np.ones(5), r"W must have shape \(H, V\).*H=4.*got \(3, 5\)"),
        (np.ones((2, 4)), np.ones((4, 5)), np.ones(6), r"b must have shape \(V,\).*V=5.*got \(6,\)"),
        (np.ones((2, 4)), np.ones((4, 5)), np.ones((1, 5)), r"b must be a 1-D array"),
        (np.ones((2, 4)), np.ones(4), np.ones(5), r"W must be a 2-D array"),
        (np.float64(1.0), np.ones((1, 5)), np.ones(5), r"h must have shape \(\.\.\., H\)"),
        (np.full((2, 4), np.nan), np.ones((4, 5)), np.ones(5), r"h must be finite"),
    ],
)
def test_bad_shapes(h, W, b, match):
    with pytest.raises(ValueError, match=match):
        linear_forward(h, W, b)


def test_bad_dout_and_cache():
    out, cache = linear_forward(np.ones((2, 3, 4)), np.ones((4, 5)), np.ones(5))
    with pytest.raises(ValueError, match=r"dout must have the shape of out.*\(2, 3, 5\), got \(2, 5\)"):
        linear_backward(np.ones((2, 5)), cache)
    with pytest.raises(TypeError, match="cache must be the ReadoutCache"):
        linear_backward(out, (1, 2))
    with pytest.raises(TypeError, match="h must be a numeric array"):
        linear_forward("abc", np.ones((4, 5)), np.ones(5))
