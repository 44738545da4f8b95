"""Task groups: the re-splits ``NAME-split0..`` of one import summarised as mean and spread.

A results row belongs to group G when its ``task_params`` JSON carries ``"group": G`` (the
authors' ICL layout is imported as five random fit/eval re-splits, and the paper reports the
mean over them). ``aggregate`` turns the member rows into rows of the same ``results.csv``
schema, one per (group, profile, method, metric, variant, split), whose ``value`` is the mean
over splits, plus ``std`` (sample standard deviation), ``min``, ``max`` and ``n_splits``. Reads
only results rows, never ``benchmarks``.
"""

from __future__ import annotations

import json

import pandas as pd

KEY = ["group", "profile", "method_key", "metric", "variant", "split"]


def group_of(task_params: object) -> str | None:
    """The group named in a ``task_params`` JSON cell, or None."""
    try:
        info = json.loads(str(task_params))
    except (TypeError, ValueError):
        return None
    return info.get("group") if isinstance(info, dict) else None


def members(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` that belong to a group, with a ``group`` column."""
    if "task_params" not in df.columns or df.empty:
        return df.iloc[0:0].assign(group=pd.Series(dtype="string"))
    group = df["task_params"].map(group_of)
    return df.assign(group=group)[group.notna()]


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over each group's splits, as results-schema rows (see module doc).

    Empty when ``df`` holds no group rows."""
    rows = members(df)
    if rows.empty:
        return rows
    rows = rows.assign(value=pd.to_numeric(rows["value"], errors="coerce"))
    first = {c: "first" for c in ("method", "method_label", "labels", "higher_is_better")
             if c in rows.columns}
    out = rows.groupby(KEY, sort=True, dropna=False).agg(
        value=("value", "mean"), std=("value", "std"), min=("value", "min"),
        max=("value", "max"), n_splits=("task_key", "nunique"),
        n_targets=("n_targets", "sum"), **{c: (c, how) for c, how in first.items()},
        **_optional(rows)).reset_index()
    n = out.groupby(["group", "profile"])["n_splits"].transform("max")
    return out.assign(task=out["group"] + " · mean ± sd over " + n.astype(str) + " splits",
                      task_key="group:" + out["group"], task_family=out["group"],
                      ci_low=float("nan"), ci_high=float("nan"))


def _optional(rows: pd.DataFrame) -> dict:
    """Provenance columns, where present: code versions, latest run, summed cost."""
    spec = {"git_sha": ("git_sha", lambda s: ",".join(sorted({str(v) for v in s.dropna()}))),
            "created": ("created", "max"), "cost_s": ("cost_s", "sum"),
            "n_labels": ("n_labels", "max")}
    return {k: v for k, v in spec.items() if k in rows.columns}


def spread_text(mean: float, std: float, n: int) -> str:
    """``0.512 ± 0.031 (5 splits)``; ``—`` for a missing mean."""
    if pd.isna(mean):
        return "—"
    sd = "" if pd.isna(std) else f" ± {std:.3f}"
    return f"{mean:.3f}{sd} ({int(n)} splits)"
