"""Bring your own ground truth: import (subset masks, targets) from files, export ours.

``import_gt(path, name)`` reads a file (``gt_formats``), validates it, and registers the result as
task ``name``: the arrays are kept under ``<cache>/imported/`` (``<name>.json`` points at
``<name>-<hash>.npz``), and ``benchmarks.tasks.imported`` turns every such entry into a task
whose ground-truth store is filled from them. Re-importing a name with other content is refused
unless ``force``. Repeated subsets are kept as independent measurements and counted in the
entry; ``dedupe`` drops repeated *fitting* rows only, never held-out ones (``gt_repeats``).
Each entry records its data ``kind`` (``icl`` for the authors' ICL layout, ``modular`` for their
modular release, else ``generic``, or ``--kind``), which selects the paper recipe and claims;
an ICL import's re-splits ``NAME-split0..`` record ``group = NAME`` (``task_groups``).

``export_gt(task, store, out, fmt=...)`` (``benchmarks.groundtruth.export``, re-exported here)
writes a task's ground truth as NPZ, in dattri's layout or as a Parquet dataset.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.api.registry import TASKS
from benchmarks.common.cache import cache_root
from benchmarks.common.fsio import CorruptFileError, atomic_write_bytes, atomic_write_text
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.export import export_gt as export_gt  # re-exported
from benchmarks.groundtruth.formats import (
    FORMATS,
    GroundTruthFormatError,
    Split,
    detect,
    read_csv,
    read_icl,
    read_json,
    read_kernelsm,
)
from benchmarks.groundtruth.formats_dattri import read_dattri
from benchmarks.groundtruth.formats_loo import read_npz
from benchmarks.groundtruth.formats_parquet import read_parquet
from benchmarks.groundtruth.repeats import handle as handle_repeats

MIN_FIT, MIN_EVAL = 2, 3  # SubsetDesign's minimum fitting / evaluation subsets
KINDS = ("auto", "icl", "modular", "generic")
FORMAT_KINDS = {"icl": "icl", "kernelsm": "modular"}  # the authors' layouts say what they hold


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file: format, CSV/ICL companions, split, repeats and data kind."""

    fmt: str = "auto"
    targets: Path | None = None
    n_fit: int | None = None
    n_units: int | None = None
    splits: int = 5
    seed: int = 0
    dedupe: bool = False
    force: bool = False
    kind: str = "auto"


def imported_dir() -> Path:
    return cache_root() / "imported"


def read(path: Path, opts: ImportOptions) -> list[Split]:
    """Parse ``path`` into one split (several for the ICL layout)."""
    path = Path(path)
    if path.is_dir() and (path / "manifest.json").is_file():  # an export folder
        npz = path / "groundtruth.npz"
        path = npz if npz.is_file() else path / "manifest.json"
    if not path.is_file():
        raise GroundTruthFormatError(f"{path}: no such file")
    if opts.fmt not in FORMATS:
        raise GroundTruthFormatError(f"unknown format {opts.fmt!r}; one of {FORMATS}")
    fmt = detect(path) if opts.fmt == "auto" else opts.fmt
    if fmt == "npz":
        return read_npz(path)
    if fmt == "csv":
        return read_csv(path, opts.targets, opts.n_fit)
    if fmt == "json":
        return read_json(path, opts.n_fit)
    if fmt == "kernelsm":
        return read_kernelsm(path)
    if fmt == "dattri":
        return read_dattri(path, opts.n_fit, opts.n_units)
    if fmt == "parquet":
        return read_parquet(path, opts.n_fit)
    return read_icl(path, opts.targets, opts.n_fit, opts.n_units, opts.splits, opts.seed)


def validate(s: Split, what: str, dedupe: bool = False) -> tuple[Split, dict]:
    """Check shapes, 0/1 masks, finite targets, non-empty rows and splits; count (or, with
    ``dedupe``, drop) repeated fitting subsets. Returns the split and its repeats record."""
    for role, M, T in (("fit", s.masks_fit, s.targets_fit), ("eval", s.masks_eval,
                                                             s.targets_eval)):
        if M.shape[0] != T.shape[0]:
            _fail(what, f"{role}: {M.shape[0]} mask rows but {T.shape[0]} target rows")
        if M.shape[1] == 0 or T.shape[-1] == 0:
            _fail(what, f"{role}: masks {M.shape} / targets {T.shape} have an empty axis")
        if not np.isin(M, (0.0, 1.0)).all():
            _fail(what, f"{role} masks must be 0/1, found {float(M[~np.isin(M, (0.0, 1.0))][0])!r}")
        if not np.isfinite(T).all():
            _fail(what, f"{role} targets contain NaN or inf (row "
                        f"{int(np.nonzero(~np.isfinite(T))[0][0])})")
        if M.shape[0] and (M.sum(1) == 0).any():
            _fail(what, f"{role} row {int(np.nonzero(M.sum(1) == 0)[0][0])} is an empty subset")
    if s.masks_fit.shape[1] != s.masks_eval.shape[1]:
        _fail(what, f"fit masks have {s.masks_fit.shape[1]} units, eval masks "
                    f"{s.masks_eval.shape[1]}")
    if s.targets_fit.shape[1:] != s.targets_eval.shape[1:]:
        _fail(what, f"fit targets (seeds, targets) {s.targets_fit.shape[1:]} != eval "
                    f"{s.targets_eval.shape[1:]}")
    _check_loo(s, what)
    kept, repeats = handle_repeats(s, what, dedupe)
    s = dataclasses.replace(kept, targets_full=s.targets_full, targets_loo=s.targets_loo)
    if len(s.masks_fit) < MIN_FIT or len(s.masks_eval) < MIN_EVAL:
        _fail(what, f"need >= {MIN_FIT} fitting and >= {MIN_EVAL} evaluation subsets, got "
                    f"{len(s.masks_fit)} and {len(s.masks_eval)}")
    return s, repeats


def _check_loo(s: Split, what: str) -> None:
    """Full-set and leave-one-out values (an export's): both or neither, ``(1, R, T)`` and
    ``(K, R, T)`` with the split's seeds and targets, finite."""
    if s.targets_full is None and s.targets_loo is None:
        return
    K, RT = s.masks_fit.shape[1], s.targets_fit.shape[1:]
    for role, T, m in (("full", s.targets_full, 1), ("loo", s.targets_loo, K)):
        if T is None or T.shape != (m, *RT):
            _fail(what, f"{role} targets must be {(m, *RT)} (rows, seeds, targets), got "
                        f"{None if T is None else T.shape}")
        if not np.isfinite(T).all():
            _fail(what, f"{role} targets contain NaN or inf")


def _fail(what: str, why: str) -> None:
    raise GroundTruthFormatError(f"{what}: {why}")


def _arrays(s: Split) -> dict[str, np.ndarray]:
    """The arrays an import keeps: masks as bool, targets as read; the full-set and
    leave-one-out targets only where the file has them (so older imports keep their hash)."""
    out = {"masks_fit": s.masks_fit.astype(bool), "targets_fit": s.targets_fit,
           "masks_eval": s.masks_eval.astype(bool), "targets_eval": s.targets_eval}
    if s.targets_loo is not None:
        out.update(targets_full=s.targets_full, targets_loo=s.targets_loo)
    return out


def content_digest(s: Split) -> str:
    """sha256 (12 hex) of the validated arrays: names the imported store."""
    h = hashlib.sha256()
    for a in _arrays(s).values():
        a = a.astype(np.uint8) if a.dtype == bool else a
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def write_import(path: Path, name: str, opts: ImportOptions | None = None) -> list[str]:
    """Write the entries of ``path`` imported as task ``name`` (ICL layout: ``name-split0..``);
    returns the task names (``benchmarks.tasks.imported.import_gt`` also registers them)."""
    opts = opts or ImportOptions()
    if opts.kind not in KINDS:
        raise GroundTruthFormatError(f"unknown --kind {opts.kind!r}; one of {KINDS}")
    splits = read(Path(path), opts)
    group = name if len(splits) > 1 else None
    names = [name] if group is None else [f"{name}-split{i}" for i in range(len(splits))]
    entries = []
    for i, (s, n) in enumerate(zip(splits, names, strict=True)):
        entry, s = _entry(*validate(s, Path(path).name, opts.dedupe), n, path)
        entry.update(kind=_kind(opts.kind, s.fmt), group=group,
                     split_index=i if group else None)
        entries.append((entry, s))
    for entry, _ in entries:
        _check_name(entry, opts.force)
    for entry, s in entries:
        _write_entry(entry, s)
    if group:
        _drop_stale_splits(group, len(splits))
    return names


def _kind(kind: str, fmt: str) -> str:
    """The data kind of an import: as given, or from the authors' layouts (else generic)."""
    return FORMAT_KINDS.get(fmt, "generic") if kind == "auto" else kind


def _drop_stale_splits(group: str, n: int) -> None:
    """Remove re-splits ``group-split{j}``, j >= n, left by a forced import with more splits."""
    for path in sorted(imported_dir().glob(f"{group}-split*.json")):
        entry = json.loads(path.read_text())
        if entry.get("group") == group and (entry.get("split_index") or 0) >= n:
            path.unlink()


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _entry(s: Split, repeats: dict, name: str, path: Path) -> tuple[dict, Split]:
    if not NAME.fullmatch(name or ""):
        raise GroundTruthFormatError(f"invalid task name {name!r}: letters, digits and "
                                     f"'-', '_', '.' only, starting with a letter or digit")
    digest = content_digest(s)
    entry = {"name": name, "content_hash": digest, "format": s.fmt, "split": s.split,
             "source": str(Path(path).resolve()), "data": f"{name}-{digest}.npz",
             "K": int(s.masks_fit.shape[1]), "n_fit": len(s.masks_fit),
             "n_eval": len(s.masks_eval), "n_seeds": int(s.targets_fit.shape[1]),
             "n_targets": int(s.targets_fit.shape[2]), "loo": s.targets_loo is not None,
             "repeats": repeats,
             "provenance": provenance()}
    return entry, s


def _check_name(entry: dict, force: bool) -> None:
    """Refuse a registered task name: a built-in one (a factory that trains) always, an import
    with other content unless ``force``."""
    old = load_entry(entry["name"])
    if entry["name"] in TASKS and TASKS.get(entry["name"]).trains:
        raise GroundTruthFormatError(f"task name {entry['name']!r} is a built-in task")
    if old and old["content_hash"] != entry["content_hash"] and not force:
        raise GroundTruthFormatError(
            f"task {entry['name']!r} was imported with other content ({old['content_hash']} "
            f"from {old['source']}); pass --force to replace it")


def _write_entry(entry: dict, s: Split) -> None:
    folder = imported_dir()
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **_arrays(s))
    atomic_write_bytes(folder / entry["data"], buffer.getvalue())
    atomic_write_text(folder / f"{entry['name']}.json", json.dumps(entry, indent=1))


def load_entry(name: str) -> dict | None:
    """The registry entry of an imported task in the current cache, or None; an unreadable
    one is refused naming it."""
    path = imported_dir() / f"{name}.json"
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path}: cannot be read ({err.__class__.__name__}); import "
                               f"the file again with --force") from None
    need = ("name", "content_hash", "data", "format", "split")
    if not isinstance(entry, dict) or any(k not in entry for k in need):
        raise CorruptFileError(f"{path}: not an import entry (needs {', '.join(need)}); import "
                               f"the file again with --force")
    return entry


def describe_entry(entry: dict) -> str:
    """One line for ``import-gt`` output: sizes, kind, group, repeats kept or dropped."""
    rep = entry.get("repeats") or {}
    dropped = len(rep.get("dropped_fit_rows", []))
    n_rep = rep.get("repeated_eval", 0) + (0 if dropped else rep.get("repeated_fit", 0))
    overlap = 0 if dropped else rep.get("fit_also_held_out", 0)
    group = f", group {entry['group']}" if entry.get("group") else ""
    group += ", full set and leave-one-out rows" if entry.get("loo") else ""
    return (f"imported {entry['name']}: K={entry['K']}, n_fit={entry['n_fit']}, "
            f"n_eval={entry['n_eval']}, seeds={entry['n_seeds']}, targets={entry['n_targets']} "
            f"({entry['format']}, kind {entry.get('kind', 'generic')}{group}, "
            f"{entry['content_hash']}); repeated subsets kept: {n_rep}, fitting rows also "
            f"held out: {overlap}, fitting rows dropped by --dedupe: {dropped}")


def load_split(entry: dict) -> Split:
    """The imported arrays, re-hashed on every load: a file whose content no longer gives its
    entry's ``content_hash`` (edited, damaged, swapped) is refused, never rebuilt into a store
    under the old hash."""
    path = imported_dir() / entry["data"]
    try:
        with np.load(path, allow_pickle=False) as z:
            loo = [z[k] if k in z.files else None for k in ("targets_full", "targets_loo")]
            s = Split(z["masks_fit"], z["targets_fit"], z["masks_eval"], z["targets_eval"],
                      entry["format"], entry["split"], *loo)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise CorruptFileError(f"{path}: cannot be read ({err.__class__.__name__}); import "
                               f"the source file again with --force") from None
    if content_digest(s) != entry["content_hash"]:
        raise CorruptFileError(f"{path}: its arrays no longer hash to {entry['content_hash']} "
                               f"(edited or damaged since the import); import the source file "
                               f"again with --force")
    return s
