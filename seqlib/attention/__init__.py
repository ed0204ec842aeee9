"""Attention: the attention chapter, an encoder-decoder that looks back at the source, and G2P.

=========================  ===================================================
:mod:`.layer`              additive and general scores, masked softmax, context,
                           attentional state, their backward passes
:mod:`.birnn`              a bidirectional encoder from the cells' own passes
:mod:`.model`              the attention encoder-decoder: loss, gradients, greedy
                           and beam decoding with the weights
:mod:`.data`               CMUdict grapheme-to-phoneme data: files, splits,
                           symbols, WER and PER (``seqlib/_data/cmudict/``)
:mod:`.g2p`                G2P training, checkpoints and ``transcribe`` (not star-exported)
=========================  ===================================================

The names of the first four are importable from here (``import
seqlib.attention as at; at.attention_forward``) and from :mod:`seqlib`
itself; those of :mod:`.g2p` read as such (``sl.g2p.transcribe``).
"""

from . import birnn, data, g2p, layer, model
from .birnn import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .layer import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403

__all__ = [*layer.__all__, *birnn.__all__, *model.__all__, *data.__all__]
