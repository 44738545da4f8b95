"""Choosing the fine-tuning recipe by measurement -> ``bench.json`` entries
``finetune_recipe_<task>``.

For each (pretraining steps, fine-tuning steps, fine-tuning lr) of a small grid, on one task at
the quick profile with a reduced subset design: W0's held-out accuracy and loss (a W0 that
already gets every target right leaves nothing to attribute), the subset models' seed
reliability and across-subset spread of F (do subsets still differ, beyond seed noise?),
GradEx's relative error against the real fine-tuned F (RE_est, RE_lin), and the ground-truth
wall-clock. Each row runs the suite's own pipeline (store, fill, diagnostics, the GradEx cell:
``benchmarks.stages.gradex_budget.measure``) in a fresh cache.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile

import numpy as np

from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.perf.engine import write_entry
from benchmarks.stages import gradex_budget
from benchmarks.stages.gradex_budget import DESIGN


def measure(task_name: str, pre: int, steps: int, lr: float, workers: int) -> dict:
    """One recipe of the grid, on the from-scratch family ``task_name`` put in the regime."""
    overrides = {"train.init": "pretrained", "train.pretrain_steps": pre, "train.steps": steps,
                 "train.lr": lr}
    return {"pretrain_steps": pre, "steps": steps, "lr": lr,
            **measure_recipe(task_name, overrides, workers)}


def measure_recipe(task_name: str, overrides: dict, workers: int) -> dict:
    """W0's quality, the subsets' diagnostics, GradEx's RE_est/RE_lin and the wall-clock of
    ``task_name`` with ``overrides`` on the reduced design, in the current cache."""
    return gradex_budget.measure(make_task(task_name, "quick", {**overrides, **DESIGN}), workers)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.finetune", description=__doc__)
    ap.add_argument("--task", default="modular-addition")
    ap.add_argument("--pretrain", type=int, nargs="+", default=[150, 300])
    ap.add_argument("--steps", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--lr", type=float, nargs="+", default=[0.003, 0.01])
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TASKATTR_CACHE"] = tmp
        for pre, steps, lr in itertools.product(args.pretrain, args.steps, args.lr):
            rows.append(measure(args.task, pre, steps, lr, args.workers))
            print(json.dumps(rows[-1]))
    entry = {"task": args.task, "profile": "quick", "design": DESIGN, "rows": rows,
             "scratch_reference": "leaderboard/groundtruth.csv (the from-scratch cells)",
             "provenance": provenance()}
    write_entry(f"finetune_recipe_{args.task}", entry)
    print(f"best RE_est: {min(r['re_est'] for r in rows if r['re_est'] == r['re_est']):.2f}%"
          if any(np.isfinite(r["re_est"] or np.nan) for r in rows) else "no RE_est")


if __name__ == "__main__":
    main()
