"""Export folders in the field's formats (dattri, parquet): data files whose sha256 digests
``manifest.json`` lists, checked before any file is read back.

``parts(task, store)`` gives the rows of a store by role (``full``, ``loo``, ``eval``, ``fit``),
each a ``Part``: masks ``(m, K)`` bool and the primary output F ``(m, R, n_targets)`` float64.
``write_manifest`` records the digests; ``open_bundle`` finds the manifest from a path (the
folder, the manifest or a data file inside), checks its format tag and every digest, and refuses
a missing, edited or damaged file with one line naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common.fsio import atomic_write_text
from benchmarks.groundtruth.formats import GroundTruthFormatError, Split, load_json

ROLE_ORDER = ("full", "loo", "eval", "fit")
OURS = ("F = the task's primary output (for a trained task, the target's loss) of the model "
        "trained on the subset: higher is worse. Our attribution scores (K, n_targets): "
        "positive = including the unit raises F (harmful).")


@dataclass(frozen=True)
class Part:
    """The rows of one role: ``masks (m, K)`` bool, ``F (m, R, n_targets)`` float64 and, for
    an export, their row numbers in the store."""

    masks: np.ndarray
    F: np.ndarray
    index: np.ndarray | None = None


def parts(task, store) -> dict[str, Part]:
    """The store's rows by role, in ``ROLE_ORDER``; roles without rows are left out."""
    rows, F = store.rows, store.array(task.primary)
    out = {}
    for role in ROLE_ORDER:
        idx = rows.index(role)
        if len(idx):
            out[role] = Part(rows.masks[idx].astype(bool), np.ascontiguousarray(F[idx]), idx)
    return out


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path, manifest: dict, files: list[Path]) -> Path:
    """``folder/manifest.json``: ``manifest`` plus ``files`` (name relative to the folder ->
    sha256) of every data file written."""
    digests = {Path(f).relative_to(folder).as_posix(): sha256(f) for f in files}
    path = Path(folder) / "manifest.json"
    atomic_write_text(path, json.dumps({**manifest, "files": digests}, indent=1))
    return path


def find_manifest(path: Path, tag: str) -> Path | None:
    """The ``manifest.json`` in format ``tag`` of the export holding ``path`` (the manifest
    itself, one beside it, or one above ``data/`` for ``data/*.parquet``); None for a file
    outside such an export (read as a bare file, with nothing to check it against)."""
    path = Path(path)
    if path.name == "manifest.json":
        return path  # ``open_bundle`` checks its format
    above = [path.parent.parent / "manifest.json"] if path.parent.name == "data" else []
    for candidate in (path.parent / "manifest.json", *above):
        if candidate.is_file():
            manifest = load_json(candidate)
            return candidate if isinstance(manifest, dict) and \
                manifest.get("format") == tag else None
    return None


def open_bundle(manifest_path: Path, tag: str) -> tuple[Path, dict]:
    """(folder, manifest) of an export in format ``tag``, every listed file checked against its
    digest: a missing, edited or damaged one is refused naming it."""
    manifest = load_json(manifest_path)
    folder = manifest_path.parent
    if not isinstance(manifest, dict) or manifest.get("format") != tag:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise GroundTruthFormatError(f"{manifest_path}: not a {tag} export (format {got!r})")
    sizes = [manifest.get(k) for k in ("K", "n_targets")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in sizes):
        raise GroundTruthFormatError(f"{manifest_path}: K and n_targets must be integers >= 1")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise GroundTruthFormatError(f"{manifest_path}: lists no data files with digests")
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            raise GroundTruthFormatError(f"{path}: listed in {manifest_path.name} but missing")
        if sha256(path) != digest:
            raise GroundTruthFormatError(f"{path}: sha256 differs from {manifest_path.name} "
                                         f"(edited or damaged since the export)")
    return folder, manifest


def to_split(found: dict[str, Part], fmt: str, what: str) -> Split:
    """The fit/eval rows of an export as a ``Split`` (other roles are not imported)."""
    missing = [r for r in ("fit", "eval") if r not in found]
    if missing:
        raise GroundTruthFormatError(f"{what}: no {' or '.join(missing)} rows to import")
    fit, ev = found["fit"], found["eval"]
    return Split(fit.masks.astype(np.float64), fit.F, ev.masks.astype(np.float64), ev.F, fmt,
                 "export")


def masks_from_indices(indices: np.ndarray, K: int, pad: int | None, what: str) -> np.ndarray:
    """``(m, K)`` bool masks from padded unit-index rows (``pad`` marks no unit)."""
    idx = np.asarray(indices)
    if idx.ndim != 2 or idx.dtype.kind not in "iu":
        raise GroundTruthFormatError(f"{what}: subset indices must be a 2-D integer tensor, "
                                     f"got {idx.dtype} of shape {idx.shape}")
    real = idx != pad if pad is not None else np.ones(idx.shape, dtype=bool)
    if real.any() and (idx[real].min() < 0 or idx[real].max() >= K):
        raise GroundTruthFormatError(f"{what}: unit index outside [0, {K})")
    masks = np.zeros((idx.shape[0], K), dtype=bool)
    rows = np.repeat(np.arange(idx.shape[0]), idx.shape[1]).reshape(idx.shape)
    masks[rows[real], idx[real]] = True
    if (masks.sum(1) != real.sum(1)).any():
        raise GroundTruthFormatError(f"{what}: a subset lists a unit index twice")
    return masks
