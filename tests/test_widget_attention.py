"""The attention-decoding widget (attention chapter): seqlib's numbers, the page's stored copy, errors, size.

A small seeded model, built here (untrained; its parameters scaled by 3 so
that its attention is far from uniform): the tests check the plumbing, not
the book's checkpoint.  The page computes nothing new: its ``compute`` reads
the decodings saved in ``base``, run here in Node and compared with seqlib's
bit for bit.  tests/browser/test_attention_widget.py checks the drawn page.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqlib.attention import g2p
from seqlib.attention.data import decode_phonemes, encode_phonemes, encode_word
from seqlib.attention.model import attention_beam_search, attention_greedy_decode, attention_sequence_log_prob
from seqlib.widgets import WIDGETS, attention_decoding_widget, headless
from seqlib.widgets import attention as _att
from seqlib.widgets._mirror_check import compare, node_compute
from seqlib.widgets.attention import DEFAULT_WORDS, attention_decoding_data

#: 16 words: short and long (22 letters, CMUdict's longest), with an apostrophe, one outside CMUdict
WORDS = ["CAT", "BOX", "PHONEME", "KNIGHT", "THROUGH", "LAUGH", "XYLOPHONE", "QUEUE", "SCHOOL", "PSYCHOLOGY",
         "ATTENTION", "DON'T", "YACHT", "A", "BEAUTIFUL", "SUPERCALIFRAGILISTICEX"]
K, MAX_LEN = 3, 12


def tiny_model(seed: int = 0, scale: float = 3.0):
    """A seeded, untrained attention G2P model (float64) whose weights are scaled up."""
    cfg = g2p.g2p_config(D=8, H_enc=8, H=8, A=8)
    return {k: v * scale for k, v in g2p.init_g2p(cfg, rng=seed).items()}, cfg


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def w(model):
    with headless():
        return attention_decoding_widget(model, words=WORDS, beam_width=K, max_len=MAX_LEN)


# ---------------------------------------------------------------------------------------------- seqlib


@pytest.mark.parametrize("word", WORDS)
def test_compute_is_seqlibs_decode(w, model, word):
    """Every number against seqlib's decoders, both decoders, every step (clamped past the end)."""
    params, cfg = model
    src = encode_word(word)
    hyps = {"greedy": attention_greedy_decode(params, [src], cfg, MAX_LEN)[0],
            "beam": attention_beam_search(params, src, cfg, K, MAX_LEN)[0]}
    for decoder, hyp in hyps.items():
        L = len(hyp.tokens)
        for step in range(MAX_LEN):
            d = w.expected(word=word, decoder=decoder, step=step)
            assert d["tokens"] == list(hyp.tokens) and d["score"] == hyp.score and d["finished"] == hyp.finished
            np.testing.assert_array_equal(np.array(d["weights"]), hyp.weights)
            assert (d["step"], d["n_steps"]) == (min(step, L - 1), L)
            assert d["letters"] == list(word) and d["word"] == word
            assert d["beam_width"] == (K if decoder == "beam" else 1)
        names = decode_phonemes(hyp.tokens)
        assert d["phonemes"] == [*names, "<eos>"] if hyp.finished else list(names)
        assert names == tuple(g2p.transcribe(word, model, beam_width=K if decoder == "beam" else 1,
                                             max_len=MAX_LEN)[0])
        # each token's log p̂ (replayed): they sum to the score; for a finished output, to the
        # teacher-forced log-probability of the same tokens
        assert np.isclose(sum(d["token_logp"]), hyp.score, rtol=1e-12, atol=1e-12)
        assert all(v <= 0 for v in d["token_logp"])
        if hyp.finished:
            tf = attention_sequence_log_prob(params, [src], [list(hyp.tokens)], cfg)[0]
            assert np.isclose(tf, hyp.score, rtol=1e-9)
        assert np.allclose(np.array(d["weights"]).sum(axis=1), 1.0, atol=1e-12)


def test_data_function_matches_hypothesis(model):
    params, cfg = model
    dd = attention_decoding_data("knight", params, cfg, beam_width=K, max_len=MAX_LEN)
    assert dd.word == "KNIGHT" and dd.decoder == "beam" and dd.weights.shape == (len(dd.tokens), 6)
    assert dd.phonemes == decode_phonemes(dd.tokens)


def test_page_shows_the_stored_decodings_bit_for_bit(w, tmp_path):
    """The page's compute (run in Node) reads base: equal to seqlib's numbers, every word, both decoders."""
    settings = [{"word": word, "decoder": dec, "step": step} for word in WORDS for dec in ("greedy", "beam")
                for step in (0, 2, MAX_LEN - 1)]
    page = node_compute(w, settings, tmp_path)
    for s, p in zip(settings, page):
        err, where = compare(p, w.expected(**s))
        assert err == 0.0, f"{s}: {err} at {where}"
        assert p == w.expected(**s), s  # same keys, same values, same types


def test_random_settings(w):
    ss = w.random_settings(np.random.default_rng(0), 40)
    assert {s["word"] for s in ss} == set(WORDS) and {s["decoder"] for s in ss} == {"greedy", "beam"}
    assert max(s["step"] for s in ss) >= 8
    for s in ss:
        assert w.check_setting(dict(s)) == s


def test_live_setting_decodes_any_word(w, model):
    """In a kernel any word is decoded (upper-cased); the widget's data follows."""
    with headless():
        v = attention_decoding_widget(model, words=["cat", "dog"], beam_width=K, max_len=MAX_LEN)
    assert v.setting == {"word": "CAT", "decoder": "greedy", "step": 0} and v.options["words"] == ["CAT", "DOG"]
    v.show(word=" zebra ", step=2)
    assert v.setting["word"] == "ZEBRA" and v.data["word"] == "ZEBRA" and v.data["source"] == "seqlib"
    ref = attention_greedy_decode(model[0], [encode_word("ZEBRA")], model[1], MAX_LEN)[0]
    assert v.data["tokens"] == list(ref.tokens) and v.data["step"] == min(2, len(ref.tokens) - 1)
    assert "ZEBRA" not in v.base["decodings"]  # the page holds the listed words only


def test_kind_and_registry(w):
    assert w.kind == "attention_decoding" and WIDGETS["attention_decoding"] == "seqlib-attention-decoding"
    assert repr(w) == "AttentionDecodingWidget({'word': 'CAT', 'decoder': 'greedy', 'step': 0})"
    assert w.options["beam_width"] == K and w.options["max_len"] == MAX_LEN
    assert set(w.base["decodings"]) == set(WORDS)


def test_greedy_only(model):
    with headless():
        v = attention_decoding_widget(model, words=["cat"], beam_width=1, max_len=MAX_LEN)
    assert v.base["decodings"]["CAT"]["beam"] is None
    with pytest.raises(ValueError, match=r"setting\['decoder'\] must be one of \['greedy'\] \(the beam width is 1\)"):
        v.show(decoder="beam")


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"checkpoint": 3}, TypeError, r"checkpoint must be None \(the book's model\), a path .* or a \(params, config\) "
                                   r"tuple, got int 3"),
    ({"checkpoint": "/nonexistent/m.npz"}, FileNotFoundError, r"checkpoint must be a \.npz file .* does not exist"),
    ({"words": "cat"}, ValueError, r"words must be a list of 1 to 24 words, got str 'cat'"),
    ({"words": []}, ValueError, r"words must be a list of 1 to 24 words"),
    ({"words": ["cat"] * 25}, ValueError, r"words must be a list of 1 to 24 words"),
    ({"words": ["cat", "Cat"]}, ValueError, r"words must be distinct \(after upper-casing\), got \['CAT'\]"),
    ({"words": ["cat", "c-t"]}, ValueError, r"words\[1\] must be a word of 1 to 24 letters A-Z and ' .*got 'c-t' "
                                            r"with characters \['-'\]"),
    ({"words": ["cat", "a" * 25]}, ValueError, r"words\[1\] must be a word of 1 to 24 letters.* with 25 letters"),
    ({"words": ["cat", 7]}, TypeError, r"words\[1\] must be a word \(a str of 1 to 24 letters A-Z and '\), got int 7"),
    ({"beam_width": 0}, ValueError, r"beam_width must be an int in \[1, 16\] \(1: greedy only\), got int 0"),
    ({"beam_width": 17}, ValueError, r"beam_width must be an int in \[1, 16\]"),
    ({"beam_width": True}, ValueError, r"beam_width must be an int in \[1, 16\].*got bool True"),
    ({"max_len": 0}, ValueError, r"max_len must be an int in \[1, 64\], got int 0"),
    ({"word": "dog"}, ValueError, r"word must be one of words \['CAT', 'BOX'\], got 'dog'"),
    ({"decoder": "sample"}, ValueError, r"decoder must be 'greedy' or, with beam_width > 1, 'beam'; got 'sample'"),
    ({"decoder": "beam", "beam_width": 1}, ValueError, r"got 'beam' with beam_width=1"),
    ({"step": 12}, ValueError, r"step must be an int in \[0, max_len - 1\] = \[0, 11\], got int 12"),
    ({"step": 1.5}, ValueError, r"step must be an int in \[0, max_len - 1\]"),
])
def test_factory_errors_name_the_argument(model, kwargs, exc, match):
    args = {"checkpoint": model, "words": ["cat", "box"], "max_len": MAX_LEN, **kwargs}
    with pytest.raises(exc, match=match), headless():
        attention_decoding_widget(**args)


def test_checkpoint_must_be_an_attention_model(tmp_path):
    plain = g2p.g2p_plain_config(D=4, H=4)
    with pytest.raises(ValueError, match=r"checkpoint must hold an attention model .*got Seq2SeqConfig"):
        attention_decoding_widget((g2p.init_g2p(plain, rng=0), plain))
    # a checkpoint file of save_checkpoint loads
    params, cfg = tiny_model()
    path = g2p.save_checkpoint(tmp_path / "m.npz", params, cfg)
    with headless():
        v = attention_decoding_widget(path, words=["cat"], max_len=MAX_LEN)
    assert v.data["tokens"] == list(attention_greedy_decode(params, [encode_word("CAT")], cfg, MAX_LEN)[0].tokens)


def test_missing_book_checkpoint_says_where(monkeypatch, tmp_path):
    from seqlib.book import committed

    monkeypatch.setattr(committed, "_REPO", tmp_path)
    monkeypatch.setattr(committed, "_PACKAGED", tmp_path / "pkg")
    with pytest.raises(FileNotFoundError, match=r"the book's G2P checkpoint is missing \(result 'g2p_model' not "
                                                r"found: .*pkg/g2p-models/attention-s0\.npz.*sweeps/results/g2p-models/"
                                                r"attention-s0\.npz.*sweeps/g2p\.py run attention-s0"):
        attention_decoding_widget()


@pytest.mark.parametrize("change, exc, match", [
    ({"word": ""}, ValueError, r"setting\['word'\] must be a word of 1 to 24 letters .*got '' with 0 letters"),
    ({"word": "naïve"}, ValueError, r"setting\['word'\] must be a word .*with characters \['Ï'\]"),
    ({"word": None}, TypeError, r"setting\['word'\] must be a word \(a str .*got NoneType None"),
    ({"decoder": "Beam"}, ValueError, r"setting\['decoder'\] must be one of \['greedy', 'beam'\], got 'Beam'"),
    ({"step": -1}, ValueError, r"setting\['step'\] \(the output step l\) must be in \[0, 11\], got -1"),
    ({"step": 12}, ValueError, r"setting\['step'\].*got 12"),
    ({"step": "2"}, TypeError, r"setting\['step'\] \(the output step l\) must be an int in \[0, 11\], got str '2'"),
    ({"step": True}, TypeError, r"setting\['step'\].*got bool True"),
])
def test_check_setting_names_the_key(w, change, exc, match):
    with pytest.raises(exc, match=match):
        w.check_setting({**w.setting, **change})
    with pytest.raises(exc, match=match):
        w.expected(**change)


def test_check_setting_keys(w):
    with pytest.raises(ValueError, match=r"exactly the keys \['word', 'decoder', 'step'\]; missing \['step'\]"):
        w.check_setting({"word": "CAT", "decoder": "greedy"})
    with pytest.raises(TypeError, match=r"setting has no keys \['k'\]"):
        w.show(k=3)
    assert w.check_setting({"word": "cat", "decoder": "beam", "step": 2.0}) == \
        {"word": "CAT", "decoder": "beam", "step": 2}


# ---------------------------------------------------------------------------------------------- size


def test_saved_state_stays_small(w):
    """16 words, both decoders: the page's copy of seqlib's decodings (printed; held to 100 kB)."""
    base = len(json.dumps(w.base))
    total = w.state_bytes()
    esm = len(type(w).esm())
    print(f"attention_decoding, {len(WORDS)} words: base {base / 1e3:.1f} kB, whole state {total / 1e3:.1f} kB "
          f"(ESM {esm / 1e3:.1f} kB)")
    assert len(w.base["decodings"]) == 16
    assert base <= 100_000 and total <= 200_000


def test_default_words_are_valid():
    assert len(DEFAULT_WORDS) == 16 == len(set(DEFAULT_WORDS))
    for word in DEFAULT_WORDS:
        assert word == word.upper() and encode_word(word)
    assert encode_phonemes(["K", "AE", "T"])[-1] == 0
