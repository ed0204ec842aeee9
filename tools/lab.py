"""Open the book's chapters as notebooks in JupyterLab: ``make lab`` runs this.

    python tools/lab.py [any jupyter-lab option ...]

Starts JupyterLab (from the environment running this script) at the repository
root, showing ``chapters/``.  The project's Lab settings are in
``lab/settings/overrides.json`` (used as Lab's ``app_settings_dir``):

* ``.md`` files open as notebooks (jupytext's "Jupytext Notebook" viewer is the
  default for Markdown and MyST files); a double click on ``chapters/rnn.md``
  opens the chapter as a notebook, and saving writes the ``.md`` back (no
  outputs are stored in it).  *Open With → Editor* still edits the text.
* MyST markup (math, directives, roles) in markdown cells is rendered by
  jupyterlab-myst; the widgets run live in the kernel (ipywidgets).
* Lab makes no request to the internet: no news feed, no update check, and
  the extension manager is read-only (it would otherwise query PyPI).

Extra arguments go to ``jupyter lab`` unchanged, e.g. ``--port 8899``,
``--no-browser``, ``--ServerApp.root_dir=/elsewhere``.
tests/browser/test_lab.py starts Lab through :func:`lab_command`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = REPO / "lab" / "settings"


def lab_options(root_dir: Path = REPO) -> list[str]:
    """The options the project runs ``jupyter lab`` with (before any of the caller's)."""
    opts = [
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.app_settings_dir={SETTINGS}",  # overrides.json: .md opens as a notebook, no news
        "--LabApp.news_url=None",  # no announcements feed
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",  # no PyPI version check
        "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts.append("--ServerApp.allow_root=True")  # CI and containers run as root; Jupyter refuses otherwise
    return opts


def lab_command(*extra: str, root_dir: Path = REPO) -> list[str]:
    """argv that starts JupyterLab with the project's settings."""
    return [sys.executable, "-m", "jupyterlab", *lab_options(root_dir), *extra]


def main(argv: list[str]) -> None:
    extra = list(argv)
    if not any(a.startswith("--ServerApp.default_url") for a in extra):
        extra.insert(0, "--ServerApp.default_url=/lab/tree/chapters")
    cmd = lab_command(*extra)
    print("+", " ".join(cmd), flush=True)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
