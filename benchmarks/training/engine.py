"""Training engines: many subset models at once (batched), or one at a time (loop, reference).

A subset is a vector of per-example weights ``w: (n,)`` (zero = excluded; methods/METHODS.md §0), so
the objective of model b is ``sum_i w[b, i] * loss_i``. The batched engine stacks B models'
parameters and trains them together with ``torch.func.functional_call`` + ``vmap``; because AdamW is
elementwise, one optimiser over the stacked tensors is exactly B independent optimisers. Each
model's included examples are gathered into a padded ``(B, n_max)`` index table, so excluded
examples cost nothing beyond padding. The loop engine trains a plain ``nn.Module`` per model and
is the reference both must agree with (tests/exact/test_engine_equivalence.py); it can also
return parameter snapshots along training (``train_with_checkpoints``, for TracIn, §2.4).

Sharpness recipes (``spec.sharpness``, methods/METHODS.md §3.5) change only the gradient handed to
the base optimiser: ``"sam"`` takes it at ``W + rho g/||g||`` (Foret et al. 2021; ``||g||`` over all
of one model's parameters), ``"nso"`` at ``W ± U``, ``U ~ N(0, sigma² I)`` (Zhang, Li, Ju 2024),
averaged over the pair, or at ``W + U`` only with ``nso_one_sided``. The noise of model ``seed``
comes from its own generator (``_noise_generators``), a stream separate from the minibatch one,
one flat draw per step split in ``named_parameters`` order, so both engines draw the same U.
``"none"`` runs the plain ``backward()`` step and draws nothing.

Devices (benchmarks/common/device.py): ``train`` runs where ``device`` (default: the configured one)
says, and returns parameters on the CPU. Everything random is drawn on the CPU from the same
generators whatever the device (initialisation, minibatch positions, NSO noise), so a GPU run
differs from a CPU run only by its arithmetic; on the CPU every ``.to(device)`` is a no-op and
the bits are those of a build without devices. A batched chunk that runs out of device memory
is trained again as two halves (``_halving``), which is what ``--batch B/2`` would train.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

import benchmarks.common.device as devices
from benchmarks.common.spec import TrainSpec, derive_seed

Params = dict[str, torch.Tensor]
ENGINES = ("batched", "loop")
SAM_EPS = 1e-12  # added to ||g|| in SAM's rho / ||g|| (Foret et al.'s implementation)
NOISE_STREAM = "nso-noise"  # derive_seed key of the NSO noise generators


@dataclass
class Problem:
    """What to train: a model factory, training inputs/labels and a per-example loss."""

    make_model: Callable[[], nn.Module]
    X: torch.Tensor
    y: torch.Tensor
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    dtype: torch.dtype = torch.float32
    start: Params | None = None  # a shared initial point (W0): every seed starts here
    loss_form: str = "softmax_ce"  # what ``loss`` is (curvature code uses its closed form)
    _placed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def device(self) -> torch.device:
        return self.X.device

    def on(self, device: torch.device) -> Problem:
        """This problem with its data (and W0) on ``device``: moved once, then reused (a
        problem built partly on another device, e.g. inside a fit's device scope, is moved
        whole)."""
        device = torch.device(device)
        tensors = [self.X, self.y, *(self.start or {}).values()]
        if all(t.device == device for t in tensors):
            return self
        key = str(device)
        if key not in self._placed:
            start = None if self.start is None else {k: v.to(device)
                                                     for k, v in self.start.items()}
            self._placed[key] = replace(self, X=self.X.to(device), y=self.y.to(device),
                                        start=start)
        return self._placed[key]

    def init(self, seed: int) -> nn.Module:
        """The model a training run of ``seed`` starts from, on this problem's device:
        freshly initialised (its parameters depend only on ``seed``, drawn on the CPU), or
        ``start`` for every seed (fine-tuning; the seed then decides only minibatches and
        noise). Both engines start here."""
        with torch.random.fork_rng(devices=[]), torch.device("cpu"):
            torch.manual_seed(seed)
            model = self.make_model().to(self.dtype)
        if self.start is not None:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    p.copy_(self.start[name])
        return model.to(self.device)


def train(problem: Problem, weights: torch.Tensor, seeds: list[int], spec: TrainSpec,
          engine: str = "batched", device: torch.device | None = None) -> Params:
    """Train ``len(seeds)`` models on ``device`` (default: ``device.current()``);
    ``weights: (B, n)``. Returns ``{name: (B, ...)}`` on the CPU."""
    return _train(problem, weights, seeds, spec, engine, device)


def train_at(problem: Problem, weights: torch.Tensor, seeds: list[int], spec: TrainSpec,
             steps_at: Sequence[int], engine: str = "batched") -> list[Params]:
    """``train`` once to the last of ``steps_at`` (strictly increasing, ≥ 1), returning the
    parameters after each: ``[{name: (B, ...)}]`` on the CPU, one per length. Each equals
    ``train`` with ``spec.steps`` set to that length, bit for bit: a step's arithmetic never
    depends on how many follow (constant learning rate, minibatch and noise streams drawn step
    by step). Cells that differ only in training length share one training this way
    (``groundtruth/prefix.py``)."""
    steps_at = [int(s) for s in steps_at]
    if not steps_at or steps_at != sorted(set(steps_at)) or steps_at[0] < 1:
        raise ValueError(f"steps_at must be strictly increasing step counts ≥ 1, got {steps_at}")
    return _train(problem, weights, seeds, replace(spec, steps=steps_at[-1]), engine, None,
                  tuple(steps_at))


def _train(problem: Problem, weights: torch.Tensor, seeds: list[int], spec: TrainSpec,
           engine: str, device: torch.device | None, steps_at: tuple[int, ...] = ()
           ) -> Params | list[Params]:
    """What ``train`` and ``train_at`` share: the checks, the placement, the out-of-memory
    halving and the copy back to the CPU (one ``Params``, or one per ``steps_at``)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}. Available: {', '.join(ENGINES)}")
    if weights.shape != (len(seeds), problem.X.shape[0]):
        raise ValueError(f"weights must be (B={len(seeds)}, n={problem.X.shape[0]}), "
                         f"got {tuple(weights.shape)}")
    placed = problem.on(devices.current() if device is None else device)
    fn = train_batched if engine == "batched" else train_loop
    fn = functools.partial(fn, steps_at=steps_at) if steps_at else fn
    out = _halving(fn, placed, weights.to(problem.dtype).cpu(), seeds, spec)
    snaps = [{k: v.cpu() for k, v in snap.items()} for snap in (out if steps_at else [out])]
    return snaps if steps_at else snaps[0]


def _halving(fn: Callable[..., Params | list[Params]], problem: Problem, weights: torch.Tensor,
             seeds: list[int], spec: TrainSpec) -> Params | list[Params]:
    """``fn(problem, weights, seeds, spec)``; on device out-of-memory, the two halves of the
    models separately (recursively, down to one model, which re-raises)."""
    try:
        return fn(problem, weights, seeds, spec)
    except Exception as err:
        if not devices.is_oom(err) or len(seeds) == 1:
            raise
    devices.empty_cache(problem.device)
    half = len(seeds) // 2
    warnings.warn(f"out of memory on {problem.device} training {len(seeds)} models at once; "
                  f"retrying as {half} + {len(seeds) - half}", RuntimeWarning, stacklevel=3)
    a = _halving(fn, problem, weights[:half], seeds[:half], spec)
    b = _halving(fn, problem, weights[half:], seeds[half:], spec)
    if isinstance(a, list):
        return [{k: torch.cat([x[k], y[k]]) for k in x} for x, y in zip(a, b, strict=True)]
    return {k: torch.cat([a[k], b[k]]) for k in a}


def make_optimizer(params: list[torch.Tensor], spec: TrainSpec) -> torch.optim.Optimizer:
    if spec.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay,
                                 betas=spec.betas)
    return torch.optim.SGD(params, lr=spec.lr, weight_decay=spec.weight_decay)


def minibatch(w: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """Positions of one minibatch, drawn with replacement with probability proportional to w."""
    return torch.multinomial(w.double(), size, replacement=True, generator=gen)


def _generators(seeds: list[int]) -> list[torch.Generator]:
    return [torch.Generator().manual_seed((s + 1) % 2**63) for s in seeds]


def _noise_generators(seeds: list[int]) -> list[torch.Generator]:
    """NSO noise streams, one per model, independent of the minibatch ones (``_generators``)."""
    return [torch.Generator().manual_seed(derive_seed(NOISE_STREAM, s)) for s in seeds]


def _draw_noise(shapes: Sequence[torch.Size], gens: Sequence[torch.Generator], sigma: float,
                dtype: torch.dtype, device: torch.device = devices.CPU) -> list[torch.Tensor]:
    """``U ~ N(0, sigma² I)`` for each generator's model: one flat draw per model (on the
    CPU), split into its parameters in order. Returns one ``(len(gens), *shape)`` tensor per
    parameter, on ``device``."""
    sizes = [math.prod(s) for s in shapes]
    flat = sigma * torch.stack([torch.randn(sum(sizes), generator=g, dtype=dtype, device="cpu")
                                for g in gens]).to(device)
    return [t.reshape(len(gens), *s) for t, s in zip(flat.split(sizes, 1), shapes, strict=True)]


def _pair_mean(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [(x + y) / 2 for x, y in zip(a, b, strict=True)]


def _set_grads_and_step(opt: torch.optim.Optimizer, params: Sequence[torch.Tensor],
                        grads: Sequence[torch.Tensor]) -> None:
    opt.zero_grad(set_to_none=True)
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    opt.step()


def pack(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather table of included examples: ``idx, w: (B, n_max)``, padded with weight 0."""
    counts = (weights > 0).sum(1)
    n_max = int(counts.max())
    order = torch.argsort((weights <= 0).to(torch.int8), dim=1, stable=True)[:, :n_max]
    return order, torch.gather(weights, 1, order)


def train_batched(problem: Problem, weights: torch.Tensor, seeds: list[int],
                  spec: TrainSpec, steps_at: tuple[int, ...] = ()) -> Params | list[Params]:
    """Train B models at once with vmap over stacked parameters, on ``problem.device``
    (``weights`` on the CPU, where the minibatches are drawn); with ``steps_at``, the
    parameters after each of those steps instead of the final ones."""
    dev = problem.device
    template = copy.deepcopy(problem.init(0)).to("meta")
    params, _ = stack_module_state([problem.init(s) for s in seeds])
    params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    idx, w = pack(weights)
    Xb, yb = problem.X[idx.to(dev)], problem.y[idx.to(dev)]
    w_dev = w.to(dev)

    def model_loss(p: Params, x: torch.Tensor, y: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:
        return (wt * problem.loss(functional_call(template, p, (x,)), y)).sum()

    batched_loss = vmap(model_loss)

    def total_loss(p: Params, x: torch.Tensor, y: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:
        return batched_loss(p, x, y, wt).sum()

    opt = make_optimizer(list(params.values()), spec)
    gens = _generators(seeds) if spec.batch_size else None
    noise = _noise_generators(seeds) if spec.sharpness == "nso" else None
    rows = torch.arange(len(seeds), device=dev)[:, None]
    snaps: list[Params] = []
    for step in range(1, spec.steps + 1):
        if gens is None:
            x, y, wt = Xb, yb, w_dev
        else:
            pos = torch.stack([minibatch(w[b], spec.batch_size, g)
                               for b, g in enumerate(gens)]).to(dev)
            x, y = Xb[rows, pos], yb[rows, pos]
            wt = torch.full(pos.shape, 1.0 / spec.batch_size, dtype=w.dtype, device=dev)
        loss_of = functools.partial(total_loss, x=x, y=y, wt=wt)
        if spec.sharpness == "none":
            opt.zero_grad(set_to_none=True)
            loss_of(params).backward()
            opt.step()
        else:
            grads = sharpness_grad_batched(loss_of, params, spec, noise)
            _set_grads_and_step(opt, list(params.values()), grads)
        if step in steps_at:
            snaps.append({k: v.detach().clone() for k, v in params.items()})
    return snaps if steps_at else {k: v.detach() for k, v in params.items()}


def sharpness_grad_batched(loss_of: Callable[[Params], torch.Tensor], params: Params,
                           spec: TrainSpec, noise: list[torch.Generator] | None
                           ) -> list[torch.Tensor]:
    """SAM / NSO gradient of B stacked models (methods/METHODS.md §3.5): ``loss_of(p)`` is the sum
    of the B models' losses, so its gradient at a shifted point is each model's own gradient there;
    shifts (SAM's per-model ``rho g/||g||``, NSO's per-model noise) act on each model's slice."""
    leaves = list(params.values())

    def grad_at(shift: Sequence[torch.Tensor], sign: float = 1.0) -> tuple[torch.Tensor, ...]:
        moved = {k: v + sign * d for (k, v), d in zip(params.items(), shift, strict=True)}
        return torch.autograd.grad(loss_of(moved), leaves)

    if spec.sharpness == "sam":
        g = torch.autograd.grad(loss_of(params), leaves)
        norm = torch.stack([t.flatten(1).pow(2).sum(1) for t in g]).sum(0).sqrt()
        scale = spec.sam_rho / (norm + SAM_EPS)
        return list(grad_at([t * scale.view(-1, *[1] * (t.dim() - 1)) for t in g]))
    u = _draw_noise([v.shape[1:] for v in leaves], noise, spec.nso_sigma, leaves[0].dtype,
                    leaves[0].device)
    g_plus = grad_at(u)
    return list(g_plus) if spec.nso_one_sided else _pair_mean(g_plus, grad_at(u, -1.0))


def train_loop(problem: Problem, weights: torch.Tensor, seeds: list[int],
               spec: TrainSpec, steps_at: tuple[int, ...] = ()) -> Params | list[Params]:
    """Reference engine: one plain ``nn.Module`` at a time, same objective and optimiser (with
    ``steps_at``, the parameters after each of those steps, as ``train_batched``)."""
    if not steps_at:
        out = [_train_one(problem, weights[b], seed, spec)[0] for b, seed in enumerate(seeds)]
        return {k: torch.stack([p[k] for p in out]) for k in out[0]}
    runs = [_train_one(problem, weights[b], seed, spec, steps_at)[1]
            for b, seed in enumerate(seeds)]  # runs[b][c]: model b after steps_at[c]
    return [{k: torch.stack([run[c][k] for run in runs]) for k in runs[0][c]}
            for c in range(len(steps_at))]


def train_with_checkpoints(problem: Problem, weights_row: torch.Tensor, seed: int,
                           spec: TrainSpec, steps_at: Sequence[int]) -> list[Params]:
    """Loop-engine training of one model, returning its parameters after each of ``steps_at``
    optimiser steps (strictly increasing, in ``[0, spec.steps]``; 0 = the initialisation).

    Training always runs all ``spec.steps``, exactly as ``train(..., "loop")``, so a snapshot at
    ``spec.steps`` is bit-identical to the model that returns. Runs on the configured device;
    the snapshots come back on the CPU.
    """
    steps_at = [int(s) for s in steps_at]
    if steps_at != sorted(set(steps_at)) or not all(0 <= s <= spec.steps for s in steps_at):
        raise ValueError(f"steps_at must be strictly increasing in [0, {spec.steps}], "
                         f"got {steps_at}")
    placed = problem.on(devices.current())
    snaps = _train_one(placed, weights_row.to(problem.dtype).cpu(), seed, spec, steps_at)[1]
    return [{k: v.cpu() for k, v in snap.items()} for snap in snaps]


def lr_at(spec: TrainSpec, step: int) -> float:
    """Learning rate of optimiser step ``step`` (1-based); constant: there is no schedule."""
    return spec.lr


def interval_lrs(spec: TrainSpec, steps_at: Sequence[int]) -> list[float]:
    """Mean learning rate over each interval ``(steps_at[c-1], steps_at[c]]`` (from step 0)."""
    out, prev = [], 0
    for s in steps_at:
        rates = [lr_at(spec, t) for t in range(prev + 1, s + 1)] or [lr_at(spec, max(s, 1))]
        out.append(rates[0] if len(set(rates)) == 1 else sum(rates) / len(rates))
        prev = s
    return out


def _snapshot(model: nn.Module) -> Params:
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def _weighted_loss(problem: Problem, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   wt: torch.Tensor) -> torch.Tensor:
    return (wt * problem.loss(model(x), y)).sum()


def _train_one(problem: Problem, w_row: torch.Tensor, seed: int, spec: TrainSpec,
               steps_at: Sequence[int] = ()) -> tuple[Params, list[Params]]:
    """The loop body: final parameters and snapshots after each of ``steps_at`` steps, on
    ``problem.device`` (``w_row`` on the CPU, where the minibatches are drawn), on one torch
    thread whatever the caller's count (``device.torch_threads``)."""
    with devices.torch_threads(1):
        return _train_one_here(problem, w_row, seed, spec, steps_at)


def _train_one_here(problem: Problem, w_row: torch.Tensor, seed: int, spec: TrainSpec,
                    steps_at: Sequence[int]) -> tuple[Params, list[Params]]:
    dev = problem.device
    model = problem.init(seed)
    opt = make_optimizer(list(model.parameters()), spec)
    keep = w_row > 0
    X, y, w = problem.X[keep.to(dev)], problem.y[keep.to(dev)], w_row[keep]
    w_dev = w.to(dev)
    gen = _generators([seed])[0] if spec.batch_size else None
    noise = _noise_generators([seed])[0] if spec.sharpness == "nso" else None
    want = set(steps_at)
    snaps = [_snapshot(model)] if 0 in want else []
    for step in range(1, spec.steps + 1):
        if gen is None:
            x, yy, wt = X, y, w_dev
        else:
            pos = minibatch(w, spec.batch_size, gen).to(dev)
            x, yy = X[pos], y[pos]
            wt = torch.full((spec.batch_size,), 1.0 / spec.batch_size, dtype=w.dtype, device=dev)
        loss_of = functools.partial(_weighted_loss, problem, model, x, yy, wt)
        if spec.sharpness == "none":
            opt.zero_grad(set_to_none=True)
            loss_of().backward()
            opt.step()
        else:
            params = list(model.parameters())
            _set_grads_and_step(opt, params, sharpness_grad_loop(loss_of, params, spec, noise))
        if step in want:
            snaps.append(_snapshot(model))
    return _snapshot(model), snaps


@contextmanager
def _shifted(params: Sequence[torch.Tensor], shift: Sequence[torch.Tensor],
             sign: float = 1.0) -> Iterator[None]:
    """Move a module's parameters in place to ``W + sign * shift``; restore W exactly after."""
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, d in zip(params, shift, strict=True):
            p.add_(d, alpha=sign)
    try:
        yield
    finally:
        with torch.no_grad():
            for p, w in zip(params, saved, strict=True):
                p.copy_(w)


def sharpness_grad_loop(loss_of: Callable[[], torch.Tensor], params: list[torch.Tensor],
                        spec: TrainSpec, noise: torch.Generator | None) -> list[torch.Tensor]:
    """SAM / NSO gradient of one plain module (methods/METHODS.md §3.5): perturb its parameters in
    place, take the gradient of ``loss_of()`` there, restore them."""

    def grad_at(shift: Sequence[torch.Tensor], sign: float = 1.0) -> tuple[torch.Tensor, ...]:
        with _shifted(params, shift, sign):
            return torch.autograd.grad(loss_of(), params)

    if spec.sharpness == "sam":
        g = torch.autograd.grad(loss_of(), params)
        norm = torch.stack([t.pow(2).sum() for t in g]).sum().sqrt()
        scale = spec.sam_rho / (norm + SAM_EPS)
        return list(grad_at([t * scale for t in g]))
    u = [t[0] for t in _draw_noise([p.shape for p in params], [noise], spec.nso_sigma,
                                   params[0].dtype, params[0].device)]
    g_plus = grad_at(u)
    return list(g_plus) if spec.nso_one_sided else _pair_mean(g_plus, grad_at(u, -1.0))


def passes_per_step(spec: TrainSpec) -> int:
    """Forward + backward passes one optimiser step makes: SAM's gradient at W and at the
    ascent point, NSO's at W + U and W - U (one with ``nso_one_sided``), else one."""
    if spec.sharpness == "sam":
        return 2
    if spec.sharpness == "nso":
        return 1 if spec.nso_one_sided else 2
    return 1


def train_flops(problem: Problem, weights: torch.Tensor, steps: int, batch_size: int = 0,
                passes: int = 1) -> float:
    """Floating-point work of training ``weights: (B, n)`` models for ``steps`` steps of
    ``passes`` forward + backward passes (``passes_per_step``): the matmul FLOPs of one
    example's pass, counted by torch's ``FlopCounterMode`` on the real model (attention and
    every token included), times the example passes (a step sees every included example, or
    ``batch_size`` of them)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = problem.init(0)
    with FlopCounterMode(display=False) as counter:
        problem.loss(model(problem.X[:1]), problem.y[:1]).sum().backward()
    included = (weights > 0).sum(1).double()
    per_step = included.clamp(max=batch_size) if batch_size else included
    return float(counter.get_total_flops()) * float(per_step.sum()) * steps * passes


def batched_forward(problem: Problem, params: Params, X: torch.Tensor) -> torch.Tensor:
    """Outputs of B stacked models on shared inputs: ``(B, n, ...)``, computed on the
    configured device and returned on the inputs' device."""
    dev = devices.current()
    template = copy.deepcopy(problem.init(0)).to("meta")
    placed = {k: v.to(dev) for k, v in params.items()}
    with torch.no_grad():
        return vmap(lambda p: functional_call(template, p, (X.to(dev),)))(placed).to(X.device)
