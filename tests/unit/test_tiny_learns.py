"""The tiny profile's models learn: the evaluation-subset models of tiny modular addition (from
scratch, and fine-tuned from the tiny W0) are above chance on their held-out pairs, beyond the
at-chance line of ``groundtruth.diagnostics`` (a smoke test of seconds, not a toy at chance)."""

from __future__ import annotations

import pytest

from benchmarks.api.task import make_task
from benchmarks.groundtruth.diagnostics import (
    at_chance,
    chance_line,
    is_at_chance,
    summarise_ground_truth,
)
from benchmarks.groundtruth.fill import open_store, run_ground_truth


@pytest.mark.parametrize("name", ["modular-addition", "modular-addition-ft"])
def test_tiny_modular_addition_learns(cache, name):
    task = make_task(name, "tiny")
    store = open_store(task)
    run_ground_truth(task, store, progress=False)
    diag = summarise_ground_truth(task, store)
    assert diag["chance_acc"] == task.chance
    assert diag["mean_acc"] > chance_line(task.chance, task.n_targets), diag
    assert is_at_chance(diag) is False and diag["at_chance"] is False
    assert at_chance(diag) is None
