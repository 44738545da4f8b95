"""One cell's gradient methods with their gradients and GradEx features shared, against each
recomputing them: ``python -m benchmarks.perf shared_grads``.

Writes the ``shared_grads`` entry of ``leaderboard/bench.json``: the fit time of each method of
the quick modular-addition cell that differentiates its full-set model (the IF solvers,
Grad-Dot/Cos, TracIn, TRAK, GradEx, the GradEx oracle's labels and the selection stage's GradEx
refit), in the runner's order, once with ``benchmarks.oracles.memo`` sharing their per-example
gradients, curvature and GradEx features and once with everything recomputed
(``memo.disabled()``), the two arms alternating in one process; the scores of the two arms are
compared bit for bit. The parameter-weighted IF and the weight grid are left out: the dense
curvature they share with the exact IF was shared before the memo, so the baseline arm is the
code as it was.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.fill import open_store
from benchmarks.oracles import memo
from benchmarks.oracles.fit import fit_method, method_scores
from benchmarks.oracles.labels import GradExOracle
from benchmarks.perf.engine import BENCH_JSON, write_entry

# the cell's readers in the runner's order (paper.py's METHODS + TASK_EXTRAS, then the
# selection stage's refit of the non-additive GradEx); None = the GradEx oracle's labels
READERS: tuple[tuple[str, dict] | None, ...] = (
    ("influence", {}), ("influence", {"solver": "cg"}), ("influence", {"solver": "ekfac"}),
    ("grad_dot", {}), ("grad_cos", {}), ("trak", {}), ("tracin", {}),
    ("trak", {"aggregate": "mean"}), ("grad_dot", {"aggregate": "mean"}), ("gradex", {}), None,
    ("gradex", {}))


def _oracle(task, store, folder: Path) -> np.ndarray:
    """The GradEx labels computed cold (a fresh cache folder), as the first surrogate on
    ``labels=gradex`` does; the store's own label cache is not touched."""
    oracle = GradExOracle(task, store, task.primary)
    oracle.folder = folder
    return oracle.fit_set().values


def arm(task, store, shared: bool) -> tuple[dict[str, float], list[np.ndarray]]:
    """Seconds of each reader's fit and its scores, sharing on or off."""
    memo.release()
    times, scores = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for i, reader in enumerate(READERS):
            method = make_method(*reader) if reader else None
            name = f"{i:02d} " + (method.display if method else "GradEx labels (oracle)")
            t0 = time.perf_counter()
            if not shared:
                with memo.disabled():
                    out = _run(task, store, method, Path(tmp) / f"g{i}")
            else:
                out = _run(task, store, method, Path(tmp) / f"g{i}")
            times[name] = time.perf_counter() - t0
            scores.append(out)
    memo.release()
    return times, scores


def _run(task, store, method, folder: Path) -> np.ndarray:
    if method is None:
        return _oracle(task, store, folder)
    return method_scores(method, fit_method(task, store, method)[1])


def run(task_name: str = "modular-addition", profile: str = "quick", reps: int = 2) -> dict:
    """Alternating arms (baseline first), the best total of each and its per-reader times."""
    task = make_task(task_name, profile)
    store = open_store(task)
    best: dict[bool, tuple[float, dict]] = {}
    first: dict[bool, list[np.ndarray]] = {}
    for _ in range(reps):
        for shared in (False, True):
            times, scores = arm(task, store, shared)
            first.setdefault(shared, scores)
            total = sum(times.values())
            if shared not in best or total < best[shared][0]:
                best[shared] = (total, times)
    same = all(np.array_equal(a, b) for a, b in zip(first[False], first[True], strict=True))
    (t_sep, sep), (t_sh, sh) = best[False], best[True]
    return {"task": task.label, "task_key": task.spec.key, "profile": profile, "reps": reps,
            "separate_s": t_sep, "shared_s": t_sh, "speedup_shared_vs_separate": t_sep / t_sh,
            "bit_identical": same,
            "per_method": {k: {"separate_s": sep[k], "shared_s": sh[k]} for k in sep},
            "threads": torch.get_num_threads(), "provenance": provenance()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf shared_grads",
                                 description=__doc__)
    ap.add_argument("--task", default="modular-addition")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--reps", type=int, default=2, help="alternations of the two arms")
    ap.add_argument("--out", type=Path, default=BENCH_JSON)
    args = ap.parse_args(argv)
    entry = run(args.task, args.profile, args.reps)
    write_entry("shared_grads", entry, args.out)
    for name, row in entry["per_method"].items():
        print(f"{name:44s} separate {row['separate_s']:7.2f} s  shared {row['shared_s']:7.2f} s")
    print(f"total: separate {entry['separate_s']:.1f} s, shared {entry['shared_s']:.1f} s, "
          f"x{entry['speedup_shared_vs_separate']:.2f}; bit-identical: {entry['bit_identical']}")


if __name__ == "__main__":
    main()
