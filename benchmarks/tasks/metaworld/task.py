"""Meta-World MT10 as task attribution: which manipulation tasks' demonstrations help which.

Units are the MT10 tasks (``n_tasks`` of them, in metaworld's order). Each unit's training
examples are scripted-expert demonstrations on ``train_variations`` goal variations (noisy
executed actions, clean labels). W0 is one multi-task policy (MLP on the observation and the
task's one-hot) trained by behaviour cloning on every unit; F(s) fine-tunes W0 on the units in
s. The targets are the tasks: F = each task's held-out imitation loss (squared error on
demonstrations of goal variations no unit trains on); ground truth also records each task's
``return`` and ``success`` over ``eval_variations`` real rollouts of ``horizon`` steps (the
last variations of the 50, deterministic given the weights). Behaviour cloning with
fine-tuning, not SAC: datasets/metaworld_mt10.md says why and what the paper's scale changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from benchmarks.api.task import register_family
from benchmarks.common.cache import cache_root, cached_torch
from benchmarks.common.spec import (
    SpecError,
    SubsetDesign,
    TaskSpec,
    TrainSpec,
    content_key,
    derive_seed,
    param,
    validate_fields,
)
from benchmarks.tasks.metaworld import envs
from benchmarks.training.engine import Problem, batched_forward
from benchmarks.training.retrain_task import RetrainTask


@dataclass(frozen=True)
class MT10Params:
    """Tasks, demonstrations, rollouts and policy of the MT10 benchmark."""

    n_tasks: int = param(10, "units K: the first n MT10 tasks", ge=2, le=len(envs.MT10))
    train_variations: int = param(20, "goal variations demonstrated per task (training)", ge=1)
    heldout_variations: int = param(2, "goal variations per task for the imitation-loss "
                                    "targets (after the training ones)", ge=1)
    eval_variations: int = param(2, "goal variations rolled out per task (the last ones)", ge=1)
    horizon: int = param(150, "steps per demonstration and per rollout", ge=1,
                         le=envs.HORIZON_MAX)
    noise: float = param(0.1, "std of the Gaussian noise on the expert's executed actions",
                         ge=0)
    hidden: int = param(128, "width of the policy's two hidden layers", ge=1)
    env_seed: int = param(0, "seed of metaworld.MT10: the 50 goal variations per task", ge=0)

    def validate(self) -> None:
        validate_fields(self, "params")
        used = self.train_variations + self.heldout_variations + self.eval_variations
        if used > envs.VARIATIONS:
            raise SpecError(f"invalid config field params.train_variations: train + held-out "
                            f"+ eval variations = {used} > the {envs.VARIATIONS} MT10 has "
                            f"per task")


class Policy(nn.Module):
    """Standardised observation (49) -> two ReLU layers -> tanh action (4)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        dim = envs.OBS_DIM + len(envs.MT10)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, envs.ACT_DIM), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def squared_error(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per leading index: ``(n, 4)`` per example, ``(n, m, 4)`` per target
    (a target is a task's held-out demonstrations, its loss their mean)."""
    return ((pred - y) ** 2).flatten(1).mean(1)


class MT10Task(RetrainTask):
    """Units = MT10 tasks, F = held-out imitation loss per task (module docstring)."""

    params: MT10Params
    outputs = ("loss", "return", "success")
    loss_form = "squared"
    accuracy_output = "success"

    @functools.cached_property
    def _data(self) -> dict[str, np.ndarray]:
        """Demonstrations (cached, content-keyed: collecting them runs MuJoCo for minutes)."""
        p = self.params
        identity = content_key("mt10-data", {k: getattr(p, k) for k in (
            "n_tasks", "train_variations", "heldout_variations", "horizon", "noise", "env_seed")})
        raw = cached_torch(cache_root() / "data" / f"{identity}.pt", self._collect, identity)
        X, y, unit = (raw[k].numpy() for k in ("X", "y", "unit"))
        mu, sd = X.mean(0), X.std(0)
        sd = np.where(sd > 1e-6, sd, 1.0)  # the padded observation slots are constant
        m = p.heldout_variations * p.horizon
        Xt = (raw["Xt"].numpy() - mu) / sd
        return {"X": (X - mu) / sd, "y": y, "unit": unit, "mu": mu, "sd": sd,
                "Xt": Xt.reshape(p.n_tasks, m, -1), "yt": raw["yt"].numpy().reshape(
                    p.n_tasks, m, -1)}

    def _collect(self) -> dict[str, torch.Tensor]:
        p = self.params
        train = list(range(p.train_variations))
        held = list(range(p.train_variations, p.train_variations + p.heldout_variations))
        parts: dict[str, list] = {"X": [], "y": [], "unit": [], "Xt": [], "yt": []}
        for k, name in enumerate(envs.MT10[:p.n_tasks]):
            for which, variations in (("", train), ("t", held)):
                seed = derive_seed("mt10-data", p.env_seed, name, which or "train")
                X, y = envs.expert_data(p.env_seed, name, variations, p.horizon, p.noise, seed)
                parts["X" + which].append(X)
                parts["y" + which].append(y)
            parts["unit"].append(np.full(len(parts["X"][-1]), k))
        return {k: torch.as_tensor(np.concatenate(v)) for k, v in parts.items()}

    @functools.cached_property
    def membership(self) -> np.ndarray:
        unit = self._data["unit"]
        return np.arange(self.params.n_tasks)[:, None] == unit[None, :]

    def problem(self, dtype: torch.dtype = torch.float32) -> Problem:
        d = self._data
        return Problem(make_model=lambda: Policy(self.params.hidden),
                       X=torch.as_tensor(d["X"]).to(dtype), y=torch.as_tensor(d["y"]).to(dtype),
                       loss=squared_error, dtype=dtype, loss_form=self.loss_form)

    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.as_tensor(self._data["Xt"]), torch.as_tensor(self._data["yt"])

    def score(self, problem: Problem, params: dict[str, torch.Tensor]
              ) -> dict[str, np.ndarray]:
        """Imitation loss per task, then each model's rollouts: return and success per task."""
        Xt, yt = self.targets()
        B = next(iter(params.values())).shape[0]
        out = batched_forward(problem, params, Xt.to(problem.dtype))  # (B, n_t, m, 4)
        loss = problem.loss(out.flatten(0, 1), yt.to(out.dtype).repeat(B, 1, 1)).view(B, -1)
        ret, ok = np.zeros((B, self.K)), np.zeros((B, self.K))
        p = self.params
        for b in range(B):
            ret[b], ok[b] = envs.task_rollouts(self._actor(problem, params, b), p.env_seed,
                                               p.n_tasks, p.eval_variations, p.horizon)
        return {"loss": loss.double().numpy(), "return": ret, "success": ok}

    def _actor(self, problem: Problem, params: dict[str, torch.Tensor], b: int):
        module = problem.init(0)
        mine = {k: v[b] for k, v in params.items()}
        mu, sd = self._data["mu"], self._data["sd"]

        def act(obs: np.ndarray) -> np.ndarray:
            x = torch.as_tensor((obs - mu) / sd, dtype=problem.dtype)
            with torch.no_grad():
                return torch.func.functional_call(module, mine, (x,)).double().numpy()

        return act


def profile_spec(profile: str) -> TaskSpec:
    """tiny / quick / paper settings (evidence: datasets/metaworld_mt10.md)."""
    if profile == "tiny":
        return TaskSpec("mt10", MT10Params(n_tasks=5, train_variations=2, heldout_variations=1,
                                           eval_variations=1, horizon=20, hidden=16),
                        _finetune(lr=1e-3, steps=10, pretrain=40, batch=64),
                        SubsetDesign(alpha=0.5, n_fit=6, n_eval=3, n_seeds=2), profile)
    if profile == "quick":
        return TaskSpec("mt10", MT10Params(),
                        _finetune(lr=1e-3, steps=300, pretrain=3000, batch=256),
                        SubsetDesign(alpha=0.5, n_fit=200, n_eval=50, n_seeds=2), profile)
    return TaskSpec("mt10", MT10Params(train_variations=40, heldout_variations=4,
                                       eval_variations=6, horizon=500, hidden=256),
                    _finetune(lr=1e-3, steps=2000, pretrain=30000, batch=512),
                    SubsetDesign(alpha=0.5, n_fit=200, n_eval=52, n_seeds=3), profile)


def _finetune(lr: float, steps: int, pretrain: int, batch: int) -> TrainSpec:
    """AdamW (no decay) fine-tuning from W0 (cloning every task for ``pretrain`` steps)."""
    return TrainSpec(optimizer="adamw", lr=lr, weight_decay=0.0, steps=steps,
                     batch_size=batch, init="pretrained", pretrain_steps=pretrain,
                     pretrain_lr=lr)


register_family("mt10", MT10Task, profile_spec,
                "Meta-World MT10: units = the 10 manipulation tasks, behaviour cloning "
                "fine-tuned from a multi-task W0, real MuJoCo rollouts")
