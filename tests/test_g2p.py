"""Tests for seqlib.attention.data (the shipped CMUdict split, its splits and its scoring) and seqlib.attention.g2p."""

from __future__ import annotations

import fnmatch
import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pytest

import seqlib.attention.data as gd
import seqlib.attention.g2p as g2p

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path("/work/shared/data/cmudict-g2p-split")


# ----------------------------------------------------------------------------- the files


def test_data_files_match_sha256sums_and_travel_with_the_licence():
    d = gd.CMUDICT_DIR
    assert d == ROOT / "seqlib" / "_data" / "cmudict"
    listed = dict(reversed(line.split()) for line in (d / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert set(listed) == {"train.tsv", "test.tsv"}
    for name, digest in listed.items():
        assert hashlib.sha256((d / name).read_bytes()).hexdigest() == digest, name
    licence = (d / "LICENSE-CMUdict").read_text(encoding="utf-8")
    assert "Carnegie Mellon University" in licence and "Redistributions" in licence
    assert "Bisani" in (d / "README.md").read_text(encoding="utf-8")
    assert gd.verify_cmudict() == listed


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared copy of the split is not on this machine")
def test_data_files_are_byte_for_byte_the_shared_copy():
    for name in ("train.tsv", "test.tsv", "LICENSE-CMUdict", "SHA256SUMS", "README.md"):
        assert (gd.CMUDICT_DIR / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_wheel_package_data_covers_the_data():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "seqlib*" in conf["tool"]["setuptools"]["packages"]["find"]["include"]  # seqlib._data.cmudict found
    patterns = conf["tool"]["setuptools"]["package-data"]["seqlib._data.cmudict"]
    for p in gd.CMUDICT_DIR.iterdir():
        assert any(fnmatch.fnmatch(p.name, pat) for pat in patterns), f"{p.name} is not in pyproject's package-data"


def test_verify_refuses_a_changed_or_orphaned_file(tmp_path):
    for name in ("train.tsv", "test.tsv", "SHA256SUMS", "LICENSE-CMUdict"):
        (tmp_path / name).write_bytes((gd.CMUDICT_DIR / name).read_bytes())
    gd.verify_cmudict(tmp_path)
    (tmp_path / "test.tsv").write_bytes((gd.CMUDICT_DIR / "test.tsv").read_bytes() + b"ZZZ\tZ\n")
    with pytest.raises(ValueError, match="test.tsv must have SHA-256 9beeeed7.*the file is not the published one"):
        gd.verify_cmudict(tmp_path)
    (tmp_path / "LICENSE-CMUdict").unlink()
    with pytest.raises(FileNotFoundError, match="LICENSE-CMUdict must lie in"):
        gd.verify_cmudict(tmp_path)


# ----------------------------------------------------------------------------- the loader


def test_counts_symbols_and_disjointness_are_the_published_ones():
    train, test = gd.read_lexicon("train"), gd.read_lexicon("test")
    assert (len(train), sum(map(len, train.values()))) == (106_837, 113_438)
    assert (len(test), sum(map(len, test.values()))) == (12_000, 12_753)
    assert not set(train) & set(test)
    for lex in (train, test):
        assert set("".join(lex)) == set(gd.GRAPHEMES)
        assert {p for prons in lex.values() for pr in prons for p in pr} == set(gd.PHONEMES)
    assert len(gd.GRAPHEMES) == 27 and len(gd.PHONEMES) == 39 and len(gd.G2P_TGT_VOCAB) == 41


def test_splits_hold_out_words_not_pairs_and_are_seeded():
    s = gd.load_cmudict(1000, seed=3)
    assert len(s.valid) == 1000 and not set(s.valid) & set(s.train) and not set(s.valid) & set(s.test)
    full = gd.read_lexicon("train")
    assert {**s.train, **s.valid} == full  # every pronunciation of a held-out word is held out with it
    assert len(s.pairs("train")) + len(s.pairs("valid")) == 113_438
    assert s.pairs("test") == gd.lexicon_pairs(s.test) and len(s.pairs("test")) == 12_753
    assert gd.load_cmudict(1000, seed=3).valid == s.valid
    assert gd.load_cmudict(1000, seed=4).valid != s.valid
    assert "valid: 1000 words" in repr(s)
    with pytest.raises(ValueError, match=r"n_valid must be in \[0, 106837\)"):
        gd.load_cmudict(10 ** 6)
    with pytest.raises(ValueError, match="split must be one of"):
        s.pairs("dev")


def test_every_pronunciation_is_its_own_pair_even_when_lines_are_apart():
    lex = gd.parse_lexicon("READ\tR IY D\nRED\tR EH D\nREAD\tR EH D\n")
    assert lex == {"READ": [("R", "IY", "D"), ("R", "EH", "D")], "RED": [("R", "EH", "D")]}
    assert gd.lexicon_pairs(lex) == [("READ", ("R", "IY", "D")), ("READ", ("R", "EH", "D")), ("RED", ("R", "EH", "D"))]


@pytest.mark.parametrize("text, msg", [
    ("CAT K AE T", r"text line 1 must be WORD<TAB>PHONEMES"),
    ("cat\tK AE T", r"text line 1: a word must be spelled with the 27 graphemes ' and A-Z, got 'cat'"),
    ("CAT\tK AE1 T", r"text line 1: a pronunciation must use the 39 phonemes of PHONEMES, got \['AE1'\]"),
    ("CAT\t", r"text line 1: a pronunciation must hold at least one phoneme"),
    ("CAT\tK AE T\nCAT\tK AE T", r"text line 2 repeats the pronunciation 'K AE T' of 'CAT'"),
])
def test_parse_lexicon_names_the_bad_line(text, msg):
    with pytest.raises(ValueError, match=msg):
        gd.parse_lexicon(text)


def test_encoding_round_trips():
    assert gd.encode_word("CAT") == [3, 1, 20] and gd.encode_word("'") == [0]
    ids = gd.encode_phonemes(("K", "AE", "T"))
    assert ids[-1] == gd.G2P_EOS and gd.decode_phonemes(ids) == ("K", "AE", "T")
    assert gd.decode_phonemes(ids + [5, 6]) == ("K", "AE", "T")  # stops at the first EOS
    with pytest.raises(ValueError, match=r"ids must be phoneme ids in \[2, 41\) or eos=0, got 1"):
        gd.decode_phonemes([5, gd.G2P_BOS])
    with pytest.raises(ValueError, match="a word must be spelled"):
        gd.encode_word("CAT-DOG")


# ----------------------------------------------------------------------------- scoring


def test_edit_distance_hand_cases():
    assert gd.edit_distance("KITTEN", "SITTING") == 3
    assert gd.edit_distance([], ["A", "B"]) == 2 and gd.edit_distance(["A"], []) == 1
    assert gd.edit_distance(["K", "AE", "T"], ["K", "AE", "T"]) == 0
    assert gd.edit_distance(["AE", "K", "T"], ["K", "AE", "T"]) == 2  # no transpositions


def test_wer_and_per_on_hand_made_cases():
    refs = {
        "A": [("EY",), ("AH",)],  # two references: matching the second one is right
        "CAT": [("K", "AE", "T")],  # 1 substitution
        "READ": [("R", "IY", "IY", "D"), ("R", "EH", "D", "Z")],  # closest: the second (distance 1, length 4)
        "TO": [("T", "UW")],  # empty hypothesis: 2 deletions
    }
    hyps = {"A": ("AH",), "CAT": ("K", "AH", "T"), "READ": "R EH D", "TO": ()}
    s = gd.g2p_score(hyps, refs)
    assert (s.n_words, s.n_wrong) == (4, 3) and s.wer == 0.75
    # edits: 0 + 1 + 1 + 2; lengths of the closest references: 1 + 3 + 4 + 2
    assert (s.edits, s.ref_phonemes) == (4, 10) and s.per == 0.4
    assert s.distance.tolist() == [0, 1, 1, 2] and s.closest.tolist() == [1, 0, 1, 0]
    # a tie goes to the first reference in file order, which sets the denominator
    tie = gd.g2p_score({"W": ("AA", "B")}, {"W": [("AA", "B", "CH"), ("AA",)]})
    assert (tie.edits, tie.ref_phonemes, tie.closest.tolist()) == (1, 3, [0])
    tie2 = gd.g2p_score({"W": ("AA", "B")}, {"W": [("AA",), ("AA", "B", "CH")]})
    assert (tie2.edits, tie2.ref_phonemes, tie2.closest.tolist()) == (1, 1, [0])


def test_scoring_the_references_themselves_is_perfect_and_names_bad_keys():
    test = gd.read_lexicon("test")
    s = gd.g2p_score({w: p[-1] for w, p in test.items()}, test)
    assert (s.wer, s.per, s.n_words) == (0.0, 0.0, 12_000)
    with pytest.raises(ValueError, match=r"hypotheses must hold every reference word, 1 missing \(first: 'CAT'\)"):
        gd.g2p_score({}, {"CAT": [("K", "AE", "T")]})
    with pytest.raises(ValueError, match=r"hypotheses must hold only reference words, 1 are not \(first: 'DOG'\)"):
        gd.g2p_score({"CAT": "K AE T", "DOG": "D AO G"}, {"CAT": [("K", "AE", "T")]})


def test_predictions_files_round_trip(tmp_path):
    hyps = {"CAT": ("K", "AE", "T"), "A": (), "READ": ("R", "EH", "D")}
    gd.write_g2p_predictions(tmp_path / "p.tsv", hyps)
    assert (tmp_path / "p.tsv").read_bytes() == b"CAT\tK AE T\nA\t\nREAD\tR EH D\n"
    assert gd.read_g2p_predictions(tmp_path / "p.tsv") == hyps
    (tmp_path / "q.tsv").write_text("CAT\tK AE T\nCAT\tK AH T\n")
    with pytest.raises(ValueError, match="q.tsv line 2 lists 'CAT' a second time"):
        gd.read_g2p_predictions(tmp_path / "q.tsv")


# ----------------------------------------------------------------------------- training, checkpoints, transcribe


def _tiny(seed=0, **kw):
    cfg = g2p.g2p_config(D=8, H_enc=8, H=12, A=8, **kw)
    return cfg, g2p.init_attention_seq2seq(cfg, rng=seed)


def test_bucket_batches_cover_every_pair_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    s, t = rng.integers(1, 20, 1000), rng.integers(2, 20, 1000)
    batches = g2p.bucket_batches(s, t, 16, rng=1, pool=8)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert max(map(len, batches)) == 16
    spread = np.mean([s[b].max() - s[b].min() for b in batches])
    assert spread < 0.3 * (s.max() - s.min())  # bucketed: a batch spans a small part of the lengths
    again = g2p.bucket_batches(s, t, 16, rng=1, pool=8)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_training_batches_are_make_batch():
    """train_g2p pads each batch unchecked (every pair was checked once): the arrays are make_batch's."""
    from seqlib.seq2seq.model import _check_pairs, _pad_batch, make_batch
    src, tgt = g2p.encode_pairs(gd.lexicon_pairs(dict(list(gd.read_lexicon("test").items())[:50])))
    cfg = g2p.g2p_config()
    idx = np.array([7, 3, 40, 41, 0])
    want = make_batch([src[i] for i in idx], [tgt[i] for i in idx], cfg)
    s, t = _check_pairs(src, tgt, cfg, True)
    got = _pad_batch([s[i] for i in idx], [t[i] for i in idx], cfg)
    for k in ("src", "src_len", "dec_in", "tgt", "weights"):
        np.testing.assert_array_equal(getattr(got, k), getattr(want, k), err_msg=k)
        assert getattr(got, k).dtype == getattr(want, k).dtype, k


def test_training_lowers_the_loss_and_is_deterministic():
    pairs = gd.lexicon_pairs(dict(list(gd.read_lexicon("train").items())[:200]))
    src, tgt = g2p.encode_pairs(pairs)
    runs = []
    for _ in range(2):
        cfg, p = _tiny()
        h = g2p.train_g2p(p, src, tgt, cfg, epochs=8, rng=5, batch_size=32, lr=1e-2)
        runs.append((h, p))
    np.testing.assert_array_equal(runs[0][0]["loss"], runs[1][0]["loss"])
    loss = runs[0][0]["loss"]
    assert loss[-5:].mean() < 0.7 * loss[:5].mean()
    assert runs[0][0]["epoch_end"][-1] == len(loss) and len(runs[0][0]["seconds"]) == len(loss)


def test_checkpoint_round_trip_and_transcribe(tmp_path):
    cfg, p = _tiny(score="general", cell="gru")
    path = g2p.save_checkpoint(tmp_path / "m", p, cfg, run="tiny", seed=0)
    assert path.name == "m.npz"
    p2, cfg2, meta = g2p.load_checkpoint(path)
    assert cfg2 == cfg and meta == {"run": "tiny", "seed": 0}
    assert all(np.array_equal(p[k], p2[k]) for k in p)
    words = ["cat", "READ", "O'NEIL"]
    out = g2p.transcribe(words, path, max_len=8)
    assert len(out) == 3 and all(isinstance(x, list) and all(isinstance(ph, str) for ph in x) for x in out)
    assert all(set(x) <= set(gd.PHONEMES) for x in out)
    assert out == g2p.transcribe(words, (p, cfg), max_len=8)
    # a word's output does not depend on the words decoded with it
    assert [g2p.transcribe([w], path, max_len=8)[0] for w in words] == out
    beam = g2p.transcribe(words, path, beam_width=3, max_len=8)
    assert len(beam) == 3
    assert g2p.predict(p, cfg, ["CAT"], max_len=8) == {"CAT": tuple(out[0])}
    batched = g2p.predict(p, cfg, words, max_len=8, batch_size=2)
    assert list(batched) == words and [list(v) for v in batched.values()] == out
    with pytest.raises(ValueError, match="batch_size is for greedy decoding"):
        g2p.predict(p, cfg, words, beam_width=2, batch_size=2)
    with pytest.raises(ValueError, match="a word must be spelled with the 27 graphemes"):
        g2p.transcribe(["cat dog"], path)
    with pytest.raises(TypeError, match="checkpoint must be a path"):
        g2p.transcribe(["cat"], p)
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="must be a checkpoint of format 'seqlib-g2p/1'"):
        g2p.load_checkpoint(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="V_x is fixed by the CMUdict vocabularies"):
        g2p.g2p_config(V_x=30)


def test_time_training_steps_reports_seconds():
    pairs = gd.lexicon_pairs(dict(list(gd.read_lexicon("train").items())[:300]))
    r = g2p.time_training_steps(g2p.g2p_config(D=8, H_enc=8, H=8, A=8), pairs, batch_size=16, steps=3)
    assert r["steps"] == 3 and 0 < r["min_s"] <= r["median_s"]
