"""Contracts every registered paper and stage must meet (new plug-ins are picked up), and the
rule that the replication driver names no paper."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import replicate
from benchmarks.api.claims import ClaimRow, Noise
from benchmarks.api.method import make_method
from benchmarks.api.paper import Cell, Paper
from benchmarks.api.registry import PAPERS, STAGES, TASKS
from benchmarks.api.stage import Stage
from benchmarks.common.schema import PROFILES, RESULT_COLUMNS


@pytest.mark.parametrize("name", PAPERS.names())
@pytest.mark.parametrize("profile", PROFILES)
def test_cells_name_registered_tasks_methods_and_stages(name, profile):
    paper = PAPERS.get(name)()
    assert isinstance(paper, Paper) and paper.title
    cells = paper.cells(profile)
    assert cells or paper.opt_in  # an opt-in paper may leave a profile out (overlap-dial: paper)
    assert any(paper.cells(p) for p in PROFILES) and all(isinstance(c, Cell) for c in cells)
    assert len({(c.task, tuple(sorted(c.overrides.items()))) for c in cells}) == len(cells)
    stage_types = {cls for _, cls in STAGES.items()}
    for cell in cells:
        assert cell.task in TASKS, cell.task
        keys = [make_method(n, p).key for n, p in cell.methods]  # every method registered
        assert len(set(keys)) == len(keys), (cell.task, cell.overrides)
        assert all(type(s) in stage_types for s in cell.stages)
        for n, p in cell.predictions:
            make_method(n, p)


@pytest.mark.parametrize("name", PAPERS.names())
def test_claims_of_no_results_are_empty_not_an_error(name):
    rows = PAPERS.get(name)().claims(pd.DataFrame(columns=RESULT_COLUMNS), "quick", Noise())
    assert rows == [] or all(isinstance(r, ClaimRow) for r in rows)


@pytest.mark.parametrize("name", STAGES.names())
def test_stages_are_frozen_dataclasses_that_run(name):
    cls = STAGES.get(name)
    assert issubclass(cls, Stage) and dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen
    assert cls.run is not Stage.run and inspect.getdoc(cls)


def test_replicate_names_no_paper():
    source = Path(inspect.getsourcefile(replicate)).read_text()
    for name in PAPERS.names():
        assert name not in source, f"benchmarks/replicate.py names paper {name!r}"
