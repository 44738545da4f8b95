"""Readers of external ground-truth files: NPZ, CSV pairs, JSON, and the KernelSM authors' layouts.

Every reader returns one or more ``Split``: fitting and evaluation masks ``(m, K)`` and targets
``(m, R, n_targets)`` (R = seeds; 1 when the file has no seed axis). Shapes and values are
checked afterwards by ``gt_io.validate``; readers only refuse what they cannot parse, always with
a one-line ``GroundTruthFormatError``.

* ``npz``: arrays ``masks_fit``, ``targets_fit``, ``masks_eval``, ``targets_eval`` (targets
  ``(m, T)`` or ``(m, R, T)``), the layout ``export-gt`` writes (its full-set and leave-one-out
  rows are read from the export's ``roles``: ``formats_loo``).
* ``csv``: ``masks.csv`` (one 0/1 column per unit, optional ``split`` column of fit/eval) plus a
  targets CSV (one column per target, same row order); without ``split``, ``n_fit`` first rows fit.
* ``json``: ``{"masks": [[0, 1, ...], ...], "targets": [[...], ...], "split": ["fit", ...]}``
  (or ``"n_fit": N`` instead of ``split``).
* ``kernelsm``: the authors' release (``modular_*.json``): ``train_w``, ``train_subset_scores``
  fit; ``test_w``, ``test_subset_scores`` held out.
* ``icl``: ``*_train_ids_list.json`` (chosen unit ids per subset) plus
  ``*_subset_scores_loss.json`` (score matrix, one row per subset), re-split at random.
* ``dattri`` (``formats_dattri``) and ``parquet`` (``formats_parquet``): an ``export-gt`` folder
  in these formats (its ``manifest.json``, the folder or a data file in it; every file checked
  against the manifest's digests), or a bare dattri LDS pair ``.pt`` / a bare Parquet file.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common.spec import SpecError

FORMATS = ("auto", "npz", "csv", "json", "kernelsm", "icl", "dattri", "parquet")
EXPORT_FORMATS = ("npz", "dattri", "parquet")  # export-gt (benchmarks/groundtruth/export.py)
FIELD_TAGS = {"taskattr-groundtruth/dattri-1": "dattri", "taskattr-groundtruth/parquet-1":
              "parquet"}  # the manifest.json of an export in the field's formats
ICL_IDS, ICL_SCORES = "_train_ids_list.json", "_subset_scores_loss.json"
MAX_UNITS = 1_000_000  # units of an import (sample-level attribution on a large dataset)
MAX_MASK_CELLS = 200_000_000  # subsets x units: 1.6 GB once held as float64


class GroundTruthFormatError(SpecError):
    """An external ground-truth file that cannot be imported; the message names the problem."""


@dataclass(frozen=True)
class Split:
    """One fit/eval split of imported ground truth (arrays not yet validated). An export of a
    store with leave-one-out rows also gives ``targets_full (1, R, T)`` = F(1) and
    ``targets_loo (K, R, T)``, row k = F(1 - e_k) (``formats_loo``); else both are None."""

    masks_fit: np.ndarray
    targets_fit: np.ndarray
    masks_eval: np.ndarray
    targets_eval: np.ndarray
    fmt: str
    split: str
    targets_full: np.ndarray | None = None
    targets_loo: np.ndarray | None = None


def detect(path: Path) -> str:
    """The format of ``path`` from its suffix (and, for JSON, its top-level keys)."""
    if path.suffix == ".npz":
        return "npz"
    if path.suffix == ".csv":
        return "csv"
    if path.suffix == ".pt":
        return "dattri"
    if path.suffix == ".parquet":
        return "parquet"
    if path.name.endswith(ICL_IDS):
        return "icl"
    if path.suffix == ".json":
        data = load_json(path)
        if isinstance(data, dict) and "train_w" in data:
            return "kernelsm"
        if isinstance(data, dict) and data.get("format") in FIELD_TAGS:
            return FIELD_TAGS[data["format"]]
        return "json"
    raise GroundTruthFormatError(f"{path.name}: cannot tell the format from the suffix; "
                                 f"pass --format one of {FORMATS[1:]}")


def load_json(path: Path):
    """Parsed JSON, or a one-line error naming the position of a truncated/invalid document."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}: {err.msg}"
        raise GroundTruthFormatError(f"{path.name}: invalid or truncated JSON ({where})") from None
    except UnicodeDecodeError:
        raise GroundTruthFormatError(f"{path.name}: not a UTF-8 JSON text file") from None


def as_array(value, what: str, ndim: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float array with one of the allowed ranks (ragged lists, text and
    complex numbers are refused: converting them would change the data silently)."""
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError):
        raise GroundTruthFormatError(f"{what}: ragged or non-numeric array") from None
    if raw.size and raw.dtype.kind not in "biuf":
        kind = {"c": "complex", "U": "text", "S": "text", "O": "ragged or mixed"}.get(
            raw.dtype.kind, str(raw.dtype))
        raise GroundTruthFormatError(f"{what}: {kind} values; expected real numbers")
    arr = raw.astype(np.float64)
    if arr.ndim not in ndim:
        raise GroundTruthFormatError(f"{what}: expected {' or '.join(f'{d}-D' for d in ndim)}, "
                                     f"got shape {arr.shape}")
    return arr


def _seeded(targets: np.ndarray) -> np.ndarray:
    """``(m, T)`` -> ``(m, 1, T)``; ``(m, R, T)`` unchanged."""
    return targets[:, None, :] if targets.ndim == 2 else targets


def _by_split(masks, targets, split, what: str, fmt: str) -> Split:
    """Cut rows by a ``split`` sequence of "fit"/"eval" labels."""
    split = np.asarray(split).astype(str)
    if split.ndim != 1 or len(split) != len(masks):
        raise GroundTruthFormatError(f"{what}: split has {split.size} labels for "
                                     f"{len(masks)} mask rows")
    bad = sorted(set(split.tolist()) - {"fit", "eval"})
    if bad:
        raise GroundTruthFormatError(f"{what}: split labels must be 'fit' or 'eval', "
                                     f"got {bad[0]!r}")
    if len(targets) != len(masks):
        raise GroundTruthFormatError(f"{what}: {len(masks)} mask rows but {len(targets)} "
                                     f"target rows")
    fit, ev = split == "fit", split == "eval"
    return Split(masks[fit], targets[fit], masks[ev], targets[ev], fmt, "column")


def first_n(masks, targets, n_fit: int | None, what: str, fmt: str) -> Split:
    """The first ``n_fit`` rows fit, the rest held out."""
    if n_fit is None:
        raise GroundTruthFormatError(f"{what}: no split given; add a split column/key or "
                                     f"pass --n-fit N")
    if isinstance(n_fit, bool) or not isinstance(n_fit, int):
        raise GroundTruthFormatError(f"{what}: n_fit must be an integer, got {n_fit!r}")
    if not 0 < n_fit < len(masks):
        raise GroundTruthFormatError(f"{what}: --n-fit {n_fit} must be in (0, {len(masks)})")
    split = ["fit"] * n_fit + ["eval"] * (len(masks) - n_fit)
    return _by_split(masks, targets, split, what, fmt)


def check_size(m: int, K: int, what: str) -> None:
    """Refuse a mask table too large to hold before allocating it: ``K`` units at most
    ``MAX_UNITS``, ``m * K`` cells at most ``MAX_MASK_CELLS``."""
    if K > MAX_UNITS or m * K > MAX_MASK_CELLS:
        raise GroundTruthFormatError(
            f"{what}: {m} subsets x {K} units is too large (at most {MAX_UNITS:,} units and "
            f"{MAX_MASK_CELLS:,} mask cells); is a unit id or --n-units mistyped?")


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an NPZ file (no pickles), or a one-line error naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise GroundTruthFormatError(f"{path.name}: not a readable NPZ file ({err})") from None


def npz_split(path: Path, arrays: dict[str, np.ndarray]) -> Split:
    """The fit/eval split of an NPZ file's arrays (``formats_loo.read_npz`` adds an export's
    leave-one-out rows)."""
    need = ("masks_fit", "targets_fit", "masks_eval", "targets_eval")
    missing = [k for k in need if k not in arrays]
    if missing:
        raise GroundTruthFormatError(f"{path.name}: missing array(s) {missing}; an NPZ needs "
                                     f"{list(need)}")
    m = {k: as_array(arrays[k], f"{path.name}:{k}", (2,) if k.startswith("masks") else (2, 3))
         for k in need}
    return Split(m["masks_fit"], _seeded(m["targets_fit"]), m["masks_eval"],
                 _seeded(m["targets_eval"]), "npz", "arrays")


def read_csv(path: Path, targets: Path | None, n_fit: int | None) -> list[Split]:
    import pandas as pd

    targets = targets or path.with_name("targets.csv")
    if not targets.exists():
        raise GroundTruthFormatError(f"{path.name}: targets file {targets} not found; "
                                     f"pass --targets FILE")
    try:
        masks = pd.read_csv(path)
        values = pd.read_csv(targets)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        why = str(err).replace("\n", " ")
        raise GroundTruthFormatError(f"{path.name} + {targets.name}: unreadable CSV "
                                     f"({why})") from None
    split = masks.pop("split") if "split" in masks.columns else None
    M = as_array(masks.to_numpy(), f"{path.name}", (2,))
    T = _seeded(as_array(values.to_numpy(), f"{targets.name}", (2,)))
    if split is not None:
        return [_by_split(M, T, split.to_numpy(), f"{path.name} + {targets.name}", "csv")]
    return [first_n(M, T, n_fit, f"{path.name} + {targets.name}", "csv")]


def read_json(path: Path, n_fit: int | None) -> list[Split]:
    data = load_json(path)
    if not isinstance(data, dict) or "masks" not in data or "targets" not in data:
        raise GroundTruthFormatError(f"{path.name}: expected an object with 'masks' and "
                                     f"'targets' (or the KernelSM keys train_w/test_w/...)")
    M = as_array(data["masks"], f"{path.name}:masks", (2,))
    T = _seeded(as_array(data["targets"], f"{path.name}:targets", (2, 3)))
    if "split" in data:
        if "n_fit" in data:
            raise GroundTruthFormatError(f"{path.name}: give 'split' or 'n_fit', not both")
        return [_by_split(M, T, data["split"], path.name, "json")]
    return [first_n(M, T, data.get("n_fit", n_fit), path.name, "json")]


def read_kernelsm(path: Path) -> list[Split]:
    data = load_json(path)
    need = ("train_w", "test_w", "train_subset_scores", "test_subset_scores")
    missing = [k for k in need if not isinstance(data, dict) or k not in data]
    if missing:
        raise GroundTruthFormatError(f"{path.name}: missing key(s) {missing} of the KernelSM "
                                     f"release layout")
    a = {k: as_array(data[k], f"{path.name}:{k}", (2,)) for k in need}
    return [Split(a["train_w"], _seeded(a["train_subset_scores"]), a["test_w"],
                  _seeded(a["test_subset_scores"]), "kernelsm", "release")]


def read_icl(path: Path, targets: Path | None, n_fit: int | None, n_units: int | None,
             splits: int, seed: int) -> list[Split]:
    """Unit-id lists plus a score matrix, cut into ``splits`` random fit/eval re-splits.

    ``n_fit`` defaults to 40% of the subsets (the authors' 80 of 200); re-split ``s`` permutes
    the rows with a seed derived from ``seed`` and ``s``.
    """
    ids = load_json(path)
    if not isinstance(ids, list) or not ids or not all(isinstance(r, list) for r in ids):
        raise GroundTruthFormatError(f"{path.name}: expected a non-empty list of unit-id lists")
    flat = [u for r in ids for u in r]
    if not all(isinstance(u, int) and not isinstance(u, bool) and u >= 0 for u in flat):
        raise GroundTruthFormatError(f"{path.name}: unit ids must be integers >= 0")
    if n_units is not None and n_units < 1:
        raise GroundTruthFormatError(f"--n-units {n_units} must be >= 1")
    repeated = sum(len(r) != len(set(r)) for r in ids)
    if repeated:
        raise GroundTruthFormatError(f"{path.name}: {repeated} subset(s) list a unit id twice; "
                                     f"a subset holds each unit at most once")
    K = n_units or (max(flat) + 1 if flat else 0)
    if flat and max(flat) >= K:
        raise GroundTruthFormatError(f"{path.name}: unit id {max(flat)} >= --n-units {K}")
    check_size(len(ids), K, f"{path.name} (--n-units or its largest unit id + 1)")
    masks = np.zeros((len(ids), K), dtype=bool)
    for i, row in enumerate(ids):
        masks[i, row] = True
    scores_path = targets or path.with_name(path.name.replace(ICL_IDS, ICL_SCORES))
    if not scores_path.exists():
        raise GroundTruthFormatError(f"{path.name}: score file {scores_path.name} not found; "
                                     f"pass --targets FILE")
    T = _seeded(as_array(load_json(scores_path), scores_path.name, (2, 3)))
    n_fit = n_fit if n_fit is not None else int(round(0.4 * len(ids)))
    if splits < 1:
        raise GroundTruthFormatError(f"--splits {splits} must be >= 1")
    out = []
    for s in range(splits):
        order = np.random.default_rng([seed, s]).permutation(len(ids))
        label = np.array(["eval"] * len(ids))
        label[order[:n_fit]] = "fit"
        what = f"{path.name} + {scores_path.name}"
        one = first_n(masks, T, n_fit, what, "icl") if not 0 < n_fit < len(ids) else \
            _by_split(masks, T, label, what, "icl")
        out.append(Split(one.masks_fit, one.targets_fit, one.masks_eval, one.targets_eval,
                         "icl", f"seed={seed},split={s}"))
    return out
