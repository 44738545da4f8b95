"""The prepared device run (benchmarks/perf/device_check.sh) on the CPU at the tiny profile:
it brings back what a GPU session needs in at most 8 files, its paper run included (the CUDA
parts skip and say so here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_device_check_script_brings_back_its_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "PROFILE": "tiny",
           "BUDGET_S": "0.05", "PYTHON": sys.executable, "TASKATTR_CACHE": str(tmp_path / "c")}
    proc = subprocess.run(["sh", str(ROOT / "benchmarks/perf/device_check.sh")], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and {"results.csv", "run.json", "paper_store.tar.gz",
                                "test_cuda.log", "engine_gpu.log"} <= set(files)
    assert json.loads((out / "run.json").read_text())["device"] == "cpu"
    assert "skipped, no CUDA" in (out / "engine_gpu.log").read_text()
    assert "skipped" in (out / "test_cuda.log").read_text()
