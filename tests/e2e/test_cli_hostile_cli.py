"""Hostile input at the command line, second pass (issue 29): each case reproduces a failure of
the CLI itself (a traceback, an error that names no file, a refusal after a store was made, a
destination that overwrote the repository's tracked files, files only their owner could read)
and now exits 2 in one line naming the option, field or file, before anything is created."""

from __future__ import annotations

import errno
import os
import stat
import sys
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from leaderboard import build

TINY = ["--task", "modular-quad", "--profile", "tiny", "--set", "design.n_fit=8",
        "--set", "design.n_eval=6", "--set", "train.steps=20"]
REPLICATE = ["replicate", "--profile", "tiny", "--task", "modular-quad", "--no-figures"]
ROOT = build.LEADERBOARD_DIR.parent


def _stores(cache: Path) -> list[Path]:
    root = cache / "gt"
    return sorted(root.iterdir()) if root.exists() else []


def _exit(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as err:  # argparse refuses with exit status 2
        code = err.code
    return code, capsys.readouterr().err


def _one_line(err: str, *names: str) -> None:
    """One ``error:`` line naming each of ``names`` (the progress bar aside), no traceback."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip() and "%|" not in ln]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for name in names:
        assert name in err, err


@pytest.fixture
def replicate_spy(monkeypatch) -> list[Path]:
    """``replicate``'s driver replaced by a recorder: a refusal must come before it runs (and a
    regression cannot overwrite the repository's figures while the test runs)."""
    import benchmarks.replicate

    calls: list[Path] = []
    monkeypatch.setattr(benchmarks.replicate, "replicate",
                        lambda *a, out_dir, **k: calls.append(Path(out_dir)))
    return calls


# --- A: replicate --out into the current folder or the repository's own folders --------------

@pytest.mark.parametrize("out", ["", ".", "./", "figures", "leaderboard", str(ROOT),
                                 str(ROOT / "leaderboard" / "sub"), "benchmarks"])
def test_replicate_out_into_the_repository_is_refused(cache, capsys, monkeypatch, replicate_spy,
                                                      out):
    """``--out ''`` (an unset ``$OUT``) or ``--out .`` from the checkout wrote results.csv into
    the repository root and re-rendered the tracked figures/*.png in place."""
    monkeypatch.chdir(ROOT)
    code, err = _exit([*REPLICATE, "--out", out], capsys)
    assert code == 2 and replicate_spy == []
    _one_line(err, "--out")
    assert _stores(cache) == []


def test_replicate_default_and_a_named_folder_still_run(cache, tmp_path, replicate_spy,
                                                        monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(REPLICATE) == 0
    assert main([*REPLICATE, "--out", str(tmp_path / "runs" / "tiny")]) == 0
    assert replicate_spy == [build.LEADERBOARD_DIR, tmp_path / "runs" / "tiny"]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", ""])
def test_garbage_bench_json_in_out_is_refused_before_the_run(cache, tmp_path, capsys,
                                                              replicate_spy, text):
    """It was read only when the whole replicate had run, and reported without its name."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "bench.json").write_text(text)
    code, err = _exit([*REPLICATE, "--out", str(out)], capsys)
    assert code == 2 and replicate_spy == []
    _one_line(err, str(out / "bench.json"))
    assert (out / "bench.json").read_text() == text


# --- B: tracebacks and errors that named nothing ---------------------------------------------

@pytest.mark.parametrize("argv", [["ground-truth", *TINY], ["run", *TINY, "--method", "loo"],
                                  REPLICATE])
def test_dask_executor_without_the_extra_exits_2_before_a_store(cache, tmp_path, capsys,
                                                                monkeypatch, argv):
    """An ImportError traceback (and ``replicate`` had already made an empty store)."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, err = _exit([*argv, "--executor", "dask", *(
        ["--out", str(tmp_path / "o")] if argv is REPLICATE else [])], capsys)
    assert code == 2
    _one_line(err, "--executor dask", "taskattr[dask]")
    assert _stores(cache) == []


@pytest.mark.parametrize("extra, field", [
    (["--set", "train.lr=1e308"], "train.lr"),
    (["--set", "train.lr=1e39", "--set", "train.optimizer=sgd"], "train.lr"),
    (["--set", "train.init=pretrained", "--set", "train.pretrain_lr=1e308"], "train.pretrain_lr"),
    (["--set", "train.steps=1000000000"], "train.steps"),
    (["--set", "train.batch_size=1000000000"], "train.batch_size"),
    (["--set", "train.init=pretrained", "--set", "train.pretrain_steps=1000000000"],
     "train.pretrain_steps"),
])
def test_values_that_overflow_or_cannot_fit_exit_2_naming_the_field(cache, capsys, extra,
                                                                    field):
    """``train.lr=1e308``: 'value cannot be converted to type float without overflow' from
    inside torch's optimizer, a traceback, with an empty store left behind."""
    code, err = _exit(["ground-truth", *TINY[:-2], *extra], capsys)  # tiny's own train.steps
    assert code == 2
    _one_line(err, field, "<=")
    assert _stores(cache) == []


def _broken_pool(workers: int):
    """A process pool whose every chunk dies as if its worker were killed."""

    class Pool:
        def submit(self, fn, job):
            fut: Future = Future()
            fut.set_exception(BrokenProcessPool("a worker died"))
            return fut

        def shutdown(self, **kwargs) -> None:
            pass

    return Pool()


def test_workers_lost_beyond_the_retry_budget_exit_2_in_one_line(cache, capsys, monkeypatch):
    """The message was good, but a RuntimeError traceback printed it."""
    from benchmarks.groundtruth.executors import local

    monkeypatch.setattr(local, "_live", _broken_pool)
    code, err = _exit(["ground-truth", *TINY, "--workers", "2"], capsys)
    assert code == 2
    _one_line(err, "--workers 2", f"died {local.MAX_RESTARTS + 1} times", "rerun to resume")


def test_dask_workers_lost_beyond_allowed_failures_exit_2_in_one_line(cache, capsys,
                                                                       monkeypatch):
    """Dask's KilledWorker came out as a traceback of its internals."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    from benchmarks.groundtruth.executors import dask_pool

    class Killed:
        def result(self):
            raise distributed.KilledWorker("chunk-0", None, 3)

    class Client:
        def submit(self, *args, **kwargs):
            return Killed()

        def close(self) -> None:
            pass

    monkeypatch.setattr(distributed, "as_completed", iter)
    monkeypatch.setattr(dask_pool, "runner", lambda *a: dask_pool.DaskRunner(Client(), None, 1))
    code, err = _exit(["ground-truth", *TINY, "--executor", "dask"], capsys)
    assert code == 2
    _one_line(err, "--executor dask", "chunk 0 of modular-quad", "allowed-failures")


def test_a_full_disk_names_the_file_being_written(cache, capsys, monkeypatch):
    """'error: No space left on device' named no file: which disk, which folder?"""
    assert main(["ground-truth", *TINY]) == 0
    real = os.write

    def write(fd: int, data) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    code, err = _exit(["run", *TINY, "--method", "loo"], capsys)
    assert code == 2
    _one_line(err, str(cache / "results"), ".npy: No space left on device")
    assert not list(cache.rglob("*.tmp"))


# --- C: files and folders only their owner could read ----------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_stores_and_results_get_the_umask_permissions(cache, umask):
    """Every atomically written file was 0600 and each store folder 0700 whatever the umask."""
    old = os.umask(umask)
    try:
        assert main(["run", *TINY, "--method", "loo"]) == 0
    finally:
        os.umask(old)
    (store,) = _stores(cache)
    (record,) = (cache / "results").rglob("record.json")
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(store) == 0o777 & ~umask
    assert mode(store / "manifest.json") == mode(record) == 0o666 & ~umask
    assert mode(record.with_name("scores.npy")) == 0o666 & ~umask


# --- D: refusals that came after a store was made (or a run that ignored an option) ----------

def test_a_method_that_does_not_apply_is_refused_before_training(cache, capsys):
    """It trained the whole store, then printed 'skipped' with exit 0."""
    code, err = _exit(["run", *TINY, "--set", "design.loo=false", "--method", "loo"], capsys)
    assert code == 2
    _one_line(err, "--method loo", "design.loo")
    assert _stores(cache) == []


def test_options_that_would_be_ignored_are_refused(cache, capsys):
    """``--slurm-dry-run`` without ``--executor slurm`` trained everything."""
    code, err = _exit(["ground-truth", *TINY, "--slurm-dry-run"], capsys)
    assert code == 2
    _one_line(err, "--slurm-dry-run")
    assert _stores(cache) == []


@pytest.mark.parametrize("argv, option", [
    (["run", *TINY, "--method", "loo", "--executor", "slurm", "--slurm-dry-run"],  # an empty
     "--slurm-dry-run"),  # store, then a traceback
    ([*REPLICATE, "--set", "train.steps=5"], "--set"),  # refused after parsing
])
def test_options_a_command_would_refuse_are_not_among_its_options(cache, capsys, argv,
                                                                   option):
    """``run``/``replicate --help`` listed ``--slurm-dry-run`` and ``--set``, which they then
    refused: argparse refuses them now, naming them, before anything is created."""
    code, err = _exit(argv, capsys)
    assert code == 2 and "unrecognized arguments: " + option in err
    assert _stores(cache) == []


def test_collect_with_a_shard_is_refused(cache, capsys):
    """``--collect`` moves every chunk file: a ``--shard`` beside it was silently ignored."""
    assert main(["ground-truth", *TINY]) == 0
    (store,) = _stores(cache)
    before = (store / "done.npy").read_bytes()
    code, err = _exit(["ground-truth", *TINY, "--collect", "--shard", "0/2"], capsys)
    assert code == 2
    _one_line(err, "--collect", "--shard")
    assert (store / "done.npy").read_bytes() == before


# --- E: the bounds are stated where the fields are described --------------------------------

def test_describe_states_the_training_bounds(capsys):
    from benchmarks.common.spec import MAX_BATCH_SIZE, MAX_STEPS

    assert main(["describe", "modular-quad", "--profile", "paper"]) == 0
    rows = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln.strip()}
    assert f">= 1, <= {MAX_STEPS}" in rows["train.steps"] and "37000" in rows["train.steps"]
    assert f">= 0, <= {MAX_BATCH_SIZE}" in rows["train.batch_size"]
    assert "> 0, <= 1e+06" in rows["train.lr"] and "<= 1e+06" in rows["train.pretrain_lr"]
    assert f"<= {MAX_STEPS}" in rows["train.pretrain_steps"]


def test_slurm_dry_run_prints_the_script_and_creates_no_store(cache, capsys):
    code = main(["ground-truth", *TINY, "--executor", "slurm", "--slurm-dry-run"])
    assert code == 0 and "#SBATCH --array=0-" in capsys.readouterr().out
    assert _stores(cache) == []


def test_a_missing_rl_extra_is_one_line_naming_the_extra(cache, capsys, monkeypatch):
    """metaworld missing: a 51-line traceback before; now the extra to install."""
    monkeypatch.setitem(sys.modules, "metaworld", None)
    code, err = _exit(["ground-truth", "--task", "mt10", "--profile", "tiny"], capsys)
    assert code == 2
    _one_line(err, "metaworld", "taskattr[rl]", "pip install -e '.[rl]'")
    assert _stores(cache) == []


def test_a_garbage_benchmark_record_is_refused_by_the_claims(tmp_path):
    from benchmarks.api.claims import Noise
    from benchmarks.common.fsio import CorruptFileError

    assert Noise.measured(tmp_path / "absent.json").spread == {}
    for text in ("{", '{"reproducibility": {"spread_native": {"x": 1}}}', "[1, 2]"):
        (tmp_path / "bench.json").write_text(text)
        with pytest.raises(CorruptFileError, match="bench.json"):
            Noise.measured(tmp_path / "bench.json")
