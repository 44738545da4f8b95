"""Parameter-weighted attribution (Li, Le, Xu, Salzmann, ICLR 2026; METHODS.md §2.9).

Wraps a gradient method whose score is ``g(q)ᵀ 𝐊 g(x)`` (TracIn, TRAK, influence functions):
the base method splits its scores into G per-group contributions (``group_contributions``,
groups = layers or tensors), and the wrapped score is ``sum_j w_j c_j``: the weights multiply the
query side only, the training side ``𝐊 g(x)`` is computed once. The weights are learned without
labels on queries drawn from the training examples (never the evaluation targets) by the top-k
signal-to-noise objective (methods/_common/weighting.py); ``weights="uniform"`` (all ones) is the
base method itself. A base method supports the wrapper by defining ``group_contributions``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from benchmarks.api.context import Context
from benchmarks.api.method import Fitted, Method, Need, make_method
from benchmarks.api.registry import METHODS, register_method
from benchmarks.common.spec import SpecError, derive_seed, param
from methods._common.groups import GRANULARITIES, GroupContributions, ParamGroups, query_index
from methods._common.taskgrads import additive_fitted
from methods._common.weighting import LearnedWeights, learn_weights

LEARNING_FIELDS = {"top_k": "k", "lam": "λ", "steps": "steps", "lr": "lr", "n_queries": "|Q|"}


def weightable() -> list[str]:
    """Registered methods that split their scores by parameter group."""
    return [n for n in METHODS.names() if METHODS.get(n).weightable]


@register_method("param_weighted")
@dataclass(frozen=True)
class ParamWeighted(Method):
    """A gradient method with learned per-group weights on the query side."""

    base: str = param("tracin", "the wrapped gradient method (one that splits its scores by "
                      "parameter group)")
    base_params: dict = param(help="the base method's fields, e.g. {\"n_checkpoints\": 2}",
                              default_factory=dict)
    granularity: str = param("layer", "parameter groups that get one weight each: layers or "
                             "tensors", choices=GRANULARITIES)
    weights: str = param("learned", "group weights: learned by the top-k SNR objective, or "
                         "uniform (the base method)", choices=("learned", "uniform"))
    top_k: int = param(10, "k of the top-k signal-to-noise loss", ge=1)
    lam: float = param(1e-3, "L2 penalty on the weights, toward uniform", ge=0)
    steps: int = param(500, "Adam steps on the weights' softmax logits", ge=1)
    lr: float = param(0.05, "Adam learning rate of the weight logits", gt=0)
    n_queries: int = param(128, "training examples used as unlabeled queries", ge=1)
    needs = frozenset({Need.MODEL})
    tiny = {"base_params": {"n_checkpoints": 2}, "steps": 20, "n_queries": 16}

    @property
    def learns_weights(self) -> bool:  # type: ignore[override]
        """Whether the weights are learned (the weight-grid stage's subject)."""
        return self.weights == "learned"

    def __post_init__(self) -> None:
        """Store ``base_params`` as the base method's non-default fields, so equivalent
        configurations share one key (invalid ones are left for ``validate`` to report)."""
        if self.base in weightable() and isinstance(self.base_params, dict):
            try:
                canonical = self.base_method().non_default()
            except SpecError:
                return
            object.__setattr__(self, "base_params", canonical)

    def validate(self) -> None:
        """The base method splits its scores by group (which ones do depends on the registry,
        so ``base`` has no fixed choices), its own fields are valid and it splits by
        ``granularity``."""
        supported = weightable()
        if self.base not in supported:
            raise SpecError(f"invalid config field param_weighted.base: {self.base!r} has no "
                            f"per-group decomposition; one of {supported}")
        self.base_method().check_groups(self.granularity)

    def base_method(self) -> Method:
        """The wrapped method (its own fields validated by ``make_method``)."""
        return make_method(self.base, dict(self.base_params))

    @property
    def display(self) -> str:
        """The base method's label, the weights and any non-default learning setting."""
        which = "learned w" if self.weights == "learned" else "uniform w"
        tuned = {k: v for k, v in self.non_default().items() if k in LEARNING_FIELDS}
        extra = "".join(f", {LEARNING_FIELDS[k]}={v:g}" for k, v in sorted(tuned.items()))
        return f"{self.base_method().display} + {which} ({self.granularity}{extra})"

    def skip(self, task) -> str | None:
        """The base method's skip reason, or a model with a single parameter group."""
        reason = self.base_method().applies(task)
        if reason:
            return reason
        module = task.problem(torch.float64).init(0)
        groups = ParamGroups.of({k: v.shape for k, v in module.named_parameters()},
                                self.granularity)
        if len(groups) < 2:
            return f"the model has one parameter group per {self.granularity}: nothing to weight"
        return None

    def contributions(self, ctx) -> GroupContributions:
        """The base method's scores split by group, on this method's training-set queries
        (``n_queries`` examples drawn from ``ctx.seed``); the base runs with its own seed
        (projections, ...), so uniform weights give exactly its scores."""
        queries = query_index(ctx.model.problem.X.shape[0], self.n_queries,
                              f"{ctx.seed}/param_weighted")
        base = self.base_method()
        base_ctx = dataclasses.replace(ctx, seed=derive_seed(ctx.task.spec.key, base.key))
        return base.group_contributions(base_ctx, self.granularity, queries)

    def learn(self, parts: GroupContributions) -> LearnedWeights:
        """The weights minimising the SNR objective on ``parts``' queries (this method's k,
        λ, steps and learning rate)."""
        return learn_weights(parts.queries, self.top_k, self.lam, self.steps, self.lr,
                             exclude=parts.query_index)

    def fit(self, ctx: Context) -> Fitted:
        """Split the base scores by group, learn w (or keep it uniform) and combine; ``top_k``
        is capped at the number of training examples."""
        t0 = time.perf_counter()
        parts = self.contributions(ctx)
        t1 = time.perf_counter()
        state = {"base": self.base_method().display, "groups": len(parts.names),
                 "n_queries": len(parts.query_index), "base_scoring_s": t1 - t0}
        w = torch.ones(len(parts.names), dtype=torch.float64)
        if self.weights == "learned":
            learned = self.learn(parts)
            w = learned.w
            state |= {"ssl_uniform": learned.loss_uniform, "ssl_learned": learned.loss_learned,
                      "weight_learning_s": time.perf_counter() - t1}
            state |= {f"w:{name}": float(v) for name, v in zip(parts.names, w, strict=True)}
        scores, own = parts.combine(w)
        return additive_fitted(scores, parts.phi, state, own)
