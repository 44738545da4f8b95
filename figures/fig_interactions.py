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

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SLUG = "interactions"
SOURCE = "interactions"
CLAIMS = ("C2",)
MARKERS = {"scratch": ("o", "C0"), "fine-tuned": ("^", "C1"), "imported": ("s", "C2")}
PANELS = ("n = 2K", "all fitting rows")
PER_TASK = True
TASK_CAPTION = ("The interaction map of {task}, at n = 2K fitting rows (a random draw of the "
                "store's fitting subsets) and at every fitting row: left, the noise share of F's "
                "variation and the held-out R² of the additive (ridge), pairwise and KernelSM "
                "fits; right, the interaction share beside KernelSM's LDS gap over ridge.")
SHARES = (("noise_share", "noise share"), ("r2_additive", "R² additive (ridge)"),
          ("r2_pairwise", "R² pairwise"), ("r2_kernel", "R² KernelSM"))
GAP = (("interaction_share", "interaction share"), ("lds_gap", "LDS gap (KernelSM − ridge)"))


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


def _grouped(ax, rows: pd.DataFrame, columns: tuple, labels: list[str]) -> None:
    """Horizontal bars of ``columns`` (one colour each) for every row, top to bottom."""
    y = np.arange(len(rows))
    height = 0.8 / len(columns)
    for i, (column, name) in enumerate(columns):
        values = pd.to_numeric(rows[column], errors="coerce")
        ax.barh(y - 0.4 + height * (i + 0.5), values, height=height, color=f"C{i}", label=name)
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=2)


def make_task(df: pd.DataFrame) -> Figure:
    """One task's shares and fits (left) and interaction share and LDS gap (right), a bar group
    per profile and fitting-row count."""
    data = select(df).sort_values(["profile", "n"], kind="stable")
    if data.empty:
        raise ValueError("no interaction rows to plot")
    labels = [f"{r.profile}, {r.panel}\n(n={r.n})" for r in data.itertuples()]
    fig = Figure(figsize=(10, 1.2 * len(data) + 1.6), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    _grouped(left, data, SHARES, labels)
    left.set_title("noise share and held-out R² of each fit", fontsize=9)
    _grouped(right, data, GAP, labels)
    right.set_title("interaction share and KernelSM's lead", fontsize=9)
    left.invert_yaxis()  # the axes share y: inverted once, first row on top
    fig.suptitle(f"Interaction map of {data['task'].iloc[0]}", fontsize=10)
    return fig
