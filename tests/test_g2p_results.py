"""The committed G2P results (sweeps/g2p.py) are what their files say.

* Every run's committed predictions, re-scored against the shipped test
  lexicon, give the test WER and PER its JSON reports, for both decoders,
  and cover every test word once.
* Every committed checkpoint re-decodes a sample of test words to exactly
  its committed predictions (greedy and beam search), so a checkpoint and
  its predictions cannot drift apart.
* The collection ``sweeps/results/g2p.json`` holds each run's JSON as
  committed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import seqlib as sl
from seqlib.attention import g2p
from seqlib.attention.data import g2p_score, read_g2p_predictions, read_lexicon

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "sweeps" / "results"
RUNS = sorted(p.stem for p in (RESULTS / "g2p-runs").glob("*.json"))
SAMPLE = 40  # test words re-decoded per checkpoint (every 300th)


def _predictions(run: str, decoder: str) -> Path:
    return RESULTS / "g2p-predictions" / ("" if decoder == "beam" else "greedy") / f"{run}.tsv"


def test_there_are_runs_of_both_models() -> None:
    assert any(r.startswith("attention-") for r in RUNS) and any(r.startswith("plain-") for r in RUNS)


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_predictions_rescore_to_the_reported_numbers(run: str, decoder: str) -> None:
    rec = json.loads((RESULTS / "g2p-runs" / f"{run}.json").read_text())
    test = read_lexicon("test")
    hyps = read_g2p_predictions(_predictions(run, decoder))
    assert set(hyps) == set(test) and len(hyps) == rec["n_test_words"] == 12000
    score = g2p_score(hyps, test)
    assert score.wer == rec["test"][decoder]["wer"]
    assert score.per == rec["test"][decoder]["per"]


@pytest.mark.parametrize("run", RUNS)
def test_checkpoint_redecodes_its_predictions(run: str) -> None:
    ckpt = RESULTS / "g2p-models" / f"{run}.npz"
    if not ckpt.exists():
        pytest.skip(f"{run} has no committed checkpoint")
    params, config, meta = g2p.load_checkpoint(ckpt)
    assert meta["run"] == run
    rec = json.loads((RESULTS / "g2p-runs" / f"{run}.json").read_text())
    assert meta["epoch"] == rec["best_epoch"]
    words = sorted(read_lexicon("test"))[::300][:SAMPLE]
    for decoder, k in (("greedy", 1), ("beam", rec["test"]["beam"]["beam_width"])):
        committed = read_g2p_predictions(_predictions(run, decoder))
        out = g2p.transcribe(words, (params, config), beam_width=k, max_len=rec["settings"]["max_len"])
        assert {w: tuple(p) for w, p in zip(words, out)} == {w: committed[w] for w in words}, decoder


def test_the_collection_holds_every_committed_run() -> None:
    collected = sl.results("g2p")
    assert sorted(collected["runs"]) == RUNS
    for run in RUNS:
        assert collected["runs"][run] == json.loads((RESULTS / "g2p-runs" / f"{run}.json").read_text())


def test_the_book_checkpoint_is_a_committed_run() -> None:
    path = sl.results_path("g2p_model")
    assert path.stem in RUNS and path.stem.startswith("attention-")
