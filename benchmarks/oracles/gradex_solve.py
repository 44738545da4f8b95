"""Batched float64 solvers of the GradEx problem (methods/METHODS.md §2.8, step 2): the
softmax GLM below, and the squared loss's closed form (``solve_squared``).

For each subset b: ``z*_b = argmin_z sum_i W[b, i] CE(base_i + Psi_i z, y_i) + (lam/2)||z||²``,
multinomial logistic regression with a fixed offset and one z shared by the classes. B subsets
are solved together: logits of all of them come from one ``(n c, k) @ (k, B)`` product.

Method: damped (quasi-)Newton from a shared reference point. First the problem with the mean
weights of all subsets is solved by Newton's method, giving z_ref. Examples are grouped by their
column of weights (all subsets weight a group alike, e.g. the examples of one unit), so the
Hessian of subset b at z_ref is ``sum_g W[b, g] H_g(z_ref) + lam I`` with ``H_g`` (k x k)
computed once for all subsets. Every subset starts at z_ref and steps ``-H^-1 grad`` with that
matrix (a chord method: cheap, fast linear convergence because subsets' solutions are close),
with an Armijo backtracking line search; subsets still unconverged every ``refresh``
iterations get their exact Hessian at the current z (Newton). Converged when the KKT residual
``||grad|| <= tol`` (1e-8, §2.8 Numerics).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from benchmarks.common.device import to_numpy

MAX_GROUP_ENTRIES = 2**25  # G k² floats of group Hessians; beyond, Hessians per subset
ARMIJO = 1e-4


@dataclass(frozen=True)
class Solution:
    """``Z (B, k)``; ``residual (B,)`` = final ||grad||; ``iterations`` = most of any batch."""

    Z: torch.Tensor
    residual: torch.Tensor
    iterations: int

    @property
    def max_residual(self) -> float:
        return float(self.residual.max()) if len(self.residual) else 0.0


@dataclass(frozen=True)
class _Problem:
    A: torch.Tensor  # (n c, k) flattened Psi
    base: torch.Tensor  # (n, c)
    y: torch.Tensor  # (n,)
    lam: float


def value_grad(pb: _Problem, W: torch.Tensor, Z: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Objective ``(B,)`` and gradient ``(k, B)``; ``W (n, B)`` weights, ``Z (k, B)``."""
    n, c = pb.base.shape
    logits = pb.base[:, :, None] + (pb.A @ Z).view(n, c, -1)
    lse = torch.logsumexp(logits, 1)
    rows = torch.arange(n, device=W.device)
    f = (W * (lse - logits[rows, pb.y])).sum(0) + 0.5 * pb.lam * (Z * Z).sum(0)
    R = torch.exp(logits - lse[:, None, :])
    R[rows, pb.y] -= 1.0
    R *= W[:, None, :]
    return f, pb.A.T @ R.view(n * c, -1) + pb.lam * Z


def hessian(pb: _Problem, w: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
    """``sum_i w_i Psi_iᵀ (diag p_i - p_i p_iᵀ) Psi_i`` (k x k) at z (None: z = 0)."""
    n, c = pb.base.shape
    keep = w > 0
    A = pb.A.view(n, c, -1)[keep]
    logits = pb.base[keep] + (A @ z if z is not None else 0.0)
    p = torch.softmax(logits, -1) * w[keep, None]  # w_i p_i
    Q = torch.einsum("ick,ic->ik", A, p)
    Aw = (A * p[..., None]).flatten(0, 1)
    return Aw.T @ A.flatten(0, 1) - Q.T @ (Q / w[keep, None])


class _GroupHessians:
    """Ridge-free Hessians of rows of ``W (m, n)`` at a shared point z: examples with equal
    weight columns form groups (e.g. the examples of one unit) whose Hessians ``H_g(z)`` serve
    every subset; with too many groups for memory, each subset's Hessian is computed directly.
    """

    def __init__(self, pb: _Problem, W: torch.Tensor) -> None:
        pattern, inv = np.unique(to_numpy(W.T), axis=0, return_inverse=True)  # (G, m), (n,)
        self.pb, self.W, self.k = pb, W, pb.A.shape[1]
        self.pattern = torch.as_tensor(pattern, device=W.device)
        self.inv = torch.as_tensor(inv.reshape(-1), device=W.device)
        self.grouped = len(pattern) * self.k**2 <= MAX_GROUP_ENTRIES
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def _groups(self, z: torch.Tensor) -> torch.Tensor:
        if self._cache is None or not torch.equal(self._cache[0], z):
            Hg = torch.stack([hessian(self.pb, (self.inv == g).double(), z)
                              for g in range(len(self.pattern))])
            self._cache = (z.clone(), Hg.view(len(Hg), -1))
        return self._cache[1]

    def rows(self, idx: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``(len(idx), k, k)`` for global row indices ``idx``, all at ``z (k,)``."""
        if not self.grouped:
            return torch.stack([hessian(self.pb, self.W[i], z) for i in idx.tolist()])
        return (self.pattern[:, idx].T @ self._groups(z)).view(-1, self.k, self.k)


def _cholesky(H: torch.Tensor, lam: float) -> torch.Tensor:
    eye = torch.eye(H.shape[-1], dtype=H.dtype, device=H.device)
    return torch.linalg.cholesky(0.5 * (H + H.mT) + lam * eye)


def _line_search(pb: _Problem, W, Z, f, g, D) -> tuple[torch.Tensor, ...]:
    """Armijo backtracking per column from step 1; returns the accepted (Z, f, g)."""
    slope = (g * D).sum(0)
    t = torch.ones(Z.shape[1], dtype=Z.dtype, device=Z.device)
    for _ in range(50):
        Zn = Z + D * t
        fn, gn = value_grad(pb, W, Zn)
        ok = fn <= f + ARMIJO * t * slope + 1e-13 * f.abs()
        if ok.all():
            break
        t = torch.where(ok, t, t / 2)
    return Zn, fn, gn


def _solve_batch(pb: _Problem, hess: _GroupHessians, rows: torch.Tensor, z0: torch.Tensor,
                 tol: float, max_iter: int, refresh: int) -> tuple[torch.Tensor, ...]:
    """Subsets ``rows`` of ``hess.W`` from ``z0 (k,)``; every ``refresh`` iterations the
    Hessians of unconverged subsets are rebuilt at their mean z. Returns Z (B, k), residuals,
    iterations."""
    W = hess.W[rows].T.contiguous()  # (n, B)
    L = _cholesky(hess.rows(rows, z0), pb.lam)
    Z = z0[:, None].repeat(1, len(rows))
    f, g = value_grad(pb, W, Z)
    res = g.norm(dim=0)
    it = 0
    for it in range(1, max_iter + 1):
        act = torch.nonzero(res > tol).flatten()
        if not len(act):
            break
        if it % refresh == 0:
            L[act] = _cholesky(hess.rows(rows[act], Z[:, act].mean(1)), pb.lam)
        D = -torch.cholesky_solve(g[:, act].T[..., None], L[act])[..., 0].T
        Z[:, act], f[act], g[:, act] = _line_search(pb, W[:, act], Z[:, act], f[act],
                                                    g[:, act], D)
        res[act] = g[:, act].norm(dim=0)
    return Z.T, res, it


def solve_squared(psi: torch.Tensor, base: torch.Tensor, y: torch.Tensor, W: torch.Tensor,
                  lam: float, batch: int = 256) -> Solution:
    """z* of every subset for the squared loss ``mean_c (base_i + Psi_i z - y_i)²``: the
    objective is quadratic, so ``z* = -(2/c sum_g W[b, g] A_g + lam I)^-1 (2/c) sum_g W[b, g]
    r_g`` exactly, with ``A_g = sum_i Psi_iᵀ Psi_i`` and ``r_g = sum_i Psi_iᵀ (base_i - y_i)``
    over each group of examples that every subset weights alike (one column of W)."""
    n, c, k = psi.shape
    cols, group = torch.unique(W, dim=1, return_inverse=True)  # (m, G), (n,)
    resid = base - y.to(base.dtype)
    A = torch.stack([psi[group == g].reshape(-1, k).T @ psi[group == g].reshape(-1, k)
                     for g in range(cols.shape[1])])
    r = torch.stack([torch.einsum("ick,ic->k", psi[group == g], resid[group == g])
                     for g in range(cols.shape[1])])
    eye = lam * torch.eye(k, dtype=torch.float64, device=psi.device)
    Zs, res = [], []
    for s in range(0, W.shape[0], batch):
        part = cols[s:s + batch]
        H = (2.0 / c) * torch.einsum("bg,gkl->bkl", part, A) + eye
        grad0 = (2.0 / c) * part @ r
        Z = -torch.linalg.solve(H, grad0[..., None])[..., 0]
        Zs.append(Z)
        res.append((torch.einsum("bkl,bl->bk", H, Z) + grad0).norm(dim=1))
    return Solution(torch.cat(Zs), torch.cat(res), 1)


def solve(psi: torch.Tensor, base: torch.Tensor, y: torch.Tensor, W: torch.Tensor, lam: float,
          tol: float = 1e-8, max_iter: int = 200, refresh: int = 4,
          batch: int | None = None) -> Solution:
    """z* of every subset: ``psi (n, c, k)``, ``base (n, c)``, ``W (m, n)`` weights."""
    n, c, k = psi.shape
    pb = _Problem(psi.reshape(n * c, k), base, y, float(lam))
    ref = _GroupHessians(pb, W.mean(0, keepdim=True))  # one subset: its exact Hessian
    dev = psi.device
    z_ref = _solve_batch(pb, ref, torch.tensor([0], device=dev),
                         torch.zeros(k, dtype=torch.float64, device=dev), tol, max_iter, 1)[0][0]
    hess = _GroupHessians(pb, W)
    batch = batch or max(8, min(256, 2**24 // (k * k)))
    Zs, res, iters = [], [], 0
    for s in range(0, W.shape[0], batch):
        Z, r, it = _solve_batch(pb, hess, torch.arange(s, min(s + batch, W.shape[0]), device=dev),
                                z_ref,
                                tol, max_iter, refresh)
        Zs.append(Z)
        res.append(r)
        iters = max(iters, it)
    sol = Solution(torch.cat(Zs), torch.cat(res), iters)
    if sol.max_residual > tol:
        warnings.warn(f"GradEx solve: max KKT residual {sol.max_residual:.2e} > {tol:.0e} "
                      f"after {max_iter} iterations", stacklevel=2)
    return sol
