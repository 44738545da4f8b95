"""``python -m benchmarks {list,ground-truth,run,replicate,import-gt,export-gt,leaderboard,
figures}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.api.registry import PluginImportError, UnknownNameError
from benchmarks.catalogue import KINDS as CATALOGUE_KINDS
from benchmarks.common.fsio import CorruptFileError
from benchmarks.common.spec import (
    ENGINES,
    EXECUTORS,
    MAX_BATCH,
    MAX_WORKERS,
    PROFILES,
    ExecutorError,
    MissingExtraError,
    SpecError,
)
from benchmarks.groundtruth.formats import FORMATS
from benchmarks.groundtruth.store import StoreMismatchError


def _int_in(lo: int, hi: int):
    """An argparse type: an integer in [lo, hi], refused with the range otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is not in [{lo}, {hi}]")
        return value

    return parse


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a task spec field, e.g. train.steps=500, params.overlap=0.5")
    p.add_argument("--workers", type=_int_in(1, MAX_WORKERS), default=1,
                   help="ground-truth processes (local) or LocalCluster workers (dask)")
    p.add_argument("--executor", default="local", choices=EXECUTORS,
                   help="where ground truth trains: a local process pool, or Dask "
                        "(a loopback LocalCluster, or --scheduler)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="an existing Dask scheduler (with --executor dask)")
    p.add_argument("--slurm-partition", default=None)
    p.add_argument("--slurm-gpus", type=_int_in(0, 64), default=0, help="GPUs per array task")
    p.add_argument("--slurm-time", type=_int_in(1, 60 * 24 * 14), default=60,
                   help="minutes per array task")
    p.add_argument("--slurm-array-parallelism", type=_int_in(1, 100_000), default=64)
    p.add_argument("--slurm-dry-run", action="store_true",
                   help="print the sbatch script of --executor slurm, submit nothing")
    p.add_argument("--batch", type=_int_in(1, MAX_BATCH), default=32,
                   help="models trained per engine call (part of the task key: the batched "
                        "engine's results depend on it)")
    p.add_argument("--engine", default="auto", choices=ENGINES,
                   help="auto = the task's measured choice (datasets/ cards); part of the key")
    p.add_argument("--device", default="cpu", metavar="auto|cpu|cuda[:i]",
                   help="where models train and gradients are taken (not part of the key; "
                        "recorded in the bit provenance); auto = CUDA where available")
    p.add_argument("--tf32", action="store_true",
                   help="let CUDA float32 matmuls use TensorFloat-32 (faster, 10-bit mantissa)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="list registered methods, tasks, metrics, stages and papers")
    p.add_argument("kind", nargs="?", choices=CATALOGUE_KINDS)
    p = sub.add_parser("describe", help="fields, types, defaults and help of a method, task "
                                        "or metric")
    p.add_argument("name")
    p.add_argument("--profile", default="quick", choices=PROFILES,
                   help="tasks: show this profile's values")
    p = sub.add_parser("ground-truth", help="train the subset models of a task (resumable)")
    p.add_argument("--task", required=True)
    p.add_argument("--shard", default=None, help="i/N: this process takes chunks c = i mod N")
    p.add_argument("--collect", action="store_true",
                   help="move finished SLURM chunk files into the store, train nothing")
    p.add_argument("--gt-dir", type=Path, default=None, help="store folder (default: cache)")
    _common(p)
    p = sub.add_parser("run", help="run one method on one task and print its metrics")
    p.add_argument("--task", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--gt-dir", type=Path, default=None, help="store folder (default: cache)")
    p.add_argument("--resplits", type=_int_in(1, 10_000), default=100,
                   help="imported ground truth: random fit/held-out re-splits the file's own "
                        "split is placed among (default 100)")
    _common(p)
    p = sub.add_parser("replicate", help="regenerate the paper's results at a profile")
    p.add_argument("--task", action="append", default=None)
    p.add_argument("--paper", action="append", default=None,
                   help="only this registered paper's cells and claims (default: every paper)")
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--out", type=Path, default=None,
                   help="write results/leaderboard/figures here instead of leaderboard/")
    _common(p)
    _gt_io_parsers(sub)
    sub.add_parser("leaderboard", help="render LEADERBOARD.md and index.html from results.csv")
    sub.add_parser("figures", help="render figures from results.csv and predictions.csv")
    return ap


def _gt_io_parsers(sub) -> None:
    """``import-gt`` and ``export-gt`` (formats: benchmarks/groundtruth/formats.py)."""
    p = sub.add_parser("import-gt", help="import (subset masks, targets) as a task")
    p.add_argument("file", type=Path, help="NPZ, masks CSV, JSON, KernelSM or ICL ids JSON")
    p.add_argument("--name", required=True, help="task name (ICL layout: NAME-split0..)")
    p.add_argument("--format", dest="fmt", default="auto", choices=FORMATS)
    p.add_argument("--targets", type=Path, default=None, help="CSV/ICL score file")
    p.add_argument("--n-fit", type=int, default=None, help="first N rows fit (no split given)")
    p.add_argument("--n-units", type=int, default=None, help="ICL: K (default max id + 1)")
    p.add_argument("--splits", type=int, default=5, help="ICL: random re-splits")
    p.add_argument("--seed", type=int, default=0, help="ICL: seed of the re-splits")
    p.add_argument("--dedupe", action="store_true",
                   help="drop repeated fitting rows (held-out rows are never dropped)")
    p.add_argument("--kind", default="auto", choices=("auto", "icl", "modular", "generic"),
                   help="data kind (auto: from the layout); selects the paper recipe and claims")
    p.add_argument("--force", action="store_true", help="replace an import with other content")
    p = sub.add_parser("export-gt", help="write a task's ground truth as NPZ + JSON manifest")
    p.add_argument("task")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--jsonl", action="store_true", help="also write rows.jsonl")
    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        check_args(args)
        return _dispatch(args)
    except (SpecError, UnknownNameError, StoreMismatchError, CorruptFileError,
            PluginImportError, MissingExtraError, ExecutorError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path that is a file, a missing parent, no permission
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


def check_args(args: argparse.Namespace) -> None:
    """Refuse, before anything runs or is created, options that would be ignored or do harm:
    each error names the option and why."""
    executor = vars(args).get("executor")
    if vars(args).get("slurm_dry_run") and (executor != "slurm" or args.cmd != "ground-truth"):
        raise SpecError("--slurm-dry-run prints the array script of `ground-truth --executor "
                        "slurm` and applies to nothing else (here it would train, or run on "
                        "ground truth never trained)")
    if vars(args).get("collect") and (args.shard is not None or args.slurm_dry_run):
        raise SpecError("--collect moves every finished chunk file into the store and takes "
                        "neither --shard nor --slurm-dry-run")
    if executor == "dask":
        from benchmarks.groundtruth.executors import dask_pool

        dask_pool.require()
    if args.cmd == "replicate":
        check_replicate_out(args.out)


def check_replicate_out(out: Path | None) -> None:
    """``replicate --out``: a named folder outside the repository's own, and the ``bench.json``
    files the run merges into at its very end readable now (not after hours of training)."""
    from leaderboard import build

    if out is not None:
        _check_out_folder(out, build.LEADERBOARD_DIR.parent)
    for path in dict.fromkeys([(out or build.LEADERBOARD_DIR) / "bench.json", build.BENCH_JSON]):
        _check_json_object(path)


def _check_out_folder(out: Path, root: Path) -> None:
    """Not empty or ``.`` (an unset ``$OUT`` would write into the current folder), not the
    repository root nor in one of its package folders (``figures/``, ``leaderboard/``, ...):
    their tracked files are updated only by the default, no ``--out``; not a file."""
    if str(out).strip() in ("", "."):
        raise SpecError(f"invalid --out {str(out)!r}: empty or '.' (an unset variable?) would "
                        f"write into the current folder; name the folder, e.g. --out runs/tiny")
    resolved, root = out.resolve(), root.resolve()
    top = root / resolved.relative_to(root).parts[0] if resolved.is_relative_to(root) and \
        resolved != root else None
    if resolved == root or top is not None and (top / "__init__.py").exists():
        where = "the repository root" if top is None else f"in the package folder {top.name}/"
        raise SpecError(f"invalid --out {out}: {resolved} is {where} of this checkout, whose "
                        f"tracked files (figures/*.png, leaderboard/*.csv) a replicate would "
                        f"overwrite; omit --out to update the committed leaderboard, or name a "
                        f"folder outside the packages")
    if out.exists() and not out.is_dir():
        raise SpecError(f"invalid --out {out}: exists and is not a folder")


def _check_json_object(path: Path) -> None:
    """``path``, where it exists, holds a JSON object, else ``CorruptFileError`` naming it."""
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        data = err
    if not isinstance(data, dict):
        why = f"{data.__class__.__name__}: {data}" if isinstance(data, Exception) else \
            f"a JSON {type(data).__name__}"
        raise CorruptFileError(f"{path}: not a JSON object ({why}); replicate merges its "
                               f"results into it at the end of the run: restore it or remove it")


def _dispatch(args: argparse.Namespace) -> int:
    import benchmarks.common.device as device
    from benchmarks import commands

    if vars(args).get("device") is not None:  # the commands that train or take gradients
        device.configure(args.device, args.tf32)

    return getattr(commands, args.cmd.replace("-", "_"))(args)


if __name__ == "__main__":
    sys.exit(main())
