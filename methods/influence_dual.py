"""Dual ("kernel-trick") influence functions (Sun & Valaee; METHODS.md §2.3).

The same scores as ``influence`` with the Gauss-Newton curvature
``H = sum_i w_i J_iᵀ Λ_i J_i + damping I``, computed from the empirical NTK ``K = J Jᵀ`` (an
``nc x nc`` matrix) instead of a ``d x d`` one, by the Woodbury identity with the symmetric
factor ``w_i Λ_i = B_i B_iᵀ`` (valid for the singular softmax Λ):
``v_tᵀ H^-1 u = (1/λ) [v_tᵀ u - (Bᵀ J v_t)ᵀ (λI + BᵀKB)^-1 (Bᵀ J u)]``.
The cost scales with n·c, not d: it applies when ``n * c <= max_nc``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import functional_call

from benchmarks.api.context import Context
from benchmarks.api.method import SOFTMAX_CE, Fitted
from benchmarks.api.registry import register_method
from benchmarks.common.spec import param
from benchmarks.training.grads import jacobian_chunks
from methods._common.taskgrads import GradientMethod, additive_fitted, per_unit


def jacobians(module, params: dict[str, torch.Tensor], X: torch.Tensor,
              chunk: int = 256) -> torch.Tensor:
    """Per-example output Jacobians ``(n, c, d)`` (flattened in ``params`` order)."""
    return torch.cat(list(jacobian_chunks(module, params, X, chunk)))


def softmax_factor(logits: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``B_i (c, c)`` with ``B_i B_iᵀ = w_i (diag p_i - p_i p_iᵀ)``, negatives clipped."""
    p = torch.softmax(logits, -1)
    lam = w[:, None, None] * (torch.diag_embed(p) - p[:, :, None] * p[:, None, :])
    e, V = torch.linalg.eigh(lam)
    return V * e.clamp_min(0).sqrt()[:, None, :]


@register_method("influence_dual")
@dataclass(frozen=True)
class InfluenceDual(GradientMethod):
    """Task-level Gauss-Newton influence through the n·c x n·c kernel."""

    damping: float = param(1e-3, "λ added to the Gauss-Newton matrix, (G + λI)^-1", gt=0)
    max_nc: int = param(8000, "largest n·c (training examples x classes) of the dual kernel; "
                        "larger tasks are skipped", ge=1)
    label = "IF dual (kernel trick)"
    loss_forms = SOFTMAX_CE  # the kernel factors the softmax Gauss-Newton matrix

    def skip(self, task) -> str | None:
        reason = super().skip(task)
        if reason is None and task is not None:
            nc = task.membership.shape[1] * task.problem().init(0)(task.targets()[0][:1]).shape[1]
            if nc > self.max_nc:
                reason = f"n*c = {nc} > max_nc = {self.max_nc}: the dual kernel is too large"
        return reason

    def fit(self, ctx: Context) -> Fitted:
        tm = ctx.model
        module = tm.module.double()
        params = {k: v.double() for k, v in tm.params.items()}
        (X, Xt), y = tm.inputs(), tm.problem.y
        with torch.no_grad():
            out, out_t = (functional_call(module, params, (z,)) for z in (X, Xt))
        n, c = out.shape
        w = torch.as_tensor(tm.weights, dtype=torch.float64)
        R = torch.softmax(out, -1) - torch.nn.functional.one_hot(y, c)  # dloss/dlogits (n, c)
        Rt = torch.softmax(out_t, -1) - torch.nn.functional.one_hot(tm.yt, c)
        J = jacobians(module, params, X).reshape(n * c, -1)
        Jt = jacobians(module, params, Xt).reshape(-1, J.shape[1])
        K, Kx = J @ J.T, J @ Jt.T  # the only uses of d
        B = torch.block_diag(*softmax_factor(out, w))  # (nc, nc)
        Z = B.T @ (Kx.view(n * c, -1, c) * Rt[None]).sum(-1)  # Bᵀ J v_t: (nc, n_t)
        KR = (K.view(n * c, n, c) * R[None]).sum(-1)  # J J_iᵀ r_i: (nc, n)
        Mw = torch.as_tensor(tm.membership, dtype=torch.float64) * w  # (K, n)
        Y = B.T @ KR @ Mw.T  # Bᵀ J u_k: (nc, K)
        D = torch.einsum("ia,iatb,tb->it", R, Kx.view(n, c, -1, c), Rt)  # r_iᵀK(i,t)r_t
        lam = self.damping
        Kt = B.T @ K @ B + lam * torch.eye(n * c, dtype=torch.float64)
        L = torch.linalg.cholesky(Kt)
        quad = Y.T @ torch.cholesky_solve(Z, L)  # (K, n_t)
        scores = per_unit(-(Mw @ D - quad) / lam, tm.membership, self.aggregate)
        RKR = torch.einsum("ia,iaj->ij", R, KR.view(n, c, n))  # r_iᵀ K(i,j) r_j: (n, n)
        own = ((Mw @ RKR) * Mw).sum(1) - (Y * torch.cholesky_solve(Y, L)).sum(0)  # u_kᵀH⁻¹u_k
        phi = tm.problem.loss(out_t, tm.yt)
        return additive_fitted(scores, phi, {"nc": n * c},
                               -per_unit(own, tm.membership, self.aggregate) / lam)
