"""Hostile input, third pass: the cached artefacts around the store (W0, full-set models and
checkpoints, SLURM chunk files, imported files, method records, older unchecked caches) are
verified on every read. Each case reproduces a failure that once gave a wrong number with exit
0; now it exits 2 in one line naming the file, or the artefact is recomputed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.__main__ import main
from benchmarks.common.fsio import CorruptFileError

TINY = ["--task", "modular-quad", "--profile", "tiny", "--set", "design.n_fit=8",
        "--set", "design.n_eval=6", "--set", "train.steps=20"]
FT = [*TINY, "--set", "train.init=pretrained", "--set", "train.pretrain_steps=30"]
DATA = Path(__file__).parents[1] / "data" / "gt"


def _exit(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as err:
        code = err.code
    return code, capsys.readouterr().err


def _one_line(err: str, *names: str) -> None:
    assert "Traceback" not in err, err
    assert len([ln for ln in err.splitlines() if "error:" in ln]) == 1, err
    assert not [ln for ln in err.splitlines() if ln.strip() and "error:" not in ln
                and "ground truth" not in ln], err  # the progress bar aside, one line
    for name in names:
        assert name in err, err


def _flip_a_bit(path: Path) -> None:
    """One flipped exponent bit in the first tensor, the file's identity and digest kept (what
    a bit flip on disk does: torch's zip reader checks no CRC)."""
    saved = torch.load(path, weights_only=True)
    value = saved["value"]
    tensors = value if isinstance(value, dict) else value[-1]
    name = sorted(tensors)[0]
    flat = tensors[name].reshape(-1).view(torch.int32)
    flat[0] ^= 1 << 29
    torch.save(saved, path)


def _lds(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out


def test_a_flipped_bit_in_w0_is_refused_before_anything_trains_from_it(cache, capsys):
    assert main(["ground-truth", *FT]) == 0
    (w0,) = (cache / "w0").iterdir()
    _flip_a_bit(w0)
    more = [a if a != "design.n_fit=8" else "design.n_fit=10" for a in FT]  # same W0
    code, err = _exit(["ground-truth", *more], capsys)
    assert code == 2
    _one_line(err, w0.name, "do not match their digest")
    fills = {json.loads((d.parent / "manifest.json").read_text())["spec"]["design"]["n_fit"]:
             bool(np.load(d).any()) for d in (cache / "gt").rglob("done.npy")}
    assert fills.get(8) is True and not fills.get(10)  # nothing trained from the damaged W0


@pytest.mark.parametrize("method, file", [("grad_dot", "full_r0.pt"),
                                          ("tracin", "full_r0_ckpt")])
def test_a_flipped_bit_in_a_cached_full_set_model_is_refused(cache, capsys, method, file):
    assert main(["run", *TINY, "--method", method]) == 0
    (path,) = (p for p in (cache / "gt").rglob("models/*.pt") if p.name.startswith(file))
    _flip_a_bit(path)
    shutil.rmtree(cache / "results")
    code, err = _exit(["run", *TINY, "--method", method], capsys)
    assert code == 2
    _one_line(err, path.name, "do not match their digest")


def test_a_cached_model_without_a_digest_is_refused(cache, capsys):
    assert main(["run", *TINY, "--method", "grad_dot"]) == 0
    (path,) = (cache / "gt").rglob("models/full_r0.pt")
    saved = torch.load(path, weights_only=True)
    del saved["sha256"]
    torch.save(saved, path)
    shutil.rmtree(cache / "results")
    code, err = _exit(["run", *TINY, "--method", "grad_dot"], capsys)
    assert code == 2
    _one_line(err, path.name, "older version")


def test_another_methods_record_folder_is_not_reported_as_this_one(cache, capsys):
    true = _lds(capsys, ["run", *TINY, "--method", "grad_dot"])
    other = _lds(capsys, ["run", *TINY, "--method", "grad_cos"])
    assert true != other
    folders = {p.name.split("-")[0]: p for p in (cache / "results").glob("*/*")}
    shutil.rmtree(folders["grad_dot"])
    shutil.copytree(folders["grad_cos"], folders["grad_dot"])
    assert _lds(capsys, ["run", *TINY, "--method", "grad_dot"]) == true
    record = json.loads((folders["grad_dot"] / "record.json").read_text())
    assert record["method_key"] == folders["grad_dot"].name


def _import(cache: Path, capsys) -> Path:
    assert main(["import-gt", str(DATA / "modular_sample.json"), "--name", "rel"]) == 0
    (npz,) = (cache / "imported").glob("rel-*.npz")
    return npz


def test_a_tampered_imported_file_is_not_rebuilt_under_its_old_hash(cache, capsys):
    npz = _import(cache, capsys)
    argv = ["run", "--task", "rel", "--method", "kernel_sm", "--param", "lam=0.01"]
    assert main(argv) == 0
    arrays = dict(np.load(npz))
    arrays["targets_fit"] = arrays["targets_fit"][::-1].copy()
    np.savez(npz, **arrays)
    shutil.rmtree(cache / "gt")
    shutil.rmtree(cache / "results")
    code, err = _exit(argv, capsys)
    assert code == 2
    _one_line(err, npz.name, "no longer hash")
    assert not (cache / "gt").exists()


@pytest.mark.parametrize("ids, extra", [([[0, 1], [2, 10 ** 9], [1, 2], [0, 2], [1]], []),
                                        ([[0, 1], [2, 3], [1, 2], [0, 2], [1]],
                                         ["--n-units", str(10 ** 12)])],
                         ids=["huge-unit-id", "huge-n-units"])
def test_import_of_a_huge_mask_table_is_refused_before_allocating(cache, tmp_path, capsys,
                                                                  ids, extra):
    path = tmp_path / "coin_train_ids_list.json"
    path.write_text(json.dumps(ids))
    (tmp_path / "coin_subset_scores_loss.json").write_text(json.dumps([[1.0]] * len(ids)))
    code, err = _exit(["import-gt", str(path), "--name", "huge", *extra], capsys)
    assert code == 2
    _one_line(err, path.name, "too large")


# --- SLURM chunk files ------------------------------------------------------------------------

def _chunk_files(cache: Path) -> tuple[object, list[Path]]:
    """Train every chunk of the tiny task as an array task would, into chunk files."""
    from benchmarks.api.task import make_task, parse_overrides
    from benchmarks.groundtruth.executors.driver import pending
    from benchmarks.groundtruth.executors.slurm import save_chunk

    overrides = parse_overrides(["design.n_fit=8", "design.n_eval=6", "train.steps=20"])
    fam, jobs = pending(make_task("modular-quad", "tiny", overrides), (0, 1), None)
    store = fam.own
    folder = store.path / "chunks"
    folder.mkdir()
    return store, [Path(save_chunk(j, str(folder), store.task_key)) for j in jobs]


def _rewrite(path: Path, **changes) -> None:
    z = dict(np.load(path))
    z.update(changes)
    np.savez(path, **z)


def _collect(capsys) -> tuple[int, str]:
    return _exit(["ground-truth", *TINY, "--batch", "32", "--collect"], capsys)


def test_good_chunk_files_are_collected(cache, capsys):
    store, files = _chunk_files(cache)
    code, _ = _collect(capsys)
    assert code == 0 and np.asarray(store.done).all()
    assert not list((store.path / "chunks").glob("*.npz"))


def _made_up(path: Path) -> dict:
    return {"loss": np.full_like(np.load(path)["loss"], 0.5)}


def _short(path: Path) -> dict:
    from benchmarks.groundtruth.executors.slurm import chunk_digest

    z = dict(np.load(path))
    values = {k: z[k][:5] for k in ("loss", "correct")}
    return {**values, "sha256": np.array(chunk_digest(str(z["task_key"]), int(z["index"]),
                                                      z["jobs"], values))}


def _index_999(path: Path) -> dict:
    from benchmarks.groundtruth.executors.slurm import chunk_digest

    z = dict(np.load(path))
    values = {k: z[k] for k in ("loss", "correct")}
    return {"index": np.array(999), "sha256": np.array(
        chunk_digest(str(z["task_key"]), 999, z["jobs"], values))}


@pytest.mark.parametrize("damage, why", [
    (_made_up, "do not match their sha256"),
    (_short, "values for"),
    (_index_999, "index 999"),
    (lambda p: {"sha256": None}, "no sha256"),
], ids=["made-up-values", "5-rows-for-32-jobs", "index-999", "no-digest"])
def test_a_bad_chunk_file_is_refused_before_any_row_is_written(cache, capsys, damage, why):
    store, files = _chunk_files(cache)
    changes = damage(files[-1])
    if changes.get("sha256", 0) is None:
        z = dict(np.load(files[-1]))
        del z["sha256"]
        np.savez(files[-1], **z)
    else:
        _rewrite(files[-1], **changes)
    code, err = _collect(capsys)
    assert code == 2
    _one_line(err, files[-1].name, why)
    assert not np.asarray(store.done).any()  # the good files were not written either
    assert all(f.exists() for f in files)


def test_chunk_reader_names_an_unreadable_file(cache):
    from benchmarks.groundtruth.executors.slurm import collect

    store, files = _chunk_files(cache)
    files[0].write_bytes(files[0].read_bytes()[:100])
    with pytest.raises(CorruptFileError, match=files[0].name):
        collect(store)


def test_a_gradex_label_cache_without_its_checksum_is_refused(cache, capsys):
    argv = ["run", *TINY, "--method", "kernel_sm", "--param", "labels=gradex"]
    assert main(argv) == 0
    (meta,) = (cache / "gt").rglob("gradex/*/meta.json")
    saved = json.loads(meta.read_text())
    del saved["labels_sha256"]
    meta.write_text(json.dumps(saved))
    shutil.rmtree(cache / "results")
    code, err = _exit(argv, capsys)
    assert code == 2
    _one_line(err, "labels.npz", "no checksum")


def test_a_full_disk_when_creating_a_store_names_the_file_and_leaves_no_store(
        cache, capsys, monkeypatch):
    """A memory-mapped write into a sparse file on a full disk would be a silent SIGBUS; the
    store's blocks are reserved at creation, so a full disk is an error naming the file."""
    import errno
    import os

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    code, err = _exit(["ground-truth", *TINY], capsys)
    assert code == 2
    _one_line(err, ".npy", "No space left on device")
    root = cache / "gt"
    assert not root.exists() or not any(root.iterdir())  # no store, no temporary folder
