"""Gradient methods on a model of one's own: ``attribute`` wraps a trained ``torch`` module, its
training data and its targets as the ``TrainedModel`` a registered task's store would give a
method, and fits the method on it. No retraining happens: methods that need other training
seeds or checkpoints along training, or the task's training recipe, are refused by name."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import benchmarks.common.device as devices
from benchmarks.api.context import Context, TrainedModel
from benchmarks.api.method import Need, make_method
from benchmarks.common.spec import SpecError
from benchmarks.oracles.fit import fit_on, method_scores
from benchmarks.training.engine import Problem
from taskattr.arrays import Attribution

# methods whose fit reads the task itself, which a model of one's own does not come with
NEEDS_TASK = {"tracin": "the learning rates of the task's training recipe and checkpoints",
              "param_weighted": "the task's key (its base method's seed derives from it)"}
LOSSES = {"softmax_ce": lambda out, y: F.cross_entropy(out, y, reduction="none")}
Pair = tuple[torch.Tensor | np.ndarray, torch.Tensor | np.ndarray]


def attribute(model: nn.Module, train: Pair, targets: Pair, method: str = "influence", *,
              units: np.ndarray | None = None, loss: str | Callable = "softmax_ce",
              seed: int = 0, **params) -> Attribution:
    """Scores ``(K, n_targets)`` of ``units`` (``(K, n_train)`` bool; default: each training
    example its own unit) on the loss of each target example, from a trained ``model`` and its
    data ``train = (X, y)``, ``targets = (Xt, yt)``. ``loss``: ``"softmax_ce"`` (per-example
    cross-entropy on logits) or a per-example loss ``loss(outputs, labels) -> (n,)``; ``method``
    one that reads only the model (``influence``, ``influence_dual``, ``grad_dot``,
    ``grad_cos``, ``trak``), with its fields as ``params``. The model is copied, not changed.

    >>> att = taskattr.attribute(net, (X, y), (Xt, yt), method="influence", damping=1e-3)
    >>> att.scores.shape  # (n_train, n_targets)
    """
    built = make_method(method, params)
    _check(built, loss)
    X, y = (torch.as_tensor(a) for a in train)
    Xt, yt = (torch.as_tensor(a) for a in targets)
    membership = np.eye(len(X), dtype=bool) if units is None else np.asarray(units, dtype=bool)
    if membership.ndim != 2 or membership.shape[1] != len(X):
        raise ValueError(f"units must be (K, n_train={len(X)}) bool, got {membership.shape}")
    trained = _trained(model, X, y, Xt, yt, membership, loss)
    ctx = Context(task=None, seed=seed, model=trained, models=OneModel(trained))
    fitted = fit_on(built, ctx)
    return Attribution(built, fitted, method_scores(built, fitted))


def _check(method, loss: str | Callable) -> None:
    """Refuse what a model of one's own cannot give the method, naming it."""
    name = method.registry_name
    if name in NEEDS_TASK or method.needs != {Need.MODEL}:
        why = NEEDS_TASK.get(name) or ", ".join(sorted(n.value for n in method.needs))
        raise SpecError(f"{name} needs {why}: run it on a registered task with "
                        f"taskattr.evaluate (a surrogate on your own labels: taskattr.fit)")
    if isinstance(loss, str) and loss not in LOSSES:
        raise SpecError(f"invalid loss {loss!r}: {sorted(LOSSES)} or a per-example callable")
    form = loss if isinstance(loss, str) else "custom"
    if method.loss_forms is not None and form not in method.loss_forms:
        raise SpecError(f"{method.display} assumes the {'/'.join(sorted(method.loss_forms))} "
                        f"loss; give loss='softmax_ce' (with a custom loss it cannot check)")


def _trained(model: nn.Module, X: torch.Tensor, y: torch.Tensor, Xt: torch.Tensor,
             yt: torch.Tensor, membership: np.ndarray, loss: str | Callable) -> TrainedModel:
    """The model with its data on the configured device, as a store's full-set model; the
    full-set objective weighs every example some unit holds equally."""
    dev = devices.current()
    module = copy.deepcopy(model).to(dev)
    params = {k: v.detach().clone() for k, v in module.named_parameters()}
    dtype = X.dtype if X.is_floating_point() else torch.float32
    problem = Problem(make_model=lambda: copy.deepcopy(model), X=X.to(dev), y=y.to(dev),
                      loss=LOSSES[loss] if isinstance(loss, str) else loss, dtype=dtype,
                      loss_form=loss if isinstance(loss, str) else "custom")
    held = membership.any(0).astype(np.float64)
    return TrainedModel(problem, module, params, Xt.to(dev), yt.to(dev), membership,
                        held / held.sum())


@dataclass(frozen=True)
class OneModel:
    """``FullModels`` of a single trained model: seed 0 only, no checkpoints."""

    model: TrainedModel

    def seed(self, r: int) -> TrainedModel:
        if r != 0:
            raise SpecError(f"the method asks for the model of training seed {r}; attribute() "
                            f"has one trained model (e.g. set trak's n_models=1)")
        return self.model

    def checkpoints(self, r: int, n: int) -> tuple[list[TrainedModel], list[float]]:
        raise SpecError("the method needs checkpoints along training, which attribute() does "
                        "not have; run it on a registered task with taskattr.evaluate")

    def linearisation_point(self) -> TrainedModel:
        return self.model
