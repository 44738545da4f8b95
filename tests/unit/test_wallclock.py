"""The wall-clock section of docs/performance.md and README's budget line are generated from
leaderboard/timings.csv (leaderboard/wallclock.py): the committed pages match the committed
timings, and the table's sums and cold/cached counts are those of the rows."""

from __future__ import annotations

import pandas as pd

from leaderboard import wallclock
from leaderboard.build import LEADERBOARD_DIR


def test_committed_readme_matches_committed_timings(tmp_path):
    from benchmarks.replicate import default_labels

    assert wallclock.BEGIN in wallclock.README.read_text()  # the page carries the block
    assert wallclock.BUDGET_BEGIN in wallclock.FRONT.read_text()  # and README its budget
    copy, front = tmp_path / "performance.md", tmp_path / "README.md"
    copy.write_text(wallclock.README.read_text())
    front.write_text(wallclock.FRONT.read_text())
    changed = wallclock.update_readme(LEADERBOARD_DIR / "timings.csv", copy,
                                      default=default_labels("quick"), front=front)
    assert not changed, "wall-clock is stale: run `python -m benchmarks leaderboard`"


def _rows() -> pd.DataFrame:
    rows = [("a", "W0 pretraining", 30, None), ("a", "ground truth", 600, 40),
            ("a", "method KernelSM (CV)", 60, None), ("a", "stage selection", 120, None),
            ("b", "ground truth", 1.2, 0), ("b", "method LOO (retrain)", 6, None),
            ("(all)", "rendering", 90, None)]
    return pd.DataFrame([{"task": t, "stage": s, "kind": s, "wall_s": w, "cpu_s": w,
                          "models": m, "gflop": None, "measured": "2026-12-01",
                          "profile": "quick", "cache": "cold"} for t, s, w, m in rows])


def test_table_sums_parts_and_counts_cold_tasks():
    table = wallclock.per_task(_rows(), "quick")
    assert list(table.index) == ["a", "b"]
    assert table.loc["a", "W0"] == 0.5 and table.loc["a", "ground truth"] == 10.0
    assert table.loc["a", "methods"] == 1.0 and table.loc["a", "stages"] == 2.0
    assert table.loc["a", "total"] == 13.5
    text = wallclock.markdown(_rows(), "quick")
    assert "**15 min** over 2 tasks (rendering 1.5 min)" in text  # 13.5 + 0.12 + 1.5
    assert "(cold) for 1 of them, cached then for 1" in text


def test_default_job_and_opt_in_tasks_are_summed_apart_against_the_budget():
    rows = _rows()
    shared = rows[rows.task == "a"].assign(task="a2", cache="warm", models=0)  # a sibling
    timings = pd.concat([rows, shared])
    text = wallclock.markdown(timings, "quick", default={"a", "a2"})
    assert "| b *(opt-in)* |" in text and "| a2 | 0.5 | 10.0 | 0 |" in text
    assert "**28 min** for the default job's 2 tasks" in text  # 13.5 + 13.5 + 1.5, half to even
    assert "and 0 min for 1 opt-in tasks" in text
    assert "1 of the default job's cells have no cold row" in text  # a2, counted warm
    assert "have no cold row" not in wallclock.markdown(_rows(), "quick", default={"a"})
    line = wallclock.budget_line(timings, "quick", {"a", "a2"})
    assert line.startswith("**Budget** (45 min") and ": met." in line
    assert "2 cells sum to 28 min" in line and "their ground truth, 20 min" in line
    assert "(the most: a, 10 min)" in line
    slow = timings.assign(wall_s=timings.wall_s * 3)  # 85.5 min
    line = wallclock.budget_line(slow, "quick", {"a", "a2"})
    assert "missed by 40 min (1.9×)" in line and "largest cells are a (40 min), a2 (40 min)" in line


def test_update_is_idempotent_and_leaves_a_readme_without_markers(tmp_path):
    csv = tmp_path / "timings.csv"
    _rows().to_csv(csv, index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{wallclock.BEGIN}\nold\n{wallclock.END}\nrest\n")
    assert wallclock.update_readme(csv, readme)
    assert not wallclock.update_readme(csv, readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "| a |" in text
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers\n")
    assert not wallclock.update_readme(csv, plain) and plain.read_text() == "no markers\n"


def test_a_warm_rerun_is_kept_beside_the_cold_run(tmp_path):
    """A rerun with the ground truth cached writes warm rows; the cold measurement stays."""
    import numpy as np

    from benchmarks.common import timing
    from leaderboard import build

    path = tmp_path / "timings.csv"
    for trained in (40, 0):  # a cold run, then a warm one
        with timing.timed("a", "ground truth") as row:
            row["models"] = trained
        with timing.timed("a", "method KernelSM (CV)"):
            pass
        build.write_timings(path, "quick", [])
    df = pd.read_csv(path)
    assert sorted(df.cache) == ["cold", "cold", "warm", "warm"]
    assert df[(df.cache == "cold") & (df.stage == "ground truth")].models.item() == 40
    cold = df.assign(wall_s=np.where(df.cache == "cold", 60.0, 6.0))
    text = wallclock.markdown(cold, "quick")
    assert "| a | 0.0 | 1.0 | 40 | 1.0 | 0.0 | 2.0 | 0.2 |" in text


def test_cpu_seconds_count_what_live_workers_report():
    from benchmarks.common import timing

    timing.drain()
    with timing.timed("a", "ground truth"):
        timing.add_cpu(12.5)
    (row,) = timing.drain()
    assert row["cpu_s"] >= 12.5
    timing.add_cpu(3.0)  # no block open: counted nowhere
    assert timing.drain() == []
