"""End to end: ``python -m benchmarks replicate --profile tiny`` from an empty cache."""

import json
import subprocess
import sys

import pandas as pd

REQUIRED_METRICS = {"lds", "loo_corr", "residual", "selection", "if_agreement",
                    "hessian_trace"}
CLAIMS = ("C1 scores", "C2 LDS KernelSM > linear", "C5 plain training", "C6 selection")


def test_replicate_tiny_end_to_end(tmp_path):
    """Ground truth, every paper method, metrics, leaderboard, figures and the claims table."""
    out = tmp_path / "out"
    env = {"TASKATTR_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "PATH": ""}
    cmd = [sys.executable, "-m", "benchmarks", "replicate", "--profile", "tiny",
           "--task", "modular-addition", "--task", "modular-addition-ft", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(claim in proc.stdout for claim in CLAIMS), proc.stdout[-3000:]
    df = pd.read_csv(out / "results.csv")
    assert set(df.task_family) == {"modular-addition", "modular-addition-ft"}
    assert not df.task.str.contains("overlap").any()  # the opt-in paper overlap-dial
    assert REQUIRED_METRICS <= set(df.metric)
    assert {"loo", "linear_surrogate", "kernel_sm"} <= set(df.method)
    lds = df[(df.metric == "lds") & (df.variant == "spearman")]  # the filtered one may be empty
    assert lds.value.between(-1, 1).all() and (lds.n_targets > 0).all()
    assert "## modular-addition" in (out / "LEADERBOARD.md").read_text()
    assert "modular-addition[sharpness=sam,steps=40]" in set(df.task)  # the C5 ablation
    assert (out / "scores.csv").exists()  # C1 unit scores for the scatter figure
    assert "param_weighted" in set(df.method)  # C8 rows, their weights and the weight grid
    assert (out / "param_weights.csv").exists() and (out / "param_weight_sweep.csv").exists()
    assert "C8 learned group weights raise LDS" in set(pd.read_csv(out / "claims.csv").claim)
    assert "## Paper claims" in (out / "LEADERBOARD.md").read_text()
    gt = pd.read_csv(out / "groundtruth.csv")
    assert len(gt) == 2 + 6 + 6 and gt.mean_acc.between(0, 1).all()
    assert (gt.chance_acc == 1 / 23).all() and (gt.subset_spread > 0).all()  # tiny p = 23
    ft_gt = gt[gt.task == "modular-addition-ft"].iloc[0]  # W0's quality and the budget
    assert 0 <= ft_gt.w0_acc <= 1 and ft_gt.ft_steps > 0 and ft_gt.pretrain_steps > 0
    assert gt[gt.task == "modular-addition"].w0_acc.isna().all()
    # the fine-tuning cell: W0 shared, every method's rows, its C1/C4/C6 checks
    ft = df[df.task_family == "modular-addition-ft"]
    assert {"lds", "loo_corr", "selection", "if_agreement", "relerr"} <= set(ft.metric)
    claims = pd.read_csv(out / "claims.csv")
    assert {"C1 scores ≈ LOO (pooled Pearson)", "C4 first-order F(s) error",
            "C6 selection: KernelSM lowers loss"} <= set(
        claims[claims.task.str.startswith("modular-addition-ft")].claim)
    assert len(list((tmp_path / "cache" / "w0").iterdir())) == 1
    times = pd.read_csv(out / "timings.csv")  # where the run's time went
    assert {"ground truth", "W0 pretraining", "rendering"} <= set(times.stage)
    assert (times.wall_s >= 0).all() and "timings (wall-clock" in proc.stdout
    every_gt = times[times.stage == "ground truth"]
    gt_rows = every_gt[every_gt.models > 0]  # cold: trained, counted
    assert (gt_rows.gflop > 0).all() and (gt_rows.cache == "cold").all()
    shared = every_gt[every_gt.models == 0]  # an ablation recipe's longer length: trained by
    assert len(shared) == 6 and (shared.cache == "warm").all()  # its first cell (prefix.py)
    assert shared.task.str.contains("steps=40").all()
    assert not (out / "bench.json").exists()  # replicate benchmarks nothing itself
    perf = [sys.executable, "-m", "benchmarks.perf.replicate_stages", "--out", str(out),
            "--profile", "tiny"]
    assert subprocess.run(perf, capture_output=True, text=True, env=env).returncode == 0
    stages = json.loads((out / "bench.json").read_text())["replicate_stages"]["stages"]
    assert {r["task"] for r in stages} == set(gt_rows.task)  # fraction of peak per GT stage
    assert all(0 < r["frac_of_peak"] and r["workers"] == 1 for r in stages)
    assert (out / "index.html").read_text().lower().startswith("<!doctype html>")
    assert any(p.suffix == ".png" and p.stat().st_size > 0 for p in (out / "figures").iterdir())
    # a second run with a warm cache trains nothing, re-fits nothing (the stages' outputs are
    # read back) and reproduces every table
    tables = {p.name: p.read_bytes() for p in out.glob("*.csv") if p.name != "timings.csv"}
    assert list((tmp_path / "cache").rglob("stages/weight_sweep-*.json"))
    proc2 = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert tables == {p.name: p.read_bytes() for p in out.glob("*.csv") if p.name in tables}
    assert proc2.returncode == 0, proc2.stderr[-3000:]
    assert "model/s" not in proc2.stderr
    df2 = pd.read_csv(out / "results.csv")
    assert df2.value.equals(df.value)
    both = pd.read_csv(out / "timings.csv")  # the warm rerun is kept beside the cold run
    gt_both = both[both.stage == "ground truth"]
    warm, cold = (gt_both[gt_both.cache == c] for c in ("warm", "cold"))
    assert len(warm) and (warm.models == 0).all()  # the cache, not its cost
    assert set(cold.task) == set(gt_rows.task) and (cold.models > 0).all()
