"""The paper's headline, measured: LDS against label cost, GradEx labels vs retrained labels.

On a fine-tuning cell (subset models fine-tuned from a shared W0, the regime GradEx is about),
in one process and on the cell's own store: the CPU-seconds of one retrained label
(``task.evaluate`` on fitting subsets: R fine-tunings per label, the ground-truth path) and of
GradEx labels (projected Jacobians at W0 once, then one linearised solve per subset); then
KernelSM and the ridge linear surrogate fitted on the first m labels of each source, and IF and
TRAK as points (no labels: their cost is their own fit). Every point's LDS (Spearman, with its
CI) and NE are the suite's metrics of that fit on the evaluation subsets; the fits are made in
memory, so the cell's own method folders are never written. ``fit_s`` is the CPU-seconds of
the fit, its scores and its held-out predictions. W0's pretraining is shared by every point
and reported apart, not added.

**Cost at equal LDS.** The target is the best LDS KernelSM reaches on GradEx labels, at the
cheapest GradEx label count that reaches it within ``tie``; the retrained cost of that LDS is
interpolated on log-cost between the two retrained points around it (or bounded by the
cheapest retrained point when that already does better). ``ratio = retrained cost / GradEx
cost``: above 1 GradEx labels are cheaper at equal LDS, as the paper finds.

Tables: ``label_cost.csv`` (one row per point; the figure ``label_cost`` draws it) and
``label_cost_summary.csv`` (the timing facts and the equal-LDS comparison, one row per cell).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from benchmarks.api.context import seed_key
from benchmarks.api.evaluation import Evaluation
from benchmarks.api.method import make_method
from benchmarks.api.registry import METRICS, register_stage
from benchmarks.api.stage import CellInputs, Methods, Stage, StageOutput, Table
from benchmarks.common.tables import read_table
from benchmarks.groundtruth.fill import model_seed
from benchmarks.groundtruth.fullmodel import linearisation_point
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.oracles.fit import fit_method, method_predict, method_scores
from benchmarks.oracles.gradex import estimate, features, gradex_config, solve_subsets
from benchmarks.oracles.labels import gradex_masks
from benchmarks.training.pretrained import pretrained_params
from benchmarks.training.retrain_task import RetrainTask

T = TypeVar("T")
CSV, SUMMARY_CSV = "label_cost.csv", "label_cost_summary.csv"
COLUMNS = ("task", "task_key", "profile", "method", "method_key", "method_label", "labels",
           "n_labels", "label_cpu_s", "fit_s", "lds", "lds_low", "lds_high", "ne")


def cpu_timed(fn: Callable[[], T]) -> tuple[float, T]:
    """``(CPU-seconds of this process, fn())``: what the stage counts as a computation's cost."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def retrain_cost(task: RetrainTask, store: GroundTruthStore, n: int) -> float:
    """CPU-seconds of one retrained label: the R fine-tunings of each of the first ``n``
    fitting subsets, trained as the ground-truth fill does (one batched engine call)."""
    rows = store.rows
    fit = rows.index("fit")[:n]
    R = store.done.shape[1]
    masks = np.repeat(rows.masks[fit], R, axis=0)  # (len(fit) * R, K)
    seeds = [model_seed(task, rows, j, r) for j in fit for r in range(R)]
    secs, _ = cpu_timed(lambda: task.evaluate(masks, seeds, task.training_engine))
    return secs / len(fit)


def gradex_cost(task: RetrainTask, store: GroundTruthStore) -> tuple[float, float, int]:
    """(one-off feature CPU-s, CPU-s per label, m): GradEx at W0 on its own subsets."""
    config = gradex_config(task.spec.profile)
    tm = linearisation_point(task, store)
    masks = gradex_masks(task.spec.design, store, config.n_subsets, task.spec.base_key)
    t_feat, feat = cpu_timed(lambda: features(tm, config, f"{task.spec.key}/gradex"))
    t_solve, sol = cpu_timed(lambda: solve_subsets(feat, task.example_weights(masks),
                                                   config.lam_z))
    t_est, _ = cpu_timed(lambda: estimate(feat, sol.Z))
    return t_feat, (t_solve + t_est) / len(masks), len(masks)


def label_grid(grid: tuple[int, ...], available: int) -> list[int]:
    """The label counts below ``available``, then 0 (every label)."""
    return [m for m in grid if 0 < m < available] + [0]


def point(task: RetrainTask, store: GroundTruthStore, name: str, params: dict) -> dict:
    """One fit's LDS (with its CI), NE, label count and fit CPU-s: the runner's fit and metrics
    (same seed keys), computed in memory."""
    method = make_method(name, params)
    masks = store.rows.masks[store.rows.index("eval")]  # (m_eval, K)

    def fit() -> tuple:
        ctx, fitted = fit_method(task, store, method)
        return ctx, method_scores(method, fitted), method_predict(method, fitted, masks)

    secs, (ctx, scores, predictions) = cpu_timed(fit)
    ev = Evaluation(masks, store.mean(task.primary, "eval"), predictions, scores, None,
                    f"{seed_key(task)}/{method.key}")
    lds = next(v for v in METRICS.get("lds")(ev) if v.variant == "spearman")
    ne = next(v for v in METRICS.get("residual")(ev) if v.variant == "ne")
    return {"method": method.registry_name, "method_key": method.key,
            "method_label": method.display, "labels": method.labels,
            "n_labels": ctx.fit.values.shape[0] if ctx.fit is not None else 0,
            "fit_s": secs, "lds": lds.value, "lds_low": lds.ci_low, "lds_high": lds.ci_high,
            "ne": ne.value}


def _interp(costs: np.ndarray, lds: np.ndarray, target: float) -> tuple[float, str]:
    """Cost at which the retrained curve reaches ``target`` (log-cost interpolation)."""
    order = np.argsort(costs)
    costs, lds = costs[order], lds[order]
    if lds[0] >= target:
        return float(costs[0]), "at most"
    for i in range(1, len(costs)):
        if lds[i] >= target:
            f = (target - lds[i - 1]) / (lds[i] - lds[i - 1])
            return float(np.exp(np.log(costs[i - 1]) + f * np.log(costs[i] / costs[i - 1]))), "="
    return float("nan"), "never reached"


def equal_lds(rows: pd.DataFrame, tie: float = 0.01) -> dict:
    """The cost-at-equal-LDS comparison for KernelSM (module docstring)."""
    k = rows[rows.method == "kernel_sm"]
    gx, rt = k[k.labels == "gradex"], k[k.labels == "retrain"]
    best = gx.lds.max()
    reach = gx[gx.lds >= best - tie].sort_values("label_cpu_s").iloc[0]
    cost, how = _interp(rt.label_cpu_s.to_numpy(float), rt.lds.to_numpy(float), float(best))
    return {"target_lds": float(best), "gradex_cpu_s": float(reach.label_cpu_s),
            "gradex_n_labels": int(reach.n_labels), "retrain_cpu_s": cost,
            "retrain_cost_is": how, "ratio_retrain_over_gradex": cost / float(reach.label_cpu_s),
            "best_retrain_lds": float(rt.lds.max()),
            "best_retrain_cpu_s": float(rt.sort_values("lds").iloc[-1].label_cpu_s)}


@register_stage("label_cost")
@dataclass(frozen=True)
class LabelCost(Stage):
    """LDS against the CPU-seconds spent on labels, retrained vs GradEx (module docstring):
    ``retrain_m`` / ``gradex_m`` label counts (0 = every label; counts past what the source
    has are dropped), ``surrogates`` fitted on each, ``points`` fitted once, the first
    ``timed_subsets`` fitting subsets retrained to time a label, ``tie`` in LDS."""

    retrain_m: tuple[int, ...] = (4, 8, 16, 32, 64, 0)
    gradex_m: tuple[int, ...] = (16, 64, 256, 1024, 0)
    surrogates: Methods = (("kernel_sm", {}), ("linear_surrogate", {"fit_type": "ridge"}))
    points: Methods = (("influence", {}), ("trak", {}))
    timed_subsets: int = 16
    tie: float = 0.01

    def run(self, cell: CellInputs) -> StageOutput:
        task, store = cell.task, cell.store
        if make_method("gradex", {}).applies(task):  # no GradEx labels on this task
            return StageOutput()
        rows, facts = self.curve(task, store)
        frame = pd.DataFrame(rows)[list(COLUMNS)]
        summary = {"task": task.label, "task_key": task.spec.key,
                   "profile": task.spec.profile, **facts, **equal_lds(frame, self.tie)}
        return StageOutput(tables=[Table(CSV, frame, ("task_key", "profile", "method_key")),
                                   Table(SUMMARY_CSV, pd.DataFrame([summary]),
                                         ("task_key", "profile"))])

    def curve(self, task: RetrainTask, store: GroundTruthStore) -> tuple[list[dict], dict]:
        """Every point of the cell, and its timing facts."""
        w0_s, _ = cpu_timed(lambda: pretrained_params(task))
        per_label = retrain_cost(task, store, self.timed_subsets)
        feat_s, gx_label, gx_m = gradex_cost(task, store)
        grids = {"retrain": label_grid(self.retrain_m, len(store.rows.index("fit"))),
                 "gradex": label_grid(self.gradex_m, gx_m)}
        rows = []
        for name, params in self.surrogates:
            for source, grid in grids.items():
                for m in grid:
                    p = point(task, store, name, {**params, "labels": source, "max_labels": m})
                    p["label_cpu_s"] = (p["n_labels"] * per_label if source == "retrain"
                                        else feat_s + p["n_labels"] * gx_label)
                    rows.append(p)
        rows += [{**point(task, store, name, params), "label_cpu_s": 0.0}
                 for name, params in self.points]
        facts = {"retrain_cpu_s_per_label": per_label,
                 "seeds_per_label": int(store.done.shape[1]),
                 "gradex_features_cpu_s": feat_s, "gradex_cpu_s_per_label": gx_label,
                 "gradex_m": gx_m, "w0_cpu_s": w0_s}
        ident = {"task": task.label, "task_key": task.spec.key, "profile": task.spec.profile}
        return [{**ident, **r} for r in rows], facts

    def report(self, out_dir: Path) -> str:
        if not (out_dir / SUMMARY_CSV).exists():
            return ""
        table = read_table(out_dir / SUMMARY_CSV)
        cols = ["task", "profile", "target_lds", "gradex_cpu_s", "retrain_cpu_s",
                "retrain_cost_is", "ratio_retrain_over_gradex"]
        with pd.option_context("display.width", 200):
            return ("label cost at equal LDS (KernelSM; CPU-s, W0 excluded)\n"
                    + table[cols].to_string(index=False, float_format="%.3g"))
