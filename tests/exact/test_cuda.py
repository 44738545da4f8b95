"""CUDA against the CPU and batched against loop on CUDA (``pytest -m gpu``; every test skips
on a machine without CUDA, which is what CI has).

Tolerances: training is float32 and chaotic, so a model trained on another device is compared
after a few steps only (``STEPS``), where the two devices' rounding has not yet been amplified:
batched vs loop on CUDA to ``RTOL_TRAIN`` (the CPU's engine-equivalence bound), CUDA vs CPU
ground truth to ``RTOL_DEVICE``. Gradient methods read one cached full-set model whichever the
device, and compute in float64, so their scores agree to ``RTOL_METHOD``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import benchmarks.common.device as devices
from benchmarks.api.method import Need, make_method
from benchmarks.api.registry import METHODS
from benchmarks.api.task import make_task
from benchmarks.groundtruth.fill import model_seed, open_store, run_ground_truth
from benchmarks.oracles.fit import fit_method
from benchmarks.training.engine import train

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

STEPS = 20
RTOL_TRAIN, RTOL_DEVICE, RTOL_METHOD = 1e-4, 1e-3, 1e-6
TINY = {"design.n_fit": 12, "design.n_eval": 8, "train.steps": STEPS}
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def _back_to_cpu(monkeypatch):
    monkeypatch.setenv(devices.DEVICE_ENV, "cpu")  # restored (unset) after the test
    monkeypatch.setenv(devices.TF32_ENV, "0")


@pytest.mark.parametrize("init", ["scratch", "pretrained"])
def test_batched_equals_loop_on_cuda(cache, init):
    task = make_task("modular-addition", "tiny", TINY | {"train.init": init})
    store = open_store(task)
    idx = store.rows.index("fit")[:6]
    seeds = [model_seed(task, store.rows, j, 0) for j in idx]
    weights = torch.as_tensor(task.example_weights(store.rows.masks[idx]))
    problem = task.training_problem()
    a = train(problem, weights, seeds, task.spec.train, "batched", device=CUDA)
    b = train(problem, weights, seeds, task.spec.train, "loop", device=CUDA)
    for k in a:
        assert a[k].device.type == "cpu"  # results come back to the CPU
        torch.testing.assert_close(a[k], b[k], rtol=RTOL_TRAIN, atol=RTOL_TRAIN)


def test_cuda_ground_truth_is_the_cpu_one_within_tolerance(cache, monkeypatch):
    task = make_task("modular-addition", "tiny", TINY)
    cpu_store = open_store(task)
    run_ground_truth(task, cpu_store, progress=False)
    cpu = cpu_store.array("loss").copy()
    monkeypatch.setenv("TASKATTR_CACHE", str(cache / "cuda"))
    devices.configure("cuda")
    gpu_store = open_store(task)
    assert gpu_store.bits["device"] == torch.cuda.get_device_name(0)
    run_ground_truth(task, gpu_store, progress=False)
    np.testing.assert_allclose(gpu_store.array("loss"), cpu, rtol=RTOL_DEVICE, atol=RTOL_DEVICE)


def _gradient_methods() -> list[str]:
    return [n for n in METHODS.names() if Need.MODEL in METHODS.get(n).needs]


@pytest.mark.parametrize("name", _gradient_methods())
def test_gradient_method_on_cuda_matches_the_cpu(tiny_addition, name, monkeypatch):
    task, store = tiny_addition
    method = make_method(name, dict(METHODS.get(name).tiny))
    if method.applies(task):
        pytest.skip(method.applies(task))
    masks = store.rows.masks[store.rows.index("eval")]
    _, cpu_fit = fit_method(task, store, method)  # trains and caches the full-set models
    devices.configure("cuda")
    _, gpu_fit = fit_method(task, store, method)
    np.testing.assert_allclose(method.scores(gpu_fit), method.scores(cpu_fit),
                               rtol=RTOL_METHOD, atol=RTOL_METHOD)
    np.testing.assert_allclose(method.predict(gpu_fit, masks), method.predict(cpu_fit, masks),
                               rtol=RTOL_METHOD, atol=RTOL_METHOD)
