"""Sequence to sequence: chapter 7, the RNN encoder-decoder.

=========================  ===================================================
:mod:`.model`              the encoder-decoder: teacher forcing, the bridge, scoring
:mod:`.decode`             greedy decoding and beam search
:mod:`.data`               the numbers-to-words task and its splits
:mod:`.train`              teacher-forced training of the encoder-decoder
:mod:`.sweep`              the committed multi-seed sweep, by variant (not star-exported)
=========================  ===================================================

The names of the first four are importable from here (``import seqlib.seq2seq
as s2; s2.make_batch``, ``s2.greedy_decode``) and from :mod:`seqlib` itself.
"""

from . import data, decode, model, sweep, train
from .data import *  # noqa: F401,F403
from .decode import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .train import *  # noqa: F401,F403

__all__ = [*model.__all__, *decode.__all__, *data.__all__, *train.__all__]
