"""Cross-check of our IF and TRAK scores against the ``dattri`` library (optional extra).

dattri is not a dependency: CI does not install it and this module skips without it. Run it
with ``nox -s crosscheck`` (or ``pip install dattri`` and ``pytest tests/crosscheck -m slow``).

Model: logistic regression (``nn.Linear(64, 10)``, d = 650) on the digits-logreg task's data
(n_train = 200, 30 targets), float64, trained with L-BFGS to convergence on the task's full-set
objective ``mean_i CE_i + LAM/2 ||theta||^2``, so the Hessian of the objective is
``H_CE + LAM I``, positive definite.

Conventions (read from dattri 0.3.0's source):

* IF (``IFAttributorExplicit``): ``s_it = g_iᵀ (H + regularization I)^-1 g_t`` with H the
  Hessian of the ``loss_func`` on the one full-training batch (here the *mean* CE), returned as
  (n_train, n_test); positive = helpful (including i lowers the target loss). Ours is
  ``a_it = -(w_i g_i)ᵀ (H + damping I)^-1 g_t`` with ``w_i = 1/n`` and H the Hessian of the
  weighted (mean) objective, positive = harmful (METHODS §0). With ``damping = regularization
  = LAM`` (the L2 term of the training objective enters as the damping, not through the loss, so
  the training gradients stay the plain CE gradients): ``a = -sᵀ / n``.
* TRAK (``TRAKAttributor``, M = 1): features are margin gradients divided by ``sqrt(d)``
  (``norm_scaler``), so its absolute ``regularization`` is our absolute ridge divided by d;
  ``Q = 1 - p_y`` as ours; output (n_train, n_test), positive = raises the target margin.
  Ours is the negative, transposed: ``a = -sᵀ``. ``proj_type="identity"`` is the
  unprojected comparison (ours: ``proj_dim >= d``).

Differences that are not bugs on either side: a sum-reduced dattri ``loss_func`` makes its H n
times ours (then ``regularization = n * LAM`` and ``a = -sᵀ``); dattri's IF scores are
accumulated in float32; its CG starts from ``x0 = v`` and always runs ``max_iter`` steps
(``tol`` is unused); its ``"normal"`` projection projects even when k >= d, where ours skips
the projection (Spearman to the unprojected scores at k = 2048: 0.895, k = 8192: 0.966); and
``TRAKAttributor`` updates the module-level ``DEFAULT_PROJECTOR_KWARGS`` in place, so a key
left out is inherited from the previous attributor.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

dattri = pytest.importorskip("dattri")

from dattri.algorithm.influence_function import (  # noqa: E402
    IFAttributorCG,
    IFAttributorExplicit,
)
from dattri.algorithm.trak import TRAKAttributor  # noqa: E402
from dattri.task import AttributionTask  # noqa: E402

from benchmarks.api.context import Context, TrainedModel  # noqa: E402
from benchmarks.api.task import make_task  # noqa: E402
from methods.influence import Influence  # noqa: E402
from methods.trak import TRAK  # noqa: E402

pytestmark = pytest.mark.slow

N_TRAIN, N_TARGETS = 200, 30
LAM = 1e-2  # L2 of the training objective = the IF damping on both sides
CG_ITERS = 100  # both CGs; dattri runs exactly this many, ours stops at relative residual 1e-6
TRAK_RIDGE = 1e-1  # absolute ridge on our unscaled PhiᵀPhi (trace/d = 14); dattri's is this / d
PROJ_DIM = 512  # projected TRAK comparison, k < d = 650

# Measured with dattri 0.3.0, torch 2.13 CPU (max_rel_err = max |ours - theirs| / max |ours|):
# IF exact: Spearman 1.0, 5.6e-8 (dattri accumulates scores in float32); IF CG: Spearman
# 0.999999999, 8.9e-7 (our CG's stopping tolerance). TRAK unprojected: Spearman 1.0, 1.6e-13.
# TRAK k = 512: ours~dattri 0.53, ours~ours re-seeded 0.49, ~unprojected 0.688 vs 0.687.
MIN_SPEARMAN_IF = 0.9999
MAX_REL_ERR_IF = {"exact": 1e-6, "cg": 1e-5}
MIN_SPEARMAN_TRAK = 0.9999
MAX_REL_ERR_TRAK = 1e-10
MIN_SPEARMAN_TRAK_PROJ = 0.4
PROJ_SLACK = 0.1  # seed-to-seed spread of the k = 512 Spearman values is about 0.03


@pytest.fixture(scope="module")
def setup():
    task = make_task("digits-logreg", "tiny",
                     {"params.n_train": N_TRAIN, "params.n_targets": N_TARGETS})
    problem = task.problem(torch.float64)
    Xt, yt = task.targets()
    Xt = Xt.double()
    module = problem.init(0).double()
    opt = torch.optim.LBFGS(module.parameters(), lr=1, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-15, history_size=50,
                            line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        reg = sum((p * p).sum() for p in module.parameters())
        return F.cross_entropy(module(problem.X), problem.y) + LAM / 2 * reg

    def closure():
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    opt.zero_grad()
    objective().backward()
    grad_norm = float(torch.cat([p.grad.reshape(-1) for p in module.parameters()]).norm())
    assert grad_norm < 1e-6, grad_norm  # converged; both libraries see the same params
    params = {k: v.detach().clone() for k, v in module.named_parameters()}
    tm = TrainedModel(problem, problem.init(0).double(), params, Xt, yt,
                      np.eye(N_TRAIN, dtype=bool), np.full(N_TRAIN, 1.0 / N_TRAIN))
    return tm, module, (problem.X, problem.y), (Xt, yt)


def _loaders(train, test):
    return (DataLoader(TensorDataset(*train), batch_size=len(train[1]), shuffle=False),
            DataLoader(TensorDataset(*test), batch_size=len(test[1]), shuffle=False))


def _compare(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    rho = float(spearmanr(ours.ravel(), theirs.ravel())[0])
    rel = float(np.abs(ours - theirs).max() / np.abs(ours).max())
    return rho, rel


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_influence_matches_dattri(setup, solver):
    tm, module, train, test = setup
    ours = Influence(solver=solver, hessian="exact", damping=LAM, cg_iters=CG_ITERS).fit(
        Context(task=None, seed=0, model=tm)).scores  # (n, n_t)

    def loss_func(params, data):
        x, y = data
        return F.cross_entropy(functional_call(module, params, (x,)), y)  # mean over the batch

    task = AttributionTask(loss_func=loss_func, model=module,
                           checkpoints={k: v.clone() for k, v in tm.params.items()})
    if solver == "exact":
        attributor = IFAttributorExplicit(task=task, regularization=LAM)
    else:
        attributor = IFAttributorCG(task=task, regularization=LAM, max_iter=CG_ITERS)
    train_loader, test_loader = _loaders(train, test)
    attributor.cache(train_loader)  # one batch: H is the mean-loss Hessian over all of it
    with torch.no_grad():
        theirs = attributor.attribute(train_loader, test_loader)  # (n, n_t), > 0 = helpful
    rho, rel = _compare(ours, -theirs.double().numpy() / N_TRAIN)
    print(f"IF {solver}: spearman={rho:.10f} max_rel_err={rel:.2e}")
    assert rho >= MIN_SPEARMAN_IF
    assert rel <= MAX_REL_ERR_IF[solver]


def _dattri_trak(setup, proj_type: str, proj_dim: int) -> np.ndarray:
    """dattri's TRAK scores in our convention ``(n, n_t)`` (see the module docstring)."""
    tm, module, train, test = setup

    def margin(params, data):  # dattri's own formulation, log p_y - log(1 - p_y)
        x, y = data
        logp = -F.cross_entropy(functional_call(module, params, (x[None],)), y[None])
        return logp - torch.log1p(-torch.exp(logp))

    def prob(params, data):
        x, y = data
        return torch.exp(-F.cross_entropy(functional_call(module, params, (x[None],)), y[None]))

    task = AttributionTask(loss_func=margin, model=module, target_func=margin,
                           checkpoints={k: v.clone() for k, v in tm.params.items()})
    d = sum(p.numel() for p in tm.params.values())
    # every projector key: dattri updates its module-level DEFAULT_PROJECTOR_KWARGS in place
    kwargs = {"proj_dim": proj_dim, "proj_max_batch_size": 32, "proj_seed": 0,
              "device": "cpu", "proj_type": proj_type}
    attributor = TRAKAttributor(task=task, correct_probability_func=prob,
                                projector_kwargs=kwargs, regularization=TRAK_RIDGE / d)
    train_loader, test_loader = _loaders(train, test)
    attributor.cache(train_loader)
    with torch.no_grad():
        theirs = attributor.attribute(test_loader)  # (n, n_t), > 0 = raises the margin
    return -theirs.double().numpy()


def _our_trak(tm: TrainedModel, proj_dim: int, seed: int = 0) -> np.ndarray:
    method = TRAK(proj_dim=proj_dim, n_models=1, reg=TRAK_RIDGE, reg_rel=0.0)
    return method.fit(Context(task=None, seed=seed, model=tm)).scores


def test_trak_unprojected_matches_dattri_identity(setup):
    tm = setup[0]
    ours = _our_trak(tm, proj_dim=10_000)  # proj_dim >= d: no projection
    rho, rel = _compare(ours, _dattri_trak(setup, "identity", 10_000))
    print(f"TRAK identity: spearman={rho:.10f} max_rel_err={rel:.2e}")
    assert rho >= MIN_SPEARMAN_TRAK
    assert rel <= MAX_REL_ERR_TRAK


def test_trak_projected_agrees_with_dattri_as_well_as_a_reseeded_projection(setup):
    """k = 512 < d: the two libraries draw different Gaussian matrices, and with M = 1 the
    projection noise dominates the per-pair scores. dattri's scores must agree with ours as
    well as ours agree with themselves under another projection seed, and sit as close to the
    unprojected scores as ours do."""
    tm = setup[0]
    ours, reseeded = _our_trak(tm, PROJ_DIM, seed=0), _our_trak(tm, PROJ_DIM, seed=1)
    exact = _our_trak(tm, proj_dim=10_000)
    theirs = _dattri_trak(setup, "normal", PROJ_DIM)
    rho = _compare(ours, theirs)[0]
    rho_seed = _compare(ours, reseeded)[0]
    rho_ours_exact, rho_theirs_exact = _compare(ours, exact)[0], _compare(theirs, exact)[0]
    print(f"TRAK k={PROJ_DIM}: ours~dattri {rho:.3f}, ours~reseeded {rho_seed:.3f}, "
          f"ours~unprojected {rho_ours_exact:.3f}, dattri~unprojected {rho_theirs_exact:.3f}")
    assert rho >= MIN_SPEARMAN_TRAK_PROJ
    assert rho >= rho_seed - PROJ_SLACK
    assert abs(rho_theirs_exact - rho_ours_exact) <= PROJ_SLACK
