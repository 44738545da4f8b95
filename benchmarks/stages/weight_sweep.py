"""Diagnostic for parameter weighting (methods/METHODS.md §2.9): LDS and the SNR objective over a
grid of group weights.

The learned weights come from a label-free objective; whether weighting *can* help a base method
on a task, and whether that objective points the right way, are separate questions. For each
weighted method of a cell this stage evaluates every weight vector of a simplex grid (steps of
about 1/10 of the total, scaled so that uniform = all ones) twice: the LDS of the weighted scores on
the held-out evaluation subsets, and the method's own SNR loss on its training-set queries. The
best grid point is an *oracle* (chosen on evaluation data, so an upper bound, never a method);
it goes to ``param_weight_sweep.csv``, not to the results table.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import benchmarks.common.device as devices
from benchmarks.api.method import Method, make_method
from benchmarks.api.registry import register_stage
from benchmarks.api.stage import CellInputs, Stage, StageOutput, Table
from benchmarks.api.task import Task
from benchmarks.common.device import to_numpy
from benchmarks.common.schema import RESULTS
from benchmarks.common.tables import read_table
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.metrics.lds import per_target_spearman
from benchmarks.oracles.fit import build_context
from methods._common.weighting import ssl_loss

GRID_STEPS = 10
MAX_POINTS = 5000  # G = 5 groups at 10 steps: 1,001 points


def simplex_grid(G: int, steps: int = GRID_STEPS) -> np.ndarray | None:
    """All weight vectors ``(P, G)`` with entries in multiples of G/steps summing to G (steps
    rounded up to a multiple of G, so the uniform point, all ones, is on the grid); None when
    there would be more than ``MAX_POINTS`` of them."""
    steps = G * -(-steps // G)
    if math.comb(steps + G - 1, G - 1) > MAX_POINTS:
        return None
    points = [np.diff([-1, *bars, steps + G - 1]) - 1  # stars and bars
              for bars in itertools.combinations(range(steps + G - 1), G - 1)]
    return np.asarray(points, dtype=np.float64).reshape(-1, G) * (G / steps)


def sweep_rows(task: Task, store: GroundTruthStore, methods: list[tuple[str, dict]]
               ) -> pd.DataFrame:
    """Grid rows for every applicable ``param_weighted`` entry of ``methods``."""
    rows = []
    for name, params in methods:
        pw = make_method(name, params)
        if pw.learns_weights and not pw.applies(task):
            rows += _one(task, store, pw)
    return pd.DataFrame(rows)


def _one(task: Task, store: GroundTruthStore, pw: Method) -> list[dict]:
    """LDS and SNR loss at each grid point for one weighted method (its own queries), on the
    configured device."""
    with devices.math_threads(), devices.scope():  # one math thread, as every method fit
        return _grid_rows(task, store, pw, pw.contributions(build_context(task, store, pw)))


def _grid_rows(task: Task, store: GroundTruthStore, pw: Method, parts) -> list[dict]:
    grid = simplex_grid(len(parts.names))
    if grid is None:
        print(f"weight grid: skipping {pw.display} on {task.label}: {len(parts.names)} groups "
              f"give more than {MAX_POINTS} grid points")
        return []
    base = pw.base_method()
    masks = store.rows.masks[store.rows.index("eval")].astype(np.float64)
    true = store.mean(task.primary, "eval")
    out = []
    for w in grid:
        wt = torch.as_tensor(w)
        scores = to_numpy(parts.combine(wt)[0])
        lds = float(np.nanmean(per_target_spearman(masks @ scores, true)))
        out.append({"task": task.label, "task_key": task.spec.key,
                    "profile": task.spec.profile, "method_key": pw.key,
                    "method_label": pw.display, "base": base.display,
                    "groups": json.dumps(list(parts.names)), "w": json.dumps(w.tolist()),
                    "uniform": bool(np.allclose(w, 1.0)), "lds": lds,
                    "ssl": float(ssl_loss(parts.queries, wt, pw.top_k, parts.query_index))})
    return out


def summary(sweep: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Per (task, weighted method): LDS unweighted (grid uniform point), learned (results
    table), the oracle best grid point, and the Spearman correlation of -SNR loss with LDS."""
    out = []
    for (task, task_key, key), g in sweep.groupby(["task", "task_key", "method_key"],
                                                  sort=True):
        best = g.loc[g.lds.idxmax()]
        learned = results[(results.task_key == task_key) & (results.method_key == key)
                          & (results.metric == "lds") & (results.variant == "spearman")].value
        rho = pd.Series(-g.ssl.to_numpy()).corr(pd.Series(g.lds.to_numpy()), method="spearman")
        out.append({"task": task, "method": best.method_label,
                    "unweighted": float(g[g.uniform].lds.iloc[0]) if g.uniform.any()
                    else float("nan"),
                    "learned": float(learned.iloc[0]) if len(learned) else float("nan"),
                    "oracle_best": float(best.lds), "oracle_w": best.w,
                    "snr_vs_lds_spearman": float(rho)})
    return pd.DataFrame(out)



SWEEP_FILE, WEIGHTS_FILE = "param_weight_sweep.csv", "param_weights.csv"


@register_stage("weight_sweep")
@dataclass(frozen=True)
class WeightSweep(Stage):
    """The weight-grid diagnostic of the cell's learned-weight methods (``param_weight_sweep.csv``)
    and, after every cell, its summary: LDS unweighted / learned / oracle grid best."""

    def run(self, cell: CellInputs) -> StageOutput:
        frame = sweep_rows(cell.task, cell.store, list(cell.methods))
        if frame.empty:
            return StageOutput()
        return StageOutput(tables=[Table(SWEEP_FILE, frame,
                                         ("task_key", "profile", "method_key", "w"))])

    def report(self, out_dir: Path) -> str:
        if not (out_dir / SWEEP_FILE).exists():
            return ""
        table = summary(read_table(out_dir / SWEEP_FILE),
                        read_table(out_dir / "results.csv", RESULTS))
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            return ("parameter weighting: LDS unweighted / learned / oracle grid best\n"
                    + table.to_string(index=False, float_format="%.3f"))


@register_stage("learned_weights")
@dataclass(frozen=True)
class LearnedWeights(Stage):
    """The group weights the cell's weighted methods learned (``param_weights.csv``), read from
    their records."""

    def run(self, cell: CellInputs) -> StageOutput:
        task = cell.task
        frame = weight_rows(list(cell.records), task.label, task.spec.key, task.spec.profile)
        if frame.empty:
            return StageOutput()
        return StageOutput(tables=[Table(WEIGHTS_FILE, frame,
                                         ("task_key", "profile", "method_key", "group"))])


def weight_rows(records: list[dict], task_label: str, task_key: str, profile: str
                ) -> pd.DataFrame:
    """One row per (weighted method, group) of a cell: the learned weight of the group."""
    out = []
    for rec in records:
        state = rec.get("state", {})
        for k, v in state.items():
            if k.startswith("w:") and rec.get("rows"):  # a method that learned group weights
                out.append({"task": task_label, "task_key": task_key, "profile": profile,
                            "method_key": rec["method_key"],
                            "method_label": rec["rows"][0]["method_label"],
                            "base": state.get("base", ""), "group": k[2:], "weight": v})
    return pd.DataFrame(out)
