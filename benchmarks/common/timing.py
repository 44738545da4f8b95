"""Where a run's time goes: wall-clock and CPU-seconds per (task, stage) of ``replicate`` ->
``leaderboard/timings.csv`` and a summary printed at the end.

CPU-seconds count this process, its finished children and the CPU time that live workers
report for the work they did inside the block (``add_cpu``: a persistent pool's workers never
finish inside a stage, so the operating system would not count them), so a stage run on two
workers shows about twice its wall-clock. A cached stage (a record already computed by the
same code) shows the time it took to find that out. A block may add what it did to the row
it yields: the ground-truth stage its ``models`` trained (0: all cached) and their training
``gflop`` (``engine.train_flops``); every row carries the day it was ``measured``.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

COLUMNS = ("task", "stage", "kind", "wall_s", "cpu_s", "models", "gflop", "workers",
           "measured")
_LOG: list[dict] = []
_OPEN: list[dict] = []  # the extras of the blocks running now, outermost first
WORKER_CPU = "_worker_cpu_s"


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def timed(task: str, stage: str, kind: str | None = None) -> Iterator[dict]:
    """Record the wall-clock and CPU-seconds of the block as (task, stage); ``kind`` groups
    stages in the summary (default: the stage's name). The block may fill ``models``,
    ``gflop`` and ``workers`` in the dict it is given."""
    t0, c0 = time.perf_counter(), _cpu_s()
    extra: dict = {WORKER_CPU: 0.0}
    _OPEN.append(extra)
    try:
        yield extra
    finally:
        _OPEN.remove(extra)
        cpu = _cpu_s() - c0 + extra[WORKER_CPU]
        _LOG.append({"task": task, "stage": stage, "kind": kind or stage,
                     "wall_s": round(time.perf_counter() - t0, 3),
                     "cpu_s": round(cpu, 3), "models": extra.get("models"),
                     "gflop": extra.get("gflop"), "workers": extra.get("workers"),
                     "measured": date.today().isoformat()})


def add_cpu(seconds: float) -> None:
    """Count ``seconds`` of CPU time a live worker process spent for the blocks open now."""
    for extra in _OPEN:
        extra[WORKER_CPU] += seconds


def drain() -> list[dict]:
    """The rows recorded since the last call, oldest first."""
    rows = list(_LOG)
    _LOG.clear()
    return rows


def summary(rows: list[dict], top: int = 8) -> str:
    """Totals by kind of stage, then the ``top`` slowest (task, stage) rows."""
    if not rows:
        return "timings: nothing recorded"
    kinds: dict[str, list[float]] = {}
    for r in rows:
        acc = kinds.setdefault(r["kind"], [0.0, 0.0])
        acc[0] += r["wall_s"]
        acc[1] += r["cpu_s"]
    total = sum(r["wall_s"] for r in rows)
    lines = [f"timings (wall-clock {total / 60:.1f} min over {len(rows)} stages):",
             f"  {'stage':<28}{'wall s':>10}{'CPU s':>10}"]
    lines += [f"  {k:<28}{w:>10.1f}{c:>10.1f}"
              for k, (w, c) in sorted(kinds.items(), key=lambda kv: -kv[1][0])]
    lines.append("  slowest:")
    lines += [f"    {r['task']} · {r['stage']}: {r['wall_s']:.1f} s"
              for r in sorted(rows, key=lambda r: -r["wall_s"])[:top]]
    return "\n".join(lines)
