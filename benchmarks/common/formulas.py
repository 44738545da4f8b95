"""The error formulas shared by the metrics, the GradEx oracle and the figures, owned here so
that a figure's number is the results table's number. A leaf module (numpy only), so every
layer may use it (methods/METHODS.md §3.3, §3.4)."""

from __future__ import annotations

import numpy as np


def relative_error(true: np.ndarray, approx: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Elementwise squared relative error of §3.4 (mean it and x100 for %):
    ``(|true - approx| / (max(|true|, |approx|) + eps))²``."""
    true, approx = np.asarray(true, np.float64), np.asarray(approx, np.float64)
    return (np.abs(true - approx) / (np.maximum(np.abs(true), np.abs(approx)) + eps)) ** 2


def normalised_error(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per target ``sum_j (pred - true)² / sum_j (true - mean true)²`` over subsets j
    (``true, pred: (m, n_targets)``); NaN where the target's true value is constant (a
    constant-mean predictor scores exactly 1)."""
    true, pred = np.asarray(true, np.float64), np.asarray(pred, np.float64)
    sse = ((pred - true) ** 2).sum(0)
    sst = ((true - true.mean(0)) ** 2).sum(0)
    constant = sst == 0
    return np.where(constant, np.nan, sse / np.where(constant, 1.0, sst))
