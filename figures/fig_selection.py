"""Downstream selection (claim C6): the retrained target loss of each method's proposal.

One panel per task: bars for every method's size-k proposal (``loss@k``), with the random
size-k baseline and the all-units model as horizontal lines; lower is better.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

SLUG = "selection"
SOURCE = "results"
CLAIMS = ("C6",)
PER_TASK = True
TASK_CAPTION = ("Downstream selection (claim C6) on {task}: the retrained target loss of each "
                "method's size-k proposal against the random size-k baseline and the all-units "
                "model; lower is better.")


def select(df: pd.DataFrame) -> pd.DataFrame:
    """``selection`` rows with variant ``loss@k``."""
    out = df[(df["metric"] == "selection") & (df["variant"] == "loss@k")].copy()
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out


def make(df: pd.DataFrame) -> Figure:
    """Bar chart per (task, profile)."""
    data = select(df)
    if data.empty:
        raise ValueError("no selection rows to plot")
    groups = list(data.groupby(["task", "profile"], sort=True))
    fig = Figure(figsize=(9, 3.6 * len(groups) + 0.4), layout="constrained")
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, ((task, profile), rows) in zip(axes, groups, strict=True):
        base = rows[rows["method"] == "baseline"].set_index("method_key")["value"]
        bars = rows[rows["method"] != "baseline"].sort_values(
            ["value", "method_label", "method_key"], kind="stable")  # ties: by name, not time
        ax.barh(bars["method_label"], bars["value"], color="C0")
        for key, style, name in (("random-k", "--", "random size-k"), ("all-units", ":",
                                                                       "all units")):
            if key in base:
                ax.axvline(base[key], color="C3", linestyle=style, label=name)
        ax.invert_yaxis()
        ax.set_xlabel("retrained target loss of the proposal (lower is better)", fontsize=8)
        ax.set_title(f"{task} ({profile})", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("C6: downstream selection, true loss of each method's size-k proposal")
    return fig
