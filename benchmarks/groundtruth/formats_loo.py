"""The full-set and leave-one-out rows of an export, read back so that a round trip keeps them.

A store with ``design.loo`` holds F(1) (row ``full``) and F(1 - e_k) (rows ``loo/k``, k = 0..K-1)
beside its fitting and held-out subsets; every export writes them (``npz``: the ``roles`` and
output arrays of ``groundtruth.npz``; ``dattri``: ``per_seed.pt`` and ``loo.pt``; ``parquet``:
``data/full.parquet`` and ``data/loo.parquet``). ``with_loo`` checks their masks (the full set
once; each unit left out exactly once, in any order) and attaches their values, ordered by the
unit left out, to a ``Split`` as ``targets_full (1, R, T)`` and ``targets_loo (K, R, T)``: the
imported task's store then holds the same rows as the exported one, bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from benchmarks.groundtruth.bundle import Part
from benchmarks.groundtruth.formats import (
    GroundTruthFormatError,
    Split,
    as_array,
    load_npz,
    npz_split,
)

NPZ_TAG = "taskattr-groundtruth/1"  # the manifest.json beside an npz export


def with_loo(s: Split, found: dict[str, Part], what: str) -> Split:
    """``s`` with the ``full`` and ``loo`` parts of ``found`` (both or neither) attached."""
    roles = [r for r in ("full", "loo") if r in found]
    if not roles:
        return s
    if len(roles) == 1:
        raise GroundTruthFormatError(f"{what}: {roles[0]} rows without "
                                     f"{'loo' if roles[0] == 'full' else 'full'} rows; "
                                     f"leave-one-out effects need both")
    full, loo = found["full"], found["loo"]
    K = s.masks_fit.shape[1]
    if full.masks.shape != (1, K) or not full.masks.all():
        raise GroundTruthFormatError(f"{what}: the full-set rows must be one mask of all "
                                     f"{K} units, got {full.masks.shape[0]} row(s)")
    left_out = _left_out(np.asarray(loo.masks, dtype=bool), K, what)
    order = np.argsort(left_out)
    return dataclasses.replace(s, targets_full=full.F, targets_loo=loo.F[order])


def _left_out(masks: np.ndarray, K: int, what: str) -> np.ndarray:
    """The unit each leave-one-out mask ``(K, K)`` leaves out; every unit exactly once."""
    if masks.shape != (K, K) or ((~masks).sum(1) != 1).any():
        raise GroundTruthFormatError(f"{what}: leave-one-out rows must be {K} masks of {K} "
                                     f"units, each without exactly one unit; got "
                                     f"{masks.shape}")
    left = np.argmin(masks, axis=1)
    if len(set(left.tolist())) != K:
        raise GroundTruthFormatError(f"{what}: leave-one-out rows leave out a unit twice")
    return left


def read_npz(path: Path) -> list[Split]:
    """An NPZ file's split; from an export, with its full-set and leave-one-out rows."""
    arrays = load_npz(path)
    return [with_loo(npz_split(path, arrays), npz_parts(path, arrays), path.name)]


def npz_parts(path: Path, arrays: dict) -> dict[str, Part]:
    """The ``full`` and ``loo`` rows of an npz export (its ``roles``, ``masks`` and the primary
    output named by the ``manifest.json`` beside it); empty for any other npz file."""
    manifest_path = Path(path).parent / "manifest.json"
    if "roles" not in arrays or "masks" not in arrays or not manifest_path.is_file():
        return {}
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # not an export's manifest: the file is read as a plain npz
    if not isinstance(manifest, dict) or manifest.get("format") != NPZ_TAG:
        return {}
    primary = manifest.get("primary")
    if primary not in arrays:
        raise GroundTruthFormatError(f"{path.name}: no array of the primary output "
                                     f"{primary!r} that {manifest_path.name} names")
    roles = np.asarray(arrays["roles"]).astype(str)
    masks = as_array(arrays["masks"], f"{path.name}:masks", (2,)).astype(bool)
    F = as_array(arrays[primary], f"{path.name}:{primary}", (3,))
    if not len(roles) == len(masks) == len(F):
        raise GroundTruthFormatError(f"{path.name}: roles, masks and {primary!r} have "
                                     f"{len(roles)}, {len(masks)} and {len(F)} rows")
    return {r: Part(masks[roles == r], F[roles == r]) for r in ("full", "loo")
            if (roles == r).any()}
