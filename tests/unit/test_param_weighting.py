"""The self-supervised group-weight objective (methods/METHODS.md §2.9, sanity checks b, c, d)."""

import numpy as np
import pytest
import torch

from methods._common.groups import GroupProjector, ParamGroups
from methods._common.weighting import learn_weights, simplex_weights, snr_gradient, ssl_loss

MIN_SIGNAL_MASS = 0.8  # share of the weight on the planted-signal group: measured 0.99
TOL_SCALE = 1e-12


def _reference_loss(C: np.ndarray, w: np.ndarray, k: int, exclude: np.ndarray) -> float:
    """Brute force: per query, drop its own column, take the k largest, divide by the norm."""
    out = []
    for q in range(C.shape[1]):
        tau = np.delete(w @ C[:, q, :], exclude[q])
        out.append(-np.sort(tau)[-k:].mean() / np.linalg.norm(tau))
    return float(np.mean(out))


def test_loss_matches_brute_force_with_the_top_k_of_the_current_weights():
    """(d) the top-k set follows w: two groups rank different examples first."""
    rng = np.random.default_rng(0)
    C = rng.normal(size=(2, 6, 30))
    C[0, :, :3] += 5.0  # group 0 promotes examples 0-2, group 1 examples 10-12
    C[1, :, 10:13] += 5.0
    exclude = np.arange(6) + 15
    for w in ([1.9, 0.1], [0.1, 1.9], [1.0, 1.0]):
        got = float(ssl_loss(torch.as_tensor(C), torch.tensor(w, dtype=torch.float64), 3,
                             torch.as_tensor(exclude)))
        assert abs(got - _reference_loss(C, np.array(w), 3, exclude)) < 1e-12


def test_loss_is_invariant_to_rescaling_the_weights():
    """(b) L(c w) = L(w) for c > 0: the simplex, not the loss, fixes the scale."""
    C = torch.as_tensor(np.random.default_rng(1).normal(size=(3, 4, 20)))
    w = torch.tensor([0.2, 1.3, 0.7], dtype=torch.float64)
    for c in (0.01, 3.0, 1e4):
        assert abs(float(ssl_loss(C, c * w, 5)) - float(ssl_loss(C, w, 5))) < TOL_SCALE


def test_uniform_weights_are_ones():
    np.testing.assert_array_equal(simplex_weights(torch.zeros(4, dtype=torch.float64)),
                                  np.ones(4))


def _planted(n: int = 300, clusters: int = 15, seed: int = 2):
    """Features of two groups: group 0 carries cluster structure (the planted proponents of an
    example are its cluster mates), group 1 is i.i.d. noise at three times the scale."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, clusters, n)
    centres = rng.normal(size=(clusters, 16))
    signal = centres[label] + 0.5 * rng.normal(size=(n, 16))
    noise = 3.0 * rng.normal(size=(n, 48))
    return torch.as_tensor(np.hstack([signal, noise])), label


def _precision_at_k(C: torch.Tensor, w: torch.Tensor, queries, label, k: int) -> float:
    tau = torch.einsum("g,gqn->qn", w, C).numpy().copy()
    tau[np.arange(len(queries)), queries] = -np.inf
    top = np.argsort(-tau, 1)[:, :k]
    return float((label[top] == label[queries][:, None]).mean())


def test_planted_signal_group_gets_the_weight():
    """(c) the learned weights put >= 0.8 of their mass on the signal group, and precision@k
    of the planted proponents rises over uniform weights."""
    X, label = _planted()
    groups = ParamGroups(("signal", "noise"), (torch.arange(16), torch.arange(16, 64)))
    queries = torch.arange(0, 300, 3)
    C = groups.dot(X[queries], X)  # TracIn-like proponent scores (G, n_q, n)
    learned = learn_weights(C, k=10, lam=1e-3, steps=300, lr=0.05, exclude=queries)
    assert learned.w[0] / learned.w.sum() >= MIN_SIGNAL_MASS
    assert learned.loss_learned < learned.loss_uniform
    uniform = torch.ones(2, dtype=torch.float64)
    assert _precision_at_k(C, learned.w, queries, label, 10) > \
        _precision_at_k(C, uniform, queries, label, 10) + 0.1


def test_block_projection_keeps_groups_separable():
    """A block-diagonal P maps each group to its own columns: the per-group inner products of
    projected features are those of each group projected alone."""
    groups = ParamGroups.of({"a.weight": torch.Size([8, 10]), "a.bias": torch.Size([8]),
                             "b.weight": torch.Size([3, 8])}, "layer")
    assert groups.names == ("a", "b") and groups.dim == 112
    proj = GroupProjector(groups, 32, "test")
    G = torch.as_tensor(np.random.default_rng(3).normal(size=(5, 112)))
    Z = proj(G)
    assert Z.shape == (5, 32 + 24)  # group b (24 columns) is kept as is
    np.testing.assert_allclose(Z[:, proj.out.index[0]], proj.proj[0](G[:, groups.index[0]]))
    np.testing.assert_array_equal(Z[:, proj.out.index[1]], G[:, groups.index[1]])


def test_closed_form_gradient_matches_autograd():
    """The learner's closed-form gradient equals autograd through ``ssl_loss`` (top-k fixed)."""
    rng = np.random.default_rng(4)
    C = torch.as_tensor(rng.normal(size=(3, 7, 25)))
    exclude = torch.as_tensor(rng.integers(0, 25, 7))
    C[:, torch.arange(7), exclude] = 0.0
    w = torch.tensor([0.4, 1.7, 0.9], dtype=torch.float64, requires_grad=True)
    loss = ssl_loss(C, w, 4, exclude) + 0.1 * (w * w).sum()
    loss.backward()
    value, grad = snr_gradient(C, w.detach(), 4, 0.1, exclude)
    assert abs(value - float(loss)) < 1e-12
    np.testing.assert_allclose(grad, w.grad, rtol=1e-10, atol=1e-13)


def test_closed_form_gradient_refuses_unmasked_excluded_columns():
    C = torch.ones(2, 3, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="excluded column"):
        snr_gradient(C, torch.ones(2, dtype=torch.float64), 2, 0.0, torch.arange(3))
