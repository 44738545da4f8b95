"""Downstream selection (methods/METHODS.md §3.6): candidates, proposals, retraining cache, rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.groundtruth.fill import open_store, run_ground_truth
from benchmarks.stages.selection import SelectionDesign, candidates, propose, retrained_loss
from benchmarks.stages.selection_run import run_selection
from benchmarks.task import make_task

TINY = {"design.n_fit": 12, "design.n_eval": 8, "train.steps": 20}


def test_candidates_cover_every_size_down_to_the_budget():
    c = candidates(5, 3, 1)
    assert len(c) == 1 + 5 + 10 and c[0].all()
    assert len({m.tobytes() for m in c}) == len(c)
    assert set(c.sum(1)) == {3, 4, 5}


def test_additive_budget_proposal_is_the_top_k_units():
    scores = np.array([0.3, -0.2, 0.1, -0.5, 0.05])  # lower = including lowers the loss more
    cands = candidates(5, 3, 3)
    prop = propose((cands @ scores)[:, None], cands, 3)
    np.testing.assert_array_equal(np.flatnonzero(prop["budget"][0]), [1, 3, 4])
    np.testing.assert_array_equal(np.flatnonzero(prop["best"][0]), [1, 3])  # size 2 >= 5 - 3


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("sel-cache")))
        task = make_task("modular-addition", "tiny", TINY)
        store = open_store(task)
        run_ground_truth(task, store, progress=False)
        yield task, store


def test_selection_rows_and_cached_retraining(tiny):
    task, store = tiny
    methods = (("loo", {}), ("linear_surrogate", {"fit_type": "ridge"}), ("kernel_sm", {}))
    rows = run_selection(task, store, methods, SelectionDesign(groups=2, max_drop=2,
                                                               random_draws=2))
    by = {(r["method_key"], r["variant"]): r["value"] for r in rows}
    assert {v for _, v in by} == {"loss@k", "loss@best", "gain@k"}
    assert all(math.isfinite(v) for v in by.values())
    assert ("random-k", "loss@k") in by and ("all-units", "loss@best") in by
    n_files = len(list((store.path / "selection").iterdir()))
    again = run_selection(task, store, methods, SelectionDesign(2, 2, 2))
    assert len(list((store.path / "selection").iterdir())) == n_files  # nothing retrained
    assert [r["value"] for r in again] == [r["value"] for r in rows]


def test_retrained_loss_matches_the_task_oracle(tiny):
    """A cached selection result is the seed mean of the task's own evaluation."""
    task, store = tiny
    mask = np.ones((1, task.K), dtype=bool)
    got = retrained_loss(task, store, mask)
    full = store.mean(task.primary, "full")
    np.testing.assert_allclose(got, full, rtol=1e-5, atol=1e-6)


def test_large_unit_spaces_enumerate_only_the_budget_size():
    c = candidates(20, 2, 4, cap=1000)  # sizes 16..20 would be 6,196 masks
    assert len(c) == 190 and set(c.sum(1)) == {2}
    with pytest.raises(ValueError, match="exceed the cap"):
        candidates(50, 4, 4, cap=1000)
