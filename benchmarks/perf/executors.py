"""What an executor costs next to training: ``python -m benchmarks.perf.executors`` ->
``bench.json`` entry ``executors``.

The same ground truth (quick ``modular-addition-ft`` by default: 354 short fine-tunings in 12
chunks, where overheads show most) is filled in a fresh cache three ways, side by side in one
process: in the driver (one worker), the local pool, a Dask ``LocalCluster`` (``--workers``
each) and the SLURM path on submitit's local cluster (array tasks writing chunk files, then the
collect step). For each: wall-clock, models per second, the start-up (the Dask cluster's), and the
overhead per chunk beyond ideal scaling, ``(wall - start-up - inline / workers) / chunks``.
Every store is checked equal to the in-driver one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.executors import Executor, SlurmOptions, dask_pool
from benchmarks.groundtruth.executors.driver import fill
from benchmarks.groundtruth.fill import chunks, open_store
from benchmarks.perf.engine import write_entry


def _fill(task_name: str, workers: int, way: str) -> tuple[float, float]:
    """(start-up s, wall s) of one way's fill in the current cache; only the Dask cluster has
    a start-up timed apart (the pool's and the array's are part of their fill)."""
    t0 = time.perf_counter()
    if way == "dask":
        run = dask_pool.runner(workers, None)
        start = time.perf_counter() - t0
        fill(task_name, "quick", {}, (0, 1), None, run)
        return start, time.perf_counter() - t0
    executor = {"inline": Executor("local", 1), "local": Executor("local", workers),
                "slurm": Executor("slurm", slurm=SlurmOptions(cluster="local",
                                                              array_parallelism=workers))}[way]
    executor.fill(make_task(task_name, "quick"))
    return 0.0, time.perf_counter() - t0


def measure(task_name: str, workers: int) -> dict:
    task = make_task(task_name, "quick")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TASKATTR_CACHE"] = tmp
        n_chunks = len(chunks(open_store(task), task.spec.execution.batch))
        n_models = int(open_store(task).done.size)
        rows, ref = {}, None
        for way in ("inline", "local", "dask", "slurm"):  # inline first: the reference
            os.environ["TASKATTR_CACHE"] = tempfile.mkdtemp(dir=tmp)
            start, wall = _fill(task_name, workers, way)
            loss = open_store(make_task(task_name, "quick")).array("loss").copy()
            ref = loss if ref is None else ref
            ideal = wall if way == "inline" else rows["inline"]["wall_s"] / workers
            rows[way] = {"wall_s": wall, "models_per_s": n_models / wall, "startup_s": start,
                         "overhead_s_per_chunk": (wall - start - ideal) / n_chunks,
                         "identical_to_inline": bool(np.array_equal(loss, ref))}
            print(way, rows[way])
    return {"task": task_name, "profile": "quick", "workers": workers, "models": n_models,
            "chunks": n_chunks, "ways": rows, "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.executors", description=__doc__)
    ap.add_argument("--task", default="modular-addition-ft")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    write_entry("executors", measure(args.task, args.workers))


if __name__ == "__main__":
    main()
