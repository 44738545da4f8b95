"""Hutchinson estimate of the Hessian trace of a training loss (methods/METHODS.md §3.5).

``tr(H) ≈ (1/N_v) Σ_v vᵀHv`` with Rademacher probes ``v ∈ {±1}^d`` (N_v = 10 in the ablation).
``Hv`` comes from double backward of the loss; a loss given as a sum of chunk terms (batches)
gets ``Hv`` as the sum of the chunks' ``Hv``, which is the full-batch ``Hv`` exactly. The
estimate is reported as mean ± std of the single-probe values ``vᵀHv`` across probes; the
standard error of the mean is ``std / sqrt(N_v)``, which for a fixed H is
``sqrt(2 Σ_{i≠j} H_ij² / N_v)`` (the sanity check of §3.5, tests/exact/test_hessian_trace.py).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.func import functional_call

import benchmarks.common.device as devices
from benchmarks.training.engine import Params
from benchmarks.training.retrain_task import RetrainTask

LossTerm = Callable[[Params], torch.Tensor]
SPLITS = ("train", "val")


def rademacher_probes(params: Params, probes: int, seed: int) -> list[Params]:
    """``probes`` Rademacher vectors shaped like ``params``, drawn from a generator seeded with
    ``seed`` (probe by probe, parameter by parameter in dict order)."""
    gen = torch.Generator().manual_seed(seed)
    return [{k: (torch.randint(0, 2, v.shape, generator=gen, dtype=v.dtype, device="cpu") * 2
                 - 1).to(v.device) for k, v in params.items()} for _ in range(probes)]


def hutchinson_samples(loss: LossTerm | Sequence[LossTerm], params: Params, probes: int = 10,
                       seed: int = 0) -> torch.Tensor:
    """Single-probe values ``vᵀHv`` ``(probes,)`` of the Hessian of ``loss`` at ``params``
    (methods/METHODS.md §3.5). ``loss(p) -> scalar``, or a sequence of terms whose sum is the
    loss."""
    terms = [loss] if callable(loss) else list(loss)
    leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    vs = rademacher_probes(params, probes, seed)
    out = torch.zeros(probes, dtype=torch.float64)
    for term in terms:
        grads = torch.autograd.grad(term(leaves), list(leaves.values()), create_graph=True)
        live = [(k, g) for k, g in zip(leaves, grads, strict=True) if g.requires_grad]
        if not live:  # the loss is linear in the parameters: H = 0
            continue
        for i, v in enumerate(vs):
            hv = torch.autograd.grad([g for _, g in live], [leaves[k] for k, _ in live],
                                     grad_outputs=[v[k] for k, _ in live], retain_graph=True,
                                     allow_unused=True)
            out[i] += sum(float((v[k] * h).sum()) for (k, _), h in zip(live, hv, strict=True)
                          if h is not None)
    return out


def hutchinson_trace(loss: LossTerm | Sequence[LossTerm], params: Params, probes: int = 10,
                     seed: int = 0) -> tuple[float, float]:
    """Hutchinson trace estimate (methods/METHODS.md §3.5): ``(mean, std)`` of ``vᵀHv`` across
    ``probes`` Rademacher probes (std with ddof=1; NaN for a single probe)."""
    q = hutchinson_samples(loss, params, probes, seed)
    return float(q.mean()), float(q.std()) if probes > 1 else math.nan


def weighted_loss_terms(template: torch.nn.Module, loss_fn: Callable, X: torch.Tensor,
                        y: torch.Tensor, w: torch.Tensor, chunk: int | None = None
                        ) -> list[LossTerm]:
    """Terms of ``sum_i w_i loss_i`` (the training objective, methods/METHODS.md §0), one per chunk
    of
    ``chunk`` examples (all in one term when None); examples with weight 0 are dropped."""
    keep = w > 0
    X, y, w = X[keep], y[keep], w[keep]
    size = chunk or max(len(w), 1)

    def term(p: Params, lo: int) -> torch.Tensor:
        sl = slice(lo, lo + size)
        return (w[sl] * loss_fn(functional_call(template, p, (X[sl],)), y[sl])).sum()

    return [lambda p, lo=lo: term(p, lo) for lo in range(0, len(w), size)]


def trace_of_trained(task: RetrainTask, params: Params, weights_row: np.ndarray | torch.Tensor,
                     probes: int = 10, seed: int = 0, split: str = "train",
                     chunk: int | None = None) -> tuple[float, float]:
    """Hutchinson ``(mean, std)`` of the Hessian trace of one trained model of ``task``
    (methods/METHODS.md §3.5), in float64.

    ``params``: one model's parameters (``{name: tensor}``, e.g. a row of ``train``'s output);
    ``weights_row``: its training weights, ``task.example_weights(mask[None])[0]``. ``split``
    ``"train"``: the weighted training loss ``sum_i w_i loss_i`` as in training (no weight
    decay: AdamW's is decoupled); ``"val"``: the mean loss on the held-out targets. Computed on
    the configured device.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}. Available: {', '.join(SPLITS)}")
    dev = devices.current()
    problem = task.problem(torch.float64).on(dev)
    template = copy.deepcopy(problem.init(0)).to("meta")
    p64 = {k: torch.as_tensor(v).to(dev, torch.float64) for k, v in params.items()}
    if split == "train":
        X, y = problem.X, problem.y
        w = torch.as_tensor(weights_row, dtype=torch.float64).to(dev)
    else:
        X, y = (t.to(dev) for t in task.targets())
        w = torch.full((len(y),), 1.0 / len(y), dtype=torch.float64, device=dev)
    terms = weighted_loss_terms(template, problem.loss, X, y, w, chunk)
    return hutchinson_trace(terms, p64, probes, seed)
