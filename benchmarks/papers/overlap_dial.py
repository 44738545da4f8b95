"""The overlap dial (datasets/modular_arithmetic.md): ``modular-addition`` with units that share a
share ρ of their neighbour's examples, built to raise task interactions in a controlled way. An
opt-in paper (``replicate --paper overlap-dial``), outside the default job, because the
interaction map measured that the dial does not move what it was built to move: at the quick
profile the interaction share of ρ = 0.25, 0.5, 0.75 is undefined, 0.030 and 0.002 at the
largest fitting pool against 0.042 at ρ = 0 (``leaderboard/interactions.csv``), while the
noise share grows from 0.24 to 0.71-0.93: overlapping units add data to every subset and the
subset signal drowns. Its cells are KernelSM's (the same methods, label curve and interaction
map); run beside ``kernelsm``, that paper's checks cover its rows, so it claims nothing itself.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.api.claims import ClaimRow, Noise
from benchmarks.api.paper import Entry, Paper
from benchmarks.api.registry import register_paper
from benchmarks.papers.kernelsm.paper import CURVE, INTERACTIONS, METHODS, PRED

TASK = "modular-addition"
OVERLAPS = {"tiny": (0.5,), "quick": (0.25, 0.5, 0.75), "paper": ()}  # ρ per profile


def _variants(rhos: tuple[float, ...]) -> tuple[dict, ...]:
    return tuple({"params.overlap": rho} for rho in rhos)


ENTRIES: tuple[Entry, ...] = tuple(
    Entry((TASK,), methods, stages, _variants(rhos), (profile,), predictions)
    for profile, rhos in OVERLAPS.items()
    for methods, stages, predictions in ((METHODS, (), PRED), ((), (CURVE,), ()),
                                         ((), (INTERACTIONS,), ())))


@register_paper("overlap-dial")
class OverlapDial(Paper):
    """The overlap dial on modular addition (opt-in: it carries no evidence at quick scale)."""

    title = "Overlap dial: modular addition with units sharing their neighbour's examples"
    entries = ENTRIES
    opt_in = True

    def claims(self, results: pd.DataFrame, profile: str, noise: Noise) -> list[ClaimRow]:
        return []
