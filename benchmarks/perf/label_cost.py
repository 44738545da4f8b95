"""The paper's headline, measured: LDS against label cost, GradEx labels vs retrained labels.

``python -m benchmarks.perf.label_cost`` -> ``bench.json`` entry ``gradex_vs_retrain_finetune``
and ``leaderboard/label_cost.csv`` (the figure ``label_cost`` draws it).

On each fine-tuning cell (subset models fine-tuned from a shared W0, the regime GradEx is
about), in one process and on the suite's own store: the CPU-seconds of one retrained label
(``task.evaluate`` on fitting subsets: R fine-tunings per label, the ground-truth path) and of
GradEx labels (projected Jacobians at W0 once, then one linearised solve per subset); then
KernelSM and the ridge linear surrogate fitted on the first m labels of each source, and IF and
TRAK as points (no labels: their cost is their own fit). Every point's LDS (Spearman) and NE
are the suite's metric rows of that fit (``run_cell``, evaluation subsets only). W0's
pretraining is shared by every point and reported apart, not added.

**Cost at equal LDS.** The target is the best LDS KernelSM reaches on GradEx labels, at the
cheapest GradEx label count that reaches it within ``TIE``; the retrained cost of that LDS is
interpolated on log-cost between the two retrained points around it (or bounded by the
cheapest retrained point when that already does better). ``ratio = retrained cost / GradEx
cost``: above 1 GradEx labels are cheaper at equal LDS, as the paper finds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.common.tables import read_table, write_table
from benchmarks.groundtruth.executors import fill_ground_truth
from benchmarks.groundtruth.fill import model_seed, open_store
from benchmarks.groundtruth.fullmodel import linearisation_point
from benchmarks.oracles.gradex import estimate, features, gradex_config, solve_subsets
from benchmarks.oracles.labels import gradex_masks
from benchmarks.perf.engine import BENCH_JSON, cpu_timed, write_entry
from benchmarks.runner import run_cell
from benchmarks.training.pretrained import pretrained_params

TASKS = ("modular-addition-ft", "modular-quad-ft")
RETRAIN_M = (4, 8, 16, 32, 64, 0)  # 0 = every retrained fitting label
GRADEX_M = (16, 64, 256, 1024, 0)
SURROGATES = (("kernel_sm", {}), ("linear_surrogate", {"fit_type": "ridge"}))
POINTS = (("influence", {}), ("trak", {}))
TIE = 0.01
ENTRY = "gradex_vs_retrain_finetune"
CSV = Path("leaderboard/label_cost.csv")
COLUMNS = ("task", "profile", "method", "labels", "n_labels", "label_cpu_s", "fit_s",
           "lds", "lds_low", "lds_high", "ne")


def retrain_cost(task, store, n: int) -> float:
    """CPU-seconds of one retrained label: the R fine-tunings of each of ``n`` fitting subsets,
    trained as the ground-truth fill does (one batched engine call)."""
    rows = store.rows
    fit = rows.index("fit")[:n]
    R = store.done.shape[1]
    masks = np.repeat(rows.masks[fit], R, axis=0)
    seeds = [model_seed(task, rows, j, r) for j in fit for r in range(R)]
    secs, _ = cpu_timed(lambda: task.evaluate(masks, seeds, task.training_engine))
    return secs / len(fit)


def gradex_cost(task, store) -> tuple[float, float, int]:
    """(one-off feature CPU-s, CPU-s per label, m): GradEx at W0 on its own subsets."""
    config = gradex_config(task.spec.profile)
    tm = linearisation_point(task, store)
    masks = gradex_masks(task.spec.design, store, config.n_subsets, task.spec.base_key)
    t_feat, feat = cpu_timed(lambda: features(tm, config, f"{task.spec.key}/gradex"))
    t_solve, sol = cpu_timed(lambda: solve_subsets(feat, task.example_weights(masks), config.lam_z))
    t_est, _ = cpu_timed(lambda: estimate(feat, sol.Z))
    return t_feat, (t_solve + t_est) / len(masks), len(masks)


def _grid(grid: tuple[int, ...], available: int) -> list[int]:
    """The label counts below ``available``, then 0 (every label)."""
    return [m for m in grid if 0 < m < available] + [0]


def _metric(rows: list[dict], metric: str, variant: str) -> dict:
    return next((r for r in rows if r["metric"] == metric and r["variant"] == variant), {})


def point(task, store, name: str, params: dict) -> dict:
    """One fit's LDS (with its CI), NE, label count and fit CPU-s, from its metric rows."""
    method = make_method(name, params)
    secs, record = cpu_timed(lambda: run_cell(task, store, method, force=True))
    lds, ne = _metric(record["rows"], "lds", "spearman"), _metric(record["rows"], "residual", "ne")
    return {"method": method.display, "labels": method.labels,
            "n_labels": int(lds.get("n_labels", 0)), "fit_s": secs, "lds": lds.get("value"),
            "lds_low": lds.get("ci_low"), "lds_high": lds.get("ci_high"), "ne": ne.get("value")}


def curve(task_name: str, profile: str, workers: int) -> tuple[list[dict], dict]:
    """Every point of one task, and its timing facts."""
    fill_ground_truth(make_task(task_name, profile), workers=workers)
    task = make_task(task_name, profile)
    store = open_store(task)
    w0_s, _ = cpu_timed(lambda: pretrained_params(task))
    per_label = retrain_cost(task, store, 16)
    feat_s, gx_label, gx_m = gradex_cost(task, store)
    grids = {"retrain": _grid(RETRAIN_M, len(store.rows.index("fit"))),
             "gradex": _grid(GRADEX_M, gx_m)}
    rows = []
    for name, params in SURROGATES:
        for source, grid in grids.items():
            for m in grid:
                p = point(task, store, name, {**params, "labels": source, "max_labels": m})
                p["label_cpu_s"] = (p["n_labels"] * per_label if source == "retrain"
                                    else feat_s + p["n_labels"] * gx_label)
                rows.append(p)
    for name, params in POINTS:
        rows.append({**point(task, store, name, params), "label_cpu_s": 0.0})
    facts = {"retrain_cpu_s_per_label": per_label, "seeds_per_label": int(store.done.shape[1]),
             "gradex_features_cpu_s": feat_s, "gradex_cpu_s_per_label": gx_label,
             "gradex_m": gx_m, "w0_cpu_s": w0_s}
    return [{"task": task_name, "profile": profile, **r} for r in rows], facts


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


def equal_lds(rows: pd.DataFrame) -> dict:
    """The cost-at-equal-LDS comparison for KernelSM (module docstring)."""
    k = rows[rows.method.str.startswith("KernelSM")]
    gx, rt = k[k.labels == "gradex"], k[k.labels == "retrain"]
    best = gx.lds.max()
    reach = gx[gx.lds >= best - TIE].sort_values("label_cpu_s").iloc[0]
    cost, how = _interp(rt.label_cpu_s.to_numpy(float), rt.lds.to_numpy(float), float(best))
    return {"target_lds": float(best), "gradex_cpu_s": float(reach.label_cpu_s),
            "gradex_n_labels": int(reach.n_labels), "retrain_cpu_s": cost,
            "retrain_cost_is": how, "ratio_retrain_over_gradex": cost / float(reach.label_cpu_s),
            "best_retrain_lds": float(rt.lds.max()),
            "best_retrain_cpu_s": float(rt.sort_values("lds").iloc[-1].label_cpu_s)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.label_cost", description=__doc__)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--csv", type=Path, default=CSV)
    args = ap.parse_args(argv)
    all_rows, per_task = [], {}
    for name in args.tasks:
        rows, facts = curve(name, args.profile, args.workers)
        all_rows += rows
        per_task[name] = {**facts, **equal_lds(pd.DataFrame(rows))}
        print(json.dumps({name: per_task[name]}, indent=1, default=float))
    df = pd.DataFrame(all_rows)[list(COLUMNS)]
    if args.csv.exists():
        old = read_table(args.csv)
        old = old[~(old.task.isin(args.tasks) & (old.profile == args.profile))]
        df = pd.concat([old, df], ignore_index=True)
    write_table(args.csv, df)
    old = json.loads(BENCH_JSON.read_text()).get(ENTRY, {}) if BENCH_JSON.exists() else {}
    tasks = {**old.get("tasks", {}), **per_task} if old.get("profile") == args.profile else per_task
    write_entry(ENTRY, {"profile": args.profile, "tasks": tasks, "tie": TIE,
                        "provenance": provenance()})


if __name__ == "__main__":
    main()
