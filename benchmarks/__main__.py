"""``python -m benchmarks {list,ground-truth,run,replicate,leaderboard,figures}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .registry import METHODS, METRICS, TASKS, UnknownNameError
from .spec import PROFILES, SpecError
from .store import StoreMismatchError

KINDS = {"methods": METHODS, "tasks": TASKS, "metrics": METRICS}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a task spec field, e.g. train.steps=500, params.overlap=0.5")
    p.add_argument("--workers", type=int, default=1, help="ground-truth processes")
    p.add_argument("--batch", type=int, default=32, help="models trained per engine call")
    p.add_argument("--engine", default="auto", choices=("auto", "batched", "loop"),
                   help="auto = the task's measured choice (datasets/ cards)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="list registered methods, tasks and metrics")
    p.add_argument("kind", nargs="?", choices=sorted(KINDS))
    p = sub.add_parser("ground-truth", help="train the subset models of a task (resumable)")
    p.add_argument("--task", required=True)
    p.add_argument("--shard", default=None, help="i/N: this process takes chunks c = i mod N")
    p.add_argument("--gt-dir", type=Path, default=None, help="store folder (default: cache)")
    _common(p)
    p = sub.add_parser("run", help="run one method on one task and print its metrics")
    p.add_argument("--task", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE")
    _common(p)
    p = sub.add_parser("replicate", help="regenerate the paper's results at a profile")
    p.add_argument("--task", action="append", default=None)
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--out", type=Path, default=None,
                   help="write results/leaderboard/figures here instead of leaderboard/")
    _common(p)
    sub.add_parser("leaderboard", help="render LEADERBOARD.md and index.html from results.csv")
    sub.add_parser("figures", help="render figures from results.csv and predictions.csv")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (SpecError, UnknownNameError, StoreMismatchError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    from . import commands

    return getattr(commands, args.cmd.replace("-", "_"))(args)


if __name__ == "__main__":
    sys.exit(main())
