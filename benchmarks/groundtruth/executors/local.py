"""The local executor's process pool: single-threaded processes (on a 2-core machine two keep
both cores busy with small models; one worker trains in the driver, ``fill.run_ground_truth``).
A pool whose worker dies mid-chunk (killed, out of memory) is rebuilt and the unfinished
chunks are trained again, identically.

The processes are started once and kept for the driver's life (while its environment and
folder stay the same), so the cells and stages of one ``replicate`` reuse their started
interpreters, imports and cached tasks instead of paying for them per call."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import numpy as np

from benchmarks.common.spec import ExecutorError
from benchmarks.groundtruth.executors.driver import ChunkJob, run_chunk

MAX_RESTARTS = 3  # pools rebuilt after lost workers before the run gives up


@dataclass(frozen=True)
class Pool:
    """``workers`` spawned processes of ``threads`` torch threads each."""

    workers: int
    threads: int

    def __call__(self, jobs: list[ChunkJob]) -> Iterator[tuple[ChunkJob, dict[str, np.ndarray]]]:
        todo = {job.index: job for job in jobs}
        for attempt in range(MAX_RESTARTS + 1):
            try:
                yield from self._round(todo)
                return
            except BrokenProcessPool:
                _discard()
                if attempt == MAX_RESTARTS:
                    raise ExecutorError(f"--workers {self.workers}: training processes died "
                                        f"{MAX_RESTARTS + 1} times (killed? out of memory?); "
                                        f"chunks {sorted(todo)} are untrained, finished ones are "
                                        f"kept: rerun to resume (fewer --workers if memory ran "
                                        f"out)") from None

    def _round(self, todo: dict[int, ChunkJob]):
        """Submit every chunk still in ``todo``; yield and drop each as it completes."""
        pool = _live(self.workers)  # a worker lost while idle breaks it: submit raises
        running = {pool.submit(run_chunk, replace(job, threads=self.threads)): job
                   for job in todo.values()}
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = running.pop(fut)
                    values = fut.result()  # a lost worker raises BrokenProcessPool here
                    del todo[job.index]
                    yield job, values
        finally:
            for fut in running:
                fut.cancel()


_LIVE: dict[tuple, ProcessPoolExecutor] = {}  # at most one: the pool now in use


def _live(workers: int) -> ProcessPoolExecutor:
    """The started pool of ``workers`` processes, made (and any other one shut) when there is
    none for this worker count, environment and folder: a worker inherits those at its start."""
    key = (workers, os.getcwd(), tuple(sorted(os.environ.items())))
    if key not in _LIVE:
        _discard()
        _LIVE[key] = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                         initializer=_die_with_parent, initargs=(os.getpid(),))
    return _LIVE[key]


def _discard() -> None:
    """Shut the live pool (a broken one, or one started for another environment)."""
    for pool in _LIVE.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _LIVE.clear()


def pool(workers: int, threads: int = 1) -> Pool:
    return Pool(workers, threads)


def _die_with_parent(parent: int) -> None:
    """Worker initialiser: exit when the parent process dies (Linux: PR_SET_PDEATHSIG), so a
    killed parent leaves no orphan training processes; also if it died before this ran."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent:
        os._exit(1)
