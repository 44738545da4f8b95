"""Start-up cost of the CLI: wall-clock of ``python -m benchmarks ...`` against ``python -c pass``
(the interpreter alone), run side by side in one process -> ``bench.json`` entry ``startup``.

``run`` on an imported task with a cached result is almost all start-up (imports, registry
discovery, store checks), so it is timed too, on the small sample file of the test data.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common.provenance import REPO, provenance
from benchmarks.perf.engine import write_entry

SAMPLE = REPO / "tests" / "data" / "gt" / "sample.npz"
REPEATS = 5


def _wall(argv: list[str], env: dict) -> float:
    """Median wall-clock seconds of ``REPEATS`` runs of ``argv`` (output discarded)."""
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run() -> dict:
    """Seconds per command and the ratio to the bare interpreter."""
    py = [sys.executable]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TASKATTR_CACHE": cache, "OMP_NUM_THREADS": "1"}
        cli = [*py, "-m", "benchmarks"]
        subprocess.run([*cli, "import-gt", str(SAMPLE), "--name", "startup-sample"], env=env,
                       check=True, capture_output=True)
        run_cmd = [*cli, "run", "--task", "startup-sample", "--method", "linear_surrogate"]
        subprocess.run(run_cmd, env=env, check=True, capture_output=True)  # fit once, cached
        cmds = {"python -c pass": [*py, "-c", "pass"], "list": [*cli, "list"],
                "describe kernel_sm": [*cli, "describe", "kernel_sm"],
                "run (imported task, cached)": run_cmd}
        secs = {name: _wall(argv, env) for name, argv in cmds.items()}
    base = secs["python -c pass"]
    return {"seconds": secs, "ratio_to_python": {k: v / base for k, v in secs.items()},
            "repeats": REPEATS, "provenance": provenance()}


def main() -> None:
    entry = run()
    write_entry("startup", entry)
    print(json.dumps(entry["seconds"], indent=1))


if __name__ == "__main__":
    main()
