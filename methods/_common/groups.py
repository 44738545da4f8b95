"""Parameter groups and per-group score contributions (METHODS.md §2.9, §1.4).

A gradient method's score is a sum over coordinates of a query-side feature times a
training-side feature (``g(q)ᵀ K g(x)``). Splitting the coordinates into G groups (one per layer
or per tensor) splits the score into G contributions ``c_j``, so the parameter-weighted score
``sum_j w_j c_j`` is linear in w and uniform weights give back the base score. Projections stay
separable by group when P is block-diagonal (``GroupProjector``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmarks.common.spec import derive_seed
from benchmarks.training.grads import Projector

GRANULARITIES = ("layer", "tensor")


@dataclass(frozen=True)
class ParamGroups:
    """``names[j]`` and the feature columns ``index[j]`` (a LongTensor) of each group."""

    names: tuple[str, ...]
    index: tuple[torch.Tensor, ...]

    @classmethod
    def of(cls, shapes: dict[str, torch.Size], granularity: str = "layer") -> ParamGroups:
        """Groups over the flattened parameters (``shapes`` order); ``layer`` merges the tensors
        of one module (weight with its bias), ``tensor`` keeps one group per tensor."""
        if granularity not in GRANULARITIES:
            raise ValueError(f"unknown granularity {granularity!r}. Available: {GRANULARITIES}")
        cols: dict[str, list[int]] = {}
        start = 0
        for name, shape in shapes.items():
            size = int(np.prod(shape))
            key = name if granularity == "tensor" else (name.rpartition(".")[0] or "(root)")
            cols.setdefault(key, []).extend(range(start, start + size))
            start += size
        return cls(tuple(cols), tuple(torch.as_tensor(c) for c in cols.values()))

    @classmethod
    def of_params(cls, params: dict[str, torch.Tensor], granularity: str = "layer"
                  ) -> ParamGroups:
        """Groups over a parameter dict (its order is the flattening order)."""
        return cls.of({k: v.shape for k, v in params.items()}, granularity)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def dim(self) -> int:
        """Number of feature columns covered by the groups."""
        return sum(len(i) for i in self.index)

    def dot(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """Per-group inner products ``(G, a, b)`` of rows ``A: (a, D)`` and ``B: (b, D)``."""
        return torch.stack([A[:, i] @ B[:, i].T for i in self.index])

    def rowdot(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """Per-group inner products ``(G, a)`` of matching rows of ``A`` and ``B: (a, D)``."""
        return torch.stack([(A[:, i] * B[:, i]).sum(1) for i in self.index])


class GroupProjector:
    """Block-diagonal projection: group j's columns map to ``min(k, d_j)`` features of their
    own (identity when ``k >= d_j``), from a Gaussian/Rademacher ``P_j`` seeded by ``key/j``."""

    def __init__(self, groups: ParamGroups, k: int, key: str, kind: str = "gaussian",
                 dtype: torch.dtype = torch.float64) -> None:
        self.groups = groups
        self.proj = [None if k >= len(i) else
                     Projector(len(i), k, f"{key}/{name}", kind, dtype=dtype)
                     for name, i in zip(groups.names, groups.index, strict=True)]
        sizes = [len(i) if p is None else p.k for i, p in zip(groups.index, self.proj,
                                                             strict=True)]
        bounds = np.cumsum([0] + sizes)
        self.out = ParamGroups(groups.names, tuple(torch.arange(int(lo), int(hi)) for lo, hi
                                                   in zip(bounds[:-1], bounds[1:], strict=True)))

    def __call__(self, G: torch.Tensor) -> torch.Tensor:
        """``G: (n, d) -> (n, sum_j k_j)``, features grouped as ``self.out``."""
        return torch.cat([G[:, i] if p is None else p(G[:, i])
                          for i, p in zip(self.groups.index, self.proj, strict=True)], 1)


@dataclass(frozen=True)
class GroupContributions:
    """A base method's scores split by parameter group (§2.9 precomputation).

    ``targets: (G, K, n_t)`` unit scores (§0 sign: > 0 raises the target loss); ``queries:
    (G, n_q, n)`` proponent scores τ̃ (> 0 helps, the orientation of the self-supervised loss) of
    the n training examples for each query, a training example ``query_index[q]`` whose own
    column the loss ignores; ``own: (G, K)`` self-influence terms or None; ``phi: (n_t,)``
    the target losses of the model the scores are taken at.
    """

    names: tuple[str, ...]
    targets: torch.Tensor
    queries: torch.Tensor
    query_index: torch.Tensor
    own: torch.Tensor | None
    phi: torch.Tensor

    def __add__(self, other: GroupContributions) -> GroupContributions:
        """Sum of two terms (checkpoints, ensemble members) on the same groups and queries;
        ``phi`` is the later term's (TracIn's last checkpoint is the full model)."""
        own = None if self.own is None or other.own is None else self.own + other.own
        return GroupContributions(self.names, self.targets + other.targets,
                                  self.queries + other.queries, self.query_index, own,
                                  other.phi)

    def combine(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weighted scores ``(K, n_t)`` and self-influence ``(K,)`` for weights ``w: (G,)``."""
        scores = torch.einsum("g,gkt->kt", w, self.targets)
        own = None if self.own is None else w @ self.own
        return scores, own


def query_index(n: int, n_queries: int, key: str) -> torch.Tensor:
    """``min(n_queries, n)`` training examples drawn without replacement from a content key:
    queries come from the training distribution, never from the evaluation targets."""
    rng = np.random.default_rng(derive_seed(key, "queries"))
    return torch.as_tensor(np.sort(rng.choice(n, size=min(n_queries, n), replace=False)))
