"""The flag settings that :func:`seqlib.loss.seq_loss.sequence_loss` accepts.

:func:`~seqlib.loss.seq_loss.sequence_loss` has four boolean flags, as
``tfa.seq2seq.sequence_loss`` has: ``average_across_timesteps``,
``average_across_batch``, ``sum_over_timesteps`` and ``sum_over_batch``.
Seven of their sixteen combinations are valid; the other nine raise a
``ValueError``.  :func:`flag_settings` lists the seven as keyword
arguments, so that a check can run over all of them.

>>> len(flag_settings())
7
>>> flag_settings()[0]["average_across_timesteps"]
True
"""

from __future__ import annotations

__all__ = ["FLAG_NAMES", "flag_settings"]

#: The four flags of :func:`seqlib.loss.seq_loss.sequence_loss`, in its order.
FLAG_NAMES = ("average_across_timesteps", "average_across_batch",
              "sum_over_timesteps", "sum_over_batch")

# (average_across_timesteps, average_across_batch, sum_over_timesteps,
#  sum_over_batch), in the order of the book's table: both axes, the time
# axis, the batch axis, each as an average and as a "sum"; then none.
_VALID = (
    (True, True, False, False),
    (False, False, True, True),
    (True, False, False, False),
    (False, False, True, False),
    (False, True, False, False),
    (False, False, False, True),
    (False, False, False, False),
)


def flag_settings() -> list[dict[str, bool]]:
    """The seven valid flag settings of ``sequence_loss``, as keyword dicts.

    Returns
    -------
    list of dict
        One new ``{flag name: bool}`` dict per valid setting, every flag
        named (also those that are ``False``), so that
        ``sequence_loss(logits, targets, weights, **kw)`` and
        ``sequence_loss_backward(..., **kw)`` accept each.  The first is the
        default (both ``average_across_*`` flags), the last sets no flag
        (the unreduced ``(B, T)`` output).
    """
    return [dict(zip(FLAG_NAMES, flags)) for flags in _VALID]
