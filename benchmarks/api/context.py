"""What a method sees: exactly the inputs its ``needs`` declare (docs/ARCHITECTURE.md, Method).

The types here are the contract only; ``benchmarks.oracles.fit`` builds a ``Context`` from the
store, the full-set models and the label oracle, and fits a method on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn

from benchmarks.api.task import Task


@dataclass(frozen=True)
class LabelSet:
    """Training data of a surrogate: ``masks: (m, K)`` bool, ``values: (m, n_targets)``;
    ``cost_retrainings`` in model trainings, ``cost_s`` the oracle's own wall-clock (GradEx:
    gradients and solves, beyond the one W0 training) where measured."""

    masks: np.ndarray
    values: np.ndarray
    cost_retrainings: float
    cost_s: float = float("nan")

    def head(self, n: int) -> LabelSet:
        """The first ``n`` subsets (the cost scales with the share kept)."""
        if n <= 0 or n >= len(self.masks):
            return self
        share = n / len(self.masks)
        return LabelSet(self.masks[:n], self.values[:n], self.cost_retrainings * share
                        if self.cost_retrainings > 1 else self.cost_retrainings,
                        self.cost_s * share)


class TrainingProblem(Protocol):
    """What a method reads of the problem a model was trained on (``training.engine.Problem``
    is one): training inputs and labels, and the per-example loss and its form."""

    @property
    def X(self) -> torch.Tensor: ...

    @property
    def y(self) -> torch.Tensor: ...

    @property
    def loss_form(self) -> str: ...

    def loss(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class TrainedModel:
    """A trained model plus its data: ``X/y`` training, ``Xt/yt`` targets,
    ``membership (K, n_train)``, ``weights (n_train,)`` of the full-set objective."""

    problem: TrainingProblem
    module: nn.Module
    params: dict[str, torch.Tensor]
    Xt: torch.Tensor
    yt: torch.Tensor
    membership: np.ndarray
    weights: np.ndarray

    def inputs(self, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """Training and target inputs, floating-point ones cast to ``dtype`` (indices kept)."""
        def cast(x: torch.Tensor) -> torch.Tensor:
            return x.to(dtype) if x.is_floating_point() else x

        return cast(self.problem.X), cast(self.Xt)


class FullModels(Protocol):
    """Full-set models beyond ``Context.model``: other training seeds and checkpoints along a
    run, trained once and cached beside the ground truth. A method gets these, never the store
    (whose evaluation rows it must not see)."""

    def seed(self, r: int) -> TrainedModel:
        """The full-set model of training seed ``r`` (``r = 0`` is ``Context.model``)."""

    def checkpoints(self, r: int, n: int) -> tuple[list[TrainedModel], list[float]]:
        """Seed ``r``'s model after each of ``n`` checkpoint steps, and each interval's
        learning rate."""

    def linearisation_point(self) -> TrainedModel:
        """W0 in the fine-tuning regime (where subset models start), else ``Context.model``."""


@dataclass(frozen=True)
class Context:
    """Inputs of ``Method.fit``. Fields a method did not declare are None.

    ``fit``: fitting subsets and labels; ``full: (n_targets,)`` = F(1);
    ``loo: (K, n_targets)`` = F(1 - e_k); ``model``: the full-set model and ``models`` the
    others (seeds, checkpoints); ``fit_masks: (m, K)``: the fitting subsets without labels;
    ``seed`` derived from the task's seed key (``seed_key``) and the method key.
    """

    task: Task
    seed: int
    fit: LabelSet | None = None
    full: np.ndarray | None = None
    loo: np.ndarray | None = None
    model: TrainedModel | None = None
    models: FullModels | None = None
    fit_masks: np.ndarray | None = None


def seed_key(task: Task) -> str:
    """The content key a task's method seeds derive from: ``task.seed_key`` where the task has
    one (imported ground truth: its content hash, so the name a user chose moves nothing),
    else ``spec.key`` (built-in tasks, whose spec is their content)."""
    return task.seed_key
