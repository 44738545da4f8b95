"""The vectorised per-target Spearman (benchmarks/metrics/lds.py) equals scipy's
``spearmanr`` column by column, ties and the constant-column conventions included."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from benchmarks.metrics.lds import per_target_spearman


def _loop(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    out = np.full(true.shape[1], np.nan)
    for t in range(true.shape[1]):
        if np.ptp(true[:, t]) > 0:
            out[t] = spearmanr(pred[:, t], true[:, t]).statistic if np.ptp(pred[:, t]) > 0 \
                else 0.0
    return out


def test_equals_scipy_per_column_with_ties_and_constants():
    rng = np.random.default_rng(0)
    pred, true = rng.normal(size=(50, 40)), rng.normal(size=(50, 40))
    true[:, 3] = 1.0  # constant truth: NaN
    pred[:, 5] = 2.0  # constant prediction: 0
    true[:, 7], pred[:, 8] = np.round(true[:, 7]), np.round(pred[:, 8] * 2)  # ties
    pred[:, 9] = -true[:, 9]  # perfectly anti-correlated
    pred[4, 11] = np.nan  # a NaN prediction: 0, as before
    got, want = per_target_spearman(pred, true), _loop(pred, true)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14, equal_nan=True)
    assert got[5] == 0.0 and np.isnan(got[3]) and got[9] == -1.0 and got[11] == 0.0
