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
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import jupytext
import pytest
from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags



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
        n = 0
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            options = defaultdict(bool, find_metadata_tags(cell.metadata))
            options.update(dict(find_comment_markers(cell.source)))
            options.setdefault("check", False)  # the .md holds no stored outputs
            cell.execution_count = None
            yield ChapterCell.from_parent(self, name=f"cell {n:02d}", cell_num=n, cell=cell, options=options)
            n += 1


class ChapterCell(IPyNbCell):
    """One code cell: runs in the chapter's kernel and must not write to stderr."""

    def runtest(self) -> None:
        super().runtest()
        stderr = "".join(o.get("text", "") for o in self.test_outputs if o.get("name") == "stderr")
        if stderr:
            self.raise_cell_error("Cell wrote to stderr", stderr)

    def reportinfo(self):
        first = next((ln for ln in self.cell.source.splitlines() if ln.strip()), "")
        return self.path, 0, f"{self.path.name}::{self.name}: {first[:60]}"
