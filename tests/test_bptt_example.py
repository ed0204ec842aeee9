"""Tests for seqlib.book.bptt_example: the running example of the BPTT chapter."""

from __future__ import annotations

import numpy as np
import pytest

import seqlib as sl
from seqlib.book.bptt_example import all_gradients, direct_gradients, flow_setup, forward, make_problem


def test_make_problem_shapes_and_draws():
    params, x, targets, weights = make_problem(B=2, T=3, D=4, H=5, V=6, seed=7)
    assert params["W_xh"].shape == (4, 5) and params["W_hh"].shape == (5, 5)
    assert params["W_hy"].shape == (5, 6) and params["h0"].shape == (2, 5)
    assert x.shape == (2, 3, 4) and targets.shape == (2, 3) and weights.shape == (2, 3)
    assert targets.min() >= 0 and targets.max() < 6 and (weights == 1).all()
    assert np.abs(params["h0"]).max() > 0                      # a nonzero h0
    # the draws, in their order, from one generator
    rng = np.random.default_rng(7)
    ref = sl.init_rnn_params(4, 5, 6, rng=rng)
    np.testing.assert_array_equal(params["W_hh"], ref["W_hh"])
    np.testing.assert_array_equal(params["h0"], 0.5 * rng.standard_normal((2, 5)))
    np.testing.assert_array_equal(x, rng.standard_normal((2, 3, 4)))
    # same seed, same problem
    again = make_problem(B=2, T=3, D=4, H=5, V=6, seed=7)
    np.testing.assert_array_equal(again[1], x)


def test_make_problem_spectral_norm_and_scale():
    params, x, _, _ = make_problem(B=4, T=50, D=8, H=6, W_hh_norm=2.0, x_scale=0.1, seed=1)
    assert sl.spectral_norm(params["W_hh"]) == pytest.approx(2.0)
    assert np.std(x) == pytest.approx(0.1, rel=0.1)


@pytest.mark.parametrize("kwargs, err", [({"B": 0}, ValueError), ({"T": 2.5}, TypeError), ({"seed": -1}, ValueError),
                                         ({"W_hh_norm": 0.0}, ValueError), ({"x_scale": -1.0}, ValueError)])
def test_make_problem_rejects_bad_arguments(kwargs, err):
    with pytest.raises(err):
        make_problem(**kwargs)


def test_forward_and_direct_gradients_are_the_loss_and_its_readout_gradients():
    params, x, targets, weights = make_problem()
    loss, state = forward(params, x, targets, weights)
    dh, g = direct_gradients(state, targets, weights)
    assert dh.shape == (3, 6, 5) and set(g) == {"W_hy", "b_y"}
    # dh[:, t-1] is dl_t/dh_t: the gradient with respect to the states h as readout inputs
    h = state[0].h

    def loss_of_h():
        logits, _ = sl.linear_forward(h, params["W_hy"], params["b_y"])
        return float(sl.sequence_loss(logits, targets, weights))

    assert sl.relative_error(dh, sl.numerical_gradient(loss_of_h, h)) < 1e-8
    assert loss == pytest.approx(loss_of_h())


def test_all_gradients_pass_the_gradient_check():
    params, x, targets, weights = make_problem(B=2, T=4, D=3, H=4, V=5)
    for activation in ("tanh", "linear"):
        grads = all_gradients(params, x, targets, weights, activation)
        assert set(grads) == {"W_hy", "b_y", "W_xh", "W_hh", "b_h", "h0", "x"}
        errors = sl.gradcheck(lambda: forward(params, x, targets, weights, activation)[0],
                              {**params, "x": x}, grads)
        assert max(errors.values()) < 1e-7


def test_forward_rejects_bad_arguments():
    params, x, targets, weights = make_problem()
    with pytest.raises(ValueError, match="lacks"):
        forward({k: v for k, v in params.items() if k != "h0"}, x, targets, weights)
    with pytest.raises(ValueError, match="activation"):
        forward(params, x, targets, weights, activation="softplus")
    with pytest.raises(TypeError, match="state"):
        direct_gradients((1, 2, 3), targets, weights)


def test_flow_setup():
    dh, cache, p = flow_setup(0.7, T=10, H=6, B=2, D=3, V=4)
    assert dh.shape == (2, 10, 6) and not p["h0"].any()
    np.testing.assert_allclose(np.linalg.svd(p["W_hh"], compute_uv=False), 0.7)
    # the same network as make_problem's, with h0 = 0
    q, x, _, _ = make_problem(2, 10, 3, 6, 4, seed=1, W_hh_norm=0.7, x_scale=0.1)
    np.testing.assert_array_equal(q["W_hh"], p["W_hh"])
    h, _ = sl.rnn_forward(x, None, q["W_xh"], q["W_hh"], q["b_h"])
    np.testing.assert_array_equal(h, cache.h)
    with pytest.raises(ValueError, match="sigma"):
        flow_setup(-1.0)
