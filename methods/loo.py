"""Task-level leave-one-out effects as an attribution (METHODS.md §2.1).

``a_k = F(1) - F(1 - e_k)`` from retraining, averaged over seeds. As an additive predictor,
``g(s) = F(1) - sum_{k not in s} a_k``, exact on the full set and on every LOO subset.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.api.context import Context
from benchmarks.api.method import Fitted, Method, Need
from benchmarks.api.registry import register_method


@register_method("loo")
@dataclass(frozen=True)
class LeaveOneOut(Method):
    """Leave-one-out retraining; the reference of ``loo_corr``, so that metric skips it."""

    needs = frozenset({Need.LOO})
    reference_for = frozenset({"loo_corr"})
    label = "LOO (retrain)"

    def skip(self, task) -> str | None:
        if not task.spec.design.loo:
            return "the task's subset design has no leave-one-out rows (design.loo = false)"
        return None

    def fit(self, ctx: Context) -> Fitted:
        delta = ctx.full[None, :] - ctx.loo
        return Fitted(scores=delta, intercept=ctx.full - delta.sum(0),
                      state={"n_retrainings": ctx.loo.shape[0] + 1})
