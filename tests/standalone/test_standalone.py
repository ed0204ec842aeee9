"""The chapter notebooks offered for download run on their own (``_ext/standalone_notebook.py``).

Run after the build (``make test-standalone``, part of ``make test``):

* every chapter's downloaded ``.ipynb`` (``_build/html/_sources/chapters/``)
  is converted: no MyST role, directive or label target is left in its
  markdown, no ``myst_nb`` in its code, the macros it uses are defined in it,
  every labelled ``{math}`` block of the chapter carries its number, every
  ``{exercise}`` is a headed section, and its first code cell ``%pip
  install``\\ s the seqlib wheel that the build publishes in
  ``_build/html/wheels/``;
* every chapter's download is run with nbclient in a fresh virtual
  environment that held nothing but ipykernel (so that it is a Jupyter
  kernel) until a download's install cell, run once first with the wheel
  named by ``SEQLIB_WHEEL``, installed the rest; each notebook runs in a
  temporary folder with no repository, with only the wheel put next to it
  as a reader would: every cell must run without error, and every text
  output and the number of figures must equal what the book's build
  printed.  The pages that read committed results read the wheel's copies
  (seqlib.results).  pip reaches PyPI for numpy, matplotlib, ipywidgets and
  anywidget at the book's pins.  Two notebooks at a time (pytest-xdist).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
DOWNLOADS = REPO / "_build" / "html" / "_sources" / "chapters"
WHEELS = REPO / "_build" / "html" / "wheels"
CHAPTERS = sorted((REPO / "chapters").glob("*.md"))

MYST_LEFT = re.compile(r"\{[a-z][\w:-]*\}`|^\s*(`{3,}|:{3,})\{[\w:-]+\}|^\s*\([\w:.-]+\)=\s*$", re.M)


def _version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _wheel() -> Path:
    wheel = WHEELS / f"seqlib-{_version()}-py3-none-any.whl"
    if not wheel.is_file():
        pytest.fail(f"No seqlib wheel at {wheel}: build the book first (make book).", pytrace=False)
    return wheel


def _download(stem: str) -> nbformat.NotebookNode:
    path = DOWNLOADS / f"{stem}.ipynb"
    if not path.is_file():
        pytest.fail(f"No downloaded notebook at {path}: build the book first (make book).", pytrace=False)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def test_wheel_is_seqlib_at_the_books_version():
    wheel = _wheel()
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "seqlib/__init__.py" in names and "seqlib/widgets/__init__.py" in names
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert f"Version: {_version()}" in meta
    src = {p.relative_to(REPO).as_posix() for p in (REPO / "seqlib").rglob("*.py")}
    assert src <= set(names), f"modules missing from the wheel: {sorted(src - set(names))}"


def test_wheel_carries_the_committed_results():
    """Every result seqlib.results names is in the wheel (seqlib/_results/), byte for byte the repository's."""
    import seqlib
    from seqlib.book.committed import packaged_path

    with zipfile.ZipFile(_wheel()) as z:
        for name, rel in seqlib.RESULTS.items():
            member = f"seqlib/_results/{packaged_path(rel)}"
            assert member in z.namelist(), f"result {name!r} ({rel}) is not in the wheel"
            assert z.read(member) == (REPO / rel).read_bytes(), f"the wheel's {member} differs from {rel}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_download_is_converted(chapter: Path):
    nb = _download(chapter.stem)
    text = chapter.read_text(encoding="utf-8")
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = [c for c in nb.cells if c.cell_type == "code"]

    left = [md[max(0, m.start() - 30):m.end() + 30] for m in MYST_LEFT.finditer(md)]
    assert not left, f"MyST left in the markdown: {left[:5]}"
    assert not any("myst_nb" in c.source for c in code), "myst_nb is still imported"

    install = code[0].source
    assert "%pip install" in install and f"seqlib-{_version()}-py3-none-any.whl" in install
    for pin in ("numpy==", "matplotlib==", "ipywidgets=="):
        assert pin in install, f"the install cell does not pin {pin[:-2]}"
    assert "def glue(" in install

    used = set(re.findall(r"\\(bsf)\b", md))
    intro = nb.cells[0].source
    for macro in used:
        assert f"\\newcommand{{\\{macro}}}" in intro, f"\\{macro} is used but not defined in the notebook"

    labels = re.findall(r"^```\{math\}\s*\n:label:\s*(\S+)", text, flags=re.M)
    tags = re.findall(r"\\tag\{([\d.]+)\}", md)
    assert len(tags) >= len(labels), f"{len(labels)} labelled equations, {len(tags)} numbered in the notebook"
    exercises = len(re.findall(r"^`{3,}\{exercise\}", text, flags=re.M))
    # (numbered "Exercise 1.2" in numbered chapters; the appendices' are unnumbered)
    assert len(re.findall(r"^#### Exercise\b", md, flags=re.M)) == exercises
    glued = len(re.findall(r"\{glue:(text|md)\}`", text))
    if glued:
        assert "{glue" not in md


def _pngs(cell) -> int:
    return sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))


def _text_outputs(cell) -> list[tuple]:
    """The cell's text outputs; a stream's pieces joined (the book merges them, nb_merge_streams)."""
    out: list[tuple] = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            if out and out[-1][:2] == ("stream", o.name):
                out[-1] = ("stream", o.name, out[-1][2] + o.text)
            else:
                out.append(("stream", o.name, o.text))
        elif o.output_type in ("execute_result", "display_data") and "text/plain" in o.data \
                and "image/png" not in o.data and "application/vnd.jupyter.widget-view+json" not in o.data:
            out.append(("data", o.data["text/plain"]))
        elif o.output_type == "error":
            out.append(("error", o.ename, o.evalue))
    # a stream's trailing newlines are not compared: ipykernel has delivered print()'s "\n" after
    # the cell's idle message (see the root conftest.py's output_digest)
    return [("stream", o[1], o[2].rstrip("\n")) if o[0] == "stream" else o for o in out]


def _install_cell_run(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook holding only ``nb``'s first code cell (the install cell), outputs cleared."""
    cell = next(c for c in nb.cells if c.cell_type == "code")
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    out.cells = [nbformat.v4.new_code_cell(cell.source)]
    return out


@pytest.fixture(scope="session")
def fresh_kernel(tmp_path_factory, worker_id):
    """A venv with only ipykernel (pinned as in constraints.txt) and a kernelspec pointing at it,
    into which a downloaded notebook's install cell, run once here, has installed the rest.

    One venv for the session, shared by pytest-xdist's workers (made by the first under a file
    lock), so that the notebooks' own install cells, which then find everything installed, never
    write to it at the same time.
    """
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    root = shared / "fresh"
    py = root / "venv" / "bin" / "python"
    with open(shared / "fresh.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "ready").is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            base = getattr(sys, "_base_executable", None) or shutil.which("python3")
            subprocess.run([base, "-m", "venv", str(root / "venv")], check=True)
            pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (REPO / "constraints.txt").read_text(), flags=re.M))
            subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            f"ipykernel=={pins['ipykernel']}"], check=True)
            probe = subprocess.run([str(py), "-c", "import numpy"], capture_output=True)
            assert probe.returncode != 0, "the fresh venv already has numpy: not a fresh environment"
            kernels = root / "kernels" / "fresh"
            kernels.mkdir(parents=True)
            (kernels / "kernel.json").write_text(json.dumps({
                "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "fresh venv", "language": "python"}))
            # The install cell as a reader with the wheel elsewhere runs it: SEQLIB_WHEEL names it.
            elsewhere = root / "wheels"
            elsewhere.mkdir()
            shutil.copy2(_wheel(), elsewhere)
            folder = root / "first"
            folder.mkdir()
            nbformat.write(_install_cell_run(_download(CHAPTERS[0].stem)), folder / "install.ipynb")
            env = {**_kernel_env(), "SEQLIB_WHEEL": str(elsewhere / _wheel().name)}
            _execute(root / "kernels", folder / "install.ipynb", folder / "ran.ipynb", folder, env)
            ran = nbformat.read(folder / "ran.ipynb", as_version=4)
            errors = [o for o in ran.cells[0].outputs if o.output_type == "error"]
            assert not errors, errors
            for module in ("seqlib", "numpy", "matplotlib", "ipywidgets", "anywidget"):
                probe = subprocess.run([str(py), "-c", f"import {module}"], capture_output=True, text=True)
                assert probe.returncode == 0, f"the install cell did not install {module}: {probe.stderr[-500:]}"
            (root / "ready").write_text("")
    return root / "kernels", py


_RUN_NOTEBOOK = """
import sys, nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
kernel_dirs, src, dst, folder = sys.argv[1:5]
nb = nbformat.read(src, as_version=4)
km = KernelManager(kernel_name="fresh", kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernel_dirs]))
NotebookClient(nb, km=km, timeout=600, allow_errors=True,
               resources={"metadata": {"path": folder}}).execute()
nbformat.write(nb, dst)
"""


def _kernel_env() -> dict[str, str]:
    """Our environment without our venv or PYTHONPATH: the kernel inherits none of them."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}


def _execute(kernel_dirs: Path, src: Path, dst: Path, folder: Path, env: dict[str, str]) -> None:
    """Run the notebook ``src`` in the fresh kernel with ``folder`` as its working directory.
    nbclient runs in a child process, so its kernel-client sockets close with that process."""
    run = subprocess.run([sys.executable, "-c", _RUN_NOTEBOOK, str(kernel_dirs), str(src), str(dst), str(folder)],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, f"nbclient failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_downloaded_chapter_runs_in_a_fresh_venv(chapter: Path, fresh_kernel, tmp_path):
    kernel_dirs, py = fresh_kernel
    stem = chapter.stem
    reference = _download(stem)
    folder = tmp_path / "Downloads"          # a reader's download folder: the notebook and the wheel
    folder.mkdir()
    shutil.copy2(DOWNLOADS / f"{stem}.ipynb", folder)
    shutil.copy2(_wheel(), folder)
    src = folder / f"{stem}.ipynb"
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, src)

    ran_path = tmp_path / "ran.ipynb"
    _execute(kernel_dirs, src, ran_path, folder, _kernel_env())
    nb = nbformat.read(ran_path, as_version=4)

    where = subprocess.run([str(py), "-c", "import seqlib; print(seqlib.__file__)"],
                           capture_output=True, text=True, check=True, cwd=folder, env=_kernel_env()).stdout.strip()
    assert str(REPO) not in where and "site-packages" in where, f"seqlib imported from {where}"

    ran = [c for c in nb.cells if c.cell_type == "code"]
    ref = [c for c in reference.cells if c.cell_type == "code"]
    assert len(ran) == len(ref)
    errors = [(i, o) for i, c in enumerate(ran) for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    # Every cell after the install cell prints what the book's build printed, and draws as many
    # figures.  (A remove-cell cell's outputs are not the build's to compare: myst-nb keeps only
    # its glue records; an error in it is caught above.)
    for i, (a, b) in enumerate(zip(ref[1:], ran[1:]), start=1):
        if "remove-cell" in a.get("metadata", {}).get("tags", []):
            continue
        assert _text_outputs(a) == _text_outputs(b), f"cell {i} printed differently:\n{b.source[:300]}"
        assert _pngs(a) == _pngs(b), f"cell {i} drew {_pngs(b)} figures, the build {_pngs(a)}:\n{b.source[:300]}"
