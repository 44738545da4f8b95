"""Influence-function curvature: Gauss-Newton == Hessian where the model is linear, and the
task-level IF of a logistic regression tracks brute-force leave-one-unit-out retraining."""

import numpy as np
import torch
import torch.nn.functional as F
from logreg_fixture import fit, logreg, trained

from methods._common.ihvp import solve_exact
from methods._common.taskgrads import task_gradients
from methods.influence import make_hvp

TOL_GGN = 1e-10
TOL_SUM = 1e-12
MIN_PEARSON_IF_LOO = 0.99
LAM = 1e-2


def test_ggn_equals_hessian_for_a_linear_model():
    problem, M, Xt, yt = logreg()
    w = np.full(problem.X.shape[0], 1.0 / problem.X.shape[0])
    tm = trained(problem, M, Xt, yt, w, LAM)
    tg = task_gradients(tm)
    d = sum(p.numel() for p in tg.params.values())
    I = torch.eye(d, dtype=torch.float64)
    H = make_hvp(tm, tg.params, "exact")[0](I)
    G = make_hvp(tm, tg.params, "ggn")[0](I)
    assert float((H - G).abs().max()) <= TOL_GGN * float(H.abs().max())
    # unit gradients are exact sums of member gradients (§1.5)
    Mt = torch.as_tensor(M, dtype=torch.float64) * torch.as_tensor(w)
    assert float((tg.units - Mt @ tg.train).abs().max()) <= TOL_SUM


def test_task_if_tracks_leave_one_unit_out():
    """Sum-form objective: IF of removing unit k vs retraining without it (Pearson >= 0.99)."""
    problem, M, Xt, yt = logreg()
    n = problem.X.shape[0]
    w = np.ones(n)
    tm = trained(problem, M, Xt, yt, w, LAM)
    tg = task_gradients(tm)
    d = sum(p.numel() for p in tg.params.values())
    H = make_hvp(tm, tg.params, "exact")[0](torch.eye(d, dtype=torch.float64))
    U = solve_exact(H, tg.target.T.contiguous(), LAM)
    scores = -(tg.units @ U).numpy()  # (K, n_t): F(1) - F(1 - e_k), first order
    loo = np.zeros_like(scores)
    for k in range(M.shape[0]):
        m_k = fit(problem, np.where(M[k], 0.0, 1.0), LAM)
        with torch.no_grad():
            phi_k = F.cross_entropy(m_k(Xt), yt, reduction="none").numpy()
        loo[k] = tg.phi.numpy() - phi_k
    assert np.corrcoef(scores.ravel(), loo.ravel())[0, 1] >= MIN_PEARSON_IF_LOO


def test_exact_solver_declines_a_model_too_large_for_a_dense_curvature():
    """The paper's modular transformer (d = 422,497) would need 1.3 TB of dense curvature: the
    exact solver says so and names the ones that scale; CG applies."""
    from benchmarks.api.method import make_method
    from benchmarks.api.task import make_task

    task = make_task("modular-addition", "paper")
    reason = make_method("influence", {}).applies(task)
    assert reason is not None and "422,497 parameters" in reason and "solver cg" in reason
    assert make_method("influence", {"solver": "cg"}).applies(task) is None
    assert make_method("influence", {}).applies(make_task("modular-addition", "quick")) is None

