"""Argument checking shared by every public function of :mod:`seqlib`.

Errors follow one pattern: they name the argument, say what it got and what
was expected, e.g. ``W_hh must have shape (H, H) = (4, 4), got (4, 3)``.

Checking happens once, where a caller enters, in the caller's words: a model
function names ``params['dec_W_hh']`` or ``sources[3]``, not the argument of
some layer inside it.  The layers it then calls run as private cores
(``_rnn_forward_core`` and the like) that trust their inputs and check
nothing; the public layer functions (``rnn_forward``, ...) are those cores
behind their own checks, for a reader who calls them directly.
:func:`check_param_dict` checks a model's whole parameter dict: every array
in full (dtype, shape, finiteness), the rows a batch does not touch too.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import re

import numpy as np

__all__ = [
    "all_finite", "as_float_array", "as_int_array", "check_index_range", "check_shape", "check_choice",
    "check_positive_int", "check_real", "check_array", "check_bool", "check_finite",
    "check_param_dict", "check_param_layout", "param_layout",
]


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return f"{type(x).__name__} {x!r}"[:120]


def _asarray(x: Any, name: str, what: str) -> np.ndarray:
    """``np.asarray(x)``, with numpy's error for a ragged nested sequence said in the caller's words."""
    try:
        return np.asarray(x)
    except ValueError:  # "setting an array element with a sequence ... inhomogeneous shape"
        raise ValueError(
            f"{name} must be {what}, got a ragged nested sequence (its items differ in length or depth): "
            f"{_describe(x)}"
        ) from None


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(x: Any, name: str, *, ndim: int | None = None, allow_nonfinite: bool = False) -> np.ndarray:
    """Return ``x`` as a floating array, or raise a clear error.

    Float32 and float64 inputs keep their dtype; bool and integer inputs are
    converted to float64.  NaN and inf are rejected unless ``allow_nonfinite``.
    """
    if type(x) is np.ndarray and x.dtype in _FLOATS:  # the common case: nothing to convert
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"{name} must be a {ndim}-D array, got {x.ndim}-D with shape {x.shape}")
        if not allow_nonfinite:
            check_finite(x, name)
        return x
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a numeric array, got {_describe(x)}")
    arr = _asarray(x, name, "a numeric array")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be a numeric array, got {_describe(x)}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating) or arr.dtype == np.float16:
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got {arr.ndim}-D with shape {arr.shape}")
    if not allow_nonfinite:
        check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise a ValueError naming ``name`` unless the float array ``arr`` holds no NaN and no inf."""
    if not all_finite(arr):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0]) if arr.ndim else ()
        where = f", the first at index {first}" if arr.ndim else ""
        raise ValueError(f"{name} must be finite, got {bad} NaN or inf value(s) in shape {arr.shape}{where}")


def all_finite(arr: np.ndarray) -> bool:
    """Whether ``arr`` holds no NaN and no inf.

    For a large float array that is contiguous in memory (in any order of its
    axes) one BLAS matrix-vector product with a vector of ones decides, in
    about a third of the time of ``np.isfinite(arr).all()``: NaN and inf
    propagate through the row sums, so finite row sums mean finite entries.
    Only when some row sum is not finite -- a NaN or an inf, or finite entries
    whose sum overflows -- does the exact elementwise test run.
    """
    if arr.dtype in (np.float32, np.float64) and arr.size >= 1 << 16:
        flat = arr.ravel(order="K")  # a view when arr is contiguous in some axis order
        if np.may_share_memory(flat, arr):  # exact here: ravel returns a view or a fresh copy
            k = arr.shape[-1]
            with np.errstate(all="ignore"):  # NaN, inf and overflow are what is being looked for
                row_sums = flat.reshape(-1, k) @ np.ones(k, arr.dtype)
            if np.isfinite(row_sums).all():
                return True
    return bool(np.isfinite(arr).all())


def as_int_array(x: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` as an integer array; floats are accepted only if integral."""
    if type(x) is np.ndarray and x.dtype.kind in "iu":  # the common case: nothing to convert
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"{name} must be a {ndim}-D array, got {x.ndim}-D with shape {x.shape}")
        return x
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an integer array, got {_describe(x)}")
    arr = _asarray(x, name, "an integer array")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be an integer array, got {_describe(x)}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.complexfloating) or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"{name} must hold integers, got non-integer values of dtype {arr.dtype}")
        arr = arr.astype(np.int64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got {arr.ndim}-D with shape {arr.shape}")
    return arr


def check_index_range(idx: np.ndarray, name: str, n: int, expected: str) -> None:
    """Raise a ValueError naming ``name`` unless every entry of the int array ``idx`` lies in ``[0, n)``.

    ``expected`` says what was expected, e.g. ``"in [0, depth) = [0, 5)"``;
    the message gives the first offending value, its index and how many are out of range.
    """
    if idx.size:
        bad = (idx < 0) | (idx >= n)
        if np.any(bad):
            pos = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{name} must be {expected}, got {int(idx[pos])} at index {pos} "
                f"({int(np.count_nonzero(bad))} out of range)"
            )


_MULTIPLE = re.compile(r"(\d+)([A-Za-z_]\w*)")


def check_shape(arr: np.ndarray, name: str, expected: Sequence[str | int], dims: dict[str, int]) -> None:
    """Check ``arr.shape`` against symbolic ``expected`` such as ``("B", "T", "H")``.

    Symbols already in ``dims`` must match; new symbols are bound in ``dims``.
    A symbol ``"4H"`` (an integer times a symbol) is ``4 * dims["H"]`` once
    ``H`` is bound, so ``("H", "4H")`` checks an LSTM's ``W_h`` in full.
    """
    for sym in expected:
        if isinstance(sym, str) and sym[0].isdigit() and sym not in dims:
            m = _MULTIPLE.fullmatch(sym)
            if m and m.group(2) in dims:
                dims[sym] = int(m.group(1)) * dims[m.group(2)]
    shape = arr.shape
    if len(shape) != len(expected):
        raise ValueError(f"{name} must have shape {_spec(expected)}, got {arr.ndim}-D shape {shape}")
    want = []
    for sym, got in zip(expected, shape):
        if isinstance(sym, int):
            want.append(sym)
        elif sym in dims:
            want.append(dims[sym])
        else:
            dims[sym] = int(got)
            want.append(int(got))
    if tuple(want) != shape:
        bound = ", ".join(f"{s}={dims[s]}" for s in dict.fromkeys(expected) if isinstance(s, str))
        raise ValueError(f"{name} must have shape {_spec(expected)} with {bound} (so {tuple(want)}), got {shape}")


def _spec(expected: Sequence[str | int]) -> str:
    """``("B", "T")`` as ``(B, T)``, ``("H",)`` as ``(H,)``."""
    return "(" + ", ".join(str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"


def check_array(
    x: Any, name: str, expected: Sequence[str | int], dims: dict[str, int], *, integer: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """``x`` as a float (or, with ``integer``, an int) array of shape ``expected``, finite unless told otherwise.

    Dtype first, then the shape (:func:`check_shape`, binding new symbols in
    ``dims``), then finiteness: every message names ``name``.
    """
    arr = as_int_array(x, name) if integer else as_float_array(x, name, allow_nonfinite=True)
    check_shape(arr, name, expected, dims)
    if finite and not integer:
        check_finite(arr, name)
    return arr


def check_param_dict(
    params: Any,
    spec: Mapping[str, Sequence[str | int]],
    dims: dict[str, int],
    *,
    name: str = "params",
    see: str = "",
    hints: Mapping[str, str] | None = None,
    inplace: str | None = None,
) -> dict[str, np.ndarray]:
    """Check a model's parameter dict in full; return its arrays, keyed as ``spec``.

    Every key of ``spec`` must be present; each array is checked for its
    dtype (real numbers), its shape ``spec[key]`` (symbols bound in ``dims``
    in the order of ``spec``: put the array that defines a size first) and
    finiteness, all of it, rows that a batch would not touch included.
    Messages name ``params['key']`` (``name[key]``); ``see`` ends the message
    for missing keys (e.g. which function makes the dict), ``hints[key]``
    ends that key's shape message.

    With ``inplace`` (the name of the function that will update the arrays,
    e.g. ``"train_rnn"``) every array must also be a writeable float32 or
    float64 ndarray, so that an optimizer can update it where it lies.
    Keys not in ``spec`` are ignored.
    """
    keys = tuple(spec)
    if not isinstance(params, Mapping):
        raise TypeError(f"{name} must be a dict name -> array with keys {keys}, got {_describe(params)}")
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"{name} is missing {missing}; it needs {keys}{see}")
    out = {}
    for k, shape in spec.items():
        nk, v = f"{name}[{k!r}]", params[k]
        if inplace is not None:
            if not isinstance(v, np.ndarray) or v.dtype not in (np.float32, np.float64):
                raise TypeError(f"{nk} must be a float32 or float64 ndarray ({inplace} updates it in place), "
                                f"got {_describe(v)}")
            if not v.flags.writeable:
                raise ValueError(f"{nk} must be writeable ({inplace} updates it in place), got a read-only array")
        arr = as_float_array(v, nk, allow_nonfinite=True)
        try:
            check_shape(arr, nk, shape, dims)
        except ValueError as e:
            if hints and k in hints:
                raise ValueError(f"{e} {hints[k]}") from None
            raise
        check_finite(arr, nk)
        out[k] = arr
    return out


def param_layout(params: Mapping[str, np.ndarray], keys: Sequence[str]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{key: (shape, dtype)}`` of the arrays a training loop will update, for :func:`check_param_layout`."""
    return {k: (params[k].shape, params[k].dtype) for k in keys}


def check_param_layout(params: Any, layout: Mapping[str, tuple[tuple[int, ...], np.dtype]], when: str,
                       name: str = "params") -> None:
    """That the caller's optimizer (or callback) left every parameter an ndarray of its shape and dtype.

    A training loop checks ``params`` in full once, before its first step;
    after each update this cheap check (no pass over the data) is all that
    stands between a replaced array and the unchecked cores of the next step.
    """
    for k, (shape, dtype) in layout.items():
        v = params.get(k) if isinstance(params, Mapping) else None
        if not isinstance(v, np.ndarray) or v.shape != shape or v.dtype != dtype:
            raise ValueError(f"{name}[{k!r}] must stay an ndarray of shape {shape} and dtype {dtype} during "
                             f"training, got {_describe(v)} {when}")


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool (a Python or numpy bool), else a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {_describe(value)}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[Any] | Mapping[Any, Any]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(map(repr, choices))}, got {value!r}")


def check_positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int{' or None' if allow_none else ''}, got {_describe(value)}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def check_real(
    value: Any, name: str, *, low: float = 0.0, high: float = np.inf, low_open: bool = True, high_open: bool = True
) -> float:
    """``value`` as a float, checked to lie in the interval from ``low`` to ``high`` (open ends by default)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    ok_low = v > low if low_open else v >= low
    ok_high = v < high if high_open else v <= high
    if not (np.isfinite(v) and ok_low and ok_high):
        span = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be finite and in {span}, got {value!r}")
    return v


def check_direct_gradient(dh: Any, cache: Any, cache_type: type, producer: str) -> np.ndarray:
    """Validate the direct gradients ``dh`` (B, T, H) of a backward pass against its forward ``cache``.

    ``cache`` must be a ``cache_type`` (the cache ``producer`` returns: RNN,
    LSTM or GRU) with ``shape`` (B, T, D, H) and the time-major state buffer
    ``hs``; ``dh`` is returned as an array in the cache's dtype.
    """
    if not isinstance(cache, cache_type):
        raise TypeError(f"cache must be the {cache_type.__name__} returned by {producer}, "
                        f"got {type(cache).__name__}")
    B, T, _, H = cache.shape
    dh = as_float_array(dh, "dh")
    check_shape(dh, "dh", ("B", "T", "H"), {"B": B, "T": T, "H": H})
    return np.asarray(dh, dtype=cache.hs.dtype)
