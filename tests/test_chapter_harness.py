"""The chapter collector in conftest.py must fail a cell that raises or writes to stderr."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent(
    """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    # Probe

    ```{code-cell} ipython3
    x = 21 * 2
    print(x)
    ```

    ```{code-cell} ipython3
    import warnings
    warnings.warn("a warning in a chapter")
    ```

    ```{code-cell} ipython3
    assert x == 41, "checked output differs"
    ```

    ```{code-cell} ipython3
    print("still runs in the same kernel:", x)
    ```
    """
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
