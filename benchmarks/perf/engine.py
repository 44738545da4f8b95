"""Performance benchmark of ground-truth training: ``python -m benchmarks.perf.engine``.

Trains the same N quick-profile subset models three ways, side by side in one process:
(a) peer-style, one model at a time with a shuffled DataLoader of minibatches (the authors'
scripts and dattri retrain this way), run for the same number of example passes;
(b) the loop engine (one model at a time, full-batch tensors); (c) the batched engine (vmap over
stacked parameters). Also measures the machine's matmul peak in the same run, and records models
per second, ratios, peak memory and the batched engine's fraction of that peak in
``leaderboard/bench.json`` under ``"engine"`` (other benchmarks add their own entries).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch.utils.data import DataLoader, TensorDataset

import benchmarks.common.device as devices
from benchmarks.api.task import make_task
from benchmarks.common.fsio import atomic_write_text, locked
from benchmarks.common.provenance import provenance
from benchmarks.common.spec import TrainSpec
from benchmarks.groundtruth.fill import model_seed, open_store
from benchmarks.training.engine import Problem, make_optimizer, train, train_flops
from leaderboard.build import BENCH_JSON

T = TypeVar("T")

PEER_BATCH = 512


def matmul_peak_gflops(n: int = 2048, reps: int = 10,
                       device: torch.device = devices.CPU) -> float:
    """Best-of float32 GEMM throughput on ``device`` (on the CPU, with the current thread
    count)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.mm(a, b)
    devices.synchronize(device)
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        devices.synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def peer_train(problem: Problem, weights: torch.Tensor, seeds: list[int], spec: TrainSpec) -> None:
    """One model at a time, DataLoader minibatches, ``spec.steps`` epochs over the subset."""
    for b, seed in enumerate(seeds):
        keep = weights[b] > 0
        loader = DataLoader(TensorDataset(problem.X[keep], problem.y[keep]),
                            batch_size=PEER_BATCH, shuffle=True,
                            generator=torch.Generator().manual_seed(seed % 2**63))
        model = problem.init(seed)
        opt = make_optimizer(list(model.parameters()), spec)
        for _ in range(spec.steps):
            for x, y in loader:
                opt.zero_grad(set_to_none=True)
                problem.loss(model(x), y).mean().backward()
                opt.step()


def _peak_rss_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(task_name: str, n_models: int, steps: int | None) -> dict:
    task = make_task(task_name, "quick", {"train.steps": steps} if steps else {})
    store = open_store(task)
    idx = store.rows.index("fit")[:n_models]
    seeds = [model_seed(task, store.rows, j, 0) for j in idx]
    problem = task.problem()
    weights = torch.as_tensor(task.example_weights(store.rows.masks[idx])).float()
    ways = {"peer": lambda: peer_train(problem, weights, seeds, task.spec.train),
            "loop": lambda: train(problem, weights, seeds, task.spec.train, "loop"),
            "batched": lambda: train(problem, weights, seeds, task.spec.train, "batched")}
    peak = matmul_peak_gflops()
    secs, mem = {}, {}
    for name, fn in ways.items():
        _peak_rss_reset()
        t0 = time.perf_counter()
        fn()
        secs[name] = time.perf_counter() - t0
        mem[name] = _peak_rss_mb()
    flops = train_flops(problem, weights, task.spec.train.steps, task.spec.train.batch_size)
    return {"task": task.label, "task_key": task.spec.key, "n_models": n_models,
            "steps": task.spec.train.steps, "threads": torch.get_num_threads(),
            "models_per_s": {k: n_models / v for k, v in secs.items()},
            "speedup_vs_peer": secs["peer"] / secs["batched"],
            "speedup_vs_loop": secs["loop"] / secs["batched"],
            "loop_vs_peer": secs["peer"] / secs["loop"],
            "matmul_peak_gflops": peak,
            "achieved_gflops": {k: flops / v / 1e9 for k, v in secs.items()},
            "frac_of_peak": flops / secs["batched"] / 1e9 / peak,
            "peak_mem_mb": mem, "provenance": provenance()}


def cpu_timed(fn: Callable[[], T]) -> tuple[float, T]:
    """``(CPU-seconds of this process, fn())``: what a bench counts as a computation's cost."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def write_entry(name: str, entry: dict, path: Path = BENCH_JSON) -> None:
    """Merge ``{name: entry}`` into bench.json, keeping other benchmarks' entries (locked,
    replaced atomically)."""
    with locked(path):
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = entry
        atomic_write_text(path, json.dumps(data, indent=1, default=float))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.engine", description=__doc__)
    ap.add_argument("--task", default="modular-addition")
    ap.add_argument("--n-models", type=int, default=16)
    ap.add_argument("--steps", type=int, default=None, help="override train.steps")
    ap.add_argument("--out", type=Path, default=BENCH_JSON)
    ap.add_argument("--entry", default="engine", help="bench.json entry (engine_fmnist, ...)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for all three ways and the matmul peak (ground truth "
                         "runs one single-threaded worker per core)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    entry = run(args.task, args.n_models, args.steps)
    write_entry(args.entry, entry, args.out)
    keys = ("models_per_s", "speedup_vs_peer", "speedup_vs_loop", "frac_of_peak", "peak_mem_mb")
    print(json.dumps({k: entry[k] for k in keys}, indent=1, default=float))


if __name__ == "__main__":
    main()
