"""The one writer: the driver finds the pending chunks, hands each to an executor as
``ChunkJob``s, writes the arrays that come back, and shows one progress bar over all of them.

An executor is a callable ``run(jobs) -> iterator of (job, arrays)`` yielding each chunk as it
completes, in any order; it retries a chunk whose worker was lost, and raises
``ChunkFailedError`` naming the chunk when our own code raised (no blind retry).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

import benchmarks.common.device as devices
from benchmarks.api.task import Task, make_task
from benchmarks.common import timing
from benchmarks.common.spec import MAX_WORKERS, SpecError
from benchmarks.groundtruth import prefix
from benchmarks.groundtruth.fill import chunks, family, model_seed, open_store
from benchmarks.groundtruth.prefix import Family


@dataclass(frozen=True)
class ChunkJob:
    """One chunk to train: the task (by name, profile, overrides), its (row, seed) jobs, their
    masks ``(B, K)`` and training seeds, and the engine."""

    index: int
    name: str
    profile: str
    overrides: tuple[tuple[str, str], ...]
    jobs: tuple[tuple[int, int], ...]
    masks: np.ndarray
    seeds: tuple[int, ...]
    engine: str
    threads: int = 1
    device: str = "cpu"  # as asked (``device.requested``): the worker resolves it
    tf32: bool = False
    shared: bool = False  # train every length of design.shared_lengths at once (prefix.py)


def frozen_overrides(overrides: dict) -> tuple[tuple[str, str], ...]:
    """A task's overrides as ``ChunkJob`` carries them (hashable text a worker parses back by
    each field's type: tuples and lists as JSON, as on the command line)."""
    return tuple(sorted((k, json.dumps(list(v)) if isinstance(v, (tuple, list)) else str(v))
                        for k, v in overrides.items()))


class ChunkFailedError(RuntimeError):
    """A chunk raised in our own code (not a lost worker): the run stops naming it."""


class Runner(Protocol):
    """An executor: trains chunks with ``threads`` torch threads each, yields them as done."""

    threads: int

    def __call__(self, jobs: list[ChunkJob]) -> Iterator[tuple[ChunkJob, dict[str, np.ndarray]]]:
        ...


@functools.lru_cache(maxsize=4)
def _task(name: str, profile: str, overrides: tuple):
    return make_task(name, profile, dict(overrides))


def train_chunk(job: ChunkJob) -> dict[str, np.ndarray]:
    """The worker's whole job: ``{output: (B, n_targets)}`` of one chunk (no store access)."""
    torch.set_num_threads(job.threads)
    devices.configure(job.device, job.tf32)
    task = _task(job.name, job.profile, job.overrides)
    if job.shared:
        return prefix.flatten(task.evaluate_lengths(job.masks, list(job.seeds), job.engine))
    return task.evaluate(job.masks, list(job.seeds), job.engine)


def run_chunk(job: ChunkJob) -> dict[str, np.ndarray]:
    """``train_chunk`` with our own exceptions wrapped to name the chunk; the arrays carry
    the CPU-seconds it took and the process that spent them (``timing.WORKER_CPU``)."""
    c0 = time.process_time()
    try:
        values = train_chunk(job)
        return {**values, timing.WORKER_CPU: np.array([time.process_time() - c0, os.getpid()])}
    except Exception as err:
        raise ChunkFailedError(f"chunk {job.index} of {job.name} ({job.profile}), rows "
                               f"{sorted({j for j, _ in job.jobs})}: "
                               f"{err.__class__.__name__}: {err}") from err


def _count_cpu(spent: np.ndarray | None) -> None:
    """A worker process's CPU-seconds for one chunk, counted in the open timing blocks (the
    driver's own process is counted by the operating system already)."""
    if spent is not None and int(spent[1]) != os.getpid():
        timing.add_cpu(float(spent[0]))


def check_workers(workers: int) -> int:
    """``--workers``: an integer in [1, MAX_WORKERS] (more processes than that is a typo)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not \
            1 <= workers <= MAX_WORKERS:
        raise SpecError(f"invalid --workers {workers!r}: must be an integer in "
                        f"[1, {MAX_WORKERS}]")
    return workers


def pending(task: Task, shard: tuple[int, int], path: Path | None, threads: int = 1,
            share: bool = True) -> tuple[Family, list[ChunkJob]]:
    """The stores this fill writes (``fill.family``) and this shard's chunks with a model still
    to train; each job names the task by (name, profile, overrides), which a worker builds it
    back from."""
    fam = family(task, open_store(task, path), share)
    store = fam.own
    name, profile = task.spec.name, task.spec.profile
    execution = task.spec.execution
    engine = task.training_engine
    i, n = shard
    frozen = frozen_overrides(task.overrides)
    out = []
    for ci, chunk in enumerate(chunks(store, execution.batch)):
        if ci % n != i or not fam.pending(chunk):
            continue
        masks = np.stack([store.rows.masks[j] for j, _ in chunk])
        seeds = tuple(model_seed(task, store.rows, j, r) for j, r in chunk)
        out.append(ChunkJob(ci, name, profile, frozen, tuple(chunk), masks, seeds, engine,
                            threads, devices.requested(), devices.tf32_allowed(), fam.shared))
    if out and task.spec.train.init == "pretrained":  # W0 once, before workers need it
        from benchmarks.training.pretrained import pretrained_params

        pretrained_params(task)
    return fam, out


def fill(task: Task, shard: tuple[int, int], path: Path | None, run: Runner) -> int:
    """Train and write every pending chunk of this shard through ``run``."""
    fam, jobs = pending(task, shard, path, run.threads)
    if not jobs:
        return 0
    fam.check_resumable()
    total = sum(len(j.jobs) for j in jobs)
    bar = tqdm(total=total, desc=f"ground truth {task.label}", unit="model")  # TQDM_* env honoured
    written = 0
    try:
        for job, values in run(jobs):
            _count_cpu(values.pop(timing.WORKER_CPU, None))
            by_length = prefix.unflatten(values) if job.shared else {
                task.spec.train.steps: values}  # one cell's outputs
            written += fam.write(job.jobs, by_length)
            bar.update(len(job.jobs))
    finally:
        bar.close()
    return written
