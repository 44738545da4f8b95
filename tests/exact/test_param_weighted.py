"""Parameter-weighted attribution (methods/METHODS.md §2.9, sanity check a): with uniform weights
the wrapper reproduces its base method's scores, intercept and self-influence, for every base and
group granularity (float64; the groups only re-associate the same sums)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from benchmarks.api.context import Context, TrainedModel
from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.spec import SpecError, TrainSpec
from benchmarks.groundtruth.fill import open_store
from benchmarks.oracles.fit import build_context
from benchmarks.training.engine import Problem

TOL_UNIFORM = 1e-10  # relative (max-abs) difference to the base method: measured <= 1e-13

BASES = [
    ("tracin", {"n_checkpoints": 2}),
    ("tracin", {"n_checkpoints": 1, "normalize": True}),
    ("trak", {"proj_dim": 16, "block_projection": "layer"}),
    ("trak", {"proj_dim": 4096, "n_models": 2}),
    ("influence", {}),
    ("influence", {"solver": "ekfac"}),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("pw-cache")))
        task = make_task("modular-addition", "tiny", {"train.steps": 20})
        store = open_store(task)
        yield task, store


def _fit(method, tiny):
    task, store = tiny
    return method.fit(build_context(task, store, method))


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.mark.parametrize("granularity", ["layer", "tensor"])
@pytest.mark.parametrize(("base", "params"), BASES)
def test_uniform_weights_reproduce_the_base(tiny, base, params, granularity):
    if granularity == "tensor" and params.get("block_projection") == "layer":
        params = {**params, "block_projection": "tensor"}
    ref = _fit(make_method(base, params), tiny)
    pw = make_method("param_weighted", {"base": base, "base_params": params,
                                        "granularity": granularity, "weights": "uniform"})
    got = _fit(pw, tiny)
    assert got.state["groups"] == (3 if granularity == "layer" else 5)
    assert _rel(got.scores, ref.scores) <= TOL_UNIFORM
    assert _rel(got.intercept, ref.intercept) <= TOL_UNIFORM
    if ref.self_influence is None:
        assert got.self_influence is None
    else:
        assert _rel(got.self_influence, ref.self_influence) <= TOL_UNIFORM


def test_fitted_scores_combine_the_contributions_with_the_reported_weights(tiny):
    """The learned weights in the state are the ones applied: scores = sum_j w_j c_j."""
    task, store = tiny
    pw = make_method("param_weighted", {"base_params": {"n_checkpoints": 2}, "steps": 50})
    ctx = build_context(task, store, pw)
    fitted = pw.fit(ctx)
    parts = pw.contributions(ctx)
    w = torch.tensor([fitted.state[f"w:{g}"] for g in parts.names], dtype=torch.float64)
    assert (w - 1).abs().max() > 0.01  # learning moved away from uniform
    np.testing.assert_allclose(fitted.scores, parts.combine(w)[0].numpy(), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(fitted.self_influence, parts.combine(w)[1].numpy(), rtol=1e-12)


def _self_target_ctx(n: int = 24) -> Context:
    """A two-layer MLP whose targets are its own training examples, one unit per example and
    unit training weights: a unit's self-influence is then its score on its own target."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=g)

    def ce(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(out, t, reduction="none")

    problem = Problem(lambda: nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)),
                      X, y, ce, torch.float64)
    params = {k: v.detach() for k, v in problem.init(1).named_parameters()}
    model = TrainedModel(problem, problem.init(0).double(), params, X, y,
                         np.eye(n, dtype=bool), np.ones(n))
    spec = SimpleNamespace(key="self", train=TrainSpec(optimizer="sgd", lr=0.1, steps=1))
    return Context(task=SimpleNamespace(spec=spec), seed=0, model=model)


@pytest.mark.parametrize(("base", "params"), [
    ("tracin", {"n_checkpoints": 1}), ("trak", {"proj_dim": 4096}), ("influence", {}),
    ("influence", {"solver": "ekfac"})])
def test_self_influence_terms_split_like_the_scores(base, params):
    """Per group, a unit's self-influence term equals its score on its own example, so
    weighted self-influence (mislabel detection) weights the same query side as the scores."""
    method = make_method(base, params)
    parts = method.group_contributions(_self_target_ctx(), "layer", torch.arange(4))
    diagonal = torch.diagonal(parts.targets, dim1=1, dim2=2)  # (G, n)
    np.testing.assert_allclose(parts.own.numpy(), diagonal.numpy(), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize(("base", "params", "field"), [
    ("tracin", {"proj_dim": 16}, "tracin.proj_dim"),
    ("trak", {"proj_dim": 16, "block_projection": "tensor"}, "trak.block_projection"),
    ("influence", {"solver": "cg"}, "influence.solver"),
])
def test_bases_that_mix_groups_are_refused_at_config_time(base, params, field):
    with pytest.raises(SpecError, match=field):
        make_method("param_weighted", {"base": base, "base_params": params})


def test_a_dense_trak_projection_is_refused_at_fit_time(tiny):
    """Whether TRAK projects depends on d (proj_dim < d), known once the model exists."""
    pw = make_method("param_weighted", {"base": "trak", "base_params": {"proj_dim": 16}})
    with pytest.raises(SpecError, match="trak.block_projection"):
        _fit(pw, tiny)


def test_bad_configs_name_the_field():
    with pytest.raises(SpecError, match=r"param_weighted.base: 'loo'.*\['influence'"):
        make_method("param_weighted", {"base": "loo"})
    with pytest.raises(SpecError, match="tracin.n_checkpoints"):
        make_method("param_weighted", {"base_params": {"n_checkpoints": 0}})
    bad = {"granularity": "block", "top_k": 0, "base_params": "ekfac", "lam": float("nan"),
           "lr": 0.0, "steps": True, "n_queries": 2.5, "weights": "random"}
    for name, value in bad.items():
        with pytest.raises(SpecError, match=f"param_weighted.{name}"):
            make_method("param_weighted", {name: value})


def test_equivalent_base_params_share_a_key():
    explicit = make_method("param_weighted", {"base": "influence",
                                              "base_params": {"solver": "exact"}})
    assert explicit.key == make_method("param_weighted", {"base": "influence"}).key
    assert explicit.base_params == {}


def test_single_layer_models_are_skipped():
    pw = make_method("param_weighted", {})
    assert "nothing to weight" in pw.skip(make_task("digits-logreg", "tiny", {}))
    assert pw.skip(make_task("digits-mlp", "tiny", {})) is None
    assert make_method("param_weighted", {"granularity": "tensor"}).skip(
        make_task("digits-logreg", "tiny", {})) is None
