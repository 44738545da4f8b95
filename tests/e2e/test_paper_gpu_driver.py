"""The device run's driver (benchmarks/perf/paper_gpu.py) end to end on the CPU at the tiny
profile: calibration picks a step count within the budget and the published steps, ground
truth trains at it, and the compared methods' rows come back in the output folder with the
steps run and the device recorded."""

from __future__ import annotations

import json

import pandas as pd

from benchmarks.perf import paper_gpu


def test_driver_runs_the_budgeted_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path / "elsewhere"))  # the driver's own wins
    monkeypatch.setenv("TASKATTR_DEVICE", "cpu")
    paper_gpu.main(["--profile", "tiny", "--budget-s", "0.05", "--calibrate", "3",
                    "--device", "cpu", "--out", str(tmp_path / "out")])
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    cal = run["calibration"]
    assert 1 <= run["steps_run"] <= cal["published_steps"]
    assert run["steps_run"] == paper_gpu.fitting_steps(cal, 0.05)
    assert run["device"] == "cpu" and run["provenance"]["device"] == "cpu"
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(rows.method) == {name for name, _ in paper_gpu.METHODS}
    assert (rows.task_params.map(json.loads).map(lambda p: p["train.steps"])
            == run["steps_run"]).all()
    assert (tmp_path / "out" / "cache").is_dir()


def test_steps_never_exceed_the_published_setting():
    cal = {"chunks": 3, "s_per_step": 1e-6, "published_steps": 37_000}
    assert paper_gpu.fitting_steps(cal, 480) == 37_000
    assert paper_gpu.fitting_steps({**cal, "s_per_step": 0.01}, 480) == 12_000
    assert paper_gpu.fitting_steps({**cal, "s_per_step": 100.0}, 1) == 1
