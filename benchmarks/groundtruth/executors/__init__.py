"""Where ground-truth chunks are trained: in this process, a local process pool, or a Dask
cluster (a ``LocalCluster`` on this machine, or any scheduler). Whatever the executor, the
driver alone writes the store (``driver.fill``): workers train a chunk and return its arrays,
so the store's crash safety holds on any file system and the result does not depend on the
executor, the number of workers, or a worker lost and retried."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import benchmarks.common.device as devices
from benchmarks.api.task import Task
from benchmarks.common.spec import EXECUTORS, SpecError
from benchmarks.common.timing import timed
from benchmarks.groundtruth.executors.driver import check_workers, fill
from benchmarks.groundtruth.executors.slurm import SlurmOptions, collect, fill_slurm
from benchmarks.groundtruth.fill import open_store, run_ground_truth, task_rows
from benchmarks.groundtruth.store import store_path
from benchmarks.training.engine import passes_per_step, train_flops
from benchmarks.training.pretrained import pretrained_params
from benchmarks.training.retrain_task import RetrainTask

__all__ = ["EXECUTORS", "Executor", "Filled", "SlurmOptions", "check_workers", "collect",
           "fill_ground_truth", "training_gflop"]


@dataclass(frozen=True)
class Filled:
    """What one fill trained: ``models`` written, their training work in GFLOP (None where
    the task trains no engine model, or nothing was trained) and the workers it ran on."""

    models: int
    gflop: float | None
    workers: int


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
             ) -> Filled:
        """Train ``task``'s pending models (this shard's), W0 first where the task fine-tunes
        from one; returns what was trained. Timed as the stages ``W0 pretraining`` and
        ``ground truth`` of ``common.timing``."""
        if self.kind == "slurm" and (shard != (0, 1) or self.scheduler):
            raise SpecError("--executor slurm takes neither --shard (one array task per "
                            "chunk) nor --scheduler")
        if self.kind != "slurm":
            check_options(self.kind, self.workers, shard, self.scheduler)
        if task.spec.train.init == "pretrained" and not self.dry_run:
            with timed(task.label, "W0 pretraining"):
                pretrained_params(task)
        whole = shard == (0, 1) and not self.dry_run  # the work of a shard is not counted
        pending = _pending_masks(task, path) if whole else np.zeros((0, task.K), bool)
        with timed(task.label, "ground truth") as row:
            if self.kind == "slurm":
                models = fill_slurm(task, path, self.slurm, self.dry_run)
            else:
                models = fill_ground_truth(task, self.workers, shard, path, executor=self.kind,
                                           scheduler=self.scheduler)
            done = Filled(models, training_gflop(task, pending) if models else None,
                          self.workers)
            row["models"] = models
            if models:
                row.update(gflop=done.gflop, workers=done.workers)
        return done


def fill_ground_truth(task: Task, workers: int = 1,
                      shard: tuple[int, int] = (0, 1), path: Path | None = None,
                      threads: int | None = None, executor: str = "local",
                      scheduler: str | None = None) -> int:
    """Train this shard's pending models; returns the models written. ``executor``: ``local``
    (``workers`` processes, in process for one) or ``dask`` (``workers`` single-threaded
    workers of a loopback ``LocalCluster``, or the cluster at ``scheduler``)."""
    check_options(executor, workers, shard, scheduler)
    if executor == "slurm":
        raise SpecError("the slurm executor submits job arrays: use Executor('slurm').fill")
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


def check_options(executor: str, workers: int, shard: tuple[int, int],
                  scheduler: str | None) -> None:
    """Refuse conflicting executor options before anything is created."""
    check_workers(workers)
    if executor not in EXECUTORS:
        raise SpecError(f"unknown executor {executor!r}. Available: {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise SpecError("--scheduler applies only with --executor dask")
    if executor == "dask" and shard != (0, 1):
        raise SpecError("--shard and --executor dask conflict: Dask spreads the chunks over its "
                        "workers itself (use --shard with the local executor)")


def _pending_masks(task: Task, path: Path | None) -> np.ndarray:
    """``(B, K)``: one row per model the store still has to train (a subset once per seed),
    read without creating the store (an option refused later must leave nothing behind)."""
    if (store_path(task.spec, path) / "manifest.json").exists():
        store = open_store(task, path, create=False)
        return store.rows.masks[[j for j, _ in store.pending()]]
    rows = task_rows(task)
    return np.repeat(rows.masks, task.spec.design.n_seeds, axis=0)


def training_gflop(task: Task, masks: np.ndarray) -> float | None:
    """Training work of one model per row of ``masks (B, K)``, in GFLOP (``engine.train_flops``:
    forward + backward matmul FLOPs per example pass, times the passes); None for a task that
    trains no engine model (ICL inference, the SAC agents)."""
    if not isinstance(task, RetrainTask) or not len(masks):
        return None
    weights = torch.as_tensor(task.example_weights(masks))
    spec = task.spec.train
    steps = (task.spec.design.shared_lengths or (spec.steps,))[-1]  # trained to the longest
    return train_flops(task.training_problem(), weights, steps, spec.batch_size,
                       passes_per_step(spec)) / 1e9
