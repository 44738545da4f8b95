"""Executors (benchmarks/groundtruth/executors): the local pool and Dask fill stores identical
to training in one process, also when a worker is killed mid-run; our own errors name the
chunk. Dask runs on a LocalCluster bound to the loopback only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.api.task import make_task
from benchmarks.groundtruth.executors import fill_ground_truth
from benchmarks.groundtruth.executors.driver import ChunkFailedError, ChunkJob, run_chunk

psutil = pytest.importorskip("psutil")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
TASK = ["--task", "modular-quad", "--profile", "tiny", "--batch", "4",
        "--set", "design.n_fit=10", "--set", "design.n_eval=6", "--set", "train.steps=150"]
OVERRIDES = {"execution.batch": 4, "design.n_fit": 10, "design.n_eval": 6, "train.steps": 150}


def _env(cache: Path) -> dict:
    return {**os.environ, "TASKATTR_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


def _store(cache: Path) -> Path:
    (path,) = [p for p in (cache / "gt").iterdir() if not p.name.startswith(".")]
    return path


def _arrays(cache: Path) -> dict:
    return {n: np.load(_store(cache) / f"{n}.npy") for n in ("loss", "correct", "done", "checks")}


def _same(a: Path, b: Path) -> None:
    x, y = _arrays(a), _arrays(b)
    for name in x:
        np.testing.assert_array_equal(x[name], y[name], err_msg=name)
    assert y["done"].all()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The store trained in one process."""
    cache = tmp_path_factory.mktemp("ref")
    cmd = [sys.executable, "-m", "benchmarks", "ground-truth", *TASK]
    subprocess.run(cmd, env=_env(cache), check=True, capture_output=True)
    return cache


def _kill_one_worker_mid_run(proc: subprocess.Popen, cache: Path, pids) -> bool:
    """SIGKILL one training worker once some but not all models are written."""
    while proc.poll() is None:
        try:
            done = np.load(_store(cache) / "done.npy")
        except (FileNotFoundError, ValueError, OSError):
            time.sleep(0.05)
            continue
        if 0 < done.sum() < done.size:
            workers = pids()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                return True
        time.sleep(0.05)
    return False


def test_local_pool_survives_a_killed_worker(reference, tmp_path):
    cmd = [sys.executable, "-m", "benchmarks", "ground-truth", *TASK, "--workers", "2"]
    proc = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

    def pool_workers() -> list[int]:
        kids = psutil.Process(proc.pid).children(recursive=True)
        return [k.pid for k in kids if "spawn_main" in " ".join(k.cmdline())]

    killed = _kill_one_worker_mid_run(proc, tmp_path, pool_workers)
    out, err = proc.communicate(timeout=300)
    assert killed, "the run finished before a worker could be killed"
    assert proc.returncode == 0, err[-2000:]
    _same(reference, tmp_path)


@pytest.fixture(scope="module")
def cluster():
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 host="127.0.0.1", dashboard_address=None)
    yield c
    c.close()


def test_dask_local_cluster_equals_one_process(reference, tmp_path, monkeypatch):
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    n = fill_ground_truth(make_task("modular-quad", "tiny", OVERRIDES), workers=2,
                          executor="dask")
    assert n == _arrays(reference)["done"].size
    _same(reference, tmp_path)


def test_dask_survives_a_killed_worker(reference, tmp_path, cluster):
    cmd = [sys.executable, "-m", "benchmarks", "ground-truth", *TASK, "--executor", "dask",
           "--scheduler", cluster.scheduler_address]
    proc = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    with distributed.Client(cluster) as client:
        pids = lambda: sorted(client.run(os.getpid).values())  # noqa: E731
        killed = _kill_one_worker_mid_run(proc, tmp_path, pids)
    out, err = proc.communicate(timeout=300)
    assert killed, "the run finished before a worker could be killed"
    assert proc.returncode == 0, err[-2000:]
    _same(reference, tmp_path)


def test_an_error_in_our_code_names_the_chunk_and_is_not_retried():
    job = ChunkJob(7, "no-such-task", "tiny", (), ((3, 0),), np.ones((1, 2), bool), (1,),
                   "batched")
    with pytest.raises(ChunkFailedError, match=r"chunk 7 of no-such-task \(tiny\), rows \[3\]"):
        run_chunk(job)


def test_conflicting_and_unreachable_executor_options_are_refused(tmp_path):
    env = _env(tmp_path)
    base = [sys.executable, "-m", "benchmarks", "ground-truth", *TASK, "--executor", "dask"]
    bad = subprocess.run([*base, "--shard", "0/2"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "--shard and --executor dask conflict" in bad.stderr
    gone = subprocess.run([*base, "--scheduler", "tcp://127.0.0.1:9"], env=env,
                          capture_output=True, text=True)
    assert gone.returncode == 2 and "cannot reach the Dask scheduler" in gone.stderr
    assert not (tmp_path / "gt").exists()  # nothing written


submitit = pytest.importorskip("submitit", reason="the slurm extra is not installed")


def test_slurm_array_through_submitit_collects_an_identical_store(reference, tmp_path,
                                                                 monkeypatch):
    """submitit's local cluster runs the same array tasks; each writes a chunk file and the
    collect step moves them into the store."""
    from benchmarks.groundtruth.executors import Executor, SlurmOptions

    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    ex = Executor("slurm", slurm=SlurmOptions(cluster="local", time_min=5))
    n = ex.fill(make_task("modular-quad", "tiny", OVERRIDES)).models
    assert n == _arrays(reference)["done"].size
    _same(reference, tmp_path)
    assert not list((_store(tmp_path) / "chunks").glob("chunk-*.npz"))  # all collected


def test_slurm_dry_run_prints_the_array_partition_gpu_and_time(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks", "ground-truth", *TASK, "--executor", "slurm",
           "--slurm-dry-run", "--slurm-partition", "gpu", "--slurm-gpus", "2",
           "--slurm-time", "90", "--slurm-array-parallelism", "3"]
    out = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    for want in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2", "#SBATCH --time=90"):
        assert want in lines, out.stdout
    assert any(ln.startswith("#SBATCH --array=0-") and ln.endswith("%3") for ln in lines)


def test_collect_refuses_a_chunk_file_of_another_task(tmp_path, monkeypatch):
    from benchmarks.api.task import make_task
    from benchmarks.common.fsio import CorruptFileError
    from benchmarks.groundtruth.executors import collect
    from benchmarks.groundtruth.fill import open_store

    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    store = open_store(make_task("modular-quad", "tiny", OVERRIDES))
    (store.path / "chunks").mkdir()
    np.savez(store.path / "chunks" / "chunk-000000.npz", task_key=np.array("other-task"),
             index=np.array(0), jobs=np.zeros((1, 2), np.int64),
             loss=np.zeros((1, 3)), correct=np.zeros((1, 3)))
    with pytest.raises(CorruptFileError, match="a chunk of task other-task"):
        collect(store)
    assert not store.done.any()


def test_selection_retraining_on_two_workers_equals_one(tiny_addition):
    """The selection stage's chunks spread over a pool give the values the driver trains
    alone, bit for bit (each chunk is the same engine call)."""
    import shutil

    from benchmarks.stages.selection import random_masks, retrained_loss

    task, store = tiny_addition
    masks = random_masks(task, task.K // 2, 5)
    pooled = retrained_loss(task, store, masks, chunk=2, workers=2)
    shutil.rmtree(store.path / "selection")
    alone = retrained_loss(task, store, masks, chunk=2, workers=1)
    np.testing.assert_array_equal(pooled, alone)


def test_the_local_pool_is_kept_between_calls_and_replaced_when_a_worker_dies(
        reference, tmp_path, monkeypatch):
    """A second fill in the same process reuses the started workers (same pids) and gets the
    same bits; a worker killed while idle is replaced on the next call, which still agrees."""
    import shutil

    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    def workers() -> set[int]:  # spawned children (other tests' Dask workers among them)
        found = set()
        for k in psutil.Process().children(recursive=True):
            try:
                if "spawn_main" in " ".join(k.cmdline()):
                    found.add(k.pid)
            except psutil.Error:  # exited meanwhile
                pass
        return found

    def fill(old: set[int]) -> set[int]:
        """The pool processes this fill used: spawned children not in ``old``."""
        if (tmp_path / "gt").exists():
            shutil.rmtree(tmp_path / "gt")
        fill_ground_truth(make_task("modular-quad", "tiny", OVERRIDES), workers=2)
        _same(reference, tmp_path)
        return workers() - old

    before = workers()
    first = fill(before)
    assert len(first) == 2 and fill(before) == first
    os.kill(min(first), signal.SIGKILL)
    time.sleep(0.5)
    third = fill(before | first)
    assert len(third) == 2
