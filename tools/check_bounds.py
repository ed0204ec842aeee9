"""List glued numbers that the prose quotes as bounds but that print on the wrong side.

"differ by at most {glue:text}`err:.0e`" is false when the value is 3.07e-13
and ``.0e`` prints "3e-13".  This reads every glued value from the build's
execution cache (``.jupyter_cache``: run ``make book`` first), finds each
``{glue:text}`` that follows a bound word ("at most", "within", "below", "at
least", "above", ...) in ``chapters/*.md``, and prints those whose printed
number is below the value for an upper bound or above it for a lower bound;
and each range of two glues ("{glue:text}`lo` to {glue:text}`hi`", "lo–hi",
"between lo and hi"; not one said to be "about") whose printed ends lie
inside the values, so that the range as printed does not hold them; and each
glue in a table column headed "lowest"/"min" ("highest"/"max") printed above
(below) its value.
Glue such a value through ``seqlib.round_bound``.  A review aid, not a test:
the words are matched without grammar, so "never deviates by more than" is
listed though its number is an upper bound; read each line.

    .venv/bin/python tools/check_bounds.py
"""
import re, json, math
from pathlib import Path
from jupyter_cache import get_cache
cache = get_cache(".jupyter_cache")
vals = {}
for rec in cache.list_cache_records():
    nb = cache.get_cache_bundle(rec.pk).nb
    for c in nb.cells:
        for o in c.get("outputs", []):
            for mime, v in o.get("data", {}).items():
                if mime.startswith("application/papermill.record/text/plain"):
                    name = o.get("metadata", {}).get("scrapbook", {}).get("name")
                    if name: vals[name] = v
print(f"{len(vals)} glued values read from .jupyter_cache")
pat = re.compile(r"(at least|at most|no more than|no less than|under|below|above|over|more than|less than|within|up to|exceeds?)\s+(?:\$[^$]*\$\s*)?\{glue:text\}`([^`:]+)(?::([^`]+))?`", re.I)
for f in sorted(Path("chapters").glob("*.md")):
    s = f.read_text()
    for m in pat.finditer(s):
        word, name, fmt = m.group(1).lower(), m.group(2), m.group(3) or ""
        if name not in vals: continue
        try: x = float(eval(vals[name]))
        except Exception: continue
        try: shown = float(format(x, fmt).replace(",", "").rstrip("%")) if fmt else x
        except Exception: continue
        if fmt.endswith("%"): shown = shown/100
        lower = word in ("at least","no less than","above","over","more than","exceeds","exceed")
        upper = word in ("at most","no more than","under","below","less than","within","up to")
        bad = (lower and shown > x) or (upper and shown < x)
        if bad:
            line = s[:m.start()].count("\n")+1
            print(f"{f.name}:{line}: '{word}' {name}={x!r} shown {shown!r} ({fmt})")

rng = re.compile(r"(about\s+|between\s+)?\{glue:text\}`([^`:]+)(?::([^`]+))?`(\s*(?:to|–|and)\s*)\{glue:text\}`([^`:]+)(?::([^`]+))?`")


def _shown(name, fmt):
    x = float(eval(vals[name]))
    s = format(x, fmt) if fmt else repr(x)
    y = float(s.replace(",", "").replace("\u2212", "-").rstrip("%")) / (100 if fmt.endswith("%") else 1)
    return x, y


for f in sorted(Path("chapters").glob("*.md")):
    s = f.read_text()
    for m in rng.finditer(s):
        between, a, fa, sep, b, fb = m.groups()
        if (between or "").startswith("about"):
            continue  # an approximate range, said so
        if "and" in sep and not (between or "").startswith("between"):
            continue
        if a not in vals or b not in vals:
            continue
        try:
            (xa, ya), (xb, yb) = _shown(a, fa or ""), _shown(b, fb or "")
        except Exception:
            continue
        if xa > xb:
            continue  # not an ascending range
        if ya > xa or yb < xb:
            line = s[:m.start()].count("\n") + 1
            print(f"{f.name}:{line}: range {a}={xa!r} shown {ya!r}, {b}={xb!r} shown {yb!r}")

# Tables: a column headed "lowest"/"min" ("highest"/"max") holds lower
# (upper) bounds, so each glued number in it must print on that side.
_LO = re.compile(r"\b(lowest|min|minimum|smallest)\b", re.I)
_HI = re.compile(r"\b(highest|max|maximum|largest)\b", re.I)
_GLUE = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]+))?`")


def _cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


for f in sorted(Path("chapters").glob("*.md")):
    lines = f.read_text().splitlines()
    for i in range(len(lines) - 1):
        if not (lines[i].lstrip().startswith("|")
                and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1])):
            continue
        head = _cells(lines[i])
        sides = {k: ("lower" if _LO.search(h) else "upper" if _HI.search(h)
                     else None) for k, h in enumerate(head)}
        if not any(sides.values()):
            continue
        j = i + 2
        while j < len(lines) and lines[j].lstrip().startswith("|"):
            for k, cell in enumerate(_cells(lines[j])):
                side = sides.get(k)
                for m in _GLUE.finditer(cell) if side else ():
                    name, fmt = m.group(1), m.group(2) or ""
                    if name not in vals:
                        continue
                    try:
                        x, y = _shown(name, fmt)
                    except Exception:
                        continue
                    if (side == "lower" and y > x) or (side == "upper" and y < x):
                        print(f"{f.name}:{j + 1}: table column '{head[k]}' "
                              f"{name}={x!r} shown {y!r} ({fmt})")
            j += 1
