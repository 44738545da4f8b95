"""Hutchinson Hessian trace and the SAM / NSO training recipes (methods/METHODS.md §3.5),
float64."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from benchmarks.api.task import make_task
from benchmarks.common.spec import TrainSpec
from benchmarks.training.engine import ENGINES, Problem, train
from benchmarks.training.hessian import hutchinson_samples, hutchinson_trace, trace_of_trained
from tests.exact.logreg_fixture import logreg

N_PROBES = 2000  # many probes: the mean is then within a few standard errors of tr(H)
N_SE = 4.0  # mean within this many standard errors of the exact trace
TOL_STD_REL = 0.15  # empirical single-probe std vs sqrt(2 Σ_{i≠j} H_ij²)
TOL_CHUNK = 1e-12  # chunked vs full-batch Hv: the same sum, regrouped
TOL_TINY = 1e-6  # SAM / NSO with rho, sigma = 1e-8 vs plain training
TOL_QUAD = 1e-12  # two-sided NSO on a quadratic loss vs plain training (rounding only)


def _quadratic(d=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(d, d, generator=g, dtype=torch.float64)
    A = (B + B.T) / 2 + 3 * torch.eye(d, dtype=torch.float64)
    theta = torch.randn(d, generator=g, dtype=torch.float64)
    params = {"a": theta[:8].clone(), "b": theta[8:].view(3, 4).clone()}

    def loss(p):
        t = torch.cat([p["a"], p["b"].flatten()])
        return 0.5 * t @ A @ t

    return A, params, loss


def _offdiag_std(H):
    return math.sqrt(2 * float((H**2).sum() - (H.diag() ** 2).sum()))


def test_hutchinson_is_unbiased_on_a_quadratic_with_the_predicted_spread():
    A, params, loss = _quadratic()
    mean, std = hutchinson_trace(loss, params, probes=N_PROBES, seed=1)
    sd = _offdiag_std(A)
    assert abs(mean - float(A.trace())) <= N_SE * sd / math.sqrt(N_PROBES)
    assert abs(std / sd - 1) <= TOL_STD_REL
    # a probe of a diagonal matrix is exact: vᵀDv = tr(D)
    D = torch.diag(torch.arange(1.0, 21.0, dtype=torch.float64))
    q = hutchinson_samples(lambda p: 0.5 * p["t"] @ D @ p["t"],
                           {"t": torch.ones(20, dtype=torch.float64)}, probes=5, seed=0)
    assert torch.allclose(q, torch.full((5,), float(D.trace()), dtype=torch.float64))


def test_hutchinson_matches_the_exact_logistic_regression_hessian():
    problem, M, _, _ = logreg(n=60, d=4, c=3, K=10)
    model = problem.init(0)
    params = {k: v.detach() for k, v in model.named_parameters()}
    w = torch.rand(60, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    w[::4] = 0.0

    def loss(p):
        return (w * problem.loss(functional_call(model, p, (problem.X,)), problem.y)).sum()

    shapes = {k: v.shape for k, v in params.items()}
    sizes = [v.numel() for v in params.values()]

    def flat_loss(t):
        parts = dict(zip(shapes, torch.split(t, sizes), strict=True))
        return loss({k: parts[k].view(shapes[k]) for k in shapes})

    H = torch.autograd.functional.hessian(flat_loss, torch.cat([v.flatten() for v in
                                                                params.values()]))
    q = hutchinson_samples(loss, params, probes=N_PROBES, seed=2)
    assert abs(float(q.mean()) - float(H.trace())) <= N_SE * float(q.std()) / math.sqrt(N_PROBES)
    assert abs(float(q.std()) / _offdiag_std(H) - 1) <= TOL_STD_REL


def test_trace_of_trained_model_exact_trace_and_chunks():
    """On a trained modular-addition model: the estimate is near the exact trace (diagonal of
    the autograd Hessian), chunked batches give the same Hv, and the seed fixes the probes."""
    task = make_task("modular-addition", "tiny", {"train.steps": 30})
    mask = np.ones(task.K, dtype=bool)
    mask[:2] = False
    w = task.example_weights(mask[None])
    problem = task.problem(torch.float64)
    params = {k: v[0] for k, v in train(problem, torch.as_tensor(w), [5], task.spec.train).items()}
    full = trace_of_trained(task, params, w[0], probes=200, seed=4)
    chunked = trace_of_trained(task, params, w[0], probes=200, seed=4, chunk=37)
    assert abs(full[0] - chunked[0]) <= TOL_CHUNK * abs(full[0])
    assert abs(full[1] - chunked[1]) <= TOL_CHUNK * abs(full[1])
    assert trace_of_trained(task, params, w[0], probes=200, seed=4) == full
    exact = _exact_trace(task, params, torch.as_tensor(w[0]))
    assert abs(full[0] - exact) <= N_SE * full[1] / math.sqrt(200)
    val = trace_of_trained(task, params, w[0], probes=10, seed=4, split="val")
    assert math.isfinite(val[0]) and val[1] > 0
    with pytest.raises(ValueError, match="unknown split"):
        trace_of_trained(task, params, w[0], split="test")


def _exact_trace(task, params, w):
    """Σ_i e_iᵀ H e_i, one double backward per coordinate (about 1000 parameters)."""
    problem = task.problem(torch.float64)
    model = problem.init(0)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    loss = (w * problem.loss(functional_call(model, leaves, (problem.X,)), problem.y)).sum()
    grads = torch.autograd.grad(loss, list(leaves.values()), create_graph=True)
    flat = torch.cat([g.flatten() for g in grads])
    total = 0.0
    for i in range(flat.numel()):
        row = torch.autograd.grad(flat[i], list(leaves.values()), retain_graph=True)
        total += float(torch.cat([r.flatten() for r in row])[i])
    return total


def _modular(overrides):
    task = make_task("modular-quad", "tiny", {"train.steps": 30, "train.optimizer": "sgd",
                                              "train.lr": 0.1, "train.weight_decay": 0.01,
                                              **overrides})
    masks = np.ones((3, task.K), dtype=bool)
    masks[np.arange(3), np.arange(3)] = False
    return task, task.problem(torch.float64), torch.as_tensor(task.example_weights(masks))


def _maxdiff(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("overrides", [
    {"train.sharpness": "sam", "train.sam_rho": 1e-8},
    {"train.sharpness": "nso", "train.nso_sigma": 1e-8},
    {"train.sharpness": "nso", "train.nso_sigma": 1e-8, "train.nso_one_sided": True},
    {"train.sharpness": "nso", "train.nso_sigma": 1e-8, "train.batch_size": 16},
], ids=["sam", "nso", "nso-one-sided", "nso-minibatch"])
def test_tiny_perturbations_reduce_to_plain_training(overrides, engine):
    """rho, sigma -> 0 gives the base optimiser back; with minibatches, the noise stream leaves
    the minibatch draws unchanged."""
    task, problem, weights = _modular(overrides)
    seeds = [1, 2, 3]
    plain = train(problem, weights, seeds, dataclasses.replace(task.spec.train, sharpness="none"),
                  engine)
    sharp = train(problem, weights, seeds, task.spec.train, engine)
    assert _maxdiff(sharp, plain) <= TOL_TINY


def _linear_regression(n=30, d=4, c=2, seed=0):
    """Squared error of a linear model: a loss exactly quadratic in the parameters."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = X @ torch.randn(d, c, generator=g, dtype=torch.float64) + 0.3 * torch.randn(
        n, c, generator=g, dtype=torch.float64)
    problem = Problem(lambda: nn.Linear(d, c), X, y,
                      lambda o, t: ((o - t) ** 2).sum(-1), torch.float64)
    w = torch.rand(3, n, generator=g, dtype=torch.float64)
    return problem, w / w.sum(1, keepdim=True)


QUAD_SPEC = TrainSpec(optimizer="sgd", lr=0.1, weight_decay=0.0, steps=25)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("batch_size", [0, 8])
def test_two_sided_nso_on_a_quadratic_is_the_plain_gradient(engine, batch_size):
    """(∇L(W+U) + ∇L(W−U))/2 = ∇L(W) exactly for a quadratic L, whatever sigma."""
    problem, w = _linear_regression()
    spec = dataclasses.replace(QUAD_SPEC, batch_size=batch_size)
    plain = train(problem, w, [1, 2, 3], spec, engine)
    nso = dataclasses.replace(spec, sharpness="nso", nso_sigma=0.5)
    assert _maxdiff(train(problem, w, [1, 2, 3], nso, engine), plain) <= TOL_QUAD
    one_sided = dataclasses.replace(nso, nso_one_sided=True)
    assert _maxdiff(train(problem, w, [1, 2, 3], one_sided, engine), plain) > 1e-2


@pytest.mark.parametrize("engine", ENGINES)
def test_one_sam_step_on_a_quadratic(engine):
    """W1 = W0 − lr ∇L(W0 + rho g/||g||), ||g|| over all of each model's parameters."""
    problem, w = _linear_regression()
    spec = dataclasses.replace(QUAD_SPEC, steps=1, sharpness="sam", sam_rho=0.3)
    got = train(problem, w, [1, 2, 3], spec, engine)
    for b, seed in enumerate([1, 2, 3]):
        model = problem.init(seed)
        p0 = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, b=b, model=model):
            return (w[b] * problem.loss(functional_call(model, p, (problem.X,)), problem.y)).sum()

        g = torch.func.grad(loss)(p0)
        norm = math.sqrt(sum(float((t**2).sum()) for t in g.values()))
        g_sam = torch.func.grad(loss)({k: p0[k] + 0.3 * g[k] / norm for k in p0})
        for k in p0:
            assert torch.allclose(got[k][b], p0[k] - spec.lr * g_sam[k], atol=1e-13, rtol=0)
            assert not torch.allclose(got[k][b], p0[k] - spec.lr * g[k], atol=1e-6, rtol=0)
