"""Two executions of a chapter print the same outputs.

Runs after the build (``make test-reproducible``): each chapter is executed
again, in a fresh kernel, and every output is compared with the notebook the
build executed (``_build/executed/chapters/*.ipynb``, written by
``_ext/notebook_download.py`` before it makes the download stand-alone): text, errors and
PNG figures byte for byte.  Widget *views* carry random model ids and are
skipped; the widgets' numbers are checked elsewhere (tests/test_widgets.py,
tests/browser/test_widget_engine.py), and their saved state holds no time
(seqlib.widgets._engine: ``data["ms"]`` only after a live recompute).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jupytext
import nbclient
import pytest

REPO = Path(__file__).resolve().parents[2]
EXECUTED = REPO / "_build" / "executed" / "chapters"
CHAPTERS = sorted((REPO / "chapters").glob("*.md"))
SKIP_MIME = {"application/vnd.jupyter.widget-view+json"}


def _digest(outputs: list) -> list:
    out: list = []
    for o in outputs:
        kind = o["output_type"]
        if kind == "stream":
            # the build merges consecutive streams (nb_merge_streams: true)
            if out and out[-1][0] == "stream" and out[-1][1] == o["name"]:
                out[-1] = ("stream", o["name"], out[-1][2] + o["text"])
            else:
                out.append(("stream", o["name"], o["text"]))
        elif kind == "error":
            out.append(("error", o["ename"], o["evalue"]))
        else:
            mimes = o.get("data", {})
            if any(m.startswith("application/papermill.record") for m in mimes):
                continue  # a glue() record: myst-nb moves it out of the executed notebook
            data = {}
            for mime, value in mimes.items():
                if mime in SKIP_MIME:
                    continue
                if isinstance(value, list):
                    value = "".join(value)
                if mime.startswith("image/"):
                    value = hashlib.sha256(value.encode()).hexdigest()
                data[mime] = value
            out.append(("data", tuple(sorted(data.items()))))
    # A stream's trailing newlines are not compared: print() writes its text and
    # its "\n" as two writes, and ipykernel 7.4 has delivered the second one after
    # the cell's idle message, so that the build recorded "...: 0.39" where the
    # second run recorded "...: 0.39\n" (CI, gated_gru cell 3).  The text before
    # them, every figure and every error are still compared byte for byte.
    return [("stream", o[1], o[2].rstrip("\n")) if o[0] == "stream" else o for o in out]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_second_execution_prints_the_same(path: Path) -> None:
    built = EXECUTED / f"{path.stem}.ipynb"
    if not built.exists():
        pytest.fail(f"{built} is missing: build the book first (make book)")
    import nbformat

    reference = nbformat.read(built, as_version=4)
    nb = jupytext.read(path)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    ref_cells = [c for c in reference.cells if c.cell_type == "code"]
    new_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert len(ref_cells) == len(new_cells), f"{path.name}: {len(new_cells)} code cells, the build had {len(ref_cells)}"
    for i, (a, b) in enumerate(zip(ref_cells, new_cells)):
        assert a.source == b.source, f"{path.name} cell {i}: the built notebook is stale (source differs); rebuild"
        assert _digest(a.outputs) == _digest(b.outputs), f"{path.name} cell {i}: outputs differ between two executions\n{b.source[:200]}"
