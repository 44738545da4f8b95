"""Claim C1 (REPLICATION.md): linear-surrogate coefficients ≈ influence functions ≈ LOO.

The paper derives C1 from a second-order expansion: where F(S) is near-additive in the units,
the linear surrogate's coefficients are the leave-one-out effects (exactly so when F is
additive) and influence functions approximate both. So C1 is judged only where the cell is
near-linear, and the rule reads a number the suite already computes and that is not C1's own:
the held-out normalised error of the ridge linear surrogate (``residual/ne``; predicting the
held-out mean scores 1). A cell is near-linear when ``ne <= 0.5``, i.e. the additive fit
explains at least half of F's held-out variance (R² ≥ 0.5). The cut is the conventional
"additive part dominates" point, fixed with the rule and never moved toward an outcome; it
does not read any LOO correlation. Elsewhere C1 is ``not applicable (not near-linear: ...)``,
with its numbers kept. Where the ridge row is absent the check is ``missing``.

Each LOO row also prints the noise ceiling of the LOO effects: the Agreement stage's
``loo_ceiling/split_half`` row, the Spearman-Brown-corrected split-half reliability ρ of the
LOO effects over seeds, pooled over (unit, target); a score's correlation with the measured
LOO effects is expected to stay below √ρ (an estimate, itself noisy with few seeds).
"""

from __future__ import annotations

import json
import math

import pandas as pd

from benchmarks.api.claims import ClaimRow, Noise, num, row_of, value_of
from benchmarks.papers.kernelsm.paper import C1_TASKS, INFLUENCE, STRONG_LINEAR

C1_MIN_R = 0.9
C1_MAX_NE = 0.5  # near-linear: the ridge additive fit leaves at most half the held-out variance
CLAIM = "C1 scores ≈ LOO (pooled Pearson)"
# (what, paper figure, where the figure was read): β̂ vs LOO is printed by the authors' figure
# notebook (plot_datamodels_if.ipynb: 0.985564); the other two were not found there
C1_PAPER = {STRONG_LINEAR: ("linear β̂ vs LOO", "0.986", "authors' released code"),
            INFLUENCE: ("IF vs LOO", "0.976", "unverified")}
C1_IF = ("β̂ vs IF", "0.961", "unverified")


def c1_rows(g: pd.DataFrame, task: str, noise: Noise) -> list[ClaimRow]:
    """C1 on one claim unit: scores vs LOO (where the task has LOO rows) and, on the paper's
    C1 cells, β̂ vs IF, judged only where the cell is near-linear (module docstring)."""
    checks = []
    if (g.metric == "loo_corr").any():
        ceiling = ceiling_text(g)
        checks += [(what, row_of(g, "loo_corr", "pearson_pooled", key), paper, source, ceiling)
                   for key, (what, paper, source) in C1_PAPER.items()]
    if _is_c1_cell(g):
        what, paper, source = C1_IF
        checks.append((what, row_of(g, "if_agreement", "pearson_pooled", STRONG_LINEAR),
                       paper, source, ""))
    ne = value_of(row_of(g, "residual", "ne", STRONG_LINEAR))
    why = not_near_linear(ne)
    unknown = "" if ne == ne else " (near-linearity not measured)"
    return [ClaimRow(CLAIM, f"{task}: {what}", f"{num(value_of(row))}{extra}{unknown}", paper,
                     f">= {C1_MIN_R}, judged where near-linear (ridge linear NE <= {C1_MAX_NE})",
                     value_of(row) - C1_MIN_R if ne == ne else math.nan, noise.of(row),
                     source=source, not_applicable=why)
            for what, row, paper, source, extra in checks]


def not_near_linear(ne: float) -> str:
    """Why C1 does not apply at the ridge linear surrogate's held-out NE ``ne`` (empty where
    it applies or ``ne`` is unknown)."""
    if ne != ne or ne <= C1_MAX_NE:
        return ""
    return f"not near-linear: ridge linear NE {ne:.2f} > {C1_MAX_NE} (R² < 0.5)"


def ceiling_text(g: pd.DataFrame) -> str:
    """`` (LOO split-half ρ 0.81, ceiling √ρ 0.90)`` from the unit's ``loo_ceiling`` row (an
    estimate: with two seeds a score may land above it), or ``missing``."""
    rho = value_of(row_of(g, "loo_ceiling", "split_half", STRONG_LINEAR))
    if rho != rho:
        return " (LOO ceiling missing)"
    bound = f"ceiling √ρ {math.sqrt(rho):.2f}" if rho > 0 else "no ceiling"
    return f" (LOO split-half ρ {rho:.2f}, {bound})"


def _is_c1_cell(g: pd.DataFrame) -> bool:
    params = str(g.task_params.iloc[0]) if "task_params" in g else ""
    return str(g.task_family.iloc[0]) in C1_TASKS and json.loads(params or "{}") == {}
