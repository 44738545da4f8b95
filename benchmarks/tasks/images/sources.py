"""Where the image data comes from, in order: a folder the user names (``params.data_dir``),
Debian's ``dataset-fashion-mnist`` package, then Hugging Face ``datasets`` (a local parquet or
arrow export in that folder, or the hub id for users who are online). Whatever the source,
Fashion-MNIST is checked against the sha256 of the four decompressed IDX files (rebuilt as IDX
bytes from a ``datasets`` table), so every source yields the same bits or is refused.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from benchmarks.common.extras import require
from benchmarks.common.fsio import CorruptFileError
from benchmarks.tasks.images import cifar, idx

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_SHA256 = {
    ("train", "images"): "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ("train", "labels"): "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ("test", "images"): "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ("test", "labels"): "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
HUB_IDS = {"fashion-mnist": "fashion_mnist", "cifar10": "cifar10"}
HOW = {"fashion-mnist": "install Debian's dataset-fashion-mnist (apt-get install "
                        "dataset-fashion-mnist), set params.data_dir to a folder with the four "
                        "IDX files or a parquet/arrow export, or go online for the hub id "
                        "'fashion_mnist'",
       "cifar10": "set params.data_dir to a folder with cifar-10-batches-py/, "
                  "cifar-10-batches-bin/ or the official .tar.gz (or go online for the hub id "
                  "'cifar10')"}
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class DataNotFoundError(FileNotFoundError):
    """No source holds the data set; the message says how to get it."""


def load(dataset: str, data_dir: str = "", pins: bool = True) -> Arrays:
    """``(train images (n, C, H, W) uint8, train labels, test images, test labels)``.
    ``pins=False`` skips the checksums (for generated test fixtures only)."""
    return _load(dataset, str(Path(data_dir).expanduser().resolve()) if data_dir else "", pins)


@functools.lru_cache(maxsize=4)
def _load(dataset: str, data_dir: str, pins: bool) -> Arrays:
    if data_dir:  # a named folder that holds nothing usable is an error, not a fallback
        found = _from_folder(dataset, Path(data_dir), pins)
        if found is None:
            raise DataNotFoundError(f"params.data_dir={data_dir}: no {dataset} files there; "
                                    f"{HOW[dataset]}")
        return found
    tried = []
    if dataset == "fashion-mnist":
        tried.append(str(DEBIAN_DIR))
        found = _from_folder(dataset, DEBIAN_DIR, pins)
        if found is not None:
            return found
    tried.append(f"hub:{HUB_IDS[dataset]}")
    try:
        return _verified_table(dataset, _hub(HUB_IDS[dataset]), pins)
    except CorruptFileError:
        raise
    except Exception as err:  # offline, no `datasets`, or no such id
        raise DataNotFoundError(f"{dataset}: not found (tried {', '.join(tried)}: "
                                f"{err.__class__.__name__}); {HOW[dataset]}") from None


def _from_folder(dataset: str, folder: Path, pins: bool) -> Arrays | None:
    if not folder.is_dir():
        return None
    if dataset == "cifar10":
        try:
            return cifar.read_folder(folder, strict=pins)
        except FileNotFoundError:
            pass
    else:
        paths = {key: idx.find(folder, *key) for key in FASHION_SHA256}
        if all(paths.values()):
            return _pack({key: idx.verified(idx.read_bytes(p), FASHION_SHA256[key] if pins
                                            else None, str(p)) for key, p in paths.items()})
    exports = sorted(folder.glob("*.parquet")) + sorted(folder.glob("*.arrow"))
    return _verified_table(dataset, _local_export(exports), pins) if exports else None


def _pack(a: dict) -> Arrays:
    imgs = [a[(s, "images")] for s in ("train", "test")]
    imgs = [x[:, None] if x.ndim == 3 else x for x in imgs]  # (n, 1, 28, 28)
    return (imgs[0], a[("train", "labels")].astype(np.int64), imgs[1],
            a[("test", "labels")].astype(np.int64))


def _local_export(files: list[Path]) -> dict:
    """Splits of a parquet/arrow export (file names containing 'train' / 'test')."""
    load_dataset = _load_dataset()
    kind = "parquet" if files[0].suffix == ".parquet" else "arrow"
    split_files = {s: [str(f) for f in files if s in f.name] for s in ("train", "test")}
    if not all(split_files.values()):
        raise CorruptFileError(f"{files[0].parent}: a {kind} export needs files named "
                               f"*train* and *test*")
    return load_dataset(kind, data_files=split_files)


def _hub(dataset_id: str) -> dict:
    load_dataset = _load_dataset()
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise ConnectionError("the hub is switched off (HF_HUB_OFFLINE)")
    return load_dataset(dataset_id)


def _load_dataset():
    """Hugging Face ``datasets.load_dataset`` (the ``images`` extra), or a one-line refusal."""
    return require("datasets", "images", "reading a parquet/arrow export or a hub id").load_dataset


def _verified_table(dataset: str, table: dict, pins: bool) -> Arrays:
    """Arrays of a ``datasets`` table (columns image/img and label), checked as IDX bytes."""
    arrays = {}
    for split in ("train", "test"):
        rows = table[split]
        col = "image" if "image" in rows.column_names else "img"
        images = np.stack([np.asarray(im, dtype=np.uint8) for im in rows[col]])
        labels = np.asarray(rows["label"], dtype=np.uint8)
        if dataset == "cifar10":  # (n, 32, 32, 3) -> (n, 3, 32, 32)
            arrays[(split, "images")] = images.transpose(0, 3, 1, 2)
            arrays[(split, "labels")] = labels
            continue
        for part, arr in (("images", images), ("labels", labels)):
            want = FASHION_SHA256[(split, part)] if pins else None
            arrays[(split, part)] = idx.verified(idx.encode(arr), want, f"{dataset}:{split}.{part}")
    return _pack(arrays)
