"""Teacher-forced training of the encoder-decoder of :mod:`seqlib.seq2seq`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from .._validate import (
    _describe, all_finite, check_bool, check_choice, check_param_layout, check_positive_int, check_real, param_layout,
)
from ..cells.init import _as_rng
from .model import NORMALISATIONS, Seq2SeqConfig, _check_pairs, _check_params, _loss_and_grads_core, _pad_batch

if TYPE_CHECKING:
    from ..attention.model import AttentionConfig

__all__ = ["train_seq2seq"]

Array = np.ndarray


def _cores(config: object):
    """The parameter check and loss core of the model ``config`` configures (this package's or attention's)."""
    from ..attention import model as att  # the attention model builds on this package: import when called

    if isinstance(config, att.AttentionConfig):
        return att._check_params, att._loss_and_grads_core
    return _check_params, _loss_and_grads_core


def train_seq2seq(params: dict[str, Array], sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                  config: Seq2SeqConfig | AttentionConfig, steps: int, *, rng: np.random.Generator | int,
                  batch_size: int = 32,
                  lr: float = 1e-2, clip_norm: float = 5.0, normalise: str = "token",
                  progress: bool = False, desc: str = "training", optimizer=None) -> Array:
    """Teacher-forced training with Adam and global-norm clipping; ``params`` change in place.

    Each step draws ``batch_size`` pairs (with replacement) from the
    training set, pads them (:func:`make_batch`) and takes one Adam step on
    :func:`seq2seq_loss_and_grads` (or, for an
    :class:`seqlib.attention.model.AttentionConfig`, on
    :func:`seqlib.attention.model.attention_seq2seq_loss_and_grads`).  ``progress=True`` shows a ``tqdm``
    bar whose text holds no timings.  Pass an ``optimizer`` (an object with
    ``step(params, grads)``, e.g. ``seqlib.Adam``) to continue a run in
    chunks with the same optimizer state; default a fresh ``Adam(lr)``.

    Returns
    -------
    ndarray (steps,)
        The loss of each step's batch before its update.

    Raises
    ------
    TypeError, ValueError
        ``config``, ``params`` (in full: every array a writeable float32 or
        float64 ndarray of its shape, finite), every pair of ``sources`` and
        ``targets`` and the settings, checked once before the first step;
        the steps then run unchecked.
    FloatingPointError
        If an update leaves a parameter NaN or inf (training diverged).
    """
    from ..training.clip import _clip_by_global_norm_core
    from ..training.optim import Adam

    check_params, loss_and_grads = _cores(config)
    p = check_params(params, config, inplace="train_seq2seq")
    all_src, all_tgt = _check_pairs(sources, targets, config, True)  # every pair, once
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_choice(normalise, "normalise", NORMALISATIONS)
    clip_norm = check_real(clip_norm, "clip_norm")
    check_bool(progress, "progress")
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str, got {_describe(desc)}")
    rng = _as_rng(rng)
    opt = Adam(lr=lr) if optimizer is None else optimizer
    if not callable(getattr(opt, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method, got {type(opt).__name__}")
    layout = param_layout(params, tuple(p))
    losses = np.zeros(steps)
    it = range(steps)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}")
    for step in it:
        idx = rng.integers(len(all_src), size=batch_size)
        batch = _pad_batch([all_src[i] for i in idx], [all_tgt[i] for i in idx], config)
        losses[step], grads = loss_and_grads(params, batch, config, normalise)
        grads, _ = _clip_by_global_norm_core(grads, clip_norm)
        opt.step(params, grads)
        check_param_layout(params, layout, f"after step {step} (optimizer.step changed it)")
        bad = [k for k in p if not all_finite(params[k])]
        if bad:
            raise FloatingPointError(f"training diverged at step {step}: params[{bad[0]!r}] is no longer finite "
                                     f"(try a smaller lr or clip_norm={clip_norm:g})")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return losses
