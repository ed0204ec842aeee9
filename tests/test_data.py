import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib.training.data import (
    REBER_BOS,
    REBER_EOS,
    REBER_ALPHABET,
    REBER_VOCAB,
    adding_baseline_mse,
    adding_problem,
    copy_task,
    decode_ids,
    embedded_reber_stats,
    embedded_reber_string,
    embedded_reber_strings,
    encode_strings,
    is_valid_embedded_reber,
    is_valid_reber,
    lm_batch,
    reber_edges,
    reber_stats,
    reber_string,
)

STRINGS = embedded_reber_strings(3000, rng=0)


def test_generator_only_valid_strings():
    assert all(is_valid_embedded_reber(s) for s in STRINGS)
    assert all(is_valid_reber(reber_string(i)) for i in range(300))
    assert all(set(s) <= set(REBER_ALPHABET) for s in STRINGS)
    # both embeddings occur, with about equal frequency
    frac_t = np.mean([s[1] == "T" for s in STRINGS])
    assert abs(frac_t - 0.5) < 0.05


def test_known_strings():
    assert is_valid_reber("BTXSE") and is_valid_reber("BPVVE") and is_valid_reber("BTSSXXTVPSE")
    assert is_valid_embedded_reber("BTBTXSETE") and is_valid_embedded_reber("BPBPVVEPE")
    for bad in ("BTBTXSEPE", "BTBTXSET", "TBTXSETE", "BTBTXXETE", "BTBTXSEETE", "", "BE", "BTTE", None, 5):
        assert not is_valid_embedded_reber(bad)
    for bad in ("BTE", "BTXSEE", "BTXS", "TXSE", "BTXSXE", "BE", ""):
        assert not is_valid_reber(bad)


def test_generator_is_seeded():
    assert embedded_reber_strings(50, rng=7) == embedded_reber_strings(50, rng=7)
    assert embedded_reber_strings(50, rng=7) != embedded_reber_strings(50, rng=8)
    rng = np.random.default_rng(3)
    assert embedded_reber_string(rng) != embedded_reber_string(rng) or True  # advances the generator


@settings(max_examples=200, deadline=None)
@given(
    i=st.integers(0, len(STRINGS) - 1),
    pos=st.integers(0, 200),
    kind=st.sampled_from(["replace", "delete", "insert", "swap_ends"]),
    sym=st.sampled_from(list(REBER_ALPHABET)),
)
def test_checker_rejects_corruptions(i, pos, kind, sym):
    s = STRINGS[i]
    p = pos % len(s)
    if kind == "replace":
        if s[p] == sym:
            return
        t = s[:p] + sym + s[p + 1 :]
    elif kind == "delete":
        t = s[:p] + s[p + 1 :]
    elif kind == "insert":
        t = s[:p] + sym + s[p:]
    else:  # the long-range dependency: the second and second-to-last symbols must agree
        t = s[:-2] + ("P" if s[-2] == "T" else "T") + "E"
    # A single edit can only yield another valid string if it happens to map one
    # grammatical path onto another; compare with an independent brute-force check.
    assert is_valid_embedded_reber(t) == _brute_force_valid(t)
    if kind == "swap_ends":
        assert not is_valid_embedded_reber(t)


def _brute_force_valid(s, _cache={}):
    # every embedded Reber string of length <= 30, by exhaustive expansion of the automaton
    if not _cache:
        edges = {0: "T1P2", 1: "S1X3", 2: "T2V4", 3: "X2S5", 4: "P3V5"}
        inner, frontier = set(), [("B", 0)]
        while frontier:
            pre, q = frontier.pop()
            if q == 5:
                inner.add(pre + "E")
                continue
            if len(pre) > 26:
                continue
            e = edges[q]
            frontier += [(pre + e[0], int(e[1])), (pre + e[2], int(e[3]))]
        _cache["set"] = {"B" + a + r + a + "E" for r in inner for a in "TP"}
    if len(s) > 30:
        pytest.skip("longer than the brute-force table")
    return s in _cache["set"]


def test_entropy_and_lengths_exact_and_empirical():
    st_ = embedded_reber_stats()
    assert st_["mean_length"] == pytest.approx(12.0, rel=1e-12)
    assert st_["mean_choices"] == pytest.approx(7.0, rel=1e-12)
    assert st_["entropy_per_token"] == pytest.approx(7 * np.log(2) / 13, rel=1e-12)
    lengths = np.array([len(s) for s in STRINGS])
    assert lengths.mean() == pytest.approx(12.0, abs=0.2)
    # the choices are exactly the symbols emitted between the inner B and E, plus one
    choices = lengths - 6 + 1
    assert choices.mean() == pytest.approx(7.0, abs=0.2)


def test_plain_reber_stats_exact_and_empirical():
    st_ = reber_stats()
    assert st_["mean_choices"] == pytest.approx(6.0, rel=1e-12)
    assert st_["mean_length"] == pytest.approx(8.0, rel=1e-12)
    assert st_["mean_tokens"] == pytest.approx(9.0, rel=1e-12)
    assert st_["entropy_per_token"] == pytest.approx(2 / 3 * np.log(2), rel=1e-12)
    assert st_["min_perplexity"] == pytest.approx(2 ** (2 / 3), rel=1e-12)
    plain = [reber_string(i) for i in range(3000)]
    lengths = np.array([len(s) for s in plain])
    assert lengths.mean() == pytest.approx(8.0, abs=0.2)
    # the embedding adds B a ... a E around an inner string: 4 symbols, one choice (a)
    emb = embedded_reber_stats()
    assert emb["mean_tokens"] - st_["mean_tokens"] == pytest.approx(4.0, rel=1e-12)
    assert emb["mean_choices"] - st_["mean_choices"] == pytest.approx(1.0, rel=1e-12)


def test_reber_edges_are_the_generators_transitions():
    edges = reber_edges()
    assert len(edges) == 10
    out = {}
    for i, sym, j in edges:
        out.setdefault(i, []).append(sym)
        assert sym in "TPSXV" and 0 <= j <= 5
    # two edges with different symbols leave every state 0..4: the automaton is deterministic
    assert sorted(out) == [0, 1, 2, 3, 4] and all(len(set(v)) == 2 for v in out.values())
    step = {(i, sym): j for i, sym, j in edges}
    seen = set()
    for s in (reber_string(i) for i in range(500)):
        state = 0
        for sym in s[1:-1]:
            seen.add((state, sym))
            state = step[(state, sym)]
        assert state == 5
    assert seen == set(step)  # every edge is used, and no other


def test_encode_decode_roundtrip():
    ids, mask = encode_strings(STRINGS[:20])
    assert ids.shape[0] == 20 and ids.dtype == np.int64
    assert (ids[:, 0] == REBER_BOS).all()
    for s, row, m in zip(STRINGS[:20], ids, mask):
        n = len(s) + 2
        assert m[:n].all() and not m[n:].any()
        assert row[n - 1] == REBER_EOS
        assert decode_ids(row) == s
    x, y, w = lm_batch(STRINGS[:5])
    assert x.shape == (5, ids.shape[1] - 1 if False else x.shape[1], len(REBER_VOCAB))
    np.testing.assert_array_equal(x.sum(-1), 1.0)
    assert w.sum() == sum(len(s) + 1 for s in STRINGS[:5])  # every symbol and <eos> predicted


def test_encode_errors_name_the_argument():
    with pytest.raises(ValueError, match="strings"):
        encode_strings(["BTQE"])
    with pytest.raises(ValueError, match="strings"):
        encode_strings([])
    with pytest.raises(TypeError, match="strings"):
        encode_strings([3])
    with pytest.raises(ValueError, match="bos"):
        encode_strings(["BE"], bos=99)
    with pytest.raises(ValueError, match="ids"):
        decode_ids([0, 42])
    with pytest.raises(ValueError, match="n must be"):
        embedded_reber_strings(0, rng=0)
    with pytest.raises(TypeError, match="rng"):
        embedded_reber_strings(3, rng=None)


def test_adding_problem_statistics():
    n, T = 20000, 20
    x, y = adding_problem(n, T, rng=0)
    assert x.shape == (n, T, 2) and y.shape == (n, 1)
    markers = x[..., 1]
    assert (markers.sum(1) == 2).all()
    first = markers[:, : T // 2].sum(1)
    assert (first == 1).all()  # one marker per half
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(1), rtol=1e-12)
    base = adding_baseline_mse()
    assert base["mse"] == pytest.approx(1 / 6, rel=1e-15)
    emp = float(np.mean((y - base["constant"]) ** 2))
    assert emp == pytest.approx(1 / 6, abs=4e-3)
    # knowing X2 only leaves Var(X1) = 1/12
    x2 = (x[:, T // 2 :, 0] * markers[:, T // 2 :]).sum(1)
    assert float(np.mean((y[:, 0] - x2 - 0.5) ** 2)) == pytest.approx(base["mse_one_seen"], abs=3e-3)
    np.testing.assert_array_equal(adding_problem(5, T, rng=3)[0], adding_problem(5, T, rng=3)[0])


def test_adding_problem_hochreiter_variant():
    n, T = 20000, 40
    x, y = adding_problem(n, T, rng=1, variant="hochreiter1997")
    markers = x[..., 1]
    assert ((markers == 1).sum(1) == 2).all()
    assert (markers[:, :10] == 1).any(1).all()
    assert not (markers[:, T // 2 - 1 :] == 1).any()
    assert (y >= 0).all() and (y <= 1).all()
    base = adding_baseline_mse("hochreiter1997")
    assert float(np.mean((y - 0.5) ** 2)) == pytest.approx(base["mse"], rel=0.05)
    with pytest.raises(ValueError, match="T must be >= 22"):
        adding_problem(3, 20, rng=0, variant="hochreiter1997")
    with pytest.raises(ValueError, match="variant"):
        adding_problem(3, 20, rng=0, variant="le")


def test_copy_task():
    x, t, w = copy_task(4, 3, 5, rng=0, n_classes=6)
    T = 2 * 3 + 5
    assert x.shape == (4, T, 8) and t.shape == (4, T) and w.shape == (4, T)
    inp = x.argmax(-1)
    np.testing.assert_array_equal(t[:, -3:], inp[:, :3])
    assert (t[:, :-3] == 6).all()
    assert (inp[:, 3 + 5 - 1] == 7).all()
    with pytest.raises(ValueError, match="delay"):
        copy_task(4, 3, 0, rng=0)
