"""Hostile input at the command line: every bad value exits 2 with a message naming the field or
file, before anything is created; nothing that ran before is lost or silently reused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.__main__ import main
from benchmarks.common.schema import RESULT_COLUMNS

TINY = ["--task", "modular-quad", "--profile", "tiny", "--set", "design.n_fit=8",
        "--set", "design.n_eval=6", "--set", "train.steps=20"]
# the small grid (p = 11, 9 units of 4 x 4 blocks, ReLU) on which the checks below were found:
# an indefinite exact Hessian after 20 steps, and units left without training at 20% of the data
SMALL = ["--set", "params.p=11", "--set", "params.block=4", "--set", "params.train_frac=0.8",
         "--set", "params.embed_dim=8", "--set", "params.activation=relu",
         "--set", "train.lr=0.01"]


def _stores(cache: Path) -> list[Path]:
    root = cache / "gt"
    return sorted(p for p in root.iterdir()) if root.exists() else []


def _exit(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as err:  # argparse refuses with exit status 2
        code = err.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("extra, names", [
    (["--batch", "0"], "--batch"),
    (["--batch", "-1"], "--batch"),
    (["--workers", "0"], "--workers"),
    (["--workers", "-3"], "--workers"),
    (["--workers", "100"], "--workers"),
    (["--shard", "3/2"], "--shard"),
    (["--shard", "x"], "--shard"),
    (["--set", "train.lr=Infinity"], "train.lr"),
    (["--set", "train.weight_decay=NaN"], "train.weight_decay"),
    (["--set", "train.sam_rho=Infinity"], "train.sam_rho"),
    (["--set", "train.betas=[0.9]"], "train.betas"),
    (["--set", "train.steps=abc"], "train.steps"),
    (["--set", "train.nso_one_sided=no"], "train.nso_one_sided"),
    (["--set", "name=foo"], "name"),
    (["--set", "profile=paper"], "profile"),
    (["--set", "params.nope=1"], "params.nope"),
])
def test_bad_ground_truth_values_exit_2_before_creating_anything(cache, capsys, extra, names):
    code, err = _exit(["ground-truth", *TINY, *extra], capsys)
    assert code == 2
    assert names in err and "Traceback" not in err
    assert _stores(cache) == []


def test_bool_text_is_parsed_by_the_field_type(cache):
    """``true``/``false`` set a bool field; the key follows the value, not its spelling."""
    from benchmarks.api.task import make_task, parse_overrides

    keys = {text: make_task("modular-quad", "tiny", parse_overrides(
        [f"train.nso_one_sided={text}"])).spec.key for text in ("false", "False", "true")}
    assert keys["false"] == keys["False"] == make_task("modular-quad", "tiny").spec.key
    assert keys["true"] != keys["false"]


def test_batch_and_engine_are_part_of_the_store_key(cache, capsys):
    """A different chunking trains into its own store; the first one is left untouched."""
    assert main(["ground-truth", *TINY, "--batch", "4"]) == 0
    (first,) = _stores(cache)
    before = (first / "loss.npy").read_bytes()
    assert main(["ground-truth", *TINY, "--batch", "8"]) == 0
    assert main(["ground-truth", *TINY, "--batch", "8", "--engine", "loop"]) == 0
    stores = _stores(cache)
    assert len(stores) == 3 and first in stores
    assert (first / "loss.npy").read_bytes() == before
    specs = [json.loads((p / "manifest.json").read_text())["spec"] for p in stores]
    assert sorted((s["execution"]["batch"], s["execution"]["engine"]) for s in specs) == [
        (4, "auto"), (8, "auto"), (8, "loop")]


def test_run_reads_ground_truth_written_with_gt_dir(cache, tmp_path, capsys):
    gt = tmp_path / "elsewhere"
    assert main(["ground-truth", *TINY, "--batch", "16", "--gt-dir", str(gt)]) == 0
    capsys.readouterr()
    assert main(["run", *TINY, "--batch", "16", "--gt-dir", str(gt), "--method", "loo"]) == 0
    assert "lds" in capsys.readouterr().out
    assert _stores(cache) == []  # nothing retrained into the default cache


def test_replicate_out_existing_file_is_refused_at_once(cache, tmp_path, capsys):
    out = tmp_path / "file.txt"
    out.write_text("keep")
    code, err = _exit(["replicate", "--profile", "tiny", "--task", "modular-quad", "--out",
                       str(out)], capsys)
    assert code == 2 and "--out" in err and out.read_text() == "keep"
    assert _stores(cache) == []


def test_replicate_refuses_set_instead_of_ignoring_it(cache, capsys):
    """Not one of replicate's options (each cell runs as its paper defines it)."""
    code, err = _exit(["replicate", "--profile", "tiny", "--task", "modular-quad", "--set",
                       "train.steps=5"], capsys)
    assert code == 2 and "unrecognized arguments: --set train.steps=5" in err
    assert _stores(cache) == []


def test_device_cuda_without_cuda_exits_2_before_creating_anything(cache, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks a machine without CUDA")
    code, err = _exit(["ground-truth", "--task", "modular-quad", "--profile", "tiny",
                       "--device", "cuda:1"], capsys)
    assert code == 2 and "CUDA is not available" in err and "--device auto" in err
    assert _stores(cache) == []


def test_export_into_a_store_folder_is_refused(cache, capsys):
    assert main(["ground-truth", *TINY]) == 0
    (store,) = _stores(cache)
    manifest = (store / "manifest.json").read_bytes()
    code, err = _exit(["export-gt", "modular-quad", "--profile", "tiny", "--set",
                       "design.n_fit=8", "--set", "design.n_eval=6", "--set",
                       "train.steps=20", "--out", str(store)], capsys)
    assert code == 2 and "ground-truth store" in err
    assert (store / "manifest.json").read_bytes() == manifest


def test_damaged_store_exits_2_naming_the_file(cache, capsys):
    assert main(["ground-truth", *TINY]) == 0
    (store,) = _stores(cache)
    data = (store / "loss.npy").read_bytes()
    (store / "loss.npy").write_bytes(data[: len(data) // 2])
    code, err = _exit(["run", *TINY, "--method", "kernel_sm"], capsys)
    assert code == 2 and "loss.npy" in err and "truncated" in err
    assert len((store / "loss.npy").read_bytes()) == len(data) // 2  # not padded back


def test_cached_result_is_recomputed_when_the_ground_truth_changes(cache, capsys):
    """A record carries the store's fingerprint: other ground truth means a fresh fit."""
    from benchmarks.api.method import make_method
    from benchmarks.api.task import make_task, parse_overrides
    from benchmarks.groundtruth.fill import open_store
    from benchmarks.runner import run_cell

    assert main(["ground-truth", *TINY]) == 0
    task = make_task("modular-quad", "tiny", parse_overrides(
        ["design.n_fit=8", "design.n_eval=6", "train.steps=20"]))
    store = open_store(task)
    method = make_method("linear_surrogate")
    first = run_cell(task, store, method)
    assert all(tuple(r) == RESULT_COLUMNS for r in first["rows"])  # the schema's owner
    stamps = [r["created"] for r in first["rows"]]
    assert [r["created"] for r in run_cell(task, store, method)["rows"]] == stamps  # cached
    j = int(store.rows.index("eval")[0])
    values = {n: store.array(n)[j, 0] + (0.5 if n == "loss" else 0.0) for n in store.outputs}
    store.done[j, 0] = 0
    store.write(j, 0, values)  # a repaired row with other values
    second = run_cell(task, open_store(task), method)
    assert second["gt_fingerprint"] != first["gt_fingerprint"]
    lds = [r["value"] for r in second["rows"] if r["metric"] == "lds"]
    assert lds != [r["value"] for r in first["rows"] if r["metric"] == "lds"]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _training(cache: Path) -> bool:
    """Some model of the (only) store is done: the workers are past their start-up."""
    return any(np.load(p / "done.npy").any() for p in _stores(cache)
               if (p / "done.npy").exists())


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killing_the_parent_of_workers_stops_them(tmp_path):
    """``--workers 2``: kill -9 the parent and its training processes exit too."""
    env = {**os.environ, "TASKATTR_CACHE": str(tmp_path), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "benchmarks", "ground-truth", *TINY[:-1], "train.steps=4000",
            "--workers", "2", "--batch", "2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    while proc.poll() is None and (len(workers) < 2 or not _training(tmp_path)):
        time.sleep(0.2)
        workers = [c for c in _children(proc.pid) if b"spawn_main" in _cmdline(c)]
    assert proc.poll() is None, "the run ended before its workers could be observed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(300):
        if not any(_alive(w) for w in workers):
            break
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "workers outlived their parent"


@pytest.mark.parametrize("params, names", [
    (["--param", "solver=cg", "--param", "hessian=exact"], "CG met a direction"),
    (["--param", "solver=lissa", "--param", "hessian=exact"], "LiSSA diverged"),
])
def test_ill_posed_influence_solves_exit_2_and_save_nothing(cache, capsys, params, names):
    """An indefinite Hessian used to give all-NaN (CG) or 1e40 (LiSSA) scores with exit 0."""
    assert main(["ground-truth", *TINY, *SMALL]) == 0
    code, err = _exit(["run", *TINY, *SMALL, "--method", "influence", *params], capsys)
    assert code == 2 and names in err
    assert not list((cache / "results").rglob("record.json"))


@pytest.mark.parametrize("extra, names", [
    ([*SMALL[:4], "--set", "params.train_frac=0.2", "--set", "train.weighting=tasks"],
     "no training"),
    (["--set", "params.arch=transformer", "--set", "params.heads=3"], "params.heads"),
    (["--set", "params.p=100000"], "params.p"),
    (["--batch", "8", "--set", "execution.batch=16"], "not both"),
])
def test_settings_that_cannot_train_exit_2(cache, capsys, extra, names):
    code, err = _exit(["ground-truth", *TINY, *extra], capsys)
    assert code == 2 and names in err and "Traceback" not in err
    assert _stores(cache) == []


def test_edited_cached_record_is_recomputed_not_printed(cache, capsys):
    """A cached record whose value was edited (or whose arrays vanished) is fitted again."""
    assert main(["run", *TINY, "--method", "linear_surrogate"]) == 0
    (path,) = (cache / "results").rglob("record.json")
    record = json.loads(path.read_text())
    true = record["rows"][0]["value"]
    record["rows"][0]["value"] = 0.99
    path.write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["run", *TINY, "--method", "linear_surrogate"]) == 0
    assert json.loads(path.read_text())["rows"][0]["value"] == true
    (path.parent / "scores.npy").unlink()
    assert main(["run", *TINY, "--method", "linear_surrogate"]) == 0
    assert (path.parent / "scores.npy").exists()


def test_paths_that_are_files_exit_2_in_one_line(cache, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for argv in (["run", *TINY, "--method", "loo", "--gt-dir", str(afile)],
                 ["run", *TINY, "--method", "loo", "--gt-dir", str(afile / "sub")]):
        code, err = _exit(argv, capsys)
        assert code == 2 and "afile" in err and "Traceback" not in err


def test_export_refuses_odd_destinations_and_creates_no_store(cache, tmp_path, capsys):
    export = ["export-gt", "modular-quad", "--profile", "tiny", "--set", "design.n_fit=8",
              "--set", "design.n_eval=6", "--set", "train.steps=20"]
    code, err = _exit([*export, "--out", str(tmp_path / "e")], capsys)
    assert code == 2 and "ground-truth" in err and _stores(cache) == []  # not trained: no store
    assert main(["ground-truth", *TINY]) == 0
    for out in ("", "."):
        code, err = _exit([*export, "--out", out], capsys)
        assert code == 2 and "--out" in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, err = _exit([*export, "--out", str(other)], capsys)
    assert code == 2 and (other / "notes.txt").read_text() == "mine"
    assert main([*export, "--out", str(tmp_path / "e")]) == 0
    assert main([*export, "--out", str(tmp_path / "e")]) == 0  # the same task again: fine


def test_damaged_gradex_label_cache_exits_2_naming_the_file(cache, capsys):
    """The GradEx label cache is checked like the store: damage is refused, never used."""
    argv = ["run", *TINY, "--method", "kernel_sm", "--param", "labels=gradex"]
    assert main(argv) == 0
    (folder,) = (p for p in (cache / "gt").rglob("gradex/*") if p.is_dir())
    good = (folder / "labels.npz").read_bytes()
    damages = {
        "labels.npz": lambda: (folder / "labels.npz").write_bytes(good[: len(good) // 2]),
        "meta.json": lambda: (folder / "meta.json").write_text("{"),
    }
    meta = (folder / "meta.json").read_text()
    for name, damage in damages.items():
        for result in (cache / "results").rglob("record.json"):
            result.unlink()  # force a fresh fit that reads the cache
        damage()
        code, err = _exit(argv, capsys)
        assert code == 2 and name in err and "Traceback" not in err, err
        (folder / "labels.npz").write_bytes(good)
        (folder / "meta.json").write_text(meta)
    z = dict(np.load(folder / "labels.npz"))
    z["loss"] = np.full_like(z["loss"], 3.0)
    np.savez(folder / "labels.npz", **z)
    for result in (cache / "results").rglob("record.json"):
        result.unlink()
    code, err = _exit(argv, capsys)
    assert code == 2 and "checksum" in err


def test_naming_the_default_engine_keeps_the_default_key(cache):
    from benchmarks.api.task import make_task

    default = make_task("modular-quad", "tiny")
    named = make_task("modular-quad", "tiny", {"execution.engine": default.engine})
    assert named.spec.key == default.spec.key
