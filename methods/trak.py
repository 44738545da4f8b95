"""TRAK (Park et al. 2023; METHODS.md §2.5) on the full-set models of M seeds.

Per model m: features ``phi(z) = Pᵀ grad_theta margin(z)`` (margin = f_y - logsumexp_{j!=y} f_j),
``tau_m(z_t) = phi(z_t)ᵀ (PhiᵀPhi + ridge I)^-1 Phiᵀ`` over training examples, with
``ridge = reg + reg_rel * trace(PhiᵀPhi) / k`` (Phi is rank-deficient when k > n); the ensemble is
``mean_m tau_m ⊙ mean_m Q_m`` with ``Q = 1 - p_y`` (the library's order of averaging). TRAK scores
are positive for examples that raise the target *margin*; our target is the loss, so the sign is
flipped (§0). Unit scores sum (or, the authors' flag, average) the example scores of a unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmarks.fullmodel import full_model
from benchmarks.method import Fitted
from benchmarks.registry import register_method
from benchmarks.spec import SpecError
from methods._common.grads import Projector, flat_dim, stacked_grads
from methods._common.taskgrads import GradientMethod, additive_fitted, per_unit


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``f_y - logsumexp_{j != y} f_j`` per example."""
    true = logits.gather(-1, y[:, None])[:, 0]
    others = logits.scatter(-1, y[:, None], float("-inf"))
    return true - torch.logsumexp(others, -1)


@register_method("trak")
@dataclass(frozen=True)
class TRAK(GradientMethod):
    """TRAK with projection dimension ``proj_dim`` and an ensemble of ``n_models`` seeds."""

    proj_dim: int = 512
    n_models: int = 1
    reg: float = 0.0
    reg_rel: float = 1e-3
    projection: str = "gaussian"
    tiny = {"proj_dim": 16}

    def validate(self) -> None:
        super().validate()
        if self.proj_dim < 1 or self.n_models < 1:
            raise SpecError("invalid config field trak.proj_dim/n_models: must be >= 1")
        if self.reg < 0 or self.reg_rel < 0 or self.reg + self.reg_rel == 0:
            raise SpecError("invalid config field trak.reg/reg_rel: must be >= 0, not both 0")

    def describe(self) -> str:
        return f"TRAK (k={self.proj_dim}, M={self.n_models})"

    def fit(self, ctx) -> Fitted:
        runs = [self._one(ctx.model if r == 0 else full_model(ctx.task, ctx.store, r),
                          f"{ctx.seed}/{r}") for r in range(self.n_models)]
        q = torch.stack([run[1] for run in runs]).mean(0)  # (n,)
        tau = torch.stack([run[0] for run in runs]).mean(0) * q[None, :]  # (n_t, n)
        M = torch.as_tensor(ctx.model.membership, dtype=torch.float64)
        units = per_unit(M @ tau.T, ctx.model.membership, self.aggregate)  # (K, n_t)
        own = torch.stack([_self_tau(M, G, A, q) for _, _, _, G, A in runs]).mean(0)
        phi = torch.stack([run[2] for run in runs]).mean(0)
        return additive_fitted(-units, phi, {}, -per_unit(own, ctx.model.membership,
                                                          self.aggregate))

    def _one(self, model, key: str) -> tuple[torch.Tensor, ...]:
        """``tau (n_t, n)``, ``Q (n,)``, target losses ``(n_t,)``, train features ``(n, k)``
        and the regularised ``PhiᵀPhi (k, k)`` of one model."""
        module = model.module.double()
        params = {k: v.double() for k, v in model.params.items()}
        (X, Xt), y = model.inputs(), model.problem.y
        G = stacked_grads(module, params, X, y, margin)
        Gt = stacked_grads(module, params, Xt, model.yt, margin)
        d = flat_dim(params)
        if self.proj_dim < d:
            proj = Projector(d, self.proj_dim, key, self.projection, dtype=torch.float64)
            G, Gt = proj(G), proj(Gt)
        A = G.T @ G
        ridge = self.reg + self.reg_rel * float(torch.trace(A)) / A.shape[0]
        A = A + ridge * torch.eye(A.shape[0], dtype=torch.float64)
        tau = Gt @ torch.linalg.solve(A, G.T)  # (n_t, n)
        with torch.no_grad():
            logits = torch.func.functional_call(module, params, (X,))
            q = 1.0 - torch.softmax(logits, -1).gather(-1, y[:, None])[:, 0]
            lt = torch.func.functional_call(module, params, (Xt,))
            phi = model.problem.loss(lt, model.yt)
        return tau, q, phi, G, A


def _self_tau(M: torch.Tensor, G: torch.Tensor, A: torch.Tensor, q: torch.Tensor
              ) -> torch.Tensor:
    """Self-influence ``(K,)``: ``sum_{i,j in T_k} phi_iᵀ A^-1 phi_j Q_j`` (§3.7), the score of
    a unit's examples on their own margins with the ensemble's Q on the training side."""
    U = M @ G  # (K, k)
    return (torch.linalg.solve(A, U.T).T * (M @ (q[:, None] * G))).sum(1)
