import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seqlib.training.clip import clip_by_global_norm, clip_by_value, global_norm


def _grads(seed=0, scale=1.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shapes = {"W_xh": (3, 4), "W_hh": (4, 4), "b_h": (4,), "W_hy": (4, 5), "b_y": (5,)}
    return {k: (scale * rng.standard_normal(s)).astype(dtype) for k, s in shapes.items()}


def _flat(g):
    return np.concatenate([v.ravel() for v in g.values()])


def test_global_norm():
    g = _grads()
    assert global_norm(g) == pytest.approx(np.linalg.norm(_flat(g)), rel=1e-14)
    assert global_norm({}) == 0.0
    assert global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}) == 5.0
    # no overflow in the squares, even for float32
    assert global_norm({"a": np.float32([3e30, 4e30])}) == pytest.approx(5e30, rel=1e-6)
    assert global_norm({"a": np.array([3e200, 4e200])}) == pytest.approx(5e200, rel=1e-14)
    assert global_norm({"a": np.array([1.0, np.inf])}) == np.inf


def test_norm_clip_exact_scaling_and_direction():
    g = _grads(scale=10.0)
    n = global_norm(g)
    clipped, norm = clip_by_global_norm(g, 1.5)
    assert norm == n and n > 1.5
    for k in g:
        np.testing.assert_allclose(clipped[k], g[k] * (1.5 / n), rtol=1e-15)
    assert global_norm(clipped) == pytest.approx(1.5, rel=1e-14)
    # same direction: cosine similarity 1
    a, b = _flat(g), _flat(clipped)
    assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) == pytest.approx(1.0, rel=1e-14)


def test_below_threshold_untouched_and_copied():
    g = _grads(scale=0.01)
    clipped, norm = clip_by_global_norm(g, 100.0)
    assert norm == global_norm(g)
    for k in g:
        np.testing.assert_array_equal(clipped[k], g[k])
        assert clipped[k] is not g[k]
    # exactly at the threshold: scale 1
    clipped, _ = clip_by_global_norm({"a": np.array([3.0, 4.0])}, 5.0)
    np.testing.assert_array_equal(clipped["a"], [3.0, 4.0])


def test_zero_gradient_stays_zero():
    clipped, norm = clip_by_global_norm({"a": np.zeros((2, 3))}, 1.0)
    assert norm == 0.0 and not clipped["a"].any()


@pytest.mark.parametrize("f, arg", [(clip_by_global_norm, 0.5), (clip_by_value, 0.5)])
def test_no_mutation(f, arg):
    g = _grads(scale=5.0)
    before = {k: v.copy() for k, v in g.items()}
    f(g, arg)
    for k in g:
        np.testing.assert_array_equal(g[k], before[k])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    g = _grads(scale=5.0, dtype=dtype)
    assert all(v.dtype == dtype for v in clip_by_global_norm(g, 1.0)[0].values())
    assert all(v.dtype == dtype for v in clip_by_global_norm(g, 1e9)[0].values())
    assert all(v.dtype == dtype for v in clip_by_value(g, 1.0).values())


def test_clip_by_value_changes_direction():
    g = {"a": np.array([10.0, 1.0, -0.5, -7.0])}
    out = clip_by_value(g, 1.0)
    np.testing.assert_array_equal(out["a"], [1.0, 1.0, -0.5, -1.0])
    # norm clipping keeps the ratio of components, value clipping does not
    assert out["a"][0] / out["a"][1] == 1.0
    c, _ = clip_by_global_norm(g, 1.0)
    assert c["a"][0] / c["a"][1] == pytest.approx(10.0, rel=1e-14)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan])
def test_bad_thresholds(bad):
    with pytest.raises(ValueError, match="max_norm must be finite and in"):
        clip_by_global_norm(_grads(), bad)
    with pytest.raises(ValueError, match="clip_value must be finite and in"):
        clip_by_value(_grads(), bad)


def test_bad_arguments():
    with pytest.raises(TypeError, match="max_norm must be a real number"):
        clip_by_global_norm(_grads(), "1")
    with pytest.raises(TypeError, match="max_norm must be a real number"):
        clip_by_global_norm(_grads(), True)
    with pytest.raises(ValueError, match=r"grads\['b'\] must be finite"):
        clip_by_global_norm({"a": np.ones(2), "b": np.array([np.nan])}, 1.0)
    with pytest.raises(TypeError, match="grads must be a dict"):
        clip_by_value([np.ones(2)], 1.0)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
grad_dicts = st.dictionaries(
    st.sampled_from(["W_xh", "W_hh", "b_h", "W_hy", "b_y"]),
    arrays(np.float64, st.tuples(st.integers(0, 4), st.integers(1, 4)), elements=finite),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(grads=grad_dicts, max_norm=st.floats(1e-6, 1e6))
def test_property_norm_clip(grads, max_norm):
    clipped, norm = clip_by_global_norm(grads, max_norm)
    assert global_norm(clipped) <= max_norm * (1 + 1e-12)
    flat = _flat(grads) if grads else np.zeros(1)
    m = np.max(np.abs(flat), initial=0.0)
    assert norm == (pytest.approx(m * np.linalg.norm(flat / m), rel=1e-12, abs=0) if m else 0.0)
    if norm <= max_norm:
        for k in grads:
            np.testing.assert_array_equal(clipped[k], grads[k])
    else:
        assert global_norm(clipped) == pytest.approx(max_norm, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(grads=grad_dicts, c=st.floats(1e-6, 1e6))
def test_property_value_clip(grads, c):
    out = clip_by_value(grads, c)
    for k in grads:
        assert np.all(np.abs(out[k]) <= c)
        inside = np.abs(grads[k]) <= c
        np.testing.assert_array_equal(out[k][inside], grads[k][inside])
        np.testing.assert_array_equal(out[k][~inside], np.sign(grads[k][~inside]) * c)
