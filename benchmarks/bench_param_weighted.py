"""Cost of learning parameter-group weights: ``python -m benchmarks.bench_param_weighted``.

The weighting paper's point is that the weights are cheap next to the attribution itself. Entry
``param_weighting`` of ``leaderboard/bench.json`` times, side by side in one process and on the
quick tasks' full-set models: the base method's ordinary ``fit`` (scoring), its per-group split
(``group_contributions``: the training side once, plus the query block) and the weight learning
(500 Adam steps of the SNR objective, METHODS.md §2.9); then, on an MLP whose width grows with
n fixed, EK-FAC scoring against weight learning, whose cost ``O(steps·|Q|·n·G)`` does not grow
with the parameter count d.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from methods._common.groups import query_index
from methods._common.weighting import learn_weights

from .bench import BENCH_JSON, write_entry
from .context import Context, build_context
from .engine import Problem
from .fullmodel import TrainedModel
from .groundtruth import open_store
from .method import make_method
from .papers.param_weighting import BASES
from .provenance import provenance
from .task import make_task

TASKS = ("digits-mlp", "modular-addition")
T = TypeVar("T")


def _timed(fn: Callable[..., T], *args: Any) -> tuple[float, T]:
    """Wall-clock of ``fn(*args)`` and its result."""
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def bench_task(name: str) -> list[dict]:
    """Per base method on one quick task: scoring, split and learning wall-clock."""
    task = make_task(name, "quick")
    store = open_store(task)
    rows = []
    for base_name, params in BASES:
        pw = make_method("param_weighted", {"base": base_name, "base_params": params})
        base = pw.base_method()
        ctx = build_context(task, store, base)
        base.fit(ctx)  # warm-up: caches (checkpoints, ensemble models) and kernels
        t_base, _ = _timed(base.fit, ctx)
        q = query_index(ctx.model.problem.X.shape[0], pw.n_queries, "bench")
        t_split, parts = _timed(base.group_contributions, ctx, pw.granularity, q)
        t_learn, _ = _timed(learn_weights, parts.queries, pw.top_k, pw.lam, pw.steps, pw.lr, q)
        rows.append({"task": task.label, "base": base.display, "groups": len(parts.names),
                     "n": int(ctx.model.problem.X.shape[0]), "n_queries": len(q),
                     "scoring_s": t_base, "split_s": t_split, "learning_s": t_learn,
                     "learning_over_scoring": t_learn / t_base,
                     "weighted_over_base": (t_split + t_learn) / t_base})
    return rows


def _mlp(width: int, n: int = 500, seed: int = 0) -> TrainedModel:
    """An untrained two-layer MLP on random inputs (timing only)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 64, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (n,), generator=g)

    def make() -> nn.Module:
        return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))

    def ce(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(out, t, reduction="none")

    problem = Problem(make, X, y, ce, torch.float64)
    params = {k: v.detach() for k, v in problem.init(seed).named_parameters()}
    return TrainedModel(problem, problem.init(0).double(), params, X[:50], y[:50],
                        np.eye(n, dtype=bool), np.full(n, 1.0 / n))


def bench_width(widths: tuple[int, ...] = (64, 256, 1024)) -> list[dict]:
    """EK-FAC scoring vs weight learning as the parameter count grows, n = 500 fixed."""
    rows = []
    for width in widths:
        ctx = Context(task=None, seed=0, model=_mlp(width))
        base = make_method("influence", {"solver": "ekfac"})
        t_base, _ = _timed(base.fit, ctx)
        q = query_index(500, 128, "bench")
        parts = base.group_contributions(ctx, "layer", q)
        t_learn, _ = _timed(learn_weights, parts.queries, 10, 1e-3, 500, 0.05, q)
        d = sum(p.numel() for p in ctx.model.params.values())
        rows.append({"width": width, "d": d, "ekfac_scoring_s": t_base, "learning_s": t_learn,
                     "learning_over_scoring": t_learn / t_base})
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run both parts on ``--threads`` threads and write the ``param_weighting`` entry."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_param_weighted",
                                 description=__doc__)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    tasks = [row for name in TASKS for row in bench_task(name)]
    width = bench_width()
    write_entry("param_weighting", {"tasks": tasks, "width": width,
                                    "provenance": provenance()}, BENCH_JSON)
    for row in tasks + width:
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})


if __name__ == "__main__":
    main()
