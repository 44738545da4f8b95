"""Learning parameter-group weights without labels (METHODS.md §2.9, self-supervised objective).

For query q the weighted proponent scores are ``τ̃(q, ·; w) = sum_j w_j C_j(q, ·)``. The loss is
the negative signal-to-noise ratio ``-(mean of the top-k scores) / ||τ̃||₂``, whose top-k set is
recomputed at every step and held constant inside the gradient; ``w = G·softmax(ω)`` keeps w on a
scaled simplex where uniform weights are all ones (the base method) and ``lam·||w||²`` pulls
toward uniform. Adam on ω from ω = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def simplex_weights(omega: torch.Tensor) -> torch.Tensor:
    """``G·softmax(ω)``: non-negative, summing to G, all ones at ω = 0."""
    return omega.numel() * torch.softmax(omega, 0)


def ssl_loss(C: torch.Tensor, w: torch.Tensor, k: int,
             exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over queries of ``-mean(top-k τ̃) / ||τ̃||₂`` for ``C: (G, n_q, n)``, ``w: (G,)``.

    ``exclude: (n_q,)`` a column per query left out of both the top-k and the norm (a query that
    is itself a training example would otherwise be its own top proponent).
    """
    tau = torch.einsum("g,gqn->qn", w, C)
    if exclude is not None:
        keep = torch.ones_like(tau, dtype=torch.bool)
        keep[torch.arange(tau.shape[0]), exclude] = False
        tau = tau * keep
        ranked = tau.detach().masked_fill(~keep, float("-inf"))
    else:
        ranked = tau.detach()
    top = ranked.topk(min(k, tau.shape[1]), dim=1).indices
    signal = tau.gather(1, top).mean(1)
    return -(signal / tau.norm(dim=1).clamp_min(1e-300)).mean()


@dataclass(frozen=True)
class LearnedWeights:
    """``w: (G,)`` the learned weights, the loss at uniform and learned weights, steps run."""

    w: torch.Tensor
    loss_uniform: float
    loss_learned: float
    steps: int


def learn_weights(C: torch.Tensor, k: int, lam: float, steps: int, lr: float,
                  exclude: torch.Tensor | None = None) -> LearnedWeights:
    """Minimise ``ssl_loss + lam·||w||²`` over ``w = G·softmax(ω)`` with Adam (float64)."""
    C = C.detach().to(torch.float64)
    omega = torch.zeros(C.shape[0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([omega], lr=lr)

    def objective() -> torch.Tensor:
        w = simplex_weights(omega)
        return ssl_loss(C, w, k, exclude) + lam * (w * w).sum()

    with torch.no_grad():
        start = float(ssl_loss(C, simplex_weights(omega), k, exclude))
    for _ in range(steps):
        opt.zero_grad()
        objective().backward()
        opt.step()
    w = simplex_weights(omega.detach())
    return LearnedWeights(w, start, float(ssl_loss(C, w, k, exclude)), steps)
