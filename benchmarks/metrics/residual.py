"""Surrogate residual error on held-out subsets (METHODS.md §3.3).

``ne``: per target ``sum_j (g_j - F_j)^2 / sum_j (F_j - mean F)^2`` (a constant-mean predictor
scores exactly 1), mean over targets. ``repo``: the KernelSM repository's
``calculate_normalized_error``: mean squared error / Bessel-corrected variance, over targets whose
held-out variance is at least ``REPO_VAR_THRESHOLD`` (0.1 in ``kernelsm_score``).
"""

from __future__ import annotations

import numpy as np

from ..evaluation import Evaluation, MetricValue, summarise
from ..registry import register_metric

REPO_VAR_THRESHOLD = 0.1


@register_metric("residual", higher_is_better=False)
def residual(ev: Evaluation) -> list[MetricValue]:
    """Normalised squared error of predictions on evaluation subsets (lower is better)."""
    F, G = ev.eval_F, ev.predictions
    sse = ((G - F) ** 2).sum(0)
    sst = ((F - F.mean(0)) ** 2).sum(0)
    constant = sst == 0
    ne = np.where(constant, np.nan, sse / np.where(constant, 1.0, sst))
    var = F.var(0, ddof=1)
    keep = var >= REPO_VAR_THRESHOLD
    repo = np.where(keep, ((G - F) ** 2).mean(0) / np.where(keep, var, 1.0), np.nan)
    return [summarise(ne, "ne", "eval", ev.seed_key, int(constant.sum())),
            summarise(repo, "repo", "eval", ev.seed_key, int((~keep).sum()))]
