"""The book's own machinery, used across its pages.

=========================  ===================================================
:mod:`.gradcheck`          central-difference gradient checks
:mod:`.committed`          the committed sweep and benchmark results chapters read
:mod:`.quote`              bounds the prose quotes, rounded to the safe side
:mod:`.diagrams`           boxes and arrows of the RNN diagrams, chapter 2
:mod:`.bptt_example`       the BPTT pages' running example, chapter 4
=========================  ===================================================

The names of the first three are importable from :mod:`seqlib` itself
(``sl.gradcheck``, ``sl.results``, ``sl.round_bound``); those of the last two
are too generic for the top level: ``sl.diagrams.box``,
``sl.bptt_example.forward``.  This package star-exports nothing, so that
``seqlib.book.gradcheck`` stays the module (at the top level, ``sl.gradcheck``
is the function).
"""

from . import bptt_example, committed, diagrams, gradcheck, quote

__all__: list[str] = []
