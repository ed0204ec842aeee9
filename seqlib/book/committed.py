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

__all__ = ["RESULTS", "results", "results_path"]

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
        raise ValueError(
            f"name must be one of {sorted(RESULTS)}; got {name!r}."
        )
    rel = RESULTS[name]
    candidates = [_PACKAGED / Path(rel).name, _REPO / rel]
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
        let it close when it is collected).
    """
    path = results_path(name)
    if path.suffix == ".npz":
        return np.load(path)
    return json.loads(path.read_text(encoding="utf-8"))
