"""Tests for seqlib.training.gradflow_gated (G[t, k] and state Jacobians of gated cells) and seqlib.training.gated_train."""

from __future__ import annotations

import numpy as np
import pytest

import seqlib as sl
from seqlib.training.gated_train import ARCHS, init_last_state_model, last_state_loss_and_grads, train_last_state
from seqlib.book.gradcheck import gradcheck
from seqlib.training.gradflow_gated import (gru_loss_to_state_norms, lstm_cell_path_products, lstm_jacobian_products,
                                   lstm_loss_to_state_norms, lstm_state_jacobian)
from seqlib.cells.gru import gru_backward, gru_forward
from seqlib.cells.lstm import lstm_backward, lstm_forward

B, T, D, H = 2, 8, 3, 4


def lstm_params(seed=0):
    rng = np.random.default_rng(seed)
    return dict(W_x=rng.normal(size=(D, 4 * H)) * .5, W_h=rng.normal(size=(H, 4 * H)) * .5, b=rng.normal(size=4 * H) * .5)


def gru_params(seed=0):
    rng = np.random.default_rng(seed)
    return dict(W_x=rng.normal(size=(D, 3 * H)) * .5, W_h=rng.normal(size=(H, 3 * H)) * .5,
                b_x=rng.normal(size=3 * H) * .5, b_h=rng.normal(size=3 * H) * .5)


@pytest.mark.parametrize("truncate", [None, 3])
def test_lstm_G_matches_backward_from_each_state(truncate):
    """dℓ_t/dh_k and dℓ_t/dc_k = the h0, c0 gradients of a run started at (h_k, c_k) with the loss at t only."""
    rng = np.random.default_rng(1)
    x, dh = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, H))
    p = lstm_params()
    _, cache = lstm_forward(x, None, None, **p)
    G_h, G_c = lstm_loss_to_state_norms(dh, cache, truncate)
    k_ = truncate or T
    for t in range(1, T + 1):
        for k in range(1, T + 1):
            if k > t or (k - 1) // k_ != (t - 1) // k_:
                assert G_h[t - 1, k - 1] == 0 and G_c[t - 1, k - 1] == 0
                continue
            if k == t:
                gh, gc = dh[:, t - 1], np.zeros((B, H))
            else:
                R = np.zeros((B, t - k, H))
                R[:, -1] = dh[:, t - 1]
                _, c2 = lstm_forward(x[:, k:t], cache.h[:, k - 1], cache.c[:, k - 1], **p)
                g = lstm_backward(R, c2)
                gh, gc = g["h0"], g["c0"]
            assert G_h[t - 1, k - 1] == pytest.approx(np.linalg.norm(gh), rel=1e-12, abs=1e-15)
            assert G_c[t - 1, k - 1] == pytest.approx(np.linalg.norm(gc), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_gru_G_matches_backward_from_each_state(reset):
    rng = np.random.default_rng(2)
    x, dh = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, H))
    p = gru_params()
    _, cache = gru_forward(x, None, **p, reset=reset)
    G = gru_loss_to_state_norms(dh, cache)
    for t in range(2, T + 1):
        for k in range(1, t):
            R = np.zeros((B, t - k, H))
            R[:, -1] = dh[:, t - 1]
            _, c2 = gru_forward(x[:, k:t], cache.h[:, k - 1], **p, reset=reset)
            assert G[t - 1, k - 1] == pytest.approx(np.linalg.norm(gru_backward(R, c2)["h0"]), rel=1e-12)
    np.testing.assert_allclose(np.diag(G), np.linalg.norm(dh, axis=(0, 2)))
    assert not np.triu(G, 1).any()


def test_state_jacobian_matches_central_differences_and_cell_block_is_diag_f():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(B, T, D))
    p = lstm_params(4)
    _, cache = lstm_forward(x, None, None, **p)
    t, b = 5, 1
    J = lstm_state_jacobian(cache, t, b)
    s0 = np.concatenate([cache.h[b, t - 2], cache.c[b, t - 2]])

    def step(s):
        _, c = lstm_forward(x[b:b + 1, t - 1:t], s[None, :H], s[None, H:], **p)
        return np.concatenate([c.h[0, 0], c.c[0, 0]])

    eps = 1e-6
    Jn = np.stack([(step(s0 + eps * e) - step(s0 - eps * e)) / (2 * eps) for e in np.eye(2 * H)], axis=1)
    np.testing.assert_allclose(J, Jn, atol=1e-8)
    np.testing.assert_allclose(J[H:, H:], np.diag(cache.gate("f")[b, t - 1]), atol=1e-15)
    P = lstm_jacobian_products(cache, b)
    np.testing.assert_allclose(P[T], np.eye(2 * H))
    np.testing.assert_allclose(P[T - 2], lstm_state_jacobian(cache, T, b) @ lstm_state_jacobian(cache, T - 1, b),
                               atol=1e-14)
    F = lstm_cell_path_products(cache, b)
    np.testing.assert_allclose(F[T - 2], cache.gate("f")[b, -1] * cache.gate("f")[b, -2])
    # with W_h = 0 the cell path is the only path from c_k to c_T: the products agree
    q = dict(p, W_h=np.zeros_like(p["W_h"]))
    _, c0 = lstm_forward(x, None, None, **q)
    np.testing.assert_allclose(lstm_jacobian_products(c0, 0)[0][H:, H:], np.diag(lstm_cell_path_products(c0, 0)[0]),
                               atol=1e-15)


def test_bad_arguments():
    _, cache = lstm_forward(np.zeros((B, T, D)), None, None, **lstm_params())
    with pytest.raises(ValueError, match="t must be an int in"):
        lstm_state_jacobian(cache, 0)
    with pytest.raises(ValueError, match="batch_index"):
        lstm_jacobian_products(cache, B)
    with pytest.raises(TypeError, match="LSTMCache"):
        lstm_loss_to_state_norms(np.zeros((B, T, H)), "cache")
    with pytest.raises(ValueError, match="dh must have shape"):
        lstm_loss_to_state_norms(np.zeros((B, T, H + 1)), cache)
    with pytest.raises(TypeError, match="GRUCache"):
        gru_loss_to_state_norms(np.zeros((B, T, H)), cache)


@pytest.mark.parametrize("arch", ARCHS)
def test_last_state_loss_and_grads_gradcheck(arch):
    p = init_last_state_model(arch, 2, 3, rng=0)
    x, y = sl.adding_problem(3, 6, rng=1)
    _, grads = last_state_loss_and_grads(p, x, y)
    errs = gradcheck(lambda: last_state_loss_and_grads(p, x, y)[0], p, grads, eps=1e-5)
    assert max(errs.values()) < 1e-7, errs


@pytest.mark.parametrize("arch", ARCHS)
def test_training_lowers_the_heldout_mse_on_a_short_adding_problem(arch):
    ev = sl.adding_problem(200, 5, rng=9)
    p = init_last_state_model(arch, 2, 8, rng=0)
    r = train_last_state(p, lambda rng: sl.adding_problem(32, 5, rng=rng), 300, ev, rng=1, eval_every=100)
    assert r.eval_mse[-1] < 0.5 * r.eval_mse[0] and r.eval_mse[-1] < 0.05, r.eval_mse


def test_init_last_state_model_checks():
    with pytest.raises(ValueError, match="arch"):
        init_last_state_model("transformer", 2, 3, rng=0)
    p = init_last_state_model("lstm", 2, 3, rng=0, forget_bias=2.0)
    np.testing.assert_array_equal(p["b"][3:6], 2.0)
    with pytest.raises(ValueError, match="params must hold"):
        last_state_loss_and_grads({"W_y": 1}, np.zeros((1, 2, 2)), np.zeros((1, 1)))


def test_state_gradient_norms_are_the_backward_pass_deltas():
    """Summed over all losses: ||dL/dh_1|| (h_1, c_1 as state) equals the h0-gradient of the run from step 1."""
    from seqlib.training.gradflow_gated import gru_state_gradient_norms, lstm_state_gradient_norms
    rng = np.random.default_rng(5)
    x, dh = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, H))
    p = lstm_params()
    _, cache = lstm_forward(x, None, None, **p)
    n_h, n_c = lstm_state_gradient_norms(dh, cache)
    _, c2 = lstm_forward(x[:, 1:], cache.h[:, 0], cache.c[:, 0], **p)
    g = lstm_backward(dh[:, 1:], c2)
    assert n_h[0] == pytest.approx(np.linalg.norm(g["h0"] + dh[:, 0]), rel=1e-12)
    assert n_c[0] == pytest.approx(np.linalg.norm(g["c0"]), rel=1e-12)
    q = gru_params()
    _, gc = gru_forward(x, None, **q)
    _, g2 = gru_forward(x[:, 1:], gc.h[:, 0], **q)
    assert gru_state_gradient_norms(dh, gc)[0] == pytest.approx(
        np.linalg.norm(gru_backward(dh[:, 1:], g2)["h0"] + dh[:, 0]), rel=1e-12)


# ----------------------------------------------------------------------------- the gated gradient-flow widget


def test_gated_flow_data_is_seqlibs_and_the_forget_bias_opens_the_lstm():
    from seqlib.widgets.gradient_flow import gated_flow_data, gradient_flow_data
    d = gated_flow_data("rnn", 1.0, 3.0, None)
    np.testing.assert_array_equal(d.G, gradient_flow_data(1.0, "tanh", 60, None).G)
    reach = [(lambda g: g.G[-1, 0] / g.G[-1, -1])(gated_flow_data("lstm", 1.0, fb, None)) for fb in (-2, 0, 1, 3)]
    assert all(a < b for a, b in zip(reach, reach[1:])), reach
    g8 = gated_flow_data("gru", 1.0, 0.0, 8)
    assert g8.G[59, 55] == 0 and g8.G[59, 56] > 0 and g8.gate_mean == pytest.approx(0.5, abs=0.01)
    lstm = gated_flow_data("lstm", 0.5, 1.0, None)
    assert lstm.forget_bias == 1.0 and lstm.gate_mean == pytest.approx(1 / (1 + np.exp(-1)), abs=0.01)
    with pytest.raises(ValueError, match="arch"):
        gated_flow_data("transformer", 1.0)
    with pytest.raises(ValueError, match="forget_bias"):
        gated_flow_data("lstm", 1.0, np.inf)
