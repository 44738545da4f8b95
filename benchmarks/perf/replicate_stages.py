"""How close each ground-truth stage of a ``replicate`` run came to the machine's limit:
bench.json entry ``replicate_stages``; run after ``replicate`` (``nox -s replicate`` does),
which only records its timings: ``python -m benchmarks.perf.replicate_stages [--out DIR]``
reads ``timings.csv``, measures the matmul peak now and, for the default folder, regenerates
the README's wall-clock table.

For every (task, profile) whose ground truth trained models in the run, the stage's row in
the run's timings carries the models trained and their floating-point work
(``executors.training_gflop``: forward + backward matmul FLOPs per example pass, counted on the
real model, times the example passes). Achieved GFLOP/s = that work / the stage's wall-clock;
the limit is the float32 matmul peak measured right after the run on one thread, times the
workers the stage ran on (each ground-truth worker is single-threaded; a row without its
worker count, from before it was recorded, is left as it is). The entry keeps earlier tasks' rows
and replaces a task's row when it is measured again.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from benchmarks.common.fsio import atomic_write_text, locked
from benchmarks.common.provenance import provenance

ENTRY = "replicate_stages"


def stage_rows(timings: list[dict], profile: str, peak_gflops: float) -> list[dict]:
    """One row per ground-truth stage that trained models on a known number of workers and
    has its work counted."""
    out = []
    for r in timings:
        if r["stage"] != "ground truth" or not _given(r, "models", "gflop", "workers"):
            continue
        workers = int(r["workers"])
        achieved = r["gflop"] / max(r["wall_s"], 1e-9)
        out.append({"task": r["task"], "profile": profile, "models": int(r["models"]),
                    "gflop": r["gflop"], "wall_s": r["wall_s"], "workers": workers,
                    "achieved_gflops": achieved, "peak_gflops": peak_gflops * workers,
                    "frac_of_peak": achieved / (peak_gflops * workers),
                    "measured": r.get("measured")})
    return out


def _given(row: dict, *names: str) -> bool:
    """Every one of ``names`` is a positive number in ``row`` (not absent, empty or NaN)."""
    return all(isinstance(row.get(n), (int, float)) and row[n] == row[n] and row[n] > 0
               for n in names)


def record(timings: list[dict], profile: str, path: Path) -> list[dict]:
    """Measure the matmul peak now and merge the timings' stage rows into ``path``'s entry."""
    if not any(r["stage"] == "ground truth" and _given(r, "gflop", "workers")
               for r in timings):
        return []
    from benchmarks.perf.engine import matmul_peak_gflops

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        peak = matmul_peak_gflops()
    finally:
        torch.set_num_threads(threads)
    rows = stage_rows(timings, profile, peak)
    with locked(path):
        data = json.loads(path.read_text()) if path.exists() else {}
        old = [r for r in data.get(ENTRY, {}).get("stages", [])
               if (r["task"], r["profile"]) not in {(n["task"], n["profile"]) for n in rows}]
        data[ENTRY] = {"stages": sorted(old + rows, key=lambda r: (r["profile"], r["task"])),
                       "matmul_peak_gflops_1thread": peak, "provenance": provenance()}
        atomic_write_text(path, json.dumps(data, indent=1, default=float))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Record the stages of ``<out>/timings.csv`` (default ``leaderboard/``) of ``--profile``
    in ``<out>/bench.json``; regenerate the README's wall-clock table for the default out.
    Other ``replicate`` options are accepted and ignored, so ``nox -s replicate`` passes its
    arguments on unchanged."""
    import argparse

    from benchmarks.common.schema import TIMINGS
    from benchmarks.common.tables import read_table
    from benchmarks.replicate import default_labels
    from leaderboard import build, wallclock

    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.replicate_stages")
    ap.add_argument("--out", type=Path, default=build.LEADERBOARD_DIR)
    ap.add_argument("--profile", default="quick")
    args, _ = ap.parse_known_args(argv)
    timings = args.out / "timings.csv"
    if not timings.exists():
        print(f"no {timings}: nothing to record")
        return
    df = read_table(timings, TIMINGS)
    rows = df[(df.profile == args.profile) & (df.cache == "cold")].to_dict("records")
    for r in record(rows, args.profile, args.out / "bench.json"):
        print(f"ground truth {r['task']}: {r['gflop']:.0f} GFLOP in {r['wall_s']:.0f} s = "
              f"{r['achieved_gflops']:.1f} GFLOP/s, {100 * r['frac_of_peak']:.0f}% of "
              f"{r['peak_gflops']:.0f} ({r['workers']} x the 1-thread matmul peak)")
    if args.out.resolve() == build.LEADERBOARD_DIR.resolve() and \
            wallclock.update_readme(timings, profile=args.profile,
                                    default=default_labels(args.profile)):
        print(f"wrote {wallclock.README} (wall-clock section)")


if __name__ == "__main__":
    main()
