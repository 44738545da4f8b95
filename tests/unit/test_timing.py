"""Per-stage timings (benchmarks/common/timing.py): recorded per block, drained once, summarised."""

from __future__ import annotations

import time

from benchmarks.common import timing


def test_timed_blocks_record_wall_and_cpu_and_drain_once():
    timing.drain()
    with timing.timed("t", "method KernelSM", "method kernel_sm"):
        sum(i * i for i in range(200_000))
    with timing.timed("t", "ground truth"):
        time.sleep(0.01)
    rows = timing.drain()
    assert [r["stage"] for r in rows] == ["method KernelSM", "ground truth"]
    assert rows[0]["kind"] == "method kernel_sm" and rows[1]["kind"] == "ground truth"
    assert rows[0]["cpu_s"] > 0 and rows[1]["wall_s"] >= 0.01
    assert timing.drain() == []


def test_a_block_that_raises_is_still_timed():
    timing.drain()
    try:
        with timing.timed("t", "stage selection"):
            raise KeyError("x")
    except KeyError:
        pass
    assert [r["stage"] for r in timing.drain()] == ["stage selection"]


def test_summary_totals_by_kind_and_lists_the_slowest():
    rows = [{"task": "a", "stage": "method A", "kind": "method x", "wall_s": 2.0, "cpu_s": 2.0},
            {"task": "b", "stage": "method B", "kind": "method x", "wall_s": 1.0, "cpu_s": 1.5},
            {"task": "a", "stage": "ground truth", "kind": "ground truth", "wall_s": 60.0,
             "cpu_s": 118.0}]
    text = timing.summary(rows, top=1)
    lines = text.splitlines()
    assert lines[0].startswith("timings (wall-clock 1.1 min over 3 stages)")
    assert lines[2].split() == ["ground", "truth", "60.0", "118.0"]
    assert lines[3].split() == ["method", "x", "3.0", "3.5"]
    assert lines[-1].strip() == "a · ground truth: 60.0 s"


def test_replicate_keeps_the_timings_of_cells_done_before_one_fails(tmp_path, monkeypatch):
    """Each cell's rows reach timings.csv as it ends, so a run killed later keeps them."""
    import pandas as pd
    import pytest

    from benchmarks import replicate as rep
    from benchmarks.runner import CellRun

    calls = []

    def cell(task, cell, executor, step=None):
        calls.append(task.label)
        if len(calls) == 2:
            raise RuntimeError("killed")
        with timing.timed(task.label, "ground truth"):
            pass
        return CellRun([], [], {})

    monkeypatch.setattr(rep, "run_paper_cell", cell)
    timing.drain()
    with pytest.raises(RuntimeError, match="killed"):
        rep.replicate("tiny", ["modular-addition-ft", "digits-logreg"], out_dir=tmp_path)
    times = pd.read_csv(tmp_path / "timings.csv")
    assert list(times.task) == [calls[0]] and list(times.stage) == ["ground truth"]


def test_a_worker_chunk_counts_its_cpu_once():
    """A chunk trained in another process adds its CPU-seconds; one trained in the driver's own
    process is counted by the operating system already and adds nothing."""
    import os

    import numpy as np

    from benchmarks.common import timing
    from benchmarks.groundtruth.executors import driver

    timing.drain()
    with timing.timed("a", "ground truth"):
        driver._count_cpu(np.array([50.0, os.getpid() + 1]))
    with timing.timed("b", "ground truth"):
        driver._count_cpu(np.array([50.0, os.getpid()]))
    a, b = timing.drain()
    assert a["cpu_s"] >= 50.0 and b["cpu_s"] < 50.0
