"""Attention while decoding: step through a word's phonemes and watch the attention weights move.

For an attention encoder-decoder trained on CMUdict (:mod:`seqlib.attention.g2p`;
by default the book's, seed 0 of the attention model of ``sweeps/g2p.py``) the
reader picks a word, a decoder (greedy, or beam search of width k) and an
output step l, and sees

* the word's letters x_0 .. x_{M-1}, each under a bar as high as its weight
  α_lj at step l, the weight written above it;
* the phonemes emitted so far, ŷ_0 .. ŷ_l, and p̂(ŷ_l | ŷ_{0:l}, x), the
  probability the model gave the phoneme it emitted at step l;
* the whole alignment matrix α (one row per output token, <eos> included,
  one column per letter) as a heat map with row l outlined; hovering or
  tapping a cell writes its weight;
* the output's log-probability log p̂(ŷ | x).

Where the numbers come from: :func:`seqlib.attention.model.attention_greedy_decode`
(greedy) or the best hypothesis of :func:`seqlib.attention.model.attention_beam_search`
(beam), whose ``.weights`` is α and ``.score`` is log p̂(ŷ | x); the per-token
probabilities by replaying the output's tokens through
:func:`seqlib.attention.model.attention_decoder_step` (:func:`attention_decoding_data`).

In a kernel any typed word is decoded by seqlib.  A static page has no model:
``base`` holds seqlib's decodings of the listed words (both decoders),
computed when the notebook ran, and the page only shows them
(``js/views/attention_decoding.js`` computes nothing new, so there is no
JavaScript mirror of the model).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .._validate import _describe
from ..attention import g2p
from ..book.committed import RESULTS, results_path
from ..attention.data import G2P_TGT_VOCAB, GRAPHEMES, decode_phonemes, encode_word
from ..attention.model import (AttentionConfig, attention_beam_search, attention_decoder_step, attention_encode,
                               attention_greedy_decode)
from ..seq2seq.model import CELLS
from ._engine import BookWidget, packed

__all__ = ["attention_decoding_widget", "attention_decoding_data", "AttentionDecoding", "AttentionDecodingWidget",
           "book_checkpoint", "DEFAULT_WORDS", "DEFAULT_WORD", "DEFAULT_BEAM", "MAX_LEN", "MAX_LETTERS",
           "MAX_WORDS", "MAX_BEAM", "DECODERS"]

#: The book's checkpoint (``sweeps/g2p.py``'s attention model, seed 0): the committed result
#: ``"g2p_model"`` (:func:`seqlib.results_path`: the package's copy first, then the repository's).
BOOK_CHECKPOINT = RESULTS["g2p_model"]
#: The words offered by default, the attention chapter's list: spellings whose sounds sit elsewhere
#: (KN, PH, GH, X, silent letters), the three words of its heat maps (GEOGRAPHIC, CITATION, BLIGHT),
#: and BITCOIN, which is in no split of CMUdict (a word the model never saw).
DEFAULT_WORDS: tuple[str, ...] = (
    "KNIGHT", "GEOGRAPHIC", "CITATION", "BLIGHT", "THROUGH", "LAUGH", "XYLOPHONE", "QUEUE", "SCHOOL",
    "PSYCHOLOGY", "ATTENTION", "ISLAND", "COLONEL", "YACHT", "WRITE", "BITCOIN",
)
DEFAULT_WORD = "KNIGHT"
#: The beam width of the toggle (``BEAM`` of sweeps/g2p.py, the chapter's test decoding).
DEFAULT_BEAM = 5
#: At most this many output tokens, <eos> included (``MAX_LEN`` of sweeps/g2p.py, transcribe's default).
MAX_LEN = 32
#: The longest word accepted (CMUdict's longest has 22 letters).
MAX_LETTERS = 24
MAX_WORDS = 24
MAX_BEAM = 16
DECODERS: tuple[str, ...] = ("greedy", "beam")
KEYS = ("word", "decoder", "step")


def book_checkpoint() -> Path:
    """The path of the book's G2P attention checkpoint: ``seqlib.results_path("g2p_model")``.

    Raises
    ------
    FileNotFoundError
        If neither the package's copy nor the repository's file exists; the
        message names both places and how to make the checkpoint.
    """
    try:
        return results_path("g2p_model")
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"the book's G2P checkpoint is missing ({exc}): run `python sweeps/g2p.py run "
                                f"attention-s0`, or pass checkpoint=") from None


@dataclass(frozen=True)
class AttentionDecoding:
    """One word decoded, with the attention weights of every output token.

    Attributes
    ----------
    word : str
        Upper case, M letters.
    decoder : str
        ``"greedy"`` or ``"beam"``.
    beam_width : int
        1 for greedy decoding.
    tokens : tuple of int
        The output's target ids, L of them (EOS last if ``finished``).
    weights : ndarray (L, M)
        Row l: α_l, the weights over the letters when token l was chosen (the hypothesis' ``weights``).
    token_logp : ndarray (L,)
        log p̂(ŷ_l | ŷ_{0:l}, x) of each output token, by replaying ``tokens`` through the decoder.
    score : float
        log p̂(ŷ | x), the hypothesis' score.
    finished : bool
        Whether the output ended with EOS (else it was cut at ``max_len`` tokens).
    """

    word: str
    decoder: str
    beam_width: int
    tokens: tuple[int, ...]
    weights: np.ndarray
    token_logp: np.ndarray
    score: float
    finished: bool

    @property
    def phonemes(self) -> tuple[str, ...]:
        """The output's phonemes (:func:`seqlib.attention.data.decode_phonemes`: no <eos>)."""
        return decode_phonemes(self.tokens)


def _token_logp(params: Mapping[str, np.ndarray], config: AttentionConfig, src: Sequence[int],
                tokens: Sequence[int]) -> np.ndarray:
    """log p̂(ŷ_l | ŷ_{0:l}, x) of each token, fed back one step at a time as the decoders do."""
    memory = attention_encode(params, [src], config)
    state = CELLS[config.cell].initial_state(memory.s0)
    prev = config.bos
    out = np.zeros(len(tokens))
    for l, tok in enumerate(tokens):
        logp, state, _ = attention_decoder_step(params, np.array([prev]), state, memory, config)
        out[l] = logp[0, tok]
        prev = tok
    return out


def attention_decoding_data(word: str, params: Mapping[str, np.ndarray], config: AttentionConfig, *,
                            beam_width: int = 1, max_len: int = MAX_LEN) -> AttentionDecoding:
    """Decode one word as :func:`seqlib.attention.g2p.transcribe` does, keeping α and each token's log p̂.

    ``beam_width=1``: :func:`seqlib.attention.model.attention_greedy_decode`; k > 1: the best
    hypothesis of :func:`seqlib.attention.model.attention_beam_search` of width k.
    """
    word = word.upper()
    src = encode_word(word)
    if beam_width == 1:
        hyp = attention_greedy_decode(params, [src], config, max_len)[0]
    else:
        hyp = attention_beam_search(params, src, config, beam_width, max_len)[0]
    w = np.asarray(hyp.weights, dtype=np.float64)
    return AttentionDecoding(word, "greedy" if beam_width == 1 else "beam", int(beam_width),
                             tuple(int(t) for t in hyp.tokens), w, _token_logp(params, config, src, hyp.tokens),
                             float(hyp.score), bool(hyp.finished))


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_word(v: Any, name: str) -> str:
    """``v`` upper-cased, or a ValueError/TypeError naming ``name``."""
    if not isinstance(v, str):
        raise TypeError(f"{name} must be a word (a str of 1 to {MAX_LETTERS} letters A-Z and '), got {_describe(v)}")
    w = v.strip().upper()
    bad = sorted(set(w) - set(GRAPHEMES))
    if not 1 <= len(w) <= MAX_LETTERS or bad:
        why = f"characters {bad}" if bad else f"{len(w)} letters"
        raise ValueError(f"{name} must be a word of 1 to {MAX_LETTERS} letters A-Z and ' (lower case is "
                         f"upper-cased), got {v!r} with {why}")
    return w


def _record(d: AttentionDecoding) -> dict[str, Any]:
    """A decoding as stored in ``base`` (arrays packed: 8 bytes a number, bit for bit)."""
    return {"tokens": list(d.tokens), "weights": packed(d.weights), "token_logp": packed(d.token_logp),
            "score": d.score, "finished": d.finished}


def _same(a: AttentionDecoding, b: AttentionDecoding) -> bool:
    """The two decodings agree in every bit (then the page stores one)."""
    return (a.tokens == b.tokens and a.score == b.score and a.finished == b.finished
            and np.array_equal(a.weights, b.weights) and np.array_equal(a.token_logp, b.token_logp))


class AttentionDecodingWidget(BookWidget):
    """Attention weights while decoding a word (see :func:`attention_decoding_widget`).

    Setting keys: ``word`` (any word of 1 to ``MAX_LETTERS`` letters in a kernel; the listed
    words in a static page), ``decoder`` (``"greedy"``, or ``"beam"`` when the beam width
    is above 1) and ``step`` (int in [0, max_len - 1]; a step past the output's last token
    shows the last).  ``base`` holds seqlib's decodings of the listed words; ``options`` the
    words, the beam width, the vocabulary and the limits.
    """

    VIEW = "attention_decoding"

    def __init__(self, setting: Mapping[str, Any], *, params: Mapping[str, np.ndarray], config: AttentionConfig,
                 words: Sequence[str], beam_width: int, max_len: int = MAX_LEN, **kwargs: Any) -> None:
        self._params = params
        self._config = config
        self._beam = int(beam_width)
        self._max_len = int(max_len)
        self._cache: OrderedDict[tuple[str, str], AttentionDecoding] = OrderedDict()
        self.words = tuple(words)
        decodings: dict[str, dict[str, Any]] = {}
        for w in self.words:
            g = self.decoding(w, "greedy")
            rec: dict[str, Any] = {"greedy": _record(g), "beam": None}
            if self._beam > 1:
                b = self.decoding(w, "beam")
                rec["beam"] = "greedy" if _same(g, b) else _record(b)
            decodings[w] = rec
        base = {"decodings": decodings}
        options = {"words": list(self.words), "beam_width": self._beam, "max_len": self._max_len,
                   "max_letters": MAX_LETTERS, "vocab": list(G2P_TGT_VOCAB), "eos": int(config.eos)}
        super().__init__(setting, base=base, options=options, **kwargs)

    def check_setting(self, setting: dict[str, Any]) -> dict[str, Any]:
        """``setting`` checked: exactly the keys word, decoder, step (ValueError/TypeError naming the key)."""
        if set(setting) != set(KEYS):
            missing, extra = sorted(set(KEYS) - set(setting)), sorted(set(setting) - set(KEYS))
            raise ValueError(f"setting must have exactly the keys {list(KEYS)}; missing {missing}, unknown {extra}")
        word = _check_word(setting["word"], "setting['word']")
        decoder = setting["decoder"]
        allowed = DECODERS if self._beam > 1 else ("greedy",)
        if decoder not in allowed:
            raise ValueError(f"setting['decoder'] must be one of {list(allowed)}"
                             f"{'' if self._beam > 1 else ' (the beam width is 1)'}, got {decoder!r}")
        step = setting["step"]
        if isinstance(step, (float, np.floating)) and float(step).is_integer():
            step = int(step)
        if not _is_int(step):
            raise TypeError(f"setting['step'] (the output step l) must be an int in [0, {self._max_len - 1}], "
                            f"got {_describe(step)}")
        if not 0 <= step < self._max_len:
            raise ValueError(f"setting['step'] (the output step l) must be in [0, {self._max_len - 1}], got {step}")
        return {"word": word, "decoder": decoder, "step": int(step)}

    @property
    def network(self) -> tuple[Mapping[str, np.ndarray], AttentionConfig]:
        """The model this widget decodes with: (params, config)."""
        return self._params, self._config

    def decoding(self, word: str, decoder: str = "greedy") -> AttentionDecoding:
        """:func:`attention_decoding_data` of ``word`` with this widget's model (cached)."""
        key = (word.upper(), decoder)
        if key not in self._cache:
            if len(self._cache) >= 4 * MAX_WORDS:
                self._cache.popitem(last=False)
            self._cache[key] = attention_decoding_data(key[0], self._params, self._config,
                                                       beam_width=self._beam if decoder == "beam" else 1,
                                                       max_len=self._max_len)
        return self._cache[key]

    def compute(self, setting: Mapping[str, Any]) -> dict[str, Any]:
        """seqlib's numbers for a checked ``setting``.

        Returns
        -------
        dict
            ``word``; ``letters`` (M,); ``decoder``; ``beam_width`` (1 for greedy); ``tokens`` (L,) and
            their names ``phonemes`` (L,, ``"<eos>"`` last when ``finished``); ``weights`` (L, M), row l
            the attention weights α_l; ``token_logp`` (L,), log p̂(ŷ_l | ŷ_{0:l}, x); ``score``,
            log p̂(ŷ | x); ``finished``; ``step`` l (the setting's, clamped to L - 1); ``n_steps`` L.
        """
        d = self.decoding(setting["word"], setting["decoder"])
        L = len(d.tokens)
        return {"word": d.word, "letters": list(d.word), "decoder": d.decoder, "beam_width": d.beam_width,
                "tokens": list(d.tokens), "phonemes": [G2P_TGT_VOCAB[t] for t in d.tokens],
                "weights": d.weights, "token_logp": d.token_logp, "score": d.score, "finished": d.finished,
                "step": min(int(setting["step"]), L - 1), "n_steps": L}

    def random_settings(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        """``n`` settings over the listed words (each in turn), both decoders, steps in [0, max_len - 1]."""
        decs = DECODERS if self._beam > 1 else ("greedy",)
        out = []
        for i in range(n):
            s = {"word": self.words[i % len(self.words)], "decoder": decs[int(rng.integers(len(decs)))],
                 "step": int(rng.integers(0, 12 if i % 4 else self._max_len))}
            out.append(s)
        return out


def _load(checkpoint: Any) -> tuple[Mapping[str, np.ndarray], AttentionConfig]:
    if checkpoint is None:
        checkpoint = book_checkpoint()
    if isinstance(checkpoint, (str, Path)):
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f"checkpoint must be a .npz file of seqlib.attention.g2p.save_checkpoint, "
                                    f"got {str(checkpoint)!r}, which does not exist")
        params, config, _ = g2p.load_checkpoint(checkpoint)
    elif isinstance(checkpoint, tuple) and len(checkpoint) in (2, 3) and isinstance(checkpoint[0], Mapping):
        params, config = checkpoint[0], checkpoint[1]
    else:
        raise TypeError(f"checkpoint must be None (the book's model), a path to a .npz of "
                        f"seqlib.attention.g2p.save_checkpoint, or a (params, config) tuple, got {_describe(checkpoint)}")
    if not isinstance(config, AttentionConfig):
        raise ValueError(f"checkpoint must hold an attention model (config of seqlib.attention.g2p.g2p_config), "
                         f"got {_describe(config)}: the plain encoder-decoder has no attention weights")
    if config.V_x != len(GRAPHEMES) or config.V_y != len(G2P_TGT_VOCAB):
        raise ValueError(f"checkpoint must hold a model with CMUdict's vocabularies (V_x, V_y) = "
                         f"({len(GRAPHEMES)}, {len(G2P_TGT_VOCAB)}) (g2p_config), got ({config.V_x}, {config.V_y})")
    return params, config


def attention_decoding_widget(checkpoint: Any = None, words: Sequence[str] | None = None, *,
                              beam_width: int = DEFAULT_BEAM, max_len: int = MAX_LEN, word: str | None = None,
                              decoder: str = "greedy", step: int = 0) -> AttentionDecodingWidget:
    """Step through decoding a word into phonemes and watch the attention weights move.

    Controls: the word (a choice among ``words``; in a kernel also any typed word), the
    decoder (greedy, or beam search of width ``beam_width``; disabled when it is 1) and the
    output step l (stepper with play/pause, also the arrow keys on the picture).  The
    picture: the letters with the weights α_lj of step l as bars and numbers, the
    phonemes emitted so far with p̂(ŷ_l | ŷ_{0:l}, x), the output's log p̂(ŷ | x), and the
    alignment matrix α as a heat map with row l outlined (hover or tap a cell for its weight).

    Parameters
    ----------
    checkpoint : path or (params, config), optional
        An attention model of :mod:`seqlib.attention.g2p` (a ``.npz`` of ``save_checkpoint``,
        or its arrays and config); default the book's (:func:`book_checkpoint`).
    words : sequence of str, optional
        The words offered (1 to ``MAX_WORDS``, distinct, each 1 to ``MAX_LETTERS`` letters
        A-Z and '; lower case is upper-cased); their decodings are saved in the page.
        Default :data:`DEFAULT_WORDS`.
    beam_width : int
        The width k of the beam-search toggle, in [1, 16]; 1 offers greedy decoding only.
    max_len : int
        At most this many output tokens, <eos> included, in [1, 64].
    word : str, optional
        The initial word, one of ``words``; default :data:`DEFAULT_WORD` with the default
        words, else ``words[0]``.
    decoder : {"greedy", "beam"}
        The initial decoder.
    step : int
        The initial output step l.

    Returns
    -------
    AttentionDecodingWidget
        CSS class ``seqlib-attention-decoding``; ``w.show(word="zebra", step=2)`` moves it
        (in a kernel, any word).
    """
    params, config = _load(checkpoint)
    if words is None:
        wl = list(DEFAULT_WORDS)
    else:
        if isinstance(words, str) or not isinstance(words, Sequence) or not 1 <= len(words) <= MAX_WORDS:
            raise ValueError(f"words must be a list of 1 to {MAX_WORDS} words, got {_describe(words)}")
        wl = [_check_word(w, f"words[{i}]") for i, w in enumerate(words)]
        dup = sorted({w for w in wl if wl.count(w) > 1})
        if dup:
            raise ValueError(f"words must be distinct (after upper-casing), got {dup} more than once")
    if not _is_int(beam_width) or not 1 <= beam_width <= MAX_BEAM:
        raise ValueError(f"beam_width must be an int in [1, {MAX_BEAM}] (1: greedy only), got {_describe(beam_width)}")
    if not _is_int(max_len) or not 1 <= max_len <= 64:
        raise ValueError(f"max_len must be an int in [1, 64], got {_describe(max_len)}")
    if word is None:
        word = DEFAULT_WORD if words is None else wl[0]
    w0 = _check_word(word, "word")
    if w0 not in wl:
        raise ValueError(f"word must be one of words {wl}, got {word!r}")
    if decoder not in DECODERS or (decoder == "beam" and beam_width == 1):
        raise ValueError(f"decoder must be 'greedy' or, with beam_width > 1, 'beam'; got {decoder!r} "
                         f"with beam_width={beam_width}")
    if not _is_int(step) or not 0 <= step < max_len:
        raise ValueError(f"step must be an int in [0, max_len - 1] = [0, {max_len - 1}], got {_describe(step)}")
    return AttentionDecodingWidget({"word": w0, "decoder": decoder, "step": int(step)}, params=params,
                                   config=config, words=wl, beam_width=int(beam_width), max_len=int(max_len))
