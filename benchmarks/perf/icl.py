"""ICL ground-truth throughput: ``python -m benchmarks.perf.icl`` (issue 5, Performance).

Side by side in one process on the same prompts: the batched path (each prompt's KV cache
computed once and shared by a batch of queries) and the loop path (one forward pass per
(prompt, query)), both through ``ICLTask.evaluate``; reports prompt-query pairs per second and
their ratio, and the largest difference of the two losses. Entry ``icl_ground_truth`` of
``leaderboard/bench.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.api.registry import discover
from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.subsets import draw_mask
from benchmarks.perf.engine import write_entry


def timed(task, masks: np.ndarray, engine: str) -> tuple[float, np.ndarray]:
    """Seconds and losses ``(B, n_targets)`` of one ``evaluate`` call."""
    t0 = time.perf_counter()
    loss = task.evaluate(masks, [0] * len(masks), engine)[task.primary]
    return time.perf_counter() - t0, loss


def run(task_name: str, profile: str, n_prompts: int) -> dict:
    """Batched vs loop on ``n_prompts`` random prompts of the task's design."""
    task = make_task(task_name, profile)
    masks = np.stack([draw_mask(task.spec.design, task.K, 1000 + j) for j in range(n_prompts)])
    timed(task, masks[:1], "batched")  # load the model and warm up once
    t_batched, a = timed(task, masks, "batched")
    t_loop, b = timed(task, masks, "loop")
    pairs = n_prompts * task.n_targets
    return {"task": task_name, "profile": profile, "prompts": n_prompts,
            "queries_per_prompt": task.n_targets,
            "batched_pairs_per_s": pairs / t_batched, "loop_pairs_per_s": pairs / t_loop,
            "ratio": t_loop / t_batched, "max_abs_diff": float(np.abs(a - b).max()),
            **provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.icl", description=__doc__)
    ap.add_argument("--task", default="icl-coin-flip")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--prompts", type=int, default=3)
    args = ap.parse_args(argv)
    discover()
    entry = run(args.task, args.profile, args.prompts)
    write_entry("icl_ground_truth", entry)
    print({k: v for k, v in entry.items() if not isinstance(v, dict)})


if __name__ == "__main__":
    main()
