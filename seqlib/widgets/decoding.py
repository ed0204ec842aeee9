"""Decoding one token at a time: the per-step distribution, the beam and the loss terms.

For a trained encoder-decoder of :mod:`seqlib.seq2seq` (by default the
numbers-to-words model of the sequence-to-sequence chapter, seed 0 of
``sweeps/seq2seq.py``) and a chosen input, each frame shows step l of a beam
search (:func:`seqlib.decode.beam_search` with a trace):

* left: the distribution p̂(y_l | prefix, x) over the next word for the
  best prefix in the beam, its most probable words;
* middle: the candidates the beam keeps after step l, with their scores
  log p̂(prefix | x);
* right: the loss term -log p̂(y_l | y_{0:l}, x) that each target token
  contributes under teacher forcing (:func:`seqlib.seq2seq.sequence_log_prob`
  with ``per_token=True``), the current position highlighted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import decode, seq2seq, seq2seq_data
from ._frames import Axis, BlitFigure, FrameWidget, new_figure

__all__ = ["decoding_widget", "decoding_axes", "decoding_data", "DecodingTrace", "book_model",
           "DEFAULT_EXAMPLES"]

#: The book's model: seed 0 of the "forward" variant of sweeps/seq2seq.py.
WEIGHTS = Path(__file__).resolve().parents[2] / "sweeps" / "results" / "seq2seq_weights.npz"
#: Default inputs: test-set numbers with 3 and 4 digits, and a 5-digit one (a length never trained on).
DEFAULT_EXAMPLES: tuple[int, ...] = (0, 1, 2)
_TOP = 6


def book_model(key: str = "forward_0") -> tuple[dict[str, np.ndarray], seq2seq.Seq2SeqConfig]:
    """The trained parameters saved by ``sweeps/seq2seq.py`` and their config."""
    if not WEIGHTS.exists():
        raise FileNotFoundError(f"{WEIGHTS} not found: run sweeps/seq2seq.py first (it saves the book's model)")
    with np.load(WEIGHTS) as z:
        params = {k.split(".", 1)[1]: z[k] for k in z.files if k.split(".", 1)[0] == key}
    if not params:
        raise ValueError(f"key must name a saved model such as 'forward_0', got {key!r}")
    cfg = seq2seq.Seq2SeqConfig(V_x=len(seq2seq_data.SRC_VOCAB), V_y=len(seq2seq_data.TGT_VOCAB),
                                eos=seq2seq_data.EOS, bos=seq2seq_data.BOS, D=params["E_x"].shape[1],
                                H=params["W_hy"].shape[0], context=params["dec_W_xh"].shape[0] > params["E_x"].shape[1])
    return params, cfg


def _default_inputs() -> list[int]:
    """One 3-digit and one 4-digit test number and one 5-digit number, from the chapter's splits."""
    sp = seq2seq_data.number_splits(seed=0)
    test = [int(x) for x in sp.numbers["test"]]
    pick = [next(x for x in test if len(str(x)) == 3), next(x for x in test if len(str(x)) == 4),
            int(sp.numbers["long"][0])]
    return pick


@dataclass(frozen=True)
class DecodingTrace:
    """Everything the frames of one input show."""

    number: int
    target: list[int]
    steps: list[decode.BeamStep]
    result: list[decode.Hypothesis]
    loss_terms: np.ndarray  # (L,) -log p̂(y_l | y_{0:l}, x), teacher forced


def decoding_data(number: int, params: Mapping[str, np.ndarray], config: seq2seq.Seq2SeqConfig, *,
                  beam_width: int = 3, max_len: int = 12) -> DecodingTrace:
    """Beam search with a trace and the teacher-forced loss terms, for one number."""
    src, tgt = seq2seq_data.encode_number(number)
    steps: list[decode.BeamStep] = []
    result = decode.beam_search(params, src, config, beam_width, max_len, trace=steps)
    terms = -seq2seq.sequence_log_prob(params, [src], [tgt], config, per_token=True)[0]
    return DecodingTrace(number, tgt, steps, result, terms)


def _words(tokens: Sequence[int]) -> str:
    return " ".join(seq2seq_data.TGT_VOCAB[t] for t in tokens) or "(empty)"


class _Renderer:
    """Draws the frames; the left panel's artists persist, the right panel is redrawn per input."""

    def __init__(self, traces: Sequence[DecodingTrace], width: int = 640, height: int = 400,
                 colors: int = 32) -> None:
        self.traces, self.colors = list(traces), colors
        fig = self.fig = new_figure(width, height)
        self.ax_p = ax = fig.add_axes((0.12, 0.12, 0.17, 0.62))
        self.bars = ax.barh(range(_TOP), np.zeros(_TOP), color="tab:blue", linewidth=0)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, _TOP - 0.4)
        ax.set_yticks(range(_TOP), [""] * _TOP)
        ax.set_xticks([0, 0.5, 1], ["0", ".5", "1"])
        ax.tick_params(labelsize=9)
        ax.set_xlabel("probability", fontsize=9)
        self.labels = [ax.text(-0.04, i, "", ha="right", va="center", fontsize=9,
                               transform=ax.get_yaxis_transform()) for i in range(_TOP)]
        self.p_title = fig.text(0.205, 0.76, "", ha="center", va="bottom", fontsize=9)
        self.ended = ax.text(0.5, 0.5, "", ha="center", va="center", fontsize=9, transform=ax.transAxes)
        self.ax_l = fig.add_axes((0.47, 0.20, 0.50, 0.24))
        self.shown: int | None = None
        self.title = fig.text(0.5, 0.97, "", ha="center", va="top", fontsize=9, weight="bold")
        self.sub = fig.text(0.5, 0.895, "", ha="center", va="top", fontsize=9)
        self.beam_title = fig.text(0.42, 0.80, "", ha="left", va="bottom", fontsize=9, weight="bold")
        self.beam = fig.text(0.42, 0.78, "", ha="left", va="top", fontsize=9, family="monospace",
                             linespacing=1.5)
        self.base = [*self.bars, *self.labels, self.p_title, self.ended, self.title, self.sub,
                     self.beam_title, self.beam]
        self.blit = BlitFigure(fig, self.base)

    def __call__(self, setting: dict[str, Any]) -> bytes:
        return self.draw(setting["example"], setting["step"])

    def _loss_panel(self, k: int) -> None:
        tr = self.traces[k]
        V = seq2seq_data.TGT_VOCAB
        axl = self.ax_l
        axl.clear()
        L = len(tr.target)
        self.loss_bars = axl.bar(range(L), tr.loss_terms, color="0.6", linewidth=0)
        axl.set_xticks(range(L), [V[t] for t in tr.target], rotation=60, fontsize=9, ha="right")
        axl.tick_params(axis="y", labelsize=9)
        axl.set_ylim(0, max(1.0, float(tr.loss_terms.max()) * 1.1))
        axl.set_ylabel("nats", fontsize=9)
        axl.set_title(r"loss terms $-\log\,\hat{p}(y_l \mid y_{<l}, x)$"
                      + f", sum {tr.loss_terms.sum():.3f}", fontsize=9)
        self.shown = k
        self.blit.dynamic = [*self.base, *self.loss_bars]  # the axes and ticks of input k are background

    def draw(self, k: int, l: int) -> bytes:
        tr = self.traces[k]
        V = seq2seq_data.TGT_VOCAB
        if self.shown != k:
            self._loss_panel(k)
        for i, b in enumerate(self.loss_bars):
            b.set_color("tab:red" if i == l else "0.6")
        best = tr.result[0]
        width = max(len(st.kept) for st in tr.steps)
        self.title.set_text(f"input {tr.number}  →  target: {_words(tr.target[:-1])}")
        self.sub.set_text(f"beam search, width {width}: best output "
                          f"'{_words(best.tokens[:-1] if best.finished else best.tokens)}', "
                          f"log p̂ = {best.score:.3f}")
        if l < len(tr.steps):
            st = tr.steps[l]
            p = np.exp(st.logp[0])
            top = np.argsort(-p, kind="stable")[:_TOP][::-1]
            want = tr.target[l] if l < len(tr.target) else -1
            for bar, lab, v in zip(self.bars, self.labels, top):
                bar.set_width(p[v])
                bar.set_color("tab:orange" if v == want else "tab:blue")
                lab.set_text(V[v])
            self.p_title.set_text(rf"$\hat{{p}}(y_{{{l}}} \mid$ prefix, $x)$, best prefix:"
                                 f"\n{_words(st.prefixes[0]) if l else '<bos>'}")
            self.ended.set_text("")
            lines = []
            for seq, score in st.kept:
                done = seq[-1] == seq2seq_data.EOS
                lines.append(f"{score:7.3f}  {_words(seq[:-1] if done else seq)}{' ■' if done else ''}")
            self.beam_title.set_text(f"kept after step {l}  (log p̂, prefix; ■ ended)")
            self.beam.set_text("\n".join(lines))
        else:
            for bar, lab in zip(self.bars, self.labels):
                bar.set_width(0.0)
                bar.set_color("tab:blue")  # a 0-wide bar still leaves a sliver: same colour whatever came before
                lab.set_text("")
            self.p_title.set_text("")
            self.ended.set_text("search ended")
            self.beam_title.set_text("result: log p̂, output")
            self.beam.set_text("\n".join(f"{h.score:7.3f}  {_words(h.tokens[:-1] if h.finished else h.tokens)}"
                                         for h in tr.result))
        return self.blit.png(k, self.colors)


def decoding_axes(numbers: Sequence[int], n_steps: int) -> list[Axis]:
    """The controls: which input (dropdown) and which step (slider 0..n_steps-1)."""
    return [
        Axis("example", "input", tuple(str(n) for n in numbers), tuple(range(len(numbers))), "dropdown"),
        Axis("step", "step l", tuple(str(i) for i in range(n_steps)), tuple(range(n_steps)), "slider"),
    ]


def _setup(numbers, params, config, beam_width, max_len):
    if params is None:
        params, config = book_model()
    elif config is None:
        raise ValueError("config must be given with params")
    numbers = list(_default_inputs() if numbers is None else numbers)
    if not numbers:
        raise ValueError("numbers must hold at least one number")
    traces = [decoding_data(n, params, config, beam_width=beam_width, max_len=max_len) for n in numbers]
    n_steps = max(max(len(t.steps), len(t.target)) for t in traces) + 1
    return numbers, traces, n_steps


def decoding_widget(numbers: Sequence[int] | None = None, params: Mapping[str, np.ndarray] | None = None,
                    config: seq2seq.Seq2SeqConfig | None = None, *, beam_width: int = 3, max_len: int = 12,
                    width: int = 640, height: int = 400, colors: int = 32) -> FrameWidget:
    """Step through beam-search decoding of a number into words, one token at a time.

    Parameters
    ----------
    numbers : sequence of int, optional
        The inputs offered by the dropdown; default :func:`_default_inputs`.
    params, config : optional
        A trained model; default the book's (:func:`book_model`).
    beam_width, max_len : int
        The search.
    width, height, colors : int
        Frame size in pixels, PNG palette size.

    Returns
    -------
    FrameWidget
        CSS class ``seqlib-decoding``.
    """
    numbers, traces, n_steps = _setup(numbers, params, config, beam_width, max_len)
    axes = decoding_axes(numbers, n_steps)
    return FrameWidget(axes, lambda: _Renderer(traces, width, height, colors), css_class="seqlib-decoding")


def default_renderer() -> _Renderer:
    """The renderer of ``decoding_widget()`` with its defaults (for :func:`seqlib.widgets.expected_frame`)."""
    _, traces, _ = _setup(None, None, None, 3, 12)
    return _Renderer(traces)


def default_axes() -> list[Axis]:
    numbers, _, n_steps = _setup(None, None, None, 3, 12)
    return decoding_axes(numbers, n_steps)
