"""GradEx label cost vs retraining: ``python -m benchmarks.perf.gradex`` (methods/METHODS.md §2.8).

Side by side in one process, on the same task: (a) GradEx labels, i.e. features at W0 once
(projected Jacobians) plus batched GLM solves for m subsets, amortised over m; (b) retrained
labels with the batched engine (the ground-truth path), ``n_retrain`` subset models. A retrained
label averages R = ``design.n_seeds`` models, so the per-label ratio is
``R * (retrain s/model) / (GradEx s/label)``; the one W0 training GradEx needs is timed too
and reported both excluded and included (amortised over m). Entry ``gradex_labels`` of
``leaderboard/bench.json``.

``--sweep`` adds ``gradex_lam_sweep``: the relative error (§3.4) and per-target Spearman of the
estimates on the FITTING subsets (retrained labels; never evaluation subsets) over the lam_z
grid, and the lam_z the rule of ``benchmarks.oracles.gradex.PROFILE_DEFAULTS`` picks.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.api.task import make_task
from benchmarks.common.formulas import relative_error
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.fill import model_seed, open_store
from benchmarks.groundtruth.fullmodel import full_model
from benchmarks.metrics.lds import per_target_spearman
from benchmarks.oracles.gradex import (
    LAM_GRID,
    LAM_TIE,
    estimate,
    features,
    gradex_config,
    solve_subsets,
)
from benchmarks.oracles.labels import gradex_masks
from benchmarks.perf.engine import BENCH_JSON, write_entry
from benchmarks.training.engine import train


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_labels(task_name: str, profile: str, n_retrain: int) -> dict:
    """GradEx labels/s vs retrained models/s (module docstring)."""
    task = make_task(task_name, profile)
    store = open_store(task)
    config = gradex_config(profile)
    tm = full_model(task, store)
    masks = gradex_masks(task.spec.design, store, config.n_subsets, task.spec.base_key)
    t_feat, feat = _timed(lambda: features(tm, config, f"{task.spec.key}/gradex"))
    t_solve, sol = _timed(lambda: solve_subsets(feat, task.example_weights(masks),
                                                config.lam_z))
    t_est, _ = _timed(lambda: estimate(feat, sol.Z))
    problem = task.problem()
    idx = store.rows.index("fit")[:n_retrain]
    seeds = [model_seed(task, store.rows, j, 0) for j in idx]
    weights = torch.as_tensor(task.example_weights(store.rows.masks[idx])).float()
    t_retrain, _ = _timed(lambda: train(problem, weights, seeds, task.spec.train, "batched"))
    w_full = torch.as_tensor(task.example_weights(np.ones((1, task.K), bool))).float()
    t_w0, _ = _timed(lambda: train(problem, w_full, seeds[:1], task.spec.train, "loop"))
    m, R = len(masks), task.spec.design.n_seeds
    gradex_s = (t_feat + t_solve + t_est) / m
    retrain_s = t_retrain / len(idx)
    return {"task": task.label, "task_key": task.spec.key, "profile": profile,
            "config": {"k": feat.k, "lam_z": config.lam_z, "m": m,
                       "projection": config.projection}, "n_retrain": len(idx),
            "seeds_per_label": R, "features_s": t_feat, "solve_s": t_solve,
            "estimate_s": t_est, "max_kkt": sol.max_residual, "iterations": sol.iterations,
            "w0_train_s": t_w0, "retrain_s_per_model": retrain_s,
            "gradex_labels_per_s": 1 / gradex_s, "retrain_models_per_s": 1 / retrain_s,
            "ratio_per_model": retrain_s / gradex_s,
            "ratio_per_label": R * retrain_s / gradex_s,
            "ratio_per_label_incl_w0": R * retrain_s / (gradex_s + t_w0 / m),
            "provenance": provenance()}


def sweep_lam(task_name: str, profile: str) -> dict:
    """Fit-subset RE and Spearman of the estimates over ``LAM_GRID`` at the profile's k."""
    task = make_task(task_name, profile)
    store = open_store(task)
    config = gradex_config(profile)
    feat = features(full_model(task, store), config, f"{task.spec.key}/gradex")
    masks = store.rows.masks[store.rows.index("fit")]
    F = store.mean(task.primary, "fit")
    rows = []
    for lam in LAM_GRID:
        sol = solve_subsets(feat, task.example_weights(masks), lam)
        est = estimate(feat, sol.Z)[task.primary]
        rows.append({"lam_z": lam, "re_fit": float(100 * relative_error(F, est).mean()),
                     "spearman_fit": float(np.nanmean(per_target_spearman(est, F))),
                     "disp": float(feat.displacement(sol.Z).mean())})
    base = estimate(feat, torch.zeros(1, feat.k, dtype=torch.float64))[task.primary]
    best = min(r["re_fit"] for r in rows)
    chosen = min(r["lam_z"] for r in rows if r["re_fit"] <= best + LAM_TIE)
    return {"task": task.label, "task_key": task.spec.key, "profile": profile, "k": feat.k,
            "n_fit": len(masks), "re_fit_w0_only": float(100 * relative_error(F, base).mean()),
            "rows": rows, "chosen_lam_z": chosen, "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.gradex", description=__doc__)
    ap.add_argument("--task", default="modular-addition")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--n-retrain", type=int, default=16)
    ap.add_argument("--sweep", action="store_true", help="also the lam_z sweep on fit subsets")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    entry = bench_labels(args.task, args.profile, args.n_retrain)
    write_entry("gradex_labels", entry, BENCH_JSON)
    print({k: v for k, v in entry.items() if k != "provenance"})
    if args.sweep:
        sweep = sweep_lam(args.task, args.profile)
        write_entry("gradex_lam_sweep", sweep, BENCH_JSON)
        for row in sweep["rows"]:
            print(row)
        print("W0 only:", sweep["re_fit_w0_only"], "chosen lam_z:", sweep["chosen_lam_z"])


if __name__ == "__main__":
    main()
