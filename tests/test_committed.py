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
    else:
        assert loaded == json.loads(path.read_text(encoding="utf-8"))


def test_every_committed_result_file_has_a_name() -> None:
    """Each file in sweeps/results/ and bench/results*.json has a name; of the G2P
    sweep's folders (one file per run), the book's checkpoint has one."""
    files = {p.relative_to(REPO).as_posix()
             for p in [*(REPO / "sweeps" / "results").iterdir(),
                       *(REPO / "bench").glob("results*.json")] if p.is_file()}
    folders = {p.name for p in (REPO / "sweeps" / "results").iterdir() if p.is_dir()}
    assert folders <= {"g2p-runs", "g2p-models", "g2p-predictions"}
    in_folders = {v for v in sl.RESULTS.values() if v.count("/") > 2}
    assert in_folders == {"sweeps/results/g2p-models/attention-s0.npz"}
    assert files == set(sl.RESULTS.values()) - in_folders


@pytest.mark.parametrize("bad", ["nope", "", 3, None, "sweeps/results/seq2seq.json"])
def test_unknown_name_is_named(bad: object) -> None:
    with pytest.raises(ValueError, match=r"name must be one of .*'seq2seq'.*got"):
        sl.results(bad)  # type: ignore[arg-type]
