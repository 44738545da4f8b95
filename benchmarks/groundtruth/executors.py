"""Local execution of ground-truth shards: in process, or one process per shard.

On a 2-core machine two single-threaded shard processes keep both cores busy with small models;
the chunking of ``groundtruth.py`` makes the result independent of the number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from benchmarks.groundtruth.fill import open_store, run_ground_truth
from benchmarks.spec import MAX_WORKERS, SpecError
from benchmarks.task import make_task


def _worker(name: str, profile: str, overrides: dict, shard: tuple[int, int],
            path: str | None, threads: int) -> int:
    torch.set_num_threads(threads)
    task = make_task(name, profile, overrides)
    store = open_store(task, Path(path) if path else None)
    return run_ground_truth(task, store, shard, progress=shard[0] == 0)


def check_workers(workers: int) -> int:
    """``--workers``: an integer in [1, MAX_WORKERS] (more processes than that is a typo)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not \
            1 <= workers <= MAX_WORKERS:
        raise SpecError(f"invalid --workers {workers!r}: must be an integer in "
                        f"[1, {MAX_WORKERS}]")
    return workers


def fill_ground_truth(name: str, profile: str, overrides: dict, workers: int = 1,
                      shard: tuple[int, int] = (0, 1), path: Path | None = None,
                      threads: int | None = None) -> int:
    """Train this shard's pending models with ``workers`` processes; returns models written.

    Chunking and engine are part of the task (``overrides["execution.*"]``)."""
    check_workers(workers)
    if workers == 1:
        if threads:
            torch.set_num_threads(threads)
        return _worker(name, profile, overrides, shard, str(path) if path else None,
                       torch.get_num_threads())
    task = make_task(name, profile, overrides)
    open_store(task, path)  # create once, before workers race to it
    i, n = shard
    subs = [(i + w * n, n * workers) for w in range(workers)]
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_worker, name, profile, overrides, s,
                               str(path) if path else None, threads or 1) for s in subs]
        return sum(f.result() for f in futures)


def _die_with_parent(parent: int) -> None:
    """Worker initialiser: exit when the parent process dies (Linux: PR_SET_PDEATHSIG), so a
    killed parent leaves no orphan training processes; also if it died before this ran."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent:
        os._exit(1)
