"""Export a task's complete ground truth (``python -m benchmarks export-gt``) in one of
``EXPORT_FORMATS``.

* ``npz``: ``groundtruth.npz`` (``masks``, ``roles``, one array per output, and
  ``masks_fit``/``targets_fit``/``masks_eval``/``targets_eval`` of the primary output, the layout
  ``import-gt`` reads back), ``manifest.json`` (spec, seeds, provenance) and optionally
  ``rows.jsonl`` (one ``{"mask", "targets", "role"}`` object per row).
* ``dattri``: torch tensors in the layout of dattri's LDS and LOO metrics
  (``formats_dattri``).
* ``parquet``: a Hugging Face ``datasets`` folder with a dataset card (``formats_parquet``).

Every format writes ``manifest.json`` with the task key (``export-gt`` re-exports into a folder
only over an export of the same task) and the sign convention of the values it holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.common.provenance import provenance
from benchmarks.groundtruth import formats_dattri, formats_parquet
from benchmarks.groundtruth.fill import model_seed
from benchmarks.groundtruth.formats import EXPORT_FORMATS, GroundTruthFormatError


def export_gt(task, store, out: Path, jsonl: bool = False, fmt: str = "npz") -> list[Path]:
    """Write ``task``'s complete ground truth to ``out`` in format ``fmt`` (``jsonl``: npz only);
    returns the files written."""
    if fmt not in EXPORT_FORMATS:
        raise GroundTruthFormatError(f"unknown export format {fmt!r}; one of {EXPORT_FORMATS}")
    if jsonl and fmt != "npz":
        raise GroundTruthFormatError(f"--jsonl writes rows.jsonl beside an npz export, not with "
                                     f"format {fmt!r}")
    if not store.complete:
        missing = int((store.done == 0).sum())
        raise GroundTruthFormatError(f"{task.label}: {missing} models are not trained yet; run "
                                     f"`python -m benchmarks ground-truth` first")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "dattri":
        return formats_dattri.write_dattri(task, store, out, base_manifest(task, store))
    if fmt == "parquet":
        return formats_parquet.write_parquet(task, store, out, base_manifest(task, store))
    return _write_npz(task, store, out, jsonl)


def base_manifest(task, store) -> dict:
    """What every export's manifest says: the task, its spec, the rows and training seeds."""
    rows = store.rows
    stored = json.loads((store.path / "manifest.json").read_text())
    seeds = None if not task.trains else [
        [model_seed(task, rows, j, r) for r in range(store.done.shape[1])]
        for j in range(len(rows))]
    return {"task": task.label, "task_key": task.spec.key, "spec": stored["spec"], "K": task.K,
            "n_targets": task.n_targets, "n_seeds": int(store.done.shape[1]),
            "outputs": list(store.outputs), "primary": task.primary,
            "row_names": list(rows.names), "row_roles": list(rows.roles),
            "training_seeds": seeds, "store_provenance": stored.get("provenance"),
            "export_provenance": provenance()}


def _write_npz(task, store, out: Path, jsonl: bool) -> list[Path]:
    """``groundtruth.npz`` + ``manifest.json`` (+ ``rows.jsonl``)."""
    rows = store.rows
    fit, ev = rows.index("fit"), rows.index("eval")
    primary = store.array(task.primary)
    arrays = {"masks": rows.masks.astype(bool), "roles": np.array(rows.roles),
              "masks_fit": rows.masks[fit].astype(bool), "targets_fit": primary[fit],
              "masks_eval": rows.masks[ev].astype(bool), "targets_eval": primary[ev]}
    arrays.update({name: store.array(name) for name in store.outputs})
    np.savez(out / "groundtruth.npz", **arrays)
    manifest = {"format": "taskattr-groundtruth/1", **base_manifest(task, store),
                "arrays": {k: list(v.shape) for k, v in arrays.items()}}
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
