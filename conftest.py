"""Collect the book's chapters as nbval-style tests, one item per code cell.

``pytest chapters`` turns every MyST Markdown notebook in ``chapters/`` into a
notebook with jupytext (in memory: no ``.ipynb`` is written next to the
source), then hands it to nbval, which runs the cells in order in one real
Jupyter kernel.  On top of nbval's checks, a cell fails its item when it

* raises (nbval), or
* writes anything to stderr: warnings, tracebacks printed by hand, stray
  progress bars.  ``jupyter-book build`` treats stderr the same way
  (``execute.stderr_output: error`` in ``_config.yml``).

Outputs a reader relies on are checked with assertions in ``remove-cell``
cells inside the chapters, so expected values live next to the prose.

With ``--compare-build`` (``make test-chapters`` passes it) each cell must
also print what the book's build printed: this run is the chapter's second
execution, in a fresh kernel, and every output is compared with the notebook
the build executed (``_build/executed/chapters/*.ipynb``, written by
``_ext/notebook_download.py``): text, errors and PNG figures byte for byte.
Widget *views* carry random model ids and are skipped; the widgets' numbers
are checked elsewhere (tests/test_widgets.py,
tests/browser/test_widget_engine.py), and their saved state holds no time
(seqlib.widgets._engine: ``data["ms"]`` only after a live recompute).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import hashlib

import jupytext
import nbformat
import pytest
from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags

EXECUTED = Path(__file__).resolve().parent / "_build" / "executed" / "chapters"
SKIP_MIME = {"application/vnd.jupyter.widget-view+json"}


def output_digest(outputs: list) -> list:
    """What a reader sees of a cell's outputs, in a form two executions can compare.

    Consecutive streams are merged (the build does so: ``nb_merge_streams``);
    glue records are dropped (myst-nb moves them out of the executed notebook);
    widget views are dropped (random model ids); images are compared by hash.
    A stream's trailing newlines are not compared: print() writes its text and
    its "\\n" as two writes, and ipykernel 7.4 has delivered the second one
    after the cell's idle message, so that the build recorded "...: 0.39" where
    a second run recorded "...: 0.39\\n" (CI, gated_gru).
    """
    out: list = []
    for o in outputs:
        kind = o["output_type"]
        if kind == "stream":
            if out and out[-1][0] == "stream" and out[-1][1] == o["name"]:
                out[-1] = ("stream", o["name"], out[-1][2] + o["text"])
            else:
                out.append(("stream", o["name"], o["text"]))
        elif kind == "error":
            out.append(("error", o["ename"], o["evalue"]))
        else:
            mimes = o.get("data", {})
            if any(m.startswith("application/papermill.record") for m in mimes):
                continue
            data = {}
            for mime, value in mimes.items():
                if mime in SKIP_MIME:
                    continue
                if isinstance(value, list):
                    value = "".join(value)
                if not isinstance(value, str):
                    value = repr(value)
                if mime.startswith("image/"):
                    value = hashlib.sha256(value.encode()).hexdigest()
                data[mime] = value
            out.append(("data", tuple(sorted(data.items()))))
    return [("stream", o[1], o[2].rstrip("\n")) if o[0] == "stream" else o for o in out]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--compare-build", action="store_true", default=False,
        help="each chapter cell must print what the build printed (_build/executed/chapters)")



def _is_chapter(path: Path) -> bool:
    if path.suffix != ".md" or path.parent.name != "chapters":
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "jupytext:" in head and "kernelspec:" in head


def pytest_configure(config: pytest.Config) -> None:
    # Run the kernel from the interpreter running pytest (the project's venv),
    # whatever kernelspec name the chapter's header gives.
    config.option.nbval_current_env = True


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if _is_chapter(file_path):
        return ChapterFile.from_parent(parent, path=file_path)
    return None


class ChapterFile(IPyNbFile):
    """A MyST Markdown chapter, converted by jupytext and tested by nbval."""

    def collect(self):
        self.nb = jupytext.read(self.path)
        reference = None
        if self.config.getoption("--compare-build"):
            built = EXECUTED / f"{self.path.stem}.ipynb"
            if not built.exists():
                raise pytest.UsageError(f"{built} is missing: build the book first (make book)")
            reference = [c for c in nbformat.read(built, as_version=4).cells if c.cell_type == "code"]
            n_code = sum(c.cell_type == "code" for c in self.nb.cells)
            if len(reference) != n_code:
                raise pytest.UsageError(
                    f"{self.path.name}: {n_code} code cells, the build had {len(reference)}: rebuild (make book)")
        n = 0
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            options = defaultdict(bool, find_metadata_tags(cell.metadata))
            options.update(dict(find_comment_markers(cell.source)))
            options.setdefault("check", False)  # the .md holds no stored outputs
            cell.execution_count = None
            item = ChapterCell.from_parent(self, name=f"cell {n:02d}", cell_num=n, cell=cell, options=options)
            item.reference = None if reference is None else reference[n]
            yield item
            n += 1


class ChapterCell(IPyNbCell):
    """One code cell: runs in the chapter's kernel and must not write to stderr."""

    def runtest(self) -> None:
        super().runtest()
        stderr = "".join(o.get("text", "") for o in self.test_outputs if o.get("name") == "stderr")
        if stderr:
            self.raise_cell_error("Cell wrote to stderr", stderr)
        if self.reference is not None:
            if self.reference.source != self.cell.source:
                self.raise_cell_error("The built notebook is stale (its source differs): rebuild (make book)")
            built, now = output_digest(self.reference.outputs), output_digest(self.test_outputs)
            if built != now:
                self.raise_cell_error(
                    "Outputs differ from the build's execution of this cell",
                    f"build:\n{built!r}\n\nthis run:\n{now!r}")

    def reportinfo(self):
        first = next((ln for ln in self.cell.source.splitlines() if ln.strip()), "")
        return self.path, 0, f"{self.path.name}::{self.name}: {first[:60]}"
