"""Ground truth in the field's formats (dattri tensors, a Parquet dataset): exports load with
``torch.load(weights_only=True)`` and ``datasets.load_dataset``, round trips are bit-identical,
tampered files are refused naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from benchmarks.__main__ import main
from benchmarks.api.task import make_task
from benchmarks.groundtruth import bundle
from benchmarks.groundtruth import transfer as gt_io
from benchmarks.groundtruth.fill import model_seed, open_store
from benchmarks.groundtruth.formats import GroundTruthFormatError, detect
from benchmarks.groundtruth.transfer import ImportOptions
from benchmarks.tasks.imported import import_gt

DATA = Path(__file__).parents[1] / "data" / "gt"
FIELDS = ("masks_fit", "targets_fit", "masks_eval", "targets_eval")
FORMATS = ("dattri", "parquet")


def _split(name: str) -> gt_io.Split:
    return gt_io.load_split(gt_io.load_entry(name))


def _assert_same(a: gt_io.Split, b: gt_io.Split) -> None:
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        assert x.shape == y.shape and np.array_equal(x, y), field  # bit-identical float64


def _export_fixture(tmp_path: Path, fmt: str, source: Path = DATA / "sample.npz") -> Path:
    """``source`` imported as task ``first`` (a store built from a test fixture), exported."""
    import_gt(source, "first")
    task = make_task("first")
    gt_io.export_gt(task, open_store(task), tmp_path / fmt, fmt=fmt)
    return tmp_path / fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_of_a_fixture_store_is_bit_identical(cache, tmp_path, fmt):
    out = _export_fixture(tmp_path, fmt)
    for i, path in enumerate((out, out / "manifest.json")):  # the folder or its manifest
        assert detect(out / "manifest.json") == fmt
        import_gt(path, f"back{i}")
        _assert_same(_split("first"), _split(f"back{i}"))
        assert gt_io.load_entry(f"back{i}")["content_hash"] == \
            gt_io.load_entry("first")["content_hash"]


@pytest.mark.parametrize("fmt", ("npz", *FORMATS))
def test_round_trip_of_tiny_addition_is_bit_identical(tiny_addition, cache, tmp_path, fmt):
    """Every row comes back: fitting and held-out subsets, the full set and leave-one-out
    rows, so the imported task's store holds the exported one's rows and values bit for bit
    and the methods and metrics that need leave-one-out rows run on it."""
    task, store = tiny_addition
    gt_io.export_gt(task, store, tmp_path / fmt, fmt=fmt)
    manifest = json.loads((tmp_path / fmt / "manifest.json").read_text())
    assert manifest["task_key"] == task.spec.key and ("sign" in manifest or fmt == "npz")
    import_gt(tmp_path / fmt, "tiny-back")
    s, rows, F = _split("tiny-back"), store.rows, store.array(task.primary)
    for role in ("fit", "eval"):
        idx = rows.index(role)
        assert np.array_equal(getattr(s, f"masks_{role}"), rows.masks[idx])
        assert np.array_equal(getattr(s, f"targets_{role}"), F[idx])  # (m, R, T), every seed
    assert len(rows.index("loo")) == task.K and gt_io.load_entry("tiny-back")["loo"]
    back = make_task("tiny-back")
    back_store = open_store(back)
    assert back.spec.design.loo and back_store.rows.names == rows.names
    assert back_store.rows.roles == rows.roles
    assert np.array_equal(back_store.rows.masks, rows.masks)
    assert np.array_equal(back_store.array(back.primary), F)  # full and loo rows included


def test_loo_rows_in_another_order_come_back_in_unit_order(tiny_addition, cache, tmp_path):
    """A Parquet export whose leave-one-out rows were shuffled imports to the same store."""
    task, store = tiny_addition
    out = tmp_path / "parquet"
    gt_io.export_gt(task, store, out, fmt="parquet")
    loo = out / "data" / "loo.parquet"
    table, R = pq.read_table(loo), store.done.shape[1]
    subsets = np.arange(table.num_rows).reshape(-1, R)[::-1]  # the seeds of one kept together
    pq.write_table(table.take(subsets.reshape(-1).copy()), loo)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["data/loo.parquet"] = bundle.sha256(loo)
    (out / "manifest.json").write_text(json.dumps(manifest))
    import_gt(out, "reordered")
    np.testing.assert_array_equal(_split("reordered").targets_loo,
                                  store.array(task.primary)[store.rows.index("loo")])


def test_loo_rows_without_the_full_set_are_refused(tiny_addition, cache, tmp_path):
    task, store = tiny_addition
    out = tmp_path / "parquet"
    gt_io.export_gt(task, store, out, fmt="parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["files"]["data/full.parquet"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(GroundTruthFormatError, match="loo rows without full rows"):
        import_gt(out, "half")


def test_dattri_tensors_are_dattris_layout(tiny_addition, tmp_path):
    """LDS pair: (-seed mean (m, T), indices (m, size)); LOO pair: (seed mean, removed unit)."""
    task, store = tiny_addition
    gt_io.export_gt(task, store, tmp_path, fmt="dattri")
    rows, F = store.rows, store.array(task.primary)
    values, idx = torch.load(tmp_path / "lds_eval.pt", weights_only=True)
    ev = rows.index("eval")
    assert values.dtype == torch.float64 and idx.dtype == torch.int64
    assert np.array_equal(values.numpy(), -F[ev].mean(1))
    size = int(rows.masks[ev[0]].sum())  # a fixed-size design: no padding
    assert idx.shape == (len(ev), size)
    assert np.array_equal(idx.numpy(), np.stack([np.flatnonzero(m) for m in rows.masks[ev]]))
    loo_values, removed = torch.load(tmp_path / "loo.pt", weights_only=True)
    assert np.array_equal(removed.numpy(), np.arange(task.K))
    assert np.array_equal(loo_values.numpy(), F[rows.index("loo")].mean(1))
    per_seed = torch.load(tmp_path / "per_seed.pt", weights_only=True)
    assert set(per_seed) == {"full", "loo", "eval", "fit"}


def test_parquet_rows_and_training_seeds(tiny_addition, tmp_path):
    task, store = tiny_addition
    gt_io.export_gt(task, store, tmp_path, fmt="parquet")
    table = pq.read_table(tmp_path / "data" / "fit.parquet").to_pylist()
    R, fit = store.done.shape[1], store.rows.index("fit")
    assert len(table) == len(fit) * R
    first = table[1]  # fit/0, seed 1
    assert (first["row"], first["split"], first["seed"]) == ("fit/0", "fit", 1)
    assert first["training_seed"] == model_seed(task, store.rows, int(fit[0]), 1)
    assert first["mask"] == store.rows.masks[fit[0]].tolist()
    assert first["F"] == store.array(task.primary)[fit[0], 1].tolist()
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\n") and "path: data/loo.parquet" in card


def test_uneven_subsets_are_padded_with_K(cache, tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((14, 9)) < 0.5
    masks[masks.sum(1) == 0, 0] = True
    np.savez(tmp_path / "uneven.npz", masks_fit=masks[:8], masks_eval=masks[8:],
             targets_fit=rng.normal(size=(8, 2)), targets_eval=rng.normal(size=(6, 2)))
    out = _export_fixture(tmp_path, "dattri", tmp_path / "uneven.npz")
    _, idx = torch.load(out / "lds_fit.pt", weights_only=True)
    assert idx.shape == (8, masks[:8].sum(1).max()) and (idx == 9).sum() > 0
    import_gt(out, "back")
    _assert_same(_split("first"), _split("back"))


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("fmt", "file"), [("dattri", "lds_eval.pt"), ("dattri", "per_seed.pt"),
                                           ("parquet", "data/fit.parquet")])
def test_tampered_file_is_refused_naming_it(cache, tmp_path, capsys, fmt, file):
    out = _export_fixture(tmp_path, fmt)
    _damage(out / file)
    with pytest.raises(GroundTruthFormatError, match=Path(file).name):
        import_gt(out, "tampered")
    assert main(["import-gt", str(out / "manifest.json"), "--name", "tampered"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and file in err and "sha256" in err
    (out / file).unlink()
    with pytest.raises(GroundTruthFormatError, match="missing"):
        import_gt(out, "tampered")


def test_bare_dattri_pair_and_parquet_file_import(cache, tmp_path):
    """Files made elsewhere (no manifest): dattri's flipped values, a Parquet table."""
    rng = np.random.default_rng(1)
    idx = torch.stack([torch.from_numpy(rng.permutation(10)[:4]) for _ in range(9)])
    values = torch.from_numpy(rng.normal(size=(9, 3))).float()
    torch.save((values, idx), tmp_path / "gt.pt")
    with pytest.raises(GroundTruthFormatError, match="--n-fit"):
        import_gt(tmp_path / "gt.pt", "bare")
    import_gt(tmp_path / "gt.pt", "bare", ImportOptions(n_fit=4, n_units=12))
    s = _split("bare")
    assert s.masks_fit.shape == (4, 12) and s.masks_fit.sum() == 16
    assert np.array_equal(s.targets_eval[:, 0], -values[4:].double().numpy())
    masks = rng.random((7, 5)) < 0.6
    masks[:, 0] = True
    table = pa.table({"mask": masks.tolist(), "F": rng.normal(size=(7, 2)).tolist(),
                      "split": ["fit"] * 3 + ["eval"] * 4})
    pq.write_table(table, tmp_path / "bare.parquet")
    import_gt(tmp_path / "bare.parquet", "bare-pq")
    s = _split("bare-pq")
    assert np.array_equal(s.masks_eval, masks[3:]) and s.targets_fit.shape == (3, 1, 2)


def test_a_manifest_of_another_format_or_without_sizes_is_refused(cache, tmp_path):
    out = _export_fixture(tmp_path, "parquet")
    with pytest.raises(GroundTruthFormatError, match="not a taskattr-groundtruth/dattri-1"):
        import_gt(out / "manifest.json", "x", ImportOptions(fmt="dattri"))
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "K": "8"}))
    with pytest.raises(GroundTruthFormatError, match="K and n_targets"):
        import_gt(out, "x")


def test_an_npz_export_folder_imports(cache, tmp_path):
    out = _export_fixture(tmp_path, "npz")
    import_gt(out, "back")
    _assert_same(_split("first"), _split("back"))


def test_bad_field_files_refused(cache, tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(GroundTruthFormatError, match="junk.pt: not a readable torch file"):
        import_gt(tmp_path / "junk.pt", "x")
    torch.save((torch.zeros(3, 2), torch.arange(3)), tmp_path / "loo.pt")
    with pytest.raises(GroundTruthFormatError, match="LOO pair"):
        import_gt(tmp_path / "loo.pt", "x")
    pq.write_table(pa.table({"mask": [[True, False], [True]], "F": [[1.0], [2.0]]}),
                   tmp_path / "ragged.parquet")
    with pytest.raises(GroundTruthFormatError, match="unequal-length"):
        import_gt(tmp_path / "ragged.parquet", "x", ImportOptions(n_fit=1))
    with pytest.raises(GroundTruthFormatError, match="unknown export format"):
        gt_io.export_gt(None, None, tmp_path, fmt="hdf5")
    with pytest.raises(GroundTruthFormatError, match="--jsonl"):
        gt_io.export_gt(None, None, tmp_path, jsonl=True, fmt="parquet")


def test_parquet_export_loads_with_datasets(cache, tmp_path):
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets not installed")
    out = _export_fixture(tmp_path, "parquet")
    files = {s: str(out / "data" / f"{s}.parquet") for s in ("fit", "eval")}
    ds = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))
    card = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf2"))
    s = _split("first")
    R, T = s.targets_fit.shape[1:]
    for d in (ds, card):
        assert d["fit"].num_rows == len(s.masks_fit) * R
        assert np.array_equal(np.array(d["eval"]["mask"])[::R], s.masks_eval)
        assert np.array_equal(np.array(d["fit"]["F"]), s.targets_fit.reshape(-1, T))
