"""Fill a task's ground-truth store: train every pending (row, seed) model, resumably.

Jobs are the (row, seed) pairs of the store in row-major order, cut into fixed chunks of
``spec.execution.batch`` models (part of the task key); a chunk is trained as one batched engine
call, so its results never depend on which other chunks ran, were sharded away, or were killed.
``--shard i/N`` takes chunks c = i (mod N). If a chunk was interrupted part-way through its
writes, a rerun retrains the whole chunk (identical computation) and writes only the missing
rows, so a resumed store is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmarks.api.task import Task
from benchmarks.common.spec import SpecError, derive_seed
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.groundtruth.subsets import Rows, build_rows


def open_store(task: Task, path: Path | None = None, create: bool = True) -> GroundTruthStore:
    """The store of ``task`` (created if absent unless ``create=False``; refused if written
    for another spec)."""
    return GroundTruthStore.open(task.spec, task_rows(task), task.outputs, task.n_targets, path,
                                 create)


def task_rows(task: Task) -> Rows:
    """The task's row table: its own (imported ground truth) or sampled from its design."""
    return task.fixed_rows() or build_rows(task.spec.design, task.K, task.spec.base_key)


def model_seed(task: Task, rows: Rows, row: int, r: int) -> int:
    """Training seed of (row, r): shared across rows (common random numbers) or per row."""
    return seed_of(task, rows.names[row], r)


def seed_of(task: Task, name: str, r: int) -> int:
    """Training seed of seed index r for a subset named ``name`` (see ``model_seed``)."""
    if task.spec.design.seed_scheme == "shared":
        return derive_seed(task.spec.base_key, "train", r)
    return derive_seed(task.spec.base_key, "train", name, r)


def chunks(store: GroundTruthStore, batch: int) -> list[list[tuple[int, int]]]:
    """All (row, seed) jobs in row-major order, cut into chunks of ``batch``."""
    m, R = store.done.shape
    jobs = [(j, r) for j in range(m) for r in range(R)]
    return [jobs[i:i + batch] for i in range(0, len(jobs), batch)]


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/N"`` -> (i, N), with 0 <= i < N."""
    if text is None:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SpecError(f"invalid --shard {text!r}: expected i/N, e.g. 0/2") from None
    if not 0 <= i < n:
        raise SpecError(f"invalid --shard {text!r}: need 0 <= i < N")
    return i, n


def run_ground_truth(task: Task, store: GroundTruthStore, shard: tuple[int, int] = (0, 1),
                     progress: bool = True) -> int:
    """Train this shard's pending chunks; returns the number of models written.

    Chunk size and engine come from ``task.spec.execution`` (``"auto"`` = ``Task.engine``).
    """
    execution = task.spec.execution
    engine = task.training_engine
    i, n = shard
    todo = [c for ci, c in enumerate(chunks(store, execution.batch))
            if ci % n == i and any(store.done[j, r] == 0 for j, r in c)]
    total = sum(len(c) for c in todo)
    if not total:
        return 0
    store.check_resumable()
    if task.spec.train.init == "pretrained":  # W0 loaded (verified) or trained before the bar
        from benchmarks.training.pretrained import pretrained_params

        pretrained_params(task)
    written = 0
    bar = tqdm(total=total, desc=f"ground truth {task.label}", unit="model", disable=not progress)
    for chunk in todo:
        masks = np.stack([store.rows.masks[j] for j, _ in chunk])
        seeds = [model_seed(task, store.rows, j, r) for j, r in chunk]
        written += write_chunk(store, chunk, task.evaluate(masks, seeds, engine))
        bar.update(len(chunk))
    bar.close()
    return written


def write_chunk(store: GroundTruthStore, chunk: list[tuple[int, int]] | tuple,
                values: dict[str, np.ndarray]) -> int:
    """Write a trained chunk's rows not yet done (``values: {output: (B, n_targets)}``, in
    the chunk's job order); returns how many were written. The one place rows enter a store."""
    written = 0
    for b, (j, r) in enumerate(chunk):
        if store.done[j, r] == 0:
            store.write(j, r, {k: v[b] for k, v in values.items()})
            written += 1
    return written
