"""Implementations of the CLI sub-commands (argument parsing lives in ``__main__``).

Each command imports what it needs (torch comes with the registry's plug-ins and the ground-truth
store; scipy.stats, pandas, the leaderboard renderer and figures with the commands that use
them), so parsing, ``--help`` and a typo load none of them (``python -m benchmarks.perf
startup`` measures start-up against ``python -c pass`` and ``python -c "import torch"``).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING

from benchmarks.common.schema import PROFILES
from benchmarks.common.spec import SpecError

if TYPE_CHECKING:  # torch
    from benchmarks.groundtruth.executors import Executor


def list(args: argparse.Namespace) -> int:  # noqa: A001 - the sub-command's name
    """One line per registered entry: its name and what it is."""
    from benchmarks.catalogue import catalogue

    for kind, entries in catalogue(args.kind, cached=True).items():
        print(f"{kind}:")
        width = max((len(n) for n in entries), default=0)
        for name, summary in entries.items():
            print(f"  {name:<{width}}  {summary}")
    return 0


def describe(args: argparse.Namespace) -> int:
    """Fields (type, default, rule, help) of a method, task or stage; a metric's variants; a
    paper's cells; a profile."""
    from benchmarks.catalogue import describe_entry

    print(describe_entry(args.name, args.profile))
    return 0


def profiles(args: argparse.Namespace) -> int:
    """What each profile (or ``args.profile``) is for, its cells, time and extras."""
    from benchmarks.catalogue import describe_profile

    print("\n\n".join(describe_profile(p) for p in ([args.profile] if args.profile
                                                     else PROFILES)))
    return 0


def _task_overrides(args: argparse.Namespace) -> dict:
    """``--set`` plus ``--batch``/``--engine`` (part of the task key)."""
    from benchmarks.api.registry import TASKS
    from benchmarks.api.task import execution_overrides, parse_overrides

    overrides = parse_overrides(args.set)
    return overrides | execution_overrides(args.batch, args.engine, TASKS.get(args.task),
                                           overrides)


def _executor(args: argparse.Namespace) -> Executor:
    """The ``Executor`` of the options (``--slurm-dry-run`` is ``ground-truth``'s only)."""
    from benchmarks.groundtruth.executors import Executor, SlurmOptions

    slurm = SlurmOptions(args.slurm_partition, args.slurm_gpus, args.slurm_time,
                         args.slurm_array_parallelism)
    return Executor(args.executor, args.workers, args.scheduler, slurm,
                    vars(args).get("slurm_dry_run", False))


def ground_truth(args: argparse.Namespace) -> int:
    """Train (or ``--collect``) a task's subset models; one line on the store after."""
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.executors import collect
    from benchmarks.groundtruth.fill import open_store, parse_shard

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
    if done == store.done.size:
        _warn_at_chance(task, store)
    return 0


def _warn_at_chance(task, store) -> None:
    """One line where the store's models are at chance (its metrics mean nothing then)."""
    from benchmarks.groundtruth.diagnostics import at_chance, summarise_ground_truth

    line = at_chance(summarise_ground_truth(task, store))
    if line:
        print(f"WARNING {task.label}: {line}")


def method_names(values: list[str]) -> list[str]:
    """``--method`` values (comma lists, repeated flags) as names, in order, without repeats."""
    names = [n.strip() for value in values for n in value.split(",")]
    if not all(names):
        raise SpecError(f"invalid --method {','.join(values)!r}: an empty name in the list")
    return [*dict.fromkeys(names)]


def run(args: argparse.Namespace) -> int:
    """Each ``--method`` on ``--task``: its metrics; several: paired LDS differences against
    the first after them."""
    from benchmarks import task_groups
    from benchmarks.api.method import make_method
    from benchmarks.api.task import make_task, parse_overrides
    from benchmarks.groundtruth.fill import open_store

    names = method_names(args.method)
    methods = [make_method(name, parse_overrides(args.param)) for name in names]
    if task_groups.is_group(args.task):  # an import's re-splits: mean ± sd over them
        for method in methods:
            print(task_groups.group_table(task_groups.run_group(args.task, method,
                                                                args.profile)))
        return 0
    task = make_task(args.task, args.profile, _task_overrides(args))
    for name, method in zip(names, methods, strict=True):
        reason = method.applies(task)  # refused before ground truth is trained (or a store)
        if reason:
            raise SpecError(f"invalid --method {name} for --task {args.task}: {reason}")
    _executor(args).fill(task, path=args.gt_dir)
    store, defined = open_store(task, args.gt_dir), set()
    _warn_at_chance(task, store)
    for method in methods:
        _print_cell(task, store, method, args, defined)
    if len(methods) > 1:
        print(paired_lds(task, store, methods))
    return 0


def _print_cell(task, store, method, args: argparse.Namespace, defined: set) -> None:
    """One method's metrics table, the definitions not printed yet and, on an imported task,
    where the file's own split falls among random re-splits."""
    import pandas as pd

    from benchmarks.api.evaluation import definition_lines
    from benchmarks.runner import run_cell
    from benchmarks.tasks import imported

    record = run_cell(task, store, method)
    df = pd.DataFrame(record["rows"])[["metric", "variant", "split", "value", "ci_low",
                                       "ci_high", "n_targets", "n_dropped"]]
    print(f"{task.label} x {method.key}\n{df.to_string(index=False)}")
    lines = [ln for ln in definition_lines(record["rows"]) if ln not in defined]
    defined.update(lines)
    if lines:
        print("\n".join(lines))
    if imported.is_imported(task.spec.name):  # the file's own split among random re-splits
        from benchmarks.stages import resplits

        print(resplits.report(task, store, method, record, args.resplits))


def paired_lds(task, store, methods: list) -> str:
    """Per-target LDS (Spearman over held-out subsets, as the ``lds`` metric) of each method
    minus the first's on the same targets: mean and 95% percentile bootstrap CI over targets
    (one resampling of the targets for both, seeded from the content keys)."""
    import numpy as np
    import pandas as pd

    from benchmarks.api.evaluation import VAR_THRESHOLD, bootstrap_ci, heldout_variance
    from benchmarks.common import cache
    from benchmarks.metrics.lds import per_target_spearman

    true = store.mean(task.primary, "eval")
    keep = {"spearman": np.ones(true.shape[1], bool),  # NaN already where F is constant
            "spearman_repo": heldout_variance(true) >= VAR_THRESHOLD}
    rho = {m.key: per_target_spearman(
        np.load(cache.cell_dir(task.spec.key, m.key) / "predictions.npy"), true) for m in methods}
    base, rows = methods[0], []
    for method in methods[1:]:
        for variant, mask in keep.items():
            diff = np.where(mask, rho[method.key] - rho[base.key], np.nan)
            ok = diff[np.isfinite(diff)]
            lo, hi = bootstrap_ci(ok, f"{task.spec.key}/{base.key}/{method.key}/paired/{variant}")
            rows.append({"method": method.key, "metric": "lds", "variant": variant,
                         "diff": ok.mean() if ok.size else float("nan"), "ci_low": lo,
                         "ci_high": hi, "n_targets": ok.size})
    head = textwrap.fill(f"paired differences against {base.key}: per-target LDS minus its "
                         f"on the same targets; mean, 95% bootstrap CI over targets", 100)
    return f"{head}\n{pd.DataFrame(rows).to_string(index=False)}"


def replicate(args: argparse.Namespace) -> int:
    from benchmarks.replicate import replicate as run_replicate
    from leaderboard import build

    out = args.out or build.LEADERBOARD_DIR  # checked by __main__.check_replicate_out
    run_replicate(args.profile, args.task, _executor(args), args.batch, args.engine,
                  out_dir=out, figures=not args.no_figures, papers=args.paper)
    return 0


def import_gt(args: argparse.Namespace) -> int:
    """Validate a file and register it as a task (or ICL re-splits as several)."""
    from benchmarks.groundtruth import transfer as gt_io
    from benchmarks.groundtruth.transfer import ImportOptions
    from benchmarks.tasks import imported

    opts = ImportOptions(args.fmt, args.targets, args.n_fit, args.n_units, args.splits,
                         args.seed, args.dedupe, args.force, kind=args.kind)
    for name in imported.import_gt(args.file, args.name, opts):
        print(gt_io.describe_entry(gt_io.load_entry(name)))
    return 0


def export_gt(args: argparse.Namespace) -> int:
    """Write a task's (complete) ground truth to ``--out``."""
    from benchmarks.api.task import make_task, parse_overrides
    from benchmarks.groundtruth import transfer as gt_io
    from benchmarks.groundtruth.fill import open_store

    task = make_task(args.task, args.profile, parse_overrides(args.set))
    check_export_dir(args.out, task.spec.key)
    store = open_store(task, create=False)
    for path in gt_io.export_gt(task, store, args.out, args.jsonl, args.fmt):
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
    from benchmarks.api.evaluation import write_definitions
    from benchmarks.common.schema import RESULTS
    from benchmarks.common.tables import read_table
    from benchmarks.replicate import default_labels, write_claims
    from leaderboard import build, claims, scorecard, wallclock
    from leaderboard.render import write_all

    results = build.LEADERBOARD_DIR / "results.csv"
    profiles = sorted(read_table(results, RESULTS).profile.unique())
    if wallclock.update_readme(build.LEADERBOARD_DIR / "timings.csv",  # both tables checked
                               default=default_labels("quick")):  # before anything is written
        print(f"wrote {wallclock.README} and {wallclock.FRONT} (wall-clock and budget)")
    for profile in profiles:
        write_claims(results, profile)
    claims.write_verdict(build.LEADERBOARD_DIR / "claims.csv", build.LEADERBOARD_DIR / "verdict.md")
    if scorecard.update_readme(claims.read(build.LEADERBOARD_DIR / "claims.csv"),
                               read_table(results, RESULTS)):
        print(f"wrote {scorecard.README} (scorecard and headline leaderboard)")
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
