"""seqlib.widgets: the engine (one front end, kernel and static page) and the gradient-flow widgets.

A widget's picture is drawn by its JavaScript; its numbers come from seqlib
in a kernel (``BookWidget.compute``) and from the JS mirror in a static page.
These tests run in Python and Node.js: the engine's plumbing, the settings'
checks, seqlib's numbers against the chapter's data functions, and the
mirror against seqlib on random settings.  The browser tests
(tests/browser/test_widget_engine.py, test_lab.py) do the rest in Chromium
and JupyterLab.  Sizes and times are printed, never asserted on, except the
page-weight budget.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from seqlib.widgets import WIDGETS, BookWidget, _factories, default_axes, expected_frame, gated_flow_widget
from seqlib.widgets import gradient_flow_widget
from seqlib.widgets._engine import JS_DIR, esm_source, jsonable
from seqlib.widgets._mirror_check import assert_mirror_agrees, compare, run_in_node
from seqlib.widgets.gradient_flow import (FORGET_BIAS_RANGE, GATED_NORM_KEEP, GATED_NORM_RANGE, NORM_KEEP,
                                          NORM_RANGE, RNN_NORM_MAX, T_MAX, forget_bias_stops, gated_flow_data,
                                          gradient_flow_base, gradient_flow_data, norm_stops)

WIDGET_BUDGET = 1_000_000  # bytes of a widget's saved state (the page budget is 1.2 MB)


@pytest.fixture(scope="module")
def gf() -> BookWidget:
    return gradient_flow_widget()


@pytest.fixture(scope="module")
def gated() -> BookWidget:
    return gated_flow_widget()


# --------------------------------------------------------------------------- engine


def test_jsonable_keeps_every_bit():
    x = np.random.default_rng(0).standard_normal(50) * 10.0 ** np.arange(-25, 25)
    back = np.array(json.loads(json.dumps(jsonable(x))))
    assert np.array_equal(back, x)
    assert jsonable(np.array([1.0, np.inf, np.nan])) == [1.0, None, None]
    assert jsonable({"a": np.int64(3), "b": (np.float32(0.5), True)}) == {"a": 3, "b": [0.5, True]}
    with pytest.raises(TypeError, match="cannot send a object"):
        jsonable(object())


def test_esm_is_self_contained():
    """An anywidget ESM runs from a blob: URL: it must import nothing and fetch nothing."""
    for kind, factory in _factories().items():
        src = type(factory()).esm()
        assert src.count("export default") == 2, kind  # the footer, and runtime.js's comment about it
        assert not re.search(r"^\s*import\s", src, re.M), f"{kind}: the ESM imports something"
        code = src.replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace, not a request
        assert not re.search(r"https?://|fetch\(|XMLHttpRequest|import\(", code), f"{kind}: the ESM reaches the network"
        assert "render" in src.splitlines()[-1]


def test_every_js_file_names_what_it_mirrors():
    for path in sorted((JS_DIR / "mirror").glob("*.js")):
        head = path.read_text(encoding="utf-8")[:1500]
        assert "Mirrors" in head and "seqlib." in head, f"{path.name} does not say which seqlib functions it mirrors"


def test_esm_source_errors():
    with pytest.raises(FileNotFoundError, match="no_such_view"):
        esm_source("no_such_view")


def test_handshake_answers_live(gf, monkeypatch):
    sent = []
    monkeypatch.setattr(gf, "send", lambda content, buffers=None: sent.append(content))
    gf._on_msg(gf, {"type": "hello"}, [])
    gf._on_msg(gf, {"type": "other"}, [])
    assert sent == [{"type": "live"}]


def test_setting_change_recomputes_with_seqlib():
    w = gradient_flow_widget()
    assert "ms" not in w.data  # the saved state holds no time: two builds save the same page
    w.setting = {**w.setting, "T": 30, "spectral_norm": 1.5}
    assert w.data["setting"]["T"] == 30 and w.data["source"] == "seqlib" and w.data["ms"] >= 0
    d = gradient_flow_data(1.5, "tanh", 30, None)
    assert np.allclose(np.array(w.data["G"]), d.G, rtol=1e-12, atol=0)
    w.show(truncate=8)
    assert np.array(w.data["G"])[29, 23] == 0 and np.array(w.data["G"])[29, 24] > 0
    with pytest.raises(TypeError, match=r"setting has no keys \['norm'\]"):
        w.show(norm=1.0)


def test_default_axes_and_expected_frame():
    assert default_axes("gradient_flow") == {"spectral_norm": 0.8, "activation": "tanh", "T": 60, "truncate": None}
    d = expected_frame("gradient_flow", spectral_norm=1.0, activation="linear", T=10, truncate=None)
    assert len(d["G"]) == 10 and set(d) == {"G", "delta_norms"}
    with pytest.raises(ValueError, match="kind must be one of"):
        default_axes("nope")
    assert set(WIDGETS) == set(_factories())


def test_state_size_printed(capsys):
    for kind, factory in _factories().items():
        w = factory()
        n = w.state_bytes()
        print(f"{kind}: widget state {n / 1e3:.0f} kB (ESM {len(type(w).esm()) / 1e3:.0f} kB)")
        assert n <= WIDGET_BUDGET, f"{kind}: {n} bytes of state > {WIDGET_BUDGET}"


# --------------------------------------------------------------------------- gradient flow


@pytest.mark.parametrize("bad, match", [
    ({"spectral_norm": 0.0}, "spectral_norm must be positive"),
    ({"spectral_norm": "1"}, "spectral_norm must be a positive number, got str"),
    ({"activation": "gelu"}, "activation must be one of"),
    ({"T": 1}, "T must be an int >= 2, got 1"),
    ({"T": 101}, "T must be at most 100"),
    ({"T": 10, "truncate": 11}, r"truncate must be None or an int in \[1, T\] = \[1, 10\], got 11"),
    ({"truncate": 0}, "truncate must be None or an int >= 1"),
    ({"truncate": True}, "truncate must be None or an int >= 1"),
])
def test_gradient_flow_rejects_bad_settings(gf, bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gf.check_setting({**gf.setting, **bad})
    with pytest.raises(ValueError, match="setting must have exactly the keys"):
        gf.check_setting({"T": 3})


def test_gradient_flow_base_is_the_data_functions(gf):
    """The widget's numbers for a setting are gradient_flow_data's, and a shorter T is a prefix of the draws."""
    for s in ({"spectral_norm": 0.8, "activation": "tanh", "T": 60, "truncate": None},
              {"spectral_norm": 1.7, "activation": "relu", "T": 23, "truncate": 5}):
        got = gf.expected(**s)
        d = gradient_flow_data(s["spectral_norm"], s["activation"], s["T"], s["truncate"])
        assert np.array_equal(np.array(got["G"]), d.G)
        assert np.array_equal(np.array(got["delta_norms"]), d.delta_norms)
    short, long = gradient_flow_base(10), gradient_flow_base(T_MAX)
    assert np.array_equal(short["x"], long["x"][:, :10]) and np.array_equal(short["dh"], long["dh"][:, :10])
    assert np.linalg.norm(long["W_hh_unit"], 2) == pytest.approx(1.0, abs=1e-14)


def test_gradient_flow_default_makes_the_point(gf):
    """Opens on vanishing (tanh, ||W_hh|| = 0.8); ||W_hh|| = 1.5, a stop of the same slider, grows instead."""
    s = gf.setting
    G = np.array(gf.data["G"])
    assert s["activation"] == "tanh" and s["spectral_norm"] < 1
    assert G[-1, 0] / G[-1, -1] < 1e-4
    up = np.array(gf.expected(spectral_norm=1.5)["G"])
    assert up[-1, 0] / up[-1, -1] > 10
    assert s["spectral_norm"] in norm_stops() and 1.5 in norm_stops()


# --------------------------------------------------------------------------- the sliders' stops


@pytest.mark.parametrize("gated", [False, True], ids=["gradient_flow", "gated_flow"])
def test_norm_stops(gated):
    """One source of the norm slider's stops: log-spaced, 3 digits, the chapters' values among them."""
    stops = norm_stops(gated)
    lo, hi = GATED_NORM_RANGE if gated else NORM_RANGE
    assert (stops[0], stops[-1]) == (lo, hi)
    assert list(stops) == sorted(set(stops)) and len(stops) == (37 if gated else 33)
    assert all(float(f"{v:.3g}") == v for v in stops)
    assert set(GATED_NORM_KEEP if gated else NORM_KEEP) <= set(stops)
    assert 1.0 in stops and (RNN_NORM_MAX in stops if gated else 0.8 in stops and 1.5 in stops)
    # a kept value replaces its neighbour: still roughly log-spaced, no stop next to another
    steps = np.diff(np.log(stops)) / (np.log(hi / lo) / (len(stops) - 1))
    assert steps.min() > 0.5 and steps.max() < 1.5
    assert norm_stops(gated) == stops  # the same list every time


def test_forget_bias_stops():
    stops = forget_bias_stops()
    assert (stops[0], stops[-1]) == FORGET_BIAS_RANGE and len(stops) == 33
    assert np.array_equal(np.diff(stops), np.full(32, 0.25)) and {-3.0, 1.0, 1.5, 5.0} <= set(stops)


def test_widgets_defaults_are_stops(gf, gated):
    assert gf.setting["spectral_norm"] in norm_stops() and gf.options["norm_stops"] == list(norm_stops())
    assert gated.setting["spectral_norm"] in norm_stops(True)
    assert gated.options["norm_stops"] == list(norm_stops(True))
    assert gated.setting["forget_bias"] in forget_bias_stops()
    assert gated.options["forget_bias_stops"] == list(forget_bias_stops())


_CONTROLS_RUNNER = r"""
const job = J;
const out = {}, ctl = {};
for (const c of VIEW.controls(job.options, job.setting)) {
  if (!c.values) continue;
  let vals = c.values;
  out[c.name] = vals;
  ctl[c.name] = { values: () => vals, setValues: (v) => { vals = v; } };
}
if (job.options.gated) {  // the vanilla RNN: its stops, and a larger norm clamped to its last one
  const rnn = VIEW.normalize(Object.assign({}, job.setting, { arch: "rnn", spectral_norm: 4 }), job.options);
  VIEW.refresh(ctl, rnn, job.options);
  out.rnn_norm = ctl.spectral_norm.values();
  out.rnn_clamped = rnn.spectral_norm;
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.parametrize("kind", ["gradient_flow", "gated_flow"])
def test_page_slider_stops_are_seqlib_stops(kind, tmp_path):
    """The page's sliders offer exactly seqlib's stops (run in Node): the values the prose names are on them."""
    w = _factories()[kind]()
    out = json.loads(run_in_node(w, _CONTROLS_RUNNER, {"setting": w.setting, "options": w.options}, tmp_path))
    gated = kind == "gated_flow"
    assert out["spectral_norm"] == list(norm_stops(gated))
    if gated:
        assert out["forget_bias"] == list(forget_bias_stops())
        assert out["rnn_norm"] == [v for v in norm_stops(True) if v <= RNN_NORM_MAX]
        assert out["rnn_norm"][-1] == out["rnn_clamped"] == RNN_NORM_MAX


def test_random_settings_cover_the_controls(gf):
    ss = gf.random_settings(np.random.default_rng(1), 40)
    norms = [s["spectral_norm"] for s in ss]
    assert min(norms) < 0.7 and max(norms) > 1.5
    assert {s["activation"] for s in ss} == {"tanh", "relu", "linear", "sigmoid"}
    assert any(s["truncate"] is None for s in ss) and any(s["truncate"] == 1 or s["truncate"] for s in ss)
    assert max(s["T"] for s in ss) == T_MAX
    for s in ss:
        gf.check_setting(s)


@pytest.mark.parametrize("kind", ["gradient_flow", "gated_flow"])
def test_mirror_agrees_with_seqlib(kind, tmp_path):
    """The page's JavaScript (run in Node) gives seqlib's numbers on 20 random settings, to 1e-9."""
    w = _factories()[kind]()
    worst = assert_mirror_agrees(w, w.random_settings(np.random.default_rng(7), 20), tmp_path)
    print(f"{kind}: Node mirror vs seqlib, 20 settings, worst relative error {worst:.1e}")


def test_compare_catches_differences():
    assert compare({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]})[0] == 0
    assert compare({"a": [1.0, 2.0 + 1e-6]}, {"a": [1.0, 2.0]})[0] == pytest.approx(5e-7)
    with pytest.raises(AssertionError, match="lacks keys"):
        compare({}, {"a": 1.0})
    with pytest.raises(AssertionError, match="2 items, seqlib 3"):
        compare([1, 2], [1, 2, 3])
    with pytest.raises(AssertionError, match="page gives None"):
        compare(None, 1.0)


# --------------------------------------------------------------------------- gated flow


def test_gated_flow_widget_numbers(gated):
    assert gated.setting == {"arch": "lstm", "spectral_norm": 1.0, "forget_bias": 1.0, "T": 60, "truncate": None}
    for s in ({"arch": "lstm", "forget_bias": -2.0}, {"arch": "gru"}, {"arch": "rnn"}):
        got = gated.expected(**s)
        d = gated_flow_data(s["arch"], 1.0, s.get("forget_bias", 1.0), None)
        assert np.allclose(np.array(got["G"]), d.G, rtol=1e-10, atol=0)
        if s["arch"] != "rnn":
            assert got["gate_mean"] == pytest.approx(d.gate_mean, rel=1e-12)
    # the RNN ignores the forget-gate bias; the LSTM does not
    assert gated.expected(arch="rnn", forget_bias=0.0) == gated.expected(arch="rnn", forget_bias=3.0)
    assert gated.expected(arch="lstm", forget_bias=0.0) != gated.expected(arch="lstm", forget_bias=3.0)
    with pytest.raises(ValueError, match="arch must be one of"):
        gated.check_setting({**gated.setting, "arch": "cnn"})
    with pytest.raises(ValueError, match="forget_bias must be a finite real number"):
        gated.check_setting({**gated.setting, "forget_bias": float("nan")})


def test_package_data_lists_the_scripts():
    """pyproject's package-data covers every script the ESMs read (else the wheel lacks them)."""
    import tomllib

    from fnmatch import fnmatchcase

    conf = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    data = conf["tool"]["setuptools"]["package-data"]
    packages = conf["tool"]["setuptools"]["packages"]

    def is_package(pkg: str) -> bool:
        if isinstance(packages, list):  # an explicit list
            return pkg in packages
        # discovery: the script folders have no __init__.py, so they are found only as namespace packages
        find = packages["find"]
        return (find.get("namespaces", True)
                and any(fnmatchcase(pkg, pat) for pat in find.get("include", ["*"]))
                and not any(fnmatchcase(pkg, pat) for pat in find.get("exclude", [])))

    for path in JS_DIR.rglob("*"):
        if path.suffix in (".js", ".css"):
            pkg = ".".join(path.relative_to(JS_DIR.parents[2]).parent.parts)
            assert is_package(pkg) and f"*{path.suffix}" in data.get(pkg, []), \
                f"{path.name}: package {pkg} or its *{path.suffix} is not in pyproject's packages/package-data"
