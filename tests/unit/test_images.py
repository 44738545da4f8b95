"""Image data (benchmarks/tasks/images): the IDX and CIFAR-10 readers on files generated here in
every official layout, checksum pins, the sources' order and errors, and the task's units."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from benchmarks.api.task import make_task
from benchmarks.common.fsio import CorruptFileError
from benchmarks.common.spec import SpecError
from benchmarks.tasks.images import cifar, idx, sources
from benchmarks.tasks.images.task import class_groups

RNG = np.random.default_rng(0)
N_TRAIN, N_TEST = 120, 40


def _fashion(folder: Path, gz: bool = True) -> dict:
    """Tiny IDX files in the standard names; returns their decompressed sha256 pins."""
    arrays = {("train", "images"): RNG.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
              ("train", "labels"): (np.arange(N_TRAIN) % 10).astype(np.uint8),
              ("test", "images"): RNG.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
              ("test", "labels"): (np.arange(N_TEST) % 10).astype(np.uint8)}
    folder.mkdir(parents=True, exist_ok=True)
    pins = {}
    for key, arr in arrays.items():
        data = idx.encode(arr)
        pins[key] = hashlib.sha256(data).hexdigest()
        name = idx.file_name(*key)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return {"pins": pins, "arrays": arrays}


@pytest.fixture
def fashion(tmp_path, monkeypatch):
    made = _fashion(tmp_path / "fm")
    monkeypatch.setattr(sources, "FASHION_SHA256", made["pins"])
    monkeypatch.setattr(sources, "DEBIAN_DIR", tmp_path / "no-debian")
    sources._load.cache_clear()
    yield tmp_path / "fm", made["arrays"]
    sources._load.cache_clear()


def test_idx_round_trip_and_refusals(tmp_path):
    arr = RNG.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    data = idx.encode(arr)
    np.testing.assert_array_equal(idx.parse(data, "x"), arr)
    with pytest.raises(CorruptFileError, match="truncated or padded"):
        idx.parse(data[:-1], "x")
    with pytest.raises(CorruptFileError, match="bad magic"):
        idx.parse(b"\x01" + data[1:], "x")
    with pytest.raises(CorruptFileError, match="does not match the pinned"):
        idx.verified(data, "0" * 64, "x")
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(data)[:-8])
    with pytest.raises(CorruptFileError, match=str(bad)):
        idx.read_bytes(bad)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_a_data_dir_of_idx_files_is_read_and_checked(tmp_path, monkeypatch, gz):
    made = _fashion(tmp_path / "d", gz=gz)
    monkeypatch.setattr(sources, "FASHION_SHA256", made["pins"])
    Xtr, ytr, Xte, yte = sources.load("fashion-mnist", str(tmp_path / "d"))
    assert Xtr.shape == (N_TRAIN, 1, 28, 28) and Xte.shape == (N_TEST, 1, 28, 28)
    np.testing.assert_array_equal(Xtr[:, 0], made["arrays"][("train", "images")])
    np.testing.assert_array_equal(yte, made["arrays"][("test", "labels")])
    sources._load.cache_clear()
    monkeypatch.setattr(sources, "FASHION_SHA256", {k: "f" * 64 for k in made["pins"]})
    with pytest.raises(CorruptFileError, match="train-images-idx3-ubyte"):
        sources.load("fashion-mnist", str(tmp_path / "d"))
    sources._load.cache_clear()


def test_a_named_folder_without_the_files_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(sources.DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        sources.load("fashion-mnist", str(tmp_path / "empty"))


def test_no_source_at_all_says_how_to_get_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "DEBIAN_DIR", tmp_path / "none")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    sources._load.cache_clear()
    with pytest.raises(sources.DataNotFoundError) as err:
        sources.load("fashion-mnist")
    assert "hub:fashion_mnist" in str(err.value) and "\n" not in str(err.value)
    sources._load.cache_clear()


def test_a_parquet_export_gives_the_same_arrays(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    made = _fashion(tmp_path / "idx")
    monkeypatch.setattr(sources, "FASHION_SHA256", made["pins"])
    out = tmp_path / "export"
    out.mkdir()
    for split in ("train", "test"):
        imgs = made["arrays"][(split, "images")]
        table = datasets.Dataset.from_dict(
            {"image": [Image.fromarray(im) for im in imgs],
             "label": made["arrays"][(split, "labels")].tolist()},
            features=datasets.Features({"image": datasets.Image(),
                                        "label": datasets.Value("int64")}))
        table.to_parquet(str(out / f"{split}-00000.parquet"))
    got = sources.load("fashion-mnist", str(out))
    want = sources.load("fashion-mnist", str(tmp_path / "idx"))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    sources._load.cache_clear()


def _cifar_batches(n: int) -> dict[str, tuple[np.ndarray, list[int]]]:
    return {name: (RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
                   [int(v) for v in RNG.integers(0, 10, n)]) for name in cifar.PY_MD5}


def _write_cifar(folder: Path, batches: dict, layout: str) -> dict:
    """One official layout of ``batches``; returns the md5 pins of what it wrote."""
    folder.mkdir(parents=True)
    files = {}
    for name, (data, labels) in batches.items():
        if layout.startswith("py"):
            files[f"{cifar.PY_DIR}/{name}"] = pickle.dumps({b"data": data, b"labels": labels})
        else:
            rec = np.concatenate([np.array(labels, np.uint8)[:, None], data], axis=1)
            files[f"{cifar.BIN_DIR}/{name}.bin"] = rec.tobytes()
    pins = {}
    if layout.endswith("tgz"):
        archive = "cifar-10-python.tar.gz" if layout == "py-tgz" else "cifar-10-binary.tar.gz"
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for path, data in files.items():
                info = tarfile.TarInfo(path)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        (folder / archive).write_bytes(buf.getvalue())
        pins[archive] = hashlib.md5(buf.getvalue()).hexdigest()
        return pins
    for path, data in files.items():
        (folder / path).parent.mkdir(exist_ok=True)
        (folder / path).write_bytes(data)
        pins[Path(path).name] = hashlib.md5(data).hexdigest()
    return pins


@pytest.mark.parametrize("layout", ["py", "bin", "py-tgz", "bin-tgz"])
def test_cifar10_reads_every_official_layout(tmp_path, monkeypatch, layout):
    batches = _cifar_batches(6)
    pins = _write_cifar(tmp_path / layout, batches, layout)
    monkeypatch.setattr(cifar, "PY_MD5", {**cifar.PY_MD5, **pins})
    monkeypatch.setattr(cifar, "ARCHIVE_MD5", {**cifar.ARCHIVE_MD5, **pins})
    Xtr, ytr, Xte, yte = cifar.read_folder(tmp_path / layout, strict=False)
    assert Xtr.shape == (30, 3, 32, 32) and Xte.shape == (6, 3, 32, 32)
    np.testing.assert_array_equal(Xtr[:6].reshape(6, -1), batches["data_batch_1"][0])
    assert ytr[:6].tolist() == batches["data_batch_1"][1]


def test_cifar10_pins_and_layout_errors_name_the_file(tmp_path):
    _write_cifar(tmp_path / "py", _cifar_batches(4), "py")
    with pytest.raises(CorruptFileError, match="data_batch_1: md5"):
        cifar.read_folder(tmp_path / "py")  # generated batches do not match the pins
    with pytest.raises(CorruptFileError, match="bad: not a CIFAR-10 python batch"):
        cifar.parse_python_batch(pickle.dumps({b"pixels": 1}), "bad", None)
    with pytest.raises(CorruptFileError, match="evil"):
        cifar.parse_python_batch(pickle.dumps(print), "evil", None)  # no globals beyond numpy
    with pytest.raises(CorruptFileError, match="b1.bin: 10 bytes"):
        cifar.parse_binary_batch(b"0" * 10, "b1.bin")


def test_the_cifar10_task_builds_from_a_data_dir(tmp_path, monkeypatch):
    pins = _write_cifar(tmp_path / "c", _cifar_batches(40), "bin")
    monkeypatch.setattr(cifar, "parse_binary_batch",
                        lambda data, name, n=None, f=cifar.parse_binary_batch: f(data, name, 40))
    sources._load.cache_clear()
    task = make_task("cifar10", "tiny", {"params.data_dir": str(tmp_path / "c")})
    assert pins and task.K == 8 and task.problem().X.shape == (80, 3, 8, 8)
    other = make_task("cifar10", "tiny", {"params.data_dir": str(tmp_path / "elsewhere")})
    assert other.spec.key == task.spec.key  # where the data lives is not what the task is
    sources._load.cache_clear()


def test_fashion_task_units_are_disjoint_groups(fashion):
    folder, arrays = fashion
    for grouping in ("random", "class"):
        task = make_task(f"fmnist-{grouping}", "tiny", {"params.data_dir": str(folder)})
        groups = task._groups
        assert groups.shape == (8, 10) and len(np.unique(groups)) == 80
        assert task.membership.sum(1).tolist() == [10] * 8
    labels = arrays[("train", "labels")].astype(np.int64)
    groups = class_groups(labels, 8, 10, 2, np.random.default_rng(0))
    for k, g in enumerate(groups):  # unit k: class k mod 10 and one other, half each
        classes, counts = np.unique(labels[g], return_counts=True)
        assert k % 10 in classes and len(classes) == 2 and counts.tolist() == [5, 5]
    with pytest.raises(SpecError, match="params.n_units"):
        class_groups(labels, 30, 10, 2, np.random.default_rng(0))


def test_bad_image_params_name_the_field():
    with pytest.raises(SpecError, match="params.pool"):
        make_task("fmnist-class", "tiny", {"params.pool": 3})


@pytest.mark.skipif(not sources.DEBIAN_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is "
                    "not installed (apt-get install dataset-fashion-mnist)")
def test_the_debian_package_is_the_real_fashion_mnist():
    sources._load.cache_clear()
    Xtr, ytr, Xte, yte = sources.load("fashion-mnist")
    assert Xtr.shape == (60_000, 1, 28, 28) and Xte.shape == (10_000, 1, 28, 28)
    assert np.bincount(ytr).tolist() == [6000] * 10 and np.bincount(yte).tolist() == [1000] * 10
