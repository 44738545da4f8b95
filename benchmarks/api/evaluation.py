"""Inputs and outputs of metrics (methods/METHODS.md §3).

A metric is a registered function ``metric(ev: Evaluation) -> list[MetricValue]``; it may return
several variants (e.g. residual ``ne`` and ``repo``). Metrics see held-out evaluation subsets,
which methods never do. Each metric registers ``definitions={variant: one line}`` (what the
number is, its unit) and ``params`` (declared parameters with their defaults, e.g. the
held-out variance threshold of the authors' filtered variants); ``definitions()`` collects them
for ``run`` output and the leaderboard (``write_definitions`` -> ``metrics.csv``). A metric may
register ``columns={variant: BoardColumn}``, the variants the leaderboard shows and how
(``board_columns``); without it, each defined variant is a column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common.fsio import atomic_write_text
from benchmarks.common.schema import BOARD_FIELDS, BoardColumn
from benchmarks.common.spec import derive_seed

VAR_THRESHOLD = 0.1  # the KernelSM authors' held-out variance filter (``kernelsm_score``)


@dataclass(frozen=True)
class Evaluation:
    """What a metric may read. Shapes: ``eval_masks (m_e, K)``, ``eval_F (m_e, n_targets)``
    (seed-averaged truth), ``predictions (m_e, n_targets)``, ``scores (K, n_targets)``,
    ``loo_delta (K, n_targets)`` = F(1) - F(1 - e_k) from retraining; ``self_influence (K,)``
    from the method (if it has one) and ``flipped (K,)`` from the task (if it has label noise);
    ``method_state``: the method's fitted state (e.g. GradEx's ``re_lin``), or None;
    ``target_groups``: index arrays of targets the task also reads as groups (``grouped``)."""

    eval_masks: np.ndarray
    eval_F: np.ndarray
    predictions: np.ndarray
    scores: np.ndarray
    loo_delta: np.ndarray | None
    seed_key: str
    self_influence: np.ndarray | None = None
    flipped: np.ndarray | None = None
    method_state: dict | None = None
    target_groups: tuple[np.ndarray, ...] | None = None


def grouped(values: np.ndarray, groups: tuple[np.ndarray, ...]) -> np.ndarray:
    """``(m, n_targets) -> (m, G)``: each group's mean. A group of test images is scored as the
    mean loss of its images, so its truth and its prediction are the members' means."""
    return np.stack([values[:, g].mean(1) for g in groups], axis=1)


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


def heldout_variance(F: np.ndarray) -> np.ndarray:
    """Bessel-corrected variance per target over held-out subsets: ``(m_e, n_t) -> (n_t,)``
    (``torch.var``, as the authors' filter uses)."""
    return F.var(0, ddof=1) if len(F) > 1 else np.zeros(F.shape[1])


def definitions() -> dict[tuple[str, str], str]:
    """``(metric, variant) -> one-line definition`` of every registered metric variant."""
    from benchmarks.api.registry import METRICS

    out = {}
    for name, _ in METRICS.items():
        meta = METRICS.meta(name)
        params = meta.get("params", {})
        for variant, text in meta.get("definitions", {}).items():
            out[(name, variant)] = text.format(**params)
    return out


def definition_lines(rows: list[dict]) -> list[str]:
    """``metric/variant: definition`` for the (metric, variant) pairs of result ``rows``, in
    their order (``run`` output prints them under its table)."""
    defs = definitions()
    seen = dict.fromkeys((r["metric"], r["variant"]) for r in rows)
    return [f"{m}/{v}: {defs[(m, v)]}" for m, v in seen if (m, v) in defs]


def board_columns() -> dict[tuple[str, str], BoardColumn]:
    """``(metric, variant) -> BoardColumn``: the leaderboard columns the registered metrics
    declare (``columns={variant: BoardColumn}``; a metric without it gets one per defined
    variant, titled ``metric/variant``) and those of the rows stages write (a stage's
    ``columns={(metric, variant): BoardColumn}``)."""
    from benchmarks.api.registry import METRICS, STAGES

    out: dict[tuple[str, str], BoardColumn] = {}
    for name, _ in METRICS.items():
        meta = METRICS.meta(name)
        declared = meta.get("columns")
        if declared is None:
            declared = {v: BoardColumn(f"{name}/{v}") for v in meta.get("definitions", {})}
        out |= {(name, variant): col for variant, col in declared.items()}
    for name, _ in STAGES.items():
        out |= STAGES.meta(name).get("columns", {})
    return out


def write_definitions(path: Path) -> Path:
    """Write ``metric, variant, definition`` rows, with the ``BOARD_FIELDS`` of those that are
    leaderboard columns (``board_columns``; empty for the others): the leaderboard reads
    them from files."""
    import pandas as pd

    defs, cols = definitions(), board_columns()
    rows = []
    for m, v in dict.fromkeys([*defs, *cols]):
        col = cols.get((m, v))
        rows.append({"metric": m, "variant": v, "definition": defs.get((m, v), ""),
                     **({f: getattr(col, f) for f in BOARD_FIELDS} if col else {})})
    table = pd.DataFrame(rows, columns=["metric", "variant", "definition", *BOARD_FIELDS])
    table["order"] = table["order"].astype("Int64")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(path), table.to_csv(index=False))
    return Path(path)
