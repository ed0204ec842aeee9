"""Training recurrent networks: chapters 4 (BPTT), 5 (gated cells) and 6 (experiments).

=========================  ===================================================
:mod:`.bptt`               truncated BPTT: chunked and TBPTT(k1, k2)
:mod:`.gradflow`           gradient-flow diagnostics: G[t, k], Jacobian products
:mod:`.gradflow_gated`     the same for the LSTM and the GRU; LSTM state Jacobians
:mod:`.clip`               gradient clipping by global norm and by value
:mod:`.optim`              SGD, Adagrad, Adam
:mod:`.train`              a training loop with clipping and truncation; sampling
:mod:`.gated_train`        training RNN / LSTM / GRU on a last-step regression
:mod:`.data`               data the book generates: Reber grammar, adding problem, copy task
:mod:`.experiments`        the experiments chapter's Reber language model, rebuilt by its sections
=========================  ===================================================

Every public name is also importable from :mod:`seqlib` itself (``sl.train_rnn``).
"""

from . import bptt, clip, data, experiments, gated_train, gradflow, gradflow_gated, optim, train
from .bptt import *  # noqa: F401,F403
from .clip import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from .gated_train import *  # noqa: F401,F403
from .gradflow import *  # noqa: F401,F403
from .gradflow_gated import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .train import *  # noqa: F401,F403

__all__ = [
    *bptt.__all__, *gradflow.__all__, *gradflow_gated.__all__, *clip.__all__, *optim.__all__, *train.__all__,
    *gated_train.__all__, *data.__all__, *experiments.__all__,
]
