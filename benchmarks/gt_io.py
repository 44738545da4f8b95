"""Bring your own ground truth: import (subset masks, targets) from files, export ours.

``import_gt(path, name)`` reads a file (``gt_formats``), validates it, and registers the result as
task ``name``: the arrays are kept under ``<cache>/imported/`` (``<name>.json`` points at
``<name>-<hash>.npz``), and ``benchmarks.tasks.imported`` turns every such entry into a task
whose ground-truth store is filled from them. Re-importing a name with other content is refused
unless ``force``. Duplicate masks are refused (naming the rows) unless ``dedupe``, which keeps
the first occurrence, drops evaluation rows that repeat a fitting mask (they would leak), and
warns on stderr.

``export_gt(task, store, out)`` writes ``groundtruth.npz`` (``masks``, ``roles``, one array per
output, and ``masks_fit``/``targets_fit``/``masks_eval``/``targets_eval`` of the primary
output, the layout ``import-gt`` reads back), ``manifest.json`` (spec, seeds, provenance) and
optionally ``rows.jsonl`` (one ``{"mask", "targets", "role"}`` object per row).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .gt_formats import (
    FORMATS,
    GroundTruthFormatError,
    Split,
    detect,
    read_csv,
    read_icl,
    read_json,
    read_kernelsm,
    read_npz,
)
from .provenance import provenance
from .store import cache_root

MIN_FIT, MIN_EVAL = 2, 3  # SubsetDesign's minimum fitting / evaluation subsets


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file: format, CSV/ICL companions, split and duplicate handling."""

    fmt: str = "auto"
    targets: Path | None = None
    n_fit: int | None = None
    n_units: int | None = None
    splits: int = 5
    seed: int = 0
    dedupe: bool = False
    force: bool = False


def imported_dir() -> Path:
    return cache_root() / "imported"


def read(path: Path, opts: ImportOptions) -> list[Split]:
    """Parse ``path`` into one split (several for the ICL layout)."""
    path = Path(path)
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
    return read_icl(path, opts.targets, opts.n_fit, opts.n_units, opts.splits, opts.seed)


def validate(s: Split, what: str, dedupe: bool = False) -> Split:
    """Check shapes, 0/1 masks, finite targets, non-empty rows and splits, and duplicates."""
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
    s = _dedupe(s, what, dedupe)
    if len(s.masks_fit) < MIN_FIT or len(s.masks_eval) < MIN_EVAL:
        _fail(what, f"need >= {MIN_FIT} fitting and >= {MIN_EVAL} evaluation subsets, got "
                    f"{len(s.masks_fit)} and {len(s.masks_eval)}")
    return s


def _dedupe(s: Split, what: str, dedupe: bool) -> Split:
    """Refuse duplicate masks, or (``dedupe``) keep first occurrences with a warning."""
    seen: dict[bytes, str] = {}
    keep = {"fit": [], "eval": []}
    for role, M in (("fit", s.masks_fit), ("eval", s.masks_eval)):
        for i, row in enumerate(M.astype(np.uint8)):
            key = row.tobytes()
            if key in seen and not dedupe:
                _fail(what, f"duplicate subset: {role} row {i} repeats {seen[key]} "
                            f"(pass --dedupe to keep first occurrences)")
            keep[role].append(key not in seen)
            seen.setdefault(key, f"{role} row {i}")
    dropped = sum(len(k) - sum(k) for k in keep.values())
    if not dropped:
        return s
    print(f"warning: {what}: dropped {dropped} duplicate subset row(s)", file=sys.stderr)
    f, e = np.array(keep["fit"]), np.array(keep["eval"])
    return Split(s.masks_fit[f], s.targets_fit[f], s.masks_eval[e], s.targets_eval[e], s.fmt,
                 s.split)


def _fail(what: str, why: str) -> None:
    raise GroundTruthFormatError(f"{what}: {why}")


def content_digest(s: Split) -> str:
    """sha256 (12 hex) of the validated arrays: names the imported store."""
    h = hashlib.sha256()
    for a in (s.masks_fit.astype(np.uint8), s.targets_fit, s.masks_eval.astype(np.uint8),
              s.targets_eval):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def import_gt(path: Path, name: str, opts: ImportOptions | None = None) -> list[str]:
    """Import ``path`` as task ``name`` (ICL layout: ``name-split0..``); returns task names."""
    from .tasks.imported import register_imported

    opts = opts or ImportOptions()
    splits = read(Path(path), opts)
    names = [name] if len(splits) == 1 else [f"{name}-split{i}" for i in range(len(splits))]
    entries = [_entry(validate(s, Path(path).name, opts.dedupe), n, path)
               for s, n in zip(splits, names, strict=True)]
    for entry, _ in entries:
        _check_name(entry, opts.force)
    for entry, s in entries:
        _write_entry(entry, s)
        register_imported(entry["name"])
    return names


def _entry(s: Split, name: str, path: Path) -> tuple[dict, Split]:
    if not name or "/" in name or name.startswith("."):
        raise GroundTruthFormatError(f"invalid task name {name!r}")
    digest = content_digest(s)
    entry = {"name": name, "content_hash": digest, "format": s.fmt, "split": s.split,
             "source": str(Path(path).resolve()), "data": f"{name}-{digest}.npz",
             "K": int(s.masks_fit.shape[1]), "n_fit": len(s.masks_fit),
             "n_eval": len(s.masks_eval), "n_seeds": int(s.targets_fit.shape[1]),
             "n_targets": int(s.targets_fit.shape[2]), "provenance": provenance()}
    return entry, s


def _check_name(entry: dict, force: bool) -> None:
    """Refuse a registered task name: a built-in one always, an import with other content
    unless ``force``."""
    from .registry import TASKS
    from .tasks.imported import is_imported

    old = load_entry(entry["name"])
    if entry["name"] in TASKS and not is_imported(entry["name"]):
        raise GroundTruthFormatError(f"task name {entry['name']!r} is a built-in task")
    if old and old["content_hash"] != entry["content_hash"] and not force:
        raise GroundTruthFormatError(
            f"task {entry['name']!r} was imported with other content ({old['content_hash']} "
            f"from {old['source']}); pass --force to replace it")


def _write_entry(entry: dict, s: Split) -> None:
    folder = imported_dir()
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / entry["data"], masks_fit=s.masks_fit.astype(bool),
             targets_fit=s.targets_fit, masks_eval=s.masks_eval.astype(bool),
             targets_eval=s.targets_eval)
    tmp = folder / f".{entry['name']}.json.tmp"
    tmp.write_text(json.dumps(entry, indent=1))
    tmp.replace(folder / f"{entry['name']}.json")


def load_entry(name: str) -> dict | None:
    """The registry entry of an imported task in the current cache, or None."""
    path = imported_dir() / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_split(entry: dict) -> Split:
    with np.load(imported_dir() / entry["data"], allow_pickle=False) as z:
        return Split(z["masks_fit"], z["targets_fit"], z["masks_eval"], z["targets_eval"],
                     entry["format"], entry["split"])


def export_gt(task, store, out: Path, jsonl: bool = False) -> list[Path]:
    """Write ``task``'s complete ground truth to ``out`` (see the module docstring)."""
    from .groundtruth import model_seed
    from .tasks.imported import ImportedTask

    if not store.complete:
        missing = int((store.done == 0).sum())
        raise GroundTruthFormatError(f"{task.label}: {missing} models are not trained yet; run "
                                     f"`python -m benchmarks ground-truth` first")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = store.rows
    fit, ev = rows.index("fit"), rows.index("eval")
    primary = store.array(task.primary)
    arrays = {"masks": rows.masks.astype(bool), "roles": np.array(rows.roles),
              "masks_fit": rows.masks[fit].astype(bool), "targets_fit": primary[fit],
              "masks_eval": rows.masks[ev].astype(bool), "targets_eval": primary[ev]}
    arrays.update({name: store.array(name) for name in store.outputs})
    np.savez(out / "groundtruth.npz", **arrays)
    stored = json.loads((store.path / "manifest.json").read_text())
    seeds = None if isinstance(task, ImportedTask) else [
        [model_seed(task, rows, j, r) for r in range(store.done.shape[1])]
        for j in range(len(rows))]
    manifest = {"format": "taskattr-groundtruth/1", "task": task.label,
                "task_key": task.spec.key, "spec": stored["spec"], "K": task.K,
                "n_targets": task.n_targets, "outputs": list(store.outputs),
                "primary": task.primary, "row_names": list(rows.names),
                "row_roles": list(rows.roles), "training_seeds": seeds,
                "arrays": {k: list(v.shape) for k, v in arrays.items()},
                "store_provenance": stored.get("provenance"), "export_provenance": provenance()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    written = [out / "groundtruth.npz", out / "manifest.json"]
    if jsonl:
        written.append(_write_jsonl(out / "rows.jsonl", rows, primary))
    return written


def _write_jsonl(path: Path, rows, values: np.ndarray) -> Path:
    """One JSON object per row: the mask (0/1), the (R, n_targets) targets and the role."""
    with path.open("w") as fh:
        for mask, role, v in zip(rows.masks, rows.roles, values, strict=True):
            fh.write(json.dumps({"mask": mask.astype(int).tolist(), "targets": v.tolist(),
                                 "role": role}) + "\n")
    return path
