"""Linear datamodeling score (methods/METHODS.md §3.1).

Per target: Spearman rank correlation, across held-out evaluation subsets, between the method's
prediction for each subset and the retrained F. Mean over targets with a bootstrap 95% CI.
``spearman`` drops (and counts) only targets whose true F is constant over the evaluation
subsets. ``spearman_repo`` is the KernelSM authors' evaluation (``kernelsm_score``): the same
per-target Spearman, averaged over targets whose held-out variance (Bessel) is at least
``var_threshold``; on ICL data the filter alone moves the mean by about 0.1, so the paper's
numbers are compared with this variant.
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
from benchmarks.common.schema import BoardColumn

DEFINITIONS = {
    "spearman": "mean over targets of Spearman(prediction, true F) across held-out subsets; "
                "targets with constant true F dropped",
    "spearman_repo": "the KernelSM authors' LDS: the same Spearman, mean over targets with "
                     "held-out variance (ddof=1) >= {var_threshold} (n_targets = kept)",
    "spearman_groups": "the same Spearman on groups of targets (a group's F and prediction: its "
                       "members' means), mean over groups; only where the task groups its "
                       "targets (images: test images by class, as the paper's groups)",
}
COLUMNS = {"spearman": BoardColumn("LDS (Spearman)", 10, ci=True, overview=True),
           "spearman_repo": BoardColumn("LDS repo (var filter)", 20)}  # on the leaderboard


def per_target_spearman(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Spearman per column of ``(m, n_targets)`` arrays, all columns at once: the Pearson
    correlation of the columns' average ranks (ties share their mean rank, as in
    ``scipy.stats.spearmanr``, which tests/exact/test_spearman.py checks it against).

    NaN where the truth is constant (undefined); 0 where only the prediction is constant (an
    uninformative prediction must not be dropped in its favour).
    """
    from scipy.stats import rankdata  # lazily: scipy.stats costs a second of start-up

    rp, rt = rankdata(pred, axis=0), rankdata(true, axis=0)
    rp -= rp.mean(0)
    rt -= rt.mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rp * rt).sum(0) / np.sqrt((rp * rp).sum(0) * (rt * rt).sum(0))
    rho = np.where(np.ptp(pred, axis=0) > 0, rho, 0.0)
    return np.where(np.ptp(true, axis=0) > 0, rho, np.nan)


@register_metric("lds", higher_is_better=True, params={"var_threshold": VAR_THRESHOLD},
                 definitions=DEFINITIONS, columns=COLUMNS)
@on_math_threads
def lds(ev: Evaluation, var_threshold: float = VAR_THRESHOLD) -> list[MetricValue]:
    """Mean per-target Spearman over evaluation subsets: all non-constant targets, and the
    targets passing the authors' held-out variance filter."""
    constant = np.ptp(ev.eval_F, axis=0) == 0
    rho = per_target_spearman(ev.predictions, ev.eval_F)
    rho[constant] = np.nan
    keep = heldout_variance(ev.eval_F) >= var_threshold
    filtered = np.where(keep, rho, np.nan)
    out = [summarise(rho, "spearman", "eval", ev.seed_key, int(constant.sum())),
           summarise(filtered, "spearman_repo", "eval", ev.seed_key, int((~keep).sum()))]
    if ev.target_groups:
        F = grouped(ev.eval_F, ev.target_groups)
        rho = per_target_spearman(grouped(ev.predictions, ev.target_groups), F)
        out.append(summarise(rho, "spearman_groups", "eval", ev.seed_key,
                             int(np.isnan(rho).sum())))
    return out
