"""Attribution-method benchmarks: ``python -m benchmarks.perf.attribution``.

Two entries of ``leaderboard/bench.json``, each a ratio measured side by side in one process:
``per_example_grads`` (``vmap(grad)`` in chunks vs a Python loop of ``backward`` calls, on the
quick digits MLP's full-set model) and ``influence_dual_vs_primal`` (Gauss-Newton influence with
n = 30 examples and c = 10 classes fixed while an MLP's width grows d from ~1k to ~30k: the dual
works on the n·c = 300 kernel, the primal on the d x d matrix).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from benchmarks.api.context import Context, TrainedModel
from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.fill import open_store
from benchmarks.groundtruth.fullmodel import full_model
from benchmarks.perf.engine import BENCH_JSON, write_entry
from benchmarks.training.engine import Problem
from benchmarks.training.grads import stacked_grads
from methods.influence import Influence
from methods.influence_dual import InfluenceDual


def _ce(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out, t, reduction="none")


def _best(fn, reps: int = 3) -> tuple[float, torch.Tensor]:
    """Best-of-``reps`` wall-clock after one warm-up call, and the result."""
    out = fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_grads(n: int = 500) -> dict:
    """Per-example gradients: vmap(grad) vs a loop of single-example backward passes."""
    task = make_task("digits-mlp", "quick")
    tm = full_model(task, open_store(task))
    module = tm.module.float()
    params = {k: v.float() for k, v in tm.params.items()}
    X, y = tm.problem.X[:n].float(), tm.problem.y[:n]
    module.load_state_dict(params)

    def loop() -> torch.Tensor:
        rows = []
        for i in range(n):
            module.zero_grad()
            _ce(module(X[i:i + 1]), y[i:i + 1]).sum().backward()
            rows.append(torch.cat([p.grad.reshape(-1) for p in module.parameters()]))
        return torch.stack(rows)

    def vmapped() -> torch.Tensor:
        return stacked_grads(module, params, X, y, _ce)

    (t_vmap, G), (t_loop, L) = _best(vmapped), _best(loop)
    err = float((L - G).abs().max())
    return {"task": task.label, "n": n, "d": G.shape[1], "examples_per_s_vmap": n / t_vmap,
            "examples_per_s_loop": n / t_loop, "speedup_vmap_vs_loop": t_loop / t_vmap,
            "max_abs_diff": err, "provenance": provenance()}


def random_mlp(width: int, n: int = 30, c: int = 10, d_in: int = 16, n_targets: int = 5,
               activation: type[nn.Module] = nn.Tanh, seed: int = 0) -> TrainedModel:
    """An untrained two-layer MLP on random inputs and labels, one unit per example (timing
    benchmarks only)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d_in, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)

    def make() -> nn.Module:
        return nn.Sequential(nn.Linear(d_in, width), activation(), nn.Linear(width, c))

    problem = Problem(make, X, y, _ce, torch.float64)
    params = {k: v.detach() for k, v in problem.init(seed).named_parameters()}
    Xt = torch.randn(n_targets, d_in, generator=g, dtype=torch.float64)
    return TrainedModel(problem, problem.init(0).double(), params, Xt,
                        torch.randint(0, c, (n_targets,), generator=g), np.eye(n, dtype=bool),
                        np.full(n, 1.0 / n))


def bench_dual(widths: tuple[int, ...] = (40, 150, 400, 1200)) -> dict:
    """Dual vs primal (exact GGN) influence wall-clock as d grows with n*c = 300 fixed."""
    rows = []
    for width in widths:
        tm = random_mlp(width)
        ctx = Context(task=None, seed=0, model=tm)
        d = sum(p.numel() for p in tm.params.values())
        t0 = time.perf_counter()
        primal = Influence(solver="exact", damping=1e-2).fit(ctx).scores if d <= 15_000 else None
        t_primal = time.perf_counter() - t0 if primal is not None else float("nan")
        t0 = time.perf_counter()
        dual = InfluenceDual(damping=1e-2).fit(ctx).scores
        t_dual = time.perf_counter() - t0
        err = float(np.abs(primal - dual).max() / np.abs(primal).max()) if primal is not None \
            else float("nan")
        rows.append({"d": d, "nc": 300, "primal_s": t_primal, "dual_s": t_dual,
                     "primal_over_dual": t_primal / t_dual, "rel_diff": err})
    return {"rows": rows, "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.attribution",
                                 description=__doc__)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    grads = bench_grads()
    write_entry("per_example_grads", grads, BENCH_JSON)
    print({k: v for k, v in grads.items() if k != "provenance"})
    dual = bench_dual()
    write_entry("influence_dual_vs_primal", dual, BENCH_JSON)
    for row in dual["rows"]:
        print(row)


if __name__ == "__main__":
    main()
