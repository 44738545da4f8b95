"""The reproducibility bench on the tiny profile: pinned conditions agree to the bit, the
spreads are computed per metric row, and the native condition is reported beside them."""

from __future__ import annotations

import pytest

from benchmarks.common import pins
from benchmarks.perf import repro


@pytest.fixture
def three_conditions(monkeypatch):
    keep = (repro.REFERENCE, "pinned · 1 worker, 2 threads", "native · 2 workers")
    monkeypatch.setattr(repro, "CONDITIONS", {k: repro.CONDITIONS[k] for k in keep})
    monkeypatch.setattr(repro, "METHODS", ("linear_surrogate",))


def test_pinned_conditions_are_bit_identical(three_conditions):
    entry = repro.run("modular-addition", "tiny")
    pinned = entry["conditions"]["pinned · 1 worker, 2 threads"]
    assert pinned["identical_fraction"] == 1.0 and pinned["max_abs_diff"] == 0.0
    assert entry["spread_pinned"] and set(entry["spread_pinned"].values()) == {0.0}
    assert pinned["env"] == pins.PINS  # the pins reached the ground-truth processes
    assert entry["conditions"]["native · 2 workers"]["env"] == {}  # and opting out dropped them
    assert "linear_surrogate lds/spearman/eval" in entry["spread_native"]
    assert all(v >= 0 for v in entry["spread_native"].values())


def test_spread_is_the_range_over_the_named_conditions():
    table = {repro.REFERENCE: {"metrics": {"m": 0.5, "nan": float("nan")}},
             "b": {"metrics": {"m": 0.25, "nan": 1.0}}, "c": {"metrics": {"m": 0.75, "nan": 1.0}}}
    assert repro._spread(table, [repro.REFERENCE, "b"]) == {"m": 0.25}
    assert repro._spread(table, list(table)) == {"m": 0.5}
