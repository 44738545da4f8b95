"""Imports run the recipe and claims of their data kind; an ICL import counts as one group."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmarks import task_groups
from benchmarks.api.method import make_method
from benchmarks.groundtruth.transfer import ImportOptions
from benchmarks.papers.kernelsm import paper as kernelsm
from benchmarks.papers.kernelsm.c23 import benchmark_of
from benchmarks.replicate import replicate
from benchmarks.tasks.imported import import_gt

DATA = Path(__file__).parents[1] / "data" / "gt"


def test_icl_import_replicates_as_icl_group(cache, tmp_path):
    """The ICL recipe on every re-split (no modular λ), one claims unit with ICL numbers."""
    names = import_gt(DATA / "coin_flip_train_ids_list.json", "cf", ImportOptions(splits=3))
    assert task_groups.members("cf") == names and task_groups.expand(["cf"]) == names
    claims = replicate("quick", ["cf"], out_dir=tmp_path, figures=False)
    df = pd.read_csv(tmp_path / "results.csv")
    assert set(df.task) == set(names)
    keys = {make_method(n, p).key for n, p in kernelsm.ICL_METHODS}
    assert set(df.method_key) == keys
    c2 = claims[claims.claim.str.startswith("C2")]
    assert len(c2) == 2 and set(c2.task) == {"cf (mean of 3 splits) vs repo linear",
                                             "cf (mean of 3 splits) vs ridge linear"}
    assert set(claims.paper) <= {"ICL ~0.88 vs 0.75", "1/4-1/3 (CIFAR-10, modular; no ICL)"}
    board = (tmp_path / "LEADERBOARD.md").read_text()
    assert "## cf · mean ± sd over 3 splits · quick" in board
    assert "`residual/repo`:" in board and "`lds/spearman_repo`:" in board


def test_generic_import_gets_no_paper_claims_and_modular_does(cache, tmp_path):
    import_gt(DATA / "sample.npz", "gen")
    import_gt(DATA / "modular_sample.json", "mod")
    claims = replicate("quick", ["gen", "mod"], out_dir=tmp_path, figures=False)
    assert not claims.task.str.startswith("gen").any()
    mod = claims[claims.task.str.startswith("mod")]
    assert set(mod.paper) == {"modular ~0.80 vs 0.58", "modular 1.5/4.6 = 0.33"}
    df = pd.read_csv(tmp_path / "results.csv")
    assert not df.method_key.str.contains("max_labels").any()
    assert len(set(df[df.task == "gen"].method_key)) == len(kernelsm.IMPORT_METHODS["generic"])


def test_benchmark_of_tasks():
    """Modular families and variants, ICL families, imports by kind; digits: none."""
    assert benchmark_of("modular-addition", '{"overlap": 0.5}') == "modular"
    assert benchmark_of("icl-sentiment", "{}") == "icl"
    assert benchmark_of("digits-mlp", "{}") is None
    assert benchmark_of("x-split0", json.dumps({"kind": "icl", "group": "x"})) == "icl"
    assert benchmark_of("y", json.dumps({"kind": "generic"})) is None


def test_group_run_output_is_mean_and_spread_over_splits(cache):
    """``run`` on a group: one line per metric row with the mean, sd and split count equal
    to those of the member records, then the variants' definitions."""
    import_gt(DATA / "coin_flip_train_ids_list.json", "g", ImportOptions(splits=3))
    records = task_groups.run_group("g", make_method("linear_surrogate", {"fit_type": "ridge"}))
    assert len(records) == 3
    text = task_groups.group_table(records)
    values = [next(r["value"] for r in rec["rows"] if r["variant"] == "ne") for rec in records]
    line = next(ln for ln in text.splitlines() if ln.split()[:2] == ["residual", "ne"])
    mean, std = (float(v) for v in line.split()[3:5])
    assert abs(mean - sum(values) / 3) < 1e-4 and abs(std - pd.Series(values).std()) < 1e-4
    assert line.split()[-1] == "3" and text.startswith("g · mean ± sd over 3 splits")
    assert "residual/repo: the KernelSM authors' normalised error" in text
    assert task_groups.group_table([{"skipped": "no model", "rows": []}]) == "skipped: no model"
