"""One cell's computations at its models, made once and shared by every method that needs them.

The methods of one cell differentiate the same full-set model: the influence solvers, Grad-Dot,
Grad-Cos, TracIn (its last checkpoint is that model) and the parameter weighting all take the
per-example gradients, the exact IF, its per-group split and the weight grid the same dense
curvature, and the GradEx oracle, the GradEx method and the stages that refit it the same
projected Jacobians. Each is computed once here, keyed by what it is (``what``) and the content
digest of the model it is taken at (``digest``: parameters, buffers and architecture, training
and target data, weights, membership, device and thread count), and later callers get the same
tensors, so no score moves by a bit (tests/exact/test_shared_memo.py). Callers must not modify
a shared value in place.

Memory stays bounded: the memo belongs to one cell (``enter``, called by ``build_context``,
drops another cell's values; ``release``, called by the runner after a cell's stages, frees
them) and holds at most ``MAX_BYTES``: a value that would pass it is computed, returned and not
kept. ``disabled()`` turns sharing off (the bit-identity test and the bench's baseline arm).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

from benchmarks.api.context import TrainedModel
from benchmarks.common.cache import value_digest

T = TypeVar("T")
MAX_BYTES = 8 * 2**30  # the quick MT10 model's per-example gradients (5.6 GB) fit


@dataclass
class _Entry:
    value: object
    nbytes: int
    seconds: float  # wall-clock of the computation that made it


@dataclass
class _State:
    entries: dict[Hashable, _Entry] = dataclasses.field(default_factory=dict)
    cell: str | None = None
    enabled: bool = True
    hits: int = 0
    misses: int = 0


_STATE = _State()


def shared(key: Hashable, compute: Callable[[], T]) -> tuple[T, float]:
    """``compute()`` once per ``key`` in this cell, and the seconds it took when it ran (the
    caller's honest cost, whoever paid it)."""
    entry = _STATE.entries.get(key) if _STATE.enabled else None
    if entry is not None:
        _STATE.hits += 1
        return entry.value, entry.seconds  # type: ignore[return-value]
    _STATE.misses += 1
    t0 = time.perf_counter()
    value = compute()
    seconds = time.perf_counter() - t0
    size = nbytes(value)
    if _STATE.enabled and held_bytes() + size <= MAX_BYTES:
        _STATE.entries[key] = _Entry(value, size, seconds)
    return value, seconds


def digest(model: TrainedModel, params: dict[str, torch.Tensor] | None = None) -> str:
    """sha256 of everything a computation at ``model`` reads: ``params`` (default the model's),
    the module's architecture and floating buffers (as float64: callers cast the module), the
    training and target data, weights and membership, their devices and torch's thread count
    (``common.cache.value_digest`` of them all)."""
    params = params if params is not None else model.params
    buffers = {n: b.double() if b.is_floating_point() else b
               for n, b in model.module.named_buffers()}
    data = {"X": model.problem.X, "y": model.problem.y, "Xt": model.Xt, "yt": model.yt,
            "membership": torch.as_tensor(np.ascontiguousarray(model.membership)),
            "weights": torch.as_tensor(np.ascontiguousarray(model.weights))}
    tensors = [*params.values(), *buffers.values(), *data.values()]
    return value_digest({"module": repr(model.module), "threads": torch.get_num_threads(),
                         "devices": sorted({str(t.device) for t in tensors}),
                         "params": params, "buffers": buffers, "data": data})


def nbytes(value: object) -> int:
    """Bytes of the tensors in ``value`` (tensors, tuples, lists, dicts and dataclasses)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


def held_bytes() -> int:
    """Bytes the memo holds now."""
    return sum(e.nbytes for e in _STATE.entries.values())


def enter(cell: str) -> None:
    """Work on ``cell`` (a task key) from now on: another cell's values are dropped."""
    if _STATE.cell != cell:
        release()
        _STATE.cell = cell


def release() -> None:
    """Free every shared value (the cell ended)."""
    _STATE.entries.clear()
    _STATE.cell = None


def stats() -> dict:
    """Hits, misses, values and bytes held (benchmarks and tests)."""
    return {"hits": _STATE.hits, "misses": _STATE.misses, "values": len(_STATE.entries),
            "bytes": held_bytes()}


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Compute everything afresh inside the block (nothing read, nothing kept)."""
    before = _STATE.enabled
    _STATE.enabled = False
    try:
        yield
    finally:
        _STATE.enabled = before
