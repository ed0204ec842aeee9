"""A chapter as a live notebook in JupyterLab (what ``make lab`` opens), in headless Chromium.

Starts JupyterLab the way ``make lab`` does (``tools/lab.py``: the project's
``lab/settings``, no news feed, no update check, read-only extension manager)
on 127.0.0.1 with a random free port and a random token, on a temporary copy
of ``chapters/sequence_loss_normalisation.md`` (the page with the lightest
widget; a copy, so Lab's autosave never rewrites the repository), with its
own Jupyter config, data, runtime and settings folders (the user's
``~/.jupyter`` plays no part). Then, in Chromium with every request off
127.0.0.1:PORT blocked and recorded:

* a double click on ``sequence_loss_normalisation.md`` in the file browser
  opens it as a notebook (jupytext's viewer is the default for ``.md``:
  lab/settings);
* *Run → Run All Cells*; every code cell runs, the kernel goes idle, and no
  cell has an error or stderr output;
* the sequence-loss widget knows it is live (the kernel answered its
  handshake), and after each move of each control the picture changes and
  the numbers drawn came from seqlib in the kernel (``data.source``; the
  reply's ``data.setting`` is the one the page then shows); the status line
  says so;
* no request left the machine, no page error.

A second test does the same for every widget of the book at once: a
notebook holding the five chapter cells that show them (``WIDGET_CELLS``,
the cells the chapters have), run in Lab, each widget's every control moved.

The server is always shut down (``/api/shutdown``, then its process group is
ended if it lingers).  The run time is printed, not asserted; it is about
20-30 s here (start to shutdown).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import bookcheck
from conftest import REPO

from seqlib.widgets import WIDGETS
from test_widget_engine import move_every_control


def _load_lab_tool():
    """tools/lab.py (what `make lab` runs), loaded by path: `lab/` is also a folder at the root."""
    spec = importlib.util.spec_from_file_location("seqbook_lab_tool", REPO / "tools" / "lab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lab_tool = _load_lab_tool()

CHAPTER = "sequence_loss_normalisation.md"
LIVE_STATUS = "Computed in the kernel by seqlib"  # js/runtime.js, after the kernel's data arrives
#: The cells that show the widgets in the chapters (hide-input there).
WIDGET_CELLS = {
    "gradient_flow": "from seqlib.widgets import gradient_flow_widget\n\ngradient_flow_widget()",
    "unrolled": "from seqlib.widgets import unrolled_graph_widget\n\nunrolled_graph_widget()",
    "gated_flow": "from seqlib.widgets import gated_flow_widget\n\ngated_flow_widget()",
    "sequence_loss": "from seqlib.widgets import sequence_loss_widget\n\nsequence_loss_widget()",
    "decoding": "from seqlib.widgets import decoding_widget\n\ndecoding_widget()",
}
WIDGETS_NOTEBOOK = "widgets.md"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback only
        return r.status


class LabServer:
    def __init__(self, root: Path, home: Path) -> None:
        self.root, self.home = root, home
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.origin = f"http://127.0.0.1:{self.port}"
        self.log = home / "lab.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        env = dict(os.environ)
        for var, sub in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "user-settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("IPYTHONDIR", "ipython"),
            ("MPLCONFIGDIR", "mpl"),
        ]:
            (self.home / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.home / sub)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        cmd = lab_tool.lab_command(
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.allow_remote_access=False",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: read the notebook model
            root_dir=self.root,
        )
        self._log_fh = open(self.log, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=self._log_fh, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels included, ended in stop()
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {self.proc.returncode}:\n{self.tail()}", pytrace=False)
            try:
                if _get(f"{self.origin}/api/status?token={self.token}") == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {timeout_s:.0f} s:\n{self.tail()}", pytrace=False)
            time.sleep(0.25)

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            req = urllib.request.Request(f"{self.origin}/api/shutdown?token={self.token}", method="POST")
            try:
                urllib.request.urlopen(req, timeout=5).close()  # noqa: S310 - loopback only
            except OSError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the server's own process group (a kernel that
        # did not exit with it): ended by that group's id, which we created.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(1)
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
        self._log_fh.close()


def widgets_notebook() -> str:
    """A MyST notebook with one cell per widget, as the chapters show them."""
    import jupytext
    import nbformat.v4 as nbf

    cells = [nbf.new_markdown_cell("# Every widget, live")]
    cells += [nbf.new_code_cell(code) for code in WIDGET_CELLS.values()]
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return jupytext.writes(nbf.new_notebook(cells=cells, metadata={"kernelspec": kernel}), fmt="md:myst")


@pytest.fixture
def lab_server(tmp_path):
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    shutil.copy2(REPO / "chapters" / CHAPTER, root / "chapters" / CHAPTER)
    (root / "chapters" / WIDGETS_NOTEBOOK).write_text(widgets_notebook(), encoding="utf-8")
    server = LabServer(root, tmp_path / "home")
    try:
        server.start()
        yield server
    finally:
        server.stop()


# The open notebook's model, through window.jupyterapp (--LabApp.expose_app_in_browser).
NOTEBOOK_STATE_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return null;
  const cells = [];
  const m = w.content.model;
  for (let i = 0; i < m.cells.length; i++) {
    const c = m.cells.get(i);
    if (c.type !== 'code') continue;
    const outs = [];
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      outs.push({type: o.output_type, name: o.name || null, ename: o.ename || null, evalue: o.evalue || null,
                 text: typeof o.text === 'string' ? o.text.slice(0, 300) : (o.text || []).join('').slice(0, 300)});
    }
    cells.push({n: c.executionCount, outputs: outs});
  }
  return {path: w.context.path, factory: w.context.model ? w.constructor.name : null,
          kernel: w.sessionContext.kernelDisplayStatus, cells};
}"""


def open_and_run_all(page, origin: str, token: str, name: str, timeout_ms: float = 75_000) -> tuple[int, float, float]:
    """Open chapters/<name> from Lab's file browser (a double click), Run All; returns (code cells, t_open, t_run)."""
    t0 = time.monotonic()
    page.goto(f"{origin}/lab/tree/chapters?token={token}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined")
    page.evaluate("() => window.jupyterapp.restored")
    # Open the notebook from the file browser, as a reader would: a double
    # click opens a .md file with its default viewer (lab/settings).
    item = page.locator(f'.jp-DirListing-item[title^="Name: {name}"]')
    item.wait_for(state="visible")
    item.dblclick()
    page.locator(".jp-NotebookPanel:visible").wait_for(state="visible")
    page.wait_for_function(
        "(p) => { const w = window.jupyterapp.shell.currentWidget;"
        " return !!(w && w.context && w.context.path === p && w.content && w.content.model"
        " && w.content.model.cells.length > 0); }",
        arg=f"chapters/{name}",
    )
    # The kernel is up and idle before we run anything.
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle'"
    )
    state = page.evaluate(NOTEBOOK_STATE_JS)
    assert state["path"] == f"chapters/{name}"
    n_code = len(state["cells"])
    t_open = time.monotonic() - t0
    # Run -> Run All Cells (the main menu).
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget; const m = w.content.model;"
        " for (let i = 0; i < m.cells.length; i++) { const c = m.cells.get(i);"
        "   if (c.type === 'code' && !c.executionCount) return false; }"
        " return w.sessionContext.kernelDisplayStatus === 'idle'; }",
        timeout=timeout_ms,
        polling=250,
    )
    t_run = time.monotonic() - t0 - t_open
    state = page.evaluate(NOTEBOOK_STATE_JS)
    unrun = [i for i, c in enumerate(state["cells"]) if not c["n"]]
    assert not unrun, f"code cells not run: {unrun}"
    assert_no_errors(page)
    return n_code, t_open, t_run


def assert_no_errors(page) -> None:
    state = page.evaluate(NOTEBOOK_STATE_JS)
    errors = [
        f"code cell {i}: {o['type']} {o['ename'] or o['name']}: {o['evalue'] or o['text']}"
        for i, c in enumerate(state["cells"])
        for o in c["outputs"]
        if o["type"] == "error" or (o["type"] == "stream" and o["name"] == "stderr")
    ]
    assert not errors, "errors in the notebook:\n  " + "\n  ".join(errors)
    assert page.locator(".jp-OutputArea-output.jp-mod-error, [data-mime-type='application/vnd.jupyter.stderr']").count() == 0


def exercise_live(page, kind: str) -> list[str]:
    """Move every control of the live widget; the kernel (seqlib) computes each picture."""
    from playwright.sync_api import expect

    root = page.locator(f".jp-NotebookPanel:visible div.{WIDGETS[kind]}").first
    root.scroll_into_view_if_needed()
    root.wait_for(state="visible")
    page.wait_for_function("(el) => el.seqbook && el.seqbook.live", arg=root.element_handle(), timeout=30_000)
    assert root.evaluate("(el) => el.seqbook.data.source") == "seqlib"
    t0 = time.monotonic()
    handle = root.element_handle()

    def drawn_by_kernel(what: str) -> None:
        # the picture after this move is seqlib's, for the setting the controls show
        page.wait_for_function(
            """(el) => { const s = el.seqbook, d = s.data;
                 return d.source === 'seqlib' && Object.keys(s.setting).every((k) =>
                   JSON.stringify(d.setting[k]) === JSON.stringify(s.setting[k])); }""",
            arg=handle, timeout=30_000)

    lines = move_every_control(page, root, kind, after=drawn_by_kernel)
    expect(root.locator(".sb-status")).to_contain_text(LIVE_STATUS, timeout=30_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle'"
    )
    assert root.evaluate("(el) => el.seqbook.data.source") == "seqlib", f"{kind}: the last picture is not the kernel's"
    lines.append(f"{kind}: live, every control recomputed by seqlib in the kernel "
                 f"({root.locator('.sb-status').inner_text()!r}); {time.monotonic() - t0:.1f} s")
    return lines


def _run_in_lab(lab_server, browser, name: str, kinds: list[str]) -> None:
    t_start = time.monotonic()
    origin = lab_server.origin
    audit = bookcheck.PageAudit(url=f"{origin}/lab/tree/chapters", origin=origin)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    audit.attach(context, page)
    stacks: list[str] = []
    page.on("pageerror", lambda exc: stacks.append(f"{time.monotonic() - t_start:.1f}s: {exc.stack}"))
    try:
        page.set_default_timeout(60_000)
        n_code, t_open, t_run = open_and_run_all(page, origin, lab_server.token, name)
        assert n_code >= len(kinds)
        lines = []
        for kind in kinds:
            lines += exercise_live(page, kind)
        # The callbacks ran in the kernel without error (an observer's
        # traceback would appear as an error output of the widget's cell).
        assert_no_errors(page)
    finally:
        context.close()
    total = time.monotonic() - t_start
    print(f"\nJupyterLab: {name} opened in {t_open:.1f} s, {n_code} code cells ran in {t_run:.1f} s; "
          f"browser part {total:.1f} s")
    print(*lines, sep="\n")
    problems = [f"request leaving the machine (blocked): {u}" for u in audit.blocked]
    problems += [f"page error: {e}" for e in stacks]
    assert not problems, "\n  ".join(problems)
    if audit.console_errors:
        # Reported, not failed on: jupyterlab-myst logs every KaTeX error and
        # unresolved cross-reference of the notebook (see building.md, Reading the
        # book as notebooks).
        first_lines = sorted({e.splitlines()[0][:120] for e in audit.console_errors})
        print(f"{len(audit.console_errors)} console errors, first lines:", *first_lines[:8], sep="\n  ")


def test_chapter_runs_live_in_jupyterlab(lab_server, browser):
    _run_in_lab(lab_server, browser, CHAPTER, ["sequence_loss"])


def test_every_widget_live_in_jupyterlab(lab_server, browser):
    _run_in_lab(lab_server, browser, WIDGETS_NOTEBOOK, list(WIDGET_CELLS))
