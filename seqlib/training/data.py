"""Synthetic sequence tasks the book generates itself: no third-party data.

* The **embedded Reber grammar** (Hochreiter & Schmidhuber 1997, after Reber
  1967 and Cleeremans et al. 1989): a finite-state grammar over the seven
  symbols ``BTPSXVE`` whose strings carry one long-range dependency (the
  second symbol must reappear as the second-to-last).  Generator, validity
  checkers, the exact entropy per symbol, and encoding to token ids with
  ``<bos>``/``<eos>`` for a character-level language model.
* The **adding problem** (Hochreiter & Schmidhuber 1997, experiment 4):
  a sequence of (value, marker) pairs; the target is the sum of the two marked
  values, read out at the last step.  Two variants: the widely used one with
  values in [0, 1] (Le et al. 2015; Arjovsky et al. 2016), where always
  predicting 1 has MSE exactly 1/6, and the original one.
* The **copy task**: reproduce the first symbols of the sequence after a delay.

Every generator takes an explicit ``rng`` (a :class:`numpy.random.Generator`
or an int seed): the same seed gives the same data.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from .._validate import as_int_array, check_choice, check_positive_int
from ..cells.init import _as_rng

__all__ = [
    "REBER_ALPHABET",
    "REBER_VOCAB",
    "REBER_BOS",
    "REBER_EOS",
    "reber_string",
    "embedded_reber_string",
    "embedded_reber_strings",
    "is_valid_reber",
    "is_valid_embedded_reber",
    "reber_edges",
    "reber_stats",
    "embedded_reber_stats",
    "encode_strings",
    "decode_ids",
    "lm_batch",
    "adding_problem",
    "adding_baseline_mse",
    "copy_task",
]

Array = np.ndarray

#: The seven symbols of the Reber grammar.
REBER_ALPHABET = "BTPSXVE"
#: Token vocabulary of the language model: ``<bos>`` = 0, ``<eos>`` = 1, then the symbols.
REBER_VOCAB: tuple[str, ...] = ("<bos>", "<eos>") + tuple(REBER_ALPHABET)
REBER_BOS = 0
REBER_EOS = 1

# The Reber automaton: state -> ((symbol, next state), (symbol, next state)),
# each of the two edges taken with probability 1/2.  State 0 follows the initial
# B; state 5 emits the final E.  The automaton is deterministic (the two symbols
# leaving a state differ), so a string's path, and its probability, is unique.
_REBER_EDGES: dict[int, tuple[tuple[str, int], tuple[str, int]]] = {
    0: (("T", 1), ("P", 2)),
    1: (("S", 1), ("X", 3)),
    2: (("T", 2), ("V", 4)),
    3: (("X", 2), ("S", 5)),
    4: (("P", 3), ("V", 5)),
}
_REBER_FINAL = 5


def reber_string(rng: np.random.Generator | int) -> str:
    """One string of the (plain) Reber grammar, e.g. ``"BTSSXXTVVE"``.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Source of randomness (a Generator is advanced) or a seed.
    """
    rng = _as_rng(rng)
    out, state = ["B"], 0
    while state != _REBER_FINAL:
        sym, state = _REBER_EDGES[state][int(rng.integers(2))]
        out.append(sym)
    out.append("E")
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator | int) -> str:
    """One string of the embedded Reber grammar: ``B a <Reber string> a E``, ``a`` in {T, P}.

    The symbol ``a`` is drawn with probability 1/2; remembering it across the
    inner string is the task's long-range dependency.
    """
    rng = _as_rng(rng)
    a = "TP"[int(rng.integers(2))]
    return "B" + a + reber_string(rng) + a + "E"


def embedded_reber_strings(n: int, rng: np.random.Generator | int) -> list[str]:
    """``n`` independent embedded Reber strings."""
    n = check_positive_int(n, "n")
    rng = _as_rng(rng)
    return [embedded_reber_string(rng) for _ in range(n)]


def is_valid_reber(s: Any) -> bool:
    """Whether ``s`` (a str) is a string of the Reber grammar."""
    if not isinstance(s, str) or len(s) < 2 or s[0] != "B" or s[-1] != "E":
        return False
    state = 0
    for sym in s[1:-1]:
        if state == _REBER_FINAL:
            return False
        nxt = dict(_REBER_EDGES[state]).get(sym)
        if nxt is None:
            return False
        state = nxt
    return state == _REBER_FINAL


def is_valid_embedded_reber(s: Any) -> bool:
    """Whether ``s`` (a str) is a string of the embedded Reber grammar.

    Valid means ``s = "B" + a + r + a + "E"`` with ``a`` in ``{"T", "P"}``
    (the *same* symbol twice) and ``r`` a valid Reber string.
    """
    if not isinstance(s, str) or len(s) < 4 or s[0] != "B" or s[-1] != "E":
        return False
    return s[1] in "TP" and s[-2] == s[1] and is_valid_reber(s[2:-2])


def reber_edges() -> tuple[tuple[int, str, int], ...]:
    """The transitions of the Reber automaton, as ``(state, symbol, next_state)``.

    States ``0..4`` each have two outgoing edges with different symbols, each
    taken with probability 1/2; state 0 is entered by the initial ``B`` and
    state 5, the final state, leaves by the closing ``E`` (neither of those
    two ``B``/``E`` edges is listed).  :func:`reber_string` walks these edges.

    Returns
    -------
    tuple of (int, str, int)
        Ten edges, in the order of the states.
    """
    return tuple((i, sym, j) for i, edges in _REBER_EDGES.items() for sym, j in edges)


def _mean_symbols_emitted() -> Array:
    """``N_i``: expected number of symbols emitted from state ``i`` (0..4) until the final state.

    Solves ``N_i = 1 + (N_j + N_k) / 2`` over the two successors ``j, k`` of
    ``i``, with ``N = 0`` at the final state.
    """
    n = _REBER_FINAL
    A = np.eye(n)
    for i, edges in _REBER_EDGES.items():
        for _, j in edges:
            if j != _REBER_FINAL:
                A[i, j] -= 0.5
    return np.linalg.solve(A, np.ones(n))


def _stats(choices: float, length: float) -> dict[str, float]:
    tokens = length + 1.0  # the symbols and <eos>
    h = choices * np.log(2.0) / tokens
    return {
        "mean_length": float(length),
        "mean_choices": float(choices),
        "mean_tokens": float(tokens),
        "entropy_per_token": float(h),
        "min_perplexity": float(np.exp(h)),
    }


def reber_stats() -> dict[str, float]:
    """Exact moments of the plain Reber grammar, and the best possible loss.

    As :func:`embedded_reber_stats`, for strings ``B ... E`` of the plain
    grammar encoded as ``<bos> s <eos>``: the ``N_0`` symbols emitted from
    states 0..4 are the fair binary choices; ``B`` and ``E`` make the length
    ``N_0 + 2``, and ``<eos>`` makes ``N_0 + 3`` predicted tokens.

    Returns
    -------
    dict
        The keys of :func:`embedded_reber_stats`.
    """
    N0 = _mean_symbols_emitted()[0]
    return _stats(choices=N0, length=N0 + 2.0)


def embedded_reber_stats() -> dict[str, float]:
    """Exact moments of the embedded Reber grammar, and the best possible loss.

    Every symbol that the automaton emits from states 0..4 is a fair binary
    choice, and so is the outer ``a``; all other symbols (the ``B``\\s, the
    ``E``\\s, the repeated ``a``, ``<eos>``) are determined by the past.  So
    an ideal next-symbol predictor pays ``log 2`` nats per choice and nothing
    otherwise.  The expected number of symbols emitted from state ``i`` until
    the final state, ``N_i``, solves the linear system
    ``N_i = 1 + (N_j + N_k) / 2`` over the two successors ``j, k`` of ``i``.

    Returns
    -------
    dict
        ``"mean_length"``: expected length of an embedded string;
        ``"mean_choices"``: expected number of binary choices per string;
        ``"mean_tokens"``: expected number of predicted tokens per string
        (the symbols and ``<eos>``, given ``<bos>`` and the symbols as inputs);
        ``"entropy_per_token"``: ``mean_choices * log 2 / mean_tokens`` in
        nats, the limit of the token-averaged cross-entropy of the ideal model;
        ``"min_perplexity"``: its exponential.
    """
    N0 = _mean_symbols_emitted()[0]  # expected symbols emitted from state 0
    inner = N0 + 2.0  # the inner B ... E
    return _stats(choices=1.0 + N0, length=inner + 4.0)  # B a ... a E; a is a choice


# ----------------------------------------------------------------------------- encoding


def _vocab_index(vocab: Sequence[str]) -> dict[str, int]:
    index = {tok: i for i, tok in enumerate(vocab)}
    if len(index) != len(vocab):
        raise ValueError(f"vocab must not repeat a token, got {tuple(vocab)!r}")
    return index


def encode_strings(
    strings: Iterable[str], vocab: Sequence[str] = REBER_VOCAB, *, bos: int | None = REBER_BOS, eos: int | None = REBER_EOS
) -> tuple[Array, Array]:
    """Token ids of a batch of strings, padded to the longest, with a 0/1 mask.

    Each string becomes ``[bos] + ids(s) + [eos]`` (either end may be left off
    with ``None``); positions after the end hold ``eos`` (or 0) with mask 0.

    Parameters
    ----------
    strings : iterable of str
        Every character must be a single-character token of ``vocab``.
    vocab : sequence of str
        The vocabulary; default :data:`REBER_VOCAB`.
    bos, eos : int or None
        Token ids to put first and last.

    Returns
    -------
    ids : ndarray (N, L) of int64
    mask : ndarray (N, L) of float64
        1 on real tokens (``bos``/``eos`` included), 0 on padding.
    """
    strings = list(strings)
    if not strings:
        raise ValueError("strings must hold at least one string, got none")
    index = _vocab_index(vocab)
    V = len(vocab)
    for name, tok in (("bos", bos), ("eos", eos)):
        if tok is not None and not (isinstance(tok, (int, np.integer)) and 0 <= tok < V):
            raise ValueError(f"{name} must be a token id in [0, {V}) or None, got {tok!r}")
    seqs = []
    for s in strings:
        if not isinstance(s, str):
            raise TypeError(f"strings must hold str, got {type(s).__name__} {s!r}")
        bad = sorted(set(s) - set(index))
        if bad:
            raise ValueError(f"strings contain characters not in vocab: {bad!r} (in {s!r})")
        ids = [index[c] for c in s]
        seqs.append(([bos] if bos is not None else []) + ids + ([eos] if eos is not None else []))
    L = max(len(q) for q in seqs)
    pad = eos if eos is not None else 0
    out = np.full((len(seqs), L), pad, dtype=np.int64)
    mask = np.zeros((len(seqs), L))
    for i, q in enumerate(seqs):
        out[i, : len(q)] = q
        mask[i, : len(q)] = 1.0
    return out, mask


def decode_ids(ids: Iterable[int], vocab: Sequence[str] = REBER_VOCAB, *, stop: int | None = REBER_EOS, skip: Iterable[int] = (REBER_BOS,)) -> str:
    """The string of a sequence of token ids, cut before the first ``stop`` and without ``skip`` tokens.

    Tokens longer than one character (``<bos>``) are written out in full.
    """
    ids = as_int_array(list(ids), "ids", ndim=1)
    V = len(vocab)
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"ids must lie in [0, {V}), got values in [{ids.min()}, {ids.max()}]")
    skip = set(skip)
    out = []
    for i in ids.tolist():
        if stop is not None and i == stop:
            break
        if i not in skip:
            out.append(vocab[i])
    return "".join(out)


def lm_batch(strings: Iterable[str], vocab: Sequence[str] = REBER_VOCAB, dtype: Any = np.float64) -> tuple[Array, Array, Array]:
    """A next-token-prediction batch: one-hot inputs, targets and weights.

    With ``seq = [<bos>] + s + [<eos>]`` the input at step t is ``seq[t-1]``
    and the target ``seq[t]``, so the model sees ``<bos>`` and predicts every
    symbol and the final ``<eos>``.

    Returns
    -------
    x : ndarray (N, T, V), one-hot
    targets : ndarray (N, T) of int64
    weights : ndarray (N, T), 1 on real targets, 0 on padding
    """
    ids, mask = encode_strings(strings, vocab)
    V = len(vocab)
    inp = ids[:, :-1]
    x = np.zeros((*inp.shape, V), dtype=dtype)
    np.put_along_axis(x, inp[..., None], 1.0, axis=-1)
    return x, ids[:, 1:], mask[:, 1:].astype(dtype)


# ----------------------------------------------------------------------------- adding problem

_ADDING_VARIANTS = ("uniform", "hochreiter1997")


def adding_problem(
    n: int, T: int, *, rng: np.random.Generator | int, variant: str = "uniform", dtype: Any = np.float64
) -> tuple[Array, Array]:
    """Sequences of (value, marker) pairs and the sum of the two marked values.

    ``variant="uniform"`` (the common benchmark form, e.g. Le et al. 2015,
    Arjovsky et al. 2016): values ``U(0, 1)``, markers 0 except two 1s, one
    at a uniform position in the first half (steps ``1..T//2``) and one in the
    second half; target ``X1 + X2``.  Always predicting 1 has MSE
    ``Var(X1 + X2) = 1/6``.

    ``variant="hochreiter1997"`` (Hochreiter & Schmidhuber 1997, experiment 4,
    with a fixed length ``T`` instead of a random one in ``[T, 1.1 T]``): values
    ``U(-1, 1)``; one of the first ten pairs is marked (its value ``X1`` set to
    0 if it is the first pair), then one of the still unmarked pairs among the
    first ``T/2 - 1`` (``X2``); the first and last pair get marker -1 unless
    marked; target ``0.5 + (X1 + X2) / 4`` in ``[0, 1]``.

    Parameters
    ----------
    n : int
        Number of sequences.
    T : int
        Sequence length, >= 2 (>= 22 for ``"hochreiter1997"``, so that the
        second marker has a pair to go to).
    rng : numpy.random.Generator or int
    variant : {"uniform", "hochreiter1997"}
    dtype : float32 or float64

    Returns
    -------
    x : ndarray (n, T, 2)
        ``x[..., 0]`` the values, ``x[..., 1]`` the markers.
    y : ndarray (n, 1)
        Targets, to be predicted at the last step.
    """
    n = check_positive_int(n, "n")
    T = check_positive_int(T, "T")
    check_choice(variant, "variant", _ADDING_VARIANTS)
    rng = _as_rng(rng)
    rows = np.arange(n)
    if variant == "uniform":
        if T < 2:
            raise ValueError(f"T must be >= 2 for the adding problem (one marker in each half), got {T}")
        values = rng.uniform(0.0, 1.0, size=(n, T))
        i1 = rng.integers(0, T // 2, size=n)
        i2 = rng.integers(T // 2, T, size=n)
        markers = np.zeros((n, T))
        markers[rows, i1] = 1.0
        markers[rows, i2] = 1.0
        y = values[rows, i1] + values[rows, i2]
    else:
        if T < 22:
            raise ValueError(f"T must be >= 22 for variant='hochreiter1997' (markers among the first T/2 - 1 pairs), got {T}")
        values = rng.uniform(-1.0, 1.0, size=(n, T))
        i1 = rng.integers(0, 10, size=n)
        # a uniform choice among the first T/2 - 1 pairs other than i1
        m = T // 2 - 1
        j = rng.integers(0, m - 1, size=n)
        i2 = np.where(j >= i1, j + 1, j)
        markers = np.zeros((n, T))
        markers[:, 0] = -1.0
        markers[:, -1] = -1.0
        markers[rows, i1] = 1.0
        markers[rows, i2] = 1.0
        values[rows[i1 == 0], 0] = 0.0
        y = 0.5 + (values[rows, i1] + values[rows, i2]) / 4.0
    x = np.stack([values, markers], axis=-1)
    return x.astype(dtype), y[:, None].astype(dtype)


def adding_baseline_mse(variant: str = "uniform") -> dict[str, float]:
    """Exact MSE of the trivial constant predictors for :func:`adding_problem`.

    Returns
    -------
    dict
        ``"constant"``: the constant used (1 for ``"uniform"``, 0.5 for
        ``"hochreiter1997"``: the mean of the target); ``"mse"``: its MSE,
        which is the variance of the target (1/6, resp. ``(0.9/3 + 1/3)/16``,
        since X1 is zeroed with probability 1/10); ``"mse_one_seen"`` (uniform
        only): the MSE of the best predictor that knows the second marked
        value but not the first, ``Var(X1) = 1/12``.
    """
    check_choice(variant, "variant", _ADDING_VARIANTS)
    if variant == "uniform":
        return {"constant": 1.0, "mse": 1.0 / 6.0, "mse_one_seen": 1.0 / 12.0}
    return {"constant": 0.5, "mse": (0.9 / 3.0 + 1.0 / 3.0) / 16.0}


# ----------------------------------------------------------------------------- copy task


def copy_task(
    n: int, n_symbols: int, delay: int, *, rng: np.random.Generator | int, n_classes: int = 8, dtype: Any = np.float64
) -> tuple[Array, Array, Array]:
    """The copy task: read ``n_symbols`` symbols, wait ``delay`` steps, then reproduce them.

    Tokens: ``0..n_classes-1`` data symbols, ``n_classes`` the blank, and
    ``n_classes + 1`` the "go" marker shown at the last step of the delay
    (so ``V = n_classes + 2``).  The sequence has ``T = 2 n_symbols + delay``
    steps; the targets are blank except for the last ``n_symbols`` steps,
    which must repeat the first ``n_symbols`` inputs.  Predicting the blank
    and then uniform guesses costs ``n_symbols log(n_classes) / T`` nats per step.

    Returns
    -------
    x : ndarray (n, T, V), one-hot
    targets : ndarray (n, T) of int64
    weights : ndarray (n, T) of ones
    """
    n = check_positive_int(n, "n")
    n_symbols = check_positive_int(n_symbols, "n_symbols")
    delay = check_positive_int(delay, "delay")
    n_classes = check_positive_int(n_classes, "n_classes")
    rng = _as_rng(rng)
    blank, go = n_classes, n_classes + 1
    T = 2 * n_symbols + delay
    data = rng.integers(0, n_classes, size=(n, n_symbols))
    inp = np.full((n, T), blank, dtype=np.int64)
    inp[:, :n_symbols] = data
    inp[:, n_symbols + delay - 1] = go
    targets = np.full((n, T), blank, dtype=np.int64)
    targets[:, -n_symbols:] = data
    x = np.zeros((n, T, n_classes + 2), dtype=dtype)
    np.put_along_axis(x, inp[..., None], 1.0, axis=-1)
    return x, targets, np.ones((n, T), dtype=dtype)
