"""Tests for seqlib.seq2seq: batches, gradients through the bridge, scoring."""

import numpy as np
import pytest

import seqlib.seq2seq as s2
from seqlib.seq2seq.train import train_seq2seq
from seqlib.book.gradcheck import gradcheck
from seqlib.loss import log_softmax, sequence_loss

SRC = [[1, 2, 3], [4], [0, 1]]
TGT = [[2, 3, 4, 0], [5, 0], [0]]


def _model(context=False, seed=0, cell="rnn"):
    cfg = s2.Seq2SeqConfig(V_x=5, V_y=6, D=3, H=4, context=context, cell=cell)
    p = s2.init_seq2seq_params(cfg, rng=seed)
    rng = np.random.default_rng(seed + 1)
    for k in p:  # nonzero biases, so that every parameter matters
        p[k] = p[k] + 0.1 * rng.normal(size=p[k].shape)
    return cfg, p


def test_make_batch_pads_shifts_and_masks():
    cfg, _ = _model()
    b = s2.make_batch(SRC, TGT, cfg)
    assert b.src.tolist() == [[1, 2, 3], [4, 0, 0], [0, 1, 0]]
    assert b.src_len.tolist() == [3, 1, 2]
    assert b.tgt.tolist() == [[2, 3, 4, 0], [5, 0, 0, 0], [0, 0, 0, 0]]
    assert b.dec_in.tolist() == [[1, 2, 3, 4], [1, 5, 1, 1], [1, 1, 1, 1]]
    assert b.weights.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]
    assert b.tgt_len.tolist() == [4, 2, 1]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("context", [False, True])
@pytest.mark.parametrize("normalise", ["token", "sequence"])
def test_gradcheck_whole_model(context, normalise, cell):
    cfg, p = _model(context, cell=cell)
    b = s2.make_batch(SRC, TGT, cfg)
    _, g = s2.seq2seq_loss_and_grads(p, b, cfg, normalise)
    # eps=1e-5: the encoder gradients of the gated cells are small (~1e-4), and
    # with eps=1e-6 round-off in the differences reaches 4e-7 of them
    err = gradcheck(lambda: s2.seq2seq_loss(p, b, cfg, normalise), p, g, eps=1e-5)
    assert set(err) == set(s2.param_names(cfg))
    assert max(err.values()) < 1e-7, err
    # the encoder really receives gradient across the bridge
    W_rec = "enc_" + s2.CELLS[cell].param_names[1]  # the encoder's recurrent matrix
    assert np.abs(g[W_rec]).max() > 1e-5 and np.abs(g["E_x"]).max() > 1e-5


def test_padding_of_sources_and_targets_changes_nothing():
    cfg, p = _model(True)
    b = s2.make_batch(SRC, TGT, cfg)
    b2 = s2.make_batch(SRC + [[1, 1, 1, 1, 1, 1]], TGT + [[3, 3, 3, 3, 3, 3, 0]], cfg)
    per = s2.sequence_log_prob(p, SRC, TGT, cfg)
    per2 = s2.sequence_log_prob(p, SRC + [[1] * 6], TGT + [[3] * 6 + [0]], cfg)
    np.testing.assert_allclose(per, per2[:3], rtol=1e-12)
    assert b2.src.shape == (4, 6) and b.src.shape == (3, 3)


def test_normalisations_differ_by_tokens_per_sequence():
    cfg, p = _model()
    b = s2.make_batch(SRC, TGT, cfg)
    tok = s2.seq2seq_loss(p, b, cfg, "token")
    seq = s2.seq2seq_loss(p, b, cfg, "sequence")
    assert np.isclose(seq, tok * b.weights.sum() / 3)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sequence_log_prob_is_minus_the_summed_loss_terms_and_the_stepwise_product(cell):
    from seqlib.seq2seq.decode import decoder_step
    cfg, p = _model(True, cell=cell)
    lp = s2.sequence_log_prob(p, SRC, TGT, cfg)
    b = s2.make_batch(SRC, TGT, cfg)
    logits, _ = s2.seq2seq_forward(p, b, cfg)
    # summed over all tokens: the loss with a per-sequence denominator of 1
    total = sequence_loss(logits, b.tgt, b.weights, average_across_timesteps=False, average_across_batch=False)
    np.testing.assert_allclose(lp, -total.sum(axis=1), rtol=1e-12)
    # the same number, one free-running step at a time, feeding the candidate's tokens
    for s, t, want in zip(SRC, TGT, lp):
        _, c, _ = s2.encode(p, np.array([s]), np.array([len(s)]), cfg)
        h, prev, got = s2.CELLS[cfg.cell].initial_state(c), cfg.bos, 0.0
        for tok in t:
            logp, h = decoder_step(p, np.array([prev]), h, c, cfg)
            got += logp[0, tok]
            prev = tok
        assert np.isclose(got, want, rtol=1e-12)
    # and a direct log-softmax of the logits
    direct = np.take_along_axis(log_softmax(logits), b.tgt[..., None], -1)[..., 0]
    np.testing.assert_allclose(lp, (direct * b.weights).sum(1), rtol=1e-12)


def test_bad_input_is_named():
    cfg, p = _model()
    with pytest.raises(ValueError, match=r"targets\[1\] must end with eos=0"):
        s2.make_batch(SRC[:2], [[2, 0], [5, 3]], cfg)
    with pytest.raises(ValueError, match=r"targets\[0\] must hold eos=0 only at its end"):
        s2.make_batch(SRC[:1], [[2, 0, 3, 0]], cfg)
    with pytest.raises(ValueError, match=r"sources\[1\] must be source ids in \[0, V_x\) = \[0, 5\), got 7"):
        s2.make_batch([[1], [7]], [[0], [0]], cfg)
    with pytest.raises(ValueError, match=r"targets\[0\] must be target ids in \[0, V_y\) = \[0, 6\), got 9"):
        s2.make_batch([[1]], [[9, 0]], cfg)
    with pytest.raises(ValueError, match="3 sources and 2 targets"):
        s2.make_batch(SRC, TGT[:2], cfg)
    with pytest.raises(ValueError, match=r"sources\[0\] must hold at least one token"):
        s2.make_batch([[]], [[0]], cfg)
    with pytest.raises(ValueError, match=r"sources\[0\] must be a 1-D array"):
        s2.make_batch([[[1, 2]]], [[0]], cfg)  # ragged / nested input
    other = s2.Seq2SeqConfig(V_x=5, V_y=7, D=3, H=4)
    b = s2.make_batch(SRC, TGT, other)
    with pytest.raises(ValueError, match=r"params\['E_y'\] must have shape \(V_y, D\) with V_y=7, D=3 "
                                         r"\(so \(7, 3\)\), got \(6, 3\) \(a target vocabulary mismatch\?"):
        s2.seq2seq_loss(p, b, other)
    with pytest.raises(ValueError, match="eos and bos must differ"):
        s2.Seq2SeqConfig(V_x=3, V_y=3, eos=1, bos=1)
    with pytest.raises(ValueError, match=r"bos must be a target id in \[0, V_y\) = \[0, 3\), got 5"):
        s2.Seq2SeqConfig(V_x=3, V_y=3, bos=5)
    with pytest.raises(ValueError, match="cell must be one of"):
        s2.Seq2SeqConfig(V_x=3, V_y=3, cell="transformer")
    with pytest.raises(ValueError, match="normalise must be one of"):
        s2.seq2seq_loss(p, s2.make_batch(SRC, TGT, cfg), cfg, "mean")


def test_training_lowers_the_loss_and_is_deterministic():
    cfg, p = _model()
    q = {k: v.copy() for k, v in p.items()}
    l1 = train_seq2seq(p, SRC, TGT, cfg, 60, rng=3, batch_size=3, lr=0.05)
    l2 = train_seq2seq(q, SRC, TGT, cfg, 60, rng=3, batch_size=3, lr=0.05)
    np.testing.assert_array_equal(l1, l2)
    assert l1[-10:].mean() < 0.5 * l1[:10].mean()


def test_cell_is_a_parameter(monkeypatch):
    """A cell registered in CELLS is what the model runs (here: the RNN with relu, by name)."""
    from seqlib.cells.rnn import rnn_backward, rnn_forward
    relu = s2.Cell("relu", ("W_xh", "W_hh", "b_h"),
                   lambda x, h0, q: rnn_forward(x, h0, q["W_xh"], q["W_hh"], q["b_h"], activation="relu"),
                   rnn_backward, s2.CELLS["rnn"].init)
    monkeypatch.setitem(s2.CELLS, "relu", relu)
    cfg = s2.Seq2SeqConfig(V_x=5, V_y=6, D=3, H=4, cell="relu")
    p = s2.init_seq2seq_params(cfg, rng=0)
    b = s2.make_batch(SRC, TGT, cfg)
    _, g = s2.seq2seq_loss_and_grads(p, b, cfg)
    err = gradcheck(lambda: s2.seq2seq_loss(p, b, cfg), p, g)
    assert max(err.values()) < 1e-6
    cfg_tanh = s2.Seq2SeqConfig(V_x=5, V_y=6, D=3, H=4)
    assert not np.isclose(s2.seq2seq_loss(p, b, cfg), s2.seq2seq_loss(p, b, cfg_tanh))


def test_training_in_chunks_with_one_optimizer_is_one_run():
    from seqlib.training.optim import Adam
    cfg, p = _model()
    q = {k: v.copy() for k, v in p.items()}
    whole = train_seq2seq(p, SRC, TGT, cfg, 20, rng=5, batch_size=2, lr=0.02)
    rng, opt = np.random.default_rng(5), Adam(lr=0.02)
    parts = [train_seq2seq(q, SRC, TGT, cfg, 10, rng=rng, batch_size=2, optimizer=opt) for _ in range(2)]
    np.testing.assert_array_equal(whole, np.concatenate(parts))
    with pytest.raises(TypeError, match="optimizer must have a step"):
        train_seq2seq(q, SRC, TGT, cfg, 1, rng=0, optimizer="adam")
