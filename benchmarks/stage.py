"""Stage contract: work a paper runs on a cell after the cell's methods, beyond a metric.

A stage is a registered frozen dataclass (``benchmarks/stages/``) whose fields are its
parameters. ``run(cell)`` gets the cell's task, its ground-truth store, the methods the cell ran
and their records (``record.json`` contents, with the paths of their saved outputs through
``runner.cell_dir``), and returns results rows (the schema of ``benchmarks/schema.py``) and
tables for files beside ``results.csv``. Stages talk to the rest only through those outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pandas as pd

from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.task import Task

Methods = tuple[tuple[str, dict], ...]  # (registered name, parameters) rows


@dataclass(frozen=True)
class CellInputs:
    """What a stage may read: the cell's task, store, methods and their records."""

    task: Task
    store: GroundTruthStore
    methods: Methods
    records: tuple[dict, ...]
    workers: int = 1  # processes a stage that trains may spread its models over


@dataclass(frozen=True)
class Table:
    """Rows for the file ``name`` beside ``results.csv``, upserted by ``key``; a new frame
    replaces every old row of the ``group`` values it carries."""

    name: str
    frame: pd.DataFrame
    key: tuple[str, ...]
    group: tuple[str, ...] = ("task_key", "profile")


@dataclass
class StageOutput:
    rows: list[dict] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


class Stage:
    """Base class of stages (subclasses are registered frozen dataclasses)."""

    registry_name: ClassVar[str]

    def run(self, cell: CellInputs) -> StageOutput:
        raise NotImplementedError

    def report(self, out_dir: Path) -> str:
        """A summary printed once after every cell ran (default: none)."""
        return ""
