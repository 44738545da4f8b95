"""Re-splits of an imported ground truth: where does the file's own fit/held-out split fall?

An import arrives with one split, chosen by whoever wrote the file. ``resplit_lds`` pools its
fitting and held-out rows and draws ``n`` random re-splits that hold out as many rows as the
file does (re-split b's permutation is seeded by ``derive_seed(task.seed_key, "resplit", b)``:
the import's content hash, never its name). On each, the run's method is fitted on the
re-split's fitting rows as the runner fits it (the same method seed, one math thread) and scored
by the suite's LDS (Spearman, mean over targets whose held-out truth is not constant) on its
held-out rows. All in memory: no cell folder is written.

The file's split is placed by its **percentile**: ``100 * (#{b: LDS_b < LDS_file} + 0.5 *
#{b: LDS_b = LDS_file}) / n``. A split at the edge of the distribution (below the 5th or above
the 95th) is a finding: the file's held-out rows are easier or harder than random ones.
Repeated subsets are rows like any other (the import's policy, ``groundtruth/repeats.py``), so
a re-split may put one subset on both sides, as a file's own split may.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import benchmarks.common.device as devices
from benchmarks.api.context import Context, LabelSet, seed_key
from benchmarks.api.method import Method, Need
from benchmarks.api.task import Task
from benchmarks.common.spec import derive_seed
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.metrics.lds import per_target_spearman
from benchmarks.oracles.fit import method_predict

RESPLITS = 100  # re-splits drawn by default
LABEL_NEEDS = frozenset({Need.FIT_LABELS, Need.FIT_MASKS})  # what a re-split can hand a method


def fit_predict(task: Task, method: Method, masks: np.ndarray, values: np.ndarray,
                eval_masks: np.ndarray) -> np.ndarray:
    """Fit ``method`` on labelled subsets ``masks (n, K)``, ``values (n, n_targets)`` as the
    runner does (its seed from the task's seed key and the method key, one math thread) and
    predict ``eval_masks (m_e, K) -> (m_e, n_targets)``."""
    seed = derive_seed(seed_key(task), method.key)
    fit = LabelSet(masks, values, float(len(masks)))
    ctx = Context(task=task, seed=seed, fit=fit,
                  fit_masks=masks if Need.FIT_MASKS in method.needs else None)
    with devices.math_threads(), devices.scope():
        fitted = method.fit(ctx)
    return method_predict(method, fitted, eval_masks)


def lds_spearman(predictions: np.ndarray, truth: np.ndarray) -> float:
    """The suite's LDS value (``lds``/``spearman``): mean over targets of the Spearman
    correlation across held-out subsets, targets with constant truth dropped."""
    rho = per_target_spearman(predictions, truth)  # (n_targets,), NaN where truth is constant
    ok = rho[np.isfinite(rho)]
    return float(ok.mean()) if ok.size else float("nan")


def percentile(value: float, dist: np.ndarray) -> float:
    """Mid-rank percentile of ``value`` in ``dist`` (ties count one half)."""
    below = np.sum(dist < value) + 0.5 * np.sum(dist == value)
    return float(100.0 * below / len(dist))


def ordinal(p: float) -> str:
    """``97`` -> ``97th``, ``1`` -> ``1st``, ``22.4`` -> ``22nd`` (rounded)."""
    k = int(round(p))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def resplit(m: int, n_eval: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fitting, held-out) indices into ``m`` pooled rows: a random permutation, the first
    ``n_eval`` held out."""
    perm = np.random.default_rng(seed).permutation(m)
    return np.sort(perm[n_eval:]), np.sort(perm[:n_eval])


def pooled(task: Task, store: GroundTruthStore) -> tuple[np.ndarray, np.ndarray, int]:
    """Every labelled subset of the store, held-out rows first: masks ``(m, K)``,
    seed-averaged values ``(m, n_targets)``, and the number the file holds out."""
    eval_idx, fit_idx = store.rows.index("eval"), store.rows.index("fit")
    masks = store.rows.masks[np.concatenate([eval_idx, fit_idx])]
    values = np.concatenate([store.mean(task.primary, "eval"), store.mean(task.primary, "fit")])
    return masks, values, len(eval_idx)


def resplit_lds(task: Task, store: GroundTruthStore, method: Method,
                n: int = RESPLITS) -> np.ndarray:
    """``(n,)`` LDS of ``method`` on ``n`` random re-splits of the store's rows."""
    masks, values, n_eval = pooled(task, store)
    out = np.empty(n)
    for b in range(n):
        fit, held = resplit(len(masks), n_eval, derive_seed(task.seed_key, "resplit", b))
        pred = fit_predict(task, method, masks[fit], values[fit], masks[held])
        out[b] = lds_spearman(pred, values[held])
    return out


@dataclass(frozen=True)
class ReSplits:
    """The file's own LDS and the LDS of ``n`` random re-splits."""

    file_lds: float
    lds: np.ndarray  # (n,)

    @property
    def percentile(self) -> float:
        return percentile(self.file_lds, self.lds)

    def line(self) -> str:
        """One line: the file's LDS, its percentile, the re-splits' median and 5-95% range."""
        lo, med, hi = np.percentile(self.lds, [5, 50, 95])
        edge = " (at the edge of the distribution)" if not 5 <= self.percentile <= 95 else ""
        return (f"file's split: LDS {self.file_lds:.3f}, at the {ordinal(self.percentile)} "
                f"percentile of {len(self.lds)} re-splits (median {med:.3f}, 5-95%: "
                f"{lo:.3f}-{hi:.3f}){edge}")


def unsupported(method: Method) -> str | None:
    """Why ``method`` cannot be refitted on a re-split (None: it can)."""
    if Need.FIT_LABELS not in method.needs or not method.needs <= LABEL_NEEDS:
        return f"{method.display} reads more than labelled subsets"
    if getattr(method, "labels", "retrain") != "retrain":
        return f"{method.display} reads another label oracle"
    return None


def file_lds(record: dict) -> float | None:
    """The run's own LDS (``lds``/``spearman`` on the held-out rows) from its record."""
    rows = [r for r in record.get("rows", []) if (r["metric"], r["variant"], r["split"])
            == ("lds", "spearman", "eval")]
    return float(rows[0]["value"]) if rows else None


def report(task: Task, store: GroundTruthStore, method: Method, record: dict,
           n: int = RESPLITS) -> str:
    """The line ``run`` prints for an imported ground truth (or why there is none)."""
    why = unsupported(method)
    own = file_lds(record)
    if why or own is None:
        return f"re-splits: none ({why or 'the run has no LDS'})"
    return ReSplits(own, resplit_lds(task, store, method, n)).line()
