"""seqlib.training.experiments: the Experiments chapter's language model, shared by its pages."""

from __future__ import annotations

import numpy as np
import pytest

import seqlib as sl
from seqlib.training.experiments import reber_batches, reber_eval_set, reber_sample_entropy, train_reber_lm


def test_batches_are_the_chapter_batches() -> None:
    x, y, w = reber_batches(3, batch=5)
    rx, ry, rw = sl.lm_batch(sl.embedded_reber_strings(5, 3))
    np.testing.assert_array_equal(x, rx)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(w, rw)


def test_eval_set_defaults_are_the_chapter_strings() -> None:
    strings, (x, y, w) = reber_eval_set()
    assert strings == sl.embedded_reber_strings(1000, rng=123)
    assert x.shape[0] == y.shape[0] == w.shape[0] == 1000


def test_training_is_the_chapter_code() -> None:
    """Same weights, batches and optimizer as the chapter's train_lm: the same run."""
    _, eval_lm = reber_eval_set(20, rng=5)
    params, hist = train_reber_lm((4, 12), seed=2, eval_data=eval_lm, steps=6, eval_every=3,
                                  hidden=8, batch=4)
    V = len(sl.REBER_VOCAB)
    ref = sl.init_rnn_params(V, 8, V, rng=2)
    ref_hist = sl.train_rnn(ref, lambda rng: sl.lm_batch(sl.embedded_reber_strings(4, rng)), 6,
                            optimizer=sl.Adam(lr=0.01), rng=6, truncate=(4, 12),
                            eval_data=eval_lm, eval_every=3)
    np.testing.assert_array_equal(hist.loss, ref_hist.loss)
    np.testing.assert_array_equal(hist.eval_loss, ref_hist.eval_loss)
    for k in ref:
        np.testing.assert_array_equal(params[k], ref[k])


def test_training_without_eval_data_scores_nothing_in_between() -> None:
    _, hist = train_reber_lm(seed=0, steps=3, hidden=4, batch=2)
    assert len(hist.loss) == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"steps": 0}, "steps"),
    ({"hidden": "8"}, "hidden"), ({"lr": 0.0}, "lr"), ({"batch": True}, "batch"),
    ({"truncate": 0}, "truncate"),
])
def test_bad_training_arguments_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        train_reber_lm(**kwargs)


def test_sample_entropy_counts_choices_and_tokens() -> None:
    # BTBTXSETE: 9 letters, 4 choices (the outer T and T, X, S of the inner string)
    s = "BTBTXSETE"
    assert sl.is_valid_embedded_reber(s)
    assert reber_sample_entropy([s]) == pytest.approx(4 * np.log(2) / 10)
    strings = sl.embedded_reber_strings(4000, rng=1)
    exact = sl.embedded_reber_stats()["entropy_per_token"]
    assert reber_sample_entropy(strings) == pytest.approx(exact, rel=0.03)


@pytest.mark.parametrize("bad", [[], "BTBTXSETE", ["BTBTXSEPE"], None])
def test_sample_entropy_rejects_what_is_not_embedded_reber(bad: object) -> None:
    with pytest.raises(ValueError, match="strings"):
        reber_sample_entropy(bad)
