"""seqlib.results: every committed result loads by name; bad names are named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import seqlib as sl

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(sl.RESULTS))
def test_each_result_loads_and_equals_the_repository_file(name: str) -> None:
    path = REPO / sl.RESULTS[name]
    assert path.is_file(), path
    loaded = sl.results(name)
    if path.suffix == ".npz":
        with loaded, np.load(path) as ref:
            assert sorted(loaded.files) == sorted(ref.files)
            for key in ref.files:
                np.testing.assert_array_equal(loaded[key], ref[key])
    elif path.suffix == ".tsv":
        lines = path.read_text(encoding="ascii").splitlines()
        assert len(loaded) == len(lines) == 12000
        assert [f"{w}\t{' '.join(p)}" for w, p in loaded.items()] == lines
    else:
        assert loaded == json.loads(path.read_text(encoding="utf-8"))


def test_every_committed_result_file_has_a_name() -> None:
    """Each file in sweeps/results/ and bench/results*.json has a name; of the G2P
    sweep's folders (one file per run), the book's checkpoint and every run's
    test predictions (beam and greedy) have one."""
    files = {p.relative_to(REPO).as_posix()
             for p in [*(REPO / "sweeps" / "results").iterdir(),
                       *(REPO / "bench").glob("results*.json")] if p.is_file()}
    folders = {p.name for p in (REPO / "sweeps" / "results").iterdir() if p.is_dir()}
    assert folders <= {"g2p-runs", "g2p-models", "g2p-predictions"}
    predictions = {p.relative_to(REPO).as_posix()
                   for p in (REPO / "sweeps" / "results" / "g2p-predictions").rglob("*.tsv")}
    assert len(predictions) == 2 * len(sl.G2P_RUNS)
    in_folders = {v for v in sl.RESULTS.values() if v.count("/") > 2}
    assert in_folders == {"sweeps/results/g2p-models/attention-s0.npz", *predictions}
    assert files == set(sl.RESULTS.values()) - in_folders


def test_packaged_path_keeps_the_subfolder() -> None:
    from seqlib.book.committed import packaged_path

    assert packaged_path("bench/results.json") == "results.json"
    assert packaged_path("sweeps/results/g2p-predictions/greedy/plain-s0.tsv") == "g2p-predictions/greedy/plain-s0.tsv"
    with pytest.raises(ValueError, match=r"rel must start with one of .*got 'data/x.json'"):
        packaged_path("data/x.json")
    packaged = [packaged_path(v) for v in sl.RESULTS.values()]
    assert len(set(packaged)) == len(packaged), "two results share a place in the wheel"


@pytest.mark.parametrize("run, decoder, match", [
    ("attention-s9", "beam", r"run must be one of \['attention-s0'.*got 'attention-s9'"),
    (0, "beam", r"run must be one of .*got 0"),
    ("plain-s0", "sampled", r"decoder must be 'beam' or 'greedy'; got 'sampled'"),
])
def test_g2p_predictions_name_names_bad_arguments(run: object, decoder: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sl.g2p_predictions_name(run, decoder)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["nope", "", 3, None, "sweeps/results/seq2seq.json"])
def test_unknown_name_is_named(bad: object) -> None:
    with pytest.raises(ValueError, match=r"name must be one of .*'seq2seq'.*got"):
        sl.results(bad)  # type: ignore[arg-type]
