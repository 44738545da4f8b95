"""Sample-level tasks ``digits-logreg`` and ``digits-mlp`` on scikit-learn's bundled 8x8 digits.

The field's standard sample-level benchmark (MNIST + logistic regression / MLP, as in TRAK and
dattri) scaled to data that ships with scikit-learn (1,797 images, 10 classes, no download).
Units are single training examples (K = n_train); targets are held-out images (F = their
cross-entropy); LDS uses fixed-size subsets of half the training set (alpha = 0.5).
Dataset card: datasets/digits.md.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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
from benchmarks.training.engine import Problem
from benchmarks.training.retrain_task import RetrainTask

N_IMAGES = 1797  # scikit-learn's bundled 8x8 digits


@dataclass(frozen=True)
class DigitsParams:
    """Data split and model of a digits task (``hidden = 0``: logistic regression)."""

    n_train: int = param(500, "training images (= units K)", ge=2)
    n_targets: int = param(100, "held-out target images (n_train + n_targets <= 1797)", ge=1)
    split_seed: int = param(0, "seed of the train/target split of the images", ge=0)
    hidden: int = param(0, "hidden width of the MLP (0 = logistic regression)", ge=0)

    def validate(self) -> None:
        validate_fields(self, "params")
        if self.n_train + self.n_targets > N_IMAGES:
            raise SpecError(f"invalid config field params.n_train/n_targets: n_train + "
                            f"n_targets = {self.n_train + self.n_targets} must be <= "
                            f"{N_IMAGES} (the images in the dataset)")


@dataclass(frozen=True)
class FlipDigitsParams(DigitsParams):
    """Digits with ``round(flip_rate * n_train)`` training labels flipped uniformly to another
    class (methods/METHODS.md §3.7); a separate class so the clean tasks' keys do not change."""

    flip_rate: float = param(0.1, "fraction of training labels flipped to another class",
                             gt=0, lt=1)


def make_model(hidden: int) -> nn.Module:
    if hidden == 0:
        return nn.Linear(64, 10)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


class Digits(RetrainTask):
    """8x8 digits; units = training examples."""

    params: DigitsParams

    @functools.cached_property
    def _data(self) -> tuple[np.ndarray, ...]:
        from sklearn.datasets import load_digits  # lazily: a second of start-up

        X, y = load_digits(return_X_y=True)
        perm = np.random.default_rng(self.params.split_seed).permutation(len(y))
        tr = perm[: self.params.n_train]
        te = perm[self.params.n_train: self.params.n_train + self.params.n_targets]
        mu, sd = X[tr].mean(0), X[tr].std(0) + 1.0  # +1: blank pixels have zero spread
        Z = ((X - mu) / sd).astype(np.float32)
        return Z[tr], self._train_labels(y[tr]), Z[te], y[te]

    def _train_labels(self, y: np.ndarray) -> np.ndarray:
        return y

    @functools.cached_property
    def membership(self) -> np.ndarray:
        return np.eye(self.params.n_train, dtype=bool)

    @property
    def chance(self) -> float:
        return 0.1

    def problem(self, dtype: torch.dtype = torch.float32) -> Problem:
        Xtr, ytr, _, _ = self._data
        return Problem(make_model=lambda: make_model(self.params.hidden),
                       X=torch.as_tensor(Xtr).to(dtype), y=torch.as_tensor(ytr), dtype=dtype,
                       loss=lambda logits, y: F.cross_entropy(logits, y, reduction="none"))

    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        _, _, Xte, yte = self._data
        return torch.as_tensor(Xte), torch.as_tensor(yte)


class FlippedDigits(Digits):
    """Digits whose training set has deliberately flipped labels (mislabel detection)."""

    params: FlipDigitsParams

    @functools.cached_property
    def flipped(self) -> np.ndarray:
        n = self.params.n_train
        rng = np.random.default_rng(derive_seed(self.spec.base_key, "flip"))
        out = np.zeros(n, dtype=bool)
        out[rng.choice(n, size=max(1, round(self.params.flip_rate * n)), replace=False)] = True
        return out

    def _train_labels(self, y: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(derive_seed(self.spec.base_key, "flip-to"))
        shift = rng.integers(1, 10, size=len(y))  # never back to the true class
        return np.where(self.flipped, (y + shift) % 10, y)


def profile_spec(hidden: int, profile: str) -> TaskSpec:
    """tiny / quick / paper settings (datasets/digits.md)."""
    name = "digits-logreg" if hidden == 0 else "digits-mlp"
    width = 0 if hidden == 0 else hidden
    if profile == "tiny":
        return TaskSpec(name, DigitsParams(n_train=40, n_targets=10, hidden=min(width, 8)),
                        TrainSpec(lr=0.05, weight_decay=0.01, steps=40),
                        SubsetDesign(alpha=0.5, n_fit=24, n_eval=16, n_seeds=2), profile)
    if profile == "quick":
        return TaskSpec(name, DigitsParams(hidden=width),
                        TrainSpec(lr=0.02, weight_decay=0.01, steps=300),
                        SubsetDesign(alpha=0.5, n_fit=1000, n_eval=100, n_seeds=2), profile)
    return TaskSpec(name, DigitsParams(n_train=1000, n_targets=200, hidden=width),
                    TrainSpec(lr=0.02, weight_decay=0.01, steps=1000),
                    SubsetDesign(alpha=0.5, n_fit=5000, n_eval=200, n_seeds=5), profile)


def flip_spec(hidden: int, profile: str) -> TaskSpec:
    """The clean profile with 10% flipped labels, fewer fitting subsets and no LOO rows (the
    variant exists for ``mislabel_auc``; its LDS rows come along at little cost)."""
    spec = profile_spec(hidden, profile)
    params = FlipDigitsParams(**dataclasses.asdict(spec.params))
    design = dataclasses.replace(spec.design, loo=False,
                                 n_fit=min(spec.design.n_fit, 200))
    return dataclasses.replace(spec, name=spec.name + "-flip", params=params, design=design)


register_family("digits-logreg", Digits, functools.partial(profile_spec, 0),
                "sklearn 8x8 digits, logistic regression; units = training examples")
register_family("digits-mlp", Digits, functools.partial(profile_spec, 64),
                "sklearn 8x8 digits, MLP 64-64-10; units = training examples")
register_finetuned("digits-mlp", Digits, functools.partial(profile_spec, 64),
                   "sklearn 8x8 digits, MLP 64-64-10")
register_family("digits-logreg-flip", FlippedDigits, functools.partial(flip_spec, 0),
                "digits-logreg with 10% of training labels flipped (mislabel detection)")
register_family("digits-mlp-flip", FlippedDigits, functools.partial(flip_spec, 64),
                "digits-mlp with 10% of training labels flipped (mislabel detection)")
