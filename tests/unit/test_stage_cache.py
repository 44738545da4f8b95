"""The stage-output cache (benchmarks/api/stage.py: run_cached): a warm rerun reads what the
cold run wrote, exactly, and anything that changes an input recomputes."""

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from benchmarks.api.stage import CellInputs, Stage, StageOutput, Table, run_cached


@dataclass(frozen=True)
class Counting(Stage):
    """Returns rows and a table of awkward values and counts its runs."""

    registry_name = "counting"
    scale: float = 1.0

    def run(self, cell: CellInputs) -> StageOutput:
        RUNS.append(self)
        frame = pd.DataFrame({"task_key": ["k", "k"], "profile": ["tiny", "tiny"],
                              "x": np.array([0.1, np.nan]) * self.scale,
                              "f32": np.array([0.1, 0.2], dtype=np.float32),
                              "n": np.array([1, 2], dtype=np.int64), "ok": [True, False]})
        rows = [{"metric": "m", "value": np.float64(1 / 3) * self.scale, "n": np.int64(7),
                 "ci_low": float("nan"), "note": None}]
        return StageOutput(rows, [Table("t.csv", frame, ("task_key", "profile", "n"))])


RUNS: list[Stage] = []


class Store(SimpleNamespace):
    def fingerprint(self) -> str:
        return self.fp


@pytest.fixture
def cell(tmp_path):
    RUNS.clear()
    task = SimpleNamespace(spec=SimpleNamespace(key="task-abc"))
    return CellInputs(task, Store(path=tmp_path, fp="gt1"), (("m", {"a": 1}),),
                      ({"checksum": {"rows": "r1"}},))


def _csv(out: StageOutput) -> str:
    return out.tables[0].frame.to_csv(index=False)


def test_second_run_reads_the_first_exactly(cell):
    cold = run_cached(Counting(), cell)
    warm = run_cached(Counting(), cell)
    assert len(RUNS) == 1
    fresh = Counting().run(cell)
    assert _csv(warm) == _csv(cold) == _csv(fresh)
    assert list(warm.tables[0].frame.dtypes) == list(fresh.tables[0].frame.dtypes)
    assert warm.rows[0]["value"] == 1 / 3 and np.isnan(warm.rows[0]["ci_low"])
    assert warm.rows == cold.rows and warm.tables[0].key == ("task_key", "profile", "n")


@pytest.mark.parametrize("change", ["params", "gt", "records"])
def test_a_changed_input_recomputes_and_keeps_the_old_file(cell, change):
    run_cached(Counting(), cell)
    if change == "params":
        stage, other = Counting(scale=2.0), cell
    else:
        stage = Counting()
        other = (CellInputs(cell.task, Store(path=cell.store.path, fp="gt2"), cell.methods,
                            cell.records) if change == "gt" else
                 CellInputs(cell.task, cell.store, cell.methods, ({"checksum": {"rows": "r2"}},)))
    run_cached(stage, other)
    assert len(RUNS) == 2
    assert len(list((cell.store.path / "stages").glob("counting-*.json"))) == 2
    run_cached(Counting(), cell)  # the first input's file is still there
    assert len(RUNS) == 2


@pytest.mark.parametrize("damage", ["edit", "truncate"])
def test_a_damaged_file_is_recomputed_not_trusted(cell, damage):
    run_cached(Counting(), cell)
    (path,) = (cell.store.path / "stages").glob("counting-*.json")
    text = path.read_text()
    path.write_text(text.replace("0.3333333333333333", "0.5") if damage == "edit"
                    else text[: len(text) // 2])
    out = run_cached(Counting(), cell)
    assert len(RUNS) == 2 and out.rows[0]["value"] == 1 / 3
    assert run_cached(Counting(), cell).rows[0]["value"] == 1 / 3 and len(RUNS) == 2
