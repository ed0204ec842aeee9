"""Which tokens count, and how much: the sequence loss of a padded batch (eq. ``seq_loss_weighted``).

A seeded (B, T) = (4, 8) batch with random logits; the reader picks the
lengths, a weighting scheme and a normalisation convention, and sees the
weights w_bl (from :func:`seqlib.masking.sequence_mask`), the loss value
(:func:`seqlib.loss.sequence_loss`) and each token's gradient scale: the
factor multiplying its ``softmax - onehot`` in
:func:`seqlib.loss.sequence_loss_backward` (eq. ``seq_loss_grad``), read off
as a ratio of norms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib import colormaps

from .. import loss, masking
from ._frames import Axis, BlitFigure, FrameWidget, new_figure

__all__ = ["sequence_loss_alt", "sequence_loss_widget", "sequence_loss_data", "SequenceLoss", "WEIGHT_SCHEMES", "CONVENTIONS",
           "LENGTH_PRESETS", "sequence_loss_axes"]

B, T, V = 4, 8, 6

#: label -> lengths of the 4 sequences
LENGTH_PRESETS: dict[str, tuple[int, ...]] = {
    "all full (8, 8, 8, 8)": (8, 8, 8, 8),
    "mixed (8, 5, 3, 2)": (8, 5, 3, 2),
    "one long (8, 2, 2, 1)": (8, 2, 2, 1),
    "an empty row (6, 4, 1, 0)": (6, 4, 1, 0),
}
#: key -> label
WEIGHT_SCHEMES: dict[str, str] = {
    "mask": "mask only",
    "ramp": "mask × ramp (l+1)/L_b",
    "last3": "last token × 3",
}
#: key -> (label, denominator in words)
CONVENTIONS: dict[str, tuple[str, str]] = {
    "tfa": ("tfa default: ÷ Σ w", "Z = Σ_bl w_bl (average_across_timesteps=average_across_batch=True)"),
    "nonzero": ("tfa sum_over: ÷ #(w ≠ 0)", "Z = #{bl: w_bl ≠ 0} (sum_over_timesteps=sum_over_batch=True)"),
    "batch": ("per batch: ÷ B", "Z = B: per-sequence sums averaged over the batch"),
    "torch": ("PyTorch ignore_index mean", "Z = #non-ignored targets (w = 0 ignored; no per-token weights)"),
}


@dataclass(frozen=True)
class SequenceLoss:
    """What one frame shows.

    Attributes
    ----------
    lengths : tuple of int
    weights : ndarray (B, T)
    loss : float
        The scalar loss under the convention.
    numerator, denominator : float
        ``Σ w ℓ`` and the normaliser Z.
    grad_scale : ndarray (B, T)
        ``‖dL/dz_bl‖ / ‖softmax(z_bl) − onehot(y_bl)‖``, i.e. ``w_bl / Z``.
    token_loss : ndarray (B, T)
        ℓ_bl, unweighted.
    scheme, convention : str
    """

    lengths: tuple[int, ...]
    weights: np.ndarray
    loss: float
    numerator: float
    denominator: float
    grad_scale: np.ndarray
    token_loss: np.ndarray
    scheme: str
    convention: str


def _batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.5, size=(B, T, V)), rng.integers(0, V, size=(B, T))


def make_weights(lengths: Sequence[int], scheme: str) -> np.ndarray:
    """Weights (B, T) for ``lengths`` under ``scheme`` ("mask", "ramp" or "last3")."""
    if scheme not in WEIGHT_SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(WEIGHT_SCHEMES)}, got {scheme!r}")
    lens = np.asarray(lengths)
    mask = masking.sequence_mask(lens, maxlen=T)
    if scheme == "mask":
        return mask
    t = np.arange(T)[None, :]
    if scheme == "ramp":
        return mask * (t + 1) / np.maximum(lens, 1)[:, None]
    w = mask.copy()
    w[lens > 0, lens[lens > 0] - 1] = 3.0
    return w


def sequence_loss_data(lengths: Sequence[int], scheme: str = "mask", convention: str = "tfa", *,
                       seed: int = 0) -> SequenceLoss:
    """The loss and the per-token gradient scales with seqlib, for one setting.

    Parameters
    ----------
    lengths : sequence of 4 ints in [0, 8], not all 0
        Lengths of the 4 sequences of the batch.
    scheme : {"mask", "ramp", "last3"}
        Weights: the padding mask, the mask times a ramp ``(l+1)/L_b``, or
        the mask with the last real token weighted 3.
    convention : {"tfa", "nonzero", "batch", "torch"}
        Normalisation (see :func:`seqlib.loss.loss_denominator`).
    seed : int
        Seeds the logits and targets.

    Returns
    -------
    SequenceLoss
    """
    lengths = tuple(int(x) for x in lengths)
    if len(lengths) != B or any(not 0 <= x <= T for x in lengths):
        raise ValueError(f"lengths must be {B} ints in [0, {T}], got {lengths!r}")
    if sum(lengths) == 0:
        raise ValueError("lengths must not all be 0: an all-padding batch has no loss (PyTorch gives nan), "
                         "see the chapter's text")
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}, got {convention!r}")
    z, y = _batch(seed)
    w = make_weights(lengths, scheme)
    if convention == "tfa":
        flags: dict[str, bool] = {}
        upstream = None
    elif convention in ("nonzero", "torch"):
        flags = dict(average_across_timesteps=False, average_across_batch=False,
                     sum_over_timesteps=True, sum_over_batch=True)
        upstream = None
    else:  # "batch": the unreduced (B, T) output w ℓ, summed and divided by B
        flags = dict(average_across_timesteps=False, average_across_batch=False)
        upstream = np.full((B, T), 1.0 / B)
    out = loss.sequence_loss(z, y, w, **flags)
    value = float(np.sum(out) / B) if convention == "batch" else float(out)
    grad = loss.sequence_loss_backward(z, y, w, upstream, **flags)
    unit = loss.cross_entropy_backward(z, y)  # softmax − onehot
    scale = np.linalg.norm(grad, axis=-1) / np.linalg.norm(unit, axis=-1)
    tok = loss.token_cross_entropy(z, y)
    den = loss.loss_denominator(w, convention)
    return SequenceLoss(lengths, w, value, float(np.sum(w * tok)), den, scale, tok, scheme, convention)


#: Font of a frame, in points at the design size (100 dpi); the smallest is 8.7 pt = 12 px, i.e. 9 pt
#: in CSS units when the frame is shown at its design width (its minimum).
FONT = 9.0


def _frac(x: float) -> str:
    return "0" if x == 0 else (f"{x:.3f}".lstrip("0") if x < 1 else f"{x:.2f}")


class _Renderer:
    def __init__(self, width: int = 640, height: int = 380, colors: int = 24, seed: int = 0) -> None:
        self.colors, self.seed = colors, seed
        fig = self.fig = new_figure(width, height)
        self.ax_w = fig.add_axes((0.075, 0.10, 0.41, 0.50))
        self.ax_g = fig.add_axes((0.575, 0.10, 0.41, 0.50))
        cm_w = colormaps["Blues"].with_extremes(bad="#f2f3f4")
        cm_g = colormaps["Oranges"].resampled(16).with_extremes(bad="#f2f3f4", under="#fef5e7")
        self.im_w = self.ax_w.imshow(np.zeros((B, T)), cmap=cm_w, norm=Normalize(0, 3.5), aspect="auto")
        self.im_g = self.ax_g.imshow(np.zeros((B, T)), cmap=cm_g, norm=LogNorm(3e-3, 1.0), aspect="auto")
        dyn = [self.im_w, self.im_g]
        self.cells: list[tuple[Any, Any]] = []
        for ax in (self.ax_w, self.ax_g):
            ax.set_xticks(range(T), [str(t) for t in range(T)], fontsize=FONT)  # 0-based, as in the chapter
            ax.set_yticks(range(B), [f"b={b}" for b in range(B)], fontsize=FONT)
            ax.set_xlabel("position l", fontsize=FONT, labelpad=1)
            ax.tick_params(length=0)
            ax.set_xticks(np.arange(-0.5, T), minor=True)
            ax.set_yticks(np.arange(-0.5, B), minor=True)
            ax.grid(which="minor", color="white", lw=1.2)
            ax.tick_params(which="minor", length=0)
        self.ax_w.set_title("weights w_bl (grey: padding)", fontsize=FONT + 0.5)
        self.ax_g.set_title("gradient scale w_bl / Z", fontsize=FONT + 0.5)
        self.txt_w = [[self.ax_w.text(t, b, "", ha="center", va="center", fontsize=FONT) for t in range(T)]
                      for b in range(B)]
        self.txt_g = [[self.ax_g.text(t, b, "", ha="center", va="center", fontsize=FONT - 0.3) for t in range(T)]
                      for b in range(B)]
        dyn += [x for row in self.txt_w + self.txt_g for x in row]
        self.title = fig.text(0.5, 0.975, "", ha="center", va="top", fontsize=FONT + 1, weight="bold")
        self.sub = fig.text(0.5, 0.84, "", ha="center", va="top", fontsize=FONT, wrap=True)
        self.note = fig.text(0.5, 0.755, "", ha="center", va="top", fontsize=FONT, color="#566573", wrap=True)
        dyn += [self.title, self.sub, self.note]
        self.blit = BlitFigure(fig, dyn)

    def __call__(self, setting: dict[str, Any]) -> bytes:
        d = sequence_loss_data(setting["lengths"], setting["scheme"], setting["convention"], seed=self.seed)
        return self.draw(d)

    def draw(self, d: SequenceLoss) -> bytes:
        w = np.ma.masked_equal(d.weights, 0.0)
        self.im_w.set_data(w)
        self.im_g.set_data(np.ma.masked_equal(d.grad_scale, 0.0))
        for b in range(B):
            for t in range(T):
                wt = d.weights[b, t]
                self.txt_w[b][t].set_text("pad" if wt == 0 else f"{wt:.2g}")
                self.txt_w[b][t].set_color("#aab7b8" if wt == 0 else ("white" if wt > 2 else "black"))
                g = d.grad_scale[b, t]
                self.txt_g[b][t].set_text("" if g == 0 else _frac(g))
                self.txt_g[b][t].set_color("white" if g > 0.2 else "black")
        label, words = CONVENTIONS[d.convention]
        self.title.set_text(f"loss = Σ w·ℓ / Z = {d.numerator:.2f} / {d.denominator:.4g} = {d.loss:.4f}\n"
                            f"lengths {d.lengths}, {WEIGHT_SCHEMES[d.scheme]}")
        self.sub.set_text(f"{label}:  {words}")
        notes = {
            "tfa": "every token's gradient is w/Σw: the scale does not depend on the lengths",
            "nonzero": "equals the tfa default for a 0/1 mask; differs for fractional weights",
            "batch": "long sequences dominate; the gradient grows with the lengths (effective learning rate ∝ mean length)",
            "torch": "for a 0/1 mask: the mean over non-ignored tokens; an all-padding batch gives nan (0/0) in PyTorch",
        }
        self.note.set_text(notes[d.convention])
        return self.blit.png("grid", self.colors)


def sequence_loss_axes(
    presets: dict[str, Sequence[int]] | None = None,
    schemes: Sequence[str] = tuple(WEIGHT_SCHEMES),
    conventions: Sequence[str] = tuple(CONVENTIONS),
    *,
    seed: int = 0,
) -> list[Axis]:
    """The controls of :func:`sequence_loss_widget` (checked), in display order."""
    presets = dict(LENGTH_PRESETS if presets is None else presets)
    if not presets:
        raise ValueError("presets must not be empty")
    for name, lens in presets.items():
        sequence_loss_data(lens, "mask", "tfa", seed=seed)  # validates, naming the bad argument
    for s in schemes:
        if s not in WEIGHT_SCHEMES:
            raise ValueError(f"schemes must hold keys of {sorted(WEIGHT_SCHEMES)}, got {s!r}")
    for c in conventions:
        if c not in CONVENTIONS:
            raise ValueError(f"conventions must hold keys of {sorted(CONVENTIONS)}, got {c!r}")
    return [
        Axis("lengths", "lengths", tuple(presets), tuple(tuple(int(x) for x in v) for v in presets.values()),
             "dropdown"),
        Axis("scheme", "weights", tuple(WEIGHT_SCHEMES[s] for s in schemes), tuple(schemes), "dropdown"),
        Axis("convention", "normalise", tuple(CONVENTIONS[c][0] for c in conventions), tuple(conventions),
             "dropdown"),
    ]


def sequence_loss_widget(
    presets: dict[str, Sequence[int]] | None = None,
    schemes: Sequence[str] = tuple(WEIGHT_SCHEMES),
    conventions: Sequence[str] = tuple(CONVENTIONS),
    *,
    seed: int = 0,
    width: int = 640,
    height: int = 380,
    colors: int = 24,
) -> FrameWidget:
    """Which tokens count in the sequence loss of a padded (B, T) = (4, 8) batch.

    Controls (dropdowns): the lengths (preset batch compositions), the
    weighting scheme and the normalisation convention.  Each frame shows the
    weights, the loss value ``Σ w ℓ / Z`` and each token's gradient scale
    ``w_bl / Z`` from :func:`seqlib.loss.sequence_loss_backward`.

    Parameters
    ----------
    presets : dict, optional
        ``{label: 4 lengths}``; default :data:`LENGTH_PRESETS`.  Not all-zero.
    schemes : sequence of {"mask", "ramp", "last3"}
    conventions : sequence of {"tfa", "nonzero", "batch", "torch"}
    seed : int
        Seeds the logits and targets.
    width, height, colors : int
        Design size of a frame in pixels (drawn at 2x), palette size.

    Returns
    -------
    FrameWidget
        CSS class ``seqlib-sequence-loss``; live: ``w.show(lengths=(7, 7, 3, 1), scheme="ramp")``.
    """
    axes = sequence_loss_axes(presets, schemes, conventions, seed=seed)
    return FrameWidget(axes, lambda: _Renderer(width, height, colors, seed), css_class="seqlib-sequence-loss",
                       title="which tokens count in the sequence loss",
                       alt=lambda setting: sequence_loss_alt(setting, seed))


def sequence_loss_alt(setting: dict[str, Any], seed: int = 0) -> str:
    """Alt text of the frame of ``setting``: what the two grids show and the loss value."""
    d = sequence_loss_data(setting["lengths"], setting["scheme"], setting["convention"], seed=seed)
    label, words = CONVENTIONS[d.convention]
    return (f"Two grids of a padded batch of {B} sequences by {T} positions, lengths {d.lengths}, weights "
            f"'{WEIGHT_SCHEMES[d.scheme]}', normalised by {label} ({words}). Left: each token's weight, padding "
            f"greyed out; right: each token's gradient scale w/Z. Loss = {d.numerator:.2f} / {d.denominator:.4g} "
            f"= {d.loss:.4f}.")
