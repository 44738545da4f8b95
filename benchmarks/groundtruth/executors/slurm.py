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

import io
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmarks.fsio import CorruptFileError, atomic_write_bytes
from benchmarks.groundtruth.executors.driver import ChunkJob, pending, run_chunk
from benchmarks.groundtruth.fill import write_chunk
from benchmarks.spec import SpecError

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
    buf = io.BytesIO()
    np.savez(buf, task_key=np.array(task_key), index=np.array(job.index),
             jobs=np.array(job.jobs, dtype=np.int64), **values)
    path = Path(folder) / f"chunk-{job.index:06d}.npz"
    atomic_write_bytes(path, buf.getvalue())
    return str(path)


def collect(store) -> int:
    """Move every chunk file of ``store`` into it (refusing another task's); returns rows."""
    outputs = store.outputs
    folder = store.path / CHUNKS
    written = 0
    for path in sorted(folder.glob("chunk-*.npz")) if folder.is_dir() else []:
        try:
            with np.load(path, allow_pickle=False) as z:
                key, jobs = str(z["task_key"]), [tuple(j) for j in z["jobs"].tolist()]
                values = {k: z[k] for k in outputs}
        except (OSError, ValueError, KeyError) as err:
            raise CorruptFileError(f"{path}: not a readable chunk file ({err}); remove it to "
                                   f"retrain the chunk") from None
        if key != store.task_key:
            raise CorruptFileError(f"{path}: a chunk of task {key}, not {store.task_key}; it is "
                                   f"refused (move it to its own store)")
        written += write_chunk(store, jobs, values)
        path.unlink()
    return written


def executor(options: SlurmOptions, folder: Path):
    """A submitit executor with the options (``sbatch`` must exist for the real cluster)."""
    import submitit

    if options.cluster == "slurm" and shutil.which("sbatch") is None:
        raise SpecError("--executor slurm: sbatch is not on this machine; run it on the "
                        "cluster's login node, or print the script with --slurm-dry-run")
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
    from submitit.slurm.slurm import _make_sbatch_string

    return _make_sbatch_string(
        command="python -u -m submitit.core._submit " + str(folder / "logs"),
        folder=str(folder / "logs"), job_name="taskattr-gt", partition=options.partition,
        time=options.time_min, cpus_per_task=1, gpus_per_node=options.gpus or None,
        array_parallelism=options.array_parallelism, map_count=n_tasks)


def fill_slurm(name: str, profile: str, overrides: dict, path: Path | None,
               options: SlurmOptions, dry_run: bool = False, wait: bool = True) -> int:
    """Submit the pending chunks as one array; with ``wait``, collect when it finishes."""
    (task, store), jobs = pending(name, profile, overrides, (0, 1), path)
    folder = store.path / CHUNKS
    done_files = {int(p.stem.split("-")[1]) for p in folder.glob("chunk-*.npz")} \
        if folder.is_dir() else set()
    jobs = [replace(j, threads=1) for j in jobs if j.index not in done_files]
    if dry_run:
        print(sbatch_script(options, folder, max(len(jobs), 1)))
        return 0
    folder.mkdir(exist_ok=True)
    if jobs:
        ex = executor(options, folder)
        array = ex.map_array(save_chunk, jobs, [str(folder)] * len(jobs),
                             [store.task_key] * len(jobs))
        print(f"submitted {len(array)} array tasks ({array[0].job_id.split('_')[0]}); "
              f"collect later with: ground-truth --task {name} --collect")
        if not wait:
            return 0
        models = sum(len(j.jobs) for j in jobs)
        with tqdm(total=models, desc=f"ground truth {task.label} (array)", unit="model") as bar:
            for job, chunk in zip(array, jobs, strict=True):
                job.result()  # raises the array task's error (naming its chunk)
                bar.update(len(chunk.jobs))
    return collect(store)
