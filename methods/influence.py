"""Influence functions (Koh & Liang 2017; METHODS.md §2.2) at task level.

``a_k = -grad phi_tᵀ (H + damping I)^-1 (sum_{i in T_k} w_i g_i)`` at the full-set model, with
H the curvature of the full-set training objective ``sum_i w_i loss_i`` (w = the training weights
of the full set, so the objective is the mean loss): ``hessian="ggn"`` (default) the Gauss-Newton
matrix ``sum_i w_i J_iᵀ Λ_i J_i``, positive semi-definite by construction (§2.2.4), or
``"exact"`` the true Hessian, which is indefinite away from a minimum. Including unit k is a step
of +1 in its weight, so the score is the up-weighting derivative itself (§2.2, sign convention
§0). Solvers: ``exact`` (matrix from HVPs, Cholesky), ``cg`` (conjugate gradient on HVPs),
``lissa`` (the recursion on full-batch HVPs; fixed point (H + scale*damping I)^-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import functional_call, grad, jvp, vjp, vmap

from benchmarks.method import Fitted
from benchmarks.registry import register_method
from benchmarks.spec import SpecError
from methods._common.ihvp import power_iteration, solve_cg, solve_exact, solve_lissa
from methods._common.taskgrads import GradientMethod, additive_fitted, task_gradients

SOLVERS = ("exact", "cg", "lissa")


def make_hvp(model, params: dict[str, torch.Tensor], kind: str = "ggn", chunk: int = 128):
    """``V (d, c) -> H V`` for the weighted training loss (Hessian or Gauss-Newton)."""
    names = [k for k in params]
    shapes = [params[k].shape for k in names]
    sizes = [params[k].numel() for k in names]
    theta = torch.cat([params[k].reshape(-1) for k in names])
    (X, _), y = model.inputs(), model.problem.y
    w = torch.as_tensor(model.weights, dtype=torch.float64)
    module = model.module.double()

    def logits(flat: torch.Tensor) -> torch.Tensor:
        p = {k: t.view(s) for k, t, s in zip(names, flat.split(sizes), shapes, strict=True)}
        return functional_call(module, p, (X,))

    def loss(flat: torch.Tensor) -> torch.Tensor:
        return (w * model.problem.loss(logits(flat), y)).sum()

    def hv(v: torch.Tensor) -> torch.Tensor:
        return jvp(grad(loss), (theta,), (v,))[1]

    out, pull = vjp(logits, theta)
    prob = torch.softmax(out.detach(), -1)

    def gv(v: torch.Tensor) -> torch.Tensor:
        jv = jvp(logits, (theta,), (v,))[1]  # (n, c)
        lam_jv = prob * jv - prob * (prob * jv).sum(-1, keepdim=True)  # softmax-CE Hessian
        return pull(w[:, None] * lam_jv)[0]

    batched = vmap(gv if kind == "ggn" else hv, in_dims=1, out_dims=1)

    def hvp(V: torch.Tensor) -> torch.Tensor:
        return torch.cat([batched(V[:, i:i + chunk]) for i in range(0, V.shape[1], chunk)], 1)

    return hvp, theta.numel()


@register_method("influence")
@dataclass(frozen=True)
class Influence(GradientMethod):
    """Task-level influence functions with an exact, CG or LiSSA inverse-Hessian solve."""

    solver: str = "exact"
    hessian: str = "ggn"
    damping: float = 1e-3
    cg_iters: int = 100
    lissa_depth: int = 1000
    tiny = {"cg_iters": 10, "lissa_depth": 20}

    def validate(self) -> None:
        super().validate()
        if self.solver not in SOLVERS:
            raise SpecError(f"invalid config field influence.solver: {self.solver!r} not in "
                            f"{SOLVERS}")
        if self.hessian not in ("ggn", "exact"):
            raise SpecError("invalid config field influence.hessian: 'ggn' or 'exact'")
        if self.damping <= 0:
            raise SpecError("invalid config field influence.damping: must be > 0")

    @property
    def display(self) -> str:
        return f"IF ({self.solver}, {self.hessian.upper()}, λ={self.damping:g})"

    def fit(self, ctx) -> Fitted:
        tg = task_gradients(ctx.model, self.aggregate)
        hvp, d = make_hvp(ctx.model, tg.params, self.hessian)
        V = tg.target.T.contiguous()  # (d, n_t)
        state: dict = {"d": d}
        if self.solver == "exact":
            H = hvp(torch.eye(d, dtype=torch.float64))
            U = solve_exact(H, V, self.damping)
        elif self.solver == "cg":
            U, res = solve_cg(hvp, V, self.damping, tol=1e-6, max_iter=self.cg_iters)
            state["cg_max_residual"] = float(res.max())
        else:
            scale = 1.1 * power_iteration(hvp, d, iters=30, seed=ctx.seed % 2**31)
            U = solve_lissa(hvp, V, scale, self.damping / scale, self.lissa_depth)
            state["lissa_scale"] = scale
        return additive_fitted(-(tg.units @ U), tg.phi, state)
