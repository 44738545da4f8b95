"""Meta-World MT10 environments, the scripted experts and batched policy rollouts.

Goals are fixed: ``metaworld.MT10(seed)`` draws 50 goal variations per task from ``seed`` and
``set_task`` freezes one, so every ``reset`` of a variation starts from the same state and the
physics is deterministic; a rollout's only randomness is what the caller adds. Building the
benchmark costs about 10 CPU-s, so each process builds it once (``benchmark``) and keeps one
environment per (task, variation) it has used (``environment``): an instance of
``fastenv.fast_class`` of metaworld's class (the same bits, faster), or with ``upstream=True``
of metaworld's class itself (the reference the tests and the bench compare with). The experts
read the 39-dim observation; the policies read it with the task's one-hot appended (49 dims).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np

from benchmarks.common.extras import require
from benchmarks.tasks.metaworld.fastenv import fast_class

OBS_DIM, ACT_DIM, HORIZON_MAX = 39, 4, 500
VARIATIONS = 50  # goal variations per MT10 task
MT10 = ("reach-v3", "push-v3", "pick-place-v3", "door-open-v3", "drawer-open-v3",
        "drawer-close-v3", "button-press-topdown-v3", "peg-insert-side-v3", "window-open-v3",
        "window-close-v3")  # metaworld's canonical order: the one-hot index of each task


def metaworld():
    """The ``metaworld`` module, or the one-line error naming the ``rl`` extra."""
    warnings.filterwarnings("ignore", message=r"Constant\(s\) may be too high")
    mw = require("metaworld", "rl", "the mt10 benchmark")
    require("metaworld.policies", "rl", "the mt10 benchmark")  # the scripted experts
    return mw


@functools.lru_cache(maxsize=2)
def benchmark(env_seed: int):
    """``metaworld.MT10(seed=env_seed)``, once per process."""
    bench = metaworld().MT10(seed=env_seed)
    names = tuple(bench.train_classes)
    if names != MT10:
        raise RuntimeError(f"metaworld's MT10 lists {names}, this suite expects {MT10}")
    return bench


@functools.lru_cache(maxsize=512)
def environment(env_seed: int, name: str, variation: int, upstream: bool = False):
    """One raw environment of ``name`` with goal variation ``variation`` (0..49) frozen;
    ``upstream``: metaworld's class rather than its ``fast_class``."""
    bench = benchmark(env_seed)
    tasks = [t for t in bench.train_tasks if t.env_name == name]
    if not 0 <= variation < len(tasks):
        raise ValueError(f"goal variation {variation} of {name}: MT10 has {len(tasks)}")
    cls = bench.train_classes[name]
    env = (cls if upstream else fast_class(cls))()
    env.set_task(tasks[variation])
    return env


def one_hot(index: int) -> np.ndarray:
    out = np.zeros(len(MT10), dtype=np.float32)
    out[index] = 1.0
    return out


def expert_data(env_seed: int, name: str, variations: list[int], horizon: int, noise: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The scripted expert on each variation for ``horizon`` steps, executing its action plus
    Gaussian noise (so the data visits states off the expert's path) and recording the clean
    clipped action as the label: ``(n, 49)`` observations with one-hot, ``(n, 4)`` actions."""
    policy = metaworld().policies.ENV_POLICY_MAP[name]()
    rng = np.random.default_rng(seed)
    tag = one_hot(MT10.index(name))
    X, Y = [], []
    for v in variations:
        env = environment(env_seed, name, v)
        obs, _ = env.reset()
        for _ in range(horizon):
            action = np.clip(policy.get_action(obs), -1.0, 1.0)
            X.append(np.concatenate([obs.astype(np.float32), tag]))
            Y.append(action.astype(np.float32))
            executed = np.clip(action + noise * rng.standard_normal(ACT_DIM), -1.0, 1.0)
            obs, *_ = env.step(executed)
    return np.asarray(X, np.float32), np.asarray(Y, np.float32)


def rollouts(act: Callable[[np.ndarray], np.ndarray], env_seed: int,
             episodes: list[tuple[int, int]], horizon: int, upstream: bool = False
             ) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic episodes ``(task index, variation)`` stepped in lockstep, one ``act`` call
    per step on every episode's observation (``(E, 49) -> (E, 4)``): return (sum of rewards)
    and success (``info["success"]`` at any step), each ``(E,)``."""
    envs = [environment(env_seed, MT10[i], v, upstream) for i, v in episodes]
    tags = np.stack([one_hot(i) for i, _ in episodes])
    obs = np.stack([env.reset()[0] for env in envs]).astype(np.float32)
    total = np.zeros(len(envs))
    success = np.zeros(len(envs), dtype=bool)
    for _ in range(horizon):
        actions = np.clip(act(np.concatenate([obs, tags], axis=1)), -1.0, 1.0)
        for e, env in enumerate(envs):
            o, reward, _, _, info = env.step(actions[e])
            obs[e], total[e] = o, total[e] + reward
            success[e] |= bool(info["success"])
    return total, success.astype(np.float64)


def task_rollouts(act: Callable[[np.ndarray], np.ndarray], env_seed: int, n_tasks: int,
                  per_task: int, horizon: int, upstream: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Each of the first ``n_tasks`` tasks on its last ``per_task`` goal variations (the ones
    no training uses): mean return and mean success per task, each ``(n_tasks,)``."""
    episodes = [(i, v) for i in range(n_tasks) for v in range(VARIATIONS - per_task, VARIATIONS)]
    total, success = rollouts(act, env_seed, episodes, horizon, upstream)
    return total.reshape(n_tasks, per_task).mean(1), success.reshape(n_tasks, per_task).mean(1)
