"""LDS (Spearman, eval subsets) of every method, one panel per task, with 95% CI bars.

The headline comparison of the benchmark: how well each method's attributions rank
held-out subset outcomes. Each task is shown at its most thorough profile available. Drawn per
task too (``make_task``): that task's headline methods only (each method family at its default
key, ``leaderboard.headline``), as the task's table shows them by default.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from benchmarks.common.schema import PROFILES as PROFILE_ORDER
from leaderboard import headline

from .printed import note

SLUG = "lds_by_method"
SOURCE = "results"
PER_TASK = True
TASK_CAPTION = ("LDS (Spearman, held-out subsets) of {task}'s headline methods, each method "
                "family at its default setting, with 95% CI bars; the table lists the variants.")
DEPENDS = (Path(headline.__file__),)  # the headline rule decides the per-task bars
CELL_KEY = ["task_key", "method_key", "profile"]  # one bar per cell


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Latest LDS Spearman eval rows, keeping only each task's most thorough profile."""
    rows = df[(df["metric"] == "lds") & (df["variant"] == "spearman") & (df["split"] == "eval")]
    rows = rows.sort_values("created", kind="stable").drop_duplicates(CELL_KEY, keep="last")
    rows = rows.assign(
        value=pd.to_numeric(rows["value"], errors="coerce"),
        ci_low=pd.to_numeric(rows["ci_low"], errors="coerce"),
        ci_high=pd.to_numeric(rows["ci_high"], errors="coerce"),
    ).dropna(subset=["value"])
    depth = rows["profile"].map({p: i for i, p in enumerate(PROFILE_ORDER)}).fillna(-1)
    deepest = depth.groupby(rows["task_key"]).transform("max")
    return rows[depth == deepest]


def _bar_labels(rows: pd.DataFrame) -> list[str]:
    """Method labels, disambiguated by method_key where two share a label."""
    labels = rows["method_label"].fillna(rows["method"]).astype(str)
    dup = labels.duplicated(keep=False)
    keys = rows["method_key"].astype(str)
    return [f"{lab}\n{key}" if d else lab for lab, key, d in zip(labels, keys, dup, strict=True)]


def bar_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows bottom to top: by value, ties by label then key (never by ``created``/``cost_s``
    or the input order, so the figure is a function of the numbers alone)."""
    keyed = rows.assign(_label=rows["method_label"].fillna(rows["method"]).astype(str),
                        _key=rows["method_key"].astype(str))
    order = keyed.sort_values(["value", "_label", "_key"], ascending=[True, False, False],
                              kind="stable")
    return order.drop(columns=["_label", "_key"])


def _panel(ax: Axes, rows: pd.DataFrame, colors: dict[str, str], xlim: tuple) -> None:
    """Horizontal bars for one task, best method on top (ties: alphabetical from the top),
    CI as error bars."""
    rows = bar_order(rows)
    y = np.arange(len(rows))
    err_lo = (rows["value"] - rows["ci_low"]).clip(lower=0).fillna(0)
    err_hi = (rows["ci_high"] - rows["value"]).clip(lower=0).fillna(0)
    ax.barh(
        y,
        rows["value"],
        color=[colors[m] for m in rows["method"]],
        xerr=[err_lo.to_numpy(), err_hi.to_numpy()],
        error_kw={"capsize": 3, "elinewidth": 1, "ecolor": "#333333"},
    )
    ax.set_yticks(y, _bar_labels(rows), fontsize=8)
    ax.axvline(0, color="#444444", linewidth=0.8)
    tips = np.fmax(rows["value"] + err_hi, rows["value"]).clip(lower=0)
    for yi, (_, r), tip in zip(y, rows.iterrows(), tips, strict=True):
        text = note(ax.figure, f"{r['value']:.3f}", r["value"], "results",
                    **{k: r[k] for k in (*CELL_KEY, "metric", "variant", "split")})
        ax.text(tip + 0.02 * (xlim[1] - xlim[0]), yi, text, va="center", fontsize=7)
    first = rows.iloc[0]
    ax.set_title(f"{first['task']} ({first['profile']})", fontsize=9)
    ax.set_xlim(*xlim)
    ax.set_xlabel("LDS (Spearman)", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def _xlim(rows: pd.DataFrame) -> tuple[float, float]:
    """Shared x range covering 0, every value and every CI, with room for labels."""
    values = pd.concat([rows["value"], rows["ci_low"], rows["ci_high"]]).dropna()
    low, high = min(0.0, values.min()), max(0.0, values.max())
    span = max(high - low, 0.1)
    return low - 0.03 * span, high + 0.22 * span


def make_task(df: pd.DataFrame) -> Figure:
    """One task's bar chart of its headline methods (``leaderboard.headline``)."""
    data = select(df)
    shown = set()
    for _, rows in data.groupby("task_key"):
        shown |= headline.headline_keys(rows)
    return make(data[data["method_key"].astype(str).isin(shown)])


def make(df: pd.DataFrame) -> Figure:
    """Grid of per-task bar charts of LDS by method."""
    data = select(df)
    if data.empty:
        raise ValueError("no LDS (spearman, eval) rows to plot")
    tasks = list(dict.fromkeys(data.sort_values(["task_family", "task", "task_key"],
                                                kind="stable")["task_key"]))
    methods = sorted(data["method"].astype(str).unique())
    colors = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    ncols = min(3, len(tasks))
    nrows = math.ceil(len(tasks) / ncols)
    most = int(data.groupby("task_key").size().max())
    fig = Figure(figsize=(5.4 * ncols, (0.3 * most + 1.2) * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    xlim = _xlim(data)
    for ax, key in zip(axes.flat, tasks, strict=False):
        _panel(ax, data[data["task_key"] == key], colors, xlim)
    for ax in axes.flat[len(tasks) :]:
        ax.set_visible(False)
    fig.suptitle("Linear datamodelling score on held-out subsets (bars: 95% CI)")
    return fig
