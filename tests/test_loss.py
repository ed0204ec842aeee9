"""Tests of seqlib.loss: softmax, cross-entropy and the tfa-compatible sequence loss."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seqlib.book.gradcheck import gradcheck
from seqlib.loss import (
    LOSS_CONVENTIONS,
    cross_entropy,
    cross_entropy_backward,
    log_softmax,
    loss_denominator,
    sequence_loss,
    sequence_loss_backward,
    sequence_loss_normalized,
    softmax,
    token_cross_entropy,
)

FLAG_NAMES = ("average_across_timesteps", "average_across_batch", "sum_over_timesteps", "sum_over_batch")

# The 7 flag combinations tfa accepts, (avg_t, avg_b, sum_t, sum_b) -> output axes kept of (B, T).
ALLOWED = {
    (True, True, False, False): (),
    (False, False, True, True): (),
    (True, False, False, False): ("B",),
    (False, True, False, False): ("T",),
    (False, False, True, False): ("B",),
    (False, False, False, True): ("T",),
    (False, False, False, False): ("B", "T"),
}
ALL_COMBOS = list(itertools.product([True, False], repeat=4))
REJECTED = [c for c in ALL_COMBOS if c not in ALLOWED]


def flags(combo) -> dict:
    return dict(zip(FLAG_NAMES, combo))


def out_shape(combo, B, T):
    return tuple({"B": B, "T": T}[a] for a in ALLOWED[combo])


def combo_id(combo) -> str:
    short = ("avgT", "avgB", "sumT", "sumB")
    return "+".join(s for s, on in zip(short, combo) if on) or "none"


def random_problem(rng, B, T, V, zero_frac=0.3):
    logits = rng.normal(scale=2.0, size=(B, T, V))
    targets = rng.integers(0, V, size=(B, T))
    weights = rng.uniform(0.2, 2.0, size=(B, T)) * (rng.random((B, T)) > zero_frac)
    return logits, targets, weights


def reference_sequence_loss(logits, targets, weights, avg_t, avg_b, sum_t, sum_b):
    """Independent loop implementation of tfa's reductions (for comparison only)."""
    B, T, V = logits.shape
    ce = np.zeros((B, T))
    for b in range(B):
        for t in range(T):
            row = [float(v) for v in logits[b, t]]
            m = max(row)
            lse = m + math.log(sum(math.exp(v - m) for v in row))
            ce[b, t] = (lse - row[int(targets[b, t])]) * float(weights[b, t])

    def dnn(x, y):
        return 0.0 if y == 0 else x / y

    w = np.asarray(weights, dtype=float)
    if avg_t and avg_b:
        return np.float64(dnn(ce.sum(), w.sum()))
    if sum_t and sum_b:
        return np.float64(dnn(ce.sum(), np.count_nonzero(w)))
    if avg_t:
        return np.array([dnn(ce[b].sum(), w[b].sum()) for b in range(B)])
    if avg_b:
        return np.array([dnn(ce[:, t].sum(), w[:, t].sum()) for t in range(T)])
    if sum_t:
        return np.array([dnn(ce[b].sum(), np.count_nonzero(w[b])) for b in range(B)])
    if sum_b:
        return np.array([dnn(ce[:, t].sum(), np.count_nonzero(w[:, t])) for t in range(T)])
    return ce


# ---------------------------------------------------------------------------
# softmax / log_softmax
# ---------------------------------------------------------------------------


def test_softmax_rows_sum_to_one_and_match_definition():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 3, 6))
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True), rtol=1e-14)
    assert np.all(p > 0)


def test_softmax_and_log_softmax_axis():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 3))
    np.testing.assert_allclose(softmax(z, axis=0), softmax(z.T).T, rtol=1e-15)
    np.testing.assert_allclose(log_softmax(z, axis=0), log_softmax(z.T, axis=-1).T, rtol=1e-15)
    with pytest.raises(ValueError, match=r"axis must be in \[-2, 2\).*got 2"):
        softmax(z, axis=2)
    with pytest.raises(TypeError, match="axis must be an int"):
        log_softmax(z, axis=1.0)


def test_softmax_stable_at_extreme_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    p = softmax(z)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[1], 1 / 3, rtol=1e-15)
    np.testing.assert_array_equal(p[2], [0.5, 0.5, 0.0])
    lp = log_softmax(z)
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp[0], [0.0, -2e4, -1e4], rtol=1e-15)
    np.testing.assert_allclose(lp[2], [-math.log(2), -math.log(2), -2e4 - math.log(2)], rtol=1e-15)


def test_log_softmax_equals_log_of_softmax_where_finite():
    rng = np.random.default_rng(2)
    z = rng.normal(scale=30.0, size=(50, 7))
    p = softmax(z)
    finite = p > 1e-300
    np.testing.assert_allclose(log_softmax(z)[finite], np.log(p[finite]), rtol=1e-12, atol=1e-12)


def test_softmax_keeps_float32():
    z = np.ones((2, 3), dtype=np.float32)
    assert softmax(z).dtype == np.float32 and log_softmax(z).dtype == np.float32
    assert softmax([[1, 2]]).dtype == np.float64


@pytest.mark.parametrize("fn", [softmax, log_softmax])
def test_softmax_rejects_bad_input(fn):
    with pytest.raises(ValueError, match="logits must be finite"):
        fn(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="logits must have at least 1 axis"):
        fn(np.float64(1.0))
    with pytest.raises(ValueError, match="logits must have at least one class"):
        fn(np.zeros((3, 0)))
    with pytest.raises(TypeError, match="logits must be a numeric array"):
        fn("abc")


@settings(max_examples=40, deadline=None)
@given(
    z=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=st.floats(-1e4, 1e4)),
    c=st.floats(-1e3, 1e3),
)
def test_softmax_properties(z, c):
    p = softmax(z)
    lp = log_softmax(z)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    assert np.all(p >= 0) and np.all(lp <= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-12)
    # shift invariance (up to the rounding of z + c)
    np.testing.assert_allclose(softmax(z + c), p, atol=1e-9)


# ---------------------------------------------------------------------------
# cross_entropy and its gradient
# ---------------------------------------------------------------------------


def test_cross_entropy_hand_values():
    # p = (3/4, 1/4) for z = (log 3, 0): -log p_0 = log(4/3), -log p_1 = log 4
    z = np.array([[math.log(3), 0.0], [math.log(3), 0.0], [0.0, 0.0]])
    y = np.array([0, 1, 1])
    np.testing.assert_allclose(cross_entropy(z, y), [math.log(4 / 3), math.log(4), math.log(2)], rtol=1e-15)
    g = cross_entropy_backward(z, y)
    np.testing.assert_allclose(g, [[-0.25, 0.25], [0.75, -0.75], [0.5, -0.5]], rtol=1e-15)
    np.testing.assert_allclose(cross_entropy_backward(z, y, upstream=[2.0, 0.0, -1.0]), g * [[2.0], [0.0], [-1.0]])


def test_cross_entropy_any_leading_shape_and_scalar():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2, 3, 4, 5))
    y = rng.integers(0, 5, size=(2, 3, 4))
    ce, g = cross_entropy(z, y), cross_entropy_backward(z, y)
    assert ce.shape == (2, 3, 4) and g.shape == (2, 3, 4, 5)
    # the leading axes are only a batch: the same as one row at a time
    rows = [cross_entropy(zr, yr) for zr, yr in zip(z.reshape(-1, 5), y.reshape(-1))]
    np.testing.assert_allclose(ce.reshape(-1), rows, rtol=1e-13)
    np.testing.assert_allclose(g.reshape(-1, 5), [cross_entropy_backward(zr, yr) for zr, yr in
                                                  zip(z.reshape(-1, 5), y.reshape(-1))], rtol=1e-13)
    scalar = cross_entropy(np.zeros(4), 1)
    assert scalar.shape == () and np.isclose(scalar, np.log(4))


def test_cross_entropy_extreme_logits():
    z = np.array([[1e4, -1e4], [1e4, -1e4]])
    np.testing.assert_array_equal(cross_entropy(z, [0, 1]), [0.0, 2e4])
    g = cross_entropy_backward(z, [0, 1])
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, -1.0]])


def test_cross_entropy_backward_gradcheck():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(3, 4, 5))
    y = rng.integers(0, 5, size=(3, 4))
    u = rng.normal(size=(3, 4))
    g = cross_entropy_backward(z, y, upstream=u)
    err = gradcheck(lambda: float(np.sum(u * cross_entropy(z, y))), {"z": z}, {"z": g})
    assert err["z"] < 1e-7
    np.testing.assert_allclose(cross_entropy_backward(z, y).sum(axis=-1), 0.0, atol=1e-15)


def test_cross_entropy_validation():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"targets must have shape \(d0,\) with d0=3"):
        cross_entropy(z, [0, 1])
    with pytest.raises(ValueError, match=r"targets must be class indices in \[0, V\) = \[0, 4\).*got 4"):
        cross_entropy(z, [0, 1, 4])
    with pytest.raises(ValueError, match=r"targets .* got -1"):
        cross_entropy_backward(z, [0, -1, 2])
    with pytest.raises(TypeError, match="targets must hold integers"):
        cross_entropy(z, [0.5, 1, 2])
    with pytest.raises(ValueError, match=r"upstream must have the shape of targets \(3,\)"):
        cross_entropy_backward(z, [0, 1, 2], upstream=np.ones(4))


# ---------------------------------------------------------------------------
# sequence_loss: values of every flag combination
# ---------------------------------------------------------------------------

# Per-token losses fixed through softmax_loss_function, so that every reduction
# can be checked against numbers worked out by hand.
HAND_LOSSES = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
HAND_WEIGHTS = np.array([[1.0, 1.0, 0.0], [1.0, 0.5, 0.0]])
# sum w*l = 1 + 2 + 4 + 2.5 = 9.5, sum w = 3.5, count_nonzero w = 4
HAND_EXPECTED = {
    (True, True, False, False): 9.5 / 3.5,
    (False, False, True, True): 9.5 / 4,
    (True, False, False, False): [3.0 / 2.0, 6.5 / 1.5],
    (False, True, False, False): [5.0 / 2.0, 4.5 / 1.5, 0.0],  # last column: 0/0 -> 0
    (False, False, True, False): [3.0 / 2, 6.5 / 2],
    (False, False, False, True): [5.0 / 2, 4.5 / 2, 0.0],
    (False, False, False, False): [[1.0, 2.0, 0.0], [4.0, 2.5, 0.0]],
}


def fixed_losses(labels, logits):
    assert labels.shape == (6,) and logits.shape == (6, 4)
    return HAND_LOSSES.reshape(-1)


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
def test_hand_computed_reductions(combo):
    logits = np.zeros((2, 3, 4))
    targets = np.zeros((2, 3), dtype=int)
    got = sequence_loss(logits, targets, HAND_WEIGHTS, softmax_loss_function=fixed_losses, **flags(combo))
    assert got.shape == out_shape(combo, 2, 3)
    np.testing.assert_allclose(got, HAND_EXPECTED[combo], rtol=1e-15)


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
def test_hand_computed_with_real_logits(combo):
    # Token losses log 2 (uniform, V=2), log(4/3) and log 4 (z = (log 3, 0)).
    l3 = [math.log(3), 0.0]
    logits = np.array([[[0.0, 0.0], l3], [l3, [5.0, 5.0]]])
    targets = np.array([[1, 0], [1, 0]])
    weights = np.array([[2.0, 1.0], [1.0, 0.0]])
    a, b, c = math.log(2), math.log(4 / 3), math.log(4)
    expected = {
        (True, True, False, False): (2 * a + b + c) / 4,
        (False, False, True, True): (2 * a + b + c) / 3,
        (True, False, False, False): [(2 * a + b) / 3, c / 1],
        (False, True, False, False): [(2 * a + c) / 3, b / 1],
        (False, False, True, False): [(2 * a + b) / 2, c / 1],
        (False, False, False, True): [(2 * a + c) / 2, b / 1],
        (False, False, False, False): [[2 * a, b], [c, 0.0]],
    }[combo]
    np.testing.assert_allclose(sequence_loss(logits, targets, weights, **flags(combo)), expected, rtol=1e-14)


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
@pytest.mark.parametrize("shape", [(1, 1, 2), (1, 4, 3), (4, 1, 3), (3, 5, 7)])
def test_matches_loop_reference(combo, shape):
    rng = np.random.default_rng(hash(shape) % 2**32)
    logits, targets, weights = random_problem(rng, *shape)
    got = sequence_loss(logits, targets, weights, **flags(combo))
    assert got.shape == out_shape(combo, *shape[:2])
    np.testing.assert_allclose(got, reference_sequence_loss(logits, targets, weights, *combo), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
def test_uniform_logits_give_log_V(combo):
    B, T, V = 3, 4, 6
    logits = np.full((B, T, V), 0.7)
    targets = np.random.default_rng(5).integers(0, V, size=(B, T))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 1, 0]], dtype=float)  # every row and column used
    got = sequence_loss(logits, targets, mask, **flags(combo))
    expected = mask * math.log(V) if combo == (False,) * 4 else np.full(got.shape, math.log(V))
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    if not (combo[2] or combo[3]):  # weighted averages give log V for any positive weights
        w = np.random.default_rng(6).uniform(0.1, 3.0, size=(B, T))
        got = sequence_loss(logits, targets, w, **flags(combo))
        expected = w * math.log(V) if combo == (False,) * 4 else np.full(got.shape, math.log(V))
        np.testing.assert_allclose(got, expected, rtol=1e-14)
    for conv in ("tfa", "nonzero", "torch"):
        assert sequence_loss_normalized(logits, targets, mask, conv) == pytest.approx(math.log(V), rel=1e-14)
    assert sequence_loss_normalized(logits, targets, mask, "batch") == pytest.approx(
        mask.sum() / B * math.log(V), rel=1e-14
    )


def test_default_flags_are_avg_avg():
    rng = np.random.default_rng(7)
    logits, targets, weights = random_problem(rng, 2, 3, 4)
    assert sequence_loss(logits, targets, weights).shape == ()
    assert sequence_loss(logits, targets, weights) == sequence_loss(
        logits, targets, weights, average_across_timesteps=True, average_across_batch=True
    )


def test_fractional_weights_separate_avg_from_sum_over():
    # For 0/1 masks avg and sum_over agree; for fractional weights avg divides
    # by sum(w) and sum_over by count_nonzero(w).
    logits = np.zeros((1, 2, 2))
    targets = np.zeros((1, 2), dtype=int)
    w = np.array([[0.5, 0.5]])
    avg = sequence_loss(logits, targets, w)
    summ = sequence_loss(logits, targets, w, average_across_timesteps=False, average_across_batch=False,
                         sum_over_timesteps=True, sum_over_batch=True)
    assert avg == pytest.approx(math.log(2), rel=1e-15)
    assert summ == pytest.approx(0.5 * math.log(2), rel=1e-15)


def test_softmax_loss_function_called_with_keywords_and_flat_shapes():
    calls = []

    def fn(*, labels, logits):
        calls.append((labels.copy(), logits.copy()))
        return cross_entropy(logits, labels)

    rng = np.random.default_rng(8)
    logits, targets, weights = random_problem(rng, 2, 3, 4)
    got = sequence_loss(logits, targets, weights, softmax_loss_function=fn)
    np.testing.assert_allclose(got, sequence_loss(logits, targets, weights), rtol=1e-15)
    (labels, flat), = calls
    np.testing.assert_array_equal(labels, targets.reshape(-1))
    np.testing.assert_array_equal(flat, logits.reshape(6, 4))


def test_token_cross_entropy():
    rng = np.random.default_rng(9)
    logits, targets, _ = random_problem(rng, 2, 3, 4)
    tok = token_cross_entropy(logits, targets)
    assert tok.shape == (2, 3)
    np.testing.assert_allclose(tok, reference_sequence_loss(logits, targets, np.ones((2, 3)), *(False,) * 4))
    np.testing.assert_allclose(
        tok, sequence_loss(logits, targets, np.ones((2, 3)), average_across_timesteps=False, average_across_batch=False)
    )
    with pytest.raises(ValueError, match=r"targets must have shape \(B, T\)"):
        token_cross_entropy(logits, targets[:, :2])


# ---------------------------------------------------------------------------
# TensorFlow Addons' own test cases, ported.
# Source: tensorflow/addons, tensorflow_addons/seq2seq/tests/loss_test.py
# (commit 5e893ee4cc82fab68ed787124b2936e172eec665), functions get_test_data,
# test_sequence_loss, test_sequence_loss_class, test_sum_reduction,
# test_weighted_sum_reduction and test_ambiguous_order.  tfa asserts with
# rtol=atol=1e-6 against the rounded constant 1.60944; so do we.
# ---------------------------------------------------------------------------


def tfa_test_data():
    batch_size, sequence_length, number_of_classes = 2, 3, 5
    # logits[:, i, :] = i + 0.5 for every class; targets[:, i] = i; weights 1
    logits = np.stack([np.full((batch_size, number_of_classes), i + 0.5) for i in range(sequence_length)], axis=1)
    targets = np.stack([np.full(batch_size, i, dtype=np.int32) for i in range(sequence_length)], axis=1)
    weights = np.ones((batch_size, sequence_length), dtype=np.float32)
    expected_loss = 1.60944  # = log 5: uniform logits over 5 classes
    return batch_size, sequence_length, number_of_classes, logits, targets, weights, expected_loss


@pytest.mark.parametrize("average_across_timesteps", [True, False])
@pytest.mark.parametrize("average_across_batch", [True, False])
@pytest.mark.parametrize("zero_weights", [True, False])
def test_tfa_sequence_loss(average_across_timesteps, average_across_batch, zero_weights):
    batch_size, sequence_length, _, logits, targets, weights, expected_loss = tfa_test_data()
    if zero_weights:
        weights = np.zeros((batch_size, sequence_length), dtype=np.float32)
    computed = sequence_loss(
        logits, targets, weights,
        average_across_timesteps=average_across_timesteps, average_across_batch=average_across_batch,
    )
    fill = 0.0 if zero_weights else expected_loss
    if average_across_timesteps and average_across_batch:
        expected = fill
    elif average_across_batch:
        expected = np.full(sequence_length, fill)
    elif average_across_timesteps:
        expected = np.full(batch_size, fill)
    else:
        expected = np.full((batch_size, sequence_length), fill)
    assert np.shape(computed) == np.shape(expected)
    np.testing.assert_allclose(computed, expected, rtol=1e-6, atol=1e-6)


def test_tfa_sum_reduction():
    batch_size, sequence_length, _, logits, targets, weights, expected_loss = tfa_test_data()
    kw = dict(average_across_timesteps=False, average_across_batch=False)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=True, sum_over_batch=True, **kw)
    np.testing.assert_allclose(expected_loss, res, atol=1e-6, rtol=1e-6)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=False, sum_over_batch=True, **kw)
    np.testing.assert_allclose(np.full(sequence_length, expected_loss), res, atol=1e-6, rtol=1e-6)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=True, sum_over_batch=False, **kw)
    np.testing.assert_allclose(np.full(batch_size, expected_loss), res, atol=1e-6, rtol=1e-6)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=False, sum_over_batch=False, **kw)
    np.testing.assert_allclose(np.full((batch_size, sequence_length), expected_loss), res, atol=1e-6, rtol=1e-6)


def test_tfa_weighted_sum_reduction():
    batch_size, sequence_length, _, logits, targets, _, expected_loss = tfa_test_data()
    weights = np.ones((batch_size, sequence_length))
    weights[:, -1] = 0.0  # the last element of every sequence has zero weight
    kw = dict(average_across_timesteps=False, average_across_batch=False)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=True, sum_over_batch=True, **kw)
    np.testing.assert_allclose(expected_loss, res, rtol=1e-6, atol=1e-6)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=False, sum_over_batch=True, **kw)
    compare_per_sequence = np.full(sequence_length, expected_loss)
    compare_per_sequence[-1] = 0.0  # filtered out
    np.testing.assert_allclose(compare_per_sequence, res, rtol=1e-6, atol=1e-6)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=True, sum_over_batch=False, **kw)
    np.testing.assert_allclose(np.full(batch_size, expected_loss), res, rtol=1e-6, atol=1e-6)
    res = sequence_loss(logits, targets, weights, sum_over_timesteps=False, sum_over_batch=False, **kw)
    compare_total = np.full((batch_size, sequence_length), expected_loss)
    compare_total[:, -1] = 0
    np.testing.assert_allclose(compare_total, res, rtol=1e-6, atol=1e-6)


def test_tfa_ambiguous_order():
    _, _, _, logits, targets, weights, _ = tfa_test_data()
    with pytest.raises(ValueError, match="because of ambiguous order"):
        sequence_loss(logits, targets, weights, average_across_timesteps=False, average_across_batch=True,
                      sum_over_timesteps=True, sum_over_batch=False)


def test_tfa_expected_constant_is_log5():
    assert math.log(5) == pytest.approx(1.60944, abs=1e-5)


# ---------------------------------------------------------------------------
# flags
# ---------------------------------------------------------------------------


REJECT_MESSAGES = {
    "avgT+sumT": "average_across_timesteps and sum_over_timesteps cannot be set to True at same time",
    "avgB+sumB": "average_across_batch and sum_over_batch cannot be set to True at same time",
    "avgB+sumT": "average_across_batch and sum_over_timesteps cannot be set to True .*ambiguous order",
    "sumB+avgT": "sum_over_batch and average_across_timesteps cannot be set to True .*ambiguous order",
}


@pytest.mark.parametrize("pair", list(REJECT_MESSAGES))
@pytest.mark.parametrize("fn", [sequence_loss, sequence_loss_backward])
def test_the_four_rejected_pairs(pair, fn):
    names = {"avgT": FLAG_NAMES[0], "avgB": FLAG_NAMES[1], "sumT": FLAG_NAMES[2], "sumB": FLAG_NAMES[3]}
    kw = {n: False for n in FLAG_NAMES}
    for short in pair.split("+"):
        kw[names[short]] = True
    with pytest.raises(ValueError, match=REJECT_MESSAGES[pair]):
        fn(np.zeros((1, 1, 2)), [[0]], [[1.0]], **kw)


@pytest.mark.parametrize("combo", REJECTED, ids=combo_id)
def test_every_other_combination_is_rejected(combo):
    assert len(REJECTED) == 9
    with pytest.raises(ValueError, match="cannot be set to True at same time"):
        sequence_loss(np.zeros((1, 1, 2)), [[0]], [[1.0]], **flags(combo))


@pytest.mark.parametrize("name", FLAG_NAMES)
@pytest.mark.parametrize("bad", [1, 0, "yes", None, 1.0])
def test_flags_must_be_bool(name, bad):
    with pytest.raises(TypeError, match=f"{name} must be a bool"):
        sequence_loss(np.zeros((1, 1, 2)), [[0]], [[1.0]], **{name: bad})
    with pytest.raises(TypeError, match=f"{name} must be a bool"):
        sequence_loss_backward(np.zeros((1, 1, 2)), [[0]], [[1.0]], **{name: bad})


def test_numpy_bools_accepted():
    got = sequence_loss(np.zeros((1, 1, 2)), [[0]], [[1.0]], average_across_timesteps=np.bool_(False))
    want = sequence_loss(np.zeros((1, 1, 2)), [[0]], [[1.0]], average_across_timesteps=False)
    assert got.shape == (1,) and np.array_equal(got, want) and np.isclose(got[0], np.log(2))


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------

GRAD_SHAPES = [(1, 1, 2), (1, 3, 2), (3, 1, 2), (2, 4, 5)]


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
@pytest.mark.parametrize("shape", GRAD_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_sequence_loss_backward_gradcheck(combo, shape):
    B, T, V = shape
    rng = np.random.default_rng(B * 100 + T * 10 + V)
    logits, targets, weights = random_problem(rng, B, T, V)
    weights[0, 0] = 1.3  # at least one nonzero weight
    upstream = rng.normal(size=out_shape(combo, B, T))
    kw = flags(combo)
    grad = sequence_loss_backward(logits, targets, weights, upstream, **kw)
    assert grad.shape == (B, T, V)
    err = gradcheck(
        lambda: float(np.sum(upstream * sequence_loss(logits, targets, weights, **kw))), {"logits": logits},
        {"logits": grad},
    )
    assert err["logits"] < 1e-7
    # zero-weight tokens get no gradient
    np.testing.assert_array_equal(grad[weights == 0], 0.0)


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
def test_backward_default_upstream_is_ones(combo):
    rng = np.random.default_rng(10)
    logits, targets, weights = random_problem(rng, 2, 3, 4)
    kw = flags(combo)
    ones = np.ones(out_shape(combo, 2, 3))
    np.testing.assert_array_equal(
        sequence_loss_backward(logits, targets, weights, **kw),
        sequence_loss_backward(logits, targets, weights, ones, **kw),
    )


def test_backward_hand_value():
    # one token, z = (log 3, 0), y = 0, weight 2, default avg/avg: loss = 2 l / 2 = l
    g = sequence_loss_backward(np.array([[[math.log(3), 0.0]]]), [[0]], [[2.0]])
    np.testing.assert_allclose(g, [[[-0.25, 0.25]]], rtol=1e-15)
    # "batch"-style sum instead: (B, T) output with upstream 1 -> w * (p - onehot)
    g = sequence_loss_backward(np.array([[[math.log(3), 0.0]]]), [[0]], [[2.0]],
                               average_across_timesteps=False, average_across_batch=False)
    np.testing.assert_allclose(g, [[[-0.5, 0.5]]], rtol=1e-15)


def test_backward_with_softmax_loss_gradient_gradcheck():
    eps = 0.1

    def smoothed(*, labels, logits):  # label-smoothed cross-entropy
        V = logits.shape[1]
        lp = log_softmax(logits)
        return -(1 - eps) * lp[np.arange(len(labels)), labels] - eps / V * lp.sum(axis=1)

    def smoothed_grad(*, labels, logits):
        V = logits.shape[1]
        q = np.full(logits.shape, eps / V)
        q[np.arange(len(labels)), labels] += 1 - eps
        return softmax(logits) - q

    rng = np.random.default_rng(11)
    logits, targets, weights = random_problem(rng, 2, 3, 4)
    for combo in ALLOWED:
        kw = flags(combo)
        u = rng.normal(size=out_shape(combo, 2, 3))
        g = sequence_loss_backward(logits, targets, weights, u, softmax_loss_function=smoothed,
                                   softmax_loss_gradient=smoothed_grad, **kw)
        f = lambda: float(np.sum(u * sequence_loss(logits, targets, weights, softmax_loss_function=smoothed, **kw)))  # noqa: E731
        assert gradcheck(f, {"z": logits}, {"z": g})["z"] < 1e-7


def test_backward_rejects_softmax_loss_function_without_gradient():
    with pytest.raises(ValueError, match="cannot differentiate an arbitrary softmax_loss_function.*softmax_loss_gradient"):
        sequence_loss_backward(np.zeros((1, 1, 2)), [[0]], [[1.0]], softmax_loss_function=lambda labels, logits: labels)
    with pytest.raises(ValueError, match=r"softmax_loss_gradient\(labels, logits\) must return shape \(B\*T, V\) = \(1, 2\)"):
        sequence_loss_backward(np.zeros((1, 1, 2)), [[0]], [[1.0]],
                               softmax_loss_gradient=lambda labels, logits: np.zeros(2))
    with pytest.raises(TypeError, match="softmax_loss_gradient must be callable"):
        sequence_loss_backward(np.zeros((1, 1, 2)), [[0]], [[1.0]], softmax_loss_gradient=3)


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
def test_upstream_validation(combo):
    kw = flags(combo)
    args = (np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int), np.ones((2, 3)))
    right = out_shape(combo, 2, 3)
    wrong = (4,) if right != (4,) else (5,)
    with pytest.raises(ValueError, match=rf"upstream must have the shape of sequence_loss's output {re.escape(str(right))}"):
        sequence_loss_backward(*args, np.ones(wrong), **kw)
    with pytest.raises(ValueError, match="upstream must be finite"):
        sequence_loss_backward(*args, np.full(right, np.nan), **kw)
    with pytest.raises(TypeError, match="upstream must be a numeric array"):
        sequence_loss_backward(*args, "one", **kw)


# ---------------------------------------------------------------------------
# extremes and zero weights
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
def test_extreme_logits_finite(combo):
    rng = np.random.default_rng(12)
    B, T, V = 3, 4, 5
    logits = rng.choice([-1e4, 1e4], size=(B, T, V))
    targets = rng.integers(0, V, size=(B, T))
    weights = rng.uniform(0.5, 1.5, size=(B, T))
    kw = flags(combo)
    loss = sequence_loss(logits, targets, weights, **kw)
    grad = sequence_loss_backward(logits, targets, weights, rng.normal(size=out_shape(combo, B, T)), **kw)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    assert np.all(loss >= 0)
    np.testing.assert_allclose(loss, reference_sequence_loss(logits, targets, weights, *combo), rtol=1e-12)


def test_extreme_logits_exact_value():
    logits = np.array([[[1e4, -1e4], [1e4, -1e4]]])
    assert sequence_loss(logits, [[0, 1]], [[1.0, 1.0]]) == 1e4  # (0 + 2e4) / 2


@pytest.mark.parametrize("combo", list(ALLOWED), ids=combo_id)
def test_all_zero_weights_give_zero_loss_and_gradient(combo):
    rng = np.random.default_rng(13)
    logits, targets, _ = random_problem(rng, 2, 3, 4)
    weights = np.zeros((2, 3))
    kw = flags(combo)
    loss = sequence_loss(logits, targets, weights, **kw)
    assert loss.shape == out_shape(combo, 2, 3)
    np.testing.assert_array_equal(loss, 0.0)
    grad = sequence_loss_backward(logits, targets, weights, rng.normal(size=out_shape(combo, 2, 3)), **kw)
    np.testing.assert_array_equal(grad, 0.0)


def test_float32_input():
    logits = np.zeros((2, 3, 4), dtype=np.float32)
    w = np.ones((2, 3), dtype=np.float32)
    loss = sequence_loss(logits, np.zeros((2, 3), dtype=np.int32), w)
    assert loss.dtype == np.float32
    assert loss == pytest.approx(math.log(4), rel=1e-6)
    assert sequence_loss_backward(logits, np.zeros((2, 3), dtype=np.int32), w).dtype == np.float32


# ---------------------------------------------------------------------------
# invariants (hypothesis)
# ---------------------------------------------------------------------------


@st.composite
def problems(draw, min_side=1, max_side=4, max_V=5):
    B = draw(st.integers(min_side, max_side))
    T = draw(st.integers(min_side, max_side))
    V = draw(st.integers(2, max_V))
    logits = draw(hnp.arrays(np.float64, (B, T, V), elements=st.floats(-50, 50)))
    targets = draw(hnp.arrays(np.int64, (B, T), elements=st.integers(0, V - 1)))
    weights = draw(hnp.arrays(np.float64, (B, T), elements=st.sampled_from([0.0, 0.25, 1.0, 2.5])))
    combo = draw(st.sampled_from(list(ALLOWED)))
    return logits, targets, weights, combo


HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYP
@given(p=problems(), data=st.data())
def test_invariant_logit_shift(p, data):
    logits, targets, weights, combo = p
    B, T, _ = logits.shape
    shift = data.draw(hnp.arrays(np.float64, (B, T, 1), elements=st.floats(-100, 100)))
    kw = flags(combo)
    np.testing.assert_allclose(
        sequence_loss(logits + shift, targets, weights, **kw), sequence_loss(logits, targets, weights, **kw),
        rtol=1e-9, atol=1e-9,
    )


@HYP
@given(p=problems(), data=st.data())
def test_invariant_batch_permutation(p, data):
    logits, targets, weights, combo = p
    B = logits.shape[0]
    perm = np.array(data.draw(st.permutations(range(B))))
    kw = flags(combo)
    base = sequence_loss(logits, targets, weights, **kw)
    permuted = sequence_loss(logits[perm], targets[perm], weights[perm], **kw)
    expected = base[perm] if "B" in ALLOWED[combo] else base
    np.testing.assert_allclose(permuted, expected, rtol=1e-12, atol=1e-12)
    g = sequence_loss_backward(logits, targets, weights, **kw)
    np.testing.assert_allclose(
        sequence_loss_backward(logits[perm], targets[perm], weights[perm], **kw), g[perm], rtol=1e-12, atol=1e-15
    )


@HYP
@given(p=problems(), c=st.floats(0.01, 100))
def test_invariant_weight_scaling(p, c):
    logits, targets, weights, combo = p
    kw = flags(combo)
    base = sequence_loss(logits, targets, weights, **kw)
    scaled = sequence_loss(logits, targets, c * weights, **kw)
    if combo[0] or combo[1]:  # avg-normalised: divided by the (scaled) sum of weights
        np.testing.assert_allclose(scaled, base, rtol=1e-12, atol=1e-12)
    else:  # sum_over divides by a count, which does not scale; no reduction neither
        np.testing.assert_allclose(scaled, c * base, rtol=1e-12, atol=1e-12)


@HYP
@given(p=problems(), data=st.data())
def test_invariant_zero_weight_tokens_are_ignored(p, data):
    logits, targets, weights, combo = p
    B, T, V = logits.shape
    zero = weights == 0
    noise = data.draw(hnp.arrays(np.float64, (B, T, V), elements=st.floats(-1e4, 1e4)))
    new_targets = data.draw(hnp.arrays(np.int64, (B, T), elements=st.integers(0, V - 1)))
    logits2 = np.where(zero[..., None], noise, logits)
    targets2 = np.where(zero, new_targets, targets)
    kw = flags(combo)
    np.testing.assert_allclose(
        sequence_loss(logits2, targets2, weights, **kw), sequence_loss(logits, targets, weights, **kw),
        rtol=1e-12, atol=1e-12,
    )
    g = sequence_loss_backward(logits2, targets2, weights, **kw)
    np.testing.assert_array_equal(g[zero], 0.0)
    np.testing.assert_allclose(g[~zero], sequence_loss_backward(logits, targets, weights, **kw)[~zero], atol=1e-15)


@HYP
@given(p=problems())
def test_invariant_nonnegative_loss(p):
    logits, targets, weights, combo = p
    assert np.all(sequence_loss(logits, targets, weights, **flags(combo)) >= 0)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def good_args(B=2, T=3, V=4):
    return np.zeros((B, T, V)), np.zeros((B, T), dtype=int), np.ones((B, T))


@pytest.mark.parametrize("fn", [sequence_loss, sequence_loss_backward])
def test_validation_messages(fn):
    logits, targets, weights = good_args()
    with pytest.raises(ValueError, match=r"logits must have shape \(B, T, V\), got 2-D"):
        fn(logits[0], targets, weights)
    with pytest.raises(ValueError, match=r"targets must have shape \(B, T\) with B=2, T=3 .* got \(2, 4\)"):
        fn(logits, np.zeros((2, 4), dtype=int), weights)
    with pytest.raises(ValueError, match=r"weights must have shape \(B, T\) with B=2, T=3 .* got \(3, 3\)"):
        fn(logits, targets, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"weights must have shape \(B, T\), got 1-D"):
        fn(logits, targets, np.ones(6))
    with pytest.raises(TypeError, match="targets must hold integers"):
        fn(logits, targets + 0.5, weights)
    with pytest.raises(TypeError, match="targets must be an integer array"):
        fn(logits, targets.astype(bool), weights)
    with pytest.raises(ValueError, match=r"targets must be class indices in \[0, V\) = \[0, 4\) .*V=4.*got 7 at index \(1, 2\)"):
        t = targets.copy()
        t[1, 2] = 7
        fn(logits, t, weights)
    with pytest.raises(ValueError, match=r"targets .*got -2"):
        fn(logits, targets - 2, weights)
    with pytest.raises(ValueError, match="logits must be finite, got 1 NaN or inf"):
        z = logits.copy()
        z[0, 1, 2] = np.nan
        fn(z, targets, weights)
    with pytest.raises(ValueError, match="logits must be finite"):
        fn(np.full_like(logits, np.inf), targets, weights)
    with pytest.raises(ValueError, match="weights must be finite, got 2 NaN or inf"):
        w = weights.copy()
        w[0, 0], w[1, 1] = np.nan, -np.inf
        fn(logits, targets, w)
    with pytest.raises(ValueError, match="logits must have at least one class"):
        fn(np.zeros((2, 3, 0)), targets, weights)
    with pytest.raises(TypeError, match="logits must be a numeric array"):
        fn(None, targets, weights)
    with pytest.raises(TypeError, match="weights must be a numeric array"):
        fn(logits, targets, "ones")


def test_integral_float_targets_accepted():
    logits, targets, weights = good_args()
    assert sequence_loss(logits, targets.astype(float) + 1.0, weights) == pytest.approx(math.log(4))


def test_softmax_loss_function_validation():
    logits, targets, weights = good_args()
    with pytest.raises(TypeError, match="softmax_loss_function must be callable"):
        sequence_loss(logits, targets, weights, softmax_loss_function="ce")
    with pytest.raises(ValueError, match=r"softmax_loss_function\(labels, logits\) must return shape \(B\*T,\) = \(6,\)"):
        sequence_loss(logits, targets, weights, softmax_loss_function=lambda labels, logits: np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"softmax_loss_function\(labels, logits\) must be finite"):
        sequence_loss(logits, targets, weights, softmax_loss_function=lambda labels, logits: np.full(6, np.nan))


@settings(max_examples=60, deadline=None)
@given(
    B=st.integers(1, 3), T=st.integers(1, 3), V=st.integers(1, 3),
    which=st.sampled_from(["targets", "weights"]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
)
def test_fuzz_bad_shapes_name_the_argument(B, T, V, which, shape):
    assume(shape != (B, T))
    logits, targets, weights = good_args(B, T, V)
    if which == "targets":
        targets = np.zeros(shape, dtype=int)
    else:
        weights = np.ones(shape)
    for fn in (sequence_loss, sequence_loss_backward):
        with pytest.raises(ValueError, match=rf"^{which} must have shape \(B, T\)"):
            fn(logits, targets, weights)


@settings(max_examples=30, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=1, max_side=3))
def test_fuzz_bad_logits_rank(shape):
    assume(len(shape) != 3)
    with pytest.raises(ValueError, match=r"^logits must have shape \(B, T, V\)"):
        sequence_loss(np.zeros(shape), np.zeros((1, 1), dtype=int), np.ones((1, 1)))


# ---------------------------------------------------------------------------
# normalisation conventions
# ---------------------------------------------------------------------------


def test_loss_denominator_hand_values():
    w = np.array([[1.0, 1.0, 0.0], [1.0, 0.5, 0.0]])
    assert loss_denominator(w, "tfa") == 3.5
    assert loss_denominator(w, "nonzero") == 4.0
    assert loss_denominator(w, "torch") == 4.0
    assert loss_denominator(w, "batch") == 2.0
    assert loss_denominator(np.zeros((2, 3)), "torch") == 0.0  # PyTorch: 0/0 = nan
    with pytest.raises(ValueError, match=r"convention must be one of .*'torch'.*got 'mean'"):
        loss_denominator(w, "mean")
    with pytest.raises(ValueError, match="weights must be a 2-D array"):
        loss_denominator(np.ones(3), "tfa")


def test_sequence_loss_normalized_matches_sequence_loss():
    rng = np.random.default_rng(14)
    logits, targets, weights = random_problem(rng, 3, 5, 4)
    tok = token_cross_entropy(logits, targets)
    total = float(np.sum(weights * tok))
    assert sequence_loss_normalized(logits, targets, weights, "tfa") == pytest.approx(
        float(sequence_loss(logits, targets, weights)), rel=1e-14
    )
    assert sequence_loss_normalized(logits, targets, weights, "nonzero") == pytest.approx(
        float(sequence_loss(logits, targets, weights, **flags((False, False, True, True)))), rel=1e-14
    )
    assert sequence_loss_normalized(logits, targets, weights, "batch") == pytest.approx(total / 3, rel=1e-14)
    assert sequence_loss_normalized(logits, targets, weights, "torch") == pytest.approx(
        total / np.count_nonzero(weights), rel=1e-14
    )


def test_batch_convention_scales_with_length():
    # "batch" = (mean length) * "tfa" for a 0/1 mask: the learning-rate effect.
    logits = np.zeros((2, 8, 3))
    targets = np.zeros((2, 8), dtype=int)
    for L in (2, 4, 8):
        mask = (np.arange(8) < L).astype(float)[None].repeat(2, axis=0)
        assert sequence_loss_normalized(logits, targets, mask, "tfa") == pytest.approx(math.log(3))
        assert sequence_loss_normalized(logits, targets, mask, "batch") == pytest.approx(L * math.log(3))


def test_normalized_zero_weights():
    logits, targets, _ = good_args()
    zeros = np.zeros((2, 3))
    for conv in ("tfa", "nonzero", "batch"):
        assert sequence_loss_normalized(logits, targets, zeros, conv) == 0.0
    with pytest.raises(ValueError, match=r"convention='torch' is undefined when every weight is 0.*nan"):
        sequence_loss_normalized(logits, targets, zeros, "torch")
    with pytest.raises(ValueError, match="convention must be one of"):
        sequence_loss_normalized(logits, targets, zeros, "sum")
    assert set(LOSS_CONVENTIONS) == {"tfa", "nonzero", "batch", "torch"}
