"""The batched (vmap) engine trains the same models as the plain loop engine, in float64."""

import dataclasses

import numpy as np
import pytest
import torch

from benchmarks.api.task import make_task
from benchmarks.groundtruth.subsets import build_rows
from benchmarks.training.engine import pack, train, train_with_checkpoints

TOL_ENGINE = 1e-9
SEEDS = [11, 12, 13, 14, 15]


def _setup(overrides):
    task = make_task("modular-quad", "tiny", {"train.steps": 40, **overrides})
    rows = build_rows(task.spec.design, task.K, task.spec.base_key)
    masks = rows.masks[rows.index("fit")[: len(SEEDS)]]
    problem = task.problem(torch.float64)
    return task, problem, torch.as_tensor(task.example_weights(masks))


@pytest.mark.parametrize("overrides", [
    {},
    {"train.batch_size": 16},
    {"train.weighting": "tasks"},
    {"train.optimizer": "sgd", "train.lr": 0.5, "train.weight_decay": 0.01},
    {"params.overlap": 0.5},
    {"train.sharpness": "sam"},
    {"train.sharpness": "sam", "train.batch_size": 16},
    {"train.sharpness": "sam", "train.optimizer": "sgd", "train.lr": 0.5,
     "train.weight_decay": 0.01},
    {"train.sharpness": "nso", "train.nso_sigma": 0.05},
    {"train.sharpness": "nso", "train.nso_sigma": 0.05, "train.batch_size": 16},
    {"train.sharpness": "nso", "train.nso_sigma": 0.05, "train.nso_one_sided": True},
], ids=["full-batch", "minibatch", "task-weighting", "sgd", "overlap", "sam", "sam-minibatch",
        "sam-sgd", "nso", "nso-minibatch", "nso-one-sided"])
def test_batched_equals_loop_float64(overrides):
    task, problem, weights = _setup(overrides)
    a = train(problem, weights, SEEDS, task.spec.train, "batched")
    b = train(problem, weights, SEEDS, task.spec.train, "loop")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].shape[0] == len(SEEDS)
        assert float((a[name] - b[name]).abs().max()) <= TOL_ENGINE, name
    # training moved the parameters: the test compares trained models, not initialisations
    init = problem.init(SEEDS[0])
    assert float((a["out.weight"][0] - init.out.weight.detach()).abs().max()) > 1e-3


@pytest.mark.parametrize("overrides", [
    {}, {"train.batch_size": 16}, {"train.sharpness": "sam"},
    {"train.sharpness": "nso", "train.batch_size": 16},
], ids=["full-batch", "minibatch", "sam", "nso-minibatch"])
def test_checkpoints_are_the_loop_engine_models(overrides):
    """Snapshots after s steps are bit-identical to ``train(..., "loop")`` run for s steps, in
    float32 (the full model's dtype), so the last one is the final model."""
    task = make_task("modular-quad", "tiny", {"train.steps": 12, **overrides})
    problem = task.problem(torch.float32)
    w = torch.as_tensor(task.example_weights(np.ones((1, task.K), dtype=bool)))
    snaps = train_with_checkpoints(problem, w[0], SEEDS[0], task.spec.train, [0, 5, 12])
    for steps, snap in zip([5, 12], snaps[1:], strict=True):
        spec = dataclasses.replace(task.spec.train, steps=steps)
        ref = train(problem, w, [SEEDS[0]], spec, "loop")
        for name, value in ref.items():
            assert torch.equal(snap[name], value[0]), (steps, name)
    init = dict(problem.init(SEEDS[0]).named_parameters())
    assert all(torch.equal(snaps[0][k], init[k]) for k in init)
    with pytest.raises(ValueError, match="strictly increasing"):
        train_with_checkpoints(problem, w[0], SEEDS[0], task.spec.train, [5, 5])


def test_pack_gathers_included_examples_in_order():
    w = torch.tensor([[0.0, 0.5, 0.0, 0.5], [0.25, 0.25, 0.25, 0.25]])
    idx, wp = pack(w)
    assert idx.shape == (2, 4)
    assert idx[0, :2].tolist() == [1, 3] and wp[0].tolist() == [0.5, 0.5, 0.0, 0.0]
    assert idx[1].tolist() == [0, 1, 2, 3]


def test_example_weights_follow_the_objective():
    """``examples``: uniform over the union; ``tasks``: mean of per-unit means (methods/METHODS.md
    §0)."""
    task = make_task("modular-addition", "tiny", {"params.overlap": 0.5})
    mask = np.zeros((1, task.K), dtype=bool)
    mask[0, :3] = True
    w = task.example_weights(mask)[0]
    union = task.membership[:3].any(0)
    assert np.allclose(w[union], 1.0 / union.sum()) and np.all(w[~union] == 0)
    tw = make_task("modular-addition", "tiny", {"train.weighting": "tasks"})
    wt = tw.example_weights(mask)[0]
    for k in range(3):
        assert np.isclose(wt[tw.membership[k]].sum(), 1.0 / 3)
    assert np.isclose(wt.sum(), 1.0)
