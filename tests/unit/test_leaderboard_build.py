"""results.csv upserts: new rows replace old ones; a task's stale method variants leave."""

import pandas as pd

from leaderboard.build import ROW_KEY, upsert


def _row(task, method, value):
    return {"task_key": task, "method_key": method, "metric": "lds", "variant": "spearman",
            "split": "eval", "profile": "quick", "value": value}


def test_upsert_replaces_a_tasks_rows_and_keeps_other_tasks(tmp_path):
    csv = tmp_path / "results.csv"
    upsert(csv, pd.DataFrame([_row("a", "old", 0.1), _row("a", "kept", 0.2),
                              _row("b", "x", 0.3)]), ROW_KEY, ["task_key", "profile"])
    out = upsert(csv, pd.DataFrame([_row("a", "kept", 0.5)]), ROW_KEY, ["task_key", "profile"])
    assert sorted(zip(out.task_key, out.method_key, out.value, strict=True)) == [
        ("a", "kept", 0.5), ("b", "x", 0.3)]
    assert pd.read_csv(csv).shape[0] == 2


def test_upsert_by_key_only_keeps_unrelated_rows(tmp_path):
    csv = tmp_path / "results.csv"
    upsert(csv, pd.DataFrame([_row("a", "m1", 0.1), _row("a", "m2", 0.2)]), ROW_KEY)
    out = upsert(csv, pd.DataFrame([_row("a", "m1", 0.9)]), ROW_KEY)
    assert sorted(zip(out.method_key, out.value, strict=True)) == [("m1", 0.9), ("m2", 0.2)]
