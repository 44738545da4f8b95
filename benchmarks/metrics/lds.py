"""Linear datamodeling score (METHODS.md §3.1).

Per target: Spearman rank correlation, across held-out evaluation subsets, between the method's
prediction for each subset and the retrained F. Mean over targets with a bootstrap 95% CI;
targets whose true F is constant over the evaluation subsets are dropped and counted.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from ..evaluation import Evaluation, MetricValue, summarise
from ..registry import register_metric


def per_target_spearman(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Spearman per column of ``(m, n_targets)`` arrays.

    NaN where the truth is constant (undefined); 0 where only the prediction is constant (an
    uninformative prediction must not be dropped in its favour).
    """
    out = np.full(true.shape[1], np.nan)
    for t in range(true.shape[1]):
        if np.ptp(true[:, t]) > 0:
            ok = np.ptp(pred[:, t]) > 0
            out[t] = spearmanr(pred[:, t], true[:, t]).statistic if ok else 0.0
    return out


@register_metric("lds", higher_is_better=True)
def lds(ev: Evaluation) -> list[MetricValue]:
    """Mean per-target Spearman over evaluation subsets."""
    constant = np.ptp(ev.eval_F, axis=0) == 0
    rho = per_target_spearman(ev.predictions, ev.eval_F)
    rho[constant] = np.nan
    return [summarise(rho, "spearman", "eval", ev.seed_key, int(constant.sum()))]
