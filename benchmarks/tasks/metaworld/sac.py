"""MT10 with soft actor-critic (``mt10-sac``): the paper's RL setting, through stable-baselines3.

Units are the MT10 tasks; W0 is one SAC agent trained on every unit (each episode draws a task
and a training goal variation); F(s) continues W0's training for ``ft_steps`` on the units in s
only (actor, critics, their optimisers and the entropy coefficient carry over; the replay buffer
starts empty). Targets are the tasks, F = minus each task's mean return over the evaluation
variations (lower is better, as every F in the suite), with ``return`` and ``success`` also
stored. No model is differentiable against a fixed data set here, so only the surrogates and
LOO apply. The published scale (about 10⁷ environment steps) is the ``paper`` profile: runnable,
documented, not run on CPU; ``tiny`` tests the code path at a few hundred steps.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np

from benchmarks.api.task import Task, register_family
from benchmarks.common.cache import cache_root, cached_torch
from benchmarks.common.extras import require
from benchmarks.common.spec import (
    SpecError,
    SubsetDesign,
    TaskSpec,
    content_key,
    derive_seed,
    param,
    validate_fields,
)
from benchmarks.tasks.metaworld import envs

NEEDS = "mt10-sac"  # what needs the rl extra's libraries, in their one-line error


@dataclass(frozen=True)
class SACParams:
    """Tasks, budgets and networks of the SAC benchmark."""

    n_tasks: int = param(10, "units K: the first n MT10 tasks", ge=2, le=len(envs.MT10))
    train_variations: int = param(40, "goal variations the agent trains on (per task)", ge=1)
    eval_variations: int = param(5, "goal variations rolled out per task (the last ones)", ge=1)
    horizon: int = param(500, "steps per episode", ge=1, le=envs.HORIZON_MAX)
    pretrain_steps: int = param(1_000_000, "W0's environment steps on every task", ge=1)
    ft_steps: int = param(100_000, "environment steps on the subset's tasks", ge=1)
    learning_starts: int = param(1000, "random steps before each run's first update", ge=0)
    hidden: int = param(400, "width of the actor's and critics' three hidden layers", ge=1)
    batch_size: int = param(256, "SAC minibatch", ge=1)
    lr: float = param(3e-4, "Adam learning rate of actor, critics and temperature", gt=0)
    env_seed: int = param(0, "seed of metaworld.MT10: the 50 goal variations per task", ge=0)

    def validate(self) -> None:
        validate_fields(self, "params")
        if self.train_variations + self.eval_variations > envs.VARIATIONS:
            raise SpecError(f"invalid config field params.train_variations: train + eval "
                             f"variations exceed the {envs.VARIATIONS} MT10 has per task")


def subset_env(units, params: SACParams, seed: int):
    """A gymnasium env over the tasks of ``units``: each reset draws a task and a training
    variation from a seeded stream; observations carry the task's one-hot (49 dims)."""
    gym = require("gymnasium", "rl", NEEDS)  # imported here so the registry never needs it

    class SubsetEnv(gym.Env):
        def __init__(self) -> None:
            self.rng = np.random.default_rng(seed)
            dim = envs.OBS_DIM + len(envs.MT10)
            self.observation_space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float64)
            self.action_space = gym.spaces.Box(-1.0, 1.0, (envs.ACT_DIM,), np.float32)

        def reset(self, *, seed=None, options=None):
            self.task = int(self.rng.choice(list(units)))
            variation = int(self.rng.integers(params.train_variations))
            self.env = envs.environment(params.env_seed, envs.MT10[self.task], variation)
            self.t = 0
            return self._obs(self.env.reset()[0]), {}

        def step(self, action):
            obs, reward, _, _, info = self.env.step(np.clip(action, -1.0, 1.0))
            self.t += 1
            return (self._obs(obs), float(reward), False, self.t >= params.horizon,
                    {"success": info["success"]})

        def _obs(self, obs: np.ndarray) -> np.ndarray:
            return np.concatenate([obs, envs.one_hot(self.task)])

    return SubsetEnv()


def _sac(env, params: SACParams, seed: int):
    SAC = require("stable_baselines3", "rl", NEEDS).SAC
    Logger = require("stable_baselines3.common.logger", "rl", NEEDS).Logger
    net = [params.hidden] * 3
    agent = SAC("MlpPolicy", env, learning_rate=params.lr, batch_size=params.batch_size,
                learning_starts=params.learning_starts, seed=seed % 2**32, device="cpu",
                verbose=0, policy_kwargs={"net_arch": net})
    agent.set_logger(Logger(None, []))  # SB3's default makes a folder in /tmp per learn call
    return agent


class MT10SACTask(Task):
    """Units = MT10 tasks, F(s) = -return after SAC on s from W0 (module docstring)."""

    outputs = ("loss", "return", "success")
    fine_tuned = True  # SAC from its own W0 (``w0``), not the engine's pretraining

    def __init__(self, spec: TaskSpec, overrides: dict | None = None) -> None:
        super().__init__(spec, overrides)
        self.params: SACParams = spec.params
        self.params.validate()
        self.spec.design.validate(self.K)

    @property
    def membership(self) -> np.ndarray:
        return np.eye(self.params.n_tasks, dtype=bool)

    @property
    def n_targets(self) -> int:
        return self.params.n_tasks

    @functools.cached_property
    def w0(self) -> dict:
        """W0's SB3 parameters (trained and cached on first use)."""
        p = self.params
        key = content_key("mt10-sac-w0", self.spec.params)

        def make() -> dict:
            seed = derive_seed(key, "w0")
            agent = _sac(subset_env(range(p.n_tasks), p, seed), p, seed)
            agent.learn(p.pretrain_steps)
            return agent.get_parameters()

        return cached_torch(cache_root() / "w0" / f"{key}.pt", make, key)

    def evaluate(self, masks: np.ndarray, seeds: list[int], engine: str = "batched"
                 ) -> dict[str, np.ndarray]:
        p = self.params
        out = {k: np.zeros((len(seeds), self.K)) for k in self.outputs}
        w0 = self.w0  # first: training W0 draws from the global RNGs the agents seed
        for b, (mask, seed) in enumerate(zip(masks, seeds, strict=True)):
            agent = _sac(subset_env(np.flatnonzero(mask), p, seed), p, seed)
            # a copy: loading optimiser state aliases its tensors, which learning then updates
            agent.set_parameters(copy.deepcopy(w0), exact_match=True)
            agent.learn(p.ft_steps)
            out["return"][b], out["success"][b] = envs.task_rollouts(
                lambda o, a=agent: a.predict(o, deterministic=True)[0], p.env_seed, p.n_tasks,
                p.eval_variations, p.horizon)
        out["loss"] = -out["return"]
        return out


def sac_spec(profile: str) -> TaskSpec:
    """tiny (the code path, a few hundred steps) / quick (a scaled run) / paper."""
    if profile == "tiny":
        params = SACParams(n_tasks=5, train_variations=2, eval_variations=1, horizon=20,
                           pretrain_steps=200, ft_steps=100, learning_starts=50, hidden=16,
                           batch_size=32)
        return TaskSpec("mt10-sac", params, design=SubsetDesign(alpha=0.5, n_fit=4, n_eval=3,
                                                                 n_seeds=1), profile=profile)
    if profile == "quick":
        params = SACParams(train_variations=20, eval_variations=2, horizon=150,
                           pretrain_steps=50_000, ft_steps=5_000, hidden=128)
        return TaskSpec("mt10-sac", params, design=SubsetDesign(alpha=0.5, n_fit=100,
                                                                 n_eval=40, n_seeds=1),
                        profile=profile)
    return TaskSpec("mt10-sac", SACParams(), design=SubsetDesign(alpha=0.5, n_fit=200,
                                                                  n_eval=52, n_seeds=2),
                    profile=profile)


register_family("mt10-sac", MT10SACTask, sac_spec,
                "Meta-World MT10 with SAC (stable-baselines3): the paper's RL setting, "
                "fine-tuned from a multi-task SAC agent; paper profile")
