"""The committed results of ``sweeps/seq2seq.py``, as the sequence-to-sequence pages read them.

The sweep trains every variant of the chapter (``forward``, ``reversed``,
``context``, ``per_sequence``, ``lstm``, ``gru``) from several seeds and
records, per run, training curves and test measurements.  Each page of the
chapter runs on its own, and each needs the same two questions answered:
*which runs belong to a variant*, and *what is one measurement across its
seeds*::

    >>> from seqlib.seq2seq.sweep import seq2seq_sweep
    >>> sweep = seq2seq_sweep()
    >>> sweep.variants[:2]
    ('forward', 'reversed')
    >>> sweep.col("forward", "test_greedy_acc").shape == (len(sweep.seeds),)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["Seq2SeqSweep", "seq2seq_sweep"]


@dataclass(frozen=True)
class Seq2SeqSweep:
    """The settings and the runs of a sequence-to-sequence sweep.

    Attributes
    ----------
    settings : dict
        The sweep's settings (``seeds``, ``variants``, ``D``, ``H``,
        ``steps``, ``batch``, ``lr``, ``clip``, ``window``, ``beam``, ...).
    runs : list of dict
        One record per (variant, seed), each with the keys ``variant`` and
        ``seed`` and the run's measurements.
    """

    settings: Mapping[str, Any]
    runs: Sequence[Mapping[str, Any]]

    def __post_init__(self) -> None:
        if not isinstance(self.settings, Mapping):
            raise TypeError(f"settings must be a mapping, got {type(self.settings).__name__}")
        if isinstance(self.runs, (str, bytes)) or not isinstance(self.runs, Sequence):
            raise TypeError(f"runs must be a sequence of mappings, got {type(self.runs).__name__}")
        for i, run in enumerate(self.runs):
            if not isinstance(run, Mapping) or "variant" not in run or "seed" not in run:
                raise ValueError(f"runs[{i}] must be a mapping with the keys 'variant' and 'seed', got {run!r:.80}")

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants in the order of their first run."""
        return tuple(dict.fromkeys(r["variant"] for r in self.runs))

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds of the first variant, in run order."""
        return tuple(r["seed"] for r in self.runs_of(self.variants[0])) if self.runs else ()

    def runs_of(self, variant: str) -> list[Mapping[str, Any]]:
        """The runs of one variant, in the order of their seeds in the sweep.

        Parameters
        ----------
        variant : str
            One of :attr:`variants`.

        Raises
        ------
        ValueError
            If no run has this variant; the message lists the variants.
        """
        if not isinstance(variant, str) or variant not in self.variants:
            raise ValueError(f"variant must be one of {list(self.variants)}, got {variant!r}")
        return [r for r in self.runs if r["variant"] == variant]

    def col(self, variant: str, key: str) -> np.ndarray:
        """One measurement of a variant, one row per seed.

        Parameters
        ----------
        variant : str
            One of :attr:`variants`.
        key : str
            A measurement every run records, e.g. ``"test_greedy_acc"`` (a
            number per run: the result has shape ``(seeds,)``) or
            ``"train_loss"`` (a list per run: shape ``(seeds, n)``).

        Returns
        -------
        ndarray
            ``[run[key] for run in runs_of(variant)]`` as an array.

        Raises
        ------
        KeyError
            If a run of the variant does not record ``key``.
        """
        rows = self.runs_of(variant)
        missing = [r["seed"] for r in rows if key not in r]
        if missing:
            raise KeyError(f"{key!r} is not recorded by the {variant!r} runs of seeds {missing}")
        return np.array([r[key] for r in rows])


def seq2seq_sweep() -> Seq2SeqSweep:
    """The committed sweep behind the chapter: ``sweeps/results/seq2seq.json``.

    Loaded with :func:`seqlib.book.committed.results` (name ``"seq2seq"``), so it
    works from the repository and from an installed wheel alike.
    """
    from ..book.committed import results

    data = results("seq2seq")
    return Seq2SeqSweep(settings=data["settings"], runs=data["runs"])
