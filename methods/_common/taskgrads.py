"""Gradients at the full-set model and the task-level conversion of sample scores.

Sample scores are linear in the training gradient, so a unit's score is the score of its summed
(weighted) gradient (METHODS.md §1.5): ``unit_grads = membership-weighted sums of g_i``.
Sign convention (§0): ``a_k > 0`` means including unit k raises the target loss, so first-order
scores are ``a = -(unit gradient) K (target gradient)`` for a positive-definite kernel K.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmarks.api.context import TrainedModel
from benchmarks.api.method import Fitted, Method, Need
from benchmarks.common.device import to_numpy
from benchmarks.common.spec import param
from benchmarks.oracles import memo
from benchmarks.training.grads import stacked_grads
from benchmarks.training.retrain_task import RetrainTask


def needs_retraining_task(task) -> str | None:
    """Skip reason for tasks without a trained model (e.g. inference-only tasks)."""
    if task is not None and not isinstance(task, RetrainTask):
        return f"{type(task).__name__} has no trained model to differentiate"
    return None


@dataclass(frozen=True)
class TaskGradients:
    """float64 gradients at the full model: ``train (n, d)``, ``target (n_t, d)``,
    ``units (K, d)`` = sum over unit members of w_i g_i, ``phi (n_t,)`` target losses."""

    train: torch.Tensor
    target: torch.Tensor
    units: torch.Tensor
    phi: torch.Tensor
    params: dict[str, torch.Tensor]


@dataclass(frozen=True)
class GradientMethod(Method):
    """Base of methods differentiating the full-set model: ``aggregate`` turns example scores
    into unit scores by ``sum`` (default, §1.5) or ``mean`` (the KernelSM scripts' flag)."""

    aggregate: str = param("sum", "unit score from its examples' scores: their sum (§1.5) or "
                           "mean (the KernelSM scripts)", choices=("sum", "mean"))
    needs = frozenset({Need.MODEL})

    def skip(self, task) -> str | None:
        return needs_retraining_task(task)

    @property
    def display(self) -> str:
        """``describe()`` plus ``[mean]`` for the authors' aggregation flag."""
        return self.describe() + (" [mean]" if self.aggregate == "mean" else "")

    def describe(self) -> str:
        """The method's label without the aggregation flag."""
        return self.label or self.registry_name


def per_unit(x: torch.Tensor, membership, aggregate: str) -> torch.Tensor:
    """Unit sums ``x: (K, ...)`` unchanged for ``sum``; divided by unit sizes for ``mean``."""
    if aggregate != "mean":
        return x
    return x / torch.as_tensor(membership, dtype=x.dtype).sum(1).reshape(-1, *[1] * (x.ndim - 1))


def example_grads(model: TrainedModel, loss=None) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 per-example gradients of ``loss`` (default the training loss) at ``model``:
    training ``(n, d)`` and target ``(n_t, d)``, computed once per cell (``oracles.memo``)."""
    loss = loss or model.problem.loss

    def compute() -> tuple[torch.Tensor, torch.Tensor]:
        module = model.module.double()
        params = {k: v.double() for k, v in model.params.items()}
        (X, Xt), y = model.inputs(), model.problem.y
        return (stacked_grads(module, params, X, y, loss),
                stacked_grads(module, params, Xt, model.yt, loss))

    return memo.shared((memo.digest(model), "example_grads", loss), compute)[0]


def task_gradients(model: TrainedModel, aggregate: str = "sum",
                   normalize: bool = False) -> TaskGradients:
    """Per-example gradients in float64 (``example_grads``) and their unit sums (or means, the
    authors' flag).

    ``normalize``: scale every per-example gradient to unit length first (cosine variants).
    """
    module = model.module.double()
    params = {k: v.double() for k, v in model.params.items()}
    Xt = model.inputs()[1]
    G, Gt = example_grads(model)
    if normalize:
        G, Gt = cosine_rows(G), cosine_rows(Gt)
    M = torch.as_tensor(model.membership, dtype=torch.float64)
    w = torch.as_tensor(model.weights, dtype=torch.float64)
    units = per_unit((M * w) @ G, model.membership, aggregate)
    with torch.no_grad():
        phi = model.problem.loss(torch.func.functional_call(module, params, (Xt,)), model.yt)
    return TaskGradients(G, Gt, units, phi, params)


def additive_fitted(scores: torch.Tensor, phi: torch.Tensor, state: dict,
                    self_influence: torch.Tensor | None = None) -> Fitted:
    """``Fitted`` whose prediction is ``phi(full) - sum_{k not in s} a_k`` (exact at s = 1);
    ``self_influence: (K,)`` optional (see ``Fitted``)."""
    a = to_numpy(scores)
    own = None if self_influence is None else to_numpy(self_influence)
    return Fitted(a, to_numpy(phi) - a.sum(0), state, own)


def cosine_rows(G: torch.Tensor) -> torch.Tensor:
    return G / G.norm(dim=1, keepdim=True).clamp_min(1e-300)
