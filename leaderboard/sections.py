"""The data a leaderboard table is drawn from, in any output format: one ``Section`` per
(task, profile), one ``Row`` per method. Built by ``render``, drawn by ``render`` (Markdown)
and ``page`` (HTML)."""

from __future__ import annotations

from dataclasses import dataclass

DASH = "—"  # an empty cell
ARROWS = {True: " ↑", False: " ↓", None: ""}  # a column title's direction suffix


@dataclass
class Row:
    """One method's line in a section table; ``bold`` flags the best cells."""

    label: str
    key: str
    labels: str
    cells: list[str]
    bold: list[bool]


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
