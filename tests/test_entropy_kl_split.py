"""seqlib.loss.entropy_kl_split: cross-entropy = entropy of the labels + KL, input by input."""

from __future__ import annotations

import numpy as np
import pytest

from seqlib.loss import cross_entropy, entropy_kl_split, log_softmax


def test_the_two_terms_add_up_to_the_mean_loss_of_each_input():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 5, size=(6, 4))
    counts[:, 0] += 1                                   # every row has a label
    logits = rng.normal(scale=3.0, size=(6, 4))
    H, KL = entropy_kl_split(logits, counts)
    assert H.shape == KL.shape == (6,)
    # the mean loss of input n's examples, one example per label occurrence
    for n in range(6):
        labels = np.repeat(np.arange(4), counts[n])
        mean_loss = cross_entropy(np.tile(logits[n], (len(labels), 1)), labels).mean()
        assert np.isclose(H[n] + KL[n], mean_loss, rtol=1e-12)
    assert np.all(KL > 0) and np.all(H >= 0)


def test_known_values():
    counts = np.array([[8, 2, 0, 0], [0, 5, 5, 0], [0, 0, 0, 10]])
    H, KL = entropy_kl_split(np.zeros((3, 4)), counts)
    assert np.isclose(H[0], -(0.8 * np.log(0.8) + 0.2 * np.log(0.2)))
    assert np.isclose(H[1], np.log(2)) and H[2] == 0.0
    # uniform prediction: H(q, p) = log V for every input
    assert np.allclose(H + KL, np.log(4))


def test_kl_vanishes_when_the_model_predicts_the_label_frequencies():
    counts = np.array([[3, 1, 0], [1, 1, 2]])
    q = counts / counts.sum(axis=1, keepdims=True)
    logits = np.where(q > 0, np.log(np.where(q > 0, q, 1.0)), -1e4)
    _, KL = entropy_kl_split(logits, counts)
    assert np.allclose(KL, 0.0, atol=1e-12)
    _, KL_off = entropy_kl_split(logits + [[0.0, 0.5, 0.0], [0.0, 0.0, 0.0]], counts)
    assert KL_off[0] > 0 and np.isclose(KL_off[1], 0.0, atol=1e-12)


def test_float32_and_shift_invariance():
    counts = np.array([[1.0, 2.0, 3.0]])
    logits = np.array([[0.1, -0.4, 2.0]])
    H, KL = entropy_kl_split(logits, counts)
    H2, KL2 = entropy_kl_split(logits + 100.0, counts)
    assert np.allclose(KL, KL2) and np.allclose(H, H2)
    q = counts / counts.sum()
    assert np.isclose(KL[0], (q * (np.log(q) - log_softmax(logits))).sum())


@pytest.mark.parametrize("logits, counts, err, match", [
    (np.zeros((2, 3)), np.ones((2, 4)), ValueError, "counts must have shape"),
    (np.zeros(3), np.ones(3), ValueError, "2-D"),
    (np.zeros((2, 3)), [[1, 0, 0], [0, 0, 0]], ValueError, "positive sum"),
    (np.zeros((1, 2)), [[1, -1]], ValueError, "non-negative"),
    (np.array([[np.nan, 0.0]]), [[1, 1]], ValueError, "finite"),
    ("abc", [[1, 1]], TypeError, "numeric"),
])
def test_bad_arguments_are_named(logits, counts, err, match):
    with pytest.raises(err, match=match):
        entropy_kl_split(logits, counts)
