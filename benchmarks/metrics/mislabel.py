"""Mislabel detection from self-influence (methods/METHODS.md §3.7).

On a task with deliberately flipped labels, rank units by how strongly they lower their own
training loss (``-a_kk``, so the most self-influential come first) and report the ROC-AUC for
separating flipped from clean units (0.5 = chance), plus the fraction of flipped units found in
the top 10% (TracIn's inspection curve at one point). Rows appear only where the method has a
self-influence and the task has label noise.
"""

from __future__ import annotations

import numpy as np

from benchmarks.api.evaluation import Evaluation, MetricValue
from benchmarks.api.registry import register_metric
from benchmarks.common.device import on_math_threads
from benchmarks.common.schema import BoardColumn

INSPECT = 0.1  # fraction of units inspected for the recall variant


def found_in_top(suspicion: np.ndarray, flipped: np.ndarray, frac: float = INSPECT) -> float:
    """Fraction of flipped units among the ``ceil(frac * K)`` most suspicious (stable order)."""
    top = np.argsort(-suspicion, kind="stable")[: int(np.ceil(frac * len(suspicion)))]
    return float(flipped[top].sum() / max(flipped.sum(), 1))


DEFINITIONS = {
    "auc": "ROC-AUC of -self-influence for flipped vs clean units (0.5 = chance)",
    "found@10%": "fraction of flipped units among the 10% most self-influential",
}


@register_metric("mislabel_auc", higher_is_better=True, definitions=DEFINITIONS,
                 columns={"auc": BoardColumn("Mislabel AUC", 60)})
@on_math_threads
def mislabel_auc(ev: Evaluation) -> list[MetricValue]:
    """ROC-AUC of ``-self_influence`` for flipped vs clean units, and recall in the top 10%."""
    if ev.self_influence is None or ev.flipped is None:
        return []
    flipped = np.asarray(ev.flipped, dtype=bool)
    if flipped.all() or not flipped.any():
        raise ValueError("mislabel_auc needs both flipped and clean units")
    suspicion = -np.asarray(ev.self_influence, dtype=np.float64)
    n = len(flipped)
    from sklearn.metrics import roc_auc_score  # lazily: a second of start-up

    return [MetricValue("auc", "train", float(roc_auc_score(flipped, suspicion)), n_targets=n),
            MetricValue("found@10%", "train", found_in_top(suspicion, flipped), n_targets=n)]
