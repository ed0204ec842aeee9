"""The CMU Pronouncing Dictionary's grapheme-to-phoneme split: files, splits, symbols, scoring.

The data is the train/test partition of CMUdict that the grapheme-to-phoneme
(G2P) literature uses, stress removed; its README (shipped with it) traces it
to Chen (2003) and Bisani & Ney (2008, Table 1).  It lies in
``seqlib/_data/cmudict/`` byte for byte as published, with its licence
(``LICENSE-CMUdict``), its ``README.md`` and the ``SHA256SUMS`` that
:func:`verify_cmudict` checks::

    train.tsv   113,438 pronunciations of 106,837 words
    test.tsv     12,753 pronunciations of  12,000 words   (no word in both)

One pronunciation a line, ``WORD<TAB>PH PH PH``; a word with several
pronunciations has several lines (not always adjacent).  Words are spelled
with 27 graphemes (``'`` and A-Z, :data:`GRAPHEMES`); pronunciations use the 39
ARPAbet phonemes (:data:`PHONEMES`).

Splits (:func:`load_cmudict`): every pronunciation of a training word is its
own training pair (:func:`lexicon_pairs`); a seeded draw of training *words*
(with all their pronunciations) is held out for validation; the test words
are for the final numbers only.

Scoring (:func:`g2p_score`), as the data's README defines it (citing Bisani &
Ney 2008, §7.1):

* **WER**: the share of words whose hypothesis matches none of the word's
  reference pronunciations;
* **PER**: the summed edit distance from each hypothesis to its closest
  reference, divided by the summed lengths of those closest references.
  When two references are equally close, the first in file order counts
  (a choice of this module; it changes only the denominator).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .._validate import _describe, as_int_array, check_choice

__all__ = [
    "CMUDICT_DIR", "CMUDICT_FILES", "GRAPHEMES", "PHONEMES", "G2P_TGT_VOCAB", "G2P_EOS", "G2P_BOS",
    "verify_cmudict", "parse_lexicon", "read_lexicon", "G2PSplits", "load_cmudict", "lexicon_pairs",
    "encode_word", "encode_phonemes", "decode_phonemes", "edit_distance", "G2PScore", "g2p_score",
    "read_g2p_predictions", "write_g2p_predictions",
]

#: The folder of the shipped data (``seqlib/_data/cmudict/``, inside the package, so that the wheel holds it).
CMUDICT_DIR: Path = Path(__file__).resolve().parent.parent / "_data" / "cmudict"
#: The data files ``SHA256SUMS`` covers, and the files that must travel with them.
CMUDICT_FILES: tuple[str, ...] = ("train.tsv", "test.tsv")
_COMPANIONS: tuple[str, ...] = ("LICENSE-CMUdict", "SHA256SUMS", "README.md")

#: Source symbols: the apostrophe and the 26 capital letters; a grapheme's id is its index.
GRAPHEMES: tuple[str, ...] = ("'", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: The 39 ARPAbet phonemes of CMUdict without stress, in alphabetical order.
PHONEMES: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH",
    "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V",
    "W", "Y", "Z", "ZH",
)
#: Target tokens: end of sequence (id 0), begin (id 1), then the phonemes (as :mod:`seqlib.seq2seq.data`).
G2P_TGT_VOCAB: tuple[str, ...] = ("<eos>", "<bos>", *PHONEMES)
G2P_EOS, G2P_BOS = 0, 1
_GRAPHEME_ID = {g: i for i, g in enumerate(GRAPHEMES)}
_PHONEME_ID = {p: i for i, p in enumerate(G2P_TGT_VOCAB) if i >= 2}

#: word -> its pronunciations (tuples of phonemes), in the order of the file.
Lexicon = dict[str, list[tuple[str, ...]]]
Pron = tuple[str, ...]


# ----------------------------------------------------------------------------- files


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_cmudict(directory: Path | str | None = None) -> dict[str, str]:
    """Check the data files against ``SHA256SUMS`` and that the licence lies beside them.

    Parameters
    ----------
    directory : path, optional
        Where the files are; default :data:`CMUDICT_DIR`.

    Returns
    -------
    dict
        File name -> its SHA-256 (hex), for ``train.tsv`` and ``test.tsv``.

    Raises
    ------
    FileNotFoundError
        If a data file, ``SHA256SUMS`` or ``LICENSE-CMUdict`` is missing.
    ValueError
        If ``SHA256SUMS`` does not list both data files, or a file's hash differs
        (the message names the file and both hashes).
    """
    d = CMUDICT_DIR if directory is None else Path(directory)
    for name in (*CMUDICT_FILES, *_COMPANIONS[:2]):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{name} must lie in {d} (the CMUdict licence travels with the data), "
                                    f"but it is missing")
    listed = {}
    for line in (d / "SHA256SUMS").read_text(encoding="ascii").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            listed[name.lstrip("*")] = digest
    got = {}
    for name in CMUDICT_FILES:
        if name not in listed:
            raise ValueError(f"SHA256SUMS must list {name}, got entries for {sorted(listed)}")
        got[name] = _sha256(d / name)
        if got[name] != listed[name]:
            raise ValueError(f"{name} must have SHA-256 {listed[name]} (SHA256SUMS), got {got[name]}: "
                             f"the file is not the published one")
    return got


def parse_lexicon(text: str, name: str = "text") -> Lexicon:
    """Parse ``WORD<TAB>PH PH ...`` lines into a :data:`Lexicon`, checking every symbol.

    Blank lines are skipped.  A word's pronunciations keep the order of the
    lines, whether or not they are adjacent.

    Raises
    ------
    ValueError
        A line without exactly one tab, an empty word or pronunciation, a
        character outside :data:`GRAPHEMES`, a phoneme outside :data:`PHONEMES`,
        or the same pronunciation twice for a word (the message names
        ``name`` and the line number).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {_describe(text)}")
    lex: Lexicon = {}
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"{name} line {n} must be WORD<TAB>PHONEMES, got {line[:60]!r}")
        word, phones = parts
        pron = tuple(phones.split(" "))
        _check_word(word, f"{name} line {n}")
        _check_pron(pron, f"{name} line {n}")
        prons = lex.setdefault(word, [])
        if pron in prons:
            raise ValueError(f"{name} line {n} repeats the pronunciation {' '.join(pron)!r} of {word!r}")
        prons.append(pron)
    return lex


def _check_word(word: object, where: str) -> str:
    if not isinstance(word, str) or not word:
        raise ValueError(f"{where}: a word must be a non-empty str, got {_describe(word)}")
    bad = sorted(set(word) - set(GRAPHEMES))
    if bad:
        raise ValueError(f"{where}: a word must be spelled with the 27 graphemes ' and A-Z, "
                         f"got {word!r} with {bad}")
    return word


def _check_pron(pron: Sequence[str], where: str) -> Pron:
    pron = tuple(pron)
    if not pron or pron == ("",):
        raise ValueError(f"{where}: a pronunciation must hold at least one phoneme, got none")
    bad = [p for p in pron if p not in _PHONEME_ID]
    if bad:
        raise ValueError(f"{where}: a pronunciation must use the 39 phonemes of PHONEMES, got {bad[:3]}")
    return pron


_CACHE: dict[str, Lexicon] = {}


def read_lexicon(split: str) -> Lexicon:
    """The shipped ``"train"`` or ``"test"`` lexicon (checked against ``SHA256SUMS`` on first read).

    Returns a fresh dict each call (the parsed file is cached).
    """
    check_choice(split, "split", ("train", "test"))
    if split not in _CACHE:
        verify_cmudict()
        _CACHE[split] = parse_lexicon((CMUDICT_DIR / f"{split}.tsv").read_text(encoding="ascii"), f"{split}.tsv")
    return {w: list(p) for w, p in _CACHE[split].items()}


# ----------------------------------------------------------------------------- splits


def lexicon_pairs(lexicon: Mapping[str, Sequence[Pron]]) -> list[tuple[str, Pron]]:
    """Every (word, pronunciation) of a lexicon as its own pair, words in the lexicon's order."""
    return [(w, tuple(p)) for w, prons in lexicon.items() for p in prons]


@dataclass(frozen=True)
class G2PSplits:
    """Train, validation and test lexicons of :func:`load_cmudict`.

    Attributes
    ----------
    train, valid, test : Lexicon
        Word -> pronunciations.  ``valid`` holds the held-out training words
        (with all their pronunciations); ``train`` the rest.
    seed : int
        The seed of the held-out draw.
    """

    train: Lexicon = field(repr=False)
    valid: Lexicon = field(repr=False)
    test: Lexicon = field(repr=False)
    seed: int = 0

    def pairs(self, split: str) -> list[tuple[str, Pron]]:
        """Every pronunciation of ``split`` ("train", "valid" or "test") as its own pair."""
        check_choice(split, "split", ("train", "valid", "test"))
        return lexicon_pairs(getattr(self, split))

    def __repr__(self) -> str:
        n = {s: (len(getattr(self, s)), sum(map(len, getattr(self, s).values()))) for s in ("train", "valid", "test")}
        parts = ", ".join(f"{s}: {w} words / {p} pairs" for s, (w, p) in n.items())
        return f"G2PSplits({parts}, seed={self.seed})"


def load_cmudict(n_valid: int = 5000, *, seed: int = 0) -> G2PSplits:
    """The shipped split with ``n_valid`` training words held out for validation.

    Parameters
    ----------
    n_valid : int
        How many training *words* to hold out (all their pronunciations go with
        them, so no word is in two splits).  ``0`` holds out none.
    seed : int
        Seeds the draw (``numpy.random.default_rng(seed)``, without replacement,
        over the words in file order).

    Returns
    -------
    G2PSplits
    """
    if isinstance(n_valid, bool) or not isinstance(n_valid, (int, np.integer)):
        raise TypeError(f"n_valid must be an int, got {_describe(n_valid)}")
    train = read_lexicon("train")
    if not 0 <= n_valid < len(train):
        raise ValueError(f"n_valid must be in [0, {len(train)}) (the training words), got {n_valid}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {_describe(seed)}")
    rng = np.random.default_rng(int(seed))
    words = list(train)
    held = set(words[i] for i in rng.choice(len(words), size=int(n_valid), replace=False))
    valid = {w: train[w] for w in words if w in held}
    rest = {w: train[w] for w in words if w not in held}
    return G2PSplits(rest, valid, read_lexicon("test"), int(seed))


# ----------------------------------------------------------------------------- symbols <-> ids


def encode_word(word: str) -> list[int]:
    """Grapheme ids of ``word``: ``"CAT" -> [3, 1, 20]`` (``'`` is 0, A is 1, ..., Z is 26)."""
    return [_GRAPHEME_ID[c] for c in _check_word(word, "word")]


def encode_phonemes(pron: Sequence[str]) -> list[int]:
    """Target ids of a pronunciation followed by EOS: ``("K", "AE", "T") -> [21, 3, 32, 0]``."""
    if isinstance(pron, str):
        pron = pron.split()
    return [_PHONEME_ID[p] for p in _check_pron(pron, "pron")] + [G2P_EOS]


def decode_phonemes(ids: Iterable[int]) -> Pron:
    """Phonemes of target ids, stopping at the first EOS: ``[21, 3, 32, 0] -> ("K", "AE", "T")``.

    Raises
    ------
    ValueError
        An id outside ``[0, 41)`` or the begin symbol (id 1), which is never an output.
    """
    a = as_int_array(list(ids), "ids", ndim=1)
    out = []
    for i in a:
        if i == G2P_EOS:
            break
        if not 2 <= i < len(G2P_TGT_VOCAB):
            raise ValueError(f"ids must be phoneme ids in [2, {len(G2P_TGT_VOCAB)}) or eos=0, got {int(i)}")
        out.append(G2P_TGT_VOCAB[i])
    return tuple(out)


# ----------------------------------------------------------------------------- scoring


def edit_distance(hyp: Sequence[object], ref: Sequence[object]) -> int:
    """Levenshtein distance: the fewest substitutions, insertions and deletions turning ``hyp`` into ``ref``."""
    hyp, ref = list(hyp), list(ref)
    if hyp == ref:
        return 0
    prev = list(range(len(ref) + 1))
    for i, h in enumerate(hyp, 1):
        cur = [i] + [0] * len(ref)
        for j, r in enumerate(ref, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (h != r))
        prev = cur
    return prev[-1]


@dataclass(frozen=True)
class G2PScore:
    """The result of :func:`g2p_score`.

    Attributes
    ----------
    wer : float
        Share of words whose hypothesis matches none of their references.
    per : float
        ``edits / ref_phonemes``.
    n_words, n_wrong : int
    edits : int
        Summed edit distance from each hypothesis to its closest reference.
    ref_phonemes : int
        Summed length of those closest references.
    words : tuple of str
        The scored words, in the order of the references.
    distance : ndarray (n_words,) int
        Each word's distance to its closest reference.
    closest : ndarray (n_words,) int
        Index of that reference among the word's pronunciations (the first one
        in file order when several are equally close).
    """

    wer: float
    per: float
    n_words: int
    n_wrong: int
    edits: int
    ref_phonemes: int
    words: tuple[str, ...] = field(repr=False)
    distance: np.ndarray = field(repr=False)
    closest: np.ndarray = field(repr=False)


def g2p_score(hypotheses: Mapping[str, Sequence[str]], references: Mapping[str, Sequence[Sequence[str]]]) -> G2PScore:
    """WER and PER of ``hypotheses`` against ``references`` (see the module docstring).

    Parameters
    ----------
    hypotheses : mapping word -> sequence of phonemes
        One hypothesis per reference word (a str is split on spaces; an empty
        hypothesis is allowed and counts as wrong).
    references : mapping word -> list of pronunciations
        E.g. ``load_cmudict().test``.

    Returns
    -------
    G2PScore

    Raises
    ------
    ValueError
        If a reference word has no hypothesis or a hypothesis has no reference
        word (the message counts them and names the first), or a word has no
        reference pronunciation.
    """
    if not isinstance(hypotheses, Mapping) or not isinstance(references, Mapping):
        raise TypeError(f"hypotheses and references must be dicts word -> phonemes, got "
                        f"{type(hypotheses).__name__} and {type(references).__name__}")
    missing = [w for w in references if w not in hypotheses]
    extra = [w for w in hypotheses if w not in references]
    if missing:
        raise ValueError(f"hypotheses must hold every reference word, {len(missing)} missing "
                         f"(first: {missing[0]!r})")
    if extra:
        raise ValueError(f"hypotheses must hold only reference words, {len(extra)} are not "
                         f"(first: {extra[0]!r})")
    words = tuple(references)
    dist = np.zeros(len(words), np.int64)
    closest = np.zeros(len(words), np.int64)
    ref_len = 0
    for n, w in enumerate(words):
        refs = [tuple(r.split()) if isinstance(r, str) else tuple(r) for r in references[w]]
        if not refs:
            raise ValueError(f"references[{w!r}] must hold at least one pronunciation, got none")
        h = hypotheses[w]
        h = tuple(h.split()) if isinstance(h, str) else tuple(h)
        ds = [edit_distance(h, r) for r in refs]
        k = int(np.argmin(ds))  # the first of the closest
        dist[n], closest[n] = ds[k], k
        ref_len += len(refs[k])
    n_wrong = int(np.count_nonzero(dist))
    edits = int(dist.sum())
    return G2PScore(n_wrong / len(words) if words else float("nan"), edits / ref_len if ref_len else float("nan"),
                    len(words), n_wrong, edits, ref_len, words, dist, closest)


# ----------------------------------------------------------------------------- predictions files


def write_g2p_predictions(path: Path | str, hypotheses: Mapping[str, Sequence[str]]) -> None:
    """Write ``WORD<TAB>PH PH ...`` lines, one per word in the mapping's order (``\\n`` endings, ASCII)."""
    lines = []
    for w, h in hypotheses.items():
        _check_word(w, "hypotheses")
        h = tuple(h.split()) if isinstance(h, str) else tuple(h)
        if h:
            _check_pron(h, f"hypotheses[{w!r}]")
        lines.append(f"{w}\t{' '.join(h)}\n")
    Path(path).write_text("".join(lines), encoding="ascii", newline="\n")


def read_g2p_predictions(path: Path | str) -> dict[str, Pron]:
    """Read a file of :func:`write_g2p_predictions`: word -> phonemes (empty for an empty hypothesis).

    Raises
    ------
    ValueError
        A malformed line, an unknown symbol, or a word listed twice.
    """
    out: dict[str, Pron] = {}
    for n, line in enumerate(Path(path).read_text(encoding="ascii").split("\n"), 1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"{Path(path).name} line {n} must be WORD<TAB>PHONEMES, got {line[:60]!r}")
        w, phones = parts
        _check_word(w, f"{Path(path).name} line {n}")
        pron = tuple(phones.split())
        if pron:
            _check_pron(pron, f"{Path(path).name} line {n}")
        if w in out:
            raise ValueError(f"{Path(path).name} line {n} lists {w!r} a second time")
        out[w] = pron
    return out
