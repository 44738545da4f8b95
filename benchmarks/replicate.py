"""``replicate``: ground truth -> methods -> metrics -> results.csv -> leaderboard and figures,
ending with the paper's claims as an ours / paper / tolerance / holds table.

A second run with a warm cache trains nothing and only re-renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmarks import task_groups
from benchmarks.evaluation import write_definitions
from benchmarks.groundtruth.diagnostics import summarise_ground_truth
from benchmarks.groundtruth.executors import fill_ground_truth
from benchmarks.groundtruth.fill import open_store
from benchmarks.method import make_method
from benchmarks.papers import param_weighting
from benchmarks.papers.claims import Noise
from benchmarks.papers.kernelsm import paper as kernelsm
from benchmarks.registry import TASKS
from benchmarks.runner import cell_dir, run_cell
from benchmarks.stages import agreement, weight_sweep
from benchmarks.stages.ablation import trace_rows
from benchmarks.stages.selection_run import run_selection
from benchmarks.task import Task, execution_overrides, make_task
from leaderboard import build
from leaderboard import claims as lb_claims
from leaderboard.render import write_all


@dataclass
class CellRun:
    """What one task cell produced: method records, predicted-vs-true rows, ground-truth
    diagnostics and (C1 tasks) the side-by-side score table."""

    records: list[dict]
    preds: list[pd.DataFrame]
    diag: dict
    scores: pd.DataFrame | None = None
    weights: pd.DataFrame | None = None
    sweep: pd.DataFrame | None = None


def run_task_cell(task: Task, workers: int, batch: int, engine: str,
                  methods=None) -> CellRun:
    """Ground truth plus every method of the paper on one task."""
    fill_ground_truth(task.spec.name, task.spec.profile, task.overrides, workers=workers)
    store = open_store(task)
    diag = summarise_ground_truth(task, store)
    print("ground truth: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in diag.items()))
    records, preds = [], []
    pred_keys = {make_method(n, p).key for n, p in kernelsm.PREDICTION_METHODS}
    eval_F = store.mean(task.primary, "eval")
    methods = methods or paper_methods(task)
    for name, params in methods:
        method = make_method(name, params)
        record = run_cell(task, store, method)
        records.append(record)
        if method.key in pred_keys and record["rows"]:
            meta = {"method_label": method.display, "method_key": method.key,
                    "method": name, "task_key": task.spec.key, "task": task.label}
            preds.append(build.prediction_rows(cell_dir(task, method), meta, eval_F))
    run = CellRun(records, preds, diag, weights=param_weighting.weight_rows(
        records, task.label, task.spec.key, task.spec.profile))
    if task.flipped is None:  # the weight-grid diagnostic, where learned weights exist
        run.sweep = weight_sweep.sweep_rows(task, store, methods)
    if kernelsm.has_c1(task.spec.name, task.overrides):
        add_c1(run, task)
    if kernelsm.is_ablation(task.overrides):
        probes = kernelsm.ABLATION[task.spec.profile].probes
        run.records.append({"rows": trace_rows(task, store, probes)})
    if kernelsm.has_selection(task.spec.name, task.overrides):
        methods = kernelsm.ICL_METHODS if task.spec.name in kernelsm.ICL else \
            kernelsm.SELECTION_METHODS
        rows = run_selection(task, store, methods, kernelsm.selection_design(task.spec.name))
        run.records.append({"rows": rows})
    return run


def paper_methods(task: Task) -> tuple[tuple[str, dict], ...]:
    """The paper's recipe for a task: by family, or by an imported task's recorded kind."""
    return kernelsm.methods_for(task.spec.name, task.overrides, getattr(task, "kind", None))


def add_c1(run: CellRun, task: Task) -> None:
    """The β̂-vs-IF agreement row and the C1 score table (benchmarks/stages/agreement.py)."""
    linear_key = make_method(*kernelsm.C1_ROLES["linear"]).key
    template = next(r for rec in run.records for r in rec["rows"]
                    if r["method_key"] == linear_key)
    run.scores = agreement.score_table(task, kernelsm.C1_ROLES)
    row = agreement.if_agreement_row(run.scores, kernelsm.C1_ROLES["linear"], template)
    run.records.append({"rows": [row]})


def replicate(profile: str, tasks: list[str] | None, workers: int = 1, batch: int = 32,
              engine: str = "auto", out_dir: Path = build.LEADERBOARD_DIR,
              figures: bool = True) -> pd.DataFrame:
    """Run the paper's cells at ``profile`` (optionally only ``tasks``; a task group stands for
    its re-splits); returns the claims."""
    tasks = task_groups.expand(tasks) if tasks else tasks
    cells = [(t, o) for t, o in kernelsm.cells(profile) if not tasks or t in tasks]
    for t in tasks or []:
        if t not in {c[0] for c in cells}:
            cells.append((t, {}))
    runs = []
    for name, overrides in cells:
        task = make_task(name, profile,
                         overrides | execution_overrides(batch, engine, TASKS.get(name)))
        print(f"== {task.label} ({task.spec.key}): K={task.K}, targets={task.n_targets}")
        runs.append(run_task_cell(task, workers, batch, engine))
    records = [rec for run in runs for rec in run.records]
    results_csv, pred_csv = build.write(records, [p for run in runs for p in run.preds], out_dir)
    agreement.write_scores([run.scores for run in runs if run.scores is not None],
                           out_dir / "scores.csv")
    write_param_weights(runs, out_dir)
    diags = [run.diag for run in runs]
    build.upsert(out_dir / "groundtruth.csv", pd.DataFrame(diags), ["task_key", "profile"])
    table = write_claims(results_csv, profile)
    write_definitions(out_dir / "metrics.csv")
    write_all(results_csv, out_dir)
    if figures:
        from figures import render_all

        fig_dir = None if out_dir == build.LEADERBOARD_DIR else out_dir / "figures"
        render_all(results_csv, pred_csv, fig_dir, out_dir / "scores.csv")
    print_claims(table)
    return table


def write_claims(results_csv: Path, profile: str) -> pd.DataFrame:
    """The claims of ``profile`` from ``results.csv`` alone, judged against the noise measured
    in ``bench.json``, saved as the ``claims.csv`` beside it (the leaderboard pages end with
    them)."""
    noise = Noise.measured(build.BENCH_JSON)
    table = pd.DataFrame([c.as_dict() for c in kernelsm.claims(pd.read_csv(results_csv),
                                                                profile, noise)])
    path = Path(results_csv).with_name("claims.csv")
    if not table.empty or path.exists():  # an empty table clears the profile's old claims
        lb_claims.write(table, profile, path)
    return table


def write_param_weights(runs: list[CellRun], out_dir: Path) -> None:
    """Upsert the learned weights and the weight-grid diagnostic; print its summary."""
    for attr, name, key in (("weights", "param_weights.csv", ["method_key", "group"]),
                            ("sweep", "param_weight_sweep.csv", ["method_key", "w"])):
        frames = [getattr(r, attr) for r in runs if getattr(r, attr) is not None
                  and not getattr(r, attr).empty]
        if frames:
            build.upsert(out_dir / name, pd.concat(frames, ignore_index=True),
                         ["task_key", "profile"] + key, ["task_key", "profile"])
    sweep = out_dir / "param_weight_sweep.csv"
    if sweep.exists():
        table = weight_sweep.summary(pd.read_csv(sweep), pd.read_csv(out_dir / "results.csv"))
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print("parameter weighting: LDS unweighted / learned / oracle grid best\n"
                  + table.to_string(index=False, float_format="%.3f"))


def print_claims(table: pd.DataFrame) -> None:
    if table.empty:
        print("no claims to check")
        return
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table.to_string(index=False))
