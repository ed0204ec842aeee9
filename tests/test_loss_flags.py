"""seqlib.loss.loss_flags: the seven flag settings sequence_loss accepts, and only those."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqlib.loss import sequence_loss, sequence_loss_backward
from seqlib.loss.loss_flags import FLAG_NAMES, flag_settings

Z = np.zeros((2, 3, 4))
Y = np.zeros((2, 3), dtype=int)
W = np.ones((2, 3))


def test_seven_distinct_settings_every_flag_named():
    settings = flag_settings()
    assert len(settings) == 7
    assert all(tuple(kw) == FLAG_NAMES for kw in settings)
    assert len({tuple(kw.values()) for kw in settings}) == 7


def test_first_is_the_default_and_last_sets_nothing():
    first, last = flag_settings()[0], flag_settings()[-1]
    np.testing.assert_array_equal(sequence_loss(Z, Y, W, **first), sequence_loss(Z, Y, W))
    assert not any(last.values())
    assert sequence_loss(Z, Y, W, **last).shape == (2, 3)


def test_new_dicts_each_call():
    a = flag_settings()
    a[0]["sum_over_batch"] = True
    assert flag_settings()[0]["sum_over_batch"] is False


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=4)))
def test_exactly_the_listed_settings_are_accepted(flags):
    kw = dict(zip(FLAG_NAMES, flags))
    if kw in flag_settings():
        sequence_loss(Z, Y, W, **kw)
        sequence_loss_backward(Z, Y, W, **kw)
    else:
        with pytest.raises(ValueError):
            sequence_loss(Z, Y, W, **kw)


def test_flag_names_are_sequence_losss_own():
    from seqlib.loss import seq_loss

    assert FLAG_NAMES == seq_loss._FLAG_NAMES
