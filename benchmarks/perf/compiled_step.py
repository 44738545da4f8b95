"""Does a compiled step speed up ground truth? ``python -m benchmarks.perf compiled_step``.

Trains real chunks of a quick task's fitting subsets (the store's own masks and seeds, ``size``
models each) two ways, side by side in one process on one thread: the batched engine as ground
truth runs it, and a candidate whose per-model gradients come from one
``torch.compile(vmap(grad(loss)))`` (the same AdamW). It records, in ``leaderboard/bench.json``
under ``"compiled_step"``:

* the steady-state time per step of each and the fraction of the matmul peak (measured in the
  same run) each reaches, and the seconds the first call on a new chunk shape spends compiling;
* how many distinct shapes the task's ground truth would compile: full-batch training gathers
  each chunk's included examples, so every chunk whose largest subset differs is a new shape,
  while minibatch training has one shape per chunk size;
* the projected ground-truth seconds of the task with the candidate (steps at its speed plus
  one compilation per shape and worker) against the eager engine's;
* whether the varying dimensions can be compiled once as dynamic instead (``vmap`` specialises
  its batch size, so it cannot) and how far the candidate's parameters end from the engine's
  (its float operations differ: adopting it would change every stored bit).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.common.spec import TrainSpec
from benchmarks.groundtruth.fill import model_seed, open_store
from benchmarks.perf.engine import matmul_peak_gflops, write_entry
from benchmarks.training.engine import (
    Params,
    Problem,
    make_optimizer,
    minibatch,
    pack,
    train,
    train_flops,
)
from leaderboard.build import BENCH_JSON

GradFn = Callable[[Params, torch.Tensor, torch.Tensor, torch.Tensor], Params]


def model_loss(problem: Problem) -> Callable[..., torch.Tensor]:
    """One model's weighted loss ``(params, x (n, ...), y, wt (n,)) -> ()``, as the batched
    engine's objective."""
    template = copy.deepcopy(problem.init(0)).to("meta")

    def loss(p: Params, x: torch.Tensor, y: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:
        return (wt * problem.loss(functional_call(template, p, (x,)), y)).sum()

    return loss


def compiled_grads(problem: Problem) -> GradFn:
    """Each model's gradient of its weighted loss, ``(params (B, ...), x, y, wt) -> grads``,
    compiled for static shapes (a new shape compiles anew)."""
    return torch.compile(vmap(grad(model_loss(problem))), dynamic=False)


def train_candidate(fn: GradFn, problem: Problem, weights: torch.Tensor, seeds: list[int],
                    spec: TrainSpec) -> tuple[Params, float, float]:
    """Full-batch or minibatch training as the batched engine does it, gradients from ``fn``.
    Returns the parameters, the first step's seconds and the mean of the others."""
    params, _ = stack_module_state([problem.init(s) for s in seeds])
    params = {k: v.detach() for k, v in params.items()}
    leaves = list(params.values())
    opt = make_optimizer(leaves, spec)
    idx, w = pack(weights)
    Xb, yb = problem.X[idx], problem.y[idx]
    gens = [torch.Generator().manual_seed((s + 1) % 2**63) for s in seeds]
    rows = torch.arange(len(seeds))[:, None]
    times = []
    for _ in range(spec.steps):
        t0 = time.perf_counter()
        if spec.batch_size:
            pos = torch.stack([minibatch(w[b], spec.batch_size, g) for b, g in enumerate(gens)])
            x, y = Xb[rows, pos], yb[rows, pos]
            wt = torch.full(pos.shape, 1.0 / spec.batch_size, dtype=w.dtype)
        else:
            x, y, wt = Xb, yb, w
        grads = fn(params, x, y, wt)
        opt.zero_grad(set_to_none=True)
        for p, g in zip(leaves, grads.values(), strict=True):
            p.grad = g
        opt.step()
        times.append(time.perf_counter() - t0)
    return params, times[0], float(np.mean(times[1:]))


def dynamic_error(problem: Problem, weights: torch.Tensor, seeds: list[int]) -> str | None:
    """The error compiling once with the model and example dimensions marked dynamic raises
    (None: it compiled)."""
    fn = torch.compile(vmap(grad(model_loss(problem))), fullgraph=True)
    logging.getLogger("torch._guards").setLevel(logging.CRITICAL)  # the error is returned
    params, _ = stack_module_state([problem.init(s) for s in seeds])
    params = {k: v.detach() for k, v in params.items()}
    idx, w = pack(weights)
    args = (problem.X[idx], problem.y[idx], w)
    for t in params.values():
        torch._dynamo.mark_dynamic(t, 0)
    for t in args:
        torch._dynamo.mark_dynamic(t, (0, 1))
    try:
        fn(params, *args)
    except Exception as err:  # the compiler's own error class says why
        return f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
    return None


def distinct_shapes(task, store, size: int) -> int:
    """Shapes the task's ground-truth chunks (``size`` models each, in store order) present to
    a static-shape compile: chunk sizes and, for full-batch training, largest subsets."""
    w = task.example_weights(store.rows.masks) > 0
    R = store.done.shape[1]
    per_model = np.repeat(w.sum(1), R)
    shapes = set()
    for start in range(0, len(per_model), size):
        part = per_model[start:start + size]
        shapes.add((len(part), 0 if task.spec.train.batch_size else int(part.max())))
    return len(shapes)


def run(task_name: str, n_chunks: int, size: int, steps: int, profile: str = "quick") -> dict:
    task = make_task(task_name, profile, {})
    store = open_store(task)
    problem = task.problem()
    spec = replace(task.spec.train, steps=steps)
    if spec.sharpness != "none":
        raise SystemExit(f"{task_name}: the candidate covers the plain step only")
    fit = store.rows.index("fit")
    fn = compiled_grads(problem)
    peak = matmul_peak_gflops()
    rows, flops, seen = [], 0.0, set()
    for c in range(n_chunks):
        idx = fit[c * size:(c + 1) * size]
        seeds = [model_seed(task, store.rows, j, 0) for j in idx]
        weights = torch.as_tensor(task.example_weights(store.rows.masks[idx])).float()
        t0 = time.perf_counter()
        ref = train(problem, weights, seeds, spec, "batched")
        eager = (time.perf_counter() - t0) / steps
        out, first, step = train_candidate(fn, problem, weights, seeds, spec)
        flops += train_flops(problem, weights, 1, spec.batch_size)
        shape = (len(seeds), spec.batch_size or int((weights > 0).sum(1).max()))
        rows.append({"eager_s_per_step": eager, "compiled_s_per_step": step,
                     "compile_s": first - step, "new_shape": shape not in seen,
                     "max_abs_param_diff": max(float((out[k] - ref[k]).abs().max())
                                               for k in ref)})
        seen.add(shape)
    eager_s = float(np.mean([r["eager_s_per_step"] for r in rows]))
    comp_s = float(np.mean([r["compiled_s_per_step"] for r in rows]))
    compile_s = float(np.mean([r["compile_s"] for r in rows if r["new_shape"]]))
    shapes = distinct_shapes(task, store, task.spec.execution.batch)
    chunks_total = -(-store.done.size // task.spec.execution.batch)
    gt_eager = chunks_total * task.spec.train.steps * eager_s
    gt_compiled = chunks_total * task.spec.train.steps * comp_s + shapes * compile_s
    per_step_flops = flops / n_chunks
    return {"task": task.label, "task_key": task.spec.key, "models_per_chunk": size,
            "chunks": rows, "steps_timed": steps, "matmul_peak_gflops": peak,
            "frac_of_peak": {"eager": per_step_flops / eager_s / 1e9 / peak,
                             "compiled": per_step_flops / comp_s / 1e9 / peak},
            "step_speedup": eager_s / comp_s, "compile_s_per_shape": compile_s,
            "ground_truth_shapes": shapes, "ground_truth_chunks": chunks_total,
            "train_steps": task.spec.train.steps,
            "projected_gt_s": {"eager": gt_eager, "compiled_one_worker": gt_compiled},
            "dynamic_compile_error": dynamic_error(problem, weights, seeds),
            "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf compiled_step",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--task", action="append", help="quick tasks (default: modular-addition "
                    "and fmnist-class)")
    ap.add_argument("--chunks", type=int, default=3, help="real chunks timed per task")
    ap.add_argument("--size", type=int, default=32, help="models per chunk")
    ap.add_argument("--steps", type=int, default=60, help="steps timed per chunk and way")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # ground truth runs one single-threaded worker per core
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp()  # compile times from cold
    entry = {t: run(t, args.chunks, args.size, args.steps)
             for t in args.task or ["modular-addition", "fmnist-class"]}
    write_entry("compiled_step", entry, BENCH_JSON)
    keys = ("step_speedup", "frac_of_peak", "compile_s_per_shape", "ground_truth_shapes",
            "projected_gt_s", "dynamic_compile_error")
    print(json.dumps({t: {k: e[k] for k in keys} for t, e in entry.items()}, indent=1,
                     default=float))


if __name__ == "__main__":
    main()
