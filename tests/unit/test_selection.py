"""Downstream selection (methods/METHODS.md §3.6): candidates, proposals, retraining cache, rows."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from benchmarks.api.method import make_method
from benchmarks.stages.selection import (
    SelectionDesign,
    candidates,
    group_means,
    neighbours,
    propose,
    retrained_loss,
    search,
    smallest_size,
)
from benchmarks.stages.selection_run import run_selection


def test_candidates_cover_every_size_down_to_the_budget():
    c = candidates(5, 3, 1)
    assert len(c) == 1 + 5 + 10 and c[0].all()
    assert len({m.tobytes() for m in c}) == len(c)
    assert set(c.sum(1)) == {3, 4, 5}


def test_additive_budget_proposal_is_the_top_k_units():
    scores = np.array([0.3, -0.2, 0.1, -0.5, 0.05])  # lower = including lowers the loss more
    cands = candidates(5, 3, 3)
    prop = propose((cands @ scores)[:, None], cands, 3)
    np.testing.assert_array_equal(np.flatnonzero(prop["budget"][0]), [1, 3, 4])
    np.testing.assert_array_equal(np.flatnonzero(prop["best"][0]), [1, 3])  # size 2 >= 5 - 3


def test_search_proposes_where_enumeration_is_capped(tiny_addition):
    """With enumeration capped below C(K, k), every method still gets proposals (from
    ``search``), of size k for loss@k, and the additive ones equal the enumerated ones."""
    task, store = tiny_addition
    methods = (("linear_surrogate", {"fit_type": "ridge"}), ("kernel_sm", {}))
    design = SelectionDesign(groups=2, max_drop=2, random_draws=2)
    capped = run_selection(task, store, methods, replace(design, enumerate_cap=1))
    full = run_selection(task, store, methods, design)
    key = make_method(*methods[0]).key
    pick = {(r["method_key"], r["variant"]): r["value"] for r in capped}
    want = {(r["method_key"], r["variant"]): r["value"] for r in full}
    assert set(pick) == set(want) and all(math.isfinite(v) for v in pick.values())
    assert pick[(key, "loss@k")] == want[(key, "loss@k")]


def test_selection_rows_and_cached_retraining(tiny_addition):
    task, store = tiny_addition
    methods = (("loo", {}), ("linear_surrogate", {"fit_type": "ridge"}), ("kernel_sm", {}))
    rows = run_selection(task, store, methods, SelectionDesign(groups=2, max_drop=2,
                                                               random_draws=2))
    by = {(r["method_key"], r["variant"]): r["value"] for r in rows}
    assert {v for _, v in by} == {"loss@k", "loss@best", "gain@k"}
    assert all(math.isfinite(v) for v in by.values())
    assert ("random-k", "loss@k") in by and ("all-units", "loss@best") in by
    n_files = len(list((store.path / "selection").iterdir()))
    again = run_selection(task, store, methods, SelectionDesign(2, 2, 2))
    assert len(list((store.path / "selection").iterdir())) == n_files  # nothing retrained
    assert [r["value"] for r in again] == [r["value"] for r in rows]


def test_retrained_loss_matches_the_task_oracle(tiny_addition):
    """A cached selection result is the seed mean of the task's own evaluation."""
    task, store = tiny_addition
    mask = np.ones((1, task.K), dtype=bool)
    got = retrained_loss(task, store, mask)
    full = store.mean(task.primary, "full")
    np.testing.assert_allclose(got, full, rtol=1e-5, atol=1e-6)


def test_large_unit_spaces_enumerate_only_the_budget_size():
    c = candidates(20, 2, 4, cap=1000)  # sizes 16..20 would be 6,196 masks
    assert len(c) == 190 and set(c.sum(1)) == {2}
    assert candidates(50, 4, 4, cap=1000) is None  # C(50, 4) > cap: ``search`` proposes


def _groups(n_targets: int) -> list[np.ndarray]:
    return [np.arange(0, n_targets, 2), np.arange(1, n_targets, 2)]


def test_search_is_exact_for_additive_methods():
    """A linear objective over size-k subsets: steepest 1-swap descent finds the enumerated
    argmin, for "budget" and for "best" over sizes low..K."""
    rng = np.random.default_rng(3)
    K, k, drop = 10, 5, 3
    scores = rng.normal(size=(K, 6))
    groups = _groups(6)
    cands = candidates(K, k, drop)
    want = propose(group_means(cands @ scores, groups), cands, k)
    got = search(lambda m: m.astype(float) @ scores, groups, K, k, smallest_size(K, k, drop))
    for kind in ("budget", "best"):
        np.testing.assert_array_equal(got[kind], want[kind])


def test_search_ends_at_a_local_optimum_of_a_nonadditive_prediction():
    """Pairwise interactions: every proposal is at least as good as each of its neighbours,
    "budget" keeps size k, and "best" is never predicted worse than "budget"."""
    rng = np.random.default_rng(4)
    K, k = 12, 6
    a, B = rng.normal(size=(K, 4)), rng.normal(size=(K, K, 4))

    def predict(m: np.ndarray) -> np.ndarray:
        x = m.astype(float)
        return x @ a + np.einsum("ci,ijt,cj->ct", x, B, x) / K

    groups = _groups(4)
    got = search(predict, groups, K, k, low=k - 2)
    assert (got["budget"].sum(1) == k).all()
    for g, idx in enumerate(groups):
        value = {kind: predict(got[kind][g:g + 1])[0, idx].mean() for kind in got}
        assert value["best"] <= value["budget"] + 1e-12
        near = neighbours(got["budget"][g], k, resize=False)
        assert predict(near)[:, idx].mean(1).min() >= value["budget"] - 1e-12


def test_neighbours_count_swaps_adds_and_drops():
    mask = np.array([1, 1, 1, 0, 0], dtype=bool)
    assert len(neighbours(mask, 3, resize=False)) == 6
    assert len(neighbours(mask, 3, resize=True)) == 6 + 2  # at the floor: no drops
    assert len(neighbours(mask, 2, resize=True)) == 6 + 2 + 3
