"""Where the first-order estimate stops holding: GradEx's relative error against the
fine-tuning budget.

For a fine-tuning cell, the subset models fine-tune from the cell's own W0 for each number of
steps of the stage's grid (the learning rate and everything else as in the cell), on a reduced
subset design (``DESIGN``: 24 fitting / 24 evaluation subsets, no LOO). Each step count is a
variant task (``train.steps`` and the design overridden), so its ground truth lives in a store
of its own, keyed by its content like any cell's; W0 depends on the pretraining recipe only, so
every variant shares the cell's. On each variant: the ground truth (trained with the cell's
workers), the GradEx cell (``RE_est``: GradEx's estimate against the real fine-tuned F;
``RE_lin``: the exact first-order expansion at W0 against it), and the subsets' diagnostics.
``gt_s`` is the wall-clock of the variant's fill in this run (near 0 where its store was
already full). Table: ``gradex_budget.csv`` (the figure ``gradex_budget`` draws it).

``measure`` is also the recipe bench's measurement (``python -m benchmarks.perf.finetune``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from benchmarks.api.method import make_method
from benchmarks.api.registry import register_stage
from benchmarks.api.stage import CellInputs, Stage, StageOutput, Table
from benchmarks.api.task import Task, make_task
from benchmarks.groundtruth.diagnostics import summarise_ground_truth
from benchmarks.groundtruth.executors import fill_ground_truth
from benchmarks.groundtruth.fill import open_store
from benchmarks.runner import run_cell
from benchmarks.training.pretrained import w0_quality

CSV = "gradex_budget.csv"
DESIGN = {"design.n_fit": 24, "design.n_eval": 24, "design.loo": False}
STEPS = (2, 5, 10, 25, 50, 100, 200, 400)
MEASURED = ("re_est", "re_lin", "w0_acc", "mean_acc", "subset_spread", "gt_s")
COLUMNS = ("task", "task_key", "profile", "steps", "cell_steps", "lr", *MEASURED)


def measure(task: Task, workers: int = 1) -> dict:
    """W0's quality, the subsets' diagnostics, GradEx's RE_est/RE_lin and the wall-clock of
    W0 (``w0_s``) and of the ground truth (``gt_s``) of ``task``, its store filled first."""
    t0 = time.perf_counter()
    quality = w0_quality(task)
    w0_s = time.perf_counter() - t0
    fill_ground_truth(task, workers=workers)
    gt_s = time.perf_counter() - t0 - w0_s
    store = open_store(task)
    diag = summarise_ground_truth(task, store)
    rows = run_cell(task, store, make_method("gradex", {}))["rows"]
    relerr = {r["variant"]: r["value"] for r in rows if r["metric"] == "relerr"}
    return {**quality, "seed_reliability": diag["seed_reliability"],
            "subset_spread": diag["subset_spread"], "mean_acc": diag.get("mean_acc"),
            "re_est": relerr.get("est"), "re_lin": relerr.get("lin"), "w0_s": w0_s,
            "gt_s": gt_s}


@register_stage("gradex_budget")
@dataclass(frozen=True)
class GradexBudget(Stage):
    """GradEx's RE against the fine-tuning budget: one variant per ``steps``, each with the
    ``design`` overrides (dotted task-spec fields)."""

    steps: tuple[int, ...] = STEPS
    design: tuple[tuple[str, object], ...] = tuple(DESIGN.items())

    def variant(self, task: Task, steps: int) -> Task:
        """``task`` (with its own overrides) fine-tuned for ``steps`` on the reduced design."""
        overrides = {**task.overrides, **dict(self.design), "train.steps": steps}
        return make_task(task.spec.name, task.spec.profile, overrides)

    def run(self, cell: CellInputs) -> StageOutput:
        task = cell.task
        if task.spec.train.init != "pretrained" or make_method("gradex", {}).applies(task):
            return StageOutput()  # no W0 to fine-tune from, or no GradEx on this task
        train = task.spec.train
        rows = []
        for s in self.steps:
            m = measure(self.variant(task, s), cell.workers)
            rows.append({"task": task.label, "task_key": task.spec.key,
                         "profile": task.spec.profile, "steps": s, "cell_steps": train.steps,
                         "lr": train.lr, **{k: m.get(k) for k in MEASURED}})
        frame = pd.DataFrame(rows)[list(COLUMNS)]
        return StageOutput(tables=[Table(CSV, frame, ("task_key", "profile", "steps"))])


# the grid of each profile: tiny stays seconds-fast (its own small design, without LOO)
BUDGETS: dict[str, GradexBudget] = {
    "tiny": GradexBudget((2, 5), (("design.loo", False),)),
    "quick": GradexBudget(),
    "paper": GradexBudget(),
}
