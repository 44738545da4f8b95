"""SLURM job arrays through ``submitit`` (``--executor slurm``): one array task per chunk.

No driver need stay alive on a cluster, so an array task does not return its arrays: it writes
them to ``<store>/chunks/chunk-<index>.npz`` (atomically: a half-written file is never seen),
stamped with the task's key. The collect step (``collect``: run by the driver when it waits
for the array, or later by ``ground-truth --collect``) moves every chunk file into the store,
refusing files of another task, and removes what it collected. ``--slurm-dry-run`` prints the
sbatch script and submits nothing. A preempted or failed array task is requeued by SLURM or
resubmitted by rerunning the command (the done flags and collected files say what is left).
"""

from __future__ import annotations

import hashlib
import io
import math
import shutil
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmarks.api.task import Task
from benchmarks.common import timing
from benchmarks.common.fsio import CorruptFileError, atomic_write_bytes
from benchmarks.common.spec import ExecSpec, SpecError
from benchmarks.groundtruth.executors.driver import ChunkJob, pending, run_chunk
from benchmarks.groundtruth.fill import chunks, task_rows
from benchmarks.groundtruth.store import store_path

CHUNKS = "chunks"


@dataclass(frozen=True)
class SlurmOptions:
    """``--slurm-*``: where and how long each array task runs."""

    partition: str | None = None
    gpus: int = 0
    time_min: int = 60
    array_parallelism: int = 64
    cluster: str = "slurm"  # submitit's "local" runs the same array on this machine (tests)


def save_chunk(job: ChunkJob, folder: str, task_key: str) -> str:
    """An array task's work: train the chunk, write its file atomically; returns its path."""
    values = run_chunk(job)
    values.pop(timing.WORKER_CPU)  # a cluster's CPU time is not this machine's
    jobs = np.array(job.jobs, dtype=np.int64).reshape(-1, 2)
    buf = io.BytesIO()
    np.savez(buf, task_key=np.array(task_key), index=np.array(job.index), jobs=jobs,
             sha256=np.array(chunk_digest(task_key, job.index, jobs, values)), **values)
    path = Path(folder) / f"chunk-{job.index:06d}.npz"
    atomic_write_bytes(path, buf.getvalue())
    return str(path)


def chunk_digest(task_key: str, index: int, jobs: np.ndarray,
                 values: dict[str, np.ndarray]) -> str:
    """sha256 of a chunk file's contents: its task, index, ``jobs (B, 2)`` and every output's
    ``(B, n_targets)`` float64 values, in name order."""
    h = hashlib.sha256(f"{task_key}/{int(index)}/".encode())
    h.update(np.ascontiguousarray(jobs, dtype=np.int64).tobytes())
    for name in sorted(values):
        arr = np.ascontiguousarray(values[name], dtype=np.float64)
        h.update(f"{name}:{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def collect(store) -> int:
    """Move every chunk file of ``store`` into it; returns rows written. Every file is checked
    first (readable, this task, its digest, its index and jobs those of the store's chunk plan,
    one ``(B, n_targets)`` row block per output): a bad file is refused, naming it, before any
    row of any file is written."""
    folder = store.path / CHUNKS
    paths = sorted(folder.glob("chunk-*.npz")) if folder.is_dir() else []
    plan = chunks(store, ExecSpec(**store.spec_plain.get("execution", {})).batch)
    loaded = [(path, _read_chunk(path, store, plan)) for path in paths]
    written = 0
    for path, (jobs, values) in loaded:
        written += store.write_chunk(jobs, values)
        path.unlink()
    return written


def _read_chunk(path: Path, store, plan: list[list[tuple[int, int]]]
                ) -> tuple[list[tuple[int, int]], dict[str, np.ndarray]]:
    """A chunk file's (jobs, values), verified against the store (see ``collect``)."""
    def bad(why: str) -> CorruptFileError:
        return CorruptFileError(f"{path}: {why}; nothing was collected (remove the file to "
                                f"retrain its chunk)")

    try:
        with np.load(path, allow_pickle=False) as z:
            key, index = str(z["task_key"]), int(z["index"])
            digest = str(z["sha256"]) if "sha256" in z.files else None
            jobs = np.asarray(z["jobs"])
            values = {k: np.asarray(z[k]) for k in store.outputs}
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as err:
        raise bad(f"not a readable chunk file ({err.__class__.__name__}: {err})") from None
    if key != store.task_key:
        raise bad(f"a chunk of task {key}, not {store.task_key}")
    if jobs.dtype.kind not in "iu" or jobs.ndim != 2 or jobs.shape[1] != 2:
        raise bad(f"jobs must be (B, 2) integers, got {jobs.dtype} {jobs.shape}")
    if digest is None:
        raise bad("no sha256 of its contents (written by an older version), so it cannot be "
                  "verified")
    if chunk_digest(key, index, jobs, values) != digest:
        raise bad("its contents do not match their sha256 (a damaged or edited file)")
    if not 0 <= index < len(plan) or [tuple(j) for j in jobs.tolist()] != plan[index]:
        raise bad(f"index {index} and its {len(jobs)} jobs are not a chunk of this store's "
                  f"plan ({len(plan)} chunks)")
    n_targets = store.array(store.outputs[0]).shape[-1]
    for name, arr in values.items():
        if arr.shape != (len(jobs), n_targets):
            raise bad(f"{name} holds {arr.shape} values for {len(jobs)} jobs x "
                      f"{n_targets} targets")
    return [tuple(j) for j in jobs.tolist()], values


def _submitit():
    """The ``submitit`` module, or a one-line error naming the extra that provides it."""
    try:
        import submitit
        from submitit.slurm import slurm  # noqa: F401  (sbatch_script reads it)
    except ImportError as err:
        raise SpecError(f"--executor slurm needs submitit ({err.__class__.__name__}: {err}); "
                        f"install the extra: pip install -e '.[slurm]'") from None
    return submitit


def check_slurm(options: SlurmOptions, dry_run: bool) -> None:
    """Refuse before anything is created: submitit missing, or no ``sbatch`` to submit to."""
    _submitit()
    if not dry_run and options.cluster == "slurm" and shutil.which("sbatch") is None:
        raise SpecError("--executor slurm: sbatch is not on this machine; run it on the "
                        "cluster's login node, or print the script with --slurm-dry-run")


def executor(options: SlurmOptions, folder: Path):
    """A submitit executor with the options (``sbatch`` must exist for the real cluster)."""
    check_slurm(options, dry_run=False)
    submitit = _submitit()
    ex = submitit.AutoExecutor(folder=str(folder / "logs"), cluster=options.cluster)
    params = {"timeout_min": options.time_min, "cpus_per_task": 1, "name": "taskattr-gt"}
    if options.cluster == "slurm":
        params |= {"slurm_array_parallelism": options.array_parallelism,
                   "gpus_per_node": options.gpus or None}
        if options.partition:
            params["slurm_partition"] = options.partition
    ex.update_parameters(**params)
    return ex


def sbatch_script(options: SlurmOptions, folder: Path, n_tasks: int) -> str:
    """The sbatch script submitit would submit for an array of ``n_tasks``."""
    return _submitit().slurm.slurm._make_sbatch_string(
        command="python -u -m submitit.core._submit " + str(folder / "logs"),
        folder=str(folder / "logs"), job_name="taskattr-gt", partition=options.partition,
        time=options.time_min, cpus_per_task=1, gpus_per_node=options.gpus or None,
        array_parallelism=options.array_parallelism, map_count=n_tasks)


def _dry_run_script(task: Task, path: Path | None, options: SlurmOptions) -> str:
    """The sbatch script for the task's pending chunks, creating nothing: a store that does
    not exist yet has every chunk pending."""
    where = store_path(task.spec, path)
    if (where / "manifest.json").exists():
        n = len(pending(task, (0, 1), path, share=False)[1])
    else:
        n = math.ceil(len(task_rows(task)) * task.spec.design.n_seeds / task.spec.execution.batch)
    return sbatch_script(options, where / CHUNKS, max(n, 1))


def fill_slurm(task: Task, path: Path | None, options: SlurmOptions, dry_run: bool = False,
               wait: bool = True) -> int:
    """Submit the pending chunks as one array; with ``wait``, collect when it finishes."""
    check_slurm(options, dry_run)
    if dry_run:
        print(_dry_run_script(task, path, options))
        return 0
    fam, jobs = pending(task, (0, 1), path, share=False)  # a chunk file holds one cell
    store = fam.own
    folder = store.path / CHUNKS
    done_files = {int(p.stem.split("-")[1]) for p in folder.glob("chunk-*.npz")} \
        if folder.is_dir() else set()
    jobs = [replace(j, threads=1) for j in jobs if j.index not in done_files]
    folder.mkdir(exist_ok=True)
    if jobs:
        ex = executor(options, folder)
        array = ex.map_array(save_chunk, jobs, [str(folder)] * len(jobs),
                             [store.task_key] * len(jobs))
        print(f"submitted {len(array)} array tasks ({array[0].job_id.split('_')[0]}); "
              f"collect later with: ground-truth --task {task.spec.name} --collect")
        if not wait:
            return 0
        models = sum(len(j.jobs) for j in jobs)
        with tqdm(total=models, desc=f"ground truth {task.label} (array)", unit="model") as bar:
            for job, chunk in zip(array, jobs, strict=True):
                job.result()  # raises the array task's error (naming its chunk)
                bar.update(len(chunk.jobs))
    return collect(store)
