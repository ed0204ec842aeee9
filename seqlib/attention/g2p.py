"""Grapheme-to-phoneme conversion with the attention encoder-decoder: training, checkpoints, a reader's API.

* :func:`g2p_config` -- an :class:`seqlib.attention.model.AttentionConfig`
  with CMUdict's vocabularies (27 graphemes; EOS, BOS and 39 phonemes);
  :func:`g2p_plain_config` -- the same for the plain encoder-decoder of
  :mod:`seqlib.seq2seq.model` (a :class:`Seq2SeqConfig`), the comparison.
* :func:`encode_pairs` -- (word, pronunciation) pairs as id sequences.
* :func:`bucket_batches` -- one epoch's batches, each of pairs of similar
  lengths, so that little of a batch is padding.
* :func:`train_g2p` -- teacher-forced training (either model) with Adam and
  global-norm clipping (:class:`seqlib.training.optim.Adam`,
  :func:`seqlib.training.clip.clip_by_global_norm`), in place.
* :func:`save_checkpoint`, :func:`load_checkpoint` -- ``.npz`` files that
  hold the parameters, the configuration and free metadata.
* :func:`transcribe` -- words in, pronunciations out, from a checkpoint.
* :func:`predict` -- the same as a word -> pronunciation dict, for scoring
  with :func:`seqlib.attention.data.g2p_score`; batched greedy decoding on request
  (for learning curves).
* :func:`time_training_steps` -- the wall time of training steps on CMUdict
  batches, to size a run.

Reproducibility: :func:`transcribe` and :func:`predict` decode each word on
its own (a batch of one), so a word's output does not depend on which other
words are decoded with it: BLAS may sum a product in a different order for
a differently shaped batch, and a near-tie could then fall the other way.
Re-decoding a word from the same checkpoint with the same numpy and BLAS
gives the same phonemes.

Both models run through the same functions: each function looks up the
model's cores by the type of ``config`` (:func:`_ops`), so batching,
training, checkpoints and decoding are one code path.

Arguments are checked once, at the edge: :func:`train_g2p` checks
``params`` in full (each array a writeable float ndarray, finite) and every
pair before its first step, :func:`transcribe` and :func:`predict` check the
model once before the first word; the steps and the words then run the
model's unchecked cores (:mod:`seqlib.attention.model`).
"""

from __future__ import annotations

import json
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .._validate import (
    _describe, all_finite, check_param_layout, check_positive_int, check_real, param_layout,
)
from ..cells.init import _as_rng
from ..seq2seq import decode as _s2s_decode
from ..seq2seq import model as _s2s_model
from ..seq2seq.model import Seq2SeqConfig, _check_pairs, _pad_batch
from ..training.clip import _clip_by_global_norm_core
from ..training.optim import Adam
from .data import G2P_BOS, G2P_EOS, G2P_TGT_VOCAB, GRAPHEMES, decode_phonemes, encode_phonemes, encode_word
from . import model as _att_model
from .model import AttentionConfig, init_attention_seq2seq

__all__ = [
    "g2p_config", "g2p_plain_config", "init_g2p", "encode_pairs", "bucket_batches", "train_g2p", "save_checkpoint", "load_checkpoint",
    "transcribe", "predict", "time_training_steps", "CHECKPOINT_FORMAT",
]

Array = np.ndarray
#: Written into every checkpoint; :func:`load_checkpoint` refuses any other.
CHECKPOINT_FORMAT = "seqlib-g2p/1"
G2PConfig = AttentionConfig | Seq2SeqConfig


class _Ops(NamedTuple):
    """One model's cores: what training, checkpoints and decoding call."""

    kind: str  # written into checkpoints
    config_type: type
    check_params: Callable[..., dict[str, Array]]
    loss_and_grads: Callable[[Mapping[str, Array], Any, Any], tuple[float, dict[str, Array]]]
    greedy: Callable[[Mapping[str, Array], Sequence[Array], Any, int], list[Any]]
    beam: Callable[[Mapping[str, Array], Array, Any, int, int], list[Any]]


_OPS = {
    "attention": _Ops("attention", AttentionConfig, _att_model._check_params, _att_model._loss_and_grads_core,
                      _att_model._greedy_core, _att_model._beam_core),
    "seq2seq": _Ops("seq2seq", Seq2SeqConfig, _s2s_model._check_params,
                    lambda p, batch, config: _s2s_model._loss_and_grads_core(p, batch, config, "token"),
                    _s2s_decode._greedy_core, _s2s_decode._beam_core),
}


def _ops(config: Any) -> _Ops:
    """The cores of the model ``config`` configures."""
    for ops in _OPS.values():
        if isinstance(config, ops.config_type):
            return ops
    raise TypeError(f"config must be an AttentionConfig (g2p_config) or a Seq2SeqConfig (g2p_plain_config), "
                    f"got {_describe(config)}")


def g2p_config(**kwargs: Any) -> AttentionConfig:
    """An :class:`AttentionConfig` for CMUdict (``V_x=27``, ``V_y=41``, ``eos=0``, ``bos=1``); the rest from ``kwargs``."""
    for k in ("V_x", "V_y", "eos", "bos"):
        if k in kwargs:
            raise ValueError(f"{k} is fixed by the CMUdict vocabularies, got {k}={kwargs[k]!r}")
    return AttentionConfig(V_x=len(GRAPHEMES), V_y=len(G2P_TGT_VOCAB), eos=G2P_EOS, bos=G2P_BOS, **kwargs)


def g2p_plain_config(**kwargs: Any) -> Seq2SeqConfig:
    """A :class:`Seq2SeqConfig` for CMUdict: the last chapter's encoder-decoder, no attention; the rest from ``kwargs``."""
    for k in ("V_x", "V_y", "eos", "bos"):
        if k in kwargs:
            raise ValueError(f"{k} is fixed by the CMUdict vocabularies, got {k}={kwargs[k]!r}")
    return Seq2SeqConfig(V_x=len(GRAPHEMES), V_y=len(G2P_TGT_VOCAB), eos=G2P_EOS, bos=G2P_BOS, **kwargs)


def init_g2p(config: G2PConfig, *, rng: np.random.Generator | int, dtype: object = np.float64) -> dict[str, Array]:
    """Fresh parameters for either model (the plain model is float64 only)."""
    if _ops(config).kind == "attention":
        return init_attention_seq2seq(config, rng=rng, dtype=dtype)
    if np.dtype(dtype) != np.float64:
        raise ValueError(f"dtype must be float64 for the plain encoder-decoder (seqlib.seq2seq), got {dtype!r}")
    return _s2s_model.init_seq2seq_params(config, rng=rng)


def _config_dict(config: G2PConfig) -> dict[str, Any]:
    return {f.name: (int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v)
            for f in fields(config) for v in [getattr(config, f.name)]}


def encode_pairs(pairs: Sequence[tuple[str, Sequence[str]]]) -> tuple[list[list[int]], list[list[int]]]:
    """(sources, targets): grapheme ids of each word, phoneme ids of its pronunciation followed by EOS."""
    return [encode_word(w) for w, _ in pairs], [encode_phonemes(p) for _, p in pairs]


def bucket_batches(src_lens: Sequence[int], tgt_lens: Sequence[int], batch_size: int, *,
                   rng: np.random.Generator | int, pool: int = 32) -> list[Array]:
    """One epoch's batches of pair indices, each batch of pairs of similar lengths.

    The pairs are shuffled, cut into pools of ``pool * batch_size``, each pool
    is sorted by (source length, target length) and cut into batches, and the
    batches are shuffled.  Every pair is in exactly one batch; the last batch
    of a pool may be smaller.  Bahdanau et al. (2015, App. B.2) do the same
    with pools of 1600 pairs cut into 20 batches: "to minimize the waste of
    computation".

    Returns
    -------
    list of ndarray int
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    pool = check_positive_int(pool, "pool")
    rng = _as_rng(rng)
    s, t = np.asarray(src_lens), np.asarray(tgt_lens)
    if s.ndim != 1 or s.shape != t.shape or s.size == 0:
        raise ValueError(f"src_lens and tgt_lens must be non-empty 1-D and of one length, got {s.shape} and {t.shape}")
    order = rng.permutation(s.size)
    batches = []
    step = pool * batch_size
    for i in range(0, s.size, step):
        chunk = order[i:i + step]
        chunk = chunk[np.lexsort((t[chunk], s[chunk]))]
        batches += [chunk[j:j + batch_size] for j in range(0, chunk.size, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train_g2p(params: dict[str, Array], sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
              config: G2PConfig, *, epochs: int = 1, rng: np.random.Generator | int,
              batch_size: int = 64, lr: float = 1e-3, clip_norm: float = 5.0, pool: int = 32,
              max_steps: int | None = None, optimizer: Any = None,
              on_epoch: Callable[[int, dict[str, Array]], Any] | None = None) -> dict[str, Any]:
    """Teacher-forced training with length-bucketed batches, Adam and global-norm clipping; ``params`` change in place.

    Each epoch visits every pair once (:func:`bucket_batches`); each step
    pads its batch (as :func:`seqlib.seq2seq.model.make_batch`), computes
    the model's loss and gradients (token-normalised), clips the
    gradient to global norm ``clip_norm`` and takes one Adam step.

    Parameters
    ----------
    params : dict
        From :func:`init_g2p`, updated in place.
    sources, targets : lists of id sequences
        E.g. :func:`encode_pairs` of the training pairs.
    config : AttentionConfig or Seq2SeqConfig
        The attention model or the plain encoder-decoder.
    epochs : int, keyword-only
    rng : Generator or int, keyword-only
        Seeds the batches.
    batch_size, lr, clip_norm, pool : keyword-only
    max_steps : int, optional, keyword-only
        Stop after this many steps in all.
    optimizer : object with ``step(params, grads)``, optional, keyword-only
        To continue a run with its optimizer state; default a fresh ``Adam(lr)``.
    on_epoch : callable, optional, keyword-only
        ``on_epoch(epoch, params)`` after each epoch (e.g. to score the
        validation words); what it returns is kept in the history.

    Returns
    -------
    dict
        ``"loss"`` and ``"grad_norm"`` (ndarray, one per step, before the
        update), ``"epoch_end"`` (the step count at the end of each epoch),
        ``"on_epoch"`` (the callback's returns), ``"optimizer"``, ``"seconds"``
        (wall time per step, ndarray).

    Raises
    ------
    TypeError, ValueError
        ``config``, ``params`` (in full: every array a writeable float32 or
        float64 ndarray of its shape, finite), every pair of ``sources`` and
        ``targets`` (named ``sources[b]``, ``targets[b]``) and the settings,
        checked once before the first step; the steps then run unchecked.
    FloatingPointError
        If an update leaves a parameter NaN or inf (training diverged).
    """
    ops = _ops(config)
    p = ops.check_params(params, config, inplace="train_g2p")
    src, tgt = _check_pairs(sources, targets, config, True)  # every pair, once
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    pool = check_positive_int(pool, "pool")
    max_steps = check_positive_int(max_steps, "max_steps", allow_none=True)
    clip_norm = check_real(clip_norm, "clip_norm")
    rng = _as_rng(rng)
    opt = Adam(lr=lr) if optimizer is None else optimizer
    if not callable(getattr(opt, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method, got {_describe(opt)}")
    if on_epoch is not None and not callable(on_epoch):
        raise TypeError(f"on_epoch must be a callable (epoch, params) or None, got {_describe(on_epoch)}")
    layout = param_layout(params, tuple(p))
    losses, norms, secs, ends, extra = [], [], [], [], []
    src_lens, tgt_lens = [len(s) for s in src], [len(t) for t in tgt]
    for epoch in range(epochs):
        for idx in bucket_batches(src_lens, tgt_lens, batch_size, rng=rng, pool=pool):
            t0 = time.perf_counter()
            batch = _pad_batch([src[i] for i in idx], [tgt[i] for i in idx], config)
            loss, grads = ops.loss_and_grads(params, batch, config)
            grads, norm = _clip_by_global_norm_core(grads, clip_norm)
            opt.step(params, grads)
            step = len(losses)
            check_param_layout(params, layout, f"after step {step} (optimizer.step changed it)")
            bad = [k for k in p if not all_finite(params[k])]
            if bad:
                raise FloatingPointError(f"training diverged at step {step}: params[{bad[0]!r}] is no longer "
                                         f"finite (try a smaller lr or clip_norm={clip_norm:g})")
            secs.append(time.perf_counter() - t0)
            losses.append(loss)
            norms.append(norm)
            if max_steps is not None and len(losses) >= max_steps:
                break
        ends.append(len(losses))
        if on_epoch is not None:
            extra.append(on_epoch(epoch, params))
            check_param_layout(params, layout, f"after epoch {epoch} (on_epoch changed it)")
        if max_steps is not None and len(losses) >= max_steps:
            break
    return {"loss": np.array(losses), "grad_norm": np.array(norms), "epoch_end": ends, "on_epoch": extra,
            "optimizer": opt, "seconds": np.array(secs)}


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path | str, params: Mapping[str, Array], config: G2PConfig,
                    **meta: Any) -> Path:
    """Write ``params``, ``config`` and JSON-able ``meta`` to a compressed ``.npz`` (no pickles).

    Returns the path written (numpy adds ``.npz`` if it is missing).
    """
    ops = _ops(config)
    p = ops.check_params(params, config)  # a checkpoint that loads is a model that runs
    arrays = {f"param.{k}": v for k, v in p.items()}
    arrays["format"] = np.array(CHECKPOINT_FORMAT)
    arrays["model"] = np.array(ops.kind)
    arrays["config"] = np.array(json.dumps(_config_dict(config), sort_keys=True))
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    p = Path(path)
    if p.suffix != ".npz":
        p = p.with_name(p.name + ".npz")
    np.savez_compressed(p, **arrays)
    return p


def load_checkpoint(path: Path | str) -> tuple[dict[str, Array], G2PConfig, dict[str, Any]]:
    """Read a checkpoint of :func:`save_checkpoint`: (params, config, meta).

    Raises
    ------
    ValueError
        A file that is not such a checkpoint, or whose parameters do not match
        its configuration.
    """
    with np.load(Path(path), allow_pickle=False) as z:
        if "format" not in z.files or str(z["format"]) != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} must be a checkpoint of format {CHECKPOINT_FORMAT!r} (save_checkpoint), "
                             f"got {str(z['format']) if 'format' in z.files else 'no format entry'}")
        kind = str(z["model"]) if "model" in z.files else "no model entry"
        if kind not in _OPS:
            raise ValueError(f"{path}: model must be one of {sorted(_OPS)}, got {kind!r}")
        config = _OPS[kind].config_type(**json.loads(str(z["config"])))
        meta = json.loads(str(z["meta"]))
        params = {k[len("param."):]: z[k].copy() for k in z.files if k.startswith("param.")}
    want = set(_s2s_model.param_names(config) if kind == "seq2seq" else _att_model.attention_param_names(config))
    if set(params) != want:
        raise ValueError(f"{path}: parameters {sorted(set(params) ^ want)} do not match its configuration")
    return params, config, meta


# ----------------------------------------------------------------------------- reading words aloud


def _model(checkpoint: Any) -> tuple[Mapping[str, Array], G2PConfig]:
    if isinstance(checkpoint, (str, Path)):
        params, config, _ = load_checkpoint(checkpoint)
        return params, config
    if isinstance(checkpoint, tuple) and len(checkpoint) >= 2 and isinstance(checkpoint[1],
                                                                         (AttentionConfig, Seq2SeqConfig)):
        return checkpoint[0], checkpoint[1]
    raise TypeError(f"checkpoint must be a path to a .npz of save_checkpoint or a (params, config) tuple, "
                    f"got {_describe(checkpoint)}")


def _words(words: Any) -> list[str]:
    if isinstance(words, str):
        words = [words]
    if not isinstance(words, Sequence) or isinstance(words, bytes):
        raise TypeError(f"words must be a str or a list of str, got {_describe(words)}")
    out = []
    for i, w in enumerate(words):
        if not isinstance(w, str):
            raise TypeError(f"words[{i}] must be a str, got {_describe(w)}")
        out.append(w.upper())
    return out


def transcribe(words: str | Sequence[str], checkpoint: Any, *, beam_width: int = 1,
               max_len: int = 32) -> list[list[str]]:
    """Pronounce each word: one list of phoneme strings per word.

    Parameters
    ----------
    words : str or list of str
        Spelled with ``'`` and letters (lower case is upper-cased).
    checkpoint : path or (params, config)
        A ``.npz`` of :func:`save_checkpoint`, or the arrays and config themselves.
    beam_width : int, keyword-only
        1: greedy decoding; k > 1: beam search of width k, the best finished
        hypothesis.
    max_len : int, keyword-only
        At most this many phonemes (an output cut there has no EOS).

    Returns
    -------
    list of list of str
        E.g. ``transcribe(["cat"], ckpt) -> [["K", "AE", "T"]]``.

    Raises
    ------
    ValueError
        A word with a character outside ``'`` and A-Z (the message names it).
    """
    params, config = _model(checkpoint)
    p = _ops(config).check_params(params, config)
    beam_width = check_positive_int(beam_width, "beam_width")
    max_len = check_positive_int(max_len, "max_len")
    return _transcribe(p, config, _words(words), beam_width, max_len)


def _transcribe(p: Mapping[str, Array], config: G2PConfig, words: list[str], beam_width: int,
                max_len: int) -> list[list[str]]:
    """:func:`transcribe` of upper-cased words with a checked model: each word on its own."""
    sources = [np.array(encode_word(w), np.int64) for w in words]  # every word's spelling first
    ops, out = _ops(config), []
    for src in sources:
        if beam_width == 1:
            hyp = ops.greedy(p, [src], config, max_len)[0]
        else:
            hyp = ops.beam(p, src, config, beam_width, max_len)[0]
        out.append(list(decode_phonemes(hyp.tokens)))
    return out


def predict(params: Mapping[str, Array], config: G2PConfig, words: Sequence[str], *,
            beam_width: int = 1, max_len: int = 32, batch_size: int | None = None) -> dict[str, tuple[str, ...]]:
    """:func:`transcribe` as a dict word -> phonemes, ready for :func:`seqlib.attention.data.g2p_score`.

    ``batch_size=None`` decodes each word on its own, as :func:`transcribe`
    (reproducible word by word).  An int (greedy only) decodes that many
    words at once, grouped by length: several times faster, for learning
    curves, but a word's output may then differ in a near-tie from its
    output alone (see the module docstring).
    """
    ops = _ops(config)
    p = ops.check_params(params, config)
    beam_width = check_positive_int(beam_width, "beam_width")
    max_len = check_positive_int(max_len, "max_len")
    batch_size = check_positive_int(batch_size, "batch_size", allow_none=True)
    ws = _words(words)
    if batch_size is None:
        return {w: tuple(pr) for w, pr in zip(words, _transcribe(p, config, ws, beam_width, max_len))}
    if beam_width != 1:
        raise ValueError(f"batch_size is for greedy decoding (beam_width=1), got beam_width={beam_width!r}")
    order = sorted(range(len(ws)), key=lambda i: len(ws[i]))
    sources = [np.array(encode_word(w), np.int64) for w in ws]
    out: dict[str, tuple[str, ...]] = {}
    for i in range(0, len(order), batch_size):
        chunk = order[i:i + batch_size]
        hyps = ops.greedy(p, [sources[j] for j in chunk], config, max_len)
        out.update({ws[j]: decode_phonemes(h.tokens) for j, h in zip(chunk, hyps)})
    return {w: out[w.upper()] for w in words}


def time_training_steps(config: G2PConfig, pairs: Sequence[tuple[str, Sequence[str]]], *,
                        batch_size: int = 64, steps: int = 20, warmup: int = 2, rng: int = 0,
                        dtype: object = np.float64) -> dict[str, float]:
    """Wall time of training steps on bucketed batches of ``pairs`` (e.g. CMUdict's training pairs).

    Runs ``warmup + steps`` steps of :func:`train_g2p` from fresh
    parameters and times the last ``steps`` (each: batch, forward, backward,
    clipping, Adam).

    Returns
    -------
    dict
        ``"median_s"``, ``"mean_s"``, ``"min_s"``: seconds per step;
        ``"steps"``, ``"batch_size"``.
    """
    steps = check_positive_int(steps, "steps")
    params = init_g2p(config, rng=rng, dtype=dtype)
    sources, targets = encode_pairs(pairs)
    h = train_g2p(params, sources, targets, config, rng=rng, batch_size=batch_size,
                  max_steps=warmup + steps, epochs=10 ** 6)
    s = h["seconds"][warmup:]
    return {"median_s": float(np.median(s)), "mean_s": float(np.mean(s)), "min_s": float(np.min(s)),
            "steps": len(s), "batch_size": batch_size}
