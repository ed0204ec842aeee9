"""Which PyTorch CPU code path does each benchmark row time?  The profiler's operator names, per row.

The appendix "How fast is seqlib?" compares seqlib with PyTorch in two
benchmarks: ``bench/bench_rnn.py`` (``nn.RNN`` + ``nn.Linear`` +
``nn.CrossEntropyLoss``) and ``bench/bench_gated.py`` (``nn.LSTM``,
``nn.GRU``).  PyTorch does not run every one of those modules the same way:
on the CPU it may hand a whole layer to oneDNN's fused RNN kernel
(``aten::mkldnn_rnn_layer`` forward, ``aten::mkldnn_rnn_layer_backward``
backward), or it may run its generic ATen loop, one ``aten::addmm`` (or
``aten::linear``) and the cell's elementwise operators per time step,
differentiated by autograd step by step.  This script builds every row's
module exactly as the benchmark does (same sizes, dtypes, seed and thread
count), runs one step to warm up and one under ``torch.profiler``, and
records the names and counts of the ``aten::`` operators that step ran and
of the autograd nodes its backward evaluated.  A row's ``path`` is
``"onednn"`` if ``aten::mkldnn_rnn_layer`` ran, else ``"generic"``.

It also records the BLAS each library was built with: torch's
``torch.__config__.show()`` (its ``BLAS_INFO`` and the MKL and oneDNN
versions it names) and numpy's BLAS (``bench_rnn.machine_info``, from
``numpy.show_config`` and the OpenBLAS library at run time).

It times nothing.  Like the benchmarks it runs PyTorch in a separate
interpreter that has torch (``--torch PYTHON``); torch is never a dependency
of the book.  ``--save FILE`` writes JSON (``bench/results-torch-paths.json``
is such a run):

    python3 -m venv /work/torchenv
    /work/torchenv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/torch_paths.py \\
        --torch /work/torchenv/bin/python --save bench/results-torch-paths.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rows() -> list[dict]:
    """Every PyTorch row of the two benchmarks: which bench, cell, size and dtype."""
    sys.path.insert(0, str(HERE))
    from bench_gated import CELLS, DTYPES as GDTYPES, SIZES as GSIZES  # noqa: E402
    from bench_rnn import DTYPES, SIZES_MODEL  # noqa: E402

    import numpy as np

    rows = [{"bench": "rnn", "cell": "rnn", "size": list(s), "dtype": np.dtype(dt).name}
            for s in SIZES_MODEL for dt in DTYPES]
    rows += [{"bench": "gated", "cell": cell, "size": list(s), "dtype": dt}
             for cell in CELLS for s in GSIZES for dt in GDTYPES]
    return rows


# ---------------------------------------------------------------------------
# the worker: runs in the interpreter that has torch, imports nothing of the book
# ---------------------------------------------------------------------------
def _step(row: dict, torch):
    """The row's module and one training step, built as its benchmark builds them."""
    tdt = getattr(torch, row["dtype"])
    torch.manual_seed(0)
    if row["bench"] == "rnn":  # as bench_rnn.torch_worker
        B, T, D, H, V = row["size"]
        rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).to(tdt)
        lin = torch.nn.Linear(H, V).to(tdt)
        loss_fn = torch.nn.CrossEntropyLoss()
        x = torch.randn(B, T, D, dtype=tdt)
        y = torch.randint(0, V, (B * T,))
        params = list(rnn.parameters()) + list(lin.parameters())

        def step() -> None:
            for q in params:
                q.grad = None
            out, _ = rnn(x)
            loss_fn(lin(out).reshape(B * T, V), y).backward()
    else:  # as bench_gated.torch_worker
        B, T, D, H = row["size"]
        mod = (torch.nn.LSTM if row["cell"] == "lstm" else torch.nn.GRU)(D, H, batch_first=True).to(tdt)
        x = torch.randn(B, T, D, dtype=tdt, requires_grad=True)
        dh = torch.randn(B, T, H, dtype=tdt)
        params = list(mod.parameters())

        def step() -> None:
            for q in params:
                q.grad = None
            x.grad = None
            out, _ = mod(x)
            out.backward(dh)
    return step


def _torch_config(torch) -> dict:
    """BLAS_INFO, the MKL and oneDNN lines and the CPU capability of ``torch.__config__.show()``."""
    text = torch.__config__.show()
    out = {"blas_info": None, "mkl": None, "onednn": None, "cpu_capability": None}
    m = re.search(r"BLAS_INFO=([^,\s]+)", text)
    out["blas_info"] = m.group(1) if m else None
    for line in text.splitlines():
        line = line.strip(" -")
        if "Math Kernel Library" in line:
            out["mkl"] = line
        elif line.startswith("Intel(R) MKL-DNN") or "oneDNN" in line:
            out["onednn"] = line
        elif line.startswith("CPU capability usage"):
            out["cpu_capability"] = line.split(":", 1)[1].strip()
    return out


def worker(rows: list[dict]) -> dict:
    import torch
    from torch.profiler import ProfilerActivity, profile

    # the thread count of the benchmarks (bench_rnn: all cores; bench_gated: OPENBLAS_NUM_THREADS or all cores)
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1)))
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(),
           "mkldnn_enabled": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
           "config": _torch_config(torch), "rows": []}
    for row in rows:
        step = _step(row, torch)
        step()  # warm-up
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        aten: dict[str, int] = {}
        nodes: dict[str, int] = {}
        for ev in prof.events():
            name = ev.name
            if name.startswith("aten::"):
                aten[name] = aten.get(name, 0) + 1
            elif name.startswith("autograd::engine::evaluate_function: "):
                node = name.split(": ", 1)[1]
                nodes[node] = nodes.get(node, 0) + 1
        path = "onednn" if "aten::mkldnn_rnn_layer" in aten else "generic"
        res["rows"].append({**row, "path": path, "aten_ops": dict(sorted(aten.items())),
                            "autograd_nodes": dict(sorted(nodes.items()))})
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch", metavar="PYTHON", help="an interpreter that has torch (default: this one)")
    ap.add_argument("--save", metavar="FILE", help="write JSON (e.g. bench/results-torch-paths.json)")
    ap.add_argument("--worker", metavar="ROWS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    sys.path.insert(0, str(HERE.parent))  # the repository root, for bench_rnn's import of seqlib
    from bench_rnn import machine_info  # noqa: E402

    rows = _rows()
    cmd = [args.torch or sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"torch worker failed ({cmd[0]}):\n{proc.stderr}")
    res = json.loads(proc.stdout)

    print(f"torch {res['torch']}, {res['threads']} threads; BLAS_INFO={res['config']['blas_info']}")
    print(f"{'bench':6s} {'cell':5s} {'size':24s} {'dtype':8s} {'path':8s} {'mm':>4s} {'addmm':>6s}  RNN operators")
    for r in res["rows"]:
        ops = r["aten_ops"]
        rnn_ops = [k for k in ops if re.search(r"rnn|lstm|gru|mkldnn", k)]
        print(f"{r['bench']:6s} {r['cell']:5s} {str(tuple(r['size'])):24s} {r['dtype']:8s} {r['path']:8s} "
              f"{ops.get('aten::mm', 0):4d} {ops.get('aten::addmm', 0):6d}  {', '.join(rnn_ops)}")
    if args.save:
        out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine_info(),
               "command": " ".join(["python"] + [a for a in sys.argv if a]),
               "what": "operator names and counts of one profiled training step per PyTorch row of "
                       "bench_rnn.py and bench_gated.py (after one warm-up step); nothing is timed",
               **res}
        Path(args.save).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
