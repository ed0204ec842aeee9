"""The character-level language model that the Experiments chapter trains.

The chapter's pages each run on their own, and three of them need its data
or model: a tanh RNN trained with Adam on batches of fresh embedded Reber
strings, scored on one fixed set of held-out strings.  The page that
introduces the model shows that code; the others call these helpers, which
run the same code with the same defaults (and the same seeds as
``sweeps/experiments.py``)::

    >>> from seqlib.training.experiments import reber_eval_set, train_reber_lm
    >>> strings, eval_lm = reber_eval_set(50)
    >>> params, hist = train_reber_lm(seed=1, eval_data=eval_lm, steps=2)
    >>> len(hist.loss)
    2
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_positive_int, check_real
from .data import REBER_VOCAB, embedded_reber_strings, is_valid_embedded_reber, lm_batch
from ..cells.init import init_rnn_params
from .optim import Adam
from .train import TrainingHistory, _check_truncate, train_rnn

__all__ = ["reber_batches", "reber_eval_set", "train_reber_lm", "reber_sample_entropy"]

Array = np.ndarray


def reber_batches(rng: np.random.Generator | int, batch: int = 32) -> tuple[Array, Array, Array]:
    """A batch of ``batch`` fresh embedded Reber strings, as :func:`seqlib.training.data.lm_batch`.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Draws the strings.
    batch : int
        Number of strings.

    Returns
    -------
    x, targets, weights
        One-hot inputs (batch, T, V), targets (batch, T) and weights
        (batch, T), padded to the longest string of the batch.
    """
    batch = check_positive_int(batch, "batch")
    return lm_batch(embedded_reber_strings(batch, rng))


def reber_eval_set(n: int = 1000, rng: np.random.Generator | int = 123) -> tuple[list[str], tuple[Array, Array, Array]]:
    """The held-out strings and their batch: by default the chapter's 1000 strings (seed 123).

    Parameters
    ----------
    n : int
        Number of strings.
    rng : numpy.random.Generator or int
        Draws the strings.

    Returns
    -------
    strings : list of str
    batch : tuple
        ``lm_batch(strings)``: one-hot inputs, targets and weights.
    """
    n = check_positive_int(n, "n")
    strings = embedded_reber_strings(n, rng)
    return strings, lm_batch(strings)


def train_reber_lm(
    truncate: int | tuple[int, int] | None = None,
    seed: int = 1,
    *,
    eval_data: tuple | None = None,
    hidden: int = 32,
    steps: int = 800,
    lr: float = 0.01,
    batch: int = 32,
    eval_every: int = 50,
) -> tuple[dict[str, Array], TrainingHistory]:
    """Train the chapter's Reber language model from seed ``seed``.

    The weights are drawn with ``rng=seed`` (:func:`seqlib.cells.init.init_rnn_params`,
    ``V = len(REBER_VOCAB)`` inputs and outputs), the batches with
    ``rng=seed + 4`` (:func:`reber_batches`), and Adam updates them for
    ``steps`` steps (:func:`seqlib.training.train.train_rnn`).

    Parameters
    ----------
    truncate : None, int or (int, int)
        The backward pass: full BPTT (None), chunked truncation every
        ``truncate`` steps, or TBPTT(k1, k2), as :func:`seqlib.training.train.loss_and_grads`.
    seed : int
        Seed of the weights; the batches use ``seed + 4``.
    eval_data : tuple, optional
        Held-out batch scored every ``eval_every`` steps (e.g. the second
        value of :func:`reber_eval_set`); without it, nothing is scored.
    hidden, steps, lr, batch : int, int, float, int
        Hidden units, Adam steps, learning rate and strings per batch.
    eval_every : int
        Steps between two scores of ``eval_data``.

    Returns
    -------
    params : dict
        The trained parameters.
    hist : TrainingHistory
    """
    _check_truncate(truncate)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    hidden = check_positive_int(hidden, "hidden")
    steps = check_positive_int(steps, "steps")
    batch = check_positive_int(batch, "batch")
    lr = check_real(lr, "lr")
    eval_every = check_positive_int(eval_every, "eval_every") if eval_data is not None else 0
    V = len(REBER_VOCAB)
    params = init_rnn_params(V, hidden, V, rng=int(seed))
    hist = train_rnn(params, lambda rng: reber_batches(rng, batch), steps,
                     optimizer=Adam(lr=lr), rng=int(seed) + 4, truncate=truncate,
                     eval_data=eval_data, eval_every=eval_every)
    return params, hist


def reber_sample_entropy(strings: Any) -> float:
    """Cross-entropy (nats per token) of the ideal predictor on these embedded Reber strings.

    Each string ``s`` has ``len(s) - 5`` random choices (the outer letter and
    every letter of the inner string but its ``B`` and ``E``), each costing
    ``log 2``, and ``len(s) + 1`` predicted tokens (its letters and
    ``<eos>``); every other token costs nothing.  Over many strings the value
    tends to ``embedded_reber_stats()["entropy_per_token"]``.

    Parameters
    ----------
    strings : sequence of str
        Valid embedded Reber strings.

    Returns
    -------
    float
        ``sum(choices) * log 2 / sum(tokens)``.
    """
    if isinstance(strings, str) or not hasattr(strings, "__len__") or len(strings) == 0:
        raise ValueError(f"strings must be a non-empty sequence of str, got {type(strings).__name__}")
    bad = [s for s in strings if not is_valid_embedded_reber(s)]
    if bad:
        raise ValueError(f"strings must be embedded Reber strings, got {len(bad)} that are not, "
                         f"e.g. {bad[0]!r}")
    choices = sum(len(s) - 5 for s in strings)
    tokens = sum(len(s) + 1 for s in strings)
    return float(choices * np.log(2) / tokens)
