"""End to end on real images: ``replicate --profile tiny`` on the Fashion-MNIST cells (Debian's
dataset-fashion-mnist; the project's nox session installs it)."""

import subprocess
import sys

import pandas as pd
import pytest

from benchmarks.tasks.images.sources import DEBIAN_DIR


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not "
                    "installed (apt-get install dataset-fashion-mnist)")
def test_replicate_tiny_on_fashion_mnist(tmp_path):
    """Both unit designs' from-scratch cell and one fine-tuning cell: every method family's
    rows, the image benchmark's C2/C3 rows, C1 and C4 (no C6: C(50, 25) subsets at quick)."""
    out = tmp_path / "out"
    env = {"TASKATTR_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "PATH": ""}
    cmd = [sys.executable, "-m", "benchmarks", "replicate", "--profile", "tiny", "--no-figures",
           "--task", "fmnist-class", "--task", "fmnist-random", "--task", "fmnist-class-ft",
           "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    df = pd.read_csv(out / "results.csv")
    assert set(df.task_family) == {"fmnist-class", "fmnist-random", "fmnist-class-ft"}
    for family, rows in df.groupby("task_family"):
        assert {"loo", "linear_surrogate", "kernel_sm", "influence", "trak", "tracin",
                "gradex", "param_weighted"} <= set(rows.method), family
    assert {"lds", "loo_corr", "residual", "relerr"} <= set(df.metric)
    claims = pd.read_csv(out / "claims.csv")
    on = claims[claims.task.str.startswith("fmnist-class-ft")]
    assert {"C1 scores ≈ LOO (pooled Pearson)", "C4 first-order F(s) error"} <= set(on.claim)
    c2 = claims[claims.claim.str.startswith("C2 LDS") & claims.task.str.startswith("fmnist")]
    assert len(c2) and c2.paper.str.contains("CIFAR-10").all()
    gt = pd.read_csv(out / "groundtruth.csv")
    assert len(gt) == 3 and (gt.chance_acc == 0.1).all() and gt.mean_acc.between(0, 1).all()
