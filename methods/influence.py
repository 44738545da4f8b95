"""Influence functions (Koh & Liang 2017; METHODS.md §2.2) at task level.

``a_k = -grad phi_tᵀ (H + damping I)^-1 (sum_{i in T_k} w_i g_i)`` at the full-set model, with
H the curvature of the full-set training objective ``sum_i w_i loss_i`` (w = the training weights
of the full set, so the objective is the mean loss): ``hessian="ggn"`` (default) the Gauss-Newton
matrix ``sum_i w_i J_iᵀ Λ_i J_i``, positive semi-definite by construction (§2.2.4), or
``"exact"`` the true Hessian, which is indefinite away from a minimum. Including unit k is a step
of +1 in its weight, so the score is the up-weighting derivative itself (§2.2, sign convention
§0). Solvers: ``exact`` (matrix from HVPs, Cholesky), ``cg`` (conjugate gradient on HVPs),
``lissa`` (the recursion on full-batch HVPs; fixed point (H + scale*damping I)^-1), ``ekfac``
(§2.2.5, methods/_common/ekfac.py: block-diagonal EK-FAC of the same weighted GGN over the
``nn.Linear`` layers; pseudo-gradients exact in expectation; ``damping`` is the absolute λ added to
the fitted eigenvalues Λ*; parameters outside Linear layers, e.g. embeddings, are left out of
the score and the fitted state records the covered share).

Self-influence (``Fitted.self_influence``, §3.7): ``a_kk = -u_kᵀ (H + damping I)^-1 u_k`` for the
unit gradient ``u_k``, solved with the same solver when ``K·d <= SELF_INFLUENCE_MAX`` (CG and
LiSSA only on tasks with flipped labels, where ``mislabel_auc`` reads it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import functional_call, grad, jvp, vjp, vmap

from benchmarks.api.context import Context
from benchmarks.api.method import SOFTMAX_CE, Fitted
from benchmarks.api.registry import register_method
from benchmarks.common.spec import SpecError, param
from benchmarks.oracles import memo
from benchmarks.training.grads import flat_dim
from methods._common.ekfac import EKFAC, fit_ekfac, is_softmax_ce, precondition
from methods._common.groups import GroupContributions, ParamGroups
from methods._common.ihvp import power_iteration, solve_cg, solve_exact, solve_lissa
from methods._common.taskgrads import (
    GradientMethod,
    TaskGradients,
    additive_fitted,
    task_gradients,
)

SOLVERS = ("exact", "cg", "lissa", "ekfac")
SELF_INFLUENCE_MAX = 2 * 10**7  # K·d entries of the extra right-hand sides (160 MB in float64)
EXACT_MAX_D = 30_000  # the exact solver's dense d x d float64 curvature: 7.2 GB at this d


def dense_curvature(model, params: dict[str, torch.Tensor], kind: str = "ggn") -> torch.Tensor:
    """The ``(d, d)`` curvature ``H V`` at ``V = I`` of the weighted training loss at
    ``params``, built once per cell and model (``oracles.memo``): the exact IF, its
    parameter-weighted variant and the weight grid of one cell solve with the same H, which
    costs d Hessian-vector products."""
    def build() -> torch.Tensor:
        hvp, d = make_hvp(model, params, kind)
        return hvp(torch.eye(d, dtype=torch.float64))

    key = (memo.digest(model, params), "dense_curvature", kind, model.problem.loss,
           model.problem.loss_form)
    return memo.shared(key, build)[0]


def make_hvp(model, params: dict[str, torch.Tensor], kind: str = "ggn", chunk: int = 128):
    """``V (d, c) -> H V`` for the weighted training loss (Hessian or Gauss-Newton)."""
    names = [k for k in params]
    shapes = [params[k].shape for k in names]
    sizes = [params[k].numel() for k in names]
    theta = torch.cat([params[k].reshape(-1) for k in names])
    (X, _), y = model.inputs(), model.problem.y
    w = torch.as_tensor(model.weights, dtype=torch.float64)
    module = model.module.double()

    def logits(flat: torch.Tensor) -> torch.Tensor:
        p = {k: t.view(s) for k, t, s in zip(names, flat.split(sizes), shapes, strict=True)}
        return functional_call(module, p, (X,))

    def loss(flat: torch.Tensor) -> torch.Tensor:
        return (w * model.problem.loss(logits(flat), y)).sum()

    def hv(v: torch.Tensor) -> torch.Tensor:
        return jvp(grad(loss), (theta,), (v,))[1]

    out, pull = vjp(logits, theta)
    lam = output_hessian(model.problem, out.detach(), y, w)

    def gv(v: torch.Tensor) -> torch.Tensor:
        return pull(lam(jvp(logits, (theta,), (v,))[1]))[0]

    batched = vmap(gv if kind == "ggn" else hv, in_dims=1, out_dims=1)

    def hvp(V: torch.Tensor) -> torch.Tensor:
        return torch.cat([batched(V[:, i:i + chunk]) for i in range(0, V.shape[1], chunk)], 1)

    return hvp, theta.numel()


def output_hessian(problem, out: torch.Tensor, y: torch.Tensor, w: torch.Tensor):
    """``u (n, c) -> w_i Λ_i u_i``, Λ_i the loss's Hessian in the model output: the softmax
    cross-entropy's closed form ``diag(p) - p pᵀ``, any other loss's through autograd."""
    if problem.loss_form == "softmax_ce":
        prob = torch.softmax(out, -1)
        return lambda u: w[:, None] * (prob * u - prob * (prob * u).sum(-1, keepdim=True))

    def weighted(o: torch.Tensor) -> torch.Tensor:
        return (w * problem.loss(o, y)).sum()

    return lambda u: jvp(grad(weighted), (out,), (u,))[1]


@register_method("influence")
@dataclass(frozen=True)
class Influence(GradientMethod):
    """Task-level influence functions with an exact, CG, LiSSA or EK-FAC inverse-curvature."""

    weightable = True  # group_contributions below

    solver: str = param("exact", "inverse-curvature solver: dense Cholesky, conjugate gradient, "
                        "LiSSA recursion or block-diagonal EK-FAC", choices=SOLVERS)
    hessian: str = param("ggn", "curvature H: Gauss-Newton (PSD) or the exact Hessian",
                         choices=("ggn", "exact"))
    damping: float = param(1e-3, "λ added to the curvature, (H + λI)^-1 (absolute)", gt=0)
    cg_iters: int = param(100, "conjugate-gradient iterations (solver cg)", ge=1)
    lissa_depth: int = param(1000, "LiSSA recursion steps (solver lissa)", ge=1)
    tiny = {"cg_iters": 10, "lissa_depth": 20}

    @property
    def loss_forms(self) -> frozenset[str] | None:
        """EK-FAC's factors are the softmax cross-entropy's; the Gauss-Newton form and the
        exact Hessian are any loss's."""
        return SOFTMAX_CE if self.solver == "ekfac" else None

    def validate(self) -> None:
        super().validate()
        if self.solver == "ekfac" and self.hessian != "ggn":
            raise SpecError("invalid config field influence.hessian: solver 'ekfac' approximates "
                            "the Gauss-Newton matrix, use 'ggn'")

    def describe(self) -> str:
        return f"IF ({self.solver}, {self.hessian.upper()}, λ={self.damping:g})"

    def skip(self, task) -> str | None:
        """The exact solver declines a model whose dense curvature would not fit in memory
        (the paper's modular transformer, d ≈ 420k: 1.3 TB), naming the solvers that scale."""
        reason = super().skip(task)
        if reason is not None or task is None or self.solver != "exact":
            return reason
        d = sum(p.numel() for p in task.training_problem().make_model().parameters())
        if d > EXACT_MAX_D:
            return (f"d = {d:,} parameters > {EXACT_MAX_D:,}: the exact solver's dense d×d "
                    f"curvature would need {8 * d * d / 2**30:,.0f} GiB (solver cg, lissa or "
                    f"ekfac scales)")
        return None

    def fit(self, ctx: Context) -> Fitted:
        tg = task_gradients(ctx.model, self.aggregate)
        if self.solver == "ekfac":
            return self._fit_ekfac(ctx.model, tg)
        own = tg.units.numel() <= SELF_INFLUENCE_MAX and self._wants_self(ctx.task)
        state: dict = {"d": flat_dim(tg.params), "self_influence_computed": own}
        U = self._solve(ctx.model, tg.params, [tg.target, tg.units] if own else [tg.target],
                        ctx.seed, state)
        self_inf = -(tg.units * U[1].T).sum(1) if own else None
        return additive_fitted(-(tg.units @ U[0]), tg.phi, state, self_inf)

    def _wants_self(self, task) -> bool:
        """Self-influence costs K extra right-hand sides: iterative solvers pay it only where
        ``mislabel_auc`` reads it (tasks with flipped labels; no task = a direct call)."""
        return self.solver == "exact" or task is None or task.flipped is not None

    def _solve(self, model, params: dict[str, torch.Tensor], rows: list[torch.Tensor],
               seed: int, state: dict) -> list[torch.Tensor]:
        """``(H + damping I)^-1 Vᵀ`` for each ``V`` in ``rows`` (exact: one H, reused across
        fits of the same model, one Cholesky; CG and LiSSA: one solve per block, so the target
        columns run as before)."""
        Vs = [V.T.contiguous() for V in rows]
        if self.solver == "exact":
            H = dense_curvature(model, params, self.hessian)
            U = solve_exact(H, torch.cat(Vs, 1), self.damping)
            return list(U.split([V.shape[1] for V in Vs], 1))
        hvp, d = make_hvp(model, params, self.hessian)
        if self.solver == "cg":
            out = [solve_cg(hvp, V, self.damping, tol=1e-6, max_iter=self.cg_iters) for V in Vs]
            state["cg_max_residual"] = float(out[0][1].max())
            if len(out) > 1:
                state["cg_max_residual_self"] = float(out[1][1].max())
            return [U for U, _ in out]
        scale = 1.1 * power_iteration(hvp, d, iters=30, seed=seed % 2**31)
        state["lissa_scale"] = scale
        return [solve_lissa(hvp, V, scale, self.damping / scale, self.lissa_depth) for V in Vs]

    def group_contributions(self, ctx, granularity: str, queries: torch.Tensor
                            ) -> GroupContributions:
        """The scores split by parameter group (§2.9, 𝐊 = (H + damping I)^-1 applied once on
        the training side): ``-u_k,j . g_t,j`` with ``u_k`` the preconditioned unit gradient, and
        the proponent scores ``g_q,j . (K g_n)_j`` of each query. ``exact`` and ``ekfac`` only
        (the others would need one iterative solve per training example)."""
        self.check_groups(granularity)
        tg = task_gradients(ctx.model, self.aggregate)
        train = torch.cat([tg.units, tg.train])
        K = tg.units.shape[0]
        if self.solver == "ekfac":
            P = precondition(self._ekfac(ctx.model, tg), train, self.damping)
        else:
            P = self._solve(ctx.model, tg.params, [train], ctx.seed, {})[0].T
        groups = ParamGroups.of_params(tg.params, granularity)
        return GroupContributions(groups.names, -groups.dot(P[:K], tg.target),
                                  groups.dot(tg.train[queries], P[K:]), queries,
                                  -groups.rowdot(tg.units, P[:K]), tg.phi)

    def check_groups(self, granularity: str) -> None:
        """Per-group scores precondition every training gradient: exact or EK-FAC only."""
        if self.solver not in ("exact", "ekfac"):
            raise SpecError(f"invalid config field influence.solver: per-group scores "
                            f"precondition every training gradient, use 'exact' or 'ekfac', "
                            f"not {self.solver!r}")

    def _ekfac(self, model, tg: TaskGradients) -> EKFAC:
        """The fitted EK-FAC factors of the weighted GGN (softmax cross-entropy only)."""
        (X, _), y = model.inputs(), model.problem.y
        module = model.module.double()
        with torch.no_grad():
            head = functional_call(module, tg.params, (X[:64],))
        if not is_softmax_ce(model.problem.loss, head, y[:64]):
            raise ValueError("influence.solver='ekfac' assumes the softmax cross-entropy loss; "
                             "for other losses call fit_ekfac with that loss's Λ^{1/2}")
        return fit_ekfac(module, tg.params, X, torch.as_tensor(model.weights, dtype=torch.float64))

    def _fit_ekfac(self, model, tg: TaskGradients) -> Fitted:
        """Scores ``-u_kᵀ P(∇φ_t)`` with P the EK-FAC preconditioner at absolute damping."""
        fac = self._ekfac(model, tg)
        P = precondition(fac, tg.target, self.damping)  # (n_t, d), 0 outside Linear layers
        own = -(tg.units * precondition(fac, tg.units, self.damping)).sum(1)
        state = {"d": tg.units.shape[1], "self_influence_computed": True, **fac.state()}
        return additive_fitted(-(tg.units @ P.T), tg.phi, state, own)
