"""Shared float64 logistic-regression fixture of the exact tests (L-BFGS to high precision)."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.api.context import TrainedModel
from benchmarks.training.engine import Problem


def logreg(n=200, d=5, c=3, K=40, seed=0):
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


def fit(problem, w, lam, steps=200):
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


def trained(problem, M, Xt, yt, w, lam):
    model = fit(problem, w, lam)
    params = {k: v.detach() for k, v in model.named_parameters()}
    return TrainedModel(problem, problem.init(0).double(), params, Xt, yt, M, w)
