"""The engine of the book's widgets: one front end for a live kernel and a static page.

Every widget is an :class:`anywidget.AnyWidget` (:class:`BookWidget`) whose
JavaScript (``_esm``) draws its picture as SVG/DOM with real text.  The same
script runs in two places:

* **live** (JupyterLab, Notebook, VS Code): when a control moves, the script
  sends the new ``setting`` to the kernel; :meth:`BookWidget.compute` runs
  seqlib and sends back ``data``, which the script draws.  The script learns
  that a kernel is there by a handshake: it sends ``{"type": "hello"}`` and the
  kernel answers ``{"type": "live"}``.
* **static** (the HTML book, no kernel): no answer comes, so the script
  computes ``data`` itself, with the JavaScript mirror of seqlib in
  ``seqlib/widgets/js/mirror/`` (each file names the seqlib functions it
  mirrors; ``tests/browser/test_widget_engine.py`` checks it against seqlib on
  random settings), from ``base``: the seeded draws and weights the widget was
  built with, saved in the page with the widget's state.

The picture first shown in either place is the ``data`` seqlib computed for
the default setting when the notebook ran.

Traits (all synced):

``kind``     the widget's name (``"gradient_flow"``, ``"gated_flow"``...): CSS class ``seqlib-<kind>``
``setting``  the controls' values, a dict of JSON values
``data``     the numbers of the picture for ``data["setting"]``; seqlib's in a kernel
``base``     what the page needs to compute any setting (seeded draws, weights)
``options``  the view's fixed options (ranges of the controls, labels)

The ESM is assembled from plain script files (no ``import``: an anywidget's
ESM runs from a ``blob:`` URL, so it cannot import relative files) in the
order ``runtime.js``, the mirrors a view needs, the view, and a footer that
exports ``render``.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import math
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

import anywidget
import numpy as np
import traitlets

__all__ = ["BookWidget", "headless", "jsonable", "packed", "esm_source", "JS_DIR", "CSS_CLASS_PREFIX"]

JS_DIR = Path(__file__).resolve().parent / "js"
_ESM_CACHE: dict[tuple[str, tuple[str, ...]], str] = {}
CSS_CLASS_PREFIX = "seqlib-"


def jsonable(x: Any) -> Any:
    """``x`` as plain JSON values: arrays become nested lists of float, non-finite floats ``None``.

    Floats keep every bit (Python writes the shortest repr that round-trips,
    and JavaScript's ``JSON.parse`` reads it back to the same double), so the
    page computes with exactly the numbers seqlib used.
    """
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "iub":
            return x.tolist()
        return jsonable(x.astype(np.float64).tolist())
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if x is None or isinstance(x, str):
        return x
    raise TypeError(f"cannot send a {type(x).__name__} to the page: {x!r}")


_HEADLESS: contextvars.ContextVar[bool] = contextvars.ContextVar("seqlib_widgets_headless", default=False)


@contextlib.contextmanager
def headless() -> Any:
    """Widgets built inside this block open no comm: Python objects for their numbers only.

    A widget built in a notebook opens a comm, and the executed notebook saves
    its state in the page even if it is never displayed (and even after
    ``close()``: nbclient keeps every model it saw).  A hidden cell that only
    needs a widget's numbers (``w.expected(...)``, ``w.setting``) builds it here:

    >>> from seqlib.widgets import gradient_flow_widget, headless
    >>> with headless():
    ...     w = gradient_flow_widget()
    >>> w.comm is None
    True
    """
    token = _HEADLESS.set(True)
    try:
        yield
    finally:
        _HEADLESS.reset(token)


def packed(a: Any) -> dict[str, Any]:
    """A float array for the page in 8 bytes a number (base64 of little-endian float64), not ~20 characters.

    ``{"__f64__": "<base64>", "shape": [...]}``; the page reads it back with
    ``unpackF64`` (js/runtime.js) into a flat Float64Array, bit for bit.
    """
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float64)).astype("<f8", copy=False)
    return {"__f64__": base64.b64encode(arr.tobytes()).decode("ascii"), "shape": list(arr.shape)}


@functools.lru_cache(maxsize=None)
def _read(name: str) -> str:
    path = JS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (widget script)")
    return path.read_text(encoding="utf-8")


def esm_source(view: str, mirrors: tuple[str, ...] = ()) -> str:
    """The ESM of a widget: runtime, mirrors, the view ``js/views/<view>.js``, and ``export default``.

    The view file must define ``const VIEW = {...}`` (see ``js/runtime.js``).
    """
    parts = [_read("runtime.js")]
    parts += [_read(f"mirror/{m}.js") for m in mirrors]
    parts.append(_read(f"views/{view}.js"))
    parts.append("export default { render: (ctx) => mountWidget(ctx, VIEW) };\n")
    return "\n".join(parts)


class BookWidget(anywidget.AnyWidget):
    """Base class of the book's widgets: seqlib computes in a kernel, the mirror in a static page.

    A subclass sets ``VIEW`` (the file ``js/views/<VIEW>.js``) and ``MIRRORS``
    (files of ``js/mirror/``), and implements :meth:`compute` (seqlib's numbers
    for one setting, as JSON values, with the same keys as the view's
    JavaScript ``compute``) and :meth:`check_setting`.

    Parameters
    ----------
    setting : dict
        The initial setting (every control's value).
    base : dict
        What the page needs to compute other settings; JSON values.
    options : dict
        Fixed options of the view (ranges, labels); JSON values.
    """

    VIEW: ClassVar[str] = ""
    #: the widget's name (``kind`` trait, CSS class ``seqlib-<kind>``); VIEW if empty
    KIND: ClassVar[str] = ""
    MIRRORS: ClassVar[tuple[str, ...]] = ()

    kind = traitlets.Unicode("").tag(sync=True)
    setting = traitlets.Dict().tag(sync=True)
    data = traitlets.Dict().tag(sync=True)
    base = traitlets.Dict().tag(sync=True)
    options = traitlets.Dict().tag(sync=True)

    @classmethod
    def esm(cls) -> str:
        """The class's ESM, assembled once per view; also sets the class's ``_esm`` and ``_css``.

        anywidget turns ``_esm``/``_css`` into synced traits of each instance
        (on a subclass it makes for it); those are left alone.
        """
        if not cls.VIEW:
            raise TypeError(f"{cls.__name__} sets no VIEW (the file js/views/<VIEW>.js)")
        key = (cls.VIEW, tuple(cls.MIRRORS))
        if key not in _ESM_CACHE:
            _ESM_CACHE[key] = esm_source(cls.VIEW, cls.MIRRORS)
        if not isinstance(getattr(cls, "_esm", None), (str, traitlets.TraitType)):
            cls._esm = _ESM_CACHE[key]
            cls._css = _read("widget.css")
        return _ESM_CACHE[key]

    def __init__(self, setting: Mapping[str, Any], *, base: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        type(self).esm()
        #: ``base`` as given (numpy arrays kept), for :meth:`compute`
        self.base_arrays: dict[str, Any] = dict(base or {})
        setting = self.check_setting(dict(setting))
        super().__init__(kind=self.KIND or self.VIEW, setting=jsonable(setting), base=jsonable(dict(base or {})),
                         options=jsonable(dict(options or {})), **kwargs)
        self.data = self._compute_data(setting)
        self.observe(self._on_setting, names="setting")
        self.on_msg(self._on_msg)

    # -- to implement ---------------------------------------------------------------------------------------
    def check_setting(self, setting: dict[str, Any]) -> dict[str, Any]:
        """``setting`` checked and completed (raise ValueError naming the bad key)."""
        raise NotImplementedError

    def compute(self, setting: Mapping[str, Any]) -> dict[str, Any]:
        """seqlib's numbers of the picture for ``setting`` (a checked setting)."""
        raise NotImplementedError

    # -- engine ---------------------------------------------------------------------------------------------
    def _compute_data(self, setting: dict[str, Any], *, timed: bool = False) -> dict[str, Any]:
        """seqlib's numbers for ``setting`` with the setting and their source; with ``timed``, the ms it took.

        The first data, saved in the page, carries no time, so that two builds save the same state.
        """
        t0 = time.perf_counter()
        out = jsonable(self.compute(setting))
        out["setting"] = jsonable(setting)
        out["source"] = "seqlib"
        if timed:
            out["ms"] = round((time.perf_counter() - t0) * 1e3, 1)
        return out

    def _on_setting(self, change: dict) -> None:
        self.data = self._compute_data(self.check_setting(dict(change["new"])), timed=True)

    def open(self) -> None:
        """Open the comm to the front end, unless built inside :func:`headless`."""
        if _HEADLESS.get():
            return
        super().open()

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "hello":
            self.send({"type": "live"})

    def expected(self, **setting: Any) -> dict[str, Any]:
        """seqlib's numbers for ``setting`` (the current setting updated by the keywords), as JSON values."""
        s = self.check_setting({**self.setting, **setting})
        return jsonable(self.compute(s))

    def show(self, **setting: Any) -> "BookWidget":
        """Move the widget to ``setting`` (any value, not only the controls' stops); seqlib recomputes.

        Returns the widget, so that ``w.show(T=45)`` as a cell's last line displays it.
        """
        unknown = set(setting) - set(self.setting)
        if unknown:
            raise TypeError(f"setting has no keys {sorted(unknown)}; the keys are {sorted(self.setting)}")
        self.setting = jsonable(self.check_setting({**self.setting, **setting}))
        return self

    def __repr__(self) -> str:
        # deterministic (no memory address): a notebook's text output of the widget cell is the same
        # in two executions (the chapter tests run with --compare-build, conftest.py)
        return f"{type(self).__name__}({self.setting!r})"

    def state_bytes(self) -> int:
        """Bytes of this widget's state as saved in a page (JSON of every synced trait)."""
        import json

        state = self.get_state()
        return len(json.dumps({k: v for k, v in state.items() if not isinstance(v, (bytes, memoryview))}))
