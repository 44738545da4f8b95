"""Method contract: a registered frozen dataclass whose fields are its hyper-parameters.

``fit(ctx)`` does all the work and returns a fitted state; ``scores(fitted) -> (K, n_targets)``
and ``predict(fitted, masks) -> (m, n_targets)`` only read it. Sign convention (methods/METHODS.md
§0): a score > 0 means including the unit raises the target quantity (the loss).
"""

from __future__ import annotations

import enum
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmarks.api.registry import METHODS
from benchmarks.common.fields import coerce, field_type, validate_fields
from benchmarks.common.spec import SpecError, content_hash, keyed_fields, to_plain

if TYPE_CHECKING:  # annotations only: the method contract imports without torch
    from benchmarks.api.context import Context


class Need(enum.Enum):
    """What a method asks its Context for (the runner provides exactly these)."""

    FIT_LABELS = "fit_labels"  # (masks, F) of the fitting subsets from the label oracle
    LOO = "loo"  # F(1) and F(1 - e_k) from retraining
    MODEL = "model"  # the full-set model with its data, and its other seeds and checkpoints
    FIT_MASKS = "fit_masks"  # the fitting subsets' masks, without labels


@dataclass(frozen=True)
class Fitted:
    """A fitted model: ``scores: (K, n_targets)``, ``intercept: (n_targets,)``, extra state.

    ``self_influence: (K,)``, for methods that have one (methods/METHODS.md §3.7): the score of unit
    k on its own training loss in the §0 sign convention (negative: including k lowers its own
    loss), used by the ``mislabel_auc`` metric.
    """

    scores: np.ndarray
    intercept: np.ndarray
    state: dict[str, Any]
    self_influence: np.ndarray | None = None


SOFTMAX_CE = frozenset({"softmax_ce"})  # ``loss_forms`` of methods built on the softmax


class Method:
    """Base class of attribution methods (subclasses are frozen dataclasses)."""

    registry_name: ClassVar[str]
    needs: ClassVar[frozenset[Need]] = frozenset()
    tiny: ClassVar[dict] = {}
    reference_for: ClassVar[frozenset[str]] = frozenset()
    label: ClassVar[str] = ""
    # declared capabilities (a method that fits labels declares ``labels``/``max_labels`` as
    # fields; the others keep these defaults)
    labels: ClassVar[str] = "none"  # the label oracle of its fitting subsets
    max_labels: ClassVar[int] = 0  # at most this many fitting labels (0 = all)
    additive: ClassVar[bool] = True  # predict = masks @ scores + intercept (not overridden)
    weightable: ClassVar[bool] = False  # defines group_contributions (param_weighted wraps it)
    learns_weights: ClassVar[bool] = False  # learns per-group weights (the weight-grid stage)
    loss_forms: ClassVar[frozenset[str] | None] = None  # training losses it assumes (None: any)

    def fit(self, ctx: Context) -> Fitted:
        raise NotImplementedError

    def scores(self, fitted: Fitted) -> np.ndarray:
        """Unit scores ``(K, n_targets)``."""
        return fitted.scores

    def predict(self, fitted: Fitted, masks: np.ndarray) -> np.ndarray:
        """Predicted F ``(m, n_targets)`` of subsets ``masks: (m, K)``; additive by default."""
        return masks.astype(np.float64) @ fitted.scores + fitted.intercept

    def skip(self, task: Any) -> str | None:
        """A reason this method does not apply to ``task``, or None."""
        return None

    def applies(self, task: Any) -> str | None:
        """Why the method cannot run on ``task`` (a declared loss form it lacks, then
        ``skip``), or None: the one check every caller makes."""
        form = getattr(type(task), "loss_form", None)
        if self.loss_forms is not None and form is not None and form not in self.loss_forms:
            return (f"{self.display} assumes the {'/'.join(sorted(self.loss_forms))} loss; "
                    f"{task.spec.name} trains with the {form} loss")
        return self.skip(task)

    def validate(self) -> None:
        """Checks across fields (each field's own type and rule are checked generically)."""

    def config(self) -> dict:
        return {f.name: to_plain(getattr(self, f.name)) for f in fields(self)}

    def non_default(self) -> dict:
        out = {}
        for f in fields(self):
            default = f.default if f.default is not MISSING else (
                f.default_factory() if f.default_factory is not MISSING else None)
            if getattr(self, f.name) != default:
                out[f.name] = to_plain(getattr(self, f.name))
        return out

    @property
    def key(self) -> str:
        """``name[k=v,...]-hash8``: non-default fields in brackets, hash over all fields."""
        inner = ",".join(f"{k}={v}" for k, v in sorted(_flat(self.non_default()).items()))
        name = self.registry_name + (f"[{inner}]" if inner else "")
        keyed = {k: to_plain(v) for k, v in keyed_fields(self).items()}
        return f"{name}-{content_hash([self.registry_name, keyed], 8)}"

    @property
    def display(self) -> str:
        """Short human label for tables and figures."""
        return self.label or self.registry_name


def _flat(fields_: dict, prefix: str = "") -> dict:
    """``{"base_params": {"solver": "ekfac"}}`` -> ``{"base_params.solver": "ekfac"}``."""
    out = {}
    for k, v in fields_.items():
        if isinstance(v, dict):
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def make_method(name: str, params: dict | None = None) -> Method:
    """Instantiate a registered method: unknown fields list the valid ones, each value is
    parsed by its field's type (text from the command line included) and checked against the
    field's declared rule, then the method's cross-field ``validate`` runs."""
    cls = METHODS.get(name)
    valid = [f.name for f in fields(cls)]
    bad = sorted(set(params or {}) - set(valid))
    if bad:
        raise SpecError(f"invalid config field {name}.{bad[0]}: not one of {valid}")
    typed = {k: coerce(field_type(cls, k), v, f"{name}.{k}") for k, v in (params or {}).items()}
    method = cls(**typed)
    validate_fields(method, name)
    method.validate()
    return method
