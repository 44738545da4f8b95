"""The data a leaderboard table is drawn from, in any output format: one ``Section`` per
(task, profile), one ``Row`` per method, one ``Cell`` per metric column. Built by ``render``
(with ``cells`` and ``headline``), drawn by ``render`` (Markdown) and ``page_section`` (HTML)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .definitions import Column

DASH = "—"  # an empty cell
ARROWS = {True: " ↑", False: " ↓", None: ""}  # a column title's direction suffix
NA = "n/a"  # a value the column does not mean for this row (its tooltip says why)


@dataclass
class Cell:
    """One method's value in one column, as shown and as measured."""

    text: str = DASH  # the value as shown: "0.571", "0.571 ± 0.100", NA
    ci: str = ""  # "[0.52, 0.61]" where the column shows the 95% CI
    value: float = math.nan
    low: float = math.nan  # the interval the best set is judged by (CI, or mean ± sd)
    high: float = math.nan
    best: bool = False  # in the column's best set: tied with its leader
    flag: str = ""  # why the value means less than the column says (a mark and a tooltip)
    why_na: str = ""  # why the value is not shown (``text`` is NA)
    code: str = ""  # the code version the row was produced by

    @property
    def display(self) -> str:
        """Value and CI on one line (Markdown)."""
        return f"{self.text} {self.ci}" if self.ci else self.text


@dataclass
class Row:
    """One method's line in a section table (every row is in the Markdown; the page folds
    those whose values are all another row's into it)."""

    label: str
    key: str
    labels: str
    cells: list[Cell]
    cost: str = DASH
    n_labels: str = DASH
    method: str = ""  # the registered name (the method family)
    headline: bool = True  # shown by default (``headline.headline_keys``)
    reference: bool = False  # a baseline or the full-set model: context, never the best
    same_as: str = ""  # the key of the row this one is folded into (its values all the same)
    folded: list[tuple[str, str]] = field(default_factory=list)  # (label, key) folded into it

    @property
    def bold(self) -> list[bool]:
        """Per metric cell: in its column's best set."""
        return [c.best for c in self.cells]


@dataclass
class Section:
    """Everything needed to draw one (task, profile) table in any output format."""

    task: str
    profile: str
    meta: dict[str, str]
    header: list[str]
    rows: list[Row]
    family: str = ""  # the task family (filters on the web page)
    regime: str = ""  # the results rows' regime column (scratch or fine-tuned)
    columns: list[Column] = field(default_factory=list)  # the metric columns, in order
    group: bool = False  # a task group's mean ± sd over splits, not one task
    stale: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (method, code,
    # column titles) of the rows produced by other code than the page's newest

    @property
    def titles(self) -> list[str]:
        """The metric columns' titles with their direction arrows."""
        return self.header[3:3 + len(self.columns)]
