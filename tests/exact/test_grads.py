"""Per-example gradients (vmap(grad)) and blockwise random projections, in float64."""

import pytest
import torch
import torch.nn.functional as F

from benchmarks.tasks.modular_arithmetic.models import EmbedMLP
from benchmarks.training.grads import Projector, flat_dim, per_example_grads, stacked_grads

TOL_GRAD = 1e-12
TOL_PROJ = 1e-12


def _setup():
    torch.manual_seed(0)
    model = EmbedMLP(7, 4, 8).double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    X = torch.randint(0, 7, (23, 2))
    y = torch.randint(0, 7, (23,))
    return model, params, X, y


def _ce(out, t):
    return F.cross_entropy(out, t, reduction="none")


def test_per_example_grads_match_autograd_and_chunking():
    model, params, X, y = _setup()
    G = stacked_grads(model, params, X, y, _ce, chunk=5)
    assert G.shape == (23, flat_dim(params))
    G_one = torch.cat(list(per_example_grads(model, params, X, y, _ce, chunk=100)))
    assert float((G - G_one).abs().max()) <= TOL_GRAD
    for i in (0, 7, 22):
        model.zero_grad()
        _ce(model(X[i:i + 1]), y[i:i + 1]).sum().backward()
        manual = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
        assert float((G[i] - manual).abs().max()) <= TOL_GRAD
    # the sum of per-example gradients is the gradient of the summed loss
    model.zero_grad()
    _ce(model(X), y).sum().backward()
    total = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    assert float((G.sum(0) - total).abs().max()) <= 1e-10


@pytest.mark.parametrize("kind", ["gaussian", "rademacher"])
def test_blockwise_projection_equals_full_matrix(kind):
    G = torch.randn(9, 50, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    proj = Projector(50, 16, "key", kind, block=7, dtype=torch.float64)
    P = proj.matrix()
    assert P.shape == (50, 16)
    assert float((proj(G) - G @ P).abs().max()) <= TOL_PROJ
    again = Projector(50, 16, "key", kind, block=7, dtype=torch.float64).matrix()
    assert torch.equal(P, again)
    other = Projector(50, 16, "other", kind, block=7, dtype=torch.float64).matrix()
    assert not torch.equal(P, other)
    if kind == "rademacher":
        assert torch.allclose(P.abs(), torch.full_like(P, 16**-0.5))


def test_gaussian_projection_preserves_norms_on_average():
    d, k = 400, 2000
    g = torch.randn(1, d, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    z = Projector(d, k, "jl", "gaussian", dtype=torch.float64)(g)
    assert abs(float(z.norm() / g.norm()) - 1.0) < 0.1
