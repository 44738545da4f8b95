"""Label curve: the surrogates' LDS and NE against the number n of fitting subsets they see.

On a cell with retrained labels, each surrogate (KernelSM by CV and at the authors' fixed
setting, the ridge and min-norm linear surrogates) is fitted on ``draws`` random draws of n of
the store's fitting subsets, for n = round(r * K) over ``ratios`` (those within the pool, then
the whole pool when it is larger than the last), and every fit is scored on all of the store's
evaluation subsets with the suite's metrics (``lds``'s ``spearman``, ``residual``'s ``ne``).
A draw is the sorted positions ``fit_rows`` picks among the pool's fitting rows, from a seed
derived from the task's seed key and ``label_curve/{n}/{draw}``; the whole pool has one draw,
the cell's own fit (same rows, same order, the runner's method seed), so its sd is 0. Fits are
made in memory: the cell's method folders are never written.

**A paper-sized experiment.** The paper fits n = 1.6K subsets (K = 25 units, n = 40) and scores
10 held-out ones. Over ``paper_draws`` draws d, each a fitting draw of n_paper (``fit_rows``,
the rule of the curve, so its first ``draws`` are the curve's) and 10 of the evaluation
subsets (``heldout_rows``, seed ``label_curve/heldout/{size}/{d}``), the same metrics on those
10 subsets give ``p_c2`` = the share of draws with KernelSM (CV) LDS - baseline LDS > ``c2_gap``
and ``p_c3`` = the share with KernelSM NE / baseline NE <= ``c3_ratio``, for each baseline (a
non-finite value counts as not showing the claim). Only where n_paper fits the pool and the
store has 10 evaluation subsets.

**A larger pool.** ``pool`` > 0 fits on a variant task with ``design.n_fit = pool`` (capped by
the distinct subsets the design has) in a content-keyed store of its own, trained whole (every
row, R seeds each) with the cell's workers: its evaluation subsets are the cell's and its first
fitting subsets are the cell's (``groundtruth/subsets.py`` draws evaluation masks first, every
mask from seeds that ignore the counts), with the same training seeds, so only the pool grows
(values agree to the bit but where a batched chunk's composition changed: on quick fine-tuned
modular addition the evaluation values are bit-equal, the cell's last chunk's fitting rows
3e-6 apart). Draws and method seeds then derive from the variant's key, and the whole pool is
the variant's own fit. Imported ground truth cannot grow: its own store.

Outputs: ``label_curve.csv`` (one row per method and n), ``label_curve_claim.csv`` (one row per
baseline) and results rows ``label_curve`` / ``lds`` and ``ne``, split ``n=<n>``: the mean
over draws with ci_low/ci_high = mean -/+ sd (not a confidence interval).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

import benchmarks.common.device as devices
from benchmarks.api.context import Context, LabelSet, seed_key
from benchmarks.api.evaluation import Evaluation, MetricValue
from benchmarks.api.method import Method, Need, make_method
from benchmarks.api.registry import METRICS, register_stage
from benchmarks.api.stage import CellInputs, Methods, Stage, StageOutput, Table
from benchmarks.api.task import Task, make_task
from benchmarks.common.spec import derive_seed, fixed_size
from benchmarks.groundtruth.executors import fill_ground_truth
from benchmarks.groundtruth.fill import open_store
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.oracles.fit import build_context
from benchmarks.runner import MethodIdentity, result_rows

CSV, CLAIM_CSV = "label_curve.csv", "label_curve_claim.csv"
COLUMNS = ("task", "task_key", "profile", "K", "method", "method_key", "method_label", "n",
           "n_over_K", "draws", "lds_mean", "lds_sd", "ne_mean", "ne_sd", "pool")
CLAIM_COLUMNS = ("task", "task_key", "profile", "K", "n", "heldout", "kernel", "baseline",
                 "baseline_label", "p_c2", "p_c3", "draws")
KERNEL = ("kernel_sm", {})
RIDGE = ("linear_surrogate", {"fit_type": "ridge"})
MINNORM = ("linear_surrogate", {"fit_type": "minnorm"})
SURROGATES: Methods = (KERNEL, ("kernel_sm", {"gamma": "auto", "lam": 0.01, "center": False}),
                       RIDGE, MINNORM)
RATIOS = (0.8, 1.6, 3.0, 6.0, 12.0, 20.0)  # n / K; 1.6 is the paper's (K = 25, n = 40)


def label_counts(ratios: tuple[float, ...], K: int, pool: int) -> list[int]:
    """n = round(r * K) for each ratio, those in [2, pool], then ``pool`` if larger."""
    kept = sorted({int(round(r * K)) for r in ratios} & set(range(2, pool + 1)))
    return kept + [pool] if not kept or pool > kept[-1] else kept


def fit_rows(key: str, n: int, draw: int, pool: int) -> np.ndarray:
    """Sorted positions ``(n,)`` among ``pool`` fitting rows of draw ``draw`` at size ``n``."""
    rng = np.random.default_rng(derive_seed(key, f"label_curve/{n}/{draw}"))
    return np.sort(rng.choice(pool, size=n, replace=False))


def heldout_rows(key: str, size: int, draw: int, m_eval: int) -> np.ndarray:
    """Sorted positions ``(size,)`` among ``m_eval`` evaluation rows of held-out draw ``draw``."""
    rng = np.random.default_rng(derive_seed(key, f"label_curve/heldout/{size}/{draw}"))
    return np.sort(rng.choice(m_eval, size=size, replace=False))


class Draws:
    """Surrogates fitted on draws of a store's fitting pool, scored on its evaluation subsets
    with the runner's method contexts (seeds) and the suite's metric functions."""

    def __init__(self, task: Task, store: GroundTruthStore) -> None:
        self.task, self.store, self.key = task, store, seed_key(task)
        self.masks = store.rows.masks[store.rows.index("eval")]  # (m_e, K)
        self.truth = store.mean(task.primary, "eval")  # (m_e, n_targets)
        self.pool = len(store.rows.index("fit"))
        self._contexts: dict[str, Context] = {}

    def predict(self, method: Method, n: int, draw: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores (K, n_t), predictions (m_e, n_t))`` of ``method`` fitted on a draw."""
        ctx = self._context(method)
        pos = fit_rows(self.key, n, draw, self.pool)
        full = ctx.fit
        labels = LabelSet(full.masks[pos], full.values[pos], full.cost_retrainings * n / self.pool)
        with devices.math_threads(), devices.scope():  # as fit_method, method_scores/predict
            fitted = method.fit(replace(ctx, fit=labels))
            return method.scores(fitted), method.predict(fitted, self.masks)

    def score(self, method: Method, fit: tuple[np.ndarray, np.ndarray],
              rows: np.ndarray | None = None) -> tuple[MetricValue, MetricValue]:
        """(LDS spearman, NE) of a fit on the evaluation rows ``rows`` (default: all)."""
        rows = np.arange(len(self.masks)) if rows is None else rows
        ev = Evaluation(self.masks[rows], self.truth[rows], fit[1][rows], fit[0], None,
                        f"{self.key}/{method.key}")
        lds = next(v for v in METRICS.get("lds")(ev) if v.variant == "spearman")
        ne = next(v for v in METRICS.get("residual")(ev) if v.variant == "ne")
        return lds, ne

    def _context(self, method: Method) -> Context:
        if method.key not in self._contexts:
            self._contexts[method.key] = build_context(self.task, self.store, method)
        return self._contexts[method.key]


def _sd(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def curve_point(draws: Draws, method: Method, n: int, count: int) -> dict:
    """Mean and sd over ``count`` draws (one for the whole pool) of LDS and NE at ``n``."""
    count = 1 if n == draws.pool else count
    t0 = time.perf_counter()
    values = [draws.score(method, draws.predict(method, n, d)) for d in range(count)]
    secs = (time.perf_counter() - t0) / count
    lds = np.array([v[0].value for v in values])
    ne = np.array([v[1].value for v in values])
    return {"n": n, "draws": count, "lds_mean": float(lds.mean()), "lds_sd": _sd(lds),
            "ne_mean": float(ne.mean()), "ne_sd": _sd(ne), "fit_s": secs,
            "first": values[0]}


def paper_odds(draws: Draws, kernel: Method, baselines: list[Method], n: int, heldout: int,
               count: int, gap: float, ratio: float) -> dict[str, tuple[float, float]]:
    """``{baseline key: (p_c2, p_c3)}`` over ``count`` paper-sized experiments (docstring)."""
    hits = {b.key: np.zeros(2) for b in baselines}
    for d in range(count):
        rows = heldout_rows(draws.key, heldout, d, len(draws.masks))
        k_lds, k_ne = draws.score(kernel, draws.predict(kernel, n, d), rows)
        for b in baselines:
            b_lds, b_ne = draws.score(b, draws.predict(b, n, d), rows)
            with np.errstate(divide="ignore", invalid="ignore"):
                ne_ratio = np.float64(k_ne.value) / b_ne.value
            hits[b.key] += (k_lds.value - b_lds.value > gap, ne_ratio <= ratio)
    return {key: (float(h[0] / count), float(h[1] / count)) for key, h in hits.items()}


def grown(task: Task, pool: int, workers: int) -> tuple[Task, GroundTruthStore] | None:
    """The variant of ``task`` with ``pool`` fitting subsets (capped by the distinct subsets
    of its design), its store filled; None where it would not grow the cell's pool."""
    design = task.spec.design
    if design.sampler == "fixed":
        size = fixed_size(design.alpha, task.K)
        pool = min(pool, math.comb(task.K, size) - design.n_eval)
    if task.kind is not None or pool <= design.n_fit:
        return None
    variant = make_task(task.spec.name, task.spec.profile,
                        {**task.overrides, "design.n_fit": pool})
    fill_ground_truth(variant, workers=workers)
    return variant, open_store(variant)


@register_stage("label_curve")
@dataclass(frozen=True)
class LabelCurve(Stage):
    """LDS and NE against n fitting subsets (module docstring): ``surrogates`` on ``draws``
    draws at each of ``ratios`` x K; ``paper_draws`` paper-sized experiments (n =
    ``paper_ratio`` x K, ``paper_heldout`` held-out subsets) of ``kernel`` against each of
    ``baselines``; ``pool`` > 0: fit on a variant store with that many fitting subsets."""

    surrogates: Methods = SURROGATES
    ratios: tuple[float, ...] = RATIOS
    draws: int = 5
    kernel: tuple[str, dict] = KERNEL
    baselines: Methods = (RIDGE, MINNORM)
    paper_draws: int = 200
    paper_ratio: float = 1.6
    paper_heldout: int = 10
    c2_gap: float = 0.02
    c3_ratio: float = 0.5
    pool: int = 0

    def run(self, cell: CellInputs) -> StageOutput:
        task, store = cell.task, cell.store
        if not len(store.rows.index("fit")):
            return StageOutput()  # no fitting labels
        variant = grown(task, self.pool, cell.workers) if self.pool else None
        draws = Draws(*(variant or (task, store)))
        methods = [m for m in map(_surrogate, self.surrogates) if not m.applies(task)]
        rows, frame = self.curve(task, draws, methods, store.bits)
        tables = [Table(CSV, frame, ("task_key", "profile", "method_key", "n"))]
        claim = self.claim(task, draws)
        if not claim.empty:
            tables.append(Table(CLAIM_CSV, claim, ("task_key", "profile", "n", "baseline")))
        return StageOutput(rows, tables)

    def curve(self, task: Task, draws: Draws, methods: list[Method], bits: dict | None
              ) -> tuple[list[dict], pd.DataFrame]:
        """Results rows and the table's rows of every (method, n)."""
        rows, table = [], []
        for method in methods:
            ident = MethodIdentity.of(method)
            for n in label_counts(self.ratios, task.K, draws.pool):
                p = curve_point(draws, method, n, self.draws)
                table.append({**_ident(task), "K": task.K, "method": method.registry_name,
                              "method_key": method.key, "method_label": method.display,
                              "n_over_K": n / task.K, "pool": draws.pool,
                              **{c: p[c] for c in COLUMNS if c in p}})
                for (name, higher), first in zip((("lds", True), ("ne", False)), p["first"],
                                                 strict=True):
                    mean, sd = p[f"{name}_mean"], p[f"{name}_sd"]
                    value = MetricValue(name, f"n={n}", mean, mean - sd, mean + sd,
                                        first.n_targets, first.n_dropped)
                    rows += result_rows(task, ident, "label_curve", [value], higher, p["fit_s"],
                                        n, bits)
        return rows, pd.DataFrame(table, columns=list(COLUMNS))

    def claim(self, task: Task, draws: Draws) -> pd.DataFrame:
        """The paper-sized experiments' rows (empty where n_paper or 10 held-out subsets do
        not fit the store, or the kernel does not apply)."""
        n = int(round(self.paper_ratio * task.K))
        kernel = _surrogate(self.kernel)
        baselines = [b for b in map(_surrogate, self.baselines) if not b.applies(task)]
        if not (2 <= n <= draws.pool and self.paper_heldout <= len(draws.masks)) \
                or kernel.applies(task) or not baselines or self.paper_draws < 1:
            return pd.DataFrame(columns=list(CLAIM_COLUMNS))
        odds = paper_odds(draws, kernel, baselines, n, self.paper_heldout, self.paper_draws,
                          self.c2_gap, self.c3_ratio)
        return pd.DataFrame([{**_ident(task), "K": task.K, "n": n, "heldout": self.paper_heldout,
                              "kernel": kernel.key, "baseline": b.key, "baseline_label": b.display,
                              "p_c2": odds[b.key][0], "p_c3": odds[b.key][1],
                              "draws": self.paper_draws} for b in baselines],
                            columns=list(CLAIM_COLUMNS))


def _surrogate(spec: tuple[str, dict]) -> Method:
    """A method fitted on retrained labels only (any other is a configuration error)."""
    method = make_method(*spec)
    if method.needs != frozenset({Need.FIT_LABELS}) or method.labels != "retrain" \
            or method.max_labels:
        raise ValueError(f"stage label_curve fits surrogates on retrained labels; "
                         f"{method.key} is not one")
    return method


def _ident(task: Task) -> dict:
    return {"task": task.label, "task_key": task.spec.key, "profile": task.spec.profile}
