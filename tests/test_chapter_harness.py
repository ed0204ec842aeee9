"""The chapter collector in conftest.py must fail a cell that raises or writes to stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat.v4 as nbf

REPO = Path(__file__).resolve().parents[1]

CELLS = [
    "x = 21 * 2\nprint(x)",
    'import warnings\nwarnings.warn("a warning in a chapter")',
    'assert x == 41, "checked output differs"',
    'print("still runs in the same kernel:", x)',
]
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}
PROBE = jupytext.writes(  # a chapter as the book writes them: a MyST notebook with a jupytext header
    nbf.new_notebook(cells=[nbf.new_markdown_cell("# Probe")] + [nbf.new_code_cell(c) for c in CELLS],
                     metadata={"kernelspec": KERNEL}),
    fmt="md:myst",
)


def test_collector_fails_raising_and_stderr_cells(tmp_path: Path) -> None:
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "probe.md").write_text(PROBE)
    (chapters / "not_a_notebook.md").write_text("# plain markdown, no jupytext header\n")
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", "/dev/null", "-q", "-rf", str(chapters)],
        cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": str(Path(sys.executable).parent)},
        capture_output=True, text=True, timeout=120,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "2 failed, 2 passed" in out, out
    assert "FAILED chapters/probe.md::cell 01" in out and "Cell wrote to stderr" in out, out
    assert "FAILED chapters/probe.md::cell 02" in out and "checked output differs" in out, out
