"""The engine on a GPU: ``python -m benchmarks.perf.engine_gpu`` -> bench.json ``engine_gpu``.

For the quick and the paper modular-addition models, side by side on one GPU in one process:
the batched engine (B models in one vmap'd kernel stream) against one model at a time (the
loop engine, the peer-style way to retrain), in models per second, and the batched engine's
achieved GFLOP/s against the GPU's float32 matmul peak measured in the same run (with TF32
off and on). Steps are capped (``--steps``) so the entry measures throughput, not the
published 37k-step training; the entry records the steps run. On a machine without CUDA it
says so and writes nothing (the entry stays absent: never estimated).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

import benchmarks.common.device as devices
from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.fill import model_seed, open_store
from benchmarks.perf.engine import matmul_peak_gflops, write_entry
from benchmarks.training.engine import train, train_flops
from leaderboard.build import BENCH_JSON


def gpu_matmul_peak_gflops(dev: torch.device, n: int = 8192, reps: int = 20,
                           tf32: bool = False) -> float:
    """``matmul_peak_gflops`` on ``dev`` with TensorFloat-32 allowed or not."""
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        return matmul_peak_gflops(n, reps, dev)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved


def _timed(fn: Callable[[], object], dev: torch.device) -> float:
    devices.synchronize(dev)
    t0 = time.perf_counter()
    fn()
    devices.synchronize(dev)
    return time.perf_counter() - t0


def run_one(profile: str, n_models: int, steps: int, dev: torch.device) -> dict:
    """Batched vs loop on ``dev`` for modular addition at ``profile``, ``steps`` steps."""
    task = make_task("modular-addition", profile, {"train.steps": steps})
    store = open_store(task)
    idx = store.rows.index("fit")[:n_models]
    seeds = [model_seed(task, store.rows, j, 0) for j in idx]
    weights = torch.as_tensor(task.example_weights(store.rows.masks[idx])).float()
    problem, spec = task.training_problem(), task.spec.train
    train(problem, weights[:1], seeds[:1], spec, "batched", device=dev)  # warm-up, data moved
    secs = {way: _timed(lambda w=way: train(problem, weights, seeds, spec, w, device=dev), dev)
            for way in ("loop", "batched")}
    flops = train_flops(problem, weights, steps, spec.batch_size)
    return {"task": task.label, "profile": profile, "n_models": len(seeds), "steps": steps,
            "models_per_s": {k: len(seeds) / v for k, v in secs.items()},
            "speedup_vs_loop": secs["loop"] / secs["batched"],
            "achieved_gflops": {k: flops / v / 1e9 for k, v in secs.items()},
            "seconds": secs}


def run(n_models: int, steps: int, tf32: bool) -> dict | None:
    if not torch.cuda.is_available():
        print("engine_gpu: skipped, no CUDA on this machine (the entry is left as it was)")
        return None
    dev = devices.configure("cuda", tf32)
    peak = {"fp32": gpu_matmul_peak_gflops(dev), "tf32": gpu_matmul_peak_gflops(dev, tf32=True)}
    models = [run_one(p, n_models, steps, dev) for p in ("quick", "paper")]
    for m in models:
        m["frac_of_peak"] = m["achieved_gflops"]["batched"] / peak["tf32" if tf32 else "fp32"]
    return {"device": torch.cuda.get_device_name(dev), "tf32": tf32,
            "matmul_peak_gflops": peak, "models": models, "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.engine_gpu",
                                 description=__doc__)
    ap.add_argument("--n-models", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200, help="steps per model (throughput)")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--out", type=Path, default=BENCH_JSON)
    args = ap.parse_args(argv)
    entry = run(args.n_models, args.steps, args.tf32)
    if entry is not None:
        write_entry("engine_gpu", entry, args.out)
        print(json.dumps({m["profile"]: {k: m[k] for k in ("models_per_s", "speedup_vs_loop",
                                                           "frac_of_peak")}
                          for m in entry["models"]}, indent=1, default=float))


if __name__ == "__main__":
    main()
