"""Claim C1 inputs: the unit scores of LOO, the linear surrogate and influence side by side.

benchmarks/papers/kernelsm/REPLICATION.md C1 compares three attributions of the same (unit, target)
pairs by pooled Pearson (β̂ vs IF, β̂ vs LOO, IF vs LOO). β̂ vs LOO and IF vs LOO are ``loo_corr``
rows of each cell; this stage adds the β̂-vs-IF row to the results (metric ``if_agreement``) and
writes the scores themselves to ``scores.csv`` for the scatter figure. It reads cell outputs
(``scores.npy``) and the store's LOO rows: the noise ceiling of the LOO effects (metric
``loo_ceiling``, variant ``split_half``) is the split-half reliability of the effects
``F(1) - F(1 - e_k)`` over seeds (even seeds against odd: seed 0 vs seed 1 at R = 2), one
Pearson pooled over (unit, target) Spearman-Brown-corrected to the mean of all R seeds,
``2r / (1 + r)``. A score's correlation with the measured LOO effects is expected to stay
below its square root (itself an estimate, noisy with few seeds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import benchmarks.common.device as devices
from benchmarks.api.method import make_method
from benchmarks.api.registry import register_stage
from benchmarks.api.stage import CellInputs, CellStore, Stage, StageOutput, Table
from benchmarks.api.task import Task
from benchmarks.common.cache import cell_dir
from benchmarks.common.schema import BoardColumn


@register_stage("agreement", columns={  # its result row on the leaderboard
    ("if_agreement", "pearson_pooled"): BoardColumn("β̂ vs IF r", 100)})
@dataclass(frozen=True)
class Agreement(Stage):
    """C1: the β̂-vs-IF row, the LOO noise-ceiling row and the side-by-side score table of
    three of the cell's methods."""

    loo: tuple[str, dict]
    linear: tuple[str, dict]
    influence: tuple[str, dict]

    def run(self, cell: CellInputs) -> StageOutput:
        roles = {"loo": self.loo, "linear": self.linear, "influence": self.influence}
        linear_key = make_method(*self.linear).key
        template = next(r for rec in cell.records for r in rec["rows"]
                        if r["method_key"] == linear_key)
        table = score_table(cell.task, roles)
        rows = [if_agreement_row(table, self.linear, template)]
        rows += loo_ceiling_rows(cell.store, cell.task.primary, self.linear, template)
        return StageOutput(rows, [Table("scores.csv", table, ("task_key", "unit", "target"),
                                        ("task_key",))])


def score_table(task: Task, methods: dict[str, tuple[str, dict]]) -> pd.DataFrame:
    """Long table ``(unit, target, <one column per role>)`` of the cells' ``scores.npy``."""
    cols = {role: np.load(cell_dir(task.spec.key, make_method(*m).key) / "scores.npy").ravel()
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
    from scipy.stats import pearsonr  # here: `list` need not load scipy

    with devices.math_threads():
        return float(pearsonr(a, b).statistic)


def loo_ceiling_rows(store: CellStore, output: str, linear: tuple[str, dict],
                     template: dict) -> list[dict]:
    """The ``loo_ceiling/split_half`` results row (module docstring), under the linear
    method's identity like ``if_agreement``; none without LOO rows or with one seed."""
    full, loo = store.rows.index("full"), store.rows.index("loo")
    used = np.concatenate([full, loo])
    if not len(full) or not len(loo) or not np.asarray(store.done)[used].all():
        return []
    values = np.asarray(store.array(output))
    if values.shape[1] < 2:
        return []
    delta = values[full[0]][None] - values[loo]  # (K, R, n_targets): each seed's LOO effects
    r = _pooled_pearson(delta[:, 0::2].mean(1).ravel(), delta[:, 1::2].mean(1).ravel())
    rho = 2 * r / (1 + r) if r == r and r > -1 else float("nan")
    return [{**template, "method_key": make_method(*linear).key, "metric": "loo_ceiling",
             "variant": "split_half", "split": "loo", "value": rho, "ci_low": float("nan"),
             "ci_high": float("nan"), "n_targets": int(values.shape[2]), "n_dropped": 0,
             "higher_is_better": True}]
