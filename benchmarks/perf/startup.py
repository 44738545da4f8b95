"""Start-up cost of the CLI: ``--help``, ``list`` and others against two baselines -> ``startup``.

Each command runs in a subprocess, ``REPEATS`` rounds side by side in one process (round r runs
every command once, so a busy machine slows them alike); the entry of ``bench.json`` holds each
command's median seconds and its ratio to the interpreter alone (``python -c pass``) and to
``python -c "import torch"`` (the floor of a command that loads the plug-ins, which import torch).
``list`` reads the catalogue its first call after a code change saved
(``benchmarks/catalogue.py``), so it is timed both ways: ``list`` (saved) and ``list (first after a
code change)``, whose saved catalogue is removed before each round. ``run`` on an imported task
with a cached result is almost all start-up (imports, registry discovery, store checks), so it is
timed too, on the small sample file of the test data.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common.provenance import provenance
from benchmarks.perf.engine import BENCH_JSON, write_entry

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "gt" / "sample.npz"
REPEATS = 5
PYTHON = "python -c pass"
TORCH = "python -c 'import torch'"


def commands(python: str, env: dict) -> dict[str, list[str]]:
    """The commands timed: the two baselines, then the CLI's (an imported sample task is
    registered in ``env``'s cache and its ``run`` cached first)."""
    cli = [python, "-m", "benchmarks"]
    run_cmd = [*cli, "run", "--task", "startup-sample", "--method", "linear_surrogate"]
    subprocess.run([*cli, "import-gt", str(SAMPLE), "--name", "startup-sample"], env=env,
                   check=True, capture_output=True)
    subprocess.run(run_cmd, env=env, check=True, capture_output=True)  # fit once, cached
    return {PYTHON: [python, "-c", "pass"], TORCH: [python, "-c", "import torch"],
            "--help": [*cli, "--help"], "run --help": [*cli, "run", "--help"],
            "profiles tiny": [*cli, "profiles", "tiny"], "list": [*cli, "list"],
            "list (first after a code change)": [
                "sh", "-c", 'rm -rf "$TASKATTR_CACHE/catalogue" && exec "$0" "$@"', *cli, "list"],
            "describe kernel_sm": [*cli, "describe", "kernel_sm"],
            "run (imported task, cached)": run_cmd}


def run(cmds: dict[str, list[str]], env: dict | None = None, repeats: int = REPEATS,
        baselines: dict[str, str] | None = None) -> dict:
    """Median seconds per command over ``repeats`` interleaved rounds, and under each key of
    ``baselines`` (default ``ratio_to_python``, ``ratio_to_import_torch``) every command's
    ratio to that baseline (a name of ``cmds``)."""
    baselines = baselines or {"ratio_to_python": PYTHON, "ratio_to_import_torch": TORCH}
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(repeats):
        for name, argv in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t0)
    secs = {name: statistics.median(t) for name, t in times.items()}
    ratios = {key: {k: v / secs[base] for k, v in secs.items()}
              for key, base in baselines.items()}
    return {"seconds": secs, **ratios, "repeats": repeats, "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf startup", description=__doc__)
    ap.add_argument("--repeats", type=int, default=REPEATS, help="rounds (the median is kept)")
    ap.add_argument("--out", type=Path, default=BENCH_JSON, help="the bench.json to merge into")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TASKATTR_CACHE": cache, "OMP_NUM_THREADS": "1"}
        entry = run(commands(sys.executable, env), env, args.repeats)
    write_entry("startup", entry, args.out)
    print(json.dumps({k: round(v, 3) for k, v in entry["seconds"].items()}, indent=1))


if __name__ == "__main__":
    main()
