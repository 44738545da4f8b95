"""Label oracles for F(s). ``RetrainOracle`` reads retrained ground truth from the store.

Surrogate methods receive an oracle holding the fitting subsets only; evaluation subsets never
reach a method (ARCHITECTURE.md, Label oracles). The first-order GradEx oracle (METHODS.md §2.8)
plugs in here with the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .store import GroundTruthStore


@dataclass(frozen=True)
class LabelSet:
    """Training data of a surrogate: ``masks: (m, K)`` bool, ``values: (m, n_targets)``."""

    masks: np.ndarray
    values: np.ndarray
    cost_retrainings: float


class RetrainOracle:
    """F(s) of the fitting subsets, averaged over the R retraining seeds."""

    name = "retrain"

    def __init__(self, store: GroundTruthStore, output: str) -> None:
        self.store = store
        self.output = output

    def fit_set(self) -> LabelSet:
        idx = self.store.rows.index("fit")
        R = self.store.done.shape[1]
        return LabelSet(self.store.rows.masks[idx], self.store.mean(self.output, "fit"),
                        float(len(idx) * R))


ORACLES = {"retrain": RetrainOracle}
