"""Tasks whose ground truth was imported from files (``python -m benchmarks import-gt``).

Each entry ``<cache>/imported/<name>.json`` (written by ``benchmarks.groundtruth.transfer``) becomes
task
``name``: K = the masks' columns (units are the columns, membership is the identity),
n_targets = the targets' columns, one output ``loss`` (the imported values, whatever they
measure). Its store is a normal ground-truth store, content-keyed by the imported arrays' hash,
with ``eval`` then ``fit`` rows (after ``full`` and ``loo/k`` where the file is an export that
has them), R = the file's seeds, every row done. There is no oracle: ``evaluate`` refuses, so
methods needing a trained model skip, and so do those needing leave-one-out rows the file lacks.

The store's rows are the imported masks, not sampled ones (``Task.fixed_rows``). Method seeds
derive from ``seed_key`` (the content hash), never from the name, so one file imported under two
names gives identical results. ``kind`` (icl / modular / generic) and the re-split ``group``
travel in ``params_json``, i.e. in the ``task_params`` column of ``results.csv``, where the
claims and the leaderboard's group sections read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.api.registry import TASKS
from benchmarks.api.task import Task, TaskFactory
from benchmarks.common.spec import SpecError, SubsetDesign, TaskSpec
from benchmarks.groundtruth import fill as groundtruth
from benchmarks.groundtruth.subsets import Rows
from benchmarks.groundtruth.transfer import (
    ImportOptions,
    imported_dir,
    load_entry,
    load_split,
    write_import,
)


@dataclass(frozen=True)
class ImportedParams:
    """Identity of an import: its name, content hash and where the split came from."""

    name: str
    content_hash: str
    source_format: str
    split: str


class ImportedTask(Task):
    """Ground truth from a file: no model, no oracle."""

    engine = "loop"
    trains = False

    def __init__(self, spec: TaskSpec, rows: Rows, n_targets: int,
                 entry: dict | None = None) -> None:
        super().__init__(spec, {})
        self.params = spec.params
        self.rows = rows
        self._n_targets = n_targets
        entry = entry or {}
        self.kind: str = entry.get("kind", "generic")
        self.group: str | None = entry.get("group")
        self.split_index: int | None = entry.get("split_index")

    @property
    def seed_key(self) -> str:
        """What method seeds derive from: the imported content, not the task name."""
        return f"imported-{self.params.content_hash}"

    @property
    def params_json(self) -> str:
        """The data kind and, for a re-split, its group and index (no user overrides exist)."""
        info: dict = {"kind": self.kind}
        if self.group:
            info.update(group=self.group, split_index=self.split_index)
        return json.dumps(info, sort_keys=True)

    def fixed_rows(self) -> Rows:
        return self.rows

    @property
    def membership(self) -> np.ndarray:
        return np.eye(self.rows.masks.shape[1], dtype=bool)

    @property
    def K(self) -> int:
        return int(self.rows.masks.shape[1])

    @property
    def n_targets(self) -> int:
        return self._n_targets

    def evaluate(self, masks: np.ndarray, seeds: list[int], engine: str = "batched"
                 ) -> dict[str, np.ndarray]:
        raise SpecError(f"task {self.spec.name!r} holds imported ground truth and has no oracle: "
                        f"it cannot train models for new subsets (re-import with more rows)")


def build(name: str, profile: str, overrides: dict) -> ImportedTask:
    """Task ``name`` from its registry entry; its store is filled on first use."""
    if overrides:
        raise SpecError(f"imported task {name!r} takes no --set overrides, got "
                        f"{sorted(overrides)}")
    entry = load_entry(name)
    if entry is None:
        raise SpecError(f"imported task {name!r} has no entry in {imported_dir()}; "
                        f"run `python -m benchmarks import-gt FILE --name {name}`")
    s = load_split(entry)
    rows, values = _rows(s)
    density = float(np.clip(s.masks_fit.mean(), 0.01, 0.99))
    design = SubsetDesign(sampler="bernoulli", alpha=round(density, 4), n_fit=len(s.masks_fit),
                          n_eval=len(s.masks_eval), n_seeds=int(s.targets_fit.shape[1]),
                          loo=s.targets_loo is not None)
    params = ImportedParams(name, entry["content_hash"], entry["format"], entry["split"])
    spec = TaskSpec(name=name, params=params, design=design, profile=profile)
    task = ImportedTask(spec, rows, int(s.targets_fit.shape[2]), entry)
    fill_store(task, values)
    return task


def _rows(s) -> tuple[Rows, np.ndarray]:
    """The store's rows in ``build_rows``'s order (full and ``loo/k`` where the file has
    them, then eval, fit) and their values ``(m, R, T)``."""
    K = s.masks_fit.shape[1]
    has_loo = s.targets_loo is not None
    parts = [("full", np.ones((1, K), dtype=bool), s.targets_full),
             ("loo", ~np.eye(K, dtype=bool), s.targets_loo)] if has_loo else []
    parts += [("eval", s.masks_eval.astype(bool), s.targets_eval),
              ("fit", s.masks_fit.astype(bool), s.targets_fit)]
    names = tuple(role if role == "full" else f"{role}/{j}"
                  for role, masks, _ in parts for j in range(len(masks)))
    roles = tuple(role for role, masks, _ in parts for _ in range(len(masks)))
    return (Rows(np.concatenate([m for _, m, _ in parts]), roles, names),
            np.concatenate([v for _, _, v in parts]))


def fill_store(task: ImportedTask, values: np.ndarray, path: Path | None = None) -> None:
    """Create the task's store (if absent) and write every row's values, then its done flags."""
    store = groundtruth.open_store(task, path)
    if store.complete:
        return
    for j in range(values.shape[0]):
        for r in range(values.shape[1]):
            if not store.done[j, r]:
                store.write(j, r, {task.primary: values[j, r]})


_FACTORIES: dict[str, TaskFactory] = {}


def is_imported(name: str) -> bool:
    """Whether ``name`` was registered by this module (not a built-in task)."""
    return name in _FACTORIES


def register_imported(name: str) -> None:
    """Register task ``name`` (once per process; the factory reads the entry when called)."""
    if name not in _FACTORIES:
        _FACTORIES[name] = TaskFactory(lambda profile, overrides: build(name, profile, overrides),
                                       f"imported ground truth ({name})", trains=False)
        TASKS.register(name)(_FACTORIES[name])


def import_gt(path: Path, name: str, opts: ImportOptions | None = None) -> list[str]:
    """Import ``path`` as task ``name`` (ICL layout: ``name-split0..``) and register the
    tasks; returns their names."""
    names = write_import(path, name, opts)
    for n in names:
        register_imported(n)
    return names


def discover_imported() -> list[str]:
    """Register every imported task of the current cache; returns their names."""
    folder = imported_dir()
    names = sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []
    for name in names:
        register_imported(name)
    return names


discover_imported()
