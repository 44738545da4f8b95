"""A cell's shared per-example gradients, dense curvature and GradEx features
(``benchmarks.oracles.memo``) move no bit: every method that reads them fits the same float64
scores, self-influences and predictions with sharing as with everything recomputed, and the
GradEx oracle writes the same labels (and records the features' real cost).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from benchmarks.api.method import make_method
from benchmarks.oracles import memo
from benchmarks.oracles.fit import build_context, fit_method, method_predict, method_scores
from methods import influence

# every reader of the memo, in the runner's order: the gradients (IF solvers, Grad-Dot/Cos,
# TracIn, TRAK, the weighting), the dense H (exact IF and its weighted split) and the GradEx
# features (the method, then the oracle behind the surrogate's labels)
SHARING = (("influence", {}), ("influence", {"solver": "cg", "cg_iters": 10}),
           ("influence", {"solver": "lissa", "lissa_depth": 20}),
           ("influence", {"solver": "ekfac"}), ("grad_dot", {}),
           ("grad_dot", {"aggregate": "mean"}), ("grad_cos", {}), ("tracin", {"n_checkpoints": 2}),
           ("trak", {}), ("trak", {"aggregate": "mean"}), ("gradex", {"n_lin": 2, "lin_steps": 5}),
           ("linear_surrogate", {"fit_type": "ridge", "labels": "gradex"}),
           ("param_weighted", {"base": "influence"}), ("param_weighted", {"base": "tracin"}))


def _cell(task, store) -> dict:
    """Each method's scores, self-influence and predictions, fitted one after the other as the
    runner does (GradEx labels made inside the fit)."""
    shutil.rmtree(store.path / "gradex", ignore_errors=True)
    evals = store.rows.masks[store.rows.index("eval")]
    out = {}
    for name, params in SHARING:
        method = make_method(name, params)
        _, fitted = fit_method(task, store, method)
        out[method.key] = (method_scores(method, fitted), fitted.self_influence,
                           method_predict(method, fitted, evals))
    return out


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, (sa, oa, pa) in a.items():
        sb, ob, pb = b[key]
        assert sa.dtype == np.float64 and np.array_equal(sa, sb), f"{key}: scores differ"
        assert (oa is None) == (ob is None) and (oa is None or np.array_equal(oa, ob)), key
        assert np.array_equal(pa, pb), f"{key}: predictions differ"


def test_sharing_moves_no_bit(tiny_addition):
    task, store = tiny_addition
    memo.release()
    with memo.disabled():
        alone = _cell(task, store)
        assert memo.stats()["values"] == 0
    before = memo.stats()
    shared = _cell(task, store)
    after = memo.stats()
    # each value computed once, then read by every later method: the gradients of the model,
    # of TracIn's first checkpoint (C = 2) and of the weighted TracIn's four (C = 5), TRAK's
    # margin gradients, H and the GradEx features
    assert after["misses"] - before["misses"] == after["values"] == 9
    assert after["hits"] - before["hits"] >= len(SHARING) - 3
    assert after["bytes"] <= memo.MAX_BYTES
    _same(alone, shared)
    _same(alone, _cell(task, store))  # a second pass reads every value from the memo
    memo.release()
    assert memo.stats()["values"] == 0 and memo.stats()["bytes"] == 0


def test_oracle_records_the_features_cost_when_shared(tiny_addition):
    """The GradEx method computes the features; the oracle that reads them next records the
    seconds they took, not the near-zero of the read."""
    task, store = tiny_addition
    memo.release()
    shutil.rmtree(store.path / "gradex", ignore_errors=True)
    fit_method(task, store, make_method("gradex", {"n_lin": 2, "lin_steps": 5}))
    (_, seconds), = [(k, e.seconds) for k, e in memo._STATE.entries.items()
                     if "gradex_features" in k]
    build_context(task, store, make_method("linear_surrogate", {"labels": "gradex"}))
    meta = json.loads(next((store.path / "gradex").glob("*/meta.json")).read_text())
    assert meta["features_s"] >= seconds
    assert meta["cost_s"] == pytest.approx(meta["features_s"] + meta["solve_s"])
    memo.release()


def test_dense_curvature_is_built_once_per_model(tiny_addition, monkeypatch):
    """The exact IF and its per-group split on one model share one dense H (bit-identical
    scores to a fresh build); another cell builds its own."""
    task, store = tiny_addition
    method = make_method("influence", {})
    memo.release()
    first = method.fit(build_context(task, store, method)).scores
    builds = []
    real = influence.make_hvp
    monkeypatch.setattr(influence, "make_hvp", lambda *a, **k: builds.append(1) or real(*a, **k))
    again = method.fit(build_context(task, store, method)).scores
    pw = make_method("param_weighted", {"base": "influence", "weights": "uniform"})
    pw.fit(build_context(task, store, pw))
    assert builds == [] and (again == first).all()
    memo.enter("another cell")
    assert memo.stats()["values"] == 0
    assert (method.fit(build_context(task, store, method)).scores == first).all()
    assert builds == [1]
    memo.release()


def test_a_value_past_the_cap_is_not_kept(monkeypatch):
    memo.release()
    monkeypatch.setattr(memo, "MAX_BYTES", 100)
    big, _ = memo.shared(("test", "big"), lambda: torch.zeros(20, dtype=torch.float64))
    assert big.shape == (20,) and memo.stats()["values"] == 0  # 160 bytes: computed, not kept
    memo.shared(("test", "small"), lambda: torch.zeros(4, dtype=torch.float64))
    assert memo.stats()["values"] == 1 and memo.stats()["bytes"] == 32
    memo.release()
