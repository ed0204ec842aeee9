"""Tests of seqlib.loss.masking: sequence_mask, pad_sequences, one_hot."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seqlib.loss import cross_entropy_backward, sequence_loss, sequence_loss_backward, softmax
from seqlib.loss.masking import one_hot, pad_sequences, sequence_mask

# ---------------------------------------------------------------------------
# sequence_mask
# ---------------------------------------------------------------------------


def test_sequence_mask_basic():
    np.testing.assert_array_equal(
        sequence_mask([1, 3, 2, 0]),
        [[1, 0, 0], [1, 1, 1], [1, 1, 0], [0, 0, 0]],
    )
    assert sequence_mask([1, 3]).dtype == np.float64


def test_sequence_mask_tf_docstring_example():
    # tf.sequence_mask([1, 3, 2], 5) from the TensorFlow documentation
    np.testing.assert_array_equal(
        sequence_mask([1, 3, 2], 5, dtype=bool),
        [[True, False, False, False, False], [True, True, True, False, False], [True, True, False, False, False]],
    )


def test_sequence_mask_maxlen_shorter_than_lengths_is_all_ones():
    # TF semantics: t < lengths[b] for t in range(maxlen), no error
    np.testing.assert_array_equal(sequence_mask([5, 1], maxlen=2), [[1, 1], [1, 0]])
    assert sequence_mask([2, 1], maxlen=0).shape == (2, 0)


def test_sequence_mask_nd_and_empty_and_dtypes():
    m = sequence_mask([[1, 2], [0, 3]])
    assert m.shape == (2, 2, 3)
    np.testing.assert_array_equal(m[1, 1], [1, 1, 1])
    assert sequence_mask([]).shape == (0, 0)
    assert sequence_mask(np.array([2.0, 1.0]), dtype=np.int32).dtype == np.int32
    assert sequence_mask([2], dtype=np.float32).dtype == np.float32
    assert sequence_mask(3).shape == (3,)


def test_sequence_mask_validation():
    with pytest.raises(ValueError, match="lengths must be non-negative, got -1"):
        sequence_mask([2, -1])
    with pytest.raises(TypeError, match="lengths must hold integers"):
        sequence_mask([1.5, 2])
    with pytest.raises(TypeError, match="lengths must be an integer array"):
        sequence_mask(["a"])
    with pytest.raises(ValueError, match="maxlen must be >= 0, got -2"):
        sequence_mask([1], maxlen=-2)
    with pytest.raises(TypeError, match="maxlen must be a non-negative int"):
        sequence_mask([1], maxlen=2.0)
    with pytest.raises(TypeError, match="maxlen must be a non-negative int"):
        sequence_mask([1], maxlen=True)
    with pytest.raises(TypeError, match="dtype must be a numeric or bool dtype"):
        sequence_mask([1], dtype=str)


@settings(max_examples=50, deadline=None)
@given(
    lengths=hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), elements=st.integers(0, 8)),
    maxlen=st.one_of(st.none(), st.integers(0, 10)),
)
def test_sequence_mask_properties(lengths, maxlen):
    m = sequence_mask(lengths, maxlen=maxlen)
    T = int(lengths.max()) if maxlen is None else maxlen
    assert m.shape == lengths.shape + (T,)
    assert set(np.unique(m)) <= {0.0, 1.0}
    np.testing.assert_array_equal(m.sum(axis=-1), np.minimum(lengths, T))
    assert np.all(np.diff(m, axis=-1) <= 0)  # a prefix of ones, then zeros


# ---------------------------------------------------------------------------
# pad_sequences
# ---------------------------------------------------------------------------


def test_pad_sequences_basic():
    padded, lengths = pad_sequences([[5, 6, 7], [8], []])
    np.testing.assert_array_equal(padded, [[5, 6, 7], [8, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1, 0])
    assert padded.dtype == np.dtype(int) and lengths.dtype == np.int64


def test_pad_sequences_maxlen_value_dtype():
    padded, lengths = pad_sequences([[1, 2], [3]], maxlen=4, value=-1)
    np.testing.assert_array_equal(padded, [[1, 2, -1, -1], [3, -1, -1, -1]])
    np.testing.assert_array_equal(lengths, [2, 1])
    padded, _ = pad_sequences([[0.5, 1.5], [2.5]], dtype=float, value=np.nan)
    np.testing.assert_array_equal(padded, [[0.5, 1.5], [2.5, np.nan]])


def test_pad_sequences_value_validation():
    with pytest.raises(TypeError, match="value must be an integer for .* dtype, got 0.5"):
        pad_sequences([[1]], value=0.5)
    with pytest.raises(TypeError, match="value must be a number"):
        pad_sequences([[1]], value="pad")
    with pytest.raises(TypeError, match="value must be an integer for int64 dtype, got inf"):
        pad_sequences([[1]], value=np.inf, dtype=np.int64)


def test_pad_sequences_too_long_is_an_error_by_default():
    with pytest.raises(ValueError, match=r"seqs\[1\] has length 4 > maxlen=3.*truncating="):
        pad_sequences([[1, 2], [1, 2, 3, 4]], maxlen=3)


def test_pad_sequences_truncating():
    seqs = [[1, 2, 3, 4], [5]]
    padded, lengths = pad_sequences(seqs, maxlen=2, truncating="pre")
    np.testing.assert_array_equal(padded, [[3, 4], [5, 0]])
    np.testing.assert_array_equal(lengths, [2, 1])
    padded, lengths = pad_sequences(seqs, maxlen=2, truncating="post")
    np.testing.assert_array_equal(padded, [[1, 2], [5, 0]])
    padded, lengths = pad_sequences(seqs, maxlen=0, truncating="post")
    assert padded.shape == (2, 0)
    np.testing.assert_array_equal(lengths, [0, 0])
    with pytest.raises(ValueError, match=r"truncating must be one of .*got 'middle'"):
        pad_sequences(seqs, maxlen=2, truncating="middle")


def test_pad_sequences_empty_and_features():
    padded, lengths = pad_sequences([])
    assert padded.shape == (0, 0) and lengths.shape == (0,)
    feats = [np.ones((2, 3)), np.full((1, 3), 2.0)]
    padded, lengths = pad_sequences(feats, dtype=float)
    assert padded.shape == (2, 2, 3)
    np.testing.assert_array_equal(padded[1], [[2, 2, 2], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"seqs\[1\] must have feature shape \(3,\) like seqs\[0\], got shape \(1, 4\)"):
        pad_sequences([np.ones((2, 3)), np.ones((1, 4))], dtype=float)


def test_pad_sequences_input_validation():
    with pytest.raises(TypeError, match=r"seqs\[0\] must hold integers"):
        pad_sequences([[1.5, 2.0]])
    padded, _ = pad_sequences([[1.0, 2.0]])  # integral floats are fine
    np.testing.assert_array_equal(padded, [[1, 2]])
    with pytest.raises(TypeError, match=r"seqs\[1\] must be a sequence"):
        pad_sequences([[1], 2])
    with pytest.raises(TypeError, match=r"seqs\[0\] must be a sequence"):
        pad_sequences(["abc"])
    with pytest.raises(TypeError, match="seqs must be a sequence of sequences"):
        pad_sequences("abc")
    with pytest.raises(TypeError, match="seqs must be a sequence of sequences"):
        pad_sequences(5)
    with pytest.raises(TypeError, match=r"seqs\[0\] must be numeric"):
        pad_sequences([["a", "b"]], dtype=float)
    with pytest.raises(ValueError, match="maxlen must be >= 0"):
        pad_sequences([[1]], maxlen=-1)
    with pytest.raises(TypeError, match="maxlen must be a non-negative int"):
        pad_sequences([[1]], maxlen=1.5)


@settings(max_examples=50, deadline=None)
@given(
    seqs=st.lists(st.lists(st.integers(-5, 99), max_size=6), max_size=5),
    extra=st.integers(0, 3),
    value=st.integers(-3, 3),
)
def test_pad_sequences_round_trip(seqs, extra, value):
    longest = max((len(s) for s in seqs), default=0)
    padded, lengths = pad_sequences(seqs, maxlen=longest + extra, value=value)
    assert padded.shape == (len(seqs), longest + extra)
    np.testing.assert_array_equal(lengths, [len(s) for s in seqs])
    for b, s in enumerate(seqs):
        assert padded[b, : len(s)].tolist() == s
        assert np.all(padded[b, len(s):] == value)
    mask = sequence_mask(lengths, maxlen=padded.shape[1], dtype=bool)
    assert mask.shape == padded.shape


# ---------------------------------------------------------------------------
# one_hot
# ---------------------------------------------------------------------------


def test_one_hot_basic():
    np.testing.assert_array_equal(one_hot([2, 0, 1], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert one_hot([[1, 0]], 2).shape == (1, 2, 2)
    assert one_hot(1, 4).shape == (4,)
    assert one_hot([1], 2, dtype=bool).dtype == np.bool_
    assert one_hot([1.0], 2).dtype == np.float64


def test_one_hot_validation():
    with pytest.raises(ValueError, match=r"indices must be in \[0, depth\) = \[0, 3\), got 3 at index \(1,\)"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match=r"indices .* got -1"):
        one_hot([-1], 3)
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        one_hot([0], 0)
    with pytest.raises(TypeError, match="depth must be a positive int"):
        one_hot([0], 2.0)
    with pytest.raises(TypeError, match="indices must hold integers"):
        one_hot([0.5], 2)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), depth=st.integers(1, 6))
def test_one_hot_properties(data, depth):
    idx = data.draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=st.integers(0, depth - 1)))
    oh = one_hot(idx, depth)
    assert oh.shape == idx.shape + (depth,)
    np.testing.assert_array_equal(oh.sum(axis=-1), 1.0)
    np.testing.assert_array_equal(oh.argmax(axis=-1), idx)


def test_one_hot_gives_cross_entropy_gradient():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 5))
    y = rng.integers(0, 5, size=4)
    np.testing.assert_allclose(cross_entropy_backward(z, y), softmax(z) - one_hot(y, 5), rtol=1e-15, atol=1e-16)


# ---------------------------------------------------------------------------
# the pieces together: padding never reaches the loss
# ---------------------------------------------------------------------------


def test_padding_does_not_change_loss_or_gradient():
    rng = np.random.default_rng(1)
    seqs = [[1, 2, 3], [4], [0, 0]]
    targets, lengths = pad_sequences(seqs, maxlen=5)
    weights = sequence_mask(lengths, maxlen=5)
    logits = rng.normal(size=(3, 5, 6))
    base = sequence_loss(logits, targets, weights)
    garbage = np.where(weights[..., None] == 0, rng.normal(scale=1e3, size=logits.shape), logits)
    assert sequence_loss(garbage, targets, weights) == pytest.approx(float(base), rel=1e-14)
    g = sequence_loss_backward(garbage, targets, weights)
    np.testing.assert_array_equal(g[weights == 0], 0.0)
    # the mean over the 6 real tokens, computed one sequence at a time
    total = 0.0
    for b, s in enumerate(seqs):
        for t, y in enumerate(s):
            lp = logits[b, t] - logits[b, t].max()
            total += math.log(np.exp(lp).sum()) - lp[y]
    assert float(base) == pytest.approx(total / 6, rel=1e-13)
