"""The published modular-addition setting on one GPU, in a fixed time budget:
``python -m benchmarks.perf.paper_gpu --budget-s 480 --out DIR``.

The paper profile of ``modular-addition`` is the published setting (p = 97, K = 25 blocks of
20, a 2-layer pre-LN transformer of width 128, AdamW with weight decay 1, batch 512, 50
subsets of 22 of 25 units with 40 fitting / 10 held out, plus the full set and LOO: 76
models of 37k steps). This driver
1. calibrates the batched engine's steps per second on one chunk of models (``--calibrate``
   steps, after a warm-up that moves the data to the device),
2. takes the largest step count that fits ``GT_SHARE`` of the budget (at most the published
   37k) and says which it is,
3. trains that ground truth on the device and runs ``METHODS`` on it (KernelSM, the linear
   surrogate, the CG influence function and LOO, the rows the paper compares),
4. writes ``DIR/results.csv`` (``profile=paper``; the task key carries the steps run, the
   bit provenance the device) and ``DIR/run.json`` (calibration, steps, timings, device).

The store lives in ``DIR/cache``, so ``DIR`` is everything a device run brings back. Nothing
here estimates a result: a setting that does not fit is run at fewer steps and says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

import benchmarks.common.device as devices
from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.fsio import atomic_write_text
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.fill import model_seed, open_store, run_ground_truth
from benchmarks.runner import run_cell
from benchmarks.training.engine import train
from leaderboard import build

TASK = "modular-addition"
GT_SHARE = 0.75  # of the budget for ground truth; the rest for the methods and writing
METHODS = (("kernel_sm", {}), ("linear_surrogate", {"fit_type": "ridge"}),
           ("influence", {"solver": "cg"}), ("loo", {}))
PAPER_LDS = {"kernel_sm": 0.80, "linear_surrogate": 0.58, "influence": 0.55}


def calibrate(profile: str, steps: int, dev: torch.device) -> dict:
    """Seconds per step of one chunk (``execution.batch`` models) of the batched engine."""
    task = make_task(TASK, profile)
    store = open_store(task)
    batch = task.spec.execution.batch
    rows = list(range(min(batch, len(store.rows.names))))
    seeds = [model_seed(task, store.rows, j, 0) for j in rows]
    weights = torch.as_tensor(task.example_weights(store.rows.masks[rows]))
    spec, problem = task.spec.train, task.training_problem()
    warm = replace(spec, steps=2)
    train(problem, weights, seeds, warm, "batched", device=dev)  # warm-up: data on the device
    timed = replace(spec, steps=steps)
    devices.synchronize(dev)
    t0 = time.perf_counter()
    train(problem, weights, seeds, timed, "batched", device=dev)
    devices.synchronize(dev)
    per_step = (time.perf_counter() - t0) / steps
    n_models = int(store.done.size)
    return {"chunk_models": len(rows), "s_per_step": per_step, "n_models": n_models,
            "chunks": math.ceil(n_models / batch), "published_steps": spec.steps}


def fitting_steps(cal: dict, budget_s: float) -> int:
    """The most steps (<= published) whose ground truth fits ``GT_SHARE`` of the budget."""
    fit = int(GT_SHARE * budget_s / (cal["chunks"] * cal["s_per_step"]))
    return max(1, min(cal["published_steps"], fit))


def run(profile: str, budget_s: float, out: Path, calibrate_steps: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    os.environ["TASKATTR_CACHE"] = str(out / "cache")
    dev = devices.current()
    cal = calibrate(profile, calibrate_steps, dev)
    steps = fitting_steps(cal, budget_s)
    print(f"{TASK} ({profile}) on {dev}: {cal['s_per_step'] * 1e3:.2f} ms/step per chunk of "
          f"{cal['chunk_models']} models; {steps} of {cal['published_steps']} steps fit")
    task = make_task(TASK, profile, {"train.steps": steps})
    t0 = time.perf_counter()
    store = open_store(task)
    run_ground_truth(task, store)
    gt_s = time.perf_counter() - t0
    records, lds = [], {}
    for name, params in METHODS:
        method = make_method(name, params)
        record = run_cell(task, store, method)
        records.append(record)
        lds[method.display] = next((r["value"] for r in record["rows"] if r["metric"] == "lds"
                                    and r["variant"] == "spearman"), float("nan"))
    build.write(records, [], out)
    summary = {"task": task.label, "task_key": task.spec.key, "profile": profile,
               "device": str(dev), "steps_run": steps, "calibration": cal,
               "budget_s": budget_s, "ground_truth_s": gt_s,
               "total_s": time.perf_counter() - t0, "lds": lds, "paper_lds": PAPER_LDS,
               "provenance": provenance(), "device_bits": devices.bits(dev)}
    atomic_write_text(out / "run.json", json.dumps(summary, indent=1, default=float))
    print(json.dumps({"steps_run": steps, "lds": lds}, indent=1, default=float))
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.paper_gpu", description=__doc__)
    ap.add_argument("--budget-s", type=float, default=480.0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--profile", default="paper", help="tiny: a check of the driver itself")
    ap.add_argument("--calibrate", type=int, default=50, help="steps timed in calibration")
    ap.add_argument("--device", default="auto", metavar="auto|cpu|cuda[:i]")
    ap.add_argument("--tf32", action="store_true")
    args = ap.parse_args(argv)
    devices.configure(args.device, args.tf32)
    run(args.profile, args.budget_s, args.out, args.calibrate)


if __name__ == "__main__":
    main()
