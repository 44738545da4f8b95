"""Hessian-regularisation ablation (methods/METHODS.md §3.5, claim C5) on modular arithmetic.

Cells: one task variant per (recipe, training length): the base optimizer alone, SAM and NSO
(``train.sharpness``), each trained for every length of ``steps``, with a smaller subset design
than the main cells (no LOO rows). A recipe's lengths share their subsets and seeds
(``design.shared_lengths``), so its ground truth trains once, to the longest length, the shorter
cells read as snapshots of the same runs, bit-identical to training them alone
(``groundtruth/prefix.py``). Every cell runs the ablation's methods (linear surrogate,
influence, KernelSM) like any other cell; this module adds the Hutchinson trace of the
full-set model's training-loss Hessian (10 Rademacher probes) as a results row
(metric ``hessian_trace``, ``ci_low/ci_high`` = mean ∓ one probe standard deviation) and the
same model's held-out accuracy on the targets (metric ``heldout_acc``: a sharp minimum that
still generalises is not the failure C5 describes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.api.evaluation import MetricValue
from benchmarks.api.registry import register_stage
from benchmarks.api.stage import CellInputs, Stage, StageOutput
from benchmarks.common.spec import derive_seed
from benchmarks.groundtruth.fullmodel import full_model
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.runner import MethodIdentity, result_rows
from benchmarks.training.hessian import trace_of_trained
from benchmarks.training.retrain_task import RetrainTask

FULL_MODEL = MethodIdentity("model", "full-model", "Full-set model")


@dataclass(frozen=True)
class AblationDesign:
    """Recipes x training lengths on one task, with design overrides for every cell."""

    task: str
    recipes: tuple[tuple[str, dict], ...]
    steps: tuple[int, ...]
    design: tuple[tuple[str, object], ...]
    probes: int = 10

    def cells(self) -> list[tuple[str, dict]]:
        """``(task, overrides)`` of every (recipe, steps) variant; a recipe's lengths share
        one training (``design.shared_lengths``)."""
        shared = {"design.shared_lengths": tuple(sorted(self.steps))}
        return [(self.task, {**dict(self.design), **recipe, **shared, "train.steps": steps})
                for _, recipe in self.recipes for steps in self.steps]


def trace_rows(task: RetrainTask, store: GroundTruthStore, probes: int) -> list[dict]:
    """The Hutchinson trace of the full-set model (seed 0) as a results row."""
    model = full_model(task, store)
    weights = task.example_weights(np.ones((1, task.K), dtype=bool))[0]
    mean, std = trace_of_trained(task, model.params, weights, probes,
                                 derive_seed(task.spec.key, "hutchinson"))
    value = MetricValue("hutchinson", "train", mean, mean - std, mean + std, n_targets=0)
    rows = result_rows(task, FULL_MODEL, "hessian_trace", [value], False, 0.0, 0, store.bits)
    if task.accuracy_output in task.outputs:  # held-out accuracy beside the trace
        out = task.score(task.training_problem(), {k: v[None] for k, v in model.params.items()})
        correct = np.asarray(out[task.accuracy_output], dtype=np.float64).ravel()  # (n_targets,)
        acc = MetricValue("full_model", "targets", float(correct.mean()), float("nan"),
                          float("nan"), n_targets=correct.size)
        rows += result_rows(task, FULL_MODEL, "heldout_acc", [acc], True, 0.0, 0, store.bits)
    return rows


@register_stage("hessian_trace")
@dataclass(frozen=True)
class HessianTrace(Stage):
    """The full-set model's Hutchinson trace as a ``hessian_trace`` results row (C5)."""

    probes: int = 10

    def run(self, cell: CellInputs) -> StageOutput:
        return StageOutput(trace_rows(cell.task, cell.store, self.probes))
