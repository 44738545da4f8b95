"""Per-example gradients with ``torch.func`` and random projections generated blockwise.

Per-example gradients (METHODS.md §1.3) are ``vmap(grad(loss_i))`` over examples, computed in
chunks so that memory stays bounded; a ``Projector`` (§1.4) maps them to k dimensions with a
Gaussian (N(0, 1/k)) or Rademacher (±1/sqrt(k)) matrix P whose row blocks are regenerated from a
derived seed, so P (d x k) is never stored whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.func import functional_call, grad, jacrev, vmap

from benchmarks.common.spec import derive_seed

Params = dict[str, torch.Tensor]


def flat_dim(params: Params) -> int:
    return sum(p.numel() for p in params.values())


def per_example_grads(model: nn.Module, params: Params, X: torch.Tensor, y: torch.Tensor,
                      loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                      chunk: int = 256) -> Iterator[torch.Tensor]:
    """Yield ``(c, d)`` flattened gradients of ``loss(model(x_i), y_i)`` for chunks of examples.

    ``params`` order defines the flattening (``torch.cat`` of ``p.reshape(-1)``).
    """
    names = list(params)

    def one(p: Params, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, p, (x[None],))
        return loss(out, t[None]).sum()

    g_fn = vmap(grad(one), in_dims=(None, 0, 0))
    detached = {k: v.detach() for k, v in params.items()}
    for start in range(0, X.shape[0], chunk):
        g = g_fn(detached, X[start:start + chunk], y[start:start + chunk])
        yield torch.cat([g[k].reshape(g[k].shape[0], -1) for k in names], dim=1)


def jacobian_chunks(model: nn.Module, params: Params, X: torch.Tensor,
                    chunk: int = 256) -> Iterator[torch.Tensor]:
    """Yield per-example output Jacobians ``(r, c, d)`` for chunks of inputs (``vmap(jacrev)``,
    flattened in ``params`` order), so callers can reduce each chunk before the next."""
    names = list(params)

    def f(p: Params, x: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (x[None],))[0]

    jac = vmap(jacrev(f), in_dims=(None, 0))
    for start in range(0, X.shape[0], chunk):
        J = jac(params, X[start:start + chunk])
        yield torch.cat([J[k].flatten(2) for k in names], dim=2)


def stacked_grads(model: nn.Module, params: Params, X: torch.Tensor, y: torch.Tensor,
                  loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                  chunk: int = 256) -> torch.Tensor:
    """All per-example gradients ``(n, d)`` (small models only)."""
    return torch.cat(list(per_example_grads(model, params, X, y, loss, chunk)), dim=0)


class Projector:
    """``x -> x @ P`` with ``P: (d, k)`` generated in row blocks from a seed, never stored whole.

    ``kind``: "gaussian" (entries N(0, 1/k), as TRAK) or "rademacher" (±1/sqrt(k), as Grad-TAG).
    """

    def __init__(self, d: int, k: int, key: str, kind: str = "gaussian",
                 block: int = 4096, dtype: torch.dtype = torch.float32) -> None:
        if kind not in ("gaussian", "rademacher"):
            raise ValueError(f"unknown projection {kind!r}. Available: gaussian, rademacher")
        self.d, self.k, self.key, self.kind, self.block, self.dtype = d, k, key, kind, block, dtype

    def block_matrix(self, b: int) -> torch.Tensor:
        """Rows ``[b*block, (b+1)*block)`` of P, regenerated from ``derive_seed(key, b)``."""
        rows = min(self.block, self.d - b * self.block)
        gen = torch.Generator().manual_seed(derive_seed(self.key, "proj", b))
        if self.kind == "gaussian":
            m = torch.randn(rows, self.k, generator=gen, dtype=torch.float64, device="cpu")
        else:
            m = torch.randint(0, 2, (rows, self.k), generator=gen, device="cpu").double() * 2 - 1
        return (m / self.k**0.5).to(torch.get_default_device(), self.dtype)

    def __call__(self, G: torch.Tensor) -> torch.Tensor:
        """``G: (n, d) -> (n, k)``."""
        if G.shape[-1] != self.d:
            raise ValueError(f"expected last dimension d={self.d}, got {G.shape[-1]}")
        out = torch.zeros(G.shape[0], self.k, dtype=G.dtype, device=G.device)
        for b in range(0, -(-self.d // self.block)):
            lo = b * self.block
            out += G[:, lo:lo + self.block] @ self.block_matrix(b).to(G.device, G.dtype)
        return out

    def matrix(self) -> torch.Tensor:
        """The whole ``(d, k)`` matrix (tests and small d only)."""
        return torch.cat([self.block_matrix(b) for b in range(-(-self.d // self.block))])
