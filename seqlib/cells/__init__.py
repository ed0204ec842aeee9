"""The recurrent cells and the layers around them: chapters 2 (RNN) and 5 (gated cells).

=========================  ===================================================
:mod:`.activations`        tanh, relu, sigmoid, linear and their derivatives
:mod:`.rnn`                the Elman recurrence, forward and (truncated) backward
:mod:`.lstm`               the LSTM cell (i, f, g, o gates), forward and backward
:mod:`.gru`                the GRU cell (r, z, n gates, reset before/after)
:mod:`.readout`            the linear readout o_t = h_t W_hy + b_y
:mod:`.init`               initializers, spectral scaling of W_hh
=========================  ===================================================

Every public name is also importable from :mod:`seqlib` itself (``sl.rnn_forward``).
"""

from . import activations, gru, init, lstm, readout, rnn
from .activations import *  # noqa: F401,F403
from .gru import *  # noqa: F401,F403
from .init import *  # noqa: F401,F403
from .lstm import *  # noqa: F401,F403
from .readout import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403

__all__ = [*activations.__all__, *rnn.__all__, *lstm.__all__, *gru.__all__, *readout.__all__, *init.__all__]
