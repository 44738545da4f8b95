"""TracIn (methods/METHODS.md §2.4): sanity checks (a) one GD step and (b) self-influence of flipped
labels, checkpoints of the full model, and the method against Grad-Dot (float64 where exact)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from logreg_fixture import logreg
from torch import nn

from benchmarks.api.context import TrainedModel
from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.spec import SpecError, TrainSpec
from benchmarks.groundtruth.fill import open_store
from benchmarks.groundtruth.fullmodel import (
    checkpoint_steps,
    full_model,
    full_model_checkpoints,
)
from benchmarks.training.engine import Problem, interval_lrs, train, train_with_checkpoints
from methods.grad_dot import GradDot
from methods.tracin import TracIn, checkpoint_scores

ETA_STEP = 1e-3
MAX_REL_ERR_GD_STEP = 1e-3  # ||drop - (-a)|| / ||a||, O(eta): measured 1.7e-4 at eta = 1e-3
MIN_SELF_INFLUENCE_RATIO = 3.0  # mean |self-infl.| flipped / clean: measured 13.5
MIN_SELF_INFLUENCE_AUC = 0.9  # flipped vs clean by self-influence magnitude: measured 0.99
TOL_GRAD_DOT = 1e-12
MIN_PROJ_CORR = 0.9  # projected (k = 512 of d = 995) vs exact scores: measured 0.965


def _one_step_drop_effects(problem, Xt, yt, eta: float) -> np.ndarray:
    """Exact change in target loss from dropping z_i's term of one full-batch GD step on the
    mean loss from theta_0 (loop engine, SGD without weight decay): ``(n, n_t)``."""
    n = problem.X.shape[0]
    W = torch.full((n + 1, n), 1.0 / n, dtype=torch.float64)
    W[torch.arange(1, n + 1), torch.arange(n)] = 0.0  # row 1 + i: z_i's term dropped
    spec = TrainSpec(optimizer="sgd", lr=eta, weight_decay=0.0, steps=1)
    P = train(problem, W, [0] * (n + 1), spec, "loop")
    module = problem.init(0)
    with torch.no_grad():
        losses = torch.stack([problem.loss(torch.func.functional_call(
            module, {k: v[b] for k, v in P.items()}, (Xt,)), yt) for b in range(n + 1)])
    return (losses[1:] - losses[0]).numpy()


def test_one_gd_step_change_is_minus_tracin_last():
    """§2.4 (a): the drop effect is ``+(eta/n) g_i . g_t + O(eta^2)`` = -a_i of TracIn at theta_0
    (the method's w_i = 1/n with eta_c = eta is METHODS' eta_c = eta/n on raw gradients)."""
    problem, M, Xt, yt = logreg(n=60, d=5, c=3, K=60)
    n = problem.X.shape[0]
    theta0 = {k: v.detach() for k, v in problem.init(0).named_parameters()}
    rel = []
    for eta in (ETA_STEP, ETA_STEP / 10):
        model = TrainedModel(problem, problem.init(0), theta0, Xt, yt, M, np.full(n, 1.0 / n))
        a = checkpoint_scores(model, eta)[0].numpy()
        raw = TrainedModel(problem, problem.init(0), theta0, Xt, yt, M, np.ones(n))
        np.testing.assert_allclose(checkpoint_scores(raw, eta / n)[0].numpy(), a, rtol=1e-12)
        drop = _one_step_drop_effects(problem, Xt, yt, eta)
        rel.append(np.linalg.norm(drop + a) / np.linalg.norm(a))
    assert rel[0] <= MAX_REL_ERR_GD_STEP
    assert 5 < rel[0] / rel[1] < 20  # the residual is O(eta^2): 10x smaller eta, 10x smaller


def test_last_checkpoint_is_the_full_model(cache):
    task = make_task("modular-addition", "tiny", {"train.steps": 20})
    store = open_store(task)
    full = full_model(task, store)
    models, etas = full_model_checkpoints(task, store, 0, 3)
    assert len(models) == 3 and etas == [task.spec.train.lr] * 3
    assert checkpoint_steps(20, 3) == [7, 13, 20]
    for name, value in full.params.items():
        assert torch.equal(models[-1].params[name], value), name
    assert not torch.equal(models[0].params["out.weight"], full.params["out.weight"])
    assert (store.path / "models" / "full_r0_ckpt3.pt").exists()
    again, _ = full_model_checkpoints(task, store, 0, 3)  # from the cache
    for m, m2 in zip(models, again, strict=True):
        assert all(torch.equal(m.params[k], m2.params[k]) for k in m.params)
    with pytest.raises(ValueError, match="number of checkpoints"):
        full_model_checkpoints(task, store, 0, 21)


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def test_flipped_labels_have_larger_self_influence():
    """§2.4 (b) on 3-class blobs (n = 150, 10% flipped), an MLP trained with AdamW, C = 3."""
    g = torch.Generator().manual_seed(0)
    n, d, c = 150, 5, 3
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = (X @ torch.randn(d, c, generator=g, dtype=torch.float64)).argmax(1)
    flip = torch.zeros(n, dtype=torch.bool)
    flip[torch.randperm(n, generator=g)[: n // 10]] = True
    y = torch.where(flip, (y + torch.randint(1, c, (n,), generator=g)) % c, y)
    problem = Problem(lambda: nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, c)), X, y,
                      lambda o, t: F.cross_entropy(o, t, reduction="none"), torch.float64)
    spec = TrainSpec(optimizer="adamw", lr=1e-2, weight_decay=1e-2, steps=300)
    steps = checkpoint_steps(spec.steps, 3)
    w = torch.full((n,), 1.0 / n, dtype=torch.float64)
    own = torch.zeros(n, dtype=torch.float64)
    snaps = train_with_checkpoints(problem, w, 0, spec, steps)
    for params, eta in zip(snaps, interval_lrs(spec, steps), strict=True):
        model = TrainedModel(problem, problem.init(0), params, X[:4], y[:4], np.eye(n, dtype=bool),
                             w.numpy())
        own += checkpoint_scores(model, eta)[1]
    mag, f = own.abs().numpy(), flip.numpy()
    assert (own <= 0).all()  # including a point never raises its own loss at first order
    assert mag[f].mean() >= MIN_SELF_INFLUENCE_RATIO * mag[~f].mean()
    assert _auc(mag[f], mag[~f]) >= MIN_SELF_INFLUENCE_AUC


def test_tracin_last_is_lr_times_grad_dot(tiny_ctx):
    """C = 1 at the full model is Grad-Dot scaled by the learning rate; same intercept."""
    lr = tiny_ctx.task.spec.train.lr
    tracin, dot = TracIn(n_checkpoints=1).fit(tiny_ctx), GradDot().fit(tiny_ctx)
    np.testing.assert_allclose(tracin.scores, lr * dot.scores, rtol=TOL_GRAD_DOT, atol=0)
    np.testing.assert_allclose(tracin.intercept + tracin.scores.sum(0),
                               dot.intercept + dot.scores.sum(0), rtol=TOL_GRAD_DOT)
    assert tracin.self_influence.shape == (tiny_ctx.task.K,)
    assert (tracin.self_influence < 0).all()
    assert tracin.state["eta"] == [lr] and not tracin.state["projected"]


def test_variants_run_and_projection_approximates(tiny_ctx):
    exact = TracIn(n_checkpoints=2).fit(tiny_ctx)
    proj = TracIn(n_checkpoints=2, proj_dim=768).fit(tiny_ctx)  # d = 1,487: k/d ≈ 0.5
    cos = TracIn(n_checkpoints=2, normalize=True, proj_dim=64).fit(tiny_ctx)
    assert proj.state["projected"] and cos.self_influence is None
    corr = np.corrcoef(exact.scores.ravel(), proj.scores.ravel())[0, 1]
    assert corr >= MIN_PROJ_CORR, corr
    assert np.isfinite(cos.scores).all()
    assert TracIn(n_checkpoints=5, proj_dim=512, normalize=True).display == \
        "TracIn (C=5, k=512, cos)"
    assert make_method("tracin").display == "TracIn (C=5)"


@pytest.mark.parametrize("bad", [{"n_checkpoints": 0}, {"proj_dim": -1}, {"normalize": 1},
                                 {"aggregate": "max"}])
def test_invalid_fields(bad):
    with pytest.raises(SpecError, match=f"invalid config field tracin.{next(iter(bad))}"):
        make_method("tracin", bad)
