"""The CLI explains itself: every option of every sub-command has help (with its default where
it has one), and ``--help``, a typo and a bad choice answer before torch or scipy load."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from benchmarks.__main__ import main, parser

HEAVY = ("torch", "scipy", "sklearn", "transformers", "pandas")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_of_every_sub_command_has_help():
    missing = [f"{name} {a.option_strings}" for name, p in _subparsers().items()
               for a in p._actions if a.option_strings and not (a.help or "").strip()]
    assert missing == []


@pytest.mark.parametrize("option, words", [
    ("--profile", ("tiny", "quick", "paper", "profiles")),
    ("--task", ("registered task", "list tasks")),
    ("--method", ("registered method", "comma", "first")),
    ("--param", ("method field", "describe METHOD")),
])
def test_the_main_options_say_what_they_are(option, words):
    for name, p in _subparsers().items():
        for action in p._actions:
            if option in action.option_strings and name in ("run", "ground-truth"):
                assert all(w in action.help for w in words), (name, action.help)


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: quick)" in out and "(default: 100)" in out and "(default: 32)" in out
    assert "(default: None)" not in out  # a required option or one whose help says it


def test_replicate_lists_only_what_it_accepts(tmp_path):
    """``--set`` and ``--slurm-dry-run`` were listed, then refused; now every option parses and
    passes the checks."""
    from benchmarks.__main__ import check_args

    options = {a.dest for a in _subparsers()["replicate"]._actions}
    assert "set" not in options and "slurm_dry_run" not in options
    args = parser().parse_args([
        "replicate", "--task", "modular-quad", "--paper", "kernelsm", "--no-figures", "--out",
        str(tmp_path / "o"), "--profile", "tiny", "--workers", "2", "--executor", "local",
        "--slurm-partition", "p", "--slurm-gpus", "1", "--slurm-time", "5",
        "--slurm-array-parallelism", "2", "--batch", "8", "--engine", "loop", "--device", "cpu",
        "--tf32"])
    check_args(args)


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["list", "--help"],
                                  ["lst"], ["list", "methd"], ["run", "--task"]])
def test_parsing_loads_no_heavy_module(argv):
    code = ("import sys\nfrom benchmarks.__main__ import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr
