"""Which method wins where, across tasks: each headline method's mean rank and win rate on
the first metric column (LDS), over the tasks where it was measured.

On one task, a method's rank is 1 + the number of methods that beat it beyond doubt
(``cells.better``: their 95% CI lies wholly on the better side of its own), so methods that
cannot be told apart share a rank; it wins a task where it is in the column's best set (tied
with the leader, ``cells.best_set``). Only the headline rows count (each method family at its
default key; no baselines), and only tasks where at least ``MIN_METHODS`` of them have a
value, so that a cell run for one ablation with three methods does not count as a win. Methods
run on fewer than ``MIN_TASKS`` of those tasks follow the others, whatever their mean rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .cells import better
from .headline import key_stem
from .sections import ARROWS, NA, Section

MIN_METHODS = 5  # headline methods with a value for a task to count
MIN_TASKS = 5  # tasks a method must be ranked on to be ordered among the others


@dataclass
class Standing:
    """One method across tasks."""

    label: str
    stem: str  # the method key without its hash: the method across tasks
    ranks: list[float] = field(default_factory=list)
    won: list[str] = field(default_factory=list)  # the tasks it wins (its best set)
    tasks: list[str] = field(default_factory=list)

    @property
    def mean_rank(self) -> float:
        return sum(self.ranks) / len(self.ranks) if self.ranks else math.nan

    @property
    def win_rate(self) -> float:
        return len(self.won) / len(self.tasks) if self.tasks else math.nan


def _direction(section: Section) -> bool | None:
    """The first column's direction, from its title's arrow."""
    title = section.titles[0] if section.titles else ""
    return next((h for h, a in ARROWS.items() if a and title.endswith(a)), None)


def _contenders(section: Section) -> list:
    """Headline, non-reference rows with a value in the first column."""
    return [r for r in section.rows if r.headline and not r.reference and r.cells
            and r.cells[0].text != NA and not math.isnan(r.cells[0].value)]


def ranking(sections: list[Section], min_methods: int = MIN_METHODS
            ) -> tuple[list[Standing], list[str]]:
    """The standings, best mean rank first (ties: the higher win rate, then by name; those
    ranked on fewer than ``MIN_TASKS`` tasks last), and the tasks they are taken over."""
    table: dict[str, Standing] = {}
    used = []
    several = len({s.profile for s in sections}) > 1
    for section in sections:
        high = _direction(section)
        rows = _contenders(section)
        if section.group or high is None or len(rows) < min_methods:
            continue
        name = f"{section.task} · {section.profile}" if several else section.task
        used.append(name)
        for row in rows:
            cell = row.cells[0]
            st = table.setdefault(key_stem(row.key), Standing(row.label, key_stem(row.key)))
            st.ranks.append(1 + sum(better(o.cells[0], cell, high) for o in rows))
            st.tasks.append(name)
            if cell.best:
                st.won.append(name)
    out = sorted(table.values(), key=lambda s: (len(s.tasks) < MIN_TASKS, s.mean_rank,
                                                -s.win_rate, s.label))
    return out, used
