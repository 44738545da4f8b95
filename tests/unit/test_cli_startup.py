"""``python -m benchmarks.perf startup``: the entry's shape, on fast stand-in commands (no
wall-clock limits here: the numbers are the benchmark's, not the test's)."""

from __future__ import annotations

import json
import sys

from benchmarks.perf import startup


def test_the_entry_holds_medians_and_ratios_to_both_baselines():
    py = [sys.executable, "-c"]
    cmds = {startup.PYTHON: [*py, "pass"], startup.TORCH: [*py, "pass"],
            "--help": [*py, "print('usage')"]}
    entry = startup.run(cmds, repeats=2)
    assert set(entry["seconds"]) == set(cmds) and entry["repeats"] == 2
    for key in ("ratio_to_python", "ratio_to_import_torch"):
        assert set(entry[key]) == set(cmds) and all(v > 0 for v in entry[key].values())
    assert entry["ratio_to_python"][startup.PYTHON] == 1.0
    assert "git_sha" in entry["provenance"]


def test_main_merges_the_entry_into_the_named_bench_json(tmp_path, monkeypatch):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"engine": {"kept": 1}}))
    py = [sys.executable, "-c", "pass"]
    monkeypatch.setattr(startup, "commands", lambda python, env: {
        startup.PYTHON: py, startup.TORCH: py, "list": py})
    startup.main(["--repeats", "1", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data["engine"] == {"kept": 1} and set(data["startup"]["seconds"]) == {
        startup.PYTHON, startup.TORCH, "list"}
