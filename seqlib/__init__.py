"""seqlib: the numpy machinery behind the book *Sequence Modeling*.

Every computation the chapters show lives here, one subject per module:

========================  ====================================================
``seqlib.activations``    tanh, relu, sigmoid, linear and their derivatives
``seqlib.rnn``            the Elman recurrence, forward and (truncated) backward
``seqlib.lstm``           the LSTM cell (i, f, g, o gates), forward and backward
``seqlib.gru``            the GRU cell (r, z, n gates, reset before/after)
``seqlib.bptt``           truncated BPTT: chunked and TBPTT(k1, k2)
``seqlib.gradflow``       gradient-flow diagnostics: G[t, k], Jacobian products
``seqlib.gradflow_gated`` the same for the LSTM and the GRU; LSTM state Jacobians
``seqlib.gated_train``    training RNN / LSTM / GRU on a last-step regression
``seqlib.readout``        the linear readout o_t = h_t W_hy + b_y
``seqlib.softmax_ce``     softmax, log-softmax and the cross-entropy of one symbol (chapter 1)
``seqlib.seq_loss``       the weighted sequence loss and its normalisations (chapter 3)
``seqlib.loss``           both of the above under one import path
``seqlib.loss_flags``     the sequence loss's flag settings side by side
``seqlib.masking``        masks, padding and one-hot encoding
``seqlib.init``           initializers, spectral scaling of W_hh
``seqlib.clip``           gradient clipping by global norm and by value
``seqlib.optim``          SGD, Adagrad, Adam
``seqlib.data``           data the book generates: Reber grammar, adding problem, copy task
``seqlib.train``          a training loop with clipping and truncation; sampling
``seqlib.experiments``    the experiments chapter's Reber language model, rebuilt by its sections
``seqlib.gradcheck``      central-difference gradient checks
``seqlib.workspace``      scratch arrays reused from one training step to the next
``seqlib.committed``      the committed sweep and benchmark results chapters read
``seqlib.quote``          bounds the prose quotes, rounded to the safe side
``seqlib.seq2seq``        an RNN encoder-decoder: teacher forcing, the bridge, scoring
``seqlib.decode``         greedy decoding and beam search for the encoder-decoder
``seqlib.seq2seq_data``   the numbers-to-words task and its splits
``seqlib.seq2seq_train``  teacher-forced training of the encoder-decoder
``seqlib.seq2seq_sweep``  the committed multi-seed sweep of the encoder-decoder, by variant (not star-exported)
``seqlib.bptt_example``   the BPTT pages' running example (not star-exported)
``seqlib.diagrams``       boxes and arrows of the book's RNN diagrams (not star-exported)
``seqlib.widgets``        interactive figures that stay live in the static book
========================  ====================================================

Arrays are batch-major and use row vectors: ``x_t @ W_xh``.
"""

from . import activations, bptt, clip, data, experiments, gated_train, gradcheck, gradflow, gradflow_gated, gru, init, loss, loss_flags, lstm, masking, optim, readout, committed, quote, rnn, seq_loss, softmax_ce, train, workspace

from . import bptt_example, diagrams  # noqa: F401  (sl.diagrams.box, sl.bptt_example.forward: names too generic for the top level)
from . import decode, seq2seq, seq2seq_data, seq2seq_train
from . import seq2seq_sweep  # noqa: F401  (not star-exported: its function has the module's name)

_MODULES = (
    activations, bptt, clip, data, experiments, gated_train, gradcheck, gradflow, gradflow_gated, gru, init, loss, loss_flags, lstm, masking, optim, readout, committed, quote, rnn, seq_loss, softmax_ce, train, workspace,
    decode, seq2seq, seq2seq_data, seq2seq_train,
)

from .activations import *  # noqa: F401,F403
from .bptt import *  # noqa: F401,F403
from .clip import *  # noqa: F401,F403
from .committed import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from .gradcheck import *  # noqa: F401,F403
from .gated_train import *  # noqa: F401,F403
from .gradflow import *  # noqa: F401,F403
from .gradflow_gated import *  # noqa: F401,F403
from .gru import *  # noqa: F401,F403
from .init import *  # noqa: F401,F403
from .softmax_ce import *  # noqa: F401,F403
from .seq_loss import *  # noqa: F401,F403
from .loss_flags import *  # noqa: F401,F403
from .lstm import *  # noqa: F401,F403
from .masking import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .readout import *  # noqa: F401,F403
from .quote import *  # noqa: F401,F403

from .rnn import *  # noqa: F401,F403
from .train import *  # noqa: F401,F403
from .workspace import *  # noqa: F401,F403
from .decode import *  # noqa: F401,F403
from .seq2seq import *  # noqa: F401,F403
from .seq2seq_data import *  # noqa: F401,F403
from .seq2seq_train import *  # noqa: F401,F403

__version__ = "0.1.0"

__all__ = sorted(
    {name for mod in _MODULES for name in mod.__all__}
)
