"""``replicate``: papers -> cells -> ground truth, methods and stages -> tables -> claims.

For each registered paper (or those of ``--paper``) and each of its cells: ground truth ->
methods -> stages (``runner.run_paper_cell``), then ``results.csv``, the stages' tables, the
leaderboard pages and figures, and the papers' claims (ours / paper / tolerance / margin /
noise / outcome). Names no paper: what runs comes from the ``Paper`` plug-ins
(``benchmarks/papers/``). It records its timings and nothing else about the machine (the
``replicate_stages`` perf entry reads them afterwards). A second run with a warm cache trains
nothing and only re-renders.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from benchmarks import task_groups
from benchmarks.api.claims import Noise
from benchmarks.api.evaluation import write_definitions
from benchmarks.api.paper import Cell, Paper, merge
from benchmarks.api.registry import PAPERS, TASKS
from benchmarks.api.task import execution_overrides, make_task, variant_label
from benchmarks.common import timing
from benchmarks.common.schema import RESULTS
from benchmarks.common.tables import read_table
from benchmarks.common.timing import timed
from benchmarks.groundtruth.diagnostics import with_at_chance
from benchmarks.groundtruth.executors import Executor
from benchmarks.runner import run_paper_cell
from leaderboard import build
from leaderboard import claims as lb_claims
from leaderboard import verdict as lb_verdict
from leaderboard.render import write_all


def selected_papers(names: list[str] | None) -> list[tuple[str, Paper]]:
    """The registered papers ``names`` (default: every one not ``opt_in``), as instances."""
    names = names or [n for n, cls in PAPERS.items() if not cls.opt_in]
    return [(n, PAPERS.get(n)()) for n in names]


def plan(profile: str, tasks: list[str] | None, papers: list[tuple[str, Paper]]
         ) -> list[tuple[str, Cell | None]]:
    """Every cell to run, in order: the papers' cells joined by (task, variant), so a shared
    ground truth trains once (only ``tasks`` if given; a task group stands for its
    re-splits), then each named task no paper lists (cell ``None``: the papers' ``cell_for``
    recipes, once the task is built)."""
    tasks = task_groups.expand(tasks) if tasks else tasks
    cells = merge([c for _, paper in papers for c in paper.cells(profile)
                   if not tasks or c.task in tasks])
    listed = {c.task for c in cells}
    return [(c.task, c) for c in cells] + [(t, None) for t in tasks or [] if t not in listed]


def default_labels(profile: str) -> set[str]:
    """Labels (``timings.csv``'s ``task``) of every cell the default ``replicate`` runs at
    ``profile``: the papers not ``opt_in``."""
    return {variant_label(name, cell.overrides) for name, cell in
            plan(profile, None, selected_papers(None)) if cell is not None}


LOCAL = Executor()


def replicate(profile: str, tasks: list[str] | None, executor: Executor = LOCAL,
              batch: int = 32, engine: str = "auto", out_dir: Path = build.LEADERBOARD_DIR,
              figures: bool = True, papers: list[str] | None = None) -> pd.DataFrame:
    """Run the registered papers' cells at ``profile`` (optionally only ``tasks``), write every
    table and page; returns the claims."""
    chosen = selected_papers(papers)
    runs, stages, timings = [], {}, []
    bar = tqdm(plan(profile, tasks, chosen), desc=f"replicate {profile}", unit="cell")
    for name, listed in bar:
        overrides = listed.overrides if listed else {}
        task = make_task(name, profile,
                         overrides | execution_overrides(batch, engine, TASKS.get(name)))
        cell = listed or merge([paper.cell_for(task) for _, paper in chosen])[0]
        bar.write(f"== {task.label} ({task.spec.key}): K={task.K}, targets={task.n_targets}")
        runs.append(run_paper_cell(task, cell, executor, lambda s, t=task.label:
                                   bar.set_postfix_str(f"{t} · {s}", refresh=True)))
        timings = build.write_timings(out_dir / "timings.csv", profile, timings)  # kept if
        stages.update({type(s): s for s in cell.stages})  # a later cell dies
    bar.close()
    results_csv, pred_csv = build.write([r for run in runs for r in run.records],
                                        [p for run in runs for p in run.preds], out_dir)
    build.write_tables([t for run in runs for t in run.tables], out_dir)
    build.upsert(out_dir / "groundtruth.csv", pd.DataFrame([run.diag for run in runs]),
                 ["task_key", "profile"])
    for text in filter(None, (stage.report(out_dir) for stage in stages.values())):
        print(text)
    table = write_claims(results_csv, profile, [n for n, _ in chosen])
    lb_claims.write_verdict(results_csv.with_name("claims.csv"), out_dir / "verdict.md")
    write_definitions(out_dir / "metrics.csv")
    with timed("(all)", "rendering"):
        if figures:  # first: the web page embeds them
            from figures import render_all

            fig_dir = None if out_dir == build.LEADERBOARD_DIR else out_dir / "figures"
            render_all(results_csv, pred_csv, fig_dir, out_dir / "scores.csv")
        write_all(results_csv, out_dir)
    print(f"claims ({results_csv.with_name('claims.csv')}):\n{lb_claims.show(table)}\n")
    rows = build.write_timings(out_dir / "timings.csv", profile, timings)
    print(ending(timing.summary(rows) if rows else "", lb_verdict.verdict(table), profile))
    return table


def ending(summary: str, verdict: list[str], profile: str, width: int = 100) -> str:
    """The last lines of a run: the timing summary, then the verdict, one sentence per claim,
    every line wrapped to ``width`` columns."""
    lines = [textwrap.fill(line, width, subsequent_indent=" " * (len(line) - len(line.lstrip())
                                                                  + 4), break_on_hyphens=False)
             for line in summary.splitlines()]
    if verdict:
        lines += ["", f"verdict ({profile} profile; leaderboard pages and verdict.md say more):"]
        lines += [textwrap.fill(s, width, initial_indent="  ", subsequent_indent="    ",
                                break_on_hyphens=False) for s in verdict]
    return "\n".join(lines).strip("\n")


def write_claims(results_csv: Path, profile: str, papers: list[str] | None = None
                 ) -> pd.DataFrame:
    """The claims of ``profile`` from ``results.csv`` alone, for each paper (default: every
    registered one), judged against the noise measured in ``bench.json``, saved as the
    ``claims.csv`` beside it (the leaderboard pages end with them)."""
    noise = Noise.measured(build.BENCH_JSON)
    results = with_at_chance(read_table(results_csv, RESULTS),
                             Path(results_csv).with_name("groundtruth.csv"))
    table = pd.DataFrame([c.as_dict() for _, paper in selected_papers(papers)
                          for c in paper.claims(results, profile, noise)])
    path = Path(results_csv).with_name("claims.csv")
    if not table.empty or path.exists():  # an empty table clears the profile's old claims
        lb_claims.write(table, profile, path)
    return table
