"""seqlib: the numpy machinery behind the book *Sequence Modeling*.

Every computation the chapters show lives here, grouped by part of the book:

======================  ==================================  =======================================
subpackage              chapters                            modules
======================  ==================================  =======================================
``seqlib.loss``         1 cross-entropy, 3 sequence loss    ``softmax_ce``, ``seq_loss``,
                                                            ``loss_flags``, ``masking``
``seqlib.cells``        2 RNN, 5 gated cells                ``activations``, ``rnn``, ``lstm``,
                                                            ``gru``, ``readout``, ``init``
``seqlib.training``     4 BPTT, 5 gated cells,              ``bptt``, ``gradflow``,
                        6 experiments                       ``gradflow_gated``, ``clip``, ``optim``,
                                                            ``train``, ``gated_train``, ``data``,
                                                            ``experiments``
``seqlib.seq2seq``      7 sequence to sequence              ``model``, ``decode``, ``data``,
                                                            ``train``, ``sweep``
``seqlib.attention``    8 attention                         ``layer``, ``birnn``, ``model``,
                                                            ``data`` (CMUdict G2P), ``g2p``
``seqlib.book``         every page                          ``gradcheck``, ``committed``, ``quote``,
                                                            ``diagrams``, ``bptt_example``
``seqlib.widgets``      the interactive figures             one module per widget, ``js/``
======================  ==================================  =======================================

``seqlib.workspace`` (scratch arrays reused from one training step to the
next) serves the cells, the losses and training alike, as do the private
``seqlib._validate`` (argument checks) and ``seqlib._layout`` (memory layout).

Every public name of the modules is importable from here (``sl.rnn_forward``,
``sl.make_batch``), except those of ``sweep``, ``diagrams`` and
``bptt_example``, which are too generic for the top level
(``sl.diagrams.box``, ``sl.bptt_example.forward``), and those of ``g2p``
(``sl.g2p.transcribe``).  The modules keep their earlier names here too:
``sl.rnn`` is ``seqlib.cells.rnn``, ``sl.seq2seq_data`` is
``seqlib.seq2seq.data``, ``sl.attention_seq2seq`` is ``seqlib.attention.model``,
``sl.g2p_data`` is ``seqlib.attention.data``, and so on.

Arrays are batch-major and use row vectors: ``x_t @ W_xh``.
"""

from . import workspace
from . import attention, book, cells, loss, seq2seq, training

# The modules under their names of before the subpackages (sl.rnn, sl.seq2seq_data, ...).
from .book import bptt_example, committed, diagrams, gradcheck, quote  # noqa: F401
from .cells import activations, gru, init, lstm, readout, rnn  # noqa: F401
from .loss import loss_flags, masking, seq_loss, softmax_ce  # noqa: F401
from .seq2seq import data as seq2seq_data, decode, sweep as seq2seq_sweep, train as seq2seq_train  # noqa: F401
from .training import bptt, clip, data, experiments, gated_train, gradflow, gradflow_gated, optim, train  # noqa: F401
from .attention import birnn, g2p, data as g2p_data, model as attention_seq2seq  # noqa: F401

from .attention import *  # noqa: F401,F403
from .book.committed import *  # noqa: F401,F403
from .book.gradcheck import *  # noqa: F401,F403  (sl.gradcheck is the function)
from .book.quote import *  # noqa: F401,F403
from .cells import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .seq2seq import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403
from .workspace import *  # noqa: F401,F403

__version__ = "0.1.0"

__all__ = sorted({
    *attention.__all__, *book.committed.__all__, *book.gradcheck.__all__, *book.quote.__all__,
    *cells.__all__, *loss.__all__, *seq2seq.__all__, *training.__all__, *workspace.__all__,
})
