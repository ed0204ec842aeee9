"""Numbers the prose quotes as bounds, rounded to the safe side.

A sentence such as "differ by at most {glue:text}`err:.0e`" is true only if
the printed number is at least the value: 3.07e-13 printed with ``.0e`` is
"3e-13", which is *below* it.  :func:`round_bound` returns the closest number
on the safe side that prints exactly at the given format (4e-13 here), for
the chapters to glue instead of the raw value.
"""

from __future__ import annotations

import math
import re

__all__ = ["round_bound"]

_SPEC = re.compile(r"^,?\.(\d+)([efg%])$")


def round_bound(x: float, spec: str, side: str) -> float:
    """The number nearest ``x`` on the safe ``side`` that prints exactly with ``spec``.

    Parameters
    ----------
    x : float
        The value the bound is about (finite).
    spec : str
        The format the prose prints it with, as in ``{glue:text}`name:spec```:
        ``".2f"``, ``".1e"``, ``".0%"``, ``".3g"`` (an optional leading ``,``).
    side : {"upper", "lower"}
        ``"upper"`` for "at most", "within", "below": the result is >= x.
        ``"lower"`` for "at least", "above": the result is <= x.

    Returns
    -------
    float
        ``format(result, spec)`` is the printed bound, on the safe side of x,
        and one unit of the last printed digit from ``format(x, spec)`` at most.

    Examples
    --------
    >>> format(round_bound(3.068e-13, ".0e", "upper"), ".0e")
    '4e-13'
    >>> format(round_bound(0.9878, ".2f", "lower"), ".2f")
    '0.98'
    >>> format(round_bound(0.09031, ".0%", "upper"), ".0%")
    '10%'
    >>> round_bound(0.25, ".2f", "upper")
    0.25
    """
    if side not in ("upper", "lower"):
        raise ValueError(f"side must be 'upper' or 'lower', got {side!r}")
    m = _SPEC.match(spec)
    if m is None:
        raise ValueError(f"spec must look like '.2f', '.1e', '.0%' or '.3g', got {spec!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"x must be finite, got {x!r}")
    digits, kind = int(m.group(1)), m.group(2)
    shown = float(format(x, spec).replace(",", "").rstrip("%")) / (100 if kind == "%" else 1)
    if (side == "upper" and shown >= x) or (side == "lower" and shown <= x) or x == 0:
        return shown
    if kind == "f":
        unit = 10.0 ** -digits
    elif kind == "%":
        unit = 10.0 ** -(digits + 2)
    else:  # e, g: one unit of the last significant digit printed
        sig = digits + (1 if kind == "e" else 0) or 1
        unit = 10.0 ** (math.floor(math.log10(abs(shown or x))) - sig + 1)
    step = unit if side == "upper" else -unit
    out = float(format(shown + step, spec).replace(",", "").rstrip("%")) / (100 if kind == "%" else 1)
    assert (out >= x) if side == "upper" else (out <= x), (x, spec, side, out)
    return out
