"""EK-FAC curvature for influence functions (METHODS.md §2.2, solver 5: George et al. 2018,
Grosse et al. 2023; implementation details after kronfluence).

The Gauss-Newton matrix ``G = sum_i w_i J_iᵀ Λ_i J_i`` of the weighted training objective (the one
the other influence solvers use) is approximated block-diagonally, one block per ``nn.Linear``.
For a layer with inputs ``a`` (a 1 appended for the bias) and pre-activation pseudo-gradients
``Ds``: ``A = E[a aᵀ] = Q_A Λ_A Q_Aᵀ``, ``S = E[Ds Dsᵀ] = Q_S Λ_S Q_Sᵀ`` and the fitted eigenvalues
``Λ*[o, i] = E[(Q_Sᵀ DW Q_A)[o, i]²]``, so the block is ``(Q_S ⊗ Q_A) diag(Λ*) (Q_S ⊗ Q_A)ᵀ`` and
the preconditioner is ``V -> Q_S ((Q_Sᵀ V Q_A) ⊘ (Λ* + λ)) Q_Aᵀ`` (K-FAC: ``Λ_S ⊗ Λ_A``).

* Expectations are sums weighted by the training weights w (full-set weights sum to 1: the mean
  loss), so ``Λ*`` is on the scale of G and an absolute λ means what it means for the other
  solvers. Sequence inputs ``(n, t, d_in)`` give ``DW_i = sum_t Ds_t a_tᵀ``.
* Pseudo-gradients (§2.2.5: the true Fisher / GGN, not the data labels): ``Λ_i = B_i B_iᵀ`` with
  ``B_i`` from ``sqrt(logits)``; softmax CE: ``B = diag(√p) − p √pᵀ``, column j is
  ``√p_j (e_j − p)``.
  ``mode="exact"`` backpropagates every column of ``B_i`` (c backward passes, the expectation over
  sampled labels computed exactly); ``mode="sample"`` draws one label per example from the
  predictive distribution with a seeded generator (``B_i ε``, ε ~ N(0, I), for other ``sqrt``).
* Coverage: ``nn.Linear`` layers only (as kronfluence). Embeddings, LayerNorm and free parameters
  get a zero preconditioned gradient, i.e. they are excluded from the score; ``EKFAC.state``
  records how many parameters are covered.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vjp, vmap

Sqrt = Callable[[torch.Tensor], torch.Tensor]  # logits (N, c) -> B (N, c, r), B Bᵀ = Λ
MODES = ("exact", "sample")
HEURISTIC_FACTOR = 0.1  # kronfluence: λ = 0.1 · mean(Λ*) per layer


def softmax_ce_sqrt(logits: torch.Tensor) -> torch.Tensor:
    """``B (N, c, c)`` with ``B Bᵀ = diag(p) − p pᵀ``, the softmax-CE Hessian in the logits."""
    p = torch.softmax(logits, -1)
    s = p.sqrt()
    return torch.diag_embed(s) - p[:, :, None] * s[:, None, :]


def identity_sqrt(logits: torch.Tensor) -> torch.Tensor:
    """``Λ = I``: the squared loss ``0.5 ||f − y||²``."""
    n, c = logits.shape
    return torch.eye(c, dtype=logits.dtype).expand(n, c, c)


def is_softmax_ce(loss: Callable, logits: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether ``loss(logits, y)`` is the per-example softmax cross-entropy (numerically)."""
    if y.is_floating_point() or logits.ndim != 2:
        return False
    with torch.no_grad():
        return torch.allclose(loss(logits, y), F.cross_entropy(logits, y, reduction="none"))


@dataclass
class LayerFactors:
    """One ``nn.Linear`` block: flat-vector slices, factors, fitted eigenvalues ``lam (o, i)``."""

    name: str
    weight: slice
    bias: slice | None
    shape: tuple[int, int]  # (d_out, d_in), without the bias column
    A: torch.Tensor | None = None
    S: torch.Tensor | None = None
    eig_a: torch.Tensor | None = None
    eig_s: torch.Tensor | None = None
    q_a: torch.Tensor | None = None
    q_s: torch.Tensor | None = None
    lam: torch.Tensor | None = None
    tokens: float = 0.0

    def eigenvalues(self, kfac: bool = False) -> torch.Tensor:
        """EK-FAC ``Λ*`` or, with ``kfac``, the Kronecker eigenvalues ``Λ_S ⊗ Λ_A``."""
        return torch.outer(self.eig_s, self.eig_a) if kfac else self.lam


@dataclass
class EKFAC:
    """Fitted factors of all covered layers; ``d`` = total number of parameters."""

    layers: list[LayerFactors]
    d: int
    mode: str = "exact"

    @property
    def covered(self) -> int:
        return sum(L.shape[0] * (L.shape[1] + (L.bias is not None)) for L in self.layers)

    def state(self) -> dict:
        """JSON-friendly summary (covered vs total parameters, per-layer mean Λ*)."""
        return {"ekfac_mode": self.mode, "ekfac_covered_params": self.covered,
                "ekfac_total_params": self.d,
                "ekfac_layers": [L.name or "<root>" for L in self.layers],
                "ekfac_mean_eigenvalue": [float(L.lam.mean()) for L in self.layers]}


def linear_blocks(module: nn.Module, params: dict[str, torch.Tensor]) -> list[LayerFactors]:
    """The ``nn.Linear`` layers of ``module`` and their slices of the flat vector (``params``
    order, as ``task_gradients`` flattens)."""
    slices, pos = {}, 0
    for k, v in params.items():
        slices[k] = slice(pos, pos + v.numel())
        pos += v.numel()
    out = []
    for name, m in module.named_modules():
        if isinstance(m, nn.Linear):
            pre = f"{name}." if name else ""
            bias = slices[pre + "bias"] if m.bias is not None else None
            out.append(LayerFactors(name, slices[pre + "weight"], bias, tuple(m.weight.shape)))
    return out


@contextlib.contextmanager
def _hooks(module: nn.Module, names: list[str], hook: Callable) -> Iterator[None]:
    mods = dict(module.named_modules())
    handles = [mods[n].register_forward_hook(functools.partial(hook, n)) for n in names]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _layer_io(module: nn.Module, params: dict, X: torch.Tensor, names: list[str]):
    """One forward: logits, layer inputs ``(N, T, d_in)`` and output shapes."""
    acts, shapes = {}, {}

    def hook(name, _m, inp, out):
        if name in acts:
            raise ValueError(f"layer {name!r} runs twice per forward; EK-FAC needs one call")
        x = inp[0].detach()
        acts[name] = x.reshape(x.shape[0], -1, x.shape[-1])
        shapes[name] = out.shape

    with _hooks(module, names, hook), torch.no_grad():
        logits = functional_call(module, params, (X,))
    return logits, acts, shapes


def _pseudo_grads(module: nn.Module, params: dict, X: torch.Tensor, names: list[str],
                  shapes: dict, B: torch.Tensor) -> dict[str, torch.Tensor]:
    """``Ds (r, N, T, d_out)``: each column of ``B (N, c, r)`` pulled back to every layer's
    output (vjp against zero probes added to the outputs, vmapped over the r columns)."""
    probes: dict = {}

    def hook(name, _m, _inp, out):
        return out + probes[name]

    def logits(eps: dict) -> torch.Tensor:
        probes.update(eps)
        return functional_call(module, params, (X,))

    zeros = {n: torch.zeros(shapes[n], dtype=B.dtype) for n in names}
    with _hooks(module, names, hook):
        _, pull = vjp(logits, zeros)
    probes.clear()  # the backward graph holds what it needs
    ds = vmap(pull, in_dims=2)(B)[0]
    return {n: g.reshape(g.shape[0], X.shape[0], -1, g.shape[-1]) for n, g in ds.items()}


def _directions(logits: torch.Tensor, sqrt: Sqrt, mode: str, gen: torch.Generator):
    """``B (N, c, r)``: all columns of ``Λ_i^{1/2}`` (exact) or one sampled direction."""
    if mode == "exact":
        return sqrt(logits)
    if sqrt is softmax_ce_sqrt:
        p = torch.softmax(logits, -1)
        y = torch.multinomial(p, 1, generator=gen)[:, 0]
        return (p - F.one_hot(y, p.shape[-1]).to(p.dtype))[:, :, None]
    B = sqrt(logits)
    eps = torch.randn(B.shape[0], B.shape[2], 1, generator=gen, dtype=B.dtype,
                      device="cpu").to(B.device)
    return B @ eps


def _augment(a: torch.Tensor, bias: bool) -> torch.Tensor:
    return torch.cat([a, torch.ones_like(a[..., :1])], -1) if bias else a


def _add_covariances(layers: list[LayerFactors], acts: dict, ds: dict, w: torch.Tensor) -> None:
    for L in layers:
        a, g = _augment(acts[L.name], L.bias is not None), ds[L.name]
        A = torch.einsum("n,nti,ntj->ij", w, a, a)
        S = torch.einsum("n,rnto,rntp->op", w, g, g)
        L.A = A if L.A is None else L.A + A
        L.S = S if L.S is None else L.S + S
        L.tokens += float(w.sum()) * a.shape[1]


def _eigendecompose(layers: list[LayerFactors]) -> None:
    """``A`` becomes a per-token mean (K-FAC scale); ``S`` stays a weighted sum."""
    for L in layers:
        L.eig_a, L.q_a = torch.linalg.eigh(L.A / L.tokens)
        L.eig_s, L.q_s = torch.linalg.eigh(L.S)
        L.lam = torch.zeros(L.q_s.shape[0], L.q_a.shape[0], dtype=L.q_a.dtype)


def _add_eigenvalues(layers: list[LayerFactors], acts: dict, ds: dict, w: torch.Tensor) -> None:
    """``Λ* += sum_i w_i sum_r (Q_Sᵀ DW_ir Q_A)²`` (no d_out x d_in outer products when T = 1)."""
    for L in layers:
        a = _augment(acts[L.name], L.bias is not None) @ L.q_a
        g = ds[L.name] @ L.q_s
        if a.shape[1] == 1:
            L.lam += torch.einsum("n,rno,ni->oi", w, g[:, :, 0] ** 2, a[:, 0] ** 2)
            continue
        for g_r in g:
            L.lam += torch.einsum("n,noi->oi", w, torch.einsum("nto,nti->noi", g_r, a) ** 2)


def fit_ekfac(module: nn.Module, params: dict[str, torch.Tensor], X: torch.Tensor,
              w: torch.Tensor, sqrt: Sqrt = softmax_ce_sqrt, mode: str = "exact",
              seed: int = 0, chunk: int | None = None) -> EKFAC:
    """EK-FAC factors of ``sum_i w_i loss_i`` at ``params`` (use float64 throughout).

    Two passes over chunks of examples: covariances, then (in their eigenbases) ``Λ*``; "sample"
    mode reuses the same sampled labels in both passes.
    """
    if mode not in MODES:
        raise ValueError(f"unknown EK-FAC mode {mode!r}. Available: {', '.join(MODES)}")
    layers = linear_blocks(module, params)
    names = [L.name for L in layers]
    for step in (_add_covariances, _add_eigenvalues):
        gen = torch.Generator().manual_seed(seed)
        for lo, hi in _chunks(module, params, X, sqrt, mode, chunk):
            Xc = X[lo:hi]
            logits, acts, shapes = _layer_io(module, params, Xc, names)
            B = _directions(logits, sqrt, mode, gen)
            step(layers, acts, _pseudo_grads(module, params, Xc, names, shapes, B), w[lo:hi])
        if step is _add_covariances:
            _eigendecompose(layers)
    return EKFAC(layers, sum(p.numel() for p in params.values()), mode)


def _chunks(module: nn.Module, params: dict, X: torch.Tensor, sqrt: Sqrt, mode: str,
            chunk: int | None) -> list[tuple[int, int]]:
    """Example ranges; by default about 16k (example, direction) pairs per chunk."""
    if chunk is None:
        with torch.no_grad():
            c = functional_call(module, params, (X[:1],)).shape[-1]
        chunk = max(1, 16384 // (c if mode == "exact" else 1))
    return [(lo, min(lo + chunk, X.shape[0])) for lo in range(0, X.shape[0], chunk)]


def layer_damping(L: LayerFactors, damping: float | str, kfac: bool = False) -> float:
    """Absolute λ, or ``"heuristic"``: ``0.1 · mean(Λ*)`` of the layer (kronfluence)."""
    if damping == "heuristic":
        return HEURISTIC_FACTOR * float(L.eigenvalues(kfac).mean())
    return float(damping)


def precondition(fac: EKFAC, V: torch.Tensor, damping: float | str = "heuristic",
                 kfac: bool = False) -> torch.Tensor:
    """``V (m, d)`` flat gradients -> ``Q_S((Q_Sᵀ V Q_A) ⊘ (Λ* + λ))Q_Aᵀ`` per covered layer;
    parameters outside ``nn.Linear`` layers get 0 (excluded from the score)."""
    out = torch.zeros_like(V)
    m = V.shape[0]
    for L in fac.layers:
        o, i = L.shape
        W = V[:, L.weight].reshape(m, o, i)
        if L.bias is not None:
            W = torch.cat([W, V[:, L.bias].reshape(m, o, 1)], -1)
        R = (L.q_s.T @ W @ L.q_a) / (L.eigenvalues(kfac) + layer_damping(L, damping, kfac))
        P = L.q_s @ R @ L.q_a.T
        out[:, L.weight] = P[..., :i].reshape(m, -1)
        if L.bias is not None:
            out[:, L.bias] = P[..., i]
    return out
