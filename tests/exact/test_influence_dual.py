"""The dual (kernel-trick) influence equals the primal Gauss-Newton influence (methods/METHODS.md
§2.3)."""

import numpy as np
import torch
from logreg_fixture import logreg, trained
from torch import nn

from benchmarks.api.context import Context, TrainedModel
from benchmarks.training.engine import Problem
from methods.influence import Influence
from methods.influence_dual import InfluenceDual

TOL_DUAL = 1e-10
LAM = 1e-2


def _compare(tm: TrainedModel, damping: float) -> float:
    ctx = Context(task=None, seed=0, model=tm)
    primal = Influence(solver="exact", hessian="ggn", damping=damping).fit(ctx)
    dual = InfluenceDual(damping=damping).fit(ctx)
    assert primal.scores.shape == dual.scores.shape
    own = (primal.self_influence, dual.self_influence)  # (K,) each: u_kᵀ H⁻¹ u_k
    return max(float(np.abs(a - b).max() / np.abs(a).max())
               for a, b in ((primal.scores, dual.scores), own))


def test_dual_equals_primal_on_logistic_regression():
    problem, M, Xt, yt = logreg(n=60, d=5, c=3, K=12)
    tm = trained(problem, M, Xt, yt, np.full(60, 1 / 60), LAM)
    assert _compare(tm, 1e-3) <= TOL_DUAL


def test_dual_equals_primal_on_an_mlp_with_d_much_larger_than_nc():
    """A 2-layer MLP (d = 1,283 > n*c = 90) at random weights: still exact for the GGN."""
    g = torch.Generator().manual_seed(5)
    X = torch.randn(30, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=g)

    def make():
        return nn.Sequential(nn.Linear(6, 150), nn.Tanh(), nn.Linear(150, 3))

    problem = Problem(make, X, y, lambda o, t: torch.nn.functional.cross_entropy(
        o, t, reduction="none"), torch.float64)
    module = problem.init(3).double()
    params = {k: v.detach() for k, v in module.named_parameters()}
    M = np.eye(30, dtype=bool)
    Xt = torch.randn(4, 6, generator=g, dtype=torch.float64)
    yt = torch.randint(0, 3, (4,), generator=g)
    tm = TrainedModel(problem, problem.init(0).double(), params, Xt, yt, M, np.ones(30))
    assert sum(p.numel() for p in params.values()) > 10 * 30 * 3
    assert _compare(tm, 0.1) <= TOL_DUAL
