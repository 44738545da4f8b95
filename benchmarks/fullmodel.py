"""The model trained on all units, for methods that need parameters and gradients.

Trained once per (task, seed) with the loop engine from the same seed as the store's full-set
row, and cached as ``<store>/models/full_r<r>.pt`` (loaded with ``weights_only=True``). Training
is chaotic, so this model need not be bit-identical to the batched run that produced F(1);
gradient methods are evaluated at this model, and the method reads ``phi_full`` from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .engine import Params, Problem, train
from .groundtruth import model_seed
from .store import GroundTruthStore
from .task import RetrainTask


@dataclass(frozen=True)
class TrainedModel:
    """A trained model plus its data: ``X/y`` training, ``Xt/yt`` targets,
    ``membership (K, n_train)``, ``weights (n_train,)`` of the full-set objective."""

    problem: Problem
    module: nn.Module
    params: Params
    Xt: torch.Tensor
    yt: torch.Tensor
    membership: np.ndarray
    weights: np.ndarray

    def inputs(self, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """Training and target inputs, floating-point ones cast to ``dtype`` (indices kept)."""
        def cast(x: torch.Tensor) -> torch.Tensor:
            return x.to(dtype) if x.is_floating_point() else x

        return cast(self.problem.X), cast(self.Xt)


def full_model(task: RetrainTask, store: GroundTruthStore, r: int = 0) -> TrainedModel:
    """Load (or train and cache) the full-set model of seed ``r``."""
    problem = task.problem(torch.float32)
    weights = task.example_weights(np.ones((1, task.K), dtype=bool))
    path = store.path / "models" / f"full_r{r}.pt"
    if path.exists():
        params = torch.load(path, weights_only=True)
    else:
        w = torch.as_tensor(weights)
        seed = model_seed(task, store.rows, 0, r)
        stacked = train(problem, w, [seed], task.spec.train, "loop")
        params = {k: v[0].clone() for k, v in stacked.items()}
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save(params, tmp)
        os.replace(tmp, path)
    Xt, yt = task.targets()
    return TrainedModel(problem, problem.init(0), params, Xt, yt, task.membership, weights[0])
