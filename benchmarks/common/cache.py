"""The cache: where it lives (``cache_root``) and how cached torch values (W0, full-set models
and their checkpoints, MT10 demonstrations) are saved once with their identity and a digest of
their contents, and verified on every load.

Layout of ``<cache>`` (``$TASKATTR_CACHE`` or ``./artifacts``), with the module that writes
each part: ``gt/<task_key>/`` a ground-truth store (``groundtruth/store.py``) holding
``models/`` (full-set models and checkpoints, ``groundtruth/fullmodel.py``), ``chunks/`` (SLURM
chunk files, ``groundtruth/executors/slurm.py``), ``gradex/`` (GradEx label caches,
``oracles/labels.py``), ``selection/`` (selection retraining, ``stages/selection.py``) and
``stages/`` (stage outputs, ``api/stage.py``); ``results/<task_key>/<method_key>/`` a cell's
record and arrays (``runner.py``); ``w0/`` pretrained models (``training/pretrained.py``);
``data/`` cached demonstrations (``tasks/metaworld``); ``imported/`` imported ground truth
(``groundtruth/transfer.py``).

torch's zip reader does not check its CRCs, so one flipped bit in a saved tensor loads without
complaint; a model trained from it would then be stored with a fresh, valid checksum. Every file
therefore carries ``sha256``, a digest of every tensor's dtype, shape and bytes (and every other
leaf's repr) in a fixed traversal order, recomputed on load: a damaged, truncated, swapped or
unchecked (older) file is refused naming it, never used and never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from benchmarks.common.fsio import CorruptFileError, atomic_write_bytes

T = TypeVar("T")


def cache_root() -> Path:
    """``$TASKATTR_CACHE`` or ``./artifacts`` (read at call time)."""
    return Path(os.environ.get("TASKATTR_CACHE", "artifacts"))


def cell_dir(task_key: str, method_key: str) -> Path:
    """Where a cell's record and arrays live: ``<cache>/results/<task_key>/<method_key>/``."""
    return cache_root() / "results" / task_key / method_key


def value_digest(value: object) -> str:
    """sha256 of a nested value of tensors, dicts, lists, tuples and scalars (64 hex)."""
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()


def _feed(h, value: object) -> None:
    torch = sys.modules.get("torch")  # not imported here: a process without torch has no tensor
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"tensor:{t.dtype}:{tuple(value.shape)}:".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, dict):
        h.update(f"dict:{len(value)}:".encode())
        for k in sorted(value, key=repr):
            h.update(f"key:{k!r}:".encode())
            _feed(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}:{len(value)}:".encode())
        for v in value:
            _feed(h, v)
    else:
        h.update(f"leaf:{type(value).__name__}:{value!r}:".encode())


def cached_torch(path: Path, make: Callable[[], T], identity: str) -> T:
    """The cached value of ``identity`` at ``path``, else ``make()`` saved atomically.

    A file that cannot be loaded, holds another identity, or whose contents no longer match
    its digest is refused (``CorruptFileError`` naming it); nothing is retrained over it."""
    import torch  # here, not above: ``cache_root`` serves ``list``, which starts without torch

    if path.exists():
        return _load(path, identity)
    value = make()
    buffer = io.BytesIO()
    torch.save({"identity": identity, "value": value, "sha256": value_digest(value)}, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return value


def _load(path: Path, identity: str) -> object:
    import torch

    fix = "remove it to recompute it"
    try:
        saved = torch.load(path, weights_only=True)
    except Exception as err:  # torch raises several types for a damaged file
        raise CorruptFileError(f"{path}: cannot be loaded ({err.__class__.__name__}); "
                               f"{fix}") from None
    if not isinstance(saved, dict) or "identity" not in saved or "value" not in saved:
        raise CorruptFileError(f"{path}: not a cached value of this suite (no identity); {fix}")
    if saved["identity"] != identity:
        raise CorruptFileError(f"{path}: holds {saved['identity']!r}, not {identity!r}; {fix}")
    if "sha256" not in saved:
        raise CorruptFileError(f"{path}: written by an older version without a content "
                               f"digest, so it cannot be verified; {fix}")
    if value_digest(saved["value"]) != saved["sha256"]:
        raise CorruptFileError(f"{path}: its contents do not match their digest (a damaged "
                               f"or edited file); {fix}")
    return saved["value"]
