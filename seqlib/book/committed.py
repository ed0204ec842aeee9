"""The committed results that chapters read: sweep runs and benchmark runs.

The repository is their source: ``sweeps/*.py`` write ``sweeps/results/``
and ``bench/*.py`` write ``bench/results*.json``.  A chapter never walks the
file system for them; it asks for a result by name::

    >>> import seqlib as sl
    >>> sorted(sl.RESULTS)[:3]
    ['attention', 'attention_weights', 'bench']

:func:`results` looks in the package's own copy first (``seqlib/_results/``,
which the book's build fills from the repository when it builds the wheel,
``_ext/notebook_download.py``) and then in the repository that holds this
checkout of seqlib.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["G2P_RUNS", "RESULTS", "g2p_predictions_name", "results", "results_path"]

#: The G2P sweep's runs (``sweeps/g2p.py``): each has its test predictions committed.
G2P_RUNS: tuple[str, ...] = tuple(f"{model}-s{seed}" for model in ("attention", "plain") for seed in range(5))

#: name -> the file's path in the repository.
RESULTS: dict[str, str] = {
    "experiments": "sweeps/results/experiments.json",
    "experiments_controls": "sweeps/results/experiments_controls.json",
    "gated": "sweeps/results/gated.json",
    "gated_flow": "sweeps/results/gated_flow.npz",
    "gated_controls": "sweeps/results/gated_controls.json",
    "seq2seq": "sweeps/results/seq2seq.json",
    "seq2seq_weights": "sweeps/results/seq2seq_weights.npz",
    "seq2seq_controls": "sweeps/results/seq2seq_controls.json",
    "attention": "sweeps/results/attention.json",
    "attention_weights": "sweeps/results/attention_weights.npz",
    "g2p": "sweeps/results/g2p.json",
    "g2p_model": "sweeps/results/g2p-models/attention-s0.npz",
    **{f"g2p_predictions/{run}": f"sweeps/results/g2p-predictions/{run}.tsv" for run in G2P_RUNS},
    **{f"g2p_predictions/greedy/{run}": f"sweeps/results/g2p-predictions/greedy/{run}.tsv" for run in G2P_RUNS},
    "bench": "bench/results.json",
    "bench_gated": "bench/results-gated.json",
    "bench_widgets": "bench/results-widgets.json",
    "bench_openblas_env": "bench/results-openblas-env.json",
    "bench_torch_paths": "bench/results-torch-paths.json",
    "bench_step_parts": "bench/results-step-parts.json",
    "bench_edge_checks": "bench/results-edge-checks.json",
}

_PACKAGE = Path(__file__).resolve().parents[1]  # seqlib/, this file is seqlib/book/committed.py
_PACKAGED = _PACKAGE / "_results"
_REPO = _PACKAGE.parent
_TOPS = ("sweeps/results/", "bench/")


def packaged_path(rel: str) -> str:
    """Where the wheel keeps the repository file ``rel``, relative to ``seqlib/_results/``.

    The path below ``sweeps/results/`` or ``bench/``: ``"sweeps/results/seq2seq.json"``
    -> ``"seq2seq.json"``, ``"sweeps/results/g2p-predictions/greedy/plain-s0.tsv"``
    -> ``"g2p-predictions/greedy/plain-s0.tsv"``.  The book's build
    (``_ext/notebook_download.py``) copies each file there.
    """
    for top in _TOPS:
        if rel.startswith(top):
            return rel[len(top):]
    raise ValueError(f"rel must start with one of {_TOPS}; got {rel!r}.")


def g2p_predictions_name(run: str, decoder: str = "beam") -> str:
    """The :data:`RESULTS` name of a G2P run's committed test predictions.

    Parameters
    ----------
    run : str
        One of :data:`G2P_RUNS`, e.g. ``"attention-s0"``.
    decoder : {"beam", "greedy"}
        Beam search (width 5) or greedy decoding.

    Examples
    --------
    >>> g2p_predictions_name("plain-s2", "greedy")
    'g2p_predictions/greedy/plain-s2'
    """
    if not isinstance(run, str) or run not in G2P_RUNS:
        raise ValueError(f"run must be one of {list(G2P_RUNS)}; got {run!r}.")
    if decoder not in ("beam", "greedy"):
        raise ValueError(f"decoder must be 'beam' or 'greedy'; got {decoder!r}.")
    return f"g2p_predictions/{run}" if decoder == "beam" else f"g2p_predictions/greedy/{run}"


def results_path(name: str) -> Path:
    """The file that holds the committed result ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`RESULTS`, e.g. ``"seq2seq"``.

    Returns
    -------
    Path
        The package's copy if there is one, else the repository's file.

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`RESULTS`.
    FileNotFoundError
        If neither copy exists; the message names both places.
    """
    if not isinstance(name, str) or name not in RESULTS:
        shown = [n for n in sorted(RESULTS) if not n.startswith("g2p_predictions/")]
        raise ValueError(
            f"name must be one of {shown} or 'g2p_predictions/[greedy/]<run>' "
            f"for a run of G2P_RUNS (see g2p_predictions_name); got {name!r}."
        )
    rel = RESULTS[name]
    candidates = [_PACKAGED / packaged_path(rel), _REPO / rel]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"result {name!r} not found: looked for {candidates[0]} (the "
        f"package's copy) and {candidates[1]} (the repository's)."
    )


def results(name: str) -> Any:
    """Load the committed result ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`RESULTS`.

    Returns
    -------
    dict or numpy.lib.npyio.NpzFile
        A ``.json`` result as the dict it holds; an ``.npz`` result as
        numpy's lazy archive (use it in a ``with`` block, or index it and
        let it close when it is collected); a ``.tsv`` of G2P predictions as
        ``{word: phonemes}`` (:func:`seqlib.attention.data.read_g2p_predictions`).
    """
    path = results_path(name)
    if path.suffix == ".npz":
        return np.load(path)
    if path.suffix == ".tsv":
        from ..attention.data import read_g2p_predictions

        return read_g2p_predictions(path)
    return json.loads(path.read_text(encoding="utf-8"))
