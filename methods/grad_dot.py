"""Gradient dot product (METHODS.md §2.4 with one checkpoint and H = I): a cheap baseline.

``a_k = -(sum_{i in T_k} w_i g_i) . grad phi_t`` at the full-set model, where w is the full-set
training weight: the first-order change in the target loss from one gradient step on unit k.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.api.context import Context
from benchmarks.api.method import Fitted
from benchmarks.api.registry import register_method
from methods._common.taskgrads import GradientMethod, additive_fitted, task_gradients


@register_method("grad_dot")
@dataclass(frozen=True)
class GradDot(GradientMethod):
    """Unit gradient dotted with the target gradient."""

    normalize = False  # per-example gradients to unit length (GradCos)
    label = "Grad-Dot"

    def fit(self, ctx: Context) -> Fitted:
        tg = task_gradients(ctx.model, self.aggregate, self.normalize)
        # unit gradient on itself (§3.7); constant, so meaningless, for unit-length gradients
        own = None if self.normalize else -(tg.units * tg.units).sum(1)
        return additive_fitted(-(tg.units @ tg.target.T), tg.phi, {}, own)
