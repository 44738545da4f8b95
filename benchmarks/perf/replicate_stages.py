"""How close each ground-truth stage of a ``replicate`` run came to the machine's limit:
bench.json entry ``replicate_stages``.

For every (task, profile) whose ground truth trained models in the run, the stage's row in
the run's timings carries the models trained and their floating-point work
(``engine.train_flops``: forward + backward matmul FLOPs per example pass, counted on the
real model, times the example passes). Achieved GFLOP/s = that work / the stage's wall-clock;
the limit is the float32 matmul peak measured at the end of the same run on one thread, times
the workers (each ground-truth worker is single-threaded). The entry keeps earlier tasks' rows
and replaces a task's row when it is measured again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.engine import passes_per_step, train_flops
from benchmarks.fsio import atomic_write_text, locked
from benchmarks.provenance import provenance
from benchmarks.task import RetrainTask, Task

ENTRY = "replicate_stages"


def ground_truth_gflop(task: Task, masks: np.ndarray) -> float | None:
    """Training work of one model per row of ``masks (B, K)`` (the store's pending models),
    in GFLOP; None for a task that trains no engine model (ICL inference, the SAC agents)."""
    if not isinstance(task, RetrainTask) or not len(masks):
        return None
    weights = torch.as_tensor(task.example_weights(masks))
    spec = task.spec.train
    return train_flops(task.training_problem(), weights, spec.steps, spec.batch_size,
                       passes_per_step(spec)) / 1e9


def stage_rows(timings: list[dict], profile: str, workers: int, peak_gflops: float
               ) -> list[dict]:
    """One row per ground-truth stage that trained models and has its work counted."""
    out = []
    for r in timings:
        if r["stage"] != "ground truth" or not r.get("models") or not r.get("gflop"):
            continue
        achieved = r["gflop"] / max(r["wall_s"], 1e-9)
        out.append({"task": r["task"], "profile": profile, "models": int(r["models"]),
                    "gflop": r["gflop"], "wall_s": r["wall_s"], "workers": workers,
                    "achieved_gflops": achieved, "peak_gflops": peak_gflops * workers,
                    "frac_of_peak": achieved / (peak_gflops * workers),
                    "measured": r.get("measured")})
    return out


def record(timings: list[dict], profile: str, workers: int, path: Path) -> list[dict]:
    """Measure the matmul peak now and merge this run's stage rows into ``path``'s entry."""
    if not any(r["stage"] == "ground truth" and r.get("gflop") for r in timings):
        return []
    from benchmarks.perf.engine import matmul_peak_gflops

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        peak = matmul_peak_gflops()
    finally:
        torch.set_num_threads(threads)
    rows = stage_rows(timings, profile, workers, peak)
    with locked(path):
        data = json.loads(path.read_text()) if path.exists() else {}
        old = [r for r in data.get(ENTRY, {}).get("stages", [])
               if (r["task"], r["profile"]) not in {(n["task"], n["profile"]) for n in rows}]
        data[ENTRY] = {"stages": sorted(old + rows, key=lambda r: (r["profile"], r["task"])),
                       "matmul_peak_gflops_1thread": peak, "provenance": provenance()}
        atomic_write_text(path, json.dumps(data, indent=1, default=float))
    return rows
