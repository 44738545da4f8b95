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
    """Mean over queries of ``-mean(top-k τ̃) / ||τ̃||₂`` for ``C: (G, n_q, n)``, ``w: (G,)``
    (k capped at n).

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
    """``w: (G,)`` the learned weights, the SSL loss (without the penalty) at uniform and
    learned weights, and the Adam steps run."""

    w: torch.Tensor
    loss_uniform: float
    loss_learned: float
    steps: int


def snr_gradient(C: torch.Tensor, w: torch.Tensor, k: int, lam: float,
                 exclude: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    """``ssl_loss + lam·||w||²`` and its gradient in ``w`` in closed form (no autograd).

    With the top-k set ``I_q`` fixed, ``r_q = (a_qᵀw) / ||τ̃_q||`` where ``a_q`` is the mean of
    C over ``I_q``, so ``∂r_q/∂w = a_q/ν_q - (a_qᵀw)/ν_q³ · C_q τ̃_q``. ``C`` must already have
    zeros in each query's excluded column.
    """
    tau = torch.einsum("g,gqn->qn", w, C)
    ranked = tau.clone()
    if exclude is not None:
        rows = torch.arange(tau.shape[0])
        if C[:, rows, exclude].any():
            raise ValueError("snr_gradient: C must be zero in each query's excluded column")
        ranked[rows, exclude] = float("-inf")
    top = ranked.topk(min(k, tau.shape[1]), dim=1).indices
    a = C.gather(2, top.expand(C.shape[0], -1, -1)).mean(2)  # (G, n_q)
    signal = w @ a
    nu = tau.norm(dim=1).clamp_min(1e-300)
    b = torch.einsum("gqn,qn->gq", C, tau)
    grad = -(a / nu - signal / nu**3 * b).mean(1) + 2 * lam * w
    return float(-(signal / nu).mean() + lam * (w @ w)), grad


def learn_weights(C: torch.Tensor, k: int, lam: float, steps: int, lr: float,
                  exclude: torch.Tensor | None = None) -> LearnedWeights:
    """Minimise ``ssl_loss + lam·||w||²`` over ``w = G·softmax(ω)`` with Adam (float64), the
    top-k set refreshed at every step; gradients from ``snr_gradient`` chained through the
    softmax (``∂w_i/∂ω_j = w_i (δ_ij - w_j/G)``). The objective is piecewise smooth (the top-k
    set jumps), so the iterate with the lowest objective is returned, never worse than uniform
    (the first iterate)."""
    C = C.detach().to(torch.float64).clone()
    if exclude is not None:
        C[:, torch.arange(C.shape[1]), exclude] = 0.0
    omega = torch.zeros(C.shape[0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([omega], lr=lr)
    start = float(ssl_loss(C, simplex_weights(omega.detach()), k, exclude))
    best = (float("inf"), simplex_weights(omega.detach()))
    for step in range(steps + 1):  # iterates 0 (uniform) .. steps
        w = simplex_weights(omega.detach())
        value, gw = snr_gradient(C, w, k, lam, exclude)
        best = min(best, (value, w), key=lambda b: b[0])
        if step < steps:
            omega.grad = w * (gw - (w @ gw) / len(w))
            opt.step()
    w = best[1]
    return LearnedWeights(w, start, float(ssl_loss(C, w, k, exclude)), steps)
