"""Tests for seqlib.seq2seq.decode: greedy, beam search, exactness against enumeration."""

import itertools

import numpy as np
import pytest

import seqlib.seq2seq as s2
from seqlib.seq2seq.decode import beam_search, greedy_decode


def _tiny(seed, context=False, cell="rnn"):
    cfg = s2.Seq2SeqConfig(V_x=3, V_y=4, D=3, H=5, context=context, cell=cell)
    p = s2.init_seq2seq_params(cfg, rng=seed)
    rng = np.random.default_rng(100 + seed)
    for k in p:  # larger weights: peaked, varied distributions
        p[k] = p[k] * 2.0 + 0.5 * rng.normal(size=p[k].shape)
    return cfg, p


def _brute_force(p, src, cfg, max_len):
    """Every output in the search space with its log-probability, by teacher-forced scoring."""
    words = [v for v in range(cfg.V_y) if v != cfg.eos]
    ended, cut = [], []
    for n in range(max_len):
        ended += [list(w) + [cfg.eos] for w in itertools.product(range(cfg.V_y), repeat=n) if cfg.eos not in w]
    cut = [list(w) for w in itertools.product(words, repeat=max_len)]
    s_end = s2.sequence_log_prob(p, [src] * len(ended), ended, cfg)
    s_cut = s2.sequence_log_prob(p, [src] * len(cut), cut, cfg, require_eos=False)
    return [(tuple(c), float(v)) for c, v in zip(ended + cut, np.concatenate([s_end, s_cut]))]


@pytest.mark.parametrize("seed, context, cell", [(s, c, "rnn") for s in range(6) for c in (False, True)]
                         + [(s, True, cell) for s in range(3) for cell in ("lstm", "gru")])
def test_full_width_beam_is_exact(seed, context, cell):
    cfg, p = _tiny(seed, context, cell)
    max_len = 3
    src = [seed % 3, (seed + 1) % 3]
    space = _brute_force(p, src, cfg, max_len)
    # probabilities over the whole search space sum to 1: the space is complete
    assert np.isclose(sum(np.exp(v) for _, v in space), 1.0)
    best = max(space, key=lambda cv: cv[1])
    hyps = beam_search(p, src, cfg, cfg.V_y ** max_len, max_len)
    assert hyps[0].tokens == best[0]
    assert np.isclose(hyps[0].score, best[1], rtol=1e-10)
    assert hyps[0].finished == (best[0][-1] == cfg.eos)
    # every returned hypothesis carries its true score, best first
    table = dict(space)
    for h in hyps:
        assert np.isclose(h.score, table[h.tokens], rtol=1e-10)
    assert all(a.score >= b.score for a, b in zip(hyps, hyps[1:]))


def test_a_narrow_beam_can_miss_the_best():
    """Not an exactness failure: with k=1 some seed's greedy output is beaten by the full search."""
    missed = 0
    for seed in range(30):
        cfg, p = _tiny(seed)
        full = beam_search(p, [1, 2], cfg, 64, 3)[0]
        g = beam_search(p, [1, 2], cfg, 1, 3)[0]
        assert g.score <= full.score + 1e-12
        missed += g.score < full.score - 1e-9
    assert missed >= 1


@pytest.mark.parametrize("seed, cell", [(s, "rnn") for s in range(5)] + [(0, "lstm"), (1, "gru")])
def test_beam_width_one_is_greedy_and_greedy_batches(seed, cell):
    cfg, p = _tiny(seed, True, cell)
    srcs = [[0], [1, 2], [2, 2, 1, 0]]
    g = greedy_decode(p, srcs, cfg, 6)
    for s, h in zip(srcs, g):
        b = beam_search(p, s, cfg, 1, 6)
        assert len(b) == 1 and b[0].tokens == h.tokens and np.isclose(b[0].score, h.score)
        alone = greedy_decode(p, [s], cfg, 6)[0]
        assert alone.tokens == h.tokens and np.isclose(alone.score, h.score, rtol=1e-12)
        assert len(h.tokens) <= 6
        assert h.finished == (h.tokens[-1] == cfg.eos)
        assert cfg.eos not in h.tokens[:-1]
        if h.finished:
            assert np.isclose(h.score, s2.sequence_log_prob(p, [s], [list(h.tokens)], cfg)[0])


def test_length_limit_stops_decoding():
    cfg, p = _tiny(0)
    p["b_y"][cfg.eos] = -50.0  # EOS is (almost) never chosen
    h = greedy_decode(p, [[1]], cfg, 4)[0]
    assert len(h.tokens) == 4 and not h.finished
    hyps = beam_search(p, [1], cfg, 3, 4)
    assert all(len(x.tokens) == 4 and not x.finished for x in hyps)


def test_trace_records_each_step():
    from seqlib.seq2seq.decode import BeamStep
    cfg, p = _tiny(1)
    trace = []
    hyps = beam_search(p, [0, 1], cfg, 2, 5, trace=trace)
    assert trace and all(isinstance(t, BeamStep) for t in trace)
    assert trace[0].prefixes == [()] and trace[0].logp.shape == (1, cfg.V_y)
    assert np.allclose(np.exp(trace[0].logp).sum(1), 1)
    assert all(len(t.kept) <= 2 for t in trace)
    kept = {seq for t in trace for seq, _ in t.kept}
    assert all(h.tokens in kept for h in hyps)


def test_bad_arguments():
    cfg, p = _tiny(0)
    with pytest.raises(ValueError, match=r"source must be source ids in \[0, V_x\) = \[0, 3\), got 3"):
        beam_search(p, [3], cfg, 2, 3)
    with pytest.raises(ValueError, match="beam_width must be >= 1"):
        beam_search(p, [1], cfg, 0, 3)
    with pytest.raises(TypeError, match="max_len must be a positive int"):
        greedy_decode(p, [[1]], cfg, 2.5)
    with pytest.raises(ValueError, match=r"sources\[1\] must hold at least one token"):
        greedy_decode(p, [[1], []], cfg, 3)
