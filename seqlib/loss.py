"""The loss functions of two chapters, under one import path.

==========================  ==================================================
:mod:`seqlib.softmax_ce`    softmax, log-softmax, cross-entropy and its
                            gradient, the entropy/KL split (chapter 1
                            "Cross-Entropy Loss")
:mod:`seqlib.seq_loss`      the weighted sequence loss, its gradient and
                            normalisations (chapter 3 "Sequence Loss")
==========================  ==================================================

Every name of both is importable from here (``from seqlib.loss import
entropy_kl_split``) and from :mod:`seqlib` itself (``sl.sequence_loss``).
"""

from __future__ import annotations

from . import seq_loss as _seq_loss, softmax_ce as _softmax_ce
from .seq_loss import *  # noqa: F401,F403
from .softmax_ce import *  # noqa: F401,F403

__all__ = [*_softmax_ce.__all__, *_seq_loss.__all__]
