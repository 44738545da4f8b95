"""Predicted vs true F on held-out evaluation subsets: a row per task, a column per method.

Shows where a surrogate (linear, KernelSM) or the first-order GradEx estimate misses the measured
outcomes, with each panel's normalised error (per target, then averaged) and relative error
(methods/METHODS.md §3.4, the C4 number) in its title.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import benchmarks.common.formulas as formulas

SLUG = "pred_vs_true"
SOURCE = "predictions"
MAX_POINTS = 20_000  # points drawn per panel; the error always uses every row


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Prediction rows with finite predicted and true values."""
    rows = df.assign(
        predicted=pd.to_numeric(df["predicted"], errors="coerce"),
        true=pd.to_numeric(df["true"], errors="coerce"),
    )
    finite = np.isfinite(rows["predicted"]) & np.isfinite(rows["true"])
    return rows[finite]


def _matrices(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted F as ``(subsets, targets)`` arrays of one panel's rows."""
    true = rows.pivot_table(index="subset", columns="target", values="true", aggfunc="first")
    pred = rows.pivot_table(index="subset", columns="target", values="predicted",
                            aggfunc="first")
    return true.to_numpy(), pred.reindex_like(true).to_numpy()


def normalised_error(rows: pd.DataFrame) -> float:
    """The ``residual/ne`` formula (``benchmarks.common.formulas``) on one panel's rows: mean over
    non-constant targets; NaN if none remain. 0 is perfect, 1 is predicting each mean."""
    per_target = formulas.normalised_error(*_matrices(rows))
    return float(np.nanmean(per_target)) if np.isfinite(per_target).any() else float("nan")


def relative_error(rows: pd.DataFrame) -> float:
    """The ``relerr/est`` formula (methods/METHODS.md §3.4) in %, over the panel's pairs."""
    return float(100 * formulas.relative_error(rows["true"], rows["predicted"]).mean())


def _limits(rows: pd.DataFrame) -> tuple[float, float]:
    """A range for both axes (shared along a task's row), padded off the frame."""
    low = float(min(rows["true"].min(), rows["predicted"].min()))
    high = float(max(rows["true"].max(), rows["predicted"].max()))
    pad = 0.05 * (high - low) if high > low else 0.5
    return low - pad, high + pad


def _panel(ax: Axes, rows: pd.DataFrame, title: str, lims: tuple[float, float]) -> None:
    """Scatter one (task, method), with the y = x line and the error in the title."""
    if rows.empty:
        ax.text(0.5, 0.5, "no predictions", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    shown = rows.sample(MAX_POINTS, random_state=0) if len(rows) > MAX_POINTS else rows
    ax.plot(lims, lims, color="#555555", linestyle="--", linewidth=0.9, zorder=1)
    ax.scatter(
        shown["true"],
        shown["predicted"],
        s=5,
        alpha=0.35,
        linewidths=0,
        color="C0",
        rasterized=True,
        zorder=2,
    )
    ax.set_xlim(*lims)
    ax.set_ylim(*lims)
    ax.set_aspect("equal", adjustable="box")
    ax.set_title(f"{title}\nNE = {normalised_error(rows):.3f}, RE = {relative_error(rows):.1f}%",
                 fontsize=9)
    ax.tick_params(labelsize=7)


def _ordered(data: pd.DataFrame, key: str, by: list[str]) -> list[str]:
    """Unique values of ``key`` in the order of sorting ``data`` by ``by``."""
    return list(dict.fromkeys(data.sort_values(by, kind="stable")[key]))


def make(df: pd.DataFrame) -> Figure:
    """Grid of predicted-vs-true scatters: tasks down, methods across."""
    data = select(df)
    if data.empty:
        raise ValueError("no prediction rows to plot")
    tasks = _ordered(data, "task_key", ["task"])
    methods = _ordered(data, "method_key", ["method", "method_label"])
    firsts = data.drop_duplicates("method_key").set_index("method_key")
    labels = firsts["method_label"].fillna(firsts["method"])
    names = data.drop_duplicates("task_key").set_index("task_key")["task"]
    fig = Figure(figsize=(3.3 * len(methods) + 0.6, 3.3 * len(tasks) + 0.5), layout="constrained")
    axes = fig.subplots(len(tasks), len(methods), squeeze=False)
    for i, task_key in enumerate(tasks):
        task_rows = data[data["task_key"] == task_key]
        lims = _limits(task_rows)
        for j, method_key in enumerate(methods):
            rows = task_rows[task_rows["method_key"] == method_key]
            _panel(axes[i, j], rows, str(labels[method_key]), lims)
        axes[i, 0].set_ylabel(f"{names[task_key]}\npredicted F", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("true F", fontsize=8)
    fig.suptitle("Predicted vs true F on held-out subsets (dashed: y = x)")
    return fig
