"""Inputs and outputs of metrics (METHODS.md §3).

A metric is a registered function ``metric(ev: Evaluation) -> list[MetricValue]``; it may return
several variants (e.g. residual ``ne`` and ``repo``). Metrics see held-out evaluation subsets,
which methods never do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .spec import derive_seed


@dataclass(frozen=True)
class Evaluation:
    """What a metric may read. Shapes: ``eval_masks (m_e, K)``, ``eval_F (m_e, n_targets)``
    (seed-averaged truth), ``predictions (m_e, n_targets)``, ``scores (K, n_targets)``,
    ``loo_delta (K, n_targets)`` = F(1) - F(1 - e_k) from retraining; ``self_influence (K,)``
    from the method (if it has one) and ``flipped (K,)`` from the task (if it has label noise);
    ``method_state``: the method's fitted state (e.g. GradEx's ``re_lin``), or None."""

    eval_masks: np.ndarray
    eval_F: np.ndarray
    predictions: np.ndarray
    scores: np.ndarray
    loo_delta: np.ndarray | None
    seed_key: str
    self_influence: np.ndarray | None = None
    flipped: np.ndarray | None = None
    method_state: dict | None = None


@dataclass(frozen=True)
class MetricValue:
    """One row of the results table (metric name, cell and provenance are added by the runner)."""

    variant: str
    split: str
    value: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    n_targets: int = 0
    n_dropped: int = 0
    per_target: np.ndarray | None = None


def bootstrap_ci(values: np.ndarray, seed_key: str, n_boot: int = 2000,
                 stat: Callable[[np.ndarray], float] = np.mean) -> tuple[float, float]:
    """95% percentile bootstrap CI of ``stat`` over targets (seeded from a content key)."""
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(derive_seed(seed_key, "bootstrap"))
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    boots = np.array([stat(values[i]) for i in idx])
    return float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def summarise(per_target: np.ndarray, variant: str, split: str, seed_key: str,
              n_dropped: int) -> MetricValue:
    """Mean over targets with a bootstrap CI; non-finite entries are excluded."""
    ok = per_target[np.isfinite(per_target)]
    lo, hi = bootstrap_ci(ok, f"{seed_key}/{variant}")
    return MetricValue(variant, split, float(ok.mean()) if ok.size else float("nan"), lo, hi,
                       int(ok.size), n_dropped, per_target)
