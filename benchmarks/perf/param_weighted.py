"""Cost of learning parameter-group weights: ``python -m benchmarks.perf.param_weighted``.

The weighting paper's point is that the weights are cheap next to the attribution itself. Entry
``param_weighting`` of ``leaderboard/bench.json`` times, side by side in one process and on the
quick tasks' full-set models: the base method's ordinary ``fit`` (scoring), its per-group split
(``group_contributions``: the training side once, plus the query block) and the weight learning
(500 Adam steps of the SNR objective, methods/METHODS.md §2.9); then, on an MLP whose width grows
with n fixed, EK-FAC scoring against weight learning, whose cost ``O(steps·|Q|·n·G)`` does not grow
with the parameter count d.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from benchmarks.api.context import Context
from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.fill import open_store
from benchmarks.oracles.fit import build_context
from benchmarks.papers.param_weighting import BASES
from benchmarks.perf.attribution import random_mlp
from benchmarks.perf.engine import BENCH_JSON, write_entry
from benchmarks.training.grads import flat_dim
from methods._common.groups import query_index

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
        t_learn, _ = _timed(pw.learn, parts)
        rows.append({"task": task.label, "base": base.display, "groups": len(parts.names),
                     "n": int(ctx.model.problem.X.shape[0]), "n_queries": len(q),
                     "scoring_s": t_base, "split_s": t_split, "learning_s": t_learn,
                     "learning_over_scoring": t_learn / t_base,
                     "weighted_over_base": (t_split + t_learn) / t_base})
    return rows


def bench_width(widths: tuple[int, ...] = (64, 256, 1024)) -> list[dict]:
    """EK-FAC scoring vs weight learning as the parameter count grows, n = 500 fixed."""
    pw = make_method("param_weighted", {"base": "influence", "base_params": {"solver": "ekfac"}})
    base = pw.base_method()
    rows = []
    for width in widths:
        model = random_mlp(width, n=500, d_in=64, n_targets=50, activation=nn.ReLU)
        ctx = Context(task=None, seed=0, model=model)
        t_base, _ = _timed(base.fit, ctx)
        q = query_index(model.problem.X.shape[0], pw.n_queries, "bench")
        parts = base.group_contributions(ctx, pw.granularity, q)
        t_learn, _ = _timed(pw.learn, parts)
        d = flat_dim(ctx.model.params)
        rows.append({"width": width, "d": d, "ekfac_scoring_s": t_base, "learning_s": t_learn,
                     "learning_over_scoring": t_learn / t_base})
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run both parts on ``--threads`` threads and write the ``param_weighting`` entry."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.param_weighted",
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
