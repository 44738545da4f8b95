"""Prefix sharing (``groundtruth/prefix.py``): cells that differ only in training length train
once, to the longest, and every sibling's store equals, bit for bit, the store that cell fills
on its own (in process and through a worker pool); each keeps its own key."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmarks.api.task import make_task
from benchmarks.common.spec import SpecError
from benchmarks.groundtruth.executors import fill_ground_truth
from benchmarks.groundtruth.fill import open_store, run_ground_truth
from benchmarks.training.engine import train, train_at

LENGTHS = (10, 25, 40)
SMALL = {"design.n_fit": 6, "design.n_eval": 4, "design.loo": False,
         "design.shared_lengths": LENGTHS}


def _cell(steps: int, **more) -> object:
    return make_task("modular-addition", "tiny", {**SMALL, "train.steps": steps, **more})


@pytest.mark.parametrize("engine", ["batched", "loop"])
@pytest.mark.parametrize("overrides", [{}, {"train.batch_size": 16}, {"train.sharpness": "sam"},
                                       {"train.sharpness": "nso"}],
                         ids=["full-batch", "minibatch", "sam", "nso"])
def test_a_snapshot_is_the_shorter_training(engine, overrides):
    task = make_task("modular-addition", "tiny", overrides)
    problem = task.training_problem()
    masks = np.array([[1] * 7 + [0] * 2, [0] * 2 + [1] * 7, [1, 0] * 4 + [1]], bool)
    weights = torch.as_tensor(task.example_weights(masks))
    snaps = train_at(problem, weights, [1, 2, 3], task.spec.train, LENGTHS, engine)
    for steps, snap in zip(LENGTHS, snaps, strict=True):
        alone = train(problem, weights, [1, 2, 3], replace(task.spec.train, steps=steps), engine)
        assert all(torch.equal(alone[k], snap[k]) for k in alone), steps


def test_siblings_share_subsets_and_seeds_but_not_keys():
    cells = [_cell(s) for s in LENGTHS]
    assert len({c.spec.base_key for c in cells}) == 1
    assert len({c.spec.key for c in cells}) == 3
    plain = make_task("modular-addition", "tiny", {"train.steps": 40})
    assert plain.spec.key != cells[-1].spec.key  # the shared design is part of the key


def _arrays(store) -> dict[str, np.ndarray]:
    return {name: store.array(name).copy() for name in store.outputs}


def _assert_same(a, b) -> None:
    assert np.array_equal(np.asarray(a.done), np.asarray(b.done)) and np.asarray(a.done).all()
    for name, values in _arrays(a).items():
        assert np.array_equal(values, b.array(name)), name


def test_filling_one_sibling_fills_all_bit_identically(cache, tmp_path):
    written = run_ground_truth(_cell(10), open_store(_cell(10)), progress=False)
    assert written == 6 * 2 + 4 * 2  # models trained: one per (subset, seed), not per length
    for steps in LENGTHS:  # each equals that cell filled alone (an explicit path: no sharing)
        alone = open_store(_cell(steps), tmp_path / f"alone-{steps}")
        run_ground_truth(_cell(steps), alone, progress=False)
        _assert_same(open_store(_cell(steps)), alone)
    assert run_ground_truth(_cell(40), open_store(_cell(40)), progress=False) == 0


def test_a_worker_pool_fills_the_same_bits(cache, tmp_path, monkeypatch):
    run_ground_truth(_cell(25), open_store(_cell(25)), progress=False)
    first = {s: _arrays(open_store(_cell(s))) for s in LENGTHS}
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path / "pool"))
    assert fill_ground_truth(_cell(40), workers=2) == 6 * 2 + 4 * 2
    for steps in LENGTHS:
        for name, values in first[steps].items():
            assert np.array_equal(values, open_store(_cell(steps)).array(name)), (steps, name)


def test_a_sibling_missing_rows_is_completed_without_touching_the_rest(cache):
    run_ground_truth(_cell(10), open_store(_cell(10)), progress=False)
    before = {s: _arrays(open_store(_cell(s))) for s in LENGTHS}
    store = open_store(_cell(25))
    store.done[0, 1] = 0  # as if killed between the stores' writes of a chunk
    store.done.flush()
    assert run_ground_truth(_cell(40), open_store(_cell(40)), progress=False) == 1
    for steps in LENGTHS:
        after = _arrays(open_store(_cell(steps)))
        assert all(np.array_equal(before[steps][k], after[k]) for k in after), steps


@pytest.mark.parametrize("overrides, field", [
    ({"train.steps": 30}, "must include this cell's train.steps"),
    ({"design.shared_lengths": (40, 10), "train.steps": 40}, "strictly increasing"),
])
def test_an_inconsistent_design_is_refused(overrides, field):
    with pytest.raises(SpecError, match="design.shared_lengths") as err:
        make_task("modular-addition", "tiny", {**SMALL, "train.steps": 10, **overrides})
    assert field in str(err.value)


def test_a_task_that_does_not_train_refuses_shared_lengths():
    with pytest.raises(SpecError, match="cannot share training prefixes"):
        make_task("icl-coin-flip", "tiny", {"design.shared_lengths": (1, 2),
                                            "train.steps": 1})
