"""Tests for seqlib.seq2seq.data: the numbers-to-words task and its splits."""

import numpy as np
import pytest

import seqlib.seq2seq as s2
import seqlib.seq2seq.data as nd


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (10, "ten"), (19, "nineteen"), (20, "twenty"), (60, "sixty"),
    (407, "four hundred seven"), (999, "nine hundred ninety nine"), (1000, "one thousand"),
    (12045, "twelve thousand forty five"), (100001, "one hundred thousand one"),
    (999999, "nine hundred ninety nine thousand nine hundred ninety nine"),
])
def test_number_to_words(n, words):
    assert " ".join(nd.number_to_words(n)) == words
    src, tgt = nd.encode_number(n)
    assert src == [int(c) for c in str(n)] and tgt[-1] == nd.EOS
    assert nd.decode_words(tgt) == words


def test_splits_deterministic_disjoint_and_long_lengths_unseen():
    a = nd.number_splits(200, 50, 50, 40, seed=3)
    b = nd.number_splits(200, 50, 50, 40, seed=3)
    c = nd.number_splits(200, 50, 50, 40, seed=4)
    for k in a.numbers:
        np.testing.assert_array_equal(a.numbers[k], b.numbers[k])
    assert not np.array_equal(a.numbers["train"], c.numbers["train"])
    sets = {k: set(v.tolist()) for k, v in a.numbers.items()}
    assert sum(len(v) for v in sets.values()) == len(set().union(*sets.values()))  # disjoint
    train_src = max(len(s) for s in a.sources["train"])
    assert min(len(s) for s in a.sources["long"]) > train_src
    train_tgt = {len(t) for t in a.targets["train"]}
    assert max(len(t) for t in a.targets["long"]) > max(train_tgt)
    # M != L somewhere and lengths vary
    assert any(len(s) != len(t) for s, t in zip(a.sources["train"], a.targets["train"]))
    assert len({len(s) for s in a.sources["train"]}) == 4
    # the model's batch accepts every split
    cfg = s2.Seq2SeqConfig(V_x=10, V_y=len(nd.TGT_VOCAB))
    for k in a.numbers:
        s2.make_batch(a.sources[k], a.targets[k], cfg)


def test_sample_numbers_counts_and_errors():
    x = nd.sample_numbers(50, [1, 2], rng=0)
    assert len(set(x.tolist())) == 50 and x.min() >= 1 and x.max() <= 99
    assert set(range(1, 10)) <= set(x.tolist())  # all 9 one-digit numbers get used before the pool runs dry
    with pytest.raises(ValueError, match="only 99 exist"):
        nd.sample_numbers(100, [1, 2], rng=0)
    with pytest.raises(ValueError, match="digit counts in 1..6"):
        nd.sample_numbers(3, [7], rng=0)
    with pytest.raises(ValueError, match=r"n must be in \[0, 999999\]"):
        nd.number_to_words(10 ** 6)
    with pytest.raises(TypeError, match="n must be an int"):
        nd.number_to_words(3.0)
    with pytest.raises(ValueError, match="long_digits must not overlap"):
        nd.number_splits(10, 10, 10, 10, long_digits=(4,))


def test_reverse_sources():
    assert nd.reverse_sources([[1, 2, 3], [4]]) == [[3, 2, 1], [4]]
