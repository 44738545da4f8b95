"""Image classification on real images: Fashion-MNIST offline by default (Debian's package),
CIFAR-10 at the paper profile from the user's files. Dataset card: datasets/fashion_mnist.md.

Units are ``n_units`` disjoint groups of ``unit_size`` training images, as the paper's CIFAR-10
benchmark (50 groups of 1,000). Two unit designs: ``grouping="random"`` (a seeded shuffle cut
into groups, datamodels style) and ``"class"`` (each unit drawn from one or two classes, so
units that share a class interact). Targets are ``n_targets`` held-out test images, F = their
cross-entropy, and (as the paper's groups of test images) read by class as ten group targets.
Images are average-pooled by ``pool`` and standardised with the training pool's mean and
spread, in plain torch (no torchvision).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.api.task import register_family, register_finetuned
from benchmarks.common.spec import (
    SpecError,
    SubsetDesign,
    TaskSpec,
    TrainSpec,
    derive_seed,
    param,
    validate_fields,
)
from benchmarks.tasks.images import sources
from benchmarks.tasks.images.models import make_model
from benchmarks.training.engine import Problem
from benchmarks.training.retrain_task import RetrainTask

N_CLASSES = 10


@dataclass(frozen=True)
class ImageParams:
    """Data, units, targets and model of an image task."""

    dataset: str = param("fashion-mnist", "the image data set", choices=("fashion-mnist",
                                                                         "cifar10"))
    n_units: int = param(50, "units K: disjoint groups of training images", ge=2)
    unit_size: int = param(100, "training images per unit", ge=1)
    grouping: str = param("class", "unit design: a random shuffle, or each unit from one or "
                          "two classes", choices=("random", "class"))
    classes_per_unit: int = param(2, "classes a unit draws from (grouping=class)", ge=1, le=2)
    n_targets: int = param(200, "held-out test images (the targets)", ge=1)
    pool: int = param(2, "average-pooling factor of the images (1 = full resolution)", ge=1)
    arch: str = param("mlp", "model: an MLP on the pixels, or ResNet-9", choices=("mlp",
                                                                              "resnet9"))
    hidden: int = param(64, "hidden width of the MLP (0 = softmax regression)", ge=0)
    split_seed: int = param(0, "seed of the unit groups and the target draw", ge=0)
    data_dir: str = param("", "a folder with the data (default: Debian's package, then the "
                          "hub); where the data is, not what it is: never in the task key",
                          location=True)

    def validate(self) -> None:
        validate_fields(self, "params")
        side = 28 if self.dataset == "fashion-mnist" else 32
        if side % self.pool:
            raise SpecError(f"invalid config field params.pool: {self.pool} must divide the "
                            f"image side {side}")
        if self.grouping == "class" and self.unit_size < self.classes_per_unit:
            raise SpecError("invalid config field params.unit_size: must be at least "
                            "params.classes_per_unit under grouping=class")


class ImageClassification(RetrainTask):
    """Units = groups of training images (module docstring)."""

    params: ImageParams

    @functools.cached_property
    def _raw(self) -> tuple[np.ndarray, ...]:
        return sources.load(self.params.dataset, self.params.data_dir)

    @functools.cached_property
    def _groups(self) -> np.ndarray:
        """``(K, unit_size)`` indices into the training images."""
        _, y, _, _ = self._raw
        p = self.params
        rng = np.random.default_rng(derive_seed("images", p.dataset, p.split_seed, "units"))
        if p.grouping == "random":
            need = p.n_units * p.unit_size
            if need > len(y):
                raise SpecError(f"invalid config field params.n_units: {p.n_units} x "
                                f"{p.unit_size} = {need} images, the data has {len(y)}")
            return rng.permutation(len(y))[:need].reshape(p.n_units, p.unit_size)
        return class_groups(y, p.n_units, p.unit_size, p.classes_per_unit, rng)

    @functools.cached_property
    def _data(self) -> tuple[np.ndarray, ...]:
        Xtr, ytr, Xte, yte = self._raw
        p = self.params
        train = self._groups.ravel()
        rng = np.random.default_rng(derive_seed("images", p.dataset, p.split_seed, "targets"))
        if p.n_targets > len(yte):
            raise SpecError(f"invalid config field params.n_targets: {p.n_targets} > the "
                            f"{len(yte)} test images")
        test = rng.permutation(len(yte))[: p.n_targets]
        a, b = preprocess(Xtr[train], p.pool), preprocess(Xte[test], p.pool)
        mu, sd = a.mean(), a.std() + 1e-6
        return (a - mu) / sd, ytr[train], (b - mu) / sd, yte[test]

    @functools.cached_property
    def membership(self) -> np.ndarray:
        p = self.params
        return np.kron(np.eye(p.n_units, dtype=bool), np.ones((1, p.unit_size), dtype=bool))

    @property
    def chance(self) -> float:
        return 1.0 / N_CLASSES

    @property
    def engine(self) -> str:
        """Batched for the MLP; the loop for ResNet-9 (one model already fills the cores)."""
        return "loop" if self.params.arch == "resnet9" else "batched"

    def problem(self, dtype: torch.dtype = torch.float32) -> Problem:
        X, y, _, _ = self._data
        shape = X.shape[1:]
        p = self.params
        return Problem(make_model=lambda: make_model(p.arch, shape, p.hidden, N_CLASSES),
                       X=torch.as_tensor(X).to(dtype), y=torch.as_tensor(y), dtype=dtype,
                       loss=lambda logits, y: F.cross_entropy(logits, y, reduction="none"))

    @property
    def target_groups(self) -> tuple[np.ndarray, ...]:
        """The targets by class: the paper's CIFAR-10 targets are groups of test images."""
        yte = self._data[3]
        return tuple(np.flatnonzero(yte == c) for c in range(N_CLASSES) if (yte == c).any())

    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        _, _, Xte, yte = self._data
        return torch.as_tensor(Xte), torch.as_tensor(yte)


def class_groups(y: np.ndarray, n_units: int, size: int, per_unit: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``(n_units, size)`` disjoint groups; unit k draws from class ``k mod 10`` and, with two
    classes per unit, a second class that shifts with ``k // 10`` (so pairs repeat rarely)."""
    pools = {c: list(rng.permutation(np.flatnonzero(y == c))) for c in range(N_CLASSES)}
    out = np.zeros((n_units, size), dtype=np.int64)
    for k in range(n_units):
        first = k % N_CLASSES
        classes = [first, (first + 1 + (k // N_CLASSES) % (N_CLASSES - 1)) % N_CLASSES]
        counts = np.diff(np.linspace(0, size, per_unit + 1).round().astype(int))
        taken = []
        for c, n in zip(classes[:per_unit], counts, strict=True):
            if len(pools[c]) < n:
                raise SpecError(f"invalid config field params.n_units: class {c} has too few "
                                f"images for {n_units} units of {size} (grouping=class)")
            taken += [pools[c].pop() for _ in range(n)]
        out[k] = taken
    return out


def preprocess(images: np.ndarray, pool: int) -> np.ndarray:
    """uint8 ``(n, C, H, W)`` -> float32 in [0, 1], average-pooled by ``pool``."""
    x = torch.as_tensor(np.ascontiguousarray(images), dtype=torch.float32) / 255.0
    if pool > 1:
        x = F.avg_pool2d(x, pool)
    return x.numpy()


def profile_spec(grouping: str, profile: str) -> TaskSpec:
    """tiny / quick / paper settings (evidence: datasets/fashion_mnist.md)."""
    name = f"fmnist-{grouping}"
    if profile == "tiny":  # lr 3e-2: at 1e-2 fmnist-class-ft's 10-step W0 stayed at chance
        return TaskSpec(name, ImageParams(n_units=8, unit_size=10, grouping=grouping,
                                          n_targets=40, pool=4, hidden=8),
                        TrainSpec(lr=3e-2, weight_decay=0.01, steps=40),
                        SubsetDesign(alpha=0.5, n_fit=16, n_eval=8, n_seeds=2), profile)
    if profile == "quick":
        return TaskSpec(name, ImageParams(grouping=grouping, hidden=32),
                        TrainSpec(lr=1e-2, weight_decay=0.01, steps=300, batch_size=256),
                        SubsetDesign(alpha=0.5, n_fit=200, n_eval=50, n_seeds=2), profile)
    return TaskSpec(name, ImageParams(unit_size=1000, grouping=grouping, n_targets=500, pool=1,
                                      hidden=256),
                    TrainSpec(lr=1e-3, weight_decay=0.01, steps=3000, batch_size=512),
                    SubsetDesign(alpha=0.5, n_fit=1000, n_eval=100, n_seeds=1), profile)


def cifar_spec(profile: str) -> TaskSpec:
    """The paper's protocol: 50 groups of 1,000 CIFAR-10 images, ResNet-9 (paper profile; at
    tiny/quick the same protocol scaled, for users who have the files)."""
    if profile == "paper":
        return TaskSpec("cifar10", ImageParams(dataset="cifar10", unit_size=1000,
                                               grouping="random", n_targets=500, pool=1,
                                               arch="resnet9"),
                        TrainSpec(lr=1e-3, weight_decay=5e-4, steps=2000, batch_size=512),
                        SubsetDesign(alpha=0.5, n_fit=500, n_eval=100, n_seeds=1), profile)
    spec = profile_spec("random", profile)
    return TaskSpec("cifar10", ImageParams(**{**spec.params.__dict__, "dataset": "cifar10"}),
                    spec.train, spec.design, profile)


for _grouping in ("random", "class"):
    _make = functools.partial(profile_spec, _grouping)
    _what = (f"Fashion-MNIST, units = {'random' if _grouping == 'random' else 'class-structured'}"
             f" groups of training images, MLP")
    register_family(f"fmnist-{_grouping}", ImageClassification, _make, _what)
    register_finetuned(f"fmnist-{_grouping}", ImageClassification, _make, _what)
register_family("cifar10", ImageClassification, cifar_spec,
                "CIFAR-10 (your files, params.data_dir), 50 groups of 1,000 images, ResNet-9")
