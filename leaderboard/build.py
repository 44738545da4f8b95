"""Cell records -> ``leaderboard/results.csv`` and ``predictions.csv`` (tidy, upserted).

Gets the records and prediction rows of a run, and the stages' tables (anything with
``name``, ``frame``, ``key`` and ``group``: ``benchmarks.api.stage.Table``); never imports
``methods/``. Rows are keyed by
(task_key, method_key, metric, variant, split, profile): a new record replaces its old row, rows of
other tasks stay. Every table is read and written through ``benchmarks.common.tables``
(strict reads, a manifest beside each table).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.common import timing
from benchmarks.common.fsio import locked
from benchmarks.common.schema import PREDICTIONS, ROW_KEY, TIMINGS, TableSpec
from benchmarks.common.tables import read_table, write_table

LEADERBOARD_DIR = Path("leaderboard")  # resolved against the working directory, not the install
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


def write_tables(tables: list, out_dir: Path) -> None:
    """Upsert the stages' tables (``api.stage.Table``), one file at a time, all cells' rows
    together."""
    by_file: dict[tuple, list[pd.DataFrame]] = {}
    for t in tables:
        by_file.setdefault((t.name, t.key, t.group), []).append(t.frame)
    for (name, key, group), frames in by_file.items():
        upsert(out_dir / name, pd.concat(frames, ignore_index=True), list(key), list(group))


def write_timings(path: Path, profile: str, earlier: list[dict]) -> list[dict]:
    """Upsert this run's (task, stage) timings of ``profile``: ``earlier`` and those recorded
    since (``common.timing``); returns them all. A task's rows are ``cold`` where this run
    trained its ground truth, ``warm`` where it was cached (rows of no task, like rendering:
    cold if the run trained anything); a warm run replaces only warm rows, never the cold
    measurement."""
    rows = earlier + timing.drain()
    if rows:
        df = pd.DataFrame(rows).assign(profile=profile)
        df = df.drop_duplicates(["task", "stage"], keep="last")
        upsert(path, df.assign(cache=cache_state(df)), list(TIMINGS.key),
               ["task", "profile", "cache"])  # a task's rows of one cache state whole
    return rows


def cache_state(df: pd.DataFrame) -> pd.Series:
    """``cold`` / ``warm`` per row of one run's timings (see ``write_timings``)."""
    models = pd.to_numeric(df["models"], errors="coerce").fillna(0)
    trained = set(df.loc[(df.stage == "ground truth") & (models > 0), "task"])
    known = set(df.loc[df.stage == "ground truth", "task"])
    default = "cold" if trained else "warm"
    return df["task"].map(lambda t: "cold" if t in trained else "warm" if t in known
                          else default)
