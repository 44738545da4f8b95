"""Paper contract: a registered plug-in that says what ``replicate`` runs and what it checks.

A paper is data: a table of ``Entry`` rows read top to bottom, each putting methods and stages
on the tasks it names (one cell per override variant, at the profiles it names). Rows that name
the same (task, variant) add to one cell; ``ANY`` names a task the paper does not list (a task
given on the command line) and ``kinds`` an imported ground truth's data kind. ``cells`` and
``cell_for`` expand the table; no code tests a task's name. ``claims`` reads ``results.csv``
rows only and returns the paper's checks, each judged against the measured noise
(``benchmarks/api/claims.py``). ``merge`` joins several papers' cells by (task, variant), so
a ground truth the papers share is trained once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

import pandas as pd

from benchmarks.api.claims import ClaimRow, Noise
from benchmarks.api.method import make_method
from benchmarks.api.stage import Methods, Stage
from benchmarks.api.task import Task
from benchmarks.common.schema import PROFILES

ANY = "*"  # in ``Entry.tasks``: any task the paper does not list by name


@dataclass(frozen=True)
class Cell:
    """One task cell of a paper: ``overrides`` are dotted task-spec fields."""

    task: str
    overrides: dict = field(default_factory=dict)
    methods: Methods = ()
    stages: tuple[Stage, ...] = ()
    predictions: Methods = ()  # methods whose held-out predictions are kept for figures

    @property
    def where(self) -> tuple[str, tuple]:
        """What identifies the cell's ground truth: the task and its overrides."""
        return self.task, tuple(sorted(self.overrides.items()))


@dataclass(frozen=True)
class Entry:
    """A row of a paper's table: ``methods`` and ``stages`` on each of ``tasks`` (or imports
    of the data ``kinds``), once per override ``variants``, at ``profiles``."""

    tasks: tuple[str, ...] = ()
    methods: Methods = ()
    stages: tuple[Stage, ...] = ()
    variants: tuple[dict, ...] = ({},)
    profiles: tuple[str, ...] = PROFILES
    predictions: Methods = ()
    kinds: tuple[str, ...] = ()

    def cells(self, task: str) -> list[Cell]:
        return [Cell(task, dict(v), self.methods, self.stages, self.predictions)
                for v in self.variants]


class Paper:
    """Base class of papers (``benchmarks/papers/<name>/``, registered by name)."""

    registry_name: ClassVar[str]
    title: ClassVar[str] = ""
    entries: ClassVar[tuple[Entry, ...]] = ()
    # run only when named (``replicate --paper NAME``): cells whose measurement showed they
    # carry no evidence for what they were built to move stay runnable, outside the default job
    opt_in: ClassVar[bool] = False

    def cells(self, profile: str) -> list[Cell]:
        """Every cell ``replicate`` runs at ``profile``, in the order of first mention."""
        return merge([c for e in self.entries if profile in e.profiles
                      for t in e.tasks if t != ANY for c in e.cells(t)])

    def cell_for(self, task: Task) -> Cell:
        """The recipe for a task this paper does not list at its profile: the rows of its
        imported data kind; else the rows naming it at another profile; else the ``ANY`` rows
        (an empty cell where there are none)."""
        name, profile = task.spec.name, task.spec.profile
        overrides = {k: v for k, v in task.overrides.items() if not k.startswith("execution.")}
        if task.kind is not None:
            rows = [e for e in self.entries if task.kind in e.kinds]
        else:
            rows = [e for e in self.entries if name in e.tasks and {} in e.variants] or [
                e for e in self.entries if ANY in e.tasks and profile in e.profiles]
        found = merge([replace(c, overrides=overrides) for e in rows for c in e.cells(name)
                       if not c.overrides])
        return found[0] if found else Cell(name, overrides)

    def claims(self, results: pd.DataFrame, profile: str, noise: Noise) -> list[ClaimRow]:
        """The paper's checks on ``profile``'s rows of ``results``."""
        raise NotImplementedError


def merge(cells: list[Cell]) -> list[Cell]:
    """Cells of one (task, variant) joined into one, in order of first mention: methods and
    predictions without repeats (by method key), stages without repeats."""
    out: dict[tuple, Cell] = {}
    for c in cells:
        have = out.get(c.where)
        out[c.where] = c if have is None else replace(
            have, methods=_union(have.methods, c.methods),
            stages=have.stages + tuple(s for s in c.stages if s not in have.stages),
            predictions=_union(have.predictions, c.predictions))
    return list(out.values())


def _union(a: Methods, b: Methods) -> Methods:
    keys = {make_method(n, p).key for n, p in a}
    return a + tuple((n, p) for n, p in b if make_method(n, p).key not in keys)
