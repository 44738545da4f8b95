"""Paper contract: a registered plug-in that says what ``replicate`` runs and what it checks.

A paper returns frozen ``Cell``s for a profile: a task (with overrides), the methods to run on
it, the stages to run after them and which methods' predicted-vs-true values go to
``predictions.csv``. ``cell_for`` gives the recipe for a task the paper does not list (an import,
a task named on the command line). ``claims`` reads ``results.csv`` rows only and returns the
paper's checks, each judged against the measured noise (``benchmarks/papers/claims.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from benchmarks.papers.claims import ClaimRow, Noise
from benchmarks.stage import Methods, Stage
from benchmarks.task import Task


@dataclass(frozen=True)
class Cell:
    """One task cell of a paper: ``overrides`` are dotted task-spec fields."""

    task: str
    overrides: dict = field(default_factory=dict)
    methods: Methods = ()
    stages: tuple[Stage, ...] = ()
    predictions: Methods = ()  # methods whose held-out predictions are kept for figures


class Paper:
    """Base class of papers (``benchmarks/papers/<name>/``, registered by name)."""

    registry_name: ClassVar[str]
    title: ClassVar[str] = ""

    def cells(self, profile: str) -> list[Cell]:
        """Every cell ``replicate`` runs at ``profile``."""
        raise NotImplementedError

    def cell_for(self, task: Task) -> Cell:
        """The recipe for a task this paper does not list (e.g. an imported one)."""
        raise NotImplementedError

    def claims(self, results: pd.DataFrame, profile: str, noise: Noise) -> list[ClaimRow]:
        """The paper's checks on ``profile``'s rows of ``results``."""
        raise NotImplementedError
