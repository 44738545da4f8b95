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

from benchmarks.api.task import Task, make_task
from benchmarks.common.spec import SpecError, derive_seed
from benchmarks.groundtruth.prefix import Family
from benchmarks.groundtruth.store import GroundTruthStore, store_path
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


def family(task: Task, store: GroundTruthStore, share: bool = True) -> Family:
    """``store``'s cell and, where it shares training with sibling lengths
    (``design.shared_lengths``), lives at the default path and ``share`` (False: the SLURM
    executor, whose chunk files hold one cell), their stores (opened, or created, with the
    same rows): what one training of a chunk writes (``prefix.py``)."""
    own = task.spec.train.steps
    lengths = task.spec.design.shared_lengths
    if not (share and lengths) or store.path != store_path(task.spec, None):
        return Family(task, {own: store})
    return Family(task, {steps: store if steps == own else _sibling(task, steps, store)
                         for steps in lengths})


def _sibling(task: Task, steps: int, store: GroundTruthStore) -> GroundTruthStore:
    sibling = make_task(task.spec.name, task.spec.profile,
                        {**task.overrides, "train.steps": steps})
    other = open_store(sibling)
    if not np.array_equal(other.rows.masks, store.rows.masks):  # base_key makes them equal
        raise RuntimeError(f"{sibling.label}: its subsets differ from {task.label}'s, so the "
                           f"two cannot share training")
    return other


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
    fam = family(task, store)
    todo = [c for ci, c in enumerate(chunks(store, execution.batch))
            if ci % n == i and fam.pending(c)]
    total = sum(len(c) for c in todo)
    if not total:
        return 0
    fam.check_resumable()
    if task.spec.train.init == "pretrained":  # W0 loaded (verified) or trained before the bar
        from benchmarks.training.pretrained import pretrained_params

        pretrained_params(task)
    written = 0
    bar = tqdm(total=total, desc=f"ground truth {task.label}", unit="model", disable=not progress)
    for chunk in todo:
        masks = np.stack([store.rows.masks[j] for j, _ in chunk])
        seeds = [model_seed(task, store.rows, j, r) for j, r in chunk]
        written += fam.write(chunk, fam.evaluate(masks, seeds, engine))
        bar.update(len(chunk))
    bar.close()
    return written
