"""Task groups: an import in the authors' ICL layout becomes ``NAME-split0..`` plus group ``NAME``.

The paper reports ICL numbers as the mean over five random fit/eval re-splits, so a group's
result is the mean (and spread) over its member tasks. ``members(NAME)`` lists the imported
re-splits of a group in split order; ``run_group`` runs one method on each and ``group_table``
formats the mean ± sd per metric row (``benchmarks.common.groups.aggregate``, the same numbers the
leaderboard's group sections show). ``expand`` resolves group names in a task list.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.api.evaluation import definition_lines
from benchmarks.api.method import Method
from benchmarks.api.task import make_task
from benchmarks.common.groups import aggregate
from benchmarks.groundtruth.fill import open_store
from benchmarks.groundtruth.transfer import imported_dir, load_entry
from benchmarks.runner import run_cell


def members(name: str) -> list[str]:
    """The imported tasks of group ``name`` ordered by split index (empty: not a group)."""
    folder = imported_dir()
    if not folder.exists():
        return []
    entries = [load_entry(p.stem) for p in folder.glob(f"{name}-split*.json")]
    ours = [e for e in entries if e and e.get("group") == name]
    return [e["name"] for e in sorted(ours, key=lambda e: e["split_index"])]


def is_group(name: str) -> bool:
    return bool(members(name))


def expand(names: list[str]) -> list[str]:
    """``names`` with every group replaced by its members (order kept, no repeats)."""
    out: list[str] = []
    for name in names:
        out += [n for n in (members(name) or [name]) if n not in out]
    return out


def run_group(name: str, method: Method, profile: str = "quick") -> list[dict]:
    """Run ``method`` on every member of group ``name``; returns the member records."""
    records = []
    for member in members(name):
        task = make_task(member, profile)
        records.append(run_cell(task, open_store(task), method))
    return records


def group_table(records: list[dict]) -> str:
    """Mean ± sd over splits per (metric, variant, split), then the metric definitions.

    ``records``: member records of ``run_group`` (rows of the results schema)."""
    rows = [r for rec in records for r in rec.get("rows", [])]
    if not rows:
        reasons = sorted({rec["skipped"] for rec in records if rec.get("skipped")})
        return "skipped: " + "; ".join(reasons or ["no rows"])
    agg = aggregate(pd.DataFrame(rows))
    cols = ["metric", "variant", "split", "value", "std", "min", "max", "n_splits"]
    table = agg[cols].rename(columns={"value": "mean"})
    lines = [f"{agg['task'].iloc[0]} x {rows[0]['method_key']}",
             table.to_string(index=False, float_format="%.4f")]
    return "\n".join(lines + definition_lines(rows))
