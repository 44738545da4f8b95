"""Ground truth in dattri's layout (dattri 0.3.0, ``dattri.metric``): torch tensors that load with
``torch.load(path, weights_only=True)``.

* ``lds_eval.pt`` / ``lds_fit.pt``: the pair ``dattri.metric.lds(score, ground_truth)`` consumes,
  as ``calculate_lds_ground_truth`` returns it: ``(target values (n_subsets, n_targets) float64,
  subset indices (n_subsets, max subset size) int64)``. Values are *flipped* as dattri flips
  them: ``-mean over seeds of F`` (higher = better). Rows shorter than the longest subset are
  padded with index ``K`` (``pad_index``): append a zero row to the score,
  ``torch.cat([score, score.new_zeros(1, n_targets)])``, before calling ``lds``; with equal-size
  subsets there is no padding and the pair is dattri's exactly.
* ``loo.pt`` (stores with leave-one-out rows): ``(values (K, n_targets), removed unit (K,))`` as
  ``calculate_loo_ground_truth`` returns it, values *not* flipped (dattri does not): the mean
  over seeds of F of the model trained without the unit; ``loo_corr`` consumes it.
* ``per_seed.pt``: ``{role: F (m, R, n_targets) float64}`` in our sign, which the import reads so
  that a round trip is bit-identical (dattri's tuples hold seed means), the ``full`` and
  ``loo`` rows included (``loo.pt`` says which unit each leaves out; ``formats_loo``).
* dattri scores are ``(n_train, n_test)``, positive = helpful: pass ``-ours`` (ours positive =
  harmful).

``manifest.json`` lists every file's sha256 (``bundle``). A bare dattri LDS pair (no manifest)
imports too: F = ``-values`` (one seed), K = ``--n-units`` or the largest index + 1, the first
``--n-fit`` rows fitting.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.groundtruth.bundle import (
    OURS,
    Part,
    find_manifest,
    masks_from_indices,
    open_bundle,
    parts,
    to_split,
    write_manifest,
)
from benchmarks.groundtruth.formats import GroundTruthFormatError, Split, as_array, first_n
from benchmarks.groundtruth.formats_loo import with_loo

TAG = "taskattr-groundtruth/dattri-1"
SIGN = {"ours": OURS,
        "lds": "lds_*.pt target values = -(mean over seeds of F): dattri's "
               "calculate_lds_ground_truth flips its target (higher = better)",
        "loo": "loo.pt values = mean over seeds of F without the unit, not flipped (as "
               "dattri's calculate_loo_ground_truth)",
        "scores": "dattri scores (n_train, n_test) are positive = helpful: use -ours"}


def lds_pair(part: Part, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(``-mean_seeds F (m, T)``, unit indices ``(m, max size)`` padded with ``pad``)."""
    sizes = part.masks.sum(1)
    idx = np.full((len(part.masks), int(sizes.max(initial=0))), pad, dtype=np.int64)
    for i, mask in enumerate(part.masks):
        idx[i, :sizes[i]] = np.flatnonzero(mask)
    return torch.from_numpy(-part.F.mean(1)), torch.from_numpy(idx)


def loo_pair(part: Part) -> tuple[torch.Tensor, torch.Tensor]:
    """(``mean_seeds F (K, T)``, the unit each model left out ``(K,)``)."""
    removed = np.array([np.flatnonzero(~m)[0] for m in part.masks], dtype=np.int64)
    return torch.from_numpy(part.F.mean(1)), torch.from_numpy(removed)


def write_dattri(task, store, out: Path, base: dict) -> list[Path]:
    """The tensors and ``manifest.json`` (sign convention, pad index, digests) in ``out``."""
    found = parts(task, store)
    files = []
    for role in ("fit", "eval"):
        if role in found:
            files.append(_save(out / f"lds_{role}.pt", lds_pair(found[role], task.K)))
    if "loo" in found:
        files.append(_save(out / "loo.pt", loo_pair(found["loo"])))
    files.append(_save(out / "per_seed.pt",
                       {role: torch.from_numpy(p.F) for role, p in found.items()}))
    manifest = {"format": TAG, **base, "pad_index": task.K, "sign": SIGN,
                "dattri": "dattri.metric.lds(-scores, torch.load('lds_eval.pt', "
                          "weights_only=True)) (after appending a zero score row if padded)"}
    return [*files, write_manifest(out, manifest, files)]


def _save(path: Path, obj) -> Path:
    torch.save(obj, path)
    return path


def load_pt(path: Path):
    """``torch.load(path, weights_only=True)``, any failure one line naming the file."""
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError,
            zipfile.BadZipFile) as err:
        why = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        raise GroundTruthFormatError(f"{path}: not a readable torch file ({why})") from None


def _pair(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(values (m, T) float64, indices (m, s)) of an LDS pair file."""
    obj = load_pt(path)
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2
            and all(isinstance(t, torch.Tensor) for t in obj)):
        raise GroundTruthFormatError(f"{path}: expected dattri's LDS pair (target values, "
                                     f"subset indices) of two tensors")
    values, idx = obj
    if idx.ndim == 1:
        raise GroundTruthFormatError(f"{path}: 1-D indices: a LOO pair, not an LDS pair "
                                     f"(target values, subset indices)")
    if idx.is_floating_point():
        raise GroundTruthFormatError(f"{path}: subset indices must be integers, got {idx.dtype}")
    V = as_array(values.numpy(), f"{path.name}:target values", (2,))
    if len(V) != len(idx):
        raise GroundTruthFormatError(f"{path}: {len(V)} value rows but {len(idx)} index rows")
    return V, idx.numpy()


def read_dattri(path: Path, n_fit: int | None, n_units: int | None) -> list[Split]:
    """An export of ours (checked against its manifest) or a bare dattri LDS pair."""
    manifest_path = find_manifest(path, TAG)
    if manifest_path is None:
        return [_read_bare(Path(path), n_fit, n_units)]
    folder, manifest = open_bundle(manifest_path, TAG)
    per_seed = load_pt(folder / "per_seed.pt")
    if not isinstance(per_seed, dict):
        raise GroundTruthFormatError(f"{folder / 'per_seed.pt'}: not a dict of role -> F")
    found = {}
    for role in ("fit", "eval"):
        file = folder / f"lds_{role}.pt"
        values, idx = _pair(file)
        F = _seeds(per_seed, role, folder / "per_seed.pt", len(values), file.name)
        if not np.array_equal(-F.mean(1), values):
            raise GroundTruthFormatError(f"{file}: its values are not -(seed mean) of "
                                         f"per_seed.pt's {role!r} rows")
        found[role] = Part(masks_from_indices(idx, manifest["K"], manifest.get("pad_index"),
                                              str(file)), F)
    split = to_split(found, "dattri", str(manifest_path))
    return [with_loo(split, _loo_parts(folder, per_seed, manifest["K"]), str(manifest_path))]


def _seeds(per_seed: dict, role: str, path: Path, m: int | None, beside: str) -> np.ndarray:
    """``per_seed.pt``'s F ``(m, R, T)`` float64 of ``role`` (``m`` rows; None: any)."""
    F = per_seed.get(role)
    if not isinstance(F, torch.Tensor) or F.ndim != 3 or m not in (None, len(F)):
        raise GroundTruthFormatError(f"{path}: no (m, R, T) tensor {role!r} matching {beside}")
    return as_array(F.numpy(), f"per_seed.pt:{role}", (3,))


def _loo_parts(folder: Path, per_seed: dict, K: int) -> dict[str, Part]:
    """The full-set and leave-one-out rows: F from ``per_seed.pt``, the unit each leave-one-out
    row leaves out from ``loo.pt`` (whose values must be the rows' seed means)."""
    out, path = {}, folder / "per_seed.pt"
    if "full" in per_seed:
        F = _seeds(per_seed, "full", path, None, "the full set")
        out["full"] = Part(np.ones((len(F), K), dtype=bool), F)
    if "loo" in per_seed:
        file = folder / "loo.pt"
        obj = load_pt(file)
        if not (isinstance(obj, (tuple, list)) and len(obj) == 2
                and all(isinstance(t, torch.Tensor) for t in obj)
                and obj[1].ndim == 1 and not obj[1].is_floating_point()):
            raise GroundTruthFormatError(f"{file}: expected dattri's LOO pair (values, "
                                         f"removed unit (K,) integers)")
        F = _seeds(per_seed, "loo", path, len(obj[1]), file.name)
        removed = obj[1].numpy()
        if not np.array_equal(F.mean(1), obj[0].numpy()) or not ((0 <= removed)
                                                               & (removed < K)).all():
            raise GroundTruthFormatError(f"{file}: its values are not the seed mean of "
                                         f"per_seed.pt's 'loo' rows, or a unit is outside "
                                         f"[0, {K})")
        masks = np.ones((len(F), K), dtype=bool)
        masks[np.arange(len(F)), removed] = False
        out["loo"] = Part(masks, F)
    return out


def _read_bare(path: Path, n_fit: int | None, n_units: int | None) -> Split:
    """F = -values (one seed); K from ``n_units`` or the indices; the first ``n_fit`` rows fit."""
    values, idx = _pair(path)
    if n_units is not None and n_units < 1:
        raise GroundTruthFormatError(f"--n-units {n_units} must be >= 1")
    K = n_units or int(idx.max(initial=-1)) + 1
    masks = masks_from_indices(idx, K, None, str(path)).astype(np.float64)
    return first_n(masks, -values[:, None, :], n_fit, path.name, "dattri")
