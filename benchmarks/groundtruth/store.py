"""Ground-truth store: manifest + arrays + done flags + row checksums, crash-safe, resumable and
checked on every open.

Layout of ``<root>/gt/<task_key>/``: ``manifest.json`` (spec, row names/roles, output names,
provenance), ``masks.npy (m, K)``, one ``<output>.npy (m, R, n_targets)`` per output,
``checks.npy (m, R)`` and ``done.npy (m, R)``. A worker writes a (row, seed) result, its checksum
(a digest of the task key, the row, the seed and the values), flushes, then flips its done flag,
so killing a run at any moment loses at most the rows in flight, and a rerun skips done rows.

Opening checks every file against the manifest (shape, dtype, exact size: numpy's read-write
map would zero-pad a truncated file) and every done row against its checksum, so a damaged
file, NaN bytes or another task's array copied in are refused, naming the file, never used. A
store written for another spec is refused with a diff, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np

from benchmarks.common.cache import cache_root
from benchmarks.common.fsio import (
    CorruptFileError,
    make_temp_dir,
    open_npy,
    publish_dir,
    reserve_blocks,
)
from benchmarks.common.provenance import bit_differences, bit_provenance, provenance
from benchmarks.common.spec import TaskSpec, spec_diff, to_plain
from benchmarks.groundtruth.subsets import Rows

__all__ = ["GroundTruthStore", "StoreMismatchError", "StoreCorruptError", "store_path"]


class StoreMismatchError(RuntimeError):
    """The store on disk was written for a different spec."""


class StoreCorruptError(CorruptFileError):
    """A file of the store is damaged or does not belong to it."""


def store_path(spec: TaskSpec, path: Path | None = None) -> Path:
    """Where the store of ``spec`` lives: ``path`` (``--gt-dir``) or ``<cache>/gt/<key>``."""
    return Path(path) if path else cache_root() / "gt" / spec.key


class GroundTruthStore:
    """Arrays of one task's ground truth, opened (or created) for a spec."""

    def __init__(self, path: Path, manifest: dict, rows: Rows):
        self.path, self.spec_plain, self.rows = path, manifest["spec"], rows
        self.bits: dict | None = manifest.get("bits")  # of the process that began the store
        self.other_bits = bit_differences(self.bits, bit_provenance()) if self.bits else []
        self.outputs, self.task_key = tuple(manifest["outputs"]), manifest["task_key"]
        n_targets, m, R = manifest["n_targets"], len(rows), manifest["n_seeds"]
        self._arrays = {name: self._open(f"{name}.npy", (m, R, n_targets), np.float64)
                        for name in self.outputs}
        self.done = self._open("done.npy", (m, R), np.uint8)
        masks = self._open("masks.npy", rows.masks.shape, rows.masks.dtype, "r")
        if not np.array_equal(np.asarray(masks), rows.masks):
            raise self._corrupt("masks.npy", "its subsets differ from the task's row table")
        if not np.isin(np.asarray(self.done), (0, 1)).all():
            raise self._corrupt("done.npy", "done flags other than 0/1")
        if "checksums" not in manifest:  # the pre-checksum layout: nothing to verify against
            raise self._corrupt("manifest.json", "a store written before row checksums existed "
                                "(no 'checksums' entry), so its values cannot be verified")
        self.checks = self._open("checks.npy", (m, R), np.uint64)
        self._verify()

    def _open(self, name: str, shape: tuple, dtype, mode: str = "r+") -> np.memmap:
        try:
            return open_npy(self.path / name, shape, dtype, mode)
        except CorruptFileError as err:
            raise StoreCorruptError(f"ground-truth store damaged: {err}. {self._advice}"
                                    ) from None

    def _corrupt(self, name: str, why: str) -> StoreCorruptError:
        return StoreCorruptError(f"ground-truth store damaged: {self.path / name}: {why}. "
                                 f"{self._advice}")

    @property
    def _advice(self) -> str:
        return (f"Nothing was used or changed; restore the file or remove {self.path} "
                f"to retrain the task")

    @classmethod
    def open(cls, spec: TaskSpec, rows: Rows, outputs: tuple[str, ...], n_targets: int,
             path: Path | None = None, create: bool = True) -> GroundTruthStore:
        """Open the store for ``spec`` (creating it atomically if absent and ``create``);
        refuse a mismatch or a damaged file."""
        path = store_path(spec, path)
        plain = to_plain(spec)
        if not (path / "manifest.json").exists():
            if not create:
                raise StoreMismatchError(f"no ground truth for {spec.key} at {path}; run "
                                         f"`python -m benchmarks ground-truth` first")
            _check_not_foreign(path)
            _create(path, spec, plain, rows, outputs, n_targets)
        manifest = read_manifest(path)
        diff = spec_diff(manifest["spec"], plain)
        if diff or manifest["row_names"] != list(rows.names):
            lines = diff or ["row table differs (subset design code changed?)"]
            raise StoreMismatchError(
                f"ground-truth store {path} was written for another spec; refusing to reuse or "
                f"overwrite it. Differences:\n  " + "\n  ".join(lines))
        if manifest["outputs"] != list(outputs) or manifest["n_targets"] != n_targets:
            raise StoreMismatchError(f"ground-truth store {path} holds outputs "
                                     f"{manifest['outputs']} x {manifest['n_targets']} targets, "
                                     f"the task has {list(outputs)} x {n_targets}")
        store = cls(path, manifest | {"n_seeds": spec.design.n_seeds}, rows)
        if store.complete:
            _warn_other_bits(path, store.other_bits)
        return store

    def check_resumable(self) -> None:
        """Refuse to train more rows into a store begun under other bit-deciding settings:
        the mix would match neither machine's retraining."""
        if self.other_bits and not self.complete:
            raise StoreMismatchError(
                f"ground-truth store {self.path} was begun under other bit-deciding settings "
                f"({'; '.join(self.other_bits)}); training its pending rows here would mix two "
                f"machines' arithmetic. Finish it where it was begun, rerun with the settings "
                f"it names (e.g. TASKATTR_NATIVE_MATH=1 for native math), or remove it")

    def digest(self, row: int, seed: int, values: dict[str, np.ndarray]) -> int:
        """64-bit checksum of one model's outputs, bound to this task, row and seed."""
        h = hashlib.sha256(f"{self.task_key}/{self.rows.names[row]}/{seed}".encode())
        for name in self.outputs:
            h.update(np.ascontiguousarray(values[name], dtype=np.float64).tobytes())
        return int.from_bytes(h.digest()[:8], "little")

    def _digests(self, which: np.ndarray) -> np.ndarray:
        """Checksums ``(m, R)`` of the stored values (0 where ``which`` is False or not done)."""
        out = np.zeros(which.shape, dtype=np.uint64)
        for j, r in zip(*np.nonzero(which & (np.asarray(self.done) == 1)), strict=True):
            out[j, r] = self.digest(j, r, {n: self._arrays[n][j, r] for n in self.outputs})
        return out

    def _verify(self) -> None:
        """Every done row matches its checksum and is finite, or the store is refused."""
        done = np.asarray(self.done) == 1
        bad = done & (self._digests(done) != np.asarray(self.checks))
        for name in self.outputs:
            bad |= done & ~np.isfinite(np.asarray(self._arrays[name])).all(-1)
        if bad.any():
            j, r = (int(v[0]) for v in np.nonzero(bad))
            files = ", ".join(f"{n}.npy" for n in self.outputs)
            raise self._corrupt(f"{{{files}, checks.npy}}",
                                f"{int(bad.sum())} of {int(done.sum())} finished models do "
                                f"not match their checksums (first: row "
                                f"{self.rows.names[j]!r}, seed {r})")

    def pending(self) -> list[tuple[int, int]]:
        """(row, seed) pairs not yet done, in row-major order."""
        rows, seeds = np.nonzero(self.done == 0)
        return list(zip(rows.tolist(), seeds.tolist(), strict=True))

    def write(self, row: int, seed: int, values: dict[str, np.ndarray]) -> None:
        """Write one model's outputs and checksum, flush, then mark it done; refuse non-finite
        values (a diverged model must not become ground truth)."""
        for name in self.outputs:
            if not np.isfinite(values[name]).all():
                raise ValueError(f"{self.path.name}: the model of row {self.rows.names[row]!r}, "
                                 f"seed {seed} gave non-finite {name}; training diverged "
                                 f"(check train.lr and the other train.* fields)")
        for name in self.outputs:
            self._arrays[name][row, seed] = values[name]
            self._arrays[name].flush()
        self.checks[row, seed] = self.digest(row, seed, values)
        self.checks.flush()
        self.done[row, seed] = 1
        self.done.flush()

    def write_chunk(self, chunk: list[tuple[int, int]] | tuple,
                    values: dict[str, np.ndarray]) -> int:
        """Write a trained chunk's rows not yet done (``values: {output: (B, n_targets)}``, in
        the chunk's job order); returns how many were written. The one place trained rows
        enter a store: a rerun of an interrupted chunk writes only the missing ones."""
        written = 0
        for b, (j, r) in enumerate(chunk):
            if self.done[j, r] == 0:
                self.write(j, r, {k: v[b] for k, v in values.items()})
                written += 1
        return written

    def array(self, name: str) -> np.ndarray:
        """``(m, R, n_targets)`` values of one output (read-only view)."""
        return np.asarray(self._arrays[name])

    def mean(self, name: str, role: str) -> np.ndarray:
        """Seed-averaged ``(rows of role, n_targets)``; raises if any needed row is unfinished."""
        idx = self.rows.index(role)
        if not self.done[idx].all():
            missing = int((self.done[idx] == 0).sum())
            raise StoreMismatchError(f"{missing} {role} models of {self.path.name} are not "
                                     f"trained yet; run `python -m benchmarks ground-truth` "
                                     f"first")
        return np.asarray(self._arrays[name][idx]).mean(axis=1)

    def fingerprint(self) -> str:
        """Digest of every row's checksum and done flag: results computed from this ground
        truth carry it, and are recomputed when it changes."""
        h = hashlib.sha256(np.asarray(self.checks).tobytes())
        h.update(np.asarray(self.done).tobytes())
        return h.hexdigest()[:16]

    @property
    def complete(self) -> bool:
        return bool(self.done.all())


def _warn_other_bits(path: Path, diff: list[str]) -> None:
    """Warn (once per store and process) when a finished store was computed where the bits are
    decided differently (library builds, pins, CPU paths): retraining here need not
    reproduce its values."""
    if path in _WARNED or not diff:
        return
    _WARNED.add(path)
    warnings.warn(f"ground-truth store {path.name}: its values were computed under other "
                  f"bit-deciding settings ({'; '.join(diff)}); retraining here need not "
                  f"reproduce them to the last bit", BitProvenanceWarning, stacklevel=3)


class BitProvenanceWarning(UserWarning):
    """A store is used where its bits would be computed differently."""


_WARNED: set[Path] = set()


def read_manifest(path: Path) -> dict:
    """``manifest.json`` of a store; a damaged or incomplete one is refused, naming it."""
    file = path / "manifest.json"
    try:
        manifest = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreCorruptError(f"ground-truth store damaged: {file}: cannot be read "
                                f"({err.__class__.__name__}); restore it or remove {path} "
                                f"to retrain the task") from None
    need = ("task_key", "spec", "row_names", "outputs", "n_targets")
    missing = [k for k in need if not isinstance(manifest, dict) or k not in manifest]
    if missing:
        raise StoreCorruptError(f"ground-truth store damaged: {file}: missing {missing}")
    return manifest


def _check_not_foreign(path: Path) -> None:
    """Refuse to create a store inside a non-empty folder that is not one (never overwrite)."""
    if path.exists() and any(path.iterdir()):
        raise StoreCorruptError(f"{path} exists and is not a complete ground-truth store "
                                f"(no manifest.json); refusing to write into it. Remove it or "
                                f"choose another --gt-dir")


def _create(path: Path, spec: TaskSpec, plain: dict, rows: Rows, outputs: tuple[str, ...],
            n_targets: int) -> None:
    """Write a fresh store into a temporary folder and rename it into place (atomic)."""
    tmp = make_temp_dir(path)
    try:
        _write_arrays(tmp, rows, outputs, spec.design.n_seeds, n_targets)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        path.rmdir()  # an empty folder (checked above): the rename replaces it
    manifest = {"task_key": spec.key, "spec": plain, "row_names": list(rows.names),
                "row_roles": list(rows.roles), "outputs": list(outputs), "n_targets": n_targets,
                "checksums": "sha256(task_key/row/seed + float64 values)[:8] per model",
                "provenance": provenance(), "bits": bit_provenance()}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    publish_dir(tmp, path, "manifest.json")


def _write_arrays(tmp: Path, rows: Rows, outputs: tuple[str, ...], R: int,
                  n_targets: int) -> None:
    """The store's arrays, zeroed, with their disk blocks reserved."""
    m = len(rows)
    np.save(tmp / "masks.npy", rows.masks)
    shapes = {**{f"{name}.npy": ((m, R, n_targets), np.float64) for name in outputs},
              "done.npy": ((m, R), np.uint8), "checks.npy": ((m, R), np.uint64)}
    for name, (shape, dtype) in shapes.items():
        np.lib.format.open_memmap(tmp / name, mode="w+", dtype=dtype, shape=shape).flush()
        reserve_blocks(tmp / name)  # the arrays are written through memory maps
