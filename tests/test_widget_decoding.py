"""The decoding widget (seq2seq chapter): setting checks, seqlib's numbers, the JS mirror, the default's point."""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest

import seqlib.seq2seq as s2
import seqlib.seq2seq.data as nd
from seqlib.seq2seq import decode
from seqlib.widgets import decoding_widget, default_axes
from seqlib.widgets import decoding as _decoding
from seqlib.widgets._engine import packed
from seqlib.widgets._mirror_check import assert_mirror_agrees, compare, node_compute
from seqlib.widgets.decoding import (DEFAULT_BEAM, DEFAULT_NUMBER, DEFAULT_STEP, MAX_NUMBER, _default_inputs,
                                     book_model, decoding_data)

REPO = Path(__file__).resolve().parents[1]
SWEEP = json.loads((REPO / "sweeps" / "results" / "seq2seq.json").read_text())["settings"]


@pytest.fixture(scope="module")
def book():
    return decoding_widget()


@pytest.fixture(scope="module")
def model():
    return book_model()


def _tiny(context: bool = False, seed: int = 0):
    cfg = s2.Seq2SeqConfig(V_x=10, V_y=len(nd.TGT_VOCAB), D=3, H=5, context=context)
    return s2.init_seq2seq_params(cfg, rng=seed), cfg


def _words(tokens) -> str:
    return nd.decode_words(list(tokens))


# ---------------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize("change, exc, match", [
    ({"number": -1}, ValueError, r"setting\['number'\] \(the input number.*must be in \[0, 999999\], got -1"),
    ({"number": 1_000_000}, ValueError, r"setting\['number'\].*got 1000000"),
    ({"number": True}, TypeError, r"setting\['number'\].*must be an int.*got bool True"),
    ({"number": "12"}, TypeError, r"setting\['number'\].*got str '12'"),
    ({"number": 2.5}, TypeError, r"setting\['number'\].*got float 2.5"),
    ({"beam_width": 0}, ValueError, r"setting\['beam_width'\] \(the beam width k\) must be in \[1, 64\], got 0"),
    ({"beam_width": 65}, ValueError, r"setting\['beam_width'\].*got 65"),
    ({"beam_width": None}, TypeError, r"setting\['beam_width'\].*got NoneType None"),
    ({"step": -1}, ValueError, r"setting\['step'\] \(the decoding step l, below max_len = 12\) must be in \[0, 11\]"),
    ({"step": 12}, ValueError, r"setting\['step'\].*got 12"),
])
def test_check_setting_names_the_key(book, change, exc, match):
    with pytest.raises(exc, match=match):
        book.check_setting({**book.setting, **change})
    with pytest.raises(exc, match=match):
        book.expected(**change)


def test_check_setting_keys_and_integral_floats(book):
    with pytest.raises(ValueError, match=r"exactly the keys \['number', 'beam_width', 'step'\]; missing \['step'\]"):
        book.check_setting({"number": 1, "beam_width": 2})
    with pytest.raises(ValueError, match=r"unknown \['width'\]"):
        book.check_setting({**book.setting, "width": 3})
    with pytest.raises(TypeError, match=r"setting has no keys \['k'\]"):
        book.show(k=3)
    assert book.check_setting({"number": 12.0, "beam_width": np.int64(3), "step": 0}) == \
        {"number": 12, "beam_width": 3, "step": 0}


def test_factory_arguments():
    p, cfg = _tiny()
    with pytest.raises(ValueError, match="config must be given with params"):
        decoding_widget([1], p)
    with pytest.raises(ValueError, match="params must be given with config"):
        decoding_widget([1], None, cfg)
    with pytest.raises(ValueError, match=r"numbers must hold 1 to 4 ints in \[0, 999999\]"):
        decoding_widget([1, 2, 3, 4, 5], p, cfg)
    with pytest.raises(ValueError, match=r"numbers must hold 1 to 4 ints"):
        decoding_widget([1_000_000], p, cfg)
    with pytest.raises(ValueError, match=r"setting\['beam_width'\]"):
        decoding_widget([1], p, cfg, beam_width=0)
    with pytest.raises(ValueError, match=r"max_len must be an int in \[1, 64\]"):
        decoding_widget([1], p, cfg, max_len=0)
    lcfg = s2.Seq2SeqConfig(V_x=10, V_y=len(nd.TGT_VOCAB), D=3, H=5, cell="lstm")
    with pytest.raises(ValueError, match=r"config.cell must be 'rnn'.*got 'lstm'"):
        decoding_widget([1], s2.init_seq2seq_params(lcfg, rng=0), lcfg)
    scfg = s2.Seq2SeqConfig(V_x=10, V_y=7, D=3, H=5)
    with pytest.raises(ValueError, match=r"numbers-to-words vocabularies"):
        decoding_widget([1], s2.init_seq2seq_params(scfg, rng=0), scfg)


# ---------------------------------------------------------------------------------------------- seqlib


@pytest.mark.parametrize("number, k", [(831, 4), (3354, 1), (83035, 3), (7007, 4), (5, 8), (999999, 2)])
def test_compute_is_seqlibs(book, model, number, k):
    """Every number of the picture against seqlib's own functions, at every step."""
    params, cfg = model
    src, tgt = nd.encode_number(number)
    trace: list[decode.BeamStep] = []
    result = decode.beam_search(params, src, cfg, k, 12, trace=trace)
    greedy = decode.greedy_decode(params, [src], cfg, 12)[0]
    logp_tf = s2.sequence_log_prob(params, [src], [tgt], cfg, per_token=True)[0]
    S, L = len(trace), len(tgt)
    for step in range(12):
        d = book.expected(number=number, beam_width=k, step=step)
        l = min(step, max(S, L) - 1)
        assert (d["step"], d["n_steps"], d["search_steps"], d["target"]) == (l, max(S, L), S, tgt)
        assert [(h["tokens"], h["score"], h["finished"]) for h in d["result"]] == \
            [(list(h.tokens), h.score, h.finished) for h in result]
        assert (d["greedy"]["tokens"], d["greedy"]["score"]) == (list(greedy.tokens), greedy.score)
        np.testing.assert_array_equal(d["loss_terms"], -logp_tf)
        assert math.isclose(d["loss_sum"], -s2.sequence_log_prob(params, [src], [tgt], cfg)[0], rel_tol=1e-12)
        if l < S:
            st = trace[l]
            assert d["prefix"] == list(st.prefixes[0]) and d["prefix_score"] == st.prefix_scores[0]
            assert [(c["tokens"], c["score"]) for c in d["kept"]] == [(list(q), v) for q, v in st.kept]
            p = np.exp(st.logp[0])
            assert d["top_p"] == sorted(d["top_p"], reverse=True)
            np.testing.assert_allclose(d["top_p"], p[d["top_words"]], rtol=1e-15)
            assert d["top_p"][0] == p.max()
        else:
            assert d["prefix"] is None and d["kept"] == [] and d["top_words"] == []
        assert (d["stop"] is None) == (l < S - 1)


def test_stop_reasons_match_beam_search(book, model):
    """The stop the widget names is the one beam_search took (checked by rerunning with a longer limit)."""
    params, cfg = model
    seen = set()
    for number, k, max_len in [(7007, 4, 12), (831, 1, 12), (831, 8, 12)]:
        src, _ = nd.encode_number(number)
        d = book.expected(number=number, beam_width=k, step=11)
        seen.add(d["stop"])
        if d["stop"] == "rule":
            assert d["best_finished"]["score"] >= d["best_live"]
        if d["stop"] == "no_live":
            assert all(c["finished"] for c in book.expected(number=number, beam_width=k,
                                                            step=d["search_steps"] - 1)["kept"])
    assert {"rule", "no_live"} <= seen
    p, cfg_t = _tiny()
    w = decoding_widget([407], p, cfg_t, beam_width=2, max_len=3)
    d = w.expected(step=2)
    assert d["search_steps"] == 3 and d["stop"] == "max_len"
    assert any(not h["finished"] for h in d["result"])


def test_decoding_data_and_tiny_model():
    """decoding_data (kept for the chapter's users) on a tiny model, and the widget built on it."""
    p, cfg = _tiny()
    tr = decoding_data(407, p, cfg, beam_width=2, max_len=4)
    assert np.isclose(-tr.loss_terms.sum(), s2.sequence_log_prob(p, [[4, 0, 7]], [tr.target], cfg)[0])
    assert tr.greedy == decode.greedy_decode(p, [[4, 0, 7]], cfg, 4)[0]
    w = decoding_widget([407, 12], p, cfg, beam_width=2, max_len=4)
    assert w.setting == {"number": 407, "beam_width": 2, "step": 0}
    assert w.options["presets"] == [407, 12]
    d = w.expected(step=1)
    assert [(c["tokens"], c["score"]) for c in d["kept"]] == [(list(q), v) for q, v in tr.steps[1].kept]


# ---------------------------------------------------------------------------------------------- the JS mirror


def _check_mirror(w, settings, tmp_path) -> float:
    return assert_mirror_agrees(w, settings, tmp_path)


def test_mirror_agrees_with_seqlib(book, tmp_path):
    settings = book.random_settings(np.random.default_rng(0), 40)
    settings += [{"number": n, "beam_width": k, "step": 3} for n, k in
                 [(0, 2), (10, 3), (19, 1), (20, 2), (100, 4), (1000, 5), (1010, 6), (100000, 7), (110011, 8),
                  (8161, 4), (7007, 1)]]
    worst = _check_mirror(book, settings, tmp_path)
    print(f"decoding mirror vs seqlib: {len(settings)} settings, worst relative error {worst:.2e}")


def test_mirror_of_a_model_with_context(tmp_path):
    """The decoder fed c at every step (Cho et al.), a branch the book's model does not use."""
    p, cfg = _tiny(context=True, seed=3)
    w = decoding_widget([407, 12], p, cfg, beam_width=2, max_len=5)
    worst = _check_mirror(w, w.random_settings(np.random.default_rng(1), 20), tmp_path)
    print(f"context model: worst relative error {worst:.2e}")


def test_mirror_check_can_fail(book, tmp_path):
    """A perturbed weight in the page's base shows up in the comparison (the check is not vacuous)."""
    w = decoding_widget()
    b = dict(w.base)
    b_y = np.array(w._params["b_y"], dtype=float)
    b_y[5] += 1e-6
    b["params"] = {**b["params"], "b_y": packed(b_y)}
    w.base = b
    page = node_compute(w, [{"step": 1}], tmp_path)[0]
    err, _ = compare(page, book.expected(step=1))
    assert err > 1e-9


# ---------------------------------------------------------------------------------------------- the default and the chapter


def test_default_setting_and_chapter_glue(book):
    """The prose glues the beam width from the factory: it must be the sweep's (the captions say 4)."""
    assert book.setting == {"number": DEFAULT_NUMBER, "beam_width": DEFAULT_BEAM, "step": DEFAULT_STEP}
    assert default_axes("decoding") == book.setting
    # seqlib.widgets.decoding_widget is a lazy wrapper (*args, **kwargs): glue from the module's function or the setting
    assert inspect.signature(_decoding.decoding_widget).parameters["beam_width"].default == DEFAULT_BEAM
    assert default_axes("decoding")["beam_width"] == DEFAULT_BEAM == SWEEP["beam"] == 4
    assert book.options["max_len"] == SWEEP["max_len"]
    inputs = _default_inputs()
    assert [len(str(n)) for n in inputs] == [3, 4, 5]  # the chapter's assert
    assert book.options["presets"] == [*inputs, DEFAULT_NUMBER]
    assert 1 <= book.setting["beam_width"] <= 8 and book.options["beam_widths"] == list(range(1, 9))
    assert book.options["max_number"] == MAX_NUMBER == 999_999
    with pytest.raises(ValueError):
        nd.encode_number(MAX_NUMBER + 1)


def test_default_inputs_follow_the_sweeps_split(model):
    """The presets are test numbers of the split the book's model was trained with (the sweep's seed)."""
    seed = SWEEP["split_seed"]
    assert _default_inputs() == _default_inputs(seed)
    for s in (seed, seed + 1):
        sp = nd.number_splits(seed=s)
        inputs = _default_inputs(s)
        assert all(n in set(sp.numbers["test"].tolist()) for n in inputs[:2])
        assert inputs[2] == int(sp.numbers["long"][0])
        assert max(len(x) for x in sp.sources["train"]) < len(str(inputs[2]))


def test_network_is_the_book_model(book, model):
    """``w.network``: the parameters and config the widget decodes with (copies), here the book's."""
    params, cfg = model
    wp, wc = book.network
    assert wc == cfg and sorted(wp) == sorted(params)
    assert all(np.array_equal(wp[k], params[k]) for k in params)
    wp["b_y"][0] += 1.0
    assert np.array_equal(book.network[0]["b_y"], params["b_y"])


def test_default_shows_greedy_missing_the_best_sequence(book):
    """8161: greedy's first word "one" (p 0.535 > 0.407 for "eight") leads to "one <eos>"; the beam finds the words.

    The section's point: the most probable word at each step need not give the most probable sequence.
    """
    d = book.data
    V = nd.TGT_VOCAB
    assert d["source"] == "seqlib" and d["number"] == 8161
    target = " ".join(nd.number_to_words(8161))
    assert _words(d["greedy"]["tokens"]) == "one" and d["greedy"]["finished"]
    assert _words(d["result"][0]["tokens"]) == target
    assert d["result"][0]["score"] > d["greedy"]["score"] + 0.3  # -0.926 against -1.301
    assert math.isclose(-d["result"][0]["score"], d["loss_sum"], rel_tol=1e-9)  # beam's output is the target
    # step 0: greedy's word is more probable than the target's first word
    d0 = book.expected(step=0)
    p = dict(zip((V[v] for v in d0["top_words"]), d0["top_p"]))
    assert p["one"] > p["eight"] > 0.3 and V[d0["top_words"][0]] == "one"
    # the default step 1: the best live prefix is greedy's "one", the beam ranks "eight thousand" above
    # greedy's output "one <eos>", which has ended
    assert d["step"] == 1 and _words(d["prefix"]) == "one"
    assert _words(d["kept"][0]["tokens"]) == "eight thousand"
    ended = [c for c in d["kept"] if c["finished"]]
    assert [c["tokens"] for c in ended] == [d["greedy"]["tokens"]]
    assert d["kept"][0]["score"] > ended[0]["score"] and d["stop"] is None
    # the target's first word carries most of its loss (the model's doubt at step 0)
    assert np.argmax(d["loss_terms"]) == 0 and d["loss_terms"][0] > 0.9 * d["loss_sum"]
    # width 1 is greedy decoding; width 2 already finds the words
    assert book.expected(beam_width=1)["result"][0]["tokens"] == d["greedy"]["tokens"]
    assert _words(book.expected(beam_width=2)["result"][0]["tokens"]) == target
    # 8161 is in no split: neither trained on nor a test number
    sp = nd.number_splits(seed=0)
    assert all(8161 not in set(int(x) for x in v) for v in sp.numbers.values())


def test_five_digit_example_has_large_loss_terms(book):
    """83035 (a length never trained on): a wrong output and loss terms of many nats (the chapter's 5-digit point)."""
    d = book.expected(number=83035, beam_width=4, step=0)
    assert not d["result"][0]["tokens"][:-1] == nd.encode_number(83035)[1][:-1]
    assert not _words(d["greedy"]["tokens"]).startswith("eighty three thousand")
    assert d["loss_sum"] > 10 * book.expected(number=3354)["loss_sum"] and max(d["loss_terms"]) > 10


def test_state_size(book):
    n = book.state_bytes()
    base = len(json.dumps(book.base))
    print(f"decoding widget state: {n / 1e3:.0f} kB (base {base / 1e3:.0f} kB)")
    assert n < 1_200_000
