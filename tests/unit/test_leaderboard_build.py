"""results.csv upserts: new rows replace old ones; a task's stale method variants leave."""

import pandas as pd
import pytest

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


_WRITER = """
import sys
import pandas as pd
from leaderboard.build import upsert
path, who = sys.argv[1], sys.argv[2]
for i in range(40):
    row = {"task_key": f"{who}-{i}", "method_key": "m", "metric": "lds", "variant": "v",
           "split": "eval", "profile": "tiny", "value": float(i)}
    upsert(path, pd.DataFrame([row]), ["task_key", "method_key", "metric", "variant", "split",
                                       "profile"], ["task_key", "profile"])
"""


def test_concurrent_upserts_lose_no_rows(tmp_path):
    """Two processes upserting at once: the lock and atomic replace keep all 80 rows."""
    import subprocess
    import sys

    path = tmp_path / "results.csv"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), who])
             for who in ("a", "b")]
    assert [p.wait() for p in procs] == [0, 0]
    df = pd.read_csv(path)
    assert len(df) == 80 and df.task_key.is_unique


def test_truncated_table_is_refused_not_half_read(tmp_path):
    """A table ending mid-row (a truncated file) is refused, naming it; nothing is dropped."""
    from benchmarks.common.fsio import CorruptFileError
    from leaderboard.build import ROW_KEY, upsert

    path = tmp_path / "results.csv"
    rows = pd.DataFrame([{k: f"{k}{i}" for k in ROW_KEY} | {"value": i} for i in range(5)])
    upsert(path, rows, ROW_KEY)
    text = path.read_text()
    path.write_text(text[: len(text) - 7])
    with pytest.raises(CorruptFileError, match="results.csv.*mid-row"):
        upsert(path, rows.iloc[:1], ROW_KEY)
    assert path.read_text() == text[: len(text) - 7]
