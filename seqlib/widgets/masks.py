"""Which tokens count, and how much: the sequence loss of a padded batch (eq. ``seq_loss_weighted``).

A seeded (B, T, V) = (4, 8, 6) batch of random logits and targets; the reader
sets each sequence's length, a weighting scheme and a normalisation
convention, and sees the weights w_bl (from :func:`seqlib.loss.masking.sequence_mask`),
the loss value with its numerator and denominator (:func:`seqlib.loss.seq_loss.sequence_loss`),
each token's gradient scale -- the factor w_bl / Z_b multiplying its ``softmax - onehot`` in
:func:`seqlib.loss.seq_loss.sequence_loss_backward` (eq. ``seq_loss_grad``), read off as a
ratio of norms -- and each sequence's total gradient weight ``sum_l w_bl / Z_b``.

The picture is drawn by ``js/views/sequence_loss.js``; in a static page its
numbers come from ``js/mirror/loss.js``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .. import loss
from ..loss import masking
from ._engine import BookWidget

__all__ = ["sequence_loss_widget", "sequence_loss_data", "make_weights", "SequenceLoss", "SequenceLossWidget",
           "WEIGHT_SCHEMES", "CONVENTIONS", "DEFAULT_SETTING", "LAST_WEIGHT", "TORCH_SCHEMES"]

B, T, V = 4, 8, 6
#: The weight of each non-empty sequence's last real token under the scheme "last3".
LAST_WEIGHT = 3.0

#: key -> what the page shows: ``button``, the button's text (``tex``: TeX typeset after it), and
#: ``words``, the scheme in the text alternative.  The page takes these from the widget's options, so
#: the chapter's prose, the page and Python name a choice the same way.
WEIGHT_SCHEMES: dict[str, dict[str, str]] = {
    "mask": {"button": "mask", "words": "mask only"},
    "ramp": {"button": "ramp", "tex": "(l+1)/L_b", "words": "mask × ramp (l+1)/L_b"},
    "last3": {"button": f"last token ×{LAST_WEIGHT:g}", "words": f"mask, last real token weighted {LAST_WEIGHT:g}"},
}
#: key -> ``button`` (the button's text) and ``words`` (the convention and its denominator, in the text
#: alternative).  The first four are those of :func:`seqlib.loss.seq_loss.loss_denominator`; "per_sequence" is the
#: chapter's fifth convention, whose denominator Z_b = B Σ_l w_bl depends on the sequence.
CONVENTIONS: dict[str, dict[str, str]] = {
    "tfa": {"button": "token mean", "words": "token mean (Z = N = Σ_bl w_bl)"},
    "nonzero": {"button": "nonzero mean", "words": "nonzero-token mean (Z = n = #{bl: w_bl ≠ 0})"},
    "torch": {"button": "PyTorch", "words": "PyTorch's ignore_index mean (Z = n, the non-ignored targets)"},
    "batch": {"button": "per batch", "words": "per batch (Z = B)"},
    "per_sequence": {"button": "per sequence", "words": "per-sequence mean (Z_b = B Σ_l w_bl)"},
}
#: PyTorch's ignore_index mean has no per-token weights: the convention "torch" takes the mask only
#: (the page disables the other weight buttons under it, and its button under other weights).
TORCH_SCHEMES = ("mask",)
#: The widget's default: mixed lengths, the mask, the token mean (tfa's default).
DEFAULT_SETTING: dict[str, Any] = {"L0": 8, "L1": 5, "L2": 3, "L3": 2, "scheme": "mask", "convention": "tfa"}
LENGTH_KEYS = ("L0", "L1", "L2", "L3")
KEYS = LENGTH_KEYS + ("scheme", "convention")

#: Fixed colour and bar ranges of the view: the extremes over every setting
#: (weights <= 3; gradient scales in [0.0039, 3]; sums of a row's weights <= 7 + 3;
#: sums of a row's gradient scales <= 3, reached by one token of weight 3 with Z = n = 1).
SCALES: dict[str, list[float]] = {"weight": [0.0, 3.0], "grad": [0.003, 3.0], "row_weight": [0.0, 10.0],
                                  "row_grad": [0.0, 3.0]}


@dataclass(frozen=True)
class SequenceLoss:
    """The numbers of one setting.

    Attributes
    ----------
    lengths : tuple of int
        The B = 4 lengths.
    weights : ndarray (B, T)
        w_bl.
    loss : float
        The scalar loss under the convention (nan for "torch" when every weight is 0, as PyTorch).
    numerator : float
        ``Σ_bl w_bl ℓ_bl``.
    denominator : float
        The normaliser Z (nan for "per_sequence", whose Z_b depends on b).
    grad_scale : ndarray (B, T)
        ``‖dL/dz_bl‖ / ‖softmax(z_bl) − onehot(y_bl)‖``, i.e. ``w_bl / Z_b``.
    token_loss : ndarray (B, T)
        ℓ_bl, unweighted (padding included).
    scheme, convention : str
    row_denominator : ndarray (B,)
        Z_b, the denominator of the tokens of sequence b (Z for every b but under "per_sequence").
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
    row_denominator: np.ndarray


def _batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits (B, T, V) ~ N(0, 1.5²) and targets (B, T) in [0, V), seeded."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.5, size=(B, T, V)), rng.integers(0, V, size=(B, T))


def make_weights(lengths: Sequence[int], scheme: str) -> np.ndarray:
    """Weights (B, T) for ``lengths`` under ``scheme``.

    Parameters
    ----------
    lengths : sequence of B ints in [0, T]
    scheme : {"mask", "ramp", "last3"}
        The padding mask m_bl; the mask times the ramp (l+1)/L_b; or the mask
        with each non-empty sequence's last real token weighted 3.

    Returns
    -------
    ndarray, shape (B, T), float
    """
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
    w[lens > 0, lens[lens > 0] - 1] = LAST_WEIGHT
    return w


def _numbers(z: np.ndarray, y: np.ndarray, lengths: tuple[int, ...], scheme: str,
             convention: str) -> dict[str, Any]:
    """Everything the widget shows for one setting, from seqlib (lengths may all be 0)."""
    w = make_weights(lengths, scheme)
    if convention == "tfa":
        flags: dict[str, bool] = {}
        upstream: np.ndarray | None = None
    elif convention in ("nonzero", "torch"):
        flags = dict(average_across_timesteps=False, average_across_batch=False,
                     sum_over_timesteps=True, sum_over_batch=True)
        upstream = None
    elif convention == "batch":  # the unreduced (B, T) output w ℓ, summed and divided by B
        flags = dict(average_across_timesteps=False, average_across_batch=False)
        upstream = np.full((B, T), 1.0 / B)
    else:  # "per_sequence": each sequence's weighted mean (B,), averaged over b
        flags = dict(average_across_batch=False)
        upstream = np.full(B, 1.0 / B)
    out = loss.sequence_loss(z, y, w, **flags)
    if convention == "batch":
        value = float(np.sum(out) / B)
    elif convention == "per_sequence":
        value = float(np.mean(out))
    else:
        value = float(out)
    grad = loss.sequence_loss_backward(z, y, w, upstream, **flags)
    unit = loss.cross_entropy_backward(z, y)  # softmax − onehot
    scale = np.linalg.norm(grad, axis=-1) / np.linalg.norm(unit, axis=-1)
    tok = loss.token_cross_entropy(z, y)
    row_weight = np.sum(w, axis=1)
    if convention == "per_sequence":
        den = float("nan")
        row_den = B * row_weight
    else:
        den = loss.loss_denominator(w, convention)
        row_den = np.full(B, den)
    if convention == "torch" and den == 0.0:
        value = float("nan")  # PyTorch's mean over no target: 0 / 0
    return {"lengths": list(lengths), "weights": w, "token_loss": tok, "grad_scale": scale,
            "row_weight": row_weight, "row_numerator": np.sum(w * tok, axis=1), "row_grad": np.sum(scale, axis=1),
            "row_denominator": row_den, "numerator": float(np.sum(w * tok)), "denominator": den, "loss": value,
            "mu": float(np.sum(scale)), "N": float(np.sum(w)), "n": int(np.count_nonzero(w))}


def _check_pair(scheme: str, convention: str, where: str = "") -> None:
    """ValueError unless ``convention`` takes ``scheme``: PyTorch's mean has no per-token weights."""
    if convention == "torch" and scheme not in TORCH_SCHEMES:
        raise ValueError(f"{where}convention 'torch' (PyTorch's ignore_index mean) has no per-token weights: "
                         f"it takes scheme {' or '.join(map(repr, TORCH_SCHEMES))}, got scheme {scheme!r} "
                         "(the convention 'nonzero' divides by the same count n with weights)")


def _check_lengths(lengths: Sequence[int]) -> tuple[int, ...]:
    try:
        lens = tuple(lengths)
    except TypeError:
        raise TypeError(f"lengths must be a sequence of {B} ints in [0, {T}], got {lengths!r}") from None
    if len(lens) != B or any(not _is_int(x) or not 0 <= x <= T for x in lens):
        raise ValueError(f"lengths must be {B} ints in [0, {T}], got {lengths!r}")
    return tuple(int(x) for x in lens)


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
    convention : {"tfa", "nonzero", "torch", "batch", "per_sequence"}
        Normalisation (see :func:`seqlib.loss.seq_loss.loss_denominator` for the first four;
        "per_sequence" is :func:`seqlib.loss.seq_loss.sequence_loss` with
        ``average_across_batch=False``, averaged over b).  "torch" takes the
        mask only (PyTorch's mean has no per-token weights).
    seed : int
        Seeds the logits and targets.

    Returns
    -------
    SequenceLoss
    """
    lengths = _check_lengths(lengths)
    if sum(lengths) == 0:
        raise ValueError("lengths must not all be 0: an all-padding batch has no loss (PyTorch gives nan), "
                         "see the chapter's text")
    if scheme not in WEIGHT_SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(WEIGHT_SCHEMES)}, got {scheme!r}")
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}, got {convention!r}")
    _check_pair(scheme, convention)
    z, y = _batch(seed)
    d = _numbers(z, y, lengths, scheme, convention)
    return SequenceLoss(lengths, d["weights"], d["loss"], d["numerator"], d["denominator"], d["grad_scale"],
                        d["token_loss"], scheme, convention, d["row_denominator"])


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


class SequenceLossWidget(BookWidget):
    """Weights, gradient scales and loss of a padded (4, 8) batch (see :func:`sequence_loss_widget`).

    Setting keys: ``L0``..``L3`` (int in [0, 8], the lengths), ``scheme`` (a key of
    :data:`WEIGHT_SCHEMES`), ``convention`` (a key of :data:`CONVENTIONS`).
    ``base`` holds the seeded logits (B, T, V) and targets (B, T).
    """

    VIEW = "sequence_loss"
    MIRRORS = ("loss",)

    def __init__(self, setting: Mapping[str, Any], *, seed: int = 0, **kwargs: Any) -> None:
        if not _is_int(seed):
            raise TypeError(f"seed must be an int, got {seed!r}")
        z, y = _batch(int(seed))
        self._z, self._y = z, y
        options = {"B": B, "T": T, "V": V, "schemes": list(WEIGHT_SCHEMES), "conventions": list(CONVENTIONS),
                   "labels": {"schemes": WEIGHT_SCHEMES, "conventions": CONVENTIONS},
                   "torch_schemes": list(TORCH_SCHEMES), "last_weight": LAST_WEIGHT, "scales": SCALES}
        super().__init__(setting, base={"logits": z, "targets": y}, options=options, **kwargs)

    def check_setting(self, setting: dict[str, Any]) -> dict[str, Any]:
        """``setting`` checked: exactly the keys L0..L3, scheme, convention (ValueError/TypeError naming the key).

        The convention "torch" takes the scheme "mask" only (ValueError naming both).
        """
        if set(setting) != set(KEYS):
            missing, extra = sorted(set(KEYS) - set(setting)), sorted(set(setting) - set(KEYS))
            raise ValueError(f"setting must have exactly the keys {list(KEYS)}; missing {missing}, unknown {extra}")
        out: dict[str, Any] = {}
        for b, key in enumerate(LENGTH_KEYS):
            v = setting[key]
            if isinstance(v, (float, np.floating)) and float(v).is_integer():
                v = int(v)
            if not _is_int(v):
                raise TypeError(f"setting[{key!r}] (the length of sequence {b}) must be an int in [0, {T}], "
                                f"got {type(v).__name__} {v!r}")
            if not 0 <= v <= T:
                raise ValueError(f"setting[{key!r}] (the length of sequence {b}) must be in [0, {T}], got {v}")
            out[key] = int(v)
        if setting["scheme"] not in WEIGHT_SCHEMES:
            raise ValueError(f"setting['scheme'] must be one of {list(WEIGHT_SCHEMES)}, got {setting['scheme']!r}")
        if setting["convention"] not in CONVENTIONS:
            raise ValueError(f"setting['convention'] must be one of {list(CONVENTIONS)}, "
                             f"got {setting['convention']!r}")
        out["scheme"], out["convention"] = str(setting["scheme"]), str(setting["convention"])
        _check_pair(out["scheme"], out["convention"], "setting: ")
        return out

    def compute(self, setting: Mapping[str, Any]) -> dict[str, Any]:
        """seqlib's numbers for a checked ``setting`` (an all-padding batch is allowed here).

        Returns
        -------
        dict
            ``lengths`` (B,), ``weights``, ``token_loss``, ``grad_scale`` (B, T); ``row_weight``
            Σ_l w, ``row_numerator`` Σ_l w ℓ, ``row_grad`` Σ_l w/Z_b, ``row_denominator`` Z_b (B,);
            ``numerator``, ``denominator`` (nan for "per_sequence"), ``loss`` (nan: PyTorch's 0/0),
            ``mu`` (Σ_bl w/Z_b), ``N`` (Σ w), ``n`` (#w ≠ 0).
        """
        lengths = tuple(setting[k] for k in LENGTH_KEYS)
        return _numbers(self._z, self._y, lengths, setting["scheme"], setting["convention"])

    def show(self, **setting: Any) -> "SequenceLossWidget":
        """Move the widget; ``lengths=(7, 7, 3, 1)`` sets L0..L3 at once."""
        if "lengths" in setting:
            lens = _check_lengths(setting.pop("lengths"))
            setting.update(dict(zip(LENGTH_KEYS, lens)))
        super().show(**setting)
        return self

    def random_settings(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        """``n`` settings: lengths uniform in [0, 8]; every allowed (scheme, convention) pair once per 13.

        The first has lengths (8, 8, 8, 8), the second (0, 0, 0, 0) under "torch" (PyTorch's nan).
        """
        pairs = [(s, c) for c in CONVENTIONS for s in WEIGHT_SCHEMES if c != "torch" or s in TORCH_SCHEMES]
        out = []
        for i in range(n):
            lens = [int(x) for x in rng.integers(0, T + 1, size=B)]
            scheme, conv = pairs[i % len(pairs)]
            s = dict(zip(LENGTH_KEYS, lens), scheme=scheme, convention=conv)
            if i == 0:
                s.update(dict.fromkeys(LENGTH_KEYS, T))
            if i == 1:
                s.update(dict.fromkeys(LENGTH_KEYS, 0), scheme="mask", convention="torch")
            out.append(s)
        return out


def sequence_loss_widget(lengths: Sequence[int] = (8, 5, 3, 2), scheme: str = "mask", convention: str = "tfa", *,
                         seed: int = 0) -> SequenceLossWidget:
    """Which tokens count in the sequence loss of a padded (B, T) = (4, 8) batch, and how much.

    Controls: the length of each sequence (4 sliders, 0..8), the weighting
    scheme (mask / ramp / last token × 3) and the normalisation convention
    (token mean Z = N, nonzero-token mean Z = n, PyTorch's mean, per batch
    Z = B, per-sequence mean Z_b; PyTorch's mean takes the mask only).  The
    picture: a headline with the loss ``Σ w ℓ / Z`` (numerator and
    denominator), Z and μ = Σ w/Z_b, and a note on what to see; the weights
    w_bl; each token's gradient scale ``w_bl / Z_b`` from
    :func:`seqlib.loss.seq_loss.sequence_loss_backward`; each sequence's totals
    ``Σ_l w_bl`` and ``Σ_l w_bl / Z_b`` as bars (below the grids on a narrow
    screen).

    Parameters
    ----------
    lengths : sequence of 4 ints in [0, 8]
        The initial lengths (default (8, 5, 3, 2)).
    scheme : {"mask", "ramp", "last3"}
    convention : {"tfa", "nonzero", "torch", "batch", "per_sequence"}
        "torch" takes the scheme "mask" only.
    seed : int
        Seeds the logits and targets.

    Returns
    -------
    SequenceLossWidget
        CSS class ``seqlib-sequence-loss``; ``w.show(lengths=(7, 7, 3, 1), scheme="ramp")`` moves it.
    """
    lens = _check_lengths(lengths)
    setting = dict(zip(LENGTH_KEYS, lens), scheme=scheme, convention=convention)
    return SequenceLossWidget(setting, seed=seed)
