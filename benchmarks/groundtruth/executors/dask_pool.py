"""The Dask executor (``--executor dask``): a ``LocalCluster`` of single-threaded worker
processes bound to the loopback, or an existing cluster (``--scheduler tcp://HOST:PORT``). A
worker lost mid-chunk is replaced and its chunk rescheduled by Dask (up to its
``distributed.scheduler.allowed-failures``; past it the run stops with ``ExecutorError``, keeping
the chunks written); an exception in our own code is not retried.
Workers of a remote cluster need this code and, in the fine-tuning regime, the cache folder
holding W0 (``TASKATTR_CACHE`` on a shared file system); only the driver writes the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import ModuleType

import numpy as np

from benchmarks.common.spec import ExecutorError
from benchmarks.groundtruth.executors.driver import ChunkJob, run_chunk

CONNECT_TIMEOUT_S = 10


@dataclass
class DaskRunner:
    """A connected Dask client and the cluster it started (None for a given scheduler)."""

    client: object
    cluster: object | None
    threads: int

    def __call__(self, jobs: list[ChunkJob]) -> Iterator[tuple[ChunkJob, dict[str, np.ndarray]]]:
        from distributed import as_completed

        try:
            futures = {self.client.submit(run_chunk, replace(job, threads=self.threads),
                                          key=f"chunk-{job.index}-{id(job)}", retries=0,
                                          pure=False): job for job in jobs}
            for fut in as_completed(futures):
                yield futures[fut], _result(fut, futures[fut])
        finally:
            self.close()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _result(fut, job: ChunkJob) -> dict[str, np.ndarray]:
    """A chunk's arrays; a chunk whose workers died more often than Dask allows stops the run
    with one line (Dask's ``KilledWorker`` is a traceback of its internals)."""
    from distributed import KilledWorker

    try:
        return fut.result()
    except KilledWorker:
        raise ExecutorError(f"--executor dask: the workers training chunk {job.index} of "
                            f"{job.name} died more often than Dask's "
                            f"distributed.scheduler.allowed-failures allows (killed? out of "
                            f"memory?); finished chunks are kept: rerun to resume") from None


def require() -> ModuleType:
    """The ``distributed`` module, or ``ExecutorError`` naming the extra to install; called
    before anything is created."""
    try:
        import distributed
    except ImportError as err:
        raise ExecutorError(f"--executor dask needs the dask extra ({err.__class__.__name__}: "
                            f"{err}): pip install 'taskattr[dask]' (dask[distributed])") from None
    return distributed


def runner(workers: int, scheduler: str | None, threads: int = 1) -> DaskRunner:
    """Connect now (an unreachable scheduler fails here, before anything is written)."""
    distributed = require()
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    if scheduler:
        try:
            return DaskRunner(Client(scheduler, timeout=CONNECT_TIMEOUT_S), None, threads)
        except (OSError, TimeoutError) as err:
            raise OSError(f"cannot reach the Dask scheduler {scheduler} within "
                          f"{CONNECT_TIMEOUT_S} s ({err.__class__.__name__}); nothing was "
                          f"written") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           silence_logs=logging.ERROR)
    return DaskRunner(Client(cluster), cluster, threads)
