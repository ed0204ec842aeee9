"""Tests for seqlib.workspace and the fast paths that use it.

A Workspace must change *where* results live, never *what* they are: with and
without one, every function gives bit-identical results.  Results taken from
a workspace follow numpy's ``out=`` contract (valid until the next call with
the same workspace, which overwrites them); results without one are
independent arrays.  Also covered: the time-major layout kept from the RNN
through readout and loss, the fused ``sequence_loss_and_grad`` and the BLAS
fast path of ``all_finite``.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib._validate import all_finite, as_float_array
from seqlib.book.gradcheck import gradcheck
from seqlib.cells.init import init_rnn_params
from seqlib.loss import sequence_loss, sequence_loss_and_grad, sequence_loss_backward
from seqlib.cells.readout import linear_backward, linear_forward
from seqlib.cells.rnn import rnn_backward, rnn_forward
from seqlib.training.train import RNN_PARAM_NAMES, loss_and_grads
from seqlib.workspace import Workspace

FLAG_NAMES = ("average_across_timesteps", "average_across_batch", "sum_over_timesteps", "sum_over_batch")
COMBOS = list(itertools.product([False, True], repeat=4))
REJECTED = [c for c in COMBOS if (c[0] and c[2]) or (c[1] and c[3]) or (c[1] and c[2]) or (c[3] and c[0])]
VALID = [c for c in COMBOS if c not in REJECTED]
assert len(VALID) == 7 and len(REJECTED) == 9  # tfa's four pairwise rules reject 9 of the 16


def flags(combo) -> dict:
    return dict(zip(FLAG_NAMES, combo))


def rnn_problem(B=3, T=5, D=2, H=4, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    W_hh = rng.normal(size=(H, H))
    W_hh *= 0.9 / np.linalg.norm(W_hh, 2)
    arrays = (rng.normal(size=(B, T, D)), rng.normal(size=(B, H)) * 0.5,
              rng.normal(size=(D, H)) / np.sqrt(D), W_hh, rng.normal(size=H) * 0.5, rng.normal(size=(B, T, H)))
    return tuple(a.astype(dtype) for a in arrays)  # x, h0, W_xh, W_hh, b_h, dh


def loss_problem(B=3, T=4, V=5, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(B, T, V)) * 2).astype(dtype)
    y = rng.integers(0, V, size=(B, T))
    w = rng.uniform(0.2, 1.5, size=(B, T)) * (rng.random((B, T)) > 0.3)  # fractional and zero weights
    return z, y, w


def time_major(a):
    """A (B, T, ...) view of a C-contiguous (T, B, ...) copy, as rnn_forward returns its states."""
    return np.ascontiguousarray(a.swapaxes(0, 1)).swapaxes(0, 1)


def axis_order(a):
    """The axes of ``a`` from slowest- to fastest-varying in memory."""
    return tuple(np.argsort([-st for st in a.strides], kind="stable"))


def assert_same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def assert_loss_close(loss, ref, dtype):
    """The fused loss is sequence_loss up to rounding: its sum of exponentials is a BLAS product, not np.sum."""
    assert loss.dtype == ref.dtype and loss.shape == ref.shape
    np.testing.assert_allclose(loss, ref, rtol=1e-13 if dtype == np.float64 else 1e-6, atol=0)


# ----------------------------------------------------------------------------- the Workspace class


def test_empty_reuses_while_shape_and_dtype_stay():
    ws = Workspace()
    assert ws.nbytes == 0 and repr(ws) == "Workspace(0 arrays, 0.0 MiB)"
    a = ws.empty("k", (3, 2), np.float64)
    assert ws.empty("k", [3, 2], np.dtype("float64")) is a and ws.nbytes == 48
    b = ws.empty("k", (2, 3), np.float64)  # same size, new shape: a new array
    assert b is not a and b.shape == (2, 3) and ws.nbytes == 48
    c = ws.empty("k", (2, 3), np.float32)
    assert c is not b and c.dtype == np.float32 and ws.nbytes == 24
    d = ws.empty("other", (2**20,), np.float64)  # keys are independent
    assert ws.empty("k", (2, 3), np.float32) is c and not np.shares_memory(c, d)
    assert ws.nbytes == 24 + 2**23 and repr(ws) == "Workspace(2 arrays, 8.0 MiB)"
    ws.clear()
    assert ws.nbytes == 0 and repr(ws) == "Workspace(0 arrays, 0.0 MiB)"
    assert ws.empty("k", (2, 3), np.float32) is not c


def _calls():
    x, h0, W_xh, W_hh, b_h, dh = rnn_problem()
    _, cache = rnn_forward(x, h0, W_xh, W_hh, b_h)
    out, ro = linear_forward(dh, W_xh.T, b_h[:2])
    z, y, w = loss_problem()
    params = init_rnn_params(2, 4, 5, rng=0)
    return {
        "rnn_forward": lambda ws: rnn_forward(x, h0, W_xh, W_hh, b_h, workspace=ws),
        "rnn_backward": lambda ws: rnn_backward(dh, cache, workspace=ws),
        "linear_forward": lambda ws: linear_forward(dh, W_xh.T, b_h[:2], workspace=ws),
        "linear_backward": lambda ws: linear_backward(out, ro, workspace=ws),
        "sequence_loss_and_grad": lambda ws: sequence_loss_and_grad(z, y, w, workspace=ws),
        "loss_and_grads": lambda ws: loss_and_grads(params, np.ones((3, 4, 2)), y, w, workspace=ws),
    }


@pytest.mark.parametrize("name", list(_calls()))
@pytest.mark.parametrize("bad", [{}, "ws", np.empty(3)])
def test_workspace_argument_is_checked(name, bad):
    call = _calls()[name]
    call(None)
    call(Workspace())
    with pytest.raises(TypeError, match="workspace"):
        call(bad)


# ----------------------------------------------------------------------------- same bits, reused memory


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("truncate", [None, 2])
@pytest.mark.parametrize("input_grad", [True, False])
def test_rnn_same_results_with_workspace(dtype, activation, truncate, input_grad):
    ws = Workspace()
    results = []
    for seed in (0, 1):  # two different problems through the same workspace
        x, h0, W_xh, W_hh, b_h, dh = rnn_problem(dtype=dtype, seed=seed)
        h_ref, c_ref = rnn_forward(x, h0, W_xh, W_hh, b_h, activation)
        g_ref = rnn_backward(dh, c_ref, truncate, input_grad=input_grad)
        h, c = rnn_forward(x, h0, W_xh, W_hh, b_h, activation, workspace=ws)
        g = rnn_backward(dh, c, truncate, input_grad=input_grad, workspace=ws)
        for got, want in ((h, h_ref), (c.a, c_ref.a), (c.hs, c_ref.hs), (c.x_rows, c_ref.x_rows)):
            assert_same(got, want)
        assert h.dtype == dtype and sorted(g) == sorted(g_ref) and ("x" in g) == input_grad
        for k in g:
            assert_same(g[k], g_ref[k])
        results.append((h, h.copy(), g, {k: v.copy() for k, v in g.items()}, h_ref))
    (h1, h1_copy, g1, g1_copy, h1_ref), (h2, _, g2, _, _) = results
    # numpy's out= contract: the second call reused the first call's memory and overwrote its results ...
    assert np.shares_memory(h1, h2) and np.array_equal(h1, h2) and not np.array_equal(h1, h1_copy)
    if input_grad:
        assert np.shares_memory(g1["x"], g2["x"]) and not np.array_equal(g1["x"], g1_copy["x"])
    # ... but parameter gradients are always fresh, and results without a workspace are independent.
    for k in ("h0", "W_xh", "W_hh", "b_h"):
        assert not np.shares_memory(g1[k], g2[k]) and np.array_equal(g1[k], g1_copy[k])
    assert np.array_equal(h1_ref, h1_copy)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("truncate", [None, 2, 3])
@pytest.mark.parametrize("layout", ["time_major", "batch_major"])
def test_overwrite_dh(activation, truncate, layout):
    x, h0, W_xh, W_hh, b_h, dh = rnn_problem(T=7)
    _, cache = rnn_forward(x, h0, W_xh, W_hh, b_h, activation)
    ref = rnn_backward(dh, cache, truncate)
    d = time_major(dh) if layout == "time_major" else dh.copy()
    got = rnn_backward(d, cache, truncate, overwrite_dh=True)
    for k in ref:
        assert_same(got[k], ref[k])
    if layout == "time_major":  # overwritten with the gradient w.r.t. the pre-activations, g_t = δ_t ⊙ f'(a_t)
        assert not np.array_equal(d, dh)
        assert np.allclose(d[:, 0] @ W_hh.T, ref["h0"], rtol=1e-12) and np.allclose(d.sum((0, 1)), ref["b_h"])
    else:  # a batch-major dh is copied to time-major first, and the copy is overwritten, not dh
        assert_same(d, dh)
    d = time_major(dh)
    rnn_backward(d, cache, truncate)  # the default never writes into dh
    assert_same(d, dh)
    with pytest.raises(TypeError, match="overwrite_dh must be a bool"):
        rnn_backward(dh, cache, overwrite_dh=1)


_SHARED_WS = Workspace()  # shared by all examples of the next test


@given(B=st.integers(1, 4), T=st.integers(1, 6), D=st.integers(1, 3), H=st.integers(1, 5),
       truncate=st.sampled_from([None, 1, 2, 3, 10]), seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_rnn_workspace_any_shape(B, T, D, H, truncate, seed):
    ws = _SHARED_WS  # shapes change from example to example: the workspace must reallocate
    x, h0, W_xh, W_hh, b_h, dh = rnn_problem(B, T, D, H, seed=seed)
    h_ref, c_ref = rnn_forward(x, None, W_xh, W_hh, b_h)
    g_ref = rnn_backward(dh, c_ref, truncate)
    h, c = rnn_forward(x, None, W_xh, W_hh, b_h, workspace=ws)
    g = rnn_backward(dh, c, truncate, workspace=ws)
    assert_same(h, h_ref)
    for k in g_ref:
        assert_same(g[k], g_ref[k])


def test_rnn_state_carried_into_the_next_call_with_the_same_workspace():
    # h0 of the second chunk is a view of the first chunk's states, i.e. of the workspace's own buffer.
    x, h0, W_xh, W_hh, b_h, _ = rnn_problem(B=2, T=6, D=3, H=4, seed=11)
    ws = Workspace()
    h_ref, _ = rnn_forward(x, h0, W_xh, W_hh, b_h)
    h1, _ = rnn_forward(x[:, :3], h0, W_xh, W_hh, b_h, workspace=ws)
    first = h1.copy()
    h2, c2 = rnn_forward(x[:, 3:], h1[:, -1], W_xh, W_hh, b_h, workspace=ws)
    np.testing.assert_allclose(np.concatenate([first, h2], axis=1), h_ref, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(c2.h0, first[:, -1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_readout_and_loss_same_results_with_workspace(dtype):
    ws = Workspace()
    firsts = []
    for seed in (0, 1):
        x, h0, W_xh, W_hh, b_h, _ = rnn_problem(dtype=dtype, seed=seed)
        h, _ = rnn_forward(x, h0, W_xh, W_hh, b_h)
        W_hy, b_y = W_xh.T.copy(), b_h[:2].copy()
        z_ref, ro_ref = linear_forward(h, W_hy, b_y)
        z, ro = linear_forward(h, W_hy, b_y, workspace=ws)
        assert_same(z, z_ref)
        y = np.random.default_rng(seed).integers(0, 2, size=h.shape[:2])
        w = np.ones(y.shape, dtype)
        l_ref, dz_ref = sequence_loss_and_grad(z, y, w)
        loss, dz = sequence_loss_and_grad(z, y, w, workspace=ws)
        assert_same(loss, l_ref)
        assert_same(dz, dz_ref)
        g_ref = linear_backward(dz, ro_ref)
        g = linear_backward(dz, ro, workspace=ws)
        for k in ("h", "W", "b"):
            assert_same(g[k], g_ref[k])
        firsts.append((z, dz, g, z.copy(), dz.copy(), {k: v.copy() for k, v in g.items()}, z_ref))
    (z1, dz1, g1, z1c, dz1c, g1c, z1_ref), (z2, dz2, g2, *_) = firsts
    for a, b, a_copy in ((z1, z2, z1c), (dz1, dz2, dz1c), (g1["h"], g2["h"], g1c["h"])):
        assert np.shares_memory(a, b) and np.array_equal(a, b) and not np.array_equal(a, a_copy)
    for k in ("W", "b"):  # parameter gradients are fresh
        assert not np.shares_memory(g1[k], g2[k]) and np.array_equal(g1[k], g1c[k])
    assert np.array_equal(z1_ref, z1c)


# ----------------------------------------------------------------------------- layout


def test_time_major_layout_flows_through_readout_loss_and_back():
    x, h0, W_xh, W_hh, b_h, _ = rnn_problem(B=3, T=5, D=2, H=4)
    h, cache = rnn_forward(x, h0, W_xh, W_hh, b_h)
    assert h.base is not None and np.shares_memory(h, cache.hs)
    assert all(h[:, t].flags.c_contiguous for t in range(h.shape[1]))
    assert h.transpose(1, 0, 2).flags.c_contiguous and not h.flags.c_contiguous
    W, b = np.random.default_rng(3).normal(size=(4, 6)), np.arange(6.0)
    z, ro = linear_forward(h, W, b)
    assert np.shares_memory(ro.h2, h) and ro.order == (1, 0)  # no copy of h
    assert z.transpose(1, 0, 2).flags.c_contiguous  # logits time-major too
    np.testing.assert_allclose(z, np.ascontiguousarray(h) @ W + b, rtol=1e-13, atol=1e-13)
    y = np.random.default_rng(4).integers(0, 6, size=(3, 5))
    _, dz = sequence_loss_and_grad(z, y, np.ones((3, 5)))
    assert dz.strides == z.strides
    g = linear_backward(dz, ro)
    assert g["h"].strides == h.strides
    # dout in another layout gives the same gradients (one copy into h's row order)
    g_c = linear_backward(np.ascontiguousarray(dz), ro)
    for k in g:
        assert_same(g_c[k], g[k])


@pytest.mark.parametrize("shape", [(7, 4), (3, 5, 4), (2, 3, 2, 4)])
@pytest.mark.parametrize("view", ["c", "time_major", "strided", "fortran"])
def test_readout_matches_plain_formulas(shape, view):
    rng = np.random.default_rng(5)
    base = rng.normal(size=shape[:1] + (2 * shape[1],) + shape[2:]) if view == "strided" else rng.normal(size=shape)
    h = {"c": base, "time_major": time_major(base), "strided": base[:, ::2], "fortran": np.asfortranarray(base)}[view]
    assert h.shape == shape and (view != "strided" or not h.flags.c_contiguous)
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    dout = rng.normal(size=(*shape[:-1], 3))
    z, cache = linear_forward(h, W, b)
    g = linear_backward(dout, cache)
    hf, df = h.reshape(-1, 4), dout.reshape(-1, 3)
    np.testing.assert_allclose(z, h @ W + b, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(g["h"], dout @ W.T, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(g["W"], hf.T @ df, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(g["b"], df.sum(axis=0), rtol=1e-13, atol=1e-13)
    if h.strides[-1] == h.itemsize and view != "strided":  # rows of h lie in memory in some order: no copy
        assert np.shares_memory(cache.h2, h) and g["h"].strides == h.strides and axis_order(z) == axis_order(h)


# ----------------------------------------------------------------------------- the fused loss


@pytest.mark.parametrize("combo", VALID, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weights", ["mixed", "ones", "zeros"])
def test_sequence_loss_and_grad_matches_separate_functions(combo, dtype, weights):
    z, y, w = loss_problem(dtype=dtype)
    w = {"mixed": w.astype(dtype), "ones": np.ones_like(w, dtype), "zeros": np.zeros_like(w, dtype)}[weights]
    views = {"c": z, "time_major": time_major(z), "fortran": np.asfortranarray(z),
             "strided": np.repeat(z, 2, axis=1)[:, ::2]}
    for view, logits in views.items():
        loss, dz = sequence_loss_and_grad(logits, y, w, **flags(combo))
        assert_loss_close(loss, sequence_loss(logits, y, w, **flags(combo)), dtype)
        ref = sequence_loss_backward(logits, y, w, **flags(combo))
        assert dz.dtype == ref.dtype == dtype
        if view in ("c", "time_major"):  # rows in memory order: dz has the layout of the logits
            assert axis_order(dz) == axis_order(logits) and dz.strides == logits.strides
        else:  # no order of the leading axes makes these contiguous: rows of V contiguous numbers
            assert any(dz.transpose(*p, 2).flags.c_contiguous for p in ((0, 1), (1, 0)))
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(dz, ref, rtol=rtol, atol=rtol * 1e-3)
        if weights == "zeros":
            assert not np.any(loss) and not np.any(dz) and np.all(np.isfinite(dz))
        else:
            assert np.all(dz[w == 0] == 0) and np.any(dz)


@pytest.mark.parametrize("combo", VALID, ids=str)
def test_sequence_loss_and_grad_float32_logits_float64_weights(combo):
    z, y, w = loss_problem(dtype=np.float32)
    loss, dz = sequence_loss_and_grad(z, y, w, **flags(combo))
    assert_loss_close(loss, sequence_loss(z, y, w, **flags(combo)), np.float32)
    assert dz.dtype == np.float64
    np.testing.assert_allclose(dz, sequence_loss_backward(z, y, w, **flags(combo)), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("combo", REJECTED, ids=str)
def test_sequence_loss_and_grad_rejects_like_sequence_loss(combo):
    z, y, w = loss_problem()
    with pytest.raises(ValueError) as expected:
        sequence_loss(z, y, w, **flags(combo))
    with pytest.raises(ValueError) as got:
        sequence_loss_and_grad(z, y, w, **flags(combo), workspace=Workspace())
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("combo", VALID, ids=str)
def test_sequence_loss_and_grad_gradcheck(combo):
    z, y, w = loss_problem(B=2, T=3, V=4, seed=7)
    _, dz = sequence_loss_and_grad(z, y, w, **flags(combo))
    errs = gradcheck(lambda: float(np.sum(sequence_loss_and_grad(z, y, w, **flags(combo))[0])), {"z": z}, {"z": dz})
    assert errs["z"] < 1e-7, errs


# ----------------------------------------------------------------------------- all_finite


LARGE = (300, 257)  # 77100 entries: above the 65536 threshold of the BLAS fast path


def _large_arrays(dtype):
    a = np.random.default_rng(8).normal(size=LARGE).astype(dtype)
    b = np.random.default_rng(9).normal(size=(40, 50, 60)).astype(dtype)
    return {"c": a, "transposed": a.T, "3d_transposed": b.transpose(2, 0, 1), "sliced": a[:, ::2],
            "reversed": a[::-1], "fortran": np.asfortranarray(a), "small": a[:3, :4]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_true_for_finite_arrays(dtype):
    for name, arr in _large_arrays(dtype).items():
        assert all_finite(arr) is True, name
    assert all_finite(np.zeros(0, dtype)) and all_finite(np.float64(3.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("view", ["c", "transposed", "3d_transposed", "sliced", "reversed", "fortran", "small"])
@pytest.mark.parametrize("where", ["first", "middle", "last", "random"])
def test_all_finite_finds_a_single_bad_value(dtype, bad, view, where):
    arr = _large_arrays(dtype)[view]  # fresh arrays: writing into a view is fine
    n = arr.size
    i = {"first": 0, "middle": n // 2, "last": n - 1, "random": int(np.random.default_rng(10).integers(n))}[where]
    arr[np.unravel_index(i, arr.shape)] = bad
    assert all_finite(arr) is False


@pytest.mark.parametrize("view", [lambda a: a, np.transpose, lambda a: a[:, ::2]])
def test_all_finite_huge_finite_values_whose_row_sums_overflow(view):
    arr = view(np.full(LARGE, 3e38, np.float32))
    arr[0, 1] = -3e38  # also the inf - inf of a row sum
    big = np.full(LARGE, 1.7e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from the overflowing fast path
        assert all_finite(arr) is True
        assert all_finite(big) is True and all_finite(big.T) is True


def test_as_float_array_names_the_argument_for_nonfinite_input():
    x = np.zeros(LARGE)
    x[5, 7] = np.nan
    with pytest.raises(ValueError, match=r"^W_hy must be finite, got 1 NaN"):
        as_float_array(x, "W_hy")
    with pytest.raises(ValueError, match=r"^x must be finite"):
        rnn_forward(x.reshape(300, 257, 1), None, np.ones((1, 2)), np.eye(2), np.zeros(2))


# ----------------------------------------------------------------------------- loss_and_grads


@pytest.mark.parametrize("loss, truncate", [("ce", None), ("ce", 2), ("ce", (2, 3)), ("mse", None)])
def test_loss_and_grads_with_workspace(loss, truncate):
    params = init_rnn_params(3, 6, 4, rng=0)
    ws = Workspace()
    runs = []
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(5, 7, 3))
        if loss == "ce":
            args = (rng.integers(0, 4, size=(5, 7)), rng.uniform(0, 1, size=(5, 7)))
        else:
            args = (rng.normal(size=(5, 4)),)
        v_ref, g_ref = loss_and_grads(params, x, *args, loss=loss, truncate=truncate)
        v, g = loss_and_grads(params, x, *args, loss=loss, truncate=truncate, workspace=ws)
        assert v == v_ref and sorted(g) == sorted(RNN_PARAM_NAMES)
        for k in RNN_PARAM_NAMES:
            assert_same(g[k], g_ref[k])
        runs.append((g, {k: a.copy() for k, a in g.items()}))
    (g1, g1_copy), (g2, _) = runs
    assert ws.nbytes > 0
    for k in RNN_PARAM_NAMES:  # the second call left the first call's gradients alone
        assert np.array_equal(g1[k], g1_copy[k]) and not np.array_equal(g1[k], g2[k])
        assert not any(np.shares_memory(g1[k], a) for a in ws._arrays.values())
