"""Correlation of unit scores with task-level leave-one-out effects (methods/METHODS.md §3.2).

Per target t: Pearson and Spearman between ``(a_1..a_K)`` and ``(Delta_1..Delta_K)``, with
``Delta_k = F(1) - F(1 - e_k)`` from retraining; mean over targets with a bootstrap CI. Also the
pooled Pearson over all (unit, target) pairs, as in the KernelSM figure notebook.
"""

from __future__ import annotations

import numpy as np

from benchmarks.api.evaluation import Evaluation, MetricValue, summarise
from benchmarks.api.registry import register_metric
from benchmarks.common.device import on_math_threads
from benchmarks.common.schema import BoardColumn


def _per_target(fn, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(a.shape[1], np.nan)
    for t in range(a.shape[1]):
        if np.ptp(b[:, t]) > 0:
            out[t] = fn(a[:, t], b[:, t]).statistic if np.ptp(a[:, t]) > 0 else 0.0
    return out


DEFINITIONS = {
    "pearson": "mean over targets of Pearson(unit scores, retrained LOO effects F(1) - F(1-e_k))",
    "spearman": "mean over targets of Spearman(unit scores, retrained LOO effects)",
    "pearson_pooled": "one Pearson over all (unit, target) pairs of scores vs LOO effects "
                      "(the authors' notebook)",
}


@register_metric("loo_corr", higher_is_better=True, needs_loo=True, definitions=DEFINITIONS,
                 columns={"pearson": BoardColumn("LOO Pearson", 30, overview=True)})
@on_math_threads
def loo_corr(ev: Evaluation) -> list[MetricValue]:
    """Pearson / Spearman of scores vs LOO effects (per target mean) and pooled Pearson."""
    a, d = ev.scores, ev.loo_delta
    dropped = int((np.ptp(d, axis=0) == 0).sum())
    from scipy.stats import pearsonr, spearmanr  # lazily: scipy.stats costs a second of start-up

    rows = [summarise(_per_target(pearsonr, a, d), "pearson", "loo", ev.seed_key, dropped),
            summarise(_per_target(spearmanr, a, d), "spearman", "loo", ev.seed_key, dropped)]
    pooled = float(pearsonr(a.ravel(), d.ravel()).statistic) if np.ptp(a) > 0 else float("nan")
    rows.append(MetricValue("pearson_pooled", "loo", pooled, n_targets=a.shape[1]))
    return rows
