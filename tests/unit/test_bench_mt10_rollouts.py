"""The ``mt10_rollouts`` bench (benchmarks/perf/mt10_rollouts.py) at tiny: a split that adds up,
both paths timed, their outputs bit-identical."""

from __future__ import annotations

import pytest

from benchmarks.perf import mt10_rollouts

pytest.importorskip("metaworld", reason="pip install 'taskattr[rl]'")


def test_the_entry_splits_a_rollout_and_times_both_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    entry = mt10_rollouts.run("tiny", models=2, rounds=1)
    assert entry["identical"] is True
    for key in ("split_upstream", "split_fast"):
        part = entry[key]
        shares = ("physics_share", "policy_share", "metaworld_python_and_loop_share")
        assert sum(part[s] for s in shares) == pytest.approx(1.0)
        assert part["physics_s"] > 0 and part["policy_s"] > 0
    assert entry["speedup"] == pytest.approx(
        entry["upstream_s_per_model"] / entry["fast_s_per_model"])
    assert len(entry["rounds_s"]["fast"]) == 1
