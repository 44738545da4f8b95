"""Stage contract: work a paper runs on a cell after the cell's methods, beyond a metric.

A stage is a registered frozen dataclass (``benchmarks/stages/``) whose fields are its
parameters. ``run(cell)`` gets the cell's task, its ground-truth store, the methods the cell ran
and their records (``record.json`` contents, with the paths of their saved outputs through
``CellInputs.outputs``), and returns results rows (the schema of ``common/schema.py``) and
tables for files beside ``results.csv``. Stages talk to the rest only through those outputs.

``run_cached`` keeps each stage's output beside the cell's ground truth, keyed by everything it
reads (the stage's parameters, the task, the ground truth, the methods' records, the code and
what decides the bits), so a warm rerun reads it instead of training or re-fitting again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd

from benchmarks.api.method import Method
from benchmarks.api.task import Task
from benchmarks.common.cache import cell_dir
from benchmarks.common.fsio import atomic_write_text
from benchmarks.common.provenance import bit_provenance, code_hash, deciding

Methods = tuple[tuple[str, dict], ...]  # (registered name, parameters) rows


class StoreRows(Protocol):
    """The store's row table: ``masks: (m, K)`` bool, and the row indices of a role."""

    @property
    def masks(self) -> np.ndarray: ...

    def index(self, role: str) -> np.ndarray: ...


class CellStore(Protocol):
    """What a stage reads of the cell's ground-truth store (``groundtruth.store`` implements
    it): its folder (stage caches live under it), rows, done flags ``(m, R)`` (R: the seeds),
    per-seed and seed-averaged values, the bit provenance of the process that began it, and
    the fingerprint of its contents."""

    @property
    def path(self) -> Path: ...

    @property
    def rows(self) -> StoreRows: ...

    @property
    def done(self) -> np.ndarray: ...

    @property
    def bits(self) -> dict | None: ...

    def mean(self, name: str, role: str) -> np.ndarray:
        """Seed-averaged ``(rows of role, n_targets)`` of output ``name``."""

    def array(self, name: str) -> np.ndarray:
        """Per-seed ``(m, R, n_targets)`` of output ``name`` (every row)."""

    def fingerprint(self) -> str:
        """Digest of every row's checksum and done flag."""


@dataclass(frozen=True)
class CellInputs:
    """What a stage may read: the cell's task, store, methods and their records."""

    task: Task
    store: CellStore
    methods: Methods
    records: tuple[dict, ...]
    workers: int = 1  # processes a stage that trains may spread its models over

    def outputs(self, method: Method) -> Path:
        """The folder of ``method``'s saved outputs on this cell (``scores.npy``, ...)."""
        return cell_dir(self.task.spec.key, method.key)


@dataclass(frozen=True)
class Table:
    """Rows for the file ``name`` beside ``results.csv``, upserted by ``key``; a new frame
    replaces every old row of the ``group`` values it carries."""

    name: str
    frame: pd.DataFrame
    key: tuple[str, ...]
    group: tuple[str, ...] = ("task_key", "profile")


@dataclass
class StageOutput:
    rows: list[dict] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


class Stage:
    """Base class of stages (subclasses are registered frozen dataclasses)."""

    registry_name: ClassVar[str]

    def run(self, cell: CellInputs) -> StageOutput:
        raise NotImplementedError

    def report(self, out_dir: Path) -> str:
        """A summary printed once after every cell ran (default: none)."""
        return ""


def run_cached(stage: Stage, cell: CellInputs) -> StageOutput:
    """``stage.run(cell)``, or its saved output when every input is the same; an unreadable
    or edited file is recomputed (and replaced), a different input writes another file."""
    key = _key(stage, cell)
    digest = hashlib.sha256(_dumps(key).encode()).hexdigest()[:16]
    path = cell.store.path / "stages" / f"{stage.registry_name}-{digest}.json"
    cached = _load(path, key)
    if cached is not None:
        return cached
    out = stage.run(cell)
    payload = {"rows": out.rows, "tables": [_table_dict(t) for t in out.tables]}
    text = _dumps(payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, _dumps({"key": key, "payload": payload,
                                    "checksum": hashlib.sha256(text.encode()).hexdigest()}))
    return _output(json.loads(text))


def _key(stage: Stage, cell: CellInputs) -> dict:
    return {"stage": stage.registry_name, "params": dataclasses.asdict(stage),
            "task_key": cell.task.spec.key, "gt": cell.store.fingerprint(),
            "methods": [list(m) for m in cell.methods],
            "records": [r.get("checksum") for r in cell.records],
            "code_hash": code_hash(), "bits": deciding(bit_provenance())}


def _load(path: Path, key: dict) -> StageOutput | None:
    try:
        saved = json.loads(path.read_text())
        payload = saved["payload"]
        same = (json.loads(_dumps(key)) == saved["key"] and saved["checksum"]
                == hashlib.sha256(_dumps(payload).encode()).hexdigest())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return None
    return _output(payload) if same else None


def _table_dict(t: Table) -> dict:
    return {"name": t.name, "key": list(t.key), "group": list(t.group),
            "columns": list(t.frame.columns), "dtypes": [str(d) for d in t.frame.dtypes],
            "data": t.frame.to_numpy(dtype=object).tolist()}


def _output(payload: dict) -> StageOutput:
    tables = [Table(t["name"], _frame(t), tuple(t["key"]), tuple(t["group"]))
              for t in payload["tables"]]
    return StageOutput(list(payload["rows"]), tables)


def _frame(t: dict) -> pd.DataFrame:
    dtypes = dict(zip(t["columns"], t["dtypes"], strict=True))
    return pd.DataFrame(t["data"], columns=t["columns"]).astype(dtypes)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _dumps(obj: object) -> str:
    """JSON that round-trips every float exactly (NaN included) and sorts keys."""
    return json.dumps(obj, sort_keys=True, default=_plain)
