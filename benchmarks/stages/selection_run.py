"""The selection stage: method outputs -> proposals -> retraining -> ``selection`` rows.

Additive methods predict from their saved ``scores.npy`` (the intercept does not change an
argmin); methods with their own ``predict`` (KernelSM, GradEx) are refitted on the same inputs
their cell had and asked for the candidates (or, past enumeration, queried by ``search``). Rows
(metric ``selection``, lower is better): ``loss@k`` and ``loss@best``, the true target loss of
the proposals averaged over groups, and ``gain@k``, the relative loss reduction against the
mean of the random size-k draws. Two baseline rows (random size-k, all units) carry the same
variants where they apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import benchmarks.common.device as devices
from benchmarks.api.evaluation import MetricValue
from benchmarks.api.method import Method, make_method
from benchmarks.api.registry import register_stage
from benchmarks.api.stage import CellInputs, Methods, Stage, StageOutput
from benchmarks.api.task import Task
from benchmarks.common.cache import cell_dir
from benchmarks.common.schema import BoardColumn
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.oracles.fit import fit_method, method_predict, method_scores
from benchmarks.runner import MethodIdentity, result_rows
from benchmarks.stages.selection import (
    Predict,
    SelectionDesign,
    budget,
    candidates,
    group_means,
    propose,
    random_masks,
    retrained_loss,
    search,
    smallest_size,
    target_groups,
)

RANDOM = MethodIdentity("baseline", "random-k", "Random size-k subsets")
ALL_UNITS = MethodIdentity("baseline", "all-units", "All units")


def predictor(task: Task, store: GroundTruthStore, method: Method) -> Predict | None:
    """Masks ``(c, K)`` -> predicted F ``(c, n_targets)`` up to a per-target constant."""
    if method.applies(task):
        return None
    if method.additive:
        path = cell_dir(task.spec.key, method.key) / "scores.npy"
        scores = np.load(path) if path.exists() else method_scores(
            method, fit_method(task, store, method)[1])

        def additive(masks: np.ndarray) -> np.ndarray:
            with devices.math_threads():  # a BLAS product: its sums split by thread count
                return masks.astype(np.float64) @ scores

        return additive
    fitted = fit_method(task, store, method)[1]
    return lambda masks: np.asarray(method_predict(method, fitted, masks))


def group_loss(F: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``F: (G, n_targets)`` (row g = the mask proposed for group g) -> loss per group (G,)."""
    return np.array([F[g, idx].mean() for g, idx in enumerate(groups)])


def run_selection(task: Task, store: GroundTruthStore, methods: tuple[tuple[str, dict], ...],
                  design: SelectionDesign, workers: int = 1) -> list[dict]:
    """Proposals of every method, retrained, as ``selection`` result rows."""
    k, groups = budget(task), target_groups(task, design.groups)
    cands = candidates(task.K, k, design.max_drop, design.enumerate_cap)
    low = smallest_size(task.K, k, design.max_drop)
    proposals: dict[MethodIdentity, dict[str, np.ndarray]] = {}
    for name, params in methods:
        method = make_method(name, params)
        predict = predictor(task, store, method)
        if predict is not None:
            ident = MethodIdentity.of(method)
            proposals[ident] = (search(predict, groups, task.K, k, low) if cands is None else
                                propose(group_means(predict(cands), groups), cands, k))
    rand = random_masks(task, k, design.random_draws)
    full = np.ones((1, task.K), dtype=bool)
    every = [rand, full] + [m for prop in proposals.values() for m in prop.values()]
    retrained_loss(task, store, np.unique(np.concatenate(every), axis=0),  # train in batches
                   workers=workers)
    random_loss = float(group_means(retrained_loss(task, store, rand), groups).mean())
    all_loss = float(group_means(retrained_loss(task, store, full), groups).mean())
    rows = []
    n = task.n_targets
    for ident, prop in proposals.items():
        loss = {kind: float(group_loss(retrained_loss(task, store, masks), groups).mean())
                for kind, masks in prop.items()}
        cost = 0.0  # retraining proposals is the suite's cost, not the method's
        rows += result_rows(task, ident, "selection", [
            MetricValue("loss@k", "retrain", loss["budget"], n_targets=n),
            MetricValue("loss@best", "retrain", loss["best"], n_targets=n)], False, cost, 0,
            store.bits)
        gain = (random_loss - loss["budget"]) / random_loss
        rows += result_rows(task, ident, "selection", [
            MetricValue("gain@k", "retrain", gain, n_targets=n)], True, cost, 0, store.bits)
    rows += result_rows(task, RANDOM, "selection", [
        MetricValue("loss@k", "retrain", random_loss, n_targets=n)], False, 0.0, 0, store.bits)
    rows += result_rows(task, ALL_UNITS, "selection", [
        MetricValue(v, "retrain", all_loss, n_targets=n) for v in ("loss@k", "loss@best")],
        False, 0.0, 0, store.bits)
    return rows + also_rows(task, store, design.also, groups, proposals,
                            {RANDOM: rand, ALL_UNITS: full})


def also_rows(task: Task, store: GroundTruthStore, also: tuple[str, ...],
              groups: list[np.ndarray], proposals: dict[MethodIdentity, dict[str, np.ndarray]],
              baselines: dict[MethodIdentity, np.ndarray]) -> list[dict]:
    """``<output>@k`` rows (higher is better) for each output in ``also``: the group mean of
    that output of each size-k proposal, of the random draws (mean) and of all units, from the
    same retrained models (an RL task's real return, for proposals chosen on imitation loss)."""
    rows = []
    for output in also:
        values = {ident: float(group_loss(retrained_loss(task, store, prop["budget"],
                                                         output=output), groups).mean())
                  for ident, prop in proposals.items()}
        values |= {ident: float(group_means(retrained_loss(task, store, m, output=output),
                                            groups).mean()) for ident, m in baselines.items()}
        for ident, value in values.items():
            rows += result_rows(task, ident, "selection", [
                MetricValue(f"{output}@k", "retrain", value, n_targets=task.n_targets)], True,
                0.0, 0, store.bits)
    return rows


@register_stage("selection", columns={  # its result rows on the leaderboard
    ("selection", "loss@k"): BoardColumn("Sel. loss@k", 80, overview=True),
    ("selection", "gain@k"): BoardColumn("Sel. gain@k", 90)})
@dataclass(frozen=True)
class Selection(Stage):
    """Downstream selection (C6): each method's size-k proposals, retrained."""

    methods: Methods
    design: SelectionDesign

    def run(self, cell: CellInputs) -> StageOutput:
        return StageOutput(run_selection(cell.task, cell.store, self.methods, self.design,
                                         cell.workers))
