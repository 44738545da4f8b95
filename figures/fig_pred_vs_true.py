"""Predicted vs true F on held-out evaluation subsets, a panel per method (a row per task): each
title gives the table's normalised error (NE) and relative error (RE) over all of the cell's
targets, then how many of those targets the panel plots and their NE.

The predictions table keeps only the first targets of each cell (``benchmarks/runner.py``), so
a panel plots a subset: its title says how many of how many, and prints the NE that
``results.csv`` reports (``residual/ne``, every non-constant target) beside the NE of the points
drawn, never one for the other. Shows where a surrogate (linear, KernelSM) or the first-order
GradEx estimate misses the measured outcomes; RE is methods/METHODS.md §3.4, the C4 number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import benchmarks.common.formulas as formulas

from .printed import note

SLUG = "pred_vs_true"
SOURCE = "predictions"
ALSO = ("results",)  # the table's NE and RE, and each cell's number of targets
PER_TASK = True
TASK_CAPTION = ("Predicted vs true F of {task} on held-out subsets, a panel per method: each "
                "title gives the table's NE and RE over all of the cell's targets, then how many "
                "of them the panel plots (the predictions table keeps the first few) and their NE.")
MAX_POINTS = 20_000  # points drawn per panel; the error always uses every row
PANEL_KEY = ("task_key", "method_key")


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


def table_row(results: pd.DataFrame | None, task_key: str, method_key: str, metric: str,
              variant: str) -> pd.Series | None:
    """The latest ``results.csv`` row of one cell's (metric, variant), if there is one."""
    if results is None or results.empty:
        return None
    hit = results[(results["task_key"].astype(str) == task_key)
                  & (results["method_key"].astype(str) == method_key)
                  & (results["metric"] == metric) & (results["variant"] == variant)]
    hit = hit[pd.to_numeric(hit["value"], errors="coerce").notna()]
    return None if hit.empty else hit.sort_values("created", kind="stable").iloc[-1]


def _errors(fig: Figure, rows: pd.DataFrame, results: pd.DataFrame | None) -> str:
    """The title lines under the method: the table's NE and RE (all targets), then the
    plotted targets' count and NE; every number recorded (``printed.note``)."""
    cell = {k: str(rows[k].iloc[0]) for k in PANEL_KEY}
    ne = table_row(results, *cell.values(), "residual", "ne")
    re = table_row(results, *cell.values(), "relerr", "est")
    k = note(fig, str(rows["target"].nunique()), rows["target"].nunique(), "predictions",
             "targets", **cell)
    sub = note(fig, f"{normalised_error(rows):.3f}", normalised_error(rows), "predictions", "ne",
               **cell)
    if ne is None:
        shown_re = note(fig, f"{relative_error(rows):.1f}%", relative_error(rows),
                        "predictions", "re", **cell)
        return f"NE of the {k} targets plotted = {sub}, RE = {shown_re}"
    where = {**cell, "metric": "residual", "variant": "ne"}
    n = int(ne["n_targets"]) + int(ne["n_dropped"])
    table = note(fig, f"{float(ne['value']):.3f}", float(ne["value"]), "results", **where)
    line = f"table: NE {table}"
    if re is not None:
        line += ", RE " + note(fig, f"{float(re['value']):.1f}%", float(re["value"]), "results",
                               **{**where, "metric": "relerr", "variant": "est"})
    total = note(fig, str(n), n, "results", "n_targets+n_dropped", **where)
    return f"{line}\nplotted {k} of {total} targets: NE {sub}"


def _limits(rows: pd.DataFrame) -> tuple[float, float]:
    """A range for both axes (shared along a task's row), padded off the frame."""
    low = float(min(rows["true"].min(), rows["predicted"].min()))
    high = float(max(rows["true"].max(), rows["predicted"].max()))
    pad = 0.05 * (high - low) if high > low else 0.5
    return low - pad, high + pad


def _panel(ax: Axes, rows: pd.DataFrame, title: str, lims: tuple[float, float],
           results: pd.DataFrame | None = None) -> None:
    """Scatter one (task, method), with the y = x line and the errors in the title."""
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
    ax.set_title(f"{title}\n{_errors(ax.figure, rows, results)}", fontsize=8)
    ax.tick_params(labelsize=7)


def _ordered(data: pd.DataFrame, key: str, by: list[str]) -> list[str]:
    """Unique values of ``key`` in the order of sorting ``data`` by ``by``."""
    return list(dict.fromkeys(data.sort_values(by, kind="stable")[key]))


def make_task(df: pd.DataFrame, results: pd.DataFrame | None = None) -> Figure:
    """One task's row of scatters, in smaller panels (it stands beside another figure)."""
    return make(df, results, panel=2.3)


def make(df: pd.DataFrame, results: pd.DataFrame | None = None, panel: float = 3.3) -> Figure:
    """Grid of predicted-vs-true scatters: tasks down, methods across (each title's numbers
    from ``results`` where it has the cell's rows)."""
    data = select(df)
    if data.empty:
        raise ValueError("no prediction rows to plot")
    tasks = _ordered(data, "task_key", ["task"])
    methods = _ordered(data, "method_key", ["method", "method_label"])
    firsts = data.drop_duplicates("method_key").set_index("method_key")
    labels = firsts["method_label"].fillna(firsts["method"])
    names = data.drop_duplicates("task_key").set_index("task_key")["task"]
    fig = Figure(figsize=(panel * len(methods) + 0.6, (panel + 0.3) * len(tasks) + 0.5),
                 layout="constrained")
    axes = fig.subplots(len(tasks), len(methods), squeeze=False)
    for i, task_key in enumerate(tasks):
        task_rows = data[data["task_key"] == task_key]
        lims = _limits(task_rows)
        for j, method_key in enumerate(methods):
            rows = task_rows[task_rows["method_key"] == method_key]
            _panel(axes[i, j], rows, str(labels[method_key]), lims, results)
        axes[i, 0].set_ylabel(f"{names[task_key]}\npredicted F", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("true F", fontsize=8)
    fig.suptitle("Predicted vs true F on held-out subsets (dashed: y = x)")
    return fig
