"""Tests for seqlib.seq2seq.sweep: the committed sweep's runs by variant and its measurements by seed."""

import doctest
import json
from pathlib import Path

import numpy as np
import pytest

import seqlib.seq2seq.sweep as sw
from seqlib.seq2seq.sweep import Seq2SeqSweep, seq2seq_sweep

REPO = Path(__file__).resolve().parents[1]

RUNS = [
    {"variant": "a", "seed": 0, "acc": 0.5, "curve": [1.0, 2.0]},
    {"variant": "b", "seed": 0, "acc": 0.7, "curve": [3.0, 4.0]},
    {"variant": "a", "seed": 1, "acc": 0.6, "curve": [5.0, 6.0]},
    {"variant": "b", "seed": 1, "acc": 0.8},
]


def test_runs_by_variant_and_columns_by_seed():
    s = Seq2SeqSweep(settings={"seeds": [0, 1]}, runs=RUNS)
    assert s.variants == ("a", "b")
    assert s.seeds == (0, 1)
    assert [r["seed"] for r in s.runs_of("b")] == [0, 1]
    np.testing.assert_array_equal(s.col("a", "acc"), [0.5, 0.6])
    np.testing.assert_array_equal(s.col("a", "curve"), [[1.0, 2.0], [5.0, 6.0]])


def test_unknown_variant_and_missing_key_are_named():
    s = Seq2SeqSweep(settings={}, runs=RUNS)
    with pytest.raises(ValueError, match=r"variant must be one of \['a', 'b'\], got 'c'"):
        s.runs_of("c")
    with pytest.raises(ValueError, match="variant must be one of"):
        s.col(3, "acc")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"'curve' is not recorded by the 'b' runs of seeds \[1\]"):
        s.col("b", "curve")


@pytest.mark.parametrize("settings, runs, err, match", [
    ([], RUNS, TypeError, "settings must be a mapping"),
    ({}, "runs", TypeError, "runs must be a sequence"),
    ({}, [{"seed": 0}], ValueError, r"runs\[0\] must be a mapping with the keys 'variant' and 'seed'"),
    ({}, [3], ValueError, r"runs\[0\] must be a mapping"),
])
def test_bad_arguments_are_named(settings, runs, err, match):
    with pytest.raises(err, match=match):
        Seq2SeqSweep(settings=settings, runs=runs)


def test_the_committed_sweep_is_the_repository_file():
    data = json.loads((REPO / "sweeps" / "results" / "seq2seq.json").read_text())
    s = seq2seq_sweep()
    assert s.settings == data["settings"] and list(s.runs) == data["runs"]
    assert list(s.variants) == data["settings"]["variants"]
    assert list(s.seeds) == data["settings"]["seeds"]
    for v in s.variants:
        assert s.col(v, "test_greedy_acc").shape == (len(s.seeds),)


def test_docstring_example():
    assert doctest.testmod(sw).failed == 0
