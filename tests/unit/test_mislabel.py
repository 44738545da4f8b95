"""mislabel_auc (methods/METHODS.md §3.7) and the flipped-label digits variant."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.api.evaluation import Evaluation
from benchmarks.api.task import make_task
from benchmarks.metrics.mislabel import found_in_top, mislabel_auc

# METHODS §3.7: random scores give 0.5 ± 0.03 at n = 1000. With 10% flipped that is one standard
# deviation (sqrt((n+1) / (12 n0 n1)) = 0.030), so we check the mean of 50 draws (sd 0.0043).
RANDOM_AUC_TOL = 0.015


def _ev(self_influence, flipped) -> Evaluation:
    z = np.zeros((3, 1))
    return Evaluation(z, z, z, np.zeros((4, 1)), None, "k", self_influence, flipped)


def _rows(self_influence, flipped) -> dict[str, float]:
    return {r.variant: r.value for r in mislabel_auc(_ev(self_influence, flipped))}


def test_perfect_scores_give_auc_one():
    flipped = np.arange(100) < 10
    rows = _rows(np.where(flipped, -5.0, -1.0), flipped)  # flipped lower their loss most
    assert rows["auc"] == 1.0 and rows["found@10%"] == 1.0


def test_random_scores_give_chance():
    rng = np.random.default_rng(0)
    flipped = rng.random(1000) < 0.1
    aucs = [_rows(rng.normal(size=1000), flipped)["auc"] for _ in range(50)]
    assert abs(np.mean(aucs) - 0.5) <= RANDOM_AUC_TOL


def test_no_rows_without_noise_or_self_influence():
    assert mislabel_auc(_ev(None, np.ones(4, bool))) == []
    assert mislabel_auc(_ev(np.zeros(4), None)) == []


def test_found_in_top_counts_the_inspected_fraction():
    flipped = np.array([True, False, True, False, False, False, False, False, False, False])
    assert found_in_top(np.arange(10.0)[::-1], flipped, 0.1) == 0.5


def test_flip_task_flips_ten_percent_to_other_classes():
    clean, noisy = make_task("digits-logreg", "tiny"), make_task("digits-logreg-flip", "tiny")
    y, y_noisy = clean._data[1], noisy._data[1]
    assert noisy.flipped.sum() == round(0.1 * clean.K)
    np.testing.assert_array_equal(y != y_noisy, noisy.flipped)
    np.testing.assert_array_equal(clean._data[2], noisy._data[2])  # same targets
    assert clean.flipped is None and not noisy.spec.design.loo


@pytest.mark.parametrize("name", ["digits-logreg", "digits-mlp"])
def test_clean_task_keys_unchanged(name):
    """Adding the flip variant must not move the clean tasks' caches."""
    expected = {"digits-logreg": "digits-logreg-4b16fcc05fbb",
                "digits-mlp": "digits-mlp-88011fca1a5a"}
    assert make_task(name, "quick").spec.key == expected[name]
