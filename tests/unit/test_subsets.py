"""Row tables of ground-truth stores (benchmarks/groundtruth/subsets.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.common.spec import SpecError, SubsetDesign
from benchmarks.groundtruth.subsets import ROLES, build_rows

K = 8
BASE = "toy-0123456789ab"


def _design(**kw) -> SubsetDesign:
    return SubsetDesign(**{"sampler": "fixed", "alpha": 0.5, "n_fit": 10, "n_eval": 6, **kw})


def test_roles_and_order():
    """full, then K loo rows, then n_eval eval rows, then n_fit fit rows."""
    rows = build_rows(_design(), K, BASE)
    assert rows.roles == ("full",) + ("loo",) * K + ("eval",) * 6 + ("fit",) * 10
    assert rows.names[:3] == ("full", "loo/0", "loo/1")
    assert rows.names[1 + K] == "eval/0" and rows.names[-1] == "fit/9"
    assert len(rows) == 1 + K + 6 + 10
    assert rows.masks.shape == (len(rows), K) and rows.masks.dtype == bool
    np.testing.assert_array_equal(rows.index("loo"), np.arange(1, K + 1))
    np.testing.assert_array_equal(rows.index("fit"), np.arange(1 + K + 6, 1 + K + 16))


def test_full_and_loo_masks():
    """The full mask is all ones; loo/k drops exactly unit k."""
    rows = build_rows(_design(), K, BASE)
    assert rows.masks[0].all()
    np.testing.assert_array_equal(rows.masks[rows.index("loo")], ~np.eye(K, dtype=bool))


def test_no_loo_rows_when_disabled():
    """``loo=False`` gives only sampled rows."""
    rows = build_rows(_design(loo=False), K, BASE)
    assert rows.roles == ("eval",) * 6 + ("fit",) * 10
    assert len(rows.index("full")) == 0


def test_unknown_role_raises():
    with pytest.raises(ValueError, match="unknown role"):
        build_rows(_design(), K, BASE).index("test")
    assert ROLES == ("full", "loo", "eval", "fit")


@pytest.mark.parametrize("sampler", ["fixed", "bernoulli"])
def test_sampled_masks_distinct_and_nonempty(sampler):
    """All eval and fit masks are pairwise distinct and non-empty."""
    rows = build_rows(_design(sampler=sampler, n_fit=30, n_eval=20), K, BASE)
    sampled = rows.masks[np.concatenate([rows.index("eval"), rows.index("fit")])]
    assert len({m.tobytes() for m in sampled}) == 50
    assert sampled.sum(1).min() > 0


@pytest.mark.parametrize("alpha, size", [(0.5, 4), (0.875, 7), (0.3, 2), (0.7, 6)])
def test_fixed_size_is_round_alpha_k(alpha, size):
    """Fixed-size sampler: every sampled mask has exactly round(alpha*K) units."""
    rows = build_rows(_design(alpha=alpha, n_fit=4, n_eval=3), K, BASE)
    sizes = rows.masks[np.concatenate([rows.index("eval"), rows.index("fit")])].sum(1)
    assert size == round(alpha * K)
    assert (sizes == size).all()


def test_deterministic_and_key_dependent():
    """Same design and key -> same masks; another base key -> other masks."""
    a = build_rows(_design(), K, BASE)
    b = build_rows(_design(), K, BASE)
    c = build_rows(_design(), K, "toy-ffffffffffff")
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.masks, c.masks)


@pytest.mark.parametrize("sampler", ["fixed", "bernoulli"])
def test_more_fit_subsets_keep_existing_rows(sampler):
    """Raising n_fit appends fit rows; existing eval and fit masks are unchanged (prefix)."""
    small = build_rows(_design(sampler=sampler, n_fit=5), K, BASE)
    large = build_rows(_design(sampler=sampler, n_fit=25), K, BASE)
    np.testing.assert_array_equal(large.masks[: len(small)], small.masks)
    assert large.names[: len(small)] == small.names
    assert len(large) == len(small) + 20


def test_too_many_subsets_raises():
    """n_fit + n_eval > C(K, size) distinct fixed-size subsets -> SpecError naming the fields."""
    n_max = math.comb(K, 4)  # 70
    build_rows(_design(n_fit=n_max - 6, n_eval=6), K, BASE)  # exactly all subsets: fine
    with pytest.raises(SpecError, match=r"design\.n_fit\+n_eval.*C\(8,4\) = 70"):
        build_rows(_design(n_fit=n_max - 5, n_eval=6), K, BASE)


def test_all_subsets_drawn_when_exhaustive():
    """Asking for every size-4 subset returns each of the C(8,4) subsets once."""
    rows = build_rows(_design(n_fit=64, n_eval=6, loo=False), K, BASE)
    assert len({m.tobytes() for m in rows.masks}) == math.comb(K, 4)


def test_degenerate_fixed_size_raises():
    """round(alpha*K) must be strictly between 0 and K."""
    with pytest.raises(SpecError, match=r"design\.alpha"):
        build_rows(_design(alpha=0.05), K, BASE)
