"""Influence-function curvature: Gauss-Newton == Hessian where the model is linear, and the
task-level IF of a logistic regression tracks brute-force leave-one-unit-out retraining."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.engine import Problem
from benchmarks.fullmodel import TrainedModel
from methods._common.ihvp import solve_exact
from methods._common.taskgrads import task_gradients
from methods.influence import make_hvp

TOL_GGN = 1e-10
TOL_SUM = 1e-12
MIN_PEARSON_IF_LOO = 0.99
LAM = 1e-2


def _logreg(n=200, d=5, c=3, K=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = (X @ torch.randn(d, c, generator=g, dtype=torch.float64)).argmax(1)
    flip = torch.rand(n, generator=g) < 0.15
    y = torch.where(flip, torch.randint(0, c, (n,), generator=g), y)
    problem = Problem(lambda: nn.Linear(d, c), X, y,
                      lambda o, t: F.cross_entropy(o, t, reduction="none"), torch.float64)
    M = np.zeros((K, n), dtype=bool)
    M[np.arange(n) % K, np.arange(n)] = True
    Xt = torch.randn(7, d, generator=g, dtype=torch.float64)
    yt = torch.randint(0, c, (7,), generator=g)
    return problem, M, Xt, yt


def _fit(problem, w, lam, steps=200):
    """Minimise sum_i w_i loss_i + lam/2 ||theta||^2 to high precision (L-BFGS, float64)."""
    model = problem.init(0).double()
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=steps, tolerance_grad=1e-13,
                            tolerance_change=1e-15, history_size=50, line_search_fn="strong_wolfe")
    wt = torch.as_tensor(w)

    def closure():
        opt.zero_grad()
        reg = sum((p * p).sum() for p in model.parameters())
        loss = (wt * problem.loss(model(problem.X), problem.y)).sum() + lam / 2 * reg
        loss.backward()
        return loss

    opt.step(closure)
    return model


def _trained(problem, M, Xt, yt, w, lam):
    model = _fit(problem, w, lam)
    params = {k: v.detach() for k, v in model.named_parameters()}
    return TrainedModel(problem, problem.init(0).double(), params, Xt, yt, M, w)


def test_ggn_equals_hessian_for_a_linear_model():
    problem, M, Xt, yt = _logreg()
    w = np.full(problem.X.shape[0], 1.0 / problem.X.shape[0])
    tm = _trained(problem, M, Xt, yt, w, LAM)
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
    problem, M, Xt, yt = _logreg()
    n = problem.X.shape[0]
    w = np.ones(n)
    tm = _trained(problem, M, Xt, yt, w, LAM)
    tg = task_gradients(tm)
    d = sum(p.numel() for p in tg.params.values())
    H = make_hvp(tm, tg.params, "exact")[0](torch.eye(d, dtype=torch.float64))
    U = solve_exact(H, tg.target.T.contiguous(), LAM)
    scores = -(tg.units @ U).numpy()  # (K, n_t): F(1) - F(1 - e_k), first order
    loo = np.zeros_like(scores)
    for k in range(M.shape[0]):
        m_k = _fit(problem, np.where(M[k], 0.0, 1.0), LAM)
        with torch.no_grad():
            phi_k = F.cross_entropy(m_k(Xt), yt, reduction="none").numpy()
        loo[k] = tg.phi.numpy() - phi_k
    assert np.corrcoef(scores.ravel(), loo.ravel())[0, 1] >= MIN_PEARSON_IF_LOO
