"""Metrics on hand-computed toys: LDS (§3.1), residual NE (§3.3), LOO correlation (§3.2)."""

from __future__ import annotations

import math

import numpy as np

from benchmarks.api.evaluation import Evaluation, MetricValue
from benchmarks.api.registry import METRICS

TOL_EXACT = 1e-12  # hand-computed values in float64
TOL_CORR = 1e-12  # a correlation of a vector with itself or an affine image

MASKS = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)
# Target 0: truth (1, 2, 3), prediction (0.1, 0.3, 0.2).
#   ranks truth (1, 2, 3), ranks pred (1, 3, 2), d = (0, -1, 1), sum d^2 = 2,
#   rho = 1 - 6 * 2 / (3 * (9 - 1)) = 1 - 12/24 = 0.5
# Target 1: truth (3, 1, 2), prediction (10, 30, 20).
#   ranks truth (3, 1, 2), ranks pred (1, 3, 2), d = (2, -2, 0), sum d^2 = 8,
#   rho = 1 - 6 * 8 / 24 = -1
# LDS = mean(0.5, -1) = -0.25
TRUE_F = np.array([[1.0, 3.0], [2.0, 1.0], [3.0, 2.0]])
PRED = np.array([[0.1, 10.0], [0.3, 30.0], [0.2, 20.0]])
RHO = np.array([0.5, -1.0])


def _ev(F, G, scores=None, delta=None) -> Evaluation:
    K = MASKS.shape[1]
    scores = np.zeros((K, F.shape[1])) if scores is None else scores
    masks = np.resize(MASKS, (F.shape[0], K))
    return Evaluation(masks, F, G, scores, delta, "toy/seed")


def _by_variant(rows: list[MetricValue]) -> dict[str, MetricValue]:
    return {r.variant: r for r in rows}


def _lds(ev: Evaluation) -> MetricValue:
    """The unfiltered ``spearman`` row of the lds metric."""
    return _by_variant(METRICS.get("lds")(ev))["spearman"]


def test_lds_hand_computed():
    """LDS = mean per-target Spearman = (0.5 + -1) / 2."""
    row = _lds(_ev(TRUE_F, PRED))
    assert row.variant == "spearman" and row.split == "eval"
    np.testing.assert_allclose(row.per_target, RHO, atol=TOL_EXACT)
    assert abs(row.value - (-0.25)) <= TOL_EXACT
    assert row.n_targets == 2 and row.n_dropped == 0


def test_lds_drops_constant_target_and_counts_it():
    """A target whose truth is constant is NaN, excluded from the mean and counted."""
    F = np.column_stack([TRUE_F[:, 0], np.full(3, 5.0)])
    row = _lds(_ev(F, PRED))
    assert abs(row.value - 0.5) <= TOL_EXACT
    assert row.n_dropped == 1 and row.n_targets == 1
    assert math.isnan(row.per_target[1])


def test_lds_constant_prediction_is_zero_not_nan():
    """A constant prediction scores 0 for that target (not NaN, not dropped)."""
    G = np.column_stack([PRED[:, 0], np.full(3, 7.0)])
    row = _lds(_ev(TRUE_F, G))
    np.testing.assert_array_equal(row.per_target, [0.5, 0.0])
    assert abs(row.value - 0.25) <= TOL_EXACT
    assert row.n_dropped == 0 and row.n_targets == 2


def test_lds_affine_invariant_and_perfect():
    """LDS is 1 for a positive affine transform of the truth, -1 for a negative one."""
    row = _lds(_ev(TRUE_F, 3.0 * TRUE_F + 1.0))
    assert abs(row.value - 1.0) <= TOL_CORR
    row = _lds(_ev(TRUE_F, -TRUE_F))
    assert abs(row.value + 1.0) <= TOL_CORR


def test_lds_ties_use_average_ranks():
    """Ties in the prediction get average ranks (scipy's spearmanr)."""
    # truth (1, 2, 3) ranks (1, 2, 3); pred (0, 0, 1) ranks (1.5, 1.5, 3):
    # Pearson of ranks = cov / (sd sd): centred (-1, 0, 1) and (-0.5, -0.5, 1)
    # -> 1.5 / sqrt(2 * 1.5) = sqrt(3) / 2
    F = TRUE_F[:, :1]
    row = _lds(_ev(F, np.array([[0.0], [0.0], [1.0]])))
    assert abs(row.value - math.sqrt(3) / 2) <= TOL_EXACT


def test_residual_mean_predictor_is_one_and_perfect_is_zero():
    """NE = 1 exactly for predicting the held-out mean, 0 for the truth itself."""
    rng = np.random.default_rng(0)
    F = rng.normal(size=(10, 3))
    mean_pred = np.broadcast_to(F.mean(0), F.shape).copy()
    rows = _by_variant(METRICS.get("residual")(_ev(F, mean_pred)))
    np.testing.assert_array_equal(rows["ne"].per_target, np.ones(3))
    assert rows["ne"].value == 1.0
    # repo form: MSE / Bessel variance = (m - 1) / m for the mean predictor
    np.testing.assert_allclose(rows["repo"].per_target, np.full(3, 9 / 10), atol=TOL_EXACT)
    rows = _by_variant(METRICS.get("residual")(_ev(F, F.copy())))
    assert rows["ne"].value == 0.0 and rows["repo"].value == 0.0


def test_residual_hand_computed_and_constant_target():
    """NE = SSE / SST per target; a constant target is dropped and counted."""
    # target 0: F = (1, 2, 3), G = (1, 2, 4): SSE = 1, SST = 2 -> NE = 0.5
    F = np.column_stack([TRUE_F[:, 0], np.full(3, 2.0)])
    G = np.array([[1.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    rows = _by_variant(METRICS.get("residual")(_ev(F, G)))
    assert abs(rows["ne"].value - 0.5) <= TOL_EXACT
    assert rows["ne"].n_dropped == 1 and rows["ne"].n_targets == 1
    # repo: MSE = 1/3, var(ddof=1) = 1 -> 1/3; constant target below the 0.1 threshold
    assert abs(rows["repo"].value - 1 / 3) <= TOL_EXACT
    assert rows["repo"].n_dropped == 1


def test_residual_repo_threshold_filters_low_variance():
    """Targets with Bessel variance below 0.1 are excluded from the repo variant only."""
    F = np.column_stack([TRUE_F[:, 0], 0.01 * TRUE_F[:, 0]])  # variances 1 and 1e-4
    rows = _by_variant(METRICS.get("residual")(_ev(F, np.zeros_like(F))))
    assert rows["repo"].n_targets == 1 and rows["repo"].n_dropped == 1
    assert rows["ne"].n_targets == 2 and rows["ne"].n_dropped == 0


def test_loo_corr_scores_equal_delta():
    """scores = Delta gives Pearson, Spearman and pooled Pearson of 1."""
    rng = np.random.default_rng(1)
    delta = rng.normal(size=(6, 4))
    rows = _by_variant(METRICS.get("loo_corr")(_ev(TRUE_F[:, :1], PRED[:, :1], delta.copy(),
                                                   delta)))
    assert set(rows) == {"pearson", "spearman", "pearson_pooled"}
    for name in rows:
        assert abs(rows[name].value - 1.0) <= TOL_CORR, name
        assert rows[name].split == "loo"
    np.testing.assert_allclose(rows["pearson"].per_target, np.ones(4), atol=TOL_CORR)


def test_loo_corr_hand_computed():
    """Per-target Pearson of (1, 2, 3) vs (1, 3, 2) is 0.5; a negated score gives -0.5."""
    # centred (-1, 0, 1) and (-1, 1, 0): cov = 1, norms sqrt(2) each -> 1/2
    a = np.array([[1.0, -1.0], [2.0, -2.0], [3.0, -3.0]])
    d = np.array([[1.0, 1.0], [3.0, 3.0], [2.0, 2.0]])
    rows = _by_variant(METRICS.get("loo_corr")(_ev(TRUE_F, PRED, a, d)))
    np.testing.assert_allclose(rows["pearson"].per_target, [0.5, -0.5], atol=TOL_EXACT)
    np.testing.assert_allclose(rows["spearman"].per_target, [0.5, -0.5], atol=TOL_EXACT)
    assert abs(rows["pearson"].value) <= TOL_EXACT


def test_loo_corr_constant_delta_dropped_constant_score_zero():
    """A constant Delta column is dropped (counted); a constant score column scores 0."""
    a = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    d = np.array([[1.0, 1.0], [1.0, 3.0], [1.0, 2.0]])
    rows = _by_variant(METRICS.get("loo_corr")(_ev(TRUE_F, PRED, a, d)))
    assert rows["pearson"].n_dropped == 1
    assert math.isnan(rows["pearson"].per_target[0])
    assert rows["pearson"].per_target[1] == 0.0


def test_bootstrap_ci_brackets_mean_and_is_seeded():
    """The CI brackets the mean, is reproducible, and is NaN with fewer than 2 targets."""
    rng = np.random.default_rng(2)
    F, G = rng.normal(size=(12, 20)), rng.normal(size=(12, 20))
    a = METRICS.get("lds")(_ev(F, G))[0]
    b = METRICS.get("lds")(_ev(F, G))[0]
    assert a.ci_low <= a.value <= a.ci_high
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    one = METRICS.get("lds")(_ev(TRUE_F[:, :1], PRED[:, :1]))[0]
    assert math.isnan(one.ci_low) and math.isnan(one.ci_high)


def test_lds_repo_filters_low_variance_targets_and_counts_them():
    """``spearman_repo`` keeps only targets with held-out variance (ddof=1) >= 0.1.

    Target 0 truth (1, 2, 3): variance 1, kept (rho 0.5). Target 1 truth (0.1, 0.2, 0.15):
    variance 0.0025, dropped, although ``spearman`` counts it (rho = -1 here)."""
    F = np.column_stack([TRUE_F[:, 0], [0.1, 0.2, 0.15]])
    G = np.column_stack([PRED[:, 0], [0.3, 0.1, 0.2]])
    rows = _by_variant(METRICS.get("lds")(_ev(F, G)))
    assert abs(rows["spearman"].value - (0.5 - 1.0) / 2) <= TOL_EXACT
    repo = rows["spearman_repo"]
    assert abs(repo.value - 0.5) <= TOL_EXACT
    assert repo.n_targets == 1 and repo.n_dropped == 1
    assert METRICS.meta("lds")["params"] == {"var_threshold": 0.1}
    strict = _by_variant(METRICS.get("lds")(_ev(F, G), var_threshold=2.0))["spearman_repo"]
    assert strict.n_targets == 0 and math.isnan(strict.value)


def test_residual_ne_and_repo_differ_by_bessel_and_filter():
    """On a kept target ``repo = ne * (m-1)/m``; a low-variance target only enters ``ne``."""
    F = np.column_stack([TRUE_F[:, 0], [0.1, 0.2, 0.15]])
    G = np.column_stack([PRED[:, 0] * 10, [0.3, 0.1, 0.2]])
    rows = _by_variant(METRICS.get("residual")(_ev(F, G)))
    ne0 = rows["ne"].per_target[0]
    assert abs(rows["repo"].value - ne0 * 2 / 3) <= TOL_EXACT
    assert rows["repo"].n_targets == 1 and rows["ne"].n_targets == 2


def test_every_metric_variant_has_a_one_line_definition():
    """Each variant a registered metric emits is defined in one line; relerr says percent;
    the filtered variants name their threshold."""
    from benchmarks.api.evaluation import definition_lines, definitions

    defs = definitions()
    rng = np.random.default_rng(3)
    F, G = rng.normal(size=(12, 4)), rng.normal(size=(12, 4))
    ev = _ev(F, G, rng.normal(size=(2, 4)), rng.normal(size=(2, 4)))
    for name in ("lds", "residual", "relerr", "loo_corr"):
        for row in METRICS.get(name)(ev):
            text = defs[(name, row.variant)]
            assert text and "\n" not in text
    assert defs[("relerr", "est")].startswith("percent")
    assert ">= 0.1" in defs[("lds", "spearman_repo")] and ">= 0.1" in defs[("residual", "repo")]
    lines = definition_lines([{"metric": "residual", "variant": "ne"},
                              {"metric": "residual", "variant": "repo"},
                              {"metric": "selection", "variant": "loss@k"}])
    assert [line.split(":")[0] for line in lines] == ["residual/ne", "residual/repo"]


def test_group_targets_score_the_members_means():
    """Targets (0, 1) read as one group: truth (2, 1.5, 2.5), prediction (5.05, 15.15, 10.1),
    ranks (2, 1, 3) vs (1, 3, 2): d = (1, -2, 1), rho = 1 - 6 * 6 / 24 = -0.5; a prediction
    equal to the group means scores ne_groups 0. Without groups, no group rows."""
    groups = (np.array([0, 1]),)
    ev = Evaluation(MASKS, TRUE_F, PRED, np.zeros((2, 2)), None, "toy/seed",
                    target_groups=groups)
    rows = _by_variant(METRICS.get("lds")(ev))
    assert abs(rows["spearman_groups"].value - (-0.5)) < TOL_EXACT
    exact = Evaluation(MASKS, TRUE_F, TRUE_F[:, ::-1], np.zeros((2, 2)), None, "toy/seed",
                       target_groups=groups)
    assert abs(_by_variant(METRICS.get("residual")(exact))["ne_groups"].value) < TOL_EXACT
    assert "spearman_groups" not in _by_variant(METRICS.get("lds")(_ev(TRUE_F, PRED)))
