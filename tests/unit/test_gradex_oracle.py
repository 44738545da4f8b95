"""GradEx label oracle (masks, cache, labels syntax) and the ``relerr`` metric (§3.4)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.api.evaluation import Evaluation
from benchmarks.api.method import make_method
from benchmarks.api.registry import METRICS
from benchmarks.api.task import make_task
from benchmarks.common.spec import SpecError, SubsetDesign
from benchmarks.groundtruth.fill import open_store
from benchmarks.oracles import labels as oracle_mod
from benchmarks.oracles.fit import build_context
from benchmarks.oracles.labels import (
    GradExCacheMismatchError,
    GradExOracle,
    extra_masks,
    make_oracle,
    parse_labels,
)

TASK = "modular-addition"
TOL_RE = 1e-10  # relerr vs the hand computation
EPS = 1e-8  # the §3.4 formula's denominator guard
TOL_SAME = 1e-10  # oracle labels == the gradex method's predictions on the same masks


@pytest.fixture
def tiny(cache):
    task = make_task(TASK, "tiny", {"train.steps": 20})
    return task, open_store(task)


def _keys(masks: np.ndarray) -> list[bytes]:
    return [m.tobytes() for m in masks]


def test_masks_distinct_disjoint_from_eval_and_start_with_fit(tiny):
    """tiny: K = 9, 7-unit subsets: C(9, 7) = 36, minus 8 evaluation masks = 28 available."""
    task, store = tiny
    masks = GradExOracle(task, store, "loss", m=64).masks()
    fit = store.rows.masks[store.rows.index("fit")]
    evals = store.rows.masks[store.rows.index("eval")]
    assert len(masks) == 36 - len(evals)
    assert len(set(_keys(masks))) == len(masks)
    assert not set(_keys(masks)) & set(_keys(evals))
    np.testing.assert_array_equal(masks[:len(fit)], fit)
    assert (masks.sum(1) == 7).all()
    again = GradExOracle(task, store, "loss", m=64).masks()
    np.testing.assert_array_equal(masks, again)  # seeded


def test_bernoulli_masks_by_enumeration_and_rejection():
    design = SubsetDesign(sampler="bernoulli", alpha=0.5)
    seen = {np.ones(9, bool).tobytes()}
    small = extra_masks(design, 9, 100, set(seen), "k")  # 2^9: enumerated
    large = extra_masks(design, 20, 50, set(seen), "k")  # 2^20: rejection sampling
    for masks in (small, large):
        assert len(set(_keys(masks))) == len(masks)
        assert not set(_keys(masks)) & seen and masks.any(1).all()
    assert small.shape == (100, 9) and large.shape == (50, 20)


def test_cache_is_reused_and_a_mismatch_refused(tiny, monkeypatch):
    task, store = tiny
    first = GradExOracle(task, store, "loss", m=20).fit_set()
    assert first.values.shape == (20, task.n_targets) and first.cost_retrainings == 1.0
    assert np.isfinite(first.values).all() and first.cost_s > 0

    def boom(*args, **kwargs):
        raise AssertionError("recomputed instead of reading the cache")

    monkeypatch.setattr(oracle_mod, "solve_subsets", boom)
    second = GradExOracle(task, store, "correct", m=20).fit_set()  # same cache, other output
    np.testing.assert_array_equal(second.masks, first.masks)
    assert set(np.unique(second.values)) <= {0.0, 1.0}
    oracle = GradExOracle(task, store, "loss", m=20)
    meta_path = oracle.folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["lam_z"] = 123.0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(GradExCacheMismatchError, match="another configuration"):
        oracle.fit_set()


def test_labels_syntax(tiny):
    task, store = tiny
    assert parse_labels("gradex:k=8, m=10") == ("gradex", {"k": "8", "m": "10"})
    oracle = make_oracle("gradex:k=8,m=10,lam=0.5,proj=gaussian", task, store, "loss")
    c = oracle.config
    assert (c.proj_dim, c.n_subsets, c.lam_z, c.projection) == (8, 10, 0.5, "gaussian")
    assert make_oracle("gradex", task, store, "loss").config.proj_dim == 32  # tiny default
    with pytest.raises(SpecError, match="Available: retrain, gradex"):
        make_oracle("bogus", task, store, "loss")
    for bad in ("gradex:q=1", "gradex:k=abc", "gradex:k", "retrain:k=1", "gradex:lam=-1"):
        with pytest.raises(SpecError):
            make_oracle(bad, task, store, "loss")


def test_oracle_labels_equal_gradex_predictions(tiny):
    """Same W0, P and lam: the oracle's labels are the gradex method's estimates."""
    task, store = tiny
    labels = GradExOracle(task, store, "loss", m=20).fit_set()
    method = make_method("gradex", {"n_lin": 0})
    fitted = method.fit(build_context(task, store, method))
    np.testing.assert_allclose(method.predict(fitted, labels.masks), labels.values, rtol=0,
                               atol=TOL_SAME)


def test_surrogate_on_gradex_labels_gets_them_from_the_context(tiny):
    task, store = tiny
    method = make_method("kernel_sm", {"labels": "gradex:m=20", "n_mc": 100})
    ctx = build_context(task, store, method)
    assert ctx.fit.masks.shape == (20, task.K) and ctx.fit.cost_retrainings == 1.0


# ------------------------------------------------------------------------------------ relerr


def _ev(F: np.ndarray, G: np.ndarray, state: dict | None = None) -> Evaluation:
    return Evaluation(np.zeros((len(F), 2), bool), F, G, np.zeros((2, F.shape[1])), None, "t",
                      method_state=state)


def test_relerr_zero_for_perfect_predictions():
    F = np.random.default_rng(0).normal(size=(5, 3))
    (row,) = METRICS.get("relerr")(_ev(F, F.copy()))
    assert row.variant == "est" and row.value == 0.0


def test_relerr_matches_hand_computation():
    """Pairs: (1, 1.5) -> (0.5/1.5)²; (2, 2) -> 0; (4, 2) -> (2/4)²; (-1, 1) -> (2/1)²."""
    F = np.array([[1.0, 2.0], [4.0, -1.0]])
    G = np.array([[1.5, 2.0], [2.0, 1.0]])
    (row,) = METRICS.get("relerr")(_ev(F, G))
    terms = [(0.5 / (1.5 + EPS)) ** 2, 0.0, (2 / (4 + EPS)) ** 2, (2 / (1 + EPS)) ** 2]
    assert row.value == pytest.approx(100 * sum(terms) / 4, abs=TOL_RE)  # ~109.03 %


def test_relerr_lin_only_with_re_lin_in_state():
    F = np.ones((3, 2))
    rows = METRICS.get("relerr")(_ev(F, F, {"re_lin": 1.25, "other": "x"}))
    assert [(r.variant, r.split, r.value) for r in rows] == [("est", "eval", 0.0),
                                                             ("lin", "fit", 1.25)]
