"""The cells of a task table: each method's value in a column, the column's best set (every
method whose interval reaches the leader's: a tie, not one winner) and what a value does not
mean.

A value's interval is its 95% CI where the row has one, else the mean ± sd over a group's
splits; a column without either ties the values that show the same text. Reference rows
(``headline.REFERENCE_METHODS``) are never in a best set. Two metrics carry a meaning the
best set must keep (both from their definitions in ``metrics.csv``): a normalised error
(``MEAN_SCORES_ONE``) above 1 is worse than predicting each target's held-out mean, so it is
flagged and never best, and no method is best where none beats the mean; a relative error of
predicted against true F (``F_ONLY``) means something only for rows that predict F, the label
sources (a surrogate fitted on labels, or a method others take labels from), and is not shown
for the others.
"""

from __future__ import annotations

import math

import pandas as pd

from .definitions import Column
from .headline import is_reference
from .sections import DASH, NA, Cell

MEAN_SCORES_ONE = ("residual",)  # predicting each target's held-out mean scores 1
F_ONLY = ("relerr",)  # compares predicted F with F
WORSE_THAN_MEAN = "worse than predicting each target's held-out mean (NE > 1)"
NOT_F = "attribution scores, not F: no relative error to F"


def label_sources(df: pd.DataFrame) -> set[str]:
    """What rows take labels from (``labels`` other than ``none``): ``retrain``, ``gradex``."""
    return {str(s) for s in df["labels"].dropna()} - {"none", ""}


def predicts_f(method: str, labels: str, sources: set[str]) -> bool:
    """Whether a row's method predicts F: fitted on labels, or itself a label source."""
    return labels in sources or method in sources


def column_values(group: pd.DataFrame, col: Column) -> pd.DataFrame:
    """Rows of ``group`` for one column, one per method_key (the latest, whatever its split)."""
    sub = group[(group["metric"] == col.metric) & (group["variant"] == col.variant)]
    return sub.drop_duplicates("method_key", keep="last").set_index("method_key")


def higher(values: pd.DataFrame) -> bool | None:
    """A column's direction from its rows' ``higher_is_better`` (None if no rows say)."""
    flags = values["higher_is_better"].dropna()
    return None if flags.empty else bool(flags.iloc[0])


def format_value(value: float, ci_low: float = math.nan, ci_high: float = math.nan) -> str:
    """Format a metric as ``0.571`` or, when a CI is known, ``0.571 [0.52, 0.61]``."""
    if pd.isna(value):
        return DASH
    ci = "" if pd.isna(ci_low) or pd.isna(ci_high) else f" [{ci_low:.2f}, {ci_high:.2f}]"
    return f"{value:.3f}{ci}"


def _cell(row: dict, col: Column, shows_f: bool) -> Cell:
    """One row's cell of a column (see the module docstring)."""
    value = float(row["value"]) if not pd.isna(row["value"]) else math.nan
    code = row.get("_code", row.get("git_sha", ""))
    code = "" if pd.isna(code) else str(code)
    if col.metric in F_ONLY and not shows_f:
        return Cell(NA, value=value, why_na=NOT_F, code=code)
    if math.isnan(value):
        return Cell(code=code)
    text, ci, low, high = f"{value:.3f}", "", math.nan, math.nan
    std = row.get("std", math.nan)
    if not pd.isna(std):
        text, low, high = f"{value:.3f} ± {std:.3f}", value - std, value + std
    elif col.ci and not (pd.isna(row["ci_low"]) or pd.isna(row["ci_high"])):
        low, high = float(row["ci_low"]), float(row["ci_high"])
        ci = f"[{low:.2f}, {high:.2f}]"
    flag = WORSE_THAN_MEAN if col.metric in MEAN_SCORES_ONE and value > 1 else ""
    return Cell(text, ci, value, low, high, flag=flag, code=code)


def column_cells(values: pd.DataFrame, col: Column, sources: set[str]) -> dict[str, Cell]:
    """``{method_key: Cell}`` of one column, its best set marked."""
    cells, references = {}, set()
    for key, row in zip(values.index, values.to_dict("records"), strict=True):
        method = str(row.get("method", ""))
        cells[str(key)] = _cell(row, col, predicts_f(method, str(row.get("labels", "")), sources))
        if is_reference(method):
            references.add(str(key))
    contenders = {k: c for k, c in cells.items() if not math.isnan(c.value) and not c.why_na
                  and not c.flag and k not in references}
    for key in best_set(contenders, higher(values)):
        cells[key].best = True
    return cells


def best_set(cells: dict[str, Cell], high: bool | None) -> set[str]:
    """The keys of ``cells`` tied with the leader: intervals that overlap the leader's, or
    (where either has none) the same shown value. None without a direction."""
    if high is None or not cells:
        return set()
    lead = (max if high else min)(cells.values(), key=lambda c: c.value)
    return {k for k, c in cells.items() if tied(c, lead)}


def has_interval(cell: Cell) -> bool:
    return not (math.isnan(cell.low) or math.isnan(cell.high))


def tied(cell: Cell, lead: Cell) -> bool:
    """Whether ``cell`` cannot be told from ``lead`` (see ``best_set``)."""
    if has_interval(cell) and has_interval(lead):
        return cell.low <= lead.high and cell.high >= lead.low
    return f"{cell.value:.3f}" == f"{lead.value:.3f}"


def better(a: Cell, b: Cell, high: bool) -> bool:
    """Whether ``a`` is told apart from ``b`` and better: disjoint intervals, or (where either
    has none) a better shown value."""
    if has_interval(a) and has_interval(b):
        return a.low > b.high if high else a.high < b.low
    if f"{a.value:.3f}" == f"{b.value:.3f}":
        return False
    return a.value > b.value if high else a.value < b.value
