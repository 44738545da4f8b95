"""``export-gt --format dattri|parquet`` on the command line, and ``import-gt`` reading the
folder back to bit-identical masks and targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.__main__ import main
from benchmarks.groundtruth import transfer as gt_io

DATA = Path(__file__).parents[1] / "data" / "gt"
FIELDS = ("masks_fit", "targets_fit", "masks_eval", "targets_eval")


@pytest.mark.parametrize("fmt", ["dattri", "parquet"])
def test_the_cli_exports_and_imports_back(cache, tmp_path, fmt):
    assert main(["import-gt", str(DATA / "sample.npz"), "--name", "first"]) == 0
    out = tmp_path / fmt
    assert main(["export-gt", "first", "--format", fmt, "--out", str(out)]) == 0
    assert main(["import-gt", str(out), "--name", "back"]) == 0
    a, b = (gt_io.load_split(gt_io.load_entry(n)) for n in ("first", "back"))
    for field in FIELDS:
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def test_jsonl_beside_another_format_is_refused_in_one_line(cache, tmp_path, capsys):
    assert main(["import-gt", str(DATA / "sample.npz"), "--name", "first"]) == 0
    code = main(["export-gt", "first", "--format", "dattri", "--jsonl", "--out",
                 str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "jsonl" in err
