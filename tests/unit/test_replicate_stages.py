"""bench.json ``replicate_stages`` (benchmarks/perf/replicate_stages.py): achieved GFLOP/s of
each ground-truth stage against workers x the one-thread matmul peak, merged per task."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmarks.api.task import make_task
from benchmarks.groundtruth.executors import training_gflop
from benchmarks.perf import replicate_stages
from benchmarks.training.engine import train_flops


def _timings(task: str, gflop: float, wall: float, models: int, workers: int = 2
             ) -> list[dict]:
    return [{"task": task, "stage": "ground truth", "kind": "ground truth", "wall_s": wall,
             "cpu_s": 2 * wall, "models": models, "gflop": gflop, "workers": workers,
             "measured": "2026-12-01"},
            {"task": task, "stage": "method LOO", "kind": "method loo", "wall_s": 1.0,
             "cpu_s": 1.0, "models": None, "gflop": None, "measured": "2026-12-01"}]


def test_stage_rows_divide_work_by_wall_and_peak_by_workers():
    rows = replicate_stages.stage_rows(_timings("a", 300.0, 10.0, 50), "quick", 50.0)
    assert len(rows) == 1
    r = rows[0]
    assert r["achieved_gflops"] == 30.0 and r["peak_gflops"] == 100.0
    assert r["frac_of_peak"] == pytest.approx(0.3) and r["models"] == 50
    assert replicate_stages.stage_rows(_timings("a", 300.0, 10.0, 0), "quick", 50.0) == []
    unknown = _timings("a", 300.0, 10.0, 50, workers=float("nan"))  # before it was recorded
    assert replicate_stages.stage_rows(unknown, "quick", 50.0) == []


def test_record_merges_tasks_and_replaces_a_remeasured_one(tmp_path, monkeypatch):
    from benchmarks.perf import engine

    monkeypatch.setattr(engine, "matmul_peak_gflops", lambda: 40.0)
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"engine": {"kept": True}}))
    replicate_stages.record(_timings("a", 100.0, 10.0, 5, 1), "quick", path)
    replicate_stages.record(_timings("b", 100.0, 5.0, 5, 1), "quick", path)
    replicate_stages.record(_timings("a", 100.0, 20.0, 5, 1), "quick", path)
    data = json.loads(path.read_text())
    assert data["engine"] == {"kept": True}
    stages = {r["task"]: r for r in data["replicate_stages"]["stages"]}
    assert set(stages) == {"a", "b"} and stages["a"]["achieved_gflops"] == 5.0
    assert stages["b"]["frac_of_peak"] == 0.5
    assert replicate_stages.record(_timings("c", 0.0, 1.0, 0, 1), "quick", path) == []


def test_counted_work_scales_with_the_example_passes(cache):
    """One example's forward + backward, counted once on the real model, times the examples
    each step sees (a minibatch, or every included example) and the steps."""
    task = make_task("modular-addition", "tiny")
    problem = task.training_problem()
    weights = torch.ones(3, problem.X.shape[0])
    per_pass = train_flops(problem, weights[:1], 1, 1)
    assert per_pass > 0
    assert train_flops(problem, weights, 7, 4) == pytest.approx(per_pass * 3 * 4 * 7)
    full = train_flops(problem, weights[:1], 2, 0)
    assert full == pytest.approx(per_pass * problem.X.shape[0] * 2)
    gflop = training_gflop(task, np.ones((2, task.K), dtype=bool))
    assert gflop is not None and gflop > 0
    for sharpness, one_sided, factor in (("sam", False, 2), ("nso", False, 2), ("nso", True, 1)):
        sharp = make_task("modular-addition", "tiny", {"train.sharpness": sharpness,
                                                       "train.nso_one_sided": one_sided})
        masks = np.ones((2, sharp.K), dtype=bool)  # SAM and NSO take two gradients a step
        assert training_gflop(sharp, masks) == pytest.approx(factor * gflop)


def test_the_entry_reads_timings_and_leaves_the_readme_of_another_out(tmp_path, monkeypatch):
    """``replicate`` only records timings; the perf entry turns them into bench.json rows
    afterwards, and touches the README only for the default output folder."""
    import pandas as pd

    from benchmarks.common.tables import write_table
    from benchmarks.perf import engine

    monkeypatch.setattr(engine, "matmul_peak_gflops", lambda: 40.0)
    write_table(tmp_path / "timings.csv",
                pd.DataFrame(_timings("a", 100.0, 10.0, 5, 2)).assign(profile="quick",
                                                                      cache="cold"))
    replicate_stages.main(["--out", str(tmp_path), "--profile", "quick", "--workers", "2"])
    (row,) = json.loads((tmp_path / "bench.json").read_text())["replicate_stages"]["stages"]
    assert row["task"] == "a" and row["workers"] == 2 and row["peak_gflops"] == 80.0
