"""Cost/accuracy of KernelSM's labels: LDS against the number of fitted F(s) labels.

Retrained labels (each costs R model trainings) against first-order GradEx labels (after one
full-set training, each costs a small convex solve; methods/METHODS.md §2.8), one panel per task,
from the ``lds`` rows of KernelSM (CV) fitted on the first m labels (``max_labels``).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

SLUG = "label_curve"
SOURCE = "results"
PREFIX = "KernelSM (CV)"
STYLES = {"retrain": ("C0", "retrained labels"), "gradex": ("C1", "GradEx labels")}


def select(df: pd.DataFrame) -> pd.DataFrame:
    """KernelSM (CV) LDS rows on tasks with at least two label counts of one source."""
    rows = df[(df["metric"] == "lds") & (df["variant"] == "spearman")
              & df["method_label"].astype(str).str.startswith(PREFIX)].copy()
    if rows.empty:
        return rows
    for col in ("value", "ci_low", "ci_high", "n_labels"):
        rows[col] = pd.to_numeric(rows[col], errors="coerce")
    counts = rows.groupby(["task_key", "labels"])["n_labels"].nunique()
    keep = counts[counts >= 2].reset_index()["task_key"].unique()
    return rows[rows["task_key"].isin(keep)]


def make(df: pd.DataFrame) -> Figure:
    """One panel per task: LDS (with CIs) against labels, a line per label source."""
    data = select(df)
    if data.empty:
        raise ValueError("no KernelSM label-count rows to plot")
    groups = list(data.groupby(["task", "profile"], sort=True))
    fig = Figure(figsize=(5.2 * len(groups), 3.8), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, ((task, profile), rows) in zip(axes, groups, strict=True):
        for source, (color, name) in STYLES.items():
            r = rows[rows["labels"] == source].sort_values("n_labels")
            if r.empty:
                continue
            ax.errorbar(r["n_labels"], r["value"], yerr=[r["value"] - r["ci_low"],
                                                          r["ci_high"] - r["value"]],
                        marker="o", color=color, label=name, capsize=2)
        ax.set_xscale("log")
        ax.set_xlabel("labels fitted (subsets)", fontsize=8)
        ax.set_ylabel("LDS", fontsize=8)
        ax.set_title(f"{task} ({profile})", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("KernelSM: LDS against the number and source of F(s) labels")
    return fig
