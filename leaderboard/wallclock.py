"""The wall-clock section of ``docs/performance.md`` and the budget line of ``README.md``,
generated from ``leaderboard/timings.csv`` (never copied by hand): per task of a profile, the
minutes of W0, ground truth (and how many models it trained in the run that timed it: 0 means
the ground truth was cached then), methods and stages; the total of the default job and of the
opt-in papers; and that total against ``BUDGET_MIN``.

``python -m benchmarks leaderboard`` and ``replicate`` rewrite the blocks between ``BEGIN`` and
``END`` in ``docs/performance.md`` (``README`` below: the page that carries the table) and
between ``BUDGET_BEGIN`` and ``BUDGET_END`` in ``FRONT``; the caller names the default job's
tasks (this package reads files, not the papers). tests/unit/test_wallclock.py checks the
committed pages against the committed timings.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandas as pd

from benchmarks.common.schema import TIMINGS
from benchmarks.common.tables import read_table

from .md import escape, replace_block

BEGIN = "<!-- wallclock:begin (generated from leaderboard/timings.csv; do not edit) -->"
END = "<!-- wallclock:end -->"
README = Path("docs") / "performance.md"  # of the working directory (the checkout)
BUDGET_BEGIN = "<!-- budget:begin (generated from leaderboard/timings.csv; do not edit) -->"
BUDGET_END = "<!-- budget:end -->"
FRONT = Path("README.md")
BUDGET_MIN = 45  # the target for the whole default quick job, cold, on the 2-core machine
PARTS = (("W0", ("W0 pretraining",)), ("ground truth", ("ground truth",)),
         ("methods", ("method ",)), ("stages", ("stage ",)))


def _part(stage: str) -> str | None:
    for name, prefixes in PARTS:
        if any(stage == p or (p.endswith(" ") and stage.startswith(p)) for p in prefixes):
            return name
    return None


def per_task(timings: pd.DataFrame, profile: str, cache: str = "cold") -> pd.DataFrame:
    """Minutes per (task, part) of ``profile``'s ``cache`` rows (cold: the run trained the
    ground truth), the models trained, and the day measured."""
    df = timings[(timings.profile == profile) & (timings.cache == cache)].copy()
    df["part"] = df.stage.map(_part)
    minutes = df.pivot_table(index="task", columns="part", values="wall_s", aggfunc="sum",
                             fill_value=0.0) / 60
    minutes = minutes.reindex(columns=[p for p, _ in PARTS], fill_value=0.0)
    gt = df[df.stage == "ground truth"].set_index("task")
    minutes["models"] = gt.get("models", pd.Series(dtype=float)).reindex(minutes.index)
    minutes["measured"] = df.groupby("task").measured.max() if "measured" in df else None
    minutes["total"] = minutes[[p for p, _ in PARTS]].sum(axis=1)
    return minutes.drop(index=[t for t in minutes.index if t.startswith("(")], errors="ignore")


def table_of(timings: pd.DataFrame, profile: str,
             default: Collection[str] | None = None) -> pd.DataFrame:
    """``per_task`` of the cold rows, plus each default-job task timed only warm: a cell whose
    ground truth a sibling trained (``design.shared_lengths``), so its models count 0."""
    table = per_task(timings, profile)
    if default is None:
        return table
    warm = per_task(timings, profile, "warm")
    shared = warm.loc[[t for t in warm.index if t in default and t not in table.index]]
    return pd.concat([table, shared.assign(models=0.0)]).sort_index()


def _rendering_min(timings: pd.DataFrame, profile: str) -> float:
    """Minutes of the cold rows of no task (rendering): part of every total."""
    cold = timings[(timings.profile == profile) & (timings.cache == "cold")]
    return cold[cold.task.str.startswith("(")].wall_s.sum() / 60


def markdown(timings: pd.DataFrame, profile: str = "quick",
             default: Collection[str] | None = None) -> str:
    """The section's Markdown: a table per task and the run's total (with ``default``, the
    default job's tasks: the others are marked opt-in and summed apart)."""
    table = table_of(timings, profile, default)
    if table.empty:
        return f"No cold `{profile}` timings recorded yet (`replicate` writes them)."
    warm = per_task(timings, profile, "warm").total.reindex(table.index)
    other = _rendering_min(timings, profile)
    known = table.models.dropna()
    cold, cached, unknown = int((known > 0).sum()), int((known == 0).sum()), int(
        table.models.isna().sum())
    lines = [f"| task ({profile}) | W0 | ground truth | models trained | methods | stages | "
             f"total | warm rerun | measured |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for task, r in table.iterrows():
        models = "—" if pd.isna(r.models) else f"{int(r.models):,}"
        rerun = "—" if pd.isna(warm[task]) else f"{warm[task]:.1f}"
        name = escape(task) + (" *(opt-in)*" if default is not None and task not in default
                               else "")
        lines.append(f"| {name} | {r.W0:.1f} | {r['ground truth']:.1f} | {models} | "
                     f"{r.methods:.1f} | {r.stages:.1f} | {r.total:.1f} | {rerun} | "
                     f"{escape(r.measured) if isinstance(r.measured, str) else '—'} |")
    lines += ["", _total_sentence(table, other, default) + f" *warm rerun* is the same "
              f"task's last run with its ground truth cached, kept beside the cold one. Ground "
              f"truth was trained in the timed run (cold) for {cold} of them, cached then for "
              f"{cached} (their ground-truth minutes are a cache check, not its cost), and not "
              f"recorded for {unknown} (timed before the count of models trained was kept: —)."
              + _shared_sentence(len(table) - len(per_task(timings, profile)))]
    return "\n".join(lines)


def _shared_sentence(n: int) -> str:
    if not n:
        return ""
    return (f" {n} of the default job's cells have no cold row: a sibling of the same recipe "
            f"trains their ground truth (`design.shared_lengths`). They are counted from their "
            f"last run, whose methods and stages, after a fully warm rerun, were cache reads; "
            f"the minutes their methods and stages take when computed are not in the total.")


def _total_sentence(table: pd.DataFrame, other: float,
                    default: Collection[str] | None) -> str:
    head = "Minutes of wall-clock of the cold runs (ground truth trained in the run), from " \
           "`leaderboard/timings.csv`:"
    if default is None:
        return (f"{head} **{table.total.sum() + other:.0f} min** over {len(table)} tasks "
                f"(rendering {other:.1f} min);")
    mine = table.index.isin(list(default))
    return (f"{head} **{table.total[mine].sum() + other:.0f} min** for the default job's "
            f"{int(mine.sum())} tasks (rendering {other:.1f} min included), and "
            f"{table.total[~mine].sum():.0f} min for {int((~mine).sum())} opt-in tasks;")


def budget_line(timings: pd.DataFrame, profile: str, default: Collection[str]) -> str:
    """README's sentence: the default job's minutes against ``BUDGET_MIN``, its floor (the
    ground truth, and the task with the most of it) and its three largest tasks."""
    table = table_of(timings, profile, default)
    table = table[table.index.isin(list(default))]
    if table.empty:
        return f"No cold `{profile}` timings recorded yet (`replicate` writes them)."
    total = table.total.sum() + _rendering_min(timings, profile)
    top = table.total.sort_values(ascending=False).head(3)
    gt = table["ground truth"]
    verdict = ("met" if total <= BUDGET_MIN else
               f"missed by {total - BUDGET_MIN:.0f} min ({total / BUDGET_MIN:.1f}×)")
    return (f"**Budget** ({BUDGET_MIN} min for the whole default `{profile}` job, cold, on 2 "
            f"cores): {verdict}. Its {len(table)} cells sum to {total:.0f} min in per-cell "
            f"runs. The floor is their ground truth, {gt.sum():.0f} min of real training, "
            f"rollouts and inference that only a smaller design would cut (the most: "
            f"{escape(str(gt.idxmax()))}, {gt.max():.0f} min). The largest cells are "
            + ", ".join(f"{escape(t)} ({m:.0f} min)" for t, m in top.items())
            + f"; where the time goes: [{README.as_posix()}]({README.as_posix()}).")


def update_readme(timings_csv: Path, readme: Path | None = None, profile: str = "quick",
                  default: Collection[str] | None = None, front: Path | None = None) -> bool:
    """Rewrite the generated block of ``readme`` (default ``README``) and, given the default
    job's tasks, the budget line of ``front`` (default ``FRONT``); True if either changed. A
    page without the markers is left alone; a damaged ``timings_csv`` is refused
    (``benchmarks.common.tables``) before anything is touched."""
    timings = read_table(timings_csv, TIMINGS) if timings_csv.exists() else None
    body = "" if timings is None else markdown(timings, profile, default)
    changed = replace_block(README if readme is None else readme, BEGIN, END, body)
    if default is not None:
        line = "" if timings is None else budget_line(timings, profile, default)
        changed = replace_block(FRONT if front is None else front, BUDGET_BEGIN, BUDGET_END,
                                line) or changed
    return changed
