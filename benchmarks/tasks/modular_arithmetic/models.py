"""Model architectures used by the retraining tasks (plain ``nn.Module``s, vmap-friendly)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": F.relu, "square": torch.square}


class EmbedMLP(nn.Module):
    """Token embeddings of (x, y), concatenated, one hidden layer, logits over p classes.

    The quick-profile model of modular arithmetic: small enough to train hundreds of subset
    models on 2 cores. ReLU generalises on addition, sub and mul; x^2+xy+y^2 needs a product of
    the two embeddings, which the ``square`` activation provides (datasets/modular_arithmetic.md).
    """

    def __init__(self, p: int, embed_dim: int, hidden: int, activation: str = "relu") -> None:
        super().__init__()
        self.act = ACTIVATIONS[activation]
        self.embed = nn.Embedding(p, embed_dim)
        self.hidden = nn.Linear(2 * embed_dim, hidden)
        self.out = nn.Linear(hidden, p)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        """``xy: (n, 2)`` integer pairs -> logits ``(n, p)``."""
        e = self.embed(xy).flatten(-2)
        return self.out(self.act(self.hidden(e)))


class Block(nn.Module):
    """Pre-LN transformer block (attention + MLP), math attention for double-backward."""

    def __init__(self, d: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n, t, d = h.shape
        q, k, v = self.qkv(self.ln1(h)).view(n, t, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5, dim=-1)
        h = h + self.proj((att @ v).transpose(1, 2).reshape(n, t, d))
        return h + self.fc2(F.relu(self.fc1(self.ln2(h))))


class TinyTransformer(nn.Module):
    """The paper's modular-arithmetic model: tokens ``[x, op, y, =]``, read out at ``=``.

    Vocabulary: p numbers plus the op and ``=`` tokens; 2 pre-LN blocks, d = 128, 4 heads,
    MLP 512 at the paper profile (benchmarks/papers/kernelsm/REPLICATION.md).
    """

    def __init__(self, p: int, d: int, heads: int, mlp: int, layers: int) -> None:
        super().__init__()
        self.p = p
        self.tok = nn.Embedding(p + 2, d)
        self.pos = nn.Parameter(torch.randn(4, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads, mlp) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, p)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        """``xy: (n, 2)`` integer pairs -> logits ``(n, p)``."""
        op = torch.full_like(xy[:, :1], self.p)
        eq = torch.full_like(xy[:, :1], self.p + 1)
        h = self.tok(torch.cat([xy[:, :1], op, xy[:, 1:], eq], dim=1)) + self.pos
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln(h[:, -1]))
