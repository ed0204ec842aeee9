"""_ext/standalone_notebook.py on a small notebook, with a fake resolver (no Sphinx build needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("standalone_notebook", REPO / "_ext" / "standalone_notebook.py")
sn = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = sn
_spec.loader.exec_module(sn)


def _refs(**over) -> sn.Refs:
    base = dict(
        docname="chapters/x",
        glue={"loss": {"data": {"text/plain": "0.123456"}}, "md": {"data": {"text/markdown": "**bold**"}}},
        equation={"eq_a": "(2.1)", "eq_b": "(2.2)"}.get,
        numref=lambda label, text: {"fig-a": "Fig. 2.3"}.get(label),
        ref={"sec-a": "Notation"}.get,
        doc={"rnn": "Recurrent Neural Networks"}.get,  # notebook_download resolves the path
        exercise={"ex-a": "2.4"}.get,
        cite={"elman1990": ("Elman", "1990"), "bengio1994": ("Bengio et al.", "1994")}.get,
        reference_entry=lambda k: f"entry {k}",
        figure_caption={"fig-a": "Fig. 2.3"}.get,
        macros={"bsf": ["\\boldsymbol{\\mathsf{#1}}", 1]},
    )
    base.update(over)
    return sn.Refs(**base)


NB = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "jupytext": {"x": 1}},
    "cells": [
        {"cell_type": "markdown", "metadata": {"tags": ["remove-cell"]}, "source": "---\nmath: x\n---"},
        {"cell_type": "markdown", "metadata": {}, "source": (
            "(sec-x)=\n# Title\n\n% a comment\nLoss {glue:text}`loss:.2f`, {glue:md}`md`; see {eq}`eq_a`,\n"
            "{numref}`fig-a`, {ref}`sec-a`, {doc}`rnn` and {cite}`elman1990,bengio1994`; {cite:t}`elman1990`.\n\n"
            "```{math}\n:label: eq_b\n\\bsf{h}_t = f(\\bsf{a}_t)\n```\n\n"
            "```{math}\na \\\\ b\n```\n\n"
            "````{exercise} A title\n:label: ex-a\n\nDo it.\n\n```python\nx = 1\n```\n````\n\n"
            "```{solution} ex-a\n:class: dropdown\n\nDone.\n```\n\n"
            "```{note}\nMind {eq}`eq_b`.\n```\n\n"
            "```{rubric} Summary\n```\n\n"
            ":::{container} seq-screen-only\nA slider sets $x$.\n:::\n")},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "execution_count": 1, "outputs": [],
         "source": "from myst_nb import glue"},
        {"cell_type": "code", "metadata": {"tags": ["hide-input"], "mystnb": {"figure": {"name": "fig-a", "caption": "A plot of {eq}`eq_a`."}}},
         "execution_count": 2, "outputs": [], "source": "from myst_nb import glue\nglue('x', 1, display=False)"},
    ],
}


def _convert(refs=None):
    refs = refs or _refs()
    nb = sn.convert(NB, refs, title="Title", version="0.1.0", wheel="seqlib-0.1.0-py3-none-any.whl",
                    wheel_url="https://example.org/wheels/seqlib-0.1.0-py3-none-any.whl",
                    pins=["numpy==2.4.6"], book_url="https://example.org")
    return nb, refs


def test_install_cell_and_macros_come_first():
    nb, _ = _convert()
    assert "\\newcommand{\\bsf}[1]{\\boldsymbol{\\mathsf{#1}}}" in nb["cells"][0]["source"]
    install = nb["cells"][1]["source"]
    assert '%pip install --quiet "{SEQLIB_WHEEL}" numpy==2.4.6' in install
    assert 'pathlib.Path("seqlib-0.1.0-py3-none-any.whl")' in install
    assert "SEQLIB_WHEEL" in install and "https://example.org/wheels/seqlib-0.1.0-py3-none-any.whl" in install
    assert "def glue(name, variable, display=True)" in install
    assert "jupytext" not in nb["metadata"]


def test_myst_becomes_plain_markdown():
    nb, refs = _convert()
    md = nb["cells"][2]["source"]
    assert not refs.problems, refs.problems
    assert "(sec-x)=" not in md and "% a comment" not in md
    assert "Loss 0.12, **bold**; see (2.1)," in md
    assert "Fig. 2.3, Notation, *Recurrent Neural Networks*" in md
    assert "[Elman, 1990; Bengio et al., 1994]; Elman [1990]." in md
    assert "$$\n\\bsf{h}_t = f(\\bsf{a}_t) \\tag{2.2}\n$$" in md
    assert "$$\n\\begin{split}a \\\\ b\\end{split}\n$$" in md
    assert "#### Exercise 2.4 (A title)\n\nDo it.\n\n```python\nx = 1\n```" in md
    assert "#### Solution to Exercise 2.4\n\nDone." in md
    assert "> **Note**\n>\n> Mind (2.2)." in md
    assert "#### Summary" in md                       # a rubric: an unnumbered heading
    assert "A slider sets $x$." in md and ":::" not in md  # a container: its text, unwrapped
    assert "{" + "eq}" not in md and "```{" not in md


def test_code_cells_lose_myst_nb_and_keep_hidden_cells_collapsed():
    nb, _ = _convert()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) == 2  # install cell + the glue cell; the import-only cell is dropped
    assert code[1]["source"] == "glue('x', 1, display=False)"
    assert code[1]["metadata"]["jupyter"]["source_hidden"] is True


def test_figure_caption_follows_the_figure_and_references_are_listed():
    nb, _ = _convert()
    sources = [c["source"] for c in nb["cells"]]
    assert "**Fig. 2.3** A plot of (2.1)." in sources
    assert sources[-1] == "## References\n\n- entry elman1990\n- entry bengio1994"


def test_unresolved_references_are_reported_not_hidden():
    _, refs = _convert(_refs(equation={}.get, cite={}.get))
    assert any("equation 'eq_a'" in p for p in refs.problems)
    assert any("citation 'elman1990'" in p for p in refs.problems)
