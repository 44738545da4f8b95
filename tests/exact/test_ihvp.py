"""Influence-function solvers and the ridge identities of methods/METHODS.md §2.1-§2.2, in
float64."""

import numpy as np
import pytest
import torch

from methods._common.ihvp import (
    NotPositiveDefiniteError,
    power_iteration,
    solve_cg,
    solve_exact,
    solve_lissa,
)

TOL_CG = 1e-10
TOL_LISSA = 1e-6
TOL_LEVERAGE = 1e-10
MIN_PEARSON_RIDGE_IF = 0.999


def _spd(d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    return A @ A.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def test_cg_equals_direct_solve():
    H = _spd(30, 0)
    V = torch.randn(30, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    U_cg, res = solve_cg(lambda P: H @ P, V, damping=1e-3, tol=1e-14)
    U = solve_exact(H, V, damping=1e-3)
    assert float((U_cg - U).norm() / U.norm()) <= TOL_CG
    assert float(res.max()) <= 1e-12


def test_lissa_fixed_point_is_damped_inverse():
    H = _spd(20, 2)
    V = torch.randn(20, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    scale = 1.1 * power_iteration(lambda P: H @ P, 20, iters=200)
    damping = 0.01
    U = solve_lissa(lambda P: H @ P, V, scale, damping, depth=5000)
    expected = solve_exact(H, V, damping=scale * damping)
    assert float((U - expected).norm() / expected.norm()) <= TOL_LISSA


def test_exact_refuses_indefinite_matrix_with_advice():
    H = torch.diag(torch.tensor([1.0, -2.0], dtype=torch.float64))
    with pytest.raises(NotPositiveDefiniteError, match="raise the damping above 2"):
        solve_exact(H, torch.ones(2, 1, dtype=torch.float64), damping=0.0)


def _ridge(X, y, lam):
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def test_ridge_influence_and_leverage_corrected_loo():
    """§2.1/§2.2 (b): IF tracks LOO (Pearson >= 0.999); IF/(1-h_i) equals LOO to 1e-10."""
    rng = np.random.default_rng(0)
    n, d, lam = 200, 6, 1.0
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)
    x_t = rng.normal(size=d)
    theta = _ridge(X, y, lam)
    H = torch.as_tensor(X.T @ X)
    Hinv_X = solve_exact(H, torch.as_tensor(X.T), damping=lam).numpy()  # (d, n)
    r = X @ theta - y
    lev = np.einsum("id,di->i", X, Hinv_X)
    change_if = (x_t @ Hinv_X) * r  # f_t(theta_-i) - f_t(theta), first order
    brute = np.array([x_t @ _ridge(np.delete(X, i, 0), np.delete(y, i), lam) - x_t @ theta
                      for i in range(n)])
    assert np.corrcoef(change_if, brute)[0, 1] >= MIN_PEARSON_RIDGE_IF
    np.testing.assert_allclose(change_if / (1 - lev), brute, rtol=0,
                               atol=TOL_LEVERAGE * np.abs(brute).max())
