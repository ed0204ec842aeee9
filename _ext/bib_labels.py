"""Author-year labels in the bibliography, as the text cites ("Elman, 1990").

sphinxcontrib-bibtex cites author-year in the text (``bibtex_reference_style:
author_year``) but labels the bibliography with the formatting style's label
style, "alpha" for the default "unsrt": "[Elm90]", which a reader cannot match
with "[Elman, 1990]".  This extension registers with pybtex

* the label style ``authoryear``: "Elman, 1990", "Cho and Bengio, 2014",
  "Rumelhart et al., 1986" (the text's author_year form), with "a", "b"
  after the year when two entries would get the same label;
* the formatting style ``authoryear``: pybtex's "unsrt" entries, these labels,
  sorted by author, year and title,

and the book selects it with ``bibtex_default_style: authoryear``.
"""

from __future__ import annotations

from collections import Counter
from string import ascii_lowercase

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

from sphinx.application import Sphinx


def _last_names(person) -> str:
    """Last name(s) as written, without braces or LaTeX accents' markup."""
    text = " ".join(person.prelast_names + person.last_names)
    return text.replace("{", "").replace("}", "")


def author_year(entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    year = entry.fields.get("year", "n.d.")
    if not persons:
        who = entry.fields.get("organization") or entry.fields.get("title", "Anon.").split(":")[0]
    elif len(persons) == 1:
        who = _last_names(persons[0])
    elif len(persons) == 2:
        who = f"{_last_names(persons[0])} and {_last_names(persons[1])}"
    else:
        who = f"{_last_names(persons[0])} et al."
    return f"{who}, {year}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        counts = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if counts[label] > 1:
                yield label + ascii_lowercase[seen[label]]
                seen[label] += 1
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app: Sphinx) -> dict:
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
