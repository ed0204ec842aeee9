"""Gradient clipping: by global norm (equation ``clip_norm``) and by value (``clip_value``).

Norm clipping (Pascanu et al. 2013) rescales *all* gradients by one factor,

    g <- g * max_norm / max(||g||, max_norm),

where ``||g||`` is the global norm over every array in the dict; the
direction of the update is unchanged and only its length is capped.
Value clipping clamps each entry to ``[-c, c]`` separately, which also
bounds the step but in general *changes its direction*: large components
are cut while small ones are kept.

>>> import numpy as np
>>> grads = {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])}
>>> global_norm(grads)
5.0
>>> clipped, norm = clip_by_global_norm(grads, 1.0)
>>> clipped["W"], clipped["b"], norm
(array([[0.6, 0. ]]), array([0.8]), 5.0)
>>> clip_by_value(grads, 1.0)["W"]
array([[1., 0.]])
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .._validate import as_float_array, check_real

__all__ = ["global_norm", "clip_by_global_norm", "clip_by_value"]


def _as_grads(grads: Mapping[str, Any], allow_nonfinite: bool = False) -> dict[str, np.ndarray]:
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict name -> array, got {type(grads).__name__}")
    return {k: as_float_array(g, f"grads[{k!r}]", allow_nonfinite=allow_nonfinite) for k, g in grads.items()}


def _norm(arrays: Mapping[str, np.ndarray]) -> float:
    # sqrt(sum g^2) in float64, scaled by the largest |g| so it neither overflows nor underflows.
    maxes = [np.max(np.abs(g)) for g in arrays.values() if g.size]
    m = float(np.max(maxes)) if maxes else 0.0  # np.max propagates NaN
    if m == 0.0 or not np.isfinite(m):
        return m
    return m * float(np.sqrt(sum(np.sum(np.square(g / np.float64(m))) for g in arrays.values())))


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """Euclidean norm of all gradients together, ``sqrt(sum_k sum_i grads[k]_i^2)``.

    Parameters
    ----------
    grads : dict name -> ndarray (any shapes)

    Returns
    -------
    float
        Computed in float64 for any input dtype; 0.0 for an empty dict;
        inf or nan if an entry is.
    """
    return _norm(_as_grads(grads, allow_nonfinite=True))


def clip_by_global_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """Rescale all gradients by ``max_norm / max(global_norm, max_norm)`` (equation ``clip_norm``).

    If the global norm is at most ``max_norm`` the gradients come back
    unchanged (as copies); otherwise they are all shrunk by the same factor,
    so the result has global norm ``max_norm`` and the *same direction* as
    before (Pascanu et al. 2013).  Compare :func:`clip_by_value`, which
    changes the direction.  Same semantics as TensorFlow's
    ``tf.clip_by_global_norm``.

    Parameters
    ----------
    grads : dict name -> ndarray (any shapes), finite
        Not modified.
    max_norm : float
        Positive and finite.

    Returns
    -------
    clipped : dict name -> ndarray
        New arrays, same keys, shapes and dtypes as ``grads``.
    global_norm : float
        The global norm *before* clipping (useful to log).

    Raises
    ------
    ValueError
        If ``max_norm`` is not positive and finite, or a gradient holds NaN or inf.
    """
    max_norm = check_real(max_norm, "max_norm")
    return _clip_by_global_norm_core(_as_grads(grads), max_norm)


def _clip_by_global_norm_core(
    arrays: Mapping[str, np.ndarray], max_norm: float, norm: float | None = None
) -> tuple[dict[str, np.ndarray], float]:
    """:func:`clip_by_global_norm` without its checks, for training loops that made the gradients
    themselves: trusts finite float arrays and a positive ``max_norm``; ``norm`` is their global
    norm if already known."""
    norm = _norm(arrays) if norm is None else norm
    scale = max_norm / max(norm, max_norm)
    return {k: g * scale if scale < 1.0 else g.copy() for k, g in arrays.items()}, norm


def clip_by_value(grads: Mapping[str, np.ndarray], clip_value: float) -> dict[str, np.ndarray]:
    """Clamp every gradient entry to ``[-clip_value, clip_value]`` (equation ``clip_value``).

    Each entry is clipped on its own, so unlike :func:`clip_by_global_norm`
    this in general *changes the direction* of the gradient: e.g. ``(10, 1)``
    clipped at 1 becomes ``(1, 1)``.

    Parameters
    ----------
    grads : dict name -> ndarray (any shapes), finite
        Not modified.
    clip_value : float
        Positive and finite.

    Returns
    -------
    dict name -> ndarray
        New arrays, same keys, shapes and dtypes as ``grads``.
    """
    c = check_real(clip_value, "clip_value")
    return _clip_by_value_core(_as_grads(grads), c)


def _clip_by_value_core(arrays: Mapping[str, np.ndarray], c: float) -> dict[str, np.ndarray]:
    """:func:`clip_by_value` without its checks: trusts finite float arrays and a positive ``c``."""
    return {k: np.clip(g, -c, c) for k, g in arrays.items()}
