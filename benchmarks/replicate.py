"""``replicate``: ground truth -> methods -> metrics -> results.csv -> leaderboard and figures,
ending with the paper's claims as an ours / paper / tolerance / holds table.

A second run with a warm cache trains nothing and only re-renders.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from leaderboard import build
from leaderboard.render import write_all

from .diagnostics import summarise_ground_truth
from .executors import fill_ground_truth
from .groundtruth import open_store
from .method import make_method
from .papers import kernelsm
from .runner import cell_dir, run_cell
from .task import Task, make_task


def run_task_cell(task: Task, workers: int, batch: int, engine: str,
                  methods=kernelsm.METHODS) -> tuple[list[dict], list[pd.DataFrame], dict]:
    """Ground truth plus every method of the paper on one task.

    Returns the cell records, predicted-vs-true rows and the ground-truth diagnostics.
    """
    fill_ground_truth(task.spec.name, task.spec.profile, task.overrides, workers=workers,
                      batch=batch, engine=engine)
    store = open_store(task)
    diag = summarise_ground_truth(task, store)
    print("ground truth: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in diag.items()))
    records, preds = [], []
    pred_keys = {make_method(n, p).key for n, p in kernelsm.PREDICTION_METHODS}
    eval_F = store.mean(task.primary, "eval")
    for name, params in methods:
        method = make_method(name, params)
        record = run_cell(task, store, method)
        records.append(record)
        if method.key in pred_keys and record["rows"]:
            meta = {"method_label": method.display, "method_key": method.key,
                    "method": name, "task_key": task.spec.key, "task": task.label}
            preds.append(build.prediction_rows(cell_dir(task, method), meta, eval_F))
    return records, preds, diag


def replicate(profile: str, tasks: list[str] | None, workers: int = 1, batch: int = 32,
              engine: str = "auto", out_dir: Path = build.LEADERBOARD_DIR,
              figures: bool = True) -> pd.DataFrame:
    """Run the paper's cells at ``profile`` (optionally only ``tasks``); returns the claims."""
    cells = [(t, o) for t, o in kernelsm.cells(profile) if not tasks or t in tasks]
    for t in tasks or []:
        if t not in {c[0] for c in cells}:
            cells.append((t, {}))
    records, preds, diags = [], [], []
    for name, overrides in cells:
        task = make_task(name, profile, overrides)
        print(f"== {task.label} ({task.spec.key}): K={task.K}, targets={task.n_targets}")
        r, p, d = run_task_cell(task, workers, batch, engine)
        records += r
        preds += p
        diags.append(d)
    results_csv, pred_csv = build.write(records, preds, out_dir)
    build.upsert(out_dir / "groundtruth.csv", pd.DataFrame(diags), ["task_key", "profile"])
    write_all(results_csv, out_dir)
    if figures:
        from figures import render_all

        fig_dir = None if out_dir == build.LEADERBOARD_DIR else out_dir / "figures"
        render_all(results_csv, pred_csv, fig_dir)
    table = pd.DataFrame([c.as_dict() for c in kernelsm.claims(
        pd.read_csv(results_csv), profile)])
    print_claims(table)
    return table


def print_claims(table: pd.DataFrame) -> None:
    if table.empty:
        print("no claims to check")
        return
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table.to_string(index=False))
