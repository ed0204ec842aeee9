"""Seeded weight initializers and spectral rescaling for the RNN's matrices.

Every function that draws random numbers takes an explicit ``rng``: a
:class:`numpy.random.Generator`, or an int seed from which one is made.
There is no hidden global state, so the same seed gives the same weights.

Two scalings of the recurrent matrix ``W_hh`` control how signals grow or
shrink over time steps: its *spectral norm* ``||W||_2`` (largest singular
value) bounds how much one step can stretch any vector, and its *spectral
radius* ``rho(W)`` (largest ``|eigenvalue|``) governs the growth of
``W^k`` as ``k`` grows.  Since ``rho(W) <= ||W||_2``, the two coincide for
normal matrices (e.g. orthogonal or symmetric ones) and differ otherwise.

>>> W = orthogonal(4, rng=0)
>>> bool(np.allclose(W.T @ W, np.eye(4)))
True
>>> W3 = scale_to_spectral_norm(W, 3.0)
>>> round(float(np.linalg.norm(W3, 2)), 12)
3.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import as_float_array, check_choice, check_positive_int

__all__ = [
    "glorot_uniform",
    "orthogonal",
    "normal",
    "scale_to_spectral_norm",
    "scale_to_spectral_radius",
    "init_rnn_params",
]

_DTYPES = {np.dtype(np.float32): np.float32, np.dtype(np.float64): np.float64}


def _as_rng(rng: Any) -> np.random.Generator:
    """A Generator from ``rng`` (a Generator, or an int seed)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng must be a numpy Generator or a seed int >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator or a seed int (every draw is seeded), got {type(rng).__name__} {rng!r}"
    )


def _as_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    check_choice(dt.name, "dtype", ["float32", "float64"])
    return dt


def _check_target(target: Any, name: str = "target") -> float:
    if isinstance(target, bool) or not isinstance(target, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive real number, got {type(target).__name__} {target!r}")
    if not (np.isfinite(target) and target > 0):
        raise ValueError(f"{name} must be positive and finite, got {target!r}")
    return float(target)


def _spectral_norm(W: np.ndarray) -> float:
    """Largest singular value of a 2-D array, in float64."""
    return float(np.linalg.norm(W.astype(np.float64, copy=False), 2))


def _spectral_radius(W: np.ndarray) -> float:
    """Largest ``|eigenvalue|`` of a square array, in float64."""
    return float(np.max(np.abs(np.linalg.eigvals(W.astype(np.float64, copy=False)))))


def glorot_uniform(
    fan_in: int, fan_out: int, *, rng: np.random.Generator | int, gain: float = 1.0, dtype: Any = np.float64
) -> np.ndarray:
    """Glorot/Xavier uniform matrix: entries ``U(-a, a)``, ``a = gain sqrt(6 / (fan_in + fan_out))``.

    The variance ``2 / (fan_in + fan_out)`` keeps activations and gradients
    at roughly the same scale going forward and backward (Glorot & Bengio 2010).

    Parameters
    ----------
    fan_in, fan_out : int
        Input and output sizes; the matrix is used as ``x @ W``.
    rng : numpy.random.Generator or int
        Source of randomness (a Generator is advanced) or a seed.
    gain : float
        Multiplies the bound ``a``.
    dtype : float32 or float64

    Returns
    -------
    ndarray, shape (fan_in, fan_out)
    """
    fan_in = check_positive_int(fan_in, "fan_in")
    fan_out = check_positive_int(fan_out, "fan_out")
    gain = _check_target(gain, "gain")
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return _as_rng(rng).uniform(-a, a, size=(fan_in, fan_out)).astype(_as_dtype(dtype))


def normal(
    n_rows: int,
    n_cols: int,
    *,
    rng: np.random.Generator | int,
    std: float | None = None,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Gaussian matrix with entries ``N(0, std^2)``.

    With the default ``std = 1 / sqrt(n_rows)``, a square ``n x n`` matrix has
    spectral radius close to 1 for large ``n`` (its eigenvalues fill the unit
    disc: the circular law), and ``std = g / sqrt(n)`` gives radius ``~ g``.

    Parameters
    ----------
    n_rows, n_cols : int
        The shape.
    rng : numpy.random.Generator or int
        Source of randomness (a Generator is advanced) or a seed.
    std : float, optional
        Standard deviation; default ``1 / sqrt(n_rows)``.
    dtype : float32 or float64

    Returns
    -------
    ndarray, shape (n_rows, n_cols)
    """
    n_rows = check_positive_int(n_rows, "n_rows")
    n_cols = check_positive_int(n_cols, "n_cols")
    std = 1.0 / np.sqrt(n_rows) if std is None else _check_target(std, "std")
    return _as_rng(rng).normal(0.0, std, size=(n_rows, n_cols)).astype(_as_dtype(dtype))


def orthogonal(
    n_rows: int,
    n_cols: int | None = None,
    *,
    rng: np.random.Generator | int,
    gain: float = 1.0,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Random (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014).

    The QR factorisation ``A = QR`` of a Gaussian matrix gives ``Q`` with
    orthonormal columns; multiplying column ``j`` by ``sign(R_jj)`` makes
    ``Q`` uniformly distributed (Haar).  A square result has all singular
    values and all ``|eigenvalues|`` equal to ``gain``.

    Parameters
    ----------
    n_rows : int
    n_cols : int, optional
        Defaults to ``n_rows`` (square).
    rng : numpy.random.Generator or int
        Source of randomness (a Generator is advanced) or a seed.
    gain : float
        Scale of the result.
    dtype : float32 or float64

    Returns
    -------
    ndarray, shape (n_rows, n_cols)
        Orthonormal columns (``W^T W = gain^2 I``) if ``n_rows >= n_cols``,
        else orthonormal rows (``W W^T = gain^2 I``).
    """
    n_rows = check_positive_int(n_rows, "n_rows")
    n_cols = n_rows if n_cols is None else check_positive_int(n_cols, "n_cols")
    gain = _check_target(gain, "gain")
    big, small = max(n_rows, n_cols), min(n_rows, n_cols)
    A = _as_rng(rng).standard_normal((big, small))
    Q, R = np.linalg.qr(A)  # Q: (big, small), orthonormal columns
    Q *= np.where(np.diag(R) < 0, -1.0, 1.0)
    W = Q if n_rows >= n_cols else Q.T
    return (gain * W).astype(_as_dtype(dtype))


def scale_to_spectral_norm(W: np.ndarray, target: float) -> np.ndarray:
    """Rescale ``W`` so that its largest singular value ``||W||_2`` equals ``target``.

    Parameters
    ----------
    W : ndarray, shape (M, N)
        Any nonzero matrix; not modified.
    target : float
        Desired spectral norm, positive.

    Returns
    -------
    ndarray, shape (M, N), dtype of ``W``
        ``W * target / ||W||_2`` (a new array).

    Raises
    ------
    ValueError
        If ``W`` is the zero matrix (no scaling can give it a nonzero norm).
    """
    W = as_float_array(W, "W", ndim=2)
    target = _check_target(target)
    s = _spectral_norm(W)
    if s == 0.0:
        raise ValueError(f"W is the zero matrix (shape {W.shape}): its spectral norm is 0 and cannot be scaled to {target}")
    return W * W.dtype.type(target / s)


def scale_to_spectral_radius(W: np.ndarray, target: float) -> np.ndarray:
    """Rescale square ``W`` so that its spectral radius ``max |lambda_i|`` equals ``target``.

    Parameters
    ----------
    W : ndarray, shape (H, H)
        Square matrix with a nonzero eigenvalue; not modified.
    target : float
        Desired spectral radius, positive.

    Returns
    -------
    ndarray, shape (H, H), dtype of ``W``
        ``W * target / rho(W)`` (a new array).

    Raises
    ------
    ValueError
        If ``W`` is not square, or its spectral radius is 0 (up to round-off),
        as for the zero matrix or a nilpotent (e.g. strictly triangular) one.
    """
    W = as_float_array(W, "W", ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, shape (H, H), for a spectral radius, got {W.shape}")
    target = _check_target(target)
    rho = _spectral_radius(W)
    tiny = W.shape[0] * np.finfo(np.float64).eps * _spectral_norm(W)
    if rho == 0.0 or rho <= tiny:
        what = "the zero matrix" if not np.any(W) else "nilpotent up to round-off"
        raise ValueError(
            f"W (shape {W.shape}) has spectral radius {rho:.3g}, {what}, and cannot be scaled to radius {target}"
        )
    return W * W.dtype.type(target / rho)


def init_rnn_params(
    D: int,
    H: int,
    V: int,
    *,
    rng: np.random.Generator | int,
    W_hh_spectral_norm: float | None = None,
    W_hh_spectral_radius: float | None = None,
    dtype: Any = np.float64,
) -> dict[str, np.ndarray]:
    """Parameters of a vanilla RNN with a linear readout.

    ``W_xh`` and ``W_hy`` are Glorot-uniform, ``W_hh`` is orthogonal (spectral
    norm and radius 1), optionally rescaled to a given spectral norm *or*
    spectral radius; the biases are zero.  Draws happen in the order
    ``W_xh, W_hh, W_hy`` in float64 and are then cast, so float32 and
    float64 parameters from the same seed hold the same numbers up to rounding.

    Parameters
    ----------
    D, H, V : int
        Input, hidden and output sizes.
    rng : numpy.random.Generator or int
        Source of randomness (a Generator is advanced) or a seed.
    W_hh_spectral_norm : float, optional
        Rescale ``W_hh`` so its largest singular value is this.
    W_hh_spectral_radius : float, optional
        Rescale ``W_hh`` so its largest ``|eigenvalue|`` is this.
        At most one of the two may be given.
    dtype : float32 or float64

    Returns
    -------
    dict
        ``"W_xh"``: (D, H), ``"W_hh"``: (H, H), ``"b_h"``: (H,),
        ``"W_hy"``: (H, V), ``"b_y"``: (V,); all of ``dtype``.
    """
    D = check_positive_int(D, "D")
    H = check_positive_int(H, "H")
    V = check_positive_int(V, "V")
    dt = _as_dtype(dtype)
    if W_hh_spectral_norm is not None and W_hh_spectral_radius is not None:
        raise ValueError(
            "give at most one of W_hh_spectral_norm and W_hh_spectral_radius, "
            f"got W_hh_spectral_norm={W_hh_spectral_norm!r} and W_hh_spectral_radius={W_hh_spectral_radius!r}"
        )
    rng = _as_rng(rng)
    W_xh = glorot_uniform(D, H, rng=rng)
    W_hh = orthogonal(H, rng=rng)
    W_hy = glorot_uniform(H, V, rng=rng)
    if W_hh_spectral_norm is not None:
        W_hh = scale_to_spectral_norm(W_hh, _check_target(W_hh_spectral_norm, "W_hh_spectral_norm"))
    elif W_hh_spectral_radius is not None:
        W_hh = scale_to_spectral_radius(W_hh, _check_target(W_hh_spectral_radius, "W_hh_spectral_radius"))
    return {
        "W_xh": W_xh.astype(dt),
        "W_hh": W_hh.astype(dt),
        "b_h": np.zeros(H, dtype=dt),
        "W_hy": W_hy.astype(dt),
        "b_y": np.zeros(V, dtype=dt),
    }
