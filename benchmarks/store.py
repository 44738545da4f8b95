"""Ground-truth store: manifest + arrays + done flags, crash-safe and resumable.

Layout of ``<root>/gt/<task_key>/``: ``manifest.json`` (spec, row names/roles, output names,
provenance), ``masks.npy (m, K)``, one ``<output>.npy (m, R, n_targets)`` per output, and
``done.npy (m, R)``. Arrays are memory-mapped: a worker writes a (row, seed) result, flushes it,
then flips its done flag, so killing a run at any moment loses at most the rows in flight, and a
rerun skips done rows. A store written for another spec is refused with a diff, never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .provenance import provenance
from .spec import TaskSpec, spec_diff, to_plain
from .subsets import Rows


class StoreMismatchError(RuntimeError):
    """The store on disk was written for a different spec."""


def cache_root() -> Path:
    """``$TASKATTR_CACHE`` or ``./artifacts``."""
    return Path(os.environ.get("TASKATTR_CACHE", "artifacts"))


class GroundTruthStore:
    """Arrays of one task's ground truth, opened (or created) for a spec."""

    def __init__(self, path: Path, spec_plain: dict, rows: Rows, outputs: tuple[str, ...]):
        self.path = path
        self.spec_plain = spec_plain
        self.rows = rows
        self.outputs = outputs
        self._arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r+") for name in outputs}
        self.done = np.load(path / "done.npy", mmap_mode="r+")

    @classmethod
    def open(cls, spec: TaskSpec, rows: Rows, outputs: tuple[str, ...], n_targets: int,
             path: Path | None = None) -> GroundTruthStore:
        """Open the store for ``spec`` (creating it atomically if absent); refuse a mismatch."""
        path = Path(path) if path else cache_root() / "gt" / spec.key
        plain = to_plain(spec)
        if not (path / "manifest.json").exists():
            _create(path, spec, plain, rows, outputs, n_targets)
        manifest = json.loads((path / "manifest.json").read_text())
        diff = spec_diff(manifest["spec"], plain)
        if diff or manifest["row_names"] != list(rows.names):
            lines = diff or ["row table differs (subset design code changed?)"]
            raise StoreMismatchError(
                f"ground-truth store {path} was written for another spec; refusing to reuse or "
                f"overwrite it. Differences:\n  " + "\n  ".join(lines))
        return cls(path, plain, rows, tuple(manifest["outputs"]))

    def pending(self) -> list[tuple[int, int]]:
        """(row, seed) pairs not yet done, in row-major order."""
        rows, seeds = np.nonzero(self.done == 0)
        return list(zip(rows.tolist(), seeds.tolist(), strict=True))

    def write(self, row: int, seed: int, values: dict[str, np.ndarray]) -> None:
        """Write one model's outputs, flush, then mark it done."""
        for name in self.outputs:
            self._arrays[name][row, seed] = values[name]
            self._arrays[name].flush()
        self.done[row, seed] = 1
        self.done.flush()

    def array(self, name: str) -> np.ndarray:
        """``(m, R, n_targets)`` values of one output (read-only view)."""
        return np.asarray(self._arrays[name])

    def mean(self, name: str, role: str) -> np.ndarray:
        """Seed-averaged ``(rows of role, n_targets)``; raises if any needed row is unfinished."""
        idx = self.rows.index(role)
        if not self.done[idx].all():
            missing = int((self.done[idx] == 0).sum())
            raise RuntimeError(f"{missing} {role} models of {self.path.name} are not trained yet; "
                               f"run `python -m benchmarks ground-truth` first")
        return np.asarray(self._arrays[name][idx]).mean(axis=1)

    @property
    def complete(self) -> bool:
        return bool(self.done.all())


def _create(path: Path, spec: TaskSpec, plain: dict, rows: Rows, outputs: tuple[str, ...],
            n_targets: int) -> None:
    """Write a fresh store into a temporary folder and rename it into place (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    m, R = len(rows), spec.design.n_seeds
    np.save(tmp / "masks.npy", rows.masks)
    for name in outputs:
        np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=np.float64,
                                  shape=(m, R, n_targets)).flush()
    np.lib.format.open_memmap(tmp / "done.npy", mode="w+", dtype=np.uint8, shape=(m, R)).flush()
    manifest = {"task_key": spec.key, "spec": plain, "row_names": list(rows.names),
                "row_roles": list(rows.roles), "outputs": list(outputs), "n_targets": n_targets,
                "provenance": provenance()}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    publish_dir(tmp, path, "manifest.json")


def publish_dir(tmp: Path, path: Path, marker: str) -> None:
    """Rename a fully written temporary folder to ``path``; if a concurrent writer got there
    first (its ``marker`` file exists), drop this copy, else re-raise."""
    try:
        os.rename(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (path / marker).exists():
            raise
