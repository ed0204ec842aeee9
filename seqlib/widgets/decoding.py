"""Decoding one token at a time: the per-step distribution, the beam, greedy's output and the loss terms.

For a trained encoder-decoder of :mod:`seqlib.seq2seq` (by default the
numbers-to-words model of the sequence-to-sequence chapter, seed 0 of the
"forward" variant of ``sweeps/seq2seq.py``) the reader picks an input number
(presets, or any number in [0, 999999], the numbers the target vocabulary
writes in words), a beam width and a step l of the search
(:func:`seqlib.seq2seq.decode.beam_search` with a trace), and sees

* the distribution p̂(y_l | prefix, x) over the next word after the best live
  prefix in the beam, its most probable words;
* the candidates the beam keeps after step l with their scores
  log p̂(prefix | x), and the stopping rule (best finished against best live);
* greedy decoding's output (:func:`seqlib.seq2seq.decode.greedy_decode`) and, below
  it, beam search's, each with its log p̂(ŷ | x) and whether it is right;
* the loss term -log p̂(y_l | y_{0:l}, x) that each target token (EOS included) contributes
  under teacher forcing (:func:`seqlib.seq2seq.sequence_log_prob` with
  ``per_token=True``), position l highlighted.

The picture is drawn by ``js/views/decoding.js``; in a static page its
numbers come from ``js/mirror/decode.js`` (a JavaScript copy of the encoder,
the decoder step, the readout's log-softmax, beam search, greedy decoding and
the teacher-forced terms), computed from the model's weights in ``base``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..seq2seq import data as seq2seq_data, decode, model as seq2seq
from ..book.committed import results, results_path
from ._engine import BookWidget, packed

__all__ = ["decoding_widget", "decoding_data", "DecodingTrace", "DecodingWidget", "book_model",
           "DEFAULT_EXAMPLES", "DEFAULT_NUMBER", "BEAM_WIDTHS", "MAX_NUMBER"]

# The book's model (seed 0 of the "forward" variant of sweeps/seq2seq.py) and the sweep's
# results, whose settings hold its split seed: committed results, found by seqlib.book.committed
# (the wheel's copy, or the repository's sweeps/results/).
#: The chapter's three examples among the presets (indices into ``_presets()``): a 3-digit and a
#: 4-digit test number and a 5-digit number (a length never trained on).
DEFAULT_EXAMPLES: tuple[int, ...] = (0, 1, 2)
#: The default input: a 4-digit number of no split on which greedy decoding of the book's model
#: goes wrong (it writes "one": p̂ = 0.535 for "one" against 0.407 for "eight" at step 0, then
#: <eos>) and beam search of width >= 2 finds the right words, of higher probability.
DEFAULT_NUMBER = 8161
#: The default step: the first step at which the beam ranks a prefix above greedy's path.
DEFAULT_STEP = 1
#: The default beam width: the sweep's (sweeps/seq2seq.py, SET["beam"] in the chapter).
DEFAULT_BEAM = 4
#: The beam-width slider's stops; ``show(beam_width=...)`` takes any width in [1, MAX_BEAM].
BEAM_WIDTHS: tuple[int, ...] = tuple(range(1, 9))
MAX_BEAM = 64
#: The largest number the target vocabulary writes (seqlib.seq2seq.data.number_to_words).
MAX_NUMBER = 999_999
#: How many of the most probable next words the distribution panel lists.
TOP = 6
KEYS = ("number", "beam_width", "step")


def book_model(key: str = "forward_0") -> tuple[dict[str, np.ndarray], seq2seq.Seq2SeqConfig]:
    """The trained parameters saved by ``sweeps/seq2seq.py`` and their config."""
    with np.load(results_path("seq2seq_weights")) as z:
        params = {k.split(".", 1)[1]: z[k] for k in z.files if k.split(".", 1)[0] == key}
    if not params:
        raise ValueError(f"key must name a saved model such as 'forward_0', got {key!r}")
    cfg = seq2seq.Seq2SeqConfig(V_x=len(seq2seq_data.SRC_VOCAB), V_y=len(seq2seq_data.TGT_VOCAB),
                                eos=seq2seq_data.EOS, bos=seq2seq_data.BOS, D=params["E_x"].shape[1],
                                H=params["W_hy"].shape[0], context=params["dec_W_xh"].shape[0] > params["E_x"].shape[1])
    return params, cfg


def _sweep_split_seed() -> int:
    """The split seed the book's model was trained with (``settings.split_seed`` of the sweep's JSON)."""
    return int(results("seq2seq")["settings"]["split_seed"])


def _default_inputs(split_seed: int | None = None) -> list[int]:
    """The chapter's examples: one 3-digit and one 4-digit test number and one 5-digit number.

    ``split_seed`` is that of :func:`seqlib.seq2seq.data.number_splits`; default the sweep's, so
    that the test numbers are those the book's model was not trained on.
    """
    sp = seq2seq_data.number_splits(seed=_sweep_split_seed() if split_seed is None else split_seed)
    test = [int(x) for x in sp.numbers["test"]]
    pick = [next(x for x in test if len(str(x)) == 3), next(x for x in test if len(str(x)) == 4),
            int(sp.numbers["long"][0])]
    return pick


def _presets() -> list[int]:
    """The input toggles: the chapter's three examples, then :data:`DEFAULT_NUMBER`."""
    return [*_default_inputs(), DEFAULT_NUMBER]


@dataclass(frozen=True)
class DecodingTrace:
    """Everything the widget shows for one input and beam width.

    Attributes
    ----------
    number : int
    target : list of int
        The target ids, EOS last (length L).
    steps : list of seqlib.seq2seq.decode.BeamStep
        One per step of the search (S of them).
    result : list of seqlib.seq2seq.decode.Hypothesis
        Beam search's outputs, best first.
    loss_terms : ndarray (L,)
        -log p̂(y_l | y_{0:l}, x), teacher forced.
    greedy : seqlib.seq2seq.decode.Hypothesis or None
        Greedy decoding's output (``None`` when not asked for).
    """

    number: int
    target: list[int]
    steps: list[decode.BeamStep]
    result: list[decode.Hypothesis]
    loss_terms: np.ndarray
    greedy: decode.Hypothesis | None = None


def decoding_data(number: int, params: Mapping[str, np.ndarray], config: seq2seq.Seq2SeqConfig, *,
                  beam_width: int = DEFAULT_BEAM, max_len: int = 12) -> DecodingTrace:
    """Beam search with a trace, greedy decoding and the teacher-forced loss terms, for one number."""
    src, tgt = seq2seq_data.encode_number(number)
    steps: list[decode.BeamStep] = []
    result = decode.beam_search(params, src, config, beam_width, max_len, trace=steps)
    greedy = decode.greedy_decode(params, [src], config, max_len)[0]
    terms = -seq2seq.sequence_log_prob(params, [src], [tgt], config, per_token=True)[0]
    return DecodingTrace(int(number), tgt, steps, result, terms, greedy)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _hyp(tokens: Sequence[int], score: float, finished: bool) -> dict[str, Any]:
    return {"tokens": [int(t) for t in tokens], "score": float(score), "finished": bool(finished)}


def _frame(tr: DecodingTrace, step: int, eos: int, top: int) -> dict[str, Any]:
    """The numbers of step ``step`` (clamped to the last of max(S, L) steps) of a trace."""
    S, L = len(tr.steps), len(tr.target)
    n_steps = max(S, L)
    l = min(step, n_steps - 1)
    at = min(l, S - 1)  # the search step whose beam is shown (the last one once the search ended)
    best_finished: dict[str, Any] | None = None
    for st in tr.steps[:at + 1]:
        for seq, score in st.kept:
            if seq[-1] == eos and (best_finished is None or score > best_finished["score"]):
                best_finished = {"tokens": [int(t) for t in seq], "score": float(score)}
    live = [score for seq, score in tr.steps[at].kept if seq[-1] != eos]
    best_live = float(live[0]) if live else None
    stop = None
    if l >= S - 1:  # why the search ended (the order of seqlib.seq2seq.decode.beam_search's tests)
        if not live:
            stop = "no_live"
        elif best_finished is not None and best_finished["score"] >= max(live):
            stop = "rule"
        else:
            stop = "max_len"
    if l < S:
        st = tr.steps[l]
        lp = st.logp[0]
        order = np.argsort(-lp, kind="stable")[:top]
        prefix: list[int] | None = [int(t) for t in st.prefixes[0]]
        prefix_score: float | None = float(st.prefix_scores[0])
        top_words = [int(v) for v in order]
        top_p = [float(v) for v in np.exp(lp[order])]
        kept = [_hyp(seq, score, seq[-1] == eos) for seq, score in st.kept]
    else:
        prefix = prefix_score = None
        top_words, top_p, kept = [], [], []
    g = tr.greedy
    assert g is not None
    return {
        "number": tr.number, "target": [int(t) for t in tr.target], "step": l, "n_steps": n_steps,
        "search_steps": S, "prefix": prefix, "prefix_score": prefix_score, "top_words": top_words,
        "top_p": top_p, "kept": kept, "best_finished": best_finished, "best_live": best_live, "stop": stop,
        "result": [_hyp(h.tokens, h.score, h.finished) for h in tr.result],
        "greedy": _hyp(g.tokens, g.score, g.finished),
        "loss_terms": [float(v) for v in tr.loss_terms], "loss_sum": float(np.sum(tr.loss_terms)),
    }


class DecodingWidget(BookWidget):
    """Beam search step by step for any input number (see :func:`decoding_widget`).

    Setting keys: ``number`` (int in [0, 999999]), ``beam_width`` (int in [1, 64];
    the slider offers 1..8) and ``step`` (int in [0, max_len - 1]; a step past
    the last of this input's max(S, L) steps shows the last one, S the search's
    steps and L the target's length).  ``base`` holds the model's weights and
    sizes; ``options`` the vocabulary, the presets and the limits.
    """

    VIEW = "decoding"
    MIRRORS = ("decode",)

    def __init__(self, setting: Mapping[str, Any], *, params: Mapping[str, np.ndarray],
                 config: seq2seq.Seq2SeqConfig, presets: Sequence[int], max_len: int = 12, **kwargs: Any) -> None:
        if config.cell != "rnn":
            raise ValueError(f"config.cell must be 'rnn' (the page's mirror runs the vanilla RNN cell), "
                             f"got {config.cell!r}")
        if config.V_y != len(seq2seq_data.TGT_VOCAB) or config.V_x != len(seq2seq_data.SRC_VOCAB):
            raise ValueError(f"config must have the numbers-to-words vocabularies (V_x, V_y) = "
                             f"({len(seq2seq_data.SRC_VOCAB)}, {len(seq2seq_data.TGT_VOCAB)}), "
                             f"got ({config.V_x}, {config.V_y})")
        seq2seq._check_params(params, config)
        if not _is_int(max_len) or not 1 <= max_len <= 64:
            raise ValueError(f"max_len must be an int in [1, 64], got {max_len!r}")
        self._params = {k: np.asarray(params[k], dtype=np.float64) for k in seq2seq.param_names(config)}
        self._config = config
        self._max_len = int(max_len)
        self._cache: dict[tuple[int, int], DecodingTrace] = {}
        # the weights packed as float64 (8 bytes a number in the page instead of ~20 as JSON text)
        base = {"params": {k: packed(v) for k, v in self._params.items()}, "D": config.D, "H": config.H,
                "V_x": config.V_x, "V_y": config.V_y,
                "eos": config.eos, "bos": config.bos, "context": bool(config.context)}
        options = {"vocab": list(seq2seq_data.TGT_VOCAB), "presets": [int(n) for n in presets],
                   "max_number": MAX_NUMBER, "beam_widths": list(BEAM_WIDTHS), "max_beam": MAX_BEAM,
                   "max_len": self._max_len, "top": TOP, "eos": config.eos}
        super().__init__(setting, base=base, options=options, **kwargs)

    def check_setting(self, setting: dict[str, Any]) -> dict[str, Any]:
        """``setting`` checked: exactly the keys number, beam_width, step (ValueError/TypeError naming the key)."""
        if set(setting) != set(KEYS):
            missing, extra = sorted(set(KEYS) - set(setting)), sorted(set(setting) - set(KEYS))
            raise ValueError(f"setting must have exactly the keys {list(KEYS)}; missing {missing}, unknown {extra}")
        limits = {"number": (0, MAX_NUMBER, "the input number, one the target vocabulary writes in words"),
                  "beam_width": (1, MAX_BEAM, "the beam width k"),
                  "step": (0, self._max_len - 1, f"the decoding step l, below max_len = {self._max_len}")}
        out: dict[str, Any] = {}
        for key in KEYS:
            v = setting[key]
            lo, hi, what = limits[key]
            if isinstance(v, (float, np.floating)) and float(v).is_integer():
                v = int(v)
            if not _is_int(v):
                raise TypeError(f"setting[{key!r}] ({what}) must be an int in [{lo}, {hi}], "
                                f"got {type(v).__name__} {v!r}")
            if not lo <= v <= hi:
                raise ValueError(f"setting[{key!r}] ({what}) must be in [{lo}, {hi}], got {v}")
            out[key] = int(v)
        return out

    @property
    def network(self) -> tuple[dict[str, np.ndarray], seq2seq.Seq2SeqConfig]:
        """The encoder-decoder this widget decodes with: copies of its parameters (float64) and its config."""
        return {k: v.copy() for k, v in self._params.items()}, self._config

    def trace(self, number: int, beam_width: int) -> DecodingTrace:
        """:func:`decoding_data` for this widget's model (cached)."""
        key = (int(number), int(beam_width))
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = decoding_data(key[0], self._params, self._config, beam_width=key[1],
                                             max_len=self._max_len)
        return self._cache[key]

    def compute(self, setting: Mapping[str, Any]) -> dict[str, Any]:
        """seqlib's numbers for a checked ``setting``.

        Returns
        -------
        dict
            ``number``; ``target`` (L,) ids, EOS last; ``step`` l (clamped to ``n_steps - 1``);
            ``n_steps`` = max(S, L); ``search_steps`` S; at step l < S: ``prefix`` (the best live
            prefix entering step l, ids) and ``prefix_score``, ``top_words``/``top_p`` (the
            ``TOP`` most probable next words after it and their p̂), ``kept`` (the candidates the
            beam keeps after step l, best first: ``tokens``, ``score`` = log p̂(tokens | x),
            ``finished``); else ``None``/``[]``.  ``best_finished`` (tokens, score: the best
            finished output so far, or ``None``), ``best_live`` (the best live score after the
            step, or ``None``), ``stop`` (once the search has ended: ``"rule"``, ``"no_live"``
            or ``"max_len"``, else ``None``), ``result`` (beam search's outputs), ``greedy``
            (greedy decoding's output), ``loss_terms`` (L,) and their sum ``loss_sum``.
        """
        tr = self.trace(setting["number"], setting["beam_width"])
        return _frame(tr, setting["step"], self._config.eos, TOP)

    def random_settings(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        """``n`` settings spread over every control's range.

        Numbers with 1 to 6 digits (as many of each), the presets now and then, 0 and 999999
        first; beam widths uniform in [1, 8], one of 64; steps uniform in [0, max_len - 1].
        """
        presets = self.options["presets"]
        out = []
        for i in range(n):
            digits = 1 + i % 6
            number = int(rng.integers(0 if digits == 1 else 10 ** (digits - 1), 10 ** digits))
            if i % 7 == 3 and presets:
                number = int(presets[(i // 7) % len(presets)])
            s = {"number": number, "beam_width": int(rng.integers(1, 9)),
                 "step": int(rng.integers(0, self._max_len))}
            if i == 0:
                s.update(number=0, beam_width=1)
            if i == 1:
                s.update(number=MAX_NUMBER, beam_width=8, step=self._max_len - 1)
            if i == 2:
                s.update(beam_width=MAX_BEAM)
            out.append(s)
        return out


def decoding_widget(numbers: Sequence[int] | None = None, params: Mapping[str, np.ndarray] | None = None,
                    config: seq2seq.Seq2SeqConfig | None = None, *, beam_width: int = DEFAULT_BEAM,
                    max_len: int = 12, number: int | None = None, step: int | None = None) -> DecodingWidget:
    """Step through beam-search decoding of a number into words, one token at a time.

    Controls: the input number (a toggle per preset, and a field for any number in
    [0, 999999]), the beam width k (slider, 1..8) and the step l (stepper with
    play/pause over the search's steps and on to the target's last position).
    The picture: the ``TOP`` most probable next words after the best prefix at
    step l, the candidates the beam keeps with log p̂(prefix | x), greedy
    decoding's output above beam search's, and each target token's
    teacher-forced loss term with position l highlighted.

    Parameters
    ----------
    numbers : sequence of int, optional
        The presets offered as toggles (1 to 4 numbers in [0, 999999]); default the
        chapter's three examples (a 3-digit and a 4-digit test number and a 5-digit
        number) and :data:`DEFAULT_NUMBER`.
    params, config : optional
        A trained model with the vanilla RNN cell and the numbers-to-words
        vocabularies; default the book's (:func:`book_model`).
    beam_width : int
        The initial beam width (default 4, the sweep's).
    max_len : int
        The search's length limit.
    number : int, optional
        The initial input; default :data:`DEFAULT_NUMBER` for the book's presets, else ``numbers[0]``.
    step : int, optional
        The initial step; default :data:`DEFAULT_STEP` for the book's model and presets, else 0.

    Returns
    -------
    DecodingWidget
        CSS class ``seqlib-decoding``; ``w.show(number=7007, beam_width=1, step=3)`` moves it.
    """
    book = numbers is None and params is None
    if params is None:
        if config is not None:
            raise ValueError("params must be given with config")
        params, config = book_model()
    elif config is None:
        raise ValueError("config must be given with params")
    presets = _presets() if numbers is None else list(numbers)
    if not 1 <= len(presets) <= 4 or any(not _is_int(n) or not 0 <= n <= MAX_NUMBER for n in presets):
        raise ValueError(f"numbers must hold 1 to 4 ints in [0, {MAX_NUMBER}], got {numbers!r}")
    if number is None:
        number = DEFAULT_NUMBER if numbers is None else int(presets[0])
    if step is None:
        step = DEFAULT_STEP if book else 0
    setting = {"number": number, "beam_width": beam_width, "step": step}
    return DecodingWidget(setting, params=params, config=config, presets=presets, max_len=max_len)
