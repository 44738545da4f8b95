"""TRAK (Park et al. 2023; METHODS.md §2.5) on the full-set models of M seeds.

Per model m: features ``phi(z) = Pᵀ grad_theta margin(z)`` (margin = f_y - logsumexp_{j!=y} f_j),
``tau_m(z_t) = phi(z_t)ᵀ (PhiᵀPhi + ridge I)^-1 Phiᵀ`` over training examples, with
``ridge = reg + reg_rel * trace(PhiᵀPhi) / k`` (Phi is rank-deficient when k > n); the ensemble is
``mean_m tau_m ⊙ mean_m Q_m`` with ``Q = 1 - p_y`` (the library's order of averaging). TRAK scores
are positive for examples that raise the target *margin*; our target is the loss, so the sign is
flipped (§0). Unit scores sum (or, the authors' flag, average) the example scores of a unit.
``block_projection`` ("layer" or "tensor") projects each parameter group with its own
``P_j`` (k = ``proj_dim`` per group), so the features stay separable by group (§1.4, §2.9).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from benchmarks.api.context import Context
from benchmarks.api.method import SOFTMAX_CE, Fitted
from benchmarks.api.registry import register_method
from benchmarks.common.spec import SpecError, param
from benchmarks.training.grads import Projector, flat_dim
from methods._common.groups import GRANULARITIES, GroupContributions, GroupProjector, ParamGroups
from methods._common.taskgrads import GradientMethod, additive_fitted, example_grads, per_unit


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``f_y - logsumexp_{j != y} f_j`` per example."""
    true = logits.gather(-1, y[:, None])[:, 0]
    others = logits.scatter(-1, y[:, None], float("-inf"))
    return true - torch.logsumexp(others, -1)


@dataclass(frozen=True)
class Features:
    """One model's projected margin gradients: ``G (n, D)`` training, ``Gt (n_t, D)`` targets,
    the regularised ``A = GᵀG + ridge I (D, D)``, ``q = 1 - p_y (n,)``, target losses ``phi``
    ``(n_t,)`` and the feature groups (None under a dense projection)."""

    G: torch.Tensor
    Gt: torch.Tensor
    A: torch.Tensor
    q: torch.Tensor
    phi: torch.Tensor
    groups: ParamGroups | None


@register_method("trak")
@dataclass(frozen=True)
class TRAK(GradientMethod):
    """TRAK with projection dimension ``proj_dim`` and an ensemble of ``n_models`` seeds."""

    weightable = True  # group_contributions below
    loss_forms = SOFTMAX_CE  # margin gradients and Q = 1 - p of the softmax

    proj_dim: int = param(512, "random projection dimension of the margin gradients", ge=1)
    n_models: int = param(1, "ensemble size: full-set models trained with different seeds",
                          ge=1)
    reg: float = param(0.0, "absolute ridge added to GᵀG", ge=0)
    reg_rel: float = param(1e-3, "ridge relative to the mean diagonal of GᵀG", ge=0)
    projection: str = param("gaussian", "random projection entries: Gaussian or Rademacher",
                            choices=("gaussian", "rademacher"))
    block_projection: str = param("none", "project each parameter group separately (layer or "
                                  "tensor; none = one dense projection)",
                                  choices=("none",) + GRANULARITIES, extension=True)
    tiny = {"proj_dim": 16}

    def validate(self) -> None:
        super().validate()
        if self.reg + self.reg_rel == 0:
            raise SpecError("invalid config field trak.reg/reg_rel: not both 0 (the ridge "
                            "reg + reg_rel * trace(GᵀG) / k must be > 0)")

    def describe(self) -> str:
        block = "" if self.block_projection == "none" else f", block/{self.block_projection}"
        return f"TRAK (k={self.proj_dim}, M={self.n_models}{block})"

    def fit(self, ctx: Context) -> Fitted:
        runs = self._runs(ctx)
        q = torch.stack([f.q for f in runs]).mean(0)  # (n,)
        tau = torch.stack([f.Gt @ torch.linalg.solve(f.A, f.G.T) for f in runs]).mean(0) \
            * q[None, :]  # (n_t, n)
        M = torch.as_tensor(ctx.model.membership, dtype=torch.float64)
        units = per_unit(M @ tau.T, ctx.model.membership, self.aggregate)  # (K, n_t)
        own = torch.stack([_self_tau(M, f.G, f.A, q) for f in runs]).mean(0)
        phi = torch.stack([f.phi for f in runs]).mean(0)
        return additive_fitted(-units, phi, {}, -per_unit(own, ctx.model.membership,
                                                          self.aggregate))

    def group_contributions(self, ctx, granularity: str, queries: torch.Tensor
                            ) -> GroupContributions:
        """The ensemble's scores split by feature group (§2.9, 𝐊 = A^-1 with Q on the
        training side): per model, ``-u_k,j . Gt_j`` with ``u_k = sum_{i in T_k} Q_i A^-1 g_i / M``
        and the proponent scores ``G_q,j . (Q_n A^-1 g_n)_j / M`` of each query; self-influence
        terms take the unit's own summed margin gradients as the query side."""
        self.check_groups(granularity)
        runs = self._runs(ctx, granularity)
        if runs[0].groups is None:  # a dense projection (proj_dim < d) mixes the groups
            raise SpecError(f"invalid config field trak.block_projection: per-group scores need "
                            f"a block-diagonal projection, set it to {granularity!r}")
        q = torch.stack([f.q for f in runs]).mean(0)
        member = ctx.model.membership
        M = torch.as_tensor(member, dtype=torch.float64)
        total = None
        for f in runs:
            T = torch.linalg.solve(f.A, f.G.T).T * (q[:, None] / len(runs))  # (n, D)
            units = per_unit(M @ T, member, self.aggregate)  # (K, D)
            own = -f.groups.rowdot(M @ f.G, units)  # query side: the unit's own margins
            term = GroupContributions(f.groups.names, -f.groups.dot(units, f.Gt),
                                      f.groups.dot(f.G[queries], T), queries, own, f.phi)
            total = term if total is None else total + term
        return dataclasses.replace(total, phi=torch.stack([f.phi for f in runs]).mean(0))

    def check_groups(self, granularity: str) -> None:
        """Refuse a block projection whose groups are not ``granularity``."""
        if self.block_projection not in ("none", granularity):
            raise SpecError(f"invalid config field trak.block_projection: "
                            f"{self.block_projection!r} does not split features by "
                            f"{granularity!r}; set it to {granularity!r}")

    def _runs(self, ctx, granularity: str | None = None) -> list[Features]:
        """Features of the ensemble's models (model 0 is ``ctx.model``)."""
        return [self._features(ctx.model if r == 0 else ctx.models.seed(r),
                               f"{ctx.seed}/{r}", granularity) for r in range(self.n_models)]

    def _features(self, model, key: str, granularity: str | None = None) -> Features:
        """One model's features; ``granularity`` names the groups the caller wants (it must
        match ``block_projection`` when the gradients are projected)."""
        module = model.module.double()
        params = {k: v.double() for k, v in model.params.items()}
        (X, Xt), y = model.inputs(), model.problem.y
        G, Gt = example_grads(model, margin)  # shared by the cell's TRAK variants
        groups = ParamGroups.of_params(params, granularity or "layer")
        if self.block_projection != "none":
            proj = GroupProjector(ParamGroups.of_params(params, self.block_projection),
                                  self.proj_dim, key, self.projection)
            G, Gt = proj(G), proj(Gt)
            groups = proj.out if granularity in (None, self.block_projection) else None
        elif self.proj_dim < flat_dim(params):
            proj = Projector(flat_dim(params), self.proj_dim, key, self.projection,
                             dtype=torch.float64)
            G, Gt, groups = proj(G), proj(Gt), None
        A = G.T @ G
        ridge = self.reg + self.reg_rel * float(torch.trace(A)) / A.shape[0]
        A = A + ridge * torch.eye(A.shape[0], dtype=torch.float64)
        with torch.no_grad():
            logits = torch.func.functional_call(module, params, (X,))
            q = 1.0 - torch.softmax(logits, -1).gather(-1, y[:, None])[:, 0]
            lt = torch.func.functional_call(module, params, (Xt,))
            phi = model.problem.loss(lt, model.yt)
        return Features(G, Gt, A, q, phi, groups)


def _self_tau(M: torch.Tensor, G: torch.Tensor, A: torch.Tensor, q: torch.Tensor
              ) -> torch.Tensor:
    """Self-influence ``(K,)``: ``sum_{i,j in T_k} phi_iᵀ A^-1 phi_j Q_j`` (§3.7), the score of
    a unit's examples on their own margins with the ensemble's Q on the training side."""
    U = M @ G  # (K, k)
    return (torch.linalg.solve(A, U.T).T * (M @ (q[:, None] * G))).sum(1)
