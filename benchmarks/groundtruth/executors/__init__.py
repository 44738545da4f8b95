"""Where ground-truth chunks are trained: in this process, a local process pool, or a Dask
cluster (a ``LocalCluster`` on this machine, or any scheduler). Whatever the executor, the
driver alone writes the store (``driver.fill``): workers train a chunk and return its arrays,
so the store's crash safety holds on any file system and the result does not depend on the
executor, the number of workers, or a worker lost and retried."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import benchmarks.common.device as devices
from benchmarks.api.task import Task
from benchmarks.common.spec import EXECUTORS, SpecError
from benchmarks.groundtruth.executors.driver import check_workers, fill
from benchmarks.groundtruth.executors.slurm import SlurmOptions, collect, fill_slurm
from benchmarks.groundtruth.fill import open_store, run_ground_truth

__all__ = ["EXECUTORS", "Executor", "SlurmOptions", "check_workers", "collect",
           "fill_ground_truth"]


@dataclass(frozen=True)
class Executor:
    """Where ground truth trains (``--executor``, ``--workers``, ``--scheduler``); not part of
    any task key: every executor fills the same bits."""

    kind: str = "local"
    workers: int = 1
    scheduler: str | None = None
    slurm: SlurmOptions = SlurmOptions()
    dry_run: bool = False  # slurm: print the sbatch script, submit nothing

    def fill(self, task: Task, shard: tuple[int, int] = (0, 1), path: Path | None = None
             ) -> int:
        """Train ``task``'s pending models (this shard's); returns the models written."""
        if self.kind == "slurm":
            if shard != (0, 1) or self.scheduler:
                raise SpecError("--executor slurm takes neither --shard (one array task per "
                                "chunk) nor --scheduler")
            return fill_slurm(task, path, self.slurm, self.dry_run)
        return fill_ground_truth(task, self.workers, shard, path, executor=self.kind,
                                 scheduler=self.scheduler)


def fill_ground_truth(task: Task, workers: int = 1,
                      shard: tuple[int, int] = (0, 1), path: Path | None = None,
                      threads: int | None = None, executor: str = "local",
                      scheduler: str | None = None) -> int:
    """Train this shard's pending models; returns the models written. ``executor``: ``local``
    (``workers`` processes, in process for one) or ``dask`` (``workers`` single-threaded
    workers of a loopback ``LocalCluster``, or the cluster at ``scheduler``)."""
    check_workers(workers)
    if executor not in EXECUTORS:
        raise SpecError(f"unknown executor {executor!r}. Available: {', '.join(EXECUTORS)}")
    if executor == "slurm":
        raise SpecError("the slurm executor submits job arrays: use Executor('slurm').fill")
    if scheduler and executor != "dask":
        raise SpecError("--scheduler applies only with --executor dask")
    if executor == "dask" and shard != (0, 1):
        raise SpecError("--shard and --executor dask conflict: Dask spreads the chunks over its "
                        "workers itself (use --shard with the local executor)")
    if executor == "dask":
        from benchmarks.groundtruth.executors import dask_pool

        run = dask_pool.runner(workers, scheduler, threads or 1)
    elif workers == 1:
        return _in_process(task, shard, path, threads)
    else:
        from benchmarks.groundtruth.executors import local

        run = local.pool(workers, threads or 1)
    return fill(task, shard, path, run)


def _in_process(task: Task, shard: tuple[int, int], path: Path | None,
                threads: int | None) -> int:
    """One worker: the driver trains every chunk itself (``run_ground_truth``), on ``threads``
    torch threads (default one, as a pool worker, so the bits do not depend on ``--workers``)."""
    with devices.torch_threads(threads or 1):
        return run_ground_truth(task, open_store(task, path), shard)
