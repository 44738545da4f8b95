"""CLI: import a released file, evaluate a surrogate on it, export it; bad input exits 2."""

import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parents[1] / "data" / "gt"


def _run(cache: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TASKATTR_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_run_export_cli(tmp_path):
    cache = tmp_path / "cache"
    out = _run(cache, "import-gt", str(DATA / "modular_sample.json"), "--name", "ksm-release")
    assert out.returncode == 0, out.stderr
    assert "imported ksm-release: K=8, n_fit=12, n_eval=8" in out.stdout
    out = _run(cache, "list", "tasks")
    assert "ksm-release" in out.stdout
    out = _run(cache, "run", "--task", "ksm-release", "--method", "kernel_sm",
               "--param", "gamma=auto", "--param", "lam=0.01", "--param", "center=false")
    assert out.returncode == 0, out.stderr
    assert "lds" in out.stdout and "residual" in out.stdout
    out = _run(cache, "run", "--task", "ksm-release", "--method", "loo")  # refused, untrained
    assert out.returncode == 2 and "leave-one-out" in out.stderr and "Traceback" not in out.stderr
    out = _run(cache, "export-gt", "ksm-release", "--out", str(tmp_path / "exp"), "--jsonl")
    assert out.returncode == 0, out.stderr
    assert {p.name for p in (tmp_path / "exp").iterdir()} == {
        "groundtruth.npz", "manifest.json", "rows.jsonl"}


def test_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"masks": [[1, 0], [0, 1]], "targets": [[1.0], [')
    out = _run(tmp_path / "cache", "import-gt", str(bad), "--name", "bad")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad.json: invalid or truncated JSON")
    assert "Traceback" not in out.stderr
    out = _run(tmp_path / "cache", "run", "--task", "bad", "--method", "kernel_sm")
    assert out.returncode == 2 and "unknown task 'bad'" in out.stderr


def test_file_with_repeated_subsets_imports_and_runs(tmp_path):
    """Repeated subsets (normal for random draws) import by default, counted on stderr, and
    ``--dedupe`` names the fitting rows it drops while the held-out set stays whole."""
    import json

    data = json.loads((DATA / "sample.json").read_text())
    fit = [i for i, r in enumerate(data["split"]) if r == "fit"]
    ev = [i for i, r in enumerate(data["split"]) if r == "eval"]
    data["masks"][ev[2]] = data["masks"][fit[0]]
    data["masks"][fit[4]] = data["masks"][fit[0]]
    path = tmp_path / "rep.json"
    path.write_text(json.dumps(data))
    cache = tmp_path / "cache"
    out = _run(cache, "import-gt", str(path), "--name", "rep")
    assert out.returncode == 0, out.stderr
    assert "n_fit=12, n_eval=8" in out.stdout and "kept 2 repeated subset row(s)" in out.stderr
    assert "2 fitting rows also held out" in out.stderr
    out = _run(cache, "run", "--task", "rep", "--method", "linear_surrogate")
    assert out.returncode == 0 and "spearman_repo" in out.stdout, out.stderr
    out = _run(cache, "import-gt", str(path), "--name", "rep-dd", "--dedupe")
    assert out.returncode == 0, out.stderr
    assert "n_fit=10, n_eval=8" in out.stdout
    assert "dropped 2 fitting row(s) [0, 4]" in out.stderr
