"""KernelSM-minus-linear LDS gap against the overlap dial rho.

The benchmark's interaction claim: as tasks overlap more (rho up), additive linear
surrogates should fall behind KernelSM. Left: the gap; right: both LDS curves.
"""

from __future__ import annotations

import json

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from benchmarks.common.schema import PROFILES as PROFILE_ORDER
from benchmarks.common.schema import ROW_KEY

SLUG = "interaction_gap"
SOURCE = "results"
CLAIMS = ("C2",)
KERNEL, LINEAR = "kernel_sm", "linear_surrogate"

GROUP = ["task_family", "profile", "overlap"]


def overlap_of(task_params: object) -> float:
    """The ``overlap`` override in a task_params JSON string; 0.0 when absent."""
    if not isinstance(task_params, str) or not task_params.strip():
        return 0.0
    try:
        params = json.loads(task_params)
    except json.JSONDecodeError:
        return 0.0
    if not isinstance(params, dict) or params.get("overlap") is None:
        return 0.0
    return float(params["overlap"])


def gap_table(df: pd.DataFrame) -> pd.DataFrame:
    """Best KernelSM and best linear LDS per (family, profile, overlap), and their gap.

    LDS is higher-is-better, so "best" is the maximum over each method's configurations.
    Only groups holding both methods are kept.
    """
    rows = df[
        (df["metric"] == "lds")
        & (df["variant"] == "spearman")
        & (df["split"] == "eval")
        & df["method"].isin([KERNEL, LINEAR])
    ]
    rows = rows.sort_values("created", kind="stable").drop_duplicates(ROW_KEY, keep="last")
    rows = rows.assign(
        overlap=rows["task_params"].map(overlap_of),
        value=pd.to_numeric(rows["value"], errors="coerce"),
    ).dropna(subset=["value"])
    best = rows.groupby([*GROUP, "method"])["value"].max().unstack("method")
    best = best.reindex(columns=[KERNEL, LINEAR]).dropna()
    best.columns.name = None
    best["gap"] = best[KERNEL] - best[LINEAR]
    return best.reset_index()


def select(df: pd.DataFrame) -> pd.DataFrame:
    """What this figure draws: the gap table (empty when no pair exists)."""
    return gap_table(df)


def _curves(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One (legend label, rows sorted by overlap) per family and profile."""
    depth = {p: i for i, p in enumerate(PROFILE_ORDER)}
    keys = sorted(
        table[["task_family", "profile"]].drop_duplicates().itertuples(index=False),
        key=lambda k: (str(k.task_family), -depth.get(k.profile, -1)),
    )
    curves = []
    for family, profile in keys:
        mask = (table["task_family"] == family) & (table["profile"] == profile)
        curves.append((f"{family} · {profile}", table[mask].sort_values("overlap")))
    return curves


def make(df: pd.DataFrame) -> Figure:
    """Two panels: the LDS gap vs overlap, and the KernelSM and linear LDS curves."""
    table = gap_table(df)
    if table.empty:
        raise ValueError("no (KernelSM, linear) LDS pairs to plot")
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_gap, ax_lds = fig.subplots(1, 2)
    for i, (label, rows) in enumerate(_curves(table)):
        color = f"C{i % 10}"
        ax_gap.plot(rows["overlap"], rows["gap"], marker="o", color=color, label=label)
        ax_lds.plot(rows["overlap"], rows[KERNEL], marker="o", color=color)
        ax_lds.plot(rows["overlap"], rows[LINEAR], marker="s", color=color, linestyle="--")
    ax_gap.axhline(0, color="#444444", linewidth=0.8)
    ax_gap.set_xlabel("overlap ρ")
    ax_gap.set_ylabel("LDS gap (KernelSM − linear)")
    ax_gap.set_title("KernelSM advantage over the linear surrogate", fontsize=10)
    ax_gap.legend(fontsize=8, title="task family · profile", title_fontsize=8)
    styles = [
        Line2D([], [], color="#333333", marker="o", label="KernelSM (best config)"),
        Line2D([], [], color="#333333", marker="s", linestyle="--", label="linear (best config)"),
    ]
    ax_lds.legend(handles=styles, fontsize=8)
    ax_lds.set_xlabel("overlap ρ")
    ax_lds.set_ylabel("LDS (Spearman)")
    ax_lds.set_title("LDS of both surrogates", fontsize=10)
    for ax in (ax_gap, ax_lds):
        ax.grid(alpha=0.3)
    return fig
