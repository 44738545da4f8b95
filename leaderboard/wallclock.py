"""The wall-clock section of ``docs/performance.md``, generated from ``leaderboard/timings.csv``
(never copied by hand): per task of a profile, the minutes of W0, ground truth (and how many
models it trained in the run that timed it: 0 means the ground truth was cached then), methods
and stages; the total; and which rows were measured cold.

``python -m benchmarks leaderboard`` and ``replicate`` rewrite the block between ``BEGIN`` and
``END`` in ``docs/performance.md`` (``README`` below: the page that carries the block);
tests/unit/test_wallclock.py checks the committed page against the committed timings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.common.schema import TIMINGS
from benchmarks.common.tables import read_table

from .md import escape, replace_block

BEGIN = "<!-- wallclock:begin (generated from leaderboard/timings.csv; do not edit) -->"
END = "<!-- wallclock:end -->"
README = Path("docs") / "performance.md"  # of the working directory (the checkout)
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


def markdown(timings: pd.DataFrame, profile: str = "quick") -> str:
    """The section's Markdown: a table per task and the run's total."""
    table = per_task(timings, profile)
    if table.empty:
        return f"No cold `{profile}` timings recorded yet (`replicate` writes them)."
    warm = per_task(timings, profile, "warm").total.reindex(table.index)
    cold_rows = timings[(timings.profile == profile) & (timings.cache == "cold")]
    other = cold_rows[cold_rows.task.str.startswith("(")].wall_s.sum()
    known = table.models.dropna()
    cold, cached, unknown = int((known > 0).sum()), int((known == 0).sum()), int(
        table.models.isna().sum())
    lines = [f"| task ({profile}) | W0 | ground truth | models trained | methods | stages | "
             f"total | warm rerun | measured |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for task, r in table.iterrows():
        models = "—" if pd.isna(r.models) else f"{int(r.models):,}"
        rerun = "—" if pd.isna(warm[task]) else f"{warm[task]:.1f}"
        lines.append(f"| {escape(task)} | {r.W0:.1f} | {r['ground truth']:.1f} | {models} | "
                     f"{r.methods:.1f} | {r.stages:.1f} | {r.total:.1f} | {rerun} | "
                     f"{escape(r.measured) if isinstance(r.measured, str) else '—'} |")
    total = table.total.sum() + other / 60
    lines += ["", f"Minutes of wall-clock of the cold runs (ground truth trained in the run), "
              f"from `leaderboard/timings.csv`: **{total:.0f} min** over {len(table)} tasks "
              f"(rendering {other / 60:.1f} min); *warm rerun* is the same task's last run "
              f"with its ground truth cached, kept beside the cold one. Ground truth was "
              f"trained in the timed run (cold) for {cold} of them, cached then for {cached} "
              f"(their ground-truth minutes are a cache check, not its cost), and not recorded "
              f"for {unknown} (timed before the count of models trained was kept: —)."]
    return "\n".join(lines)


def update_readme(timings_csv: Path, readme: Path | None = None, profile: str = "quick"
                  ) -> bool:
    """Rewrite the generated block of ``readme`` (default ``README``); True if it changed. A
    README without the markers is left alone; a damaged ``timings_csv`` is refused
    (``benchmarks.common.tables``) before the README is touched."""
    readme = README if readme is None else readme
    if BEGIN not in readme.read_text() or END not in readme.read_text():
        return False
    body = markdown(read_table(timings_csv, TIMINGS), profile) if timings_csv.exists() else ""
    return replace_block(readme, BEGIN, END, body)
