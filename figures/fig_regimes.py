"""The two regimes side by side: trained from scratch vs fine-tuned from a shared W0.

For each family with a fine-tuning variant (``<family>-ft``) and each profile, grouped bars of
the numbers the regime is about: GradEx's relative error against the real F (``relerr/est``,
the C4 number, and ``relerr/lin``, the Taylor error of real fine-tuning) and the LDS of
KernelSM fitted on retrained labels vs on GradEx labels, and of the ridge linear surrogate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from benchmarks.common.schema import FINETUNED_SUFFIX as SUFFIX
from benchmarks.common.schema import parse_method_key

SLUG = "regimes"
SOURCE = "results"
CLAIMS = ("C4",)
GRADEX = (("gradex", {}),)  # methods: (registered name, the non-default fields its key names)
SURROGATES = (("kernel_sm", {}), ("kernel_sm", {"labels": "gradex"}),
              ("linear_surrogate", {"fit_type": "ridge"}),
              ("linear_surrogate", {"fit_type": "ridge", "labels": "gradex"}))
PANELS = (  # (title, metric, variant or None for every variant, methods)
    ("GradEx relative error (%)", "relerr", None, GRADEX),
    ("LDS (Spearman)", "lds", "spearman", SURROGATES),
)
PER_TASK = True
TASK_CAPTION = ("{task} beside the other regime of its family (trained from scratch vs "
                "fine-tuned from a shared W0): GradEx's relative error against the real F "
                "(RE_est, the C4 number; RE_lin, the Taylor error of real fine-tuning) and the "
                "LDS of KernelSM on retrained vs GradEx labels and of the ridge surrogate.")


def select(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the families that have a fine-tuning variant, both regimes, no other variant
    (empty when no family has both)."""
    if "task_family" not in df.columns or "regime" not in df.columns:
        return df.iloc[0:0]
    families = set(df["task_family"].dropna().astype(str))
    fams = {f.removesuffix(SUFFIX) for f in families if f.endswith(SUFFIX)} & families
    keep = df["task_family"].isin(fams | {f + SUFFIX for f in fams}) & (
        df["task_params"].fillna("{}") == "{}")
    out = df[keep].copy()
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    out["family"] = out["task_family"].str.removesuffix(SUFFIX)
    return out


def task_rows(df: pd.DataFrame, task: str) -> pd.DataFrame:
    """The rows of ``task``'s regime pair: its own and those of the other regime of its family
    (a pair needs both; empty where ``task`` is not in one)."""
    data = select(df)
    family = data.loc[data["task"].astype(str) == task, "family"]
    return data[data["family"].isin(set(family))]


def _of(rows: pd.DataFrame, methods: tuple) -> pd.Series:
    """Rows of one of ``methods`` (a registered name with exactly these key fields)."""
    fields = rows["method_key"].map(lambda key: parse_method_key(key)[1])
    found = [m in methods for m in zip(rows["method"], fields, strict=True)]
    return pd.Series(found, index=rows.index, dtype=bool)


def _bars(rows: pd.DataFrame, metric: str, variant: str | None, methods: tuple
          ) -> pd.DataFrame:
    """One panel's bars: a value per regime for each method's label (or each variant)."""
    sel = rows[(rows.metric == metric) & _of(rows, methods)]
    if variant:
        sel = sel[sel.variant == variant]
    sel = sel.assign(bar=sel.method_label if variant else sel.variant.map(
        {"est": "RE_est (GradEx)", "lin": "RE_lin (real fine-tuning)"}))
    return sel.pivot_table(index="bar", columns="regime", values="value", aggfunc="first")


def make(df: pd.DataFrame) -> Figure:
    """Per (family, profile) a row of panels; bars per regime."""
    data = select(df)
    if data.empty:
        raise ValueError("no family with both regimes to plot")
    groups = list(data.groupby(["family", "profile"], sort=True))
    fig = Figure(figsize=(11, 3.2 * len(groups) + 0.5), layout="constrained")
    axes = fig.subplots(len(groups), len(PANELS), squeeze=False)
    for row, ((family, profile), rows) in zip(axes, groups, strict=True):
        for ax, (title, metric, variant, methods) in zip(row, PANELS, strict=True):
            table = _bars(rows, metric, variant, methods)
            if table.empty:
                ax.set_axis_off()
                continue
            table = table.reindex(columns=["scratch", "fine-tuned"])
            y = np.arange(len(table))
            for i, name in enumerate(table.columns):
                ax.barh(y + 0.4 * i - 0.2, table[name], height=0.38, label=name,
                        color=f"C{i}")
            ax.set_yticks(y, table.index, fontsize=7)
            ax.invert_yaxis()
            ax.set_title(f"{family} ({profile}): {title}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("From scratch vs fine-tuned from a shared W0 (C4 and the surrogates' LDS)")
    return fig
