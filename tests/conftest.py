"""Shared test fixtures: a per-test cache folder; single-threaded torch and BLAS for speed.

On a busy 2-core machine, multi-threaded OpenBLAS on the tests' tiny float64 matrices is
100x slower than one thread, so BLAS is limited to one thread for the whole session.
"""

from __future__ import annotations

# isort: off
import benchmarks  # noqa: F401  first: sets the math-library pins before numpy/torch load

# isort: on
import pytest
import torch
from threadpoolctl import threadpool_limits

torch.set_num_threads(1)
_BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")


TINY_ADDITION = {"design.n_fit": 12, "design.n_eval": 8, "train.steps": 20}


@pytest.fixture(scope="module")
def tiny_addition(tmp_path_factory):
    """(task, store) of tiny modular addition (``TINY_ADDITION``) with its ground truth trained,
    in a cache of the module's own for as long as the module's tests run."""
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.fill import open_store, run_ground_truth

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("tiny-addition")))
        task = make_task("modular-addition", "tiny", TINY_ADDITION)
        store = open_store(task)
        run_ground_truth(task, store, progress=False)
        yield task, store


@pytest.fixture
def tiny_ctx(cache):
    """A method's Context on tiny modular addition trained 20 steps: its full-set model and
    checkpoints (trained on first use in the test's cache), no subset ground truth."""
    from benchmarks.api.context import Context
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.fill import open_store
    from benchmarks.groundtruth.fullmodel import StoreFullModels, full_model

    task = make_task("modular-addition", "tiny", {"train.steps": 20})
    store = open_store(task)
    return Context(task=task, seed=1, model=full_model(task, store),
                   models=StoreFullModels(task, store))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Point ``TASKATTR_CACHE`` (read at call time by ``cache_root``) at a fresh folder."""
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    return tmp_path
