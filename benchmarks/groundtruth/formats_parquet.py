"""Ground truth as a Hugging Face ``datasets`` folder: Parquet files and a dataset card.

Layout: ``data/<split>.parquet`` for each role the store has (``full``, ``loo``, ``eval``,
``fit``), one row per (subset, seed) in store order, with columns ``row`` (the subset's name,
e.g. ``fit/3``), ``split``, ``seed`` (seed index r), ``training_seed`` (the model's seed; null
for imported ground truth), ``mask`` (list of K bools) and ``F`` (list of n_targets float64, our
sign: higher is worse). ``README.md`` is the dataset card (YAML ``configs`` naming the splits,
so ``datasets.load_dataset(folder)`` works as well as ``load_dataset("parquet",
data_files={"fit": ".../data/fit.parquet", ...})``); ``manifest.json`` lists every Parquet
file's sha256 (``bundle``).

A bare Parquet file (no manifest) imports too: columns ``mask`` and ``F``, optionally ``split``
(fit/eval; other labels are left out) and ``seed`` (each subset's seeds on consecutive rows,
0..R-1); without ``split`` the first ``--n-fit`` subsets fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.groundtruth.bundle import (
    OURS,
    Part,
    find_manifest,
    open_bundle,
    parts,
    to_split,
    write_manifest,
)
from benchmarks.groundtruth.formats import GroundTruthFormatError, Split, as_array, first_n
from benchmarks.groundtruth.formats_loo import with_loo

TAG = "taskattr-groundtruth/parquet-1"
COLUMNS = ("row", "split", "seed", "training_seed", "mask", "F")


def _pyarrow():
    """``(pyarrow, pyarrow.compute, pyarrow.parquet)``, or a one-line error saying to install it."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise GroundTruthFormatError("the parquet format needs pyarrow: pip install "
                                     "pyarrow") from None
    return pa, pc, pq


def _table(part: Part, role: str, base: dict):
    """One role's rows as an Arrow table, one row per (subset, seed)."""
    pa = _pyarrow()[0]
    m, R, T = part.F.shape
    K = part.masks.shape[1]
    names = [base["row_names"][i] for i in part.index]
    seeds = base["training_seeds"]
    trained = [None if seeds is None else seeds[i][r] for i in part.index for r in range(R)]
    masks = np.repeat(part.masks, R, axis=0).reshape(-1)
    return pa.table({
        "row": pa.array([n for n in names for _ in range(R)], pa.string()),
        "split": pa.array([role] * (m * R), pa.string()),
        "seed": pa.array(np.tile(np.arange(R, dtype=np.int32), m)),
        "training_seed": pa.array(trained, pa.int64()),
        "mask": pa.ListArray.from_arrays(np.arange(0, m * R * K + 1, K, dtype=np.int32),
                                         pa.array(masks, pa.bool_())),
        "F": pa.ListArray.from_arrays(np.arange(0, m * R * T + 1, T, dtype=np.int32),
                                      pa.array(part.F.reshape(-1), pa.float64()))})


def write_parquet(task, store, out: Path, base: dict) -> list[Path]:
    """``data/<split>.parquet``, the dataset card ``README.md`` and ``manifest.json``."""
    pq = _pyarrow()[2]
    found = parts(task, store)
    (out / "data").mkdir(exist_ok=True)
    files = []
    for role, part in found.items():
        files.append(out / "data" / f"{role}.parquet")
        pq.write_table(_table(part, role, base), files[-1])
    card = out / "README.md"
    card.write_text(dataset_card(base, {r: len(p.masks) for r, p in found.items()}))
    manifest = {"format": TAG, **base, "columns": list(COLUMNS), "sign": {"ours": OURS}}
    return [*files, card, write_manifest(out, manifest, files)]


def dataset_card(base: dict, counts: dict[str, int]) -> str:
    """The dataset card: YAML header (splits, tags) and a description of the columns."""
    configs = "\n".join(f"  - split: {r}\n    path: data/{r}.parquet" for r in counts)
    sizes = ", ".join(f"{r}: {n}" for r, n in counts.items())
    return f"""---
pretty_name: "Task-attribution ground truth: {base['task']}"
tags:
- data-attribution
- task-attribution
- datamodels
configs:
- config_name: default
  data_files:
{configs}
---

# Task-attribution ground truth: {base['task']}

Retrained-model ground truth exported by `python -m benchmarks export-gt --format parquet`
(task key `{base['task_key']}`): K = {base['K']} units, {base['n_targets']} targets,
{base['n_seeds']} seed(s) per subset; subsets per split: {sizes}.

One row per (subset, seed). Columns: `row` (subset name), `split` (`fit`: fitting subsets,
`eval`: held-out subsets, `loo`: leave-one-out, `full`: all units), `seed` (seed index),
`training_seed` (the model's training seed; null for imported ground truth), `mask` (K bools:
unit k in the subset), `F` (the {base['primary']!r} output per target).

Sign: {OURS}

```python
from datasets import load_dataset
ds = load_dataset("parquet", data_files={{"fit": "data/fit.parquet", "eval": "data/eval.parquet"}})
```

`manifest.json` holds the task's spec, the training seeds and each Parquet file's sha256;
`python -m benchmarks import-gt manifest.json --name NAME` checks them and imports every split
back.
"""


def _lists(table, name: str, width: int | None, what: str) -> np.ndarray:
    """A list column as a ``(rows, width)`` array; every list of one length, no nulls."""
    pa, pc, _ = _pyarrow()
    if name not in table.column_names:
        raise GroundTruthFormatError(f"{what}: no column {name!r} (has {table.column_names})")
    col = table.column(name).combine_chunks()
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)
            or pa.types.is_fixed_size_list(col.type)):
        raise GroundTruthFormatError(f"{what}: column {name!r} is {col.type}, not a list")
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    if col.null_count or len(set(lengths.tolist())) > 1:
        raise GroundTruthFormatError(f"{what}: column {name!r} has null or unequal-length lists")
    n = width if width is not None else (int(lengths[0]) if len(lengths) else 0)
    if len(lengths) and lengths[0] != n:
        raise GroundTruthFormatError(f"{what}: {name!r} lists have {lengths[0]} entries, "
                                     f"expected {n}")
    flat = col.flatten()
    if flat.null_count:
        raise GroundTruthFormatError(f"{what}: column {name!r} holds null entries")
    return as_array(flat.to_numpy(zero_copy_only=False).reshape(len(col), n), f"{what}:{name}",
                    (2,))


def _seed_blocks(table, masks: np.ndarray, F: np.ndarray, what: str) -> Part:
    """Rows grouped by subset: consecutive seeds 0..R-1 of one mask -> ``F (m, R, T)``."""
    if "seed" not in table.column_names:
        return Part(masks, F[:, None, :])
    seed = table.column("seed").to_numpy(zero_copy_only=False)
    R = int(seed.max(initial=-1)) + 1
    if R < 1 or len(seed) % R or not np.array_equal(seed, np.tile(np.arange(R), len(seed) // R)):
        raise GroundTruthFormatError(f"{what}: column 'seed' must run 0..R-1 on consecutive "
                                     f"rows of each subset")
    blocks = masks.reshape(-1, R, masks.shape[1])
    if (blocks != blocks[:, :1]).any():
        raise GroundTruthFormatError(f"{what}: the seeds of one subset have different masks")
    return Part(blocks[:, 0], F.reshape(-1, R, F.shape[1]))


def _read_table(path: Path, K: int | None, T: int | None) -> dict[str, Part]:
    """Parts by ``split`` label (one ``None`` part without a split column)."""
    pq = _pyarrow()[2]
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as err:
        why = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        raise GroundTruthFormatError(f"{path}: not a readable Parquet file ({why})") from None
    masks, F = _lists(table, "mask", K, str(path)), _lists(table, "F", T, str(path))
    if "split" not in table.column_names:
        return {None: _seed_blocks(table, masks, F, str(path))}
    labels = np.asarray(table.column("split").to_pylist(), dtype=object)
    out = {}
    for label in dict.fromkeys(labels.tolist()):
        keep = labels == label
        out[label] = _seed_blocks(table.filter(keep), masks[keep], F[keep], f"{path} ({label})")
    return out


def read_parquet(path: Path, n_fit: int | None) -> list[Split]:
    """An export of ours (checked against its manifest) or a bare Parquet file."""
    manifest_path = find_manifest(path, TAG)
    if manifest_path is None:
        found = _read_table(Path(path), None, None)
        if None in found:
            p = found[None]
            return [first_n(p.masks.astype(np.float64), p.F, n_fit, Path(path).name, "parquet")]
        return [to_split(found, "parquet", str(path))]
    folder, manifest = open_bundle(manifest_path, TAG)
    found = {}
    for role in ("full", "loo", "fit", "eval"):  # full and loo where the export has them
        file = folder / "data" / f"{role}.parquet"
        if role in ("full", "loo") and f"data/{role}.parquet" not in manifest["files"]:
            continue
        got = _read_table(file, manifest["K"], manifest["n_targets"]) if file.is_file() else {}
        if set(got) != {role}:
            raise GroundTruthFormatError(f"{file}: missing, or not only {role!r} rows")
        found[role] = got[role]
    return [with_loo(to_split(found, "parquet", str(manifest_path)), found,
                     str(manifest_path))]

