"""GradEx for the squared loss (benchmarks/oracles/gradex_solve.py: solve_squared): the closed
form equals each subset's own ridge solution, and grouped targets average their examples."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.oracles.gradex import Features, estimate
from benchmarks.oracles.gradex_solve import solve_squared

TOL = 1e-10  # float64, a k x k solve


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n, c, k, units = 12, 3, 5, 4
    psi = torch.randn(n, c, k, dtype=torch.float64, generator=g)
    base, y = (torch.randn(n, c, dtype=torch.float64, generator=g) for _ in range(2))
    unit = torch.arange(n) % units
    masks = torch.tensor([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 1]], dtype=torch.float64)
    inc = masks[:, unit]
    return psi, base, y, inc / inc.sum(1, keepdim=True)


def test_closed_form_equals_each_subsets_ridge_solution():
    psi, base, y, W = _problem()
    lam = 0.3
    sol = solve_squared(psi, base, y, W, lam)
    n, c, k = psi.shape
    for b in range(W.shape[0]):
        H = lam * torch.eye(k, dtype=torch.float64)
        rhs = torch.zeros(k, dtype=torch.float64)
        for i in range(n):
            H += (2.0 / c) * W[b, i] * psi[i].T @ psi[i]
            rhs -= (2.0 / c) * W[b, i] * psi[i].T @ (base[i] - y[i])
        torch.testing.assert_close(sol.Z[b], torch.linalg.solve(H, rhs), rtol=0, atol=TOL)
    assert sol.max_residual < TOL


def test_the_solution_zeroes_the_objectives_gradient():
    psi, base, y, W = _problem(1)
    lam = 0.05
    sol = solve_squared(psi, base, y, W, lam)
    for b in range(W.shape[0]):
        z = sol.Z[b].clone().requires_grad_(True)
        pred = base + torch.einsum("ick,k->ic", psi, z)
        obj = (W[b] * ((pred - y) ** 2).mean(1)).sum() + 0.5 * lam * (z ** 2).sum()
        (g,) = torch.autograd.grad(obj, z)
        assert float(g.norm()) < TOL


def test_grouped_targets_are_their_examples_mean_loss():
    g = torch.Generator().manual_seed(2)
    base_t = torch.randn(6, 2, dtype=torch.float64, generator=g)
    psi_t = torch.randn(6, 2, 3, dtype=torch.float64, generator=g)
    yt = torch.randn(6, 2, dtype=torch.float64, generator=g)
    Z = torch.randn(4, 3, dtype=torch.float64, generator=g)
    target_of = torch.tensor([0, 0, 1, 1, 1, 2])
    empty = torch.zeros(0)
    feat = Features(empty, empty, empty, base_t, psi_t, yt, torch.eye(3, dtype=torch.float64),
                    "squared", target_of)
    got = estimate(feat, Z)["loss"]
    per = ((base_t[None] + torch.einsum("eck,bk->bec", psi_t, Z) - yt) ** 2).mean(-1).numpy()
    want = np.stack([per[:, [0, 1]].mean(1), per[:, [2, 3, 4]].mean(1), per[:, [5]].mean(1)], 1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
