"""Does KernelSM's lead follow the interactions? Its LDS gap over ridge against the interaction
share of each cell times its number of fitting subsets.

One point per cell and fitting-row count (``leaderboard/interactions.csv``, written by the
``interactions`` stage): x, the share of the explainable held-out variance that pairwise terms
capture beyond the additive fit, times the fitting rows n (interactions can only be learned
with labels to learn them from); y, KernelSM's LDS minus the ridge linear surrogate's. Left:
at n = 2K fitting rows (a random draw); right: at every fitting row (the cell's own fit). The
marker is the regime (from scratch, fine-tuned, imported ground truth).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

SLUG = "interactions"
SOURCE = "interactions"
CLAIMS = ("C2",)
MARKERS = {"scratch": ("o", "C0"), "fine-tuned": ("^", "C1"), "imported": ("s", "C2")}
PANELS = ("n = 2K", "all fitting rows")


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with both an interaction share and an LDS gap, tagged with their panel."""
    x = pd.to_numeric(df["interaction_share"], errors="coerce")
    y = pd.to_numeric(df["lds_gap"], errors="coerce")
    largest = df.groupby(["task_key", "profile"])["n"].transform("max")
    panel = (df["n"] == largest).map({True: PANELS[1], False: PANELS[0]})
    return df.assign(panel=panel, share_n=x * df["n"])[x.notna() & y.notna()]


def make(df: pd.DataFrame) -> Figure:
    """Two panels (n = 2K, all rows) of LDS gap against interaction share × n."""
    data = select(df)
    if data.empty:
        raise ValueError("no interaction rows to plot")
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, panel in zip(axes, PANELS, strict=True):
        rows = data[data.panel == panel]
        for regime, group in rows.groupby("regime", sort=True):
            marker, color = MARKERS.get(regime, ("x", "C3"))
            ax.scatter(group.share_n, group.lds_gap, marker=marker, color=color, s=36,
                       alpha=0.8, label=regime)
        for _, r in rows.iterrows():
            ax.annotate(f"{r.task} ({r.profile}, n={r.n})", (r.share_n, r.lds_gap),
                        fontsize=5, alpha=0.7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.axvline(0, color="#444444", linewidth=0.8)
        ax.set_xlabel("interaction share × n (pairwise R² gain / explainable variance × n)")
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3)
        if not rows.empty:
            ax.legend(fontsize=7, title="regime", title_fontsize=7)
    axes[0].set_ylabel("LDS gap (KernelSM − ridge)")
    fig.suptitle("KernelSM's lead over the ridge surrogate against interaction share × n")
    return fig
