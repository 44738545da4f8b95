"""Learned parameter-group weights (methods/METHODS.md §2.9): a heatmap of weight by group and
method, 1 being the unweighted base method.

One panel per task; rows are the per-layer weighted methods (base method, k: the
``param_weighted`` keys at the default ``granularity``, layers), columns the layers in model
order. Weights live on the scaled simplex (they sum to the number of groups), so 1.0 is the
unweighted base method and the colour scale is centred there.
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from benchmarks.common.schema import parse_method_key

from .printed import note

SLUG = "param_weights"
SOURCE = "weights"
CLAIMS = ("C8",)
PER_TASK = True
TASK_CAPTION = ("Learned parameter-group weights on {task} (methods/METHODS.md §2.9): weight by "
                "group and weighted method, 1 being the unweighted base method.")
METHOD = "param_weighted"
GRANULARITY = "layer"  # the method's default (a key names a granularity only when it is not)


def _per_layer(key: str) -> bool:
    """Whether a method key is a ``param_weighted`` method weighting layers."""
    name, fields = parse_method_key(key)
    return name == METHOD and fields.get("granularity", GRANULARITY) == GRANULARITY


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Learned weights of the per-layer methods (``leaderboard/param_weights.csv``)."""
    return df[df["weight"].notna() & df["method_key"].map(_per_layer)]


def make(df: pd.DataFrame) -> Figure:
    """One heatmap per (task, profile), stacked: rows = weighted methods, columns = groups."""
    data = select(df)
    if data.empty:
        raise ValueError("no learned weights to plot")
    panels = list(data.groupby(["task", "profile"], sort=True))
    heights = [0.4 * r["method_label"].nunique() + 0.9 for _, r in panels]
    width = 4.5 + 1.0 * data.groupby("task")["group"].nunique().max()
    fig = Figure(figsize=(width, sum(heights) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    norm = TwoSlopeNorm(vcenter=1.0, vmin=0.0, vmax=max(float(data["weight"].max()), 1.01))
    for ax, ((task, profile), rows) in zip(axes, panels, strict=True):
        order = list(dict.fromkeys(rows["group"]))  # model order, as the rows were written
        grid = rows.pivot_table(index="method_label", columns="group", values="weight",
                                aggfunc="first")[order]
        text = [[note(fig, f"{w:.2f}", w, "weights", "weight", task=task, profile=profile,
                      method_label=label, group=group) if pd.notna(w) else ""
                 for group, w in line.items()] for label, line in grid.iterrows()]
        sns.heatmap(grid, ax=ax, annot=pd.DataFrame(text).to_numpy(), fmt="", cmap="RdBu_r",
                    norm=norm,
                    annot_kws={"fontsize": 7}, cbar_kws={"label": "weight (1 = base)"})
        ax.set_title(f"{task} [{profile}]", fontsize=9)
        ax.set_xlabel("parameter group", fontsize=8)
        ax.set_ylabel("")
        ax.tick_params(labelsize=7)
    fig.suptitle("Learned parameter-group weights (self-supervised, no labels)", fontsize=10)
    return fig
