"""Float64 checks of GradEx (methods/METHODS.md §2.8) on a model linear in its parameters.

Sanity (a): multinomial logistic regression on fixed features (``nn.Linear``), P = I (k = d),
and retraining with the same proximal penalty ``(lam/2)||W - W0||²`` (L-BFGS to high
precision): the GradEx solution ``W0 + P z*`` equals the retrained W, and the estimated target
losses equal the retrained model's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmarks.oracles.gradex import GradExConfig, estimate, features, solve_subsets
from benchmarks.oracles.gradex_solve import solve
from tests.exact.logreg_fixture import logreg, trained

TOL_W = 1e-7  # §2.8 (a): GradEx W == prox-retrained W (METHODS reference 4e-9)
TOL_LOSS = 1e-7  # estimated target losses == retrained model's target losses
TOL_KKT = 1e-8  # §2.8 Numerics: KKT residual of every solve
TOL_BATCH = 1e-9  # solving B subsets together == one at a time (both to KKT <= TIGHT)
TIGHT = 1e-12
LAM = 0.05  # prox penalty of both GradEx and the retraining
N_SUBSETS = 6


def _weights(masks: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Mean loss over the active units' examples (``weighting="examples"``)."""
    inc = (masks.astype(np.float64) @ M) > 0
    return inc / inc.sum(1, keepdims=True)


def _prox_retrain(problem, w: np.ndarray, W0: dict, lam: float) -> torch.nn.Module:
    """argmin_W sum_i w_i CE(W x_i, y_i) + lam/2 ||W - W0||² (L-BFGS, float64)."""
    model = problem.init(0).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(W0[name])
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=500, tolerance_grad=1e-14,
                            tolerance_change=1e-16, history_size=50,
                            line_search_fn="strong_wolfe")
    wt = torch.as_tensor(w)

    def closure():
        opt.zero_grad()
        prox = sum(((p - W0[n]) ** 2).sum() for n, p in model.named_parameters())
        loss = (wt * problem.loss(model(problem.X), problem.y)).sum() + lam / 2 * prox
        loss.backward()
        return loss

    opt.step(closure)
    return model


@pytest.fixture(scope="module")
def setup():
    problem, M, Xt, yt = logreg()
    full = np.full(problem.X.shape[0], 1.0 / problem.X.shape[0])
    tm = trained(problem, M, Xt, yt, full, lam=1e-2)  # W0: the full-set model
    rng = np.random.default_rng(0)
    masks = rng.random((N_SUBSETS, M.shape[0])) < 0.6
    config = GradExConfig(proj_dim=1, lam_z=LAM, n_subsets=N_SUBSETS, projection="identity")
    feat = features(tm, config, "exact/gradex")
    return problem, M, tm, masks, feat


def test_gradex_equals_prox_retraining_on_linear_model(setup):
    """§2.8 (a): W0 + z* == retrained W, and F̂ == the retrained target losses."""
    problem, M, tm, masks, feat = setup
    W = _weights(masks, M)
    sol = solve_subsets(feat, W, LAM)
    assert sol.max_residual <= TOL_KKT
    names = list(tm.params)
    w0 = torch.cat([tm.params[k].reshape(-1) for k in names])
    est = estimate(feat, sol.Z)["loss"]
    errs = []
    for j in range(len(masks)):
        model = _prox_retrain(problem, W[j], tm.params, LAM)
        ref = torch.cat([dict(model.named_parameters())[k].detach().reshape(-1) for k in names])
        errs.append(float((w0 + sol.Z[j] - ref).abs().max()))
        with torch.no_grad():
            loss = F.cross_entropy(model(tm.Xt), tm.yt, reduction="none").numpy()
        np.testing.assert_allclose(est[j], loss, rtol=0, atol=TOL_LOSS)
    assert max(errs) <= TOL_W, f"max |W_gradex - W_retrained| = {max(errs):.2e}"


def test_batched_solve_equals_one_at_a_time(setup):
    """Subsets solved together (shared reference point, grouped Hessians) == one by one."""
    _, M, _, masks, feat = setup
    W = torch.as_tensor(_weights(masks, M))
    together = solve(feat.psi, feat.base, feat.y, W, LAM, TIGHT).Z
    alone = torch.cat([solve(feat.psi, feat.base, feat.y, W[j:j + 1], LAM, TIGHT).Z
                       for j in range(len(W))])
    assert float((together - alone).abs().max()) <= TOL_BATCH


def test_features_of_linear_model_are_its_jacobian(setup):
    """P = I: Psi(x) is the exact logit Jacobian of nn.Linear, [x ⊗ e_c, e_c]."""
    problem, _, tm, _, feat = setup
    n, d = problem.X.shape
    c = feat.base.shape[1]
    x = problem.X[0]
    J = torch.cat([torch.kron(torch.eye(c, dtype=torch.float64), x[None]), torch.eye(c,
                  dtype=torch.float64)], dim=1)
    np.testing.assert_allclose(feat.psi[0].numpy(), J.numpy(), rtol=0, atol=1e-12)
    assert feat.psi.shape == (n, c, c * d + c)
