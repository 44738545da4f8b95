"""Ground-truth diagnostics: do the subset models learn, and is F(s) signal or seed noise?

Written to ``leaderboard/groundtruth.csv`` by ``replicate``, so the evidence behind a profile's
setting (datasets/modular_arithmetic.md) is regenerated with the results.

A cell whose models are at chance (``is_at_chance``) has nothing to attribute: its metrics and
claims are not meaningful. The rule: the mean held-out accuracy of the evaluation-subset models
is at most chance + ``CHANCE_SES`` standard errors of one guessing model's accuracy on the
cell's targets, ``sqrt(chance (1 - chance) / n_targets)``. One model's, not the mean's: the
subset models share their targets and most of their data, so their errors are correlated and
averaging them does not shrink the noise of a guesser's score by sqrt(n_models). Two standard
errors leave a guesser below the line about 98% of the time (one-sided normal). A cell whose
models fall below chance (a systematically wrong rule, e.g. memorised modular pairs) is at
chance too. Cells without an accuracy or a chance level (``task.chance`` None, e.g. MT10's
behaviour cloning) are never flagged.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.api.claims import AT_CHANCE
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
    flag = is_at_chance(row)
    if flag is not None:
        row[AT_CHANCE] = flag
    if task.spec.train.init == "pretrained":
        t = task.spec.train
        row.update(w0_quality(task), pretrain_steps=t.pretrain_steps, ft_steps=t.steps,
                   ft_lr=t.lr)
    return row


CHANCE_SES = 2.0  # standard errors above chance still read as chance (module docstring)


def chance_line(chance: float, n_targets: int) -> float:
    """The held-out accuracy at or below which a cell's models are at chance: chance +
    ``CHANCE_SES`` x sqrt(chance (1 - chance) / n_targets) (module docstring)."""
    return chance + CHANCE_SES * math.sqrt(chance * (1.0 - chance) / max(int(n_targets), 1))


def is_at_chance(diag: dict | pd.Series) -> bool | None:
    """Whether a ground-truth diagnostics row (``summarise_ground_truth``, a ``groundtruth.csv``
    row) has its models at chance; None where the row has no accuracy or no chance level."""
    acc, chance, n = (_number(diag.get(k)) for k in ("mean_acc", "chance_acc", "n_targets"))
    if acc is None or chance is None or n is None:
        return None
    return bool(acc <= chance_line(chance, int(n)))


def at_chance(diag: dict | pd.Series) -> str | None:
    """One line to print when the row's models are at chance (None otherwise), e.g. ``models at
    chance: held-out accuracy 0.00 (chance 0.09, at chance up to 0.21); metrics and claims are
    not meaningful``."""
    if not is_at_chance(diag):
        return None
    chance = float(diag["chance_acc"])
    return (f"models at chance: held-out accuracy {float(diag['mean_acc']):.2f} (chance "
            f"{chance:.2f}, at chance up to {chance_line(chance, int(diag['n_targets'])):.2f});"
            f" metrics and claims are not meaningful")


def with_at_chance(results: pd.DataFrame, groundtruth: pd.DataFrame | str | Path
                   ) -> pd.DataFrame:
    """``results`` (``results.csv`` rows) with the boolean column ``AT_CHANCE`` of each row's
    cell, read from the ground-truth diagnostics (``groundtruth.csv``, or its path: an absent
    file flags nothing) by (task_key, profile) and derived by ``is_at_chance`` from the
    accuracy, chance and target count (files written before the column existed work the same).
    The claims mark the checks of such a cell not meaningful (``benchmarks.api.claims``)."""
    if not isinstance(groundtruth, pd.DataFrame):
        path = Path(groundtruth)
        groundtruth = pd.read_csv(path) if path.exists() else pd.DataFrame()
    flagged = set()
    if {"task_key", "profile"} <= set(groundtruth.columns):
        flagged = {(r["task_key"], r["profile"]) for _, r in groundtruth.iterrows()
                   if is_at_chance(r)}
    out = results.copy()
    keys = zip(out["task_key"], out["profile"], strict=True) if len(out) else []
    out[AT_CHANCE] = pd.Series([k in flagged for k in keys], index=out.index, dtype=bool)
    return out


def _number(x: object) -> float | None:
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
