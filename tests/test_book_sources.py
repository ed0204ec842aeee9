"""Consistency checks on the book's sources (no kernel, no build)."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.md"))


def _config_macros() -> dict[str, str]:
    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    macros = cfg["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    return {"\\" + name: body for name, (body, _nargs) in macros.items()}


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_defines_the_book_macros_for_jupyterlab(path: Path) -> None:
    """JupyterLab (jupyterlab-myst) reads math macros only from front matter in the
    first markdown cell; it must match _config.yml and be hidden in the HTML book."""
    nb = jupytext.read(path)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    assert "remove-cell" in first.metadata.get("tags", []), f"{path.name}: the front-matter cell must be tagged remove-cell"
    body = first.source.strip()
    assert body.startswith("---") and body.endswith("---"), f"{path.name}: first markdown cell is not MyST front matter"
    front = yaml.safe_load(body.strip("-"))
    macros = front["math"]
    expected = _config_macros()
    for name, body in expected.items():
        assert macros.get(name) == body, f"{path.name}: {name} is {macros.get(name)!r}, _config.yml has {body!r}"


def test_toc_lists_every_chapter() -> None:
    toc = (REPO / "_toc.yml").read_text()
    missing = [p.stem for p in CHAPTERS if f"chapters/{p.stem}" not in toc]
    assert not missing, f"chapters not in _toc.yml: {missing}"
