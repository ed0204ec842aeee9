"""The probe book: the pages the widget tests build as a one-page-each book (``bookcheck.build_probe_book``).

One build serves both modules that need one (a Sphinx build of the book's
configuration is the slow part):

* ``probe/probe.md``: the ipywidgets probe of tests/browser/test_widgets.py;
* ``attention_probe.md``: one cell showing the attention-decoding widget for a
  small seeded model (``MODEL_CODE``), of tests/browser/test_attention_widget.py,
  which runs the same code headless for seqlib's numbers.
"""

from __future__ import annotations

from pathlib import Path

PROBE = Path(__file__).parent / "probe" / "probe.md"

#: The cell of the page; run here too (headless) for seqlib's numbers.
MODEL_CODE = '''\
from seqlib.attention import g2p
from seqlib.widgets import attention_decoding_widget

cfg = g2p.g2p_config(D=8, H_enc=8, H=8, A=8)
params = {k: 3.0 * v for k, v in g2p.init_g2p(cfg, rng=0).items()}
WORDS = ["CAT", "XYLOPHONE", "DON'T", "KNIGHT", "A", "SUPERCALIFRAGILISTICEX"]
w = attention_decoding_widget((params, cfg), words=WORDS, beam_width=3, max_len=12)
'''


def attention_probe_text() -> str:
    import jupytext
    import nbformat.v4 as nbf

    cells = [nbf.new_markdown_cell("# Attention-decoding widget probe\n\nNot part of the book: "
                                   "`tests/browser/test_attention_widget.py` reads this page."),
             nbf.new_code_cell(MODEL_CODE + "w", metadata={"tags": ["hide-input"]})]
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return jupytext.writes(nbf.new_notebook(cells=cells, metadata={"kernelspec": kernel}), fmt="md:myst")


def probe_pages() -> dict[str, str]:
    """File name -> MyST text of every page of the probe book; the first is its root."""
    return {"probe.md": PROBE.read_text(encoding="utf-8"), "attention_probe.md": attention_probe_text()}
