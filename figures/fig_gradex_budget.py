"""Where the first-order estimate stops holding: GradEx's relative error against the number
of fine-tuning steps from W0.

One line per fine-tuning cell and profile (``leaderboard/gradex_budget.csv``, written by the
``gradex_budget`` stage of ``replicate``): ``RE_est`` (GradEx's estimate against the real
fine-tuned F) solid, ``RE_lin`` (the exact first-order expansion at W0 against it) dashed; a
marker shows each cell's own budget. The paper's 2.4% (modular arithmetic) is drawn for scale.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

SLUG = "gradex_budget"
SOURCE = "gradex_budget"
CLAIMS = ("C4",)
PER_TASK = True
TASK_CAPTION = ("Where the first-order estimate stops holding on {task}: GradEx's relative "
                "error against the real fine-tuned F (RE_est, solid) and the exact first-order "
                "expansion's (RE_lin, dashed) against the fine-tuning steps from W0, the cell's "
                "own budget circled, and the subsets' mean accuracy against the same steps.")
PAPER_RE = 2.4


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a relative error."""
    return df[pd.to_numeric(df["re_est"], errors="coerce").notna()]


def make(df: pd.DataFrame) -> Figure:
    """Two panels: RE against steps (log-log), and the subsets' mean accuracy against steps."""
    data = select(df)
    if data.empty:
        raise ValueError("no fine-tuning budget rows to plot")
    fig = Figure(figsize=(11, 4.0), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    for i, ((name, profile), rows) in enumerate(data.groupby(["task", "profile"], sort=True)):
        task = name if data.profile.nunique() == 1 else f"{name} ({profile})"
        rows = rows.sort_values("steps")
        color = f"C{i}"
        ax.plot(rows.steps, rows.re_est, color=color, marker="o", label=f"{task}: RE_est")
        ax.plot(rows.steps, rows.re_lin, color=color, marker="^", linestyle="--",
                label=f"{task}: RE_lin")
        own = rows[rows.steps == rows.cell_steps]
        ax.scatter(own.steps, own.re_est, s=120, facecolors="none", edgecolors=color)
        ax2.plot(rows.steps, rows.mean_acc, color=color, marker="o", label=task)
    ax.axhline(PAPER_RE, color="grey", linestyle=":", label="paper (modular, 2.4%)")
    ax.set(xscale="log", yscale="log", xlabel="fine-tuning steps from W0",
           ylabel="relative error (%)")
    ax.set_title("GradEx vs real fine-tuning (circle: the cell's budget)", fontsize=9)
    ax.legend(fontsize=6)
    ax2.set(xscale="log", xlabel="fine-tuning steps from W0", ylabel="subsets' mean accuracy")
    ax2.set_title("how far the subset models move", fontsize=9)
    ax2.legend(fontsize=6)
    return fig
