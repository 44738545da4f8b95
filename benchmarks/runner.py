"""Run one cell (task x method): fit, score, predict held-out subsets, compute metrics.

Writes ``<cache>/results/<task_key>/<method_key>/`` with ``record.json`` (metric rows +
provenance), ``scores.npy (K, n_targets)``, ``predictions.npy (m_eval, n_targets)`` and, where
the method has one, ``self_influence.npy (K,)``. A cell whose record was written by the same
code (code hash) from the same ground truth (the store's fingerprint) is not recomputed; the
record is written last and atomically, so a killed run leaves no record of a half-written cell.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import benchmarks.common.device as devices
from benchmarks.api.context import seed_key
from benchmarks.api.evaluation import Evaluation, MetricValue
from benchmarks.api.method import Method, make_method
from benchmarks.api.paper import Cell
from benchmarks.api.registry import METRICS
from benchmarks.api.stage import CellInputs, Table, run_cached
from benchmarks.api.task import Task
from benchmarks.common import cache
from benchmarks.common.fsio import atomic_save_npy, atomic_write_text
from benchmarks.common.provenance import bit_provenance, bits_id, code_hash, git_sha, now_iso
from benchmarks.common.schema import ResultRow
from benchmarks.common.timing import timed
from benchmarks.groundtruth.diagnostics import at_chance, summarise_ground_truth
from benchmarks.groundtruth.executors import Executor
from benchmarks.groundtruth.fill import open_store
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.oracles import memo
from benchmarks.oracles.fit import fit_method, method_predict, method_scores


@dataclass
class CellRun:
    """What one paper cell produced: method records (and stage rows), predicted-vs-true
    rows, ground-truth diagnostics and the stages' tables."""

    records: list[dict]
    preds: list[pd.DataFrame]
    diag: dict
    tables: list[Table] = field(default_factory=list)


def run_paper_cell(task: Task, cell: Cell, executor: Executor,
                   step: Callable[[str], None] = lambda _: None) -> CellRun:
    """A paper's cell on one built task: ground truth, then the cell's methods, then its
    stages (each timed in ``common.timing``); ``step`` hears each one's name as it starts
    (``replicate`` shows it on its progress bar)."""
    step("ground truth")
    executor.fill(task)
    store = open_store(task)
    diag = summarise_ground_truth(task, store)
    print("ground truth: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in diag.items()))
    warning = at_chance(diag)
    if warning:
        print(f"WARNING {task.label}: {warning}")
    run = CellRun([], [], diag)
    predicted = {make_method(n, p).key for n, p in cell.predictions}
    for name, params in cell.methods:
        method = make_method(name, params)
        step(f"method {method.display}")
        with timed(task.label, f"method {method.display}", f"method {name}"):
            record = run_cell(task, store, method)
        run.records.append(record)
        if method.key in predicted and record["rows"]:
            run.preds.append(prediction_frame(task, store, method))
    local = executor.workers if executor.kind == "local" else 1
    inputs = CellInputs(task, store, cell.methods, tuple(run.records), local)
    for stage in cell.stages:
        step(f"stage {stage.registry_name}")
        with timed(task.label, f"stage {stage.registry_name}"):
            out = run_cached(stage, inputs)
        if out.rows:
            run.records.append({"rows": out.rows})
        run.tables += out.tables
    memo.release()  # the gradients, curvature and features the cell's methods shared
    return run


def prediction_frame(task: Task, store: GroundTruthStore, method: Method,
                     max_targets: int = 24) -> pd.DataFrame:
    """Rows of ``predictions.csv``: the saved predicted vs true F on evaluation subsets, for
    the first ``max_targets`` targets."""
    pred = np.load(cache.cell_dir(task.spec.key, method.key) / "predictions.npy")
    pred = pred[:, :max_targets]  # (m_eval, <= max_targets)
    true = store.mean(task.primary, "eval")[:, :max_targets]
    j, t = np.meshgrid(np.arange(pred.shape[0]), np.arange(pred.shape[1]), indexing="ij")
    return pd.DataFrame({
        "task": task.label, "task_key": task.spec.key, "method": method.registry_name,
        "method_key": method.key, "method_label": method.display, "subset": j.ravel(),
        "target": t.ravel(), "predicted": pred.ravel(), "true": true.ravel()})


def run_cell(task: Task, store: GroundTruthStore, method: Method, force: bool = False) -> dict:
    """Fit ``method`` on ``task`` and evaluate every registered metric; returns the record."""
    out = cache.cell_dir(task.spec.key, method.key)
    record = _cached_record(out, store.fingerprint(), task.spec.key, method.key)
    if record is not None and not force:
        return record
    reason = method.applies(task)
    if reason:
        return {"skipped": reason, "rows": []}
    t0 = time.perf_counter()
    ctx, fitted = fit_method(task, store, method)
    scores = method_scores(method, fitted)
    eval_masks = store.rows.masks[store.rows.index("eval")]
    predictions = method_predict(method, fitted, eval_masks)
    cost = time.perf_counter() - t0
    _check_shapes(method, scores, predictions, task.K, len(eval_masks), task.n_targets)
    ev = Evaluation(eval_masks, store.mean(task.primary, "eval"), predictions, scores,
                    _loo_delta(store, task), f"{seed_key(task)}/{method.key}",
                    fitted.self_influence, task.flipped, method_state=fitted.state,
                    target_groups=task.target_groups)
    n_labels = (ctx.fit.values.shape[0] if ctx.fit is not None else 0) + (
        ctx.loo.shape[0] + 1 if ctx.loo is not None else 0)
    rows = _metric_rows(ev, method, task, cost, n_labels, store.bits)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {"scores.npy": scores, "predictions.npy": predictions}
    if fitted.self_influence is not None:
        arrays["self_influence.npy"] = fitted.self_influence
    for name, arr in arrays.items():
        atomic_save_npy(out / name, arr)
    record = {"task_key": task.spec.key, "method_key": method.key, "code_hash": code_hash(),
              "gt_fingerprint": store.fingerprint(), "config": method.config(),
              "state": _plain_state(fitted.state), "rows": rows,
              "bits": {"gt": store.bits, "fit": bit_provenance(),
                       "math_threads": devices.FIT_THREADS}}
    record["checksum"] = _record_checksum(record, {n: out / n for n in arrays})
    atomic_write_text(out / "record.json", json.dumps(record, indent=1))
    return record


def _record_checksum(record: dict, files: dict[str, Path]) -> dict:
    """Digests of the record's rows and of the arrays beside it: a cached cell whose rows or
    arrays were edited or lost is recomputed, never reported."""
    rows = json.dumps(record["rows"], sort_keys=True, default=str).encode()
    out = {"rows": hashlib.sha256(rows).hexdigest()[:16]}
    for name, path in sorted(files.items()):
        out[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else None
    return out


def _cached_record(out: Path, fingerprint: str, task_key: str, method_key: str
                   ) -> dict | None:
    """The cell's record if it came from this code, this ground truth, this task and this
    method, and neither it nor its arrays changed since; None means recompute (an unreadable,
    edited, incomplete or misplaced record, e.g. another method's folder copied here, is
    replaced, never trusted)."""
    try:
        record = json.loads((out / "record.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("checksum"), dict):
        return None
    same = (record.get("code_hash") == code_hash()
            and record.get("gt_fingerprint") == fingerprint
            and record.get("task_key") == task_key and record.get("method_key") == method_key)
    names = [n for n in record["checksum"] if n != "rows"]
    if not same or _record_checksum(record, {n: out / n for n in names}) != record["checksum"]:
        return None
    return record


def _loo_delta(store: GroundTruthStore, task: Task) -> np.ndarray | None:
    if not len(store.rows.index("loo")):
        return None
    return store.mean(task.primary, "full") - store.mean(task.primary, "loo")


def _check_shapes(method: Method, scores: np.ndarray, pred: np.ndarray, K: int, m: int,
                  n_t: int) -> None:
    if scores.shape != (K, n_t):
        raise ValueError(f"{method.key}: scores must be (K={K}, n_targets={n_t}), "
                         f"got {scores.shape}")
    if pred.shape != (m, n_t):
        raise ValueError(f"{method.key}: predictions must be ({m}, {n_t}), got {pred.shape}")
    for name, arr in (("scores", scores), ("predictions", pred)):
        bad = int((~np.isfinite(arr)).sum())
        if bad:
            raise ValueError(f"{method.key}: {bad} of {arr.size} {name} are not finite; "
                             f"nothing was saved (an ill-posed solve? see the method's fields)")


def _metric_rows(ev: Evaluation, method: Method, task: Task, cost: float,
                 n_labels: int, gt_bits: dict | None) -> list[dict]:
    rows = []
    ident = MethodIdentity.of(method)
    for name, fn in METRICS.items():
        if name in method.reference_for or (METRICS.meta(name).get("needs_loo")
                                           and ev.loo_delta is None):
            continue
        rows += result_rows(task, ident, name, fn(ev), METRICS.meta(name)["higher_is_better"],
                            cost, n_labels, gt_bits)
    return rows


@dataclass(frozen=True)
class MethodIdentity:
    """The method columns of a results row (a registered method or a selection baseline)."""

    name: str
    key: str
    label: str
    labels: str = "none"

    @classmethod
    def of(cls, method: Method) -> MethodIdentity:
        """The columns of a registered method (``labels`` = its label oracle, if any)."""
        return cls(method.registry_name, method.key, method.display, method.labels)


def result_rows(task: Task, method: MethodIdentity, metric: str, values: list[MetricValue],
                higher_is_better: bool, cost: float, n_labels: int,
                gt_bits: dict | None = None) -> list[dict]:
    """Rows of ``results.csv`` (the schema every stage writes) for one metric's values;
    ``bits`` digests what decided them (``gt_bits`` of the ground truth, and this process)."""
    bits = bits_id(gt_bits)
    return [ResultRow(
        task=task.label, task_key=task.spec.key, task_family=task.spec.name,
        task_params=task.params_json, regime=task.regime, method=method.name,
        method_key=method.key, method_label=method.label, labels=method.labels, metric=metric,
        variant=v.variant, split=v.split, value=v.value, ci_low=v.ci_low, ci_high=v.ci_high,
        n_targets=v.n_targets, n_dropped=v.n_dropped, higher_is_better=higher_is_better,
        profile=task.spec.profile, cost_s=round(cost, 4), n_labels=n_labels,
        git_sha=git_sha(), bits=bits, created=now_iso()).as_dict() for v in values]


def _plain_state(state: dict) -> dict:
    """The JSON-representable scalars of a fitted state (e.g. chosen gamma, lambda)."""
    return {k: v for k, v in state.items() if isinstance(v, (int, float, str, bool))}
