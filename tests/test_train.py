import numpy as np
import pytest

import seqlib.training.train as tr
from seqlib.training.bptt import rnn_backward_tbptt
from seqlib.training.clip import global_norm
from seqlib.training.data import REBER_BOS, REBER_EOS, REBER_VOCAB, adding_problem, decode_ids, embedded_reber_strings, lm_batch
from seqlib.book.gradcheck import numerical_gradient, relative_error
from seqlib.cells.init import init_rnn_params
from seqlib.training.optim import SGD, Adagrad, Adam
from seqlib.cells.rnn import rnn_backward, rnn_forward

V = len(REBER_VOCAB)


def _reber_batches(rng, B=8):
    return lm_batch(embedded_reber_strings(B, rng))


def _adding_batches(rng, B=16, T=6):
    return adding_problem(B, T, rng=rng)


def _params(D=V, H=8, Vout=V, seed=0):
    return init_rnn_params(D, H, Vout, rng=seed)


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_gradients_match_finite_differences(loss):
    if loss == "ce":
        x, y, w = lm_batch(embedded_reber_strings(3, rng=1))
        p = _params(H=5)
        args = (x, y, w)
    else:
        x, y = adding_problem(3, 5, rng=1)
        p = _params(D=2, H=5, Vout=1)
        args = (x, y)
    _, grads = tr.loss_and_grads(p, *args, loss=loss)
    for k in tr.RNN_PARAM_NAMES:
        num = numerical_gradient(lambda: tr.evaluate_rnn(p, *args, loss=loss), p[k])
        assert relative_error(grads[k], num) < 1e-7, k


def test_truncation_reaches_the_right_backward():
    x, y, w = lm_batch(embedded_reber_strings(4, rng=2))
    p = _params()
    h, cache = rnn_forward(x, None, p["W_xh"], p["W_hh"], p["b_h"])
    _, g_full = tr.loss_and_grads(p, x, y, w)
    _, g_k = tr.loss_and_grads(p, x, y, w, truncate=3)
    _, g_tb = tr.loss_and_grads(p, x, y, w, truncate=(2, 5))
    # the readout gradient does not depend on truncation; the recurrent one does
    np.testing.assert_array_equal(g_full["W_hy"], g_k["W_hy"])
    assert relative_error(g_full["W_hh"], g_k["W_hh"]) > 1e-3
    # compare with seqlib's backward functions fed the same dh
    out = h @ p["W_hy"] + p["b_y"]
    from seqlib.loss import sequence_loss_backward

    dh = sequence_loss_backward(out, y, w) @ p["W_hy"].T
    assert relative_error(g_k["W_hh"], rnn_backward(dh, cache, truncate=3)["W_hh"]) < 1e-12
    assert relative_error(g_tb["W_hh"], rnn_backward_tbptt(dh, cache, 2, 5)["W_hh"]) < 1e-12
    assert relative_error(g_full["W_hh"], rnn_backward(dh, cache)["W_hh"]) < 1e-12


def test_truncation_calls_the_right_function(monkeypatch):
    calls = []
    real_rb, real_tb = tr._rnn_backward_core, tr._rnn_backward_tbptt_core  # the cores: train_rnn checked already
    monkeypatch.setattr(tr, "_rnn_backward_core", lambda dh, c, truncate=None, *a: calls.append(("chunked", truncate)) or real_rb(dh, c, truncate, *a))
    monkeypatch.setattr(tr, "_rnn_backward_tbptt_core", lambda dh, c, k1, k2: calls.append(("tbptt", (k1, k2))) or real_tb(dh, c, k1, k2))
    p = _params()
    tr.train_rnn(p, _reber_batches, 1, optimizer=SGD(0.1), rng=0)
    tr.train_rnn(p, _reber_batches, 1, optimizer=SGD(0.1), rng=0, truncate=4)
    tr.train_rnn(p, _reber_batches, 1, optimizer=SGD(0.1), rng=0, truncate=(3, 6))
    assert calls == [("chunked", None), ("chunked", 4), ("tbptt", (3, 6))]


def test_training_reduces_loss_ce_and_mse():
    p = _params(H=16)
    ev = _reber_batches(np.random.default_rng(99), B=64)
    hist = tr.train_rnn(p, _reber_batches, 60, optimizer=Adam(0.03), rng=0, eval_data=ev, eval_every=20)
    assert hist.eval_loss[-1] < 0.5 * hist.eval_loss[0]
    assert list(hist.eval_step) == [0, 20, 40, 60]
    np.testing.assert_allclose(hist.perplexity, np.exp(hist.loss))
    assert hist.diverged_at is None and len(hist) == 60
    p = _params(D=2, H=16, Vout=1)
    hist = tr.train_rnn(p, _adding_batches, 80, optimizer=Adam(0.02), rng=0, loss="mse")
    assert hist.loss[-20:].mean() < 0.5 * hist.loss[:5].mean()
    with pytest.raises(ValueError, match="loss='ce'"):
        hist.perplexity


@pytest.mark.parametrize("opt", [lambda: SGD(0.5, momentum=0.5), lambda: Adagrad(0.1), lambda: Adam(0.01)])
def test_determinism(opt):
    runs = []
    for _ in range(2):
        p = _params()
        h = tr.train_rnn(p, _reber_batches, 10, optimizer=opt(), rng=3, truncate=(2, 4), clip_norm=0.5)
        runs.append((h, p))
    (h1, p1), (h2, p2) = runs
    np.testing.assert_array_equal(h1.loss, h2.loss)
    np.testing.assert_array_equal(h1.grad_norm, h2.grad_norm)
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])


def test_clipping_is_applied_and_recorded():
    seen = []

    class Spy:
        def step(self, params, grads):
            seen.append(global_norm(grads))

    p = _params()
    h = tr.train_rnn(p, _reber_batches, 5, optimizer=Spy(), rng=0, clip_norm=1e-3)
    assert h.clipped.all()
    np.testing.assert_allclose(seen, 1e-3, rtol=1e-12)
    assert (h.grad_norm > 1e-3).all()  # recorded before clipping
    seen.clear()
    h = tr.train_rnn(p, _reber_batches, 5, optimizer=Spy(), rng=0, clip_norm=1e6)
    assert not h.clipped.any()
    np.testing.assert_allclose(seen, h.grad_norm, rtol=1e-12)

    grads_seen = []

    class Spy2:
        def step(self, params, grads):
            grads_seen.append(max(float(np.abs(g).max()) for g in grads.values()))

    h = tr.train_rnn(p, _reber_batches, 3, optimizer=Spy2(), rng=0, clip_value=1e-4)
    assert h.clipped.all() and max(grads_seen) <= 1e-4


def test_divergence_stops_cleanly():
    p = _params(D=2, H=8, Vout=1)
    p["W_hy"] *= 1e150

    hist = tr.train_rnn(p, _adding_batches, 5, optimizer=SGD(1e10), rng=0, loss="mse")
    assert hist.diverged_at is not None
    assert np.isnan(hist.loss[hist.diverged_at + 1 :]).all()


def test_bad_arguments_name_the_argument():
    p = _params()
    opt = SGD(0.1)
    cases = [
        (dict(steps=0), ValueError, "steps"),
        (dict(loss="nll"), ValueError, "loss"),
        (dict(truncate=0), ValueError, "truncate"),
        (dict(truncate=(4, 2)), ValueError, "k2 >= k1"),
        (dict(truncate=(1, 2, 3)), ValueError, "truncate"),
        (dict(truncate="4"), TypeError, "truncate"),
        (dict(clip_norm=-1.0), ValueError, "clip_norm"),
        (dict(clip_value=0.0), ValueError, "clip_value"),
        (dict(clip_norm=1.0, clip_value=1.0), ValueError, "at most one"),
        (dict(eval_every=5), ValueError, "eval_data"),
        (dict(optimizer=object()), TypeError, "optimizer"),
        (dict(rng=None), TypeError, "rng"),
        (dict(progress="yes"), TypeError, "progress"),
    ]
    for kw, exc, msg in cases:
        args = dict(steps=2, optimizer=opt, rng=0)
        args.update(kw)
        steps = args.pop("steps")
        with pytest.raises(exc, match=msg):
            tr.train_rnn(p, _reber_batches, steps, **args)
    with pytest.raises(TypeError, match="batches"):
        tr.train_rnn(p, [1, 2], 2, optimizer=opt, rng=0)
    with pytest.raises(ValueError, match="params is missing"):
        tr.train_rnn({"W_xh": p["W_xh"]}, _reber_batches, 2, optimizer=opt, rng=0)
    x, y = adding_problem(4, 5, rng=0)
    with pytest.raises(ValueError, match="targets"):
        tr.loss_and_grads(_params(D=2, Vout=1), x, y[:, 0], loss="mse")
    with pytest.raises(ValueError, match="temperature"):
        tr.sample(p, 2, bos=REBER_BOS, rng=0, temperature=-1.0)
    with pytest.raises(ValueError, match="bos"):
        tr.sample(p, 2, bos=V, rng=0)
    with pytest.raises(ValueError, match="D = V"):
        tr.sample(_params(D=2), 2, bos=0, rng=0)


def test_sample_shapes_stop_and_temperature():
    p = _params(H=16)
    tr.train_rnn(p, _reber_batches, 40, optimizer=Adam(0.03), rng=0)
    s1 = tr.sample(p, 50, bos=REBER_BOS, eos=REBER_EOS, max_len=40, temperature=1.0, rng=5)
    s2 = tr.sample(p, 50, bos=REBER_BOS, eos=REBER_EOS, max_len=40, temperature=1.0, rng=5)
    assert s1 == s2 and len(s1) == 50
    assert all(REBER_EOS not in s and len(s) <= 40 for s in s1)
    assert all(isinstance(decode_ids(s), str) for s in s1)
    greedy = tr.sample(p, 3, bos=REBER_BOS, eos=REBER_EOS, max_len=40, temperature=0.0, rng=1)
    assert greedy[0] == greedy[1] == greedy[2]
    # with no eos every sequence runs to max_len
    assert all(len(s) == 7 for s in tr.sample(p, 4, bos=REBER_BOS, max_len=7, rng=0))
    # low temperature concentrates: fewer distinct samples than high temperature
    cold = {tuple(s) for s in tr.sample(p, 200, bos=REBER_BOS, eos=REBER_EOS, max_len=40, temperature=0.3, rng=2)}
    hot = {tuple(s) for s in tr.sample(p, 200, bos=REBER_BOS, eos=REBER_EOS, max_len=40, temperature=2.0, rng=2)}
    assert len(cold) < len(hot)


def test_progress_bar_off_by_default_writes_nothing(capsys):
    p = _params()
    tr.train_rnn(p, _reber_batches, 2, optimizer=SGD(0.1), rng=0)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""
