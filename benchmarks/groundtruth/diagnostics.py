"""Ground-truth diagnostics: do the subset models learn, and is F(s) signal or seed noise?

Written to ``leaderboard/groundtruth.csv`` by ``replicate``, so the evidence behind a profile's
setting (datasets/modular_arithmetic.md) is regenerated with the results.
"""

from __future__ import annotations

import numpy as np

from benchmarks.api.task import Task
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.training.pretrained import w0_quality


def seed_reliability(values: np.ndarray) -> float:
    """Mean over targets of the across-subset Pearson correlation of seed 0 vs seed 1.

    ``values: (m, R, n_targets)``. 1 = F is all subset signal, 0 = all training noise. NaN if R < 2.
    """
    if values.shape[1] < 2:
        return float("nan")
    a, b = values[:, 0], values[:, 1]
    a, b = a - a.mean(0), b - b.mean(0)
    denom = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    ok = denom > 0
    return float(((a * b).sum(0)[ok] / denom[ok]).mean()) if ok.any() else float("nan")


def subset_spread(values: np.ndarray) -> float:
    """Mean over targets of the across-subset standard deviation of F (seeds averaged):
    ``values: (m, R, n_targets)``. Near 0: every subset model computes the same F, so there is
    nothing to attribute (e.g. a W0 that fine-tuning barely moves)."""
    return float(values.mean(1).std(0).mean()) if len(values) > 1 else float("nan")


def summarise_ground_truth(task: Task, store: GroundTruthStore) -> dict:
    """Held-out accuracy of the evaluation-subset models, chance level, seed reliability, the
    spread of F across subsets and, in the fine-tuning regime, W0's held-out accuracy and the
    fine-tuning budget."""
    idx = store.rows.index("eval")
    row = {"task": task.label, "task_key": task.spec.key, "profile": task.spec.profile,
           "K": task.K, "n_targets": task.n_targets, "n_models": int(store.done.size)}
    loss = store.array(task.primary)[idx]
    row["mean_target_loss"] = float(loss.mean())
    row["seed_reliability"] = seed_reliability(loss)
    row["subset_spread"] = subset_spread(loss)
    if "correct" in store.outputs:
        acc = store.array("correct")[idx].mean(-1).ravel()
        has_full = len(store.rows.index("full")) > 0  # designs without LOO rows have none
        full = float(store.mean("correct", "full").mean()) if has_full else float("nan")
        row.update(mean_acc=float(acc.mean()), p10_acc=float(np.percentile(acc, 10)),
                   full_acc=full)
    if task.chance is not None:
        row["chance_acc"] = task.chance
    if task.spec.train.init == "pretrained":
        t = task.spec.train
        row.update(w0_quality(task), pretrain_steps=t.pretrain_steps, ft_steps=t.steps,
                   ft_lr=t.lr)
    return row
