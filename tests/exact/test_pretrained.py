"""The fine-tuning regime (``train.init = "pretrained"``): every model starts from the shared
W0; the batched engine stays equal to the loop engine from it (float64); zero fine-tuning steps
give W0 itself; W0 is keyed by what decides it and its cache refuses another recipe."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.api.task import make_task
from benchmarks.common.fields import SpecError
from benchmarks.common.fsio import CorruptFileError
from benchmarks.groundtruth.fill import open_store
from benchmarks.groundtruth.fullmodel import full_model, linearisation_point
from benchmarks.groundtruth.subsets import build_rows
from benchmarks.training import pretrained
from benchmarks.training.engine import train, train_with_checkpoints

TOL_ENGINE = 1e-9
SEEDS = [21, 22, 23]
FT = {"train.init": "pretrained", "train.pretrain_steps": 30, "train.steps": 10,
      "train.lr": 0.003}


def _masks(task, n: int) -> torch.Tensor:
    rows = build_rows(task.spec.design, task.K, task.spec.base_key)
    return torch.as_tensor(task.example_weights(rows.masks[rows.index("fit")[:n]]))


@pytest.mark.parametrize("extra", [{}, {"train.batch_size": 16}, {"train.sharpness": "sam"}],
                         ids=["full-batch", "minibatch", "sam"])
def test_batched_equals_loop_from_a_shared_w0_float64(cache, extra):
    task = make_task("modular-quad", "tiny", FT | extra)
    problem = pretrained.training_problem(task, torch.float64)
    weights = _masks(task, len(SEEDS))
    a = train(problem, weights, SEEDS, task.spec.train, "batched")
    b = train(problem, weights, SEEDS, task.spec.train, "loop")
    for name in a:
        assert float((a[name] - b[name]).abs().max()) <= TOL_ENGINE, name
    w0 = pretrained.pretrained_params(task)
    for s in SEEDS:  # every seed starts at W0, not at its own initialisation
        start = dict(problem.init(s).named_parameters())
        for name in w0:
            np.testing.assert_array_equal(start[name].detach().float(), w0[name])
    moved = max(float((a[k][0] - w0[k].double()).abs().max()) for k in w0)
    assert moved > 1e-4  # fine-tuning moved the models


def test_zero_fine_tuning_steps_is_w0(cache):
    task = make_task("modular-quad", "tiny", FT)
    problem = pretrained.training_problem(task, torch.float32)
    (snap,) = train_with_checkpoints(problem, _masks(task, 1)[0], 5, task.spec.train, [0])
    w0 = pretrained.pretrained_params(task)
    for name in w0:
        assert torch.equal(snap[name], w0[name]), name


def test_w0_is_keyed_by_what_decides_it_and_cached_once(cache):
    a = make_task("modular-quad", "tiny", FT)
    b = make_task("modular-quad", "tiny", FT | {"train.steps": 20, "design.n_fit": 12})
    c = make_task("modular-quad", "tiny", FT | {"train.pretrain_lr": 0.02})
    assert pretrained.w0_key(a) == pretrained.w0_key(b) != pretrained.w0_key(c)
    assert a.spec.key != make_task("modular-quad", "tiny").spec.key  # the regime keys the task
    first = pretrained.pretrained_params(a)
    again = pretrained.pretrained_params(b)  # read from the cache, identical
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert len(list((cache / "w0").iterdir())) == 1


def test_a_w0_cache_written_for_another_recipe_is_refused(cache):
    a = make_task("modular-quad", "tiny", FT)
    c = make_task("modular-quad", "tiny", FT | {"train.pretrain_lr": 0.02})
    pretrained.pretrained_params(a)
    (path,) = (cache / "w0").iterdir()
    path.rename(cache / "w0" / f"{pretrained.w0_key(c)}.pt")
    with pytest.raises(CorruptFileError, match="holds"):
        pretrained.pretrained_params(c)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"train.pretrain_steps": 50}, "train.pretrain_steps"),
    ({"train.init": "pretrained", "train.pretrain_steps": 0}, "train.pretrain_steps"),
    ({"train.init": "pretrained", "train.pretrain_lr": 0}, "train.pretrain_lr"),
    ({"train.init": "pretrained", "train.pretrain_lr": "nan"}, "train.pretrain_lr"),
    ({"train.init": "pretrained", "train.lr": 0}, "train.lr"),
    ({"train.init": "finetune"}, "train.init"),
])
def test_bad_regime_values_are_refused_naming_the_field(overrides, field):
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        make_task("modular-quad", "tiny", overrides)


def test_first_order_estimates_linearise_at_w0_in_the_fine_tuning_regime(cache):
    """GradEx (method and label oracle) linearise where subset models start: W0 when they are
    fine-tuned from it, the full-set model when they are trained from scratch."""
    task = make_task("modular-quad", "tiny", FT)
    point = linearisation_point(task, open_store(task))
    w0 = pretrained.pretrained_params(task)
    assert all(torch.equal(point.params[k], w0[k]) for k in w0)
    scratch = make_task("modular-quad", "tiny", {"train.steps": 10})
    store = open_store(scratch)
    a, b = linearisation_point(scratch, store), full_model(scratch, store)
    assert all(torch.equal(a.params[k], b.params[k]) for k in a.params)


def test_w0_quality_is_w0s_own_held_out_accuracy(cache):
    task = make_task("modular-quad", "tiny", FT)
    problem = pretrained.training_problem(task, torch.float32)
    module = problem.init(0)
    module.load_state_dict(pretrained.pretrained_params(task))
    Xt, yt = task.targets()
    with torch.no_grad():
        acc = float((module(Xt).argmax(-1) == yt).double().mean())
    assert pretrained.w0_quality(task)["w0_acc"] == acc
    assert pretrained.w0_quality(make_task("modular-quad", "tiny")) == {}
