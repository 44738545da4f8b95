"""TracIn, checkpoint version (Pruthi et al. 2020; METHODS.md §2.4), at task level.

``a_k = -sum_c eta_c u_k(theta_c) . grad phi_t(theta_c)`` with ``u_k = sum_{i in T_k} w_i g_i``
the unit gradient of ``task_gradients`` (w = full-set training weights, so the ``1/n`` of the
mean objective is inside u_k; ``aggregate="mean"`` divides by the unit size) and ``phi_t`` the
target loss, so a positive TracIn (proponent) is a negative score (§0). Checkpoints are the
full-set model after ``round(c T / C)`` of its T steps, c = 1..C (the last is the full model);
``eta_c`` is the learning rate over each interval. For AdamW, eta_c is the nominal lr and the
gradients are plain (SGD-style) loss gradients, without Adam's preconditioning (§2.4 Numerics).
Variants: TracIn-last (C = 1), projected (``proj_dim = k``: one Gaussian P_c per checkpoint) and
cosine (per-example gradients normalised at each checkpoint, in the full parameter space, before
any projection). Self-influence (§3.7): ``-sum_c eta_c ||u_k(theta_c)||^2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmarks.api.context import Context, TrainedModel
from benchmarks.api.method import Fitted
from benchmarks.api.registry import register_method
from benchmarks.common.spec import SpecError, param
from benchmarks.training.engine import interval_lrs
from benchmarks.training.grads import Projector, flat_dim
from methods._common.groups import GroupContributions, ParamGroups
from methods._common.taskgrads import GradientMethod, additive_fitted, task_gradients

GRADIENTS_NOTE = "sgd-style loss gradients; eta_c = nominal lr (no Adam preconditioning)"


def checkpoint_scores(model: TrainedModel, eta: float, aggregate: str = "sum",
                      normalize: bool = False, proj: Projector | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One checkpoint's terms: scores ``-eta u_k . g_t`` (K, n_t), self-influence
    ``-eta ||u_k||^2`` (K,) and the target losses ``phi`` (n_t,) at ``model``."""
    tg = task_gradients(model, aggregate, normalize)
    units, target = tg.units, tg.target
    if proj is not None:
        both = proj(torch.cat([units, target]))
        units, target = both[:units.shape[0]], both[units.shape[0]:]
    return -eta * (units @ target.T), -eta * (units * units).sum(1), tg.phi


@register_method("tracin")
@dataclass(frozen=True)
class TracIn(GradientMethod):
    """TracInCP over ``n_checkpoints`` checkpoints of the full-set model."""

    weightable = True  # group_contributions below

    n_checkpoints: int = param(5, "checkpoints of the full-set training run summed over", ge=1)
    proj_dim: int = param(0, "random projection dimension of the gradients (0 = no "
                          "projection)", ge=0)
    normalize: bool = param(False, "scale per-example gradients to unit length (cosine TracIn)")
    tiny = {"n_checkpoints": 2}

    def describe(self) -> str:
        parts = [f"C={self.n_checkpoints}"] + ([f"k={self.proj_dim}"] if self.proj_dim else [])
        return f"TracIn ({', '.join(parts + (['cos'] if self.normalize else []))})"

    def fit(self, ctx: Context) -> Fitted:
        models, etas = self.checkpoints(ctx)
        scores = own = phi = None
        for c, (model, eta) in enumerate(zip(models, etas, strict=True)):
            s, o, phi = checkpoint_scores(model, eta, self.aggregate, self.normalize,
                                          self.projector(model, f"{ctx.seed}/tracin/{c}"))
            scores, own = (s, o) if scores is None else (scores + s, own + o)
        spec = ctx.task.spec.train
        d = flat_dim(ctx.model.params)
        state = {"optimizer": spec.optimizer, "eta": etas, "eta_mean": sum(etas) / len(etas),
                 "gradients": GRADIENTS_NOTE, "d": d, "projected": 0 < self.proj_dim < d}
        # unit-length gradients make ||u_k|| meaningless (as in grad_cos): no self-influence
        return additive_fitted(scores, phi, state, None if self.normalize else own)

    def group_contributions(self, ctx, granularity: str, queries: torch.Tensor
                            ) -> GroupContributions:
        """The scores split by parameter group (§2.9, 𝐊 = I): per checkpoint, the group's
        share ``-eta_c u_k,j . g_t,j`` of each score and ``eta_c g_q,j . g_n,j`` of the training
        examples' proponent scores for each query q; unprojected only (``check_groups``)."""
        self.check_groups(granularity)
        total = None
        for model, eta in zip(*self.checkpoints(ctx), strict=True):
            tg = task_gradients(model, self.aggregate, self.normalize)
            groups = ParamGroups.of_params(tg.params, granularity)
            own = None if self.normalize else -eta * groups.rowdot(tg.units, tg.units)
            term = GroupContributions(groups.names, -eta * groups.dot(tg.units, tg.target),
                                      eta * groups.dot(tg.train[queries], tg.train), queries,
                                      own, tg.phi)
            total = term if total is None else total + term
        return total

    def check_groups(self, granularity: str) -> None:
        """Per-group scores need unprojected gradients (a dense P mixes the groups)."""
        if self.proj_dim:
            raise SpecError("invalid config field tracin.proj_dim: per-group scores need the "
                            "unprojected gradients (proj_dim=0)")

    def checkpoints(self, ctx) -> tuple[list[TrainedModel], list[float]]:
        """The C checkpoint models and their learning rates; the last is ``ctx.model`` (the
        cached full model, identical to the last checkpoint), so phi comes from it."""
        spec = ctx.task.spec.train
        if self.n_checkpoints == 1:
            return [ctx.model], interval_lrs(spec, [spec.steps])
        models, etas = ctx.models.checkpoints(0, self.n_checkpoints)
        return models[:-1] + [ctx.model], etas

    def projector(self, model: TrainedModel, key: str) -> Projector | None:
        """Gaussian ``P_c`` of checkpoint ``key``, or None when ``proj_dim`` is 0 or >= d."""
        d = flat_dim(model.params)
        if not 0 < self.proj_dim < d:
            return None
        return Projector(d, self.proj_dim, key, "gaussian", dtype=torch.float64)
