"""Re-splits of an imported ground truth: seeded, holding out as many rows as the file, the
file's LDS placed by a direct count, and ``run`` printing the line for imports only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.__main__ import main
from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.cache import cell_dir
from benchmarks.groundtruth.fill import open_store
from benchmarks.runner import run_cell
from benchmarks.stages import resplits
from benchmarks.tasks import imported
from benchmarks.tasks.imported import import_gt

DATA = Path(__file__).parents[1] / "data" / "gt"
OLS = make_method("linear_surrogate")


def test_percentile_is_a_direct_count():
    dist = np.array([0.1, 0.2, 0.2, 0.3, 0.5])
    for value in (0.0, 0.2, 0.25, 0.5, 0.9):
        below, ties = sum(d < value for d in dist), sum(d == value for d in dist)
        assert resplits.percentile(value, dist) == 100 * (below + ties / 2) / len(dist)
    assert [resplits.ordinal(p) for p in (1, 2, 3, 11, 12, 22, 97, 100)] == [
        "1st", "2nd", "3rd", "11th", "12th", "22nd", "97th", "100th"]


def test_a_resplit_holds_out_as_many_rows_and_is_seeded():
    fit, held = resplits.resplit(20, 8, 123)
    assert len(held) == 8 and len(fit) == 12
    assert sorted(np.concatenate([fit, held]).tolist()) == list(range(20))
    again = resplits.resplit(20, 8, 123)
    assert np.array_equal(fit, again[0]) and np.array_equal(held, again[1])
    assert resplits.RESPLITS == 100


def test_the_distribution_and_the_files_own_lds(cache):
    import_gt(DATA / "sample.npz", "byo")
    task = make_task("byo")
    store = open_store(task)
    record = run_cell(task, store, OLS)
    own = resplits.file_lds(record)
    pred = np.load(cell_dir(task.spec.key, OLS.key) / "predictions.npy")
    assert own == resplits.lds_spearman(pred, store.mean("loss", "eval"))  # the suite's value
    lds = resplits.resplit_lds(task, store, OLS, 30)
    assert lds.shape == (30,) and np.isfinite(lds).all() and len(set(lds.tolist())) > 1
    assert np.array_equal(lds, resplits.resplit_lds(task, store, OLS, 30))  # content-seeded
    split = resplits.ReSplits(own, lds)
    assert split.percentile == 100 * (np.sum(lds < own) + np.sum(lds == own) / 2) / 30
    assert f"percentile of 30 re-splits (median {np.median(lds):.3f}" in split.line()


def _easy_split(path: Path) -> None:
    """An additive F whose file holds out noise-free rows and fits on very noisy ones: random
    re-splits hold out noisy rows, so the file's own split is far easier than theirs."""
    rng = np.random.default_rng(0)
    masks = rng.random((100, 8)) < 0.5
    masks[masks.sum(1) == 0, 0] = True
    F = masks @ rng.normal(0, 1, (8, 2))  # (100, 2)
    noisy = F[20:] + rng.normal(0, 3.0, F[20:].shape)
    np.savez(path, masks_fit=masks[20:], targets_fit=noisy[:, None],
             masks_eval=masks[:20], targets_eval=F[:20, None])


def test_a_split_at_the_edge_is_flagged(cache, tmp_path):
    _easy_split(tmp_path / "easy.npz")
    import_gt(tmp_path / "easy.npz", "easy")
    task = make_task("easy")
    store = open_store(task)
    line = resplits.report(task, store, OLS, run_cell(task, store, OLS), 40)
    assert "at the edge of the distribution" in line and "percentile of 40 re-splits" in line


def test_run_prints_the_line_for_an_import_only(cache, capsys):
    assert not imported.is_imported("modular-addition")  # built-in: no re-splits
    import_gt(DATA / "sample.npz", "byo")
    assert main(["run", "--task", "byo", "--method", "linear_surrogate"]) == 0
    out = capsys.readouterr().out
    assert "file's split: LDS" in out and "percentile of 100 re-splits" in out
    assert main(["run", "--task", "byo", "--method", "kernel_sm", "--param", "n_mc=50"]) == 0
    assert "percentile of 100 re-splits" in capsys.readouterr().out


def test_a_method_that_reads_more_than_labels_gets_no_resplits():
    assert resplits.unsupported(make_method("influence"))
    assert resplits.unsupported(make_method("kernel_sm", {"labels": "gradex"}))
    assert resplits.unsupported(OLS) is None
