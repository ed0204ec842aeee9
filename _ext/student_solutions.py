"""Drop gated solutions (``solution-start`` ... ``solution-end``) when ``hide_solutions`` is on.

sphinx-exercise 1.2.1 hides a ``{solution}`` block with ``hide_solutions:
true``, but for the gated form, which spans notebook cells, it drops only the
start: every cell up to ``{solution-end}`` stays in the page, and the leftover
end node stops the HTML writer ("departing unknown node type:
solution_end_node").  This extension (used by the student edition,
tools/student_edition.py) makes ``solution-start`` leave a marker when
solutions are hidden, and removes everything from the marker to its
``solution-end``.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node

logger = logging.getLogger(__name__)


class hidden_solution_start(nodes.Element):
    """Where a hidden gated solution starts (removed with its content before writing)."""


class HiddenSolutionStart(SolutionStartDirective):
    def run(self):
        out = super().run()  # registers the gate with sphinx-exercise
        if self.env.app.config.hide_solutions:
            return [hidden_solution_start()]
        return out


class DropHiddenSolutions(SphinxTransform):
    default_priority = 10  # before sphinx-exercise's own transforms

    def apply(self, **kwargs) -> None:
        for start in list(self.document.findall(hidden_solution_start)):
            parent = start.parent
            i = parent.index(start)
            end = None
            for j in range(i + 1, len(parent)):
                if isinstance(parent[j], solution_end_node) or any(parent[j].findall(solution_end_node)):
                    end = j
                    break
            if end is None:
                logger.warning("a hidden solution-start has no solution-end after it in the same section",
                               location=start)
                parent.remove(start)
                continue
            for child in list(parent.children[i:end + 1]):
                parent.remove(child)


def setup(app: Sphinx) -> dict:
    app.add_node(hidden_solution_start, html=(lambda self, node: None, lambda self, node: None))
    app.add_directive("solution-start", HiddenSolutionStart, override=True)
    app.add_transform(DropHiddenSolutions)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
