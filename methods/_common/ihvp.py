"""Inverse-Hessian-vector products for influence functions (METHODS.md §2.2, solvers).

Every solver returns ``U = (H + damping I)^-1 V`` (LiSSA: ``(H + scale*damping I)^-1 V``) for a
symmetric H given as a matrix or as a Hessian-vector-product function, in float64.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from benchmarks.common.spec import SpecError

HVP = Callable[[torch.Tensor], torch.Tensor]  # (d, c) -> (d, c)


class NotPositiveDefiniteError(ValueError):
    """H + damping I is not positive definite: raise the damping or use a Gauss-Newton H."""


def solve_exact(H: torch.Tensor, V: torch.Tensor, damping: float) -> torch.Tensor:
    """Cholesky solve of ``(sym(H) + damping I) U = V``; ``V: (d, c)``."""
    Hs = (H + H.T) / 2 + damping * torch.eye(H.shape[0], dtype=H.dtype)
    L, info = torch.linalg.cholesky_ex(Hs)
    if int(info) != 0:
        lam_min = float(torch.linalg.eigvalsh(Hs)[0])
        raise NotPositiveDefiniteError(
            f"H + {damping:g} I is not positive definite (smallest eigenvalue {lam_min:.3g}); "
            f"raise the damping above {max(0.0, damping - lam_min):.3g}")
    return torch.cholesky_solve(V, L)


def solve_cg(hvp: HVP, V: torch.Tensor, damping: float, tol: float = 1e-10,
             max_iter: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Conjugate gradient on all columns at once; returns ``U`` and relative residuals ``(c,)``."""
    U = torch.zeros_like(V)
    R = V.clone()
    P = R.clone()
    rs = (R * R).sum(0)
    v_norm = V.norm(dim=0).clamp_min(1e-300)
    for _ in range(max_iter):
        if bool((rs.sqrt() / v_norm <= tol).all()):
            break
        AP = hvp(P) + damping * P
        curvature = (P * AP).sum(0)
        if bool(((curvature <= 0) & ((P * P).sum(0) > 0)).any()):
            raise SpecError(f"CG met a direction of non-positive curvature: H + {damping:g} I is "
                            f"not positive definite (use hessian=ggn or raise the damping)")
        alpha = rs / curvature.clamp_min(1e-300)
        U += alpha * P
        R -= alpha * AP
        rs_new = (R * R).sum(0)
        P = R + (rs_new / rs.clamp_min(1e-300)) * P
        rs = rs_new
    return U, rs.sqrt() / v_norm


def solve_lissa(hvp: HVP, V: torch.Tensor, scale: float, damping: float, depth: int,
                repeats: int = 1) -> torch.Tensor:
    """LiSSA recursion ``h_j = v + (1 - damping) h_{j-1} - H h_{j-1} / scale``, returning
    ``h_depth / scale`` averaged over repeats; its fixed point is ``(H + scale*damping I)^-1 v``.
    Converges when ``scale >= lambda_max(H)``. ``hvp`` may be a fresh minibatch estimate per call.
    """
    out = torch.zeros_like(V)
    for _ in range(repeats):
        h = V.clone()
        for _ in range(depth):
            h = V + (1.0 - damping) * h - hvp(h) / scale
        _check_lissa(h, V, damping)
        out += h / scale
    return out / repeats


def _check_lissa(h: torch.Tensor, V: torch.Tensor, damping: float) -> None:
    """For a positive semi-definite H the iterates stay below ``|v| / damping``; beyond ten
    times that (or non-finite) the recursion diverged and its output must not be used."""
    bound = 10.0 * float(V.norm(dim=0).max()) / max(damping, 1e-300)
    if not bool(torch.isfinite(h).all()) or float(h.norm(dim=0).max()) > bound:
        raise SpecError("LiSSA diverged: H is not positive semi-definite or its scale is "
                        "underestimated (use hessian=ggn, raise the damping, or solver=exact)")


def power_iteration(hvp: HVP, d: int, iters: int = 50, seed: int = 0,
                    dtype: torch.dtype = torch.float64) -> float:
    """Largest eigenvalue magnitude of H (to choose LiSSA's scale)."""
    v = torch.randn(d, 1, generator=torch.Generator().manual_seed(seed), dtype=dtype,
                    device="cpu").to(torch.get_default_device())
    lam = 0.0
    for _ in range(iters):
        w = hvp(v)
        lam = float(w.norm())
        v = w / max(lam, 1e-300)
    return lam
