"""Where the bits diverge, measured: the same quick ground truth and surrogate fits under the
settings a user meets -> ``bench.json`` entry ``reproducibility``.

Each condition runs the same commands in a fresh cache (``ground-truth`` of one task, then
``run`` of a few methods): the default, two torch threads per worker, and the math-library pins
(``ATEN_CPU_CAPABILITY=avx2``, ``MKL_CBWR=AVX2``, ``OPENBLAS_CORETYPE=Haswell``), which force the
AVX2 code paths every x86-64 machine of this kind has. Reported per condition: the fraction of
stored values identical to the default's, the largest difference, each method's LDS, and the
ground-truth wall-clock (the cost of a pin). The spread of LDS over conditions is the measured
stand-in for machine-to-machine noise on this machine kind.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.perf.engine import write_entry
from benchmarks.provenance import bit_provenance, provenance

PINS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}
CONDITIONS = {
    "default": {},
    "torch threads 2": {"TASKATTR_BENCH_THREADS": "2"},
    "ATEN avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "MKL_CBWR AVX2": {"MKL_CBWR": "AVX2"},
    "all pins": PINS,
}
METHODS = ("linear_surrogate", "kernel_sm")


def _condition(task: str, profile: str, extra: dict, root: Path, workers: int) -> dict:
    """Ground truth + method runs in a fresh cache under ``extra`` environment settings."""
    env = {**os.environ, "TASKATTR_CACHE": str(root), "OMP_NUM_THREADS": "1", **extra}
    cli = [sys.executable, "-m", "benchmarks"]
    args = ["--task", task, "--profile", profile]
    t0 = time.perf_counter()
    threads = extra.get("TASKATTR_BENCH_THREADS")
    gt = [*cli, "ground-truth", *args, "--workers", str(workers)]
    if threads:  # one in-process worker with that many torch threads
        env["OMP_NUM_THREADS"] = threads
        gt = [*cli, "ground-truth", *args, "--workers", "1"]
    subprocess.run(gt, env=env, check=True, capture_output=True)
    gt_s = time.perf_counter() - t0
    lds = {}
    for method in METHODS:
        subprocess.run([*cli, "run", *args, "--method", method], env=env, check=True,
                       capture_output=True)
        (record,) = (root / "results").glob(f"*/{method}-*/record.json")
        rows = json.loads(record.read_text())["rows"]
        lds[method] = next(r["value"] for r in rows
                           if (r["metric"], r["variant"]) == ("lds", "spearman"))
    (store,) = (root / "gt").iterdir()
    return {"gt_s": gt_s, "lds": lds, "loss": np.load(store / "loss.npy")}


def run(task: str, profile: str, workers: int) -> dict:
    """Every condition side by side; values compared with the default condition's."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in CONDITIONS.items():
            out[name] = _condition(task, profile, extra, Path(tmp) / name.replace(" ", "_"),
                                   workers)
    ref = out["default"]["loss"]
    table = {name: {"identical_fraction": float((r["loss"] == ref).mean()),
                    "max_abs_diff": float(np.abs(r["loss"] - ref).max()),
                    "lds": r["lds"], "gt_s": r["gt_s"],
                    "gt_cost_vs_default": r["gt_s"] / out["default"]["gt_s"]}
             for name, r in out.items()}
    spread = {m: float(np.ptp([r["lds"][m] for r in table.values()])) for m in METHODS}
    return {"task": task, "profile": profile, "workers": workers, "conditions": table,
            "lds_spread": spread, "machine_bits": bit_provenance(), "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.repro", description=__doc__)
    ap.add_argument("--task", default="modular-addition")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    entry = run(args.task, args.profile, args.workers)
    write_entry("reproducibility", entry)
    print(json.dumps({k: entry[k] for k in ("conditions", "lds_spread")}, indent=1))


if __name__ == "__main__":
    main()
