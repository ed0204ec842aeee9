"""Teacher-forced training of the encoder-decoder of :mod:`seqlib.seq2seq`."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._validate import check_positive_int
from .init import _as_rng
from .seq2seq import Seq2SeqConfig, _check_seqs, make_batch, seq2seq_loss_and_grads

__all__ = ["train_seq2seq"]

Array = np.ndarray


def train_seq2seq(params: dict[str, Array], sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                  config: Seq2SeqConfig, steps: int, *, rng: np.random.Generator | int, batch_size: int = 32,
                  lr: float = 1e-2, clip_norm: float = 5.0, normalise: str = "token",
                  progress: bool = False, desc: str = "training", optimizer=None) -> Array:
    """Teacher-forced training with Adam and global-norm clipping; ``params`` change in place.

    Each step draws ``batch_size`` pairs (with replacement) from the
    training set, pads them (:func:`make_batch`) and takes one Adam step on
    :func:`seq2seq_loss_and_grads`.  ``progress=True`` shows a ``tqdm``
    bar whose text holds no timings.  Pass an ``optimizer`` (an object with
    ``step(params, grads)``, e.g. ``seqlib.Adam``) to continue a run in
    chunks with the same optimizer state; default a fresh ``Adam(lr)``.

    Returns
    -------
    ndarray (steps,)
        The loss of each step's batch before its update.
    """
    from .clip import clip_by_global_norm
    from .optim import Adam

    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    rng = _as_rng(rng)
    all_src = _check_seqs(sources, "sources")
    all_tgt = _check_seqs(targets, "targets")
    make_batch(all_src, all_tgt, config)  # validates every pair once
    opt = Adam(lr=lr) if optimizer is None else optimizer
    if not callable(getattr(opt, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method, got {type(opt).__name__}")
    losses = np.zeros(steps)
    it = range(steps)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}")
    for step in it:
        idx = rng.integers(len(all_src), size=batch_size)
        batch = make_batch([all_src[i] for i in idx], [all_tgt[i] for i in idx], config)
        losses[step], grads = seq2seq_loss_and_grads(params, batch, config, normalise)
        grads, _ = clip_by_global_norm(grads, clip_norm)
        opt.step(params, grads)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return losses
