"""The KernelSM paper (ICLR 2026) as a plug-in: its table of cells (``paper.py``), claim
checks (``checks.py``, ``c23.py``, ``c5.py``) and what we reproduce (``REPLICATION.md``)."""

from __future__ import annotations

import pandas as pd

from benchmarks.api.claims import ClaimRow, Noise
from benchmarks.api.paper import Paper
from benchmarks.api.registry import register_paper
from benchmarks.papers.kernelsm import checks
from benchmarks.papers.kernelsm.paper import ENTRIES


@register_paper("kernelsm")
class KernelSMPaper(Paper):
    """Efficient Estimation of Kernel Surrogate Models for Task Attribution (ICLR 2026)."""

    title = "Efficient Estimation of Kernel Surrogate Models for Task Attribution"
    entries = ENTRIES

    def claims(self, results: pd.DataFrame, profile: str, noise: Noise) -> list[ClaimRow]:
        return checks.claims(results, profile, noise)
