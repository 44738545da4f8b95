"""The surrogates' LDS and NE against n/K, the fitting subsets per unit (label_curve stage).

One column of panels per cell (``label_curve.csv`` beside ``results.csv``, written by the
``label_curve`` stage): on top LDS (Spearman), below NE, each the mean ± sd over random draws
of n of the store's fitting subsets, all scored on the same held-out subsets; a line per
surrogate, picked by method and key (KernelSM by CV and at a fixed setting, the ridge and
min-norm linear surrogates). The dotted line is the paper's n/K = 1.6 (K = 25 units, n = 40).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from benchmarks.common.schema import parse_method_key

SLUG = "label_curve"
SOURCE = "label_curve"
CLAIMS = ("C2", "C3")
PER_TASK = True
TASK_CAPTION = ("The surrogates' LDS (top) and NE (bottom) on {task} against n/K, the fitting "
                "subsets per unit: each point the mean ± sd over random draws of n of the "
                "store's fitting subsets, scored on the same held-out subsets; dotted, the "
                "paper's n/K = 1.6.")
PAPER_N_OVER_K = 1.6  # the paper's modular experiments: n = 40 fitting subsets, K = 25 units
NUMERIC = ("n", "n_over_K", "draws", "lds_mean", "lds_sd", "ne_mean", "ne_sd")
# (method, its non-default fields) -> (colour, marker); a surrogate not listed gets the cycle's
STYLES = {("kernel_sm", ()): ("C0", "o"),
          ("linear_surrogate", (("fit_type", "ridge"),)): ("C2", "^"),
          ("linear_surrogate", (("fit_type", "minnorm"),)): ("C3", "v")}
FIXED_KERNEL = ("C1", "s")  # KernelSM at fixed hyper-parameters (no CV)
PANELS = (("lds", "LDS (Spearman)", "linear"), ("ne", "NE (held-out; log)", "log"))


def _style(method_key: str, i: int) -> tuple[str, str]:
    """Colour and marker of a surrogate, from its method key."""
    name, fields = parse_method_key(method_key)
    style = STYLES.get((name, tuple(sorted(fields.items()))))
    if style is None and name == "kernel_sm" and {"gamma", "lam"} & set(fields):
        style = FIXED_KERNEL
    return style or (f"C{4 + i}", "D")


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a finite LDS mean."""
    rows = df.copy()
    for col in NUMERIC:
        rows[col] = pd.to_numeric(rows[col], errors="coerce")
    return rows[rows["lds_mean"].notna()]


def make(df: pd.DataFrame) -> Figure:
    """LDS (top) and NE (bottom) mean ± sd against n/K, a line per surrogate, per cell."""
    data = select(df)
    if data.empty:
        raise ValueError("no label-curve rows to plot")
    groups = list(data.groupby(["task", "profile"], sort=True))
    fig = Figure(figsize=(4.8 * len(groups), 6.6), layout="constrained")
    axes = fig.subplots(2, len(groups), squeeze=False)
    for col, ((task, profile), rows) in enumerate(groups):
        for i, (key, r) in enumerate(rows.groupby("method_key", sort=True)):
            r = r.sort_values("n")
            color, marker = _style(str(key), i)
            for ax, (metric, _, _) in zip(axes[:, col], PANELS, strict=True):
                ax.errorbar(r["n_over_K"], r[f"{metric}_mean"], yerr=r[f"{metric}_sd"],
                            color=color, marker=marker, capsize=2, alpha=0.85,
                            label=str(r["method_label"].iloc[0]))
        ticks = sorted(set(rows["n_over_K"].round(2)))
        for ax, (_, ylabel, yscale) in zip(axes[:, col], PANELS, strict=True):
            ax.axvline(PAPER_N_OVER_K, color="grey", linestyle=":", linewidth=1)
            ax.set_xscale("log")
            ax.set_yscale(yscale)
            ax.set_xticks(ticks, [f"{t:.2g}" for t in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("n / K (fitting subsets per unit)", fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
        K = int(rows["K"].iloc[0]) if "K" in rows else None
        axes[0, col].set_title(f"{task} ({profile}, K={K})", fontsize=9)
        axes[0, col].legend(fontsize=6)
    fig.suptitle("Surrogates against the number of fitting subsets (mean ± sd over draws; "
                 "dotted: the paper's n/K = 1.6)", fontsize=10)
    return fig


def make_task(df: pd.DataFrame) -> Figure:
    """One task's column (a column per profile), titled to fit its width."""
    fig = make(df)
    fig.suptitle("Surrogates against the fitting subsets\n(mean ± sd over draws)", fontsize=10)
    return fig
