"""The cost-at-equal-LDS comparison of the label-cost stage (``benchmarks.stages.label_cost``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmarks.stages.label_cost import _interp, equal_lds, label_grid


def test_interpolates_on_log_cost_between_the_points_around_the_target() -> None:
    cost, how = _interp(np.array([1.0, 100.0]), np.array([0.2, 0.6]), 0.4)
    assert how == "=" and math.isclose(cost, 10.0)


def test_a_curve_already_past_the_target_bounds_the_cost_and_one_below_never_reaches() -> None:
    assert _interp(np.array([4.0, 2.0]), np.array([0.9, 0.8]), 0.5) == (2.0, "at most")
    cost, how = _interp(np.array([1.0, 2.0]), np.array([0.1, 0.2]), 0.5)
    assert math.isnan(cost) and how == "never reached"


def test_equal_lds_takes_the_cheapest_gradex_count_within_the_tie() -> None:
    rows = pd.DataFrame([
        {"method": "kernel_sm", "labels": "gradex", "n_labels": 16, "label_cpu_s": 1.0,
         "lds": 0.395},
        {"method": "kernel_sm", "labels": "gradex", "n_labels": 64, "label_cpu_s": 2.0,
         "lds": 0.40},
        {"method": "kernel_sm", "labels": "retrain", "n_labels": 4, "label_cpu_s": 1.0,
         "lds": 0.2},
        {"method": "kernel_sm", "labels": "retrain", "n_labels": 16, "label_cpu_s": 100.0,
         "lds": 0.6},
        {"method": "linear_surrogate", "labels": "retrain", "n_labels": 16, "label_cpu_s": 0.1,
         "lds": 0.9},
    ])
    out = equal_lds(rows)
    assert out["target_lds"] == 0.40 and out["gradex_n_labels"] == 16
    assert math.isclose(out["retrain_cpu_s"], 10.0) and out["retrain_cost_is"] == "="
    assert math.isclose(out["ratio_retrain_over_gradex"], 10.0)
    assert out["best_retrain_lds"] == 0.6


def test_label_counts_below_what_exists_then_every_label() -> None:
    assert label_grid((4, 8, 16, 0), 12) == [4, 8, 0]
    assert label_grid((16, 64, 0), 10) == [0]
