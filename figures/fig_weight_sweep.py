"""Does the label-free weight objective track LDS? (METHODS.md §2.9; benchmarks/weight_sweep.py)

One panel per task: every weight vector of a simplex grid, placed by the weighted method's SNR
objective (x: −loss, higher = what the learner prefers) and the LDS of the weighted scores on
held-out subsets (y), a colour per base method; the uniform point (the base method itself) is
ringed in black. A cloud rising to the right means the objective points toward better LDS.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

SLUG = "weight_sweep"
SOURCE = "weight_sweep"


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Grid rows with finite LDS and loss."""
    return df[df["lds"].notna() & df["ssl"].notna()]


def make(df: pd.DataFrame) -> Figure:
    """Scatter of −SNR loss against LDS, per task and base method."""
    data = select(df)
    if data.empty:
        raise ValueError("no weight-grid rows to plot")
    panels = list(data.groupby(["task", "profile"], sort=True))
    fig = Figure(figsize=(4.6 * len(panels), 3.9), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, ((task, profile), rows) in zip(axes, panels, strict=True):
        for i, (label, g) in enumerate(rows.groupby("method_label", sort=True)):
            color = f"C{i}"
            ax.scatter(-g["ssl"], g["lds"], s=12, color=color, alpha=0.7, label=label)
            u = g[g["uniform"].astype(bool)]
            ax.scatter(-u["ssl"], u["lds"], s=60, facecolor="none", edgecolor="black")
        ax.set_title(f"{task} [{profile}]", fontsize=9)
        ax.set_xlabel("−SNR loss (the learner's objective)", fontsize=8)
        ax.set_ylabel("LDS of the weighted scores", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6, loc="best")
    fig.suptitle("Weight grid: label-free objective vs LDS (ringed: uniform = base method)",
                 fontsize=10)
    return fig
