"""Where the bits diverge, measured: the same quick ground truth and surrogate fits under the
settings a user meets -> ``bench.json`` entry ``reproducibility``.

Each condition runs the same commands in a fresh cache (``ground-truth`` of one task, then
``run`` of a few methods). With the math-library pins on (the default, ``common/pins.py``):
two workers, one worker with one or two math threads (``OMP_NUM_THREADS``), the per-model loop
engine. Without them (``TASKATTR_NATIVE_MATH=1``): every library on this CPU's native path, which
is what differs from a machine with other instruction sets. The reference runs on the
libraries' default thread count (every core), as the README's command does; the method fits
then run on one math thread whatever that count (``device.math_threads``), so the thread
conditions check that a fit's bits do not follow it. Reported per condition: the fraction of
stored values identical to the reference's, the largest difference, the same for the methods'
scores and predictions, every metric row of each method, and the ground-truth wall-clock (the
cost of a setting). Two spreads of each metric over
conditions: ``spread_pinned`` (what a pinned user can meet; 0 where the pins hold) and
``spread_native`` (pinned vs native: the measured stand-in for machine-to-machine noise where
the pins do not hold, used as the claims' noise floor).
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

from benchmarks.common.pins import OPT_OUT
from benchmarks.common.provenance import bit_provenance, provenance
from benchmarks.perf.engine import write_entry

REFERENCE = "pinned · 2 workers"
CONDITIONS = {  # name -> (environment, command-line arguments of both commands)
    REFERENCE: ({}, ("--workers", "2")),
    "pinned · 1 worker": ({}, ("--workers", "1")),
    "pinned · 1 worker, 1 thread": ({"OMP_NUM_THREADS": "1"}, ("--workers", "1")),
    "pinned · 1 worker, 2 threads": ({"OMP_NUM_THREADS": "2"}, ("--workers", "1")),
    "pinned · loop engine": ({}, ("--workers", "2", "--engine", "loop")),
    "native · 2 workers": ({OPT_OUT: "1"}, ("--workers", "2")),
    "native · 1 worker, 2 threads": ({OPT_OUT: "1", "OMP_NUM_THREADS": "2"},
                                     ("--workers", "1")),
}
METHODS = ("linear_surrogate", "kernel_sm", "influence")  # numpy/scipy BLAS fits; a torch one
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _condition(task: str, profile: str, extra: dict, cli_args: tuple, root: Path) -> dict:
    """Ground truth + method runs in a fresh cache under ``extra`` environment settings."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}  # library defaults
    env |= {"TASKATTR_CACHE": str(root), **extra}
    cli = [sys.executable, "-m", "benchmarks"]
    args = ["--task", task, "--profile", profile, *cli_args]  # --engine keys the task
    t0 = time.perf_counter()
    subprocess.run([*cli, "ground-truth", *args], env=env, check=True, capture_output=True)
    gt_s = time.perf_counter() - t0
    metrics, fits = {}, []
    for method in METHODS:
        subprocess.run([*cli, "run", *args, "--method", method], env=env, check=True,
                       capture_output=True)
        (path,) = (root / "results").glob(f"*/{method}-*/record.json")
        record = json.loads(path.read_text())
        for row in record["rows"]:
            metrics[f"{method} {row['metric']}/{row['variant']}/{row['split']}"] = row["value"]
        fits += [np.load(path.parent / n).ravel() for n in ("scores.npy", "predictions.npy")]
    (store,) = (p for p in (root / "gt").iterdir() if not p.name.startswith("."))
    env = json.loads((store / "manifest.json").read_text())["bits"]["env"]  # as the run saw it
    return {"gt_s": gt_s, "metrics": metrics, "loss": np.load(store / "loss.npy"), "env": env,
            "fits": np.concatenate(fits)}


def _same_metrics(a: dict, b: dict) -> bool:
    """Every metric row bit-equal (NaN equal to NaN)."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)


def _spread(table: dict, names: list[str]) -> dict[str, float]:
    """Largest minus smallest value of each metric row over the conditions ``names``."""
    rows = table[REFERENCE]["metrics"]
    return {k: float(np.ptp([table[n]["metrics"][k] for n in names])) for k in rows
            if all(np.isfinite(table[n]["metrics"][k]) for n in names)}


def run(task: str, profile: str) -> dict:
    """Every condition side by side; stored values compared with the reference condition's."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (extra, cli_args)) in enumerate(CONDITIONS.items()):
            out[name] = _condition(task, profile, extra, cli_args, Path(tmp) / str(i))
    ref = out[REFERENCE]
    table = {name: {"identical_fraction": float((r["loss"] == ref["loss"]).mean()),
                    "max_abs_diff": float(np.abs(r["loss"] - ref["loss"]).max()),
                    "fits_identical_fraction": float((r["fits"] == ref["fits"]).mean()),
                    "fits_max_abs_diff": float(np.abs(r["fits"] - ref["fits"]).max()),
                    "metrics_identical": _same_metrics(r["metrics"], ref["metrics"]),
                    "metrics": r["metrics"], "env": r["env"], "gt_s": r["gt_s"],
                    "gt_cost_vs_reference": r["gt_s"] / ref["gt_s"]}
             for name, r in out.items()}
    pinned = [n for n in CONDITIONS if n.startswith("pinned")]
    return {"task": task, "profile": profile, "reference": REFERENCE, "conditions": table,
            "spread_pinned": _spread(table, pinned), "spread_native": _spread(table, list(table)),
            "machine_bits": bit_provenance(), "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.repro", description=__doc__)
    ap.add_argument("--task", default="modular-addition")
    ap.add_argument("--profile", default="quick")
    args = ap.parse_args(argv)
    entry = run(args.task, args.profile)
    write_entry("reproducibility", entry)
    keys = ("identical_fraction", "max_abs_diff", "fits_identical_fraction", "gt_s")
    print(json.dumps({n: {k: c[k] for k in keys}
                      for n, c in entry["conditions"].items()}, indent=1))


if __name__ == "__main__":
    main()
