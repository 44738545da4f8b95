"""``--device``/``--tf32`` (benchmarks/common/device.py): parsing, refusals, propagation to workers,
provenance, and the out-of-memory retry at half the models. Runs on a CPU-only machine; the
CUDA checks themselves are tests/exact/test_cuda.py (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import benchmarks.common.device as devices
from benchmarks.api.task import make_task
from benchmarks.common.provenance import bit_provenance, provenance
from benchmarks.training import engine

NO_CUDA = not torch.cuda.is_available()


@pytest.fixture(autouse=True)
def _cpu_after(monkeypatch):
    """Each test starts and ends on the CPU (``configure`` writes the environment)."""
    monkeypatch.setenv(devices.DEVICE_ENV, "cpu")  # restored (unset) after the test
    monkeypatch.setenv(devices.TF32_ENV, "0")
    yield
    devices._apply_tf32(False)


def test_cpu_and_auto_resolve_to_the_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.resolve("cpu") == torch.device("cpu")
    assert devices.resolve("auto") == torch.device("cpu")
    assert devices.resolve(" CPU ") == torch.device("cpu")
    assert devices.current() == torch.device("cpu")  # nothing configured: the CPU


def test_cuda_without_cuda_is_one_line_naming_the_fallback(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(devices.DeviceError) as err:
        devices.resolve("cuda")
    text = str(err.value)
    assert "\n" not in text and "CUDA is not available" in text and "--device auto" in text


def test_an_index_beyond_the_visible_gpus_names_them(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(devices.DeviceError, match=r"only 2 GPU\(s\).*cuda:0\.\.cuda:1"):
        devices.resolve("cuda:2")
    assert devices.resolve("cuda:1") == torch.device("cuda", 1)


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "cpu:0", ""])
def test_bad_syntax_lists_the_choices(text):
    with pytest.raises(devices.DeviceError, match="expected one of auto, cpu, cuda, cuda:<i>"):
        devices.resolve(text)


@pytest.mark.parametrize("tf32", ["yes", 1, None])
def test_tf32_must_be_a_bool(tf32):
    with pytest.raises(devices.DeviceError, match="--tf32"):
        devices.configure("cpu", tf32)


def test_configure_keeps_the_request_for_workers(monkeypatch):
    """``auto`` travels as ``auto`` (a SLURM GPU node resolves it there), with the TF32 flag."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.configure("auto", True) == torch.device("cpu")
    assert devices.requested() == "auto" and devices.tf32_allowed()


@pytest.mark.skipif(not NO_CUDA, reason="checks the message of a machine without CUDA")
def test_cli_device_cuda_without_cuda(capsys):
    from benchmarks.__main__ import main

    rc = main(["run", "--task", "modular-addition", "--method", "loo", "--profile", "tiny",
               "--device", "cuda"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("error: --device cuda: CUDA is not available")


def test_cpu_provenance_is_unchanged_and_names_the_device():
    """On the CPU the device adds nothing to the bit provenance (stores and results rows keep
    their digests); the run provenance names it."""
    assert devices.bits(torch.device("cpu")) == {}
    assert "device" not in bit_provenance()
    assert provenance()["device"] == "cpu" and provenance()["tf32"] is False


def test_a_store_begun_on_another_device_is_not_resumed(cache, monkeypatch):
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.fill import open_store
    from benchmarks.groundtruth.store import StoreMismatchError

    task = make_task("modular-addition", "tiny", {"design.n_fit": 4, "design.n_eval": 3})
    gpu = {"device": "NVIDIA H200", "device_capability": "9.0", "cuda": "12.8", "tf32": False}
    with monkeypatch.context() as mp:
        mp.setattr(devices, "bits", lambda dev=None: gpu)
        open_store(task)  # begun "on the GPU"
    store = open_store(task)
    with pytest.raises(StoreMismatchError, match="device: 'NVIDIA H200' -> None"):
        store.check_resumable()


def _problem() -> engine.Problem:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(40, 5, generator=gen)
    y = torch.randint(0, 3, (40,), generator=gen)
    return engine.Problem(lambda: torch.nn.Linear(5, 3), X, y,
                          lambda out, t: torch.nn.functional.cross_entropy(out, t,
                                                                           reduction="none"))


def _spec():
    from benchmarks.common.spec import TrainSpec

    return TrainSpec(steps=5, batch_size=8, lr=0.05)


def test_out_of_memory_retries_at_half_the_models(monkeypatch):
    """A chunk that does not fit is trained as halves (5 -> 2 + 3 -> 2 + 1 + 2), each half
    exactly what training it alone gives, with a warning; one model that does not fit
    re-raises."""
    problem, spec = _problem(), _spec()
    weights = torch.as_tensor(np.random.default_rng(0).random((5, 40)) > 0.3).float()
    seeds = [11, 12, 13, 14, 15]
    real = engine.train_batched

    def small_device(p, w, s, sp):
        if len(s) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(p, w, s, sp)

    monkeypatch.setattr(engine, "train_batched", small_device)
    with pytest.warns(RuntimeWarning, match="retrying as 2 \\+ 3"):
        got = engine.train(problem, weights, seeds, spec)
    parts = [real(problem, weights[a:b], seeds[a:b], spec) for a, b in ((0, 2), (2, 3), (3, 5))]
    for k, v in got.items():
        assert torch.equal(v, torch.cat([p[k] for p in parts]))

    monkeypatch.setattr(engine, "train_batched", lambda *a: (_ for _ in ()).throw(
        torch.OutOfMemoryError("CUDA out of memory (simulated)")))
    with pytest.raises(torch.OutOfMemoryError), pytest.warns(RuntimeWarning):
        engine.train(problem, weights[:2], seeds[:2], spec)


def test_other_errors_are_not_retried(monkeypatch):
    calls = []

    def broken(p, w, s, sp):
        calls.append(len(s))
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine, "train_batched", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        engine.train(_problem(), torch.ones(4, 40), [1, 2, 3, 4], _spec())
    assert calls == [4]


def test_the_store_stays_consistent_after_a_retry(cache, monkeypatch):
    """Ground truth with every chunk of more than 2 models out of memory: every row is
    written, checksummed and equal to a run whose chunks were halved by hand."""
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.fill import chunks, model_seed, open_store, run_ground_truth

    real = engine.train_batched

    def small_device(p, w, s, sp):
        if len(s) > 2:
            raise torch.OutOfMemoryError("simulated")
        return real(p, w, s, sp)

    over = {"design.n_fit": 4, "design.n_eval": 3, "execution.batch": 4,
            "execution.engine": "batched"}
    task = make_task("modular-addition", "tiny", over)
    store = open_store(task)
    monkeypatch.setattr(engine, "train_batched", small_device)
    with pytest.warns(RuntimeWarning):
        run_ground_truth(task, store, progress=False)
    reopened = open_store(task)  # verifies every checksum on opening
    assert reopened.complete
    monkeypatch.setattr(engine, "train_batched", real)
    rows = chunks(store, 4)[0]
    masks = np.stack([store.rows.masks[j] for j, _ in rows])
    seeds = [model_seed(task, store.rows, j, r) for j, r in rows]
    halves = [task.evaluate(masks[a:a + 2], seeds[a:a + 2], "batched")["loss"] for a in (0, 2)]
    stored = np.stack([reopened.array("loss")[j, r] for j, r in rows])
    np.testing.assert_array_equal(np.concatenate(halves), stored)


def test_problem_on_the_cpu_is_itself_and_workers_carry_the_device(cache, monkeypatch):
    from benchmarks.groundtruth.executors.driver import pending

    problem = _problem()
    assert problem.on(torch.device("cpu")) is problem
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    devices.configure("auto", False)
    task = make_task("modular-addition", "tiny", {"design.n_fit": 4, "design.n_eval": 3})
    _, jobs = pending(task, (0, 1), None)
    assert jobs and all(j.device == "auto" and j.tf32 is False for j in jobs)


def test_engine_gpu_bench_writes_nothing_without_cuda(tmp_path, monkeypatch, capsys):
    from benchmarks.perf import engine_gpu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "bench.json"
    engine_gpu.main(["--out", str(out)])
    assert not out.exists() and "skipped, no CUDA" in capsys.readouterr().out


def test_a_problem_partly_on_a_device_is_moved_whole_once():
    """``meta`` stands in for a second device: a problem whose inputs are there but labels
    are not is moved whole, and the moved problem is reused."""
    from dataclasses import replace

    mixed = replace(_problem(), X=_problem().X.to("meta"))
    moved = mixed.on(torch.device("meta"))
    assert moved is not mixed and moved.y.device.type == "meta" and moved.X.device.type == "meta"
    assert mixed.on(torch.device("meta")) is moved and moved.on(torch.device("meta")) is moved
