"""Tests for seqlib.attention: the layer, the bidirectional encoder and the encoder-decoder.

Every backward pass is checked against central differences in float64 (the
worst relative error of each check is printed at the end of the module with
``pytest -s``); the forward passes against plain loops over the equations;
hostile inputs must fail with a message that names the argument.
"""

from __future__ import annotations

import numpy as np
import pytest

import seqlib.attention.layer as at
import seqlib.attention.model as am
from seqlib.attention.birnn import birnn_backward, birnn_forward, reverse_padded
from seqlib.book.gradcheck import gradcheck
from seqlib.seq2seq.model import CELLS, make_batch

WORST: dict[str, float] = {}
TOL = 1e-7
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
SRC = [[1, 2, 3], [4], [0, 1, 4, 2]]
TGT = [[2, 3, 4, 0], [5, 0], [0]]


def _record(name: str, err: dict[str, float]) -> float:
    worst = max(err.values())
    WORST[name] = max(WORST.get(name, 0.0), worst)
    return worst


@pytest.fixture(scope="module", autouse=True)
def _report_worst():
    yield
    if WORST:
        print("\nworst gradcheck relative errors (test_attention):", {k: f"{v:.1e}" for k, v in WORST.items()})


def _inputs(score, B=3, L=4, M=5, Q=3, K=6, A=4, seed=0):
    rng = np.random.default_rng(seed)
    p = at.init_attention_params(Q, K, A, score=score, rng=seed + 1)
    if score == "additive":
        p["b_a"] = rng.normal(size=A)
    return rng.normal(size=(B, L, Q)), rng.normal(size=(B, M, K)), p


# ----------------------------------------------------------------------------- the layer


@pytest.mark.parametrize("score", at.SCORES)
def test_scores_weights_context_match_the_equations(score):
    q, k, p = _inputs(score)
    ctx, w, _ = at.attention_forward(q, k, MASK, p, score=score)
    B, L, M = w.shape
    for b in range(B):
        real = np.flatnonzero(MASK[b])
        for l in range(L):
            if score == "additive":
                e = np.array([np.tanh(q[b, l] @ p["W_a"] + k[b, j] @ p["U_a"] + p["b_a"]) @ p["v_a"] for j in real])
            else:
                e = np.array([q[b, l] @ p["W_a"] @ k[b, j] for j in real])
            a = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
            np.testing.assert_allclose(at.attention_scores(q, k, p, score)[b, l, real], e, rtol=1e-12)
            np.testing.assert_allclose(w[b, l, real], a, rtol=1e-12)
            np.testing.assert_allclose(ctx[b, l], a @ k[b, real], rtol=1e-12, atol=1e-14)
    pad = MASK[:, None, :].repeat(L, 1) == 0
    assert np.all(w[pad] == 0.0)  # exactly zero, not small
    np.testing.assert_allclose(w.sum(axis=2), 1.0, rtol=1e-14)


@pytest.mark.parametrize("score", at.SCORES)
def test_padded_keys_change_nothing_and_get_no_gradient(score):
    q, k, p = _inputs(score)
    ctx, w, cache = at.attention_forward(q, k, MASK, p, score=score)
    k2 = k.copy()
    k2[MASK == 0] = 1e6 * np.random.default_rng(5).normal(size=(int((MASK == 0).sum()), k.shape[2]))
    ctx2, w2, _ = at.attention_forward(q, k2, MASK, p, score=score)
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_array_equal(ctx, ctx2)
    g = at.attention_backward(np.ones_like(ctx), cache)
    assert np.all(g["keys"][MASK == 0] == 0.0)


@pytest.mark.parametrize("score", at.SCORES)
def test_keys_proj_is_the_same_computation(score):
    q, k, p = _inputs(score)
    ctx, w, _ = at.attention_forward(q, k, MASK, p, score=score)
    ctx2, w2, cache2 = at.attention_forward(q, k, MASK, p, score=score, keys_proj=at.project_keys(k, p, score))
    np.testing.assert_allclose(w2, w, rtol=1e-12)
    np.testing.assert_allclose(ctx2, ctx, rtol=1e-12)
    with pytest.raises(ValueError, match="call it without keys_proj"):
        at.attention_backward(ctx2, cache2)


def test_masked_softmax_is_stable_and_equals_the_softmax_of_the_real_scores():
    e = np.array([[[1000.0, 999.0, -5.0, 3.0]], [[-1000.0, -1001.0, 7.0, 1e308]]])
    m = np.array([[1, 1, 0, 1], [1, 1, 1, 0]])
    w = at.masked_softmax(e, m)
    assert np.all(np.isfinite(w)) and w[0, 0, 2] == 0.0 and w[1, 0, 3] == 0.0
    for b in range(2):
        r = np.flatnonzero(m[b])
        z = e[b, 0, r] - e[b, 0, r].max()
        np.testing.assert_allclose(w[b, 0, r], np.exp(z) / np.exp(z).sum(), rtol=1e-14)
    # a row with one real position: weight exactly 1 there, whatever its score
    np.testing.assert_array_equal(at.masked_softmax(np.array([[[3.0, -2.0]]]), [[0, 1]]), [[[0.0, 1.0]]])


def test_masked_softmax_backward_gradcheck():
    rng = np.random.default_rng(3)
    e, R = rng.normal(size=(3, 2, 5)), rng.normal(size=(3, 2, 5))
    w = at.masked_softmax(e, MASK)
    de = at.masked_softmax_backward(R, w)
    err = gradcheck(lambda: float((at.masked_softmax(e, MASK) * R).sum()), {"scores": e}, {"scores": de})
    assert _record("masked_softmax", err) < TOL, err
    assert np.all(de[np.broadcast_to(MASK[:, None, :] == 0, de.shape)] == 0.0)


@pytest.mark.parametrize("score", at.SCORES)
def test_attention_gradcheck(score):
    q, k, p = _inputs(score)
    rng = np.random.default_rng(7)
    R, R2 = rng.normal(size=(3, 4, 6)), rng.normal(size=(3, 4, 5))

    def f():
        c, w, _ = at.attention_forward(q, k, MASK, p, score=score)
        return float((c * R).sum() + (w * R2).sum())

    _, _, cache = at.attention_forward(q, k, MASK, p, score=score)
    g = at.attention_backward(R, cache, dweights=R2)
    err = gradcheck(f, {"query": q, "keys": k, **p}, g)
    assert set(g) == {"query", "keys", *at.ATTENTION_PARAMS[score]}
    assert _record(f"attention_{score}", err) < TOL, err


def test_attentional_hidden_gradcheck():
    rng = np.random.default_rng(4)
    c, s = rng.normal(size=(2, 3, 6)), rng.normal(size=(2, 3, 4))
    W, b, R = rng.normal(size=(10, 5)) * 0.5, rng.normal(size=5), rng.normal(size=(2, 3, 5))
    h, cache = at.attentional_hidden_forward(c, s, W, b)
    np.testing.assert_allclose(h, np.tanh(np.concatenate((c, s), -1) @ W + b), rtol=1e-14)
    g = at.attentional_hidden_backward(R, cache)
    err = gradcheck(lambda: float((at.attentional_hidden_forward(c, s, W, b)[0] * R).sum()),
                    {"context": c, "query": s, "W_c": W, "b_c": b}, g)
    assert _record("attentional_hidden", err) < TOL, err


def test_float32_stays_float32():
    q, k, p = _inputs("additive")
    p32 = {n: v.astype(np.float32) for n, v in p.items()}
    ctx, w, _ = at.attention_forward(q.astype(np.float32), k.astype(np.float32), MASK, p32)
    assert ctx.dtype == w.dtype == np.float32


def test_hostile_inputs_are_named():
    q, k, p = _inputs("additive")
    fwd = at.attention_forward
    with pytest.raises(ValueError, match=r"mask\[2\] must mark at least one real source position"):
        fwd(q, k, np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]), p)
    with pytest.raises(ValueError, match=r"mask must hold only 0 and 1"):
        fwd(q, k, MASK * 2, p)
    with pytest.raises(ValueError, match=r"mask must have shape \(B, M\) = \(3, 5\), got \(3, 4\)"):
        fwd(q, k, MASK[:, :4], p)
    with pytest.raises(TypeError, match="mask must be a"):
        fwd(q, k, "all", p)
    with pytest.raises(ValueError, match=r"query must be finite, got 1 NaN or inf"):
        q2 = q.copy()
        q2[0, 0, 0] = np.nan
        fwd(q2, k, MASK, p)
    with pytest.raises(ValueError, match=r"keys must be finite"):
        fwd(q, np.full_like(k, np.inf), MASK, p)
    with pytest.raises(ValueError, match=r"query must have shape \(B, L, Q\), got 2-D shape \(3, 4\)"):
        fwd(q[..., 0], k, MASK, p)
    with pytest.raises(ValueError, match=r"keys must have shape \(B, M, K\) with B=3"):
        fwd(q, k[:2], MASK, p)
    with pytest.raises(ValueError, match=r"params\['U_a'\] must have shape \(K, A\) with K=6"):
        fwd(q, k, MASK, {**p, "U_a": p["U_a"][:5]})
    with pytest.raises(ValueError, match=r"params is missing \['v_a'\]"):
        fwd(q, k, MASK, {n: v for n, v in p.items() if n != "v_a"})
    with pytest.raises(TypeError, match=r"query must be a numeric array"):
        fwd(q.astype(object), k, MASK, p)
    with pytest.raises(TypeError, match=r"keys must be real, got complex"):
        fwd(q, k + 0j, MASK, p)
    with pytest.raises(TypeError, match=r"params\['W_a'\] must be a numeric array"):
        fwd(q, k, MASK, {**p, "W_a": "W"})
    with pytest.raises(ValueError, match=r"score must be 'additive' \(Bahdanau et al. 2015\) or 'general'"):
        fwd(q, k, MASK, p, score="dot")
    _, _, cache = fwd(q, k, MASK, p)
    with pytest.raises(ValueError, match=r"dcontext must have shape \(B, L, K\) with B=3, L=4, K=6"):
        at.attention_backward(np.ones((3, 4, 5)), cache)
    with pytest.raises(ValueError, match=r"dcontext must be finite"):
        at.attention_backward(np.full((3, 4, 6), np.nan), cache)
    with pytest.raises(TypeError, match="cache must be the AttentionCache"):
        at.attention_backward(np.ones((3, 4, 6)), object())
    with pytest.raises(ValueError, match=r"W_c must have shape \(K\+Q, H\) with K\+Q=9"):
        at.attentional_hidden_forward(np.ones((2, 6)), np.ones((2, 3)), np.ones((8, 4)), np.ones(4))
    with pytest.raises(ValueError, match="context .* and query .* must share their leading axes"):
        at.attentional_hidden_forward(np.ones((2, 6)), np.ones((3, 3)), np.ones((9, 4)), np.ones(4))


# ----------------------------------------------------------------------------- the bidirectional encoder


def _cell_params(cell, D, H, seed):
    p = CELLS[cell].init(D, H, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 10)
    return {n: v + 0.2 * rng.normal(size=v.shape) for n, v in p.items()}


def test_reverse_padded_is_an_involution():
    x = np.arange(2 * 4 * 3).reshape(2, 4, 3)
    n = [4, 2]
    r = reverse_padded(x, n)
    np.testing.assert_array_equal(r[0], x[0, ::-1])
    np.testing.assert_array_equal(r[1, :2], x[1, 1::-1])
    np.testing.assert_array_equal(r[1, 2:], x[1, 2:])
    np.testing.assert_array_equal(reverse_padded(r, n), x)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, M\] = \[1, 4\], got 5 at index 1"):
        reverse_padded(x, [4, 5])
    with pytest.raises(ValueError, match=r"lengths must have shape \(B,\) = \(2,\)"):
        reverse_padded(x, [4])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_birnn_is_two_runs_of_the_cell_on_each_unpadded_source(cell):
    rng = np.random.default_rng(0)
    x, n = rng.normal(size=(3, 5, 2)), np.array([3, 5, 1])
    pf, pb = _cell_params(cell, 2, 4, 1), _cell_params(cell, 2, 4, 2)
    ann, _ = birnn_forward(x, n, pf, pb, cell)
    c = CELLS[cell]
    for b in range(3):
        xb = x[b:b + 1, :n[b]]
        hf, _ = c.forward(xb, None, pf)
        hb, _ = c.forward(xb[:, ::-1], None, pb)
        np.testing.assert_allclose(ann[b, :n[b], :4], hf[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ann[b, :n[b], 4:], hb[0, ::-1], rtol=1e-12, atol=1e-14)
        assert np.all(ann[b, n[b]:] == 0.0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_birnn_gradcheck(cell):
    rng = np.random.default_rng(1)
    x, n = rng.normal(size=(3, 4, 2)), np.array([3, 4, 1])
    pf, pb = _cell_params(cell, 2, 3, 3), _cell_params(cell, 2, 3, 4)
    R = rng.normal(size=(3, 4, 6))
    _, cache = birnn_forward(x, n, pf, pb, cell)
    g = birnn_backward(R, cache)
    flat = {"x": g["x"], **{f"f_{k}": g["fwd"][k] for k in pf}, **{f"b_{k}": g["bwd"][k] for k in pb}}
    arrays = {"x": x, **{f"f_{k}": v for k, v in pf.items()}, **{f"b_{k}": v for k, v in pb.items()}}
    err = gradcheck(lambda: float((birnn_forward(x, n, pf, pb, cell)[0] * R).sum()), arrays, flat, eps=1e-5)
    assert _record(f"birnn_{cell}", err) < TOL, err
    assert np.all(g["x"][1:, :][np.arange(4)[None, :] >= n[1:, None]] == 0.0)  # padding: no gradient


def test_birnn_hostile_inputs():
    pf = _cell_params("gru", 2, 3, 0)
    with pytest.raises(ValueError, match=r"params_b must hold the gru parameters"):
        birnn_forward(np.ones((1, 2, 2)), [2], pf, {"W_x": 1}, "gru")
    with pytest.raises(ValueError, match="cell must be one of"):
        birnn_forward(np.ones((1, 2, 2)), [2], pf, pf, "transformer")
    with pytest.raises(ValueError, match=r"x must be finite"):
        birnn_forward(np.full((1, 2, 2), np.nan), [2], pf, pf, "gru")
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, M\] = \[1, 2\], got 0"):
        birnn_forward(np.ones((1, 2, 2)), [0], pf, pf, "gru")
    _, cache = birnn_forward(np.ones((1, 2, 2)), [2], pf, pf, "gru")
    with pytest.raises(ValueError, match=r"dannotations must have shape \(B, M, 2H\) with B=1, M=2, 2H=6"):
        birnn_backward(np.ones((1, 2, 3)), cache)


# ----------------------------------------------------------------------------- the encoder-decoder


def _model(cell="lstm", score="additive", seed=0):
    cfg = am.AttentionConfig(V_x=5, V_y=6, D=3, H_enc=3, H=4, A=3, score=score, cell=cell)
    p = am.init_attention_seq2seq(cfg, rng=seed)
    rng = np.random.default_rng(seed + 1)
    for k in p:  # nonzero biases; larger attention weights, so that their gradients are not round-off
        p[k] = p[k] * (3.0 if k.startswith("att_") else 1.0) + 0.1 * rng.normal(size=p[k].shape)
    return cfg, p


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("score", at.SCORES)
def test_gradcheck_whole_model(cell, score):
    cfg, p = _model(cell, score)
    b = make_batch(SRC, TGT, cfg)
    for normalise in ("token", "sequence") if cell == "lstm" else ("token",):
        loss, g = am.attention_seq2seq_loss_and_grads(p, b, cfg, normalise)
        assert loss == pytest.approx(am.attention_seq2seq_loss(p, b, cfg, normalise), rel=1e-12)
        err = gradcheck(lambda: am.attention_seq2seq_loss(p, b, cfg, normalise), p, g, eps=1e-5)
        assert set(err) == set(am.attention_param_names(cfg))
        assert _record(f"model_{cell}_{score}", err) < TOL, err
    for k in ("att_W_a", "enc_f_" + CELLS[cell].param_names[0], "enc_b_" + CELLS[cell].param_names[0], "W_s", "E_x"):
        assert np.abs(g[k]).max() > 1e-4, k  # every part of the model is reached


def test_padding_changes_nothing():
    cfg, p = _model("gru", "general")
    lp = am.attention_sequence_log_prob(p, SRC, TGT, cfg)
    lp2 = am.attention_sequence_log_prob(p, SRC + [[1] * 7], TGT + [[3] * 6 + [0]], cfg)
    np.testing.assert_allclose(lp, lp2[:3], rtol=1e-12)
    for s, t, want in zip(SRC, TGT, lp):
        assert am.attention_sequence_log_prob(p, [s], [t], cfg)[0] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_decoder_step_reproduces_teacher_forcing(cell):
    """Feeding the true tokens one step at a time gives the teacher-forced log-probabilities and weights."""
    cfg, p = _model(cell, "additive")
    b = make_batch(SRC, TGT, cfg)
    logits, cache = am.attention_seq2seq_forward(p, b, cfg)
    from seqlib.loss.softmax_ce import log_softmax
    want = log_softmax(logits)
    mem = am.attention_encode(p, SRC, cfg)
    state = CELLS[cell].initial_state(mem.s0)
    for t in range(b.tgt.shape[1]):
        logp, state, w = am.attention_decoder_step(p, b.dec_in[:, t], state, mem, cfg)
        np.testing.assert_allclose(logp, want[:, t], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(w, cache.weights[:, t], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_greedy_and_beam_decoding(cell):
    cfg, p = _model(cell, "additive", seed=2)
    hyps = am.attention_greedy_decode(p, SRC, cfg, max_len=6)
    for s, h in zip(SRC, hyps):
        assert isinstance(h, am.AttendedHypothesis) and cfg.bos not in h.tokens
        assert h.weights.shape == (len(h.tokens), len(s))
        np.testing.assert_allclose(h.weights.sum(axis=1), 1.0, rtol=1e-12)
        lp = am.attention_sequence_log_prob(p, [s], [list(h.tokens)], cfg, require_eos=h.finished)[0]
        assert h.score == pytest.approx(lp, rel=1e-10)
        one = am.attention_beam_search(p, s, cfg, 1, 6)[0]
        assert one.tokens == h.tokens and one.score == pytest.approx(h.score, rel=1e-10)
        np.testing.assert_allclose(one.weights, h.weights, rtol=1e-10)
        wide = am.attention_beam_search(p, s, cfg, 4, 6)
        assert wide[0].score >= h.score - 1e-12 and [x.score for x in wide] == sorted((x.score for x in wide),
                                                                                      reverse=True)


def test_float32_training_step_keeps_float32():
    cfg = am.AttentionConfig(V_x=5, V_y=6, D=3, H_enc=3, H=4, A=3)
    p = am.init_attention_seq2seq(cfg, rng=0, dtype=np.float32)
    _, g = am.attention_seq2seq_loss_and_grads(p, make_batch(SRC, TGT, cfg), cfg)
    assert {v.dtype for v in g.values()} == {np.dtype(np.float32)}


def test_model_hostile_inputs():
    cfg, p = _model()
    b = make_batch(SRC, TGT, cfg)
    with pytest.raises(ValueError, match=r"params is missing \['att_v_a'\]"):
        am.attention_seq2seq_loss({k: v for k, v in p.items() if k != "att_v_a"}, b, cfg)
    other = am.AttentionConfig(V_x=5, V_y=7, D=3, H_enc=3, H=4, A=3)
    with pytest.raises(ValueError, match=r"params\['E_y'\] must have shape \(V_y, D\) with V_y=7, D=3 \(so \(7, 3\)\)"):
        am.attention_seq2seq_loss(p, make_batch(SRC, TGT, other), other)
    with pytest.raises(TypeError, match="batch must be a Seq2SeqBatch"):
        am.attention_seq2seq_loss(p, (SRC, TGT), cfg)
    with pytest.raises(ValueError, match="score must be one of"):
        am.AttentionConfig(V_x=5, V_y=6, score="dot")
    with pytest.raises(ValueError, match="eos and bos must differ"):
        am.AttentionConfig(V_x=5, V_y=6, eos=1, bos=1)
    with pytest.raises(ValueError, match=r"sources\[1\] must be source ids in \[0, V_x\) = \[0, 5\), got 9"):
        am.attention_greedy_decode(p, [[1], [9]], cfg, 3)
    with pytest.raises(ValueError, match=r"sources\[0\] must hold at least one token"):
        am.attention_greedy_decode(p, [[]], cfg, 3)
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        am.attention_greedy_decode(p, SRC, cfg, 0)
    with pytest.raises(TypeError, match="beam_width must be a positive int"):
        am.attention_beam_search(p, SRC[0], cfg, 2.5, 3)
