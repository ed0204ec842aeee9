"""The losses: chapters 1 (cross-entropy) and 3 (sequence loss).

=========================  ===================================================
:mod:`.softmax_ce`         softmax, log-softmax, cross-entropy and its
                           gradient, the entropy/KL split (chapter 1)
:mod:`.seq_loss`           the weighted sequence loss, its gradient and
                           normalisations (chapter 3)
:mod:`.loss_flags`         the sequence loss's flag settings side by side
:mod:`.masking`            masks, padding and one-hot encoding (chapter 3)
=========================  ===================================================

Every name of these modules is importable from here (``from seqlib.loss
import entropy_kl_split``) and from :mod:`seqlib` itself (``sl.sequence_loss``).
"""

from __future__ import annotations

from . import loss_flags, masking, seq_loss, softmax_ce
from .loss_flags import *  # noqa: F401,F403
from .masking import *  # noqa: F401,F403
from .seq_loss import *  # noqa: F401,F403
from .softmax_ce import *  # noqa: F401,F403

__all__ = [*softmax_ce.__all__, *seq_loss.__all__, *loss_flags.__all__, *masking.__all__]
