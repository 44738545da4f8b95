"""Parameter weighting (Li, Le, Xu, Salzmann, ICLR 2026) as a paper plug-in: its table of cells
and claim C8.

C8: learned parameter-group weights raise the LDS of TracIn, TRAK and EK-FAC (the paper: TracIn
11.4 -> 23.9, TRAK 16.9 -> 23.3 LDS% on ImageNet with ResNet-18). Its rows add the base and
weighted methods (and the weight stages) to the tasks it names, whose models have several
layers; run beside KernelSM, ``replicate`` merges them into KernelSM's cells, so each ground
truth is trained once. C8 is checked base method by base method, unweighted vs learned weights,
from ``results.csv`` rows only; mislabel AUC rows (flipped-label digits) are reported, not
claimed. The learned weights go to ``param_weights.csv`` (one row per group) for the heatmap.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.api.claims import (
    ClaimRow,
    Noise,
    claim_units,
    in_regime,
    not_meaningful,
    num,
    ran,
    row_of,
    value_of,
)
from benchmarks.api.method import make_method
from benchmarks.api.paper import ANY, Entry, Paper
from benchmarks.api.registry import register_paper
from benchmarks.stages.weight_sweep import LearnedWeights, WeightSweep

# the base methods, unweighted as they appear elsewhere in the tables (TRAK with a block-diagonal
# projection so that its features split by layer, methods/METHODS.md §1.4)
BASES: tuple[tuple[str, dict], ...] = (
    ("tracin", {}),
    ("trak", {"block_projection": "layer"}),
    ("influence", {}),
    ("influence", {"solver": "ekfac"}),
)
WEIGHTED: tuple[tuple[str, dict], ...] = tuple(
    ("param_weighted", {"base": b, "base_params": p}) for b, p in BASES)
# sensitivity (methods/METHODS.md §2.9 defaults): per-tensor groups and k of the SNR loss
SENSITIVITY: tuple[tuple[str, dict], ...] = (
    ("param_weighted", {"granularity": "tensor"}),
    ("param_weighted", {"top_k": 50}),
)
C8_MIN_GAIN = 0.02  # LDS points, as C2's gap
C8_PAPER = "TracIn .114→.239, TRAK .169→.233 (ImageNet)"


# the tasks it adds to (the KernelSM paper's cells with a multi-layer model), with the
# sensitivity rows where the paper's sweep ran them; flipped-label cells: no weight grid
SENSITIVE = ("modular-addition", "modular-quad", "modular-addition-ft", "modular-quad-ft",
             "digits-logreg", "digits-mlp", ANY)
PLAIN = ("digits-mlp-ft", "fmnist-random", "fmnist-class", "fmnist-random-ft",
         "fmnist-class-ft")
FLIPPED = ("digits-logreg-flip", "digits-mlp-flip")
STAGES = (LearnedWeights(), WeightSweep())
ENTRIES: tuple[Entry, ...] = (
    Entry(SENSITIVE, BASES + WEIGHTED + SENSITIVITY, STAGES),
    Entry(PLAIN, BASES + WEIGHTED, STAGES),
    Entry(FLIPPED, BASES + WEIGHTED, (LearnedWeights(),)),
)


@register_paper("param-weighting")
class ParamWeightingPaper(Paper):
    """Learning parameter-group weights for gradient-based data attribution (ICLR 2026)."""

    title = "Learned parameter-group weights for gradient attribution (Li, Le, Xu & Salzmann, " \
            "ICLR 2026; arXiv 2506.05647)"
    entries = ENTRIES

    def claims(self, results: pd.DataFrame, profile: str, noise: Noise) -> list[ClaimRow]:
        """C8 on every claim unit of ``profile`` but the flipped-label cells."""
        df = results[(results.profile == profile) & ~results.task_family.isin(FLIPPED)]
        return [r for task, g, first in claim_units(df)
                for r in in_regime(not_meaningful(c8_rows(g, task, noise), g), first)]


def c8_rows(df: pd.DataFrame, task: str, noise: Noise) -> list[ClaimRow]:
    """C8 on one task cell's rows: per weighted variant that ran (is part of the cell and
    applies), LDS unweighted -> learned weights (``missing`` where either LDS row is absent)."""
    rows = []
    for (b, p), (w, q) in zip(BASES, WEIGHTED, strict=True):
        base, weighted = make_method(b, p), make_method(w, q)
        if not ran(df, weighted.key):
            continue
        r_u, r_v = (row_of(df, "lds", "spearman", method_key=m.key) for m in (base, weighted))
        u, v = value_of(r_u), value_of(r_v)
        gain = f" ({v - u:+.3f})" if u == u and v == v else ""
        rows.append(ClaimRow("C8 learned group weights raise LDS", f"{task}: {base.display}",
                             f"{num(u)} → {num(v)}{gain}", C8_PAPER, f"gain > +{C8_MIN_GAIN}",
                             v - u - C8_MIN_GAIN, noise.of(r_u, r_v)))
    return rows
