"""Parameter weighting (Li, Le, Xu, Salzmann, ICLR 2026): the rows we run and claim C8.

C8: learned parameter-group weights raise the LDS of TracIn, TRAK and EK-FAC (the paper: TracIn
11.4 -> 23.9, TRAK 16.9 -> 23.3 LDS% on ImageNet with ResNet-18). We check it on every task cell
whose model has several layers, base method by base method, unweighted vs learned weights, from
``results.csv`` rows only; mislabel AUC rows (flipped-label digits) are reported, not claimed.
The learned weights themselves go to ``param_weights.csv`` (one row per group) for the heatmap.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.method import make_method
from benchmarks.papers.claims import ClaimRow, Noise, num, ran, row_of, value_of

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


def extra_methods(have: tuple[tuple[str, dict], ...], sensitivity: bool = False
                  ) -> tuple[tuple[str, dict], ...]:
    """Base and weighted rows not already in ``have`` (so no cell runs a method twice)."""
    keys = {make_method(n, p).key for n, p in have}
    rows = BASES + WEIGHTED + (SENSITIVITY if sensitivity else ())
    return tuple((n, p) for n, p in rows if make_method(n, p).key not in keys)


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
