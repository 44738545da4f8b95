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

from benchmarks.groundtruth.executors import Executor, SlurmOptions, dask_pool, fill_ground_truth
from benchmarks.groundtruth.executors.driver import fill
from benchmarks.groundtruth.fill import chunks, open_store
from benchmarks.perf.engine import write_entry
from benchmarks.provenance import provenance
from benchmarks.task import make_task


def _timed_fill(task_name: str, cache: str, how) -> tuple[float, np.ndarray]:
    os.environ["TASKATTR_CACHE"] = cache
    t0 = time.perf_counter()
    how()
    wall = time.perf_counter() - t0
    store = open_store(make_task(task_name, "quick"))
    return wall, store.array("loss").copy()


def measure(task_name: str, workers: int) -> dict:
    task = make_task(task_name, "quick")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TASKATTR_CACHE"] = tmp
        n_chunks = len(chunks(open_store(task), task.spec.execution.batch))
        n_models = int(open_store(task).done.size)
        rows, ref = {}, None
        for way in ("inline", "local", "dask", "slurm"):
            cache = tempfile.mkdtemp(dir=tmp)
            start = 0.0
            if way == "inline":
                def how(): return fill_ground_truth(task_name, "quick", {}, 1)
            elif way == "local":
                def how(): return fill_ground_truth(task_name, "quick", {}, workers)
            elif way == "dask":
                t0 = time.perf_counter()
                run = dask_pool.runner(workers, None)
                start = time.perf_counter() - t0

                def how(run=run):
                    return fill(task_name, "quick", {}, (0, 1), None, run)
            else:  # submitit's local cluster: the array tasks and chunk files of SLURM
                slurm = Executor("slurm", slurm=SlurmOptions(cluster="local",
                                                             array_parallelism=workers))

                def how(slurm=slurm):
                    return slurm.fill(task_name, "quick", {})
            wall, loss = _timed_fill(task_name, cache, how)
            wall += start
            ref = loss if ref is None else ref
            ideal = rows["inline"]["wall_s"] / (1 if way == "inline" else workers) \
                if way != "inline" else wall
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
