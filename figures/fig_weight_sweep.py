"""Does the label-free weight objective track LDS? Weighted methods on a simplex grid of
parameter-group weights (methods/METHODS.md §2.9, benchmarks/stages/weight_sweep.py).

One panel per task: every weight vector of a simplex grid, placed by the weighted method's SNR
objective (x: −loss, higher = what the learner prefers) and the LDS of the weighted scores on
held-out subsets (y), a colour per base method; the uniform point (the base method itself) is
ringed in black. A cloud rising to the right means the objective points toward better LDS.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

SLUG = "weight_sweep"
SOURCE = "weight_sweep"
CLAIMS = ("C8",)
PER_TASK = True
TASK_CAPTION = ("Does the label-free weight objective track LDS on {task}? Every weight vector "
                "of a simplex grid by its SNR objective (x) and LDS (y), the uniform weights "
                "ringed.")


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Grid rows with finite LDS and loss."""
    return df[df["lds"].notna() & df["ssl"].notna()]


def make(df: pd.DataFrame) -> Figure:
    """Scatter of −SNR loss against LDS, per task and base method."""
    data = select(df)
    if data.empty:
        raise ValueError("no weight-grid rows to plot")
    panels = list(data.groupby(["task", "profile"], sort=True))
    colors = {m: f"C{i}" for i, m in enumerate(sorted(data["method_label"].unique()))}
    fig = Figure(figsize=(4.6 * len(panels), 4.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, ((task, profile), rows) in zip(axes, panels, strict=True):
        for label, g in rows.groupby("method_label", sort=True):
            ax.scatter(-g["ssl"], g["lds"], s=12, color=colors[label], alpha=0.7)
            u = g[g["uniform"].astype(bool)]
            ax.scatter(-u["ssl"], u["lds"], s=60, facecolor="none", edgecolor="black")
        ax.set_title(f"{task} [{profile}]", fontsize=9)
        ax.set_xlabel("−SNR loss (the learner's objective)", fontsize=8)
        ax.set_ylabel("LDS of the weighted scores", fontsize=8)
        ax.tick_params(labelsize=7)
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=m)
               for m, c in colors.items()]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)),
               fontsize=7)
    fig.suptitle("Weight grid: label-free objective vs LDS (ringed: uniform = base method)",
                 fontsize=10)
    return fig
