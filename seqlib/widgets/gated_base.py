"""The seeded draws behind the gated gradient-flow widget, and its numbers computed from them with seqlib.

:func:`gated_flow_base` draws once, for the longest sequence the widget
offers, everything the page needs to recompute any setting with the
JavaScript mirror ``js/mirror/gated.js``: the inputs x_t, the direct
gradients ∂ℓ_t/∂h_t, the LSTM's and the GRU's input weights and their
recurrent blocks scaled to spectral norm 1.  The draws are exactly those of
:func:`seqlib.widgets.gradient_flow.gated_flow_data` (time-major, each from its
own stream, so the first T steps of a ``T_max`` draw are the draw for T).

:func:`gated_flow_numbers` is the reference for the mirror: from a base,
one setting's G[t, k], ||dL/ds_k|| and mean gate, computed with
:func:`seqlib.cells.lstm.lstm_forward` / :func:`seqlib.cells.gru.gru_forward` and
:mod:`seqlib.training.gradflow_gated`, with the recurrent blocks
``spectral_norm * W_h_unit`` (the same multiplication the page does).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ..cells import gru, init, lstm
from ..training import gradflow_gated

__all__ = ["gated_flow_base", "gated_flow_numbers", "GATED_ARCHS"]

#: The cells :func:`gated_flow_numbers` computes (the vanilla RNN is ``js/mirror/rnn.js``).
GATED_ARCHS: tuple[str, ...] = ("lstm", "gru")


def _check_int(v: Any, name: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    return int(v)


def _check_real(v: Any, name: str, what: str, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {what}, got {type(v).__name__} {v!r}")
    if not math.isfinite(v) or (positive and not v > 0):
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return float(v)


def _blocks(rng: np.random.Generator, n: int, D: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """n Glorot input blocks, then n orthogonal recurrent blocks at spectral norm 1, drawn in that order."""
    W_x = np.concatenate([init.glorot_uniform(D, H, rng=rng) for _ in range(n)], axis=1)
    W_h = np.concatenate([init.scale_to_spectral_norm(init.orthogonal(H, rng=rng), 1.0) for _ in range(n)], axis=1)
    return W_x, W_h


def gated_flow_base(T_max: int = 100, *, seed: int = 0, B: int = 4, D: int = 8, H: int = 16,
                    input_scale: float = 0.05) -> dict[str, Any]:
    """The seeded draws of :func:`~seqlib.widgets.gradient_flow.gated_flow_data`, for sequences up to ``T_max``.

    Parameters
    ----------
    T_max : int >= 2
        Longest sequence; a setting with ``T <= T_max`` uses the first T steps.
    seed : int >= 0
        Seeds every draw (``np.random.default_rng([seed, ...])`` streams as in gated_flow_data).
    B, D, H : int >= 1
        Batch, input and hidden sizes.
    input_scale : float > 0
        Standard deviation of the inputs x_t.

    Returns
    -------
    dict of JSON values (nested lists of float)
        ``"B", "D", "H", "T_max"`` (int);
        ``"x"`` (B, T_max, D) inputs;
        ``"dh"`` (B, T_max, H) direct gradients ∂ℓ_t/∂h_t (standard normal / sqrt(B H));
        ``"W_x_lstm"`` (D, 4H) Glorot-uniform blocks i, f, g, o;
        ``"W_h_lstm_unit"`` (H, 4H) orthogonal blocks, each at spectral norm 1
        (``scale_to_spectral_norm(orthogonal(H), 1.0)``);
        ``"W_x_gru"`` (D, 3H), ``"W_h_gru_unit"`` (H, 3H): the same for the GRU's blocks r, z, n.
    """
    T_max = _check_int(T_max, "T_max", 2)
    seed = _check_int(seed, "seed", 0)
    B, D, H = (_check_int(v, n, 1) for v, n in ((B, "B"), (D, "D"), (H, "H")))
    input_scale = _check_real(input_scale, "input_scale", "a positive finite number", positive=True)
    # Time-major draws from their own streams (as gated_flow_data): the first T steps do not depend on T_max.
    x = input_scale * np.random.default_rng([seed, 1]).standard_normal((T_max, B, D)).transpose(1, 0, 2)
    dh = np.random.default_rng([seed, 2]).standard_normal((T_max, B, H)).transpose(1, 0, 2) / np.sqrt(B * H)
    W_x_lstm, W_h_lstm = _blocks(np.random.default_rng([seed, 3, 4]), 4, D, H)
    W_x_gru, W_h_gru = _blocks(np.random.default_rng([seed, 3, 3]), 3, D, H)
    return {
        "B": B, "D": D, "H": H, "T_max": T_max,
        "x": x.tolist(), "dh": dh.tolist(),
        "W_x_lstm": W_x_lstm.tolist(), "W_h_lstm_unit": W_h_lstm.tolist(),
        "W_x_gru": W_x_gru.tolist(), "W_h_gru_unit": W_h_gru.tolist(),
    }


def gated_flow_numbers(base: Mapping[str, Any], arch: str, spectral_norm: float, forget_bias: float, T: int,
                       truncate: int | None) -> dict[str, Any]:
    """One setting's gradient flow through the LSTM or the GRU of ``base``, computed with seqlib.

    Parameters
    ----------
    base : dict
        From :func:`gated_flow_base` (lists or arrays).
    arch : {"lstm", "gru"}
    spectral_norm : float > 0
        Every recurrent H x H block is ``spectral_norm * W_h_unit`` block.
    forget_bias : float
        The LSTM's forget-gate bias ``b[H:2H]`` (other biases are zero); ignored by the GRU.
    T : int, 2 <= T <= base["T_max"]
        Sequence length (the first T steps of the base).
    truncate : int >= 1 or None
        Chunked truncation (:func:`seqlib.cells.lstm.lstm_backward`, :func:`seqlib.cells.gru.gru_backward`).

    Returns
    -------
    dict of JSON values
        ``"G"`` (T, T): ``G[t-1][k-1] = ||dℓ_t/ds_k||``; for the LSTM s_k = (h_k, c_k) and
        G = hypot(G_h, G_c) of :func:`seqlib.training.gradflow_gated.lstm_loss_to_state_norms`; for the GRU
        :func:`seqlib.training.gradflow_gated.gru_loss_to_state_norms`.
        ``"delta_norms"`` (T,): ``||dL/ds_k||`` for L = Σ_t ℓ_t (hypot of
        :func:`~seqlib.training.gradflow_gated.lstm_state_gradient_norms`; :func:`~seqlib.training.gradflow_gated.gru_state_gradient_norms`).
        ``"gate_mean"``: the mean forget gate f_t (LSTM) or update gate z_t (GRU) over batch, steps and units.
    """
    if not isinstance(arch, str) or arch not in GATED_ARCHS:
        raise ValueError(f"arch must be one of {list(GATED_ARCHS)}, got {arch!r}")
    spectral_norm = _check_real(spectral_norm, "spectral_norm", "a positive finite number", positive=True)
    forget_bias = _check_real(forget_bias, "forget_bias", "a finite real number")
    T_max = int(base["T_max"])
    T = _check_int(T, "T", 2)
    if T > T_max:
        raise ValueError(f"T must be <= base['T_max'] = {T_max}, got {T}")
    if truncate is not None:
        truncate = _check_int(truncate, "truncate", 1)
    H = int(base["H"])
    x = np.asarray(base["x"], dtype=np.float64)[:, :T]
    dh = np.asarray(base["dh"], dtype=np.float64)[:, :T]
    if arch == "lstm":
        W_x = np.asarray(base["W_x_lstm"], dtype=np.float64)
        W_h = spectral_norm * np.asarray(base["W_h_lstm_unit"], dtype=np.float64)
        b = np.zeros(4 * H)
        b[H:2 * H] = forget_bias
        _, cache = lstm.lstm_forward(x, None, None, W_x, W_h, b)
        G = np.hypot(*gradflow_gated.lstm_loss_to_state_norms(dh, cache, truncate))
        total = np.hypot(*gradflow_gated.lstm_state_gradient_norms(dh, cache, truncate))
        gate = float(cache.gate("f").mean())
    else:
        W_x = np.asarray(base["W_x_gru"], dtype=np.float64)
        W_h = spectral_norm * np.asarray(base["W_h_gru_unit"], dtype=np.float64)
        _, cache = gru.gru_forward(x, None, W_x, W_h, np.zeros(3 * H), np.zeros(3 * H))
        G = gradflow_gated.gru_loss_to_state_norms(dh, cache, truncate)
        total = gradflow_gated.gru_state_gradient_norms(dh, cache, truncate)
        gate = float(cache.gate("z").mean())
    return {"G": G.tolist(), "delta_norms": total.tolist(), "gate_mean": gate}
