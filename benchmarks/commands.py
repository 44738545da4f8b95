"""Implementations of the CLI sub-commands (argument parsing lives in ``__main__``).

Modules only some commands need (the replication driver with scipy.stats, pandas, the
leaderboard renderer, figures) are imported inside those commands, so ``run`` and ``list`` start
without them (``nox -s bench`` measures start-up against ``python -c pass``).
"""

from __future__ import annotations

import argparse

from benchmarks import task_groups
from benchmarks.api.evaluation import definition_lines, write_definitions
from benchmarks.api.method import make_method
from benchmarks.api.registry import TASKS
from benchmarks.api.task import execution_overrides, make_task, parse_overrides
from benchmarks.catalogue import catalogue, describe_entry
from benchmarks.common.spec import SpecError
from benchmarks.groundtruth import transfer as gt_io
from benchmarks.groundtruth.executors import Executor, SlurmOptions, collect
from benchmarks.groundtruth.fill import open_store, parse_shard
from benchmarks.groundtruth.transfer import ImportOptions
from benchmarks.runner import run_cell
from benchmarks.tasks import imported


def list(args: argparse.Namespace) -> int:  # noqa: A001 - the sub-command's name
    """One line per registered entry: its name and what it is."""
    for kind, entries in catalogue(args.kind).items():
        print(f"{kind}:")
        width = max((len(n) for n in entries), default=0)
        for name, summary in entries.items():
            print(f"  {name:<{width}}  {summary}")
    return 0


def describe(args: argparse.Namespace) -> int:
    """Fields (type, default, rule, help) of a method, task or metric."""
    print(describe_entry(args.name, args.profile))
    return 0


def _task_overrides(args: argparse.Namespace) -> dict:
    """``--set`` plus ``--batch``/``--engine`` (part of the task key)."""
    overrides = parse_overrides(args.set)
    return overrides | execution_overrides(args.batch, args.engine, TASKS.get(args.task),
                                           overrides)


def _executor(args: argparse.Namespace) -> Executor:
    slurm = SlurmOptions(args.slurm_partition, args.slurm_gpus, args.slurm_time,
                         args.slurm_array_parallelism)
    return Executor(args.executor, args.workers, args.scheduler, slurm, args.slurm_dry_run)


def ground_truth(args: argparse.Namespace) -> int:
    shard = parse_shard(args.shard)  # refused before anything is created
    overrides = _task_overrides(args)
    task = make_task(args.task, args.profile, overrides)
    if args.collect:
        n = collect(open_store(task, args.gt_dir, create=False))
    else:
        n = _executor(args).fill(task, shard, args.gt_dir).models
        if args.slurm_dry_run:  # the script was printed; nothing was (or is) created
            return 0
    store = open_store(task, args.gt_dir)
    done = int(store.done.sum())
    print(f"{task.label} ({task.spec.key}): trained {n} models; "
          f"{done}/{store.done.size} done; store {store.path}")
    return 0


def run(args: argparse.Namespace) -> int:
    method = make_method(args.method, parse_overrides(args.param))
    if task_groups.is_group(args.task):  # an import's re-splits: mean ± sd over them
        print(task_groups.group_table(task_groups.run_group(args.task, method, args.profile)))
        return 0
    overrides = _task_overrides(args)
    task = make_task(args.task, args.profile, overrides)
    reason = method.applies(task)  # refused before ground truth is trained (or a store made)
    if reason:
        raise SpecError(f"invalid --method {args.method} for --task {args.task}: {reason}")
    _executor(args).fill(task, path=args.gt_dir)
    record = run_cell(task, open_store(task, args.gt_dir), method)
    import pandas as pd

    df = pd.DataFrame(record["rows"])[["metric", "variant", "split", "value", "ci_low",
                                       "ci_high", "n_targets", "n_dropped"]]
    print(f"{task.label} x {method.key}\n{df.to_string(index=False)}")
    print("\n".join(definition_lines(record["rows"])))
    if imported.is_imported(task.spec.name):  # the file's own split among random re-splits
        from benchmarks.stages import resplits

        n = getattr(args, "resplits", None) or resplits.RESPLITS
        print(resplits.report(task, open_store(task, args.gt_dir), method, record, n))
    return 0


def replicate(args: argparse.Namespace) -> int:
    from benchmarks.replicate import replicate as run_replicate
    from leaderboard import build

    if args.set:
        raise SpecError(f"replicate runs each cell as its paper defines it and takes no --set "
                        f"({', '.join(args.set)}); change a task with `ground-truth`/`run "
                        f"--set`, or a cell in its paper plug-in")
    out = args.out or build.LEADERBOARD_DIR  # checked by __main__.check_replicate_out
    run_replicate(args.profile, args.task, _executor(args), args.batch, args.engine,
                  out_dir=out, figures=not args.no_figures, papers=args.paper)
    return 0


def import_gt(args: argparse.Namespace) -> int:
    """Validate a file and register it as a task (or ICL re-splits as several)."""
    opts = ImportOptions(args.fmt, args.targets, args.n_fit, args.n_units, args.splits,
                         args.seed, args.dedupe, args.force, kind=args.kind)
    for name in imported.import_gt(args.file, args.name, opts):
        print(gt_io.describe_entry(gt_io.load_entry(name)))
    return 0


def export_gt(args: argparse.Namespace) -> int:
    """Write a task's (complete) ground truth to ``--out``."""
    task = make_task(args.task, args.profile, parse_overrides(args.set))
    check_export_dir(args.out, task.spec.key)
    store = open_store(task, create=False)
    for path in gt_io.export_gt(task, store, args.out, args.jsonl):
        print(f"wrote {path}")
    return 0


def check_export_dir(out, task_key: str) -> None:
    """``--out`` is a new or empty folder, or an earlier export of this same task; never a store,
    a file, the current folder by omission, or another export."""
    import json

    if not str(out).strip() or str(out) == ".":
        raise SpecError("invalid --out: give a folder to export into")
    if out.exists() and not out.is_dir():
        raise SpecError(f"invalid --out {out}: exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    if (out / "done.npy").exists() or (out / "checks.npy").exists():
        raise SpecError(f"invalid --out {out}: it is a ground-truth store; export into "
                        f"another folder")
    try:
        previous = json.loads((out / "manifest.json").read_text()).get("task_key")
    except (OSError, ValueError, AttributeError):
        previous = None
    if previous != task_key:
        raise SpecError(f"invalid --out {out}: a non-empty folder that is not an earlier export "
                        f"of {task_key}; choose an empty folder")


def leaderboard(args: argparse.Namespace) -> int:
    from benchmarks.common.schema import RESULTS
    from benchmarks.common.tables import read_table
    from benchmarks.replicate import write_claims
    from leaderboard import build, claims, verdict, wallclock
    from leaderboard.render import write_all

    results = build.LEADERBOARD_DIR / "results.csv"
    profiles = sorted(read_table(results, RESULTS).profile.unique())
    if wallclock.update_readme(build.LEADERBOARD_DIR / "timings.csv"):  # both tables checked
        print(f"wrote {wallclock.README} (wall-clock section)")  # before anything is written
    for profile in profiles:
        write_claims(results, profile)
    claims.write_verdict(build.LEADERBOARD_DIR / "claims.csv", build.LEADERBOARD_DIR / "verdict.md")
    if verdict.update_readme(claims.read(build.LEADERBOARD_DIR / "claims.csv")):
        print(f"wrote {verdict.README} (verdict section)")
    write_definitions(build.LEADERBOARD_DIR / "metrics.csv")
    for path in write_all(results, build.LEADERBOARD_DIR):
        print(f"wrote {path}")
    return 0


def figures(args: argparse.Namespace) -> int:
    from figures import render_all
    from leaderboard import build

    for path in render_all(build.LEADERBOARD_DIR / "results.csv",
                           build.LEADERBOARD_DIR / "predictions.csv"):
        print(f"wrote {path}")
    return 0
