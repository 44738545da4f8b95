"""GradEx: first-order estimates of F(s) from the full-set model (METHODS.md §2.8).

Predictions are the GradEx estimates themselves, ``F̂(s)`` = target loss of the linearised
model ``f_W0 + Psi z*_s`` (not additive in s). Unit scores are the read-off
``F̂(1) - F̂(1 - e_k)``. ``proj_dim``/``lam_z`` = 0 take the task profile's defaults
(``benchmarks.oracles.gradex.PROFILE_DEFAULTS``). The method only sees the model.

It also measures the Taylor error RE_lin of §3.4 on ``n_lin`` fitting subsets (their masks,
never their labels): the model is fine-tuned from W0 on each subset with the task's recipe
(``lin_steps`` steps; 0 = the recipe's ``train.steps``), and the real network's target logits
are compared with ``f_W0 + <grad f_W0, W_s - W0>`` (full Jacobian, as a JVP; no projection),
elementwise over (subset, target, class). State: ``re_lin`` (%), ``disp_ft`` = mean
``||W_s - W0||`` of those fine-tuned models and ``disp_gradex`` = mean ``||P z*||`` on the same
subsets (the §2.8 criterion for lam_z compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch.func import functional_call, jvp

from benchmarks.api.context import Context, TrainedModel
from benchmarks.api.method import Fitted, Method, Need
from benchmarks.api.registry import register_method
from benchmarks.common.device import to_numpy
from benchmarks.common.formulas import relative_error
from benchmarks.common.spec import derive_seed, param
from benchmarks.groundtruth.subsets import draw_mask
from benchmarks.oracles.gradex import (
    LOSS_FORMS,
    PROJECTIONS,
    estimate,
    gradex_config,
    shared_features,
    solve_subsets,
)
from benchmarks.training.engine import batched_forward, train
from methods._common.taskgrads import needs_retraining_task


@register_method("gradex")
@dataclass(frozen=True)
class GradEx(Method):
    """GradEx estimates as predictions; see the module docstring."""

    additive = False  # first-order estimates of F(s) themselves
    loss_forms = LOSS_FORMS  # the softmax GLM, or the squared loss's ridge in closed form

    proj_dim: int = param(0, "k, the random projection dimension of the Jacobian (0 = the task "
                          "profile's default)", ge=0)
    lam_z: float = param(0.0, "ridge on the projected weights z (0 = the task profile's "
                         "default)", ge=0)
    projection: str = param("rademacher", "projection P: Rademacher, Gaussian or identity "
                            "(P = I, proj_dim ignored)", choices=PROJECTIONS)
    n_lin: int = param(8, "fitting subsets fine-tuned to measure the Taylor error RE_lin "
                       "(0 = skip)", ge=0)
    lin_steps: int = param(0, "fine-tuning steps per RE_lin subset (0 = the recipe's "
                           "train.steps)", ge=0)
    needs = frozenset({Need.MODEL, Need.FIT_MASKS})
    tiny = {"n_lin": 2, "lin_steps": 5}
    label = "GradEx (first-order)"

    def skip(self, task) -> str | None:
        return needs_retraining_task(task)

    @property
    def display(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.non_default().items()
                          if k in self._overrides())
        return self.label + (f" [{inner}]" if inner else "")

    def _overrides(self) -> dict:
        return {"proj_dim": self.proj_dim, "lam_z": self.lam_z, "projection": self.projection}

    def fit(self, ctx: Context) -> Fitted:
        task = ctx.task
        config = gradex_config(task.spec.profile, self._overrides())
        tm = ctx.models.linearisation_point() if ctx.models else ctx.model
        feat = shared_features(tm, config, f"{task.spec.key}/gradex")[0]
        state = {"features": feat, "weights": task.example_weights, "output": task.primary,
                 "k": feat.k, "lam_z": config.lam_z}
        K = task.K
        Fh, sol = _predict(state, np.vstack([np.ones((1, K), bool), ~np.eye(K, dtype=bool)]))
        state["max_kkt"] = sol.max_residual
        if self.n_lin:
            state.update(self._re_lin(ctx, tm, state))
        return Fitted(Fh[0] - Fh[1:], Fh[0], state)

    def predict(self, fitted: Fitted, masks: np.ndarray) -> np.ndarray:
        return _predict(fitted.state, masks)[0]

    def _re_lin(self, ctx: Context, tm: TrainedModel, state: dict) -> dict:
        """RE_lin (%) and displacements on ``n_lin`` fitting subsets (module docstring), the
        models fine-tuned from ``tm`` (the linearisation point)."""
        task = ctx.task
        masks = _fit_masks(ctx, self.n_lin)
        problem = task.problem(torch.float64)
        W0 = {k: v.detach().double() for k, v in tm.params.items()}
        make = problem.make_model
        start = replace(problem, make_model=lambda: _loaded(make(), W0))
        spec = replace(task.spec.train, steps=self.lin_steps or task.spec.train.steps)
        seeds = [derive_seed(ctx.seed, "re_lin", j) for j in range(len(masks))]
        weights = torch.as_tensor(task.example_weights(masks))
        Xt = tm.inputs()[1]
        Ws = {k: v.to(Xt.device) for k, v in train(start, weights, seeds, spec,
                                                     task.engine).items()}
        true = batched_forward(start, Ws, Xt)  # (B, n_t, c)
        module = start.init(0)
        lin, disp = [], []
        for b in range(len(masks)):
            delta = {k: Ws[k][b] - W0[k] for k in W0}
            f0, df = jvp(lambda p: functional_call(module, p, (Xt,)), (W0,), (delta,))
            lin.append(f0 + df)
            disp.append(float(torch.cat([v.flatten() for v in delta.values()]).norm()))
        _, sol = _predict(state, masks)
        return {"re_lin": float(100 * relative_error(to_numpy(true),
                                                     to_numpy(torch.stack(lin))).mean()),
                "disp_ft": float(np.mean(disp)),
                "disp_gradex": float(state["features"].displacement(sol.Z).mean()),
                "lin_steps": spec.steps}


def _predict(state: dict, masks: np.ndarray):
    """GradEx estimates ``(m, n_targets)`` of the primary output, and the solution."""
    feat = state["features"]
    sol = solve_subsets(feat, state["weights"](masks), state["lam_z"])
    return estimate(feat, sol.Z)[state["output"]], sol


def _fit_masks(ctx, n: int) -> np.ndarray:
    """The first ``n`` fitting masks (masks only), else draws from the design."""
    if ctx.fit_masks is not None and len(ctx.fit_masks):
        return ctx.fit_masks[:n]
    design = ctx.task.spec.design
    return np.stack([draw_mask(design, ctx.task.K, derive_seed(ctx.seed, "lin", j))
                     for j in range(n)])


def _loaded(module: torch.nn.Module, params: dict[str, torch.Tensor]) -> torch.nn.Module:
    """``module`` with its parameters set to ``params`` (the fine-tuning start W0)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(params[name].to(p.dtype))
    return module
