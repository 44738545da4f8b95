"""Claim C1: linear-surrogate coefficients, influence functions and LOO on the same pairs.

One row per task, three panels (β̂ vs LOO, IF vs LOO, β̂ vs IF); every point is a (unit, target)
score, the title gives the pooled Pearson as in the KernelSM notebook
(benchmarks/papers/kernelsm/REPLICATION.md C1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .printed import note

SLUG = "c1_scatter"
SOURCE = "scores"
CLAIMS = ("C1",)
PER_TASK = True
TASK_CAPTION = ("Claim C1 on {task}: linear-surrogate coefficients, influence functions and LOO "
                "on the same (unit, target) pairs, each panel titled with their pooled Pearson r.")
PAIRS = (("loo", "linear", "LOO Δ", "linear β̂"), ("loo", "influence", "LOO Δ", "IF"),
         ("influence", "linear", "IF", "linear β̂"))
MAX_POINTS = 10_000


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with all three scores finite."""
    cols = [c for c in ("loo", "linear", "influence") if c in df]
    if len(cols) < 3:
        return df.iloc[0:0]
    return df[np.isfinite(df[cols].apply(pd.to_numeric, errors="coerce")).all(axis=1)]


def make(df: pd.DataFrame) -> Figure:
    """Grid: tasks down, the three score pairs across."""
    data = select(df)
    if data.empty:
        raise ValueError("no C1 score rows to plot")
    groups = list(data.groupby(["task", "profile"], sort=True))
    fig = Figure(figsize=(10.5, 3.4 * len(groups) + 0.4), layout="constrained")
    axes = fig.subplots(len(groups), 3, squeeze=False)
    for i, ((task, profile), rows) in enumerate(groups):
        shown = rows.sample(MAX_POINTS, random_state=0) if len(rows) > MAX_POINTS else rows
        for j, (x, y, xl, yl) in enumerate(PAIRS):
            ax = axes[i, j]
            r = float(np.corrcoef(rows[x], rows[y])[0, 1])
            shown_r = note(fig, f"{r:.3f}", r, "scores", f"pearson:{x}:{y}", task=task,
                           profile=profile)
            ax.scatter(shown[x], shown[y], s=4, alpha=0.35, linewidths=0, rasterized=True)
            ax.axhline(0, color="#999999", linewidth=0.6)
            ax.axvline(0, color="#999999", linewidth=0.6)
            ax.set_title(f"{task} ({profile}): r = {shown_r}", fontsize=9)
            ax.set_xlabel(xl, fontsize=8)
            ax.set_ylabel(yl, fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle("C1: unit scores per (unit, target) pair; pooled Pearson r")
    return fig
