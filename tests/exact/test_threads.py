"""The driver's thread count never reaches stored bits: the loop engine (full-set models, W0,
TracIn checkpoints) and in-driver ground truth run on one torch thread, as a pool worker
does; the batched engine agrees across thread counts by itself (measured, checked here)."""

import numpy as np
import pytest
import torch

from benchmarks.api.task import make_task
from benchmarks.groundtruth import executors
from benchmarks.training.engine import train


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("engine", ["loop", "batched"])
def test_a_model_trained_on_two_threads_equals_one_trained_on_one(engine, two_threads):
    task = make_task("modular-addition", "quick", {"train.steps": 100})  # big enough to split
    problem = task.training_problem(torch.float32)
    weights = torch.as_tensor(task.example_weights(
        np.random.default_rng(0).random((3, task.K)) > 0.5))
    spec = task.spec.train
    torch.set_num_threads(1)
    one = train(problem, weights, [1, 2, 3], spec, engine)
    torch.set_num_threads(2)
    two = train(problem, weights, [1, 2, 3], spec, engine)
    assert torch.get_num_threads() == 2  # the caller's count is restored
    for name in one:
        assert torch.equal(one[name], two[name]), name


def test_in_driver_ground_truth_runs_on_one_thread_unless_asked(two_threads, monkeypatch):
    seen = []
    monkeypatch.setattr(executors, "run_ground_truth",
                        lambda task, store, shard: seen.append(torch.get_num_threads()) or 0)
    monkeypatch.setattr(executors, "open_store", lambda task, path: None)
    torch.set_num_threads(2)
    executors.fill_ground_truth(make_task("modular-addition", "tiny"))
    executors.fill_ground_truth(make_task("modular-addition", "tiny"), threads=2)
    assert seen == [1, 2] and torch.get_num_threads() == 2
