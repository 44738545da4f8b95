"""Where an MT10 rollout's time goes, and the faster environments: ``mt10_rollouts``.

``python -m benchmarks.perf mt10_rollouts [--profile quick] [--models 3] [--rounds 3]``.
A model's ground-truth rollouts (``task_rollouts``: every task on its evaluation variations)
with policies W0 plus small seeded perturbations. First one model under cProfile on
metaworld's own classes (``upstream``) and on ``fastenv``'s: the share of MuJoCo's stepping
(``mj_step``, ``mj_forward``), of the policy's forward pass (the ``act`` calls) and of the rest
(metaworld's Python: observations, rewards, contact checks; resets; the stepping loop). Then
both paths side by side, ``rounds`` interleaved rounds over the same policies (a busy machine
slows them alike), the median seconds per model and their ratio; the outputs must be
bit-identical (``identical``), else the entry says so.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.api.registry import discover
from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.perf.engine import BENCH_JSON, write_entry
from benchmarks.tasks.metaworld import envs

PHYSICS = ("mj_step", "mj_forward", "mj_step1", "mj_step2")  # MuJoCo's C entry points


def policies(task, n: int) -> list:
    """``n`` acting functions: W0 and W0 plus seeded Gaussian perturbations (std 0.01 b)."""
    problem = task.training_problem()
    g = torch.Generator().manual_seed(0)
    params = {k: torch.stack([v + 0.01 * b * torch.randn(v.shape, generator=g)
                              for b in range(n)]) for k, v in problem.start.items()}
    return [task._actor(problem, params, b) for b in range(n)]


def rollout(task, act, upstream: bool) -> tuple[np.ndarray, np.ndarray]:
    """One model's evaluation rollouts: mean return and success per task, ``(n_tasks,)``."""
    p = task.params
    return envs.task_rollouts(act, p.env_seed, p.n_tasks, p.eval_variations, p.horizon,
                              upstream)


def split(task, act, upstream: bool) -> dict:
    """cProfile of one model's rollouts: seconds and shares of physics, policy and the rest."""
    prof = cProfile.Profile()
    prof.runcall(rollout, task, act, upstream)
    stats = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, ...)
    total = sum(row[2] for row in stats.values())
    physics = sum(row[2] for (_, _, fn), row in stats.items()
                  if fn.startswith("<built-in method mujoco._functions.")
                  and fn.rstrip(">").rsplit(".", 1)[-1] in PHYSICS)
    policy = sum(row[3] for (path, _, fn), row in stats.items()
                 if fn == "act" and path.endswith("task.py"))
    rest = total - physics - policy
    return {"profiled_s": total, "physics_s": physics, "policy_s": policy, "rest_s": rest,
            "physics_share": physics / total, "policy_share": policy / total,
            "metaworld_python_and_loop_share": rest / total}


def side_by_side(task, acts: list, rounds: int) -> dict:
    """Median seconds per model of each path over interleaved rounds; outputs compared."""
    seconds: dict[str, list[float]] = {"upstream": [], "fast": []}
    outputs: dict[str, list] = {}
    for _ in range(rounds):
        for path in seconds:
            t0 = time.perf_counter()
            outputs[path] = [rollout(task, act, path == "upstream") for act in acts]
            seconds[path].append((time.perf_counter() - t0) / len(acts))
    identical = all(np.array_equal(a, b) for x, y in zip(outputs["upstream"], outputs["fast"],
                                                         strict=True)
                    for a, b in zip(x, y, strict=True))
    med = {path: statistics.median(t) for path, t in seconds.items()}
    return {"upstream_s_per_model": med["upstream"], "fast_s_per_model": med["fast"],
            "speedup": med["upstream"] / med["fast"], "identical": identical,
            "rounds_s": seconds}


def run(profile: str, models: int, rounds: int) -> dict:
    """The entry: profile split of both paths, then the side-by-side timing."""
    task = make_task("mt10", profile)
    acts = policies(task, models)
    for upstream in (True, False):
        rollout(task, acts[0], upstream)  # build the environments (not timed)
    p = task.params
    return {"task": "mt10", "profile": profile, "models": models, "rounds": rounds,
            "episodes_per_model": p.n_tasks * p.eval_variations, "horizon": p.horizon,
            "split_upstream": split(task, acts[0], True),
            "split_fast": split(task, acts[0], False),
            **side_by_side(task, acts, rounds), "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf mt10_rollouts",
                                 description=__doc__)
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--models", type=int, default=3, help="policies per round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    ap.add_argument("--out", type=Path, default=BENCH_JSON, help="the bench.json to merge into")
    args = ap.parse_args(argv)
    discover()
    entry = run(args.profile, args.models, args.rounds)
    write_entry("mt10_rollouts", entry, args.out)
    print(json.dumps({k: v for k, v in entry.items() if k != "provenance"}, indent=1,
                     default=float))


if __name__ == "__main__":
    main()
