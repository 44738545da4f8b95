"""Task family ``modular-<op>``: all pairs (x, y) mod p, units = blocks of the (x, y) grid.

As in the KernelSM paper (benchmarks/papers/kernelsm/REPLICATION.md): a fraction of the pairs
trains, the rest are targets (F = per-example cross-entropy on each held-out pair); the training
grid is cut into blocks of side ``block`` (p = 97, block 20 -> K = 25 in the paper). ``overlap`` =
rho is the controlled-interaction dial: unit k also contains a share rho of block k+1's examples, so
units become partly redundant (rho = 0 is the paper's disjoint design). Profiles and the evidence
for the quick setting: datasets/modular_arithmetic.md.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.api.task import FineTuning, register_family, register_finetuned
from benchmarks.common.spec import (
    SpecError,
    SubsetDesign,
    TaskSpec,
    TrainSpec,
    derive_seed,
    param,
    validate_fields,
)
from benchmarks.tasks.modular_arithmetic.models import ACTIVATIONS, EmbedMLP, TinyTransformer
from benchmarks.training.engine import Problem
from benchmarks.training.retrain_task import RetrainTask


def _divide(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """x · y⁻¹ mod p (p prime, y != 0): the inverse by Fermat, y^(p-2) mod p."""
    inverse = np.array([pow(int(v), p - 2, p) for v in np.asarray(y).ravel()], dtype=np.int64)
    return (np.asarray(x, dtype=np.int64) * inverse.reshape(np.shape(y))) % p


OPS = {
    "addition": lambda x, y, p: (x + y) % p,
    "sub": lambda x, y, p: (x - y) % p,
    "mul": lambda x, y, p: (x * y) % p,
    "quad": lambda x, y, p: (x * x + x * y + y * y) % p,
    "division": _divide,  # the paper's summary: where KernelSM's largest gain appears
}
NONZERO_DIVISOR = ("division",)  # pairs (x, 0) have no answer and are left out
FINETUNED_OPS = ("addition", "quad")  # the paper's two tasks get the fine-tuning regime


@dataclass(frozen=True)
class ModularParams:
    """Data, unit partition and model of one modular-arithmetic task."""

    op: str = param(help="the operation on (x, y) mod p", choices=tuple(OPS))
    p: int = param(31, "the modulus (a prime in the profiles): p x p pairs, p classes", ge=3,
                   le=512)
    block: int = param(8, "side of a unit's block of the (x, y) grid (<= p)", ge=1)
    train_frac: float = param(0.9, "fraction of the pairs that trains (the rest are targets)",
                              gt=0, lt=1)
    overlap: float = param(0.0, "rho: share of block k+1's examples also in unit k (0 = "
                           "disjoint units)", ge=0, le=1)
    split_seed: int = param(33, "seed of the train/target split of the pairs", ge=0)
    arch: str = param("embed-mlp", "model: embeddings + MLP, or a small transformer",
                      choices=("embed-mlp", "transformer"))
    embed_dim: int = param(16, "token embedding width (the transformer's model width)", ge=1)
    hidden: int = param(64, "hidden width of the embed-mlp", ge=1)
    activation: str = param("relu", "hidden activation of the embed-mlp",
                            choices=tuple(ACTIVATIONS))
    layers: int = param(2, "transformer blocks", ge=1)
    heads: int = param(4, "attention heads per transformer block", ge=1)
    mlp: int = param(512, "hidden width of the transformer's MLP", ge=1)

    def validate(self) -> None:
        validate_fields(self, "params")
        if self.op in NONZERO_DIVISOR and not _is_prime(self.p):
            raise SpecError(f"invalid config field params.p: {self.p} must be prime for "
                            f"params.op = {self.op!r} (every y != 0 needs an inverse mod p)")
        if self.block > self.p:
            raise SpecError(f"invalid config field params.block: {self.block} must be <= "
                            f"params.p = {self.p}")
        if self.arch == "transformer" and self.embed_dim % self.heads:
            raise SpecError(f"invalid config field params.heads: {self.heads} must divide "
                            f"params.embed_dim = {self.embed_dim}")


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


class ModularArithmetic(RetrainTask):
    """Modular arithmetic with block units; see the module docstring."""

    params: ModularParams

    @functools.cached_property
    def _split(self) -> tuple[np.ndarray, np.ndarray]:
        p = self.params.p
        pairs = np.stack(np.meshgrid(np.arange(p), np.arange(p), indexing="ij"), -1).reshape(-1, 2)
        if self.params.op in NONZERO_DIVISOR:
            pairs = pairs[pairs[:, 1] != 0]
        rng = np.random.default_rng(self.params.split_seed)
        pairs = pairs[rng.permutation(len(pairs))]
        n_train = int(round(self.params.train_frac * len(pairs)))
        return pairs[:n_train], pairs[n_train:]

    def _labels(self, pairs: np.ndarray) -> np.ndarray:
        return OPS[self.params.op](pairs[:, 0], pairs[:, 1], self.params.p)

    @functools.cached_property
    def membership(self) -> np.ndarray:
        """Block units, plus a share ``overlap`` of the next block (controlled redundancy)."""
        train, _ = self._split
        nb = math.ceil(self.params.p / self.params.block)
        block_id = (train[:, 0] // self.params.block) * nb + train[:, 1] // self.params.block
        K = nb * nb
        M = np.zeros((K, len(train)), dtype=bool)
        M[block_id, np.arange(len(train))] = True
        if self.params.overlap > 0:
            rng = np.random.default_rng(derive_seed(self.spec.base_key, "overlap"))
            for k in range(K):
                nxt = np.flatnonzero(M[(k + 1) % K] & (block_id == (k + 1) % K))
                share = rng.permutation(nxt)[: int(round(self.params.overlap * len(nxt)))]
                M[k, share] = True
        return M

    def _model_factory(self):
        q = self.params
        if q.arch == "embed-mlp":
            return lambda: EmbedMLP(q.p, q.embed_dim, q.hidden, q.activation)
        return lambda: TinyTransformer(q.p, q.embed_dim, q.heads, q.mlp, q.layers)

    def problem(self, dtype: torch.dtype = torch.float32) -> Problem:
        train, _ = self._split
        return Problem(make_model=self._model_factory(), X=torch.as_tensor(train),
                       y=torch.as_tensor(self._labels(train)), dtype=dtype,
                       loss=lambda logits, y: F.cross_entropy(logits, y, reduction="none"))

    @property
    def engine(self) -> str:
        """Batched for the small MLPs (measured 1.8x the loop engine, leaderboard/bench.json);
        the loop for the paper's transformer, where one model with batch 512 already fills the
        cores (not measured here: paper scale does not run on 2 cores)."""
        return "loop" if self.params.arch == "transformer" else "batched"

    @property
    def chance(self) -> float:
        """Accuracy of guessing: 1/p."""
        return 1.0 / self.params.p

    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        _, held = self._split
        return torch.as_tensor(held), torch.as_tensor(self._labels(held))


def profile_spec(op: str, profile: str) -> TaskSpec:
    """The tiny / quick / paper settings (evidence for quick: datasets/modular_arithmetic.md)."""
    name = f"modular-{op}"
    if profile == "tiny":  # seconds, yet every op's subset models learn (TINY_FINETUNING)
        quad = {"embed_dim": 32, "activation": "square"} if op == "quad" else {"embed_dim": 8}
        return TaskSpec(name, ModularParams(op, p=23, block=8, train_frac=0.9, hidden=32,
                                            **quad),
                        TrainSpec(lr=3e-2, weight_decay=1.0, steps=200),
                        SubsetDesign(alpha=7 / 9, n_fit=12, n_eval=8, n_seeds=2), profile)
    if profile == "quick" and op == "quad":
        return TaskSpec(name, ModularParams(op, train_frac=0.9, embed_dim=32,
                                            activation="square"),
                        TrainSpec(lr=1e-2, weight_decay=1.0, steps=2000),
                        SubsetDesign(alpha=0.875, n_fit=64, n_eval=48, n_seeds=2), profile)
    if profile == "quick":
        return TaskSpec(name, ModularParams(op, train_frac=0.8),
                        TrainSpec(lr=1e-2, weight_decay=1.0, steps=1000),
                        SubsetDesign(alpha=0.75, n_fit=96, n_eval=64, n_seeds=2), profile)
    lr = 1e-4 if op == "quad" else 1e-3
    return TaskSpec(name, ModularParams(op, p=97, block=20, arch="transformer", embed_dim=128),
                    TrainSpec(lr=lr, weight_decay=1.0, steps=37_000, batch_size=512),
                    SubsetDesign(alpha=0.88, n_fit=40, n_eval=10, n_seeds=1), profile)


for _op in OPS:
    register_family(f"modular-{_op}", ModularArithmetic, functools.partial(profile_spec, _op),
                    f"modular arithmetic ({_op}) mod p, units = blocks of the (x, y) grid")
# The tiny profile's W0 trains for the whole from-scratch recipe (200 steps): a shorter W0 is at
# chance or on either side of its grokking jump, and its fine-tuned subset models with it
# (held-out accuracy of the evaluation-subset models after 30 / 60 / 120 pretraining steps:
# 0.005 / 0.42 / 0.98 on addition, 0.04 / 0.11 at 60 / 120 on quad; at 200: 0.92 and 0.42).
# Quick and paper keep the default regime (their specs and keys unchanged).
TINY_FINETUNING = FineTuning(pretrain=1.0)


@dataclass(frozen=True)
class _FineTuning(FineTuning):
    """The default regime, but ``TINY_FINETUNING`` at the tiny profile."""

    def spec(self, base: TaskSpec) -> TaskSpec:
        return (TINY_FINETUNING if base.profile == "tiny" else FineTuning()).spec(base)


for _op in FINETUNED_OPS:
    register_finetuned(f"modular-{_op}", ModularArithmetic,
                       functools.partial(profile_spec, _op),
                       f"modular arithmetic ({_op}) mod p", _FineTuning())
