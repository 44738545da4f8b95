"""The model trained on all units, for methods that need parameters and gradients.

Trained once per (task, seed) with the loop engine from the same seed as the store's full-set
row, and cached as ``<store>/models/full_r<r>.pt`` (loaded with ``weights_only=True``). Training
is chaotic, so this model need not be bit-identical to the batched run that produced F(1);
gradient methods are evaluated at this model, and the method reads ``phi_full`` from it.
``full_model_checkpoints`` trains the same model again keeping snapshots along the way (TracIn).
``StoreFullModels`` hands a method these models (``Context.models``), never the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

import benchmarks.common.device as devices
from benchmarks.api.context import TrainedModel
from benchmarks.common.cache import cached_torch
from benchmarks.groundtruth.fill import model_seed
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.training.engine import Params, Problem, interval_lrs, train, train_with_checkpoints
from benchmarks.training.retrain_task import RetrainTask


def full_model(task: RetrainTask, store: GroundTruthStore, r: int = 0) -> TrainedModel:
    """Load (or train and cache) the full-set model of seed ``r``."""
    problem = task.training_problem(torch.float32)
    weights = task.example_weights(np.ones((1, task.K), dtype=bool))

    def make() -> Params:
        seed = model_seed(task, store.rows, 0, r)
        stacked = train(problem, torch.as_tensor(weights), [seed], task.spec.train, "loop")
        return {k: v[0].clone() for k, v in stacked.items()}

    params = cached_torch(store.path / "models" / f"full_r{r}.pt", make,
                          f"{store.task_key}/full/{r}")
    return _trained(task, problem, params, weights[0])


def checkpoint_steps(steps: int, n: int) -> list[int]:
    """``n`` evenly spaced step counts ``round(c * steps / n)``, c = 1..n (the last = steps)."""
    if not 1 <= n <= steps:
        raise ValueError(f"number of checkpoints must be in [1, {steps}] (train.steps), got {n}")
    return [round(c * steps / n) for c in range(1, n + 1)]


def full_model_checkpoints(task: RetrainTask, store: GroundTruthStore, r: int = 0,
                           n: int = 5) -> tuple[list[TrainedModel], list[float]]:
    """The full-set model of seed ``r`` after each of ``checkpoint_steps(T, n)`` steps, and the
    learning rate in effect over each interval (TracIn's eta_c, methods/METHODS.md §2.4).

    Same seed and loop engine as ``full_model``, so the last checkpoint is that model, bit for
    bit. Cached as ``<store>/models/full_r<r>_ckpt<n>.pt``.
    """
    problem = task.training_problem(torch.float32)
    weights = task.example_weights(np.ones((1, task.K), dtype=bool))
    spec = task.spec.train
    steps = checkpoint_steps(spec.steps, n)

    def make() -> list[Params]:
        seed = model_seed(task, store.rows, 0, r)
        return train_with_checkpoints(problem, torch.as_tensor(weights[0]), seed, spec, steps)

    snaps = cached_torch(store.path / "models" / f"full_r{r}_ckpt{n}.pt", make,
                    f"{store.task_key}/full/{r}/ckpt{n}")
    return [_trained(task, problem, p, weights[0]) for p in snaps], interval_lrs(spec, steps)


def linearisation_point(task: RetrainTask, store: GroundTruthStore) -> TrainedModel:
    """Where first-order estimates linearise: W0 in the fine-tuning regime (the point every
    subset model starts from), else the full-set model."""
    if task.spec.train.init != "pretrained":
        return full_model(task, store)
    problem = task.training_problem(torch.float32)  # its start is W0
    weights = task.example_weights(np.ones((1, task.K), dtype=bool))
    return _trained(task, problem, problem.start, weights[0])


@dataclass(frozen=True)
class StoreFullModels:
    """``api.context.FullModels`` of a task's store: its other seeds, checkpoints and the
    linearisation point, each trained once and cached beside the ground truth."""

    task: RetrainTask
    _store: GroundTruthStore = field(repr=False)

    def seed(self, r: int) -> TrainedModel:
        """The full-set model of training seed ``r`` (``r = 0`` is ``Context.model``)."""
        return full_model(self.task, self._store, r)

    def checkpoints(self, r: int, n: int) -> tuple[list[TrainedModel], list[float]]:
        """Seed ``r``'s model after each of ``n`` checkpoint steps, and each interval's
        learning rate (``full_model_checkpoints``)."""
        return full_model_checkpoints(self.task, self._store, r, n)

    def linearisation_point(self) -> TrainedModel:
        """W0 in the fine-tuning regime (where subset models start), else the full-set model."""
        return linearisation_point(self.task, self._store)


def _trained(task: RetrainTask, problem: Problem, params: Params,
             weights: np.ndarray) -> TrainedModel:
    """The model with its data on the configured device (the CPU: the objects as they are)."""
    dev = devices.current()
    placed = problem.on(dev)
    Xt, yt = task.targets()
    return TrainedModel(placed, placed.init(0), {k: v.to(dev) for k, v in params.items()},
                        Xt.to(dev), yt.to(dev), task.membership, weights)
