"""``python -m benchmarks {list,describe,profiles,ground-truth,run,replicate,import-gt,export-gt,
leaderboard,figures}``; ``--help`` on each says what every option is, with its default.

Arguments are parsed before anything heavy loads: each command imports torch, scipy or pandas
itself, so ``--help`` and a typo answer without them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import catalogue
from benchmarks.api.registry import PluginImportError, UnknownNameError
from benchmarks.common import spec
from benchmarks.common.extras import install_hint
from benchmarks.common.spec import PROFILES, ExecutorError, MissingExtraError, SpecError
from benchmarks.groundtruth.formats import EXPORT_FORMATS, FORMATS

PROFILE_HELP = ("how big the task is: tiny (seconds; smoke checks), quick (the README's run on "
                "2 cores) or paper (the published scale; GPU or cluster); see `python -m "
                "benchmarks profiles`")
DESCRIPTION = ("Task-attribution benchmarks. `list` and `profiles` say what there is; `python -m "
               "benchmarks COMMAND --help` says what each option of a command is, with its "
               "default.")
TASK_HELP = "a registered task (`python -m benchmarks list tasks`) or an imported one"


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


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's help ends with its default, where there is one (not for a required
    option, nor a None or [] default, whose help says what its absence means)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.required or action.default is None or action.default == []:
            return action.help
        return super()._get_help_string(action)


def _add(sub, name: str, text: str) -> argparse.ArgumentParser:
    """A sub-command described by ``text``, whose options' help ends with their defaults."""
    return sub.add_parser(name, help=text, description=text, formatter_class=_Defaults)


def _profile(p: argparse.ArgumentParser, what: str = PROFILE_HELP) -> None:
    p.add_argument("--profile", default="quick", choices=PROFILES, help=what)


def _set(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a task spec field (repeatable), e.g. train.steps=500, "
                        "params.overlap=0.5; `describe TASK` lists the fields")


def _common(p: argparse.ArgumentParser) -> None:
    """The profile and where and how ground truth trains (ground-truth, run, replicate)."""
    _profile(p)
    p.add_argument("--workers", type=_int_in(1, spec.MAX_WORKERS), default=1,
                   help="ground-truth processes (local) or LocalCluster workers (dask)")
    p.add_argument("--executor", default="local", choices=spec.EXECUTORS,
                   help="where ground truth trains: a local process pool, Dask (a loopback "
                        "LocalCluster, or --scheduler) or a SLURM job array")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="an existing Dask scheduler (with --executor dask; none: a loopback "
                        "LocalCluster)")
    p.add_argument("--slurm-partition", default=None,
                   help="SLURM partition of the array (--executor slurm; none: the cluster's "
                        "default)")
    p.add_argument("--slurm-gpus", type=_int_in(0, 64), default=0, help="GPUs per array task")
    p.add_argument("--slurm-time", type=_int_in(1, 60 * 24 * 14), default=60,
                   help="minutes per array task")
    p.add_argument("--slurm-array-parallelism", type=_int_in(1, 100_000), default=64,
                   help="array tasks SLURM runs at once")
    p.add_argument("--batch", type=_int_in(1, spec.MAX_BATCH), default=32,
                   help="models trained per engine call (part of the task key: the batched "
                        "engine's results depend on it)")
    p.add_argument("--engine", default="auto", choices=spec.ENGINES,
                   help="auto = the task's measured choice (datasets/ cards); part of the key")
    p.add_argument("--device", default="cpu", metavar="auto|cpu|cuda[:i]",
                   help="where models train and gradients are taken (not part of the key; "
                        "recorded in the bit provenance); auto = CUDA where available")
    p.add_argument("--tf32", action="store_true",
                   help="let CUDA float32 matmuls use TensorFloat-32 (faster, 10-bit mantissa)")


def _gt_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gt-dir", type=Path, default=None,
                   help="ground-truth store folder (none: the cache, $TASKATTR_CACHE or "
                        "./artifacts)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=DESCRIPTION)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    _catalogue_parsers(sub)
    p = _add(sub, "ground-truth", "train the subset models of a task (resumable)")
    p.add_argument("--task", required=True, help=TASK_HELP)
    p.add_argument("--shard", default=None, metavar="i/N",
                   help="this process takes chunks c = i mod N (none: every chunk)")
    p.add_argument("--collect", action="store_true",
                   help="move finished SLURM chunk files into the store, train nothing")
    p.add_argument("--slurm-dry-run", action="store_true",
                   help="print the sbatch script of --executor slurm, submit nothing")
    _gt_dir(p)
    _set(p)
    _common(p)
    _run_parser(sub)
    p = _add(sub, "replicate", "regenerate the paper's results at a profile")
    p.add_argument("--task", action="append", default=None,
                   help="only this task's cells (repeatable; none: every paper's cells)")
    p.add_argument("--paper", action="append", default=None,
                   help="only this registered paper's cells and claims (repeatable; none: "
                        "every paper but the opt-in ones, e.g. overlap-dial)")
    p.add_argument("--no-figures", action="store_true", help="skip rendering the figures")
    p.add_argument("--out", type=Path, default=None,
                   help="write results/leaderboard/figures here (none: leaderboard/)")
    _common(p)
    _gt_io_parsers(sub)
    _add(sub, "leaderboard", "render LEADERBOARD.md and index.html from results.csv")
    _add(sub, "figures", "render figures from results.csv and predictions.csv")
    return ap


def _catalogue_parsers(sub) -> None:
    """``list``, ``describe`` and ``profiles``: what is registered, in words."""
    p = _add(sub, "list", "list registered methods, tasks, metrics, stages and papers")
    p.add_argument("kind", nargs="?", choices=catalogue.KINDS, help="only this kind")
    p = _add(sub, "describe", "fields, types, defaults and help of a method, task, metric or "
                              "stage; a paper's cells; a profile")
    p.add_argument("name", help="a method, task, metric, stage, paper or profile name")
    _profile(p, "tasks: show this profile's values")
    p = _add(sub, "profiles", "what each profile is for, its cells, measured time and the "
                              "extras its tasks need")
    p.add_argument("profile", nargs="?", choices=PROFILES, help="only this profile")


def _run_parser(sub) -> None:
    p = _add(sub, "run", "run methods on one task and print their metrics (several: with "
                         "paired differences against the first)")
    p.add_argument("--task", required=True, help=TASK_HELP)
    p.add_argument("--method", action="append", required=True, metavar="NAME[,NAME...]",
                   help="a registered method (`python -m benchmarks list methods`); a comma "
                        "list or a repeated --method runs several, each compared with the "
                        "first by paired differences of per-target LDS")
    p.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE",
                   help="set a method field (repeatable), e.g. lam=0.1; `describe METHOD` "
                        "lists them; applies to every --method")
    _gt_dir(p)
    p.add_argument("--resplits", type=_int_in(1, 10_000), default=100,
                   help="imported ground truth: random fit/held-out re-splits the file's own "
                        "split is placed among")
    _set(p)
    _common(p)


def _gt_io_parsers(sub) -> None:
    """``import-gt`` and ``export-gt`` (formats: benchmarks/groundtruth/formats.py)."""
    p = _add(sub, "import-gt", "import (subset masks, targets) as a task")
    p.add_argument("file", type=Path, help="NPZ, masks CSV, JSON, KernelSM or ICL ids JSON")
    p.add_argument("--name", required=True, help="task name (ICL layout: NAME-split0..)")
    p.add_argument("--format", dest="fmt", default="auto", choices=FORMATS,
                   help="the file's layout (auto: from its name and contents)")
    p.add_argument("--targets", type=Path, default=None, help="CSV/ICL score file")
    p.add_argument("--n-fit", type=int, default=None,
                   help="first N rows fit (no split given; none: the file's split)")
    p.add_argument("--n-units", type=int, default=None, help="ICL: K (none: max id + 1)")
    p.add_argument("--splits", type=int, default=5, help="ICL: random re-splits")
    p.add_argument("--seed", type=int, default=0, help="ICL: seed of the re-splits")
    p.add_argument("--dedupe", action="store_true",
                   help="drop repeated fitting rows (held-out rows are never dropped)")
    p.add_argument("--kind", default="auto", choices=("auto", "icl", "modular", "generic"),
                   help="data kind (auto: from the layout); selects the paper recipe and claims")
    p.add_argument("--force", action="store_true", help="replace an import with other content")
    p = _add(sub, "export-gt", "write a task's ground truth: NPZ + JSON manifest, dattri "
             "tensors or a parquet dataset")
    p.add_argument("task", help=TASK_HELP)
    p.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    p.add_argument("--jsonl", action="store_true", help="also write rows.jsonl")
    p.add_argument("--format", dest="fmt", default="npz", choices=EXPORT_FORMATS,
                   help="npz (+ manifest), dattri (torch tensors) or parquet (a datasets folder)")
    _profile(p)
    _set(p)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        check_args(args)
        return _dispatch(args)
    except Exception as err:
        line = error_line(err)
        if line is None:  # a bug: its traceback
            raise
        print(f"error: {line}", file=sys.stderr)
        return 2


def error_line(err: Exception) -> str | None:
    """The one line a user's error prints; a missing optional module names the extra to
    install (an error that names it already keeps its words, the checkout's command added).
    None for an error that is a bug (shown with its traceback)."""
    missing = catalogue.missing_extra(err)
    if missing is not None:
        module, extra = missing
        checkout = f"pip install -e '.[{extra}]'"
        if isinstance(err, (MissingExtraError, ExecutorError)):  # they name the extra
            return f"{err} (in a checkout: {checkout})"
        return (f"the optional module {module!r} is not installed; it comes with the {extra} "
                f"extra: {checkout} in a checkout ({install_hint(extra)} elsewhere)")
    if isinstance(err, _user_errors()):
        return str(err)
    if isinstance(err, OSError):  # a path that is a file, a missing parent, no permission
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}"
    return None


def _user_errors() -> tuple[type[Exception], ...]:
    """The errors that are the user's to fix (imported on error: the store loads torch)."""
    from benchmarks.common.fsio import CorruptFileError
    from benchmarks.groundtruth.store import StoreMismatchError

    return (SpecError, UnknownNameError, StoreMismatchError, CorruptFileError,
            PluginImportError, MissingExtraError, ExecutorError, ValueError)


def check_args(args: argparse.Namespace) -> None:
    """Refuse, before anything runs or is created, options that would be ignored or do harm:
    each error names the option and why."""
    executor = vars(args).get("executor")
    if vars(args).get("slurm_dry_run") and executor != "slurm":
        raise SpecError("--slurm-dry-run prints the array script of `ground-truth --executor "
                        "slurm` and applies to no other executor (here it would train)")
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
    from benchmarks.common.fsio import CorruptFileError

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
    from benchmarks import commands

    if vars(args).get("device") is not None:  # the commands that train or take gradients
        from benchmarks.common import device  # torch

        device.configure(args.device, args.tf32)
    return getattr(commands, args.cmd.replace("-", "_"))(args)


if __name__ == "__main__":
    sys.exit(main())
