"""The shared pretrained model W0 of the fine-tuning regime (``train.init = "pretrained"``).

W0 is trained once per task family, parameters and pretraining recipe, on the pretraining pool
(every unit), from a seed derived from its content key, with the loop engine; it is cached as
``<cache>/w0/<w0_key>.pt`` carrying its identity and a digest of its contents (a file
written for another recipe, or damaged, is refused: ``benchmarks.common.cache``).
Every subset, leave-one-out, full-set and selection model of the task then starts from W0
(``Problem.start``) and fine-tunes with the task's own recipe. W0's key depends on what
decides W0 only (family, parameters, pretraining recipe), not on the subset design or the
fine-tuning recipe, so one W0 serves every fine-tuning variant; the regime's fields are part of
the task key, so a store built on another W0 is refused like any other spec.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from benchmarks.common.cache import cache_root, cached_torch
from benchmarks.common.spec import content_hash, derive_seed, to_plain
from benchmarks.training.engine import Params, Problem, train

POOL = "all units"  # the pretraining pool (a task with a disjoint pool would name it here)


def w0_identity(task) -> dict:
    """What decides W0: the family, its parameters, the pretraining recipe and pool."""
    spec = task.spec
    return {"task": spec.name, "params": to_plain(spec.params),
            "pretrain": to_plain(spec.train.pretraining()), "pool": POOL}


def w0_key(task) -> str:
    return f"{task.spec.name}-w0-{content_hash(w0_identity(task))}"


def pretrained_params(task) -> Params:
    """W0's float32 parameters (trained and cached on first use)."""
    key = w0_key(task)

    def make() -> Params:
        problem = task.problem(torch.float32)
        weights = torch.as_tensor(task.example_weights(np.ones((1, task.K), dtype=bool)))
        stacked = train(problem, weights, [derive_seed(key, "w0")],
                        task.spec.train.pretraining(), "loop")
        return {k: v[0].clone() for k, v in stacked.items()}

    return cached_torch(cache_root() / "w0" / f"{key}.pt", make, key)


def training_problem(task, dtype: torch.dtype = torch.float32) -> Problem:
    """``task.problem(dtype)``, starting from W0 in the fine-tuning regime."""
    problem = task.problem(dtype)
    if task.spec.train.init != "pretrained":
        return problem
    return replace(problem, start={k: v.to(dtype) for k, v in pretrained_params(task).items()})


def w0_quality(task) -> dict:
    """W0's mean accuracy (``task.accuracy_output``: argmax correctness, rollout success) and
    mean primary loss on the task's targets (a W0 that already gets every target right leaves
    nothing to attribute); empty outside the regime."""
    if task.spec.train.init != "pretrained":
        return {}
    problem = training_problem(task, torch.float32)  # its start is W0
    out = task.score(problem, {k: v[None] for k, v in problem.start.items()})
    return {"w0_acc": float(out[task.accuracy_output].mean()),
            "w0_loss": float(out[task.primary].mean())}
