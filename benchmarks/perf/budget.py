"""Where the first-order estimate stops holding: GradEx's relative error against the
fine-tuning budget.

``python -m benchmarks.perf.budget`` -> ``bench.json`` entry ``gradex_budget`` and
``leaderboard/gradex_budget.csv`` (the figure ``gradex_budget`` draws it).

For each fine-tuning cell, at the quick profile with the reduced design of the recipe bench
(``benchmarks.perf.finetune``: 24 fitting / 24 evaluation subsets, no LOO), the subset models
fine-tune from the cell's own W0 for each number of steps of ``STEPS`` (the learning rate and
everything else as in the cell). Each point runs the suite's pipeline in a fresh cache: ground
truth, the GradEx cell (``RE_est``: GradEx's estimate against the real fine-tuned F; ``RE_lin``:
the exact first-order expansion at W0 against it), and the subsets' diagnostics.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.common.tables import read_table, write_table
from benchmarks.perf.engine import write_entry
from benchmarks.perf.finetune import DESIGN, measure_recipe

TASKS = ("modular-addition-ft", "modular-quad-ft", "digits-mlp-ft")
STEPS = (2, 5, 10, 25, 50, 100, 200, 400)
CSV = Path("leaderboard/gradex_budget.csv")
COLUMNS = ("task", "profile", "steps", "cell_steps", "lr", "re_est", "re_lin", "w0_acc",
           "mean_acc", "subset_spread", "gt_s")


def sweep(task_name: str, steps: tuple[int, ...], workers: int) -> list[dict]:
    """One row per fine-tuning budget of ``task_name`` (a ``-ft`` cell), each in a fresh
    cache (W0 is retrained there: it depends on the pretraining recipe only)."""
    cell = make_task(task_name, "quick").spec.train
    rows = []
    for s in steps:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["TASKATTR_CACHE"] = tmp
            m = measure_recipe(task_name, {"train.steps": s}, workers)
        rows.append({"task": task_name, "profile": "quick", "steps": s,
                     "cell_steps": cell.steps, "lr": cell.lr, **m})
        print(json.dumps(rows[-1], default=float))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.budget", description=__doc__)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--csv", type=Path, default=CSV)
    args = ap.parse_args(argv)
    cache = os.environ.get("TASKATTR_CACHE")
    try:
        rows = [r for name in args.tasks for r in sweep(name, tuple(args.steps), args.workers)]
    finally:
        if cache is None:
            os.environ.pop("TASKATTR_CACHE", None)
        else:
            os.environ["TASKATTR_CACHE"] = cache
    df = pd.DataFrame(rows)[list(COLUMNS)]
    if args.csv.exists():
        old = read_table(args.csv)
        df = pd.concat([old[~old.task.isin(args.tasks)], df], ignore_index=True)
    write_table(args.csv, df)
    write_entry("gradex_budget", {"design": DESIGN, "steps": list(args.steps),
                                  "rows": df.to_dict("records"), "provenance": provenance()})


if __name__ == "__main__":
    main()
