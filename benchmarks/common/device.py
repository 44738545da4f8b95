"""Where models train and gradients are taken: ``--device auto|cpu|cuda[:i]`` and ``--tf32``.

The device is not part of any task key (it is not what a task *is*), but it decides the bits of
every trained model, so a non-CPU device and its precision are recorded in the bit provenance
(``provenance.bit_provenance``): a store begun on one device is not resumed on another, and a
results row names what computed it. The choice lives in the environment (``TASKATTR_DEVICE``,
``TASKATTR_TF32``), so process-pool, Dask and SLURM workers started from this process inherit it.

``cpu`` is the default: the committed leaderboard's bits are the CPU's, and a run on the CPU is
unchanged by this module. ``auto`` is CUDA where available, else the CPU. Precision stays
float32 (float64 where a method or an exact test asks for it); ``--tf32`` lets CUDA matmuls use
TensorFloat-32, which is faster and rounds the mantissa to 10 bits.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import torch

DEVICE_ENV = "TASKATTR_DEVICE"
TF32_ENV = "TASKATTR_TF32"
CHOICES = ("auto", "cpu", "cuda", "cuda:<i>")
CPU = torch.device("cpu")
FIT_THREADS = 1  # the math threads every method fit, prediction and metric runs on (math_threads)
_SYNTAX = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


class DeviceError(ValueError):
    """A device that cannot be used here (bad syntax, no CUDA, an index past the GPUs)."""


def resolve(text: str) -> torch.device:
    """The ``torch.device`` named by ``text``; refused with the reason where it cannot run."""
    name = str(text).strip().lower()
    if not _SYNTAX.match(name):
        raise DeviceError(f"invalid --device {text!r}: expected one of {', '.join(CHOICES)}")
    if name == "auto":
        return _cuda(0) if torch.cuda.is_available() else CPU
    if name == "cpu":
        return CPU
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA"
        raise DeviceError(f"--device {name}: CUDA is not available on this machine (torch "
                          f"{torch.__version__}, built with {build}); --device auto falls back "
                          f"to the CPU")
    index = int(name.split(":")[1]) if ":" in name else 0
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"--device {name}: only {count} GPU(s) are visible "
                          f"(cuda:0..cuda:{count - 1}; CUDA_VISIBLE_DEVICES decides which)")
    return _cuda(index)


def _cuda(index: int) -> torch.device:
    """``cuda:<index>`` always indexed, so it equals the device its tensors report."""
    return torch.device("cuda", index)


def configure(text: str = "cpu", tf32: bool = False) -> torch.device:
    """Check and set this process's (and its future workers') device and TF32 choice."""
    if not isinstance(tf32, bool):
        raise DeviceError(f"invalid --tf32 {tf32!r}: must be a bool")
    dev = resolve(text)
    os.environ[DEVICE_ENV] = str(text).strip().lower()  # as asked: a worker resolves "auto"
    os.environ[TF32_ENV] = "1" if tf32 else "0"
    _apply_tf32(tf32)
    return dev


def requested() -> str:
    """The device as asked (``auto`` stays ``auto``: each worker resolves it where it runs,
    e.g. a SLURM array task on a GPU node started from a login node without one)."""
    return os.environ.get(DEVICE_ENV, "cpu")


def current() -> torch.device:
    """The configured device (the CPU unless ``configure`` or the environment says otherwise)."""
    dev = resolve(requested())
    if dev.type == "cuda":
        _apply_tf32(tf32_allowed())
    return dev


def tf32_allowed() -> bool:
    return os.environ.get(TF32_ENV, "0") == "1"


def _apply_tf32(allow: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow


def bits(dev: torch.device | None = None) -> dict:
    """What the device adds to the bit provenance: nothing on the CPU (whose own entries are
    ``provenance.bit_provenance``'s), else the GPU's name, capability, CUDA and TF32 choice."""
    dev = current() if dev is None else dev
    if dev.type == "cpu":
        return {}
    return {"device": torch.cuda.get_device_name(dev),
            "device_capability": ".".join(map(str, torch.cuda.get_device_capability(dev))),
            "cuda": torch.version.cuda, "tf32": tf32_allowed()}


def is_oom(err: BaseException) -> bool:
    """True for a device out-of-memory error (torch raises ``OutOfMemoryError`` on CUDA)."""
    return isinstance(err, torch.OutOfMemoryError)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor on any device as a numpy array (the store's and the metrics' currency)."""
    return t.detach().cpu().numpy()


def synchronize(dev: torch.device) -> None:
    """Wait for ``dev``'s queued work (CUDA runs asynchronously; the CPU needs no wait), so
    a timer read after it measures the work."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def empty_cache(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.empty_cache()


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run the block on ``n`` torch threads, then restore the caller's count. Ground truth and
    every stored model are made on one thread, wherever they run: the loop engine's and the
    ICL model's bits depend on how reductions are split over threads (measured: 1 and 2
    threads train different loop-engine models and ICL losses 1e-7 apart; the batched engine's
    agree), so what the driver makes (all cores by default) must equal a worker's."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def math_threads(n: int = FIT_THREADS) -> Iterator[None]:
    """Run the block on ``n`` torch threads and ``n`` threads in every BLAS and OpenMP library
    loaded (numpy's and scipy's OpenBLAS, through threadpoolctl), then restore the caller's
    counts. Method fits, predictions and metrics run here: their reductions (torch/MKL matmuls,
    OpenBLAS gemm and dot) split over threads differently by count, so a process on 2 threads
    computed scores, predictions and metric values up to 1e-12 (and, through the GradEx labels,
    5e-5) away from one on 1 thread. On one thread they do not depend on the process's count.

    scipy's OpenBLAS is loaded first (``scipy.linalg``), so the limit reaches it even where no
    scipy routine ran yet in this process (threadpoolctl limits only libraries already loaded).
    """
    import scipy.linalg  # noqa: F401  loads scipy's own OpenBLAS before the limit is taken
    from threadpoolctl import threadpool_limits

    with torch_threads(n), threadpool_limits(limits=n):
        yield


F = TypeVar("F", bound=Callable)


def on_math_threads(fn: F) -> F:
    """Decorator: ``fn`` runs inside ``math_threads()`` whoever calls it (the metrics)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with math_threads():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def scope(dev: torch.device | None = None) -> Iterator[torch.device]:
    """Fit and predict on ``dev`` (default: the configured device): inside, tensors a method
    creates without a device go there. On the CPU nothing is entered (the CPU path is the
    code without devices). Random draws stay on the CPU (calls seeded by a CPU generator name
    ``device="cpu"``), so a GPU run draws what the CPU run draws."""
    dev = current() if dev is None else dev
    if dev.type == "cpu":
        yield dev
        return
    with dev:
        yield dev
