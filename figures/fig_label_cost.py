"""The paper's headline at our scale: LDS against the CPU-seconds spent on labels.

One panel per fine-tuning cell (``leaderboard/label_cost.csv``, written by the
``label_cost`` stage of ``replicate``): KernelSM and the ridge linear surrogate fitted on
the first m retrained labels (R fine-tunings each) and on the first m GradEx labels (features
at W0 once, then one linearised solve each), and IF and TRAK as points at their own fit
cost (they use no labels). W0's pretraining, shared by every point, is not counted.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

SLUG = "label_cost"
SOURCE = "label_cost"
CLAIMS = ("C4", "C2")
LINES = {("kernel_sm", "retrain"): ("C0", "-", "o", "KernelSM, retrained labels"),
         ("kernel_sm", "gradex"): ("C0", "--", "o", "KernelSM, GradEx labels"),
         ("linear_surrogate", "retrain"): ("C2", "-", "^", "linear, retrained labels"),
         ("linear_surrogate", "gradex"): ("C2", "--", "^", "linear, GradEx labels")}
PER_TASK = True
TASK_CAPTION = ("LDS on {task} against the CPU-seconds spent on labels: KernelSM and the ridge "
                "linear surrogate fitted on the first m retrained or GradEx labels (95% CIs), "
                "IF and TRAK at their own fit cost; W0's pretraining is not counted.")


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with an LDS value."""
    return df[pd.to_numeric(df["lds"], errors="coerce").notna()]


def _cost(rows: pd.DataFrame) -> pd.Series:
    """Label CPU-s, or the fit's own CPU-s for a method without labels."""
    return rows["label_cpu_s"].where(rows["labels"] != "none", rows["fit_s"])


def make(df: pd.DataFrame) -> Figure:
    """LDS (with 95% CIs) against cost on a log axis; a line per (surrogate, label source)."""
    data = select(df)
    if data.empty:
        raise ValueError("no label-cost rows to plot")
    groups = list(data.groupby(["task", "profile"], sort=True))
    fig = Figure(figsize=(5.4 * len(groups), 4.0), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, ((task, profile), rows) in zip(axes, groups, strict=True):
        rows = rows.assign(cost=_cost(rows))
        for (family, source), (color, style, marker, name) in LINES.items():
            r = rows[(rows.method == family) & (rows.labels == source)]
            r = r.sort_values("cost")
            if not r.empty:
                ax.errorbar(r.cost, r.lds, yerr=[r.lds - r.lds_low, r.lds_high - r.lds],
                            color=color, linestyle=style, marker=marker, capsize=2, label=name,
                            alpha=0.8)
        for i, (_, p) in enumerate(rows[rows.labels == "none"].iterrows()):
            ax.errorbar([p.cost], [p.lds], yerr=[[p.lds - p.lds_low], [p.lds_high - p.lds]],
                        color=f"C{3 + i}", marker="s", capsize=2, linestyle="none",
                        label=f"{p.method_label} (fit only)")
        ax.set_xscale("log")
        ax.set_xlabel("CPU-seconds spent on labels (W0 excluded)", fontsize=8)
        ax.set_ylabel("LDS (Spearman)", fontsize=8)
        ax.set_title(f"{task} ({profile})", fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle("LDS against label cost: retrained vs first-order (GradEx) labels")
    return fig


def make_task(df: pd.DataFrame) -> Figure:
    """One task's panel (a panel per profile), titled to fit its width."""
    fig = make(df)
    fig.suptitle("LDS against label cost:\nretrained vs GradEx labels")
    return fig
