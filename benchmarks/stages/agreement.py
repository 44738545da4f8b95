"""Claim C1 inputs: the unit scores of LOO, the linear surrogate and influence side by side.

benchmarks/papers/kernelsm/REPLICATION.md C1 compares three attributions of the same (unit, target)
pairs by pooled Pearson (β̂ vs IF, β̂ vs LOO, IF vs LOO). β̂ vs LOO and IF vs LOO are ``loo_corr``
rows of each cell; this stage adds the β̂-vs-IF row to the results (metric ``if_agreement``) and
writes the scores themselves to ``scores.csv`` for the scatter figure. It reads cell outputs only
(``scores.npy``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import pearsonr

import benchmarks.common.device as devices
from benchmarks.api.method import make_method
from benchmarks.api.registry import register_stage
from benchmarks.api.stage import CellInputs, Stage, StageOutput, Table
from benchmarks.api.task import Task
from benchmarks.runner import cell_dir


@register_stage("agreement")
@dataclass(frozen=True)
class Agreement(Stage):
    """C1: the β̂-vs-IF row and the side-by-side score table of three of the cell's methods."""

    loo: tuple[str, dict]
    linear: tuple[str, dict]
    influence: tuple[str, dict]

    def run(self, cell: CellInputs) -> StageOutput:
        roles = {"loo": self.loo, "linear": self.linear, "influence": self.influence}
        linear_key = make_method(*self.linear).key
        template = next(r for rec in cell.records for r in rec["rows"]
                        if r["method_key"] == linear_key)
        table = score_table(cell.task, roles)
        return StageOutput([if_agreement_row(table, self.linear, template)],
                           [Table("scores.csv", table, ("task_key", "unit", "target"),
                                  ("task_key",))])


def score_table(task: Task, methods: dict[str, tuple[str, dict]]) -> pd.DataFrame:
    """Long table ``(unit, target, <one column per role>)`` of the cells' ``scores.npy``."""
    cols = {role: np.load(cell_dir(task, make_method(*m)) / "scores.npy").ravel()
            for role, m in methods.items()}
    unit, target = np.meshgrid(np.arange(task.K), np.arange(task.n_targets), indexing="ij")
    df = pd.DataFrame({"unit": unit.ravel(), "target": target.ravel(), **cols})
    for k, v in (("profile", task.spec.profile), ("task_key", task.spec.key),
                 ("task", task.label)):
        df.insert(0, k, v)
    return df


def if_agreement_row(table: pd.DataFrame, linear: tuple[str, dict], template: dict) -> dict:
    """A results row: pooled Pearson of β̂ vs IF over all (unit, target) pairs (C1).

    ``template`` is one of the linear cell's result rows (task and provenance columns).
    """
    a, b = table["linear"].to_numpy(), table["influence"].to_numpy()
    method = make_method(*linear)
    return {**template, "method_key": method.key, "metric": "if_agreement",
            "variant": "pearson_pooled", "split": "scores",
            "value": _pooled_pearson(a, b), "ci_low": float("nan"),
            "ci_high": float("nan"), "n_targets": int(table["target"].nunique()),
            "n_dropped": 0, "higher_is_better": True}


def _pooled_pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson over every (unit, target) pair, on one math thread (a BLAS dot product)."""
    with devices.math_threads():
        return float(pearsonr(a, b).statistic)
