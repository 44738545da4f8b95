"""Local execution of ground-truth shards: in process, or one process per shard.

On a 2-core machine two single-threaded shard processes keep both cores busy with small models;
the chunking of ``groundtruth.py`` makes the result independent of the number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from .groundtruth import open_store, run_ground_truth
from .task import make_task


def _worker(name: str, profile: str, overrides: dict, shard: tuple[int, int], batch: int,
            engine: str, path: str | None, threads: int) -> int:
    torch.set_num_threads(threads)
    task = make_task(name, profile, overrides)
    store = open_store(task, Path(path) if path else None)
    return run_ground_truth(task, store, batch, shard, engine, progress=shard[0] == 0)


def fill_ground_truth(name: str, profile: str, overrides: dict, workers: int = 1,
                      shard: tuple[int, int] = (0, 1), batch: int = 32, engine: str = "auto",
                      path: Path | None = None, threads: int | None = None) -> int:
    """Train this shard's pending models with ``workers`` processes; returns models written."""
    if workers <= 1:
        if threads:
            torch.set_num_threads(threads)
        return _worker(name, profile, overrides, shard, batch, engine,
                       str(path) if path else None, torch.get_num_threads())
    task = make_task(name, profile, overrides)
    open_store(task, path)  # create once, before workers race to it
    i, n = shard
    subs = [(i + w * n, n * workers) for w in range(workers)]
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = [pool.submit(_worker, name, profile, overrides, s, batch, engine,
                               str(path) if path else None, threads or 1) for s in subs]
        return sum(f.result() for f in futures)
