"""Implementations of the CLI sub-commands (argument parsing lives in ``__main__``)."""

from __future__ import annotations

import argparse

import pandas as pd

from leaderboard import build
from leaderboard.render import write_all

from . import gt_io
from .executors import fill_ground_truth
from .groundtruth import open_store, parse_shard
from .gt_io import ImportOptions
from .method import make_method
from .registry import METHODS, METRICS, TASKS
from .replicate import replicate as run_replicate
from .replicate import write_claims
from .runner import run_cell
from .task import make_task, parse_overrides


def list(args: argparse.Namespace) -> int:  # noqa: A001 - the sub-command's name
    kinds = {"methods": METHODS, "tasks": TASKS, "metrics": METRICS}
    for kind, reg in kinds.items():
        if args.kind in (None, kind):
            print(f"{kind}: {', '.join(reg.names())}")
    return 0


def ground_truth(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.set)
    task = make_task(args.task, args.profile, overrides)
    store = open_store(task, args.gt_dir)
    n = fill_ground_truth(args.task, args.profile, overrides, args.workers,
                          parse_shard(args.shard), args.batch, args.engine, args.gt_dir)
    done = int(store.done.sum())
    print(f"{task.label} ({task.spec.key}): trained {n} models; "
          f"{done}/{store.done.size} done; store {store.path}")
    return 0


def run(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.set)
    task = make_task(args.task, args.profile, overrides)
    method = make_method(args.method, parse_overrides(args.param))
    fill_ground_truth(args.task, args.profile, overrides, args.workers, batch=args.batch,
                      engine=args.engine)
    record = run_cell(task, open_store(task), method)
    if record.get("skipped"):
        print(f"skipped: {record['skipped']}")
        return 0
    df = pd.DataFrame(record["rows"])[["metric", "variant", "split", "value", "ci_low",
                                       "ci_high", "n_targets", "n_dropped"]]
    print(f"{task.label} x {method.key}\n{df.to_string(index=False)}")
    return 0


def replicate(args: argparse.Namespace) -> int:
    run_replicate(args.profile, args.task, args.workers, args.batch, args.engine,
                  out_dir=args.out or build.LEADERBOARD_DIR, figures=not args.no_figures)
    return 0


def import_gt(args: argparse.Namespace) -> int:
    """Validate a file and register it as a task (or ICL re-splits as several)."""
    opts = ImportOptions(args.fmt, args.targets, args.n_fit, args.n_units, args.splits,
                         args.seed, args.dedupe, args.force)
    for name in gt_io.import_gt(args.file, args.name, opts):
        entry = gt_io.load_entry(name)
        print(f"imported {name}: K={entry['K']}, n_fit={entry['n_fit']}, "
              f"n_eval={entry['n_eval']}, seeds={entry['n_seeds']}, "
              f"targets={entry['n_targets']} ({entry['format']}, {entry['content_hash']})")
    return 0


def export_gt(args: argparse.Namespace) -> int:
    """Write a task's (complete) ground truth to ``--out``."""
    task = make_task(args.task, args.profile, parse_overrides(args.set))
    for path in gt_io.export_gt(task, open_store(task), args.out, args.jsonl):
        print(f"wrote {path}")
    return 0


def leaderboard(args: argparse.Namespace) -> int:
    results = build.LEADERBOARD_DIR / "results.csv"
    for profile in sorted(pd.read_csv(results).profile.unique()):
        write_claims(results, profile)
    for path in write_all(results, build.LEADERBOARD_DIR):
        print(f"wrote {path}")
    return 0


def figures(args: argparse.Namespace) -> int:
    from figures import render_all

    for path in render_all(build.LEADERBOARD_DIR / "results.csv",
                           build.LEADERBOARD_DIR / "predictions.csv"):
        print(f"wrote {path}")
    return 0
