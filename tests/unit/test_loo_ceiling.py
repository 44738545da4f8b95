"""The LOO noise ceiling of C1 (``benchmarks/stages/agreement.py``): the split-half
reliability of the leave-one-out effects over seeds, pooled over (unit, target) and
Spearman-Brown corrected, as a results row under the linear method's identity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from benchmarks.api.method import make_method
from benchmarks.stages.agreement import loo_ceiling_rows

LINEAR = ("linear_surrogate", {"fit_type": "ridge"})
TEMPLATE = {"task": "t", "method_key": "x", "metric": "lds", "variant": "spearman"}


@dataclass
class _Rows:
    roles: tuple[str, ...]

    def index(self, role: str) -> np.ndarray:
        return np.array([i for i, r in enumerate(self.roles) if r == role], dtype=np.int64)


@dataclass
class _Store:
    rows: _Rows
    values: np.ndarray  # (m, R, n_targets)
    done: np.ndarray

    def array(self, name: str) -> np.ndarray:
        return self.values


def _store(effects: np.ndarray, noise: float, seeds: int = 2, rng_seed: int = 0) -> _Store:
    """A store whose seed-r LOO effects are ``effects`` (K, T) plus independent noise."""
    rng = np.random.default_rng(rng_seed)
    K, T = effects.shape
    full = np.ones((1, seeds, T))
    loo = full - effects[:, None, :] + noise * rng.standard_normal((K, seeds, T))
    values = np.concatenate([full, loo, np.zeros((3, seeds, T))])  # 3 fitting rows
    roles = ("full",) + ("loo",) * K + ("fit",) * 3
    return _Store(_Rows(roles), values, np.ones((len(roles), seeds), dtype=np.uint8))


def test_noiseless_effects_are_perfectly_reliable():
    effects = np.random.default_rng(1).standard_normal((16, 20))
    (row,) = loo_ceiling_rows(_store(effects, 0.0), "loss", LINEAR, TEMPLATE)
    assert row["value"] == pytest.approx(1.0)
    assert (row["metric"], row["variant"], row["n_targets"]) == ("loo_ceiling", "split_half", 20)
    assert row["method_key"] == make_method(*LINEAR).key and row["task"] == "t"


def test_the_reliability_is_the_spearman_brown_corrected_half_correlation():
    effects = np.random.default_rng(2).standard_normal((200, 50))
    (row,) = loo_ceiling_rows(_store(effects, 1.0), "loss", LINEAR, TEMPLATE)
    r = 1 / 2  # each seed: signal variance 1, noise variance 1
    assert row["value"] == pytest.approx(2 * r / (1 + r), abs=0.02)


def test_no_row_with_one_seed_unfinished_models_or_no_loo_rows():
    effects = np.ones((4, 3))
    assert loo_ceiling_rows(_store(effects, 0.1, seeds=1), "loss", LINEAR, TEMPLATE) == []
    store = _store(effects, 0.1)
    store.done[2, 1] = 0
    assert loo_ceiling_rows(store, "loss", LINEAR, TEMPLATE) == []
    no_loo = _Store(_Rows(("fit",) * 3), np.zeros((3, 2, 3)), np.ones((3, 2), dtype=np.uint8))
    assert loo_ceiling_rows(no_loo, "loss", LINEAR, TEMPLATE) == []
