"""Cell records -> ``leaderboard/results.csv`` and ``predictions.csv`` (tidy, upserted).

Reads only files written by the runner (``<cache>/results/*/*/record.json`` and
``predictions.npy``) plus the ground-truth arrays; never imports ``methods/``. Rows are keyed by
(task_key, method_key, metric, variant, split, profile): a new record replaces its old row, rows of
other tasks stay. Every table is read and written through ``benchmarks.common.tables``
(strict reads, a manifest beside each table).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.fsio import locked
from benchmarks.common.schema import PREDICTIONS, ROW_KEY, TableSpec
from benchmarks.common.tables import read_table, write_table

LEADERBOARD_DIR = Path(__file__).resolve().parent
BENCH_JSON = LEADERBOARD_DIR / "bench.json"  # written by `nox -s bench`, read by the claims


def record_rows(records: list[dict]) -> pd.DataFrame:
    """The metric rows of cell records as one DataFrame."""
    rows = [row for rec in records for row in rec.get("rows", [])]
    return pd.DataFrame(rows)


def upsert(csv_path: Path, new: pd.DataFrame, key: list[str],
           groups: list[str] | None = None) -> pd.DataFrame:
    """Replace rows of ``csv_path`` that share ``key`` with ``new`` (the last of ``new``'s rows
    of one key); keep the others.

    With ``groups`` (e.g. task_key + profile), every old row of a group present in ``new`` is
    replaced, so a method variant a new run no longer produces leaves the table. The
    read-modify-write holds a lock and the file is replaced atomically, so concurrent writers
    lose no rows and a killed run leaves the old table; the old table is read strictly and
    the new one written with its manifest (``benchmarks.common.tables``).
    """
    csv_path = Path(csv_path)
    with locked(csv_path):
        if new.empty and not csv_path.exists():
            return new
        old = read_table(csv_path, TableSpec(tuple(key))) if csv_path.exists() else None
        if old is not None and not new.empty:
            by = groups or key
            stale = old.set_index(by).index.isin(new.set_index(by).index)
            old = old[~stale]
        if old is not None:
            new = pd.concat([old, new], ignore_index=True) if not new.empty else old
        new = new.drop_duplicates(key, keep="last").sort_values(key).reset_index(drop=True)
        write_table(csv_path, new, key)
    return new


def prediction_rows(cell_dir: Path, meta: dict, eval_F: np.ndarray,
                    max_targets: int = 24) -> pd.DataFrame:
    """Predicted vs true F on evaluation subsets, for the first ``max_targets`` targets."""
    pred = np.load(cell_dir / "predictions.npy")[:, :max_targets]
    true = eval_F[:, :max_targets]
    j, t = np.meshgrid(np.arange(pred.shape[0]), np.arange(pred.shape[1]), indexing="ij")
    df = pd.DataFrame({"subset": j.ravel(), "target": t.ravel(), "predicted": pred.ravel(),
                       "true": true.ravel()})
    for k, v in meta.items():
        df.insert(0, k, v)
    return df


def write(records: list[dict], predictions: list[pd.DataFrame],
          out_dir: Path = LEADERBOARD_DIR) -> tuple[Path, Path]:
    """Upsert ``results.csv`` and ``predictions.csv`` in ``out_dir``."""
    res = out_dir / "results.csv"
    upsert(res, record_rows(records), ROW_KEY, ["task_key", "profile"])
    pred = out_dir / "predictions.csv"
    frames = [p for p in predictions if not p.empty]
    upsert(pred, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
           list(PREDICTIONS.key), ["task_key"])
    return res, pred
