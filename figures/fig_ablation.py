"""Hessian-regularisation ablation (claim C5), three panels against training length per grid.

Hessian trace of the full-set model (log scale), the linear surrogate's residual (repo NE), and
LDS of the linear surrogate, influence and KernelSM; one colour per recipe (AdamW, SAM, NSO),
one line style per method in the LDS panel; one row of panels per grid (cells that share every
override but the recipe and the length). Drawn from ``results.csv`` rows of cells whose variant
sets ``train.steps``.
"""

from __future__ import annotations

import json

import pandas as pd
from matplotlib.figure import Figure

SLUG = "ablation"
SOURCE = "results"
CLAIMS = ("C5",)
RECIPES = {"none": "AdamW", "sam": "SAM", "nso": "NSO"}
METHODS = {"linear_surrogate": "-", "influence": ":", "kernel_sm": "--"}
PER_TASK = True
TASK_CAPTION = ("C5 around {task}: the ablation grid it belongs to (the same task but for its "
                "recipe and training length; AdamW, SAM and NSO against training steps), with "
                "the Hessian trace, the linear surrogate's residual and the surrogates' LDS; the "
                "grey line marks this cell's length.")
GRID = ("train.sharpness", "train.steps")  # the overrides a grid varies; the others name it


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Ablation rows with their recipe and training length as columns."""
    params = df["task_params"].fillna("{}").map(
        lambda t: json.loads(t) if isinstance(t, str) and t.startswith("{") else {})
    keep = params.map(lambda p: "train.steps" in p)
    out = df[keep].copy()
    out["recipe"] = params[keep].map(lambda p: p.get("train.sharpness", "none"))
    out["steps"] = params[keep].map(lambda p: int(p["train.steps"]))
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    out["grid"] = params[keep].map(
        lambda p: json.dumps({k: v for k, v in p.items() if k not in GRID}, sort_keys=True))
    return out


def task_rows(df: pd.DataFrame, task: str) -> pd.DataFrame:
    """The rows of ``task``'s grid (the cells that differ from it only in recipe and training
    length), ``focus`` marking its own."""
    data = select(df)
    own = data["task"].astype(str) == task
    return data[data["grid"].isin(set(data.loc[own, "grid"]))].assign(focus=own)


def _lines(ax, rows: pd.DataFrame, style: str = "-", label_suffix: str = "") -> None:
    for i, (recipe, name) in enumerate(RECIPES.items()):
        r = rows[rows.recipe == recipe].groupby("steps").value.first().sort_index()
        if len(r):
            ax.plot(r.index, r.values, style, marker="o", color=f"C{i}",
                    label=name + label_suffix)


def _grid_name(grid: str) -> str:
    """A grid's shared overrides in words (``{}``: the cell's own recipe, full batch)."""
    fixed = json.loads(grid)
    return ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in sorted(fixed.items())) or \
        "the task's own recipe"


def _panels(axes, data: pd.DataFrame) -> None:
    """One grid's trace, residual and LDS panels against training steps."""
    ax_tr, ax_ne, ax_lds = axes
    _lines(ax_tr, data[data.metric == "hessian_trace"])
    ax_tr.set_yscale("log")
    ax_tr.set_title("Hessian trace (full-set model, Hutchinson)", fontsize=9)
    linear = data[(data.method == "linear_surrogate") & (data.metric == "residual")
                  & (data.variant == "repo")]
    _lines(ax_ne, linear)
    ax_ne.set_title("Linear surrogate residual (repo NE)", fontsize=9)
    for method, style in METHODS.items():
        rows = data[(data.method == method) & (data.metric == "lds")
                    & (data.variant == "spearman")]
        _lines(ax_lds, rows, style, f" · {method}")
    ax_lds.set_title("LDS (solid linear, dotted IF, dashed KernelSM)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("training steps", fontsize=8)
        ax.tick_params(labelsize=7)
    ax_tr.legend(fontsize=7)


def make(df: pd.DataFrame) -> Figure:
    """Trace, residual and LDS against training steps: one row of panels per grid (the
    full-batch recipe and the minibatch one are separate grids, never mixed in one line)."""
    data = select(df)
    if data.empty:
        raise ValueError("no ablation rows to plot")
    grids = sorted(data["grid"].unique())
    fig = Figure(figsize=(13, 3.8 * len(grids)), layout="constrained")
    axes = fig.subplots(len(grids), 3, squeeze=False)
    for row, grid in zip(axes, grids, strict=True):
        _panels(row, data[data["grid"] == grid])
        row[0].set_ylabel(_grid_name(grid), fontsize=8)
    fig.suptitle("C5: Hessian regularisation vs training length (modular addition)")
    return fig


def make_task(df: pd.DataFrame) -> Figure:
    """One grid's three panels, the ``focus`` cell's training length marked."""
    fig = make(df)
    focus = df[df["focus"]] if "focus" in df else df.iloc[0:0]
    if not focus.empty:
        first = focus.iloc[0]
        for ax in fig.axes:
            ax.axvline(first["steps"], color="grey", linestyle=":", linewidth=1)
        name = RECIPES.get(first["recipe"], first["recipe"])
        fig.suptitle(f"C5 around {first['task']}\n(this cell: {name}, grey line: its length)",
                     fontsize=10)
    return fig
