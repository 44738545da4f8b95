"""Gradient cosine similarity (METHODS.md §2.4, cosine-normalised variant): a cheap baseline.

Per-example training and target gradients are normalised to unit length before the unit sums,
so ``a_k = -sum_{i in T_k} w_i cos(g_i, grad phi_t)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmarks.method import Fitted, Method, Need
from benchmarks.registry import register_method
from methods._common.taskgrads import (
    additive_fitted,
    cosine_rows,
    needs_retraining_task,
    task_gradients,
)


@register_method("grad_cos")
@dataclass(frozen=True)
class GradCos(Method):
    """Sum of cosine similarities between unit members' and target gradients."""

    aggregate: str = "sum"
    needs = frozenset({Need.MODEL})
    label = "Grad-Cos"

    def skip(self, task) -> str | None:
        return needs_retraining_task(task)

    def fit(self, ctx) -> Fitted:
        tg = task_gradients(ctx.model, self.aggregate)
        M = torch.as_tensor(ctx.model.membership, dtype=torch.float64)
        w = torch.as_tensor(ctx.model.weights, dtype=torch.float64)
        units = (M * w) @ cosine_rows(tg.train)
        if self.aggregate == "mean":
            units = units / M.sum(1, keepdim=True)
        return additive_fitted(-(units @ cosine_rows(tg.target).T), tg.phi, {})
