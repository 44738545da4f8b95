"""The label-cost stage on a tiny fine-tuning cell: LDS against the CPU-seconds of labels,
retrained vs GradEx, measured in the run, without touching the cell's own method folders."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.api.method import make_method
from benchmarks.api.stage import CellInputs, run_cached
from benchmarks.common.cache import cell_dir
from benchmarks.runner import run_cell
from benchmarks.stages.label_cost import COLUMNS, CSV, SUMMARY_CSV, LabelCost

KERNEL = ("kernel_sm", {})


@pytest.fixture(scope="module")
def tiny_ft(tmp_path_factory):
    """(task, store, KernelSM's record) of tiny fine-tuned modular addition, ground truth
    trained and KernelSM run as the cell runs it, in a cache of the module's own."""
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.fill import open_store, run_ground_truth

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("tiny-ft")))
        task = make_task("modular-addition-ft", "tiny")
        store = open_store(task)
        run_ground_truth(task, store, progress=False)
        yield task, store, run_cell(task, store, make_method(*KERNEL))


@pytest.fixture(scope="module")
def output(tiny_ft):
    task, store, record = tiny_ft
    folder = cell_dir(task.spec.key, make_method(*KERNEL).key)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    out = LabelCost().run(CellInputs(task, store, (KERNEL,), (record,)))
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    return out, before == after


def test_the_table_has_every_point_with_finite_numbers_from_the_run(tiny_ft, output):
    task, store, _ = tiny_ft
    out, _ = output
    tables = {t.name: t for t in out.tables}
    frame = tables[CSV].frame
    assert tuple(frame.columns) == COLUMNS and tables[CSV].group == ("task_key", "profile")
    assert set(frame.task_key) == {task.spec.key} and set(frame.profile) == {"tiny"}
    assert frame.method_key.is_unique
    for col in ("lds", "lds_low", "lds_high", "ne", "fit_s", "label_cpu_s"):
        assert np.isfinite(frame[col].to_numpy(float)).all(), col
    labelled = frame[frame.labels != "none"]
    assert (labelled.label_cpu_s > 0).all() and (labelled.n_labels > 0).all()
    fits = len(store.rows.index("fit"))  # tiny: 12, so retrained counts 4, 8 and all 12
    retrain = frame[(frame.method == "kernel_sm") & (frame.labels == "retrain")]
    assert sorted(retrain.n_labels) == [4, 8, fits]
    assert set(frame[frame.labels == "none"].method) == {"influence", "trak"}


def test_the_full_label_kernel_point_is_the_cells_own_kernel_row(tiny_ft, output):
    """Same fit, same seed key, same truth: the stage's LDS and NE are the cell's rows."""
    _, _, record = tiny_ft
    frame = {t.name: t for t in output[0].tables}[CSV].frame
    full = frame[(frame.method_key == make_method(*KERNEL).key)].iloc[0]
    rows = {(r["metric"], r["variant"]): r for r in record["rows"]}
    assert full.lds == rows[("lds", "spearman")]["value"]
    assert full.lds_low == rows[("lds", "spearman")]["ci_low"]
    assert full["ne"] == rows[("residual", "ne")]["value"]  # .ne is a Series method
    assert full.n_labels == rows[("lds", "spearman")]["n_labels"]


def test_the_cells_own_method_folder_is_not_rewritten(output):
    assert output[1]


def test_the_summary_compares_costs_at_equal_lds(tiny_ft, output):
    task, _, _ = tiny_ft
    summary = {t.name: t for t in output[0].tables}[SUMMARY_CSV].frame
    assert len(summary) == 1 and summary.task_key.iloc[0] == task.spec.key
    row = summary.iloc[0]
    assert row.retrain_cpu_s_per_label > 0 and row.gradex_cpu_s_per_label > 0
    assert 0 < row.gradex_m <= 64 and row.seeds_per_label == 2  # tiny: few distinct subsets
    assert row.retrain_cost_is in ("=", "at most", "never reached")
    assert math.isnan(row.ratio_retrain_over_gradex) == (row.retrain_cost_is == "never reached")


def test_a_warm_rerun_reads_the_cached_output(tiny_ft, monkeypatch):
    task, store, record = tiny_ft
    cell = CellInputs(task, store, (KERNEL,), (record,))
    stage = LabelCost(retrain_m=(4, 0), gradex_m=(0,), points=())
    cold = run_cached(stage, cell)
    monkeypatch.setattr(LabelCost, "run", lambda self, c: pytest.fail("not cached"))
    warm = run_cached(stage, cell)
    assert warm.tables[0].frame.equals(cold.tables[0].frame)
    assert len(cold.tables[0].frame) == 2 * 3  # two surrogates x (4, all retrained, all GradEx)

