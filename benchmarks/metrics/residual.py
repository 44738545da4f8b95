"""Surrogate residual error on held-out subsets (methods/METHODS.md §3.3).

``ne``: per target ``sum_j (g_j - F_j)^2 / sum_j (F_j - mean F)^2`` (a constant-mean predictor
scores exactly 1), mean over non-constant targets. ``repo``: the KernelSM repository's
``calculate_normalized_error``: mean squared error / Bessel-corrected variance, over targets whose
held-out variance is at least ``var_threshold`` (0.1 in ``kernelsm_score``). On a kept target
``repo = ne * (m - 1) / m``; the two differ further by the filter, which on tasks with many
near-constant targets changes the mean by an order of magnitude.
"""

from __future__ import annotations

import numpy as np

from benchmarks.api.evaluation import (
    VAR_THRESHOLD,
    Evaluation,
    MetricValue,
    grouped,
    heldout_variance,
    summarise,
)
from benchmarks.api.registry import register_metric
from benchmarks.common.device import on_math_threads
from benchmarks.common.formulas import normalised_error
from benchmarks.common.schema import BoardColumn

DEFINITIONS = {
    "ne": "mean over non-constant targets of sum_j (pred - F)^2 / sum_j (F - mean F)^2 over "
          "held-out subsets (population form: predicting the held-out mean scores 1)",
    "repo": "the KernelSM authors' normalised error: mean_j (pred - F)^2 / var_j(F) (ddof=1, "
            "so = ne * (m-1)/m per target), mean over targets with held-out variance >= "
            "{var_threshold}",
    "ne_groups": "ne on groups of targets (a group's F and prediction: its members' means); "
                 "only where the task groups its targets (images: test images by class)",
}
COLUMNS = {"ne": BoardColumn("Residual NE", 40, overview=True),
           "repo": BoardColumn("Residual repo", 50)}  # on the leaderboard


@register_metric("residual", higher_is_better=False, params={"var_threshold": VAR_THRESHOLD},
                 definitions=DEFINITIONS, columns=COLUMNS)
@on_math_threads
def residual(ev: Evaluation, var_threshold: float = VAR_THRESHOLD) -> list[MetricValue]:
    """Normalised squared error of predictions on evaluation subsets (lower is better)."""
    F, G = ev.eval_F, ev.predictions
    ne = normalised_error(F, G)
    constant = np.isnan(ne)
    var = heldout_variance(F)
    keep = var >= var_threshold
    repo = np.where(keep, ((G - F) ** 2).mean(0) / np.where(keep, var, 1.0), np.nan)
    out = [summarise(ne, "ne", "eval", ev.seed_key, int(constant.sum())),
           summarise(repo, "repo", "eval", ev.seed_key, int((~keep).sum()))]
    if ev.target_groups:
        ne = normalised_error(grouped(F, ev.target_groups), grouped(G, ev.target_groups))
        out.append(summarise(ne, "ne_groups", "eval", ev.seed_key, int(np.isnan(ne).sum())))
    return out
