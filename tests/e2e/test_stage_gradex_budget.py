"""The GradEx-budget stage on a tiny fine-tuning cell: one variant task per step count, each
with its own content-keyed store, sharing the cell's W0."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.api.stage import CellInputs
from benchmarks.common.cache import cache_root
from benchmarks.groundtruth.fill import open_store
from benchmarks.stages.gradex_budget import BUDGETS, COLUMNS, CSV, GradexBudget


@pytest.fixture(scope="module")
def tiny_ft(tmp_path_factory):
    """(task, store) of tiny fine-tuned modular addition with its ground truth trained, in a
    cache of the module's own."""
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.fill import run_ground_truth

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("tiny-ft-budget")))
        task = make_task("modular-addition-ft", "tiny")
        store = open_store(task)
        run_ground_truth(task, store, progress=False)
        yield task, store


@pytest.fixture(scope="module")
def frame(tiny_ft):
    task, store = tiny_ft
    out = BUDGETS["tiny"].run(CellInputs(task, store, (), ()))
    assert out.rows == [] and [t.name for t in out.tables] == [CSV]
    return out.tables[0].frame


def test_one_row_per_step_of_the_tiny_grid_with_finite_measurements(tiny_ft, frame):
    task, _ = tiny_ft
    assert tuple(frame.columns) == COLUMNS
    assert list(frame.steps) == list(BUDGETS["tiny"].steps) == [2, 5]
    assert set(frame.task_key) == {task.spec.key} and set(frame.profile) == {"tiny"}
    assert (frame.cell_steps == task.spec.train.steps).all()
    assert (frame.lr == task.spec.train.lr).all()
    for col in ("re_est", "re_lin", "w0_acc", "mean_acc", "subset_spread", "gt_s"):
        assert np.isfinite(frame[col].to_numpy(float)).all(), col
    assert (frame.re_est > 0).all() and (frame.gt_s > 0).all()  # trained in this run
    assert frame.w0_acc.nunique() == 1  # every variant starts from the cell's W0


def test_each_step_count_has_its_own_store_and_every_variant_shares_w0(tiny_ft, frame):
    task, store = tiny_ft
    stage = BUDGETS["tiny"]
    variants = [stage.variant(task, s) for s in stage.steps]
    keys = {v.spec.key for v in variants}
    assert len(keys) == len(variants) and task.spec.key not in keys
    for v in variants:
        assert v.spec.train.steps in stage.steps and not v.spec.design.loo
        assert open_store(v, create=False).done.all()
    assert store.done.all() and len(list((cache_root() / "w0").iterdir())) == 1


def test_a_from_scratch_cell_gives_nothing(tiny_addition):
    task, store = tiny_addition
    assert GradexBudget((2,)).run(CellInputs(task, store, (), ())).tables == []
