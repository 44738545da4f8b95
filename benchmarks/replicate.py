"""``replicate``: for each registered paper and each of its cells, ground truth -> methods ->
stages -> results.csv and the stages' tables -> leaderboard and figures, ending with the
papers' claims (ours / paper / tolerance / margin / noise / outcome). Names no paper: what runs
comes from the ``Paper`` plug-ins (``benchmarks/papers/``).

A second run with a warm cache trains nothing and only re-renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmarks import task_groups
from benchmarks.api.claims import Noise
from benchmarks.api.evaluation import write_definitions
from benchmarks.api.method import make_method
from benchmarks.api.paper import Cell, Paper, merge
from benchmarks.api.registry import PAPERS, TASKS
from benchmarks.api.stage import CellInputs, Table, run_cached
from benchmarks.api.task import Task, execution_overrides, make_task
from benchmarks.common import timing
from benchmarks.common.schema import RESULTS, TIMINGS
from benchmarks.common.tables import read_table
from benchmarks.common.timing import timed
from benchmarks.groundtruth.diagnostics import summarise_ground_truth
from benchmarks.groundtruth.executors import Executor
from benchmarks.groundtruth.fill import open_store
from benchmarks.perf import replicate_stages
from benchmarks.runner import cell_dir, run_cell
from benchmarks.training.pretrained import pretrained_params
from leaderboard import build
from leaderboard import claims as lb_claims
from leaderboard.render import write_all


@dataclass
class CellRun:
    """What one cell produced: method records (and stage rows), predicted-vs-true rows,
    ground-truth diagnostics and the stages' tables."""

    records: list[dict]
    preds: list[pd.DataFrame]
    diag: dict
    tables: list[Table] = field(default_factory=list)


def run_paper_cell(task: Task, cell: Cell, executor: Executor) -> CellRun:
    """Ground truth, then the cell's methods, then its stages, on one task."""
    if task.spec.train.init == "pretrained":
        with timed(task.label, "W0 pretraining"):
            pretrained_params(task)
    before = open_store(task)
    pending = before.rows.masks[[j for j, _ in before.pending()]]  # one row per model to train
    with timed(task.label, "ground truth") as row:
        row["models"] = executor.fill(task)
        if row["models"]:
            row["gflop"] = replicate_stages.ground_truth_gflop(task, pending)
            row["workers"] = executor.workers
    store = open_store(task)
    diag = summarise_ground_truth(task, store)
    print("ground truth: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in diag.items()))
    records, preds = [], []
    pred_keys = {make_method(n, p).key for n, p in cell.predictions}
    eval_F = store.mean(task.primary, "eval")
    for name, params in cell.methods:
        method = make_method(name, params)
        with timed(task.label, f"method {method.display}", f"method {name}"):
            record = run_cell(task, store, method)
        records.append(record)
        if method.key in pred_keys and record["rows"]:
            meta = {"method_label": method.display, "method_key": method.key,
                    "method": name, "task_key": task.spec.key, "task": task.label}
            preds.append(build.prediction_rows(cell_dir(task, method), meta, eval_F))
    run = CellRun(records, preds, diag)
    local = executor.workers if executor.kind == "local" else 1
    inputs = CellInputs(task, store, cell.methods, tuple(records), local)
    for stage in cell.stages:
        with timed(task.label, f"stage {stage.registry_name}"):
            out = run_cached(stage, inputs)
        if out.rows:
            run.records.append({"rows": out.rows})
        run.tables += out.tables
    return run


def selected_papers(names: list[str] | None) -> list[tuple[str, Paper]]:
    """The registered papers ``names`` (default: every one), as instances."""
    return [(n, PAPERS.get(n)()) for n in (names or PAPERS.names())]


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


LOCAL = Executor()


def replicate(profile: str, tasks: list[str] | None, executor: Executor = LOCAL,
              batch: int = 32, engine: str = "auto", out_dir: Path = build.LEADERBOARD_DIR,
              figures: bool = True, papers: list[str] | None = None) -> pd.DataFrame:
    """Run the registered papers' cells at ``profile`` (optionally only ``tasks``), write every
    table and page; returns the claims."""
    chosen = selected_papers(papers)
    runs, stages, timings = [], {}, []
    for name, listed in plan(profile, tasks, chosen):
        overrides = listed.overrides if listed else {}
        task = make_task(name, profile,
                         overrides | execution_overrides(batch, engine, TASKS.get(name)))
        cell = listed or merge([paper.cell_for(task) for _, paper in chosen])[0]
        print(f"== {task.label} ({task.spec.key}): K={task.K}, targets={task.n_targets}")
        runs.append(run_paper_cell(task, cell, executor))
        timings = write_timings(out_dir / "timings.csv", profile, timings)  # kept if one dies
        stages.update({type(s): s for s in cell.stages})
    records = [rec for run in runs for rec in run.records]
    results_csv, pred_csv = build.write(records, [p for run in runs for p in run.preds], out_dir)
    write_tables([t for run in runs for t in run.tables], out_dir)
    build.upsert(out_dir / "groundtruth.csv", pd.DataFrame([run.diag for run in runs]),
                 ["task_key", "profile"])
    for stage in stages.values():
        text = stage.report(out_dir)
        if text:
            print(text)
    table = write_claims(results_csv, profile, [n for n, _ in chosen])
    write_definitions(out_dir / "metrics.csv")
    with timed("(all)", "rendering"):
        if figures:  # first: the web page embeds them
            from figures import render_all

            fig_dir = None if out_dir == build.LEADERBOARD_DIR else out_dir / "figures"
            render_all(results_csv, pred_csv, fig_dir, out_dir / "scores.csv")
        write_all(results_csv, out_dir)
    print_claims(table)
    rows = write_timings(out_dir / "timings.csv", profile, timings)
    if rows:
        print(timing.summary(rows))
    return table


def write_timings(path: Path, profile: str, earlier: list[dict]) -> list[dict]:
    """Upsert this run's (task, stage) timings of ``profile``: ``earlier`` and those recorded
    since; returns them all."""
    rows = earlier + timing.drain()
    if rows:
        df = pd.DataFrame(rows).assign(profile=profile)
        build.upsert(path, df.drop_duplicates(["task", "stage"], keep="last"),
                     list(TIMINGS.key), ["task", "profile"])  # a task's rows whole
    return rows


def write_tables(tables: list[Table], out_dir: Path) -> None:
    """Upsert the stages' tables, one file at a time, all cells' rows together."""
    by_file: dict[tuple, list[pd.DataFrame]] = {}
    for t in tables:
        by_file.setdefault((t.name, t.key, t.group), []).append(t.frame)
    for (name, key, group), frames in by_file.items():
        build.upsert(out_dir / name, pd.concat(frames, ignore_index=True), list(key),
                     list(group))


def write_claims(results_csv: Path, profile: str, papers: list[str] | None = None
                 ) -> pd.DataFrame:
    """The claims of ``profile`` from ``results.csv`` alone, for each paper (default: every
    registered one), judged against the noise measured in ``bench.json``, saved as the
    ``claims.csv`` beside it (the leaderboard pages end with them)."""
    noise = Noise.measured(build.BENCH_JSON)
    results = read_table(results_csv, RESULTS)
    table = pd.DataFrame([c.as_dict() for _, paper in selected_papers(papers)
                          for c in paper.claims(results, profile, noise)])
    path = Path(results_csv).with_name("claims.csv")
    if not table.empty or path.exists():  # an empty table clears the profile's old claims
        lb_claims.write(table, profile, path)
    return table


def print_claims(table: pd.DataFrame) -> None:
    if table.empty:
        print("no claims to check")
        return
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table.to_string(index=False))
