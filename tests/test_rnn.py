"""Tests for seqlib.cells.activations and seqlib.cells.rnn (forward pass and full / chunked BPTT)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib.cells.activations import ACTIVATIONS, get_activation, sigmoid
from seqlib.book.gradcheck import gradcheck
from seqlib.cells.rnn import RNNCache, rnn_backward, rnn_forward

ACTS = sorted(ACTIVATIONS)
NAMES = ("x", "h0", "W_xh", "W_hh", "b_h")
TOL = 1e-7
EPS = 1e-5  # central-difference step: truncation error ~EPS**2, round-off ~1e-16 |L| / EPS
WORST: dict[str, float] = {}  # worst gradcheck error per test family, printed at the end (pytest -s)


# ----------------------------------------------------------------------------- helpers


def reference_forward(x, h0, W_xh, W_hh, b_h, activation):
    """Textbook loop, one step and one sequence at a time, column-free and slow."""
    f = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "linear": lambda a: a,
         "sigmoid": lambda a: 1 / (1 + np.exp(-a))}[activation]
    B, T, _ = x.shape
    h = np.zeros((B, T, W_hh.shape[0]))
    for b in range(B):
        prev = h0[b]
        for t in range(T):
            prev = f(x[b, t] @ W_xh + prev @ W_hh + b_h)
            h[b, t] = prev
    return h


def make_params(B, T, D, H, pattern="random", activation="tanh", seed=0, margin=1e-4):
    """Random float64 parameters; for relu, redraw until every |a| > margin (no kinks)."""
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        p = {
            "x": rng.normal(size=(B, T, D)),
            "h0": rng.normal(size=(B, H)) * 0.5,
            "W_xh": rng.normal(size=(D, H)) / np.sqrt(D),
            "W_hh": rng.normal(size=(H, H)),
            "b_h": rng.normal(size=H) * 0.5,
        }
        if pattern == "random":
            p["W_hh"] *= 0.9 / np.linalg.norm(p["W_hh"], 2)
        elif pattern == "small":
            p["W_hh"] *= 0.05 / np.linalg.norm(p["W_hh"], 2)
            p["W_xh"] *= 0.1
        elif pattern == "large":
            p["W_hh"] *= 3.0 / np.linalg.norm(p["W_hh"], 2)
        elif pattern == "zeros":
            p["W_hh"][:] = 0
            p["W_xh"][:] = 0
        else:
            raise AssertionError(pattern)
        if activation != "relu":
            return p
        _, cache = rnn_forward(**p, activation="relu")
        if np.min(np.abs(cache.a)) > margin:
            return p
    raise AssertionError("no kink-free relu parameters found")


def check_grads(p, activation, R, grads, loss=None):
    """Gradcheck ``grads`` against central differences of ``loss`` (default: full L = sum(h * R))."""
    if loss is None:
        def loss():
            return float(np.sum(rnn_forward(**p, activation=activation)[0] * R))
    errs = gradcheck(loss, p, grads, eps=EPS)
    worst = max(errs.values())
    assert worst < TOL, errs
    return worst


def record(family, err):
    WORST[family] = max(WORST.get(family, 0.0), err)


@pytest.fixture(scope="module", autouse=True)
def _report_worst():
    yield
    if WORST:
        print("\nworst gradcheck errors (test_rnn):", {k: f"{v:.2e}" for k, v in WORST.items()})


# ----------------------------------------------------------------------------- activations


@pytest.mark.parametrize("name", ACTS)
def test_activation_derivative_matches_central_difference(name):
    act = get_activation(name)
    a = np.linspace(-4, 4, 41) + 0.013  # avoid the relu kink at 0
    eps = 1e-6
    numeric = (act.f(a + eps) - act.f(a - eps)) / (2 * eps)
    np.testing.assert_allclose(act.df(a, act.f(a)), numeric, atol=1e-8)


@pytest.mark.parametrize("name", ACTS)
def test_activation_out_argument_and_dtype(name):
    act = get_activation(name)
    a = np.linspace(-2, 2, 7, dtype=np.float32)
    out = np.empty_like(a)
    res = act.f(a, out=out)
    assert res is out and out.dtype == np.float32
    np.testing.assert_allclose(out, act.f(a.astype(np.float64)), rtol=1e-6, atol=1e-7)
    assert act.df(a, out).dtype == np.float32


def test_sigmoid_is_stable_and_accurate():
    a = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    s = sigmoid(a)  # would overflow exp(-a) if computed naively; -W error turns that into a failure
    assert np.all(np.isfinite(s)) and s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s[2], np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-14)
    s32 = sigmoid(a.astype(np.float32))
    assert s32.dtype == np.float32 and np.all(np.isfinite(s32))


@pytest.mark.parametrize("bad", ["softmax", "Tanh", ""])
def test_unknown_activation_names_argument_and_choices(bad):
    with pytest.raises(ValueError, match="activation") as exc:
        get_activation(bad)
    msg = str(exc.value)
    assert repr(bad) in msg and all(name in msg for name in ACTS)


def test_activation_of_wrong_type():
    with pytest.raises(TypeError, match="activation"):
        get_activation(3)


# ----------------------------------------------------------------------------- forward


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 2, 4), (2, 7, 3, 1)])
def test_forward_matches_reference(activation, shape):
    p = make_params(*shape, activation=activation)
    h, cache = rnn_forward(**p, activation=activation)
    assert h.shape == shape[:2] + (shape[3],) and h.dtype == np.float64
    np.testing.assert_allclose(h, reference_forward(**p, activation=activation), rtol=1e-12, atol=1e-12)
    assert isinstance(cache, RNNCache) and cache.activation == activation and cache.shape == shape
    np.testing.assert_array_equal(cache.h, h)


def test_forward_h0_none_is_zeros():
    p = make_params(2, 4, 3, 5)
    h_none, cache = rnn_forward(p["x"], None, p["W_xh"], p["W_hh"], p["b_h"])
    h_zero, _ = rnn_forward(p["x"], np.zeros((2, 5)), p["W_xh"], p["W_hh"], p["b_h"])
    np.testing.assert_array_equal(h_none, h_zero)
    np.testing.assert_array_equal(cache.h0, 0)


def test_forward_integer_inputs_become_float64():
    x = np.arange(12).reshape(1, 4, 3) % 3
    h, _ = rnn_forward(x, None, np.ones((3, 2), dtype=np.int32), np.eye(2, dtype=np.int64) // 2, np.zeros(2, int))
    assert h.dtype == np.float64
    np.testing.assert_allclose(h[0, :, 0], np.tanh(x[0].sum(axis=1)))


def test_forward_does_not_modify_inputs():
    p = make_params(2, 3, 2, 3)
    before = {k: v.copy() for k, v in p.items()}
    rnn_forward(**p)
    for k in p:
        np.testing.assert_array_equal(p[k], before[k])


# ----------------------------------------------------------------------------- full BPTT gradient checks


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("pattern", ["random", "small", "large", "zeros"])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 5, 3, 4), (1, 6, 1, 3), (3, 1, 2, 1), (2, 4, 2, 1)])
def test_full_bptt_gradcheck(activation, pattern, shape):
    p = make_params(*shape, pattern=pattern, activation=activation)
    R = np.random.default_rng(1).normal(size=shape[:2] + (shape[3],))
    _, cache = rnn_forward(**p, activation=activation)
    grads = rnn_backward(R, cache)
    assert set(grads) == set(NAMES)
    for k in NAMES:
        assert grads[k].shape == p[k].shape and grads[k].dtype == np.float64
    record("full", check_grads(p, activation, R, grads))


def test_backward_formulas_on_one_step():
    """T = 1 by hand: dW_hh = h0^T g, dW_xh = x^T g, db = sum g, dh0 = g W_hh^T with g = R ⊙ f'(a)."""
    p = make_params(3, 1, 2, 4)
    R = np.random.default_rng(5).normal(size=(3, 1, 4))
    h, cache = rnn_forward(**p)
    g = R[:, 0] * (1 - h[:, 0] ** 2)
    grads = rnn_backward(R, cache)
    np.testing.assert_allclose(grads["W_hh"], p["h0"].T @ g)
    np.testing.assert_allclose(grads["W_xh"], p["x"][:, 0].T @ g)
    np.testing.assert_allclose(grads["b_h"], g.sum(0))
    np.testing.assert_allclose(grads["h0"], g @ p["W_hh"].T)
    np.testing.assert_allclose(grads["x"][:, 0], g @ p["W_xh"].T)


# ----------------------------------------------------------------------------- chunked truncation


def truncated_loss(p, activation, R, k):
    """The objective that truncate=k differentiates, evaluated honestly by finite differences.

    The sequence is run chunk by chunk; each later chunk starts from the state
    carried over from the *unperturbed* parameters, frozen as a constant, so
    perturbing a parameter changes a chunk only through its own steps.  The
    first chunk starts from the (perturbable) h0.  At the unperturbed point
    the value equals the ordinary loss sum(h * R).
    """
    h_frozen = rnn_forward(**p, activation=activation)[0].copy()
    T = R.shape[1]

    def loss():
        total = 0.0
        for c in range(0, T, k):
            start = p["h0"] if c == 0 else h_frozen[:, c - 1]
            h, _ = rnn_forward(p["x"][:, c:c + k], start, p["W_xh"], p["W_hh"], p["b_h"], activation)
            total += float(np.sum(h * R[:, c:c + k]))
        return total

    return loss


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("pattern", ["random", "large"])
@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (1, 7, 1, 2), (1, 1, 1, 1)])
@pytest.mark.parametrize("k", [1, 2, 3, "T", "T+2"])
def test_truncated_bptt_gradcheck(activation, pattern, shape, k):
    T = shape[1]
    k = {"T": T, "T+2": T + 2}.get(k, k)
    p = make_params(*shape, pattern=pattern, activation=activation, seed=3)
    R = np.random.default_rng(2).normal(size=shape[:2] + (shape[3],))
    _, cache = rnn_forward(**p, activation=activation)
    grads = rnn_backward(R, cache, truncate=k)
    loss = truncated_loss(p, activation, R, k)
    assert loss() == pytest.approx(np.sum(cache.h * R), rel=1e-12)
    record("truncate", check_grads(p, activation, R, grads, loss))
    if k >= T:  # truncation at or beyond T is full BPTT, exactly
        full = rnn_backward(R, cache)
        for n in NAMES:
            np.testing.assert_array_equal(grads[n], full[n])


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("T,k", [(6, 2), (7, 3), (5, 1), (4, 4), (9, 4)])
def test_truncate_equals_separate_chunks(activation, T, k):
    """truncate=k == run each chunk on its own from the previous chunk's final state, sum full-BPTT grads."""
    p = make_params(3, T, 2, 4, activation=activation, seed=11)
    R = np.random.default_rng(4).normal(size=(3, T, 4))
    h, cache = rnn_forward(**p, activation=activation)
    got = rnn_backward(R, cache, truncate=k)

    want = {n: np.zeros_like(p[n]) for n in ("W_xh", "W_hh", "b_h")}
    want_x, hs = [], []
    state = p["h0"]
    for c in range(0, T, k):
        hc, cc = rnn_forward(p["x"][:, c:c + k], state, p["W_xh"], p["W_hh"], p["b_h"], activation)
        gc = rnn_backward(R[:, c:c + k], cc)
        for n in ("W_xh", "W_hh", "b_h"):
            want[n] += gc[n]
        want_x.append(gc["x"])
        if c == 0:
            want["h0"] = gc["h0"]  # dh0 of later chunks is discarded
        state = hc[:, -1]
        hs.append(hc)
    np.testing.assert_allclose(np.concatenate(hs, axis=1), h, rtol=1e-13)  # the state is carried unchanged
    want["x"] = np.concatenate(want_x, axis=1)
    for n in NAMES:
        np.testing.assert_allclose(got[n], want[n], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "bad,err", [(0, ValueError), (-3, ValueError), (True, TypeError), (2.0, TypeError), ("2", TypeError)]
)
def test_truncate_validation(bad, err):
    p = make_params(1, 4, 2, 3)
    h, cache = rnn_forward(**p)
    with pytest.raises(err, match="truncate"):
        rnn_backward(np.ones_like(h), cache, truncate=bad)


def test_truncate_accepts_numpy_int():
    p = make_params(1, 4, 2, 3)
    h, cache = rnn_forward(**p)
    a = rnn_backward(h, cache, truncate=np.int64(2))
    b = rnn_backward(h, cache, truncate=2)
    np.testing.assert_array_equal(a["W_hh"], b["W_hh"])


# ----------------------------------------------------------------------------- float32


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("truncate", [None, 2])
def test_float32_matches_float64(activation, truncate):
    p = make_params(4, 9, 3, 6, activation=activation, seed=21, margin=1e-3)
    R = np.random.default_rng(6).normal(size=(4, 9, 6))
    h64, c64 = rnn_forward(**p, activation=activation)
    g64 = rnn_backward(R, c64, truncate=truncate)
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    h32, c32 = rnn_forward(**p32, activation=activation)
    g32 = rnn_backward(R.astype(np.float32), c32, truncate=truncate)
    assert h32.dtype == np.float32 and c32.a.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-5)
    for n in NAMES:
        assert g32[n].dtype == np.float32
        scale = np.max(np.abs(g64[n])) + 1e-30
        assert np.max(np.abs(g32[n] - g64[n])) / scale < 1e-5, n


def test_mixed_dtypes_promote_to_float64():
    p = make_params(2, 3, 2, 3)
    h, cache = rnn_forward(p["x"].astype(np.float32), p["h0"], p["W_xh"].astype(np.float32), p["W_hh"], p["b_h"])
    assert h.dtype == np.float64
    grads = rnn_backward(np.ones((2, 3, 3), np.float32), cache)
    assert all(g.dtype == np.float64 for g in grads.values())


# ----------------------------------------------------------------------------- extreme inputs


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite(activation, dtype):
    rng = np.random.default_rng(9)
    B, T, D, H = 2, 6, 3, 4
    x = rng.choice([-1e4, 1e4], size=(B, T, D)).astype(dtype)
    W_xh = (rng.normal(size=(D, H)) / 2).astype(dtype)
    W_hh = (rng.normal(size=(H, H)) * 0.5 / np.sqrt(H)).astype(dtype)
    h, cache = rnn_forward(x, None, W_xh, W_hh, np.zeros(H, dtype), activation)
    grads = rnn_backward(rng.normal(size=(B, T, H)).astype(dtype), cache)
    assert np.all(np.isfinite(h))
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    if activation in ("tanh", "sigmoid"):
        assert np.all(np.abs(h) <= 1)


# ----------------------------------------------------------------------------- bad input


def _args(B=2, T=3, D=4, H=5):
    return {"x": np.zeros((B, T, D)), "h0": np.zeros((B, H)), "W_xh": np.zeros((D, H)),
            "W_hh": np.zeros((H, H)), "b_h": np.zeros(H)}


@settings(max_examples=60, deadline=None)
@given(
    dims=st.tuples(*[st.integers(1, 4)] * 4),
    name=st.sampled_from(["h0", "W_xh", "W_hh", "b_h"]),
    axis=st.integers(0, 2),
    delta=st.sampled_from([-1, 1, 2]),
)
def test_wrong_parameter_shape_names_argument(dims, name, axis, delta):
    args = _args(*dims)
    shape = list(args[name].shape)
    axis = axis % len(shape)
    shape[axis] = shape[axis] + delta if shape[axis] + delta >= 1 else shape[axis] + 1
    args[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=name) as exc:
        rnn_forward(**args)
    assert str(tuple(shape)) in str(exc.value)


@settings(max_examples=30, deadline=None)
@given(ndim=st.integers(0, 5).filter(lambda n: n != 3))
def test_x_of_wrong_ndim_names_x(ndim):
    args = _args()
    args["x"] = np.zeros((2,) * ndim)
    with pytest.raises(ValueError, match="x must"):
        rnn_forward(**args)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple).filter(lambda s: s != (2, 3, 5)))
def test_wrong_dh_shape_names_dh(shape):
    _, cache = rnn_forward(**_args())
    with pytest.raises(ValueError, match="dh"):
        rnn_backward(np.zeros(shape), cache)


@pytest.mark.parametrize("name", ["x", "h0", "W_xh", "W_hh", "b_h"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_inputs_name_argument(name, bad):
    args = _args()
    args[name] = args[name].copy()
    args[name].flat[0] = bad
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        rnn_forward(**args)


def test_nonfinite_dh_and_bad_cache():
    h, cache = rnn_forward(**_args())
    dh = np.zeros_like(h)
    dh[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="dh must be finite"):
        rnn_backward(dh, cache)
    with pytest.raises(TypeError, match="cache"):
        rnn_backward(np.zeros_like(h), {"h": h})


def test_non_numeric_and_empty_inputs():
    args = _args()
    args["W_hh"] = "eye"
    with pytest.raises(TypeError, match="W_hh"):
        rnn_forward(**args)
    args = _args(T=0)
    with pytest.raises(ValueError, match="T"):
        rnn_forward(**args)


def test_unknown_activation_in_forward():
    with pytest.raises(ValueError, match="activation.*'gelu'"):
        rnn_forward(**_args(), activation="gelu")


@pytest.mark.parametrize("truncate", [None, 2])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_input_grad_false_skips_only_dx(activation, truncate):
    p = make_params(3, 5, 4, 6, activation=activation, seed=7)
    h, cache = rnn_forward(p["x"], p["h0"], p["W_xh"], p["W_hh"], p["b_h"], activation=activation)
    R = np.random.default_rng(8).standard_normal(h.shape)
    full = rnn_backward(R, cache, truncate=truncate)
    lean = rnn_backward(R, cache, truncate=truncate, input_grad=False)
    assert "x" not in lean and set(full) - set(lean) == {"x"}
    for k in lean:
        np.testing.assert_array_equal(lean[k], full[k])


def test_input_grad_must_be_bool():
    p = make_params(1, 2, 1, 1)
    h, cache = rnn_forward(p["x"], p["h0"], p["W_xh"], p["W_hh"], p["b_h"])
    with pytest.raises(TypeError, match="input_grad"):
        rnn_backward(np.ones_like(h), cache, input_grad=1)


def test_backward_names_a_wrong_cache_and_a_wrong_dh_shape():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4))
    W_xh, W_hh, b_h = rng.normal(size=(4, 5)), rng.normal(size=(5, 5)), np.zeros(5)
    _, cache = rnn_forward(x, None, W_xh, W_hh, b_h)
    with pytest.raises(TypeError, match="cache must be the RNNCache returned by rnn_forward, got dict"):
        rnn_backward(np.zeros((2, 3, 5)), {})
    with pytest.raises(ValueError, match="dh"):
        rnn_backward(np.zeros((2, 4, 5)), cache)
    grads = rnn_backward(np.ones((2, 3, 5), dtype=np.float32), cache)
    assert grads["W_hh"].dtype == np.float64  # dh is taken in the cache's dtype
