"""The ``compiled_step`` bench (benchmarks/perf/compiled_step.py) at tiny: both ways timed on
the store's own chunks, ratios and fractions of peak from those times, the candidate close to
the engine but not claimed bit-identical, and a ground-truth projection that counts shapes."""

from __future__ import annotations

import pytest

from benchmarks.perf import compiled_step


def test_the_entry_times_both_ways_on_real_chunks(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    entry = compiled_step.run("modular-addition", n_chunks=2, size=4, steps=3, profile="tiny")
    rows = entry["chunks"]
    assert len(rows) == 2 and rows[0]["new_shape"]
    eager = sum(r["eager_s_per_step"] for r in rows) / 2
    compiled = sum(r["compiled_s_per_step"] for r in rows) / 2
    assert entry["step_speedup"] == pytest.approx(eager / compiled)
    fractions = entry["frac_of_peak"]
    assert fractions["compiled"] / fractions["eager"] == pytest.approx(eager / compiled)
    assert all(0 < r["max_abs_param_diff"] < 1e-3 for r in rows)  # 3 steps: close, not equal
    assert 1 <= entry["ground_truth_shapes"] <= entry["ground_truth_chunks"]
    projected, n = entry["projected_gt_s"], entry["ground_truth_chunks"] * entry["train_steps"]
    assert projected["eager"] == pytest.approx(n * eager)
    assert projected["compiled_one_worker"] == pytest.approx(
        n * compiled + entry["ground_truth_shapes"] * entry["compile_s_per_shape"])
    assert entry["dynamic_compile_error"] is None or "Error" in entry["dynamic_compile_error"]
