"""Tasks whose F(s) comes from training: ``RetrainTask``, the training implementation of the
task contract (``benchmarks.api.task.Task``). A family subclasses it with its ``problem`` (what
to train) and ``targets``; training runs on the engines (``training.engine``) from the task's
own initialisation or its shared W0 (``training.pretrained``)."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import torch

from benchmarks.api.task import Task
from benchmarks.common.spec import SpecError, TaskSpec
from benchmarks.training.engine import Params, Problem, batched_forward, train, train_at
from benchmarks.training.pretrained import training_problem


class RetrainTask(Task):
    """A task whose F(s) comes from training a model on the subset's examples.

    ``spec.params`` is the family's frozen parameter dataclass; it and the subset design are
    validated on construction.
    """

    outputs = ("loss", "correct")
    loss_form: ClassVar[str] = "softmax_ce"  # the training loss (methods declare what they need)
    accuracy_output: ClassVar[str] = "correct"  # the output W0's quality reports as accuracy
    shares_prefixes = True  # the engines' steps do not depend on the length trained

    def __init__(self, spec: TaskSpec, overrides: dict | None = None) -> None:
        super().__init__(spec, overrides)
        self._problems: dict[torch.dtype, Problem] = {}
        self.params = spec.params
        self.params.validate()
        self.spec.design.validate(self.K)
        empty = np.flatnonzero(self.membership.sum(1) == 0)
        if len(empty):
            raise SpecError(f"invalid config: units {empty.tolist()} of {self.K} have no "
                            f"training examples under these params.* (every unit needs one)")

    @abstractmethod
    def problem(self, dtype: torch.dtype = torch.float32) -> Problem: ...

    @abstractmethod
    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Target inputs and labels ``(n_targets, ...)``, ``(n_targets,)``."""

    @property
    def n_targets(self) -> int:
        return int(self.targets()[1].shape[0])

    def training_problem(self, dtype: torch.dtype = torch.float32) -> Problem:
        """``pretrained.training_problem``, built once per task object and dtype: a worker's
        chunks share its data (and the copy of it on the device, ``Problem.on``)."""
        if dtype not in self._problems:
            self._problems[dtype] = training_problem(self, dtype)
        return self._problems[dtype]

    def train_models(self, masks: np.ndarray, seeds: list[int], engine: str = "batched",
                     dtype: torch.dtype = torch.float32) -> tuple[Problem, Params]:
        problem = self.training_problem(dtype)
        weights = torch.as_tensor(self.example_weights(masks))
        return problem, train(problem, weights, seeds, self.spec.train, engine)

    def evaluate(self, masks: np.ndarray, seeds: list[int], engine: str = "batched"
                 ) -> dict[str, np.ndarray]:
        return self.score(*self.train_models(masks, seeds, engine))

    def evaluate_lengths(self, masks: np.ndarray, seeds: list[int], engine: str = "batched"
                         ) -> dict[int, dict[str, np.ndarray]]:
        """One training to the longest of ``design.shared_lengths``, scored after each length:
        each equals that sibling cell's ``evaluate`` bit for bit (``engine.train_at``)."""
        lengths = self.spec.design.shared_lengths
        problem = self.training_problem()
        weights = torch.as_tensor(self.example_weights(masks))
        snaps = train_at(problem, weights, seeds, self.spec.train, lengths, engine)
        return {steps: self.score(problem, p) for steps, p in zip(lengths, snaps, strict=True)}

    def score(self, problem: Problem, params: Params) -> dict[str, np.ndarray]:
        """Every output of ``B`` stacked models: ``{output: (B, n_targets)}`` (here the
        targets' cross-entropy and argmax correctness)."""
        Xt, yt = self.targets()
        logits = batched_forward(problem, params, Xt)
        B = logits.shape[0]
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), yt.repeat(B), reduction="none").view(B, -1)
        correct = (logits.argmax(-1) == yt).to(torch.float64)
        return {"loss": loss.double().numpy(), "correct": correct.numpy()}
