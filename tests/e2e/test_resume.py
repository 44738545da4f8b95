"""Kill a ground-truth run midway, resume it, and get arrays identical to an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TASK = ["--task", "modular-quad", "--profile", "tiny", "--batch", "4",
        "--set", "design.n_fit=8", "--set", "design.n_eval=6", "--set", "train.steps=40"]
POLL_S = 0.05


def _cmd(*extra):
    return [sys.executable, "-m", "benchmarks", "ground-truth", *TASK, *extra]


def _env(cache: Path) -> dict:
    return {**os.environ, "TASKATTR_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


def _stores(cache: Path) -> list[Path]:
    """Finished store folders (a store is created in a hidden temporary folder, then renamed)."""
    root = cache / "gt"
    return [p for p in root.iterdir() if not p.name.startswith(".")] if root.exists() else []


def _store(cache: Path) -> Path:
    (path,) = _stores(cache)
    return path


def _arrays(path: Path) -> dict:
    return {n: np.load(path / f"{n}.npy") for n in ("masks", "loss", "correct", "done")}


def test_kill_and_resume_is_bit_identical(tmp_path):
    ref = tmp_path / "ref"
    subprocess.run(_cmd(), env=_env(ref), check=True, capture_output=True)
    run = tmp_path / "run"
    proc = subprocess.Popen(_cmd(), env=_env(run), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    partial = None
    while proc.poll() is None:
        if _stores(run):
            done = np.load(_store(run) / "done.npy")
            if 0 < done.sum() < done.size:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                partial = int(np.load(_store(run) / "done.npy").sum())
                break
        time.sleep(POLL_S)
    assert partial is not None, "the run finished before it could be killed"
    assert partial < np.load(_store(ref) / "done.npy").size
    out = subprocess.run(_cmd(), env=_env(run), check=True, capture_output=True, text=True)
    assert "done" in out.stdout
    a, b = _arrays(_store(ref)), _arrays(_store(run))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert b["done"].all()


def test_sharded_equals_unsharded(tmp_path):
    """Two shards filled separately give the same store as one process."""
    ref, sharded = tmp_path / "ref", tmp_path / "sharded"
    subprocess.run(_cmd(), env=_env(ref), check=True, capture_output=True)
    for shard in ("0/2", "1/2"):
        subprocess.run(_cmd("--shard", shard), env=_env(sharded), check=True,
                       capture_output=True)
    a, b = _arrays(_store(ref)), _arrays(_store(sharded))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_store_for_another_spec_is_refused(tmp_path):
    """Pointing a different spec at an existing store folder fails with a diff, changing nothing."""
    cache = tmp_path / "c"
    subprocess.run(_cmd(), env=_env(cache), check=True, capture_output=True)
    path = _store(cache)
    before = _arrays(path)
    proc = subprocess.run(_cmd("--gt-dir", str(path), "--set", "train.lr=0.02"),
                          env=_env(cache), capture_output=True, text=True)
    assert proc.returncode == 2
    assert "train.lr" in proc.stderr and "Traceback" not in proc.stderr
    after = _arrays(path)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])


def test_thread_and_worker_settings_give_identical_stores(tmp_path):
    """The pins promise the same bits whatever the thread count or number of worker processes
    (both are what users change between machines); the stores are compared to the bit."""
    ref = tmp_path / "ref"
    subprocess.run(_cmd(), env=_env(ref), check=True, capture_output=True)
    for name, threads, extra in (("threads2", "2", ()), ("workers2", "1", ("--workers", "2"))):
        env = _env(tmp_path / name) | {"OMP_NUM_THREADS": threads}
        subprocess.run(_cmd(*extra), env=env, check=True, capture_output=True)
        a, b = _arrays(_store(ref)), _arrays(_store(tmp_path / name))
        for array in a:
            np.testing.assert_array_equal(a[array], b[array], err_msg=f"{name}: {array}")
